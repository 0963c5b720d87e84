/* Tests for the ADTS frame index and exact extraction (adts.h): header
 * parsing edge cases, index layout, serialisation, every bad input the issue
 * lists, and sample exactness against a full GStreamer decode at frame
 * boundaries and mid-frame. ADTS files are encoded in the test with
 * avenc_aac (noise substitution off where bytes must match exactly). */
#include <gtest/gtest.h>

#include "testutil.h"

#include <gst/montage/adts.h>

#include <glib/gstdio.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace {

using montage::AdtsExtractor;
using montage::AdtsHeader;
using montage::AdtsIndex;

/* A hand-made ADTS header (ISO/IEC 13818-7 6.2) followed by `length - header`
 * payload bytes of 0x55. A `length` below 7 still gets the whole 7-byte header
 * (it claims `length`). */
std::vector<guint8> make_frame(guint length, guint rate_index = 4, guint channels = 2,
                               bool crc = false, guint blocks = 1, guint object_type = 2)
{
  std::vector<guint8> f(std::max(length, 7u), 0x55);
  f[0] = 0xFF;
  f[1] = 0xF0 | (crc ? 0 : 1);
  f[2] = (guint8)(((object_type - 1) << 6) | (rate_index << 2) | (channels >> 2));
  f[3] = (guint8)(((channels & 3) << 6) | ((length >> 11) & 3));
  f[4] = (guint8)((length >> 3) & 0xFF);
  f[5] = (guint8)(((length & 7) << 5) | 0x1F);
  f[6] = (guint8)(0xFC | (blocks - 1));
  return f;
}

void append(std::vector<guint8> &to, const std::vector<guint8> &from)
{
  to.insert(to.end(), from.begin(), from.end());
}

std::string temp_path(const char *name)
{
  gchar *p = g_build_filename(g_get_tmp_dir(), name, NULL);
  std::string out = std::string(p) + "." + std::to_string(getpid());
  g_free(p);
  return out;
}

std::vector<guint8> read_file(const std::string &path)
{
  gchar *data = nullptr;
  gsize len = 0;
  if (!g_file_get_contents(path.c_str(), &data, &len, nullptr))
    return {};
  std::vector<guint8> out((guint8 *)data, (guint8 *)data + len);
  g_free(data);
  return out;
}

void write_file(const std::string &path, const std::vector<guint8> &bytes)
{
  ASSERT_TRUE(g_file_set_contents(path.c_str(), (const gchar *)bytes.data(), bytes.size(), nullptr));
}

bool run_pipeline(const std::string &desc)
{
  GError *err = nullptr;
  GstElement *p = gst_parse_launch(desc.c_str(), &err);
  if (!p) {
    ADD_FAILURE() << desc << ": " << (err ? err->message : "");
    g_clear_error(&err);
    return false;
  }
  gst_element_set_state(p, GST_STATE_PLAYING);
  const bool ok = montage_test::run_to_eos(p, 60 * GST_SECOND);
  if (!ok)
    ADD_FAILURE() << "pipeline failed: " << desc;
  return ok;
}

/* Encodes `seconds` of a deterministic two-channel test signal (tones, a
 * chirp and clicks, so every frame differs) at `rate` to ADTS. */
std::string encode_synthetic(const char *name, guint rate, double seconds, bool pns)
{
  const std::string pcm = temp_path((std::string(name) + ".f32").c_str());
  const size_t n = (size_t)(seconds * rate);
  std::vector<float> s(n * 2);
  for (size_t i = 0; i < n; i++) {
    const double t = (double)i / rate;
    const double chirp = std::sin(2 * M_PI * (200 * t + 150 * t * t));
    const double click = (i % 4410) < 40 ? 0.3 : 0.0;
    s[2 * i] = (float)(0.3 * std::sin(2 * M_PI * 440 * t) + 0.2 * chirp + click);
    s[2 * i + 1] = (float)(0.3 * std::sin(2 * M_PI * 660 * t + 1) - 0.2 * chirp);
  }
  write_file(pcm, std::vector<guint8>((guint8 *)s.data(), (guint8 *)(s.data() + s.size())));
  const std::string out = temp_path(name);
  run_pipeline("filesrc location=" + pcm +
               " ! rawaudioparse format=pcm pcm-format=f32le num-channels=2 sample-rate=" +
               std::to_string(rate) + " ! audioconvert ! avenc_aac aac-pns=" +
               (pns ? "true" : "false") +
               " ! aacparse ! audio/mpeg,stream-format=adts ! filesink location=" + out);
  g_unlink(pcm.c_str());
  return out;
}

