/* gst-montage: beat tracker core. See beattracker.h for the contract. */
#include <gst/montage/beattracker.h>

#include <aubio/aubio.h>

#include <algorithm>
#include <cmath>

namespace montage {

namespace {

constexpr double kNsPerSecond = 1e9;

/* aubio's beats come early: on click tracks at 97-130 BPM (specflux,
 * 44.1 kHz, 1024/512) by 2-47 ms, 20-45 ms on average, drifting earlier
 * through each of its 1.5 s prediction blocks. Added back to the beats that
 * find no onset to snap to. */
constexpr GstClockTime kCausalOffsetNs = 25 * GST_MSECOND;

/* Causal beats move onto a clear onset within this many hops (+-58 ms) of
 * aubio's prediction, judged against the onset function's last ~6 s. */
constexpr long kSnapHops = 5;
constexpr long kStatsHops = 516;

/* Ellis 2007 transition tightness. NOTES.md: 400-1600 kept syncopated
 * passages on the beat where looser values let them slip to the off-beat. */
constexpr double kTightness = 400.0;

/* The dynamic-programming beats replace the causal ones unless they sit on
 * onsets weaker than this fraction of the causal beats' onsets. */
constexpr double kDpSupportRatio = 0.9;

const char *const kMethods[] = {"specflux", "energy", "hfc",      "complex", "phase",
                                "wphase",   "specdiff", "kl", "mkl"};

/* Offset in hops (-0.5..0.5) of the vertex of the parabola through three
 * samples around a peak b. */
double parabolic_peak(double a, double b, double c)
{
  const double den = a - 2 * b + c;
  if (!(den < 0))
    return 0.0;
  return std::clamp(0.5 * (a - c) / den, -0.5, 0.5);
}

bool known_method(const std::string &m)
{
  for (const char *k : kMethods)
    if (m == k)
      return true;
  return false;
}

GstClockTime analysis_samples_to_ns(double samples)
{
  if (samples <= 0)
    return 0;
  return (GstClockTime)std::llround(samples * kNsPerSecond / BeatTracker::kAnalysisRate);
}

double ns_to_hops(GstClockTime t)
{
  return (double)t / kNsPerSecond * BeatTracker::kAnalysisRate / BeatTracker::kHop;
}

} // namespace

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
  std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
  double median = sorted[sorted.size() / 2];
  if (median <= 0)
    return 0.0;
  /* Index each beat by whole periods from the first, so a missed beat (an
   * interval of ~2 periods) counts as two steps. */
  std::vector<double> idx(beats.size(), 0.0), t(beats.size(), 0.0);
  for (std::size_t i = 1; i < beats.size(); i++) {
    double steps = std::max(1.0, std::round(ibi[i - 1] / median));
    idx[i] = idx[i - 1] + steps;
    t[i] = (double)(beats[i] - beats[0]) / kNsPerSecond;
  }
  const double n = (double)beats.size();
  double mi = 0, mt = 0;
  for (std::size_t i = 0; i < beats.size(); i++) {
    mi += idx[i];
    mt += t[i];
  }
  mi /= n;
  mt /= n;
  double sxy = 0, sxx = 0;
  for (std::size_t i = 0; i < beats.size(); i++) {
    sxy += (idx[i] - mi) * (t[i] - mt);
    sxx += (idx[i] - mi) * (idx[i] - mi);
  }
  if (sxx <= 0)
    return 0.0;
  double period = sxy / sxx;
  return period > 0 ? 60.0 / period : 0.0;
}

/* ---- state ----------------------------------------------------------------------- */

struct BeatTracker::Impl {
  guint rate;
  BeatTrackerConfig config;

  aubio_tempo_t *tempo = nullptr;
  fvec_t *hop_in = nullptr;
  fvec_t *tempo_out = nullptr;
  /* A second copy of the onset function aubio computes inside its tempo
   * object (which keeps it private): same window, hop and method. */
  aubio_pvoc_t *pvoc = nullptr;
  cvec_t *grain = nullptr;
  aubio_specdesc_t *specdesc = nullptr;
  fvec_t *od = nullptr;

  /* Linear resampler to kAnalysisRate: analysis sample k sits at input
   * position k * rate / kAnalysisRate (exact integer arithmetic). */
  guint64 n_in = 0;  /* input samples consumed */
  guint64 n_out = 0; /* analysis samples produced */
  float prev = 0.f;  /* input sample n_in - 1 */

  guint hop_fill = 0;
  std::vector<float> envelope; /* onset function, one value per hop */
  std::vector<double> hop_sumsq; /* sum of squares of each hop's analysis samples */

