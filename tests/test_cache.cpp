/* The content-addressed analysis cache (library: cache.h). */
#include "clipcompare.h"
#include "testutil.h"

#include <gst/montage/cache.h>

#include <glib/gstdio.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

class CacheTest : public ::testing::Test {
protected:
  void SetUp() override
  {
    dir_ = g_dir_make_tmp("montage-cache-XXXXXX", nullptr);
    ASSERT_NE(dir_, nullptr);
    media_ = path("clip.bin");
    write_file(media_, std::string(3 << 20, 'a') + "tail");
  }
  void TearDown() override
  {
    montage::AnalysisCache(cache_dir()).clear(nullptr);
    g_unlink(media_.c_str());
    g_rmdir(cache_dir().c_str());
    g_rmdir(dir_);
    g_free(dir_);
  }
  std::string path(const char *name) const
  {
    gchar *p = g_build_filename(dir_, name, NULL);
    std::string out(p);
    g_free(p);
    return out;
  }
  std::string cache_dir() const { return path("cache"); }
  static void write_file(const std::string &p, const std::string &content)
  {
    ASSERT_TRUE(g_file_set_contents(p.c_str(), content.data(), content.size(), nullptr));
  }
  std::string key(const std::string &params = "threshold=27", bool verify = false)
  {
    GError *err = nullptr;
    std::string k = montage::cache_key({media_, "montagescene", "1", params, verify},
                                       montage::CacheKind::kClip, &err);
    EXPECT_EQ(err, nullptr);
    g_clear_error(&err);
    return k;
  }
  static montage::ClipAnalysis sample_clip(size_t n_shots)
  {
    montage::ClipAnalysis c;
    c.path = "/media/clip.mp4";
    c.uri = "file:///media/clip.mp4";
    c.duration = n_shots * GST_SECOND;
    c.first_frame = 40 * GST_MSECOND;
    c.fps_n = 30000;
    c.fps_d = 1001;
    c.width = 1920;
    c.height = 1080;
    for (size_t i = 1; i < n_shots; i++)
      c.cuts.push_back(i * GST_SECOND);
    montage::shots_from_cuts(c);
    for (size_t i = 0; i < c.shots.size(); i++) {
      montage::Shot &s = c.shots[i];
      s.has_features = i % 3 != 0;
      s.transition = (montage::Transition)(i % 3);
      s.transition_start = s.start;
      s.transition_end = s.start + (i % 3) * 100 * GST_MSECOND;
      s.features.motion_mean = i * 0.5;
      s.features.motion_peak = i * 1.5;
      s.features.sharpness = 100.0 + i;
      s.features.brightness = 80.25;
      s.features.contrast = 40.5;
      s.features.colourfulness = 33.0 / (i + 1);
      s.features.histogram.assign(48, 1.0f / 48);
      s.features.histogram[i % 48] += 0.5f;
      s.features.best_inpoint = s.start + 7;
    }
    return c;
  }
  gchar *dir_ = nullptr;
  std::string media_;
};

using montage_test::expect_same_clip;

} // namespace

