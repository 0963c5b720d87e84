/* gst-montage-1.0 extract: a sample-exact excerpt of an ADTS (raw AAC) song.
 *
 *   gst-montage-1.0 extract SONG.aac --start S --end S -o OUT.wav
 *                   [--priming none|ffmpeg|apple|SAMPLES] [--float]
 *                   [--cache-dir DIR] [--no-cache]
 *
 * Indexes the file's ADTS frames (headers only; the index is kept in the
 * analysis cache, cache.h, keyed by the file's content, so the next excerpt
 * of the same file loads it in well under a millisecond instead of scanning
 * the file again: 35 ms an hour), decodes [start, end) with one
 * frame of pre-roll and writes the samples whose times lie in that range to a
 * WAV file (16-bit PCM, or 32-bit float with --float), renamed into place when
 * complete. Exit status 0 on success, 1 when the excerpt cannot be made (the
 * reason on stderr), 2 on a usage error. See docs/adts.md.
 */
#include "text.h"

#include <gst/montage/adts.h>
#include <gst/montage/cache.h>

#include <glib/gstdio.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

#include <unistd.h>

int montage_tool_extract(int argc, char **argv);

namespace {

gchar *opt_start = nullptr;
gchar *opt_end = nullptr;
gchar *opt_output = nullptr;
gchar *opt_priming = nullptr;
gboolean opt_float = FALSE;
gboolean opt_overwrite = FALSE;
gchar *opt_cache_dir = nullptr;
gboolean opt_no_cache = FALSE;
gchar **opt_inputs = nullptr;

using montage_tool::shown;

/* The index's identity in the analysis cache (bump the version when the
 * index encoding or what build() finds changes). */
constexpr const char *kIndexAnalyser = "montage-adts-index";
constexpr const char *kIndexVersion = "1";

const GOptionEntry kEntries[] = {
    {"start", 's', 0, G_OPTION_ARG_STRING, &opt_start, "Start of the excerpt in seconds", "S"},
    {"end", 'e', 0, G_OPTION_ARG_STRING, &opt_end,
     "End of the excerpt in seconds (exclusive; past the end: to the end)", "S"},
    {"output", 'o', 0, G_OPTION_ARG_FILENAME, &opt_output, "The WAV file to write", "OUT.wav"},
    {"priming", 0, 0, G_OPTION_ARG_STRING, &opt_priming,
     "Encoder priming to skip, so that 0 s is the start of the signal: none (default, the "
     "decoder's timeline as in a full decode), ffmpeg (1024 samples, also avenc_aac), apple "
     "(2112) or a number of samples",
     "WHICH"},
    {"float", 0, 0, G_OPTION_ARG_NONE, &opt_float, "Write 32-bit float samples (default 16-bit)",
     nullptr},
    {"overwrite", 'y', 0, G_OPTION_ARG_NONE, &opt_overwrite,
     "Replace OUT.wav when it exists (without it, an existing file is left as it is and "
     "nothing is done)",
     nullptr},
    {"cache-dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_cache_dir,
     "Where the frame index is kept (default $GST_MONTAGE_CACHE_DIR, else "
     "$XDG_CACHE_HOME/gst-montage/analysis)",
     "DIR"},
    {"no-cache", 0, 0, G_OPTION_ARG_NONE, &opt_no_cache,
     "Index the file again and keep nothing in the cache", nullptr},
    {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &opt_inputs, nullptr, "SONG.aac"},
    {}};

bool parse_priming(const char *s, guint &out)
{
  if (!s || !strcmp(s, "none")) {
    out = 0;
    return true;
  }
  if (!strcmp(s, "ffmpeg")) {
    out = 1024;
    return true;
  }
  if (!strcmp(s, "apple")) {
    out = 2112;
    return true;
  }
  guint64 v = 0;
  if (!g_ascii_string_to_unsigned(s, 10, 0, 1u << 20, &v, nullptr))
    return false;
  out = (guint)v;
  return true;
}

/* --start or --end: `s`, all of it, a number of seconds from 0 (inf: to the
 * end) as a time; false for anything else (text after the number, negative,
 * NaN). A time beyond what GstClockTime holds (signed ns, about 292 years)
 * becomes the largest, past the end of any song. */
bool parse_seconds(const char *s, GstClockTime &out)
{
  gchar *end = nullptr;
  const double seconds = g_ascii_strtod(s, &end);
  if (end == s || *end != '\0' || !(seconds >= 0))
    return false;
  out = seconds * GST_SECOND >= (double)G_MAXINT64
            ? (GstClockTime)G_MAXINT64
            : (GstClockTime)std::llround(seconds * GST_SECOND);
  return true;
}

/* What is wrong with the command line, naming the option at fault, or ""
 * when nothing is; sets the excerpt's times and priming. */
std::string usage_error(GstClockTime &start, GstClockTime &end, guint &priming)
{
  if (!opt_inputs || !opt_inputs[0] || opt_inputs[1])
    return "name one ADTS song";
  if (!opt_output)
    return "-o OUT.wav is required";
  /* extract writes WAV whatever the name: a name that says another format
   * (.mp3, .aac) would give players a file they take for that format. */
  const size_t n = strlen(opt_output);
  if ((n < 4 || g_ascii_strcasecmp(opt_output + n - 4, ".wav") != 0) &&
      (n < 5 || g_ascii_strcasecmp(opt_output + n - 5, ".wave") != 0))
    return std::string("-o ") + shown(opt_output) + ": extract writes WAV, name it .wav";
  /* Written as a new file renamed into place: a directory, device or FIFO
   * there would be replaced, and an existing file only when asked; named
   * through a symbolic link, the file it leads to is written. */
  montage_tool::follow_output_link(&opt_output);
  if (g_file_test(opt_output, G_FILE_TEST_IS_DIR))
    return std::string("-o ") + shown(opt_output) + " is a directory: give a file name";
  if (g_file_test(opt_output, G_FILE_TEST_EXISTS) &&
      !g_file_test(opt_output, G_FILE_TEST_IS_REGULAR))
    return std::string("-o ") + shown(opt_output) +
           " is not a regular file (a device, FIFO or socket): give a file name";
  if (g_file_test(opt_output, G_FILE_TEST_EXISTS) && !opt_overwrite)
    return std::string("-o ") + shown(opt_output) +
           " exists: give -y (--overwrite) to replace it, or another name";
  if (!opt_start)
    return "--start S is required";
  if (!parse_seconds(opt_start, start) || start == (GstClockTime)G_MAXINT64)
    return std::string("--start ") + opt_start + ": give seconds from 0, such as 12.5";
  if (!opt_end)
    return "--end S is required";
  if (!parse_seconds(opt_end, end) || end <= start)
    return std::string("--end ") + opt_end + ": give seconds after --start " + opt_start;
  if (!parse_priming(opt_priming, priming))
    return std::string("--priming ") + opt_priming +
           ": give none, ffmpeg, apple or a number of samples up to 1048576";
  return "";
}

void put_u32(FILE *f, guint32 v)
{
  guint8 b[4] = {(guint8)v, (guint8)(v >> 8), (guint8)(v >> 16), (guint8)(v >> 24)};
  fwrite(b, 1, 4, f);
}
void put_u16(FILE *f, guint16 v)
{
  guint8 b[2] = {(guint8)v, (guint8)(v >> 8)};
  fwrite(b, 1, 2, f);
}

/* RIFF/WAVE, format 1 (PCM 16-bit) or 3 (IEEE float 32-bit), little-endian. */
bool write_wav(const std::string &path, const montage::PcmExcerpt &pcm, bool as_float)
{
  FILE *f = fopen(path.c_str(), "wb");
  if (!f)
    return false;
  const guint16 bits = as_float ? 32 : 16;
  const guint32 block = pcm.channels * bits / 8;
  const guint32 data_bytes = (guint32)(pcm.frames() * block);
  fwrite("RIFF", 1, 4, f);
  put_u32(f, 36 + data_bytes);
  fwrite("WAVEfmt ", 1, 8, f);
  put_u32(f, 16);
  put_u16(f, as_float ? 3 : 1);
  put_u16(f, (guint16)pcm.channels);
  put_u32(f, pcm.rate);
  put_u32(f, pcm.rate * block);
  put_u16(f, (guint16)block);
  put_u16(f, bits);
  fwrite("data", 1, 4, f);
  put_u32(f, data_bytes);
  if (as_float) {
    fwrite(pcm.samples.data(), sizeof(float), pcm.samples.size(), f);
  } else {
    for (float s : pcm.samples)
      put_u16(f, (guint16)(gint16)std::lround(std::clamp(s * 32768.0f, -32768.0f, 32767.0f)));
  }
  const bool ok = !ferror(f);
  return fclose(f) == 0 && ok;
}

/* The frame index of `song`: from the analysis cache when it holds one for
 * this content, else built and stored (a cache that cannot be written costs
 * only the next scan: a warning, not an error). */
std::unique_ptr<montage::AdtsIndex> load_index(const std::string &song, GError **error)
{
  if (opt_no_cache)
    return montage::AdtsIndex::build_from_file(song, nullptr, error);
  montage::AnalysisCache cache(opt_cache_dir ? opt_cache_dir
                                             : montage::AnalysisCache::default_dir());
  const std::string key = montage::cache_key({song, kIndexAnalyser, kIndexVersion, "", false},
                                             montage::CacheKind::kAdtsIndex, nullptr);
  std::vector<uint8_t> bytes;
  if (!key.empty() && cache.load(key, montage::CacheKind::kAdtsIndex, bytes)) {
    /* The key covers the file's size, time and content; AdtsExtractor::open
     * checks the index against the file once more. */
    if (auto index = montage::AdtsIndex::deserialise(bytes.data(), bytes.size(), nullptr))
      return index;
  }
  auto index = montage::AdtsIndex::build_from_file(song, nullptr, error);
  GError *err = nullptr;
  if (index && !key.empty() &&
      !cache.store(key, montage::CacheKind::kAdtsIndex, index->serialise(), &err)) {
    fprintf(stderr,
            "extract: cannot keep the index of %s in the cache (%s); it is rebuilt next "
            "time\n",
            shown(song).c_str(), err ? err->message : "unknown error");
    g_clear_error(&err);
  }
  return index;
}

} // namespace

