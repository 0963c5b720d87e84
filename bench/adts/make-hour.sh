#!/usr/bin/env bash
# Builds the ADTS benchmark's input: one hour of real music (the Debian-packaged songs that
# scripts/fetch-media.sh fetches, alternated and looped), encoded to ADTS AAC-LC with GStreamer's
# avenc_aac (FFmpeg's native encoder: 128 kbit/s, perceptual noise substitution on, 1024 samples
# of priming), plus the reference full decode of that file (32-bit float WAV) for the exactness check.
#
#   bench/adts/make-hour.sh [CACHE_DIR]     (default ~/.cache/gst-montage/bench/adts)
#
# Outputs CACHE_DIR/hour.aac and CACHE_DIR/hour-full.f32 (raw F32LE interleaved, what avdec_aac
# gives for the whole file). Nothing is rebuilt when both exist.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
cache=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/gst-montage/bench/adts}
media=${GST_MONTAGE_MEDIA_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gst-montage/media}
mkdir -p "$cache"
if [ ! -f "$media/stg0.ogg" ] || [ ! -f "$media/just_over_the_horizon.ogg" ]; then
  "$here/scripts/fetch-media.sh"
fi

if [ ! -s "$cache/hour.aac" ]; then
  # Each song once to 44.1 kHz stereo PCM (GStreamer's vorbisdec: FFmpeg's Vorbis decoder
  # mis-decodes these floor-0 files), then the two alternated to one hour and encoded.
  for song in stg0 just_over_the_horizon; do
    [ -s "$cache/$song.s16" ] ||
      gst-launch-1.0 -q filesrc location="$media/$song.ogg" ! decodebin ! audioconvert ! \
        audioresample ! "audio/x-raw,format=S16LE,rate=44100,channels=2" ! \
        filesink location="$cache/$song.s16"
  done
  echo "make-hour: encoding one hour of music to $cache/hour.aac (a few minutes)"
  # head stops reading after an hour: the loop's SIGPIPE is expected.
  set +o pipefail
  for _ in $(seq 1 30); do cat "$cache/stg0.s16" "$cache/just_over_the_horizon.s16"; done |
    head -c $((3600 * 44100 * 4)) |
    gst-launch-1.0 -q fdsrc fd=0 ! rawaudioparse format=pcm pcm-format=s16le sample-rate=44100 \
      num-channels=2 ! audioconvert ! avenc_aac bitrate=128000 ! aacparse ! \
      "audio/mpeg,mpegversion=4,stream-format=adts" ! filesink location="$cache/hour.aac.part"
  set -o pipefail
  mv "$cache/hour.aac.part" "$cache/hour.aac"
fi
if [ ! -s "$cache/hour-full.f32" ]; then
  echo "make-hour: full decode of hour.aac (reference for exactness)"
  gst-launch-1.0 -q filesrc location="$cache/hour.aac" ! aacparse ! avdec_aac ! audioconvert ! \
    "audio/x-raw,format=F32LE,layout=interleaved" ! filesink location="$cache/hour-full.f32.part"
  mv "$cache/hour-full.f32.part" "$cache/hour-full.f32"
fi
ls -l "$cache/hour.aac" "$cache/hour-full.f32"
