/* gst-montage: beat tracker core. See beattracker.h for the contract. */
#include <gst/montage/beattracker.h>
#include <gst/montage/beatmeter-private.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <fftw3.h>
#include <limits>
#include <mutex>
#include <numeric>
#include <optional>
#include <tuple>
#include <utility>

namespace montage {

namespace {

constexpr double kNsPerSecond = 1e9;
static_assert(BeatTracker::kWindow % BeatTracker::kHop == 0, "push() copies whole hops into the ring");
constexpr double kFps = (double)BeatTracker::kAnalysisRate / BeatTracker::kHop; /* 86.13 */
constexpr int kBands = 24;
/* Bands whose upper edge is at or below this count as bass (downbeat cue). */
constexpr double kBassHz = 180.0;

/* Tempo candidates: 40-240 BPM in 1 % steps. */
constexpr double kMinBpm = BeatTracker::kMinBpm;
constexpr double kMaxBpm = BeatTracker::kMaxBpm;
constexpr double kBpmStep = 1.01;
/* Log-normal tempo prior (NOTES.md's prototype): centre and width in octaves. */
constexpr double kPriorBpm = 120.0;
constexpr double kPriorOctaves = 1.0;
/* bpm_from_beats(): intervals whose per-period length is more than this
 * fraction off the median belong to another tempo (a song's sections at
 * 120 and 150 BPM are 25 % apart; the whole-song pass's beats keep within
 * about 2 % of their local tempo). */
constexpr double kDominantTempoBand = 0.08;
/* Tempo windows: 8 s long, every 1 s offline and 0.5 s live. */
constexpr double kTempoWindowS = 8.0;
/* Live tempo: each estimate prefers tempi within ~10 % of the current one
 * by this weight, so a rival level must have 1 / (1 - kLiveTempoHold) times
 * its salience to take over. 0.4 (a rival needed 1.67x) kept the first
 * estimate, made from 2 s of audio, for whole songs; docs/beat-benchmark.md
 * has the sweep (0.1-0.4). */
constexpr double kLiveTempoHold = 0.2;
/* Live beat level (live_level()): the beats are regrouped once this many
 * tempo estimates in a row (0.5 s apart) have found the thirds of the beat
 * interval as strong as the beats. On the benchmark songs moved by 0-41 ms
 * the test alone fires for 0.5-1.5 s in passing (hard-13, boogi_marabi,
 * chemistry_lab, relax_song's intro) and for good in recorded-stg0 read at
 * 100 BPM; ttsong_iii's passes last up to 3 s. The regrouped-from tempi, at
 * most kLiveRegroupedKept of them, are not taken again until reset(). */
constexpr int kLiveLevelChecks = 6;
/* Live tempo octave (live_octave()): each tempo estimate's log salience
 * over its peak is summed with a kLiveEvidenceS time constant; once that sum
 * holds kLiveEvidenceWindows estimates (5 s), an estimate's tempo gives way
 * to its double or half where the sum favours that by more than
 * kLiveOctaveMargin per estimate (about 10 % more salience on average) and
 * the window itself gives it at least kLiveOctaveRival of the tempo's
 * salience. Without it the first estimate, made from 2 s of audio, decided
 * the octave that the hold kept for the whole song (ultimate_run moved by
 * 10-20 ms read 75 for 150). docs/beat-benchmark.md, twenty-fifth round,
 * has the sweep: the live F is flat for a margin of 0.07-0.25, a rival
 * fraction of 0.6-0.8 and a time constant of 15-60 s. */
constexpr double kLiveEvidenceS = 30.0;
constexpr double kLiveEvidenceWindows = 10.0;
constexpr double kLiveOctaveMargin = 0.1;
constexpr double kLiveOctaveRival = 0.6;
constexpr std::size_t kLiveRegroupedKept = 4;
/* Live phase after a tempo change (rescore_live()): where the live tempo
 * moves by more than this fraction to a level that is not 2, 3, 1/2 or 1/3
 * times the last (within kHarmonicTolerance, in log), the causal dynamic
 * programming of the last tempo window is scored again at the new period.
 * Below it the tempo only wobbles within the hold; at those ratios every
 * beat of one level is a beat of the other, so the path scored at the old
 * period already holds the new level's phase. docs/beat-benchmark.md,
 * twenty-sixth round, has the measurements. One exception: a fall to 1/2
 * or 1/3 back to the tempo the path left within the last tempo window (a
 * short excursion to the double or triple) is scored again too. The path
 * at the faster level holds two or three phases of the slower one and
 * went on with whichever its last beat was on, not the one it had before:
 * relax_song (120 BPM) tracked from 150 s after a seek read 240 for 1 s
 * at 155.5 s (the octave evidence, add_live_evidence()) and came back to
 * 120 on the off-beat eighths, 11 beats off until 160.3 s; scored again, 4
 * (the two double-time beats, 158.25 and 158.75 s;
 * MontageBeat.LiveBeatsAfterASeekStayOnTheBeat). Every fall to 1/2 or 1/3
 * scored again did the same there, but ultimate_run moved by 41 ms, read
 * 150 for 44 s and then 75, went to the off-beat eighths at 55.8 s (live F
 * 0.836 -> 0.704, bench/beat/quick.py --live --lead 41). */
constexpr double kLiveRescoreChange = 0.04;
constexpr double kHarmonicTolerance = 0.04;
/* A causal beat's bpm is 0 (unknown) until this many beats, and while the
 * tempo of the last 16 is more than kDominantTempoBand outside
 * min_bpm..max_bpm: the first live beats may be 0.6 of a period apart (the
 * path's shortest step) while the tempo settles, and with the range set to
 * 100-180 BPM their tempo read 190-260 on five benchmark songs
 * (recorded-just_over_the_horizon, 130 BPM: 258.8), each sent downstream as
 * a BPM tag. With three intervals the median skips a single such one. */
constexpr std::size_t kLiveBpmBeats = 4;
/* Offline, a beat is kept only where its tempo window's clarity (comb
 * salience peak over mean, clarity()) reaches this: music without a pulse
 * (noise, rain, sustained pads, a low hum) gives the dynamic programming a
 * grid all the same, at clarity 0.25-0.47 on generated white, pink and brown
 * noise, rain-like crackle, a vibrato pad and a 60 Hz tone; the 22
 * benchmark songs' windows score 0.53-0.94 (the lowest in hard-13, a sparse
 * 40 BPM piece; the next 0.55). docs/beat-benchmark.md, thirteenth round. */
constexpr double kMinRhythmClarity = 0.5;
/* Offline, a tempo window whose onset envelope has a spread (variance over
 * mean squared, envelope_spread()) under this has no pulse whatever its
 * clarity: its "onsets" never fall quiet between them. The envelope is scaled
 * to unit standard deviation, so the ripple of a held pure tone (windowed FFT
 * magnitudes beating with the hop) becomes a periodic curve: 10 of 21
 * generated tones at 60-5000 Hz had windows of clarity 0.5 or more and got a
 * whole-song grid at 97-193 BPM. Their windows' spread is 1.84-2.55 (all
 * 21, every window); the benchmark songs' windows of clarity 0.5 or more
 * 3.40-121 (3.40 in hard-13, a sparse 40 BPM piece; the next lowest 5.65).
 * docs/beat-benchmark.md, twenty-third round. The live tracker's
 * pulse_heard() tests the causal envelope's spread the same way. */
constexpr double kMinPulseSpread = 3.0;
/* Live, no causal beat is returned until a pulse has been heard (pulse_heard()):
 * over the last kPulseWindowS of the causal envelope, its spread over its
 * mean squared (variance / mean^2, high where onsets stand out of a quiet
 * background) must reach kPulseSpread, and that times the comb peak of its
 * mean-removed autocorrelation (the lift: how much more often onsets come
 * one beat period apart than by chance) kPulseLift. Measured at every
 * causal tempo estimate (docs/beat-benchmark.md, fourteenth round): white,
 * pink and brown noise, noise at -45 dBFS, rain-like crackle, 60-1000 Hz
 * tones, a vibrato pad and the intros of the generated click tracks reach
 * at most 0.82 of the two thresholds together (rain: spread 5.19, lift 2.14;
 * the pad: spread 3.98, lift 2.69; tones: spread 3.0-3.3); the benchmark
 * songs reach at least 1.19 times them within 3 s of their start (lowest
 * flying_scotsman, stg0, chemistry_lab), clicks after an intro within
 * 2 s. One test alone has no margin (spread: rain 5.5, stg0 5.7; lift:
 * the pad 2.9, flying_scotsman 2.5). Once heard, the pulse is kept until
 * reset(): within songs both fall low for up to 24 s (hard-13's quiet
 * passage) while the beats there are right. */
constexpr double kPulseWindowS = 4.0;
constexpr double kPulseSpread = 5.0;
constexpr double kPulseLift = 2.6;
constexpr long kPulseStep = 4;
/* The input level. The band levels are compressed as
 * log1p(kBandKnee * g * a), a a band's amplitude and g the level gain
 * 10^((kLevelRefDb - r) / 20), where r (dBFS) is the kLevelPercentile of the
 * levels of the last kLevelRefS of hops, silent hops (under
 * config.silence_db) left out, counted in 0.5 dB bins from -120 to 0 dBFS.
 * So a song is compressed as if its louder hops sat at kLevelRefDb whatever
 * its level, and its beats do not depend on the level (a fixed
 * log1p(100 * a) worked on the log part of the curve for loud input and
 * on the linear part for quiet input: commercial masters at -8 to -14 dBFS
 * and the benchmark's renders at -22 to -51 dBFS were tracked differently).
 * A percentile of a minute of hops follows the music's own level, not a
 * short loud hit before a quiet intro (a 5 s running mean did, and gave a
 * vibrato pad after a hit a grid). Live, hops more than kQuietBelowRefDb
 * under r add nothing to the causal envelope (before any reference, those
 * under config.silence_db - 20). Measured with bench/beat/quick.py --gain
 * (docs/beat-benchmark.md, sixteenth round): offline scores equal within
 * 0.001 from -6 to +20 dB. At the 0.75 percentile, references of -20 to
 * -28 dBFS and windows of 30-600 s score within 0.003 of each other and
 * pass the no-pulse tests; -30 dBFS and lower, or the median, gave the
 * pulse-less intros of those tests beats. */
constexpr double kBandKnee = 100.0;
constexpr double kLevelRefDb = -25.0;
constexpr double kLevelRefS = 60.0;
constexpr double kLevelPercentile = 0.75;
constexpr double kQuietBelowRefDb = 50.0;
constexpr int kLevelBins = 240;
/* Viterbi cost of a tempo change, per octave of change. */
constexpr double kTempoChangeCost = 4.0;
/* Ellis 2007 transition tightness. NOTES.md: 400-1600 kept syncopated
 * passages on the beat where looser values let them slip to the off-beat.
 * The whole-song pass uses 800: at 400 a 16th-note anticipation that
 * outweighs the beat for a few bars could pull the path a quarter beat
 * early there, depending on where the song starts against the hop grid
 * (ttsong_iii moved by 10-41 ms, docs/beat-benchmark.md, twentieth round);
 * 800-1600 all keep it and score alike. The causal pass keeps 400, which
 * scored 0.004-0.012 higher in live F than 800 on the same songs. */
constexpr double kOfflineTightness = 800.0;
/* beat_path(): near a speed-up of the tempo path by less than this ratio, a
 * beat gap may follow the tempo on either side of it (a tempo change of up
 * to 1.4, 100 -> 140 BPM; 3:2 and octave swaps excluded). The three
 * constants were set on trial h114's songs (100 -> 140, 120 -> 160, 90 ->
 * 120) and the benchmark: with any change of 1.0-1.45, or of 1.15/1.25 and
 * up without kAltSteady, or kAltSteady held over 3 s, be_sharp_bw_redfarn
 * lost 0.003 F (a 1.27 jump of its path in its last 7 s, held 3 s); with
 * kAltReach at half a window (4 s), midnight_snow_run's downbeat F went
 * down by under 0.01. */
constexpr double kMaxAltRatio = 1.45;
/* ... and of at least this ratio: a change of the music's tempo, not the
 * path's wobble of a few grid steps (kBpmStep) on a steady song, whose
 * beats follow the path as they did. */
constexpr double kMinAltRatio = 1.15;
/* ... between two tempi that each hold, within this ratio, for half a
 * tempo window (kTempoWindowS / 2) on their side of the change: a lasting
 * change of the music's tempo. The path's brief jumps (the last seconds of
 * a song, where the windows run out) keep the beats they had. */
constexpr double kAltSteady = 1.02;
/* ... and only within this many tempo windows (kTempoWindowS) of the
 * change: 3 s, twice the 1.5 s early the path was seen to change. */
constexpr double kAltReach = 3.0 / 8.0;
constexpr double kLiveTightness = 400.0;
/* Hops from a start or reset whose window (two hops) or previous hop is
 * partly before the first sample (or, at a stream's start, before the
 * first sound: first_sound_hop()): their flux compares the sound with
 * silence. envelope() gives them no flux when the audio continues a stream,
 * and otherwise no more than the other hops' flux at kEdgeFluxPercentile
 * (edge_flux_cap()). */
constexpr long kEdgeHops = (long)(BeatTracker::kWindow / BeatTracker::kHop);
/* At a stream's start, the edge hops' flux is a note on the first sample or
 * a cut into the middle of the music (a song trimmed to an excerpt), and
 * the two cannot be told apart by it: against the 99th percentile of the
 * song's other hops it is 0.9-5.6 times on the benchmark songs' first
 * notes and 1.7-10.6 times on their excerpts (the whole mix against
 * silence). Uncapped, it could hold the whole-song path on its phase: cut
 * half a beat after a beat, hard-ttsong_iii scored F 0.000 and
 * mighty_giant_run 0.317. Capped at that percentile (the song's strongest
 * onsets), the 73 excerpts of bench/beat/quick.py --excerpts score 0.817
 * hard / 0.903 steady against 0.785 / 0.880, and the whole songs within
 * 0.001 of before. Lower caps (90th, 95th) left relax_song's quiet intro
 * without beats (docs/beat-benchmark.md, twenty-first round). */
constexpr double kEdgeFluxPercentile = 0.99;
/* The flux of a hop is centred on its window: a hop's time is its start plus
 * half a window, less this (measured on rendered MIDI, whose onsets come
 * 2-7 ms after the note times; see docs/beat-benchmark.md). */
constexpr double kFrameLagS = 0.016;
/* Beat-level check (beat_level()): below this onset ratio between the
 * beats' midpoints and the beats (over the whole song, then over kLevelSpan
 * beats either side), 3:2, 4:3, 3:4 and 2:3 alternatives are tried; an
 * alternative needs at least kAltMidpointRatio and kAltOnset of the onset
 * strength at its beats (a plain click track has nothing between its beats
 * either: its alternatives fall between clicks). Measured on the benchmark
 * songs: true beat levels 0.3-0.9 with eighth notes, dotted-rhythm levels
 * 0.01-0.04. */
constexpr double kMinMidpointRatio = 0.04;
/* Beat level, the other way: where the midpoints between the beats carry at
 * least this much of the beats' onset strength over the whole song, nothing
 * tells the beats from the midpoints (a metronome read at half its tempo
 * because the prior prefers the level nearer 120 BPM), and the tempo path is
 * doubled where that stays within the tempo range. Measured: equal clicks
 * at 175-190 BPM read at half tempo have 0.98-1.01; the benchmark songs at
 * their chosen level 0.01-0.87 (the highest, 0.87, a recorded song at its
 * right tempo). */
constexpr double kEvenMidpointRatio = 0.95;
/* Beat level, by threes: where the onsets a third and two thirds of the way
 * through the beat interval (the whole song's mean interval profile) both
 * carry at least this much of the beats' own onset, the beats are every
 * third pulse of an even pulse that nothing accents in threes, and the
 * grouping in twos (3:2) or fours (3:4) with the more song salience is taken
 * instead. Measured on the benchmark songs at their chosen level (the weaker
 * of the two thirds): recorded-stg0, read at 100 BPM where its even eighths
 * make the 150 BPM beat, 0.98; every other song at most 0.24 (slow_neasy's
 * swing; the rest 0.14 or less); clicks alternating loud and quiet at
 * 660/min read in sixes, 0.75 (docs/beat-benchmark.md, seventeenth round). */
constexpr double kEvenThirdRatio = 0.7;
constexpr double kAltMidpointRatio = 0.3;
constexpr std::size_t kLevelSpan = 8;
constexpr double kAltOnset = 0.8;
/* Swing (swing_bin()): beats either side whose intervals are averaged
 * (offline; live: the last 2 * kSwingSpan), positions per beat interval, the
 * early sub-beat onset's least share of the beat's onset and least strength
 * (standard deviations of the envelope), and the most the positions from the
 * midpoint on may carry relative to it. Measured on the benchmark's swing
 * songs: the early onset at 0.38-1.0 of the beat's where the path took the
 * off-beat, under 0.35 where a weak stretch of a straight song would pass.
 * The late positions may carry a triplet's third note: in
 * boogi_marabi_redfarn (10-30 s, on the off-beat) it carries 0.26-0.35 of
 * the early onset, which the limit of 0.3 turned away in part. Over the
 * benchmark, 0.35-0.5 gives the same or better F on every song (0.45:
 * boogi 0.793 to 0.909, slow_neasy 0.906 to 0.951 offline), 0.6 loses
 * downbeats and 0.8 beats (docs/beat-benchmark.md, ninth round). */
constexpr std::size_t kSwingSpan = 8;
constexpr int kSwingBins = 12;
constexpr double kSwingPeak = 0.3;
constexpr double kSwingLate = 0.45;
constexpr double kSwingMin = 1.0;
/* Without the whole-song pass, per-hop data is kept for the last
 * kLiveKeep..2 * kLiveKeep hops only (16-32 s): the causal tracker reads at
 * most 8.5 s back (the tempo window and its last step), and a beat is only
 * confirmed within a few periods of the newest hop. */
constexpr long kLiveKeep = (long)BeatTracker::kLiveKeepHops;
static_assert(kLiveKeep >= (long)(2 * kTempoWindowS * kFps), "keep two tempo windows");
/* Chroma, the harmonic downbeat cue (meter(), label_causal_meter()): the
 * analysis samples are averaged in fours (to 5512.5 Hz) and every
 * kChromaStep hops (46 ms) a kChromaWindow-point Hann-windowed FFT of the
 * last 93 ms (10.8 Hz bins: a semitone is at least one bin from kChromaLowHz
 * up) has its power from kChromaLowHz to kChromaHighHz summed into the 12
 * pitch classes (A = 440 Hz). The windows overlap by half, so every sample
 * counts the same (Hann windows at half overlap sum to a constant): without
 * the overlap a click track's chord change varied 4-8 times as much. 12
 * floats every 4 hops, 12 bytes a hop. A chord changes most often on a bar's
 * first beat; the 24 mel bands of the 512-point spectrum are too coarse to
 * see a change of chord at the same loudness.
 *
 * The average of four (a boxcar) is a weak anti-alias filter: what folds
 * into 180-2500 Hz comes from 3-5.3 kHz and 5.7-8 kHz, attenuated by 4.5 dB
 * at 3 kHz, 9 dB at 4 kHz and 13-21 dB above 5 kHz, on top of music being
 * weaker there; it adds some noise to the chroma. Averaging in pairs and a
 * 1024-point FFT gives the same downbeats on the benchmark and costs twice
 * as much (perf: the chroma took 6.6 % of the tracker's time with fours,
 * 14 % with pairs). */
constexpr guint kChromaDecimation = 4;
constexpr double kChromaRate = (double)BeatTracker::kAnalysisRate / kChromaDecimation;
constexpr int kChromaWindow = 512;
constexpr long kChromaStep = 4;
constexpr double kChromaLowHz = 180.0;
constexpr double kChromaHighHz = 2500.0;
constexpr int kPitchClasses = 12;
/* FFT bins read: those up to kChromaHighHz. */
constexpr int kChromaBins = (int)(kChromaHighHz * kChromaWindow / kChromaRate) + 1;
static_assert(kChromaStep * BeatTracker::kHop * 2 == kChromaWindow * kChromaDecimation,
              "chroma windows overlap by half");
static_assert(kChromaWindow == (int)BeatTracker::kWindow,
              "the chroma frames use the onset spectrum's transform and Hann window");
static_assert(BeatTracker::kHop % kChromaDecimation == 0 &&
                  kChromaWindow % (BeatTracker::kHop / kChromaDecimation) == 0,
              "chroma_hop() writes whole hops into its ring");
/* meter(): the chroma is noise, not harmony, and its chord change is no
 * downbeat cue, where the chroma band (kChromaLowHz-kChromaHighHz) sounds
 * like noise (its spectral flatness, the geometric over the arithmetic mean
 * of the bins' power, weighted by each frame's power over the song, is at
 * least kNoiseChromaFlatness; white noise has 0.56, one steady tone near 0)
 * and the chroma of each beat interval is nearly as unrelated to the one
 * before as two random chroma vectors are (the median chord change over the
 * beats, chord_distance(), 1 for unrelated vectors, is at least
 * kNoiseChromaChange). Measured (docs/beat-benchmark.md, thirty-seventh
 * round): flatness 0.004-0.123 on the benchmark's 19 MIDI songs, 0.185 and
 * 0.224 on its two recorded songs (median chord change 0.22 and 0.19);
 * 0.26-0.40 and 0.52-0.81 on synthetic songs whose chroma band holds only
 * drum hits (a kick and a bass note on beat 1, noise hits on the others:
 * there the chord change put the bar line a beat late in 3/4, a beat early
 * in 4/4, against a kick that marks beat 1 at 8.5 standard errors). */
constexpr double kNoiseChromaFlatness = 0.2;
/* chroma_hop(): the bins whose power ratios are multiplied before one
 * logarithm is taken for the flatness. */
constexpr int kFlatnessBlock = 16;
/* chroma_hop(): the flatness is measured on every this-many-th chroma frame
 * (186 ms apart), enough for a song's mean. */
constexpr long kFlatnessEvery = 4;
constexpr double kNoiseChromaChange = 0.5;
/* meter()'s tempo_steps(): a step of the beat period by this ratio (as
 * beat_path()'s speed-ups, 1.15 and more) between the medians of
 * kTempoStepSpan beat intervals either side starts a section of its own
 * bar phase, if it and the section before hold kMinTempoSection beats. */
constexpr double kTempoStepRatio = 1.15;
constexpr std::size_t kTempoStepSpan = 8;
constexpr std::size_t kMinTempoSection = 16;
/* meter()'s start_count(): the beat intervals whose median is the period
 * the first sound is counted back by, and the most periods it may be
 * before the first beat (a bar of 4). */
constexpr std::size_t kStartSpan = 8;
constexpr double kMaxStartBeats = 4.0;
/* start_count(): the first sound starts the music on a beat only within this
 * many periods of the grid (half a sixteenth: nearer the beat than any
 * sixteenth between); elsewhere it is a pickup or a cut inside the music. */
constexpr double kStartOnBeat = 0.125;
/* Bar-novelty window of a beat with no next beat yet (hops; meter()). */
constexpr long kLastBeatSpan = 40;

double parabolic_peak(double a, double b, double c)
{
  const double den = a - 2 * b + c;
  if (!(den < 0))
    return 0.0;
  return std::clamp(0.5 * (a - c) / den, -0.5, 0.5);
}

/* Whether a tempo ratio is 2, 3, 1/2 or 1/3 within kHarmonicTolerance (log). */
bool harmonic(double ratio)
{
  for (double k : {2.0, 3.0, 0.5, 1.0 / 3.0})
    if (std::fabs(std::log(ratio / k)) < kHarmonicTolerance)
      return true;
  return false;
}

/* Time (ns) of a fractional analysis frame. */
GstClockTime frame_to_ns(double frame)
{
  double s = (frame * BeatTracker::kHop + BeatTracker::kWindow / 2.0) / BeatTracker::kAnalysisRate -
             kFrameLagS;
  return s <= 0 ? 0 : (GstClockTime)std::llround(s * kNsPerSecond);
}

double ns_to_frame(GstClockTime t)
{
  return ((double)t / kNsPerSecond + kFrameLagS) * kFps - (double)BeatTracker::kWindow / 2.0 / BeatTracker::kHop;
}

/* Hop of the boundary before a beat at t (ns), for beat_energy; may be -1. */
double hop_before(GstClockTime t)
{
  return std::floor(ns_to_frame(t) + (double)BeatTracker::kWindow / BeatTracker::kHop - 1) - 1;
}

/* Hop whose onset a beat at t (ns) reads, for meter(); not clamped. */
long beat_hop(GstClockTime t)
{
  return (long)std::lround(ns_to_frame(t));
}

double mel(double hz)
{
  return 2595.0 * std::log10(1.0 + hz / 700.0);
}

/* The tempo candidates (BPM), ascending. */
const std::vector<double> &tempo_grid()
{
  static const std::vector<double> grid = [] {
    std::vector<double> g;
    for (double b = kMinBpm; b <= kMaxBpm * 1.0001; b *= kBpmStep)
      g.push_back(b);
    return g;
  }();
  return grid;
}

double prior(double bpm)
{
  const double o = std::log2(bpm / kPriorBpm) / kPriorOctaves;
  return std::exp(-0.5 * o * o);
}

/* prior() of each tempo_grid() tempo, computed once (tempo_salience() used
 * to call log2 and exp for every tempo of every window). */
const std::vector<double> &grid_prior()
{
  static const std::vector<double> table = [] {
    std::vector<double> t;
    for (double bpm : tempo_grid())
      t.push_back(prior(bpm));
    return t;
  }();
  return table;
}

/* Longest autocorrelation lag the comb reads: 4 periods of kMinBpm. */
constexpr long kMaxLag = (long)(60.0 / kMinBpm * kFps * 4) + 2;

/* Autocorrelation of a window [from, to) of an envelope that slides forward:
 * move_to() adds the products of the samples entering and subtracts those of
 * the samples leaving, so following a window that moves by s hops costs
 * O(s * kMaxLag) instead of O(window * kMaxLag) for each estimate. Sums are
 * kept in double, so adding and removing the same products leaves no
 * noticeable drift over a song. The envelope must not change where the
 * window has been; it may lose samples before the window (x then holds
 * samples [base, base + x.size())).
 *
 * Each lag's sum receives the entering samples' products in time order,
 * then the leaving samples', whatever the loop order: move_to() runs over
 * kLagBlock lags at a time, their sums held in registers through all the
 * samples of the move, from double copies of the samples read (the
 * entering ones' reversed, so both read upwards in lag). Same sums to the
 * bit as one pass over all lags per sample, which loaded and stored every
 * sum once per sample (perf: 45 % of the causal tracker's time, 88 % of
 * the whole-song tempo path's). */
class SlidingAutocorr {
public:
  SlidingAutocorr() : sum_((std::size_t)kMaxLag + 1, 0.0) {}

