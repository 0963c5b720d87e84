/* GstHarness tests for the montageselect element: switch timing to the frame
 * from a beat meta (one carried by a later buffer too) and from the bpm
 * property, a beat pad that stops, zero-copy forwarding,
 * force-key-unit events, min-shot-length, an input dropping out (EOS and no
 * data past the latency), a pad added while playing, the output grid's
 * durations and downstream changing its rate mid-stream, inputs of another format (at the start and
 * mid-stream), how far an input's queued data reaches (live and not), a flush while a frame is
 * decided, a second run after a stop, frames late within the grace, manual
 * takes (active-pad), timestamps in the output segment after a seek, GAP
 * events on an input, the metas and flags of a frame shown again, the inputs'
 * allocation query, overlay elements in front of inputs (a pipeline), a beat
 * pad without video inputs, a slow input's last frame at EOS. The selection engine itself is tested
 * in test_selection.cpp. */
#include <gtest/gtest.h>

#include "testutil.h"

#include <gst/check/gstharness.h>
#include <gst/check/gsttestclock.h>
#include <gst/video/video.h>

#include "gstmontageselect.h"

#include <gst/montage/beatmeta.h>
#include <gst/montage/shotmeta.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace
{

constexpr GstClockTime kFrame = GST_SECOND / 25;
constexpr const char *kVideoCaps = "video/x-raw,format=GRAY8,width=16,height=16,framerate=25/1";
constexpr const char *kAudioCaps =
    "audio/x-raw,format=F32LE,rate=8000,channels=1,layout=interleaved";

struct Switch {
  GstClockTime running_time = GST_CLOCK_TIME_NONE;
  GstClockTime beat_time = GST_CLOCK_TIME_NONE;
  std::string reason, previous, now;
  double total = 0.0, jump_cut = -1.0;
  guint count = 0;
};

/* A montageselect with harnesses on its pads; frames carry memory that cannot
 * be mapped (GST_MEMORY_FLAG_NOT_MAPPABLE), so any map in the element fails. */
class Mixer
{
public:
  /* latency_event: a LATENCY event goes upstream from the output first, as a
   * live pipeline sends once its latency is configured (before it, a live
   * element holds an input on air whose frames come late: kStartHold). */
  explicit Mixer(int inputs, bool beat_pad, bool latency_event = true)
  {
    static gsize once = 0;
    if (g_once_init_enter(&once))
      g_once_init_leave(&once, GST_ELEMENT_REGISTER(montageselect, NULL) ? 1 : 2);
    element = gst_element_factory_make("montageselect", NULL);
    bus = gst_bus_new();
    gst_element_set_bus(element, bus);
    for (int i = 0; i < inputs; i++)
      add_input();
    if (beat_pad) {
      beat = gst_harness_new_with_element(element, "beat", NULL);
      gst_harness_set_src_caps_str(beat, kAudioCaps);
    }
    if (latency_event && inputs > 0)
      gst_harness_push_upstream_event(out(), gst_event_new_latency(0));
  }
  ~Mixer()
  {
    if (beat)
      gst_harness_teardown(beat);
    for (auto it = inputs.rbegin(); it != inputs.rend(); ++it)
      if (*it)
        gst_harness_teardown(*it);
    for (auto &kv : memories)
      gst_memory_unref(kv.second);
    gst_element_set_bus(element, NULL);
    gst_object_unref(bus);
    gst_object_unref(element);
  }

  /* Requests sink_N (N = inputs.size()) and sets its caps. */
  GstHarness *add_input(const char *caps = kVideoCaps)
  {
    const std::string pad = "sink_" + std::to_string(inputs.size());
    GstHarness *h = gst_harness_new_with_element(element, pad.c_str(),
                                                 inputs.empty() ? "src" : NULL);
    gst_harness_set_src_caps_str(h, caps);
    inputs.push_back(h);
    return h;
  }
  GstHarness *out() { return inputs[0]; }

  /* Takes the element to READY and back to PLAYING (a stop and a new run),
   * then starts each input's stream again (stream-start, caps, segment). */
  void restart()
  {
    ASSERT_EQ(GST_STATE_CHANGE_SUCCESS, gst_element_set_state(element, GST_STATE_READY));
    ASSERT_NE(GST_STATE_CHANGE_FAILURE, gst_element_set_state(element, GST_STATE_PLAYING));
    for (std::size_t i = 0; i < inputs.size(); i++) {
      const std::string id = "restart-" + std::to_string(i) + "-" + std::to_string(++runs);
      ASSERT_TRUE(gst_harness_push_event(inputs[i], gst_event_new_stream_start(id.c_str())));
      gst_harness_set_src_caps_str(inputs[i], kVideoCaps);
    }
    drain_bus();
    posted_switches.clear();
    posted_warnings.clear();
    for (auto &kv : memories)
      gst_memory_unref(kv.second);
    memories.clear();
  }

  /* Pushes frame k of input i; shot_start adds montagescene's shot meta. */
  void push_frame(int i, int k, bool shot_start = false, const montage::ShotProgress *features = nullptr)
  {
    push_frame_at(i, k, k * kFrame, kFrame, shot_start, features);
  }

  /* Pushes frame k of input i with its own timestamp and duration;
   * boundary false makes the shot meta montagescene's for a shot begun by no
   * cut (the stream's first frame). */
  void push_frame_at(int i, int k, GstClockTime pts, GstClockTime duration, bool shot_start = false,
                     const montage::ShotProgress *features = nullptr, bool boundary = true)
  {
    GstMemory *mem = gst_allocator_alloc(NULL, 16 * 16, NULL);
    GST_MINI_OBJECT_FLAG_SET(mem, GST_MEMORY_FLAG_NOT_MAPPABLE);
    memories[{i, k}] = gst_memory_ref(mem);
    GstBuffer *buf = gst_buffer_new();
    gst_buffer_append_memory(buf, mem);
    GST_BUFFER_PTS(buf) = pts;
    GST_BUFFER_DURATION(buf) = duration;
    if (shot_start) {
      montage::ShotStart s;
      s.transition_start = s.transition_end = pts;
      s.boundary = boundary;
      ASSERT_TRUE(montage::shot_meta_add(buf, s));
    }
    if (features) {
      ASSERT_TRUE(montage::shot_features_meta_add(buf, *features));
    }
    ASSERT_EQ(GST_FLOW_OK, gst_harness_push(inputs[i], buf));
  }

  /* The `energy` push_audio() gives its beats (0.75: high). */
  double beat_energy = 0.75;

  /* Pushes the audio of frame k's interval with the beats in it (strength 3,
   * energy beat_energy). */
  void push_audio(int k, const std::vector<GstClockTime> &beats)
  {
    GstBuffer *buf = gst_buffer_new_allocate(NULL, 320 * sizeof(float), NULL);
    gst_buffer_memset(buf, 0, 0, 320 * sizeof(float));
    GST_BUFFER_PTS(buf) = k * kFrame;
    GST_BUFFER_DURATION(buf) = kFrame;
    for (GstClockTime b : beats)
      if (b >= k * kFrame && b < (k + 1) * kFrame) {
        MontageBeatInfo info{b, 3.0, FALSE, 0, 120.0, beat_energy};
        montage_buffer_add_beat_meta(buf, &info);
      }
    ASSERT_EQ(GST_FLOW_OK, gst_harness_push(beat, buf));
  }

  /* Pushes `duration` of silence at `pts` on the beat pad carrying a beat meta
   * for each time in `beats` (strength 3, energy beat_energy), wherever
   * those times are: montagebeat puts a beat it knew late on the next buffer
   * out, before that buffer's PTS. */
  void push_audio_at(GstClockTime pts, GstClockTime duration,
                     const std::vector<GstClockTime> &beats)
  {
    const gsize samples = gst_util_uint64_scale(duration, 8000, GST_SECOND);
    GstBuffer *buf = gst_buffer_new_allocate(NULL, samples * sizeof(float), NULL);
    gst_buffer_memset(buf, 0, 0, samples * sizeof(float));
    GST_BUFFER_PTS(buf) = pts;
    GST_BUFFER_DURATION(buf) = duration;
    for (GstClockTime b : beats) {
      MontageBeatInfo info{b, 3.0, FALSE, 0, 120.0, beat_energy};
      montage_buffer_add_beat_meta(buf, &info);
    }
    ASSERT_EQ(GST_FLOW_OK, gst_harness_push(beat, buf));
  }

  /* The next output buffer, waiting up to 10 s (never timed: a stall fails). */
  GstBuffer *pull()
  {
    for (int n = 0; n < 10000; n++) {
      if (GstBuffer *b = gst_harness_try_pull(out()))
        return b;
      g_usleep(1000);
    }
    return nullptr;
  }

  /* Which input's frame an output buffer shows: (input, frame), or (-1, -1). */
  std::pair<int, int> source_of(GstBuffer *buf)
  {
    if (gst_buffer_n_memory(buf) != 1)
      return {-1, -1};
    GstMemory *m = gst_buffer_peek_memory(buf, 0);
    for (auto &kv : memories)
      if (kv.second == m)
        return kv.first;
    return {-1, -1};
  }

  /* The montage-switch messages posted since the last call. */
  std::vector<Switch> switches()
  {
    drain_bus();
    return std::exchange(posted_switches, {});
  }

  /* The messages of the warnings posted since the last call. */
  std::vector<std::string> warnings()
  {
    drain_bus();
    return std::exchange(posted_warnings, {});
  }

  /* Reads the bus into posted_switches and posted_warnings. */
  void drain_bus()
  {
    while (GstMessage *msg = gst_bus_pop(bus)) {
      const GstStructure *s = gst_message_get_structure(msg);
      if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ELEMENT &&
          gst_structure_has_name(s, "montage-switch")) {
        Switch w;
        guint64 v;
        if (gst_structure_get_uint64(s, "running-time", &v))
          w.running_time = v;
        if (gst_structure_get_uint64(s, "beat-time", &v))
          w.beat_time = v;
        w.reason = gst_structure_get_string(s, "reason");
        w.previous = gst_structure_get_string(s, "previous-pad");
        w.now = gst_structure_get_string(s, "new-pad");
        gst_structure_get_double(s, "total", &w.total);
        gst_structure_get_double(s, "jump-cut", &w.jump_cut);
        gst_structure_get_uint(s, "count", &w.count);
        posted_switches.push_back(w);
      } else if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_WARNING) {
        GError *err = nullptr;
        gst_message_parse_warning(msg, &err, NULL);
        posted_warnings.push_back(err ? err->message : "");
        g_clear_error(&err);
      }
      gst_message_unref(msg);
    }
  }

  /* Sends new caps on input i as a CAPS event. False when it could not even
   * be stored; a refusal by the element shows at the next push (not-negotiated). */
  bool set_caps(int i, const char *caps)
  {
    GstCaps *c = gst_caps_from_string(caps);
    const bool ok = gst_pad_push_event(inputs[i]->srcpad, gst_event_new_caps(c));
    gst_caps_unref(c);
    return ok;
  }

  /* The caps events sent downstream so far (other events are dropped). */
  std::vector<std::string> output_caps()
  {
    std::vector<std::string> out;
    while (GstEvent *e = gst_harness_try_pull_event(this->out())) {
      if (GST_EVENT_TYPE(e) == GST_EVENT_CAPS) {
        GstCaps *c;
        gst_event_parse_caps(e, &c);
        gchar *str = gst_caps_to_string(c);
        out.push_back(str);
        g_free(str);
      }
      gst_event_unref(e);
    }
    return out;
  }

  /* Whether a RECONFIGURE event went upstream of input i since the last call. */
  bool reconfigure_sent(int i)
  {
    bool seen = false;
    while (GstEvent *e = gst_harness_try_pull_upstream_event(inputs[i])) {
      seen = seen || GST_EVENT_TYPE(e) == GST_EVENT_RECONFIGURE;
      gst_event_unref(e);
    }
    return seen;
  }

  /* force-key-unit running times received downstream so far. */
  /* The running times of the timed force-key-unit requests pulled so far,
   * each checked to be followed by its "next frame" twin (running time
   * NONE, same count: gst/montage/keyunit.h). */
  std::vector<GstClockTime> key_unit_requests()
  {
    std::vector<GstClockTime> out;
    guint last_count = 0;
    bool twin_due = false;
    while (GstEvent *e = gst_harness_try_pull_event(this->out())) {
      GstClockTime ts, st, rt;
      gboolean all;
      guint count;
      if (gst_video_event_is_force_key_unit(e) &&
          gst_video_event_parse_downstream_force_key_unit(e, &ts, &st, &rt, &all, &count)) {
        if (GST_CLOCK_TIME_IS_VALID(rt)) {
          EXPECT_FALSE(twin_due) << "a timed request without its next-frame twin";
          out.push_back(rt);
          last_count = count;
          twin_due = true;
        } else {
          EXPECT_TRUE(twin_due && count == last_count) << "a next-frame request alone";
          twin_due = false;
        }
      }
      gst_event_unref(e);
    }
    EXPECT_FALSE(twin_due) << "a timed request without its next-frame twin";
    return out;
  }

  GstElement *element = nullptr;
  GstBus *bus = nullptr;
  std::vector<GstHarness *> inputs;
  GstHarness *beat = nullptr;
  int runs = 0;
  std::map<std::pair<int, int>, GstMemory *> memories;
  std::vector<Switch> posted_switches;
  std::vector<std::string> posted_warnings;
};

std::string to_string(const GstCaps *caps)
{
  gchar *str = gst_caps_to_string(caps);
  std::string out = str;
  g_free(str);
  return out;
}

int pad_index(const std::string &name)
{
  return name.rfind("sink_", 0) == 0 ? std::stoi(name.substr(5)) : -1;
}

} // namespace

/* With the style's pacing (beats-per-cut 0), the beats between switches
 * follow the music's energy on the beat meta (balanced: 4 beats when low,
 * 2 medium, 1 high), not the beat's onset strength. Before, the energy was
 * strength / 4: strong beats (montagebeat gives music's drum hits 5-15 and
 * audiotestsrc's ticks about 5) made every passage a peak, one switch a
 * beat. */
TEST(MontageSelect, PacingFollowsTheMusicsEnergyNotTheBeatsStrength)
{
  for (const auto &[energy, beats_per_cut] : {std::pair<double, int>{0.1, 4}, {0.5, 2}, {0.9, 1}}) {
    SCOPED_TRACE(testing::Message() << "energy " << energy);
    Mixer m(3, true);
    m.beat_energy = energy;
    g_object_set(m.element, "min-shot-length", (guint64)0, NULL);
    std::vector<GstClockTime> beats;
    for (int b = 1; b <= 16; b++)
      beats.push_back(b * 500 * GST_MSECOND);
    for (int k = 0; k < 225; k++) {
      for (int i = 0; i < 3; i++)
        m.push_frame(i, k);
      m.push_audio(k, beats);
      GstBuffer *out = m.pull();
      ASSERT_NE(nullptr, out) << "no output for frame " << k;
      gst_buffer_unref(out);
    }
    std::vector<GstClockTime> at;
    for (const Switch &s : m.switches())
      if (s.reason == "beat")
        at.push_back(s.beat_time);
    ASSERT_GE(at.size(), 2u);
    for (size_t k = 1; k < at.size(); k++)
      EXPECT_EQ(at[k] - at[k - 1], (GstClockTime)beats_per_cut * 500 * GST_MSECOND)
          << "switches on the beats at " << at[k - 1] << " and " << at[k];
  }
}

/* A beat between two frames switches on the frame after it; a beat on a frame
 * switches on that frame; each output buffer is an input's own memory. */
TEST(MontageSelect, SwitchLandsOnTheFrameAfterTheBeatMeta)
{
  Mixer m(2, true);
  g_object_set(m.element, "beats-per-cut", 1u, "min-shot-length", (guint64)0, NULL);
  const std::vector<GstClockTime> beats = {1010 * GST_MSECOND, 2000 * GST_MSECOND};
  std::vector<std::pair<int, int>> shown;
  for (int k = 0; k < 60; k++) {
    m.push_frame(0, k);
    m.push_frame(1, k);
    m.push_audio(k, beats);
    GstBuffer *out = m.pull();
    ASSERT_NE(nullptr, out) << "no output for frame " << k;
    EXPECT_EQ(k * kFrame, GST_BUFFER_PTS(out));
    shown.push_back(m.source_of(out));
    EXPECT_EQ(k, shown.back().second) << "output frame " << k << " is not an input's frame " << k;
    gst_buffer_unref(out);
  }
  std::vector<Switch> sw = m.switches();
  ASSERT_EQ(3u, sw.size());
  EXPECT_EQ("start", sw[0].reason);
  EXPECT_EQ(0u, sw[0].running_time);
  EXPECT_EQ("beat", sw[1].reason);
  EXPECT_EQ(1010 * GST_MSECOND, sw[1].beat_time);
  EXPECT_EQ(26 * kFrame, sw[1].running_time); /* 1.040 s: first frame at or after 1.010 */
  EXPECT_EQ(sw[0].now, sw[1].previous);
  EXPECT_NE(sw[1].previous, sw[1].now);
  EXPECT_EQ(0.0, sw[1].jump_cut);
  EXPECT_EQ(50 * kFrame, sw[2].running_time); /* on the frame */
  EXPECT_EQ(sw[1].now, sw[2].previous);
  /* The frames shown come from the input on air at each time. */
  const int first = pad_index(sw[0].now), second = pad_index(sw[1].now);
  for (int k = 0; k < 60; k++) {
    const int want = k < 26 ? first : k < 50 ? second : first;
    EXPECT_EQ(want, shown[k].first) << "frame " << k;
  }
}

