/* gst-montage: shot boundaries (hard cuts, fades, dissolves) and shot features.
 *
 * Plain C++ over OpenCV views; knows nothing of pads or caps. Used by the
 * montagescene element and by analyse_clip_file() (clipanalysis.h).
 *
 *   FrameView -> AnalysisViewBuilder::build()          (scenedetector.h)
 *             -> ShotDetector::push(view, timestamp)   verdicts for earlier frames
 *             -> ShotDetector::finish()                verdicts for the rest; returns the last shot
 *
 * Every frame pushed gets exactly one FrameVerdict, in push order, but
 * latency_frames() frames late: to tell a cut from a camera flash, from a
 * cut away and straight back, or (adaptive detector) from fast motion, the
 * detector looks at the frames that follow a candidate. A caller that acts
 * on the cut frame itself (montagescene asks an encoder for a keyframe there)
 * holds that many frames.
 *
 * Nothing here aborts: bad input gives no verdict; OpenCV exceptions are
 * caught inside.
 */
#pragma once

#include <gst/montage/scenedetector.h>
#include <gst/montage/shotmeta.h>
#include <gst/montage/types.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

namespace montage
{

/* How consecutive frames are compared (the `detector` property). */
enum class DetectorKind {
  kContent,   /* ContentScorer: mean absolute HSV difference, 0-255 */
  kAdaptive,  /* content score against its neighbours' mean (PySceneDetect AdaptiveDetector) */
  kHistogram, /* HistogramScorer: 1 - correlation of luma histograms, 0-2 */
  kHash,      /* HashScorer: normalised Hamming distance of DCT perceptual hashes, 0-1 */
};

/* "content", "adaptive", "histogram", "hash". */
const char *detector_kind_name(DetectorKind kind);
/* Parses a name as above; false (kind untouched) when unknown. */
bool detector_kind_from_name(const char *name, DetectorKind &kind);
/* The threshold a kind uses when ShotDetectorSettings::threshold < 0, on its
 * own score scale: content 27 and histogram 0.05 and hash 0.395 are
 * PySceneDetect's defaults (ContentDetector, HistogramDetector, HashDetector);
 * adaptive 3.0 is its adaptive_threshold (a ratio, see ShotDetectorSettings). */
double default_threshold(DetectorKind kind);

/* PySceneDetect's HistogramDetector score: 1 - the correlation
 * (cv::HISTCMP_CORREL) of the 256-bin luma histograms of this frame and the
 * previous one; 0 for identical histograms, up to 2. Input: a CV_8UC1 luma
 * view, or a CV_8UC3 HSV view (V is used). No value as for FrameScorer. */
class HistogramScorer final : public FrameScorer
{
public:
  std::optional<double> score(const cv::Mat &view) override;
  void reset() override { previous_.release(); }
  const char *name() const override { return "histogram"; }

private:
  cv::Mat previous_, hist_;
};

/* PySceneDetect's HashDetector score: the frame is reduced to 32x32 (INTER_AREA
 * from the small analysis view), its 2-D DCT's 16x16 lowest frequencies are
 * compared with their median, giving a 256-bit perceptual hash; the score is
 * the Hamming distance to the previous frame's hash divided by 256 (0-1).
 * Input as HistogramScorer. */
class HashScorer final : public FrameScorer
{
public:
  std::optional<double> score(const cv::Mat &view) override;
  void reset() override { previous_.clear(); }
  const char *name() const override { return "hash"; }

private:
  std::vector<bool> previous_;
  cv::Size previous_size_;
  cv::Mat small_, dct_;
};

struct ShotDetectorSettings {
  DetectorKind detector = DetectorKind::kAdaptive;
  /* Score at or above which a frame is a cut candidate, on the detector's
   * scale; < 0 uses default_threshold(detector). For kAdaptive it is the
   * ratio of the frame's content score to the mean content score of the
   * adaptive_window frames on each side. Where the camera moves (the frame's
   * content score at least min_content and the neighbours' mean at least
   * half of it) and that ratio falls short, the same ratio is taken again
   * on the scores with the camera's translation taken out (phase
   * correlation of the luma views, docs/montagescene.md "Camera motion"):
   * a pan changes every frame alike, a cut out of it alone. */
  double threshold = -1.0;
  /* Least change a cut makes (0-255), with every detector: the mean
   * absolute difference of its BGR view to the frame before's (near black,
   * of their luma), and for kAdaptive its content score; it also bounds a
   * flash's return and the camera-motion test (montagescene's min-content).
   * 15 and the window of 2 (kAdaptive only) are PySceneDetect's
   * AdaptiveDetector defaults. */
  double min_content = 15.0;
  int adaptive_window = 2;
  /* A boundary less than this after the previous one (or after the first
   * frame since a reset) is merged into the shot before it: the frames stay,
   * the boundary is not reported. 500 ms is PySceneDetect's min_scene_len of
   * 15 frames at 30 fps. */
  GstClockTime min_shot_length = 500 * GST_MSECOND;
  /* How far after a cut (or a stream's first frame) its shot's first clean
   * frame may lie (ShotDetector::clean_start()): a jump at least this far on
   * is a boundary of its own. GST_CLOCK_TIME_NONE: min_shot_length. The
   * keyframe path's refinement sets it to the clip's min_shot_length while
   * its detectors keep every boundary (min_shot_length 0; it merges them
   * itself), so that they find the same first clean frames as full
   * decoding. */
  GstClockTime clean_start_span = GST_CLOCK_TIME_NONE;
  /* Flash and cut-away-and-back suppression: a candidate at frame t is no cut
   * when one of the next flash_frames frames looks like frame t-1 again
   * (content distance below 40 % of the jump at t and within what the
   * shot's own motion explains, or the same with the camera's motion taken
   * out of both, looks_back()). 0 disables it. 3 frames
   * (125 ms at 24 fps) covers camera flashes (1-2 frames) and a brief insert. */
  int flash_frames = 3;
  /* Fades and dissolves: look for linear blends between frames up to this
   * many frames apart (0 disables; 60 frames = 2 s at 30 fps). */
  int max_transition_frames = 60;
  /* Measure ShotFeatures. Brightness and contrast are measured on every
   * frame (the fade test needs them anyway); motion, sharpness,
   * colourfulness and the histogram on one frame in features_every (counted
   * from the first frame since a reset; motion against the frame before it),
   * as montagescene's features meta does (kShotFeaturesEvery). Together
   * about 0.03 ms per frame on the 256 px view (docs/montagescene.md). A
   * shot with no clean measured frame (shorter than features_every frames,
   * say) ends with has_features false (types.h, Shot). */
  bool features = true;
  /* 1 measures every frame; values < 1 count as 1. */
  guint features_every = kShotFeaturesEvery;
};

/* One frame's measures, as ShotDetector::last_features() gives them. */
struct FrameFeatures {
  /* Mean and standard deviation of the luma view (0-255): every frame. */
  double brightness = 0.0, contrast = 0.0;
  /* True on the one frame in features_every where the rest was measured. */
  bool measured = false;
  /* Mean absolute luma difference to the frame before (0-255); < 0 when
   * there was none (first frame, size change). */
  double motion = -1.0;
  double sharpness = 0.0;     /* variance of the Laplacian of the luma view */
  double colourfulness = 0.0; /* colourfulness() of the BGR view; 0 for grey */
};

/* What the detector says about one frame, latency_frames() after its push. */
struct FrameVerdict {
  GstClockTime timestamp = GST_CLOCK_TIME_NONE; /* as pushed */
  /* Score of this frame on the detector's scale (for kAdaptive, the ratio;
   * 0 when it had none: first frame, size change). */
  double score = 0.0;
  double content = 0.0; /* its content score (0-255) */
  /* The first frame since construction, reset() or a size change: it starts
   * the first shot (shot holds it) and is never a boundary. */
  bool first = false;
  /* This frame starts a new shot: a hard cut at this frame, or the end of a
   * fade/dissolve (the first clean frame of the new shot). */
  bool boundary = false;
  /* This frame belongs to a flash or a cut away and back (from its first
   * frame to the one that comes back): no cut, and left out of the shot's
   * features (a white frame or an insert is not the shot's picture). */
  bool excursion = false;
  /* When boundary: the new shot, with start, transition and its extent
   * (end and features are not known yet). For a cut start == timestamp
   * == transition_start, and transition_end is its first clean frame:
   * start, or, where the cut is on a frame between two shots (a one-frame
   * insert or a flash straight into a cut, A B C), the frame after it
   * (ShotDetector::clean_start()); for a fade or dissolve start is the
   * transition's first frame, which was given an earlier (boundary = false)
   * verdict. */
  Shot shot;
  /* The shot that just ended, complete: when boundary, the shot before it;
   * when first after push() saw a size change, the previous stream's last
   * shot. The stream's last shot is not here: finish() returns it. */
  std::optional<Shot> ended;
};

/* Frame-accurate shot-boundary detector with a short, fixed look-ahead.
 * Detectors and defaults follow PySceneDetect (its published parameters;
 * docs/montagescene.md lists them and where ours differ); flash suppression and the blend test for
 * gradual transitions are ours (docs/montagescene.md says how they were checked); dissolves between
 * moving shots are also found by the luma variance curve (Alattar 1993,
 * find_dissolve_by_variance()). */
class ShotDetector
{
public:
  /* The most frames of another picture (an insert, a flash, a black frame)
   * a shot may open on before its own picture, its first clean frame
   * (Shot::transition_end), starts: after a cut on them (A B C, A B B C) or
   * at the start of a stream (B C). */
  static constexpr int kCleanStartFrames = 2;

