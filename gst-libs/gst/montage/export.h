/* gst-montage: a plan as an edit that editors open.
 *
 * export_plan() writes the plan in the format its file name's extension names:
 *
 *   .xges    GES project (gst-editing-services 1.22): the timeline render.h
 *            builds (one video layer of the segments, one audio layer with the
 *            song), beats as a GESMarkerList under the timeline's "markers"
 *            meta, which is where Pitivi keeps its timeline markers. Opens in
 *            Pitivi; `ges-launch-1.0 --load FILE.xges` plays or re-renders it.
 *   .edl     CMX 3600 edit decision list: one cut (C) video event per
 *            segment, the song as an audio event, `* FROM CLIP NAME:` and
 *            `* SOURCE FILE:` comments under every event so editors relink the
 *            media, beats as `* LOC:` comments. Record timecodes at the
 *            plan's rate, source timecodes at each clip's own rate (stated
 *            in a `* SOURCE FPS:` comment); drop-frame (`FCM: DROP FRAME`,
 *            `;` before the frames field) for 30000/1001 and 60000/1001
 *            unless options.drop_frame is false.
 *   .otio    OpenTimelineIO JSON (written with json-glib): a `Timeline.1`
 *            whose `Stack.1` holds a video and an audio `Track.1` of `Clip.1`
 *            (and `Gap.1` where the plan has holes), each clip an
 *            `ExternalReference.1` to an absolute file:// URI, all times
 *            `RationalTime.1`/`TimeRange.1` at the plan's rate, beats as
 *            `Marker.2` on the stack.
 *   .fcpxml  Final Cut Pro XML 1.9 (Final Cut Pro 10.5+, DaVinci Resolve 17+):
 *            resources with one format per frame rate and one asset per file
 *            (absolute file URLs), a project whose sequence spine holds one
 *            asset-clip per segment (video only), the song as an audio
 *            asset-clip connected below the first one (so it moves with the
 *            edit), beats as markers on the song; every time an exact
 *            rational number of seconds (such as 1001/30000s).
 *
 * Times in the files. Record (edit) times are the plan's, which lie on its
 * frame grid. Source in-points are stated as each format can: .xges keeps the
 * plan's nanoseconds (GES in-points are clip stream time), but writes some
 * in-points of files stamped in whole ms (WebM, Matroska, FLV) up to a
 * millisecond later, so that GES starts the segment on the planned frame,
 * and reads them back as planned (docs/export.md). The others state
 * media time (clip stream time minus the clip's first_frame: editors number a
 * file's frames from its first one). .edl and .fcpxml count it in each clip's
 * own frames at its own rate: the source frame nearest the planned in-point,
 * lasting (.edl) the source frames nearest the record duration
 * (docs/export.md). .otio states one rate for everything, so an in-point
 * there is moved UP to the plan's frame grid: the first edit-rate frame at or
 * after the planned one. Moving up, never down, keeps the frame before the
 * planned in-point (often the last frame of the previous shot) out of the
 * edit; where the source rate is at most the edit rate that first frame is
 * the planned source frame itself. A clip of unknown rate (fps 0/1) is
 * written that way in all three. Beat markers sit on the output frame
 * nearest the beat (nanosecond-exact in .xges).
 *
 * Limitation: source times count from the file's first frame as 0
 * (00:00:00:00, start="0s"). A file's own start timecode (a QuickTime/MP4
 * `tmcd` track, as professional cameras write; GStreamer 1.22's qtdemux
 * does not read it, so the analysis never knows it) is not added: for such
 * a file an editor that conforms an .edl by source timecode, or takes an
 * .fcpxml asset's start from the track (Final Cut Pro), looks before the
 * file's first frame (00:00:03:20 of a file whose frames are
 * 10:00:00:00-10:00:08:01). Relink those clips by source offset rather than
 * timecode, or remux them without the timecode track. Nothing warns yet.
 *
 * Record timecodes start at options.start_hour:00:00:00 (01:00:00:00 by
 * default, where editors' timelines start).
 *
 * Readers (read_export() and the parse_* functions) turn each format back
 * into an ExportedEdit, a list comparable with the plan; tests use them to
 * check that what was written means what was planned.
 *
 * All functions are safe to call from any one thread at a time; none aborts.
 * The .xges writer runs GES asset discovery synchronously (and has GES play
 * each clip of an MPEG program stream), the .otio and
 * .fcpxml writers probe each clip file for its length (GstDiscoverer), and the .xges
 * reader iterates the calling thread's default GMainContext until GES has
 * loaded the project (at most 120 s): call them from the application's
 * thread, never a streaming thread, and not while another thread runs a main
 * loop on that context.
 */
#pragma once

#include <gst/montage/types.h>

#include <string>
#include <vector>

