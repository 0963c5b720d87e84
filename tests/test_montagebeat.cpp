/* montagebeat element through GstHarness: messages, timestamps, passthrough, resets. */
/* montagebeat_dep carries no include directory for gst/montagebeat. */
#include "gstmontagebeat.h"

#include "testutil.h"

#include <gst/montage/beatmeta.h>
#include <gst/montage/beattracker.h>

#include <gst/audio/audio.h>
#include <glib/gstdio.h>
#include <gst/check/gstharness.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

constexpr GstClockTime kTolerance = 30 * GST_MSECOND;

struct Clicks {
  std::vector<float> mono;          /* the click track, one channel */
  std::vector<GstClockTime> clicks; /* onset of each click, ns from sample 0 */
};

/* Clicks at `onsets` (s, ascending) in `seconds` s of silence: 40 ms bursts
 * of noise and a 1 kHz tone, 6 ms decay, peak 0.6 times the click's gain
 * (`gains`, one per onset; 1 when empty). Onsets past the end are left out. */
Clicks clicks_at(guint rate, const std::vector<double> &onsets, const std::vector<double> &gains,
                 double seconds)
{
  Clicks c;
  c.mono.assign((std::size_t)(seconds * rate), 0.f);
  std::uint32_t lcg = 777;
  for (std::size_t k = 0; k < onsets.size(); k++) {
    std::size_t start = (std::size_t)std::llround(onsets[k] * rate);
    if (start >= c.mono.size())
      break;
    const double gain = k < gains.size() ? gains[k] : 1.0;
    c.clicks.push_back((GstClockTime)std::llround((double)start * GST_SECOND / rate));
    for (std::size_t i = 0; i < (std::size_t)(0.04 * rate) && start + i < c.mono.size(); i++) {
      lcg = lcg * 1664525u + 1013904223u;
      double noise = ((double)(lcg >> 8) / (double)(1u << 24)) * 2.0 - 1.0;
      double t = (double)i / rate;
      c.mono[start + i] = (float)(0.6 * gain * std::exp(-t / 0.006) *
                                  (0.7 * noise + 0.3 * std::sin(2 * M_PI * 1000 * t)));
    }
  }
  return c;
}

/* Onsets (s) at `bpm` from `first` s, up to `seconds`. */
std::vector<double> grid(double bpm, double first, double seconds)
{
  std::vector<double> t;
  for (int k = 0; first + k * 60.0 / bpm < seconds; k++)
    t.push_back(first + k * 60.0 / bpm);
  return t;
}

/* Clicks at `bpm` from `first` s for `seconds` s (see clicks_at()). */
Clicks make_clicks(guint rate, double bpm, double first, double seconds)
{
  return clicks_at(rate, grid(bpm, first, seconds), {}, seconds);
}

struct Fixture {
  GstHarness *h = nullptr;
  GstBus *bus = nullptr;
  guint rate = 44100;
  guint channels = 1;
  GstAudioFormat format = GST_AUDIO_FORMAT_F32LE;

  Fixture(guint r, guint ch, bool use_s16)
      : Fixture(r, ch, use_s16 ? GST_AUDIO_FORMAT_S16LE : GST_AUDIO_FORMAT_F32LE)
  {
  }
  /* format: S16LE, S32LE, F32LE or F64LE. */
  Fixture(guint r, guint ch, GstAudioFormat fmt) : rate(r), channels(ch), format(fmt)
  {
    EXPECT_TRUE(GST_ELEMENT_REGISTER(montagebeat, NULL));
    h = gst_harness_new("montagebeat");
    /* The harness answers the latency query "live": mode=auto would be
     * live. The tests that want live set it. */
    gst_util_set_object_arg(G_OBJECT(h->element), "mode", "offline");
    bus = gst_bus_new();
    gst_element_set_bus(h->element, bus);
    std::string caps = "audio/x-raw, format=" + std::string(gst_audio_format_to_string(format)) +
                       ", rate=" + std::to_string(rate) + ", channels=" + std::to_string(channels) +
                       ", layout=interleaved";
    if (channels == 2)
      caps += ", channel-mask=(bitmask)0x3";
    else if (channels == 6) /* 5.1 */
      caps += ", channel-mask=(bitmask)0x3f";
    gst_harness_set_src_caps_str(h, caps.c_str());
  }
  ~Fixture()
  {
    for (GstStructure *s : kept)
      gst_structure_free(s);
    for (std::size_t i = received; i < sent.size(); i++)
      gst_memory_unref(sent[i].mem);
    for (GstBuffer *b : with_meta)
      gst_buffer_unref(b);
    gst_element_set_bus(h->element, NULL);
    gst_object_unref(bus);
    gst_harness_teardown(h);
  }

  /* Interleaved buffer of frames [from, from + n) of `mono` (the same signal
   * on every channel). S16 rounds to 1/32767 steps; S32 holds v * 2^31
   * (exact for a float v on a 2^-24 grid, see on_24_bit_grid()), F64 the
   * float's value. */
  GstBuffer *make_buffer(const std::vector<float> &mono, std::size_t from, std::size_t n) const
  {
    const gsize bps = (gsize)gst_audio_format_get_info(format)->width / 8;
    GstBuffer *buf = gst_buffer_new_allocate(NULL, n * channels * bps, NULL);
    GstMapInfo map;
    gst_buffer_map(buf, &map, GST_MAP_WRITE);
    for (std::size_t i = 0; i < n; i++)
      for (guint c = 0; c < channels; c++) {
        float v = mono[from + i];
        guint8 *at = map.data + (i * channels + c) * bps;
        if (format == GST_AUDIO_FORMAT_S16LE) {
          gint16 s = GINT16_TO_LE((gint16)std::lround(std::clamp(v, -1.f, 1.f) * 32767.f));
          memcpy(at, &s, bps);
        } else if (format == GST_AUDIO_FORMAT_S32LE) {
          gint32 s = GINT32_TO_LE((gint32)std::llround(
              std::clamp((double)v, -1.0, 1.0 - 1.0 / 2147483648.0) * 2147483648.0));
          memcpy(at, &s, bps);
        } else if (format == GST_AUDIO_FORMAT_F64LE) {
          double d = v;
          memcpy(at, &d, bps);
        } else {
          memcpy(at, &v, bps);
        }
      }
    gst_buffer_unmap(buf, &map);
    return buf;
  }

  /* What went in, in order, to compare with what comes out. */
  struct Sent {
    GstMemory *mem;
    std::vector<guint8> bytes;
  };
  std::vector<Sent> sent;
  std::size_t received = 0;
  std::vector<GstBuffer *> with_meta; /* buffers that came out carrying a beat meta (reffed) */
  std::vector<bool> discont_out;      /* each buffer out: flagged DISCONT */

  /* Pulls whatever the element has released: every buffer must carry the
   * memory that went in, in order, unchanged (held, never copied). */
  void pull_available()
  {
    GstBuffer *out;
    while ((out = gst_harness_try_pull(h))) {
      EXPECT_LT(received, sent.size()) << "more buffers out than in";
      if (received < sent.size()) {
        const Sent &in = sent[received];
        EXPECT_EQ(gst_buffer_peek_memory(out, 0), in.mem) << "not passed through in place";
        GstMapInfo after;
        gst_buffer_map(out, &after, GST_MAP_READ);
        EXPECT_TRUE(after.size == in.bytes.size() && memcmp(after.data, in.bytes.data(), after.size) == 0);
        gst_buffer_unmap(out, &after);
        gst_memory_unref(sent[received].mem);
      }
      received++;
      discont_out.push_back(GST_BUFFER_IS_DISCONT(out));
      if (montage_buffer_get_beats(out, NULL, 0) > 0)
        with_meta.push_back(gst_buffer_ref(out));
      gst_buffer_unref(out);
    }
  }

  /* A flush drops the buffers the element holds (live-delay's worth). */
  void flushed()
  {
    pull_available();
    EXPECT_LT(sent.size() - received, 100u) << "more held than live-delay needs";
    for (; received < sent.size(); received++)
      gst_memory_unref(sent[received].mem);
  }

  /* Buffer sizes in frames, taken in turn by push(). */
  std::vector<std::size_t> blocks = {1024};
  /* Called by push() after each buffer, with the buffer time of the end of
   * the audio pushed so far. */
  std::function<void(GstClockTime)> after_push;

  /* Pushes mono[from, to) in buffers of `blocks` frames starting at `pts`. */
  void push(const std::vector<float> &mono, std::size_t from, std::size_t to, GstClockTime pts,
            bool discont_first = false)
  {
    std::size_t k = 0;
    for (std::size_t pos = from, n = 0; pos < to; pos += n) {
      n = std::min<std::size_t>(blocks[k++ % blocks.size()], to - pos);
      GstBuffer *in = make_buffer(mono, pos, n);
      GST_BUFFER_PTS(in) = pts + gst_util_uint64_scale(pos - from, GST_SECOND, rate);
      GST_BUFFER_DURATION(in) = gst_util_uint64_scale(n, GST_SECOND, rate);
      if (discont_first && pos == from)
        GST_BUFFER_FLAG_SET(in, GST_BUFFER_FLAG_DISCONT);
      GstMapInfo before;
      gst_buffer_map(in, &before, GST_MAP_READ);
      sent.push_back({gst_memory_ref(gst_buffer_peek_memory(in, 0)),
                      std::vector<guint8>(before.data, before.data + before.size)});
      gst_buffer_unmap(in, &before);
      ASSERT_EQ(gst_harness_push(h, in), GST_FLOW_OK);
      pull_available();
      if (after_push)
        after_push(pts + gst_util_uint64_scale(pos + n - from, GST_SECOND, rate));
    }
  }

  void eos()
  {
    ASSERT_TRUE(gst_harness_push_event(h, gst_event_new_eos()));
    pull_available();
    EXPECT_EQ(received, sent.size()) << "held buffers not pushed before EOS";
    GstEvent *ev;
    bool seen = false;
    while ((ev = gst_harness_try_pull_event(h))) {
      seen = seen || GST_EVENT_TYPE(ev) == GST_EVENT_EOS;
      take_tag(ev);
      gst_event_unref(ev);
    }
    EXPECT_TRUE(seen) << "EOS not forwarded";
  }

  /* GST_TAG_BEATS_PER_MINUTE of each tag event eos() pulled, in order. */
  std::vector<double> tag_bpms;
  void take_tag(GstEvent *ev)
  {
    if (GST_EVENT_TYPE(ev) != GST_EVENT_TAG)
      return;
    GstTagList *tags = nullptr;
    double bpm = 0;
    gst_event_parse_tag(ev, &tags);
    if (gst_tag_list_get_double(tags, GST_TAG_BEATS_PER_MINUTE, &bpm))
      tag_bpms.push_back(bpm);
  }

  /* The element messages named `name` posted so far; others stay for
   * later. In offline mode the element posts in groups from the system
   * clock's thread, up to 50 ms after its last post: messages are collected
   * until the bus has been quiet for 250 ms (at most 5 s in all). A fixed
   * 100 ms wait once returned no montage-beat at all, on CI with the leaks
   * tracer and other tests loading both cores, so the clock's thread can be
   * that late. */
  std::vector<GstStructure *> take(const char *name)
  {
    const gint64 until = g_get_monotonic_time() + 5 * G_TIME_SPAN_SECOND;
    GstMessage *m;
    while ((m = gst_bus_timed_pop_filtered(bus, 250 * GST_MSECOND, GST_MESSAGE_ELEMENT))) {
      kept.push_back(gst_structure_copy(gst_message_get_structure(m)));
      gst_message_unref(m);
      if (g_get_monotonic_time() > until)
        break;
    }
    std::vector<GstStructure *> out, rest;
    for (GstStructure *s : kept)
      (gst_structure_has_name(s, name) ? out : rest).push_back(s);
    kept = rest;
    return out;
  }
  std::vector<GstStructure *> kept;
};

void free_all(std::vector<GstStructure *> &v)
{
  for (GstStructure *s : v)
    gst_structure_free(s);
  v.clear();
}

GstClockTime dist(GstClockTime a, GstClockTime b)
{
  return a > b ? a - b : b - a;
}

/* Each time within kTolerance of a distinct expected time, in order. */
void expect_on_clicks(const std::vector<GstClockTime> &times, const std::vector<GstClockTime> &clicks,
                      std::vector<std::size_t> *matched = nullptr)
{
  std::size_t prev = SIZE_MAX;
  for (GstClockTime t : times) {
    std::size_t best = 0;
    for (std::size_t i = 1; i < clicks.size(); i++)
      if (dist(clicks[i], t) < dist(clicks[best], t))
        best = i;
    EXPECT_LE(dist(clicks[best], t), kTolerance) << "beat at " << t / 1e9 << " s";
    if (prev != SIZE_MAX) {
      EXPECT_GT(best, prev) << "two beats on the click at " << clicks[best] / 1e9 << " s";
    }
    prev = best;
    if (matched)
      matched->push_back(best);
  }
}

std::vector<GstClockTime> beat_times(const std::vector<GstStructure *> &beats)
{
  std::vector<GstClockTime> t;
  for (const GstStructure *s : beats) {
    guint64 v = 0;
    EXPECT_TRUE(gst_structure_get_uint64(s, "timestamp", &v));
    t.push_back(v);
  }
  return t;
}

/* Checks the montage-beats message's schema and returns its beat list. */
std::vector<GstClockTime> summary_beats(const GstStructure *s, double *bpm, guint64 *duration,
                                        std::vector<double> *energy)
{
  std::vector<GstClockTime> out;
  /* Ordered sequences are GstValueArrays (as montage-shots'); a
   * GstValueList is an unordered set of alternatives. */
  for (const char *field :
       {"beats", "energy", "beat-confidence", "downbeats", "energy-curve", "sections"})
    EXPECT_EQ(gst_structure_get_field_type(s, field), GST_TYPE_ARRAY) << field;
  EXPECT_EQ(gst_structure_get_field_type(s, "bpm"), G_TYPE_DOUBLE);
  EXPECT_EQ(gst_structure_get_field_type(s, "confidence"), G_TYPE_DOUBLE);
  EXPECT_EQ(gst_structure_get_field_type(s, "duration"), G_TYPE_UINT64);
  const GValue *list = gst_structure_get_value(s, "beats");
  const GValue *elist = gst_structure_get_value(s, "energy");
  if (!list || !elist)
    return out;
  EXPECT_EQ(gst_value_array_get_size(list), gst_value_array_get_size(elist));
  for (guint i = 0; i < gst_value_array_get_size(list); i++) {
    const GValue *v = gst_value_array_get_value(list, i);
    EXPECT_TRUE(G_VALUE_HOLDS_UINT64(v));
    out.push_back(g_value_get_uint64(v));
  }
  for (guint i = 0; i < gst_value_array_get_size(elist); i++) {
    const GValue *v = gst_value_array_get_value(elist, i);
    EXPECT_TRUE(G_VALUE_HOLDS_DOUBLE(v));
    double e = g_value_get_double(v);
    EXPECT_GE(e, 0.0);
    EXPECT_LE(e, 1.0);
    if (energy)
      energy->push_back(e);
  }
  double confidence = -1;
  gst_structure_get_double(s, "confidence", &confidence);
  EXPECT_GE(confidence, 0.0);
  EXPECT_LE(confidence, 1.0);
  gst_structure_get_double(s, "bpm", bpm);
  gst_structure_get_uint64(s, "duration", duration);
  return out;
}

/* The montage-beats message, its schema checked. */
struct Summary {
  std::vector<GstClockTime> beats;
  std::vector<bool> downbeats;
  guint beats_per_bar = 99;
  double meter_confidence = -1;
  double bpm = 0;
  guint64 duration = 0;
  struct Section {
    GstClockTime start, end;
    std::string level;
  };
  std::vector<Section> sections;
  std::vector<double> curve;
  guint64 curve_interval = 0;
};

Summary take_summary(Fixture &f)
{
  Summary out;
  std::vector<GstStructure *> v = f.take("montage-beats");
  EXPECT_EQ(v.size(), 1u);
  if (v.empty())
    return out;
  const GstStructure *s = v[0];
  out.beats = summary_beats(s, &out.bpm, &out.duration, nullptr);
  EXPECT_TRUE(gst_structure_get_uint(s, "beats-per-bar", &out.beats_per_bar));
  EXPECT_TRUE(gst_structure_get_double(s, "meter-confidence", &out.meter_confidence));
  EXPECT_TRUE(out.meter_confidence >= 0.0 && out.meter_confidence <= 1.0) << out.meter_confidence;
  if (out.beats_per_bar == 0) {
    EXPECT_EQ(out.meter_confidence, 0.0) << "no meter, no confidence in one";
  }
  EXPECT_TRUE(gst_structure_get_uint64(s, "energy-interval", &out.curve_interval));
  const GValue *down = gst_structure_get_value(s, "downbeats");
  const GValue *curve = gst_structure_get_value(s, "energy-curve");
  const GValue *sections = gst_structure_get_value(s, "sections");
  EXPECT_TRUE(down && curve && sections && GST_VALUE_HOLDS_ARRAY(down) &&
              GST_VALUE_HOLDS_ARRAY(curve) && GST_VALUE_HOLDS_ARRAY(sections));
  if (down && curve && sections) {
    for (guint i = 0; i < gst_value_array_get_size(down); i++) {
      const GValue *b = gst_value_array_get_value(down, i);
      EXPECT_TRUE(G_VALUE_HOLDS_BOOLEAN(b));
      out.downbeats.push_back(g_value_get_boolean(b));
    }
    EXPECT_EQ(out.downbeats.size(), out.beats.size());
    for (guint i = 0; i < gst_value_array_get_size(curve); i++)
      out.curve.push_back(g_value_get_double(gst_value_array_get_value(curve, i)));
    for (guint i = 0; i < gst_value_array_get_size(sections); i++) {
      const GValue *sv = gst_value_array_get_value(sections, i);
      EXPECT_TRUE(GST_VALUE_HOLDS_STRUCTURE(sv));
      const GstStructure *sec = gst_value_get_structure(sv);
      EXPECT_TRUE(gst_structure_has_name(sec, "section"));
      EXPECT_EQ(gst_structure_get_field_type(sec, "start"), G_TYPE_UINT64);
      EXPECT_EQ(gst_structure_get_field_type(sec, "end"), G_TYPE_UINT64);
      EXPECT_EQ(gst_structure_get_field_type(sec, "level"), G_TYPE_STRING);
      Summary::Section x{0, 0, ""};
      gst_structure_get_uint64(sec, "start", &x.start);
      gst_structure_get_uint64(sec, "end", &x.end);
      const char *level = gst_structure_get_string(sec, "level");
      x.level = level ? level : "";
      out.sections.push_back(x);
    }
  }
  free_all(v);
  return out;
}

/* What leaves the element, in order (a probe on the harness's sink pad):
 * "buffer" or the event's type name ("gap", "stream-start"...). */
struct Order {
  std::vector<std::string> seen;
  explicit Order(GstHarness *h)
  {
    gst_pad_add_probe(h->sinkpad, GST_PAD_PROBE_TYPE_DATA_DOWNSTREAM, on_data, this, nullptr);
  }
  static GstPadProbeReturn on_data(GstPad *, GstPadProbeInfo *info, gpointer data)
  {
    Order *self = static_cast<Order *>(data);
    if (info->type & GST_PAD_PROBE_TYPE_BUFFER)
      self->seen.push_back("buffer");
    else if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM)
      self->seen.push_back(GST_EVENT_TYPE_NAME(GST_PAD_PROBE_INFO_EVENT(info)));
    return GST_PAD_PROBE_OK;
  }
  /* How many of `what` were seen. */
  std::size_t count(const std::string &what) const
  {
    return (std::size_t)std::count(seen.begin(), seen.end(), what);
  }
  /* Position of the first `what`, or seen.size(). */
  std::size_t first(const std::string &what) const
  {
    return (std::size_t)(std::find(seen.begin(), seen.end(), what) - seen.begin());
  }
  /* Position of the last `what`, or seen.size(). */
  std::size_t last(const std::string &what) const
  {
    auto it = std::find(seen.rbegin(), seen.rend(), what);
    return it == seen.rend() ? seen.size() : (std::size_t)(seen.rend() - it - 1);
  }
};

struct Case {
  guint rate;
  guint channels;
  bool s16;
  double bpm;
};

class MontageBeatClicks : public ::testing::TestWithParam<Case> {};

TEST_P(MontageBeatClicks, PostsBeatsOnTheClicks)
{
  const Case c = GetParam();
  Fixture f(c.rate, c.channels, c.s16);
  const double seconds = 20.0;
  Clicks ck = make_clicks(c.rate, c.bpm, 0.5, seconds);
  f.push(ck.mono, 0, ck.mono.size(), 0);

  std::vector<GstStructure *> beats = f.take("montage-beat");
  ASSERT_GT(beats.size(), 10u);
  for (const GstStructure *s : beats) {
    EXPECT_EQ(gst_structure_get_field_type(s, "timestamp"), G_TYPE_UINT64);
    EXPECT_EQ(gst_structure_get_field_type(s, "stream-time"), G_TYPE_UINT64);
    EXPECT_EQ(gst_structure_get_field_type(s, "running-time"), G_TYPE_UINT64);
    EXPECT_EQ(gst_structure_get_field_type(s, "bpm"), G_TYPE_DOUBLE);
    EXPECT_EQ(gst_structure_get_field_type(s, "confidence"), G_TYPE_DOUBLE);
    guint64 ts = 0, st = 0, rt = 0;
    gst_structure_get_uint64(s, "timestamp", &ts);
    gst_structure_get_uint64(s, "stream-time", &st);
    gst_structure_get_uint64(s, "running-time", &rt);
    EXPECT_EQ(st, ts); /* default segment */
    EXPECT_EQ(rt, ts);
  }
  std::vector<std::size_t> idx;
  expect_on_clicks(beat_times(beats), ck.clicks, &idx);
  EXPECT_EQ(idx.back() - idx.front() + 1, idx.size()) << "a click was missed after the warm-up";
  double bpm = 0;
  gst_structure_get_double(beats.back(), "bpm", &bpm);
  EXPECT_NEAR(bpm, c.bpm, c.bpm * 0.01);
  free_all(beats);

  f.eos();
  std::vector<GstStructure *> summary = f.take("montage-beats");
  ASSERT_EQ(summary.size(), 1u);
  guint64 duration = 0;
  std::vector<double> energy;
  std::vector<GstClockTime> all = summary_beats(summary[0], &bpm, &duration, &energy);
  EXPECT_EQ(all.size(), ck.clicks.size());
  idx.clear();
  expect_on_clicks(all, ck.clicks, &idx);
  ASSERT_FALSE(idx.empty());
  EXPECT_EQ(idx.front(), 0u);
  EXPECT_NEAR(bpm, c.bpm, c.bpm * 0.01);
  EXPECT_EQ(duration, gst_util_uint64_scale(ck.mono.size(), GST_SECOND, c.rate));
  EXPECT_DOUBLE_EQ(*std::max_element(energy.begin(), energy.end()), 1.0);
  free_all(summary);
}

INSTANTIATE_TEST_SUITE_P(Formats, MontageBeatClicks,
                         ::testing::Values(Case{44100, 1, false, 120}, Case{48000, 2, false, 97},
                                           Case{22050, 1, true, 97}, Case{48000, 2, true, 120},
                                           Case{8000, 1, true, 120}, Case{96000, 6, false, 97}),
                         [](const ::testing::TestParamInfo<Case> &info) {
                           return std::to_string(info.param.rate) + "Hz_" +
                                  std::to_string(info.param.channels) + "ch_" +
                                  (info.param.s16 ? "S16" : "F32") + "_" +
                                  std::to_string((int)info.param.bpm) + "bpm";
                         });

/* mode=auto (the default): live where upstream is live, offline for a file
 * or any source that is not; montage-beats says which. */
