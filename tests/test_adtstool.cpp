/* gst-montage-1.0 with ADTS (raw AAC) songs (issue 8): the song analysis goes
 * through montageadtssrc, so its duration is the exact frame count and its
 * beats sit on the decoder's timeline; `extract` keeps the frame index in the
 * analysis cache. Runs the tool named by GST_MONTAGE_TOOL (meson test sets it). */
#include "testutil.h"

#include "../tools/analysis.h"

#include <gst/montage/adts.h>
#include <gst/montage/cache.h>

#include <glib/gstdio.h>
#include <gtest/gtest.h>
#include <json-glib/json-glib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace {

using montage_test::run_tool;
using montage_test::ToolRun;



/* A fresh directory for one test. */
std::string temp_dir(const char *name)
{
  gchar *tmpl = g_build_filename(g_get_tmp_dir(), (std::string(name) + "-XXXXXX").c_str(), NULL);
  gchar *dir = g_mkdtemp(tmpl);
  std::string out = dir ? dir : "";
  g_free(tmpl);
  return out;
}

void remove_tree(const std::string &path)
{
  if (g_file_test(path.c_str(), G_FILE_TEST_IS_DIR)) {
    if (GDir *dir = g_dir_open(path.c_str(), 0, nullptr)) {
      while (const gchar *name = g_dir_read_name(dir))
        remove_tree(path + "/" + name);
      g_dir_close(dir);
    }
    g_rmdir(path.c_str());
  } else {
    g_unlink(path.c_str());
  }
}

