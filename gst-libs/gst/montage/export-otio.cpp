/* gst-montage: OpenTimelineIO JSON (.otio); see export.h.
 *
 * Written with json-glib in OpenTimelineIO's serialisation (each object names
 * its schema in "OTIO_SCHEMA"): Timeline.1 > Stack.1 > Track.1 (kind "Video",
 * "Audio") > Clip.1 / Gap.1, media as ExternalReference.1 with an absolute
 * file:// target_url, times as RationalTime.1 {rate, value} at the plan's rate
 * with whole frame values, ranges as TimeRange.1 {start_time, duration}. Beat
 * markers are Marker.2 on the stack (timeline time). Each clip's metadata
 * holds "gst-montage": {shot, beat, reused} from the plan. */
#include <gst/montage/export.h>

#include "export-private.h"

#include <json-glib/json-glib.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>

namespace montage
{

using namespace export_detail;

namespace
{

const char *kFormat = "OpenTimelineIO";

class Writer
{
public:
  Writer(double rate) : b_(json_builder_new()), rate_(rate) {}
  ~Writer() { g_object_unref(b_); }

  JsonBuilder *b() { return b_; }

  void member(const char *name) { json_builder_set_member_name(b_, name); }
  void str(const char *name, const std::string &v)
  {
    member(name);
    json_builder_add_string_value(b_, v.c_str());
  }
  void boolean(const char *name, bool v)
  {
    member(name);
    json_builder_add_boolean_value(b_, v);
  }
  void schema(const char *name)
  {
    json_builder_begin_object(b_);
    str("OTIO_SCHEMA", name);
  }
  void empty_array(const char *name)
  {
    member(name);
    json_builder_begin_array(b_);
    json_builder_end_array(b_);
  }
  void empty_object(const char *name)
  {
    member(name);
    json_builder_begin_object(b_);
    json_builder_end_object(b_);
  }
  void null(const char *name)
  {
    member(name);
    json_builder_add_null_value(b_);
  }
  void rational_time(const char *name, guint64 frames)
  {
    member(name);
    schema("RationalTime.1");
    member("rate");
    json_builder_add_double_value(b_, rate_);
    member("value");
    json_builder_add_double_value(b_, (double)frames);
    json_builder_end_object(b_);
  }
  void time_range(const char *name, guint64 start, guint64 duration)
  {
    member(name);
    schema("TimeRange.1");
    rational_time("duration", duration);
    rational_time("start_time", start);
    json_builder_end_object(b_);
  }

private:
  JsonBuilder *b_;
  double rate_;
};

void write_marker(Writer &w, const Marker &m)
{
  w.schema("Marker.2");
  w.str("color", m.downbeat ? "RED" : "YELLOW");
  w.time_range("marked_range", m.frame, 0);
  w.empty_object("metadata");
  w.str("name", m.name);
  json_builder_end_object(w.b());
}

void write_clip(Writer &w, const Event &e, guint64 available_frames)
{
  w.schema("Clip.1");
  w.empty_array("effects");
  w.boolean("enabled", true);
  w.empty_array("markers");
  w.member("media_reference");
  w.schema("ExternalReference.1");
  if (available_frames)
    w.time_range("available_range", 0, available_frames);
  else
    w.null("available_range");
  w.empty_object("metadata");
  w.str("name", display_text(e.name));
  w.str("target_url", e.uri);
  json_builder_end_object(w.b());
  w.member("metadata");
  json_builder_begin_object(w.b());
  if (e.segment) {
    w.member("gst-montage");
    json_builder_begin_object(w.b());
    w.member("shot");
    json_builder_add_int_value(w.b(), (gint64)e.segment->shot);
    w.member("beat");
    if (e.segment->beat == SIZE_MAX)
      json_builder_add_null_value(w.b());
    else
      json_builder_add_int_value(w.b(), (gint64)e.segment->beat);
    w.boolean("reused", e.segment->reused);
    json_builder_end_object(w.b());
  }
  json_builder_end_object(w.b());
  w.str("name", display_text(e.name));
  w.time_range("source_range", e.src_in, e.src_out - e.src_in);
  json_builder_end_object(w.b());
}

void write_gap(Writer &w, guint64 frames)
{
  w.schema("Gap.1");
  w.empty_array("effects");
  w.boolean("enabled", true);
  w.empty_array("markers");
  w.empty_object("metadata");
  w.str("name", "");
  w.time_range("source_range", 0, frames);
  json_builder_end_object(w.b());
}

} // namespace

bool plan_to_otio(const Plan &plan, const SongAnalysis &song,
                  const std::vector<ClipAnalysis> &clips, const ExportOptions &options,
                  std::string &out, GError **error)
{
  EditEvents ev;
  if (!edit_events(plan, song, clips, options, "gst-montage", ev, error))
    return false;
  Writer w((double)ev.fps_n / ev.fps_d);
  /* The whole file at the plan's rate, a started frame counted (0: unknown). */
  std::map<std::size_t, guint64> available_frames;
  auto available = [&](const Event &e) -> guint64 {
    auto it = available_frames.find(e.clip);
    if (it != available_frames.end())
      return it->second;
    const GstClockTime length =
        e.clip == SIZE_MAX ? song.duration
                           : media_length(e.uri, clips[e.clip].duration, clips[e.clip].first_frame);
    const guint64 frames =
        GST_CLOCK_TIME_IS_VALID(length) ? whole_frames(length, ev.fps_n, ev.fps_d) : 0;
    available_frames[e.clip] = frames;
    return frames;
  };

  w.schema("Timeline.1");
  w.rational_time("global_start_time", ev.start_frame);
  w.empty_object("metadata");
  w.str("name", display_text(ev.title));
  w.member("tracks");
  w.schema("Stack.1");
  w.member("children");
  json_builder_begin_array(w.b());

  w.schema("Track.1");
  w.member("children");
  json_builder_begin_array(w.b());
  guint64 at = 0;
  for (const Event &e : ev.video) {
    if (e.rec_in > at)
      write_gap(w, e.rec_in - at);
    write_clip(w, e, available(e));
    at = e.rec_out;
  }
  json_builder_end_array(w.b());
  w.empty_array("effects");
  w.boolean("enabled", true);
  w.str("kind", "Video");
  w.empty_array("markers");
  w.empty_object("metadata");
  w.str("name", "V1");
  w.null("source_range");
  json_builder_end_object(w.b());

  w.schema("Track.1");
  w.member("children");
  json_builder_begin_array(w.b());
  write_clip(w, ev.audio, available(ev.audio));
  json_builder_end_array(w.b());
  w.empty_array("effects");
  w.boolean("enabled", true);
  w.str("kind", "Audio");
  w.empty_array("markers");
  w.empty_object("metadata");
  w.str("name", "A1");
  w.null("source_range");
  json_builder_end_object(w.b());

  json_builder_end_array(w.b()); /* children */
  w.empty_array("effects");
  w.boolean("enabled", true);
  w.member("markers");
  json_builder_begin_array(w.b());
  for (const Marker &m : ev.markers)
    write_marker(w, m);
  json_builder_end_array(w.b());
  w.empty_object("metadata");
  w.str("name", "tracks");
  w.null("source_range");
  json_builder_end_object(w.b()); /* stack */
  json_builder_end_object(w.b()); /* timeline */

  JsonNode *root = json_builder_get_root(w.b());
  JsonGenerator *gen = json_generator_new();
  json_generator_set_root(gen, root);
  json_generator_set_pretty(gen, TRUE);
  json_generator_set_indent(gen, 2);
  gchar *text = json_generator_to_data(gen, nullptr);
  out = text;
  out += "\n";
  g_free(text);
  g_object_unref(gen);
  json_node_unref(root);
  return true;
}

namespace
{

class Reader
{
public:
  explicit Reader(GError **error) : error_(error) {}

