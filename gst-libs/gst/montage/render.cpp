/* Rendering a plan through GES; see render.h. */
#include <gst/montage/render.h>

#include <gst/montage/avikeyframes-private.h>
#include <gst/montage/encoder.h>
#include <gst/montage/frameplacer-private.h>
#include <gst/montage/mp4priming.h>
#include <gst/montage/render-private.h>

#include <gst/controller/gstinterpolationcontrolsource.h>
#include <gst/pbutils/encoding-profile.h>
#include <gst/video/gstvideodecoder.h>
#include <gst/video/gstvideoencoder.h>
#include <gst/video/video.h>
#include <glib/gstdio.h>

#include <sys/stat.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/syscall.h>
#elif defined(__APPLE__)
#include <pthread.h>
#elif defined(__FreeBSD__) || defined(__OpenBSD__) || defined(__DragonFly__)
#include <pthread.h>
#include <pthread_np.h>
#endif

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>

GST_DEBUG_CATEGORY_STATIC(montage_render_debug);
#define GST_CAT_DEFAULT montage_render_debug

namespace montage {

namespace render_detail {

static GstEncodingProfile *make_profile(const std::string &encoder)
{
  GstCaps *mp4 = gst_caps_from_string("video/quicktime,variant=iso");
  GstEncodingContainerProfile *container =
      gst_encoding_container_profile_new("mp4", "MP4 with H.264 and AAC", mp4, nullptr);
  gst_caps_unref(mp4);

  GstCaps *h264 = gst_caps_from_string("video/x-h264");
  GstEncodingVideoProfile *video = gst_encoding_video_profile_new(h264, nullptr, nullptr, 0);
  gst_caps_unref(h264);
  /* encodebin takes the preset name as the encoder factory to use. */
  gst_encoding_profile_set_preset_name(GST_ENCODING_PROFILE(video), encoder.c_str());
  gst_encoding_container_profile_add_profile(container, GST_ENCODING_PROFILE(video));

  GstCaps *aac = gst_caps_from_string("audio/mpeg,mpegversion=4");
  GstEncodingAudioProfile *audio = gst_encoding_audio_profile_new(aac, nullptr, nullptr, 0);
  gst_caps_unref(aac);
  gst_encoding_container_profile_add_profile(container, GST_ENCODING_PROFILE(audio));
  return GST_ENCODING_PROFILE(container);
}

EncoderWatch::EncoderWatch(const std::string &name, bool preview)
    : factory(name), properties(h264_encoder_properties(name, preview))
{
}

EncoderWatch::~EncoderWatch()
{
  if (properties)
    gst_structure_free(properties);
}

void on_deep_element_added(GstBin *, GstBin *, GstElement *element, gpointer user_data)
{
  auto *watch = static_cast<EncoderWatch *>(user_data);
  GstElementFactory *factory = gst_element_get_factory(element);
  if (!factory || watch->factory != GST_OBJECT_NAME(factory))
    return;
  watch->instance = element;
  if (!watch->properties)
    return;
  gst_structure_foreach(
      watch->properties,
      [](GQuark field, const GValue *value, gpointer obj) -> gboolean {
        if (G_VALUE_HOLDS_STRING(value))
          gst_util_set_object_arg(G_OBJECT(obj), g_quark_to_string(field), g_value_get_string(value));
        return TRUE;
      },
      element);
}

void DecoderInput::segment(const GstSegment &seg)
{
  std::lock_guard<std::mutex> hold(lock_);
  frames_.clear();
  start_ = seg.format == GST_FORMAT_TIME && seg.rate > 0 ? seg.start : GST_CLOCK_TIME_NONE;
}

void DecoderInput::frame(GstClockTime pts, GstClockTime duration)
{
  std::lock_guard<std::mutex> hold(lock_);
  if (!GST_CLOCK_TIME_IS_VALID(pts) || !GST_CLOCK_TIME_IS_VALID(start_) ||
      pts > start_ + kStampRounding)
    return;
  if (frames_.size() >= kMaxFrames)
    frames_.pop_front();
  frames_.emplace_back(pts, duration);
}

GstClockTime DecoderInput::start_of(GstClockTime end, GstClockTime before,
                                    GstClockTime decoded) const
{
  constexpr GstClockTime kSlack = GST_USECOND; /* the caps' duration truncated or rounded */
  std::lock_guard<std::mutex> hold(lock_);
  for (const auto &f : frames_)
    if (f.first <= before && GST_CLOCK_TIME_IS_VALID(f.second) && f.first + f.second == end)
      return f.first;
  if (decoded == 0 || decoded > end)
    return GST_CLOCK_TIME_NONE;
  const GstClockTime want = end - decoded;
  for (const auto &f : frames_)
    if (f.first <= before && f.first + kSlack >= want && f.first <= want + kSlack)
      return f.first;
  return GST_CLOCK_TIME_NONE;
}

std::shared_ptr<DecoderInput> watch_decoder_input(GstElement *decoder)
{
  auto input = std::make_shared<DecoderInput>();
  GstPad *pad = gst_element_get_static_pad(decoder, "sink");
  if (!pad)
    return input;
  gst_pad_add_probe(
      pad, (GstPadProbeType)(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
      [](GstPad *, GstPadProbeInfo *info, gpointer data) {
        auto &in = **static_cast<std::shared_ptr<DecoderInput> *>(data);
        if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
          GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
          in.frame(GST_BUFFER_PTS(buf), GST_BUFFER_DURATION(buf));
        } else if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) == GST_EVENT_SEGMENT) {
          GstSegment seg;
          gst_event_copy_segment(GST_PAD_PROBE_INFO_EVENT(info), &seg);
          in.segment(seg);
        }
        return GST_PAD_PROBE_OK;
      },
      new std::shared_ptr<DecoderInput>(input),
      [](gpointer p) { delete static_cast<std::shared_ptr<DecoderInput> *>(p); });
  gst_object_unref(pad);
  return input;
}