  bool have_last = false;
  uint_t last_aubio_beat = 0;
  struct Pending {
    double sample;     /* aubio's beat time, analysis samples */
    double confidence; /* aubio's confidence then, 0..1 */
  };
  std::vector<Pending> pending; /* aubio beats not yet judged against silence */
  std::vector<GstClockTime> causal;
  std::vector<double> causal_conf;

  Impl(guint r, const BeatTrackerConfig &c) : rate(r), config(c) {}
  ~Impl() { free_aubio(); }

  void free_aubio()
  {
    if (tempo)
      del_aubio_tempo(tempo);
    if (hop_in)
      del_fvec(hop_in);
    if (tempo_out)
      del_fvec(tempo_out);
    if (pvoc)
      del_aubio_pvoc(pvoc);
    if (grain)
      del_cvec(grain);
    if (specdesc)
      del_aubio_specdesc(specdesc);
    if (od)
      del_fvec(od);
    tempo = nullptr;
    hop_in = tempo_out = od = nullptr;
    pvoc = nullptr;
    grain = nullptr;
    specdesc = nullptr;
  }

  bool alloc_aubio()
  {
    tempo = new_aubio_tempo(config.method.c_str(), kWindow, kHop, kAnalysisRate);
    hop_in = new_fvec(kHop);
    tempo_out = new_fvec(2);
    pvoc = new_aubio_pvoc(kWindow, kHop);
    grain = new_cvec(kWindow);
    specdesc = new_aubio_specdesc(config.method.c_str(), kWindow);
    od = new_fvec(1);
    if (!tempo || !hop_in || !tempo_out || !pvoc || !grain || !specdesc || !od)
      return false;
    /* Our own gate (silence_db, over a wider span) decides about silence. */
    aubio_tempo_set_silence(tempo, -200.f);
    return true;
  }

  void clear()
  {
    n_in = n_out = 0;
    prev = 0.f;
    hop_fill = 0;
    envelope.clear();
    hop_sumsq.clear();
    have_last = false;
    last_aubio_beat = 0;
    pending.clear();
    causal.clear();
    causal_conf.clear();
  }

  double hop_db(std::size_t h) const
  {
    double ms = hop_sumsq[h] / kHop;
    return ms > 0 ? 10.0 * std::log10(ms) : -400.0;
  }

  /* True when some hop in [from, to] (clamped) is louder than silence_db. */
  bool loud_between(double from, double to) const
  {
    if (hop_sumsq.empty())
      return false;
    long a = std::max(0L, (long)std::floor(from));
    long b = std::min((long)hop_sumsq.size() - 1, (long)std::ceil(to));
    for (long h = a; h <= b; h++)
      if (hop_db((std::size_t)h) >= config.silence_db)
        return true;
    return false;
  }

  double period_hops() const
  {
    double bpm = bpm_from_beats(causal);
    if (bpm <= 0)
      bpm = aubio_tempo_get_bpm(tempo);
    if (bpm <= 0)
      return 0.25 * kAnalysisRate / kHop;
    return 60.0 / bpm * kAnalysisRate / kHop;
  }

  void process_hop()
  {
    double sumsq = 0;
    for (guint i = 0; i < kHop; i++)
      sumsq += (double)hop_in->data[i] * hop_in->data[i];
    hop_sumsq.push_back(sumsq);

    aubio_pvoc_do(pvoc, hop_in, grain);
    aubio_specdesc_do(specdesc, grain, od);
    envelope.push_back(std::isfinite(od->data[0]) ? od->data[0] : 0.f);

    aubio_tempo_do(tempo, hop_in, tempo_out);
    /* aubio flags a beat with tempo_out[0] = its fractional hop position,
     * which is 0 for a beat on a hop boundary: watch the beat time instead. */
    uint_t last = aubio_tempo_get_last(tempo);
    if (have_last && last == last_aubio_beat)
      return;
    if (!have_last && last == 0)
      return;
    have_last = true;
    last_aubio_beat = last;

    /* aubio predicts beats up to a hop ahead of the audio: judge each one
     * once half a beat period after it has arrived. */
    pending.push_back({(double)last, std::clamp((double)aubio_tempo_get_confidence(tempo), 0.0, 1.0)});
  }