TEST_F(CacheTest, KeyChangesWithContentParametersAndAnalyser)
{
  std::string k = key();
  ASSERT_EQ(k.size(), 64u);
  EXPECT_EQ(k, key()) << "same file, same parameters: same key";
  EXPECT_NE(k, key("threshold=30"));
  EXPECT_NE(k, key("threshold=27", true));
  GError *err = nullptr;
  EXPECT_NE(k, montage::cache_key({media_, "montagescene", "2", "threshold=27"},
                                  montage::CacheKind::kClip, &err));
  EXPECT_NE(k, montage::cache_key({media_, "montagescene", "1", "threshold=27"},
                                  montage::CacheKind::kSong, &err));
  EXPECT_EQ(err, nullptr);

  /* Same size, content changed in the middle only: the quick key (first and
   * last MiB, size, mtime) still changes through the modification time... */
  std::string content(3 << 20, 'a');
  content += "tail";
  content[3 << 19] = 'b';
  g_usleep(20000);
  write_file(media_, content);
  EXPECT_NE(k, key());
  /* ...and --verify hashes the content itself, so a restored mtime is no help. */
  std::string quick = key(), full = key("threshold=27", true);
  GStatBuf st;
  ASSERT_EQ(g_stat(media_.c_str(), &st), 0);
  content[3 << 19] = 'c';
  write_file(media_, content);
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  ASSERT_EQ(utimensat(AT_FDCWD, media_.c_str(), times, 0), 0);
  EXPECT_EQ(quick, key()) << "the documented limit of the quick key";
  EXPECT_NE(full, key("threshold=27", true));

  EXPECT_EQ(montage::cache_key({path("missing"), "x", "1", ""}, montage::CacheKind::kClip, &err), "");
  ASSERT_NE(err, nullptr);
  g_clear_error(&err);
}

TEST_F(CacheTest, HitMissAndRoundTrip)
{
  montage::AnalysisCache cache(cache_dir());
  montage::ClipAnalysis clip = sample_clip(50), loaded;
  clip.analysis_path = "full decoding: the file cannot seek";
  std::string k = key();
  EXPECT_FALSE(cache.load_clip(k, loaded));
  GError *err = nullptr;
  ASSERT_TRUE(cache.store_clip(k, clip, &err)) << (err ? err->message : "");
  ASSERT_TRUE(cache.load_clip(k, loaded));
  expect_same_clip(clip, loaded);
  EXPECT_FALSE(cache.load_clip(key("threshold=30"), loaded)) << "changed parameter: miss";
  montage::ClipAnalysis as_song;
  montage::SongAnalysis song;
  EXPECT_FALSE(cache.load_song(k, song)) << "a clip entry is not a song";
  montage::CacheStats s = cache.stats();
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.stores, 1u);
  EXPECT_EQ(s.entries, 0u) << "the kind mismatch removed the entry as foreign";
}

TEST_F(CacheTest, SongRoundTrip)
{
  montage::SongAnalysis s;
  s.uri = "file:///song.ogg";
  s.duration = 59 * GST_SECOND;
  s.beats = {500 * GST_MSECOND, 961 * GST_MSECOND, 1423 * GST_MSECOND};
  s.beat_energy = {0.5, 1.0, 0.25};
  s.bpm = 130.02;
  s.confidence = 0.8;
  s.downbeats = {true, false, false};
  s.beats_per_bar = 4;
  s.meter_confidence = 0.625;
  s.energy_curve = {0.1, 0.2, 0.3};
  s.energy_interval = 100 * GST_MSECOND;
  s.sections = {{0, 30 * GST_SECOND, montage::Section::Level::kLow},
                {30 * GST_SECOND, 59 * GST_SECOND, montage::Section::Level::kHigh}};
  s.sound_end = 47 * GST_SECOND + 300 * GST_MSECOND;
  s.stated_duration = 82330 * GST_MSECOND;
  std::vector<uint8_t> bytes = montage::encode_song(s);
  montage::SongAnalysis t;
  ASSERT_TRUE(montage::decode_song(bytes.data(), bytes.size(), t));
  EXPECT_EQ(t.uri, s.uri);
  EXPECT_EQ(t.sound_end, s.sound_end);
  EXPECT_EQ(t.stated_duration, s.stated_duration);
  EXPECT_EQ(t.beats, s.beats);
  EXPECT_EQ(t.beat_energy, s.beat_energy);
  EXPECT_EQ(t.bpm, s.bpm);
  EXPECT_EQ(t.downbeats, s.downbeats);
  EXPECT_EQ(t.beats_per_bar, 4u);
  EXPECT_EQ(t.meter_confidence, 0.625);
  EXPECT_EQ(t.energy_curve, s.energy_curve);
  ASSERT_EQ(t.sections.size(), 2u);
  EXPECT_EQ(t.sections[1].level, montage::Section::Level::kHigh);
  /* Every truncation of a valid payload is refused, never a crash. */
  for (size_t n = 0; n < bytes.size(); n++)
    EXPECT_FALSE(montage::decode_song(bytes.data(), n, t)) << n;
}

