#!/usr/bin/env python3
"""Issue 5 benchmark: analysis cache, parallel analysis, time to a preview.

    bench/pipeline/run.py [--build build] [--duration 30]

Needs scripts/setup.sh --bench (FFmpeg) and scripts/fetch-media.sh. Builds a
sample set of at least 6 real clips (the sample media plus pieces re-encoded
from them) and takes a real 76.8 s song, into ~/.cache/gst-montage/bench/pipeline.
In one run it measures, with gst-montage-1.0's own timings:
  1. cold vs warm analysis (everything cached): target warm <= 5 % of cold;
  2. analysis with 1 pipeline vs one per core (--no-cache): target ~ serial / cores;
  3. time to a --preview with a cold cache, split into analysis, plan and render,
     next to FFmpeg rendering the same edit list the way the older Python tools
     do (one temporary file per segment, then concatenation with -c copy and
     the song muxed in). Nothing asserts; it prints ratios.
"""
import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MEDIA = os.environ.get("GST_MONTAGE_MEDIA_DIR",
                       os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")),
                                    "gst-montage", "media"))
WORK = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")),
                    "gst-montage", "bench", "pipeline")


def children_cpu():
    """User + system CPU seconds of all finished child processes so far."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run(cmd, **kw):
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    dt = time.monotonic() - t0
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-2000:]}")
    return p, dt


def prepare_clips():
    os.makedirs(WORK, exist_ok=True)
    clips = [os.path.join(MEDIA, n) for n in ("Megamind.avi", "oa4_launch.webm", "cityCC0.mpg", "vtest.avi")]
    derived = {
        # A phone-like H.264 re-encode of the edited clip, and the long fixed-camera
        # clip cut in two: still real footage, as separate files.
        "megamind-720p.mp4": ["-i", clips[0], "-vf", "scale=1280:-2", "-c:v", "libx264", "-preset", "veryfast", "-an"],
        "vtest-a.mp4": ["-i", clips[3], "-t", "40", "-c:v", "libx264", "-preset", "veryfast", "-an"],
        "vtest-b.mp4": ["-ss", "40", "-i", clips[3], "-c:v", "libx264", "-preset", "veryfast", "-an"],
    }
    for name, args in derived.items():
        out = os.path.join(WORK, name)
        if not os.path.exists(out):
            run(["ffmpeg", "-loglevel", "error", "-y"] + args + [out + ".tmp.mp4"])
            os.rename(out + ".tmp.mp4", out)
        clips.append(out)
    for c in clips:
        if not os.path.exists(c):
            sys.exit(f"missing {c}: run scripts/fetch-media.sh")
    return clips


def timings(stdout):
    m = re.search(r"analysis ([0-9.]+) s \((\d+) analysed, (\d+) from cache\), plan ([0-9.]+) s"
                  r"(?:, render ([0-9.]+) s)?", stdout)
    if not m:
        sys.exit("cannot read the tool's timings from: " + stdout)
    return {"analysis": float(m.group(1)), "analysed": int(m.group(2)), "cached": int(m.group(3)),
            "plan": float(m.group(4)), "render": float(m.group(5)) if m.group(5) else None}


def ffmpeg_render(plan, song, out, tmp):
    """The older tools' method: re-encode every segment to a temporary file,
    concatenate with -c copy, mux the song. Frame counts are exact per segment
    (-frames:v), so it does not drift."""
    t0 = time.monotonic()
    fps = plan["fps"]
    num, den = (int(x) for x in fps.split("/"))
    files = []
    for i, seg in enumerate(plan["segments"]):
        frames = round(seg["duration"] * num / den)
        f = os.path.join(tmp, f"seg{i:04d}.mp4")
        run(["ffmpeg", "-loglevel", "error", "-y", "-ss", f"{seg['inpoint']:.6f}", "-i", seg["source"],
             "-frames:v", str(frames), "-an",
             "-vf", f"scale=640:360:force_original_aspect_ratio=decrease,pad=640:360:(ow-iw)/2:(oh-ih)/2,fps={fps}",
             "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", f])
        files.append(f)
    listing = os.path.join(tmp, "list.txt")
    with open(listing, "w") as fh:
        fh.writelines(f"file '{f}'\n" for f in files)
    run(["ffmpeg", "-loglevel", "error", "-y", "-f", "concat", "-safe", "0", "-i", listing, "-i", song,
         "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac", "-t", f"{plan['duration_s']:.6f}", out])
    return time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--duration", type=float, default=30.0)
    args = ap.parse_args()
    tool = os.path.join(args.build, "tools", "gst-montage-1.0")
    song = os.path.join(MEDIA, "stg0.ogg")
    clips = prepare_clips()
    tmp = tempfile.mkdtemp(prefix="montage-bench-")
    cache = os.path.join(tmp, "cache")
    base = [tool, "-q", "--cache-dir", cache, "-m", song]
    try:
        print(f"inputs: {len(clips)} real clips, song {os.path.basename(song)} (76.8 s); {os.cpu_count()} cores, "
              f"load average {os.getloadavg()[0]:.1f} at the start")
        cold = timings(run(base + ["--no-render"] + clips)[0].stdout)
        warm = timings(run(base + ["--no-render"] + clips)[0].stdout)
        print(f"1. analysis cold {cold['analysis']:.2f} s ({cold['analysed']} analysed), warm "
              f"{warm['analysis']:.3f} s ({warm['cached']} from cache): warm/cold = "
              f"{100 * warm['analysis'] / cold['analysis']:.1f} % (target <= 5 %)")

        # The clips' share: a 4 s click track as the song, so the long song's
        # analysis does not hide how the clips spread over the cores.
        click = os.path.join(WORK, "click-4s.ogg")
        if not os.path.exists(click):
            run(["gst-launch-1.0", "-q", "audiotestsrc", "wave=ticks", "num-buffers=172", "!",
                 "audioconvert", "!", "vorbisenc", "!", "oggmux", "!", "filesink", f"location={click}"])
        short = [tool, "-q", "--cache-dir", cache, "-m", click]
        for mode, extra in (("keyframe path", []), ("full decoding", ["--full-decode"])):
            serial = timings(run(short + ["--no-cache", "--no-render", "-j", "1"] + extra + clips)[0].stdout)
            par = timings(run(short + ["--no-cache", "--no-render"] + extra + clips)[0].stdout)
            print(f"2. {len(clips)} clips ({mode}) with 1 pipeline {serial['analysis']:.2f} s, one per core "
                  f"{par['analysis']:.2f} s: {100 * par['analysis'] / serial['analysis']:.0f} % of serial "
                  f"(ideal {100 / os.cpu_count():.0f} %)")

        shutil.rmtree(cache, ignore_errors=True)
        out = os.path.join(tmp, "preview.mp4")
        plan_path = os.path.join(tmp, "plan.json")
        preview = base + ["--preview", "-d", str(args.duration), "--plan-json", plan_path, "-o", out] + clips
        cpu0 = children_cpu()
        p, wall = run(preview)
        ours_cpu = children_cpu() - cpu0
        ours = timings(p.stdout)
        with open(plan_path) as fh:
            plan = json.load(fh)
        cpu0 = children_cpu()
        ff = ffmpeg_render(plan, song, os.path.join(tmp, "ffmpeg.mp4"), tmp)
        ff_cpu = children_cpu() - cpu0
        # The same preview again, everything cached: a second sample of the
        # render, and the same along the GES timeline path (the render before
        # the cut path existed).
        again = timings(run(preview)[0].stdout)
        ges = timings(run(preview, env=dict(os.environ, GST_MONTAGE_RENDER_PATH="timeline"))[0].stdout)
        print(f"3. time to a {plan['duration_s']:.1f} s preview, cold cache, {len(plan['segments'])} segments: "
              f"{wall:.2f} s wall = analysis {ours['analysis']:.2f} + plan {ours['plan']:.3f} + render "
              f"{ours['render']:.2f} s (+ start-up)")
        print(f"   FFmpeg, one temporary file per segment then concat: {ff:.2f} s for the render alone")
        print(f"   our render / FFmpeg render = {ours['render'] / ff:.2f}; our whole run (with analysis) / "
              f"FFmpeg render = {wall / ff:.2f}")
        print(f"   CPU time: our whole run {ours_cpu:.2f} s, FFmpeg's render {ff_cpu:.2f} s: ratio "
              f"{ours_cpu / ff_cpu:.2f}; the preview again with a warm cache: render {again['render']:.2f} s "
              f"(render / FFmpeg render = {again['render'] / ff:.2f})")
        print(f"   the same render along the GES timeline path: {ges['render']:.2f} s; cut path / GES path = "
              f"{again['render'] / ges['render']:.2f}")

        # What the cold analysis is made of: the song alone (with one short
        # clip, the tool needs one) and the clips alone (a 4 s click track as
        # the song), both uncached and parallel as in the run above.
        song_only = timings(run(base + ["--no-cache", "--no-render", clips[1]])[0].stdout)
        clips_only = timings(run(short + ["--no-cache", "--no-render"] + clips)[0].stdout)
        print(f"   its analysis {ours['analysis']:.2f} s: the song alone {song_only['analysis']:.2f} s "
              f"(with one 8 s clip), the {len(clips)} clips alone {clips_only['analysis']:.2f} s "
              f"(with a 4 s song); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
