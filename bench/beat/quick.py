#!/usr/bin/python3
"""Scores the beat tracker core alone (no pipeline, no aubio, no timing) on the sets build-sets.sh made.

    bench/beat/quick.py --build BUILD_DIR [--live] [--only SUBSTRING] [--gain DB] [--lead MS] [--excerpts]
                        [--live-delay MS] [--rate HZ]

A development loop: each song is decoded once with ffmpeg to mono float samples in
~/.cache/gst-montage/bench/beat/raw, then BUILD_DIR/bench/beat-eval (montage::BeatTracker on those
samples, as montagebeat would see them after audioconvert) runs on two songs at a time. The metrics
are score.py's (same functions, same truth); the means come within about 0.005 of a score.py run of
the same code (ffmpeg decodes and downmixes, and the element hands the tracker other buffer sizes).
score.py stays the reference: it runs the real pipeline and aubio and times both.
--gain DB scales every song's samples by DB decibels first (the tracker depends on the input level:
docs/beat-benchmark.md, fifteenth round).
--lead MS puts MS milliseconds of silence before every song (and moves the truth with it): an
encoder's delay (AAC's 1024-2112 samples) or a clip's leading silence moves a song by that much, and
the live tracker must not depend on it.
--rate HZ resamples every song to HZ first (ffmpeg's resampler): the tracker's own resampling to its
22.05 kHz analysis rate is a boxcar at whole multiples (44.1, 88.2 kHz) and interpolates otherwise.
--excerpts scores each MIDI song cut into four excerpts instead (the music from half a beat after the
beat nearest 20 s and 35 s, a quarter beat after 50 s, three quarters after 27 s, to the end), each
against its truth moved with the cut: a song trimmed by its user starts inside the music. Downbeat F
there is over the excerpts of the songs in 4/4 or 3/4, as for the whole songs.
"""
import argparse
import array
import concurrent.futures
import glob
import importlib.util
import os
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ beside the scripts
HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location('score', os.path.join(HERE, 'score.py'))
score = importlib.util.module_from_spec(spec)
spec.loader.exec_module(score)
RAW = score.CACHE + '/raw'


def decode(path, at=0):
    """Mono float samples of a song (cached); returns (raw path, rate). at: resample to this rate (Hz)
    with ffmpeg's resampler first; 0 keeps the file's rate."""
    name = os.path.basename(path).rsplit('.', 1)[0] + (f'.at{at}Hz' if at else '')
    raw, rate_file = f'{RAW}/{name}.f32', f'{RAW}/{name}.rate'
    if not os.path.exists(raw) or not os.path.exists(rate_file):
        os.makedirs(RAW, exist_ok=True)
        rate = str(at) if at else subprocess.run(
            ['ffprobe', '-v', 'error', '-select_streams', 'a:0', '-show_entries', 'stream=sample_rate',
             '-of', 'csv=p=0', path], capture_output=True, text=True, check=True).stdout.strip()
        subprocess.run(['ffmpeg', '-loglevel', 'error', '-y', '-i', path, '-ac', '1']
                       + (['-ar', str(at)] if at else []) + ['-f', 'f32le', '-acodec', 'pcm_f32le',
                                                             raw + '.part'], check=True)
        os.replace(raw + '.part', raw)
        with open(rate_file, 'w') as f:
            f.write(rate + '\n')
    return raw, int(open(rate_file).read())


def scaled(raw, db):
    """A copy of a raw song scaled by db decibels (cached beside it)."""
    out = f'{raw[:-4]}.gain{db:+g}dB.f32'
    if not os.path.exists(out):
        a = array.array('f')
        with open(raw, 'rb') as f:
            a.frombytes(f.read())
        g = 10 ** (db / 20)
        with open(out + '.part', 'wb') as f:
            f.write(array.array('f', (x * g for x in a)).tobytes())
        os.replace(out + '.part', out)
    return out


