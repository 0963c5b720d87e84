/* gst-montage: beat tracker core (plain C++, no pads or caps).
 *
 * BeatTracker takes mono float samples at any rate from 8 to 192 kHz and finds
 * the beats in two passes:
 *
 *  - causal, while samples come in (push()): aubio's tempo tracker
 *    (aubio/src/tempo: a spectral onset function, peak picking, and Davies &
 *    Plumbley's context-dependent beat tracker). aubio only behaves as
 *    documented at ~86 analysis frames per second, so the tracker resamples
 *    internally to 44100 Hz and runs aubio with a 1024-sample window and a
 *    512-sample hop (aubio's defaults, 11.6 ms per hop). aubio's first beat
 *    only comes 1.5-3 s into the audio.
 *
 *  - whole song, on demand (finish()): the onset function aubio sees is also
 *    kept for every hop; finish() runs a dynamic-programming beat pass over
 *    the whole of it (Ellis, "Beat Tracking by Dynamic Programming", JNMR
 *    2007; onset strength high-passed, rectified and normalised, tightness
 *    400 as NOTES.md measured) at the tempo the causal beats settled on, so
 *    the list covers the song from its first onset. Leading and trailing
 *    beats on weak onsets are trimmed. The causal beats are kept instead
 *    when the dynamic-programming beats sit on onsets weaker than 90 % of
 *    the causal beats' (it needs at least four causal beats).
 *
 * Tempo (BPM) always comes from the beat sequence itself (a least-squares
 * line through beat time against beat index, with indices that skip a missed
 * beat), not from aubio_tempo_get_bpm(), which reads 1-2 % high.
 *
 * Stretches quieter than the silence threshold give no beats: the tracker
 * never invents a grid over silence.
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
 * rate out of range, unknown onset method, aubio failing to allocate). The
 * message is a sentence a user can act on. */
class BeatTrackerError : public std::invalid_argument {
public:
  using std::invalid_argument::invalid_argument;
};

/* One beat found by the causal pass. */
struct Beat {
  GstClockTime time = 0; /* ns from the first sample pushed */
  double bpm = 0.0;      /* tempo so far, from the beat sequence (0 = unknown) */
  double confidence = 0.0; /* aubio's tempo confidence at this beat, clamped to 0..1 */
};

struct BeatTrackerConfig {
  /* aubio onset function: "specflux" (default), "energy", "hfc", "complex",
   * "phase", "wphase", "specdiff", "kl", "mkl". specflux is aubio's own
   * default for tempo and the one whose behaviour NOTES.md measured; it
   * reacts to any broadband energy rise (drums, plucks, clicks). */
  std::string method = "specflux";
  /* Level in dBFS (RMS over one 11.6 ms hop) below which the signal counts
   * as silence. A causal beat needs a louder hop within 58 ms of it (aubio
   * keeps predicting beats through silence, out of phase after it); a
   * whole-song beat needs one within half a beat period. -60 dBFS lies under
   * quiet music and over dither and tape hiss. */
  double silence_db = -60.0;
  /* Run the whole-song dynamic-programming pass in finish(). */
  bool whole_song = true;
};

class BeatTracker {
public:
  /* Analysis rate and sizes (see the file comment). */
  static constexpr guint kAnalysisRate = 44100;
  static constexpr guint kWindow = 1024;
  static constexpr guint kHop = 512;
  static constexpr guint kMinRate = 8000;
  static constexpr guint kMaxRate = 192000;

  /* sample_rate: rate of the samples given to push(), kMinRate..kMaxRate Hz.
   * Throws BeatTrackerError when the rate is out of range or the method is
   * not one of those listed in BeatTrackerConfig. */
  explicit BeatTracker(guint sample_rate, const BeatTrackerConfig &config = {});
  ~BeatTracker();
  BeatTracker(const BeatTracker &) = delete;
  BeatTracker &operator=(const BeatTracker &) = delete;

  /* Feeds n_samples mono float samples (nominally -1..1; louder is fine) at
   * the rate given at construction; mono may be null when n_samples is 0.
   * Returns the causal beats confirmed by this push, ascending, each later
   * than every beat returned before. A beat is confirmed once half a beat
   * period (at least 70 ms) of audio follows it, so it comes out ~0.2-0.4 s
   * of audio after the time it carries. Each sits on the clear onset nearest
   * aubio's prediction (within 58 ms), else on the prediction moved 25 ms
   * later (aubio predicts early). Never fails. */
  std::vector<Beat> push(const float *mono, std::size_t n_samples);

  /* The complete result for everything pushed since construction/reset,
   * pending beats included:
   *  - beats: ns, strictly ascending (whole-song pass, or the causal beats);
   *  - bpm: from that beat sequence (bpm_from_beats), 0 with < 2 beats;
   *  - confidence: 0..1, the median of aubio's confidence over the second
   *    half of the causal beats (it is 0 during aubio's first 4.5-9 s);
   *    0 without beats;
   *  - beat_energy: one per beat, RMS of the interval from that beat to the
   *    next (the last one to the end of the audio), on the hop boundary
   *    12-23 ms before each beat so a beat's attack counts towards it; scaled
   *    so the loudest is 1.0;
   *  - duration: ns of audio pushed; uri is left empty.
   * Does not change the state: pushing may go on afterwards. Cost: one pass
   * over the stored onset function, O(hops * beat period). Never fails. */
  SongAnalysis finish() const;

  /* Forgets everything pushed; times restart at 0. Keeps rate and config. */
  void reset();

  guint sample_rate() const;
  /* ns of audio pushed since construction/reset. */
  GstClockTime duration() const;

  /* Offset (ns) added to aubio's predicted beat times when no onset is near
   * to snap to: on click tracks at 97-130 BPM with this configuration aubio
   * predicts 2-47 ms early, 20-45 ms on average, drifting through each of
   * its 1.5 s prediction blocks because its period reads high. */
  static GstClockTime causal_offset();

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/* Tempo of a beat sequence (ns, ascending): fits time = t0 + period * index
 * by least squares, where index counts whole periods between beats (an
 * interval of about twice the median interval counts as two, so a missed beat
 * does not bend the fit). Returns 60 / period in BPM, or 0 when there are
 * fewer than two beats. */
double bpm_from_beats(const std::vector<GstClockTime> &beats);

} // namespace montage
