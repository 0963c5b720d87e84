/* gst-montage: beat tracker core (plain C++, no pads or caps).
 *
 * BeatTracker takes mono float samples at any rate from 8 to 192 kHz,
 * resamples them to a fixed 22050 Hz analysis rate (so results do not depend
 * on the input rate) and keeps one onset-strength value per 256-sample hop
 * (86.1 frames per second): a log-compressed spectral flux over 24 mel-spaced
 * bands of a 512-point Hann-windowed FFT (FFTW's single-precision
 * real-input transform, as aubio uses it), with a bass-band flux and the
 * band spectrum kept for downbeats. On that envelope it finds beats
 * in two ways:
 *
 *  - causal, while samples come in (push()): every 0.5 s the tempo is
 *    estimated from the last 8 s of the envelope (autocorrelation summed at 1-4
 *    times each candidate beat period, a comb, times a log-normal tempo prior
 *    centred on 120 BPM, one octave wide, and a preference for the previous
 *    tempo: another level takes over with 1.25 times its salience); a
 *    forward dynamic-programming pass (Ellis, "Beat Tracking by Dynamic
 *    Programming", JNMR 2007) runs on every hop with that tempo, and a beat
 *    on the best path is confirmed once config.live_delay of audio follows
 *    it, but none before a pulse has been heard: the last 4 s of the
 *    envelope must hold onsets that stand out of a quiet background and
 *    recur one beat period apart (noise, a pad, a steady tone get no
 *    beats; once heard, the pulse is kept until reset()). The swing rule
 *    below moves a beat found on the swung off-beat back onto the beat,
 *    judged from the 8-16 beat intervals before it on the grid its own
 *    phase implies. Meter and downbeats come from the same accents as offline, over the last 64
 *    causal beats, re-estimated every fourth beat; where the chord changes
 *    do not decide the meter (they need 64 beats), the bass onset and
 *    band novelty do (3 must win by 0.1 z-units).
 *
 *  - whole song (finish()): the tempo is estimated in 8 s windows every 1 s
 *    with the same comb and prior, and a Viterbi pass over the windows picks a
 *    tempo path that may drift or jump (a change costs in proportion to its
 *    size in octaves); the Ellis dynamic programming (tightness 400, as
 *    NOTES.md measured) then follows that local tempo over the whole song.
 *    Beat level: where the midpoints between the beats carry almost no onset
 *    (over the whole song, then over 8 beats either side) and that is not
 *    explained by swing, the beats may follow a dotted rhythm or a 3:2
 *    grouping; there the tempo path scaled by 3:2, 4:3, 3:4 or 2:3 is taken
 *    if its beats still sit on onsets and its midpoints carry some, and the
 *    beats are tracked again. Swing rule: music divides a beat long-short
 *    (swung eighths at ~2/3 of the beat), so where the envelope folded over
 *    the beat intervals (12 positions, 8 beats either side) shows a strong
 *    sub-beat onset at 1/3-5/12 of the interval and from the midpoint to
 *    5/6 under 0.45 of it (a triplet's third note at most), the beat was
 *    put on the swung off-beat and moves onto that onset. Leading and trailing
 *    beats on weak onsets and beats over silence are dropped; so are beats
 *    whose 8 s tempo window has no pulse (comb clarity under 0.5: noise, a pad,
 *    a hum), and the weak beats of a lead-in before the first steady run (or a
 *    tail after the last) that has no pulse of its own (an intro of a pad after
 *    one hit keeps the hit's beat only); a lead-in that has a pulse of its own
 *    keeps all its beats, weak ones and those in 8 s windows under 0.5 included
 *    (a quiet intro of hi-hats, whichever its band limit, codec delay or
 *    level). Meter (3 or 4 beats per bar): where the chords change on one beat
 *    of the bar far more than on the others at 3 or at 4 beats, that; else the
 *    period at which the beat intervals' mean band levels repeat most closely
 *    (a bar is the period of the pattern). The downbeat phase is the one whose
 *    first beats carry the most bass onset, spectral change and change of
 *    chord, the beats counted across gaps (a gap of about k beat periods counts
 *    k). Chords come from a chroma (power per pitch class, 180 Hz-2.5 kHz) of a
 *    512-point FFT of the signal averaged down to 5.5 kHz (93 ms windows every
 *    4 hops).
 *
 * Tempo (BPM) always comes from the beat sequence (bpm_from_beats), not from
 * a tempo estimator. Stretches quieter than config.silence_db get no beats.
 *
 * Memory: the whole-song pass needs the envelope of the whole song, so with
 * config.whole_song every hop is kept: 148 bytes a hop (12 of them chroma),
 * about 46 MB per hour of audio (up to twice that while a vector grows; 76 MB
 * measured after an hour). Without it (live) only the last 16-32 s of hops are kept (about
 * 0.5 MB) plus 56 bytes per causal beat and 8 bytes per energy_interval for
 * finish(): about 0.6 MB per hour at 120 BPM and 100 ms (1.6 MB in all
 * measured after an hour, vector slack included).
 *
 * Times are GstClockTime nanoseconds counted from the first sample pushed
 * since construction or the last reset().
 *
 * Not thread-safe: one thread at a time per object.
 */
