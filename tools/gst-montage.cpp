/* gst-montage-1.0: clips + song -> a beat-synced montage.
 *
 *   gst-montage-1.0 -m SONG -o OUT.mp4 [-d SECONDS] [--preview] [--seed N]
 *                   [--plan-json PATH] [--export PATH]... [--storyboard PNG] [--no-render]
 *                   CLIP_OR_DIR...
 *   gst-montage-1.0 --live -m SONG -o OUT.mp4 [-d SECONDS] [--style NAME] CLIP_OR_DIR...
 *   gst-montage-1.0 cache --stats | --clear [--cache-dir DIR]
 *   gst-montage-1.0 extract SONG.aac --start S --end S -o OUT.wav
 *
 * Stages (data flows one way): analyse the song (montagebeat) and every clip
 * (montagescene) in parallel pipelines, or take their results from the
 * content-addressed cache; plan the edit (library planner); render it with
 * GES to MP4 with the best working H.264 encoder.
 *
 * Exit status: 0 on success; 1 when the montage cannot be made (no usable
 * clip, unusable song, render failure), with the reason on stderr; 2 on a
 * usage error. Clips that cannot be used are reported and skipped. The
 * output file appears only when complete.
 * With an --export named .xges, the plan keeps each clip within the length
 * its file states (PlanSettings::within_stated_length), so that GES loads the
 * project whole; the montage is rendered from that same plan.
 * A side output that cannot be written (--plan-json, --export, --storyboard:
 * an .xges whose clips GES would cut short, a file name too long for the
 * file system) does not stop the montage: a warning names the file and the
 * reason, the montage is still rendered and the other outputs written, the
 * last line ends "; not written: FILE, ..." and the status is 1.
 * A clip that fails in the render (analysed, then unreadable) is named,
 * left out, and the edit planned again; the plan JSON, the exports and the
 * storyboard are written again from that plan, the one rendered.
 * Every output's directory, and that no two outputs name one file, are
 * checked before any work (exit 2). --export may be given more than once.
 * Interrupted while rendering (Ctrl-C, SIGTERM): the partial file is removed
 * and the status is 128 + the signal's number (130, 143). Interrupted while
 * analysing: a line says how many inputs were done (their analyses stay in
 * the cache), same status; while planning: a line says so, and names the
 * plan's files already written (--plan-json, --export, --storyboard: whole
 * files, kept), same status.
 * A temporary file beside an output left by a run killed outright (SIGKILL)
 * is removed, with a line, once its process is gone.
 * Started with SIGINT or SIGTERM ignored (a background job, nohup), the tool
 * keeps ignoring it in every stage.
 */
#include "analysis.h"
#include "live.h"
#include "progress.h"
#include "text.h"

#include <gst/montage/clipanalysis.h>
#include <gst/montage/montage.h>

#include <glib-unix.h>
#include <glib/gstdio.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <signal.h>
#include <unistd.h>

namespace {

gchar *opt_music = nullptr;
gchar *opt_output = nullptr;
gboolean opt_overwrite = FALSE;
gchar *opt_duration = nullptr;
gboolean opt_preview = FALSE;
/* --seed as given (a string: GLib's INT64 option took -1 as 2^64-1 without a
 * word and refused 2^63 and above), and the value read from it. */
gchar *opt_seed_text = nullptr;
guint64 opt_seed = 1;
gchar *opt_plan_json = nullptr;
gchar *opt_storyboard = nullptr;
gchar **opt_exports = nullptr;
gchar *opt_size = nullptr;
gchar *opt_fps = nullptr;
gchar *opt_tempo = nullptr;
montage_tool::TempoRange g_tempo;
gchar *opt_encoder = nullptr;
/* Not given: as many as processors. */
constexpr gint kJobsAuto = G_MININT;
gint opt_jobs = kJobsAuto;
gboolean opt_quiet = FALSE;
gboolean opt_verbose = FALSE;
gboolean opt_no_render = FALSE;
gboolean opt_live = FALSE;
gboolean opt_version = FALSE;
gchar *opt_style = nullptr;
gboolean opt_list_styles = FALSE;
gchar *opt_cache_dir = nullptr;
gboolean opt_no_cache = FALSE;
gboolean opt_verify = FALSE;
gboolean opt_full_decode = FALSE;
gchar **opt_inputs = nullptr;

/* Sets *slot to value for an option that takes one value (-o, -m). Given
 * twice, the last was taken and the first silently dropped (a typo, or a
 * script's default followed by the user's, would write where the user did
 * not look, or cut to another song): refused as a usage error that names
 * both and says `why` the option is given once. */
gboolean take_once(gchar **slot, const gchar *option, const gchar *value, const char *why,
                   GError **error)
{
  if (*slot) {
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "%s given twice (%s and %s): %s",
                option, montage_tool::shown(*slot).c_str(), montage_tool::shown(value).c_str(),
                why);
    return FALSE;
  }
  *slot = g_strdup(value);
  return TRUE;
}

gboolean take_output(const gchar *option, const gchar *value, gpointer, GError **error)
{
  return take_once(&opt_output, option, value, "the montage is written to one file, give -o once",
                   error);
}

gboolean take_music(const gchar *option, const gchar *value, gpointer, GError **error)
{
  return take_once(&opt_music, option, value, "a montage is cut to one song, give -m once", error);
}

const GOptionEntry kEntries[] = {
    {"music", 'm', G_OPTION_FLAG_FILENAME, G_OPTION_ARG_CALLBACK, (gpointer)take_music,
     "The song (any audio file GStreamer decodes)", "SONG"},
    {"output", 'o', G_OPTION_FLAG_FILENAME, G_OPTION_ARG_CALLBACK, (gpointer)take_output,
     "The montage to write, an MP4 named .mp4, .m4v or .mov", "OUT.mp4"},
    {"overwrite", 'y', 0, G_OPTION_ARG_NONE, &opt_overwrite,
     "Overwrite an -o file that is not a montage this tool made (one it made is always replaced)",
     nullptr},
    {"duration", 'd', 0, G_OPTION_ARG_STRING, &opt_duration,
     "Length in seconds, at least 1; the edit ends on a downbeat (else a beat) near it (default: "
     "the whole song)",
     "SECONDS"},
    {"preview", 0, 0, G_OPTION_ARG_NONE, &opt_preview,
     "Render a quick 640x360 preview with the fastest encoder settings", nullptr},
    {"seed", 0, 0, G_OPTION_ARG_STRING, &opt_seed_text,
     "Seed of the shot choice, 0 to 18446744073709551615: the same seed and inputs give the same "
     "edit (default 1)",
     "N"},
    {"style", 0, 0, G_OPTION_ARG_STRING, &opt_style,
     "Editing style: a built-in name (see --list-styles) or a .style file (default balanced)",
     "NAME|PATH"},
    {"list-styles", 0, 0, G_OPTION_ARG_NONE, &opt_list_styles, "List the built-in styles and exit",
     nullptr},
    {"plan-json", 0, 0, G_OPTION_ARG_FILENAME, &opt_plan_json,
     "Also write the edit decision list as JSON", "PATH"},
    {"export", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &opt_exports,
     "Also write the edit for an editor; format from the extension: .xges (GES, Pitivi), .edl "
     "(CMX 3600), .otio (OpenTimelineIO), .fcpxml (Final Cut Pro, DaVinci Resolve); may be "
     "given more than once. With .xges the edit keeps within the length each file states (what "
     "GES loads); an .xges whose MPEG program stream (.mpg) clip GES decodes no frame of is "
     "refused, saying how to remux it (docs/export.md). A file that cannot be written is "
     "reported, the rest is still made, and the status is 1",
     "PATH"},
    {"storyboard", 0, 0, G_OPTION_ARG_FILENAME, &opt_storyboard,
     "Also draw the plan as one PNG: energy, beats, sections, cuts and a thumbnail per segment",
     "PATH.png"},
    {"size", 0, 0, G_OPTION_ARG_STRING, &opt_size,
     "Output size, even sides from 16 to 8192 within H.264 level 6.2 (139264 macroblocks, "
     "such as 8192x4320) (default 1280x720, 640x360 with --preview)",
     "WxH"},
    {"fps", 0, 0, G_OPTION_ARG_STRING, &opt_fps,
     "Output frame rate, N or N/D frames a second from 1 to 240, such as 25 or 30000/1001 "
     "(default 30)",
     "N[/D]"},
    {"tempo", 0, 0, G_OPTION_ARG_STRING, &opt_tempo,
     "The song's tempo range in BPM, within 40-240, when the beat tracker reads it at half its "
     "tempo (e.g. 130-240 for a song at 180 read as 90). Where the music's own tempo looks "
     "outside the range, a warning says so and the range is kept",
     "MIN-MAX"},
    {"encoder", 0, 0, G_OPTION_ARG_STRING, &opt_encoder,
     "Use this H.264 encoder factory first (default: hardware first, then x264enc, openh264enc)",
     "NAME"},
    {"jobs", 'j', 0, G_OPTION_ARG_INT, &opt_jobs,
     "Analysis pipelines run at once (default: number of processors)", "N"},
    {"cache-dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_cache_dir,
     "Analysis cache directory (default $GST_MONTAGE_CACHE_DIR, else "
     "$XDG_CACHE_HOME/gst-montage/analysis)",
     "DIR"},
    {"no-cache", 0, 0, G_OPTION_ARG_NONE, &opt_no_cache,
     "Analyse everything again and do not store results", nullptr},
    {"verify", 0, 0, G_OPTION_ARG_NONE, &opt_verify,
     "Key the cache on a hash of whole files instead of their first and last MiB", nullptr},
    {"full-decode", 0, 0, G_OPTION_ARG_NONE, &opt_full_decode,
     "Analyse every frame of the clips instead of the keyframe path (slower; also finds cuts "
     "keyframes do not show, such as a cut away and back within one GOP)",
     nullptr},
    {"live", 0, 0, G_OPTION_ARG_NONE, &opt_live,
     "Play all clips at once into montageselect, which cuts between them on the song's beats as "
     "it plays (the live path: real time, no analysis pass, no cache)",
     nullptr},
    {"no-render", 0, 0, G_OPTION_ARG_NONE, &opt_no_render,
     "Analyse and plan only (with --plan-json to see the edit); no -o needed", nullptr},
    {"quiet", 'q', 0, G_OPTION_ARG_NONE, &opt_quiet, "Print only errors and the result", nullptr},
    {"verbose", 'v', 0, G_OPTION_ARG_NONE, &opt_verbose,
     "Print a line per input and per step even when stderr is no terminal (logs, CI)", nullptr},
    {"version", 0, 0, G_OPTION_ARG_NONE, &opt_version, "Print the version and exit", nullptr},
    {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &opt_inputs, nullptr, "CLIP_OR_DIR..."},
    {}};

