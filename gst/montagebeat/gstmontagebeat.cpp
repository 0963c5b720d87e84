/**
 * SECTION:element-montagebeat
 * @title: montagebeat
 *
 * Finds the beats of the audio going through it and posts them as element
 * messages. The audio itself passes through untouched (in place, never
 * mapped for writing, never copied). The tracking is
 * montage::BeatTracker (gst-libs/gst/montage/beattracker.h): aubio's causal
 * tempo tracker while the audio plays, and at EOS a dynamic-programming pass
 * over the whole song (Ellis 2007) that also covers the 1.5-3 s before
 * aubio's first beat. Channels are averaged to mono; any rate from 8 to
 * 192 kHz is resampled internally to 44.1 kHz.
 *
 * ## Messages
 *
 * `montage-beat`, one per beat, posted ~0.3 s of audio after the beat (a
 * beat is confirmed once half a beat period of audio follows it):
 *
 * - `timestamp` (guint64, ns): the beat in buffer time: the PTS of the first
 *   buffer since the last reset plus the sample position (resynchronised to
 *   the PTS of every DISCONT buffer).
 * - `stream-time` (guint64, ns): `timestamp` through the current segment;
 *   GST_CLOCK_TIME_NONE when outside it.
 * - `running-time` (guint64, ns): likewise, running time.
 * - `bpm` (gdouble): tempo so far, from the beat sequence; 0 until two beats.
 * - `confidence` (gdouble, 0..1): aubio's tempo confidence at this beat (stays
 *   0 for the first 4.5-9 s).
 *
 * `montage-beats`, once at EOS, before the EOS event goes downstream (also
 * when no beat was found):
 *
 * - `beats` (GstValueList of guint64, ns, ascending): every beat of the
 *   stream since the last reset, in the same time domain as `timestamp`. This
 *   list is the whole-song result and may differ from the `montage-beat`
 *   messages: it starts at the first onset and its beats sit on onsets.
 * - `bpm` (gdouble): tempo of that list (0 with fewer than two beats).
 * - `confidence` (gdouble, 0..1): the median of aubio's confidence over the
 *   second half of the stream's beats; 0 without beats.
 * - `energy` (GstValueList of gdouble, 0..1): one per beat: RMS level of the
 *   interval from that beat to the next (the last one to the end of the
 *   audio), divided by the loudest interval's.
 * - `duration` (guint64, ns): length of the audio seen since the last reset.
 *
 * Stretches quieter than #GstMontageBeat:silence-threshold give no beats.
 *
 * ## Resets
 *
 * All state (beats, clock) restarts on a FLUSH_STOP event, on every SEGMENT
 * event and on a change of sample rate; properties take effect then (and
 * when the element goes from READY to PAUSED). A buffer flagged DISCONT
 * restarts the sample clock from its PTS without losing the beats.
 *
 * ## Example
 * |[
 * gst-launch-1.0 -m filesrc location=song.mp3 ! decodebin ! audioconvert ! \
 *     montagebeat ! fakesink sync=false
 * ]|
 * prints every `montage-beat` message and, at the end, `montage-beats`.
 */
#include "gstmontagebeat.h"

#include <gst/audio/audio.h>
#include <gst/montage/beattracker.h>

#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

GST_DEBUG_CATEGORY_STATIC(gst_montage_beat_debug);
#define GST_CAT_DEFAULT gst_montage_beat_debug

#define DEFAULT_METHOD GST_MONTAGE_BEAT_METHOD_SPECFLUX
#define DEFAULT_SILENCE_THRESHOLD -60.0

enum {
  PROP_0,
  PROP_METHOD,
  PROP_SILENCE_THRESHOLD,
};

#define MONTAGE_BEAT_CAPS                                                                          \
  "audio/x-raw, format = (string) { F32LE, S16LE }, rate = (int) [ 8000, 192000 ], "               \
  "channels = (int) [ 1, MAX ], layout = (string) interleaved"

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(MONTAGE_BEAT_CAPS));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(MONTAGE_BEAT_CAPS));

