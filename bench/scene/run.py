#!/usr/bin/env python3
"""Shot-cut benchmark for gst-montage (issue 3). Not part of the test suite.

Builds a ground-truth set into ~/.cache/gst-montage/bench/scene (never into git)
from the real clips scripts/fetch-media.sh puts in ~/.cache/gst-montage/media
(Debian packages, see ../shared/MEDIA.md):

  hardcuts-{x264,gop50}.mp4  10 segments of real shots, 1920x1080 25 fps, 9 cuts
  longshots-{x264,gop50}.mp4 6 shots of 9.6-12 s (>= 5 GOPs of 50 frames), 5 cuts
  x264 = libx264 defaults (keyint 250, scenecut 40); gop50 = keyint 50, no scenecut

plus the real clips with known cuts (Megamind.avi, oa4_launch.webm, cityCC0.mpg)
and the cut-free vtest.avi. Each segment is trimmed inside one shot of its
source, so the cut frames are the junctions, exactly.

A camera-motion set is scored on its own lines: the same real pictures
scaled to 3840x2160 and seen through a moving 1920x1080 crop (sinusoidal
pans peaking at 94-373 px a frame, random shakes of +-60 to +-120 px about
the centre, some blurred by averaging 2-3 frames), x264 defaults:

  motion-cuts.mp4            5 moving segments, 4 cuts straight out of the motion
  motion-free-{whip,shake,pan}.mp4  one moving shot each, no cut

In one run it reports precision/recall/F1 at 0, 1, 2 frames (greedy one-to-one
matching), false cuts on cut-free clips, and wall times: decoding alone vs
decoding + montagescene (same pipeline), FFmpeg scdet, and the keyframe path of
analyse_clip_file() vs its full decoding. Times are ratios measured in the same
run; repeat runs vary by a few percent on a shared machine.

Each timing repetition runs the two sides back to back, so every repetition
gives one paired ratio. Two statistics are printed: the ratio of the two
sides' best times (best of N), and the median of the N paired ratios with
their range. The paired median cancels the slow drifts of a shared machine
that the two minima, taken at different moments, do not.

The keyframe path's speed-up is given twice. Per process: each analysis is a
process of its own, timed from outside, so both sides include starting the
process and loading the plugins (libgstlibav alone takes about 0.1 s, as much as
the refinement of a cut). Per clip: the file analysed twice in one process and
the second analysis timed (analyse_clip_file() alone, plugins loaded), as the
tool analyses the clips of a folder after the first.

  bench/scene/run.py [--build BUILD_DIR] [--repeat N]
"""
import argparse
import json
import math
import os
import re
import resource
import subprocess
import sys
import statistics
import time

HOME = os.path.expanduser("~")
MEDIA = os.environ.get("GST_MONTAGE_MEDIA_DIR", os.path.join(HOME, ".cache/gst-montage/media"))
CACHE = os.path.join(HOME, ".cache/gst-montage/bench/scene")
FPS = 25

