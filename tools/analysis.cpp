/* Analysis pipelines of the gst-montage-1.0 tool; see analysis.h. */
#include "analysis.h"

#include "gstmontageadtssrc.h"
#include "gstmontagebeat.h"
#include "gstmontagescene.h"

#include <gst/audio/audio.h>
#include <gst/montage/adts.h>
#include <gst/montage/clipanalysis.h>
#include <gst/montage/downmix-private.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <mutex>

namespace montage_tool {

namespace {

/* How far the samples' count and the buffers' times may disagree on the
 * song's length for the count to give it (decoded_length()): timestamps
 * are rounded to the ns, a buffer's time and duration each. */
constexpr GstClockTime kCountTolerance = GST_USECOND;

/* The name of the audioconvert in a chain that downmixes to stereo as the
 * render does (analyse_song()). */
constexpr const char *kDownmixName = "montage-downmix";

/* One analysis run: uridecodebin ! <chain ending in fakesink>. */
struct Run {
  const char *media;          /* "audio" or "video": the stream type we analyse */
  GstElement *pipeline = nullptr;
  GstElement *chain = nullptr; /* bin with a ghost sink pad */
  std::mutex lock;
  bool linked = false;
  /* The source said it exposed all its streams: a pad after that starts
   * the next group (a chained Ogg's next chain, once the last has played). */
  bool all_exposed = false;
  /* Filled by the probe on the chain's sink pad. */
  GstSegment segment;
  GstSegment previous_segment;  /* the one before `segment` */
  bool segment_pending = false; /* `segment` came and no buffer since */
  /* For each montage-beats posted and not yet handed to on_message, the
   * segment its audio came in (summary_segment()). */
  std::deque<GstSegment> summary_segments;
  GstClockTime stream_start = GST_CLOCK_TIME_NONE; /* stream time of the first buffer */
  GstClockTime stream_end = GST_CLOCK_TIME_NONE;   /* stream time of the end of the last buffer */
  /* The samples that reached the chain, for the song's exact length
   * (decoded_length()): `bpf` and `rate` of the current caps (0: none),
   * `samples` since they took that rate, `earlier` the length in ns of the
   * samples at earlier rates. */
  gint bpf = 0;
  gint rate = 0;
  guint64 samples = 0;
  GstClockTime earlier = 0;
  /* The song's length as its file states it (the duration query upstream
   * of the chain at its first buffer); GST_CLOCK_TIME_NONE when none. */
  GstClockTime stated = GST_CLOCK_TIME_NONE;
  bool stated_asked = false;
  /* A video stream was exposed while the sound is what we analyse: the
   * "song" is a film (its sound track is analysed), which an error about
   * its beats names. */
  bool video_beside = false;
};

void on_pad_added(GstElement *, GstPad *pad, gpointer user_data)
{
  Run *run = static_cast<Run *>(user_data);
  GstCaps *caps = gst_pad_get_current_caps(pad);
  if (!caps)
    caps = gst_pad_query_caps(pad, nullptr);
  const gchar *name = gst_structure_get_name(gst_caps_get_structure(caps, 0));
  bool wanted = g_str_has_prefix(name, run->media) && g_str_has_suffix(name, "/x-raw");
  const bool video = g_str_has_prefix(name, "video/");
  gst_caps_unref(caps);

  std::lock_guard<std::mutex> guard(run->lock);
  if (video && g_str_equal(run->media, "audio"))
    run->video_beside = true;
  GstPad *sink = gst_element_get_static_pad(run->chain, "sink");
  if (wanted && run->linked && run->all_exposed) {
    /* The next chain of a chained file (decodebin exposes it when the
     * chain before has drained, and drops that chain's EOS): the chain
     * analyses it too, so the song is all its chains. */
    GstPad *old = gst_pad_get_peer(sink);
    if (old) {
      gst_pad_unlink(old, sink);
      gst_object_unref(old);
    }
    run->linked = false;
    run->all_exposed = false;
  }
  montage::link_or_drain(GST_BIN(run->pipeline), pad, sink, wanted, &run->linked);
  gst_object_unref(sink);
}

/* uridecodebin exposed every stream: without the one we analyse, nothing
 * would ever reach the chain's sink, so fail now rather than wait. */
void on_no_more_pads(GstElement *src, gpointer user_data)
{
  Run *run = static_cast<Run *>(user_data);
  std::lock_guard<std::mutex> guard(run->lock);
  run->all_exposed = true;
  if (run->linked)
    return;
  GError *err = g_error_new(GST_STREAM_ERROR, GST_STREAM_ERROR_WRONG_TYPE, "has no %s stream",
                            run->media);
  gst_element_post_message(src, gst_message_new_error(GST_OBJECT(src), err, nullptr));
  g_error_free(err);
}

/* The pad whose data reaches `sink` through its peer and ghost pads only
 * (their targets followed down: uridecodebin's pad, decodebin's, the
 * decoder's source pad), or nullptr when unlinked. Ref'd. */
GstPad *innermost_source(GstPad *sink)
{
  GstPad *pad = gst_pad_get_peer(sink);
  while (pad && GST_IS_GHOST_PAD(pad)) {
    GstPad *target = gst_ghost_pad_get_target(GST_GHOST_PAD(pad));
    if (!target)
      break;
    gst_object_unref(pad);
    pad = target;
  }
  return pad;
}

/* Whether `a` and `b` are the same STREAM_START, CAPS or SEGMENT event: the
 * same object (ghost and proxy pads pass events on unchanged) or equal in
 * kind and content (stream id and group; caps; segment). */
bool same_event(GstEvent *a, GstEvent *b)
{
  if (a == b)
    return true;
  if (!a || !b || GST_EVENT_TYPE(a) != GST_EVENT_TYPE(b))
    return false;
  switch (GST_EVENT_TYPE(a)) {
  case GST_EVENT_STREAM_START: {
    const gchar *ia = nullptr, *ib = nullptr;
    guint ga = 0, gb = 0;
    gst_event_parse_stream_start(a, &ia);
    gst_event_parse_stream_start(b, &ib);
    const bool has_ga = gst_event_parse_group_id(a, &ga), has_gb = gst_event_parse_group_id(b, &gb);
    return g_strcmp0(ia, ib) == 0 && has_ga == has_gb && ga == gb;
  }
  case GST_EVENT_CAPS: {
    GstCaps *ca = nullptr, *cb = nullptr;
    gst_event_parse_caps(a, &ca);
    gst_event_parse_caps(b, &cb);
    return gst_caps_is_equal(ca, cb);
  }
  case GST_EVENT_SEGMENT: {
    const GstSegment *sa = nullptr, *sb = nullptr;
    gst_event_parse_segment(a, &sa);
    gst_event_parse_segment(b, &sb);
    return gst_segment_is_equal(sa, sb);
  }
  default:
    return false;
  }
}

} // namespace

bool resend_missing_sticky_events(GstPad *sink)
{
  GstPad *src = innermost_source(sink);
  if (!src)
    return false;
  const GstEventType order[] = {GST_EVENT_STREAM_START, GST_EVENT_CAPS, GST_EVENT_SEGMENT};
  GstEvent *want[3] = {nullptr, nullptr, nullptr};
  bool stale = false;
  for (int i = 0; i < 3; i++) {
    want[i] = gst_pad_get_sticky_event(src, order[i], 0);
    GstEvent *have = gst_pad_get_sticky_event(sink, order[i], 0);
    stale |= want[i] && !same_event(want[i], have);
    if (have)
      gst_event_unref(have);
  }
  if (stale)
    GST_WARNING_OBJECT(sink,
                       "%s:%s did not deliver all its sticky events to this pad (stream-start, "
                       "caps, segment): sending them again, in order, before its data",
                       GST_DEBUG_PAD_NAME(src));
  for (GstEvent *ev : want)
    if (ev) {
      if (stale)
        gst_pad_send_event(sink, gst_event_ref(ev));
      gst_event_unref(ev);
    }
  gst_object_unref(src);
  return stale;
}

namespace
{

GstPadProbeReturn on_chain_data(GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  Run *run = static_cast<Run *>(user_data);
  /* Before the lock: the events sent again pass this probe. */
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER)
    resend_missing_sticky_events(pad);
  /* The length the file states, asked once the decoder has output (the
   * parser has read the header by then). */
  bool ask = false;
  {
    std::lock_guard<std::mutex> guard(run->lock);
    ask = (info->type & GST_PAD_PROBE_TYPE_BUFFER) && !run->stated_asked;
    run->stated_asked |= ask;
  }
  gint64 stated = -1;
  if (ask && gst_pad_peer_query_duration(pad, GST_FORMAT_TIME, &stated) && stated > 0) {
    std::lock_guard<std::mutex> guard(run->lock);
    run->stated = (GstClockTime)stated;
  }
  std::lock_guard<std::mutex> guard(run->lock);
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    run->segment_pending = false;
    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
    if (run->bpf > 0)
      run->samples += gst_buffer_get_size(buf) / (guint)run->bpf;
    GstClockTime pts = GST_BUFFER_PTS(buf);
    if (GST_CLOCK_TIME_IS_VALID(pts) && run->segment.format == GST_FORMAT_TIME) {
      GstClockTime start = gst_segment_to_stream_time(&run->segment, GST_FORMAT_TIME, pts);
      if (GST_CLOCK_TIME_IS_VALID(start) &&
          (!GST_CLOCK_TIME_IS_VALID(run->stream_start) || start < run->stream_start))
        run->stream_start = start;
      GstClockTime end = pts + (GST_BUFFER_DURATION_IS_VALID(buf) ? GST_BUFFER_DURATION(buf) : 0);
      GstClockTime st = gst_segment_to_stream_time(&run->segment, GST_FORMAT_TIME, end);
      if (GST_CLOCK_TIME_IS_VALID(st) &&
          (!GST_CLOCK_TIME_IS_VALID(run->stream_end) || st > run->stream_end))
        run->stream_end = st;
    }
  } else if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent *ev = GST_PAD_PROBE_INFO_EVENT(info);
    if (GST_EVENT_TYPE(ev) == GST_EVENT_CAPS) {
      GstCaps *caps = nullptr;
      GstAudioInfo audio;
      gst_event_parse_caps(ev, &caps);
      const bool raw = caps && gst_audio_info_from_caps(&audio, caps);
      if (run->rate > 0 && (!raw || audio.rate != run->rate)) {
        run->earlier += gst_util_uint64_scale_round(run->samples, GST_SECOND, (guint64)run->rate);
        run->samples = 0;
      }
      run->bpf = raw ? audio.bpf : 0;
      run->rate = raw ? audio.rate : 0;
    }
    if (GST_EVENT_TYPE(ev) == GST_EVENT_SEGMENT) {
      run->previous_segment = run->segment;
      gst_event_copy_segment(ev, &run->segment);
      run->segment_pending = true;
    }
  }
  return GST_PAD_PROBE_OK;
}

