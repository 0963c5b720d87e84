/* Tests for montage::analyse_clip_file(): the keyframe path returns the same
 * cuts as full decoding on real clips, at the known frames, and errors are
 * sentences. Needs scripts/fetch-media.sh media. */
#include <gtest/gtest.h>

#include "clipcompare.h"
#include "testutil.h"

#include <gst/montage/avikeyframes-private.h>
#include <gst/montage/clipanalysis.h>
#include <gst/montage/frameplacer-private.h>
#include <gst/montage/h264refs-private.h>
#include <gst/montage/progress-meter.h>

#include <glib/gstdio.h>
#include <gst/pbutils/pbutils.h>

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <map>
#include <mutex>
#include <string>
#include <vector>

using montage::ClipAnalyseOptions;

namespace
{

/* Cut frames counted from the first frame (../shared/MEDIA.md). */
std::vector<long> frames_of(const montage::ClipAnalysis &clip)
{
  std::vector<long> out;
  for (GstClockTime c : clip.cuts)
    out.push_back(std::lround((double)(c - clip.first_frame) * clip.fps_n / clip.fps_d / GST_SECOND));
  return out;
}

/* Analyses `path` with options `o`, in `mode`; a failure carries the
 * error's message. */
::testing::AssertionResult analyse(const std::string &path, ClipAnalyseOptions o,
                                   ClipAnalyseOptions::Mode mode, montage::ClipAnalysis &out,
                                   montage::ClipAnalyseStats &stats)
{
  o.mode = mode;
  GError *err = nullptr;
  if (montage::analyse_clip_file(path, o, out, &err, &stats))
    return ::testing::AssertionSuccess();
  auto r = ::testing::AssertionFailure() << path << ": " << (err ? err->message : "no error set");
  g_clear_error(&err);
  return r;
}

constexpr ClipAnalyseOptions::Mode kFull = ClipAnalyseOptions::Mode::kFull;
constexpr ClipAnalyseOptions::Mode kKeyframes = ClipAnalyseOptions::Mode::kKeyframes;

/* Launch-line branches for encode_clip(): one shot of `frames` frames
 * (320x240, 25 fps) per videotestsrc pattern, in order. */
std::string shot_sources(std::initializer_list<const char *> patterns, int frames)
{
  std::string sources;
  for (const char *pattern : patterns)
    sources += " videotestsrc num-buffers=" + std::to_string(frames) + " pattern=" + pattern +
               " ! video/x-raw,width=320,height=240,framerate=25/1 ! c.";
  return sources;
}

/* Encodes the branches `sources` (each ending in "! c.") through concat and
 * x264 (by default with a fixed 25-frame GOP, no scene-cut keyframes;
 * `x264` sets its properties) into `path`, muxed by `mux` (a launch-line
 * fragment: "mp4mux", or a caps filter for raw H.264). */
::testing::AssertionResult
encode_clip(const std::string &sources, const std::string &path, const std::string &mux = "mp4mux",
            const std::string &x264 = "key-int-max=25 option-string=scenecut=0")
{
  /* One segment for the encoder: with B-frames, x264enc mixes up the times
   * of frames around a segment change. */
  const std::string desc =
      "concat name=c ! identity single-segment=true ! videoconvert ! x264enc " + x264 +
      " speed-preset=ultrafast ! " + mux + " ! filesink location=\"" + path + "\" " + sources;
  GError *err = nullptr;
  GstElement *pipe = gst_parse_launch(desc.c_str(), &err);
  if (!pipe) {
    auto r = ::testing::AssertionFailure() << (err ? err->message : "gst_parse_launch failed");
    g_clear_error(&err);
    return r;
  }
  g_clear_error(&err);
  gst_element_set_state(pipe, GST_STATE_PLAYING);
  std::string why;
  if (!montage_test::run_to_eos(pipe, 30 * GST_SECOND, &why))
    return ::testing::AssertionFailure() << "encoding the test clip failed: " << why;
  return ::testing::AssertionSuccess();
}

/* Encodes `frames` (BGR, all of one size, 25 fps) as encode_clip() does,
 * through appsrc: for pictures no videotestsrc pattern makes, such as fades.
 * `stamps`, when not empty, gives each frame's PTS (one per frame) in place
 * of k / 25 s; `tail` is the launch-line fragment from the raw frames to the
 * muxer (by default x264 and MP4). */
::testing::AssertionResult
encode_frames(const std::vector<cv::Mat> &frames, const std::string &path,
              const std::vector<GstClockTime> &stamps = {},
              const std::string &tail = "videoconvert ! x264enc key-int-max=25 "
                                        "option-string=scenecut=0 speed-preset=ultrafast ! mp4mux")
{
  if (frames.empty())
    return ::testing::AssertionFailure() << "no frames to encode";
  const std::string desc = "appsrc name=src format=time caps=video/x-raw,format=BGR,width=" +
                           std::to_string(frames[0].cols) +
                           ",height=" + std::to_string(frames[0].rows) + ",framerate=25/1 ! " +
                           tail + " ! filesink location=\"" + path + "\"";
  GError *err = nullptr;
  GstElement *pipe = gst_parse_launch(desc.c_str(), &err);
  if (!pipe) {
    auto r = ::testing::AssertionFailure() << (err ? err->message : "gst_parse_launch failed");
    g_clear_error(&err);
    return r;
  }
  GstElement *src = gst_bin_get_by_name(GST_BIN(pipe), "src");
  gst_element_set_state(pipe, GST_STATE_PLAYING);
  for (size_t k = 0; k < frames.size(); k++) {
    const cv::Mat &f = frames[k];
    /* BGR rows padded to 4 bytes, as GstVideoInfo lays them out. */
    const size_t stride = ((size_t)f.cols * 3 + 3) & ~(size_t)3;
    GstBuffer *buf = gst_buffer_new_allocate(nullptr, stride * f.rows, nullptr);
    GstMapInfo map;
    gst_buffer_map(buf, &map, GST_MAP_WRITE);
    for (int y = 0; y < f.rows; y++)
      std::memcpy(map.data + stride * y, f.ptr(y), (size_t)f.cols * 3);
    gst_buffer_unmap(buf, &map);
    GST_BUFFER_PTS(buf) = stamps.empty() ? gst_util_uint64_scale(k, GST_SECOND, 25) : stamps[k];
    GST_BUFFER_DURATION(buf) = GST_SECOND / 25;
    GstFlowReturn ret = GST_FLOW_OK;
    g_signal_emit_by_name(src, "push-buffer", buf, &ret);
    gst_buffer_unref(buf);
  }
  GstFlowReturn ret = GST_FLOW_OK;
  g_signal_emit_by_name(src, "end-of-stream", &ret);
  gst_object_unref(src);
  std::string why;
  if (!montage_test::run_to_eos(pipe, 30 * GST_SECOND, &why))
    return ::testing::AssertionFailure() << "encoding the test frames failed: " << why;
  return ::testing::AssertionSuccess();
}

/* A temporary directory, removed with the files named by add(). */
struct TempDir {
  gchar *dir = g_dir_make_tmp("montage-clip-XXXXXX", nullptr);
  std::vector<std::string> files;
  std::string add(const char *name)
  {
    files.push_back(std::string(dir) + "/" + name);
    return files.back();
  }
  ~TempDir()
  {
    for (const std::string &f : files)
      g_unlink(f.c_str());
    g_rmdir(dir);
    g_free(dir);
  }
};

/* The buffers without GST_BUFFER_FLAG_DELTA_UNIT out of `chain` (a launch
 * line fragment after the file's source), -1 when it does not run. */
int count_keyframes(const std::string &path, const std::string &chain)
{
  const std::string desc =
      "filesrc location=\"" + path + "\" ! " + chain + " ! fakesink name=sink signal-handoffs=true";
  GstElement *pipe = gst_parse_launch(desc.c_str(), nullptr);
  if (!pipe)
    return -1;
  int keys = 0;
  GstElement *sink = gst_bin_get_by_name(GST_BIN(pipe), "sink");
  g_signal_connect(sink, "handoff",
                   G_CALLBACK(+[](GstElement *, GstBuffer *buf, GstPad *, gpointer n) {
                     if (!GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT))
                       (*static_cast<int *>(n))++;
                   }),
                   &keys);
  gst_object_unref(sink);
  gst_element_set_state(pipe, GST_STATE_PLAYING);
  return montage_test::run_to_eos(pipe, 30 * GST_SECOND) ? keys : -1;
}

double histogram_l1(const std::vector<float> &a, const std::vector<float> &b)
{
  double d = 0.0;
  for (size_t i = 0; i < a.size() && i < b.size(); i++)
    d += std::abs(a[i] - b[i]);
  return d;
}

} // namespace

TEST(ClipAnalysis, KeyframePathMatchesFullDecodingOnRealClips)
{
  const std::map<std::string, std::vector<long>> truth = {
      {"Megamind.avi", {98, 154, 200}}, {"oa4_launch.webm", {74}}, {"cityCC0.mpg", {116}},
      {"vtest.avi", {}}};
  for (const auto &[name, want] : truth) {
    const std::string path = montage_test::media_path(name);
    if (path.empty())
      continue;
    montage::ClipAnalysis full, keys;
    montage::ClipAnalyseStats full_stats, key_stats;
    ASSERT_TRUE(analyse(path, {}, kFull, full, full_stats));
    ASSERT_TRUE(analyse(path, {}, kKeyframes, keys, key_stats));
    EXPECT_FALSE(full_stats.keyframe_path);
    EXPECT_TRUE(key_stats.keyframe_path);
    EXPECT_EQ(key_stats.path, montage::ClipAnalysePath::kKeyframes) << name;
    EXPECT_GT(key_stats.keyframes, 0u);
    EXPECT_EQ(frames_of(full), want) << name;
    EXPECT_EQ(keys.cuts, full.cuts) << name << ": keyframe path differs from full decoding";
    EXPECT_EQ(keys.first_frame, full.first_frame);
    EXPECT_EQ(keys.duration, full.duration);
    EXPECT_GT(full.width, 0);
    ASSERT_EQ(full.shots.size(), want.size() + 1);
    ASSERT_EQ(keys.shots.size(), want.size() + 1);
    for (size_t k = 0; k < full.shots.size(); k++) {
      EXPECT_TRUE(full.shots[k].has_features);
      EXPECT_TRUE(keys.shots[k].has_features);
      EXPECT_GE(full.shots[k].features.best_inpoint, full.shots[k].start);
      EXPECT_LT(full.shots[k].features.best_inpoint, full.shots[k].end);
      /* Keyframes give no motion measure; each shot still has one. */
      EXPECT_GT(keys.shots[k].features.motion_peak, 0.0) << name << " shot " << k;
      EXPECT_EQ(keys.shots[k].transition_end, full.shots[k].transition_end)
          << name << " shot " << k;
    }
    /* Megamind.avi opens on one black frame, its picture from frame 1 (at
     * 1001/24000 s): the first shot's first clean frame, where no segment
     * opens earlier, on both paths. It was the black frame. */
    if (name == "Megamind.avi")
      EXPECT_NEAR((double)full.shots[0].transition_end / GST_MSECOND, 1001.0 / 24.0, 0.01);
    else
      EXPECT_EQ(full.shots[0].transition_end, full.shots[0].start) << name;
    /* Shots whose frames the keyframe path decodes all (the refined GOPs
     * cover them) get full decoding's features: the same frames measured,
     * on the same one-in-four grid. Megamind.avi's frames share timestamps
     * in pairs (packed B-frames), so its grid must be counted, not timed. */
    const std::map<std::string, size_t> all_decoded = {
        {"Megamind.avi", 4}, {"oa4_launch.webm", 2}, {"cityCC0.mpg", 1}};
    const auto shots = all_decoded.find(name);
    for (size_t k = 0; shots != all_decoded.end() && k < shots->second; k++) {
      const montage::ShotFeatures &f = full.shots[k].features, &g = keys.shots[k].features;
      SCOPED_TRACE(name + " shot " + std::to_string(k));
      EXPECT_NEAR(g.motion_mean, f.motion_mean, 1e-9);
      EXPECT_NEAR(g.motion_peak, f.motion_peak, 1e-9);
      EXPECT_NEAR(g.sharpness, f.sharpness, 1e-6);
      EXPECT_NEAR(g.brightness, f.brightness, 1e-9);
      EXPECT_NEAR(g.contrast, f.contrast, 1e-9);
      EXPECT_NEAR(g.colourfulness, f.colourfulness, 1e-9);
      EXPECT_EQ(g.best_inpoint, f.best_inpoint);
      EXPECT_EQ(g.histogram, f.histogram);
    }
  }
}

