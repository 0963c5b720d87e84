/* BeatTracker core on generated click tracks: no pipeline. */
#include <gst/montage/beattracker.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <cmath>
#include <cstdint>
#include <vector>

using montage::Beat;
using montage::BeatTracker;
using montage::BeatTrackerConfig;
using montage::SongAnalysis;

namespace {

constexpr GstClockTime kTolerance = 30 * GST_MSECOND;

struct ClickTrack {
  std::vector<float> samples;
  std::vector<GstClockTime> clicks; /* onset of each click, ns */
};

/* Clicks at `bpm` from `first` s for `seconds` s: each a 40 ms burst of
 * white noise and a 1 kHz tone with a 6 ms exponential decay, every fourth
 * `accent`-th one louder (a bar accent), silence (exact zeros) in between. */
ClickTrack make_clicks(guint rate, double bpm, double first, double seconds, int accent = 4)
{
  ClickTrack ct;
  ct.samples.assign((std::size_t)(seconds * rate), 0.f);
  std::uint32_t lcg = 12345;
  const double period = 60.0 / bpm;
  for (int k = 0;; k++) {
    double t = first + k * period;
    std::size_t start = (std::size_t)std::llround(t * rate);
    if (start >= ct.samples.size())
      break;
    ct.clicks.push_back((GstClockTime)std::llround((double)start * GST_SECOND / rate));
    const double amp = k % accent == 0 ? 0.8 : 0.5;
    const std::size_t len = (std::size_t)(0.04 * rate);
    for (std::size_t i = 0; i < len && start + i < ct.samples.size(); i++) {
      lcg = lcg * 1664525u + 1013904223u;
      double noise = ((double)(lcg >> 8) / (double)(1u << 24)) * 2.0 - 1.0;
      double tt = (double)i / rate;
      double env = std::exp(-tt / 0.006);
      ct.samples[start + i] = (float)(amp * env * (0.7 * noise + 0.3 * std::sin(2 * M_PI * 1000 * tt)));
    }
  }
  return ct;
}

/* Pushes in uneven chunks (as buffers would arrive). */
std::vector<Beat> push_all(BeatTracker &bt, const std::vector<float> &s)
{
  std::vector<Beat> beats;
  const std::size_t chunks[] = {1024, 441, 4096, 333, 2000};
  std::size_t pos = 0, c = 0;
  while (pos < s.size()) {
    std::size_t n = std::min(chunks[c++ % 5], s.size() - pos);
    auto got = bt.push(s.data() + pos, n);
    beats.insert(beats.end(), got.begin(), got.end());
    pos += n;
  }
  return beats;
}

GstClockTime dist(GstClockTime a, GstClockTime b)
{
  return a > b ? a - b : b - a;
}

/* Matches each found beat to its nearest click: every beat within
 * kTolerance of a click, no click matched twice (no extra beats). Returns the
 * matched clicks' indices. */
std::vector<std::size_t> match_beats(const std::vector<GstClockTime> &beats,
                                     const std::vector<GstClockTime> &clicks)
{
  std::vector<std::size_t> idx;
  for (GstClockTime b : beats) {
    std::size_t best = 0;
    for (std::size_t i = 1; i < clicks.size(); i++)
      if (dist(clicks[i], b) < dist(clicks[best], b))
        best = i;
    EXPECT_LE(dist(clicks[best], b), kTolerance)
        << "beat at " << b / 1e9 << " s is off the nearest click at " << clicks[best] / 1e9 << " s";
    if (!idx.empty()) {
      EXPECT_GT(best, idx.back()) << "two beats on the click at " << clicks[best] / 1e9 << " s";
    }
    idx.push_back(best);
  }
  return idx;
}

std::vector<GstClockTime> times_of(const std::vector<Beat> &beats)
{
  std::vector<GstClockTime> t;
  for (const Beat &b : beats)
    t.push_back(b.time);
  return t;
}

struct Case {
  guint rate;
  double bpm;
};

class ClickTrackTest : public ::testing::TestWithParam<Case> {};

TEST_P(ClickTrackTest, FindsEveryClick)
{
  const Case c = GetParam();
  const double seconds = 30.0;
  ClickTrack ct = make_clicks(c.rate, c.bpm, 0.5, seconds);
  BeatTracker bt(c.rate);
  std::vector<Beat> causal = push_all(bt, ct.samples);

  /* Causal beats: aubio's warm-up is 1.5-3 s; from then on every click up to
   * the last second (beats are confirmed half a period late) is found once. */
  ASSERT_FALSE(causal.empty());
  EXPECT_LT(causal.front().time, 3500 * GST_MSECOND);
  std::vector<std::size_t> idx = match_beats(times_of(causal), ct.clicks);
  ASSERT_FALSE(idx.empty());
  std::size_t expected_last = 0;
  while (expected_last + 1 < ct.clicks.size() &&
         ct.clicks[expected_last + 1] + GST_SECOND < (GstClockTime)(seconds * GST_SECOND))
    expected_last++;
  EXPECT_EQ(idx.size(), idx.back() - idx.front() + 1) << "a click was missed after the warm-up";
  EXPECT_GE(idx.back(), expected_last);
  for (std::size_t i = 8; i < causal.size(); i++) {
    EXPECT_NEAR(causal[i].bpm, c.bpm, c.bpm * 0.01) << "beat " << i;
    EXPECT_GE(causal[i].confidence, 0.0);
    EXPECT_LE(causal[i].confidence, 1.0);
  }

  /* Whole song: one beat per click from the first click on. */
  SongAnalysis song = bt.finish();
  EXPECT_EQ(song.duration, gst_util_uint64_scale(ct.samples.size(), GST_SECOND, c.rate));
  EXPECT_EQ(song.beats.size(), ct.clicks.size());
  idx = match_beats(song.beats, ct.clicks);
  ASSERT_FALSE(idx.empty());
  EXPECT_EQ(idx.front(), 0u) << "the list does not start at the first click";
  EXPECT_NEAR(song.bpm, c.bpm, c.bpm * 0.01);
  EXPECT_GT(song.confidence, 0.5);
  EXPECT_LE(song.confidence, 1.0);

  /* Energy: every fourth click is louder (0.8 against 0.5). The last
   * interval runs to the end of the audio, which may cut it short: left out. */
  ASSERT_EQ(song.beat_energy.size(), song.beats.size());
  double min_accent = 1.0, max_other = 0.0, sum_accent = 0.0, sum_other = 0.0;
  std::size_t n_accent = 0;
  const std::size_t n_full = song.beats.size() - 1;
  for (std::size_t i = 0; i < n_full; i++) {
    EXPECT_GE(song.beat_energy[i], 0.0);
    EXPECT_LE(song.beat_energy[i], 1.0);
    if (idx[i] % 4 == 0) {
      min_accent = std::min(min_accent, song.beat_energy[i]);
      sum_accent += song.beat_energy[i];
      n_accent++;
    } else {
      max_other = std::max(max_other, song.beat_energy[i]);
      sum_other += song.beat_energy[i];
    }
  }
  EXPECT_GT(min_accent, max_other);
  ASSERT_GT(n_accent, 0u);
  double ratio = (sum_other / (double)(n_full - n_accent)) / (sum_accent / (double)n_accent);
  EXPECT_NEAR(ratio, 0.5 / 0.8, 0.05);
  EXPECT_DOUBLE_EQ(*std::max_element(song.beat_energy.begin(), song.beat_energy.end()), 1.0);
}

INSTANTIATE_TEST_SUITE_P(Rates, ClickTrackTest,
                         ::testing::Values(Case{44100, 120}, Case{48000, 120}, Case{22050, 97},
                                           Case{44100, 97}, Case{96000, 130}, Case{8000, 110}),
                         [](const ::testing::TestParamInfo<Case> &info) {
                           return std::to_string(info.param.rate) + "Hz_" +
                                  std::to_string((int)info.param.bpm) + "bpm";
                         });

TEST(BeatTracker, SilenceGivesNoBeats)
{
  std::vector<float> silence(20 * 44100, 0.f);
  /* and a -80 dBFS hiss */
  std::vector<float> hiss(20 * 48000);
  std::uint32_t lcg = 99;
  for (float &v : hiss) {
    lcg = lcg * 1664525u + 1013904223u;
    v = (float)(1e-4 * (((double)(lcg >> 8) / (double)(1u << 24)) * 2.0 - 1.0));
  }
  for (auto *input : {&silence, &hiss}) {
    guint rate = input == &silence ? 44100 : 48000;
    BeatTracker bt(rate);
    EXPECT_TRUE(push_all(bt, *input).empty());
    SongAnalysis song = bt.finish();
    EXPECT_TRUE(song.beats.empty());
    EXPECT_TRUE(song.beat_energy.empty());
    EXPECT_EQ(song.bpm, 0.0);
    EXPECT_EQ(song.confidence, 0.0);
    EXPECT_EQ(song.duration, 20 * GST_SECOND);
  }
}

/* Silence has no loudness contrast of its own: one low section, not the
 * medium that a flat curve used to get; a steady loud signal is one medium
 * section (the planner's neutral pace, as before). */
TEST(BeatTracker, FlatLoudnessIsOneSection)
{
  const guint rate = 44100;
  std::vector<float> silence(12 * rate, 0.f);
  std::vector<float> loud(12 * rate);
  for (std::size_t i = 0; i < loud.size(); i++)
    loud[i] = (float)(0.5 * std::sin(2 * M_PI * 440.0 * (double)i / rate));
  for (auto *input : {&silence, &loud}) {
    BeatTracker bt(rate);
    push_all(bt, *input);
    SongAnalysis song = bt.finish();
    ASSERT_EQ(song.sections.size(), 1u);
    EXPECT_EQ(song.sections[0].start, 0u);
    EXPECT_EQ(song.sections[0].end, 12 * GST_SECOND);
    EXPECT_EQ(song.sections[0].level,
              input == &silence ? montage::Section::Level::kLow : montage::Section::Level::kMedium);
  }
}

/* Clicks 30 dB quieter for 21 s, then loud for 19 s: a low section and a
 * high one, the boundary at the step (the 3 s smoothing leaves about a
 * second of medium around it, which is split between the two; joined to the
 * low one, it put the boundary 1.5-3.4 s late). */
TEST(BeatTracker, SectionsChangeWhereTheLoudnessSteps)
{
  const guint rate = 44100;
  ClickTrack ct = make_clicks(rate, 120, 0.5, 40.0);
  for (std::size_t i = 0; i < 21 * (std::size_t)rate; i++)
    ct.samples[i] *= 0.0316f;
  BeatTracker bt(rate);
  push_all(bt, ct.samples);
  SongAnalysis song = bt.finish();
  ASSERT_EQ(song.sections.size(), 2u);
  EXPECT_EQ(song.sections[0].level, montage::Section::Level::kLow);
  EXPECT_EQ(song.sections[1].level, montage::Section::Level::kHigh);
  EXPECT_EQ(song.sections[0].start, 0u);
  EXPECT_EQ(song.sections[0].end, song.sections[1].start);
  EXPECT_EQ(song.sections[1].end, 40 * GST_SECOND);
  EXPECT_LE(dist(song.sections[0].end, 21 * GST_SECOND), 500 * GST_MSECOND)
      << "boundary at " << song.sections[0].end / 1e9 << " s";
}

TEST(BeatTracker, NoGridOverASilentGap)
{
  const guint rate = 44100;
  ClickTrack a = make_clicks(rate, 120, 0.5, 10.0);
  std::vector<float> s = a.samples;
  s.resize(20 * rate, 0.f); /* 10 s of silence */
  ClickTrack b = make_clicks(rate, 120, 0.0, 10.0);
  s.insert(s.end(), b.samples.begin(), b.samples.end());
  std::vector<GstClockTime> clicks = a.clicks;
  for (GstClockTime t : b.clicks)
    clicks.push_back(t + 20 * GST_SECOND);

  BeatTracker bt(rate);
  std::vector<GstClockTime> causal = times_of(push_all(bt, s));
  SongAnalysis song = bt.finish();
  for (const auto *list : {&causal, &song.beats}) {
    ASSERT_FALSE(list->empty());
    for (GstClockTime t : *list)
      EXPECT_TRUE(t < 10 * GST_SECOND || t >= 20 * GST_SECOND - kTolerance)
          << "beat at " << t / 1e9 << " s inside the silent gap";
    match_beats(*list, clicks);
  }
  EXPECT_EQ(song.beats.size(), clicks.size());
  EXPECT_NEAR(song.bpm, 120.0, 1.2);
}

TEST(BeatTracker, ListStartsAtTheFirstClickAfterSilence)
{
  const guint rate = 48000;
  ClickTrack ct = make_clicks(rate, 97, 4.0, 25.0);
  BeatTracker bt(rate);
  push_all(bt, ct.samples);
  SongAnalysis song = bt.finish();
  ASSERT_EQ(song.beats.size(), ct.clicks.size());
  EXPECT_LE(dist(song.beats.front(), ct.clicks.front()), kTolerance);
  match_beats(song.beats, ct.clicks);
}

/* Generated sound without a pulse: white noise (-20 dBFS RMS, from a
 * fixed LCG) or a pad (three sines of a major triad with a slow vibrato).
 * `hit` adds a 110 Hz thump with a noise attack at the start. */
std::vector<float> no_pulse(guint rate, double seconds, bool pad, bool hit)
{
  std::vector<float> s((std::size_t)(seconds * rate));
  std::uint32_t lcg = 777;
  for (std::size_t i = 0; i < s.size(); i++) {
    const double t = (double)i / rate;
    lcg = lcg * 1664525u + 1013904223u;
    const double noise = ((double)(lcg >> 8) / (double)(1u << 24)) * 2.0 - 1.0;
    double v = 0;
    if (pad) {
      for (double f : {220.0, 277.2, 329.6})
        v += 0.1 * std::sin(2 * M_PI * f * t + 0.5 * std::sin(2 * M_PI * 0.3 * t));
    } else {
      v = 0.173 * noise; /* uniform: RMS 0.1 */
    }
    if (hit && t < 1.0)
      v += 0.9 * std::sin(2 * M_PI * 110 * t) * std::exp(-t / 0.15) +
           0.3 * noise * std::exp(-t / 0.05);
    s[i] = (float)v;
  }
  return s;
}

/* The issue: "Silence and intros without rhythm produce no beats ... never
 * invent a fixed grid silently". Offline, the Ellis path lays a grid over
 * any stretch; the whole-song pass keeps no beat where the tempo window has
 * no pulse, and judges the lead-in before the first steady run on its own
 * (kMinRhythmClarity). */
TEST(BeatTracker, NoBeatsOfflineWithoutAPulse)
{
  const guint rate = 44100;
  for (bool pad : {false, true}) {
    BeatTracker bt(rate);
    push_all(bt, no_pulse(rate, 30.0, pad, false));
    std::vector<double> conf;
    SongAnalysis song = bt.finish(&conf);
    /* The sound's own start (loud from the first sample, after nothing) is
     * an onset and may carry one beat; no grid follows it. */
    EXPECT_LE(song.beats.size(), 1u) << (pad ? "pad" : "noise");
    for (GstClockTime t : song.beats)
      EXPECT_LT(t, kTolerance) << (pad ? "pad" : "noise") << ": beat at " << t / 1e9 << " s";
    EXPECT_EQ(song.bpm, 0.0);
    EXPECT_EQ(conf.size(), song.beats.size());
  }
}

TEST(BeatTracker, IntroWithoutAPulseGetsNoBeatsOffline)
{
  const guint rate = 44100;
  struct Intro {
    double seconds;
    bool pad, hit;
    bool bed = false; /* the noise goes on under the clicks */
  };
  /* 12 s: the tempo windows there hold the intro alone; 4-6 s: they also
   * hold the clicks, and the lead-in is judged on its own. */
  for (Intro in : {Intro{12.0, false, false}, Intro{12.0, true, false}, Intro{6.0, false, false},
                   Intro{6.0, false, false, true}, Intro{5.0, true, false}, Intro{4.0, true, true},
                   Intro{6.0, true, true}}) {
    std::vector<float> s = no_pulse(rate, in.seconds, in.pad, in.hit);
    ClickTrack ct = make_clicks(rate, 120, 0.0, 20.0);
    if (in.bed) {
      const std::vector<float> bed = no_pulse(rate, 20.0, false, false);
      for (std::size_t i = 0; i < ct.samples.size() && i < bed.size(); i++)
        ct.samples[i] += bed[(i + 12345) % bed.size()];
    }
    const std::size_t offset = s.size();
    s.insert(s.end(), ct.samples.begin(), ct.samples.end());
    const GstClockTime start = (GstClockTime)std::llround((double)offset * GST_SECOND / rate);
    std::vector<GstClockTime> clicks;
    if (in.hit)
      clicks.push_back(0);
    for (GstClockTime t : ct.clicks)
      clicks.push_back(t + start);

    BeatTracker bt(rate);
    push_all(bt, s);
    SongAnalysis song = bt.finish();
    SCOPED_TRACE(std::string(in.pad ? "pad" : "noise") + (in.hit ? " after a hit" : "") +
                 (in.bed ? " going on under the clicks" : "") + ", " +
                 std::to_string(in.seconds) + " s");
    ASSERT_FALSE(song.beats.empty());
    /* Before the clicks, at most one beat: on the intro's own start (the
     * hit, or the sound's start after nothing). */
    std::vector<GstClockTime> intro, music;
    for (GstClockTime t : song.beats)
      (t + kTolerance < start ? intro : music).push_back(t);
    EXPECT_LE(intro.size(), 1u);
    for (GstClockTime t : intro)
      EXPECT_LT(t, kTolerance) << "beat at " << t / 1e9
                               << " s in the intro, before the first click at " << start / 1e9
                               << " s";
    if (in.hit) {
      EXPECT_EQ(intro.size(), 1u) << "the hit's beat";
    }
    /* Every click from the first on has its beat; the last may go as a weak
     * trailing beat (under the noise bed, an unaccented click's onset is
     * under half the mean). */
    ASSERT_FALSE(music.empty());
    EXPECT_LE(dist(music.front(), start), kTolerance) << "the first click's beat";
    EXPECT_GE(music.size() + 1, clicks.size() - (in.hit ? 1 : 0));
    std::vector<GstClockTime> truth = clicks;
    if (!in.hit && !intro.empty())
      truth.insert(truth.begin(), 0);
    match_beats(song.beats, truth);
    EXPECT_NEAR(song.bpm, 120.0, 1.2);
  }
}

/* A held pure tone has no pulse, and offline it used to get a grid all the
 * same (its FFT magnitudes ripple with the hop; scaled to unit deviation,
 * the ripple was periodic enough: 130.81, 261.63 and 880 Hz got 97-193 BPM
 * at clarity 0.51-0.65). The window's envelope must spread
 * (kMinPulseSpread). Also as an intro: no beats before the clicks. */
TEST(BeatTracker, NoBeatsOfflineOnAHeldTone)
{
  const guint rate = 44100;
  for (double f : {130.81, 220.0, 261.63, 349.23, 392.0, 523.25, 880.0, 1760.0, 5000.0}) {
    SCOPED_TRACE(std::to_string(f) + " Hz");
    std::vector<float> tone((std::size_t)(20.0 * rate));
    for (std::size_t i = 0; i < tone.size(); i++)
      tone[i] = (float)(0.3 * std::sin(2 * M_PI * f * (double)i / rate));
    {
      BeatTracker bt(rate);
      push_all(bt, tone);
      SongAnalysis song = bt.finish();
      EXPECT_LE(song.beats.size(), 1u);
      for (GstClockTime t : song.beats)
        EXPECT_LT(t, kTolerance) << "beat at " << t / 1e9 << " s";
      EXPECT_EQ(song.bpm, 0.0);
    }
    /* 10 s of it, then clicks at 120 BPM. */
    std::vector<float> s(tone.begin(), tone.begin() + 10 * rate);
    const ClickTrack ct = make_clicks(rate, 120, 0.0, 20.0);
    s.insert(s.end(), ct.samples.begin(), ct.samples.end());
    BeatTracker bt(rate);
    push_all(bt, s);
    SongAnalysis song = bt.finish();
    const GstClockTime start = 10 * GST_SECOND;
    std::vector<GstClockTime> intro, music;
    for (GstClockTime t : song.beats)
      (t + kTolerance < start ? intro : music).push_back(t);
    EXPECT_LE(intro.size(), 1u);
    for (GstClockTime t : intro)
      EXPECT_LT(t, kTolerance) << "beat at " << t / 1e9 << " s in the tone, before the clicks";
    EXPECT_GE(music.size() + 1, ct.clicks.size());
    EXPECT_NEAR(song.bpm, 120.0, 1.2);
  }
}

/* The same live: the causal path finds a grid in noise, a pad and a tone's
 * ripple as well, and returns no beat until it has heard a pulse (onsets
 * that stand out of a quiet background and recur one beat period apart). */
TEST(BeatTracker, NoLiveBeatsWithoutAPulse)
{
  const guint rate = 44100;
  BeatTrackerConfig config;
  config.whole_song = false;
  std::vector<float> tone(20 * rate);
  for (std::size_t i = 0; i < tone.size(); i++)
    tone[i] = (float)(0.45 * std::sin(2 * M_PI * 220.0 * (double)i / rate)); /* -10 dBFS */
  const std::vector<float> noise = no_pulse(rate, 30.0, false, false),
                           pad = no_pulse(rate, 30.0, true, false),
                           hit_pad = no_pulse(rate, 30.0, true, true);
  for (const std::vector<float> *input :
       {&noise, &pad, &hit_pad, const_cast<const std::vector<float> *>(&tone)}) {
    BeatTracker bt(rate, config);
    const std::vector<Beat> beats = push_all(bt, *input);
    EXPECT_TRUE(beats.empty()) << (input == &noise  ? "noise"
                                   : input == &tone ? "220 Hz tone"
                                                    : "pad")
                               << ": " << beats.size() << " beats, the first at "
                               << (beats.empty() ? 0.0 : beats.front().time / 1e9) << " s";
  }
}

/* Once the music starts, live beats come as soon as after silence: the
 * issue asks for the first within 3 s of the first onset. */
TEST(BeatTracker, LiveBeatsStartSoonAfterAnIntroWithoutAPulse)
{
  const guint rate = 44100;
  BeatTrackerConfig config;
  config.whole_song = false;
  struct Intro {
    double seconds;
    bool pad, hit;
  };
  for (Intro in : {Intro{12.0, false, false}, Intro{12.0, true, false}, Intro{6.0, false, false},
                   Intro{6.0, true, true}}) {
    std::vector<float> s = no_pulse(rate, in.seconds, in.pad, in.hit);
    const ClickTrack ct = make_clicks(rate, 120, 0.0, 20.0);
    const GstClockTime start = (GstClockTime)std::llround((double)s.size() * GST_SECOND / rate);
    s.insert(s.end(), ct.samples.begin(), ct.samples.end());
    SCOPED_TRACE(std::string(in.pad ? "pad" : "noise") + (in.hit ? " after a hit" : "") + ", " +
                 std::to_string(in.seconds) + " s");
    BeatTracker bt(rate, config);
    const std::vector<Beat> beats = push_all(bt, s);
    ASSERT_FALSE(beats.empty());
    EXPECT_GE(beats.front().time + kTolerance, start)
        << "a beat in the intro at " << beats.front().time / 1e9 << " s";
    EXPECT_LE(beats.front().time, start + 3 * GST_SECOND)
        << "first beat at " << beats.front().time / 1e9 << " s";
    /* From then on every click has its beat. */
    std::vector<GstClockTime> clicks;
    for (GstClockTime t : ct.clicks)
      if (t + start + kTolerance >= beats.front().time)
        clicks.push_back(t + start);
    match_beats(times_of(beats), clicks);
    EXPECT_GE(beats.size() + 2, clicks.size()); /* the last clicks wait for their live delay */
  }
}

TEST(BeatTracker, ResetForgetsEverything)
{
  const guint rate = 44100;
  ClickTrack ct = make_clicks(rate, 120, 0.5, 12.0);
  BeatTracker bt(rate);
  EXPECT_FALSE(push_all(bt, ct.samples).empty());
  bt.reset();
  EXPECT_EQ(bt.duration(), 0u);
  std::vector<float> silence(5 * rate, 0.f);
  EXPECT_TRUE(push_all(bt, silence).empty());
  SongAnalysis song = bt.finish();
  EXPECT_TRUE(song.beats.empty());
  EXPECT_EQ(song.duration, 5 * GST_SECOND);

  /* and tracks again from zero */
  bt.reset();
  std::vector<Beat> again = push_all(bt, ct.samples);
  ASSERT_FALSE(again.empty());
  match_beats(times_of(again), ct.clicks);
}

TEST(BeatTracker, FinishDoesNotDisturbTracking)
{
  const guint rate = 44100;
  ClickTrack ct = make_clicks(rate, 120, 0.5, 16.0);
  BeatTracker a(rate), b(rate);
  const std::size_t half = ct.samples.size() / 2;
  std::vector<Beat> ba = a.push(ct.samples.data(), half);
  SongAnalysis mid = a.finish();
  EXPECT_FALSE(mid.beats.empty());
  auto rest = a.push(ct.samples.data() + half, ct.samples.size() - half);
  ba.insert(ba.end(), rest.begin(), rest.end());
  std::vector<Beat> bb = b.push(ct.samples.data(), ct.samples.size());
  EXPECT_EQ(times_of(ba), times_of(bb));
  EXPECT_EQ(a.finish().beats, b.finish().beats);
}

TEST(BeatTracker, MeterAndDownbeatsFromAccents)
{
  const guint rate = 44100;
  for (int accent : {4, 3}) {
    ClickTrack ct = make_clicks(rate, 120, 0.5, 24.0, accent);
    BeatTracker bt(rate);
    push_all(bt, ct.samples);
    SongAnalysis song = bt.finish();
    EXPECT_EQ(song.beats_per_bar, (guint)accent);
    ASSERT_EQ(song.downbeats.size(), song.beats.size());
    std::vector<std::size_t> idx = match_beats(song.beats, ct.clicks);
    for (std::size_t i = 0; i < idx.size(); i++)
      EXPECT_EQ(song.downbeats[i], idx[i] % accent == 0) << "beat " << i << ", " << accent << " per bar";
  }
}

/* A band's stop: accented 4/4 clicks at 120 BPM with the last three beats
 * of one bar left silent. Neither pass has beats over the silence; the bar
 * positions after it must still count them (by index they would slip three
 * beats: offline half the song's downbeats would be wrong, live the beats
 * up to the meter's next re-estimate). */
TEST(BeatTracker, DownbeatsCountTheBeatsOfAStop)
{
  const guint rate = 44100;
  ClickTrack ct = make_clicks(rate, 120, 0.5, 32.0, 4);
  const std::size_t stop = 33; /* clicks 33-35: beats 2-4 of the ninth bar */
  for (std::size_t k = stop; k < stop + 3; k++) {
    const std::size_t start = (std::size_t)(ct.clicks[k] * rate / GST_SECOND);
    std::fill(ct.samples.begin() + (long)start, ct.samples.begin() + (long)(start + rate / 10), 0.f);
  }
  BeatTracker bt(rate);
  std::vector<Beat> causal = push_all(bt, ct.samples);
  SongAnalysis song = bt.finish();

  /* Live: once the meter has settled (from the sixth bar on), across the
   * stop too. */
  std::vector<std::size_t> live_idx = match_beats(times_of(causal), ct.clicks);
  std::size_t live_after = 0;
  for (std::size_t i = 0; i < live_idx.size(); i++) {
    if (live_idx[i] < 20)
      continue;
    live_after += live_idx[i] >= stop + 3;
    EXPECT_EQ(causal[i].bar_position, live_idx[i] % 4 + 1)
        << "live beat " << i << " (click " << live_idx[i] << ")";
  }
  EXPECT_GT(live_after, 20u);

  EXPECT_EQ(song.beats_per_bar, 4u);
  ASSERT_EQ(song.downbeats.size(), song.beats.size());
  std::vector<std::size_t> idx = match_beats(song.beats, ct.clicks);
  std::size_t after = 0;
  for (std::size_t i = 0; i < idx.size(); i++) {
    EXPECT_TRUE(idx[i] < stop || idx[i] >= stop + 3) << "beat " << i << " in the stop";
    after += idx[i] >= stop + 3;
    EXPECT_EQ(song.downbeats[i], idx[i] % 4 == 0) << "beat " << i << " (click " << idx[i] << ")";
  }
  EXPECT_GT(after, 20u);
}

/* Equal clicks at 120 BPM (no accent), over a chord held for each bar of
 * `per_bar` beats: a major triad (root, third, fifth, each with two
 * harmonics) whose root moves up a semitone and back on alternate bars
 * (C4 then C#4). The band levels of the 512-point spectrum hardly change at
 * a semitone; the pitch classes all do, so the bar's first beat is heard
 * from the change of harmony alone. */
ClickTrack make_chord_bars(guint rate, int per_bar, int offset_beats, double seconds)
{
  ClickTrack ct = make_clicks(rate, 120, 0.5, seconds, 1000000);
  const double period = 0.5, first_bar = 0.5 + offset_beats * period;
  for (std::size_t i = (std::size_t)(0.5 * rate); i < ct.samples.size(); i++) {
    const double t = (double)i / rate;
    const long bar = (long)std::floor((t - first_bar) / (per_bar * period));
    const double root = 261.63 * (bar % 2 == 0 ? 1.0 : std::pow(2.0, 1.0 / 12.0));
    double v = 0;
    for (double ratio : {1.0, std::pow(2.0, 4.0 / 12.0), std::pow(2.0, 7.0 / 12.0)})
      for (int h = 1; h <= 3; h++)
        v += std::sin(2 * M_PI * root * ratio * h * t) / h;
    ct.samples[i] += (float)(0.03 * v);
  }
  return ct;
}

TEST(BeatTracker, DownbeatsFromChordChanges)
{
  const guint rate = 44100;
  for (int per_bar : {4, 3}) {
    for (int offset : {0, 1}) {
      ClickTrack ct = make_chord_bars(rate, per_bar, offset, 50.0);
      BeatTracker bt(rate);
      std::vector<Beat> causal = push_all(bt, ct.samples);
      SongAnalysis song = bt.finish();

      /* Live: once the meter window holds 64 beats (the chord changes
       * decide the meter from 64 beats on; it is re-estimated every fourth
       * beat), the causal beats' labels too. */
      std::vector<std::size_t> live_idx = match_beats(times_of(causal), ct.clicks);
      std::size_t live_right = 0, live_n = 0;
      for (std::size_t i = 68; i < live_idx.size(); i++, live_n++)
        live_right += causal[i].downbeat == (((long)live_idx[i] - offset + 2 * per_bar) % per_bar == 0);
      EXPECT_GT(live_n, 20u);
      EXPECT_EQ(live_right, live_n) << "live, " << per_bar << " per bar, first bar line at beat " << offset;

      ASSERT_EQ(song.downbeats.size(), song.beats.size());
      EXPECT_EQ(song.beats_per_bar, (guint)per_bar);
      std::vector<std::size_t> idx = match_beats(song.beats, ct.clicks);
      std::size_t right = 0;
      for (std::size_t i = 0; i < idx.size(); i++)
        right += song.downbeats[i] == (((long)idx[i] - offset + 2 * per_bar) % per_bar == 0);
      EXPECT_EQ(right, idx.size()) << per_bar << " per bar, first bar line at beat " << offset;
    }
  }
}

/* A song that starts on its bar line, whose accents do not tell where the
 * bar starts: 4/4 clicks at 120 BPM from 0.5 s, beats 1 and 3 of each bar
 * accented, beat 3 a little louder (0.74 and 0.72 against 0.5). By the
 * accents beat 3 starts the bar, by too little to trust (a confidence under
 * 0.25); the music starts on beat 1, and so the bars do (beatmeter::
 * meter_of()'s `start`; before, every bar line was on beat 3). With clear
 * accents (every fourth click 0.9 against 0.3, the first click unaccented:
 * a song starting a beat before its bar line) the bar follows the accents,
 * not the start. (Accents of 0.8 against 0.5 are not clear enough on these
 * clicks: their chord change is noise at its floor, and the bar's evidence
 * is 0.28 standard errors.) */
ClickTrack make_two_accent_bars(guint rate, double seconds, std::vector<double> amp)
{
  ClickTrack ct = make_clicks(rate, 120, 0.5, seconds, 1000000); /* every click 0.5 */
  const std::size_t len = (std::size_t)(0.04 * rate);
  for (std::size_t k = 0; k < ct.clicks.size(); k++) {
    const std::size_t start = (std::size_t)(ct.clicks[k] * rate / GST_SECOND);
    for (std::size_t i = start; i < std::min(ct.samples.size(), start + len); i++)
      ct.samples[i] *= (float)(amp[k % amp.size()] / 0.5);
  }
  return ct;
}

TEST(BeatTracker, BarsStartWhereTheSongStartsWhenTheAccentsDoNotTell)
{
  const guint rate = 44100;
  struct Variant {
    std::vector<double> amp;
    int first_downbeat; /* click index of a bar line, 0..3 */
    const char *what;
  };
  for (const Variant &v : {Variant{{0.72, 0.5, 0.74, 0.5}, 0, "beat 3 a little louder"},
                           Variant{{0.3, 0.9, 0.3, 0.3}, 1, "clear accents on the second click"}}) {
    ClickTrack ct = make_two_accent_bars(rate, 30.0, v.amp);
    BeatTracker bt(rate);
    push_all(bt, ct.samples);
    SongAnalysis song = bt.finish();
    EXPECT_EQ(song.beats_per_bar, 4u) << v.what;
    ASSERT_EQ(song.downbeats.size(), song.beats.size());
    std::vector<std::size_t> idx = match_beats(song.beats, ct.clicks);
    std::size_t right = 0;
    for (std::size_t i = 0; i < idx.size(); i++)
      right += song.downbeats[i] == ((idx[i] + 4 - (std::size_t)v.first_downbeat) % 4 == 0);
    EXPECT_EQ(right, idx.size()) << v.what << ": bar line on click " << v.first_downbeat
                                 << " and every fourth after";
    if (v.first_downbeat == 0) {
      EXPECT_LT(song.meter_confidence, 0.25) << "the accents alone do not back the bar";
    }
  }
}

/* A drum-machine song whose bar is marked by a lone kick: at `bpm`, from
 * 0 s, beat 1 of each bar of `per_bar` beats a kick (a 0.25 s sine falling
 * from 150 to 60 Hz) and a bass note held for the bar (its root moving
 * A1, D2, C2, E2 bar by bar), every other beat an equal noise hit (0.12 s,
 * 29 ms decay). Nothing sounds in the chroma band (180-2500 Hz) but the
 * noise and the kick's edges, so its chord change is noise. At weight 5
 * it outweighed the kick and the band change: the bar line came wherever
 * the noise put it, here (noise seed 8) on beat 2 at 138 BPM in 3/4 (30 of
 * 92 beats labelled right, a meter confidence of 0.61; trial h114's song
 * 0.43), and at a confidence of 0.03 on beat 1 only through where the
 * music starts at 120 BPM in 4/4 (seeds 1-12 put the 3/4 bar line on beat
 * 2 twice and gave both songs a confidence under 0.4). */
ClickTrack make_kick_bars(guint rate, double bpm, int per_bar, double seconds, double bpm2 = 0,
                          double seconds2 = 0)
{
  ClickTrack ct;
  ct.samples.assign((std::size_t)((seconds + seconds2) * rate), 0.f);
  const double roots[] = {55.0, 73.42, 65.41, 82.41};
  std::uint32_t lcg = 8;
  double origin = 0, period = 60.0 / bpm;
  for (int k = 0, k0 = 0;; k++) {
    if (bpm2 > 0 && origin == 0 && (k - k0) * period >= seconds - 1e-9) {
      /* The second section: its own tempo, a bar from its first beat. */
      origin = seconds;
      period = 60.0 / bpm2;
      k0 = k;
    }
    const std::size_t start = (std::size_t)((origin + (k - k0) * period) * rate);
    if (start >= ct.samples.size())
      break;
    ct.clicks.push_back((GstClockTime)std::llround((double)start * GST_SECOND / rate));
    const bool one = (k - k0) % per_bar == 0;
    const double root = roots[((k - k0) / per_bar) % 4];
    const std::size_t len = (std::size_t)((one ? per_bar * period : 0.12) * rate);
    for (std::size_t i = 0; i < len && start + i < ct.samples.size(); i++) {
      const double t = (double)i / rate;
      double v;
      if (one) {
        v = 0.25 * std::sin(2 * M_PI * root * t) * std::exp(-1.5 * t);
        if (t < 0.25)
          v += 0.8 * std::sin(2 * M_PI * (60 + 90 * std::exp(-30 * t)) * t) * std::exp(-12 * t);
      } else {
        lcg = lcg * 1664525u + 1013904223u;
        v = 0.35 * (((double)(lcg >> 8) / (double)(1u << 24)) * 2.0 - 1.0) * std::exp(-35 * t);
      }
      ct.samples[start + i] += (float)(0.6 * v);
    }
  }
  return ct;
}

/* The same drum-machine bars at 100 BPM for 30 s, then at 140 BPM for 30 s
 * with a bar from the new tempo's first beat: the first section holds 12.5
 * bars, so its bars and the second's are half a bar apart. One bar phase
 * for the whole song was right for the longer second section only (beat 3
 * of each bar before 30 s, at confidence 0.71; trial h114's
 * tempochange.wav); each tempo now has its own. */
TEST(BeatTracker, EachTempoSectionHasItsOwnBarPhase)
{
  const guint rate = 44100;
  ClickTrack ct = make_kick_bars(rate, 100, 4, 30.0, 140, 30.0);
  BeatTracker bt(rate);
  push_all(bt, ct.samples);
  SongAnalysis song = bt.finish();
  EXPECT_EQ(song.beats_per_bar, 4u);
  ASSERT_EQ(song.downbeats.size(), song.beats.size());
  std::vector<std::size_t> idx = match_beats(song.beats, ct.clicks);
  EXPECT_GE(idx.size(), ct.clicks.size() - 2);
  ASSERT_EQ(ct.clicks[50], 30 * GST_SECOND);
  std::size_t right = 0;
  for (std::size_t i = 0; i < idx.size(); i++)
    right += song.downbeats[i] == ((idx[i] < 50 ? idx[i] : idx[i] - 50) % 4 == 0);
  EXPECT_EQ(right, idx.size()) << "bar lines on the kicks in both sections";
  EXPECT_GE(song.meter_confidence, 0.5);
}

TEST(BeatTracker, BarsStartOnALoneKickWhenTheChromaIsNoise)
{
  const guint rate = 44100;
  for (auto [bpm, per_bar] : {std::pair{138.0, 3}, std::pair{120.0, 4}}) {
    ClickTrack ct = make_kick_bars(rate, bpm, per_bar, 40.0);
    BeatTracker bt(rate);
    push_all(bt, ct.samples);
    SongAnalysis song = bt.finish();
    EXPECT_EQ(song.beats_per_bar, (guint)per_bar) << bpm << " BPM";
    ASSERT_EQ(song.downbeats.size(), song.beats.size());
    std::vector<std::size_t> idx = match_beats(song.beats, ct.clicks);
    EXPECT_GE(idx.size(), ct.clicks.size() - 2);
    std::size_t right = 0;
    for (std::size_t i = 0; i < idx.size(); i++)
      right += song.downbeats[i] == (idx[i] % (std::size_t)per_bar == 0);
    EXPECT_EQ(right, idx.size()) << bpm << " BPM, " << per_bar
                                 << " per bar: bar lines on the kicks";
    EXPECT_GE(song.meter_confidence, 0.5) << bpm << " BPM: the kick marks the bar clearly";
  }
}

/* A swing pattern at 120 BPM: each beat a click, and a louder click on the
 * swung eighth, 2/3 of the way to the next beat. Both streams have the beat
 * period, so onset strength alone puts the beats on the louder off-beat;
 * the beat is the onset that starts the long part of the long-short
 * division (BeatTracker's swing rule). Offline, every beat lands on a beat
 * click; live, once 16 beats have been posted (the rule reads the last 16
 * beat intervals), at least 90 % of them do. */
TEST(BeatTracker, SwingPutsTheBeatBeforeTheLongPart)
{
  const guint rate = 44100;
  const double period = 0.5, seconds = 30.0;
  ClickTrack beat_clicks = make_clicks(rate, 120, 0.5, seconds, 1);
  ClickTrack swung = make_clicks(rate, 120, 0.5 + period * 2 / 3, seconds, 1);
  std::vector<float> s(beat_clicks.samples.size());
  /* make_clicks() gives accented clicks 0.8; scale the beat clicks to 0.4. */
  for (std::size_t i = 0; i < s.size(); i++)
    s[i] = 0.5f * beat_clicks.samples[i] + swung.samples[i];

  BeatTracker bt(rate);
  std::vector<Beat> causal = push_all(bt, s);
  SongAnalysis song = bt.finish();
  ASSERT_GT(song.beats.size(), 40u);
  std::vector<std::size_t> idx = match_beats(song.beats, beat_clicks.clicks);
  EXPECT_GE(idx.size(), beat_clicks.clicks.size() - 2);
  EXPECT_NEAR(song.bpm, 120.0, 1.2);

  ASSERT_GT(causal.size(), 30u);
  std::size_t on_beat = 0, counted = 0;
  for (std::size_t i = 16; i < causal.size(); i++) {
    counted++;
    for (GstClockTime c : beat_clicks.clicks)
      if (dist(c, causal[i].time) <= kTolerance) {
        on_beat++;
        break;
      }
  }
  EXPECT_GE((double)on_beat, 0.9 * (double)counted) << on_beat << " of " << counted << " live beats on the beat";
}

/* The same swing pattern in three 15 s sections: the beat click louder
 * than the swung eighth, then softer, then louder again, so the causal
 * path follows the beat, then the off-beat, then the beat. The live swing
 * rule must judge each beat by the phase it is on now: reading the path's
 * last 16 beat intervals, which still describe the other phase for a few
 * seconds after each change, it left the off-beat in place after the first
 * change and moved beats off the beat after the second. From the 16th live
 * beat on, at least 90 % land on a beat click. */
TEST(BeatTracker, LiveSwingFollowsPhaseChanges)
{
  const guint rate = 44100;
  const double period = 0.5, seconds = 45.0, section = 15.0;
  ClickTrack beat_clicks = make_clicks(rate, 120, 0.5, seconds, 1);
  ClickTrack swung = make_clicks(rate, 120, 0.5 + period * 2 / 3, seconds, 1);
  std::vector<float> s(beat_clicks.samples.size());
  for (std::size_t i = 0; i < s.size(); i++) {
    const bool beat_loud = (int)((double)i / rate / section) % 2 == 0;
    s[i] = (beat_loud ? 1.0f : 0.5f) * beat_clicks.samples[i] + (beat_loud ? 0.5f : 1.0f) * swung.samples[i];
  }

  BeatTrackerConfig config;
  config.whole_song = false;
  BeatTracker bt(rate, config);
  std::vector<Beat> causal = push_all(bt, s);
  ASSERT_GT(causal.size(), 60u);
  std::size_t on_beat = 0, counted = 0;
  for (std::size_t i = 16; i < causal.size(); i++) {
    counted++;
    for (GstClockTime c : beat_clicks.clicks)
      if (dist(c, causal[i].time) <= kTolerance) {
        on_beat++;
        break;
      }
  }
  EXPECT_GE((double)on_beat, 0.9 * (double)counted) << on_beat << " of " << counted << " live beats on the beat";
}

/* The beats do not depend on the input level: the swing pattern above over
 * a noise bed, at -12, 0 and +12 dB (peaks at -14 to +10 dBFS; floats may
 * exceed full scale), gives the same beats offline and live within 1 ms.
 * With the band levels compressed at a fixed scale, the louder copies were
 * read on the log part of the curve and the quieter on the linear part, and
 * their beats differed. */
TEST(BeatTracker, BeatsDoNotDependOnTheInputLevel)
{
  const guint rate = 44100;
  const double period = 0.5, seconds = 30.0;
  ClickTrack beat_clicks = make_clicks(rate, 120, 0.5, seconds, 1);
  ClickTrack swung = make_clicks(rate, 120, 0.5 + period * 2 / 3, seconds, 1);
  const std::vector<float> bed = no_pulse(rate, seconds + 1.0, false, false);
  std::vector<float> s(beat_clicks.samples.size());
  for (std::size_t i = 0; i < s.size(); i++)
    s[i] = 0.25f * (0.5f * beat_clicks.samples[i] + swung.samples[i] + 0.1f * bed[i]);

  std::vector<std::vector<Beat>> live;
  std::vector<std::vector<GstClockTime>> offline;
  for (double db : {-12.0, 0.0, 12.0}) {
    const float g = (float)std::pow(10.0, db / 20.0);
    std::vector<float> scaled(s.size());
    for (std::size_t i = 0; i < s.size(); i++)
      scaled[i] = g * s[i];
    BeatTracker bt(rate);
    live.push_back(push_all(bt, scaled));
    offline.push_back(bt.finish().beats);
  }
  for (std::size_t k = 1; k < 3; k++) {
    SCOPED_TRACE(k == 1 ? "0 dB against -12 dB" : "+12 dB against -12 dB");
    ASSERT_GT(offline[0].size(), 40u);
    ASSERT_EQ(offline[k].size(), offline[0].size());
    for (std::size_t i = 0; i < offline[0].size(); i++)
      EXPECT_LE(dist(offline[k][i], offline[0][i]), GST_MSECOND) << "offline beat " << i;
    ASSERT_GT(live[0].size(), 30u);
    ASSERT_EQ(live[k].size(), live[0].size());
    for (std::size_t i = 0; i < live[0].size(); i++)
      EXPECT_LE(dist(live[k][i].time, live[0][i].time), GST_MSECOND) << "live beat " << i;
  }
}

TEST(BeatTracker, RejectsBadConfiguration)
{
  EXPECT_THROW(BeatTracker(7999), montage::BeatTrackerError);
  EXPECT_THROW(BeatTracker(192001), montage::BeatTrackerError);
  BeatTrackerConfig cfg;
  cfg.live_delay = 50 * GST_MSECOND;
  EXPECT_THROW(BeatTracker(44100, cfg), montage::BeatTrackerError);
  EXPECT_NO_THROW(BeatTracker(192000));
  EXPECT_NO_THROW(BeatTracker(8000));
  for (auto [lo, hi] : {std::pair{39.0, 120.0}, {60.0, 241.0}, {120.0, 120.0}, {150.0, 100.0}}) {
    BeatTrackerConfig range;
    range.min_bpm = lo;
    range.max_bpm = hi;
    EXPECT_THROW(BeatTracker(44100, range), montage::BeatTrackerError) << lo << "-" << hi << " BPM";
  }
}

/* Equal clicks at 175-190 BPM (a metronome, nothing louder on alternate
 * clicks): offline, the tempo is the clicks' and every click is a beat. The
 * comb salience is the same at half that tempo, and the prior around 120 BPM
 * used to pick the half (87.5-95 BPM, half the clicks as beats). The live
 * tracker still reads them at half tempo (docs/montagebeat.md). */
TEST(BeatTracker, EqualClicksAreReadAtTheirOwnTempoOffline)
{
  const guint rate = 44100;
  for (double bpm : {175.0, 190.0}) {
    ClickTrack ct = make_clicks(rate, bpm, 0.5, 30.0, 1);
    BeatTracker bt(rate);
    push_all(bt, ct.samples);
    SongAnalysis song = bt.finish();
    EXPECT_NEAR(song.bpm, bpm, bpm * 0.01);
    std::vector<std::size_t> idx = match_beats(song.beats, ct.clicks);
    EXPECT_GE(idx.size() + 4, ct.clicks.size()) << bpm << " BPM: every click but the first and last few is a beat";
  }
}

/* Clicks at 180 BPM, every other one louder: a beat at 90 or at 180. The
 * tempo range decides which, offline and live: 60-120 gives 90 on the loud
 * clicks, 130-240 gives 180 on every click. */
TEST(BeatTracker, TempoRangeChoosesTheLevel)
{
  const guint rate = 44100;
  ClickTrack ct = make_clicks(rate, 180, 0.5, 30.0, 2);
  for (bool live : {false, true}) {
    for (double target : {90.0, 180.0}) {
      BeatTrackerConfig config;
      config.whole_song = !live;
      config.min_bpm = target == 90.0 ? 60.0 : 130.0;
      config.max_bpm = target == 90.0 ? 120.0 : 240.0;
      BeatTracker bt(rate, config);
      std::vector<Beat> causal = push_all(bt, ct.samples);
      SongAnalysis song = bt.finish();
      const std::vector<GstClockTime> beats = live ? times_of(causal) : song.beats;
      const std::string what =
          std::string(live ? "live" : "offline") + ", range around " + std::to_string((int)target);
      EXPECT_NEAR(song.bpm, target, target * 0.02) << what;
      std::vector<std::size_t> idx = match_beats(beats, ct.clicks);
      ASSERT_GT(idx.size(), 20u) << what;
      /* Every beat on a click (match_beats()), and at 90 on a loud one
       * (live from 10 s on: its phase can start on the quiet clicks). */
      const GstClockTime settled = live ? 10 * GST_SECOND : 0;
      for (std::size_t i = 0; i < idx.size(); i++) {
        if (beats[i] >= settled && target == 90.0) {
          EXPECT_EQ(idx[i] % 2, 0u) << what << ", beat " << i << " on a quiet click";
        }
      }
    }
  }
}

/* Clicks at 160 a minute, the even ones louder, over a chord (three
 * tones, three harmonics each) whose root moves a semitone and back every
 * two clicks, on the odd ones: a song at 80 BPM whose beats are the odd
 * clicks, where the chords change, and whose eighth-note "and"s are
 * accented (train_filled_with_cash's shape). The whole range reads 160
 * (every click); a range of 60-100 must take every other click, and
 * the onsets alone put those on the loud "and"s: every beat was on an even
 * click. The chord changes (Goto 2001) put them on the odd clicks. Where
 * the chords change on the loud clicks, the beats stay there. */
void halving_case(double clicks, double max_bpm, int chord_on)
{
  const guint rate = 44100;
  ClickTrack ct = make_clicks(rate, clicks, 0.5, 40.0, 2);
  const double period = 60.0 / clicks, first_change = 0.5 + chord_on * period;
  for (std::size_t i = (std::size_t)(0.5 * rate); i < ct.samples.size(); i++) {
    const double t = (double)i / rate;
    const long span = (long)std::floor((t - first_change) / (2 * period));
    const double root = 261.63 * (span % 2 == 0 ? 1.0 : std::pow(2.0, 1.0 / 12.0));
    double v = 0;
    for (double ratio : {1.0, std::pow(2.0, 4.0 / 12.0), std::pow(2.0, 7.0 / 12.0)})
      for (int h = 1; h <= 3; h++)
        v += std::sin(2 * M_PI * root * ratio * h * t) / h;
    ct.samples[i] += (float)(0.03 * v);
    }
    BeatTrackerConfig config;
    config.min_bpm = 60.0;
    config.max_bpm = max_bpm;
    BeatTracker bt(rate, config);
    push_all(bt, ct.samples);
    SongAnalysis song = bt.finish();
    const std::string what = std::to_string((int)clicks) +
                             " clicks a minute, chords changing on the " +
                             (chord_on ? "odd" : "even") + " clicks";
    EXPECT_NEAR(song.bpm, clicks / 2, 1.6) << what;
    std::vector<std::size_t> idx = match_beats(song.beats, ct.clicks);
    ASSERT_GT(idx.size(), 40u) << what;
    std::size_t on_chords = 0;
    for (std::size_t k : idx)
      on_chords += (int)(k % 2) == chord_on;
    EXPECT_EQ(on_chords, idx.size()) << what;
}

TEST(BeatTracker, TempoRangeHalvingTheLevelKeepsTheBeatsTheChordsChangeOn)
{
  /* 160 clicks a minute in 60-100; and 150 in 60-75, a range whose top is
   * the half itself: the whole-range path's tempo lies up to half a
   * kBpmStep either side of the clicks' (150.25, half 75.12), and a strict
   * bound on the top left the onsets' search to take every "and". */
  for (const auto &[clicks, max_bpm] : {std::pair<double, double>{160, 100}, {150, 75}})
    for (int chord_on : {1, 0}) {
      halving_case(clicks, max_bpm, chord_on);
      if (HasFatalFailure())
        return;
    }
}

/* check_tempo_range(): beats within a range that fall off the whole
 * range's beats (a 5:4 or 4:3 reading, or half time on the off-beats) are
 * outside; an octave on the beats is the range's purpose and is not. */
TEST(BeatTracker, CheckTempoRangeTellsAnOffBeatReadingFromAnOctave)
{
  auto grid = [](double bpm, double first_s, double end_s) {
    std::vector<GstClockTime> out;
    for (double t = first_s; t < end_s; t += 60.0 / bpm)
      out.push_back((GstClockTime)std::llround(t * GST_SECOND));
    return out;
  };
  const std::vector<GstClockTime> music = grid(150, 0.2, 60);
  montage::TempoRangeCheck c = montage::check_tempo_range(grid(120, 0.2, 60), music, 100, 140);
  EXPECT_TRUE(c.outside);
  EXPECT_NEAR(c.music_bpm, 150.0, 0.1);
  EXPECT_NEAR(c.range_bpm, 120.0, 0.1);
  EXPECT_NEAR(c.agreement, 0.25, 0.01) << "every fourth beat of 120 on one of 150";
  c = montage::check_tempo_range(grid(200, 0.2, 60), music, 160, 240);
  EXPECT_TRUE(c.outside) << "4:3";
  c = montage::check_tempo_range(grid(100, 0.2, 60), music, 80, 120);
  EXPECT_TRUE(c.outside) << "2:3";
  c = montage::check_tempo_range(grid(75, 0.2, 60), music, 60, 90);
  EXPECT_FALSE(c.outside) << "half time on the beats";
  EXPECT_NEAR(c.agreement, 1.0, 1e-9);
  c = montage::check_tempo_range(grid(75, 0.4, 60), music, 60, 90);
  EXPECT_TRUE(c.outside) << "half time on the off-beats";
  c = montage::check_tempo_range(grid(180, 0.2, 60), grid(90, 0.2, 60), 130, 240);
  EXPECT_FALSE(c.outside) << "double time: every beat of the music held";
  /* The whole range's tempo within the range: nothing to check. */
  c = montage::check_tempo_range(grid(120, 0.2, 60), music, 100, 160);
  EXPECT_FALSE(c.outside);
  EXPECT_EQ(c.agreement, 1.0);
  /* Too few beats where both run. */
  c = montage::check_tempo_range(grid(120, 0.2, 3), music, 100, 140);
  EXPECT_FALSE(c.outside);
  EXPECT_FALSE(montage::check_tempo_range({}, music, 100, 140).outside);
}

TEST(BeatTracker, BpmFromBeatsSkipsAMissedBeat)
{
  std::vector<GstClockTime> beats;
  for (int i = 0; i < 20; i++)
    if (i != 7)
      beats.push_back(GST_SECOND + i * 600 * GST_MSECOND); /* 100 BPM, beat 7 missing */
  EXPECT_NEAR(montage::bpm_from_beats(beats), 100.0, 1e-6);
  EXPECT_EQ(montage::bpm_from_beats({GST_SECOND}), 0.0);
  EXPECT_EQ(montage::bpm_from_beats({}), 0.0);
}

TEST(BeatTracker, BpmFromBeatsIsTheDominantTempo)
{
  /* midnight_snow_run's shape: 166 beats at 120 BPM, then 120 at 150 BPM.
   * A fit over all beats says 125-132 BPM, a tempo the song never has. */
  std::vector<GstClockTime> beats;
  GstClockTime t = GST_SECOND;
  for (int i = 0; i < 166; i++, t += 500 * GST_MSECOND)
    beats.push_back(t);
  for (int i = 0; i < 120; i++, t += 400 * GST_MSECOND)
    beats.push_back(t);
  EXPECT_NEAR(montage::bpm_from_beats(beats), 120.0, 1e-6);
  /* A steady sequence with +/-10 ms of jitter keeps its tempo. */
  std::vector<GstClockTime> jittered;
  for (int i = 0; i < 100; i++)
    jittered.push_back(GST_SECOND + i * 600 * GST_MSECOND + (i % 3 - 1) * 10 * GST_MSECOND);
  EXPECT_NEAR(montage::bpm_from_beats(jittered), 100.0, 0.2);
}

} // namespace