/* SongAnalysis::sound_end (song analysis version 26) is the entry's 13th
 * field; an entry of 12 fields, written before it, reads as unknown
 * (GST_CLOCK_TIME_NONE), so the planner keeps the whole song for it. A
 * sound_end of 0 (a silent song) and an unknown one survive a round trip,
 * in the cache too. */
TEST_F(CacheTest, SongSoundEndRoundTripsAndOlderEntriesReadAsUnknown)
{
  montage::SongAnalysis s;
  s.uri = "file:///song.flac";
  s.duration = 204 * GST_SECOND;
  s.beats = {GST_SECOND, 2 * GST_SECOND};
  s.sound_end = GST_CLOCK_TIME_NONE;
  std::vector<uint8_t> bytes = montage::encode_song(s);
  /* Without its last two fields (sound_end, stated_duration of version 32),
   * the entry as version 25 wrote it: the array of 14 (fixarray 0x9e)
   * becomes one of 12, and two GST_CLOCK_TIME_NONE (uint 64, 0xcf and 8
   * bytes each) go. */
  ASSERT_GE(bytes.size(), 19u);
  ASSERT_EQ(bytes[0], 0x9e);
  ASSERT_EQ(bytes[bytes.size() - 18], 0xcf);
  std::vector<uint8_t> older(bytes.begin(), bytes.end() - 18);
  older[0] = 0x9c;
  montage::SongAnalysis t;
  t.sound_end = 5;
  ASSERT_TRUE(montage::decode_song(older.data(), older.size(), t));
  EXPECT_EQ(t.sound_end, GST_CLOCK_TIME_NONE);
  EXPECT_EQ(t.beats, s.beats);
  EXPECT_EQ(t.duration, s.duration);

  for (GstClockTime end : std::vector<GstClockTime>{GST_CLOCK_TIME_NONE, 0, 192800 * GST_MSECOND}) {
    s.sound_end = end;
    bytes = montage::encode_song(s);
    ASSERT_TRUE(montage::decode_song(bytes.data(), bytes.size(), t));
    EXPECT_EQ(t.sound_end, end);
  }
  montage::AnalysisCache cache(cache_dir());
  ASSERT_TRUE(cache.store_song(key(), s, nullptr));
  montage::SongAnalysis loaded;
  ASSERT_TRUE(cache.load_song(key(), loaded));
  EXPECT_EQ(loaded.sound_end, 192800 * GST_MSECOND);
}

/* Doubles at the edges of the integer ranges, infinities and NaN survive a
 * round trip unchanged (msgpack-cxx's pack_double turned 2^64 into an
 * out-of-range integer conversion: fuzz/regressions/cache_song/double-2e64.bin). */
TEST_F(CacheTest, SongDoublesAtTheEdgesRoundTrip)
{
  const double edges[] = {18446744073709551616.0, -9223372036854775808.0, 9.3e18, 3.0, -0.0,
                          1e300, std::numeric_limits<double>::infinity(),
                          -std::numeric_limits<double>::infinity()};
  montage::SongAnalysis s;
  s.uri = "file:///song.ogg";
  s.beat_energy.assign(std::begin(edges), std::end(edges));
  s.energy_curve = s.beat_energy;
  s.bpm = 18446744073709551616.0;
  s.confidence = std::numeric_limits<double>::quiet_NaN();
  std::vector<uint8_t> bytes = montage::encode_song(s);
  montage::SongAnalysis t;
  ASSERT_TRUE(montage::decode_song(bytes.data(), bytes.size(), t));
  ASSERT_EQ(t.beat_energy.size(), s.beat_energy.size());
  for (size_t i = 0; i < s.beat_energy.size(); i++) {
    EXPECT_EQ(t.beat_energy[i], s.beat_energy[i]) << i;
    EXPECT_EQ(std::signbit(t.beat_energy[i]), std::signbit(s.beat_energy[i])) << i;
  }
  EXPECT_EQ(t.energy_curve, s.energy_curve);
  EXPECT_EQ(t.bpm, s.bpm);
  EXPECT_TRUE(std::isnan(t.confidence));
}

