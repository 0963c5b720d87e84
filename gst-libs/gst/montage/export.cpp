/* gst-montage: exporting a plan; see export.h. This file: format choice,
 * timecode, the events every text format is made of, atomic writing, and the
 * GES project (.xges). The text formats live in export-edl.cpp,
 * export-otio.cpp and export-fcpxml.cpp. */
#include <gst/montage/export.h>

#include "export-private.h"

#include <gst/montage/clipanalysis.h>
#include <gst/montage/render-private.h>
#include <gst/montage/render.h>

#include <gio/gio.h>
#include <gst/pbutils/pbutils.h>
#include <glib/gstdio.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <mutex>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace montage
{

namespace export_detail
{

GstClockTime frame_time(guint64 frame, gint n, gint d)
{
  return gst_util_uint64_scale_round(frame, (guint64)d * GST_SECOND, (guint64)n);
}

guint64 frame_nearest(GstClockTime t, gint n, gint d)
{
  return gst_util_uint64_scale_round(t, (guint64)n, (guint64)d * GST_SECOND);
}

guint64 frame_at_or_after(GstClockTime t, gint n, gint d)
{
  guint64 f = gst_util_uint64_scale(t, (guint64)n, (guint64)d * GST_SECOND);
  while (frame_time(f, n, d) < t)
    f++;
  while (f > 0 && frame_time(f - 1, n, d) >= t)
    f--;
  return f;
}

GstClockTime media_length(const std::string &uri, GstClockTime analysed_end,
                          GstClockTime first_frame)
{
  GstClockTime end = analysed_end;
  if (GstDiscoverer *discoverer = gst_discoverer_new(5 * GST_SECOND, nullptr)) {
    if (GstDiscovererInfo *info = gst_discoverer_discover_uri(discoverer, uri.c_str(), nullptr)) {
      const GstClockTime stated = gst_discoverer_info_get_duration(info);
      if (gst_discoverer_info_get_result(info) == GST_DISCOVERER_OK &&
          GST_CLOCK_TIME_IS_VALID(stated) && stated > 0 &&
          (!GST_CLOCK_TIME_IS_VALID(end) || stated > end))
        end = stated;
      g_object_unref(info);
    }
    g_object_unref(discoverer);
  }
  if (!GST_CLOCK_TIME_IS_VALID(end) || end <= first_frame)
    return GST_CLOCK_TIME_NONE;
  return end - first_frame;
}

guint64 whole_frames(GstClockTime length, gint n, gint d)
{
  const guint64 nearest = frame_nearest(length, n, d);
  const GstClockTime slack = std::max<GstClockTime>(
      GST_MSECOND, gst_util_uint64_scale(GST_SECOND, (guint64)d, (guint64)n * 100));
  return frame_time(nearest, n, d) + slack >= length ? nearest : nearest + 1;
}

std::string uri_to_path(const std::string &uri)
{
  gchar *path = g_filename_from_uri(uri.c_str(), nullptr, nullptr);
  std::string out(path ? path : "");
  g_free(path);
  return out;
}

bool fail_data(GError **error, const char *format, const std::string &why)
{
  g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "Not a valid %s file: %s", format,
              why.c_str());
  return false;
}

bool timecode_counts(gint fps_n, gint fps_d)
{
  if (fps_n <= 0 || fps_d <= 0)
    return false;
  const double fps = (double)fps_n / fps_d;
  const double base = std::round(fps);
  return base >= 1 && base <= 99 && std::abs(fps / base - 1.0) <= 0.0011;
}

std::string rate_text(gint n, gint d)
{
  return d == 1 ? std::to_string(n) : std::to_string(n) + "/" + std::to_string(d);
}

bool fail_arg(GError **error, const std::string &why)
{
  g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "Cannot export the plan: %s",
              why.c_str());
  return false;
}

namespace
{

/* Absolute file:// URI -> its local path and base name, or a failure. */
bool check_uri(const std::string &uri, const std::string &what, std::string &path,
               std::string &name, GError **error)
{
  path = uri_to_path(uri);
  if (path.empty() || !g_path_is_absolute(path.c_str()))
    return fail_arg(error, what + " has no absolute file:// URI (\"" + uri +
                               "\"): editors relink media by absolute path.");
  gchar *base = g_path_get_basename(path.c_str());
  name = base;
  g_free(base);
  return true;
}

} // namespace

bool edit_events(const Plan &plan, const SongAnalysis &song, const std::vector<ClipAnalysis> &clips,
                 const ExportOptions &options, const std::string &title_fallback, EditEvents &out,
                 GError **error)
{
  const gint n = plan.fps_n, d = plan.fps_d;
  if (n <= 0 || d <= 0)
    return fail_arg(error, "the plan's frame rate " + std::to_string(n) + "/" + std::to_string(d) +
                               " is not a rate.");
  if (plan.segments.empty() || plan.duration == 0)
    return fail_arg(error, "the plan has no segments.");
  if (options.start_hour > 23)
    return fail_arg(error, "start hour " + std::to_string(options.start_hour) + " is past 23.");
  EditEvents ev;
  ev.fps_n = n;
  ev.fps_d = d;
  ev.drop = options.drop_frame && is_drop_frame_rate(n, d);
  gchar hour[16];
  g_snprintf(hour, sizeof hour, "%02u:00:00:00", options.start_hour);
  timecode_to_frames(hour, n, d, ev.drop, ev.start_frame);
  ev.title = options.title.empty() ? title_fallback : options.title;

  auto on_grid = [&](GstClockTime t, guint64 &frame) {
    frame = frame_nearest(t, n, d);
    return frame_time(frame, n, d) == t;
  };
  if (!on_grid(plan.duration, ev.total_frames))
    return fail_arg(error, "the plan's duration is not a whole number of frames at its rate.");

  guint64 last_end = 0;
  for (std::size_t i = 0; i < plan.segments.size(); i++) {
    const Segment &seg = plan.segments[i];
    const std::string where = "segments[" + std::to_string(i) + "]";
    if (seg.clip >= clips.size())
      return fail_arg(error, where + " refers to clip " + std::to_string(seg.clip) + " of " +
                                 std::to_string(clips.size()) + ".");
    const ClipAnalysis &clip = clips[seg.clip];
    Event e;
    e.clip = seg.clip;
    e.segment = &seg;
    e.uri = clip.uri;
    if (!check_uri(clip.uri, "clip " + clip.path, e.path, e.name, error))
      return false;
    guint64 end;
    if (!on_grid(seg.start, e.rec_in) || !on_grid(seg.start + seg.duration, end))
      return fail_arg(error, where + " does not lie on the plan's frame grid.");
    if (end <= e.rec_in)
      return fail_arg(error, where + " is shorter than one frame.");
    if (e.rec_in < last_end)
      return fail_arg(error, where + " overlaps the segment before it.");
    e.rec_out = last_end = end;
    if (seg.inpoint < clip.first_frame)
      return fail_arg(error, where + " starts before the first frame of " + clip.path + ".");
    e.src_in = frame_at_or_after(seg.inpoint - clip.first_frame, n, d);
    e.src_out = e.src_in + (e.rec_out - e.rec_in);
    ev.video.push_back(std::move(e));
  }
  if (last_end > ev.total_frames)
    return fail_arg(error, "the segments run past the plan's duration.");

  Event &a = ev.audio;
  a.clip = SIZE_MAX;
  a.uri = song.uri;
  if (!check_uri(song.uri, "the song", a.path, a.name, error))
    return false;
  a.src_in = a.rec_in = 0;
  a.src_out = a.rec_out = ev.total_frames;

  if (options.beat_markers) {
    for (std::size_t i = 0; i < song.beats.size(); i++) {
      if (song.beats[i] >= plan.duration)
        break;
      Marker m;
      m.frame = frame_nearest(song.beats[i], n, d);
      if (m.frame >= ev.total_frames || (!ev.markers.empty() && ev.markers.back().frame == m.frame))
        continue;
      m.beat = i;
      m.downbeat = i < song.downbeats.size() && song.downbeats[i];
      m.name = std::string(m.downbeat ? "downbeat " : "beat ") + std::to_string(i);
      ev.markers.push_back(std::move(m));
    }
  }
  out = std::move(ev);
  return true;
}

