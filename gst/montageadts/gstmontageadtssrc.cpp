/**
 * SECTION:element-montageadtssrc
 * @title: montageadtssrc
 *
 * Reads an ADTS (raw AAC) file and pushes its frames (audio/mpeg,
 * mpegversion=4, stream-format=adts, framed=true) with exact timestamps,
 * in TIME format, and answers seeks at once and sample-exactly: when it
 * starts it indexes every frame by scanning the headers (about 1.8 GB/s
 * here, 35 ms for an hour at 128 kbit/s; see docs/adts.md), so a seek to any
 * time is a lookup. A seek to T pushes a segment starting at T and frames
 * from one frame before the frame holding T (pre-roll for the decoder's
 * overlap); a GstAudioDecoder downstream (avdec_aac) clips its output to the
 * segment, so the first sample out is exactly the first at or after T, for
 * ACCURATE and non-ACCURATE seeks alike. GStreamer's own filesrc ! aacparse
 * lands seconds off without ACCURATE and scans from the start with it.
 *
 * Timeline: the decoder's (sample n of the file at n / rate s, encoder
 * priming included, as a full decode by GStreamer or FFmpeg). Damage is
 * recovered as the library does (adts.h): junk between frames is skipped
 * and a cut-off last frame is dropped, each with a warning message; a file
 * that is empty or not ADTS fails to start with an error saying so. A change
 * of sample rate or channels mid-file starts new caps at that frame; times
 * continue from the end of the previous part.
 *
 * ## `montage-adts-index` element message (posted once the index is built)
 *
 * - `frames` (G_TYPE_UINT64): ADTS frames indexed.
 * - `duration` (G_TYPE_UINT64): length of the audio, ns.
 * - `garbage-bytes` (G_TYPE_UINT64): bytes skipped between frames (ID3 tag included).
 * - `truncated-bytes` (G_TYPE_UINT64): bytes of a cut-off last frame, dropped.
 * - `stream-changes` (G_TYPE_UINT): sample-rate/channel changes in the file.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 montageadtssrc location=song.aac ! avdec_aac ! audioconvert ! autoaudiosink
 * gst-launch-1.0 -m montageadtssrc location=radio.aac ! decodebin ! audioconvert ! \
 *     wavenc ! filesink location=all.wav
 * ]|
 */
#include "gstmontageadtssrc.h"

#include <gst/montage/adts.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <string>

GST_DEBUG_CATEGORY_STATIC(gst_montage_adts_src_debug);
#define GST_CAT_DEFAULT gst_montage_adts_src_debug

namespace
{

enum { PROP_0, PROP_LOCATION };

GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS("audio/mpeg, mpegversion = (int) { 2, 4 }, stream-format = (string) adts, "
                    "framed = (boolean) true, rate = (int) [ 7350, 96000 ], "
                    "channels = (int) [ 1, 8 ]"));

/* C++ state, created in _init and deleted in _finalize. */
struct AdtsSrcState {
  std::mutex lock; /* location */
  std::string location;

  /* Between start and stop, streaming thread (and seeks, which basesrc
   * serialises with the streaming thread). */
  GMappedFile *map = nullptr;
  std::unique_ptr<montage::AdtsIndex> index;
  size_t next_frame = 0;
  size_t caps_run = (size_t)-1;
  bool discont = true;
};

} // namespace

struct _GstMontageAdtsSrc {
  GstBaseSrc parent;
  AdtsSrcState *state;
};

G_DEFINE_TYPE(GstMontageAdtsSrc, gst_montage_adts_src, GST_TYPE_BASE_SRC);
GST_ELEMENT_REGISTER_DEFINE(montageadtssrc, "montageadtssrc", GST_RANK_NONE,
                            GST_TYPE_MONTAGE_ADTS_SRC);