GType gst_montage_beat_method_get_type(void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_MONTAGE_BEAT_METHOD_SPECFLUX, "Spectral flux (aubio's default for tempo)", "specflux"},
      {GST_MONTAGE_BEAT_METHOD_ENERGY, "Energy", "energy"},
      {GST_MONTAGE_BEAT_METHOD_HFC, "High-frequency content", "hfc"},
      {GST_MONTAGE_BEAT_METHOD_COMPLEX, "Complex domain", "complex"},
      {GST_MONTAGE_BEAT_METHOD_PHASE, "Phase deviation", "phase"},
      {GST_MONTAGE_BEAT_METHOD_WPHASE, "Weighted phase deviation", "wphase"},
      {GST_MONTAGE_BEAT_METHOD_SPECDIFF, "Spectral difference", "specdiff"},
      {GST_MONTAGE_BEAT_METHOD_KL, "Kullback-Leibler", "kl"},
      {GST_MONTAGE_BEAT_METHOD_MKL, "Modified Kullback-Leibler", "mkl"},
      {0, NULL, NULL},
  };
  if (g_once_init_enter(&type)) {
    GType t = g_enum_register_static("GstMontageBeatMethod", values);
    g_once_init_leave(&type, t);
  }
  return type;
}

namespace {

/* Where a run of samples sits in buffer time: sample `sample` (counted since
 * the last reset) has timestamp `pts`. */
struct Anchor {
  guint64 sample;
  GstClockTime pts;
};

struct State {
  /* Properties, under `lock`. */
  std::mutex lock;
  GstMontageBeatMethod method = DEFAULT_METHOD;
  double silence_threshold = DEFAULT_SILENCE_THRESHOLD;

  /* Streaming thread only. */
  GstAudioInfo info;
  bool have_info = false;
  std::unique_ptr<montage::BeatTracker> tracker;
  std::vector<Anchor> anchors;
  guint64 samples = 0; /* samples per channel since the last reset */
  std::vector<float> mono;
};

} // namespace

struct _GstMontageBeat {
  GstBaseTransform parent;
  State *state;
};

