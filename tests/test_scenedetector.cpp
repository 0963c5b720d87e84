/* Tests for montage::SceneDetector and its helpers (plain C++, no pipeline). */
#include <gtest/gtest.h>

#include <gst/montage/scenedetector.h>

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <deque>
#include <set>
#include <utility>
#include <vector>

using montage::AnalysisViewBuilder;
using montage::ContentScorer;
using montage::FrameScorer;
using montage::FrameView;
using montage::SceneDetector;
using montage::SceneDetectorSettings;

namespace
{

/* One frame of a synthetic clip: shot `shot` is a tinted, moving sinusoidal
 * texture (its own hue, saturation, spatial frequency and direction) with
 * Gaussian noise, so frames inside a shot differ (motion, noise) and frames
 * across a cut differ more. BGR, CV_8UC3. */
cv::Mat synthetic_frame(int shot, int t, cv::Size size, cv::RNG &rng)
{
  static const int hues[] = {10, 70, 130, 40, 100, 160};
  static const int sats[] = {200, 150, 230, 120, 180, 210};
  const int hue = hues[shot % 6];
  const int sat = sats[shot % 6];
  const double period = 20.0 + 9.0 * (shot % 4);
  const double angle = 0.7 * shot;
  const double fx = std::cos(angle) / period, fy = std::sin(angle) / period;
  cv::Mat hsv(size, CV_8UC3);
  for (int y = 0; y < size.height; y++) {
    auto *row = hsv.ptr<cv::Vec3b>(y);
    for (int x = 0; x < size.width; x++) {
      const double phase = 2.0 * M_PI * (fx * (x + 1.5 * t) + fy * (y + 0.5 * t));
      const double v = 128.0 + 90.0 * std::sin(phase) * (0.6 + 0.4 * std::cos(0.05 * x));
      row[x] = cv::Vec3b((uchar)hue, (uchar)sat, cv::saturate_cast<uchar>(v));
    }
  }
  cv::Mat bgr;
  cv::cvtColor(hsv, bgr, cv::COLOR_HSV2BGR);
  cv::Mat noise(size, CV_16SC3);
  rng.fill(noise, cv::RNG::NORMAL, 0, 6);
  cv::Mat noisy;
  bgr.convertTo(noisy, CV_16SC3);
  noisy += noise;
  noisy.convertTo(bgr, CV_8UC3);
  return bgr;
}

/* Shot index of frame i for a clip cut at `cuts` (frame numbers). */
int shot_of(int i, const std::vector<int> &cuts)
{
  int s = 0;
  for (int c : cuts)
    if (i >= c)
      s++;
  return s;
}

constexpr GstClockTime kFrame = GST_SECOND / 25;

/* Runs a synthetic clip through builder + detector as BGR; returns the cut frames. */
std::vector<int> detect(const std::vector<int> &cuts, int n_frames, cv::Size size,
                        SceneDetectorSettings settings, GstClockTime t0,
                        std::vector<double> *scores = nullptr)
{
  cv::RNG rng(1234);
  AnalysisViewBuilder builder;
  SceneDetector detector(settings);
  std::vector<int> found;
  cv::Mat hsv;
  for (int i = 0; i < n_frames; i++) {
    cv::Mat bgr = synthetic_frame(shot_of(i, cuts), i, size, rng);
    EXPECT_TRUE(builder.build(FrameView::packed_rgb(bgr, 2, 1, 0), hsv));
    auto d = detector.push(hsv, t0 + i * kFrame);
    if (scores)
      scores->push_back(d.score);
    if (d.cut)
      found.push_back(i);
  }
  return found;
}

/* A FrameScorer that returns scripted scores (to test SceneDetector alone). */
class ScriptedScorer : public FrameScorer
{
public:
  explicit ScriptedScorer(std::deque<double> scores) : scores_(std::move(scores)) {}
  std::optional<double> score(const cv::Mat &) override
  {
    if (first_) {
      first_ = false;
      return std::nullopt;
    }
    double s = scores_.empty() ? 0.0 : scores_.front();
    if (!scores_.empty())
      scores_.pop_front();
    return s;
  }
  void reset() override { first_ = true; }
  const char *name() const override { return "scripted"; }

private:
  std::deque<double> scores_;
  bool first_ = true;
};

} // namespace