#pragma once

#include <gst/gst.h>
#include <gst/montage/types.h>

#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace montage {

/* Thrown by BeatTracker's constructor on an unusable configuration (sample
 * rate, live delay or energy interval out of range, FFTW failing to
 * allocate). The message is a sentence a user can act on. */
class BeatTrackerError : public std::invalid_argument {
public:
  using std::invalid_argument::invalid_argument;
};

/* One beat. */
struct Beat {
  GstClockTime time = 0;   /* ns from the first sample pushed */
  double bpm = 0.0;        /* tempo so far, from the beat sequence (0 = unknown: live, the first
                              three beats and a tempo over 8 % outside min_bpm..max_bpm) */
  double confidence = 0.0; /* 0..1: how clearly the tempo stands out (comb peak over mean) times
                              how strongly an onset marks this beat */
  double strength = 0.0;   /* onset strength at the beat, in standard deviations of the causal
                              onset envelope: its high-passed flux over the root mean square of
                              that flux from the first hop not quiet up to the beat's return
                              (8 s time constant, weighted over those hops only, so the first
                              beats are on the scale of the later ones) */
  bool downbeat = false;   /* first beat of a bar (false while the meter is unknown) */
  guint bar_position = 0;  /* 1..beats_per_bar; 0 while the meter is unknown */
};

struct BeatTrackerConfig {
  /* Level in dBFS (RMS over one 11.6 ms hop) below which the signal counts
   * as silence: a beat needs a louder hop within half a beat period of it.
   * -60 dBFS lies under quiet music and over dither and tape hiss. */
  double silence_db = -60.0;
  /* Run the whole-song pass in finish(); without it finish() returns the
   * causal beats. */
  bool whole_song = true;
  /* Run the causal tracker in push(); without it push() only stores the
   * envelope (and returns no beats). */
  bool causal = true;
  /* How much audio must follow a causal beat before push() returns it
   * (ns, 100-2000 ms). Shorter answers sooner and errs more. */
  GstClockTime live_delay = 350 * GST_MSECOND;
  /* Spacing of the energy intervals (energy_intervals(),
   * SongAnalysis::energy_curve), ns, >= 10 ms. */
  GstClockTime energy_interval = 100 * GST_MSECOND;
  /* The tempi the tracker may choose, BPM (kMinBpm <= min_bpm < max_bpm <=
   * kMaxBpm; the default is the whole range). A beat level outside it is
   * never chosen, offline or live. The tracker's tempo octave can be wrong
   * where the music is ambiguous (a song notated at 90 whose eighth notes
   * carry as much onset as its beats reads as 180); a user who knows the
   * tempo removes the octave choice with a range of less than an octave
   * around it, as beat trackers with a tempo range (madmom's min_bpm and
   * max_bpm, librosa's start_bpm) let their users do. Offline, a range
   * under the whole-range tempo that holds half of it keeps every other
   * beat of the whole-range reading, those the chords change on, where the
   * chord changes tell (a song read at 180 whose "and"s are accented gets
   * its beats at 90, not its off-beats); else the tempo is sought within
   * the range (docs/montagebeat.md, "Tempo range"). */
  double min_bpm = 40.0;
  double max_bpm = 240.0;
};

