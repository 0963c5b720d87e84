/* Encoder choice and fallback (library: encoder.h, render.h). */
#include "failingenc.h"
#include "testutil.h"

#include <gst/montage/encoder.h>
#include <gst/montage/render.h>

#include <gst/app/gstappsink.h>
#include <gst/pbutils/pbutils.h>
#include <gst/video/video.h>
#include <glib/gstdio.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>

namespace {

} // namespace

TEST(Encoder, CandidatesOrderHardwareFirstThenSoftware)
{
  std::vector<std::string> c = montage::h264_encoder_candidates();
  auto pos = [&](const char *name) {
    return std::find(c.begin(), c.end(), name) - c.begin();
  };
  ASSERT_LT(pos("x264enc"), (long)c.size()) << "x264enc (gstreamer1.0-plugins-ugly) must be installed";
  for (const char *hw : {"nvh264enc", "vah264enc", "vah264lpenc", "vaapih264enc"})
    if (pos(hw) < (long)c.size()) {
      EXPECT_LT(pos(hw), pos("x264enc")) << hw;
    }
  if (pos("openh264enc") < (long)c.size()) {
    EXPECT_LT(pos("x264enc"), pos("openh264enc"));
  }
}

TEST(Encoder, ProbeRejectsMissingAndFailingEncoders)
{
  ASSERT_TRUE(montage_test::register_failing_encoder());
  GError *err = nullptr;
  EXPECT_TRUE(montage::probe_h264_encoder("x264enc", &err)) << (err ? err->message : "");
  g_clear_error(&err);
  EXPECT_FALSE(montage::probe_h264_encoder("no-such-encoder", &err));
  ASSERT_NE(err, nullptr);
  /* Said as not installed (it named the probe's own videotestsrc and
   * fakesink, which mean nothing to a user). */
  EXPECT_NE(std::string(err->message).find("no element named no-such-encoder is installed"),
            std::string::npos)
      << err->message;
  EXPECT_EQ(std::string(err->message).find("videotestsrc"), std::string::npos) << err->message;
  g_clear_error(&err);
  /* Fails on frame 6: a 10-frame probe catches it. */
  EXPECT_FALSE(montage::probe_h264_encoder("montagetestfailenc", &err, 10));
  ASSERT_NE(err, nullptr);
  EXPECT_NE(std::string(err->message).find("lost its session"), std::string::npos) << err->message;
  g_clear_error(&err);

  std::vector<std::string> rejected;
  std::string chosen =
      montage::pick_h264_encoder({"no-such-encoder", "x264enc"}, &err, &rejected);
  EXPECT_EQ(chosen, "x264enc");
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].rfind("no-such-encoder: ", 0), 0u);
  EXPECT_EQ(montage::pick_h264_encoder({"no-such-encoder"}, &err), "");
  ASSERT_NE(err, nullptr);
  g_clear_error(&err);
}

