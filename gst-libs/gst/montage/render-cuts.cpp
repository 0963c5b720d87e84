/* The cut-only render path (RenderPath::kCuts); see render.h.
 *
 * Why it exists: GES renders every output frame through nlecomposition, a
 * compositor and an audiomixer, and builds a fresh decoder for each segment.
 * A plan with only hard cuts needs none of that. Here each clip gets one
 * decoding pipeline (uridecodebin ! videoconvertscale ! appsink) that stays
 * alive for the whole render and is seeked (FLUSH | ACCURATE) to each of its
 * segments, and the next segment's seek is issued while the current one is
 * still being encoded, so decoding from the keyframe before an in-point
 * overlaps with encoding. The calling thread places decoded frames on the
 * output frame grid (below) and pushes them, together with the song cut to
 * the plan's length and faded out, into encodebin with the same profile the
 * GES path uses.
 *
 * Frame placement matches GES's: output frame k of a segment shows the source
 * frame whose stream time is nearest to in-point + (k-th output frame time -
 * segment start), ties going to the earlier frame, as videorate does inside
 * a GES video source. Frame counts per segment come from the segment's start
 * and end on the output grid, never from a running sum.
 */
#include <gst/montage/render-private.h>

#include <gst/montage/encoder.h>
#include <gst/montage/frameplacer-private.h>
#include <gst/montage/mp4priming.h>

#include <gst/base/gstaggregator.h>
#include <gst/video/gstvideodecoder.h>
#include <gst/video/video.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

GST_DEBUG_CATEGORY_STATIC(montage_render_cuts_debug);
#define GST_CAT_DEFAULT montage_render_cuts_debug

namespace montage {
namespace render_detail {

namespace {

constexpr gint kAudioRate = 48000;
constexpr gint kAudioChannels = 2;
/* Decoded frames an idle clip pipeline may hold ahead of the encoder. */
constexpr guint kDecodedAhead = 4;
/* Raw frames queued in front of the encoder. */
constexpr guint64 kEncoderQueue = 8;
/* Clip pipelines kept alive at once; the least recently used goes first. */
constexpr size_t kMaxDecoders = 8;
/* How far the song is pushed ahead of the video, ns. */
constexpr GstClockTime kAudioLead = 500 * GST_MSECOND;
/* Segments whose seeks are issued ahead of their turn (each on its own
 * clip's pipeline), so decoding to their in-points overlaps encoding. */
constexpr size_t kLookahead = 3;
/* A clip's next segment starting at most this far after where decoding
 * stands is reached by decoding on instead of seeking. */
constexpr GstClockTime kContinueWindow = GST_SECOND;
/* An MPEG program stream is sought this far before an in-point, without
 * ACCURATE, and decoded on from there (docs/render.md, "Seeks that land
 * late"). */
constexpr GstClockTime kProgramStreamBack = 10 * GST_SECOND;
/* A hole in the song's timestamps longer than this is filled with silence;
 * shorter ones are decoders' rounding, and samples follow on. */
constexpr GstClockTime kSongGapTolerance = 20 * GST_MSECOND;
/* The same in samples at kAudioRate. */
constexpr guint64 kSongGapToleranceSamples = kSongGapTolerance * kAudioRate / GST_SECOND;
/* Silence is pushed in pieces of at most this many samples. */
constexpr guint64 kSilenceChunk = 4800;
/* A clip pipeline that has not prerolled this long after its turn came. */
constexpr gint64 kPrerollUs = 10 * G_USEC_PER_SEC;

GstClockTime abs_diff(GstClockTime a, GstClockTime b)
{
  return a > b ? a - b : b - a;
}

/* Sets `error` and `source` (reffed, may be NULL) from an ERROR message and
 * unrefs it. */
void take_error(GstMessage *msg, GError **error, GstObject **source)
{
  GError *err = nullptr;
  gchar *debug = nullptr;
  gst_message_parse_error(msg, &err, &debug);
  GST_WARNING("error from %s: %s (%s)", GST_MESSAGE_SRC_NAME(msg), err->message,
              GST_STR_NULL(debug));
  if (source)
    *source = GST_MESSAGE_SRC(msg) ? GST_OBJECT(gst_object_ref(GST_MESSAGE_SRC(msg))) : nullptr;
  g_propagate_error(error, err);
  g_free(debug);
  gst_message_unref(msg);
}

/* Takes the first ERROR message off `bus` within `timeout`, as take_error(). */
bool pop_error(GstBus *bus, GstClockTime timeout, GError **error, GstObject **source = nullptr)
{
  GstMessage *msg = gst_bus_timed_pop_filtered(bus, timeout, GST_MESSAGE_ERROR);
  if (!msg)
    return false;
  take_error(msg, error, source);
  return true;
}

/* The caps of the stream on `pad` (a raw video pad uridecodebin exposed),
 * reffed, or NULL: those stored on the element pad behind the ghost pads,
 * since uridecodebin's ghost pads have none yet when it says "pad-added". */
GstCaps *decoded_caps(GstPad *pad)
{
  GstPad *inner = GST_PAD(gst_object_ref(pad));
  while (GST_IS_GHOST_PAD(inner)) {
    GstPad *target = gst_ghost_pad_get_target(GST_GHOST_PAD(inner));
    if (!target)
      break;
    gst_object_unref(inner);
    inner = target;
  }
  GstCaps *caps = gst_pad_get_current_caps(inner);
  gst_object_unref(inner);
  return caps;
}

/* Whether `caps` (may be NULL) are interlaced: an interlace-mode other than
 * progressive (interleaved, mixed, fields, alternate), as
 * gst_discoverer_video_info_is_interlaced() judges the stream GES
 * deinterlaces. */
bool interlaced_caps(GstCaps *caps)
{
  if (!caps || gst_caps_get_size(caps) == 0)
    return false;
  const gchar *mode = gst_structure_get_string(gst_caps_get_structure(caps, 0), "interlace-mode");
  return mode && g_strcmp0(mode, "progressive") != 0;
}

/* Whether `caps` (may be NULL) are raw video in a format with alpha. */
bool alpha_caps(GstCaps *caps)
{
  GstVideoInfo info;
  return caps && gst_video_info_from_caps(&info, caps) && GST_VIDEO_INFO_HAS_ALPHA(&info);
}

/* Pad probe on the source pad of the capsfilter that makes a clip with
 * alpha AYUV (streaming thread): each frame put over black, as GES's
 * compositor does over its black background (blended in AYUV there too):
 * Y, U and V go from black's (Y 16, or 0 in full range; U and V 128) to
 * their own in proportion to alpha (0-255, rounded to nearest), and alpha
 * becomes 255. `user_data`: the GstVideoInfo of the caps, set from the
 * CAPS event. */
GstPadProbeReturn over_black(GstPad *, GstPadProbeInfo *info, gpointer user_data)
{
  auto *vinfo = static_cast<GstVideoInfo *>(user_data);
  if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent *event = GST_PAD_PROBE_INFO_EVENT(info);
    if (GST_EVENT_TYPE(event) == GST_EVENT_CAPS) {
      GstCaps *caps = nullptr;
      gst_event_parse_caps(event, &caps);
      if (!gst_video_info_from_caps(vinfo, caps))
        gst_video_info_init(vinfo);
    }
    return GST_PAD_PROBE_OK;
  }
  if (GST_VIDEO_INFO_FORMAT(vinfo) != GST_VIDEO_FORMAT_AYUV)
    return GST_PAD_PROBE_OK;
  GstBuffer *buf = gst_buffer_make_writable(GST_PAD_PROBE_INFO_BUFFER(info));
  GST_PAD_PROBE_INFO_DATA(info) = buf;
  GstVideoFrame frame;
  if (!gst_video_frame_map(&frame, vinfo, buf, GST_MAP_READWRITE))
    return GST_PAD_PROBE_OK;
  const int black_y =
      GST_VIDEO_INFO_COLORIMETRY(vinfo).range == GST_VIDEO_COLOR_RANGE_0_255 ? 0 : 16;
  const int black[4] = {255, black_y, 128, 128}; /* A, Y, U, V */
  const gint width = GST_VIDEO_FRAME_WIDTH(&frame), height = GST_VIDEO_FRAME_HEIGHT(&frame);
  const gint stride = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0);
  auto *data = static_cast<guint8 *>(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0));
  for (gint y = 0; y < height; y++) {
    guint8 *p = data + (gsize)y * stride;
    for (gint x = 0; x < width; x++, p += 4) {
      const int a = p[0];
      if (a == 255)
        continue;
      for (int c = 1; c < 4; c++) {
        const int d = (p[c] - black[c]) * a;
        p[c] = (guint8)(black[c] + (d >= 0 ? d + 127 : d - 127) / 255);
      }
      p[0] = 255;
    }
  }
  gst_video_frame_unmap(&frame);
  return GST_PAD_PROBE_OK;
}

/* Data of route_colour(): the capsfilter in front of a clip pipeline's last
 * videoconvert (owned by the pipeline) and the decoders' output caps (I420
 * at the output size, with output_colorimetry()). */
struct ColourRoute {
  GstElement *filter = nullptr;
  GstCaps *out = nullptr;
  ColourRoute(GstElement *f, GstCaps *caps) : filter(f), out(gst_caps_ref(caps)) {}
  ~ColourRoute() { gst_caps_unref(out); }
  ColourRoute(const ColourRoute &) = delete;
  ColourRoute &operator=(const ColourRoute &) = delete;
};

/* Pad probe on the sink pad of a clip pipeline's videoconvertscale
 * (streaming thread; `user_data` a ColourRoute): on each CAPS event, sets
 * the capsfilter after it to ARGB64 at the output size where the frames'
 * range or matrix differs from the output's, else to the output caps
 * (the last videoconvert then passes them through untouched).
 *
 * Why: GStreamer's video converter (1.22; a newer video-converter.c reads
 * alike) leaves the range alone whenever the input and output matrix are
 * the same: video-converter.c's chain_convert() prepares its matrix only
 * when the matrices or the primaries differ, and its fast paths
 * (video_converter_lookup_fastpath()) check the matrix but not the range.
 * So a full-range BT.601 clip (jpegdec's MJPEG, `colorimetry=1:4:0:0`) at
 * an SD output size, or a full-range BT.709 one at an HD size, kept its
 * full range under caps that say limited: blacks crushed, whites clipped
 * (a grey ramp 0, 17, ... 255 came out 0, 1, 21, 41, ... 239, 255, 255;
 * trial h113). Where the matrices do differ, its 8-bit matrix is coarse:
 * a BT.709 clip converted to BT.601 at 320x180 or 640x360 came out up to
 * 2 levels darker (grey Y 179, U and V 127 became 177; RGB channel means
 * of SMPTE bars 1.8, 0.9 and 1.9 levels below the clip's). Through 16-bit
 * RGB both steps are real conversions in 16 bits: the ramp comes out
 * within a level of 16, 30.6, ... 235 and the bars' means within 0.5 of
 * the clip's (docs/render.md). Values outside the RGB cube (a limited-range clip's
 * super-whites) are clipped on the way, as in an RGB editor. It costs the
 * mismatched clips only: CPU time over decoding and scaling alone, for 150
 * frames of a 720p clip (gst-launch, user time, best of 3), 0.38 s against
 * the 8-bit conversion's 0.23 s at 640x360, 1.03 s against 0.25 s at
 * 1280x720. */
