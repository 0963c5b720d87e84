#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) in ./build-fuzz and
# runs each one for a bounded time over its seed corpus (docs/hardening.md).
#
#   scripts/fuzz.sh [NAME...]        e.g. scripts/fuzz.sh planjson montagescene
#
# FUZZ_SECONDS (default 60) per fuzzer. Not part of CI (11 fuzzers x 60 s);
# a finding fails the run and leaves the input in build-fuzz/fuzz/artifacts/.
# Replay one: build-fuzz/fuzz/fuzz_NAME build-fuzz/fuzz/artifacts/NAME-crash-...
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --fuzz
if [ ! -f build-fuzz/build.ninja ]; then
  CC=clang CXX=clang++ meson setup build-fuzz -Dfuzzing=enabled -Db_sanitize=address,undefined \
    -Db_lundef=false -Dtests=disabled -Dbenchmarks=disabled
fi
ninja -C build-fuzz fuzzers
suites=()
for name in "$@"; do suites+=("fuzz_$name"); done
if [ ${#suites[@]} -eq 0 ]; then suites=(--suite fuzz); fi
meson test -C build-fuzz --no-rebuild --print-errorlogs --verbose "${suites[@]}"