TEST(ClipAnalysis, ErrorsAreSentences)
{
  ClipAnalyseOptions o;
  montage::ClipAnalysis out;
  GError *err = nullptr;
  EXPECT_FALSE(montage::analyse_clip_file("/nonexistent/clip.mp4", o, out, &err));
  ASSERT_NE(err, nullptr);
  EXPECT_STREQ(err->message, "no such file");
  g_clear_error(&err);

  gchar *tmp = nullptr;
  gint fd = g_file_open_tmp("montage-XXXXXX.mp4", &tmp, nullptr);
  ASSERT_GE(fd, 0);
  const char junk[] = "this is not a video file at all, just text.";
  ASSERT_EQ(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
  close(fd);
  EXPECT_FALSE(montage::analyse_clip_file(tmp, o, out, &err));
  ASSERT_NE(err, nullptr);
  EXPECT_TRUE(g_str_has_prefix(err->message, "not a media file")) << err->message;
  g_clear_error(&err);
  g_unlink(tmp);
  g_free(tmp);

  const std::string song = montage_test::media_path("stg0.ogg");
  if (!song.empty()) {
    EXPECT_FALSE(montage::analyse_clip_file(song, o, out, &err));
    ASSERT_NE(err, nullptr);
    EXPECT_STREQ(err->message, "has no video stream");
    g_clear_error(&err);
  }
}

/* A bare JPEG stream (what an IP camera's snapshot stream gives) decodes,
 * but its frames have no timestamps: the error says so and what to do,
 * rather than that nothing could be decoded. */
TEST(ClipAnalysis, FramesWithoutTimestampsAreASentence)
{
  TempDir tmp;
  ASSERT_NE(tmp.dir, nullptr);
  const std::string path = tmp.add("camera.jpeg");
  GError *err = nullptr;
  const std::string desc = "videotestsrc num-buffers=10 ! video/x-raw,width=160,height=120 ! "
                           "jpegenc ! filesink location=\"" + path + "\"";
  GstElement *pipe = gst_parse_launch(desc.c_str(), &err);
  ASSERT_NE(pipe, nullptr) << (err ? err->message : "");
  g_clear_error(&err);
  gst_element_set_state(pipe, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus(pipe);
  GstMessage *msg = gst_bus_timed_pop_filtered(
      bus, 30 * GST_SECOND, (GstMessageType)(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  ASSERT_NE(msg, nullptr);
  EXPECT_EQ(GST_MESSAGE_TYPE(msg), GST_MESSAGE_EOS);
  gst_message_unref(msg);
  gst_object_unref(bus);
  gst_element_set_state(pipe, GST_STATE_NULL);
  gst_object_unref(pipe);

  for (auto mode : {ClipAnalyseOptions::Mode::kAuto, kFull}) {
    ClipAnalyseOptions o;
    o.mode = mode;
    montage::ClipAnalysis out;
    montage::ClipAnalyseStats stats;
    EXPECT_FALSE(montage::analyse_clip_file(path, o, out, &err, &stats));
    ASSERT_NE(err, nullptr);
    EXPECT_TRUE(g_str_has_prefix(err->message, "its frames carry no timestamps")) << err->message;
    EXPECT_GT(stats.frames_decoded, 0u) << "the frames themselves decode";
    g_clear_error(&err);
  }
}

/* An MP4 cut before its index (mp4mux, like ffmpeg without faststart, writes
 * the moov atom last): qtdemux gives up at once, from its own thread, while
 * decodebin is still setting it up, and decodebin dropped its error on some
 * runs, which then ended at the no-stream limit with another error
 * (GST_STREAM_ERROR_DECODE). Every run ends with qtdemux's error, in words a
 * user can act on. */
TEST(ClipAnalysis, Mp4CutBeforeItsIndexSaysSoOnEveryRun)
{
  TempDir tmp;
  ASSERT_NE(tmp.dir, nullptr);
  const std::string whole = tmp.add("whole.mp4"), cut = tmp.add("cut.mp4");
  ASSERT_TRUE(encode_clip(shot_sources({"smpte"}, 50), whole));
  gchar *data = nullptr;
  gsize size = 0;
  ASSERT_TRUE(g_file_get_contents(whole.c_str(), &data, &size, nullptr));
  const bool written = g_file_set_contents(cut.c_str(), data, (gssize)(size / 2), nullptr);
  g_free(data);
  ASSERT_TRUE(written);

  ClipAnalyseOptions o;
  o.stall_timeout = 2 * GST_SECOND; /* the no-stream limit, when the error is lost */
  for (int run = 0; run < 20; run++) {
    montage::ClipAnalysis out;
    GError *err = nullptr;
    EXPECT_FALSE(montage::analyse_clip_file(cut, o, out, &err));
    ASSERT_NE(err, nullptr);
    EXPECT_TRUE(err->domain == GST_STREAM_ERROR && err->code == GST_STREAM_ERROR_DEMUX)
        << "run " << run << ": " << err->message;
    EXPECT_STREQ(err->message, "cannot be decoded, the file is truncated or was not finished (no "
                               "index, the moov atom, was found)")
        << "run " << run;
    g_clear_error(&err);
  }
}

/* Motion JPEG goes to jpegdec, an image decoder with no probe before it:
 * every frame is a keyframe, so the clip is decoded in full, and the reason
 * given is that one, not that no decoder could be probed. */
TEST(ClipAnalysis, MotionJpegIsDecodedInFullAsAllKeyframes)
{
  TempDir tmp;
  ASSERT_NE(tmp.dir, nullptr);
  const std::string path = tmp.add("mjpeg.avi");
  GError *err = nullptr;
  const std::string desc = "videotestsrc num-buffers=75 ! video/x-raw,width=320,height=240,"
                           "framerate=25/1 ! jpegenc ! avimux ! filesink location=\"" +
                           path + "\"";
  GstElement *pipe = gst_parse_launch(desc.c_str(), &err);
  ASSERT_NE(pipe, nullptr) << (err ? err->message : "");
  g_clear_error(&err);
  gst_element_set_state(pipe, GST_STATE_PLAYING);
  std::string why;
  ASSERT_TRUE(montage_test::run_to_eos(pipe, 30 * GST_SECOND, &why)) << why;

  montage::ClipAnalysis out;
  montage::ClipAnalyseStats stats;
  ASSERT_TRUE(analyse(path, {}, ClipAnalyseOptions::Mode::kAuto, out, stats));
  EXPECT_EQ(stats.path, montage::ClipAnalysePath::kFullIntraOnly);
  EXPECT_FALSE(stats.keyframe_path);
  EXPECT_STREQ(montage::clip_analyse_path_text(stats.path),
               "full decoding: every frame is a keyframe (the codec has no delta frames), so "
               "there is nothing to skip");
  EXPECT_EQ(out.cuts.size(), 0u);
}

/* A clip encoded here with a fixed 25-frame GOP (no scene-cut keyframes) and
 * five 60-frame shots, so that every cut falls inside a GOP: the keyframe path
 * decodes the keyframes and only the GOPs around the cuts, in one seek, and
 * still finds every cut at its exact frame, as full decoding does. */
TEST(ClipAnalysis, KeyframePathFindsCutsInsideGopsDecodingFewerFrames)
{
  TempDir tmp;
  ASSERT_NE(tmp.dir, nullptr);
  const std::string path = tmp.add("gop25.mp4");
  const std::string sources =
      shot_sources({"smpte", "checkers-8", "circular", "pinwheel", "spokes"}, 60);
  ASSERT_TRUE(encode_clip(sources, path));

  montage::ClipAnalysis full, keys;
  montage::ClipAnalyseStats full_stats, key_stats;
  ASSERT_TRUE(analyse(path, {}, kFull, full, full_stats));
  ASSERT_TRUE(analyse(path, {}, kKeyframes, keys, key_stats));
  EXPECT_EQ(frames_of(full), (std::vector<long>{60, 120, 180, 240}));
  EXPECT_EQ(keys.cuts, full.cuts) << "keyframe path differs from full decoding";
  EXPECT_EQ(keys.duration, full.duration);
  EXPECT_EQ(full_stats.frames_decoded, 300u);
  EXPECT_EQ(full_stats.pipelines, 1u);
  EXPECT_EQ(full_stats.seeks, 0u) << "full decoding reads on from the preroll";
  EXPECT_TRUE(key_stats.keyframe_path);
  EXPECT_EQ(key_stats.keyframes, 12u) << "one keyframe per 25 frames";
  EXPECT_LT(key_stats.frames_decoded, full_stats.frames_decoded / 2)
      << "only the GOPs around the cuts (and the last GOP) are decoded";
}

/* ClipAnalyseStats::refined_frames tells the frames the keyframe path's runs
 * analysed from those decoded with nothing to decide (in the decoder when a
 * run was done). Five 60-frame shots in 25-frame GOPs: cuts at 60, 120, 180
 * and 240, inside the GOPs of keyframes 50, 100, 175 and 225, so the runs
 * analyse 10, 20, 5 and 15 frames before their cuts, the cut frame and the
 * 4 frames after it (the detector's 3-frame look-ahead decides the cut; the
 * features' grid, one frame in 4 from frame 0, measures the new shot's
 * motion on frame cut + 4), and the 25 frames of the tail GOP:
 * 50 + 4 x 5 + 25 = 95 frames. */
TEST(ClipAnalysis, KeyframePathCountsTheFramesItsRunsAnalyse)
{
  TempDir tmp;
  ASSERT_NE(tmp.dir, nullptr);
  const std::string path = tmp.add("gop25-counted.mp4");
  ASSERT_TRUE(encode_clip(
      shot_sources({"smpte", "checkers-8", "circular", "pinwheel", "spokes"}, 60), path));

  montage::ClipAnalysis full, keys;
  montage::ClipAnalyseStats full_stats, key_stats;
  ClipAnalyseOptions o;
  o.refine_decoders = 1;
  ASSERT_TRUE(analyse(path, o, kFull, full, full_stats));
  ASSERT_TRUE(analyse(path, o, kKeyframes, keys, key_stats));
  ASSERT_TRUE(key_stats.keyframe_path);
  EXPECT_EQ(keys.cuts, full.cuts);
  EXPECT_EQ(full_stats.refined_frames, 0u) << "full decoding has no runs";
  EXPECT_EQ(key_stats.refined_frames, 95u);
  ASSERT_LE(key_stats.keyframes + key_stats.refined_frames, key_stats.frames_decoded);
  /* A run is done once its cut is decided; what its decoder had been fed by
   * then is decoded too, at most the delta units fed before the run's end
   * and the B-frame reordering after it (look + 4 frames). */
  EXPECT_LE(key_stats.frames_decoded - key_stats.keyframes - key_stats.refined_frames,
            12u * key_stats.refined_ranges);
}

/* The last GOP of an x264 clip with B-frames (half its delta units
 * non-reference pictures): decoded from its reference pictures alone where
 * none of them differs from its keyframe (ClipAnalyseStats::
 * tail_references_only), decoded again frame by frame where one does
 * (tail_decoded_again); the shots, the clip's length and its frame rate as
 * full decoding's either way. Three clips of 150 frames in 25-frame GOPs
 * (last keyframe 125), each with the same picture on keyframes 100 and 125
 * (so the last GOP is a run of its own): no change after frame 60; a cut
 * on frame 130; a 20-frame dissolve from frame 128 (2 to 4 frames between
 * reference pictures, each step small: the gate against the keyframe sees
 * it). With the share set over 1 the last GOP is decoded as before: more
 * frames, the same shots. */
TEST(ClipAnalysis, LastGopIsDecodedFromItsReferencePicturesWhereItHoldsNoBoundary)
{
  TempDir tmp;
  ASSERT_NE(tmp.dir, nullptr);
  const std::string x264 =
      "videoconvert ! x264enc key-int-max=25 option-string=scenecut=0 speed-preset=ultrafast "
      "bframes=3 ! mp4mux";
  cv::Mat bars(240, 320, CV_8UC3), circle(240, 320, CV_8UC3), grid(240, 320, CV_8UC3);
  const cv::Scalar colours[] = {{255, 255, 255}, {0, 255, 255}, {255, 255, 0}, {0, 255, 0},
                                {255, 0, 255},   {0, 0, 255},   {255, 0, 0},   {40, 40, 40}};
  for (int k = 0; k < 8; k++)
    cv::rectangle(bars, cv::Rect(k * 40, 0, 40, 240), colours[k], cv::FILLED);
  for (int x = 0; x < 320; x++)
    circle.col(x).setTo(cv::Scalar(60 + x / 2, 200 - x / 2, 120));
  cv::circle(circle, cv::Point(160, 120), 70, cv::Scalar(20, 220, 240), cv::FILLED);
  grid.setTo(cv::Scalar(30, 90, 200));
  for (int k = 0; k < 320; k += 32)
    cv::line(grid, cv::Point(k, 0), cv::Point(k, 239), cv::Scalar(250, 250, 250), 3);
  /* Each frame carries a moving square, so that x264 codes the B-frames. */
  auto moving = [](const cv::Mat &picture, int k) {
    cv::Mat f = picture.clone();
    cv::rectangle(f, cv::Rect(10 + k % 60, 200, 16, 16), cv::Scalar(0, 0, 0), cv::FILLED);
    return f;
  };
  struct Case {
    const char *name;
    int change;   /* the first frame of the last picture (150: none after frame 60) */
    int dissolve; /* frames of a dissolve into it (0: a cut) */
    bool again;   /* the last GOP is decoded again */
  };
  for (const Case &c :
       {Case{"still", 150, 0, false}, Case{"cut", 130, 0, true}, Case{"dissolve", 148, 20, true}}) {
    SCOPED_TRACE(c.name);
    std::vector<cv::Mat> frames;
    for (int k = 0; k < 150; k++) {
      const cv::Mat &before = k < 60 ? bars : circle;
      if (k < c.change - c.dissolve) {
        frames.push_back(moving(before, k));
      } else if (k < c.change) {
        cv::Mat f;
        const double w = (double)(k - (c.change - c.dissolve) + 1) / (c.dissolve + 1);
        cv::addWeighted(before, 1.0 - w, grid, w, 0.0, f);
        frames.push_back(moving(f, k));
      } else {
        frames.push_back(moving(grid, k));
      }
    }
    const std::string path = tmp.add((std::string(c.name) + "-bframes.mp4").c_str());
    ASSERT_TRUE(encode_frames(frames, path, {}, x264));

    montage::ClipAnalysis full, keys, before;
    montage::ClipAnalyseStats full_stats, key_stats, before_stats;
    ClipAnalyseOptions o;
    o.refine_decoders = 1;
    ASSERT_TRUE(analyse(path, o, kFull, full, full_stats));
    ASSERT_TRUE(analyse(path, o, kKeyframes, keys, key_stats));
    o.tail_references_only = 2.0;
    ASSERT_TRUE(analyse(path, o, kKeyframes, before, before_stats));
    /* The premise: full decoding's boundaries, one in the last GOP but in the first clip. */
    ASSERT_EQ(full.shots.size(), c.change < 150 ? 3u : 2u);
    EXPECT_EQ(frames_of(full)[0], 60);
    if (c.dissolve == 0 && c.change < 150) {
      EXPECT_EQ(frames_of(full)[1], c.change);
    }
    ASSERT_TRUE(key_stats.keyframe_path);
    EXPECT_TRUE(key_stats.tail_references_only);
    EXPECT_EQ(key_stats.tail_decoded_again, c.again);
    EXPECT_FALSE(before_stats.tail_references_only);
    EXPECT_EQ(keys.cuts, full.cuts) << "keyframe path differs from full decoding";
    ASSERT_EQ(keys.shots.size(), full.shots.size());
    for (size_t k = 0; k < keys.shots.size(); k++) {
      EXPECT_EQ(keys.shots[k].transition, full.shots[k].transition) << "shot " << k;
      EXPECT_EQ(keys.shots[k].transition_start, full.shots[k].transition_start) << "shot " << k;
      EXPECT_EQ(keys.shots[k].transition_end, full.shots[k].transition_end) << "shot " << k;
      EXPECT_EQ(keys.shots[k].end, full.shots[k].end) << "shot " << k;
    }
    EXPECT_EQ(keys.duration, full.duration);
    EXPECT_EQ(keys.fps_n, full.fps_n);
    EXPECT_EQ(keys.fps_d, full.fps_d);
    EXPECT_EQ(before.cuts, keys.cuts);
    if (c.again)
      EXPECT_GT(key_stats.frames_decoded, before_stats.frames_decoded);
    else
      EXPECT_LE(key_stats.frames_decoded + 10, before_stats.frames_decoded)
          << "about half the last GOP's 25 frames are left out";
  }
}

/* A picture inserted for 6 frames in the last GOP, every one of them a
 * non-reference B-frame (x264 with 8 B-frames in a fixed pattern: after the
 * last keyframe, frames 1-8 of the GOP are B-frames, 9 a P-frame): no
 * reference picture shows it, and full decoding, which sees it, cuts there
 * (6 frames are more than flash_frames, no flash). More than flash_frames
 * frames in a row left out, counted in frames, send the last GOP to be
 * decoded again, so the keyframe path cuts there too. Each clip has a cut
 * at frame 30 too (a run besides the last GOP's, which the path needs).
 * Twice: at 25 fps; and with its last GOP at 60 fps under caps that state
 * 25 fps (a rate the caps state under the frames' real one: an average, or
 * a default): measured in time at the caps' rate, the 8 frames left out
 * (150 ms between the pictures decoded) looked like fewer than 4, and the
 * cut was lost (review h141, with an MP4 whose first GOP ran at 4 fps). */
TEST(ClipAnalysis, LastGopWithLongRunsOfNonReferencePicturesIsDecodedAgain)
{
  TempDir tmp;
  ASSERT_NE(tmp.dir, nullptr);
  cv::Mat bars(240, 320, CV_8UC3), grid(240, 320, CV_8UC3), circle(240, 320, CV_8UC3);
  const cv::Scalar colours[] = {{255, 255, 255}, {0, 255, 255}, {255, 255, 0}, {0, 255, 0},
                                {255, 0, 255},   {0, 0, 255},   {255, 0, 0},   {40, 40, 40}};
  for (int k = 0; k < 8; k++)
    cv::rectangle(bars, cv::Rect(k * 40, 0, 40, 240), colours[k], cv::FILLED);
  grid.setTo(cv::Scalar(30, 90, 200));
  for (int k = 0; k < 320; k += 32)
    cv::line(grid, cv::Point(k, 0), cv::Point(k, 239), cv::Scalar(250, 250, 250), 3);
  for (int x = 0; x < 320; x++)
    circle.col(x).setTo(cv::Scalar(60 + x / 2, 200 - x / 2, 120));
  cv::circle(circle, cv::Point(160, 120), 70, cv::Scalar(20, 220, 240), cv::FILLED);
  struct Case {
    const char *name;
    int frames, insert; /* clip length; the insert's first frame (6 frames) */
    bool fast_end;      /* frames from 75 on at 60 fps */
  };
  for (const Case &c : {Case{"constant", 150, 127, false}, Case{"fast-end", 92, 77, true}}) {
    SCOPED_TRACE(c.name);
    std::vector<cv::Mat> frames;
    std::vector<GstClockTime> stamps;
    for (int k = 0; k < c.frames; k++) {
      const cv::Mat &picture = k < 30 ? circle : k >= c.insert && k < c.insert + 6 ? grid : bars;
      cv::Mat f = picture.clone();
      cv::rectangle(f, cv::Rect(10 + k % 60, 200, 16, 16), cv::Scalar(0, 0, 0), cv::FILLED);
      frames.push_back(f);
      if (c.fast_end)
        stamps.push_back(k < 75 ? gst_util_uint64_scale(k, GST_SECOND, 25)
                                : 3 * GST_SECOND + gst_util_uint64_scale(k - 75, GST_SECOND, 60));
    }
    const std::string path = tmp.add((std::string(c.name) + "-inserted-bframes.mp4").c_str());
    ASSERT_TRUE(encode_frames(frames, path, stamps,
                              "videoconvert ! x264enc key-int-max=25 "
                              "option-string=scenecut=0:b-adapt=0 speed-preset=ultrafast "
                              "bframes=8 b-pyramid=false ! mp4mux"));
    montage::ClipAnalysis full, keys;
    montage::ClipAnalyseStats full_stats, key_stats;
    ASSERT_TRUE(analyse(path, {}, kFull, full, full_stats));
    ASSERT_TRUE(analyse(path, {}, kKeyframes, keys, key_stats));
    /* The premise: full decoding cuts on the insert. */
    ASSERT_GE(full.cuts.size(), 2u);
    EXPECT_NEAR(
        (double)full.cuts[1],
        (double)(c.fast_end ? stamps[c.insert] : gst_util_uint64_scale(c.insert, GST_SECOND, 25)),
        (double)GST_MSECOND)
    /* the MP4's time scale */;
    ASSERT_TRUE(key_stats.keyframe_path);
    EXPECT_TRUE(key_stats.tail_references_only);
    EXPECT_TRUE(key_stats.tail_decoded_again);
    EXPECT_EQ(keys.cuts, full.cuts) << "keyframe path differs from full decoding";
    EXPECT_EQ(keys.duration, full.duration);
  }
}

/* The last GOP decoded from its reference pictures keeps its frames'
 * spacing for the frame rate: a clip whose frames alternate 40 and 30 ms
 * (caps: an average rate) is variable, fps 0/1, on the keyframe path as in
 * full decoding; the spacings of the frames left out count, read from their
 * timestamps. Before, the last GOP's frames gave no spacing, and a clip
 * with few others read the caps' rate (review h141). */
TEST(ClipAnalysis, LastGopFromItsReferencePicturesKeepsAVariableRate)
{
  TempDir tmp;
  ASSERT_NE(tmp.dir, nullptr);
  std::vector<cv::Mat> frames;
  std::vector<GstClockTime> stamps;
  for (int k = 0; k < 150; k++) {
    cv::Mat f(240, 320, CV_8UC3, k < 40 ? cv::Scalar(200, 60, 30) : cv::Scalar(40, 180, 90));
    cv::rectangle(f, cv::Rect(10 + k % 60, 100, 30, 30), cv::Scalar(250, 250, 250), cv::FILLED);
    frames.push_back(f);
    stamps.push_back((GstClockTime)((k / 2) * 70 + (k % 2) * 40) * GST_MSECOND);
  }
  const std::string path = tmp.add("alternating.mp4");
  ASSERT_TRUE(encode_frames(frames, path, stamps,
                            "videoconvert ! x264enc key-int-max=25 option-string=scenecut=0 "
                            "speed-preset=ultrafast bframes=3 ! mp4mux"));
  montage::ClipAnalysis full, keys;
  montage::ClipAnalyseStats full_stats, key_stats;
  ASSERT_TRUE(analyse(path, {}, kFull, full, full_stats));
  ASSERT_TRUE(analyse(path, {}, kKeyframes, keys, key_stats));
  EXPECT_EQ(full.fps_n, 0) << "the premise: full decoding finds the rate variable";
  ASSERT_TRUE(key_stats.keyframe_path);
  EXPECT_TRUE(key_stats.tail_references_only);
  EXPECT_FALSE(key_stats.tail_decoded_again);
  EXPECT_EQ(keys.fps_n, full.fps_n);
  EXPECT_EQ(keys.fps_d, full.fps_d);
  EXPECT_EQ(keys.cuts, full.cuts);
}

/* A clip whose only run is its last GOP (one shot whose keyframes agree)
 * decodes that GOP whole, as before: from its reference pictures alone,
 * its one shot would have its features from its keyframes alone, motion 0
 * (review h141). */
TEST(ClipAnalysis, SingleShotClipDecodesItsLastGopWhole)
{
  TempDir tmp;
  ASSERT_NE(tmp.dir, nullptr);
  std::vector<cv::Mat> frames;
  for (int k = 0; k < 75; k++) {
    cv::Mat f(240, 320, CV_8UC3, cv::Scalar(120, 90, 60));
    cv::rectangle(f, cv::Rect(20 + k, 100, 40, 40), cv::Scalar(250, 250, 250), cv::FILLED);
    frames.push_back(f);
  }
  const std::string path = tmp.add("calm.mp4");
  ASSERT_TRUE(encode_frames(frames, path, {},
                            "videoconvert ! x264enc key-int-max=25 option-string=scenecut=0 "
                            "speed-preset=ultrafast bframes=3 ! mp4mux"));
  montage::ClipAnalysis full, keys;
  montage::ClipAnalyseStats full_stats, key_stats;
  ASSERT_TRUE(analyse(path, {}, kFull, full, full_stats));
  ASSERT_TRUE(analyse(path, {}, kKeyframes, keys, key_stats));
  ASSERT_TRUE(key_stats.keyframe_path);
  ASSERT_EQ(keys.shots.size(), 1u);
  EXPECT_FALSE(key_stats.tail_references_only);
  EXPECT_GT(full.shots[0].features.motion_mean, 0.0) << "the premise: the box moves";
  EXPECT_GT(keys.shots[0].features.motion_mean, 0.0);
}

/* h264_refs::non_reference() on hand-made access units: NAL unit headers
 * (forbidden bit, nal_ref_idc, nal_unit_type: ITU-T H.264 7.3.1) after a
 * 4-, 2- or 1-byte size (avc) or a start code (byte-stream). */
TEST(H264Refs, NonReferenceAccessUnitsAreReadFromNalHeaders)
{
  using montage::h264_refs::Format;
  using montage::h264_refs::non_reference;
  auto avc = [](guint size) {
    Format f;
    f.valid = true;
    f.length_size = size;
    return f;
  };
  Format annex_b;
  annex_b.valid = true;
  auto judge = [](std::vector<guint8> bytes, const Format &f) {
    return non_reference(bytes.data(), bytes.size(), f);
  };
  /* An access unit delimiter (0x09) then a non-reference slice (0x01). */
  EXPECT_TRUE(judge({0, 0, 0, 2, 0x09, 0xf0, 0, 0, 0, 3, 0x01, 0xaa, 0xbb}, avc(4)));
  EXPECT_TRUE(judge({0, 2, 0x09, 0xf0, 0, 3, 0x01, 0xaa, 0xbb}, avc(2)));
  EXPECT_TRUE(judge({2, 0x09, 0xf0, 3, 0x01, 0xaa, 0xbb}, avc(1)));
  /* A reference slice (nal_ref_idc 2: 0x41), an IDR slice (0x65). */
  EXPECT_FALSE(judge({0, 0, 0, 3, 0x41, 0xaa, 0xbb}, avc(4)));
  EXPECT_FALSE(judge({0, 0, 0, 3, 0x65, 0xaa, 0xbb}, avc(4)));
  /* Two fields, the second a reference. */
  EXPECT_FALSE(judge({0, 0, 0, 2, 0x01, 0xaa, 0, 0, 0, 2, 0x21, 0xaa}, avc(4)));
  /* No slice (SEI only), an MVC slice extension (20), the forbidden bit. */
  EXPECT_FALSE(judge({0, 0, 0, 2, 0x06, 0x05}, avc(4)));
  EXPECT_FALSE(judge({0, 0, 0, 2, 0x01, 0xaa, 0, 0, 0, 2, 0x14, 0xaa}, avc(4)));
  EXPECT_FALSE(judge({0, 0, 0, 2, 0x81, 0xaa}, avc(4)));
  /* A size past the end, a size of 0, a size field cut off. */
  EXPECT_FALSE(judge({0, 0, 0, 9, 0x01, 0xaa}, avc(4)));
  EXPECT_FALSE(judge({0, 0, 0, 0, 0, 0, 0, 2, 0x01, 0xaa}, avc(4)));
  EXPECT_FALSE(judge({0, 0, 0, 2, 0x01, 0xaa, 0, 0}, avc(4)));
  /* Byte-stream: 4- and 3-byte start codes. */
  EXPECT_TRUE(judge({0, 0, 0, 1, 0x09, 0xf0, 0, 0, 1, 0x01, 0xaa, 0xbb}, annex_b));
  EXPECT_FALSE(judge({0, 0, 0, 1, 0x09, 0xf0, 0, 0, 1, 0x21, 0xaa, 0xbb}, annex_b));
  EXPECT_FALSE(judge({0x01, 0xaa, 0xbb}, annex_b)) << "no start code";
  EXPECT_FALSE(judge({0, 0, 0, 2, 0x01, 0xaa}, Format())) << "no format";
  EXPECT_FALSE(non_reference(nullptr, 0, avc(4)));

  using montage::h264_refs::format_from_caps;
  auto format = [](const char *caps, const std::vector<guint8> &record = {}) {
    GstCaps *c = gst_caps_from_string(caps);
    if (!record.empty()) {
      GstBuffer *b = gst_buffer_new_memdup(record.data(), record.size());
      gst_caps_set_simple(c, "codec_data", GST_TYPE_BUFFER, b, NULL);
      gst_buffer_unref(b);
    }
    const Format f = format_from_caps(c);
    gst_caps_unref(c);
    return f;
  };
  const std::vector<guint8> record4 = {1, 0x64, 0, 0x28, 0xff, 0xe1},
                            record2 = {1, 0x64, 0, 0x28, 0xfd, 0xe1};
  Format f = format("video/x-h264, stream-format=avc, alignment=au", record4);
  EXPECT_TRUE(f.valid);
  EXPECT_EQ(f.length_size, 4u);
  f = format("video/x-h264, stream-format=avc3, alignment=au", record2);
  EXPECT_TRUE(f.valid);
  EXPECT_EQ(f.length_size, 2u);
  f = format("video/x-h264, stream-format=byte-stream, alignment=au");
  EXPECT_TRUE(f.valid);
  EXPECT_EQ(f.length_size, 0u);
  EXPECT_FALSE(format("video/x-h264, stream-format=avc, alignment=au").valid) << "no codec_data";
  EXPECT_FALSE(format("video/x-h264, stream-format=avc, alignment=au", {1, 0x64}).valid);
  EXPECT_FALSE(
      format("video/x-h264, stream-format=avc, alignment=au", {1, 0x64, 0, 0x28, 0xfe}).valid)
      << "a 3-byte size field";
  EXPECT_FALSE(format("video/x-h264, stream-format=byte-stream, alignment=nal").valid);
  EXPECT_FALSE(format("video/x-h265, stream-format=byte-stream, alignment=au").valid);
  EXPECT_FALSE(format_from_caps(nullptr).valid);
}

/* Cuts through a white flash (A W C, A W W C) in the middle of a clip: the
 * shot is cut on the first white frame and its picture starts at C, its
 * transition_end, on the keyframe path as in full decoding. The keyframe
 * path's refinement keeps every boundary (min_shot_length 0), and with it
 * clean_start() gave up at once: the shot's transition_end was the white
 * frame, where the planner could open a segment (a code review's finding). */
/* A decoder that stamps a frame with the time of the one before it (as
 * avdec_mpeg4 does on an AVI with packed B-frames, Megamind.avi) gets that
 * frame placed one frame after it, as render shows it. Here the first frame
 * of the second shot, 13, is stamped with frame 12's time, and so is frame
 * 27 in the middle of it. Before, both were skipped: the cut was found on
 * frame 14. */
TEST(ClipAnalysis, FrameStampedAsTheOneBeforeIsAnalysedAfterIt)
{
  TempDir tmp;
  ASSERT_NE(tmp.dir, nullptr);
  const std::string path = tmp.add("shared-stamps.mkv");
  cv::Mat a(240, 320, CV_8UC3), b(240, 320, CV_8UC3);
  cv::randu(a, cv::Scalar(0, 0, 0), cv::Scalar(90, 255, 120));
  cv::randu(b, cv::Scalar(150, 0, 120), cv::Scalar(255, 120, 255));
  std::vector<cv::Mat> frames;
  std::vector<GstClockTime> stamps;
  const GstClockTime frame = GST_SECOND / 25;
  for (int k = 0; k < 40; k++) {
    frames.push_back(k < 13 ? a : b);
    stamps.push_back((k == 13 || k == 27 ? k - 1 : k) * frame);
  }
  /* Raw frames in Matroska: nothing re-stamps them on the way. */
  ASSERT_TRUE(
      encode_frames(frames, path, stamps, "videoconvert ! video/x-raw,format=I420 ! matroskamux"));
  montage::ClipAnalysis clip;
  montage::ClipAnalyseStats stats;
  ASSERT_TRUE(analyse(path, {}, kFull, clip, stats));
  ASSERT_EQ(clip.cuts.size(), 1u);
  EXPECT_EQ(clip.cuts[0], 13 * frame);
  ASSERT_EQ(clip.shots.size(), 2u);
  EXPECT_EQ(clip.shots[1].start, 13 * frame);
  EXPECT_EQ(clip.shots[1].end, 40 * frame);

  /* 41 frames, picture `twice` given twice, the second shot from picture
   * `cut`: the cut must be found there, and the clip end after picture 39. */
  auto repeat_finds_cut = [&](const char *name, int twice, int cut) {
    const std::string file = tmp.add(name);
    frames.clear();
    stamps.clear();
    for (int k = 0; k < 41; k++) {
      const int picture = k <= twice ? k : k - 1;
      frames.push_back(picture < cut ? a : b);
      stamps.push_back(picture * frame);
    }
    ASSERT_TRUE(encode_frames(frames, file, stamps,
                              "videoconvert ! video/x-raw,format=I420 ! matroskamux"));
    montage::ClipAnalysis again;
    ASSERT_TRUE(analyse(file, {}, kFull, again, stats));
    ASSERT_EQ(again.cuts.size(), 1u) << name;
    EXPECT_EQ(again.cuts[0], cut * frame) << name;
    EXPECT_EQ(again.shots.back().end, 40 * frame) << name;
  };
  /* A frame given twice with its stamp (pictures 0-20, 20 again, 21-39,
   * each at its picture's time; the cut at picture 30): the repeat is
   * dropped, as the frame after it is stamped where it would go, and the
   * frames after it keep their stamps. Placed one after the other, every
   * later frame was a frame late, the cut at 1.24 s. */
  repeat_finds_cut("repeated-frame.mkv", 20, 30);
  /* The same just before a cut (pictures 0-12, 12 again, then the second
   * shot from picture 13 at 0.52 s), as avdec_mpeg4 now and then gives
   * Megamind.avi's first frame twice after a seek: the frame after the
   * repeat is the second shot's first. Before, the repeat took its place
   * and it was skipped: the cut was found at 0.56 s. */
  repeat_finds_cut("repeat-before-cut.mkv", 12, 13);
}

TEST(ClipAnalysis, KeyframePathShotsCutOnAFlashStartCleanAsInFullDecoding)
{
  TempDir tmp;
  ASSERT_NE(tmp.dir, nullptr);
  const std::string path = tmp.add("flash-cuts.mp4");
  /* smpte 0-59, white 60, checkers 61-120, white 121-122, circular 123-182, spokes 183-242 */
  const std::string sources = shot_sources({"smpte"}, 60) + shot_sources({"white"}, 1) +
                              shot_sources({"checkers-8"}, 60) + shot_sources({"white"}, 2) +
                              shot_sources({"circular", "spokes"}, 60);
  ASSERT_TRUE(encode_clip(sources, path));
  montage::ClipAnalysis full, keys;
  montage::ClipAnalyseStats full_stats, key_stats;
  ASSERT_TRUE(analyse(path, {}, kFull, full, full_stats));
  ASSERT_TRUE(analyse(path, {}, kKeyframes, keys, key_stats));
  EXPECT_TRUE(key_stats.keyframe_path);
  EXPECT_EQ(frames_of(full), (std::vector<long>{60, 121, 183}));
  EXPECT_EQ(keys.cuts, full.cuts);
  ASSERT_EQ(full.shots.size(), 4u);
  ASSERT_EQ(keys.shots.size(), 4u);
  const GstClockTime frame = GST_SECOND / 25;
  const GstClockTime clean[] = {0, 61 * frame, 123 * frame, 183 * frame};
  for (size_t k = 0; k < 4; k++) {
    SCOPED_TRACE("shot " + std::to_string(k));
    EXPECT_EQ(full.shots[k].transition_end, clean[k]);
    EXPECT_EQ(keys.shots[k].transition_end, clean[k]);
    EXPECT_GE(keys.shots[k].features.best_inpoint, clean[k]);
  }
}

/* A camera flash inside a shot is not the shot's picture on the keyframe
 * path either: a shot whose GOPs the refinement decodes gets full decoding's
 * features. Before, the refinement's samples of the flash (white, frame 32,
 * a measured frame) counted in the shot's brightness, sharpness and motion,
 * which full decoding leaves out (ShotDetector::accumulate()). */
TEST(ClipAnalysis, KeyframePathLeavesAFlashOutOfTheShotsFeatures)
{
  TempDir tmp;
  ASSERT_NE(tmp.dir, nullptr);
  const std::string path = tmp.add("flash-in-shot.mp4");
  /* smpte 0-19, checkers 20-31, white 32, checkers 33-39, circular 40-59,
   * spokes 60-79: every keyframe pair (0, 25, 50, 75) differs, so every
   * frame is refined. */
  const std::string sources = shot_sources({"smpte"}, 20) + shot_sources({"checkers-8"}, 12) +
                              shot_sources({"white"}, 1) + shot_sources({"checkers-8"}, 7) +
                              shot_sources({"circular", "spokes"}, 20);
  ASSERT_TRUE(encode_clip(sources, path));
  montage::ClipAnalysis full, keys;
  montage::ClipAnalyseStats full_stats, key_stats;
  ASSERT_TRUE(analyse(path, {}, kFull, full, full_stats));
  ASSERT_TRUE(analyse(path, {}, kKeyframes, keys, key_stats));
  ASSERT_TRUE(key_stats.keyframe_path);
  EXPECT_EQ(frames_of(full), (std::vector<long>{20, 40, 60}));
  EXPECT_EQ(keys.cuts, full.cuts);
  ASSERT_EQ(keys.shots.size(), full.shots.size());
  for (size_t k = 0; k < full.shots.size(); k++) {
    SCOPED_TRACE("shot " + std::to_string(k));
    const montage::ShotFeatures &f = full.shots[k].features, &g = keys.shots[k].features;
    EXPECT_NEAR(g.motion_mean, f.motion_mean, 1e-9);
    EXPECT_NEAR(g.motion_peak, f.motion_peak, 1e-9);
    EXPECT_NEAR(g.sharpness, f.sharpness, 1e-6);
    EXPECT_NEAR(g.brightness, f.brightness, 1e-9);
    EXPECT_NEAR(g.contrast, f.contrast, 1e-9);
    EXPECT_EQ(g.best_inpoint, f.best_inpoint);
  }
}

/* x264 puts an I-frame at a scene change, but one closer than min-keyint
 * to the last keyframe is no IDR frame: MP4 does not list it as a sync
 * sample, while h264parse flags it as a keyframe. Fed keyframes alone, with
 * B-frames about, the decoder puts out such a frame before the IDR frame
 * fed just before it, so the times differ; the keyframe pass is then made
 * again with the sync samples alone (before, the clip went to full
 * decoding), and the cuts are full decoding's. */
TEST(ClipAnalysis, KeyframePathLeavesOutIFramesThatStartNoGop)
{
  TempDir tmp;
  ASSERT_NE(tmp.dir, nullptr);
  const std::string path = tmp.add("non-idr.mp4");
  const std::string sources =
      shot_sources({"smpte", "checkers-8", "circular", "pinwheel", "spokes"}, 30);
  ASSERT_TRUE(encode_clip(
      sources, path, "mp4mux",
      "key-int-max=250 option-string=\"scenecut=40:min-keyint=31:bframes=2:b-adapt=0\""));
  const int synced = count_keyframes(path, "qtdemux");
  const int parsed = count_keyframes(path, "qtdemux ! h264parse");
  ASSERT_GT(synced, 0);
  ASSERT_GT(parsed, synced) << "the clip should hold I-frames that are no sync samples";

  montage::ClipAnalysis full, keys;
  montage::ClipAnalyseStats full_stats, key_stats;
  ASSERT_TRUE(analyse(path, {}, kFull, full, full_stats));
  ASSERT_TRUE(analyse(path, {}, kKeyframes, keys, key_stats));
  EXPECT_EQ(frames_of(full), (std::vector<long>{30, 60, 90, 120}));
  EXPECT_EQ(keys.cuts, full.cuts) << "keyframe path differs from full decoding";
  EXPECT_EQ(keys.duration, full.duration);
  EXPECT_EQ(key_stats.path, montage::ClipAnalysePath::kKeyframes);
  EXPECT_EQ(key_stats.keyframes, (guint)synced) << "the second keyframe pass feeds sync samples";
}

/* The keyframe path's runs decoded by 1, 2 or 3 pipelines in parallel
 * (ClipAnalyseOptions::refine_decoders): five 60-frame shots in 25-frame
 * GOPs give four runs of changed GOPs and the tail GOP, split among the
 * pipelines; the shots, their features and the frames each run decodes
 * must not depend on the split. */
TEST(ClipAnalysis, ParallelRefinementGivesTheSameShots)
{
  TempDir tmp;
  ASSERT_NE(tmp.dir, nullptr);
  const std::string path = tmp.add("gop25-parallel.mp4");
  const std::string sources =
      shot_sources({"smpte", "checkers-8", "circular", "pinwheel", "spokes"}, 60);
  ASSERT_TRUE(encode_clip(sources, path));

  montage::ClipAnalysis one;
  montage::ClipAnalyseStats one_stats;
  ClipAnalyseOptions o;
  o.refine_decoders = 1;
  ASSERT_TRUE(analyse(path, o, kKeyframes, one, one_stats));
  ASSERT_TRUE(one_stats.keyframe_path);
  EXPECT_EQ(frames_of(one), (std::vector<long>{60, 120, 180, 240}));
  EXPECT_EQ(one_stats.refined_ranges, 5u) << "four runs around the cuts and the tail GOP";
  EXPECT_EQ(one_stats.pipelines, 1u) << "the keyframe pass's pipeline refines the runs too";
  EXPECT_EQ(one_stats.seeks, 1u) << "one seek to the first run, then forward";
  for (guint n : {2u, 3u}) {
    SCOPED_TRACE(std::to_string(n) + " pipelines");
    montage::ClipAnalysis many;
    montage::ClipAnalyseStats many_stats;
    o.refine_decoders = n;
    ASSERT_TRUE(analyse(path, o, kKeyframes, many, many_stats));
    EXPECT_TRUE(many_stats.keyframe_path);
    EXPECT_EQ(many_stats.refined_ranges, one_stats.refined_ranges);
    EXPECT_EQ(many_stats.pipelines, n) << "one more pipeline per extra refinement decoder";
    /* The first pipeline seeks to each unit it takes from the end (four
     * units: the tail run goes with the run before it); the others read
     * forward without a seek. */
    EXPECT_GE(many_stats.seeks, 1u);
    EXPECT_LE(many_stats.seeks, 4u);
    montage_test::expect_same_clip(many, one);
  }
}

/* The keyframe path's runs finishing in another order, and shared out
 * otherwise, change nothing: the clip of ParallelRefinementGivesTheSameShots
 * (four runs and the tail GOP, units {0}, {1}, {2}, {3, 4}) with two
 * pipelines, one of them held for 0.4 s as it starts its first run
 * (ClipAnalyseOptions::run_started). Held, the forward pipeline finishes its
 * run 0 last, after the other has taken every other unit from the end; the
 * keyframe pass's pipeline held on the tail unit leaves runs 0-2 to the
 * forward one, which finishes first. The shots, their features and every
 * count but the seeks must be those of one pipeline reading forward, and
 * each run must be decoded once. Results merged in the order runs finish
 * (not by time), or a run shared by both pipelines, would show here. */
TEST(ClipAnalysis, RefinementGivesTheSameShotsWhicheverRunFinishesFirst)
{
  TempDir tmp;
  ASSERT_NE(tmp.dir, nullptr);
  const std::string path = tmp.add("gop25-order.mp4");
  const std::string sources =
      shot_sources({"smpte", "checkers-8", "circular", "pinwheel", "spokes"}, 60);
  ASSERT_TRUE(encode_clip(sources, path));

  montage::ClipAnalysis one;
  montage::ClipAnalyseStats one_stats;
  ClipAnalyseOptions o;
  o.refine_decoders = 1;
  ASSERT_TRUE(analyse(path, o, kKeyframes, one, one_stats));
  ASSERT_TRUE(one_stats.keyframe_path);
  ASSERT_EQ(one_stats.refined_ranges, 5u);
  for (guint held : {0u, 1u}) {
    SCOPED_TRACE(held == 0 ? "forward pipeline held" : "keyframe pass's pipeline held");
    std::mutex lock;
    std::vector<std::pair<guint, guint>> started; /* (run, pipeline), in order */
    o.refine_decoders = 2;
    o.run_started = [&](guint run, guint pipeline) {
      bool first;
      {
        std::lock_guard<std::mutex> guard(lock);
        first = std::none_of(started.begin(), started.end(),
                             [pipeline](const auto &s) { return s.second == pipeline; });
        started.emplace_back(run, pipeline);
      }
      if (pipeline == held && first)
        g_usleep(400 * 1000);
    };
    montage::ClipAnalysis many;
    montage::ClipAnalyseStats many_stats;
    ASSERT_TRUE(analyse(path, o, kKeyframes, many, many_stats));
    EXPECT_TRUE(many_stats.keyframe_path);
    EXPECT_EQ(many_stats.refined_ranges, one_stats.refined_ranges);
    EXPECT_EQ(many_stats.refined_frames, one_stats.refined_frames);
    EXPECT_EQ(many_stats.keyframes, one_stats.keyframes);
    std::vector<guint> runs;
    std::string order;
    for (const auto &[run, pipeline] : started) {
      runs.push_back(run);
      order += " " + std::to_string(run) + "@" + std::to_string(pipeline);
    }
    SCOPED_TRACE("runs started (run@pipeline):" + order);
    std::sort(runs.begin(), runs.end());
    EXPECT_EQ(runs, (std::vector<guint>{0, 1, 2, 3, 4})) << "each run decoded once";
    montage_test::expect_same_clip(many, one);
  }
}

/* A fade through black longer than a GOP: bars for 85 frames, a 12-frame
 * fade-out, 100 black frames (four GOPs whose keyframes are alike, so the
 * keyframe path does not decode them), a 12-frame fade-in, a circle on a
 * gradient for 76 frames. Full decoding reports one fade from the fade-out
 * on; the keyframe path's run around the fade-in used to report a fade from
 * the fade-in's start alone, as the fade-out's run ended waiting for it.
 * (The fade-out starts 10 frames into a GOP: a gradual transition starting
 * on a run's first frames may be seen starting a few frames later than full
 * decoding sees it, docs/montagescene.md.) */
TEST(ClipAnalysis, KeyframePathKeepsAFadeThroughBlackLongerThanAGop)
{
  TempDir tmp;
  ASSERT_NE(tmp.dir, nullptr);
  const std::string path = tmp.add("fade-through-black.mp4");
  cv::Mat bars(240, 320, CV_8UC3), circle(240, 320, CV_8UC3);
  const cv::Scalar colours[] = {{255, 255, 255}, {0, 255, 255}, {255, 255, 0}, {0, 255, 0},
                                {255, 0, 255},   {0, 0, 255},   {255, 0, 0},   {40, 40, 40}};
  for (int k = 0; k < 8; k++)
    cv::rectangle(bars, cv::Rect(k * 40, 0, 40, 240), colours[k], cv::FILLED);
  for (int x = 0; x < 320; x++)
    circle.col(x).setTo(cv::Scalar(60 + x / 2, 200 - x / 2, 120));
  cv::circle(circle, cv::Point(160, 120), 70, cv::Scalar(20, 220, 240), cv::FILLED);
  const cv::Mat black = cv::Mat::zeros(240, 320, CV_8UC3);
  std::vector<cv::Mat> frames;
  for (int k = 0; k < 85; k++)
    frames.push_back(bars);
  for (int k = 1; k <= 12; k++) {
    cv::Mat f;
    cv::addWeighted(bars, 1.0 - k / 13.0, black, k / 13.0, 0.0, f);
    frames.push_back(f);
  }
  for (int k = 0; k < 100; k++)
    frames.push_back(black);
  for (int k = 1; k <= 12; k++) {
    cv::Mat f;
    cv::addWeighted(black, 1.0 - k / 13.0, circle, k / 13.0, 0.0, f);
    frames.push_back(f);
  }
  for (int k = 0; k < 66; k++)
    frames.push_back(circle);
  ASSERT_TRUE(encode_frames(frames, path));

  montage::ClipAnalysis full, keys;
  montage::ClipAnalyseStats full_stats, key_stats;
  ASSERT_TRUE(analyse(path, {}, kFull, full, full_stats));
  ASSERT_TRUE(analyse(path, {}, kKeyframes, keys, key_stats));
  ASSERT_TRUE(key_stats.keyframe_path);
  EXPECT_LT(key_stats.frames_decoded, full_stats.frames_decoded - 75)
      << "the premise: black GOPs are left undecoded";
  /* The premise: full decoding's one fade, from the fade-out on. */
  ASSERT_EQ(full.shots.size(), 2u);
  EXPECT_EQ(full.shots[1].transition, montage::Transition::kFade);
  EXPECT_NEAR((double)frames_of(full)[0], 85.0, 4.0);
  ASSERT_EQ(keys.shots.size(), full.shots.size());
  EXPECT_EQ(keys.cuts, full.cuts) << "keyframe path differs from full decoding";
  EXPECT_EQ(keys.shots[1].transition, full.shots[1].transition);
  EXPECT_EQ(keys.shots[1].transition_start, full.shots[1].transition_start);
  EXPECT_EQ(keys.shots[1].transition_end, full.shots[1].transition_end);
}

/* Two pictures taking turns every 20 frames, x264 with IDR frames 40 frames
 * apart and scene-cut I-frames (min-keyint 30): each cut 20 frames after an
 * IDR frame is an I-frame that starts no GOP (no sync sample: mp4mux fed by
 * the encoder alone, and by gst-montage's render, which lists IDR frames
 * alone), each other cut an IDR frame, so every IDR frame shows the same
 * picture. The keyframe pass, made again with GOP starts alone, saw no
 * change between keyframes and found no cut (2 shots for 6); a GOP that
 * holds a keyframe left out is now decoded, and the cuts are full
 * decoding's. As a montage's clips take turns (the 59 s demo montage lost 9
 * cuts so). */
TEST(ClipAnalysis, IFrameLeftOutOfTheKeyframePassIsRefined)
{
  TempDir tmp;
  ASSERT_NE(tmp.dir, nullptr);
  const std::string path = tmp.add("turns.mp4");
  const std::string sources =
      shot_sources({"smpte", "checkers-8", "smpte", "checkers-8", "smpte", "checkers-8"}, 20);
  ASSERT_TRUE(encode_clip(
      sources, path, "mp4mux",
      "key-int-max=40 option-string=scenecut=40:min-keyint=30:bframes=3:b-pyramid=normal"));

  montage::ClipAnalysis full, autod;
  montage::ClipAnalyseStats full_stats, auto_stats;
  ASSERT_TRUE(analyse(path, {}, kFull, full, full_stats));
  ASSERT_TRUE(analyse(path, {}, ClipAnalyseOptions::Mode::kAuto, autod, auto_stats));
  EXPECT_EQ(frames_of(full), (std::vector<long>{20, 40, 60, 80, 100}));
  EXPECT_EQ(auto_stats.path, montage::ClipAnalysePath::kKeyframes)
      << montage::clip_analyse_path_text(auto_stats.path);
  EXPECT_EQ(auto_stats.keyframes, 3u) << "the IDR frames alone";
  EXPECT_EQ(autod.cuts, full.cuts) << "keyframe path differs from full decoding";
}

/* A run of GOPs merged over three keyframes (A at 0, B at 50, C at 100: each
 * pair differs) holds three cuts: A to C at frame 20, C to B at 40, B to C
 * at 70. Once the first was decided, the picture (C) looked like the run's
 * last keyframe's, and the run was given up there: the cuts at 40 and 70
 * went unseen (1 cut for 3). A run now ends so only in its last GOP. */
TEST(ClipAnalysis, RunOverSeveralGopsEndsOnlyInItsLastGop)
{
  TempDir tmp;
  ASSERT_NE(tmp.dir, nullptr);
  const std::string path = tmp.add("merged.mp4");
  std::string sources;
  for (const auto &[pattern, frames] : std::vector<std::pair<const char *, int>>{
           {"smpte", 20}, {"checkers-8", 20}, {"circular", 30}, {"checkers-8", 180}})
    sources += " videotestsrc num-buffers=" + std::to_string(frames) + " pattern=" + pattern +
               " ! video/x-raw,width=320,height=240,framerate=25/1 ! c.";
  ASSERT_TRUE(encode_clip(sources, path, "mp4mux", "key-int-max=50 option-string=scenecut=0"));

  montage::ClipAnalysis full, autod;
  montage::ClipAnalyseStats full_stats, auto_stats;
  ASSERT_TRUE(analyse(path, {}, kFull, full, full_stats));
  ASSERT_TRUE(analyse(path, {}, ClipAnalyseOptions::Mode::kAuto, autod, auto_stats));
  EXPECT_EQ(frames_of(full), (std::vector<long>{20, 40, 70}));
  EXPECT_EQ(auto_stats.path, montage::ClipAnalysePath::kKeyframes)
      << montage::clip_analyse_path_text(auto_stats.path);
  EXPECT_EQ(auto_stats.keyframes, 5u);
  EXPECT_EQ(autod.cuts, full.cuts) << "keyframe path differs from full decoding";
}

/* Raw H.264 (Annex B, no container timestamps), 25-frame GOPs, three
 * 100-frame shots: the parser stamps the keyframes it passes 1 s apart, the
 * decoder, fed keyframes alone, 0.04 s apart. The keyframe path is given up
 * at the first keyframe whose time differs, before any refinement, and the
 * file is decoded once in full: the cuts of full decoding, and at most the
 * 12 keyframes decoded on top of the 300 frames (537 before: keyframes, the
 * refined runs, then everything). */
TEST(ClipAnalysis, RawH264GoesStraightToFullDecoding)
{
  TempDir tmp;
  ASSERT_NE(tmp.dir, nullptr);
  const std::string path = tmp.add("raw.h264");
  const std::string sources = shot_sources({"smpte", "checkers-8", "circular"}, 100);
  ASSERT_TRUE(encode_clip(sources, path, "video/x-h264,stream-format=byte-stream"));

  montage::ClipAnalysis full, autod;
  montage::ClipAnalyseStats full_stats, auto_stats;
  ASSERT_TRUE(analyse(path, {}, kFull, full, full_stats));
  ASSERT_TRUE(analyse(path, {}, ClipAnalyseOptions::Mode::kAuto, autod, auto_stats));
  EXPECT_EQ(frames_of(full), (std::vector<long>{100, 200}));
  EXPECT_EQ(autod.cuts, full.cuts);
  EXPECT_EQ(autod.duration, full.duration);
  EXPECT_EQ(full_stats.path, montage::ClipAnalysePath::kFullRequested);
  EXPECT_EQ(auto_stats.path, montage::ClipAnalysePath::kFullKeyframeTimes);
  EXPECT_FALSE(auto_stats.keyframe_path);
  EXPECT_EQ(auto_stats.refined_ranges, 0u);
  EXPECT_EQ(full_stats.frames_decoded, 300u);
  EXPECT_GT(auto_stats.frames_decoded, 300u) << "the given-up keyframes count too";
  EXPECT_LE(auto_stats.frames_decoded, 300u + 12u)
      << "every frame once, plus at most the keyframes of the given-up first pass";
}

/* Cuts between a picture and its mirror image: the colour histograms of the
 * two shots are the same, only the layout changes. The keyframe gate must
 * not rely on histograms alone: the cuts (inside GOPs) are found at the same
 * frames as full decoding. */
/* A cut on the clip's very last frame: full decoding, like the keyframe
 * path, ends the shot before it there and keeps both shots. */
TEST(ClipAnalysis, CutOnTheLastFrameKeepsTheShotBeforeIt)
{
  TempDir tmp;
  ASSERT_NE(tmp.dir, nullptr);
  const std::string path = tmp.add("lastcut.mp4");
  ASSERT_TRUE(encode_clip(" videotestsrc num-buffers=30 pattern=smpte ! "
                          "video/x-raw,width=320,height=240,framerate=25/1 ! c. "
                          "videotestsrc num-buffers=1 pattern=checkers-8 ! "
                          "video/x-raw,width=320,height=240,framerate=25/1 ! c.",
                          path));
  for (ClipAnalyseOptions::Mode mode : {kFull, kKeyframes}) {
    SCOPED_TRACE(mode == kFull ? "full decoding" : "keyframe path");
    montage::ClipAnalysis clip;
    montage::ClipAnalyseStats stats;
    ASSERT_TRUE(analyse(path, {}, mode, clip, stats));
    EXPECT_EQ(frames_of(clip), (std::vector<long>{30}));
    ASSERT_EQ(clip.shots.size(), 2u);
    EXPECT_EQ(clip.shots[0].start, clip.first_frame);
    EXPECT_EQ(clip.shots[0].end, clip.shots[1].start);
    EXPECT_EQ(clip.shots[1].end, clip.duration);
  }
}

TEST(ClipAnalysis, KeyframePathFindsCutsBetweenShotsWithTheSameHistogram)
{
  TempDir tmp;
  ASSERT_NE(tmp.dir, nullptr);
  const std::string path = tmp.add("mirror.mp4");
  std::string sources;
  for (int k = 0; k < 4; k++)
    sources += std::string(" videotestsrc num-buffers=60 pattern=smpte ! "
                           "video/x-raw,width=320,height=240,framerate=25/1 ! ") +
               "videoflip video-direction=" + (k % 2 ? "horiz" : "identity") + " ! c.";
  ASSERT_TRUE(encode_clip(sources, path));

  montage::ClipAnalysis full, keys;
  montage::ClipAnalyseStats full_stats, key_stats;
  ASSERT_TRUE(analyse(path, {}, kFull, full, full_stats));
  ASSERT_TRUE(analyse(path, {}, kKeyframes, keys, key_stats));
  EXPECT_EQ(frames_of(full), (std::vector<long>{60, 120, 180}));
  EXPECT_EQ(keys.cuts, full.cuts) << "keyframe path differs from full decoding";
  EXPECT_TRUE(key_stats.keyframe_path);
  EXPECT_LT(key_stats.frames_decoded, full_stats.frames_decoded);
  /* The premise: the shots' colour histograms match. */
  ASSERT_EQ(full.shots.size(), 4u);
  for (size_t k = 1; k < full.shots.size(); k++)
    EXPECT_LT(histogram_l1(full.shots[k - 1].features.histogram, full.shots[k].features.histogram),
              0.05)
        << "shot " << k;
}

/* One shot of a test pattern scrolling 1 pixel a frame: keyframes 25 frames
 * apart differ in content (the bars move by a third of their width) but not
 * in colour distribution. With the histogram test the keyframe path decodes
 * only the tail GOP; without it (keyframe_histogram_change = 0) every GOP;
 * neither finds a cut, as full decoding finds none. */
TEST(ClipAnalysis, KeyframeGateSkipsMotionInsideAShot)
{
  TempDir tmp;
  ASSERT_NE(tmp.dir, nullptr);
  const std::string path = tmp.add("scroll.mp4");
  ASSERT_TRUE(encode_clip(" videotestsrc num-buffers=150 pattern=smpte horizontal-speed=1 ! "
                          "video/x-raw,width=640,height=180,framerate=25/1 ! c.",
                          path));
  montage::ClipAnalysis full, gated, plain;
  montage::ClipAnalyseStats full_stats, gated_stats, plain_stats;
  ClipAnalyseOptions o;
  ASSERT_TRUE(analyse(path, o, kFull, full, full_stats));
  ASSERT_TRUE(analyse(path, o, kKeyframes, gated, gated_stats));
  o.keyframe_histogram_change = 0.0;
  ASSERT_TRUE(analyse(path, o, kKeyframes, plain, plain_stats));
  EXPECT_TRUE(full.cuts.empty());
  EXPECT_EQ(gated.cuts, full.cuts);
  EXPECT_EQ(plain.cuts, full.cuts);
  EXPECT_EQ(gated.duration, full.duration);
  EXPECT_EQ(full_stats.frames_decoded, 150u);
  EXPECT_EQ(gated_stats.keyframes, 6u);
  EXPECT_LT(gated_stats.frames_decoded, plain_stats.frames_decoded)
      << "the histogram test should keep the scrolling GOPs from being decoded";
  EXPECT_LE(gated_stats.frames_decoded, 6u + 25u + 4u) << "keyframes and the tail GOP";
}

/* cityCC0.mpg (MPEG-PS, 12-frame GOPs, its cut on a keyframe): with a gate
 * that flags only the keyframe pair around the cut, the one run starts deep
 * in the file, and mpegpsdemux lands a GOP past a seek to that run's
 * keyframe. The keyframe path must still see the run from its keyframe
 * (the seek aims a GOP early), so the cut is found at full decoding's frame
 * without falling back to full decoding. */
TEST(ClipAnalysis, KeyframePathRunStartsOnItsKeyframeAfterTheSeek)
{
  const std::string path = montage_test::media_path("cityCC0.mpg");
  if (path.empty())
    GTEST_SKIP() << "cityCC0.mpg not fetched (scripts/fetch-media.sh)";
  montage::ClipAnalysis full, keys;
  montage::ClipAnalyseStats full_stats, key_stats;
  ClipAnalyseOptions o;
  ASSERT_TRUE(analyse(path, o, kFull, full, full_stats));
  o.keyframe_change = 40.0; /* the moving camera's keyframes differ by ~33, the cut's by ~46 */
  ASSERT_TRUE(analyse(path, o, kKeyframes, keys, key_stats));
  EXPECT_EQ(frames_of(full), (std::vector<long>{116}));
  EXPECT_EQ(keys.cuts, full.cuts) << "keyframe path differs from full decoding";
  EXPECT_TRUE(key_stats.keyframe_path) << "fell back to full decoding";
  EXPECT_EQ(key_stats.refined_ranges, 2u) << "the run around the cut and the tail GOP";
  EXPECT_LT(key_stats.frames_decoded, full_stats.frames_decoded / 3);
}

/* The length the container states is recorded beside the decoded one:
 * cityCC0.mpg's frames run from 0.54 s to 8.14 s of stream time but
 * mpegpsdemux (and so GstDiscoverer, and GES, which lets a clip reach no
 * further) states 7.36 s; an AVI states the length it decodes to. Both
 * analysis paths record the same. It was not recorded, and a plan for an
 * .xges could not keep within it. */
TEST(ClipAnalysis, RecordsTheLengthTheContainerStates)
{
  const std::string city = montage_test::media_path("cityCC0.mpg");
  const std::string avi = montage_test::media_path("Megamind.avi");
  if (city.empty() || avi.empty())
    GTEST_SKIP() << "media not fetched (scripts/fetch-media.sh)";
  for (auto mode : {ClipAnalyseOptions::Mode::kAuto, kFull}) {
    montage::ClipAnalysis c;
    montage::ClipAnalyseStats st;
    ASSERT_TRUE(analyse(city, {}, mode, c, st));
    ASSERT_TRUE(GST_CLOCK_TIME_IS_VALID(c.stated_duration));
    EXPECT_NEAR(c.stated_duration / 1e9, 7.36, 0.02);
    EXPECT_NEAR(c.duration / 1e9, 8.14, 0.02);
    EXPECT_NEAR(c.first_frame / 1e9, 0.54, 0.02);
  }
  montage::ClipAnalysis a;
  montage::ClipAnalyseStats st;
  ASSERT_TRUE(analyse(avi, {}, ClipAnalyseOptions::Mode::kAuto, a, st));
  ASSERT_TRUE(GST_CLOCK_TIME_IS_VALID(a.stated_duration));
  EXPECT_NEAR((double)a.stated_duration, (double)a.duration, 0.05 * GST_SECOND);
}

/* GstDiscoverer's duration for `path` (what GES takes as a clip's length),
 * GST_CLOCK_TIME_NONE unless the discovery is OK and states one. */
GstClockTime discovered_length(const std::string &path)
{
  gchar *uri = gst_filename_to_uri(path.c_str(), nullptr);
  GstClockTime d = GST_CLOCK_TIME_NONE;
  GstDiscoverer *disc = gst_discoverer_new(10 * GST_SECOND, nullptr);
  if (GstDiscovererInfo *info = disc ? gst_discoverer_discover_uri(disc, uri, nullptr) : nullptr) {
    if (gst_discoverer_info_get_result(info) == GST_DISCOVERER_OK &&
        gst_discoverer_info_get_duration(info) > 0)
      d = gst_discoverer_info_get_duration(info);
    g_object_unref(info);
  }
  if (disc)
    g_object_unref(disc);
  g_free(uri);
  return d;
}

/* The stated length is the discoverer's, on both paths, and is read from the
 * analysis's own pipeline where a container states one (its duration query
 * answers once prerolled, as the discoverer's does): no GstDiscoverer, a
 * third pipeline, runs for it. Where nothing answers (raw H.264: the
 * discoverer plays a little and takes h264parse's estimate), one runs. Every
 * clip ran one before (0.04 s of CPU beside the keyframe path). */
TEST(ClipAnalysis, StatedLengthNeedsNoDiscovererWhereTheContainerStatesIt)
{
  TempDir tmp;
  ASSERT_NE(tmp.dir, nullptr);
  struct Case {
    std::string path;
    guint discoveries;
  };
  std::vector<Case> cases;
  const std::string sources = shot_sources({"smpte", "ball"}, 40);
  for (const auto &[name, mux] : std::vector<std::pair<std::string, std::string>>{
           {"a.mp4", "mp4mux"},
           {"a.mkv", "matroskamux"},
           {"a.ts", "mpegtsmux"},
           {"raw.h264", "video/x-h264,stream-format=byte-stream"}}) {
    cases.push_back({tmp.add(name.c_str()), name == "raw.h264" ? 1u : 0u});
    ASSERT_TRUE(encode_clip(sources, cases.back().path, mux));
  }
  for (const char *name : {"cityCC0.mpg", "Megamind.avi", "oa4_launch.webm"})
    if (const std::string path = montage_test::media_path(name); !path.empty())
      cases.push_back({path, 0u});
  for (const Case &c : cases) {
    /* Raw H.264's is h264parse's estimate after some playing, which varies
     * from run to run: only the header lengths are compared. */
    const GstClockTime discovered = c.discoveries ? GST_CLOCK_TIME_NONE : discovered_length(c.path);
    ASSERT_TRUE(c.discoveries || GST_CLOCK_TIME_IS_VALID(discovered)) << c.path;
    for (auto mode : {ClipAnalyseOptions::Mode::kAuto, kFull}) {
      montage::ClipAnalysis clip;
      montage::ClipAnalyseStats st;
      ASSERT_TRUE(analyse(c.path, {}, mode, clip, st));
      if (!c.discoveries) {
        EXPECT_EQ(clip.stated_duration, discovered) << c.path;
      }
      EXPECT_EQ(st.discoveries, c.discoveries) << c.path;
    }
  }
}

/* The caps' rate stands unless the frames come at least 3 of its frames
 * apart; a measured rate snaps to a common rate within 0.5 %. */
TEST(ClipAnalysis, FrameRateFromCapsOrFrameSpacing)
{
  auto rate = [](gint n, gint d, GstClockTime interval) {
    gint on = -1, od = -1;
    montage::clip_frame_rate(n, d, interval, on, od);
    return std::make_pair(on, od);
  };
  using R = std::pair<gint, gint>;
  const GstClockTime ntsc = gst_util_uint64_scale_int(GST_SECOND, 1001, 30000);
  EXPECT_EQ(rate(25, 1, 40 * GST_MSECOND), R(25, 1));
  EXPECT_EQ(rate(25, 1, GST_CLOCK_TIME_NONE), R(25, 1));
  EXPECT_EQ(rate(90000, 1, GST_CLOCK_TIME_NONE), R(90000, 1)) << "nothing measured";
  EXPECT_EQ(rate(90000, 1, 0), R(90000, 1));
  /* IVF's time base as the rate. */
  EXPECT_EQ(rate(90000, 1, 40 * GST_MSECOND), R(25, 1));
  EXPECT_EQ(rate(90000, 1, ntsc), R(30000, 1001));
  EXPECT_EQ(rate(90000, 1, gst_util_uint64_scale_int(GST_SECOND, 1, 24)), R(24, 1))
      << "the nearest common rate, not the first within 0.5 %";
  EXPECT_EQ(rate(90000, 1, gst_util_uint64_scale_int(GST_SECOND, 1001, 24000)), R(24000, 1001));
  EXPECT_EQ(rate(1000, 1, ntsc + 100 * GST_USECOND), R(30000, 1001)) << "within 0.5 %";
  EXPECT_EQ(rate(90000, 1, 80 * GST_MSECOND), R(25, 2)) << "no common rate";
  /* Frames sharing timestamps in pairs (every other one skipped). */
  EXPECT_EQ(rate(25, 1, 80 * GST_MSECOND), R(25, 1));
  EXPECT_EQ(rate(60, 1, gst_util_uint64_scale_int(GST_SECOND, 1, 15)), R(15, 1));
  EXPECT_EQ(rate(0, 1, 40 * GST_MSECOND), R(0, 1)) << "variable stays variable";
}

/* Clips whose container GStreamer 1.22 cannot seek from a file (the
 * SEEKING query on the decoding pipeline answers no; gst-discoverer-1.0
 * says "Seekable: no"): YUV4MPEG2 (.y4m, y4mdec: raw frames, as x264 and
 * FFmpeg pipe them) and IVF (ivfparse: VP8 as FFmpeg, vpxenc and conformance
 * suites write it; made here with FFmpeg's own muxer, avmux_ivf). Three
 * 40-frame shots; IVF with 25-frame GOPs, so the cuts fall inside GOPs.
 * The default mode (kAuto) gives up the keyframe path before its keyframe
 * pass and decodes every frame once: full decoding's cuts. Without that
 * fallback the IVF clip fails ("the file cannot be seeked") after the
 * keyframe pass; kKeyframes fails with a sentence instead. */
TEST(ClipAnalysis, UnseekableFilesFallBackToFullDecoding)
{
  std::string shots;
  for (const char *pattern : {"smpte", "checkers-8", "circular"})
    shots += std::string(" videotestsrc num-buffers=40 pattern=") + pattern +
             " ! video/x-raw,width=320,height=240,framerate=25/1 ! c.";
  /* FFmpeg's muxers take buffer times as they come: one segment, so the
   * shots after the first do not restart at 0. */
  const std::map<std::string, std::string> clips = {
      {"montage-unseekable.y4m", "video/x-raw,format=I420 ! y4menc"},
      {"montage-unseekable.ivf", "vp8enc keyframe-max-dist=25 deadline=1 "
                                 "target-bitrate=2000000 ! avmux_ivf"}};
  for (const char *factory : {"y4menc", "y4mdec", "vp8enc", "avmux_ivf", "ivfparse"}) {
    GstElementFactory *f = gst_element_factory_find(factory);
    if (!f)
      GTEST_SKIP() << factory << " missing: install gstreamer1.0-plugins-good, "
                   << "gstreamer1.0-plugins-bad and gstreamer1.0-libav";
    gst_object_unref(f);
  }
  for (const auto &[name, encode] : clips) {
    SCOPED_TRACE(name);
    const std::string desc = "concat name=c ! identity single-segment=true ! videoconvert ! " +
                             encode + " ! filesink location=%s" + shots;
    const std::string path = montage_test::make_media(name.c_str(), desc.c_str());
    ASSERT_FALSE(path.empty());

    montage::ClipAnalysis full, autod, keys;
    montage::ClipAnalyseStats full_stats, auto_stats, key_stats;
    ASSERT_TRUE(analyse(path, {}, kFull, full, full_stats));
    ASSERT_TRUE(analyse(path, {}, ClipAnalyseOptions::Mode::kAuto, autod, auto_stats));
    /* ivfparse reports the file's time base (1/90000) as its frame rate;
     * the clip reports the rate its frames are spaced at. */
    EXPECT_EQ(full.fps_n, 25);
    EXPECT_EQ(full.fps_d, 1);
    EXPECT_EQ(autod.fps_n, 25);
    EXPECT_EQ(autod.fps_d, 1);
    EXPECT_EQ(full.duration, 4800 * GST_MSECOND) << "120 frames of 40 ms";
    ASSERT_FALSE(full.shots.empty());
    EXPECT_EQ(full.shots.back().end, full.duration);
    EXPECT_EQ(full.first_frame, 0u);
    EXPECT_EQ(full.cuts, (std::vector<GstClockTime>{1600 * GST_MSECOND, 3200 * GST_MSECOND}));
    EXPECT_EQ(autod.cuts, full.cuts);
    EXPECT_EQ(autod.first_frame, full.first_frame);
    EXPECT_EQ(autod.duration, full.duration);
    EXPECT_EQ(autod.shots.size(), 3u);
    EXPECT_EQ(auto_stats.path, montage::ClipAnalysePath::kFullNoSeek)
        << "took: " << montage::clip_analyse_path_text(auto_stats.path);
    EXPECT_FALSE(auto_stats.keyframe_path);
    EXPECT_EQ(auto_stats.refined_ranges, 0u);
    EXPECT_EQ(full_stats.frames_decoded, 120u);
    EXPECT_LE(auto_stats.frames_decoded, 120u + 1u)
        << "every frame once, plus at most the preroll frame of the given-up keyframe path";

    GError *err = nullptr;
    ClipAnalyseOptions o;
    o.mode = kKeyframes;
    EXPECT_FALSE(montage::analyse_clip_file(path, o, keys, &err, &key_stats));
    ASSERT_NE(err, nullptr);
    EXPECT_TRUE(g_error_matches(err, GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED));
    EXPECT_STREQ(err->message, "the file cannot be seeked, so its keyframes cannot be read alone");
    g_clear_error(&err);
    g_unlink(path.c_str());
  }
}

TEST(ClipAnalysis, ProgressNeverGoesBackOverPasses)
{
  std::vector<double> seen; /* position / duration as reported */
  montage::ProgressMeter meter(
      [&](GstClockTime pos, GstClockTime dur) { seen.push_back((double)pos / dur); });
  const GstClockTime dur = 10 * GST_SECOND;
  auto by_position = meter.by_position();
  /* A keyframe pass shown as the first 40 %. */
  meter.stage(0.4);
  by_position(0, dur);
  by_position(5 * GST_SECOND, dur);
  by_position(dur, dur);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_DOUBLE_EQ(seen[1], 0.2);
  EXPECT_DOUBLE_EQ(seen[2], 0.4);
  /* The refinement counts from 0 again: it starts at 40 %. */
  meter.stage(1.0);
  meter.report(0.0, dur);
  meter.report(0.5, dur);
  EXPECT_DOUBLE_EQ(seen[3], 0.4);
  EXPECT_DOUBLE_EQ(seen[4], 0.7);
  /* A worse estimate never takes it back; out-of-range fractions are
   * clamped; an unknown duration reports nothing. */
  meter.report(0.25, dur);
  meter.report(2.0, dur);
  meter.report(0.9, GST_CLOCK_TIME_NONE);
  by_position(GST_CLOCK_TIME_NONE, dur);
  ASSERT_EQ(seen.size(), 7u);
  EXPECT_DOUBLE_EQ(seen[5], 0.7);
  EXPECT_DOUBLE_EQ(seen[6], 1.0);
  /* Full decoding after a given-up path fills what is left from there. */
  montage::ProgressMeter again(
      [&](GstClockTime pos, GstClockTime d) { seen.push_back((double)pos / d); });
  again.stage(0.4);
  again.report(0.5, dur);
  again.stage(1.0);
  again.report(0.5, dur);
  EXPECT_DOUBLE_EQ(seen.back(), 0.2 + 0.8 * 0.5);
  for (size_t k = 1; k < 7; k++)
    EXPECT_GE(seen[k], seen[k - 1]);
}

/* An MPEG transport stream takes full decoding, from its start and without
 * a seek (ClipAnalysePath::kFullSeekTimes): tsdemux 1.22 maps its frames to
 * the wrong stream time after a seek, which the keyframe path's passes make.
 * Forced keyframes (Mode::kKeyframes) are refused with the reason. */
TEST(ClipAnalysis, MpegTsTakesFullDecodingWithoutASeek)
{
  TempDir tmp;
  ASSERT_NE(tmp.dir, nullptr);
  const std::string path = tmp.add("gop50.ts");
  const std::string sources = shot_sources({"smpte", "checkers-8", "circular", "pinwheel", "spokes",
                                            "red", "snow", "blue", "bar", "colors"},
                                           60);
  ASSERT_TRUE(encode_clip(sources, path, "h264parse ! mpegtsmux",
                          "key-int-max=50 option-string=scenecut=0:bframes=3"));

  montage::ClipAnalysis full, aut;
  montage::ClipAnalyseStats full_stats, auto_stats;
  ASSERT_TRUE(analyse(path, {}, kFull, full, full_stats));
  ASSERT_TRUE(analyse(path, {}, ClipAnalyseOptions::Mode::kAuto, aut, auto_stats));
  EXPECT_EQ(frames_of(full), (std::vector<long>{60, 120, 180, 240, 300, 360, 420, 480, 540}));
  EXPECT_EQ(aut.cuts, full.cuts);
  EXPECT_EQ(aut.first_frame, full.first_frame);
  EXPECT_EQ(full_stats.frames_decoded, 600u);
  EXPECT_EQ(auto_stats.path, montage::ClipAnalysePath::kFullSeekTimes);
  EXPECT_EQ(auto_stats.seeks, 0u);
  EXPECT_LE(auto_stats.frames_decoded, full_stats.frames_decoded + 2)
      << "the keyframe path was tried before full decoding";

  montage::ClipAnalysis keys;
  montage::ClipAnalyseStats key_stats;
  GError *err = nullptr;
  ClipAnalyseOptions o;
  o.mode = kKeyframes;
  EXPECT_FALSE(montage::analyse_clip_file(path, o, keys, &err, &key_stats));
  ASSERT_NE(err, nullptr);
  EXPECT_NE(std::string(err->message).find("transport stream"), std::string::npos) << err->message;
  g_clear_error(&err);
}

/* The same for a transport stream as ffmpeg writes one (a new user's trial:
 * its first frame at 0.7 s of stream time): the keyframe path stood and gave
 * the first frame at 0 and cuts 1.7 s late (4.8 s where 3.1 s is), where
 * full decoding is right; now the two agree. */
TEST(ClipAnalysis, MpegTsAsFfmpegWritesItHasFullDecodingsCuts)
{
  if (!montage_test::have_ffmpeg())
    GTEST_SKIP() << "no ffmpeg (scripts/setup.sh installs it)";
  TempDir tmp;
  ASSERT_NE(tmp.dir, nullptr);
  const std::string mkv = tmp.add("gop50.mkv"), path = tmp.add("gop50.ts");
  const std::string sources = shot_sources({"smpte", "checkers-8", "circular", "pinwheel", "spokes",
                                            "red", "snow", "blue", "bar", "colors"},
                                           60);
  ASSERT_TRUE(encode_clip(sources, mkv, "h264parse ! matroskamux",
                          "key-int-max=50 option-string=scenecut=0"));
  ASSERT_TRUE(montage_test::remux_to_ts_with_ffmpeg(mkv, path));
  montage::ClipAnalysis full, aut;
  montage::ClipAnalyseStats full_stats, auto_stats;
  ASSERT_TRUE(analyse(path, {}, kFull, full, full_stats));
  ASSERT_TRUE(analyse(path, {}, ClipAnalyseOptions::Mode::kAuto, aut, auto_stats));
  EXPECT_GT(full.first_frame, 0u) << "ffmpeg's transport stream starts past 0";
  EXPECT_EQ(full.cuts.size(), 9u);
  EXPECT_EQ(aut.first_frame, full.first_frame);
  EXPECT_EQ(aut.cuts, full.cuts) << "the analysis differs from full decoding";
}

/* Runs ffmpeg with the arguments `args` (shell syntax, after "-v error -y"), as
 * montage_test::remux_to_ts_with_ffmpeg() does: GStreamer's vp9enc cannot
 * write a VP9 stream with an alpha channel. */
::testing::AssertionResult run_ffmpeg(const std::string &args)
{
  gchar *ffmpeg = g_find_program_in_path("ffmpeg");
  if (!ffmpeg)
    return ::testing::AssertionFailure() << "no ffmpeg";
  gchar *quoted = g_shell_quote(ffmpeg);
  const std::string line = std::string(quoted) + " -v error -y " + args;
  g_free(quoted);
  g_free(ffmpeg);
  gchar **argv = nullptr;
  GError *err = nullptr;
  gint status = -1;
  const bool ran = g_shell_parse_argv(line.c_str(), nullptr, &argv, &err) &&
                   g_spawn_sync(nullptr, argv, nullptr, G_SPAWN_DEFAULT, nullptr, nullptr, nullptr,
                                nullptr, &status, &err);
  g_strfreev(argv);
  if (!ran || !g_spawn_check_wait_status(status, &err)) {
    auto r = ::testing::AssertionFailure() << (err ? err->message : "ffmpeg failed");
    g_clear_error(&err);
    return r;
  }
  return ::testing::AssertionSuccess();
}

/* VP9 with an alpha channel in WebM, as ffmpeg's libvpx-vp9 writes it from
 * yuva420p (a new user's trial: c57_vp9_alpha.webm): the alpha frames ride
 * in each block's BlockAdditional and decodebin plugs vp9alphadecodebin.
 * libvpx places keyframes at scene changes of the colour frames alone
 * (here the colour frames' keyframes fell at 0, 2, 4, 5.12 and 6 s, the
 * alpha frames' at 0 and 5.12 s), so the keyframe pass fed the alpha
 * decoder delta frames without their references and vp9alphadecodebin
 * stopped at the fourth keyframe: the clip failed with "decoding made no
 * progress" after stall_timeout (the trial's 30 s, 5 s here). Now it is
 * decoded in full at once (ClipAnalysePath::kFullAlpha), as --full-decode
 * read it. */
TEST(ClipAnalysis, Vp9WithAlphaIsDecodedInFullWithoutAStall)
{
  if (!montage_test::have_ffmpeg())
    GTEST_SKIP() << "no ffmpeg (scripts/setup.sh installs it)";
  if (!gst_registry_check_feature_version(gst_registry_get(), "vp9alphadecodebin", 1, 0, 0))
    GTEST_SKIP() << "vp9alphadecodebin (gstreamer1.0-plugins-bad) missing";
  TempDir tmp;
  ASSERT_NE(tmp.dir, nullptr);
  const std::string path = tmp.add("alpha.webm");
  /* Four 2 s shots at 25 fps; the right third transparent. */
  gchar *out = g_shell_quote(path.c_str());
  const std::string args =
      "-f lavfi -i smptebars=s=320x240:r=25:d=2 -f lavfi -i testsrc=s=320x240:r=25:d=2 "
      "-f lavfi -i mandelbrot=s=320x240:r=25,trim=duration=2 "
      "-f lavfi -i rgbtestsrc=s=320x240:r=25:d=2 -filter_complex "
      "\"[0][1][2][3]concat=n=4,format=yuva420p,"
      "geq=lum='p(X,Y)':cb='p(X,Y)':cr='p(X,Y)':a='if(gt(X,213),0,255)'\" "
      "-c:v libvpx-vp9 -deadline realtime -cpu-used 8 -b:v 1M -auto-alt-ref 0 -threads 1 " +
      std::string(out);
  g_free(out);
  ASSERT_TRUE(run_ffmpeg(args)) << "ffmpeg could not write VP9 with alpha (libvpx-vp9)";

  ClipAnalyseOptions o;
  o.stall_timeout = 5 * GST_SECOND;
  montage::ClipAnalysis full, aut;
  montage::ClipAnalyseStats full_stats, auto_stats;
  ASSERT_TRUE(analyse(path, o, kFull, full, full_stats));
  EXPECT_EQ(frames_of(full), (std::vector<long>{50, 100, 150}));
  ASSERT_TRUE(analyse(path, o, ClipAnalyseOptions::Mode::kAuto, aut, auto_stats));
  EXPECT_EQ(auto_stats.path, montage::ClipAnalysePath::kFullAlpha);
  EXPECT_EQ(aut.analysis_path,
            montage::clip_analyse_path_text(montage::ClipAnalysePath::kFullAlpha));
  EXPECT_EQ(aut.cuts, full.cuts);
  EXPECT_EQ(aut.first_frame, full.first_frame);
  EXPECT_EQ(aut.duration, full.duration);
  /* Decided at the preroll: its frame, then full decoding's 200. */
  EXPECT_LE(auto_stats.frames_decoded, full_stats.frames_decoded + 1);
  EXPECT_EQ(auto_stats.pipelines, 2u);

  /* Asked for, the keyframe path is refused with the reason, not after a
   * stall. */
  GError *err = nullptr;
  o.mode = kKeyframes;
  montage::ClipAnalysis keys;
  const gint64 start = g_get_monotonic_time();
  EXPECT_FALSE(montage::analyse_clip_file(path, o, keys, &err));
  EXPECT_LT(g_get_monotonic_time() - start, 4 * G_USEC_PER_SEC);
  ASSERT_NE(err, nullptr);
  EXPECT_NE(std::string(err->message).find("alpha channel"), std::string::npos) << err->message;
  g_clear_error(&err);
}

/* A Theora decoder (a bin around theoradec) that stalls, as
 * vp9alphadecodebin does on a VP9-with-alpha stream's keyframes alone
 * (above), when it is fed two keyframes in a row after its first buffer:
 * the buffer is held until a flush (a seek, or the pipeline's teardown).
 * Header packets do not count. Registered by the test below only, above
 * theoradec's rank; nothing else in this file decodes Theora. */
struct MontageTestKeyStallDec {
  GstBin parent;
  guint buffers;
  gboolean last_was_key;
};
struct MontageTestKeyStallDecClass {
  GstBinClass parent_class;
};
G_DEFINE_TYPE(MontageTestKeyStallDec, montage_test_key_stall_dec, GST_TYPE_BIN)

static GstPadProbeReturn key_stall_on_buffer(GstPad *, GstPadProbeInfo *info, gpointer data)
{
  MontageTestKeyStallDec *self = static_cast<MontageTestKeyStallDec *>(data);
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
  if (GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_HEADER))
    return GST_PAD_PROBE_PASS;
  const bool key = !GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT);
  const bool stall = key && self->buffers > 0 && self->last_was_key;
  self->buffers++;
  self->last_was_key = key;
  /* A blocking probe: OK holds the buffer, PASS lets it through. */
  return stall ? GST_PAD_PROBE_OK : GST_PAD_PROBE_PASS;
}

static void montage_test_key_stall_dec_init(MontageTestKeyStallDec *self)
{
  GstElement *dec = gst_element_factory_make("theoradec", nullptr);
  gst_bin_add(GST_BIN(self), dec);
  GstElementClass *klass = GST_ELEMENT_GET_CLASS(self);
  for (const char *name : {"sink", "src"}) {
    GstPad *target = gst_element_get_static_pad(dec, name);
    gst_element_add_pad(GST_ELEMENT(self),
                        gst_ghost_pad_new_from_template(
                            name, target, gst_element_class_get_pad_template(klass, name)));
    if (g_str_equal(name, "sink"))
      gst_pad_add_probe(target,
                        (GstPadProbeType)(GST_PAD_PROBE_TYPE_BLOCK | GST_PAD_PROBE_TYPE_BUFFER),
                        key_stall_on_buffer, self, nullptr);
    gst_object_unref(target);
  }
}

static void montage_test_key_stall_dec_class_init(MontageTestKeyStallDecClass *klass)
{
  GstElementClass *element = GST_ELEMENT_CLASS(klass);
  gst_element_class_set_static_metadata(element, "Theora decoder that stalls on keyframes alone",
                                        "Codec/Decoder/Video", "For tests", "gst-montage");
  GstCaps *sink = gst_caps_from_string("video/x-theora");
  GstCaps *src = gst_caps_from_string("video/x-raw");
  gst_element_class_add_pad_template(
      element, gst_pad_template_new("sink", GST_PAD_SINK, GST_PAD_ALWAYS, sink));
  gst_element_class_add_pad_template(element,
                                     gst_pad_template_new("src", GST_PAD_SRC, GST_PAD_ALWAYS, src));
  gst_caps_unref(sink);
  gst_caps_unref(src);
}

/* A clip whose keyframe path stalls where full decoding reads it (here a
 * decoder that waits when fed keyframes alone) is decoded in full
 * (ClipAnalysePath::kFullStalled), with full decoding's cuts; before, the
 * clip failed with "decoding made no progress" and a new user's montage
 * lost it. Asked for, the keyframe path still fails so. */
TEST(ClipAnalysis, KeyframePathThatStallsFallsBackToFullDecoding)
{
  for (const char *factory : {"theoraenc", "theoradec", "oggmux", "oggdemux"})
    if (!gst_registry_check_feature_version(gst_registry_get(), factory, 1, 0, 0))
      GTEST_SKIP() << factory << " missing";
  ASSERT_TRUE(gst_element_register(nullptr, "montagetestkeystalldec", GST_RANK_PRIMARY + 100,
                                   montage_test_key_stall_dec_get_type()));
  TempDir tmp;
  ASSERT_NE(tmp.dir, nullptr);
  const std::string path = tmp.add("stall.ogv");
  const std::string desc = "concat name=c ! identity single-segment=true ! videoconvert ! "
                           "theoraenc keyframe-auto=false keyframe-freq=25 ! oggmux ! "
                           "filesink location=\"" +
                           path + "\" " +
                           shot_sources({"smpte", "checkers-8", "circular", "pinwheel"}, 40);
  GError *err = nullptr;
  GstElement *pipe = gst_parse_launch(desc.c_str(), &err);
  ASSERT_NE(pipe, nullptr) << (err ? err->message : "");
  g_clear_error(&err);
  gst_element_set_state(pipe, GST_STATE_PLAYING);
  std::string why;
  ASSERT_TRUE(montage_test::run_to_eos(pipe, 30 * GST_SECOND, &why)) << why;

  ClipAnalyseOptions o;
  o.stall_timeout = 2 * GST_SECOND;
  montage::ClipAnalysis full, aut;
  montage::ClipAnalyseStats full_stats, auto_stats;
  ASSERT_TRUE(analyse(path, o, kFull, full, full_stats));
  EXPECT_EQ(frames_of(full), (std::vector<long>{40, 80, 120}));
  ASSERT_TRUE(analyse(path, o, ClipAnalyseOptions::Mode::kAuto, aut, auto_stats));
  EXPECT_EQ(auto_stats.path, montage::ClipAnalysePath::kFullStalled);
  EXPECT_EQ(aut.cuts, full.cuts);
  EXPECT_EQ(aut.first_frame, full.first_frame);
  EXPECT_EQ(aut.duration, full.duration);
  EXPECT_EQ(auto_stats.pipelines, 2u);

  o.mode = kKeyframes;
  montage::ClipAnalysis keys;
  EXPECT_FALSE(montage::analyse_clip_file(path, o, keys, &err));
  ASSERT_NE(err, nullptr);
  EXPECT_NE(std::string(err->message).find("made no progress"), std::string::npos) << err->message;
  g_clear_error(&err);
}

/* FramePlacer, fed frame stamps (in 40 ms frames) by the protocol its
 * header gives (the one the clip analysis and the render both follow):
 * where each frame kept goes. */
std::vector<double> placed_frames(const std::vector<double> &stamps)
{
  const GstClockTime frame = 40 * GST_MSECOND;
  montage::FramePlacer placer;
  std::vector<GstClockTime> held; /* the stamps of the frames held */
  std::vector<double> out;
  auto settle = [&](GstClockTime next) {
    const montage::FramePlacer::Settled s = placer.settle(next);
    for (size_t i = 0; i < s.kept; i++) {
      placer.took(s.at(i), held[i]);
      out.push_back((double)s.at(i) / frame);
    }
    held.clear();
  };
  for (double stamp : stamps) {
    const GstClockTime t = (GstClockTime)std::llround(stamp * frame);
    if (placer.settles(t))
      settle(t);
    const montage::FramePlacer::Placement p = placer.judge(t, frame);
    if (p.verdict == montage::FramePlacer::Verdict::kKeep) {
      placer.took(p.at, t);
      out.push_back((double)p.at / frame);
    } else if (p.verdict == montage::FramePlacer::Verdict::kHold) {
      placer.hold(p.at, t, frame);
      held.push_back(t);
    }
  }
  settle(GST_CLOCK_TIME_NONE);
  return out;
}

/* A frame given three times or more (a run of repeats) is placed once, as
 * a frame given twice is; frames stamped as the one before, and then
 * followed by the frame where all of them fit, are placed one after the
 * other (packed B-frames). Before, only a frame given twice was dropped: of
 * 0, 0, 0, 1, 2 the first repeat was placed at 1, the second at 2, and the
 * real frames 1 and 2 were skipped. */
TEST(FramePlacer, ARunOfRepeatsIsPlacedOnce)
{
  using V = std::vector<double>;
  /* Twice, as before: the repeat dropped; Megamind.avi's shared stamps. */
  EXPECT_EQ(placed_frames({0, 0, 1, 2}), (V{0, 1, 2}));
  EXPECT_EQ(placed_frames({3, 3, 5, 6}), (V{3, 4, 5, 6}));
  EXPECT_EQ(placed_frames({0, 1, 1}), (V{0, 1, 2})) << "at the end, a held frame is kept";
  /* Three and four times. */
  EXPECT_EQ(placed_frames({0, 0, 0, 1, 2}), (V{0, 1, 2}));
  EXPECT_EQ(placed_frames({0, 0, 0, 0, 1}), (V{0, 1}));
  EXPECT_EQ(placed_frames({4, 5, 5, 5, 6, 7}), (V{4, 5, 6, 7}));
  EXPECT_EQ(placed_frames({0, 1, 1, 1}), (V{0, 1, 2})) << "at the end, the first held is kept";
  /* Two frames stamped as the one before, the next where both fit; one
   * more stamped so, and a repeat of it. */
  EXPECT_EQ(placed_frames({3, 3, 3, 6}), (V{3, 4, 5, 6}));
  EXPECT_EQ(placed_frames({3, 3, 3, 5}), (V{3, 4, 5}));
  /* The next frame later than where all of them and one more would go
   * (frames missing after them, as at a keyframe-path GOP limit) tells
   * nothing: the first only, as at the end. */
  EXPECT_EQ(placed_frames({0, 1, 1, 1, 5}), (V{0, 1, 2, 5}));
  EXPECT_EQ(placed_frames({0, 1, 1, 9}), (V{0, 1, 2, 9}));
  /* Stamped after the frame before but no later than where it went. */
  EXPECT_EQ(placed_frames({3, 3, 3.4, 5}), (V{3, 4, 5}));
}

/* A decoder that gives a frame three times with its stamp: the copies are
 * dropped, and the cut is found on its frame. 42 raw frames in Matroska at
 * 25 fps, picture 12 given three times; the second shot from picture 13
 * (0.52 s). Before, the two copies went at 0.52 s and 0.56 s, the real
 * pictures 13 and 14 were skipped, and the cut was found at 0.6 s. */
TEST(ClipAnalysis, FrameGivenThreeTimesIsAnalysedOnce)
{
  TempDir tmp;
  ASSERT_NE(tmp.dir, nullptr);
  const std::string path = tmp.add("given-three-times.mkv");
  cv::Mat a(240, 320, CV_8UC3), b(240, 320, CV_8UC3);
  cv::randu(a, cv::Scalar(0, 0, 0), cv::Scalar(90, 255, 120));
  cv::randu(b, cv::Scalar(150, 0, 120), cv::Scalar(255, 120, 255));
  const GstClockTime frame = GST_SECOND / 25;
  std::vector<cv::Mat> frames;
  std::vector<GstClockTime> stamps;
  for (int picture = 0; picture < 40; picture++)
    for (int copy = 0; copy < (picture == 12 ? 3 : 1); copy++) {
      frames.push_back(picture < 13 ? a : b);
      stamps.push_back(picture * frame);
    }
  ASSERT_TRUE(
      encode_frames(frames, path, stamps, "videoconvert ! video/x-raw,format=I420 ! matroskamux"));
  montage::ClipAnalysis clip;
  montage::ClipAnalyseStats stats;
  ASSERT_TRUE(analyse(path, {}, kFull, clip, stats));
  EXPECT_EQ(stats.frames_decoded, 42u);
  ASSERT_EQ(clip.cuts.size(), 1u);
  EXPECT_EQ(clip.cuts[0], 13 * frame);
  EXPECT_EQ(clip.shots.back().end, 40 * frame);
}

/* The rule on frame spacings: a share of them far from their median says
 * the rate varies; rounding, a few dropped frames and frames sharing stamps
 * in pairs do not. */
TEST(ClipAnalysis, FrameSpacingVariesOnlyWhereManyFramesAreOffTheMedian)
{
  const GstClockTime f = GST_SECOND / 30;
  std::vector<GstClockTime> even(60, f), rounded, dropped(60, f), pairs(60, 2 * f), two_rates;
  for (int k = 0; k < 60; k++)
    rounded.push_back(k % 3 == 0 ? 34 * GST_MSECOND : 33 * GST_MSECOND);
  for (int k = 0; k < 60; k += 10)
    dropped[(std::size_t)k] = 2 * f;
  for (int k = 0; k < 60; k++)
    two_rates.push_back(k < 30 ? f : 2 * f);
  EXPECT_FALSE(montage::frame_spacing_varies(even));
  EXPECT_FALSE(montage::frame_spacing_varies(rounded)) << "Matroska's ms rounding";
  EXPECT_FALSE(montage::frame_spacing_varies(dropped)) << "one frame in ten dropped";
  EXPECT_FALSE(montage::frame_spacing_varies(pairs)) << "stamps shared in pairs";
  EXPECT_TRUE(montage::frame_spacing_varies(two_rates));
  EXPECT_FALSE(montage::frame_spacing_varies(
      std::vector<GstClockTime>(two_rates.begin(), two_rates.begin() + 20)))
      << "too few spacings to tell";
  EXPECT_FALSE(montage::frame_spacing_varies({}));
}

/* A clip whose frames come at 25 fps, then at 12.5, with 25/1 in its caps:
 * reported as variable (0/1), where its nominal 25/1 made the exports count
 * source frames past its end. The same frames at an even 25 fps keep 25/1. */
TEST(ClipAnalysis, ClipWhoseFramesChangeRateIsVariable)
{
  TempDir tmp;
  ASSERT_NE(tmp.dir, nullptr);
  cv::Mat a(240, 320, CV_8UC3);
  cv::randu(a, cv::Scalar(0, 0, 0), cv::Scalar(90, 255, 120));
  const std::vector<cv::Mat> frames(80, a);
  const GstClockTime frame = GST_SECOND / 25;
  std::vector<GstClockTime> two_rates, even;
  for (int k = 0; k < 80; k++) {
    two_rates.push_back(k < 40 ? k * frame : (40 + 2 * (k - 40)) * frame);
    even.push_back(k * frame);
  }
  const std::string variable = tmp.add("two-rates.mkv"), constant = tmp.add("even.mkv");
  const char *tail = "videoconvert ! video/x-raw,format=I420 ! matroskamux";
  ASSERT_TRUE(encode_frames(frames, variable, two_rates, tail));
  ASSERT_TRUE(encode_frames(frames, constant, even, tail));
  montage::ClipAnalysis clip;
  montage::ClipAnalyseStats stats;
  ASSERT_TRUE(analyse(variable, {}, kFull, clip, stats));
  EXPECT_EQ(clip.fps_n, 0);
  EXPECT_EQ(clip.fps_d, 1);
  /* The last frame starts at 118 frames and lasts one frame of the caps. */
  EXPECT_EQ(clip.duration, 119 * frame);
  ASSERT_TRUE(analyse(constant, {}, kFull, clip, stats));
  EXPECT_EQ(clip.fps_n, 25);
  EXPECT_EQ(clip.fps_d, 1);
}

/* MPEG-4 Part 2 with unpacked B-frames in AVI (ffmpeg -c:v mpeg4 -bf 2;
 * here avenc_mpeg4 max-bframes=2 into avimux, 12-frame GOPs): avidemux
 * stamps each keyframe's PTS with its chunk's time, its decode time, two
 * frames before it is shown, and avdec_mpeg4 put the frames from the
 * second keyframe on two frames early (avikeyframes-private.h). A new
 * user's c07_xvid.avi had its cuts found at 76, 121, 158 where they are at
 * 78, 123, 160; here, before, at 38, 78, 118 where they are at 40, 80,
 * 120. */
TEST(ClipAnalysis, AviMpeg4WithBFramesIsCutAtTheRightFrames)
{
  if (!gst_registry_check_feature_version(gst_registry_get(), "avenc_mpeg4", 1, 0, 0) ||
      !gst_registry_check_feature_version(gst_registry_get(), "avdec_mpeg4", 1, 0, 0))
    GTEST_SKIP() << "avenc_mpeg4 or avdec_mpeg4 missing";
  TempDir tmp;
  ASSERT_NE(tmp.dir, nullptr);
  const std::string path = tmp.add("bframes.avi");
  const std::string desc =
      "concat name=c ! identity single-segment=true ! videoconvert ! avenc_mpeg4 max-bframes=2 "
      "gop-size=12 ! avimux ! filesink location=\"" +
      path + "\" " + shot_sources({"smpte", "checkers-8", "circular", "pinwheel"}, 40);
  GError *err = nullptr;
  GstElement *pipe = gst_parse_launch(desc.c_str(), &err);
  ASSERT_NE(pipe, nullptr) << (err ? err->message : "");
  g_clear_error(&err);
  gst_element_set_state(pipe, GST_STATE_PLAYING);
  std::string why;
  ASSERT_TRUE(montage_test::run_to_eos(pipe, 30 * GST_SECOND, &why)) << why;

  montage::ClipAnalysis full;
  montage::ClipAnalyseStats stats;
  ASSERT_TRUE(analyse(path, {}, kFull, full, stats));
  EXPECT_EQ(frames_of(full), (std::vector<long>{40, 80, 120}));
  EXPECT_EQ(stats.frames_decoded, 160u);

  /* The default mode decodes such a file in full: the keyframe path's
   * keyframe times and its seeks' first frames are decode times (c07_xvid.avi
   * on the keyframe path: a cut at 156 where full decoding finds 160). */
  montage::ClipAnalysis aut;
  montage::ClipAnalyseStats auto_stats;
  ASSERT_TRUE(analyse(path, {}, ClipAnalyseOptions::Mode::kAuto, aut, auto_stats));
  EXPECT_EQ(aut.cuts, full.cuts);
  EXPECT_EQ(aut.first_frame, full.first_frame);
  EXPECT_EQ(auto_stats.path, montage::ClipAnalysePath::kFullAviBFrames);
  /* Its first B-VOP (the fourth buffer) ends the keyframe pass at once:
   * the preroll's keyframe, maybe one more, then full decoding's 160. */
  EXPECT_LE(auto_stats.frames_decoded, 162u);
}

namespace
{

/* Encodes 4 shots of 40 frames (25 fps, 12-frame GOPs) into `path`, MPEG-4
 * Part 2 in AVI through avenc_mpeg4 with `encoder` (its properties). */
::testing::AssertionResult encode_mpeg4_avi(const std::string &path, const std::string &encoder)
{
  const std::string desc = "concat name=c ! identity single-segment=true ! videoconvert ! "
                           "avenc_mpeg4 gop-size=12 " +
                           encoder + " ! avimux ! filesink location=\"" + path + "\" " +
                           shot_sources({"smpte", "checkers-8", "circular", "pinwheel"}, 40);
  GError *err = nullptr;
  GstElement *pipe = gst_parse_launch(desc.c_str(), &err);
  if (!pipe) {
    auto r = ::testing::AssertionFailure() << (err ? err->message : "gst_parse_launch failed");
    g_clear_error(&err);
    return r;
  }
  g_clear_error(&err);
  gst_element_set_state(pipe, GST_STATE_PLAYING);
  std::string why;
  if (!montage_test::run_to_eos(pipe, 30 * GST_SECOND, &why))
    return ::testing::AssertionFailure() << "encoding the test clip failed: " << why;
  return ::testing::AssertionSuccess();
}

/* The profile the MPEG-4 parser reads from `path` (an AVI), "" when none. */
std::string parsed_mpeg4_profile(const std::string &path)
{
  const std::string desc =
      "filesrc location=\"" + path + "\" ! avidemux ! mpeg4videoparse ! fakesink name=sink";
  GstElement *pipe = gst_parse_launch(desc.c_str(), nullptr);
  if (!pipe)
    return "";
  gst_element_set_state(pipe, GST_STATE_PAUSED);
  gst_element_get_state(pipe, nullptr, nullptr, 10 * GST_SECOND);
  GstElement *sink = gst_bin_get_by_name(GST_BIN(pipe), "sink");
  GstPad *pad = gst_element_get_static_pad(sink, "sink");
  GstCaps *caps = gst_pad_get_current_caps(pad);
  std::string profile;
  if (caps && gst_caps_get_size(caps) > 0) {
    const gchar *p = gst_structure_get_string(gst_caps_get_structure(caps, 0), "profile");
    profile = p ? p : "";
  }
  if (caps)
    gst_caps_unref(caps);
  gst_object_unref(pad);
  gst_object_unref(sink);
  gst_element_set_state(pipe, GST_STATE_NULL);
  gst_object_unref(pipe);
  return profile;
}

} // namespace

/* MPEG-4 Part 2 in AVI without B-frames but not of the Simple profile
 * (avenc_mpeg4 with quarter-pel motion: Advanced Simple; Xvid writes such
 * files with B-frames off) keeps the keyframe path: no B-VOP delays a
 * keyframe, so avidemux's decode-time stamps are the times the keyframes
 * are shown, and the cuts are full decoding's. Before, every such file was
 * decoded in full on its caps' profile alone (kFullAviBFrames). */
TEST(ClipAnalysis, AviMpeg4WithoutBFramesTakesTheKeyframePath)
{
  if (!gst_registry_check_feature_version(gst_registry_get(), "avenc_mpeg4", 1, 0, 0) ||
      !gst_registry_check_feature_version(gst_registry_get(), "avdec_mpeg4", 1, 0, 0))
    GTEST_SKIP() << "avenc_mpeg4 or avdec_mpeg4 missing";
  TempDir tmp;
  ASSERT_NE(tmp.dir, nullptr);
  const std::string path = tmp.add("no-bframes.avi");
  ASSERT_TRUE(encode_mpeg4_avi(path, "max-bframes=0 flags=qpel"));
  ASSERT_EQ(parsed_mpeg4_profile(path), "advanced-simple");

  montage::ClipAnalysis full, aut;
  montage::ClipAnalyseStats stats, auto_stats;
  ASSERT_TRUE(analyse(path, {}, kFull, full, stats));
  EXPECT_EQ(frames_of(full), (std::vector<long>{40, 80, 120}));
  ASSERT_TRUE(analyse(path, {}, ClipAnalyseOptions::Mode::kAuto, aut, auto_stats));
  EXPECT_EQ(auto_stats.path, montage::ClipAnalysePath::kKeyframes)
      << montage::clip_analyse_path_text(auto_stats.path);
  EXPECT_EQ(aut.cuts, full.cuts);
  EXPECT_EQ(aut.first_frame, full.first_frame);
  EXPECT_EQ(aut.duration, full.duration);
  EXPECT_LT(auto_stats.frames_decoded, stats.frames_decoded);
}

/* OpenCV's vtest.avi is DivX 3 (fourcc DIV3: Microsoft's MPEG-4 v3, which
 * has no B-frames; avidemux gives video/x-divx divxversion=3, no profile):
 * the keyframe path, with full decoding's cuts and 4 keyframes of its 795
 * frames decoded before the runs. It was decoded in full as MPEG-4 Part 2
 * that may hold B-frames, about 4x the analysis time. Megamind.avi (Xvid,
 * packed B-frames) stays with full decoding. */
TEST(ClipAnalysis, AviRouteFollowsTheStreamsBFrames)
{
  const std::string vtest = montage_test::media_path("vtest.avi");
  const std::string megamind = montage_test::media_path("Megamind.avi");
  if (vtest.empty() || megamind.empty())
    GTEST_SKIP() << "vtest.avi or Megamind.avi missing (scripts/fetch-media.sh)";
  montage::ClipAnalysis full, aut;
  montage::ClipAnalyseStats stats, auto_stats;
  ASSERT_TRUE(analyse(vtest, {}, kFull, full, stats));
  ASSERT_TRUE(analyse(vtest, {}, ClipAnalyseOptions::Mode::kAuto, aut, auto_stats));
  EXPECT_EQ(auto_stats.path, montage::ClipAnalysePath::kKeyframes)
      << montage::clip_analyse_path_text(auto_stats.path);
  EXPECT_EQ(aut.cuts, full.cuts);
  EXPECT_EQ(aut.first_frame, full.first_frame);
  EXPECT_EQ(aut.duration, full.duration);
  EXPECT_LT(auto_stats.frames_decoded, stats.frames_decoded);

  ASSERT_TRUE(analyse(megamind, {}, ClipAnalyseOptions::Mode::kAuto, aut, auto_stats));
  EXPECT_EQ(auto_stats.path, montage::ClipAnalysePath::kFullAviBFrames)
      << montage::clip_analyse_path_text(auto_stats.path);
  EXPECT_EQ(frames_of(aut), (std::vector<long>{98, 154, 200}));
}

/* avi_keyframes_detail::holds_b_vop() on hand-made VOP headers
 * (vop_start_code 00 00 01 B6, then vop_coding_type in the next byte's top
 * two bits: ISO/IEC 14496-2, 6.2.5), and which caps may hold B-frames. */
TEST(AviKeyframes, BVopsAreReadFromVopHeaders)
{
  using montage::avi_keyframes_detail::holds_b_vop;
  auto has_b = [](std::vector<guint8> bytes) { return holds_b_vop(bytes.data(), bytes.size()); };
  /* VOL header bytes then an I-VOP, a P-VOP, a B-VOP, an S-VOP. */
  EXPECT_FALSE(has_b({0, 0, 1, 0x20, 0x08, 0xd4, 0, 0, 1, 0xb6, 0x10, 0x55}));
  EXPECT_FALSE(has_b({0, 0, 1, 0xb6, 0x50, 0x11, 0x22}));
  EXPECT_TRUE(has_b({0, 0, 1, 0xb6, 0x90, 0x11}));
  EXPECT_FALSE(has_b({0, 0, 1, 0xb6, 0xd0, 0x11}));
  /* Packed bitstream: a P-VOP with a B-VOP after its data. */
  EXPECT_TRUE(has_b({0, 0, 1, 0xb6, 0x50, 0xff, 0x12, 0x34, 0x80, 0, 0, 1, 0xb6, 0x80}));
  /* The B-VOP's prefix right after bytes the scan skips. */
  EXPECT_TRUE(has_b({0x33, 0x44, 0x55, 0, 0, 1, 0xb6, 0xbf}));
  EXPECT_TRUE(has_b({0x33, 0x44, 0, 0, 0, 1, 0xb6, 0xbf}));
  /* Not a VOP start code (user data 0xb2), a header cut off, nothing. */
  EXPECT_FALSE(has_b({0, 0, 1, 0xb2, 0x80, 0x80}));
  EXPECT_FALSE(has_b({0x80, 0, 0, 1, 0xb6}));
  EXPECT_FALSE(holds_b_vop(nullptr, 0));

  using montage::avi_keyframes_detail::mpeg4_part2_with_b_frames;
  auto may = [](const char *caps) {
    GstCaps *c = gst_caps_from_string(caps);
    const bool r = mpeg4_part2_with_b_frames(c);
    gst_caps_unref(c);
    return r;
  };
  EXPECT_TRUE(may("video/mpeg, mpegversion=4, systemstream=false"));
  EXPECT_TRUE(may("video/mpeg, mpegversion=4, systemstream=false, profile=advanced-simple"));
  EXPECT_FALSE(may("video/mpeg, mpegversion=4, systemstream=false, profile=simple"));
  EXPECT_TRUE(may("video/x-xvid"));
  EXPECT_TRUE(may("video/x-divx, divxversion=5"));
  EXPECT_TRUE(may("video/x-divx, divxversion=4"));
  EXPECT_FALSE(may("video/x-divx, divxversion=3"));
  EXPECT_FALSE(may("video/x-h264"));
  EXPECT_FALSE(mpeg4_part2_with_b_frames(nullptr));
}
