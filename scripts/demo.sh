#!/usr/bin/env bash
# Installs what is missing, builds, fetches real sample media from Debian packages and makes
# the demo montage: four real clips cut to the beats of a real 130 BPM song.
#
#   scripts/demo.sh [extra gst-montage-1.0 options, e.g. --preview or -d 20]
#
# The montage and its edit decision list go to ./demo-output/ (or $GST_MONTAGE_OUT).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
media=${GST_MONTAGE_MEDIA_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gst-montage/media}
scripts/fetch-media.sh "$media"
scripts/build.sh
out=${GST_MONTAGE_OUT:-$PWD/demo-output}
mkdir -p "$out"
build/tools/gst-montage-1.0 -m "$media/just_over_the_horizon.ogg" -o "$out/montage.mp4" \
  --plan-json "$out/montage.json" "$@" \
  "$media/Megamind.avi" "$media/oa4_launch.webm" "$media/cityCC0.mpg" "$media/vtest.avi"
echo "demo: the montage is $out/montage.mp4 (edit decision list: $out/montage.json)"
