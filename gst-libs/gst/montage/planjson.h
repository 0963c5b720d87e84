/* gst-montage: a plan as JSON, for people, tools and tests.
 *
 * The file says what the montage is made of, segment by segment, in seconds,
 * with each segment's source file; it is written with json-glib and read back
 * with read_plan_json(). docs/planner.md shows an example.
 *
 *   {
 *     "format": "gst-montage-plan", "version": 1,
 *     "song": { "uri": "file:///...", "bpm": 120.0, "duration_s": 31.5 },
 *     "duration_s": 30.0,           edit length, seconds
 *     "fps": "30/1",                output frame rate, fps_n/fps_d
 *     "seed": 42,                   planner seed (a decimal string above 2^53)
 *     "notes": [ "..." ],           the planner's sentences (Plan::notes, PlanNote::text)
 *     "segments": [ {
 *       "start": 0.0, "duration": 1.0,  output time and length, seconds
 *       "clip": 0,                      index into the planner's clip list
 *       "source": "a.mp4", "uri": "file:///.../a.mp4",
 *                                       the clip's path as text (UTF-8: bytes
 *                                       of a name that are not UTF-8 show as
 *                                       U+FFFD, g_filename_display_name());
 *                                       the URI escapes every byte and finds
 *                                       the file
 *       "inpoint": 2.002,               clip stream time of the first frame, seconds
 *       "shot": 1,                      index into the clip's shots
 *       "beat": 0,                      beat index, null when not on a beat (song start)
 *       "beat_time": 0.01,              that beat's song time, seconds
 *       "reused": false,
 *       "decision": { ... } } ]       only when written from a PlanResult (below)
 *   }
 *
 * Version 2 adds (written from a PlanResult; the Plan-only writer gives
 * "style": null, "audio_fade_out_s": 0 and no "weights" or "decision"):
 *     "style": "balanced",            Style::name
 *     "audio_fade_out_s": 2.0,        PlanResult::fade_out, seconds (0: none)
 *     "weights": { "closeness": 1.0, "freshness": ..., "reuse", "jump_cut",
 *                  "variety", "match_cut", "inpoint", "fit", "jitter" },
 *   and per segment "decision" (CutDecision):
 *     "score": { the nine terms above, each 0..1, and "total" },
 *     "runner_up": 3.1, "considered": 24, "usable": 12,
 *     "target": [ motion, sharpness, brightness, contrast, colourfulness ],
 *     "music": { "energy": 0.8, "level": "low"|"medium"|"high",
 *                "downbeat": true, "phrase_start": false, "section_start": false },
 *     "beats": 2, "wanted_beats": 2, "shortened": false,
 *     "reuses_segment": null or the index of the earlier segment shown again,
 *     "transition": "cut"|"dissolve"|"fade", "transition_duration": 0.0 (seconds)
 *
 * Version 2 files from this writer also hold, beside "notes" (a reader of
 * version 2 that does not know it skips it, so the version stays 2):
 *     "note_details": [ { "severity": "info"|"warning",
 *                         "kind": "clip-unused" } ],
 *                                   one per note, in the same order: PlanNote's
 *                                   severity and kind (planner.h note_kind)
 * A file without it (written before it was added) reads back with every
 * note's kind "" and severity info: unknown, not known to be harmless.
 *
 * A file written again after the render (write_plan_json() with render
 * notes) also holds, beside "notes" (version still 2, as above):
 *     "render_notes": [ "..." ],    RenderResult::notes (render.h): each way
 *                                   the file rendered differs from this
 *                                   plan, such as "the dissolve at 4.000 s
 *                                   is a cut: its shots have no footage to
 *                                   spare around it ..."; absent where the
 *                                   render changed nothing or was not run
 * The segments' "transition" is what the PlanResult given says:
 * gst-montage-1.0 gives it as rendered (each segment of
 * RenderResult::dissolves_cut made a cut of 0 s), so the file says what the
 * montage shows, and the sentence says why.
 *
 * Times are written as seconds (ns / 1e9, doubles written so they read back
 * exactly); read_plan_json() rounds them back to the nearest nanosecond, so a
 * written plan reads back with the same GstClockTime values. Unknown times
 * (GST_CLOCK_TIME_NONE) are written as null.
 */
#pragma once

#include <gst/montage/planner.h>
#include <gst/montage/types.h>

#include <string>
#include <vector>