/* montagebeat knew the beat at 1.037 s only after the 10 ms buffer holding
 * it (1.035-1.045 s) had gone out, and put its meta on the next buffer,
 * which starts at 1.045 s: after the start of frame 26 (1.040 s), the first
 * frame at or after the beat. The switch lands on frame 26 all the same; a
 * beat in its own buffer (2.0 s) lands on its frame as ever. Before, frame
 * 26 read only the beat buffers starting by 1.040 s, and the switch came a
 * frame late, at 1.080 s (a new user's trial of the tool's live mode: 9 of
 * 20 switches, every one a beat 0-5 ms before a frame). Live (the
 * aggregator's timeout) and not (files: no timeout, the frame waits for the
 * data). */
static void beat_carried_by_a_later_buffer(bool live)
{
  Mixer m(2, true);
  /* Room for a frame's four audio buffers in the beat pad's queue whatever
   * the element reads of them (GstAggregator's latency property). */
  g_object_set(m.element, "beats-per-cut", 1u, "min-shot-length", (guint64)0, "latency",
               (GstClockTime)GST_SECOND, NULL);
  for (GstHarness *h : m.inputs)
    gst_harness_set_live(h, live);
  gst_harness_set_live(m.beat, live);
  const GstClockTime late = 1037 * GST_MSECOND, on_time = 2000 * GST_MSECOND;
  const GstClockTime chunk = 10 * GST_MSECOND;
  /* The buffer after the beat's own (1.035-1.045 s). */
  const GstClockTime carrier = 1045 * GST_MSECOND;
  GstClockTime audio = 5 * GST_MSECOND; /* where the next audio buffer starts */
  std::vector<std::pair<int, int>> shown;
  for (int k = 0; k < 60; k++) {
    m.push_frame(0, k);
    m.push_frame(1, k);
    /* The audio to the end of the frame and a little past. */
    for (; audio < (k + 1) * kFrame; audio += chunk) {
      std::vector<GstClockTime> beats;
      if (audio == carrier)
        beats.push_back(late);
      if (on_time >= audio && on_time < audio + chunk)
        beats.push_back(on_time);
      m.push_audio_at(audio, chunk, beats);
    }
    GstBuffer *out = m.pull();
    ASSERT_NE(nullptr, out) << "no output for frame " << k;
    EXPECT_EQ(k * kFrame, GST_BUFFER_PTS(out));
    shown.push_back(m.source_of(out));
    gst_buffer_unref(out);
  }
  std::vector<Switch> sw = m.switches();
  ASSERT_EQ(3u, sw.size());
  EXPECT_EQ("start", sw[0].reason);
  EXPECT_EQ("beat", sw[1].reason);
  EXPECT_EQ(late, sw[1].beat_time);
  EXPECT_EQ(26 * kFrame, sw[1].running_time) << "the first frame at or after 1.037 s: 1.040 s";
  EXPECT_EQ("beat", sw[2].reason);
  EXPECT_EQ(on_time, sw[2].beat_time);
  EXPECT_EQ(50 * kFrame, sw[2].running_time);
  const int first = pad_index(sw[0].now), second = pad_index(sw[1].now);
  for (int k = 0; k < 60; k++)
    EXPECT_EQ(std::make_pair(k < 26   ? first
                             : k < 50 ? second
                                      : first,
                             k),
              shown[k])
        << "frame " << k;
}

TEST(MontageSelect, BeatCarriedByALaterBufferSwitchesOnItsFrameLive)
{
  beat_carried_by_a_later_buffer(true);
}

TEST(MontageSelect, BeatCarriedByALaterBufferSwitchesOnItsFrameNotLive)
{
  beat_carried_by_a_later_buffer(false);
}

/* The beat pad's data stops 20 ms into frame 10 (0.40-0.42 s, a beat at
 * 0.41 s in it): with an EOS after it, or none (a live source that stops).
 * Frames wait for the beats to their end, but never past the beat pad's EOS
 * or, live, the latency: every frame still comes out (each at the clock's
 * deadline when the pad has gone silent), and the beat read ahead of frame 10
 * switches on frame 11, the first at or after it. */
static void beat_pad_stopping_does_not_stall(bool eos)
{
  Mixer m(2, true);
  g_object_set(m.element, "beats-per-cut", 1u, "min-shot-length", (guint64)0, NULL);
  for (int k = 0; k < 20; k++) {
    m.push_frame(0, k);
    m.push_frame(1, k);
    if (k < 10) {
      m.push_audio(k, {});
    } else if (k == 10) {
      m.push_audio_at(10 * kFrame, 20 * GST_MSECOND, {410 * GST_MSECOND});
      if (eos) {
        ASSERT_TRUE(gst_harness_push_event(m.beat, gst_event_new_eos()));
      }
    }
    GstBuffer *out = gst_harness_try_pull(m.out());
    if (!out && !eos && k >= 10) {
      /* Waiting for beats that do not come: let the latency pass. */
      ASSERT_TRUE(gst_harness_crank_single_clock_wait(m.out())) << "frame " << k;
    }
    if (!out)
      out = m.pull();
    ASSERT_NE(nullptr, out) << "the output stalled at frame " << k;
    EXPECT_EQ(k * kFrame, GST_BUFFER_PTS(out));
    EXPECT_EQ(k, m.source_of(out).second);
    gst_buffer_unref(out);
  }
  std::vector<Switch> sw = m.switches();
  ASSERT_EQ(2u, sw.size());
  EXPECT_EQ("beat", sw[1].reason);
  EXPECT_EQ(410 * GST_MSECOND, sw[1].beat_time);
  EXPECT_EQ(11 * kFrame, sw[1].running_time);
}

TEST(MontageSelect, BeatPadEndingDoesNotStallTheMix)
{
  beat_pad_stopping_does_not_stall(true);
}

TEST(MontageSelect, BeatPadFallingSilentLiveDoesNotStallTheMix)
{
  beat_pad_stopping_does_not_stall(false);
}

/* Each switch asks downstream for a keyframe on its frame, before it. */
TEST(MontageSelect, ForceKeyUnitOnEachSwitch)
{
  Mixer m(2, true);
  g_object_set(m.element, "beats-per-cut", 1u, "min-shot-length", (guint64)0, NULL);
  const std::vector<GstClockTime> beats = {500 * GST_MSECOND, 1000 * GST_MSECOND,
                                           1500 * GST_MSECOND};
  std::vector<GstClockTime> requests;
  for (int k = 0; k < 45; k++) {
    m.push_frame(0, k);
    m.push_frame(1, k);
    m.push_audio(k, beats);
    GstBuffer *out = m.pull();
    ASSERT_NE(nullptr, out);
    /* Events come before the buffer they belong to: all are in by now. */
    for (GstClockTime rt : m.key_unit_requests()) {
      EXPECT_EQ(GST_BUFFER_PTS(out), rt) << "key unit requested away from the switch frame";
      requests.push_back(rt);
    }
    gst_buffer_unref(out);
  }
  std::vector<Switch> sw = m.switches();
  ASSERT_EQ(4u, sw.size());
  std::vector<GstClockTime> want;
  for (size_t i = 1; i < sw.size(); i++)
    want.push_back(sw[i].running_time);
  EXPECT_EQ(want, requests);
  /* First frames at or after 0.5, 1.0 and 1.5 s at 25 fps. */
  EXPECT_EQ((std::vector<GstClockTime>{13 * kFrame, 25 * kFrame, 38 * kFrame}), want);
}

/* Without a beat pad the bpm property makes the beats, frame-exact per beat. */
TEST(MontageSelect, BpmPropertyBeats)
{
  Mixer m(2, false);
  g_object_set(m.element, "bpm", 90.0, "beats-per-cut", 1u, "min-shot-length", (guint64)0, NULL);
  for (int k = 0; k < 50; k++) {
    m.push_frame(0, k);
    m.push_frame(1, k);
    GstBuffer *out = m.pull();
    ASSERT_NE(nullptr, out);
    gst_buffer_unref(out);
  }
  std::vector<Switch> sw = m.switches();
  /* 90 BPM: beats at 0.667, 1.333 s within 2 s (frames 0..49 end at 2.0 s). */
  ASSERT_EQ(3u, sw.size());
  for (size_t i = 1; i < sw.size(); i++) {
    const GstClockTime beat = gst_util_uint64_scale(i, 2 * GST_SECOND, 3);
    EXPECT_EQ("beat", sw[i].reason);
    EXPECT_NEAR((double)beat, (double)sw[i].beat_time, 1.0);
    EXPECT_GE(sw[i].running_time, sw[i].beat_time);
    EXPECT_LT(sw[i].running_time, sw[i].beat_time + kFrame);
  }
  EXPECT_EQ(17 * kFrame, sw[1].running_time); /* 0.680 s */
  EXPECT_EQ(34 * kFrame, sw[2].running_time); /* 1.360 s */
}

/* An input is not switched to within min-shot-length of its own cut. */
TEST(MontageSelect, MinShotLengthAfterTheInputsCut)
{
  Mixer m(2, true);
  g_object_set(m.element, "beats-per-cut", 1u, "min-shot-length", (guint64)(500 * GST_MSECOND),
               NULL);
  const std::vector<GstClockTime> beats = {1000 * GST_MSECOND, 1400 * GST_MSECOND,
                                           1600 * GST_MSECOND};
  int on_air = -1;
  for (int k = 0; k < 45; k++) {
    if (k == 1) {
      std::vector<Switch> sw = m.switches();
      ASSERT_EQ(1u, sw.size());
      on_air = pad_index(sw[0].now);
    }
    /* The other input cuts to a new shot at 0.960 s. */
    for (int i = 0; i < 2; i++)
      m.push_frame(i, k, k == 24 && on_air >= 0 && i != on_air);
    m.push_audio(k, beats);
    GstBuffer *out = m.pull();
    ASSERT_NE(nullptr, out);
    gst_buffer_unref(out);
  }
  std::vector<Switch> sw = m.switches();
  /* 1.0 s (0.04 s after its cut) and 1.4 s (0.44 s): no; 1.6 s (0.64 s): yes. */
  ASSERT_EQ(1u, sw.size());
  EXPECT_EQ(1600 * GST_MSECOND, sw[0].running_time);
  EXPECT_NE(on_air, pad_index(sw[0].now));
}

/* At a live start no input has been cut to yet: an input's first frame (with
 * montagescene's first-shot meta, or without montagescene) is not a cut, so
 * the first beat switch comes on the first beat the pacing allows, not
 * min-shot-length (default 1 s) after the inputs started. It came at 1.5 s
 * here (the first beat 1 s after the other input's first frame). */
TEST(MontageSelect, FirstSwitchDoesNotWaitMinShotLengthAfterTheStart)
{
  for (bool scene_meta : {true, false}) {
    SCOPED_TRACE(scene_meta ? "first-shot meta" : "no shot meta");
    Mixer m(2, true);
    g_object_set(m.element, "beats-per-cut", 1u, NULL); /* min-shot-length: default 1 s */
    const std::vector<GstClockTime> beats = {500 * GST_MSECOND, 1000 * GST_MSECOND,
                                             1500 * GST_MSECOND};
    for (int k = 0; k < 40; k++) {
      for (int i = 0; i < 2; i++)
        m.push_frame_at(i, k, k * kFrame, kFrame, scene_meta && k == 0, nullptr, false);
      m.push_audio(k, beats);
      GstBuffer *out = m.pull();
      ASSERT_NE(nullptr, out);
      gst_buffer_unref(out);
    }
    std::vector<Switch> sw = m.switches();
    ASSERT_GE(sw.size(), 2u);
    EXPECT_EQ("start", sw[0].reason);
    EXPECT_EQ("beat", sw[1].reason);
    EXPECT_EQ(500 * GST_MSECOND, sw[1].beat_time);
    EXPECT_EQ(13 * kFrame, sw[1].running_time); /* 0.52 s: the frame at or after the beat */
  }
}

/* A real cut still holds an input back for min-shot-length, also at the
 * start: an input that cuts 0.2 s in is not switched to until 1.2 s. So
 * does a later shot montagescene begins without a boundary (it starts its
 * analysis again after each SEGMENT: a loop, the next file of a concat),
 * a jump like a cut: only the first shot since the start follows no cut.
 * Such a shot wiped the input's cut, and it was switched to at 0.5 s. */
TEST(MontageSelect, CutNearTheStartStillHoldsTheInputBack)
{
  for (bool boundary : {true, false}) {
    SCOPED_TRACE(boundary ? "a cut" : "a shot begun without a boundary");
    Mixer m(2, true);
    g_object_set(m.element, "beats-per-cut", 1u, NULL); /* min-shot-length: default 1 s */
    const std::vector<GstClockTime> beats = {500 * GST_MSECOND, 1000 * GST_MSECOND,
                                             1200 * GST_MSECOND};
    int on_air = -1;
    for (int k = 0; k < 40; k++) {
      if (k == 1) {
        std::vector<Switch> sw = m.switches();
        ASSERT_EQ(1u, sw.size());
        on_air = pad_index(sw[0].now);
      }
      for (int i = 0; i < 2; i++)
        m.push_frame_at(i, k, k * kFrame, kFrame, k == 0 || (k == 5 && i != on_air), nullptr,
                        k != 0 && boundary);
      m.push_audio(k, beats);
      GstBuffer *out = m.pull();
      ASSERT_NE(nullptr, out);
      gst_buffer_unref(out);
    }
    std::vector<Switch> sw = m.switches();
    ASSERT_EQ(1u, sw.size());
    EXPECT_EQ(1200 * GST_MSECOND, sw[0].running_time);
    EXPECT_NE(on_air, pad_index(sw[0].now));
  }
}

/* A cut in the input on air is a cut the viewer sees: a beat switch does not
 * come sooner than the style's min-gap (balanced: 0.4 s) after it either.
 * The input on air cuts at 0.92 s; the beat at 1.0 s (0.08 s later, a flash)
 * is let pass and the switch comes on the beat at 1.4 s. It came at 1.0 s. */
TEST(MontageSelect, NoBeatSwitchRightAfterACutOnAir)
{
  Mixer m(2, true);
  g_object_set(m.element, "beats-per-cut", 1u, "min-shot-length", (guint64)0, NULL);
  const std::vector<GstClockTime> beats = {1000 * GST_MSECOND, 1400 * GST_MSECOND};
  int on_air = -1;
  for (int k = 0; k < 45; k++) {
    if (k == 1) {
      std::vector<Switch> sw = m.switches();
      ASSERT_EQ(1u, sw.size());
      on_air = pad_index(sw[0].now);
    }
    for (int i = 0; i < 2; i++)
      m.push_frame(i, k, k == 23 && i == on_air);
    m.push_audio(k, beats);
    GstBuffer *out = m.pull();
    ASSERT_NE(nullptr, out);
    gst_buffer_unref(out);
  }
  std::vector<Switch> sw = m.switches();
  ASSERT_EQ(1u, sw.size());
  EXPECT_EQ(1400 * GST_MSECOND, sw[0].running_time);
  EXPECT_EQ(1400 * GST_MSECOND, sw[0].beat_time);
  EXPECT_EQ(on_air, pad_index(sw[0].previous));
}

/* An input on air that cuts just before every beat (a music video cut to the
 * same song) holds a beat switch for one beat, not for ever: every input
 * cuts 0.04 s before each beat (1.0, 1.4, 1.8, 2.2 s), and the switches
 * come on every other beat. There were none. */
TEST(MontageSelect, InputCuttingBeforeEveryBeatStillGivesWay)
{
  Mixer m(2, true);
  g_object_set(m.element, "beats-per-cut", 1u, "min-shot-length", (guint64)0, NULL);
  const std::vector<GstClockTime> beats = {1000 * GST_MSECOND, 1400 * GST_MSECOND,
                                           1800 * GST_MSECOND, 2200 * GST_MSECOND};
  for (int k = 0; k < 60; k++) {
    for (int i = 0; i < 2; i++)
      m.push_frame(i, k, k == 24 || k == 34 || k == 44 || k == 54);
    m.push_audio(k, beats);
    GstBuffer *out = m.pull();
    ASSERT_NE(nullptr, out);
    gst_buffer_unref(out);
  }
  std::vector<Switch> sw = m.switches();
  ASSERT_EQ(3u, sw.size()) << "the start and two beat switches";
  EXPECT_EQ(1400 * GST_MSECOND, sw[1].running_time);
  EXPECT_EQ(2200 * GST_MSECOND, sw[2].running_time);
  EXPECT_EQ("beat", sw[1].reason);
}