void sort_by_record(ExportedEdit &edit)
{
  auto by_record = [](const ExportedClip &a, const ExportedClip &b) {
    return a.record_start < b.record_start;
  };
  std::stable_sort(edit.video.begin(), edit.video.end(), by_record);
  std::stable_sort(edit.audio.begin(), edit.audio.end(), by_record);
  std::sort(edit.markers.begin(), edit.markers.end());
}

} // namespace export_detail

using namespace export_detail;

/* ---- Formats and timecode ---------------------------------------------- */

ExportFormat export_format_for_path(const std::string &path)
{
  const char *dot = strrchr(path.c_str(), '.');
  const char *slash = strrchr(path.c_str(), '/');
  if (!dot || (slash && dot < slash))
    return ExportFormat::kUnknown;
  for (ExportFormat f :
       {ExportFormat::kXges, ExportFormat::kEdl, ExportFormat::kOtio, ExportFormat::kFcpxml})
    if (g_ascii_strcasecmp(dot, export_format_extension(f)) == 0)
      return f;
  return ExportFormat::kUnknown;
}

const char *export_format_extension(ExportFormat format)
{
  switch (format) {
  case ExportFormat::kXges:
    return ".xges";
  case ExportFormat::kEdl:
    return ".edl";
  case ExportFormat::kOtio:
    return ".otio";
  case ExportFormat::kFcpxml:
    return ".fcpxml";
  case ExportFormat::kUnknown:
    break;
  }
  return "";
}

bool export_rate_ok(ExportFormat format, gint fps_n, gint fps_d, GError **error)
{
  if (format != ExportFormat::kEdl || timecode_counts(fps_n, fps_d))
    return true;
  return fail_arg(error,
                  "a CMX 3600 EDL counts its timecodes in frames of two digits, at most 99 "
                  "a second and within 0.11 % of a whole number a second (24000/1001 is), "
                  "and this edit runs at " +
                      rate_text(fps_n, fps_d) +
                      " fps: export to .otio or .fcpxml, or choose a rate an EDL can count.");
}

bool is_drop_frame_rate(gint fps_n, gint fps_d)
{
  /* Compared as fractions: 60000/2002 is 30000/1001 (a rate given
   * unreduced, as --fps accepts it). */
  if (fps_n <= 0 || fps_d <= 0)
    return false;
  const gint64 n = (gint64)fps_n * 1001;
  return n == (gint64)30000 * fps_d || n == (gint64)60000 * fps_d;
}

namespace
{

/* Frames a timecode second counts: the rate rounded (30 for 30000/1001). */
guint64 timecode_base(gint fps_n, gint fps_d)
{
  guint64 base = ((guint64)fps_n + (guint64)fps_d / 2) / (guint64)fps_d;
  return base ? base : 1;
}

/* Frame numbers drop-frame skips at the start of a minute (0 for none). */
guint64 dropped_per_minute(gint fps_n, gint fps_d, bool drop)
{
  if (!drop || !is_drop_frame_rate(fps_n, fps_d))
    return 0;
  return timecode_base(fps_n, fps_d) == 30 ? 2 : 4;
}

} // namespace

namespace export_detail
{

guint64 timecode_day_frames(gint fps_n, gint fps_d, bool drop)
{
  /* timecode_to_frames()'s count for 24:00:00:00. */
  const guint64 minutes = 24 * 60;
  return minutes * 60 * timecode_base(fps_n, fps_d) -
         dropped_per_minute(fps_n, fps_d, drop) * (minutes - minutes / 10);
}

} // namespace export_detail

std::string frames_to_timecode(guint64 frame, gint fps_n, gint fps_d, bool drop)
{
  const guint64 base = timecode_base(fps_n, fps_d);
  const guint64 dropped = dropped_per_minute(fps_n, fps_d, drop);
  if (dropped) {
    /* SMPTE 12M: add back the frame numbers skipped so far. */
    const guint64 per_10min = base * 600 - 9 * dropped;
    const guint64 per_min = base * 60 - dropped;
    const guint64 tens = frame / per_10min, rest = frame % per_10min;
    frame += 9 * dropped * tens;
    if (rest >= dropped)
      frame += dropped * ((rest - dropped) / per_min);
  }
  const guint64 ff = frame % base;
  const guint64 secs = frame / base;
  gchar buf[32];
  g_snprintf(buf, sizeof buf, "%02u:%02u:%02u%c%02u", (guint)(secs / 3600 % 24),
             (guint)(secs / 60 % 60), (guint)(secs % 60), dropped ? ';' : ':', (guint)ff);
  return buf;
}

bool timecode_to_frames(const std::string &timecode, gint fps_n, gint fps_d, bool drop,
                        guint64 &frame)
{
  if (fps_n <= 0 || fps_d <= 0)
    return false;
  unsigned hh, mm, ss, ff;
  char s1, s2, s3;
  int used = 0;
  if (sscanf(timecode.c_str(), "%2u%c%2u%c%2u%c%3u%n", &hh, &s1, &mm, &s2, &ss, &s3, &ff, &used) !=
          7 ||
      (size_t)used != timecode.size())
    return false;
  for (char s : {s1, s2, s3})
    if (s != ':' && s != ';' && s != '.')
      return false;
  const guint64 base = timecode_base(fps_n, fps_d);
  const guint64 dropped = dropped_per_minute(fps_n, fps_d, drop);
  if (hh > 23 || mm > 59 || ss > 59 || ff >= base)
    return false;
  if (dropped && ss == 0 && mm % 10 != 0 && ff < dropped)
    return false;
  const guint64 minutes = hh * 60ULL + mm;
  frame = (minutes * 60 + ss) * base + ff - dropped * (minutes - minutes / 10);
  return true;
}

/* ---- Writing ----------------------------------------------------------- */

