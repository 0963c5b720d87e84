/**
 * SECTION:element-montagescene
 * @title: montagescene
 *
 * Finds hard cuts (the first frame of each new shot) in raw video, frame
 * accurately and without look-ahead, and lets the data through untouched:
 * the element is an in-place passthrough transform that maps each frame
 * read-only, so buffers leave it exactly as they came (same GstBuffer, same
 * GstMemory, no copy).
 *
 * Each frame is reduced to a small HSV view (256 px wide, INTER_LINEAR) and
 * compared with the previous one: the score is the mean absolute difference
 * of H, S and V, averaged over the three channels, on a 0-255 scale
 * (PySceneDetect's ContentDetector score; for GRAY8 input, which has no hue
 * or saturation, the luma difference alone, as PySceneDetect's luma_only).
 * A frame whose score reaches
 * #GstMontageScene:threshold is a cut unless it comes less than
 * #GstMontageScene:min-shot-length after the previous cut. The first frame
 * after start, a flush or a new segment is never a cut and starts the first
 * shot (so a black first frame followed by the picture is not a cut).
 *
 * For each cut, before the cut frame is pushed, the element
 *
 * - sends a downstream force-key-unit event (GstForceKeyUnit, see
 *   gst_video_event_new_downstream_force_key_unit()) with the frame's
 *   timestamp, stream time and running time, all-headers TRUE and a count
 *   that starts at 1 and grows by one per cut; a video encoder after
 *   montagescene then starts a GOP on exactly that frame;
 * - posts an element message on the bus:
 *
 * ## `montage-scene` element message
 *
 * - `timestamp` (G_TYPE_UINT64): PTS of the cut frame in ns, as on the buffer
 *   (GST_CLOCK_TIME_NONE when the buffer has none).
 * - `stream-time` (G_TYPE_UINT64): stream time of the cut frame in ns (position
 *   in the media, what a seek or an in-point uses), from the current segment.
 * - `running-time` (G_TYPE_UINT64): running time of the cut frame in ns (the
 *   pipeline clock's view, what the force-key-unit event carries).
 * - `score` (G_TYPE_DOUBLE): the frame's content score, 0-255, >= threshold.
 *
 * Messages are for applications: they travel asynchronously to the data.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 -m filesrc location=clip.mp4 ! decodebin ! videoconvert ! \
 *     montagescene ! x264enc ! mp4mux ! filesink location=cut-aligned.mp4
 * ]| prints one `montage-scene` message per cut and writes a file whose
 * keyframes include every detected cut.
 */
#include "gstmontagescene.h"

#include <gst/montage/scenedetector.h>
#include <gst/video/video.h>

#include <mutex>

GST_DEBUG_CATEGORY_STATIC(gst_montage_scene_debug);
#define GST_CAT_DEFAULT gst_montage_scene_debug

namespace
{

constexpr double kDefaultThreshold = montage::SceneDetectorSettings{}.threshold;
constexpr guint64 kDefaultMinShotLength = montage::SceneDetectorSettings{}.min_shot_length;

enum { PROP_0, PROP_THRESHOLD, PROP_MIN_SHOT_LENGTH };

#define MONTAGE_SCENE_FORMATS                                                                      \
  "{ GRAY8, I420, YV12, NV12, NV21, Y42B, Y444, RGB, BGR, RGBx, BGRx, xRGB, xBGR, RGBA, BGRA, "    \
  "ARGB, ABGR }"

GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS,
                            GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(MONTAGE_SCENE_FORMATS)));
GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS,
                            GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(MONTAGE_SCENE_FORMATS)));

/* C++ state, created in _init and deleted in _finalize. */
struct SceneState {
  /* Properties: written from any thread, read once per frame. */
  std::mutex settings_lock;
  montage::SceneDetectorSettings settings;

  /* Streaming state: touched only with the sink pad's stream lock held
   * (buffers and serialized events, including FLUSH_STOP) or in start/stop. */
  GstVideoInfo info;
  bool have_info = false;
  montage::AnalysisViewBuilder builder;
  montage::SceneDetector detector;
  bool luma_only = false; /* GRAY8: score on V alone (ContentScorer::kLumaOnly) */
  cv::Mat hsv;
  guint cut_count = 0; /* force-key-unit events sent since start */
};

} // namespace

struct _GstMontageScene {
  GstBaseTransform parent;
  SceneState *state;
};

