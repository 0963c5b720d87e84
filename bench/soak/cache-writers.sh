#!/bin/bash
# Concurrent cache writers (issue 7): WRITERS processes of gst-montage-1.0
# analyse the same song and clips into one cache directory in a loop for
# SECONDS_RUN seconds, while another process clears the cache every
# CLEAR_EVERY seconds (so entries keep being written, replaced and removed
# under the readers). Every run's log is kept with the GStreamer debug
# category "montagecache" at WARNING, which names every damaged entry found.
# Then one last run must take everything from the cache, and every entry
# file left must load cleanly.
#
#   bench/soak/cache-writers.sh [BUILD_DIR]
#   WRITERS=4 SECONDS_RUN=60 CLEAR_EVERY=3 MEDIA=~/.cache/gst-montage/media
# Not a test: numbers for docs/robustness.md.
set -uo pipefail
BUILD=${1:-build}
TOOL="$BUILD/tools/gst-montage-1.0"
WRITERS=${WRITERS:-4}
SECONDS_RUN=${SECONDS_RUN:-60}
CLEAR_EVERY=${CLEAR_EVERY:-3}
MEDIA=${MEDIA:-$HOME/.cache/gst-montage/media}
SONG="$MEDIA/just_over_the_horizon.ogg"
CLIPS=("$MEDIA/Megamind.avi" "$MEDIA/oa4_launch.webm" "$MEDIA/cityCC0.mpg")
WORK=$(mktemp -d /tmp/gst-montage-cache-writers-XXXXXX)
CACHE="$WORK/cache"
export GST_DEBUG=montagecache:2 GST_DEBUG_NO_COLOR=1
END=$(( $(date +%s) + SECONDS_RUN ))

writer() {
  local n=0 fail=0
  while [ "$(date +%s)" -lt "$END" ]; do
    # Each writer takes the clips in its own order (-j 1: one pipeline at a time).
    local order=("${CLIPS[@]:$1 % 3}" "${CLIPS[@]:0:$1 % 3}")
    if ! "$TOOL" -q -j 1 --no-render --cache-dir "$CACHE" -m "$SONG" "${order[@]}" \
        >>"$WORK/writer$1.log" 2>&1; then fail=$((fail + 1)); fi
    n=$((n + 1))
  done
  echo "$n $fail" >"$WORK/writer$1.count"
}
clearer() {
  local n=0
  while [ "$(date +%s)" -lt "$END" ]; do
    sleep "$CLEAR_EVERY"
    "$TOOL" cache --clear --cache-dir "$CACHE" >>"$WORK/clear.log" 2>&1 && n=$((n + 1))
  done
  echo "$n" >"$WORK/clear.count"
}
for w in $(seq 1 "$WRITERS"); do writer "$w" & done
clearer &
wait
runs=0; fails=0
for w in $(seq 1 "$WRITERS"); do read -r n f <"$WORK/writer$w.count"; runs=$((runs + n)); fails=$((fails + f)); done
damaged=$(cat "$WORK"/writer*.log | grep -c "removing it" || true)
echo "writers: $WRITERS for ${SECONDS_RUN} s; tool runs: $runs (failed: $fails); cache clears: $(cat "$WORK/clear.count")"
echo "damaged entries found by readers during the run: $damaged"
stray=$(find "$CACHE" -type f ! -name '*.entry' 2>/dev/null | wc -l)
entries=$(find "$CACHE" -name '*.entry' | wc -l)
final=$("$TOOL" -q -j 1 --no-render --cache-dir "$CACHE" -m "$SONG" "${CLIPS[@]}" 2>"$WORK/final.err")
echo "after the run: $entries entries, $stray stray temporary files"
echo "final run: $final"
echo "final run damaged entries: $(grep -c 'removing it' "$WORK/final.err" || true)"
if [ "$fails" -eq 0 ] && [ "$damaged" -eq 0 ]; then
  echo "RESULT: no corrupt entry"
  rm -rf "$WORK"
else
  echo "RESULT: FAILED (logs in $WORK)"
  exit 1
fi