#define gst_montage_beat_parent_class parent_class
G_DEFINE_TYPE(GstMontageBeat, gst_montage_beat, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE(montagebeat, "montagebeat", GST_RANK_NONE, GST_TYPE_MONTAGE_BEAT);

static const char *method_name(GstMontageBeatMethod m)
{
  GEnumClass *klass = G_ENUM_CLASS(g_type_class_ref(GST_TYPE_MONTAGE_BEAT_METHOD));
  GEnumValue *v = g_enum_get_value(klass, m);
  const char *nick = v ? v->value_nick : "specflux";
  g_type_class_unref(klass);
  return nick;
}

/* Drops everything tracked and starts over with the current properties.
 * Returns false (after posting an error) when the tracker cannot be made. */
static bool reset_tracking(GstMontageBeat *self)
{
  State &st = *self->state;
  st.anchors.clear();
  st.samples = 0;
  st.tracker.reset();
  if (!st.have_info)
    return true;
  montage::BeatTrackerConfig config;
  {
    std::lock_guard<std::mutex> guard(st.lock);
    config.method = method_name(st.method);
    config.silence_db = st.silence_threshold;
  }
  try {
    st.tracker = std::make_unique<montage::BeatTracker>((guint)GST_AUDIO_INFO_RATE(&st.info), config);
  } catch (const std::exception &e) {
    GST_ELEMENT_ERROR(self, LIBRARY, INIT,
                      ("Could not start beat tracking: %s", e.what()),
                      ("rate %d, method %s", GST_AUDIO_INFO_RATE(&st.info), config.method.c_str()));
    return false;
  }
  return true;
}

/* Buffer time of a tracker time (ns since the last reset). */
static GstClockTime to_buffer_time(const State &st, GstClockTime t)
{
  if (st.anchors.empty() || !st.have_info)
    return t;
  const guint64 sample = gst_util_uint64_scale_round(t, GST_AUDIO_INFO_RATE(&st.info), GST_SECOND);
  const Anchor *a = &st.anchors.front();
  for (const Anchor &x : st.anchors)
    if (x.sample <= sample)
      a = &x;
  const GstClockTime anchor_ns =
      gst_util_uint64_scale(a->sample, GST_SECOND, GST_AUDIO_INFO_RATE(&st.info));
  if (t >= anchor_ns)
    return a->pts + (t - anchor_ns);
  return a->pts > anchor_ns - t ? a->pts - (anchor_ns - t) : 0;
}

static void post(GstMontageBeat *self, GstStructure *s)
{
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
}

static void post_beats(GstMontageBeat *self)
{
  State &st = *self->state;
  montage::SongAnalysis song;
  if (st.tracker)
    song = st.tracker->finish();
  else
    song.duration = 0;
  GValue beats = G_VALUE_INIT, energy = G_VALUE_INIT;
  g_value_init(&beats, GST_TYPE_LIST);
  g_value_init(&energy, GST_TYPE_LIST);
  for (std::size_t i = 0; i < song.beats.size(); i++) {
    GValue v = G_VALUE_INIT;
    g_value_init(&v, G_TYPE_UINT64);
    g_value_set_uint64(&v, to_buffer_time(st, song.beats[i]));
    gst_value_list_append_and_take_value(&beats, &v);
    GValue e = G_VALUE_INIT;
    g_value_init(&e, G_TYPE_DOUBLE);
    g_value_set_double(&e, i < song.beat_energy.size() ? song.beat_energy[i] : 1.0);
    gst_value_list_append_and_take_value(&energy, &e);
  }
  GstStructure *s = gst_structure_new("montage-beats", "bpm", G_TYPE_DOUBLE, song.bpm, "confidence",
                                      G_TYPE_DOUBLE, song.confidence, "duration", G_TYPE_UINT64,
                                      (guint64)song.duration, NULL);
  gst_structure_take_value(s, "beats", &beats);
  gst_structure_take_value(s, "energy", &energy);
  GST_INFO_OBJECT(self, "%u beats at %.2f BPM", (guint)song.beats.size(), song.bpm);
  post(self, s);
}

static gboolean gst_montage_beat_set_caps(GstBaseTransform *trans, GstCaps *incaps, GstCaps *)
{
  GstMontageBeat *self = GST_MONTAGE_BEAT(trans);
  State &st = *self->state;
  GstAudioInfo info;
  if (!gst_audio_info_from_caps(&info, incaps)) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, ("Unusable audio caps: %" GST_PTR_FORMAT, incaps),
                      (NULL));
    return FALSE;
  }
  const bool rate_changed = !st.have_info || GST_AUDIO_INFO_RATE(&info) != GST_AUDIO_INFO_RATE(&st.info);
  st.info = info;
  st.have_info = true;
  if (rate_changed || !st.tracker)
    return reset_tracking(self) ? TRUE : FALSE;
  return TRUE;
}

/* Averages the channels of `frames` interleaved frames into st.mono. */
static void downmix(State &st, const guint8 *data, gsize frames)
{
  const gint channels = GST_AUDIO_INFO_CHANNELS(&st.info);
  st.mono.resize(frames);
  const float scale = 1.0f / (float)channels;
  if (GST_AUDIO_INFO_FORMAT(&st.info) == GST_AUDIO_FORMAT_F32LE) {
    const float *in = reinterpret_cast<const float *>(data);
    for (gsize i = 0; i < frames; i++) {
      float sum = 0.f;
      for (gint c = 0; c < channels; c++)
        sum += GFLOAT_FROM_LE(in[i * channels + c]);
      st.mono[i] = sum * scale;
    }
  } else {
    const gint16 *in = reinterpret_cast<const gint16 *>(data);
    for (gsize i = 0; i < frames; i++) {
      float sum = 0.f;
      for (gint c = 0; c < channels; c++)
        sum += (float)GINT16_FROM_LE(in[i * channels + c]);
      st.mono[i] = sum * scale / 32768.f;
    }
  }
}