static void gst_montage_adts_src_set_property(GObject *object, guint prop_id, const GValue *value,
                                              GParamSpec *pspec)
{
  AdtsSrcState *state = GST_MONTAGE_ADTS_SRC(object)->state;
  switch (prop_id) {
  case PROP_LOCATION: {
    std::lock_guard<std::mutex> lock(state->lock);
    const gchar *s = g_value_get_string(value);
    state->location = s ? s : "";
    break;
  }
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
}

static void gst_montage_adts_src_get_property(GObject *object, guint prop_id, GValue *value,
                                              GParamSpec *pspec)
{
  AdtsSrcState *state = GST_MONTAGE_ADTS_SRC(object)->state;
  switch (prop_id) {
  case PROP_LOCATION: {
    std::lock_guard<std::mutex> lock(state->lock);
    g_value_set_string(value, state->location.empty() ? nullptr : state->location.c_str());
    break;
  }
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
}

static gboolean gst_montage_adts_src_start(GstBaseSrc *src)
{
  AdtsSrcState *state = GST_MONTAGE_ADTS_SRC(src)->state;
  std::string location;
  {
    std::lock_guard<std::mutex> lock(state->lock);
    location = state->location;
  }
  if (location.empty()) {
    GST_ELEMENT_ERROR(src, RESOURCE, NOT_FOUND, ("No file name given: set the location property."),
                      (nullptr));
    return FALSE;
  }
  GError *err = nullptr;
  state->map = g_mapped_file_new(location.c_str(), FALSE, &err);
  if (!state->map) {
    GST_ELEMENT_ERROR(src, RESOURCE, OPEN_READ, ("Cannot read \"%s\": %s", location.c_str(),
                                                 err->message),
                      (nullptr));
    g_error_free(err);
    return FALSE;
  }
  montage::AdtsScanReport report;
  state->index = montage::AdtsIndex::build(
      (const guint8 *)g_mapped_file_get_contents(state->map), g_mapped_file_get_length(state->map),
      &report, &err);
  if (!state->index) {
    GST_ELEMENT_ERROR(src, STREAM, WRONG_TYPE, ("\"%s\": %s", location.c_str(), err->message),
                      (nullptr));
    g_error_free(err);
    g_mapped_file_unref(state->map);
    state->map = nullptr;
    return FALSE;
  }
  if (report.garbage_regions)
    GST_ELEMENT_WARNING(src, STREAM, DECODE,
                        ("\"%s\" has %" G_GUINT64_FORMAT " bytes of junk between frames in %u "
                         "places (first at byte %" G_GUINT64_FORMAT "); they are skipped.",
                         location.c_str(), report.garbage_bytes, report.garbage_regions,
                         report.first_garbage_offset),
                        (nullptr));
  if (report.truncated_tail_bytes)
    GST_ELEMENT_WARNING(src, STREAM, DECODE,
                        ("\"%s\" ends in a cut-off frame (%" G_GUINT64_FORMAT " bytes); it is "
                         "dropped.",
                         location.c_str(), report.truncated_tail_bytes),
                        (nullptr));
  gst_element_post_message(
      GST_ELEMENT(src),
      gst_message_new_element(
          GST_OBJECT(src),
          gst_structure_new("montage-adts-index", "frames", G_TYPE_UINT64,
                            (guint64)state->index->frame_count(), "duration", G_TYPE_UINT64,
                            (guint64)state->index->duration(), "garbage-bytes", G_TYPE_UINT64,
                            report.garbage_bytes, "truncated-bytes", G_TYPE_UINT64,
                            report.truncated_tail_bytes, "stream-changes", G_TYPE_UINT,
                            report.stream_changes, NULL)));
  state->next_frame = 0;
  state->caps_run = (size_t)-1;
  state->discont = true;
  return TRUE;
}

static gboolean gst_montage_adts_src_stop(GstBaseSrc *src)
{
  AdtsSrcState *state = GST_MONTAGE_ADTS_SRC(src)->state;
  state->index.reset();
  if (state->map)
    g_mapped_file_unref(state->map);
  state->map = nullptr;
  return TRUE;
}

static gboolean gst_montage_adts_src_is_seekable(GstBaseSrc *)
{
  return TRUE;
}

static gboolean gst_montage_adts_src_do_seek(GstBaseSrc *src, GstSegment *segment)
{
  AdtsSrcState *state = GST_MONTAGE_ADTS_SRC(src)->state;
  if (!state->index || segment->format != GST_FORMAT_TIME)
    return FALSE;
  const montage::AdtsIndex &index = *state->index;
  const GstClockTime t = segment->start;
  const size_t run = index.run_at(t);
  const montage::AdtsRun &r = index.runs()[run];
  const guint64 sample =
      t > r.start ? gst_util_uint64_scale_ceil(t - r.start, r.sample_rate, GST_SECOND) : 0;
  const size_t k = index.find_frame(run, sample);
  /* One frame of pre-roll inside the run: its output completes frame k's overlap. */
  state->next_frame = k > r.first_frame ? k - 1 : k;
  if (t >= index.duration())
    state->next_frame = index.frame_count();
  /* Decoders clip to the segment by truncating ns to samples; a boundary put
   * half a sample inside keeps exactly the samples whose times lie in
   * [start, stop) (times of sample n: floor(n * 1e9 / rate), as the PTS). */
  const GstClockTime half = GST_SECOND / (2 * r.sample_rate);
  if (sample > 0 && sample < r.samples) {
    segment->start = r.start + gst_util_uint64_scale(sample, GST_SECOND, r.sample_rate) + half;
    segment->time = segment->start;
    segment->position = segment->start;
  }
  if (GST_CLOCK_TIME_IS_VALID(segment->stop) && segment->stop > r.start) {
    const guint64 end =
        gst_util_uint64_scale_ceil(segment->stop - r.start, r.sample_rate, GST_SECOND);
    if (end > 0 && end < r.samples)
      segment->stop = r.start + gst_util_uint64_scale(end, GST_SECOND, r.sample_rate) - half;
  }
  state->discont = true;
  GST_DEBUG_OBJECT(src, "seek to %" GST_TIME_FORMAT ": frame %" G_GSIZE_FORMAT " (pre-roll from %"
                   G_GSIZE_FORMAT ")", GST_TIME_ARGS(t), k, state->next_frame);
  return TRUE;
}

static gboolean gst_montage_adts_src_query(GstBaseSrc *src, GstQuery *query)
{
  AdtsSrcState *state = GST_MONTAGE_ADTS_SRC(src)->state;
  switch (GST_QUERY_TYPE(query)) {
  case GST_QUERY_DURATION: {
    GstFormat format;
    gst_query_parse_duration(query, &format, nullptr);
    if (format != GST_FORMAT_TIME || !state->index)
      break;
    gst_query_set_duration(query, GST_FORMAT_TIME, (gint64)state->index->duration());
    return TRUE;
  }
  case GST_QUERY_SEEKING: {
    GstFormat format;
    gst_query_parse_seeking(query, &format, nullptr, nullptr, nullptr);
    if (format != GST_FORMAT_TIME)
      break;
    gst_query_set_seeking(query, GST_FORMAT_TIME, TRUE, 0,
                          state->index ? (gint64)state->index->duration() : -1);
    return TRUE;
  }
  default:
    break;
  }
  return GST_BASE_SRC_CLASS(gst_montage_adts_src_parent_class)->query(src, query);
}

static GstFlowReturn gst_montage_adts_src_create(GstBaseSrc *src, guint64, guint,
                                                 GstBuffer **out)
{
  AdtsSrcState *state = GST_MONTAGE_ADTS_SRC(src)->state;
  const montage::AdtsIndex &index = *state->index;
  if (state->next_frame >= index.frame_count())
    return GST_FLOW_EOS;
  const montage::AdtsFrame f = index.frame(state->next_frame);
  const montage::AdtsRun &r = index.runs()[f.run];
  if (state->caps_run != f.run) {
    GstCaps *caps = gst_caps_new_simple(
        "audio/mpeg", "mpegversion", G_TYPE_INT, 4, "stream-format", G_TYPE_STRING, "adts",
        "framed", G_TYPE_BOOLEAN, TRUE, "rate", G_TYPE_INT, (gint)r.sample_rate, "channels",
        G_TYPE_INT, (gint)std::max(1u, r.channels), NULL);
    const gboolean ok = gst_base_src_set_caps(src, caps);
    gst_caps_unref(caps);
    if (!ok)
      return GST_FLOW_NOT_NEGOTIATED;
    state->caps_run = f.run;
  }
  /* Zero copy: the buffer wraps the mapped file and keeps the mapping alive. */
  GstBuffer *buf = gst_buffer_new_wrapped_full(
      GST_MEMORY_FLAG_READONLY,
      (gpointer)(g_mapped_file_get_contents(state->map) + f.offset), f.size, 0, f.size,
      g_mapped_file_ref(state->map), (GDestroyNotify)g_mapped_file_unref);
  GST_BUFFER_PTS(buf) = r.start + gst_util_uint64_scale(f.sample, GST_SECOND, r.sample_rate);
  GST_BUFFER_DURATION(buf) =
      r.start + gst_util_uint64_scale(f.sample + f.samples, GST_SECOND, r.sample_rate) -
      GST_BUFFER_PTS(buf);
  GST_BUFFER_OFFSET(buf) = f.offset;
  GST_BUFFER_OFFSET_END(buf) = f.offset + f.size;
  if (state->discont)
    GST_BUFFER_FLAG_SET(buf, GST_BUFFER_FLAG_DISCONT);
  state->discont = false;
  state->next_frame++;
  *out = buf;
  return GST_FLOW_OK;
}

static void gst_montage_adts_src_finalize(GObject *object)
{
  GstMontageAdtsSrc *self = GST_MONTAGE_ADTS_SRC(object);
  if (self->state->map)
    g_mapped_file_unref(self->state->map);
  delete self->state;
  G_OBJECT_CLASS(gst_montage_adts_src_parent_class)->finalize(object);
}

static void gst_montage_adts_src_class_init(GstMontageAdtsSrcClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstBaseSrcClass *src_class = GST_BASE_SRC_CLASS(klass);

  gobject_class->set_property = gst_montage_adts_src_set_property;
  gobject_class->get_property = gst_montage_adts_src_get_property;
  gobject_class->finalize = gst_montage_adts_src_finalize;

  g_object_class_install_property(
      gobject_class, PROP_LOCATION,
      g_param_spec_string("location", "File location",
                          "Path of the ADTS (raw AAC, .aac) file to read", nullptr,
                          (GParamFlags)(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                        GST_PARAM_MUTABLE_READY)));

  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(
      element_class, "ADTS source with exact seeking", "Source/File/Audio",
      "Reads raw AAC (ADTS) files through a frame index built at start: seeks are immediate and "
      "sample-exact after an AAC decoder; posts montage-adts-index",
      "gst-montage");

  src_class->start = gst_montage_adts_src_start;
  src_class->stop = gst_montage_adts_src_stop;
  src_class->is_seekable = gst_montage_adts_src_is_seekable;
  src_class->do_seek = gst_montage_adts_src_do_seek;
  src_class->query = gst_montage_adts_src_query;
  src_class->create = gst_montage_adts_src_create;

  GST_DEBUG_CATEGORY_INIT(gst_montage_adts_src_debug, "montageadtssrc", 0,
                          "ADTS source with exact seeking");
}

static void gst_montage_adts_src_init(GstMontageAdtsSrc *self)
{
  self->state = new AdtsSrcState();
  gst_base_src_set_format(GST_BASE_SRC(self), GST_FORMAT_TIME);
}
