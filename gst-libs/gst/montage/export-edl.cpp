/* gst-montage: CMX 3600 edit decision lists; see export.h.
 *
 * The layout follows the CMX 3600 event line as editors write it:
 *   001  REEL     V     C        SRC-IN      SRC-OUT     REC-IN      REC-OUT
 * (event number, reel name of at most 8 characters, channel, transition,
 * then source and record timecodes, out-points exclusive), followed by
 * comment lines that Avid, Premiere and Resolve use to relink file-based
 * media: `* FROM CLIP NAME:` (the file's name) and `* SOURCE FILE:` (its
 * absolute path), and `* LOC: TC COLOUR NAME` locators in record timecode.
 *
 * Rates: record timecodes (and FCM:, and the locators) count the edit's
 * frames at the plan's rate, the one rate a CMX 3600 list has; a plan at a
 * rate two-digit timecode cannot count (timecode_counts(), export-private.h) is
 * refused (export_rate_ok()): at 120 or 240 fps its record timecodes had
 * three-digit frame fields ("01:00:00:144"), at 12.5 fps 13-frame seconds
 * that drift from real time. Source
 * timecodes name frames of the source, so a video event's source in/out
 * count that clip's own frames at its own rate (ClipAnalysis::fps_n/fps_d,
 * round(fps) frames a second), as its frames are numbered in an editor's
 * viewer: a 24 fps clip's in-point is "00:00:03:20", never a frame 27 that it
 * does not have. Which frames: source_frames() (export-private.h): the
 * source frame nearest the planned in-point, and the whole number of source
 * frames nearest the record duration. A 29.97/59.94 source's timecode is
 * drop-frame (`;`) under the same option as the record's (drop_frame),
 * whatever the edit's rate; each timecode's separator says which it is.
 * An event whose source rate is not the edit's lasts a different number of
 * source than record frames (24 against 30 for a second), which is no speed
 * change: a `* SOURCE FPS: 24` (or `24000/1001`) comment under every video
 * event whose clip has a known rate states the rate its source timecodes
 * count at, for parse_edl() and for people; no M2 line is written, since M2
 * states a speed change and readers would retime the clip. A clip of unknown
 * or variable rate (fps 0/1) and the song keep the edit's rate and grid, as
 * does a clip whose rate a two-digit timecode cannot count (timecode_counts():
 * over 99 fps, such as a phone's 240 fps slow motion, which gave source
 * timecodes like "00:00:04:140"; or far from a whole rate, such as 12.5 fps,
 * whose 13-frame timecode second drifts), with no SOURCE FPS line.
 *
 * Text: the event lines are ASCII (reel names are A-Z 0-9 _, as CMX 3600
 * readers expect); the comment lines are UTF-8, as Resolve and Premiere
 * write and read them. A file name that is not UTF-8 is shown in FROM CLIP
 * NAME with U+FFFD for its stray bytes, and its SOURCE FILE is its file://
 * URI (ASCII, every byte escaped) so that the file can still be found; so
 * is a path with a control character (a newline) or white space at either
 * end, which a comment line cannot hold as it is. parse_edl() takes either
 * form. */
#include <gst/montage/export.h>

#include "export-private.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <map>
#include <set>
#include <sstream>