  /* Frames after a cut (or a stream's first frame) in which clean_start()
   * looks for the shot's first clean frame, for a detector made with
   * `settings`: min(flash_frames, kCleanStartFrames, latency_frames() - 1),
   * at least 0 (the frame after it must be pushed too, to tell a flash that
   * returns from a new picture). */
  static int clean_start_reach(const ShotDetectorSettings &settings);

  /* luma_only: grey video; content scores use V alone (ContentScorer::kLumaOnly). */
  explicit ShotDetector(ShotDetectorSettings settings = {}, bool luma_only = false);

  /* Frames a verdict trails its push: max(flash_frames, adaptive window). */
  int latency_frames() const;
  /* The same for a detector made with `settings` (each clamped to its range
   * as the constructor does), without making one. */
  static int latency_frames(const ShotDetectorSettings &settings);

  /* Pushes the analysis views of one frame (builder.build() output: hsv, and
   * builder.luma()/bgr() for the features and the fade/dissolve test; bgr
   * may be empty: that test then uses the HSV view converted back) with its
   * timestamp (ns, non-decreasing; GST_CLOCK_TIME_NONE allowed) and duration
   * (ns or GST_CLOCK_TIME_NONE). Appends the verdicts now final to out.
   * A view of another size than the previous frame's starts a new stream
   * (as finish(): the earlier frames' verdicts are appended; their stream's
   * last shot comes in `ended` of the new stream's first verdict, the one
   * with `first`). Returns false (nothing pushed) when hsv is not CV_8UC3. */
  bool push(const cv::Mat &hsv, const cv::Mat &luma, const cv::Mat &bgr, GstClockTime timestamp,
            GstClockTime duration, std::vector<FrameVerdict> &out);
  /* As push(), but the views' memory is taken instead of copied (two
   * copies of 110 KB a frame at the default 256x144, about 9 % of the
   * element's instructions before): hsv (CV_8UC3, or nothing is pushed and
   * false returned) and bgr (as for push(); empty, or not matching hsv, for
   * none) are moved into the detector, which keeps them while it may test
   * the frame. On return they hold the memory of an earlier frame's views
   * that the detector no longer needs and that no other cv::Mat shares, or
   * are empty: build the next frame's views into them
   * (AnalysisViewBuilder::build(frame, hsv, bgr)). A caller may keep its
   * own cv::Mat header of a view it pushed (the element keeps a measured
   * frame's HSV view for its colour histogram) but must not write into it:
   * such memory is not given back while it is shared. */
  bool push_views(cv::Mat &hsv, const cv::Mat &luma, cv::Mat &bgr, GstClockTime timestamp,
                  GstClockTime duration, std::vector<FrameVerdict> &out);