TEST(BeatTracker, FollowsASuddenTempoChange)
{
  /* 100 BPM for 15 s, then 130 BPM for 15 s, one click track. */
  const guint rate = 44100;
  ClickTrack a = make_clicks(rate, 100, 0.5, 15.0);
  ClickTrack b = make_clicks(rate, 130, 0.0, 15.0);
  std::vector<float> s = a.samples;
  s.insert(s.end(), b.samples.begin(), b.samples.end());
  std::vector<GstClockTime> clicks = a.clicks;
  for (GstClockTime t : b.clicks)
    clicks.push_back(t + 15 * GST_SECOND);

  BeatTracker bt(rate);
  push_all(bt, s);
  SongAnalysis song = bt.finish();
  /* Known limit: the tempo path moves in 1 s steps over 8 s windows, so the
   * beats within ~1 s of a sudden change may sit up to ~80 ms off. Every
   * other beat must be on a click. */
  std::vector<GstClockTime> away;
  for (GstClockTime t : song.beats)
    if (t < 14 * GST_SECOND || t > 16 * GST_SECOND)
      away.push_back(t);
  std::vector<std::size_t> idx = match_beats(away, clicks);
  const auto clicks_away = std::count_if(clicks.begin(), clicks.end(), [](GstClockTime t) {
    return t < 14 * GST_SECOND - kTolerance || t > 16 * GST_SECOND + kTolerance;
  });
  EXPECT_GE((long)away.size() + 1, (long)clicks_away) << "at most one click missed away from the change";
  ASSERT_FALSE(idx.empty());
  EXPECT_EQ(idx.front(), 0u);
  EXPECT_EQ(idx.back(), clicks.size() - 1);
  EXPECT_NEAR(montage::bpm_from_beats(std::vector<GstClockTime>(away.begin(), away.begin() + 20)), 100.0, 1.0);
  EXPECT_NEAR(montage::bpm_from_beats(std::vector<GstClockTime>(away.end() - 20, away.end())), 130.0, 1.3);
}

