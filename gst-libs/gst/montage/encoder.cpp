/* H.264 encoder choice; see encoder.h. */
#include <gst/montage/encoder.h>

#include <algorithm>

GST_DEBUG_CATEGORY_STATIC(montage_encoder_debug);
#define GST_CAT_DEFAULT montage_encoder_debug

namespace montage {

namespace {

/* Our order: NOTES.md, "Hardware encoders" (ranks on 1.22 would put
 * v4l2h264enc first and never auto-pick the VA encoders). */
const char *const kPreferred[] = {
    "nvh264enc", "vah264enc", "vah264lpenc", "vaapih264enc", "x264enc", "openh264enc",
};

void init_debug()
{
  static gsize once = 0;
  if (g_once_init_enter(&once)) {
    GST_DEBUG_CATEGORY_INIT(montage_encoder_debug, "montageencoder", 0, "gst-montage encoder choice");
    g_once_init_leave(&once, 1);
  }
}

bool is_hardware(GstElementFactory *factory)
{
  const gchar *klass = gst_element_factory_get_metadata(factory, GST_ELEMENT_METADATA_KLASS);
  return klass && strstr(klass, "Hardware") != nullptr;
}

} // namespace

std::vector<std::string> h264_encoder_candidates()
{
  init_debug();
  std::vector<std::string> out;
  for (const char *name : kPreferred) {
    GstElementFactory *f = gst_element_factory_find(name);
    if (f) {
      out.emplace_back(name);
      gst_object_unref(f);
    }
  }

  GList *encoders =
      gst_element_factory_list_get_elements(GST_ELEMENT_FACTORY_TYPE_VIDEO_ENCODER, GST_RANK_NONE);
  GstCaps *h264 = gst_caps_new_empty_simple("video/x-h264");
  GList *h264_encoders =
      gst_element_factory_list_filter(encoders, h264, GST_PAD_SRC, FALSE /* subset */);
  gst_caps_unref(h264);
  gst_plugin_feature_list_free(encoders);

  std::vector<GstElementFactory *> others;
  for (GList *l = h264_encoders; l; l = l->next) {
    auto *f = GST_ELEMENT_FACTORY(l->data);
    std::string name = GST_OBJECT_NAME(f);
    if (std::find(out.begin(), out.end(), name) == out.end())
      others.push_back(f);
  }
  std::stable_sort(others.begin(), others.end(), [](GstElementFactory *a, GstElementFactory *b) {
    bool ha = is_hardware(a), hb = is_hardware(b);
    if (ha != hb)
      return ha;
    return gst_plugin_feature_get_rank(GST_PLUGIN_FEATURE(a)) >
           gst_plugin_feature_get_rank(GST_PLUGIN_FEATURE(b));
  });
  for (GstElementFactory *f : others)
    out.emplace_back(GST_OBJECT_NAME(f));
  gst_plugin_feature_list_free(h264_encoders);
  return out;
}

bool probe_h264_encoder(const std::string &factory, GError **error, guint n_frames,
                        GstClockTime timeout)
{
  init_debug();
  GstElement *pipeline = gst_pipeline_new("montage-encoder-probe");
  GstElement *src = gst_element_factory_make("videotestsrc", nullptr);
  GstElement *convert = gst_element_factory_make("videoconvert", nullptr);
  GstElement *capsfilter = gst_element_factory_make("capsfilter", nullptr);
  GstElement *enc = gst_element_factory_make(factory.c_str(), nullptr);
  GstElement *sink = gst_element_factory_make("fakesink", nullptr);
  if (!src || !convert || !capsfilter || !sink || !enc) {
    GstElementFactory *found = enc ? nullptr : gst_element_factory_find(factory.c_str());
    if (!enc && !found)
      g_set_error(error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
                  "no element named %s is installed (gst-inspect-1.0 lists the encoders there are)",
                  factory.c_str());
    else if (!enc)
      g_set_error(error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
                  "%s is installed but could not be created (its plugin or its library failed "
                  "to load: GST_DEBUG=3 says why)",
                  factory.c_str());
    else
      g_set_error(error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
                  "cannot test %s: videotestsrc or videoconvert (gstreamer1.0-plugins-base), or "
                  "capsfilter or fakesink (GStreamer's core elements), cannot be created",
                  factory.c_str());
    if (found)
      gst_object_unref(found);
    for (GstElement *e : {src, convert, capsfilter, enc, sink})
      if (e)
        gst_object_unref(gst_object_ref_sink(e));
    gst_object_unref(pipeline);
    return false;
  }
  g_object_set(src, "num-buffers", (gint)std::max(1u, n_frames), NULL);
  GstCaps *caps = gst_caps_from_string("video/x-raw,width=320,height=240,framerate=30/1");
  g_object_set(capsfilter, "caps", caps, NULL);
  gst_caps_unref(caps);
  gst_bin_add_many(GST_BIN(pipeline), src, capsfilter, convert, enc, sink, NULL);

  bool ok = gst_element_link_many(src, capsfilter, convert, enc, NULL) &&
            gst_element_link_filtered(enc, sink, nullptr);
  if (!ok) {
    g_set_error(error, GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION,
                "%s does not accept raw video here", factory.c_str());
  } else if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    ok = false;
    /* The reason is usually on the bus. */
  }