  /* Moves the window to [from, to); both bounds may only grow. x holds the
   * envelope from sample `base` on. */
  void move_to(const std::vector<float> &x, long from, long to, long base = 0)
  {
    from = std::max(0L, from);
    to = std::min(base + (long)x.size(), to);
    /* Samples [a0, a1) enter: sample i adds x[i] x[i - lag] for lag 0 to
     * min(kMaxLag, i - old_from); then samples [r0, r1) leave: sample i
     * subtracts x[i] x[i + lag] for lag 0 to min(kMaxLag, a1 - 1 - i). */
    const long old_from = from_;
    const long a0 = to_, a1 = std::max(to_, to);
    const long r0 = from_, r1 = std::max(from_, from);
    to_ = a1;
    from_ = r1;
    /* rev_[k] = x[a1 - 1 - k] for samples [add_lo, a1); fwd_[k] = x[r0 + k]
     * for samples [r0, rem_hi). */
    const long add_lo = std::max({base, a0 - kMaxLag, old_from});
    const long rem_hi = std::min(r1 + kMaxLag, a1);
    rev_.resize((std::size_t)std::max(0L, a1 - add_lo));
    for (long k = 0; k < a1 - add_lo; k++)
      rev_[(std::size_t)k] = x[(std::size_t)(a1 - 1 - k - base)];
    fwd_.resize((std::size_t)std::max(0L, rem_hi - r0));
    for (long k = 0; k < rem_hi - r0; k++)
      fwd_[(std::size_t)k] = x[(std::size_t)(r0 + k - base)];
    if (a1 > a0 && a1 - 1 >= old_from)
      for (long lag = 0; lag <= kMaxLag; lag += kLagBlock)
        add_block(lag, a0, a1, old_from);
    if (rem_hi > r0)
      for (long lag = 0; lag <= kMaxLag; lag += kLagBlock)
        remove_block(lag, r0, r1, a1);
  }

  void clear()
  {
    std::fill(sum_.begin(), sum_.end(), 0.0);
    from_ = to_ = 0;
  }

  long size() const { return to_ - from_; }
  /* Sum of x[i] * x[i - lag] over the window. */
  double sum(long lag) const { return sum_[(std::size_t)lag]; }

private:
  static constexpr long kLagBlock = 16;

  /* out[j] += SIGN * xs[k * step] * qs[k * step + j] for j < kLagBlock, k
   * from 0 to n - 1 in order, the kLagBlock sums held in registers (pairs of
   * doubles where the compiler has vector types: the same IEEE products and
   * sums, two at a time). */
  template <int SIGN>
  static void block_products(double *out, const double *xs, const double *qs, long step, long n)
  {
#if defined(__GNUC__)
    typedef double Pair __attribute__((vector_size(2 * sizeof(double))));
    static_assert(kLagBlock == 16, "eight pairs");
    auto load = [](const double *p) {
      Pair v;
      std::memcpy(&v, p, sizeof(v));
      return v;
    };
    Pair s0 = load(out), s1 = load(out + 2), s2 = load(out + 4), s3 = load(out + 6),
         s4 = load(out + 8), s5 = load(out + 10), s6 = load(out + 12), s7 = load(out + 14);
    /* Indexed, not stepped: with step -1 a stepped pointer would end one
     * element before the array, which C++ leaves undefined. */
    for (long k = 0; k < n; k++) {
      const double *q = qs + k * step;
      const Pair x = {xs[k * step], xs[k * step]};
      if (SIGN > 0) {
        s0 += x * load(q);
        s1 += x * load(q + 2);
        s2 += x * load(q + 4);
        s3 += x * load(q + 6);
        s4 += x * load(q + 8);
        s5 += x * load(q + 10);
        s6 += x * load(q + 12);
        s7 += x * load(q + 14);
      } else {
        s0 -= x * load(q);
        s1 -= x * load(q + 2);
        s2 -= x * load(q + 4);
        s3 -= x * load(q + 6);
        s4 -= x * load(q + 8);
        s5 -= x * load(q + 10);
        s6 -= x * load(q + 12);
        s7 -= x * load(q + 14);
      }
    }
    const Pair all[] = {s0, s1, s2, s3, s4, s5, s6, s7};
    std::memcpy(out, all, sizeof(all));
#else
    double acc[kLagBlock];
    std::copy(out, out + kLagBlock, acc);
    for (long k = 0; k < n; k++)
      for (long j = 0; j < kLagBlock; j++) {
        if (SIGN > 0)
          acc[j] += xs[k * step] * qs[k * step + j];
        else
          acc[j] -= xs[k * step] * qs[k * step + j];
      }
    std::copy(acc, acc + kLagBlock, out);
#endif
  }

  /* Lags [lag, lag + kLagBlock) (those up to kMaxLag) of the entering samples
   * [a0, a1) (rev_ from move_to()); old_from: the window's start before the
   * move. The samples that reach only some of the block's lags (the first
   * after old_from) come first and go straight into sum_; the rest, the
   * whole block, through registers. */
  void add_block(long lag, long a0, long a1, long old_from)
  {
    long i = std::max(a0, old_from + lag);
    const long whole = lag + kLagBlock - 1 <= kMaxLag ? old_from + lag + kLagBlock - 1 : a1;
    for (; i < std::min(a1, whole); i++) {
      const long top = std::min(kMaxLag, i - old_from); /* last lag */
      const double xi = rev_[(std::size_t)(a1 - 1 - i)];
      const double *q = rev_.data() + (a1 - 1 - i);
      for (long l = lag; l <= std::min(top, lag + kLagBlock - 1); l++)
        sum_[(std::size_t)l] += xi * q[l];
    }
    if (i >= a1)
      return;
    /* rev_ backwards from sample i: x[i], then x[i - lag - j] at j. */
    block_products<1>(sum_.data() + lag, rev_.data() + (a1 - 1 - i),
                      rev_.data() + (a1 - 1 - i) + lag, -1, a1 - i);
  }

  /* The same for the leaving samples [r0, r1) (fwd_), a1 the window's new
   * end: those that reach the whole block come first, through registers,
   * then those that reach only some of its lags. */
  void remove_block(long lag, long r0, long r1, long a1)
  {
    long i = r0;
    if (lag + kLagBlock - 1 <= kMaxLag) {
      const long whole =
          std::min(r1, a1 - lag - kLagBlock + 1); /* i < whole reach lag + kLagBlock - 1 */
      if (i < whole) {
        block_products<-1>(sum_.data() + lag, fwd_.data() + (i - r0), fwd_.data() + (i - r0) + lag,
                           1, whole - i);
        i = whole;
      }
    }
    for (; i < r1; i++) {
      const long top = std::min(kMaxLag, a1 - 1 - i); /* last lag */
      if (top < lag)
        break;
      const double xi = fwd_[(std::size_t)(i - r0)];
      const double *q = fwd_.data() + (i - r0);
      for (long l = lag; l <= std::min(top, lag + kLagBlock - 1); l++)
        sum_[(std::size_t)l] -= xi * q[l];
    }
  }

  std::vector<double> sum_;
  std::vector<double> rev_, fwd_; /* move_to()'s double copies */
  long from_ = 0, to_ = 0;
};

/* The comb at one tempo: the mean of peak(c) over c = 1-4 times `period`
 * (hops), up to the first multiple peak() cannot reach (it returns nothing
 * there). 0 with no multiple. Shared by the tempo salience and the live
 * pulse test, which look the autocorrelation up each their own way. */
template <typename Peak> double comb_mean(double period, Peak peak)
{
  double sum = 0;
  int m = 0;
  for (int mult = 1; mult <= 4; mult++) {
    const std::optional<double> v = peak(period * mult);
    if (!v)
      break;
    sum += *v;
    m++;
  }
  return m ? sum / m : 0.0;
}

/* Comb tempo salience of the window `ac` holds: for each tempo of
 * tempo_grid(), the mean autocorrelation (normalised by lag 0) at 1-4 times
 * its period, times the tempo prior. Empty (all zero) when the window carries
 * no onsets or is shorter than 32 hops. */
std::vector<double> tempo_salience(const SlidingAutocorr &sliding)
{
  const std::vector<double> &grid = tempo_grid();
  std::vector<double> out(grid.size(), 0.0);
  const long n = sliding.size();
  const long max_lag = std::min(n * 3 / 4, kMaxLag);
  if (n < 32 || max_lag < 8)
    return out;
  std::vector<double> ac((std::size_t)max_lag + 1, 0.0);
  for (long lag = 0; lag <= max_lag; lag++)
    ac[(std::size_t)lag] = sliding.sum(lag) / (double)(n - lag);
  /* The envelopes have unit scale where there are onsets; what removing a
   * window's products leaves over silence is rounding error, not a pulse. */
  if (ac[0] <= 1e-6)
    return out;
  auto at = [&](double lag) {
    long i = (long)lag;
    if (i + 1 > max_lag)
      return -1.0;
    double f = lag - (double)i;
    return (ac[(std::size_t)i] * (1 - f) + ac[(std::size_t)i + 1] * f) / ac[0];
  };
  /* The peak within +-1 frame: periods are fractional. */
  auto peak = [&](double c) -> std::optional<double> {
    const double v = std::max({at(c - 1), at(c), at(c + 1)});
    return v < -0.5 ? std::nullopt : std::optional<double>(v);
  };
  for (std::size_t k = 0; k < grid.size(); k++)
    out[k] = std::max(0.0, comb_mean(60.0 / grid[k] * kFps, peak)) * grid_prior()[k];
  return out;
}

/* Peak over mean of a salience vector, 0..1. */
double clarity(const std::vector<double> &s)
{
  double mx = 0, mean = 0;
  for (double v : s) {
    mx = std::max(mx, v);
    mean += v;
  }
  mean /= (double)std::max<std::size_t>(1, s.size());
  return mx > 0 ? std::clamp((mx - mean) / mx, 0.0, 1.0) : 0.0;
}

/* Ellis 2007 transition cost, tightness * log(gap / period)^2, for every
 * whole-hop gap from 0.6 to 1.4 periods; recomputed only when the period
 * changes (the tempo changes rarely, the gap every hop). */
class TransitionCost {
public:
  explicit TransitionCost(double tightness) : tightness_(tightness) {}
  /* Makes the table for `period` (hops) unless it is already for it. */
  void set_period(double period)
  {
    if (period == period_)
      return;
    period_ = period;
    min_gap_ = (long)std::lround(0.6 * period);
    max_gap_ = (long)std::lround(1.4 * period);
    cost_.resize((std::size_t)std::max(0L, max_gap_ - min_gap_ + 1));
    for (long g = min_gap_; g <= max_gap_; g++) {
      const double l = std::log((double)g / period);
      cost_[(std::size_t)(g - min_gap_)] = tightness_ * l * l;
    }
  }
  long min_gap() const { return min_gap_; }
  long max_gap() const { return max_gap_; }
  /* Cost of a gap of g hops, min_gap() <= g <= max_gap(). */
  double operator()(long g) const { return cost_[(std::size_t)(g - min_gap_)]; }

private:
  double tightness_;
  double period_ = -1;
  long min_gap_ = 0, max_gap_ = -1;
  std::vector<double> cost_;
};

/* Power spectrum of a real kWindow-point frame, |X[k]|^2 for k = 0..kWindow/2
 * with X[k] = sum_n x[n] exp(-2 pi i k n / kWindow) (unnormalised), by FFTW's
 * real-input transform (fftwf_plan_dft_r2c_1d). FFTW_ESTIMATE is the plan
 * aubio 0.4.9 makes for the same size: chosen without timing anything, so the
 * same on every run and machine (a measured plan may differ between runs, and
 * with it the last bits of the spectrum, the beats and the analysis cache).
 * FFTW's planner is not thread-safe (its manual, "Thread safety"): plans are
 * made and destroyed under one process-wide mutex; fftwf_execute() on one
 * tracker's own plan and arrays needs none. Calling FFTW directly instead of
 * through aubio_fft_do_complex() skips aubio's copy into its complex layout
 * (docs/beat-benchmark.md, fourth round). */
class PowerSpectrum {
public:
  static constexpr int kN = (int)BeatTracker::kWindow;

  PowerSpectrum() : in_(fftwf_alloc_real(kN)), out_(fftwf_alloc_complex(kN / 2 + 1))
  {
    if (!in_ || !out_)
      return;
    std::lock_guard<std::mutex> lock(planner_mutex());
    plan_ = fftwf_plan_dft_r2c_1d(kN, in_, out_, FFTW_ESTIMATE);
  }
  ~PowerSpectrum()
  {
    if (plan_) {
      std::lock_guard<std::mutex> lock(planner_mutex());
      fftwf_destroy_plan(plan_);
    }
    fftwf_free(in_);
    fftwf_free(out_);
  }
  PowerSpectrum(const PowerSpectrum &) = delete;
  PowerSpectrum &operator=(const PowerSpectrum &) = delete;

  /* False when FFTW could not allocate its arrays or plan. */
  bool ok() const { return plan_ != nullptr; }

  /* ring: kN samples, oldest first from ring_pos (wrapping around);
   * window: kN weights applied on the way in; power: the first BINS of the
   * kN / 2 + 1 bins out (all by default). Only after ok(). */
  template <int BINS = kN / 2 + 1>
  void compute(const float *ring, std::size_t ring_pos, const float *window, float *power)
  {
    static_assert(BINS >= 0 && BINS <= kN / 2 + 1, "at most kN / 2 + 1 bins");
    const std::size_t first = (std::size_t)kN - ring_pos;
    for (std::size_t i = 0; i < first; i++)
      in_[i] = ring[ring_pos + i] * window[i];
    for (std::size_t i = first; i < (std::size_t)kN; i++)
      in_[i] = ring[i - first] * window[i];
    fftwf_execute(plan_);
    for (int k = 0; k < BINS; k++)
      power[k] = (float)((double)out_[k][0] * out_[k][0] + (double)out_[k][1] * out_[k][1]);
  }

private:
  static std::mutex &planner_mutex()
  {
    static std::mutex m;
    return m;
  }

  float *in_;
  fftwf_complex *out_;
  fftwf_plan plan_ = nullptr;
};

/* A mean square of samples as a level in dBFS; -400 for digital silence. */
double mean_square_db(double ms)
{
  return ms > 0 ? 10.0 * std::log10(ms) : -400.0;
}

} // namespace

/* Four partial sums: the compiler keeps them in registers; the order is
 * fixed, so a hop's sum is the same wherever it is taken. */
double sum_squares(const float *x, std::size_t n)
{
  double part[4] = {0, 0, 0, 0};
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4)
    for (std::size_t k = 0; k < 4; k++)
      part[k] += (double)x[i + k] * x[i + k];
  for (; i < n; i++)
    part[0] += (double)x[i] * x[i];
  return (part[0] + part[1]) + (part[2] + part[3]);
}

guint64 energy_interval_edge(guint64 k, guint rate, GstClockTime interval)
{
  return gst_util_uint64_scale_round(k * rate, interval, GST_SECOND);
}

double energy_from_db(double db, double silence_db)
{
  if (silence_db >= 0)
    return db >= 0 ? 1.0 : 0.0;
  return std::clamp((db - silence_db) / -silence_db, 0.0, 1.0);
}

/* ---- live energy level ------------------------------------------------------------ */

LiveEnergyLevel::LiveEnergyLevel(GstClockTime interval)
{
  const double per_second = interval > 0 ? (double)GST_SECOND / (double)interval : 10.0;
  window_ = std::max<std::size_t>(1, (std::size_t)std::lround(2.0 * per_second));
  warm_ = std::max<std::size_t>(1, (std::size_t)std::lround(4.0 * per_second));
  reset();
}

void LiveEnergyLevel::reset()
{
  recent_.clear();
  entered_.clear();
  no_music_.clear();
  next_ = 0;
  recent_sum_ = 0;
  recent_music_ = 0;
  silent_run_ = 0;
  counts_.assign(kBins + 1, 0);
  seen_ = 0;
  music_pushed_ = 0;
  smoothed_ = 0;
}