/* A full decode of an ADTS file by GStreamer: interleaved F32. */
std::vector<float> full_decode(const std::string &path)
{
  const std::string raw = temp_path("adts-full.f32");
  run_pipeline("filesrc location=" + path +
               " ! aacparse ! avdec_aac ! audioconvert ! "
               "audio/x-raw,format=F32LE,layout=interleaved ! filesink location=" + raw);
  std::vector<guint8> bytes = read_file(raw);
  g_unlink(raw.c_str());
  std::vector<float> out(bytes.size() / 4);
  memcpy(out.data(), bytes.data(), out.size() * 4);
  return out;
}

class AdtsFile : public ::testing::Test
{
protected:
  static void SetUpTestSuite()
  {
    path_ = new std::string(encode_synthetic("adts-test.aac", 44100, 6.0, false));
    full_ = new std::vector<float>(full_decode(*path_));
  }
  static void TearDownTestSuite()
  {
    g_unlink(path_->c_str());
    delete path_;
    delete full_;
  }
  static std::string *path_;
  static std::vector<float> *full_;
};
std::string *AdtsFile::path_ = nullptr;
std::vector<float> *AdtsFile::full_ = nullptr;

/* Largest absolute difference between an excerpt and the full decode at `first`. */
double max_diff(const montage::PcmExcerpt &ex, const std::vector<float> &full, size_t first)
{
  double worst = 0;
  for (size_t i = 0; i < ex.samples.size(); i++)
    worst = std::max(worst, (double)std::fabs(ex.samples[i] - full[first * 2 + i]));
  return worst;
}

} // namespace

/* ---- header parsing ------------------------------------------------------- */

TEST(AdtsHeader, ParsesEveryField)
{
  AdtsHeader h;
  auto f = make_frame(371, 3, 6, true, 3, 1);
  ASSERT_TRUE(montage::parse_adts_header(f.data(), f.size(), h));
  EXPECT_EQ(h.frame_length, 371u);
  EXPECT_EQ(h.sample_rate, 48000u);
  EXPECT_EQ(h.channel_config, 6u);
  EXPECT_EQ(h.channels(), 6u);
  EXPECT_TRUE(h.crc);
  EXPECT_EQ(h.header_length(), 9u);
  EXPECT_EQ(h.raw_blocks, 3u);
  EXPECT_EQ(h.samples(), 3072u);
  EXPECT_EQ(h.object_type, 1u);
  EXPECT_EQ(h.mpeg_version, 4u);
  auto g = make_frame(8191, 12, 7);
  ASSERT_TRUE(montage::parse_adts_header(g.data(), g.size(), h));
  EXPECT_EQ(h.frame_length, 8191u); /* the 13-bit maximum */
  EXPECT_EQ(h.sample_rate, 7350u);
  EXPECT_EQ(h.channels(), 8u); /* channel configuration 7 is 7.1 */
}

TEST(AdtsHeader, RejectsInvalidHeaders)
{
  AdtsHeader h;
  auto f = make_frame(100);
  EXPECT_FALSE(montage::parse_adts_header(f.data(), 6, h)); /* too short */
  auto bad_sync = f;
  bad_sync[1] = 0xE1;
  EXPECT_FALSE(montage::parse_adts_header(bad_sync.data(), f.size(), h));
  auto bad_layer = f;
  bad_layer[1] |= 0x02; /* layer 01: MPEG audio layer III, not ADTS */
  EXPECT_FALSE(montage::parse_adts_header(bad_layer.data(), f.size(), h));
  for (guint idx : {13u, 14u, 15u}) {
    auto reserved = make_frame(100, idx);
    EXPECT_FALSE(montage::parse_adts_header(reserved.data(), reserved.size(), h)) << idx;
  }
  auto short_len = make_frame(6);
  EXPECT_FALSE(montage::parse_adts_header(short_len.data(), short_len.size(), h));
  auto crc_short = make_frame(8, 4, 2, true); /* CRC header needs 9 bytes */
  EXPECT_FALSE(montage::parse_adts_header(crc_short.data(), crc_short.size(), h));
  auto mpeg2 = f;
  mpeg2[1] |= 0x08;
  ASSERT_TRUE(montage::parse_adts_header(mpeg2.data(), mpeg2.size(), h));
  EXPECT_EQ(h.mpeg_version, 2u);
}