  /* End of stream (or of a segment): appends the verdicts of the frames
   * still held (none when latency_frames() is 0) and returns the stream's
   * last shot, complete (end = last timestamp + duration, or the last
   * timestamp when that frame has no duration); nothing when no frame was
   * pushed since the last reset. It is returned rather than put in a
   * verdict's `ended`: a boundary on the last frame already carries the
   * shot before it there, and with no look-ahead no verdict is left to
   * carry it. Then as reset().
   *
   * fade_pending, when given, is set to the start (stream time, ns) of a
   * fade-out to black that no fade-in or cut out of black has ended yet
   * (its boundary would come with the next picture), else to
   * GST_CLOCK_TIME_NONE. The keyframe path (analyse_clip_file()) passes it
   * on to the next refined run, as one detector over every frame keeps it
   * through the black GOPs that are not decoded. */
  [[nodiscard]] std::optional<Shot> finish(std::vector<FrameVerdict> &out,
                                           GstClockTime *fade_pending = nullptr);

  /* A gap in the stream (montagescene: a GAP event, no frames for a
   * while): appends the verdicts of the frames still held, decided as
   * finish() decides them (no frame can come back from a jump, or carry on
   * a fade or dissolve, inside the gap), but the shot goes on: the next
   * frame pushed is compared with the last one before the gap, and a change
   * there is a boundary as anywhere else. */
  void decide_held(std::vector<FrameVerdict> &out);
  /* Drops held frames without verdicts and starts over (flush, seek). */
  void reset();