G_DEFINE_TYPE(GstMontageScene, gst_montage_scene, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE(montagescene, "montagescene", GST_RANK_NONE, GST_TYPE_MONTAGE_SCENE);

namespace
{

cv::Mat comp_mat(GstVideoFrame *frame, int comp)
{
  return cv::Mat(GST_VIDEO_FRAME_COMP_HEIGHT(frame, comp), GST_VIDEO_FRAME_COMP_WIDTH(frame, comp),
                 CV_8UC1, GST_VIDEO_FRAME_COMP_DATA(frame, comp),
                 (size_t)GST_VIDEO_FRAME_COMP_STRIDE(frame, comp));
}

/* Views on the planes of a mapped frame: no pixel is copied. */
bool frame_view(GstVideoFrame *frame, montage::FrameView &view)
{
  const int width = GST_VIDEO_FRAME_WIDTH(frame);
  const int height = GST_VIDEO_FRAME_HEIGHT(frame);
  switch (GST_VIDEO_FRAME_FORMAT(frame)) {
  case GST_VIDEO_FORMAT_GRAY8:
    view = montage::FrameView::gray(comp_mat(frame, 0));
    return true;
  case GST_VIDEO_FORMAT_I420:
  case GST_VIDEO_FORMAT_YV12:
  case GST_VIDEO_FORMAT_Y42B:
  case GST_VIDEO_FORMAT_Y444:
    view = montage::FrameView::yuv_planar(comp_mat(frame, GST_VIDEO_COMP_Y),
                                          comp_mat(frame, GST_VIDEO_COMP_U),
                                          comp_mat(frame, GST_VIDEO_COMP_V));
    return true;
  case GST_VIDEO_FORMAT_NV12:
  case GST_VIDEO_FORMAT_NV21: {
    cv::Mat uv(GST_VIDEO_FRAME_COMP_HEIGHT(frame, GST_VIDEO_COMP_U),
               GST_VIDEO_FRAME_COMP_WIDTH(frame, GST_VIDEO_COMP_U), CV_8UC2,
               GST_VIDEO_FRAME_PLANE_DATA(frame, 1),
               (size_t)GST_VIDEO_FRAME_PLANE_STRIDE(frame, 1));
    view = montage::FrameView::yuv_semi_planar(
        comp_mat(frame, GST_VIDEO_COMP_Y), uv,
        GST_VIDEO_FRAME_COMP_POFFSET(frame, GST_VIDEO_COMP_V) == 0);
    return true;
  }
  default:
    break;
  }
  if (GST_VIDEO_INFO_IS_RGB(&frame->info) && GST_VIDEO_FRAME_N_PLANES(frame) == 1) {
    const int pstride = GST_VIDEO_FRAME_COMP_PSTRIDE(frame, GST_VIDEO_COMP_R);
    if (pstride != 3 && pstride != 4)
      return false;
    cv::Mat rgb(height, width, CV_8UC(pstride), GST_VIDEO_FRAME_PLANE_DATA(frame, 0),
                (size_t)GST_VIDEO_FRAME_PLANE_STRIDE(frame, 0));
    view =
        montage::FrameView::packed_rgb(rgb, GST_VIDEO_FRAME_COMP_POFFSET(frame, GST_VIDEO_COMP_R),
                                       GST_VIDEO_FRAME_COMP_POFFSET(frame, GST_VIDEO_COMP_G),
                                       GST_VIDEO_FRAME_COMP_POFFSET(frame, GST_VIDEO_COMP_B));
    return true;
  }
  return false;
}

void reset_stream(SceneState *state)
{
  state->detector.reset();
}

} // namespace

static void gst_montage_scene_set_property(GObject *object, guint prop_id, const GValue *value,
                                           GParamSpec *pspec)
{
  SceneState *state = GST_MONTAGE_SCENE(object)->state;
  std::lock_guard<std::mutex> lock(state->settings_lock);
  switch (prop_id) {
  case PROP_THRESHOLD:
    state->settings.threshold = g_value_get_double(value);
    break;
  case PROP_MIN_SHOT_LENGTH:
    state->settings.min_shot_length = g_value_get_uint64(value);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
}

static void gst_montage_scene_get_property(GObject *object, guint prop_id, GValue *value,
                                           GParamSpec *pspec)
{
  SceneState *state = GST_MONTAGE_SCENE(object)->state;
  std::lock_guard<std::mutex> lock(state->settings_lock);
  switch (prop_id) {
  case PROP_THRESHOLD:
    g_value_set_double(value, state->settings.threshold);
    break;
  case PROP_MIN_SHOT_LENGTH:
    g_value_set_uint64(value, state->settings.min_shot_length);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
}

static gboolean gst_montage_scene_start(GstBaseTransform *trans)
{
  SceneState *state = GST_MONTAGE_SCENE(trans)->state;
  reset_stream(state);
  state->cut_count = 0;
  return TRUE;
}

static gboolean gst_montage_scene_stop(GstBaseTransform *trans)
{
  SceneState *state = GST_MONTAGE_SCENE(trans)->state;
  reset_stream(state);
  state->have_info = false;
  state->hsv.release();
  return TRUE;
}

static gboolean gst_montage_scene_set_caps(GstBaseTransform *trans, GstCaps *incaps, GstCaps *)
{
  SceneState *state = GST_MONTAGE_SCENE(trans)->state;
  GstVideoInfo info;
  if (!gst_video_info_from_caps(&info, incaps)) {
    GST_ELEMENT_ERROR(trans, CORE, NEGOTIATION,
                      ("montagescene was given video caps it cannot read."),
                      ("caps: %" GST_PTR_FORMAT, incaps));
    return FALSE;
  }
  state->info = info;
  state->have_info = true;
  const bool luma_only = GST_VIDEO_INFO_IS_GRAY(&info);
  if (luma_only != state->luma_only) {
    /* Greyscale has no hue or saturation: score luma alone, so that the
     * threshold means the same change as on colour video. */
    state->luma_only = luma_only;
    state->detector = montage::SceneDetector(
        state->detector.settings(), std::make_unique<montage::ContentScorer>(
                                        luma_only ? montage::ContentScorer::kLumaOnly
                                                  : montage::ContentScorer::kDefaultWeights));
  }
  GST_DEBUG_OBJECT(trans, "analysing %dx%d %s", info.width, info.height,
                   gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(&info)));
  return TRUE;
}

static gboolean gst_montage_scene_sink_event(GstBaseTransform *trans, GstEvent *event)
{
  switch (GST_EVENT_TYPE(event)) {
  case GST_EVENT_FLUSH_STOP:
  case GST_EVENT_SEGMENT:
    /* Serialized: the stream lock is held, no frame is being analysed. */
    reset_stream(GST_MONTAGE_SCENE(trans)->state);
    break;
  default:
    break;
  }
  return GST_BASE_TRANSFORM_CLASS(gst_montage_scene_parent_class)->sink_event(trans, event);
}

/* Sends the force-key-unit event and posts the message for a cut on buf. */
static void gst_montage_scene_announce_cut(GstMontageScene *self, GstBuffer *buf, double score)
{
  GstBaseTransform *trans = GST_BASE_TRANSFORM(self);
  SceneState *state = self->state;
  const GstClockTime pts = GST_BUFFER_PTS(buf);
  GstClockTime stream_time = GST_CLOCK_TIME_NONE;
  GstClockTime running_time = GST_CLOCK_TIME_NONE;
  if (GST_CLOCK_TIME_IS_VALID(pts) && trans->segment.format == GST_FORMAT_TIME) {
    stream_time = gst_segment_to_stream_time(&trans->segment, GST_FORMAT_TIME, pts);
    running_time = gst_segment_to_running_time(&trans->segment, GST_FORMAT_TIME, pts);
  }

  state->cut_count++;
  GST_INFO_OBJECT(self,
                  "cut #%u at %" GST_TIME_FORMAT " (running time %" GST_TIME_FORMAT "), score %.2f",
                  state->cut_count, GST_TIME_ARGS(pts), GST_TIME_ARGS(running_time), score);

  GstEvent *fku = gst_video_event_new_downstream_force_key_unit(pts, stream_time, running_time,
                                                                TRUE, state->cut_count);
  if (!gst_pad_push_event(GST_BASE_TRANSFORM_SRC_PAD(trans), fku))
    GST_DEBUG_OBJECT(self, "nobody downstream handled the force-key-unit event");

  GstStructure *s =
      gst_structure_new("montage-scene", "timestamp", G_TYPE_UINT64, (guint64)pts, "stream-time",
                        G_TYPE_UINT64, (guint64)stream_time, "running-time", G_TYPE_UINT64,
                        (guint64)running_time, "score", G_TYPE_DOUBLE, score, NULL);
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
}

static GstFlowReturn gst_montage_scene_transform_ip(GstBaseTransform *trans, GstBuffer *buf)
{
  GstMontageScene *self = GST_MONTAGE_SCENE(trans);
  SceneState *state = self->state;
  if (!state->have_info) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION,
                      ("montagescene received video before its format was negotiated."),
                      ("no caps event before the first buffer"));
    return GST_FLOW_NOT_NEGOTIATED;
  }

  GstVideoFrame frame;
  if (!gst_video_frame_map(&frame, &state->info, buf, GST_MAP_READ)) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED,
                      ("montagescene could not read a video frame: its size does not match the "
                       "negotiated caps."),
                      ("gst_video_frame_map failed on %" GST_PTR_FORMAT, buf));
    return GST_FLOW_ERROR;
  }
  montage::FrameView view;
  bool ok = frame_view(&frame, view) && state->builder.build(view, state->hsv);
  gst_video_frame_unmap(&frame);
  if (!ok) {
    GST_ELEMENT_ERROR(self, STREAM, FORMAT,
                      ("montagescene could not analyse a %s frame; convert the video with "
                       "videoconvert first.",
                       gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(&state->info))),
                      (NULL));
    return GST_FLOW_ERROR;
  }

  {
    std::lock_guard<std::mutex> lock(state->settings_lock);
    state->detector.set_settings(state->settings);
  }
  const montage::SceneDecision d = state->detector.push(state->hsv, GST_BUFFER_PTS(buf));
  GST_LOG_OBJECT(self, "frame %" GST_TIME_FORMAT " score %.2f%s",
                 GST_TIME_ARGS(GST_BUFFER_PTS(buf)), d.score, d.cut ? " CUT" : "");
  if (d.cut)
    gst_montage_scene_announce_cut(self, buf, d.score);
  return GST_FLOW_OK;
}