/* Offline, a speed-up (100 -> 140 and 120 -> 160 BPM, 20 s each side):
 * every beat lies on a click, at the change too. The tempo path takes the
 * faster tempo where its windows do, up to 1.5 s before the music does, and
 * the beats there followed it: up to 175 ms early (trial h114 finding 4,
 * tempochange.wav). Slowing down was already exact. */
TEST(BeatTracker, OfflineBeatsStayOnTheClicksAcrossASpeedUp)
{
  const guint rate = 22050;
  for (auto [from, to] : {std::pair<double, double>{100, 140}, {120, 160}}) {
    SCOPED_TRACE(std::to_string((int)from) + " -> " + std::to_string((int)to));
    /* The last click at `from` at 19.8 s, the next a period at `to` after. */
    ClickTrack a = make_clicks(rate, from, std::fmod(19.8, 60.0 / from), 20.0);
    ClickTrack b = make_clicks(rate, to, 19.8 + 60.0 / to - 20.0, 20.0);
    std::vector<float> s = a.samples;
    s.insert(s.end(), b.samples.begin(), b.samples.end());
    std::vector<GstClockTime> clicks = a.clicks;
    for (GstClockTime t : b.clicks)
      clicks.push_back(t + 20 * GST_SECOND);
    BeatTracker bt(rate);
    push_all(bt, s);
    SongAnalysis song = bt.finish();
    std::size_t near = 0;
    for (GstClockTime t : song.beats) {
      GstClockTime best = clicks[0];
      for (GstClockTime c : clicks)
        if ((c > t ? c - t : t - c) < (best > t ? best - t : t - best))
          best = c;
      const double off_ms = ((double)t - (double)best) / 1e6;
      EXPECT_LE(std::fabs(off_ms), 35.0) << "beat at " << t / 1e9 << " s, " << off_ms << " ms off";
      if (t > 17 * GST_SECOND && t < 23 * GST_SECOND)
        near++;
    }
    EXPECT_GE(near, 12u) << "beats missing around the change";
  }
}

