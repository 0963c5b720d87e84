/* gst-montage: Final Cut Pro XML 1.9 (.fcpxml); see export.h.
 *
 * The document (element and attribute names from Apple's FCPXML 1.9 DTD):
 *   <fcpxml version="1.9">
 *     <resources>
 *       <format id="r1" frameDuration="1001/30000s" width= height=/>   the edit
 *       <format .../>                       one per source frame rate and size
 *       <asset id= name= start="0s" duration= hasVideo="1" format=>
 *         <media-rep kind="original-media" src="file:///..."/></asset>
 *       <asset ... hasAudio="1">            the song
 *     </resources>
 *     <library><event name=TITLE><project name=TITLE>
 *       <sequence format="r1" duration= tcStart= tcFormat="DF|NDF" ...>
 *         <spine>
 *           <asset-clip ref= offset= start= duration= srcEnable="video">
 *             <asset-clip ref=SONG lane="-1" offset=PARENT-START start="0s"
 *                         duration=EDIT srcEnable="audio"> <marker .../> ...
 *           </asset-clip>
 *           <asset-clip .../> ... (<gap/> where the plan has holes)
 *   </spine></sequence></project></event></library></fcpxml>
 *
 * Times are rational seconds "N/Ds" (reduced; "Ns" when whole): spine offsets
 * count from the sequence's tcStart as Final Cut Pro writes them; a connected
 * clip's offset and a marker's start are in its parent's time (for an
 * asset-clip, source time from its start).
 *
 * Frame grids, as Apple's FCPXML reference ("Timing Attributes") asks: a
 * time must be a multiple of the frame duration of the timeline it is in,
 * or Final Cut Pro moves it ("not on an edit frame boundary") and puts a
 * gap in. `offset` and `duration` are in the parent's time, the sequence:
 * multiples of its frameDuration (the plan's frames). `start` is in the
 * clip's own time, the asset's: a multiple of the frameDuration of the
 * asset's format (its clip's rate), the source frame nearest the planned
 * in-point (clip_start()). A connected clip's offset, in its parent's own
 * time, is its parent's start. A clip of unknown or variable rate has a
 * format without frameDuration and its start on the sequence's grid. */
#include <gst/montage/export.h>

#include "export-private.h"

#include <gio/gio.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <numeric>
#include <sstream>
#include <tuple>

