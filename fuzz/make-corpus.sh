#!/usr/bin/env bash
# Regenerates the seed corpora in fuzz/corpus/<fuzzer>/ from real encoder
# output: the tool's own cache entries, plan JSON and exports of an analysis of
# the sample media, AAC from GStreamer's encoder, raw frames and samples from
# videotestsrc/audiotestsrc. No media file is copied (a few KB per fuzzer).
#
#   fuzz/make-corpus.sh [TOOL] [ADTS_INDEX_SEED]
#
# TOOL: a built gst-montage-1.0 (default build/tools/gst-montage-1.0);
# ADTS_INDEX_SEED: build-fuzz/fuzz/adts_index_seed. Needs the sample media
# (scripts/fetch-media.sh) and gstreamer1.0-libav (avenc_aac).
set -euo pipefail
cd "$(dirname "$0")/.."
tool=${1:-build/tools/gst-montage-1.0}
seed_maker=${2:-build-fuzz/fuzz/adts_index_seed}
media=${GST_MONTAGE_MEDIA_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gst-montage/media}
out=fuzz/corpus
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for d in cache_song cache_clip planjson export_edl export_otio export_fcpxml adts_header adts_scan \
  adts_index montagescene montagebeat; do
  rm -rf "${out:?}/$d"
  mkdir -p "$out/$d"
done

# The tool's writers on a real analysis: plan, the three text exports, cache entries.
song=$media/just_over_the_horizon.ogg
clips=("$media/oa4_launch.webm" "$media/cityCC0.mpg")
for ext in edl otio fcpxml; do
  "$tool" -q -m "$song" -o "$tmp/out.mp4" -d 8 --no-render --cache-dir "$tmp/cache" \
    --plan-json "$tmp/plan.json" --export "$tmp/edit.$ext" "${clips[@]}"
done
cp "$tmp/plan.json" "$out/planjson/plan-v2.json"
printf '\x01' | cat - "$tmp/edit.edl" > "$out/export_edl/edit-2997.edl" # first byte: 30000/1001
printf '\x00' | cat - "$tmp/edit.edl" > "$out/export_edl/edit-25.edl"
cp "$tmp/edit.otio" "$out/export_otio/edit.otio"
cp "$tmp/edit.fcpxml" "$out/export_fcpxml/edit.fcpxml"
# Cache entry files: 24-byte header (magic, schema, kind, length, crc) + payload.
python3 - "$tmp/cache" "$out" <<'PY'
import os, struct, sys
cache, out = sys.argv[1], sys.argv[2]
n = {1: 0, 2: 0}
for root, _, files in os.walk(cache):
    for f in sorted(files):
        data = open(os.path.join(root, f), 'rb').read()
        if len(data) < 24:
            continue
        kind = struct.unpack_from('<I', data, 8)[0]
        if kind in n:
            name = 'cache_song' if kind == 1 else 'cache_clip'
            open(f'{out}/{name}/entry-{n[kind]}.msgpack', 'wb').write(data[24:])
            n[kind] += 1
print(f'cache entries: {n[1]} songs, {n[2]} clips')
PY

# AAC in ADTS from GStreamer's encoder: mono 22.05 kHz and stereo 44.1 kHz (CRC-less),
# cut to a few KB (the cut leaves a truncated last frame, which the scan must report).
gst-launch-1.0 -q audiotestsrc num-buffers=12 samplesperbuffer=1024 wave=ticks ! \
  audio/x-raw,rate=22050,channels=1 ! avenc_aac ! aacparse ! audio/mpeg,stream-format=adts ! \
  filesink location="$tmp/mono.aac"
gst-launch-1.0 -q audiotestsrc num-buffers=12 samplesperbuffer=1024 wave=pink-noise ! \
  audio/x-raw,rate=44100,channels=2 ! avenc_aac ! aacparse ! audio/mpeg,stream-format=adts ! \
  filesink location="$tmp/stereo.aac"
head -c 3000 "$tmp/mono.aac" > "$out/adts_scan/mono-22050.aac"
head -c 3000 "$tmp/stereo.aac" > "$out/adts_scan/stereo-44100.aac"
cat "$tmp/mono.aac" "$tmp/stereo.aac" | head -c 4000 > "$out/adts_scan/stream-change.aac"
head -c 16 "$tmp/mono.aac" > "$out/adts_header/mono.bin"
head -c 16 "$tmp/stereo.aac" > "$out/adts_header/stereo.bin"
"$seed_maker" "$tmp/mono.aac" "$out/adts_index/mono.bin"
cat "$tmp/mono.aac" "$tmp/stereo.aac" > "$tmp/both.aac"
"$seed_maker" "$tmp/both.aac" "$out/adts_index/stream-change.bin"

# Element inputs (fuzz_montagescene.cpp / fuzz_montagebeat.cpp layout): caps
# bytes, then op bytes each followed by its payload.
gst-launch-1.0 -q videotestsrc num-buffers=3 pattern=smpte ! video/x-raw,format=I420,width=32,height=24 ! \
  filesink location="$tmp/a.yuv"
gst-launch-1.0 -q videotestsrc num-buffers=3 pattern=ball ! video/x-raw,format=I420,width=32,height=24 ! \
  filesink location="$tmp/b.yuv"
gst-launch-1.0 -q audiotestsrc num-buffers=2 samplesperbuffer=505 wave=ticks ! \
  audio/x-raw,format=F32LE,rate=8000,channels=1 ! filesink location="$tmp/ticks.f32"
python3 - "$tmp" "$out" <<'PY'
import sys
tmp, out = sys.argv[1], sys.argv[2]
frame = 32 * 24 * 3 // 2
a, b = open(f'{tmp}/a.yuv', 'rb').read(), open(f'{tmp}/b.yuv', 'rb').read()
frames = [a[i:i + frame] for i in range(0, len(a), frame)] + [b[i:i + frame] for i in range(0, len(b), frame)]
# I420 (index 1), 32x24, 25 fps; op 0x80: a whole frame with the next timestamp.
scene = bytes([1, 31, 23, 25]) + b''.join(bytes([0x80]) + f for f in frames)
open(f'{out}/montagescene/cut-i420-32x24.bin', 'wb').write(scene)
t = open(f'{tmp}/ticks.f32', 'rb').read()
half = len(t) // 2
# F32LE (0), 8 kHz (0), mono (0), offline (0); op 0x80 + n=63: 505 samples.
beat = bytes([0, 0, 0, 0]) + bytes([0x80, 63]) + t[:half] + bytes([0x80, 63]) + t[half:] + bytes([6])
open(f'{out}/montagebeat/ticks-f32-8k.bin', 'wb').write(beat)
PY
du -sh "$out"/*
