/* Meter and bar positions from per-beat accents (beatmeter-private.h),
 * without audio: the accents are made up, so each rule is tested alone. */
#include <gst/montage/beatmeter-private.h>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

using namespace montage::beatmeter;

namespace {

/* Beat times (ns) every `period_s` seconds, `n` of them, from 1 s. */
std::vector<GstClockTime> regular(std::size_t n, double period_s)
{
  std::vector<GstClockTime> t;
  for (std::size_t i = 0; i < n; i++)
    t.push_back((GstClockTime)std::llround((1.0 + (double)i * period_s) * GST_SECOND));
  return t;
}

/* Accents of beats with counts `count`: `strong` on the counts that are 0
 * modulo m (after shifting by `phase`), 0 elsewhere, plus a small ripple
 * so that no two beats are equal. */
std::vector<double> accents(const std::vector<long> &count, guint m, guint phase, double strong)
{
  std::vector<double> a;
  for (long c : count)
    a.push_back(((c + (long)m - (long)phase) % (long)m == 0 ? strong : 0.0) + 0.01 * (double)(c % 7));
  return a;
}

std::vector<long> iota_counts(std::size_t n)
{
  std::vector<long> c;
  for (std::size_t i = 0; i < n; i++)
    c.push_back((long)i);
  return c;
}

} // namespace

TEST(BeatMeter, RegularBeatsCountByIndex)
{
  EXPECT_EQ(beat_numbers(regular(40, 0.5)), iota_counts(40));
  EXPECT_TRUE(beat_numbers({}).empty());
  EXPECT_EQ(beat_numbers(regular(1, 0.5)), std::vector<long>{0});
}

TEST(BeatMeter, AGapCountsTheBeatsItHolds)
{
  for (int missing : {1, 3, 7}) {
    std::vector<GstClockTime> t = regular(60, 0.5);
    t.erase(t.begin() + 20, t.begin() + 20 + missing);
    std::vector<long> n = beat_numbers(t);
    ASSERT_EQ(n.size(), t.size());
    for (std::size_t i = 0; i < n.size(); i++)
      EXPECT_EQ(n[i], (long)(i < 20 ? i : i + (std::size_t)missing)) << missing << " missing, beat " << i;
  }
}

TEST(BeatMeter, HalfABeatMoreIsNotAGap)
{
  /* A phase change by half a beat (an interval of 1.5 periods) counts 1;
   * from 1.75 periods an interval counts 2. */
  std::vector<GstClockTime> t = regular(40, 0.5);
  for (std::size_t i = 20; i < t.size(); i++)
    t[i] += GST_SECOND / 4;
  EXPECT_EQ(beat_numbers(t), iota_counts(40));
  for (std::size_t i = 20; i < t.size(); i++)
    t[i] += GST_SECOND * 3 / 20; /* 1.8 periods */
  std::vector<long> n = beat_numbers(t);
  EXPECT_EQ(n[19], 19);
  EXPECT_EQ(n[20], 21);
}

TEST(BeatMeter, AGradualTempoChangeIsNotAGap)
{
  /* 120 to 180 BPM over 64 beats: each interval is near its neighbours. */
  std::vector<GstClockTime> t;
  double s = 1.0;
  for (int i = 0; i < 96; i++) {
    t.push_back((GstClockTime)std::llround(s * GST_SECOND));
    const double bpm = 120.0 + 60.0 * std::clamp((i - 16) / 64.0, 0.0, 1.0);
    s += 60.0 / bpm;
  }
  EXPECT_EQ(beat_numbers(t), iota_counts(96));
}

TEST(BeatMeter, MeterAndPhaseFromTheBassOnset)
{
  for (guint m : {4u, 3u}) {
    for (guint phase = 0; phase < m; phase++) {
      const std::vector<long> c = iota_counts(48);
      guint per_bar = 0;
      std::vector<guint> pos =
          meter_of(accents(c, m, phase, 1.0), std::vector<double>(48, 0.0), per_bar);
      EXPECT_EQ(per_bar, m);
      ASSERT_EQ(pos.size(), c.size());
      for (std::size_t i = 0; i < pos.size(); i++)
        EXPECT_EQ(pos[i], (guint)((i + m - phase) % m) + 1)
            << m << " per bar, phase " << phase << ", beat " << i;
    }
  }
}

