/* gst-montage: plan <-> JSON with json-glib. See planjson.h. */
#include <gst/montage/planjson.h>

#include <gst/montage/export-private.h>

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <memory>

namespace montage
{

namespace
{

constexpr int kVersion = 2;
constexpr guint64 kMaxExactInt = G_GUINT64_CONSTANT(1) << 53;

template <typename T> struct GObjectDeleter {
  void operator()(T *p) const { g_object_unref(p); }
};
template <typename T> using GObjectPtr = std::unique_ptr<T, GObjectDeleter<T>>;

void add_seconds(JsonBuilder *b, const char *name, GstClockTime t)
{
  json_builder_set_member_name(b, name);
  if (GST_CLOCK_TIME_IS_VALID(t))
    json_builder_add_double_value(b, (double)t / GST_SECOND);
  else
    json_builder_add_null_value(b);
}

void add_string(JsonBuilder *b, const char *name, const std::string &value)
{
  json_builder_set_member_name(b, name);
  json_builder_add_string_value(b, value.c_str());
}

void add_int(JsonBuilder *b, const char *name, gint64 value)
{
  json_builder_set_member_name(b, name);
  json_builder_add_int_value(b, value);
}

/* Field access with typed errors: each returns false and sets `error` naming
 * the field when it is missing or of the wrong type. */
class Reader
{
public:
  explicit Reader(GError **error) : error_(error) {}

  bool fail(const std::string &what)
  {
    g_set_error(error_, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "Not a gst-montage plan: %s",
                what.c_str());
    return false;
  }

  JsonNode *member(JsonObject *o, const char *name, const std::string &where)
  {
    JsonNode *n = json_object_get_member(o, name);
    if (!n)
      fail("\"" + std::string(name) + "\" is missing in " + where + ".");
    return n;
  }

  bool number(JsonObject *o, const char *name, const std::string &where, double &out)
  {
    JsonNode *n = member(o, name, where);
    if (!n)
      return false;
    if (JSON_NODE_HOLDS_VALUE(n)) {
      GType type = json_node_get_value_type(n);
      if (type == G_TYPE_DOUBLE || type == G_TYPE_INT64) {
        out = json_node_get_double(n);
        return true;
      }
    }
    return fail("\"" + std::string(name) + "\" in " + where + " is not a number.");
  }

  bool integer(JsonObject *o, const char *name, const std::string &where, gint64 &out)
  {
    JsonNode *n = member(o, name, where);
    if (!n)
      return false;
    if (JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_INT64) {
      out = json_node_get_int(n);
      return true;
    }
    return fail("\"" + std::string(name) + "\" in " + where + " is not an integer.");
  }

  /* Seconds -> ns, rounded; null -> GST_CLOCK_TIME_NONE when allowed. */
  bool time(JsonObject *o, const char *name, const std::string &where, GstClockTime &out,
            bool nullable = false)
  {
    JsonNode *n = member(o, name, where);
    if (!n)
      return false;
    if (nullable && JSON_NODE_HOLDS_NULL(n)) {
      out = GST_CLOCK_TIME_NONE;
      return true;
    }
    double s;
    if (!number(o, name, where, s))
      return false;
    if (!(s >= 0.0) || s > 1e9)
      return fail("\"" + std::string(name) + "\" in " + where + " is not a time in seconds.");
    out = (GstClockTime)std::llround(s * GST_SECOND);
    return true;
  }

  bool string(JsonObject *o, const char *name, const std::string &where, std::string &out,
              bool nullable = false)
  {
    JsonNode *n = member(o, name, where);
    if (!n)
      return false;
    if (nullable && JSON_NODE_HOLDS_NULL(n)) {
      out.clear();
      return true;
    }
    if (JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING) {
      out = json_node_get_string(n);
      return true;
    }
    return fail("\"" + std::string(name) + "\" in " + where + " is not a string.");
  }