TEST(ContentScorer, MeanAbsoluteHsvDifference)
{
  ContentScorer scorer;
  cv::Mat a(16, 24, CV_8UC3, cv::Scalar(10, 20, 30));
  cv::Mat b(16, 24, CV_8UC3, cv::Scalar(40, 80, 120));
  EXPECT_FALSE(scorer.score(a).has_value()) << "first frame has nothing to compare with";
  auto s = scorer.score(b);
  ASSERT_TRUE(s.has_value());
  EXPECT_DOUBLE_EQ(*s, (30.0 + 60.0 + 90.0) / 3.0);
  s = scorer.score(b);
  ASSERT_TRUE(s.has_value());
  EXPECT_DOUBLE_EQ(*s, 0.0);
  /* Half the pixels change by 90 in V only: mean 45 on V, 15 overall. */
  cv::Mat c = b.clone();
  c(cv::Rect(0, 0, 12, 16)).setTo(cv::Scalar(40, 80, 210));
  s = scorer.score(c);
  ASSERT_TRUE(s.has_value());
  EXPECT_DOUBLE_EQ(*s, 15.0);
}

TEST(ContentScorer, WeightsAndLumaOnly)
{
  cv::Mat a(8, 8, CV_8UC3, cv::Scalar(0, 0, 0));
  cv::Mat b(8, 8, CV_8UC3, cv::Scalar(30, 60, 90));
  ContentScorer luma(ContentScorer::kLumaOnly);
  luma.score(a);
  EXPECT_DOUBLE_EQ(*luma.score(b), 90.0);
  ContentScorer hue_twice({2.0, 1.0, 0.0});
  hue_twice.score(a);
  EXPECT_DOUBLE_EQ(*hue_twice.score(b), (2.0 * 30.0 + 60.0) / 3.0);
  ContentScorer none({0.0, -1.0, 0.0});
  EXPECT_DOUBLE_EQ(none.weights().hue, 1.0) << "all-zero weights fall back to the defaults";
  none.score(a);
  EXPECT_DOUBLE_EQ(*none.score(b), 60.0);
}

TEST(ContentScorer, SizeChangeAndResetRestart)
{
  ContentScorer scorer;
  cv::Mat a(16, 24, CV_8UC3, cv::Scalar(1, 2, 3));
  cv::Mat b(17, 24, CV_8UC3, cv::Scalar(1, 2, 3));
  EXPECT_FALSE(scorer.score(a).has_value());
  EXPECT_FALSE(scorer.score(b).has_value());
  EXPECT_TRUE(scorer.score(b).has_value());
  scorer.reset();
  EXPECT_FALSE(scorer.score(b).has_value());
  EXPECT_FALSE(scorer.score(cv::Mat(4, 4, CV_8UC1)).has_value()) << "wrong type";
}

TEST(AnalysisViewBuilder, SizeKeepsAspectAndSmallFrames)
{
  AnalysisViewBuilder b;
  EXPECT_EQ(b.analysis_size({1920, 1080}), cv::Size(256, 144));
  EXPECT_EQ(b.analysis_size({3840, 2160}), cv::Size(256, 144));
  EXPECT_EQ(b.analysis_size({720, 528}), cv::Size(256, 188));
  EXPECT_EQ(b.analysis_size({321, 241}), cv::Size(256, 192));
  EXPECT_EQ(b.analysis_size({200, 100}), cv::Size(200, 100));
  EXPECT_EQ(b.analysis_size({4000, 1}), cv::Size(256, 1));
  AnalysisViewBuilder tiny(1);
  EXPECT_EQ(tiny.max_width(), 8);
}