void LiveEnergyLevel::push(double energy)
{
  energy = std::clamp(energy, 0.0, 1.0);
  silent_run_ = energy <= kSilentEnergy ? silent_run_ + 1 : 0;
  const bool no_music = silent_run_ >= window_;
  const bool full = recent_.size() == window_;
  if (silent_run_ == window_) {
    /* The silent run has lasted 2 s: it is no music from its first
     * interval on. Its earlier intervals (the whole ring but the oldest
     * value, which this push drops) leave the smoothing, and the means
     * they entered in the range leave it (the sections leave such a
     * stretch out of both, and so of the music's range). */
    for (std::size_t i = 0; i < recent_.size(); i++) {
      if ((full && i == next_) || no_music_[i])
        continue;
      no_music_[i] = 1;
      recent_sum_ -= recent_[i];
      recent_music_--;
      music_pushed_--;
      if (entered_[i] >= 0) {
        counts_[(std::size_t)entered_[i]]--;
        seen_--;
        entered_[i] = -1;
      }
    }
  }
  std::size_t at = next_;
  if (!full) {
    at = recent_.size();
    recent_.push_back(0);
    entered_.push_back(-1);
    no_music_.push_back(1);
  } else {
    if (!no_music_[at]) {
      recent_sum_ -= recent_[at];
      recent_music_--;
    }
    next_ = (next_ + 1) % window_;
  }
  recent_[at] = energy;
  entered_[at] = -1;
  no_music_[at] = (char)no_music;
  if (!no_music) {
    recent_sum_ += energy;
    recent_music_++;
    music_pushed_++;
  }
  if (recent_music_ == 0)
    recent_sum_ = 0; /* no rounding left over after a silence */
  /* Summed again from the ring now and then would be exact; the running sum
   * drifts by rounding only (1e-16 a value), far under a bin. */
  smoothed_ = recent_music_ > 0 ? std::clamp(recent_sum_ / (double)recent_music_, 0.0, 1.0) : 0.0;
  /* Means over fewer than 2 s of music (the first 2 s, the first 2 s after
   * a silence) are not the song's: a beat's interval in or out of a short
   * window swings them (on clicks every 0.5 s: 0 to 0.2 in the first
   * second, 0.16 after) and would widen the range a steady song then sits
   * at the top of. */
  if (recent_music_ < window_)
    return;
  const int bin = (int)std::lround(smoothed_ * kBins);
  counts_[(std::size_t)bin]++;
  seen_++;
  entered_[at] = bin;
}

double LiveEnergyLevel::level() const
{
  /* The last 2 s silent: no music, low (as the sections have it). */
  if (silent_run_ >= window_)
    return 0.0;
  if (music_pushed_ < warm_ || seen_ == 0)
    return 0.5;
  /* The bins holding the 10th, 50th and 90th percentiles, as the sections
   * index their sorted curve (m / 10, (m - 1) / 2, m * 9 / 10). */
  auto percentile = [&](guint64 rank) {
    guint64 below = 0;
    for (int b = 0; b <= kBins; b++) {
      below += counts_[(std::size_t)b];
      if (below > rank)
        return (double)b / kBins;
    }
    return 1.0;
  };
  const double p10 = percentile(seen_ / 10), p90 = percentile(std::min(seen_ - 1, seen_ * 9 / 10));
  /* No contrast, the moment included: the flat song's level. A moment out
   * of a flat song's band (a loud part after a long quiet one, before it
   * holds a tenth of what was heard) is past its end. */
  if (std::max(p90, smoothed_) - std::min(p10, smoothed_) < 0.05)
    return percentile((seen_ - 1) / 2) < 1.0 / 3 ? 0.0 : 0.5;
  if (smoothed_ >= p90)
    return 1.0;
  if (smoothed_ <= p10)
    return 0.0;
  return std::clamp((smoothed_ - p10) / (p90 - p10), 0.0, 1.0);
}

/* ---- tempo from a beat sequence ------------------------------------------------ */

double bpm_from_beats(const std::vector<GstClockTime> &beats)
{
  if (beats.size() < 2)
    return 0.0;
  std::vector<double> ibi;
  ibi.reserve(beats.size() - 1);
  for (std::size_t i = 1; i < beats.size(); i++)
    ibi.push_back((double)(beats[i] - beats[i - 1]) / kNsPerSecond);
  std::vector<double> sorted = ibi;
  std::nth_element(sorted.begin(), sorted.begin() + (long)sorted.size() / 2, sorted.end());
  const double median = sorted[sorted.size() / 2];
  if (median <= 0)
    return 0.0;
  /* Each interval counts round(interval / median) periods (a missed beat
   * makes one interval of two); only intervals whose per-period length is
   * within kDominantTempoBand of the median count, so the sections at
   * another tempo do not pull the result towards an average no part of the
   * song has. The period is then the least-squares fit over those
   * intervals: the sum of their lengths over the sum of their periods. */
  double time = 0, periods = 0;
  for (double d : ibi) {
    const double steps = std::max(1.0, std::round(d / median));
    if (std::abs(d / steps / median - 1.0) > kDominantTempoBand)
      continue;
    time += d;
    periods += steps;
  }
  if (periods <= 0 || time <= 0)
    return 0.0;
  return 60.0 * periods / time;
}

/* ---- a tempo range against the music's tempo ------------------------------------- */

namespace
{
/* Share of the beats of `a` within `tol` of a beat of `b`, both ascending,
 * over those of `a` within [from, to]; -1 with fewer than
 * TempoRangeCheck::kMinBeats there. */
double share_on(const std::vector<GstClockTime> &a, const std::vector<GstClockTime> &b,
                GstClockTime from, GstClockTime to, GstClockTime tol)
{
  std::size_t counted = 0, on = 0, j = 0;
  for (GstClockTime t : a) {
    if (t < from || t > to)
      continue;
    counted++;
    while (j < b.size() && b[j] + tol < t)
      j++;
    if (j < b.size() && b[j] <= t + tol)
      on++;
  }
  return counted >= TempoRangeCheck::kMinBeats ? (double)on / (double)counted : -1.0;
}
} // namespace

TempoRangeCheck check_tempo_range(const std::vector<GstClockTime> &range_beats,
                                  const std::vector<GstClockTime> &whole_beats, double min_bpm,
                                  double max_bpm)
{
  TempoRangeCheck out;
  if (range_beats.empty() || whole_beats.empty())
    return out;
  out.music_bpm = bpm_from_beats(whole_beats);
  out.range_bpm = bpm_from_beats(range_beats);
  if (out.music_bpm <= 0 || (out.music_bpm >= min_bpm && out.music_bpm <= max_bpm))
    return out;
  /* Tolerance: a sixth of the music's beat period either side (unrelated
   * grids then agree a third of the time by chance), at most the 70 ms of
   * the beat benchmarks' F-measure. */
  const GstClockTime tol = std::min<GstClockTime>(
      70 * GST_MSECOND, (GstClockTime)(60.0 / out.music_bpm / 6 * GST_SECOND));
  /* Over the stretch both cover: the whole range's beats are taken before
   * the lead-in and tail rules, so they may run further. */
  const GstClockTime first = std::max(range_beats.front(), whole_beats.front());
  const GstClockTime from = first > tol ? first - tol : 0;
  const GstClockTime to = std::min(range_beats.back(), whole_beats.back()) + tol;
  const double on_music = share_on(range_beats, whole_beats, from, to, tol);
  const double held = share_on(whole_beats, range_beats, from, to, tol);
  if (on_music < 0 || held < 0)
    return out;
  out.agreement = std::max(on_music, held);
  out.outside = out.agreement < TempoRangeCheck::kAgreement;
  return out;
}

/* ---- state ----------------------------------------------------------------------- */

struct BeatTracker::Impl {
  guint rate;
  BeatTrackerConfig config;

  PowerSpectrum fft;
  std::vector<float> hann;
  /* Chroma: the last kChromaWindow samples at kChromaRate (transformed
   * with fft and hann, the same size), and the pitch class of each FFT bin
   * up to kChromaHighHz (-1 under kChromaLowHz). */
  std::vector<float> chroma_power, chroma_ring;
  std::vector<int> chroma_class;
  std::vector<float> power; /* kWindow / 2 + 1 bins of the current hop */
  std::vector<int> band_edges; /* kBands + 1 FFT bin edges */
  int bass_bands = 0;

  /* Linear resampler to kAnalysisRate. */
  guint64 n_in = 0, n_out = 0;
  float prev = 0.f;
  float box_sum = 0.f; /* whole-multiple rates: the box being summed */
  guint box_n = 0;
  std::vector<float> ring; /* the last kWindow analysis samples */
  std::vector<float> block; /* push()'s samples at the analysis rate */
  guint fill = 0;          /* analysis samples since the last hop */
  guint64 total = 0;       /* analysis samples */
  bool continues = false;  /* set_continues_stream() */

  /* Per hop, for hops [base, n_hops) (global hop indices count from the last
   * reset): every hop with config.whole_song, else the last kLiveKeep to
   * 2 * kLiveKeep (trim()). */
  long n_hops = 0;
  long base = 0;
  std::vector<float> flux;       /* raw log-band spectral flux */
  std::vector<float> bass;       /* flux over the bass bands */
  std::vector<float> bands;      /* kBands log band levels per hop */
  std::vector<float> prev_bands; /* previous hop's band amplitudes (not compressed) */
  std::vector<float> prev_levels; /* the same compressed with prev_gain */
  double prev_gain = 0;
  /* Level reference (kLevelRefS): the last hops' level bins (-1: silent),
   * oldest first from level_pos, and how many hops fall in each bin. */
  std::vector<int> level_ring;
  std::size_t level_pos = 0;
  std::vector<int> level_hist;
  long level_count = 0;          /* non-silent hops in level_ring */
  double level_ref_db = -400.0;  /* the reference, dBFS (-400: none yet) */
  double level_ref_gain = 0;     /* level_gain() for level_ref_db; 0: not yet computed */
  int level_bin = 0;             /* the reference's bin, where level_gain() last found it */
  long level_below = 0;          /* hops in level_hist's bins under level_bin */
  double newest_db = -400.0;     /* hop_db() of the newest hop (level_gain()) */
  std::vector<double> hop_sumsq; /* sum of squares of the hop's analysis samples */
  /* kPitchClasses power sums per chroma frame, for frames [chroma_first, ...)
   * (global frame indices); frame j is computed after hop
   * (j + 1) * kChromaStep - 1 over the kChromaWindow chroma samples before
   * the end of that hop. Trimmed with the hops (trim()). */
  std::vector<float> chroma;
  long chroma_first = 0;
  /* Over every chroma frame since the reset: the chroma band's power (the
   * mean over its bins) and that times its spectral flatness
   * (chroma_noise()). */
  double chroma_band_power = 0;
  double chroma_flat_power = 0;
  double sumsq_total = 0;        /* hop_sumsq summed over every hop */

  /* Energy curve, measured on the samples pushed (input rate, before the
   * resampler's low-pass): mean square of every completed
   * config.energy_interval (interval k covers input samples
   * [energy_edge(k), energy_edge(k + 1))), and the sum of squares of the
   * current one. */
  std::vector<double> energy_ms;
  double energy_sum = 0;
  guint64 energy_end = 0; /* energy_edge(energy_ms.size() + 1) */

  /* Causal tracker (per hop, same window as above). */
  std::vector<float> ce;      /* causal envelope: flux less its trailing mean, rectified, scaled */
  std::vector<double> cscore; /* forward DP score */
  std::vector<long> cback;    /* best predecessor, -1 = chain start */
  double flux_run = 0;        /* running sum for the trailing mean */
  double var_ema = 0;         /* running mean square of the high-passed flux */
  /* The high-passed flux (ce before its scaling), and its mean square with
   * the same 8 s time constant as var_ema but from nothing: var_sum over
   * var_weight weighs the hops since the first one not gated as quiet and
   * no others, where var_ema starts at the first onset's square and takes
   * 8-20 s to forget it. A beat's strength is its hop's flux over the root
   * of that (Beat::strength). */
  std::vector<float> cflux;
  double var_sum = 0, var_weight = 0;
  double live_bpm = 0;        /* current causal tempo, 0 = not yet */
  double live_clarity = 0;
  bool live_pulse = false;    /* a pulse has been heard (pulse_heard()) */
  long live_floor = -1;       /* path hops up to this one are never returned:
                                 they were ready a beat period before the pulse
                                 was heard (the first click after silence is) */
  long next_tempo = 0;        /* hop at which the tempo is next re-estimated */
  SlidingAutocorr live_ac;    /* autocorrelation of the causal tempo window */
  TransitionCost live_cost{kLiveTightness}; /* transition costs at live_bpm */
  guint live_per_bar = 0;     /* meter of the causal beats, 0 = unknown */
  Beat last_beat;             /* the newest beat returned */
  int live_level_run = 0;     /* consecutive tempo estimates live_level() said to regroup */
  std::vector<double> live_evidence;  /* per tempo_grid() tempo: the decayed sum of
                                         log(salience / peak) of the tempo estimates */
  double live_estimates = 0;          /* the same decayed count of estimates */
  std::vector<double> live_regrouped; /* tempi (BPM) the beats were regrouped from */
  std::vector<double> live_hold;      /* hold_weights() for live_hold_bpm */
  double live_hold_bpm = 0;           /* 0: live_hold not computed */
  double live_left_bpm = 0;           /* the tempo before the last change of live_bpm, 0 = none */
  long live_left_at = -1;             /* hop of that change */
  long live_raw = -1;         /* path hop of the newest beat returned, before
                                 live_swing(); -1 = none yet */

  /* What finish() and the meter need of each causal beat returned so far;
   * nothing per hop, so it stays small (48 bytes a beat) on a live stream. */
  struct Cue {
    GstClockTime time;
    double confidence;
    double bass;        /* bass flux, maximum over the beat's hop +-2 (meter()) */
    double novelty;     /* change of the mean band levels from the previous
                           beat interval (meter()); set once the next beat comes */
    double chord;       /* chord change from the previous beat interval
                           (chord_distance()); set once the next beat comes */
    double sumsq_before; /* hop_sumsq summed over the hops before hop_before(time) */
    double sumsq_hop;    /* hop_sumsq of that hop (0 past the audio) */
  };
  std::vector<Cue> cues;
  /* Band levels summed from the newest beat's hop (beat_hop()) to the
   * newest hop, over at most its first kLastBeatSpan hops, and the mean band
   * levels of the interval before it. */
  std::array<double, kBands> open_sum{}, open_first{}, prev_mean{};
  /* The chroma feature (interval_chroma()) of the interval before the
   * newest beat's, if it had one. */
  std::array<double, kPitchClasses> prev_chroma{};
  bool prev_chroma_valid = false;
  long open_count = 0;

  Impl(guint r, const BeatTrackerConfig &c) : rate(r), config(c) { energy_end = energy_edge(1); }
  void alloc()
  {
    hann.resize(kWindow);
    power.assign(kWindow / 2 + 1, 0.f);
    for (guint i = 0; i < kWindow; i++)
      hann[i] = (float)(0.5 - 0.5 * std::cos(2 * M_PI * i / kWindow));
    /* Mel-spaced band edges from 30 Hz to 11 kHz, at least one bin each. */
    const double bin_hz = (double)kAnalysisRate / kWindow;
    band_edges.clear();
    const double m0 = mel(30.0), m1 = mel(kAnalysisRate / 2.0);
    int last = 0;
    for (int b = 0; b <= kBands; b++) {
      double hz = 700.0 * (std::pow(10.0, (m0 + (m1 - m0) * b / kBands) / 2595.0) - 1.0);
      int bin = std::max(last + (b ? 1 : 0), (int)std::lround(hz / bin_hz));
      band_edges.push_back(bin);
      last = bin;
    }
    band_edges.back() = std::min(band_edges.back(), (int)kWindow / 2 + 1);
    bass_bands = 0;
    while (bass_bands < kBands && band_edges[bass_bands + 1] * bin_hz <= kBassHz + bin_hz)
      bass_bands++;
    bass_bands = std::max(bass_bands, 1);
    ring.assign(kWindow, 0.f);
    prev_bands.assign(kBands, 0.f);
    prev_levels.assign(kBands, 0.f);
    level_ring.assign((std::size_t)std::lround(kLevelRefS * kFps), -1);
    level_hist.assign(kLevelBins, 0);
    chroma_power.assign(kChromaBins, 0.f);
    chroma_ring.assign(kChromaWindow, 0.f);
    chroma_class.assign(kChromaBins, -1);
    for (int k = 1; k < kChromaBins; k++) {
      const double hz = (double)k * kChromaRate / kChromaWindow;
      if (hz >= kChromaLowHz && hz <= kChromaHighHz) {
        const long semitone = std::lround(12.0 * std::log2(hz / 440.0)); /* from A4 */
        chroma_class[(std::size_t)k] = (int)((semitone % kPitchClasses + kPitchClasses) % kPitchClasses);
      }
    }
  }

  void clear()
  {
    n_in = n_out = 0;
    prev = 0.f;
    box_sum = 0.f;
    box_n = 0;
    std::fill(ring.begin(), ring.end(), 0.f);
    fill = 0;
    total = 0;
    n_hops = base = 0;
    continues = false;
    flux.clear();
    bass.clear();
    bands.clear();
    std::fill(prev_bands.begin(), prev_bands.end(), 0.f);
    std::fill(prev_levels.begin(), prev_levels.end(), 0.f);
    prev_gain = 0;
    std::fill(level_ring.begin(), level_ring.end(), -1);
    std::fill(level_hist.begin(), level_hist.end(), 0);
    level_pos = 0;
    level_count = 0;
    level_ref_db = -400.0;
    level_ref_gain = 0;
    level_bin = 0;
    level_below = 0;
    newest_db = -400.0;
    chroma.clear();
    chroma_first = 0;
    chroma_band_power = 0;
    chroma_flat_power = 0;
    std::fill(chroma_ring.begin(), chroma_ring.end(), 0.f);
    hop_sumsq.clear();
    sumsq_total = 0;
    energy_ms.clear();
    energy_sum = 0;
    energy_end = energy_edge(1);
    ce.clear();
    cscore.clear();
    cback.clear();
    flux_run = var_ema = 0;
    cflux.clear();
    var_sum = var_weight = 0;
    live_bpm = live_clarity = 0;
    live_evidence.clear();
    live_estimates = 0;
    live_pulse = false;
    live_floor = -1;
    next_tempo = 0;
    live_ac.clear();
    live_per_bar = 0;
    last_beat = Beat();
    live_raw = -1;
    live_level_run = 0;
    live_regrouped.clear();
    live_hold.clear();
    live_hold_bpm = 0;
    live_left_bpm = 0;
    live_left_at = -1;
    cues.clear();
    open_sum.fill(0.0);
    open_first.fill(0.0);
    prev_mean.fill(0.0);
    prev_chroma.fill(0.0);
    prev_chroma_valid = false;
    open_count = 0;
  }

  /* Per-hop values by global hop index (base <= h < hops). */
  float flux_at(long h) const { return flux[(std::size_t)(h - base)]; }
  float bass_at(long h) const { return bass[(std::size_t)(h - base)]; }
  float band_at(long h, int b) const { return bands[(std::size_t)(h - base) * kBands + (std::size_t)b]; }
  double sumsq_at(long h) const { return hop_sumsq[(std::size_t)(h - base)]; }
  float ce_at(long h) const { return ce[(std::size_t)(h - base)]; }
  double cscore_at(long h) const { return cscore[(std::size_t)(h - base)]; }

  /* First input sample of energy interval k: k * energy_interval to the
   * nearest sample (no drift at rates where an interval is not a whole
   * number of samples). */
  guint64 energy_edge(guint64 k) const
  {
    return energy_interval_edge(k, rate, config.energy_interval);
  }

  /* Adds the n input samples from x (the first is input sample n_in) to the
   * energy curve. */
  void measure_energy(const float *x, std::size_t n)
  {
    guint64 at = n_in;
    std::size_t i = 0;
    while (i < n) {
      const std::size_t take = (std::size_t)std::min<guint64>(n - i, energy_end - at);
      energy_sum += sum_squares(x + i, take);
      i += take;
      at += take;
      if (at == energy_end) {
        const guint64 start = energy_edge(energy_ms.size());
        energy_ms.push_back(energy_end > start ? energy_sum / (double)(energy_end - start) : 0.0);
        energy_sum = 0;
        energy_end = energy_edge(energy_ms.size() + 1);
      }
    }
  }

  /* Without the whole-song pass, forgets the hops before the last
   * kLiveKeep once 2 * kLiveKeep are held (so the copying costs O(1) a hop). */
  void trim()
  {
    if (config.whole_song || n_hops - base < 2 * kLiveKeep)
      return;
    const long drop = n_hops - base - kLiveKeep;
    auto cut = [drop](auto &v, std::size_t per_hop) {
      v.erase(v.begin(), v.begin() + drop * (long)per_hop);
    };
    cut(flux, 1);
    cut(bass, 1);
    cut(bands, kBands);
    cut(hop_sumsq, 1);
    if (!ce.empty()) {
      cut(ce, 1);
      cut(cflux, 1);
      cut(cscore, 1);
      cut(cback, 1);
    }
    base += drop;
    /* Chroma frames computed before hop `base`: frame j's hop
     * (j + 1) * kChromaStep - 1 is at least base from j = base / kChromaStep. */
    const long frames = std::min(base / kChromaStep - chroma_first, (long)(chroma.size() / kPitchClasses));
    if (frames > 0) {
      chroma.erase(chroma.begin(), chroma.begin() + frames * kPitchClasses);
      chroma_first += frames;
    }
  }