/* ---- index on hand-made streams ------------------------------------------- */

/* The content sniff the tool uses to send raw AAC through montageadtssrc. */
TEST(AdtsHeader, LooksLikeAdts)
{
  std::vector<guint8> two;
  append(two, make_frame(120));
  append(two, make_frame(90));
  EXPECT_TRUE(montage::looks_like_adts(two.data(), two.size()));
  /* One whole frame and nothing else: the end of the data confirms it. */
  EXPECT_TRUE(montage::looks_like_adts(two.data(), 120));
  /* An ID3v2 tag (10-byte header, 20-byte body) in front. */
  std::vector<guint8> tagged = {'I', 'D', '3', 4, 0, 0, 0, 0, 0, 20};
  tagged.resize(30, 0);
  append(tagged, two);
  EXPECT_TRUE(montage::looks_like_adts(tagged.data(), tagged.size()));
  /* Not confirmed: a frame whose successor is of another stream, or cut short. */
  std::vector<guint8> mixed;
  append(mixed, make_frame(120, 4));
  append(mixed, make_frame(90, 3));
  EXPECT_FALSE(montage::looks_like_adts(mixed.data(), mixed.size()));
  EXPECT_FALSE(montage::looks_like_adts(two.data(), 100));
  /* Junk first (not an ID3v2 tag), an Ogg page, nothing. */
  std::vector<guint8> junk = {0x00, 0x01};
  append(junk, two);
  EXPECT_FALSE(montage::looks_like_adts(junk.data(), junk.size()));
  const guint8 ogg[] = {'O', 'g', 'g', 'S', 0, 2, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_FALSE(montage::looks_like_adts(ogg, sizeof ogg));
  EXPECT_FALSE(montage::looks_like_adts(two.data(), 0));
}

TEST(AdtsIndex, OffsetsAndSamplesOfEveryFrame)
{
  std::vector<guint8> data;
  std::vector<guint64> offsets, samples;
  guint64 sample = 0;
  for (guint i = 0; i < 300; i++) {
    const guint blocks = (i % 7 == 3) ? 2 : 1;
    offsets.push_back(data.size());
    samples.push_back(sample);
    append(data, make_frame(100 + (i * 37) % 600, 4, 2, i % 2 == 0, blocks));
    sample += 1024 * blocks;
  }
  montage::AdtsScanReport rep;
  GError *err = nullptr;
  auto index = AdtsIndex::build(data.data(), data.size(), &rep, &err);
  ASSERT_TRUE(index) << err->message;
  ASSERT_EQ(index->frame_count(), 300u);
  ASSERT_EQ(index->runs().size(), 1u); /* the CRC flag alone does not start a run */
  EXPECT_EQ(index->runs()[0].samples, sample);
  EXPECT_EQ(index->duration(), gst_util_uint64_scale(sample, GST_SECOND, 44100));
  EXPECT_EQ(rep.garbage_bytes, 0u);
  for (size_t i = 0; i < 300; i++) {
    auto f = index->frame(i);
    EXPECT_EQ(f.offset, offsets[i]) << i;
    EXPECT_EQ(f.sample, samples[i]) << i;
    EXPECT_EQ(index->find_frame(0, samples[i]), i);
    EXPECT_EQ(index->find_frame(0, samples[i] + f.samples - 1), i);
  }
  EXPECT_EQ(index->find_frame(0, sample + 5000), 299u);
}

TEST(AdtsIndex, SerialiseRoundTripAndDamage)
{
  std::vector<guint8> data = {'I', 'D', '3', 4, 0, 0, 0, 0, 0, 5, 1, 2, 3, 4, 5};
  for (guint i = 0; i < 200; i++) {
    append(data, make_frame(200 + i, i < 150 ? 4 : 3));
    if (i == 77)
      append(data, {0x00, 0xFF, 0xF1, 0x13, 0x37});
  }
  auto index = AdtsIndex::build(data.data(), data.size(), nullptr, nullptr);
  ASSERT_TRUE(index);
  std::vector<uint8_t> bytes = index->serialise();
  EXPECT_LT(bytes.size(), 200 * 2 + 100u);
  auto back = AdtsIndex::deserialise(bytes.data(), bytes.size(), nullptr);
  ASSERT_TRUE(back);
  ASSERT_EQ(back->frame_count(), index->frame_count());
  ASSERT_EQ(back->runs().size(), 2u);
  EXPECT_EQ(back->runs()[1].start, index->runs()[1].start);
  EXPECT_EQ(back->report().garbage_bytes, index->report().garbage_bytes);
  EXPECT_TRUE(back->report().id3_tag);
  for (size_t i = 0; i < index->frame_count(); i++) {
    EXPECT_EQ(back->frame(i).offset, index->frame(i).offset);
    EXPECT_EQ(back->frame(i).sample, index->frame(i).sample);
  }
  /* Every truncation and many single-byte changes: refused or consistent, never a crash. */
  for (size_t len = 0; len < bytes.size(); len++) {
    GError *err = nullptr;
    auto cut = AdtsIndex::deserialise(bytes.data(), len, &err);
    EXPECT_FALSE(cut) << len;
    if (!cut) {
      ASSERT_NE(err, nullptr);
      EXPECT_EQ(err->code, (int)montage::AdtsError::kBadIndex);
      g_error_free(err);
    }
  }
  for (size_t i = 0; i < bytes.size(); i += 3) {
    auto flipped = bytes;
    flipped[i] ^= 0xA5;
    auto any = AdtsIndex::deserialise(flipped.data(), flipped.size(), nullptr);
    if (any) {
      for (size_t f = 0; f < any->frame_count(); f++)
        EXPECT_LE(any->frame(f).offset + any->frame(f).size, any->file_size());
    }
  }
}

/* ---- bad input ------------------------------------------------------------ */

TEST(AdtsBadInput, ZeroLengthFile)
{
  const std::string path = temp_path("adts-empty.aac");
  write_file(path, {});
  GError *err = nullptr;
  EXPECT_FALSE(AdtsIndex::build_from_file(path, nullptr, &err));
  ASSERT_NE(err, nullptr);
  EXPECT_EQ(err->code, (int)montage::AdtsError::kEmpty);
  EXPECT_NE(std::string(err->message).find("empty"), std::string::npos);
  g_error_free(err);
  g_unlink(path.c_str());
  err = nullptr;
  EXPECT_FALSE(AdtsIndex::build_from_file("/nonexistent/song.aac", nullptr, &err));
  ASSERT_NE(err, nullptr);
  EXPECT_EQ(err->code, (int)montage::AdtsError::kIo);
  g_error_free(err);
}

TEST(AdtsBadInput, NotAdtsAtAll)
{
  std::vector<guint8> noise(100000);
  guint32 seed = 7;
  for (auto &b : noise) {
    seed = seed * 1664525u + 1013904223u;
    b = (guint8)(seed >> 24);
  }
  GError *err = nullptr;
  EXPECT_FALSE(AdtsIndex::build(noise.data(), noise.size(), nullptr, &err));
  ASSERT_NE(err, nullptr);
  EXPECT_EQ(err->code, (int)montage::AdtsError::kNotAdts);
  g_clear_error(&err);
  /* A real file of another format: an Ogg Vorbis song. */
  const std::string ogg = montage_test::media_path("just_over_the_horizon.ogg");
  ASSERT_FALSE(ogg.empty());
  EXPECT_FALSE(AdtsIndex::build_from_file(ogg, nullptr, &err));
  ASSERT_NE(err, nullptr);
  EXPECT_EQ(err->code, (int)montage::AdtsError::kNotAdts);
  g_clear_error(&err);
  /* One lone header followed by junk is not a stream. */
  auto lone = make_frame(50);
  append(lone, std::vector<guint8>(500, 0x11));
  EXPECT_FALSE(AdtsIndex::build(lone.data(), lone.size(), nullptr, nullptr));
}

TEST_F(AdtsFile, TruncatedLastFrameIsLeftOut)
{
  std::vector<guint8> bytes = read_file(*path_);
  auto whole = AdtsIndex::build(bytes.data(), bytes.size(), nullptr, nullptr);
  ASSERT_TRUE(whole);
  const auto last = whole->frame(whole->frame_count() - 1);
  bytes.resize(last.offset + last.size / 2);
  const std::string path = temp_path("adts-cut.aac");
  write_file(path, bytes);
  montage::AdtsScanReport rep;
  auto index = AdtsIndex::build_from_file(path, &rep, nullptr);
  ASSERT_TRUE(index);
  EXPECT_EQ(index->frame_count(), whole->frame_count() - 1);
  EXPECT_EQ(rep.truncated_tail_bytes, last.size / 2);
  /* Everything before the cut still extracts exactly. */
  auto ex = AdtsExtractor::open(path, *index, {}, nullptr);
  ASSERT_TRUE(ex);
  montage::PcmExcerpt pcm;
  const GstClockTime end = index->duration();
  ASSERT_TRUE(ex->extract(end - GST_SECOND / 2, end + GST_SECOND, pcm, nullptr));
  const size_t first = (size_t)gst_util_uint64_scale_ceil(end - GST_SECOND / 2, 44100, GST_SECOND);
  EXPECT_EQ(first + pcm.frames(), index->runs()[0].samples);
  EXPECT_LT(max_diff(pcm, *full_, first), 1e-6);
  g_unlink(path.c_str());
}

TEST_F(AdtsFile, GarbageBetweenFramesIsSkipped)
{
  std::vector<guint8> bytes = read_file(*path_);
  auto clean = AdtsIndex::build(bytes.data(), bytes.size(), nullptr, nullptr);
  ASSERT_TRUE(clean);
  /* Junk (with false sync words) before frames 40 and 41; a zeroed stretch before 100. */
  const auto f40 = clean->frame(40), f41 = clean->frame(41), f100 = clean->frame(100);
  std::vector<guint8> junk = {0xFF, 0xF1, 0x50, 0x80, 0x02, 0x1F, 0xFC, 0xFF, 0xFF, 0x12, 0xFF};
  std::vector<guint8> dirty(bytes.begin(), bytes.begin() + f40.offset);
  append(dirty, junk);
  dirty.insert(dirty.end(), bytes.begin() + f40.offset, bytes.begin() + f41.offset);
  append(dirty, junk);
  dirty.insert(dirty.end(), bytes.begin() + f41.offset, bytes.begin() + f100.offset);
  append(dirty, std::vector<guint8>(333, 0));
  dirty.insert(dirty.end(), bytes.begin() + f100.offset, bytes.end());
  const std::string path = temp_path("adts-dirty.aac");
  write_file(path, dirty);
  montage::AdtsScanReport rep;
  auto index = AdtsIndex::build_from_file(path, &rep, nullptr);
  ASSERT_TRUE(index);
  EXPECT_EQ(index->frame_count(), clean->frame_count());
  EXPECT_EQ(rep.garbage_regions, 3u);
  EXPECT_EQ(rep.garbage_bytes, 2 * junk.size() + 333);
  EXPECT_EQ(rep.first_garbage_offset, f40.offset);
  EXPECT_EQ(index->frame(100).offset, f100.offset + 2 * junk.size() + 333);
  EXPECT_EQ(index->duration(), clean->duration());
  /* The timeline stays continuous: an excerpt across the junk is exact. */
  auto ex = AdtsExtractor::open(path, *index, {}, nullptr);
  ASSERT_TRUE(ex);
  montage::PcmExcerpt pcm;
  GError *err = nullptr;
  ASSERT_TRUE(ex->extract(GST_SECOND / 2, 3 * GST_SECOND, pcm, &err)) << err->message;
  EXPECT_LT(max_diff(pcm, *full_, 22050), 1e-6);
  g_unlink(path.c_str());
}

TEST(AdtsBadInput, SampleRateChangeStartsARun)
{
  const std::string a = encode_synthetic("adts-44.aac", 44100, 1.0, false);
  const std::string b = encode_synthetic("adts-48.aac", 48000, 1.0, false);
  std::vector<guint8> bytes = read_file(a);
  append(bytes, read_file(b));
  const std::string path = temp_path("adts-change.aac");
  write_file(path, bytes);
  montage::AdtsScanReport rep;
  auto index = AdtsIndex::build_from_file(path, &rep, nullptr);
  ASSERT_TRUE(index);
  ASSERT_EQ(index->runs().size(), 2u);
  EXPECT_EQ(rep.stream_changes, 1u);
  EXPECT_EQ(index->runs()[0].sample_rate, 44100u);
  EXPECT_EQ(index->runs()[1].sample_rate, 48000u);
  EXPECT_EQ(index->runs()[1].start, index->runs()[0].duration());
  EXPECT_EQ(index->frame(index->runs()[1].first_frame).sample, 0u);
  auto ex = AdtsExtractor::open(path, *index, {}, nullptr);
  ASSERT_TRUE(ex);
  montage::PcmExcerpt pcm;
  GError *err = nullptr;
  const GstClockTime change = index->runs()[1].start;
  EXPECT_FALSE(ex->extract(change - GST_SECOND / 10, change + GST_SECOND / 10, pcm, &err));
  ASSERT_NE(err, nullptr);
  EXPECT_EQ(err->code, (int)montage::AdtsError::kSpansRuns);
  g_clear_error(&err);
  /* Each side works, at its own rate, and matches that part's full decode. */
  ASSERT_TRUE(ex->extract(change + GST_SECOND / 10, change + GST_SECOND / 5, pcm, &err));
  EXPECT_EQ(pcm.rate, 48000u);
  EXPECT_EQ(pcm.frames(), 4800u);
  EXPECT_LT(max_diff(pcm, full_decode(b), 4800), 1e-6);
  ASSERT_TRUE(ex->extract(GST_SECOND / 10, GST_SECOND / 5, pcm, &err));
  EXPECT_EQ(pcm.rate, 44100u);
  EXPECT_EQ(pcm.frames(), 4410u);
  g_unlink(a.c_str());
  g_unlink(b.c_str());
  g_unlink(path.c_str());
}

/* ---- exactness ------------------------------------------------------------ */

TEST_F(AdtsFile, ExactAtFrameBoundariesAndMidFrame)
{
  auto index = AdtsIndex::build_from_file(*path_, nullptr, nullptr);
  ASSERT_TRUE(index);
  ASSERT_EQ(full_->size() / 2, index->runs()[0].samples);
  auto ex = AdtsExtractor::open(*path_, *index, {}, nullptr);
  ASSERT_TRUE(ex);
  struct Case {
    guint64 first, count;
  } cases[] = {
      {0, 1024},          /* the very first frame (no pre-roll possible) */
      {1024, 1024},       /* exactly frame 1 */
      {1023, 2},          /* across a boundary */
      {10 * 1024, 44100}, /* on a boundary, a second long */
      {10 * 1024 + 1, 333},
      {77777, 12345}, /* mid-frame both ends */
      {index->runs()[0].samples - 1500, 1500}, /* the end */
  };
  for (const Case &c : cases) {
    montage::PcmExcerpt pcm;
    GError *err = nullptr;
    ASSERT_TRUE(ex->extract_samples(0, c.first, c.count, pcm, &err)) << err->message;
    ASSERT_EQ(pcm.frames(), c.count);
    EXPECT_EQ(pcm.channels, 2u);
    EXPECT_EQ(pcm.samples.size(), c.count * 2);
    /* Bit-exact with the full decode: same decoder, same state after pre-roll. */
    EXPECT_LT(max_diff(pcm, *full_, c.first), 1e-6) << c.first;
  }
  /* Times: [t0, t1) takes the samples whose times lie inside. */
  montage::PcmExcerpt pcm;
  ASSERT_TRUE(ex->extract(GST_SECOND, 2 * GST_SECOND, pcm, nullptr));
  EXPECT_EQ(pcm.frames(), 44100u);
  EXPECT_EQ(pcm.start, GST_SECOND);
  EXPECT_LT(max_diff(pcm, *full_, 44100), 1e-6);
  ASSERT_TRUE(ex->extract(GST_SECOND + 1, 2 * GST_SECOND + 1, pcm, nullptr));
  EXPECT_EQ(pcm.start, gst_util_uint64_scale(44101, GST_SECOND, 44100));
  EXPECT_EQ(pcm.frames(), 44100u);
  EXPECT_LT(max_diff(pcm, *full_, 44101), 1e-6);
}

/* Several decoders on consecutive parts of one excerpt give the same samples
 * as one decoder and as the full decode. */
TEST_F(AdtsFile, ParallelPartsAreBitExact)
{
  auto index = AdtsIndex::build_from_file(*path_, nullptr, nullptr);
  ASSERT_TRUE(index);
  const guint64 count = index->runs()[0].samples - 5000 - 777;
  for (guint decoders : {1u, 2u, 3u, 5u}) {
    montage::AdtsExtractOptions options;
    options.decoders = decoders;
    options.min_parallel_frames = 4;
    auto ex = AdtsExtractor::open(*path_, *index, options, nullptr);
    ASSERT_TRUE(ex);
    montage::PcmExcerpt pcm;
    GError *err = nullptr;
    ASSERT_TRUE(ex->extract_samples(0, 5000, count, pcm, &err)) << err->message;
    ASSERT_EQ(pcm.frames(), count) << decoders;
    EXPECT_LT(max_diff(pcm, *full_, 5000), 1e-6) << decoders << " decoders";
  }
}

/* Excerpts one after another on the same extractor and the same (reused)
 * PcmExcerpt stay exact: nothing carries over between excerpts, including an
 * excerpt at the very start (no pre-roll frame: the decoder is reopened),
 * and a shorter excerpt after a longer one has the shorter length. */
TEST_F(AdtsFile, RepeatedExcerptsIntoOneBufferStayExact)
{
  auto index = AdtsIndex::build_from_file(*path_, nullptr, nullptr);
  ASSERT_TRUE(index);
  montage::AdtsExtractOptions options;
  options.decoders = 2;
  options.min_parallel_frames = 4;
  auto ex = AdtsExtractor::open(*path_, *index, options, nullptr);
  ASSERT_TRUE(ex);
  EXPECT_EQ(ex->decoders(), 2u);
  const guint64 total = index->runs()[0].samples;
  struct Case {
    guint64 first, count;
  } cases[] = {{0, 1024}, {30000, 100000}, {0, 50000}, {total - 70000, 70000}, {0, 1024},
               {12345, 777}, {2048, total - 4096}};
  montage::PcmExcerpt pcm;
  for (const Case &c : cases) {
    GError *err = nullptr;
    ASSERT_TRUE(ex->extract_samples(0, c.first, c.count, pcm, &err)) << err->message;
    ASSERT_EQ(pcm.frames(), c.count) << c.first;
    EXPECT_LT(max_diff(pcm, *full_, c.first), 1e-6) << c.first << "+" << c.count;
  }
  guint64 parts = 0, redone = 0;
  ex->part_counts(parts, redone);
  EXPECT_GE(parts, 3u * 2); /* the three long excerpts were split */
  EXPECT_LE(redone, parts);
}

TEST_F(AdtsFile, WithoutPrerollTheFirstFrameIsWrong)
{
  /* The pre-roll is what makes it exact: with none, the first frame differs. */
  auto index = AdtsIndex::build_from_file(*path_, nullptr, nullptr);
  ASSERT_TRUE(index);
  montage::AdtsExtractOptions opts;
  opts.preroll_frames = 0;
  auto ex = AdtsExtractor::open(*path_, *index, opts, nullptr);
  ASSERT_TRUE(ex);
  montage::PcmExcerpt pcm;
  ASSERT_TRUE(ex->extract_samples(0, 50 * 1024, 1024, pcm, nullptr));
  EXPECT_GT(max_diff(pcm, *full_, 50 * 1024), 1e-3);
}

TEST_F(AdtsFile, PrimingShiftsTheTimeline)
{
  auto index = AdtsIndex::build_from_file(*path_, nullptr, nullptr);
  ASSERT_TRUE(index);
  montage::AdtsExtractOptions opts;
  opts.priming = 1024; /* avenc_aac's encoder delay */
  auto ex = AdtsExtractor::open(*path_, *index, opts, nullptr);
  ASSERT_TRUE(ex);
  montage::PcmExcerpt pcm;
  ASSERT_TRUE(ex->extract(0, GST_SECOND, pcm, nullptr));
  EXPECT_EQ(pcm.frames(), 44100u);
  EXPECT_LT(max_diff(pcm, *full_, 1024), 1e-6);
  /* The source's first click (0.3 on the left, samples 0-39) is right at t = 0. */
  EXPECT_GT(pcm.samples[2 * 20], 0.2f);
}

TEST_F(AdtsFile, RangeErrorsAreClear)
{
  auto index = AdtsIndex::build_from_file(*path_, nullptr, nullptr);
  ASSERT_TRUE(index);
  auto ex = AdtsExtractor::open(*path_, *index, {}, nullptr);
  ASSERT_TRUE(ex);
  montage::PcmExcerpt pcm;
  GError *err = nullptr;
  EXPECT_FALSE(ex->extract(2 * GST_SECOND, GST_SECOND, pcm, &err));
  ASSERT_NE(err, nullptr);
  EXPECT_EQ(err->code, (int)montage::AdtsError::kRange);
  g_clear_error(&err);
  EXPECT_FALSE(ex->extract(100 * GST_SECOND, 101 * GST_SECOND, pcm, &err));
  ASSERT_NE(err, nullptr);
  EXPECT_EQ(err->code, (int)montage::AdtsError::kRange);
  g_clear_error(&err);
  /* An index of another file is refused. */
  std::vector<guint8> other;
  for (int i = 0; i < 10; i++)
    append(other, make_frame(300));
  auto wrong = AdtsIndex::build(other.data(), other.size(), nullptr, nullptr);
  ASSERT_TRUE(wrong);
  EXPECT_FALSE(AdtsExtractor::open(*path_, *wrong, {}, &err));
  ASSERT_NE(err, nullptr);
  EXPECT_EQ(err->code, (int)montage::AdtsError::kBadIndex);
  g_clear_error(&err);
}

TEST(AdtsRealMusic, ExcerptCorrelatesWithFullDecode)
{
  /* Real music with noise substitution on: PNS noise is random, so compare
   * by correlation, and check the best lag is zero. */
  const std::string ogg = montage_test::media_path("stg0.ogg");
  ASSERT_FALSE(ogg.empty());
  const std::string aac = temp_path("adts-music.aac");
  ASSERT_TRUE(run_pipeline("filesrc location=" + ogg +
                           " ! decodebin ! audioconvert ! audioresample ! "
                           "audio/x-raw,rate=44100,channels=2 ! avenc_aac ! aacparse ! "
                           "audio/mpeg,stream-format=adts ! filesink location=" + aac));
  std::vector<float> full = full_decode(aac);
  auto index = AdtsIndex::build_from_file(aac, nullptr, nullptr);
  ASSERT_TRUE(index);
  auto ex = AdtsExtractor::open(aac, *index, {}, nullptr);
  ASSERT_TRUE(ex);
  montage::PcmExcerpt pcm;
  const guint64 first = 30 * 44100 + 517;
  ASSERT_TRUE(ex->extract_samples(0, first, 5 * 44100, pcm, nullptr));
  auto corr = [&](long lag) {
    double xy = 0, xx = 0, yy = 0;
    for (size_t i = 0; i < pcm.samples.size(); i++) {
      const double x = pcm.samples[i], y = full[(first + lag) * 2 + i];
      xy += x * y, xx += x * x, yy += y * y;
    }
    return xy / std::sqrt(xx * yy + 1e-30);
  };
  const double zero = corr(0);
  EXPECT_GT(zero, 0.999);
  for (long lag : {-1024L, -1L, 1L, 1024L})
    EXPECT_LT(corr(lag), zero) << lag;
  g_unlink(aac.c_str());
}