TEST(AnalysisViewBuilder, LayoutsOfOneFrameAgree)
{
  cv::RNG rng(7);
  const cv::Size size(322, 242); /* even: OpenCV's I420 conversion needs it */
  cv::Mat bgr = synthetic_frame(2, 3, size, rng);
  AnalysisViewBuilder builder;

  cv::Mat from_bgr, from_i420, from_nv12, from_nv21, from_xrgb;
  ASSERT_TRUE(builder.build(FrameView::packed_rgb(bgr, 2, 1, 0), from_bgr));
  EXPECT_EQ(from_bgr.type(), CV_8UC3);
  EXPECT_EQ(from_bgr.size(), cv::Size(256, 192));

  /* OpenCV's BGR -> I420 is BT.601 limited range, as decoders give. */
  cv::Mat i420;
  cv::cvtColor(bgr, i420, cv::COLOR_BGR2YUV_I420);
  const int w = size.width, h = size.height;
  cv::Mat y = i420.rowRange(0, h);
  cv::Mat u(h / 2, w / 2, CV_8UC1, i420.ptr(h), w / 2);
  cv::Mat v(h / 2, w / 2, CV_8UC1, i420.ptr(h) + (w / 2) * (h / 2), w / 2);
  ASSERT_TRUE(builder.build(FrameView::yuv_planar(y, u, v), from_i420));

  cv::Mat uv, vu;
  cv::Mat uv_planes[] = {u, v}, vu_planes[] = {v, u};
  cv::merge(uv_planes, 2, uv);
  cv::merge(vu_planes, 2, vu);
  ASSERT_TRUE(builder.build(FrameView::yuv_semi_planar(y, uv, false), from_nv12));
  ASSERT_TRUE(builder.build(FrameView::yuv_semi_planar(y, vu, true), from_nv21));

  /* xRGB with a padded stride: a view on a wider buffer. */
  cv::Mat wide(h, w + 5, CV_8UC4, cv::Scalar(255, 0, 0, 0));
  cv::Mat xrgb = wide.colRange(0, w);
  const int to_xrgb[] = {2, 1, 1, 2, 0, 3};
  cv::mixChannels(&bgr, 1, &xrgb, 1, to_xrgb, 3);
  ASSERT_TRUE(builder.build(FrameView::packed_rgb(xrgb, 1, 2, 3), from_xrgb));

  EXPECT_EQ(cv::norm(from_bgr, from_xrgb, cv::NORM_INF), 0.0);
  EXPECT_EQ(cv::norm(from_nv12, from_i420, cv::NORM_INF), 0.0);
  EXPECT_EQ(cv::norm(from_nv21, from_i420, cv::NORM_INF), 0.0);
  /* 4:2:0 chroma averages the pixel noise away (and rounding differs): the
   * content score between the YUV and RGB views of one noisy frame is a few
   * units (3.8 measured), far below a cut. Flat colours agree within 1. */
  ContentScorer scorer;
  scorer.score(from_bgr);
  auto s = scorer.score(from_i420);
  ASSERT_TRUE(s.has_value());
  EXPECT_LT(*s, 6.0);
}

TEST(AnalysisViewBuilder, GrayIsValueOnlyAndFullRange)
{
  cv::Mat y(10, 20, CV_8UC1, cv::Scalar(16));
  y(cv::Rect(10, 0, 10, 10)).setTo(235);
  AnalysisViewBuilder builder;
  cv::Mat hsv;
  ASSERT_TRUE(builder.build(FrameView::gray(y), hsv));
  ASSERT_EQ(hsv.size(), y.size());
  EXPECT_EQ(hsv.at<cv::Vec3b>(5, 2), cv::Vec3b(0, 0, 0));
  EXPECT_EQ(hsv.at<cv::Vec3b>(5, 15), cv::Vec3b(0, 0, 255));
}

