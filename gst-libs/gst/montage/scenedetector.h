/* gst-montage: shot-cut (scene change) detection on decoded frames.
 *
 * Plain C++ over OpenCV views; knows nothing of pads or caps. The montagescene
 * element (gst/montagescene/) wraps the planes of each mapped frame in a
 * FrameView, turns it into a small HSV analysis view with AnalysisViewBuilder,
 * and asks a SceneDetector whether that frame starts a new shot.
 *
 *   FrameView (planes of any supported layout, never copied)
 *     -> AnalysisViewBuilder::build()  small 8-bit HSV image, <= max_width wide
 *     -> SceneDetector::push()         { cut?, score } for that frame
 *
 * The decision for a frame is made on that frame alone (no look-ahead), so a
 * caller can act (e.g. ask an encoder for a keyframe) before the frame leaves.
 *
 * How a frame is scored is a FrameScorer; ContentScorer is the one provided now.
 * SceneDetector adds what every scorer shares: the threshold, the minimum shot
 * length, and the rule that the first frame after a reset is never a cut.
 *
 * Nothing here aborts: bad input gives a false/empty result, OpenCV exceptions
 * are caught inside.
 */
#pragma once

#include <gst/gst.h>

#include <opencv2/core.hpp>

#include <memory>
#include <optional>
#include <vector>

namespace montage
{

/* The planes of one decoded 8-bit frame, as views on the caller's memory.
 * Build one with the named constructors; each cv::Mat wraps memory the caller
 * keeps alive (and unchanged) until build() returns, with its own row stride.
 * Nothing is copied when a FrameView is made. */
struct FrameView {
  enum class Layout {
    Gray,          /* luma only: y */
    YuvPlanar,     /* y, u, v planes (I420, YV12, Y42B, Y444...) */
    YuvSemiPlanar, /* y plane and one interleaved chroma plane uv (NV12, NV21) */
    PackedRgb,     /* one plane of 3- or 4-byte pixels: rgb (RGB, BGRx, xRGB...) */
  };

  Layout layout = Layout::Gray;
  cv::Mat y;            /* Gray, Yuv*: CV_8UC1 luma, the full frame size */
  cv::Mat u;            /* YuvPlanar: CV_8UC1 Cb plane, any subsampled size >= 1x1 */
  cv::Mat v;            /* YuvPlanar: CV_8UC1 Cr plane, same size as u */
  cv::Mat uv;           /* YuvSemiPlanar: CV_8UC2 interleaved chroma plane */
  bool v_first = false; /* YuvSemiPlanar: true when uv holds Cr,Cb pairs (NV21) */
  cv::Mat rgb;          /* PackedRgb: CV_8UC3 or CV_8UC4, the full frame size */
  int r_offset = 0, g_offset = 1, b_offset = 2; /* PackedRgb: byte of R, G, B in a pixel */
  /* Gray, Yuv*: the samples use the full 0-255 range (JPEG, yuvj420p phone
   * video, GStreamer's GRAY8 by default) instead of the limited range (luma
   * 16-235, chroma 16-240) that video decoders output. Set it from the
   * stream's colorimetry (frame_view_from_video_frame() does); the named
   * constructors leave it false. RGB is always full range. */
  bool full_range = false;

  /* Y'CbCr is converted with BT.601's matrix whatever the stream's
   * colorimetry, as PySceneDetect's frames are (OpenCV's FFmpeg reader
   * converts with swscale's default, BT.601), so its thresholds carry over:
   * a BT.709 picture's hues come out a few degrees off, the same on both
   * sides of a cut. The range is honoured (see full_range). */
  static FrameView gray(const cv::Mat &y);
  static FrameView yuv_planar(const cv::Mat &y, const cv::Mat &u, const cv::Mat &v);
  static FrameView yuv_semi_planar(const cv::Mat &y, const cv::Mat &uv, bool v_first);
  static FrameView packed_rgb(const cv::Mat &rgb, int r_offset, int g_offset, int b_offset);

