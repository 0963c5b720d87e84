/* main() for every test binary: gst_init, and every GLib warning or critical
 * raised from GStreamer or our code fails the running test. */
#include "testutil.h"

#include <glib/gstdio.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>

namespace {

std::atomic<int> g_warnings{0};

void log_handler(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer)
{
  if (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING | G_LOG_LEVEL_ERROR)) {
    g_warnings++;
    ADD_FAILURE() << "GLib " << (domain ? domain : "") << " warning/critical: " << message;
  }
}

/* Removes `path` and everything under it (symbolic links are removed, not
 * followed); errors are ignored, as at exit nothing can be done about them. */
void remove_tree(const gchar *path)
{
  if (g_file_test(path, G_FILE_TEST_IS_DIR) && !g_file_test(path, G_FILE_TEST_IS_SYMLINK)) {
    if (GDir *d = g_dir_open(path, 0, nullptr)) {
      while (const gchar *name = g_dir_read_name(d)) {
        gchar *child = g_build_filename(path, name, NULL);
        remove_tree(child);
        g_free(child);
      }
      g_dir_close(d);
    }
  }
  g_remove(path);
}

} // namespace

namespace montage_test {

std::string media_dir()
{
  const gchar *env = g_getenv("GST_MONTAGE_MEDIA_DIR");
  if (env && *env)
    return env;
  gchar *dir = g_build_filename(g_get_user_cache_dir(), "gst-montage", "media", NULL);
  std::string out(dir);
  g_free(dir);
  return out;
}

std::string media_path(const std::string &relative)
{
  gchar *path = g_build_filename(media_dir().c_str(), relative.c_str(), NULL);
  std::string out(path);
  g_free(path);
  if (!g_file_test(out.c_str(), G_FILE_TEST_IS_REGULAR)) {
    ADD_FAILURE() << "sample media " << out
                  << " is missing: run scripts/fetch-media.sh (or set GST_MONTAGE_MEDIA_DIR)";
    return "";
  }
  return out;
}

int warnings_seen()
{
  return g_warnings.load();
}

std::string make_media(const char *name, const char *pipeline_fmt)
{
  /* The process id in the name: meson runs test programs side by side (the
   * montagebeat suite and its leaks-tracer twin both make stg0-mono.s16),
   * and one's g_unlink() must not take the other's file. */
  gchar *unique = g_strdup_printf("%d-%s", (int)getpid(), name);
  gchar *path = g_build_filename(g_get_tmp_dir(), unique, NULL);
  g_free(unique);
  gchar *desc = g_strdup_printf(pipeline_fmt, path);
  GError *err = nullptr;
  GstElement *p = gst_parse_launch(desc, &err);
  EXPECT_TRUE(p) << desc << ": " << (err ? err->message : "");
  g_clear_error(&err);
  g_free(desc);
  std::string out(path);
  g_free(path);
  if (!p)
    return "";
  gst_element_set_state(p, GST_STATE_PLAYING);
  EXPECT_TRUE(run_to_eos(p, 60 * GST_SECOND)) << "cannot make " << name;
  return out;
}

bool run_to_eos(GstElement *pipe, GstClockTime limit, std::string *why)
{
  GstBus *bus = gst_element_get_bus(pipe);
  GstMessage *msg =
      gst_bus_timed_pop_filtered(bus, limit, (GstMessageType)(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  const bool eos = msg && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS;
  if (why && !eos) {
    *why = "took over " + std::to_string(limit / GST_SECOND) + " s";
    if (msg) {
      GError *err = nullptr;
      gst_message_parse_error(msg, &err, nullptr);
      *why = err ? err->message : "an error";
      g_clear_error(&err);
    }
  }
  if (msg)
    gst_message_unref(msg);
  gst_object_unref(bus);
  gst_element_set_state(pipe, GST_STATE_NULL);
  gst_object_unref(pipe);
  return eos;
}

std::vector<std::string> pop_warnings(GstBus *bus, GQuark domain, gint code)
{
  std::vector<std::string> out;
  while (GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING)) {
    GError *err = nullptr;
    gst_message_parse_warning(msg, &err, nullptr);
    EXPECT_TRUE(g_error_matches(err, domain, code)) << (err ? err->message : "no error");
    out.push_back(err ? err->message : "");
    g_clear_error(&err);
    gst_message_unref(msg);
  }
  return out;
}

std::string uri_of(const std::string &path)
{
  gchar *uri = gst_filename_to_uri(path.c_str(), nullptr);
  std::string out(uri ? uri : "");
  g_free(uri);
  return out;
}

std::string read_file(const std::string &path)
{
  gchar *data = nullptr;
  gsize len = 0;
  std::string s;
  if (g_file_get_contents(path.c_str(), &data, &len, nullptr))
    s.assign(data, len);
  g_free(data);
  return s;
}

GstClockTime query_min_latency(GstPad *pad, gboolean *live)
{
  GstQuery *q = gst_query_new_latency();
  GstClockTime min = GST_CLOCK_TIME_NONE, max = 0;
  gboolean is_live = FALSE;
  if (gst_pad_peer_query(pad, q))
    gst_query_parse_latency(q, &is_live, &min, &max);
  else
    ADD_FAILURE() << "nobody answered the latency query";
  gst_query_unref(q);
  if (live)
    *live = is_live;
  return min;
}

ToolRun run_tool(const std::vector<std::string> &args, int limit_s, const char *debug)
{
  const gchar *tool = g_getenv("GST_MONTAGE_TOOL");
  EXPECT_TRUE(tool) << "GST_MONTAGE_TOOL is not set: run through meson test";
  std::vector<gchar *> argv;
  argv.push_back(const_cast<gchar *>(tool ? tool : "gst-montage-1.0"));
  for (const std::string &a : args)
    argv.push_back(const_cast<gchar *>(a.c_str()));
  argv.push_back(nullptr);
  gchar **env = g_get_environ();
  if (debug) {
    env = g_environ_setenv(env, "GST_DEBUG", debug, TRUE);
    env = g_environ_setenv(env, "GST_DEBUG_NO_COLOR", "1", TRUE);
  }
  gchar *dir = g_dir_make_tmp("montage-tool-run-XXXXXX", nullptr);
  const std::string out_path = std::string(dir) + "/out", err_path = std::string(dir) + "/err";
  int out_fd = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  int err_fd = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ToolRun r;
  GPid pid = 0;
  GError *error = nullptr;
  const bool spawned = g_spawn_async_with_fds(nullptr, argv.data(), env,
                                              G_SPAWN_DO_NOT_REAP_CHILD, nullptr, nullptr, &pid,
                                              -1, out_fd, err_fd, &error);
  EXPECT_TRUE(spawned) << (error ? error->message : "");
  g_clear_error(&error);
  g_strfreev(env);
  close(out_fd);
  close(err_fd);
  if (spawned) {
    int wstatus = 0;
    const gint64 deadline = g_get_monotonic_time() + (gint64)limit_s * G_USEC_PER_SEC;
    pid_t done = 0;
    while ((done = waitpid(pid, &wstatus, WNOHANG)) == 0 && g_get_monotonic_time() < deadline)
      g_usleep(20000);
    if (done == 0) {
      r.hung = true;
      kill(pid, SIGKILL);
      waitpid(pid, &wstatus, 0);
    }
    g_spawn_close_pid(pid);
    r.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
  }
  r.out = read_file(out_path);
  r.err = read_file(err_path);
  g_unlink(out_path.c_str());
  g_unlink(err_path.c_str());
  g_rmdir(dir);
  g_free(dir);
  return r;
}

::testing::AssertionResult remux_to_ts_with_ffmpeg(const std::string &from, const std::string &to)
{
  gchar *ffmpeg = g_find_program_in_path("ffmpeg");
  if (!ffmpeg)
    return ::testing::AssertionFailure() << "no ffmpeg";
  const gchar *argv[] = {ffmpeg, "-v",   "error", "-y",     "-i",       from.c_str(),
                         "-c",   "copy", "-f",    "mpegts", to.c_str(), nullptr};
  gint status = -1;
  GError *err = nullptr;
  const bool ran = g_spawn_sync(nullptr, (gchar **)argv, nullptr, G_SPAWN_DEFAULT, nullptr, nullptr,
                                nullptr, nullptr, &status, &err);
  g_free(ffmpeg);
  if (!ran || !g_spawn_check_wait_status(status, &err)) {
    auto r = ::testing::AssertionFailure() << (err ? err->message : "ffmpeg failed");
    g_clear_error(&err);
    return r;
  }
  return ::testing::AssertionSuccess();
}

bool have_ffmpeg()
{
  gchar *ffmpeg = g_find_program_in_path("ffmpeg");
  g_free(ffmpeg);
  return ffmpeg != nullptr;
}

} // namespace montage_test

int main(int argc, char **argv)
{
  /* One scratch directory per test process, removed at exit: every test
   * writes its files under g_get_tmp_dir() (which reads TMPDIR once, on its
   * first call) and the tool runs inherit TMPDIR, so no fixture outlives the
   * run and two processes (a suite and its leaks twin, or two clones tested
   * at once) never share a file. GST_MONTAGE_KEEP_TEST_FILES=1 keeps it and
   * prints where it is. */
  const gchar *base = g_getenv("TMPDIR");
  gchar *scratch = g_build_filename(base && *base ? base : "/tmp", "gst-montage-test-XXXXXX", NULL);
  if (g_mkdtemp(scratch))
    g_setenv("TMPDIR", scratch, TRUE);
  else
    g_clear_pointer(&scratch, g_free); /* the tests then use TMPDIR as it was */
  gst_init(&argc, &argv);
  g_log_set_default_handler(log_handler, nullptr);
  for (const char *domain : {"GStreamer", "GLib", "GLib-GObject", "GES"})
    g_log_set_handler(domain, (GLogLevelFlags)(G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL), log_handler, nullptr);
  ::testing::InitGoogleTest(&argc, argv);
  int ret = RUN_ALL_TESTS();
  int before = montage_test::warnings_seen();
  gst_deinit();
  if (scratch) {
    if (g_getenv("GST_MONTAGE_KEEP_TEST_FILES"))
      fprintf(stderr, "test files kept in %s\n", scratch);
    else
      remove_tree(scratch);
    g_free(scratch);
  }
  /* A warning at deinit (the leaks tracer's "Leaks detected") fails the run. */
  if (montage_test::warnings_seen() > before) {
    fprintf(stderr, "GLib warnings at gst_deinit(): leaked objects (run with "
                    "GST_DEBUG=GST_TRACER:7 to list them)\n");
    return ret ? ret : 1;
  }
  return ret;
}