/* Live, a sudden tempo change with an off-beat note: 16 s at `from` BPM,
 * then 16 s at `to`, each beat a click with another at `off` of its level
 * halfway to the next. From 8 s after the change (a whole tempo window of
 * the new tempo) nine live beats in ten are on the new beats. Before
 * rescore_live() the causal path scored at the old period carried on,
 * at the new tempo's off-beat for most of the rest: 12 of 20 beats on the
 * beat, 3 of 19 and 8 of 11 for the three cases. */
TEST(BeatTracker, LiveFollowsASuddenTempoChangeOnTheBeat)
{
  const guint rate = 44100;
  const double section = 16.0;
  struct Change {
    double from, to;
    float off;
  };
  for (const Change &c :
       {Change{120, 150, 0.5f}, Change{120, 150, 0.65f}, Change{120, 160, 0.65f}}) {
    std::vector<float> s;
    std::vector<GstClockTime> beats_after;
    for (int part = 0; part < 2; part++) {
      const double bpm = part == 0 ? c.from : c.to;
      ClickTrack on = make_clicks(rate, bpm, 0.0, section, 1);
      ClickTrack off = make_clicks(rate, bpm, 30.0 / bpm, section, 1);
      for (std::size_t i = 0; i < on.samples.size(); i++)
        s.push_back(on.samples[i] + c.off * off.samples[i]);
      if (part == 1)
        for (GstClockTime t : on.clicks)
          beats_after.push_back(t + (GstClockTime)(section * GST_SECOND));
    }
    BeatTrackerConfig config;
    config.whole_song = false;
    BeatTracker bt(rate, config);
    std::vector<Beat> causal = push_all(bt, s);
    std::size_t on_beat = 0, counted = 0;
    for (const Beat &b : causal) {
      if (b.time < (GstClockTime)((section + 8.0) * GST_SECOND))
        continue;
      counted++;
      for (GstClockTime t : beats_after)
        if (dist(t, b.time) <= kTolerance) {
          on_beat++;
          break;
        }
    }
    EXPECT_GE(counted, 10u) << c.from << " -> " << c.to << " BPM, off-beat at " << c.off;
    EXPECT_GE((double)on_beat, 0.9 * (double)counted)
        << c.from << " -> " << c.to << " BPM, off-beat at " << c.off << ": " << on_beat << " of "
        << counted << " live beats on the new beats";
  }
}

