/* ADTS random access benchmark (issue 8): on the one-hour ADTS file from
 * bench/adts/make-hour.sh, measures in one run
 *   - index build (headers only) from a warm page cache, GB/s;
 *   - loading a cached index (read the msgpack bytes + deserialise);
 *   - extracting 10 s excerpts at random positions with AdtsExtractor (60 by
 *     default, min/median/p90/max of wall and CPU time and page faults; the
 *     first excerpt after opening reported on its own), against
 *     GStreamer's ACCURATE seek (filesrc ! aacparse ! avdec_aac, pipeline
 *     already prerolled) and `ffmpeg -ss T -t 10` on the same file;
 *   - exactness: each excerpt against the same samples of a full decode
 *     (hour-full.f32): correlation at lag 0, best lag in +-2048, max |diff|.
 * Prints times and ratios; asserts nothing.
 *
 *   bench_adts [CACHE_DIR] [EXCERPTS] [ours]   (ours: no peers, our extractor alone)
 */
#include <gst/montage/adts.h>

#include <gio/gio.h>
#include <gst/app/gstappsink.h>

#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0)
{
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}
/* CPU time of this thread / this process / finished children, ms: wall time on a
 * shared machine measures the neighbours too. */
double cpu_ms(clockid_t clock)
{
  timespec ts;
  clock_gettime(clock, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}
double children_cpu_ms()
{
  rusage ru;
  getrusage(RUSAGE_CHILDREN, &ru);
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}
double median(std::vector<double> v)
{
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}
long minor_faults()
{
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_minflt;
}
/* min / median / p90 / max of one measure. */
struct Stats {
  std::vector<double> v;
  void add(double x) { v.push_back(x); }
  double at(double q) const
  {
    if (v.empty())
      return 0;
    std::vector<double> s = v;
    std::sort(s.begin(), s.end());
    return s[std::min(s.size() - 1, (size_t)std::floor(q * (s.size() - 1) + 0.5))];
  }
  double median() const { return at(0.5); }
  double max() const { return at(1.0); }
  int over(double x) const { return (int)std::count_if(v.begin(), v.end(), [&](double y) { return y > x; }); }
  void print(const char *what) const
  {
    printf("  %-34s %8.2f %8.2f %8.2f %8.2f\n", what, at(0.0), median(), at(0.9), max());
  }
};

struct Exactness {
  double corr0 = 0;
  long best_lag = 0;
  double max_diff = 0;
};

/* x: interleaved stereo excerpt; full: the whole decode; first: excerpt's first sample. */
Exactness compare(const float *x, size_t frames, const float *full, size_t full_frames, size_t first)
{
  auto corr = [&](long lag) {
    double xy = 0, xx = 0, yy = 0;
    for (size_t i = 0; i < frames * 2; i++) {
      const long j = (long)(first * 2 + i) + lag * 2;
      const double a = x[i], b = (j >= 0 && (size_t)j < full_frames * 2) ? full[j] : 0.0;
      xy += a * b, xx += a * a, yy += b * b;
    }
    return xy / std::sqrt(xx * yy + 1e-30);
  };
  Exactness e;
  e.corr0 = corr(0);
  double best = e.corr0;
  for (long lag = -2048; lag <= 2048; lag++) {
    if (lag == 0 || (std::abs(lag) > 8 && lag % 64 != 0 && std::abs(lag) != 1024 &&
                     std::abs(lag) != 2048))
      continue;
    const double c = corr(lag);
    if (c > best)
      best = c, e.best_lag = lag;
  }
  for (size_t i = 0; i < frames * 2; i++)
    e.max_diff = std::max(e.max_diff, (double)std::fabs(x[i] - full[first * 2 + i]));
  return e;
}

struct GstSeeker {
  GstElement *pipeline = nullptr;
  GstElement *sink = nullptr;
  bool open(const std::string &path)
  {
    gchar *desc = g_strdup_printf(
        "filesrc location=\"%s\" ! aacparse ! avdec_aac ! audioconvert ! "
        "audio/x-raw,format=F32LE,layout=interleaved,channels=2 ! appsink name=sink sync=false",
        path.c_str());
    pipeline = gst_parse_launch(desc, nullptr);
    g_free(desc);
    if (!pipeline)
      return false;
    sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
    gst_element_set_state(pipeline, GST_STATE_PAUSED);
    return gst_element_get_state(pipeline, nullptr, nullptr, 30 * GST_SECOND) ==
           GST_STATE_CHANGE_SUCCESS;
  }
  /* ACCURATE flushing seek to [t0, t1), play, collect until EOS. */
  std::vector<float> excerpt(GstClockTime t0, GstClockTime t1)
  {
    std::vector<float> out;
    gst_element_seek(pipeline, 1.0, GST_FORMAT_TIME,
                     (GstSeekFlags)(GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_ACCURATE),
                     GST_SEEK_TYPE_SET, (gint64)t0, GST_SEEK_TYPE_SET, (gint64)t1);
    gst_element_set_state(pipeline, GST_STATE_PLAYING);
    while (GstSample *s = gst_app_sink_pull_sample(GST_APP_SINK(sink))) {
      GstMapInfo map;
      GstBuffer *b = gst_sample_get_buffer(s);
      gst_buffer_map(b, &map, GST_MAP_READ);
      const float *f = (const float *)map.data;
      out.insert(out.end(), f, f + map.size / 4);
      gst_buffer_unmap(b, &map);
      gst_sample_unref(s);
    }
    gst_element_set_state(pipeline, GST_STATE_PAUSED);
    gst_element_get_state(pipeline, nullptr, nullptr, 30 * GST_SECOND);
    return out;
  }
  ~GstSeeker()
  {
    if (sink)
      gst_object_unref(sink);
    if (pipeline) {
      gst_element_set_state(pipeline, GST_STATE_NULL);
      gst_object_unref(pipeline);
    }
  }
};

std::vector<float> ffmpeg_excerpt(const std::string &path, double t0, double seconds)
{
  gchar *ss = g_strdup_printf("%.6f", t0), *t = g_strdup_printf("%.6f", seconds);
  const gchar *argv[] = {"ffmpeg", "-nostdin", "-loglevel", "error", "-ss", ss, "-t", t,
                         "-i", path.c_str(), "-f", "f32le", "-", nullptr};
  gchar *out = nullptr;
  gsize len = 0;
  gint status = 0;
  GError *err = nullptr;
  std::vector<float> pcm;
  GSubprocess *p = g_subprocess_newv(argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE, &err);
  GBytes *bytes = nullptr;
  if (p && g_subprocess_communicate(p, nullptr, nullptr, &bytes, nullptr, &err)) {
    const float *f = (const float *)g_bytes_get_data(bytes, &len);
    pcm.assign(f, f + len / 4);
    g_bytes_unref(bytes);
  }
  (void)out;
  (void)status;
  g_clear_error(&err);
  if (p)
    g_object_unref(p);
  g_free(ss);
  g_free(t);
  return pcm;
}

} // namespace

