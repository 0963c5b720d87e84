/**
 * SECTION:element-montagescene
 * @title: montagescene
 *
 * Finds shot boundaries in raw video frame-accurately: hard cuts at their
 * first frame, and fades and dissolves with their extent; measures each shot
 * (motion, sharpness, brightness, contrast, colourfulness, a colour
 * histogram, the best in-point); and lets the data through untouched (the
 * same GstMemory, mapped read-only, never copied).
 *
 * Detectors (#GstMontageScene:detector): `adaptive` (default), `content`,
 * `histogram`, `hash`, after PySceneDetect's. To tell a cut from a camera
 * flash, a cut away and straight back, or fast motion, the element looks
 * ahead: it holds #GstMontageScene:flash-frames frames (2 more with the
 * adaptive detector's window, whichever is larger; 3 by default), and adds
 * that to the latency it reports, in frames of the caps' rate (of their
 * max-framerate on variable-rate caps; without either, of the frames' own
 * spacing, 25 fps until it is measured, with a LATENCY message when it
 * changes: docs/montagescene.md, "Look-ahead and latency"). This lets it act on the cut frame
 * itself: before a cut frame leaves, it sends downstream force-key-unit events
 * (gst_video_event_new_downstream_force_key_unit(), all-headers TRUE, count
 * 1, 2, ... per boundary; one with the frame's running time and one for the
 * next frame, as GstVideoEncoder 1.22 may drop either: gst/montage/keyunit.h)
 * so an encoder after it starts a GOP exactly there.
 * For a fade or dissolve the event and the message come with the first clean
 * frame after it (the transition's frames have already left).
 * A GAP event decides the held frames at once, as the end of the stream
 * does (no frame can come back inside the gap), and they leave before it;
 * the shot goes on across the gap (docs/montagescene.md, "GAP events"). A
 * buffer flagged GAP (media-neutral data: the empty buffer GstAggregator
 * makes of a GAP event, a mixer's filler) is such a gap, not a frame: it is
 * not analysed, and leaves untouched after the frames it decided. A frame
 * without a PTS after a gap is placed at the gap's end.
 *
 * A cut must change the picture by #GstMontageScene:min-content (mean
 * absolute difference of the analysis views, 15 of 0-255 by default, after
 * PySceneDetect's AdaptiveDetector) whatever the detector and
 * #GstMontageScene:threshold: lower both to find cuts between similar
 * pictures (two greys 10 levels apart).
 *
 * The first frame of each shot carries a tag-less custom meta
 * "GstMontageShotMeta" (read it with montage::shot_meta_get(),
 * gst/montage/shotmeta.h); it survives videoconvert and encoders.
 * With #GstMontageScene:features on, brightness and contrast are measured
 * on every frame, the other features on one frame in four
 * (montage::kShotFeaturesEvery); each measured frame carries a running
 * account of the current shot in the tag-less "GstMontageShotFeaturesMeta"
 * (montage::shot_features_meta_get()): the features of the shot so far, for
 * live elements downstream (montageselect) that cannot wait for the shot's
 * end and must not read messages. Like the shot's own features, the account
 * leaves out flashes, cuts away and back, and a cut shot's frames before its
 * first clean one (the insert or flash it was cut on); a measured frame
 * before the account has any frame carries no meta.
 *
 * It analyses 8-bit raw video in system memory (the formats of its pad
 * template). Other caps (10-bit and deeper formats, other layouts,
 * memory:CUDAMemory/VAMemory/DMABuf) are refused at negotiation; when they
 * are offered to it anyway, it posts one sentence (GST_CORE_ERROR_NEGOTIATION)
 * naming them and saying to put videoconvert (formats) or a download element
 * (device memory) in front: the error itself where a CAPS event brings
 * them, a warning where a query only asks.
 *
 * Frame times: a frame's PTS. A frame without one (appsrc, some raw
 * streams) is placed one frame after the frame before it (that frame's
 * time plus its duration, or the caps' frame duration), and a segment's
 * first frame without one at the segment's start; only with neither a
 * duration nor a frame rate (variable-rate caps) does it stay without a
 * time (GST_CLOCK_TIME_NONE in the messages). The buffers themselves are
 * not changed.
 *
 * Reverse playback (a segment with a negative rate) is not analysed: frames
 * then arrive last first, so shots would end before they start. They pass
 * through untouched, without cuts, shot messages, metas or key-unit
 * requests, until the next forward segment; the element posts one warning
 * (GST_STREAM_ERROR_NOT_IMPLEMENTED) per start saying so.
 *
 * ## `montage-scene` element message (one per boundary, with the frame)
 * - `timestamp` (G_TYPE_UINT64): PTS of the frame, ns (interpolated for a
 *   frame without one, above).
 * - `stream-time`, `running-time` (G_TYPE_UINT64): its stream and running time, ns.
 * - `score` (G_TYPE_DOUBLE): the detector's score (adaptive: the ratio).
 * - `transition` (G_TYPE_STRING): `cut`, `fade` or `dissolve`.
 * - `transition-start` (G_TYPE_UINT64): stream time where the new shot begins, ns
 *   (== stream-time for a cut).
 *
 * ## `montage-shot` element message (when a shot ends; the last one at EOS)
 * A shot ends at the next boundary, at a new segment and at new caps of
 * another size, format, frame rate or (YUV, grey) range; caps that only
 * describe the same picture otherwise (pixel aspect ratio...) do not end it.
 * Structure "montage-shot" (montage::shot_to_structure()): `index` (uint: 0 for
 * the first shot since start/flush, counting on across segments), `start`,
 * `end`, `duration`, `transition-start`, `transition-end`, `best-inpoint`
 * (uint64, ns, stream time), `transition` (string: how the shot begins:
 * `cut`, `fade` or `dissolve` at a boundary, `none` for a shot begun by the
 * stream's start, a flush, a new segment or new caps; the shot meta says
 * the same),
 * `has-features` (boolean), `motion-mean`, `motion-peak` (mean absolute luma
 * difference between frames within the shot, 0-255), `sharpness` (variance of the Laplacian of
 * the 256 px luma view), `brightness`, `contrast` (mean and standard deviation
 * of luma, 0-255), `colourfulness` (Hasler and Suesstrunk), `histogram`
 * (array of 128 doubles: 8 hue x 4 saturation x 4 value bins of the sharpest
 * frame, summing to 1).
 *
 * ## `montage-shots` element message (at EOS)
 * - `shots` (GstValueArray of "montage-shot" structures): every shot since
 *   start/flush, or the last #GstMontageScene:max-shots of them (10000 by
 *   default: an endless stream's summary stays bounded).
 * - `cuts` (GstValueArray of G_TYPE_UINT64): the start of each shot listed that
 *   began at a boundary (one per `montage-scene` message), stream time, ns. A new
 *   segment without a flush (concat, a playlist's next file) or new caps also ends
 *   a shot and starts the next, but that join is no cut.
 * - `shots-dropped`, `cuts-dropped` (G_TYPE_UINT): the older shots and cuts left
 *   out for max-shots (0 when none); the first shot listed has index
 *   `shots-dropped`.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 -m filesrc location=clip.mp4 ! decodebin ! videoconvert ! \
 *     montagescene ! x264enc ! mp4mux ! filesink location=cut-aligned.mp4
 * ]|
 */
#include "gstmontagescene.h"

#include <gst/montage/capsevent-private.h>
#include <gst/montage/clipanalysis.h>
#include <gst/montage/heldevents.h>
#include <gst/montage/keyunit.h>
#include <gst/montage/shotdetector.h>
#include <gst/montage/shotmeta.h>
#include <gst/video/video.h>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <atomic>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

GST_DEBUG_CATEGORY_STATIC(gst_montage_scene_debug);
#define GST_CAT_DEFAULT gst_montage_scene_debug