namespace
{

/* The state of one decoder's packed-B-frame guard (guard_packed_b_frames()). */
struct PackedBFrames {
  /* How many segments made earlier may wait inside the decoder for the
   * frame they go out with (GstVideoDecoder keeps serialized events until
   * its next frame); more is far more than a render sends without a flush
   * or a frame between them, and the oldest is forgotten first. */
  static constexpr size_t kMaxMoved = 16;
  std::mutex lock;
  bool active = false;    /* the input caps are MPEG-4 Part 2 with B-frames */
  GstClockTime frame = 0; /* one frame at the input caps' rate */
  /* The segments made earlier (by seqnum) that have not come out of the
   * decoder yet, oldest first, each with the segment it was before. */
  std::deque<std::pair<guint32, GstSegment>> moved;
  GstSegment out; /* the segment the frames are clipped to */
  FramePlacer placer;
  std::deque<GstBuffer *> held; /* what placer holds, in order */
  GstCaps *caps = nullptr;      /* the source pad's caps (the last CAPS event's) */
  std::atomic<GThread *> pusher{nullptr}; /* the thread pushing released frames */
  /* The frames being pushed go ahead of the new caps stored on the pad. */
  std::atomic<bool> before_caps{false};
  /* No frame came out since the last flush or stream start. */
  bool after_flush = true;
  /* The keyframe that came out first after it, held for the frame after
   * it (retime_first_keyframe()). */
  GstBuffer *first_key = nullptr;
  ~PackedBFrames()
  {
    for (GstBuffer *b : held)
      gst_buffer_unref(b);
    if (first_key)
      gst_buffer_unref(first_key);
    gst_clear_caps(&caps);
  }
};

/* MPEG-4 Part 2 that may hold B-frames (the Simple profile has none);
 * the same test as avikeyframes-private.h's. */
bool may_pack_b_frames(GstCaps *caps)
{
  return avi_keyframes_detail::mpeg4_part2_with_b_frames(caps);
}

/* Clips `buf` (placed at `at`) to `seg` as GstVideoDecoder does: NULL (and
 * `buf` unreffed) when it lies outside, else `buf` stamped at `at`, or at
 * the segment's start with what is left of it when it straddles that. */
GstBuffer *place_and_clip(GstBuffer *buf, GstClockTime at, const GstSegment &seg)
{
  const GstClockTime dur = GST_BUFFER_DURATION(buf);
  guint64 cstart = at, cstop = GST_CLOCK_TIME_NONE;
  if (seg.format == GST_FORMAT_TIME && GST_CLOCK_TIME_IS_VALID(at) &&
      !gst_segment_clip(&seg, GST_FORMAT_TIME, at,
                        GST_CLOCK_TIME_IS_VALID(dur) ? at + dur : GST_CLOCK_TIME_NONE, &cstart,
                        &cstop)) {
    gst_buffer_unref(buf);
    return nullptr;
  }
  if (cstart == GST_BUFFER_PTS(buf) &&
      (!GST_CLOCK_TIME_IS_VALID(dur) || !GST_CLOCK_TIME_IS_VALID(cstop) || cstop - cstart == dur))
    return buf;
  buf = gst_buffer_make_writable(buf);
  GST_BUFFER_PTS(buf) = cstart;
  if (GST_CLOCK_TIME_IS_VALID(dur) && GST_CLOCK_TIME_IS_VALID(cstop))
    GST_BUFFER_DURATION(buf) = cstop - cstart;
  return buf;
}

/* Decides the frames `g` holds by the next frame's stamp `next`
 * (GST_CLOCK_TIME_NONE: the end): the kept ones, placed and clipped, are
 * returned in order for the caller to push, the others unreffed. Called
 * with g.lock held. */
std::deque<GstBuffer *> settle_held(PackedBFrames &g, GstClockTime next)
{
  std::deque<GstBuffer *> out;
  const FramePlacer::Settled settled = g.placer.settle(next);
  for (size_t i = 0; i < g.held.size(); i++) {
    GstBuffer *b = g.held[i];
    if (i >= settled.kept) {
      GST_DEBUG("packed B-frames: frame stamped %" GST_TIME_FORMAT " given again, dropped",
                GST_TIME_ARGS(GST_BUFFER_PTS(b)));
      gst_buffer_unref(b);
      continue;
    }
    g.placer.took(settled.at(i), GST_BUFFER_PTS(b));
    GST_LOG("packed B-frames: frame stamped %" GST_TIME_FORMAT " placed at %" GST_TIME_FORMAT,
            GST_TIME_ARGS(GST_BUFFER_PTS(b)), GST_TIME_ARGS(settled.at(i)));
    if (GstBuffer *kept = place_and_clip(b, settled.at(i), g.out))
      out.push_back(kept);
  }
  g.held.clear();
  return out;
}

/* Judges decoded frame `buf` (taken) as FramePlacer places it and clips it to
 * the segment asked for: the frame to let out (re-stamped, maybe a copy), or
 * NULL when it is held for the frame after it, given again or before the
 * segment. Frames it releases go to the end of `released`. Called with
 * g.lock held. */
GstBuffer *place_frame(PackedBFrames &g, GstBuffer *buf, std::deque<GstBuffer *> &released)
{
  const GstClockTime t = GST_BUFFER_PTS(buf);
  const GstClockTime step = GST_BUFFER_DURATION_IS_VALID(buf) ? GST_BUFFER_DURATION(buf) : g.frame;
  if (g.placer.settles(t)) {
    std::deque<GstBuffer *> settled = settle_held(g, t);
    released.insert(released.end(), settled.begin(), settled.end());
  }
  const FramePlacer::Placement placed = g.placer.judge(t, step);
  switch (placed.verdict) {
  case FramePlacer::Verdict::kSkip:
    gst_buffer_unref(buf);
    return nullptr;
  case FramePlacer::Verdict::kHold:
    g.placer.hold(placed.at, t, step);
    g.held.push_back(buf);
    return nullptr;
  case FramePlacer::Verdict::kKeep:
    break;
  }
  g.placer.took(placed.at, t);
  return place_and_clip(buf, placed.at, g.out); /* NULL: before the segment asked for */
}

/* The keyframe that came out first after a flush (g.first_key), judged now
 * that the frame after it, stamped `next` (GST_CLOCK_TIME_NONE: none came),
 * tells where it belongs: it goes to `released`, with the frames it lets out.
 *
 * Why: avidemux stamps an AVI keyframe's PTS with its decode time, and for
 * MPEG-4 Part 2 with unpacked B-frames (ffmpeg -c:v mpeg4 -bf 2) that is the
 * time of the B-frames coded after it and shown before it, two frames early
 * for -bf 2. unstamp_avi_keyframes() takes that stamp off on the decoder's
 * input, except on the first frame after a flush, whose stamp the decoder
 * needs to start from; after a seek the B-frames before the keyframe cannot
 * be decoded (their reference before it is not), and the frame after the
 * keyframe comes out stamped right (the decoder gives it the oldest DTS it
 * holds). So a keyframe that comes out first after a flush and more than
 * one and a half frames (at the input caps' rate, else its own duration)
 * before the frame after it is put one frame before that frame (whole
 * frames after its own stamp, as the demuxer's stamps are rounded to the
 * ns each). A stream stamped right has its frames one frame apart and is
 * left as it was. The first frame out after a flush is the keyframe decoding
 * started from (avdec_mpeg4 flags none of its frames as delta units, so
 * only a frame flagged one is let through). Before, the keyframe kept its
 * decode time, the segment asked for began after it, and
 * a segment whose in-point was that keyframe began on the frame after it
 * along both render paths (c07_xvid.avi: in-point frame 24, 0.8 s, showed
 * frame 25 first). */
void retime_first_keyframe(PackedBFrames &g, GstClockTime next, std::deque<GstBuffer *> &released)
{
  GstBuffer *key = g.first_key;
  g.first_key = nullptr;
  if (!key)
    return;
  const GstClockTime at = GST_BUFFER_PTS(key);
  const GstClockTime frame = g.frame > 0                         ? g.frame
                             : GST_BUFFER_DURATION_IS_VALID(key) ? GST_BUFFER_DURATION(key)
                                                                 : 0;
  if (GST_CLOCK_TIME_IS_VALID(next) && frame > 0 && next > at + frame + frame / 2) {
    /* Whole frames after its stamp (the demuxer's times of frames are
     * rounded to the ns each, their differences not exactly a frame). */
    const GstClockTime moved = at + (next - at + frame / 2) / frame * frame - frame;
    GST_DEBUG("packed B-frames: first keyframe after a flush stamped %" GST_TIME_FORMAT
              " moved to %" GST_TIME_FORMAT ", a frame before the frame after it",
              GST_TIME_ARGS(at), GST_TIME_ARGS(moved));
    key = gst_buffer_make_writable(key);
    GST_BUFFER_PTS(key) = moved;
  }
  if (GstBuffer *kept = place_frame(g, key, released))
    released.push_back(kept);
}

void append(std::deque<GstBuffer *> &to, std::deque<GstBuffer *> &&from)
{
  to.insert(to.end(), from.begin(), from.end());
}

void push_released(GstPad *pad, PackedBFrames &g, std::deque<GstBuffer *> &&released)
{
  for (GstBuffer *b : released) {
    g.pusher = g_thread_self();
    gst_pad_push(pad, b);
    g.pusher = nullptr;
  }
}

void forget_held(PackedBFrames &g)
{
  for (GstBuffer *b : g.held)
    gst_buffer_unref(b);
  g.held.clear();
  g.placer.reset();
}

GstPadProbeReturn packed_sink_probe(GstPad *, GstPadProbeInfo *info, gpointer data)
{
  auto &g = **static_cast<std::shared_ptr<PackedBFrames> *>(data);
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT(info);
  std::lock_guard<std::mutex> hold(g.lock);
  if (GST_EVENT_TYPE(event) == GST_EVENT_CAPS) {
    GstCaps *caps = nullptr;
    gst_event_parse_caps(event, &caps);
    g.active = may_pack_b_frames(caps);
    g.frame = caps_frame_duration(caps);
    return GST_PAD_PROBE_OK;
  }
  if (GST_EVENT_TYPE(event) != GST_EVENT_SEGMENT || !g.active || g.frame == 0)
    return GST_PAD_PROBE_OK;
  const GstSegment *seg = nullptr;
  gst_event_parse_segment(event, &seg);
  const GstClockTime lead = kPackedBFramesLead * g.frame;
  if (seg->format != GST_FORMAT_TIME || seg->rate <= 0 || seg->start < lead || seg->time < lead ||
      seg->position != seg->start)
    return GST_PAD_PROBE_OK;
  GstSegment earlier;
  gst_segment_copy_into(seg, &earlier);
  earlier.start = earlier.position = seg->start - lead;
  earlier.time = seg->time - lead;
  /* The running time of every frame stays what it was where the base
   * allows (base >= lead); after a flushing seek (base 0) the decoder's own
   * running times (its QoS) run lead later, and downstream sees the
   * segment asked for again (packed_src_probe()). Each segment made earlier
   * is remembered by its seqnum until it comes out: the decoder keeps
   * serialized events for its next frame, so that several may enter before
   * the first comes out. */
  earlier.base = seg->base >= lead ? seg->base - lead : 0;
  const guint32 seqnum = gst_event_get_seqnum(event);
  if (g.moved.size() >= PackedBFrames::kMaxMoved)
    g.moved.pop_front();
  g.moved.emplace_back(seqnum, *seg);
  GST_DEBUG("packed B-frames: segment from %" GST_TIME_FORMAT " opened at %" GST_TIME_FORMAT,
            GST_TIME_ARGS(seg->start), GST_TIME_ARGS(earlier.start));
  GstEvent *moved = gst_event_new_segment(&earlier);
  gst_event_set_seqnum(moved, seqnum);
  gst_event_unref(event);
  GST_PAD_PROBE_INFO_DATA(info) = moved;
  return GST_PAD_PROBE_OK;
}

/* Pushes `released` on `pad` from the probe of a CAPS event, ahead of it:
 * the pad has stored the caps, and sends them downstream when its probes
 * let them pass. Should gst_pad_push() send them before a frame (it first
 * sends the sticky events not yet received when the pad is flagged for it),
 * packed_src_probe() drops them there; GStreamer keeps a dropped sticky
 * event pending, and the caps go out after the frames all the same. */
void push_before_caps(GstPad *pad, PackedBFrames &g, std::deque<GstBuffer *> &&released)
{
  g.before_caps = true;
  push_released(pad, g, std::move(released));
  g.before_caps = false;
}

GstPadProbeReturn packed_src_probe(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  auto &g = **static_cast<std::shared_ptr<PackedBFrames> *>(data);
  if (info->type & (GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM | GST_PAD_PROBE_TYPE_EVENT_FLUSH)) {
    GstEvent *event = GST_PAD_PROBE_INFO_EVENT(info);
    std::deque<GstBuffer *> released;
    bool caps_after = false;
    {
      std::lock_guard<std::mutex> hold(g.lock);
      /* A keyframe held for the frame after it is dropped by a flush, and
       * goes as it is before an event that ends the frames before it (other
       * events, tags, go ahead of it). */
      switch (GST_EVENT_TYPE(event)) {
      case GST_EVENT_FLUSH_START:
      case GST_EVENT_FLUSH_STOP:
        gst_clear_buffer(&g.first_key);
        break;
      case GST_EVENT_CAPS:
        if (g.before_caps && g.pusher == g_thread_self())
          break; /* dropped below (none is held while frames are pushed) */
        retime_first_keyframe(g, GST_CLOCK_TIME_NONE, released);
        break;
      case GST_EVENT_STREAM_START:
      case GST_EVENT_SEGMENT:
      case GST_EVENT_SEGMENT_DONE:
      case GST_EVENT_GAP:
      case GST_EVENT_EOS:
        retime_first_keyframe(g, GST_CLOCK_TIME_NONE, released);
        break;
      default:
        break;
      }
      switch (GST_EVENT_TYPE(event)) {
      case GST_EVENT_FLUSH_STOP:
        /* The segments still inside the decoder went with the flush. */
        g.moved.clear();
        forget_held(g);
        g.after_flush = true;
        break;
      case GST_EVENT_STREAM_START:
        forget_held(g);
        g.after_flush = true;
        break;
      case GST_EVENT_CAPS: {
        if (g.before_caps && g.pusher == g_thread_self())
          return GST_PAD_PROBE_DROP; /* kept pending: it goes after them */
        /* New caps end the frames before them (FramePlacer: the first held
         * one only), which go out in the format they were decoded in. */
        GstCaps *caps = nullptr;
        gst_event_parse_caps(event, &caps);
        caps_after =
            (g.placer.holding() || !released.empty()) && g.caps && !gst_caps_is_equal(caps, g.caps);
        gst_caps_replace(&g.caps, caps);
        if (caps_after)
          append(released, settle_held(g, GST_CLOCK_TIME_NONE));
        break;
      }
      case GST_EVENT_SEGMENT: {
        /* Frames of the segment before it (none after a flush), then a new
         * timeline. */
        append(released, settle_held(g, GST_CLOCK_TIME_NONE));
        g.placer.reset();
        GstSegment seg;
        gst_event_copy_segment(event, &seg);
        const guint32 seqnum = gst_event_get_seqnum(event);
        auto found = std::find_if(g.moved.begin(), g.moved.end(),
                                  [&](const auto &m) { return m.first == seqnum; });
        if (found != g.moved.end() && found->second.start > seg.start) {
          /* The segment asked for; the ones made earlier before it, which
           * the decoder dropped, are forgotten with it. */
          gst_segment_copy_into(&found->second, &g.out);
          GstEvent *asked = gst_event_new_segment(&found->second);
          gst_event_set_seqnum(asked, seqnum);
          g.moved.erase(g.moved.begin(), found + 1);
          gst_event_unref(event);
          GST_PAD_PROBE_INFO_DATA(info) = asked;
        } else {
          gst_segment_copy_into(&seg, &g.out);
        }
        break;
      }
      case GST_EVENT_SEGMENT_DONE:
      case GST_EVENT_GAP:
        append(released, settle_held(g, GST_CLOCK_TIME_NONE));
        break;
      case GST_EVENT_EOS:
        /* The pad takes no frame now: those held were let out when the
         * decoder drained ahead of it (drain_ahead_of_eos()). */
        append(released, settle_held(g, GST_CLOCK_TIME_NONE));
        for (GstBuffer *b : released) {
          GST_WARNING("packed B-frames: frame placed at %" GST_TIME_FORMAT " lost at EOS",
                      GST_TIME_ARGS(GST_BUFFER_PTS(b)));
          gst_buffer_unref(b);
        }
        released.clear();
        break;
      default:
        break;
      }
    }
    if (caps_after)
      push_before_caps(pad, g, std::move(released));
    else
      push_released(pad, g, std::move(released));
    return GST_PAD_PROBE_OK;
  }
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
  std::deque<GstBuffer *> released;
  GstBuffer *out = nullptr;
  {
    std::lock_guard<std::mutex> hold(g.lock);
    if (!buf || !g.active || g.pusher == g_thread_self() || g.out.format != GST_FORMAT_TIME ||
        g.out.rate <= 0)
      return GST_PAD_PROBE_OK;
    const bool first = g.after_flush;
    g.after_flush = false;
    if (first && !GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT) &&
        GST_BUFFER_PTS_IS_VALID(buf)) {
      g.first_key = gst_buffer_ref(buf); /* retime_first_keyframe() at the next frame */
      return GST_PAD_PROBE_DROP;
    }
    retime_first_keyframe(g, GST_BUFFER_PTS(buf), released);
    out = place_frame(g, gst_buffer_ref(buf), released);
  }
  push_released(pad, g, std::move(released));
  if (!out)
    return GST_PAD_PROBE_DROP;
  if (out == buf) {
    gst_buffer_unref(out); /* the reference place_frame() was given */
  } else {
    gst_buffer_unref(buf);
    GST_PAD_PROBE_INFO_DATA(info) = out;
  }
  return GST_PAD_PROBE_OK;
}

} // namespace

void decode_alpha_streams(GstElement *uridecodebin)
{
  g_signal_connect(uridecodebin, "autoplug-continue",
                   G_CALLBACK(+[](GstElement *, GstPad *, GstCaps *caps, gpointer) -> gboolean {
                     return !gst_caps_is_any(caps);
                   }),
                   nullptr);
}

namespace
{

/* drain_ahead_of_eos()'s state: the seqnum of the SEGMENT_DONE it sent into
 * the decoder last (GST_SEQNUM_INVALID: none yet). */
struct DrainAhead {
  std::atomic<guint32> marker{GST_SEQNUM_INVALID};
};

/* On the decoder's source pad, added at each EOS, so after every other probe
 * there: drops the SEGMENT_DONE drain_ahead_of_eos() sent, which no one
 * downstream asked for, and goes. */
GstPadProbeReturn drop_drain_marker(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  auto &d = **static_cast<std::shared_ptr<DrainAhead> *>(data);
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT(info);
  if (GST_EVENT_TYPE(event) == GST_EVENT_SEGMENT_DONE &&
      gst_event_get_seqnum(event) == d.marker.load()) {
    gst_pad_remove_probe(pad, GST_PAD_PROBE_INFO_ID(info));
    return GST_PAD_PROBE_DROP;
  }
  /* The decoder refused the marker (or dropped it): this EOS ends the wait. */
  if (GST_EVENT_TYPE(event) == GST_EVENT_EOS || GST_EVENT_TYPE(event) == GST_EVENT_FLUSH_STOP)
    gst_pad_remove_probe(pad, GST_PAD_PROBE_INFO_ID(info));
  return GST_PAD_PROBE_OK;
}

GstPadProbeReturn drain_on_eos(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  const auto &state = *static_cast<std::shared_ptr<DrainAhead> *>(data);
  if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) != GST_EVENT_EOS)
    return GST_PAD_PROBE_OK;
  GstElement *decoder = GST_ELEMENT(gst_pad_get_parent(pad));
  GstPad *src = decoder ? gst_element_get_static_pad(decoder, "src") : nullptr;
  if (src) {
    GstEvent *marker = gst_event_new_segment_done(GST_FORMAT_TIME, -1);
    state->marker = gst_event_get_seqnum(marker);
    gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, drop_drain_marker,
                      new std::shared_ptr<DrainAhead>(state),
                      [](gpointer p) { delete static_cast<std::shared_ptr<DrainAhead> *>(p); });
    /* GstVideoDecoder drains on SEGMENT_DONE and sends it on at once. */
    if (!gst_pad_send_event(pad, marker))
      GST_DEBUG_OBJECT(decoder, "did not take the drain ahead of EOS");
    gst_object_unref(src);
  }
  if (decoder)
    gst_object_unref(decoder);
  return GST_PAD_PROBE_OK;
}

} // namespace

void drain_ahead_of_eos(GstElement *decoder)
{
  static const char *const kKey = "montage-drain-ahead-of-eos";
  if (g_object_get_data(G_OBJECT(decoder), kKey))
    return;
  GstPad *sink = gst_element_get_static_pad(decoder, "sink");
  if (!sink)
    return;
  g_object_set_data(G_OBJECT(decoder), kKey, GINT_TO_POINTER(1));
  gst_pad_add_probe(sink, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, drain_on_eos,
                    new std::shared_ptr<DrainAhead>(std::make_shared<DrainAhead>()),
                    [](gpointer p) { delete static_cast<std::shared_ptr<DrainAhead> *>(p); });
  gst_object_unref(sink);
}