/* Live (no whole-song pass): half an hour of clicks keeps a bounded window
 * of per-hop data, the tracker keeps finding the clicks to the end, and the
 * summary still covers the whole stream. Before the fix every hop was kept
 * (about 20 MB for this stream). */
TEST(BeatTracker, LiveMemoryStaysBoundedOverHalfAnHour)
{
  const guint rate = 22050; /* the analysis rate: no resampling to pay for */
  /* 20 clicks at 120 BPM in 10 s: repeated, a seamless 0.5 s grid. */
  ClickTrack ct = make_clicks(rate, 120, 0.0, 10.0);
  const int minutes = 30, chunks = minutes * 6;
  BeatTrackerConfig cfg;
  cfg.whole_song = false;
  BeatTracker bt(rate, cfg);
  std::size_t n_beats = 0, max_hops = 0, bytes_at_5_min = 0;
  std::vector<GstClockTime> last_chunk;
  for (int k = 0; k < chunks; k++) {
    std::vector<Beat> got = bt.push(ct.samples.data(), ct.samples.size());
    n_beats += got.size();
    if (k == chunks - 1)
      last_chunk = times_of(got);
    max_hops = std::max(max_hops, bt.retained_hops());
    if (k == 5 * 6 - 1)
      bytes_at_5_min = bt.retained_bytes();
  }
  EXPECT_GE(max_hops, BeatTracker::kLiveKeepHops);
  EXPECT_LT(max_hops, 2 * BeatTracker::kLiveKeepHops);
  EXPECT_GE(bt.retained_hops(), BeatTracker::kLiveKeepHops);
  /* 25 more minutes add only the per-beat and energy-curve lists: 3000
   * beats and 15000 intervals, well under 1 MB even with vector slack. */
  EXPECT_LT(bt.retained_bytes(), bytes_at_5_min + 1024 * 1024);
  EXPECT_LT(bt.retained_bytes(), 2u * 1024 * 1024);

  /* Still on the clicks at the end (the last beats wait for live-delay). */
  EXPECT_GE(last_chunk.size(), 18u);
  for (GstClockTime t : last_chunk) {
    const GstClockTime grid = 500 * GST_MSECOND;
    const GstClockTime off = t % grid;
    EXPECT_LE(std::min(off, grid - off), kTolerance) << "beat at " << t / 1e9 << " s is off the 0.5 s grid";
  }

  SongAnalysis song = bt.finish();
  EXPECT_EQ(song.duration, (GstClockTime)minutes * 60 * GST_SECOND);
  EXPECT_EQ(song.beats.size(), n_beats);
  EXPECT_GE(n_beats, (std::size_t)(minutes * 120 - 10));
  EXPECT_NEAR(song.bpm, 120.0, 0.1);
  EXPECT_EQ(song.beats_per_bar, 4u);
  EXPECT_EQ(song.energy_curve.size(), (std::size_t)minutes * 600);
  ASSERT_EQ(song.beat_energy.size(), song.beats.size());
  /* Every beat interval holds one click: the same energy to within the
   * accent (0.8 vs 0.5 amplitude). */
  for (std::size_t i = 0; i + 1 < song.beat_energy.size(); i++)
    ASSERT_GT(song.beat_energy[i], 0.5) << "beat " << i;
}