# (source, start s, end s, slow-down factor): each inside one shot of its source
# (shot boundaries of the sources: ../shared/MEDIA.md), margins of >= 0.1 s.
HARDCUTS = [
    ("Megamind.avi", 2.0, 4.0, 1), ("oa4_launch.webm", 3.5, 6.0, 1), ("cityCC0.mpg", 0.2, 4.3, 1),
    ("vtest.avi", 5.0, 8.0, 1), ("Megamind.avi", 4.2, 6.3, 1), ("oa4_launch.webm", 0.5, 2.5, 1),
    ("cityCC0.mpg", 4.9, 7.3, 1), ("Megamind.avi", 8.45, 11.2, 1), ("vtest.avi", 40.0, 43.0, 1),
    ("Megamind.avi", 6.5, 8.25, 1),
]
LONGSHOTS = [
    ("vtest.avi", 0.0, 12.0, 1), ("Megamind.avi", 4.2, 6.3, 5), ("vtest.avi", 30.0, 42.0, 1),
    ("oa4_launch.webm", 3.2, 8.0, 2.5), ("vtest.avi", 60.0, 72.0, 1), ("Megamind.avi", 8.45, 11.2, 4),
]
REGIMES = {
    "x264": ["-c:v", "libx264", "-preset", "veryfast"],  # keyint 250, scenecut 40
    "gop50": ["-c:v", "libx264", "-preset", "veryfast", "-g", "50", "-keyint_min", "50",
              "-sc_threshold", "0", "-x264-params", "scenecut=0"],
}
# (source, start s, end s, crop x, crop y, frames averaged): the crop's position
# (ffmpeg expressions of the segment's frame n) on the source scaled to 3840x2160.
MOTION_CUTS = [
    ("cityCC0.mpg", 0.2, 4.3, "960+900*sin(2*PI*n/60)", "540", 1),
    ("Megamind.avi", 4.2, 6.3, "960+80*(random(0)-0.5)*2", "540+80*(random(1)-0.5)*2", 1),
    ("vtest.avi", 30.0, 33.0, "960+940*sin(2*PI*n/24)", "540+200*sin(2*PI*n/40)", 3),
    ("oa4_launch.webm", 3.5, 6.0, "960-900*sin(2*PI*n/50)", "540", 1),
    ("cityCC0.mpg", 4.9, 7.3, "960+60*(random(0)-0.5)*2", "540+60*(random(1)-0.5)*2", 2),
]
MOTION_FREE = {
    "whip": [("vtest.avi", 0.0, 14.0, "960+940*sin(2*PI*n/(20+n/10))",
              "540+300*sin(2*PI*n/33)+40*(random(1)-0.5)", 3)],
    "shake": [("cityCC0.mpg", 0.2, 4.3, "960+120*(random(0)-0.5)*2", "540+120*(random(1)-0.5)*2", 1)],
    "pan": [("Megamind.avi", 4.2, 6.3, "960+950*sin(2*PI*n/16)", "540", 1)],
}
REAL = {"Megamind.avi": [98, 154, 200], "oa4_launch.webm": [74], "cityCC0.mpg": [116]}
CUT_FREE = ["vtest.avi"]


def build_clip(out, segments, regime, chain):
    """Concatenates segments (each (source, start s, end s, ...)), each made by
    chain(k, segment) -> (filter chain of input k up to its [v{k}] label, frames);
    the cuts are the junctions. Cached with its truth in out + ".json"."""
    truth = out + ".json"
    if os.path.exists(out) and os.path.exists(truth):
        return out, json.load(open(truth))["cuts"]
    inputs, chains, cuts, total = [], [], [], 0
    for k, seg in enumerate(segments):
        inputs += ["-i", os.path.join(MEDIA, seg[0])]
        text, frames = chain(k, seg)
        chains.append(text)
        if k:
            cuts.append(total)
        total += frames
    graph = ";".join(chains) + ";" + "".join(f"[v{k}]" for k in range(len(segments))) + \
        f"concat=n={len(segments)}:v=1:a=0[out]"
    os.makedirs(CACHE, exist_ok=True)
    subprocess.run(["ffmpeg", "-v", "error", "-y", *inputs, "-filter_complex", graph, "-map", "[out]",
                    *REGIMES[regime], "-an", out + ".tmp.mp4"], check=True)
    os.rename(out + ".tmp.mp4", out)
    json.dump({"cuts": cuts, "frames": total}, open(truth, "w"))
    return out, cuts


def build_concat(name, segments, regime):
    """Real shots (HARDCUTS, LONGSHOTS) scaled to 1920x1080."""
    def chain(k, seg):
        _, a, b, slow = seg
        start, end = math.ceil(a * slow * FPS), math.floor(b * slow * FPS)
        return (f"[{k}:v]setpts={slow}*(PTS-STARTPTS),fps={FPS},"
                f"trim=start_frame={start}:end_frame={end},setpts=PTS-STARTPTS,"
                f"scale=1920:1080,setsar=1,format=yuv420p[v{k}]", end - start)
    return build_clip(os.path.join(CACHE, f"{name}-{regime}.mp4"), segments, regime, chain)


