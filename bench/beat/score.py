#!/usr/bin/python3
"""Scores montagebeat (offline and live) and `aubio beat` on the sets build-sets.sh made, in one run.

    bench/beat/score.py [--build BUILD_DIR] [--only SUBSTRING] [--markdown OUT.md] [--no-speed]
    bench/beat/score.py --build BUILD_DIR --speed-against OTHER_BUILD_DIR [--only SUBSTRING]

For every song: montagebeat mode=offline (the `montage-beats` summary at EOS), montagebeat
mode=live (every `montage-beat` message as it comes), and aubio's command-line `aubio beat`.
Metrics, after mir_eval.beat: F-measure (+/-70 ms one-to-one matching, beats before 5 s ignored),
AMLt (continuity allowing double, half and off-beat metrical levels; phase and period thresholds
0.175), tempo right (within 4 % of the median reference tempo, no octave allowed), downbeat
F-measure (+/-70 ms; offline from `montage-beats`' downbeats, live from each `montage-beat`'s
`downbeat` field as posted) and the mean signed offset of matched beats (ms, positive = late).
Live also reports the delay from the first note to the first live beat.
Speed: wall time of `decodebin ! audioconvert ! fakesink` with and without montagebeat, over all
songs, alternating, best of two runs each; also the CPU time of the process over the same runs (user
+ system, all threads), which other jobs on a shared machine disturb much less than the wall time.
--speed-against compares the speed of two builds (say, before and after a change) in one run and
scores nothing: a child process per build times every song (as above, one run each), the children
alternate A B A B, and each song keeps its best time per pipeline; both ratios come from the same
minutes of a shared machine.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

import gi
gi.require_version('Gst', '1.0')
from gi.repository import Gst  # noqa: E402

CACHE = os.path.expanduser(os.environ.get('GST_MONTAGE_BENCH_DIR', '~/.cache/gst-montage/bench')) + '/beat'
WINDOW = 0.070
SKIP = 5.0


def match(ref, est, window=WINDOW):
    """Greedy one-to-one matching of sorted lists; returns matched (ref, est) pairs."""
    pairs, j = [], 0
    used = set()
    for r in ref:
        best, bj = None, None
        for k in range(j, len(est)):
            if est[k] > r + window:
                break
            d = abs(est[k] - r)
            if d <= window and k not in used and (best is None or d < best):
                best, bj = d, k
        if bj is not None:
            used.add(bj)
            pairs.append((r, est[bj]))
            j = bj + 1
    return pairs


def fmeasure(ref, est):
    ref = [r for r in ref if r >= SKIP]
    est = [e for e in est if e >= SKIP]
    if not ref or not est:
        return 0.0, []
    pairs = match(ref, est)
    p, r = len(pairs) / len(est), len(pairs) / len(ref)
    return (2 * p * r / (p + r) if p + r else 0.0), pairs


def continuity_total(ref, est, thr=0.175):
    if len(ref) < 2 or len(est) < 2:
        return 0.0
    ok = 0
    for m, e in enumerate(est):
        k = min(range(len(ref)), key=lambda i: abs(ref[i] - e))
        ri = ref[k] - ref[k - 1] if k > 0 else ref[1] - ref[0]
        ei = est[m] - est[m - 1] if m > 0 else est[1] - est[0]
        if ri > 0 and abs(e - ref[k]) / ri < thr and abs(1 - ei / ri) < thr:
            ok += 1
    return ok / max(len(ref), len(est))


def amlt(ref, est):
    ref = [r for r in ref if r >= SKIP]
    est = [e for e in est if e >= SKIP]
    if len(ref) < 2 or len(est) < 2:
        return 0.0
    mids = [(a + b) / 2 for a, b in zip(ref, ref[1:])]
    double = sorted(ref + mids)
    variations = [ref, mids, double, ref[0::2], ref[1::2]]
    return max(continuity_total(v, est) for v in variations if len(v) >= 2)


def median_bpm(times):
    ibi = sorted(b - a for a, b in zip(times, times[1:]))
    return 60.0 / ibi[len(ibi) // 2] if ibi else 0.0


def list_field(s, field):
    """Values of a GstValueArray field, or of a GstValueList (montagebeat's lists until its
    summary took arrays); PyGObject converts neither everywhere, so the text is parsed:
    "< a, b >" for an array, "{ a, b }" for a list."""
    if not s.has_field(field):
        return []
    text = s.to_string()
    at = text.find(' ' + field + '=')
    if at < 0:
        at = text.find(field + '=')
    value = text[at:].split('=', 1)[1]
    opener = min((i for i in (value.find('<'), value.find('{')) if i >= 0), default=-1)
    if opener < 0:
        return []
    closer = '>' if value[opener] == '<' else '}'
    body = value[opener + 1:value.index(closer, opener)]
    out = []
    for v in body.split(','):
        v = v.strip()
        if v.startswith('('):
            v = v[v.index(')') + 1:]
        if v in ('true', 'false'):
            out.append(v == 'true')
        elif v:
            out.append(float(v))
    return out


def run_element(path, mode, plugin_path):
    """Runs decodebin ! audioconvert ! montagebeat ! fakesink; returns (summary dict, live beats)."""
    has_mode = Gst.ElementFactory.make('montagebeat').find_property('mode') is not None
    mode_prop = f'mode={mode}' if has_mode else ''  # the first version had no mode
    pipe = Gst.parse_launch(f'filesrc location="{path}" ! decodebin ! audioconvert ! '
                            f'montagebeat {mode_prop} name=b ! fakesink sync=false')
    bus = pipe.get_bus()
    pipe.set_state(Gst.State.PLAYING)
    live, summary = [], {}
    while True:
        msg = bus.timed_pop_filtered(Gst.CLOCK_TIME_NONE,
                                     Gst.MessageType.EOS | Gst.MessageType.ERROR | Gst.MessageType.ELEMENT)
        if msg.type == Gst.MessageType.ERROR:
            err, dbg = msg.parse_error()
            pipe.set_state(Gst.State.NULL)
            raise RuntimeError(f'{path}: {err.message} ({dbg})')
        if msg.type == Gst.MessageType.EOS:
            break
        s = msg.get_structure()
        if s.get_name() == 'montage-beat':
            live.append((s.get_value('timestamp') / 1e9, s.get_value('bpm'),
                         s.get_value('downbeat') if s.has_field('downbeat') else False))
        elif s.get_name() == 'montage-beats':
            summary = {'beats': [v / 1e9 for v in list_field(s, 'beats')], 'bpm': s.get_value('bpm')}
            summary['downbeats'] = list_field(s, 'downbeats')
            summary['duration'] = s.get_value('duration') / 1e9
    pipe.set_state(Gst.State.NULL)
    return summary, live


def run_aubio(path):
    out = subprocess.run(['aubio', 'beat', path], capture_output=True, text=True, check=True).stdout
    return [float(x) for x in out.split()]


def time_pipeline(path, with_beat):
    """Runs the pipeline once; returns (wall seconds, CPU seconds of this process)."""
    mid = ' montagebeat !' if with_beat else ''
    pipe = Gst.parse_launch(f'filesrc location="{path}" ! decodebin ! audioconvert !{mid} fakesink sync=false')
    t0, c0 = time.perf_counter(), time.process_time()
    pipe.set_state(Gst.State.PLAYING)
    pipe.get_bus().timed_pop_filtered(Gst.CLOCK_TIME_NONE, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    t, c = time.perf_counter() - t0, time.process_time() - c0
    pipe.set_state(Gst.State.NULL)
    return t, c


def best_of(runs):
    """Element-wise minimum of (wall, CPU) pairs."""
    return min(r[0] for r in runs), min(r[1] for r in runs)


def speed_child(build, songs, registry):
    """Times every song once without and once with montagebeat from `build` in a child process
    (GStreamer registry file `registry`); returns two lists of (wall, CPU) seconds."""
    code = ('import json, sys; sys.path.insert(0, sys.argv[1]); import score; score.Gst.init(None); '
            'print(json.dumps([[score.time_pipeline(p, False), score.time_pipeline(p, True)] '
            'for p in sys.argv[2:]]))')
    env = dict(os.environ, GST_PLUGIN_PATH=os.path.abspath(os.path.join(build, 'gst')), GST_REGISTRY=registry)
    out = subprocess.run([sys.executable, '-B', '-c', code, os.path.dirname(os.path.abspath(__file__))] + songs,
                         capture_output=True, text=True, check=True, env=env).stdout
    times = json.loads(out)
    return [t[0] for t in times], [t[1] for t in times]


def speed_against(build_a, build_b, songs):
    best = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(2):
            for i, build in enumerate((build_a, build_b)):
                base, beat = speed_child(build, songs, f'{tmp}/registry-{i}.bin')
                inf = (float('inf'), float('inf'))
                old = best.get(build, ([inf] * len(songs), [inf] * len(songs)))
                best[build] = ([best_of(x) for x in zip(old[0], base)], [best_of(x) for x in zip(old[1], beat)])
    ratios = {}
    for build in (build_a, build_b):
        base = [sum(t[k] for t in best[build][0]) for k in (0, 1)]
        beat = [sum(t[k] for t in best[build][1]) for k in (0, 1)]
        ratios[build] = (beat[0] / base[0], beat[1] / base[1])
        print(f"speed {build}: decodebin ! audioconvert ! fakesink {base[0]:.2f} s; with montagebeat {beat[0]:.2f} s; "
              f"ratio {ratios[build][0]:.2f}x; CPU {base[1]:.2f} s / {beat[1]:.2f} s, ratio {ratios[build][1]:.2f}x")
    print(f"ratio {build_a} / {build_b}: wall {ratios[build_a][0] / ratios[build_b][0]:.3f}, "
          f"CPU {ratios[build_a][1] / ratios[build_b][1]:.3f}")


def load_truth(base, until=float('inf')):
    """Beats, downbeats and the set of metres (beats per bar) of a song's truth up to `until` s, and its
    first note (s). The metres are those of the scored span: build-sets.sh keeps at most 150 s of each
    song, so a metre change after that (hard-105's one 3/4 bar at 185 s) is not in what is scored."""
    beats, downs, metres = [], [], set()
    with open(base + '.beats') as f:
        for line in f:
            t, pos, per_bar = line.split()
            if float(t) > until:
                break
            beats.append(float(t))
            metres.add(int(per_bar))
            if pos == '1':
                downs.append(float(t))
    info = open(base + '.info').read()
    first_note = float(info.split('first_note ')[1].split('s')[0])
    return beats, downs, metres, first_note


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build', default=os.path.join(os.path.dirname(__file__), '../../build'))
    ap.add_argument('--only', default='')
    ap.add_argument('--markdown', default='')
    ap.add_argument('--no-speed', action='store_true')
    ap.add_argument('--speed-against', default='')
    args = ap.parse_args()
    if args.speed_against:
        songs = sorted(glob.glob(CACHE + '/audio/*.flac') + glob.glob(CACHE + '/audio/*.ogg'))
        songs = [s for s in songs if args.only in os.path.basename(s)]
        if not songs:
            sys.exit('score: no songs; run bench/beat/build-sets.sh first')
        speed_against(args.build, args.speed_against, songs)
        return
    os.environ['GST_PLUGIN_PATH'] = os.path.abspath(os.path.join(args.build, 'gst'))
    Gst.init(None)
    if not Gst.ElementFactory.find('montagebeat'):
        sys.exit(f'score: montagebeat not found under {args.build}/gst; build it first')

    songs = sorted(glob.glob(CACHE + '/audio/*.flac') + glob.glob(CACHE + '/audio/*.ogg'))
    songs = [s for s in songs if args.only in os.path.basename(s)]
    if not songs:
        sys.exit('score: no songs; run bench/beat/build-sets.sh first')
    rows = []
    for path in songs:
        name = os.path.basename(path).rsplit('.', 1)[0]
        base = path.rsplit('.', 1)[0]
        summary, live = run_element(path, 'offline', None)
        _, live = run_element(path, 'live', None)
        aub = run_aubio(path)
        dur = summary.get('duration', 1e9)
        row = {'name': name, 'set': name.split('-')[0]}
        systems = {'offline': summary.get('beats', []), 'live': [b[0] for b in live], 'aubio': aub}
        bpms = {'offline': summary.get('bpm', 0.0), 'live': live[-1][1] if live else 0.0,
                'aubio': median_bpm(aub)}
        if os.path.exists(base + '.beats'):
            ref, downs, metres, first_note = load_truth(base, dur - 0.1)
            true_bpm = median_bpm(ref)
            for sysname, est in systems.items():
                f, pairs = fmeasure(ref, est)
                row[sysname + '.F'] = f
                row[sysname + '.AMLt'] = amlt(ref, est)
                row[sysname + '.offset'] = (1000 * sum(e - r for r, e in pairs) / len(pairs)) if pairs else float('nan')
            row['metre'] = '/'.join(str(m) for m in sorted(metres))
            est_down = [t for t, d in zip(summary.get('beats', []), summary.get('downbeats', [])) if d]
            row['offline.downF'] = fmeasure(downs, est_down)[0] if downs else float('nan')
            live_down = [t for t, _, d in live if d]
            row['live.downF'] = fmeasure(downs, live_down)[0] if downs else float('nan')
            row['live.first'] = (live[0][0] - first_note) if live else float('nan')
        else:
            true_bpm = float(open(base + '.bpm').read())
        row['true_bpm'] = true_bpm
        for sysname in systems:
            row[sysname + '.bpm'] = bpms[sysname]
            row[sysname + '.tempo_ok'] = abs(bpms[sysname] / true_bpm - 1) <= 0.04 if bpms[sysname] else False
        rows.append(row)
        print(f"{name:34s} ref {true_bpm:6.1f} | off F {row.get('offline.F', float('nan')):.3f} "
              f"AMLt {row.get('offline.AMLt', float('nan')):.3f} bpm {row['offline.bpm']:6.1f} "
              f"dF {row.get('offline.downF', float('nan')):.2f} off {row.get('offline.offset', float('nan')):+5.1f}ms | "
              f"live F {row.get('live.F', float('nan')):.3f} bpm {row['live.bpm']:6.1f} first {row.get('live.first', float('nan')):.2f}s "
              f"off {row.get('live.offset', float('nan')):+5.1f}ms | aubio F {row.get('aubio.F', float('nan')):.3f} "
              f"bpm {row['aubio.bpm']:6.1f}", flush=True)

    def mean(key, group):
        vals = [r[key] for r in group if key in r and r[key] == r[key]]
        return sum(vals) / len(vals) if vals else float('nan')

    print()
    for setname in ('steady', 'hard'):
        g = [r for r in rows if r['set'] == setname]
        if not g:
            continue
        print(f"{setname:7s} n={len(g):2d}  F: offline {mean('offline.F', g):.3f}  live {mean('live.F', g):.3f}  "
              f"aubio {mean('aubio.F', g):.3f}  (offline - aubio {mean('offline.F', g) - mean('aubio.F', g):+.3f})  "
              f"AMLt offline {mean('offline.AMLt', g):.3f}  offset offline {mean('offline.offset', g):+.1f} ms "
              f"live {mean('live.offset', g):+.1f} ms aubio {mean('aubio.offset', g):+.1f} ms")
    for sysname in ('offline', 'live', 'aubio'):
        ok = sum(1 for r in rows if r[sysname + '.tempo_ok'])
        print(f"tempo right ({sysname}): {ok}/{len(rows)} = {ok / len(rows):.2f}")
    dg = [r for r in rows if r.get('metre') in ('3', '4')]
    print(f"downbeat F (offline, songs in 4/4 or 3/4 only, n={len(dg)}): {mean('offline.downF', dg):.3f}; "
          f"live (montage-beat's downbeat field): {mean('live.downF', dg):.3f}")
    lg = [r for r in rows if r['set'] == 'steady']
    if lg:
        print(f"live: first beat after first note, worst on steady set: "
              f"{max(r['live.first'] for r in lg):.2f} s, mean {mean('live.first', lg):.2f} s")

    if not args.no_speed:
        base_t, beat_t, base_c, beat_c = 0.0, 0.0, 0.0, 0.0
        for path in songs:
            b = best_of([time_pipeline(path, False), time_pipeline(path, False)])
            m = best_of([time_pipeline(path, True), time_pipeline(path, True)])
            base_t += b[0]
            beat_t += m[0]
            base_c += b[1]
            beat_c += m[1]
        print(f"speed: decodebin ! audioconvert ! fakesink {base_t:.2f} s; with montagebeat {beat_t:.2f} s; "
              f"ratio {beat_t / base_t:.2f}x (target <= 1.5x); CPU {base_c:.2f} s / {beat_c:.2f} s, "
              f"ratio {beat_c / base_c:.2f}x; load {os.getloadavg()[0]:.1f}")

    if args.markdown:
        with open(args.markdown, 'w') as f:
            f.write('| song | set | ref BPM | metre | offline F | offline AMLt | offline BPM | downbeat F | '
                    'offline offset ms | live F | live BPM | live downbeat F | live first beat s | aubio F | aubio BPM |\n')
            f.write('|' + '---|' * 15 + '\n')
            for r in rows:
                def g(k, fmt='{:.3f}'):
                    v = r.get(k)
                    return fmt.format(v) if isinstance(v, float) and v == v else '-'
                f.write(f"| {r['name']} | {r['set']} | {r['true_bpm']:.1f} | {r.get('metre', '-')} | {g('offline.F')} | "
                        f"{g('offline.AMLt')} | {g('offline.bpm', '{:.1f}')} | {g('offline.downF', '{:.2f}')} | "
                        f"{g('offline.offset', '{:+.1f}')} | {g('live.F')} | {g('live.bpm', '{:.1f}')} | "
                        f"{g('live.downF', '{:.2f}')} | {g('live.first', '{:.2f}')} | {g('aubio.F')} | "
                        f"{g('aubio.bpm', '{:.1f}')} |\n")
            for setname in ('steady', 'hard'):
                g = [r for r in rows if r['set'] == setname]
                if g:
                    f.write(f"| **mean {setname}** | | | | {mean('offline.F', g):.3f} | {mean('offline.AMLt', g):.3f} | | "
                            f"{mean('offline.downF', g):.2f} | {mean('offline.offset', g):+.1f} | {mean('live.F', g):.3f} | | "
                            f"{mean('live.downF', g):.2f} | {mean('live.first', g):.2f} | {mean('aubio.F', g):.3f} | |\n")


if __name__ == '__main__':
    main()