/* With the whole-song pass every hop is kept: the retained size grows with
 * the stream (the cost docs and beattracker.h state). */
TEST(BeatTracker, WholeSongKeepsEveryHop)
{
  const guint rate = 22050;
  ClickTrack ct = make_clicks(rate, 120, 0.0, 10.0);
  BeatTrackerConfig cfg;
  cfg.causal = false; /* only the envelope: quick */
  BeatTracker bt(rate, cfg);
  std::size_t bytes_at_1_min = 0;
  for (int k = 0; k < 5 * 6; k++) {
    bt.push(ct.samples.data(), ct.samples.size());
    EXPECT_EQ(bt.retained_hops(), ct.samples.size() * (std::size_t)(k + 1) / BeatTracker::kHop);
    if (k == 5)
      bytes_at_1_min = bt.retained_bytes();
  }
  EXPECT_GT(bt.retained_hops(), 2 * BeatTracker::kLiveKeepHops);
  /* 24 band levels and more per hop; 5 times the hops of the first minute
   * (vectors grow by doubling, so at least 2.5 times the bytes). */
  EXPECT_GE(bt.retained_bytes(), 100 * bt.retained_hops());
  EXPECT_GT(bt.retained_bytes(), 2 * bytes_at_1_min);
  EXPECT_FALSE(bt.finish().beats.empty());
}