namespace montage
{

/* The plan as JSON text (pretty-printed, two-space indent, UTF-8).
 * In:  plan from plan_montage(); song and clips as given to the planner (the
 *      clip list supplies each segment's "source" path and "uri"; a segment
 *      whose clip index is out of range gets null for both).
 * Out: the JSON document described above. Never fails. */
std::string plan_to_json(const Plan &plan, const SongAnalysis &song,
                         const std::vector<ClipAnalysis> &clips);

/* The same with the plan's explanation (version 2 "style", "weights",
 * "audio_fade_out_s" and each segment's "decision"). Never fails. */
std::string plan_to_json(const PlanResult &result, const SongAnalysis &song,
                         const std::vector<ClipAnalysis> &clips);

/* Writes plan_to_json() to `path`, atomically (g_file_set_contents: a
 * temporary file renamed over `path`, so readers never see half a plan).
 * Returns TRUE on success. On failure returns FALSE and sets `error`
 * (may be NULL): G_FILE_ERROR_* from writing, or G_IO_ERROR_INVALID_ARGUMENT
 * when a segment's clip index is outside `clips`. */
bool write_plan_json(const Plan &plan, const SongAnalysis &song,
                     const std::vector<ClipAnalysis> &clips, const std::string &path,
                     GError **error);

/* write_plan_json() of a PlanResult: the file holds the explanation too.
 * Same results and errors. */
bool write_plan_json(const PlanResult &result, const SongAnalysis &song,
                     const std::vector<ClipAnalysis> &clips, const std::string &path,
                     GError **error);

/* The same, written after the render, with `render_notes`: the render's
 * RenderResult::notes (render.h), one sentence each (made valid UTF-8),
 * written as "render_notes" where not empty (an empty list writes the same
 * file as the call above). The plan written before the render said a
 * dissolve where the montage has a cut, with nothing to tell them apart.
 * Same results and errors. */
bool write_plan_json(const PlanResult &result, const SongAnalysis &song,
                     const std::vector<ClipAnalysis> &clips,
                     const std::vector<std::string> &render_notes, const std::string &path,
                     GError **error);

/* One segment as read back: the planner's fields plus what the file says of
 * its clip. */
struct PlanJsonSegment {
  Segment segment;           /* times in ns; beat is SIZE_MAX where the file has null */
  std::string source;        /* the clip's path ("" where null) */
  std::string uri;           /* the clip's URI ("" where null) */
  bool has_decision = false; /* the file had a "decision" for this segment */
  CutDecision decision;
};

/* What a plan file holds. */
struct PlanJson {
  int version = 0;
  std::string song_uri;
  double song_bpm = 0.0;
  GstClockTime song_duration = GST_CLOCK_TIME_NONE; /* ns */
  GstClockTime duration = 0;                        /* edit length, ns */
  gint fps_n = 0;
  gint fps_d = 1;
  guint64 seed = 0;
  std::vector<PlanNote> notes; /* kind "" and info where the file has no "note_details" */
  std::vector<PlanJsonSegment> segments;
  std::string style;         /* "" where null or absent (version 1) */
  GstClockTime fade_out = 0; /* audio fade-out, ns */
  bool has_weights = false;
  SelectionWeights weights;
  std::vector<std::string> render_notes; /* empty where the file has none */

  /* The Plan these fields describe (segments, duration, rate, seed, notes). */
  Plan to_plan() const;
  /* The PlanResult these fields describe (decisions of segments without one
   * are default CutDecisions). */
  PlanResult to_result() const;
};

/* Parses JSON text produced by plan_to_json() into `out`.
 * Returns TRUE on success; on failure returns FALSE, sets `error` (may be
 * NULL) and leaves `out` unspecified: JSON_PARSER_ERROR_* for text that is
 * not JSON, G_IO_ERROR_INVALID_DATA naming the first missing or mistyped
 * field (a "note_details" of another length than "notes", or a
 * "render_notes" that is not an array of strings, included), or a
 * version newer than this reader knows (2). Reads versions 1 and 2, with or
 * without "note_details". */
bool parse_plan_json(const std::string &text, PlanJson &out, GError **error);

/* Reads and parses a plan file written by write_plan_json().
 * Returns TRUE on success; on failure FALSE with `error` set as for
 * parse_plan_json(), or G_FILE_ERROR_* when the file cannot be read. */
bool read_plan_json(const std::string &path, PlanJson &out, GError **error);

} // namespace montage