/* A view marked full_range keeps its samples as they are: grey and Y'CbCr
 * made with OpenCV's full-range BT.601 conversion give the same picture as
 * the RGB frame they came from. */
TEST(AnalysisViewBuilder, FullRangeSamplesAreNotExpanded)
{
  cv::Mat y(10, 20, CV_8UC1, cv::Scalar(16));
  y(cv::Rect(10, 0, 10, 10)).setTo(200);
  FrameView grey = FrameView::gray(y);
  grey.full_range = true;
  AnalysisViewBuilder builder;
  cv::Mat hsv;
  ASSERT_TRUE(builder.build(grey, hsv));
  EXPECT_EQ(hsv.at<cv::Vec3b>(5, 2), cv::Vec3b(0, 0, 16));
  EXPECT_EQ(hsv.at<cv::Vec3b>(5, 15), cv::Vec3b(0, 0, 200));

  cv::Mat bgr(64, 96, CV_8UC3, cv::Scalar(40, 120, 220));      /* orange */
  bgr(cv::Rect(48, 0, 48, 64)).setTo(cv::Scalar(200, 90, 30)); /* blue */
  cv::Mat from_bgr, from_yuv, ycrcb;
  ASSERT_TRUE(builder.build(FrameView::packed_rgb(bgr, 2, 1, 0), from_bgr));
  cv::cvtColor(bgr, ycrcb, cv::COLOR_BGR2YCrCb); /* BT.601, full range */
  cv::Mat planes[3];
  cv::split(ycrcb, planes);
  FrameView yuv = FrameView::yuv_planar(planes[0], planes[2], planes[1]); /* Y444 */
  yuv.full_range = true;
  ASSERT_TRUE(builder.build(yuv, from_yuv));
  EXPECT_LE(cv::norm(from_bgr, from_yuv, cv::NORM_INF), 2.0);
  yuv.full_range = false;
  ASSERT_TRUE(builder.build(yuv, from_yuv));
  EXPECT_GT(cv::norm(from_bgr, from_yuv, cv::NORM_INF), 10.0) << "the range flag changes nothing";
}

TEST(AnalysisViewBuilder, RejectsInvalidViews)
{
  AnalysisViewBuilder builder;
  cv::Mat hsv(4, 4, CV_8UC3);
  EXPECT_FALSE(builder.build(FrameView::gray(cv::Mat()), hsv));
  EXPECT_TRUE(hsv.empty());
  EXPECT_FALSE(builder.build(FrameView::gray(cv::Mat(4, 4, CV_16UC1)), hsv));
  cv::Mat y(8, 8, CV_8UC1), c(4, 4, CV_8UC1), big(9, 9, CV_8UC1);
  EXPECT_FALSE(builder.build(FrameView::yuv_planar(y, c, cv::Mat()), hsv));
  EXPECT_FALSE(builder.build(FrameView::yuv_planar(y, big, big), hsv));
  EXPECT_FALSE(builder.build(FrameView::yuv_semi_planar(y, c, false), hsv))
      << "uv must be 2-channel";
  EXPECT_FALSE(builder.build(FrameView::packed_rgb(cv::Mat(4, 4, CV_8UC4), 0, 1, 4), hsv));
  EXPECT_FALSE(builder.build(FrameView::packed_rgb(cv::Mat(4, 4, CV_8UC3), 0, 0, 2), hsv));
  EXPECT_FALSE(builder.build(FrameView::packed_rgb(cv::Mat(4, 4, CV_8UC1), 0, 0, 0), hsv));
  EXPECT_TRUE(builder.build(FrameView::yuv_planar(y, c, c), hsv));
}