namespace
{

const montage::ShotDetectorSettings kDefaults{};

/* Most ended shots kept for the montage-shots summary (the max-shots
 * property): the oldest are dropped beyond it, so an endless stream's
 * summary stays bounded (about 0.8 KB a shot with its histogram: some 8 MB
 * at the cap; docs/montagescene.md, "montage-shots"). 10000 shots is more
 * than a two-hour film cut every 0.75 s has, and 8 hours of a live feed cut
 * every 3 s. */
constexpr guint kDefaultMaxShots = 10000;

/* Caps with no frame rate (framerate 0/1 and no max-framerate: RTP/RTSP
 * H.264 without VUI timing, decoded) give no time to convert the held frames
 * into for the latency query: it uses the spacing of the frames themselves,
 * the median of the last kSpacingWindow (observe_spacing()), and until a
 * frame was measured 25 fps, the rate GStreamer's video encoders and
 * decoders assume for such caps (x264enc, msdk, omx). A spacing over
 * kMaxSpacing (a stall, a source that sends a frame only when the picture
 * changes) counts as kMaxSpacing. The answer changes (and a LATENCY
 * message says so) when the median rises above it by more than 1/64, or
 * falls below it by more than 1/8: what is held is covered, and jitter of
 * a few per cent does not make the pipeline reconfigure its latency. */
constexpr GstClockTime kAssumedSpacing = GST_SECOND / 25;
constexpr size_t kSpacingWindow = 9;
constexpr GstClockTime kMaxSpacing = GST_SECOND;

enum {
  PROP_0,
  PROP_DETECTOR,
  PROP_THRESHOLD,
  PROP_MIN_CONTENT,
  PROP_MIN_SHOT_LENGTH,
  PROP_FLASH_FRAMES,
  PROP_MAX_TRANSITION_FRAMES,
  PROP_FEATURES,
  PROP_MAX_SHOTS,
};

/* 8-bit formats in system memory only: 10/12-bit formats (P010_10LE,
 * I420_10LE...), other layouts and memory:CUDAMemory/VAMemory/DMABuf are
 * refused at caps negotiation (put videoconvert, or a download, in front),
 * with an error or a warning that says so (gst_montage_scene_accept_caps()). */
#define MONTAGE_SCENE_FORMATS                                                                      \
  "{ GRAY8, I420, YV12, NV12, NV21, Y42B, Y444, RGB, BGR, RGBx, BGRx, xRGB, xBGR, RGBA, BGRA, "    \
  "ARGB, ABGR }"

GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS,
                            GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(MONTAGE_SCENE_FORMATS)));
GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS,
                            GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(MONTAGE_SCENE_FORMATS)));

/* One frame's features, measured as ShotDetector does (shotdetector.h). */
struct FrameMeasure {
  bool valid = false;
  double motion = -1.0; /* < 0: no previous frame to compare with */
  double sharpness = 0.0, brightness = 0.0, contrast = 0.0, colourfulness = 0.0;
  GstClockTime timestamp = GST_CLOCK_TIME_NONE; /* stream time */
  /* The frame's analysis view (HSV), kept while the frame is held: its
   * colour histogram is computed when the frame leaves, and only when it is
   * the sharpest frame of the shot's account so far (accumulate()), where
   * it was computed for every measured frame (6 % of the element's
   * instructions; docs/montagescene.md). The detector's own view, shared,
   * not a copy: ShotDetector::push_views() gives no shared memory back to
   * be written into. */
  cv::Mat hsv;
};

/* A held buffer and, once decided, what to do with it. */
struct Held {
  GstBuffer *buffer = nullptr;
  GstClockTime pts = GST_CLOCK_TIME_NONE; /* frame_time(): its PTS, or interpolated */
  /* Serialized events that arrived after the frame before this one: they
   * leave just before this frame (the look-ahead keeps the stream's order). */
  montage::HeldEvents events_before;
  bool decided = false;
  /* It came in flagged DISCONT: the flag goes back on when it leaves
   * (gst_montage_scene_chain()). */
  bool discont = false;
  montage::FrameVerdict verdict;
  FrameMeasure measure;
};

/* The current shot's features so far (the features meta). */
struct Progress {
  montage::ShotProgress shot;
  /* A cut shot's first clean frame (Shot::transition_end): the frames
   * before it (the insert or flash it was cut on, or the frame its stream
   * opened on) are not its picture, as in the shot's own features. NONE:
   * every frame counts. */
  GstClockTime clean_from = GST_CLOCK_TIME_NONE;
  double sum_motion = 0, sum_sharp = 0, sum_bright = 0, sum_contrast = 0, sum_colour = 0;
  guint n_motion = 0;
  double best_sharp = -1.0;
};

enum class Failure { kNone, kMap, kAnalyse };

/* C++ state, created in _init and deleted in _finalize. */
struct SceneState {
  std::mutex settings_lock;
  montage::ShotDetectorSettings settings;
  bool settings_changed = false; /* applied at the next frame */

  /* Streaming state: sink pad stream lock held (buffers, serialized events),
   * or start/stop. Frames are analysed on the streaming thread: on a 2-core
   * machine decoding H.264 a worker thread cost more CPU in wake-ups than
   * its overlap saved (docs/scene-benchmark.md, fourth round). */
  GstVideoInfo info;
  bool have_info = false;
  /* The frame rate the latency query converts the look-ahead with, copied
   * from the caps whenever `info` changes: the query comes from any thread
   * while set_caps() writes `info` on the streaming thread, so it reads
   * this under the object lock instead (set_latency_rate()). 0/1: none. */
  gint latency_fps_n = 0, latency_fps_d = 1;
  bool latency_rate_set = false; /* by caps since start: a change is announced */
  /* Without a rate (0/1): the frames' spacing the query uses instead
   * (kAssumedSpacing until observed), under the object lock too; the last
   * spacings observed (streaming thread), and the PTS of the frame before
   * (NONE after a segment, flush or gap: no spacing across them). */
  GstClockTime latency_spacing = kAssumedSpacing;
  std::deque<GstClockTime> spacings;
  GstClockTime last_pts = GST_CLOCK_TIME_NONE;
  montage::AnalysisViewBuilder builder;
  std::unique_ptr<montage::ShotDetector> detector;
  bool luma_only = false;
  /* The analysis views the next frame is built into: memory the detector
   * gave back (ShotDetector::push_views()), so no view is copied. */
  cv::Mat hsv, bgr;
  std::deque<Held> held; /* frames in the look-ahead, oldest first */
  /* Serialized events that arrived after the last held frame (or after
   * other such events), waiting for the next frame or a drain. */
  montage::HeldEvents pending_events;
  std::vector<montage::FrameVerdict> verdicts;
  /* The summary (montage-shots): the last max-shots ended shots since
   * start/flush, in order, and how many older ones were dropped from it.
   * The current shot's index is shots_dropped + shots.size(), counting on
   * across segments and caps changes. */
  std::deque<montage::Shot> shots;
  guint shots_dropped = 0;
  /* Start (stream time) of each shot since start/flush that began at a
   * boundary (a montage-scene message), less those of dropped shots: the
   * `cuts` of montage-shots. A shot begun by a new segment or new caps is
   * in `shots` but is no cut. The current shot's cut, when it began at
   * one, is the last. */
  std::deque<GstClockTime> cuts;
  guint cuts_dropped = 0;
  /* Whether each shot in `shots` began at a boundary (false: begun by the
   * stream's start, a flush, a new segment or new caps; its transition is
   * "none"), and the same for the current shot. */
  std::deque<bool> shot_boundaries;
  /* The max-shots property: read on the streaming thread, set from any. */
  std::atomic<guint> max_shots{kDefaultMaxShots};
  bool current_boundary = false;
  guint cut_count = 0; /* force-key-unit events sent since start */
  /* The refused-caps warning (an ACCEPT_CAPS query alone) and error (a
   * CAPS event's check) were posted (each once per start, the error also
   * after the warning; from any thread that sends the sink pad an
   * ACCEPT_CAPS query). */
  std::atomic<bool> warned_caps{false};
  std::atomic<bool> refused_caps_event{false};
  Progress progress;
  /* frame_time(): whether a frame came since the last segment, flush or
   * start, and the time after it (its time plus its duration or the caps'
   * frame duration; NONE when unknown). */
  bool segment_has_frame = false;
  GstClockTime next_pts = GST_CLOCK_TIME_NONE;
  /* The reverse-playback warning was posted (once per start). */
  bool warned_reverse = false;
  /* The buffer coming in was flagged DISCONT (gst_montage_scene_chain()
   * took the flag off; the frame held for it puts it back on as it
   * leaves); GstBaseTransform's chain function. */
  bool discont_in = false;
  GstPadChainFunction base_chain = nullptr;
};

} // namespace

