/* The bad-input matrix and fault cases of gst-montage-1.0 (issue 7), run
 * through the real tool (GST_MONTAGE_TOOL), each run bounded in time (the
 * tool is killed past its limit and the case fails as a hang).
 *
 * Inputs are made in a temporary directory from the sample media
 * (scripts/fetch-media.sh) and from generated streams encoded with real
 * encoders (x264enc, avenc_ffv1, vorbisenc). Every case and its documented
 * outcome is listed in docs/robustness.md; keep the two in step.
 */
#include "testutil.h"

#include <glib/gstdio.h>
#include <gtest/gtest.h>
#include <json-glib/json-glib.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <string>
#include <vector>

namespace {

using montage_test::run_tool;
using montage_test::ToolRun;




/* Sources of the plan's segments (file paths), or empty when unreadable. */
std::multiset<std::string> plan_sources(const std::string &path)
{
  std::multiset<std::string> out;
  JsonParser *parser = json_parser_new();
  if (json_parser_load_from_file(parser, path.c_str(), nullptr)) {
    JsonNode *root = json_parser_get_root(parser);
    JsonArray *segs = root && JSON_NODE_HOLDS_OBJECT(root)
                          ? json_object_get_array_member(json_node_get_object(root), "segments")
                          : nullptr;
    for (guint i = 0; segs && i < json_array_get_length(segs); i++)
      out.insert(json_object_get_string_member(json_array_get_object_element(segs, i), "source"));
  }
  g_object_unref(parser);
  return out;
}

double plan_duration(const std::string &path)
{
  double d = -1;
  JsonParser *parser = json_parser_new();
  if (json_parser_load_from_file(parser, path.c_str(), nullptr)) {
    JsonNode *root = json_parser_get_root(parser);
    if (root && JSON_NODE_HOLDS_OBJECT(root))
      d = json_object_get_double_member(json_node_get_object(root), "duration_s");
  }
  g_object_unref(parser);
  return d;
}

/* Drops every third buffer from the 30th on (a variable frame rate). */
GstPadProbeReturn drop_some(GstPad *, GstPadProbeInfo *, gpointer data)
{
  guint &n = *static_cast<guint *>(data);
  const guint k = n++;
  return k >= 30 && k % 3 == 1 ? GST_PAD_PROBE_DROP : GST_PAD_PROBE_OK;
}

/* Runs a gst-launch description to EOS (60 s at most); "vfr" names an
 * element whose src pad gets drop_some(). */
bool generate(const std::string &desc)
{
  GError *err = nullptr;
  GstElement *p = gst_parse_launch(desc.c_str(), &err);
  EXPECT_TRUE(p && !err) << desc << ": " << (err ? err->message : "");
  g_clear_error(&err);
  if (!p)
    return false;
  guint dropped = 0;
  if (GstElement *vfr = gst_bin_get_by_name(GST_BIN(p), "vfr")) {
    GstPad *pad = gst_element_get_static_pad(vfr, "src");
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, drop_some, &dropped, nullptr);
    gst_object_unref(pad);
    gst_object_unref(vfr);
  }
  gst_element_set_state(p, GST_STATE_PLAYING);
  GstMessage *m = gst_bus_timed_pop_filtered(GST_ELEMENT_BUS(p), 60 * GST_SECOND,
                                             (GstMessageType)(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  const bool ok = m && GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS;
  EXPECT_TRUE(ok) << "cannot generate: " << desc;
  if (m)
    gst_message_unref(m);
  gst_element_set_state(p, GST_STATE_NULL);
  gst_object_unref(p);
  return ok;
}

bool truncate_copy(const std::string &from, const std::string &to, double fraction)
{
  std::string data = montage_test::read_file(from);
  return !data.empty() &&
         g_file_set_contents(to.c_str(), data.data(), (gssize)(data.size() * fraction), nullptr);
}

/* Overwrites 20 000 bytes from the middle of a copy with a fixed pseudo-random pattern. */
bool corrupt_middle(const std::string &from, const std::string &to)
{
  std::string data = montage_test::read_file(from);
  if (data.size() < 100000)
    return false;
  guint32 x = 7;
  for (size_t i = data.size() / 2; i < data.size() / 2 + 20000; i++) {
    x = x * 1664525u + 1013904223u;
    data[i] = (char)(x >> 24);
  }
  return g_file_set_contents(to.c_str(), data.data(), (gssize)data.size(), nullptr);
}

const char *kVideo = "video/x-raw,format=I420,width=320,height=240,framerate=30/1";

class BadInput : public ::testing::Test {
protected:
  static void SetUpTestSuite()
  {
    dir_ = g_dir_make_tmp("montage-badinput-XXXXXX", nullptr);
    cache_ = g_build_filename(dir_, "cache", NULL);
    g_setenv("GST_MONTAGE_CACHE_DIR", cache_, TRUE);
  }
  static void TearDownTestSuite()
  {
    gchar *argv[] = {(gchar *)"rm", (gchar *)"-rf", dir_, nullptr};
    g_spawn_sync(nullptr, argv, nullptr, G_SPAWN_SEARCH_PATH, nullptr, nullptr, nullptr, nullptr,
                 nullptr, nullptr);
    g_free(dir_);
    g_free(cache_);
  }
  static std::string path(const std::string &name) { return std::string(dir_) + "/" + name; }

  void SetUp() override
  {
    song_ = montage_test::media_path("just_over_the_horizon.ogg");
    good_ = montage_test::media_path("cityCC0.mpg");
    ASSERT_FALSE(song_.empty() || good_.empty());
  }

  /* BAD next to a good clip, plan only: exit 0, the good clip in the plan. */
  ToolRun with_good_clip(const std::string &bad, std::multiset<std::string> &sources)
  {
    const std::string json = path("plan.json");
    g_unlink(json.c_str());
    ToolRun r = run_tool({"-q", "-m", song_, "--no-render", "-d", "6", "--plan-json", json, bad,
                          good_},
                         90);
    EXPECT_FALSE(r.hung) << bad << ": the tool hung";
    EXPECT_EQ(0, r.status) << bad << ":\n" << r.err;
    sources = plan_sources(json);
    EXPECT_GT(sources.count(good_), 0u) << bad << ": the good clip is not in the plan";
    return r;
  }

  /* A clip that must be skipped with `reason`, the good clip still used. */
  void expect_skipped(const std::string &bad, const std::string &reason)
  {
    SCOPED_TRACE(bad);
    std::multiset<std::string> sources;
    ToolRun r = with_good_clip(bad, sources);
    EXPECT_NE(r.err.find("skipping " + bad + ": " + reason), std::string::npos) << r.err;
    EXPECT_EQ(0u, sources.count(bad));
  }

  /* A clip that must be used: analysed without complaint next to the good
   * clip, and rendered alone into a playable montage made of it only. */
  void expect_used(const std::string &clip)
  {
    SCOPED_TRACE(clip);
    std::multiset<std::string> sources;
    ToolRun r = with_good_clip(clip, sources);
    EXPECT_EQ(std::string::npos, r.err.find("skipping")) << r.err;
    const std::string out = path("alone.mp4"), json = path("alone.json");
    g_unlink(out.c_str());
    r = run_tool({"-q", "-m", song_, "-o", out, "-d", "3", "--preview", "--plan-json", json, clip},
                 150);
    EXPECT_FALSE(r.hung);
    ASSERT_EQ(0, r.status) << r.err;
    sources = plan_sources(json);
    EXPECT_FALSE(sources.empty());
    EXPECT_EQ(sources.size(), sources.count(clip));
    EXPECT_TRUE(g_file_test(out.c_str(), G_FILE_TEST_IS_REGULAR));
    g_unlink(out.c_str());
  }

  static gchar *dir_;
  static gchar *cache_;
  std::string song_, good_;
};

gchar *BadInput::dir_ = nullptr;
gchar *BadInput::cache_ = nullptr;

} // namespace

TEST_F(BadInput, MissingEmptyWrongTypeAndAudioOnlyClipsAreSkipped)
{
  const std::string empty = path("empty.mp4"), text = path("notes.mp4"), audio = path("tone.ogg");
  ASSERT_TRUE(g_file_set_contents(empty.c_str(), "", 0, nullptr));
  ASSERT_TRUE(g_file_set_contents(text.c_str(), "this is not a video\n", -1, nullptr));
  ASSERT_TRUE(generate("audiotestsrc num-buffers=200 ! audioconvert ! vorbisenc ! oggmux ! "
                       "filesink location=" + audio));
  expect_skipped(path("missing.mp4"), "no such file");
  expect_skipped(empty, "empty file (0 bytes)");
  expect_skipped(text, "not a media file");
  expect_skipped(audio, "has no video stream");
  const std::string fifo = path("pipe.mp4");
  ASSERT_EQ(0, mkfifo(fifo.c_str(), 0644));
  expect_skipped(fifo, "not a regular file");
}

/* A real clip cut at 10, 50 and 90 % of its bytes: an AVI decodes up to the
 * cut and is used; an MP4 written with its index at the end has none and is
 * skipped as truncated, its index (moov) missing; with the index first (faststart) it decodes up to
 * the cut. */
TEST_F(BadInput, TruncatedClips)
{
  const std::string avi = montage_test::media_path("Megamind.avi");
  ASSERT_FALSE(avi.empty());
  const std::string mp4 = path("whole.mp4"), fast = path("whole-fast.mp4");
  ASSERT_TRUE(generate(std::string("videotestsrc pattern=ball num-buffers=150 ! ") + kVideo +
                       " ! x264enc key-int-max=30 ! mp4mux ! filesink location=" + mp4));
  ASSERT_TRUE(generate(std::string("videotestsrc pattern=ball num-buffers=150 ! ") + kVideo +
                       " ! x264enc key-int-max=30 ! mp4mux faststart=true ! filesink location=" +
                       fast));
  for (int percent : {10, 50, 90}) {
    const std::string a = path("cut" + std::to_string(percent) + ".avi");
    const std::string m = path("cut" + std::to_string(percent) + ".mp4");
    const std::string f = path("cut" + std::to_string(percent) + "-fast.mp4");
    ASSERT_TRUE(truncate_copy(avi, a, percent / 100.0));
    ASSERT_TRUE(truncate_copy(mp4, m, percent / 100.0));
    ASSERT_TRUE(truncate_copy(fast, f, percent / 100.0));
    expect_skipped(
        m, "cannot be decoded, the file is truncated or was not finished (no index, the moov "
           "atom, was found)");
    std::multiset<std::string> sources;
    for (const std::string &partial : {a, f}) {
      ToolRun r = with_good_clip(partial, sources);
      EXPECT_EQ(std::string::npos, r.err.find("skipping")) << partial << "\n" << r.err;
    }
  }
  expect_used(path("cut50.avi"));
}

/* Garbage in the middle of a real WebM: the decoder conceals it; used. */
TEST_F(BadInput, ClipCorruptInTheMiddleIsStillUsed)
{
  const std::string webm = montage_test::media_path("oa4_launch.webm");
  ASSERT_FALSE(webm.empty());
  const std::string bad = path("middle.webm");
  ASSERT_TRUE(corrupt_middle(webm, bad));
  expect_used(bad);
}

/* Type comes from the content, not the name. */
TEST_F(BadInput, WrongExtensionIsUsed)
{
  const std::string webm = montage_test::media_path("oa4_launch.webm");
  ASSERT_FALSE(webm.empty());
  const std::string renamed = path("launch.txt");
  ASSERT_TRUE(truncate_copy(webm, renamed, 1.0));
  expect_used(renamed);
}

/* One frame: analysed without a stall (it used to wait 30 s for an EOS that
 * had already come), too short to fill a beat segment, so never in a plan;
 * alone it is "no usable clip"-like failure of planning, exit 1. */
TEST_F(BadInput, OneFrameClipIsAnalysedPromptly)
{
  const std::string one = path("one.mp4");
  ASSERT_TRUE(generate(std::string("videotestsrc num-buffers=1 ! ") + kVideo +
                       " ! x264enc ! mp4mux ! filesink location=" + one));
  const gint64 t0 = g_get_monotonic_time();
  std::multiset<std::string> sources;
  ToolRun r = with_good_clip(one, sources);
  EXPECT_EQ(std::string::npos, r.err.find("skipping")) << r.err;
  /* Not a timing assertion on the work: the stall timeout is 30 s. */
  EXPECT_LT(g_get_monotonic_time() - t0, 25 * G_USEC_PER_SEC) << "the one-frame clip stalled";
  r = run_tool({"-q", "-m", song_, "-o", path("one-out.mp4"), "-d", "3", "--preview", one}, 90);
  EXPECT_FALSE(r.hung);
  EXPECT_EQ(1, r.status) << r.err;
  EXPECT_NE(std::string::npos, r.err.find("cannot plan the montage")) << r.err;
  EXPECT_FALSE(g_file_test(path("one-out.mp4").c_str(), G_FILE_TEST_EXISTS));
}

TEST_F(BadInput, TinyAndOddSizesAreUsed)
{
  /* x264enc and vp8enc refuse 1x1 and 7x5; FFV1 takes them. */
  for (const char *size : {"1x1", "7x5"}) {
    std::string w(size, 1), h(size + 2);
    const std::string clip = path(std::string("size") + size + ".mkv");
    ASSERT_TRUE(generate("videotestsrc num-buffers=90 ! video/x-raw,format=I420,width=" + w +
                         ",height=" + h + ",framerate=30/1 ! avenc_ffv1 ! matroskamux ! "
                         "filesink location=" + clip));
    expect_used(clip);
  }
}

TEST_F(BadInput, TenBitAndFourFourFourAreUsed)
{
  const std::string ten = path("10bit.mp4"), y444 = path("y444.mp4");
  ASSERT_TRUE(generate("videotestsrc pattern=ball num-buffers=90 ! video/x-raw,format=I420_10LE,"
                       "width=320,height=240,framerate=30/1 ! x264enc ! mp4mux ! filesink "
                       "location=" + ten));
  ASSERT_TRUE(generate("videotestsrc pattern=ball num-buffers=90 ! video/x-raw,format=Y444,"
                       "width=320,height=240,framerate=30/1 ! x264enc ! mp4mux ! filesink "
                       "location=" + y444));
  expect_used(ten);
  expect_used(y444);
}

TEST_F(BadInput, VariableFrameRateLateAndHugeTimestampsAreUsed)
{
  const std::string vfr = path("vfr.mkv"), late = path("late.mkv"), huge = path("huge.mkv");
  ASSERT_TRUE(generate(std::string("videotestsrc pattern=ball num-buffers=120 ! ") + kVideo +
                       " ! identity name=vfr ! capssetter caps=video/x-raw,framerate=0/1 ! "
                       "x264enc ! matroskamux ! filesink location=" + vfr));
  /* First frame at 5 s, and at 1000 hours. */
  ASSERT_TRUE(generate(std::string("videotestsrc pattern=ball num-buffers=120 "
                                   "timestamp-offset=5000000000 ! ") +
                       kVideo + " ! x264enc ! matroskamux ! filesink location=" + late));
  ASSERT_TRUE(generate(std::string("videotestsrc pattern=ball num-buffers=120 "
                                   "timestamp-offset=3600000000000000 ! ") +
                       kVideo + " ! x264enc ! matroskamux ! filesink location=" + huge));
  expect_used(vfr);
  expect_used(late);
  expect_used(huge);
}

/* Songs: missing, empty, without audio or without beats fail with exit 1 and
 * the reason, and leave no output. */
TEST_F(BadInput, UnusableSongsFailWithTheReason)
{
  const std::string empty = path("empty.ogg"), video = path("video-only.mkv"),
                    silence = path("silence.wav"), out = path("song-out.mp4");
  ASSERT_TRUE(g_file_set_contents(empty.c_str(), "", 0, nullptr));
  ASSERT_TRUE(generate(std::string("videotestsrc num-buffers=60 ! ") + kVideo +
                       " ! x264enc ! matroskamux ! filesink location=" + video));
  ASSERT_TRUE(generate("audiotestsrc wave=silence num-buffers=400 ! audioconvert ! wavenc ! "
                       "filesink location=" + silence));
  const std::vector<std::pair<std::string, std::string>> cases = {
      {path("missing.ogg"), "no such file"},
      {empty, "empty file (0 bytes)"},
      {video, "has no audio stream"},
      {silence, "the song is silent"},
  };
  for (const auto &c : cases) {
    SCOPED_TRACE(c.first);
    ToolRun r = run_tool({"-q", "-m", c.first, "-o", out, good_}, 90);
    EXPECT_FALSE(r.hung);
    EXPECT_EQ(1, r.status) << r.err;
    EXPECT_NE(std::string::npos, r.err.find("cannot use the song " + c.first + ": " + c.second))
        << r.err;
    EXPECT_FALSE(g_file_test(out.c_str(), G_FILE_TEST_EXISTS));
  }
}

/* A song that ends before the clips (here cut to 30 % of its bytes, ~18 s,
 * with 79 s of clip): the montage is the song's length, never longer. */
TEST_F(BadInput, SongEndingBeforeTheClipsSetsTheLength)
{
  const std::string vtest = montage_test::media_path("vtest.avi");
  ASSERT_FALSE(vtest.empty());
  const std::string short_song = path("short.ogg"), json = path("short.json");
  ASSERT_TRUE(truncate_copy(song_, short_song, 0.3));
  ToolRun r = run_tool({"-q", "-m", short_song, "--no-render", "--plan-json", json, vtest}, 120);
  EXPECT_FALSE(r.hung);
  ASSERT_EQ(0, r.status) << r.err;
  const double d = plan_duration(json);
  EXPECT_GT(d, 10.0);
  EXPECT_LT(d, 0.3 * 59.1 + 1.0) << "the montage outlasts the song";
}

/* Faults: a full disk. A 64 KiB tmpfs holds neither the montage nor, once
 * filled, a cache entry. Needs root (mount); skipped otherwise. */
class FullDisk : public BadInput {
protected:
  void SetUp() override
  {
    BadInput::SetUp();
    mnt_ = path("full");
    g_mkdir_with_parents(mnt_.c_str(), 0755);
    if (mount("tmpfs", mnt_.c_str(), "tmpfs", 0, "size=64k") != 0)
      GTEST_SKIP() << "cannot mount a small tmpfs (" << g_strerror(errno)
                   << "): run as root to test a full disk";
    mounted_ = true;
  }
  void TearDown() override
  {
    if (mounted_)
      umount(mnt_.c_str());
  }
  std::vector<std::string> files_in(const std::string &d)
  {
    std::vector<std::string> names;
    gchar *argv[] = {(gchar *)"find", (gchar *)d.c_str(), (gchar *)"-type", (gchar *)"f", nullptr};
    gchar *out = nullptr;
    g_spawn_sync(nullptr, argv, nullptr, G_SPAWN_SEARCH_PATH, nullptr, nullptr, &out, nullptr,
                 nullptr, nullptr);
    gchar **lines = g_strsplit(out ? out : "", "\n", -1);
    for (gchar **l = lines; *l; l++)
      if (**l)
        names.emplace_back(*l);
    g_strfreev(lines);
    g_free(out);
    return names;
  }
  std::string mnt_;
  bool mounted_ = false;
};

TEST_F(FullDisk, OutputIsNotLeftHalfWritten)
{
  const std::string out = mnt_ + "/montage.mp4";
  ToolRun r = run_tool({"-q", "-m", song_, "-o", out, "-d", "8", "--size", "640x360", good_}, 150);
  EXPECT_FALSE(r.hung);
  EXPECT_EQ(1, r.status) << r.err;
  EXPECT_NE(std::string::npos, r.err.find("rendering failed")) << r.err;
  EXPECT_TRUE(files_in(mnt_).empty()) << "left behind: " << files_in(mnt_).at(0);
}

TEST_F(FullDisk, CacheEntryIsNotLeftCorrupt)
{
  /* Fill the file system, leaving no room for an entry. */
  const std::string filler = mnt_ + "/filler";
  {
    std::string block(4096, 'x');
    FILE *f = fopen(filler.c_str(), "wb");
    ASSERT_NE(nullptr, f);
    while (fwrite(block.data(), 1, block.size(), f) == block.size() && fflush(f) == 0) {
    }
    fclose(f);
  }
  const std::string cache = mnt_ + "/cache";
  ToolRun r = run_tool({"-q", "-m", song_, "--no-render", "--cache-dir", cache, good_}, 90);
  EXPECT_FALSE(r.hung);
  EXPECT_EQ(0, r.status) << "a cache that cannot be written must not stop the montage\n" << r.err;
  EXPECT_NE(std::string::npos, r.err.find("cannot cache the analysis")) << r.err;
  std::vector<std::string> left = files_in(cache);
  EXPECT_TRUE(left.empty()) << "left behind: " << left.at(0);
  /* With room again, the same run stores complete entries and a second run
   * reads them all back. */
  g_unlink(filler.c_str());
  r = run_tool({"-q", "-m", song_, "--no-render", "--cache-dir", cache, good_}, 90);
  ASSERT_EQ(0, r.status) << r.err;
  r = run_tool({"-q", "-m", song_, "--no-render", "--cache-dir", cache, good_}, 90);
  ASSERT_EQ(0, r.status) << r.err;
  EXPECT_NE(std::string::npos, r.out.find("2 from cache")) << r.out;
}
