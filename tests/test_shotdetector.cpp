/* Tests for montage::ShotDetector (plain C++, no pipeline): hard cuts at
 * their frame with every detector, no cut on a flash, a cut away and straight
 * back or a fast pan, fades and dissolves reported as such, min-shot-length
 * merging, features. */
#include <gtest/gtest.h>

#include <gst/montage/shotdetector.h>
#include <gst/montage/shotmeta.h>

#include <opencv2/imgproc.hpp>

#include <cmath>
#include <functional>
#include <vector>

using montage::DetectorKind;
using montage::FrameVerdict;
using montage::ShotDetector;
using montage::ShotDetectorSettings;
using montage::Transition;

namespace
{

constexpr GstClockTime kFrame = GST_SECOND / 25;
const cv::Size kSize(192, 108);

/* Shot `shot` at time t: a window moving `pan` pixels per frame over a large
 * smooth random texture of the shot's own tint (like a camera panning over a
 * scene), plus sensor noise. BGR. */
cv::Mat shot_frame(int shot, int t, cv::RNG &rng, double pan = 1.5)
{
  static std::vector<cv::Mat> scenes;
  while ((int)scenes.size() <= shot) {
    const int k = (int)scenes.size();
    cv::RNG tex(1000 + k);
    cv::Mat grey(kSize.height * 2, kSize.width * 6, CV_32F);
    tex.fill(grey, cv::RNG::UNIFORM, 0.0, 1.0);
    cv::GaussianBlur(grey, grey, cv::Size(0, 0), 3.0 + k % 3);
    cv::normalize(grey, grey, 40, 220, cv::NORM_MINMAX);
    static const double tints[6][3] = {{0.9, 0.5, 0.2}, {0.3, 0.9, 0.4}, {0.2, 0.4, 1.0},
                                       {1.0, 0.8, 0.3}, {0.6, 0.2, 0.9}, {0.3, 0.9, 0.9}};
    cv::Mat bgr;
    cv::Mat planes[3] = {grey * tints[k % 6][2], grey * tints[k % 6][1], grey * tints[k % 6][0]};
    cv::merge(planes, 3, bgr);
    bgr.convertTo(bgr, CV_8UC3);
    scenes.push_back(bgr);
  }
  const cv::Mat &scene = scenes[shot];
  const int x = (int)std::lround(pan * t) % (scene.cols - kSize.width);
  const int y = (int)std::lround(0.3 * t) % (scene.rows - kSize.height);
  cv::Mat bgr = scene(cv::Rect(x, y, kSize.width, kSize.height)).clone();
  cv::Mat noise(kSize, CV_16SC3), n16;
  rng.fill(noise, cv::RNG::NORMAL, 0, 3);
  bgr.convertTo(n16, CV_16SC3);
  n16 += noise;
  n16.convertTo(bgr, CV_8UC3);
  return bgr;
}

struct Detected {
  std::vector<FrameVerdict> verdicts;
  std::vector<int> boundaries; /* frame numbers of boundary verdicts */
  std::vector<montage::Shot> shots;
};

/* Pushes n frames made by make(i) (BGR) through a detector. */
Detected detect(int n, const std::function<cv::Mat(int)> &make, ShotDetectorSettings settings = {})
{
  ShotDetector det(settings);
  montage::AnalysisViewBuilder builder;
  Detected run;
  cv::Mat hsv;
  for (int i = 0; i < n; i++) {
    cv::Mat bgr = make(i);
    EXPECT_TRUE(builder.build(montage::FrameView::packed_rgb(bgr, 2, 1, 0), hsv));
    const size_t before = run.verdicts.size();
    EXPECT_TRUE(det.push(hsv, builder.luma(), builder.bgr(), i * kFrame, kFrame, run.verdicts));
    EXPECT_LE(run.verdicts.size(), before + 1);
  }
  det.finish(run.verdicts);
  if (getenv("SD_DEBUG"))
    for (size_t i = 0; i < run.verdicts.size(); i++)
      if (run.verdicts[i].boundary)
        fprintf(stderr, "boundary at %zu: %s %.1f-%.1f score %.2f\n", i,
                montage::transition_name(run.verdicts[i].shot.transition),
                (double)run.verdicts[i].shot.transition_start / kFrame,
                (double)run.verdicts[i].shot.transition_end / kFrame, run.verdicts[i].score);
  EXPECT_EQ(run.verdicts.size(), (size_t)n) << "one verdict per frame";
  for (size_t i = 0; i < run.verdicts.size(); i++) {
    EXPECT_EQ(run.verdicts[i].timestamp, i * kFrame);
    if (run.verdicts[i].boundary)
      run.boundaries.push_back((int)i);
    if (run.verdicts[i].ended)
      run.shots.push_back(*run.verdicts[i].ended);
  }
  return run;
}

int shot_of(int i, const std::vector<int> &cuts)
{
  int s = 0;
  for (int c : cuts)
    s += i >= c;
  return s;
}

} // namespace