namespace montage
{

using namespace export_detail;

namespace
{

const char *kFormat = "FCPXML";

/* N/D seconds as FCPXML writes it: "0s", "3600s", "1001/30000s". */
std::string rational(guint64 num, guint64 den)
{
  if (num == 0)
    return "0s";
  guint64 g = std::gcd(num, den);
  num /= g;
  den /= g;
  return den == 1 ? std::to_string(num) + "s"
                  : std::to_string(num) + "/" + std::to_string(den) + "s";
}

/* `s` as the value of an XML 1.0 attribute in double quotes (every use
 * here is one): & < > " ' as entities; tab, LF and CR as the references
 * &#x9; &#xA; &#xD;, which an attribute keeps (raw, a reader turns each into
 * a space: XML 1.0, 3.3.3 Attribute-Value Normalization); and each character
 * XML 1.0 cannot hold even as a reference (outside its Char production: the
 * other C0 controls U+0000-U+001F, U+FFFE, U+FFFF), and each byte that is
 * not UTF-8, as U+FFFD. g_markup_escape_text() wrote the controls as
 * references such as &#x1b;, which make the file not well-formed: libxml2
 * (DaVinci Resolve) and every XML 1.0 reader refuse it. Names are shown
 * only; the asset's src URI keeps the file's exact bytes. */
std::string escape(const std::string &s)
{
  static const char kReplacement[] = "\xef\xbf\xbd"; /* U+FFFD */
  std::string out;
  out.reserve(s.size());
  const char *p = s.data(), *end = s.data() + s.size();
  while (p < end) {
    const gunichar c = g_utf8_get_char_validated(p, end - p);
    if (c == (gunichar)-1 || c == (gunichar)-2) { /* not UTF-8, or a NUL */
      out += kReplacement;
      p++;
      continue;
    }
    const char *next = g_utf8_next_char(p);
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    case '\'':
      out += "&apos;";
      break;
    case '\t':
      out += "&#x9;";
      break;
    case '\n':
      out += "&#xA;";
      break;
    case '\r':
      out += "&#xD;";
      break;
    default:
      if (c < 0x20 || c == 0xfffe || c == 0xffff)
        out += kReplacement;
      else
        out.append(p, next);
    }
    p = next;
  }
  return out;
}

struct SourceFormat {
  gint fps_n, fps_d, width, height;
  bool operator<(const SourceFormat &o) const
  {
    return std::tie(fps_n, fps_d, width, height) < std::tie(o.fps_n, o.fps_d, o.width, o.height);
  }
};

/* The `start` of the spine asset-clip of video event `e` (its source
 * in-point in the asset's own time): source_frames()'s in-point (the source
 * frame nearest the planned one) as a multiple of the asset's frameDuration,
 * moved back where needed so that start + duration (the clip's extent, on
 * the sequence grid) stays within the asset's `duration` (asset_length, its
 * whole frames; G_MAXUINT64 when unknown): Final Cut Pro refuses an edit
 * that reaches past its asset's media. A clip of unknown rate keeps the
 * edit's grid (media time moved up to it, see export.h). */
std::string clip_start(const Event &e, const ClipAnalysis &clip, const EditEvents &ev,
                       guint64 asset_length)
{
  const SourceFrames src = source_frames(e, clip, ev.fps_n, ev.fps_d, G_MAXUINT64);
  const guint64 n = (guint64)src.fps_n, d = (guint64)src.fps_d;
  guint64 in = src.in;
  if (src.own_rate && asset_length != G_MAXUINT64) {
    /* Source frames (started ones counted) that the record duration covers. */
    const guint64 covered = gst_util_uint64_scale_ceil(e.rec_out - e.rec_in, (guint64)ev.fps_d * n,
                                                       (guint64)ev.fps_n * d);
    if (in + covered > asset_length)
      in = asset_length > covered ? asset_length - covered : 0;
  }
  return rational(in * d, n);
}

} // namespace

