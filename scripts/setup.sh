#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build, test and run gst-montage.
#
#   scripts/setup.sh [--bench]
#
# Only missing packages are installed (apt-get, as root or through sudo); nothing is
# downloaded from anywhere but Debian's package registry. --bench adds the tools the
# benchmarks compare against (aubio's command-line tools; FFmpeg, also used by tests, is always installed).
set -euo pipefail

packages=(
  meson ninja-build pkg-config g++ python3
  libglib2.0-dev libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libges-1.0-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav ges1.0-tools
  libopencv-core-dev libopencv-imgproc-dev libfftw3-dev libnanoflann-dev libmsgpack-cxx-dev
  libjson-glib-dev zlib1g-dev libcairo2-dev libgtest-dev libgmock-dev
)
# tests/test_montagebeat.cpp's regression song: fetch-media.sh renders a MIDI file with these.
packages+=(fluidsynth fluid-soundfont-gm)
# Tests of MPEG transport streams as ffmpeg writes them (tests/testutil.h
# remux_to_ts_with_ffmpeg()); they are skipped without it.
packages+=(ffmpeg)
if [ "${1:-}" = "--bench" ]; then
  packages+=(aubio-tools)
  packages+=(fluidsynth fluid-soundfont-gm python3-mido python3-gi gir1.2-gstreamer-1.0)
fi
if [ "${1:-}" = "--fuzz" ]; then
  packages+=(clang-14 libclang-rt-14-dev)
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all build and runtime packages are installed"
  exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then
    sudo=(sudo)
  else
    echo "setup: missing packages: ${missing[*]}" >&2
    echo "setup: run this script as root, or install them with apt-get" >&2
    exit 1
  fi
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
