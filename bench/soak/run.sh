#!/bin/bash
# Soak run of the live path (issue 7): three videotestsrc inputs through
# montagescene into montageselect, audiotestsrc through montagebeat mode=live
# feeding the beat pad, x264enc into fpsdisplaysink/fakesink. Samples the
# process's resident memory (/proc/PID/status VmRSS) and CPU time
# (/proc/PID/stat utime+stime) every INTERVAL seconds with the frames encoded
# so far, then prints the frames encoded in all, and memory at warm-up vs the
# last sample and CPU per frame between them.
#
#   bench/soak/run.sh [BUILD_DIR]
#   MODE=fast FRAMES=108000 bench/soak/run.sh     # one hour of 30 fps, un-synced (default)
#   MODE=live SECONDS_LIVE=300 bench/soak/run.sh  # real time, is-live=true sources
# Also: SIZE=WxH (default 320x240), INTERVAL=s (default 5), WARMUP=s (default 30).
# Not a test: numbers for docs/robustness.md.
set -uo pipefail
BUILD=${1:-build}
MODE=${MODE:-fast}
FRAMES=${FRAMES:-108000}
SECONDS_LIVE=${SECONDS_LIVE:-300}
SIZE=${SIZE:-320x240}
INTERVAL=${INTERVAL:-5}
WARMUP=${WARMUP:-30}
W=${SIZE%x*}; H=${SIZE#*x}
export GST_PLUGIN_PATH="$BUILD/gst"
export GST_REGISTRY=${GST_REGISTRY:-/tmp/gst-montage-soak-registry.bin}
LOG=$(mktemp /tmp/gst-montage-soak-XXXXXX.log)

V="video/x-raw,format=I420,width=$W,height=$H,framerate=30/1"
if [ "$MODE" = live ]; then
  LIVE=true; SYNC=true; NB=-1; ANB=-1; LIMIT=$SECONDS_LIVE
else
  LIVE=false; SYNC=false; NB=$FRAMES; ANB=$((FRAMES * 441 / 300 / 10 + 100)); LIMIT=3600
fi
# audiotestsrc: 1024-sample buffers at 44.1 kHz by default; ANB covers the video length.
[ "$MODE" = live ] || ANB=$(( (FRAMES / 30 + 5) * 44100 / 1024 ))

gst-launch-1.0 -e -v \
  montageselect name=sel ! videoconvert ! x264enc tune=zerolatency speed-preset=ultrafast ! \
    fpsdisplaysink name=fps video-sink="fakesink sync=$SYNC" text-overlay=false sync=$SYNC \
    fps-update-interval=$((INTERVAL * 1000)) \
  videotestsrc is-live=$LIVE num-buffers=$NB pattern=smpte ! $V ! montagescene ! queue ! sel.sink_0 \
  videotestsrc is-live=$LIVE num-buffers=$NB pattern=ball ! $V ! montagescene ! queue ! sel.sink_1 \
  videotestsrc is-live=$LIVE num-buffers=$NB pattern=pinwheel ! $V ! montagescene ! queue ! sel.sink_2 \
  audiotestsrc is-live=$LIVE num-buffers=$ANB wave=ticks tick-interval=500000000 ! audioconvert ! \
    montagebeat mode=live ! queue ! sel.beat >"$LOG" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
TCK=$(getconf CLK_TCK)
START=$(date +%s.%N)
printf "%8s %10s %10s %12s %10s\n" "wall_s" "frames" "rss_kib" "cpu_s" "ms/frame"
declare -a ROWS=()
prev_cpu=0; prev_frames=0; stopped=0
while kill -0 $PID 2>/dev/null; do
  sleep "$INTERVAL"
  [ -r /proc/$PID/status ] || break
  rss=$(awk '/VmRSS/ {print $2}' /proc/$PID/status 2>/dev/null || echo 0)
  cpu=$(awk -v t="$TCK" '{printf "%.2f", ($14 + $15) / t}' /proc/$PID/stat 2>/dev/null || echo 0)
  frames=$(grep -o 'rendered: [0-9]*' "$LOG" | tail -1 | awk '{print $2}' || true)
  frames=${frames:-0}
  now=$(echo "$(date +%s.%N) - $START" | bc)
  per=$(echo "$frames $prev_frames $cpu $prev_cpu" | awk '{ if ($1 > $2) printf "%.3f", ($3 - $4) * 1000 / ($1 - $2); else print "-" }')
  printf "%8.1f %10s %10s %12s %10s\n" "$now" "$frames" "$rss" "$cpu" "$per"
  ROWS+=("$now $frames $rss $cpu")
  prev_cpu=$cpu; prev_frames=$frames
  if (( $(echo "$now > $LIMIT" | bc) )); then kill -INT $PID; stopped=1; fi
done
wait $PID && rc=0 || rc=$?
END_S=$(echo "$(date +%s.%N) - $START" | bc)
echo "pipeline exit status: $rc (log: $LOG)"
# Frames encoded in all: a fast run that reached EOS of itself (not stopped
# at LIMIT: gst-launch -e exits 0 then too) encoded every one of FRAMES;
# otherwise the last count fpsdisplaysink reported (it reports every
# INTERVAL, so the frames after its last report are not counted: "at least").
# The samples' figures below come from the last sample, which can be up to
# INTERVAL (and the frames since) before the end.
if [ "$MODE" != live ] && [ "$rc" = 0 ] && [ "$stopped" = 0 ]; then
  TOTAL=$FRAMES; TOTAL_WORD=""
else
  TOTAL=$(grep -o 'rendered: [0-9]*' "$LOG" | tail -1 | awk '{print $2}' || true)
  TOTAL=${TOTAL:-0}; TOTAL_WORD="at least "
fi
printf "frames encoded: %s%d (%.1f min of 30 fps video) in %.0f s of wall time\n" \
  "$TOTAL_WORD" "$TOTAL" "$(echo "$TOTAL / 1800" | bc -l)" "$END_S"
printf "%s\n" "${ROWS[@]}" | awk -v warm="$WARMUP" '
  NF == 4 && $1 >= warm && !w { w = 1; wt = $1; wf = $2; wr = $3; wc = $4 }
  NF == 4 { lt = $1; lf = $2; lr = $3; lc = $4; if ($3 > peak) peak = $3 }
  END {
    if (!w) { print "run shorter than the warm-up (no sample at or after it): no memory or CPU figures"; exit }
    printf "samples: warm-up at %.0f s (frame %d) to the last at %.0f s (frame %d)\n", wt, wf, lt, lf
    printf "RSS at warm-up: %d KiB; at the last sample: %d KiB; peak %d KiB\n", wr, lr, peak
    if (lf <= wf) { print "no frame counted between the warm-up and the last sample: no per-frame figures"; exit }
    printf "growth after warm-up: %+d KiB (%+.2f%%), %+.3f KiB per 1000 frames\n", lr - wr, (lr - wr) * 100.0 / wr, (lr - wr) * 1000.0 / (lf - wf)
    printf "CPU per frame after warm-up: %.3f ms (all threads)\n", (lc - wc) * 1000 / (lf - wf)
  }'
