#!/usr/bin/env bash
# Configures (once) and builds gst-montage in ./build.
#
#   scripts/build.sh [extra meson setup options]
#
# CI builds with warnings as errors (CI=true adds -Dwerror=true).
set -euo pipefail
cd "$(dirname "$0")/.."
opts=("$@")
if [ "${CI:-}" = "true" ]; then
  opts+=(-Dwerror=true)
fi
if [ ! -f build/build.ninja ]; then
  meson setup build "${opts[@]}"
elif [ ${#opts[@]} -gt 0 ]; then
  meson configure build "${opts[@]}"
fi
meson compile -C build