bool run_pipeline(const std::string &desc)
{
  GError *err = nullptr;
  GstElement *p = gst_parse_launch(desc.c_str(), &err);
  EXPECT_TRUE(p) << (err ? err->message : "");
  g_clear_error(&err);
  if (!p)
    return false;
  gst_element_set_state(p, GST_STATE_PLAYING);
  GstMessage *m = gst_bus_timed_pop_filtered(GST_ELEMENT_BUS(p), 120 * GST_SECOND,
                                             (GstMessageType)(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  const bool ok = m && GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS;
  if (m)
    gst_message_unref(m);
  gst_element_set_state(p, GST_STATE_NULL);
  gst_object_unref(p);
  return ok;
}

constexpr double kBpm = 120.0;
constexpr double kFirstClick = 0.25; /* s */
constexpr guint kRate = 44100;
constexpr guint kPriming = 1024; /* avenc_aac's encoder delay, in the decoder's timeline */

/* A 40 s stereo click track at 120 BPM (a decaying 1 kHz burst and a low
 * thump on every beat, accent on the first of four), encoded to ADTS with
 * avenc_aac into `path` (any name: the tool must find ADTS by content). */
bool make_click_song(const std::string &dir, const std::string &path)
{
  const size_t n = (size_t)(40.0 * kRate);
  std::vector<float> s(n * 2, 0.0f);
  const double period = 60.0 / kBpm;
  for (int beat = 0;; beat++) {
    const double t = kFirstClick + beat * period;
    const size_t at = (size_t)std::llround(t * kRate);
    if (at >= n)
      break;
    const double gain = beat % 4 == 0 ? 0.8 : 0.5;
    for (size_t i = 0; i < (size_t)(0.08 * kRate) && at + i < n; i++) {
      const double u = (double)i / kRate;
      const double v = gain * std::exp(-u * 60.0) *
                       (std::sin(2 * M_PI * 1000 * u) + 0.7 * std::sin(2 * M_PI * 60 * u));
      s[2 * (at + i)] += (float)v;
      s[2 * (at + i) + 1] += (float)v;
    }
  }
  const std::string raw = dir + "/clicks.f32";
  if (!g_file_set_contents(raw.c_str(), (const gchar *)s.data(), s.size() * sizeof(float),
                           nullptr))
    return false;
  const bool ok = run_pipeline(
      "filesrc location=\"" + raw +
      "\" ! rawaudioparse format=pcm pcm-format=f32le num-channels=2 sample-rate=44100 ! "
      "audioconvert ! avenc_aac aac-pns=false ! aacparse ! audio/mpeg,stream-format=adts ! "
      "filesink location=\"" +
      path + "\"");
  g_unlink(raw.c_str());
  return ok;
}

/* The tool's cached song analysis of `path` (the key the tool uses). */
bool cached_song(const std::string &cache_dir, const std::string &path, montage::SongAnalysis &out)
{
  const std::string key = montage::cache_key(
      {path, montage_tool::kSongAnalyser, montage_tool::kSongAnalysisVersion,
       montage_tool::song_analysis_params({}), false},
      montage::CacheKind::kSong, nullptr);
  montage::AnalysisCache cache(cache_dir);
  return !key.empty() && cache.load_song(key, out);
}

double plan_song_duration(const std::string &json)
{
  JsonParser *parser = json_parser_new();
  double d = -1;
  if (json_parser_load_from_file(parser, json.c_str(), nullptr)) {
    JsonObject *root = json_node_get_object(json_parser_get_root(parser));
    JsonObject *song = json_object_get_object_member(root, "song");
    if (song && json_object_has_member(song, "duration_s"))
      d = json_object_get_double_member(song, "duration_s");
  }
  g_object_unref(parser);
  return d;
}

} // namespace

/* A montage with an ADTS song: the song is read through montageadtssrc (seen
 * in its debug log), the duration is exactly frames x 1024 / rate, and the
 * beats land on the clicks (decoder timeline: the encoder's priming first). */
TEST(ToolAdtsSong, AnalysedThroughTheIndexWithExactDurationAndBeats)
{
  const std::string clip = montage_test::media_path("oa4_launch.webm");
  ASSERT_FALSE(clip.empty());
  const std::string dir = temp_dir("gst-montage-adtstool");
  ASSERT_FALSE(dir.empty());
  const std::string song = dir + "/clicks.audio"; /* no .aac: detected by content */
  ASSERT_TRUE(make_click_song(dir, song));

  GError *err = nullptr;
  auto index = montage::AdtsIndex::build_from_file(song, nullptr, &err);
  ASSERT_TRUE(index) << err->message;
  ASSERT_EQ(index->runs().size(), 1u);
  const GstClockTime exact = gst_util_uint64_scale(index->runs()[0].samples, GST_SECOND, kRate);
  ASSERT_EQ(index->duration(), exact);

  const std::string cache = dir + "/cache", plan = dir + "/plan.json";
  ToolRun r = run_tool({"--cache-dir", cache, "-m", song, "--no-render", "-d", "8", "--plan-json",
                        plan, clip},
                       600, "montageadtssrc:5");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("montageadtssrc"), std::string::npos)
      << "the song did not go through montageadtssrc";
  EXPECT_NEAR(plan_song_duration(plan), exact / 1e9, 1e-6);

  montage::SongAnalysis analysis;
  ASSERT_TRUE(cached_song(cache, song, analysis));
  EXPECT_EQ(analysis.duration, exact);
  EXPECT_NEAR(analysis.bpm, kBpm, 2.0);
  /* Every beat after 5 s within 70 ms of a click (mir_eval's window), and
   * at least 90 % of the clicks found. */
  const double shift = (double)kPriming / kRate, period = 60.0 / kBpm;
  size_t scored = 0, near = 0;
  double offset_sum = 0;
  for (GstClockTime b : analysis.beats) {
    const double t = b / 1e9 - shift;
    if (t < 5.0)
      continue;
    const double k = std::round((t - kFirstClick) / period);
    const double off = t - (kFirstClick + k * period);
    scored++;
    if (std::fabs(off) <= 0.070) {
      near++;
      offset_sum += off;
    }
  }
  const size_t clicks_after_5s = (size_t)((exact / 1e9 - shift - 5.0) / period);
  printf("beats after 5 s: %zu, on a click (+-70 ms): %zu, clicks: %zu, mean offset %.1f ms, "
         "%.2f BPM, duration %.6f s\n",
         scored, near, clicks_after_5s, near ? 1e3 * offset_sum / near : 0.0, analysis.bpm,
         analysis.duration / 1e9);
  EXPECT_GE(near, scored * 9 / 10) << near << " of " << scored << " beats on a click";
  EXPECT_GE(near, clicks_after_5s * 9 / 10) << near << " beats for " << clicks_after_5s << " clicks";
  if (near) {
    EXPECT_LT(std::fabs(offset_sum / near), 0.035) << "mean beat offset from the clicks";
  }

  /* The same song again comes from the cache, unchanged. */
  r = run_tool({"--cache-dir", cache, "-m", song, "--no-render", "-d", "8", clip});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("(0 analysed, 2 from cache)"), std::string::npos) << r.out;
  remove_tree(dir);
}

/* A song that only looks like ADTS for one header is not taken for ADTS,
 * and a real non-ADTS song still goes through uridecodebin. */
