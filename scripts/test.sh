#!/usr/bin/env bash
# Installs what is missing, builds, fetches the sample media and runs the whole test suite.
#
#   scripts/test.sh [meson test options, e.g. a test name]
#
# Ends with a line "N passed, N failed" and exits non-zero when any test failed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
media=${GST_MONTAGE_MEDIA_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gst-montage/media}
scripts/fetch-media.sh "$media"
scripts/build.sh "-Dmedia_dir=$media"

rc=0
meson test -C build --print-errorlogs "$@" || rc=$?

# One plain summary line over every test binary meson ran.
python3 scripts/test-summary.py build/meson-logs/testlog.json
exit $rc