TEST(SceneDetector, FindsEveryHardCutAtItsFrame)
{
  const std::vector<int> cuts = {20, 47, 90};
  std::vector<double> scores;
  auto found = detect(cuts, 120, {320, 240}, {}, 10 * GST_SECOND, &scores);
  EXPECT_EQ(found, cuts);
  /* The synthetic shots are not trivially easy: motion and noise score well
   * above zero inside shots, and cuts well above the threshold. */
  double max_inside = 0.0;
  for (int i = 1; i < 120; i++)
    if (std::find(cuts.begin(), cuts.end(), i) == cuts.end())
      max_inside = std::max(max_inside, scores[i]);
    else
      EXPECT_GT(scores[i], 35.0) << "cut at frame " << i;
  EXPECT_GT(max_inside, 3.0);
  EXPECT_LT(max_inside, 20.0);
}

TEST(SceneDetector, OddSizeI420)
{
  /* 321x241 I420: chroma planes 161x121, rows padded to 4 bytes as GStreamer does. */
  const cv::Size size(321, 241);
  const std::vector<int> cuts = {15, 40};
  cv::RNG rng(99);
  AnalysisViewBuilder builder;
  SceneDetector detector;
  std::vector<int> found;
  cv::Mat hsv, i420;
  for (int i = 0; i < 60; i++) {
    cv::Mat bgr = synthetic_frame(shot_of(i, cuts), i, size, rng);
    cv::Mat even;
    cv::copyMakeBorder(bgr, even, 0, 1, 0, 1, cv::BORDER_REPLICATE);
    cv::cvtColor(even, i420, cv::COLOR_BGR2YUV_I420);
    const int ew = even.cols, eh = even.rows;
    cv::Mat ybuf(241, 324, CV_8UC1), ubuf(121, 164, CV_8UC1), vbuf(121, 164, CV_8UC1);
    i420.rowRange(0, 241).colRange(0, 321).copyTo(ybuf.colRange(0, 321));
    cv::Mat(eh / 2, ew / 2, CV_8UC1, i420.ptr(eh), ew / 2).copyTo(ubuf.colRange(0, 161));
    cv::Mat(eh / 2, ew / 2, CV_8UC1, i420.ptr(eh) + (ew / 2) * (eh / 2), ew / 2)
        .copyTo(vbuf.colRange(0, 161));
    FrameView view =
        FrameView::yuv_planar(ybuf.colRange(0, 321), ubuf.colRange(0, 161), vbuf.colRange(0, 161));
    ASSERT_TRUE(builder.build(view, hsv));
    if (detector.push(hsv, 3 * GST_SECOND + i * kFrame).cut)
      found.push_back(i);
  }
  EXPECT_EQ(found, cuts);
}

TEST(SceneDetector, MinShotLengthSuppressesCloseCuts)
{
  const std::vector<int> cuts = {20, 25, 60}; /* 25 is 200 ms after 20 */
  SceneDetectorSettings s;
  s.min_shot_length = 500 * GST_MSECOND;
  EXPECT_EQ(detect(cuts, 80, {160, 120}, s, 0), (std::vector<int>{20, 60}));
  s.min_shot_length = 0;
  EXPECT_EQ(detect(cuts, 80, {160, 120}, s, 0), cuts);
  s.min_shot_length = 200 * GST_MSECOND; /* exactly the gap: allowed */
  EXPECT_EQ(detect(cuts, 80, {160, 120}, s, 0), cuts);
  /* A cut 1.6 s after the start is suppressed when shots must last 2 s. */
  s.min_shot_length = 2 * GST_SECOND;
  EXPECT_EQ(detect(cuts, 80, {160, 120}, s, 0), (std::vector<int>{60}));
}