namespace
{

std::string title_from_path(const std::string &path)
{
  gchar *base = g_path_get_basename(path.c_str());
  std::string name(base);
  g_free(base);
  std::size_t dot = name.rfind('.');
  if (dot != std::string::npos && dot > 0)
    name.resize(dot);
  return name;
}

/* A temporary name beside `path` (same file system, so rename is atomic). */
std::string temp_path_for(const std::string &path)
{
  gchar *dir = g_path_get_dirname(path.c_str());
  gchar *base = g_path_get_basename(path.c_str());
  gchar *tmp_name = g_strdup_printf(".%s.partial-%d", base, (int)getpid());
  gchar *tmp = g_build_filename(dir, tmp_name, NULL);
  std::string out(tmp);
  g_free(dir);
  g_free(base);
  g_free(tmp_name);
  g_free(tmp);
  return out;
}

bool rename_into_place(const std::string &tmp, const std::string &path, GError **error)
{
  if (g_rename(tmp.c_str(), path.c_str()) == 0)
    return true;
  int errsv = errno;
  g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errsv), "Cannot move %s to %s: %s",
              tmp.c_str(), path.c_str(), g_strerror(errsv));
  g_unlink(tmp.c_str());
  return false;
}

const char *const kMarkersKey = "markers"; /* the timeline meta Pitivi reads */

/* Calls `check` with each clip of `timeline` that comes from a file (a
 * GESUriClipAsset), layer by layer, until it returns false; returns whether
 * every call returned true. */
bool every_uri_clip(GESTimeline *timeline,
                    const std::function<bool(GESTimelineElement *, GESAsset *)> &check)
{
  bool ok = true;
  GList *layers = ges_timeline_get_layers(timeline);
  for (GList *l = layers; l && ok; l = l->next) {
    GList *placed = ges_layer_get_clips(GES_LAYER(l->data));
    for (GList *c = placed; c && ok; c = c->next) {
      GESTimelineElement *el = GES_TIMELINE_ELEMENT(c->data);
      GESAsset *asset = ges_extractable_get_asset(GES_EXTRACTABLE(el));
      if (asset && GES_IS_URI_CLIP_ASSET(asset))
        ok = check(el, asset);
    }
    g_list_free_full(placed, gst_object_unref);
  }
  g_list_free_full(layers, gst_object_unref);
  return ok;
}

/* False, with `error` set, when a clip of `timeline` reaches past what GES
 * lets a clip of its file reach: in-point + duration <= the asset's
 * max-duration, the length GstDiscoverer reports, compared with stream-time
 * in-points as if the file started at 0. build_timeline() lifts that limit
 * for its own render where the analysis decoded frames further (render.cpp
 * add_footage()), but a saved project cannot keep it: loading an .xges
 * discovers each file again (its saved asset duration is not read) and
 * shortens such a clip without a word, and ges-launch-1.0 then renders a
 * hole, or fails ("No valid frames decoded before end of stream") when too
 * little is left of the clip. cityCC0.mpg (MPEG program stream, 0.54 s to
 * 8.14 s, 7.36 s stated by mpegpsdemux): a 0.8 s segment from 7.28 s was
 * written as 0.08 s. */
bool within_ges_reach(GESTimeline *timeline, GError **error)
{
  return every_uri_clip(timeline, [&](GESTimelineElement *el, GESAsset *asset) {
    const GstClockTime reach = ges_uri_clip_asset_get_max_duration(GES_URI_CLIP_ASSET(asset));
    const GstClockTime end = el->inpoint + el->duration;
    if (!GST_CLOCK_TIME_IS_VALID(reach) || end <= reach)
      return true;
    const std::string path = uri_to_path(ges_asset_get_id(asset));
    gchar *why = g_strdup_printf(
        "the clip at %.3f s uses %s up to %.3f s of its stream time, but GES (Pitivi, "
        "ges-launch-1.0) reaches only its first %.3f s (the length the file states, counted "
        "from 0 even where its timestamps start later) and would cut the clip short. Plan "
        "without the file's footage past %.3f s (PlanSettings::within_stated_length; "
        "gst-montage-1.0 does so when an .xges is asked for), or export .otio, .fcpxml or "
        ".edl.",
        el->start / (double)GST_SECOND, path.c_str(), end / (double)GST_SECOND,
        reach / (double)GST_SECOND, reach / (double)GST_SECOND);
    const bool ok = fail_arg(error, why);
    g_free(why);
    return ok;
  });
}

/* True when the file GES discovered as `asset` is an MPEG program stream
 * (video/mpeg, systemstream=true: .mpg, .vob). */
bool is_program_stream(GESAsset *asset)
{
  GstDiscovererInfo *info = ges_uri_clip_asset_get_info(GES_URI_CLIP_ASSET(asset));
  GstDiscovererStreamInfo *top = info ? gst_discoverer_info_get_stream_info(info) : nullptr;
  bool ps = false;
  if (top) {
    GstCaps *caps = gst_discoverer_stream_info_get_caps(top);
    const GstStructure *st =
        caps && gst_caps_get_size(caps) ? gst_caps_get_structure(caps, 0) : nullptr;
    gboolean system = FALSE;
    ps = st && gst_structure_has_name(st, "video/mpeg") &&
         gst_structure_get_boolean(st, "systemstream", &system) && system;
    if (caps)
      gst_caps_unref(caps);
    gst_discoverer_stream_info_unref(top);
  }
  return ps;
}

/* The frames of one clip that GES decodes: buffers leaving a video decoder
 * of its pipeline whose stream time [PTS, PTS + duration) overlaps the
 * clip's media span [from, to), since the decoder's last flush. GES starts
 * its source from the file's beginning and then seeks it (flushing) to the
 * in-point: the frames decoded before that seek are thrown away, and a clip
 * whose span overlaps them (cityCC0.mpg from 0.56 s) was taken as shown when
 * GES gave none after the seek. */
struct DecodedFrames {
  GstClockTime from = 0, to = 0;
  std::atomic<guint> decoders{0}; /* video decoders seen */
  std::atomic<guint> in_span{0};  /* their frames inside [from, to) since a flush */
};

GstPadProbeReturn count_decoded_frame(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  auto *seen = static_cast<DecodedFrames *>(data);
  if (info->type & GST_PAD_PROBE_TYPE_EVENT_FLUSH) {
    if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) == GST_EVENT_FLUSH_STOP)
      seen->in_span = 0;
    return GST_PAD_PROBE_OK;
  }
  if (!(info->type & GST_PAD_PROBE_TYPE_BUFFER))
    return GST_PAD_PROBE_OK;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
  GstClockTime pts = GST_BUFFER_PTS(buf);
  const GstClockTime dur = GST_BUFFER_DURATION(buf);
  if (GstEvent *ev = gst_pad_get_sticky_event(pad, GST_EVENT_SEGMENT, 0)) {
    const GstSegment *segment = nullptr;
    gst_event_parse_segment(ev, &segment);
    if (segment->format == GST_FORMAT_TIME)
      pts = gst_segment_to_stream_time(segment, GST_FORMAT_TIME, pts);
    gst_event_unref(ev);
  }
  if (GST_CLOCK_TIME_IS_VALID(pts) && pts < seen->to &&
      (pts >= seen->from || (GST_CLOCK_TIME_IS_VALID(dur) && pts + dur > seen->from)))
    seen->in_span++;
  return GST_PAD_PROBE_OK;
}

/* "deep-element-added" of ges_plays()'s pipeline: counts what each video
 * decoder (klass "Decoder" and "Video") gives. */