/* The input on air sends EOS: the next frame comes from another input. */
TEST(MontageSelect, InputEndingIsTakenOut)
{
  Mixer m(2, false);
  g_object_set(m.element, "bpm", 0.0, NULL);
  int on_air = -1;
  for (int k = 0; k < 20; k++) {
    for (int i = 0; i < 2; i++)
      if (k < 10 || i != on_air)
        m.push_frame(i, k);
    if (k == 9) {
      ASSERT_TRUE(gst_harness_push_event(m.inputs[on_air], gst_event_new_eos()));
    }
    GstBuffer *out = m.pull();
    ASSERT_NE(nullptr, out) << "the output stalled at frame " << k;
    EXPECT_EQ(k * kFrame, GST_BUFFER_PTS(out));
    if (k == 0) {
      std::vector<Switch> sw = m.switches();
      ASSERT_EQ(1u, sw.size());
      on_air = pad_index(sw[0].now);
    }
    const std::pair<int, int> src = m.source_of(out);
    EXPECT_EQ(k < 10 ? on_air : 1 - on_air, src.first) << "frame " << k;
    EXPECT_EQ(k, src.second);
    gst_buffer_unref(out);
  }
  std::vector<Switch> sw = m.switches();
  ASSERT_EQ(1u, sw.size());
  EXPECT_EQ("input-lost", sw[0].reason);
  EXPECT_EQ(10 * kFrame, sw[0].running_time);
}

/* The input on air stops sending (no EOS) after frame 9; the other goes on
 * with frames 10 and 11. Each output frame from 10 on is decided once the
 * latency has passed on the clock. With a grace of `grace` output frames
 * (the grace-frames property) the input on air shows its frame 9 again for
 * that many frames, then the output goes on from the other input (the
 * switch, input-lost, at frame 10 + grace). */
static void silent_input_is_taken_out(guint grace)
{
  Mixer m(2, false);
  g_object_set(m.element, "bpm", 0.0, "grace-frames", grace, NULL);
  int on_air = -1;
  for (int k = 0; k < 10; k++) {
    m.push_frame(0, k);
    m.push_frame(1, k);
    GstBuffer *out = m.pull();
    ASSERT_NE(nullptr, out);
    gst_buffer_unref(out);
    if (k == 0)
      on_air = pad_index(m.switches().at(0).now);
  }
  /* Only the other input goes on. */
  m.push_frame(1 - on_air, 10);
  m.push_frame(1 - on_air, 11);
  GstBuffer *out = gst_harness_try_pull(m.out());
  EXPECT_EQ(nullptr, out) << "a live element waits for its inputs until the latency has passed";
  if (out)
    gst_buffer_unref(out);
  for (guint k = 10; k <= 10 + grace; k++) {
    /* The element waits on the clock for frame k + latency: let that time come. */
    ASSERT_TRUE(gst_harness_crank_single_clock_wait(m.out()));
    out = m.pull();
    ASSERT_NE(nullptr, out);
    EXPECT_EQ(k * kFrame, GST_BUFFER_PTS(out));
    const std::pair<int, int> want =
        k < 10 + grace ? std::make_pair(on_air, 9) : std::make_pair(1 - on_air, (int)k);
    EXPECT_EQ(want, m.source_of(out)) << "frame " << k;
    gst_buffer_unref(out);
  }
  std::vector<Switch> sw = m.switches();
  ASSERT_EQ(1u, sw.size());
  EXPECT_EQ("input-lost", sw[0].reason);
  EXPECT_EQ((10 + grace) * kFrame, sw[0].running_time);
}

TEST(MontageSelect, SilentInputIsTakenOutAfterTheLatency)
{
  silent_input_is_taken_out(0);
}

TEST(MontageSelect, SilentInputIsTakenOutAfterTheLatencyAndTheGrace)
{
  silent_input_is_taken_out(1);
}

/* The input on air's frame 10 comes one frame late: after output frame 10
 * was due (the latency passed on the clock), with frame 11. Frame 10 shows
 * its frame 9 again, frame 11 its frame 11: no switch. Before, the input was
 * out of the choice at once: an input-lost switch to the other input at
 * frame 10, a cut the late frame did not call for. */
TEST(MontageSelect, FrameOneFrameLateKeepsTheInputOnAir)
{
  Mixer m(2, false);
  g_object_set(m.element, "bpm", 0.0, NULL);
  guint grace = 0;
  g_object_get(m.element, "grace-frames", &grace, NULL);
  EXPECT_EQ(1u, grace) << "the default grace is one frame";
  int on_air = -1;
  for (int k = 0; k < 10; k++) {
    m.push_frame(0, k);
    m.push_frame(1, k);
    GstBuffer *out = m.pull();
    ASSERT_NE(nullptr, out);
    gst_buffer_unref(out);
    if (k == 0)
      on_air = pad_index(m.switches().at(0).now);
  }
  m.push_frame(1 - on_air, 10);
  m.push_frame(1 - on_air, 11);
  ASSERT_TRUE(gst_harness_crank_single_clock_wait(m.out()));
  GstBuffer *out = m.pull();
  ASSERT_NE(nullptr, out);
  EXPECT_EQ(10 * kFrame, GST_BUFFER_PTS(out));
  EXPECT_EQ(std::make_pair(on_air, 9), m.source_of(out)) << "frame 10";
  gst_buffer_unref(out);
  /* The late frame, and the next on time; the other input's frame 12, so
   * that it still has data queued should frame 11 be tried (taking its frame
   * 11) before the input on air's frame 11 has come. */
  m.push_frame(on_air, 10);
  m.push_frame(on_air, 11);
  m.push_frame(1 - on_air, 12);
  out = m.pull();
  ASSERT_NE(nullptr, out);
  EXPECT_EQ(11 * kFrame, GST_BUFFER_PTS(out));
  EXPECT_EQ(std::make_pair(on_air, 11), m.source_of(out)) << "frame 11";
  gst_buffer_unref(out);
  EXPECT_TRUE(m.switches().empty());
}

/* A pad requested while playing joins the choice; releasing it takes it out. */
TEST(MontageSelect, PadAddedAndReleasedWhilePlaying)
{
  Mixer m(1, false);
  g_object_set(m.element, "bpm", 150.0, "beats-per-cut", 1u, "min-shot-length", (guint64)0, NULL);
  for (int k = 0; k < 12; k++) {
    m.push_frame(0, k);
    GstBuffer *out = m.pull();
    ASSERT_NE(nullptr, out);
    EXPECT_EQ(0, m.source_of(out).first);
    gst_buffer_unref(out);
  }
  GstState state;
  gst_element_get_state(m.element, &state, NULL, 0);
  ASSERT_EQ(GST_STATE_PLAYING, state);
  m.add_input();
  for (int k = 12; k < 30; k++) {
    m.push_frame(0, k);
    m.push_frame(1, k);
    GstBuffer *out = m.pull();
    ASSERT_NE(nullptr, out);
    gst_buffer_unref(out);
  }
  /* 150 BPM: beats every 0.4 s; 0.4 s passed with only sink_0; 0.8 s switches. */
  std::vector<Switch> sw = m.switches();
  ASSERT_EQ(2u, sw.size());
  EXPECT_EQ("start", sw[0].reason);
  EXPECT_EQ("sink_1", sw[1].now);
  EXPECT_EQ(20 * kFrame, sw[1].running_time);
  /* Release sink_1 while it is on air: sink_0 takes over at once. */
  gst_harness_teardown(m.inputs[1]);
  m.inputs[1] = nullptr;
  for (int k = 30; k < 34; k++) {
    m.push_frame(0, k);
    GstBuffer *out = m.pull();
    ASSERT_NE(nullptr, out);
    EXPECT_EQ(std::make_pair(0, k), m.source_of(out));
    gst_buffer_unref(out);
  }
  sw = m.switches();
  ASSERT_EQ(1u, sw.size());
  EXPECT_EQ("input-lost", sw[0].reason);
  EXPECT_EQ(30 * kFrame, sw[0].running_time);
}

/* The shot features meta decides: at a switch, the input whose shot is nearer
 * the style's target wins over one far from it. */
TEST(MontageSelect, FeaturesMetaSteersTheChoice)
{
  Mixer m(3, false);
  g_object_set(m.element, "bpm", 150.0, "beats-per-cut", 1u, "min-shot-length", (guint64)0, NULL);
  /* Balanced style at energy 0.5 aims at about the middle of every axis. */
  montage::ShotProgress near, far;
  near.frames = far.frames = 1;
  near.features.motion_mean = 17.0;
  near.features.sharpness = 300.0;
  near.features.brightness = 140.0;
  near.features.contrast = 55.0;
  near.features.colourfulness = 60.0;
  far.features.brightness = 5.0;
  int on_air = -1, near_pad = -1;
  for (int k = 0; k < 14; k++) {
    for (int i = 0; i < 3; i++) {
      const bool tagged = k == 5 && i != on_air;
      const bool is_near = tagged && near_pad < 0;
      if (is_near)
        near_pad = i;
      m.push_frame(i, k, false, tagged ? (is_near ? &near : &far) : nullptr);
    }
    GstBuffer *out = m.pull();
    ASSERT_NE(nullptr, out);
    gst_buffer_unref(out);
    if (k == 0)
      on_air = pad_index(m.switches().at(0).now);
  }
  /* The beat at 0.4 s (frame 10). */
  std::vector<Switch> sw = m.switches();
  ASSERT_EQ(1u, sw.size());
  EXPECT_EQ(10 * kFrame, sw[0].running_time);
  EXPECT_EQ(near_pad, pad_index(sw[0].now));
}

/* Every output buffer carries the duration of its grid frame, also a buffer
 * that lands exactly on the grid with a duration of its own (an input faster
 * than the output: 50 fps into a 25 fps grid). */
TEST(MontageSelect, OutputBuffersCarryTheGridDuration)
{
  Mixer m(1, false);
  g_object_set(m.element, "bpm", 0.0, NULL);
  /* Downstream's 25 fps make the grid (with downstream free, the highest
   * input rate would: OutputFrameRateIsDownstreamsOrTheHighestInputs). */
  gst_harness_set_sink_caps_str(m.out(), "video/x-raw,framerate=25/1");
  m.add_input("video/x-raw,format=GRAY8,width=16,height=16,framerate=50/1");
  ASSERT_TRUE(gst_harness_push_event(m.inputs[0], gst_event_new_eos()));
  const GstClockTime half = kFrame / 2;
  for (int k = 0; k < 10; k++) {
    m.push_frame_at(1, 2 * k, 2 * k * half, half);
    m.push_frame_at(1, 2 * k + 1, (2 * k + 1) * half, half);
    GstBuffer *out = m.pull();
    ASSERT_NE(nullptr, out) << "no output for frame " << k;
    EXPECT_EQ(k * kFrame, GST_BUFFER_PTS(out));
    EXPECT_EQ(kFrame, GST_BUFFER_DURATION(out)) << "frame " << k;
    EXPECT_EQ(std::make_pair(1, 2 * k), m.source_of(out));
    gst_buffer_unref(out);
  }
}

/* Inputs whose timestamps sit a little off the grid (two live sources
 * started 0.2 ms apart) give one output frame per grid frame they cover and
 * no more: when both end, the later input's last buffer overlapping one more
 * grid frame by 0.2 ms makes no extra frame and no input-lost switch (151
 * frames out for 150 in, before). Each frame shows the input frame that
 * starts nearest to it. */
TEST(MontageSelect, InputsSlightlyOffTheGridEndWithTheirLastFrame)
{
  constexpr int kFrames = 10;
  constexpr GstClockTime kOff = 200 * GST_USECOND;
  Mixer m(2, false);
  g_object_set(m.element, "bpm", 0.0, NULL);
  int pulled = 0;
  for (int k = 0; k < kFrames; k++) {
    m.push_frame_at(0, k, k * kFrame, kFrame);
    m.push_frame_at(1, k, k * kFrame + kOff, kFrame);
    if (k == 0)
      continue; /* the next frames of both show whether input 1 covers frame 0 */
    GstBuffer *out = m.pull();
    ASSERT_NE(nullptr, out) << "no output for frame " << pulled;
    EXPECT_EQ(pulled * kFrame, GST_BUFFER_PTS(out));
    EXPECT_EQ(pulled, m.source_of(out).second) << "frame " << pulled;
    gst_buffer_unref(out);
    pulled++;
  }
  for (GstHarness *h : m.inputs)
    ASSERT_TRUE(gst_harness_push_event(h, gst_event_new_eos()));
  /* The last frame, then EOS and nothing after it. */
  bool eos = false;
  for (int n = 0; n < 10000 && !eos; n++) {
    while (GstBuffer *out = gst_harness_try_pull(m.out())) {
      EXPECT_EQ(pulled * kFrame, GST_BUFFER_PTS(out)) << "one frame more than the inputs have";
      EXPECT_EQ(pulled, m.source_of(out).second);
      gst_buffer_unref(out);
      pulled++;
    }
    while (GstEvent *e = gst_harness_try_pull_event(m.out())) {
      eos = eos || GST_EVENT_TYPE(e) == GST_EVENT_EOS;
      gst_event_unref(e);
    }
    if (!eos)
      g_usleep(1000);
  }
  ASSERT_TRUE(eos);
  while (GstBuffer *out = gst_harness_try_pull(m.out())) {
    ADD_FAILURE() << "frame after the inputs ended at " << GST_TIME_AS_MSECONDS(GST_BUFFER_PTS(out))
                  << " ms";
    gst_buffer_unref(out);
  }
  EXPECT_EQ(kFrames, pulled);
  for (const Switch &s : m.switches())
    EXPECT_EQ("start", s.reason) << "at " << GST_TIME_AS_MSECONDS(s.running_time) << " ms";
}

/* The input on air ends while another, started later on the grid, has one
 * frame left and has sent EOS too (live sources started a few milliseconds
 * apart, ending one after the other): no input-lost switch to it for that
 * frame, a flash; the mix ends with the input on air. There was a switch to
 * the later input for the last frame. */
TEST(MontageSelect, NoInputLostSwitchToAnInputAboutToEnd)
{
  constexpr int kFrames = 10;
  constexpr GstClockTime kLater = 25 * GST_MSECOND; /* over half a frame */
  Mixer m(2, false);
  g_object_set(m.element, "bpm", 0.0, NULL);
  int pulled = 0;
  for (int k = 0; k < kFrames; k++) {
    m.push_frame_at(0, k, k * kFrame, kFrame);
    m.push_frame_at(1, k, k * kFrame + kLater, kFrame);
    GstBuffer *out = m.pull();
    ASSERT_NE(nullptr, out) << "no output for frame " << k;
    EXPECT_EQ(std::make_pair(0, k), m.source_of(out));
    gst_buffer_unref(out);
    pulled++;
  }
  /* The later input's end arrives first, then the one on air ends. */
  ASSERT_TRUE(gst_harness_push_event(m.inputs[1], gst_event_new_eos()));
  ASSERT_TRUE(gst_harness_push_event(m.inputs[0], gst_event_new_eos()));
  bool eos = false;
  for (int n = 0; n < 10000 && !eos; n++) {
    while (GstBuffer *out = gst_harness_try_pull(m.out())) {
      ADD_FAILURE() << "frame " << GST_TIME_AS_MSECONDS(GST_BUFFER_PTS(out)) << " ms from input "
                    << m.source_of(out).first << " after the input on air ended";
      gst_buffer_unref(out);
    }
    while (GstEvent *e = gst_harness_try_pull_event(m.out())) {
      eos = eos || GST_EVENT_TYPE(e) == GST_EVENT_EOS;
      gst_event_unref(e);
    }
    if (!eos)
      g_usleep(1000);
  }
  EXPECT_TRUE(eos);
  EXPECT_EQ(kFrames, pulled);
  for (const Switch &s : m.switches())
    EXPECT_EQ("start", s.reason) << "at " << GST_TIME_AS_MSECONDS(s.running_time) << " ms to "
                                 << s.now;
}

/* Input 1 (frames 1 to 30: input 0 alone can show frame 0 and goes on air)
 * has all its frames and its EOS queued when the input on air, 0, ends after
 * 10 frames: the input-lost switch at frame 10 goes to input 1, whose data
 * reaches 0.84 s past the switch (the style's min-gap is 0.4 s). How far an input's data has
 * arrived counts every buffer it received; it was noted only for the oldest buffer of the queue,
 * and only when live (GstAggregatorPad's skip_buffer), so input 1 seemed to end a frame or two
 * after the switch and the mix ended with GAP events instead. */