TEST(SceneDetector, ThresholdIsInclusiveAndFirstFrameNeverCuts)
{
  SceneDetectorSettings s;
  s.threshold = 27.0;
  s.min_shot_length = 0;
  SceneDetector d(s, std::make_unique<ScriptedScorer>(std::deque<double>{26.9, 27.0, 100.0}));
  EXPECT_STREQ(d.scorer().name(), "scripted");
  cv::Mat any(2, 2, CV_8UC3);
  auto first = d.push(any, 0);
  EXPECT_FALSE(first.cut);
  EXPECT_EQ(first.score, 0.0);
  auto a = d.push(any, kFrame);
  EXPECT_FALSE(a.cut);
  EXPECT_DOUBLE_EQ(a.score, 26.9);
  EXPECT_TRUE(d.push(any, 2 * kFrame).cut);
  EXPECT_TRUE(d.push(any, 3 * kFrame).cut);
  d.reset();
  EXPECT_FALSE(d.push(any, 4 * kFrame).cut) << "first frame after reset";
}

TEST(SceneDetector, BlackFirstFrameIsNotACut)
{
  /* Decoders often give a black first frame (Megamind.avi does): the change
   * to the picture on frame 1 scores far above the threshold but is inside
   * the minimum shot length counted from the stream start. */
  cv::RNG rng(5);
  AnalysisViewBuilder builder;
  SceneDetector detector;
  cv::Mat hsv;
  cv::Mat black(120, 160, CV_8UC3, cv::Scalar::all(0));
  ASSERT_TRUE(builder.build(FrameView::packed_rgb(black, 2, 1, 0), hsv));
  EXPECT_FALSE(detector.push(hsv, 0).cut);
  cv::Mat frame = synthetic_frame(0, 1, {160, 120}, rng);
  ASSERT_TRUE(builder.build(FrameView::packed_rgb(frame, 2, 1, 0), hsv));
  auto d = detector.push(hsv, kFrame);
  EXPECT_GT(d.score, 27.0);
  EXPECT_FALSE(d.cut);
}

TEST(SceneDetector, UnknownTimestampsSkipTheLengthTest)
{
  SceneDetectorSettings s;
  s.min_shot_length = GST_SECOND;
  SceneDetector d(s, std::make_unique<ScriptedScorer>(std::deque<double>{50, 50, 50}));
  cv::Mat any(2, 2, CV_8UC3);
  d.push(any, 0);
  EXPECT_FALSE(d.push(any, kFrame).cut) << "40 ms after the start";
  EXPECT_TRUE(d.push(any, GST_CLOCK_TIME_NONE).cut);
  EXPECT_TRUE(d.push(any, 2 * kFrame).cut) << "no valid previous cut to measure from";
}

TEST(SceneDetector, ReversePlaybackMeasuresAbsoluteDistance)
{
  SceneDetectorSettings s;
  s.min_shot_length = 500 * GST_MSECOND;
  SceneDetector d(s, std::make_unique<ScriptedScorer>(std::deque<double>{50, 50, 50}));
  cv::Mat any(2, 2, CV_8UC3);
  d.push(any, 10 * GST_SECOND);
  EXPECT_FALSE(d.push(any, 9800 * GST_MSECOND).cut);
  EXPECT_TRUE(d.push(any, 9 * GST_SECOND).cut);
  EXPECT_FALSE(d.push(any, 8800 * GST_MSECOND).cut);
}

TEST(SceneDetector, SizeChangeRestartsWithoutCut)
{
  SceneDetectorSettings s;
  s.min_shot_length = 0;
  SceneDetector d(s);
  cv::Mat a(10, 10, CV_8UC3, cv::Scalar::all(0)), b(12, 10, CV_8UC3, cv::Scalar::all(255));
  EXPECT_FALSE(d.push(a, 0).cut);
  EXPECT_FALSE(d.push(b, kFrame).cut);
  EXPECT_FALSE(d.push(a, 2 * kFrame).cut) << "size changed back: restart again";
  cv::Mat white(10, 10, CV_8UC3, cv::Scalar::all(255));
  EXPECT_TRUE(d.push(white, 3 * kFrame).cut) << "same size again: compared as usual";
}

