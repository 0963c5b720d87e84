/* bench/scene: what montagescene's analysis costs per frame, stage by stage,
 * on frames decoded from a real clip, without a pipeline around it.
 *
 *   scene-frame-cost [--frames N] [--repeat R] FILE
 *
 * Decodes the first N frames (default 120) of FILE in the decoder's own
 * format (uridecodebin ! appsink, no conversion) into memory (a copy of
 * each, in the format's default layout), then, R times
 * (default 5), runs every frame through what montagescene runs on its
 * streaming thread: AnalysisViewBuilder::build() (the small HSV view) and
 * ShotDetector::push() (scores, decisions, features every kShotFeaturesEvery
 * frames), with the element's default settings; one builder and one
 * detector for all passes, as the element keeps them for a stream. Before
 * each frame it copies the frame once, as gst-libav's decoders copy each
 * decoded picture into their output buffer where they cannot decode into
 * it directly (as in `uridecodebin ! montagescene ! fakesink`); that copy is the reference the
 * stages are compared with, and it leaves the frame in the caches as the decoder's copy does.
 *
 * Prints, per stage, the best of R passes in microseconds per frame and as
 * a fraction of the copy. CPU time of one thread (CLOCK_THREAD_CPUTIME_ID),
 * so other load on the machine counts less than in wall time. Not a test:
 * nothing is asserted. Exit status 1 when fewer than 2 frames can be
 * decoded (an error on the bus ends the decoding) or the analysis refuses
 * the decoder's format (10-bit, say).
 */
#include <gst/app/gstappsink.h>
#include <gst/montage/clipanalysis.h>
#include <gst/montage/scenedetector.h>
#include <gst/montage/shotdetector.h>
#include <gst/video/video.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <vector>

namespace
{

double thread_cpu_us()
{
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* The first `max_frames` decoded frames of `uri`, each copied into a buffer
 * of its own in the caps' default layout (whatever strides the decoder
 * used, and without holding the decoder's buffers, whose pool may be
 * small); `info` gets their layout. Empty on failure, with a message. */
std::vector<GstBuffer *> decode(const char *uri, int max_frames, GstVideoInfo &info)
{
  std::vector<GstBuffer *> out;
  GError *error = nullptr;
  gchar *desc = g_strdup_printf(
      "uridecodebin uri=\"%s\" caps=video/x-raw ! appsink name=sink sync=false max-buffers=4", uri);
  GstElement *pipeline = gst_parse_launch(desc, &error);
  g_free(desc);
  if (!pipeline) {
    std::fprintf(stderr, "cannot build the decoding pipeline: %s\n", error->message);
    g_clear_error(&error);
    return out;
  }
  GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  GstBus *bus = gst_element_get_bus(pipeline);
  if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    std::fprintf(stderr, "%s: the decoding pipeline does not start\n", uri);
  else
    while ((int)out.size() < max_frames) {
      /* A file that fails (not found, no video, no decoder) ends in an
       * error on the bus, not in EOS: look there between waits. */
      if (GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR)) {
        gst_message_parse_error(msg, &error, nullptr);
        std::fprintf(stderr, "%s: %s\n", uri, error->message);
        g_clear_error(&error);
        gst_message_unref(msg);
        break;
      }
      GstSample *sample = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), GST_SECOND / 10);
      if (!sample) {
        if (gst_app_sink_is_eos(GST_APP_SINK(sink)))
          break;
        continue;
      }
      GstVideoFrame src, dst;
      if (!gst_video_info_from_caps(&info, gst_sample_get_caps(sample)) ||
          !gst_video_frame_map(&src, &info, gst_sample_get_buffer(sample), GST_MAP_READ)) {
        gst_sample_unref(sample);
        break;
      }
      GstBuffer *own = gst_buffer_new_allocate(nullptr, GST_VIDEO_INFO_SIZE(&info), nullptr);
      gst_video_frame_map(&dst, &info, own, GST_MAP_WRITE);
      gst_video_frame_copy(&dst, &src);
      gst_video_frame_unmap(&dst);
      gst_video_frame_unmap(&src);
      gst_sample_unref(sample);
      out.push_back(own);
    }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(bus);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
  return out;
}

} // namespace