TEST(BeatMeter, TooFewBeatsGiveNoMeter)
{
  guint per_bar = 7;
  std::vector<guint> pos = meter_of(std::vector<double>(7, 1.0), std::vector<double>(7, 0.0), per_bar);
  EXPECT_EQ(per_bar, 0u);
  EXPECT_EQ(pos, std::vector<guint>(7, 0u));
}

TEST(BeatMeter, PositionsFollowTheCountsOverAGap)
{
  /* Downbeats on counts 0, 4, 8, ...; three beats missing after count 41. */
  std::vector<long> c = iota_counts(42);
  for (long k = 45; k < 90; k++)
    c.push_back(k);
  const std::vector<double> bass = accents(c, 4, 0, 1.0);
  guint per_bar = 0;
  std::vector<guint> pos = meter_of(bass, std::vector<double>(c.size(), 0.0), per_bar, 0, {}, c);
  EXPECT_EQ(per_bar, 4u);
  for (std::size_t i = 0; i < pos.size(); i++)
    EXPECT_EQ(pos[i], (guint)(c[i] % 4) + 1) << "beat " << i << " (count " << c[i] << ")";
  /* By index the beats after the gap slip three places: the accents then
   * sit on two phases and the positions of one side are wrong. */
  std::vector<guint> by_index = meter_of(bass, std::vector<double>(c.size(), 0.0), per_bar);
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < by_index.size(); i++)
    wrong += by_index[i] != (guint)(c[i] % 4) + 1;
  EXPECT_GT(wrong, 30u);
}

TEST(BeatMeter, ChordChangesDecideTheMeterFromSixtyFourBeats)
{
  for (guint m : {3u, 4u}) {
    EXPECT_EQ(harmonic_meter(accents(iota_counts(96), m, 1, 1.0)), m) << m;
    EXPECT_EQ(harmonic_meter(accents(iota_counts(63), m, 1, 1.0)), 0u) << m << ", 63 beats";
  }
  /* The same change on every beat tells nothing. */
  EXPECT_EQ(harmonic_meter(std::vector<double>(96, 0.5)), 0u);
}

TEST(BeatMeter, ChordChangesOutweighTheBassForThePhase)
{
  /* Bass on the counts 1 modulo 4, chords changing on the counts 0 modulo
   * 4: the chord change (weight 5) puts the bar line on the chords. */
  const std::vector<long> c = iota_counts(96);
  guint per_bar = 0;
  std::vector<guint> pos =
      causal_meter(accents(c, 4, 1, 1.0), std::vector<double>(96, 0.0), accents(c, 4, 0, 1.0), per_bar);
  EXPECT_EQ(per_bar, 4u);
  for (std::size_t i = 0; i < pos.size(); i++)
    EXPECT_EQ(pos[i], (guint)(i % 4) + 1) << "beat " << i;
}

/* meter_of()'s confidence: a bar marked on every downbeat is sure; accents
 * that are noise, or that mark beats 1 and 3 of 4 alike (a bar line two
 * beats off is as likely), leave the bar a guess. */
TEST(BeatMeter, ConfidenceIsHighOnlyWhereOneBarStandsOut)
{
  const std::vector<long> c = iota_counts(128);
  guint per_bar = 0;
  double sure = -1, noise = -1, halves = -1;
  meter_of(accents(c, 4, 1, 1.0), std::vector<double>(128, 0.0), per_bar, 0, {}, {}, &sure);
  EXPECT_EQ(per_bar, 4u);
  EXPECT_GT(sure, 0.9);

  std::uint32_t lcg = 12345;
  std::vector<double> random;
  for (std::size_t i = 0; i < c.size(); i++) {
    lcg = lcg * 1664525u + 1013904223u;
    random.push_back((double)(lcg >> 8) / (double)(1u << 24));
  }
  meter_of(random, std::vector<double>(128, 0.0), per_bar, 0, {}, {}, &noise);
  EXPECT_GT(per_bar, 0u) << "a meter is still named";
  EXPECT_LT(noise, 0.25);

  meter_of(accents(c, 2, 0, 1.0), std::vector<double>(128, 0.0), per_bar, 4, {}, {}, &halves);
  EXPECT_EQ(per_bar, 4u);
  EXPECT_LT(halves, 0.25);

  double none = -1;
  meter_of(std::vector<double>(7, 1.0), std::vector<double>(7, 0.0), per_bar, 0, {}, {}, &none);
  EXPECT_EQ(none, 0.0) << "under 8 beats: no meter";
}