  /* The measures of the frame the last successful push() took (valid until
   * the next push()); all zero/false when settings().features is off. */
  const FrameFeatures &last_features() const { return last_features_; }

  const ShotDetectorSettings &settings() const { return settings_; }
  /* Takes effect from the next push() (a longer look-ahead holds more frames
   * from then on; a new detector kind starts a new shot). */
  void set_settings(const ShotDetectorSettings &settings);

private:
  struct Frame {
    cv::Mat hsv; /* the analysis view: a copy (push()) or the caller's own (push_views()) */
    /* Own copy of the BGR analysis view (push()'s bgr), or, for frames
     * pushed without one, the HSV view's conversion, made the first time
     * the blend test needs it (find_gradual()). */
    mutable cv::Mat bgr;
    GstClockTime ts = GST_CLOCK_TIME_NONE;
    GstClockTime dur = GST_CLOCK_TIME_NONE;
    bool has_score = false;
    double score = 0.0;   /* the detector's score */
    /* The scorer that gave `score` (content and adaptive share the content
     * score): a frame scored before the detector changed is no candidate
     * for the new one, whose threshold is on another scale. */
    DetectorKind scored_by = DetectorKind::kAdaptive;
    double content = 0.0; /* content score */
    FrameFeatures features;
    bool black = false;
    /* content_distance() from the frame pushed 3 before it (the blend
     * test's look, find_gradual()); < 0 when there was none. */
    double back_look = -1.0;
    /* Part of a flash or a cut away and back (is_flash()): its first frame
     * and the frames up to the one that comes back. Left out of the
     * adaptive neighbour mean of the frames after it, where its jumps would
     * hide a cut right after the excursion. */
    bool excursion = false;
    /* The camera's translation from the frame before, in analysis-view
     * pixels (camera_shift()), once estimated. */
    mutable std::optional<cv::Point> shift;
    /* The spectrum camera_shift() correlates (luma_spectrum()), once made. */
    mutable cv::Mat spectrum;
    /* compensated_content(), once computed; < 0 before. */
    mutable double compensated = -1.0;
    /* variance_dip() with this frame as the end, for windows of at most
     * dip_longest frames (SIZE_MAX: not computed yet): the deepest dip
     * (0: none fits) and its window's length. */
    mutable size_t dip_longest = SIZE_MAX;
    mutable double dip = 0.0;
    mutable size_t dip_len = 0;
  };
  /* push()'s work after the views are in f (its own memory): scores,
   * measures, then the decisions now due. */
  bool add(Frame &&f, const cv::Mat &luma, GstClockTime timestamp, GstClockTime duration,
           std::vector<FrameVerdict> &out);
  /* The picture's translation (whole view pixels) from frames_[k-1] to
   * frames_[k]: the phase correlation of their luma spectra
   * (luma_spectrum()), its peak refined to a fraction of a pixel by the
   * centroid of the 3x3 around it, doubled (the spectra are of half-size
   * views) and rounded; (0, 0) for the first kept frame, a size change, a
   * flat picture or a view under 4 pixels wide or high. Computed once per
   * frame, on demand. */
  cv::Point camera_shift(size_t k) const;
  /* The DFT (complex, CV_32FC2) of frame k's V channel, halved in size
   * (cv::pyrDown) and Hann-windowed; made once per frame, on demand. Empty
   * when the halved view is under 2 pixels wide or high. */
  const cv::Mat &luma_spectrum(size_t k) const;
  /* Frame k's content score with the camera's motion taken out: the least
   * content distance between the overlap of frames_[k-1] and frames_[k]
   * shifted by camera_shift() of frame k, of the frame before it and of the
   * frame after it (a shift misread on one frame, as in motion blur, is
   * read right on its neighbours), and the plain content score. Shifts that
   * leave less than half the width or height overlapping are not tried.
   * 0-255, at most Frame::content. */
  double compensated_content(size_t k) const;
  /* Content distance of views a and b over their overlap where what is at
   * (x, y) in a is at (x, y) + shift in b; < 0 (not measured) for a zero
   * shift or one that leaves less than half the width or height
   * overlapping. 0-255. Shared by compensated_content() and
   * shifted_distance(). */
  double overlap_distance(const cv::Mat &a, const cv::Mat &b, cv::Point shift) const;
  void decide(std::vector<FrameVerdict> &out);
  double content_distance(const cv::Mat &a, const cv::Mat &b) const;
  double threshold() const;
  /* Frame i starts or ends a flash or a cut away and back (docs in
   * ShotDetectorSettings::flash_frames). When it starts one, *returns_at
   * (if given) is set to the index of the frame that comes back. */
  bool is_flash(size_t i, size_t *returns_at = nullptr) const;
  /* Frame `later` looks like frame `before` again, across a flash or an
   * insert between them (the jump into it, or out of it, is frame
   * `jump_at`'s content score): their content distance is under
   * kFlashReturn times the jump, under `later`'s own content score (the
   * way back is a jump: the frames after a cut out of a flash are none),
   * and under what the shot's own motion explains for the frames between
   * them (kFlashMotion times later - before times the largest content
   * score of the last two frames of the shot up to `before` and of the
   * frame after `later`), or min_content where that is more. Without the
   * third bound, after a jump of 110-160 into a flat white, grey or black
   * frame, a cut to another shot 40-60 from the one before the flash
   * passed for the flash's end, and the cut was lost.
   * Where the plain distance fails the first two bounds, they are taken
   * again with the camera's motion taken out: shifted_distance() must be
   * under min_content (a true return measured 4-6, a cut through a flash
   * into another picture 33-35), under kFlashReturn times
   * compensated_content() of `jump_at` (which must reach min_content: a
   * jump the motion explains is a frame of the pan, no flash) and under
   * compensated_content() of `later`; the motion bound is then taken on it.
   * Out of a fast pan the picture that comes back has moved on by the
   * frames between (docs/montagescene.md, "Flashes and inserts during fast
   * motion"). Where the plain distance passes them but the shot moves at
   * `before` (moving_at()), shifted_distance() must also be under
   * min_content, when measured: a cut out of a pan through a white or grey
   * flash into a picture of like colours passed the plain bounds. */
  bool looks_back(size_t before, size_t later, size_t jump_at) const;
  /* Content distance of frames `before` < `later` over their overlap with
   * `before` shifted by the camera's motion over the frames between: k =
   * later - before times camera_shift() of `before` (the motion just
   * before them; not when `before` is an excursion frame) and of `later`
   * + 1 (just after), the less of the two. Shifts that leave less than
   * half the width or height overlapping are not tried. < 0 when no shift
   * was tried (none measured, or all (0, 0) or too large). 0-255. */
  double shifted_distance(size_t before, size_t later) const;
  /* The camera moves at frame k, and its shift is read right: frame k's
   * content score reaches kMovingContext times min_content, camera_shift()
   * of k is not (0, 0), agrees within a pixel with that of k-1, and takes
   * out at least half of k's change (overlap_distance() of k-1 and k with
   * it under kMovedShare times k's content score). Neither k nor k-1 may
   * be an excursion frame. False for k < 2. */
  bool moving_at(size_t k) const;
  /* Frame j would be a hard cut candidate on its own (the detector's
   * score at or over threshold(); for kAdaptive, content at least
   * min_content and its ratio to its neighbours' mean, with frame `skip`
   * left out of that mean, at or over the threshold), and its BGR change
   * from frame j-1 reaches min_content (as decide()'s test). Plain scores
   * only (no camera-motion compensation). */
  bool cuts_again(size_t j, size_t skip) const;
  /* The adaptive detector's neighbour mean: score(k) (a frame's content
   * score, plain or compensated) averaged over the frames within
   * adaptive_window of `at`, leaving out `at`, `skip`, frames without a
   * score and decided excursions (a flash, a cut away and back: their jumps
   * are no cuts, and in the mean they would hide a cut one or two frames
   * after them); with `ahead`, also the frames after `at` from one that
   * starts such an excursion whose return is already in sight (not decided
   * yet: a flash one or two frames after a cut, A C W C, hid the cut) to
   * its return. 0 when no frame is left. */
  template <typename Score>
  double neighbour_mean(size_t at, size_t skip, Score score, bool ahead) const
  {
    const size_t w = (size_t)settings_.adaptive_window;
    double sum = 0.0;
    int n = 0;
    size_t ahead_until = at; /* frames after `at` up to this one are left out */
    for (size_t k = (at > w ? at - w : 0); k <= at + w && k < frames_.size(); k++) {
      if (k == at || !frames_[k].has_score || frames_[k].excursion)
        continue;
      if (ahead && k > at) {
        if (k <= ahead_until)
          continue;
        size_t returns_at = k; /* `skip` may start one too */
        if (frames_[k].content >= settings_.min_content && starts_excursion(k, &returns_at)) {
          ahead_until = returns_at;
          continue;
        }
      }
      if (k == skip)
        continue;
      sum += score(k);
      n++;
    }
    return n ? sum / n : 0.0;
  }
  /* The first clean frame of a shot cut at frame i (stream time, ns): the
   * timestamp of the first frame j of the next clean_start_reach() frames,
   * less than clean_start_span after frame i and with a frame after it
   * pushed, that cuts again (cuts_again(j, i)) and starts no flash of its
   * own (starts_excursion(), over the frames pushed); frame i's own
   * timestamp when none does. A B C (B a one-frame insert, or one or two flat flash frames,
   * straight into a cut to C) is one cut on B, and the shot's picture
   * starts at C (docs/montagescene.md, "A frame between two shots"). */
  GstClockTime clean_start(size_t i) const;
  /* Frame i starts a flash or a cut away and back (is_flash()'s first
   * half): one of the next flash_frames frames looks like frame i-1 again. */
  bool starts_excursion(size_t i, size_t *returns_at) const;
  /* The blend test. Frames a < b, b >= a + 2, all scored: true when their
   * BGR views differ by at least kGradualMin and the inner frames at 1/4,
   * 1/2 and 3/4 of the way are within kBlendTolerance of the change of the
   * linear mix of the two (a dissolve or fade between them). */
  bool is_blend(size_t a, size_t b) const;
  /* Index of the first kept frame at or after the current shot's
   * transition end (a clean frame of the shot: a blend starts after it). */
  size_t first_clean_frame() const;
  /* The line a blend moves along, from frame a's BGR view towards frame b's,
   * in float: position() of a view is 0 at a and 1 at b (its projection). */
  struct BlendAxis {
    cv::Mat from, direction;
    double norm = 0.0;
    double step = 0.0; /* least move a frame (kBlendStep of the mean step) */
    double position(const cv::Mat &bgr) const;
  };
  BlendAxis blend_axis(size_t a, size_t b) const;
  /* Moves the ends of a window is_blend() accepted onto the blend's last
   * clean frame before it (a) and first clean frame after it (b): inwards
   * while an end's neighbour does not move along the blend (the window was
   * longer than the blend), else outwards while the end itself does (the
   * window was inside it), by at most `reach` frames (0: half the window),
   * never before lo or after hi. Tested on generated fades and dissolves of
   * 4-24 frames (ShotDetector.FadesAndDissolvesHaveTheirKindAndEnds). */
  void refine_blend(size_t &a, size_t &b, size_t lo, size_t hi, size_t reach = 0) const;
  /* A fade or dissolve ended at frame i (the picture settles after it):
   * the blend's clean ends a < b (b may lie past i, in the look-ahead). */
  bool find_gradual(size_t i, size_t &a, size_t &b) const;
  /* The luma statistics test for a dissolve between moving shots, which
   * find_gradual()'s pixel test misses (the inner frames are mixes of the
   * two shots as they move on, not of the window's end frames). A dissolve
   * of uncorrelated pictures A and B, frame = (1 - t) A + t B, has a mean
   * linear in t and a variance (1 - t)^2 var A + t^2 var B + 2 t (1 - t)
   * cov(A, B), whatever either picture does meanwhile: the variance curve
   * dips in the middle (Alattar 1993, "Detecting and compressing dissolve
   * regions in video sequences with a DVI multimedia image compression
   * algorithm", ISCAS; the same model as Meng, Juan & Chang 1995). For the
   * windows [a, e] ending at e = i .. i + kGradualLook (at least
   * kStatsMinFrames frames, starting at a clean frame of the shot, none of
   * their frames unscored or in an excursion),
   * cov is fitted to the inner frames' variances (least squares) with t
   * linear in time; a window fits when its dip (the standard deviation's
   * mid-point below the line between the ends) is at least kStatsMinDip,
   * the fitted correlation at most kStatsMaxCorrelation, and the inner
   * frames' deviations from the model (rms) at most kStatsFit times the dip
   * (standard deviation) and max(kStatsMeanSlack, kStatsFit/2 of the mean's
   * change) (mean); of the windows ending at e that fit, the one with the
   * deepest dip is e's (a longer one takes in frames of the shot before,
   * a shorter one starts inside the blend: both dip less). The blend ends at i when its window's
   * dip is the deepest of the windows ending at i and after it (a window ending inside the dissolve
   * fits too, with a shallower dip), the ends differ by kGradualMin in BGR,
   * and, as in the twin comparison of Zhang, Kankanhalli & Smoliar (1993,
   * "Automatic partitioning of full-motion video", Multimedia Systems 1),
   * the ends' content distance reaches the content detector's cut
   * threshold (27) and the frames' mean content score is at most half of
   * it (noise fitted the dip). Sets the window's ends a < b = i. Uses the
   * mean and standard deviation measured on every frame (FrameFeatures):
   * no pixel work but a BGR and a content distance for a window that
   * fits. */
  bool find_dissolve_by_variance(size_t i, size_t &a, size_t &b) const;
  /* The deepest dip of a window fitting find_dissolve_by_variance()'s model
   * that ends at frame e and starts at or after lo (0 when none); its start
   * in *start. Cached in frame e (Frame::dip). */
  double variance_dip(size_t e, size_t lo, size_t *start) const;
  /* Frame i, a cut candidate, lies inside a blend of at most kShortBlend
   * frames whose ends are already pushed: a short fade or dissolve, one
   * of whose steps scores as a cut. Its clean ends a < i <= b. */
  bool find_blend_through(size_t i, size_t &a, size_t &b) const;
  /* Moves open_blend_'s end to the newest frame while it goes on along the
   * blend (by more than the axis' step, up to max_transition_frames);
   * true once it has ended (a frame that does not, or the stream's end). */
  bool follow_open_blend();
  /* A frame's BGR view (Frame::bgr; converted from its HSV view once, when
   * it came without one). */
  static const cv::Mat &bgr_of(const Frame &f);
  /* Mean absolute difference of two BGR views, over the three channels,
   * 0-255: the picture's change, linear in a blend and stable where hue and
   * saturation are not (grey, white and near-black pixels). */
  static double bgr_distance(const cv::Mat &a, const cv::Mat &b);
  void accumulate(const Frame &f);
  void close_shot(GstClockTime end, std::optional<Shot> &ended);

