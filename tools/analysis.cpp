/* Analysis pipelines of the gst-montage-1.0 tool; see analysis.h. */
#include "analysis.h"

#include "gstmontageadtssrc.h"
#include "gstmontagebeat.h"
#include "gstmontagescene.h"

#include <gst/montage/adts.h>
#include <gst/montage/clipanalysis.h>

#include <algorithm>
#include <mutex>

namespace montage_tool {

namespace {

/* One analysis run: uridecodebin ! <chain ending in fakesink>. */
struct Run {
  const char *media;          /* "audio" or "video": the stream type we analyse */
  GstElement *pipeline = nullptr;
  GstElement *chain = nullptr; /* bin with a ghost sink pad */
  std::mutex lock;
  bool linked = false;
  /* Filled by the probe on the chain's sink pad. */
  GstSegment segment;
  GstClockTime stream_start = GST_CLOCK_TIME_NONE; /* stream time of the first buffer */
  GstClockTime stream_end = GST_CLOCK_TIME_NONE;   /* stream time of the end of the last buffer */
};

void on_pad_added(GstElement *, GstPad *pad, gpointer user_data)
{
  Run *run = static_cast<Run *>(user_data);
  GstCaps *caps = gst_pad_get_current_caps(pad);
  if (!caps)
    caps = gst_pad_query_caps(pad, nullptr);
  const gchar *name = gst_structure_get_name(gst_caps_get_structure(caps, 0));
  bool wanted = g_str_has_prefix(name, run->media) && g_str_has_suffix(name, "/x-raw");
  gst_caps_unref(caps);

  std::lock_guard<std::mutex> guard(run->lock);
  GstPad *sink = gst_element_get_static_pad(run->chain, "sink");
  montage::link_or_drain(GST_BIN(run->pipeline), pad, sink, wanted, &run->linked);
  gst_object_unref(sink);
}

/* uridecodebin exposed every stream: without the one we analyse, nothing
 * would ever reach the chain's sink, so fail now rather than wait. */
void on_no_more_pads(GstElement *src, gpointer user_data)
{
  Run *run = static_cast<Run *>(user_data);
  std::lock_guard<std::mutex> guard(run->lock);
  if (run->linked)
    return;
  GError *err = g_error_new(GST_STREAM_ERROR, GST_STREAM_ERROR_WRONG_TYPE, "has no %s stream",
                            run->media);
  gst_element_post_message(src, gst_message_new_error(GST_OBJECT(src), err, nullptr));
  g_error_free(err);
}

GstPadProbeReturn on_chain_data(GstPad *, GstPadProbeInfo *info, gpointer user_data)
{
  Run *run = static_cast<Run *>(user_data);
  std::lock_guard<std::mutex> guard(run->lock);
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
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
    if (GST_EVENT_TYPE(ev) == GST_EVENT_SEGMENT)
      gst_event_copy_segment(ev, &run->segment);
  }
  return GST_PAD_PROBE_OK;
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
  g_signal_connect(src, "pad-added", G_CALLBACK(on_pad_added), &run);
  g_signal_connect(src, "no-more-pads", G_CALLBACK(on_no_more_pads), &run);
  GstPad *chain_sink = gst_element_get_static_pad(run.chain, "sink");
  gst_pad_add_probe(chain_sink,
                    (GstPadProbeType)(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
                    on_chain_data, &run, nullptr);
  gst_object_unref(chain_sink);

  bool ok = true;
  gst_element_set_state(run.pipeline, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus(run.pipeline);
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
  gst_object_unref(bus);
  if (ok && !run.linked) {
    g_set_error(error, GST_STREAM_ERROR, GST_STREAM_ERROR_WRONG_TYPE, "has no %s stream", media);
    ok = false;
  }
  gst_element_set_state(run.pipeline, GST_STATE_NULL);
  return ok;
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

} // namespace

void register_elements()
{
  GST_ELEMENT_REGISTER(montagebeat, nullptr);
  GST_ELEMENT_REGISTER(montagescene, nullptr);
}

bool analyse_song(const std::string &path, montage::SongAnalysis &out, GError **error,
                  const ProgressFunc &progress, GstClockTime stall_timeout, const TempoRange &tempo)
{
  Run run;
  bool have_summary = false;
  GstClockTime seen = GST_CLOCK_TIME_NONE;
  GstClockTime adts_duration = GST_CLOCK_TIME_NONE; /* exact, from montageadtssrc's index */
  auto on_message = [&](const GstStructure *s) {
    if (gst_structure_has_name(s, "montage-adts-index"))
      adts_duration = get_u64(s, "duration", GST_CLOCK_TIME_NONE);
    if (!gst_structure_has_name(s, "montage-beats"))
      return;
    have_summary = true;
    out.beats.clear();
    out.beat_energy.clear();
    if (const GValue *beats = gst_structure_get_value(s, "beats"))
      for (guint i = 0; i < gst_value_list_get_size(beats); i++)
        out.beats.push_back(g_value_get_uint64(gst_value_list_get_value(beats, i)));
    if (const GValue *energy = gst_structure_get_value(s, "energy"))
      for (guint i = 0; i < gst_value_list_get_size(energy); i++)
        out.beat_energy.push_back(g_value_get_double(gst_value_list_get_value(energy, i)));
    gst_structure_get_double(s, "bpm", &out.bpm);
    gst_structure_get_double(s, "confidence", &out.confidence);
    seen = get_u64(s, "duration", GST_CLOCK_TIME_NONE);
    out.downbeats.clear();
    if (const GValue *down = gst_structure_get_value(s, "downbeats"))
      for (guint i = 0; i < gst_value_list_get_size(down); i++)
        out.downbeats.push_back(g_value_get_boolean(gst_value_list_get_value(down, i)));
    guint bpb = 0;
    out.beats_per_bar = gst_structure_get_uint(s, "beats-per-bar", &bpb) ? bpb : 0;
    out.meter_confidence = 0.0;
    gst_structure_get_double(s, "meter-confidence", &out.meter_confidence);
    out.energy_curve.clear();
    if (const GValue *curve = gst_structure_get_value(s, "energy-curve"))
      for (guint i = 0; i < gst_value_list_get_size(curve); i++)
        out.energy_curve.push_back(g_value_get_double(gst_value_list_get_value(curve, i)));
    out.energy_interval = get_u64(s, "energy-interval", 0);
    out.sections.clear();
    if (const GValue *sections = gst_structure_get_value(s, "sections")) {
      for (guint i = 0; i < gst_value_list_get_size(sections); i++) {
        const GstStructure *sec = gst_value_get_structure(gst_value_list_get_value(sections, i));
        const gchar *level = gst_structure_get_string(sec, "level");
        montage::Section section;
        section.start = get_u64(sec, "start", 0);
        section.end = get_u64(sec, "end", 0);
        section.level = !g_strcmp0(level, "low")    ? montage::Section::Level::kLow
                        : !g_strcmp0(level, "high") ? montage::Section::Level::kHigh
                                                    : montage::Section::Level::kMedium;
        out.sections.push_back(section);
      }
    }
  };
  /* Raw AAC goes through montageadtssrc: sample-exact timestamps and the
   * exact duration (frames x 1024 / rate, encoder priming included, the
   * decoder's timeline, as the renderer plays the song). */
  const bool adts = g_file_test(path.c_str(), G_FILE_TEST_IS_REGULAR) && is_adts_file(path);
  const std::string chain = "audioconvert ! montagebeat min-bpm=" + bpm_text(tempo.min_bpm) +
                            " max-bpm=" + bpm_text(tempo.max_bpm) + " ! fakesink sync=false";
  bool ok = run_pipeline(path, "audio", chain.c_str(), on_message, run, progress, stall_timeout, error, adts);
  if (ok) {
    gchar *uri = montage::local_file_uri(path, nullptr);
    out.uri = uri ? uri : "";
    g_free(uri);
    out.duration = GST_CLOCK_TIME_IS_VALID(adts_duration)  ? adts_duration
                   : GST_CLOCK_TIME_IS_VALID(run.stream_end) ? run.stream_end
                                                            : seen;
    if (!have_summary || out.beats.empty()) {
      g_set_error(error, GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED,
                  "no beats were detected in the song: choose a song with a steady rhythm");
      ok = false;
    }
    if (out.beat_energy.size() != out.beats.size())
      out.beat_energy.clear();
    if (out.downbeats.size() != out.beats.size())
      out.downbeats.clear();
  }
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