/* Whether a tempo range (BeatTrackerConfig::min_bpm..max_bpm) kept the
 * tracker off the music's own tempo: check_tempo_range(), and
 * BeatTracker::finish() offline. */
struct TempoRangeCheck {
  /* agreement under it, with music_bpm outside the range: outside. 0.6 lies
   * over what a 3:2 reading gives (0.5: every other slow beat on a fast
   * one) and under an octave's (1: every slow beat on a fast one, or
   * every fast beat held by the slow ones); chance is a third. */
  static constexpr double kAgreement = 0.6;
  /* Beats each reading needs where both run to be compared. */
  static constexpr std::size_t kMinBeats = 8;
  /* The music's tempo looks outside the range: the whole range reads a
   * tempo outside it (music_bpm), and the beats found within the range
   * agree with its beats under kAgreement (they fall off its beat, as a
   * 120 BPM reading of a 150 BPM song does on three beats of four). An
   * octave of it within the range (half or double time, the range's
   * purpose) agrees, and is not outside. */
  bool outside = false;
  /* The whole range's tempo (bpm_from_beats() of its beats), BPM; 0 where
   * not checked (no range, the whole range's reading lay within it, or no
   * beats). */
  double music_bpm = 0.0;
  /* The tempo of the beats found within the range, BPM (0: not checked). */
  double range_bpm = 0.0;
  /* 0..1: the larger of the share of the range's beats on a beat of the
   * music's (within a sixth of its beat period, at most 70 ms) and the
   * share of the music's beats on one of the range's, over the time both
   * readings cover; 1 where not checked. */
  double agreement = 1.0;
};

/* Compares beats found within a tempo range (range_beats, ns, ascending)
 * with beats found over the whole range (whole_beats, the music's own
 * reading) for the range min_bpm..max_bpm (BPM): see TempoRangeCheck.
 * Not checked (outside false, music_bpm 0 or within the range) with fewer
 * than TempoRangeCheck::kMinBeats beats of either where both run, or the
 * whole range's tempo within the range. The tool (--tempo) compares its
 * song analyses with and without the range with it; BeatTracker::finish()
 * the two tempo paths it tracks. Never fails. Cost: linear in the beats. */
TempoRangeCheck check_tempo_range(const std::vector<GstClockTime> &range_beats,
                                  const std::vector<GstClockTime> &whole_beats, double min_bpm,
                                  double max_bpm);

class BeatTracker {
public:
  /* Analysis rate and sizes (see the file comment). */
  static constexpr guint kAnalysisRate = 22050;
  static constexpr guint kWindow = 512;
  static constexpr guint kHop = 256;
  static constexpr guint kMinRate = 8000;
  static constexpr guint kMaxRate = 192000;
  /* Without config.whole_song, per-hop data is trimmed back to this many
   * hops (16 s: twice the causal tempo window) once twice as many are held. */
  static constexpr std::size_t kLiveKeepHops = 1378;
  /* The tempo range searched (BPM): BeatTrackerConfig::min_bpm and
   * max_bpm must lie within it. */
  static constexpr double kMinBpm = 40.0;
  static constexpr double kMaxBpm = 240.0;
  /* Whether BeatTrackerConfig accepts this tempo range (BPM): within
   * kMinBpm..kMaxBpm, min_bpm below max_bpm. */
  static constexpr bool tempo_range_ok(double min_bpm, double max_bpm)
  {
    return min_bpm >= kMinBpm && max_bpm <= kMaxBpm && min_bpm < max_bpm;
  }

