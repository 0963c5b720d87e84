/* tools/live.cpp: gst-montage-1.0 --live.
 *
 * Every clip plays at once, in real time (clocksync after each decoder), into
 * montageselect, which cuts between them on the beats montagebeat (live mode)
 * finds in the song; the song is the soundtrack. The result is encoded with
 * the best working H.264 encoder and AAC into MP4, written under a temporary
 * name and renamed when complete. This is the live path run on files: what a
 * multi-camera rig would do with cameras instead of clips (docs/montageselect.md).
 *
 *   clip i: uridecodebin ! videoconvert ! videoscale ! videorate ! I420 1280x720 30/1
 *           ! clocksync ! montagescene ! queue ! montageselect.sink_i
 *   song:   uridecodebin ! audioconvert ! audioresample ! clocksync ! montagebeat mode=live
 *           ! tee ! queue ! montageselect.beat
 *                 tee ! queue ! audioconvert ! voaacenc|avenc_aac ! mp4mux
 *   montageselect ! videoconvert ! H.264 encoder ! h264parse ! mp4mux ! filesink
 */
#include "analysis.h"

#include "gstmontageselect.h"

#include <gst/montage/encoder.h>

#include <glib/gstdio.h>

#include <cstdio>
#include <string>
#include <vector>

int montage_tool_live(const std::vector<std::string> &clips, const std::string &song,
                      const std::string &output, GstClockTime duration, const std::string &style,
                      bool quiet);

namespace
{

/* Links a decoder's new pad to `target` (a sink pad) when its caps start with
 * `media`, once; other streams go to a fakesink so they never stall. */
struct Branch {
  GstElement *pipeline = nullptr;
  GstPad *target = nullptr; /* ref */
  const char *media = "video/";
  bool linked = false;
};

void on_pad_added(GstElement *, GstPad *pad, gpointer data)
{
  Branch *b = static_cast<Branch *>(data);
  GstCaps *caps = gst_pad_get_current_caps(pad);
  if (!caps)
    caps = gst_pad_query_caps(pad, NULL);
  const gchar *name = gst_structure_get_name(gst_caps_get_structure(caps, 0));
  const bool wanted = !b->linked && g_str_has_prefix(name, b->media);
  gst_caps_unref(caps);
  if (wanted && gst_pad_link(pad, b->target) == GST_PAD_LINK_OK) {
    b->linked = true;
    return;
  }
  GstElement *sink = gst_element_factory_make("fakesink", NULL);
  g_object_set(sink, "sync", FALSE, NULL);
  gst_bin_add(GST_BIN(b->pipeline), sink);
  gst_element_sync_state_with_parent(sink);
  GstPad *sinkpad = gst_element_get_static_pad(sink, "sink");
  gst_pad_link(pad, sinkpad);
  gst_object_unref(sinkpad);
}

/* A clip or song with no stream of the wanted kind ends its branch at once,
 * so the mixer does not wait for it. */
void on_no_more_pads(GstElement *, gpointer data)
{
  Branch *b = static_cast<Branch *>(data);
  if (!b->linked)
    gst_pad_send_event(b->target, gst_event_new_eos());
}

GstElement *make(const char *factory, GstElement *bin, GError **error)
{
  GstElement *e = gst_element_factory_make(factory, NULL);
  if (!e) {
    g_set_error(error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
                "the GStreamer element %s is missing: run scripts/setup.sh", factory);
    return nullptr;
  }
  gst_bin_add(GST_BIN(bin), e);
  return e;
}

std::string to_uri(const std::string &path)
{
  if (gst_uri_is_valid(path.c_str()))
    return path;
  gchar *uri = gst_filename_to_uri(path.c_str(), NULL);
  std::string out = uri ? uri : "";
  g_free(uri);
  return out;
}

struct Live {
  GMainLoop *loop = nullptr;
  GstElement *pipeline = nullptr;
  bool quiet = false;
  bool failed = false;
  bool ending = false;
  std::string error;
  guint switches = 0;
  guint timer = 0; /* the duration timeout, while pending */
  std::vector<GstPad *> entries; /* each branch's first sink pad (borrowed from the branches) */
};

void end_stream(Live *live)
{
  if (live->ending)
    return;
  live->ending = true;
  /* Into each branch after its decoder: demuxers in pull mode ignore an EOS
   * sent to their source. The decoders see EOS returned and stop. */
  for (GstPad *pad : live->entries)
    gst_pad_send_event(pad, gst_event_new_eos());
}

gboolean on_duration(gpointer data)
{
  Live *live = static_cast<Live *>(data);
  live->timer = 0;
  end_stream(live);
  return G_SOURCE_REMOVE;
}

/* The song or the mix ended: end everything (the other clips, the song). */
GstPadProbeReturn on_branch_eos(GstPad *, GstPadProbeInfo *info, gpointer data)
{
  if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) == GST_EVENT_EOS) {
    Live *live = static_cast<Live *>(data);
    g_idle_add(
        [](gpointer d) -> gboolean {
          end_stream(static_cast<Live *>(d));
          return G_SOURCE_REMOVE;
        },
        live);
  }
  return GST_PAD_PROBE_OK;
}