void guard_packed_b_frames(GstElement *decoder)
{
  unstamp_avi_keyframes(decoder); /* avikeyframes-private.h */
  GstPad *sink = gst_element_get_static_pad(decoder, "sink");
  GstPad *src = gst_element_get_static_pad(decoder, "src");
  if (sink && src) {
    auto g = std::make_shared<PackedBFrames>();
    gst_segment_init(&g->out, GST_FORMAT_UNDEFINED);
    auto del = [](gpointer p) { delete static_cast<std::shared_ptr<PackedBFrames> *>(p); };
    gst_pad_add_probe(
        sink,
        (GstPadProbeType)(GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM | GST_PAD_PROBE_TYPE_EVENT_FLUSH),
        packed_sink_probe, new std::shared_ptr<PackedBFrames>(g), del);
    gst_pad_add_probe(src,
                      (GstPadProbeType)(GST_PAD_PROBE_TYPE_BUFFER |
                                        GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM |
                                        GST_PAD_PROBE_TYPE_EVENT_FLUSH),
                      packed_src_probe, new std::shared_ptr<PackedBFrames>(g), del);
    drain_ahead_of_eos(decoder);
  }
  if (sink)
    gst_object_unref(sink);
  if (src)
    gst_object_unref(src);
}

bool stereo_downmix(const GstAudioInfo &info, std::vector<float> &left, std::vector<float> &right)
{
  left.clear();
  right.clear();
  const gint n = GST_AUDIO_INFO_CHANNELS(&info);
  if (n <= 2 || GST_AUDIO_INFO_IS_UNPOSITIONED(&info))
    return false;
  constexpr float kHalfPower = 0.70710678f; /* -3 dB */
  left.assign(n, 0.0f);
  right.assign(n, 0.0f);
  for (gint c = 0; c < n; c++) {
    switch (GST_AUDIO_INFO_POSITION(&info, c)) {
    case GST_AUDIO_CHANNEL_POSITION_FRONT_LEFT:
      left[c] = 1.0f;
      break;
    case GST_AUDIO_CHANNEL_POSITION_FRONT_RIGHT:
      right[c] = 1.0f;
      break;
    case GST_AUDIO_CHANNEL_POSITION_FRONT_CENTER:
    case GST_AUDIO_CHANNEL_POSITION_TOP_FRONT_CENTER:
    case GST_AUDIO_CHANNEL_POSITION_BOTTOM_FRONT_CENTER:
      left[c] = right[c] = kHalfPower;
      break;
    case GST_AUDIO_CHANNEL_POSITION_REAR_CENTER:
    case GST_AUDIO_CHANNEL_POSITION_TOP_CENTER:
    case GST_AUDIO_CHANNEL_POSITION_TOP_REAR_CENTER:
      left[c] = right[c] = 0.5f;
      break;
    case GST_AUDIO_CHANNEL_POSITION_REAR_LEFT:
    case GST_AUDIO_CHANNEL_POSITION_SIDE_LEFT:
    case GST_AUDIO_CHANNEL_POSITION_SURROUND_LEFT:
    case GST_AUDIO_CHANNEL_POSITION_WIDE_LEFT:
    case GST_AUDIO_CHANNEL_POSITION_FRONT_LEFT_OF_CENTER:
    case GST_AUDIO_CHANNEL_POSITION_TOP_FRONT_LEFT:
    case GST_AUDIO_CHANNEL_POSITION_TOP_REAR_LEFT:
    case GST_AUDIO_CHANNEL_POSITION_TOP_SIDE_LEFT:
    case GST_AUDIO_CHANNEL_POSITION_BOTTOM_FRONT_LEFT:
      left[c] = kHalfPower;
      break;
    case GST_AUDIO_CHANNEL_POSITION_REAR_RIGHT:
    case GST_AUDIO_CHANNEL_POSITION_SIDE_RIGHT:
    case GST_AUDIO_CHANNEL_POSITION_SURROUND_RIGHT:
    case GST_AUDIO_CHANNEL_POSITION_WIDE_RIGHT:
    case GST_AUDIO_CHANNEL_POSITION_FRONT_RIGHT_OF_CENTER:
    case GST_AUDIO_CHANNEL_POSITION_TOP_FRONT_RIGHT:
    case GST_AUDIO_CHANNEL_POSITION_TOP_REAR_RIGHT:
    case GST_AUDIO_CHANNEL_POSITION_TOP_SIDE_RIGHT:
    case GST_AUDIO_CHANNEL_POSITION_BOTTOM_FRONT_RIGHT:
      right[c] = kHalfPower;
      break;
    case GST_AUDIO_CHANNEL_POSITION_LFE1:
    case GST_AUDIO_CHANNEL_POSITION_LFE2:
      break;
    default: /* NONE, MONO, INVALID: not a layout to place */
      left.clear();
      right.clear();
      return false;
    }
  }
  return true;
}

namespace
{

/* downmix_to_stereo()'s state: the gains last set (empty: none, audioconvert's own). */
struct Downmix {
  std::mutex lock;
  std::vector<float> left, right;
};

GstPadProbeReturn downmix_on_caps(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  auto &d = **static_cast<std::shared_ptr<Downmix> *>(data);
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT(info);
  if (GST_EVENT_TYPE(event) != GST_EVENT_CAPS)
    return GST_PAD_PROBE_OK;
  GstCaps *caps = nullptr;
  gst_event_parse_caps(event, &caps);
  GstAudioInfo audio;
  std::vector<float> left, right;
  if (caps && gst_audio_info_from_caps(&audio, caps))
    stereo_downmix(audio, left, right);
  {
    std::lock_guard<std::mutex> hold(d.lock);
    if (left == d.left && right == d.right)
      return GST_PAD_PROBE_OK;
    d.left = left;
    d.right = right;
  }
  GValue matrix = G_VALUE_INIT;
  g_value_init(&matrix, GST_TYPE_ARRAY);
  if (!left.empty()) {
    for (const std::vector<float> *gains : {&left, &right}) {
      GValue row = G_VALUE_INIT;
      g_value_init(&row, GST_TYPE_ARRAY);
      for (float gain : *gains) {
        GValue v = G_VALUE_INIT;
        g_value_init(&v, G_TYPE_FLOAT);
        g_value_set_float(&v, gain);
        gst_value_array_append_and_take_value(&row, &v);
      }
      gst_value_array_append_and_take_value(&matrix, &row);
    }
  }
  if (GstObject *convert = gst_pad_get_parent(pad)) {
    GST_DEBUG_OBJECT(convert, "%s downmix to stereo for %" GST_PTR_FORMAT,
                     left.empty() ? "audioconvert's own" : "ITU-R BS.775", caps);
    g_object_set_property(G_OBJECT(convert), "mix-matrix", &matrix);
    gst_object_unref(convert);
  }
  g_value_unset(&matrix);
  return GST_PAD_PROBE_OK;
}

} // namespace

void downmix_to_stereo(GstElement *convert)
{
  static const char *const kKey = "montage-downmix-to-stereo";
  if (g_object_get_data(G_OBJECT(convert), kKey))
    return;
  GstPad *sink = gst_element_get_static_pad(convert, "sink");
  if (!sink)
    return;
  g_object_set_data(G_OBJECT(convert), kKey, GINT_TO_POINTER(1));
  gst_pad_add_probe(sink, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, downmix_on_caps,
                    new std::shared_ptr<Downmix>(std::make_shared<Downmix>()),
                    [](gpointer p) { delete static_cast<std::shared_ptr<Downmix> *>(p); });
  gst_object_unref(sink);
}

bool is_inside(GstObject *obj, GstElement *ancestor)
{
  for (GstObject *o = obj; o; o = GST_OBJECT_PARENT(o))
    if (o == GST_OBJECT(ancestor))
      return true;
  return false;
}

/* The thread that loaded this library: a library linked into the program
 * (the tool, the tests) is loaded, and this initialised, before main() runs,
 * on the process's first thread. */
static GThread *const loading_thread = g_thread_self();

bool on_loading_thread()
{
  return g_thread_self() == loading_thread;
}

/* GLib has no portable way to tell the main thread: g_main_context_is_owner()
 * on the global default context is true only while this thread has acquired
 * it (inside g_main_loop_run() or g_main_context_acquire()), and the tool
 * renders from its main thread without running a loop, so it would leave the
 * tool's Ctrl-C sources undispatched; GLib keeps no public record of the main
 * thread. Each system's own test is used where there is one: on Linux the
 * first thread's id is the process id (gettid(), through syscall() as glibc
 * before 2.30 has no wrapper); macOS and the BSDs have pthread_main_np().
 * Elsewhere (Windows, other Unixes) the thread that loaded the library stands
 * in for it, which is right for a library linked into the program and wrong
 * only for one loaded later from another thread (as a plugin can be). */
bool on_main_thread()
{
#if defined(__linux__)
  return (pid_t)syscall(SYS_gettid) == getpid();
#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || defined(__DragonFly__)
  return pthread_main_np() == 1;
#else
  return on_loading_thread();
#endif
}

/* The context Interrupt dispatches, or NULL for none. The render needs
 * nothing dispatched (it pops its buses, calls progress directly, and
 * neither GES nor the cut path attaches a source it waits for): only the
 * caller's sources are run, on the caller's own context. */
static GMainContext *callers_context()
{
  if (GMainContext *pushed = g_main_context_get_thread_default())
    return g_main_context_ref(pushed);
  return on_main_thread() ? g_main_context_ref(g_main_context_default()) : nullptr;
}

Interrupt::Interrupt(GCancellable *cancellable, bool dispatch)
    : cancellable_(cancellable), context_(dispatch ? callers_context() : nullptr)
{
}

Interrupt::~Interrupt()
{
  if (context_)
    g_main_context_unref(context_);
}

bool Interrupt::check(GError **error)
{
  /* A bounded number of dispatches: a source that is always ready must not
   * keep the render from going on. Each non-blocking iteration owns the
   * context only while it dispatches and does nothing where another thread
   * owns it: holding it for the whole render (as this once did) made a
   * main loop that another thread started during a render wait for the
   * render's end, and had its sources dispatched on the render's thread. */
  for (int i = 0; context_ && i < 16 && g_main_context_iteration(context_, FALSE); i++) {
  }
  if (!cancelled())
    return false;
  if (error && !*error)
    g_cancellable_set_error_if_cancelled(cancellable_, error);
  return true;
}

} // namespace render_detail

using namespace render_detail;

namespace {

void init_debug()
{
  static gsize once = 0;
  if (g_once_init_enter(&once)) {
    GST_DEBUG_CATEGORY_INIT(montage_render_debug, "montagerender", 0, "gst-montage rendering");
    g_once_init_leave(&once, 1);
  }
}

/* GES only where a timeline is built: ges_init() keeps objects (its
 * discoverer) alive until ges_deinit(), which the cut path does not need. */
void init_ges()
{
  init_debug();
  static gsize once = 0;
  if (g_once_init_enter(&once)) {
    ges_init();
    g_once_init_leave(&once, 1);
  }
}

/* What tells one version of a local file from another: device, inode,
 * size, and modification and status-change times to the ns. */
struct FileIdentity {
  guint64 dev = 0, ino = 0, size = 0;
  gint64 mtime_ns = 0, ctime_ns = 0;
  bool regular = false; /* a regular file (not a FIFO, device, directory) */
  bool operator==(const FileIdentity &o) const
  {
    return dev == o.dev && ino == o.ino && size == o.size && mtime_ns == o.mtime_ns &&
           ctime_ns == o.ctime_ns;
  }
};

/* The identity of the local file `uri` names; false for other URIs or a
 * file that cannot be read. */
bool file_identity(const std::string &uri, FileIdentity &out)
{
  gchar *path = g_filename_from_uri(uri.c_str(), nullptr, nullptr);
  if (!path)
    return false;
  struct stat st;
  const bool ok = g_stat(path, &st) == 0;
  g_free(path);
  if (!ok)
    return false;
  out.dev = st.st_dev;
  out.ino = st.st_ino;
  out.size = st.st_size;
  out.mtime_ns = (gint64)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
  out.ctime_ns = (gint64)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec;
  out.regular = S_ISREG(st.st_mode);
  return true;
}

/* Where GES discovers files for us: a thread of our own whose private main
 * context is its thread-default one for its whole life, and which runs that
 * context and nothing else.
 *
 * What GES 1.22 does (ges-asset.c, ges-uri-asset.c, gstdiscoverer.c):
 * ges_asset_request_async() makes a GTask, which reports on the
 * thread-default context of the calling thread at that moment; discovery
 * goes through one GstDiscoverer per calling thread (keyed by
 * g_thread_self()), made at that thread's first discovery and bound for
 * good, by gst_discoverer_start(), to the thread-default context of that
 * moment. Its "discovered" signal, which completes the request, comes only
 * when that context is iterated. ges_uri_clip_asset_request_sync() makes a
 * new discoverer on the thread-default context but waits in a main loop on
 * the global default context: it completes only where the two are the same
 * and this thread can own the global default one, and it dispatches
 * whatever else is attached there (the main thread's sources) on the
 * calling thread. The rediscovery of a changed file waited the same way.
 * So a caller on a thread with its own context hung, and one on a worker
 * thread ran the main thread's sources.
 *
 * Waiting on the caller's thread with a private context pushed for the
 * request is no cure: the thread's discoverer stays bound to the context of
 * its first discovery (gone after that request, or the caller's own), so
 * the next request there would hang. On our own thread the discoverer, the
 * GTasks and the loop all use the one context, whoever calls; the caller
 * waits for the answer, dispatching only its own context (Interrupt). Made
 * on first use and kept for the life of the process, as GES keeps its
 * discoverers until ges_deinit().
 *
 * A caller may stop waiting (cancelled, or past its limit) while GES still
 * discovers: the request is shared between the caller and the thread, and
 * whichever lets go last frees it, so the thread completes it safely later
 * and the asset stays in GES's cache. GES is not asked to cancel (no
 * GCancellable to ges_asset_request_async()): a discovery is one per URI
 * and may be waited on by other requests for the same URI.
 *
 * Not fork-safe: a child forked while the thread exists has the thread's
 * state (its context, GES's discoverer, maybe a lock it held) but not the
 * thread, so a discovery requested in the child times out after its limit
 * (or hangs on that lock). Fork before the first discovery, or exec. */
class AssetThread
{
public:
  static AssetThread &get()
  {
    static AssetThread *thread = new AssetThread(); /* never freed: see above */
    return *thread;
  }

