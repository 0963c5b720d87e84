#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time (the `fuzz` meson test suite).
#
#   fuzz/run-fuzzer.sh FUZZER_BINARY NAME
#
# FUZZ_SECONDS (default 60) bounds the run. The seed corpus fuzz/corpus/NAME/
# is read only; new inputs go to FUZZ_WORK_DIR/corpus/NAME (default: beside
# the binary), crashes and timeouts to FUZZ_WORK_DIR/artifacts/. Prints the
# executions done and exits non-zero on any finding.
set -euo pipefail
binary=$1
name=$2
src=$(cd "$(dirname "$0")" && pwd)
work=${FUZZ_WORK_DIR:-$(dirname "$binary")}
mkdir -p "$work/corpus/$name" "$work/artifacts"
seconds=${FUZZ_SECONDS:-60}
# Full malloc stacks for the element fuzzers, so that fuzz/lsan.supp can tell
# GLib's one-time constructor allocation from a real leak.
unwind=
case $name in montage*) unwind=:fast_unwind_on_malloc=0 ;; esac
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1$unwind}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$src/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
log="$work/artifacts/$name.log"
rc=0
"$binary" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=3072 -max_len=32768 \
  -print_final_stats=1 -artifact_prefix="$work/artifacts/$name-" \
  "$work/corpus/$name" "$src/corpus/$name" >"$log" 2>&1 || rc=$?
grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)|^==[0-9]+==ERROR|SUMMARY|^Done' "$log" || true
if [ $rc -ne 0 ]; then
  tail -n 60 "$log"
  echo "$name: finding (exit $rc), input saved under $work/artifacts/"
fi
exit $rc