  /* sample_rate: rate of the samples given to push(), kMinRate..kMaxRate Hz.
   * Throws BeatTrackerError when the rate is out of range, the delay,
   * interval or tempo range in config is out of range, or FFTW cannot make
   * its transform (out of memory). */
  explicit BeatTracker(guint sample_rate, const BeatTrackerConfig &config = {});
  ~BeatTracker();
  BeatTracker(const BeatTracker &) = delete;
  BeatTracker &operator=(const BeatTracker &) = delete;

  /* Feeds n_samples mono float samples (nominally -1..1; louder is fine) at
   * the rate given at construction; mono may be null when n_samples is 0.
   * Returns the causal beats confirmed by this push, ascending, each later
   * than every beat returned before; each comes out at most
   * config.live_delay (plus up to one 11.6 ms hop) of audio after the time
   * it carries (less when the swing rule moved it later). The first
   * comes ~2-3 s after the music starts (the tempo needs that much); none
   * comes while no pulse has been heard (noise, a pad, a tone), and when
   * one is, the beats of the last beat period come too (up to one period
   * later than config.live_delay). Never fails. */
  std::vector<Beat> push(const float *mono, std::size_t n_samples);

  /* The complete result for everything pushed since construction/reset:
   *  - beats: ns, strictly ascending (whole-song pass, or the causal beats);
   *  - bpm: from that beat sequence (bpm_from_beats), 0 with < 2 beats;
   *  - confidence: 0..1, the median of the beats' confidences; 0 without beats;
   *  - beat_energy: one per beat, RMS of the interval from that beat to the
   *    next (the last one to the end of the audio, over at least the length
   *    of the interval before it, the rest counted as silence, so a song
   *    that stops right after its last beat does not make that beat the
   *    loudest), scaled so the loudest is 1;
   *  - downbeats, beats_per_bar: the meter (3 or 4) and each beat's downbeat
   *    flag; empty and 0 with fewer than 8 beats. Offline, where the accents
   *    do not decide the bar line (meter_confidence under 0.25), a song that
   *    starts on a beat starts a bar there (beatmeter::meter_of()'s start);
   *    offline, a step of the tempo by 15 % or more starts a section with a
   *    bar phase of its own (the meter stays the song's);
   *  - meter_confidence: 0..1, how sure the bars are (beatmeter::meter_of()
   *    in beatmeter-private.h: the downbeats' accent against chance and
   *    against a bar line one or two beats off; offline, the least of the
   *    tempo sections'); 0 without a meter;
   *  - energy_curve / energy_interval: energy_from_db() of the RMS level of
   *    every config.energy_interval from the start (energy_intervals(), then
   *    the last, partial one when it has samples);
   *  - sections: back-to-back stretches of low/medium/high energy covering
   *    [0, duration), none shorter than 4 s unless the audio is: thirds of
   *    the 10-90 % range of the music's smoothed energy curve; when that
   *    range is under 0.05, the music is medium, or low when quieter than
   *    -40 dBFS by default (silence). Stretches without music (2 s or more
   *    without a beat before the first or after the last, or silent
   *    between two beats) are low and left out of the range and the
   *    smoothing, so a silent intro or tail leaves the music's levels as
   *    they are alone (beattracker.cpp, music_intervals());
   *  - duration: ns of audio pushed; uri is left empty.
   * Without config.whole_song the per-beat fields come from what was kept of
   * each causal beat when it was confirmed (same values as from the whole
   * envelope, up to rounding).
   * beat_confidence(), if given, receives one confidence per beat.
   * range_check, if given, receives what a tempo range did (offline only:
   * with config.whole_song and a range narrower than the whole, where the
   * whole range's tempo path lay outside it and its beats were sought
   * within it; otherwise a TempoRangeCheck that is not outside). The result
   * is the range's either way: a caller that wants the music's tempo
   * widens the range (docs/montagebeat.md, "Tempo range").
   * Does not change the state: pushing may go on afterwards. Cost: linear in
   * the audio's length. Never fails. */
  SongAnalysis finish(std::vector<double> *beat_confidence = nullptr,
                      TempoRangeCheck *range_check = nullptr) const;