struct _GstMontageScene {
  GstBaseTransform parent;
  SceneState *state;
};

G_DEFINE_TYPE(GstMontageScene, gst_montage_scene, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE(montagescene, "montagescene", GST_RANK_NONE, GST_TYPE_MONTAGE_SCENE);

#define GST_TYPE_MONTAGE_SCENE_DETECTOR (gst_montage_scene_detector_get_type())
static GType gst_montage_scene_detector_get_type(void)
{
  static gsize type = 0;
  static const GEnumValue values[] = {
      {(gint)montage::DetectorKind::kContent,
       "Content: mean absolute HSV difference to the previous frame (0-255, threshold 27)",
       "content"},
      {(gint)montage::DetectorKind::kAdaptive,
       "Adaptive: content score over the mean of 2 frames each side (ratio, threshold 3)",
       "adaptive"},
      {(gint)montage::DetectorKind::kHistogram,
       "Histogram: 1 - correlation of luma histograms (threshold 0.05)", "histogram"},
      {(gint)montage::DetectorKind::kHash,
       "Hash: Hamming distance of 256-bit DCT perceptual hashes / 256 (threshold 0.395)", "hash"},
      {0, NULL, NULL}};
  if (g_once_init_enter(&type))
    g_once_init_leave(&type, g_enum_register_static("GstMontageSceneDetector", values));
  return (GType)type;
}

namespace
{

GstClockTime to_stream_time(const GstSegment &segment, GstClockTime pts)
{
  if (!GST_CLOCK_TIME_IS_VALID(pts) || segment.format != GST_FORMAT_TIME)
    return pts;
  return gst_segment_to_stream_time(&segment, GST_FORMAT_TIME, pts);
}

/* A frame's time (buffer time, as a PTS): its PTS; without one, the time
 * after the frame before it (SceneState::next_pts), or the segment's start
 * (TIME segments) for a segment's first frame; NONE when none is known.
 * `duration`: the frame's duration, else the caps' frame duration, else
 * NONE. Moves next_pts on past this frame by it (a variable-rate stream's
 * frames without a duration leave the next frame without a time unless it
 * has a PTS). */
GstClockTime frame_time(SceneState *state, const GstSegment &segment, GstBuffer *buf,
                        GstClockTime &duration)
{
  GstClockTime pts = GST_BUFFER_PTS(buf);
  if (!GST_CLOCK_TIME_IS_VALID(pts))
    pts = state->segment_has_frame            ? state->next_pts
          : segment.format == GST_FORMAT_TIME ? segment.start
                                              : GST_CLOCK_TIME_NONE;
  duration = GST_BUFFER_DURATION(buf);
  if (!GST_CLOCK_TIME_IS_VALID(duration) && state->info.fps_n > 0 && state->info.fps_d > 0)
    duration = gst_util_uint64_scale_int(GST_SECOND, state->info.fps_d, state->info.fps_n);
  state->segment_has_frame = true;
  state->next_pts = GST_CLOCK_TIME_IS_VALID(pts) && GST_CLOCK_TIME_IS_VALID(duration)
                        ? pts + duration
                        : GST_CLOCK_TIME_NONE;
  return pts;
}

void make_detector(SceneState *state)
{
  std::lock_guard<std::mutex> lock(state->settings_lock);
  state->detector = std::make_unique<montage::ShotDetector>(state->settings, state->luma_only);
  state->settings_changed = false;
}

/* A new segment (or start, or a flush): frame_time() places a first frame
 * without a PTS at the segment's start. New caps do not call this: the
 * frames after them follow on from the frame before. */
void restart_frame_times(SceneState *state)
{
  state->segment_has_frame = false;
  state->next_pts = GST_CLOCK_TIME_NONE;
  state->last_pts = GST_CLOCK_TIME_NONE;
}

void clear_held(SceneState *state)
{
  for (Held &h : state->held)
    gst_buffer_unref(h.buffer);
  state->held.clear(); /* and their events */
  state->pending_events.clear();
  state->verdicts.clear();
}

/* Hands verdicts to held buffers, oldest first. */
void assign_verdicts(SceneState *state)
{
  size_t k = 0;
  for (Held &h : state->held) {
    if (k == state->verdicts.size())
      break;
    if (h.decided)
      continue;
    h.verdict = std::move(state->verdicts[k++]);
    h.decided = true;
  }
  state->verdicts.clear();
}

/* A gap (a GAP event, or a buffer flagged GAP): no frame comes before its
 * end, so none can come back from a jump or carry on a blend inside the
 * look-ahead. Decides the held frames now, as at the end of the stream,
 * without ending the shot (ShotDetector::decide_held()). Returns whether
 * any frame was held. */
bool decide_held_at_gap(SceneState *state)
{
  if (state->held.empty() || !state->detector)
    return false;
  state->detector->decide_held(state->verdicts);
  assign_verdicts(state);
  return true;
}

/* A GAP event from `start` lasting `duration` (buffer time; NONE: unknown):
 * the next frame comes at its end at the earliest, so frame_time() places a
 * next frame without a PTS there, not one frame after the frame before the
 * gap. A gap that ends before that time changes nothing. */
void follow_gap(SceneState *state, const GstSegment &segment, GstClockTime start,
                GstClockTime duration)
{
  if (!GST_CLOCK_TIME_IS_VALID(start))
    return;
  const GstClockTime end = GST_CLOCK_TIME_IS_VALID(duration) ? start + duration : start;
  const GstClockTime after = state->segment_has_frame            ? state->next_pts
                             : segment.format == GST_FORMAT_TIME ? segment.start
                                                                 : GST_CLOCK_TIME_NONE;
  state->next_pts = GST_CLOCK_TIME_IS_VALID(after) ? std::max(after, end) : end;
  state->segment_has_frame = true;
  state->last_pts = GST_CLOCK_TIME_NONE;
}

/* Takes the detector's measures of the frame it was just given, when it is
 * one of the kShotFeaturesEvery-th (ShotDetectorSettings::features_every),
 * and its analysis view `hsv` (shared) for its colour histogram. */
void measure_frame(SceneState *state, const cv::Mat &hsv, GstClockTime stream_time, FrameMeasure &m)
{
  const montage::FrameFeatures &f = state->detector->last_features();
  if (!f.measured)
    return;
  m.motion = f.motion;
  m.sharpness = f.sharpness;
  m.brightness = f.brightness;
  m.contrast = f.contrast;
  m.colourfulness = f.colourfulness;
  m.hsv = hsv;
  m.timestamp = stream_time;
  m.valid = true;
}

/* Analyses a frame (stream time `stream_time`, lasting `duration`, both as
 * frame_time() gives them): analysis view, detector, measures. Fills
 * `verdicts` with the verdicts that became final. */
Failure analyse(SceneState *state, GstBuffer *buffer, GstClockTime stream_time,
                GstClockTime duration, FrameMeasure &m,
                std::vector<montage::FrameVerdict> &verdicts)
{
  {
    std::lock_guard<std::mutex> lock(state->settings_lock);
    if (state->settings_changed) {
      /* At once, the look-ahead included (set_property() posts a latency
       * message when it changes). */
      state->detector->set_settings(state->settings);
      state->settings_changed = false;
    }
  }
  GstVideoFrame frame;
  if (!gst_video_frame_map(&frame, &state->info, buffer, GST_MAP_READ))
    return Failure::kMap;
  montage::FrameView view;
  bool ok = montage::frame_view_from_video_frame(&frame, view) &&
            state->builder.build(view, state->hsv, state->bgr);
  gst_video_frame_unmap(&frame);
  /* The views move into the detector (no copy); the header kept here
   * shares the HSV view for measure_frame(). */
  const cv::Mat hsv = state->hsv;
  if (ok)
    ok = state->detector->push_views(state->hsv, state->builder.luma(), state->bgr, stream_time,
                                     duration, verdicts);
  if (!ok)
    return Failure::kAnalyse;
  if (state->detector->settings().features)
    measure_frame(state, hsv, stream_time, m);
  return Failure::kNone;
}

/* Adds a measured frame to the current shot's account. */
void accumulate(Progress &p, FrameMeasure &m)
{
  montage::ShotFeatures &f = p.shot.features;
  p.shot.frames++;
  if (m.motion >= 0.0) {
    p.n_motion++;
    p.sum_motion += m.motion;
    f.motion_peak = std::max(f.motion_peak, m.motion);
  }
  p.sum_sharp += m.sharpness;
  p.sum_bright += m.brightness;
  p.sum_contrast += m.contrast;
  p.sum_colour += m.colourfulness;
  const double n = p.shot.frames;
  f.motion_mean = p.n_motion ? p.sum_motion / p.n_motion : 0.0;
  f.sharpness = p.sum_sharp / n;
  f.brightness = p.sum_bright / n;
  f.contrast = p.sum_contrast / n;
  f.colourfulness = p.sum_colour / n;
  if (m.sharpness > p.best_sharp) {
    p.best_sharp = m.sharpness;
    f.best_inpoint = m.timestamp;
    f.histogram = montage::shot_histogram(m.hsv);
  }
}

/* The number of shots ended since start/flush: the current shot's index. */
guint ended_shots(const SceneState *state)
{
  return state->shots_dropped + (guint)state->shots.size();
}

/* Drops the oldest shots of the summary beyond `max` (max-shots), with
 * their cuts: cuts[0] is the start of the oldest shot in `shots` that began
 * at a boundary, as the cuts come in the shots' order. */
void trim_summary(SceneState *state, guint max)
{
  while (state->shots.size() > max) {
    if (state->shot_boundaries.front() && !state->cuts.empty()) {
      state->cuts.pop_front();
      state->cuts_dropped++;
    }
    state->shots.pop_front();
    state->shot_boundaries.pop_front();
    state->shots_dropped++;
  }
}

void clear_summary(SceneState *state)
{
  state->shots.clear();
  state->shot_boundaries.clear();
  state->cuts.clear();
  state->shots_dropped = 0;
  state->cuts_dropped = 0;
}

} // namespace

/* Posts montage-shot for an ended shot, numbered as it comes, and keeps it
 * for montage-shots (the last max-shots of them). */
static void post_shot(GstMontageScene *self, const montage::Shot &shot)
{
  SceneState *state = self->state;
  const guint index = ended_shots(state);
  state->shots.push_back(shot);
  state->shot_boundaries.push_back(state->current_boundary);
  const guint max = state->max_shots.load();
  if (state->shots.size() > max) {
    if (state->shots_dropped == 0)
      GST_INFO_OBJECT(self, "more than max-shots=%u shots: the oldest leave the summary", max);
    trim_summary(state, max);
  }
  gst_element_post_message(
      GST_ELEMENT(self),
      gst_message_new_element(GST_OBJECT(self),
                              montage::shot_to_structure(shot, index, state->current_boundary)));
}

/* Acts on a decided buffer: key-unit request and messages for a boundary,
 * the meta on a shot's first frame. Returns the buffer to push (the same
 * GstBuffer, or a writable shallow copy sharing its memory when the meta had
 * to be added to a buffer someone else holds). */
static GstBuffer *gst_montage_scene_release(GstMontageScene *self, Held &h)
{
  h.events_before.push(GST_BASE_TRANSFORM_SRC_PAD(self));
  GstBaseTransform *trans = GST_BASE_TRANSFORM(self);
  SceneState *state = self->state;
  GstBuffer *buf = h.buffer;
  h.buffer = nullptr;
  if (h.discont) {
    buf = gst_buffer_make_writable(buf);
    GST_BUFFER_FLAG_SET(buf, GST_BUFFER_FLAG_DISCONT);
  }
  const montage::FrameVerdict &v = h.verdict;
  if (v.ended)
    post_shot(self, *v.ended);
  if (v.boundary)
    state->cuts.push_back(v.shot.start);
  if (v.boundary || v.first) {
    state->current_boundary = v.boundary;
    state->progress = Progress();
    state->progress.shot.index = ended_shots(state);
    state->progress.shot.start = v.shot.start;
    state->progress.clean_from = v.shot.transition == montage::Transition::kCut
                                     ? v.shot.transition_end
                                     : GST_CLOCK_TIME_NONE;
  }
  if (h.measure.valid) {
    /* A shot's first frame, or a cut shot's first clean frame, differs
     * from the frame before: that is the cut, not the shot's motion. A
     * flash, a cut away and back, and a cut shot's frames before its first
     * clean one are not the shot's picture (as in the shot's own features):
     * they carry the account so far, when there is one, unchanged. */
    const GstClockTime clean_from = state->progress.clean_from;
    const bool timed =
        GST_CLOCK_TIME_IS_VALID(clean_from) && GST_CLOCK_TIME_IS_VALID(h.measure.timestamp);
    if (v.boundary || v.first || (timed && h.measure.timestamp == clean_from))
      h.measure.motion = -1.0;
    if (!v.excursion && !(timed && h.measure.timestamp < clean_from))
      accumulate(state->progress, h.measure);
    h.measure.hsv.release(); /* the detector's again alone */
    if (state->progress.shot.frames > 0) {
      buf = gst_buffer_make_writable(buf);
      montage::shot_features_meta_add(buf, state->progress.shot);
    }
  }
  if (!v.boundary && !v.first)
    return buf;

  const GstClockTime pts = h.pts;
  GstClockTime stream_time = GST_CLOCK_TIME_NONE, running_time = GST_CLOCK_TIME_NONE;
  if (GST_CLOCK_TIME_IS_VALID(pts) && trans->segment.format == GST_FORMAT_TIME) {
    stream_time = gst_segment_to_stream_time(&trans->segment, GST_FORMAT_TIME, pts);
    running_time = gst_segment_to_running_time(&trans->segment, GST_FORMAT_TIME, pts);
  }
  if (v.boundary) {
    state->cut_count++;
    GST_INFO_OBJECT(self, "%s #%u at %" GST_TIME_FORMAT ", score %.2f",
                    montage::transition_name(v.shot.transition), state->cut_count,
                    GST_TIME_ARGS(pts), v.score);
    /* Two requests, timed and for "the next frame" (gst/montage/keyunit.h):
     * GstVideoEncoder 1.22 may drop either. */
    if (!montage::push_key_unit_request(GST_BASE_TRANSFORM_SRC_PAD(trans), pts, stream_time,
                                        running_time, state->cut_count))
      GST_DEBUG_OBJECT(self, "nobody downstream handled the force-key-unit event");
    GstStructure *s = gst_structure_new(
        "montage-scene", "timestamp", G_TYPE_UINT64, (guint64)pts, "stream-time", G_TYPE_UINT64,
        (guint64)stream_time, "running-time", G_TYPE_UINT64, (guint64)running_time, "score",
        G_TYPE_DOUBLE, v.score, "transition", G_TYPE_STRING,
        montage::transition_name(v.shot.transition), "transition-start", G_TYPE_UINT64,
        (guint64)v.shot.transition_start, NULL);
    gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
  }
  montage::ShotStart start;
  start.index = ended_shots(state);
  start.transition = v.shot.transition;
  start.transition_start = v.shot.transition_start;
  start.transition_end = v.shot.transition_end;
  start.score = v.boundary ? v.score : 0.0;
  start.boundary = v.boundary;
  buf = gst_buffer_make_writable(buf);
  montage::shot_meta_add(buf, start);
  return buf;
}

/* Takes the oldest held buffer when it is decided (nullptr otherwise). */
static bool gst_montage_scene_pop_decided(SceneState *state, Held &out)
{
  if (state->held.empty() || !state->held.front().decided)
    return false;
  out = std::move(state->held.front());
  state->held.pop_front();
  return true;
}

/* Pushes every decided buffer at the head of the queue (stream lock held). */
static GstFlowReturn gst_montage_scene_push_decided(GstMontageScene *self)
{
  SceneState *state = self->state;
  GstFlowReturn ret = GST_FLOW_OK;
  Held h;
  while (gst_montage_scene_pop_decided(state, h)) {
    GstBuffer *buf = gst_montage_scene_release(self, h);
    if (ret == GST_FLOW_OK)
      ret = gst_pad_push(GST_BASE_TRANSFORM_SRC_PAD(self), buf);
    else
      gst_buffer_unref(buf);
  }
  return ret;
}

/* End of the stream or of a segment (or new caps): decides and pushes every
 * held frame, posts montage-shot for the last shot (which no frame's verdict
 * carries: ShotDetector::finish() returns it), then montage-shots when
 * `summary`. */
static void gst_montage_scene_drain(GstMontageScene *self, bool summary)
{
  SceneState *state = self->state;
  std::optional<montage::Shot> last;
  if (state->detector) {
    last = state->detector->finish(state->verdicts);
    assign_verdicts(state);
  }
  gst_montage_scene_push_decided(self);
  state->pending_events.push(GST_BASE_TRANSFORM_SRC_PAD(self));
  clear_held(state);
  if (last)
    post_shot(self, *last);
  if (!summary)
    return;
  trim_summary(state, state->max_shots.load()); /* max-shots lowered since the last shot */
  GValue shots = G_VALUE_INIT, cuts = G_VALUE_INIT, item = G_VALUE_INIT;
  gst_value_array_init(&shots, (guint)state->shots.size());
  gst_value_array_init(&cuts, (guint)state->cuts.size());
  for (size_t k = 0; k < state->shots.size(); k++) {
    g_value_init(&item, GST_TYPE_STRUCTURE);
    g_value_take_boxed(&item,
                       montage::shot_to_structure(state->shots[k], state->shots_dropped + (guint)k,
                                                  state->shot_boundaries[k]));
    gst_value_array_append_and_take_value(&shots, &item);
    item = G_VALUE_INIT;
  }
  for (GstClockTime cut : state->cuts) {
    g_value_init(&item, G_TYPE_UINT64);
    g_value_set_uint64(&item, cut);
    gst_value_array_append_and_take_value(&cuts, &item);
    item = G_VALUE_INIT;
  }
  GstStructure *s = gst_structure_new_empty("montage-shots");
  gst_structure_take_value(s, "shots", &shots);
  gst_structure_take_value(s, "cuts", &cuts);
  gst_structure_set(s, "shots-dropped", G_TYPE_UINT, state->shots_dropped, "cuts-dropped",
                    G_TYPE_UINT, state->cuts_dropped, NULL);
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
}

static void gst_montage_scene_set_property(GObject *object, guint prop_id, const GValue *value,
                                           GParamSpec *pspec)
{
  SceneState *state = GST_MONTAGE_SCENE(object)->state;
  if (prop_id == PROP_MAX_SHOTS) {
    /* Not a detector setting: applies at the next shot's end (and at EOS). */
    state->max_shots = g_value_get_uint(value);
    return;
  }
  std::unique_lock<std::mutex> lock(state->settings_lock);
  montage::ShotDetectorSettings &s = state->settings;
  const int look_before = montage::ShotDetector::latency_frames(s);
  state->settings_changed = true;
  switch (prop_id) {
  case PROP_DETECTOR:
    s.detector = (montage::DetectorKind)g_value_get_enum(value);
    break;
  case PROP_THRESHOLD:
    s.threshold = g_value_get_double(value);
    break;
  case PROP_MIN_CONTENT:
    s.min_content = g_value_get_double(value);
    break;
  case PROP_MIN_SHOT_LENGTH:
    s.min_shot_length = g_value_get_uint64(value);
    break;
  case PROP_FLASH_FRAMES:
    s.flash_frames = g_value_get_int(value);
    break;
  case PROP_MAX_TRANSITION_FRAMES:
    s.max_transition_frames = g_value_get_int(value);
    break;
  case PROP_FEATURES:
    s.features = g_value_get_boolean(value);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
  /* A new look-ahead (flash-frames, detector) applies from the next frame:
   * the pipeline is told to query the latency again. */
  const bool look_changed = montage::ShotDetector::latency_frames(s) != look_before;
  lock.unlock();
  if (look_changed)
    gst_element_post_message(GST_ELEMENT(object), gst_message_new_latency(GST_OBJECT(object)));
}

static void gst_montage_scene_get_property(GObject *object, guint prop_id, GValue *value,
                                           GParamSpec *pspec)
{
  SceneState *state = GST_MONTAGE_SCENE(object)->state;
  if (prop_id == PROP_MAX_SHOTS) {
    g_value_set_uint(value, state->max_shots.load());
    return;
  }
  std::lock_guard<std::mutex> lock(state->settings_lock);
  const montage::ShotDetectorSettings &s = state->settings;
  switch (prop_id) {
  case PROP_DETECTOR:
    g_value_set_enum(value, (gint)s.detector);
    break;
  case PROP_THRESHOLD:
    g_value_set_double(value, s.threshold);
    break;
  case PROP_MIN_CONTENT:
    g_value_set_double(value, s.min_content);
    break;
  case PROP_MIN_SHOT_LENGTH:
    g_value_set_uint64(value, s.min_shot_length);
    break;
  case PROP_FLASH_FRAMES:
    g_value_set_int(value, s.flash_frames);
    break;
  case PROP_MAX_TRANSITION_FRAMES:
    g_value_set_int(value, s.max_transition_frames);
    break;
  case PROP_FEATURES:
    g_value_set_boolean(value, s.features);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
}

/* Keeps the frame rate the latency query converts the look-ahead with,
 * under the object lock (the query reads it from another thread): the
 * caps' frame rate, which for variable-rate caps (framerate 0/1) GstVideoInfo
 * takes from their max-framerate, the shortest a frame lasts; none (0/1)
 * when caps is NULL or variable-rate caps have no max-framerate. */
static void set_latency_rate(GstMontageScene *self, const GstVideoInfo *info, GstCaps *caps)
{
  SceneState *state = self->state;
  gint n = info ? GST_VIDEO_INFO_FPS_N(info) : 0, d = info ? GST_VIDEO_INFO_FPS_D(info) : 1;
  if (n <= 0 || d <= 0) {
    n = 0;
    d = 1;
  }
  const bool changed =
      state->latency_rate_set && (n != state->latency_fps_n || d != state->latency_fps_d);
  state->latency_rate_set = caps != nullptr;
  GST_OBJECT_LOCK(self);
  state->latency_fps_n = n;
  state->latency_fps_d = d;
  GST_OBJECT_UNLOCK(self);
  /* A new rate after the first caps: the pipeline is told to ask again. */
  if (changed && caps)
    gst_element_post_message(GST_ELEMENT(self), gst_message_new_latency(GST_OBJECT(self)));
}

/* A frame's spacing, for the latency on caps without a rate: the time
 * since the frame before (its PTS), or where there is none (the first
 * frame, one after a segment, flush, gap or DISCONT, no PTS) its duration;
 * kSpacingWindow of them are kept and the latency query's spacing follows
 * their median (kAssumedSpacing). A LATENCY message announces a new answer
 * while the caps carry no rate. */
static void observe_spacing(GstMontageScene *self, GstBuffer *buf, bool discont)
{
  SceneState *state = self->state;
  const GstClockTime pts = GST_BUFFER_PTS(buf);
  GstClockTime spacing = GST_CLOCK_TIME_NONE;
  if (!discont && GST_CLOCK_TIME_IS_VALID(pts) && GST_CLOCK_TIME_IS_VALID(state->last_pts) &&
      pts > state->last_pts)
    spacing = pts - state->last_pts;
  else if (GST_BUFFER_DURATION_IS_VALID(buf) && GST_BUFFER_DURATION(buf) > 0)
    spacing = GST_BUFFER_DURATION(buf);
  state->last_pts = pts;
  if (!GST_CLOCK_TIME_IS_VALID(spacing))
    return;
  state->spacings.push_back(std::min(spacing, kMaxSpacing));
  if (state->spacings.size() > kSpacingWindow)
    state->spacings.pop_front();
  /* The median (of an even count, the larger middle one). */
  std::vector<GstClockTime> sorted(state->spacings.begin(), state->spacings.end());
  auto mid = sorted.begin() + sorted.size() / 2;
  std::nth_element(sorted.begin(), mid, sorted.end());
  const GstClockTime median = *mid;
  GST_OBJECT_LOCK(self);
  const GstClockTime was = state->latency_spacing;
  const bool changed = median > was + was / 64 || median + was / 8 < was;
  if (changed)
    state->latency_spacing = median;
  const bool rate_less = state->latency_fps_n == 0;
  GST_OBJECT_UNLOCK(self);
  if (changed && rate_less) {
    GST_INFO_OBJECT(self, "caps without a frame rate: frames %" GST_TIME_FORMAT " apart",
                    GST_TIME_ARGS(median));
    gst_element_post_message(GST_ELEMENT(self), gst_message_new_latency(GST_OBJECT(self)));
  }
}

static gboolean gst_montage_scene_start(GstBaseTransform *trans)
{
  SceneState *state = GST_MONTAGE_SCENE(trans)->state;
  make_detector(state);
  restart_frame_times(state);
  state->cut_count = 0;
  clear_summary(state);
  state->warned_caps = false;
  state->refused_caps_event = false;
  state->warned_reverse = false;
  state->discont_in = false;
  state->progress = Progress();
  state->spacings.clear();
  GST_OBJECT_LOCK(trans);
  state->latency_spacing = kAssumedSpacing;
  GST_OBJECT_UNLOCK(trans);
  return TRUE;
}

static gboolean gst_montage_scene_stop(GstBaseTransform *trans)
{
  SceneState *state = GST_MONTAGE_SCENE(trans)->state;
  clear_held(state);
  state->detector.reset();
  state->have_info = false;
  set_latency_rate(GST_MONTAGE_SCENE(trans), nullptr, nullptr);
  state->hsv.release();
  state->bgr.release();
  return TRUE;
}

/* Whether frames of `a` and of `b` are analysed alike: the same format,
 * size and frame rate (what the documentation says new caps restart
 * detection for), and for YUV and grey the same range (the one colorimetry
 * field the analysis view reads: frame_view_from_video_frame(); RGB is read
 * as it is). */
static bool same_analysis(const GstVideoInfo &a, const GstVideoInfo &b)
{
  auto full = [](const GstVideoInfo &i) {
    return GST_VIDEO_INFO_COLORIMETRY(&i).range == GST_VIDEO_COLOR_RANGE_0_255;
  };
  return GST_VIDEO_INFO_FORMAT(&a) == GST_VIDEO_INFO_FORMAT(&b) &&
         GST_VIDEO_INFO_WIDTH(&a) == GST_VIDEO_INFO_WIDTH(&b) &&
         GST_VIDEO_INFO_HEIGHT(&a) == GST_VIDEO_INFO_HEIGHT(&b) &&
         GST_VIDEO_INFO_FPS_N(&a) == GST_VIDEO_INFO_FPS_N(&b) &&
         GST_VIDEO_INFO_FPS_D(&a) == GST_VIDEO_INFO_FPS_D(&b) &&
         (GST_VIDEO_INFO_IS_RGB(&a) || full(a) == full(b));
}

static gboolean gst_montage_scene_set_caps(GstBaseTransform *trans, GstCaps *incaps, GstCaps *)
{
  GstMontageScene *self = GST_MONTAGE_SCENE(trans);
  SceneState *state = self->state;
  GstVideoInfo info;
  if (!gst_video_info_from_caps(&info, incaps)) {
    GST_ELEMENT_ERROR(
        trans, CORE, NEGOTIATION,
        ("montagescene cannot read these video caps: put videoconvert before it (it reads "
         "8-bit YUV, grey and RGB in system memory)."),
        ("caps: %" GST_PTR_FORMAT, incaps));
    return FALSE;
  }
  if (state->have_info && same_analysis(state->info, info)) {
    /* The same picture described otherwise (pixel aspect ratio, the
     * colorimetry's matrix, chroma siting, interlace mode...): the shot goes
     * on. Only another size, format, frame rate or range restarts it. */
    GST_DEBUG_OBJECT(trans, "new caps, analysed as before: %" GST_PTR_FORMAT, incaps);
    state->info = info;
    set_latency_rate(self, &info, incaps);
    return TRUE;
  }
  /* Frames held under the old caps leave first, with their verdicts. */
  if (state->have_info)
    gst_montage_scene_drain(self, false);
  state->info = info;
  state->have_info = true;
  set_latency_rate(self, &info, incaps);
  state->luma_only = GST_VIDEO_INFO_IS_GRAY(&info);
  make_detector(state);
  GST_DEBUG_OBJECT(trans, "analysing %dx%d %s", info.width, info.height,
                   gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(&info)));
  return TRUE;
}

static gboolean gst_montage_scene_sink_event(GstBaseTransform *trans, GstEvent *event)
{
  GstMontageScene *self = GST_MONTAGE_SCENE(trans);
  SceneState *state = self->state;
  switch (GST_EVENT_TYPE(event)) {
  case GST_EVENT_FLUSH_STOP:
    clear_held(state);
    state->discont_in = false;
    make_detector(state);
    restart_frame_times(state);
    clear_summary(state);
    break;
  case GST_EVENT_SEGMENT:
    /* The held frames belong to the old segment: let them out first. */
    gst_montage_scene_drain(self, false);
    make_detector(state);
    restart_frame_times(state);
    break;
  case GST_EVENT_EOS:
    gst_montage_scene_drain(self, true);
    break;
  case GST_EVENT_GAP:
    /* No frame comes before the gap's end, so none can come back from a
     * jump (a flash, a cut away and back) or carry on a blend inside the
     * look-ahead: the held frames are decided now, as at the end of the
     * stream, and leave, then the events behind them, then the GAP. The
     * shot goes on (ShotDetector::decide_held()): the next frame is
     * compared with the last one before the gap. Without this they all
     * waited, for as long as the gap lasted, for the next frame. */
    if (decide_held_at_gap(state))
      gst_montage_scene_push_decided(self);
    state->pending_events.push(GST_BASE_TRANSFORM_SRC_PAD(self));
    {
      GstClockTime start, duration;
      gst_event_parse_gap(event, &start, &duration);
      follow_gap(state, trans->segment, start, duration);
    }
    break;
  case GST_EVENT_CAPS: {
    /* Caps that describe the same picture otherwise (same_analysis()),
     * while frames are held: they keep their place among the frames, as
     * other serialized events do, so that the held frames leave under the
     * caps they came with. For other caps set_caps() drains first. */
    GstCaps *caps = nullptr;
    GstVideoInfo info;
    gst_event_parse_caps(event, &caps);
    if (state->have_info && (!state->held.empty() || !state->pending_events.empty()) &&
        gst_video_info_from_caps(&info, caps) && same_analysis(state->info, info)) {
      GST_DEBUG_OBJECT(trans, "new caps, analysed as before: %" GST_PTR_FORMAT, caps);
      state->info = info;
      set_latency_rate(self, &info, caps);
      state->pending_events.add(event);
      return TRUE;
    }
    break;
  }
  default:
    /* Any other serialized event (tags, an upstream force-key-unit event,
     * an application's own) keeps its place among the frames: it waits
     * behind the held ones and leaves before the next frame. */
    if (GST_EVENT_IS_SERIALIZED(event) &&
        (!state->held.empty() || !state->pending_events.empty())) {
      state->pending_events.add(event);
      return TRUE;
    }
    break;
  }
  return GST_BASE_TRANSFORM_CLASS(gst_montage_scene_parent_class)->sink_event(trans, event);
}

namespace
{

/* Why montagescene cannot take fixed video caps `caps`, in words a user
 * can act on: the memory ("video/x-raw(memory:CUDAMemory)") or the format
 * ("I420_10LE, 10 bits per component"; "UYVY, a layout it does not read").
 * Empty when the caps are not raw video with one format, or are of a kind
 * the sink template takes (then they were refused for another reason,
 * which the user cannot fix in front of montagescene). */
std::string unsupported_caps_reason(GstCaps *caps)
{
  if (!caps || gst_caps_is_any(caps) || gst_caps_get_size(caps) != 1 ||
      !gst_structure_has_name(gst_caps_get_structure(caps, 0), "video/x-raw"))
    return "";
  GstCaps *templ = gst_static_pad_template_get_caps(&sink_template);
  const GstCapsFeatures *features = gst_caps_get_features(caps, 0);
  const gchar *format = gst_structure_get_string(gst_caps_get_structure(caps, 0), "format");
  std::string out;
  if (gst_caps_can_intersect(caps, templ)) {
    /* A kind it takes: refused for another reason. */
  } else if (features && !gst_caps_features_is_any(features) &&
             !gst_caps_features_is_equal(features, GST_CAPS_FEATURES_MEMORY_SYSTEM_MEMORY)) {
    gchar *f = gst_caps_features_to_string(features);
    out = std::string("video/x-raw(") + f + ")";
    g_free(f);
  } else if (format) {
    GstCaps *one = gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, format, NULL);
    const bool listed = gst_caps_can_intersect(one, templ);
    gst_caps_unref(one);
    const GstVideoFormat vf = gst_video_format_from_string(format);
    const guint depth = vf == GST_VIDEO_FORMAT_UNKNOWN
                            ? 0
                            : GST_VIDEO_FORMAT_INFO_DEPTH(gst_video_format_get_info(vf), 0);
    /* A listed format refused all the same: the size or rate is off. */
    if (!listed && depth > 8)
      out = std::string(format) + ", " + std::to_string(depth) + " bits per component";
    else if (!listed)
      out = std::string(format) + ", a layout it does not read";
  }
  gst_caps_unref(templ);
  return out;
}

} // namespace

/* The sink pad's ACCEPT_CAPS: the base class's answer, and when it refuses
 * caps that montagescene cannot analyse, a sentence naming them and what to
 * put in front. Upstream elements that can convert never offer such caps
 * (they choose among what the CAPS query answers), so it comes when
 * negotiation is about to fail with not-negotiated, where the core's own
 * error says only "Internal data stream error".
 * - The check of a CAPS event (caps_event_sent()): upstream has chosen,
 *   its push fails with not-negotiated, so the sentence is the error
 *   itself, the first on the bus (once per start). It was a warning ahead
 *   of upstream's error, and gst-launch-1.0 1.22, which reads the first
 *   error and flushes the bus, could drop it (trial h138).
 * - An ACCEPT_CAPS query alone: a warning (once per start). A query is a
 *   probe, not a decision: an upstream element may ask whether caps are
 *   accepted before falling back to others, and then nothing has failed. */
static gboolean gst_montage_scene_accept_caps(GstBaseTransform *trans, GstPadDirection direction,
                                              GstCaps *caps)
{
  GstMontageScene *self = GST_MONTAGE_SCENE(trans);
  const gboolean ok =
      GST_BASE_TRANSFORM_CLASS(gst_montage_scene_parent_class)->accept_caps(trans, direction, caps);
  if (ok || direction != GST_PAD_SINK)
    return ok;
  const std::string why = unsupported_caps_reason(caps);
  if (why.empty() || self->state->refused_caps_event)
    return ok;
  const bool event = montage::caps_event_sent(GST_BASE_TRANSFORM_SINK_PAD(trans), caps);
  if (event ? self->state->refused_caps_event.exchange(true)
            : self->state->warned_caps.exchange(true))
    return ok;
  /* videoconvert takes system memory only: device memory needs a download. */
  const bool memory = why.rfind("video/x-raw(", 0) == 0;
  gchar *text = g_strdup_printf(
      "montagescene analyses 8-bit video in system memory; got %s: put %s before montagescene.",
      why.c_str(),
      memory ? "an element that downloads it to system memory (cudadownload for "
               "CUDAMemory, vapostproc ! video/x-raw for VAMemory or DMABuf)"
             : "videoconvert");
  if (event)
    GST_ELEMENT_ERROR(trans, CORE, NEGOTIATION, ("%s", text),
                      ("refused caps %" GST_PTR_FORMAT, caps));
  else
    GST_ELEMENT_WARNING(trans, CORE, NEGOTIATION, ("%s", text),
                        ("refused caps %" GST_PTR_FORMAT, caps));
  g_free(text);
  return ok;
}

static gboolean gst_montage_scene_query(GstBaseTransform *trans, GstPadDirection direction,
                                        GstQuery *query)
{
  gboolean ok =
      GST_BASE_TRANSFORM_CLASS(gst_montage_scene_parent_class)->query(trans, direction, query);
  if (ok && direction == GST_PAD_SRC && GST_QUERY_TYPE(query) == GST_QUERY_LATENCY) {
    SceneState *state = GST_MONTAGE_SCENE(trans)->state;
    gboolean live;
    GstClockTime min, max;
    gst_query_parse_latency(query, &live, &min, &max);
    int frames;
    {
      std::lock_guard<std::mutex> lock(state->settings_lock);
      frames = montage::ShotDetector::latency_frames(state->settings);
    }
    /* A copy of the rate, taken under the object lock: set_caps() may be
     * changing the caps on the streaming thread now. */
    GST_OBJECT_LOCK(trans);
    const gint fps_n = state->latency_fps_n, fps_d = state->latency_fps_d;
    const GstClockTime spacing = state->latency_spacing;
    GST_OBJECT_UNLOCK(trans);
    /* Without a rate (variable-rate caps without max-framerate, or no caps
     * yet): the frames' spacing (kAssumedSpacing). */
    GstClockTime ours = (GstClockTime)frames * spacing;
    if (fps_n > 0 && fps_d > 0)
      ours = gst_util_uint64_scale_int_ceil(frames * GST_SECOND, fps_d, fps_n);
    min += ours;
    if (GST_CLOCK_TIME_IS_VALID(max))
      max += ours;
    gst_query_set_latency(query, live, min, max);
  }
  return ok;
}

static GstFlowReturn gst_montage_scene_submit_input_buffer(GstBaseTransform *trans, gboolean,
                                                           GstBuffer *buf)
{
  GstMontageScene *self = GST_MONTAGE_SCENE(trans);
  SceneState *state = self->state;
  if (!state->have_info || !state->detector) {
    gst_buffer_unref(buf);
    GST_ELEMENT_ERROR(
        self, CORE, NEGOTIATION,
        ("montagescene received video before its format was negotiated: the element before "
         "it must send caps first (with appsrc, set its caps property)."),
        ("no caps event before the first buffer"));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  if (trans->segment.rate < 0) {
    /* Played backwards: passed through as it is, decided (no verdict). The
     * segment event drained the frames held before. */
    if (!state->warned_reverse) {
      state->warned_reverse = true;
      GST_ELEMENT_WARNING(self, STREAM, NOT_IMPLEMENTED,
                          ("montagescene does not analyse video played backwards (segment rate "
                           "%.2f): its frames pass through with no cuts, shot messages or key-unit "
                           "requests until the next forward segment.",
                           trans->segment.rate),
                          (NULL));
    }
    Held h;
    h.buffer = buf;
    h.pts = GST_BUFFER_PTS(buf);
    h.events_before = state->pending_events.take();
    h.decided = true;
    h.discont = std::exchange(state->discont_in, false);
    state->held.push_back(std::move(h));
    return GST_FLOW_OK;
  }
  FrameMeasure m;
  GstClockTime duration;
  const GstClockTime pts = frame_time(state, trans->segment, buf, duration);
  if (G_UNLIKELY(GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_GAP)))
    state->last_pts = GST_CLOCK_TIME_NONE; /* no frame spacing across a gap */
  else
    observe_spacing(self, buf, state->discont_in);
  if (G_UNLIKELY(GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_GAP))) {
    /* No picture of the stream ("media neutral data": GstAggregator's empty
     * buffer for a GAP event, a mixer's filler): a gap, as a GAP event is.
     * The held frames are decided and leave first, then it, untouched and
     * unanalysed; the shot goes on across it, and frame_time() has placed a
     * next frame without a PTS after it. */
    decide_held_at_gap(state);
    Held h;
    h.buffer = buf;
    h.pts = pts;
    h.events_before = state->pending_events.take();
    h.decided = true;
    h.discont = std::exchange(state->discont_in, false);
    state->held.push_back(std::move(h));
    return GST_FLOW_OK;
  }
  /* The frame is held (the look-ahead) and analysed; the verdicts that
   * became final go to the held frames they belong to, and
   * generate_output() lets the decided ones go. */
  const Failure failure =
      analyse(state, buf, to_stream_time(trans->segment, pts), duration, m, state->verdicts);
  if (failure == Failure::kNone) {
    Held h;
    h.buffer = buf;
    h.pts = pts;
    h.events_before = state->pending_events.take();
    h.discont = std::exchange(state->discont_in, false);
    h.measure = std::move(m);
    state->held.push_back(std::move(h));
    assign_verdicts(state);
  } else {
    state->verdicts.clear();
    gst_buffer_unref(buf);
  }
  if (failure == Failure::kMap) {
    GST_ELEMENT_ERROR(
        self, STREAM, FAILED,
        ("montagescene could not map a video frame for reading (a buffer smaller than "
         "its caps say, or memory the CPU cannot read): put videoconvert before "
         "montagescene, or fix the caps an appsrc sets."),
        (NULL));
    return GST_FLOW_ERROR;
  }
  if (failure == Failure::kAnalyse) {
    GST_ELEMENT_ERROR(self, STREAM, FORMAT,
                      ("montagescene could not analyse a %s frame; convert the video with "
                       "videoconvert first.",
                       gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(&state->info))),
                      (NULL));
    return GST_FLOW_ERROR;
  }
  return GST_FLOW_OK;
}