  bool fail(const std::string &why) { return fail_data(error_, kFormat, why); }

  JsonObject *object(JsonNode *n, const char *schema_prefix, const std::string &where)
  {
    if (!n || !JSON_NODE_HOLDS_OBJECT(n)) {
      fail(where + " is not an object.");
      return nullptr;
    }
    JsonObject *o = json_node_get_object(n);
    if (schema_prefix) {
      std::string s = schema(o);
      if (s.rfind(schema_prefix, 0) != 0) {
        fail(where + " is \"" + s + "\" where " + schema_prefix + "* was expected.");
        return nullptr;
      }
    }
    return o;
  }

  std::string schema(JsonObject *o)
  {
    const gchar *s = json_object_get_string_member_with_default(o, "OTIO_SCHEMA", "");
    return s ? s : "";
  }

  JsonArray *array(JsonObject *o, const char *name, const std::string &where)
  {
    JsonNode *n = json_object_get_member(o, name);
    if (!n || !JSON_NODE_HOLDS_ARRAY(n)) {
      fail("\"" + std::string(name) + "\" of " + where + " is not an array.");
      return nullptr;
    }
    return json_node_get_array(n);
  }

  bool number(JsonObject *o, const char *name, const std::string &where, double &v)
  {
    JsonNode *n = json_object_get_member(o, name);
    if (!n || !JSON_NODE_HOLDS_VALUE(n) ||
        (json_node_get_value_type(n) != G_TYPE_DOUBLE &&
         json_node_get_value_type(n) != G_TYPE_INT64))
      return fail("\"" + std::string(name) + "\" of " + where + " is not a number.");
    v = json_node_get_double(n);
    return true;
  }

