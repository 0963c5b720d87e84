#!/usr/bin/env python3
"""A/B of two builds of montagescene on full-frame decoding (issue 3). Not part of the test suite.

  bench/scene/ab.py OLD_BUILD NEW_BUILD [CLIP...] [--repeat N] [--threads]

Runs, for each clip and each repetition, three pipelines back to back in a
rotating order (so that neither build always runs first):

  decode:  gst-launch-1.0 uridecodebin uri=CLIP caps=video/x-raw ! fakesink sync=false
  old:     ... caps=video/x-raw ! montagescene ! fakesink sync=false, GST_PLUGIN_PATH=OLD_BUILD/gst
  new:     the same with NEW_BUILD/gst

Each run is a process of its own with a private registry per build (GST_REGISTRY
under the build dir, made by a warm-up run first, so that no run rebuilds it
for the other build). Per run it takes the wall time, the process's CPU time
(user + system, all threads) and its voluntary and involuntary context switches
(os.wait4()'s rusage: counted, not timed). With --threads it also samples
/proc/PID/task/*/stat every 20 ms and keeps each thread's last CPU ticks (the
last <20 ms of a thread are missed), summed per thread name.

Prints, per clip, the medians over the repetitions of the paired ratios
new/old (wall, CPU), and of old/decode and new/decode (the issue's target is
<= 1.15x wall), each with its range; the ratios of the best (least) wall
times; and per side the median wall, CPU and context switches per run.
Clips default to ~/.cache/gst-montage/bench/scene/{hardcuts,longshots}-{x264,gop50}.mp4
(bench/scene/run.py makes them). On a shared machine, wall times follow the
neighbours: compare the paired ratios, and print the load average.
"""
import argparse
import os
import statistics
import subprocess
import sys
import threading
import time

HOME = os.path.expanduser("~")
CACHE = os.path.join(HOME, ".cache/gst-montage/bench/scene")
DEFAULT_CLIPS = [os.path.join(CACHE, f"{n}-{r}.mp4") for n in ("hardcuts", "longshots")
                 for r in ("x264", "gop50")]
TICK = os.sysconf("SC_CLK_TCK")


def env_for(build):
    env = dict(os.environ)
    env["GST_PLUGIN_PATH"] = os.path.join(os.path.abspath(build), "gst")
    env["GST_REGISTRY"] = os.path.join(os.path.abspath(build), "ab-registry.bin")
    return env


def sample_threads(pid, out, stop):
    """Last seen utime + stime (ticks) per thread id, with its name."""
    while not stop.is_set():
        try:
            for tid in os.listdir(f"/proc/{pid}/task"):
                try:
                    with open(f"/proc/{pid}/task/{tid}/stat") as f:
                        text = f.read()
                except OSError:
                    continue
                name = text[text.index("(") + 1:text.rindex(")")]
                fields = text[text.rindex(")") + 2:].split()
                out[tid] = (name, int(fields[11]) + int(fields[12]))
        except OSError:
            pass
        stop.wait(0.02)


def run(uri, element, env, threads):
    cmd = ["gst-launch-1.0", "-q", "uridecodebin", f"uri={uri}", "caps=video/x-raw", "!"]
    if element:
        cmd += ["montagescene", "!"]
    cmd += ["fakesink", "sync=false"]
    start = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    per_thread, stop = {}, threading.Event()
    sampler = None
    if threads:
        sampler = threading.Thread(target=sample_threads, args=(proc.pid, per_thread, stop))
        sampler.start()
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    stop.set()
    if sampler:
        sampler.join()
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if status != 0:
        sys.exit(f"failed ({status}): {' '.join(cmd)}\n{err}")
    names = {}
    for name, ticks in per_thread.values():
        names[name] = names.get(name, 0) + ticks / TICK
    return {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "vcs": ru.ru_nvcsw,
            "ivcs": ru.ru_nivcsw, "threads": names}


def med_range(values):
    return f"{statistics.median(values):.3f}x ({min(values):.3f}-{max(values):.3f})"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("old", help="build dir of the reference (its gst/ holds the plugins)")
    ap.add_argument("new", help="build dir of the candidate")
    ap.add_argument("clips", nargs="*", default=DEFAULT_CLIPS)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", action="store_true", help="CPU seconds per thread name (sampled)")
    args = ap.parse_args()
    clips = [c for c in args.clips if os.path.exists(c)]
    if not clips:
        sys.exit("no clips: make them with bench/scene/run.py, or name 1080p H.264 files")
    sides = {"decode": (False, env_for(args.new)), "old": (True, env_for(args.old)),
             "new": (True, env_for(args.new))}
    for name, (element, env) in sides.items():  # warm-up: registry and page cache
        run("file://" + os.path.abspath(clips[0]), element, env, False)
    print(f"load average at start: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
    order = list(sides)
    for clip in clips:
        uri = "file://" + os.path.abspath(clip)
        res = {k: [] for k in sides}
        for r in range(args.repeat):
            rot = order[r % 3:] + order[:r % 3]
            for k in rot:
                res[k].append(run(uri, sides[k][0], sides[k][1], args.threads))
        ratio = lambda a, b, f: [x[f] / y[f] for x, y in zip(res[a], res[b])]
        print(f"{os.path.basename(clip)}  ({args.repeat} repetitions; medians of paired ratios, range)")
        print(f"  new/old     wall {med_range(ratio('new', 'old', 'wall'))}  "
              f"CPU {med_range(ratio('new', 'old', 'cpu'))}")
        for k in ("old", "new"):
            print(f"  {k}/decode  wall {med_range(ratio(k, 'decode', 'wall'))}  "
                  f"CPU {med_range(ratio(k, 'decode', 'cpu'))}")
        best = {k: min(x["wall"] for x in res[k]) for k in sides}
        print(f"  best of {args.repeat} wall: new/old {best['new'] / best['old']:.3f}x, old/decode "
              f"{best['old'] / best['decode']:.3f}x, new/decode {best['new'] / best['decode']:.3f}x")
        for k in sides:
            wall = statistics.median(x["wall"] for x in res[k])
            cpu = statistics.median(x["cpu"] for x in res[k])
            vcs = statistics.median(x["vcs"] for x in res[k])
            ivcs = statistics.median(x["ivcs"] for x in res[k])
            line = (f"  {k:7s} median wall {wall:6.2f} s  CPU {cpu:6.2f} s  context switches "
                    f"{vcs:7.0f} voluntary {ivcs:7.0f} involuntary")
            print(line)
            if args.threads:
                names = sorted({n for x in res[k] for n in x["threads"]})
                parts = [f"{n} {statistics.median(x['threads'].get(n, 0) for x in res[k]):.2f}"
                         for n in names]
                print("           CPU s per thread (median): " + ", ".join(parts))
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