/* GstBaseTransform's chain function marks the first buffer pushed during
 * the call DISCONT when a DISCONT buffer comes in: with frames held, that
 * is a frame from before the discontinuity (an encoder or sink after it
 * would resync where the video is continuous). So the flag is taken off
 * here, before the base class sees it, and put back on the same frame when
 * it leaves (gst_montage_scene_release()), as montagebeat does. */
static GstFlowReturn gst_montage_scene_chain(GstPad *pad, GstObject *parent, GstBuffer *buf)
{
  SceneState *state = GST_MONTAGE_SCENE(parent)->state;
  if (GST_BUFFER_IS_DISCONT(buf)) {
    buf = gst_buffer_make_writable(buf);
    GST_BUFFER_FLAG_UNSET(buf, GST_BUFFER_FLAG_DISCONT);
    state->discont_in = true;
  }
  return state->base_chain(pad, parent, buf);
}

static GstFlowReturn gst_montage_scene_generate_output(GstBaseTransform *trans, GstBuffer **out)
{
  GstMontageScene *self = GST_MONTAGE_SCENE(trans);
  *out = nullptr;
  Held h;
  if (gst_montage_scene_pop_decided(self->state, h))
    *out = gst_montage_scene_release(self, h);
  return GST_FLOW_OK;
}