TEST(ToolAdtsSong, NonAdtsSongsKeepTheGeneralPath)
{
  const std::string ogg = montage_test::media_path("just_over_the_horizon.ogg");
  const std::string clip = montage_test::media_path("oa4_launch.webm");
  ASSERT_FALSE(ogg.empty() || clip.empty());
  const std::string dir = temp_dir("gst-montage-adtstool");
  ToolRun r = run_tool({"--cache-dir", dir + "/cache", "-m", ogg, "--no-render", "-d", "6", clip},
                       600, "montageadtssrc:5");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err.find("montageadtssrc"), std::string::npos) << "an Ogg song is not ADTS";
  remove_tree(dir);
}

/* `extract` keeps the frame index in the analysis cache: one entry, used by
 * the next excerpt of the same file; --no-cache adds none; the excerpt is
 * the same either way. */
TEST(ToolAdtsExtract, KeepsTheIndexInTheCache)
{
  const std::string dir = temp_dir("gst-montage-adtstool");
  ASSERT_FALSE(dir.empty());
  const std::string song = dir + "/clicks.aac", cache = dir + "/cache";
  ASSERT_TRUE(make_click_song(dir, song));
  const std::string a = dir + "/a.wav", b = dir + "/b.wav", c = dir + "/c.wav";
  ToolRun r = run_tool({"extract", song, "--start", "10.5", "--end", "13", "-o", a,
                        "--cache-dir", cache});
  ASSERT_EQ(r.status, 0) << r.err;
  ToolRun stats = run_tool({"cache", "--stats", "--cache-dir", cache});
  EXPECT_NE(stats.out.find(": 1 entries"), std::string::npos) << stats.out;
  r = run_tool({"extract", song, "--start", "10.5", "--end", "13", "-o", b, "--cache-dir", cache});
  ASSERT_EQ(r.status, 0) << r.err;
  r = run_tool({"extract", song, "--start", "10.5", "--end", "13", "-o", c, "--cache-dir",
                dir + "/unused", "--no-cache"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_FALSE(g_file_test((dir + "/unused").c_str(), G_FILE_TEST_EXISTS));
  stats = run_tool({"cache", "--stats", "--cache-dir", cache});
  EXPECT_NE(stats.out.find(": 1 entries"), std::string::npos) << stats.out;
  const std::string wa = montage_test::read_file(a);
  EXPECT_EQ(wa.size(), 44u + 110250u * 2 * 2); /* 2.5 s, 16-bit stereo */
  EXPECT_EQ(wa, montage_test::read_file(b));
  EXPECT_EQ(wa, montage_test::read_file(c));
  remove_tree(dir);
}

/* `extract -o` leaves an existing file as it is unless -y (--overwrite) is
 * given, as the montage's -o does, and never touches OUT.wav.part, a file
 * of the user's: it overwrote both without a word. */
TEST(ToolAdtsExtract, ExistingOutputIsKeptWithoutOverwrite)
{
  const std::string dir = temp_dir("gst-montage-adtstool-y");
  ASSERT_FALSE(dir.empty());
  const std::string song = dir + "/clicks.aac", out = dir + "/x.wav", part = out + ".part";
  ASSERT_TRUE(make_click_song(dir, song));
  ASSERT_TRUE(g_file_set_contents(out.c_str(), "mine", -1, nullptr));
  ASSERT_TRUE(g_file_set_contents(part.c_str(), "mine too", -1, nullptr));
  ToolRun r = run_tool({"extract", song, "--start", "1", "--end", "2", "-o", out, "--no-cache"});
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("exists: give -y"), std::string::npos) << r.err;
  EXPECT_TRUE(montage_test::read_file(out) == "mine") << "the file was replaced";
  r = run_tool({"extract", song, "--start", "1", "--end", "2", "-o", out, "--no-cache", "-y"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(montage_test::read_file(out).size(), 44u + 44100u * 2 * 2); /* 1 s, 16-bit stereo */
  EXPECT_TRUE(montage_test::read_file(part) == "mine too") << "OUT.wav.part was replaced";
  /* Named through a symbolic link, -y writes the file the link leads to
   * and keeps the link (the link was replaced by a plain file). */
  const std::string real = dir + "/real.wav", link = dir + "/link.wav";
  ASSERT_TRUE(g_file_set_contents(real.c_str(), "mine", -1, nullptr));
  ASSERT_EQ(symlink("real.wav", link.c_str()), 0);
  r = run_tool({"extract", song, "--start", "1", "--end", "2", "-o", link, "--no-cache", "-y"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(g_file_test(link.c_str(), G_FILE_TEST_IS_SYMLINK)) << "the link was replaced";
  EXPECT_EQ(montage_test::read_file(real).size(), 44u + 44100u * 2 * 2)
      << "the file was not written";
  remove_tree(dir);
}