bool plan_to_fcpxml(const Plan &plan, const SongAnalysis &song,
                    const std::vector<ClipAnalysis> &clips, const ExportOptions &options,
                    std::string &out, GError **error)
{
  EditEvents ev;
  if (!edit_events(plan, song, clips, options, "gst-montage", ev, error))
    return false;
  if (options.width < 16 || options.height < 16 || options.width % 2 || options.height % 2)
    return fail_arg(error, "output size " + std::to_string(options.width) + "x" +
                               std::to_string(options.height) +
                               " is not supported: use even sizes of at least 16x16.");
  const guint64 n = (guint64)ev.fps_n, d = (guint64)ev.fps_d;
  auto t = [&](guint64 frames) { return rational(frames * d, n); };
  auto ns = [](GstClockTime v) { return rational(v, GST_SECOND); };

  std::ostringstream s;
  s << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE fcpxml>\n"
    << "<fcpxml version=\"1.9\">\n  <resources>\n";
  s << "    <format id=\"r1\" frameDuration=\"" << t(1) << "\" width=\"" << options.width
    << "\" height=\"" << options.height << "\"/>\n";

  int next_id = 2;
  std::map<SourceFormat, std::string> formats;
  std::map<std::size_t, std::string> format_of_clip, asset_of_clip;
  /* Each clip's length as its asset states it, in its own frames (or edit
   * frames where its rate is unknown); G_MAXUINT64 when unknown. */
  std::map<std::size_t, guint64> asset_frames;
  for (const Event &e : ev.video) {
    if (format_of_clip.count(e.clip))
      continue;
    const ClipAnalysis &c = clips[e.clip];
    SourceFormat f{c.fps_n > 0 && c.fps_d > 0 ? c.fps_n : 0,
                   c.fps_n > 0 && c.fps_d > 0 ? c.fps_d : 1, c.width, c.height};
    auto it = formats.find(f);
    if (it == formats.end()) {
      std::string id = "r" + std::to_string(next_id++);
      s << "    <format id=\"" << id << "\"";
      if (f.fps_n)
        s << " frameDuration=\"" << rational((guint64)f.fps_d, (guint64)f.fps_n) << "\"";
      if (f.width > 0 && f.height > 0)
        s << " width=\"" << f.width << "\" height=\"" << f.height << "\"";
      s << "/>\n";
      it = formats.emplace(f, id).first;
    }
    format_of_clip[e.clip] = it->second;
  }
  for (const Event &e : ev.video) {
    if (asset_of_clip.count(e.clip))
      continue;
    const ClipAnalysis &c = clips[e.clip];
    std::string id = "r" + std::to_string(next_id++);
    asset_of_clip[e.clip] = id;
    s << "    <asset id=\"" << id << "\" name=\"" << escape(display_text(e.name))
      << "\" start=\"0s\"";
    const GstClockTime length = media_length(e.uri, c.duration, c.first_frame);
    asset_frames[e.clip] = G_MAXUINT64;
    if (GST_CLOCK_TIME_IS_VALID(length)) {
      /* Whole source frames when the rate is known, else nanoseconds. */
      if (c.fps_n > 0 && c.fps_d > 0) {
        const guint64 frames = whole_frames(length, c.fps_n, c.fps_d);
        asset_frames[e.clip] = frames;
        s << " duration=\"" << rational(frames * (guint64)c.fps_d, (guint64)c.fps_n) << "\"";
      } else {
        s << " duration=\"" << ns(length) << "\"";
      }
    }
    s << " hasVideo=\"1\" format=\"" << format_of_clip[e.clip] << "\" videoSources=\"1\">\n"
      << "      <media-rep kind=\"original-media\" src=\"" << escape(e.uri) << "\"/>\n"
      << "    </asset>\n";
  }
  const std::string song_id = "r" + std::to_string(next_id++);
  s << "    <asset id=\"" << song_id << "\" name=\"" << escape(display_text(ev.audio.name))
    << "\" start=\"0s\"";
  if (GST_CLOCK_TIME_IS_VALID(song.duration) && song.duration > 0)
    s << " duration=\"" << ns(song.duration) << "\"";
  s << " hasAudio=\"1\" audioSources=\"1\">\n"
    << "      <media-rep kind=\"original-media\" src=\"" << escape(ev.audio.uri) << "\"/>\n"
    << "    </asset>\n  </resources>\n";

  const char *tc_format = ev.drop ? "DF" : "NDF";
  s << "  <library>\n    <event name=\"" << escape(display_text(ev.title))
    << "\">\n      <project name=\"" << escape(display_text(ev.title)) << "\">\n";
  s << "        <sequence format=\"r1\" duration=\"" << t(ev.total_frames) << "\" tcStart=\""
    << t(ev.start_frame) << "\" tcFormat=\"" << tc_format
    << "\" audioLayout=\"stereo\" audioRate=\"48k\">\n          <spine>\n";

  /* parent_start: the start of the clip it is connected to ("0s" for a gap). */
  auto song_clip = [&](const std::string &parent_start) {
    s << "              <asset-clip ref=\"" << song_id << "\" lane=\"-1\" offset=\"" << parent_start
      << "\" name=\"" << escape(display_text(ev.audio.name)) << "\" start=\"0s\" duration=\""
      << t(ev.total_frames) << "\" srcEnable=\"audio\" audioRole=\"music\"";
    if (ev.markers.empty()) {
      s << "/>\n";
      return;
    }
    s << ">\n";
    for (const Marker &m : ev.markers)
      s << "                <marker start=\"" << t(m.frame) << "\" duration=\"" << t(1)
        << "\" value=\"" << escape(m.name) << "\"/>\n";
    s << "              </asset-clip>\n";
  };

  guint64 at = 0;
  bool song_placed = false;
  for (const Event &e : ev.video) {
    if (e.rec_in > at) {
      s << "            <gap name=\"Gap\" offset=\"" << t(ev.start_frame + at)
        << "\" start=\"0s\" duration=\"" << t(e.rec_in - at) << "\"";
      if (!song_placed && at == 0) {
        s << ">\n";
        song_clip("0s");
        song_placed = true;
        s << "            </gap>\n";
      } else {
        s << "/>\n";
      }
    }
    const std::string start = clip_start(e, clips[e.clip], ev, asset_frames[e.clip]);
    s << "            <asset-clip ref=\"" << asset_of_clip[e.clip] << "\" offset=\""
      << t(ev.start_frame + e.rec_in) << "\" name=\"" << escape(display_text(e.name))
      << "\" start=\"" << start << "\" duration=\"" << t(e.rec_out - e.rec_in) << "\" format=\""
      << format_of_clip[e.clip] << "\" srcEnable=\"video\"";
    if (!song_placed) {
      s << ">\n";
      song_clip(start);
      song_placed = true;
      s << "            </asset-clip>\n";
    } else {
      s << "/>\n";
    }
    at = e.rec_out;
  }
  s << "          </spine>\n        </sequence>\n      </project>\n    </event>\n  </library>\n"
    << "</fcpxml>\n";
  out = s.str();
  return true;
}