  /* The asset of `uri` as GES reports it (new, fetched from its cache or
   * discovered again after ges_asset_needs_reload()); NULL with `error`
   * set when GES fails to load it (GES's discovery timeout is 60 s), when
   * `interrupt` is cancelled (G_IO_ERROR_CANCELLED, checked every 50 ms)
   * or after `limit` ns without an answer (G_IO_ERROR_TIMED_OUT). */
  GESAsset *request(const std::string &uri, Interrupt &interrupt, GstClockTime limit,
                    GError **error)
  {
    if (interrupt.check(error))
      return nullptr;
    auto req = std::make_shared<Request>();
    req->uri = uri;
    GSource *source = g_idle_source_new();
    g_source_set_callback(source, start, new RequestRef(req), release);
    g_source_attach(source, context_);
    g_source_unref(source);
    const gint64 deadline = g_get_monotonic_time() + (gint64)(limit / GST_USECOND);
    /* Released before `req` (declared after it), which may be the last
     * reference. */
    std::unique_lock<std::mutex> lock(req->mutex);
    while (!req->cond.wait_for(lock, std::chrono::milliseconds(50), [&] { return req->done; })) {
      /* The caller's sources may take long and may cancel: never run them
       * with the request locked. */
      lock.unlock();
      const bool cancelled = interrupt.check(error);
      lock.lock();
      if (cancelled) {
        GST_INFO("stopped waiting for the discovery of %s: cancelled", uri.c_str());
        return nullptr;
      }
      if (!req->done && g_get_monotonic_time() >= deadline) {
        GST_WARNING("no answer about %s from GES within %" GST_TIME_FORMAT, uri.c_str(),
                    GST_TIME_ARGS(limit));
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                    "cannot load %s: no answer from its discovery within %" G_GUINT64_FORMAT " s",
                    uri.c_str(), limit / GST_SECOND);
        return nullptr;
      }
    }
    if (req->error)
      g_propagate_error(error, req->error);
    req->error = nullptr;
    GESAsset *asset = req->asset;
    req->asset = nullptr;
    return asset;
  }

private:
  /* Shared by the caller (until it has its answer or gives up) and the
   * asset thread (until GES has answered); what no caller took is freed
   * with it. */
  struct Request {
    std::string uri;
    std::mutex mutex;
    std::condition_variable cond;
    bool done = false;
    GESAsset *asset = nullptr;
    GError *error = nullptr;
    Request() = default;
    Request(const Request &) = delete;
    Request &operator=(const Request &) = delete;
    ~Request()
    {
      if (asset)
        gst_object_unref(asset);
      if (error)
        g_error_free(error);
    }
  };
  using RequestRef = std::shared_ptr<Request>;

  static void release(gpointer ref) { delete static_cast<RequestRef *>(ref); }

  AssetThread() : context_(g_main_context_new()), loop_(g_main_loop_new(context_, FALSE))
  {
    g_thread_unref(g_thread_new("montage-assets", run, this));
  }

  static gpointer run(gpointer data)
  {
    auto *self = static_cast<AssetThread *>(data);
    g_main_context_push_thread_default(self->context_);
    g_main_loop_run(self->loop_);
    g_main_context_pop_thread_default(self->context_);
    return nullptr;
  }

  /* On the asset thread: the GTask and (at the first request) the
   * discoverer take its context. */
  static gboolean start(gpointer data)
  {
    const RequestRef &req = *static_cast<RequestRef *>(data);
    /* `ready` holds a reference of its own until GES answers. */
    ges_asset_request_async(GES_TYPE_URI_CLIP, req->uri.c_str(), nullptr, ready,
                            new RequestRef(req));
    return G_SOURCE_REMOVE;
  }

  static void ready(GObject *, GAsyncResult *res, gpointer data)
  {
    /* Dropped after the lock below: it may be the last reference. */
    std::unique_ptr<RequestRef> ref(static_cast<RequestRef *>(data));
    Request &req = **ref;
    GError *err = nullptr;
    GESAsset *asset = ges_asset_request_finish(res, &err);
    std::lock_guard<std::mutex> lock(req.mutex);
    req.asset = asset;
    req.error = err;
    req.done = true;
    req.cond.notify_one();
  }

  GMainContext *context_;
  GMainLoop *loop_;
};

} // namespace

/* GES keeps an asset (the file's streams, their ids, its duration) per URI
 * for the whole process; a file replaced under the same name since this
 * process last asked for it (another device, inode, size or time) is
 * discovered again, else its stale stream ids match none of the new file's
 * streams and the render fails ("Internal data stream error"). A URI seen
 * the first time is discovered again too, in case GES holds it from
 * elsewhere (an .xges read back). Anything to discover is discovered on the
 * AssetThread; an asset GES holds ready comes straight from its cache.
 * Dispatches no main context but what `interrupt` dispatches. */
GESAsset *render_detail::request_asset(const std::string &uri, Interrupt &interrupt, GError **error,
                                       GstClockTime limit)
{
  init_ges();
  if (interrupt.check(error))
    return nullptr;
  static std::mutex mutex;
  static std::map<std::string, FileIdentity> seen; /* identity at our last request */
  FileIdentity now;
  bool reload = false;
  const bool local = file_identity(uri, now);
  if (local && !now.regular) {
    /* filesrc would open a FIFO with no writer in the asset thread's
     * discovery, and block there for good (and every discovery after it);
     * a FIFO or device cannot be read again or sought as GES needs anyway. */
    g_set_error(error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_READ,
                "cannot load %s: not a regular file (a clip or song must be a file that can be "
                "read more than once)",
                uri.c_str());
    return nullptr;
  }
  if (local) {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = seen.find(uri);
    reload = it == seen.end() || !(it->second == now);
    seen[uri] = now;
  }

  GError *err = nullptr;
  GESAsset *asset = nullptr;
  if (reload && ges_asset_needs_reload(GES_TYPE_URI_CLIP, uri.c_str())) {
    GST_INFO("%s changed since GES discovered it: discovering it again", uri.c_str());
  } else if (!reload) {
    /* Ready in GES's cache, or NULL (not there, still loading, or failed
     * with `err` set) without waiting for anything. */
    asset = ges_asset_request(GES_TYPE_URI_CLIP, uri.c_str(), &err);
    if (!asset && err) {
      /* Failed after the request that started it stopped waiting (one that
       * fails while waited on is forgotten below, and so rediscovered). */
      GST_INFO("%s failed to load after its request gave up (%s): discovering it again",
               uri.c_str(), err->message);
      g_clear_error(&err);
      ges_asset_needs_reload(GES_TYPE_URI_CLIP, uri.c_str());
    }
  }
  if (!asset && !err)
    asset = AssetThread::get().request(uri, interrupt, limit, &err);
  if (!asset && (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
                 g_error_matches(err, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))) {
    /* Still being discovered: `seen` keeps the URI, so that a later
     * request (ges_asset_request() answers NULL while GES loads it) waits
     * for that discovery rather than starting a second one. */
    g_propagate_error(error, err);
    return nullptr;
  }
  if (!asset) {
    g_set_error(error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_READ, "cannot load %s: %s",
                uri.c_str(), err ? err->message : "unknown error");
    g_clear_error(&err);
    std::lock_guard<std::mutex> lock(mutex);
    seen.erase(uri);
    return nullptr;
  }
  g_clear_error(&err);
  return asset;
}

namespace
{

/* The stream id a clip's track element decodes ("" for other elements). */
std::string stream_id_of(GESTrackElement *element)
{
  GESAsset *asset = ges_extractable_get_asset(GES_EXTRACTABLE(element));
  if (!asset || !GES_IS_URI_SOURCE_ASSET(asset))
    return "";
  GstDiscovererStreamInfo *info = ges_uri_source_asset_get_stream_info(GES_URI_SOURCE_ASSET(asset));
  const gchar *id = info ? gst_discoverer_stream_info_get_stream_id(info) : nullptr;
  return id ? id : "";
}

/* GES 1.22 adds the streams of a reloaded asset to the old ones
 * (ges_uri_clip_asset_set_info() never clears its list), so a clip from an
 * asset discovered again gets a track element per stream of every version
 * of the file, and the first, stale, one takes the track. Keeps one element
 * per stream of the file as it is now, in the track of its type. */
void keep_current_streams(GESClip *clip, GESAsset *asset, GESTimeline *timeline)
{
  std::vector<std::string> current;
  GstDiscovererInfo *info = ges_uri_clip_asset_get_info(GES_URI_CLIP_ASSET(asset));
  GList *streams = info ? gst_discoverer_info_get_stream_list(info) : nullptr;
  for (GList *l = streams; l; l = l->next) {
    const gchar *id = gst_discoverer_stream_info_get_stream_id(GST_DISCOVERER_STREAM_INFO(l->data));
    current.push_back(id ? id : "");
  }
  gst_discoverer_stream_info_list_free(streams);

  GList *children = ges_container_get_children(GES_CONTAINER(clip), FALSE);
  std::vector<GESTrackElement *> keep, drop;
  for (GList *l = children; l; l = l->next) {
    if (!GES_IS_TRACK_ELEMENT(l->data))
      continue;
    GESTrackElement *element = GES_TRACK_ELEMENT(l->data);
    const std::string id = stream_id_of(element);
    if (id.empty())
      continue;
    bool taken = std::any_of(keep.begin(), keep.end(),
                             [&](GESTrackElement *k) { return stream_id_of(k) == id; });
    if (taken || std::find(current.begin(), current.end(), id) == current.end())
      drop.push_back(element);
    else
      keep.push_back(element);
  }
  if (drop.empty()) {
    g_list_free_full(children, gst_object_unref);
    return;
  }
  GST_INFO("clip of %s: dropping %zu track element(s) of streams it no longer has",
           ges_asset_get_id(asset), drop.size());
  for (GESTrackElement *element : drop)
    ges_container_remove(GES_CONTAINER(clip), GES_TIMELINE_ELEMENT(element));
  for (GESTrackElement *element : keep) {
    if (ges_track_element_get_track(element))
      continue;
    GESTrackType type = ges_track_element_get_track_type(element);
    GList *tracks = ges_timeline_get_tracks(timeline);
    for (GList *l = tracks; l; l = l->next) {
      GESTrack *track = GES_TRACK(l->data);
      if (track->type != type)
        continue;
      /* The first track of its type only: for another, GES would add a copy. */
      if (!ges_clip_add_child_to_track(clip, element, track, nullptr))
        GST_WARNING("cannot put the %s stream of %s in its track", stream_id_of(element).c_str(),
                    ges_asset_get_id(asset));
      break;
    }
    g_list_free_full(tracks, gst_object_unref);
  }
  g_list_free_full(children, gst_object_unref);
}

/* The URI of the uridecodebin that `obj` sits in, or "". */
std::string source_uri_of(GstObject *obj)
{
  for (GstObject *o = obj; o; o = GST_OBJECT_PARENT(o)) {
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(o), "uri") && GST_IS_BIN(o)) {
      gchar *uri = nullptr;
      g_object_get(o, "uri", &uri, NULL);
      std::string out(uri ? uri : "");
      g_free(uri);
      if (!out.empty())
        return out;
    }
  }
  return "";
}

/* MPEG program streams (mpegpsdemux: VOB, VCD/DVD rips, cityCC0.mpg) have
 * no index: mpegpsdemux seeks by bisecting the SCR to the packet at the
 * target, not to the keyframe before it, so decoding starts at the next
 * I-frame, up to a GOP late (0.5-0.9 s in cityCC0.mpg). GES seeks each
 * segment's source to its in-point with a stop at its end: a segment shorter
 * than the way to the next I-frame decodes nothing ("No valid frames decoded
 * before end of stream") and a longer one starts late. Seeks reaching an
 * mpegpsdemux are therefore moved kProgramStreamBack earlier (or to the
 * start), and the segment it answers with is put back to the start asked
 * for: the decoder decodes from an I-frame before the in-point and clips the
 * frames before it, as after an accurate seek in an indexed container.
 *
 * mpegpsdemux also clamps a seek's stop to the length it states, while its
 * positions are the file's timestamps (cityCC0.mpg: 0.54 s to 8.14 s, a
 * length of 7.36 s stated), so a segment ending past that length ended
 * there, in black, though add_footage() let the clip reach it. A stop past
 * the stated length is therefore taken off the seek (the demuxer goes on to
 * the end of the file, which is near) and put back on the segment it answers
 * with, where the decoder clips the frames after it. */
constexpr GstClockTime kProgramStreamBack = 10 * GST_SECOND;

/* MPEG transport streams (tsdemux: .ts, .m2ts, .mts; GStreamer 1.22) give
 * their frames the right PTS, but after a seek the segment tsdemux answers
 * with maps them to the wrong stream time: a seek to 0 in a TS whose first
 * frame has PTS 0.767 s answers start 0.767 s, time 0 (every frame 0.767 s
 * early), and an ACCURATE seek to 14.433 s answers start 15.767 s, time
 * 14.433 s (the decoder dropped 1.333 s of frames and stamped frame 450 as
 * 14.433 s, where frame 410 belongs); a plain seek to T lands where the
 * decoder has no reference picture. Without a seek, time = start, so stream
 * time = PTS. Seeks reaching a tsdemux are therefore moved to the start, and
 * the segment it answers with is put back to start at the in-point with
 * time = start: the decoder decodes from the file's first frame and clips
 * the frames before the in-point by their PTS. The seek's stop is taken off
 * (tsdemux would map it as wrongly) and put on that segment, where the
 * decoder ends the stream at it. */

struct ProgramStreamSeek {
  bool transport = false; /* tsdemux: every seek moved to the start */
  std::mutex mutex;
  guint32 seqnum = GST_SEQNUM_INVALID;     /* of the seek moved last */
  GstClockTime start = 0;                  /* what it asked for */
  GstClockTime stop = GST_CLOCK_TIME_NONE; /* the stop taken off it, or NONE */
};