  /* The time (ns) of a pending beat, on its onset or offset compensated, or
   * GST_CLOCK_TIME_NONE when no hop within kSnapHops of it is louder than
   * silence: aubio keeps predicting through silence, and its first beats
   * after a gap are out of phase. */
  GstClockTime judge(const Pending &p) const
  {
    double beat_hop = p.sample / kHop;
    if (!loud_between(beat_hop - kSnapHops, beat_hop + kSnapHops))
      return GST_CLOCK_TIME_NONE;
    double onset = snap_to_onset(beat_hop);
    if (onset >= 0)
      return analysis_samples_to_ns(onset * kHop);
    GstClockTime t = analysis_samples_to_ns(p.sample);
    return t > kCausalOffsetNs ? t - kCausalOffsetNs : 0;
  }

  /* aubio predicts each beat from the previous 6 s, 20-45 ms early and
   * drifting (its period reads high). When a clear onset lies within
   * kSnapHops of the prediction, the beat moves onto it: the strongest
   * onset-function peak there, if it stands out of the last 6 s (above mean +
   * 1 standard deviation), refined to sub-hop precision by a parabola through
   * the peak and its neighbours. Returns that position in hops, or -1. */
  double snap_to_onset(double beat_hop) const
  {
    const long n = (long)envelope.size();
    const long c = std::lround(beat_hop);
    long best = -1;
    for (long h = std::max(1L, c - kSnapHops); h <= std::min(n - 2, c + kSnapHops); h++)
      if (envelope[h] >= envelope[h - 1] && envelope[h] >= envelope[h + 1] &&
          (best < 0 || envelope[h] > envelope[best]))
        best = h;
    if (best < 0)
      return -1;
    const long from = std::max(0L, best - kStatsHops);
    double sum = 0, sq = 0;
    for (long h = from; h < best; h++) {
      sum += envelope[h];
      sq += (double)envelope[h] * envelope[h];
    }
    const double m = best > from ? sum / (double)(best - from) : 0.0;
    const double var = best > from ? std::max(0.0, sq / (double)(best - from) - m * m) : 0.0;
    if (envelope[best] <= m + std::sqrt(var))
      return -1;
    return (double)best + parabolic_peak(envelope[best - 1], envelope[best], envelope[best + 1]);
  }

  /* Confirms (or drops, over silence) the pending beats that have half a
   * period of audio after them, appending the confirmed ones to out. */
  void settle(std::vector<Beat> &out)
  {
    const double current_hop = (double)hop_sumsq.size() - 1;
    const double half = period_hops() / 2;
    const double wait = std::max(half, (double)kSnapHops + 1);
    std::size_t done = 0;
    for (; done < pending.size(); done++) {
      const Pending &p = pending[done];
      if (p.sample / kHop + wait > current_hop)
        break;
      GstClockTime t = judge(p);
      if (!GST_CLOCK_TIME_IS_VALID(t) || (!causal.empty() && t <= causal.back()))
        continue;
      causal.push_back(t);
      causal_conf.push_back(p.confidence);
      out.push_back({t, bpm_from_beats(causal), p.confidence});
    }
    pending.erase(pending.begin(), pending.begin() + (long)done);
  }

  void feed(float s, std::vector<Beat> &out)
  {
    hop_in->data[hop_fill++] = s;
    if (hop_fill == kHop) {
      process_hop();
      settle(out);
      hop_fill = 0;
    }
  }

  /* Whole-song pass; returns false (and leaves beats alone) when it cannot
   * run or is not better supported than the causal beats. */
  bool whole_song_pass(const std::vector<GstClockTime> &causal_beats,
                       std::vector<GstClockTime> &beats) const;
};

BeatTracker::BeatTracker(guint sample_rate, const BeatTrackerConfig &config)
{
  if (sample_rate < kMinRate || sample_rate > kMaxRate)
    throw BeatTrackerError("beat tracker: sample rate " + std::to_string(sample_rate) +
                           " Hz is outside the supported 8000-192000 Hz; resample the audio "
                           "first (audioresample)");
  if (!known_method(config.method))
    throw BeatTrackerError("beat tracker: unknown onset method \"" + config.method +
                           "\"; use one of specflux, energy, hfc, complex, phase, wphase, "
                           "specdiff, kl, mkl");
  impl_ = std::make_unique<Impl>(sample_rate, config);
  if (!impl_->alloc_aubio())
    throw BeatTrackerError("beat tracker: aubio could not create its tempo tracker (out of "
                           "memory?)");
}

BeatTracker::~BeatTracker() = default;

guint BeatTracker::sample_rate() const
{
  return impl_->rate;
}

GstClockTime BeatTracker::duration() const
{
  return gst_util_uint64_scale(impl_->n_in, GST_SECOND, impl_->rate);
}