def build_motion(name, segments):
    """Real pictures seen through a moving crop (MOTION_CUTS, MOTION_FREE), x264 defaults."""
    def chain(k, seg):
        _, a, b, x, y, blend = seg
        start, end = math.ceil(a * FPS), math.floor(b * FPS)
        mix = f",tmix=frames={blend}" if blend > 1 else ""
        return (f"[{k}:v]fps={FPS},trim=start_frame={start}:end_frame={end},setpts=PTS-STARTPTS,"
                f"scale=3840:2160,crop=1920:1080:x='{x}':y='{y}'{mix},setsar=1,format=yuv420p[v{k}]",
                end - start)
    return build_clip(os.path.join(CACHE, f"{name}.mp4"), segments, "x264", chain)


def score(found, truth, tol):
    """Greedy one-to-one matching within tol frames: (tp, fp, fn)."""
    truth_left = list(truth)
    tp = 0
    for f in sorted(found):
        best = None
        for t in truth_left:
            if abs(t - f) <= tol and (best is None or abs(t - f) < abs(best - f)):
                best = t
        if best is not None:
            truth_left.remove(best)
            tp += 1
    return tp, len(found) - tp, len(truth_left)


def prf(tp, fp, fn):
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def timed(cmd, env=None):
    """Runs cmd: (wall seconds, result, CPU seconds of the child: user + system)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, res, cpu


def warm_wall(tool, path, mode, env):
    """Wall seconds of analyse_clip_file() on path the second time in one process."""
    res = subprocess.run([tool, "--mode", mode, "--runs", "2", path], capture_output=True, text=True, env=env)
    d = json.loads(res.stdout.strip().splitlines()[-1])
    if "error" in d or d.get("run") != 1:
        sys.exit(f"{path}: {d.get('error', 'no second run')}")
    return d["wall"]


def detect(tool, path, mode, env):
    wall, res, cpu = timed([tool, "--mode", mode, path], env)
    d = json.loads(res.stdout.strip().splitlines()[-1])
    if "error" in d:
        sys.exit(f"{path}: {d['error']}")
    frame = d["fps_d"] / d["fps_n"] * 1e9
    cuts = [round((s["start"] - d["first_frame"]) / frame) for s in d["shots"][1:]]
    d["cpu"] = cpu
    return cuts, wall, d


FEATURES = ("motion", "motion_peak", "sharpness", "brightness", "contrast", "colourfulness")


def feature_agreement(d_full, d_keys):
    """Shots whose features the keyframe path gives exactly as full decoding
    (as printed: 0.01), and each feature's relative differences over the
    shots of both, where the shot lists match."""
    same, rel = 0, {f: [] for f in FEATURES}
    if len(d_full["shots"]) != len(d_keys["shots"]):
        return same, rel
    for a, b in zip(d_full["shots"], d_keys["shots"]):
        keys = FEATURES + ("has_features", "best_inpoint")
        same += all(a[k] == b[k] for k in keys)
        for f in FEATURES:
            rel[f].append(abs(b[f] - a[f]) / max(abs(a[f]), 1e-9) if a[f] or b[f] else 0.0)
    return same, rel


def scdet(path):
    wall, res, _ = timed(["ffmpeg", "-hide_banner", "-nostats", "-i", path, "-an", "-vf",
                       "scdet=threshold=10", "-f", "null", "-"])
    times = [float(m) for m in re.findall(r"lavfi\.scd\.time: ([0-9.]+)", res.stderr)]
    return times, wall


def ffprobe_first_and_rate(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                          "stream=r_frame_rate,start_time", "-of", "json", path],
                         capture_output=True, text=True, check=True).stdout
    s = json.loads(out)["streams"][0]
    n, d = s["r_frame_rate"].split("/")
    return float(s.get("start_time", 0) or 0), float(n) / float(d)


def paired_text(pairs, digits=2):
    """'M wall (lo-hi) / M CPU (lo-hi)' from (wall ratio, CPU ratio) pairs."""
    def one(values):
        v = sorted(values)
        mid = (v[(len(v) - 1) // 2] + v[len(v) // 2]) / 2
        return f"{mid:.{digits}f}x (%.{digits}f-%.{digits}f)" % (v[0], v[-1])
    return f"{one(p[0] for p in pairs)} wall / {one(p[1] for p in pairs)} CPU"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "../../build"))
    ap.add_argument("--repeat", type=int, default=3, help="timing repetitions (best of N, and the median of N paired ratios)")
    args = ap.parse_args()
    tool = os.path.join(args.build, "bench/scene-detect-bench")
    env = dict(os.environ, GST_PLUGIN_PATH=os.path.join(args.build, "gst"))

    sets = []  # (label, path, truth frames, kind)
    for regime in REGIMES:
        p, c = build_concat("hardcuts", HARDCUTS, regime)
        sets.append((f"hardcuts-{regime}", p, c, "hard"))
    for regime in REGIMES:
        p, c = build_concat("longshots", LONGSHOTS, regime)
        sets.append((f"longshots-{regime}", p, c, "long"))
    for name, cuts in REAL.items():
        sets.append((name, os.path.join(MEDIA, name), cuts, "real"))
    for name in CUT_FREE:
        sets.append((name, os.path.join(MEDIA, name), [], "free"))
    p, c = build_motion("motion-cuts", MOTION_CUTS)
    sets.append(("motion-cuts", p, c, "motion"))
    for name, segments in MOTION_FREE.items():
        p, c = build_motion(f"motion-free-{name}", segments)
        sets.append((f"motion-free-{name}", p, c, "motion"))

    print(f"load average at start: {os.getloadavg()[0]:.1f} (2 cores shared; times are best of "
          f"{args.repeat}, the two sides interleaved)")
    print(f"{'clip':22} {'truth':>5} {'full':>5} {'keys':>5} {'scdet':>5}  "
          f"{'full==keys':>10} {'keys/full wall':>14} {'keys/full CPU':>13} {'decoded':>12} "
          f"{'same features':>13}")
    totals = {m: {t: [0, 0, 0] for t in (0, 1, 2)} for m in ("full", "keys", "scdet")}
    hard_totals = {t: [0, 0, 0] for t in (0, 1, 2)}
    false_cuts = {"full": 0, "keys": 0, "scdet": 0}
    motion_totals = {m: {t: [0, 0, 0] for t in (0, 1, 2)} for m in ("full", "keys", "scdet")}
    key_speed = []
    shots_same, shots_all, rel_all = 0, 0, {f: [] for f in FEATURES}
    paired_keys = {}  # label: [(full / keys wall, full / keys CPU) per repetition]
    warm_keys = {}  # label: [(full wall, keys wall) of the second analysis in one process, per repetition]
    for label, path, truth, kind in sets:
        runs = {"full": [], "keyframes": []}
        for _ in range(args.repeat):  # interleaved, so both sides see the same load
            for mode in runs:
                runs[mode].append(detect(tool, path, mode, env))
        paired_keys[label] = [(f[1] / k[1], f[2]["cpu"] / k[2]["cpu"])
                              for f, k in zip(runs["full"], runs["keyframes"])]
        if kind == "long":
            warm_keys[label] = [tuple(warm_wall(tool, path, mode, env) for mode in runs)
                                for _ in range(args.repeat)]
        full, t_full, d_full = min(runs["full"], key=lambda r: r[1])
        keys, t_keys, d_keys = min(runs["keyframes"], key=lambda r: r[1])
        sc_times, _ = scdet(path)
        start, rate = ffprobe_first_and_rate(path)
        sc = [round((t - start) * rate) for t in sc_times]
        for m, found in (("full", full), ("keys", keys), ("scdet", sc)):
            for tol in (0, 1, 2):
                r = score(found, truth, tol)
                for k in range(3):
                    (motion_totals if kind == "motion" else totals)[m][tol][k] += r[k]
                    if m == "full" and kind == "hard":
                        hard_totals[tol][k] += r[k]
            if kind == "free":
                false_cuts[m] += len(found)
        same, rel = feature_agreement(d_full, d_keys)
        shots_same += same
        shots_all += len(d_full["shots"])
        for f in FEATURES:
            rel_all[f] += rel[f]
        c_full = min(r[2]["cpu"] for r in runs["full"])
        c_keys = min(r[2]["cpu"] for r in runs["keyframes"])
        if kind == "long":
            key_speed.append((t_full / t_keys, c_full / c_keys))
        print(f"{label:22} {len(truth):5} {len(full):5} {len(keys):5} {len(sc):5}  "
              f"{str(full == keys):>10} {t_keys / t_full:14.2f} {c_keys / c_full:13.2f} "
              f"{d_keys['frames_decoded']:5}/{d_full['frames_decoded']:<6} "
              f"{same:>6}/{len(d_full['shots']):<6}")

    print("\nprecision / recall / F1 over all clips with cuts (greedy one-to-one):")
    for m in ("full", "keys", "scdet"):
        cells = "  ".join("+/-%d: %.3f/%.3f/%.3f" % ((tol,) + prf(*totals[m][tol])) for tol in (0, 1, 2))
        print(f"  {m:6} {cells}")
    print("  hard-cut set only (full decoding): " +
          "  ".join("+/-%d F1 %.3f" % (tol, prf(*hard_totals[tol])[2]) for tol in (0, 1, 2)))
    print(f"false cuts on cut-free clips: full {false_cuts['full']}, keys {false_cuts['keys']}, "
          f"scdet {false_cuts['scdet']}")
    print("camera-motion set (its cut-free clips' cuts count as false positives):")
    for m in ("full", "keys", "scdet"):
        cells = "  ".join("+/-%d: %.3f/%.3f/%.3f" % ((tol,) + prf(*motion_totals[m][tol])) for tol in (0, 1, 2))
        print(f"  {m:6} {cells}  (true {motion_totals[m][0][0]}, false {motion_totals[m][0][1]}, "
              f"missed {motion_totals[m][0][2]} at +/-0)")
    print(f"shot features, keyframe path against full decoding: {shots_same} of {shots_all} shots "
          "the same; relative difference median / max: " +
          ", ".join(f"{f} {statistics.median(v):.3f}/{max(v):.3f}" for f, v in rel_all.items() if v))
    if key_speed:
        print("keyframe path speed-up over full decoding on long-shot footage (x264, gop50): " +
              ", ".join("%.2fx wall / %.2fx CPU" % s for s in key_speed))
        print("  the same, median of %d paired ratios (range): " % args.repeat +
              ", ".join(f"{label} {paired_text(paired_keys[label])}"
                        for label, _, _, kind in sets if kind == "long"))
        print("  per clip (the second analysis of the file in one process, plugins loaded), best of %d: " % args.repeat +
              ", ".join(f"{label} {min(w[0] for w in v) / min(w[1] for w in v):.2f}x "
                        f"({min(w[1] for w in v):.2f} s against {min(w[0] for w in v):.2f} s), "
                        f"paired median {statistics.median(w[0] / w[1] for w in v):.2f}x "
                        f"({min(w[0] / w[1] for w in v):.2f}-{max(w[0] / w[1] for w in v):.2f})"
                        for label, v in warm_keys.items()))

    print("\ntime, 1080p: uridecodebin ! [montagescene !] fakesink (best of %d, interleaved; "
          "CPU = user + system seconds of the process)" % args.repeat)
    for label, path, _, kind in sets:
        if kind not in ("hard", "long"):
            continue
        uri = "file://" + os.path.abspath(path)
        base = ["gst-launch-1.0", "-q", "uridecodebin", f"uri={uri}", "!"]
        dec, scene = [], []
        for _ in range(args.repeat):
            dec.append(timed(base + ["fakesink", "sync=false"], env))
            scene.append(timed(base + ["montagescene", "!", "fakesink", "sync=false"], env))
        t_dec, t_scene = min(r[0] for r in dec), min(r[0] for r in scene)
        c_dec, c_scene = min(r[2] for r in dec), min(r[2] for r in scene)
        _, t_sc = scdet(path)
        pairs = [(s[0] / d[0], s[2] / d[2]) for d, s in zip(dec, scene)]
        print(f"  {label:22} decode {t_dec:6.2f} s  +montagescene {t_scene:6.2f} s "
              f"({t_scene / t_dec:.3f}x wall, {c_scene / c_dec:.3f}x CPU)  "
              f"ffmpeg scdet {t_sc:6.2f} s ({t_sc / t_dec:.2f}x)")
        print(f"  {'':22} median of {len(pairs)} paired ratios (range): {paired_text(pairs, 3)}")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