GstPadProbeReturn program_stream_probe(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  auto &state = **static_cast<std::shared_ptr<ProgramStreamSeek> *>(data);
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT(info);
  if (GST_EVENT_TYPE(event) == GST_EVENT_SEEK) {
    gdouble rate;
    GstFormat format;
    GstSeekFlags flags;
    GstSeekType start_type, stop_type;
    gint64 start, stop;
    gst_event_parse_seek(event, &rate, &format, &flags, &start_type, &start, &stop_type, &stop);
    if (format != GST_FORMAT_TIME || rate <= 0 || start_type != GST_SEEK_TYPE_SET || start < 0)
      return GST_PAD_PROBE_OK;
    const guint32 seqnum = gst_event_get_seqnum(event);
    gint64 stated = -1;
    const bool past_end = stop_type == GST_SEEK_TYPE_SET && stop >= 0 &&
                          gst_pad_query_duration(pad, GST_FORMAT_TIME, &stated) && stated > 0 &&
                          stop > stated;
    /* A seek to the start has nothing to move back; its stop may still be
     * past the stated length (a clip whose footage starts at 0). */
    if (start == 0 && !past_end && !state.transport)
      return GST_PAD_PROBE_OK;
    const bool take_stop =
        past_end || (state.transport && stop_type == GST_SEEK_TYPE_SET && stop >= 0);
    {
      std::lock_guard<std::mutex> lock(state.mutex);
      if (state.seqnum == seqnum) /* the same seek on another pad: moved already */
        return GST_PAD_PROBE_OK;
      state.seqnum = seqnum;
      state.start = start;
      state.stop = take_stop ? (GstClockTime)stop : GST_CLOCK_TIME_NONE;
    }
    const gint64 earlier = state.transport                      ? 0
                           : start > (gint64)kProgramStreamBack ? start - kProgramStreamBack
                                                                : 0;
    GST_DEBUG("MPEG %s stream: seek to %" GST_TIME_FORMAT " moved to %" GST_TIME_FORMAT "%s",
              state.transport ? "transport" : "program", GST_TIME_ARGS(start),
              GST_TIME_ARGS(earlier), take_stop ? ", its stop taken off" : "");
    GstEvent *moved =
        gst_event_new_seek(rate, format, flags, GST_SEEK_TYPE_SET, earlier,
                           take_stop ? GST_SEEK_TYPE_NONE : stop_type, take_stop ? -1 : stop);
    gst_event_set_seqnum(moved, seqnum);
    gst_event_unref(event);
    GST_PAD_PROBE_INFO_DATA(info) = moved;
    return GST_PAD_PROBE_OK;
  }
  if (GST_EVENT_TYPE(event) != GST_EVENT_SEGMENT)
    return GST_PAD_PROBE_OK;
  GstClockTime want, want_stop;
  {
    std::lock_guard<std::mutex> lock(state.mutex);
    if (state.seqnum != gst_event_get_seqnum(event))
      return GST_PAD_PROBE_OK;
    want = state.start;
    want_stop = state.stop;
  }
  const GstSegment *seg = nullptr;
  gst_event_parse_segment(event, &seg);
  if (seg->format != GST_FORMAT_TIME || seg->rate <= 0 ||
      (seg->start >= want && !GST_CLOCK_TIME_IS_VALID(want_stop) && !state.transport))
    return GST_PAD_PROBE_OK;
  GstSegment back;
  gst_segment_copy_into(seg, &back);
  if (seg->start < want) {
    back.time += want - seg->start;
    back.start = back.position = want;
  }
  if (state.transport) /* stream time = PTS, as without a seek */
    back.time = back.start;
  if (GST_CLOCK_TIME_IS_VALID(want_stop))
    back.stop = want_stop;
  GstEvent *put_back = gst_event_new_segment(&back);
  gst_event_set_seqnum(put_back, gst_event_get_seqnum(event));
  gst_event_unref(event);
  GST_PAD_PROBE_INFO_DATA(info) = put_back;
  return GST_PAD_PROBE_OK;
}

void on_program_stream_pad(GstElement *demux, GstPad *pad, gpointer)
{
  if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC)
    return;
  auto *state = static_cast<std::shared_ptr<ProgramStreamSeek> *>(
      g_object_get_data(G_OBJECT(demux), "montage-program-stream-seek"));
  if (!state)
    return;
  gst_pad_add_probe(
      pad,
      (GstPadProbeType)(GST_PAD_PROBE_TYPE_EVENT_UPSTREAM | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
      program_stream_probe, new std::shared_ptr<ProgramStreamSeek>(*state),
      [](gpointer p) { delete static_cast<std::shared_ptr<ProgramStreamSeek> *>(p); });
}

/* What a video decoder's output probe knows of its stream. */
struct DecodedStream {
  GstSegment segment;
  GstClockTime caps_frame = 0; /* caps_frame_duration() */
  GstClockTime grid = 0;       /* analysed_frame_duration() of its clip; 0: not known */
  std::shared_ptr<DecoderInput> input;
  GstBuffer *held = nullptr; /* a clipped frame waiting for the next one */
  GstClockTime held_start = 0;
  bool pushing = false; /* held is being pushed from the probe */
  GstCaps *caps = nullptr; /* the last caps event's */
  ~DecodedStream()
  {
    gst_clear_buffer(&held);
    gst_clear_caps(&caps);
  }
};

/* Pushes the clipped frame `stream` holds (if any) from the probe. At EOS
 * the pad has already stored the (sticky) EOS event when its probes run, and
 * refuses data (GST_FLOW_EOS): a frame still held then is lost. None is:
 * the decoder drains ahead of its EOS (drain_ahead_of_eos()), and the held
 * frame goes out at the SEGMENT_DONE that drain ends with. */
void push_held(GstPad *pad, DecodedStream *stream)
{
  GstBuffer *held = stream->held;
  stream->held = nullptr;
  if (!held)
    return;
  stream->pushing = true;
  const GstFlowReturn ret = gst_pad_push(pad, held);
  stream->pushing = false;
  if (ret != GST_FLOW_OK)
    GST_DEBUG("held frame not taken: %s", gst_flow_get_name(ret));
}

/* Pad probe on the source pad of each video decoder in a GES source: a
 * frame the decoder clipped to its segment's start (the in-point, after
 * GES's accurate seek; clipped_off(), render-private.h) is held until the
 * next frame comes and then dropped when that one starts nearer to the
 * in-point, or clipped too (it starts later), else pushed, stamped at the
 * in-point, before it: the nearest-frame rule, ties to the earlier frame,
 * from the real frame times. Stamped as the in-point's own frame, the frame
 * that starts before an in-point and overlaps it by Matroska's millisecond
 * rounding was shown in its place (videorate keeps the first of two frames
 * stamped alike); so were, on a variable-rate clip, frames closer together
 * than half the frame the caps state, which a decoder that gives every frame
 * the caps' duration clips to the in-point by less than that. */
GstPadProbeReturn clipped_frame_probe(GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  auto *stream = static_cast<DecodedStream *>(user_data);
  if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent *event = GST_PAD_PROBE_INFO_EVENT(info);
    switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_SEGMENT:
      /* A new segment without a flush (a segment seek, an edit list) also
       * drops a held frame: it belonged to the segment before. */
      gst_clear_buffer(&stream->held);
      gst_event_copy_segment(event, &stream->segment);
      break;
    case GST_EVENT_CAPS: {
      /* A held frame is in the format before new caps, which the pad has
       * stored by now: it is dropped (a decoder renegotiating within a
       * frame of an in-point; not seen in practice). */
      GstCaps *caps = nullptr;
      gst_event_parse_caps(event, &caps);
      if (stream->caps && !gst_caps_is_equal(caps, stream->caps))
        gst_clear_buffer(&stream->held);
      gst_caps_replace(&stream->caps, caps);
      stream->caps_frame = caps_frame_duration(caps);
      break;
    }
    case GST_EVENT_FLUSH_STOP:
    case GST_EVENT_STREAM_START:
      gst_clear_buffer(&stream->held);
      break;
    case GST_EVENT_EOS:
    case GST_EVENT_SEGMENT_DONE:
    case GST_EVENT_GAP:
      push_held(pad, stream); /* no frame after it */
      break;
    default:
      break;
    }
    return GST_PAD_PROBE_OK;
  }
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
  if (!buf || stream->pushing || stream->segment.rate <= 0)
    return GST_PAD_PROBE_OK;
  const GstClockTime off =
      clipped_off(buf, stream->segment, stream->grid, stream->caps_frame, stream->input.get());
  const GstClockTime at = GST_BUFFER_PTS(buf);
  if (stream->held) {
    /* This frame starts at at - off, later than the held one. */
    const GstClockTime in_point = stream->segment.start;
    if (off == 0 && at >= in_point && in_point - stream->held_start <= at - in_point) {
      push_held(pad, stream);
    } else {
      GST_DEBUG("frame clipped to the in-point %" GST_TIME_FORMAT " started %" GST_TIME_FORMAT
                " before it: dropped, a later frame is nearer",
                GST_TIME_ARGS(in_point), GST_TIME_ARGS(in_point - stream->held_start));
      gst_clear_buffer(&stream->held);
    }
  }
  if (off > 0) {
    stream->held = gst_buffer_ref(buf);
    stream->held_start = at - off;
    return GST_PAD_PROBE_DROP;
  }
  return GST_PAD_PROBE_OK;
}

/* Full-range YUV frames (MJPEG's, phones' yuvj420p H.264) from one video
 * decoder of a GES source, made limited range (16-235 luma, 16-240
 * chroma) before GES converts them to the montage's colorimetry
 * (output_colorimetry(), on the video track's restriction caps).
 * GStreamer 1.22's videoconvert leaves the range alone where input and
 * output share their matrix (video-converter.c, chain_convert(); jpegdec's
 * BT.601 full range to BT.601 limited I420, NV12, Y444, Y444_10LE and
 * AYUV64 alike, docs/render.md): a full-range BT.601 clip in a 640x360
 * montage kept its full-range values under a limited-range label (blacks
 * crushed, whites clipped: a grey ramp 0, 17, ... 255 read 0, 1, 20, ...
 * 255, 255). Only 8-bit YUV formats whose components lie plainly in their
 * planes are converted here; the frame's caps then say limited range,
 * everything else of the colorimetry kept. Work: one table lookup per
 * luma and chroma sample of each full-range frame, in place where the
 * frame is writable, else on a copy. */
struct RangeLimiter {
  bool active = false;
  GstVideoInfo info;
  guint8 luma[256], chroma[256];
  RangeLimiter()
  {
    for (int v = 0; v < 256; v++) {
      luma[v] = (guint8)std::lround(16 + v * 219.0 / 255.0);
      chroma[v] = (guint8)std::lround(128 + (v - 128) * 224.0 / 255.0);
    }
  }
};

/* Whether frames of `info` are full-range YUV that RangeLimiter converts. */
bool limits_range_of(const GstVideoInfo &info)
{
  const GstVideoFormatInfo *f = info.finfo;
  if (!GST_VIDEO_INFO_IS_YUV(&info) || info.colorimetry.range != GST_VIDEO_COLOR_RANGE_0_255 ||
      GST_VIDEO_FORMAT_INFO_IS_TILED(f) ||
      (GST_VIDEO_FORMAT_INFO_FLAGS(f) & GST_VIDEO_FORMAT_FLAG_COMPLEX))
    return false;
  for (guint c = 0; c < 3; c++)
    if (GST_VIDEO_FORMAT_INFO_DEPTH(f, c) != 8 || GST_VIDEO_FORMAT_INFO_PSTRIDE(f, c) <= 0)
      return false;
  return true;
}

/* Pad probe (buffers, downstream events) on a video decoder's source pad:
 * RangeLimiter's work. */
GstPadProbeReturn limit_range_probe(GstPad *, GstPadProbeInfo *info, gpointer user_data)
{
  auto *limiter = static_cast<RangeLimiter *>(user_data);
  if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent *event = GST_PAD_PROBE_INFO_EVENT(info);
    if (GST_EVENT_TYPE(event) != GST_EVENT_CAPS)
      return GST_PAD_PROBE_OK;
    GstCaps *caps = nullptr;
    gst_event_parse_caps(event, &caps);
    limiter->active = false;
    GstVideoInfo video;
    if (!caps || !gst_video_info_from_caps(&video, caps) || !limits_range_of(video))
      return GST_PAD_PROBE_OK;
    video.colorimetry.range = GST_VIDEO_COLOR_RANGE_16_235;
    gchar *colorimetry = gst_video_colorimetry_to_string(&video.colorimetry);
    GstCaps *limited = gst_caps_copy(caps);
    gst_caps_set_simple(limited, "colorimetry", G_TYPE_STRING, colorimetry, NULL);
    GST_DEBUG("full-range frames made limited range: %s", colorimetry);
    g_free(colorimetry);
    GST_PAD_PROBE_INFO_DATA(info) = gst_event_new_caps(limited);
    gst_caps_unref(limited);
    gst_event_unref(event);
    limiter->info = video;
    limiter->active = true;
    return GST_PAD_PROBE_OK;
  }
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
  if (!limiter->active || !buf)
    return GST_PAD_PROBE_OK;
  buf = gst_buffer_make_writable(buf);
  GST_PAD_PROBE_INFO_DATA(info) = buf;
  GstVideoFrame frame;
  if (!gst_video_frame_map(&frame, &limiter->info, buf, GST_MAP_READWRITE)) {
    GST_WARNING("cannot map a full-range frame to make it limited range");
    return GST_PAD_PROBE_OK;
  }
  for (guint c = 0; c < 3; c++) {
    const guint8 *lut = c == 0 ? limiter->luma : limiter->chroma;
    const gint w = GST_VIDEO_FRAME_COMP_WIDTH(&frame, c),
               h = GST_VIDEO_FRAME_COMP_HEIGHT(&frame, c);
    const gint stride = GST_VIDEO_FRAME_COMP_STRIDE(&frame, c);
    const gint pstride = GST_VIDEO_FRAME_COMP_PSTRIDE(&frame, c);
    guint8 *data = (guint8 *)GST_VIDEO_FRAME_COMP_DATA(&frame, c);
    for (gint y = 0; y < h; y++) {
      guint8 *p = data + (gsize)y * stride;
      if (pstride == 1) { /* planar: the common case, a simpler loop */
        for (gint x = 0; x < w; x++)
          p[x] = lut[p[x]];
        continue;
      }
      for (gint x = 0; x < w; x++, p += pstride)
        *p = lut[*p];
    }
  }
  gst_video_frame_unmap(&frame);
  return GST_PAD_PROBE_OK;
}