std::unique_ptr<montage_tool::Progress> g_progress;

using montage_tool::shown;
using montage_tool::valid_utf8;

/* Progress remarks: where the status line is shown (a terminal, no
 * --quiet), and with --verbose. */
void info(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void info(const char *fmt, ...)
{
  if (!g_progress || (!g_progress->enabled() && !(opt_verbose && !opt_quiet)))
    return;
  va_list args;
  va_start(args, fmt);
  gchar *line = g_strdup_vprintf(fmt, args);
  va_end(args);
  g_progress->print(valid_utf8(line));
  g_free(line);
}

/* Problems with the input: always shown. */
void warn(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void warn(const char *fmt, ...)
{
  va_list args;
  va_start(args, fmt);
  gchar *msg = g_strdup_vprintf(fmt, args);
  va_end(args);
  const std::string line = "gst-montage: " + valid_utf8(msg);
  g_free(msg);
  if (g_progress)
    g_progress->print(line);
  else
    fprintf(stderr, "%s\n", line.c_str());
}

double seconds_since(gint64 start_us)
{
  return (g_get_monotonic_time() - start_us) / 1e6;
}

/* The file's identity (GIO's id::file: device and inode on local files), or
 * "" when it does not exist or has none: two paths name the same file where
 * these match. */
std::string file_identity(const char *path)
{
  GFile *file = g_file_new_for_commandline_arg(path);
  GFileInfo *fi =
      g_file_query_info(file, G_FILE_ATTRIBUTE_ID_FILE, G_FILE_QUERY_INFO_NONE, nullptr, nullptr);
  std::string id;
  if (fi && g_file_info_get_attribute_string(fi, G_FILE_ATTRIBUTE_ID_FILE))
    id = g_file_info_get_attribute_string(fi, G_FILE_ATTRIBUTE_ID_FILE);
  if (fi)
    g_object_unref(fi);
  g_object_unref(file);
  return id;
}

/* The size of the regular file `path` in bytes, or -1 when it is no regular
 * file or cannot be read. */
gint64 regular_file_size(const std::string &path)
{
  GStatBuf st;
  if (g_stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    return -1;
  return (gint64)st.st_size;
}

/* Whether the files `a` and `b` (of the same size) hold the same bytes:
 * compared in blocks of 64 KiB up to the first that differs, so two files
 * that are not copies of each other cost a block each; a copy costs a read
 * of both. False when either cannot be read. The analysis cache's key
 * (montage::cache_key()) hashes the file's ends and its modification time,
 * so a copy ("a (1).webm" beside a.webm) has a key of its own: it cannot
 * tell copies apart, this does, exactly. */
bool same_content(const std::string &a, const std::string &b)
{
  FILE *fa = g_fopen(a.c_str(), "rb");
  FILE *fb = fa ? g_fopen(b.c_str(), "rb") : nullptr;
  bool same = fa && fb;
  std::vector<char> ba(64 * 1024), bb(64 * 1024);
  while (same) {
    const size_t na = fread(ba.data(), 1, ba.size(), fa);
    const size_t nb = fread(bb.data(), 1, bb.size(), fb);
    same = na == nb && memcmp(ba.data(), bb.data(), na) == 0 && !ferror(fa) && !ferror(fb);
    if (na < ba.size())
      break;
  }
  if (fa)
    fclose(fa);
  if (fb)
    fclose(fb);
  return same;
}

/* Files named on the command line, directories expanded (sorted, hidden
 * files skipped: a remark, with -v or on a terminal, names them, but for
 * macOS's ._* and .DS_Store, which are no footage; a hidden clip was left
 * out without a word, trial h113; not recursive: a folder's subfolders are not searched, and
 * one warning per folder says how many were left and how to take them,
 * montage_tool::subfolders_not_searched(); a folder of folders, a camera's
 * card, gave only the top level's files or "no usable clip" without a
 * word). The search stays one level deep as --live plays every clip at
 * once and a card's subfolders hold more than clips. A file named twice
 * (a directory and a file in it, or two paths to one file) is taken once,
 * with a warning: as two clips its shots would be chosen as if they were
 * different footage. So is a copy of a file taken before (same size, same
 * bytes: same_content(); audio or video, montage_tool::audio_or_video();
 * "a (1).webm" beside a.webm, found in a folder or named), which gave a montage showing the same
 * footage twice with no reuse noted; the line names the file it copies. A folder's camera proxies
 * and thumbnails beside their originals (montage_tool::camera_proxy_of(),
 * a GoPro's GL010001.LRV beside GX010001.MP4) are left out with one line
 * per folder; named themselves, they are clips.
 * `from_dirs`, when given, gets the paths that came from a directory. */
std::vector<std::string> expand_inputs(gchar **inputs, std::set<std::string> *from_dirs = nullptr)
{
  std::vector<std::string> out;
  struct Seen {
    std::string id;   /* file_identity() */
    std::string path; /* as first named */
    gint64 size;      /* regular_file_size() */
  };
  std::vector<Seen> seen;
  /* True when `path` is taken (not the same file as one named before, nor a
   * copy of one). */
  auto add = [&](const std::string &path) {
    const std::string id = file_identity(path.c_str());
    auto same = std::find_if(seen.begin(), seen.end(), [&](const Seen &e) {
      return !id.empty() ? e.id == id : e.path == path;
    });
    if (same != seen.end()) {
      warn("ignoring %s: the same file as %s, named before", shown(path).c_str(),
           shown(same->path).c_str());
      return false;
    }
    const gint64 size = regular_file_size(path);
    /* Empty files are said to be empty, and files that are no audio or
     * video not media (montage_tool::audio_or_video(), asked only of a file
     * with the size of one taken before), not copies of each other. */
    int media = -1; /* unknown */
    auto copy = size <= 0 ? seen.end() : std::find_if(seen.begin(), seen.end(), [&](const Seen &e) {
      if (e.size != size)
        return false;
      if (media < 0)
        media = montage_tool::audio_or_video(path.c_str()) ? 1 : 0;
      return media == 1 && same_content(e.path, path);
    });
    if (copy != seen.end()) {
      warn("ignoring %s: a copy of %s (the same bytes), taken before", shown(path).c_str(),
           shown(copy->path).c_str());
      return false;
    }
    seen.push_back({id, path, size});
    out.push_back(path);
    return true;
  };
  for (gchar **p = inputs; p && *p; p++) {
    if (!g_file_test(*p, G_FILE_TEST_IS_DIR)) {
      add(*p);
      continue;
    }
    GError *err = nullptr;
    GDir *dir = g_dir_open(*p, 0, &err);
    if (!dir) {
      warn("skipping %s: %s", shown(*p).c_str(), err->message);
      g_error_free(err);
      continue;
    }
    std::vector<std::string> names, subdirs, hidden;
    while (const gchar *name = g_dir_read_name(dir)) {
      gchar *full = g_build_filename(*p, name, NULL);
      if (name[0] == '.') {
        if (!g_str_has_prefix(name, "._") && strcmp(name, ".DS_Store") != 0 &&
            g_file_test(full, G_FILE_TEST_IS_REGULAR))
          hidden.push_back(shown(name));
        g_free(full);
        continue;
      }
      if (g_file_test(full, G_FILE_TEST_IS_REGULAR))
        names.emplace_back(full);
      else if (g_file_test(full, G_FILE_TEST_IS_DIR))
        subdirs.emplace_back(name);
      g_free(full);
    }
    g_dir_close(dir);
    if (!hidden.empty() && !opt_quiet && (opt_verbose || isatty(fileno(stderr)))) {
      std::sort(hidden.begin(), hidden.end());
      std::string list;
      for (std::size_t i = 0; i < hidden.size() && i < 5; i++)
        list += (i ? ", " : "") + hidden[i];
      if (hidden.size() > 5)
        list += " and " + std::to_string(hidden.size() - 5) + " more";
      fprintf(stderr,
              "  %s: %zu hidden file%s left out (%s; a name starting with '.'): name one itself "
              "to take it\n",
              shown(*p).c_str(), hidden.size(), hidden.size() == 1 ? "" : "s", list.c_str());
    }
    if (names.empty() && subdirs.empty())
      warn("%s is empty: no clip taken from it", shown(*p).c_str());
    std::sort(names.begin(), names.end());
    std::vector<std::string> base_names, proxies;
    for (const std::string &name : names) {
      gchar *base = g_path_get_basename(name.c_str());
      base_names.emplace_back(base);
      g_free(base);
    }
    names.erase(std::remove_if(names.begin(), names.end(),
                               [&](const std::string &name) {
                                 gchar *base = g_path_get_basename(name.c_str());
                                 const bool proxy =
                                     !montage_tool::camera_proxy_of(base, base_names).empty();
                                 if (proxy)
                                   proxies.push_back(montage_tool::shown(base));
                                 g_free(base);
                                 return proxy;
                               }),
                names.end());
    if (!proxies.empty())
      warn("%s", montage_tool::camera_proxies_skipped(*p, proxies).c_str());
    if (!subdirs.empty()) {
      std::sort(subdirs.begin(), subdirs.end());
      warn("%s", montage_tool::subfolders_not_searched(*p, subdirs).c_str());
    }
    /* A file named itself before its directory stays a file named itself
     * (it keeps its own warning). */
    for (const std::string &name : names)
      if (add(name) && from_dirs)
        from_dirs->insert(name);
  }
  return out;
}

/* A file the tool writes, and the option that names it. */
struct Output {
  const char *option; /* "-o", "--plan-json", "--export", "--storyboard" */
  const char *path;
};

/* Each output option given as a symbolic link now names the file the link
 * leads to (link_target()), so that the link is kept and its file written. */
void follow_output_links()
{
  auto follow = [](gchar **opt) {
    if (*opt)
      montage_tool::follow_output_link(opt);
  };
  follow(&opt_output);
  follow(&opt_plan_json);
  follow(&opt_storyboard);
  for (gchar **e = opt_exports; e && *e; e++)
    follow(e);
}

/* Every file the tool is asked to write. */
std::vector<Output> outputs()
{
  std::vector<Output> out;
  if (opt_output)
    out.push_back({"-o", opt_output});
  if (opt_plan_json)
    out.push_back({"--plan-json", opt_plan_json});
  for (gchar **e = opt_exports; e && *e; e++)
    out.push_back({"--export", *e});
  if (opt_storyboard)
    out.push_back({"--storyboard", opt_storyboard});
  return out;
}

/* Where `path` would be written: its directory's identity (which exists,
 * see outputs_usable()) and its base name, so that two names of one file
 * (x.mp4 and ./x.mp4, or a link to the directory) compare equal whether or
 * not the file exists yet. */
std::string output_place(const char *path)
{
  gchar *dir = g_path_get_dirname(path);
  gchar *base = g_path_get_basename(path);
  std::string id = file_identity(dir);
  std::string place = (id.empty() ? std::string(dir) : id) + G_DIR_SEPARATOR_S + base;
  g_free(dir);
  g_free(base);
  return place;
}

/* Why no file can be created in the directory `dir` (the system's reason,
 * g_strerror()), or "" when one can: a file is created there
 * (".gst-montage-probe-XXXXXX"; every output is first written under a
 * temporary name beside it and renamed) and removed at once. access(W_OK)
 * was asked before, and it says yes where creating fails: to root on any
 * file system mounted read-write, so -o /proc/montage.mp4 passed and
 * failed only after the whole analysis and render. */
std::string cannot_create_in(const char *dir)
{
  gchar *probe = g_build_filename(dir, ".gst-montage-probe-XXXXXX", NULL);
  const int fd = g_mkstemp(probe);
  const int errsv = errno;
  if (fd >= 0) {
    close(fd);
    g_unlink(probe);
  }
  g_free(probe);
  return fd >= 0 ? "" : g_strerror(errsv);
}

/* Checks the files the tool will write before any work, as a missing
 * directory was found only after the whole analysis (and named the render's
 * temporary file): each must be in a directory that exists and in which a
 * file can be created (cannot_create_in()), must not be a directory itself,
 * and no two outputs may name the same file (-o x.mp4 --storyboard x.mp4
 * wrote one over the other). Prints why; false when refused. */
bool outputs_usable(const std::vector<Output> &outs)
{
  std::vector<std::string> places;
  for (const Output &o : outs) {
    if (g_file_test(o.path, G_FILE_TEST_IS_DIR)) {
      fprintf(stderr, "gst-montage: %s %s is a directory: give a file name\n", o.option,
              shown(o.path).c_str());
      return false;
    }
    /* A device, FIFO or socket would be replaced by a plain file (the
     * output is renamed into place): as root, /dev/null would be lost. */
    if (g_file_test(o.path, G_FILE_TEST_EXISTS) && !g_file_test(o.path, G_FILE_TEST_IS_REGULAR)) {
      fprintf(stderr,
              "gst-montage: %s %s is not a regular file (a device, FIFO or socket), which "
              "would be replaced: outputs are written as new files; give a file name\n",
              o.option, shown(o.path).c_str());
      return false;
    }
    gchar *dir = g_path_get_dirname(o.path);
    const char *why = !g_file_test(dir, G_FILE_TEST_EXISTS)   ? "does not exist"
                      : !g_file_test(dir, G_FILE_TEST_IS_DIR) ? "is not a directory"
                                                              : nullptr;
    std::string cannot_create;
    if (why)
      fprintf(stderr, "gst-montage: %s %s: the directory %s %s\n", o.option, shown(o.path).c_str(),
              shown(dir).c_str(), why);
    else if (!(cannot_create = cannot_create_in(dir)).empty())
      fprintf(stderr,
              "gst-montage: %s %s: the directory %s cannot be written to: a file could not be "
              "created there (%s); give a path in another directory\n",
              o.option, shown(o.path).c_str(), shown(dir).c_str(), cannot_create.c_str());
    g_free(dir);
    if (why || !cannot_create.empty())
      return false;
    places.push_back(output_place(o.path));
  }
  for (std::size_t i = 0; i < outs.size(); i++)
    for (std::size_t j = 0; j < i; j++)
      if (places[i] == places[j]) {
        fprintf(stderr,
                "gst-montage: %s %s is the same file as %s %s, which it would overwrite: give "
                "each output its own name\n",
                outs[i].option, shown(outs[i].path).c_str(), outs[j].option,
                shown(outs[j].path).c_str());
        return false;
      }
  return true;
}

/* The process number in the name `name` of a temporary file an output
 * `base` is written to before its rename into place, or 0 when it is none:
 * ".BASE.partial-PID" (the montage, the exports, `extract`) or
 * "BASE.partial-PID" (the storyboard), PID in decimal digits. */
pid_t partial_pid(const char *name, const std::string &base)
{
  for (const std::string &prefix : {"." + base + ".partial-", base + ".partial-"}) {
    if (!g_str_has_prefix(name, prefix.c_str()))
      continue;
    const char *digits = name + prefix.size();
    guint64 pid = 0;
    if (strspn(digits, "0123456789") == strlen(digits) &&
        g_ascii_string_to_unsigned(digits, 10, 1, G_MAXINT, &pid, nullptr))
      return (pid_t)pid;
  }
  return 0;
}

/* Whether process `pid` runs: it exists (kill(PID, 0) does not fail with
 * ESRCH) and, where /proc says, is no zombie (ended, not yet reaped: just
 * after `timeout -s KILL`, whose own end leaves its child to be reaped). */
bool process_running(pid_t pid)
{
  if (kill(pid, 0) != 0 && errno == ESRCH)
    return false;
  gchar *stat_path = g_strdup_printf("/proc/%d/stat", (int)pid);
  gchar *stat = nullptr;
  bool zombie = false;
  if (g_file_get_contents(stat_path, &stat, nullptr, nullptr)) {
    const char *end = strrchr(stat, ')'); /* "PID (COMMAND) STATE ..." */
    zombie = end && end[1] == ' ' && end[2] == 'Z';
  }
  g_free(stat);
  g_free(stat_path);
  return !zombie;
}

/* Removes the temporary files (partial_pid()) beside each output that a run
 * ended by SIGKILL, the OOM killer or a power cut left: such a run cannot
 * remove its own (SIGINT and SIGTERM do), they are hidden, as large as the
 * montage got, and no later run removed them (trial h114). Only those of
 * processes that are not running (process_running()) are
 * removed, each with a line unless --quiet: a run writing the same output
 * now keeps its file. A process number is this machine's: a run on another
 * machine writing to the same shared folder would lose its file. */
void remove_stale_partials(const std::vector<Output> &outs)
{
  std::set<std::string> done; /* directory and base name */
  for (const Output &o : outs) {
    gchar *dir = g_path_get_dirname(o.path);
    gchar *base = g_path_get_basename(o.path);
    const std::string place = std::string(dir) + G_DIR_SEPARATOR_S + base;
    GDir *d = done.insert(place).second ? g_dir_open(dir, 0, nullptr) : nullptr;
    while (const gchar *name = d ? g_dir_read_name(d) : nullptr) {
      const pid_t pid = partial_pid(name, base);
      if (pid <= 0 || pid == getpid() || process_running(pid))
        continue;
      gchar *full = strcmp(dir, ".") == 0 ? g_strdup(name) : g_build_filename(dir, name, NULL);
      const gint64 size = regular_file_size(full);
      if (size >= 0 && g_unlink(full) == 0 && !opt_quiet)
        warn("removed %s (%.1f MiB), the unfinished %s of a run that was stopped (its process %d "
             "is no longer running)",
             shown(full).c_str(), size / 1048576.0, shown(o.path).c_str(), (int)pid);
      g_free(full);
    }
    if (d)
      g_dir_close(d);
    g_free(dir);
    g_free(base);
  }
}

/* Whether -o names an existing file the tool did not make (no
 * made_by_gst_montage(): footage, another program's video, a file misnamed
 * .mp4) and --overwrite is not given: it is refused before any work, as
 * ffmpeg asks or needs -y (gst-launch-1.0's filesink overwrites, but a
 * montage is minutes of work to redo and an overwritten clip is lost). A
 * montage the tool made is replaced without a word, so that the same
 * command run again (scripts/demo.sh) makes a new one. The other outputs
 * (--plan-json, --export, --storyboard) are the tool's own text and
 * pictures and are replaced. Prints why. */
bool overwrites_other_file()
{
  if (!opt_output || opt_no_render || opt_overwrite ||
      !g_file_test(opt_output, G_FILE_TEST_EXISTS) || montage_tool::made_by_gst_montage(opt_output))
    return false;
  fprintf(stderr,
          "gst-montage: -o %s exists and is not a montage made by gst-montage: give --overwrite "
          "(-y) to replace it, or another file name\n",
          shown(opt_output).c_str());
  return true;
}

/* Whether a file the tool writes (-o, --plan-json, --export, --storyboard)
 * is the song or one of the clips, which it would overwrite. Prints why. The
 * inputs' identities are taken once, and only where an output exists. */
bool overwrites_inputs(const std::vector<std::string> &clips)
{
  std::vector<std::pair<std::string, const char *>> inputs; /* identity, path */
  for (const auto &[what, path] : outputs()) {
    const std::string id = file_identity(path);
    if (id.empty())
      continue;
    if (inputs.empty()) {
      if (opt_music)
        inputs.emplace_back(file_identity(opt_music), opt_music);
      for (const std::string &clip : clips)
        inputs.emplace_back(file_identity(clip.c_str()), clip.c_str());
    }
    for (const auto &[input_id, input] : inputs)
      if (input_id == id) {
        fprintf(stderr,
                "gst-montage: %s %s is the same file as the input %s, which it would overwrite: "
                "give another file name\n",
                what, shown(path).c_str(), shown(input).c_str());
        return true;
      }
  }
  return false;
}

/* Whether `path` names an MP4 file, the only container the montage is
 * written in: .mp4, .m4v or .mov (any case). A name without one of these
 * (another extension, or none) is refused rather than given an MP4 that its
 * name says is something else. */
bool has_extension(const char *path, std::initializer_list<const char *> extensions)
{
  const char *dot = strrchr(path, '.');
  if (!dot || strchr(dot, G_DIR_SEPARATOR))
    return false;
  for (const char *ext : extensions)
    if (!g_ascii_strcasecmp(dot, ext))
      return true;
  return false;
}
bool mp4_file_name(const char *path)
{
  return has_extension(path, {".mp4", ".m4v", ".mov"});
}

/* The largest output frame: H.264's highest level, 6.2 (ITU-T H.264 Table
 * A-1), allows 139264 macroblocks of 16x16 in a frame (8192x4320 is 138240),
 * and each side is kept to 8192 pixels, the width the level's largest sizes
 * are quoted at. A larger frame failed only in the encoder, reported as an
 * error of the input; it is refused before any work. */
constexpr gint kMaxSide = 8192;
constexpr gint64 kMaxMacroblocks = 139264;

/* --size WxH: even sides from 16 to kMaxSide, within kMaxMacroblocks. */
bool parse_size(const char *s, gint &w, gint &h)
{
  if (!s)
    return false;
  gchar **parts = g_strsplit(s, "x", 3);
  guint64 uw = 0, uh = 0;
  const bool numbers = g_strv_length(parts) == 2 &&
                       g_ascii_string_to_unsigned(parts[0], 10, 16, kMaxSide, &uw, nullptr) &&
                       g_ascii_string_to_unsigned(parts[1], 10, 16, kMaxSide, &uh, nullptr);
  g_strfreev(parts);
  if (!numbers || uw % 2 || uh % 2 || ((uw + 15) / 16) * ((uh + 15) / 16) > kMaxMacroblocks)
    return false;
  w = (gint)uw;
  h = (gint)uh;
  return true;
}

/* The shortest montage -d asks for, in seconds. Shorter, there is no room
 * for a cut on the beat (one beat is 1 s at 60 BPM, 0.25 s at 240), and the
 * edit, which ends on a beat near the length asked for, came out as one
 * shot up to the first beat: -d 0.001 made a 0.2 s file. Checked before any
 * work, as a typo (0.001 for 0:01?) should not cost an analysis first. */
constexpr double kMinDurationSeconds = 1.0;

/* --duration: seconds, at least kMinDurationSeconds and less than a
 * timeline holds (GstClockTime nanoseconds, signed: about 292 years).
 * Prints why not. */
bool parse_duration(const char *s, GstClockTime &out)
{
  /* Decimal digits and points only: strtod also took " 5", "0x10" (16 s)
   * and "1e2". A second point, or none of the digits, is caught by strtod's
   * end below. */
  const bool plain = strspn(s, "0123456789.") == strlen(s);
  gchar *end = nullptr;
  const double seconds = plain ? g_ascii_strtod(s, &end) : 0.0;
  if (!plain || end == s || *end != '\0') {
    fprintf(stderr,
            "gst-montage: --duration %s: give the length in seconds, such as 30 or 92.5, or "
            "leave -d out for the whole song\n",
            s);
    return false;
  }
  if (!(seconds >= kMinDurationSeconds)) { /* also NaN */
    fprintf(stderr,
            "gst-montage: --duration %s: give a length of at least %g second (a shorter "
            "montage has no room for a cut on the beat), or leave -d out for the whole song\n",
            s, kMinDurationSeconds);
    return false;
  }
  if (seconds * GST_SECOND >= (double)G_MAXINT64) {
    fprintf(stderr,
            "gst-montage: --duration %s is too long: give seconds, or leave -d out for the "
            "whole song\n",
            s);
    return false;
  }
  out = (GstClockTime)std::llround(seconds * GST_SECOND);
  return true;
}

bool parse_tempo(const char *s, montage_tool::TempoRange &t)
{
  if (!s)
    return false;
  gchar *end = nullptr;
  t.min_bpm = g_ascii_strtod(s, &end);
  if (end == s || *end != '-')
    return false;
  const gchar *second = end + 1;
  t.max_bpm = g_ascii_strtod(second, &end);
  return end != second && *end == '\0' && montage::BeatTracker::tempo_range_ok(t.min_bpm, t.max_bpm);
}

/* The output frame rates --fps takes, in frames a second: from a slide show
 * (1) to the fastest H.264 encoders' and displays' (240). */
constexpr guint64 kMinFps = 1, kMaxFps = 240;

/* --fps N or N/D: whole numbers only (decimal digits, nothing before or
 * after), D more than 0, the rate N/D from kMinFps to kMaxFps. sscanf("%d")
 * took "30abc" as 30 and "481/2" (240.5) as within 240. */
bool parse_fps(const char *s, gint &n, gint &d)
{
  if (!s)
    return false;
  gchar **parts = g_strsplit(s, "/", 3);
  const guint n_parts = g_strv_length(parts);
  guint64 un = 0, ud = 1;
  const bool numbers =
      (n_parts == 1 || n_parts == 2) &&
      g_ascii_string_to_unsigned(parts[0], 10, 1, G_MAXINT, &un, nullptr) &&
      (n_parts == 1 || g_ascii_string_to_unsigned(parts[1], 10, 1, G_MAXINT, &ud, nullptr));
  g_strfreev(parts);
  if (!numbers || un < kMinFps * ud || un > kMaxFps * ud)
    return false;
  /* In lowest terms: 60000/2002 is 30000/1001, as the plan and the exports
   * name it (its drop-frame timecode). */
  const guint64 g = std::gcd(un, ud);
  n = (gint)(un / g);
  d = (gint)(ud / g);
  return true;
}

/* --cache-dir "": refused (an empty path put the cache's entries in the
 * current directory), as an empty $GST_MONTAGE_CACHE_DIR is taken as unset.
 * Prints why; `command` names the command in the message. */
bool cache_dir_ok(const char *command)
{
  if (!opt_cache_dir || *opt_cache_dir)
    return true;
  fprintf(stderr,
          "%s: --cache-dir is empty: give the cache's directory, or leave the option out for "
          "%s\n",
          command, montage::AnalysisCache::default_dir().c_str());
  return false;
}

std::string cache_dir()
{
  return opt_cache_dir ? opt_cache_dir : montage::AnalysisCache::default_dir();
}

struct Job {
  Job(std::string p, bool song) : path(std::move(p)), is_song(song) {}
  std::string path;
  bool is_song = false;
  bool from_dir = false; /* found in a directory named on the command line */
  bool montage = false;  /* from a directory, and a montage this tool made: skipped */
  bool ok = false;
  bool cached = false;
  GError *error = nullptr;
  montage::ClipAnalysis clip;
};

/* Whether `job` is a file found in a clip directory that is not media (a
 * camera card's .THM, .XML or .json sidecar): these are summed up in one
 * line (report_not_media_in_dirs()) rather than a warning each, which
 * flooded the output; a file named itself keeps its own warning. */
bool not_media_in_dir(const Job &job)
{
  return job.from_dir && !job.ok &&
         g_error_matches(job.error, GST_STREAM_ERROR, GST_STREAM_ERROR_TYPE_NOT_FOUND);
}

/* True when `job` is a clip from a folder that is the song itself (the
 * same file as -m: music kept beside the clips) and has no picture: it is
 * the song, not a bad clip, so it gets no "skipping" warning. A video file
 * given as -m and found in a clip folder is still a clip (its pictures are
 * used). */
bool song_in_dir(const Job &job, const std::string &song_id)
{
  return job.from_dir && !job.ok && !song_id.empty() &&
         g_error_matches(job.error, GST_STREAM_ERROR, GST_STREAM_ERROR_WRONG_TYPE) &&
         file_identity(job.path.c_str()) == song_id;
}

/* The line for the files not_media_in_dir() holds back
 * (montage_tool::not_media_in_dirs()); -v gives each its own warning
 * instead. */
void report_not_media_in_dirs(const std::vector<Job> &jobs)
{
  if (opt_verbose)
    return;
  std::vector<std::string> names;
  for (const Job &job : jobs)
    if (not_media_in_dir(job))
      names.push_back(montage_tool::shown_base_name(job.path));
  if (!names.empty())
    warn("%s", montage_tool::not_media_in_dirs(names).c_str());
}

/* Set (under the cache's lock) when an analysis could not be stored in the
 * cache: the warning names the directory and the reason once, and no
 * other store is tried this run (a directory that cannot be written, or a
 * full disk, gave the same warning for every input). Entries already
 * there are still read. */
bool g_cache_unwritable = false;

/* Analyses one input, through the cache unless --no-cache; stores its
 * analysis there unless g_cache_unwritable. */
void run_job(Job &job, size_t index, montage::SongAnalysis &song, montage::AnalysisCache *cache,
             std::mutex &cache_lock)
{
  using namespace montage_tool;
  montage::CacheKeyInput key_input{
      job.path, job.is_song ? kSongAnalyser : kClipAnalyser,
      job.is_song ? kSongAnalysisVersion : kClipAnalysisVersion,
      job.is_song ? song_analysis_params(g_tempo) : clip_analysis_params(opt_full_decode),
      (bool)opt_verify};
  montage::CacheKind kind = job.is_song ? montage::CacheKind::kSong : montage::CacheKind::kClip;
  /* An earlier montage kept beside the clips is no footage: skipped before
   * the cache or the analysis (montage_in_dir()). Named itself, it is. */
  if (job.from_dir && !job.is_song && made_by_gst_montage(job.path)) {
    job.montage = true;
    g_progress->item(index, job.path, 1.0, true);
    return;
  }
  std::string key;
  if (cache && g_file_test(job.path.c_str(), G_FILE_TEST_IS_REGULAR))
    key = montage::cache_key(key_input, kind, nullptr);
  gchar *uri = gst_filename_to_uri(job.path.c_str(), nullptr);
  std::string current_uri = uri ? uri : "";
  g_free(uri);

  bool hit = false;
  if (!key.empty()) {
    std::lock_guard<std::mutex> guard(cache_lock);
    hit = job.is_song ? cache->load_song(key, song) : cache->load_clip(key, job.clip);
  }
  if (hit) {
    /* Content-addressed: the same file may have moved since. */
    if (job.is_song) {
      song.uri = current_uri;
    } else {
      job.clip.path = job.path;
      job.clip.uri = current_uri;
    }
    job.ok = job.cached = true;
    g_progress->item(index, job.path, 1.0, true);
    return;
  }
  const std::string empty = empty_file(job.path);
  if (!empty.empty()) {
    g_set_error_literal(&job.error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, empty.c_str());
    g_progress->item(index, job.path, 1.0, true);
    return;
  }
  if (!job.is_song && gif_image(job.path.c_str())) {
    g_set_error_literal(&job.error, GST_STREAM_ERROR, GST_STREAM_ERROR_WRONG_TYPE,
                        still_image(job.path).c_str());
    g_progress->item(index, job.path, 1.0, true);
    return;
  }
  ProgressFunc progress = [&](GstClockTime pos, GstClockTime dur) {
    if (GST_CLOCK_TIME_IS_VALID(dur) && dur > 0)
      g_progress->item(index, job.path, (double)pos / dur);
  };
  job.ok = job.is_song
               ? analyse_song(job.path, song, &job.error, progress, 30 * GST_SECOND, g_tempo)
               : analyse_clip(job.path, job.clip, &job.error, progress, 30 * GST_SECOND,
                              opt_full_decode);
  g_progress->item(index, job.path, 1.0, true);
  /* A still image analyses as no frames: say what it is. */
  if (!job.ok && !job.is_song) {
    const std::string still = still_image(job.path);
    if (!still.empty()) {
      g_clear_error(&job.error);
      g_set_error_literal(&job.error, GST_STREAM_ERROR, GST_STREAM_ERROR_WRONG_TYPE, still.c_str());
    }
  }
  if (job.ok && !key.empty()) {
    GError *err = nullptr;
    std::lock_guard<std::mutex> guard(cache_lock);
    if (g_cache_unwritable)
      return;
    bool stored = job.is_song ? cache->store_song(key, song, &err)
                              : cache->store_clip(key, job.clip, &err);
    if (!stored) {
      warn("cannot cache the analysis in %s, so this run stores none (the analyses are used, "
           "only not kept): %s",
           shown(cache->dir()).c_str(), err->message);
      g_clear_error(&err);
      g_cache_unwritable = true;
    }
  }
}

/* --tempo: where the range kept the beat tracker off the music's own
 * tempo, a warning saying so (montage::check_tempo_range() on the song's
 * analyses within the range, `song`, and over the whole range; the latter
 * from the cache, or made and stored there: one more pass over the song
 * the first time, every time with --no-cache; 0.5-0.8 s for a 77 s song).
 * The montage keeps the range's beats: the user chose the range. */
void warn_if_tempo_outside_range(const std::string &path, const montage::SongAnalysis &song,
                                 montage::AnalysisCache *cache, std::mutex &cache_lock)
{
  using namespace montage_tool;
  const TempoRange whole_range;
  if (g_tempo.whole() || song.beats.empty())
    return;
  std::string key;
  if (cache && g_file_test(path.c_str(), G_FILE_TEST_IS_REGULAR))
    key = montage::cache_key({path, kSongAnalyser, kSongAnalysisVersion,
                              song_analysis_params(whole_range), (bool)opt_verify},
                             montage::CacheKind::kSong, nullptr);
  montage::SongAnalysis whole;
  bool have = false;
  if (!key.empty()) {
    std::lock_guard<std::mutex> guard(cache_lock);
    have = cache->load_song(key, whole);
  }
  if (!have) {
    info("  song %s: reading its tempo over the whole range too (--tempo check)",
         shown(path).c_str());
    GError *err = nullptr;
    have = analyse_song(path, whole, &err, {}, 30 * GST_SECOND, whole_range);
    g_clear_error(&err);
    if (have && !key.empty() && !g_cache_unwritable) {
      std::lock_guard<std::mutex> guard(cache_lock);
      cache->store_song(key, whole, &err);
      g_clear_error(&err);
    }
  }
  if (!have)
    return;
  const montage::TempoRangeCheck check =
      montage::check_tempo_range(song.beats, whole.beats, g_tempo.min_bpm, g_tempo.max_bpm);
  if (!check.outside)
    return;
  const double ratio = check.range_bpm / check.music_bpm;
  const bool half = std::fabs(ratio / 0.5 - 1) <= 0.08, twice = std::fabs(ratio / 2.0 - 1) <= 0.08;
  const double lo = std::max(montage::BeatTracker::kMinBpm, std::round(check.music_bpm * 0.8));
  const double hi = std::min(montage::BeatTracker::kMaxBpm, std::round(check.music_bpm * 1.25));
  /* Half or double time whose beats miss the music's: the two readings put
   * the beat on different halves of one grid, and either can be the wrong
   * one (a 30 s excerpt of stg0 reads 75 BPM on the off-beats over the
   * whole range, 150 on the beats within 100-200; trial h138), so the
   * user is asked to listen, not told the range is wrong. */
  if (half || twice)
    warn(
        "the music's tempo looks like %.0f BPM, outside --tempo %s: the beats found within it are "
        "at %.0f BPM, its %s time, but not on its beats (%.0f%% agree), so one of the two readings "
        "puts the cuts between the beats; listen to the montage: if its cuts fall off the beat, "
        "give --tempo a range that holds %.0f BPM, such as %.0f-%.0f, or leave --tempo out",
        check.music_bpm, opt_tempo, check.range_bpm, half ? "half" : "double",
        100 * check.agreement, check.music_bpm, lo, hi);
  else
    warn("the music's tempo looks like %.0f BPM, outside --tempo %s: the beats found within it are "
         "at %.0f BPM (%.0f%% of them on the music's beats), so the cuts fall off the beat; give "
         "--tempo a range that holds %.0f BPM, such as %.0f-%.0f, or leave --tempo out",
         check.music_bpm, opt_tempo, check.range_bpm, 100 * check.agreement, check.music_bpm, lo,
         hi);
}

/* --style given as a file (a path, or a name ending .style, as
 * load_style() reads it): refused when empty (it was taken silently as the
 * defaults) or not text (a song given by mistake had its bytes printed in the
 * key file parser's message). Prints why. */
bool style_file_is_text(const char *style)
{
  if (!strchr(style, G_DIR_SEPARATOR) && !g_str_has_suffix(style, ".style"))
    return true; /* a style's name */
  gchar *contents = nullptr;
  gsize length = 0;
  if (!g_file_get_contents(style, &contents, &length, nullptr))
    return true; /* load_style() says why */
  const char *why = nullptr;
  if (strspn(contents, " \t\r\n") == length) /* nothing, or only blank lines */
    why = "is empty: a .style file sets at least one key (see docs/planner.md)";
  else if (memchr(contents, '\0', length) || !g_utf8_validate(contents, (gssize)length, nullptr))
    why = "is not a text file: a .style file is a key file of [groups] and key=value lines "
          "(see docs/planner.md)";
  g_free(contents);
  if (why)
    fprintf(stderr, "gst-montage: --style %s %s\n", shown(style).c_str(), why);
  return !why;
}

int cmd_cache(int argc, char **argv)
{
  gboolean stats = FALSE, clear = FALSE;
  const GOptionEntry entries[] = {
      {"stats", 0, 0, G_OPTION_ARG_NONE, &stats, "Print the number and size of entries", nullptr},
      {"clear", 0, 0, G_OPTION_ARG_NONE, &clear, "Remove every entry", nullptr},
      {"cache-dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_cache_dir, "Cache directory", "DIR"},
      {}};
  g_set_prgname("gst-montage-1.0 cache"); /* the usage line's command */
  GOptionContext *ctx = g_option_context_new("--stats | --clear - the analysis cache");
  g_option_context_add_main_entries(ctx, entries, nullptr);
  GError *err = nullptr;
  bool parsed = g_option_context_parse(ctx, &argc, &argv, &err);
  g_option_context_free(ctx);
  if (!parsed || stats == clear) {
    fprintf(stderr, "gst-montage cache: %s\nUse 'gst-montage-1.0 cache --stats' or '--clear'.\n",
            err ? err->message : "give exactly one of --stats and --clear");
    g_clear_error(&err);
    return 2;
  }
  if (argc > 1) {
    fprintf(stderr,
            "gst-montage cache: %s: the cache command takes no file (--stats or --clear, "
            "and --cache-dir DIR)\n",
            argv[1]);
    return 2;
  }
  if (!cache_dir_ok("gst-montage cache"))
    return 2;
  const std::string dir = cache_dir();
  if (g_file_test(dir.c_str(), G_FILE_TEST_EXISTS) &&
      !g_file_test(dir.c_str(), G_FILE_TEST_IS_DIR)) {
    fprintf(stderr,
            "gst-montage cache: %s is not a directory: give the cache's directory (--cache-dir "
            "or $GST_MONTAGE_CACHE_DIR)\n",
            shown(dir).c_str());
    return 1;
  }
  montage::AnalysisCache cache(dir);
  if (clear) {
    if (!cache.clear(&err)) {
      fprintf(stderr, "gst-montage cache: %s\n", err->message);
      g_clear_error(&err);
      return 1;
    }
    printf("cache %s cleared\n", cache.dir().c_str());
    return 0;
  }
  montage::CacheStats s = cache.stats();
  printf("cache %s: %" G_GUINT64_FORMAT " entries, %.1f MiB of %.0f MiB\n", cache.dir().c_str(),
         s.entries, s.bytes / 1048576.0, cache.max_bytes() / 1048576.0);
  return 0;
}

/* Whether `signum` is ignored (SIG_IGN) now. Where the tool was started with
 * SIGINT or SIGTERM ignored (a background job of a POSIX shell, nohup),
 * every stage keeps ignoring it: the handlers below are only installed
 * where the signal was not ignored. */
bool signal_ignored(int signum)
{
  struct sigaction sa = {};
  return sigaction(signum, nullptr, &sa) == 0 && sa.sa_handler == SIG_IGN;
}

/* Ctrl-C (SIGINT) and SIGTERM while rendering: GLib sources on the default
 * main context (iterated by the render's waits about every 50 ms, whether
 * or not the render makes progress, and from its progress callback) cancel
 * the render, which removes its partial file; the tool then
 * exits with 128 + the signal's number. A signal ignored when the render
 * began (signal_ignored()) stays ignored: GLib's handler would replace
 * SIG_IGN. */
class RenderInterrupt
{
public:
  RenderInterrupt()
      : sigint_(signal_ignored(SIGINT) ? 0 : g_unix_signal_add(SIGINT, on_sigint, this)),
        sigterm_(signal_ignored(SIGTERM) ? 0 : g_unix_signal_add(SIGTERM, on_sigterm, this))
  {
  }
  ~RenderInterrupt()
  {
    if (sigint_)
      g_source_remove(sigint_);
    if (sigterm_)
      g_source_remove(sigterm_);
    g_object_unref(cancellable_);
  }
  RenderInterrupt(const RenderInterrupt &) = delete;
  RenderInterrupt &operator=(const RenderInterrupt &) = delete;

  GCancellable *cancellable() const { return cancellable_; }
  int signum() const { return signum_; } /* 0 when none came */
  /* Dispatches a signal that came since the last call. */
  static void poll() { g_main_context_iteration(nullptr, FALSE); }

private:
  static gboolean on_sigint(gpointer self)
  {
    return static_cast<RenderInterrupt *>(self)->on(SIGINT);
  }
  static gboolean on_sigterm(gpointer self)
  {
    return static_cast<RenderInterrupt *>(self)->on(SIGTERM);
  }
  gboolean on(int signum)
  {
    if (!signum_)
      signum_ = signum;
    g_cancellable_cancel(cancellable_);
    return G_SOURCE_CONTINUE;
  }

  GCancellable *cancellable_ = g_cancellable_new();
  guint sigint_, sigterm_;
  int signum_ = 0;
};

/* Ctrl-C (SIGINT) and SIGTERM during the analysis and the planning: the tool
 * ended with 128 + the signal's number and said nothing. Now a handler
 * writes one line saying what stopped and what is kept, and ends the process
 * with that status (the analysis pipelines have written nothing but cache
 * entries, and the plan's side outputs nothing but whole files: each is
 * written to a temporary file and renamed; a temporary file a stopped run
 * leaves stays until `cache --clear`, or beside the side output). The line
 * is made before the stage, as a handler may call only async-signal-safe
 * functions (write(), _exit()); only the count of finished inputs is
 * formatted in it. A signal ignored when the stage began stays ignored.
 * From construction to destruction; one at a time. */
class StageInterrupt
{
public:
  /* The analysis: "analysis stopped after N of `total` inputs; no output
   * written; `kept`", `kept` such as "kept in the cache DIR". */
  StageInterrupt(const std::atomic<size_t> &done, size_t total, const std::string &kept,
                 bool terminal)
  {
    gchar *head = g_strdup_printf("%sgst-montage: interrupted: analysis stopped after ",
                                  terminal ? "\r\033[K" : "");
    gchar *tail = g_strdup_printf(" of %zu inputs; no output written; %s\n", total, kept.c_str());
    install(head, &done, tail);
    g_free(head);
    g_free(tail);
  }
  /* Any other stage: the line `line` (without its line end). */
  explicit StageInterrupt(const std::string &line) { install(line + "\n", nullptr, ""); }
  /* From now on the line `line` (without its line end), in place of the
   * one given: written to the spare buffer, then made the one said, so the
   * handler stays installed throughout and reads a whole line. */
  void relabel(const std::string &line)
  {
    char *spare = head_.load() == lines_[0] ? lines_[1] : lines_[0];
    g_strlcpy(spare, valid_utf8((line + "\n").c_str()).c_str(), sizeof lines_[0]);
    head_.store(spare);
  }
  ~StageInterrupt()
  {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  StageInterrupt(const StageInterrupt &) = delete;
  StageInterrupt &operator=(const StageInterrupt &) = delete;

private:
  void install(const std::string &head, const std::atomic<size_t> *done, const std::string &tail)
  {
    done_ = done;
    g_strlcpy(lines_[0], valid_utf8(head.c_str()).c_str(), sizeof lines_[0]);
    head_.store(lines_[0]);
    g_strlcpy(tail_, valid_utf8(tail.c_str()).c_str(), sizeof tail_);
    struct sigaction sa = {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, nullptr, &old_int_);
    if (old_int_.sa_handler != SIG_IGN)
      sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, nullptr, &old_term_);
    if (old_term_.sa_handler != SIG_IGN)
      sigaction(SIGTERM, &sa, nullptr);
  }
  static void on_signal(int signum)
  {
    char digits[24];
    size_t n = 0;
    for (size_t v = done_ ? done_->load() : 0; done_ && (n == 0 || v); v /= 10)
      digits[n++] = (char)('0' + v % 10);
    char count[24];
    for (size_t i = 0; i < n; i++)
      count[i] = digits[n - 1 - i];
    const char *head = head_.load();
    if (write(STDERR_FILENO, head, strlen(head)) < 0 || write(STDERR_FILENO, count, n) < 0 ||
        write(STDERR_FILENO, tail_, strlen(tail_)) < 0) {
      /* Nothing to do: the status still says how the tool ended. */
    }
    _exit(128 + signum);
  }

  static inline const std::atomic<size_t> *done_ = nullptr;
  static inline char lines_[2][4096] = {"", ""};
  static inline std::atomic<const char *> head_{lines_[0]}; /* lock-free: read in the handler */
  static inline char tail_[4096] = "";
  struct sigaction old_int_ = {}, old_term_ = {};
};

/* One warning line for each option given that has no effect beside
 * another (they were taken without a word, trial h114): -q with -v
 * (--quiet is taken: -v is dropped), --cache-dir with --no-cache or --live
 * (no cache is used), and with --no-render: -o (dropped, so neither its
 * name nor its directory is checked), --encoder, --overwrite, and --size
 * and --preview where no --export takes the frame size. The run goes on. */
void warn_unused_options()
{
  if (opt_quiet && opt_verbose) {
    warn("-q (--quiet) and -v (--verbose) given together: --quiet is taken, -v has no effect");
    opt_verbose = FALSE;
  }
  if (opt_cache_dir && (opt_no_cache || opt_live))
    warn("--cache-dir %s has no effect: %s", shown(opt_cache_dir).c_str(),
         opt_no_cache ? "--no-cache reads and stores no analysis"
                      : "--live analyses nothing beforehand and uses no cache");
  if (!opt_no_render)
    return;
  const char *why = "--no-render writes no montage";
  if (opt_output) {
    warn("-o %s has no effect: %s", shown(opt_output).c_str(), why);
    g_clear_pointer(&opt_output, g_free);
  }
  if (opt_encoder)
    warn("--encoder %s has no effect: %s", shown(opt_encoder).c_str(), why);
  if (opt_overwrite)
    warn("--overwrite has no effect: %s", why);
  if (!opt_exports && opt_size)
    warn("--size %s has no effect: %s (with --export it sets the edit's frame size)",
         shown(opt_size).c_str(), why);
  if (!opt_exports && opt_preview)
    warn("--preview has no effect: %s (with --export it sets the edit's frame size)", why);
}

int cmd_make(int argc, char **argv)
{
  /* The usage line already shows CLIP_OR_DIR... from the G_OPTION_REMAINING entry. */
  GOptionContext *ctx = g_option_context_new("- make a beat-synced montage");
  g_option_context_set_summary(
      ctx, "Cuts the clips (files, or directories of files) to the beats of the song and writes an "
           "MP4.\nExample: gst-montage-1.0 -m song.ogg -o montage.mp4 -d 30 clips/\n"
           "Also: gst-montage-1.0 cache --stats|--clear\n"
           "      gst-montage-1.0 extract SONG.aac --start S --end S -o OUT.wav");
  g_option_context_add_main_entries(ctx, kEntries, nullptr);
  g_option_context_add_group(ctx, gst_init_get_option_group());
  GError *err = nullptr;
  if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
    fprintf(stderr, "gst-montage: %s\nRun 'gst-montage-1.0 --help' for usage.\n", err->message);
    return 2;
  }
  g_option_context_free(ctx);
  if (opt_version) {
    gchar *gst = gst_version_string(); /* "GStreamer 1.22.0" */
    printf("gst-montage-1.0 %s (%s)\n", VERSION, gst);
    g_free(gst);
    return 0;
  }
  if (opt_list_styles) {
    for (const std::string &name : montage::builtin_style_names()) {
      montage::Style style;
      if (montage::load_style(name, style, nullptr))
        printf("%-12s %s\n", name.c_str(), style.description.c_str());
    }
    return 0;
  }
  montage::Style style = montage::default_style();
  if (opt_style && !style_file_is_text(opt_style))
    return 2;
  if (opt_style && !montage::load_style(opt_style, style, &err)) {
    /* The message names the style itself. */
    fprintf(stderr, "gst-montage: --style: %s\n", valid_utf8(err->message).c_str());
    g_clear_error(&err);
    return 2;
  }
  if (opt_jobs != kJobsAuto && opt_jobs < 1) {
    fprintf(stderr,
            "gst-montage: --jobs %d: give the number of analysis pipelines to run at once, at "
            "least 1, or leave -j out for one per processor\n",
            opt_jobs);
    return 2;
  }
  /* The whole guint64 range, as the planner's and montageselect's seeds
   * take; no sign, no spaces (g_ascii_string_to_unsigned()). */
  if (opt_seed_text &&
      !g_ascii_string_to_unsigned(opt_seed_text, 10, 0, G_MAXUINT64, &opt_seed, nullptr)) {
    fprintf(stderr,
            "gst-montage: --seed %s: give a whole number from 0 to 18446744073709551615, or "
            "leave --seed out for 1\n",
            shown(opt_seed_text).c_str());
    return 2;
  }
  for (gchar **e = opt_exports; e && *e; e++)
    if (montage::export_format_for_path(*e) == montage::ExportFormat::kUnknown) {
      fprintf(stderr, "gst-montage: --export %s: use a .xges, .edl, .otio or .fcpxml file name\n",
              shown(*e).c_str());
      return 2;
    }
  /* The storyboard is drawn as PNG only: sb.jpg got PNG data. */
  if (opt_storyboard && !has_extension(opt_storyboard, {".png"})) {
    fprintf(stderr, "gst-montage: --storyboard %s: the storyboard is drawn as PNG: name it .png\n",
            shown(opt_storyboard).c_str());
    return 2;
  }
  warn_unused_options();
  if (!opt_music || (!opt_output && !opt_no_render) || !opt_inputs || !opt_inputs[0]) {
    fprintf(stderr, "gst-montage: need a song (-m), an output (-o) and at least one clip or "
                    "directory.\nRun 'gst-montage-1.0 --help' for usage.\n");
    return 2;
  }
  if (!cache_dir_ok("gst-montage"))
    return 2;
  if (opt_output && !mp4_file_name(opt_output)) {
    fprintf(stderr,
            "gst-montage: -o %s: the montage is written as MP4 (H.264 and AAC): name it "
            ".mp4, .m4v or .mov\n",
            shown(opt_output).c_str());
    return 2;
  }
  gint width = opt_preview ? 640 : 1280, height = opt_preview ? 360 : 720;
  if (opt_size && !parse_size(opt_size, width, height)) {
    fprintf(stderr,
            "gst-montage: --size %s: give WIDTHxHEIGHT, even numbers from 16 to %d, at "
            "most %" G_GINT64_FORMAT " macroblocks of 16x16 (H.264 level 6.2), such as "
            "1920x1080, 3840x2160 or 8192x4320\n",
            opt_size, kMaxSide, kMaxMacroblocks);
    return 2;
  }
  gint fps_n = 30, fps_d = 1;
  if (opt_fps && !parse_fps(opt_fps, fps_n, fps_d)) {
    fprintf(stderr,
            "gst-montage: --fps %s: give the frame rate as N or N/D frames a second, whole "
            "numbers, from %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT
            ", such as 30, 25 or 30000/1001\n",
            opt_fps, kMinFps, kMaxFps);
    return 2;
  }
  /* An .edl's two-digit timecode counts at most 99 fps: refused before the
   * analysis, not after it. */
  for (gchar **e = opt_exports; e && *e; e++)
    if (!montage::export_rate_ok(montage::export_format_for_path(*e), fps_n, fps_d, &err)) {
      fprintf(stderr, "gst-montage: --export %s: %s\n", shown(*e).c_str(), err->message);
      g_clear_error(&err);
      return 2;
    }
  if (opt_tempo && !parse_tempo(opt_tempo, g_tempo)) {
    fprintf(stderr, "gst-montage: --tempo %s: give MIN-MAX in BPM within 40-240, MIN below MAX, such as "
                    "130-240\n",
            opt_tempo);
    return 2;
  }
  GstClockTime duration = GST_CLOCK_TIME_NONE; /* the whole song */
  if (opt_duration && !parse_duration(opt_duration, duration))
    return 2;
  if (opt_live && (opt_plan_json || opt_exports || opt_storyboard || opt_no_render)) {
    fprintf(stderr, "gst-montage: --live cuts as the song plays and makes no plan: --plan-json, "
                    "--export, --storyboard and --no-render are for the planned montage (leave "
                    "out --live)\n");
    return 2;
  }
  if (opt_live && !opt_output) {
    fprintf(stderr, "gst-montage: --live needs an output (-o)\n");
    return 2;
  }
  follow_output_links();
  if (!outputs_usable(outputs()))
    return 2;
  remove_stale_partials(outputs());
  std::set<std::string> from_dirs;
  const std::vector<std::string> clip_paths = expand_inputs(opt_inputs, &from_dirs);
  if (overwrites_inputs(clip_paths) || overwrites_other_file())
    return 2;
  if (clip_paths.empty()) {
    /* Said before the song is analysed (folders that hold no file: each
     * said above), not after. */
    warn("no usable clip: give video files GStreamer can decode (for example MP4/H.264, "
         "WebM, AVI), or directories that hold them");
    return 1;
  }
  std::vector<std::string> encoders;
  if (opt_encoder)
    encoders.emplace_back(opt_encoder);
  for (const std::string &name : montage::h264_encoder_candidates())
    if (!opt_encoder || name != opt_encoder)
      encoders.push_back(name);
  if (opt_live) {
    montage_tool::LiveSettings live;
    live.song = opt_music;
    live.output = opt_output;
    live.duration = duration;
    live.style = opt_style ? opt_style : "balanced";
    live.seed = opt_seed;
    live.verbose = opt_verbose;
    live.from_dirs = from_dirs;
    const std::string song_id = file_identity(opt_music);
    for (const std::string &path : from_dirs)
      if (!song_id.empty() && file_identity(path.c_str()) == song_id)
        live.song_in_dirs.insert(path);
    live.quiet = opt_quiet;
    live.tempo = g_tempo;
    live.width = width;
    live.height = height;
    live.fps_n = fps_n;
    live.fps_d = fps_d;
    live.preview = opt_preview;
    live.encoders = encoders;
    return montage_tool::live_mix(clip_paths, live);
  }
  g_progress = std::make_unique<montage_tool::Progress>(!opt_quiet && isatty(fileno(stderr)));
  montage_tool::register_elements();

  /* 1. Analysis: the song and every clip, as many pipelines at once as cores. */
  gint64 t_start = g_get_monotonic_time();
  std::vector<Job> jobs;
  jobs.emplace_back(opt_music, true);
  for (const std::string &path : clip_paths) {
    jobs.emplace_back(path, false);
    jobs.back().from_dir = from_dirs.count(path) > 0;
  }
  std::unique_ptr<montage::AnalysisCache> cache;
  if (!opt_no_cache)
    cache = std::make_unique<montage::AnalysisCache>(cache_dir());
  std::mutex cache_lock; /* one AnalysisCache shared by the workers */
  const std::string song_id = file_identity(opt_music);
  montage::SongAnalysis song;
  std::atomic<size_t> next{0}, done{0};
  unsigned n_workers =
      opt_jobs != kJobsAuto ? (unsigned)opt_jobs : std::max(1u, g_get_num_processors());
  n_workers = std::min<unsigned>(n_workers, jobs.size());
  g_progress->begin_analysis(jobs.size());
  auto worker = [&]() {
    for (size_t i; (i = next++) < jobs.size();) {
      Job &job = jobs[i];
      gint64 t0 = g_get_monotonic_time();
      run_job(job, i, song, cache.get(), cache_lock);
      /* Counted before its lines are printed: a signal after them says it. */
      done++;
      gchar *took = job.cached ? g_strdup("cached") : g_strdup_printf("%.1f s", seconds_since(t0));
      if (job.ok && job.is_song) {
        info("  song %s: %zu beats, %.1f BPM, %.1f s (%s)", shown(job.path).c_str(),
             song.beats.size(), song.bpm, song.duration / 1e9, took);
        /* A truncated file plays what decodes: said, also where remarks
         * are not shown, as the montage comes out short (trial h114,
         * finding 10). */
        if (montage_tool::song_cut_short(song))
          warn("the song %s ends at %.2f s, its file states %.2f s (cut short?)",
               shown(job.path).c_str(), song.duration / 1e9, song.stated_duration / 1e9);
      } else if (job.ok)
        /* Its length: from its first frame (0.54 s into an MPEG program
         * stream) to its end; it said where the last frame ends. */
        info("  clip %s: %zu shot(s), %.1f s (%s; %s)", shown(job.path).c_str(),
             job.clip.shots.size(),
             (job.clip.duration - std::min(job.clip.duration, job.clip.first_frame)) / 1e9, took,
             job.clip.analysis_path.empty() ? "path unknown" : job.clip.analysis_path.c_str());
      g_free(took);
      if (job.montage) {
        if (!opt_quiet)
          warn("%s", montage_tool::montage_in_dir(job.path).c_str());
      } else if (!job.ok && !job.is_song && song_in_dir(job, song_id))
        info("  %s is the song (-m), not a clip: it has no video stream", shown(job.path).c_str());
      else if (!job.ok && !job.is_song && !(not_media_in_dir(job) && !opt_verbose))
        warn("skipping %s: %s", shown(job.path).c_str(), job.error->message);
    }
  };
  std::vector<std::thread> threads;
  {
    StageInterrupt interrupt(done, jobs.size(),
                             cache ? "the finished analyses are kept in the cache " + cache->dir() +
                                         ", and the next run takes them from there"
                                   : std::string("nothing is kept (--no-cache)"),
                             g_progress->enabled());
    for (unsigned i = 0; i < n_workers; i++)
      threads.emplace_back(worker);
    for (std::thread &t : threads)
      t.join();
  }
  g_progress->finish();
  if (jobs[0].ok)
    warn_if_tempo_outside_range(jobs[0].path, song, cache.get(), cache_lock);
  /* From here to the render: the plan, its side outputs, the storyboard. */
  const std::string analyses_kept = cache ? "the analyses are kept in the cache " + cache->dir() +
                                                ", and the next run takes them from there"
                                          : std::string("no analysis is kept (--no-cache)");
  auto planning = std::make_unique<StageInterrupt>(
      "gst-montage: interrupted: planning stopped, no montage made; " +
      (cache ? analyses_kept : std::string("nothing is kept (--no-cache)")));
  report_not_media_in_dirs(jobs);
  double t_analysis = seconds_since(t_start);
  size_t n_cached = std::count_if(jobs.begin(), jobs.end(), [](const Job &j) { return j.cached; });
  size_t n_analysed =
      std::count_if(jobs.begin(), jobs.end(), [](const Job &j) { return j.ok && !j.cached; });

  int status = 0;
  std::vector<montage::ClipAnalysis> clips;
  const std::string no_seek = montage::clip_analyse_path_text(montage::ClipAnalysePath::kFullNoSeek);
  for (Job &job : jobs) {
    if (job.is_song || !job.ok)
      continue;
    /* Rendering cuts each shot out of its clip by seeking to its in-point
     * (GES): a file that cannot seek would fail there, after the plan. */
    if (!opt_no_render && job.clip.analysis_path == no_seek) {
      warn("skipping %s: the file cannot seek, and rendering seeks to each shot's in-point; remux "
           "it into a container that can (Matroska, MP4), or plan and export the edit with "
           "--no-render",
           shown(job.path).c_str());
      continue;
    }
    clips.push_back(std::move(job.clip));
  }
  if (!jobs[0].ok) {
    warn("cannot use the song %s: %s", shown(opt_music).c_str(), jobs[0].error->message);
    status = 1;
  } else if (clips.empty()) {
    warn("no usable clip: give video files GStreamer can decode (for example MP4/H.264, "
         "WebM, AVI), or directories that hold them");
    status = 1;
  }
  for (Job &job : jobs)
    g_clear_error(&job.error);
  if (status)
    return status;

  /* Every clip at one frame rate that is not the output's, which was not
   * chosen (no --fps): a note gives the --fps that shows each of their
   * frames once, as an editor's timeline made from the clips takes their
   * rate; at the default 30, 25 fps footage shows every 5th frame twice
   * (trial h113). None where one rate is a whole multiple of the other. Clips of unknown or
   * variable rate (0/1) are not counted; a rate --fps does not take (outside 1-240) is not offered.
   */
  if (!opt_fps) {
    gint common_n = 0, common_d = 1;
    bool one_rate = true;
    for (const montage::ClipAnalysis &c : clips) {
      if (c.fps_n <= 0 || c.fps_d <= 0)
        continue;
      const gint g = std::gcd(c.fps_n, c.fps_d);
      if (common_n == 0) {
        common_n = c.fps_n / g;
        common_d = c.fps_d / g;
      } else if ((gint64)common_n * c.fps_d != (gint64)c.fps_n * common_d) {
        one_rate = false;
      }
    }
    /* A whole multiple either way (10 fps footage at 30, 60 at 30) shows
     * or drops frames evenly: no note. */
    const gint64 out_per_clip = (gint64)fps_n * common_d, clip_per_out = (gint64)common_n * fps_d;
    const bool even =
        common_n > 0 && (out_per_clip % clip_per_out == 0 || clip_per_out % out_per_clip == 0);
    if (one_rate && common_n > 0 && !even && common_n >= (gint64)kMinFps * common_d &&
        common_n <= (gint64)kMaxFps * common_d) {
      auto rate_text = [](gint n, gint d) {
        gchar *t = d == 1 ? g_strdup_printf("%d", n) : g_strdup_printf("%d/%d", n, d);
        std::string text(t);
        g_free(t);
        return text;
      };
      const std::string rate = rate_text(common_n, common_d);
      info("  note: %s at %s fps, which the montage's %s fps (the default) shows unevenly "
           "(some frames twice or left out, a judder): give --fps %s to show each of their "
           "frames once",
           clips.size() == 1 ? "the clip is" : "every clip is", rate.c_str(),
           rate_text(fps_n, fps_d).c_str(), rate.c_str());
    }
  }

  /* 2. Plan. */
  gint64 t_plan0 = g_get_monotonic_time();
  montage::PlanSettings settings;
  settings.fps_n = fps_n;
  settings.fps_d = fps_d;
  settings.seed = opt_seed;
  settings.style = style;
  settings.duration = duration;
  /* An .xges project loads whole in GES (Pitivi, ges-launch-1.0) only where
   * no clip reaches past the length its file states (export.h): the plan
   * keeps to it, and the montage rendered shows the same edit. The other
   * formats, and the render alone, use every frame the analysis decoded. */
  for (gchar **e = opt_exports; e && *e; e++)
    if (montage::export_format_for_path(*e) == montage::ExportFormat::kXges)
      settings.within_stated_length = true;
  montage::PlanResult result_plan;
  montage::Plan &plan = result_plan.plan;
  /* Side outputs of the latest plan that could not be written: each is
   * reported as it fails and named again on the last line (status 1), and
   * the montage is made all the same (a failed export used to end the run
   * before the render, losing the montage the user asked for). */
  std::vector<std::string> not_written;
  auto make_plan = [&]() -> bool {
    not_written.clear();
    try {
      result_plan = montage::plan_montage_explained(song, clips, settings);
    } catch (const montage::PlanError &e) {
      warn("cannot plan the montage: %s", e.what());
      return false;
    }
    /* The planner's warnings (montage::NoteSeverity: a clip left out, -d
     * longer than the song, cuts off the beat, footage reused, a shot
     * stepping back) are shown also where the remarks are not (no
     * terminal, a log): a clip left out vanished from scripted runs'
     * output, and a remark never told a CI log why the file came out
     * short. The plan JSON's note_details carry the same severities. */
    for (const montage::PlanNote &note : plan.notes) {
      if (note.severity == montage::NoteSeverity::kWarning)
        warn("%s", note.text.c_str());
      else
        info("  note: %s", note.text.c_str());
    }
    if (!opt_no_render) /* else the result line says it */
      info("planned %zu segment(s), %.2f s at %d/%d fps", plan.segments.size(), plan.duration / 1e9,
           plan.fps_n, plan.fps_d);
    if (opt_plan_json) {
      GError *json_err = nullptr;
      if (!montage::write_plan_json(result_plan, song, clips, opt_plan_json, &json_err)) {
        warn("cannot write the plan to %s (going on without it): %s", shown(opt_plan_json).c_str(),
             json_err->message);
        g_clear_error(&json_err);
        not_written.push_back(opt_plan_json);
      } else {
        info("edit decision list written to %s", shown(opt_plan_json).c_str());
      }
    }
    for (gchar **e = opt_exports; e && *e; e++) {
      montage::ExportOptions eo;
      eo.width = width;
      eo.height = height;
      GError *export_err = nullptr;
      if (!montage::export_plan(plan, song, clips, *e, eo, &export_err)) {
        warn("cannot write %s (going on without it): %s", shown(*e).c_str(), export_err->message);
        g_clear_error(&export_err);
        not_written.push_back(*e);
        continue;
      }
      info("edit exported to %s", shown(*e).c_str());
    }
    return true;
  };
  if (!make_plan())
    return 1;
  double t_plan = seconds_since(t_plan0);
  /* Interrupted after the plan's files are written (while the storyboard
   * is drawn, which takes seconds for a long plan, or before the render):
   * the line names the stage and the files kept, whole, as the plan made
   * them. It said "planning stopped" and nothing of them (trial h114). */
  auto stopped_after_plan = [&](const char *stage, bool board_written) {
    std::string kept;
    auto keep = [&](const char *path) {
      if (std::find(not_written.begin(), not_written.end(), path) == not_written.end())
        kept += (kept.empty() ? "" : ", ") + shown(path);
    };
    if (opt_plan_json)
      keep(opt_plan_json);
    for (gchar **e = opt_exports; e && *e; e++)
      keep(*e);
    if (board_written)
      keep(opt_storyboard);
    planning->relabel(std::string("gst-montage: interrupted: ") + stage + ", no montage made; " +
                      (kept.empty() ? "" : "the plan's files are whole and kept: " + kept + "; ") +
                      analyses_kept);
  };
  if (opt_storyboard)
    stopped_after_plan("drawing the storyboard stopped", false);
  /* The storyboard of the latest plan: drawn after the first, and again
   * after each plan made without a clip that failed in the render (it
   * showed the first plan's segments, of a clip the montage left out, while
   * the plan JSON and the exports were rewritten). `again` names the clip
   * left out. */
  bool board_lost = false;
  auto draw_board = [&](const std::string &again) {
    if (!opt_storyboard)
      return;
    montage::StoryboardOptions board;
    GError *board_err = nullptr;
    board_lost = !montage::write_storyboard(plan, song, clips, opt_storyboard, board, &board_err);
    if (board_lost) {
      warn("cannot draw the storyboard %s (going on without it): %s", shown(opt_storyboard).c_str(),
           board_err->message);
      g_clear_error(&board_err);
    } else if (again.empty()) {
      info("storyboard drawn to %s", shown(opt_storyboard).c_str());
    } else {
      info("storyboard drawn again to %s, without %s", shown(opt_storyboard).c_str(),
           shown(again).c_str());
    }
  };
  draw_board("");
  stopped_after_plan("stopped after planning", opt_storyboard && !board_lost);
  /* "; not written: A, B" for the last line, and the status: 1 when a side
   * output of the latest plan is missing. */
  auto missing = [&]() {
    std::vector<std::string> all = not_written;
    if (board_lost)
      all.push_back(opt_storyboard);
    std::string text;
    for (const std::string &path : all)
      text += (text.empty() ? "; not written: " : ", ") + shown(path.c_str());
    return text;
  };

  if (opt_no_render) {
    const std::string lost = missing();
    printf("planned %zu segment(s), %.2f s; analysis %.2f s (%zu analysed, %zu from cache), plan "
           "%.3f s (not rendered)%s\n",
           plan.segments.size(), plan.duration / 1e9, t_analysis, n_analysed, n_cached, t_plan,
           lost.c_str());
    return lost.empty() ? 0 : 1;
  }

  /* 3. Render: its own handlers (RenderInterrupt) from here. */
  planning.reset();
  gint64 t_render0 = g_get_monotonic_time();
  montage::RenderSettings render;
  render.output_path = opt_output;
  render.width = width;
  render.height = height;
  render.preview = opt_preview;
  auto timeline_options = [&]() {
    montage::TimelineOptions t;
    t.audio_fade_out = result_plan.fade_out;
    for (const montage::CutDecision &d : result_plan.decisions) {
      t.transitions.push_back(d.transition);
      t.transition_durations.push_back(d.transition_duration);
    }
    return t;
  };
  render.encoders = encoders;
  RenderInterrupt interrupt;
  render.cancellable = interrupt.cancellable();
  render.progress = [](GstClockTime pos, GstClockTime dur) {
    RenderInterrupt::poll();
    g_progress->render(pos, dur);
  };
  info("rendering %dx%d to %s...", width, height, shown(opt_output).c_str());
  montage::RenderResult result;
  bool rendered = false;
  /* A clip that analysed fine can still fail when GES seeks into it
   * (corruption past what analysis read; MPEG program streams, whose seeks
   * land late, are sent back further by the render): report it, leave it
   * out, plan again, and write the plan JSON, the exports and the
   * storyboard again from the new plan. */
  for (;;) {
    result = montage::RenderResult();
    render.timeline = timeline_options();
    rendered = montage::render_plan(plan, song, clips, render, &result, &err);
    g_progress->finish();
    auto bad = std::find_if(clips.begin(), clips.end(), [&](const montage::ClipAnalysis &c) {
      return !result.failed_uri.empty() && c.uri == result.failed_uri;
    });
    if (rendered || bad == clips.end() || clips.size() == 1)
      break;
    warn("skipping %s: it failed while rendering: %s", shown(bad->path).c_str(), err->message);
    g_clear_error(&err);
    const std::string left_out = bad->path;
    clips.erase(bad);
    if (!make_plan())
      return 1;
    draw_board(left_out);
  }
  if (!rendered && g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
    warn("interrupted: rendering stopped, %s not written", shown(opt_output).c_str());
    g_clear_error(&err);
    return 128 + interrupt.signum();
  }
  for (const std::string &f : result.fallbacks)
    warn("encoder not used: %s", f.c_str());
  /* What the render had to make up (a hole in the song filled with
   * silence, RenderResult::notes): the montage differs from the plan. */
  for (const std::string &n : result.notes)
    warn("%s", n.c_str());
  if (!rendered) {
    warn("rendering failed: %s", err->message);
    g_clear_error(&err);
    return 1;
  }
  /* The plan JSON, written before the render, said a dissolve where the
   * render made a cut (and nothing of a silent hole in the song): written
   * again as the file is, those segments' transitions cut, with the
   * render's notes as "render_notes" (planjson.h). */
  if (opt_plan_json && !result.notes.empty() &&
      std::find(not_written.begin(), not_written.end(), opt_plan_json) == not_written.end()) {
    montage::PlanResult rendered_plan = result_plan;
    for (std::size_t i : result.dissolves_cut)
      if (i < rendered_plan.decisions.size()) {
        rendered_plan.decisions[i].transition = montage::Transition::kCut;
        rendered_plan.decisions[i].transition_duration = 0;
      }
    GError *json_err = nullptr;
    if (!montage::write_plan_json(rendered_plan, song, clips, result.notes, opt_plan_json,
                                  &json_err)) {
      warn("cannot add the render's notes to the plan %s (it holds the plan as made): %s",
           shown(opt_plan_json).c_str(), json_err->message);
      g_clear_error(&json_err);
    }
  }
  double t_render = seconds_since(t_render0);
  const std::string lost = missing();
  printf("montage written to %s (%.2f s, %zu segments, %s); analysis %.2f s (%zu analysed, %zu "
         "from cache), plan %.3f s, render %.2f s%s\n",
         shown(opt_output).c_str(), plan.duration / 1e9, plan.segments.size(),
         result.encoder.c_str(), t_analysis, n_analysed, n_cached, t_plan, t_render, lost.c_str());
  return lost.empty() ? 0 : 1;
}

} // namespace

/* tools/extract.cpp: `gst-montage-1.0 extract SONG.aac --start S --end S -o OUT`. */
int montage_tool_extract(int argc, char **argv);

int main(int argc, char **argv)
{
  if (argc > 1 && g_strcmp0(argv[1], "extract") == 0) {
    gst_init(nullptr, nullptr);
    return montage_tool_extract(argc - 1, argv + 1);
  }
  if (argc > 1 && g_strcmp0(argv[1], "cache") == 0) {
    gst_init(nullptr, nullptr);
    return cmd_cache(argc - 1, argv + 1);
  }
  /* --cache-dir DIR (or --cache-dir=DIR) before the command: the option
   * belongs to both, so `--cache-dir X cache --stats` means what it says. */
  const int n_dir = argc > 1 && g_str_has_prefix(argv[1], "--cache-dir=") ? 1
                    : argc > 2 && g_strcmp0(argv[1], "--cache-dir") == 0  ? 2
                                                                          : 0;
  if (n_dir && argc > n_dir + 1 && g_strcmp0(argv[n_dir + 1], "cache") == 0) {
    gst_init(nullptr, nullptr);
    std::vector<char *> args(argv + n_dir + 1, argv + argc); /* "cache" and its options */
    args.insert(args.end(), argv + 1, argv + 1 + n_dir);
    args.push_back(nullptr);
    return cmd_cache((int)args.size() - 1, args.data());
  }
  return cmd_make(argc, argv);
}