void on_element_for_frames(GstBin *, GstBin *, GstElement *element, gpointer data)
{
  GstElementFactory *factory = gst_element_get_factory(element);
  const gchar *klass =
      factory ? gst_element_factory_get_metadata(factory, GST_ELEMENT_METADATA_KLASS) : nullptr;
  if (!klass || !strstr(klass, "Decoder") || !strstr(klass, "Video"))
    return;
  GstPad *src = gst_element_get_static_pad(element, "src");
  if (!src)
    return;
  static_cast<DecodedFrames *>(data)->decoders++;
  gst_pad_add_probe(src,
                    (GstPadProbeType)(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_FLUSH),
                    count_decoded_frame, data, nullptr);
  gst_object_unref(src);
}

/* Whether GES shows a clip of `asset` from `inpoint` for `duration` (ns):
 * a timeline of that clip alone, video only, played as fast as it decodes
 * into a fakesink by a GESPipeline, as ges-launch-1.0 plays a project, with
 * the frames its video decoder gives counted. 1 yes (EOS, and at least one
 * decoded frame inside the clip's span), 0 no (an ERROR first: its message
 * in `error_text`; or EOS with no frame inside the span: `error_text`
 * empty), -1 when it could not be tried (no answer within 60 s, a pipeline
 * that does not start). EOS alone said nothing: a clip of cityCC0.mpg from
 * 5.66 s for 0.92 s or 0.933 s reached EOS without an error, GES having
 * decoded only a frame after its end, and in a project such a clip showed
 * the clips around it (ges-launch-1.0's render fills the hole with the
 * frame before it, then the one after it). */