def led(raw, rate, ms):
    """A copy of a raw song with ms milliseconds of silence before it (cached beside it)."""
    out = f'{raw[:-4]}.lead{ms:g}ms.f32'
    if not os.path.exists(out):
        with open(raw, 'rb') as f, open(out + '.part', 'wb') as o:
            o.write(bytes(4 * round(rate * ms / 1000)))
            o.write(f.read())
        os.replace(out + '.part', out)
    return out


# Where --excerpts cuts each song: (seconds, fraction of the beat after the truth beat nearest them).
EXCERPT_CUTS = ((20, 0.5), (35, 0.5), (50, 0.25), (27, 0.75))


def excerpts(raw, rate, ref):
    """The --excerpts cuts of a raw song (cached beside it): [(cut seconds, raw path)]."""
    dur = os.path.getsize(raw) / 4 / rate
    out = []
    for target, frac in EXCERPT_CUTS:
        k = min(range(len(ref) - 1), key=lambda i: abs(ref[i] - target))
        cut = ref[k] + frac * (ref[k + 1] - ref[k])
        if cut + 25 > dur:  # at least 20 s scored after the 5 s skipped
            continue
        path = f'{raw[:-4]}.from{cut:.3f}s.f32'
        if not os.path.exists(path):
            with open(raw, 'rb') as f, open(path + '.part', 'wb') as o:
                f.seek(4 * round(cut * rate))
                o.write(f.read())
            os.replace(path + '.part', path)
        out.append((round(cut * rate) / rate, path))
    return out


def score_excerpts(tool, songs, decoded, modes):
    """Prints one line per excerpt and the mean F per set and mode."""
    jobs = []
    for path in songs:
        base = path.rsplit('.', 1)[0]
        if not os.path.exists(base + '.beats'):
            continue
        raw, rate = decoded[path]
        dur = os.path.getsize(raw) / 4 / rate
        ref, downs, metres, _ = score.load_truth(base, dur - 0.1)  # as the whole songs
        for cut, piece in excerpts(raw, rate, ref):
            # Downbeats are scored where the whole song's are (one metre, 3 or 4).
            down = [d - cut for d in downs if d > cut] if metres in ({3}, {4}) else None
            jobs.append((os.path.basename(base), cut, piece, rate, [r - cut for r in ref if r > cut], down))
    with concurrent.futures.ThreadPoolExecutor(2) as ex:
        res = {(j[0], j[1], m): ex.submit(run, tool, m, j[2], j[3]) for j in jobs for m in modes}
    sums = {}
    for name, cut, _, _, ref, down in jobs:
        line = f'{name:32s} from {cut:7.3f} s'
        for m in modes:
            bpm, est, est_down = res[(name, cut, m)].result()
            f = score.fmeasure(ref, est)[0]
            sums.setdefault((m, name.split('-')[0]), []).append(f)
            line += f' | {m} bpm {bpm:6.1f} F {f:.3f}'
            if down is not None:
                df = score.fmeasure(down, est_down)[0]
                sums.setdefault((m, 'downbeat'), []).append(df)
                line += f' dF {df:.2f}'
        print(line, flush=True)
    print()
    for m in modes:
        cells = '  '.join(f'{k} {sum(v) / len(v):.3f} (n={len(v)})'
                          for (mm, k), v in sorted(sums.items()) if mm == m and k != 'downbeat')
        print(f'{m:7s} excerpts F {cells}')
        down = sums.get((m, 'downbeat'), [])
        if down:
            print(f'{m:7s} excerpts downbeat F {sum(down) / len(down):.3f} (n={len(down)}, songs in 4/4 or 3/4 only)')


LIVE_DELAY = []  # ['--live-delay', MS] from --live-delay