  std::size_t retained_bytes() const
  {
    return flux.capacity() * sizeof(float) + bass.capacity() * sizeof(float) +
           bands.capacity() * sizeof(float) + hop_sumsq.capacity() * sizeof(double) +
           ce.capacity() * sizeof(float) + cflux.capacity() * sizeof(float) +
           cscore.capacity() * sizeof(double) + cback.capacity() * sizeof(long) +
           energy_ms.capacity() * sizeof(double) + cues.capacity() * sizeof(Cue) +
           chroma.capacity() * sizeof(float);
  }

  double hop_db(long h) const { return mean_square_db(sumsq_at(h) / kHop); }

  /* Whether the whole-song envelope counts hop h's flux: its level is no
   * more than 20 dB under silence_db (envelope(), edge_flux_cap()). */
  bool envelope_counts(long h) const { return hop_db(h) >= config.silence_db - 20.0; }

  /* Enters the newest hop (its sum of squares) into the level reference and
   * returns the level gain (kLevelRefDb). */
  double level_gain(double sumsq)
  {
    const double db = mean_square_db(sumsq / kHop);
    newest_db = db;
    const int bin =
        db < config.silence_db ? -1 : std::clamp((int)((db + 120.0) * 2.0), 0, kLevelBins - 1);
    const int old = level_ring[level_pos];
    if (old >= 0) {
      level_hist[(std::size_t)old]--;
      level_count--;
      if (old < level_bin)
        level_below--;
    }
    level_ring[level_pos] = bin;
    level_pos = (level_pos + 1) % level_ring.size();
    if (bin >= 0) {
      level_hist[(std::size_t)bin]++;
      level_count++;
      if (bin < level_bin)
        level_below++;
    }
    /* Without a non-silent hop, the gain is that of a reference at
     * config.silence_db, and level_ref_db says there is none. */
    double ref = -400.0;
    if (level_count > 0) {
      /* The lowest bin b whose hops and those under it reach `want`: moved
       * from where the last hop left it (one hop in and one out move it by
       * a bin or two), not searched from bin 0 every hop. */
      const long want = std::max(1L, (long)std::ceil(kLevelPercentile * (double)level_count));
      while (level_below + level_hist[(std::size_t)level_bin] < want)
        level_below += level_hist[(std::size_t)level_bin++];
      while (level_bin > 0 && level_below >= want)
        level_below -= level_hist[(std::size_t)--level_bin];
      ref = (level_bin + 0.5) / 2.0 - 120.0;
    }
    if (ref != level_ref_db || level_ref_gain <= 0) {
      level_ref_db = ref;
      level_ref_gain =
          std::pow(10.0, (kLevelRefDb - (ref > -400.0 ? ref : config.silence_db)) / 20.0);
    }
    return level_ref_gain;
  }

  bool loud_between(double from, double to) const
  {
    if (n_hops == base)
      return false;
    long a = std::max(base, (long)std::floor(from));
    long b = std::min(n_hops - 1, (long)std::ceil(to));
    for (long h = a; h <= b; h++)
      if (hop_db(h) >= config.silence_db)
        return true;
    return false;
  }

  /* One hop of kHop new analysis samples is in the ring (oldest first from
   * ring_pos). */
  void process_hop(std::size_t ring_pos, std::vector<Beat> &out)
  {
    const float *r = ring.data();
    /* The newest hop: the ring's other half from ring_pos on (kWindow is two
     * hops). */
    static_assert(kWindow == 2 * kHop, "the newest hop is one half of the ring");
    const float *newest = r + (ring_pos + kHop) % kWindow;
    const double sumsq = sum_squares(newest, kHop);
    hop_sumsq.push_back(sumsq);
    fft.compute(r, ring_pos, hann.data(), power.data());
    const double gain = kBandKnee * level_gain(sumsq);
    /* The flux compares two hops compressed alike: where the gain moved,
     * the previous hop is compressed again with the new one. */
    if (gain != prev_gain) {
      for (int b = 0; b < kBands; b++)
        prev_levels[(std::size_t)b] = (float)std::log1p(gain * prev_bands[(std::size_t)b]);
      prev_gain = gain;
    }
    double f = 0, fb = 0;
    const std::size_t band_base = bands.size();
    bands.resize(band_base + kBands);
    /* The band sums, then their amplitudes, then the levels, each in a loop
     * of its own: the bands' chains of additions, divisions and square
     * roots then overlap instead of each waiting for the last band's
     * log1p(). */
    std::array<double, kBands> e{};
    for (int b = 0; b < kBands; b++)
      for (int k = band_edges[b]; k < band_edges[b + 1]; k++)
        e[(std::size_t)b] += power[(std::size_t)k];
    std::array<float, kBands> amplitudes{};
    for (int b = 0; b < kBands; b++) {
      const int width = std::max(1, band_edges[b + 1] - band_edges[b]);
      amplitudes[(std::size_t)b] = (float)std::sqrt(e[(std::size_t)b] / width);
    }
    float *levels = bands.data() + band_base;
    for (int b = 0; b < kBands; b++)
      levels[b] = (float)std::log1p(gain * amplitudes[(std::size_t)b]);
    /* The rises, without a branch: adding 0 where a band fell leaves the
     * sums as they were. */
    for (int b = 0; b < kBands; b++) {
      const float d = levels[b] - prev_levels[b];
      const double rise = d > 0 ? (double)d : 0.0;
      f += rise;
      fb += b < bass_bands ? rise : 0.0;
      prev_bands[b] = amplitudes[(std::size_t)b];
      prev_levels[b] = levels[b];
    }
    flux.push_back((float)f);
    bass.push_back((float)fb);
    const long t = n_hops++;
    chroma_hop(newest);

    sumsq_total += sumsq;

    if (!cues.empty()) {
      for (int b = 0; b < kBands; b++) {
        open_sum[(std::size_t)b] += band_at(t, b);
        if (open_count < kLastBeatSpan)
          open_first[(std::size_t)b] += band_at(t, b);
      }
      open_count++;
    }
    if (config.causal)
      causal_hop(out);
    trim();
  }

  /* Analysis sample at the centre of chroma frame j (global index), and at
   * the centre of the window of (fractional) hop h. */
  static double chroma_centre(long j)
  {
    return (double)((j + 1) * kChromaStep * (long)kHop) - kChromaWindow * kChromaDecimation / 2.0;
  }
  static double hop_sample(double h) { return h * kHop + kWindow / 2.0; }

  /* The chroma feature of analysis samples [a, b): the square root of the
   * mean power per pitch class of the frames centred there, less its mean
   * over the classes, to unit length. False (f all 0) where no frame held is
   * centred there or the classes are all equal. */
  bool interval_chroma(double a, double b, std::array<double, kPitchClasses> &f) const
  {
    f.fill(0.0);
    const long end = chroma_first + (long)(chroma.size() / kPitchClasses);
    const double step = (double)(kChromaStep * (long)kHop);
    long j = std::max(chroma_first, (long)std::ceil((a + kChromaWindow * kChromaDecimation / 2.0) / step) - 1);
    std::size_t cnt = 0;
    for (; j < end && chroma_centre(j) < b; j++) {
      if (chroma_centre(j) < a)
        continue;
      const float *c = chroma.data() + (std::size_t)(j - chroma_first) * kPitchClasses;
      for (int k = 0; k < kPitchClasses; k++)
        f[(std::size_t)k] += c[k];
      cnt++;
    }
    if (cnt == 0)
      return false;
    double mean = 0, norm = 0;
    for (double &x : f) {
      x = std::sqrt(x / (double)cnt);
      mean += x / kPitchClasses;
    }
    for (double &x : f) {
      x -= mean;
      norm += x * x;
    }
    if (norm <= 0) {
      f.fill(0.0);
      return false;
    }
    for (double &x : f)
      x /= std::sqrt(norm);
    return true;
  }

  /* Chord change between two interval_chroma() features: one less their
   * cosine similarity, 0..2. */
  static double chord_distance(const std::array<double, kPitchClasses> &x, const std::array<double, kPitchClasses> &y)
  {
    double dot = 0;
    for (int k = 0; k < kPitchClasses; k++)
      dot += x[(std::size_t)k] * y[(std::size_t)k];
    return 1.0 - dot;
  }

  /* Chroma: the newest hop's analysis samples, averaged in groups of
   * kChromaDecimation, into chroma_ring; every kChromaStep hops, a chroma
   * frame. */
  void chroma_hop(const float *newest)
  {
    constexpr guint per_hop = kHop / kChromaDecimation;
    const std::size_t pos = (std::size_t)((n_hops - 1) * (long)per_hop % kChromaWindow);
    float *out = chroma_ring.data() + pos;
    for (guint i = 0; i < per_hop; i++) {
      float sum = 0.f;
      for (guint k = 0; k < kChromaDecimation; k++)
        sum += newest[kChromaDecimation * i + k];
      out[i] = sum * (1.0f / kChromaDecimation);
    }
    if (n_hops % kChromaStep != 0)
      return;
    fft.compute<kChromaBins>(chroma_ring.data(), (pos + per_hop) % kChromaWindow, hann.data(), chroma_power.data());
    const std::size_t at = chroma.size();
    chroma.resize(at + kPitchClasses, 0.f);
    for (std::size_t k = 0; k < chroma_power.size(); k++)
      if (chroma_class[k] >= 0)
        chroma[at + (std::size_t)chroma_class[k]] += chroma_power[k];
    /* Spectral flatness of the band, for chroma_noise() (offline only), of
     * every kFlatnessEvery-th frame: a bin's power, relative to the band's
     * mean, is floored at 1e-6 so that a bin of exact silence does not make
     * a frame tonal; the logarithm is taken of products of kFlatnessBlock
     * such ratios (at least 1e-96, at most the bins' count to that power),
     * one log per block. Cost (callgrind, offline, a 40 s song): a log per
     * bin of every frame added 11 % to the tracker's instructions, one per
     * block 4 %, one per block of every fourth frame 1 %. */
    if (!config.whole_song || (n_hops / kChromaStep) % kFlatnessEvery != 0)
      return;
    double mean = 0;
    int bins = 0;
    for (std::size_t k = 0; k < chroma_power.size(); k++)
      if (chroma_class[k] >= 0) {
        mean += chroma_power[k];
        bins++;
      }
    mean /= bins;
    if (mean > 0) {
      const double inv = 1.0 / mean;
      double log_sum = 0, product = 1;
      int in_product = 0;
      for (std::size_t k = 0; k < chroma_power.size(); k++)
        if (chroma_class[k] >= 0) {
          product *= chroma_power[k] * inv + 1e-6;
          if (++in_product == kFlatnessBlock) {
            log_sum += std::log(product);
            product = 1;
            in_product = 0;
          }
        }
      log_sum += std::log(product);
      chroma_band_power += mean;
      chroma_flat_power += mean * std::exp(log_sum / bins);
    }
  }

  /* Zeroes the salience of the tempi outside config's range (a window's
   * tempo, offline and live, and through the song's salience the beat-level
   * alternatives, are then never chosen there). */
  void in_range(std::vector<double> &s) const { in_range(s, config.min_bpm, config.max_bpm); }
  static void in_range(std::vector<double> &s, double min_bpm, double max_bpm)
  {
    const std::vector<double> &grid = tempo_grid();
    for (std::size_t k = 0; k < s.size(); k++)
      if (grid[k] < min_bpm || grid[k] > max_bpm)
        s[k] = 0.0;
  }

  /* ---- causal tracker ---- */

  long live_delay_hops() const { return (long)std::lround((double)config.live_delay / kNsPerSecond * kFps); }

  /* Whether the causal envelope's last kPulseWindowS (up to hop t) carries
   * a pulse: its variance over its mean squared reaches kPulseSpread and
   * that times the comb peak (1-4 times each tempo's period within the
   * configured range, the best lag within +-1 hop) of its mean-removed
   * autocorrelation reaches kPulseLift. Noise has no autocorrelation; a
   * tone's ripple or a pad's vibrato has it but no quiet between its onsets. */
  bool pulse_heard(long t) const
  {
    const long from = std::max(base, t + 1 - (long)std::lround(kPulseWindowS * kFps));
    const long n = t + 1 - from;
    const long max_lag = std::min(n * 3 / 4, kMaxLag);
    if (n < 32 || max_lag < 8)
      return false;
    double mean = 0;
    for (long h = from; h <= t; h++)
      mean += ce_at(h);
    mean /= (double)n;
    std::vector<double> r((std::size_t)max_lag + 1, 0.0);
    for (long lag = 0; lag <= max_lag; lag++) {
      double sum = 0;
      for (long h = from + lag; h <= t; h++)
        sum += ((double)ce_at(h) - mean) * ((double)ce_at(h - lag) - mean);
      r[(std::size_t)lag] = sum / (double)(n - lag);
    }
    if (r[0] <= 1e-9 || mean <= 0)
      return false;
    const double spread = r[0] / (mean * mean);
    if (spread < kPulseSpread)
      return false;
    /* The best lag within +-1 hop of the rounded multiple. */
    auto at = [&](double lag) -> std::optional<double> {
      const long c = std::lround(lag);
      if (c + 1 > max_lag)
        return std::nullopt;
      return std::max({r[(std::size_t)c - 1], r[(std::size_t)c], r[(std::size_t)c + 1]}) / r[0];
    };
    double peak = 0;
    for (double bpm : tempo_grid())
      if (bpm >= config.min_bpm && bpm <= config.max_bpm)
        peak = std::max(peak, comb_mean(60.0 / bpm * kFps, at));
    return peak * spread >= kPulseLift;
  }

  /* Whether live_level() regrouped the beats from a tempo within 4 % of bpm
   * (such tempi are not taken again until reset()). */
  bool regrouped_from(double bpm) const
  {
    return std::any_of(live_regrouped.begin(), live_regrouped.end(),
                       [bpm](double r) { return std::fabs(std::log(bpm / r)) <= 0.04; });
  }

  /* Adds one live tempo estimate's salience s (per tempo_grid() tempo) to
   * live_evidence, the older ones decaying with kLiveEvidenceS (estimates
   * are 0.5 s apart). A window without salience adds nothing. The first
   * estimates' windows (0.5-1.5 s of audio where sound fills them from the
   * start: a seek into a song, a song with a note on its first sample) are
   * too short for the comb to reach a slow tempo's period (tempo_salience()
   * reads lags up to 3/4 of the window): such a tempo gets log(1e-3) = -6.9
   * there, its double -0.6 (relax_song from 150 s: 120 against 240 at 0.5
   * s), which the octave rule reads as evidence for the double. Kept: left
   * out (no evidence from windows under 2.03 s, where 40 BPM is reached),
   * ultimate_run's excerpts from 35 and 50 s went from 150 to 75 BPM (live
   * F 0.70 -> 0.00, 0.77 -> 0.60) and the live excerpts' steady F fell
   * 0.868 -> 0.842 (bench/beat/quick.py --live --excerpts, 2026-11-24). */
  void add_live_evidence(const std::vector<double> &s)
  {
    const double peak = *std::max_element(s.begin(), s.end());
    if (peak <= 0)
      return;
    const double keep = 1.0 - 0.5 / kLiveEvidenceS;
    live_evidence.resize(s.size(), 0.0);
    for (std::size_t k = 0; k < s.size(); k++)
      live_evidence[k] = keep * live_evidence[k] + std::log(s[k] / peak + 1e-3);
    live_estimates = keep * live_estimates + 1.0;
  }

  /* The tempo (a tempo_grid() index) to take for this estimate, whose choice
   * (salience s with the hold) is `chosen`: its double or half (within 2 %)
   * where the evidence of the estimates so far favours it (kLiveOctaveMargin,
   * kLiveOctaveRival) and live_level() has not regrouped the beats from it,
   * else `chosen`. */
  std::size_t live_octave(const std::vector<double> &s, std::size_t chosen) const
  {
    if (live_estimates < kLiveEvidenceWindows || live_evidence.size() != s.size())
      return chosen;
    const std::vector<double> &grid = tempo_grid();
    std::size_t out = chosen;
    double top = live_evidence[chosen] + kLiveOctaveMargin * live_estimates;
    for (double f : {2.0, 0.5})
      for (std::size_t k = 0; k < grid.size(); k++)
        if (std::fabs(std::log(grid[k] / (grid[chosen] * f))) <= 0.02 &&
            s[k] >= kLiveOctaveRival * s[chosen] && live_evidence[k] > top &&
            !regrouped_from(grid[k])) {
          top = live_evidence[k];
          out = k;
        }
    return out;
  }

  /* The causal beat-level check, the live counterpart of beat_level()'s
   * regroup_even_thirds(): the mean beat-interval profile over the grid of
   * the last 2 * kLevelSpan beats that the newest beat's phase implies at
   * live_bpm (causal_grid()). Where both thirds of the interval (positions 4
   * and 8 of 12) carry kEvenThirdRatio of the beat's onset or more, the beats
   * are every third pulse of an even pulse, and the factor returned is 1.5
   * (the pulse in twos) or 0.75 (in fours), whichever has the more salience
   * in s (the current tempo window's; 0.75 weighed down by kLiveTempoHold,
   * because the comb of the slower level sums a subset of the same lags) and
   * at least half that at live_bpm. Otherwise 1. Needed because the comb
   * salience of such a pulse is nearly the same at 2:3, 1:1 and 4:3 of the
   * beat, so the tempo hold kept whichever level the first estimate (from
   * 2 s of audio) took: recorded-stg0 (150 BPM, even eighths) moved by
   * 10-20 ms, as an AAC encoder's delay moves it, read 100 BPM throughout.
   * The offline check's midpoint doubling (double_even_level()) is not
   * repeated here: 16 beats' midpoints reach kEvenMidpointRatio in passing,
   * and doubling on them took 120 BPM songs to 240. */
  double live_level(const std::vector<double> &s) const
  {
    if (live_raw < 0 || live_bpm <= 0)
      return 1.0;
    const std::vector<long> g = causal_grid(live_raw, 60.0 / live_bpm * kFps, 2 * kLevelSpan);
    if (g.size() < kLevelSpan + 1)
      return 1.0;
    return even_thirds_factor(grid_profile(g), s, live_bpm, config.min_bpm, config.max_bpm,
                              1.0 - kLiveTempoHold);
  }

  /* The live tempo hold: per tempo_grid() tempo, the weight
   * 1 - kLiveTempoHold + kLiveTempoHold * exp(-o^2 / 2), o its distance
   * from live_bpm in tenths of an octave. Computed again only when live_bpm
   * has changed since the last call (it stays for most estimates). */
  const std::vector<double> &hold_weights()
  {
    if (live_bpm > 0 && live_bpm != live_hold_bpm) {
      const std::vector<double> &grid = tempo_grid();
      live_hold.resize(grid.size());
      for (std::size_t k = 0; k < grid.size(); k++) {
        const double o = std::log2(grid[k] / live_bpm) / 0.1;
        live_hold[k] = 1.0 - kLiveTempoHold + kLiveTempoHold * std::exp(-0.5 * o * o);
      }
      live_hold_bpm = live_bpm;
    }
    return live_hold;
  }