TEST_F(CacheTest, CorruptTruncatedAndForeignEntriesAreRecomputed)
{
  montage::AnalysisCache cache(cache_dir());
  montage::ClipAnalysis clip = sample_clip(20), loaded;
  std::string k = key();
  ASSERT_TRUE(cache.store_clip(k, clip, nullptr));
  std::string entry = cache_dir() + "/" + k.substr(0, 2) + "/" + k + ".entry";
  gchar *data = nullptr;
  gsize len = 0;
  ASSERT_TRUE(g_file_get_contents(entry.c_str(), &data, &len, nullptr));
  std::string good(data, len);
  g_free(data);

  auto damaged = [&](const std::string &bytes, const char *what) {
    write_file(entry, bytes);
    EXPECT_FALSE(cache.load_clip(k, loaded)) << what;
    EXPECT_FALSE(g_file_test(entry.c_str(), G_FILE_TEST_EXISTS)) << what << ": entry not removed";
    ASSERT_TRUE(cache.store_clip(k, clip, nullptr));
    ASSERT_TRUE(cache.load_clip(k, loaded)) << what << ": recomputed entry not usable";
  };
  damaged(good.substr(0, good.size() / 2), "truncated");
  damaged(good.substr(0, 10), "truncated header");
  damaged("", "empty");
  std::string flipped = good;
  flipped[flipped.size() - 5] ^= 0x40;
  damaged(flipped, "bit flip");
  damaged("PK\x03\x04 some zip file" + std::string(100, 'x'), "foreign");
  std::string other_schema = good;
  other_schema[4] = 99;
  damaged(other_schema, "other schema");
  EXPECT_EQ(cache.stats().corrupt, 6u);
  expect_same_clip(clip, loaded);
}

/* An entry on disk is what cache.h says: a 24-byte little-endian header
 * ("GMCE", u32 schema, u32 kind, u64 payload length, u32 CRC-32 of the
 * payload) and the payload, at DIR/xx/KEY.entry. cache.h described a
 * 32-byte SHA-256 field and a temporary file in DIR (review h119, finding 5);
 * the CRC is computed here bit by bit (IEEE 802.3 polynomial, reflected, as
 * zlib's crc32), independently of the library. */
