/* gst-montage: shot-cut detection (see scenedetector.h). */
#include <gst/montage/scenedetector.h>

#include <opencv2/core/hal/intrin.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace montage
{

/* ---- FrameView ---- */

FrameView FrameView::gray(const cv::Mat &y)
{
  FrameView f;
  f.layout = Layout::Gray;
  f.y = y;
  return f;
}

FrameView FrameView::yuv_planar(const cv::Mat &y, const cv::Mat &u, const cv::Mat &v)
{
  FrameView f;
  f.layout = Layout::YuvPlanar;
  f.y = y;
  f.u = u;
  f.v = v;
  return f;
}

FrameView FrameView::yuv_semi_planar(const cv::Mat &y, const cv::Mat &uv, bool v_first)
{
  FrameView f;
  f.layout = Layout::YuvSemiPlanar;
  f.y = y;
  f.uv = uv;
  f.v_first = v_first;
  return f;
}

FrameView FrameView::packed_rgb(const cv::Mat &rgb, int r_offset, int g_offset, int b_offset)
{
  FrameView f;
  f.layout = Layout::PackedRgb;
  f.rgb = rgb;
  f.r_offset = r_offset;
  f.g_offset = g_offset;
  f.b_offset = b_offset;
  return f;
}

cv::Size FrameView::size() const
{
  return layout == Layout::PackedRgb ? rgb.size() : y.size();
}

namespace
{

bool chroma_fits(const cv::Mat &c, int type, cv::Size luma)
{
  return !c.empty() && c.type() == type && c.cols <= luma.width && c.rows <= luma.height;
}

} // namespace

bool FrameView::valid() const
{
  switch (layout) {
  case Layout::Gray:
    return !y.empty() && y.type() == CV_8UC1;
  case Layout::YuvPlanar:
    return !y.empty() && y.type() == CV_8UC1 && chroma_fits(u, CV_8UC1, y.size()) &&
           chroma_fits(v, CV_8UC1, y.size()) && u.size() == v.size();
  case Layout::YuvSemiPlanar:
    return !y.empty() && y.type() == CV_8UC1 && chroma_fits(uv, CV_8UC2, y.size());
  case Layout::PackedRgb: {
    if (rgb.empty() || (rgb.type() != CV_8UC3 && rgb.type() != CV_8UC4))
      return false;
    const int n = rgb.channels();
    for (int o : {r_offset, g_offset, b_offset})
      if (o < 0 || o >= n)
        return false;
    return r_offset != g_offset && g_offset != b_offset && r_offset != b_offset;
  }
  }
  return false;
}

/* ---- AnalysisViewBuilder ---- */

AnalysisViewBuilder::AnalysisViewBuilder(int max_width) : max_width_(std::max(8, max_width)) {}

cv::Size AnalysisViewBuilder::analysis_size(cv::Size frame_size) const
{
  if (frame_size.width <= max_width_)
    return frame_size;
  const int h = (int)std::lround((double)frame_size.height * max_width_ / frame_size.width);
  return {max_width_, std::max(1, h)};
}

namespace
{

/* Plane reduction: a plain copy when no scaling is needed, INTER_LINEAR
 * otherwise (cheap at any ratio; see the cost note in the header). */
void reduce(const cv::Mat &src, cv::Size size, cv::Mat &dst)
{
  if (src.size() == size)
    src.copyTo(dst);
  else
    cv::resize(src, dst, size, 0, 0, cv::INTER_LINEAR);
}

/* Source samples for each of n_dst outputs along one axis: with `pair`, the
 * two neighbours around the output's centre when reducing (averaged, like a
 * bilinear reduction with equal weights); otherwise, or when not reducing,
 * the nearest one (given twice). */
void sample_taps(int n_src, int n_dst, bool pair, std::vector<int> &first, std::vector<int> &second)
{
  first.resize(n_dst);
  second.resize(n_dst);
  const double scale = (double)n_src / n_dst;
  for (int i = 0; i < n_dst; i++) {
    if (scale <= 1.0 || !pair) {
      first[i] = second[i] = std::min(n_src - 1, (int)((i + 0.5) * scale));
    } else {
      first[i] = std::clamp((int)std::floor((i + 0.5) * scale - 0.5), 0, n_src - 2);
      second[i] = first[i] + 1;
    }
  }
}

/* Tables indexed by the sum of the two horizontal taps (0-510): entry s
 * holds the full-range value of their rounded mean, (s + 1) / 2, expanded
 * from the limited range as convertTo would round (or kept as it is, for
 * full-range samples). */
struct RangeTables {
  guint8 luma[511], chroma[511];
  explicit RangeTables(bool full_range)
  {
    for (int s = 0; s < 511; s++) {
      const int v = (s + 1) >> 1;
      luma[s] = full_range ? (guint8)v
                           : cv::saturate_cast<guint8>(v * 255.0 / 219.0 - 16.0 * 255.0 / 219.0);
      chroma[s] =
          full_range ? (guint8)v
                     : cv::saturate_cast<guint8>(v * 255.0 / 224.0 + 128.0 - 128.0 * 255.0 / 224.0);
    }
  }
};
const RangeTables kLimitedRange(false), kFullRange(true);

/* The same values indexed by the two taps' bytes as one 16-bit load reads
 * them (a + 256 b, or b + 256 a: the value depends on the sum alone), so
 * that adjacent taps cost one load and one table read instead of two loads,
 * an add and a table read (9 of the 23 instructions a view pixel took).
 * 64 KiB a table; made on first use. */
struct PairTables {
  guint8 luma[65536], chroma[65536];
  explicit PairTables(const RangeTables &range)
  {
    for (int i = 0; i < 65536; i++) {
      luma[i] = range.luma[(i & 255) + (i >> 8)];
      chroma[i] = range.chroma[(i & 255) + (i >> 8)];
    }
  }
};

const PairTables &pair_tables(bool full_range)
{
  static const PairTables limited(kLimitedRange), full(kFullRange);
  return full_range ? full : limited;
}

/* The two adjacent bytes at p, as one 16-bit index. */
inline guint16 pair_at(const guint8 *p)
{
  guint16 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

} // namespace

void AnalysisViewBuilder::sample_yuv(const FrameView &frame, cv::Size size)
{
  const cv::Size luma = frame.y.size();
  const cv::Size chroma =
      frame.layout == FrameView::Layout::YuvPlanar ? frame.u.size() : frame.uv.size();
  if (size != taps_size_ || luma != taps_luma_ || chroma != taps_chroma_) {
    /* One source row per output row: reading rows is what costs (the
     * frame is far larger than the caches), so rows are never paired. */
    std::vector<int> same_rows;
    sample_taps(luma.width, size.width, true, lx0_, lx1_);
    sample_taps(luma.height, size.height, false, ly_, same_rows);
    sample_taps(chroma.width, size.width, true, cx0_, cx1_);
    sample_taps(chroma.height, size.height, false, cy_, same_rows);
    taps_size_ = size;
    taps_luma_ = luma;
    taps_chroma_ = chroma;
  }
  ycrcb_.create(size, CV_8UC3);
  y_.create(size, CV_8UC1);
  const bool planar = frame.layout == FrameView::Layout::YuvPlanar;
  const int u_off = frame.v_first ? 1 : 0, v_off = frame.v_first ? 0 : 1;
  const int *lx0 = lx0_.data(), *lx1 = lx1_.data(), *cx0 = cx0_.data(), *cx1 = cx1_.data();
  /* sample_taps() gives every output of an axis the same second tap: the
   * first one's neighbour (reducing) or the first one again. So the loops
   * below read each pixel's second taps through row pointers moved by that
   * step, at the first taps' index: one index per plane, not two (the same
   * samples, and the sums, of two bytes, index the tables unsigned). */
  const ptrdiff_t luma_step = lx1[0] - lx0[0], chroma_step = cx1[0] - cx0[0];
  const RangeTables &kRange = frame.full_range ? kFullRange : kLimitedRange;
  /* The bytes of one row that its taps read, from the first to the last. */
  const int luma_span = lx1[size.width - 1] + 1 - lx0[0];
  const int chroma_span = (planar ? 1 : 2) * (cx1[size.width - 1] + 1 - cx0[0]);
  auto prefetch = [](const guint8 *p, int bytes) {
    for (int k = 0; k < bytes; k += 64)
      __builtin_prefetch(p + k);
  };
  for (int oy = 0; oy < size.height; oy++) {
    /* The source rows are far apart (7.5 at 1080p) and the frame was just
     * written by the decoder, out of this core's caches: ask for the next
     * output row's source rows while this one is sampled, so their reads
     * overlap this row's work instead of stalling on each cache line. */
    if (oy + 1 < size.height) {
      prefetch(frame.y.ptr<guint8>(ly_[oy + 1]) + lx0[0], luma_span);
      if (planar) {
        prefetch(frame.u.ptr<guint8>(cy_[oy + 1]) + cx0[0], chroma_span);
        prefetch(frame.v.ptr<guint8>(cy_[oy + 1]) + cx0[0], chroma_span);
      } else {
        prefetch(frame.uv.ptr<guint8>(cy_[oy + 1]) + 2 * cx0[0], chroma_span);
      }
    }
    const guint8 *yr = frame.y.ptr<guint8>(ly_[oy]), *yr2 = yr + luma_step;
    guint8 *out = ycrcb_.ptr<guint8>(oy), *lum = y_.ptr<guint8>(oy);
    /* The pixel loops are unrolled 4 times: their loop counting and
     * pointer steps (4 pointers) were 6 of 28 instructions a pixel. */
    if (planar && luma_step == 1 && chroma_step == 1) {
      /* Both planes reduced (every frame wider than the view): each pair
       * of taps is adjacent, read as one 16-bit index (PairTables). */
      const PairTables &pairs = pair_tables(frame.full_range);
      const guint8 *ur = frame.u.ptr<guint8>(cy_[oy]), *vr = frame.v.ptr<guint8>(cy_[oy]);
#pragma GCC unroll 4
      for (int ox = 0; ox < size.width; ox++, out += 3) {
        const ptrdiff_t l = lx0[ox], c = cx0[ox];
        out[0] = lum[ox] = pairs.luma[pair_at(yr + l)];
        out[1] = pairs.chroma[pair_at(vr + c)];
        out[2] = pairs.chroma[pair_at(ur + c)];
      }
    } else if (planar) {
      const guint8 *ur = frame.u.ptr<guint8>(cy_[oy]), *ur2 = ur + chroma_step;
      const guint8 *vr = frame.v.ptr<guint8>(cy_[oy]), *vr2 = vr + chroma_step;
#pragma GCC unroll 4
      for (int ox = 0; ox < size.width; ox++, out += 3) {
        const ptrdiff_t l = lx0[ox], c = cx0[ox];
        const guint8 yv = kRange.luma[(size_t)yr[l] + yr2[l]];
        out[0] = lum[ox] = yv;
        out[1] = kRange.chroma[(size_t)vr[c] + vr2[c]];
        out[2] = kRange.chroma[(size_t)ur[c] + ur2[c]];
      }
    } else {
      const guint8 *cr = frame.uv.ptr<guint8>(cy_[oy]);
      const guint8 *ur = cr + u_off, *ur2 = ur + 2 * chroma_step;
      const guint8 *vr = cr + v_off, *vr2 = vr + 2 * chroma_step;
#pragma GCC unroll 4
      for (int ox = 0; ox < size.width; ox++, out += 3) {
        const ptrdiff_t l = lx0[ox], c = 2 * (ptrdiff_t)cx0[ox];
        const guint8 yv = kRange.luma[(size_t)yr[l] + yr2[l]];
        out[0] = lum[ox] = yv;
        out[1] = kRange.chroma[(size_t)vr[c] + vr2[c]];
        out[2] = kRange.chroma[(size_t)ur[c] + ur2[c]];
      }
    }
  }
}

bool AnalysisViewBuilder::build(const FrameView &frame, cv::Mat &hsv)
{
  return build(frame, hsv, bgr_);
}

bool AnalysisViewBuilder::build(const FrameView &frame, cv::Mat &hsv, cv::Mat &bgr)
{
  if (&bgr != &bgr_)
    bgr_.release(); /* bgr() is for the two-argument build() */
  luma_.release();
  if (!frame.valid()) {
    hsv.release();
    return false;
  }
  const cv::Size size = analysis_size(frame.size());
  try {
    switch (frame.layout) {
    case FrameView::Layout::Gray: {
      reduce(frame.y, size, y_);
      /* HSV of a grey pixel: H = S = 0, V = its value (expanded to full range). */
      if (!frame.full_range)
        y_.convertTo(y_, CV_8U, 255.0 / 219.0, -16.0 * 255.0 / 219.0);
      cv::Mat zero = cv::Mat::zeros(size, CV_8UC1);
      cv::Mat planes[] = {zero, zero, y_};
      cv::merge(planes, 3, hsv);
      bgr.release();
      luma_ = y_;
      return true;
    }
    case FrameView::Layout::YuvPlanar:
    case FrameView::Layout::YuvSemiPlanar: {
      /* Sampled straight from the planes, limited to full range on the way
       * (no full-size intermediate), then OpenCV's YCrCb (BT.601 full
       * range) to BGR (see FrameView on the matrix). */
      sample_yuv(frame, size);
      cv::cvtColor(ycrcb_, bgr, cv::COLOR_YCrCb2BGR);
      cv::cvtColor(bgr, hsv, cv::COLOR_BGR2HSV);
      luma_ = y_;
      return true;
    }
    case FrameView::Layout::PackedRgb: {
      reduce(frame.rgb, size, rgb_);
      bgr.create(size, CV_8UC3);
      const int from_to[] = {frame.b_offset, 0, frame.g_offset, 1, frame.r_offset, 2};
      cv::mixChannels(&rgb_, 1, &bgr, 1, from_to, 3);
      cv::cvtColor(bgr, hsv, cv::COLOR_BGR2HSV);
      cv::cvtColor(bgr, luma_, cv::COLOR_BGR2GRAY);
      return true;
    }
    }
  } catch (const cv::Exception &) {
  }
  hsv.release();
  bgr.release();
  return false;
}

/* ---- mean_abs_difference ---- */

namespace
{

#if CV_SIMD128
/* Sums |a - b| per byte position over whole blocks of 16 * V bytes from
 * a[i], b[i] on, into 16-bit lanes flushed every 256 blocks (255 at most per
 * block); lane k belongs to channel k % cn, the block being a whole number of
 * pixels. Returns the index after the last whole block. */
template <int V>
int blocks_abs_difference(const guint8 *a, const guint8 *b, int i, int n, int cn, guint64 sum[4])
{
  constexpr int kBlock = 16 * V;
  cv::v_uint16x8 acc[2 * V];
  guint16 lanes[kBlock];
  while (i + kBlock <= n) {
    for (int v = 0; v < 2 * V; v++)
      acc[v] = cv::v_setzero_u16();
    for (int k = 0; k < 256 && i + kBlock <= n; k++, i += kBlock) {
      /* Unrolled, so that the accumulators stay in registers (GCC 12 at -O2
       * kept them on the stack for V = 3: a load and a store per vector). */
#pragma GCC unroll 4
      for (int v = 0; v < V; v++) {
        cv::v_uint16x8 lo, hi;
        cv::v_expand(cv::v_absdiff(cv::v_load(a + i + 16 * v), cv::v_load(b + i + 16 * v)), lo, hi);
        acc[2 * v] += lo;
        acc[2 * v + 1] += hi;
      }
    }
    for (int v = 0; v < 2 * V; v++)
      cv::v_store(lanes + 8 * v, acc[v]);
    for (int k = 0; k < kBlock; k += cn)
      for (int c = 0; c < cn; c++)
        sum[c] += lanes[k + c];
  }
  return i;
}
#endif

/* Sums of |a - b| per channel over `width` pixels of `cn` bytes, without
 * deinterleaving the channels (blocks_abs_difference()). */
void row_abs_difference(const guint8 *a, const guint8 *b, int width, int cn, guint64 sum[4])
{
  const int n = width * cn;
  int i = 0;
#if CV_SIMD128
  if (cn == 1) {
    for (; i + 16 <= n; i += 16)
      sum[0] += cv::v_reduce_sad(cv::v_load(a + i), cv::v_load(b + i));
  } else if (cn == 3) {
    i = blocks_abs_difference<3>(a, b, i, n, cn, sum); /* 48 bytes: 16 pixels */
  } else {
    i = blocks_abs_difference<1>(a, b, i, n, cn, sum); /* 16 bytes: 8 or 4 pixels */
  }
#endif
  for (; i < n; i += cn)
    for (int c = 0; c < cn; c++)
      sum[c] += (guint64)std::abs(a[i + c] - b[i + c]);
}

} // namespace

cv::Scalar mean_abs_difference(const cv::Mat &a, const cv::Mat &b)
{
  if (a.empty() || b.empty() || a.size() != b.size() || a.type() != b.type() ||
      a.depth() != CV_8U || a.dims != 2)
    return cv::Scalar::all(0.0);
  const int cn = a.channels();
  guint64 sum[4] = {0, 0, 0, 0};
  if (a.isContinuous() && b.isContinuous())
    row_abs_difference(a.ptr<guint8>(), b.ptr<guint8>(), a.rows * a.cols, cn, sum);
  else
    for (int y = 0; y < a.rows; y++)
      row_abs_difference(a.ptr<guint8>(y), b.ptr<guint8>(y), a.cols, cn, sum);
  /* As cv::mean: the sum times the reciprocal of the pixel count. */
  const double scale = 1.0 / ((double)a.rows * a.cols);
  cv::Scalar out = cv::Scalar::all(0.0);
  for (int c = 0; c < cn; c++)
    out[c] = (double)sum[c] * scale;
  return out;
}

double content_distance(const cv::Mat &a, const cv::Mat &b, const ContentWeights &w)
{
  const cv::Scalar m = mean_abs_difference(a, b);
  return (w.hue * m[0] + w.saturation * m[1] + w.luma * m[2]) / (w.hue + w.saturation + w.luma);
}

/* ---- ContentScorer ---- */

ContentScorer::ContentScorer(Weights weights)
{
  weights.hue = std::max(0.0, weights.hue);
  weights.saturation = std::max(0.0, weights.saturation);
  weights.luma = std::max(0.0, weights.luma);
  weights_ = weights.hue + weights.saturation + weights.luma > 0.0 ? weights : kDefaultWeights;
}

std::optional<double> ContentScorer::score(const cv::Mat &hsv)
{
  if (hsv.empty() || hsv.type() != CV_8UC3) {
    previous_.release();
    return std::nullopt;
  }
  std::optional<double> out;
  if (!previous_.empty() && previous_.size() == hsv.size())
    out = montage::content_distance(hsv, previous_, weights_);
  hsv.copyTo(previous_);
  return out;
}

void ContentScorer::reset()
{
  previous_.release();
}

/* ---- SceneDetector ---- */

SceneDetector::SceneDetector(SceneDetectorSettings settings, std::unique_ptr<FrameScorer> scorer)
    : settings_(settings), scorer_(scorer ? std::move(scorer) : std::make_unique<ContentScorer>())
{
}

void SceneDetector::reset()
{
  scorer_->reset();
  started_ = false;
  shot_start_ = GST_CLOCK_TIME_NONE;
}

SceneDecision SceneDetector::push(const cv::Mat &hsv, GstClockTime timestamp)
{
  const std::optional<double> score = scorer_->score(hsv);
  if (!started_ || !score) {
    /* First frame of the stream (or of a new size): the first shot starts here. */
    started_ = true;
    shot_start_ = timestamp;
    return {};
  }

  SceneDecision d;
  d.score = *score;
  if (d.score < settings_.threshold)
    return d;
  if (GST_CLOCK_TIME_IS_VALID(timestamp) && GST_CLOCK_TIME_IS_VALID(shot_start_)) {
    const GstClockTime since =
        timestamp >= shot_start_ ? timestamp - shot_start_ : shot_start_ - timestamp;
    if (since < settings_.min_shot_length)
      return d;
  }
  d.cut = true;
  shot_start_ = timestamp;
  return d;
}

} // namespace montage