/* ---- Reading (GMarkup) ------------------------------------------------- */

namespace
{

/* An exact time in seconds, num/den (den > 0), kept reduced; FCPXML's own
 * arithmetic, computed in 128 bits. A result that does not fit in 64 bits
 * is marked `overflow` (and so is everything computed from it): times
 * such as "2305843009213693951/2147483647s" overflowed gint64 (undefined
 * behaviour) and were read as garbage. */
struct Q {
  gint64 num = 0;
  gint64 den = 1;
  bool overflow = false;

  static Q of(__int128 n, __int128 d, bool overflow = false)
  {
    unsigned __int128 a = n < 0 ? -(unsigned __int128)n : (unsigned __int128)n,
                      b = (unsigned __int128)d;
    while (b) { /* gcd */
      const unsigned __int128 t = a % b;
      a = b;
      b = t;
    }
    if (a > 1) {
      n /= (__int128)a;
      d /= (__int128)a;
    }
    Q q;
    if (overflow || n > G_MAXINT64 || n < -G_MAXINT64 || d > G_MAXINT64) {
      q.overflow = true;
      return q;
    }
    q.num = (gint64)n;
    q.den = (gint64)d;
    return q;
  }
  Q operator+(const Q &o) const
  {
    /* |num| < 2^63 and den < 2^63: products and sums fit in 128 bits. */
    const __int128 l = (__int128)(den / std::gcd(den, o.den)) * o.den;
    return of((__int128)num * (l / den) + (__int128)o.num * (l / o.den), l, overflow || o.overflow);
  }
  Q operator-(const Q &o) const
  {
    Q minus = o;
    minus.num = -o.num;
    return *this + minus;
  }
  bool negative() const { return num < 0; }
  bool less(const Q &o) const { return (*this - o).negative(); }
  /* ns, rounded to nearest like the plan's grid; FALSE for an overflowed,
   * negative or later than kMaxReadTime time. */
  bool ns(GstClockTime &out) const
  {
    if (overflow || num < 0 || (__int128)num * GST_SECOND > (__int128)kMaxReadTime * den)
      return false;
    out = gst_util_uint64_scale_round((guint64)num, GST_SECOND, (guint64)den);
    return true;
  }
};

/* "N/Ds", "Ns" -> Q; FALSE for anything else. */
bool parse_rational(const char *text, Q &out)
{
  if (!text)
    return false;
  char *end = nullptr;
  guint64 num = g_ascii_strtoull(text, &end, 10), den = 1;
  if (end == text || num > (guint64)G_MAXINT64 / 4)
    return false;
  if (*end == '/') {
    const char *d = end + 1;
    den = g_ascii_strtoull(d, &end, 10);
    if (end == d || den == 0 || den > (guint64)G_MAXINT32)
      return false;
  }
  if (end[0] != 's' || end[1] != '\0')
    return false;
  out = Q::of((__int128)num, (__int128)den);
  return true;
}

struct Item {
  std::string ref;
  Q start; /* own time of its first frame */
  Q duration;
  Q record; /* sequence time of its first frame (tcStart not yet taken off) */
  int lane = 0;
  bool is_gap = false;
  bool on_spine = false;
  bool audio = false; /* sound only: srcEnable="audio", or below the spine */
};

struct ParseState {
  ExportedEdit edit;
  std::map<std::string, Q> frame_durations; /* format id -> frameDuration */
  std::map<std::string, std::string> asset_src;
  std::string current_asset;
  bool in_sequence = false, sequence_done = false;
  Q tc_start;
  std::vector<Item> stack; /* the spine item being read and what nests in it */
  std::vector<Item> placed;
  std::vector<Q> marker_records;
};

const char *attr(const gchar **names, const gchar **values, const char *name)
{
  for (int i = 0; names[i]; i++)
    if (strcmp(names[i], name) == 0)
      return values[i];
  return nullptr;
}

void set_error(GError **error, GMarkupParseContext *ctx, const std::string &why)
{
  gint line = 0, col = 0;
  g_markup_parse_context_get_position(ctx, &line, &col);
  g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "Not a valid %s file: line %d: %s",
              kFormat, line, why.c_str());
}