/* Clicks alternating loud and quiet (an even pulse of eighths with quieter
 * sixteenths between) at 660 and 720 a minute: nothing accents them in
 * threes, so the beat is two or four of the sixteenths (165 or 180 BPM), not
 * six (110 or 120 BPM, the level nearer the prior's centre, which the
 * tracker took before regroup_even_thirds()). recorded-stg0 in the
 * benchmark is this case in real music (150 BPM read as 100). */
TEST(BeatTracker, EvenPulseIsNotGroupedInThrees)
{
  const guint rate = 44100;
  for (double pulse : {660.0, 720.0}) {
    ClickTrack ct = make_clicks(rate, pulse, 0.5, 30.0, 2);
    BeatTracker bt(rate);
    push_all(bt, ct.samples);
    SongAnalysis song = bt.finish();
    ASSERT_GT(song.bpm, 0.0) << pulse << " a minute";
    const double per_beat = pulse / song.bpm;
    EXPECT_TRUE(std::fabs(per_beat - 2.0) < 0.04 || std::fabs(per_beat - 4.0) < 0.08)
        << pulse << " clicks a minute read at " << song.bpm << " BPM, " << per_beat
        << " clicks a beat";
    std::vector<std::size_t> idx = match_beats(song.beats, ct.clicks);
    EXPECT_GE(idx.size() * per_beat + 8, (double)ct.clicks.size())
        << pulse << " a minute: a beat every group";
  }
}

/* The live tracker, too, takes an even pulse in twos or fours, wherever it
 * starts: the clicks of EvenPulseIsNotGroupedInThrees moved by 0-40 ms (an
 * AAC encoder's delay is 21-48 ms at 44.1 kHz). The comb salience of such a
 * pulse is about the same at six clicks a beat as at two or four; the live
 * tempo estimate took six at every start and held it to the end. The last
 * live beat's tempo must be two or four clicks a beat. */
TEST(BeatTracker, LiveEvenPulseIsNotGroupedInThrees)
{
  const guint rate = 44100;
  BeatTrackerConfig config;
  config.whole_song = false;
  for (double pulse : {660.0, 720.0})
    for (double lead : {0.0, 0.01, 0.02, 0.03, 0.04}) {
      ClickTrack ct = make_clicks(rate, pulse, 0.5 + lead, 40.0, 2);
      BeatTracker bt(rate, config);
      std::vector<Beat> causal = push_all(bt, ct.samples);
      ASSERT_GT(causal.size(), 40u) << pulse << " a minute, " << lead << " s late";
      const double per_beat = pulse / causal.back().bpm;
      EXPECT_TRUE(std::fabs(per_beat - 2.0) < 0.04 || std::fabs(per_beat - 4.0) < 0.08)
          << pulse << " clicks a minute " << lead << " s late read live at " << causal.back().bpm
          << " BPM, " << per_beat << " clicks a beat";
    }
}

/* A passage in which a 16th-note anticipation is louder than the beat it
 * leads into: 120 BPM clicks for 40 s, and from 16 s to 24 s each beat's
 * click at a quarter of its level with a full-level click a sixteenth
 * (125 ms) before it. The whole-song beats must stay on the beat through
 * it, wherever the song starts against the analysis hops (0-40 ms later):
 * the rendered ttsong_iii of the benchmark slipped a quarter beat early for
 * its last 13 s when moved by 10 ms (docs/beat-benchmark.md, twentieth
 * round). */
TEST(BeatTracker, AnticipationDoesNotPullTheBeatEarly)
{
  const guint rate = 44100;
  const double from = 16.0, to = 24.0;
  for (double lead : {0.0, 0.01, 0.02, 0.03, 0.04}) {
    ClickTrack beat = make_clicks(rate, 120, 0.5 + lead, 40.0);
    ClickTrack early = make_clicks(rate, 120, 0.5 + lead - 0.125, 40.0, 1);
    std::vector<float> s(beat.samples.size());
    for (std::size_t i = 0; i < s.size(); i++) {
      const double t = (double)i / rate;
      const bool passage = t >= from - 0.2 && t < to - 0.2;
      s[i] = passage ? 0.25f * beat.samples[i] + early.samples[i] : beat.samples[i];
    }
    BeatTracker bt(rate);
    push_all(bt, s);
    SongAnalysis song = bt.finish();
    ASSERT_GT(song.beats.size(), 60u) << lead << " s late";
    std::size_t on_beat = 0;
    for (GstClockTime b : song.beats)
      for (GstClockTime c : beat.clicks)
        if (dist(b, c) <= kTolerance) {
          on_beat++;
          break;
        }
    EXPECT_GE(on_beat + 2, song.beats.size())
        << lead << " s late: " << song.beats.size() - on_beat << " beats off the beat clicks";
  }
}

/* 120 BPM clicks on the beat (from 0.25 s; `beat`) over a loud, steady bed
 * (a chord and noise from an LCG seeded with `seed`, as a mix sounds at
 * every hop), with a click on each off-beat (from 0 s) off_gain(t) as loud
 * as the beat's; `seconds` long at `rate`. */