GstClockTime BeatTracker::causal_offset()
{
  return kCausalOffsetNs;
}

void BeatTracker::reset()
{
  Impl &d = *impl_;
  d.free_aubio();
  d.clear();
  /* Cannot fail for a configuration that worked at construction short of
   * running out of memory; then push() does nothing. */
  d.alloc_aubio();
}

std::vector<Beat> BeatTracker::push(const float *mono, std::size_t n_samples)
{
  std::vector<Beat> out;
  Impl &d = *impl_;
  if (!mono || n_samples == 0 || !d.tempo)
    return out;
  if (d.rate == kAnalysisRate) {
    for (std::size_t i = 0; i < n_samples; i++)
      d.feed(mono[i], out);
    d.n_in += n_samples;
    d.n_out += n_samples;
    return out;
  }
  const guint64 first = d.n_in;
  const guint64 end = d.n_in + n_samples; /* one past the last input index */
  for (;;) {
    guint64 pos = d.n_out * d.rate;
    guint64 i = pos / kAnalysisRate;
    if (i + 1 >= end)
      break;
    double frac = (double)(pos % kAnalysisRate) / kAnalysisRate;
    float x0 = i < first ? d.prev : mono[i - first];
    float x1 = mono[i + 1 - first];
    d.feed((float)(x0 + (x1 - x0) * frac), out);
    d.n_out++;
  }
  d.prev = mono[n_samples - 1];
  d.n_in = end;
  return out;
}

/* ---- whole-song dynamic-programming pass ---------------------------------------- */

bool BeatTracker::Impl::whole_song_pass(const std::vector<GstClockTime> &causal,
                                        std::vector<GstClockTime> &beats) const
{
  const std::size_t n = envelope.size();
  if (causal.size() < 4 || n < 8)
    return false;
  const double period = 60.0 / bpm_from_beats(causal) * kAnalysisRate / kHop;
  if (!(period > 2.0))
    return false;

  /* Onset strength: high-passed (0.4 s moving mean removed), half-wave
   * rectified, zero over silence, scaled to unit standard deviation. */
  const long half = (long)std::lround(0.2 * kAnalysisRate / kHop);
  std::vector<double> prefix(n + 1, 0.0);
  for (std::size_t i = 0; i < n; i++)
    prefix[i + 1] = prefix[i] + envelope[i];
  std::vector<double> e(n, 0.0);
  for (std::size_t i = 0; i < n; i++) {
    long a = std::max(0L, (long)i - half), b = std::min((long)n, (long)i + half + 1);
    double mean = (prefix[b] - prefix[a]) / (double)(b - a);
    double v = envelope[i] - mean;
    e[i] = (v > 0 && hop_db(i) >= config.silence_db - 20.0) ? v : 0.0;
  }
  double sq = 0;
  for (double v : e)
    sq += v * v;
  double sd = std::sqrt(sq / (double)n);
  if (sd <= 0)
    return false;
  for (double &v : e)
    v /= sd;

  /* Ellis 2007: score[t] = e[t] + max over predecessors p in [t-2P, t-P/2]
   * of score[p] - tightness * log((t-p)/P)^2; a chain may also start at t. */
  std::vector<double> score(n, 0.0);
  std::vector<long> back(n, -1);
  const long pmin = std::max(1L, (long)std::lround(period / 2));
  const long pmax = (long)std::lround(period * 2);
  for (long t = 0; t < (long)n; t++) {
    double best = 0.0;
    long arg = -1;
    for (long p = t - pmax; p <= t - pmin; p++) {
      if (p < 0)
        continue;
      double l = std::log((double)(t - p) / period);
      double s = score[p] - kTightness * l * l;
      if (arg < 0 || s > best) {
        best = s;
        arg = p;
      }
    }
    if (arg >= 0 && best > 0) {
      score[t] = e[t] + best;
      back[t] = arg;
    } else {
      score[t] = e[t];
    }
  }
  /* End on the best-scoring hop within the last two periods. */
  long end = (long)n - 1;
  for (long t = std::max(0L, (long)n - pmax); t < (long)n; t++)
    if (score[t] > score[end])
      end = t;
  std::vector<long> hops;
  for (long t = end; t >= 0; t = back[t])
    hops.push_back(t);
  std::reverse(hops.begin(), hops.end());

  /* Local onset strength at a hop: the peak within +-2 hops. */
  auto support = [&](double h) {
    long c = std::lround(h);
    double m = 0;
    for (long k = c - 2; k <= c + 2; k++)
      if (k >= 0 && k < (long)n)
        m = std::max(m, e[k]);
    return m;
  };
  /* Drop beats before the first and after the last real onset (leading and
   * trailing grid over quiet intros and reverb tails), and beats over silence. */
  double mean_support = 0;
  for (long h : hops)
    mean_support += support((double)h);
  if (hops.empty())
    return false;
  mean_support /= (double)hops.size();
  const double trim = 0.5 * mean_support;
  std::size_t first = 0, last = hops.size();
  while (first < last && support((double)hops[first]) < trim)
    first++;
  while (last > first && support((double)hops[last - 1]) < trim)
    last--;
  std::vector<GstClockTime> dp;
  for (std::size_t i = first; i < last; i++) {
    long h = hops[i];
    if (!loud_between(h - period / 2, h + period / 2))
      continue;
    /* Parabolic interpolation of the onset peak for sub-hop precision. */
    double frac = 0;
    if (h > 0 && h + 1 < (long)n && e[h] >= e[h - 1] && e[h] >= e[h + 1])
      frac = parabolic_peak(e[h - 1], e[h], e[h + 1]);
    GstClockTime t = analysis_samples_to_ns(((double)h + frac) * kHop);
    if (dp.empty() || t > dp.back())
      dp.push_back(t);
  }
  if (dp.size() < 2)
    return false;

  /* Compare with the causal beats over the span both cover. */
  const GstClockTime lo = causal.front(), hi = causal.back();
  double s_causal = 0, s_dp = 0;
  std::size_t n_dp = 0;
  for (GstClockTime t : causal)
    s_causal += support(ns_to_hops(t));
  s_causal /= (double)causal.size();
  for (GstClockTime t : dp)
    if (t + GST_MSECOND * 50 >= lo && t <= hi + GST_MSECOND * 50) {
      s_dp += support(ns_to_hops(t));
      n_dp++;
    }
  if (n_dp == 0)
    return false;
  s_dp /= (double)n_dp;
  if (s_dp < kDpSupportRatio * s_causal)
    return false;
  beats = std::move(dp);
  return true;
}