/* Called as montagebeat posts, from its streaming thread, which is also the
 * probe's (nothing queues between the chain's sink and the element): keeps
 * the segment each montage-beats summary's audio came in, for on_message.
 * The element posts a summary at EOS, at a new sample rate (its CAPS
 * event, before that stream's SEGMENT), at its time going back (a buffer)
 * and at a SEGMENT event, for the audio before it: in that last case only
 * the probe has already taken the new segment, with no buffer since. */
GstBusSyncReply on_sync_message(GstBus *, GstMessage *msg, gpointer user_data)
{
  Run *run = static_cast<Run *>(user_data);
  const GstStructure *s = gst_message_get_structure(msg);
  if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ELEMENT && s &&
      gst_structure_has_name(s, "montage-beats")) {
    std::lock_guard<std::mutex> guard(run->lock);
    run->summary_segments.push_back(run->segment_pending ? run->previous_segment : run->segment);
  }
  return GST_BUS_PASS;
}

/* The segment of the montage-beats summary on_message has now (they come
 * in the order posted), GST_FORMAT_UNDEFINED when unknown. */
GstSegment summary_segment(Run &run)
{
  std::lock_guard<std::mutex> guard(run.lock);
  GstSegment seg;
  gst_segment_init(&seg, GST_FORMAT_UNDEFINED);
  if (!run.summary_segments.empty()) {
    seg = run.summary_segments.front();
    run.summary_segments.pop_front();
  }
  return seg;
}