TEST_F(CacheTest, EntryLayoutIsTheDocumentedOne)
{
  montage::AnalysisCache cache(cache_dir());
  const std::string k = key();
  std::vector<uint8_t> payload = montage::encode_clip(sample_clip(7));
  ASSERT_TRUE(cache.store(k, montage::CacheKind::kClip, payload, nullptr));
  gchar *data = nullptr;
  gsize len = 0;
  const std::string entry = cache_dir() + "/" + k.substr(0, 2) + "/" + k + ".entry";
  ASSERT_TRUE(g_file_get_contents(entry.c_str(), &data, &len, nullptr));
  const std::string bytes(data, len);
  g_free(data);
  auto le = [&](size_t at, int n) {
    guint64 x = 0;
    for (int i = n - 1; i >= 0; i--)
      x = (x << 8) | (guint8)bytes[at + i];
    return x;
  };
  ASSERT_EQ(len, 24 + payload.size());
  EXPECT_EQ(bytes.substr(0, 4), "GMCE");
  EXPECT_EQ(le(4, 4), montage::kCacheSchemaVersion);
  EXPECT_EQ(le(8, 4), (guint64)montage::CacheKind::kClip);
  EXPECT_EQ(le(12, 8), payload.size());
  guint32 crc = 0xffffffffu;
  for (uint8_t b : payload) {
    crc ^= b;
    for (int i = 0; i < 8; i++)
      crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  EXPECT_EQ(le(20, 4), (guint64)(crc ^ 0xffffffffu));
  EXPECT_EQ(bytes.substr(24), std::string(payload.begin(), payload.end()));
}

TEST_F(CacheTest, EvictsLeastRecentlyUsedFirst)
{
  montage::AnalysisCache big(cache_dir(), 1u << 30);
  std::vector<std::string> keys;
  for (int i = 0; i < 4; i++) {
    keys.push_back(key("n=" + std::to_string(i)));
    ASSERT_TRUE(big.store_clip(keys.back(), sample_clip(100), nullptr));
    g_usleep(15000); /* distinct modification times */
  }
  guint64 one = big.stats().bytes / 4;
  montage::ClipAnalysis c;
  ASSERT_TRUE(big.load_clip(keys[0], c)); /* keys[0] becomes the most recent */
  g_usleep(15000);
  montage::AnalysisCache small(cache_dir(), one * 3 + one / 2);
  ASSERT_TRUE(small.store_clip(key("n=4"), sample_clip(100), nullptr));
  /* 5 entries, room for 3: the two least recently used (1 and 2) go. */
  EXPECT_TRUE(small.load_clip(keys[0], c));
  EXPECT_FALSE(small.load_clip(keys[1], c));
  EXPECT_FALSE(small.load_clip(keys[2], c));
  EXPECT_TRUE(small.load_clip(keys[3], c));
  EXPECT_TRUE(small.load_clip(key("n=4"), c));
  EXPECT_EQ(small.stats().evictions, 2u);
  EXPECT_EQ(small.stats().entries, 3u);
}

/* clear(), evict() and stats() count and remove the cache's own files only:
 * DIR/xx/KEY.entry (KEY 64 lowercase hex digits beginning with xx) and the
 * temporary KEY.entry.XXXXXX a crashed store leaves. A cache directory
 * shared with other programs, or given by mistake (--cache-dir ~/.cache),
 * keeps their files, whatever they are called, older than every entry or
 * not: clear() and eviction deleted every "*.entry" and "*.entry.*" in every
 * subdirectory (review h119, finding 1). */
TEST_F(CacheTest, ClearAndEvictionRemoveOnlyTheCachesOwnFiles)
{
  const std::string k = key(), k2 = key("threshold=30");
  const std::string other_bucket = k.substr(0, 1) == "0" ? "1" : "0"; /* not k's first digit */
  const std::vector<std::string> foreign = {
      "notes/diary.entry",
      "photos/album.entry.json",
      "notes/todo.txt",
      k + ".entry",                                                 /* not in a bucket */
      "AB/" + std::string(62, 'A') + "AB.entry",                    /* upper case */
      k.substr(0, 2) + "/notes.entry",                              /* a bucket, not a key */
      k.substr(0, 2) + "/" + other_bucket + k.substr(1) + ".entry", /* another bucket's key */
      k.substr(0, 2) + "/" + k + ".entry.backup-1",                 /* no g_mkstemp() tail */
      k.substr(0, 2) + "/" + k + ".entry.json",
  };
  for (const std::string &f : foreign) {
    const std::string p = cache_dir() + "/" + f;
    gchar *parent = g_path_get_dirname(p.c_str());
    ASSERT_EQ(g_mkdir_with_parents(parent, 0755), 0);
    g_free(parent);
    write_file(p, "precious, not the cache's");
    /* Older than any entry: least recently used first would take these. */
    struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
    ASSERT_EQ(utimensat(AT_FDCWD, p.c_str(), old, 0), 0);
  }
  montage::AnalysisCache cache(cache_dir());
  ASSERT_TRUE(cache.store_clip(k, sample_clip(10), nullptr));
  g_usleep(15000); /* distinct modification times: k is the older */
  ASSERT_TRUE(cache.store_clip(k2, sample_clip(10), nullptr));
  const montage::CacheStats st = cache.stats();
  EXPECT_EQ(st.entries, 2u);
  /* Room for one entry: the older one (k) goes, nothing else. */
  cache.evict(st.bytes - 1);
  montage::ClipAnalysis c;
  EXPECT_FALSE(cache.load_clip(k, c));
  EXPECT_TRUE(cache.load_clip(k2, c));
  EXPECT_EQ(cache.stats().evictions, 1u);
  /* A crashed store's temporary file is the cache's: clear() takes it. */
  const std::string tmp = cache_dir() + "/" + k.substr(0, 2) + "/" + k + ".entry.Ab12Z9";
  write_file(tmp, "half an entry");
  GError *err = nullptr;
  EXPECT_TRUE(cache.clear(&err)) << (err ? err->message : "");
  g_clear_error(&err);
  EXPECT_EQ(cache.stats().entries, 0u);
  EXPECT_FALSE(g_file_test(tmp.c_str(), G_FILE_TEST_EXISTS));
  if (k2.substr(0, 2) != k.substr(0, 2)) {
    EXPECT_FALSE(g_file_test((cache_dir() + "/" + k2.substr(0, 2)).c_str(), G_FILE_TEST_EXISTS))
        << "an emptied bucket is removed";
  }
  for (const std::string &f : foreign) {
    const std::string p = cache_dir() + "/" + f;
    EXPECT_TRUE(g_file_test(p.c_str(), G_FILE_TEST_EXISTS)) << f << " was removed";
    g_unlink(p.c_str());
    gchar *parent = g_path_get_dirname(p.c_str());
    if (cache_dir() != parent)
      g_rmdir(parent);
    g_free(parent);
  }
  /* Only keys are stored, so that everything stored is counted and cleared. */
  EXPECT_FALSE(cache.store_clip("not-a-key", sample_clip(1), &err));
  ASSERT_NE(err, nullptr);
  EXPECT_TRUE(g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_INVAL)) << err->message;
  g_clear_error(&err);
  EXPECT_FALSE(cache.load_clip("not-a-key", c));
}