SongAnalysis BeatTracker::finish() const
{
  const Impl &d = *impl_;
  SongAnalysis song;
  song.duration = duration();
  /* The causal beats, with those still pending judged on the audio there is. */
  std::vector<GstClockTime> causal = d.causal;
  std::vector<double> conf = d.causal_conf;
  for (const Impl::Pending &p : d.pending) {
    GstClockTime t = d.judge(p);
    if (GST_CLOCK_TIME_IS_VALID(t) && (causal.empty() || t > causal.back())) {
      causal.push_back(t);
      conf.push_back(p.confidence);
    }
  }
  song.beats = causal;
  if (d.config.whole_song)
    d.whole_song_pass(causal, song.beats);
  song.bpm = bpm_from_beats(song.beats);

  /* Confidence: aubio's tempo confidence once it has settled (median over
   * the second half of the causal beats), 0 without beats. */
  if (!song.beats.empty() && !conf.empty()) {
    std::vector<double> c(conf.begin() + conf.size() / 2, conf.end());
    std::nth_element(c.begin(), c.begin() + c.size() / 2, c.end());
    song.confidence = c[c.size() / 2];
  }

  /* Energy: RMS of each beat interval, on the hop boundary 12-23 ms before
   * each beat, so the attack that marks a beat counts towards it despite the
   * beat's few-ms timing error. */
  const std::size_t hops = d.hop_sumsq.size();
  auto interval_start = [&](GstClockTime t) {
    double h = std::floor(ns_to_hops(t)) - 1;
    return std::min(hops, (std::size_t)std::max(0.0, h));
  };
  song.beat_energy.assign(song.beats.size(), 0.0);
  double peak = 0;
  for (std::size_t i = 0; i < song.beats.size(); i++) {
    std::size_t a = interval_start(song.beats[i]);
    std::size_t b = i + 1 < song.beats.size() ? interval_start(song.beats[i + 1]) : hops;
    if (b <= a)
      b = std::min(hops, a + 1);
    double sum = 0;
    for (std::size_t h = a; h < b; h++)
      sum += d.hop_sumsq[h];
    double rms = b > a ? std::sqrt(sum / (double)((b - a) * kHop)) : 0.0;
    song.beat_energy[i] = rms;
    peak = std::max(peak, rms);
  }
  for (double &v : song.beat_energy)
    v = peak > 0 ? v / peak : 0.0;
  return song;
}

} // namespace montage