  GstBus *bus = gst_element_get_bus(pipeline);
  if (ok || !(error && *error)) {
    GstMessage *msg = gst_bus_timed_pop_filtered(
        bus, ok ? timeout : 0, (GstMessageType)(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    if (msg && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
      GError *err = nullptr;
      gst_message_parse_error(msg, &err, nullptr);
      g_set_error(error, err->domain, err->code, "%s failed to encode: %s", factory.c_str(),
                  err->message);
      g_error_free(err);
      ok = false;
    } else if (!msg) {
      if (!(error && *error))
        g_set_error(error, GST_CORE_ERROR, GST_CORE_ERROR_STATE_CHANGE,
                    ok ? "%s did not finish encoding %u test frames in time"
                       : "%s could not be started",
                    factory.c_str(), n_frames);
      ok = false;
    }
    if (msg)
      gst_message_unref(msg);
  }
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  GST_INFO("probe of %s: %s", factory.c_str(), ok ? "works" : "fails");
  return ok;
}

std::string pick_h264_encoder(const std::vector<std::string> &candidates, GError **error,
                              std::vector<std::string> *rejected)
{
  for (const std::string &name : candidates) {
    GError *err = nullptr;
    if (probe_h264_encoder(name, &err))
      return name;
    if (rejected)
      rejected->push_back(name + ": " + (err ? err->message : "unknown failure"));
    g_clear_error(&err);
  }
  g_set_error(error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
              "no working H.264 encoder: install gstreamer1.0-plugins-ugly (x264enc) "
              "or gstreamer1.0-plugins-bad (openh264enc)");
  return "";
}

GstStructure *h264_encoder_properties(const std::string &factory, bool preview)
{
  if (factory == "x264enc") {
    /* pass=qual is x264's constant-quality (CRF) mode; quantizer is the CRF. */
    return gst_structure_new("x264enc", "speed-preset", G_TYPE_STRING,
                             preview ? "ultrafast" : "veryfast", "pass", G_TYPE_STRING, "qual",
                             "quantizer", G_TYPE_STRING, preview ? "28" : "21", NULL);
  }
  if (factory == "openh264enc") {
    return gst_structure_new("openh264enc", "complexity", G_TYPE_STRING, preview ? "low" : "medium",
                             NULL);
  }
  if (factory == "nvh264enc") {
    return gst_structure_new("nvh264enc", "preset", G_TYPE_STRING, preview ? "hp" : "hq", NULL);
  }
  if (factory == "vah264enc" || factory == "vah264lpenc") {
    return gst_structure_new(factory.c_str(), "target-usage", G_TYPE_STRING, preview ? "7" : "4", NULL);
  }
  return nullptr;
}

void tag_as_montage(GstElement *muxer)
{
  if (!muxer || !GST_IS_TAG_SETTER(muxer))
    return;
  gst_tag_setter_add_tags(GST_TAG_SETTER(muxer), GST_TAG_MERGE_REPLACE, GST_TAG_APPLICATION_NAME,
                          kMontageApplicationName, NULL);
}

namespace
{

/* The NAL unit length size (1, 2 or 4 bytes) of H.264 `caps` in stream-format
 * avc or avc3 (codec_data's lengthSizeMinusOne + 1, ISO/IEC 14496-15
 * 5.3.3.1; 4 where there is no codec_data yet, as h264parse writes it), 0 for
 * any other caps. */
guint nal_length_size(GstCaps *caps)
{
  const GstStructure *s = caps ? gst_caps_get_structure(caps, 0) : nullptr;
  const gchar *format = s ? gst_structure_get_string(s, "stream-format") : nullptr;
  if (!s || !gst_structure_has_name(s, "video/x-h264") ||
      (g_strcmp0(format, "avc") != 0 && g_strcmp0(format, "avc3") != 0))
    return 0;
  const GValue *v = gst_structure_get_value(s, "codec_data");
  if (!v || !GST_VALUE_HOLDS_BUFFER(v))
    return 4;
  GstMapInfo map;
  GstBuffer *codec_data = gst_value_get_buffer(v);
  guint size = 0;
  if (gst_buffer_map(codec_data, &map, GST_MAP_READ)) {
    if (map.size > 4 && map.data[0] == 1)
      size = (map.data[4] & 3) + 1;
    gst_buffer_unmap(codec_data, &map);
  }
  return size == 3 ? 0 : size;
}

/* Whether the access unit in `buf` (NAL units each after a `length_size`
 * big-endian length) parses to its end and holds no IDR slice (NAL type 5). */
bool parses_without_idr(GstBuffer *buf, guint length_size)
{
  GstMapInfo map;
  if (!gst_buffer_map(buf, &map, GST_MAP_READ))
    return false;
  bool idr = false;
  gsize at = 0;
  while (!idr && at + length_size < map.size) {
    gsize len = 0;
    for (guint k = 0; k < length_size; k++)
      len = len << 8 | map.data[at + k];
    at += length_size;
    if (len == 0 || len > map.size - at)
      break;
    idr = (map.data[at] & 0x1f) == 5;
    at += len;
  }
  const bool parsed = idr || at == map.size;
  gst_buffer_unmap(buf, &map);
  return parsed && !idr;
}

GstPadProbeReturn flag_non_idr(GstPad *pad, GstPadProbeInfo *info, gpointer)
{
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
  if (GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT))
    return GST_PAD_PROBE_OK;
  GstCaps *caps = gst_pad_get_current_caps(pad);
  const guint length_size = nal_length_size(caps);
  if (caps)
    gst_caps_unref(caps);
  if (length_size == 0 || !parses_without_idr(buf, length_size))
    return GST_PAD_PROBE_OK;
  GST_LOG_OBJECT(pad, "access unit at %" GST_TIME_FORMAT " holds no IDR picture: no sync sample",
                 GST_TIME_ARGS(GST_BUFFER_PTS(buf)));
  buf = gst_buffer_make_writable(buf);
  GST_BUFFER_FLAG_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT);
  GST_PAD_PROBE_INFO_DATA(info) = buf;
  return GST_PAD_PROBE_OK;
}

void watch_video_pad(GstElement *, GstPad *pad, gpointer)
{
  if (GST_PAD_IS_SINK(pad) && g_str_has_prefix(GST_OBJECT_NAME(pad), "video"))
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, flag_non_idr, nullptr, nullptr);
}

} // namespace

void sync_samples_at_idr_only(GstElement *muxer)
{
  if (!muxer)
    return;
  init_debug();
  g_signal_connect(muxer, "pad-added", G_CALLBACK(watch_video_pad), nullptr);
  gst_element_foreach_sink_pad(
      muxer,
      [](GstElement *element, GstPad *pad, gpointer) -> gboolean {
        watch_video_pad(element, pad, nullptr);
        return TRUE;
      },
      nullptr);
}

bool tagged_as_montage(const GstTagList *tags)
{
  const gchar *name = nullptr;
  return tags && gst_tag_list_peek_string_index(tags, GST_TAG_APPLICATION_NAME, 0, &name) &&
         g_strcmp0(name, kMontageApplicationName) == 0;
}

} // namespace montage