TEST(MontageBeat, AutoModeIsLiveForALiveSourceAndOfflineOtherwise)
{
  EXPECT_TRUE(GST_ELEMENT_REGISTER(montagebeat, NULL));
  for (bool live : {false, true}) {
    SCOPED_TRACE(live ? "live source" : "source that is not live");
    gchar *launch =
        g_strdup_printf("audiotestsrc is-live=%s wave=ticks num-buffers=20 samplesperbuffer=4410 ! "
                        "audio/x-raw,rate=44100,channels=1 ! montagebeat ! fakesink sync=false",
                        live ? "true" : "false");
    GError *error = nullptr;
    GstElement *pipeline = gst_parse_launch(launch, &error);
    g_free(launch);
    ASSERT_NE(pipeline, nullptr) << (error ? error->message : "");
    g_clear_error(&error);
    GstBus *bus = gst_element_get_bus(pipeline);
    ASSERT_NE(gst_element_set_state(pipeline, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
    std::string mode;
    for (;;) {
      GstMessage *m = gst_bus_timed_pop_filtered(
          bus, 30 * GST_SECOND,
          (GstMessageType)(GST_MESSAGE_ELEMENT | GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
      ASSERT_NE(m, nullptr) << "no EOS";
      const GstMessageType type = GST_MESSAGE_TYPE(m);
      const GstStructure *s = gst_message_get_structure(m);
      if (type == GST_MESSAGE_ELEMENT && gst_structure_has_name(s, "montage-beats"))
        mode = gst_structure_get_string(s, "mode");
      gst_message_unref(m);
      ASSERT_NE(type, GST_MESSAGE_ERROR);
      if (type == GST_MESSAGE_EOS)
        break;
    }
    EXPECT_EQ(mode, live ? "live" : "offline");
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(bus);
    gst_object_unref(pipeline);
  }
}

/* mode=auto on a stream that is not live but may never end (no duration
 * and no seeking: an internet radio over HTTP, modelled by a non-seekable
 * appsrc) is live: offline would keep the whole stream's envelope for the
 * pass at EOS (about 80 MB per hour) and never get there. The same appsrc
 * with a duration is offline. Before, both were offline. */
TEST(MontageBeat, AutoModeIsLiveForAnEndlessStream)
{
  EXPECT_TRUE(GST_ELEMENT_REGISTER(montagebeat, NULL));
  const guint rate = 44100;
  Clicks ck = make_clicks(rate, 120, 0.5, 3.0);
  for (bool with_duration : {false, true}) {
    SCOPED_TRACE(with_duration ? "with a duration" : "no duration, no seeking");
    GError *error = nullptr;
    GstElement *pipeline =
        gst_parse_launch("appsrc name=src is-live=false stream-type=stream format=time "
                         "caps=audio/x-raw,format=F32LE,rate=44100,channels=1,layout=interleaved ! "
                         "montagebeat ! fakesink sync=false",
                         &error);
    ASSERT_NE(pipeline, nullptr) << (error ? error->message : "");
    g_clear_error(&error);
    GstElement *src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
    if (with_duration)
      g_object_set(src, "duration", (guint64)3 * GST_SECOND, NULL);
    GstBus *bus = gst_element_get_bus(pipeline);
    ASSERT_NE(gst_element_set_state(pipeline, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
    for (std::size_t at = 0; at < ck.mono.size(); at += 4410) {
      const std::size_t n = std::min<std::size_t>(4410, ck.mono.size() - at);
      GstBuffer *buf = gst_buffer_new_memdup(ck.mono.data() + at, n * sizeof(float));
      GST_BUFFER_PTS(buf) = gst_util_uint64_scale(at, GST_SECOND, rate);
      GstFlowReturn ret;
      g_signal_emit_by_name(src, "push-buffer", buf, &ret);
      gst_buffer_unref(buf);
      ASSERT_EQ(ret, GST_FLOW_OK);
    }
    GstFlowReturn ret;
    g_signal_emit_by_name(src, "end-of-stream", &ret);
    std::string mode;
    for (;;) {
      GstMessage *m = gst_bus_timed_pop_filtered(
          bus, 30 * GST_SECOND,
          (GstMessageType)(GST_MESSAGE_ELEMENT | GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
      ASSERT_NE(m, nullptr) << "no EOS";
      const GstMessageType type = GST_MESSAGE_TYPE(m);
      const GstStructure *s = gst_message_get_structure(m);
      if (type == GST_MESSAGE_ELEMENT && gst_structure_has_name(s, "montage-beats"))
        mode = gst_structure_get_string(s, "mode");
      gst_message_unref(m);
      ASSERT_NE(type, GST_MESSAGE_ERROR);
      if (type == GST_MESSAGE_EOS)
        break;
    }
    EXPECT_EQ(mode, with_duration ? "offline" : "live");
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(src);
    gst_object_unref(bus);
    gst_object_unref(pipeline);
  }
}

TEST(MontageBeat, TimestampsFollowFirstPtsAndSegment)
{
  const guint rate = 44100;
  Fixture f(rate, 1, false);
  GstSegment seg;
  gst_segment_init(&seg, GST_FORMAT_TIME);
  seg.start = 10 * GST_SECOND;
  seg.time = 0;
  seg.base = 5 * GST_SECOND;
  ASSERT_TRUE(gst_harness_push_event(f.h, gst_event_new_segment(&seg)));
  const GstClockTime first_pts = 10 * GST_SECOND;
  Clicks ck = make_clicks(rate, 120, 0.5, 12.0);
  f.push(ck.mono, 0, ck.mono.size(), first_pts);

  std::vector<GstClockTime> shifted;
  for (GstClockTime t : ck.clicks)
    shifted.push_back(t + first_pts);
  std::vector<GstStructure *> beats = f.take("montage-beat");
  ASSERT_FALSE(beats.empty());
  expect_on_clicks(beat_times(beats), shifted);
  for (const GstStructure *s : beats) {
    guint64 ts = 0, st = 0, rt = 0;
    gst_structure_get_uint64(s, "timestamp", &ts);
    gst_structure_get_uint64(s, "stream-time", &st);
    gst_structure_get_uint64(s, "running-time", &rt);
    EXPECT_EQ(st, ts - 10 * GST_SECOND);
    EXPECT_EQ(rt, ts - 10 * GST_SECOND + 5 * GST_SECOND);
  }
  free_all(beats);
  f.eos();
  std::vector<GstStructure *> summary = f.take("montage-beats");
  ASSERT_EQ(summary.size(), 1u);
  double bpm = 0;
  guint64 duration = 0;
  std::vector<GstClockTime> all = summary_beats(summary[0], &bpm, &duration, nullptr);
  EXPECT_EQ(all.size(), shifted.size());
  expect_on_clicks(all, shifted);
  EXPECT_EQ(duration, 12 * GST_SECOND);
  free_all(summary);
}

TEST(MontageBeat, DiscontResyncsTheClock)
{
  const guint rate = 48000;
  Fixture f(rate, 2, false);
  Clicks ck = make_clicks(rate, 120, 0.5, 20.0);
  const std::size_t split = 10 * rate + rate / 4; /* 10.25 s, between two clicks */
  /* the second half arrives with its PTS 1 s later than the samples say */
  f.push(ck.mono, 0, split, 0);
  f.push(ck.mono, split, ck.mono.size(), 11250 * GST_MSECOND, true);
  std::vector<GstClockTime> expected;
  for (GstClockTime t : ck.clicks)
    expected.push_back(t >= 10250 * GST_MSECOND ? t + GST_SECOND : t);
  std::vector<GstStructure *> beats = f.take("montage-beat");
  ASSERT_FALSE(beats.empty());
  std::vector<GstClockTime> times = beat_times(beats);
  expect_on_clicks(times, expected);
  EXPECT_GT(times.back(), 18 * GST_SECOND);
  free_all(beats);
  f.eos();
  std::vector<GstStructure *> summary = f.take("montage-beats");
  ASSERT_EQ(summary.size(), 1u);
  double bpm = 0;
  guint64 duration = 0;
  std::vector<GstClockTime> all = summary_beats(summary[0], &bpm, &duration, nullptr);
  EXPECT_EQ(all.size(), expected.size());
  expect_on_clicks(all, expected);
  EXPECT_EQ(duration, 21 * GST_SECOND) << "20 s of audio and the 1 s gap, analysed as silence";
  free_all(summary);
}

/* Audio lost (a DISCONT buffer 200 ms late): the flag stays on that buffer
 * alone. GstBaseTransform marks the next buffer out DISCONT when a DISCONT
 * one comes in, and that was a buffer held live-delay earlier, from before
 * the gap. */
TEST(MontageBeat, DiscontFlagStaysOnItsBuffer)
{
  const guint rate = 44100;
  Fixture f(rate, 1, false);
  Clicks ck = make_clicks(rate, 120, 0.5, 3.0);
  const std::size_t split = 40 * 1024;
  f.push(ck.mono, 0, split, 0);
  f.push(ck.mono, split, ck.mono.size(),
         gst_util_uint64_scale(split, GST_SECOND, rate) + 200 * GST_MSECOND, true);
  f.eos();
  ASSERT_EQ(f.discont_out.size(), f.sent.size());
  for (std::size_t i = 0; i < f.discont_out.size(); i++)
    EXPECT_EQ(f.discont_out[i], i == 40) << "buffer " << i;
}

/* A stream-scoped tag event replaces the one before it downstream, so the
 * BPM tag carries upstream's stream tags (the title here), and upstream's
 * later tags (a decoder's bitrate updates) carry the tempo sent so far: the
 * last tags downstream hold both. The BPM tag used to hold the tempo alone,
 * and the next upstream tags dropped it. */
TEST(MontageBeat, BpmTagKeepsUpstreamTags)
{
  const guint rate = 44100;
  Fixture f(rate, 1, false);
  Clicks ck = make_clicks(rate, 120, 0.5, 8.0);
  ASSERT_TRUE(gst_harness_push_event(
      f.h,
      gst_event_new_tag(gst_tag_list_new(GST_TAG_TITLE, "song", GST_TAG_BITRATE, 1000u, NULL))));
  f.push(ck.mono, 0, 6 * rate, 0);
  ASSERT_TRUE(gst_harness_push_event(
      f.h,
      gst_event_new_tag(gst_tag_list_new(GST_TAG_TITLE, "song", GST_TAG_BITRATE, 2000u, NULL))));
  f.push(ck.mono, 6 * rate, ck.mono.size(), 6 * GST_SECOND);
  ASSERT_TRUE(gst_harness_push_event(f.h, gst_event_new_eos()));
  f.pull_available();
  int with_bpm = 0, after_bpm_without = 0;
  guint last_bitrate = 0;
  while (GstEvent *ev = gst_harness_try_pull_event(f.h)) {
    if (GST_EVENT_TYPE(ev) == GST_EVENT_TAG) {
      GstTagList *tags = nullptr;
      gst_event_parse_tag(ev, &tags);
      gchar *title = nullptr;
      double bpm = 0;
      EXPECT_TRUE(gst_tag_list_get_string(tags, GST_TAG_TITLE, &title)) << "tags lost";
      EXPECT_STREQ(title, "song");
      g_free(title);
      gst_tag_list_get_uint(tags, GST_TAG_BITRATE, &last_bitrate);
      if (gst_tag_list_get_double(tags, GST_TAG_BEATS_PER_MINUTE, &bpm))
        with_bpm++;
      else if (with_bpm > 0)
        after_bpm_without++;
    }
    gst_event_unref(ev);
  }
  EXPECT_GE(with_bpm, 2) << "a BPM tag while playing and one at EOS";
  EXPECT_EQ(after_bpm_without, 0) << "upstream tags dropped the tempo";
  EXPECT_EQ(last_bitrate, 2000u);
}

/* The stream's time goes back without a segment (a source that loops or
 * restarts its timestamps): 0-15 s, then the song again from 5 s with
 * DISCONT. The tracking restarts there, as on a SEGMENT event: the live
 * beats go back once, with the stream, and the summary holds the audio after
 * the restart, its beats in order (they used to run 14.996 s, then
 * 5.495 s). */
TEST(MontageBeat, TimeGoingBackRestartsTheTracking)
{
  for (const char *mode : {"offline", "live"}) {
    SCOPED_TRACE(mode);
    const guint rate = 48000;
    Fixture f(rate, 1, false);
    gst_util_set_object_arg(G_OBJECT(f.h->element), "mode", mode);
    Clicks ck = make_clicks(rate, 120, 0.5, 20.0);
    f.push(ck.mono, 0, 15 * rate, 0);
    f.push(ck.mono, 5 * rate, ck.mono.size(), 5 * GST_SECOND, true);
    std::vector<GstStructure *> beats = f.take("montage-beat");
    std::vector<GstClockTime> live = beat_times(beats);
    free_all(beats);
    ASSERT_FALSE(live.empty());
    std::size_t back = 0;
    for (std::size_t i = 1; i < live.size(); i++)
      if (live[i] <= live[i - 1]) {
        back++;
        EXPECT_LT(live[i - 1], 15 * GST_SECOND);
        EXPECT_GE(live[i], 5 * GST_SECOND);
      }
    EXPECT_EQ(back, 1u) << "the live beats go back once, where the stream's time does";
    {
      /* The restart posts the summary of the audio before it, as a new
       * segment does (before, that audio got none). */
      SCOPED_TRACE("at the restart");
      Summary before = take_summary(f);
      EXPECT_EQ(before.duration, 15 * GST_SECOND) << "the audio before the restart";
      ASSERT_FALSE(before.beats.empty());
      EXPECT_LT(before.beats.back(), 15 * GST_SECOND);
      std::vector<GstClockTime> expected;
      for (GstClockTime t : ck.clicks)
        if (t < 15 * GST_SECOND)
          expected.push_back(t);
      expect_on_clicks(before.beats, expected);
    }
    f.eos();
    Summary sum = take_summary(f);
    if (g_strcmp0(mode, "offline") == 0) {
      ASSERT_FALSE(sum.beats.empty());
      for (std::size_t i = 1; i < sum.beats.size(); i++)
        EXPECT_GT(sum.beats[i], sum.beats[i - 1]) << "summary beat " << i;
      EXPECT_GE(sum.beats.front(), 5 * GST_SECOND) << "a beat from before the restart";
      std::vector<GstClockTime> expected;
      for (GstClockTime t : ck.clicks)
        if (t >= 5 * GST_SECOND)
          expected.push_back(t);
      expect_on_clicks(sum.beats, expected);
      EXPECT_EQ(sum.duration, 15 * GST_SECOND) << "the audio after the restart";
    }
  }
}

/* A small step back in the stream's time is absorbed, as audio sinks absorb
 * one under their alignment threshold: an audio source slaved to another
 * clock (GstAudioBaseSrc's slave-method=skew) sends a DISCONT buffer a few
 * milliseconds back when it corrects drift, and RTP audio whose timestamps
 * follow the receiver's clock drifts back slowly without DISCONT. Here a
 * 120 BPM click track comes 1 ms back with DISCONT every 5 s, then 1 %
 * slow (20 ms back per second, no flag). The sample clock moves to the new
 * PTS and the tracking goes on: no montage-beats before EOS, no beat
 * missing, every beat on its click. Before, each step restarted the
 * tracker (a summary mid-stream and about 2 s without beats). */
TEST(MontageBeat, SmallStepBackIsAbsorbed)
{
  for (const char *mode : {"offline", "live"}) {
    SCOPED_TRACE(mode);
    const guint rate = 48000;
    Fixture f(rate, 1, false);
    gst_util_set_object_arg(G_OBJECT(f.h->element), "mode", mode);
    Clicks ck = make_clicks(rate, 120, 0.5, 30.0);
    std::vector<std::pair<GstClockTime, GstClockTimeDiff>> shift; /* from, PTS - sample time */
    GstClockTimeDiff back = 0;
    for (int k = 0; k < 30; k++) {
      /* 0-15 s: 1 ms back at 5 and 10 s, with DISCONT; 15-30 s: 20 ms back
       * at each second, without (the beats stay within 20 ms of the PTS
       * between the re-anchorings at 40 ms). */
      const bool flagged = k == 5 || k == 10;
      if (flagged)
        back += GST_MSECOND;
      else if (k > 15)
        back += 20 * GST_MSECOND;
      shift.push_back({(GstClockTime)k * GST_SECOND, back});
      f.push(ck.mono, (std::size_t)k * rate, (std::size_t)(k + 1) * rate,
             (GstClockTime)((GstClockTimeDiff)k * GST_SECOND - back), flagged);
    }
    std::vector<GstClockTime> expected;
    for (GstClockTime t : ck.clicks)
      expected.push_back((GstClockTime)((GstClockTimeDiff)t - shift[t / GST_SECOND].second));
    std::vector<GstStructure *> beats = f.take("montage-beat");
    std::vector<GstClockTime> live = beat_times(beats);
    free_all(beats);
    EXPECT_TRUE(f.take("montage-beats").empty()) << "the tracking restarted";
    ASSERT_GT(live.size(), 40u);
    for (std::size_t i = 1; i < live.size(); i++)
      EXPECT_LT(live[i] - live[i - 1], 600 * GST_MSECOND)
          << "beats missing after " << live[i - 1] / 1e9 << " s";
    expect_on_clicks(live, expected);
    f.eos();
    Summary sum = take_summary(f);
    ASSERT_GT(sum.beats.size(), 50u);
    expect_on_clicks(sum.beats, expected);
  }
}

/* Audio lost without a DISCONT flag (a GAP event, then a buffer whose PTS
 * jumps 3.25 s, off the beat grid by half a beat): the gap is analysed as
 * silence, so the beats after it stay on the clicks, live and offline; the
 * GAP event leaves behind the audio held before it. */
TEST(MontageBeat, TimestampJumpIsAGapOfSilence)
{
  for (const char *mode : {"offline", "live"}) {
    SCOPED_TRACE(mode);
    const guint rate = 48000;
    Fixture f(rate, 1, false);
    gst_util_set_object_arg(G_OBJECT(f.h->element), "mode", mode);
    Clicks ck = make_clicks(rate, 120, 0.5, 30.0);
    const std::size_t lost = 10 * rate + rate / 4, back = 13 * rate + rate / 2; /* 10.25-13.5 s */
    Order order(f.h);
    f.push(ck.mono, 0, lost, 0);
    ASSERT_LT(f.received, f.sent.size()) << "nothing held: the test proves nothing";
    ASSERT_TRUE(
        gst_harness_push_event(f.h, gst_event_new_gap(10250 * GST_MSECOND, 3250 * GST_MSECOND)));
    /* The gap's 3.25 s of silence follow the held audio: it goes out, then
     * the GAP, behind it. */
    f.pull_available();
    EXPECT_EQ(f.received, f.sent.size()) << "audio held behind a 3.25 s GAP";
    ASSERT_EQ(order.count("gap"), 1u);
    EXPECT_LT(order.last("buffer"), order.first("gap")) << "the GAP event overtook the held audio";
    f.push(ck.mono, back, ck.mono.size(), 13500 * GST_MSECOND);
    std::vector<GstClockTime> expected;
    for (GstClockTime t : ck.clicks)
      if (t < 10250 * GST_MSECOND || t >= 13500 * GST_MSECOND)
        expected.push_back(t);
    std::vector<GstClockTime> after;
    std::vector<GstStructure *> beats = f.take("montage-beat");
    for (GstClockTime t : beat_times(beats))
      if (t >= 15 * GST_SECOND)
        after.push_back(t);
    free_all(beats);
    ASSERT_GT(after.size(), 20u);
    expect_on_clicks(after, expected);
    f.eos();
    Summary sum = take_summary(f);
    std::vector<GstClockTime> late;
    for (GstClockTime t : sum.beats)
      if (t >= 15 * GST_SECOND)
        late.push_back(t);
    expect_on_clicks(late, expected);
    EXPECT_EQ(sum.duration, 30 * GST_SECOND);
  }
}

/* A GAP is an estimate: the next buffer can start before the GAP's end (an
 * RTP depayloader turns a jitterbuffer's lost-packet estimate into a GAP, and
 * the next buffer comes DISCONT). A 120 BPM click track, its audio lost from
 * 10 s to `back`: a GAP from 10 s to `back` + the overshoot, then the audio
 * from `back`, with and without DISCONT. The sample clock goes back to
 * `back`, so the beats after the gap, live and in the summary, lie within
 * 1 ms of those of the same stream whose GAP ends at `back` (the overshoot
 * is two of the tracker's hops, so the hops fall on the same audio), the
 * live beats never go back, and no summary comes before EOS. Before, the
 * silence filled up to the GAP's end: with DISCONT, "time went back"
 * restarted the tracking (a summary mid-stream, the tempo lost); without
 * it, every later beat came the overshoot late. */
TEST(MontageBeat, BufferInsideAGapsSilenceMovesTheSampleClockBack)
{
  const guint rate = 44100;
  Clicks ck = make_clicks(rate, 120, 0.5, 20.0);
  const std::size_t lost = 10 * rate, back = 10 * rate + rate * 99 / 100; /* 10-10.99 s */
  const GstClockTime back_ts = gst_util_uint64_scale(back, GST_SECOND, rate);
  const GstClockTime overshoot = gst_util_uint64_scale(2 * 2 * 256, GST_SECOND, rate);
  struct Run {
    std::vector<GstClockTime> live, summary;
    GstClockTime duration = 0;
  };
  auto run = [&](GstClockTime gap_end, bool discont) {
    Run r;
    Fixture f(rate, 1, false);
    f.push(ck.mono, 0, lost, 0);
    EXPECT_TRUE(
        gst_harness_push_event(f.h, gst_event_new_gap(10 * GST_SECOND, gap_end - 10 * GST_SECOND)));
    f.pull_available();
    f.push(ck.mono, back, ck.mono.size(), back_ts, discont);
    std::vector<GstStructure *> early = f.take("montage-beats");
    EXPECT_TRUE(early.empty()) << "a summary before EOS: the tracking restarted";
    free_all(early);
    std::vector<GstStructure *> beats = f.take("montage-beat");
    r.live = beat_times(beats);
    free_all(beats);
    f.eos();
    Summary sum = take_summary(f);
    r.summary = sum.beats;
    r.duration = sum.duration;
    return r;
  };
  auto after_gap = [](const std::vector<GstClockTime> &v) {
    std::vector<GstClockTime> out;
    for (GstClockTime t : v)
      if (t >= 13250 * GST_MSECOND)
        out.push_back(t);
    return out;
  };
  Run ref;
  {
    SCOPED_TRACE("GAP to the audio");
    ref = run(back_ts, false);
  }
  ASSERT_GT(after_gap(ref.live).size(), 10u);
  ASSERT_GT(after_gap(ref.summary).size(), 10u);
  for (bool discont : {true, false}) {
    SCOPED_TRACE(discont ? "DISCONT" : "no DISCONT");
    Run r = run(back_ts + overshoot, discont);
    for (std::size_t i = 1; i < r.live.size(); i++)
      EXPECT_GT(r.live[i], r.live[i - 1]) << "live beat " << i << " went back";
    for (bool live : {true, false}) {
      SCOPED_TRACE(live ? "live beats" : "summary");
      std::vector<GstClockTime> got = after_gap(live ? r.live : r.summary);
      std::vector<GstClockTime> want = after_gap(live ? ref.live : ref.summary);
      ASSERT_EQ(got.size(), want.size());
      for (std::size_t i = 0; i < got.size(); i++)
        EXPECT_LE(dist(got[i], want[i]), GST_MSECOND)
            << "beat " << got[i] / 1e9 << " s, with the GAP to the audio " << want[i] / 1e9 << " s";
    }
    EXPECT_EQ(r.duration, ref.duration) << "the overshoot counted twice";
  }
}

/* A GAP past 60 s is not filled: the sample clock restarts at its end. A
 * buffer that comes before that end (5 s of a 120 BPM click track, a GAP
 * from 5 s to 66 s, then the clicks from 5 s stamped 65.99 s, DISCONT)
 * moves it back to its PTS as well: no restart (before, a montage-beats
 * came mid-stream and the summary at EOS held only the audio after the
 * GAP), the beats after the GAP lie on the clicks, and `duration` is the
 * audio's, 15 s (nothing of the GAP was analysed to take away). */
TEST(MontageBeat, BufferInsideALongGapMovesTheSampleClockBack)
{
  const guint rate = 44100;
  Clicks ck = make_clicks(rate, 120, 0.5, 15.0);
  Fixture f(rate, 1, false);
  f.push(ck.mono, 0, 5 * rate, 0);
  ASSERT_TRUE(gst_harness_push_event(f.h, gst_event_new_gap(5 * GST_SECOND, 61 * GST_SECOND)));
  f.pull_available();
  const GstClockTime shift = 60990 * GST_MSECOND;
  f.push(ck.mono, 5 * rate, ck.mono.size(), 5 * GST_SECOND + shift, true);
  std::vector<GstStructure *> early = f.take("montage-beats");
  EXPECT_TRUE(early.empty()) << "a summary before EOS: the tracking restarted";
  free_all(early);
  std::vector<GstStructure *> beats = f.take("montage-beat");
  std::vector<GstClockTime> live = beat_times(beats);
  free_all(beats);
  std::vector<GstClockTime> expected;
  for (GstClockTime t : ck.clicks)
    expected.push_back(t < 5 * GST_SECOND ? t : t + shift);
  std::vector<GstClockTime> after;
  for (GstClockTime t : live)
    if (t >= 8 * GST_SECOND + shift)
      after.push_back(t);
  ASSERT_GT(after.size(), 5u);
  expect_on_clicks(after, expected);
  f.eos();
  Summary sum = take_summary(f);
  EXPECT_EQ(sum.duration, 15 * GST_SECOND);
  ASSERT_FALSE(sum.beats.empty());
  EXPECT_LT(sum.beats.front(), 5 * GST_SECOND) << "the audio before the GAP left out";
  std::vector<GstClockTime> late;
  for (GstClockTime t : sum.beats)
    if (t >= 8 * GST_SECOND + shift)
      late.push_back(t);
  ASSERT_GT(late.size(), 5u);
  expect_on_clicks(late, expected);
}

/* SEGMENT_DONE (the end of a segment seek's segment) lets out the audio
 * held for live-delay before it goes on: no more audio comes to release it
 * (it stayed inside, the event behind it). */
TEST(MontageBeat, SegmentDoneLetsTheHeldAudioOut)
{
  const guint rate = 44100;
  Fixture f(rate, 1, false);
  Clicks ck = make_clicks(rate, 120, 0.5, 3.0);
  f.push(ck.mono, 0, ck.mono.size(), 0);
  ASSERT_GT(f.sent.size(), f.received) << "nothing held: the test proves nothing";
  while (GstEvent *ev = gst_harness_try_pull_event(f.h))
    gst_event_unref(ev);
  ASSERT_TRUE(
      gst_harness_push_event(f.h, gst_event_new_segment_done(GST_FORMAT_TIME, 3 * GST_SECOND)));
  f.pull_available();
  EXPECT_EQ(f.received, f.sent.size()) << "audio held past SEGMENT_DONE";
  bool seen = false;
  while (GstEvent *ev = gst_harness_try_pull_event(f.h)) {
    seen = seen || GST_EVENT_TYPE(ev) == GST_EVENT_SEGMENT_DONE;
    gst_event_unref(ev);
  }
  EXPECT_TRUE(seen) << "SEGMENT_DONE did not go on";
}

/* A segment seek (GST_SEEK_FLAG_SEGMENT, looping playback) ends each
 * segment with SEGMENT_DONE, not EOS, and the next segment resets: the
 * finished segment's montage-beats goes out at SEGMENT_DONE, once per loop,
 * and an EOS with no audio since posts no second one. Before, a looping
 * pipeline never got one. */
TEST(MontageBeat, SegmentDonePostsTheSegmentsSummary)
{
  const guint rate = 44100;
  Fixture f(rate, 1, false);
  Clicks ck = make_clicks(rate, 120, 0.5, 12.0);
  const GstClockTime length = 12 * GST_SECOND;
  for (int loop = 0; loop < 2; loop++) {
    SCOPED_TRACE(loop);
    GstSegment seg;
    gst_segment_init(&seg, GST_FORMAT_TIME);
    seg.flags = GST_SEGMENT_FLAG_SEGMENT;
    seg.stop = length;
    seg.base = loop * length; /* a non-flushing loop seek: running time goes on */
    ASSERT_TRUE(gst_harness_push_event(f.h, gst_event_new_segment(&seg)));
    f.push(ck.mono, 0, ck.mono.size(), 0);
    ASSERT_TRUE(gst_harness_push_event(f.h, gst_event_new_segment_done(GST_FORMAT_TIME, length)));
    f.pull_available();
    EXPECT_EQ(f.received, f.sent.size()) << "audio held past SEGMENT_DONE";
    Summary sum = take_summary(f);
    EXPECT_EQ(sum.duration, length) << "the summary covers this loop only";
    EXPECT_NEAR(sum.bpm, 120.0, 1.0);
    EXPECT_GE(sum.beats.size(), ck.clicks.size() - 1);
    expect_on_clicks(sum.beats, ck.clicks);
    std::vector<GstStructure *> beat = f.take("montage-beat");
    free_all(beat);
  }
  f.eos();
  std::vector<GstStructure *> again = f.take("montage-beats");
  EXPECT_TRUE(again.empty()) << "EOS repeated the last segment's summary";
  free_all(again);
}

/* A SEGMENT_DONE with no audio since the last summary (a second one, as an
 * upstream that repeats it sends) posts no second montage-beats and no
 * second BPM tag: the whole-song pass is not run again for the same audio,
 * as EOS after SEGMENT_DONE posts none. Audio after it (no new segment:
 * no reset) makes the next SEGMENT_DONE post again, over all the audio
 * since the reset. Before, each SEGMENT_DONE re-ran the whole-song pass and
 * posted the same summary again. */
TEST(MontageBeat, SegmentDoneWithNoAudioSincePostsNoSecondSummary)
{
  const guint rate = 44100;
  Fixture f(rate, 1, false);
  Clicks ck = make_clicks(rate, 120, 0.5, 16.0);
  const std::size_t first = 12 * rate;
  f.push(ck.mono, 0, first, 0);
  auto segment_done = [&f](GstClockTime at) {
    EXPECT_TRUE(gst_harness_push_event(f.h, gst_event_new_segment_done(GST_FORMAT_TIME, at)));
    f.pull_available();
    while (GstEvent *ev = gst_harness_try_pull_event(f.h)) {
      f.take_tag(ev);
      gst_event_unref(ev);
    }
  };
  segment_done(12 * GST_SECOND);
  {
    Summary sum = take_summary(f);
    EXPECT_EQ(sum.duration, 12 * GST_SECOND);
    EXPECT_NEAR(sum.bpm, 120.0, 1.0);
  }
  /* The live tempo's tags held with the audio, then the whole-song one. */
  ASSERT_FALSE(f.tag_bpms.empty()) << "the whole-song BPM tag at SEGMENT_DONE";
  EXPECT_NEAR(f.tag_bpms.back(), 120.0, 1.0);
  f.tag_bpms.clear();
  segment_done(12 * GST_SECOND);
  std::vector<GstStructure *> again = f.take("montage-beats");
  EXPECT_TRUE(again.empty()) << "the same summary posted again";
  free_all(again);
  EXPECT_TRUE(f.tag_bpms.empty()) << "the same BPM tag sent again";

  f.push(ck.mono, first, ck.mono.size(), 12 * GST_SECOND);
  segment_done(16 * GST_SECOND);
  Summary sum = take_summary(f);
  EXPECT_EQ(sum.duration, 16 * GST_SECOND) << "all the audio since the reset";
  expect_on_clicks(sum.beats, ck.clicks);
  EXPECT_FALSE(f.tag_bpms.empty()) << "the whole-song BPM tag at SEGMENT_DONE";
  std::vector<GstStructure *> beat = f.take("montage-beat");
  free_all(beat);
}

/* A non-flushing seek (a new SEGMENT event without a flush) resets the
 * analysis: the audio analysed before it gets its montage-beats at that
 * SEGMENT, as at EOS, with the whole-song BPM tag ahead of the segment
 * event, and EOS then summarises the new segment's audio alone. A SEGMENT
 * with no audio analysed since the last reset posts none. Before, the
 * reset dropped the first 12 s without a summary. */
TEST(MontageBeat, NonFlushingSeekPostsTheSummarySoFar)
{
  const guint rate = 44100;
  Fixture f(rate, 1, false);
  Clicks ck = make_clicks(rate, 120, 0.5, 12.0);
  GstSegment seg;
  gst_segment_init(&seg, GST_FORMAT_TIME);
  ASSERT_TRUE(gst_harness_push_event(f.h, gst_event_new_segment(&seg)));
  std::vector<GstStructure *> none = f.take("montage-beats");
  EXPECT_TRUE(none.empty()) << "a summary for a segment without audio";
  free_all(none);
  f.push(ck.mono, 0, ck.mono.size(), 0);
  while (GstEvent *ev = gst_harness_try_pull_event(f.h))
    gst_event_unref(ev);
  f.tag_bpms.clear();

  /* Seek back to 2 s without a flush: running time goes on. */
  seg.time = 2 * GST_SECOND;
  seg.start = 2 * GST_SECOND;
  seg.base = 12 * GST_SECOND;
  ASSERT_TRUE(gst_harness_push_event(f.h, gst_event_new_segment(&seg)));
  f.pull_available();
  EXPECT_EQ(f.received, f.sent.size()) << "audio held past the new segment";
  bool segment_seen = false;
  while (GstEvent *ev = gst_harness_try_pull_event(f.h)) {
    if (GST_EVENT_TYPE(ev) == GST_EVENT_SEGMENT)
      segment_seen = true;
    else if (!segment_seen)
      f.take_tag(ev);
    gst_event_unref(ev);
  }
  EXPECT_TRUE(segment_seen);
  ASSERT_EQ(f.tag_bpms.size(), 1u) << "the whole-song BPM tag, before the segment event";
  EXPECT_NEAR(f.tag_bpms[0], 120.0, 1.0);
  {
    SCOPED_TRACE("at the new segment");
    Summary sum = take_summary(f);
    EXPECT_EQ(sum.duration, 12 * GST_SECOND) << "the audio before the seek";
    EXPECT_NEAR(sum.bpm, 120.0, 1.0);
    EXPECT_GE(sum.beats.size(), ck.clicks.size() - 1);
    expect_on_clicks(sum.beats, ck.clicks);
  }

  const std::size_t from = 2 * rate, to = 8 * rate;
  f.push(ck.mono, from, to, 2 * GST_SECOND);
  f.eos();
  SCOPED_TRACE("at EOS");
  Summary sum = take_summary(f);
  EXPECT_EQ(sum.duration, 6 * GST_SECOND) << "the audio after the seek only";
  EXPECT_NEAR(sum.bpm, 120.0, 1.0);
  std::vector<GstClockTime> after;
  for (GstClockTime t : ck.clicks)
    if (t >= 2 * GST_SECOND && t < 8 * GST_SECOND)
      after.push_back(t);
  expect_on_clicks(sum.beats, after);
  std::vector<GstStructure *> beat = f.take("montage-beat");
  free_all(beat);

  /* A new stream after EOS (no flush): EOS summarised the audio already. */
  ASSERT_TRUE(gst_harness_push_event(f.h, gst_event_new_stream_start("again")));
  gst_segment_init(&seg, GST_FORMAT_TIME);
  ASSERT_TRUE(gst_harness_push_event(f.h, gst_event_new_segment(&seg)));
  std::vector<GstStructure *> again = f.take("montage-beats");
  EXPECT_TRUE(again.empty()) << "the EOS summary posted again at the next segment";
  free_all(again);
}

/* A new segment straight before EOS, with no audio after it: the summary
 * posted at the segment is the last one. Before, EOS posted an empty one
 * after it (no beats, duration 0), and an application keeping the last
 * montage-beats (the tool does) lost the song's beats. */
TEST(MontageBeat, SegmentThenEosPostsNoEmptySummaryAfterTheReal)
{
  const guint rate = 44100;
  Fixture f(rate, 1, false);
  Clicks ck = make_clicks(rate, 120, 0.5, 12.0);
  GstSegment seg;
  gst_segment_init(&seg, GST_FORMAT_TIME);
  ASSERT_TRUE(gst_harness_push_event(f.h, gst_event_new_segment(&seg)));
  f.push(ck.mono, 0, ck.mono.size(), 0);
  seg.base = 12 * GST_SECOND;
  ASSERT_TRUE(gst_harness_push_event(f.h, gst_event_new_segment(&seg)));
  ASSERT_TRUE(gst_harness_push_event(f.h, gst_event_new_segment(&seg)));
  f.eos();
  std::vector<GstStructure *> sums = f.take("montage-beats");
  ASSERT_EQ(sums.size(), 1u) << "one summary, at the first new segment";
  guint64 duration = 0;
  gst_structure_get_uint64(sums[0], "duration", &duration);
  EXPECT_EQ(duration, 12 * GST_SECOND);
  const GValue *beats = gst_structure_get_value(sums[0], "beats");
  ASSERT_NE(beats, nullptr);
  EXPECT_GE(gst_value_array_get_size(beats), (guint)ck.clicks.size() - 1);
  free_all(sums);
}

/* Tempo is a stream-time value: `bpm` (messages, tag, meta, montage-beats)
 * is the song's own tempo whatever the playback rate, and `running-bpm` is
 * the tempo heard, in running time, as stream-time and running-time
 * follow the segment. Played at rate 2 (the buffers hold the song as it
 * is) the song's 120 is heard at 240; after an element that already sped
 * the audio up 1.5 times (applied_rate 1.5), clicks 0.5 s apart in the
 * buffers are a song at 80 heard at 120. Before, `bpm` was the tempo in
 * buffer time (120 in both), which is neither where applied_rate is not 1,
 * and no field gave the tempo heard. */
TEST(MontageBeat, TempoIsInStreamTimeAndRunningBpmFollowsTheRate)
{
  struct RateCase {
    double rate, applied, song_bpm, heard_bpm;
  };
  for (const RateCase &c : {RateCase{2.0, 1.0, 120.0, 240.0}, RateCase{1.0, 1.5, 80.0, 120.0}}) {
    SCOPED_TRACE(c.rate);
    SCOPED_TRACE(c.applied);
    const guint rate = 44100;
    Fixture f(rate, 1, false);
    GstSegment seg;
    gst_segment_init(&seg, GST_FORMAT_TIME);
    seg.rate = c.rate;
    seg.applied_rate = c.applied;
    ASSERT_TRUE(gst_harness_push_event(f.h, gst_event_new_segment(&seg)));
    Clicks ck = make_clicks(rate, 120, 0.5, 15.0);
    f.push(ck.mono, 0, ck.mono.size(), 0);
    f.eos();
    std::vector<GstStructure *> beats = f.take("montage-beat");
    ASSERT_GT(beats.size(), 8u);
    const GstStructure *last = beats.back(), *before = beats[beats.size() - 2];
    double bpm = 0, heard = 0;
    EXPECT_TRUE(gst_structure_get_double(last, "bpm", &bpm));
    EXPECT_TRUE(gst_structure_get_double(last, "running-bpm", &heard));
    EXPECT_NEAR(bpm, c.song_bpm, 1.0);
    EXPECT_NEAR(heard, c.heard_bpm, 1.5);
    guint64 st[2] = {0, 0}, rt[2] = {0, 0};
    gst_structure_get_uint64(before, "stream-time", &st[0]);
    gst_structure_get_uint64(last, "stream-time", &st[1]);
    gst_structure_get_uint64(before, "running-time", &rt[0]);
    gst_structure_get_uint64(last, "running-time", &rt[1]);
    /* One beat apart in stream time at bpm, in running time at running-bpm. */
    EXPECT_NEAR((st[1] - st[0]) / 1e9, 60.0 / c.song_bpm, 0.03);
    EXPECT_NEAR((rt[1] - rt[0]) / 1e9, 60.0 / c.heard_bpm, 0.03);
    free_all(beats);
    ASSERT_FALSE(f.tag_bpms.empty());
    EXPECT_NEAR(f.tag_bpms.back(), c.song_bpm, 1.0) << "the BPM tag";
    ASSERT_FALSE(f.with_meta.empty());
    MontageBeatInfo info[4];
    const guint n = montage_buffer_get_beats(f.with_meta.back(), info, 4);
    ASSERT_GT(n, 0u);
    EXPECT_NEAR(info[0].bpm, c.song_bpm, 1.0) << "the beat meta";
    Summary sum = take_summary(f);
    EXPECT_NEAR(sum.bpm, c.song_bpm, 1.0) << "montage-beats";
  }
}

/* Raw PCM read by filesrc comes in a BYTES segment: the messages' stream and
 * running times are GST_CLOCK_TIME_NONE, without a CRITICAL per message. */
TEST(MontageBeat, BytesSegmentGivesNoStreamTimes)
{
  const guint rate = 44100;
  Fixture f(rate, 1, false);
  gst_util_set_object_arg(G_OBJECT(f.h->element), "mode", "live");
  GstSegment seg;
  gst_segment_init(&seg, GST_FORMAT_BYTES);
  ASSERT_TRUE(gst_harness_push_event(f.h, gst_event_new_segment(&seg)));
  Clicks ck = make_clicks(rate, 120, 0.5, 8.0);
  f.push(ck.mono, 0, ck.mono.size(), 0);
  for (const char *name : {"montage-energy", "montage-beat"}) {
    SCOPED_TRACE(name);
    std::vector<GstStructure *> v = f.take(name);
    EXPECT_FALSE(v.empty());
    for (GstStructure *m : v) {
      guint64 st = 0, rt = 0;
      EXPECT_TRUE(gst_structure_get_uint64(m, "stream-time", &st));
      EXPECT_TRUE(gst_structure_get_uint64(m, "running-time", &rt));
      EXPECT_EQ(st, GST_CLOCK_TIME_NONE);
      EXPECT_EQ(rt, GST_CLOCK_TIME_NONE);
    }
    free_all(v);
  }
}

/* New caps at the same rate (mono to stereo): the audio held under the old
 * caps goes out before them, none is lost, and the analysis goes on. */
TEST(MontageBeat, AudioHeldUnderOldCapsLeavesBeforeNewCaps)
{
  const guint rate = 44100;
  Fixture f(rate, 1, false);
  Clicks ck = make_clicks(rate, 120, 0.5, 10.0);
  f.push(ck.mono, 0, 5 * rate, 0);
  EXPECT_LT(f.received, f.sent.size()) << "live-delay's worth is held";
  /* A CAPS event alone (gst_harness_set_src_caps() adds a SEGMENT, a reset). */
  GstCaps *stereo = gst_caps_from_string("audio/x-raw, format=F32LE, rate=44100, channels=2, "
                                         "layout=interleaved, channel-mask=(bitmask)0x3");
  EXPECT_TRUE(gst_harness_push_event(f.h, gst_event_new_caps(stereo)));
  gst_caps_unref(stereo);
  f.pull_available();
  EXPECT_EQ(f.received, f.sent.size()) << "mono audio held across the caps change";
  f.channels = 2;
  f.push(ck.mono, 5 * rate, ck.mono.size(), 5 * GST_SECOND);
  f.eos();
  Summary sum = take_summary(f);
  EXPECT_NEAR(sum.bpm, 120.0, 1.0);
  EXPECT_EQ(sum.duration, 10 * GST_SECOND);
}

/* A new sample rate restarts the tracking without a flush: the audio
 * analysed at the old rate gets its montage-beats at the CAPS event, as at a
 * new segment, and EOS summarises the audio at the new rate. Before, the
 * first 10 s got no summary. */
TEST(MontageBeat, RateChangePostsTheSummarySoFar)
{
  Fixture f(44100, 1, false);
  Clicks ck = make_clicks(44100, 120, 0.5, 10.0);
  f.push(ck.mono, 0, ck.mono.size(), 0);
  GstCaps *caps = gst_caps_from_string("audio/x-raw, format=F32LE, rate=48000, channels=1, "
                                       "layout=interleaved");
  EXPECT_TRUE(gst_harness_push_event(f.h, gst_event_new_caps(caps)));
  gst_caps_unref(caps);
  f.pull_available();
  EXPECT_EQ(f.received, f.sent.size()) << "audio held across the rate change";
  {
    SCOPED_TRACE("at the rate change");
    Summary sum = take_summary(f);
    EXPECT_EQ(sum.duration, 10 * GST_SECOND);
    EXPECT_NEAR(sum.bpm, 120.0, 1.0);
    EXPECT_GE(sum.beats.size(), ck.clicks.size() - 1);
    expect_on_clicks(sum.beats, ck.clicks);
  }
  f.rate = 48000;
  Clicks more = make_clicks(48000, 120, 0.5, 8.0);
  f.push(more.mono, 0, more.mono.size(), 10 * GST_SECOND);
  f.eos();
  SCOPED_TRACE("at EOS");
  Summary sum = take_summary(f);
  EXPECT_EQ(sum.duration, 8 * GST_SECOND) << "the audio at the new rate only";
  EXPECT_NEAR(sum.bpm, 120.0, 1.0);
  std::vector<GstClockTime> expected;
  for (GstClockTime t : more.clicks)
    expected.push_back(t + 10 * GST_SECOND);
  expect_on_clicks(sum.beats, expected);
  std::vector<GstStructure *> beat = f.take("montage-beat");
  free_all(beat);
}

TEST(MontageBeat, FlushResets)
{
  const guint rate = 44100;
  Fixture f(rate, 1, true);
  Clicks ck = make_clicks(rate, 120, 0.5, 10.0);
  f.push(ck.mono, 0, ck.mono.size(), 0);
  std::vector<GstStructure *> before = f.take("montage-beat");
  EXPECT_FALSE(before.empty());
  free_all(before);

  ASSERT_TRUE(gst_harness_push_event(f.h, gst_event_new_flush_start()));
  ASSERT_TRUE(gst_harness_push_event(f.h, gst_event_new_flush_stop(TRUE)));
  f.flushed();
  GstSegment seg;
  gst_segment_init(&seg, GST_FORMAT_TIME);
  ASSERT_TRUE(gst_harness_push_event(f.h, gst_event_new_segment(&seg)));
  std::vector<float> silence(5 * rate, 0.f);
  f.push(silence, 0, silence.size(), 0);
  f.eos();
  std::vector<GstStructure *> after = f.take("montage-beat");
  EXPECT_TRUE(after.empty());
  free_all(after);
  std::vector<GstStructure *> summary = f.take("montage-beats");
  ASSERT_EQ(summary.size(), 1u);
  double bpm = -1;
  guint64 duration = 0;
  EXPECT_TRUE(summary_beats(summary[0], &bpm, &duration, nullptr).empty());
  EXPECT_EQ(bpm, 0.0);
  EXPECT_EQ(duration, 5 * GST_SECOND);
  free_all(summary);
}

TEST(MontageBeat, SilenceGivesNoBeats)
{
  const guint rate = 48000;
  Fixture f(rate, 2, true);
  std::vector<float> silence(15 * rate, 0.f);
  f.push(silence, 0, silence.size(), 0);
  f.eos();
  std::vector<GstStructure *> beats = f.take("montage-beat");
  EXPECT_TRUE(beats.empty());
  free_all(beats);
  std::vector<GstStructure *> summary = f.take("montage-beats");
  ASSERT_EQ(summary.size(), 1u);
  double bpm = -1;
  guint64 duration = 0;
  EXPECT_TRUE(summary_beats(summary[0], &bpm, &duration, nullptr).empty());
  EXPECT_EQ(duration, 15 * GST_SECOND);
  free_all(summary);
}

TEST(MontageBeat, EnergyMessagesEveryInterval)
{
  const guint rate = 48000;
  Fixture f(rate, 1, false);
  /* 2 s of silence, then 3 s of a -20 dBFS (RMS) sine. */
  std::vector<float> mono(5 * rate, 0.f);
  const double amp = 0.1 * std::sqrt(2.0);
  for (std::size_t i = 2 * rate; i < mono.size(); i++)
    mono[i] = (float)(amp * std::sin(2 * M_PI * 440.0 * (double)i / rate));
  f.push(mono, 0, mono.size(), GST_SECOND);
  f.eos();
  std::vector<GstStructure *> energy = f.take("montage-energy");
  ASSERT_EQ(energy.size(), 50u) << "one message per 100 ms";
  for (std::size_t k = 0; k < energy.size(); k++) {
    const GstStructure *s = energy[k];
    guint64 ts = 0, st = 0, rt = 0, dur = 0;
    double rms = 0, e = -1;
    ASSERT_TRUE(gst_structure_get_uint64(s, "timestamp", &ts));
    ASSERT_TRUE(gst_structure_get_uint64(s, "stream-time", &st));
    ASSERT_TRUE(gst_structure_get_uint64(s, "running-time", &rt));
    ASSERT_TRUE(gst_structure_get_uint64(s, "duration", &dur));
    ASSERT_TRUE(gst_structure_get_double(s, "rms", &rms));
    ASSERT_TRUE(gst_structure_get_double(s, "energy", &e));
    EXPECT_EQ(ts, GST_SECOND + k * 100 * GST_MSECOND) << "interval " << k;
    EXPECT_EQ(st, ts);
    EXPECT_EQ(rt, ts);
    EXPECT_EQ(dur, 100 * GST_MSECOND);
    if (k < 20) {
      EXPECT_LT(rms, -100.0) << "silence at interval " << k;
      EXPECT_EQ(e, 0.0);
    } else {
      EXPECT_NEAR(rms, -20.0, 0.1) << "sine at interval " << k;
      EXPECT_NEAR(e, montage::energy_from_db(-20.0, -60.0), 0.01);
    }
  }
  free_all(energy);
}

/* `interval` applies at once, as `level`'s does: the interval in progress
 * ends once it has the new length (at the next buffer where it already
 * has), the next ones have it; the energy curve in montage-beats keeps the
 * spacing of the last reset (the flags: PropertyFlagsSayWhenAChangeApplies).
 * Before, every change waited for the next reset. */
TEST(MontageBeat, IntervalAppliesAtOnce)
{
  const guint rate = 48000;
  Fixture f(rate, 1, false);
  std::vector<float> mono(5 * rate);
  for (std::size_t i = 0; i < mono.size(); i++)
    mono[i] = (float)(0.1 * std::sin(2 * M_PI * 440.0 * (double)i / rate));
  f.push(mono, 0, 2 * rate, 0);
  g_object_set(f.h->element, "interval", (guint64)(250 * GST_MSECOND), NULL);
  f.push(mono, 2 * rate, 4 * rate + 4800, 2 * GST_SECOND);
  /* At 4.1 s the interval in progress (from 4.0 s) is already 100 ms long:
   * it ends there, at the next buffer. */
  g_object_set(f.h->element, "interval", (guint64)(50 * GST_MSECOND), NULL);
  f.push(mono, 4 * rate + 4800, 5 * rate, 4 * GST_SECOND + 100 * GST_MSECOND);
  f.eos();
  std::vector<std::pair<GstClockTime, GstClockTime>> want;
  for (int k = 0; k < 20; k++)
    want.push_back({k * 100 * GST_MSECOND, 100 * GST_MSECOND});
  for (int k = 0; k < 8; k++)
    want.push_back({2 * GST_SECOND + k * 250 * GST_MSECOND, 250 * GST_MSECOND});
  want.push_back({4 * GST_SECOND, 100 * GST_MSECOND});
  for (int k = 0; k < 18; k++)
    want.push_back({4100 * GST_MSECOND + k * 50 * GST_MSECOND, 50 * GST_MSECOND});
  std::vector<GstStructure *> energy = f.take("montage-energy");
  std::vector<std::pair<GstClockTime, GstClockTime>> got;
  for (const GstStructure *s : energy) {
    guint64 ts = 0, dur = 0;
    double rms = 0;
    gst_structure_get_uint64(s, "timestamp", &ts);
    gst_structure_get_uint64(s, "duration", &dur);
    gst_structure_get_double(s, "rms", &rms);
    EXPECT_NEAR(rms, -23.0, 0.1) << "at " << ts / 1e9 << " s";
    got.push_back({ts, dur});
  }
  free_all(energy);
  EXPECT_EQ(got, want);
  Summary sum = take_summary(f);
  EXPECT_EQ(sum.curve_interval, 100 * GST_MSECOND);
  EXPECT_EQ(sum.curve.size(), 50u);
}

/* Every property may be set in any state, and its flags say so
 * (GST_PARAM_MUTABLE_PLAYING): `interval` applies at once, the analysis
 * properties from the next segment or flush, as their blurbs say. Before,
 * the analysis properties were flagged GST_PARAM_MUTABLE_READY
 * (gst-inspect-1.0: "changeable only in NULL or READY state") while their
 * blurbs said a change while playing applies from the next segment or
 * flush, which is what the element does. */
TEST(MontageBeat, PropertyFlagsSayWhenAChangeApplies)
{
  ASSERT_TRUE(GST_ELEMENT_REGISTER(montagebeat, NULL));
  GstElement *el = gst_element_factory_make("montagebeat", NULL);
  ASSERT_NE(el, nullptr);
  for (const char *name :
       {"mode", "silence-threshold", "live-delay", "min-bpm", "max-bpm", "interval"}) {
    GParamSpec *p = g_object_class_find_property(G_OBJECT_GET_CLASS(el), name);
    ASSERT_NE(p, nullptr) << name;
    EXPECT_NE(p->flags & GST_PARAM_MUTABLE_PLAYING, 0) << name;
    EXPECT_EQ(p->flags & GST_PARAM_MUTABLE_READY, 0) << name;
    const std::string blurb = g_param_spec_get_blurb(p);
    EXPECT_EQ(blurb.find("NULL or READY"), std::string::npos) << name << ": " << blurb;
    if (std::string(name) != "interval") {
      EXPECT_NE(blurb.find("applies from the next segment or flush"), std::string::npos)
          << name << ": " << blurb;
    }
  }
  gst_object_unref(el);
}

/* Offline mode groups messages that come faster than one per 50 ms (the
 * element's "Messages" section): without EOS they still all arrive, in
 * order; live mode posts each one at once. */
TEST(MontageBeat, MessagesGroupedOfflineAndAtOnceLive)
{
  const guint rate = 44100;
  Clicks ck = make_clicks(rate, 120, 0.5, 10.0);
  for (const char *mode : {"offline", "live"}) {
    Fixture f(rate, 1, false);
    gst_util_set_object_arg(G_OBJECT(f.h->element), "mode", mode);
    GstSegment seg; /* the mode applies from the next segment */
    gst_segment_init(&seg, GST_FORMAT_TIME);
    ASSERT_TRUE(gst_harness_push_event(f.h, gst_event_new_segment(&seg)));
    f.push(ck.mono, 0, ck.mono.size(), 0);
    const bool live = std::string(mode) == "live";
    std::vector<GstStructure *> energy;
    /* Takes one element message off the bus, waiting up to `timeout`,
     * keeping it if it is montage-energy; false when none came. */
    auto pop_energy = [&](GstClockTime timeout) {
      GstMessage *m = gst_bus_timed_pop_filtered(f.bus, timeout, GST_MESSAGE_ELEMENT);
      if (!m)
        return false;
      if (gst_message_has_name(m, "montage-energy"))
        energy.push_back(gst_structure_copy(gst_message_get_structure(m)));
      gst_message_unref(m);
      return true;
    };
    if (live) {
      while (pop_energy(0)) {
      }
    } else {
      /* The last group comes from the system clock's thread, 50 ms after
       * the post before it: waited for, not timed (on a loaded machine that
       * thread can run later than a fixed settle time; the 10 s deadline
       * only ends a hang). Then nothing more may arrive: no message is
       * posted twice. */
      const gint64 deadline = g_get_monotonic_time() + 10 * G_TIME_SPAN_SECOND;
      while (energy.size() < 100u && g_get_monotonic_time() < deadline)
        pop_energy(100 * GST_MSECOND);
      while (pop_energy(100 * GST_MSECOND)) {
      }
    }
    ASSERT_EQ(energy.size(), 100u) << mode;
    for (std::size_t k = 0; k < energy.size(); k++) {
      guint64 ts = 0;
      ASSERT_TRUE(gst_structure_get_uint64(energy[k], "timestamp", &ts));
      EXPECT_EQ(ts, k * 100 * GST_MSECOND) << mode << ", interval " << k;
    }
    free_all(energy);
  }
}

TEST(MontageBeat, BeatMetaAndBpmTag)
{
  const guint rate = 44100;
  Fixture f(rate, 1, false);
  Clicks ck = make_clicks(rate, 120, 0.5, 15.0);
  f.push(ck.mono, 0, ck.mono.size(), 0);
  std::vector<GstStructure *> beats = f.take("montage-beat");
  ASSERT_GT(beats.size(), 8u);
  std::vector<GstClockTime> posted = beat_times(beats);
  free_all(beats);

  /* Every posted beat travels in-band once, in order, on the buffer that
   * contains it. The first beat comes out when the tempo is first known
   * (~2 s), later than live-delay after it: its buffer has already gone
   * downstream, so its meta rides on the next buffer out, before whose PTS
   * it lies. Beats whose buffers are still held at the end have none yet. */
  std::vector<GstClockTime> in_band;
  std::size_t late = 0;
  for (GstBuffer *b : f.with_meta) {
    MontageBeatInfo info[4];
    guint n = montage_buffer_get_beats(b, info, 4);
    for (guint i = 0; i < std::min(n, 4u); i++) {
      if (info[i].time < GST_BUFFER_PTS(b))
        late++;
      EXPECT_LT(info[i].time, GST_BUFFER_PTS(b) + GST_BUFFER_DURATION(b));
      EXPECT_GT(info[i].strength, 0.0);
      in_band.push_back(info[i].time);
    }
  }
  ASSERT_FALSE(in_band.empty());
  EXPECT_EQ(in_band.front(), posted.front()) << "the warm-up beat lacks the meta";
  EXPECT_GE(late, 1u) << "the warm-up beat was known in time for its own buffer: this test no longer covers late beats";
  EXPECT_LE(late, 2u);
  EXPECT_EQ(in_band, std::vector<GstClockTime>(posted.begin(), posted.begin() + (long)std::min(in_band.size(), posted.size())));
  EXPECT_GE(in_band.size() + 1, posted.size()) << "only the last beat's buffer may still be held";

  /* The BPM tag went downstream once the tempo was known, near 120. */
  double tag_bpm = 0;
  GstEvent *ev;
  while ((ev = gst_harness_try_pull_event(f.h))) {
    if (GST_EVENT_TYPE(ev) == GST_EVENT_TAG) {
      GstTagList *tags = nullptr;
      gst_event_parse_tag(ev, &tags);
      gst_tag_list_get_double(tags, GST_TAG_BEATS_PER_MINUTE, &tag_bpm);
    }
    gst_event_unref(ev);
  }
  EXPECT_NEAR(tag_bpm, 120.0, 1.2);
}

TEST(MontageBeat, LatencyQueryAddsLiveDelay)
{
  Fixture f(44100, 1, false);
  gst_util_set_object_arg(G_OBJECT(f.h->element), "mode", "live");
  g_object_set(f.h->element, "live-delay", (guint64)(500 * GST_MSECOND), NULL);
  GstSegment seg; /* live-delay takes effect at the next segment */
  gst_segment_init(&seg, GST_FORMAT_TIME);
  ASSERT_TRUE(gst_harness_push_event(f.h, gst_event_new_segment(&seg)));
  gst_harness_set_upstream_latency(f.h, 10 * GST_MSECOND);
  gboolean live = FALSE;
  const GstClockTime min = montage_test::query_min_latency(f.h->sinkpad, &live);
  EXPECT_TRUE(live);
  /* upstream + live-delay + two analysis hops (23 ms) */
  EXPECT_EQ(min, 10 * GST_MSECOND + 500 * GST_MSECOND + 23 * GST_MSECOND);
}

TEST(MontageBeat, CapsAndProperties)
{
  ASSERT_TRUE(GST_ELEMENT_REGISTER(montagebeat, NULL));
  GstElement *el = gst_element_factory_make("montagebeat", NULL);
  ASSERT_NE(el, nullptr);
  GEnumClass *klass = G_ENUM_CLASS(g_type_class_ref(GST_TYPE_MONTAGE_BEAT_MODE));
  gint m = -1;
  g_object_get(el, "mode", &m, NULL);
  EXPECT_STREQ(g_enum_get_value(klass, m)->value_nick, "auto");
  gst_util_set_object_arg(G_OBJECT(el), "mode", "live");
  g_object_get(el, "mode", &m, NULL);
  EXPECT_STREQ(g_enum_get_value(klass, m)->value_nick, "live");
  guint64 interval = 0;
  g_object_get(el, "interval", &interval, NULL);
  EXPECT_EQ(interval, 100 * GST_MSECOND);
  g_type_class_unref(klass);
  gdouble silence = 0;
  g_object_get(el, "silence-threshold", &silence, NULL);
  EXPECT_EQ(silence, -60.0);

  GstPad *sink = gst_element_get_static_pad(el, "sink");
  GstCaps *s32 = gst_caps_from_string("audio/x-raw, format=S32LE, rate=44100, channels=1, layout=interleaved");
  GstCaps *f32 = gst_caps_from_string("audio/x-raw, format=F32LE, rate=44100, channels=6, layout=interleaved");
  GstCaps *fast = gst_caps_from_string("audio/x-raw, format=F32LE, rate=384000, channels=1, layout=interleaved");
  EXPECT_TRUE(gst_pad_query_accept_caps(sink, s32));
  EXPECT_TRUE(gst_pad_query_accept_caps(sink, f32));
  EXPECT_FALSE(gst_pad_query_accept_caps(sink, fast));
  gst_caps_unref(s32);
  gst_caps_unref(f32);
  gst_caps_unref(fast);
  gst_object_unref(sink);

  GstElementFactory *factory = gst_element_get_factory(el);
  EXPECT_STREQ(gst_element_factory_get_metadata(factory, GST_ELEMENT_METADATA_KLASS),
               "Filter/Analyzer/Audio");
  gst_object_unref(el);
}

/* Audio that montagebeat cannot take (here S24LE, F32BE, planar) is refused
 * at negotiation, with a sentence that names the formats it takes and
 * audioconvert, once per start. A refused CAPS event is final (upstream has
 * chosen its format and will fail with not-negotiated), so there the
 * sentence is the error itself, the first on the bus: before, it was a
 * warning just ahead of upstream's error, which gst-launch-1.0 dropped in
 * about half the runs when it flushed the bus. A caps query whose filter
 * (a capsfilter upstream) holds nothing it takes, or an ACCEPT_CAPS query
 * with no CAPS event behind it, is a probe (an element may try another
 * format next): a warning. Caps it takes and encoded audio post nothing. */
TEST(MontageBeat, RefusedFormatNamesTheFormatsAndAudioconvert)
{
  ASSERT_TRUE(GST_ELEMENT_REGISTER(montagebeat, NULL));
  /* The WARNING and ERROR messages on `bus`, in order, as "warning: TEXT"
   * or "error: TEXT" (errors checked to be CORE/NEGOTIATION). */
  auto messages = [](GstBus *bus) {
    std::vector<std::string> out;
    while (GstMessage *m = gst_bus_pop_filtered(
               bus, (GstMessageType)(GST_MESSAGE_WARNING | GST_MESSAGE_ERROR))) {
      GError *err = nullptr;
      const bool error = GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR;
      if (error)
        gst_message_parse_error(m, &err, nullptr);
      else
        gst_message_parse_warning(m, &err, nullptr);
      EXPECT_TRUE(g_error_matches(err, GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION));
      out.push_back(std::string(error ? "error: " : "warning: ") + err->message);
      g_error_free(err);
      gst_message_unref(m);
    }
    return out;
  };
  auto expect_hint = [](const std::string &text) {
    EXPECT_NE(text.find("S16LE, S32LE, F32LE or F64LE"), std::string::npos) << text;
    EXPECT_NE(text.find("put audioconvert"), std::string::npos) << text;
  };
  for (const char *refused :
       {"audio/x-raw, format=S24LE, rate=44100, channels=2, layout=interleaved",
        "audio/x-raw, format=F32BE, rate=44100, channels=1, layout=interleaved",
        "audio/x-raw, format=F32LE, rate=44100, channels=2, layout=non-interleaved"}) {
    SCOPED_TRACE(refused);
    GstHarness *h = gst_harness_new("montagebeat");
    GstBus *bus = gst_bus_new();
    gst_element_set_bus(h->element, bus);
    GstCaps *caps = gst_caps_from_string(refused);
    gst_harness_push_event(h, gst_event_new_stream_start("s"));
    /* Sticky: stored on the harness's pad even though montagebeat refuses it. */
    gst_harness_push_event(h, gst_event_new_caps(caps));
    GstCaps *current = gst_pad_get_current_caps(GST_BASE_TRANSFORM_SINK_PAD(h->element));
    EXPECT_EQ(current, nullptr) << "refused caps were taken";
    if (current)
      gst_caps_unref(current);
    /* Upstream goes on (the sticky caps go first, refused again): no
     * second message. */
    GstSegment segment;
    gst_segment_init(&segment, GST_FORMAT_TIME);
    gst_harness_push_event(h, gst_event_new_segment(&segment));
    EXPECT_EQ(gst_harness_push(h, gst_buffer_new_allocate(NULL, 64, NULL)),
              GST_FLOW_NOT_NEGOTIATED);
    /* Then as a caps query's filter and an ACCEPT_CAPS query: nothing more
     * once the error is out. */
    GstCaps *got = gst_pad_peer_query_caps(h->srcpad, caps);
    EXPECT_TRUE(gst_caps_is_empty(got));
    gst_caps_unref(got);
    EXPECT_FALSE(gst_pad_peer_query_accept_caps(h->srcpad, caps));
    gst_caps_unref(caps);
    const std::vector<std::string> got_messages = messages(bus);
    ASSERT_EQ(got_messages.size(), 1u) << "one message per start";
    EXPECT_EQ(got_messages[0].rfind("error: ", 0), 0u) << got_messages[0];
    expect_hint(got_messages[0]);
    gst_element_set_bus(h->element, NULL);
    gst_object_unref(bus);
    gst_harness_teardown(h);
  }

  /* A capsfilter that gives S24LE only: the caps query's filter, a warning. */
  GstHarness *h = gst_harness_new("montagebeat");
  GstBus *bus = gst_bus_new();
  gst_element_set_bus(h->element, bus);
  GstCaps *s24 =
      gst_caps_from_string("audio/x-raw, format=S24LE, rate=[1, MAX], channels=[1, MAX]");
  GstCaps *got = gst_pad_peer_query_caps(h->srcpad, s24);
  EXPECT_TRUE(gst_caps_is_empty(got));
  gst_caps_unref(got);
  gst_caps_unref(s24);
  std::vector<std::string> got_messages = messages(bus);
  ASSERT_EQ(got_messages.size(), 1u);
  EXPECT_EQ(got_messages[0].rfind("warning: ", 0), 0u) << got_messages[0];
  EXPECT_NE(got_messages[0].find("format S24LE"), std::string::npos) << got_messages[0];
  expect_hint(got_messages[0]);

  /* An ACCEPT_CAPS query alone (an element trying a format before it
   * chooses): a warning, not an error. */
  gst_element_set_state(h->element, GST_STATE_NULL);
  gst_element_set_state(h->element, GST_STATE_PLAYING);
  GstCaps *f32be =
      gst_caps_from_string("audio/x-raw, format=F32BE, rate=44100, channels=1, layout=interleaved");
  EXPECT_FALSE(gst_pad_peer_query_accept_caps(h->srcpad, f32be));
  gst_caps_unref(f32be);
  got_messages = messages(bus);
  ASSERT_EQ(got_messages.size(), 1u);
  EXPECT_EQ(got_messages[0].rfind("warning: ", 0), 0u) << got_messages[0];
  expect_hint(got_messages[0]);

  /* Caps it takes, and encoded audio, post nothing. */
  gst_element_set_state(h->element, GST_STATE_NULL);
  gst_element_set_state(h->element, GST_STATE_PLAYING);
  GstCaps *mp3 = gst_caps_from_string("audio/mpeg, mpegversion=1, layer=3");
  got = gst_pad_peer_query_caps(h->srcpad, mp3);
  EXPECT_TRUE(gst_caps_is_empty(got));
  gst_caps_unref(got);
  gst_caps_unref(mp3);
  GstCaps *f32 =
      gst_caps_from_string("audio/x-raw, format=F32LE, rate=44100, channels=1, layout=interleaved");
  gst_harness_push_event(h, gst_event_new_stream_start("s"));
  EXPECT_TRUE(gst_harness_push_event(h, gst_event_new_caps(f32)));
  gst_caps_unref(f32);
  EXPECT_TRUE(messages(bus).empty());
  gst_element_set_bus(h->element, NULL);
  gst_object_unref(bus);
  gst_harness_teardown(h);
}

/* A CAPS event refused where it first meets a ghost pad (montagebeat after
 * decodebin, whose decoder's pad links before its caps are fixed: a 24-bit
 * FLAC gives S24_32LE): the core checks it at the bin's internal pad, which
 * asks montagebeat's sink pad, and the event never reaches that pad. The
 * hint is still the first error of the pipeline (it was a warning ahead of
 * upstream's not-negotiated error). appsrc in a bin stands for decodebin:
 * its pad takes any caps when it is linked, and its caps come later. */
TEST(MontageBeat, RefusedCapsBehindAGhostPadAreTheFirstError)
{
  ASSERT_TRUE(GST_ELEMENT_REGISTER(montagebeat, NULL));
  GError *err = nullptr;
  GstElement *pipe = gst_parse_launch(
      "bin. ( appsrc name=src format=time ) ! montagebeat name=beat ! fakesink", &err);
  ASSERT_NE(pipe, nullptr) << (err ? err->message : "");
  GstElement *src = gst_bin_get_by_name(GST_BIN(pipe), "src");
  GstElement *beat = gst_bin_get_by_name(GST_BIN(pipe), "beat");
  ASSERT_NE(src, nullptr);
  GstCaps *caps = gst_caps_from_string(
      "audio/x-raw, format=S24_32LE, rate=44100, channels=2, layout=interleaved");
  g_object_set(src, "caps", caps, NULL);
  gst_caps_unref(caps);
  gst_element_set_state(pipe, GST_STATE_PLAYING);
  GstFlowReturn flow;
  /* The push-buffer action signal takes no ownership of the buffer. */
  GstBuffer *buf = gst_buffer_new_allocate(NULL, 4096, NULL);
  g_signal_emit_by_name(src, "push-buffer", buf, &flow);
  gst_buffer_unref(buf);
  g_signal_emit_by_name(src, "end-of-stream", &flow);
  GstBus *bus = gst_element_get_bus(pipe);
  GstMessage *msg = gst_bus_timed_pop_filtered(
      bus, 10 * GST_SECOND, (GstMessageType)(GST_MESSAGE_ERROR | GST_MESSAGE_EOS));
  ASSERT_NE(msg, nullptr) << "no error in 10 s";
  ASSERT_EQ(GST_MESSAGE_TYPE(msg), GST_MESSAGE_ERROR);
  EXPECT_EQ(GST_MESSAGE_SRC(msg), GST_OBJECT(beat)) << GST_MESSAGE_SRC_NAME(msg);
  gst_message_parse_error(msg, &err, nullptr);
  EXPECT_TRUE(g_error_matches(err, GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION));
  const std::string text = err->message;
  EXPECT_NE(text.find("format S24_32LE"), std::string::npos) << text;
  EXPECT_NE(text.find("put audioconvert"), std::string::npos) << text;
  g_clear_error(&err);
  gst_message_unref(msg);
  gst_element_set_state(pipe, GST_STATE_NULL);
  gst_object_unref(bus);
  gst_object_unref(beat);
  gst_object_unref(src);
  gst_object_unref(pipe);
}

/* Clicks at 180 BPM, every other one at 0.4 of the level: a beat at 90 or
 * at 180. min-bpm and max-bpm (applied at the next segment) decide which. */
TEST(MontageBeat, TempoRangeProperties)
{
  const guint rate = 44100;
  Clicks c = make_clicks(rate, 180, 0.5, 30.0);
  for (std::size_t k = 1; k < c.clicks.size(); k += 2) {
    const std::size_t start = (std::size_t)gst_util_uint64_scale(c.clicks[k], rate, GST_SECOND);
    for (std::size_t i = start; i < std::min(c.mono.size(), start + rate / 20); i++)
      c.mono[i] *= 0.4f;
  }
  for (double target : {90.0, 180.0}) {
    Fixture f(rate, 1, false);
    g_object_set(f.h->element, "min-bpm", target == 90.0 ? 60.0 : 130.0, "max-bpm",
                 target == 90.0 ? 120.0 : 240.0, NULL);
    GstSegment segment;
    gst_segment_init(&segment, GST_FORMAT_TIME);
    ASSERT_TRUE(gst_harness_push_event(f.h, gst_event_new_segment(&segment)));
    f.push(c.mono, 0, c.mono.size(), 0);
    f.eos();
    std::vector<GstStructure *> summary = f.take("montage-beats");
    ASSERT_EQ(summary.size(), 1u);
    double bpm = 0;
    guint64 duration = 0;
    std::vector<GstClockTime> beats = summary_beats(summary[0], &bpm, &duration, nullptr);
    EXPECT_NEAR(bpm, target, target * 0.02);
    EXPECT_GT(beats.size(), (std::size_t)(target / 60.0 * 20)) << "range around " << target;
    free_all(summary);
  }
}

/* An empty tempo range set while playing (min-bpm raised above max-bpm, the
 * application to move max-bpm next) does not stop the stream at the next
 * segment or flush: the tracking goes on with the last range that was not
 * empty, and a warning names the properties and that range. The same 180
 * BPM clicks as above, tracked at 130-240 BPM; then min-bpm 150 and max-bpm
 * 100 and a new segment: still 180 BPM. Before, the segment posted an error
 * and the next buffer returned GST_FLOW_ERROR. (An empty range at start is
 * an error: EmptyTempoRangeFailsTheStart.) */
TEST(MontageBeat, EmptyTempoRangeWhilePlayingKeepsTheLastRange)
{
  const guint rate = 44100;
  Clicks c = make_clicks(rate, 180, 0.5, 30.0);
  for (std::size_t k = 1; k < c.clicks.size(); k += 2) {
    const std::size_t start = (std::size_t)gst_util_uint64_scale(c.clicks[k], rate, GST_SECOND);
    for (std::size_t i = start; i < std::min(c.mono.size(), start + rate / 20); i++)
      c.mono[i] *= 0.4f;
  }
  Fixture f(rate, 1, false);
  g_object_set(f.h->element, "min-bpm", 130.0, "max-bpm", 240.0, NULL);
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  ASSERT_TRUE(gst_harness_push_event(f.h, gst_event_new_segment(&segment)));
  f.push(c.mono, 0, 2 * rate, 0);
  g_object_set(f.h->element, "min-bpm", 150.0, "max-bpm", 100.0, NULL);
  ASSERT_TRUE(gst_harness_push_event(f.h, gst_event_new_segment(&segment)));
  /* (the summary of the first 2 s, posted at the segment, is dropped here) */
  GstMessage *m =
      gst_bus_pop_filtered(f.bus, (GstMessageType)(GST_MESSAGE_ERROR | GST_MESSAGE_WARNING));
  ASSERT_NE(m, nullptr) << "no warning for an empty tempo range";
  ASSERT_EQ(GST_MESSAGE_TYPE(m), GST_MESSAGE_WARNING) << "the stream stopped";
  GError *err = nullptr;
  gst_message_parse_warning(m, &err, nullptr);
  EXPECT_NE(std::string(err->message).find("min-bpm 150, max-bpm 100"), std::string::npos)
      << err->message;
  EXPECT_NE(std::string(err->message).find("130-240 BPM"), std::string::npos) << err->message;
  g_error_free(err);
  gst_message_unref(m);
  f.push(c.mono, 0, c.mono.size(), 0);
  f.eos();
  std::vector<GstStructure *> summary = f.take("montage-beats");
  ASSERT_EQ(summary.size(), 1u);
  double bpm = 0;
  guint64 duration = 0;
  summary_beats(summary[0], &bpm, &duration, nullptr);
  EXPECT_NEAR(bpm, 180.0, 180.0 * 0.02) << "not the last range (130-240 BPM)";
  free_all(summary);
}

/* min-bpm and max-bpm bound the song's tempo in stream time, as `bpm` is:
 * after an element that sped the audio up twice (applied_rate 2, as
 * scaletempo gives), clicks at 180 BPM in the buffers, every other one
 * weaker, are a song at 90, or at 45 read by the slower level. A range of
 * 60-120 gives 90 and 40-60 gives 45 (the tracker searches 120-240 and
 * 80-120 in buffer time). Before, the range bounded the buffers' tempo:
 * 60-120 gave the buffers' 90, a song at 45 outside the range set. A range
 * the tracker cannot reach at that rate (100-240 at applied_rate 4: 400-960
 * in the buffers) posts a warning and the whole range is searched. */
TEST(MontageBeat, TempoRangeIsInStreamTime)
{
  const guint rate = 44100;
  Clicks c = make_clicks(rate, 180, 0.5, 30.0);
  for (std::size_t k = 1; k < c.clicks.size(); k += 2) {
    const std::size_t start = (std::size_t)gst_util_uint64_scale(c.clicks[k], rate, GST_SECOND);
    for (std::size_t i = start; i < std::min(c.mono.size(), start + rate / 20); i++)
      c.mono[i] *= 0.4f;
  }
  struct RangeCase {
    double min_bpm, max_bpm, song_bpm, buffer_bpm;
  };
  for (const RangeCase &rc :
       {RangeCase{60.0, 120.0, 90.0, 180.0}, RangeCase{40.0, 60.0, 45.0, 90.0}}) {
    SCOPED_TRACE(rc.min_bpm);
    Fixture f(rate, 1, false);
    g_object_set(f.h->element, "min-bpm", rc.min_bpm, "max-bpm", rc.max_bpm, NULL);
    GstSegment segment;
    gst_segment_init(&segment, GST_FORMAT_TIME);
    segment.applied_rate = 2.0;
    ASSERT_TRUE(gst_harness_push_event(f.h, gst_event_new_segment(&segment)));
    f.push(c.mono, 0, c.mono.size(), 0);
    f.eos();
    std::vector<GstStructure *> beat = f.take("montage-beat");
    ASSERT_FALSE(beat.empty());
    double live_bpm = 0;
    EXPECT_TRUE(gst_structure_get_double(beat.back(), "bpm", &live_bpm));
    EXPECT_NEAR(live_bpm, rc.song_bpm, rc.song_bpm * 0.03) << "the live tempo";
    free_all(beat);
    Summary sum = take_summary(f);
    EXPECT_NEAR(sum.bpm, rc.song_bpm, rc.song_bpm * 0.02);
    EXPECT_GT(sum.beats.size(), (std::size_t)(rc.buffer_bpm / 60.0 * 25));
    EXPECT_TRUE(gst_bus_pop_filtered(f.bus, GST_MESSAGE_WARNING) == nullptr);
  }

  Fixture f(rate, 1, false);
  g_object_set(f.h->element, "min-bpm", 100.0, NULL);
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  segment.applied_rate = 4.0;
  ASSERT_TRUE(gst_harness_push_event(f.h, gst_event_new_segment(&segment)));
  GstMessage *m = gst_bus_pop_filtered(f.bus, GST_MESSAGE_WARNING);
  ASSERT_NE(m, nullptr) << "no warning for a range out of reach at applied rate 4";
  GError *err = nullptr;
  gst_message_parse_warning(m, &err, nullptr);
  EXPECT_NE(std::string(err->message).find("100-240 BPM at applied rate 4.00"), std::string::npos)
      << err->message;
  g_error_free(err);
  gst_message_unref(m);
  f.push(c.mono, 0, 10 * rate, 0);
  f.eos();
  Summary sum = take_summary(f);
  EXPECT_GT(sum.beats.size(), 0u) << "tracked with the whole range";

  /* Stopped and started again: the last run's applied rate, still in the
   * base class's segment when start() runs, is no reason to warn. */
  while (GstMessage *old = gst_bus_pop(f.bus))
    gst_message_unref(old);
  ASSERT_EQ(gst_element_set_state(f.h->element, GST_STATE_READY), GST_STATE_CHANGE_SUCCESS);
  ASSERT_NE(gst_element_set_state(f.h->element, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  GstMessage *stale = gst_bus_pop_filtered(f.bus, GST_MESSAGE_WARNING);
  EXPECT_EQ(stale, nullptr) << "a warning at the start for the last run's applied rate";
  if (stale)
    gst_message_unref(stale);
}

/* ---- results must not depend on buffer sizes or on a flush ---- */

/* Everything a run produced after the last forget(): messages, metas and
 * BPM tags, each in order. */
struct Outcome {
  std::vector<std::string> beats;  /* montage-beat messages, serialised */
  std::vector<GstStructure *> energy;
  std::string summary;             /* montage-beats */
  std::vector<std::string> metas;  /* every MontageBeatMeta on the buffers that came out */
  std::vector<double> tags;        /* GST_TAG_BEATS_PER_MINUTE of each tag event */
  Outcome() = default;
  Outcome(const Outcome &) = delete;
  Outcome &operator=(const Outcome &) = delete;
  ~Outcome() { free_all(energy); }
};

/* Drops what `f` has produced so far. */
void forget(Fixture &f)
{
  for (const char *name : {"montage-beat", "montage-energy", "montage-beats"}) {
    std::vector<GstStructure *> v = f.take(name);
    free_all(v);
  }
  for (GstBuffer *b : f.with_meta)
    gst_buffer_unref(b);
  f.with_meta.clear();
  GstEvent *ev;
  while ((ev = gst_harness_try_pull_event(f.h)))
    gst_event_unref(ev);
  f.tag_bpms.clear();
}

void collect_outcome(Fixture &f, Outcome &o)
{
  for (GstStructure *s : f.take("montage-beat")) {
    gchar *str = gst_structure_to_string(s);
    o.beats.push_back(str);
    g_free(str);
    gst_structure_free(s);
  }
  o.energy = f.take("montage-energy");
  std::vector<GstStructure *> summary = f.take("montage-beats");
  EXPECT_EQ(summary.size(), 1u);
  if (!summary.empty()) {
    gchar *str = gst_structure_to_string(summary[0]);
    o.summary = str;
    g_free(str);
  }
  free_all(summary);
  for (GstBuffer *b : f.with_meta) {
    MontageBeatInfo info[8];
    guint n = std::min(montage_buffer_get_beats(b, info, 8), 8u);
    for (guint i = 0; i < n; i++)
      o.metas.push_back(std::to_string(info[i].time) + " " + std::to_string(info[i].strength) + " " +
                        std::to_string(info[i].downbeat) + " " + std::to_string(info[i].bar_position) + " " +
                        std::to_string(info[i].bpm));
  }
  GstEvent *ev;
  while ((ev = gst_harness_try_pull_event(f.h))) {
    f.take_tag(ev);
    gst_event_unref(ev);
  }
  o.tags = f.tag_bpms;
}

/* Same messages, metas and tags. Energy levels are sums of squares taken
 * in buffer-sized runs: equal to float rounding. */
void expect_same(const Outcome &a, const Outcome &b)
{
  EXPECT_EQ(a.beats, b.beats);
  EXPECT_EQ(a.summary, b.summary);
  EXPECT_EQ(a.metas, b.metas);
  EXPECT_EQ(a.tags, b.tags);
  ASSERT_EQ(a.energy.size(), b.energy.size());
  for (std::size_t i = 0; i < a.energy.size(); i++) {
    guint64 ta = 0, tb = 0;
    double ra = 0, rb = 0;
    gst_structure_get_uint64(a.energy[i], "timestamp", &ta);
    gst_structure_get_uint64(b.energy[i], "timestamp", &tb);
    gst_structure_get_double(a.energy[i], "rms", &ra);
    gst_structure_get_double(b.energy[i], "rms", &rb);
    EXPECT_EQ(ta, tb) << "energy interval " << i;
    EXPECT_NEAR(ra, rb, 1e-3) << "energy interval " << i;
  }
}

TEST(MontageBeat, FlushMidStreamMatchesAFreshRun)
{
  const guint rate = 44100;
  Clicks before = make_clicks(rate, 97, 0.3, 6.0);
  Clicks after = make_clicks(rate, 120, 0.5, 12.0);
  GstSegment seg;
  gst_segment_init(&seg, GST_FORMAT_TIME);

  Outcome flushed;
  {
    Fixture f(rate, 2, false);
    f.blocks = {256, 384, 512};
    f.push(before.mono, 0, 5 * rate, 0);
    /* The last second in one buffer, whose beats (at 97 BPM, one or two)
     * are not yet posted when the flush comes (held for live-delay): they
     * must not be posted after it. */
    f.blocks = {rate};
    f.push(before.mono, 5 * rate, before.mono.size(), 5 * GST_SECOND);
    ASSERT_TRUE(gst_harness_push_event(f.h, gst_event_new_flush_start()));
    ASSERT_TRUE(gst_harness_push_event(f.h, gst_event_new_flush_stop(TRUE)));
    f.flushed();
    forget(f);
    ASSERT_TRUE(gst_harness_push_event(f.h, gst_event_new_segment(&seg)));
    f.blocks = {256, 384, 512};
    f.push(after.mono, 0, after.mono.size(), 0);
    f.eos();
    collect_outcome(f, flushed);
  }
  Outcome fresh;
  {
    Fixture f(rate, 2, false);
    f.blocks = {256, 384, 512};
    ASSERT_TRUE(gst_harness_push_event(f.h, gst_event_new_segment(&seg)));
    f.push(after.mono, 0, after.mono.size(), 0);
    f.eos();
    collect_outcome(f, fresh);
  }
  ASSERT_GT(fresh.beats.size(), 15u);
  ASSERT_GT(fresh.metas.size(), 15u);
  ASSERT_FALSE(fresh.tags.empty());
  EXPECT_EQ(fresh.energy.size(), 120u);
  expect_same(flushed, fresh);
}

TEST(MontageBeat, BufferSizesDoNotChangeTheResults)
{
  const guint rate = 48000;
  Clicks ck = make_clicks(rate, 133, 0.4, 14.0);
  const std::vector<std::vector<std::size_t>> sizes = {{1024}, {37, 20000, 480, 1, 9001, 4096}, {48000}};
  std::vector<std::unique_ptr<Outcome>> runs;
  for (const std::vector<std::size_t> &blocks : sizes) {
    Fixture f(rate, 1, true);
    f.blocks = blocks;
    f.push(ck.mono, 0, ck.mono.size(), 2 * GST_SECOND);
    f.eos();
    runs.push_back(std::make_unique<Outcome>());
    collect_outcome(f, *runs.back());
  }
  ASSERT_GT(runs[0]->beats.size(), 20u);
  ASSERT_EQ(runs[0]->metas.size(), runs[0]->beats.size()) << "every beat has its meta";
  for (std::size_t i = 1; i < runs.size(); i++) {
    SCOPED_TRACE("buffer sizes #" + std::to_string(i));
    expect_same(*runs[0], *runs[i]);
  }
}

/* ---- regression on a rendered MIDI song ---- */

/* Beat times (ns) of a Standard MIDI File, one per quarter note from tick 0
 * to its last event, from its tempo map (meta event 0x51 in any track; 120
 * BPM until the first). Empty when the file cannot be read. */
std::vector<GstClockTime> midi_beats(const std::string &path)
{
  std::ifstream in(path, std::ios::binary);
  std::vector<unsigned char> d((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto be = [&](std::size_t at, int n) {
    guint32 v = 0;
    for (int i = 0; i < n; i++)
      v = (v << 8) | d[at + (std::size_t)i];
    return v;
  };
  if (d.size() < 14 || std::memcmp(d.data(), "MThd", 4) != 0)
    return {};
  const guint32 tpq = be(12, 2);
  if (tpq == 0 || (tpq & 0x8000))
    return {};
  std::map<guint64, guint32> tempo = {{0, 500000}}; /* tick -> microseconds per quarter */
  guint64 last_tick = 0;
  std::size_t pos = 8 + be(4, 4);
  while (pos + 8 <= d.size() && std::memcmp(d.data() + pos, "MTrk", 4) == 0) {
    const std::size_t end = std::min(d.size(), pos + 8 + be(pos + 4, 4));
    std::size_t i = pos + 8;
    guint64 tick = 0;
    unsigned char status = 0;
    auto varlen = [&]() {
      guint64 v = 0;
      while (i < end) {
        unsigned char c = d[i++];
        v = (v << 7) | (c & 0x7f);
        if (!(c & 0x80))
          break;
      }
      return v;
    };
    while (i < end) {
      tick += varlen();
      if (i >= end)
        break;
      if (d[i] & 0x80)
        status = d[i++];
      if (status == 0xff) {
        const unsigned char type = d[i++];
        const guint64 len = varlen();
        if (type == 0x51 && len == 3 && i + 3 <= end)
          tempo[tick] = be(i, 3);
        i += len;
      } else if (status == 0xf0 || status == 0xf7) {
        i += varlen();
      } else {
        const unsigned char kind = status & 0xf0;
        i += (kind == 0xc0 || kind == 0xd0) ? 1 : 2;
      }
      last_tick = std::max(last_tick, tick);
    }
    pos = end;
  }
  std::vector<GstClockTime> beats;
  double seconds = 0;
  for (guint64 tick = 0; tick <= last_tick; tick += tpq) {
    beats.push_back((GstClockTime)std::llround(seconds * GST_SECOND));
    /* Advance one quarter note through the tempo changes inside it. */
    guint64 t = tick;
    while (t < tick + tpq) {
      auto it = std::prev(tempo.upper_bound(t));
      auto next = std::next(it);
      const guint64 stop = next == tempo.end() ? tick + tpq : std::min<guint64>(tick + tpq, next->first);
      seconds += (double)(stop - t) * it->second / 1e6 / tpq;
      t = stop;
    }
  }
  return beats;
}

/* mir_eval-style beat F-measure: one-to-one matches within +-70 ms, beats
 * before 5 s ignored. */
double f_measure(const std::vector<GstClockTime> &ref_all, const std::vector<GstClockTime> &est_all)
{
  const GstClockTime skip = 5 * GST_SECOND, window = 70 * GST_MSECOND;
  std::vector<GstClockTime> ref, est;
  std::copy_if(ref_all.begin(), ref_all.end(), std::back_inserter(ref), [&](GstClockTime t) { return t >= skip; });
  std::copy_if(est_all.begin(), est_all.end(), std::back_inserter(est), [&](GstClockTime t) { return t >= skip; });
  if (ref.empty() || est.empty())
    return 0.0;
  std::size_t matched = 0, j = 0;
  for (GstClockTime r : ref) {
    while (j < est.size() && est[j] + window < r)
      j++;
    if (j < est.size() && (est[j] > r ? est[j] - r : r - est[j]) <= window) {
      matched++;
      j++;
    }
  }
  const double p = (double)matched / (double)est.size(), rc = (double)matched / (double)ref.size();
  return p + rc > 0 ? 2 * p * rc / (p + rc) : 0.0;
}

/* relax_song.mid (openttd-openmsx: 120 BPM, 4/4, drums) rendered by
 * scripts/fetch-media.sh with fluidsynth. Floors sit a little under what
 * bench/beat measures on it (offline F 0.98, live 0.99), so a change that
 * loses beats on real music fails here. */
TEST(MontageBeat, RenderedMidiSongKeepsItsFMeasure)
{
  const std::string dir = montage_test::media_dir();
  const std::string flac = dir + "/relax_song.flac", mid = dir + "/relax_song.mid";
  if (!g_file_test(flac.c_str(), G_FILE_TEST_IS_REGULAR) || !g_file_test(mid.c_str(), G_FILE_TEST_IS_REGULAR))
    GTEST_SKIP() << flac << " is missing: install fluidsynth and fluid-soundfont-gm (scripts/setup.sh), "
                 << "then run scripts/fetch-media.sh";
  const std::vector<GstClockTime> truth = midi_beats(mid);
  ASSERT_GT(truth.size(), 100u) << "could not read the tempo map of " << mid;

  ASSERT_TRUE(GST_ELEMENT_REGISTER(montagebeat, NULL));
  gchar *desc = g_strdup_printf("filesrc location=\"%s\" ! decodebin ! audioconvert ! montagebeat ! "
                                "fakesink sync=false",
                                flac.c_str());
  GError *err = NULL;
  GstElement *pipe = gst_parse_launch(desc, &err);
  g_free(desc);
  ASSERT_NE(pipe, nullptr) << (err ? err->message : "");
  GstBus *bus = gst_element_get_bus(pipe);
  ASSERT_NE(gst_element_set_state(pipe, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  std::vector<GstClockTime> live, offline;
  double bpm = 0;
  bool eos = false;
  while (!eos) {
    GstMessage *msg = gst_bus_timed_pop_filtered(
        bus, 60 * GST_SECOND, (GstMessageType)(GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT));
    ASSERT_NE(msg, nullptr) << "no EOS within 60 s";
    if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
      GError *e = NULL;
      gst_message_parse_error(msg, &e, NULL);
      ADD_FAILURE() << e->message;
      g_error_free(e);
      eos = true;
    } else if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS) {
      eos = true;
    } else {
      const GstStructure *st = gst_message_get_structure(msg);
      if (gst_structure_has_name(st, "montage-beat")) {
        guint64 ts = 0;
        gst_structure_get_uint64(st, "timestamp", &ts);
        live.push_back(ts);
      } else if (gst_structure_has_name(st, "montage-beats")) {
        const GValue *list = gst_structure_get_value(st, "beats");
        for (guint i = 0; i < gst_value_array_get_size(list); i++)
          offline.push_back(g_value_get_uint64(gst_value_array_get_value(list, i)));
        gst_structure_get_double(st, "bpm", &bpm);
      }
    }
    gst_message_unref(msg);
  }
  gst_element_set_state(pipe, GST_STATE_NULL);
  gst_object_unref(bus);
  gst_object_unref(pipe);

  const double midi_bpm = 60.0 * (double)(truth.size() - 1) * GST_SECOND / (double)(truth.back() - truth.front());
  EXPECT_NEAR(bpm, midi_bpm, 1.0);
  EXPECT_GE(f_measure(truth, offline), 0.95) << offline.size() << " offline beats, " << truth.size() << " true";
  EXPECT_GE(f_measure(truth, live), 0.90) << live.size() << " live beats";
}

/* The montage-beats beats (ns) of `flac` decoded and passed through
 * `filter` (a gst-launch fragment) before montagebeat mode=offline. Empty,
 * with a failure added, on an error or without EOS within 60 s. */
std::vector<GstClockTime> offline_beats_through(const std::string &flac, const char *filter)
{
  gchar *desc = g_strdup_printf("filesrc location=\"%s\" ! decodebin ! audioconvert ! %s ! "
                                "audioconvert ! montagebeat mode=offline ! fakesink sync=false",
                                flac.c_str(), filter);
  GError *err = NULL;
  GstElement *pipe = gst_parse_launch(desc, &err);
  g_free(desc);
  std::vector<GstClockTime> beats;
  if (!pipe) {
    ADD_FAILURE() << (err ? err->message : "no pipeline");
    g_clear_error(&err);
    return beats;
  }
  GstBus *bus = gst_element_get_bus(pipe);
  EXPECT_NE(gst_element_set_state(pipe, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  for (bool done = false; !done;) {
    GstMessage *msg = gst_bus_timed_pop_filtered(
        bus, 60 * GST_SECOND,
        (GstMessageType)(GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT));
    if (!msg) {
      ADD_FAILURE() << "no EOS within 60 s through " << filter;
      break;
    }
    if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
      GError *e = NULL;
      gst_message_parse_error(msg, &e, NULL);
      ADD_FAILURE() << filter << ": " << e->message;
      g_error_free(e);
      done = true;
    } else if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS) {
      done = true;
    } else if (gst_structure_has_name(gst_message_get_structure(msg), "montage-beats")) {
      const GValue *list = gst_structure_get_value(gst_message_get_structure(msg), "beats");
      for (guint i = 0; i < gst_value_array_get_size(list); i++)
        beats.push_back(g_value_get_uint64(gst_value_array_get_value(list, i)));
    }
    gst_message_unref(msg);
  }
  gst_element_set_state(pipe, GST_STATE_NULL);
  gst_object_unref(bus);
  gst_object_unref(pipe);
  return beats;
}

/* relax_song's intro (0-10 s: quiet hi-hats and a few notes, 120 BPM) has a
 * pulse, and the whole-song beats keep it from the full-band FLAC. The same
 * song resampled to 8 kHz, low-passed at 4 kHz or 20 dB quieter (as AAC
 * encodes, band-limited sources and an encoder's delay change it) lost
 * every beat before 10 s: its first 8 s tempo window sat at the clarity
 * threshold (0.52 full band, 0.49 as AAC) and the intro's weak beats went
 * with it (docs/beat-benchmark.md, "Intro beats and band-limited input").
 * Each must give the intro's beats on the true beats. */
TEST(MontageBeat, BandLimitedSongKeepsItsIntroBeats)
{
  const std::string dir = montage_test::media_dir();
  const std::string flac = dir + "/relax_song.flac", mid = dir + "/relax_song.mid";
  if (!g_file_test(flac.c_str(), G_FILE_TEST_IS_REGULAR) ||
      !g_file_test(mid.c_str(), G_FILE_TEST_IS_REGULAR))
    GTEST_SKIP() << flac
                 << " is missing: install fluidsynth and fluid-soundfont-gm (scripts/setup.sh), "
                 << "then run scripts/fetch-media.sh";
  const std::vector<GstClockTime> truth = midi_beats(mid);
  ASSERT_GT(truth.size(), 100u) << "could not read the tempo map of " << mid;
  ASSERT_TRUE(GST_ELEMENT_REGISTER(montagebeat, NULL));
  for (const char *filter :
       {"audioresample ! audio/x-raw,rate=8000,channels=1",
        "audiocheblimit mode=low-pass cutoff=4000 poles=8", "volume volume=0.1"}) {
    SCOPED_TRACE(filter);
    const std::vector<GstClockTime> beats = offline_beats_through(flac, filter);
    ASSERT_FALSE(beats.empty());
    EXPECT_LT(beats.front(), 2 * GST_SECOND)
        << "first beat at " << (double)beats.front() / GST_SECOND << " s";
    /* The true beats of 0-10 s with a beat within 70 ms. */
    std::size_t intro = 0, found = 0;
    for (GstClockTime r : truth) {
      if (r >= 10 * GST_SECOND)
        break;
      intro++;
      for (GstClockTime b : beats)
        if ((b > r ? b - r : r - b) <= 70 * GST_MSECOND) {
          found++;
          break;
        }
    }
    EXPECT_GE(found, intro - 2) << found << " of the " << intro << " true beats of 0-10 s found";
  }
}

/* ---- the issue's behaviours through the element, on generated signals ---- */

/* Sets `mode` ("live", "offline"); it applies from the next segment, which
 * this pushes (a default TIME segment). */
void set_mode(Fixture &f, const char *mode)
{
  gst_util_set_object_arg(G_OBJECT(f.h->element), "mode", mode);
  GstSegment seg;
  gst_segment_init(&seg, GST_FORMAT_TIME);
  ASSERT_TRUE(gst_harness_push_event(f.h, gst_event_new_segment(&seg)));
}

/* A montage-beat message, and how much audio had been pushed when it was on
 * the bus. */
struct LiveBeat {
  GstClockTime ts = 0, stream_time = 0, running_time = 0;
  double bpm = -1, confidence = -1;
  gboolean downbeat = FALSE;
  guint bar_position = 99;
  GstClockTime known = 0; /* buffer time of the end of the audio pushed */
};

/* Reads a montage-beat message, checking the type of every field. */
LiveBeat parse_beat(const GstStructure *s, GstClockTime known)
{
  LiveBeat b;
  b.known = known;
  EXPECT_TRUE(gst_structure_get_uint64(s, "timestamp", &b.ts));
  EXPECT_TRUE(gst_structure_get_uint64(s, "stream-time", &b.stream_time));
  EXPECT_TRUE(gst_structure_get_uint64(s, "running-time", &b.running_time));
  EXPECT_TRUE(gst_structure_get_double(s, "bpm", &b.bpm));
  EXPECT_TRUE(gst_structure_get_double(s, "confidence", &b.confidence));
  EXPECT_EQ(gst_structure_get_field_type(s, "strength"), G_TYPE_DOUBLE);
  EXPECT_TRUE(gst_structure_get_boolean(s, "downbeat", &b.downbeat));
  EXPECT_TRUE(gst_structure_get_uint(s, "bar-position", &b.bar_position));
  return b;
}

/* Pushes `mono` from `pts` and collects the montage-beat messages as they
 * are posted: in mode=live the element posts from the streaming thread, so
 * a message is on the bus when the push that made it returns (no waiting).
 * Other element messages are dropped. */
std::vector<LiveBeat> push_live(Fixture &f, const std::vector<float> &mono, GstClockTime pts)
{
  std::vector<LiveBeat> out;
  f.after_push = [&](GstClockTime end) {
    GstMessage *m;
    while ((m = gst_bus_pop_filtered(f.bus, GST_MESSAGE_ELEMENT))) {
      if (gst_message_has_name(m, "montage-beat"))
        out.push_back(parse_beat(gst_message_get_structure(m), end));
      gst_message_unref(m);
    }
  };
  f.push(mono, 0, mono.size(), pts);
  f.after_push = nullptr;
  return out;
}

/* Pushes `mono` from PTS 0, then takes the montage-beat messages (in either
 * mode; `known` is left 0). */
std::vector<LiveBeat> push_taking_beats(Fixture &f, const std::vector<float> &mono)
{
  f.push(mono, 0, mono.size(), 0);
  std::vector<GstStructure *> posted = f.take("montage-beat");
  std::vector<LiveBeat> beats;
  for (const GstStructure *s : posted)
    beats.push_back(parse_beat(s, 0));
  free_all(posted);
  return beats;
}

std::vector<GstClockTime> times_of(const std::vector<LiveBeat> &beats)
{
  std::vector<GstClockTime> t;
  for (const LiveBeat &b : beats)
    t.push_back(b.ts);
  return t;
}

/* Every beat meta on the buffers that came out, in order. */
std::vector<MontageBeatInfo> metas_of(const Fixture &f)
{
  std::vector<MontageBeatInfo> out;
  for (GstBuffer *b : f.with_meta) {
    MontageBeatInfo info[8];
    const guint n = montage_buffer_get_beats(b, info, 8);
    out.insert(out.end(), info, info + std::min(n, 8u));
  }
  return out;
}

/* mode=live posts each causal beat once live-delay of audio follows it, at
 * most two analysis hops (23 ms, what buffers are held for) later, the first
 * one within 3 s of the first click (it waits for the first tempo
 * estimate); montage-beats then lists the same beats. mode=offline posts the
 * same causal beats, and its montage-beats has the whole-song pass, which
 * also holds the warm-up's clicks. Buffers of 64 frames (1.3 ms) measure the
 * delay in stream terms: how much audio had gone in when a message was on the
 * bus. */
TEST(MontageBeat, LiveModePostsEachBeatWithinLiveDelay)
{
  const guint rate = 48000;
  const GstClockTime delay = 350 * GST_MSECOND, slack = 23 * GST_MSECOND;
  const std::size_t block = 64;
  const GstClockTime buffer = gst_util_uint64_scale_ceil(block, GST_SECOND, rate);
  Clicks ck = make_clicks(rate, 120, 0.5, 20.0);

  Fixture live(rate, 2, false);
  live.blocks = {block};
  set_mode(live, "live");
  std::vector<LiveBeat> beats = push_live(live, ck.mono, 0);
  ASSERT_GT(beats.size(), 30u);
  std::vector<std::size_t> idx;
  expect_on_clicks(times_of(beats), ck.clicks, &idx);
  EXPECT_EQ(idx.back() - idx.front() + 1, idx.size()) << "a click was missed after the warm-up";
  EXPECT_EQ(idx.back(), ck.clicks.size() - 1) << "the last click is 500 ms before the end";
  for (std::size_t i = 0; i < beats.size(); i++) {
    SCOPED_TRACE("beat " + std::to_string(i));
    const LiveBeat &b = beats[i];
    EXPECT_EQ(b.stream_time, b.ts);
    EXPECT_EQ(b.running_time, b.ts);
    EXPECT_GE(b.confidence, 0.0);
    EXPECT_LE(b.confidence, 1.0);
    if (i >= 3) /* known from the fourth beat */
      EXPECT_NEAR(b.bpm, 120.0, 1.2);
    else
      EXPECT_EQ(b.bpm, 0.0);
    if (i < 7)
      EXPECT_TRUE(!b.downbeat && b.bar_position == 0) << "the meter needs 8 beats";
    else
      EXPECT_TRUE(b.bar_position >= 1 && b.bar_position <= 4 &&
                  b.downbeat == (b.bar_position == 1));
    ASSERT_GE(b.known, b.ts);
    if (i == 0) {
      EXPECT_LE(b.known, ck.clicks.front() + 3 * GST_SECOND);
      continue;
    }
    EXPECT_GE(b.known - b.ts, delay) << "posted before live-delay of audio followed it";
    EXPECT_LE(b.known - b.ts, delay + slack + buffer) << "posted late";
  }
  live.eos();
  Summary live_summary = take_summary(live);
  EXPECT_EQ(live_summary.beats, times_of(beats)) << "live montage-beats lists the posted beats";
  EXPECT_NEAR(live_summary.bpm, 120.0, 1.2);

  Fixture offline(rate, 2, false);
  offline.push(ck.mono, 0, ck.mono.size(), 0);
  std::vector<GstStructure *> posted = offline.take("montage-beat");
  EXPECT_EQ(beat_times(posted), times_of(beats)) << "offline posts the same causal beats";
  free_all(posted);
  offline.eos();
  Summary whole = take_summary(offline);
  EXPECT_EQ(whole.beats.size(), ck.clicks.size());
  expect_on_clicks(whole.beats, ck.clicks);
  EXPECT_GT(whole.beats.size(), live_summary.beats.size());
}

/* Accented clicks at 120 BPM: the bar's first click at full level, the
 * others at 0.4 of it, in 3/4 and in 4/4. The meter and the downbeats must
 * follow the accents in montage-beats (offline: whole-song pass; live: the
 * causal beats), in the montage-beat messages and in the beat metas. The
 * messages carry no meter for the first 7 beats and may re-estimate it over
 * about the first 30 (docs/montagebeat.md); from there on every position is
 * checked (on this signal it is in fact right from the 8th beat). */
class MontageBeatMeter : public ::testing::TestWithParam<guint>
{
};

TEST_P(MontageBeatMeter, DownbeatsOnTheAccents)
{
  const guint per_bar = GetParam();
  const guint rate = 44100;
  std::vector<double> onsets = grid(120, 0.5, 40.0), gains;
  for (std::size_t k = 0; k < onsets.size(); k++)
    gains.push_back(k % per_bar == 0 ? 1.0 : 0.4);
  Clicks ck = clicks_at(rate, onsets, gains, 40.0);

  for (const char *mode : {"offline", "live"}) {
    SCOPED_TRACE(mode);
    Fixture f(rate, 1, false);
    set_mode(f, mode);
    std::vector<LiveBeat> beats = push_taking_beats(f, ck.mono);
    f.eos();

    Summary sum = take_summary(f);
    EXPECT_EQ(sum.beats_per_bar, per_bar);
    EXPECT_GE(sum.meter_confidence, 0.5) << "the accents leave no doubt";
    std::vector<std::size_t> idx;
    expect_on_clicks(sum.beats, ck.clicks, &idx);
    ASSERT_GE(idx.size(), ck.clicks.size() - 10);
    EXPECT_EQ(idx.back() - idx.front() + 1, idx.size()) << "a click was missed";
    for (std::size_t i = 0; i < idx.size() && i < sum.downbeats.size(); i++)
      EXPECT_EQ(sum.downbeats[i], idx[i] % per_bar == 0) << "montage-beats, click " << idx[i];

    ASSERT_GT(beats.size(), 40u);
    idx.clear();
    expect_on_clicks(times_of(beats), ck.clicks, &idx);
    for (std::size_t i = 0; i < beats.size(); i++) {
      const LiveBeat &b = beats[i];
      SCOPED_TRACE("montage-beat " + std::to_string(i) + ", click " + std::to_string(idx[i]));
      if (i < 7) {
        EXPECT_TRUE(!b.downbeat && b.bar_position == 0);
        continue;
      }
      ASSERT_TRUE(b.bar_position >= 1 && b.bar_position <= per_bar);
      EXPECT_EQ(b.downbeat, b.bar_position == 1);
      if (i >= 30) {
        EXPECT_EQ(b.bar_position, idx[i] % per_bar + 1);
      }
    }

    /* each posted beat's meta says the same */
    std::vector<MontageBeatInfo> metas = metas_of(f);
    ASSERT_EQ(metas.size(), beats.size());
    for (std::size_t i = 0; i < metas.size(); i++) {
      EXPECT_EQ(metas[i].time, beats[i].ts);
      EXPECT_EQ(metas[i].downbeat, beats[i].downbeat) << "meta " << i;
      EXPECT_EQ(metas[i].bar_position, beats[i].bar_position) << "meta " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Meters, MontageBeatMeter, ::testing::Values(3u, 4u),
                         [](const ::testing::TestParamInfo<guint> &info) {
                           return std::to_string(info.param) + "_per_bar";
                         });

/* Clicks all alike at 90, 100 and 120 BPM: nothing marks a bar, so
 * whatever meter montage-beats names is a guess, and meter-confidence says
 * so (under 0.25; they read 0-0.17 where accents every 3 or 4 clicks read
 * 0.64-0.86). Before, beats-per-bar 3 came with nothing to doubt it. */
TEST(MontageBeat, UnaccentedClicksHaveALowMeterConfidence)
{
  const guint rate = 44100;
  for (double bpm : {90.0, 100.0, 120.0}) {
    SCOPED_TRACE(std::to_string(bpm) + " BPM");
    Clicks ck = clicks_at(rate, grid(bpm, 0.5, 60.0), {}, 60.0);
    Fixture f(rate, 1, false);
    set_mode(f, "offline");
    push_taking_beats(f, ck.mono);
    f.eos();
    Summary sum = take_summary(f);
    EXPECT_GT(sum.beats.size(), 60u) << "the premise: the clicks are beats";
    EXPECT_LT(sum.meter_confidence, 0.25) << sum.beats_per_bar << " per bar";
  }
}

/* Number of clicks in [from, to) with one of `times` within kTolerance, of
 * those without, and of `times` in that stretch that are on no click. */
struct OnClicks {
  std::size_t hit = 0, missed = 0, off = 0;
};
OnClicks on_clicks_in(const std::vector<GstClockTime> &times,
                      const std::vector<GstClockTime> &clicks, GstClockTime from, GstClockTime to)
{
  OnClicks r;
  for (GstClockTime c : clicks) {
    if (c < from || c >= to)
      continue;
    bool found = std::any_of(times.begin(), times.end(),
                             [&](GstClockTime t) { return dist(t, c) <= kTolerance; });
    (found ? r.hit : r.missed)++;
  }
  for (GstClockTime t : times) {
    if (t + kTolerance < from || t >= to + kTolerance)
      continue;
    if (std::none_of(clicks.begin(), clicks.end(),
                     [&](GstClockTime c) { return dist(t, c) <= kTolerance; }))
      r.off++;
  }
  return r;
}

/* Clicks at 100 BPM, then at 140 BPM: a jump at 19.7 s, and a ramp over 16
 * beats from 14.9 s to 22.9 s. Offline, the whole-song pass puts a beat on
 * every click before and after the change, at most three beats off the clicks
 * within 2 s before a jump (its tempo windows are 8 s long; it was two
 * before the whole-song transition cost was tightened from 400 to 800 for
 * BeatTracker.AnticipationDoesNotPullTheBeatEarly). Live, the causal
 * tracker follows 100 BPM before the change and 140 BPM from 6 s after
 * its end (it loses the beat meanwhile: its tempo comes from the last 8 s);
 * the bpm fields read each tempo. */
TEST(MontageBeat, TempoChangeFollowed)
{
  const guint rate = 44100;
  struct Change {
    const char *name;
    std::vector<double> onsets;
    double from, to; /* s: the change */
  };
  std::vector<Change> changes;
  {
    std::vector<double> jump = grid(100, 0.5, 20.0);
    const double at = jump.back();
    for (double t : grid(140, at + 60.0 / 140, 40.0))
      jump.push_back(t);
    changes.push_back({"jump", jump, at, at});
    std::vector<double> ramp = grid(100, 0.5, 15.0);
    double t = ramp.back();
    const double from = t;
    for (int k = 1; k <= 16; k++) {
      t += 60.0 / (100.0 + 40.0 * k / 16.0);
      ramp.push_back(t);
    }
    const double to = t;
    while (t + 60.0 / 140 < 45.0) {
      t += 60.0 / 140;
      ramp.push_back(t);
    }
    changes.push_back({"ramp", ramp, from, to});
  }
  for (const Change &c : changes) {
    Clicks ck = clicks_at(rate, c.onsets, {}, c.onsets.back() + 0.5);
    const GstClockTime from = (GstClockTime)(c.from * GST_SECOND),
                       to = (GstClockTime)(c.to * GST_SECOND);
    const GstClockTime end = (GstClockTime)((c.onsets.back() + 0.5) * GST_SECOND);
    for (const char *mode : {"offline", "live"}) {
      SCOPED_TRACE(std::string(c.name) + ", " + mode);
      Fixture f(rate, 1, false);
      set_mode(f, mode);
      std::vector<LiveBeat> beats = push_taking_beats(f, ck.mono);
      f.eos();
      Summary sum = take_summary(f);

      if (std::string(mode) == "offline") {
        OnClicks before = on_clicks_in(sum.beats, ck.clicks, 0, from - 2 * GST_SECOND);
        OnClicks near = on_clicks_in(sum.beats, ck.clicks, from - 2 * GST_SECOND, to + 1);
        OnClicks after = on_clicks_in(sum.beats, ck.clicks, to + 1, end);
        EXPECT_TRUE(before.missed == 0 && before.off == 0)
            << before.missed << " missed, " << before.off << " off";
        EXPECT_LE(near.off, 3u);
        EXPECT_TRUE(after.missed == 0 && after.off == 0)
            << after.missed << " missed, " << after.off << " off";
        EXPECT_NEAR(sum.bpm, 140.0, 1.4) << "the dominant tempo: most clicks are at 140";
      }
      /* the causal beats, in both modes */
      std::vector<GstClockTime> times = times_of(beats);
      OnClicks before = on_clicks_in(times, ck.clicks, 3 * GST_SECOND, from);
      OnClicks after = on_clicks_in(times, ck.clicks, to + 6 * GST_SECOND, end - GST_SECOND);
      EXPECT_TRUE(before.missed == 0 && before.off == 0)
          << before.missed << " missed, " << before.off << " off";
      EXPECT_TRUE(after.missed == 0 && after.off == 0)
          << after.missed << " missed, " << after.off << " off";
      std::size_t slow = 0, fast = 0;
      for (std::size_t i = 3; i < beats.size(); i++) { /* bpm known from the fourth beat */
        if (beats[i].ts < from) {
          EXPECT_NEAR(beats[i].bpm, 100.0, 1.0) << "beat at " << beats[i].ts / 1e9 << " s";
          slow++;
        } else if (beats[i].ts >= to + 10 * GST_SECOND) {
          EXPECT_NEAR(beats[i].bpm, 140.0, 1.4) << "beat at " << beats[i].ts / 1e9 << " s";
          fast++;
        }
      }
      EXPECT_GT(slow, 15u);
      EXPECT_GT(fast, 15u);
    }
  }
}

/* 6 s of silence (a noise floor at -80 dBFS RMS, under silence-threshold,
 * as dither or tape hiss), then clicks at 120 BPM: no beat in the silence; the
 * whole-song pass starts on the first click, the causal one within 2 s of
 * it ("live beats need 1-2 s after the first note"). (Noise, a pad or a
 * held tone instead of silence is tested on the core: no beats live either,
 * tests/test_beattracker.cpp.) */
TEST(MontageBeat, NoBeatsInTheSilenceBeforeTheMusic)
{
  const guint rate = 44100;
  Clicks ck = clicks_at(rate, grid(120, 6.0, 20.0), {}, 20.0);
  const GstClockTime first = ck.clicks.front();
  std::uint32_t lcg = 3;
  const double floor = 1e-4 * std::sqrt(3.0); /* uniform noise: RMS = peak / sqrt(3) */
  for (float &v : ck.mono) {
    lcg = lcg * 1664525u + 1013904223u;
    v += (float)(floor * (((double)(lcg >> 8) / (double)(1u << 24)) * 2.0 - 1.0));
  }
  for (const char *mode : {"offline", "live"}) {
    SCOPED_TRACE(mode);
    Fixture f(rate, 2, true);
    set_mode(f, mode);
    const bool live = std::string(mode) == "live";
    std::vector<LiveBeat> beats = live ? push_live(f, ck.mono, 0) : push_taking_beats(f, ck.mono);
    f.eos();
    Summary sum = take_summary(f);
    ASSERT_FALSE(sum.beats.empty());
    std::vector<std::size_t> idx;
    expect_on_clicks(sum.beats, ck.clicks, &idx);
    EXPECT_EQ(idx.front(), 0u) << "the whole-song pass starts on the first click";
    EXPECT_GE(sum.beats.front() + kTolerance, first) << "a beat in the silence";

    ASSERT_FALSE(beats.empty());
    EXPECT_GE(beats.front().ts + kTolerance, first) << "a beat in the silence";
    EXPECT_LE(beats.front().ts, first + 2 * GST_SECOND);
    if (live) { /* offline groups the messages: their arrival is not measured */
      EXPECT_LE(beats.front().known, first + 2 * GST_SECOND + 400 * GST_MSECOND)
          << "the first beat was posted late";
    }
  }
}

/* 20 s of clicks peaking at -30 dBFS, then 20 s at -6 dBFS: montage-beats
 * has a quiet ("low" or "medium") section, then a "high" one, back to back
 * over the whole stream, none under 4 s, the boundary within 0.5 s of the
 * step (which lies between the last quiet click and the first loud one);
 * the energy curve has one value per 100 ms, louder after the step. */
TEST(MontageBeat, SectionsFollowTheLoudness)
{
  const guint rate = 44100;
  std::vector<double> onsets = grid(120, 0.5, 40.0), gains;
  for (double t : onsets)
    gains.push_back(std::pow(10.0, (t < 20.0 ? -30.0 : -6.0) / 20.0) / 0.6);
  Clicks ck = clicks_at(rate, onsets, gains, 40.0);
  for (const char *mode : {"offline", "live"}) {
    SCOPED_TRACE(mode);
    Fixture f(rate, 1, false);
    set_mode(f, mode);
    f.push(ck.mono, 0, ck.mono.size(), 0);
    f.eos();
    Summary sum = take_summary(f);
    EXPECT_EQ(sum.duration, 40 * GST_SECOND);
    EXPECT_EQ(sum.curve_interval, 100 * GST_MSECOND);
    ASSERT_EQ(sum.curve.size(), 400u);
    for (std::size_t i = 0; i < 200; i++) /* every interval holds a click's attack, or none */
      EXPECT_LE(sum.curve[i], *std::max_element(sum.curve.begin() + 200, sum.curve.end())) << i;
    ASSERT_EQ(sum.sections.size(), 2u);
    const Summary::Section &quiet = sum.sections[0], &loud = sum.sections[1];
    EXPECT_TRUE(quiet.level == "low" || quiet.level == "medium") << quiet.level;
    EXPECT_EQ(loud.level, "high");
    EXPECT_EQ(quiet.start, 0u);
    EXPECT_EQ(quiet.end, loud.start);
    EXPECT_EQ(loud.end, sum.duration);
    EXPECT_GE(quiet.end - quiet.start, 4 * GST_SECOND);
    EXPECT_GE(loud.end - loud.start, 4 * GST_SECOND);
    EXPECT_GE(loud.start + 500 * GST_MSECOND, 19500 * GST_MSECOND) << "boundary before the step";
    EXPECT_LE(loud.start, 20000 * GST_MSECOND + 500 * GST_MSECOND) << "boundary after the step";
  }
}

/* The energy curve at EOS is the montage-energy messages' `energy`, interval
 * for interval (both measure the same samples), and steady clicks are one
 * section. (The curve was once measured on whole analysis hops: its
 * intervals took 8 or 9 hops and so held one click, or one and part of the
 * next, and 120 BPM clicks came out as a low section and then a high one.) */
TEST(MontageBeat, EnergyCurveIsTheEnergyMessages)
{
  for (guint rate : {44100u, 48000u, 8000u}) {
    SCOPED_TRACE(rate);
    Clicks ck = make_clicks(rate, 120, 0.5, 30.0);
    Fixture f(rate, 1, false);
    f.push(ck.mono, 0, ck.mono.size(), 0);
    f.eos();
    std::vector<GstStructure *> energy = f.take("montage-energy");
    Summary sum = take_summary(f);
    ASSERT_EQ(sum.curve.size(), 300u);
    ASSERT_EQ(energy.size(), 300u);
    double worst = 0;
    for (std::size_t k = 0; k < energy.size(); k++) {
      double e = -1;
      guint64 ts = 0;
      gst_structure_get_double(energy[k], "energy", &e);
      gst_structure_get_uint64(energy[k], "timestamp", &ts);
      EXPECT_EQ(ts, k * sum.curve_interval);
      worst = std::max(worst, std::abs(e - sum.curve[k]));
    }
    /* The same samples, placed and summed by the same functions. */
    EXPECT_EQ(worst, 0.0) << "the curve is not the messages' energy";
    free_all(energy);
    ASSERT_EQ(sum.sections.size(), 1u) << "steady clicks cut into sections";
    EXPECT_EQ(sum.sections[0].end, 30 * GST_SECOND);
  }
}

/* `mono` rounded to a 2^-24 grid (24-bit audio): S32 (v * 2^31) and F64 then
 * hold every sample exactly. */
std::vector<float> on_24_bit_grid(std::vector<float> mono)
{
  for (float &v : mono)
    v = (float)(std::round((double)v * 16777216.0) / 16777216.0);
  return mono;
}

/* The element averages the channels in float after scaling integers by
 * 2^-31 (a power of two: no rounding of its own), so S32 and F64 input of the
 * same 24-bit signal give exactly what F32 gives: messages, summary, metas
 * and tags alike, the energy levels to the bit. */
TEST(MontageBeat, S32AndF64GiveTheSameResultsAsF32)
{
  const guint rate = 48000;
  Clicks ck = make_clicks(rate, 133, 0.4, 14.0);
  /* quiet noise under the clicks: small samples, which S32 holds with fewer
   * significant bits than large ones */
  std::uint32_t lcg = 5;
  for (float &v : ck.mono) {
    lcg = lcg * 1664525u + 1013904223u;
    v += (float)(0.2 * (((double)(lcg >> 8) / (double)(1u << 24)) * 2.0 - 1.0));
  }
  const std::vector<float> mono = on_24_bit_grid(ck.mono);
  std::vector<std::unique_ptr<Outcome>> runs;
  for (GstAudioFormat format :
       {GST_AUDIO_FORMAT_F32LE, GST_AUDIO_FORMAT_S32LE, GST_AUDIO_FORMAT_F64LE}) {
    Fixture f(rate, 2, format);
    f.blocks = {1024, 333};
    f.push(mono, 0, mono.size(), 0);
    f.eos();
    runs.push_back(std::make_unique<Outcome>());
    collect_outcome(f, *runs.back());
  }
  ASSERT_GT(runs[0]->beats.size(), 20u);
  ASSERT_EQ(runs[0]->energy.size(), 140u);
  for (std::size_t i = 1; i < runs.size(); i++) {
    SCOPED_TRACE(i == 1 ? "S32LE" : "F64LE");
    expect_same(*runs[0], *runs[i]);
    for (std::size_t k = 0; k < std::min(runs[0]->energy.size(), runs[i]->energy.size()); k++) {
      double a = 0, b = 1;
      gst_structure_get_double(runs[0]->energy[k], "rms", &a);
      gst_structure_get_double(runs[i]->energy[k], "rms", &b);
      EXPECT_EQ(a, b) << "energy interval " << k;
    }
  }
}

/* An empty tempo range is refused when the element starts (READY to
 * PAUSED), before any caps arrive, with an error that names the properties. */
TEST(MontageBeat, EmptyTempoRangeFailsTheStart)
{
  ASSERT_TRUE(GST_ELEMENT_REGISTER(montagebeat, NULL));
  GstElement *el = gst_element_factory_make("montagebeat", NULL);
  ASSERT_NE(el, nullptr);
  GstBus *bus = gst_bus_new();
  gst_element_set_bus(el, bus);
  g_object_set(el, "min-bpm", 150.0, "max-bpm", 100.0, NULL);
  EXPECT_EQ(gst_element_set_state(el, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
  GstMessage *m = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  EXPECT_NE(m, nullptr) << "no error at start for an empty tempo range";
  if (m) {
    GError *err = nullptr;
    gst_message_parse_error(m, &err, nullptr);
    EXPECT_NE(std::string(err->message).find("min-bpm (150) below max-bpm (100)"),
              std::string::npos)
        << err->message;
    g_error_free(err);
    gst_message_unref(m);
  }
  /* a valid range starts */
  gst_element_set_state(el, GST_STATE_NULL);
  g_object_set(el, "min-bpm", 60.0, NULL);
  EXPECT_EQ(gst_element_set_state(el, GST_STATE_PAUSED), GST_STATE_CHANGE_SUCCESS);
  EXPECT_EQ(gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR), nullptr);
  gst_element_set_state(el, GST_STATE_NULL);
  gst_element_set_bus(el, NULL);
  gst_object_unref(bus);
  gst_object_unref(el);
}

/* The latency query reports the live-delay the running tracker uses, plus
 * two hops and the longest input buffer: a new live-delay takes effect at
 * the next segment (or flush, or start), the first buffer makes the latency
 * grow by its length; both post a LATENCY message. */
TEST(MontageBeat, LatencyIsTheDelayInEffect)
{
  const guint rate = 44100;
  Fixture f(rate, 1, false); /* started with caps and a segment: 350 ms in effect */
  gst_harness_set_upstream_latency(f.h, 10 * GST_MSECOND);
  Clicks ck = make_clicks(rate, 120, 0.5, 3.0);
  ck.mono.resize(129 * 1024); /* whole buffers of 1024 frames */
  /* buffers held after a push: until delay + 23 ms of audio follows one */
  auto held_for = [&](GstClockTime delay) {
    return (std::size_t)gst_util_uint64_scale_ceil(delay + 23 * GST_MSECOND, rate, GST_SECOND) /
               1024 +
           1;
  };

  const GstClockTime block = gst_util_uint64_scale_int_ceil(1024, GST_SECOND, rate);
  auto latency_messages = [&]() {
    int n = 0;
    GstMessage *m;
    while ((m = gst_bus_pop_filtered(f.bus, GST_MESSAGE_LATENCY))) {
      n++;
      gst_message_unref(m);
    }
    return n;
  };

  g_object_set(f.h->element, "live-delay", (guint64)GST_SECOND, NULL);
  EXPECT_EQ(montage_test::query_min_latency(f.h->sinkpad),
            10 * GST_MSECOND + 350 * GST_MSECOND + 23 * GST_MSECOND)
      << "the new live-delay is not in effect yet, and no buffer came yet";
  EXPECT_EQ(latency_messages(), 0) << "latency message before the latency changed";
  f.push(ck.mono, 0, ck.mono.size(), 0);
  EXPECT_EQ(f.sent.size() - f.received, held_for(350 * GST_MSECOND));
  EXPECT_EQ(latency_messages(), 1)
      << "one message when the first buffer came, none for buffers as long";
  EXPECT_EQ(montage_test::query_min_latency(f.h->sinkpad),
            10 * GST_MSECOND + 350 * GST_MSECOND + 23 * GST_MSECOND + block);

  GstSegment seg;
  gst_segment_init(&seg, GST_FORMAT_TIME);
  ASSERT_TRUE(gst_harness_push_event(f.h, gst_event_new_segment(&seg)));
  EXPECT_EQ(latency_messages(), 1) << "no latency message when live-delay took effect";
  EXPECT_EQ(montage_test::query_min_latency(f.h->sinkpad),
            10 * GST_MSECOND + GST_SECOND + 23 * GST_MSECOND + block)
      << "the longest buffer stays through a new segment";
  f.pull_available();
  const std::size_t before = f.sent.size();
  EXPECT_EQ(before, f.received) << "the old segment's audio goes out before the new segment";
  f.push(ck.mono, 0, ck.mono.size(), 0);
  EXPECT_EQ(f.sent.size() - f.received, held_for(GST_SECOND));
}

/* A held buffer leaves when the buffer that brings the audio it waits for
 * comes in: with long input buffers that is up to one buffer later than
 * live-delay. Fed in real time, buffer k is complete at (k + 1) buffers and
 * goes out when buffer j comes in, at (j + 1) buffers: (j - k) buffers
 * later, which must not exceed the latency the element adds. */
TEST(MontageBeat, HeldAudioNeverOutlastsTheReportedLatency)
{
  for (std::size_t frames : {4410u /* 100 ms */, 22050u /* 500 ms */, 441u, 1024u}) {
    SCOPED_TRACE(frames);
    const guint rate = 44100;
    Fixture f(rate, 1, false);
    gst_util_set_object_arg(G_OBJECT(f.h->element), "mode", "live");
    gst_harness_set_upstream_latency(f.h, 0);
    f.blocks = {frames / 2, frames}; /* the longest one counts */
    Clicks ck = make_clicks(rate, 120, 0.5, 8.0);
    GstClockTime longest_wait = 0;
    /* The end time of each buffer as it went in, and when each came out. */
    std::vector<GstClockTime> ends;
    std::size_t out_before = 0;
    f.after_push = [&](GstClockTime end) {
      ends.push_back(end);
      for (; out_before < f.received; out_before++)
        longest_wait = std::max(longest_wait, end - ends[out_before]);
    };
    f.push(ck.mono, 0, ck.mono.size(), 0);
    const GstClockTime added = montage_test::query_min_latency(f.h->sinkpad);
    EXPECT_GT(longest_wait, 350 * GST_MSECOND);
    EXPECT_LE(longest_wait, added) << "held " << longest_wait << " ns, latency " << added << " ns";
    EXPECT_EQ(added, 350 * GST_MSECOND + 23 * GST_MSECOND +
                         gst_util_uint64_scale_int_ceil(frames, GST_SECOND, rate));
  }
}

} // namespace

/* The samples of a song file (S16, 44.1 kHz, mono), decoded by make_media();
 * empty when it cannot be read. */
std::vector<float> mono_s16_samples(const std::string &path)
{
  if (path.empty())
    return {};
  const std::string raw = montage_test::make_media(
      "song-mono.s16", ("filesrc location=\"" + path +
                        "\" ! decodebin ! audioconvert ! audioresample ! "
                        "audio/x-raw,format=S16LE,rate=44100,channels=1 ! filesink location=%s")
                           .c_str());
  const std::string bytes = montage_test::read_file(raw);
  g_unlink(raw.c_str());
  std::vector<float> song(bytes.size() / 2);
  for (std::size_t i = 0; i < song.size(); i++) {
    gint16 v;
    std::memcpy(&v, bytes.data() + 2 * i, 2);
    song[i] = (float)GINT16_FROM_LE(v) / 32767.f;
  }
  return song;
}

/* The samples of stg0.ogg (S16, 44.1 kHz, mono). */
std::vector<float> stg0_samples()
{
  return mono_s16_samples(montage_test::media_path("stg0.ogg"));
}

/* ultimate_run.mid (openttd-openmsx: 150 BPM, 4/4, drums) rendered by
 * scripts/fetch-media.sh, live, moved by 10 and 20 ms of silence (an AAC
 * encoder's delay moves a song by 21-48 ms). Its tempo windows give 75 and
 * 150 BPM nearly the same salience; the first estimate, from 2 s of audio,
 * took 75 at these leads and the hold kept it to the end (live F 0.29 and
 * 0.10). The evidence of all the estimates so far now moves it to 150
 * (BeatTracker's live_octave(); live F 0.97 and 0.96 in bench/beat/quick.py). */
TEST(MontageBeat, LiveTempoOctaveDoesNotDependOnWhereTheSongStarts)
{
  const std::string dir = montage_test::media_dir();
  const std::string flac = dir + "/ultimate_run.flac", mid = dir + "/ultimate_run.mid";
  if (!g_file_test(flac.c_str(), G_FILE_TEST_IS_REGULAR) ||
      !g_file_test(mid.c_str(), G_FILE_TEST_IS_REGULAR))
    GTEST_SKIP() << flac
                 << " is missing: install fluidsynth and fluid-soundfont-gm (scripts/setup.sh), "
                 << "then run scripts/fetch-media.sh";
  const std::vector<GstClockTime> truth = midi_beats(mid);
  ASSERT_GT(truth.size(), 100u) << "could not read the tempo map of " << mid;
  const std::vector<float> song = mono_s16_samples(flac);
  ASSERT_GT(song.size(), 60u * 44100) << flac << " decoded to under a minute";
  for (double lead_ms : {10.0, 20.0}) {
    SCOPED_TRACE(std::to_string(lead_ms) + " ms of silence first");
    const std::size_t lead = (std::size_t)std::lround(44100 * lead_ms / 1000);
    std::vector<float> mono(lead, 0.f);
    mono.insert(mono.end(), song.begin(), song.end());
    Fixture f(44100, 1, true);
    set_mode(f, "live");
    const std::vector<LiveBeat> beats = push_live(f, mono, 0);
    const GstClockTime moved = gst_util_uint64_scale_int(lead, GST_SECOND, 44100);
    std::vector<GstClockTime> ref, est;
    for (GstClockTime t : truth)
      if (t + moved < (GstClockTime)gst_util_uint64_scale_int(mono.size(), GST_SECOND, 44100))
        ref.push_back(t + moved);
    std::vector<double> later;
    for (const LiveBeat &b : beats) {
      est.push_back(b.ts);
      if (b.ts >= 20 * GST_SECOND)
        later.push_back(b.bpm);
    }
    ASSERT_FALSE(later.empty());
    std::nth_element(later.begin(), later.begin() + (long)later.size() / 2, later.end());
    EXPECT_NEAR(later[later.size() / 2], 150.0, 150.0 * 0.04) << "the median tempo from 20 s on";
    EXPECT_GE(f_measure(ref, est), 0.90) << est.size() << " live beats, " << ref.size() << " true";
  }
}

/* A recorded song (stg0.ogg, 150 BPM, even eighths) live, with the default
 * tempo range and with min-bpm 100 and max-bpm 180, as it comes and moved by
 * 10 and 20 ms (an AAC encoder's delay moves a song by 21-48 ms): every
 * montage-beat bpm and every BPM tag is unknown (0, no tag) or within 8 % of
 * the range, and from 20 s on the beats' tempo is 150. Before, with the range
 * set, the first beats read 190-202 BPM and tags of them were sent. The
 * tempo level here passed before too: through gst-launch, a WAV of the same
 * S16 samples moved by 10-20 ms read 100 BPM throughout, but this harness
 * did not reproduce that (why was not pinned down; the first tempo estimate
 * is that fragile). BeatTracker.LiveEvenPulseIsNotGroupedInThrees covers
 * the regrouping. */
TEST(MontageBeat, RecordedSongLiveTempoAndTagsStayInRange)
{
  /* S16 as decoded: the S16 fixture gives the element the same samples. */
  const std::vector<float> song = stg0_samples();
  ASSERT_GT(song.size(), 60u * 44100) << "stg0.ogg decoded to under a minute";

  for (auto range : {std::pair<double, double>{40.0, 240.0}, {100.0, 180.0}})
    for (double lead_ms : {0.0, 10.0, 20.0}) {
      SCOPED_TRACE(std::to_string(lead_ms) + " ms of silence first, range " +
                   std::to_string(range.first) + "-" + std::to_string(range.second));
      const double lo = range.first / 1.08, hi = range.second * 1.08;
      std::vector<float> mono((std::size_t)std::lround(44100 * lead_ms / 1000), 0.f);
      mono.insert(mono.end(), song.begin(), song.end());
      Fixture f(44100, 1, true);
      g_object_set(f.h->element, "min-bpm", range.first, "max-bpm", range.second,
                   NULL); /* from the next segment */
      set_mode(f, "live");
      std::vector<LiveBeat> beats = push_live(f, mono, 0);
      ASSERT_GT(beats.size(), 100u);
      std::vector<double> later;
      for (const LiveBeat &b : beats) {
        EXPECT_TRUE(b.bpm == 0.0 || (b.bpm >= lo && b.bpm <= hi))
            << b.bpm << " BPM at " << b.ts / 1e9 << " s";
        if (b.ts >= 20 * GST_SECOND)
          later.push_back(b.bpm);
      }
      ASSERT_FALSE(later.empty());
      std::nth_element(later.begin(), later.begin() + (long)later.size() / 2, later.end());
      EXPECT_NEAR(later[later.size() / 2], 150.0, 150.0 * 0.04) << "the median tempo from 20 s on";
      GstEvent *ev;
      while ((ev = gst_harness_try_pull_event(f.h))) {
        f.take_tag(ev);
        gst_event_unref(ev);
      }
      ASSERT_FALSE(f.tag_bpms.empty());
      for (double t : f.tag_bpms)
        EXPECT_TRUE(t >= lo && t <= hi) << "a BPM tag of " << t;
    }
}

/* After a flushing seek the audio starts inside the music. stg0.ogg's
 * whole-song beats from its start are the reference; then its samples from
 * halfway between two of those beats (at about 16, 24, 32 and 40 s) are
 * pushed after a flush, in a segment whose start and time are that
 * position, as a seek gives. Every whole-song beat of the rest must be on a
 * reference beat. The tracker's first hops compared the music with nothing
 * before it, an onset at the seek position: the path put a beat there and
 * stayed on the off-beat (0.0, 0.40, 0.80 s after the seek, where the
 * reference has 0.20, 0.60, 1.00 s) at three of the four positions. */
TEST(MontageBeat, WholeSongAfterASeekStaysOnTheBeat)
{
  const guint rate = 44100;
  const std::vector<float> song = stg0_samples();
  ASSERT_GT(song.size(), 60u * rate) << "stg0.ogg decoded to under a minute";
  std::vector<GstClockTime> reference;
  {
    Fixture f(rate, 1, false);
    f.push(song, 0, song.size(), 0);
    f.eos();
    reference = take_summary(f).beats;
  }
  ASSERT_GT(reference.size(), 120u);
  for (std::size_t k : {40, 60, 80, 100}) {
    const std::size_t first = (std::size_t)gst_util_uint64_scale(
        reference[k] / 2 + reference[k + 1] / 2, rate, GST_SECOND);
    const GstClockTime seek = gst_util_uint64_scale(first, GST_SECOND, rate);
    SCOPED_TRACE("from " + std::to_string(seek / 1e9) + " s");
    Fixture f(rate, 1, false);
    GstSegment seg;
    gst_segment_init(&seg, GST_FORMAT_TIME);
    seg.start = seg.time = seg.position = seek;
    ASSERT_TRUE(gst_harness_push_event(f.h, gst_event_new_flush_start()));
    ASSERT_TRUE(gst_harness_push_event(f.h, gst_event_new_flush_stop(TRUE)));
    ASSERT_TRUE(gst_harness_push_event(f.h, gst_event_new_segment(&seg)));
    f.push(song, first, song.size(), seek);
    f.eos();
    const std::vector<GstClockTime> beats = take_summary(f).beats;
    ASSERT_GT(beats.size(), 60u);
    EXPECT_GE(beats.front(), seek + 100 * GST_MSECOND) << "a beat at the seek position";
    expect_on_clicks(beats, reference);
  }
}

/* relax_song (120 BPM) live after a flushing seek to 150 s, through a real
 * pipeline: the live beats of 150-190 s must lie on the MIDI beats (within
 * 70 ms), as the same stretch does without a seek (none off). The tracker
 * restarts at the seek; its first tempo estimates (windows too short to
 * reach a 120 BPM period) count as evidence for 240, the octave rule read
 * 240 for 1 s at 155.5 s, and the path came back to 120 on the off-beat
 * eighths (150-152 s is even eighths without drums): 11 of 79 beats off,
 * 155.25-160.26 s. A fall back to the tempo left within the last tempo
 * window now scores the path again at the new period (BeatTracker's
 * rescore_live()): 4 of 80 off (the two double-time beats, 158.25 and
 * 158.75 s). */
TEST(MontageBeat, LiveBeatsAfterASeekStayOnTheBeat)
{
  const std::string dir = montage_test::media_dir();
  const std::string flac = dir + "/relax_song.flac", mid = dir + "/relax_song.mid";
  if (!g_file_test(flac.c_str(), G_FILE_TEST_IS_REGULAR) ||
      !g_file_test(mid.c_str(), G_FILE_TEST_IS_REGULAR))
    GTEST_SKIP() << flac
                 << " is missing: install fluidsynth and fluid-soundfont-gm (scripts/setup.sh), "
                 << "then run scripts/fetch-media.sh";
  const std::vector<GstClockTime> truth = midi_beats(mid);
  ASSERT_GT(truth.size(), 100u) << "could not read the tempo map of " << mid;

  ASSERT_TRUE(GST_ELEMENT_REGISTER(montagebeat, NULL));
  gchar *desc = g_strdup_printf("filesrc location=\"%s\" ! decodebin ! audioconvert ! "
                                "montagebeat mode=live ! fakesink sync=false",
                                flac.c_str());
  GError *err = NULL;
  GstElement *pipe = gst_parse_launch(desc, &err);
  g_free(desc);
  ASSERT_NE(pipe, nullptr) << (err ? err->message : "");
  GstBus *bus = gst_element_get_bus(pipe);
  ASSERT_NE(gst_element_set_state(pipe, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
  ASSERT_EQ(gst_element_get_state(pipe, NULL, NULL, 20 * GST_SECOND), GST_STATE_CHANGE_SUCCESS);
  const GstClockTime seek = 150 * GST_SECOND, end = 190 * GST_SECOND;
  ASSERT_TRUE(gst_element_seek_simple(
      pipe, GST_FORMAT_TIME, (GstSeekFlags)(GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_ACCURATE), seek));
  ASSERT_EQ(gst_element_get_state(pipe, NULL, NULL, 20 * GST_SECOND), GST_STATE_CHANGE_SUCCESS);
  ASSERT_NE(gst_element_set_state(pipe, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  std::vector<GstClockTime> live;
  for (bool eos = false; !eos;) {
    GstMessage *msg = gst_bus_timed_pop_filtered(
        bus, 60 * GST_SECOND,
        (GstMessageType)(GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT));
    ASSERT_NE(msg, nullptr) << "no EOS within 60 s";
    if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
      GError *e = NULL;
      gst_message_parse_error(msg, &e, NULL);
      ADD_FAILURE() << e->message;
      g_error_free(e);
      eos = true;
    } else if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS) {
      eos = true;
    } else if (gst_structure_has_name(gst_message_get_structure(msg), "montage-beat")) {
      guint64 ts = 0;
      gst_structure_get_uint64(gst_message_get_structure(msg), "timestamp", &ts);
      live.push_back(ts);
    }
    gst_message_unref(msg);
  }
  gst_element_set_state(pipe, GST_STATE_NULL);
  gst_object_unref(bus);
  gst_object_unref(pipe);

  const GstClockTime window = 70 * GST_MSECOND;
  std::vector<GstClockTime> off;
  std::size_t counted = 0;
  for (GstClockTime b : live) {
    EXPECT_GE(b, seek) << "a beat before the seek position";
    if (b >= end)
      continue;
    counted++;
    const auto near = std::lower_bound(truth.begin(), truth.end(), b - std::min(b, window));
    if (near == truth.end() || *near > b + window)
      off.push_back(b);
  }
  EXPECT_GE(counted, 70u) << "live beats in 150-190 s";
  std::string listed;
  for (GstClockTime b : off)
    listed += " " + std::to_string((double)b / GST_SECOND);
  EXPECT_LE(off.size(), 5u) << off.size() << " of " << counted
                            << " live beats over 70 ms off the beat:" << listed;
}

/* A tempo range that holds the song's tempo does not change it. stg0.ogg
 * (150 BPM) is a sixteenth-note pulse accented 3+3+2, whose comb salience
 * is nearly as high at 5 sixteenths (120 BPM, at the tempo prior's peak) as
 * at 4: the whole-range path starts at 100 and the even-thirds rule takes it
 * to 150, but with 105-160, 100-190 or 110-190 BPM (no 100 to start from)
 * the path took 120 and no rule led from there (the --tempo of a new-user
 * audit). The beat-level rules now start from the whole-range path where it
 * lies within the range, and a pulse in even fifths is regrouped (5:4). */
TEST(MontageBeat, TempoRangeHoldingTheTempoDoesNotChangeIt)
{
  EXPECT_TRUE(GST_ELEMENT_REGISTER(montagebeat, NULL));
  const std::string path = montage_test::media_path("stg0.ogg");
  ASSERT_FALSE(path.empty());
  for (const char *range :
       {"", "min-bpm=105 max-bpm=160", "min-bpm=100 max-bpm=190", "min-bpm=110 max-bpm=190"}) {
    SCOPED_TRACE(*range ? range : "the whole range");
    /* As the tool decodes a song (Vorbis as F32 through audioconvert). */
    const std::string desc = "filesrc location=\"" + path +
                             "\" ! decodebin ! audioconvert ! montagebeat " + range +
                             " ! fakesink sync=false";
    GstElement *pipe = gst_parse_launch(desc.c_str(), nullptr);
    ASSERT_NE(pipe, nullptr);
    gst_element_set_state(pipe, GST_STATE_PLAYING);
    GstBus *bus = gst_element_get_bus(pipe);
    double bpm = -1;
    for (;;) {
      GstMessage *msg = gst_bus_timed_pop_filtered(
          bus, 60 * GST_SECOND,
          (GstMessageType)(GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT));
      if (!msg)
        break;
      const GstMessageType type = GST_MESSAGE_TYPE(msg);
      const GstStructure *st = gst_message_get_structure(msg);
      if (type == GST_MESSAGE_ELEMENT && gst_structure_has_name(st, "montage-beats"))
        gst_structure_get_double(st, "bpm", &bpm);
      gst_message_unref(msg);
      if (type != GST_MESSAGE_ELEMENT)
        break;
    }
    gst_object_unref(bus);
    gst_element_set_state(pipe, GST_STATE_NULL);
    gst_object_unref(pipe);
    EXPECT_NEAR(bpm, 150.0, 150.0 * 0.04);
  }
}

/* A tempo range that excludes the music's tempo is warned about, with the
 * music's tempo, and the result stays the range's. stg0.ogg is 150 BPM:
 * 100-140 gives 120 BPM, every fourth beat on one of the music's (a 5:4
 * reading: cuts half a beat off); 105-160 holds 150 and is not warned
 * about. Before, the 120 came silently. 55-80 gives 75 BPM between the
 * music's beats: half time off its beats, worded as a disagreement (either
 * reading can be the wrong one), where the 5:4 reading is told to move. */
TEST(MontageBeat, TempoRangeExcludingTheMusicsTempoIsWarned)
{
  EXPECT_TRUE(GST_ELEMENT_REGISTER(montagebeat, NULL));
  const std::string path = montage_test::media_path("stg0.ogg");
  ASSERT_FALSE(path.empty());
  for (const char *range :
       {"min-bpm=100 max-bpm=140", "min-bpm=105 max-bpm=160", "min-bpm=55 max-bpm=80"}) {
    SCOPED_TRACE(range);
    const bool excluded = std::string(range).find("100") != std::string::npos;
    const bool half = std::string(range).find("55") != std::string::npos;
    const std::string desc = "filesrc location=\"" + path +
                             "\" ! decodebin ! audioconvert ! montagebeat " + range +
                             " ! fakesink sync=false";
    GstElement *pipe = gst_parse_launch(desc.c_str(), nullptr);
    ASSERT_NE(pipe, nullptr);
    gst_element_set_state(pipe, GST_STATE_PLAYING);
    GstBus *bus = gst_element_get_bus(pipe);
    double bpm = -1;
    std::vector<std::string> warnings;
    double music_bpm = -1, range_bpm = -1;
    for (;;) {
      GstMessage *msg =
          gst_bus_timed_pop_filtered(bus, 60 * GST_SECOND,
                                     (GstMessageType)(GST_MESSAGE_EOS | GST_MESSAGE_ERROR |
                                                      GST_MESSAGE_ELEMENT | GST_MESSAGE_WARNING));
      if (!msg)
        break;
      const GstMessageType type = GST_MESSAGE_TYPE(msg);
      if (type == GST_MESSAGE_WARNING) {
        GError *err = nullptr;
        gst_message_parse_warning(msg, &err, nullptr);
        EXPECT_TRUE(g_error_matches(err, GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS));
        warnings.push_back(err ? err->message : "");
        g_clear_error(&err);
        const GstStructure *details = nullptr;
        gst_message_parse_warning_details(msg, &details);
        if (details) {
          gst_structure_get_double(details, "music-bpm", &music_bpm);
          gst_structure_get_double(details, "bpm", &range_bpm);
        }
      }
      const GstStructure *st = gst_message_get_structure(msg);
      if (type == GST_MESSAGE_ELEMENT && gst_structure_has_name(st, "montage-beats"))
        gst_structure_get_double(st, "bpm", &bpm);
      gst_message_unref(msg);
      if (type == GST_MESSAGE_EOS || type == GST_MESSAGE_ERROR)
        break;
    }
    gst_object_unref(bus);
    gst_element_set_state(pipe, GST_STATE_NULL);
    gst_object_unref(pipe);
    if (excluded) {
      EXPECT_NEAR(bpm, 120.0, 120.0 * 0.04) << "the range's result is kept";
      ASSERT_EQ(warnings.size(), 1u);
      EXPECT_NE(warnings[0].find("looks like 150 BPM"), std::string::npos) << warnings[0];
      EXPECT_NE(warnings[0].find("100-140"), std::string::npos) << warnings[0];
      EXPECT_NE(warnings[0].find("Set a range that holds 150 BPM"), std::string::npos)
          << warnings[0];
      EXPECT_NEAR(music_bpm, 150.0, 1.0);
      EXPECT_NEAR(range_bpm, 120.0, 1.0);
    } else if (half) {
      EXPECT_NEAR(bpm, 75.0, 75.0 * 0.04) << "the range's result is kept";
      ASSERT_EQ(warnings.size(), 1u);
      EXPECT_NE(warnings[0].find("its half time, but not on the whole range's beats"),
                std::string::npos)
          << warnings[0];
      EXPECT_NE(warnings[0].find("One of the two readings is off the beat"), std::string::npos)
          << warnings[0];
    } else {
      EXPECT_NEAR(bpm, 150.0, 150.0 * 0.04);
      EXPECT_TRUE(warnings.empty()) << warnings[0];
    }
  }
}

/* Played backwards (a segment with rate -1, the buffers last first), the
 * audio passes through at once and untouched, with no beats, energy or
 * tags, and one warning per start says so; the next forward segment is
 * analysed as ever. Before, the sample clock restarted at every buffer
 * (each one a jump back) and the reversed chunks were tracked as one
 * stream. */
TEST(MontageBeat, ReversePlaybackPassesThroughWithOneWarning)
{
  const guint rate = 44100;
  Fixture f(rate, 1, false);
  Clicks ck = make_clicks(rate, 120, 0.5, 8.0);
  const std::size_t block = 1024;
  for (int pass = 0; pass < 2; pass++) {
    GstSegment seg;
    gst_segment_init(&seg, GST_FORMAT_TIME);
    seg.rate = -1.0;
    seg.stop = 8 * GST_SECOND;
    ASSERT_TRUE(gst_harness_push_event(f.h, gst_event_new_segment(&seg)));
    for (std::size_t end = ck.mono.size(); end > 0;) {
      const std::size_t from = end > block ? end - block : 0;
      f.push(ck.mono, from, end, gst_util_uint64_scale(from, GST_SECOND, rate));
      EXPECT_EQ(f.received, f.sent.size()) << "a reversed buffer was held";
      end = from;
    }
  }
  /* Warnings first: taking the element messages drops the others. */
  const std::vector<std::string> warnings =
      montage_test::pop_warnings(f.bus, GST_STREAM_ERROR, GST_STREAM_ERROR_NOT_IMPLEMENTED);
  ASSERT_EQ(warnings.size(), 1u) << "one warning per start, not per segment";
  EXPECT_NE(warnings[0].find("backwards"), std::string::npos) << warnings[0];
  std::vector<GstStructure *> reversed = f.take("montage-beat"), energy = f.take("montage-energy");
  EXPECT_TRUE(reversed.empty());
  EXPECT_TRUE(energy.empty());
  free_all(reversed);
  free_all(energy);

  GstSegment seg;
  gst_segment_init(&seg, GST_FORMAT_TIME);
  ASSERT_TRUE(gst_harness_push_event(f.h, gst_event_new_segment(&seg)));
  f.push(ck.mono, 0, ck.mono.size(), 0);
  f.eos();
  const Summary sum = take_summary(f);
  EXPECT_EQ(sum.duration, 8 * GST_SECOND) << "the forward segment alone";
  EXPECT_NEAR(sum.bpm, 120.0, 1.0);
  EXPECT_FALSE(sum.beats.empty());
  expect_on_clicks(sum.beats, ck.clicks);
}

/* A chained Ogg (two Ogg streams one after the other in one file): oggdemux
 * starts the second chain with a STREAM_START, caps and a segment whose
 * buffer times restart at 0 (start 0) but whose stream time runs on from
 * the first chain (time 8 s here, as oggdemux gives through decodebin).
 * That chain starts at its own beginning, not inside the music: a click on
 * its first sample is a beat, as the first chain's was. Before, a segment
 * whose time was past 0 was taken for a seek, the chain's first 23 ms were
 * no onset and its first click got no beat. */
TEST(MontageBeat, ChainedOggsNextChainStartsOnItsFirstClick)
{
  const guint rate = 44100;
  const double seconds = 8.0;
  Fixture f(rate, 1, false);
  const Clicks ck = make_clicks(rate, 120, 0.0, seconds);
  const GstClockTime chain = gst_util_uint64_scale(ck.mono.size(), GST_SECOND, rate);
  GstSegment seg;
  gst_segment_init(&seg, GST_FORMAT_TIME);
  ASSERT_TRUE(gst_harness_push_event(f.h, gst_event_new_segment(&seg)));
  f.push(ck.mono, 0, ck.mono.size(), 0);
  std::vector<GstClockTime> first_live = beat_times(f.take("montage-beat"));
  std::vector<GstClockTime> first;
  {
    SCOPED_TRACE("first chain");
    /* The next chain: a new stream, buffer times from 0, stream time on. */
    ASSERT_TRUE(gst_harness_push_event(f.h, gst_event_new_stream_start("chain-2")));
    gst_segment_init(&seg, GST_FORMAT_TIME);
    seg.base = chain;
    seg.time = seg.position = chain;
    ASSERT_TRUE(gst_harness_push_event(f.h, gst_event_new_segment(&seg)));
    first = take_summary(f).beats;
    ASSERT_FALSE(first.empty());
    EXPECT_LE(first.front(), kTolerance) << "the first chain's first click";
    expect_on_clicks(first, ck.clicks);
  }
  f.push(ck.mono, 0, ck.mono.size(), 0);
  std::vector<GstStructure *> beat = f.take("montage-beat");
  const std::vector<GstClockTime> second_live = beat_times(beat);
  for (const GstStructure *s : beat) {
    guint64 stream_time = 0, ts = 0;
    gst_structure_get_uint64(s, "stream-time", &stream_time);
    gst_structure_get_uint64(s, "timestamp", &ts);
    EXPECT_EQ(stream_time, ts + chain) << "the second chain's stream time runs on";
  }
  free_all(beat);
  f.eos();
  SCOPED_TRACE("second chain");
  const std::vector<GstClockTime> second = take_summary(f).beats;
  EXPECT_EQ(second, first) << "the same audio, the same whole-song beats";
  ASSERT_FALSE(second.empty());
  EXPECT_LE(second.front(), kTolerance) << "no beat on the second chain's first click";
  EXPECT_EQ(second_live, first_live) << "the same live beats";
}

/* Every montage-energy message is the mean square of its own samples (the
 * channels' average), to float rounding: in buffers of uneven sizes that
 * split the intervals anywhere, across a change of `interval` in the middle
 * of one, and over a gap analysed as silence. The element reads its
 * intervals from the tracker's sums while `interval` is the one the
 * tracker was made with, and sums them itself after a change: this holds
 * the values to what they were when it always summed them itself. */
TEST(MontageBeat, EnergyMessagesAreTheMeanSquaresOfTheirSamples)
{
  const guint rate = 44100;
  Fixture f(rate, 2, false);
  f.blocks = {1000, 4410, 333, 2048};
  Clicks ck = clicks_at(rate, grid(120, 0.25, 9.0), {1.0, 0.3, 0.6, 0.9, 0.2, 0.5, 0.8}, 9.0);
  for (std::size_t i = 0; i < ck.mono.size(); i++)
    ck.mono[i] += (float)(0.01 * std::sin(2 * M_PI * 220.0 * (double)i / rate));
  /* The audio from 6 s to 6.5 s is lost: the element analyses it as
   * silence. */
  std::vector<float> heard = ck.mono;
  std::fill(heard.begin() + 6 * rate, heard.begin() + 6 * rate + rate / 2, 0.f);
  f.push(ck.mono, 0, 3 * rate + 1234, 0);
  g_object_set(f.h->element, "interval", (guint64)(70 * GST_MSECOND), NULL);
  f.push(ck.mono, 3 * rate + 1234, 6 * rate,
         gst_util_uint64_scale(3 * rate + 1234, GST_SECOND, rate));
  f.push(ck.mono, 6 * rate + rate / 2, ck.mono.size(), 6 * GST_SECOND + GST_SECOND / 2, true);
  f.eos();
  std::vector<GstStructure *> energy = f.take("montage-energy");
  ASSERT_GT(energy.size(), 100u);
  GstClockTime next = 0;
  for (const GstStructure *s : energy) {
    guint64 ts = 0, dur = 0;
    double rms = 0;
    ASSERT_TRUE(gst_structure_get_uint64(s, "timestamp", &ts));
    ASSERT_TRUE(gst_structure_get_uint64(s, "duration", &dur));
    ASSERT_TRUE(gst_structure_get_double(s, "rms", &rms));
    EXPECT_EQ(ts, next) << "intervals back to back";
    next = ts + dur;
    const std::size_t first = (std::size_t)gst_util_uint64_scale_round(ts, rate, GST_SECOND);
    const std::size_t end = (std::size_t)gst_util_uint64_scale_round(ts + dur, rate, GST_SECOND);
    ASSERT_LE(end, heard.size());
    ASSERT_GT(end, first);
    double sum = 0;
    for (std::size_t i = first; i < end; i++)
      sum += (double)heard[i] * heard[i];
    const double want = std::max(10 * std::log10(sum / (double)(end - first)), -200.0);
    EXPECT_NEAR(rms, want, 1e-6) << "interval at " << ts / 1e9 << " s, " << dur / 1e6 << " ms";
  }
  EXPECT_GE(next, 8900 * GST_MSECOND) << "intervals up to the end";
  free_all(energy);
}

/* `strength` (and so `confidence` and the meta's strength) is on one scale
 * from the first beat: on clicks all alike, the first beats posted are as
 * strong as the later ones, so an application that cuts on the strongest
 * beats does not pass over the song's start. The envelope's standard
 * deviation is measured over the audio heard since the first sound, up to
 * the beat's posting. Before, it was a running mean square that started at
 * the first onset's square and took some 8-20 s to settle: the first beat
 * had 0.73 where the clicks settled at 2.3 and more. */
/* Each beat's `energy` (message and meta) says how loud the music is
 * against the song so far: clicks at a tenth of the gain for 12 s, then at
 * full gain for 12 s: the loud beats after the first 2 s of the loud part
 * read high (over 2/3), the quiet ones low (under 1/3) once 4 s have been
 * heard. The onset strength, which stands for how much a beat stands out,
 * does not tell the two parts apart (montageselect paced by it cut on every
 * beat). */
TEST(MontageBeat, BeatsCarryTheMusicsEnergyAgainstTheSongSoFar)
{
  const guint rate = 44100;
  for (const char *mode : {"offline", "live"}) {
    SCOPED_TRACE(mode);
    Fixture f(rate, 1, false);
    gst_util_set_object_arg(G_OBJECT(f.h->element), "mode", mode);
    std::vector<double> onsets = grid(120, 0.5, 24.0), gains;
    for (double t : onsets)
      gains.push_back(t < 12.0 ? 0.1 : 1.0);
    Clicks ck = clicks_at(rate, onsets, gains, 24.0);
    f.push(ck.mono, 0, ck.mono.size(), 0);
    std::vector<GstStructure *> beats = f.take("montage-beat");
    ASSERT_GT(beats.size(), 30u);
    int quiet = 0, loud = 0;
    for (const GstStructure *s : beats) {
      guint64 t = 0;
      double e = -1;
      ASSERT_TRUE(gst_structure_get_uint64(s, "timestamp", &t));
      ASSERT_TRUE(gst_structure_get_double(s, "energy", &e));
      ASSERT_GE(e, 0.0);
      ASSERT_LE(e, 1.0);
      if (t >= 14 * GST_SECOND) {
        EXPECT_GT(e, 2.0 / 3) << "beat at " << t;
        loud++;
      } else if (t >= 4 * GST_SECOND && t < 12 * GST_SECOND) {
        EXPECT_LT(e, 1.0 / 3) << "beat at " << t;
        quiet++;
      }
    }
    free_all(beats);
    EXPECT_GT(quiet, 10);
    EXPECT_GT(loud, 10);
    /* The meta carries the same. */
    std::vector<MontageBeatInfo> metas = metas_of(f);
    ASSERT_FALSE(metas.empty());
    EXPECT_GT(metas.back().energy, 2.0 / 3);
  }
}

TEST(MontageBeat, FirstBeatsAreAsStrongAsTheLaterOnes)
{
  const guint rate = 44100;
  for (const char *mode : {"offline", "live"}) {
    for (double lead : {0.5, 4.0}) {
      SCOPED_TRACE(std::string(mode) + ", clicks from " + std::to_string(lead) + " s");
      Fixture f(rate, 1, false);
      gst_util_set_object_arg(G_OBJECT(f.h->element), "mode", mode);
      Clicks ck = make_clicks(rate, 120, lead, lead + 30.0);
      f.push(ck.mono, 0, ck.mono.size(), 0);
      std::vector<GstStructure *> beats = f.take("montage-beat");
      ASSERT_GT(beats.size(), 40u);
      expect_on_clicks(beat_times(beats), ck.clicks);
      std::vector<double> strength, confidence;
      for (const GstStructure *s : beats) {
        double v = 0, c = 0;
        ASSERT_TRUE(gst_structure_get_double(s, "strength", &v));
        ASSERT_TRUE(gst_structure_get_double(s, "confidence", &c));
        strength.push_back(v);
        confidence.push_back(c);
      }
      free_all(beats);
      /* The clicks' strengths vary by 2:1 over the song (where each click
       * falls in its 11.6 ms hop drifts at 120 BPM): the first beats lie
       * within the range of the second half's. */
      const auto later =
          std::minmax_element(strength.begin() + (long)strength.size() / 2, strength.end());
      EXPECT_GT(*later.first, 2.0) << "clicks stand out of the envelope";
      for (std::size_t i = 0; i < 4; i++) {
        EXPECT_GE(strength[i], 0.9 * *later.first) << "beat " << i;
        EXPECT_LE(strength[i], 1.1 * *later.second) << "beat " << i;
        EXPECT_GE(confidence[i], 0.8 * confidence.back()) << "beat " << i;
      }
    }
  }
}

/* A splitter cutting a buffer in pieces (gst_buffer_copy_region(), as
 * audiobuffersplit does) gives each beat to the piece that holds it, once:
 * before, every piece carried every beat of the buffer. A beat before the
 * buffer's PTS (known after its own buffer left) goes with the first piece;
 * a whole copy keeps them all. */
TEST(MontageBeat, RegionCopiesCarryEachBeatOnce)
{
  GstBuffer *b = gst_buffer_new_allocate(NULL, 4410 * 4, NULL); /* 100 ms of F32 mono at 44.1 kHz */
  GST_BUFFER_PTS(b) = GST_SECOND;
  GST_BUFFER_DURATION(b) = 100 * GST_MSECOND;
  for (GstClockTime t : {980 * GST_MSECOND, 1010 * GST_MSECOND, 1060 * GST_MSECOND}) {
    MontageBeatInfo info = {t, 5.0, FALSE, 0, 120.0, 0.5};
    ASSERT_NE(montage_buffer_add_beat_meta(b, &info), nullptr);
  }
  auto times = [](GstBuffer *buf) {
    MontageBeatInfo out[8];
    const guint n = montage_buffer_get_beats(buf, out, 8);
    std::vector<GstClockTime> t;
    for (guint i = 0; i < std::min(n, 8u); i++)
      t.push_back(out[i].time);
    return t;
  };
  GstBuffer *first = gst_buffer_copy_region(b, GST_BUFFER_COPY_ALL, 0, 2205 * 4);
  GstBuffer *second = gst_buffer_copy_region(b, GST_BUFFER_COPY_ALL, 2205 * 4, 2205 * 4);
  GstBuffer *whole = gst_buffer_copy(b);
  EXPECT_EQ(times(first), (std::vector<GstClockTime>{980 * GST_MSECOND, 1010 * GST_MSECOND}));
  EXPECT_EQ(times(second), (std::vector<GstClockTime>{1060 * GST_MSECOND}));
  EXPECT_EQ(times(whole).size(), 3u);
  /* Without a duration the pieces' times are unknown: each keeps them all. */
  GST_BUFFER_DURATION(b) = GST_CLOCK_TIME_NONE;
  GstBuffer *untimed = gst_buffer_copy_region(b, GST_BUFFER_COPY_ALL, 2205 * 4, 2205 * 4);
  EXPECT_EQ(times(untimed).size(), 3u);
  for (GstBuffer *x : {b, first, second, whole, untimed})
    gst_buffer_unref(x);
}

/* In offline mode the system clock's thread posts the messages that waited;
 * an application's bus sync handler may seek from inside that post (here:
 * a flush, FLUSH_START and FLUSH_STOP, from that thread). Before, the
 * element held its post lock through the post, and the flush's reset took
 * it again: the pipeline hung. The handler runs in the clock's thread; the
 * test waits for it for 20 s, and on a hang fails and ends the process
 * (its threads are stuck) rather than hang the suite. */
TEST(MontageBeat, SyncHandlerMayFlushFromTheClocksPost)
{
  struct Shared {
    GstHarness *h = nullptr;
    GThread *test_thread = nullptr;
    GMutex lock;
    GCond cond;
    /* The test thread is not pushing: the handler may flush. */
    bool idle = false;
    bool entered = false, left = false;
  };
  Shared *sh = new Shared();
  g_mutex_init(&sh->lock);
  g_cond_init(&sh->cond);
  Fixture *f = new Fixture(44100, 1, false);
  sh->h = f->h;
  sh->test_thread = g_thread_self();
  gst_bus_set_sync_handler(
      f->bus,
      [](GstBus *, GstMessage *m, gpointer data) -> GstBusSyncReply {
        Shared *sh = static_cast<Shared *>(data);
        if (GST_MESSAGE_TYPE(m) != GST_MESSAGE_ELEMENT || g_thread_self() == sh->test_thread)
          return GST_BUS_PASS;
        g_mutex_lock(&sh->lock);
        const bool act = sh->idle && !sh->entered;
        sh->entered = sh->entered || act;
        g_cond_broadcast(&sh->cond);
        g_mutex_unlock(&sh->lock);
        if (!act)
          return GST_BUS_PASS;
        gst_harness_push_event(sh->h, gst_event_new_flush_start());
        gst_harness_push_event(sh->h, gst_event_new_flush_stop(TRUE));
        g_mutex_lock(&sh->lock);
        sh->left = true;
        g_cond_broadcast(&sh->cond);
        g_mutex_unlock(&sh->lock);
        return GST_BUS_PASS;
      },
      sh, nullptr);
  /* Audio, then a pause in which the clock's thread posts what waits; more
   * audio (a message more, within 50 ms of the last post) where none did. */
  Clicks ck = make_clicks(44100, 120, 0.5, 5.0);
  std::size_t pos = 0;
  f->push(ck.mono, 0, pos = 44100 * 2, 0);
  for (int round = 0; round < 20 && pos + 4410 <= ck.mono.size(); round++) {
    g_mutex_lock(&sh->lock);
    sh->idle = true;
    const gint64 pause = g_get_monotonic_time() + 200 * G_TIME_SPAN_MILLISECOND;
    while (!sh->entered && g_cond_wait_until(&sh->cond, &sh->lock, pause)) {
    }
    const bool done = sh->entered;
    if (!done)
      sh->idle = false;
    g_mutex_unlock(&sh->lock);
    if (done)
      break;
    f->push(ck.mono, pos, pos + 4410, gst_util_uint64_scale(pos, GST_SECOND, 44100));
    pos += 4410;
  }
  const gint64 until = g_get_monotonic_time() + 20 * G_TIME_SPAN_SECOND;
  g_mutex_lock(&sh->lock);
  while (sh->entered && !sh->left && g_cond_wait_until(&sh->cond, &sh->lock, until)) {
  }
  const bool entered = sh->entered, left = sh->left;
  g_mutex_unlock(&sh->lock);
  if (entered && !left) {
    /* The stuck threads would hang gst_deinit() at exit (the system clock
     * joins its thread) until meson's timeout: the process ends here. */
    ADD_FAILURE() << "deadlock: the flush from the sync handler did not return in 20 s";
    std::fflush(nullptr);
    std::_Exit(1);
  }
  EXPECT_TRUE(entered) << "no message posted from the clock's thread: the test proves nothing";
  if (entered) {
    /* The element goes on after the flush. */
    GstSegment seg;
    gst_segment_init(&seg, GST_FORMAT_TIME);
    EXPECT_TRUE(gst_harness_push_event(f->h, gst_event_new_segment(&seg)));
    f->flushed();
    f->push(ck.mono, 0, 44100, 0);
    f->eos();
  }
  gst_bus_set_sync_handler(f->bus, nullptr, nullptr, nullptr);
  delete f;
  g_mutex_clear(&sh->lock);
  g_cond_clear(&sh->cond);
  delete sh;
}

/* A new stream (STREAM_START, no EOS before: a gapless track change) starts
 * after the audio held of the stream before: that audio goes out ahead of
 * the stream-start. Before, the stream-start overtook live-delay of it. */
TEST(MontageBeat, StreamStartWaitsForTheHeldAudio)
{
  const guint rate = 44100;
  Fixture f(rate, 1, false);
  Order order(f.h);
  f.blocks = {4410};
  Clicks ck = make_clicks(rate, 120, 0.25, 1.0);
  f.push(ck.mono, 0, ck.mono.size(), 0);
  ASSERT_LT(f.received, f.sent.size()) << "nothing held: the test proves nothing";
  const std::size_t before = order.seen.size();
  ASSERT_TRUE(gst_harness_push_event(f.h, gst_event_new_stream_start("stream-B")));
  GstSegment seg;
  gst_segment_init(&seg, GST_FORMAT_TIME);
  ASSERT_TRUE(gst_harness_push_event(f.h, gst_event_new_segment(&seg)));
  f.push(ck.mono, 0, 4410, 0);
  f.pull_available();
  std::vector<std::string> after(order.seen.begin() + (long)before, order.seen.end());
  /* The held audio of stream A, then B's stream-start and segment, then B's audio. */
  std::size_t held = 0;
  while (held < after.size() && after[held] == "buffer")
    held++;
  EXPECT_GT(held, 0u) << "the stream-start went out before the held audio";
  ASSERT_LT(held, after.size());
  EXPECT_EQ(after[held], "stream-start");
  EXPECT_EQ(order.count("buffer") + 1, f.sent.size()) << "all of stream A out, B's buffer held";
  std::size_t start = order.last("stream-start");
  for (std::size_t i = start; i < order.seen.size(); i++)
    EXPECT_NE(order.seen[i], "buffer") << "stream A's audio after stream B's start";
}

/* A live source gone quiet sends GAP events, no buffers: the time they
 * cover is analysed as silence, so the audio held for live-delay goes out
 * once that much of the gap follows it, and the GAPs go on behind it, in
 * order, without waiting for the next buffer or EOS. Before, after 1 s of
 * audio and 3 s of GAPs, 6 of 10 buffers and none of the 30 GAPs had come
 * out. */
TEST(MontageBeat, GapEventsLetTheHeldAudioOutAndGoOn)
{
  for (const char *mode : {"offline", "live"}) {
    SCOPED_TRACE(mode);
    const guint rate = 44100;
    Fixture f(rate, 1, false);
    gst_util_set_object_arg(G_OBJECT(f.h->element), "mode", mode);
    GstSegment seg; /* the mode applies from the next segment */
    gst_segment_init(&seg, GST_FORMAT_TIME);
    ASSERT_TRUE(gst_harness_push_event(f.h, gst_event_new_segment(&seg)));
    Order order(f.h);
    f.blocks = {4410};
    Clicks ck = make_clicks(rate, 120, 0.25, 1.0);
    f.push(ck.mono, 0, ck.mono.size(), 0);
    ASSERT_EQ(f.sent.size(), 10u);
    ASSERT_LT(f.received, f.sent.size()) << "nothing held: the test proves nothing";
    for (int i = 10; i < 40; i++)
      ASSERT_TRUE(
          gst_harness_push_event(f.h, gst_event_new_gap(i * 100 * GST_MSECOND, 100 * GST_MSECOND)));
    f.pull_available();
    EXPECT_EQ(f.received, f.sent.size()) << "audio still held after 3 s of GAP events";
    EXPECT_EQ(order.count("gap"), 30u) << "GAP events held back";
    EXPECT_EQ(order.count("buffer"), 10u);
    EXPECT_LT(order.last("buffer"), order.first("gap")) << "a GAP overtook the held audio";
    /* The gaps count in the stream's length, as silence. */
    f.eos();
    Summary sum = take_summary(f);
    EXPECT_EQ(sum.duration, 4 * GST_SECOND);
  }
}