GstPadProbeReturn route_colour(GstPad *, GstPadProbeInfo *info, gpointer user_data)
{
  auto *route = static_cast<ColourRoute *>(user_data);
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT(info);
  if (GST_EVENT_TYPE(event) != GST_EVENT_CAPS)
    return GST_PAD_PROBE_OK;
  GstCaps *caps = nullptr;
  gst_event_parse_caps(event, &caps);
  GstVideoInfo in, out;
  if (!gst_video_info_from_caps(&in, caps) || !gst_video_info_from_caps(&out, route->out))
    return GST_PAD_PROBE_OK;
  const bool convert = in.colorimetry.range != out.colorimetry.range ||
                       in.colorimetry.matrix != out.colorimetry.matrix;
  GstCaps *want = convert ? gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "ARGB64",
                                                "width", G_TYPE_INT, GST_VIDEO_INFO_WIDTH(&out),
                                                "height", G_TYPE_INT, GST_VIDEO_INFO_HEIGHT(&out),
                                                "pixel-aspect-ratio", GST_TYPE_FRACTION, 1, 1, NULL)
                          : gst_caps_ref(route->out);
  g_object_set(route->filter, "caps", want, NULL);
  gst_caps_unref(want);
  GST_DEBUG("%" GST_PTR_FORMAT ": %s", caps, convert ? "through ARGB64" : "as it is");
  return GST_PAD_PROBE_OK;
}

/* uridecodebin ! CONVERT ! capsfilter(caps) ! appsink, decoding only the
 * streams that match `raw` ("video/x-raw" or "audio/x-raw").
 *
 * With `video`, an interlaced video stream (interlaced_caps()) goes
 * through videoconvert ! deinterlace, with deinterlace's defaults, in
 * front of CONVERT, as GES 1.22's video URI source puts them in front of
 * its videoflip and scaler for a stream its discoverer calls interlaced
 * (ges-video-uri-source.c): mode auto (the frames flagged or capped as
 * interlaced), method linear, fields all (one frame per field: 50 per
 * second from 25 interlaced ones), field order from the caps and buffers.
 * The frame placement below then picks among those frames as GES's
 * videorate does. A stream in a format with alpha (QuickTime Animation
 * ARGB, ProRes 4444, VP9 with alpha) then goes through videoconvert !
 * capsfilter(AYUV) and is put over black there (over_black()), as GES's
 * compositor puts every clip over its black background: converting it to
 * I420 kept the colours under transparent pixels. A progressive stream
 * without alpha gets none of these elements. */
struct DecodePipeline {
  GstElement *pipeline = nullptr;
  GstElement *source = nullptr; /* uridecodebin, owned by pipeline */
  GstElement *first = nullptr; /* the first converter, owned by pipeline */
  std::vector<GstElement *> converters; /* all of them, in order, owned by pipeline */
  GstElement *sink = nullptr;  /* owned by pipeline */
  GstBus *bus = nullptr;
  bool video = false; /* deinterlace and put over black (set before it runs) */
  /* The uridecodebin pad linked (not reffed; streaming thread). */
  std::atomic<GstPad *> linked{nullptr};

  DecodePipeline(const std::string &uri, const char *raw,
                 std::initializer_list<const char *> convert, GstCaps *caps, guint max_buffers)
  {
    pipeline = gst_pipeline_new(nullptr);
    bus = gst_element_get_bus(pipeline);
    GstElement *dec = gst_element_factory_make("uridecodebin", nullptr);
    GstElement *filter = gst_element_factory_make("capsfilter", nullptr);
    sink = gst_element_factory_make("appsink", nullptr);
    std::vector<GstElement *> chain;
    bool made = dec && filter && sink;
    for (const char *name : convert) {
      GstElement *e = gst_element_factory_make(name, nullptr);
      made = made && e;
      if (e)
        chain.push_back(e);
    }
    if (!made) {
      for (GstElement *e : chain)
        gst_object_unref(gst_object_ref_sink(e));
      for (GstElement *e : {dec, filter, sink})
        if (e)
          gst_object_unref(gst_object_ref_sink(e));
      sink = nullptr;
      return;
    }
    GstCaps *want = gst_caps_from_string(raw);
    g_object_set(dec, "uri", uri.c_str(), "caps", want, "expose-all-streams", FALSE, NULL);
    gst_caps_unref(want);
    g_object_set(filter, "caps", caps, NULL);
    g_object_set(sink, "sync", FALSE, "max-buffers", max_buffers, "enable-last-sample", FALSE,
                 NULL);
    gst_bin_add_many(GST_BIN(pipeline), dec, filter, sink, NULL);
    for (GstElement *e : chain)
      gst_bin_add(GST_BIN(pipeline), e);
    chain.push_back(filter);
    chain.push_back(sink);
    for (size_t i = 0; i + 1 < chain.size(); i++)
      gst_element_link(chain[i], chain[i + 1]);
    decode_alpha_streams(dec);
    g_signal_connect(dec, "pad-added", G_CALLBACK(on_pad_added), this);
    source = dec;
    first = chain.front();
    converters.assign(chain.begin(), chain.end() - 2);
  }
  ~DecodePipeline()
  {
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(bus);
    gst_object_unref(pipeline);
  }
  DecodePipeline(const DecodePipeline &) = delete;
  DecodePipeline &operator=(const DecodePipeline &) = delete;

  bool usable() const { return sink != nullptr; }

  /* "pad-added" of uridecodebin: the first pad goes to `first`, through
   * videoconvert ! deinterlace where the stream is interlaced, then
   * videoconvert ! capsfilter(AYUV) with over_black() where it has alpha,
   * when the pipeline takes video. */
  static void on_pad_added(GstElement *, GstPad *pad, gpointer user_data)
  {
    auto *self = static_cast<DecodePipeline *>(user_data);
    GstPad *sink = gst_element_get_static_pad(self->first, "sink");
    if (gst_pad_is_linked(sink)) {
      gst_object_unref(sink);
      return;
    }
    std::vector<const char *> names;
    GstCaps *caps = self->video ? decoded_caps(pad) : nullptr;
    const bool interlaced = interlaced_caps(caps), alpha = alpha_caps(caps);
    if (caps)
      gst_caps_unref(caps);
    if (interlaced)
      names.insert(names.end(), {"videoconvert", "deinterlace"});
    if (alpha)
      names.insert(names.end(), {"videoconvert", "capsfilter"});
    std::vector<GstElement *> front;
    for (const char *name : names)
      if (GstElement *e = gst_element_factory_make(name, nullptr))
        front.push_back(e);
    if (front.size() != names.size()) {
      GST_WARNING("cannot make %s for %s:%s: shown as decoded",
                  interlaced ? "videoconvert ! deinterlace" : "videoconvert ! capsfilter",
                  GST_DEBUG_PAD_NAME(pad));
      for (GstElement *e : front)
        gst_object_unref(gst_object_ref_sink(e));
      front.clear();
    }
    if (!front.empty()) {
      if (alpha) {
        GstElement *filter = front.back();
        GstCaps *ayuv = gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "AYUV", NULL);
        g_object_set(filter, "caps", ayuv, NULL);
        gst_caps_unref(ayuv);
        GstPad *src = gst_element_get_static_pad(filter, "src");
        auto *vinfo = gst_video_info_new();
        gst_pad_add_probe(
            src, (GstPadProbeType)(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
            over_black, vinfo, (GDestroyNotify)gst_video_info_free);
        gst_object_unref(src);
      }
      for (GstElement *e : front)
        gst_bin_add(GST_BIN(self->pipeline), e);
      front.push_back(self->first);
      for (size_t i = 0; i + 1 < front.size(); i++)
        gst_element_link(front[i], front[i + 1]);
      for (size_t i = front.size() - 1; i-- > 0;)
        gst_element_sync_state_with_parent(front[i]);
      gst_object_unref(sink);
      sink = gst_element_get_static_pad(front.front(), "sink");
      GST_DEBUG("%s:%s:%s%s", GST_DEBUG_PAD_NAME(pad), interlaced ? " deinterlaced" : "",
                alpha ? " put over black" : "");
    }
    if (gst_pad_link(pad, sink) == GST_PAD_LINK_OK)
      self->linked.store(pad);
    else
      GST_WARNING("cannot link %s:%s", GST_DEBUG_PAD_NAME(pad));
    gst_object_unref(sink);
  }

  /* The next sample within `timeout` (ns), or NULL at EOS or on timeout. */
  GstSample *pull(GstClockTime timeout)
  {
    GstSample *sample = nullptr;
    g_signal_emit_by_name(sink, "try-pull-sample", timeout, &sample);
    return sample;
  }
  bool at_eos()
  {
    gboolean eos = FALSE;
    g_object_get(sink, "eos", &eos, NULL);
    return eos;
  }
};

/* One clip's decoding pipeline, moved from one segment to the next: seeked
 * (FLUSH | ACCURATE, no stop) to each in-point, except that a segment
 * starting at most kContinueWindow after where the previous one stopped is
 * reached by decoding on, which costs a few frames where a seek would decode
 * from the keyframe before the in-point (a whole GOP on long-GOP footage). */