static void switch_to_input_with_data_queued(bool live)
{
  Mixer m(2, false);
  /* A queue of 3 s on each input (GstAggregator's latency property), so that
   * all of input 1 can be pushed ahead. */
  g_object_set(m.element, "bpm", 0.0, "latency", (GstClockTime)(3 * GST_SECOND), NULL);
  for (GstHarness *h : m.inputs)
    gst_harness_set_live(h, live);
  for (int k = 1; k <= 30; k++)
    m.push_frame(1, k);
  ASSERT_TRUE(gst_harness_push_event(m.inputs[1], gst_event_new_eos()));
  for (int k = 0; k < 10; k++)
    m.push_frame(0, k);
  ASSERT_TRUE(gst_harness_push_event(m.inputs[0], gst_event_new_eos()));
  std::vector<std::pair<int, int>> shown;
  for (int k = 0; k <= 30; k++) {
    GstBuffer *out = m.pull();
    ASSERT_NE(nullptr, out) << "no output for frame " << k;
    EXPECT_EQ(k * kFrame, GST_BUFFER_PTS(out));
    shown.push_back(m.source_of(out));
    gst_buffer_unref(out);
  }
  std::vector<Switch> sw = m.switches();
  ASSERT_EQ(2u, sw.size());
  EXPECT_EQ("sink_0", sw[0].now);
  EXPECT_EQ("input-lost", sw[1].reason);
  EXPECT_EQ("sink_1", sw[1].now);
  EXPECT_EQ(10 * kFrame, sw[1].running_time);
  for (int k = 0; k <= 30; k++)
    EXPECT_EQ(std::make_pair(k < 10 ? 0 : 1, k), shown[k]) << "frame " << k;
}

TEST(MontageSelect, SwitchToAnInputWithItsDataQueuedLive)
{
  switch_to_input_with_data_queued(true);
}

TEST(MontageSelect, SwitchToAnInputWithItsDataQueuedNotLive)
{
  switch_to_input_with_data_queued(false);
}

/* A bus sync handler that holds the thread posting the first montage-switch
 * message until the test releases it. */
struct SwitchGate {
  GMutex lock;
  GCond cond;
  bool posted = false, released = false;
  std::string pad;

  SwitchGate()
  {
    g_mutex_init(&lock);
    g_cond_init(&cond);
  }
  ~SwitchGate()
  {
    g_cond_clear(&cond);
    g_mutex_clear(&lock);
  }
  static GstBusSyncReply handler(GstBus *, GstMessage *msg, gpointer data)
  {
    auto *gate = static_cast<SwitchGate *>(data);
    const GstStructure *s = gst_message_get_structure(msg);
    if (GST_MESSAGE_TYPE(msg) != GST_MESSAGE_ELEMENT ||
        !gst_structure_has_name(s, "montage-switch"))
      return GST_BUS_PASS;
    g_mutex_lock(&gate->lock);
    if (!gate->posted) {
      gate->pad = gst_structure_get_string(s, "new-pad");
      gate->posted = true;
      g_cond_broadcast(&gate->cond);
      while (!gate->released)
        g_cond_wait(&gate->cond, &gate->lock);
    }
    g_mutex_unlock(&gate->lock);
    return GST_BUS_PASS;
  }
  /* Waits up to 10 s for the message; false if it did not come. */
  bool wait_posted()
  {
    const gint64 until = g_get_monotonic_time() + 10 * G_TIME_SPAN_SECOND;
    g_mutex_lock(&lock);
    while (!posted && g_cond_wait_until(&cond, &lock, until))
      ;
    const bool ok = posted;
    g_mutex_unlock(&lock);
    return ok;
  }
  void release()
  {
    g_mutex_lock(&lock);
    released = true;
    g_cond_broadcast(&cond);
    g_mutex_unlock(&lock);
  }
};

/* A flush of the input going on air (its FLUSH_STOP, on upstream's thread)
 * comes while the aggregate thread decides the frame it shows: the frame
 * decided goes out all the same. The flush cleared the input's frame under
 * the aggregate thread (no lock), and the mix showed nothing at that time. */
TEST(MontageSelect, FlushWhileAFrameIsDecidedDoesNotPullItAway)
{
  Mixer m(2, false);
  g_object_set(m.element, "bpm", 0.0, NULL);
  SwitchGate gate;
  gst_bus_set_sync_handler(m.bus, SwitchGate::handler, &gate, NULL);
  struct Unhook {
    Mixer &m;
    SwitchGate &gate;
    ~Unhook()
    {
      gate.release();
      gst_bus_set_sync_handler(m.bus, NULL, NULL, NULL);
    }
  } unhook{m, gate};
  m.push_frame(0, 0);
  m.push_frame(1, 0);
  ASSERT_TRUE(gate.wait_posted()) << "no montage-switch for the first frame";
  const int on_air = pad_index(gate.pad);
  ASSERT_TRUE(on_air == 0 || on_air == 1);
  /* The aggregate thread is held in the message's posting: flush now. */
  GstHarness *h = m.inputs[on_air];
  EXPECT_TRUE(gst_harness_push_event(h, gst_event_new_flush_start()));
  EXPECT_TRUE(gst_harness_push_event(h, gst_event_new_flush_stop(TRUE)));
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  EXPECT_TRUE(gst_harness_push_event(h, gst_event_new_segment(&segment)));
  gate.release();
  GstBuffer *out = m.pull();
  ASSERT_NE(nullptr, out) << "no output for frame 0";
  EXPECT_EQ(0u, GST_BUFFER_PTS(out));
  EXPECT_EQ(std::make_pair(on_air, 0), m.source_of(out));
  gst_buffer_unref(out);
}

/* One run of RunAfterAStopIsTheSameAsTheFirst: 50 frames of two inputs
 * (2 s); the switches and the (input, frame) shown by each output frame. */
static void run_once(Mixer &m, std::vector<Switch> &sw, std::vector<std::pair<int, int>> &shown)
{
  for (int k = 0; k < 50; k++) {
    m.push_frame(0, k);
    m.push_frame(1, k);
    GstBuffer *out = m.pull();
    ASSERT_NE(nullptr, out) << "no output for frame " << k;
    EXPECT_EQ(k * kFrame, GST_BUFFER_PTS(out));
    shown.push_back(m.source_of(out));
    gst_buffer_unref(out);
  }
  sw = m.switches();
}

/* The same element run twice (PLAYING, READY, PLAYING) with the same inputs
 * makes the same mix, scores included: nothing of the first run (which inputs
 * had data, when their shots began, how long each shot was on air) is left for
 * the second. Before, the inputs' seen_data, shot_start, aired and
 * aired_serial survived the stop: every score of the second run differed (the
 * shots looked as much used as at the end of the first). */
TEST(MontageSelect, RunAfterAStopIsTheSameAsTheFirst)
{
  Mixer m(2, false);
  g_object_set(m.element, "bpm", 150.0, "beats-per-cut", 1u, "min-shot-length", (guint64)0, NULL);
  std::vector<Switch> first, second;
  std::vector<std::pair<int, int>> first_shown, second_shown;
  run_once(m, first, first_shown);
  ASSERT_GE(first.size(), 3u);
  m.restart();
  run_once(m, second, second_shown);
  ASSERT_EQ(first.size(), second.size());
  for (std::size_t i = 0; i < first.size(); i++) {
    EXPECT_EQ(first[i].running_time, second[i].running_time) << "switch " << i;
    EXPECT_EQ(first[i].reason, second[i].reason) << "switch " << i;
    EXPECT_EQ(first[i].now, second[i].now) << "switch " << i;
    EXPECT_EQ(first[i].previous, second[i].previous) << "switch " << i;
    EXPECT_EQ(first[i].count, second[i].count) << "switch " << i;
    EXPECT_DOUBLE_EQ(first[i].total, second[i].total) << "switch " << i;
  }
  EXPECT_EQ(first_shown, second_shown);
}

/* Records, per output buffer PTS, whether the buffer was writable (its only
 * reference) as montageselect pushed it. */
static GstPadProbeReturn record_writable(GstPad *, GstPadProbeInfo *info, gpointer data)
{
  auto *writable = static_cast<std::map<GstClockTime, bool> *>(data);
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
  (*writable)[GST_BUFFER_PTS(buf)] = gst_buffer_is_writable(buf);
  return GST_PAD_PROBE_OK;
}

/* The grace keeps a reference to the frame on air only while the next
 * output frame may need it again: when the input's next frame is queued
 * already, the frame goes downstream as its only reference (an element there
 * that writes in place does not copy it). Input 1 alone covers frame 0 (input
 * 0 starts at frame 1) and stays on air with all its frames queued. */
TEST(MontageSelect, FrameGivenAwayWhenTheNextIsQueued)
{
  Mixer m(2, false);
  g_object_set(m.element, "bpm", 0.0, "latency", (GstClockTime)GST_SECOND, NULL);
  std::map<GstClockTime, bool> writable;
  GstPad *src = gst_element_get_static_pad(m.element, "src");
  gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_BUFFER, record_writable, &writable, NULL);
  gst_object_unref(src);
  for (int k = 0; k <= 5; k++)
    m.push_frame(1, k);
  for (int k = 1; k <= 5; k++)
    m.push_frame(0, k);
  for (int k = 0; k < 5; k++) {
    GstBuffer *out = m.pull();
    ASSERT_NE(nullptr, out) << "no output for frame " << k;
    EXPECT_EQ(std::make_pair(1, k), m.source_of(out));
    gst_buffer_unref(out);
    ASSERT_EQ(1u, writable.count(k * kFrame));
    EXPECT_TRUE(writable[k * kFrame]) << "frame " << k << " was pushed with a reference kept";
  }
}

/* The name of the pad active-pad reads ("" for NULL). */
static std::string active_pad(GstElement *element)
{
  GstPad *pad = nullptr;
  g_object_get(element, "active-pad", &pad, NULL);
  std::string name = pad ? GST_PAD_NAME(pad) : "";
  if (pad)
    gst_object_unref(pad);
  return name;
}

/* Sets active-pad to the pad named `name` of the element. */
static void take(GstElement *element, const char *name)
{
  GstPad *pad = gst_element_get_static_pad(element, name);
  ASSERT_NE(nullptr, pad);
  g_object_set(element, "active-pad", pad, NULL);
  gst_object_unref(pad);
}

/* A manual take: setting active-pad to the input not on air puts it on air
 * on the frame of the next beat (reason "take", that beat's time), not
 * before, though the pacing (4 beats per cut) would not switch there;
 * active-pad reads the input on air. */
TEST(MontageSelect, ActivePadTakesAtTheNextBeat)
{
  Mixer m(2, true);
  g_object_set(m.element, "beats-per-cut", 4u, "min-shot-length", (guint64)0, NULL);
  EXPECT_EQ("", active_pad(m.element)) << "nothing on air before the first frame";
  const std::vector<GstClockTime> beats = {500 * GST_MSECOND, 1000 * GST_MSECOND};
  int on_air = -1;
  for (int k = 0; k < 30; k++) {
    m.push_frame(0, k);
    m.push_frame(1, k);
    m.push_audio(k, beats);
    GstBuffer *out = m.pull();
    ASSERT_NE(nullptr, out) << "no output for frame " << k;
    if (k == 0) {
      on_air = pad_index(m.switches().at(0).now);
      EXPECT_EQ("sink_" + std::to_string(on_air), active_pad(m.element));
    }
    if (k == 5) {
      const std::string other = "sink_" + std::to_string(1 - on_air);
      take(m.element, other.c_str());
    }
    /* The first frame at or after 0.5 s is frame 13. */
    EXPECT_EQ(std::make_pair(k < 13 ? on_air : 1 - on_air, k), m.source_of(out)) << "frame " << k;
    EXPECT_EQ("sink_" + std::to_string(k < 13 ? on_air : 1 - on_air), active_pad(m.element))
        << "frame " << k;
    gst_buffer_unref(out);
  }
  std::vector<Switch> sw = m.switches();
  ASSERT_EQ(1u, sw.size());
  EXPECT_EQ("take", sw[0].reason);
  EXPECT_EQ(13 * kFrame, sw[0].running_time);
  EXPECT_EQ(500 * GST_MSECOND, sw[0].beat_time);
  EXPECT_EQ("sink_" + std::to_string(1 - on_air), sw[0].now);
}

/* notify::active-pad comes at each switch, with the new input readable in
 * the handler, as input-selector's does; it never came, so an application
 * showing the input on air had to read montage-switch messages instead. */
TEST(MontageSelect, ActivePadIsNotifiedAtEachSwitch)
{
  Mixer m(2, true);
  g_object_set(m.element, "beats-per-cut", 1u, "min-shot-length", (guint64)0, NULL);
  std::vector<std::string> notified;
  g_signal_connect(m.element, "notify::active-pad",
                   G_CALLBACK(+[](GObject *element, GParamSpec *, gpointer data) {
                     static_cast<std::vector<std::string> *>(data)->push_back(
                         active_pad(GST_ELEMENT(element)));
                   }),
                   &notified);
  const std::vector<GstClockTime> beats = {500 * GST_MSECOND, 1000 * GST_MSECOND};
  for (int k = 0; k < 40; k++) {
    m.push_frame(0, k);
    m.push_frame(1, k);
    m.push_audio(k, beats);
    GstBuffer *out = m.pull();
    ASSERT_NE(nullptr, out) << "no output for frame " << k;
    gst_buffer_unref(out);
  }
  std::vector<std::string> now;
  for (const Switch &s : m.switches())
    now.push_back(s.now);
  ASSERT_GE(notified.size(), 2u) << "the start and at least one beat switch";
  EXPECT_EQ(now, std::vector<std::string>(notified.end() - now.size(), notified.end()));
  for (std::size_t i = 1; i < notified.size(); i++)
    EXPECT_NE(notified[i], notified[i - 1]) << "a notify without a change, at " << i;
  g_signal_handlers_disconnect_matched(m.element, G_SIGNAL_MATCH_DATA, 0, 0, nullptr, nullptr,
                                       &notified);
}

/* Without beats the take does not wait for one: with a beat pad whose audio
 * carries none, 2 s after the first frame that saw it (0.24 s: at 2.24 s);
 * without a beat pad and bpm 0 (no beats at all), on the next frame. */
TEST(MontageSelect, ActivePadWithoutBeatsTakesAfterTwoSecondsOrAtOnce)
{
  for (bool beat_pad : {true, false}) {
    SCOPED_TRACE(beat_pad ? "beat pad without beats" : "no beat pad, bpm 0");
    Mixer m(2, beat_pad);
    g_object_set(m.element, "bpm", 0.0, NULL);
    int on_air = -1;
    const int at = beat_pad ? 56 : 6;
    for (int k = 0; k < 60; k++) {
      m.push_frame(0, k);
      m.push_frame(1, k);
      if (beat_pad)
        m.push_audio(k, {});
      GstBuffer *out = m.pull();
      ASSERT_NE(nullptr, out) << "no output for frame " << k;
      if (k == 0)
        on_air = pad_index(m.switches().at(0).now);
      if (k == 5)
        take(m.element, ("sink_" + std::to_string(1 - on_air)).c_str());
      EXPECT_EQ(k < at ? on_air : 1 - on_air, m.source_of(out).first) << "frame " << k;
      gst_buffer_unref(out);
    }
    std::vector<Switch> sw = m.switches();
    ASSERT_EQ(1u, sw.size());
    EXPECT_EQ("take", sw[0].reason);
    EXPECT_EQ(at * kFrame, sw[0].running_time);
    EXPECT_EQ(GST_CLOCK_TIME_NONE, sw[0].beat_time);
  }
}

/* beat-switch-until (1.52 s here, frame 38) ends the beat switches: the
 * beats at 1.0 s and at 1.52 s (on the limit) switch, those at 2.0 and
 * 2.8 s do not. The input on air ending after it (frame 59) is still
 * switched away from at once (input-lost at 2.4 s), and a manual take still
 * comes on the beat at 3.2 s. Before, no such limit: gst-montage-1.0 --live
 * set beats-per-cut to its maximum, 64, and a beat switch still came once
 * 64 beats had passed. */