  ShotDetectorSettings settings_;
  bool luma_only_;
  std::unique_ptr<FrameScorer> scorer_;
  ContentScorer content_; /* its weights score content_distance() */
  struct Views {
    cv::Mat hsv, bgr;
  };
  std::vector<Views> spare_; /* analysis views of dropped frames, reused */
  cv::Mat copy_hsv_, copy_bgr_; /* push()'s copies, memory from push_views() */
  guint64 pushed_ = 0;       /* frames since the last reset, for features_every */
  FrameFeatures last_features_;
  /* Frames kept: the last max_transition_frames decided ones (history) and
   * the undecided ones; next_ is the index of the first undecided frame. */
  std::deque<Frame> frames_;
  size_t next_ = 0;
  cv::Mat last_luma_;
  mutable cv::Mat hann_; /* camera_shift()'s window, for the view size */

  /* The shot that ended with the stream before a size change (push()),
   * given to the new stream's first verdict. */
  std::optional<Shot> pending_ended_;

  /* The current shot. */
  bool in_shot_ = false;
  Shot shot_;
  GstClockTime last_end_ = GST_CLOCK_TIME_NONE;
  double sum_motion_ = 0, sum_sharp_ = 0, sum_bright_ = 0, sum_contrast_ = 0, sum_colour_ = 0;
  double best_sharp_ = -1;
  /* Each frame of the current shot that was the sharpest so far when taken
   * (accumulate()), in order: close_shot() takes the last one before the
   * shot's end, as a fade or dissolve is taken into the shot before it
   * until its end is seen. */
  struct Inpoint {
    GstClockTime ts = GST_CLOCK_TIME_NONE;
    double sharpness = 0.0;
    std::vector<float> histogram;
  };
  std::vector<Inpoint> inpoints_;
  guint64 n_frames_ = 0, n_measured_ = 0, n_motion_ = 0;
  /* A fade-out to black was seen starting here: the boundary comes with the
   * fade-in or the cut out of black. */
  GstClockTime fade_pending_ = GST_CLOCK_TIME_NONE;
  /* A short blend seen through a cut candidate while its end was the
   * newest frame (decide()): followed by follow_open_blend() until a frame
   * stops moving along it, then taken as a blend from `from` to `to`. */
  struct OpenBlend {
    BlendAxis axis;
    double at = 1.0; /* position of the end so far */
    GstClockTime a_ts = GST_CLOCK_TIME_NONE, from = GST_CLOCK_TIME_NONE, to = GST_CLOCK_TIME_NONE;
    GstClockTime last = GST_CLOCK_TIME_NONE; /* newest frame looked at */
    bool a_black = false, to_black = false;
    size_t frames = 0;  /* from its clean start to `to` */
    bool ended = false; /* `to` is its first clean frame */
  };
  std::optional<OpenBlend> open_blend_;
  bool finishing_ = false; /* in finish(): no frame comes after the newest */
  bool fade_is_pending_ = false;
};

/* Sharpness: the variance of the Laplacian (Pech-Pacheco et al. 2000,
 * "variance of the Laplacian") of a CV_8UC1 luma image: the 3x3 kernel
 * 0 1 0 / 1 -4 1 / 0 1 0 (cv::Laplacian's with ksize 1), borders reflected
 * without repeating the edge, a view measured as an image of its own (as
 * BORDER_ISOLATED), its mean and variance over every pixel (population
 * variance, as cv::meanStdDev squared). Units: luma levels squared. 0 for an
 * empty or non-CV_8UC1 image. */
double laplacian_variance(const cv::Mat &luma);

/* Hasler and Suesstrunk's colourfulness of a BGR image (CV_8UC3): sqrt of the
 * variances of rg = R - G and yb = (R + G)/2 - B, plus 0.3 times the root of
 * their squared means. 0 for grey; ~100+ for saturated images. */
double colourfulness(const cv::Mat &bgr);

/* The colour histogram ShotFeatures::histogram holds: 8 hue x 4 saturation x
 * 4 value bins of an OpenCV 8-bit HSV image (H 0-179 in 8 bins, S and V 0-255
 * in 4 each), index (h * 4 + s) * 4 + v, normalised to sum 1 (128 floats). */
constexpr int kShotHistogramBins = 128;
std::vector<float> shot_histogram(const cv::Mat &hsv);

} // namespace montage