/* "deep-element-added" of the render pipeline: lets each uridecodebin
 * decode VP9 with alpha (decode_alpha_streams()), watches each mpegpsdemux
 * and tsdemux, and the input and output of each video decoder (clipped_frame_probe()),
 * with the analysed frame duration of its clip from `grids` (by URI: that
 * of the uridecodebin it sits in). */
void on_element_for_seeks(GstBin *, GstBin *, GstElement *element, gpointer grids)
{
  if (GST_IS_VIDEO_DECODER(element)) {
    if (GstPad *pad = gst_element_get_static_pad(element, "src")) {
      auto *stream = new DecodedStream();
      gst_segment_init(&stream->segment, GST_FORMAT_UNDEFINED);
      stream->input = watch_decoder_input(element);
      guard_packed_b_frames(element); /* before clipped_frame_probe() */
      const auto &by_uri = *static_cast<const std::map<std::string, GstClockTime> *>(grids);
      for (GstObject *up = gst_object_get_parent(GST_OBJECT(element)); up;) {
        if (g_object_class_find_property(G_OBJECT_GET_CLASS(up), "uri")) {
          gchar *uri = nullptr;
          g_object_get(up, "uri", &uri, NULL);
          auto found = uri ? by_uri.find(uri) : by_uri.end();
          if (found != by_uri.end())
            stream->grid = found->second;
          g_free(uri);
          gst_object_unref(up);
          break;
        }
        GstObject *next = gst_object_get_parent(up);
        gst_object_unref(up);
        up = next;
      }
      gst_pad_add_probe(
          pad, (GstPadProbeType)(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
          clipped_frame_probe, stream, [](gpointer p) { delete static_cast<DecodedStream *>(p); });
      /* After clipped_frame_probe(), which pushes a frame it held through
       * the pad's probes again: each frame is converted once. */
      gst_pad_add_probe(
          pad, (GstPadProbeType)(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
          limit_range_probe, new RangeLimiter(),
          [](gpointer p) { delete static_cast<RangeLimiter *>(p); });
      drain_ahead_of_eos(element); /* done by the guard already; both need it */
      gst_object_unref(pad);
    }
    return;
  }
  GstElementFactory *factory = gst_element_get_factory(element);
  if (factory && g_strcmp0(GST_OBJECT_NAME(factory), "uridecodebin") == 0) {
    decode_alpha_streams(element); /* GES's sources: VP9 with alpha */
    return;
  }
  const bool transport = factory && g_strcmp0(GST_OBJECT_NAME(factory), "tsdemux") == 0;
  if (!factory || (g_strcmp0(GST_OBJECT_NAME(factory), "mpegpsdemux") != 0 && !transport))
    return;
  auto seeks = std::make_shared<ProgramStreamSeek>();
  seeks->transport = transport;
  g_object_set_data_full(G_OBJECT(element), "montage-program-stream-seek",
                         new std::shared_ptr<ProgramStreamSeek>(std::move(seeks)), [](gpointer p) {
                           delete static_cast<std::shared_ptr<ProgramStreamSeek> *>(p);
                         });
  g_signal_connect(element, "pad-added", G_CALLBACK(on_program_stream_pad), nullptr);
}

/* The audio encoder encodebin picked, whose priming the finished file is
 * made to skip, and what it was given (aac_encoder_keep_end()). */
struct AudioEncoderSeen {
  std::mutex lock;
  GstElementFactory *factory = nullptr; /* not reffed: registered for the process */
  std::shared_ptr<const AacEncoderInput> input;
};

/* "deep-element-added" of the render pipeline: the audio encoder is given
 * silence after the song so that every sample of it is encoded, and the
 * MP4 muxer counts the movie's time in samples (48 kHz), so that the sound
 * track's edit can end on the song's last sample (mp4priming.h). Every
 * audioconvert (the song's source's, GES's) downmixes more than two
 * channels by downmix_to_stereo(): the audio track is stereo. */
void on_audio_encoder(GstBin *, GstBin *, GstElement *element, gpointer data)
{
  GstElementFactory *f = gst_element_get_factory(element);
  const char *klass = f ? gst_element_factory_get_metadata(f, GST_ELEMENT_METADATA_KLASS) : "";
  if (klass && strstr(klass, "Encoder") && strstr(klass, "Audio")) {
    auto *seen = static_cast<AudioEncoderSeen *>(data);
    std::shared_ptr<const AacEncoderInput> input = aac_encoder_keep_end(element);
    std::lock_guard<std::mutex> hold(seen->lock);
    seen->factory = f;
    seen->input = input;
  } else if (f && g_strcmp0(GST_OBJECT_NAME(f), "audioconvert") == 0) {
    downmix_to_stereo(element);
  } else if (klass && strstr(klass, "Muxer") && g_strcmp0(GST_OBJECT_NAME(f), "mp4mux") == 0) {
    g_object_set(element, "movie-timescale", 48000u, NULL);
    tag_as_montage(element); /* encoder.h: a later run tells it from footage */
    sync_samples_at_idr_only(element); /* encoder.h: seeking lands on IDR frames */
  }
}

/* Key frames at the timeline's cuts: the running times (ns) at which a
 * video clip of the timeline starts, after its first, in order; `next`,
 * the first not yet asked for. As the cut path asks (render-cuts.cpp,
 * Output::key_unit_at()): without it only x264's scene cuts put key frames
 * at cuts, and none in a preview (speed-preset ultrafast). */
struct KeyUnitCuts {
  std::vector<GstClockTime> cuts;
  size_t next = 0;
  guint count = 0;
};

/* The start of every video clip of `timeline` but the earliest, sorted,
 * each once (a dissolve's later clip starts where the dissolve does). */
std::vector<GstClockTime> timeline_cuts(GESTimeline *timeline)
{
  std::vector<GstClockTime> cuts;
  GList *layers = ges_timeline_get_layers(timeline);
  for (GList *l = layers; l; l = l->next) {
    GList *placed = ges_layer_get_clips(GES_LAYER(l->data));
    for (GList *c = placed; c; c = c->next)
      if (ges_clip_get_supported_formats(GES_CLIP(c->data)) & GES_TRACK_TYPE_VIDEO)
        cuts.push_back(GES_TIMELINE_ELEMENT_START(c->data));
    g_list_free_full(placed, gst_object_unref);
  }
  g_list_free_full(layers, gst_object_unref);
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  if (!cuts.empty())
    cuts.erase(cuts.begin());
  return cuts;
}

/* Buffer probe on the video encoder's sink pad: before the first frame at
 * or past a cut (within half a frame, by the frame's running time), a
 * downstream force-key-unit event goes into the encoder (a
 * GstVideoEncoder: x264enc, openh264enc, nvh264enc, the VA encoders), which
 * codes that frame as an IDR picture. */
GstPadProbeReturn key_unit_at_cuts(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  auto *k = static_cast<KeyUnitCuts *>(data);
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
  if (!buf || k->next >= k->cuts.size() || !GST_BUFFER_PTS_IS_VALID(buf))
    return GST_PAD_PROBE_OK;
  GstEvent *seg_event = gst_pad_get_sticky_event(pad, GST_EVENT_SEGMENT, 0);
  if (!seg_event)
    return GST_PAD_PROBE_OK;
  const GstSegment *segment = nullptr;
  gst_event_parse_segment(seg_event, &segment);
  const GstClockTime rt =
      gst_segment_to_running_time(segment, GST_FORMAT_TIME, GST_BUFFER_PTS(buf));
  const GstClockTime st = gst_segment_to_stream_time(segment, GST_FORMAT_TIME, GST_BUFFER_PTS(buf));
  gst_event_unref(seg_event);
  if (!GST_CLOCK_TIME_IS_VALID(rt))
    return GST_PAD_PROBE_OK;
  const GstClockTime half = GST_BUFFER_DURATION_IS_VALID(buf) ? GST_BUFFER_DURATION(buf) / 2 : 0;
  if (rt + half < k->cuts[k->next])
    return GST_PAD_PROBE_OK;
  while (k->next < k->cuts.size() && k->cuts[k->next] <= rt + half)
    k->next++;
  gst_pad_send_event(pad, gst_video_event_new_downstream_force_key_unit(
                              GST_BUFFER_PTS(buf), st, rt, FALSE /* all headers */, ++k->count));
  return GST_PAD_PROBE_OK;
}

/* "deep-element-added" of the render pipeline: the video encoder's sink
 * pad gets key_unit_at_cuts(). */
void on_video_encoder(GstBin *, GstBin *, GstElement *element, gpointer data)
{
  if (!GST_IS_VIDEO_ENCODER(element))
    return;
  if (GstPad *pad = gst_element_get_static_pad(element, "sink")) {
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, key_unit_at_cuts, data, nullptr);
    gst_object_unref(pad);
  }
}

Outcome run_render(GESTimeline *timeline, const std::vector<ClipAnalysis> &clips,
                   const std::string &tmp_uri, const std::string &encoder,
                   const RenderSettings &settings, GstClockTime duration, Interrupt &interrupt,
                   std::string &failed_uri, GError **error)
{
  std::map<std::string, GstClockTime> grids; /* analysed frame duration by URI */
  for (const ClipAnalysis &clip : clips)
    grids[clip.uri] = analysed_frame_duration(clip);
  GESPipeline *pipeline = ges_pipeline_new();
  ges_pipeline_set_timeline(pipeline, GES_TIMELINE(gst_object_ref(timeline)));

  EncoderWatch watch(encoder, settings.preview);
  gulong handler =
      g_signal_connect(pipeline, "deep-element-added", G_CALLBACK(on_deep_element_added), &watch);
  gulong seeks_handler =
      g_signal_connect(pipeline, "deep-element-added", G_CALLBACK(on_element_for_seeks), &grids);
  AudioEncoderSeen audio_encoder;
  gulong audio_handler = g_signal_connect(pipeline, "deep-element-added",
                                          G_CALLBACK(on_audio_encoder), &audio_encoder);
  KeyUnitCuts key_units;
  key_units.cuts = timeline_cuts(timeline);
  gulong key_handler =
      g_signal_connect(pipeline, "deep-element-added", G_CALLBACK(on_video_encoder), &key_units);

  GstEncodingProfile *profile = make_profile(encoder);
  Outcome outcome = Outcome::kDone;
  if (!ges_pipeline_set_render_settings(pipeline, tmp_uri.c_str(), profile) ||
      !ges_pipeline_set_mode(pipeline, GES_PIPELINE_MODE_RENDER)) {
    g_set_error(error, GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION,
                "cannot set up rendering to MP4 with %s", encoder.c_str());
    outcome = Outcome::kEncoderFailed;
  }
  gst_object_unref(profile);

  if (outcome == Outcome::kDone &&
      gst_element_set_state(GST_ELEMENT(pipeline), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    /* The reason is posted on the bus; read it below. */
    GST_WARNING("render pipeline refused to start");
  }

  GstBus *bus = gst_element_get_bus(GST_ELEMENT(pipeline));
  gint64 last_progress = g_get_monotonic_time();
  while (outcome == Outcome::kDone) {
    /* Checked every 50 ms, whether or not the pipeline moves. */
    if (interrupt.check(error)) {
      outcome = Outcome::kFailed;
      break;
    }
    GstMessage *msg = gst_bus_timed_pop_filtered(
        bus, 50 * GST_MSECOND, (GstMessageType)(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    if (!msg) {
      gint64 pos = 0;
      const gint64 now = g_get_monotonic_time();
      if (now - last_progress < 250 * 1000)
        continue;
      last_progress = now;
      if (settings.progress && gst_element_query_position(GST_ELEMENT(pipeline), GST_FORMAT_TIME, &pos))
        settings.progress((GstClockTime)pos, duration);
      continue;
    }
    if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS) {
      gst_message_unref(msg);
      if (settings.progress)
        settings.progress(duration, duration);
      break;
    }
    GError *err = nullptr;
    gchar *debug = nullptr;
    gst_message_parse_error(msg, &err, &debug);
    GST_WARNING("render error from %s: %s (%s)", GST_MESSAGE_SRC_NAME(msg), err->message,
                GST_STR_NULL(debug));
    bool from_encoder = watch.instance && is_inside(GST_MESSAGE_SRC(msg), watch.instance);
    if (!from_encoder)
      failed_uri = source_uri_of(GST_MESSAGE_SRC(msg));
    g_set_error_literal(error, err->domain, err->code, err->message);
    outcome = from_encoder ? Outcome::kEncoderFailed : Outcome::kFailed;
    g_error_free(err);
    g_free(debug);
    gst_message_unref(msg);
  }
  gst_object_unref(bus);
  gst_element_set_state(GST_ELEMENT(pipeline), GST_STATE_NULL);
  g_signal_handler_disconnect(pipeline, handler);
  g_signal_handler_disconnect(pipeline, seeks_handler);
  g_signal_handler_disconnect(pipeline, audio_handler);
  g_signal_handler_disconnect(pipeline, key_handler);
  if (outcome == Outcome::kDone && audio_encoder.factory) { /* the file is closed */
    gchar *tmp_path = g_filename_from_uri(tmp_uri.c_str(), nullptr, nullptr);
    if (tmp_path)
      mp4_fix_audio_priming(tmp_path, GST_OBJECT_NAME(audio_encoder.factory), nullptr,
                            audio_encoder.input ? audio_encoder.input->samples.load() : 0);
    g_free(tmp_path);
  }
  gst_object_unref(pipeline);
  return outcome;
}

/* Linear keyframes on a child property of `clip`'s track element of `type`.
 * Keyframe times are in the element's internal (in-point based) time. */
bool set_ramp(GESClip *clip, GType type, const char *property,
              std::initializer_list<std::pair<GstClockTime, double>> points)
{
  GESTrackElement *element = ges_clip_find_track_element(clip, nullptr, type);
  if (!element)
    return false;
  GstControlSource *cs = gst_interpolation_control_source_new();
  g_object_set(cs, "mode", GST_INTERPOLATION_MODE_LINEAR, NULL);
  for (const auto &p : points)
    gst_timed_value_control_source_set(GST_TIMED_VALUE_CONTROL_SOURCE(cs), p.first, p.second);
  bool ok = ges_track_element_set_control_source(element, cs, property, "direct-absolute");
  gst_object_unref(cs);
  gst_object_unref(element);
  return ok;
}

/* Where the picture of `element` (a clip's video source) goes in the
 * `width` x `height` output, in output pixels: fitted to it with its display
 * aspect ratio kept (stored size x pixel aspect ratio, turned where the
 * image-orientation tag says the picture is stored turned, as GES's
 * videoflip turns it) and centred, black bars above and below or left and
 * right, as the cut path's videoconvertscale (add-borders) places it, with
 * the same integer arithmetic: fitted height width * dar_d / dar_n
 * truncated, or where that is taller than `height`, fitted width
 * height * dar_n / dar_d truncated; offset half the space left, truncated.
 * False (nothing to set) where the source's video stream is unknown. */
bool fitted_placement(GESTrackElement *element, gint width, gint height, gint *x, gint *y, gint *w,
                      gint *h)
{
  GESAsset *asset = ges_extractable_get_asset(GES_EXTRACTABLE(element));
  if (!asset || !GES_IS_URI_SOURCE_ASSET(asset))
    return false;
  GstDiscovererStreamInfo *info = ges_uri_source_asset_get_stream_info(GES_URI_SOURCE_ASSET(asset));
  if (!info || !GST_IS_DISCOVERER_VIDEO_INFO(info))
    return false;
  GstDiscovererVideoInfo *video = GST_DISCOVERER_VIDEO_INFO(info);
  gint in_w = (gint)gst_discoverer_video_info_get_width(video);
  gint in_h = (gint)gst_discoverer_video_info_get_height(video);
  gint par_n = (gint)gst_discoverer_video_info_get_par_num(video);
  gint par_d = (gint)gst_discoverer_video_info_get_par_denom(video);
  if (in_w <= 0 || in_h <= 0)
    return false;
  if (par_n <= 0 || par_d <= 0)
    par_n = par_d = 1;
  const GstTagList *tags = gst_discoverer_stream_info_get_tags(info);
  gchar *orientation = nullptr;
  if (tags && gst_tag_list_get_string(tags, GST_TAG_IMAGE_ORIENTATION, &orientation) &&
      (g_str_has_suffix(orientation, "rotate-90") || g_str_has_suffix(orientation, "rotate-270"))) {
    std::swap(in_w, in_h); /* also flip-rotate-90/270 */
    std::swap(par_n, par_d);
  }
  g_free(orientation);
  gint dar_n, dar_d;
  if (!gst_util_fraction_multiply(in_w, in_h, par_n, par_d, &dar_n, &dar_d))
    return false;
  *x = *y = 0;
  *w = width;
  *h = height;
  const gint to_h = (gint)gst_util_uint64_scale_int(width, dar_d, dar_n);
  if (to_h <= height) {
    *h = std::max(to_h, 1); /* 0 would be "the stored size" to GES */
    *y = (height - *h) / 2;
  } else {
    *w = std::max((gint)gst_util_uint64_scale_int(height, dar_n, dar_d), 1);
    *x = (width - *w) / 2;
  }
  return true;
}

/* Sets where the video of `clip` goes in the `width` x `height` output
 * (fitted_placement()) on its source's positioner (the child properties
 * posx, posy, width, height). GES's own placement (GstFramePositioner's
 * automatic one, from the track's restriction caps) is not used: it takes a
 * clip whose size corrected by its pixel aspect ratio equals the output
 * size as placed already and leaves the compositor to draw it at its stored
 * size stretched by that ratio, from the top-left corner: a 1280x960 clip
 * with 4:3 pixels (16:9) in a 1280x720 montage, and a 640x480 one in a
 * 640x360 montage, lost their right and bottom quarters (trial h113). */
void place_video(GESClip *clip, gint width, gint height)
{
  GESTrackElement *element = ges_clip_find_track_element(clip, nullptr, GES_TYPE_VIDEO_SOURCE);
  if (!element)
    return;
  gint x, y, w, h;
  if (fitted_placement(element, width, height, &x, &y, &w, &h)) {
    const std::pair<const char *, gint> set[] = {
        {"posx", x}, {"posy", y}, {"width", w}, {"height", h}};
    for (const auto &p : set) {
      GValue value = G_VALUE_INIT;
      g_value_init(&value, G_TYPE_INT);
      g_value_set_int(&value, p.second);
      if (!ges_timeline_element_set_child_property(GES_TIMELINE_ELEMENT(element), p.first, &value))
        GST_WARNING("cannot set %s of the video of %s", p.first,
                    ges_asset_get_id(ges_extractable_get_asset(GES_EXTRACTABLE(clip))));
      g_value_unset(&value);
    }
    GST_DEBUG("%s placed at %d,%d, %dx%d",
              ges_asset_get_id(ges_extractable_get_asset(GES_EXTRACTABLE(clip))), x, y, w, h);
  }
  gst_object_unref(element);
}

/* Adds the video of `asset` from `inpoint` (stream time) for `duration` at
 * `start`, with the track elements of the file as it is now. GES lets a
 * clip reach only in-point + duration <= its asset's max-duration, the
 * length GstDiscoverer reports, which GES compares with in-points in stream
 * time as if every file started at 0; it cuts a clip that reaches further
 * short without a word (ges_layer_add_asset() shortens its duration). Files
 * whose timestamps start late, or whose container states too short a
 * length, lose their last frames that way: cityCC0.mpg (MPEG program
 * stream) runs from 0.54 s to 8.14 s in stream time, mpegpsdemux reports
 * 7.36 s, and every segment past 7.36 s in it ended in black (a dissolve
 * plan showed 0.3-0.7 s of black at the end of such segments). Where the
 * segment reaches past that, the clip's source is given a max-duration
 * that covers it, when the analysis decoded frames that far (`clip`
 * .duration, the end of its last frame): what the cut path shows there. */
GESClip *add_footage(GESLayer *layer, GESAsset *asset, GstClockTime start, GstClockTime inpoint,
                     GstClockTime duration, const ClipAnalysis &clip)
{
  const GstClockTime reach = ges_uri_clip_asset_get_max_duration(GES_URI_CLIP_ASSET(asset));
  const GstClockTime end = inpoint + duration;
  const bool lift = GST_CLOCK_TIME_IS_VALID(reach) && end > reach &&
                    GST_CLOCK_TIME_IS_VALID(clip.duration) && clip.duration > reach;
  /* Added from in-point 0 and no longer than GES allows there (it refuses
   * an in-point at or past its reach), then moved once the source may
   * reach further. */
  GESClip *added =
      ges_layer_add_asset(layer, asset, start, lift ? 0 : inpoint,
                          lift ? std::min(duration, reach) : duration, GES_TRACK_TYPE_VIDEO);
  if (!added)
    return nullptr;
  GESTimeline *timeline = ges_layer_get_timeline(layer);
  keep_current_streams(added, asset, timeline);
  if (!lift)
    return added;
  const GstClockTime max_duration = std::max(end, clip.duration);
  GST_INFO("%s: GES reaches %" GST_TIME_FORMAT
           " of its stream time, the segment at %" GST_TIME_FORMAT " needs %" GST_TIME_FORMAT
           ": its source may now reach %" GST_TIME_FORMAT,
           clip.uri.c_str(), GST_TIME_ARGS(reach), GST_TIME_ARGS(start), GST_TIME_ARGS(end),
           GST_TIME_ARGS(max_duration));
  bool ok = true;
  GList *children = ges_container_get_children(GES_CONTAINER(added), FALSE);
  for (GList *l = children; l; l = l->next)
    if (GES_IS_TRACK_ELEMENT(l->data) &&
        ges_track_element_has_internal_source(GES_TRACK_ELEMENT(l->data)))
      ok = ges_timeline_element_set_max_duration(GES_TIMELINE_ELEMENT(l->data), max_duration) && ok;
  g_list_free_full(children, gst_object_unref);
  ok = ok && ges_timeline_element_set_inpoint(GES_TIMELINE_ELEMENT(added), inpoint) &&
       ges_timeline_element_set_duration(GES_TIMELINE_ELEMENT(added), duration) &&
       GES_TIMELINE_ELEMENT_INPOINT(added) == inpoint &&
       GES_TIMELINE_ELEMENT_DURATION(added) == duration;
  if (!ok) {
    ges_layer_remove_clip(layer, added);
    return nullptr;
  }
  return added;
}

const Shot *shot_of(const Segment &seg, const std::vector<ClipAnalysis> &clips)
{
  if (seg.clip >= clips.size() || seg.shot >= clips[seg.clip].shots.size())
    return nullptr;
  return &clips[seg.clip].shots[seg.shot];
}

} // namespace

bool timeline_is_cut_only(const Plan &plan, const TimelineOptions &options)
{
  if (plan.fps_n <= 0 || plan.fps_d <= 0)
    return false;
  GstClockTime frame = gst_util_uint64_scale_int(GST_SECOND, plan.fps_d, plan.fps_n);
  for (size_t i = 1; i < plan.segments.size() && i < options.transitions.size(); i++) {
    GstClockTime d = i < options.transition_durations.size() ? options.transition_durations[i] : 0;
    d = std::min({d, plan.segments[i - 1].duration, plan.segments[i].duration});
    if (options.transitions[i] != Transition::kCut && d / 2 >= frame)
      return false;
  }
  return true;
}

namespace
{

/* build_timeline(), waiting for discoveries through `interrupt`; `notes`,
 * when given, gets a sentence for each dissolve made a cut (no footage to
 * spare around it), and `dissolves_cut` the index of the segment it led
 * into, and of each segment whose fade or dissolve is too short to draw
 * (under one output frame each way). */
GESTimeline *make_timeline(const Plan &plan, const SongAnalysis &song,
                           const std::vector<ClipAnalysis> &clips, gint width, gint height,
                           GError **error, const TimelineOptions &options, Interrupt &interrupt,
                           std::vector<std::string> *notes = nullptr,
                           std::vector<std::size_t> *dissolves_cut = nullptr)
{
  init_ges();
  GESTimeline *timeline = ges_timeline_new_audio_video();
  gst_object_ref_sink(timeline);
  GList *tracks = ges_timeline_get_tracks(timeline);
  for (GList *l = tracks; l; l = l->next) {
    GESTrack *track = GES_TRACK(l->data);
    GstCaps *caps;
    if (track->type == GES_TRACK_TYPE_VIDEO) {
      /* One format and colorimetry for the whole render, as along the cut
       * path: left open, the compositor gave out each stretch in its
       * clips' colorimetry (full range where a full-range clip played,
       * limited where a limited one did), the encoder took the first for
       * the file, and every other clip's levels were read wrong (limited
       * clips beside a full-range one came out in 16-235). */
      gchar *colorimetry = output_colorimetry(width, height);
      caps =
          gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "I420", "width", G_TYPE_INT,
                              width, "height", G_TYPE_INT, height, "framerate", GST_TYPE_FRACTION,
                              plan.fps_n, plan.fps_d, "pixel-aspect-ratio", GST_TYPE_FRACTION, 1, 1,
                              "colorimetry", G_TYPE_STRING, colorimetry, NULL);
      g_free(colorimetry);
    } else
      caps = gst_caps_new_simple("audio/x-raw", "rate", G_TYPE_INT, 48000, "channels", G_TYPE_INT,
                                 2, NULL);
    ges_track_set_restriction_caps(track, caps);
    gst_caps_unref(caps);
  }
  g_list_free_full(tracks, gst_object_unref);

  GESLayer *video_layer = ges_timeline_append_layer(timeline);
  GESLayer *audio_layer = ges_timeline_append_layer(timeline);
  /* Overlapping clips in the video layer become crossfades (dissolves). */
  ges_layer_set_auto_transition(video_layer, TRUE);

  /* Where each segment sits once transitions are applied. */
  const size_t n = plan.segments.size();
  std::vector<GstClockTime> start(n), inpoint(n), duration(n);
  std::vector<bool> fade_in(n, false), fade_out(n, false);
  std::vector<GstClockTime> fade_in_len(n, 0), fade_out_len(n, 0);
  for (size_t i = 0; i < n; i++) {
    start[i] = plan.segments[i].start;
    inpoint[i] = plan.segments[i].inpoint;
    duration[i] = plan.segments[i].duration;
  }
  GstClockTime frame = gst_util_uint64_scale_int(GST_SECOND, plan.fps_d, plan.fps_n);
  for (size_t i = 1; i < n && i < options.transitions.size(); i++) {
    Transition kind = options.transitions[i];
    GstClockTime d = i < options.transition_durations.size() ? options.transition_durations[i] : 0;
    d = std::min({d, plan.segments[i - 1].duration, plan.segments[i].duration});
    GstClockTime half = d / 2;
    if (kind == Transition::kCut)
      continue;
    if (half < frame) {
      /* Too short to draw (under one output frame each way): a cut, as the
       * plan's own output grid has it; no note, but said as cut. */
      if (dissolves_cut)
        dissolves_cut->push_back(i);
      continue;
    }
    if (kind == Transition::kFade) {
      fade_out[i - 1] = fade_in[i] = true;
      fade_out_len[i - 1] = fade_in_len[i] = half;
      continue;
    }
    /* The overlap is a whole number of output frames each way, so that the
     * later clip starts on the output grid: GES counts a clip's frames from
     * its own start, and a clip starting between two frames of the grid
     * (half of a 370 ms dissolve: 185 ms, 4.6 frames at 25 fps) and ending
     * on it got one frame more, shown where nothing follows it (101 for a
     * 100-frame plan at 25 and 30 fps; 160 for 159 in the trial). */
    const guint64 cut = frame_index(start[i], plan);
    const guint64 h = std::min(frame_index(half, plan), cut);
    const GstClockTime before = start[i] - frame_time(cut - h, plan);
    const GstClockTime after = frame_time(cut + h, plan) - start[i];
    const Shot *prev = shot_of(plan.segments[i - 1], clips);
    const Shot *cur = shot_of(plan.segments[i], clips);
    if (!prev || !cur || inpoint[i - 1] + duration[i - 1] + after + frame > prev->end ||
        inpoint[i] < cur->start + before) {
      gchar *note = g_strdup_printf(
          "the dissolve at %.3f s is a cut: its shots have no footage to spare around it (%.3f s "
          "before the in-point of the segment it starts and after the end of the one it ends "
          "are needed)",
          start[i] / (double)GST_SECOND, before / (double)GST_SECOND);
      GST_INFO("%s", note);
      if (notes)
        notes->push_back(note);
      if (dissolves_cut)
        dissolves_cut->push_back(i);
      g_free(note);
      continue;
    }
    duration[i - 1] += after;
    start[i] -= before;
    inpoint[i] -= before;
    duration[i] += before;
  }
  /* nlecomposition renders the timeline as stacks, one between each two
   * element boundaries (a clip's start or end, a transition's end), and the
   * compositor counts each stack's frames from the stack's own start (its
   * k-th at start + k * frame length, truncated). A stack 1 ns longer than
   * its frames gets one frame more; where the edit ends that frame is shown.
   * on_output_grid() ends the last clip after its own frames counted from
   * its start, but a dissolve before it makes the last stack start at the
   * dissolve's end instead (frames 69 to 77 at 30 fps: the last stack from
   * 2566666666 ns to 3333333333 ns, 766666667 ns, 1 ns more than its 23
   * frames), and the timeline gave one frame more than the plan (101 for
   * 100; 160 for 159, 272 for 271 in the trial). So the clip that ends the
   * edit ends after its own frames counted from the last boundary before
   * its end, and the song with it, so that no track is 1 ns longer than
   * the video (a 1 ns gap padded to a frame). */
  GstClockTime song_end = plan.duration;
  if (n > 0) {
    size_t last = 0;
    for (size_t i = 1; i < n; i++)
      if (start[i] + duration[i] >= start[last] + duration[last])
        last = i;
    const GstClockTime end = start[last] + duration[last];
    GstClockTime boundary = 0;
    for (size_t i = 0; i < n; i++) {
      if (start[i] < end)
        boundary = std::max(boundary, start[i]);
      if (start[i] + duration[i] < end)
        boundary = std::max(boundary, start[i] + duration[i]);
    }
    const guint64 first = frame_index(boundary, plan), frames_end = frame_index(end, plan);
    const GstClockTime own_end = boundary + frame_time(frames_end - first, plan);
    if (frames_end > first && own_end < end && own_end > start[last]) {
      GST_DEBUG("the edit ends at %" GST_TIME_FORMAT " after its last stack's own frames",
                GST_TIME_ARGS(own_end));
      duration[last] = own_end - start[last];
      if (end >= plan.duration)
        song_end = own_end;
    }
  }

  std::map<std::size_t, GESAsset *> assets;
  bool ok = true;
  for (size_t i = 0; i < n; i++) {
    const Segment &seg = plan.segments[i];
    if (seg.clip >= clips.size()) {
      g_set_error(error, GST_CORE_ERROR, GST_CORE_ERROR_FAILED, "plan refers to clip %zu of %zu",
                  seg.clip, clips.size());
      ok = false;
      break;
    }
    GESAsset *&asset = assets[seg.clip];
    if (!asset && !(asset = request_asset(clips[seg.clip].uri, interrupt, error))) {
      ok = false;
      break;
    }
    GESClip *clip =
        add_footage(video_layer, asset, start[i], inpoint[i], duration[i], clips[seg.clip]);
    if (!clip) {
      g_set_error(error, GST_CORE_ERROR, GST_CORE_ERROR_FAILED,
                  "GES refused segment at %" GST_TIME_FORMAT " of %s", GST_TIME_ARGS(seg.start),
                  clips[seg.clip].path.c_str());
      ok = false;
      break;
    }
    place_video(clip, width, height);
    if (fade_in[i] || fade_out[i]) {
      GstClockTime a = inpoint[i], b = inpoint[i] + duration[i];
      bool set;
      if (fade_in[i] && fade_out[i])
        set = set_ramp(clip, GES_TYPE_VIDEO_SOURCE, "alpha",
                       {{a, 0.0}, {a + fade_in_len[i], 1.0}, {b - fade_out_len[i], 1.0}, {b, 0.0}});
      else if (fade_in[i]) /* every ramp spans [a, b]: see the song's fade below */
        set = set_ramp(clip, GES_TYPE_VIDEO_SOURCE, "alpha",
                       {{a, 0.0}, {a + fade_in_len[i], 1.0}, {b, 1.0}});
      else
        set = set_ramp(clip, GES_TYPE_VIDEO_SOURCE, "alpha",
                       {{a, 1.0}, {b - fade_out_len[i], 1.0}, {b, 0.0}});
      if (!set)
        GST_WARNING("cannot fade segment %zu: it will cut", i);
    }
  }
  if (ok) {
    GESAsset *song_asset = request_asset(song.uri, interrupt, error);
    GESClip *song_clip = song_asset ? ges_layer_add_asset(audio_layer, song_asset, 0, 0, song_end,
                                                          GES_TRACK_TYPE_AUDIO)
                                    : nullptr;
    if (song_clip)
      keep_current_streams(song_clip, song_asset, timeline);
    if (!song_clip) {
      if (song_asset && error && !*error)
        g_set_error(error, GST_CORE_ERROR, GST_CORE_ERROR_FAILED, "GES refused the song %s",
                    song.uri.c_str());
      ok = false;
    } else if (options.audio_fade_out > 0) {
      GstClockTime len = std::min(options.audio_fade_out, song_end);
      /* The point at 0 matters: before its first point a linear control
       * source extends the line through its first two, which would drive the
       * volume far above 1 (out of range) until the fade. */
      if (!set_ramp(song_clip, GES_TYPE_AUDIO_SOURCE, "volume",
                    {{0, 1.0}, {song_end - len, 1.0}, {song_end, 0.0}}))
        GST_WARNING("cannot fade the song out");
    }
    if (song_asset)
      gst_object_unref(song_asset);
  }
  for (auto &kv : assets)
    if (kv.second)
      gst_object_unref(kv.second);
  if (!ok) {
    gst_object_unref(timeline);
    return nullptr;
  }
  ges_timeline_commit(timeline);
  return timeline;
}

} // namespace

GESTimeline *build_timeline(const Plan &plan, const SongAnalysis &song,
                            const std::vector<ClipAnalysis> &clips, gint width, gint height,
                            GError **error, const TimelineOptions &options,
                            GCancellable *cancellable)
{
  Interrupt interrupt(cancellable, false);
  return make_timeline(plan, song, clips, width, height, error, options, interrupt);
}

bool render_plan(const Plan &plan, const SongAnalysis &song, const std::vector<ClipAnalysis> &clips,
                 const RenderSettings &settings, RenderResult *result, GError **error)
{
  init_debug();
  if (plan.segments.empty() || plan.duration == 0) {
    g_set_error(error, GST_CORE_ERROR, GST_CORE_ERROR_FAILED, "the plan has no segments to render");
    return false;
  }
  if (settings.width < 16 || settings.height < 16 || settings.width % 2 || settings.height % 2) {
    g_set_error(error, GST_CORE_ERROR, GST_CORE_ERROR_FAILED,
                "output size %dx%d is not supported: use even sizes of at least 16x16",
                settings.width, settings.height);
    return false;
  }
  const bool cut_only = timeline_is_cut_only(plan, settings.timeline);
  RenderPath wanted = settings.path;
  const gchar *env = g_getenv("GST_MONTAGE_RENDER_PATH");
  if (wanted == RenderPath::kAuto && g_strcmp0(env, "timeline") == 0)
    wanted = RenderPath::kTimeline;
  if (wanted == RenderPath::kCuts && !cut_only) {
    g_set_error(error, GST_CORE_ERROR, GST_CORE_ERROR_FAILED,
                "the plan has fades or dissolves: render it along the timeline path");
    return false;
  }
  const RenderPath path =
      wanted == RenderPath::kTimeline || !cut_only ? RenderPath::kTimeline : RenderPath::kCuts;
  /* From here on every wait, discoveries included, dispatches the caller's
   * context and stops when cancelled. */
  Interrupt interrupt(settings.cancellable);
  GESTimeline *timeline = nullptr;
  std::vector<std::string> timeline_notes;
  std::vector<std::size_t> dissolves_cut;
  if (path == RenderPath::kTimeline &&
      !(timeline =
            make_timeline(on_output_grid(plan), song, clips, settings.width, settings.height, error,
                          settings.timeline, interrupt, &timeline_notes, &dissolves_cut)))
    return false;

  /* Write next to the target so the final rename stays on one file system. */
  gchar *dir = g_path_get_dirname(settings.output_path.c_str());
  gchar *base = g_path_get_basename(settings.output_path.c_str());
  gchar *tmp_name = g_strdup_printf(".%s.partial-%d", base, (int)getpid());
  gchar *tmp_path = g_build_filename(dir, tmp_name, NULL);
  GError *uri_err = nullptr;
  gchar *abs_tmp = g_canonicalize_filename(tmp_path, nullptr);
  gchar *tmp_uri = g_filename_to_uri(abs_tmp, nullptr, &uri_err);
  g_free(abs_tmp);
  g_free(dir);
  g_free(base);
  g_free(tmp_name);
  if (!tmp_uri) {
    g_propagate_error(error, uri_err);
    g_free(tmp_path);
    if (timeline)
      gst_object_unref(timeline);
    return false;
  }

  std::vector<std::string> encoders =
      settings.encoders.empty() ? h264_encoder_candidates() : settings.encoders;
  RenderResult local;
  local.notes = timeline_notes;
  local.dissolves_cut = dissolves_cut;
  local.path = path;
  bool done = false;
  GError *last = nullptr;
  for (const std::string &encoder : encoders) {
    GError *err = nullptr;
    if (interrupt.check(&err)) {
      g_clear_error(&last);
      last = err;
      break;
    }
    if (!probe_h264_encoder(encoder, &err)) {
      local.fallbacks.push_back(encoder + ": " + err->message);
      g_clear_error(&last);
      last = err;
      continue;
    }
    Outcome outcome = timeline ? run_render(timeline, clips, tmp_uri, encoder, settings,
                                            plan.duration, interrupt, local.failed_uri, &err)
                               : render_cuts(plan, song, clips, settings, tmp_path, encoder,
                                             interrupt, local.failed_uri, local.song_gaps, &err);
    if (interrupt.cancelled()) {
      /* Whatever failed on the way out is no input's fault. */
      local.failed_uri.clear();
      if (outcome != Outcome::kDone) {
        g_clear_error(&err);
        g_cancellable_set_error_if_cancelled(settings.cancellable, &err);
        outcome = Outcome::kFailed;
      }
    }
    if (outcome == Outcome::kDone) {
      local.encoder = encoder;
      for (const SongGap &gap : local.song_gaps) {
        /* By the gap's own flag: its end, counted back from 48 kHz
         * samples, can fall 1 ns short of the plan's end (a review). */
        gchar *note = g_strdup_printf(
            gap.at_end
                ? "the song %s ends at %.3f s, %.3f s before the montage does (damaged or cut "
                  "short?): the montage is silent from there to its end"
                : "the song %s has a hole from %.3f s, %.3f s long (damaged?): the montage is "
                  "silent there and the song after it keeps its place",
            song.uri.c_str(), gap.start / (double)GST_SECOND, gap.duration / (double)GST_SECOND);
        GST_WARNING("%s", note);
        local.notes.push_back(note);
        g_free(note);
      }
      done = true;
      break;
    }
    GST_WARNING("render with %s failed: %s", encoder.c_str(), err ? err->message : "?");
    g_unlink(tmp_path);
    g_clear_error(&last);
    last = err;
    if (outcome == Outcome::kFailed)
      break;
    local.fallbacks.push_back(encoder + ": " + last->message);
    GST_WARNING("encoder %s failed, trying the next one", encoder.c_str());
  }

  if (done && g_rename(tmp_path, settings.output_path.c_str()) != 0) {
    int errsv = errno;
    g_set_error(&last, G_FILE_ERROR, g_file_error_from_errno(errsv), "cannot move %s to %s: %s",
                tmp_path, settings.output_path.c_str(), g_strerror(errsv));
    g_unlink(tmp_path);
    done = false;
  }
  if (!done) {
    if (!last)
      g_set_error(&last, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
                  "no H.264 encoder is installed: install gstreamer1.0-plugins-ugly (x264enc)");
    g_propagate_error(error, last);
  } else {
    g_clear_error(&last);
  }
  if (result)
    *result = local;
  g_free(tmp_uri);
  g_free(tmp_path);
  if (timeline)
    gst_object_unref(timeline);
  return done;
}

} // namespace montage
