/* gst-montage: what the exporters (export*.cpp) share; not installed.
 *
 * The writers of the text formats turn the plan into frame-numbered events at
 * the plan's rate first (edit_events()), so that each format only spells
 * them; the readers turn frame numbers back with frame_time(), the planner's
 * own frame -> ns formula, so a round trip gives the plan's nanoseconds back. */
#pragma once

#include <gst/montage/export.h>

#include <algorithm>
#include <string>
#include <vector>

namespace montage
{
namespace export_detail
{

/* ns of frame `frame` at n/d: round(frame * d * 1e9 / n), the planner's grid. */
GstClockTime frame_time(guint64 frame, gint n, gint d);
/* Nearest frame to t. */
guint64 frame_nearest(GstClockTime t, gint n, gint d);
/* First frame whose time is at or after t. */
guint64 frame_at_or_after(GstClockTime t, gint n, gint d);

/* How long the media file at `uri` lasts from its first frame (stream time
 * `first_frame`), ns: to the end of the file as its container states it (what
 * an editor shows), or to `analysed_end` (ClipAnalysis::duration: the end of
 * the last frame analysis decoded) where that is later or the container
 * states none. The analysis alone stops short where the last frames decode
 * to nothing (Megamind.avi: 269 of 270). NONE when neither is known. Probes
 * the file with GstDiscoverer: call from the application's thread. */
GstClockTime media_length(const std::string &uri, GstClockTime analysed_end,
                          GstClockTime first_frame);
/* Whole frames at n/d that hold `length`: the nearest count where the length
 * is within 1 ms or a hundredth of a frame of it (timestamps rounded to the
 * ns, Matroska's durations to the ms), else rounded up, since a frame that
 * starts inside the length is in the file. */
guint64 whole_frames(GstClockTime length, gint n, gint d);

/* One clip on the edit, in frames at the plan's rate. */
struct Event {
  std::string uri;                  /* absolute file:// URI */
  std::string path;                 /* local file name from the URI */
  std::string name;                 /* the file's base name */
  std::size_t clip = 0;             /* index into clips; SIZE_MAX for the song */
  const Segment *segment = nullptr; /* nullptr for the song */
  guint64 src_in = 0;               /* media time, frames (in-point moved up to the grid) */
  guint64 src_out = 0;              /* exclusive */
  guint64 rec_in = 0;               /* edit time, frames from the edit's first frame */
  guint64 rec_out = 0;              /* exclusive */
};

/* A video event's source range counted in its clip's own frames, for the
 * formats that state source times at each source's rate (.edl source
 * timecodes, .fcpxml asset-clip start). */
struct SourceFrames {
  gint fps_n = 0; /* the rate `in` and `frames` count at */
  gint fps_d = 1;
  bool own_rate = false; /* false: the clip's rate is unknown (0/1), counted at the edit's */
  guint64 in = 0;        /* first frame, media time (0 = the clip's first frame) */
  guint64 frames = 0;    /* how many (>= 1) */
};

/* The source range of `e` (a video event of clip `clip`, from edit_events()
 * at edit_n/edit_d) at the clip's own rate (ClipAnalysis::fps_n/fps_d):
 *   in:     the source frame nearest the planned in-point's media time
 *           (segment inpoint - clip.first_frame), within half a source frame
 *           of it (the planner puts in-points on the clip's frames, planner.cpp
 *           SourceGrid: then it is the planned frame itself); half-way
 *           between two frames (within 2 ns), the earlier one, the frame a
 *           render shows at that time: the planner's grid counted from
 *           stream time 0 before cdac418, and a plan made then (a plan JSON
 *           read back) has the in-points of a clip whose first frame is at
 *           0.54 s (an MPEG program stream, 13.5 frames at 25 fps) half-way;
 *   frames: the whole number of source frames nearest the record duration
 *           (rec_out - rec_in edit frames), at least 1, so source and record
 *           durations differ by at most half a source frame;
 *   then, where in + frames would pass `available` (the clip's length in its
 *   own frames; G_MAXUINT64 when unknown), `in` moves back to keep the range
 *   inside the clip with the same length (never below frame 0).
 * A clip whose rate is unknown or variable (fps 0/1) keeps the edit's grid:
 * in = e.src_in (media time moved up to the edit grid, see export.h), frames
 * = the record duration in edit frames, own_rate false. */
inline SourceFrames source_frames(const Event &e, const ClipAnalysis &clip, gint edit_n,
                                  gint edit_d, guint64 available)
{
  SourceFrames s;
  const guint64 rec = e.rec_out - e.rec_in;
  if (clip.fps_n <= 0 || clip.fps_d <= 0 || !e.segment) {
    s.fps_n = edit_n;
    s.fps_d = edit_d;
    s.in = e.src_in;
    s.frames = rec;
    return s;
  }
  s.fps_n = clip.fps_n;
  s.fps_d = clip.fps_d;
  s.own_rate = true;
  const GstClockTime media =
      e.segment->inpoint > clip.first_frame ? e.segment->inpoint - clip.first_frame : 0;
  guint64 below = gst_util_uint64_scale(media + 1, (guint64)s.fps_n, (guint64)s.fps_d * GST_SECOND);
  while (below > 0 && frame_time(below, s.fps_n, s.fps_d) > media + 1)
    below--;
  const GstClockTime after = frame_time(below + 1, s.fps_n, s.fps_d) - media;
  const GstClockTime before = media - std::min(media, frame_time(below, s.fps_n, s.fps_d));
  s.in = before <= after + 2 ? below : below + 1;
  /* rec edit frames last rec * edit_d / edit_n s: that many source frames
   * times fps_n / fps_d. */
  s.frames = gst_util_uint64_scale_round(rec, (guint64)edit_d * (guint64)s.fps_n,
                                         (guint64)edit_n * (guint64)s.fps_d);
  if (s.frames == 0)
    s.frames = 1;
  if (available != G_MAXUINT64 && s.in + s.frames > available)
    s.in = available > s.frames ? available - s.frames : 0;
  return s;
}

/* A beat marker: edit frame (nearest to the beat) and its name. */
struct Marker {
  guint64 frame = 0;
  std::size_t beat = 0;
  bool downbeat = false;
  std::string name; /* "beat 12" or "downbeat 12" (beat index in the song) */
};

/* What every text writer needs, validated. */
struct EditEvents {
  gint fps_n = 0;
  gint fps_d = 1;
  bool drop = false;        /* drop-frame timecode in use */
  guint64 start_frame = 0;  /* record frame number of the edit's first frame */
  guint64 total_frames = 0; /* edit length */
  std::string title;
  std::vector<Event> video; /* in record order, not overlapping */
  Event audio;              /* the song, [0, total_frames) */
  std::vector<Marker> markers;
};

/* Checks the inputs (see export_plan() for what fails) and builds the events.
 * `title_fallback` is used when options.title is empty. */
bool edit_events(const Plan &plan, const SongAnalysis &song, const std::vector<ClipAnalysis> &clips,
                 const ExportOptions &options, const std::string &title_fallback, EditEvents &out,
                 GError **error);

/* Local file name of a file:// URI, "" for anything else. */
std::string uri_to_path(const std::string &uri);

/* `name` (a file name, or text made from one, such as a title) as valid
 * UTF-8 for a text format: g_filename_display_name(), which converts from
 * $G_FILENAME_ENCODING and puts U+FFFD for bytes that are not UTF-8
 * (a Latin-1 "caf\xe9.webm" made the JSON, OTIO and FCPXML unreadable).
 * The exact bytes stay findable from the event's URI, which escapes them. */
inline std::string display_text(const std::string &name)
{
  gchar *shown = g_filename_display_name(name.c_str());
  std::string out(shown);
  g_free(shown);
  return out;
}

/* Whether a timecode of two-digit frames counts the frames of fps_n/fps_d
 * as CMX 3600 readers read one: round(fps) frames a timecode second, 1 to
 * 99, and a rate within 0.11 % of that whole number, as the NTSC rates
 * (n * 1000/1001, 0.1 % slow) and 2997/125 (23.976, an AVI's) are, so the
 * timecode second drifts no more than NTSC's does. */
bool timecode_counts(gint fps_n, gint fps_d);

/* Frames from 00:00:00:00 to 24:00:00:00 at fps_n/fps_d (> 0), counted as
 * frames_to_timecode() counts them (drop-frame skips numbers where `drop`
 * applies to the rate): a record frame number from this one on would be
 * written as the next day's, hours wrapping at 24. */
guint64 timecode_day_frames(gint fps_n, gint fps_d, bool drop);

/* "25" or "24000/1001": a rate as the EDL's SOURCE FPS comment and the
 * error messages state it. */
std::string rate_text(gint n, gint d);

/* The latest time the readers accept, ns (2^62, about 146 years): a file
 * stating a later one, or one whose arithmetic would leave 64 bits, is
 * refused (G_IO_ERROR_INVALID_DATA) rather than read as a wrapped or
 * saturated time. */
constexpr GstClockTime kMaxReadTime = (GstClockTime)1 << 62;

/* FALSE with G_IO_ERROR_INVALID_ARGUMENT "Cannot export the plan: <why>". */
bool fail_arg(GError **error, const std::string &why);

/* FALSE with G_IO_ERROR_INVALID_DATA "<what> is not a valid <format> file: <why>". */
bool fail_data(GError **error, const char *format, const std::string &why);

/* Puts a read edit in record order: clips by record_start (stable, so clips
 * starting together keep the file's order), markers ascending. What every
 * reader leaves behind, whatever order its format lists things in. */
void sort_by_record(ExportedEdit &edit);

} // namespace export_detail
} // namespace montage