  void causal_hop(std::vector<Beat> &out)
  {
    const long t = n_hops - 1;
    /* High-pass: flux less its trailing 0.4 s mean; rectify; scale by a
     * running RMS (8 s time constant). */
    const long span = (long)std::lround(0.4 * kFps);
    flux_run += flux_at(t);
    if (t >= span)
      flux_run -= flux_at(t - span);
    const double mean = flux_run / (double)std::min(t + 1, span);
    double v = std::max(0.0, (double)flux_at(t) - mean);
    const bool quiet = newest_db < (level_ref_db > -400.0 ? level_ref_db - kQuietBelowRefDb
                                                          : config.silence_db - 20.0);
    if (quiet)
      v = 0;
    const double a = 1.0 / (8.0 * kFps);
    var_ema = var_ema == 0 ? v * v : (1 - a) * var_ema + a * v * v;
    ce.push_back(var_ema > 0 ? (float)(v / std::sqrt(var_ema)) : 0.f);
    cflux.push_back((float)v);
    if (!quiet || var_weight > 0) {
      var_sum = (1 - a) * var_sum + a * v * v;
      var_weight = (1 - a) * var_weight + a;
    }

    if (t >= next_tempo) {
      next_tempo = t + (long)std::lround(0.5 * kFps);
      const long w = (long)std::lround(kTempoWindowS * kFps);
      live_ac.move_to(ce, t + 1 - w, t + 1, base);
      std::vector<double> s = tempo_salience(live_ac);
      in_range(s);
      const std::vector<double> &grid = tempo_grid();
      add_live_evidence(s);
      const std::vector<double> &hold = hold_weights();
      double best = 0;
      std::size_t arg = 0;
      for (std::size_t k = 0; k < s.size(); k++) {
        double v2 = regrouped_from(grid[k]) ? 0.0 : s[k];
        if (live_bpm > 0)
          v2 *= hold[k];
        if (v2 > best) {
          best = v2;
          arg = k;
        }
      }
      if (best > 0 && t + 1 >= (long)(2.0 * kFps)) {
        arg = live_octave(s, arg);
        const double before = live_bpm;
        live_bpm = grid[arg];
        live_clarity = clarity(s);
        const double lf = live_level(s);
        live_level_run = lf != 1.0 ? live_level_run + 1 : 0;
        if (live_level_run >= kLiveLevelChecks) {
          if (live_regrouped.size() == kLiveRegroupedKept)
            live_regrouped.erase(live_regrouped.begin());
          live_regrouped.push_back(live_bpm);
          live_bpm *= lf;
          live_level_run = 0;
        }
        /* A fall to 1/2 or 1/3 back to the tempo left within the last
         * tempo window (kLiveRescoreChange's comment). */
        const bool back = live_bpm < before && live_left_bpm > 0 && t - live_left_at <= w &&
                          std::fabs(std::log(live_bpm / live_left_bpm)) <= kHarmonicTolerance;
        if (before > 0 &&
            std::fabs(std::log(live_bpm / before)) > std::log(1.0 + kLiveRescoreChange) &&
            (!harmonic(live_bpm / before) || back))
          rescore_live(t + 1 - w, t);
        if (before > 0 && live_bpm != before) {
          live_left_bpm = before;
          live_left_at = t;
        }
      }
    }

    /* Until a pulse is heard, it is looked for every kPulseStep hops (46 ms). */
    if (!live_pulse && live_bpm > 0 && t % kPulseStep == 0)
      live_pulse = pulse_heard(t);

    /* Forward dynamic programming at the current tempo. */
    double score = ce_at(t);
    long back = -1;
    if (live_bpm > 0) {
      live_cost.set_period(60.0 / live_bpm * kFps);
      std::tie(score, back) = forward_step(t);
    }
    cscore.push_back(score);
    cback.push_back(back);
    if (live_bpm <= 0)
      return;

    /* The best path ends on the best-scoring hop of the last period; its
     * beats with live_delay of audio after them are final. */
    const double period = 60.0 / live_bpm * kFps;
    long end = t;
    for (long h = std::max(0L, t - (long)period + 1); h <= t; h++)
      if (cscore_at(h) > cscore_at(end))
        end = h;
    const long ready = t - live_delay_hops();
    if (!live_pulse) {
      live_floor = ready - (long)std::lround(period);
      return;
    }
    const double last = live_raw >= 0 ? (double)live_raw
                        : cues.empty()    ? -1e9
                                          : ns_to_frame(cues.back().time);
    /* The path is followed back no further than the hops held, less a
     * slowest period for the loudness check around a beat (a beat that old
     * would come 14 s late anyway). */
    const long oldest = base > 0 ? base + (long)(60.0 / kMinBpm * kFps) : 0;
    std::vector<long> path;
    for (long h = end; h >= oldest && (double)h > last + 0.5 * period; h = cback[(std::size_t)(h - base)])
      if (h <= ready && h > live_floor)
        path.push_back(h);
    std::reverse(path.begin(), path.end());
    for (long h : path) {
      if (!loud_between((double)h - period / 2, (double)h + period / 2))
        continue;
      const long raw = h;
      h = live_swing(h, period);
      Beat b;
      double frac = 0;
      if (h > base && h + 1 <= t && ce_at(h) >= ce_at(h - 1) && ce_at(h) >= ce_at(h + 1))
        frac = parabolic_peak(ce_at(h - 1), ce_at(h), ce_at(h + 1));
      b.time = frame_to_ns((double)h + frac);
      if (!cues.empty() && b.time <= cues.back().time)
        continue;
      live_raw = raw;
      b.strength =
          var_sum > 0 ? cflux[(std::size_t)(h - base)] / std::sqrt(var_sum / var_weight) : 0.0;
      b.confidence = live_clarity * std::min(1.0, b.strength / 2.0);
      /* Tempo of the last 16 beats. */
      std::vector<GstClockTime> recent;
      for (std::size_t i = cues.size() > 15 ? cues.size() - 15 : 0; i < cues.size(); i++)
        recent.push_back(cues[i].time);
      recent.push_back(b.time);
      b.bpm = recent.size() >= kLiveBpmBeats ? bpm_from_beats(recent) : 0.0;
      if (b.bpm < config.min_bpm / (1 + kDominantTempoBand) ||
          b.bpm > config.max_bpm * (1 + kDominantTempoBand))
        b.bpm = 0.0;
      add_cue(b);
      label_causal_meter(b);
      last_beat = b;
      out.push_back(b);
    }
  }

  /* Scores the causal dynamic programming again over hops [from, t) (from
   * no earlier than the hops held) at the period of the current live_bpm.
   * The forward score of a hop is the envelope summed over its path's beats
   * less the transition costs, so the phase the next beats take is then
   * decided by the evidence of that span at the new period. The hops before
   * `from` keep their scores: a path through them pays its transition into
   * the span, so where the span favours no phase (an even pulse regrouped
   * in fours has two), the path stays with the old beats rather than
   * switching between equal paths. Without it the path scored at the old
   * period went on: after a sudden 120 -> 150 BPM change of clicks with an
   * off-beat click at 0.65 of their level, 3 of the 19 live beats from 8 s
   * after the change were on the beat (test_beattracker's
   * LiveFollowsASuddenTempoChangeOnTheBeat). Beats already returned are
   * not changed. Cost: (t - from) x 0.8 period predecessor reads, once per
   * change. */
  void rescore_live(long from, long t)
  {
    live_cost.set_period(60.0 / live_bpm * kFps);
    for (long h = std::max(from, base); h < t; h++)
      std::tie(cscore[(std::size_t)(h - base)], cback[(std::size_t)(h - base)]) = forward_step(h);
  }

  /* The causal forward step (Ellis 2007) at hop h, live_cost's period set:
   * the envelope at h plus the best score of a held predecessor p, 0.6-1.4
   * periods before h, less the transition cost of the gap. Returns the
   * score and p, or the envelope alone and -1 where no predecessor scores
   * above 0 (a path starts at h). */
  std::pair<double, long> forward_step(long h) const
  {
    const long lo = std::max(base, h - live_cost.max_gap());
    const long hi = h - live_cost.min_gap();
    double best = 0;
    long back = -1;
    for (long p = lo; p <= hi; p++) {
      const double v = cscore_at(p) - live_cost(h - p);
      if (back < 0 || v > best) {
        best = v;
        back = p;
      }
    }
    if (back >= 0 && best > 0)
      return {ce_at(h) + best, back};
    return {ce_at(h), -1L};
  }

  /* The beat grid the current phase implies for the past: hop h, then one
   * period (hops) before it, each step snapped to the causal envelope's
   * maximum within +-2 hops (so a small tempo error does not add up), for up
   * to n periods back within the held hops. Ascending, h last. Unlike the
   * path's own past beats, which may have been on another phase, it
   * describes the phase of h. */
  std::vector<long> causal_grid(long h, double period, std::size_t n) const
  {
    std::vector<long> g{h};
    while (g.size() <= n) {
      const long c = (long)std::lround((double)g.back() - period);
      if (c - 2 < base || c + 2 >= g.back())
        break;
      long best = c;
      for (long k = c - 2; k <= c + 2; k++)
        if (ce_at(k) > ce_at(best))
          best = k;
      g.push_back(best);
    }
    std::reverse(g.begin(), g.end());
    return g;
  }

  /* The interval profile (interval_profile()) of the causal envelope
   * averaged over the intervals of a causal_grid(). */
  std::array<double, kSwingBins> grid_profile(const std::vector<long> &g) const
  {
    const long t = n_hops - 1;
    auto env = [&](long k) { return k >= base && k <= t ? (double)ce_at(k) : 0.0; };
    std::array<double, kSwingBins> p{}, q{};
    for (std::size_t j = 0; j + 1 < g.size(); j++) {
      interval_profile(env, g[j], g[j + 1], q);
      for (int k = 0; k < kSwingBins; k++)
        p[(std::size_t)k] += q[(std::size_t)k] / (double)(g.size() - 1);
    }
    return p;
  }

  /* swing_bin() for the causal beat on path hop h (period in hops): the
   * profile is averaged over the last 2 * kSwingSpan intervals (at least
   * kSwingSpan, as many as the offline rule reads on one side) of the grid
   * that h's phase implies (causal_grid()), so a path that has just changed
   * phase is judged by its new phase. Returns the hop the beat moves to (at
   * most the newest hop but one), or h. */
  long live_swing(long h, double period) const
  {
    const long t = n_hops - 1;
    const std::vector<long> g = causal_grid(h, period, 2 * kSwingSpan);
    if (g.size() < kSwingSpan + 1)
      return h;
    const int bin = swing_bin(grid_profile(g));
    if (!bin)
      return h;
    auto env = [&](long k) { return k >= base && k <= t ? (double)ce_at(k) : 0.0; };
    return std::clamp(snap(env, (long)std::lround((double)h + period * bin / kSwingBins)), h, std::max(h, t - 1));
  }

  /* Records a confirmed causal beat: closes the previous beat's interval
   * (its novelty) and starts this one's. */
  void add_cue(const Beat &b)
  {
    const long t = n_hops - 1;
    const long h = std::clamp(beat_hop(b.time), 0L, t);
    if (!cues.empty()) {
      /* The previous beat's interval is [its hop, max(its hop + 1, h)). */
      const long h0 = std::clamp(beat_hop(cues.back().time), 0L, t);
      const long h2 = std::max(h0 + 1, h);
      std::array<double, kBands> cur = open_sum;
      for (long k = std::max(h2, base); k <= t; k++)
        for (int j = 0; j < kBands; j++)
          cur[(std::size_t)j] -= band_at(k, j);
      double d = 0;
      for (int j = 0; j < kBands; j++) {
        cur[(std::size_t)j] /= (double)(h2 - h0);
        d += std::fabs(cur[(std::size_t)j] - prev_mean[(std::size_t)j]);
      }
      cues.back().novelty = cues.size() > 1 ? d : 0.0;
      prev_mean = cur;
      std::array<double, kPitchClasses> chord{};
      const bool has = interval_chroma(hop_sample((double)h0), hop_sample((double)h2), chord);
      cues.back().chord = has && prev_chroma_valid ? chord_distance(chord, prev_chroma) : 0.0;
      prev_chroma = chord;
      prev_chroma_valid = has;
    }
    Cue c;
    c.time = b.time;
    c.confidence = b.confidence;
    c.bass = 0;
    for (long k = std::max(base, h - 2); k <= std::min(t, h + 2); k++)
      c.bass = std::max(c.bass, (double)bass_at(k));
    c.novelty = 0;
    c.chord = 0;
    const long a = (long)std::min((double)n_hops, std::max(0.0, hop_before(b.time)));
    double tail = 0;
    for (long k = t; k >= std::max(a, base); k--)
      tail += sumsq_at(k);
    c.sumsq_before = sumsq_total - tail;
    c.sumsq_hop = a < n_hops && a >= base ? sumsq_at(a) : 0.0;
    cues.push_back(c);
    open_sum.fill(0.0);
    open_first.fill(0.0);
    open_count = 0;
    for (long k = std::max(h, base); k <= t; k++, open_count++)
      for (int j = 0; j < kBands; j++) {
        open_sum[(std::size_t)j] += band_at(k, j);
        if (open_count < kLastBeatSpan)
          open_first[(std::size_t)j] += band_at(k, j);
      }
  }

  /* Per-beat meter cues of cues[from, end): bass, novelty and chord change,
   * the first beat's novelty and chord change 0 and the newest beat's from
   * its first kLastBeatSpan hops (as meter() reads a beat sequence). */
  void cue_features(std::size_t from, std::vector<double> &bass_acc, std::vector<double> &novelty,
                    std::vector<double> &harmony) const
  {
    bass_acc.clear();
    novelty.clear();
    harmony.clear();
    for (std::size_t i = from; i < cues.size(); i++) {
      bass_acc.push_back(cues[i].bass);
      novelty.push_back(i > from ? cues[i].novelty : 0.0);
      harmony.push_back(i > from ? cues[i].chord : 0.0);
    }
    if (cues.size() - from > 1) {
      double d = 0;
      const double cnt = (double)std::max(1L, std::min(open_count, kLastBeatSpan));
      for (int j = 0; j < kBands; j++)
        d += std::fabs(open_first[(std::size_t)j] / cnt - prev_mean[(std::size_t)j]);
      novelty.back() = d;
      const long h = std::clamp(beat_hop(cues.back().time), 0L, n_hops - 1);
      std::array<double, kPitchClasses> chord{};
      const bool has = interval_chroma(hop_sample((double)h),
                                       hop_sample((double)std::min(n_hops, h + kLastBeatSpan)), chord);
      harmony.back() = has && prev_chroma_valid ? chord_distance(chord, prev_chroma) : 0.0;
    }
  }

  /* The times of the causal beats from cue `from` on. */
  std::vector<GstClockTime> cue_times(std::size_t from) const
  {
    std::vector<GstClockTime> t;
    for (std::size_t i = from; i < cues.size(); i++)
      t.push_back(cues[i].time);
    return t;
  }

  /* Meter of the causal beats so far, applied to the newest one. The meter
   * is re-estimated on every fourth beat (it reads up to 64 beats); between,
   * the bar position counts on from the previous beat's. */
  void label_causal_meter(Beat &b)
  {
    if (cues.size() < 8)
      return;
    const Beat &prev = last_beat;
    if (cues.size() % 4 != 0 && live_per_bar > 0 && prev.bar_position > 0) {
      /* One beat on, or the beats of a gap (beatmeter::beat_numbers()). */
      const std::size_t from = cues.size() > kLevelSpan + 1 ? cues.size() - kLevelSpan - 1 : 0;
      const std::vector<long> num = beatmeter::beat_numbers(cue_times(from));
      const long step = num.size() >= 2 ? num.back() - num[num.size() - 2] : 1;
      b.bar_position = (guint)((prev.bar_position - 1 + (guint)step) % live_per_bar) + 1;
      b.downbeat = b.bar_position == 1;
      return;
    }
    std::vector<double> bass_acc, novelty, harmony;
    const std::size_t from = cues.size() > 64 ? cues.size() - 64 : 0;
    cue_features(from, bass_acc, novelty, harmony);
    guint per_bar = 0;
    std::vector<guint> pos =
        beatmeter::causal_meter(bass_acc, novelty, harmony, per_bar, beatmeter::beat_numbers(cue_times(from)));
    live_per_bar = per_bar;
    if (per_bar == 0)
      return;
    b.bar_position = pos.back();
    b.downbeat = pos.back() == 1;
  }

  /* ---- whole song ---- */

  /* The first hop of the sound: the first at or above config.silence_db
   * (n_hops when there is none). Where the audio starts a stream, it is
   * the edge the edge hops count from (envelope()): what comes before it
   * is digital silence or a codec's pre-echo of it, not music. */
  long first_sound_hop() const
  {
    for (long h = base; h < n_hops; h++)
      if (hop_db(h) >= config.silence_db)
        return h;
    return n_hops;
  }

  /* The first hop after the edge hops (envelope()): kEdgeHops after the
   * first sample when the audio continues a stream, else kEdgeHops after
   * first_sound_hop(). */
  long edge_end() const { return (continues ? 0 : first_sound_hop()) + kEdgeHops; }

  /* The most flux an edge hop (those before edge_end()) may bring to the
   * whole-song envelope at a stream's start: the kEdgeFluxPercentile of the
   * flux of the other hops that envelope_counts(). See kEdgeFluxPercentile.
   * Infinity when there are none. */
  double edge_flux_cap() const
  {
    const long end = edge_end();
    std::vector<float> rest;
    rest.reserve(flux.size());
    for (std::size_t i = 0; i < flux.size(); i++)
      if ((long)i + base >= end && envelope_counts((long)i))
        rest.push_back(flux[i]);
    if (rest.empty())
      return std::numeric_limits<double>::infinity();
    const std::size_t k =
        std::min(rest.size() - 1, (std::size_t)(kEdgeFluxPercentile * (double)rest.size()));
    std::nth_element(rest.begin(), rest.begin() + (std::ptrdiff_t)k, rest.end());
    return rest[k];
  }

  /* Onset envelope over the whole song: flux less its centred 0.4 s mean,
   * rectified, zero over silence, unit standard deviation. When the audio
   * continues a stream (set_continues_stream()), the hops whose window or
   * previous hop reach before the first sample (kEdgeHops) count as no flux:
   * theirs compares the sound with the ring's zeros, an onset at the seek
   * position, and the path put a beat there, up to half a beat from the
   * music's, pulling the next one off too. At a stream's start the same
   * onset may be a note or hit on the first sample, and it keeps its beat,
   * but no more flux than the song's strongest onsets (edge_flux_cap()).
   * There the edge hops run to kEdgeHops after the first sound
   * (first_sound_hop()), not after the first sample: an MP3 encoder's delay
   * (LAME: 1105 samples, 25 ms at 44.1 kHz, which the decoder leaves in
   * where the file has no LAME tag with gapless data) or a clip's leading
   * silence puts the cut two to four hops in, past the first kEdgeHops,
   * and its uncapped flux (2-3 times the cap) held 8 s excerpts half a beat
   * off or at 2:3 of their tempo. The hops before the first sound are capped too:
   * a codec's pre-echo of the cut (LAME's at -80 to -60 dBFS, over the two
   * hops before it) has the flux of an onset. */
  std::vector<float> envelope() const
  {
    const std::size_t n = flux.size();
    std::vector<float> e(n, 0.f);
    const long half = (long)std::lround(0.2 * kFps);
    const double edge_cap = continues ? 0.0 : edge_flux_cap();
    const long end = edge_end();
    auto flux_of = [&](std::size_t i) {
      const long h = (long)i + base;
      return h < end ? std::min((double)flux[i], edge_cap) : (double)flux[i];
    };
    std::vector<double> prefix(n + 1, 0.0);
    for (std::size_t i = 0; i < n; i++)
      prefix[i + 1] = prefix[i] + flux_of(i);
    double sq = 0;
    for (std::size_t i = 0; i < n; i++) {
      long a = std::max(0L, (long)i - half), b = std::min((long)n, (long)i + half + 1);
      double v = flux_of(i) - (prefix[b] - prefix[a]) / (double)(b - a);
      e[i] = (v > 0 && envelope_counts((long)i)) ? (float)v : 0.f;
      sq += (double)e[i] * e[i];
    }
    const double sd = std::sqrt(sq / (double)std::max<std::size_t>(1, n));
    if (sd > 0)
      for (float &v : e)
        v = (float)(v / sd);
    return e;
  }

  /* The spread of e over hops [a, b): its variance over its mean squared
   * (0 when the mean is 0). A pulse's envelope (onsets, then quiet) spreads;
   * a curve that never falls quiet does not (kMinPulseSpread). */
  static double envelope_spread(const std::vector<float> &e, long a, long b)
  {
    double sum = 0, sq = 0;
    for (long h = a; h < b; h++) {
      sum += e[(std::size_t)h];
      sq += (double)e[(std::size_t)h] * e[(std::size_t)h];
    }
    if (b <= a || sum <= 0)
      return 0.0;
    const double mean = sum / (double)(b - a);
    return (sq / (double)(b - a) - mean * mean) / (mean * mean);
  }

  /* Local tempo (BPM) for every hop: a Viterbi path through per-window comb
   * salience, the tempi outside min_bpm..max_bpm left out. Also the clarity
   * of each hop's window (0 where its envelope does not spread:
   * kMinPulseSpread). */
  std::vector<double> tempo_path(const std::vector<float> &e, std::vector<double> &clar,
                                 std::vector<double> &song_salience, double min_bpm,
                                 double max_bpm) const
  {
    const long n = (long)e.size();
    const long w = (long)std::lround(kTempoWindowS * kFps);
    const long step = (long)std::lround(kFps);
    const std::vector<double> &grid = tempo_grid();
    const std::size_t k = grid.size();
    std::vector<long> centres;
    std::vector<std::vector<double>> obs;
    std::vector<double> wclar;
    SlidingAutocorr sliding;
    for (long c = std::min(n / 2, w / 2);; c += step) {
      long a = std::max(0L, c - w / 2), b = std::min(n, a + w);
      a = std::max(0L, b - w);
      sliding.move_to(e, a, b);
      std::vector<double> s = tempo_salience(sliding);
      in_range(s, min_bpm, max_bpm);
      if (song_salience.empty())
        song_salience.assign(s.size(), 0.0);
      for (std::size_t i = 0; i < s.size(); i++)
        song_salience[i] += s[i];
      double mx = *std::max_element(s.begin(), s.end());
      wclar.push_back(envelope_spread(e, a, b) >= kMinPulseSpread ? clarity(s) : 0.0);
      for (double &v : s)
        v = std::log((mx > 0 ? v / mx : 0.0) + 1e-3);
      obs.push_back(std::move(s));
      centres.push_back(c);
      if (c + w / 2 >= n)
        break;
    }
    /* The grid is geometric, so a change of |j - i| grid steps costs
     * |j - i| * step_cost; the best predecessor of every state then comes
     * from one pass up and one pass down the grid (a distance transform)
     * instead of comparing all pairs. */
    const double step_cost = kTempoChangeCost * std::log2(kBpmStep);
    std::vector<std::vector<int>> back(obs.size(), std::vector<int>(k, 0));
    std::vector<double> delta = obs[0], next(k), up(k), down(k);
    std::vector<int> up_arg(k), down_arg(k);
    for (std::size_t wi = 1; wi < obs.size(); wi++) {
      for (std::size_t j = 0; j < k; j++) {
        up[j] = delta[j];
        up_arg[j] = (int)j;
        if (j > 0 && up[j - 1] - step_cost > up[j]) {
          up[j] = up[j - 1] - step_cost;
          up_arg[j] = up_arg[j - 1];
        }
      }
      for (std::size_t j = k; j-- > 0;) {
        down[j] = delta[j];
        down_arg[j] = (int)j;
        if (j + 1 < k && down[j + 1] - step_cost > down[j]) {
          down[j] = down[j + 1] - step_cost;
          down_arg[j] = down_arg[j + 1];
        }
      }
      for (std::size_t j = 0; j < k; j++) {
        const bool from_below = up[j] >= down[j];
        next[j] = (from_below ? up[j] : down[j]) + obs[wi][j];
        back[wi][j] = from_below ? up_arg[j] : down_arg[j];
      }
      std::swap(delta, next);
    }
    std::vector<int> states(obs.size());
    states.back() = (int)(std::max_element(delta.begin(), delta.end()) - delta.begin());
    for (std::size_t wi = obs.size() - 1; wi > 0; wi--)
      states[wi - 1] = back[wi][(std::size_t)states[wi]];
    std::vector<double> bpm((std::size_t)n, grid[(std::size_t)states[0]]);
    clar.assign((std::size_t)n, wclar[0]);
    for (long h = 0; h < n; h++) {
      /* Nearest window centre. */
      std::size_t wi = (std::size_t)std::clamp((h - centres[0] + step / 2) / step, 0L, (long)obs.size() - 1);
      bpm[(std::size_t)h] = grid[(std::size_t)states[wi]];
      clar[(std::size_t)h] = wclar[wi];
    }
    return bpm;
  }