void start_element(GMarkupParseContext *ctx, const gchar *name, const gchar **names,
                   const gchar **values, gpointer data, GError **error)
{
  auto *st = static_cast<ParseState *>(data);
  auto time_attr = [&](const char *key, Q &q, bool required) {
    const char *v = attr(names, values, key);
    if (!v) {
      if (required)
        set_error(error, ctx, std::string("<") + name + "> has no " + key + ".");
      return !required;
    }
    if (!parse_rational(v, q)) {
      set_error(error, ctx, std::string(key) + "=\"" + v + "\" is not a time in N/Ds.");
      return false;
    }
    return true;
  };

  if (strcmp(name, "format") == 0) {
    const char *id = attr(names, values, "id");
    Q fd;
    if (id && attr(names, values, "frameDuration")) {
      if (!time_attr("frameDuration", fd, true))
        return;
      st->frame_durations[id] = fd;
    }
  } else if (strcmp(name, "asset") == 0) {
    const char *id = attr(names, values, "id");
    st->current_asset = id ? id : "";
    const char *src = attr(names, values, "src"); /* FCPXML <= 1.8 */
    if (src)
      st->asset_src[st->current_asset] = src;
  } else if (strcmp(name, "media-rep") == 0) {
    const char *src = attr(names, values, "src");
    const char *kind = attr(names, values, "kind");
    if (src && !st->current_asset.empty() && (!kind || strcmp(kind, "original-media") == 0))
      st->asset_src[st->current_asset] = src;
  } else if (strcmp(name, "project") == 0 && st->edit.title.empty()) {
    const char *pname = attr(names, values, "name");
    st->edit.title = pname ? pname : "";
  } else if (strcmp(name, "sequence") == 0 && !st->sequence_done) {
    const char *format = attr(names, values, "format");
    auto it = format ? st->frame_durations.find(format) : st->frame_durations.end();
    if (it == st->frame_durations.end() || it->second.num <= 0) {
      set_error(error, ctx, "the sequence's format has no frameDuration.");
      return;
    }
    /* The rate is the inverse of the frame duration. */
    if (it->second.num > G_MAXINT) {
      set_error(error, ctx, "the sequence's frameDuration is not a frame's.");
      return;
    }
    st->edit.fps_n = (gint)it->second.den;
    st->edit.fps_d = (gint)it->second.num;
    if (!time_attr("tcStart", st->tc_start, false))
      return;
    if (!st->tc_start.ns(st->edit.start_timecode)) {
      set_error(error, ctx, "the sequence's tcStart is not a time from 0 to 2^62 ns.");
      return;
    }
    const char *tcf = attr(names, values, "tcFormat");
    st->edit.drop_frame = tcf && strcmp(tcf, "DF") == 0;
    st->in_sequence = true;
  } else if (st->in_sequence && strcmp(name, "marker") == 0) {
    if (st->stack.empty())
      return;
    Q m;
    if (!time_attr("start", m, true))
      return;
    const Item &parent = st->stack.back();
    st->marker_records.push_back(parent.record + (m - parent.start));
  } else if (st->in_sequence && (strcmp(name, "asset-clip") == 0 || strcmp(name, "gap") == 0)) {
    Item item;
    item.is_gap = strcmp(name, "gap") == 0;
    const char *ref = attr(names, values, "ref");
    item.ref = ref ? ref : "";
    const char *lane = attr(names, values, "lane");
    item.lane = lane ? atoi(lane) : 0;
    const char *enable = attr(names, values, "srcEnable");
    item.audio = item.lane < 0 || (enable && strcmp(enable, "audio") == 0);
    Q offset;
    if (!time_attr("offset", offset, false) || !time_attr("start", item.start, false) ||
        !time_attr("duration", item.duration, true))
      return;
    item.on_spine = st->stack.empty();
    if (item.on_spine) {
      item.record = offset;
    } else {
      /* A connected clip's offset is in its parent's time. */
      const Item &parent = st->stack.back();
      item.record = parent.record + (offset - parent.start);
    }
    st->placed.push_back(item);
    st->stack.push_back(item);
  }
}