TEST(ShotDetector, EveryDetectorFindsHardCutsAtTheirFrame)
{
  const std::vector<int> cuts = {20, 47, 80};
  for (DetectorKind kind : {DetectorKind::kAdaptive, DetectorKind::kContent,
                            DetectorKind::kHistogram, DetectorKind::kHash}) {
    cv::RNG rng(7);
    ShotDetectorSettings s;
    s.detector = kind;
    Detected run = detect(110, [&](int i) { return shot_frame(shot_of(i, cuts), i, rng); }, s);
    EXPECT_EQ(run.boundaries, cuts) << montage::detector_kind_name(kind);
    ASSERT_EQ(run.shots.size(), cuts.size() + 1);
    EXPECT_EQ(run.shots.back().end, 110 * kFrame);
    for (size_t k = 1; k < run.shots.size(); k++) {
      EXPECT_EQ(run.shots[k].start, cuts[k - 1] * kFrame);
      EXPECT_EQ(run.shots[k].transition, Transition::kCut);
      EXPECT_EQ(run.shots[k - 1].end, run.shots[k].start);
    }
  }
}

TEST(ShotDetector, LatencyIsTheLookAhead)
{
  ShotDetectorSettings s;
  EXPECT_EQ(ShotDetector(s).latency_frames(), 3);
  s.flash_frames = 0;
  EXPECT_EQ(ShotDetector(s).latency_frames(), 2) << "adaptive window";
  s.detector = DetectorKind::kContent;
  EXPECT_EQ(ShotDetector(s).latency_frames(), 0);
}

TEST(ShotDetector, FlashAndCutAwayAndBackAreNoCuts)
{
  const std::vector<int> cuts = {60};
  for (int len : {1, 2, 3}) {
    cv::RNG rng(3);
    /* A white flash of `len` frames at frame 25, an insert of another shot
     * at frame 40 for `len` frames, a real cut at 60. */
    Detected run = detect(90, [&](int i) {
      if (i >= 25 && i < 25 + len)
        return cv::Mat(kSize, CV_8UC3, cv::Scalar::all(250));
      if (i >= 40 && i < 40 + len)
        return shot_frame(4, i, rng);
      return shot_frame(shot_of(i, cuts), i, rng);
    });
    EXPECT_EQ(run.boundaries, cuts) << "flash/insert of " << len << " frames";
  }
  /* Without look-ahead the flash is a cut. */
  cv::RNG rng(3);
  ShotDetectorSettings s;
  s.detector = DetectorKind::kContent;
  s.flash_frames = 0;
  s.min_shot_length = 0;
  Detected run = detect(50, [&](int i) {
    return i == 25 ? cv::Mat(kSize, CV_8UC3, cv::Scalar::all(250)) : shot_frame(0, i, rng);
  }, s);
  EXPECT_FALSE(run.boundaries.empty()) << "the test's flash must be big enough to matter";
}

TEST(ShotDetector, FastPanIsNoCut)
{
  cv::RNG rng(5);
  Detected run = detect(80, [&](int i) { return shot_frame(1, i, rng, 9.0); });
  EXPECT_TRUE(run.boundaries.empty());
}

TEST(ShotDetector, DissolveIsReportedAsOne)
{
  cv::RNG rng(11);
  const int s0 = 40, len = 20;
  Detected run = detect(110, [&](int i) {
    if (i < s0)
      return shot_frame(0, i, rng, 0.3);
    if (i >= s0 + len)
      return shot_frame(2, i, rng, 0.3);
    const double a = (double)(i - s0 + 1) / (len + 1);
    cv::Mat out;
    cv::addWeighted(shot_frame(0, i, rng, 0.3), 1 - a, shot_frame(2, i, rng, 0.3), a, 0, out);
    return out;
  });
  ASSERT_EQ(run.boundaries.size(), 1u) << "one boundary, no hard cut";
  ASSERT_EQ(run.shots.size(), 2u);
  const montage::Shot &b = run.shots[1];
  EXPECT_EQ(b.transition, Transition::kDissolve);
  EXPECT_NEAR((double)b.transition_start / kFrame, s0, len / 4.0);
  EXPECT_NEAR((double)b.transition_end / kFrame, s0 + len, len / 4.0);
  EXPECT_EQ(b.start, b.transition_start);
  EXPECT_EQ(run.shots[0].end, b.start);
}