namespace montage
{

/* The formats export_plan() writes. */
enum class ExportFormat { kUnknown, kXges, kEdl, kOtio, kFcpxml };

/* The format a file name asks for, from its extension, case-insensitively:
 * ".xges", ".edl", ".otio", ".fcpxml"; kUnknown for anything else. */
ExportFormat export_format_for_path(const std::string &path);

/* The extension (with the dot) of a format; "" for kUnknown. */
const char *export_format_extension(ExportFormat format);

struct ExportOptions {
  /* Name of the edit (EDL TITLE:, OTIO timeline name, FCPXML event and
   * project name). Empty: the file name without its extension. */
  std::string title;
  /* Output picture size in pixels (even, >= 16): the .xges video track's
   * restriction caps and the .fcpxml sequence format. */
  gint width = 1280;
  gint height = 720;
  /* Drop-frame timecode for 30000/1001 and 60000/1001 plans (.edl timecodes,
   * .fcpxml tcFormat and tcStart). Other rates are always non-drop. */
  bool drop_frame = true;
  /* Hour (0..23) of the edit's first frame in record timecode. An .edl
   * must end before 24:00:00:00 (23 leaves room for an edit of under an
   * hour); the other formats state times past it. */
  guint start_hour = 1;
  /* Write the song's beats inside the edit as markers. */
  bool beat_markers = true;
};

/* Writes `plan` (segments refer to `clips` by index; the song is song.uri) to
 * `path` in the format its extension names, atomically: a temporary file in
 * the same directory renamed over `path` once complete, so a failure never
 * leaves half a file.
 * In:  plan from plan_montage() (fps_n/fps_d > 0, segments on its frame grid);
 *      clips and song as given to the planner, with absolute file:// URIs
 *      (clip.uri, song.uri); for .xges, every clip and the song must exist
 *      and be loadable by GES.
 * Out: TRUE when the file is in place.
 * Fails (FALSE, `error` set, may be NULL): G_IO_ERROR_NOT_SUPPORTED for an
 * unknown extension; G_IO_ERROR_INVALID_ARGUMENT for a plan this module cannot
 * state (no segments, a rate <= 0, a segment's clip index outside `clips`,
 * a segment off the frame grid, overlapping the one before or starting
 * before its clip's first_frame, a URI that is not an absolute file:// URI,
 * for .xges a clip past the length GES reaches in its file or a clip of an
 * MPEG program stream of which GES decodes no frame inside the clip's span
 * (its seek lands late; an EOS without an error counts as no frame too; the
 * message names the clip and what to do; docs/export.md),
 * an EDL of more than 999
 * events, an EDL at a rate export_rate_ok() refuses, an EDL that would
 * reach 24:00:00:00 in record timecode (start_hour plus the edit's length;
 * its timecodes would wrap to 00:00:00:00), a start_hour past 23,
 * a size that is odd or below 16); GES's
 * error (GST_RESOURCE_ERROR_*) when a .xges input cannot be loaded;
 * G_FILE_ERROR_* when the file cannot be written. */
bool export_plan(const Plan &plan, const SongAnalysis &song, const std::vector<ClipAnalysis> &clips,
                 const std::string &path, const ExportOptions &options, GError **error);

/* Whether export_plan() can state an edit at fps_n/fps_d in `format`,
 * checked before any work (the tool calls it before the analysis). TRUE for
 * every format but .edl. For .edl, TRUE where two-digit CMX 3600 timecode
 * counts the rate: round(fps) frames a timecode second, 1 to 99, with the
 * rate within 0.11 % of that whole number (NTSC's 1000/1001 is 0.1 % off,
 * as is 2997/125). FALSE with G_IO_ERROR_INVALID_ARGUMENT otherwise (the
 * message points to .otio and .fcpxml): at 120 or 240 fps the record
 * timecodes had three-digit frame fields ("01:00:00:144"), which CMX 3600
 * readers do not read, and at 25/2 fps 13-frame timecode seconds that drift
 * from real time. */
bool export_rate_ok(ExportFormat format, gint fps_n, gint fps_d, GError **error);

/* The text of the .edl, .otio and .fcpxml files export_plan() writes
 * (UTF-8), without touching the disk. Same inputs and failures as
 * export_plan() (minus the file errors); on failure `out` is unchanged. */
bool plan_to_edl(const Plan &plan, const SongAnalysis &song, const std::vector<ClipAnalysis> &clips,
                 const ExportOptions &options, std::string &out, GError **error);
bool plan_to_otio(const Plan &plan, const SongAnalysis &song,
                  const std::vector<ClipAnalysis> &clips, const ExportOptions &options,
                  std::string &out, GError **error);
bool plan_to_fcpxml(const Plan &plan, const SongAnalysis &song,
                    const std::vector<ClipAnalysis> &clips, const ExportOptions &options,
                    std::string &out, GError **error);

/* One clip of an exported edit, as the file states it. */
struct ExportedClip {
  std::string uri;  /* the source's absolute file:// URI */
  std::string path; /* the same as a local file name ("" when the URI is not file://) */
  /* Source range [in, out), ns: for .xges clip stream time (GES in-points),
   * for the other formats media time at the file's frame rate (see above). */
  GstClockTime in = 0;
  GstClockTime out = 0;
  /* Edit range [record_start, record_end), ns from the edit's first frame
   * (the start timecode already taken off). */
  GstClockTime record_start = 0;
  GstClockTime record_end = 0;
};

/* What a file holds, format-independently. */
struct ExportedEdit {
  ExportFormat format = ExportFormat::kUnknown;
  std::string title;
  gint fps_n = 0; /* the rate the file's times are stated at */
  gint fps_d = 1;
  bool drop_frame = false;           /* drop-frame timecode (.edl, .fcpxml) */
  GstClockTime start_timecode = 0;   /* record time of the edit's first frame, ns */
  std::vector<ExportedClip> video;   /* in record order */
  std::vector<ExportedClip> audio;   /* in record order */
  std::vector<GstClockTime> markers; /* edit time, ns, ascending */
};

/* Reads a file written by export_plan() (or a compatible one) back.
 * In:  path with one of the four extensions; for .edl, which does not state
 *      its rate, edl_fps_n/edl_fps_d (> 0) give it (ignored otherwise).
 * Out: TRUE and `out` filled; FALSE with `error` set (out unspecified):
 *      G_IO_ERROR_NOT_SUPPORTED for an unknown extension or .edl without a
 *      rate, G_FILE_ERROR_* when unreadable, G_IO_ERROR_INVALID_DATA (or
 *      JSON_PARSER_ERROR_*, G_MARKUP_ERROR_*) naming what is wrong in the
 *      file, among it (.otio, .fcpxml) a time that is not a number from 0
 *      to 2^62 ns (about 146 years; a clip before the sequence's start too)
 *      or whose arithmetic would leave 64 bits; GES's error for a .xges GES
 *      cannot load. */
bool read_export(const std::string &path, ExportedEdit &out, GError **error, gint edl_fps_n = 0,
                 gint edl_fps_d = 1);

/* Parsers of the text formats (see read_export()). parse_edl() reads CMX 3600
 * cut events (V and A channels), their `* FROM CLIP NAME:`, `* SOURCE FILE:`,
 * `* SOURCE FPS:` and `* LOC:` comments, at the given rate (an event's source
 * timecodes at its SOURCE FPS where it states one, drop-frame where they
 * have a `;`); drop-frame from the FCM line or a `;` in the timecodes. parse_otio() reads a
 * Timeline.1 of Track.1s of Clip.1/Clip.2/Gap.1 with ExternalReference.1 and the stack's markers.
 * parse_fcpxml() reads the first project's sequence: spine asset-clips and
 * gaps, asset-clips connected to them (lane < 0 or srcEnable="audio" counts
 * as audio, anything else as video), markers inside them; spine offsets count
 * from tcStart (or from 0 in files where some offset is below tcStart). */
bool parse_edl(const std::string &text, gint fps_n, gint fps_d, ExportedEdit &out, GError **error);
bool parse_otio(const std::string &text, ExportedEdit &out, GError **error);
bool parse_fcpxml(const std::string &text, ExportedEdit &out, GError **error);

/* SMPTE timecode of frame `frame` (counted from 00:00:00:00) at fps_n/fps_d:
 * "HH:MM:SS:FF", or "HH:MM:SS;FF" in drop-frame. Drop-frame (SMPTE 12M) is
 * used only when `drop` is set and the rate is 30000/1001 (frame numbers 0-1
 * skipped at the start of each minute but every tenth) or 60000/1001 (0-3);
 * other rates count round(fps) frames a second. Hours wrap at 24.
 * fps_n, fps_d > 0. FF has two digits up to 100 fps, three above (CMX 3600
 * has two: export_rate_ok()). */
std::string frames_to_timecode(guint64 frame, gint fps_n, gint fps_d, bool drop);

/* The frame number of a timecode written as above (':' or ';' or '.'
 * separators). `drop` as for frames_to_timecode(). Returns FALSE for text
 * that is not a timecode at this rate (fields out of range, or a frame number
 * that drop-frame skips). */
bool timecode_to_frames(const std::string &timecode, gint fps_n, gint fps_d, bool drop,
                        guint64 &frame);

/* Whether drop-frame timecode exists at this rate: 30000/1001 or 60000/1001,
 * compared as fractions (60000/2002 is 30000/1001). FALSE for a rate <= 0. */
bool is_drop_frame_rate(gint fps_n, gint fps_d);

} // namespace montage