/* True when `path` holds raw AAC in ADTS frames, by content (the extension
 * says nothing: .aac files may be ADTS or ADIF, ADTS may be named anything):
 * montage::looks_like_adts() on the mapped file. */
bool is_adts_file(const std::string &path)
{
  GMappedFile *map = g_mapped_file_new(path.c_str(), FALSE, nullptr);
  if (!map)
    return false;
  const bool adts = montage::looks_like_adts((const guint8 *)g_mapped_file_get_contents(map),
                                             g_mapped_file_get_length(map));
  g_mapped_file_unref(map);
  return adts;
}

/* The source for an ADTS song: montageadtssrc (exact timestamps and
 * duration from its frame index; aacparse estimates the duration from the
 * bitrate) into decodebin, which picks the AAC decoder. The element builds
 * its index itself (about 1 ms for a 4-minute song, 35 ms for an hour). */
GstElement *make_adts_source(GstBin *pipeline, const std::string &path, GError **error)
{
  static std::once_flag registered;
  std::call_once(registered, [] { GST_ELEMENT_REGISTER(montageadtssrc, nullptr); });
  GstElement *file = gst_element_factory_make("montageadtssrc", nullptr);
  GstElement *decode = gst_element_factory_make("decodebin", nullptr);
  if (!file || !decode) {
    g_set_error(error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
                "decodebin is missing: install gstreamer1.0-plugins-base");
    if (file)
      gst_object_unref(gst_object_ref_sink(file));
    if (decode)
      gst_object_unref(gst_object_ref_sink(decode));
    return nullptr;
  }
  g_object_set(file, "location", path.c_str(), NULL);
  gst_bin_add_many(pipeline, file, decode, NULL);
  gst_element_link(file, decode);
  return decode;
}

/* Runs uridecodebin(path) ! chain to EOS, or montageadtssrc ! decodebin !
 * chain with `adts`. Element messages are handed to on_message. Returns
 * false with error set on failure. */