  /* Width and height of the frame in pixels (of y, or of rgb). */
  cv::Size size() const;
  /* True when the planes match the layout: right types, non-empty, chroma
   * planes no larger than the luma, offsets inside the pixel. */
  bool valid() const;
};

/* Turns a FrameView into the small HSV image the detectors compare.
 *
 * Output: CV_8UC3, OpenCV's 8-bit HSV (H 0-179, S and V 0-255), max_width wide
 * (or the frame's own width when narrower), height scaled to keep the aspect
 * ratio (at least 1). Gray frames give H = S = 0, V = luma.
 *
 * Cost: YUV frames (planar or semi-planar) are sampled straight from their
 * planes at the analysis size: each output pixel is the mean of the two
 * horizontally adjacent source pixels around its centre on the nearest
 * source row (luma and chroma alike; the nearest pixel when the plane is not
 * larger than the view), with the range expansion done by table on the way
 * (planar frames wider than the view read each pixel's two adjacent taps as
 * one 16-bit index into a 64 KiB table of the expanded mean):
 * one source row in (frame height / view height) is read, with no full-size
 * intermediate and no OpenCV thread pool; the next output row's source rows
 * are prefetched while one is sampled (the frame has just been written by
 * the decoder, out of this core's caches).
 * Grey and RGB planes are reduced with INTER_LINEAR. build() measured
 * about 0.16 ms of CPU per 1080p I420 frame in cache, 0.19 ms out of cache,
 * two thirds of it OpenCV's two colour conversions (docs/scene-benchmark.md). A
 * non-integer INTER_AREA would cost as much as decoding the frame, so it is
 * never used.
 *
 * Default width 256 follows PySceneDetect, which downscales frames to about
 * 256 px wide before scoring, so its thresholds carry over.
 *
 * One builder keeps its scratch images between calls: reuse it per stream,
 * and do not share it between threads. */
class AnalysisViewBuilder
{
public:
  static constexpr int kDefaultMaxWidth = 256;

  /* max_width: widest analysis view in pixels; values < 8 are raised to 8. */
  explicit AnalysisViewBuilder(int max_width = kDefaultMaxWidth);

  /* Fills hsv (reallocated only when the size changes) from frame.
   * Returns false, leaving hsv empty, when !frame.valid() or OpenCV fails. */
  bool build(const FrameView &frame, cv::Mat &hsv);
  /* The same, with the BGR view (CV_8UC3, the analysis size; empty for grey
   * frames) made in bgr instead of in the builder (bgr() is then empty):
   * both images are written where they are, reallocated only when the
   * size changes or (cv::Mat::create) their type differs, so a caller can
   * hand them to ShotDetector::push_views() and build the next frame into
   * the memory it gives back, with no copy. Fails as above (bgr emptied). */
  bool build(const FrameView &frame, cv::Mat &hsv, cv::Mat &bgr);

  /* Analysis size build() gives for a frame of frame_size pixels. */
  cv::Size analysis_size(cv::Size frame_size) const;

  int max_width() const { return max_width_; }

  /* Views the last successful build() left behind, valid until the next
   * build(): luma() is the full-range (0-255) luma at the analysis size
   * (CV_8UC1; from Y for YUV and grey, BT.601 weights for RGB); bgr() the
   * BGR image at the analysis size (CV_8UC3), empty for grey frames. Shot
   * features (shotdetector.h) are measured on them, at no extra reduction. */
  const cv::Mat &luma() const { return luma_; }
  const cv::Mat &bgr() const { return bgr_; }

private:
  void sample_yuv(const FrameView &frame, cv::Size size);

  int max_width_;
  cv::Mat y_, rgb_, ycrcb_, bgr_, luma_;
  /* sample_yuv() source columns (two taps) and rows (one) per output
   * column and row, for the sizes below. */
  std::vector<int> lx0_, lx1_, ly_, cx0_, cx1_, cy_;
  cv::Size taps_size_, taps_luma_, taps_chroma_;
};

/* How different one analysis view is from the previous one.
 * Implementations keep whatever history they need; the interface is what a
 * later detector (histogram, hash, adaptive, fade) plugs into. */
class FrameScorer
{
public:
  virtual ~FrameScorer() = default;

  /* Scores hsv (CV_8UC3, as AnalysisViewBuilder makes it) against the frame
   * given before it and remembers it for the next call. Returns no value for
   * the first frame after construction or reset(), when the size changed since
   * the previous frame, or when hsv is not CV_8UC3. */
  virtual std::optional<double> score(const cv::Mat &hsv) = 0;

  /* Forgets the previous frame: the next score() has no value. */
  virtual void reset() = 0;