static GstFlowReturn gst_montage_beat_transform_ip(GstBaseTransform *trans, GstBuffer *buf)
{
  GstMontageBeat *self = GST_MONTAGE_BEAT(trans);
  State &st = *self->state;
  if (!st.tracker || !st.have_info) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, ("Audio arrived before its caps."), (NULL));
    return GST_FLOW_NOT_NEGOTIATED;
  }

  const GstClockTime pts = GST_BUFFER_PTS(buf);
  if (st.anchors.empty()) {
    GstClockTime start = 0;
    if (GST_CLOCK_TIME_IS_VALID(pts))
      start = pts;
    else if (trans->segment.format == GST_FORMAT_TIME)
      start = trans->segment.start;
    st.anchors.push_back({st.samples, start});
  } else if (GST_BUFFER_IS_DISCONT(buf) && GST_CLOCK_TIME_IS_VALID(pts)) {
    GST_DEBUG_OBJECT(self, "DISCONT: sample clock restarts at %" GST_TIME_FORMAT,
                     GST_TIME_ARGS(pts));
    if (st.anchors.back().sample == st.samples)
      st.anchors.back().pts = pts;
    else
      st.anchors.push_back({st.samples, pts});
  }

  GstMapInfo map;
  if (!gst_buffer_map(buf, &map, GST_MAP_READ)) {
    GST_ELEMENT_ERROR(self, RESOURCE, READ, ("Could not read an audio buffer."), (NULL));
    return GST_FLOW_ERROR;
  }
  const gsize frames = map.size / GST_AUDIO_INFO_BPF(&st.info);
  downmix(st, map.data, frames);
  gst_buffer_unmap(buf, &map);

  std::vector<montage::Beat> beats = st.tracker->push(st.mono.data(), st.mono.size());
  st.samples += frames;

  for (const montage::Beat &b : beats) {
    GstClockTime ts = to_buffer_time(st, b.time);
    GstClockTime stream_time = gst_segment_to_stream_time(&trans->segment, GST_FORMAT_TIME, ts);
    GstClockTime running_time = gst_segment_to_running_time(&trans->segment, GST_FORMAT_TIME, ts);
    GST_LOG_OBJECT(self, "beat at %" GST_TIME_FORMAT ", %.2f BPM", GST_TIME_ARGS(ts), b.bpm);
    post(self, gst_structure_new("montage-beat", "timestamp", G_TYPE_UINT64, (guint64)ts,
                                 "stream-time", G_TYPE_UINT64, (guint64)stream_time,
                                 "running-time", G_TYPE_UINT64, (guint64)running_time, "bpm",
                                 G_TYPE_DOUBLE, b.bpm, "confidence", G_TYPE_DOUBLE, b.confidence,
                                 NULL));
  }
  return GST_FLOW_OK;
}

static gboolean gst_montage_beat_sink_event(GstBaseTransform *trans, GstEvent *event)
{
  GstMontageBeat *self = GST_MONTAGE_BEAT(trans);
  switch (GST_EVENT_TYPE(event)) {
  case GST_EVENT_FLUSH_STOP:
    reset_tracking(self);
    break;
  case GST_EVENT_EOS:
    post_beats(self);
    break;
  default:
    break;
  }
  const bool segment = GST_EVENT_TYPE(event) == GST_EVENT_SEGMENT;
  gboolean ret = GST_BASE_TRANSFORM_CLASS(parent_class)->sink_event(trans, event);
  if (segment)
    reset_tracking(self);
  return ret;
}

static gboolean gst_montage_beat_start(GstBaseTransform *trans)
{
  GstMontageBeat *self = GST_MONTAGE_BEAT(trans);
  return reset_tracking(self) ? TRUE : FALSE;
}