bool run_pipeline(const std::string &path, const char *media, const char *chain_desc,
                  const std::function<void(const GstStructure *)> &on_message, Run &run,
                  const ProgressFunc &progress, GstClockTime stall_timeout, GError **error,
                  bool adts = false)
{
  gchar *uri = montage::local_file_uri(path, error);
  if (!uri)
    return false;

  run.media = media;
  gst_segment_init(&run.segment, GST_FORMAT_UNDEFINED);
  gst_segment_init(&run.previous_segment, GST_FORMAT_UNDEFINED);
  run.pipeline = gst_pipeline_new(nullptr);
  run.chain = gst_parse_bin_from_description(chain_desc, TRUE, error);
  GstElement *src = nullptr;
  if (run.chain && adts) {
    src = make_adts_source(GST_BIN(run.pipeline), path, error);
  } else if (run.chain) {
    src = gst_element_factory_make("uridecodebin", nullptr);
    if (src) {
      g_object_set(src, "uri", uri, NULL);
      gst_bin_add(GST_BIN(run.pipeline), src);
    }
  }
  g_free(uri);
  if (!src || !run.chain) {
    if (error && !*error)
      g_set_error(error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
                  "uridecodebin is missing: install gstreamer1.0-plugins-base");
    if (run.chain)
      gst_object_unref(gst_object_ref_sink(run.chain));
    gst_object_unref(run.pipeline);
    run.pipeline = nullptr;
    return false;
  }
  gst_bin_add(GST_BIN(run.pipeline), run.chain);
  if (GstElement *downmix = gst_bin_get_by_name(GST_BIN(run.chain), kDownmixName)) {
    montage::render_detail::downmix_to_stereo(downmix);
    gst_object_unref(downmix);
  }
  g_signal_connect(src, "pad-added", G_CALLBACK(on_pad_added), &run);
  g_signal_connect(src, "no-more-pads", G_CALLBACK(on_no_more_pads), &run);
  GstPad *chain_sink = gst_element_get_static_pad(run.chain, "sink");
  gst_pad_add_probe(chain_sink,
                    (GstPadProbeType)(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
                    on_chain_data, &run, nullptr);
  gst_object_unref(chain_sink);

  bool ok = true;
  GstBus *bus = gst_element_get_bus(run.pipeline);
  gst_bus_set_sync_handler(bus, on_sync_message, &run, nullptr);
  gst_element_set_state(run.pipeline, GST_STATE_PLAYING);
  gint64 last_pos = -1;
  gint64 stalled_since = g_get_monotonic_time();
  for (;;) {
    GstMessage *msg = gst_bus_timed_pop_filtered(
        bus, 200 * GST_MSECOND,
        (GstMessageType)(GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT));
    if (!msg) {
      gint64 pos = -1, dur = -1;
      gst_element_query_position(run.pipeline, GST_FORMAT_TIME, &pos);
      gst_element_query_duration(run.pipeline, GST_FORMAT_TIME, &dur);
      if (pos != last_pos) {
        last_pos = pos;
        stalled_since = g_get_monotonic_time();
      } else if ((GstClockTime)(g_get_monotonic_time() - stalled_since) * 1000 > stall_timeout) {
        g_set_error(error, GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED,
                    "decoding made no progress for %" G_GUINT64_FORMAT " s",
                    stall_timeout / GST_SECOND);
        ok = false;
        break;
      }
      if (progress && pos >= 0)
        progress((GstClockTime)pos, dur >= 0 ? (GstClockTime)dur : GST_CLOCK_TIME_NONE);
      continue;
    }
    GstMessageType type = GST_MESSAGE_TYPE(msg);
    if (type == GST_MESSAGE_ELEMENT) {
      const GstStructure *s = gst_message_get_structure(msg);
      if (s)
        on_message(s);
      gst_message_unref(msg);
      continue;
    }
    if (type == GST_MESSAGE_ERROR) {
      GError *err = nullptr;
      gst_message_parse_error(msg, &err, nullptr);
      montage::explain_decode_error(err, error);
      ok = false;
    }
    gst_message_unref(msg);
    break;
  }
  if (ok && !run.linked) {
    g_set_error(error, GST_STREAM_ERROR, GST_STREAM_ERROR_WRONG_TYPE, "has no %s stream", media);
    ok = false;
  }
  gst_element_set_state(run.pipeline, GST_STATE_NULL);
  gst_bus_set_sync_handler(bus, nullptr, nullptr, nullptr);
  gst_object_unref(bus);
  return ok;
}

/* The song's length decoded, from its first sample (`origin`, stream
 * time): the end of the last buffer, rounded twice (its time and duration,
 * each to the ns: a 3 s FLAC read 2.999999999 s); where the samples
 * counted agree within kCountTolerance (no gap, no overlap), their exact
 * length instead, each rate's run of samples to the nearest ns.
 * GST_CLOCK_TIME_NONE when no buffer had a time. */
GstClockTime decoded_length(const Run &run, GstClockTime origin)
{
  if (!GST_CLOCK_TIME_IS_VALID(run.stream_end))
    return GST_CLOCK_TIME_NONE;
  const GstClockTime seen = run.stream_end - std::min(run.stream_end, origin);
  GstClockTime counted = run.earlier;
  if (run.rate > 0)
    counted += gst_util_uint64_scale_round(run.samples, GST_SECOND, (guint64)run.rate);
  const GstClockTime diff = counted > seen ? counted - seen : seen - counted;
  return diff <= kCountTolerance ? counted : seen;
}

void free_run(Run &run)
{
  if (run.pipeline)
    gst_object_unref(run.pipeline);
  run.pipeline = nullptr;
}

guint64 get_u64(const GstStructure *s, const char *field, guint64 fallback)
{
  guint64 v;
  return gst_structure_get_uint64(s, field, &v) ? v : fallback;
}

/* How far a stretch may start before the end of the one before it and still
 * be taken as the next one, back to back (combine_beat_summaries()). */
constexpr GstClockTime kJoinTolerance = GST_MSECOND;

/* One montage-beats summary: the stretch of audio between two of the
 * element's resets, its times taken to stream time (read_summary()). */
struct Stretch {
  GstClockTime start = 0;    /* the stretch's first sample */
  GstClockTime duration = 0; /* its length, as the summary's `duration` */
  montage::SongAnalysis song;
  std::vector<double> beat_confidence; /* one per beat, or empty */
  /* The part of the song this stretch gives, [from, to): from its start, or
   * the end of a stretch before it that covers that time, to the next
   * stretch's `from` (GST_CLOCK_TIME_NONE: to its end). */
  GstClockTime from = 0;
  GstClockTime to = GST_CLOCK_TIME_NONE;
  std::size_t kept_beats = 0;
  GstClockTime end() const { return start + duration; }
  bool gives(GstClockTime t) const { return t >= from && (!GST_CLOCK_TIME_IS_VALID(to) || t < to); }
};

template <typename T, typename Get>
std::vector<T> list_field(const GstStructure *s, const char *field, Get get)
{
  std::vector<T> out;
  /* A GstValueArray; a GstValueList too, as montagebeat posted before
   * (an older plugin on GST_PLUGIN_PATH still gives its beats). */
  const GValue *seq = gst_structure_get_value(s, field);
  if (seq && GST_VALUE_HOLDS_ARRAY(seq))
    for (guint i = 0; i < gst_value_array_get_size(seq); i++)
      out.push_back(get(gst_value_array_get_value(seq, i)));
  else if (seq && GST_VALUE_HOLDS_LIST(seq))
    for (guint i = 0; i < gst_value_list_get_size(seq); i++)
      out.push_back(get(gst_value_list_get_value(seq, i)));
  return out;
}

/* Reads one montage-beats summary (docs/montagebeat.md, "Messages"). Its
 * start is the start of its first section: the sections run back to back
 * from the stretch's first sample (tracker time 0, which the element maps
 * to the PTS of the stretch's first buffer), as its energy curve does. A
 * stretch with no sections has no audio measured (no energy curve either):
 * it is placed at `fallback_start`. */
Stretch read_summary(const BeatSummary &summary, GstClockTime fallback_start)
{
  const GstStructure *s = summary.structure;
  const GstSegment *seg = summary.segment;
  /* Buffer time to stream time through the stretch's segment (a time
   * before the segment's start, 0). */
  auto stream = [seg](GstClockTime t) -> GstClockTime {
    if (!seg || seg->format != GST_FORMAT_TIME || !GST_CLOCK_TIME_IS_VALID(t))
      return t;
    guint64 st = 0;
    const int sign = gst_segment_to_stream_time_full(seg, GST_FORMAT_TIME, t, &st);
    return sign > 0 ? st : sign < 0 ? 0 : t;
  };
  Stretch st;
  montage::SongAnalysis &song = st.song;
  song.beats = list_field<GstClockTime>(s, "beats", g_value_get_uint64);
  song.beat_energy = list_field<double>(s, "energy", g_value_get_double);
  st.beat_confidence = list_field<double>(s, "beat-confidence", g_value_get_double);
  for (gboolean d : list_field<gboolean>(s, "downbeats", g_value_get_boolean))
    song.downbeats.push_back(d != FALSE);
  gst_structure_get_double(s, "bpm", &song.bpm);
  gst_structure_get_double(s, "confidence", &song.confidence);
  guint bpb = 0;
  song.beats_per_bar = gst_structure_get_uint(s, "beats-per-bar", &bpb) ? bpb : 0;
  gst_structure_get_double(s, "meter-confidence", &song.meter_confidence);
  song.energy_curve = list_field<double>(s, "energy-curve", g_value_get_double);
  song.energy_interval = get_u64(s, "energy-interval", 0);
  for (const GValue *v :
       list_field<const GValue *>(s, "sections", [](const GValue *x) { return x; })) {
    if (!GST_VALUE_HOLDS_STRUCTURE(v))
      continue;
    const GstStructure *sec = gst_value_get_structure(v);
    const gchar *level = gst_structure_get_string(sec, "level");
    montage::Section section;
    section.start = get_u64(sec, "start", 0);
    section.end = get_u64(sec, "end", 0);
    section.level = !g_strcmp0(level, "low")    ? montage::Section::Level::kLow
                    : !g_strcmp0(level, "high") ? montage::Section::Level::kHigh
                                                : montage::Section::Level::kMedium;
    song.sections.push_back(section);
  }
  GstClockTime duration = get_u64(s, "duration", 0);
  if (!GST_CLOCK_TIME_IS_VALID(duration))
    duration = 0;
  /* Into stream time: the stretch's first sample, its end, the curve's
   * spacing (the same but for applied_rate), the beats and the sections. */
  if (song.sections.empty()) {
    st.start = fallback_start;
    st.duration = duration;
  } else {
    const GstClockTime first = song.sections.front().start;
    st.start = stream(first);
    st.duration = stream(first + duration) - st.start;
    if (song.energy_interval > 0)
      song.energy_interval =
          std::max<GstClockTime>(1, stream(first + song.energy_interval) - st.start);
  }
  std::vector<GstClockTime> beats;
  for (GstClockTime b : song.beats)
    beats.push_back(stream(b));
  song.beats = beats;
  for (montage::Section &sec : song.sections) {
    sec.start = stream(sec.start);
    sec.end = stream(sec.end);
  }
  return st;
}

/* Median spacing of `beats`, 0 with fewer than two. */
GstClockTime median_period(const std::vector<GstClockTime> &beats)
{
  if (beats.size() < 2)
    return 0;
  std::vector<GstClockTime> d;
  for (std::size_t i = 1; i < beats.size(); i++)
    d.push_back(beats[i] - beats[i - 1]);
  std::nth_element(d.begin(), d.begin() + (long)d.size() / 2, d.end());
  return d[d.size() / 2];
}

/* RMS amplitude (linear, full scale 1) of the loudest beat interval of a
 * stretch, the one its `energy` list scales to 1: the mean square of the
 * energy-curve intervals it overlaps, weighted by the overlap, each mapped
 * back from energy to dBFS
 * (the inverse of montage::energy_from_db() with montagebeat's default
 * silence-threshold, which the tool keeps). 0 when unknown. */
double loudest_beat_rms(const Stretch &st)
{
  const montage::SongAnalysis &song = st.song;
  if (song.beats.empty() || song.beat_energy.size() != song.beats.size() ||
      song.energy_curve.empty() || song.energy_interval == 0)
    return 0.0;
  const std::size_t k =
      (std::size_t)(std::max_element(song.beat_energy.begin(), song.beat_energy.end()) -
                    song.beat_energy.begin());
  const GstClockTime a = std::max(song.beats[k], st.start) - st.start;
  const GstClockTime b = k + 1 < song.beats.size() ? song.beats[k + 1] - st.start
                                                   : std::max(a + 1, (GstClockTime)st.duration);
  const double silence_db = montage::BeatTrackerConfig().silence_db;
  const GstClockTime interval = song.energy_interval;
  double sum = 0.0, weight = 0.0;
  for (std::size_t i = (std::size_t)(a / interval);
       i < song.energy_curve.size() && i * interval < b; i++) {
    /* Each curve interval weighs what it overlaps of the beat's. */
    const double w = (double)(std::min(b, (i + 1) * interval) - std::max(a, i * interval));
    sum += w * std::pow(10.0, silence_db * (1.0 - song.energy_curve[i]) / 10.0);
    weight += w;
  }
  return weight > 0.0 ? std::sqrt(sum / weight) : 0.0;
}

/* The stretches' energy curves as one from `origin` (stream time of
 * SongAnalysis' time 0; each stretch's runs from its first sample), at the
 * first stretch's interval: each interval takes the value of the stretch
 * interval holding its middle, from the stretch that gives that time; 0
 * (silence) where none measured it. One stretch starting at `origin` gives
 * its own curve unchanged. */
void combine_energy_curves(const std::vector<Stretch> &parts, montage::SongAnalysis &out,
                           GstClockTime origin)
{
  out.energy_curve.clear();
  out.energy_interval = 0;
  for (const Stretch &st : parts)
    if (st.song.energy_interval > 0 && !st.song.energy_curve.empty()) {
      out.energy_interval = st.song.energy_interval;
      break;
    }
  if (out.energy_interval == 0)
    return;
  const GstClockTime interval = out.energy_interval;
  GstClockTime end = 0;
  for (const Stretch &st : parts) {
    GstClockTime e = st.start + st.song.energy_curve.size() * st.song.energy_interval;
    if (GST_CLOCK_TIME_IS_VALID(st.to))
      e = std::min(e, st.to);
    end = std::max(end, e);
  }
  /* Up to the last interval whose middle a stretch measured. */
  for (GstClockTime mid = origin + interval / 2; mid < end; mid += interval) {
    double v = 0.0;
    for (const Stretch &st : parts) {
      if (!st.gives(mid) || st.song.energy_interval == 0)
        continue;
      const std::size_t i = (std::size_t)((mid - st.start) / st.song.energy_interval);
      if (mid >= st.start && i < st.song.energy_curve.size())
        v = st.song.energy_curve[i];
    }
    out.energy_curve.push_back(v);
  }
}

/* Where the sound of the parts ends, stream time: the end of the last
 * energy-curve interval louder than the element's silence-threshold (its
 * `energy` above 0: montage::energy_from_db() maps that threshold and
 * anything quieter to 0) within the part of the song its stretch gives,
 * clipped to that part and the stretch's end (its last interval is
 * partial); the latest over the parts. 0 when no part has such an
 * interval; GST_CLOCK_TIME_NONE when no part has an energy curve. */
GstClockTime sound_end_of(const std::vector<Stretch> &parts)
{
  GstClockTime end = GST_CLOCK_TIME_NONE;
  for (const Stretch &st : parts) {
    const GstClockTime interval = st.song.energy_interval;
    if (interval == 0 || st.song.energy_curve.empty())
      continue;
    if (!GST_CLOCK_TIME_IS_VALID(end))
      end = 0;
    const GstClockTime stop = GST_CLOCK_TIME_IS_VALID(st.to) ? std::min(st.to, st.end()) : st.end();
    for (std::size_t i = st.song.energy_curve.size(); i-- > 0;) {
      const GstClockTime a = st.start + i * interval;
      const GstClockTime b = std::min(a + interval, stop);
      if (a >= stop || b <= st.from || !(st.song.energy_curve[i] > 0.0))
        continue;
      end = std::max(end, b);
      break;
    }
  }
  return end;
}

/* `t` counted from `origin` instead of stream time 0 (0 for a time before
 * it); GST_CLOCK_TIME_NONE stays. */
GstClockTime from_origin(GstClockTime t, GstClockTime origin)
{
  if (!GST_CLOCK_TIME_IS_VALID(t))
    return t;
  return t > origin ? t - origin : 0;
}

/* Moves the combined analysis `out` (stream time but for its energy curve,
 * which combine_energy_curves() laid out from `origin`) to the song's time:
 * every time counted from `origin`. A beat before it (none comes before the
 * first sample) is dropped with its energy and downbeat flag; sections are
 * clipped to it. */
void count_from(GstClockTime origin, montage::SongAnalysis &out)
{
  if (origin == 0)
    return;
  std::size_t kept = 0;
  for (std::size_t i = 0; i < out.beats.size(); i++) {
    if (out.beats[i] < origin)
      continue;
    out.beats[kept] = out.beats[i] - origin;
    if (i < out.beat_energy.size())
      out.beat_energy[kept] = out.beat_energy[i];
    if (i < out.downbeats.size())
      out.downbeats[kept] = out.downbeats[i];
    kept++;
  }
  out.beats.resize(kept);
  out.beat_energy.resize(std::min(out.beat_energy.size(), kept));
  out.downbeats.resize(std::min(out.downbeats.size(), kept));
  std::vector<montage::Section> sections;
  for (montage::Section sec : out.sections) {
    sec.start = from_origin(sec.start, origin);
    sec.end = from_origin(sec.end, origin);
    if (sec.end > sec.start)
      sections.push_back(sec);
  }
  out.sections = sections;
  out.duration = from_origin(out.duration, origin);
  out.sound_end = from_origin(out.sound_end, origin);
}

} // namespace

