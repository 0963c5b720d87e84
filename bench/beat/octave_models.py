#!/usr/bin/python3
"""Four octave cues from the literature, measured on the benchmark songs (numpy only; not the tracker).

    bench/beat/octave_models.py [--build BUILD_DIR] [--only SUBSTRING]

Reads the songs quick.py decoded (~/.cache/gst-montage/bench/beat/raw, run quick.py once first) and
their truth, and prints per song the tempo each model reads, against the notated tempo (tempo right:
within 4 %, as score.py).

1. Klapuri, Eronen and Astola, "Analysis of the meter of acoustic musical signals", IEEE TASLP 14(1),
   2006: an accent signal in four bands (36 log-spaced power bands, mu-law compressed, mixed with their
   half-wave rectified differences, summed nine by nine), a bank of comb-filter resonators (half-time
   3 s) per band, the normalised resonator energies summed over bands and averaged over the song
   (the paper decides per frame with a Viterbi pass; these songs keep one tempo, so one average is
   used), and a joint choice of tatum, tactus and measure periods: the product of each level's
   salience, a log-normal prior per level and a prior on the ratio between neighbouring levels.
   Priors as recalled from the paper (not checked against its text here): log-normal scale 0.18 /
   0.55 / 2.1 s, shape 0.39 / 0.28 / 0.26 for tatum / tactus / measure; the ratios are held to
   integers (tactus/tatum 1-4, measure/tactus 2, 3, 4 or 6; a mixture of narrow Gaussians with equal
   weights, the paper's weights not being at hand).
2. An octave decider in the manner of Percival and Tzanetakis, "Streamlined tempo estimation based on
   autocorrelation and cross-correlation with pulses", IEEE/ACM TASLP 22(12), 2014: after the tempo,
   a classifier on features of the whole-song periodicity decides whether to halve, keep or double
   it. They train it on annotated collections; here there are only these 19 songs, so it is trained
   leave-one-song-out (each song decided by a model fitted on the other 18; multinomial logistic
   regression) on the tracker's tempo (`--build DIR`: `beat-eval offline` of that build) and the
   resonator salience at half and twice that tempo over the salience at it.
3. Goto's drum-pattern cue (M. Goto, "An audio-based real-time beat tracking system for music with
   or without drum-sounds", JNMR 30(2), 2001: the snare drum on alternate beats), as a snare-band
   contrast on the tracker's beats (`backbeat_ratio()`), printed with --build.
4. Gkiokas et al. 2012's split of the percussive and the harmonic part (`split_periodicity()`): the
   salience at half and twice the tracker's tempo over that at it, per part, printed with --build.
With --build, Klapuri's joint model is also asked only to choose among half, once and twice the
tracker's tempo (its tatum and measure free), the way it would sit after the tracker.
docs/beat-benchmark.md's thirty-fifth round quotes this script's output, apart from the figures it marks as worked
out by hand or from a variant.
"""
import argparse
import glob
import os
import subprocess
import sys

import numpy as np

CACHE = os.path.expanduser(os.environ.get('GST_MONTAGE_BENCH_DIR', '~/.cache/gst-montage/bench')) + '/beat'
FPS_HOP = 256  # at 22.05 kHz: 86.1 frames/s
SR = 22050