  /* Ellis 2007 dynamic programming over envelope e following the local
   * tempo bpm (one per hop): the hops of the best beat path, ascending. */
  static std::vector<long> beat_path(const std::vector<float> &e, const std::vector<double> &bpm)
  {
    const std::size_t n = e.size();
    std::vector<double> score(n, 0.0);
    std::vector<long> back(n, -1);
    /* Where the tempo path changes tempo, it changes where its windows
     * (kTempoWindowS long) say, not where the music does: at a speed-up
     * the faster tempo's comb wins windows that hold little of it, and the
     * path took 140 BPM up to 1.5 s before a 100 -> 140 change, its beats
     * there squeezed to the faster period, up to 175 ms early (slowing
     * down was exact). So within kAltReach of a speed-up by
     * kMinAltRatio..kMaxAltRatio between two tempi that each hold for half
     * a window (kAltSteady), a gap may also be judged against the tempo on
     * the change's other side (alt), whichever costs less, and the onsets
     * place the change. Elsewhere (a steady song, an octave or 3:2 swap of
     * the path, its brief jumps) the beats are as they were. */
    const long hold = (long)std::lround(kTempoWindowS * kFps / 2);
    const long reach = (long)std::lround(kTempoWindowS * kFps * kAltReach);
    std::vector<double> alt(n, 0.0);
    /* Whether bpm holds within kAltSteady of bpm[from] over `hold` hops
     * from `from` on (dir 1) or back (dir -1), inside the song. */
    auto steady = [&](long from, long dir) {
      const long to = from + dir * (hold - 1);
      if (to < 0 || to >= (long)n)
        return false;
      for (long t = from; t != to + dir; t += dir)
        if (std::fabs(std::log(bpm[(std::size_t)t] / bpm[(std::size_t)from])) >
            std::log(kAltSteady))
          return false;
      return true;
    };
    for (long c = 1; c < (long)n; c++) {
      const double before = bpm[(std::size_t)c - 1], after = bpm[(std::size_t)c];
      const double r = after / before;
      if (!(r >= kMinAltRatio && r < kMaxAltRatio) || !steady(c - 1, -1) || !steady(c, 1))
        continue;
      for (long t = std::max(0L, c - reach); t < std::min((long)n, c + reach); t++)
        alt[(std::size_t)t] = t < c ? after : before;
    }
    TransitionCost cost(kOfflineTightness), alt_cost(kOfflineTightness);
    for (long t = 0; t < (long)n; t++) {
      cost.set_period(60.0 / bpm[(std::size_t)t] * kFps);
      const bool two = alt[(std::size_t)t] > 0;
      if (two)
        alt_cost.set_period(60.0 / alt[(std::size_t)t] * kFps);
      const long lo =
          std::max(0L, t - (two ? std::max(cost.max_gap(), alt_cost.max_gap()) : cost.max_gap()));
      const long hi = t - (two ? std::min(cost.min_gap(), alt_cost.min_gap()) : cost.min_gap());
      double best = 0;
      long arg = -1;
      for (long p = lo; p <= hi; p++) {
        const long g = t - p;
        double c = g >= cost.min_gap() && g <= cost.max_gap() ? cost(g) : HUGE_VAL;
        if (two && g >= alt_cost.min_gap() && g <= alt_cost.max_gap())
          c = std::min(c, alt_cost(g));
        if (c == HUGE_VAL)
          continue;
        double s = score[(std::size_t)p] - c;
        if (arg < 0 || s > best) {
          best = s;
          arg = p;
        }
      }
      score[(std::size_t)t] = e[(std::size_t)t] + (arg >= 0 && best > 0 ? best : 0.0);
      back[(std::size_t)t] = arg >= 0 && best > 0 ? arg : -1;
    }
    const double last_period = 60.0 / bpm.back() * kFps;
    long end = (long)n - 1;
    for (long t = std::max(0L, (long)n - (long)last_period); t < (long)n; t++)
      if (score[(std::size_t)t] > score[(std::size_t)end])
        end = t;
    std::vector<long> hops;
    for (long t = end; t >= 0; t = back[(std::size_t)t])
      hops.push_back(t);
    std::reverse(hops.begin(), hops.end());
    return hops;
  }

  /* Beat phase under swing. When two onset streams of similar strength
   * share the beat period, the dynamic programming may follow either; swing
   * divides a beat long-short (the off-beat eighth at about 2/3 of the
   * beat), so the beat is the onset that starts the long part. Seen from the
   * wrong phase, the profile of a beat interval (the envelope at 12 evenly
   * spaced positions) has its sub-beat onset early, at 1/3-5/12, and nothing
   * from the midpoint to 5/6. swing_bin() reads a profile averaged over
   * several beats and returns the position (4 or 5 of 12) the beat should
   * move to, or 0 to keep it: the early onset must carry at least
   * kSwingPeak of the beat's onset and kSwingMin standard deviations of the
   * envelope, and positions 6-10 at most kSwingLate of it (a straight
   * division has its sub-beat onset at 6, a triplet one at 4 and 8). */
  static int swing_bin(const std::array<double, kSwingBins> &p)
  {
    const int early = p[5] > p[4] ? 5 : 4;
    double late = 0;
    for (int k = 6; k <= 10; k++)
      late = std::max(late, p[(std::size_t)k]);
    const double v = p[(std::size_t)early];
    return v >= std::max(kSwingPeak * p[0], kSwingMin) && late <= kSwingLate * v ? early : 0;
  }

  /* Whether a profile shows a swing division from either phase: swing_bin()
   * from the off-beat, or from the beat its mirror image (the sub-beat
   * onset at 7-8 of 12, positions 2-6 nearly empty). A 3:2 or 4:3 error of
   * the beat level puts sub-beat onsets both early and late over a few
   * beats, which neither test accepts. */
  /* The mean of the beat-interval profiles prof[a..b). */
  template <std::size_t N>
  static std::array<double, N> mean_profile(const std::vector<std::array<double, N>> &prof,
                                            std::size_t a, std::size_t b)
  {
    std::array<double, N> p{};
    for (std::size_t j = a; j < b; j++)
      for (std::size_t k = 0; k < N; k++)
        p[k] += prof[j][k] / (double)(b - a);
    return p;
  }

  static bool swing_like(const std::array<double, kSwingBins> &p)
  {
    if (swing_bin(p))
      return true;
    const double v = std::max(p[7], p[8]);
    double early = 0;
    for (int k = 2; k <= 6; k++)
      early = std::max(early, p[(std::size_t)k]);
    return v >= std::max(kSwingPeak * p[0], kSwingMin) && early <= kSwingLate * v;
  }

  /* Profile of the beat interval [h0, h1) of an envelope: its maximum
   * within +-1 hop of N evenly spaced positions (kSwingBins for the swing
   * and thirds tests, 5 for even_fifths_factor()). */
  template <typename Env, std::size_t N>
  static void interval_profile(Env env, long h0, long h1, std::array<double, N> &p)
  {
    const double len = (double)(h1 - h0);
    for (std::size_t k = 0; k < N; k++) {
      const long c = (long)std::lround((double)h0 + len * (double)k / (double)N);
      p[k] = std::max({env(c - 1), env(c), env(c + 1)});
    }
  }

  /* The hop of the envelope's maximum within +-1 hop of c. */
  template <typename Env> static long snap(Env env, long c)
  {
    long best = c;
    for (long k = c - 1; k <= c + 1; k++)
      if (env(k) > env(best))
        best = k;
    return best;
  }

  /* interval_profile() of every beat interval of a path over envelope e
   * (zero outside it): hops.size() - 1 profiles, none for fewer than two
   * beats. */
  template <std::size_t N = kSwingBins>
  static std::vector<std::array<double, N>> interval_profiles(const std::vector<float> &e,
                                                              const std::vector<long> &hops)
  {
    const long n = (long)e.size();
    auto env = [&](long h) { return h >= 0 && h < n ? (double)e[(std::size_t)h] : 0.0; };
    std::vector<std::array<double, N>> prof(hops.size() < 2 ? 0 : hops.size() - 1);
    for (std::size_t i = 0; i < prof.size(); i++)
      interval_profile(env, hops[i], hops[i + 1], prof[i]);
    return prof;
  }

  /* swing_bin() applied to every beat of a whole-song beat path, with the
   * profile averaged over kSwingSpan beats either side. */
  static void swing_phase(const std::vector<float> &e, std::vector<long> &hops)
  {
    const long n = (long)e.size();
    const std::size_t nb = hops.size();
    if (nb < 2 * kSwingSpan + 1)
      return;
    auto env = [&](long h) { return h >= 0 && h < n ? (double)e[(std::size_t)h] : 0.0; };
    const std::vector<std::array<double, kSwingBins>> prof = interval_profiles(e, hops);
    std::vector<long> out = hops;
    for (std::size_t i = 0; i < nb; i++) {
      const std::size_t a = i > kSwingSpan ? i - kSwingSpan : 0;
      const std::size_t b = std::min(nb - 1, i + kSwingSpan + 1);
      if (const int bin = swing_bin(mean_profile(prof, a, b))) {
        /* The last beat moves by its predecessor's interval. */
        const std::size_t j = std::min(i, nb - 2);
        const double len = (double)(hops[j + 1] - hops[j]);
        out[i] = std::clamp(snap(env, (long)std::lround((double)hops[i] + len * bin / kSwingBins)), 0L, n - 1);
      }
    }
    hops = std::move(out);
  }

  /* Per beat of a path, over the span beats either side: how much onset the
   * midpoints between consecutive beats carry relative to the beats
   * themselves (each the envelope's maximum within +-2 hops), and the mean
   * onset at the beats. Real beat levels have onsets (eighth notes) between
   * beats; a period that is 2/3 or 3/4 of the beat (a dotted rhythm taken for
   * the beat) puts its midpoints between the sixteenth-note grid, where there
   * are none. */
  static void local_midpoint_ratio(const std::vector<float> &e, const std::vector<long> &hops,
                                   std::vector<double> &ratio, std::vector<double> &on_mean,
                                   std::size_t span = kLevelSpan)
  {
    const long n = (long)e.size();
    const std::size_t nb = hops.size();
    auto peak = [&](long c) {
      double m = 0;
      for (long k = std::max(0L, c - 2); k <= std::min(n - 1, c + 2); k++)
        m = std::max(m, (double)e[(std::size_t)k]);
      return m;
    };
    std::vector<double> on_sum(nb + 1, 0.0), mid_sum(nb + 1, 0.0);
    for (std::size_t i = 0; i < nb; i++) {
      on_sum[i + 1] = on_sum[i] + (i + 1 < nb ? peak(hops[i]) : 0.0);
      mid_sum[i + 1] = mid_sum[i] + (i + 1 < nb ? peak((hops[i] + hops[i + 1]) / 2) : 0.0);
    }
    ratio.assign(nb, 1.0);
    on_mean.assign(nb, 0.0);
    if (nb < 2)
      return;
    for (std::size_t i = 0; i < nb; i++) {
      const std::size_t a = i > span ? i - span : 0;
      const std::size_t b = i + span + 1 < nb ? i + span + 1 : nb - 1; /* intervals [a, b) */
      if (b <= a)
        continue;
      const double on = on_sum[b] - on_sum[a];
      ratio[i] = on > 0 ? (mid_sum[b] - mid_sum[a]) / on : 0.0;
      on_mean[i] = on / (double)(b - a);
    }
  }

  /* Per hop of an n-hop envelope, the value of the path beat at or before it
   * (the first beat's before it). */
  static std::vector<double> per_hop(std::size_t n, const std::vector<long> &hops,
                                     const std::vector<double> &v)
  {
    std::vector<double> out(n, v.empty() ? 0.0 : v[0]);
    for (std::size_t i = 0; i < hops.size(); i++) {
      const std::size_t end = i + 1 < hops.size() ? (std::size_t)std::max(0L, hops[i + 1]) : n;
      for (std::size_t h = (std::size_t)std::max(0L, hops[i]); h < std::min(n, end); h++)
        out[h] = v[i];
    }
    return out;
  }

  /* Beat level. Where the midpoints between the beats carry almost no onset
   * (midpoint ratio under kMinMidpointRatio, first over the whole song, then
   * over kLevelSpan beats either side) and swing does not explain it, the
   * path may follow a dotted rhythm (2/3 or 3/4 of the beat period) or a 3:2
   * grouping of it. Over each such stretch the tempo path scaled by 3:2, 4:3,
   * 3:4 and 2:3 is tried: an alternative qualifies where the song's tempo
   * salience at the scaled tempo is at least half that at the tempo, its own
   * midpoint ratio reaches kAltMidpointRatio and its beats keep at least
   * kAltOnset of the onset strength (a plain click track has nothing between
   * its beats either); the one with the most midpoint onset times salience
   * is taken, and the beat path is tracked again on the tempo so mended.
   * Extends the 3:2 check of the first version, which looked at the whole
   * song only. Before that, double_even_level() takes the double tempo
   * where the midpoints are as strong as the beats; after it,
   * regroup_even_thirds() groups the beats in twos or fours of their pulse
   * where the thirds are as strong as the beats. */
  static void beat_level(const std::vector<float> &e, const std::vector<double> &salience,
                         std::vector<double> &bpm, std::vector<long> &hops, double min_bpm,
                         double max_bpm)
  {
    const std::size_t whole = std::numeric_limits<std::size_t>::max() / 4;
    double_even_level(e, bpm, hops, max_bpm);
    mend_beat_level(e, salience, bpm, hops, whole, min_bpm, max_bpm);
    mend_beat_level(e, salience, bpm, hops, kLevelSpan, min_bpm, max_bpm);
    regroup_even_thirds(e, salience, bpm, hops, min_bpm, max_bpm);
  }

  /* The tempo path (tempo_path(), then beat_level()) and its beats, within
   * config's range. The beat-level rules correct the level the comb and
   * prior chose by the beats' structure (recorded-stg0: the comb picks 100
   * BPM, the even thirds regroup it to 150), so they must start from that
   * level: the path over the whole range is found first and kept where it
   * lies within config's range. Only otherwise is the path sought within
   * the range (zeroing the salience outside it before the Viterbi pass, as
   * before): there the comb's choice among in-range tempi, not the rules,
   * decides, and recorded-stg0 at 105-160 read 120 (5 of its sixteenths,
   * as much comb as 150 and more prior). A range that holds the whole-range
   * answer then never changes it. A range that holds half of it takes
   * every other whole-range beat where the chord changes tell which
   * (halve_on_harmony()); only otherwise is the path sought within it. */
  std::vector<double> level_path(const std::vector<float> &e, std::vector<double> &clar,
                                 std::vector<long> &hops,
                                 std::vector<long> *whole_hops = nullptr) const
  {
    const bool limited = config.min_bpm > kMinBpm || config.max_bpm < kMaxBpm;
    for (int pass = limited ? 0 : 1; pass < 2; pass++) {
      const double lo = pass == 0 ? kMinBpm : config.min_bpm,
                   hi = pass == 0 ? kMaxBpm : config.max_bpm;
      std::vector<double> salience;
      clar.clear();
      std::vector<double> bpm = tempo_path(e, clar, salience, lo, hi);
      hops = beat_path(e, bpm);
      if (hops.empty())
        return bpm;
      beat_level(e, salience, bpm, hops, lo, hi);
      if (pass == 1 || std::all_of(bpm.begin(), bpm.end(), [&](double b) {
            return b >= config.min_bpm && b <= config.max_bpm;
          }))
        return bpm;
      if (halve_on_harmony(bpm, hops))
        return bpm;
      /* The whole range's reading, for the range check (finish()). */
      if (whole_hops)
        *whole_hops = hops;
    }
    return {};
  }

  /* Where config's range lies under the whole-range tempo path (bpm, one
   * per hop; its median) and holds half of it (to within one kBpmStep: the
   * path's tempi are the grid's; a stretch the path reads at another level
   * is halved with the rest), keeps the beats (hops, the path's)
   * of the parity on which the chords change (beatmeter::harmonic_parity(),
   * counted by beat_numbers()), halves bpm and returns true; false, both
   * unchanged, where the range does not hold the half or the chord changes
   * do not tell. The path sought within the range instead follows the
   * onsets, and where the off-beats carry as much onset as the beats (a
   * song notated at 90 whose eighth notes are accented on the "and"s),
   * it took the off-beats: train_filled_with_cash at 60-120 and hard-104
   * (70, read 140) at 50-100 had every beat on the off-beat (F 0.00,
   * 0.03), and hard-13 (40, read 80) at 40-60 read 53 (a 2:3 level, F 0.51);
   * the chord-change parity holds the notated beats on all three. */
  bool halve_on_harmony(std::vector<double> &bpm, std::vector<long> &hops) const
  {
    std::vector<double> sorted = bpm;
    std::nth_element(sorted.begin(), sorted.begin() + (long)sorted.size() / 2, sorted.end());
    const double median = sorted[sorted.size() / 2];
    if (median <= config.max_bpm || median / 2 * kBpmStep < config.min_bpm ||
        median / 2 > config.max_bpm * kBpmStep)
      return false;
    std::vector<GstClockTime> times;
    times.reserve(hops.size());
    for (long h : hops)
      times.push_back(frame_to_ns((double)h));
    const std::vector<double> harmony = chord_change(times);
    if (harmony.empty())
      return false;
    const std::vector<long> number = beatmeter::beat_numbers(times);
    const int parity = beatmeter::harmonic_parity(harmony, number);
    if (parity < 0)
      return false;
    std::vector<long> kept;
    for (std::size_t i = 0; i < hops.size(); i++)
      if (number[i] % 2 == parity)
        kept.push_back(hops[i]);
    hops = std::move(kept);
    for (double &b : bpm)
      b /= 2;
    return true;
  }

  /* Doubles the tempo path and tracks the beats again when the midpoints
   * between the beats carry kEvenMidpointRatio of their onset strength over
   * the whole song and the doubled path stays at or under max_bpm. */
  static void double_even_level(const std::vector<float> &e, std::vector<double> &bpm, std::vector<long> &hops,
                                double max_bpm)
  {
    if (hops.size() < 8)
      return;
    std::vector<double> ratio, on;
    local_midpoint_ratio(e, hops, ratio, on, std::numeric_limits<std::size_t>::max() / 4);
    if (ratio[0] < kEvenMidpointRatio || *std::max_element(bpm.begin(), bpm.end()) * 2 > max_bpm)
      return;
    for (double &b : bpm)
      b *= 2;
    hops = beat_path(e, bpm);
  }

  /* The largest of salience (one value per tempo_grid() tempo) within 3 %
   * of bpm; 0 where no grid tempo is that near. */
  static double salience_at(const std::vector<double> &salience, double bpm)
  {
    const std::vector<double> &grid = tempo_grid();
    double m = 0;
    for (std::size_t k = 0; k < grid.size() && k < salience.size(); k++)
      if (std::fabs(std::log(grid[k] / bpm)) <= 0.03)
        m = std::max(m, salience[k]);
    return m;
  }

  /* The regrouping an interval profile p calls for at tempo bpm: where both
   * thirds of the beat interval (positions 4 and 8 of 12) carry
   * kEvenThirdRatio of the beat's onset (position 0) or more, 1.5 or 0.75,
   * whichever has the more salience (one value per tempo_grid() tempo; the
   * 0.75 level's times slower_weight) at bpm so scaled, within
   * min_bpm..max_bpm and over half that at bpm; otherwise 1. Shared by the
   * offline regroup_even_thirds() and the live live_level(). */
  static double even_thirds_factor(const std::array<double, kSwingBins> &p,
                                   const std::vector<double> &salience, double bpm, double min_bpm,
                                   double max_bpm, double slower_weight)
  {
    static_assert(kSwingBins == 12, "thirds at positions 4 and 8");
    if (p[0] <= 0 || std::min(p[4], p[8]) < kEvenThirdRatio * p[0])
      return 1.0;
    return regrouping(salience, bpm, {1.5, 0.75}, min_bpm, max_bpm, slower_weight);
  }