int ges_plays(GESAsset *asset, GstClockTime inpoint, GstClockTime duration, std::string &error_text)
{
  GESTimeline *timeline = GES_TIMELINE(gst_object_ref_sink(ges_timeline_new()));
  ges_timeline_add_track(timeline, GES_TRACK(ges_video_track_new()));
  GESLayer *layer = ges_timeline_append_layer(timeline);
  GESPipeline *pipeline = GES_PIPELINE(gst_object_ref_sink(ges_pipeline_new()));
  DecodedFrames frames;
  frames.from = inpoint;
  frames.to = inpoint + duration;
  g_signal_connect(pipeline, "deep-element-added", G_CALLBACK(on_element_for_frames), &frames);
  int answer = -1;
  if (ges_layer_add_asset(layer, asset, 0, inpoint, duration, GES_TRACK_TYPE_VIDEO) &&
      ges_timeline_commit_sync(timeline) && ges_pipeline_set_timeline(pipeline, timeline)) {
    GstElement *vsink = gst_element_factory_make("fakesink", nullptr);
    if (vsink) {
      g_object_set(vsink, "sync", FALSE, NULL);
      ges_pipeline_preview_set_video_sink(pipeline, vsink);
    }
    ges_pipeline_set_mode(pipeline, GES_PIPELINE_MODE_PREVIEW_VIDEO);
    GstBus *bus = gst_element_get_bus(GST_ELEMENT(pipeline));
    if (gst_element_set_state(GST_ELEMENT(pipeline), GST_STATE_PLAYING) !=
        GST_STATE_CHANGE_FAILURE) {
      GstMessage *msg = gst_bus_timed_pop_filtered(
          bus, 60 * GST_SECOND, (GstMessageType)(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
      if (msg) {
        answer = GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS ? 1 : 0;
        /* No decoder seen (a stream that needs none): EOS is the answer. */
        if (answer == 1 && frames.decoders > 0 && frames.in_span == 0)
          answer = 0;
        else if (answer == 0) {
          GError *err = nullptr;
          gst_message_parse_error(msg, &err, nullptr);
          error_text = err ? err->message : "";
          g_clear_error(&err);
        }
        gst_message_unref(msg);
      }
    }
    gst_element_set_state(GST_ELEMENT(pipeline), GST_STATE_NULL);
    gst_object_unref(bus);
  }
  g_signal_handlers_disconnect_by_data(pipeline, &frames);
  gst_object_unref(pipeline);
  gst_object_unref(timeline);
  return answer;
}

/* False, with `error` set, when a video clip of `timeline` comes from an
 * MPEG program stream and GES's seek to its in-point decodes no frame of
 * the clip before its end. Such a file has no index: mpegpsdemux finds the
 * target from the packets' clock references and its ACCURATE seeks land
 * late (0.5-0.9 s in cityCC0.mpg), and the decoder then waits for the next
 * I-frame. A clip that ends first gets no frame: ges-launch-1.0 either fails
 * the whole project ("No valid frames decoded before end of stream": 0.3 s
 * from 5.0 s of cityCC0.mpg), or, where the decoder did decode a frame past
 * the clip's end, goes on without a word and renders the clips around it in
 * its place (0.933 s from 5.66 s or 5.68 s, or from 0.56 s, at 30 fps:
 * Megamind.avi for the whole segment). Our own renders seek such files
 * differently (render.cpp, render-cuts.cpp); a saved project cannot. Each
 * clip of such a file is played by GES alone and its decoded frames
 * counted (ges_plays()). A clip that does get frames still starts on the
 * first frame GES decodes, held from the clip's start (0.46 s of 0.933 s
 * from 1.52 s): not refused. */
bool decodable_in_ges(GESTimeline *timeline, GError **error)
{
  return every_uri_clip(timeline, [&](GESTimelineElement *el, GESAsset *asset) {
    if (!(ges_clip_get_supported_formats(GES_CLIP(el)) & GES_TRACK_TYPE_VIDEO) ||
        !is_program_stream(asset))
      return true;
    std::string error_text;
    if (ges_plays(asset, el->inpoint, el->duration, error_text) != 0)
      return true;
    const std::string file = uri_to_path(ges_asset_get_id(asset));
    /* Another error than the late seek's (no decoder for its video, a
     * damaged file) is quoted as it is: the remux would not mend it. No
     * error at all is the late seek's too (no frame inside the clip). */
    gchar *why =
        !error_text.empty() && error_text.find("No valid frames decoded") == std::string::npos
            ? g_strdup_printf("the clip at %.3f s shows %s from %.3f s for %.3f s, but GES "
                              "(Pitivi, ges-launch-1.0) cannot play it: %s",
                              el->start / (double)GST_SECOND, file.c_str(),
                              el->inpoint / (double)GST_SECOND, el->duration / (double)GST_SECOND,
                              error_text.c_str())
            : g_strdup_printf(
                  "the clip at %.3f s shows %s from %.3f s for %.3f s, but GES (Pitivi, "
                  "ges-launch-1.0) decodes no frame there: the file is an MPEG program stream, "
                  "which has no index, so GES's seek lands after the in-point and the next "
                  "I-frame comes after the clip's end (ges-launch-1.0 would fail the whole "
                  "project, \"No valid frames decoded before end of stream\", or render the "
                  "clips around it in its place). Remux its picture "
                  "into Matroska, whose index GES seeks by (gst-launch-1.0 filesrc "
                  "location=\"%s\" ! mpegpsdemux ! mpegvideoparse ! matroskamux ! filesink "
                  "location=clip.mkv), and plan with that file, or export .otio, .fcpxml or "
                  ".edl.",
                  el->start / (double)GST_SECOND, file.c_str(), el->inpoint / (double)GST_SECOND,
                  el->duration / (double)GST_SECOND, file.c_str());
    const bool ok = fail_arg(error, why);
    g_free(why);
    return ok;
  });
}

/* The metadata key under which write_xges() records, on a clip, how much
 * later than the plan's in-point it wrote that clip's in-point (ns,
 * inpoint_lead()); read_xges() takes it off again. */
const char *const kInpointLeadKey = "gst-montage-inpoint-lead";

/* True when the file GES discovered as `asset` is in a container that
 * states times in whole milliseconds: Matroska and WebM (TimecodeScale 1 ms,
 * as WebM requires and muxers write), FLV. */
bool stamps_in_whole_ms(GESAsset *asset)
{
  GstDiscovererInfo *info = ges_uri_clip_asset_get_info(GES_URI_CLIP_ASSET(asset));
  GstDiscovererStreamInfo *top = info ? gst_discoverer_info_get_stream_info(info) : nullptr;
  bool ms = false;
  if (top) {
    GstCaps *caps = gst_discoverer_stream_info_get_caps(top);
    const GstStructure *st =
        caps && gst_caps_get_size(caps) ? gst_caps_get_structure(caps, 0) : nullptr;
    ms = st &&
         (gst_structure_has_name(st, "video/x-matroska") ||
          gst_structure_has_name(st, "video/webm") || gst_structure_has_name(st, "video/x-flv"));
    if (caps)
      gst_caps_unref(caps);
    gst_discoverer_stream_info_unref(top);
  }
  return ms;
}

/* One coded video frame as the demuxer stamps it: stream time and
 * duration, ns (the duration GST_CLOCK_TIME_NONE when not stated). */
struct StampedFrame {
  GstClockTime pts = GST_CLOCK_TIME_NONE;
  GstClockTime duration = GST_CLOCK_TIME_NONE;
};

/* read_stamps()'s state, shared with its pad probe and its "pad-added" handler. */
struct StampRead {
  std::mutex lock;
  std::vector<StampedFrame> frames; /* since the last flush */
  GstClockTime frame_length = 0;    /* from the caps' rate, 0: none stated */
  bool linked = false;
  GstElement *bin = nullptr;
  GstElement *sink = nullptr;
};

GstPadProbeReturn note_stamp(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  auto *read = static_cast<StampRead *>(data);
  std::lock_guard<std::mutex> hold(read->lock);
  if (info->type & GST_PAD_PROBE_TYPE_EVENT_BOTH) {
    GstEvent *ev = GST_PAD_PROBE_INFO_EVENT(info);
    if (GST_EVENT_TYPE(ev) == GST_EVENT_FLUSH_STOP)
      read->frames.clear();
    else if (GST_EVENT_TYPE(ev) == GST_EVENT_CAPS) {
      GstCaps *caps = nullptr;
      gst_event_parse_caps(ev, &caps);
      read->frame_length = render_detail::caps_frame_duration(caps);
    }
    return GST_PAD_PROBE_OK;
  }
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
  StampedFrame f;
  f.pts = GST_BUFFER_PTS(buf);
  f.duration = GST_BUFFER_DURATION(buf);
  if (GstEvent *ev = gst_pad_get_sticky_event(pad, GST_EVENT_SEGMENT, 0)) {
    const GstSegment *segment = nullptr;
    gst_event_parse_segment(ev, &segment);
    if (segment->format == GST_FORMAT_TIME && GST_CLOCK_TIME_IS_VALID(f.pts))
      f.pts = gst_segment_to_stream_time(segment, GST_FORMAT_TIME, f.pts);
    gst_event_unref(ev);
  }
  if (GST_CLOCK_TIME_IS_VALID(f.pts))
    read->frames.push_back(f);
  return GST_PAD_PROBE_OK;
}

/* parsebin's "pad-added": its first video stream is stamped, the others drained. */
void on_parsed_pad(GstElement *, GstPad *pad, gpointer data)
{
  auto *read = static_cast<StampRead *>(data);
  GstCaps *caps = gst_pad_get_current_caps(pad);
  if (!caps)
    caps = gst_pad_query_caps(pad, nullptr);
  const bool video =
      caps && gst_caps_get_size(caps) > 0 &&
      g_str_has_prefix(gst_structure_get_name(gst_caps_get_structure(caps, 0)), "video/");
  if (caps)
    gst_caps_unref(caps);
  bool wanted;
  {
    std::lock_guard<std::mutex> hold(read->lock);
    wanted = video && !read->linked;
    read->linked = read->linked || wanted;
  }
  if (wanted)
    gst_pad_add_probe(pad,
                      (GstPadProbeType)(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_BOTH |
                                        GST_PAD_PROBE_TYPE_EVENT_FLUSH),
                      note_stamp, read, nullptr);
  GstPad *sink = gst_element_get_static_pad(read->sink, "sink");
  bool linked = false; /* the one video stream goes to read->sink, the rest are drained */
  link_or_drain(GST_BIN(read->bin), pad, sink, wanted, &linked);
  gst_object_unref(sink);
}

/* The video frames of the file at `uri` (stream time, in presentation
 * order) from about one second before `from` to past `to`, as its demuxer
 * stamps them (filesrc ! parsebin, sought with KEY_UNIT | SNAP_BEFORE to
 * `from` less a second, nothing decoded), each duration filled in from the
 * caps' rate where the demuxer states none, as the decoder does. Empty
 * when they cannot be read within 10 s. */
std::vector<StampedFrame> read_stamps(const std::string &uri, GstClockTime from, GstClockTime to)
{
  StampRead read;
  gchar *location = gst_uri_get_location(uri.c_str());
  GstElement *pipeline = gst_pipeline_new(nullptr);
  GstElement *src = gst_element_factory_make("filesrc", nullptr);
  GstElement *parse = gst_element_factory_make("parsebin", nullptr);
  read.sink = gst_element_factory_make("fakesink", nullptr);
  std::vector<StampedFrame> out;
  if (!location || !src || !parse || !read.sink) {
    g_free(location);
    for (GstElement *e : {src, parse, read.sink})
      if (e)
        gst_object_unref(gst_object_ref_sink(e));
    gst_object_unref(pipeline);
    return out;
  }
  read.bin = pipeline;
  g_object_set(src, "location", location, NULL);
  g_free(location);
  g_object_set(read.sink, "sync", FALSE, NULL);
  gst_bin_add_many(GST_BIN(pipeline), src, parse, read.sink, NULL);
  gst_element_link(src, parse);
  g_signal_connect(parse, "pad-added", G_CALLBACK(on_parsed_pad), &read);
  GstBus *bus = gst_element_get_bus(pipeline);
  const GstClockTime limit = 10 * GST_SECOND;
  const GstClockTime seek_to = from > GST_SECOND ? from - GST_SECOND : 0;
  bool ok = gst_element_set_state(pipeline, GST_STATE_PAUSED) != GST_STATE_CHANGE_FAILURE;
  GstMessage *msg =
      ok ? gst_bus_timed_pop_filtered(bus, limit,
                                      (GstMessageType)(GST_MESSAGE_ASYNC_DONE | GST_MESSAGE_ERROR))
         : nullptr;
  ok = msg && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ASYNC_DONE;
  if (msg)
    gst_message_unref(msg);
  ok = ok &&
       gst_element_seek(
           pipeline, 1.0, GST_FORMAT_TIME,
           (GstSeekFlags)(GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_KEY_UNIT | GST_SEEK_FLAG_SNAP_BEFORE),
           GST_SEEK_TYPE_SET, (gint64)seek_to, GST_SEEK_TYPE_SET, (gint64)(to + GST_SECOND));
  if (ok && gst_element_set_state(pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE) {
    msg = gst_bus_timed_pop_filtered(bus, limit,
                                     (GstMessageType)(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    ok = msg && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS;
    if (msg)
      gst_message_unref(msg);
  } else {
    ok = false;
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(bus);
  gst_object_unref(pipeline);
  if (!ok)
    return out;
  std::lock_guard<std::mutex> hold(read.lock);
  out = read.frames;
  for (StampedFrame &f : out)
    if (!GST_CLOCK_TIME_IS_VALID(f.duration) && read.frame_length > 0)
      f.duration = read.frame_length;
  std::sort(out.begin(), out.end(),
            [](const StampedFrame &a, const StampedFrame &b) { return a.pts < b.pts; });
  return out;
}

/* The frames (indices into `at`, frames at GST_CLOCK_TIME_NONE skipped)
 * that videorate gives for the times origin + offsets[k] (the source's
 * segment from `origin`, at the track's rate), the frames arriving at the
 * times `at`, in order: of the frame held and the one arriving, the one
 * nearer the next output time goes out, the held one on a tie; the held
 * one is given again until the arriving one is nearer; at the end the last
 * frame fills the rest (gstvideorate.c, 1.22). SIZE_MAX where none. */
std::vector<std::size_t> videorate_frames(const std::vector<GstClockTime> &at, GstClockTime origin,
                                          const std::vector<GstClockTime> &offsets)
{
  std::vector<std::size_t> out;
  std::size_t held = SIZE_MAX;
  auto diff = [](GstClockTime a, GstClockTime b) { return a > b ? a - b : b - a; };
  for (std::size_t j = 0; j < at.size() && out.size() < offsets.size(); j++) {
    if (!GST_CLOCK_TIME_IS_VALID(at[j]))
      continue;
    if (held == SIZE_MAX) {
      held = j;
      continue;
    }
    while (out.size() < offsets.size()) {
      const GstClockTime next = origin + offsets[out.size()];
      const GstClockTime d1 = diff(at[held], next), d2 = diff(at[j], next);
      if (d1 <= d2)
        out.push_back(held);
      if (!(d1 < d2))
        break;
    }
    held = j;
  }
  while (out.size() < offsets.size())
    out.push_back(held);
  return out;
}

/* How many of a clip's output frames (the k-th at offsets[k] after its
 * in-point) GES would show another source frame on than the montage does,
 * were the in-point written `lead` ns late. GES seeks the decoder to the
 * written in-point; the decoder keeps each frame that ends after it and
 * starts before the clip's end, moving the stamp of one that starts before
 * it onto it (GstVideoDecoder's segment clipping), and the source's
 * videorate takes them from there (videorate_frames()). The montage
 * (render-cuts.cpp) takes the same rule from the planned in-point on the
 * frames' own stamps, nothing moved. */
std::size_t frames_off(const std::vector<StampedFrame> &frames, GstClockTime inpoint,
                       GstClockTime duration, const std::vector<GstClockTime> &offsets,
                       GstClockTime lead)
{
  std::vector<GstClockTime> stamped(frames.size()), clipped(frames.size());
  const GstClockTime in = inpoint + lead;
  for (std::size_t j = 0; j < frames.size(); j++) {
    const StampedFrame &f = frames[j];
    stamped[j] = f.pts < inpoint + duration ? f.pts : GST_CLOCK_TIME_NONE;
    const GstClockTime end =
        GST_CLOCK_TIME_IS_VALID(f.duration) ? f.pts + f.duration : GST_CLOCK_TIME_NONE;
    const bool kept =
        (GST_CLOCK_TIME_IS_VALID(end) ? end > in : f.pts >= in) && f.pts < in + duration;
    clipped[j] = kept ? std::max(f.pts, in) : GST_CLOCK_TIME_NONE;
  }
  const std::vector<std::size_t> montage = videorate_frames(stamped, inpoint, offsets);
  const std::vector<std::size_t> ges = videorate_frames(clipped, in, offsets);
  std::size_t off = 0;
  for (std::size_t k = 0; k < offsets.size(); k++)
    off += montage[k] != ges[k];
  return off;
}

/* How much later than `inpoint` to write the in-point of a clip of the file
 * at `uri` (a container stamped in whole ms) that lasts `duration` at
 * `fps_n`/`fps_d`, so that GES shows the frames the montage shows: 0, or
 * just past the end of the frame before the in-point, whichever puts fewer
 * output frames wrong (0 where even). Why: WebM states times in ms, so a
 * frame of a 30 fps clip at 2.7667 s is stamped 2.767 s and, lasting 1/30
 * s from the caps, ends at 2.80033 s, past the next frame's 2.800 s. With
 * the in-point at 2.800 s the decoder keeps that frame, moved onto 2.800
 * s, and videorate shows it, the earlier of two at the same time: the
 * segment began on the frame before its in-point (trial h114: 3 of 6
 * segments of a VP9 clip at whole-ms in-points). Its end as stamped is
 * what the in-point must pass. Writing every in-point a fixed 0.5 or 1 ms
 * later instead moves all the times GES samples the clip at, and changed
 * frames inside segments wherever one falls near the middle between two
 * source frames (with 1 ms: 4 of 502 frames at 25 fps, 20 of 481 at
 * 24000/1001, 286 of 1204 at 60 fps; ges-launch-1.0 against the montage,
 * docs/export.md); so the lead is taken only where it puts fewer frames
 * wrong than it mends. */
GstClockTime inpoint_lead(const std::string &uri, GstClockTime inpoint, GstClockTime duration,
                          gint fps_n, gint fps_d)
{
  if (fps_n <= 0 || fps_d <= 0 || duration == 0)
    return 0;
  const std::vector<StampedFrame> frames = read_stamps(uri, inpoint, inpoint + duration);
  /* Just past the end of each frame that starts before the in-point and
   * ends after it (the one shown first may be among them: stamped 2.833 s
   * for 2.8333 s in a 24 fps clip). */
  std::vector<GstClockTime> leads;
  for (const StampedFrame &f : frames)
    if (f.pts < inpoint && GST_CLOCK_TIME_IS_VALID(f.duration) && f.pts + f.duration > inpoint)
      leads.push_back(f.pts + f.duration - inpoint + 1);
  if (leads.empty())
    return 0;
  std::sort(leads.begin(), leads.end());
  /* The clip's frames, counted from its start (k * frame length,
   * truncated): as many as its duration holds, rounded (a clip 1 ns longer
   * than its frames gets one more from GES, under the next clip's first). */
  std::vector<GstClockTime> offsets;
  const guint64 count =
      gst_util_uint64_scale_round(duration, (guint64)fps_n, (guint64)fps_d * GST_SECOND);
  for (guint64 k = 0; k < count; k++)
    offsets.push_back(gst_util_uint64_scale(k, (guint64)fps_d * GST_SECOND, (guint64)fps_n));
  GstClockTime best = 0;
  std::size_t fewest = frames_off(frames, inpoint, duration, offsets, 0);
  const std::size_t now = fewest;
  for (GstClockTime lead : leads) {
    const std::size_t off = frames_off(frames, inpoint, duration, offsets, lead);
    if (off < fewest) {
      fewest = off;
      best = lead;
    }
  }
  GST_DEBUG("%s from %" GST_TIME_FORMAT ": %zu of %zu frames off as it is, %zu with the in-point "
            "%" GST_TIME_FORMAT " later",
            uri.c_str(), GST_TIME_ARGS(inpoint), now, offsets.size(), fewest, GST_TIME_ARGS(best));
  return best;
}

/* Writes each video clip of a file stamped in whole ms (stamps_in_whole_ms())
 * with its in-point inpoint_lead() later, and the lead recorded on the clip
 * (kInpointLeadKey) for read_xges(). A clip whose later in-point GES
 * refuses (past the length it reaches in its file) is left as it was. */
void lead_inpoints(GESTimeline *timeline, gint fps_n, gint fps_d)
{
  every_uri_clip(timeline, [&](GESTimelineElement *el, GESAsset *asset) {
    if (!(ges_clip_get_supported_formats(GES_CLIP(el)) & GES_TRACK_TYPE_VIDEO) ||
        !stamps_in_whole_ms(asset))
      return true;
    const GstClockTime in = el->inpoint;
    const GstClockTime lead = inpoint_lead(ges_asset_get_id(asset), in, el->duration, fps_n, fps_d);
    const GstClockTime reach = ges_uri_clip_asset_get_max_duration(GES_URI_CLIP_ASSET(asset));
    if (lead == 0 || (GST_CLOCK_TIME_IS_VALID(reach) && in + lead + el->duration > reach))
      return true;
    if (ges_timeline_element_set_inpoint(el, in + lead) && el->inpoint == in + lead)
      ges_meta_container_set_uint64(GES_META_CONTAINER(el), kInpointLeadKey, lead);
    else
      ges_timeline_element_set_inpoint(el, in);
    return true;
  });
}

bool write_xges(const Plan &plan, const SongAnalysis &song, const std::vector<ClipAnalysis> &clips,
                const std::string &path, const ExportOptions &options, GError **error)
{
  /* Validates the same things as the text formats and gives the markers. */
  EditEvents ev;
  if (!edit_events(plan, song, clips, options, title_from_path(path), ev, error))
    return false;
  if (options.width < 16 || options.height < 16 || options.width % 2 || options.height % 2)
    return fail_arg(error, "output size " + std::to_string(options.width) + "x" +
                               std::to_string(options.height) +
                               " is not supported: use even sizes of at least 16x16.");
  /* On the frame grid the timeline render uses (truncated, not the
   * planner's rounding), or ges-launch-1.0 renders a frame more than the plan
   * where the edit ends 1 ns after a frame starts. */
  GESTimeline *timeline = build_timeline(render_detail::on_output_grid(plan), song, clips,
                                         options.width, options.height, error);
  if (!timeline)
    return false;
  if (!within_ges_reach(timeline, error) || !decodable_in_ges(timeline, error)) {
    gst_object_unref(timeline);
    return false;
  }
  lead_inpoints(timeline, plan.fps_n, plan.fps_d);
  if (options.beat_markers) {
    GESMarkerList *markers = ges_marker_list_new();
    for (const Marker &m : ev.markers) {
      GESMarker *marker = ges_marker_list_add(markers, song.beats[m.beat]);
      ges_meta_container_set_string(GES_META_CONTAINER(marker), "comment", m.name.c_str());
      /* ARGB: red for downbeats, yellow for other beats. */
      ges_meta_container_set_uint(GES_META_CONTAINER(marker), GES_META_MARKER_COLOR,
                                  m.downbeat ? 0xffff0000u : 0xffffff00u);
    }
    ges_meta_container_set_marker_list(GES_META_CONTAINER(timeline), kMarkersKey, markers);
    g_object_unref(markers);
  }
  /* As UTF-8, as the text formats write it: GStreamer refuses (with a warning)
   * a structure string that is not, and the project lost its name. */
  ges_meta_container_set_string(GES_META_CONTAINER(timeline), "name",
                                display_text(ev.title).c_str());

  const std::string tmp = temp_path_for(path);
  gchar *abs = g_canonicalize_filename(tmp.c_str(), nullptr);
  gchar *uri = g_filename_to_uri(abs, nullptr, error);
  g_free(abs);
  bool ok = uri && ges_timeline_save_to_uri(timeline, uri, nullptr, TRUE, error);
  g_free(uri);
  gst_object_unref(timeline);
  if (!ok) {
    g_unlink(tmp.c_str());
    return false;
  }
  return rename_into_place(tmp, path, error);
}

} // namespace

bool export_plan(const Plan &plan, const SongAnalysis &song, const std::vector<ClipAnalysis> &clips,
                 const std::string &path, const ExportOptions &options, GError **error)
{
  ExportFormat format = export_format_for_path(path);
  if (format == ExportFormat::kUnknown) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                "Cannot tell the edit format of %s: name it .xges (GES/Pitivi), .edl (CMX 3600), "
                ".otio (OpenTimelineIO) or .fcpxml (Final Cut Pro, DaVinci Resolve).",
                path.c_str());
    return false;
  }
  if (format == ExportFormat::kXges)
    return write_xges(plan, song, clips, path, options, error);

  ExportOptions opts = options;
  if (opts.title.empty())
    opts.title = title_from_path(path);
  std::string text;
  bool ok = false;
  if (format == ExportFormat::kEdl)
    ok = plan_to_edl(plan, song, clips, opts, text, error);
  else if (format == ExportFormat::kOtio)
    ok = plan_to_otio(plan, song, clips, opts, text, error);
  else
    ok = plan_to_fcpxml(plan, song, clips, opts, text, error);
  /* g_file_set_contents writes a temporary file and renames it over path. */
  return ok && g_file_set_contents(path.c_str(), text.data(), (gssize)text.size(), error);
}

/* ---- Reading ----------------------------------------------------------- */

namespace
{

/* The clips of one GES layer, in start order, as ExportedClips. */
void read_layer(GESLayer *layer, std::vector<ExportedClip> &out)
{
  GList *clips = ges_layer_get_clips(layer);
  for (GList *l = clips; l; l = l->next) {
    if (!GES_IS_URI_CLIP(l->data))
      continue;
    GESTimelineElement *el = GES_TIMELINE_ELEMENT(l->data);
    ExportedClip c;
    c.uri = ges_uri_clip_get_uri(GES_URI_CLIP(l->data));
    c.path = uri_to_path(c.uri);
    c.in = ges_timeline_element_get_inpoint(el);
    guint64 lead = 0; /* write_xges()'s, lead_inpoints() */
    if (ges_meta_container_get_uint64(GES_META_CONTAINER(el), kInpointLeadKey, &lead) &&
        lead <= c.in)
      c.in -= lead;
    c.out = c.in + ges_timeline_element_get_duration(el);
    c.record_start = ges_timeline_element_get_start(el);
    c.record_end = c.record_start + ges_timeline_element_get_duration(el);
    out.push_back(std::move(c));
  }
  g_list_free_full(clips, gst_object_unref);
  std::sort(out.begin(), out.end(), [](const ExportedClip &a, const ExportedClip &b) {
    return a.record_start < b.record_start;
  });
}

/* Loading a project requests its assets asynchronously, on the calling
 * thread's default main context (where GES's discoverer for this thread stays
 * attached): iterate that context until the project says it has loaded, or
 * failed. */
struct LoadWait {
  std::atomic<bool> done{false};
  GError *error = nullptr; /* set before done */
};

void on_project_loaded(GESProject *, GESTimeline *, gpointer data)
{
  static_cast<LoadWait *>(data)->done = true;
}

/* GES may report from a discoverer thread: wake the waiting loop regularly. */
gboolean wake(gpointer)
{
  return G_SOURCE_CONTINUE;
}

constexpr gint64 kLoadTimeoutUs = 120 * G_USEC_PER_SEC;

void on_project_error(GESProject *, GError *error, gchar *id, GType, gpointer data)
{
  auto *wait = static_cast<LoadWait *>(data);
  if (!wait->error)
    wait->error = g_error_new(error->domain, error->code, "cannot load %s: %s", id, error->message);
  wait->done = true;
}

void on_project_load_error(GESProject *, GESTimeline *, GError *error, gpointer data)
{
  auto *wait = static_cast<LoadWait *>(data);
  if (!wait->error)
    wait->error = g_error_copy(error);
  wait->done = true;
}

GESTimeline *load_timeline(const gchar *uri, GError **error)
{
  GMainContext *ctx = g_main_context_ref_thread_default();
  GESProject *project = ges_project_new(uri);
  LoadWait wait;
  g_signal_connect(project, "loaded", G_CALLBACK(on_project_loaded), &wait);
  g_signal_connect(project, "error-loading-asset", G_CALLBACK(on_project_error), &wait);
  g_signal_connect(project, "error-loading", G_CALLBACK(on_project_load_error), &wait);
  GESTimeline *timeline = GES_TIMELINE(ges_asset_extract(GES_ASSET(project), error));
  if (timeline) {
    gst_object_ref_sink(timeline);
    GSource *tick = g_timeout_source_new(20);
    g_source_set_callback(tick, wake, nullptr, nullptr);
    g_source_attach(tick, ctx);
    const gint64 deadline = g_get_monotonic_time() + kLoadTimeoutUs;
    while (!wait.done && g_get_monotonic_time() < deadline)
      g_main_context_iteration(ctx, TRUE);
    g_source_destroy(tick);
    g_source_unref(tick);
    if (!wait.done && !wait.error)
      wait.error =
          g_error_new(G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "GES did not finish loading %s in %d s",
                      uri, (int)(kLoadTimeoutUs / G_USEC_PER_SEC));
  }
  g_signal_handlers_disconnect_by_data(project, &wait);
  gst_object_unref(project);
  g_main_context_unref(ctx);
  if (timeline && wait.error) {
    g_propagate_error(error, wait.error);
    gst_object_unref(timeline);
    return nullptr;
  }
  return timeline;
}

bool read_xges(const std::string &path, ExportedEdit &out, GError **error)
{
  ges_init();
  gchar *abs = g_canonicalize_filename(path.c_str(), nullptr);
  gchar *uri = g_filename_to_uri(abs, nullptr, error);
  g_free(abs);
  if (!uri)
    return false;
  GESTimeline *timeline = load_timeline(uri, error);
  g_free(uri);
  if (!timeline)
    return false;
  out = ExportedEdit();
  out.format = ExportFormat::kXges;
  const gchar *name = ges_meta_container_get_string(GES_META_CONTAINER(timeline), "name");
  out.title = name ? name : "";

  /* The lists are freed after their loops: freeing one on its last node
   * left the loop's step (l = l->next) reading a freed node. */
  GList *tracks = ges_timeline_get_tracks(timeline);
  for (GList *l = tracks; l; l = l->next) {
    GESTrack *track = GES_TRACK(l->data);
    const GstCaps *caps = ges_track_get_restriction_caps(track);
    if (track->type == GES_TRACK_TYPE_VIDEO && caps && gst_caps_get_size(caps) > 0)
      gst_structure_get_fraction(gst_caps_get_structure(caps, 0), "framerate", &out.fps_n,
                                 &out.fps_d);
  }
  g_list_free_full(tracks, gst_object_unref);
  /* Every clip of a layer lands in one list by the track its clip fills. */
  GList *layers = ges_timeline_get_layers(timeline);
  for (GList *l = layers; l; l = l->next) {
    std::vector<ExportedClip> clips;
    read_layer(GES_LAYER(l->data), clips);
    GList *first = ges_layer_get_clips(GES_LAYER(l->data));
    bool video =
        first && (ges_clip_get_supported_formats(GES_CLIP(first->data)) & GES_TRACK_TYPE_VIDEO);
    g_list_free_full(first, gst_object_unref);
    auto &dst = video ? out.video : out.audio;
    dst.insert(dst.end(), clips.begin(), clips.end());
  }
  g_list_free_full(layers, gst_object_unref);
  /* Record times are on GES's truncated frame grid (write_xges()): back to
   * the planner's, which is what the other formats read back too; an
   * in-point keeps its ns and the source out-point follows the duration. */
  if (out.fps_n > 0 && out.fps_d > 0)
    for (auto *list : {&out.video, &out.audio})
      for (ExportedClip &c : *list) {
        c.record_start =
            frame_time(frame_nearest(c.record_start, out.fps_n, out.fps_d), out.fps_n, out.fps_d);
        c.record_end =
            frame_time(frame_nearest(c.record_end, out.fps_n, out.fps_d), out.fps_n, out.fps_d);
        c.out = c.in + (c.record_end - c.record_start);
      }
  GESMarkerList *markers =
      ges_meta_container_get_marker_list(GES_META_CONTAINER(timeline), kMarkersKey);
  if (markers) {
    GList *list = ges_marker_list_get_markers(markers);
    for (GList *l = list; l; l = l->next) {
      GstClockTime pos = GST_CLOCK_TIME_NONE;
      g_object_get(l->data, "position", &pos, NULL);
      out.markers.push_back(pos);
    }
    g_list_free_full(list, g_object_unref);
    g_object_unref(markers);
    std::sort(out.markers.begin(), out.markers.end());
  }
  gst_object_unref(timeline);
  return true;
}

} // namespace

bool read_export(const std::string &path, ExportedEdit &out, GError **error, gint edl_fps_n,
                 gint edl_fps_d)
{
  ExportFormat format = export_format_for_path(path);
  if (format == ExportFormat::kUnknown) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                "Cannot tell the edit format of %s from its extension.", path.c_str());
    return false;
  }
  if (format == ExportFormat::kXges)
    return read_xges(path, out, error);
  if (format == ExportFormat::kEdl && (edl_fps_n <= 0 || edl_fps_d <= 0)) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                "An EDL does not state its frame rate: give the rate to read %s at.", path.c_str());
    return false;
  }
  gchar *contents = nullptr;
  gsize length = 0;
  if (!g_file_get_contents(path.c_str(), &contents, &length, error))
    return false;
  std::string text(contents, length);
  g_free(contents);
  if (format == ExportFormat::kEdl)
    return parse_edl(text, edl_fps_n, edl_fps_d, out, error);
  if (format == ExportFormat::kOtio)
    return parse_otio(text, out, error);
  return parse_fcpxml(text, out, error);
}

} // namespace montage