def load(name):
    raw = f'{CACHE}/raw/{name}.f32'
    rate = int(open(f'{CACHE}/raw/{name}.rate').read())
    x = np.fromfile(raw, dtype=np.float32).astype(np.float64)
    if rate == 44100:
        x = 0.5 * (x[0::2][: len(x) // 2] + x[1::2][: len(x) // 2])
    elif rate != SR:
        t = np.arange(0, len(x) / rate, 1 / SR)
        x = np.interp(t, np.arange(len(x)) / rate, x)
    return x


def accent_bands(x):
    """(4, frames) accent signals at SR / FPS_HOP frames per second (Klapuri 2006, section II)."""
    n = 1024
    frames = 1 + (len(x) - n) // FPS_HOP
    win = np.hanning(n)
    edges = np.geomspace(50, 10000, 37)
    freqs = np.fft.rfftfreq(n, 1 / SR)
    band_of = np.digitize(freqs, edges) - 1
    power = np.zeros((36, frames))
    for start in range(0, frames, 2048):
        idx = np.arange(start, min(frames, start + 2048))
        seg = np.stack([x[i * FPS_HOP:i * FPS_HOP + n] * win for i in idx])
        p = np.abs(np.fft.rfft(seg, axis=1)) ** 2
        for b in range(36):
            sel = band_of == b
            if sel.any():
                power[b, idx] = p[:, sel].sum(axis=1)
    mu = 100.0
    power /= max(power.max(), 1e-20)
    z = np.log1p(mu * power) / np.log1p(mu)
    # low-pass (10 Hz, a short moving average stands in for the paper's Butterworth)
    k = np.ones(5) / 5
    z = np.stack([np.convolve(row, k, mode='same') for row in z])
    dz = np.maximum(np.diff(z, axis=1, prepend=z[:, :1]), 0)
    fps = SR / FPS_HOP
    u = 0.1 * z + 0.9 * (fps / 10.0) * dz
    return np.stack([u[9 * i:9 * i + 9].sum(axis=0) for i in range(4)])


def resonator_salience(acc, periods):
    """Normalised comb-resonator energy per period (frames), summed over bands, averaged over the song
    (after the first 3 s): (E[y^2] / E[x^2] - g) / (1 - g), g = (1 - a) / (1 + a) the energy a
    resonator gives white noise (Klapuri 2006, eq. 7-8)."""
    fps = SR / FPS_HOP
    total = np.zeros(len(periods))
    alpha = 0.5 ** (periods / (3.0 * fps))
    gamma = (1 - alpha) / (1 + alpha)
    maxp = periods.max()
    ar = np.arange(len(periods))
    warm = int(3 * fps)
    for band in acc:
        band = band - band.mean()  # the paper removes the accent's mean too
        y = np.zeros((len(band) + maxp, len(periods)))
        for n, xn in enumerate(band):
            t = n + maxp
            y[t] = alpha * y[t - periods, ar] + (1 - alpha) * xn
        e = np.mean(y[maxp + warm:] ** 2, axis=0)
        v = np.mean(band[warm:] ** 2)
        total += (e / max(v, 1e-20) - gamma) / (1 - gamma)
    return total


def _median_filter(m, k, axis):
    """Running median of k (odd) values along axis 0 (time) or 1 (frequency), edges repeated."""
    pad = [(0, 0), (0, 0)]
    pad[axis] = (k // 2, k // 2)
    padded = np.pad(m, pad, mode='edge')
    out = np.empty_like(m)
    for start in range(0, len(m), 1024):
        rows = padded[start:start + 1024 + (k - 1 if axis == 0 else 0)]
        out[start:start + 1024] = np.median(np.lib.stride_tricks.sliding_window_view(rows, k, axis=axis), axis=-1)
    return out


def split_periodicity(x, periods, bpm):
    """Gkiokas, Katsouros, Carayannis and Stafylakis, "Music tempo estimation and beat tracking by
    applying source separation and metrical relations", ICASSP 2012: the periodicity of the percussive
    and of the harmonic part apart. Harmonic/percussive split by median filtering (Fitzgerald 2010:
    17 frames across time, 17 bins across frequency, soft masks); percussive: log-magnitude flux;
    harmonic: one less the cosine between the chroma (80 Hz-5 kHz) of 8-frame means 8 frames apart.
    Returns, per part, ln s(bpm / 2) / s(bpm) and ln s(2 bpm) / s(bpm) of the resonator salience."""
    n = 1024
    frames = 1 + (len(x) - n) // FPS_HOP
    win = np.hanning(n)
    mag = np.empty((frames, n // 2 + 1), np.float32)
    for start in range(0, frames, 2048):
        idx = np.arange(start, min(frames, start + 2048))
        mag[idx] = np.abs(np.fft.rfft(np.stack([x[i * FPS_HOP:i * FPS_HOP + n] * win for i in idx]), axis=1))
    harm, perc = _median_filter(mag, 17, 0), _median_filter(mag, 17, 1)
    mask = harm ** 2 / (harm ** 2 + perc ** 2 + 1e-20)
    mh, mp = mag * mask, mag * (1 - mask)
    lp = np.log1p(1e3 * mp / max(mp.max(), 1e-20))
    perc_env = np.maximum(np.diff(lp, axis=0, prepend=lp[:1]), 0).sum(axis=1)
    freqs = np.fft.rfftfreq(n, 1 / SR)
    pc = np.where((freqs > 80) & (freqs < 5000), np.round(12 * np.log2(np.maximum(freqs, 1) / 440)) % 12, -1)
    chroma = np.sqrt(np.stack([(mh[:, pc == k] ** 2).sum(axis=1) for k in range(12)], axis=1))
    chroma = np.apply_along_axis(lambda v: np.convolve(v, np.ones(8) / 8, 'same'), 0, chroma)
    a, b = chroma[8:], chroma[:-8]
    cos = (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + 1e-12)
    harm_env = np.concatenate([np.zeros(4), 1 - cos, np.zeros(4)])
    secs = periods / (SR / FPS_HOP)
    out = []
    for env in (perc_env, harm_env):
        sal = np.maximum(resonator_salience(env[None, :], periods), 1e-3)

        def at(b):
            return sal[np.argmin(np.abs(secs - 60 / b))]
        out += [np.log(at(bpm / 2) / at(bpm)), np.log(at(2 * bpm) / at(bpm))]
    return out


def lognormal(tau, m, s):
    """Log of the log-normal density at period tau (s), scale m (s), shape s."""
    return -((np.log(tau / m)) ** 2) / (2 * s * s) - np.log(tau)


def ratio_prior(r, allowed, width=0.05):
    """Log of an equal-weight mixture of Gaussians at the allowed ratios, each width * ratio wide."""
    return np.log(sum(np.exp(-((r - a) / (width * a)) ** 2 / 2) for a in allowed) + 1e-12)


def klapuri(sal, periods, fps, use_salience=True, use_priors=True):
    """Joint tatum/tactus/measure choice; returns the tactus in BPM and the (tatum, tactus, measure)."""
    s = np.maximum(sal, 1e-3)
    logs = np.log(s) if use_salience else np.zeros_like(s)
    secs = periods / fps
    best, arg = -np.inf, None
    for ib, tb in enumerate(secs):
        for div in (1, 2, 3, 4):
            ia = np.argmin(np.abs(secs - tb / div))
            for mul in (2, 3, 4, 6):
                ic = np.argmin(np.abs(secs - tb * mul))
                if abs(secs[ic] / (tb * mul) - 1) > 0.03 or abs(secs[ia] / (tb / div) - 1) > 0.03:
                    continue
                score = logs[ib] + logs[ia] + logs[ic]
                if use_priors:
                    score += lognormal(tb, 0.55, 0.28) + lognormal(secs[ia], 0.18, 0.39) + \
                        lognormal(secs[ic], 2.1, 0.26)
                    score += ratio_prior(tb / secs[ia], (1, 2, 3, 4)) + ratio_prior(secs[ic] / tb, (2, 3, 4, 6))
                if score > best:
                    best, arg = score, (secs[ia], tb, secs[ic])
    return 60 / arg[1], arg


def truth_bpm(name):
    """The median truth tempo over the first 150 s (what build-sets.sh renders)."""
    beats = []
    with open(f'{CACHE}/audio/{name}.beats') as f:
        for line in f:
            t = float(line.split()[0])
            if t > 150:
                break
            beats.append(t)
    return 60 / np.median(np.diff(beats))


def tracker_beats(build, name):
    """The tempo (BPM) and beats (s) `beat-eval offline` (the tracker core) reports for a decoded song."""
    rate = open(f'{CACHE}/raw/{name}.rate').read().strip()
    out = subprocess.run([os.path.join(build, 'bench', 'beat-eval'), 'offline', f'{CACHE}/raw/{name}.f32', rate],
                         capture_output=True, text=True, check=True).stdout.split('\n')
    return float(out[0].split()[1]), np.array([float(line.split()[0]) for line in out[1:] if line.strip()])


def backbeat_ratio(x, beats):
    """Goto's drum-pattern cue (Goto 2001: the snare on alternate beats) on the tracked beats: a
    snare-band onset (log-power flux at 1-4 kHz, weighted by the band's spectral flatness, less its
    0.4 s moving mean) taken at each beat (the largest within 2 frames) and z-scored; the best phase's
    contrast (its beats' mean less the others') every 4 beats over every 2. A backbeat at the beat's
    level gives about 0.67, a snare on every fourth beat (a half-time feel, the beat read at twice
    the tempo whose alternate beats the snare marks) about 2."""
    n = 1024
    frames = 1 + (len(x) - n) // FPS_HOP
    win = np.hanning(n)
    sel = (np.fft.rfftfreq(n, 1 / SR) >= 1000) & (np.fft.rfftfreq(n, 1 / SR) < 4000)
    band = np.zeros((frames, int(sel.sum())))
    for start in range(0, frames, 2048):
        idx = np.arange(start, min(frames, start + 2048))
        seg = np.stack([x[i * FPS_HOP:i * FPS_HOP + n] * win for i in idx])
        band[idx] = (np.abs(np.fft.rfft(seg, axis=1)) ** 2)[:, sel]
    level = np.log1p(1e4 * band / max(band.max(), 1e-20))
    flux = np.maximum(np.diff(level, axis=0, prepend=level[:1]), 0).sum(axis=1)
    flat = np.exp(np.mean(np.log(band + 1e-12), axis=1)) / (np.mean(band, axis=1) + 1e-12)
    env = flux * flat
    env = env - np.convolve(env, np.ones(35) / 35, mode='same')
    at = np.round(beats * SR / FPS_HOP).astype(int)
    at = at[(at > 2) & (at < len(env) - 3)]
    s = np.array([env[f - 2:f + 3].max() for f in at])
    s = (s - s.mean()) / (s.std() + 1e-9)

    def contrast(every):
        return max(s[p::every].mean() - np.delete(s, np.arange(p, len(s), every)).mean() for p in range(every))
    return contrast(4) / max(contrast(2), 1e-3)


def octave_choice(sal, secs, bpm):
    """Klapuri's joint model asked only which of bpm / 2, bpm, 2 bpm is the tactus; the three scores."""
    s = np.maximum(sal, 1e-3)

    def at(period):
        return np.log(s[np.argmin(np.abs(secs - period))])
    scores = []
    for tb in (120 / bpm, 60 / bpm, 30 / bpm):
        scores.append(max(at(tb) + at(tb / div) + at(tb * mul) + lognormal(tb, 0.55, 0.28)
                          + lognormal(tb / div, 0.18, 0.39) + lognormal(tb * mul, 2.1, 0.26)
                          for div in (1, 2, 3, 4) for mul in (2, 3, 4, 6)))
    return scores


def fit_softmax(x, y, lam, steps=3000):
    """Multinomial logistic regression (3 classes), L2 weight lam, plain gradient descent."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros((xb.shape[1], 3))
    for _ in range(steps):
        z = xb @ w
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        reg = np.vstack([w[:-1], np.zeros((1, 3))])
        w -= 0.5 * (xb.T @ (p - np.eye(3)[y]) + lam * reg) / len(x)
    return w


def right(bpm, ref):
    return abs(bpm / ref - 1) <= 0.04


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--only', default='')
    ap.add_argument('--build', default='', help='also decide the octave of this build\'s tracker tempo')
    args = ap.parse_args()
    names = sorted(os.path.basename(p)[:-6] for p in glob.glob(CACHE + '/audio/*.beats'))
    names = [n for n in names if args.only in n]
    if not names or not all(os.path.exists(f'{CACHE}/raw/{n}.f32') for n in names):
        sys.exit('octave_models: songs not decoded; run bench/beat/quick.py once first')
    fps = SR / FPS_HOP
    periods = np.unique(np.round(fps * 60 / np.geomspace(20, 480, 240)).astype(int))
    periods = periods[periods >= 8]
    secs = periods / fps
    rows = []
    for name in names:
        x = load(name)[: int(150 * SR)]
        sal = resonator_salience(accent_bands(x), periods)
        ref = truth_bpm(name)
        joint, levels = klapuri(sal, periods, fps)
        row = {'name': name, 'ref': ref, 'joint': joint, 'priors': klapuri(sal, periods, fps, use_salience=False)[0],
               'salience': klapuri(sal, periods, fps, use_priors=False)[0]}

        def s_at(bpm):
            return max(sal[np.argmin(np.abs(secs - 60 / bpm))], 1e-3)
        line = (f'{name:32s} ref {ref:6.1f} | joint {joint:6.1f} (tatum {levels[0]:.2f} s, measure {levels[2]:.2f} s)'
                f' priors alone {row["priors"]:6.1f} salience alone {row["salience"]:6.1f}')
        if args.build:
            t, beats = tracker_beats(args.build, name)
            sc = octave_choice(sal, secs, t)
            row.update(tracker=t, octave=t * (0.5, 1, 2)[int(np.argmax(sc))],
                       features=[np.log2(t / 120), np.log(s_at(t / 2) / s_at(t)), np.log(s_at(2 * t) / s_at(t))])
            line += (f' | tracker {t:6.1f} -> joint octave {row["octave"]:6.1f}'
                     f' (half/same/double {sc[0]:+.2f} {sc[1]:+.2f} {sc[2]:+.2f})'
                     f' features {" ".join(f"{v:+.2f}" for v in row["features"])}'
                     f' backbeat 4:2 {backbeat_ratio(x, beats):.2f}'
                     ' percussive/harmonic half, double '
                     + ' '.join(f'{v:+.2f}' for v in split_periodicity(x, periods, t)))
        print(line, flush=True)
        rows.append(row)
    for key in ('joint', 'priors', 'salience') + (('tracker', 'octave') if args.build else ()):
        print(f'tempo right ({key}): {sum(right(r[key], r["ref"]) for r in rows)}/{len(rows)}')
    if not args.build or len(rows) < 10:
        return  # the decider is trained on the other songs: not on a handful
    # The octave decider, trained leave-one-song-out: class 0 halve, 1 keep, 2 double.
    feats = np.array([r['features'] for r in rows])
    y = np.array([0 if r['ref'] < 0.75 * r['tracker'] else 2 if r['ref'] > 1.5 * r['tracker'] else 1 for r in rows])
    for lam in (0.1, 1.0, 10.0):
        ok, moved = 0, []
        for i in range(len(rows)):
            train = np.arange(len(rows)) != i
            mu, sd = feats[train].mean(axis=0), feats[train].std(axis=0) + 1e-9
            w = fit_softmax((feats[train] - mu) / sd, y[train], lam)
            k = int(np.argmax(np.append((feats[i] - mu) / sd, 1) @ w))
            bpm = rows[i]['tracker'] * (0.5, 1, 2)[k]
            ok += right(bpm, rows[i]['ref'])
            if k != 1:
                moved.append(f'{rows[i]["name"]} {bpm:.0f}')
        print(f'octave decider, leave one song out, L2 {lam:g}: tempo right {ok}/{len(rows)};'
              f' moved: {", ".join(moved)}')


if __name__ == '__main__':
    sys.exit(main())