TEST(MeanAbsDifference, EqualsAbsdiffThenMean)
{
  cv::RNG rng(23);
  for (int cn = 1; cn <= 4; cn++)
    for (int t = 0; t < 40; t++) {
      /* Widths around the 16- and 48-byte blocks, and views with padded rows. */
      const int w = t < 20 ? 1 + t * 3 : rng.uniform(1, 700), h = rng.uniform(1, 60);
      cv::Mat wide_a(h, w + 7, CV_8UC(cn)), wide_b(h, w + 7, CV_8UC(cn));
      rng.fill(wide_a, cv::RNG::UNIFORM, 0, 256);
      rng.fill(wide_b, cv::RNG::UNIFORM, 0, 256);
      if (t % 5 == 0)
        wide_b.setTo(cv::Scalar::all(255)); /* the largest differences */
      for (const bool padded : {false, true}) {
        const cv::Mat a = padded ? wide_a.colRange(3, 3 + w) : wide_a.colRange(0, w).clone();
        const cv::Mat b = padded ? wide_b.colRange(1, 1 + w) : wide_b.colRange(0, w).clone();
        cv::Mat d;
        cv::absdiff(a, b, d);
        const cv::Scalar expected = cv::mean(d), got = montage::mean_abs_difference(a, b);
        for (int c = 0; c < 4; c++)
          EXPECT_EQ(got[c], expected[c]) << cn << " channels, " << w << "x" << h << ", channel "
                                         << c << (padded ? ", padded rows" : "");
      }
    }
}

TEST(MeanAbsDifference, MismatchedInputsGiveZero)
{
  cv::Mat a(4, 4, CV_8UC3, cv::Scalar::all(9)), b(4, 5, CV_8UC3, cv::Scalar::all(0));
  EXPECT_EQ(montage::mean_abs_difference(a, b), cv::Scalar::all(0));
  cv::Mat g(4, 4, CV_8UC1, cv::Scalar::all(0));
  EXPECT_EQ(montage::mean_abs_difference(a, g), cv::Scalar::all(0));
  cv::Mat f(4, 4, CV_32FC3, cv::Scalar::all(1));
  EXPECT_EQ(montage::mean_abs_difference(f, f), cv::Scalar::all(0));
  EXPECT_EQ(montage::mean_abs_difference(cv::Mat(), cv::Mat()), cv::Scalar::all(0));
  EXPECT_EQ(montage::mean_abs_difference(a, cv::Mat(4, 4, CV_8UC3, cv::Scalar(0, 9, 20)))[0], 9.0);
}

/* The YUV view, written out the slow way: each view pixel is the rounded
 * mean of the two source pixels around its centre on the nearest source row
 * (the nearest pixel, twice, where the plane is not reduced), expanded from
 * limited to full range, then OpenCV's YCrCb -> BGR -> HSV. */