  /* RationalTime.1 -> value and rate. */
  bool rational(JsonNode *n, const std::string &where, double &value, double &rate)
  {
    JsonObject *o = object(n, "RationalTime.", where);
    if (!o || !number(o, "rate", where, rate) || !number(o, "value", where, value))
      return false;
    if (!(rate > 0.0) || !(value >= 0.0))
      return fail(where + " is not a time at a positive rate.");
    return true;
  }

  /* RationalTime.1 -> frames at the edit's rate (whole when the file states
   * whole frames at that rate). */
  bool frames(JsonNode *n, const std::string &where, const ExportedEdit &edit, double &f)
  {
    double value, rate;
    if (!rational(n, where, value, rate))
      return false;
    const double edit_rate = (double)edit.fps_n / edit.fps_d;
    f = std::fabs(rate - edit_rate) < 1e-9 ? value : value / rate * edit_rate;
    return true;
  }

  bool range(JsonNode *n, const std::string &where, const ExportedEdit &edit, double &start,
             double &duration)
  {
    JsonObject *o = object(n, "TimeRange.", where);
    return o &&
           frames(json_object_get_member(o, "start_time"), where + " start_time", edit, start) &&
           frames(json_object_get_member(o, "duration"), where + " duration", edit, duration);
  }

private:
  GError **error_;
};

/* Frames at the edit's rate -> ns: the plan's grid for whole frames. FALSE
 * for a time that is not finite, negative or past kMaxReadTime (a value of
 * 1e300 was converted to an integer: undefined behaviour, and garbage read
 * as success). */
bool frames_ns(double f, const ExportedEdit &edit, GstClockTime &ns)
{
  const double seconds = f * edit.fps_d / edit.fps_n;
  if (!std::isfinite(seconds) || seconds < 0 || seconds * GST_SECOND > (double)kMaxReadTime)
    return false;
  double whole = std::round(f);
  if (std::fabs(f - whole) < 1e-6)
    ns = frame_time((guint64)whole, edit.fps_n, edit.fps_d);
  else
    ns = (GstClockTime)std::llround(seconds * GST_SECOND);
  return true;
}

/* The media reference of a Clip.1 (media_reference) or Clip.2 (the active
 * one of media_references). */
JsonNode *media_reference(JsonObject *clip)
{
  JsonNode *ref = json_object_get_member(clip, "media_reference");
  if (ref)
    return ref;
  JsonNode *refs = json_object_get_member(clip, "media_references");
  if (!refs || !JSON_NODE_HOLDS_OBJECT(refs))
    return nullptr;
  const gchar *key = json_object_get_string_member_with_default(clip, "active_media_reference_key",
                                                                "DEFAULT_MEDIA");
  return json_object_get_member(json_node_get_object(refs), key ? key : "DEFAULT_MEDIA");
}

} // namespace

bool parse_otio(const std::string &text, ExportedEdit &out, GError **error)
{
  JsonParser *parser = json_parser_new();
  std::unique_ptr<JsonParser, void (*)(gpointer)> owner(parser, g_object_unref);
  if (!json_parser_load_from_data(parser, text.data(), (gssize)text.size(), error))
    return false;
  Reader r(error);
  ExportedEdit edit;
  edit.format = ExportFormat::kOtio;
  JsonObject *timeline = r.object(json_parser_get_root(parser), "Timeline.", "the document");
  if (!timeline)
    return false;
  const gchar *title = json_object_get_string_member_with_default(timeline, "name", "");
  edit.title = title ? title : "";
  JsonObject *stack = r.object(json_object_get_member(timeline, "tracks"), "Stack.", "\"tracks\"");
  if (!stack)
    return false;
  JsonArray *tracks = r.array(stack, "children", "the stack");
  if (!tracks)
    return false;

  /* The edit's rate: the first clip's source_range rate. */
  bool have_rate = false;
  auto take_rate = [&](JsonObject *item) {
    JsonNode *range = json_object_get_member(item, "source_range");
    if (have_rate || !range || !JSON_NODE_HOLDS_OBJECT(range))
      return;
    JsonNode *d = json_object_get_member(json_node_get_object(range), "duration");
    double value, rate;
    if (d && JSON_NODE_HOLDS_OBJECT(d) && r.rational(d, "a duration", value, rate)) {
      gst_util_double_to_fraction(rate, &edit.fps_n, &edit.fps_d);
      have_rate = true;
    }
  };
  /* A time the file states -> ns, or a failure naming it (frames_ns()). */
  auto ns = [&](double f, const std::string &where, GstClockTime &out) {
    if (frames_ns(f, edit, out))
      return true;
    gchar frames[G_ASCII_DTOSTR_BUF_SIZE];
    g_ascii_formatd(frames, sizeof frames, "%g", f);
    return r.fail(where + " is not a time from 0 to 2^62 ns (" + frames + " frames at " +
                  std::to_string(edit.fps_n) + "/" + std::to_string(edit.fps_d) + ").");
  };
  for (guint i = 0; i < json_array_get_length(tracks); i++) {
    JsonObject *track =
        r.object(json_array_get_element(tracks, i), "Track.", "track " + std::to_string(i));
    if (!track)
      return false;
    JsonArray *items = r.array(track, "children", "track " + std::to_string(i));
    if (!items)
      return false;
    for (guint k = 0; k < json_array_get_length(items) && !have_rate; k++) {
      JsonNode *n = json_array_get_element(items, k);
      if (JSON_NODE_HOLDS_OBJECT(n))
        take_rate(json_node_get_object(n));
    }
  }
  if (!have_rate)
    return r.fail("no clip or gap states a source_range.");
  if (edit.fps_n <= 0 || edit.fps_d <= 0)
    return r.fail("the first source_range's rate is not a frame rate.");

  JsonNode *global = json_object_get_member(timeline, "global_start_time");
  if (global && JSON_NODE_HOLDS_OBJECT(global)) {
    double f;
    if (!r.frames(global, "global_start_time", edit, f) ||
        !ns(f, "global_start_time", edit.start_timecode))
      return false;
  }

  for (guint i = 0; i < json_array_get_length(tracks); i++) {
    JsonObject *track = json_node_get_object(json_array_get_element(tracks, i));
    const std::string where = "track " + std::to_string(i);
    const gchar *kind = json_object_get_string_member_with_default(track, "kind", "");
    auto &dst = g_strcmp0(kind, "Audio") == 0 ? edit.audio : edit.video;
    JsonArray *items = json_object_get_array_member(track, "children");
    double at = 0.0; /* frames */
    for (guint k = 0; k < json_array_get_length(items); k++) {
      const std::string item_where = where + " item " + std::to_string(k);
      JsonObject *item = r.object(json_array_get_element(items, k), nullptr, item_where);
      if (!item)
        return false;
      const std::string schema = r.schema(item);
      if (schema.rfind("Transition.", 0) == 0)
        continue; /* takes no time of its own in a track */
      double start, duration;
      if (!r.range(json_object_get_member(item, "source_range"), item_where + " source_range", edit,
                   start, duration))
        return false;
      if (schema.rfind("Clip.", 0) == 0) {
        JsonObject *ref = r.object(media_reference(item), nullptr, item_where + " media reference");
        if (!ref)
          return false;
        ExportedClip c;
        if (r.schema(ref).rfind("ExternalReference.", 0) == 0) {
          const gchar *url = json_object_get_string_member_with_default(ref, "target_url", "");
          c.uri = url ? url : "";
          c.path = uri_to_path(c.uri);
        }
        if (!ns(start, item_where + " source_range start", c.in) ||
            !ns(start + duration, item_where + " source_range end", c.out) ||
            !ns(at, item_where + " record start", c.record_start) ||
            !ns(at + duration, item_where + " record end", c.record_end))
          return false;
        dst.push_back(std::move(c));
      } else if (schema.rfind("Gap.", 0) != 0) {
        return r.fail(item_where + " is a \"" + schema + "\", which this reader does not place.");
      }
      at += duration;
    }
  }
  JsonNode *markers = json_object_get_member(stack, "markers");
  if (markers && JSON_NODE_HOLDS_ARRAY(markers)) {
    JsonArray *list = json_node_get_array(markers);
    for (guint i = 0; i < json_array_get_length(list); i++) {
      const std::string where = "marker " + std::to_string(i);
      JsonObject *m = r.object(json_array_get_element(list, i), "Marker.", where);
      double start, duration;
      GstClockTime t;
      if (!m || !r.range(json_object_get_member(m, "marked_range"), where, edit, start, duration) ||
          !ns(start, where, t))
        return false;
      edit.markers.push_back(t);
    }
    std::sort(edit.markers.begin(), edit.markers.end());
  }
  out = std::move(edit);
  return true;
}

} // namespace montage