/* harmonic_parity(): the parity of the counts the chords change on, where
 * it stands out; nothing from a change on every beat, from a click track's
 * noise-sized changes, or from under 8 beats. Counted by `number` across a
 * gap, not by index. */
TEST(BeatMeter, ChordChangesOnOneParityNameIt)
{
  const std::vector<long> c = iota_counts(64);
  EXPECT_EQ(harmonic_parity(accents(c, 2, 0, 0.6), c), 0);
  EXPECT_EQ(harmonic_parity(accents(c, 2, 1, 0.6), c), 1);
  EXPECT_EQ(harmonic_parity(accents(c, 2, 1, 0.6)), 1) << "counts by index";
  EXPECT_EQ(harmonic_parity(std::vector<double>(64, 0.5), c), -1)
      << "the same change on every beat";

  /* A click track's chord change: 0.03-0.10 on every beat, a little more
   * on one parity; the least standard deviation keeps it from counting. */
  std::uint32_t lcg = 777;
  std::vector<double> clicks;
  for (long k : c) {
    lcg = lcg * 1664525u + 1013904223u;
    clicks.push_back(0.03 + 0.05 * (double)(lcg >> 8) / (double)(1u << 24) +
                     (k % 2 == 0 ? 0.02 : 0.0));
  }
  EXPECT_EQ(harmonic_parity(clicks, c), -1) << "noise-sized changes";
  EXPECT_EQ(harmonic_parity(accents(iota_counts(7), 2, 0, 0.6)), -1) << "under 8 beats";

  /* Three beats missing after count 29: the counts after it are odd where
   * the index is even. Chords change on even counts throughout. */
  std::vector<long> gap = iota_counts(30);
  for (long k = 33; k < 90; k++)
    gap.push_back(k);
  EXPECT_EQ(harmonic_parity(accents(gap, 2, 0, 0.6), gap), 0);
}

/* Where the accents do not decide the bar line (a confidence under 0.25),
 * it goes where the music starts (`start`, a beat count, here before the
 * first beat); where they do, `start` changes nothing. */
TEST(BeatMeter, TheStartDecidesTheBarOnlyWhereTheAccentsDoNot)
{
  const std::vector<long> count = iota_counts(64);
  /* Accents on counts 0 and 2 mod 4, those on 2 a little stronger. */
  std::vector<double> weak = accents(count, 4, 0, 1.0), strong = accents(count, 4, 1, 1.0);
  for (std::size_t i = 0; i < weak.size(); i++)
    if (count[i] % 4 == 2)
      weak[i] += 1.05;
  guint per_bar = 0;
  double confidence = 1.0;
  std::vector<guint> pos = meter_of(weak, weak, per_bar, 4, {}, count, &confidence);
  EXPECT_EQ(pos[2], 1u) << "by the accents alone, count 2 starts the bar";
  pos = meter_of(weak, weak, per_bar, 4, {}, count, &confidence, -4L);
  EXPECT_EQ(per_bar, 4u);
  EXPECT_EQ(pos[0], 1u) << "count -4 starts the music: its bar starts on counts 0, 4, ...";
  pos = meter_of(weak, weak, per_bar, 4, {}, count, &confidence, -3L);
  EXPECT_EQ(pos[1], 1u) << "count -3 starts the music: its bar starts on counts 1, 5, ...";
  EXPECT_LT(confidence, 0.25);
  pos = meter_of(strong, strong, per_bar, 4, {}, count, &confidence, 0L);
  EXPECT_EQ(pos[1], 1u) << "clear accents on counts 1, 5, ... keep the bar";
  EXPECT_GT(confidence, 0.25);
}