int main(int argc, char **argv)
{
  gst_init(&argc, &argv);
  gchar *def = g_build_filename(g_get_user_cache_dir(), "gst-montage", "bench", "adts", NULL);
  const std::string dir = argc > 1 ? argv[1] : def;
  g_free(def);
  const int n_excerpts = std::max(1, argc > 2 ? atoi(argv[2]) : 60);
  const std::string song = dir + "/hour.aac", full_path = dir + "/hour-full.f32";
  if (!g_file_test(song.c_str(), G_FILE_TEST_EXISTS) ||
      !g_file_test(full_path.c_str(), G_FILE_TEST_EXISTS)) {
    fprintf(stderr, "bench_adts: run bench/adts/make-hour.sh first (%s missing)\n", song.c_str());
    return 1;
  }
  GError *err = nullptr;

  /* 1. Index build, warm page cache (a first untimed pass warms it). */
  auto index = montage::AdtsIndex::build_from_file(song, nullptr, &err);
  if (!index) {
    fprintf(stderr, "bench_adts: %s\n", err->message);
    return 1;
  }
  std::vector<double> build_ms, build_mem_ms;
  for (int i = 0; i < 7; i++) {
    auto t0 = Clock::now();
    auto again = montage::AdtsIndex::build_from_file(song, nullptr, nullptr);
    build_ms.push_back(ms_since(t0));
  }
  {
    gchar *data = nullptr;
    gsize len = 0;
    g_file_get_contents(song.c_str(), &data, &len, nullptr);
    for (int i = 0; i < 7; i++) {
      auto t0 = Clock::now();
      auto again = montage::AdtsIndex::build((const guint8 *)data, len, nullptr, nullptr);
      build_mem_ms.push_back(ms_since(t0));
    }
    g_free(data);
  }
  const double gb = index->file_size() / 1e9;
  printf("file: %s, %.1f MB, %zu frames, %.1f s, %u Hz, %u ch\n", song.c_str(),
         index->file_size() / 1e6, index->frame_count(), index->duration() / 1e9,
         index->runs()[0].sample_rate, index->runs()[0].channels);
  printf("index build (mmap file, warm cache): median %.2f ms = %.2f GB/s (target >= 1 GB/s)\n",
         median(build_ms), gb / (median(build_ms) / 1e3));
  printf("index build (bytes in memory):       median %.2f ms = %.2f GB/s\n", median(build_mem_ms),
         gb / (median(build_mem_ms) / 1e3));

  /* 2. Cached index: serialise to a file, then read + deserialise. */
  const std::vector<uint8_t> bytes = index->serialise();
  const std::string idx_path = dir + "/hour.adtsidx";
  g_file_set_contents(idx_path.c_str(), (const gchar *)bytes.data(), bytes.size(), nullptr);
  std::vector<double> load_ms;
  for (int i = 0; i < 21; i++) {
    auto t0 = Clock::now();
    gchar *data = nullptr;
    gsize len = 0;
    g_file_get_contents(idx_path.c_str(), &data, &len, nullptr);
    auto loaded = montage::AdtsIndex::deserialise((const uint8_t *)data, len, nullptr);
    load_ms.push_back(ms_since(t0));
    g_free(data);
    if (!loaded || loaded->frame_count() != index->frame_count())
      fprintf(stderr, "bench_adts: cached index did not load\n");
  }
  printf("cached index: %zu bytes (%.2f bytes/frame), load median %.3f ms (target < 1 ms)\n",
         bytes.size(), (double)bytes.size() / index->frame_count(), median(load_ms));

  /* 3. Extraction. */
  GMappedFile *full_map = g_mapped_file_new(full_path.c_str(), FALSE, nullptr);
  const float *full = (const float *)g_mapped_file_get_contents(full_map);
  const size_t full_frames = g_mapped_file_get_length(full_map) / 8;
  double load0[3] = {0, 0, 0};
  getloadavg(load0, 3);
  auto t_open = Clock::now();
  auto ex = montage::AdtsExtractor::open(song, *index, {}, &err);
  if (!ex) {
    fprintf(stderr, "bench_adts: %s\n", err->message);
    return 1;
  }
  const double open_ms = ms_since(t_open);
  GstSeeker seeker;
  if (!seeker.open(song)) {
    fprintf(stderr, "bench_adts: GStreamer pipeline did not preroll\n");
    return 1;
  }
  /* bench_adts DIR N ours: only our extractor (no peers in between), to see
   * its own tail without the peers' memory churn. */
  const bool ours_only = argc > 3 && !strcmp(argv[3], "ours");
  const bool have_ffmpeg = !ours_only && g_find_program_in_path("ffmpeg") != nullptr;
  std::mt19937_64 rng(8);
  std::uniform_real_distribution<double> pos(0.0, index->duration() / 1e9 - 11.0);
  Stats ours_ms, gst_ms, ff_ms, ours_cpu, gst_cpu, ff_cpu, ours_faults;
  double worst_corr = 1.0, worst_diff = 0.0;
  long worst_lag = 0;
  int gst_exact = 0, ff_exact = 0, gst_n = 0, ff_n = 0, ours_exact = 0;
  /* One excerpt reused: its storage is kept between extractions (as a caller
   * cutting many excerpts would do); the first extraction allocates it. */
  montage::PcmExcerpt pcm;
  double first_ms = 0, first_cpu = 0;
  /* The positions, then one pass per method over all of them: our extractor
   * first, so that neither the peers' memory churn nor the fork() that starts
   * ffmpeg (it makes every page of this process copy-on-write, ~1000 extra
   * page faults in the next extraction) lands inside our measurements. */
  std::vector<double> starts;
  for (int i = 0; i <= n_excerpts; i++)
    starts.push_back(std::floor(pos(rng) * 1e6) / 1e6);
  const size_t want = 441000;
  auto first_of = [](double s) {
    return (size_t)gst_util_uint64_scale_ceil((GstClockTime)std::llround(s * GST_SECOND), 44100,
                                              GST_SECOND);
  };
  auto run_ours = [&](montage::AdtsExtractor &x, int i, Stats &wall, Stats &cpu, Stats *faults,
                      bool check) {
    {
      const double s = starts[i];
      const GstClockTime t0 = (GstClockTime)std::llround(s * GST_SECOND), t1 = t0 + 10 * GST_SECOND;
      const long faults0 = minor_faults();
      const double a_cpu = cpu_ms(CLOCK_PROCESS_CPUTIME_ID);
      auto a = Clock::now();
      if (!x.extract(t0, t1, pcm, &err)) {
        fprintf(stderr, "bench_adts: %s\n", err->message);
        return false;
      }
      const double o_ms = ms_since(a), o_cpu = cpu_ms(CLOCK_PROCESS_CPUTIME_ID) - a_cpu;
      const long n_faults = minor_faults() - faults0;
      if (i == 0) { /* the first excerpt after open(): reported on its own */
        if (faults) {
          first_ms = o_ms, first_cpu = o_cpu;
          printf("%-10.3f %10.2f %10.2f %8ld   (first after open)\n", s, o_ms, o_cpu, n_faults);
        }
        return true;
      }
      wall.add(o_ms), cpu.add(o_cpu);
      if (faults) {
        faults->add(n_faults);
        if (o_ms > 10.0)
          printf("%-10.3f %10.2f %10.2f %8ld\n", s, o_ms, o_cpu, n_faults);
      }
      if (!check)
        return true;
      Exactness eo = compare(pcm.samples.data(), pcm.frames(), full, full_frames, first_of(s));
      worst_corr = std::min(worst_corr, eo.corr0);
      worst_diff = std::max(worst_diff, eo.max_diff);
      if (eo.best_lag)
        worst_lag = eo.best_lag;
      ours_exact += eo.best_lag == 0 && pcm.frames() == want;
    }
    return true;
  };
  printf("\nexcerpts over 10 ms (ours) are listed:\n%-10s %10s %10s %8s\n", "start s", "ours ms",
         "ours cpu", "faults");
  /* Reference in the same pass, alternating excerpt by excerpt: the same
   * extractor with one decoder and no helper thread. */
  Stats one_ms, one_cpu;
  montage::AdtsExtractOptions one;
  one.decoders = 1;
  auto ex1 = montage::AdtsExtractor::open(song, *index, one, &err);
  if (!ex1) {
    fprintf(stderr, "bench_adts: %s\n", err->message);
    return 1;
  }
  for (int i = 0; i <= n_excerpts; i++)
    if (!run_ours(*ex, i, ours_ms, ours_cpu, &ours_faults, true) ||
        !run_ours(*ex1, i, one_ms, one_cpu, nullptr, false))
      return 1;
  ex1.reset();
  guint64 n_parts = 0, n_redone = 0;
  ex->part_counts(n_parts, n_redone);
  for (int i = 1; i <= n_excerpts && !ours_only; i++) {
    const double s = starts[i];
    const GstClockTime t0 = (GstClockTime)std::llround(s * GST_SECOND), t1 = t0 + 10 * GST_SECOND;
    auto b = Clock::now();
    const double b_cpu = cpu_ms(CLOCK_PROCESS_CPUTIME_ID);
    std::vector<float> g = seeker.excerpt(t0, t1);
    gst_ms.add(ms_since(b));
    gst_cpu.add(cpu_ms(CLOCK_PROCESS_CPUTIME_ID) - b_cpu);
    Exactness eg = compare(g.data(), std::min(g.size() / 2, want), full, full_frames, first_of(s));
    gst_n++, gst_exact += eg.best_lag == 0 && g.size() / 2 == want;
  }
  for (int i = 1; i <= n_excerpts && have_ffmpeg; i++) {
    const double s = starts[i];
    auto c = Clock::now();
    const double c_cpu = children_cpu_ms();
    std::vector<float> ff = ffmpeg_excerpt(song, s, 10.0);
    ff_ms.add(ms_since(c));
    ff_cpu.add(children_cpu_ms() - c_cpu);
    Exactness ef = compare(ff.data(), std::min(ff.size() / 2, want), full, full_frames, first_of(s));
    ff_n++, ff_exact += ef.best_lag == 0;
  }
  double load1[3] = {0, 0, 0};
  getloadavg(load1, 3);
  printf("\nload average (1 min) %.2f at the start of the excerpts, %.2f at the end, on %u "
         "processors\n",
         load0[0], load1[0], g_get_num_processors());
  printf("extractor open (map, %u decoders started and run over the first frames, helper "
         "threads): %.2f ms, decoder %s\n",
         ex->decoders(), open_ms, ex->decoder_name().c_str());
  printf("first excerpt after open: %.2f ms wall, %.2f ms CPU (allocates the reused excerpt)\n",
         first_ms, first_cpu);
  printf("\n10 s excerpts, %d at random over the hour   min / median / p90 / max\n", n_excerpts);
  ours_ms.print("ours, wall ms (target < 10)");
  if (!ours_only)
    gst_ms.print("GStreamer ACCURATE seek, wall ms");
  if (have_ffmpeg)
    ff_ms.print("ffmpeg -ss, wall ms");
  one_ms.print("ours, 1 decoder, wall ms");
  ours_cpu.print("ours, CPU ms (all threads)");
  one_cpu.print("ours, 1 decoder, CPU ms");
  if (!ours_only)
    gst_cpu.print("GStreamer, CPU ms (process)");
  if (have_ffmpeg)
    ff_cpu.print("ffmpeg, CPU ms (child)");
  ours_faults.print("ours, minor page faults");
  printf("ours over 10 ms: %d of %d; 1 decoder over 10 ms: %d of %d\n", ours_ms.over(10.0),
         n_excerpts, one_ms.over(10.0), n_excerpts);
  printf("parts: %" G_GUINT64_FORMAT " decoded in parallel, %" G_GUINT64_FORMAT
         " decoded again by the calling thread because a helper thread was late\n",
         n_parts, n_redone);
  printf("wall ratios (median): GStreamer/ours %.1fx, ffmpeg/ours %.1fx; (max) GStreamer/ours "
         "%.1fx, ffmpeg/ours %.1fx\n",
         gst_ms.median() / ours_ms.median(), have_ffmpeg ? ff_ms.median() / ours_ms.median() : 0.0,
         gst_ms.max() / ours_ms.max(), have_ffmpeg ? ff_ms.max() / ours_ms.max() : 0.0);
  printf("CPU ratios (median): GStreamer/ours %.1fx, ffmpeg/ours %.1fx\n",
         gst_cpu.median() / ours_cpu.median(),
         have_ffmpeg ? ff_cpu.median() / ours_cpu.median() : 0.0);
  printf("exactness, ours vs full decode: lag 0 and 441000 samples in %d/%d, worst corr at lag 0 "
         "%.6f, best lag %ld (0 = exact), worst max|diff| %.2e\n",
         ours_exact, n_excerpts, worst_corr, worst_lag, worst_diff);
  printf("peers at lag 0 with the right length: GStreamer %d/%d, ffmpeg %d/%d (lag only)\n",
         gst_exact, gst_n, ff_exact, ff_n);
  g_mapped_file_unref(full_map);
  return 0;
}