  bool boolean(JsonObject *o, const char *name, const std::string &where, bool &out)
  {
    JsonNode *n = member(o, name, where);
    if (!n)
      return false;
    if (JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_BOOLEAN) {
      out = json_node_get_boolean(n);
      return true;
    }
    return fail("\"" + std::string(name) + "\" in " + where + " is not true or false.");
  }

  JsonObject *object(JsonObject *o, const char *name, const std::string &where)
  {
    JsonNode *n = member(o, name, where);
    if (!n)
      return nullptr;
    if (!JSON_NODE_HOLDS_OBJECT(n)) {
      fail("\"" + std::string(name) + "\" in " + where + " is not an object.");
      return nullptr;
    }
    return json_node_get_object(n);
  }

  JsonArray *array(JsonObject *o, const char *name, const std::string &where)
  {
    JsonNode *n = member(o, name, where);
    if (!n)
      return nullptr;
    if (!JSON_NODE_HOLDS_ARRAY(n)) {
      fail("\"" + std::string(name) + "\" in " + where + " is not an array.");
      return nullptr;
    }
    return json_node_get_array(n);
  }

private:
  GError **error_;
};

struct TermField {
  const char *name;
  double ScoreBreakdown::*score;
  double SelectionWeights::*weight;
};
const TermField kTerms[] = {
    {"closeness", &ScoreBreakdown::closeness, &SelectionWeights::closeness},
    {"freshness", &ScoreBreakdown::freshness, &SelectionWeights::freshness},
    {"reuse", &ScoreBreakdown::reuse, &SelectionWeights::reuse},
    {"jump_cut", &ScoreBreakdown::jump_cut, &SelectionWeights::jump_cut},
    {"variety", &ScoreBreakdown::variety, &SelectionWeights::variety},
    {"match_cut", &ScoreBreakdown::match_cut, &SelectionWeights::match_cut},
    {"inpoint", &ScoreBreakdown::inpoint, &SelectionWeights::inpoint},
    {"fit", &ScoreBreakdown::fit, &SelectionWeights::fit},
    {"jitter", &ScoreBreakdown::jitter, &SelectionWeights::jitter},
};

bool parse_decision(Reader &r, JsonObject *o, const std::string &where, CutDecision &d)
{
  JsonObject *score = r.object(o, "score", where);
  if (!score)
    return false;
  for (const TermField &t : kTerms)
    if (!r.number(score, t.name, where + " score", d.score.*t.score))
      return false;
  gint64 considered, usable, beats, wanted;
  if (!r.number(score, "total", where + " score", d.score.total) ||
      !r.number(o, "runner_up", where, d.runner_up) ||
      !r.integer(o, "considered", where, considered) || !r.integer(o, "usable", where, usable) ||
      !r.integer(o, "beats", where, beats) || !r.integer(o, "wanted_beats", where, wanted) ||
      !r.boolean(o, "shortened", where, d.shortened) ||
      !r.time(o, "transition_duration", where, d.transition_duration))
    return false;
  if (considered < 0 || usable < 0 || beats < 0 || wanted < 0)
    return r.fail("a count in " + where + " is negative.");
  d.considered = (std::size_t)considered;
  d.usable = (std::size_t)usable;
  d.beats = (guint)beats;
  d.wanted_beats = (guint)wanted;
  JsonArray *target = r.array(o, "target", where);
  if (!target)
    return false;
  if (json_array_get_length(target) != kFeatureAxes)
    return r.fail("\"target\" in " + where + " does not hold 5 numbers.");
  for (guint i = 0; i < kFeatureAxes; i++) {
    JsonNode *n = json_array_get_element(target, i);
    if (!JSON_NODE_HOLDS_VALUE(n) || (json_node_get_value_type(n) != G_TYPE_DOUBLE &&
                                      json_node_get_value_type(n) != G_TYPE_INT64))
      return r.fail("\"target\" in " + where + " does not hold 5 numbers.");
    d.target[i] = json_node_get_double(n);
  }
  JsonObject *music = r.object(o, "music", where);
  std::string level, transition;
  if (!music || !r.number(music, "energy", where + " music", d.music.energy) ||
      !r.string(music, "level", where + " music", level) ||
      !r.boolean(music, "downbeat", where + " music", d.music.downbeat) ||
      !r.boolean(music, "phrase_start", where + " music", d.music.phrase_start) ||
      !r.boolean(music, "section_start", where + " music", d.music.section_start) ||
      !r.string(o, "transition", where, transition))
    return false;
  if (level == "low")
    d.music.level = Section::Level::kLow;
  else if (level == "medium")
    d.music.level = Section::Level::kMedium;
  else if (level == "high")
    d.music.level = Section::Level::kHigh;
  else
    return r.fail("\"level\" in " + where + " is not low, medium or high.");
  if (transition == "cut")
    d.transition = Transition::kCut;
  else if (transition == "dissolve")
    d.transition = Transition::kDissolve;
  else if (transition == "fade")
    d.transition = Transition::kFade;
  else
    return r.fail("\"transition\" in " + where + " is not cut, dissolve or fade.");
  JsonNode *reuses = r.member(o, "reuses_segment", where);
  if (!reuses)
    return false;
  if (JSON_NODE_HOLDS_NULL(reuses)) {
    d.reuses_segment = SIZE_MAX;
  } else {
    gint64 v;
    if (!r.integer(o, "reuses_segment", where, v) || v < 0)
      return r.fail("\"reuses_segment\" in " + where + " is not a segment index.");
    d.reuses_segment = (std::size_t)v;
  }
  return true;
}

bool parse_segment(Reader &r, JsonNode *node, std::size_t i, PlanJsonSegment &out)
{
  const std::string where = "segments[" + std::to_string(i) + "]";
  if (!JSON_NODE_HOLDS_OBJECT(node))
    return r.fail(where + " is not an object.");
  JsonObject *o = json_node_get_object(node);
  Segment &s = out.segment;
  gint64 clip, shot;
  if (!r.time(o, "start", where, s.start) || !r.time(o, "duration", where, s.duration) ||
      !r.integer(o, "clip", where, clip) || !r.string(o, "source", where, out.source, true) ||
      !r.string(o, "uri", where, out.uri, true) || !r.time(o, "inpoint", where, s.inpoint) ||
      !r.integer(o, "shot", where, shot) || !r.time(o, "beat_time", where, s.beat_time) ||
      !r.boolean(o, "reused", where, s.reused))
    return false;
  if (clip < 0 || shot < 0)
    return r.fail("\"clip\" or \"shot\" in " + where + " is negative.");
  s.clip = (std::size_t)clip;
  s.shot = (std::size_t)shot;
  JsonNode *beat = r.member(o, "beat", where);
  if (!beat)
    return false;
  if (JSON_NODE_HOLDS_NULL(beat)) {
    s.beat = SIZE_MAX;
  } else {
    gint64 b;
    if (!r.integer(o, "beat", where, b))
      return false;
    if (b < 0)
      return r.fail("\"beat\" in " + where + " is negative.");
    s.beat = (std::size_t)b;
  }
  if (json_object_has_member(o, "decision")) {
    JsonObject *d = r.object(o, "decision", where);
    if (!d || !parse_decision(r, d, where + " decision", out.decision))
      return false;
    out.has_decision = true;
  }
  return true;
}

bool parse_fps(const std::string &text, gint &n, gint &d)
{
  char *end = nullptr;
  gint64 num = g_ascii_strtoll(text.c_str(), &end, 10);
  if (!end || *end != '/')
    return false;
  const char *rest = end + 1;
  gint64 den = g_ascii_strtoll(rest, &end, 10);
  if (!end || end == rest || *end != '\0')
    return false;
  if (num <= 0 || den <= 0 || num > G_MAXINT || den > G_MAXINT)
    return false;
  n = (gint)num;
  d = (gint)den;
  return true;
}

} // namespace

namespace
{

const char *transition_name(Transition t)
{
  switch (t) {
  case Transition::kDissolve:
    return "dissolve";
  case Transition::kFade:
    return "fade";
  default:
    return "cut";
  }
}

const char *severity_name(NoteSeverity severity)
{
  return severity == NoteSeverity::kWarning ? "warning" : "info";
}

const char *level_name(Section::Level l)
{
  switch (l) {
  case Section::Level::kLow:
    return "low";
  case Section::Level::kHigh:
    return "high";
  default:
    return "medium";
  }
}

void add_double(JsonBuilder *b, const char *name, double value)
{
  json_builder_set_member_name(b, name);
  json_builder_add_double_value(b, value);
}

void add_bool(JsonBuilder *b, const char *name, bool value)
{
  json_builder_set_member_name(b, name);
  json_builder_add_boolean_value(b, value);
}

void add_decision(JsonBuilder *b, const CutDecision &d)
{
  json_builder_set_member_name(b, "decision");
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "score");
  json_builder_begin_object(b);
  for (const TermField &t : kTerms)
    add_double(b, t.name, d.score.*t.score);
  add_double(b, "total", d.score.total);
  json_builder_end_object(b);
  add_double(b, "runner_up", d.runner_up);
  add_int(b, "considered", (gint64)d.considered);
  add_int(b, "usable", (gint64)d.usable);
  json_builder_set_member_name(b, "target");
  json_builder_begin_array(b);
  for (double v : d.target)
    json_builder_add_double_value(b, v);
  json_builder_end_array(b);
  json_builder_set_member_name(b, "music");
  json_builder_begin_object(b);
  add_double(b, "energy", d.music.energy);
  add_string(b, "level", level_name(d.music.level));
  add_bool(b, "downbeat", d.music.downbeat);
  add_bool(b, "phrase_start", d.music.phrase_start);
  add_bool(b, "section_start", d.music.section_start);
  json_builder_end_object(b);
  add_int(b, "beats", d.beats);
  add_int(b, "wanted_beats", d.wanted_beats);
  add_bool(b, "shortened", d.shortened);
  json_builder_set_member_name(b, "reuses_segment");
  if (d.reuses_segment == SIZE_MAX)
    json_builder_add_null_value(b);
  else
    json_builder_add_int_value(b, (gint64)d.reuses_segment);
  add_string(b, "transition", transition_name(d.transition));
  add_seconds(b, "transition_duration", d.transition_duration);
  json_builder_end_object(b);
}

std::string to_json(const Plan &plan, const PlanResult *result, const SongAnalysis &song,
                    const std::vector<ClipAnalysis> &clips,
                    const std::vector<std::string> &render_notes = {})
{
  GObjectPtr<JsonBuilder> owner(json_builder_new());
  JsonBuilder *b = owner.get();
  json_builder_begin_object(b);
  add_string(b, "format", "gst-montage-plan");
  add_int(b, "version", kVersion);

  json_builder_set_member_name(b, "song");
  json_builder_begin_object(b);
  add_string(b, "uri", song.uri);
  json_builder_set_member_name(b, "bpm");
  json_builder_add_double_value(b, song.bpm);
  add_seconds(b, "duration_s", song.duration);
  json_builder_end_object(b);

  add_seconds(b, "duration_s", plan.duration);
  add_string(b, "fps", std::to_string(plan.fps_n) + "/" + std::to_string(plan.fps_d));
  json_builder_set_member_name(b, "seed");
  if (plan.seed < kMaxExactInt)
    json_builder_add_int_value(b, (gint64)plan.seed);
  else
    json_builder_add_string_value(b, std::to_string(plan.seed).c_str());

  /* "notes" stays an array of sentences, as version 2 was first written;
   * the severity and kind of each go in "note_details", beside it, which
   * readers that do not know it skip. */
  json_builder_set_member_name(b, "notes");
  json_builder_begin_array(b);
  for (const PlanNote &note : plan.notes) {
    /* A note quotes a clip's path, whose bytes need not be UTF-8. */
    gchar *valid = g_utf8_make_valid(note.text.c_str(), (gssize)note.text.size());
    json_builder_add_string_value(b, valid);
    g_free(valid);
  }
  json_builder_end_array(b);
  json_builder_set_member_name(b, "note_details");
  json_builder_begin_array(b);
  for (const PlanNote &note : plan.notes) {
    json_builder_begin_object(b);
    add_string(b, "severity", severity_name(note.severity));
    add_string(b, "kind", note.kind);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  if (!render_notes.empty()) {
    json_builder_set_member_name(b, "render_notes");
    json_builder_begin_array(b);
    for (const std::string &note : render_notes) {
      /* A render note quotes the song's URI or a clip's path. */
      gchar *valid = g_utf8_make_valid(note.c_str(), (gssize)note.size());
      json_builder_add_string_value(b, valid);
      g_free(valid);
    }
    json_builder_end_array(b);
  }

  json_builder_set_member_name(b, "style");
  if (result)
    json_builder_add_string_value(b, result->style.c_str());
  else
    json_builder_add_null_value(b);
  add_seconds(b, "audio_fade_out_s", result ? result->fade_out : 0);
  if (result) {
    json_builder_set_member_name(b, "weights");
    json_builder_begin_object(b);
    for (const TermField &t : kTerms)
      add_double(b, t.name, result->weights.*t.weight);
    json_builder_end_object(b);
  }

  json_builder_set_member_name(b, "segments");
  json_builder_begin_array(b);
  for (std::size_t i = 0; i < plan.segments.size(); i++) {
    const Segment &s = plan.segments[i];
    json_builder_begin_object(b);
    add_seconds(b, "start", s.start);
    add_seconds(b, "duration", s.duration);
    add_int(b, "clip", (gint64)s.clip);
    const ClipAnalysis *clip = s.clip < clips.size() ? &clips[s.clip] : nullptr;
    json_builder_set_member_name(b, "source");
    if (clip) {
      /* JSON is UTF-8: a Latin-1 name written raw made the file unreadable. */
      json_builder_add_string_value(b, export_detail::display_text(clip->path).c_str());
    } else
      json_builder_add_null_value(b);
    json_builder_set_member_name(b, "uri");
    if (clip)
      json_builder_add_string_value(b, clip->uri.c_str());
    else
      json_builder_add_null_value(b);
    add_seconds(b, "inpoint", s.inpoint);
    add_int(b, "shot", (gint64)s.shot);
    json_builder_set_member_name(b, "beat");
    if (s.beat == SIZE_MAX)
      json_builder_add_null_value(b);
    else
      json_builder_add_int_value(b, (gint64)s.beat);
    add_seconds(b, "beat_time", s.beat_time);
    json_builder_set_member_name(b, "reused");
    json_builder_add_boolean_value(b, s.reused);
    if (result && i < result->decisions.size())
      add_decision(b, result->decisions[i]);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  json_builder_end_object(b);

  JsonNode *root = json_builder_get_root(b);
  GObjectPtr<JsonGenerator> gen(json_generator_new());
  json_generator_set_pretty(gen.get(), TRUE);
  json_generator_set_indent(gen.get(), 2);
  json_generator_set_root(gen.get(), root);
  gchar *text = json_generator_to_data(gen.get(), nullptr);
  std::string out = text ? text : "";
  out += "\n";
  g_free(text);
  json_node_unref(root);
  return out;
}

} // namespace

std::string plan_to_json(const Plan &plan, const SongAnalysis &song,
                         const std::vector<ClipAnalysis> &clips)
{
  return to_json(plan, nullptr, song, clips);
}

std::string plan_to_json(const PlanResult &result, const SongAnalysis &song,
                         const std::vector<ClipAnalysis> &clips)
{
  return to_json(result.plan, &result, song, clips);
}

namespace
{

bool write_json(const Plan &plan, const PlanResult *result, const SongAnalysis &song,
                const std::vector<ClipAnalysis> &clips, const std::string &path, GError **error,
                const std::vector<std::string> &render_notes = {})
{
  for (std::size_t i = 0; i < plan.segments.size(); i++) {
    if (plan.segments[i].clip >= clips.size()) {
      g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                  "Segment %zu of the plan uses clip %zu, but only %zu clips were given: "
                  "pass the clip list the plan was made from.",
                  i, plan.segments[i].clip, clips.size());
      return false;
    }
  }
  const std::string text = to_json(plan, result, song, clips, render_notes);
  return g_file_set_contents(path.c_str(), text.c_str(), (gssize)text.size(), error);
}

} // namespace

bool write_plan_json(const Plan &plan, const SongAnalysis &song,
                     const std::vector<ClipAnalysis> &clips, const std::string &path,
                     GError **error)
{
  return write_json(plan, nullptr, song, clips, path, error);
}

bool write_plan_json(const PlanResult &result, const SongAnalysis &song,
                     const std::vector<ClipAnalysis> &clips, const std::string &path,
                     GError **error)
{
  return write_json(result.plan, &result, song, clips, path, error);
}

bool write_plan_json(const PlanResult &result, const SongAnalysis &song,
                     const std::vector<ClipAnalysis> &clips,
                     const std::vector<std::string> &render_notes, const std::string &path,
                     GError **error)
{
  return write_json(result.plan, &result, song, clips, path, error, render_notes);
}

bool parse_plan_json(const std::string &text, PlanJson &out, GError **error)
{
  GObjectPtr<JsonParser> parser(json_parser_new());
  if (!json_parser_load_from_data(parser.get(), text.c_str(), (gssize)text.size(), error))
    return false;
  Reader r(error);
  JsonNode *root_node = json_parser_get_root(parser.get());
  if (!root_node || !JSON_NODE_HOLDS_OBJECT(root_node))
    return r.fail("the document is not a JSON object.");
  JsonObject *root = json_node_get_object(root_node);
  const std::string top = "the plan";

  std::string format;
  if (!r.string(root, "format", top, format))
    return false;
  if (format != "gst-montage-plan")
    return r.fail("\"format\" is \"" + format + "\".");
  gint64 version;
  if (!r.integer(root, "version", top, version))
    return false;
  if (version < 1 || version > kVersion)
    return r.fail("version " + std::to_string(version) + " is not known to this reader (" +
                  std::to_string(kVersion) + "): update gst-montage.");
  out.version = (int)version;

  JsonObject *song = r.object(root, "song", top);
  if (!song || !r.string(song, "uri", "song", out.song_uri) ||
      !r.number(song, "bpm", "song", out.song_bpm) ||
      !r.time(song, "duration_s", "song", out.song_duration, true))
    return false;

  std::string fps;
  if (!r.time(root, "duration_s", top, out.duration) || !r.string(root, "fps", top, fps))
    return false;
  if (!parse_fps(fps, out.fps_n, out.fps_d))
    return r.fail("\"fps\" is \"" + fps + "\", not a rate like \"30/1\".");

  JsonNode *seed = r.member(root, "seed", top);
  if (!seed)
    return false;
  if (JSON_NODE_HOLDS_VALUE(seed) && json_node_get_value_type(seed) == G_TYPE_INT64 &&
      json_node_get_int(seed) >= 0) {
    out.seed = (guint64)json_node_get_int(seed);
  } else if (JSON_NODE_HOLDS_VALUE(seed) && json_node_get_value_type(seed) == G_TYPE_STRING) {
    const char *s = json_node_get_string(seed);
    char *end = nullptr;
    out.seed = g_ascii_strtoull(s, &end, 10);
    if (!end || end == s || *end != '\0')
      return r.fail("\"seed\" is not a decimal number.");
  } else {
    return r.fail("\"seed\" is not a non-negative integer.");
  }

  JsonArray *notes = r.array(root, "notes", top);
  if (!notes)
    return false;
  out.notes.clear();
  for (guint i = 0; i < json_array_get_length(notes); i++) {
    JsonNode *n = json_array_get_element(notes, i);
    if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
      return r.fail("note " + std::to_string(i) + " is not a string.");
    out.notes.push_back(PlanNote{NoteSeverity::kInfo, "", json_node_get_string(n)});
  }
  if (json_object_has_member(root, "note_details")) {
    JsonArray *details = r.array(root, "note_details", top);
    if (!details)
      return false;
    if (json_array_get_length(details) != out.notes.size())
      return r.fail("\"note_details\" holds " + std::to_string(json_array_get_length(details)) +
                    " entries for " + std::to_string(out.notes.size()) + " notes.");
    for (guint i = 0; i < json_array_get_length(details); i++) {
      const std::string where = "note detail " + std::to_string(i);
      JsonNode *n = json_array_get_element(details, i);
      if (!JSON_NODE_HOLDS_OBJECT(n))
        return r.fail(where + " is not an object.");
      JsonObject *o = json_node_get_object(n);
      std::string severity;
      if (!r.string(o, "severity", where, severity) ||
          !r.string(o, "kind", where, out.notes[i].kind))
        return false;
      if (severity == "info")
        out.notes[i].severity = NoteSeverity::kInfo;
      else if (severity == "warning")
        out.notes[i].severity = NoteSeverity::kWarning;
      else
        return r.fail("\"severity\" in " + where + " is not info or warning.");
    }
  }

  out.render_notes.clear();
  if (json_object_has_member(root, "render_notes")) {
    JsonArray *render_notes = r.array(root, "render_notes", top);
    if (!render_notes)
      return false;
    for (guint i = 0; i < json_array_get_length(render_notes); i++) {
      JsonNode *n = json_array_get_element(render_notes, i);
      if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
        return r.fail("render note " + std::to_string(i) + " is not a string.");
      out.render_notes.emplace_back(json_node_get_string(n));
    }
  }

  out.style.clear();
  out.fade_out = 0;
  out.has_weights = false;
  if (json_object_has_member(root, "style")) {
    if (!r.string(root, "style", top, out.style, true))
      return false;
  }
  if (json_object_has_member(root, "audio_fade_out_s")) {
    if (!r.time(root, "audio_fade_out_s", top, out.fade_out))
      return false;
  }
  if (json_object_has_member(root, "weights")) {
    JsonObject *w = r.object(root, "weights", top);
    if (!w)
      return false;
    for (const TermField &t : kTerms)
      if (!r.number(w, t.name, "weights", out.weights.*t.weight))
        return false;
    out.has_weights = true;
  }

  JsonArray *segments = r.array(root, "segments", top);
  if (!segments)
    return false;
  out.segments.clear();
  for (guint i = 0; i < json_array_get_length(segments); i++) {
    PlanJsonSegment seg;
    if (!parse_segment(r, json_array_get_element(segments, i), i, seg))
      return false;
    out.segments.push_back(std::move(seg));
  }
  return true;
}

bool read_plan_json(const std::string &path, PlanJson &out, GError **error)
{
  gchar *data = nullptr;
  gsize length = 0;
  if (!g_file_get_contents(path.c_str(), &data, &length, error))
    return false;
  std::string text(data, length);
  g_free(data);
  return parse_plan_json(text, out, error);
}

Plan PlanJson::to_plan() const
{
  Plan plan;
  plan.duration = duration;
  plan.fps_n = fps_n;
  plan.fps_d = fps_d;
  plan.seed = seed;
  plan.notes = notes;
  for (const PlanJsonSegment &s : segments)
    plan.segments.push_back(s.segment);
  return plan;
}

PlanResult PlanJson::to_result() const
{
  PlanResult result;
  result.plan = to_plan();
  result.style = style;
  result.fade_out = fade_out;
  if (has_weights)
    result.weights = weights;
  for (const PlanJsonSegment &s : segments) {
    result.decisions.push_back(s.has_decision ? s.decision : CutDecision{});
    if (s.segment.reused)
      result.reused++;
  }
  return result;
}

} // namespace montage