static void gst_montage_scene_finalize(GObject *object)
{
  GstMontageScene *self = GST_MONTAGE_SCENE(object);
  clear_held(self->state);
  delete self->state;
  self->state = nullptr;
  G_OBJECT_CLASS(gst_montage_scene_parent_class)->finalize(object);
}

static void gst_montage_scene_class_init(GstMontageSceneClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS(klass);

  GST_DEBUG_CATEGORY_INIT(gst_montage_scene_debug, "montagescene", 0,
                          "gst-montage shot-cut detector");
  montage::shot_meta_get_info();
  montage::shot_features_meta_get_info();

  gobject_class->set_property = gst_montage_scene_set_property;
  gobject_class->get_property = gst_montage_scene_get_property;
  gobject_class->finalize = gst_montage_scene_finalize;

  const GParamFlags rw =
      (GParamFlags)(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING);
  g_object_class_install_property(
      gobject_class, PROP_DETECTOR,
      g_param_spec_enum("detector", "Detector",
                        "How consecutive frames are compared (PySceneDetect's detectors); "
                        "adaptive resists fast motion best",
                        GST_TYPE_MONTAGE_SCENE_DETECTOR, (gint)kDefaults.detector, rw));
  g_object_class_install_property(
      gobject_class, PROP_THRESHOLD,
      g_param_spec_double(
          "threshold", "Threshold",
          "Score at or above which a frame is a cut candidate, on the detector's scale "
          "(content 0-255, adaptive a ratio, histogram 0-2, hash 0-1); -1 "
          "uses the detector's PySceneDetect default (27, 3, 0.05, 0.395). A candidate must "
          "also change the picture by min-content: lower both for cuts between similar pictures",
          -1.0, 255.0, -1.0, rw));
  g_object_class_install_property(
      gobject_class, PROP_MIN_CONTENT,
      g_param_spec_double(
          "min-content", "Minimum content change",
          "Least change a cut makes (mean absolute difference of the analysis views, 0-255) "
          "with every detector: the frame's BGR view against the frame before's, with adaptive "
          "also its HSV content score, and near black their luma. It also bounds a flash's "
          "return and the camera-motion test. 15 is PySceneDetect's AdaptiveDetector "
          "min_content_val",
          0.0, 255.0, kDefaults.min_content, rw));
  g_object_class_install_property(
      gobject_class, PROP_MIN_SHOT_LENGTH,
      g_param_spec_uint64(
          "min-shot-length", "Minimum shot length",
          "Minimum shot length in nanoseconds: a boundary closer than this to the previous one "
          "(or to the first frame after start, a flush or a new segment) is dropped, so the short "
          "shot and the one after it are one shot from the earlier cut; default 15 frames at "
          "30 fps, as PySceneDetect",
          0, G_MAXUINT64, kDefaults.min_shot_length, rw));
  g_object_class_install_property(
      gobject_class, PROP_FLASH_FRAMES,
      g_param_spec_int(
          "flash-frames", "Flash frames",
          "Look-ahead in frames: a jump that comes back to the frame before it "
          "within this many frames (a flash, a cut away and straight back) is no "
          "cut; the element holds this many frames (at least 2 with the adaptive detector) "
          "and reports them as latency (a LATENCY message when changed "
          "while streaming); 0 disables (and with content, histogram and hash, "
          "fades and dissolves are not found)",
          0, 30, kDefaults.flash_frames, rw));
  g_object_class_install_property(
      gobject_class, PROP_MAX_TRANSITION_FRAMES,
      g_param_spec_int("max-transition-frames", "Maximum transition frames",
                       "Longest fade or dissolve looked for, in frames; 0 finds hard cuts only",
                       0, 300, kDefaults.max_transition_frames, rw));
  g_object_class_install_property(
      gobject_class, PROP_FEATURES,
      g_param_spec_boolean("features", "Shot features",
                           "Measure shot features: brightness and contrast on every frame; motion, "
                           "sharpness, colourfulness and a colour histogram on one frame in four "
                           "(about 0.03 ms per frame)",
                           kDefaults.features, rw));
  g_object_class_install_property(
      gobject_class, PROP_MAX_SHOTS,
      g_param_spec_uint(
          "max-shots", "Maximum shots in the summary",
          "Most shots the montage-shots message at EOS lists: beyond it the oldest are dropped "
          "from it (its shots-dropped and cuts-dropped fields count them), so an endless stream "
          "keeps bounded memory (about 0.8 KB a shot). Every shot is still posted in its own "
          "montage-shot message. 0 keeps none (empty lists); 4294967295 keeps every one",
          0, G_MAXUINT, kDefaultMaxShots, rw));

  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(
      element_class, "Montage shot-cut detector", "Filter/Analyzer/Video",
      "Finds cuts, fades and dissolves frame-accurately, describes each shot, asks downstream "
      "encoders for a keyframe on each new shot; passes video through untouched",
      "gst-montage developers");

  trans_class->start = GST_DEBUG_FUNCPTR(gst_montage_scene_start);
  trans_class->stop = GST_DEBUG_FUNCPTR(gst_montage_scene_stop);
  trans_class->set_caps = GST_DEBUG_FUNCPTR(gst_montage_scene_set_caps);
  trans_class->sink_event = GST_DEBUG_FUNCPTR(gst_montage_scene_sink_event);
  trans_class->query = GST_DEBUG_FUNCPTR(gst_montage_scene_query);
  trans_class->accept_caps = GST_DEBUG_FUNCPTR(gst_montage_scene_accept_caps);
  trans_class->submit_input_buffer = GST_DEBUG_FUNCPTR(gst_montage_scene_submit_input_buffer);
  trans_class->generate_output = GST_DEBUG_FUNCPTR(gst_montage_scene_generate_output);
  trans_class->passthrough_on_same_caps = FALSE;
}

static void gst_montage_scene_init(GstMontageScene *self)
{
  self->state = new SceneState();
  gst_video_info_init(&self->state->info);
  gst_base_transform_set_passthrough(GST_BASE_TRANSFORM(self), TRUE);
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
  GstPad *sink = GST_BASE_TRANSFORM_SINK_PAD(self);
  self->state->base_chain = GST_PAD_CHAINFUNC(sink);
  gst_pad_set_chain_function(sink, GST_DEBUG_FUNCPTR(gst_montage_scene_chain));
}