void register_elements()
{
  GST_ELEMENT_REGISTER(montagebeat, nullptr);
  GST_ELEMENT_REGISTER(montagescene, nullptr);
}

bool combine_beat_summaries(const std::vector<BeatSummary> &summaries, montage::SongAnalysis &out,
                            GstClockTime origin)
{
  if (!GST_CLOCK_TIME_IS_VALID(origin))
    origin = 0;
  out.beats.clear();
  out.beat_energy.clear();
  out.downbeats.clear();
  out.energy_curve.clear();
  out.sections.clear();
  out.bpm = out.confidence = out.meter_confidence = 0.0;
  out.beats_per_bar = 0;
  out.energy_interval = 0;
  out.duration = GST_CLOCK_TIME_NONE;
  out.sound_end = GST_CLOCK_TIME_NONE;
  std::vector<Stretch> all;
  for (const BeatSummary &s : summaries) {
    if (!s.structure || !gst_structure_has_name(s.structure, "montage-beats"))
      continue;
    all.push_back(read_summary(s, all.empty() ? 0 : all.back().end()));
  }
  if (all.empty())
    return false;
  /* A summary of no audio (an EOS straight after a reset) says nothing
   * where another says something. */
  auto empty = [](const Stretch &st) {
    return st.duration == 0 && st.song.beats.empty() && st.song.energy_curve.empty();
  };
  if (!std::all_of(all.begin(), all.end(), empty))
    all.erase(std::remove_if(all.begin(), all.end(), empty), all.end());
  out.duration = 0;
  for (const Stretch &st : all)
    out.duration = std::max(out.duration, st.end());

  /* In time order (a stretch that went back in time comes first); each gives
   * the song from where those before it end, so time covered twice keeps
   * the first stretch's analysis, and no stretch with nothing left to give
   * counts. */
  std::stable_sort(all.begin(), all.end(),
                   [](const Stretch &a, const Stretch &b) { return a.start < b.start; });
  std::vector<Stretch> parts;
  GstClockTime covered = 0;
  for (Stretch &st : all) {
    /* Back to back stretches meet within rounding: the element gives a
     * stretch's duration from its sample count, the next one's start from
     * its first buffer's PTS (226 ns apart on an MP3 going from 44.1 to 48
     * kHz). Under a millisecond, the later one starts where it says. */
    if (st.start + kJoinTolerance >= covered)
      covered = std::min(covered, st.start);
    st.from = parts.empty() ? st.start : std::max(st.start, covered);
    if (st.from >= st.end() && !parts.empty())
      continue;
    covered = std::max(covered, st.end());
    if (!parts.empty())
      parts.back().to = st.from;
    parts.push_back(std::move(st));
  }

  if (parts.size() == 1) {
    /* One stretch (the usual case): its summary as the element posted it. */
    const Stretch &st = parts.front();
    const GstClockTime duration = out.duration;
    const std::string uri = out.uri;
    out = st.song;
    out.uri = uri;
    out.duration = duration;
    combine_energy_curves(parts, out, origin);
    out.sound_end = sound_end_of(parts);
    count_from(origin, out);
    return true;
  }

  /* Beats: each stretch's in the part it gives, in order. Of two beats
   * less than half a beat period apart on either side of a join (one
   * stretch's last beat and the next one's first), the one with the higher
   * beat-confidence (an onset marks it) stays, the earlier on a tie. */
  std::vector<double> confidences;    /* of each beat kept, -1 when unknown */
  std::vector<std::size_t> from_part; /* the part each beat kept came from */
  for (std::size_t p = 0; p < parts.size(); p++) {
    const Stretch &st = parts[p];
    const montage::SongAnalysis &song = st.song;
    const GstClockTime period = median_period(song.beats);
    for (std::size_t i = 0; i < song.beats.size(); i++) {
      const GstClockTime b = song.beats[i];
      const double conf = i < st.beat_confidence.size() ? st.beat_confidence[i] : -1.0;
      if (!st.gives(b))
        continue;
      if (!out.beats.empty() && b <= out.beats.back())
        continue;
      if (!out.beats.empty() && period > 0 && b - out.beats.back() < period / 2) {
        if (from_part.back() == p || conf <= confidences.back())
          continue;
        out.beats.pop_back();
        out.beat_energy.pop_back();
        out.downbeats.pop_back();
        confidences.pop_back();
        from_part.pop_back();
      }
      out.beats.push_back(b);
      out.beat_energy.push_back(i < song.beat_energy.size() ? song.beat_energy[i] : 1.0);
      out.downbeats.push_back(i < song.downbeats.size() && song.downbeats[i]);
      confidences.push_back(conf);
      from_part.push_back(p);
    }
  }
  for (std::size_t p : from_part)
    parts[p].kept_beats++;

  /* Beat energy: each stretch scaled its own to its loudest beat; rescale to
   * the loudest of the whole song. */
  double peak = 0.0;
  std::vector<double> peaks;
  for (const Stretch &st : parts) {
    peaks.push_back(st.kept_beats > 0 ? loudest_beat_rms(st) : 0.0);
    peak = std::max(peak, peaks.back());
  }
  if (peak > 0.0)
    for (std::size_t i = 0; i < out.beats.size(); i++)
      out.beat_energy[i] *= peaks[from_part[i]] > 0.0 ? peaks[from_part[i]] / peak : 1.0;

  /* Tempo from all the beats (in stream time, as the element gives it), as
   * the element fits its own; confidence the median of every beat's, as the
   * element takes it, or the beat-weighted mean of the stretches'. */
  out.bpm = montage::bpm_from_beats(out.beats);
  if (!confidences.empty() && *std::min_element(confidences.begin(), confidences.end()) >= 0.0) {
    std::nth_element(confidences.begin(), confidences.begin() + (long)confidences.size() / 2,
                     confidences.end());
    out.confidence = confidences[confidences.size() / 2];
  } else if (!out.beats.empty()) {
    for (const Stretch &st : parts)
      out.confidence += st.song.confidence * (double)st.kept_beats / (double)out.beats.size();
  }

  /* Meter: that of the stretch giving the most beats; its confidence the
   * beat-weighted mean of the stretches', where a stretch with another
   * meter or none counts 0 (its bar lines are not this meter's). */
  const Stretch *most = nullptr;
  for (const Stretch &st : parts)
    if (st.song.beats_per_bar > 0 && (!most || st.kept_beats > most->kept_beats))
      most = &st;
  if (most && !out.beats.empty()) {
    out.beats_per_bar = most->song.beats_per_bar;
    for (const Stretch &st : parts)
      if (st.song.beats_per_bar == out.beats_per_bar)
        out.meter_confidence +=
            st.song.meter_confidence * (double)st.kept_beats / (double)out.beats.size();
  }

  combine_energy_curves(parts, out, origin);
  out.sound_end = sound_end_of(parts);

  /* Sections: each stretch's within the part it gives, back to back (one
   * that ends before the next begins runs on to it), runs at one level
   * joined. Each stretch's levels are thirds of its own range. */
  for (const Stretch &st : parts) {
    for (montage::Section sec : st.song.sections) {
      sec.start = std::max(sec.start, st.from);
      if (GST_CLOCK_TIME_IS_VALID(st.to))
        sec.end = std::min(sec.end, st.to);
      if (sec.end <= sec.start)
        continue;
      if (!out.sections.empty() && out.sections.back().end < sec.start)
        out.sections.back().end = sec.start;
      if (!out.sections.empty() && out.sections.back().level == sec.level)
        out.sections.back().end = sec.end;
      else
        out.sections.push_back(sec);
    }
  }
  count_from(origin, out);
  return true;
}