TEST(Render, EncoderFailingMidStreamFallsBackAndLeavesNoPartialFile)
{
  ASSERT_TRUE(montage_test::register_failing_encoder());
  std::string clip = montage_test::make_media("montage-test-clip.mp4",
                                "videotestsrc num-buffers=60 pattern=ball ! "
                                "video/x-raw,width=320,height=240,framerate=30/1 ! x264enc ! "
                                "mp4mux ! filesink location=%s");
  std::string songf = montage_test::make_media("montage-test-song.ogg",
                                 "audiotestsrc num-buffers=100 ! audioconvert ! vorbisenc ! oggmux ! "
                                 "filesink location=%s");
  ASSERT_FALSE(clip.empty());
  ASSERT_FALSE(songf.empty());

  montage::ClipAnalysis c;
  c.path = clip;
  c.uri = montage_test::uri_of(clip);
  c.duration = 2 * GST_SECOND;
  c.fps_n = 30;
  c.cuts.clear();
  montage::shots_from_cuts(c);
  montage::SongAnalysis song;
  song.uri = montage_test::uri_of(songf);
  montage::Plan plan;
  plan.duration = GST_SECOND;
  plan.segments.push_back({0, GST_SECOND / 2, 0, 0, 0, 0, 0, false});
  plan.segments.push_back({GST_SECOND / 2, GST_SECOND / 2, 0, 0, GST_SECOND, 1, GST_SECOND / 2, false});

  gchar *out = g_build_filename(g_get_tmp_dir(), "montage-test-fallback.mp4", NULL);
  g_unlink(out);
  montage::RenderSettings settings;
  settings.output_path = out;
  settings.width = 320;
  settings.height = 240;
  settings.preview = true;
  settings.encoders = {"montagetestfailenc", "x264enc"};
  montage::RenderResult result;
  GError *err = nullptr;
  ASSERT_TRUE(montage::render_plan(plan, song, {c}, settings, &result, &err))
      << (err ? err->message : "");
  EXPECT_EQ(result.encoder, "x264enc");
  ASSERT_EQ(result.fallbacks.size(), 1u);
  EXPECT_EQ(result.fallbacks[0].rfind("montagetestfailenc: ", 0), 0u) << result.fallbacks[0];

  /* The file is complete H.264, and no temporary file is left beside it. */
  GstDiscoverer *disc = gst_discoverer_new(30 * GST_SECOND, &err);
  ASSERT_TRUE(disc);
  gchar *uri = gst_filename_to_uri(out, nullptr);
  GstDiscovererInfo *info = gst_discoverer_discover_uri(disc, uri, &err);
  ASSERT_TRUE(info) << (err ? err->message : "");
  GList *videos = gst_discoverer_info_get_video_streams(info);
  ASSERT_TRUE(videos);
  GstCaps *caps = gst_discoverer_stream_info_get_caps(GST_DISCOVERER_STREAM_INFO(videos->data));
  EXPECT_TRUE(gst_structure_has_name(gst_caps_get_structure(caps, 0), "video/x-h264"));
  gst_caps_unref(caps);
  gst_discoverer_stream_info_list_free(videos);
  gst_discoverer_info_unref(info);
  g_object_unref(disc);
  g_free(uri);

  gchar *dir = g_path_get_dirname(out);
  GDir *d = g_dir_open(dir, 0, nullptr);
  while (const gchar *name = g_dir_read_name(d))
    EXPECT_EQ(strstr(name, "montage-test-fallback.mp4.partial"), nullptr) << name;
  g_dir_close(d);
  g_free(dir);
  g_unlink(out);
  g_free(out);
}

TEST(Render, NoWorkingEncoderFailsWithoutOutput)
{
  ASSERT_TRUE(montage_test::register_failing_encoder());
  montage::ClipAnalysis c;
  montage::SongAnalysis song;
  montage::Plan plan;
  gchar *out = g_build_filename(g_get_tmp_dir(), "montage-test-none.mp4", NULL);
  g_unlink(out);
  montage::RenderSettings settings;
  settings.output_path = out;
  GError *err = nullptr;
  /* An empty plan is refused up front. */
  EXPECT_FALSE(montage::render_plan(plan, song, {c}, settings, nullptr, &err));
  ASSERT_NE(err, nullptr);
  g_clear_error(&err);
  EXPECT_FALSE(g_file_test(out, G_FILE_TEST_EXISTS));
  g_free(out);
}

namespace {

/* Mean RGB of the decoded output frame nearest `t`. */
std::array<double, 3> mean_rgb_at(const std::string &path, GstClockTime t)
{
  gchar *desc = g_strdup_printf("filesrc location=\"%s\" ! decodebin ! videoconvert ! "
                                "video/x-raw,format=RGB ! appsink name=sink sync=false",
                                path.c_str());
  GstElement *p = gst_parse_launch(desc, nullptr);
  g_free(desc);
  std::array<double, 3> best{-1, -1, -1};
  if (!p)
    return best;
  GstElement *sink = gst_bin_get_by_name(GST_BIN(p), "sink");
  gst_element_set_state(p, GST_STATE_PLAYING);
  GstClockTime best_dist = GST_CLOCK_TIME_NONE;
  while (GstSample *s = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 10 * GST_SECOND)) {
    GstBuffer *b = gst_sample_get_buffer(s);
    GstClockTime pts = GST_BUFFER_PTS(b);
    GstClockTime dist = pts > t ? pts - t : t - pts;
    if (dist < best_dist) {
      best_dist = dist;
      GstVideoInfo info;
      gst_video_info_from_caps(&info, gst_sample_get_caps(s));
      GstMapInfo map;
      gst_buffer_map(b, &map, GST_MAP_READ);
      double sum[3] = {0, 0, 0};
      int w = GST_VIDEO_INFO_WIDTH(&info), h = GST_VIDEO_INFO_HEIGHT(&info);
      for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
          for (int c = 0; c < 3; c++)
            sum[c] += map.data[y * GST_VIDEO_INFO_PLANE_STRIDE(&info, 0) + x * 3 + c];
      gst_buffer_unmap(b, &map);
      for (int c = 0; c < 3; c++)
        best[c] = sum[c] / (w * h);
    }
    gst_sample_unref(s);
  }
  gst_element_set_state(p, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(p);
  return best;
}

} // namespace