class ClipDecoder {
public:
  /* `frame`: the clip's frame duration, ns (a guess when unknown);
   * `grid`: the same as the clip's analysis measured it (0: a variable or
   * unknown rate; analysed_frame_duration());
   * `first_frame`: stream time of its first frame;
   * `stall_us`: how long it may produce nothing before it has stalled. */
  ClipDecoder(const std::string &uri, gint width, gint height, GstClockTime frame,
              GstClockTime grid, GstClockTime first_frame, gint64 stall_us, Interrupt &interrupt)
      : uri_(uri), width_(width), height_(height), frame_(frame), grid_(grid),
        first_frame_(first_frame), stall_us_(stall_us), interrupt_(interrupt)
  {
    build();
  }
  ~ClipDecoder()
  {
    drop_held();
    forget_placing();
  }
  ClipDecoder(const ClipDecoder &) = delete;
  ClipDecoder &operator=(const ClipDecoder &) = delete;

  const std::string &uri() const { return uri_; }
  guint64 last_used = 0;
  guint seeks = 0; /* seeks issued (and restarts of a transport stream), for the log */

private:
  /* Makes the decoding pipeline (pipe_), in NULL. */
  void build()
  {
    const gint width = width_, height = height_;
    gchar *colorimetry = output_colorimetry(width, height);
    GstCaps *caps = gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "I420", "width",
                                        G_TYPE_INT, width, "height", G_TYPE_INT, height,
                                        "pixel-aspect-ratio", GST_TYPE_FRACTION, 1, 1,
                                        "colorimetry", G_TYPE_STRING, colorimetry, NULL);
    g_free(colorimetry);
    /* videoflip turns the picture upright where the container says it is
     * stored turned (the image-orientation tag: phones' portrait clips), as
     * GES's video sources do; videoconvert before it only converts a format
     * videoflip lacks (else passthrough), and videoconvertscale keeps the
     * display aspect ratio with black borders (add-borders defaults to TRUE),
     * as GES's positioner does. The capsfilter and videoconvert after it
     * convert the colours where the clip's range or matrix differs from
     * the output's (through ARGB64: route_colour()), else pass through. */
    pipe_ = std::make_unique<DecodePipeline>(
        uri_, "video/x-raw(ANY)",
        std::initializer_list<const char *>{"videoconvert", "videoflip", "videoconvertscale",
                                            "capsfilter", "videoconvert"},
        caps, kDecodedAhead);
    pipe_->video = true;
    if (pipe_->usable()) {
      gst_util_set_object_arg(G_OBJECT(pipe_->converters[1]), "video-direction", "auto");
      g_object_set(pipe_->converters[3], "caps", caps, NULL);
      GstPad *pad = gst_element_get_static_pad(pipe_->converters[2], "sink");
      gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, route_colour,
                        new ColourRoute(pipe_->converters[3], caps),
                        [](gpointer data) { delete static_cast<ColourRoute *>(data); });
      gst_object_unref(pad);
    }
    gst_caps_unref(caps);
    gst_segment_init(&probe_segment_, GST_FORMAT_UNDEFINED);
    if (pipe_->usable()) {
      g_signal_connect(pipe_->pipeline, "deep-element-added", G_CALLBACK(on_element), this);
      g_signal_connect(pipe_->source, "pad-added", G_CALLBACK(on_pad), this);
    }
    if (pipe_->usable()) {
      GstPad *pad = gst_element_get_static_pad(pipe_->first, "sink");
      gst_pad_add_probe(
          pad, (GstPadProbeType)(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
          drop_early, this, nullptr);
      gst_object_unref(pad);
    }
  }

public:
  /* Asks for the frames from `start` on (clip stream time): decoding on from
   * the current position, or a seek issued now when the pipeline runs, or as
   * soon as it has prerolled. Never blocks. */
  bool request(GstClockTime start, GError **error)
  {
    start_ = start;
    if (!pipe_->usable()) {
      g_set_error(error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
                  "cannot create uridecodebin/videoconvert/videoflip/videoconvertscale/capsfilter/"
                  "appsink to decode %s",
                  uri_.c_str());
      return false;
    }
    switch (state_) {
    case State::kIdle:
      state_ = State::kPrerolling;
      if (gst_element_set_state(pipe_->pipeline, GST_STATE_PAUSED) == GST_STATE_CHANGE_FAILURE)
        return fail(error);
      return true;
    case State::kPrerolling:
      return true;
    case State::kRunning: {
      /* Where decoding stands: the frame given back, else the last one out.
       * Continuing is exact when no frame nearer to `start` than that one
       * has gone by, i.e. it lies at most half a frame past `start`. */
      GstClockTime pos = !held_.empty()       ? held_.front().second
                         : !released_.empty() ? released_.front().second
                                              : placer_.last();
      if (GST_CLOCK_TIME_IS_VALID(pos) && pos <= start + frame_ / 2 &&
          (start < pos + kContinueWindow || inaccurate_ || demux_.load() == Demux::kTransport) &&
          !pipe_->at_eos()) {
        drop_before(start);
        return true;
      }
      return seek(error);
    }
    }
    return true;
  }

  /* Moves a prerolled pipeline on to its seek; never blocks. False with
   * `error` when the clip cannot be decoded or sought. */
  bool poll(GError **error)
  {
    if (pop_error(pipe_->bus, 0, error))
      return false;
    if (state_ != State::kPrerolling)
      return true;
    GstState cur = GST_STATE_NULL;
    GstStateChangeReturn ret = gst_element_get_state(pipe_->pipeline, &cur, nullptr, 0);
    if (ret == GST_STATE_CHANGE_FAILURE)
      return fail(error);
    if (ret != GST_STATE_CHANGE_SUCCESS || cur < GST_STATE_PAUSED)
      return true;
    state_ = State::kRunning;
    return seek(error);
  }

  /* The next decoded frame and its stream time: 1, 0 at the end of the
   * clip, -1 with `error` set when decoding fails or stalls. */
  int pull(GstBuffer **frame, GstClockTime *stream_time, GError **error)
  {
    gint64 since = g_get_monotonic_time();
    for (;;) {
      /* Frames given back, then frames FramePlacer released, come first. */
      for (auto *queue : {&held_, &released_}) {
        if (!queue->empty()) {
          *frame = queue->front().first;
          *stream_time = queue->front().second;
          queue->pop_front();
          return 1;
        }
      }
      if (interrupt_.check(error) || !poll(error))
        return -1;
      if (state_ == State::kRunning) {
        /* A frame put back behind the held ones it released comes first. */
        GstSample *sample = stashed_ ? stashed_ : pipe_->pull(20 * GST_MSECOND);
        stashed_ = nullptr;
        if (sample) {
          GstBuffer *buf = gst_sample_get_buffer(sample);
          const GstSegment *seg = gst_sample_get_segment(sample);
          GstClockTime t =
              buf && seg && GST_BUFFER_PTS_IS_VALID(buf)
                  ? gst_segment_to_stream_time(seg, GST_FORMAT_TIME, GST_BUFFER_PTS(buf))
                  : GST_CLOCK_TIME_NONE;
          /* A frame the decoder clipped to the seek's target is put back
           * where it starts, and lasts its whole frame. */
          const GstClockTime clipped = t;
          GstClockTime whole = 0; /* the put-back frame's length */
          if (buf && seg && GST_CLOCK_TIME_IS_VALID(t)) {
            const GstClockTime off =
                clipped_off(buf, *seg, grid_, caps_frame_duration(gst_sample_get_caps(sample)),
                            decoder_input().get());
            t = t > off ? t - off : 0;
            whole = off + (GST_BUFFER_DURATION_IS_VALID(buf) ? GST_BUFFER_DURATION(buf) : 0);
          }
          if (t != clipped)
            GST_LOG("%s: frame clipped to %" GST_TIME_FORMAT " starts at %" GST_TIME_FORMAT,
                    uri_.c_str(), GST_TIME_ARGS(clipped), GST_TIME_ARGS(t));
          if (GST_CLOCK_TIME_IS_VALID(t) && verify_) {
            verify_ = false;
            /* An ACCURATE seek that lands late (MPEG program streams do):
             * decode from the start instead, for this and later segments. */
            const GstClockTime want = std::max(start_, first_frame_);
            if (t > want + frame_ + GST_MSECOND) {
              GST_INFO("seek to %" GST_TIME_FORMAT " in %s landed at %" GST_TIME_FORMAT,
                       GST_TIME_ARGS(start_), uri_.c_str(), GST_TIME_ARGS(t));
              gst_sample_unref(sample);
              inaccurate_ = true;
              if (!seek(error))
                return -1;
              continue;
            }
          }
          /* A frame stamped no later than the one before it (and any more
           * stamped as it): held until the next frame says whether they
           * repeat the one before (dropped) or belong one frame duration
           * (the first's own, else the clip's) after it and after one
           * another; or skipped (FramePlacer), as the clip's analysis
           * places it. Taken as they were, Megamind.avi's shared stamps
           * stopped the nearest-frame walk of render_cuts() at the first
           * such pair, and one picture showed for the rest of the segment. */
          if (placer_.settles(t)) {
            settle_placing(t);
            if (!released_.empty()) {
              stashed_ = sample;
              continue;
            }
          }
          const GstClockTime stamped = t;
          const GstClockTime step =
              t != clipped ? whole
              : GST_BUFFER_DURATION_IS_VALID(buf) && GST_BUFFER_DURATION(buf) > 0
                  ? GST_BUFFER_DURATION(buf)
                  : frame_;
          const FramePlacer::Placement placed = placer_.judge(t, step);
          if (placed.verdict == FramePlacer::Verdict::kSkip) {
            GST_LOG("%s: frame stamped %" GST_TIME_FORMAT " where the frame before was placed: "
                    "skipped",
                    uri_.c_str(), GST_TIME_ARGS(t));
            gst_sample_unref(sample);
            since = g_get_monotonic_time();
            continue;
          }
          if (placed.verdict == FramePlacer::Verdict::kHold) {
            placer_.hold(placed.at, stamped, step);
            placing_.emplace_back(gst_buffer_ref(buf), stamped);
            gst_sample_unref(sample);
            since = g_get_monotonic_time();
            continue;
          }
          t = placed.at;
          if (GST_CLOCK_TIME_IS_VALID(t)) {
            *frame = gst_buffer_ref(buf);
            *stream_time = t;
            placer_.took(t, stamped);
            gst_sample_unref(sample);
            return 1;
          }
          gst_sample_unref(sample);
          since = g_get_monotonic_time();
          continue;
        }
        if (pipe_->at_eos()) {
          /* No frame after the held ones: FramePlacer keeps the first. */
          if (placer_.holding()) {
            settle_placing(GST_CLOCK_TIME_NONE);
            continue;
          }
          return 0;
        }
      } else {
        gst_element_get_state(pipe_->pipeline, nullptr, nullptr, 20 * GST_MSECOND);
      }
      /* A clip that never prerolls and posts no error (seen, rarely, with
       * an MP4 cut short before its index) gives up sooner than a stall. */
      if (g_get_monotonic_time() - since >
          (state_ == State::kRunning ? stall_us_ : std::min(stall_us_, kPrerollUs))) {
        GST_WARNING("decoding %s stalled (state %d)", uri_.c_str(), (int)state_);
        g_set_error(error, GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED,
                    "decoding %s stalled at %" GST_TIME_FORMAT, uri_.c_str(),
                    GST_TIME_ARGS(start_));
        return -1;
      }
    }
  }

  /* Returns frames pulled but not used up (in stream order, taking
   * ownership), for a following segment of this clip that decodes on. */
  void give_back(GstBuffer *frame, GstClockTime stream_time)
  {
    held_.emplace_back(frame, stream_time);
  }