/* montagebeat's default silence-threshold (dBFS): quieter audio gives no
 * beats. */
constexpr double kSilenceDb = -60.0;

bool analyse_song(const std::string &path, montage::SongAnalysis &out, GError **error,
                  const ProgressFunc &progress, GstClockTime stall_timeout, const TempoRange &tempo)
{
  Run run;
  /* Every montage-beats summary, in the order posted: one per stretch of
   * audio between the element's resets (a new sample rate mid-song, a new
   * segment, the stream's time going back). */
  std::vector<GstStructure *> summaries;
  std::vector<GstSegment> segments;                 /* the segment of each summary's audio */
  GstClockTime adts_duration = GST_CLOCK_TIME_NONE; /* exact, from montageadtssrc's index */
  auto on_message = [&](const GstStructure *s) {
    if (gst_structure_has_name(s, "montage-adts-index"))
      adts_duration = get_u64(s, "duration", GST_CLOCK_TIME_NONE);
    if (gst_structure_has_name(s, "montage-beats")) {
      summaries.push_back(gst_structure_copy(s));
      segments.push_back(summary_segment(run));
    }
  };
  /* Raw AAC goes through montageadtssrc: sample-exact timestamps and the
   * exact duration (frames x 1024 / rate, encoder priming included, the
   * decoder's timeline, as the renderer plays the song). */
  const bool adts = g_file_test(path.c_str(), G_FILE_TEST_IS_REGULAR) && is_adts_file(path);
  /* The song as the montage plays it: more than two channels downmixed to
   * stereo as the render does (ITU-R BS.775, LFE dropped:
   * render_detail::downmix_to_stereo(), set on the element named
   * kDownmixName by run_pipeline()); mono and stereo pass unchanged.
   * montagebeat then averages the two. Before, audioconvert gave it all the
   * channels, which it averaged with equal weights, LFE included. */
  const std::string chain =
      std::string("audioconvert name=") + kDownmixName +
      " ! audio/x-raw,channels=[1,2] ! montagebeat min-bpm=" + bpm_text(tempo.min_bpm) +
      " max-bpm=" + bpm_text(tempo.max_bpm) + " ! fakesink sync=false";
  bool ok = run_pipeline(path, "audio", chain.c_str(), on_message, run, progress, stall_timeout, error, adts);
  if (ok) {
    std::vector<BeatSummary> all;
    for (std::size_t i = 0; i < summaries.size(); i++)
      all.push_back({summaries[i], &segments[i]});
    /* The song's time starts at its first decoded sample, as both render
     * paths play it and a video editor shows the file: a demuxer may give
     * that sample a later stream time (tsdemux and mpegpsdemux count from
     * the first PCR/SCR, ffmpeg's muxers put it 0.7 s before the first
     * PTS), and beats timed from there fell that far after the music the
     * montage plays (docs/render.md, "The song's time"). */
    const GstClockTime origin = GST_CLOCK_TIME_IS_VALID(run.stream_start) ? run.stream_start : 0;
    const bool have_summary = combine_beat_summaries(all, out, origin);
    const GstClockTime seen = out.duration;
    gchar *uri = montage::local_file_uri(path, nullptr);
    out.uri = uri ? uri : "";
    g_free(uri);
    /* montageadtssrc's index counts from the first frame already. */
    const GstClockTime decoded = decoded_length(run, origin);
    out.stated_duration = run.stated;
    out.duration = GST_CLOCK_TIME_IS_VALID(adts_duration) ? adts_duration
                   : GST_CLOCK_TIME_IS_VALID(decoded)     ? decoded
                                                          : seen;
    /* The song's length is the decoder's (or the ADTS index's); the
     * summaries' own can run a rounding further. */
    if (GST_CLOCK_TIME_IS_VALID(out.sound_end) && GST_CLOCK_TIME_IS_VALID(out.duration))
      out.sound_end = std::min(out.sound_end, out.duration);
    if (!have_summary || out.beats.empty()) {
      /* montagebeat finds no beat in audio quieter than its default
       * silence-threshold, -60 dBFS: said as such, a wrong file or a muted
       * export, not a song without rhythm. sound_end is 0 where no energy
       * interval of the summaries is louder than that threshold. */
      /* A film given as the song (a clip in the wrong argument, or a
       * music video whose sound is not the music): said, since its sound
       * track is what was heard. */
      const char *film = run.video_beside
                             ? " (the file is a film: its sound track was analysed; give -m the "
                               "song itself)"
                             : "";
      if (out.sound_end == 0)
        g_set_error(error, GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED,
                    "the song is silent (nowhere louder than %.0f dBFS)%s: choose a file with "
                    "music in it",
                    kSilenceDb, film);
      else
        g_set_error(error, GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED,
                    "no beats were detected in the song%s: choose a song with a steady rhythm",
                    film);
      ok = false;
    }
    if (out.beat_energy.size() != out.beats.size())
      out.beat_energy.clear();
    if (out.downbeats.size() != out.beats.size())
      out.downbeats.clear();
  }
  for (GstStructure *s : summaries)
    gst_structure_free(s);
  free_run(run);
  return ok;
}