static std::vector<float> clicks_over_a_bed(guint rate, double seconds, std::uint32_t seed,
                                            const std::function<double(double)> &off_gain,
                                            ClickTrack &beat)
{
  beat = make_clicks(rate, 120, 0.25, seconds, 1);
  ClickTrack off = make_clicks(rate, 120, 0.0, seconds, 1);
  std::vector<float> s(beat.samples.size());
  std::uint32_t lcg = seed;
  for (std::size_t i = 0; i < s.size(); i++) {
    const double t = (double)i / rate;
    lcg = lcg * 1664525u + 1013904223u;
    const double noise = ((double)(lcg >> 8) / (double)(1u << 24)) * 2.0 - 1.0;
    double bed = 0.35 * noise;
    for (double f : {220.0, 277.2, 329.6, 440.0})
      bed += 0.25 * std::sin(2 * M_PI * f * t + f);
    s[i] = (float)(bed + beat.samples[i] + off_gain(t) * off.samples[i]);
  }
  return s;
}

/* A song trimmed to an excerpt starts inside the music: its first hops
 * compare a full mix with silence, far more flux than any onset of the song
 * (kEdgeFluxPercentile in beattracker.cpp). Here the excerpt starts on the
 * off-beat of 120 BPM clicks over a loud, steady bed (a chord and noise, as
 * a mix sounds at every hop), and for its first 8 s the off-beat carries a
 * click 0.8 as loud as the beat's. Uncapped, that first onset put the first
 * whole-song beats on it and off the clicks (0.00, 0.49, 1.02, 1.54,
 * 2.06 s ...: the path took a few beats to come back from the off-beat). */
TEST(BeatTracker, ExcerptStartingOnTheOffBeatStaysOnTheBeat)
{
  const guint rate = 44100;
  const double seconds = 30.0, passage = 8.0;
  ClickTrack beat;
  std::vector<float> s = clicks_over_a_bed(
      rate, seconds, 987654321u, [&](double t) { return t < passage ? 0.8 : 0.3; }, beat);
  BeatTracker bt(rate);
  push_all(bt, s);
  SongAnalysis song = bt.finish();
  ASSERT_GE(song.beats.size(), 50u);
  std::size_t off_beat = 0;
  for (GstClockTime b : song.beats) {
    bool on = false;
    for (GstClockTime c : beat.clicks)
      on = on || dist(b, c) <= kTolerance;
    if (!on) {
      off_beat++;
      ADD_FAILURE() << "beat at " << (double)b / GST_SECOND << " s is off the beat clicks";
    }
    if (off_beat >= 5)
      break;
  }
}

/* An 8 s excerpt cut on the off-beat, as an MP3 encoder hands it on:
 * behind 1105 samples of digital silence (LAME's encoder delay, which a
 * decoder without the LAME tag's gapless data leaves in; 25 ms at 44.1 kHz).
 * The cut is then two hops past the first sample, where the rule that caps
 * the flux of a stream's first hops (kEdgeFluxPercentile) did not look:
 * its whole-mix-against-silence onset held the whole-song beats off the
 * beat (here 2 beats in 8 s; on 8 s MP3s of the benchmark songs, every
 * beat half a beat off), where the same excerpt without the delay was
 * right. */
TEST(BeatTracker, ShortExcerptBehindAnEncoderDelayStaysOnTheBeat)
{
  const guint rate = 44100;
  const double seconds = 8.0;
  ClickTrack beat;
  const std::vector<float> excerpt = clicks_over_a_bed(
      rate, seconds, 24681357u, [](double) { return 0.6; }, beat);
  for (std::size_t delay : {0u, 1105u}) {
    std::vector<float> s(delay, 0.f);
    s.insert(s.end(), excerpt.begin(), excerpt.end());
    const GstClockTime shift = gst_util_uint64_scale(delay, GST_SECOND, rate);
    BeatTracker bt(rate);
    push_all(bt, s);
    SongAnalysis song = bt.finish();
    EXPECT_GE(song.beats.size(), 12u) << "delay " << delay;
    std::size_t off_beat = 0;
    for (GstClockTime b : song.beats) {
      bool on = false;
      for (GstClockTime c : beat.clicks)
        on = on || dist(b, c + shift) <= kTolerance;
      off_beat += !on;
    }
    EXPECT_EQ(off_beat, 0u) << "delay " << delay << ": " << off_beat << " of " << song.beats.size()
                            << " beats off the beat clicks, the first at "
                            << (song.beats.empty() ? -1.0 : (double)song.beats[0] / GST_SECOND)
                            << " s";
  }
}

/* Each beat's energy is the RMS of its interval, up to the next beat. The
 * last one's interval runs to the end of the audio; where that is shorter
 * than a beat (a click track that stops 0.1 s after its last click), it is
 * measured over one beat period, as the others are, so the last click does
 * not read louder than the rest and scale every other beat down (0.45 for
 * all but the last, before). */
TEST(BeatTracker, LastBeatEnergyIsMeasuredOverABeat)
{
  const guint rate = 44100;
  ClickTrack ct = make_clicks(rate, 120, 0.5, 20.0, 1); /* every click as loud */
  ct.samples.resize((std::size_t)((double)ct.clicks.back() * rate / GST_SECOND + 0.1 * rate));
  for (bool whole_song : {true, false}) {
    BeatTrackerConfig config;
    config.whole_song = whole_song;
    BeatTracker bt(rate, config);
    push_all(bt, ct.samples);
    SongAnalysis song = bt.finish();
    ASSERT_GE(song.beats.size(), 20u) << "whole_song " << whole_song;
    ASSERT_EQ(song.beat_energy.size(), song.beats.size());
    /* Offline, the last beat is the last click (live beats stop a beat or
     * so before it: the last is not confirmed). */
    if (whole_song) {
      EXPECT_NEAR(song.beats.back(), ct.clicks.back(), 70 * GST_MSECOND);
    }
    /* The loudest is 1; the others differ by where each interval's hop
     * boundaries fall around the clicks (0.67-1.0 here). */
    for (std::size_t i = 0; i < song.beats.size(); i++)
      EXPECT_GE(song.beat_energy[i], 0.6)
          << "beat " << i << " of " << song.beats.size() << ", whole_song " << whole_song;
  }
}

/* LiveEnergyLevel: 0.5 for the first 4 s; then the last 2 s against the song
 * so far: a loud passage after a quiet one is high, a quiet one after it
 * low; a song without contrast is medium, or low when quiet. */
TEST(LiveEnergyLevel, PlacesTheMomentInTheSongsOwnRange)
{
  montage::LiveEnergyLevel level(100 * GST_MSECOND);
  for (int k = 0; k < 39; k++) {
    level.push(0.5);
    EXPECT_EQ(level.level(), 0.5) << "interval " << k;
  }
  for (int k = 0; k < 61; k++)
    level.push(0.5);
  EXPECT_EQ(level.level(), 0.5) << "10 s at one level: no contrast, medium";
  for (int k = 0; k < 100; k++)
    level.push(0.9);
  EXPECT_GT(level.level(), 0.99) << "loud after quiet";
  for (int k = 0; k < 20; k++)
    level.push(0.5);
  EXPECT_LT(level.level(), 0.01) << "quiet again, 2 s on";
  for (int k = 0; k < 10; k++)
    level.push(0.7);
  EXPECT_NEAR(level.level(), 0.25, 0.05) << "half-way up, half of the last 2 s";

  level.reset();
  for (int k = 0; k < 100; k++)
    level.push(0.1);
  EXPECT_EQ(level.level(), 0.0) << "a quiet song without contrast is low";
  /* Values outside 0..1 are clamped (under 0: silence). */
  level.reset();
  for (int k = 0; k < 50; k++)
    level.push(0.5);
  for (int k = 0; k < 50; k++)
    level.push(2.0);
  EXPECT_GT(level.level(), 0.99);
  for (int k = 0; k < 20; k++)
    level.push(-1.0);
  EXPECT_EQ(level.level(), 0.0);
}

/* Silence (2 s or more at or under kSilentEnergy) is no music: it enters
 * neither the range nor the smoothing, and is low while it lasts. Before,
 * 15 s of silence before a flat song put 0 in the range, and the whole
 * song read high (1.0) instead of medium. */
TEST(LiveEnergyLevel, ASilentIntroStaysOutOfTheRange)
{
  for (double floor : {0.0, 0.03}) { /* digital silence; hiss at -58 dBFS */
    montage::LiveEnergyLevel level(100 * GST_MSECOND);
    for (int k = 0; k < 150; k++) {
      level.push(floor);
      if (k >= 19) {
        EXPECT_EQ(level.level(), 0.0) << "silence, interval " << k << ", floor " << floor;
      }
    }
    for (int k = 0; k < 39; k++) {
      level.push(0.6);
      EXPECT_EQ(level.level(), 0.5) << "the first 4 s of music, interval " << k;
    }
    for (int k = 0; k < 200; k++)
      level.push(0.6);
    EXPECT_EQ(level.level(), 0.5) << "a flat song after a silent intro is medium, floor " << floor;
    /* Contrast of its own: quiet then loud, the range is the music's. */
    for (int k = 0; k < 200; k++)
      level.push(0.8);
    EXPECT_EQ(level.level(), 1.0);
    for (int k = 0; k < 30; k++)
      level.push(0.7);
    EXPECT_NEAR(level.level(), 0.5, 0.05) << "half-way between the song's levels";
    /* A pause of 5 s in the middle: low while silent, and out of the range
     * after (the song's 0.6 is still its low, not half-way up from 0). */
    for (int k = 0; k < 50; k++)
      level.push(floor);
    EXPECT_EQ(level.level(), 0.0);
    for (int k = 0; k < 30; k++)
      level.push(0.6);
    EXPECT_EQ(level.level(), 0.0) << "the song's quiet level after a pause, floor " << floor;
  }
  /* Gaps under 2 s (a click track's) are music: a flat click track is medium. */
  montage::LiveEnergyLevel clicks(100 * GST_MSECOND);
  for (int k = 0; k < 300; k++)
    clicks.push(k % 2 == 0 ? 1.0 : 0.0);
  EXPECT_EQ(clicks.level(), 0.5);
}

/* A loud part after a long quiet one is high at once (once the last 2 s are
 * louder by 0.05 or more), not only once it holds a tenth of what was
 * heard. */
TEST(LiveEnergyLevel, LoudAfterALongQuietPartIsHighAtOnce)
{
  montage::LiveEnergyLevel level(100 * GST_MSECOND);
  for (int k = 0; k < 600; k++)
    level.push(0.5);
  for (int k = 0; k < 20; k++)
    level.push(0.9);
  EXPECT_EQ(level.level(), 1.0);
}