static void gst_montage_scene_finalize(GObject *object)
{
  GstMontageScene *self = GST_MONTAGE_SCENE(object);
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

  gobject_class->set_property = gst_montage_scene_set_property;
  gobject_class->get_property = gst_montage_scene_get_property;
  gobject_class->finalize = gst_montage_scene_finalize;

  /**
   * GstMontageScene:threshold:
   *
   * Content score (0-255: mean absolute HSV difference to the previous frame,
   * averaged over H, S and V) at or above which a frame starts a new shot.
   * Default 27, PySceneDetect's ContentDetector default, which also separates
   * the true cuts from the other frame changes in this project's sample clips
   * (docs/montagescene.md). Lower finds more soft cuts and more false ones.
   */
  g_object_class_install_property(
      gobject_class, PROP_THRESHOLD,
      g_param_spec_double(
          "threshold", "Threshold",
          "Content score (0-255, mean absolute HSV difference to the previous frame) at or above "
          "which a frame starts a new shot; default from PySceneDetect's ContentDetector",
          0.0, 255.0, kDefaultThreshold,
          (GParamFlags)(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING)));

  /**
   * GstMontageScene:min-shot-length:
   *
   * Minimum shot length in nanoseconds: a cut less than this after the
   * previous cut (or after the first frame since start, flush or new segment)
   * is not reported. Default 500 ms, PySceneDetect's min_scene_len of 15
   * frames at 30 fps. 0 reports every frame over the threshold.
   */
  g_object_class_install_property(
      gobject_class, PROP_MIN_SHOT_LENGTH,
      g_param_spec_uint64(
          "min-shot-length", "Minimum shot length",
          "Minimum shot length in nanoseconds: a cut closer than this to the previous cut (or to "
          "the stream start) is not reported; default 15 frames at 30 fps, as PySceneDetect",
          0, G_MAXUINT64, kDefaultMinShotLength,
          (GParamFlags)(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING)));

  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(
      element_class, "Montage shot-cut detector", "Filter/Analyzer/Video",
      "Finds hard cuts frame-accurately, posts a montage-scene message per cut and asks "
      "downstream encoders for a keyframe on the cut frame; passes video through untouched",
      "gst-montage developers");

  trans_class->start = GST_DEBUG_FUNCPTR(gst_montage_scene_start);
  trans_class->stop = GST_DEBUG_FUNCPTR(gst_montage_scene_stop);
  trans_class->set_caps = GST_DEBUG_FUNCPTR(gst_montage_scene_set_caps);
  trans_class->sink_event = GST_DEBUG_FUNCPTR(gst_montage_scene_sink_event);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR(gst_montage_scene_transform_ip);
  trans_class->transform_ip_on_passthrough = TRUE;
  trans_class->passthrough_on_same_caps = FALSE;
}

static void gst_montage_scene_init(GstMontageScene *self)
{
  self->state = new SceneState();
  gst_video_info_init(&self->state->info);
  gst_base_transform_set_passthrough(GST_BASE_TRANSFORM(self), TRUE);
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
}