  /* Of the factors f, the one whose tempo bpm * f has the most salience
   * (one value per tempo_grid() tempo; times slower_weight for f < 1),
   * within min_bpm..max_bpm and over half the salience at bpm; 1 where none
   * has. The choice of even_thirds_factor() and even_fifths_factor(). */
  static double regrouping(const std::vector<double> &salience, double bpm,
                           std::initializer_list<double> factors, double min_bpm, double max_bpm,
                           double slower_weight)
  {
    double factor = 1.0, best = 0.5 * salience_at(salience, bpm);
    for (double f : factors) {
      const double v = salience_at(salience, bpm * f) * (f < 1 ? slower_weight : 1.0);
      if (bpm * f >= min_bpm && bpm * f <= max_bpm && v > best) {
        best = v;
        factor = f;
      }
    }
    return factor;
  }

  /* Fifths: where the onsets at 1/5..4/5 of the beat interval (the whole
   * song's mean) all carry kEvenThirdRatio of the beat's onset, the beats
   * are every fifth pulse of an even pulse (quintuplets are rare); the
   * grouping in twos, fours or eights (5:2, 5:4, 5:8) with the most song
   * salience within min_bpm..max_bpm, over half that at bpm; else 1. */
  static double even_fifths_factor(const std::vector<float> &e, const std::vector<long> &hops,
                                   const std::vector<double> &salience, double bpm, double min_bpm,
                                   double max_bpm)
  {
    const std::vector<std::array<double, 5>> prof = interval_profiles<5>(e, hops);
    const std::array<double, 5> p = mean_profile(prof, 0, prof.size());
    if (p[0] <= 0 || *std::min_element(p.begin() + 1, p.end()) < kEvenThirdRatio * p[0])
      return 1.0;
    return regrouping(salience, bpm, {2.5, 1.25, 0.625}, min_bpm, max_bpm, 1.0);
  }

  /* Scales the tempo path by 3:2 or 3:4, whichever has the more song
   * salience at the path's median tempo so scaled (within min_bpm-max_bpm
   * and at least half the salience at the median), and tracks the beats
   * again when the whole song's mean beat-interval profile has both its
   * thirds (positions 4 and 8 of 12) at kEvenThirdRatio of its beat
   * (position 0) or more. */
  static void regroup_even_thirds(const std::vector<float> &e, const std::vector<double> &salience,
                                  std::vector<double> &bpm, std::vector<long> &hops, double min_bpm,
                                  double max_bpm)
  {
    if (hops.size() < 8 || salience.empty())
      return;
    const std::vector<std::array<double, kSwingBins>> prof = interval_profiles(e, hops);
    const std::array<double, kSwingBins> p = mean_profile(prof, 0, prof.size());
    std::vector<double> sorted = bpm;
    std::nth_element(sorted.begin(), sorted.begin() + (long)sorted.size() / 2, sorted.end());
    double factor =
        even_thirds_factor(p, salience, sorted[sorted.size() / 2], min_bpm, max_bpm, 1.0);
    if (factor == 1.0)
      factor = even_fifths_factor(e, hops, salience, sorted[sorted.size() / 2], min_bpm, max_bpm);
    if (factor == 1.0)
      return;
    for (double &v : bpm)
      v = std::clamp(v * factor, kMinBpm, kMaxBpm);
    hops = beat_path(e, bpm);
  }

  /* beat_level() with the midpoint ratio and the swing test over span beats
   * either side of each beat; alternatives outside min_bpm-max_bpm are not
   * tried. */
  static void mend_beat_level(const std::vector<float> &e, const std::vector<double> &salience,
                              std::vector<double> &bpm, std::vector<long> &hops, std::size_t span,
                              double min_bpm, double max_bpm)
  {
    const std::size_t n = e.size();
    if (salience.empty() || hops.size() < 2)
      return;
    std::vector<double> ratio, on;
    local_midpoint_ratio(e, hops, ratio, on, span);
    if (*std::min_element(ratio.begin(), ratio.end()) >= kMinMidpointRatio)
      return;
    /* Swing leaves the midpoints empty too. */
    {
      const std::size_t nb = hops.size();
      const std::vector<std::array<double, kSwingBins>> prof = interval_profiles(e, hops);
      for (std::size_t i = 0; i < nb; i++) {
        if (ratio[i] >= kMinMidpointRatio)
          continue;
        const std::size_t w = std::min(span, kSwingSpan);
        const std::size_t a = i > w ? i - w : 0;
        const std::size_t b = std::min(nb - 1, i + w + 1);
        if (swing_like(mean_profile(prof, a, b)))
          ratio[i] = 1.0;
      }
      if (*std::min_element(ratio.begin(), ratio.end()) >= kMinMidpointRatio)
        return;
    }
    const std::vector<double> ratio_h = per_hop(n, hops, ratio), on_h = per_hop(n, hops, on);
    auto salience_near = [&](double b) { return salience_at(salience, b); };
    /* Stretches of hops under kMinMidpointRatio, each mended as one. */
    std::vector<std::pair<std::size_t, std::size_t>> runs;
    for (std::size_t h = 0; h < n;) {
      if (ratio_h[h] >= kMinMidpointRatio) {
        h++;
        continue;
      }
      std::size_t end = h;
      while (end < n && ratio_h[end] < kMinMidpointRatio)
        end++;
      runs.emplace_back(h, end);
      h = end;
    }
    std::vector<double> factor(runs.size(), 1.0), best(runs.size(), 0.0);
    bool any = false;
    for (double f : {1.5, 4.0 / 3.0, 0.75, 2.0 / 3.0}) {
      std::vector<double> scaled = bpm;
      for (double &v : scaled)
        v = std::clamp(v * f, kMinBpm, kMaxBpm);
      std::vector<long> alt = beat_path(e, scaled);
      std::vector<double> alt_ratio, alt_on;
      local_midpoint_ratio(e, alt, alt_ratio, alt_on, span);
      const std::vector<double> alt_ratio_h = per_hop(n, alt, alt_ratio);
      const std::vector<double> alt_on_h = per_hop(n, alt, alt_on);
      for (std::size_t r = 0; r < runs.size(); r++) {
        const auto [from, to] = runs[r];
        double base_on = 0, a_on = 0, a_ratio = 0;
        for (std::size_t h = from; h < to; h++) {
          base_on += on_h[h];
          a_on += alt_on_h[h];
          a_ratio += alt_ratio_h[h];
        }
        const double len = (double)(to - from);
        base_on /= len;
        a_on /= len;
        a_ratio /= len;
        std::vector<double> run_bpm(bpm.begin() + (long)from, bpm.begin() + (long)to);
        std::nth_element(run_bpm.begin(), run_bpm.begin() + (long)run_bpm.size() / 2, run_bpm.end());
        const double b0 = run_bpm[run_bpm.size() / 2];
        const double s0 = salience_near(b0), s1 = salience_near(b0 * f);
        if (s0 <= 0 || s1 < 0.5 * s0 || b0 * f < min_bpm || b0 * f > max_bpm)
          continue;
        if (a_ratio >= kAltMidpointRatio && a_on >= kAltOnset * base_on && a_ratio * s1 > best[r]) {
          best[r] = a_ratio * s1;
          factor[r] = f;
          any = true;
        }
      }
    }
    if (!any)
      return;
    for (std::size_t r = 0; r < runs.size(); r++)
      for (std::size_t h = runs[r].first; h < runs[r].second; h++)
        bpm[h] *= factor[r];
    hops = beat_path(e, bpm);
  }

  /* whole_beats, if given, receives the beats of the whole range's tempo
   * path where config's range made the path be sought within it (pass 0
   * of level_path(), before the clean-up below); else it is left empty. */
  void whole_song(std::vector<GstClockTime> &beats, std::vector<double> &conf,
                  std::vector<GstClockTime> *whole_beats = nullptr) const
  {
    const std::size_t n = flux.size();
    if (n < 64)
      return;
    std::vector<float> e = envelope();
    std::vector<double> clar;
    std::vector<long> hops, whole_hops;
    std::vector<double> bpm = level_path(e, clar, hops, whole_beats ? &whole_hops : nullptr);
    if (whole_beats)
      for (long h : whole_hops)
        whole_beats->push_back(frame_to_ns((double)std::max(0L, h)));
    if (hops.empty())
      return;

    swing_phase(e, hops);

    /* No beats where the window has no pulse (kMinRhythmClarity): the path
     * crosses such a stretch (an intro of noise or a pad, a break) on a grid
     * of its own making. The beats before the first window with a pulse
     * (the intro) are set aside: the lead-in rule below decides them. */
    std::vector<long> intro;
    while (intro.size() < hops.size() && clar[(std::size_t)hops[intro.size()]] < kMinRhythmClarity)
      intro.push_back(hops[intro.size()]);
    hops.erase(std::remove_if(hops.begin(), hops.end(),
                              [&](long h) { return clar[(std::size_t)h] < kMinRhythmClarity; }),
               hops.end());
    if (hops.empty())
      return;

    auto support = [&](long c) {
      double m = 0;
      for (long k = c - 2; k <= c + 2; k++)
        if (k >= 0 && k < (long)n)
          m = std::max(m, (double)e[(std::size_t)k]);
      return m;
    };
    double mean_support = 0;
    for (long h : hops)
      mean_support += support(h);
    mean_support /= (double)hops.size();
    /* Leading and trailing beats on weak onsets (under half the mean
     * support) are dropped. Then the lead-in, from the first beat left to
     * the first steady run (a beat on such an onset with 2 of the 3 after
     * it too), and the tail, from the last steady run on, are judged on
     * their own: where that stretch (2 s or more, the first and last beat's
     * own onsets left out) has no pulse (clarity under kMinRhythmClarity,
     * or an envelope that does not spread: kMinPulseSpread),
     * only its beats on onsets of half the mean support, or 3 times the
     * stretch's median, are kept. A song that opens on one hit and a pad,
     * or on a few seconds of noise, keeps the hit's beat, not the grid the
     * path lays over the rest: the 8 s tempo windows there still hold the
     * music that follows. But where the whole lead-in, from the path's
     * first beat (the intro set aside above included) to the first steady
     * run, has a pulse of its own, all its beats stay, weak or not, in
     * tempo windows under kMinRhythmClarity or not. Without that, the
     * beats of a quiet intro with a pulse stayed only by chance:
     * relax_song's hi-hat intro (0-10 s) has clarity 0.63 as a stretch,
     * but its first tempo window (0-8 s, clamped at the start) scored 0.522
     * from FLAC and 0.488 from the same song as AAC, resampled to 8 kHz,
     * low-passed at 4 kHz, delayed by 1024 samples or 20 dB quieter, and
     * its beats sit on onsets under half the song's mean: all of them went
     * unless the first beat was a strong one (the first note on the first
     * sample). docs/beat-benchmark.md, "Intro beats and band-limited
     * input". */
    const double trim = 0.5 * mean_support;
    auto strong = [&](long i) { return i >= 0 && i < (long)hops.size() && support(hops[(std::size_t)i]) >= trim; };
    auto steady_from = [&](long i, long dir) {
      int count = 0;
      for (long k = 0; k < 4; k++)
        count += strong(i + dir * k);
      return strong(i) && count >= 3;
    };
    long first = 0, last = (long)hops.size();
    while (first < last && !strong(first))
      first++;
    while (last > first && !strong(last - 1))
      last--;
    std::vector<bool> keep(hops.size(), false);
    for (long i = first; i < last; i++)
      keep[(std::size_t)i] = true;
    /* Whether the envelope between the beats at hops h0 and h1 (their own
     * onsets left out) has a pulse; nullopt where that is under 2 s. */
    auto pulse_between = [&](long h0, long h1) -> std::optional<bool> {
      const long a = h0 + 3, b = h1 - 3;
      if (b - a < (long)(2.0 * kFps))
        return std::nullopt;
      SlidingAutocorr stretch;
      stretch.move_to(e, a, b);
      std::vector<double> s = tempo_salience(stretch);
      in_range(s);
      return clarity(s) >= kMinRhythmClarity && envelope_spread(e, a, b) >= kMinPulseSpread;
    };
    auto judge = [&](long from, long to) {
      if (to - from < 2)
        return;
      const std::optional<bool> pulse =
          pulse_between(hops[(std::size_t)from], hops[(std::size_t)to - 1]);
      if (!pulse || *pulse)
        return;
      /* A beat on an onset that stands out of the stretch (3 times its
       * median support: the first note after the intro) stays too. */
      std::vector<double> sup;
      for (long i = from; i < to; i++)
        sup.push_back(support(hops[(std::size_t)i]));
      std::nth_element(sup.begin(), sup.begin() + (long)sup.size() / 2, sup.end());
      const double stands_out = 3.0 * sup[sup.size() / 2];
      for (long i = from; i < to; i++)
        if (!strong(i) && support(hops[(std::size_t)i]) < stands_out)
          keep[(std::size_t)i] = false;
    };
    long lead = first, tail = last;
    while (lead < last && !steady_from(lead, +1))
      lead++;
    while (tail > lead && !steady_from(tail - 1, -1))
      tail--;
    /* The whole lead-in, from the path's first beat to the first steady
     * run's: with a pulse, every beat of it stays. */
    const bool intro_pulse =
        lead < last && (first > 0 || !intro.empty()) &&
        pulse_between(intro.empty() ? hops[0] : intro[0], hops[(std::size_t)lead]).value_or(false);
    if (intro_pulse) {
      for (long i = 0; i < lead; i++)
        keep[(std::size_t)i] = true;
      keep.insert(keep.begin(), intro.size(), true);
      hops.insert(hops.begin(), intro.begin(), intro.end());
      lead += (long)intro.size();
      tail += (long)intro.size();
      last += (long)intro.size();
    } else {
      /* Without a steady run (lead == last: a few beats, a short input) the
       * whole span is the lead-in. */
      judge(first, std::min(lead + 1, last));
    }
    judge(tail - 1, last);
    for (std::size_t i = 0; i < hops.size(); i++) {
      if (!keep[i])
        continue;
      const long h = hops[i];
      const double period = 60.0 / bpm[(std::size_t)h] * kFps;
      if (!loud_between((double)h - period / 2, (double)h + period / 2))
        continue;
      double frac = 0;
      if (h > 0 && h + 1 < (long)n && e[h] >= e[h - 1] && e[h] >= e[h + 1])
        frac = parabolic_peak(e[h - 1], e[h], e[h + 1]);
      GstClockTime t = frame_to_ns((double)h + frac);
      if (beats.empty() || t > beats.back()) {
        beats.push_back(t);
        conf.push_back(clar[(std::size_t)h] * std::min(1.0, support(h) / std::max(1e-9, mean_support)));
      }
    }
  }

  /* Whether the chroma is noise rather than harmony (kNoiseChromaFlatness,
   * kNoiseChromaChange), given the chord change at each beat
   * (chord_change()). False without chroma. */
  bool chroma_noise(const std::vector<double> &change) const
  {
    if (chroma_band_power <= 0 || change.empty() ||
        chroma_flat_power < kNoiseChromaFlatness * chroma_band_power)
      return false;
    std::vector<double> c;
    for (double x : change)
      if (x > 0)
        c.push_back(x);
    if (c.empty())
      return false;
    std::nth_element(c.begin(), c.begin() + (long)c.size() / 2, c.end());
    return c[c.size() / 2] >= kNoiseChromaChange;
  }

  /* Meter and bar positions of a beat sequence: 3 or 4 beats per bar, the
   * one at which the beat intervals' band levels repeat most closely (a bar
   * is the period of the pattern), with the phase whose beats carry the most
   * bass onset, the most change of the band spectrum from the previous
   * beat interval (a new chord, a kick) and the most chord change (unless
   * the chroma is noise: chroma_noise()); where they do not decide the
   * phase, the bar starts where the music does (start_count()). Where the
   * tempo steps (tempo_steps()), each section gets its phase so, the meter
   * staying the song's (a later section's start is its first beat), and
   * the confidence is the least of the sections'. per_bar = 0
   * (and all positions 0) with fewer than 8 beats. confidence:
   * beatmeter::meter_of()'s. */
  std::vector<guint> meter(const std::vector<GstClockTime> &beats, guint &per_bar,
                           double *confidence) const
  {
    per_bar = 0;
    *confidence = 0.0;
    const std::size_t nb = beats.size();
    const long n = (long)flux.size();
    if (nb < 8 || n == 0)
      return std::vector<guint>(nb, 0);
    std::vector<double> bass_acc(nb, 0.0), novelty(nb, 0.0);
    /* feat[i]: the mean band levels of beat interval i. */
    std::vector<std::vector<double>> feat(nb, std::vector<double>(kBands, 0.0));
    /* L1 distance between the band levels of beat intervals i and j. */
    auto distance = [&](std::size_t i, std::size_t j) {
      double d = 0;
      for (int b = 0; b < kBands; b++)
        d += std::fabs(feat[i][(std::size_t)b] - feat[j][(std::size_t)b]);
      return d;
    };
    for (std::size_t i = 0; i < nb; i++) {
      long h = std::clamp((long)std::lround(ns_to_frame(beats[i])), 0L, n - 1);
      for (long k = std::max(0L, h - 2); k <= std::min(n - 1, h + 2); k++)
        bass_acc[i] = std::max(bass_acc[i], (double)bass[(std::size_t)k]);
      long h2 = i + 1 < nb ? std::clamp((long)std::lround(ns_to_frame(beats[i + 1])), h + 1, n) : std::min(n, h + 40);
      std::vector<double> &cur = feat[i];
      for (long k = h; k < h2; k++)
        for (int b = 0; b < kBands; b++)
          cur[(std::size_t)b] += bands[(std::size_t)k * kBands + b];
      const double cnt = (double)std::max(1L, h2 - h);
      for (double &c : cur)
        c /= cnt;
      novelty[i] = i > 0 ? distance(i, i - 1) : 0.0; /* change from the interval before */
    }
    /* A bar is the period at which the music repeats: the meter is the
     * number of beats (3 or 4) at which the beat intervals' mean band
     * levels differ least, on average over the song. */
    auto repeat_distance = [&](std::size_t m) {
      double sum = 0;
      for (std::size_t i = 0; i + m < nb; i++)
        sum += distance(i, i + m);
      return sum / (double)(nb - m);
    };
    std::vector<double> harmony = chord_change(beats);
    if (chroma_noise(harmony))
      harmony.clear();
    const std::vector<long> number = beatmeter::beat_numbers(beats);
    guint only = beatmeter::harmonic_meter(harmony, number);
    if (!only)
      only = repeat_distance(3) < repeat_distance(4) ? 3u : 4u;
    std::vector<guint> pos = beatmeter::meter_of(bass_acc, novelty, per_bar, only, harmony, number,
                                                 confidence, start_count(beats, number));
    const std::vector<std::size_t> steps = tempo_steps(beats, number);
    if (!per_bar || steps.empty())
      return pos;
    /* One bar phase per tempo: a section at a new tempo need not continue
     * the bars of the one before. The meter stays the song's; the
     * confidence is the least of the sections'. */
    double least = 1.0;
    for (std::size_t k = 0; k <= steps.size(); k++) {
      const std::size_t a = k == 0 ? 0 : steps[k - 1], b = k == steps.size() ? nb : steps[k];
      auto part = [&](const std::vector<double> &v) {
        std::vector<double> out;
        if (v.size() == nb)
          for (std::size_t i = a; i < b; i++)
            out.push_back(v[i]);
        return out;
      };
      std::vector<long> num;
      for (std::size_t i = a; i < b; i++)
        num.push_back(number[i]);
      guint m = 0;
      double c = 0.0;
      const std::optional<long> start =
          k == 0 ? start_count(beats, number) : std::optional<long>(number[a]);
      const std::vector<guint> p = beatmeter::meter_of(part(bass_acc), part(novelty), m, per_bar,
                                                       part(harmony), num, &c, start);
      if (m != per_bar)
        return pos;
      std::copy(p.begin(), p.end(), pos.begin() + (long)a);
      least = std::min(least, c);
    }
    *confidence = least;
    return pos;
  }

  /* The beats at which the tempo steps (meter()): beat i where the median
   * beat period (per count, beatmeter::beat_numbers()) of the kTempoStepSpan
   * intervals after it and of those up to it differ by kTempoStepRatio or
   * more, the largest such step within kTempoStepSpan beats, each at least
   * kMinTempoSection beats from the song's ends and from the step before.
   * Ascending; empty where the tempo holds or drifts. */
  std::vector<std::size_t> tempo_steps(const std::vector<GstClockTime> &beats,
                                       const std::vector<long> &number) const
  {
    const std::size_t nb = beats.size(), w = kTempoStepSpan;
    std::vector<std::size_t> steps;
    if (nb < 2 * kMinTempoSection)
      return steps;
    std::vector<double> period(nb, 0.0), ratio(nb, 1.0);
    for (std::size_t i = 1; i < nb; i++)
      period[i] =
          (double)(beats[i] - beats[i - 1]) / (double)std::max(1L, number[i] - number[i - 1]);
    /* The median of the kTempoStepSpan periods from `from`. */
    auto median = [&](std::size_t from) {
      std::array<double, kTempoStepSpan> v{};
      for (std::size_t k = 0; k < kTempoStepSpan; k++)
        v[k] = period[from + k];
      std::nth_element(v.begin(), v.begin() + kTempoStepSpan / 2, v.end());
      return v[kTempoStepSpan / 2];
    };
    for (std::size_t i = w; i + w < nb; i++) {
      const double before = median(i + 1 - w), after = median(i + 1);
      if (before > 0 && after > 0)
        ratio[i] = std::max(before / after, after / before);
    }
    for (std::size_t i = kMinTempoSection; i + kMinTempoSection <= nb; i++) {
      if (ratio[i] < kTempoStepRatio)
        continue;
      bool peak = true;
      for (std::size_t j = i - w; j <= i + w && j < nb; j++)
        if (ratio[j] > ratio[i] || (ratio[j] == ratio[i] && j < i))
          peak = false;
      if (peak && (steps.empty() || i - steps.back() >= kMinTempoSection))
        steps.push_back(i);
    }
    return steps;
  }