gboolean on_bus(GstBus *, GstMessage *msg, gpointer data)
{
  Live *live = static_cast<Live *>(data);
  switch (GST_MESSAGE_TYPE(msg)) {
  case GST_MESSAGE_ERROR: {
    GError *err = nullptr;
    gchar *dbg = nullptr;
    gst_message_parse_error(msg, &err, &dbg);
    live->failed = true;
    live->error = err ? err->message : "unknown error";
    g_clear_error(&err);
    g_free(dbg);
    g_main_loop_quit(live->loop);
    break;
  }
  case GST_MESSAGE_EOS:
    g_main_loop_quit(live->loop);
    break;
  case GST_MESSAGE_ELEMENT: {
    const GstStructure *s = gst_message_get_structure(msg);
    if (!gst_structure_has_name(s, "montage-switch"))
      break;
    live->switches++;
    if (live->quiet)
      break;
    guint64 t = 0;
    double total = 0.0;
    gst_structure_get_uint64(s, "running-time", &t);
    gst_structure_get_double(s, "total", &total);
    const gchar *prev = gst_structure_get_string(s, "previous-pad");
    g_printerr("%8.3f s  %s -> %s (%s, score %.2f)\n", t / 1e9, prev && *prev ? prev : "-",
               gst_structure_get_string(s, "new-pad"), gst_structure_get_string(s, "reason"),
               total);
    break;
  }
  default:
    break;
  }
  return TRUE;
}

} // namespace

