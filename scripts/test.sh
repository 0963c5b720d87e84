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

# One plain summary line over every GoogleTest case meson ran.
python3 - build/meson-logs/testlog.json <<'PY'
import json, sys
passed = failed = skipped = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("result") in ("OK", "EXPECTEDFAIL"): passed += 1
    elif r.get("result") == "SKIP": skipped += 1
    else: failed += 1
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
PY
exit $rc