void end_element(GMarkupParseContext *, const gchar *name, gpointer data, GError **)
{
  auto *st = static_cast<ParseState *>(data);
  if (strcmp(name, "asset") == 0)
    st->current_asset.clear();
  else if (strcmp(name, "sequence") == 0 && st->in_sequence) {
    st->in_sequence = false;
    st->sequence_done = true;
  } else if (st->in_sequence && (strcmp(name, "asset-clip") == 0 || strcmp(name, "gap") == 0))
    st->stack.pop_back();
}

} // namespace

bool parse_fcpxml(const std::string &text, ExportedEdit &out, GError **error)
{
  ParseState st;
  st.edit.format = ExportFormat::kFcpxml;
  GMarkupParser parser = {start_element, end_element, nullptr, nullptr, nullptr};
  GMarkupParseContext *ctx =
      g_markup_parse_context_new(&parser, (GMarkupParseFlags)0, &st, nullptr);
  bool ok = g_markup_parse_context_parse(ctx, text.data(), (gssize)text.size(), error) &&
            g_markup_parse_context_end_parse(ctx, error);
  g_markup_parse_context_free(ctx);
  if (!ok)
    return false;
  if (!st.sequence_done)
    return fail_data(error, kFormat, "it holds no project sequence.");

  /* Final Cut Pro counts spine offsets from tcStart; some writers count from
   * zero. Take tcStart off only when every spine offset has room for it. */
  Q shift = st.tc_start;
  for (const Item &item : st.placed)
    if (item.on_spine && item.record.less(shift))
      shift = Q();
  ExportedEdit &edit = st.edit;
  for (const Item &item : st.placed) {
    if (item.is_gap)
      continue;
    auto src = st.asset_src.find(item.ref);
    if (src == st.asset_src.end())
      return fail_data(error, kFormat,
                       "a clip refers to asset \"" + item.ref + "\", which has no media-rep.");
    ExportedClip c;
    c.uri = src->second;
    c.path = uri_to_path(c.uri);
    /* Every time from 0 (the sequence's start; a negative one was taken as
     * 0, ending a clip before it started) to kMaxReadTime. */
    if (!item.start.ns(c.in) || !(item.start + item.duration).ns(c.out) ||
        !(item.record - shift).ns(c.record_start) ||
        !(item.record - shift + item.duration).ns(c.record_end))
      return fail_data(error, kFormat,
                       "a clip of asset \"" + item.ref +
                           "\" has a time before the sequence's start or its media's, or "
                           "past 2^62 ns.");
    (item.audio ? edit.audio : edit.video).push_back(std::move(c));
  }
  for (const Q &m : st.marker_records) {
    const Q at = m - shift;
    GstClockTime t;
    if (!at.overflow && at.negative())
      continue; /* before the sequence: not in the edit */
    if (!at.ns(t))
      return fail_data(error, kFormat, "a marker lies past 2^62 ns.");
    edit.markers.push_back(t);
  }
  sort_by_record(edit);
  out = std::move(edit);
  return true;
}

} // namespace montage