int montage_tool_extract(int argc, char **argv)
{
  GOptionContext *ctx = g_option_context_new("--start S --end S -o OUT.wav");
  g_option_context_set_summary(
      ctx, "Writes the samples of an ADTS (raw AAC) song whose times lie in [start, end) to a WAV "
           "file, exactly: the same samples as a full decode, found through a frame index "
           "instead of decoding from the start.");
  g_option_context_add_main_entries(ctx, kEntries, nullptr);
  GError *err = nullptr;
  const bool parsed = g_option_context_parse(ctx, &argc, &argv, &err);
  g_option_context_free(ctx);
  guint priming = 0;
  GstClockTime start = 0, end = 0;
  const std::string wrong = parsed ? usage_error(start, end, priming) : err->message;
  if (!wrong.empty()) {
    fprintf(
        stderr,
        "extract: %s\nusage: gst-montage-1.0 extract SONG.aac --start S --end S -o "
        "OUT.wav [-y] [--priming none|ffmpeg|apple|N] [--float] [--cache-dir DIR] [--no-cache]\n",
        wrong.c_str());
    g_clear_error(&err);
    return 2;
  }
  const std::string song = opt_inputs[0];

  auto index = load_index(song, &err);
  if (!index) {
    fprintf(stderr, "extract: %s: %s\n", shown(song).c_str(), err->message);
    g_error_free(err);
    return 1;
  }
  const montage::AdtsScanReport &report = index->report(); /* kept in the cache too */
  if (report.id3_tag)
    fprintf(stderr, "extract: %s: skipped an ID3 tag at the start\n", shown(song).c_str());
  if (report.garbage_regions)
    fprintf(stderr,
            "extract: %s: skipped %" G_GUINT64_FORMAT " bytes of damage in %u places (first at "
            "byte %" G_GUINT64_FORMAT ")\n",
            shown(song).c_str(), report.garbage_bytes, report.garbage_regions,
            report.first_garbage_offset);
  if (report.truncated_tail_bytes)
    fprintf(stderr,
            "extract: %s: the last frame is cut off (%" G_GUINT64_FORMAT " bytes), ignored\n",
            shown(song).c_str(), report.truncated_tail_bytes);

  montage::AdtsExtractOptions options;
  options.priming = priming;
  auto extractor = montage::AdtsExtractor::open(song, *index, options, &err);
  montage::PcmExcerpt pcm;
  if (!extractor || !extractor->extract(start, end, pcm, &err)) {
    fprintf(stderr, "extract: %s: %s\n", shown(song).c_str(), err->message);
    g_error_free(err);
    return 1;
  }
  /* A hidden name of this process's own beside the output, as the montage's
   * (a fixed OUT.wav.part could be a file of the user's). */
  gchar *dir = g_path_get_dirname(opt_output), *base = g_path_get_basename(opt_output);
  gchar *tmp_name = g_strdup_printf(".%s.partial-%d", base, (int)getpid());
  gchar *tmp_path = g_build_filename(dir, tmp_name, NULL);
  const std::string tmp = tmp_path;
  g_free(tmp_path);
  g_free(tmp_name);
  g_free(base);
  g_free(dir);
  if (!write_wav(tmp, pcm, opt_float) || g_rename(tmp.c_str(), opt_output) != 0) {
    fprintf(stderr, "extract: cannot write %s: %s\n", shown(opt_output).c_str(), g_strerror(errno));
    g_unlink(tmp.c_str());
    return 1;
  }
  /* --end past the song's end is taken as its end: say so, as the excerpt is
   * shorter than asked (--end inf asks for exactly that, and is not noted). */
  const GstClockTime song_end = index->duration();
  if (end > song_end && !std::isinf(g_ascii_strtod(opt_end, nullptr)))
    fprintf(stderr,
            "extract: note: %s ends at %.3f s, before --end %s: the excerpt stops there "
            "(%.3f s long)\n",
            shown(song).c_str(), song_end / 1e9, opt_end,
            pcm.rate ? (double)pcm.frames() / pcm.rate : 0.0);
  printf("%s: %zu samples x %u channels at %u Hz from %.6f s\n", shown(opt_output).c_str(),
         pcm.frames(), pcm.channels, pcm.rate, pcm.start / 1e9);
  return 0;
}
