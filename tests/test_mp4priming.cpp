/* Tests for making an MP4's AAC track skip its encoder's priming
 * (mp4priming.h): files are written as the render paths write them
 * (appsrc ! audioconvert ! AAC encoder ! aacparse ! mp4mux, with a picture
 * from x264enc where the audio starts late), with a short burst at a known
 * time; the patched file is decoded with qtdemux ! aacparse ! avdec_aac and
 * the burst must be where it was put, within 1 ms. Then every input the
 * patch must refuse without changing a byte. */
#include <gtest/gtest.h>

#include "testutil.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/audio/audio.h>
#include <gst/check/gstharness.h>
#include <gst/montage/mp4priming.h>

#include <glib/gstdio.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

namespace
{

using montage::aac_encoder_priming;
using montage::mp4_skip_audio_priming;
using montage::Mp4Error;

constexpr int kRate = 48000;
constexpr int kBurst = 96; /* 2 ms */

/* The burst: 3 kHz under a Hann window. */
float burst(int i)
{
  return 0.8f * (float)(std::sin(2 * M_PI * 3000.0 * i / kRate) *
                        (0.5 - 0.5 * std::cos(2 * M_PI * i / kBurst)));
}

std::string scratch(const char *name)
{
  gchar *unique = g_strdup_printf("%d-%s", (int)getpid(), name);
  gchar *path = g_build_filename(g_get_tmp_dir(), unique, NULL);
  std::string out(path);
  g_free(unique);
  g_free(path);
  return out;
}

/* Writes `name`.mp4: `seconds` of stereo sound at 48 kHz, silent but for a
 * burst at `click` (ns, stream time), encoded with `encoder`; the sound is
 * stamped from `audio_start` on. With `video`, one second of black 64x64
 * picture from 0 too (x264enc), so that a late sound track starts with an
 * empty edit. With `keep_end`, the encoder is given aac_encoder_keep_end()
 * (its counts go there) and the movie timescale is the sample rate, as the
 * render paths write it. Returns the path, "" (and a failed test) on error. */
std::string write_mp4(const char *name, const char *encoder, GstClockTime click,
                      GstClockTime audio_start = 0, bool video = false, double seconds = 1.0,
                      std::shared_ptr<const montage::AacEncoderInput> *keep_end = nullptr)
{
  const std::string path = scratch(name);
  gchar *desc = g_strdup_printf(
      "appsrc name=a format=time caps=audio/x-raw,format=F32LE,rate=%d,channels=2,"
      "layout=interleaved,channel-mask=(bitmask)0x3 ! audioconvert ! %s name=e ! aacparse ! "
      "mp4mux name=m movie-timescale=%d ! filesink location=\"%s\" %s",
      kRate, encoder, keep_end ? kRate : 0, path.c_str(),
      video ? "videotestsrc num-buffers=30 pattern=black ! "
              "video/x-raw,width=64,height=64,framerate=30/1 ! x264enc ! h264parse ! m."
            : "");
  GError *err = nullptr;
  GstElement *pipe = gst_parse_launch(desc, &err);
  g_free(desc);
  EXPECT_TRUE(pipe) << (err ? err->message : "");
  g_clear_error(&err);
  if (!pipe)
    return "";
  GstElement *src = gst_bin_get_by_name(GST_BIN(pipe), "a");
  if (keep_end) {
    GstElement *enc = gst_bin_get_by_name(GST_BIN(pipe), "e");
    *keep_end = montage::aac_encoder_keep_end(enc);
    gst_object_unref(enc);
  }
  gst_element_set_state(pipe, GST_STATE_PLAYING);
  const gint64 total = (gint64)std::llround(seconds * kRate);
  const gint64 at = (gint64)gst_util_uint64_scale(click, kRate, GST_SECOND);
  for (gint64 s0 = 0; s0 < total; s0 += 1024) {
    const gint64 n = MIN(1024, total - s0);
    GstBuffer *b = gst_buffer_new_allocate(nullptr, n * 2 * sizeof(float), nullptr);
    GstMapInfo map;
    gst_buffer_map(b, &map, GST_MAP_WRITE);
    auto *d = reinterpret_cast<float *>(map.data);
    for (gint64 k = 0; k < n; k++) {
      const gint64 i = s0 + k - at;
      d[2 * k] = d[2 * k + 1] = i >= 0 && i < kBurst ? burst((int)i) : 0.0f;
    }
    gst_buffer_unmap(b, &map);
    GST_BUFFER_PTS(b) = audio_start + gst_util_uint64_scale(s0, GST_SECOND, kRate);
    GST_BUFFER_DURATION(b) =
        audio_start + gst_util_uint64_scale(s0 + n, GST_SECOND, kRate) - GST_BUFFER_PTS(b);
    EXPECT_EQ(gst_app_src_push_buffer(GST_APP_SRC(src), b), GST_FLOW_OK);
  }
  gst_app_src_end_of_stream(GST_APP_SRC(src));
  gst_object_unref(src);
  std::string why;
  EXPECT_TRUE(montage_test::run_to_eos(pipe, 60 * GST_SECOND, &why)) << why;
  return path;
}

/* The decoded sound of `path` (qtdemux ! aacparse ! avdec_aac, mono): where
 * the burst is and where the sound ends, in running time (the movie's
 * time), seconds. */
struct Decoded {
  double burst_s = -1; /* start of the best match with the burst */
  double end_s = -1;   /* running time after the last sample */
};

Decoded decode(const std::string &path)
{
  Decoded out;
  gchar *desc =
      g_strdup_printf("filesrc location=\"%s\" ! qtdemux ! aacparse ! avdec_aac ! audioconvert ! "
                      "audio/x-raw,format=F32LE,channels=1 ! appsink name=s sync=false",
                      path.c_str());
  GError *err = nullptr;
  GstElement *pipe = gst_parse_launch(desc, &err);
  g_free(desc);
  EXPECT_TRUE(pipe) << (err ? err->message : "");
  g_clear_error(&err);
  if (!pipe)
    return out;
  GstAppSink *sink = GST_APP_SINK(gst_bin_get_by_name(GST_BIN(pipe), "s"));
  gst_element_set_state(pipe, GST_STATE_PLAYING);
  std::vector<float> samples;
  double first_s = -1;
  while (GstSample *s = gst_app_sink_try_pull_sample(sink, 30 * GST_SECOND)) {
    GstBuffer *b = gst_sample_get_buffer(s);
    const guint64 rt =
        gst_segment_to_running_time(gst_sample_get_segment(s), GST_FORMAT_TIME, GST_BUFFER_PTS(b));
    GstMapInfo map;
    gst_buffer_map(b, &map, GST_MAP_READ);
    const auto *d = reinterpret_cast<const float *>(map.data);
    if (first_s < 0)
      first_s = rt / 1e9;
    else /* the buffers follow each other: one timeline */
      EXPECT_NEAR(rt / 1e9, first_s + (double)samples.size() / kRate, 1.0 / kRate);
    samples.insert(samples.end(), d, d + map.size / sizeof(float));
    gst_buffer_unmap(b, &map);
    gst_sample_unref(s);
  }
  EXPECT_TRUE(gst_app_sink_is_eos(sink));
  gst_object_unref(sink);
  gst_element_set_state(pipe, GST_STATE_NULL);
  gst_object_unref(pipe);
  if (samples.size() < (size_t)kBurst)
    return out;
  double best = -1;
  size_t at = 0;
  for (size_t i = 0; i + kBurst <= samples.size(); i++) {
    double c = 0;
    for (int r = 0; r < kBurst; r++)
      c += samples[i + r] * burst(r);
    if (c > best) {
      best = c;
      at = i;
    }
  }
  out.burst_s = first_s + (double)at / kRate;
  out.end_s = first_s + (double)samples.size() / kRate;
  return out;
}

std::string contents(const std::string &path)
{
  return montage_test::read_file(path);
}

TEST(AacEncoderPriming, MeasuredEncoders)
{
  EXPECT_EQ(aac_encoder_priming("voaacenc"), 1600u);
  EXPECT_EQ(aac_encoder_priming("avenc_aac"), 1024u);
  EXPECT_EQ(aac_encoder_priming("fdkaacenc"), 0u);
  EXPECT_EQ(aac_encoder_priming(nullptr), 0u);
}

/* The edit shows the rest of the track to its end: the sound ends
 * `priming` samples earlier, give or take the last frame (1024 samples),
 * which qtdemux leaves out or clips (it leaves it out of FFmpeg's own files
 * with such an edit too, where FFmpeg decodes it). */
void expect_end_moved(const Decoded &before, const Decoded &after, guint priming)
{
  EXPECT_LE(after.end_s, before.end_s - priming / (double)kRate + 0.001);
  EXPECT_GE(after.end_s, before.end_s - (priming + 1024) / (double)kRate - 0.001);
}

/* mp4mux leaves the priming in: the burst plays late by it; the patch puts
 * it back on its time and the sound still lasts as long as its input. */
void expect_on_time(const char *encoder, double late_ms)
{
  const GstClockTime click = 500 * GST_MSECOND;
  const std::string path = write_mp4(encoder, encoder, click);
  ASSERT_FALSE(path.empty());
  const Decoded before = decode(path);
  EXPECT_NEAR((before.burst_s - 0.5) * 1000, late_ms, 1.0) << "without the patch";

  GError *err = nullptr;
  ASSERT_TRUE(mp4_skip_audio_priming(path, aac_encoder_priming(encoder), &err))
      << (err ? err->message : "");
  const std::string patched = contents(path);
  const Decoded after = decode(path);
  EXPECT_NEAR((after.burst_s - 0.5) * 1000, 0.0, 1.0);
  expect_end_moved(before, after, aac_encoder_priming(encoder));

  /* A second time is refused and changes nothing. */
  EXPECT_FALSE(mp4_skip_audio_priming(path, aac_encoder_priming(encoder), &err));
  ASSERT_TRUE(err);
  EXPECT_EQ(err->code, (gint)Mp4Error::kUnexpected) << err->message;
  g_clear_error(&err);
  EXPECT_EQ(contents(path), patched);
  g_unlink(path.c_str());
}

TEST(Mp4SkipAudioPriming, VoaacencBurstOnTime)
{
  expect_on_time("voaacenc", 1600 * 1000.0 / kRate);
}

TEST(Mp4SkipAudioPriming, AvencAacBurstOnTime)
{
  expect_on_time("avenc_aac", 1024 * 1000.0 / kRate);
}

/* Sound that starts 0.4 s after the picture: mp4mux writes an empty edit
 * first, which stays; the edit after it skips the priming. */
TEST(Mp4SkipAudioPriming, LateSoundKeepsItsEmptyEdit)
{
  const std::string path =
      write_mp4("late", "voaacenc", 300 * GST_MSECOND, 400 * GST_MSECOND, true, 0.5);
  ASSERT_FALSE(path.empty());
  const Decoded before = decode(path);
  EXPECT_NEAR((before.burst_s - 0.7) * 1000, 1600 * 1000.0 / kRate, 1.0) << "without the patch";
  GError *err = nullptr;
  ASSERT_TRUE(mp4_skip_audio_priming(path, 1600, &err)) << (err ? err->message : "");
  const Decoded after = decode(path);
  EXPECT_NEAR((after.burst_s - 0.7) * 1000, 0.0, 1.0);
  expect_end_moved(before, after, 1600);
  g_unlink(path.c_str());
}

TEST(AacEncoderTail, ReachesAFrameBoundaryAfterThePriming)
{
  EXPECT_EQ(montage::aac_encoder_tail("voaacenc", 48000), 50176u - 48000);
  EXPECT_EQ(montage::aac_encoder_tail("voaacenc", 448), 1024u * 2 - 448);
  EXPECT_EQ(montage::aac_encoder_tail("voaacenc", 447), 1024u * 2 - 447);
  EXPECT_EQ(montage::aac_encoder_tail("voaacenc", 449), 1024u * 3 - 449);
  EXPECT_EQ(montage::aac_encoder_tail("avenc_aac", 1024), 1024u);
  EXPECT_EQ(montage::aac_encoder_tail("avenc_aac", 1025), 2047u);
  EXPECT_EQ(montage::aac_encoder_tail("fdkaacenc", 1000), 0u);
  EXPECT_EQ(montage::aac_encoder_tail(nullptr, 1000), 0u);
}

/* The sound's end: voaacenc dropped the last partial frame and the 1600
 * samples its delay holds, so the patched file's sound ended up to 55 ms
 * before its input did. With aac_encoder_keep_end() and the input's sample
 * count given to the patch, the sound ends on its input's last sample and a
 * burst 5 ms before the end is where it was put. The input (48500 samples)
 * ends mid-frame. */
void expect_whole_end(const char *encoder)
{
  const guint64 total = 48500;
  const GstClockTime click = gst_util_uint64_scale(total - 240, GST_SECOND, kRate);
  std::shared_ptr<const montage::AacEncoderInput> input;
  const std::string path =
      write_mp4(encoder, encoder, click, 0, false, (double)total / kRate, &input);
  ASSERT_FALSE(path.empty());
  ASSERT_TRUE(input);
  EXPECT_EQ(input->samples.load(), total);
  EXPECT_EQ(input->silence.load(), montage::aac_encoder_tail(encoder, total));

  /* Asking for more than the file holds after the priming is refused. */
  const guint priming = aac_encoder_priming(encoder);
  const std::string before = contents(path);
  GError *err = nullptr;
  EXPECT_FALSE(mp4_skip_audio_priming(path, priming, &err, total + input->silence.load() + 1));
  ASSERT_TRUE(err);
  EXPECT_EQ(err->code, (gint)Mp4Error::kUnexpected) << err->message;
  g_clear_error(&err);
  EXPECT_EQ(contents(path), before);

  /* mp4_fix_audio_priming() asked for more falls back to showing all there
   * is: the priming is still skipped (a second skip is refused, as on a
   * patched file), and the short end is said. Before, the whole patch was
   * refused and all the sound played 33 ms late. */
  const std::string fallback = scratch("fallback.mp4");
  ASSERT_TRUE(g_file_set_contents(fallback.c_str(), before.data(), (gssize)before.size(), nullptr));
  std::string note;
  EXPECT_TRUE(
      montage::mp4_fix_audio_priming(fallback, encoder, &note, total + input->silence.load() + 1));
  EXPECT_NE(note.find("may end a little early"), std::string::npos) << note;
  EXPECT_TRUE(contents(fallback) != before) << "the file is patched";
  EXPECT_FALSE(mp4_skip_audio_priming(fallback, priming, &err));
  g_clear_error(&err);
  g_unlink(fallback.c_str());

  ASSERT_TRUE(mp4_skip_audio_priming(path, priming, &err, input->samples.load()))
      << (err ? err->message : "");
  /* qtdemux 1.22 stops the track at the movie's duration counted in media
   * time, which starts `priming` later: the sound ends at most that early. */
  const Decoded played = decode(path);
  EXPECT_LE(played.end_s * kRate, total + 1.0);
  EXPECT_GE(played.end_s * kRate, (double)(total - priming) - 1.0);
  /* The edit itself, played to its end from a copy whose movie lasts 1 s
   * longer. */
  std::string data = contents(path);
  const size_t mvhd = data.find("mvhd");
  ASSERT_NE(mvhd, std::string::npos);
  ASSERT_EQ(data[mvhd + 4], 0) << "a version 0 mvhd";
  auto *d = reinterpret_cast<guint8 *>(&data[mvhd + 20]);
  const guint32 longer = ((guint32)d[0] << 24 | (guint32)d[1] << 16 | (guint32)d[2] << 8 | d[3]) +
                         (guint32)kRate; /* the movie timescale here */
  for (int k = 0; k < 4; k++)
    d[k] = (guint8)(longer >> (24 - 8 * k));
  const std::string copy = scratch("longer.mp4");
  ASSERT_TRUE(g_file_set_contents(copy.c_str(), data.data(), (gssize)data.size(), nullptr));
  const Decoded after = decode(copy);
  EXPECT_NEAR(after.end_s * kRate, (double)total, 1.0) << "samples: where the sound ends";
  EXPECT_NEAR((after.burst_s - click / 1e9) * 1000, 0.0, 1.0)
      << "ms: the burst 5 ms before the end";
  g_unlink(copy.c_str());
  g_unlink(path.c_str());
}

/* A harness around voaacenc given aac_encoder_keep_end() (its counts in
 * `input`), its input caps S16LE stereo at 48 kHz (`info`); NULL without
 * voaacenc. */
GstHarness *kept_end_voaacenc(GstAudioInfo &info,
                              std::shared_ptr<const montage::AacEncoderInput> &input)
{
  GstHarness *h = gst_harness_new("voaacenc");
  if (!h)
    return nullptr;
  input = montage::aac_encoder_keep_end(h->element);
  gst_audio_info_set_format(&info, GST_AUDIO_FORMAT_S16LE, 48000, 2, nullptr);
  gst_harness_set_src_caps(h, gst_audio_info_to_caps(&info));
  return h;
}

/* A buffer whose GstAudioMeta says it carries fewer samples than its memory
 * holds (as gst_audio_buffer_truncate() leaves a non-interleaved one) is
 * counted by its meta. Before, by its size: 2048 here, for 1024 samples. */
TEST(AacEncoderKeepEnd, CountsABuffersSamplesByItsAudioMeta)
{
  GstAudioInfo info;
  std::shared_ptr<const montage::AacEncoderInput> input;
  GstHarness *h = kept_end_voaacenc(info, input);
  ASSERT_NE(h, nullptr);
  ASSERT_TRUE(input);
  GstBuffer *buf = gst_buffer_new_allocate(nullptr, 2048 * 4, nullptr);
  gst_buffer_memset(buf, 0, 0, 2048 * 4);
  GST_BUFFER_PTS(buf) = 0;
  ASSERT_NE(gst_buffer_add_audio_meta(buf, &info, 1024, nullptr), nullptr);
  EXPECT_EQ(gst_harness_push(h, buf), GST_FLOW_OK);
  EXPECT_EQ(input->samples.load(), 1024u);
  gst_harness_teardown(h);
}

/* The encoder's input segment is made open-ended: a demuxer's segment
 * stops at the file's last sample, and the encoded frames holding the
 * silence given after it fell past that stop, where the muxer left them
 * out (a --live mix of a 3 s song played to its end: 2 frames short). */
TEST(AacEncoderKeepEnd, SegmentStopIsOpened)
{
  GstAudioInfo info;
  std::shared_ptr<const montage::AacEncoderInput> input;
  GstHarness *h = kept_end_voaacenc(info, input);
  ASSERT_NE(h, nullptr);
  ASSERT_TRUE(input);
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  segment.stop = GST_SECOND;
  EXPECT_TRUE(gst_harness_push_event(h, gst_event_new_segment(&segment)));
  GstBuffer *buf = gst_buffer_new_allocate(nullptr, 1024 * 4, nullptr);
  gst_buffer_memset(buf, 0, 0, 1024 * 4);
  GST_BUFFER_PTS(buf) = 0;
  GST_BUFFER_DURATION(buf) = gst_util_uint64_scale(1024, GST_SECOND, 48000);
  EXPECT_EQ(gst_harness_push(h, buf), GST_FLOW_OK);
  bool seen = false;
  while (GstEvent *ev = gst_harness_try_pull_event(h)) {
    if (GST_EVENT_TYPE(ev) == GST_EVENT_SEGMENT) {
      const GstSegment *out = nullptr;
      gst_event_parse_segment(ev, &out);
      EXPECT_FALSE(GST_CLOCK_TIME_IS_VALID(out->stop)) << "stop " << out->stop;
      seen = true;
    }
    gst_event_unref(ev);
  }
  EXPECT_TRUE(seen);
  gst_harness_teardown(h);
}

TEST(Mp4SkipAudioPriming, VoaacencSoundEndsWithItsInput)
{
  expect_whole_end("voaacenc");
}

TEST(Mp4SkipAudioPriming, AvencAacSoundEndsWithItsInput)
{
  expect_whole_end("avenc_aac");
}

/* Every refusal leaves the file byte for byte as it was. */
void expect_refused(const std::string &path, guint priming, Mp4Error code)
{
  const std::string before = contents(path);
  GError *err = nullptr;
  EXPECT_FALSE(mp4_skip_audio_priming(path, priming, &err));
  ASSERT_TRUE(err);
  EXPECT_EQ(err->domain, MONTAGE_MP4_ERROR);
  EXPECT_EQ(err->code, (gint)code) << err->message;
  EXPECT_NE(std::string(err->message).find(path), std::string::npos) << err->message;
  g_error_free(err);
  EXPECT_EQ(contents(path), before);
}

TEST(Mp4SkipAudioPrimingBadInput, TruncatedFile)
{
  const std::string path = write_mp4("whole", "voaacenc", 100 * GST_MSECOND);
  ASSERT_FALSE(path.empty());
  const std::string whole = contents(path);
  ASSERT_GT(whole.size(), 1000u);
  /* Cut in the moov (at the end, as mp4mux writes it), then before it. */
  for (size_t keep : {whole.size() - 100, whole.size() / 2, (size_t)20}) {
    const std::string cut = scratch("cut.mp4");
    ASSERT_TRUE(g_file_set_contents(cut.c_str(), whole.data(), (gssize)keep, nullptr));
    expect_refused(cut, 1600, Mp4Error::kNotMp4);
    g_unlink(cut.c_str());
  }
  g_unlink(path.c_str());
}

TEST(Mp4SkipAudioPrimingBadInput, NotAnMp4)
{
  const std::string path = scratch("text.mp4");
  const std::string text = "not a movie at all, just some text that is long enough\n";
  ASSERT_TRUE(g_file_set_contents(path.c_str(), text.data(), (gssize)text.size(), nullptr));
  expect_refused(path, 1600, Mp4Error::kNotMp4);
  ASSERT_TRUE(g_file_set_contents(path.c_str(), "", 0, nullptr));
  expect_refused(path, 1600, Mp4Error::kNotMp4);
  g_unlink(path.c_str());
}

TEST(Mp4SkipAudioPrimingBadInput, NoSoundTrack)
{
  const std::string path = montage_test::make_media(
      "picture.mp4", "videotestsrc num-buffers=10 ! video/x-raw,width=64,height=64 ! x264enc ! "
                     "h264parse ! mp4mux ! filesink location=%s");
  ASSERT_FALSE(path.empty());
  expect_refused(path, 1600, Mp4Error::kUnexpected);
  g_unlink(path.c_str());
}

TEST(Mp4SkipAudioPrimingBadInput, MissingFileAndNothingToDo)
{
  const std::string path = scratch("absent.mp4");
  GError *err = nullptr;
  EXPECT_FALSE(mp4_skip_audio_priming(path, 1600, &err));
  ASSERT_TRUE(err);
  EXPECT_EQ(err->code, (gint)Mp4Error::kIo) << err->message;
  g_clear_error(&err);
  /* Priming 0: nothing to do, the file is not looked at. */
  EXPECT_TRUE(mp4_skip_audio_priming(path, 0, &err));
  EXPECT_FALSE(err);
}

} // namespace