TEST(MontageSelect, BeatSwitchUntilEndsTheBeatSwitchesNotTheInputLostOnes)
{
  Mixer m(3, true);
  GParamSpec *spec =
      g_object_class_find_property(G_OBJECT_GET_CLASS(m.element), "beat-switch-until");
  ASSERT_NE(nullptr, spec) << "no beat-switch-until property";
  /* What gst-inspect-1.0 shows: the unit, the default, what it holds back. */
  ASSERT_EQ(G_TYPE_UINT64, G_PARAM_SPEC_VALUE_TYPE(spec));
  EXPECT_EQ(GST_CLOCK_TIME_NONE, G_PARAM_SPEC_UINT64(spec)->default_value);
  EXPECT_TRUE(spec->flags & GST_PARAM_MUTABLE_PLAYING);
  const std::string blurb = g_param_spec_get_blurb(spec);
  for (const char *words : {"unning time", "nanoseconds", "beat switch", "is lost",
                            "GST_CLOCK_TIME_NONE", "default", "no limit"})
    EXPECT_NE(std::string::npos, blurb.find(words)) << words << " not in: " << blurb;

  guint64 until = 0;
  g_object_get(m.element, "beat-switch-until", &until, NULL);
  EXPECT_EQ(GST_CLOCK_TIME_NONE, until);
  g_object_set(m.element, "beats-per-cut", 1u, "min-shot-length", (guint64)0, "beat-switch-until",
               (guint64)(38 * kFrame), NULL);
  const std::vector<GstClockTime> beats = {1000 * GST_MSECOND, 38 * kFrame, 2000 * GST_MSECOND,
                                           2800 * GST_MSECOND, 3200 * GST_MSECOND};
  std::vector<Switch> sw;
  int on_air = -1, ended = -1;
  for (int k = 0; k < 90; k++) {
    for (int i = 0; i < 3; i++)
      if (i != ended)
        m.push_frame(i, k);
    if (k == 59) {
      ended = on_air;
      ASSERT_TRUE(gst_harness_push_event(m.inputs[ended], gst_event_new_eos()));
    }
    if (k == 75) /* a take of the input neither on air nor ended */
      take(m.element, ("sink_" + std::to_string(3 - on_air - ended)).c_str());
    m.push_audio(k, beats);
    GstBuffer *out = m.pull();
    ASSERT_NE(nullptr, out) << "no output for frame " << k;
    gst_buffer_unref(out);
    for (const Switch &s : m.switches()) {
      sw.push_back(s);
      on_air = pad_index(s.now);
    }
  }
  std::vector<std::pair<std::string, GstClockTime>> got;
  for (const Switch &s : sw)
    got.push_back({s.reason, s.running_time});
  const std::vector<std::pair<std::string, GstClockTime>> want = {
      {"start", 0},          {"beat", 25 * kFrame},
      {"beat", 38 * kFrame}, {"input-lost", 60 * kFrame},
      {"take", 80 * kFrame},
  };
  EXPECT_EQ(want, got);
  ASSERT_EQ(want.size(), sw.size());
  EXPECT_EQ(ended, pad_index(sw[3].previous));
  EXPECT_EQ(GST_CLOCK_TIME_NONE, sw[3].beat_time);
  EXPECT_EQ(3200 * GST_MSECOND, sw[4].beat_time);
}

/* The input on air changes to another size mid-stream: it is taken out of
 * the choice (a warning names it, RECONFIGURE goes upstream so a converter
 * there can go back to the output's format), the mix goes on from the other
 * input with the same output caps; with the output's format again it is back
 * in the choice. */
TEST(MontageSelect, InputChangingFormatMidStreamIsTakenOut)
{
  constexpr const char *kBigger = "video/x-raw,format=GRAY8,width=32,height=32,framerate=25/1";
  Mixer m(2, false);
  g_object_set(m.element, "bpm", 0.0, NULL);
  int on_air = -1;
  for (int k = 0; k < 30; k++) {
    if (k == 10) {
      m.reconfigure_sent(on_air);
      ASSERT_TRUE(m.set_caps(on_air, kBigger)) << "new caps on a live input were refused";
    }
    if (k == 15) {
      EXPECT_TRUE(m.reconfigure_sent(on_air)) << "no RECONFIGURE upstream of the mismatched input";
      ASSERT_TRUE(m.set_caps(on_air, kVideoCaps));
    }
    for (int i = 0; i < 2; i++)
      if (k < 20 || i == on_air)
        m.push_frame(i, k);
    if (k == 19) { /* the other input ends: the one back in the choice takes over */
      ASSERT_TRUE(gst_harness_push_event(m.inputs[1 - on_air], gst_event_new_eos()));
    }
    GstBuffer *out = m.pull();
    ASSERT_NE(nullptr, out) << "the output stalled at frame " << k;
    EXPECT_EQ(k * kFrame, GST_BUFFER_PTS(out));
    if (k == 0)
      on_air = pad_index(m.switches().at(0).now);
    const std::pair<int, int> src = m.source_of(out);
    EXPECT_EQ(k < 10 || k >= 20 ? on_air : 1 - on_air, src.first) << "frame " << k;
    EXPECT_EQ(k, src.second);
    gst_buffer_unref(out);
  }
  /* No warning: the input's upstream (the harness, whose caps query answers
   * the first caps) said it can make the output's format, and did within
   * 2 s (InputWhoseUpstreamCanConvertIsWarnedOfOnlyIfItDoesNot). */
  EXPECT_TRUE(m.warnings().empty());
  std::vector<Switch> sw = m.switches();
  ASSERT_EQ(2u, sw.size());
  EXPECT_EQ("input-lost", sw[0].reason);
  EXPECT_EQ(10 * kFrame, sw[0].running_time);
  EXPECT_EQ("input-lost", sw[1].reason);
  EXPECT_EQ(20 * kFrame, sw[1].running_time);
  std::vector<std::string> caps = m.output_caps();
  ASSERT_EQ(1u, caps.size()) << "the output caps changed mid-stream";
  EXPECT_NE(std::string::npos, caps[0].find("width=(int)16")) << caps[0];
}

/* The GstHarness source pad's query function, and one that answers its
 * caps query with 32x32 GRAY8 only (what an upstream that cannot convert
 * makes), the other queries as the harness does. */
static GstPadQueryFunction harness_query = nullptr;
static gboolean answer_32x32(GstPad *pad, GstObject *parent, GstQuery *q)
{
  if (GST_QUERY_TYPE(q) != GST_QUERY_CAPS)
    return harness_query(pad, parent, q);
  GstCaps *filter = nullptr;
  GstCaps *only =
      gst_caps_from_string("video/x-raw,format=GRAY8,width=32,height=32,framerate=25/1");
  gst_query_parse_caps(q, &filter);
  if (filter) {
    GstCaps *both = gst_caps_intersect(only, filter);
    gst_caps_unref(only);
    only = both;
  }
  gst_query_set_caps_result(q, only);
  gst_caps_unref(only);
  return TRUE;
}

/* Inputs of different sizes at the start: the first input's caps make the
 * output's format, which the caps query then tells the others' upstream;
 * an input that sends another size anyway is never shown, and a warning
 * names it. */
TEST(MontageSelect, InputOfAnotherSizeAtTheStartIsNotShown)
{
  Mixer m(1, false);
  g_object_set(m.element, "bpm", 150.0, "beats-per-cut", 1u, "min-shot-length", (guint64)0, NULL);
  GstCaps *query = gst_pad_peer_query_caps(m.inputs[0]->srcpad, NULL);
  GstCaps *same =
      gst_caps_from_string("video/x-raw,format=GRAY8,width=16,height=16,framerate=30/1");
  GstCaps *other =
      gst_caps_from_string("video/x-raw,format=GRAY8,width=32,height=32,framerate=25/1");
  /* sink_1's upstream can make 32x32 only: its caps query says so from the
   * start (GstHarness stores the caps it answers only after it has sent
   * them, and the element asks upstream when the caps come). */
  GstHarness *h1 = gst_harness_new_with_element(m.element, "sink_1", NULL);
  m.inputs.push_back(h1);
  harness_query = GST_PAD_QUERYFUNC(h1->srcpad);
  GstPadQueryFunction only_32x32 = answer_32x32;
  gst_pad_set_query_function(h1->srcpad, only_32x32);
  gst_harness_set_src_caps_str(h1, "video/x-raw,format=GRAY8,width=32,height=32,framerate=25/1");
  GstCaps *query1 = gst_pad_peer_query_caps(m.inputs[1]->srcpad, NULL);
  /* Before any buffer: the first input's format at any frame rate. */
  EXPECT_TRUE(gst_caps_can_intersect(query, same)) << "sink_0 answers " << to_string(query);
  EXPECT_FALSE(gst_caps_can_intersect(query, other)) << "sink_0 answers " << to_string(query);
  EXPECT_TRUE(gst_caps_can_intersect(query1, same)) << "sink_1 answers " << to_string(query1);
  EXPECT_FALSE(gst_caps_can_intersect(query1, other)) << "sink_1 answers " << to_string(query1);
  gst_caps_unref(query);
  gst_caps_unref(query1);
  gst_caps_unref(same);
  gst_caps_unref(other);
  /* sink_1 sends 32x32 frames anyway: only sink_0 is shown. */
  for (int k = 0; k < 30; k++) {
    m.push_frame(0, k);
    m.push_frame(1, k);
    GstBuffer *out = m.pull();
    ASSERT_NE(nullptr, out) << "no output for frame " << k;
    EXPECT_EQ(std::make_pair(0, k), m.source_of(out));
    gst_buffer_unref(out);
  }
  std::vector<std::string> warnings = m.warnings();
  ASSERT_EQ(1u, warnings.size());
  EXPECT_NE(std::string::npos, warnings[0].find("sink_1")) << warnings[0];
  std::vector<Switch> sw = m.switches();
  ASSERT_EQ(1u, sw.size()) << "a switch to the input of another size";
  EXPECT_EQ("sink_0", sw[0].now);
  std::vector<std::string> caps = m.output_caps();
  ASSERT_EQ(1u, caps.size());
  EXPECT_NE(std::string::npos, caps[0].find("width=(int)16")) << caps[0];
}

/* A flushing seek on the element to [start, stop) (stop NONE: to the end),
 * as upstream answers it: the seek reaches every input, which then sends
 * FLUSH_START, FLUSH_STOP and a SEGMENT from start (the seek's seqnum). */
static void flushing_seek(Mixer &m, GstClockTime start, GstClockTime stop)
{
  const GstSeekType stop_type =
      GST_CLOCK_TIME_IS_VALID(stop) ? GST_SEEK_TYPE_SET : GST_SEEK_TYPE_NONE;
  GstEvent *seek = gst_event_new_seek(1.0, GST_FORMAT_TIME, GST_SEEK_FLAG_FLUSH, GST_SEEK_TYPE_SET,
                                      start, stop_type, stop);
  const guint32 seqnum = gst_event_get_seqnum(seek);
  ASSERT_TRUE(gst_harness_push_upstream_event(m.out(), seek));
  auto with_seqnum = [&](GstEvent *e) {
    gst_event_set_seqnum(e, seqnum);
    return e;
  };
  for (GstHarness *h : m.inputs) {
    bool seek_seen = false;
    while (GstEvent *e = gst_harness_try_pull_upstream_event(h)) {
      seek_seen = seek_seen || GST_EVENT_TYPE(e) == GST_EVENT_SEEK;
      gst_event_unref(e);
    }
    EXPECT_TRUE(seek_seen) << "the seek did not reach an input";
    ASSERT_TRUE(gst_harness_push_event(h, with_seqnum(gst_event_new_flush_start())));
  }
  for (GstHarness *h : m.inputs)
    ASSERT_TRUE(gst_harness_push_event(h, with_seqnum(gst_event_new_flush_stop(TRUE))));
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  segment.start = segment.time = segment.position = start;
  segment.stop = stop;
  for (GstHarness *h : m.inputs)
    ASSERT_TRUE(gst_harness_push_event(h, with_seqnum(gst_event_new_segment(&segment))));
}

/* A flushing seek to 2 s: the inputs' new segments start at 2 s, their frames
 * at 2 s, 2.04 s, ... are at running time 0, 0.04 s, ... The output's segment
 * (GstAggregator's, from the seek) starts at 2 s too, and every timestamp the
 * element sends is a position in it whose running time is the frame's: the
 * buffers' PTS, the GAP events', the force-key-unit events' timestamp and
 * stream time (their running time is the frame's); the montage-switch
 * messages give running times. Before, the element
 * stamped the running times themselves (PTS 0, 0.04 s, ...), before the
 * segment's start: a sink clipped them (fakesink sync=true rendered 16 of
 * 76 frames after such a seek; a review's finding). */
TEST(MontageSelect, OutputAfterAFlushingSeekIsInItsSegment)
{
  Mixer m(2, false);
  g_object_set(m.element, "bpm", 120.0, "beats-per-cut", 1u, "min-shot-length", (guint64)0,
               "grace-frames", 0u, NULL);
  for (int k = 0; k < 5; k++) {
    m.push_frame(0, k);
    m.push_frame(1, k);
    GstBuffer *out = m.pull();
    ASSERT_NE(nullptr, out);
    gst_buffer_unref(out);
  }
  m.switches();
  while (GstEvent *e = gst_harness_try_pull_event(m.out()))
    gst_event_unref(e);

  const GstClockTime target = 2 * GST_SECOND;
  flushing_seek(m, target, GST_CLOCK_TIME_NONE);

  /* 30 frames from 2 s; frame 20 missing on both inputs (grace 0): a GAP. */
  std::vector<GstClockTime> pts;
  for (int k = 0; k < 30; k++) {
    if (k == 20)
      continue;
    m.push_frame_at(0, 100 + k, target + k * kFrame, kFrame);
    m.push_frame_at(1, 100 + k, target + k * kFrame, kFrame);
    GstBuffer *out = m.pull();
    ASSERT_NE(nullptr, out) << "no output for frame " << k;
    pts.push_back(GST_BUFFER_PTS(out));
    gst_buffer_unref(out);
  }
  std::vector<GstClockTime> want;
  for (int k = 0; k < 30; k++)
    if (k != 20)
      want.push_back(target + k * kFrame);
  EXPECT_EQ(want, pts) << "PTS are positions in the output segment";

  /* The events after the seek: its segment, the key unit, the GAP. */
  const GstSegment *out_segment = nullptr;
  GstEvent *segment_event = nullptr;
  std::vector<GstClockTime> key_ts, key_st, key_rt, gaps;
  while (GstEvent *e = gst_harness_try_pull_event(m.out())) {
    GstClockTime ts, st, rt, duration;
    gboolean all;
    guint count;
    if (GST_EVENT_TYPE(e) == GST_EVENT_SEGMENT) {
      gst_clear_event(&segment_event);
      segment_event = gst_event_ref(e);
      gst_event_parse_segment(e, &out_segment);
    } else if (gst_video_event_is_force_key_unit(e) &&
               gst_video_event_parse_downstream_force_key_unit(e, &ts, &st, &rt, &all, &count)) {
      key_ts.push_back(ts);
      key_st.push_back(st);
      key_rt.push_back(rt);
    } else if (GST_EVENT_TYPE(e) == GST_EVENT_GAP) {
      gst_event_parse_gap(e, &ts, &duration);
      gaps.push_back(ts);
      EXPECT_EQ(kFrame, duration);
    }
    gst_event_unref(e);
  }
  ASSERT_NE(nullptr, out_segment) << "no segment after the seek";
  EXPECT_EQ(target, out_segment->start);
  std::size_t inside = 0;
  for (GstClockTime t : pts)
    inside += gst_segment_clip(out_segment, GST_FORMAT_TIME, t, t + kFrame, NULL, NULL);
  EXPECT_EQ(pts.size(), inside) << "frames in the output segment (the others a sink clips)";
  EXPECT_EQ(13 * kFrame, gst_segment_to_running_time(out_segment, GST_FORMAT_TIME, pts[13]));
  EXPECT_EQ(std::vector<GstClockTime>{target + 20 * kFrame}, gaps) << "the GAP's timestamp";

  /* A new start at running time 0, then the beat at 0.5 s on frame 13
   * (0.52 s of running time: position 2.52 s). */
  std::vector<Switch> sw = m.switches();
  ASSERT_GE(sw.size(), 2u);
  EXPECT_EQ("start", sw[0].reason);
  EXPECT_EQ(0u, sw[0].running_time);
  EXPECT_EQ("beat", sw[1].reason);
  EXPECT_EQ(13 * kFrame, sw[1].running_time) << "messages carry running times";
  EXPECT_EQ(500 * GST_MSECOND, sw[1].beat_time);
  /* Each beat switch's two requests (timed, then for the next frame). */
  ASSERT_EQ(2 * (sw.size() - 1), key_ts.size());
  for (std::size_t i = 0; i < key_ts.size(); i++) {
    const GstClockTime rt = sw[1 + i / 2].running_time;
    EXPECT_EQ(target + rt, key_ts[i]) << "timestamp: the frame's PTS";
    EXPECT_EQ(target + rt, key_st[i]) << "stream time of that PTS";
    EXPECT_EQ(i % 2 ? GST_CLOCK_TIME_NONE : rt, key_rt[i]) << "running time of the frame";
  }

  /* Live (the harnesses' inputs are), the element now waits on the clock
   * for the next frame's running time (30 frames) plus its latency (one
   * frame): GstAggregator takes that time from the output segment's
   * position (gst_aggregator_simple_get_next_time()). Before, the position
   * was set to a running time (1.2 s), before the segment's start, which
   * read as running time 0: every later frame was due at once. */
  GstTestClock *clock = gst_harness_get_testclock(m.out());
  GstClockID id = nullptr;
  for (int n = 0; n < 2000 && !id; n++) {
    if (!gst_test_clock_peek_next_pending_id(clock, &id))
      g_usleep(1000);
  }
  ASSERT_NE(nullptr, id) << "no wait on the clock";
  EXPECT_EQ(gst_element_get_base_time(m.element) + 31 * kFrame, gst_clock_id_get_time(id));
  gst_clock_id_unref(id);
  gst_object_unref(clock);

  gst_clear_event(&segment_event);
}