namespace montage
{

using namespace export_detail;

namespace
{

constexpr std::size_t kMaxEvents = 999;
constexpr std::size_t kMaxReel = 8;
constexpr std::size_t kMaxTitle = 70;

/* A file name's natural reel name: its stem in upper case, A-Z 0-9 _ only
 * (a run of anything else as one _), at most 8 characters; "CLIP" for a
 * stem with none of them. */
std::string natural_reel(const std::string &file_name)
{
  std::string stem = file_name.substr(0, file_name.rfind('.'));
  std::string reel;
  for (char c : stem) {
    if (reel.size() == kMaxReel)
      break;
    if (g_ascii_isalnum(c))
      reel += g_ascii_toupper(c);
    else if (!reel.empty() && reel.back() != '_')
      reel += '_';
  }
  while (!reel.empty() && reel.back() == '_')
    reel.pop_back();
  return reel.empty() ? "CLIP" : reel;
}

/* Reel names for `files` (each clip's file name, the song's last), in that
 * order: each file's natural reel, the first file to have it keeping it;
 * a later file with the same one gets it with a numeric tail (2, 3, ... in
 * place of its last characters) that is no file's natural reel and not
 * yet given. The tail used to be checked only against the reels given so
 * far, so IMG_1234.MOV beside "IMG_1234 (1).MOV" and IMG_1232.MOV gave the
 * second IMG_1232, the third IMG_1233 and so on: a conform matching reels
 * to file names linked events to the wrong files (review h119, finding 4). */
std::vector<std::string> reel_names(const std::vector<std::string> &files)
{
  std::vector<std::string> natural;
  for (const std::string &f : files)
    natural.push_back(natural_reel(f));
  std::set<std::string> taken(natural.begin(), natural.end()), given;
  std::vector<std::string> out;
  for (const std::string &reel : natural) {
    if (!given.count(reel)) {
      given.insert(reel);
      out.push_back(reel);
      continue;
    }
    std::string unique = reel;
    for (int i = 2; taken.count(unique); i++) {
      std::string tail = std::to_string(i);
      unique = reel.substr(0, kMaxReel - tail.size()) + tail;
    }
    taken.insert(unique);
    given.insert(unique);
    out.push_back(unique);
  }
  return out;
}

std::string one_line(std::string s)
{
  std::replace(s.begin(), s.end(), '\n', ' ');
  std::replace(s.begin(), s.end(), '\r', ' ');
  return s;
}

/* The TITLE: `title` as UTF-8 on one line, cut to kMaxTitle bytes between
 * characters (a cut inside one left a stray byte). */
std::string title_line(const std::string &title)
{
  std::string line = one_line(display_text(title));
  if (line.size() <= kMaxTitle)
    return line;
  std::size_t end = kMaxTitle;
  while (end > 0 && (line[end] & 0xC0) == 0x80) /* a UTF-8 continuation byte */
    end--;
  return line.substr(0, end);
}

/* The SOURCE FILE comment of `e`: its absolute path, or its file:// URI
 * where the path would not survive a comment line as it is: bytes that are
 * not UTF-8, a control character (a newline or carriage return ends the
 * line; the line was written with a space in its place, a file that does
 * not exist), or white space at either end (readers trim the line). The
 * URI escapes every such byte (see the top of this file). */
std::string source_file(const Event &e)
{
  const std::string &p = e.path;
  bool as_is = g_utf8_validate(p.c_str(), (gssize)p.size(), nullptr) && !p.empty() &&
               !g_ascii_isspace(p.front()) && !g_ascii_isspace(p.back());
  for (std::size_t i = 0; as_is && i < p.size(); i++)
    as_is = !g_ascii_iscntrl(p[i]);
  return as_is ? p : e.uri;
}

/* The clip's length in its own frames (from its first frame to the end of
 * the last frame analysis decoded); G_MAXUINT64 when its rate or length is
 * unknown. */
guint64 clip_frames(const ClipAnalysis &clip)
{
  if (clip.fps_n <= 0 || clip.fps_d <= 0 || !GST_CLOCK_TIME_IS_VALID(clip.duration) ||
      clip.duration <= clip.first_frame)
    return G_MAXUINT64;
  return whole_frames(clip.duration - clip.first_frame, clip.fps_n, clip.fps_d);
}

} // namespace

bool plan_to_edl(const Plan &plan, const SongAnalysis &song, const std::vector<ClipAnalysis> &clips,
                 const ExportOptions &options, std::string &out, GError **error)
{
  EditEvents ev;
  if (!edit_events(plan, song, clips, options, "gst-montage", ev, error) ||
      !export_rate_ok(ExportFormat::kEdl, ev.fps_n, ev.fps_d, error))
    return false;
  /* Record timecodes wrap at 24 h: an edit that reaches midnight had its
   * last events end (00:01:40:00) before they start (23:58:20:00), and
   * parse_edl() refused the file. */
  if (ev.start_frame + ev.total_frames >= timecode_day_frames(ev.fps_n, ev.fps_d, ev.drop))
    return fail_arg(error, "a CMX 3600 EDL's record timecode ends at 24:00:00:00 and this edit, "
                           "starting at " +
                               frames_to_timecode(ev.start_frame, ev.fps_n, ev.fps_d, ev.drop) +
                               ", would reach it: start it at an earlier hour (start_hour), or "
                               "export to .otio or .fcpxml.");
  if (ev.video.size() + 1 > kMaxEvents)
    return fail_arg(error, "a CMX 3600 EDL holds at most 999 events and this edit has " +
                               std::to_string(ev.video.size() + 1) +
                               ": export to .otio or .fcpxml, or plan fewer cuts.");
  auto tc = [&](guint64 frame) { return frames_to_timecode(frame, ev.fps_n, ev.fps_d, ev.drop); };

  std::vector<std::size_t> order; /* clips in the order of their first event, then the song */
  std::vector<std::string> files;
  for (const Event &e : ev.video)
    if (std::find(order.begin(), order.end(), e.clip) == order.end()) {
      order.push_back(e.clip);
      files.push_back(e.name);
    }
  order.push_back(SIZE_MAX);
  files.push_back(ev.audio.name);
  const std::vector<std::string> names = reel_names(files);
  std::map<std::size_t, std::string> reels;
  for (std::size_t i = 0; i < order.size(); i++)
    reels[order[i]] = names[i];

  std::ostringstream s;
  s << "TITLE: " << title_line(ev.title) << "\n";
  s << "FCM: " << (ev.drop ? "DROP FRAME" : "NON-DROP FRAME") << "\n\n";

  std::size_t next_marker = 0;
  /* src: the source range, at the source's rate for a video event whose
   * clip states one (see the top of this file), else at the edit's. */
  auto write_event = [&](std::size_t number, const Event &e, const SourceFrames &src,
                         const char *channel, bool last) {
    const bool src_drop = options.drop_frame && is_drop_frame_rate(src.fps_n, src.fps_d);
    auto src_tc = [&](guint64 frame) {
      return frames_to_timecode(frame, src.fps_n, src.fps_d, src_drop);
    };
    gchar line[160];
    g_snprintf(line, sizeof line, "%03zu  %-8s %-5s %-8s %s %s %s %s\n", number,
               reels[e.clip].c_str(), channel, "C", src_tc(src.in).c_str(),
               src_tc(src.in + src.frames).c_str(), tc(ev.start_frame + e.rec_in).c_str(),
               tc(ev.start_frame + e.rec_out).c_str());
    s << line;
    s << "* FROM CLIP NAME: " << one_line(display_text(e.name)) << "\n";
    s << "* SOURCE FILE: " << one_line(source_file(e)) << "\n";
    if (src.own_rate)
      s << "* SOURCE FPS: " << rate_text(src.fps_n, src.fps_d) << "\n";
    /* Locators go under the event they fall in (the last event takes the rest). */
    while (next_marker < ev.markers.size() && (last || ev.markers[next_marker].frame < e.rec_out)) {
      const Marker &m = ev.markers[next_marker++];
      s << "* LOC: " << tc(ev.start_frame + m.frame) << " " << (m.downbeat ? "RED   " : "YELLOW")
        << " " << m.name << "\n";
    }
    s << "\n";
  };
  std::size_t number = 1;
  for (const Event &e : ev.video) {
    const ClipAnalysis &clip = clips[e.clip];
    if (timecode_counts(clip.fps_n, clip.fps_d)) {
      write_event(number++, e, source_frames(e, clip, ev.fps_n, ev.fps_d, clip_frames(clip)), "V",
                  false);
      continue;
    }
    ClipAnalysis at_edit_rate = clip; /* counted as a clip of unknown rate */
    at_edit_rate.fps_n = 0;
    at_edit_rate.fps_d = 1;
    write_event(number++, e, source_frames(e, at_edit_rate, ev.fps_n, ev.fps_d, G_MAXUINT64), "V",
                false);
  }
  SourceFrames music; /* the song has no frame rate: its times are the edit's */
  music.fps_n = ev.fps_n;
  music.fps_d = ev.fps_d;
  music.in = ev.audio.src_in;
  music.frames = ev.audio.src_out - ev.audio.src_in;
  write_event(number, ev.audio, music, "A", true);
  out = s.str();
  return true;
}

namespace
{

struct EdlEvent {
  std::string reel;
  std::string channel;
  guint64 tc[4] = {0, 0, 0, 0}; /* src in, src out, rec in, rec out (frames) */
  std::string clip_name;
  std::string source_file;
  gint src_fps_n = 0; /* from `* SOURCE FPS:`; 0: the source times are at the EDL's rate */
  gint src_fps_d = 1;
};

/* "25" or "24000/1001" (as plan_to_edl() writes `* SOURCE FPS:`) -> n/d;
 * FALSE for anything else. */
bool parse_rate(const std::string &text, gint &n, gint &d)
{
  const char *p = text.c_str();
  char *end = nullptr;
  const guint64 num = g_ascii_strtoull(p, &end, 10);
  guint64 den = 1;
  if (end == p || num == 0 || num > G_MAXINT)
    return false;
  if (*end == '/') {
    const char *q = end + 1;
    den = g_ascii_strtoull(q, &end, 10);
    if (end == q || den == 0 || den > G_MAXINT)
      return false;
  }
  if (*end != '\0')
    return false;
  n = (gint)num;
  d = (gint)den;
  return true;
}

std::vector<std::string> split_ws(const std::string &line)
{
  std::istringstream in(line);
  std::vector<std::string> out;
  std::string tok;
  while (in >> tok)
    out.push_back(tok);
  return out;
}

bool starts_with(const std::string &s, const char *prefix)
{
  return s.compare(0, strlen(prefix), prefix) == 0;
}

std::string trim(const std::string &s)
{
  std::size_t a = s.find_first_not_of(" \t\r");
  std::size_t b = s.find_last_not_of(" \t\r");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

} // namespace

bool parse_edl(const std::string &text, gint fps_n, gint fps_d, ExportedEdit &out, GError **error)
{
  const char *kFormat = "CMX 3600 EDL";
  if (fps_n <= 0 || fps_d <= 0)
    return fail_data(error, kFormat, "no frame rate given to read it at.");
  ExportedEdit edit;
  edit.format = ExportFormat::kEdl;
  edit.fps_n = fps_n;
  edit.fps_d = fps_d;
  bool fcm_seen = false;
  std::vector<EdlEvent> events;
  std::vector<std::pair<std::size_t, std::string>> loc_lines; /* line number, timecode */
  std::vector<std::vector<std::string>> event_lines;
  std::vector<std::size_t> event_line_numbers;

  /* First pass: structure; timecodes are read once the FCM is known. */
  std::istringstream in(text);
  std::string line;
  std::size_t line_no = 0;
  while (std::getline(in, line)) {
    line_no++;
    std::string t = trim(line);
    if (t.empty())
      continue;
    if (starts_with(t, "TITLE:")) {
      edit.title = trim(t.substr(6));
    } else if (starts_with(t, "FCM:")) {
      std::string fcm = trim(t.substr(4));
      edit.drop_frame =
          fcm.find("NON") == std::string::npos && fcm.find("DROP") != std::string::npos;
      fcm_seen = true;
    } else if (t[0] == '*') {
      if (events.empty())
        continue;
      std::string body = trim(t.substr(1));
      if (starts_with(body, "FROM CLIP NAME:"))
        events.back().clip_name = trim(body.substr(15));
      else if (starts_with(body, "SOURCE FILE:"))
        events.back().source_file = trim(body.substr(12));
      else if (starts_with(body, "SOURCE FPS:")) {
        EdlEvent &e = events.back();
        if (!parse_rate(trim(body.substr(11)), e.src_fps_n, e.src_fps_d))
          return fail_data(error, kFormat,
                           "line " + std::to_string(line_no) + " states no frame rate.");
      } else if (starts_with(body, "LOC:")) {
        std::vector<std::string> tok = split_ws(body.substr(4));
        if (tok.empty())
          return fail_data(error, kFormat, "line " + std::to_string(line_no) + " has no timecode.");
        loc_lines.emplace_back(line_no, tok[0]);
      }
    } else if (g_ascii_isdigit(t[0])) {
      std::vector<std::string> tok = split_ws(t);
      if (tok.size() < 8)
        return fail_data(error, kFormat,
                         "line " + std::to_string(line_no) + " is not an edit event.");
      EdlEvent e;
      e.reel = tok[1];
      e.channel = tok[2];
      events.push_back(e);
      event_lines.push_back(tok);
      event_line_numbers.push_back(line_no);
    }
    /* Other lines (SPLIT:, M2, >>> SOURCE ...) carry nothing this reader uses. */
  }
  if (events.empty())
    return fail_data(error, kFormat, "it holds no edit events.");
  if (!fcm_seen)
    edit.drop_frame = text.find(';') != std::string::npos;

  /* A timecode at n/d; drop-frame as the file's FCM says, or for a source
   * timecode at its own rate as its own separator says. */
  auto frames_at = [&](const std::string &tc, std::size_t at, gint n, gint d, bool drop,
                       guint64 &f) {
    if (timecode_to_frames(tc, n, d, drop, f))
      return true;
    return fail_data(error, kFormat,
                     "\"" + tc + "\" on line " + std::to_string(at) + " is not a timecode at " +
                         std::to_string(n) + "/" + std::to_string(d) +
                         (drop ? " drop-frame." : " non-drop."));
  };
  auto frames = [&](const std::string &tc, std::size_t at, guint64 &f) {
    return frames_at(tc, at, fps_n, fps_d, edit.drop_frame, f);
  };
  guint64 first_rec = G_MAXUINT64;
  for (std::size_t i = 0; i < events.size(); i++) {
    const auto &tok = event_lines[i];
    const EdlEvent &e = events[i];
    for (int k = 0; k < 4; k++) {
      const std::string &tc = tok[tok.size() - 4 + k];
      const bool own = k < 2 && e.src_fps_n > 0;
      if (!frames_at(tc, event_line_numbers[i], own ? e.src_fps_n : fps_n,
                     own ? e.src_fps_d : fps_d,
                     own ? tc.find(';') != std::string::npos : edit.drop_frame, events[i].tc[k]))
        return false;
    }
    if (events[i].tc[1] < events[i].tc[0] || events[i].tc[3] < events[i].tc[2])
      return fail_data(error, kFormat,
                       "the event on line " + std::to_string(event_line_numbers[i]) +
                           " ends before it starts.");
    first_rec = std::min(first_rec, events[i].tc[2]);
  }
  /* EDLs do not say where the edit starts: take the whole hour at or before
   * the first record in-point, where editors start their timelines. */
  guint64 hour_frames = 0;
  std::string first_tc = frames_to_timecode(first_rec, fps_n, fps_d, edit.drop_frame);
  timecode_to_frames(first_tc.substr(0, 2) + ":00:00:00", fps_n, fps_d, edit.drop_frame,
                     hour_frames);
  edit.start_timecode = frame_time(hour_frames, fps_n, fps_d);

  for (const EdlEvent &e : events) {
    ExportedClip c;
    if (g_str_has_prefix(e.source_file.c_str(), "file:")) {
      c.uri = e.source_file;
      c.path = uri_to_path(e.source_file);
    } else if (!e.source_file.empty() && g_path_is_absolute(e.source_file.c_str())) {
      c.path = e.source_file;
      gchar *uri = g_filename_to_uri(e.source_file.c_str(), nullptr, nullptr);
      c.uri = uri ? uri : "";
      g_free(uri);
    } else {
      c.path = !e.source_file.empty() ? e.source_file : e.clip_name;
    }
    const gint src_n = e.src_fps_n > 0 ? e.src_fps_n : fps_n;
    const gint src_d = e.src_fps_n > 0 ? e.src_fps_d : fps_d;
    c.in = frame_time(e.tc[0], src_n, src_d);
    c.out = frame_time(e.tc[1], src_n, src_d);
    c.record_start = frame_time(e.tc[2] - hour_frames, fps_n, fps_d);
    c.record_end = frame_time(e.tc[3] - hour_frames, fps_n, fps_d);
    const char ch = e.channel.empty() ? '?' : g_ascii_toupper(e.channel[0]);
    if (ch == 'V' || ch == 'B')
      edit.video.push_back(c);
    if (ch == 'A' || ch == 'B')
      edit.audio.push_back(c);
  }
  for (const auto &loc : loc_lines) {
    guint64 f;
    if (!frames(loc.second, loc.first, f))
      return false;
    if (f >= hour_frames)
      edit.markers.push_back(frame_time(f - hour_frames, fps_n, fps_d));
  }
  sort_by_record(edit);
  out = std::move(edit);
  return true;
}

} // namespace montage