  /* Forgets everything pushed; times restart at 0. Keeps rate and config;
   * set_continues_stream() goes back to false. */
  void reset();

  /* Whether the audio pushed since construction/reset continues a stream
   * that began earlier (after a flushing seek into a song, say) rather
   * than starting it (default false). When it does, finish() treats the
   * first 23 ms (two analysis hops) as having no onsets: the sound's start
   * there is where the seek landed, not a note, and the whole-song beats
   * would otherwise begin with a beat on it. Set it before the first
   * push(); it does not change the causal beats. */
  void set_continues_stream(bool continues);

  guint sample_rate() const;
  /* ns of audio pushed since construction/reset. */
  GstClockTime duration() const;
  /* The configuration given at construction. */
  const BeatTrackerConfig &config() const;

  /* The energy intervals (montagebeat's montage-energy, and
   * SongAnalysis::energy_curve): interval k covers the input samples
   * [energy_interval_start(k), energy_interval_start(k + 1)), where
   * energy_interval_start(k) is k * config.energy_interval at the input
   * rate, rounded to the nearest sample. energy_intervals() counts those
   * complete so far; energy_mean_square(k) is the mean square of interval
   * k's samples as pushed (before any resampling; 0 for k not complete
   * yet). */
  std::size_t energy_intervals() const;
  double energy_mean_square(std::size_t k) const;
  guint64 energy_interval_start(std::size_t k) const;
  /* The sum of squares (sum_squares(), over the same pieces of the pushes)
   * of the samples of the interval in progress, energy_intervals(), pushed
   * so far; 0 when none. A caller that reads its energy from
   * energy_mean_square() and from some point spaces its intervals
   * differently (montagebeat after a change of its `interval`) carries on
   * from it, so its sums are what it would have summed itself. */
  double energy_open_sum_squares() const;