/* A flushing seek to [2 s, 2.4 s): ten frames out, stamped 2 s to 2.36 s, then
 * EOS at the segment's stop, though the inputs send more (the frame at
 * 2.4 s starts at the stop; a sink would clip it). */
TEST(MontageSelect, SeekWithAStopEndsTheOutputThere)
{
  Mixer m(1, false);
  g_object_set(m.element, "bpm", 0.0, NULL);
  m.push_frame(0, 0);
  GstBuffer *first = m.pull();
  ASSERT_NE(nullptr, first);
  gst_buffer_unref(first);
  const GstClockTime start = 2 * GST_SECOND, stop = start + 10 * kFrame;
  flushing_seek(m, start, stop);
  for (int k = 0; k < 12; k++) {
    GstBuffer *buf = gst_buffer_new_allocate(NULL, 16 * 16, NULL);
    GST_BUFFER_PTS(buf) = start + k * kFrame;
    GST_BUFFER_DURATION(buf) = kFrame;
    const GstFlowReturn ret = gst_harness_push(m.inputs[0], buf);
    if (k < 10) {
      ASSERT_EQ(GST_FLOW_OK, ret) << "frame " << k;
    }
  }
  bool eos = false;
  for (int n = 0; n < 2000 && !eos; n++) {
    GstEvent *e = gst_harness_try_pull_event(m.out());
    if (!e) {
      g_usleep(1000);
      continue;
    }
    eos = GST_EVENT_TYPE(e) == GST_EVENT_EOS;
    gst_event_unref(e);
  }
  EXPECT_TRUE(eos) << "no EOS at the segment's stop";
  std::vector<GstClockTime> pts, want;
  while (GstBuffer *out = gst_harness_try_pull(m.out())) {
    pts.push_back(GST_BUFFER_PTS(out));
    gst_buffer_unref(out);
  }
  for (int k = 0; k < 10; k++)
    want.push_back(start + k * kFrame);
  EXPECT_EQ(want, pts);
}

/* A GAP event on an input (a camera or network source with nothing for a
 * while; montagescene forwards GAPs) is no frame. GstAggregator queues it as
 * an empty buffer flagged GAP, which the element took as the input's frame
 * and sent out: ten 0-byte video frames for ten GAPs (videoconvert then
 * warned "invalid video buffer received" for each; a review's finding). Now
 * the input's latest frame is shown again within the grace (one frame), then
 * the input cannot show frames until its next one: with no other input, GAP
 * events go out. */
TEST(MontageSelect, GapEventOnAnInputIsNoFrame)
{
  Mixer m(1, false);
  g_object_set(m.element, "bpm", 0.0, NULL);
  for (int k = 0; k < 30; k++) {
    if (k >= 10 && k < 20)
      ASSERT_TRUE(gst_harness_push_event(m.inputs[0], gst_event_new_gap(k * kFrame, kFrame)));
    else
      m.push_frame(0, k);
  }
  ASSERT_TRUE(gst_harness_push_event(m.inputs[0], gst_event_new_eos()));
  std::vector<GstClockTime> gaps;
  bool eos = false;
  for (int n = 0; n < 10000 && !eos; n++) {
    GstEvent *e = gst_harness_try_pull_event(m.out());
    if (!e) {
      g_usleep(1000);
      continue;
    }
    if (GST_EVENT_TYPE(e) == GST_EVENT_GAP) {
      GstClockTime ts, duration;
      gst_event_parse_gap(e, &ts, &duration);
      gaps.push_back(ts);
    }
    eos = GST_EVENT_TYPE(e) == GST_EVENT_EOS;
    gst_event_unref(e);
  }
  ASSERT_TRUE(eos);
  std::vector<std::pair<int, int>> shown;
  while (GstBuffer *out = gst_harness_try_pull(m.out())) {
    EXPECT_EQ(16u * 16u, gst_buffer_get_size(out)) << "PTS " << GST_BUFFER_PTS(out);
    EXPECT_FALSE(GST_BUFFER_FLAG_IS_SET(out, GST_BUFFER_FLAG_GAP)) << "PTS " << GST_BUFFER_PTS(out);
    shown.push_back(m.source_of(out));
    gst_buffer_unref(out);
  }
  std::vector<std::pair<int, int>> want;
  for (int k = 0; k < 30; k++)
    if (k < 10 || k >= 20)
      want.push_back({0, k});
    else if (k == 10)
      want.push_back({0, 9}); /* the latest frame again, within the grace */
  EXPECT_EQ(want, shown);
  std::vector<GstClockTime> want_gaps;
  for (int k = 11; k < 20; k++)
    want_gaps.push_back(k * kFrame);
  EXPECT_EQ(want_gaps, gaps);
  EXPECT_EQ(1u, m.switches().size()) << "the start alone";
}

/* GAP events on the input on air, with another input delivering: its latest
 * frame is shown again within the grace, then the mix switches to the other
 * (input-lost), as for an input that sends nothing. Before, the GAPs went out
 * as 0-byte frames of the input on air. */
TEST(MontageSelect, GapEventsOnTheInputOnAirSwitchAway)
{
  Mixer m(2, false);
  g_object_set(m.element, "bpm", 0.0, NULL);
  int on_air = -1;
  for (int k = 0; k < 10; k++) {
    m.push_frame(0, k);
    m.push_frame(1, k);
    GstBuffer *out = m.pull();
    ASSERT_NE(nullptr, out);
    gst_buffer_unref(out);
    if (k == 0)
      on_air = pad_index(m.switches().at(0).now);
  }
  ASSERT_TRUE(on_air == 0 || on_air == 1);
  const int other = 1 - on_air;
  for (int k = 10; k < 20; k++) {
    ASSERT_TRUE(gst_harness_push_event(m.inputs[on_air], gst_event_new_gap(k * kFrame, kFrame)));
    m.push_frame(other, k);
  }
  for (GstHarness *h : m.inputs)
    ASSERT_TRUE(gst_harness_push_event(h, gst_event_new_eos()));
  std::vector<std::pair<int, int>> shown;
  for (int k = 10; k < 20; k++) {
    GstBuffer *out = m.pull();
    ASSERT_NE(nullptr, out) << "no output for frame " << k;
    EXPECT_EQ(k * kFrame, GST_BUFFER_PTS(out));
    EXPECT_EQ(16u * 16u, gst_buffer_get_size(out)) << "frame " << k;
    shown.push_back(m.source_of(out));
    gst_buffer_unref(out);
  }
  std::vector<std::pair<int, int>> want = {{on_air, 9}};
  for (int k = 11; k < 20; k++)
    want.push_back({other, k});
  EXPECT_EQ(want, shown);
  std::vector<Switch> sw = m.switches();
  ASSERT_EQ(1u, sw.size());
  EXPECT_EQ("input-lost", sw[0].reason);
  EXPECT_EQ(11 * kFrame, sw[0].running_time);
}

/* An input slower than the output grid is shown again on a new GstBuffer
 * over the same memory. It keeps the frame's GstVideoMeta (here rows of 32
 * bytes for 16 pixels): without it a reader takes the memory as packed rows
 * (through videoconvert, half of each repeated frame's luma came out black; a
 * review's finding: the repeat had no metas at all). montagescene's shot
 * metas stay on the first showing: a repeat begins no shot. */
TEST(MontageSelect, FrameShownAgainKeepsItsVideoMetaNotItsShotMetas)
{
  Mixer m(1, false);
  g_object_set(m.element, "bpm", 0.0, NULL);
  montage::ShotProgress progress;
  progress.frames = 1;
  for (int k = 0; k < 5; k++) {
    GstMemory *mem = gst_allocator_alloc(NULL, 32 * 16, NULL);
    GST_MINI_OBJECT_FLAG_SET(mem, GST_MEMORY_FLAG_NOT_MAPPABLE);
    m.memories[{0, k}] = gst_memory_ref(mem);
    GstBuffer *buf = gst_buffer_new();
    gst_buffer_append_memory(buf, mem);
    GST_BUFFER_PTS(buf) = 2 * k * kFrame;
    GST_BUFFER_DURATION(buf) = 2 * kFrame;
    gsize offset[GST_VIDEO_MAX_PLANES] = {0};
    gint stride[GST_VIDEO_MAX_PLANES] = {32};
    ASSERT_NE(nullptr,
              gst_buffer_add_video_meta_full(buf, GST_VIDEO_FRAME_FLAG_NONE, GST_VIDEO_FORMAT_GRAY8,
                                             16, 16, 1, offset, stride));
    if (k == 0) {
      montage::ShotStart s;
      s.transition_start = s.transition_end = 0;
      s.boundary = false;
      ASSERT_TRUE(montage::shot_meta_add(buf, s));
      ASSERT_TRUE(montage::shot_features_meta_add(buf, progress));
    }
    ASSERT_EQ(GST_FLOW_OK, gst_harness_push(m.inputs[0], buf));
  }
  /* Not live: a frame is decided once the input has data queued (or is
   * EOS: its last frame is still shown to its end, output frame 9). */
  ASSERT_TRUE(gst_harness_push_event(m.inputs[0], gst_event_new_eos()));
  for (int k = 0; k < 5; k++) {
    for (int r = 0; r < 2; r++) {
      GstBuffer *out = m.pull();
      ASSERT_NE(nullptr, out);
      SCOPED_TRACE("output frame " + std::to_string(2 * k + r));
      EXPECT_EQ((2 * k + r) * kFrame, GST_BUFFER_PTS(out));
      EXPECT_EQ(std::make_pair(0, k), m.source_of(out));
      GstVideoMeta *vmeta = gst_buffer_get_video_meta(out);
      ASSERT_NE(nullptr, vmeta) << (r ? "shown again" : "first showing");
      EXPECT_EQ(32, vmeta->stride[0]);
      EXPECT_EQ(16u, vmeta->width);
      EXPECT_EQ(16u, vmeta->height);
      montage::ShotStart start;
      montage::ShotProgress got;
      EXPECT_EQ(k == 0 && r == 0, montage::shot_meta_get(out, start));
      EXPECT_EQ(k == 0 && r == 0, montage::shot_features_meta_get(out, got));
      gst_buffer_unref(out);
    }
  }
}

/* Whether an allocation query from input i (with the inputs' caps) is
 * answered, and with GstVideoMeta among its metas. */
static std::pair<bool, bool> allocation_query(Mixer &m, int i)
{
  GstCaps *caps = gst_caps_from_string(kVideoCaps);
  GstQuery *q = gst_query_new_allocation(caps, TRUE);
  gst_caps_unref(caps);
  const bool answered = gst_pad_peer_query(m.inputs[i]->srcpad, q);
  const bool video_meta = gst_query_find_allocation_meta(q, GST_VIDEO_META_API_TYPE, NULL);
  gst_query_unref(q);
  return {answered, video_meta};
}

/* An input's allocation query is answered with the metas downstream takes
 * (GstVideoMeta here), before the output is negotiated and after: frames
 * go out untouched, so an upstream element may send frames whose layout a
 * GstVideoMeta describes (a decoder's padded rows) rather than copy each
 * into packed rows. Without such a meta downstream, none is offered.
 * Before, the query failed (GstAggregator answers it only through
 * propose_allocation, which the element did not have), as it does for
 * compositor; input-selector passes it downstream. */
TEST(MontageSelect, AllocationQueryOffersTheMetasDownstreamTakes)
{
  {
    Mixer m(2, false);
    g_object_set(m.element, "bpm", 0.0, NULL);
    gst_harness_add_propose_allocation_meta(m.out(), GST_VIDEO_META_API_TYPE, NULL);
    EXPECT_EQ(std::make_pair(true, true), allocation_query(m, 1)) << "before negotiation";
    m.push_frame(0, 0);
    m.push_frame(1, 0);
    GstBuffer *out = m.pull();
    ASSERT_NE(nullptr, out);
    gst_buffer_unref(out);
    for (int i : {0, 1})
      EXPECT_EQ(std::make_pair(true, true), allocation_query(m, i)) << "input " << i;
  }
  {
    Mixer m(1, false);
    EXPECT_FALSE(allocation_query(m, 0).second) << "downstream takes no video meta";
  }
}

/* An input's allocation query after the output is negotiated (a camera
 * plugged in while playing, an input renegotiating), with downstream adding
 * no meta (fakesink, appsink, this harness): answered with no meta and no
 * GStreamer-CRITICAL, criticals fatal here as in an application run with
 * G_DEBUG=fatal-criticals. Before, the element read the metas of
 * GstAggregator's shared (not writable) allocation query, which created the
 * missing meta array in place: "gst_structure_id_take_value: assertion
 * 'IS_MUTABLE (structure)' failed" and a leaked GArray per query (trial
 * h115's finding 1). */
TEST(MontageSelect, AllocationQueryAfterNegotiationWithNoMetaDownstream)
{
  Mixer m(2, false);
  g_object_set(m.element, "bpm", 0.0, NULL);
  m.push_frame(0, 0);
  m.push_frame(1, 0);
  GstBuffer *out = m.pull();
  ASSERT_NE(nullptr, out);
  gst_buffer_unref(out);
  const int warnings = montage_test::warnings_seen();
  const GLogLevelFlags fatal =
      g_log_set_always_fatal((GLogLevelFlags)(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL));
  for (int i : {1, 0, 1})
    EXPECT_EQ(std::make_pair(true, false), allocation_query(m, i)) << "input " << i;
  g_log_set_always_fatal(fatal);
  EXPECT_EQ(warnings, montage_test::warnings_seen());
}

/* The output frame rate is downstream's to choose: a capsfilter's 30/1
 * downstream of 25 fps inputs is the output's rate (each input is placed on
 * the output's grid), and, with downstream free, inputs at 15 and 60 fps
 * give 60/1 whichever negotiates first (the highest rate among the inputs'
 * caps). Before, the first input's caps, frame rate included, were the
 * output caps: with a capsfilter at another rate downstream the inputs
 * could not negotiate (before any caps their caps query answered
 * downstream's rate), and the rate of a mix of cameras at different rates
 * changed from run to run (trial h115's finding 6). */
TEST(MontageSelect, OutputFrameRateIsDownstreamsOrTheHighestInputs)
{
  {
    Mixer m(0, false);
    g_object_set(m.element, "bpm", 0.0, NULL);
    GstHarness *h = gst_harness_new_with_element(m.element, "sink_0", "src");
    m.inputs.push_back(h);
    gst_harness_set_sink_caps_str(h, "video/x-raw,framerate=30/1");
    gst_harness_set_src_caps_str(h, kVideoCaps);
    for (int k = 0; k < 4; k++)
      m.push_frame(0, k);
    for (int k = 0; k < 4; k++) {
      GstBuffer *out = m.pull();
      ASSERT_NE(nullptr, out) << "output frame " << k;
      EXPECT_EQ(gst_util_uint64_scale(k, GST_SECOND, 30), GST_BUFFER_PTS(out));
      gst_buffer_unref(out);
    }
    const std::vector<std::string> caps = m.output_caps();
    ASSERT_FALSE(caps.empty());
    EXPECT_NE(std::string::npos, caps.back().find("framerate=(fraction)30/1")) << caps.back();
  }
  const std::string slow = "video/x-raw,format=GRAY8,width=16,height=16,framerate=15/1";
  const std::string fast = "video/x-raw,format=GRAY8,width=16,height=16,framerate=60/1";
  for (bool slow_first : {true, false}) {
    Mixer m(0, false);
    g_object_set(m.element, "bpm", 0.0, NULL);
    const std::string &a = slow_first ? slow : fast, &b = slow_first ? fast : slow;
    m.add_input(a.c_str());
    m.add_input(b.c_str());
    for (int i : {0, 1}) {
      const bool is_slow = (i == 0) == slow_first;
      m.push_frame_at(i, 0, 0, GST_SECOND / (is_slow ? 15 : 60));
    }
    GstBuffer *out = m.pull();
    ASSERT_NE(nullptr, out);
    EXPECT_EQ(GST_SECOND / 60, GST_BUFFER_DURATION(out)) << "slow first " << slow_first;
    gst_buffer_unref(out);
    const std::vector<std::string> caps = m.output_caps();
    ASSERT_FALSE(caps.empty());
    EXPECT_NE(std::string::npos, caps.back().find("framerate=(fraction)60/1"))
        << caps.back() << ", slow first " << slow_first;
  }
}