  /* Short name for logs and docs, e.g. "content". */
  virtual const char *name() const = 0;
};

/* PySceneDetect's ContentDetector score (Breakthrough/PySceneDetect,
 * scenedetect/detectors/content_detector.py): the mean absolute difference of
 * each HSV channel to the previous frame, combined as a weighted mean,
 * sum(w_c * mean_c) / sum(w_c). Range 0-255 (H, on OpenCV's 0-179 scale,
 * without wrap-around, as PySceneDetect does). */
struct ContentWeights {
  double hue = 1.0, saturation = 1.0, luma = 1.0; /* weight of the H, S and V differences */
};

/* Per-channel mean absolute difference of two 8-bit images: channel c of
 * the result is mean over pixels of |a_c - b_c| (0-255); channels past the
 * images' count are 0. The same values, to the last bit, as
 * cv::mean(cv::absdiff(a, b)) (exact integer sums, scaled by 1/pixels as
 * cv::mean does), in one pass with no intermediate image: the content score,
 * the flash test and the blend test call it several times per frame, and
 * absdiff + mean cost about 5x more (docs/scene-benchmark.md).
 * Input: CV_8UC1 to CV_8UC4, same size and type, any strides.
 * Returns all zeros when either is empty or they differ in size or type, or
 * are not 8-bit. */
cv::Scalar mean_abs_difference(const cv::Mat &a, const cv::Mat &b);

/* The content score between two HSV views (CV_8UC3, one size): the weighted
 * mean sum(w_c * mean_c) / sum(w_c) of mean_abs_difference()'s H, S and V
 * channels (ContentWeights), 0-255. 0 when mean_abs_difference() gives
 * zeros (an empty view, or views of different size or type). The weights
 * must not all be 0. ContentScorer, ShotDetector's flash and blend tests
 * and clip analysis's keyframe gate all measure with it. */
double content_distance(const cv::Mat &a, const cv::Mat &b, const ContentWeights &w);

class ContentScorer final : public FrameScorer
{
public:
  using Weights = ContentWeights;
  /* PySceneDetect's default weights (1, 1, 1; its edge weight 0 is not implemented). */
  static constexpr Weights kDefaultWeights{};
  /* PySceneDetect's luma_only=True: V alone. Use it for greyscale video, where
   * H and S are always 0 and equal weights would score every change at a third
   * of its size. */
  static constexpr Weights kLumaOnly{0.0, 0.0, 1.0};

  /* Negative weights count as 0; all-zero weights fall back to the defaults. */
  explicit ContentScorer(Weights weights = kDefaultWeights);

  std::optional<double> score(const cv::Mat &hsv) override;
  void reset() override;
  const char *name() const override { return "content"; }
  const Weights &weights() const { return weights_; }

private:
  Weights weights_;
  cv::Mat previous_;
};

/* What SceneDetector decided about one frame. */
struct SceneDecision {
  bool cut = false;   /* this frame is the first frame of a new shot */
  double score = 0.0; /* the scorer's score for this frame (0 when it had none) */
};

struct SceneDetectorSettings {
  /* A frame whose score is >= threshold starts a new shot (0-255 for
   * ContentScorer). 27 is PySceneDetect's ContentDetector default; on this
   * project's sample clips true cuts score 37-54 and every other frame at most
   * 9.3 (except the change from a black first frame, which min_shot_length
   * covers), so it is kept (docs/montagescene.md). */
  double threshold = 27.0;
  /* A cut less than this many ns after the previous cut (or after the first
   * frame since a reset) is not reported. 500 ms is PySceneDetect's
   * min_scene_len of 15 frames at 30 fps. */
  GstClockTime min_shot_length = 500 * GST_MSECOND;
};

/* Frame-accurate, look-ahead-free shot-cut detector.
 *
 * push() each frame of a stream in order. The first frame after construction
 * or reset() is never a cut and counts as the start of the first shot, so
 * min_shot_length also keeps a change right at the start of a stream (e.g. a
 * black first frame, as decoders often give) from being reported.
 * A frame of a different analysis size than the previous one restarts the
 * detector the same way (not a cut). */
class SceneDetector
{
public:
  /* scorer: how frames are compared; nullptr (the default) uses a ContentScorer. */
  explicit SceneDetector(SceneDetectorSettings settings = {},
                         std::unique_ptr<FrameScorer> scorer = nullptr);

  /* hsv: the analysis view of the frame (AnalysisViewBuilder output).
   * timestamp: the frame's time in ns, non-decreasing (or non-increasing in
   * reverse playback: the distance between cuts is taken as an absolute
   * value). With GST_CLOCK_TIME_NONE the min_shot_length test is skipped for
   * that frame and it cannot serve as the reference for the next one. */
  SceneDecision push(const cv::Mat &hsv, GstClockTime timestamp);

  /* Starts over as if newly made (call on flush, seek or new segment). */
  void reset();

  /* New settings apply from the next push(). */
  void set_settings(const SceneDetectorSettings &settings) { settings_ = settings; }
  const SceneDetectorSettings &settings() const { return settings_; }

  const FrameScorer &scorer() const { return *scorer_; }

private:
  SceneDetectorSettings settings_;
  std::unique_ptr<FrameScorer> scorer_;
  bool started_ = false;
  GstClockTime shot_start_ = GST_CLOCK_TIME_NONE; /* first frame of the current shot */
};

} // namespace montage