  /* For tests and monitoring: how many analysis hops (11.6 ms each) of
   * per-hop data are held. With config.whole_song, every hop pushed since
   * construction/reset (duration() / 11.6 ms); without it, at most
   * kLiveKeepHops * 2 - 1 whatever the length of the stream. */
  std::size_t retained_hops() const;
  /* For tests and monitoring: bytes allocated for the analysis data (per-hop
   * data, per-beat cues, energy curve), not counting the fixed buffers of
   * the FFT. */
  std::size_t retained_bytes() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/* Dominant tempo of a beat sequence (ns, ascending), in BPM: each interval
 * counts as round(interval / median interval) periods (so a missed beat
 * does not bend the result), intervals more than 8 % off the median period
 * are left out (sections at another tempo), and the period is the sum of
 * the remaining intervals over their periods. A song with 166 beats at
 * 120 BPM and 120 at 150 BPM gives 120 (a fit over all beats gave 125, a
 * tempo no part of the song has); a steady song gives its tempo. This is
 * the median-interval tempo that tempo benchmarks compare against, without
 * the median's rounding to one interval. Returns 0 with fewer than two
 * beats. */
double bpm_from_beats(const std::vector<GstClockTime> &beats);

/* Maps an RMS level in dBFS onto 0..1 linearly from silence_db (0) to 0 dBFS
 * (1), clamped: the `energy` of montagebeat's montage-energy message and of
 * SongAnalysis::energy_curve. */
double energy_from_db(double db, double silence_db);

/* The music's energy at the moment against the song so far, 0..1, for live
 * use: the causal counterpart of SongAnalysis::sections' rule. Fed one
 * energy_from_db() value per energy interval (montage-energy's `energy`),
 * it smooths them over the last 2 s (the sections smooth over 3 s centred,
 * which needs 1.5 s of the future; 2 s trailing lags a step in loudness by
 * about 1 s) and places the smoothed value in the 10-90 % range of every
 * smoothed value so far: 0 at or under the 10th percentile, 1 at or over
 * the 90th, linear between (the sections' thirds of that range are then
 * under 1/3, 1/3-2/3 and over 2/3).
 * Silence is no music and stays out of that range: a run of intervals at
 * or under kSilentEnergy lasting 2 s or more (a silent intro, a pause
 * between songs, a silent tail) counts neither in the range nor in the
 * smoothing of the music either side of it, from its first interval on
 * (the means that took it in while it was under 2 s are taken out of the
 * range when it reaches 2 s), as the sections leave a stretch without
 * music out of theirs; while it lasts, level() is 0 (low: the sections
 * make such a stretch low). Shorter silences (a rest, the gaps of a click
 * track) are part of the music, as before. Counted, 15 s of silence before
 * a flat song made the range 0..0.6 and the whole song high.
 * The first 2 s of music (after the start, after a reset, after such a
 * silence), before a whole window of it, are not counted in the range
 * either. While under 4 s of music has been seen, and while that range,
 * widened to take in the moment, is under 0.05 (a tone, a brick-walled
 * master: the sections' one flat section), level() is 0.5 (medium), or 0
 * when the median of the smoothed values lies in the lowest third of
 * energy_from_db()'s scale (quiet is low), as the sections say.
 * montagebeat puts it on each live beat (`energy`), and montageselect
 * paces its switches by it. */
class LiveEnergyLevel
{
public:
  /* The silence floor on energy_from_db()'s 0..1 scale: an interval at or
   * under it is silent. 0.05 is 3 dB over the tracker's silence_db at the
   * default -60 dBFS (-57 dBFS): digital silence, dither, tape hiss and a
   * codec's noise floor lie under it; quiet music (-50 dBFS is 0.17) over
   * it. (The sections' stretches without music are those with energy 0,
   * under silence_db: the 3 dB margin lets a silent intro with a little
   * hiss count as silence live, where no beat tells it apart.) */
  static constexpr double kSilentEnergy = 0.05;
  /* interval: the spacing of the values push() is given, ns (> 0). */
  explicit LiveEnergyLevel(GstClockTime interval);
  /* One interval's energy, 0..1 (clamped). */
  void push(double energy);
  /* The level at the last value pushed, 0..1 (see the class comment). */
  double level() const;
  /* Forgets everything (a flush, a seek, a new stream). */
  void reset();

private:
  static constexpr int kBins = 1000; /* histogram of smoothed values, 0.001 wide */
  std::size_t window_;               /* intervals in 2 s, >= 1 */
  std::size_t warm_;                 /* intervals in 4 s, >= 1 */
  std::vector<double> recent_;       /* the last window_ values, a ring */
  std::vector<int> entered_;         /* per ring slot: the bin its push entered in counts_, or -1 */
  std::vector<char> no_music_;       /* per ring slot: part of a silence of 2 s or more */
  std::size_t next_ = 0;
  double recent_sum_ = 0;        /* sum of the ring's music values */
  std::size_t recent_music_ = 0; /* the ring's music values */
  std::size_t silent_run_ = 0;   /* intervals at or under kSilentEnergy up to the last one */
  std::vector<guint32> counts_;  /* smoothed values so far (whole windows of music), by bin */
  guint64 seen_ = 0;             /* values in counts_ */
  guint64 music_pushed_ = 0;     /* values pushed that are music */
  double smoothed_ = 0;          /* mean of the ring's music values (0 without) */
};

/* Sum of squares of n samples, in double, over four partial sums in a fixed
 * order. The tracker's energy intervals and montagebeat's montage-energy
 * messages both sum with it, so that over the same samples they are the
 * same numbers, to the bit. */
double sum_squares(const float *x, std::size_t n);

/* First sample of energy interval k: k * `interval` ns at `rate`, to the
 * nearest sample (no drift where an interval is not a whole number of
 * samples). BeatTracker::energy_interval_start() and montagebeat's
 * montage-energy intervals are placed with it. */
guint64 energy_interval_edge(guint64 k, guint rate, GstClockTime interval);

} // namespace montage
