#!/usr/bin/env python3
"""A/B of two builds of analyse_clip_file() (issue 3): the keyframe path and full decoding.
Not part of the test suite.

  bench/scene/ab-keys.py OLD_BUILD NEW_BUILD [CLIP...] [--repeat N]

For each clip and each repetition, runs OLD_BUILD/bench/scene-detect-bench and
NEW_BUILD/bench/scene-detect-bench, each with --mode keyframes and --mode full,
four processes back to back in an order that rotates with the repetition (so
that no side always runs first). Each process analyses the clip twice
(--runs 2): its wall time is the per-process time (plugins loaded, the
registry read, the first analysis), the second analysis's own wall time
("wall" in its output) the per-clip time. Both builds read one private
registry (GST_REGISTRY, made by a warm-up run), so that no run rebuilds one.

Prints per clip the medians (and ranges) over the repetitions of the paired
ratios: keys new/old and full new/old (per clip, per process, and the
process's CPU time, user + system of every thread, which follows the
neighbours less than wall time does), and full/keys
for each build (the keyframe path's speed-up: per clip and per process); the
keyframe path's open_s, coarse_s and refine_s medians per build, its counted
work (pipelines, seeks, frames, GstDiscoverer runs), each side's process CPU
seconds and minor page faults (medians); and the load
average at the start and the end. On a shared machine, wall times follow the
neighbours: compare the paired ratios. Checks that both builds find the same
shots (cuts and features) in every run.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

HOME = os.path.expanduser("~")
CACHE = os.path.join(HOME, ".cache/gst-montage/bench/scene")
DEFAULT_CLIPS = [os.path.join(CACHE, f"longshots-{r}.mp4") for r in ("gop50", "x264")]


def run(build, mode, clip, env):
    cmd = [os.path.join(build, "bench", "scene-detect-bench"), "--mode", mode, "--runs", "2", clip]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    process = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return process, lines[-1], cpu, after.ru_minflt - before.ru_minflt


def med(values):
    return f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("clips", nargs="*")
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    clips = a.clips or DEFAULT_CLIPS
    env = dict(os.environ)
    env["GST_REGISTRY"] = os.path.join("/tmp", f"ab-keys-registry-{os.getuid()}.bin")
    env.pop("GST_DEBUG", None)
    run(a.old, "keyframes", clips[0], env)  # warm-up: the registry
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    sides = [("old", a.old), ("new", a.new)]
    modes = ["keyframes", "full"]
    for clip in clips:
        runs = {(s, m): [] for s, _ in sides for m in modes}
        for rep in range(a.repeat):
            order = [(s, b, m) for s, b in sides for m in modes]
            order = order[rep % len(order):] + order[:rep % len(order)]
            for s, b, m in order:
                runs[(s, m)].append(run(b, m, clip, env))
        same = all(o[1]["shots"] == n[1]["shots"] for m in modes
                   for o, n in zip(runs[("old", m)], runs[("new", m)]))
        same_keys_full = all(k[1]["shots"] and len(k[1]["shots"]) == len(f[1]["shots"]) and
                             [x["start"] for x in k[1]["shots"]] == [x["start"] for x in f[1]["shots"]]
                             for s, _ in sides for k, f in zip(runs[(s, "keyframes")], runs[(s, "full")]))
        print(f"{os.path.basename(clip)}: {a.repeat} repetitions; same shots old/new: {same}; "
              f"keyframe path's cuts == full decoding's: {same_keys_full}")
        for m in modes:
            clip_r = [n[1]["wall"] / o[1]["wall"] for o, n in zip(runs[("old", m)], runs[("new", m)])]
            proc_r = [n[0] / o[0] for o, n in zip(runs[("old", m)], runs[("new", m)])]
            cpu_r = [n[2] / o[2] for o, n in zip(runs[("old", m)], runs[("new", m)])]
            print(f"  {m:9s} new/old  per clip {med(clip_r)}  per process {med(proc_r)}  "
                  f"CPU per process {med(cpu_r)}")
        for s, _ in sides:
            k, f = runs[(s, "keyframes")], runs[(s, "full")]
            clip_r = [ff[1]["wall"] / kk[1]["wall"] for kk, ff in zip(k, f)]
            proc_r = [ff[0] / kk[0] for kk, ff in zip(k, f)]
            cpu_r = [ff[2] / kk[2] for kk, ff in zip(k, f)]
            print(f"  {s}: full/keys per clip {med(clip_r)}  per process {med(proc_r)}  "
                  f"CPU per process {med(cpu_r)};  "
                  f"keys wall per clip {med([kk[1]['wall'] for kk in k])} s, per process "
                  f"{med([kk[0] for kk in k])} s; full per clip {med([ff[1]['wall'] for ff in f])} s")
            print(f"       keys open_s {med([kk[1]['open_s'] for kk in k])}  coarse_s "
                  f"{med([kk[1]['coarse_s'] for kk in k])}  refine_s "
                  f"{med([kk[1]['refine_s'] for kk in k])}  pipelines "
                  f"{sorted(set(kk[1]['pipelines'] for kk in k))} seeks "
                  f"{sorted(set(kk[1]['seeks'] for kk in k))} frames "
                  f"{sorted(set(kk[1]['frames_decoded'] for kk in k))} discoveries "
                  f"{sorted(set(kk[1].get('discoveries', 1) for kk in k))}")
            print(f"       process CPU s (2 analyses) keys {med([kk[2] for kk in k])}  full "
                  f"{med([ff[2] for ff in f])};  minor page faults keys "
                  f"{statistics.median([kk[3] for kk in k]):.0f}  full "
                  f"{statistics.median([ff[3] for ff in f]):.0f}")
        sys.stdout.flush()
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