/* Downstream changing the output's rate mid-stream (its caps 25/1 -> 50/1 ->
 * 25/1, each time with a RECONFIGURE, after frames went out): the output
 * goes on at the new rate from where it was, each buffer starting where the
 * last one ended, no jump, no gap. Before, the grid's frame index went on at
 * the new rate from the stream's first frame: after 25 -> 50 fps the next
 * frame's end lay before its start (unsigned wrap), every input frame was
 * dropped and nothing went out again (review h129's finding 1). */
TEST(MontageSelect, DownstreamChangingTheRateMidStreamGoesOnAtTheNewRate)
{
  constexpr GstClockTime kHalf = kFrame / 2;
  Mixer m(0, false);
  g_object_set(m.element, "bpm", 0.0, NULL);
  GstHarness *h = gst_harness_new_with_element(m.element, "sink_0", "src");
  m.inputs.push_back(h);
  gst_harness_set_sink_caps_str(h, "video/x-raw,framerate=25/1");
  gst_harness_set_src_caps_str(h, kVideoCaps);
  for (int k = 0; k < 10; k++)
    m.push_frame(0, k);
  for (int k = 0; k < 10; k++) {
    GstBuffer *out = m.pull();
    ASSERT_NE(nullptr, out) << "output frame " << k;
    EXPECT_EQ(k * kFrame, GST_BUFFER_PTS(out));
    EXPECT_EQ(kFrame, GST_BUFFER_DURATION(out));
    gst_buffer_unref(out);
  }
  /* 50 fps: two output frames per input frame, from 0.4 s on. */
  gst_harness_set_sink_caps_str(h, "video/x-raw,framerate=50/1");
  gst_harness_push_upstream_event(h, gst_event_new_reconfigure());
  for (int k = 10; k < 15; k++)
    m.push_frame(0, k);
  for (int j = 0; j < 9; j++) {
    GstBuffer *out = m.pull();
    ASSERT_NE(nullptr, out) << "output frame " << j << " at 50 fps";
    EXPECT_EQ(10 * kFrame + j * kHalf, GST_BUFFER_PTS(out)) << "frame " << j << " at 50 fps";
    EXPECT_EQ(kHalf, GST_BUFFER_DURATION(out)) << "frame " << j << " at 50 fps";
    if (j % 2 == 0) {
      EXPECT_EQ(std::make_pair(0, 10 + j / 2), m.source_of(out)) << "frame " << j;
    }
    gst_buffer_unref(out);
  }
  std::vector<std::string> caps = m.output_caps();
  ASSERT_FALSE(caps.empty());
  EXPECT_NE(std::string::npos, caps.back().find("framerate=(fraction)50/1")) << caps.back();
  /* Back to 25 fps from where the grid is: 0.58 s (the frame there at
   * 50 fps waited for input frame 15, non-live, so it comes after the
   * change), then every 40 ms, each frame showing the input frame that
   * started at or before it, the last (0.78 s) input frame 19. */
  gst_harness_set_sink_caps_str(h, "video/x-raw,framerate=25/1");
  gst_harness_push_upstream_event(h, gst_event_new_reconfigure());
  for (int k = 15; k < 20; k++)
    m.push_frame(0, k);
  for (int j = 0; j < 6; j++) {
    const GstClockTime t = 10 * kFrame + 9 * kHalf + j * kFrame;
    GstBuffer *out = m.pull();
    ASSERT_NE(nullptr, out) << "output frame " << j << " at 25 fps again";
    EXPECT_EQ(t, GST_BUFFER_PTS(out)) << "frame " << j << " at 25 fps again";
    EXPECT_EQ(kFrame, GST_BUFFER_DURATION(out)) << "frame " << j << " at 25 fps again";
    EXPECT_EQ(std::make_pair(0, 14 + j), m.source_of(out)) << "frame " << j << " at 25 fps again";
    gst_buffer_unref(out);
  }
  caps = m.output_caps();
  ASSERT_FALSE(caps.empty());
  EXPECT_NE(std::string::npos, caps.back().find("framerate=(fraction)25/1")) << caps.back();
}

/* Runs `launch` (its sink named "sink") to EOS, 20 s at most: the buffers
 * that reached the sink and the WARNING messages posted (-1 frames: no EOS,
 * an error or a stall). */
static std::pair<int, int> run_counting(const std::string &launch)
{
  static gsize once = 0;
  if (g_once_init_enter(&once))
    g_once_init_leave(&once, GST_ELEMENT_REGISTER(montageselect, NULL) ? 1 : 2);
  GError *err = nullptr;
  GstElement *pipe = gst_parse_launch(launch.c_str(), &err);
  EXPECT_EQ(nullptr, err) << (err ? err->message : "");
  g_clear_error(&err);
  if (!pipe)
    return {-1, 0};
  GstElement *sink = gst_bin_get_by_name(GST_BIN(pipe), "sink");
  GstPad *pad = gst_element_get_static_pad(sink, "sink");
  std::atomic<int> frames{0};
  gst_pad_add_probe(
      pad, GST_PAD_PROBE_TYPE_BUFFER,
      [](GstPad *, GstPadProbeInfo *, gpointer data) {
        ++*static_cast<std::atomic<int> *>(data);
        return GST_PAD_PROBE_OK;
      },
      &frames, nullptr);
  gst_object_unref(pad);
  gst_object_unref(sink);
  GstBus *bus = gst_element_get_bus(pipe);
  int warnings = 0;
  bool eos = false;
  EXPECT_NE(GST_STATE_CHANGE_FAILURE, gst_element_set_state(pipe, GST_STATE_PLAYING));
  const gint64 deadline = g_get_monotonic_time() + 20 * G_TIME_SPAN_SECOND;
  while (!eos && g_get_monotonic_time() < deadline) {
    GstMessage *msg = gst_bus_timed_pop(bus, 100 * GST_MSECOND);
    if (!msg)
      continue;
    if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_WARNING) {
      warnings++;
    } else if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
      gst_message_parse_error(msg, &err, NULL);
      ADD_FAILURE() << (err ? err->message : "an error");
      g_clear_error(&err);
      gst_message_unref(msg);
      break;
    }
    eos = GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS;
    gst_message_unref(msg);
  }
  gst_object_unref(bus);
  gst_element_set_state(pipe, GST_STATE_NULL);
  gst_object_unref(pipe);
  return {eos ? frames.load() : -1, warnings};
}

/* An overlay element (timeoverlay, textoverlay: GstBaseTextOverlay) in front
 * of an input: every frame is shown, no warning. Such an element offers the
 * meta:GstVideoOverlayComposition caps feature, sends caps with it, then
 * plain caps once the allocation query downstream lacks the meta; before,
 * the element took the first caps as the output format, refused the second
 * and sent RECONFIGURE, and the input flipped between the two: no frame at
 * all (a trial's finding; input-selector and compositor show 60 of 60).
 * Now the inputs' caps query and accept-caps do not offer that feature. */
TEST(MontageSelect, OverlayInFrontOfAnInputIsShown)
{
  for (const char *name : {"timeoverlay", "textoverlay", "videotestsrc"})
    if (GstElementFactory *f = gst_element_factory_find(name))
      gst_object_unref(f);
    else
      GTEST_SKIP() << name << " is not installed";
  const std::string src = "videotestsrc num-buffers=30 ! "
                          "video/x-raw,format=I420,width=64,height=36,framerate=30/1 ! ";
  EXPECT_EQ(std::make_pair(30, 0),
            run_counting("montageselect name=sel bpm=0 ! fakesink name=sink " + src +
                         "timeoverlay ! queue ! sel.sink_0"))
      << "timeoverlay on one input";
  EXPECT_EQ(std::make_pair(30, 0),
            run_counting("montageselect name=sel bpm=120 ! fakesink name=sink " + src +
                         "textoverlay text=A ! queue ! sel.sink_0 " + src +
                         "textoverlay text=B ! queue ! sel.sink_1"))
      << "textoverlay on two inputs";

  /* The feature is neither offered nor accepted on an input. */
  Mixer m(1, false);
  GstCaps *overlay = gst_caps_from_string(
      "video/x-raw(meta:GstVideoOverlayComposition),format=GRAY8,width=16,height=16");
  EXPECT_FALSE(gst_pad_peer_query_accept_caps(m.inputs[0]->srcpad, overlay));
  GstCaps *answer = gst_pad_peer_query_caps(m.inputs[0]->srcpad, overlay);
  EXPECT_TRUE(gst_caps_is_empty(answer)) << to_string(answer);
  gst_caps_unref(answer);
  gst_caps_unref(overlay);
}

/* A montageselect with a beat pad and no video input: at the beat pad's EOS
 * the output ends (EOS), with a warning that says a video input is needed.
 * Before, the beat pad's buffers were never taken while no caps had come,
 * upstream blocked, and the pipeline neither prerolled nor ended (a
 * trial's finding). */
TEST(MontageSelect, BeatPadAloneEndsWithAWarning)
{
  Mixer m(0, false);
  GstHarness *h = gst_harness_new_with_element(m.element, "beat", "src");
  gst_harness_set_src_caps_str(h, kAudioCaps);
  std::atomic<bool> pushed{false};
  std::thread pusher([&] {
    for (int k = 0; k < 10; k++) {
      GstBuffer *buf = gst_buffer_new_allocate(NULL, 320 * sizeof(float), NULL);
      gst_buffer_memset(buf, 0, 0, 320 * sizeof(float));
      GST_BUFFER_PTS(buf) = k * kFrame;
      GST_BUFFER_DURATION(buf) = kFrame;
      MontageBeatInfo info{k * kFrame, 3.0, FALSE, 0, 120.0, 0.5};
      montage_buffer_add_beat_meta(buf, &info);
      if (gst_harness_push(h, buf) != GST_FLOW_OK)
        return;
    }
    gst_harness_push_event(h, gst_event_new_eos());
    pushed = true;
  });
  bool eos = false;
  for (int n = 0; n < 5000 && !eos; n++) {
    while (GstEvent *e = gst_harness_try_pull_event(h)) {
      eos = eos || GST_EVENT_TYPE(e) == GST_EVENT_EOS;
      gst_event_unref(e);
    }
    if (!eos)
      g_usleep(1000);
  }
  const guint out_buffers = gst_harness_buffers_in_queue(h);
  gst_harness_teardown(h); /* unblocks the pusher, if blocked */
  pusher.join();
  EXPECT_TRUE(eos) << "no EOS within 5 s";
  EXPECT_TRUE(pushed) << "upstream blocked";
  EXPECT_EQ(0u, out_buffers);
  const std::vector<std::string> warnings = m.warnings();
  ASSERT_EQ(1u, warnings.size());
  EXPECT_NE(std::string::npos, warnings[0].find("no video input")) << warnings[0];
}

/* With a beat pad, every video input released after frames went out: the
 * grid goes on, each frame a GAP event as the beat pad's data reaches it.
 * Before, the beats were dropped with the grid standing still: nothing went
 * out until an input came back, then every frame missed went out at once
 * as a late GAP (trial h115's finding 2: 109 GAP events in a burst). */
TEST(MontageSelect, EveryVideoInputReleasedGoesOnWithGapEvents)
{
  Mixer m(0, false);
  m.beat = gst_harness_new_with_element(m.element, "beat", "src");
  gst_harness_set_src_caps_str(m.beat, kAudioCaps);
  GstHarness *v = gst_harness_new_with_element(m.element, "sink_0", NULL);
  gst_harness_set_src_caps_str(v, kVideoCaps);
  m.inputs.push_back(v);
  for (int k = 0; k < 5; k++) {
    m.push_frame(0, k);
    m.push_audio(k, {});
  }
  for (int k = 0; k < 5; k++) {
    GstBuffer *out = nullptr;
    for (int n = 0; n < 10000 && !out; n++)
      if (!(out = gst_harness_try_pull(m.beat)))
        g_usleep(1000);
    ASSERT_NE(nullptr, out) << "output frame " << k;
    EXPECT_EQ(k * kFrame, GST_BUFFER_PTS(out));
    gst_buffer_unref(out);
  }
  gst_harness_teardown(v);
  m.inputs[0] = nullptr;
  for (int k = 5; k < 15; k++)
    m.push_audio(k, {});
  std::vector<GstClockTime> gaps;
  for (int n = 0; n < 5000 && gaps.size() < 10; n++) {
    GstEvent *e = gst_harness_try_pull_event(m.beat);
    if (!e) {
      g_usleep(1000);
      continue;
    }
    if (GST_EVENT_TYPE(e) == GST_EVENT_GAP) {
      GstClockTime ts, duration;
      gst_event_parse_gap(e, &ts, &duration);
      EXPECT_EQ(kFrame, duration);
      gaps.push_back(ts);
    }
    gst_event_unref(e);
  }
  ASSERT_EQ(10u, gaps.size()) << "frames 5-14 as GAP events";
  for (int k = 5; k < 15; k++)
    EXPECT_EQ(k * kFrame, gaps[k - 5]);
}

/* emit-signals (GstAggregator's) gives samples-selected before each output
 * frame, with the frame's PTS and duration, and peek_next_sample() on the
 * input on air gives the frame that goes out (none on the other input).
 * Before, the signal never came: aggregate() did not call
 * gst_aggregator_selected_samples() (trial h115's finding 4). */
TEST(MontageSelect, EmitSignalsGivesSamplesSelected)
{
  Mixer m(2, false);
  g_object_set(m.element, "bpm", 0.0, "emit-signals", TRUE, NULL);
  struct Seen {
    Mixer *m;
    std::atomic<int> count{0}, peeked{0}, wrong{0};
    std::vector<GstClockTime> pts, duration;
  } seen;
  seen.m = &m;
  g_signal_connect(
      m.element, "samples-selected",
      G_CALLBACK(+[](GstAggregator *agg, GstSegment *, GstClockTime pts, GstClockTime,
                     GstClockTime duration, GstStructure *, gpointer data) {
        Seen *s = static_cast<Seen *>(data);
        s->pts.push_back(pts);
        s->duration.push_back(duration);
        for (int i : {0, 1}) {
          GstPad *pad = gst_element_get_static_pad(GST_ELEMENT(agg), i ? "sink_1" : "sink_0");
          if (GstSample *sample = gst_aggregator_peek_next_sample(agg, GST_AGGREGATOR_PAD(pad))) {
            if (s->m->source_of(gst_sample_get_buffer(sample)).first == i)
              s->peeked++;
            else
              s->wrong++;
            gst_sample_unref(sample);
          }
          gst_object_unref(pad);
        }
        s->count++;
      }),
      &seen);
  for (int k = 0; k < 3; k++) {
    m.push_frame(0, k);
    m.push_frame(1, k);
  }
  for (int k = 0; k < 3; k++) {
    GstBuffer *out = m.pull();
    ASSERT_NE(nullptr, out);
    gst_buffer_unref(out);
  }
  ASSERT_EQ(3, seen.count.load());
  EXPECT_EQ(3, seen.peeked.load());
  EXPECT_EQ(0, seen.wrong.load());
  for (int k = 0; k < 3; k++) {
    EXPECT_EQ(k * kFrame, seen.pts[k]);
    EXPECT_EQ(kFrame, seen.duration[k]);
  }
}

/* Releasing the beat pad while playing posts a warning that the switches
 * now follow the bpm grid (here 150 BPM: every 0.4 s, 10 frames), and they
 * do. Before, the mix went over to the grid silently (trial h115's finding
 * 3: an application unplugging its music got cuts on an invented 120 BPM
 * grid and no message). */
TEST(MontageSelect, BeatPadReleasedWhilePlayingWarnsOfTheBpmGrid)
{
  Mixer m(2, true);
  g_object_set(m.element, "bpm", 150.0, "beats-per-cut", 1u, "min-shot-length", (guint64)0, NULL);
  for (int k = 0; k < 5; k++) {
    m.push_frame(0, k);
    m.push_frame(1, k);
    m.push_audio(k, {});
    GstBuffer *out = m.pull();
    ASSERT_NE(nullptr, out);
    gst_buffer_unref(out);
  }
  EXPECT_TRUE(m.warnings().empty());
  gst_harness_teardown(m.beat);
  m.beat = nullptr;
  const std::vector<std::string> warnings = m.warnings();
  ASSERT_EQ(1u, warnings.size());
  EXPECT_NE(std::string::npos, warnings[0].find("150 BPM")) << warnings[0];
  m.switches();
  for (int k = 5; k < 30; k++) {
    m.push_frame(0, k);
    m.push_frame(1, k);
    GstBuffer *out = m.pull();
    ASSERT_NE(nullptr, out);
    gst_buffer_unref(out);
  }
  /* The grid starts at the first frame decided without the beat pad. */
  const std::vector<Switch> sw = m.switches();
  ASSERT_EQ(2u, sw.size());
  EXPECT_EQ(15 * kFrame, sw[0].running_time);
  EXPECT_EQ(25 * kFrame, sw[1].running_time);
}