TEST(AnalysisViewBuilder, YuvViewIsTwoTapsOnTheNearestRow)
{
  auto taps = [](int n_src, int n_dst, int i, bool pair) {
    const double scale = (double)n_src / n_dst;
    if (scale <= 1.0 || !pair) {
      const int k = std::min(n_src - 1, (int)((i + 0.5) * scale));
      return std::make_pair(k, k);
    }
    const int k = std::clamp((int)std::floor((i + 0.5) * scale - 0.5), 0, n_src - 2);
    return std::make_pair(k, k + 1);
  };
  auto expand = [](int v, bool luma) {
    return luma ? cv::saturate_cast<guint8>(v * 255.0 / 219.0 - 16.0 * 255.0 / 219.0)
                : cv::saturate_cast<guint8>(v * 255.0 / 224.0 + 128.0 - 128.0 * 255.0 / 224.0);
  };
  cv::RNG rng(29);
  /* Views 256, 200, 203 and 250 wide: the sampling loop's last pixels of a
   * row are handled on their own when the width is not a multiple of 4. */
  const std::pair<cv::Size, int> cases[] = {{cv::Size(1921, 1081), 256},
                                            {cv::Size(641, 361), 256},
                                            {cv::Size(200, 90), 256},
                                            {cv::Size(203, 91), 256},
                                            {cv::Size(1921, 1081), 250}};
  for (const auto &[size, max_width] : cases) {
    const cv::Size csize((size.width + 1) / 2, (size.height + 1) / 2);
    cv::Mat y(size, CV_8UC1), u(csize, CV_8UC1), v(csize, CV_8UC1);
    rng.fill(y, cv::RNG::UNIFORM, 0, 256);
    rng.fill(u, cv::RNG::UNIFORM, 0, 256);
    rng.fill(v, cv::RNG::UNIFORM, 0, 256);
    AnalysisViewBuilder builder(max_width);
    cv::Mat hsv;
    ASSERT_TRUE(builder.build(FrameView::yuv_planar(y, u, v), hsv));
    const cv::Size out = builder.analysis_size(size);
    ASSERT_EQ(out.width, std::min(size.width, max_width));
    cv::Mat ycrcb(out, CV_8UC3), luma(out, CV_8UC1);
    for (int oy = 0; oy < out.height; oy++)
      for (int ox = 0; ox < out.width; ox++) {
        const int ly = taps(size.height, out.height, oy, false).first;
        const int cy = taps(csize.height, out.height, oy, false).first;
        const auto lx = taps(size.width, out.width, ox, true);
        const auto cx = taps(csize.width, out.width, ox, true);
        auto mean = [&](const cv::Mat &p, int row, std::pair<int, int> x) {
          return (p.at<guint8>(row, x.first) + p.at<guint8>(row, x.second) + 1) / 2;
        };
        luma.at<guint8>(oy, ox) = expand(mean(y, ly, lx), true);
        ycrcb.at<cv::Vec3b>(oy, ox) =
            cv::Vec3b(luma.at<guint8>(oy, ox), expand(mean(v, cy, cx), false),
                      expand(mean(u, cy, cx), false));
      }
    cv::Mat bgr, expected;
    cv::cvtColor(ycrcb, bgr, cv::COLOR_YCrCb2BGR);
    cv::cvtColor(bgr, expected, cv::COLOR_BGR2HSV);
    EXPECT_EQ(cv::norm(hsv, expected, cv::NORM_INF), 0.0) << size;
    EXPECT_EQ(cv::norm(builder.luma(), luma, cv::NORM_INF), 0.0) << size;
    EXPECT_EQ(cv::norm(builder.bgr(), bgr, cv::NORM_INF), 0.0) << size;
    /* Built into the caller's images (ShotDetector::push_views()): the same. */
    cv::Mat own_hsv, own_bgr;
    ASSERT_TRUE(builder.build(FrameView::yuv_planar(y, u, v), own_hsv, own_bgr));
    EXPECT_EQ(cv::norm(own_hsv, expected, cv::NORM_INF), 0.0) << size;
    EXPECT_EQ(cv::norm(own_bgr, bgr, cv::NORM_INF), 0.0) << size;
    EXPECT_TRUE(builder.bgr().empty());
    /* The same planes interleaved (NV12, NV21) give the same samples, when
     * reducing (two taps) and not (200 wide: one). */
    cv::Mat uv, vu, from_nv12, from_nv21;
    cv::Mat uv_planes[] = {u, v}, vu_planes[] = {v, u};
    cv::merge(uv_planes, 2, uv);
    cv::merge(vu_planes, 2, vu);
    ASSERT_TRUE(builder.build(FrameView::yuv_semi_planar(y, uv, false), from_nv12));
    EXPECT_EQ(cv::norm(from_nv12, expected, cv::NORM_INF), 0.0) << size;
    EXPECT_EQ(cv::norm(builder.luma(), luma, cv::NORM_INF), 0.0) << size;
    ASSERT_TRUE(builder.build(FrameView::yuv_semi_planar(y, vu, true), from_nv21));
    EXPECT_EQ(cv::norm(from_nv21, expected, cv::NORM_INF), 0.0) << size;
  }
}