TEST_F(CacheTest, ConcurrentWritersNeverLeaveAHalfEntry)
{
  std::string k = key();
  montage::ClipAnalysis clip = sample_clip(2000);
  std::vector<pid_t> children;
  for (int w = 0; w < 2; w++) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      montage::AnalysisCache cache(cache_dir());
      bool ok = true;
      for (int i = 0; i < 40 && ok; i++)
        ok = cache.store_clip(k, clip, nullptr);
      _exit(ok ? 0 : 1);
    }
    children.push_back(pid);
  }
  montage::AnalysisCache reader(cache_dir());
  int hits = 0;
  for (int i = 0; i < 400; i++) {
    montage::ClipAnalysis c;
    if (reader.load_clip(k, c)) {
      hits++;
      ASSERT_EQ(c.shots.size(), clip.shots.size());
    }
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  EXPECT_EQ(reader.stats().corrupt, 0u) << "a reader saw a partial entry";
  montage::ClipAnalysis final_clip;
  ASSERT_TRUE(reader.load_clip(k, final_clip));
  expect_same_clip(clip, final_clip);
  /* No temporary files left behind. */
  EXPECT_EQ(reader.stats().entries, 1u);
  GDir *d = g_dir_open((cache_dir() + "/" + k.substr(0, 2)).c_str(), 0, nullptr);
  int files = 0;
  while (g_dir_read_name(d))
    files++;
  g_dir_close(d);
  EXPECT_EQ(files, 1);
}

TEST_F(CacheTest, UnwritableDirectoryFailsCleanly)
{
  montage::AnalysisCache cache("/proc/montage-cache-cannot-exist");
  GError *err = nullptr;
  EXPECT_FALSE(cache.store_clip(key(), sample_clip(3), &err));
  ASSERT_NE(err, nullptr);
  g_clear_error(&err);
}