private:
  enum class State { kIdle, kPrerolling, kRunning };
  /* The demuxer of the clip's container, where its seeks need care. */
  enum class Demux { kOther, kTransport, kProgram };

  bool seek(GError **error)
  {
    drop_held();
    forget_placing();
    seeks++;
    drop_before(start_);
    const Demux demux = demux_.load();
    if (demux == Demux::kTransport) {
      /* Never sought (tsdemux maps the frames after a seek to the wrong
       * stream time): decoded on from the start of a new pipeline, where
       * stream time = PTS. */
      verify_ = false;
      if (!fresh_)
        return restart(error);
      fresh_ = false;
      if (gst_element_set_state(pipe_->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
        return fail(error);
      return true;
    }
    fresh_ = false;
    /* VP8 or VP9 with alpha is two streams, colour and alpha, each decoded
     * from its own keyframes, and the alpha stream's keyframes need not be
     * the colour stream's: libvpx (through ffmpeg) starts a colour keyframe
     * at a scene change, and none in an alpha stream that does not change.
     * A seek lands on a colour keyframe, the alpha decoder can give nothing
     * until its next keyframe, and alphacombine (1.22) waits for the alpha
     * frame of every colour frame: the pipeline stalled for good. Such a
     * clip is decoded on from its start, as one that seeks inaccurately. */
    if (split_alpha_.load())
      inaccurate_ = true;
    /* A clip known to seek inaccurately is decoded on from its start; an
     * MPEG program stream is sought kProgramStreamBack before the in-point
     * without ACCURATE (mpegpsdemux lands on the packet at the target, not
     * the keyframe before it) and decoded on to it. */
    verify_ = !inaccurate_;
    const bool program = demux == Demux::kProgram;
    const GstClockTime target =
        inaccurate_ ? 0
        : program   ? (start_ > kProgramStreamBack ? start_ - kProgramStreamBack : 0)
                    : start_;
    const GstSeekFlags flags = program
                                   ? GST_SEEK_FLAG_FLUSH
                                   : (GstSeekFlags)(GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_ACCURATE);
    if (!gst_element_seek(pipe_->pipeline, 1.0, GST_FORMAT_TIME, flags, GST_SEEK_TYPE_SET,
                          (gint64)target, GST_SEEK_TYPE_NONE, -1)) {
      if (!pop_error(pipe_->bus, 0, error))
        g_set_error(error, GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED,
                    "cannot seek to %" GST_TIME_FORMAT " in %s", GST_TIME_ARGS(start_),
                    uri_.c_str());
      return false;
    }
    if (gst_element_set_state(pipe_->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
      return fail(error);
    return true;
  }

  /* Throws the pipeline away and prerolls a new one, which starts decoding
   * from the clip's first frame without a seek (poll() then runs it). */
  bool restart(GError **error)
  {
    GST_DEBUG("%s: decoding again from the start for %" GST_TIME_FORMAT, uri_.c_str(),
              GST_TIME_ARGS(start_));
    pipe_.reset(); /* in NULL: no streaming thread reads the maps below */
    decoders_.clear();
    gst_segment_init(&probe_segment_, GST_FORMAT_UNDEFINED);
    build();
    fresh_ = true;
    state_ = State::kPrerolling;
    if (!pipe_->usable()) {
      g_set_error(error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
                  "cannot create the elements to decode %s", uri_.c_str());
      return false;
    }
    if (gst_element_set_state(pipe_->pipeline, GST_STATE_PAUSED) == GST_STATE_CHANGE_FAILURE)
      return fail(error);
    return true;
  }

  bool fail(GError **error)
  {
    if (!pop_error(pipe_->bus, 0, error))
      g_set_error(error, GST_STREAM_ERROR, GST_STREAM_ERROR_DECODE, "cannot decode %s",
                  uri_.c_str());
    return false;
  }

  /* Frames this far before a segment's start can be no output frame's
   * nearest: drop them before they are converted. */
  void drop_before(GstClockTime start)
  {
    const GstClockTime margin = std::max<GstClockTime>(2 * frame_, 100 * GST_MSECOND);
    drop_before_.store(start > margin ? start - margin : 0);
  }

  /* "deep-element-added" of the pipeline: records what enters each video
   * decoder, by which clipped_off() judges the frames of the one whose
   * stream is shown (on_pad()), and puts their frames of packed B-frames
   * where they belong (guard_packed_b_frames()). Before, only the first
   * video decoder decodebin added was watched, and a clip whose shown stream
   * was not the first to get one (two video streams, the first raw in
   * Matroska) had its frames judged by another stream's input. */
  static void on_element(GstBin *, GstBin *, GstElement *element, gpointer user_data)
  {
    auto *self = static_cast<ClipDecoder *>(user_data);
    if (GstElementFactory *factory = gst_element_get_factory(element)) {
      if (g_strcmp0(GST_OBJECT_NAME(factory), "tsdemux") == 0)
        self->demux_.store(Demux::kTransport);
      else if (g_strcmp0(GST_OBJECT_NAME(factory), "mpegpsdemux") == 0)
        self->demux_.store(Demux::kProgram);
      else if (g_strcmp0(GST_OBJECT_NAME(factory), "vp9alphadecodebin") == 0 ||
               g_strcmp0(GST_OBJECT_NAME(factory), "vp8alphadecodebin") == 0)
        self->split_alpha_.store(true);
    }
    if (GST_IS_VIDEO_DECODER(element))
      self->decoders_.add(element);
  }

  /* The video decoder that gives the stream on `pad` (a pad uridecodebin
   * exposed): the element behind its ghost pads or, where decodebin put an
   * element after the decoder (a capsfilter), the decoder up to two elements
   * upstream through their "sink" pads; NULL when none (a raw stream). Not
   * reffed: only compared against. */
  static GstElement *decoder_of(GstPad *pad)
  {
    GstPad *inner = GST_PAD(gst_object_ref(pad));
    while (inner && GST_IS_GHOST_PAD(inner)) {
      GstPad *target = gst_ghost_pad_get_target(GST_GHOST_PAD(inner));
      gst_object_unref(inner);
      inner = target;
    }
    GstElement *element = inner ? gst_pad_get_parent_element(inner) : nullptr;
    if (inner)
      gst_object_unref(inner);
    for (int hops = 0; element && !GST_IS_VIDEO_DECODER(element) && hops < 2; hops++) {
      GstPad *sink = gst_element_get_static_pad(element, "sink");
      GstPad *peer = sink ? gst_pad_get_peer(sink) : nullptr;
      gst_object_unref(element);
      element = peer ? gst_pad_get_parent_element(peer) : nullptr;
      if (peer)
        gst_object_unref(peer);
      if (sink)
        gst_object_unref(sink);
    }
    if (element && !GST_IS_VIDEO_DECODER(element))
      gst_clear_object(&element);
    if (element)
      gst_object_unref(element); /* the pipeline holds it */
    return element;
  }

  /* "pad-added" of uridecodebin, after DecodePipeline::on_pad_added(): the
   * pad linked is the stream shown, whose decoder's input decoder_input()
   * gives. */
  static void on_pad(GstElement *, GstPad *pad, gpointer user_data)
  {
    auto *self = static_cast<ClipDecoder *>(user_data);
    if (self->pipe_->linked.load() == pad) {
      GstElement *decoder = decoder_of(pad);
      GST_DEBUG("%s: the stream shown comes from %s", self->uri_.c_str(),
                decoder ? GST_OBJECT_NAME(decoder) : "no video decoder");
      self->decoders_.show(decoder);
    }
  }

  /* What enters the decoder of the stream shown (NULL: none, or not known yet). */
  std::shared_ptr<DecoderInput> decoder_input() { return decoders_.shown(); }

  /* Pad probe in front of the converter (streaming thread). */
  static GstPadProbeReturn drop_early(GstPad *, GstPadProbeInfo *info, gpointer user_data)
  {
    auto *self = static_cast<ClipDecoder *>(user_data);
    if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
      GstEvent *event = GST_PAD_PROBE_INFO_EVENT(info);
      if (GST_EVENT_TYPE(event) == GST_EVENT_SEGMENT)
        gst_event_copy_segment(event, &self->probe_segment_);
      return GST_PAD_PROBE_OK;
    }
    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
    const GstClockTime limit = self->drop_before_.load();
    if (limit == 0 || !buf || !GST_BUFFER_PTS_IS_VALID(buf) ||
        self->probe_segment_.format != GST_FORMAT_TIME)
      return GST_PAD_PROBE_OK;
    GstClockTime t =
        gst_segment_to_stream_time(&self->probe_segment_, GST_FORMAT_TIME, GST_BUFFER_PTS(buf));
    return GST_CLOCK_TIME_IS_VALID(t) && t < limit ? GST_PAD_PROBE_DROP : GST_PAD_PROBE_OK;
  }

  void drop_held()
  {
    for (auto &h : held_)
      gst_buffer_unref(h.first);
    held_.clear();
  }

  /* Decides the frames placer_ holds by the next frame's stamp `next`
   * (GST_CLOCK_TIME_NONE: none follows), as the clip's analysis does
   * (FramePlacer::settle()): the ones kept go to released_ at their places,
   * the repeats are dropped. */
  void settle_placing(GstClockTime next)
  {
    const FramePlacer::Settled settled = placer_.settle(next);
    std::deque<std::pair<GstBuffer *, GstClockTime>> placing;
    placing.swap(placing_);
    for (size_t i = 0; i < placing.size(); i++) {
      if (i < settled.kept) {
        GST_LOG("%s: frame stamped as the one before placed at %" GST_TIME_FORMAT, uri_.c_str(),
                GST_TIME_ARGS(settled.at(i)));
        placer_.took(settled.at(i), placing[i].second);
        released_.emplace_back(placing[i].first, settled.at(i));
      } else {
        GST_LOG("%s: frame stamped %" GST_TIME_FORMAT " repeats the one before: dropped",
                uri_.c_str(), GST_TIME_ARGS(placing[i].second));
        gst_buffer_unref(placing[i].first);
      }
    }
  }

  /* Forgets the frames FramePlacer holds, those it released and not yet
   * pulled, and the one stashed behind them (before a seek, or at the end). */
  void forget_placing()
  {
    placer_.reset();
    for (auto *queue : {&placing_, &released_}) {
      for (auto &f : *queue)
        gst_buffer_unref(f.first);
      queue->clear();
    }
    if (stashed_)
      gst_sample_unref(stashed_);
    stashed_ = nullptr;
  }

  std::string uri_;
  gint width_, height_;
  GstClockTime frame_;
  GstClockTime grid_;
  GstClockTime first_frame_;
  gint64 stall_us_;
  Interrupt &interrupt_;
  /* Read by the probes: declared before pipe_, so they outlive its threads. */
  DecoderInputs decoders_;                   /* what enters each video decoder, and the one shown */
  GstSegment probe_segment_;                 /* streaming thread only */
  std::atomic<GstClockTime> drop_before_{0}; /* stream time; 0: keep all */
  bool verify_ = false;                      /* check the next frame against the seek target */
  bool inaccurate_ = false;                  /* seeks land late: decode on from the start */
  std::atomic<Demux> demux_{Demux::kOther};  /* set from the streaming thread */
  std::atomic<bool> split_alpha_{false};     /* VP8/VP9 with alpha (streaming thread) */
  bool fresh_ = true;                        /* the pipeline has not been sought nor run yet */
  std::unique_ptr<DecodePipeline> pipe_;
  State state_ = State::kIdle;
  GstClockTime start_ = 0;
  FramePlacer placer_; /* the frames pulled: the last one's stream time */
  /* The frames placer_ holds (with their stamps), then those it released
   * (with their places), not yet pulled; the frame pulled after them. */
  std::deque<std::pair<GstBuffer *, GstClockTime>> placing_, released_;
  GstSample *stashed_ = nullptr;
  std::deque<std::pair<GstBuffer *, GstClockTime>> held_; /* frames given back */
};

/* The song from 0 as 48 kHz stereo F32, cut to `length` and faded out over
 * its last `fade` ns (linear gain 1 -> 0, as the GES path's volume ramp).
 *
 * Samples are placed where the decoder's timestamps put them (counted from
 * the first one), not one after the other: a song damaged part-way (bytes
 * overwritten or lost in the middle) decodes with a hole in its timestamps
 * where the damaged pages were skipped, and counting samples moved
 * everything after the hole earlier, off the beats the plan was cut to, and
 * left the song short of the plan's end. A hole of more than
 * kSongGapTolerance is filled with silence, and a song that ends (EOS)
 * before `length` is padded with silence to it, as the GES path's audio
 * track does, so the montage keeps its planned length and its cuts stay on
 * the beats after the damage (docs/render.md, "The song"). Before, the
 * muxer waited for audio up to the plan's end that never came and the
 * render failed after 30 s as "the x264enc encoder stalled". */
class SongReader {
public:
  SongReader(const std::string &uri, GstClockTime length, GstClockTime fade, gint64 stall_us,
             Interrupt &interrupt)
      : uri_(uri), interrupt_(interrupt), stall_us_(stall_us),
        total_(gst_util_uint64_scale_round(length, kAudioRate, GST_SECOND)),
        fade_(gst_util_uint64_scale_round(std::min(fade, length), kAudioRate, GST_SECOND))
  {
    GstCaps *caps = gst_caps_new_simple(
        "audio/x-raw", "format", G_TYPE_STRING, "F32LE", "rate", G_TYPE_INT, kAudioRate, "channels",
        G_TYPE_INT, kAudioChannels, "layout", G_TYPE_STRING, "interleaved", NULL);
    pipe_ = std::make_unique<DecodePipeline>(
        uri, "audio/x-raw(ANY)",
        std::initializer_list<const char *>{"audioconvert", "audioresample"}, caps, 16);
    gst_caps_unref(caps);
    if (pipe_->usable())
      downmix_to_stereo(pipe_->converters[0]); /* more than two channels: ITU-R BS.775 */
  }

  static GstCaps *caps()
  {
    return gst_caps_new_simple("audio/x-raw", "format", G_TYPE_STRING, "F32LE", "rate", G_TYPE_INT,
                               kAudioRate, "channels", G_TYPE_INT, kAudioChannels, "layout",
                               G_TYPE_STRING, "interleaved", "channel-mask", GST_TYPE_BITMASK,
                               (guint64)0x3, NULL);
  }

  ~SongReader()
  {
    if (held_)
      gst_sample_unref(held_);
  }
  SongReader(const SongReader &) = delete;
  SongReader &operator=(const SongReader &) = delete;

  bool start(GError **error)
  {
    if (!pipe_->usable()) {
      g_set_error(error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
                  "cannot create uridecodebin/audioconvert/audioresample/appsink for the song");
      return false;
    }
    if (gst_element_set_state(pipe_->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
      if (pop_error(pipe_->bus, 0, error))
        g_prefix_error(error, "cannot decode the song %s: ", uri_.c_str());
      else
        g_set_error(error, GST_STREAM_ERROR, GST_STREAM_ERROR_DECODE, "cannot decode the song %s",
                    uri_.c_str());
      return false;
    }
    return true;
  }

  bool done() const { return done_; }
  GstClockTime position() const { return gst_util_uint64_scale(pos_, GST_SECOND, kAudioRate); }

  /* The next piece of the song, timestamped from 0 by sample count, or NULL
   * at its end (done() true) or with `error` set. */
  GstBuffer *next(GError **error)
  {
    gint64 since = g_get_monotonic_time();
    while (!done_) {
      if (pending_silence_ > 0)
        return silence();
      if (interrupt_.check(error))
        return nullptr;
      if (pop_error(pipe_->bus, 0, error)) {
        g_prefix_error(error, "the song %s cannot be decoded at %.2f s: ", uri_.c_str(),
                       (double)pos_ / kAudioRate);
        return nullptr;
      }
      /* The piece after a hole comes once its silence is out. */
      GstSample *sample = held_ ? held_ : pipe_->pull(20 * GST_MSECOND);
      held_ = nullptr;
      if (!sample) {
        if (pipe_->at_eos()) {
          eos_ = true;
          pending_silence_ = total_ - pos_;
          /* An end short by no more than a hole is tolerated is padded
           * without a word: a song planned to its very end came out of the
           * resampler a few samples short of the plan's rounded length, and
           * "ends at 76.800 s, 0.000 s before the montage does (damaged or
           * cut short?)" was said of a sound file (a trial's finding). */
          if (pending_silence_ > kSongGapToleranceSamples)
            gap(pending_silence_, true);
          if (pending_silence_ > kSongGapToleranceSamples)
            GST_WARNING("the song %s ends at %.3f s, %.3f s before the plan's end: silence to it",
                        uri_.c_str(), (double)pos_ / kAudioRate,
                        (double)pending_silence_ / kAudioRate);
          else
            done_ = true;
        } else if (g_get_monotonic_time() - since > stall_us_) {
          g_set_error(error, GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED,
                      "decoding the song %s stalled at %.2f s", uri_.c_str(),
                      (double)pos_ / kAudioRate);
          return nullptr;
        }
        continue;
      }
      GstBuffer *in = gst_sample_get_buffer(sample);
      const gsize frame_bytes = sizeof(float) * kAudioChannels;
      guint64 n = in ? gst_buffer_get_size(in) / frame_bytes : 0;
      if (in && GST_BUFFER_PTS_IS_VALID(in)) {
        /* Where the decoder puts it, counted from the first piece. */
        const guint64 at = gst_util_uint64_scale_round(GST_BUFFER_PTS(in), kAudioRate, GST_SECOND);
        if (!first_pts_.has_value())
          first_pts_ = at;
        const guint64 want = at - std::min(at, *first_pts_);
        if (want > pos_ + kSongGapToleranceSamples && pos_ < total_) {
          pending_silence_ = std::min(want, total_) - pos_;
          gap(pending_silence_);
          GST_WARNING("the song %s has a hole from %.3f s to %.3f s (damaged?): silence there",
                      uri_.c_str(), (double)pos_ / kAudioRate, (double)want / kAudioRate);
          held_ = sample;
          return silence();
        }
      }
      n = std::min<guint64>(n, total_ - pos_);
      if (n == 0) {
        gst_sample_unref(sample);
        continue;
      }
      return place(sample, n);
    }
    return nullptr;
  }

  /* Where silence stood in for the song so far, in montage order. */
  const std::vector<SongGap> &gaps() const { return gaps_; }

private:
  void gap(guint64 samples, bool at_end = false)
  {
    SongGap g;
    g.at_end = at_end;
    g.start = gst_util_uint64_scale(pos_, GST_SECOND, kAudioRate);
    g.duration = gst_util_uint64_scale(pos_ + samples, GST_SECOND, kAudioRate) - g.start;
    gaps_.push_back(g);
  }

  /* Up to kSilenceChunk samples of the pending silence (faded like the
   * song: silence either way). */
  GstBuffer *silence()
  {
    const guint64 n = std::min(pending_silence_, kSilenceChunk);
    GstBuffer *out = gst_buffer_new_allocate(nullptr, n * sizeof(float) * kAudioChannels, nullptr);
    gst_buffer_memset(out, 0, 0, n * sizeof(float) * kAudioChannels);
    pending_silence_ -= n;
    stamp(out, n);
    return out;
  }

  void stamp(GstBuffer *out, guint64 n)
  {
    GST_BUFFER_PTS(out) = gst_util_uint64_scale(pos_, GST_SECOND, kAudioRate);
    GST_BUFFER_DURATION(out) =
        gst_util_uint64_scale(pos_ + n, GST_SECOND, kAudioRate) - GST_BUFFER_PTS(out);
    pos_ += n;
    if (pos_ >= total_)
      done_ = true;
  }

  /* The first `n` samples of `sample` at pos_, faded where the fade is;
   * takes `sample`. */
  GstBuffer *place(GstSample *sample, guint64 n)
  {
    GstBuffer *in = gst_sample_get_buffer(sample);
    const gsize frame_bytes = sizeof(float) * kAudioChannels;
    GstBuffer *out;
    const guint64 fade_from = total_ - fade_;
    if (pos_ + n <= fade_from) {
      out = gst_buffer_copy_region(in, GST_BUFFER_COPY_MEMORY, 0, n * frame_bytes);
    } else {
      out = gst_buffer_new_allocate(nullptr, n * frame_bytes, nullptr);
      GstMapInfo src, dst;
      gst_buffer_map(in, &src, GST_MAP_READ);
      gst_buffer_map(out, &dst, GST_MAP_WRITE);
      const float *s = reinterpret_cast<const float *>(src.data);
      float *d = reinterpret_cast<float *>(dst.data);
      for (guint64 i = 0; i < n; i++) {
        guint64 p = pos_ + i;
        float gain = p < fade_from ? 1.0f : (float)(total_ - p) / (float)fade_;
        for (gint c = 0; c < kAudioChannels; c++)
          d[i * kAudioChannels + c] = s[i * kAudioChannels + c] * gain;
      }
      gst_buffer_unmap(out, &dst);
      gst_buffer_unmap(in, &src);
    }
    gst_sample_unref(sample);
    stamp(out, n);
    return out;
  }

private:
  std::string uri_;
  Interrupt &interrupt_;
  gint64 stall_us_;
  std::unique_ptr<DecodePipeline> pipe_;
  guint64 total_;
  guint64 fade_;
  guint64 pos_ = 0;
  bool done_ = false;
  bool eos_ = false;                 /* the decoder is at its end */
  guint64 pending_silence_ = 0;      /* samples of silence to give before more song */
  std::optional<guint64> first_pts_; /* the first piece's timestamp in samples */
  GstSample *held_ = nullptr;        /* the piece after a hole, given once it is filled */
  std::vector<SongGap> gaps_;
};

/* The highest-ranked AAC encoder factory (as encodebin would pick for the
 * GES path's profile), or "" when none is installed. */
std::string aac_encoder()
{
  GList *all = gst_element_factory_list_get_elements(GST_ELEMENT_FACTORY_TYPE_AUDIO_ENCODER,
                                                     GST_RANK_MARGINAL);
  GstCaps *aac = gst_caps_from_string("audio/mpeg,mpegversion=4");
  GList *found = gst_element_factory_list_filter(all, aac, GST_PAD_SRC, FALSE);
  gst_caps_unref(aac);
  found = g_list_sort(found, gst_plugin_feature_rank_compare_func);
  std::string name = found ? GST_OBJECT_NAME(found->data) : "";
  gst_plugin_feature_list_free(found);
  gst_plugin_feature_list_free(all);
  return name;
}

/* appsrc ! ENCODER ! h264parse ! mp4mux ! filesink, and
 * appsrc ! audioconvert ! AAC encoder ! aacparse ! mp4mux: the elements
 * encodebin builds for the GES path's profile, less its converters, which
 * raw frames already in the output format do not need. The encoder is made
 * here from its factory (encodebin would not find one ranked NONE). */
class Output {
public:
  Output(const std::string &path, const std::string &encoder, bool preview, GstCaps *video_caps,
         gint64 stall_us, Interrupt &interrupt)
      : watch_(encoder, preview), interrupt_(interrupt), stall_us_(stall_us), path_(path),
        aac_(aac_encoder())
  {
    pipeline_ = gst_pipeline_new("montage-render-cuts");
    bus_ = gst_element_get_bus(pipeline_);
    video_ = gst_element_factory_make("appsrc", "video");
    audio_ = gst_element_factory_make("appsrc", "audio");
    GstElement *venc = gst_element_factory_make(encoder.c_str(), nullptr);
    GstElement *vparse = gst_element_factory_make("h264parse", nullptr);
    GstElement *aconv = gst_element_factory_make("audioconvert", nullptr);
    GstElement *aenc = aac_.empty() ? nullptr : gst_element_factory_make(aac_.c_str(), nullptr);
    GstElement *aparse = gst_element_factory_make("aacparse", nullptr);
    GstElement *mux = gst_element_factory_make("mp4mux", nullptr);
    GstElement *sink = gst_element_factory_make("filesink", nullptr);
    std::initializer_list<GstElement *> all = {video_, venc,   vparse, audio_, aconv,
                                               aenc,   aparse, mux,    sink};
    if (std::find(all.begin(), all.end(), nullptr) != all.end()) {
      missing_ = std::string(venc ? "" : encoder + " ") + (aenc ? "" : "an AAC encoder ") +
                 "or appsrc/h264parse/audioconvert/aacparse/mp4mux/filesink";
      for (GstElement *e : all)
        if (e)
          gst_object_unref(gst_object_ref_sink(e));
      encoder_missing_ = !venc;
      video_ = audio_ = nullptr;
      return;
    }
    on_deep_element_added(nullptr, nullptr, venc, &watch_); /* its properties */
    /* Every sample of the song out of the AAC encoder (it is given silence
     * after the last), and edits in samples: the sound track's edit then
     * ends on the song's last sample (mp4priming.h). */
    aac_input_ = aac_encoder_keep_end(aenc);
    g_object_set(mux, "movie-timescale", (guint)kAudioRate, NULL);
    tag_as_montage(mux); /* encoder.h: a later run tells it from footage */
    sync_samples_at_idr_only(mux); /* encoder.h: seeking lands on IDR frames */
    GstCaps *audio_caps = SongReader::caps();
    g_object_set(video_, "caps", video_caps, "format", GST_FORMAT_TIME, "max-buffers",
                 kEncoderQueue, "block", FALSE, NULL);
    g_object_set(audio_, "caps", audio_caps, "format", GST_FORMAT_TIME, "block", FALSE, NULL);
    gst_caps_unref(audio_caps);
    g_object_set(sink, "location", path.c_str(), NULL);
    for (GstElement *e : all)
      gst_bin_add(GST_BIN(pipeline_), e);
    encoder_linked_ = gst_element_link_many(video_, venc, vparse, NULL);
    linked_ = encoder_linked_ && gst_element_link_many(vparse, mux, sink, NULL) &&
              gst_element_link_many(audio_, aconv, aenc, aparse, mux, NULL);
    if (linked_) {
      count(venc, "sink", counters_.encoder_in);
      count(venc, "src", counters_.encoder_out);
      count(aenc, "sink", counters_.audio_encoder_in);
      count(aenc, "src", counters_.audio_encoder_out);
      muxer_video_ = peer_of(vparse);
      muxer_audio_ = peer_of(aparse);
      count(muxer_video_, counters_.muxer_video_in);
    }
  }
  ~Output()
  {
    gst_element_set_state(pipeline_, GST_STATE_NULL);
    for (GstPad *pad : {muxer_video_, muxer_audio_})
      if (pad)
        gst_object_unref(pad);
    gst_object_unref(bus_);
    gst_object_unref(pipeline_);
  }
  Output(const Output &) = delete;
  Output &operator=(const Output &) = delete;

  bool start(GError **error)
  {
    if (!video_) {
      /* A missing encoder is the encoder's failure (try the next); a missing
       * muxer or AAC encoder fails every encoder alike. */
      encoder_failed = encoder_missing_;
      g_set_error(error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
                  "cannot create %s: install gstreamer1.0-plugins-good and -bad", missing_.c_str());
      return false;
    }
    if (!linked_) {
      encoder_failed = !encoder_linked_;
      g_set_error(error, GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION,
                  "cannot set up encoding to MP4 with %s", watch_.factory.c_str());
      return false;
    }
    if (gst_element_set_state(pipeline_, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
      if (!check(error, 0)) {
        encoder_failed = true;
        g_set_error(error, GST_CORE_ERROR, GST_CORE_ERROR_STATE_CHANGE,
                    "cannot start encoding to MP4 with %s", watch_.factory.c_str());
      }
      return false;
    }
    return true;
  }

  /* True with `error` set and `encoder_failed` telling whether the encoder
   * was the source, when an error arrived within `timeout`. */
  bool check(GError **error, GstClockTime timeout)
  {
    GstObject *src = nullptr;
    if (!pop_error(bus_, timeout, error, &src))
      return false;
    encoder_failed = watch_.instance && src && is_inside(src, watch_.instance);
    if (src)
      gst_object_unref(src);
    return true;
  }

  bool push_video(GstBuffer *buf, GError **error)
  {
    return push(video_, buf, error, kEncoderQueue);
  }

  /* Asks the encoder for a key unit on the frame stamped `pts` (pushed
   * next): a downstream force-key-unit event (gstvideo's
   * gst_video_event_new_downstream_force_key_unit(), `count` the cut's
   * number), queued in the appsrc in order with the frames and carrying
   * `pts` as its running time (the appsrc's segment starts at 0), so the
   * encoder (a GstVideoEncoder: x264enc, openh264enc, nvh264enc, the VA
   * encoders) flags that very frame GST_VIDEO_CODEC_FRAME_FLAG_FORCE_KEYFRAME
   * and codes it as an IDR picture. Without it only x264's scene-cut
   * detection put key frames at cuts, and not in a preview: speed-preset
   * ultrafast turns it off, and a preview had key frames every 250 frames
   * alone (trial h138). */
  void key_unit_at(GstClockTime pts, guint count)
  {
    gst_element_send_event(video_, gst_video_event_new_downstream_force_key_unit(
                                       pts, pts, pts, FALSE /* all headers */, count));
  }
  bool push_audio(GstBuffer *buf, GError **error) { return push(audio_, buf, error, 0); }

  /* Ends the song's stream, once. Called as soon as the whole song is
   * pushed, not after the last video frame: the AAC encoder keeps the
   * song's last partial frame until EOS, and the muxer takes no video frame
   * later than the audio it has, so the video frames after the song's last
   * whole AAC frame would wait on an encoder that waits on them (a 30 s
   * stall, then a failed render, at 120 fps with some songs). */
  void end_audio()
  {
    if (audio_ended_)
      return;
    audio_ended_ = true;
    GstFlowReturn ret;
    g_signal_emit_by_name(audio_, "end-of-stream", &ret);
  }

  /* Ends both streams and waits for the file to be finished. */
  bool finish(const std::function<void()> &tick, GError **error)
  {
    GstFlowReturn ret;
    g_signal_emit_by_name(video_, "end-of-stream", &ret);
    end_audio();
    const gint64 since = g_get_monotonic_time();
    for (;;) {
      if (interrupt_.check(error))
        return false;
      GstMessage *msg = gst_bus_timed_pop_filtered(
          bus_, 50 * GST_MSECOND, (GstMessageType)(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
      if (!msg && g_get_monotonic_time() - since > stall_us_) {
        GST_WARNING("no EOS from the muxer");
        stalled("finishing the MP4: ", error);
        return false;
      }
      if (!msg) {
        tick();
        continue;
      }
      if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS) {
        gst_message_unref(msg);
        /* The file closed, its sound made to skip the AAC encoder's priming
         * and to end with the song's part (not the silence after it). */
        gst_element_set_state(pipeline_, GST_STATE_NULL);
        mp4_fix_audio_priming(path_, aac_.c_str(), nullptr,
                              aac_input_ ? aac_input_->samples.load() : 0);
        return true;
      }
      GstObject *src = nullptr;
      take_error(msg, error, &src);
      encoder_failed = watch_.instance && src && is_inside(src, watch_.instance);
      if (src)
        gst_object_unref(src);
      return false;
    }
  }

  bool encoder_failed = false;

private:
  /* Waits (watching for errors) while `max` buffers are queued, then pushes. */
  bool push(GstElement *src, GstBuffer *buf, GError **error, guint64 max)
  {
    gint64 since = g_get_monotonic_time();
    for (;;) {
      if (interrupt_.check(error) || check(error, 0)) {
        gst_buffer_unref(buf);
        return false;
      }
      guint64 level = 0;
      if (max)
        g_object_get(src, "current-level-buffers", &level, NULL);
      if (!max || level < max)
        break;
      if (check(error, 2 * GST_MSECOND) || g_get_monotonic_time() - since > stall_us_) {
        if (error && !*error)
          stalled("", error);
        gst_buffer_unref(buf);
        return false;
      }
    }
    GstFlowReturn ret = GST_FLOW_OK;
    g_signal_emit_by_name(src, "push-buffer", buf, &ret);
    gst_buffer_unref(buf);
    if (ret != GST_FLOW_OK && !check(error, GST_SECOND))
      g_set_error(error, GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED, "encoding stopped: %s",
                  gst_flow_get_name(ret));
    return ret == GST_FLOW_OK;
  }

  /* A buffer count and the time of the last buffer, kept by a pad probe
   * (streaming threads) and read by stalled(). */
  struct Counter {
    std::atomic<guint64> buffers{0};
    std::atomic<gint64> last_us{0};
  };
  struct Counters {
    Counter encoder_in, encoder_out, muxer_video_in, audio_encoder_in, audio_encoder_out;
  };

  static GstPadProbeReturn on_buffer(GstPad *, GstPadProbeInfo *info, gpointer user_data)
  {
    auto *c = static_cast<Counter *>(user_data);
    const guint n = (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST)
                        ? gst_buffer_list_length(GST_PAD_PROBE_INFO_BUFFER_LIST(info))
                        : 1;
    c->buffers += n;
    c->last_us = g_get_monotonic_time();
    return GST_PAD_PROBE_OK;
  }

  static void count(GstPad *pad, Counter &counter)
  {
    if (pad)
      gst_pad_add_probe(
          pad, (GstPadProbeType)(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST),
          on_buffer, &counter, nullptr);
  }
  static void count(GstElement *element, const char *pad_name, Counter &counter)
  {
    GstPad *pad = gst_element_get_static_pad(element, pad_name);
    count(pad, counter);
    if (pad)
      gst_object_unref(pad);
  }
  /* The muxer's pad that `element`'s src pad is linked to (a new ref). */
  static GstPad *peer_of(GstElement *element)
  {
    GstPad *src = gst_element_get_static_pad(element, "src");
    GstPad *peer = src ? gst_pad_get_peer(src) : nullptr;
    if (src)
      gst_object_unref(src);
    return peer;
  }
  static bool held(GstPad *muxer_pad)
  {
    if (!muxer_pad || !GST_IS_AGGREGATOR_PAD(muxer_pad))
      return false;
    GstAggregatorPad *pad = GST_AGGREGATOR_PAD(muxer_pad);
    return gst_aggregator_pad_has_buffer(pad) || gst_aggregator_pad_is_eos(pad);
  }

  /* Sets `error` (prefixed with `what`) naming the stage that
   * stopped producing (stalled_stage()), and `encoder_failed` when it is
   * the H.264 encoder. */
  void stalled(const char *what, GError **error)
  {
    EncodeFlow flow;
    flow.encoder_in = counters_.encoder_in.buffers;
    flow.encoder_in_us = counters_.encoder_in.last_us;
    flow.encoder_out = counters_.encoder_out.buffers;
    flow.encoder_out_us = counters_.encoder_out.last_us;
    flow.muxer_video_in = counters_.muxer_video_in.buffers;
    flow.muxer_video_in_us = counters_.muxer_video_in.last_us;
    flow.audio_encoder_in = counters_.audio_encoder_in.buffers;
    flow.audio_encoder_in_us = counters_.audio_encoder_in.last_us;
    flow.audio_encoder_out = counters_.audio_encoder_out.buffers;
    flow.audio_encoder_out_us = counters_.audio_encoder_out.last_us;
    g_object_get(audio_, "current-level-buffers", &flow.audio_queued, NULL);
    flow.muxer_video_held = held(muxer_video_);
    flow.muxer_audio_held = held(muxer_audio_);
    const double secs = (double)stall_us_ / G_USEC_PER_SEC;
    const StalledStage stage = stalled_stage(flow);
    gchar *detail = nullptr;
    GstStreamError code = GST_STREAM_ERROR_FAILED;
    switch (stage) {
    case StalledStage::kEncoder:
      code = GST_STREAM_ERROR_ENCODE;
      detail = g_strdup_printf("the %s encoder stalled: %" G_GUINT64_FORMAT
                               " frames went in and %" G_GUINT64_FORMAT
                               " buffers came out, none for %.0f s",
                               watch_.factory.c_str(), flow.encoder_in, flow.encoder_out, secs);
      break;
    case StalledStage::kParser:
      detail = g_strdup_printf("h264parse stalled: %" G_GUINT64_FORMAT
                               " buffers came out of the %s encoder and %" G_GUINT64_FORMAT
                               " reached the muxer, none for %.0f s",
                               flow.encoder_out, watch_.factory.c_str(), flow.muxer_video_in, secs);
      break;
    case StalledStage::kMuxer:
      code = GST_STREAM_ERROR_MUX;
      detail = g_strdup_printf("the MP4 muxer stalled: it holds video and audio and has taken none "
                               "for %.0f s (is writing the file blocked?)",
                               secs);
      break;
    case StalledStage::kAudioEncoder:
      code = GST_STREAM_ERROR_ENCODE;
      detail = g_strdup_printf("the %s AAC encoder stalled: %" G_GUINT64_FORMAT
                               " buffers went in and %" G_GUINT64_FORMAT
                               " came out, none for %.0f s, and the muxer waits for audio",
                               aac_.c_str(), flow.audio_encoder_in, flow.audio_encoder_out, secs);
      break;
    case StalledStage::kAudioInput:
      detail = g_strdup_printf("the muxer waits for audio that has not come for %.0f s "
                               "(%" G_GUINT64_FORMAT " buffers of the song reached the %s encoder)",
                               secs, flow.audio_encoder_in, aac_.c_str());
      break;
    }
    GST_WARNING("%s%s", what, detail);
    g_set_error(error, GST_STREAM_ERROR, code, "%s%s", what, detail);
    g_free(detail);
    encoder_failed = stage == StalledStage::kEncoder;
  }

  EncoderWatch watch_;
  Interrupt &interrupt_;
  gint64 stall_us_;
  const std::string path_;        /* the MP4 written */
  const std::string aac_;         /* the AAC encoder's factory */
  std::shared_ptr<const AacEncoderInput> aac_input_; /* what it was given */
  Counters counters_;             /* read by pad probes: declared before the pipeline goes */
  GstPad *muxer_video_ = nullptr; /* the muxer's pads (reffed) */
  GstPad *muxer_audio_ = nullptr;
  GstElement *pipeline_ = nullptr;
  GstBus *bus_ = nullptr;
  GstElement *video_ = nullptr; /* owned by pipeline_ */
  GstElement *audio_ = nullptr;
  bool linked_ = false;
  bool audio_ended_ = false; /* end_audio() has run */
  bool encoder_linked_ = false;
  bool encoder_missing_ = false;
  std::string missing_;
};

} // namespace

namespace
{

/* The key of what enters a decoder (a std::shared_ptr<DecoderInput> *, freed
 * with the decoder). */
GQuark decoder_input_quark()
{
  static const GQuark quark = g_quark_from_static_string("montage-decoder-input");
  return quark;
}

} // namespace

DecoderInputs::DecoderInputs()
{
  g_weak_ref_init(&shown_, nullptr);
}

DecoderInputs::~DecoderInputs()
{
  g_weak_ref_clear(&shown_);
}

bool DecoderInputs::add(GstElement *decoder)
{
  /* Only makes adding once per decoder atomic; qdata has its own lock. */
  static std::mutex adding;
  {
    std::lock_guard<std::mutex> hold(adding);
    if (g_object_get_qdata(G_OBJECT(decoder), decoder_input_quark()))
      return false;
    g_object_set_qdata_full(
        G_OBJECT(decoder), decoder_input_quark(),
        new std::shared_ptr<DecoderInput>(watch_decoder_input(decoder)),
        [](gpointer p) { delete static_cast<std::shared_ptr<DecoderInput> *>(p); });
  }
  guard_packed_b_frames(decoder);
  return true;
}

void DecoderInputs::show(GstElement *decoder)
{
  g_weak_ref_set(&shown_, decoder);
}

std::shared_ptr<DecoderInput> DecoderInputs::shown()
{
  auto *decoder = static_cast<GstElement *>(g_weak_ref_get(&shown_));
  if (!decoder)
    return nullptr;
  std::shared_ptr<DecoderInput> input = of(decoder);
  gst_object_unref(decoder);
  return input;
}

std::shared_ptr<DecoderInput> DecoderInputs::of(GstElement *decoder)
{
  auto *input = static_cast<std::shared_ptr<DecoderInput> *>(
      g_object_get_qdata(G_OBJECT(decoder), decoder_input_quark()));
  return input ? *input : nullptr;
}

void DecoderInputs::clear()
{
  g_weak_ref_set(&shown_, nullptr);
}

StalledStage stalled_stage(const EncodeFlow &flow)
{
  if (flow.muxer_video_held) {
    if (flow.muxer_audio_held)
      return StalledStage::kMuxer;
    if (flow.audio_queued > 0 ||
        (flow.audio_encoder_in > 0 &&
         (flow.audio_encoder_out == 0 || flow.audio_encoder_in_us > flow.audio_encoder_out_us)))
      return StalledStage::kAudioEncoder;
    return StalledStage::kAudioInput;
  }
  if (flow.encoder_out > 0 &&
      (flow.muxer_video_in == 0 || flow.encoder_out_us > flow.muxer_video_in_us))
    return StalledStage::kParser;
  return StalledStage::kEncoder;
}

Outcome render_cuts(const Plan &plan, const SongAnalysis &song,
                    const std::vector<ClipAnalysis> &clips, const RenderSettings &settings,
                    const std::string &tmp_path, const std::string &encoder, Interrupt &interrupt,
                    std::string &failed_uri, std::vector<SongGap> &song_gaps, GError **error)
{
  static gsize once = 0;
  if (g_once_init_enter(&once)) {
    GST_DEBUG_CATEGORY_INIT(montage_render_cuts_debug, "montagerendercuts", 0,
                            "gst-montage cut-only rendering");
    g_once_init_leave(&once, 1);
  }
  for (const Segment &seg : plan.segments)
    if (seg.clip >= clips.size()) {
      g_set_error(error, GST_CORE_ERROR, GST_CORE_ERROR_FAILED, "plan refers to clip %zu of %zu",
                  seg.clip, clips.size());
      return Outcome::kFailed;
    }

  gchar *out_colorimetry = output_colorimetry(settings.width, settings.height);
  GstCaps *video_caps = gst_caps_new_simple(
      "video/x-raw", "format", G_TYPE_STRING, "I420", "width", G_TYPE_INT, settings.width, "height",
      G_TYPE_INT, settings.height, "framerate", GST_TYPE_FRACTION, plan.fps_n, plan.fps_d,
      "pixel-aspect-ratio", GST_TYPE_FRACTION, 1, 1, "colorimetry", G_TYPE_STRING, out_colorimetry,
      NULL);
  g_free(out_colorimetry);
  const gint64 stall_us =
      (gint64)std::max<GstClockTime>(settings.stall_timeout / GST_USECOND, 1000);
  Output out(tmp_path, encoder, settings.preview, video_caps, stall_us, interrupt);
  gst_caps_unref(video_caps);
  SongReader audio(song.uri, plan.duration, settings.timeline.audio_fade_out, stall_us, interrupt);

  const size_t n = plan.segments.size();
  std::map<size_t, std::unique_ptr<ClipDecoder>> decoders;
  guint64 use_count = 0;
  /* The decoder for clip `c`, created on first use. When too many are
   * alive, the least recently used one that no segment in [i, i +
   * kLookahead] needs goes. */
  auto decoder_for = [&](size_t c, size_t i) -> ClipDecoder & {
    auto it = decoders.find(c);
    if (it == decoders.end()) {
      auto needed = [&](size_t clip) {
        for (size_t j = i; j < n && j <= i + kLookahead; j++)
          if (plan.segments[j].clip == clip)
            return true;
        return false;
      };
      if (decoders.size() >= kMaxDecoders) {
        auto lru = decoders.end();
        for (auto d = decoders.begin(); d != decoders.end(); ++d)
          if (!needed(d->first) &&
              (lru == decoders.end() || d->second->last_used < lru->second->last_used))
            lru = d;
        if (lru != decoders.end())
          decoders.erase(lru);
      }
      const ClipAnalysis &clip = clips[c];
      const GstClockTime grid = analysed_frame_duration(clip);
      it = decoders
               .emplace(c, std::make_unique<ClipDecoder>(clip.uri, settings.width, settings.height,
                                                         grid > 0 ? grid : 40 * GST_MSECOND, grid,
                                                         clip.first_frame, stall_us, interrupt))
               .first;
    }
    it->second->last_used = ++use_count;
    return *it->second;
  };

  GError *err = nullptr;
  Outcome outcome = Outcome::kDone;
  auto fail_input = [&](const std::string &uri) {
    failed_uri = uri;
    outcome = Outcome::kFailed;
  };
  auto fail_output = [&]() {
    outcome = out.encoder_failed ? Outcome::kEncoderFailed : Outcome::kFailed;
  };

  gint64 last_tick = 0;
  GstClockTime position = 0;
  auto tick = [&]() {
    gint64 now = g_get_monotonic_time();
    if (settings.progress && now - last_tick >= 250 * 1000) {
      last_tick = now;
      settings.progress(position, plan.duration);
    }
  };
  /* Keeps the song kAudioLead ahead of the video (all of it when `until`
   * is GST_CLOCK_TIME_NONE). */
  auto push_audio = [&](GstClockTime until) {
    while (!audio.done() &&
           (!GST_CLOCK_TIME_IS_VALID(until) || audio.position() < until + kAudioLead)) {
      GstBuffer *buf = audio.next(&err);
      if (err) {
        fail_input(song.uri);
        return false;
      }
      if (buf && !out.push_audio(buf, &err)) {
        fail_output();
        return false;
      }
    }
    if (audio.done())
      out.end_audio();
    return true;
  };

  if (!out.start(&err))
    fail_output();
  else if (!audio.start(&err))
    fail_input(song.uri);

  /* Segment i is requested when its turn comes, or earlier (up to
   * kLookahead ahead) when no segment before it still needs its clip. */
  std::vector<bool> requested(n, false);
  for (size_t i = 0; i < n && outcome == Outcome::kDone; i++) {
    const Segment &seg = plan.segments[i];
    ClipDecoder &dec = decoder_for(seg.clip, i);
    if (!requested[i] && !dec.request(seg.inpoint, &err)) {
      fail_input(dec.uri());
      break;
    }
    requested[i] = true;
    std::vector<ClipDecoder *> ahead;
    for (size_t j = i + 1; j < n && j <= i + kLookahead && outcome == Outcome::kDone; j++) {
      bool busy = false;
      for (size_t m = i; m < j; m++)
        busy = busy || plan.segments[m].clip == plan.segments[j].clip;
      if (busy)
        continue;
      ClipDecoder &d = decoder_for(plan.segments[j].clip, i);
      if (!requested[j] && !d.request(plan.segments[j].inpoint, &err))
        fail_input(d.uri());
      requested[j] = true;
      ahead.push_back(&d);
    }
    if (outcome != Outcome::kDone)
      break;

    const guint64 k0 = frame_index(seg.start, plan),
                  k1 = frame_index(seg.start + seg.duration, plan);
    GST_DEBUG("segment %zu: frames %" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT
              " from %s at %" GST_TIME_FORMAT,
              i, k0, k1, dec.uri().c_str(), GST_TIME_ARGS(seg.inpoint));
    GstBuffer *prev = nullptr, *next = nullptr;
    GstClockTime prev_t = 0, next_t = 0;
    bool ended = false;
    auto fetch = [&]() {
      if (next || ended)
        return true;
      int r = dec.pull(&next, &next_t, &err);
      ended = r == 0;
      return r >= 0;
    };
    for (guint64 k = k0; k < k1 && outcome == Outcome::kDone; k++) {
      if (interrupt.check(&err)) {
        outcome = Outcome::kFailed;
        break;
      }
      const GstClockTime t_out = frame_time(k, plan);
      const GstClockTime t_src = seg.inpoint + (t_out - std::min(t_out, seg.start));
      bool ok = fetch();
      while (ok && next && (!prev || abs_diff(next_t, t_src) < abs_diff(prev_t, t_src))) {
        if (prev)
          gst_buffer_unref(prev);
        prev = next;
        prev_t = next_t;
        next = nullptr;
        ok = fetch();
      }
      if (!ok || !prev) {
        if (!err)
          g_set_error(&err, GST_STREAM_ERROR, GST_STREAM_ERROR_DECODE,
                      "no frame could be decoded from %s at %" GST_TIME_FORMAT, dec.uri().c_str(),
                      GST_TIME_ARGS(seg.inpoint));
        fail_input(dec.uri());
        break;
      }
      for (ClipDecoder *d : ahead)
        if (!d->poll(&err)) {
          fail_input(d->uri());
          break;
        }
      if (outcome != Outcome::kDone)
        break;
      if (k == k0)
        GST_DEBUG("segment %zu: first frame at %" GST_TIME_FORMAT " (%u seeks so far)", i,
                  GST_TIME_ARGS(prev_t), dec.seeks);
      GstBuffer *frame = gst_buffer_copy(prev); /* shares the memory */
      GST_BUFFER_PTS(frame) = t_out;
      GST_BUFFER_DTS(frame) = GST_CLOCK_TIME_NONE;
      GST_BUFFER_DURATION(frame) = frame_time(k + 1, plan) - t_out;
      GST_BUFFER_OFFSET(frame) = k;
      GST_BUFFER_FLAG_UNSET(frame, GST_BUFFER_FLAG_DISCONT);
      if (k == k0 && i > 0)
        out.key_unit_at(t_out, (guint)i); /* each cut on a key frame */
      if (!out.push_video(frame, &err)) {
        fail_output();
        break;
      }
      position = t_out;
      if (!push_audio(t_out))
        break;
      tick();
    }
    if (prev)
      dec.give_back(prev, prev_t);
    if (next)
      dec.give_back(next, next_t);
  }

  if (outcome == Outcome::kDone && push_audio(GST_CLOCK_TIME_NONE)) {
    position = plan.duration;
    if (!out.finish(tick, &err))
      fail_output();
  }
  if (outcome != Outcome::kDone && interrupt.cancelled()) {
    /* Cancelled while waiting on an input or the encoder: neither's fault. */
    failed_uri.clear();
    outcome = Outcome::kFailed;
  }
  song_gaps = audio.gaps();
  if (outcome == Outcome::kDone && settings.progress)
    settings.progress(plan.duration, plan.duration);
  if (err)
    g_propagate_error(error, err);
  else if (outcome != Outcome::kDone)
    g_set_error(error, GST_CORE_ERROR, GST_CORE_ERROR_FAILED, "rendering failed");
  return outcome;
}

} // namespace render_detail
} // namespace montage