  /* The beat count (beatmeter::beat_numbers()) at which the music starts,
   * for meter_of()'s `start`: the first sound (first_sound_hop()) on the
   * grid of the first beats, counted back from the first beat by the
   * median of the first kStartSpan beat intervals, rounded. None where the
   * audio continues a stream (its first sound is where a seek landed), with
   * no sound or fewer than 2 beats, or where the first beat comes more than
   * kMaxStartBeats periods after the first sound (a grid carried back
   * further is not trusted: an intro without a pulse, a tempo that drifts). */
  std::optional<long> start_count(const std::vector<GstClockTime> &beats,
                                  const std::vector<long> &number) const
  {
    const long h0 = first_sound_hop();
    if (continues || h0 >= n_hops || beats.size() < 2)
      return std::nullopt;
    std::vector<double> ibi;
    for (std::size_t i = 1; i < beats.size() && i <= kStartSpan; i++)
      ibi.push_back((double)(beats[i] - beats[i - 1]) / (double)(number[i] - number[i - 1]));
    std::nth_element(ibi.begin(), ibi.begin() + (long)ibi.size() / 2, ibi.end());
    const double period = ibi[ibi.size() / 2];
    const double before = ((double)beats[0] - (double)frame_to_ns((double)h0)) / period;
    if (period <= 0 || before > kMaxStartBeats ||
        std::fabs(before - std::round(before)) > kStartOnBeat)
      return std::nullopt;
    return number[0] - std::lround(before);
  }

  /* The change of harmony at each beat: chord_distance() between the
   * interval_chroma() of beat interval i and of interval i - 1; 0 for the
   * first beat and where an interval has no chroma. The last beat's
   * interval is its first kLastBeatSpan hops. Empty without chroma. */
  std::vector<double> chord_change(const std::vector<GstClockTime> &beats) const
  {
    const std::size_t nb = beats.size();
    if (chroma.empty())
      return {};
    std::vector<double> change(nb, 0.0);
    std::array<double, kPitchClasses> prev{}, cur{};
    bool had = false;
    for (std::size_t i = 0; i < nb; i++) {
      const double h = ns_to_frame(beats[i]);
      const double h2 = i + 1 < nb ? ns_to_frame(beats[i + 1]) : h + (double)kLastBeatSpan;
      const bool has = interval_chroma(hop_sample(h), hop_sample(h2), cur);
      if (has && had)
        change[i] = chord_distance(cur, prev);
      prev = cur;
      had = has;
    }
    return change;
  }
};

BeatTracker::BeatTracker(guint sample_rate, const BeatTrackerConfig &config)
{
  if (sample_rate < kMinRate || sample_rate > kMaxRate)
    throw BeatTrackerError("beat tracker: sample rate " + std::to_string(sample_rate) +
                           " Hz is outside the supported 8000-192000 Hz; resample the audio "
                           "first (audioresample)");
  if (config.live_delay < 100 * GST_MSECOND || config.live_delay > 2 * GST_SECOND)
    throw BeatTrackerError("beat tracker: the live delay must be 100-2000 ms");
  if (config.energy_interval < 10 * GST_MSECOND)
    throw BeatTrackerError("beat tracker: the energy interval must be at least 10 ms");
  if (!tempo_range_ok(config.min_bpm, config.max_bpm))
    throw BeatTrackerError("beat tracker: the tempo range must lie within 40-240 BPM, its minimum below "
                           "its maximum (asked for " +
                           std::to_string(config.min_bpm) + "-" + std::to_string(config.max_bpm) + " BPM)");
  impl_ = std::make_unique<Impl>(sample_rate, config);
  if (!impl_->fft.ok())
    throw BeatTrackerError("beat tracker: FFTW could not allocate its 512-point transform (out of memory?)");
  impl_->alloc();
}

BeatTracker::~BeatTracker() = default;

guint BeatTracker::sample_rate() const
{
  return impl_->rate;
}

const BeatTrackerConfig &BeatTracker::config() const
{
  return impl_->config;
}

GstClockTime BeatTracker::duration() const
{
  return gst_util_uint64_scale(impl_->n_in, GST_SECOND, impl_->rate);
}

std::size_t BeatTracker::energy_intervals() const
{
  return impl_->energy_ms.size();
}

double BeatTracker::energy_mean_square(std::size_t k) const
{
  return k < impl_->energy_ms.size() ? impl_->energy_ms[k] : 0.0;
}

double BeatTracker::energy_open_sum_squares() const
{
  return impl_->energy_sum;
}

guint64 BeatTracker::energy_interval_start(std::size_t k) const
{
  return impl_->energy_edge(k);
}

std::size_t BeatTracker::retained_hops() const
{
  return (std::size_t)(impl_->n_hops - impl_->base);
}

std::size_t BeatTracker::retained_bytes() const
{
  return impl_->retained_bytes();
}

void BeatTracker::reset()
{
  impl_->clear();
}

void BeatTracker::set_continues_stream(bool continues)
{
  impl_->continues = continues;
}

namespace {

/* The whole boxes of RATIO (0: ratio) input samples from mono[i] on, each
 * summed in order and scaled, written to out[made...]; advances i. Returns
 * the new count. With RATIO fixed (2: 44.1 kHz, the common rate), blocks of
 * 8 boxes make loops of fixed length that the compiler vectorises at -O2. */
template <guint RATIO>
std::size_t boxes(const float *mono, std::size_t n, std::size_t &i, float scale, float *out, std::size_t made,
                  guint ratio = RATIO)
{
  const guint r = RATIO ? RATIO : ratio;
  if (RATIO)
    for (; i + 8 * r <= n; i += 8 * r, made += 8)
      for (std::size_t b = 0; b < 8; b++) {
        float sum = 0.f;
        for (guint k = 0; k < r; k++)
          sum += mono[i + b * r + k];
        out[made + b] = sum * scale;
      }
  for (; i + r <= n; i += r) {
    float sum = 0.f;
    for (guint k = 0; k < r; k++)
      sum += mono[i + k];
    out[made++] = sum * scale;
  }
  return made;
}

} // namespace

std::vector<Beat> BeatTracker::push(const float *mono, std::size_t n_samples)
{
  std::vector<Beat> out;
  Impl &d = *impl_;
  if (!mono || n_samples == 0)
    return out;
  d.measure_energy(mono, n_samples);
  /* Resample into d.block, then move it into the ring a hop at a time. */
  const guint64 first = d.n_in;
  const guint64 end = d.n_in + n_samples;
  /* At most n_samples * kAnalysisRate / rate + 2 analysis samples come out;
   * they are written by index (no push_back in these loops). */
  d.block.resize((std::size_t)((guint64)n_samples * kAnalysisRate / d.rate + 2));
  std::size_t made = 0;
  if (d.rate % kAnalysisRate == 0) {
    /* A whole multiple (44.1, 88.2, 176.4 kHz...): each analysis sample is
     * the mean of `ratio` input samples, a boxcar low-pass; box_sum and
     * box_n carry a box across pushes. */
    const guint ratio = d.rate / kAnalysisRate;
    const float scale = 1.0f / (float)ratio;
    std::size_t i = 0;
    while (i < n_samples) {
      if (d.box_n == 0) {
        /* Whole boxes straight from the buffer. */
        if (ratio == 2)
          made = boxes<2>(mono, n_samples, i, scale, d.block.data(), made);
        else
          made = boxes<0>(mono, n_samples, i, scale, d.block.data(), made, ratio);
        if (i == n_samples)
          break;
      }
      d.box_sum += mono[i++];
      if (++d.box_n == ratio) {
        d.block[made++] = d.box_sum * scale;
        d.box_sum = 0.f;
        d.box_n = 0;
      }
    }
  } else {
    /* Linear interpolation: analysis sample k at input position
     * k * rate / kAnalysisRate, i.e. input sample i plus rem / kAnalysisRate,
     * stepped without a division per sample. */
    const guint step_i = d.rate / kAnalysisRate, step_rem = d.rate % kAnalysisRate;
    const guint64 pos = d.n_out * d.rate;
    guint64 i = pos / kAnalysisRate;
    guint rem = (guint)(pos % kAnalysisRate);
    while (i + 1 < end) {
      const float frac = (float)rem / (float)kAnalysisRate;
      const float x0 = i < first ? d.prev : mono[i - first];
      const float x1 = mono[i + 1 - first];
      d.block[made++] = x0 + (x1 - x0) * frac;
      d.n_out++;
      i += step_i;
      rem += step_rem;
      if (rem >= kAnalysisRate) {
        rem -= kAnalysisRate;
        i++;
      }
    }
  }
  /* kWindow is a multiple of kHop and a hop starts at a multiple of kHop in
   * the ring, so the samples up to the end of a hop never wrap around. */
  d.block.resize(made);
  std::size_t done = 0;
  while (done < d.block.size()) {
    const std::size_t take = std::min<std::size_t>(kHop - d.fill, d.block.size() - done);
    std::copy(d.block.begin() + (long)done, d.block.begin() + (long)(done + take),
              d.ring.begin() + (long)(d.total % kWindow));
    done += take;
    d.total += take;
    d.fill += (guint)take;
    if (d.fill == kHop) {
      d.fill = 0;
      d.process_hop((std::size_t)(d.total % kWindow), out);
    }
  }
  d.prev = mono[n_samples - 1];
  d.n_in = end;
  return out;
}

namespace {

/* Absorbs the sections shorter than min_len, shortest first (the earliest
 * of equal ones), until none is left or only one section remains: one
 * between two others is split at its middle between them, or all three
 * become one when the two are at the same level; one at either end joins
 * its only neighbour. The sections stay back to back and cover the same
 * span. */
void absorb_short_sections(std::vector<Section> &sections, GstClockTime min_len)
{
  while (sections.size() > 1) {
    std::size_t k = sections.size();
    for (std::size_t i = 0; i < sections.size(); i++) {
      const GstClockTime len = sections[i].end - sections[i].start;
      if (len < min_len && (k == sections.size() || len < sections[k].end - sections[k].start))
        k = i;
    }
    if (k == sections.size())
      return;
    if (k == 0) {
      sections[1].start = sections[0].start;
    } else if (k + 1 == sections.size()) {
      sections[k - 1].end = sections[k].end;
    } else if (sections[k - 1].level == sections[k + 1].level) {
      sections[k - 1].end = sections[k + 1].end;
      sections.erase(sections.begin() + (long)k + 1);
    } else {
      const GstClockTime middle = sections[k].start + (sections[k].end - sections[k].start) / 2;
      sections[k - 1].end = middle;
      sections[k + 1].start = middle;
    }
    sections.erase(sections.begin() + (long)k);
  }
}

/* Stretches of at least this length without beats (at the song's start or
 * end, or silent between two beats) are no music to the sections
 * (music_intervals()). 2 s: over a bar at most tempos (4 beats at 120 BPM),
 * so an upbeat or a pickup before the first beat, and a ring-out after the
 * last one, stay music; a choice, not a measurement. */
constexpr GstClockTime kNoMusicMin = 2 * GST_SECOND;

/* Which energy intervals (`interval` ns each, curve's length) hold music,
 * for the sections: false over a stretch of kNoMusicMin or more before the
 * first beat, after the last beat's interval (the median beat interval from
 * it), or between two beats where the curve is all silence (0). All true
 * with fewer than two beats, or when nothing would be left. */
std::vector<bool> music_intervals(const std::vector<GstClockTime> &beats,
                                  const std::vector<double> &curve, GstClockTime interval)
{
  const std::size_t m = curve.size();
  std::vector<bool> music(m, true);
  if (beats.size() < 2 || interval == 0)
    return music;
  std::vector<GstClockTime> steps;
  for (std::size_t i = 1; i < beats.size(); i++)
    steps.push_back(beats[i] - beats[i - 1]);
  std::nth_element(steps.begin(), steps.begin() + (long)steps.size() / 2, steps.end());
  const GstClockTime beat = steps[steps.size() / 2];
  /* [a, b) song time: intervals wholly inside it are no music */
  auto clear = [&](GstClockTime a, GstClockTime b, bool only_silent) {
    const std::size_t from = (std::size_t)((a + interval - 1) / interval);
    const std::size_t to = std::min<std::size_t>(m, (std::size_t)(b / interval));
    if (from >= to)
      return;
    if (only_silent)
      for (std::size_t k = from; k < to; k++)
        if (curve[k] > 0.0)
          return;
    for (std::size_t k = from; k < to; k++)
      music[k] = false;
  };
  if (beats.front() >= kNoMusicMin)
    clear(0, beats.front(), false);
  const GstClockTime after = beats.back() + beat;
  if ((GstClockTime)m * interval >= after + kNoMusicMin)
    clear(after, (GstClockTime)m * interval, false);
  for (std::size_t i = 1; i < beats.size(); i++)
    if (beats[i] - beats[i - 1] >= kNoMusicMin + beat)
      clear(beats[i - 1] + beat, beats[i], true);
  if (std::find(music.begin(), music.end(), true) == music.end())
    music.assign(m, true);
  return music;
}

} // namespace

SongAnalysis BeatTracker::finish(std::vector<double> *beat_confidence,
                                 TempoRangeCheck *range_check) const
{
  const Impl &d = *impl_;
  SongAnalysis song;
  song.duration = duration();
  std::vector<double> conf;
  if (range_check)
    *range_check = TempoRangeCheck{};
  if (d.config.whole_song) {
    std::vector<GstClockTime> whole;
    d.whole_song(song.beats, conf, range_check ? &whole : nullptr);
    if (range_check && !whole.empty())
      *range_check = check_tempo_range(song.beats, whole, d.config.min_bpm, d.config.max_bpm);
  } else {
    for (const Impl::Cue &c : d.cues) {
      song.beats.push_back(c.time);
      conf.push_back(c.confidence);
    }
  }
  song.bpm = bpm_from_beats(song.beats);
  if (!conf.empty()) {
    std::vector<double> c = conf;
    std::nth_element(c.begin(), c.begin() + (long)c.size() / 2, c.end());
    song.confidence = c[c.size() / 2];
  }
  if (beat_confidence)
    *beat_confidence = conf;

  /* The whole-song pass has every hop; the causal beats carry their cues
   * (config.whole_song off keeps only the last hops). */
  guint per_bar = 0;
  double meter_confidence = 0.0;
  std::vector<guint> pos;
  if (d.config.whole_song) {
    pos = d.meter(song.beats, per_bar, &meter_confidence);
  } else if (d.n_hops > 0) {
    std::vector<double> bass_acc, novelty, harmony;
    d.cue_features(0, bass_acc, novelty, harmony);
    pos = beatmeter::causal_meter(bass_acc, novelty, harmony, per_bar,
                                  beatmeter::beat_numbers(d.cue_times(0)), &meter_confidence);
  }
  if (per_bar) {
    song.beats_per_bar = per_bar;
    song.meter_confidence = meter_confidence;
    for (guint p : pos)
      song.downbeats.push_back(p == 1);
  }

  /* Energy per beat interval, from the hop boundary before each beat (the
   * causal beats' sums were taken when they came). */
  const std::size_t hops = (std::size_t)d.n_hops;
  auto hop_of = [&](GstClockTime t) { return std::min(hops, (std::size_t)std::max(0.0, hop_before(t))); };
  song.beat_energy.assign(song.beats.size(), 0.0);
  double peak = 0;
  for (std::size_t i = 0; i < song.beats.size(); i++) {
    std::size_t a = hop_of(song.beats[i]);
    std::size_t b = i + 1 < song.beats.size() ? hop_of(song.beats[i + 1]) : hops;
    const bool next = b > a;
    if (b <= a)
      b = std::min(hops, a + 1);
    double sum = 0;
    if (d.config.whole_song) {
      for (std::size_t h = a; h < b; h++)
        sum += d.hop_sumsq[h];
    } else {
      const Impl::Cue &c = d.cues[i];
      const double end = !next ? c.sumsq_before + c.sumsq_hop
                               : i + 1 < d.cues.size() ? d.cues[i + 1].sumsq_before : d.sumsq_total;
      sum = std::max(0.0, end - c.sumsq_before);
    }
    /* The last beat's interval runs to the end of the audio; where that is
     * shorter than the interval before it (a song or click track stopping
     * right after its last beat), it is measured over that length, as the
     * others are: the missing part counts as silence. */
    std::size_t length = b - a;
    if (i + 1 == song.beats.size() && i > 0 && next) {
      const std::size_t before = hop_of(song.beats[i - 1]);
      if (a > before)
        length = std::max(length, a - before);
    }
    double rms = b > a ? std::sqrt(sum / (double)(length * kHop)) : 0.0;
    song.beat_energy[i] = rms;
    peak = std::max(peak, rms);
  }
  for (double &v : song.beat_energy)
    v = peak > 0 ? v / peak : 0.0;

  /* Energy curve: the intervals completed as the samples came, then the
   * last one, partial, when it has any audio. */
  song.energy_interval = d.config.energy_interval;
  for (double ms : d.energy_ms)
    song.energy_curve.push_back(energy_from_db(mean_square_db(ms), d.config.silence_db));
  const guint64 last_start = d.energy_edge(d.energy_ms.size());
  if (d.n_in > last_start)
    song.energy_curve.push_back(energy_from_db(
        mean_square_db(d.energy_sum / (double)(d.n_in - last_start)), d.config.silence_db));

  /* Sections: the curve smoothed over 3 s (centred, so a step in loudness
   * stays where it is), split into thirds of the 10-90 % range of the
   * music's smoothed curve. The music is the song less its stretches
   * without music (music_intervals()): a beatless stretch of
   * kNoMusicMin or more before the first beat or after the last one (a
   * silent or unrhythmic intro, a silent tail), or between two beats with
   * its curve all silence (under silence_db). Those are low, the calm pace
   * of a stretch with nothing to cut on, and count neither in the range
   * nor in the smoothing of the music next to them. (Counted, 15 s of
   * silence before a flat song made its range 0..1 and the whole song
   * high: a trial's montage was cut on every beat instead of every other.)
   * A music curve whose 10-90 % range is under 0.05 has no contrast of its
   * own (silence, a tone, a brick-walled master): it is one level, medium
   * (the planner's neutral pace), or low when its median lies in the
   * lowest third of energy_from_db()'s 0..1 (quieter than silence_db * 2 /
   * 3, -40 dBFS by default), so silence is low. (Judged on the absolute
   * scale throughout, a flat loud master came out high, and the demo's
   * song was cut on every beat instead of every other.) A song with no
   * beats (or none but one), or none outside such stretches, is judged as
   * music throughout. Runs shorter than 4 s
   * are then absorbed, shortest first: one between two others is split at
   * its middle between them (or joins them when they are at the same
   * level), so the medium run that the smoothing leaves on a step from low
   * to high puts the boundary mid-way instead of 1.5-2 s after the step;
   * one at either end joins its only neighbour. */
  const std::size_t m = song.energy_curve.size();
  if (m > 0 && GST_CLOCK_TIME_IS_VALID(song.duration)) {
    const long half = std::max(1L, (long)std::lround(1.5 * GST_SECOND / (double)d.config.energy_interval));
    const std::vector<bool> music =
        music_intervals(song.beats, song.energy_curve, d.config.energy_interval);
    std::vector<double> sm(m, 0.0), sorted;
    for (std::size_t k = 0; k < m; k++) {
      if (!music[k])
        continue;
      long a = std::max(0L, (long)k - half), b = std::min((long)m, (long)k + half + 1);
      double sum = 0;
      long n = 0;
      for (long j = a; j < b; j++) {
        if (music[(std::size_t)j]) {
          sum += song.energy_curve[(std::size_t)j];
          n++;
        }
      }
      sm[k] = sum / (double)n;
      sorted.push_back(sm[k]);
    }
    std::sort(sorted.begin(), sorted.end());
    const std::size_t n = sorted.size();
    const double p10 = sorted[n / 10], p90 = sorted[std::min(n - 1, n * 9 / 10)];
    const double r = p90 - p10;
    const bool flat = r < 0.05;
    const double mid = sorted[(n - 1) / 2];
    auto level = [&](std::size_t k) {
      const double v = sm[k];
      if (!music[k])
        return Section::Level::kLow;
      if (flat)
        return mid < 1.0 / 3 ? Section::Level::kLow : Section::Level::kMedium;
      if (v < p10 + r / 3)
        return Section::Level::kLow;
      if (v > p10 + 2 * r / 3)
        return Section::Level::kHigh;
      return Section::Level::kMedium;
    };
    for (std::size_t k = 0; k < m; k++) {
      GstClockTime start = k * d.config.energy_interval;
      GstClockTime stop = std::min<GstClockTime>(song.duration, (k + 1) * d.config.energy_interval);
      if (stop <= start)
        break;
      Section::Level l = level(k);
      if (!song.sections.empty() && song.sections.back().level == l)
        song.sections.back().end = stop;
      else
        song.sections.push_back({start, stop, l});
    }
    absorb_short_sections(song.sections, 4 * GST_SECOND);
  }
  return song;
}

} // namespace montage
