#!/usr/bin/env bash
# Builds gst-montage with AddressSanitizer + UndefinedBehaviorSanitizer in
# ./build-asan (Meson's own -Db_sanitize, with -Db_lundef=false so the shared
# library and plugins link) and runs the whole test suite under them.
#
#   scripts/test-sanitizers.sh [meson test options, e.g. a test name]
#
# Any ASan report or UB (halt_on_error) fails the test that hit it. LeakSanitizer
# is off (detect_leaks=0): GLib's type system, GStreamer's registry and caps
# caches are allocated once per process and never freed, so every binary would
# report them; leaks are checked per fuzzer input by libFuzzer (scripts/fuzz.sh).
# A single allocation above 4 GB is a failure too (max_allocation_size_mb): it
# is how a corrupt size field shows (fuzz/regressions/ replays such inputs).
# Timeouts are tripled: the instrumented suite runs about 2-3x slower.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
media=${GST_MONTAGE_MEDIA_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gst-montage/media}
scripts/fetch-media.sh "$media"
opts=(-Db_sanitize=address,undefined -Db_lundef=false -Dbenchmarks=disabled "-Dmedia_dir=$media")
if [ "${CI:-}" = "true" ]; then
  opts+=(-Dwerror=true)
fi
if [ ! -f build-asan/build.ninja ]; then
  meson setup build-asan "${opts[@]}"
else
  meson configure build-asan "${opts[@]}"
fi
meson compile -C build-asan

# Plugins are scanned in-process: the plugin scanner helper is not instrumented
# and cannot load a module built with ASan.
export GST_REGISTRY_FORK=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:max_allocation_size_mb=4096}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
rc=0
meson test -C build-asan --print-errorlogs --timeout-multiplier 3 "$@" || rc=$?
echo -n "sanitizers: "
python3 scripts/test-summary.py build-asan/meson-logs/testlog.json
exit $rc