static gboolean gst_montage_beat_stop(GstBaseTransform *trans)
{
  State &st = *GST_MONTAGE_BEAT(trans)->state;
  st.tracker.reset();
  st.anchors.clear();
  st.samples = 0;
  st.have_info = false;
  return TRUE;
}

static void gst_montage_beat_set_property(GObject *object, guint prop_id, const GValue *value,
                                          GParamSpec *pspec)
{
  State &st = *GST_MONTAGE_BEAT(object)->state;
  std::lock_guard<std::mutex> guard(st.lock);
  switch (prop_id) {
  case PROP_METHOD:
    st.method = (GstMontageBeatMethod)g_value_get_enum(value);
    break;
  case PROP_SILENCE_THRESHOLD:
    st.silence_threshold = g_value_get_double(value);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
}

static void gst_montage_beat_get_property(GObject *object, guint prop_id, GValue *value,
                                          GParamSpec *pspec)
{
  State &st = *GST_MONTAGE_BEAT(object)->state;
  std::lock_guard<std::mutex> guard(st.lock);
  switch (prop_id) {
  case PROP_METHOD:
    g_value_set_enum(value, st.method);
    break;
  case PROP_SILENCE_THRESHOLD:
    g_value_set_double(value, st.silence_threshold);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
}

static void gst_montage_beat_finalize(GObject *object)
{
  GstMontageBeat *self = GST_MONTAGE_BEAT(object);
  delete self->state;
  self->state = nullptr;
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void gst_montage_beat_class_init(GstMontageBeatClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS(klass);

  GST_DEBUG_CATEGORY_INIT(gst_montage_beat_debug, "montagebeat", 0, "montage beat tracker");

  gobject_class->set_property = gst_montage_beat_set_property;
  gobject_class->get_property = gst_montage_beat_get_property;
  gobject_class->finalize = gst_montage_beat_finalize;

  g_object_class_install_property(
      gobject_class, PROP_METHOD,
      g_param_spec_enum("method", "Onset method",
                        "aubio onset function the tempo tracker listens to (applies from the next "
                        "segment, flush or start)",
                        GST_TYPE_MONTAGE_BEAT_METHOD, DEFAULT_METHOD,
                        (GParamFlags)(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS)));
  g_object_class_install_property(
      gobject_class, PROP_SILENCE_THRESHOLD,
      g_param_spec_double("silence-threshold", "Silence threshold",
                          "Level in dBFS (RMS over 11.6 ms) under which audio counts as silence "
                          "and gets no beats (applies from the next segment, flush or start)",
                          -120.0, 0.0, DEFAULT_SILENCE_THRESHOLD,
                          (GParamFlags)(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS)));

  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(
      element_class, "Montage beat tracker", "Filter/Analyzer/Audio",
      "Finds beats and tempo; posts montage-beat per beat and montage-beats at EOS",
      "gst-montage developers");

  trans_class->set_caps = GST_DEBUG_FUNCPTR(gst_montage_beat_set_caps);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR(gst_montage_beat_transform_ip);
  trans_class->sink_event = GST_DEBUG_FUNCPTR(gst_montage_beat_sink_event);
  trans_class->start = GST_DEBUG_FUNCPTR(gst_montage_beat_start);
  trans_class->stop = GST_DEBUG_FUNCPTR(gst_montage_beat_stop);
  trans_class->passthrough_on_same_caps = TRUE;
  trans_class->transform_ip_on_passthrough = TRUE;

  gst_type_mark_as_plugin_api(GST_TYPE_MONTAGE_BEAT_METHOD, (GstPluginAPIFlags)0);
}

static void gst_montage_beat_init(GstMontageBeat *self)
{
  self->state = new State();
  gst_audio_info_init(&self->state->info);
  gst_base_transform_set_passthrough(GST_BASE_TRANSFORM(self), TRUE);
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
}