bool analyse_clip(const std::string &path, montage::ClipAnalysis &out, GError **error,
                  const ProgressFunc &progress, GstClockTime stall_timeout, bool full_decode)
{
  /* The library runs its own pipeline with the scene detector core: the
   * keyframe path (keyframes alone first, then, after one seek, only the GOPs
   * between keyframes that differ), or full decoding where the file cannot
   * seek (montage/clipanalysis.h). */
  montage::ClipAnalyseOptions options;
  options.mode = full_decode ? montage::ClipAnalyseOptions::Mode::kFull
                             : montage::ClipAnalyseOptions::Mode::kAuto;
  options.stall_timeout = stall_timeout;
  options.progress = progress;
  return montage::analyse_clip_file(path, options, out, error);
}

bool song_cut_short(const montage::SongAnalysis &song)
{
  if (!GST_CLOCK_TIME_IS_VALID(song.duration) || !GST_CLOCK_TIME_IS_VALID(song.stated_duration))
    return false;
  return song.duration + kCutShortBy <= song.stated_duration &&
         (double)song.duration < kCutShortPart * (double)song.stated_duration;
}

std::string clip_analysis_params(bool full_decode)
{
  montage::ClipAnalyseOptions options;
  const montage::ShotDetectorSettings &d = options.detector;
  gchar *p = g_strdup_printf("mode=%s;keyframe-change=%g;keyframe-histogram-change=%g;detector=%d;"
                             "threshold=%g;min-shot-length=%" G_GUINT64_FORMAT,
                             full_decode ? "full" : "auto", options.keyframe_change,
                             options.keyframe_histogram_change, (int)d.detector, d.threshold,
                             (guint64)d.min_shot_length);
  std::string out(p);
  g_free(p);
  return out;
}

} // namespace montage_tool
