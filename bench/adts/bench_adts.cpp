/* ADTS random access benchmark (issue 8): on the one-hour ADTS file from
 * bench/adts/make-hour.sh, measures in one run
 *   - index build (headers only) from a warm page cache, GB/s;
 *   - loading a cached index (read the msgpack bytes + deserialise);
 *   - extracting 10 s excerpts at random positions with AdtsExtractor, against
 *     GStreamer's ACCURATE seek (filesrc ! aacparse ! avdec_aac, pipeline
 *     already prerolled) and `ffmpeg -ss T -t 10` on the same file;
 *   - exactness: each excerpt against the same samples of a full decode
 *     (hour-full.f32): correlation at lag 0, best lag in +-2048, max |diff|.
 * Prints times and ratios; asserts nothing.
 *
 *   bench_adts [CACHE_DIR] [EXCERPTS]
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
  const int n_excerpts = argc > 2 ? atoi(argv[2]) : 20;
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
  const bool have_ffmpeg = g_find_program_in_path("ffmpeg") != nullptr;
  std::mt19937_64 rng(8);
  std::uniform_real_distribution<double> pos(0.0, index->duration() / 1e9 - 11.0);
  std::vector<double> ours_ms, gst_ms, ff_ms, ours_cpu, gst_cpu, ff_cpu;
  double worst_corr = 1.0, worst_diff = 0.0;
  long worst_lag = 0;
  int gst_exact = 0, ff_exact = 0, gst_n = 0, ff_n = 0;
  printf("\n%-10s %10s %10s %10s   %-28s %-22s %-22s\n", "start s", "ours ms", "gst ms",
         "ffmpeg ms", "ours: corr0 lag maxdiff", "gst: corr0 lag", "ffmpeg: corr0 lag");
  for (int i = 0; i < n_excerpts; i++) {
    const double s = std::floor(pos(rng) * 1e6) / 1e6;
    const GstClockTime t0 = (GstClockTime)std::llround(s * GST_SECOND), t1 = t0 + 10 * GST_SECOND;
    const size_t first = (size_t)gst_util_uint64_scale_ceil(t0, 44100, GST_SECOND);
    montage::PcmExcerpt pcm;
    auto a = Clock::now();
    const double a_cpu = cpu_ms(CLOCK_THREAD_CPUTIME_ID);
    if (!ex->extract(t0, t1, pcm, &err)) {
      fprintf(stderr, "bench_adts: %s\n", err->message);
      return 1;
    }
    ours_ms.push_back(ms_since(a));
    ours_cpu.push_back(cpu_ms(CLOCK_THREAD_CPUTIME_ID) - a_cpu);
    Exactness eo = compare(pcm.samples.data(), pcm.frames(), full, full_frames, first);
    worst_corr = std::min(worst_corr, eo.corr0);
    worst_diff = std::max(worst_diff, eo.max_diff);
    if (eo.best_lag)
      worst_lag = eo.best_lag;

    auto b = Clock::now();
    const double b_cpu = cpu_ms(CLOCK_PROCESS_CPUTIME_ID);
    std::vector<float> g = seeker.excerpt(t0, t1);
    gst_ms.push_back(ms_since(b));
    gst_cpu.push_back(cpu_ms(CLOCK_PROCESS_CPUTIME_ID) - b_cpu);
    Exactness eg = compare(g.data(), std::min(g.size() / 2, pcm.frames()), full, full_frames, first);
    gst_n++, gst_exact += eg.best_lag == 0 && g.size() / 2 == pcm.frames();

    Exactness ef;
    double f_ms = 0;
    std::vector<float> ff;
    if (have_ffmpeg) {
      auto c = Clock::now();
      const double c_cpu = children_cpu_ms();
      ff = ffmpeg_excerpt(song, s, 10.0);
      f_ms = ms_since(c);
      ff_cpu.push_back(children_cpu_ms() - c_cpu);
      ff_ms.push_back(f_ms);
      ef = compare(ff.data(), std::min(ff.size() / 2, pcm.frames()), full, full_frames, first);
      ff_n++, ff_exact += ef.best_lag == 0;
    }
    printf("%-10.3f %10.2f %10.2f %10.2f   %.6f %5ld %.1e      %.6f %5ld (%zu)   %.6f %5ld (%zu)\n",
           s, ours_ms.back(), gst_ms.back(), f_ms, eo.corr0, eo.best_lag, eo.max_diff, eg.corr0,
           eg.best_lag, g.size() / 2, ef.corr0, ef.best_lag, ff.size() / 2);
  }
  printf("\nextractor open (map + decoder setup, once): %.2f ms, decoder %s\n", open_ms,
         ex->decoder_name().c_str());
  printf("10 s excerpt, median: ours %.2f ms (max %.2f; target < 10 ms), GStreamer ACCURATE "
         "seek %.2f ms, ffmpeg -ss %.2f ms\n",
         median(ours_ms), *std::max_element(ours_ms.begin(), ours_ms.end()), median(gst_ms),
         median(ff_ms));
  printf("10 s excerpt, CPU time median: ours %.2f ms (one thread, synchronous), GStreamer "
         "%.2f ms (process), ffmpeg %.2f ms (child)\n",
         median(ours_cpu), median(gst_cpu), median(ff_cpu));
  printf("CPU ratios: GStreamer/ours %.1fx, ffmpeg/ours %.1fx\n", median(gst_cpu) / median(ours_cpu),
         ff_cpu.empty() ? 0.0 : median(ff_cpu) / median(ours_cpu));
  printf("wall ratios: GStreamer/ours %.1fx, ffmpeg/ours %.1fx\n", median(gst_ms) / median(ours_ms),
         ff_ms.empty() ? 0.0 : median(ff_ms) / median(ours_ms));
  printf("exactness, ours vs full decode: worst corr at lag 0 %.6f, best lag %ld (0 = exact), "
         "worst max|diff| %.2e\n",
         worst_corr, worst_lag, worst_diff);
  printf("peers at lag 0 with the right length: GStreamer %d/%d, ffmpeg %d/%d (lag only)\n",
         gst_exact, gst_n, ff_exact, ff_n);
  g_mapped_file_unref(full_map);
  return 0;
}