/* Frames no input can show, up to where every input's queued data starts,
 * go out as one GAP event: here frames 6-19 (frame 5 shows frame 4 again,
 * within the grace) before the input's next frame at 20. Before, one GAP
 * event per frame went out at once: live, a burst of late GAPs when a camera
 * was plugged in after every input had been released (trial h115's finding
 * 2: 64 GAP events in a burst). */
TEST(MontageSelect, FramesNoInputCanShowUntilItsQueuedFrameAreOneGapEvent)
{
  Mixer m(1, false);
  g_object_set(m.element, "bpm", 0.0, NULL);
  for (int k = 0; k < 5; k++)
    m.push_frame(0, k);
  for (int k = 0; k < 5; k++) {
    GstBuffer *out = m.pull();
    ASSERT_NE(nullptr, out);
    gst_buffer_unref(out);
  }
  m.push_frame(0, 20);
  GstBuffer *again = m.pull(), *next = m.pull();
  ASSERT_NE(nullptr, again);
  ASSERT_NE(nullptr, next);
  EXPECT_EQ(std::make_pair(0, 4), m.source_of(again));
  EXPECT_EQ(5 * kFrame, GST_BUFFER_PTS(again));
  EXPECT_EQ(std::make_pair(0, 20), m.source_of(next));
  EXPECT_EQ(20 * kFrame, GST_BUFFER_PTS(next));
  gst_buffer_unref(again);
  gst_buffer_unref(next);
  std::vector<std::pair<GstClockTime, GstClockTime>> gaps;
  while (GstEvent *e = gst_harness_try_pull_event(m.out())) {
    if (GST_EVENT_TYPE(e) == GST_EVENT_GAP) {
      GstClockTime ts, duration;
      gst_event_parse_gap(e, &ts, &duration);
      gaps.push_back({ts, duration});
    }
    gst_event_unref(e);
  }
  const std::vector<std::pair<GstClockTime, GstClockTime>> want = {{6 * kFrame, 14 * kFrame}};
  EXPECT_EQ(want, gaps);
}

/* 5 frames of 2 output frames each, frame 0 flagged DISCONT, then EOS: 10
 * output frames, each input frame shown twice; the repeat has no DISCONT
 * (it follows its original). */
static void push_slow_input(Mixer &m)
{
  g_object_set(m.element, "bpm", 0.0, NULL);
  for (int k = 0; k < 5; k++) {
    GstMemory *mem = gst_allocator_alloc(NULL, 16 * 16, NULL);
    GST_MINI_OBJECT_FLAG_SET(mem, GST_MEMORY_FLAG_NOT_MAPPABLE);
    m.memories[{0, k}] = gst_memory_ref(mem);
    GstBuffer *buf = gst_buffer_new();
    gst_buffer_append_memory(buf, mem);
    GST_BUFFER_PTS(buf) = 2 * k * kFrame;
    GST_BUFFER_DURATION(buf) = 2 * kFrame;
    if (k == 0)
      GST_BUFFER_FLAG_SET(buf, GST_BUFFER_FLAG_DISCONT);
    ASSERT_EQ(GST_FLOW_OK, gst_harness_push(m.inputs[0], buf));
  }
  ASSERT_TRUE(gst_harness_push_event(m.inputs[0], gst_event_new_eos()));
}

/* A frame shown again does not repeat the original's DISCONT flag (a
 * discontinuity is at the original only). Before, a repeat copied all the
 * frame's flags (h99's note). */
TEST(MontageSelect, FrameShownAgainIsNoDiscont)
{
  Mixer m(1, false);
  push_slow_input(m);
  GstBuffer *first = m.pull(), *again = m.pull();
  ASSERT_NE(nullptr, first);
  ASSERT_NE(nullptr, again);
  EXPECT_EQ(std::make_pair(0, 0), m.source_of(again));
  EXPECT_FALSE(GST_BUFFER_FLAG_IS_SET(again, GST_BUFFER_FLAG_DISCONT));
  gst_buffer_unref(first);
  gst_buffer_unref(again);
}

/* An input slower than the grid whose EOS has arrived still shows its last
 * frame for that frame's whole duration: 5 input frames of 2 output frames
 * make 10 output frames, then EOS. Before, once the input was EOS its last
 * frame was shown once: 9 frames (the output ended one frame early; h99's
 * note). */
TEST(MontageSelect, SlowerInputsLastFrameFillsItsDurationAtEos)
{
  Mixer m(1, false);
  push_slow_input(m);
  for (int k = 0; k < 10; k++) {
    GstBuffer *out = m.pull();
    ASSERT_NE(nullptr, out) << "output frame " << k;
    EXPECT_EQ(k * kFrame, GST_BUFFER_PTS(out));
    EXPECT_EQ(std::make_pair(0, k / 2), m.source_of(out)) << "output frame " << k;
    gst_buffer_unref(out);
  }
  bool eos = false;
  for (int n = 0; n < 5000 && !eos; n++) {
    while (GstEvent *e = gst_harness_try_pull_event(m.out()))
      eos = eos || GST_EVENT_TYPE(e) == GST_EVENT_EOS, gst_event_unref(e);
    if (!eos)
      g_usleep(1000);
  }
  EXPECT_TRUE(eos);
  EXPECT_EQ(0u, gst_harness_buffers_in_queue(m.out()));
}

/* Live, no input has a frame for output frame 0 when its latency has passed
 * (a camera whose frames come later than the latency it reports): a GAP
 * event covers it, after the caps and a segment, so that a sink can preroll;
 * the inputs' frames then show. Before, GAP events went out only once a
 * buffer had: when the first frames could not be shown nothing went
 * downstream, and a pipeline with a live sink never reached PLAYING (trial
 * h115's finding 1: a camera through montagescene whose caps give no frame
 * rate). */
TEST(MontageSelect, FirstFramesNoInputCanShowAreGapEventsAfterCapsAndSegment)
{
  Mixer m(2, false);
  g_object_set(m.element, "bpm", 0.0, NULL);
  /* The element waits on the clock for frame 0 + latency: let that time come. */
  ASSERT_TRUE(gst_harness_crank_single_clock_wait(m.out()));
  std::vector<GstEventType> seen;
  GstClockTime gap_ts = GST_CLOCK_TIME_NONE, gap_duration = GST_CLOCK_TIME_NONE;
  for (int n = 0; n < 5000 && !GST_CLOCK_TIME_IS_VALID(gap_ts); n++) {
    GstEvent *e = gst_harness_try_pull_event(m.out());
    if (!e) {
      g_usleep(1000);
      continue;
    }
    seen.push_back(GST_EVENT_TYPE(e));
    if (GST_EVENT_TYPE(e) == GST_EVENT_GAP)
      gst_event_parse_gap(e, &gap_ts, &gap_duration);
    gst_event_unref(e);
  }
  ASSERT_TRUE(GST_CLOCK_TIME_IS_VALID(gap_ts)) << "no GAP event for frame 0";
  EXPECT_EQ(0u, gap_ts);
  EXPECT_EQ(kFrame, gap_duration);
  auto index = [&](GstEventType type) {
    return std::find(seen.begin(), seen.end(), type) - seen.begin();
  };
  EXPECT_LT(index(GST_EVENT_CAPS), index(GST_EVENT_GAP));
  EXPECT_LT(index(GST_EVENT_SEGMENT), index(GST_EVENT_GAP));
  EXPECT_EQ(0u, gst_harness_buffers_in_queue(m.out()));
  /* The inputs' frames from frame 1 on are shown. */
  m.push_frame(0, 1);
  m.push_frame(1, 1);
  GstBuffer *out = m.pull();
  ASSERT_NE(nullptr, out);
  EXPECT_EQ(kFrame, GST_BUFFER_PTS(out));
  EXPECT_EQ(1, m.source_of(out).second);
  gst_buffer_unref(out);
}

/* An input's own force-key-unit requests (montagescene's, before its cut
 * frame) go on for the output frame that shows that frame: its PTS, stream
 * time and running time on the output's grid, one timed request and its
 * next-frame twin. Here the input's frames lie 10 ms after the grid's (its
 * first frame sets the grid, the later ones come 10 ms late), so its own
 * request says 10 ms after the output frame that shows the cut. Before, it
 * went on as it came, with the input's times: an encoder given the cut frame
 * at 5 frames and a timed request at 5 frames + 10 ms keyed the frame after
 * it too, two keyframes per cut (trial h115's finding 4). */
TEST(MontageSelect, InputsKeyUnitRequestIsRestampedToTheGridFrameShowingIt)
{
  Mixer m(1, false);
  g_object_set(m.element, "bpm", 0.0, NULL);
  constexpr GstClockTime kLate = 10 * GST_MSECOND;
  m.push_frame_at(0, 0, 0, kFrame + kLate);
  for (int k = 1; k < 5; k++)
    m.push_frame_at(0, k, k * kFrame + kLate, kFrame);
  for (int k = 0; k < 5; k++) {
    GstBuffer *out = m.pull();
    ASSERT_NE(nullptr, out);
    gst_buffer_unref(out);
  }
  EXPECT_TRUE(m.key_unit_requests().empty()) << "no switch after the first frame";
  const GstClockTime cut = 5 * kFrame + kLate;
  ASSERT_TRUE(gst_harness_push_event(
      m.inputs[0], gst_video_event_new_downstream_force_key_unit(cut, cut, cut, TRUE, 7)));
  ASSERT_TRUE(gst_harness_push_event(m.inputs[0], gst_video_event_new_downstream_force_key_unit(
                                                      cut, cut, GST_CLOCK_TIME_NONE, TRUE, 7)));
  m.push_frame_at(0, 5, cut, kFrame, true);
  m.push_frame_at(0, 6, 6 * kFrame + kLate, kFrame);
  GstBuffer *out = m.pull();
  ASSERT_NE(nullptr, out);
  EXPECT_EQ(5 * kFrame, GST_BUFFER_PTS(out));
  EXPECT_EQ(std::make_pair(0, 5), m.source_of(out));
  gst_buffer_unref(out);
  const std::vector<GstClockTime> want = {5 * kFrame};
  EXPECT_EQ(want, m.key_unit_requests()) << "one request pair, on the grid frame showing the cut";
  out = m.pull();
  ASSERT_NE(nullptr, out);
  gst_buffer_unref(out);
  EXPECT_TRUE(m.key_unit_requests().empty());
}

/* Releasing the input on air: active-pad reads NULL from then on (notified),
 * until another input goes on air. Before, it still gave the released pad,
 * without a parent, with no notify (trial h115's finding 16). */
TEST(MontageSelect, ActivePadIsNullOnceTheInputOnAirIsReleased)
{
  Mixer m(3, false);
  g_object_set(m.element, "bpm", 0.0, NULL);
  for (int k = 0; k < 3; k++) {
    for (int i = 0; i < 3; i++)
      m.push_frame(i, k);
    GstBuffer *out = m.pull();
    ASSERT_NE(nullptr, out);
    gst_buffer_unref(out);
  }
  /* sink_1 on air (sink_0's harness has the output): a take, at once without beats. */
  take(m.element, "sink_1");
  for (int k = 3; k < 5; k++) {
    for (int i = 0; i < 3; i++)
      m.push_frame(i, k);
    GstBuffer *out = m.pull();
    ASSERT_NE(nullptr, out);
    gst_buffer_unref(out);
  }
  ASSERT_EQ("sink_1", active_pad(m.element));
  const int on_air = 1;
  int notified = 0;
  const gulong id = g_signal_connect(
      m.element, "notify::active-pad",
      G_CALLBACK(+[](GObject *, GParamSpec *, gpointer data) { ++*static_cast<int *>(data); }),
      &notified);
  gst_harness_teardown(m.inputs[on_air]);
  m.inputs[on_air] = nullptr;
  EXPECT_EQ("", active_pad(m.element));
  EXPECT_EQ(1, notified);
  g_signal_handler_disconnect(m.element, id);
}

/* Live, before the pipeline's latency is configured (no LATENCY event from
 * downstream yet), the input on air whose frames come late for frames
 * decided on the clock shows its latest frame again rather than being lost;
 * once the LATENCY event has come, it is lost as usual (input-lost). Before,
 * a live start could cut away 0.1-0.3 s in, reason input-lost, while
 * GstAggregator's first wait did not cover what the inputs held (trial
 * h115's finding 10). */
TEST(MontageSelect, NoInputLostBeforeThePipelinesLatencyIsConfigured)
{
  Mixer m(2, false, false);
  g_object_set(m.element, "bpm", 0.0, NULL);
  int on_air = -1;
  for (int k = 0; k < 3; k++) {
    m.push_frame(0, k);
    m.push_frame(1, k);
    GstBuffer *out = m.pull();
    ASSERT_NE(nullptr, out);
    gst_buffer_unref(out);
    if (k == 0)
      on_air = pad_index(m.switches().at(0).now);
  }
  for (int k = 3; k < 6; k++) {
    m.push_frame(1 - on_air, k);
    ASSERT_TRUE(gst_harness_crank_single_clock_wait(m.out()));
    GstBuffer *out = m.pull();
    ASSERT_NE(nullptr, out);
    EXPECT_EQ(k * kFrame, GST_BUFFER_PTS(out));
    EXPECT_EQ(std::make_pair(on_air, 2), m.source_of(out)) << "frame " << k;
    gst_buffer_unref(out);
  }
  EXPECT_TRUE(m.switches().empty()) << "no input-lost switch before the latency is configured";
  gst_harness_push_upstream_event(m.out(), gst_event_new_latency(0));
  m.push_frame(1 - on_air, 6);
  ASSERT_TRUE(gst_harness_crank_single_clock_wait(m.out()));
  GstBuffer *out = m.pull();
  ASSERT_NE(nullptr, out);
  EXPECT_EQ(6 * kFrame, GST_BUFFER_PTS(out));
  EXPECT_EQ(std::make_pair(1 - on_air, 6), m.source_of(out));
  gst_buffer_unref(out);
  const std::vector<Switch> sw = m.switches();
  ASSERT_EQ(1u, sw.size());
  EXPECT_EQ("input-lost", sw[0].reason);
}

/* Plain audio linked to the beat pad (no montagebeat in front: no beat meta
 * ever) gives a warning once 10 s of it have come without a beat, naming
 * montagebeat; before, the mix never switched, without a word (trial h115's
 * finding 13). 12 s, not live. */
TEST(MontageSelect, PlainAudioOnTheBeatPadWarns)
{
  const std::pair<int, int> run = run_counting(
      "montageselect name=sel bpm=0 ! fakesink name=sink "
      "videotestsrc num-buffers=300 ! video/x-raw,format=GRAY8,width=16,height=16,framerate=25/1 "
      "! queue ! sel.sink_0 "
      "audiotestsrc num-buffers=120 samplesperbuffer=800 ! "
      "audio/x-raw,format=F32LE,rate=8000,channels=1 ! queue ! sel.beat");
  EXPECT_EQ(300, run.first);
  EXPECT_EQ(1, run.second) << "one warning";
}

/* An input of another size whose upstream can make the output's format (its
 * caps query answers any caps, as converters without a capsfilter do) gets
 * a RECONFIGURE and no warning at once; it is warned of once its frames in
 * the other caps have kept coming for 2 s (upstream did not follow after
 * all). Before, the warning came at once: at start a false alarm where the
 * converters negotiated before the first input's caps set the format, then
 * followed it (trial h115's finding 12). */
TEST(MontageSelect, InputWhoseUpstreamCanConvertIsWarnedOfOnlyIfItDoesNot)
{
  Mixer m(1, false);
  g_object_set(m.element, "bpm", 0.0, NULL);
  GstHarness *h = gst_harness_new_with_element(m.element, "sink_1", NULL);
  m.inputs.push_back(h);
  /* Caps sent, not set on the harness: its caps query answers any caps. */
  ASSERT_TRUE(gst_harness_push_event(h, gst_event_new_stream_start("other-size")));
  ASSERT_TRUE(m.set_caps(1, "video/x-raw,format=GRAY8,width=32,height=32,framerate=25/1"));
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  ASSERT_TRUE(gst_harness_push_event(h, gst_event_new_segment(&segment)));
  for (int k = 0; k < 10; k++) {
    m.push_frame(0, k);
    m.push_frame(1, k);
    GstBuffer *out = m.pull();
    ASSERT_NE(nullptr, out);
    EXPECT_EQ(std::make_pair(0, k), m.source_of(out));
    gst_buffer_unref(out);
  }
  EXPECT_TRUE(m.warnings().empty()) << "no warning while upstream may follow";
  EXPECT_TRUE(m.reconfigure_sent(1));
  for (int k = 10; k < 60; k++) {
    m.push_frame(0, k);
    m.push_frame(1, k);
    GstBuffer *out = m.pull();
    ASSERT_NE(nullptr, out);
    gst_buffer_unref(out);
  }
  const std::vector<std::string> warnings = m.warnings();
  ASSERT_EQ(1u, warnings.size()) << "frames in the other caps for 2 s";
  EXPECT_NE(std::string::npos, warnings[0].find("sink_1")) << warnings[0];
}
