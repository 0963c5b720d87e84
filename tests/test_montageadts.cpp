/* Tests for the montageadtssrc element: seeks land sample-exactly after
 * avdec_aac (ACCURATE or not), SEEKING/DURATION queries, the index message,
 * and clear errors for files that are empty or not ADTS. The index and the
 * extraction themselves are tested in test_adts.cpp. */
#include <gtest/gtest.h>

#include "testutil.h"

#include <gst/montage/adts.h>

#include "gstmontageadtssrc.h"

#include <glib/gstdio.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

namespace {

std::string temp_path(const char *name)
{
  gchar *p = g_build_filename(g_get_tmp_dir(), name, NULL);
  std::string out = std::string(p) + "." + std::to_string(getpid());
  g_free(p);
  return out;
}

bool run_to_eos(GstElement *p)
{
  gst_element_set_state(p, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus(p);
  GstMessage *msg = gst_bus_timed_pop_filtered(bus, 60 * GST_SECOND,
                                               (GstMessageType)(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  const bool ok = msg && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS;
  if (msg)
    gst_message_unref(msg);
  gst_object_unref(bus);
  return ok;
}

/* A few seconds of real music (stg0.ogg) as ADTS, and its full decode. */
class MontageAdtsSrc : public ::testing::Test
{
protected:
  static void SetUpTestSuite()
  {
    GST_ELEMENT_REGISTER(montageadtssrc, NULL);
    path_ = new std::string(temp_path("adtssrc.aac"));
    full_ = new std::vector<float>();
    const std::string ogg = montage_test::media_path("stg0.ogg");
    if (ogg.empty())
      return;
    GstElement *enc = gst_parse_launch(
        ("filesrc location=" + ogg +
         " ! decodebin ! audioconvert ! audioresample ! audio/x-raw,rate=44100,channels=2 ! "
         "avenc_aac ! aacparse ! audio/mpeg,stream-format=adts ! filesink location=" + *path_)
            .c_str(),
        nullptr);
    EXPECT_TRUE(run_to_eos(enc));
    gst_element_set_state(enc, GST_STATE_NULL);
    gst_object_unref(enc);
    *full_ = decode(0, GST_CLOCK_TIME_NONE, false, "filesrc location=" + *path_ + " ! aacparse");
  }
  static void TearDownTestSuite()
  {
    g_unlink(path_->c_str());
    delete path_;
    delete full_;
  }

  static void on_handoff(GstElement *, GstBuffer *buf, GstPad *, gpointer data)
  {
    auto *out = (std::vector<float> *)data;
    GstMapInfo map;
    gst_buffer_map(buf, &map, GST_MAP_READ);
    const float *f = (const float *)map.data;
    out->insert(out->end(), f, f + map.size / 4);
    gst_buffer_unmap(buf, &map);
  }

  /* Decodes [start, stop) through `source` ! avdec_aac, seeking first when start > 0. */
  static std::vector<float> decode(GstClockTime start, GstClockTime stop, bool accurate,
                                   const std::string &source)
  {
    std::vector<float> out;
    GstElement *p = gst_parse_launch(
        (source + " ! avdec_aac ! audioconvert ! audio/x-raw,format=F32LE,layout=interleaved ! "
                  "fakesink name=sink signal-handoffs=true sync=false")
            .c_str(),
        nullptr);
    GstElement *sink = gst_bin_get_by_name(GST_BIN(p), "sink");
    g_signal_connect(sink, "handoff", G_CALLBACK(on_handoff), &out);
    gst_element_set_state(p, GST_STATE_PAUSED);
    EXPECT_EQ(gst_element_get_state(p, nullptr, nullptr, 30 * GST_SECOND), GST_STATE_CHANGE_SUCCESS);
    if (start > 0 || GST_CLOCK_TIME_IS_VALID(stop)) {
      out.clear();
      EXPECT_TRUE(gst_element_seek(
          p, 1.0, GST_FORMAT_TIME,
          (GstSeekFlags)(GST_SEEK_FLAG_FLUSH | (accurate ? GST_SEEK_FLAG_ACCURATE : 0)),
          GST_SEEK_TYPE_SET, (gint64)start, GST_SEEK_TYPE_SET,
          GST_CLOCK_TIME_IS_VALID(stop) ? (gint64)stop : -1));
      gst_element_get_state(p, nullptr, nullptr, 30 * GST_SECOND);
    }
    EXPECT_TRUE(run_to_eos(p));
    gst_element_set_state(p, GST_STATE_NULL);
    gst_object_unref(sink);
    gst_object_unref(p);
    return out;
  }

  static std::string *path_;
  static std::vector<float> *full_;
};
std::string *MontageAdtsSrc::path_ = nullptr;
std::vector<float> *MontageAdtsSrc::full_ = nullptr;

} // namespace

TEST_F(MontageAdtsSrc, WholeFileMatchesFilesrcAacparse)
{
  ASSERT_GT(full_->size(), 44100u * 2 * 60);
  std::vector<float> ours =
      decode(0, GST_CLOCK_TIME_NONE, false, "montageadtssrc location=" + *path_);
  ASSERT_EQ(ours.size(), full_->size());
  double xy = 0, xx = 0, yy = 0;
  for (size_t i = 0; i < ours.size(); i++)
    xy += ours[i] * (*full_)[i], xx += ours[i] * ours[i], yy += (*full_)[i] * (*full_)[i];
  EXPECT_GT(xy / std::sqrt(xx * yy), 0.999); /* PNS noise is random: compare by correlation */
}

TEST_F(MontageAdtsSrc, SeeksLandOnTheExactSample)
{
  ASSERT_FALSE(full_->empty());
  for (bool accurate : {true, false}) {
    for (GstClockTime start : {GST_SECOND * 7 / 3, 30 * GST_SECOND, 61 * GST_SECOND + 12345}) {
      const GstClockTime stop = start + GST_SECOND;
      std::vector<float> got = decode(start, stop, accurate, "montageadtssrc location=" + *path_);
      const size_t first = (size_t)gst_util_uint64_scale_ceil(start, 44100, GST_SECOND);
      const size_t last = (size_t)gst_util_uint64_scale_ceil(stop, 44100, GST_SECOND);
      EXPECT_EQ(got.size(), (last - first) * 2) << start;
      /* Best lag must be 0, and the correlation there high. */
      auto corr = [&](long lag) {
        double xy = 0, xx = 0, yy = 0;
        for (size_t i = 0; i < std::min(got.size(), (last - first) * 2); i++) {
          const double x = got[i], y = (*full_)[(first + lag) * 2 + i];
          xy += x * y, xx += x * x, yy += y * y;
        }
        return xy / std::sqrt(xx * yy + 1e-30);
      };
      const double zero = corr(0);
      EXPECT_GT(zero, 0.999) << start << (accurate ? " accurate" : "");
      for (long lag : {-1L, 1L, 1024L})
        EXPECT_LT(corr(lag), zero) << start << " lag " << lag;
    }
  }
}

TEST_F(MontageAdtsSrc, AnswersSeekingAndDurationAndPostsIndex)
{
  GstElement *p = gst_parse_launch(("montageadtssrc name=src location=" + *path_ +
                                    " ! fakesink")
                                       .c_str(),
                                   nullptr);
  gst_element_set_state(p, GST_STATE_PAUSED);
  ASSERT_EQ(gst_element_get_state(p, nullptr, nullptr, 30 * GST_SECOND), GST_STATE_CHANGE_SUCCESS);
  GstQuery *q = gst_query_new_seeking(GST_FORMAT_TIME);
  ASSERT_TRUE(gst_element_query(p, q));
  gboolean seekable = FALSE;
  gint64 start = -1, end = -1;
  gst_query_parse_seeking(q, nullptr, &seekable, &start, &end);
  EXPECT_TRUE(seekable);
  EXPECT_EQ(start, 0);
  EXPECT_EQ((size_t)gst_util_uint64_scale_round(end, 44100, GST_SECOND), full_->size() / 2);
  gst_query_unref(q);
  gint64 dur = -1;
  ASSERT_TRUE(gst_element_query_duration(p, GST_FORMAT_TIME, &dur));
  EXPECT_EQ(dur, end);
  GstBus *bus = gst_element_get_bus(p);
  bool seen = false;
  while (GstMessage *m = gst_bus_pop_filtered(bus, GST_MESSAGE_ELEMENT)) {
    const GstStructure *s = gst_message_get_structure(m);
    if (gst_structure_has_name(s, "montage-adts-index")) {
      guint64 frames = 0;
      EXPECT_TRUE(gst_structure_get_uint64(s, "frames", &frames));
      EXPECT_EQ(frames * 1024, full_->size() / 2);
      seen = true;
    }
    gst_message_unref(m);
  }
  EXPECT_TRUE(seen);
  gst_object_unref(bus);
  gst_element_set_state(p, GST_STATE_NULL);
  gst_object_unref(p);
}

TEST(MontageAdtsSrcErrors, EmptyAndNotAdtsFailWithAClearError)
{
  GST_ELEMENT_REGISTER(montageadtssrc, NULL);
  const std::string empty = temp_path("adtssrc-empty.aac");
  g_file_set_contents(empty.c_str(), "", 0, nullptr);
  const std::string ogg = montage_test::media_path("just_over_the_horizon.ogg");
  for (const std::string &file : {empty, ogg, std::string("/nonexistent/x.aac")}) {
    GstElement *p =
        gst_parse_launch(("montageadtssrc location=" + file + " ! fakesink").c_str(), nullptr);
    gst_element_set_state(p, GST_STATE_PAUSED);
    GstBus *bus = gst_element_get_bus(p);
    GstMessage *m = gst_bus_timed_pop_filtered(bus, 10 * GST_SECOND, GST_MESSAGE_ERROR);
    ASSERT_NE(m, nullptr) << file;
    GError *err = nullptr;
    gst_message_parse_error(m, &err, nullptr);
    EXPECT_NE(std::string(err->message).find(file == empty ? "empty" : file == ogg ? "not a raw AAC"
                                                                                     : "Cannot read"),
              std::string::npos)
        << err->message;
    g_error_free(err);
    gst_message_unref(m);
    gst_object_unref(bus);
    gst_element_set_state(p, GST_STATE_NULL);
    gst_object_unref(p);
  }
  g_unlink(empty.c_str());
}