TEST(ShotDetector, FadeOutAndInIsOneFade)
{
  cv::RNG rng(13);
  /* Fade out over 15 frames from 30, 10 black frames, fade in over 15. */
  Detected run = detect(120, [&](int i) {
    double gain = 1.0;
    int shot = i < 55 ? 0 : 1;
    if (i >= 30 && i < 45)
      gain = 1.0 - (i - 29) / 16.0;
    else if (i >= 45 && i < 55)
      gain = 0.0;
    else if (i >= 55 && i < 70)
      gain = (i - 54) / 16.0;
    cv::Mat f = shot_frame(shot, i, rng, 0.3);
    f.convertTo(f, CV_8UC3, gain);
    return f;
  });
  ASSERT_EQ(run.shots.size(), 2u) << "one boundary";
  EXPECT_EQ(run.shots[1].transition, Transition::kFade);
  EXPECT_NEAR((double)run.shots[1].transition_start / kFrame, 30, 5);
  EXPECT_NEAR((double)run.shots[1].transition_end / kFrame, 70, 5);
}

TEST(ShotDetector, MinShotLengthMergesWithoutLosingTheFirstCut)
{
  const std::vector<int> cuts = {20, 26, 60};
  cv::RNG rng(17);
  Detected run = detect(80, [&](int i) { return shot_frame(shot_of(i, cuts), i, rng); });
  EXPECT_EQ(run.boundaries, (std::vector<int>{20, 60}));
  ASSERT_EQ(run.shots.size(), 3u);
  EXPECT_EQ(run.shots[1].start, 20 * kFrame);
  EXPECT_EQ(run.shots[1].end, 60 * kFrame) << "the short shot is merged, its frames kept";
}

TEST(ShotDetector, FeaturesDescribeTheShot)
{
  cv::RNG rng(19);
  const std::vector<int> cuts = {30};
  Detected run = detect(60, [&](int i) {
    if (i < 30) /* still, flat, dark grey: no motion, no sharpness, no colour */
      return cv::Mat(kSize, CV_8UC3, cv::Scalar::all(60));
    return shot_frame(1, i, rng, 4.0);
  });
  ASSERT_EQ(run.shots.size(), 2u);
  const montage::ShotFeatures &a = run.shots[0].features, &b = run.shots[1].features;
  ASSERT_TRUE(run.shots[0].has_features && run.shots[1].has_features);
  EXPECT_LT(a.motion_mean, 0.5);
  EXPECT_GT(b.motion_mean, 5.0);
  EXPECT_GE(b.motion_peak, b.motion_mean);
  EXPECT_LT(a.sharpness, 1.0);
  EXPECT_GT(b.sharpness, 20.0);
  EXPECT_NEAR(a.brightness, 60.0, 2.0);
  EXPECT_LT(a.contrast, 1.0);
  EXPECT_LT(a.colourfulness, 1.0);
  EXPECT_GT(b.colourfulness, 20.0);
  ASSERT_EQ(b.histogram.size(), (size_t)montage::kShotHistogramBins);
  double sum = 0;
  for (float v : b.histogram)
    sum += v;
  EXPECT_NEAR(sum, 1.0, 1e-4);
  EXPECT_GE(b.best_inpoint, 30 * kFrame);
  EXPECT_LT(b.best_inpoint, 60 * kFrame);
}

TEST(ShotDetector, NamesRoundTrip)
{
  for (DetectorKind k : {DetectorKind::kAdaptive, DetectorKind::kContent, DetectorKind::kHistogram,
                         DetectorKind::kHash}) {
    DetectorKind back = DetectorKind::kContent;
    EXPECT_TRUE(montage::detector_kind_from_name(montage::detector_kind_name(k), back));
    EXPECT_EQ(back, k);
  }
  DetectorKind untouched = DetectorKind::kHash;
  EXPECT_FALSE(montage::detector_kind_from_name("nope", untouched));
  EXPECT_EQ(untouched, DetectorKind::kHash);
}