/* A fade goes through black on the cut; a dissolve mixes the two shots; the
 * song fades out at the end. */
TEST(Render, FadeAndDissolveTransitionsAndAudioFade)
{
  std::string red = montage_test::make_media("montage-test-red.mp4",
                               "videotestsrc num-buffers=90 pattern=red ! "
                               "video/x-raw,width=320,height=240,framerate=30/1 ! x264enc ! "
                               "mp4mux ! filesink location=%s");
  std::string blue = montage_test::make_media("montage-test-blue.mp4",
                                "videotestsrc num-buffers=90 pattern=blue ! "
                                "video/x-raw,width=320,height=240,framerate=30/1 ! x264enc ! "
                                "mp4mux ! filesink location=%s");
  std::string songf = montage_test::make_media("montage-test-song2.ogg",
                                 "audiotestsrc num-buffers=200 ! audioconvert ! vorbisenc ! oggmux ! "
                                 "filesink location=%s");
  ASSERT_FALSE(red.empty() || blue.empty() || songf.empty());
  std::vector<montage::ClipAnalysis> clips(2);
  for (int i = 0; i < 2; i++) {
    clips[i].path = i ? blue : red;
    clips[i].uri = montage_test::uri_of(clips[i].path);
    clips[i].duration = 3 * GST_SECOND;
    clips[i].fps_n = 30;
    montage::shots_from_cuts(clips[i]);
  }
  montage::SongAnalysis song;
  song.uri = montage_test::uri_of(songf);
  montage::Plan plan;
  plan.duration = 2 * GST_SECOND;
  plan.segments.push_back({0, GST_SECOND, 0, 0, GST_SECOND, 0, 0, false});
  plan.segments.push_back({GST_SECOND, GST_SECOND, 1, 0, GST_SECOND, 1, GST_SECOND, false});

  for (montage::Transition kind : {montage::Transition::kFade, montage::Transition::kDissolve}) {
    gchar *out = g_build_filename(g_get_tmp_dir(), "montage-test-transition.mp4", NULL);
    montage::RenderSettings settings;
    settings.output_path = out;
    settings.width = 320;
    settings.height = 240;
    settings.preview = true;
    settings.encoders = {"x264enc"};
    settings.timeline.transitions = {montage::Transition::kCut, kind};
    settings.timeline.transition_durations = {0, 600 * GST_MSECOND};
    settings.timeline.audio_fade_out = 500 * GST_MSECOND;
    GError *err = nullptr;
    ASSERT_TRUE(montage::render_plan(plan, song, clips, settings, nullptr, &err))
        << (err ? err->message : "");
    auto before = mean_rgb_at(out, 500 * GST_MSECOND);
    auto at_cut = mean_rgb_at(out, GST_SECOND);
    auto after = mean_rgb_at(out, 1500 * GST_MSECOND);
    EXPECT_GT(before[0], 150) << "red before the transition";
    EXPECT_GT(after[2], 150) << "blue after the transition";
    if (kind == montage::Transition::kFade) {
      EXPECT_LT(at_cut[0] + at_cut[1] + at_cut[2], 60) << "a fade is black at the cut";
    } else {
      EXPECT_GT(at_cut[0], 60) << "a dissolve shows both shots at the cut";
      EXPECT_GT(at_cut[2], 60) << "a dissolve shows both shots at the cut";
    }
    g_unlink(out);
    g_free(out);
  }
}
