/* Replays, without libFuzzer, every fuzzer's seed corpus (fuzz/corpus/<name>/)
 * and every input a fuzzer once failed on (fuzz/regressions/<name>/) through
 * the fuzzer's own entry point (fuzz/meson.build builds each one under the
 * name montage_fuzz_<name>). A regression input crashes, trips a sanitizer
 * (scripts/test-sanitizers.sh) or aborts on a broken invariant if its bug
 * comes back; fuzz/regressions/README.md lists what each one found. */
#include <gtest/gtest.h>

#include "testutil.h"

#include <gst/gst.h>

#ifdef MONTAGE_FUZZ_HAVE_MONTAGEBEAT
#include "gstmontagebeat.h"
#endif
#ifdef MONTAGE_FUZZ_HAVE_MONTAGESCENE
#include "gstmontagescene.h"
#endif

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

extern "C" {
#define MONTAGE_FUZZ_ENTRY(name) int montage_fuzz_##name(const uint8_t *data, size_t size);
MONTAGE_FUZZ_ENTRY(cache_song)
MONTAGE_FUZZ_ENTRY(cache_clip)
MONTAGE_FUZZ_ENTRY(planjson)
MONTAGE_FUZZ_ENTRY(export_edl)
MONTAGE_FUZZ_ENTRY(export_otio)
MONTAGE_FUZZ_ENTRY(export_fcpxml)
MONTAGE_FUZZ_ENTRY(adts_header)
MONTAGE_FUZZ_ENTRY(adts_scan)
MONTAGE_FUZZ_ENTRY(adts_index)
MONTAGE_FUZZ_ENTRY(montagescene)
MONTAGE_FUZZ_ENTRY(montagebeat)
}

namespace
{

using Entry = int (*)(const uint8_t *, size_t);

/* The files of fuzz/<kind>/<name>/, sorted; none when it does not exist. */
std::vector<std::string> inputs(const char *kind, const std::string &name)
{
  std::vector<std::string> out;
  gchar *dir = g_build_filename(MONTAGE_FUZZ_SOURCE_DIR, kind, name.c_str(), NULL);
  if (GDir *d = g_dir_open(dir, 0, NULL)) {
    while (const gchar *f = g_dir_read_name(d))
      if (f[0] != '.')
        out.push_back(std::string(dir) + G_DIR_SEPARATOR_S + f);
    g_dir_close(d);
  }
  g_free(dir);
  std::sort(out.begin(), out.end());
  return out;
}

/* Feeds each input to `entry`. */
void replay(const std::vector<std::string> &files, Entry entry)
{
  for (const std::string &path : files) {
    SCOPED_TRACE(path);
    gchar *data = nullptr;
    gsize size = 0;
    ASSERT_TRUE(g_file_get_contents(path.c_str(), &data, &size, NULL)) << path;
    EXPECT_EQ(entry((const uint8_t *)data, size), 0);
    g_free(data);
  }
}

void check(const std::string &name, Entry entry)
{
  const std::vector<std::string> seeds = inputs("corpus", name);
  EXPECT_FALSE(seeds.empty()) << "no seed corpus in fuzz/corpus/" << name
                              << " (fuzz/make-corpus.sh makes it)";
  replay(seeds, entry);
  replay(inputs("regressions", name), entry);
  EXPECT_EQ(montage_test::warnings_seen(), 0);
}

} // namespace

#define MONTAGE_FUZZ_TEST(name)                                                                    \
  TEST(FuzzReplay, name)                                                                           \
  {                                                                                                \
    check(#name, montage_fuzz_##name);                                                             \
  }

#ifdef MONTAGE_FUZZ_HAVE_CACHE_SONG
MONTAGE_FUZZ_TEST(cache_song)
#endif
#ifdef MONTAGE_FUZZ_HAVE_CACHE_CLIP
MONTAGE_FUZZ_TEST(cache_clip)
#endif
#ifdef MONTAGE_FUZZ_HAVE_PLANJSON
MONTAGE_FUZZ_TEST(planjson)
#endif
#ifdef MONTAGE_FUZZ_HAVE_EXPORT_EDL
MONTAGE_FUZZ_TEST(export_edl)
#endif
#ifdef MONTAGE_FUZZ_HAVE_EXPORT_OTIO
MONTAGE_FUZZ_TEST(export_otio)
#endif
#ifdef MONTAGE_FUZZ_HAVE_EXPORT_FCPXML
MONTAGE_FUZZ_TEST(export_fcpxml)
#endif
#ifdef MONTAGE_FUZZ_HAVE_ADTS_HEADER
MONTAGE_FUZZ_TEST(adts_header)
#endif
#ifdef MONTAGE_FUZZ_HAVE_ADTS_SCAN
MONTAGE_FUZZ_TEST(adts_scan)
#endif
#ifdef MONTAGE_FUZZ_HAVE_ADTS_INDEX
MONTAGE_FUZZ_TEST(adts_index)
#endif
#ifdef MONTAGE_FUZZ_HAVE_MONTAGESCENE
TEST(FuzzReplay, montagescene)
{
  ASSERT_TRUE(GST_ELEMENT_REGISTER(montagescene, NULL));
  check("montagescene", montage_fuzz_montagescene);
}
#endif
#ifdef MONTAGE_FUZZ_HAVE_MONTAGEBEAT
TEST(FuzzReplay, montagebeat)
{
  ASSERT_TRUE(GST_ELEMENT_REGISTER(montagebeat, NULL));
  check("montagebeat", montage_fuzz_montagebeat);
}
#endif