def run(tool, mode, raw, rate):
    out = subprocess.run([tool, mode, raw, str(rate)] + LIVE_DELAY, capture_output=True, text=True,
                         check=True).stdout
    lines = out.split('\n')
    bpm = float(lines[0].split()[1])
    beats, downs = [], []
    for line in lines[1:]:
        if line.strip():
            t, d = line.split()
            beats.append(float(t))
            if d == '1':
                downs.append(float(t))
    return bpm, beats, downs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build', required=True)
    ap.add_argument('--live', action='store_true')
    ap.add_argument('--only', default='')
    ap.add_argument('--gain', type=float, default=0.0, help='scale the samples by this many dB')
    ap.add_argument('--lead', type=float, default=0.0, help='put this many ms of silence first')
    ap.add_argument('--excerpts', action='store_true', help='score excerpts cut inside each song')
    ap.add_argument('--live-delay', type=float, help="the live tracker's live-delay in ms (default 350)")
    ap.add_argument('--rate', type=int, default=0, help='resample every song to this rate (Hz) first')
    args = ap.parse_args()
    if args.live_delay is not None:
        LIVE_DELAY.extend(['--live-delay', f'{args.live_delay:g}'])
    tool = os.path.join(args.build, 'bench', 'beat-eval')
    if not os.path.exists(tool):
        sys.exit(f'quick: {tool} not found; ninja -C {args.build} bench/beat-eval')
    songs = sorted(glob.glob(score.CACHE + '/audio/*.flac') + glob.glob(score.CACHE + '/audio/*.ogg'))
    songs = [s for s in songs if args.only in os.path.basename(s)]
    if not songs:
        sys.exit('quick: no songs; run bench/beat/build-sets.sh first')
    modes = ['offline'] + (['live'] if args.live else [])
    decoded = {s: decode(s, args.rate) for s in songs}
    if args.gain:
        decoded = {s: (scaled(raw, args.gain), rate) for s, (raw, rate) in decoded.items()}
    if args.lead:
        decoded = {s: (led(raw, rate, args.lead), rate) for s, (raw, rate) in decoded.items()}
    if args.excerpts:
        score_excerpts(tool, songs, decoded, modes)
        return
    with concurrent.futures.ThreadPoolExecutor(2) as ex:
        jobs = {(s, m): ex.submit(run, tool, m, *decoded[s]) for s in songs for m in modes}
        res = {k: v.result() for k, v in jobs.items()}

    sums = {}
    for path in songs:
        name = os.path.basename(path).rsplit('.', 1)[0]
        base = path.rsplit('.', 1)[0]
        raw, rate = decoded[path]
        dur = os.path.getsize(raw) / 4 / rate
        ref = None
        if os.path.exists(base + '.beats'):
            lead = args.lead / 1000
            ref, downs, metres, _ = score.load_truth(base, dur - 0.1 - lead)
            ref = [r + lead for r in ref]
            downs = [d + lead for d in downs]
            true_bpm = score.median_bpm(ref)
        else:
            true_bpm = float(open(base + '.bpm').read())
        line = f'{name:32s} ref {true_bpm:6.1f}'
        for m in modes:
            bpm, est, est_down = res[(path, m)]
            ok = bool(bpm) and abs(bpm / true_bpm - 1) <= 0.04
            sums.setdefault((m, 'tempo'), []).append(ok)
            line += f' | {m} bpm {bpm:6.1f}{"*" if ok else " "}'
            if ref:
                f, pairs = score.fmeasure(ref, est)
                sums.setdefault((m, name.split('-')[0]), []).append(f)
                line += f' F {f:.3f}'
                if m == 'offline':
                    line += f' AMLt {score.amlt(ref, est):.3f}'
                if metres in ({3}, {4}):
                    df = score.fmeasure(downs, est_down)[0]
                    sums.setdefault((m, 'down'), []).append(df)
                    line += f' dF {df:.2f}'
        print(line, flush=True)

    def mean(v):
        return sum(v) / len(v) if v else float('nan')
    print()
    for m in modes:
        tempo = sums[(m, 'tempo')]
        print(f"{m:7s} F steady {mean(sums.get((m, 'steady'), [])):.3f}  hard {mean(sums.get((m, 'hard'), [])):.3f}  "
              f"tempo right {sum(tempo)}/{len(tempo)}  downbeat F {mean(sums.get((m, 'down'), [])):.3f}")


if __name__ == '__main__':
    main()
