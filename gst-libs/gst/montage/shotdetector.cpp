/* gst-montage: shot boundaries and shot features (see shotdetector.h). */
#include <gst/montage/shotdetector.h>

#include <opencv2/core/hal/intrin.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace montage
{

/* ---- names and defaults ---- */

const char *detector_kind_name(DetectorKind kind)
{
  switch (kind) {
  case DetectorKind::kContent:
    return "content";
  case DetectorKind::kAdaptive:
    return "adaptive";
  case DetectorKind::kHistogram:
    return "histogram";
  case DetectorKind::kHash:
    return "hash";
  }
  return "adaptive";
}

bool detector_kind_from_name(const char *name, DetectorKind &kind)
{
  if (!name)
    return false;
  for (DetectorKind k : {DetectorKind::kContent, DetectorKind::kAdaptive, DetectorKind::kHistogram,
                         DetectorKind::kHash})
    if (std::strcmp(name, detector_kind_name(k)) == 0) {
      kind = k;
      return true;
    }
  return false;
}

double default_threshold(DetectorKind kind)
{
  switch (kind) {
  case DetectorKind::kContent:
    return 27.0;
  case DetectorKind::kAdaptive:
    return 3.0;
  case DetectorKind::kHistogram:
    return 0.05;
  case DetectorKind::kHash:
    return 0.395;
  }
  return 3.0;
}

namespace
{

/* The luma (CV_8UC1) of a view that is either luma or HSV (V channel). */
bool luma_of(const cv::Mat &view, cv::Mat &luma)
{
  if (view.type() == CV_8UC1) {
    luma = view;
    return true;
  }
  if (view.type() == CV_8UC3) {
    cv::extractChannel(view, luma, 2);
    return true;
  }
  return false;
}

} // namespace

/* ---- HistogramScorer ---- */

std::optional<double> HistogramScorer::score(const cv::Mat &view)
{
  cv::Mat luma;
  if (view.empty() || !luma_of(view, luma)) {
    previous_.release();
    return std::nullopt;
  }
  std::optional<double> out;
  try {
    const int channels[] = {0};
    const int bins[] = {256};
    const float range[] = {0.0f, 256.0f};
    const float *ranges[] = {range};
    cv::calcHist(&luma, 1, channels, cv::Mat(), hist_, 1, bins, ranges);
    if (!previous_.empty())
      out = 1.0 - cv::compareHist(previous_, hist_, cv::HISTCMP_CORREL);
    hist_.copyTo(previous_);
  } catch (const cv::Exception &) {
    previous_.release();
    return std::nullopt;
  }
  return out;
}

/* ---- HashScorer ---- */

std::optional<double> HashScorer::score(const cv::Mat &view)
{
  constexpr int kSize = 16, kLowpass = 2;
  cv::Mat luma;
  if (view.empty() || !luma_of(view, luma)) {
    previous_.clear();
    return std::nullopt;
  }
  std::vector<bool> bits(kSize * kSize);
  try {
    cv::resize(luma, small_, cv::Size(kSize * kLowpass, kSize * kLowpass), 0, 0, cv::INTER_AREA);
    small_.convertTo(dct_, CV_32F, 1.0 / 255.0);
    cv::dct(dct_, dct_);
    cv::Mat low = dct_(cv::Rect(0, 0, kSize, kSize)).clone();
    std::vector<float> values(low.begin<float>(), low.end<float>());
    std::vector<float> sorted = values;
    std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
    const float median = sorted[sorted.size() / 2];
    for (size_t k = 0; k < values.size(); k++)
      bits[k] = values[k] > median;
  } catch (const cv::Exception &) {
    previous_.clear();
    return std::nullopt;
  }
  std::optional<double> out;
  if (!previous_.empty() && previous_size_ == view.size()) {
    size_t differ = 0;
    for (size_t k = 0; k < bits.size(); k++)
      differ += bits[k] != previous_[k];
    out = (double)differ / (double)bits.size();
  }
  previous_ = std::move(bits);
  previous_size_ = view.size();
  return out;
}

/* ---- features ---- */

namespace
{

/* Index of the neighbour `i` of a row or column of n samples, reflected at
 * the ends without repeating the edge (-1 -> 1, n -> n - 2; n == 1 -> 0). */
int reflect_101(int i, int n)
{
  if (n == 1)
    return 0;
  return i < 0 ? -i : (i >= n ? 2 * n - 2 - i : i);
}

} // namespace

double laplacian_variance(const cv::Mat &luma)
{
  if (luma.empty() || luma.type() != CV_8UC1)
    return 0.0;
  /* One pass, no intermediate image: each pixel's Laplacian (up + down +
   * left + right - 4 x centre, -1020..1020) is summed and squared in
   * integers, so the sums are exact; the variance is taken from them once.
   * This gives what cv::Laplacian into CV_16S then cv::meanStdDev gives
   * (to the last bits of the double) at a fifth of the cost: meanStdDev has
   * no vector path for 16-bit images. */
  const int rows = luma.rows, cols = luma.cols;
  gint64 sum = 0, squares = 0;
  for (int y = 0; y < rows; y++) {
    const guint8 *up = luma.ptr<guint8>(reflect_101(y - 1, rows));
    const guint8 *row = luma.ptr<guint8>(y);
    const guint8 *down = luma.ptr<guint8>(reflect_101(y + 1, rows));
    auto at = [&](int x) {
      return (int)up[x] + down[x] + row[reflect_101(x - 1, cols)] + row[reflect_101(x + 1, cols)] -
             4 * row[x];
    };
    auto add = [&](int v) {
      sum += v;
      squares += (gint64)v * v;
    };
    add(at(0));
    int x = 1;
#if CV_SIMD128
    /* 8 inner pixels at a time, in 16-bit lanes; the sums go to 32-bit
     * lanes (squares in pairs, at most 2 x 1020^2 a lane per step) and are
     * flushed every 256 steps, far below 2^31. */
    const cv::v_int16x8 four = cv::v_setall_s16(4);
    cv::v_int32x4 acc_sum = cv::v_setzero_s32(), acc_sq = cv::v_setzero_s32();
    int steps = 0;
    for (; x + 8 < cols; x += 8) {
      auto load = [](const guint8 *p) { return cv::v_reinterpret_as_s16(cv::v_load_expand(p)); };
      const cv::v_int16x8 v = load(up + x) + load(down + x) + load(row + x - 1) +
                              load(row + x + 1) - four * load(row + x);
      cv::v_int32x4 lo, hi;
      cv::v_expand(v, lo, hi);
      acc_sum += lo + hi;
      acc_sq += cv::v_dotprod(v, v);
      if (++steps == 256) {
        sum += cv::v_reduce_sum(acc_sum);
        squares += cv::v_reduce_sum(acc_sq);
        acc_sum = acc_sq = cv::v_setzero_s32();
        steps = 0;
      }
    }
    sum += cv::v_reduce_sum(acc_sum);
    squares += cv::v_reduce_sum(acc_sq);
#endif
    for (; x < cols; x++)
      add(at(x));
  }
  const double n = (double)rows * cols;
  const double mean = (double)sum / n;
  return std::max(0.0, (double)squares / n - mean * mean);
}

double colourfulness(const cv::Mat &bgr)
{
  if (bgr.empty() || bgr.type() != CV_8UC3)
    return 0.0;
  /* One pass of integer sums (no float images): rg = R - G and
   * yb2 = 2 * yb = R + G - 2B, so every term is exact. */
  gint64 s_rg = 0, s_rg2 = 0, s_yb2 = 0, s_yb22 = 0;
  for (int y = 0; y < bgr.rows; y++) {
    const guint8 *p = bgr.ptr<guint8>(y);
    gint64 r_rg = 0, r_rg2 = 0, r_yb2 = 0, r_yb22 = 0;
    int x = 0;
#if CV_SIMD128
    /* 16 pixels at a time: rg and yb2 fit 16 bits (-255..255, -510..510);
     * the dot products add pairs into 32-bit lanes, at most 2 * 510^2 per
     * pair, flushed every 1024 pixels (well under 2^31). */
    const cv::v_int16x8 ones = cv::v_setall_s16(1);
    while (x + 16 <= bgr.cols) {
      cv::v_int32x4 a_rg = cv::v_setzero_s32(), a_rg2 = cv::v_setzero_s32(),
                    a_yb2 = cv::v_setzero_s32(), a_yb22 = cv::v_setzero_s32();
      for (int k = 0; k < 64 && x + 16 <= bgr.cols; k++, x += 16, p += 48) {
        cv::v_uint8x16 b, g, r;
        cv::v_load_deinterleave(p, b, g, r);
        cv::v_uint16x8 b0, b1, g0, g1, r0, r1;
        cv::v_expand(b, b0, b1);
        cv::v_expand(g, g0, g1);
        cv::v_expand(r, r0, r1);
        auto add = [&](const cv::v_uint16x8 &bb, const cv::v_uint16x8 &gg,
                       const cv::v_uint16x8 &rr) {
          const cv::v_int16x8 vb = cv::v_reinterpret_as_s16(bb), vg = cv::v_reinterpret_as_s16(gg),
                              vr = cv::v_reinterpret_as_s16(rr);
          const cv::v_int16x8 rg = vr - vg, yb2 = vr + vg - (vb + vb);
          a_rg += cv::v_dotprod(rg, ones);
          a_rg2 += cv::v_dotprod(rg, rg);
          a_yb2 += cv::v_dotprod(yb2, ones);
          a_yb22 += cv::v_dotprod(yb2, yb2);
        };
        add(b0, g0, r0);
        add(b1, g1, r1);
      }
      r_rg += cv::v_reduce_sum(a_rg);
      r_rg2 += cv::v_reduce_sum(a_rg2);
      r_yb2 += cv::v_reduce_sum(a_yb2);
      r_yb22 += cv::v_reduce_sum(a_yb22);
    }
#endif
    for (; x < bgr.cols; x++, p += 3) {
      const int rg = (int)p[2] - (int)p[1];
      const int yb2 = (int)p[2] + (int)p[1] - 2 * (int)p[0];
      r_rg += rg;
      r_rg2 += rg * rg;
      r_yb2 += yb2;
      r_yb22 += yb2 * yb2;
    }
    s_rg += r_rg;
    s_rg2 += r_rg2;
    s_yb2 += r_yb2;
    s_yb22 += r_yb22;
  }
  const double n = (double)bgr.rows * bgr.cols;
  const double m_rg = s_rg / n, m_yb = s_yb2 / (2.0 * n);
  const double v_rg = std::max(0.0, s_rg2 / n - m_rg * m_rg);
  const double v_yb = std::max(0.0, s_yb22 / (4.0 * n) - m_yb * m_yb);
  return std::sqrt(v_rg + v_yb) + 0.3 * std::sqrt(m_rg * m_rg + m_yb * m_yb);
}

std::vector<float> shot_histogram(const cv::Mat &hsv)
{
  if (hsv.empty() || hsv.type() != CV_8UC3)
    return {};
  /* Hue bin of each 8-bit hue, already times 16 (its place in the index). */
  static const std::vector<int> hue_bin = [] {
    std::vector<int> t(256);
    for (int h = 0; h < 256; h++)
      t[h] = std::min(7, h * 8 / 180) * 16;
    return t;
  }();
  /* Four partial counts, pixel x going to count x % 4: neighbouring pixels
   * mostly fall in the same bin, and one count would make each increment
   * wait for the one before it. */
  std::vector<guint32> count(4 * kShotHistogramBins, 0);
  guint32 *c0 = count.data(), *c1 = c0 + kShotHistogramBins, *c2 = c1 + kShotHistogramBins,
          *c3 = c2 + kShotHistogramBins;
  auto bin = [](const guint8 *p) { return hue_bin[p[0]] + (p[1] >> 6) * 4 + (p[2] >> 6); };
  for (int y = 0; y < hsv.rows; y++) {
    const guint8 *p = hsv.ptr<guint8>(y);
    int x = 0;
    for (; x + 4 <= hsv.cols; x += 4, p += 12) {
      c0[bin(p)]++;
      c1[bin(p + 3)]++;
      c2[bin(p + 6)]++;
      c3[bin(p + 9)]++;
    }
    for (; x < hsv.cols; x++, p += 3)
      c0[bin(p)]++;
  }
  const double total = (double)hsv.rows * hsv.cols;
  std::vector<float> out(kShotHistogramBins);
  for (int b = 0; b < kShotHistogramBins; b++)
    out[b] = (float)((c0[b] + c1[b] + c2[b] + c3[b]) / total);
  return out;
}

/* ---- ShotDetector ---- */

namespace
{
/* Mean luma at most this (0-255) with a standard deviation at most
 * kBlackSpread: a black frame (the far end of a fade). */
constexpr double kBlackLevel = 24.0, kBlackSpread = 12.0;
/* A fade or dissolve must change the picture by at least this mean absolute
 * BGR difference (0-255) between its ends. */
constexpr double kGradualMin = 15.0;
/* Blend test tolerance: how far (content distance, as a fraction of the
 * change between the ends) an inner frame may be from the linear blend. */
constexpr double kBlendTolerance = 0.2;
/* Flash test: frame t+k "looks like t-1 again" below this fraction of the
 * jump at t, and below kFlashMotion times the content score of the shot's
 * own motion (looks_back()) for each of the k+1 frames between them, or
 * min_content where that is more. */
constexpr double kFlashReturn = 0.4;
/* Measured (docs/montagescene.md, "Flash cuts"): over every frame of the
 * benchmark's clips and the sample media, a picture k+1 frames on was at
 * most 1.28 times k+1 times the largest of the content scores of the two
 * frames before and the one after (accelerating whip pans); a smooth colour
 * pan at most 0.95 times. */
constexpr double kFlashMotion = 2.0;
/* Blend test: a transition has ended at frame t when the content distance
 * from t to t+kGradualLook is under half that from t-kGradualLook to t. */
constexpr int kGradualLook = 3;
/* Blend ends (refine_blend()): a frame is part of the blend while it moves
 * along it, from the frame before, by more than this fraction of the
 * window's mean step (a linear blend of n frames moves 1/(n+1) a frame). */
constexpr double kBlendStep = 0.25;
/* Longest window find_blend_through() tries around a cut candidate, in
 * frames: blends short enough for one of their frames to score as a cut. */
constexpr int kShortBlend = 16;
/* find_gradual()'s windows of at most this many frames (blends of 2-3
 * frames) also need the picture to hold on both sides: within
 * kBlendTolerance of the window's change kGradualLook frames before its
 * start and after its end. */
constexpr int kShortWindow = 4;
/* find_dissolve_by_variance() (the luma variance curve of a dissolve,
 * Alattar 1993): windows of at least kStatsMinFrames frames; the standard
 * deviation's dip at the window's middle at least kStatsMinDip (0-255
 * levels), the fitted correlation of its ends' pictures at most
 * kStatsMaxCorrelation; the inner frames' rms deviation from the model at
 * most kStatsFit times the dip (standard deviation) and at most
 * max(kStatsMeanSlack, kStatsFit / 2 times the change) (mean). Measured on
 * dissolves of 12-60 frames between shots of the sample media (rocket
 * launch into moving city towers, tests): dip 13-17, correlation -0.1-0.1,
 * rms 2-3 at the true ends. */
constexpr int kStatsMinFrames = 6;
constexpr double kStatsMinDip = 8.0;
constexpr double kStatsMaxCorrelation = 0.5;
constexpr double kStatsFit = 0.2;
constexpr double kStatsMeanSlack = 1.5;
/* ... and its frames' mean content score at most this share of the content
 * distance between its ends (twin comparison). */
constexpr double kStatsStepShare = 0.5;
/* Camera-motion test (decide()): taken where the frame's content score is at
 * least min_content and the mean of its neighbours' at least this fraction
 * of min_content (the camera moves: still footage does not get there
 * between cuts, so it costs nothing there). On generated pans (2.5-12.5 %
 * of the width a frame), whip pans with motion blur and random shakes of
 * up to 14 % (docs/montagescene.md, "Camera motion") a cut out of the
 * motion scores 6.1-7.7 with the motion taken out, any other frame at most
 * 2.0 (threshold 3). */
constexpr double kMovingContext = 0.5;
/* moving_at(): the camera's shift must take out at least half of a frame's
 * change (its content distance with the shift taken out under this share
 * of the plain one) to count as read right. */
constexpr double kMovedShare = 0.5;
} // namespace

ShotDetector::ShotDetector(ShotDetectorSettings settings, bool luma_only)
    : settings_(settings), luma_only_(luma_only),
      content_(luma_only ? ContentScorer::kLumaOnly : ContentScorer::kDefaultWeights)
{
  set_settings(settings);
}

void ShotDetector::set_settings(const ShotDetectorSettings &settings)
{
  const bool kind_changed = !scorer_ || settings.detector != settings_.detector;
  settings_ = settings;
  settings_.adaptive_window = std::clamp(settings_.adaptive_window, 1, 30);
  settings_.flash_frames = std::clamp(settings_.flash_frames, 0, 30);
  settings_.max_transition_frames = std::clamp(settings_.max_transition_frames, 0, 300);
  if (kind_changed) {
    if (settings_.detector == DetectorKind::kHistogram)
      scorer_ = std::make_unique<HistogramScorer>();
    else if (settings_.detector == DetectorKind::kHash)
      scorer_ = std::make_unique<HashScorer>();
    else
      scorer_.reset(new ContentScorer(luma_only_ ? ContentScorer::kLumaOnly
                                                 : ContentScorer::kDefaultWeights));
  }
}

int ShotDetector::latency_frames() const
{
  return latency_frames(settings_);
}

int ShotDetector::latency_frames(const ShotDetectorSettings &settings)
{
  int n = std::clamp(settings.flash_frames, 0, 30);
  if (settings.detector == DetectorKind::kAdaptive)
    n = std::max(n, std::clamp(settings.adaptive_window, 1, 30));
  return n;
}

int ShotDetector::clean_start_reach(const ShotDetectorSettings &settings)
{
  return std::max(0, std::min({std::clamp(settings.flash_frames, 0, 30), kCleanStartFrames,
                               latency_frames(settings) - 1}));
}

double ShotDetector::threshold() const
{
  return settings_.threshold >= 0.0 ? settings_.threshold : default_threshold(settings_.detector);
}

double ShotDetector::content_distance(const cv::Mat &a, const cv::Mat &b) const
{
  return montage::content_distance(a, b, content_.weights());
}

void ShotDetector::reset()
{
  frames_.clear();
  next_ = 0;
  scorer_->reset();
  content_.reset();
  last_luma_.release();
  pushed_ = 0;
  last_features_ = FrameFeatures();
  in_shot_ = false;
  shot_ = Shot();
  last_end_ = GST_CLOCK_TIME_NONE;
  fade_is_pending_ = false;
  fade_pending_ = GST_CLOCK_TIME_NONE;
  open_blend_.reset();
  finishing_ = false;
  pending_ended_.reset();
}

bool ShotDetector::push(const cv::Mat &hsv, const cv::Mat &luma, const cv::Mat &bgr,
                        GstClockTime timestamp, GstClockTime duration,
                        std::vector<FrameVerdict> &out)
{
  if (hsv.empty() || hsv.type() != CV_8UC3)
    return false;
  /* Copies into the memory push_views() gave back last time (no copy
   * beyond the one the detector keeps), then as push_views(). The blend
   * test's view: the frame's own BGR view when given (a copy costs a
   * thirtieth of converting the HSV view back), else converted from the
   * HSV view when first needed (find_gradual()). */
  cv::Mat none;
  const bool with_bgr = !bgr.empty() && bgr.type() == CV_8UC3 && bgr.size() == hsv.size();
  try {
    hsv.copyTo(copy_hsv_);
    if (with_bgr)
      bgr.copyTo(copy_bgr_);
  } catch (const cv::Exception &) {
    return false;
  }
  return push_views(copy_hsv_, luma, with_bgr ? copy_bgr_ : none, timestamp, duration, out);
}

bool ShotDetector::push_views(cv::Mat &hsv, const cv::Mat &luma, cv::Mat &bgr,
                              GstClockTime timestamp, GstClockTime duration,
                              std::vector<FrameVerdict> &out)
{
  if (hsv.empty() || hsv.type() != CV_8UC3)
    return false;
  if (!frames_.empty() && frames_.back().hsv.size() != hsv.size())
    pending_ended_ = finish(out); /* after finish()'s reset() */
  Frame f;
  f.hsv = std::move(hsv);
  if (!bgr.empty() && bgr.type() == CV_8UC3 && bgr.size() == f.hsv.size())
    f.bgr = std::move(bgr);
  const bool ok = add(std::move(f), luma, timestamp, duration, out);
  /* Memory for the next frame's views: a dropped frame's, when nobody else
   * holds it (a cv::Mat that shares it would see it overwritten). */
  hsv.release();
  bgr.release();
  while (!spare_.empty()) {
    Views v = std::move(spare_.back());
    spare_.pop_back();
    auto alone = [](const cv::Mat &m) { return m.u && m.u->refcount == 1; };
    if (alone(v.hsv) && (v.bgr.empty() || alone(v.bgr))) {
      hsv = std::move(v.hsv);
      bgr = std::move(v.bgr);
      break;
    }
  }
  return ok;
}

bool ShotDetector::add(Frame &&f, const cv::Mat &luma, GstClockTime timestamp,
                       GstClockTime duration, std::vector<FrameVerdict> &out)
{
  const cv::Mat &hsv = f.hsv, &bgr = f.bgr;
  try {
    f.ts = timestamp;
    f.dur = duration;
    std::optional<double> content;
    if (!frames_.empty())
      content = content_distance(frames_.back().hsv, hsv);
    if (settings_.max_transition_frames > 0 && frames_.size() >= (size_t)kGradualLook)
      f.back_look = content_distance(frames_[frames_.size() - kGradualLook].hsv, hsv);
    std::optional<double> score = content;
    if (settings_.detector == DetectorKind::kHistogram ||
        settings_.detector == DetectorKind::kHash) {
      score = scorer_->score(luma.empty() ? hsv : luma);
      /* A scorer swapped in mid-stream (set_settings()) has no frame to
       * compare with yet: this frame is no candidate, not a new shot. */
      if (!score && content)
        score = 0.0;
    }
    f.has_score = content.has_value() && score.has_value();
    f.scored_by = settings_.detector;
    f.content = content.value_or(0.0);
    f.score = score.value_or(0.0);

    cv::Mat y;
    if (!luma.empty() && luma.type() == CV_8UC1 && luma.size() == hsv.size())
      y = luma;
    else
      cv::extractChannel(hsv, y, 2);
    FrameFeatures &m = f.features;
    cv::Scalar mean, sd;
    cv::meanStdDev(y, mean, sd);
    m.brightness = mean[0];
    m.contrast = sd[0];
    f.black = m.brightness <= kBlackLevel && m.contrast <= kBlackSpread;
    const guint64 every = std::max(1u, settings_.features_every);
    const guint64 k = pushed_++;
    if (settings_.features && k % every == 0) {
      m.measured = true;
      if (!last_luma_.empty() && last_luma_.size() == y.size()) {
        m.motion = mean_abs_difference(y, last_luma_)[0];
      }
      m.sharpness = laplacian_variance(y);
      m.colourfulness = (!bgr.empty() && bgr.size() == hsv.size()) ? colourfulness(bgr) : 0.0;
    }
    /* The frame before the next measured one keeps its luma for motion. */
    if (settings_.features && (k + 1) % every == 0)
      y.copyTo(last_luma_);
    else
      last_luma_.release();
    last_features_ = settings_.features ? m : FrameFeatures();
  } catch (const cv::Exception &) {
    return false;
  }
  frames_.push_back(std::move(f));

  const size_t look = (size_t)latency_frames();
  while (frames_.size() - next_ > look)
    decide(out);
  /* Keep enough decided frames for the longest blend test and the flash test. */
  const size_t keep = (size_t)settings_.max_transition_frames + 2;
  while (next_ > keep) {
    if (spare_.size() < 4)
      spare_.push_back({std::move(frames_.front().hsv), std::move(frames_.front().bgr)});
    frames_.pop_front();
    next_--;
  }
  return true;
}

std::optional<Shot> ShotDetector::finish(std::vector<FrameVerdict> &out, GstClockTime *fade_pending)
{
  finishing_ = true;
  while (next_ < frames_.size())
    decide(out);
  finishing_ = false;
  if (fade_pending)
    *fade_pending = fade_is_pending_ ? fade_pending_ : GST_CLOCK_TIME_NONE;
  std::optional<Shot> last;
  if (in_shot_ && !frames_.empty()) {
    const Frame &f = frames_.back();
    GstClockTime end = f.ts;
    if (GST_CLOCK_TIME_IS_VALID(end) && GST_CLOCK_TIME_IS_VALID(f.dur))
      end += f.dur;
    close_shot(end, last);
  } else {
    /* A size change whose first frame could not be pushed: the shot before
     * it is still the last one. */
    last = std::move(pending_ended_);
  }
  reset();
  return last;
}

void ShotDetector::decide_held(std::vector<FrameVerdict> &out)
{
  finishing_ = true;
  while (next_ < frames_.size())
    decide(out);
  finishing_ = false;
}

double ShotDetector::shifted_distance(size_t before, size_t later) const
{
  const cv::Mat &a = frames_[before].hsv, &b = frames_[later].hsv;
  const int k = (int)(later - before);
  cv::Point tries[2];
  int n = 0;
  if (before > 0 && frames_[before].has_score && !frames_[before].excursion)
    tries[n++] = k * camera_shift(before);
  if (later + 1 < frames_.size() && frames_[later + 1].has_score)
    tries[n++] = k * camera_shift(later + 1);
  double best = -1.0;
  for (int t = 0; t < n; t++) {
    if (t > 0 && tries[t] == tries[0])
      continue;
    const double d = overlap_distance(a, b, tries[t]);
    if (d >= 0.0)
      best = best < 0.0 ? d : std::min(best, d);
  }
  return best;
}

bool ShotDetector::looks_back(size_t before, size_t later, size_t jump_at) const
{
  const double jump = frames_[jump_at].content;
  double d = content_distance(frames_[before].hsv, frames_[later].hsv);
  /* It comes back: nearer `before` than the frame before it (the way out
   * of a flash or an insert is a jump; the frames after a cut out of the
   * flash are no jump from the cut, however near they are). */
  if (d >= kFlashReturn * jump || d >= frames_[later].content) {
    /* Out of a moving shot the picture that comes back has moved on by
     * the frames between: taken again with `before` shifted by the
     * camera's motion over them, against the jump with the motion taken
     * out too (a jump that the motion explains, a frame of the pan
     * itself, starts no excursion). */
    try {
      const double moved_jump = compensated_content(jump_at);
      if (moved_jump < settings_.min_content)
        return false;
      const double moved = shifted_distance(before, later);
      if (moved < 0.0 || moved >= settings_.min_content || moved >= kFlashReturn * moved_jump ||
          moved >= compensated_content(later))
        return false;
      d = moved;
    } catch (const cv::Exception &) {
      return false; /* OpenCV refused the views: no shifted look */
    }
  } else if (moving_at(before)) {
    /* The plain distance passes, but the shot before moves: a different
     * picture of like colours passes too (a cut out of a tinted pan
     * through a white or grey flash measured 33-35 shifted, a true return
     * 4-6). The picture that comes back must also match with the motion
     * taken out. */
    try {
      const double moved = shifted_distance(before, later);
      if (moved >= settings_.min_content)
        return false;
    } catch (const cv::Exception &) {
      /* OpenCV refused the views: the plain look stands. */
    }
  }
  /* The shot's own motion: the largest content score of the last two
   * scored frames up to `before` that are no excursion, and of the frame
   * after `later` (a pan that speeds up moves more after the flash than
   * before it). */
  double motion = 0.0;
  int seen = 0;
  const size_t reach = (size_t)settings_.flash_frames + 2;
  for (size_t back = 0; back <= before && back < reach && seen < 2; back++) {
    const Frame &f = frames_[before - back];
    if (f.has_score && !f.excursion) {
      motion = std::max(motion, f.content);
      seen++;
    }
  }
  if (seen == 0)
    return true; /* nothing to measure the motion by: the jump's fraction alone */
  if (later + 1 < frames_.size() && frames_[later + 1].has_score)
    motion = std::max(motion, frames_[later + 1].content);
  return d < std::max(settings_.min_content, kFlashMotion * (double)(later - before) * motion);
}

bool ShotDetector::moving_at(size_t k) const
{
  if (k < 2 || k >= frames_.size())
    return false;
  const Frame &f = frames_[k], &prev = frames_[k - 1];
  if (!f.has_score || f.excursion || !prev.has_score || prev.excursion ||
      f.content < kMovingContext * settings_.min_content)
    return false;
  try {
    const cv::Point shift = camera_shift(k);
    /* A misread shift (a flat picture, noise) explains nothing: the shift
     * must be read alike on the frame before, and take out most of the
     * frame's change. */
    const cv::Point before = camera_shift(k - 1);
    if (std::abs(shift.x - before.x) > 1 || std::abs(shift.y - before.y) > 1)
      return false;
    const double d = overlap_distance(prev.hsv, f.hsv, shift);
    return d >= 0.0 && d < kMovedShare * f.content;
  } catch (const cv::Exception &) {
    return false;
  }
}

bool ShotDetector::starts_excursion(size_t i, size_t *returns_at) const
{
  if (settings_.flash_frames <= 0 || i == 0)
    return false;
  /* A later frame looks like the one before it. */
  for (size_t k = 1; k <= (size_t)settings_.flash_frames && i + k < frames_.size(); k++)
    if (looks_back(i - 1, i + k, i)) {
      if (returns_at)
        *returns_at = i + k;
      return true;
    }
  return false;
}

const cv::Mat &ShotDetector::luma_spectrum(size_t k) const
{
  const Frame &f = frames_[k];
  if (!f.spectrum.empty())
    return f.spectrum;
  cv::Mat v, half, real;
  cv::extractChannel(f.hsv, v, 2);
  cv::pyrDown(v, half);
  if (half.cols < 2 || half.rows < 2)
    return f.spectrum; /* no window that small: no shift read */
  half.convertTo(real, CV_32F);
  /* The window keeps the frame edges (which a pan moves in and out) from
   * deciding the peak: without it, random shakes were misread. */
  if (hann_.size() != real.size())
    cv::createHanningWindow(hann_, real.size(), CV_32F);
  cv::multiply(real, hann_, real);
  cv::dft(real, f.spectrum, cv::DFT_COMPLEX_OUTPUT);
  return f.spectrum;
}

cv::Point ShotDetector::camera_shift(size_t k) const
{
  const Frame &f = frames_[k];
  if (f.shift)
    return *f.shift;
  f.shift = cv::Point(0, 0);
  if (k == 0 || frames_[k - 1].hsv.size() != f.hsv.size())
    return *f.shift;
  /* Normalised cross-power spectrum, back to a correlation surface whose
   * peak sits at the shift (Kuglin and Hines 1975; cv::phaseCorrelate() does
   * the same, but transforms both pictures on every call). */
  const cv::Mat &now = luma_spectrum(k), &before = luma_spectrum(k - 1);
  if (now.empty() || before.empty())
    return *f.shift;
  cv::Mat cross, surface;
  cv::mulSpectrums(now, before, cross, 0, true);
  for (int y = 0; y < cross.rows; y++) {
    cv::Vec2f *c = cross.ptr<cv::Vec2f>(y);
    for (int x = 0; x < cross.cols; x++) {
      const float m = std::sqrt(c[x][0] * c[x][0] + c[x][1] * c[x][1]);
      c[x] = m > 1e-6f ? c[x] / m : cv::Vec2f(0.f, 0.f);
    }
  }
  cv::idft(cross, surface, cv::DFT_REAL_OUTPUT);
  cv::Point peak;
  double top = 0.0;
  cv::minMaxLoc(surface, nullptr, &top, nullptr, &peak);
  if (!(top > 0.0))
    return *f.shift;
  const int w = surface.cols, h = surface.rows;
  double sx = 0.0, sy = 0.0, sum = 0.0;
  for (int dy = -1; dy <= 1; dy++)
    for (int dx = -1; dx <= 1; dx++) {
      const float v = surface.at<float>((peak.y + dy + h) % h, (peak.x + dx + w) % w);
      if (v > 0.f) {
        sx += dx * v;
        sy += dy * v;
        sum += v;
      }
    }
  /* Peaks past the middle are negative shifts (the surface wraps). */
  double px = peak.x + sx / sum, py = peak.y + sy / sum;
  if (px > w / 2.0)
    px -= w;
  if (py > h / 2.0)
    py -= h;
  f.shift = cv::Point((int)std::lround(2.0 * px), (int)std::lround(2.0 * py));
  return *f.shift;
}

double ShotDetector::overlap_distance(const cv::Mat &a, const cv::Mat &b, cv::Point shift) const
{
  const int dx = shift.x, dy = shift.y;
  if (dx == 0 && dy == 0)
    return -1.0;
  const int w = a.cols - std::abs(dx), h = a.rows - std::abs(dy);
  if (w * 2 < a.cols || h * 2 < a.rows)
    return -1.0;
  /* What is at (x, y) in a is at (x + dx, y + dy) in b. */
  const cv::Rect in_a(std::max(0, -dx), std::max(0, -dy), w, h);
  const cv::Rect in_b(std::max(0, dx), std::max(0, dy), w, h);
  return content_distance(a(in_a), b(in_b));
}

double ShotDetector::compensated_content(size_t k) const
{
  const Frame &f = frames_[k];
  if (f.compensated >= 0.0)
    return f.compensated;
  if (k == 0 || !f.has_score)
    return f.compensated = f.content;
  const cv::Mat &a = frames_[k - 1].hsv, &b = f.hsv;
  const cv::Point own = camera_shift(k);
  cv::Point tries[3] = {own, own, own};
  if (k >= 2)
    tries[1] = camera_shift(k - 1);
  /* The newest frame has no next one yet: its value is kept only once it
   * has (or at the end of the stream), so that the frames deciding after
   * it do not get one made without the third shift because looks_back()
   * asked early. */
  const bool complete = k + 1 < frames_.size() || finishing_;
  if (k + 1 < frames_.size())
    tries[2] = camera_shift(k + 1);
  double best = f.content;
  for (int t = 0; t < 3; t++) {
    if (t > 0 && tries[t] == tries[0])
      continue;
    const double d = overlap_distance(a, b, tries[t]);
    if (d >= 0.0)
      best = std::min(best, d);
  }
  if (complete)
    f.compensated = best;
  return best;
}

bool ShotDetector::cuts_again(size_t j, size_t skip) const
{
  if (j == 0 || j >= frames_.size() || !frames_[j].has_score)
    return false;
  const Frame &f = frames_[j];
  bool jump = false;
  if (settings_.detector == DetectorKind::kAdaptive) {
    if (f.content < settings_.min_content)
      return false;
    /* As decide()'s ratio, with `skip` (the cut's own jump) left out of
     * the mean as well as the frame itself and decided excursions. */
    const double mean = neighbour_mean(
        j, skip, [&](size_t k) { return frames_[k].content; }, false);
    jump = mean <= 1e-5 || f.content / mean >= threshold();
  } else {
    auto scale = [](DetectorKind k) {
      return k == DetectorKind::kAdaptive ? DetectorKind::kContent : k;
    };
    jump = scale(f.scored_by) == scale(settings_.detector) && f.score >= threshold();
  }
  /* A change of the picture itself, not of the hue of grey pixels
   * (decide()'s BGR test). */
  return jump &&
         (luma_only_ || bgr_distance(bgr_of(frames_[j - 1]), bgr_of(f)) >= settings_.min_content);
}

GstClockTime ShotDetector::clean_start(size_t i) const
{
  const GstClockTime ts = frames_[i].ts;
  if (!GST_CLOCK_TIME_IS_VALID(ts))
    return ts;
  /* B of one or two frames (a flash of 1-2 frames, an insert), and only
   * where a frame after C is pushed: a flash within the new shot right
   * after the cut (A C W C') is told from C by its return, which must be
   * in sight. */
  const size_t reach = (size_t)clean_start_reach(settings_);
  const GstClockTime span = GST_CLOCK_TIME_IS_VALID(settings_.clean_start_span)
                                ? settings_.clean_start_span
                                : settings_.min_shot_length;
  for (size_t k = 1; k <= reach && i + k + 1 < frames_.size(); k++) {
    const size_t j = i + k;
    const GstClockTime at = frames_[j].ts;
    /* Only a jump that min_shot_length merges into this shot: one past it
     * is a boundary of its own and ends this shot there. */
    if (!GST_CLOCK_TIME_IS_VALID(at) || at < ts || at - ts >= span)
      break;
    /* A flash within the new shot (its picture comes back) is no new
     * picture: the clean frames start at the cut. */
    if (cuts_again(j, i))
      return starts_excursion(j, nullptr) ? ts : at;
  }
  return ts;
}

bool ShotDetector::is_flash(size_t i, size_t *returns_at) const
{
  if (settings_.flash_frames <= 0 || i == 0)
    return false;
  if (starts_excursion(i, returns_at))
    return true;
  /* Its end: this frame looks like one before the excursion. A frame of an
   * excursion already decided is none: after A B A (B an insert), a cut to
   * B looks like the insert, not like a return. */
  for (size_t k = 2; k <= (size_t)settings_.flash_frames + 1 && k <= i; k++)
    if (!frames_[i - k].excursion && looks_back(i - k, i, i))
      return true;
  return false;
}

const cv::Mat &ShotDetector::bgr_of(const Frame &f)
{
  if (f.bgr.empty())
    cv::cvtColor(f.hsv, f.bgr, cv::COLOR_HSV2BGR);
  return f.bgr;
}

double ShotDetector::bgr_distance(const cv::Mat &a, const cv::Mat &b)
{
  const cv::Scalar m = mean_abs_difference(a, b);
  return (m[0] + m[1] + m[2]) / 3.0;
}

bool ShotDetector::is_blend(size_t a, size_t b) const
{
  if (b < a + 2)
    return false;
  for (size_t k = a + 1; k <= b; k++)
    if (!frames_[k].has_score)
      return false;
  const cv::Mat &a_bgr = bgr_of(frames_[a]), &b_bgr = bgr_of(frames_[b]);
  const double change = bgr_distance(a_bgr, b_bgr);
  if (change < kGradualMin)
    return false;
  const size_t len = b - a;
  cv::Mat blend;
  for (double alpha : {0.25, 0.5, 0.75}) {
    const size_t k = a + (size_t)std::lround(alpha * (double)len);
    /* Short windows: the quarter points must be inner frames. */
    if (k == a || k == b)
      continue;
    cv::addWeighted(a_bgr, 1.0 - alpha, b_bgr, alpha, 0.0, blend);
    if (bgr_distance(bgr_of(frames_[k]), blend) > kBlendTolerance * change)
      return false;
  }
  return true;
}

size_t ShotDetector::first_clean_frame() const
{
  size_t lo = 0;
  if (GST_CLOCK_TIME_IS_VALID(shot_.transition_end))
    while (lo < frames_.size() && GST_CLOCK_TIME_IS_VALID(frames_[lo].ts) &&
           frames_[lo].ts < shot_.transition_end)
      lo++;
  return lo;
}

ShotDetector::BlendAxis ShotDetector::blend_axis(size_t a, size_t b) const
{
  BlendAxis axis;
  bgr_of(frames_[a]).convertTo(axis.from, CV_32F);
  bgr_of(frames_[b]).convertTo(axis.direction, CV_32F);
  axis.direction -= axis.from;
  axis.norm = axis.direction.dot(axis.direction);
  axis.step = kBlendStep / (double)(b - a);
  return axis;
}

double ShotDetector::BlendAxis::position(const cv::Mat &bgr) const
{
  cv::Mat f;
  bgr.convertTo(f, CV_32F);
  f -= from;
  return norm > 0.0 ? f.dot(direction) / norm : 0.0;
}

void ShotDetector::refine_blend(size_t &a, size_t &b, size_t lo, size_t hi, size_t reach) const
{
  const BlendAxis axis = blend_axis(a, b);
  /* Positions along the blend of the frames from lo to hi, made once. */
  std::vector<double> t(hi + 1, 0.0);
  std::vector<bool> have(hi + 1, false);
  auto pos = [&](size_t k) {
    if (!have[k]) {
      t[k] = axis.position(bgr_of(frames_[k]));
      have[k] = true;
    }
    return t[k];
  };
  /* Frame k moved along the blend since frame k - 1. */
  auto moved = [&](size_t k) { return frames_[k].has_score && pos(k) - pos(k - 1) > axis.step; };
  if (reach == 0)
    reach = std::max<size_t>(2, (b - a) / 2);
  const size_t a0 = a, b0 = b;
  /* A window longer than the blend ends on frames that do not move. */
  while (a + 2 < b && !moved(a + 1))
    a++;
  while (b > a + 2 && !moved(b))
    b--;
  /* A window inside the blend: its ends are blended frames still moving
   * (at most `reach` frames further, so that motion in the shots on either
   * side cannot draw the ends far out). */
  if (a == a0)
    while (a > lo && a0 - a < reach && moved(a))
      a--;
  if (b == b0)
    while (b < hi && b - b0 < reach && moved(b + 1))
      b++;
}

bool ShotDetector::find_gradual(size_t i, size_t &a, size_t &b) const
{
  /* Down to 3 and 4 frames (blends of 2 and 3 frames): where each of their
   * steps scores alike, none stands out from its neighbours as a cut
   * candidate (with `adaptive`, a 2-frame dissolve's steps score about 2 against
   * threshold 3), and the blend was missed or taken for a cut. */
  static const int kLengths[] = {60, 48, 36, 24, 16, 10, 6, 4, 3};
  const Frame &end = frames_[i];
  /* The blend has ended at frame i: the next frames change less than the ones before. */
  const size_t look = std::min((size_t)kGradualLook, frames_.size() - 1 - i);
  if (look == 0 || i < look)
    return false;
  /* Both distances were taken at push() (Frame::back_look) unless the
   * stream ends within kGradualLook frames. */
  const Frame &later = frames_[i + look];
  const double after = look == (size_t)kGradualLook && later.back_look >= 0.0
                           ? later.back_look
                           : content_distance(end.hsv, later.hsv);
  const double before = look == (size_t)kGradualLook && end.back_look >= 0.0
                            ? end.back_look
                            : content_distance(frames_[i - look].hsv, end.hsv);
  if (!(after < 0.5 * before))
    return false;
  /* Blending is linear in RGB, not in HSV (hue jumps): tested in BGR. The
   * first frame of the window must be a clean frame of the current shot. */
  const size_t lo = first_clean_frame();
  for (int len : kLengths) {
    if (len > settings_.max_transition_frames || (size_t)len > i || i - (size_t)len < lo)
      continue;
    if (!is_blend(i - len, i))
      continue;
    /* So short a window is also fitted by the first steps of a longer
     * fade-in (whose dark frames' hue noise can pass the settle test above)
     * and by frames of noise-like pictures that an encoder predicted from
     * both sides: the picture must also hold in BGR for kGradualLook frames
     * on both sides of it, as it does around a short blend between two
     * steady shots. */
    if (len <= kShortWindow) {
      const size_t start = i - (size_t)len;
      if (start < lo + (size_t)kGradualLook)
        continue;
      const cv::Mat &start_bgr = bgr_of(frames_[start]), &end_bgr = bgr_of(end);
      const double held = std::max(bgr_distance(bgr_of(frames_[start - kGradualLook]), start_bgr),
                                   bgr_distance(end_bgr, bgr_of(later)));
      if (held > kBlendTolerance * bgr_distance(start_bgr, end_bgr))
        continue;
    }
    a = i - len;
    b = i;
    refine_blend(a, b, lo, i + look);
    return true;
  }
  return false;
}

double ShotDetector::variance_dip(size_t e, size_t lo, size_t *start) const
{
  if (e >= frames_.size() || e < lo + (size_t)kStatsMinFrames || !frames_[e].has_score)
    return 0.0;
  const size_t longest = std::min((size_t)settings_.max_transition_frames, e - lo);
  const Frame &end = frames_[e];
  /* Made once per frame and longest window (the frame is looked at as the
   * end of the blend and as one of the kGradualLook frames after it). */
  if (end.dip_longest != longest) {
    end.dip_longest = longest;
    end.dip = 0.0;
    end.dip_len = 0;
    const FrameFeatures &fe = end.features;
    /* Inner frames up to the first one without a score or in an excursion. */
    size_t clean = 0;
    while (clean + 1 < longest && frames_[e - 1 - clean].has_score &&
           !frames_[e - 1 - clean].excursion)
      clean++;
    for (size_t len = (size_t)kStatsMinFrames; len <= longest && len <= clean + 1; len++) {
      const size_t a = e - len;
      const FrameFeatures &fa = frames_[a].features;
      const double va = fa.contrast * fa.contrast, ve = fe.contrast * fe.contrast;
      const double ends = fa.contrast * fe.contrast;
      if (ends <= 0.0)
        continue;
      /* Least squares for cov: sd_k^2 = (1 - t)^2 var a + t^2 var e + 2 t (1 - t) cov. */
      double num = 0.0, den = 0.0;
      for (size_t k = a + 1; k < e; k++) {
        const double t = (double)(k - a) / (double)len, sd = frames_[k].features.contrast;
        const double B = 2 * t * (1 - t);
        num += B * (sd * sd - (1 - t) * (1 - t) * va - t * t * ve);
        den += B * B;
      }
      const double cov = num / den;
      if (cov / ends > kStatsMaxCorrelation)
        continue;
      const double mid = std::sqrt(std::max(0.0, 0.25 * va + 0.25 * ve + 0.5 * cov));
      const double dip = 0.5 * (fa.contrast + fe.contrast) - mid;
      if (dip < kStatsMinDip || dip <= end.dip)
        continue;
      double sd_err = 0.0, mean_err = 0.0;
      for (size_t k = a + 1; k < e; k++) {
        const double t = (double)(k - a) / (double)len;
        const double var = (1 - t) * (1 - t) * va + t * t * ve + 2 * t * (1 - t) * cov;
        const double ds = frames_[k].features.contrast - std::sqrt(std::max(0.0, var));
        const double dm =
            frames_[k].features.brightness - ((1 - t) * fa.brightness + t * fe.brightness);
        sd_err += ds * ds;
        mean_err += dm * dm;
      }
      const double inner = (double)(len - 1);
      const double mean_tol =
          std::max(kStatsMeanSlack, 0.5 * kStatsFit * std::abs(fe.brightness - fa.brightness));
      if (std::sqrt(sd_err / inner) > kStatsFit * dip || std::sqrt(mean_err / inner) > mean_tol)
        continue;
      end.dip = dip;
      end.dip_len = len;
    }
  }
  if (start)
    *start = e - end.dip_len;
  return end.dip;
}

bool ShotDetector::find_dissolve_by_variance(size_t i, size_t &a, size_t &b) const
{
  const size_t lo = first_clean_frame();
  size_t start = 0;
  const double dip = variance_dip(i, lo, &start);
  if (dip <= 0.0)
    return false;
  /* A window ending inside the dissolve fits too, with a shallower dip:
   * the blend ends where the dip is deepest. */
  const size_t look = std::min((size_t)kGradualLook, frames_.size() - 1 - i);
  for (size_t e = i + 1; e <= i + look; e++)
    if (variance_dip(e, lo, nullptr) > dip)
      return false;
  if (bgr_distance(bgr_of(frames_[start]), bgr_of(frames_[i])) < kGradualMin)
    return false;
  /* Twin comparison (Zhang, Kankanhalli & Smoliar 1993): a gradual
   * transition changes the picture from its start to its end as much as a
   * cut does (content distance of the ends at least the content detector's
   * cut threshold, 27), and by more than its frames change one by one.
   * Noise fits the dip without either (videotestsrc snow, whose spread an
   * encoder lowers between keyframes: ends 8-10, steps 1.6-1.9; the
   * trial's dissolves: ends 45-94, steps 3.8-9.8). */
  const double ends = content_distance(frames_[start].hsv, frames_[i].hsv);
  double steps = 0.0;
  for (size_t k = start + 1; k <= i; k++)
    steps += frames_[k].content;
  if (ends < default_threshold(DetectorKind::kContent) ||
      steps / (double)(i - start) > kStatsStepShare * ends)
    return false;
  a = start;
  b = i;
  return true;
}

bool ShotDetector::follow_open_blend()
{
  OpenBlend &ob = *open_blend_;
  const Frame &newest = frames_.back();
  if (newest.ts == ob.last || !GST_CLOCK_TIME_IS_VALID(newest.ts))
    return finishing_; /* no frame pushed since: at the end of the stream, it ends here */
  ob.last = newest.ts;
  if (newest.has_score && ob.frames < (size_t)settings_.max_transition_frames) {
    const double at = ob.axis.position(bgr_of(newest));
    if (at - ob.at > ob.axis.step) {
      ob.at = at;
      ob.to = newest.ts;
      ob.to_black = newest.black;
      ob.frames++;
      return false;
    }
  }
  return true;
}

bool ShotDetector::find_blend_through(size_t i, size_t &a, size_t &b) const
{
  const size_t lo = first_clean_frame();
  const size_t hi = std::min(frames_.size() - 1, i + (size_t)latency_frames());
  const size_t longest = (size_t)std::min(settings_.max_transition_frames, kShortBlend);
  for (size_t e = hi + 1; e-- > i;)
    for (size_t s = i; s-- > lo && e - s <= longest;) {
      if (!is_blend(s, e))
        continue;
      a = s;
      b = e;
      refine_blend(a, b, lo, hi);
      return true;
    }
  return false;
}

void ShotDetector::accumulate(const Frame &f)
{
  /* The frames of a flash or of a cut away and back, up to the one that
   * comes back, are not the shot's picture: a white frame or an insert of
   * another shot would count as motion (the jump in and out of it), pull
   * the means and could become the in-point. */
  if (!settings_.features || f.excursion)
    return;
  /* Nor is the insert or flash a shot was cut on (A B C, cut on B): the
   * shot's picture starts at its first clean frame, C (transition_end,
   * clean_start()). B's brightness and contrast pulled the means (a white
   * flash adds (255 - mean) / n to the brightness) and the jump from B to C
   * counted as the shot's motion peak. */
  const bool timed = GST_CLOCK_TIME_IS_VALID(f.ts) && GST_CLOCK_TIME_IS_VALID(shot_.transition_end);
  if (in_shot_ && shot_.transition == Transition::kCut && timed && f.ts < shot_.transition_end)
    return;
  const FrameFeatures &m = f.features;
  n_frames_++;
  sum_bright_ += m.brightness;
  sum_contrast_ += m.contrast;
  if (!m.measured)
    return;
  n_measured_++;
  /* The first clean frame's difference is to the frame before it, of the
   * shot before or of the insert: the cut, not motion. */
  const bool first = f.ts == shot_.start || (timed && f.ts == shot_.transition_end &&
                                             shot_.transition == Transition::kCut);
  if (m.motion >= 0.0 && !first) {
    n_motion_++;
    sum_motion_ += m.motion;
    shot_.features.motion_peak = std::max(shot_.features.motion_peak, m.motion);
  }
  sum_sharp_ += m.sharpness;
  sum_colour_ += m.colourfulness;
  const bool clean = !timed || f.ts >= shot_.transition_end;
  if (clean && m.sharpness > best_sharp_) {
    best_sharp_ = m.sharpness;
    shot_.features.best_inpoint = f.ts;
    shot_.features.histogram = shot_histogram(f.hsv);
    inpoints_.push_back({f.ts, m.sharpness, shot_.features.histogram});
  }
}

void ShotDetector::close_shot(GstClockTime end, std::optional<Shot> &ended)
{
  if (!in_shot_)
    return;
  shot_.end = end;
  /* A fade or dissolve is found at its end, so its frames were taken into
   * the shot before it: its best in-point must lie before the shot's end
   * (the transition's start), never on a blended or black frame. The
   * sharpest frame before `end` is the last record there. */
  if (GST_CLOCK_TIME_IS_VALID(end)) {
    bool dropped = false;
    while (!inpoints_.empty() && GST_CLOCK_TIME_IS_VALID(inpoints_.back().ts) &&
           inpoints_.back().ts >= end) {
      inpoints_.pop_back();
      dropped = true;
    }
    if (dropped && inpoints_.empty()) {
      best_sharp_ = -1.0;
    } else if (dropped) {
      best_sharp_ = inpoints_.back().sharpness;
      shot_.features.best_inpoint = inpoints_.back().ts;
      shot_.features.histogram = inpoints_.back().histogram;
    }
  }
  inpoints_.clear();
  /* Features only when a clean frame of the shot was measured (one in
   * features_every is: a shot of fewer frames may have none). Without one
   * there is no in-point and no histogram, and the means would be zeros:
   * the shot has no features rather than features that say nothing. */
  if (n_frames_ > 0 && best_sharp_ >= 0.0) {
    shot_.has_features = true;
    const double n = (double)std::max<guint64>(1, n_measured_);
    shot_.features.motion_mean = n_motion_ ? sum_motion_ / (double)n_motion_ : 0.0;
    shot_.features.sharpness = sum_sharp_ / n;
    shot_.features.brightness = sum_bright_ / (double)n_frames_;
    shot_.features.contrast = sum_contrast_ / (double)n_frames_;
    shot_.features.colourfulness = sum_colour_ / n;
  } else {
    shot_.features = ShotFeatures(); /* motion_peak may have been taken */
  }
  ended = shot_;
  in_shot_ = false;
}

void ShotDetector::decide(std::vector<FrameVerdict> &out)
{
  const size_t i = next_++;
  const Frame &f = frames_[i];
  FrameVerdict v;
  v.timestamp = f.ts;
  v.content = f.content;
  v.score = f.score;

  auto open_shot = [&](GstClockTime start, Transition kind, GstClockTime t_start,
                       GstClockTime t_end) {
    shot_ = Shot();
    shot_.start = start;
    shot_.transition = kind;
    shot_.transition_start = t_start;
    shot_.transition_end = t_end;
    sum_motion_ = sum_sharp_ = sum_bright_ = sum_contrast_ = sum_colour_ = 0.0;
    best_sharp_ = -1.0;
    inpoints_.clear();
    n_frames_ = n_measured_ = n_motion_ = 0;
    in_shot_ = true;
    fade_is_pending_ = false;
  };
  auto long_enough = [&](GstClockTime start) {
    if (!GST_CLOCK_TIME_IS_VALID(start) || !GST_CLOCK_TIME_IS_VALID(shot_.start))
      return true;
    const GstClockTime since = start >= shot_.start ? start - shot_.start : shot_.start - start;
    return since >= settings_.min_shot_length;
  };

  if (!in_shot_ || !f.has_score) {
    if (in_shot_)
      close_shot(f.ts, v.ended);
    else if (pending_ended_)
      v.ended = std::move(pending_ended_);
    pending_ended_.reset();
    /* A stream that opens on a frame or two of another picture (a black
     * frame, a leftover frame of the shot before in the source edit, a
     * flash) straight into its first shot: that shot's picture starts at
     * its first clean frame, as after a cut on an insert (A B C with no A):
     * min_shot_length merges the jump, and before, a montage could open the
     * shot on the black frame (Megamind.avi: frame 0 black, the picture
     * from frame 1). */
    open_shot(f.ts, Transition::kCut, f.ts, f.has_score ? f.ts : clean_start(i));
    v.first = true;
    v.shot = shot_;
    accumulate(f);
    out.push_back(std::move(v));
    return;
  }

  /* Hard cut candidate. */
  bool candidate = false;
  if (settings_.detector == DetectorKind::kAdaptive) {
    /* The frame's score over the mean of its neighbours' within the window
     * (score(k): a frame's content score, plain or compensated), at most
     * 255; sets mean (neighbour_mean(), which says what is left out of
     * it). */
    auto ratio_of = [&](size_t at, auto score, double &mean, size_t skip) {
      mean = neighbour_mean(at, skip, score, true);
      return mean > 1e-5 ? std::min(score(at) / mean, 255.0) : 255.0;
    };
    auto ratio = [&](auto score, double &mean) { return ratio_of(i, score, mean, i); };
    auto plain = [&](size_t k) { return frames_[k].content; };
    double mean = 0.0;
    v.score = ratio(plain, mean);
    candidate = v.score >= threshold() && f.content >= settings_.min_content;
    if (!candidate && f.content >= settings_.min_content &&
        mean >= kMovingContext * settings_.min_content) {
      /* The camera moves: a cut out of a pan or a shake changes the picture
       * no more than the motion does. Judged again with the motion taken out. */
      try {
        double moved = 0.0;
        const double score = ratio([&](size_t k) { return compensated_content(k); }, moved);
        if (score >= threshold() && compensated_content(i) >= settings_.min_content) {
          candidate = true;
          v.score = score;
        }
      } catch (const cv::Exception &) {
        /* OpenCV refused the views: the frame keeps its plain score. */
      }
    }
    /* The jump out of B (below): the first frame after i that changes by
     * min_content, B held for at most clean_start()'s reach (at least one
     * frame), so that the shot then starts clean at C. A B held for two
     * frames right after a jump into a held frame (footage that changes
     * every other frame: 30p in 60p, animation on twos) is the footage's
     * own rhythm, not an insert: a pan speeding up there would be cut. */
    size_t out = i + 1;
    const size_t reach = (size_t)std::max(1, clean_start_reach(settings_));
    while (out < frames_.size() && out < i + reach && frames_[out].has_score &&
           frames_[out].content < settings_.min_content)
      out++;
    const bool doubled = out > i + 1 && i >= 2 && frames_[i - 1].has_score &&
                         frames_[i - 1].content < settings_.min_content &&
                         frames_[i - 2].has_score &&
                         frames_[i - 2].content >= settings_.min_content;
    if (!candidate && !f.excursion && !doubled && f.content >= settings_.min_content &&
        out < frames_.size() && frames_[out].has_score &&
        frames_[out].content >= settings_.min_content && !starts_excursion(i, nullptr)) {
      /* One or two frames unlike both the shot before them and the shot
       * after them (A B C, A B B C: an insert, a flash straight into a cut).
       * The jump out of B is in B's own neighbour mean and can pull its
       * ratio under the threshold, while C's ratio, with B's jump in its
       * mean, reaches it: the cut used to land on C, and A ended on a frame
       * that is not its picture. The new shot starts where A's picture
       * ends: when C would be a candidate, the picture does not come back
       * to A (no excursion) and B's ratio without C's jump in its mean
       * reaches the threshold, B is the candidate (C is then merged by
       * min_shot_length). Only moves a cut from C to B: no cut is added
       * where C would not be one. */
      double unused = 0.0;
      const double alone = ratio_of(i, plain, unused, out);
      /* C as it will be judged (skip == at: nothing more left out). */
      if (alone >= threshold() && ratio_of(out, plain, unused, out) >= threshold()) {
        candidate = true;
        v.score = alone;
      }
    }
  } else {
    auto scale = [](DetectorKind k) {
      return k == DetectorKind::kAdaptive ? DetectorKind::kContent : k;
    };
    candidate = scale(f.scored_by) == scale(settings_.detector) && f.score >= threshold();
  }
  if (candidate && i > 0 && !luma_only_ &&
      bgr_distance(bgr_of(frames_[i - 1]), bgr_of(f)) < settings_.min_content) {
    /* Hue and saturation are unstable where a pixel has little colour: the
     * first frame of a dissolve out of (or into) grey, white or black areas
     * adds a little colour there, and their hue and saturation jump (a
     * pixel mixed from black and 4 % red is pure red at a low value). Such
     * a frame scored as a cut (content 18-93, BGR change 4.8-9.8, on
     * videotestsrc patterns dissolved or faded in 12-25 frames); a hard cut
     * changes the picture itself (the benchmark's cuts: BGR change 34-133).
     * So the pair must also differ by min_content in BGR; the blend test
     * then finds the dissolve. */
    candidate = false;
  }
  if (candidate && i > 0 && frames_[i - 1].features.brightness < 2 * kBlackLevel &&
      f.features.brightness < 2 * kBlackLevel) {
    /* Near black, hue and saturation are noise: judge dark pairs on value alone. */
    cv::Mat va, vb, d;
    cv::extractChannel(frames_[i - 1].hsv, va, 2);
    cv::extractChannel(f.hsv, vb, 2);
    cv::absdiff(va, vb, d);
    candidate = cv::mean(d)[0] >= settings_.min_content;
  }
  /* A flash or a cut away and back is no cut. Its frames up to the one
   * that comes back are marked now: that frame's jump may be too small
   * next to the excursion's to be a candidate itself, yet in the adaptive
   * mean it would hide a cut right after it. A jump of min_content or more
   * that is no candidate is tested too (the start test alone): with
   * adaptive, the jump into a one-frame flash followed by a cut (A W A B)
   * has the return and the cut in its neighbour mean and is no candidate,
   * yet its excursion must be left out of the cut's mean. A frame already
   * in a decided excursion (its return) starts none: the return from an
   * insert of B is no jump away from a later cut to B. */
  size_t returns_at = i;
  if (!f.excursion &&
      (candidate ? is_flash(i, &returns_at)
                 : f.content >= settings_.min_content && starts_excursion(i, &returns_at)))
    for (size_t k = i; k <= returns_at; k++)
      frames_[k].excursion = true;
  v.excursion = f.excursion;

  /* A blend with clean ends at a and b (a stream time each; black or not):
   * a fade-out to black waits for what comes out of the black; a longer
   * look at a blend already reported extends it; otherwise a boundary. */
  auto take_blend = [&](GstClockTime a_ts, GstClockTime from, GstClockTime to, bool a_black,
                        bool b_black) {
    if (b_black && !a_black) {
      if (!fade_is_pending_) {
        fade_is_pending_ = true;
        fade_pending_ = from;
      }
    } else if (!b_black && shot_.transition != Transition::kCut && GST_CLOCK_TIME_IS_VALID(a_ts) &&
               GST_CLOCK_TIME_IS_VALID(shot_.transition_end) && GST_CLOCK_TIME_IS_VALID(to) &&
               a_ts - shot_.transition_end <= to - a_ts) {
      /* The blend goes on past where it was first seen (the window starts
       * less than its own length after that end): extend it. */
      shot_.transition_end = std::max(shot_.transition_end, to);
    } else if (!b_black) {
      const bool fade = a_black || fade_is_pending_;
      const GstClockTime start = fade_is_pending_ ? fade_pending_ : from;
      if (long_enough(start)) {
        close_shot(start, v.ended);
        open_shot(start, fade ? Transition::kFade : Transition::kDissolve, start, to);
        v.boundary = true;
        v.shot = shot_;
      }
    }
  };

  /* A short blend seen through a cut candidate before its end was pushed
   * is followed frame by frame; the frames up to its end decide nothing. */
  if (open_blend_) {
    if (!open_blend_->ended)
      open_blend_->ended = follow_open_blend();
    if (open_blend_->ended &&
        (!GST_CLOCK_TIME_IS_VALID(f.ts) || !GST_CLOCK_TIME_IS_VALID(open_blend_->to) ||
         f.ts >= open_blend_->to)) {
      const OpenBlend ob = *open_blend_;
      open_blend_.reset();
      take_blend(ob.a_ts, ob.from, ob.to, ob.a_black, ob.to_black);
    }
    accumulate(f);
    out.push_back(std::move(v));
    return;
  }
  /* A frame of the current shot's fade or dissolve, up to its first clean
   * frame (the blend's last step), is no cut. */
  if (shot_.transition != Transition::kCut && GST_CLOCK_TIME_IS_VALID(f.ts) &&
      GST_CLOCK_TIME_IS_VALID(shot_.transition_end) && f.ts <= shot_.transition_end)
    candidate = false;
  /* A short fade or dissolve moves the picture so far a frame that one of
   * its steps can score as a cut: a candidate inside a blend is that blend. */
  size_t a = 0, b = 0;
  const bool cut_candidate = candidate && !frames_[i].excursion;
  const bool short_blend =
      cut_candidate && settings_.max_transition_frames > 0 && find_blend_through(i, a, b);
  /* Out of black (the black a fade-out went into, or kGradualLook black
   * frames or more) with no frame that scores as a cut: a fade-in too
   * short or too slow for the blend test (whose settle test a slow fade-in
   * of a moving picture fails), or a change the detector's score does not
   * see (hash, histogram). It is followed back through the frames that
   * were already fading in, and on to where the picture stops moving along
   * the line from black; it must change the picture by kGradualMin. */
  bool out_of_black = false;
  if (!cut_candidate && !short_blend && settings_.max_transition_frames > 0 && i > 0 && !f.black &&
      f.has_score) {
    const size_t run = fade_is_pending_ ? 1 : (size_t)kGradualLook; /* black frames before i */
    bool black_before = i >= run;
    for (size_t k = 1; black_before && k <= run; k++)
      black_before = frames_[i - k].black;
    if (black_before) {
      a = i - 1;
      b = std::max(i, frames_.size() - 1);
      refine_blend(a, b, first_clean_frame(), frames_.size() - 1,
                   (size_t)settings_.max_transition_frames);
      out_of_black = b > a && bgr_distance(bgr_of(frames_[a]), bgr_of(frames_[b])) >= kGradualMin;
    }
  }
  const bool gradual =
      settings_.max_transition_frames > 0 &&
      (short_blend || out_of_black ||
       (!cut_candidate && (find_gradual(i, a, b) || find_dissolve_by_variance(i, a, b))));
  if (gradual && b > i) {
    /* The blend is reported on its first clean frame, b, still to come:
     * followed while b is the newest frame (the blend may go on). */
    OpenBlend ob;
    ob.ended = b + 1 < frames_.size();
    if (!ob.ended) /* only a blend that is followed needs its line */
      ob.axis = blend_axis(a, b);
    ob.at = 1.0;
    ob.a_ts = frames_[a].ts;
    ob.from = frames_[a + 1].ts;
    ob.to = frames_[b].ts;
    ob.a_black = frames_[a].black;
    ob.to_black = frames_[b].black;
    ob.frames = b - a;
    open_blend_ = std::move(ob);
  } else if (cut_candidate && !short_blend) {
    const bool from_black = fade_is_pending_ || (i > 0 && frames_[i - 1].black);
    const GstClockTime start = fade_is_pending_ ? fade_pending_ : f.ts;
    if (long_enough(start)) {
      close_shot(start, v.ended);
      if (from_black && fade_is_pending_)
        open_shot(start, Transition::kFade, start, f.ts);
      else
        open_shot(f.ts, Transition::kCut, f.ts, clean_start(i));
      v.boundary = true;
      v.shot = shot_;
    }
  } else if (gradual) {
    /* Frames a and b are the blend's clean ends: it runs from a + 1 to b. */
    take_blend(frames_[a].ts, frames_[a + 1].ts, frames_[b].ts, frames_[a].black, frames_[b].black);
  }
  accumulate(f);
  out.push_back(std::move(v));
}

} // namespace montage
