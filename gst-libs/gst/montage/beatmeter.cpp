/* gst-montage: meter and bar positions of a beat sequence, from per-beat
 * accents (the beat tracker's downbeat cues). See beatmeter-private.h. */
#include <gst/montage/beatmeter-private.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>

namespace montage {
namespace beatmeter {

namespace {

/* Chord change as a downbeat cue (meter_of()): its weight against the bass
 * onset and the band novelty (each weight 1, all three as z-scores), and the
 * least standard deviation its z-scores divide by. Measured on the
 * benchmark's 17 songs in 4/4 and 3/4 (bench/beat/quick.py, downbeat F;
 * chroma then from pairs and a 1024-point FFT, whose downbeats on the
 * benchmark the present chroma repeats exactly):
 * 0.628 with no chord cue, 0.655 with it for the meter only, 0.694 at weight
 * 1, 0.758 from 2 to 1000 (the chord cue alone). Chord changes spread
 * 0.13-0.49 (standard deviation) over the benchmark's songs and 0.03-0.10 on
 * most of the tests' click tracks, whose changes are noise: the floor keeps
 * that noise from counting as accents. Downbeat F is the same with floors
 * 0.1-0.3. */
constexpr double kChordWeight = 5.0;
constexpr double kMinChordChangeSd = 0.2;
/* harmonic_meter(): a meter's chord-change contrast needs at least this
 * (z-units) and this multiple of the other meter's to decide the meter.
 * Measured: the benchmark's 4/4 songs 0.32-1.53 at 4 against 0.03-0.16 at
 * 3; the 3/4 songs hard-104 0.43 and boogi 0.27 at 3 against 0.29 and 0.19
 * at 4 (hard-105, which changes meter, 0.05 and 0.20: undecided). Downbeat
 * F is the same for contrasts 0.1-0.35 and ratios 1.1-1.4. */
constexpr double kChordMeterContrast = 0.25;
constexpr double kChordMeterRatio = 1.25;
/* harmonic_meter() needs this many beats: the contrast's standard error
 * over n z-scored beats is about sqrt(4.5 / n) for 3 beats a bar, 0.27 at
 * 64 beats and 0.53 at 16, so on fewer beats a contrast of 0.25 is noise.
 * Live, the meter window holds 64 beats: under 32 or 48 a recorded 4/4 song
 * (just_over_the_horizon) got 3/4 labels for 10-20 s, at 64 none; the
 * benchmark's live downbeat F is 0.641 at 8, 0.647 at 32, 0.649 at 64.
 * The benchmark's songs have 121-384 beats. */
constexpr std::size_t kMinChordMeterBeats = 64;
/* harmonic_parity(): the standard errors (phase_t()) by which the chord
 * change on one parity of the beats must exceed that on the other.
 * Measured on the benchmark songs read at twice their tempo, halved to
 * their notated tempo by a tempo range (the parity of the whole-range beats
 * that holds the notated beats): hard-13 11.4, train_filled_with_cash 4.2,
 * hard-104 3.5; a click track's chord change is noise under the
 * kMinChordChangeSd floor and stays far under it. */
constexpr double kMinParityT = 3.0;
/* beat_numbers(): the least interval, in beat periods, that counts as a
 * gap of more than one beat. The live tracker's half-beat phase changes
 * make intervals of 1.5 periods; counted as 2 beats they cost live downbeat
 * F 0.649 to 0.607 on the benchmark, from 1.6 to 1.9 it is 0.656 (0.658
 * with the counts between the meter's re-estimates too); offline, where
 * coconut_run2's break drops 3 beats, 0.761 to 0.771 at any of them. */
constexpr double kMinGapPeriods = 1.75;
/* beat_numbers(): intervals either side whose median is the local period. */
constexpr std::size_t kGapSpan = 8;

/* To z-scores (mean 0, standard deviation 1), the standard deviation taken
 * as at least min_sd; all 0 when it is 0. */
void z_scores(std::vector<double> &v, double min_sd = 0.0)
{
  double m = std::accumulate(v.begin(), v.end(), 0.0) / (double)v.size(), s = 0;
  for (double x : v)
    s += (x - m) * (x - m);
  s = std::max(min_sd, std::sqrt(s / (double)v.size()));
  for (double &x : v)
    x = s > 0 ? (x - m) / s : 0.0;
}

/* Beat i's count (beat_numbers()), or i without counts. */
std::size_t count_of(const std::vector<long> &number, std::size_t i)
{
  return number.size() > i ? (std::size_t)number[i] : i;
}

/* The mean of v over the beats i >= 1 that would start a bar of m beats
 * at phase ph ((c + m - ph) % m == 0, c the beat's count in `number`, or
 * i without) less its mean over the other beats i >= 1 (a side with no
 * beat counts 0). */
double phase_contrast(const std::vector<double> &v, guint m, guint ph, const std::vector<long> &number)
{
  double on = 0, off = 0;
  std::size_t non = 0, noff = 0;
  for (std::size_t i = 1; i < v.size(); i++) {
    if ((count_of(number, i) + m - ph) % m == 0) {
      on += v[i];
      non++;
    } else {
      off += v[i];
      noff++;
    }
  }
  return (non ? on / (double)non : 0) - (noff ? off / (double)noff : 0);
}

/* phase_contrast() over its standard error, sqrt(1/n_on + 1/n_off) for
 * values of unit variance (v z-scored), n_on and n_off the beats either
 * side: how many standard errors the phase's beats stand out. 0 when a side
 * has no beat. */
double phase_t(const std::vector<double> &v, guint m, guint ph, const std::vector<long> &number)
{
  std::size_t non = 0, noff = 0;
  for (std::size_t i = 1; i < v.size(); i++)
    ((count_of(number, i) + m - ph) % m == 0 ? non : noff)++;
  if (non == 0 || noff == 0)
    return 0.0;
  return phase_contrast(v, m, ph, number) / std::sqrt(1.0 / (double)non + 1.0 / (double)noff);
}

/* Periods, in beats, that no meter has, for meter_of()'s confidence: a
 * pattern that repeats every 2, 3, 4, 6 or 8 beats spreads evenly over
 * their phases, so what stands out at them is how much any grouping of the
 * song's beats stands out by chance. */
constexpr guint kControlPeriods[] = {5u, 7u};
/* meter_of()'s confidence is its evidence (standard errors) over this. */
constexpr double kFullMeterEvidence = 4.0;
/* meter_of(): under this much evidence (standard errors; a confidence of
 * 0.25, under which the planner does not follow bars: docs/montagebeat.md)
 * the accents do not decide the bar line, and where the music starts does
 * (`start`). Measured (bench/beat, offline, docs/beat-benchmark.md,
 * thirty-fourth round): the benchmark songs whose accents put the bar line
 * right have 1.26 (boogi_marabi_redfarn) or more, those whose accents put it
 * a beat off 0 and 0.82 (slow_neasy_redfarn, hard-105). */
constexpr double kWeakBarEvidence = 1.0;

} // namespace

/* See beatmeter-private.h for the contracts. */

std::vector<long> beat_numbers(const std::vector<GstClockTime> &beats)
{
  const std::size_t nb = beats.size();
  std::vector<long> number(nb, 0);
  std::vector<double> ibi;
  for (std::size_t i = 1; i < nb; i++)
    ibi.push_back((double)(beats[i] - beats[i - 1]));
  std::vector<double> near;
  for (std::size_t i = 1; i < nb; i++) {
    const std::size_t j = i - 1; /* interval j: beats j to i */
    near.clear();
    const std::size_t a = j > kGapSpan ? j - kGapSpan : 0, b = std::min(ibi.size(), j + kGapSpan + 1);
    for (std::size_t k = a; k < b; k++)
      if (k != j)
        near.push_back(ibi[k]);
    long step = 1;
    if (!near.empty()) {
      std::nth_element(near.begin(), near.begin() + (long)near.size() / 2, near.end());
      const double period = near[near.size() / 2];
      if (period > 0)
        step = ibi[j] >= kMinGapPeriods * period ? std::lround(ibi[j] / period) : 1;
    }
    number[i] = number[i - 1] + step;
  }
  return number;
}

guint harmonic_meter(std::vector<double> harmony, const std::vector<long> &number)
{
  const std::size_t nb = harmony.size();
  if (nb < kMinChordMeterBeats)
    return 0;
  z_scores(harmony, kMinChordChangeSd);
  double contrast[2] = {0, 0};
  for (guint m : {3u, 4u}) {
    double best = 0;
    for (guint ph = 0; ph < m; ph++)
      best = std::max(best, phase_contrast(harmony, m, ph, number));
    contrast[m - 3] = best;
  }
  for (guint m : {3u, 4u}) {
    const double c = contrast[m - 3], other = contrast[4 - m];
    if (c >= kChordMeterContrast && c >= kChordMeterRatio * other)
      return m;
  }
  return 0;
}

int harmonic_parity(std::vector<double> harmony, const std::vector<long> &number)
{
  if (harmony.size() < 8)
    return -1;
  z_scores(harmony, kMinChordChangeSd);
  for (guint ph : {0u, 1u})
    if (phase_t(harmony, 2, ph, number) >= kMinParityT)
      return (int)ph;
  return -1;
}

std::vector<guint> meter_of(std::vector<double> bass_acc, std::vector<double> novelty,
                            guint &per_bar, guint only, std::vector<double> harmony,
                            const std::vector<long> &number, double *confidence,
                            std::optional<long> start)
{
  per_bar = 0;
  if (confidence)
    *confidence = 0.0;
  const std::size_t nb = bass_acc.size();
  std::vector<guint> pos(nb, 0);
  if (nb < 8)
    return pos;
  z_scores(bass_acc);
  z_scores(novelty);
  if (harmony.size() == nb)
    z_scores(harmony, kMinChordChangeSd);
  else
    harmony.assign(nb, 0.0);
  std::vector<double> acc(nb);
  for (std::size_t i = 0; i < nb; i++)
    acc[i] = bass_acc[i] + novelty[i] + kChordWeight * harmony[i];
  double best = -1e300;
  guint best_m = 4, best_phase = 0;
  for (guint m : {4u, 3u}) {
    if (only && m != only)
      continue;
    for (guint ph = 0; ph < m; ph++) {
      double s = phase_contrast(acc, m, ph, number);
      /* 3/4 must beat 4/4 clearly: fewer beats per bar fit noise more easily. */
      if (m == 3)
        s -= 0.1;
      if (s > best) {
        best = s;
        best_m = m;
        best_phase = ph;
      }
    }
  }
  per_bar = best_m;
  /* The evidence for a bar at `phase`, in standard errors: how far its
   * downbeats stand out beyond what the best grouping at a period no meter
   * has shows, and how far beyond the meter's best other phase (a bar line
   * one or two beats off), whichever is less. */
  z_scores(acc);
  double chance = 0.0;
  for (guint m : kControlPeriods)
    for (guint ph = 0; ph < m; ph++)
      chance = std::max(chance, phase_t(acc, m, ph, number));
  auto evidence_of = [&](guint phase) {
    const double t = phase_t(acc, best_m, phase, number);
    double next = -1e300;
    for (guint ph = 0; ph < best_m; ph++)
      if (ph != phase)
        next = std::max(next, phase_t(acc, best_m, ph, number));
    return std::min(t - chance, t - next);
  };
  double evidence = evidence_of(best_phase);
  if (start && evidence < kWeakBarEvidence) {
    /* The accents do not tell where the bar starts: the music does, on a
     * downbeat (a piece is a group, and its strongest beat comes early:
     * Lerdahl and Jackendoff's metrical preference rule 2, "strong beat
     * early", A Generative Theory of Tonal Music, 1983). */
    best_phase = (guint)(((*start % (long)best_m) + (long)best_m) % (long)best_m);
    evidence = evidence_of(best_phase);
  }
  for (std::size_t i = 0; i < nb; i++)
    pos[i] = (guint)((count_of(number, i) + best_m - best_phase) % best_m) + 1;
  if (confidence)
    *confidence = std::clamp(evidence / kFullMeterEvidence, 0.0, 1.0);
  return pos;
}

std::vector<guint> causal_meter(const std::vector<double> &bass_acc,
                                const std::vector<double> &novelty,
                                const std::vector<double> &harmony, guint &per_bar,
                                const std::vector<long> &number, double *confidence)
{
  guint only = harmonic_meter(harmony, number);
  if (!only)
    meter_of(bass_acc, novelty, only, 0, {}, number);
  return meter_of(bass_acc, novelty, per_bar, only, harmony, number, confidence);
}

} // namespace beatmeter
} // namespace montage