int main(int argc, char **argv)
{
  gst_init(&argc, &argv);
  int frames = 120, repeat = 5;
  const char *file = nullptr;
  for (int k = 1; k < argc; k++) {
    if (!std::strcmp(argv[k], "--frames") && k + 1 < argc)
      frames = std::max(2, (int)g_ascii_strtoll(argv[++k], nullptr, 10));
    else if (!std::strcmp(argv[k], "--repeat") && k + 1 < argc)
      repeat = std::max(1, (int)g_ascii_strtoll(argv[++k], nullptr, 10));
    else
      file = argv[k];
  }
  if (!file) {
    std::fprintf(stderr, "usage: %s [--frames N] [--repeat R] FILE\n", argv[0]);
    return 2;
  }
  gchar *uri = gst_uri_is_valid(file) ? g_strdup(file) : gst_filename_to_uri(file, nullptr);
  GstVideoInfo info;
  std::vector<GstBuffer *> samples = decode(uri, frames, info);
  g_free(uri);
  if (samples.size() < 2) {
    std::fprintf(stderr, "%s: fewer than 2 frames decoded\n", file);
    for (GstBuffer *b : samples)
      gst_buffer_unref(b);
    return 1;
  }
  std::printf("%s: %zu frames %dx%d %s\n", file, samples.size(), GST_VIDEO_INFO_WIDTH(&info),
              GST_VIDEO_INFO_HEIGHT(&info), GST_VIDEO_INFO_NAME(&info));

  const gsize size = GST_VIDEO_INFO_SIZE(&info);
  GstBuffer *copy = gst_buffer_new_allocate(nullptr, size, nullptr);
  double best_copy = 1e30, best_build = 1e30, best_push = 1e30;
  /* One analysis for all passes, as the element keeps one for the stream:
   * the passes follow each other as one long clip (with a cut between them). */
  montage::AnalysisViewBuilder builder;
  montage::ShotDetector detector;
  std::vector<montage::FrameVerdict> verdicts;
  cv::Mat hsv;
  GstClockTime ts = 0;
  /* What the first pass computed (the views; the scores and features), so
   * that a change meant to be faster can show it computes the same: FNV-1a
   * over their bytes. */
  guint64 views = 1469598103934665603ull, measures = views;
  double sum_sharpness = 0.0;
  auto mix = [](guint64 &checksum, const void *data, size_t n) {
    const guint8 *p = static_cast<const guint8 *>(data);
    for (size_t i = 0; i < n; i++)
      checksum = (checksum ^ p[i]) * 1099511628211ull;
  };
  for (int r = 0; r < repeat; r++) {
    double t_copy = 0, t_build = 0, t_push = 0;
    for (GstBuffer *buffer : samples) {
      GstMapInfo src, dst;
      double t0 = thread_cpu_us();
      gst_buffer_map(buffer, &src, GST_MAP_READ);
      gst_buffer_map(copy, &dst, GST_MAP_WRITE);
      std::memcpy(dst.data, src.data, std::min(src.size, dst.size));
      gst_buffer_unmap(copy, &dst);
      gst_buffer_unmap(buffer, &src);
      double t1 = thread_cpu_us();
      GstVideoFrame frame;
      if (!gst_video_frame_map(&frame, &info, copy, GST_MAP_READ))
        return 1;
      montage::FrameView view;
      const bool ok =
          montage::frame_view_from_video_frame(&frame, view) && builder.build(view, hsv);
      gst_video_frame_unmap(&frame);
      double t2 = thread_cpu_us();
      if (ok)
        detector.push(hsv, builder.luma(), builder.bgr(), ts, 40 * GST_MSECOND, verdicts);
      double t3 = thread_cpu_us();
      if (!ok) {
        std::fprintf(stderr, "%s: the analysis view cannot be built from %s frames\n", file,
                     GST_VIDEO_INFO_NAME(&info));
        return 1;
      }
      if (r == 0 && ok) {
        for (int y = 0; y < hsv.rows; y++)
          mix(views, hsv.ptr(y), hsv.cols * hsv.elemSize());
        for (const montage::FrameVerdict &v : verdicts) {
          mix(measures, &v.score, sizeof v.score);
          mix(measures, &v.content, sizeof v.content);
        }
        const montage::FrameFeatures &m = detector.last_features();
        const double values[] = {m.brightness, m.contrast, m.motion, m.sharpness, m.colourfulness};
        mix(measures, values, sizeof values);
        sum_sharpness += m.sharpness;
      }
      ts += 40 * GST_MSECOND;
      verdicts.clear();
      t_copy += t1 - t0;
      t_build += t2 - t1;
      t_push += t3 - t2;
    }
    const double n = (double)samples.size();
    best_copy = std::min(best_copy, t_copy / n);
    best_build = std::min(best_build, t_build / n);
    best_push = std::min(best_push, t_push / n);
  }
  std::printf("first pass: views %016llx, scores and features %016llx, sum of sharpness %.6f\n",
              (unsigned long long)views, (unsigned long long)measures, sum_sharpness);
  std::printf("per frame, best of %d passes (thread CPU time):\n", repeat);
  std::printf("  copy of the frame (reference) %8.1f us\n", best_copy);
  std::printf("  analysis view (build)         %8.1f us  %.2fx the copy\n", best_build,
              best_build / best_copy);
  std::printf("  detector (push)               %8.1f us  %.2fx the copy\n", best_push,
              best_push / best_copy);
  std::printf("  analysis in all               %8.1f us  %.2fx the copy\n", best_build + best_push,
              (best_build + best_push) / best_copy);
  gst_buffer_unref(copy);
  for (GstBuffer *b : samples)
    gst_buffer_unref(b);
  return 0;
}