int montage_tool_live(const std::vector<std::string> &clips, const std::string &song,
                      const std::string &output, GstClockTime duration, const std::string &style,
                      bool quiet, const montage_tool::TempoRange &tempo)
{
  montage_tool::register_elements();
  GST_ELEMENT_REGISTER(montageselect, nullptr);
  if (clips.empty()) {
    g_printerr("gst-montage-1.0: --live needs at least one clip.\n");
    return 2;
  }

  GError *error = nullptr;
  const std::string encoder = montage::pick_h264_encoder(montage::h264_encoder_candidates(), &error);
  if (encoder.empty()) {
    g_printerr("gst-montage-1.0: no working H.264 encoder: %s\n",
               error ? error->message : "none found");
    g_clear_error(&error);
    return 1;
  }

  Live live;
  live.quiet = quiet;
  live.pipeline = gst_pipeline_new("live");
  std::vector<Branch *> branches;
  const std::string tmp = output + ".part";
  bool ok = true;

  GstElement *sel = make("montageselect", live.pipeline, &error);
  GstElement *vconv = make("videoconvert", live.pipeline, &error);
  GstElement *enc = gst_element_factory_make(encoder.c_str(), NULL);
  GstElement *parse = make("h264parse", live.pipeline, &error);
  GstElement *vq = make("queue", live.pipeline, &error);
  GstElement *mux = make("mp4mux", live.pipeline, &error);
  GstElement *sink = make("filesink", live.pipeline, &error);
  ok = sel && vconv && enc && parse && vq && mux && sink;
  if (!ok && enc)
    gst_object_unref(enc);
  if (ok) {
    gst_bin_add(GST_BIN(live.pipeline), enc);
    g_object_set(sel, "style", style.c_str(), NULL);
    if (GstStructure *props = montage::h264_encoder_properties(encoder, false)) {
      for (int k = 0; k < gst_structure_n_fields(props); k++) {
        const gchar *field = gst_structure_nth_field_name(props, k);
        gst_util_set_object_arg(G_OBJECT(enc), field, gst_structure_get_string(props, field));
      }
      gst_structure_free(props);
    }
    g_object_set(sink, "location", tmp.c_str(), NULL);
    ok = gst_element_link_many(sel, vconv, enc, parse, vq, mux, sink, NULL);
    GstPad *src = gst_element_get_static_pad(sel, "src");
    gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_branch_eos, &live, NULL);
    gst_object_unref(src);
  }

  /* One branch per clip. */
  for (size_t i = 0; ok && i < clips.size(); i++) {
    GstElement *dec = make("uridecodebin", live.pipeline, &error);
    GstElement *conv = make("videoconvert", live.pipeline, &error);
    GstElement *scale = make("videoscale", live.pipeline, &error);
    GstElement *rate = make("videorate", live.pipeline, &error);
    GstElement *filter = make("capsfilter", live.pipeline, &error);
    GstElement *sync = make("clocksync", live.pipeline, &error);
    GstElement *scene = make("montagescene", live.pipeline, &error);
    GstElement *q = make("queue", live.pipeline, &error);
    ok = dec && conv && scale && rate && filter && sync && scene && q;
    if (!ok)
      break;
    g_object_set(dec, "uri", to_uri(clips[i]).c_str(), NULL);
    GstCaps *caps = gst_caps_from_string(
        "video/x-raw,format=I420,width=1280,height=720,pixel-aspect-ratio=1/1,framerate=30/1");
    g_object_set(filter, "caps", caps, NULL);
    gst_caps_unref(caps);
    ok = gst_element_link_many(conv, scale, rate, filter, sync, scene, q, NULL);
    GstPad *selpad = gst_element_request_pad_simple(sel, "sink_%u");
    GstPad *qsrc = gst_element_get_static_pad(q, "src");
    ok = ok && selpad && gst_pad_link(qsrc, selpad) == GST_PAD_LINK_OK;
    gst_object_unref(qsrc);
    if (selpad)
      gst_object_unref(selpad);
    Branch *b = new Branch();
    b->pipeline = live.pipeline;
    b->target = gst_element_get_static_pad(conv, "sink");
    b->media = "video/";
    branches.push_back(b);
    live.entries.push_back(b->target);
    g_signal_connect(dec, "pad-added", G_CALLBACK(on_pad_added), b);
    g_signal_connect(dec, "no-more-pads", G_CALLBACK(on_no_more_pads), b);
  }

  /* The song: beats to the mixer, sound to the file. */
  if (ok) {
    GstElement *dec = make("uridecodebin", live.pipeline, &error);
    GstElement *conv = make("audioconvert", live.pipeline, &error);
    GstElement *res = make("audioresample", live.pipeline, &error);
    GstElement *sync = make("clocksync", live.pipeline, &error);
    GstElement *beat = make("montagebeat", live.pipeline, &error);
    GstElement *tee = make("tee", live.pipeline, &error);
    GstElement *bq = make("queue", live.pipeline, &error);
    GstElement *aq = make("queue", live.pipeline, &error);
    GstElement *aconv = make("audioconvert", live.pipeline, &error);
    GstElement *aenc = gst_element_factory_make("voaacenc", NULL);
    if (!aenc)
      aenc = make("avenc_aac", live.pipeline, &error);
    else
      gst_bin_add(GST_BIN(live.pipeline), aenc);
    ok = dec && conv && res && sync && beat && tee && bq && aq && aconv && aenc;
    if (ok) {
      g_object_set(dec, "uri", to_uri(song).c_str(), NULL);
      gst_util_set_object_arg(G_OBJECT(beat), "mode", "live");
      g_object_set(beat, "min-bpm", tempo.min_bpm, "max-bpm", tempo.max_bpm, NULL);
      ok = gst_element_link_many(conv, res, sync, beat, tee, NULL) &&
           gst_element_link(tee, bq) && gst_element_link_pads(bq, "src", sel, "beat") &&
           gst_element_link_many(tee, aq, aconv, aenc, mux, NULL);
      GstPad *src = gst_element_get_static_pad(beat, "src");
      gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_branch_eos, &live, NULL);
      gst_object_unref(src);
      Branch *b = new Branch();
      b->pipeline = live.pipeline;
      b->target = gst_element_get_static_pad(conv, "sink");
      b->media = "audio/";
      branches.push_back(b);
      live.entries.push_back(b->target);
      g_signal_connect(dec, "pad-added", G_CALLBACK(on_pad_added), b);
      g_signal_connect(dec, "no-more-pads", G_CALLBACK(on_no_more_pads), b);
    }
  }

  int ret = 0;
  if (!ok) {
    g_printerr("gst-montage-1.0: cannot build the live pipeline: %s\n",
               error ? error->message : "elements would not link");
    ret = 1;
  } else {
    live.loop = g_main_loop_new(NULL, FALSE);
    GstBus *bus = gst_element_get_bus(live.pipeline);
    const guint watch = gst_bus_add_watch(bus, on_bus, &live);
    gst_object_unref(bus);
    if (GST_CLOCK_TIME_IS_VALID(duration))
      live.timer = g_timeout_add((guint)(duration / GST_MSECOND), on_duration, &live);
    if (!quiet)
      g_printerr("Playing %zu clips live into montageselect with %s (%s)...\n", clips.size(),
                 encoder.c_str(), style.c_str());
    if (gst_element_set_state(live.pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
      live.failed = true;
      if (live.error.empty())
        live.error = "the pipeline would not start";
    } else {
      g_main_loop_run(live.loop);
    }
    gst_element_set_state(live.pipeline, GST_STATE_NULL);
    if (live.timer)
      g_source_remove(live.timer);
    while (g_main_context_iteration(NULL, FALSE)) /* idles queued by the EOS probes */
      ;
    g_source_remove(watch);
    g_main_loop_unref(live.loop);
    if (live.failed) {
      g_printerr("gst-montage-1.0: the live mix failed: %s\n", live.error.c_str());
      g_unlink(tmp.c_str());
      ret = 1;
    } else if (g_rename(tmp.c_str(), output.c_str()) != 0) {
      g_printerr("gst-montage-1.0: cannot write %s\n", output.c_str());
      ret = 1;
    } else {
      g_print("%s: live mix, %u switches\n", output.c_str(), live.switches);
    }
  }
  g_clear_error(&error);
  gst_object_unref(live.pipeline);
  for (Branch *b : branches) {
    gst_object_unref(b->target);
    delete b;
  }
  return ret;
}
