#!/usr/bin/env bash
# Builds the beat-tracking ground-truth sets into ~/.cache/gst-montage/bench/beat (never into git).
#
#   bench/beat/build-sets.sh
#
# MIDI compositions from Debian packages (openttd-openmsx, freedink-data) are rendered with
# fluidsynth and the General MIDI sound font; each gets a .beats file with the exact time of every
# beat and its position in the bar, read from the file's tempo and time-signature maps
# (midi_truth.py). Recorded songs with a known tempo come from scripts/fetch-media.sh's cache.
# Needs: fluidsynth fluid-soundfont-gm python3-mido ffmpeg (scripts/setup.sh --bench).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${GST_MONTAGE_BENCH_DIR:-$HOME/.cache/gst-montage/bench}/beat
sf2=/usr/share/sounds/sf2/FluidR3_GM.sf2
mkdir -p "$cache/debs" "$cache/pkg" "$cache/audio"

for pkg in openttd-openmsx freedink-data; do
  if ! ls "$cache/debs/${pkg}"_*.deb >/dev/null 2>&1; then
    (cd "$cache/debs" && apt-get download "$pkg")
  fi
  dpkg -x "$cache"/debs/"${pkg}"_*.deb "$cache/pkg"
done
cp -f "$cache"/pkg/usr/share/doc/openttd-openmsx/copyright "$cache/audio/openttd-openmsx.copyright"
cp -f "$cache"/pkg/usr/share/doc/freedink-data/copyright "$cache/audio/freedink-data.copyright"

# set name : file. Picked with midi_truth.py: every file's notes sit on its grid (>= 0.99 of
# note-ons on a sixteenth or triplet subdivision; 0.92-0.98 for the rubato/swing hard ones) and
# repeat at its notated beat or bar (midi_truth.py's "repeat", 0.72-0.96 here; render() drops a
# file under 0.5). busy_schedule.mid (134 BPM, 4/4 only by default: it has no time signature) was
# in the steady set until its notes were found to repeat every three sixteenths (0.85) and hardly
# at the quarter note or bar (repeat 0.20): every tracker, aubio's too, hears 178.7 or 89 BPM, and
# the 134 BPM "beats" are not a pulse of the music.
# steady: one tempo, 70-180 BPM, 4/4; with drums unless marked.
steady=(
  relax_song.mid            # 120, drums
  coconut_run2.mid          # 180, drums
  ultimate_run.mid          # 150, drums
  mighty_giant_run.mid      # 160, drums
  slow_neasy_redfarn.mid    # 135, drums
  ttsong_iv_imuh3.mid       # 80, drums
  train_filled_with_cash.mid # 90, drums
  chemistry_lab.mid         # 119, no drums
  7.mid                     # 100, no drums (freedink)
  18.mid                    # 140, no drums (freedink)
)
# hard: tempo changes (gradual and sudden), 3/4 and changing meters, < 70 and > 170 BPM, sparse.
hard=(
  104.mid                   # 50-70 BPM, 3/4, 6 tempo changes, no drums
  13.mid                    # 40 BPM, no drums
  105.mid                   # 87-104 BPM, 21 tempo changes, 4/4 -> 3/4 -> 4/4, no drums
  be_sharp_bw_redfarn.mid   # 81-109 BPM, 17 tempo changes, drums
  midnight_snow_run.mid     # 120-150 BPM, 65 tempo changes (gradual), drums
  chuggachugga.mid          # 69-180 BPM, sudden changes, drums
  boogi_marabi_redfarn.mid  # 153 BPM, 3/4, drums
  flying_scotsman.mid       # 200 BPM, drums
  ttsong_iii_imuh3.mid      # 120 BPM, 4/4 -> 2/4 -> 4/4, drums
)

render() {
  local set=$1 name=$2
  local mid
  mid=$(find "$cache/pkg" -name "$name" | head -1)
  local base=$cache/audio/$set-${name%.mid}
  if [ ! -s "$base.flac" ]; then
    # fluidsynth's reader stops early on some files (104.mid rendered 1.4 ms): render a copy that
    # mido has written back in plain form (same events and times).
    /usr/bin/python3 -c 'import mido, sys; mido.MidiFile(sys.argv[1]).save(sys.argv[2])' "$mid" "$base.mid"
    fluidsynth -ni -q -g 0.2 -r 44100 -F "$base.wav" "$sf2" "$base.mid" >/dev/null
    # At most 150 s of each song keeps a run short.
    ffmpeg -v error -y -i "$base.wav" -t 150 -c:a flac "$base.flac"
    rm -f "$base.wav" "$base.mid"
  fi
  /usr/bin/python3 "$here/midi_truth.py" "$mid" "$base.beats" > "$base.info"
  local repeat
  repeat=$(sed -n 's/.* repeat \([-0-9.]*\)$/\1/p' "$base.info")
  if awk -v r="$repeat" 'BEGIN { exit !(r < 0.5) }'; then
    echo "build-sets: dropping $name: its notes do not repeat at the notated beat or bar" \
      "(repeat $repeat < 0.5), so its tempo map's beats are not what one hears" >&2
    rm -f "$base.flac" "$base.beats" "$base.info"
  fi
}
# Renders of files no longer in a set (an older list) would still be scored: remove them.
for f in "$cache"/audio/steady-*.flac "$cache"/audio/hard-*.flac; do
  [ -e "$f" ] || continue
  b=$(basename "$f" .flac)
  set_name=${b%%-*}
  mid_name=${b#*-}.mid
  if [ "$set_name" = steady ]; then list=" ${steady[*]} "; else list=" ${hard[*]} "; fi
  case "$list" in
    *" $mid_name "*) ;;
    *) echo "build-sets: removing $b (no longer in the $set_name set)"
       rm -f "${f%.flac}".flac "${f%.flac}".beats "${f%.flac}".info ;;
  esac
done
for f in "${steady[@]}"; do render steady "$f"; done
for f in "${hard[@]}"; do render hard "$f"; done

# Recorded songs with a known tempo (scripts/fetch-media.sh): tempo only, no beat times.
media=${GST_MONTAGE_MEDIA_DIR:-$HOME/.cache/gst-montage/media}
for x in "just_over_the_horizon.ogg 130" "stg0.ogg 150"; do
  set -- $x
  if [ -f "$media/$1" ]; then
    ln -sf "$media/$1" "$cache/audio/recorded-${1%.ogg}.ogg"
    echo "$2" > "$cache/audio/recorded-${1%.ogg}.bpm"
  fi
done
ls "$cache/audio" | grep -c -E '\.(flac|ogg)$' | xargs echo "build-sets: songs in $cache/audio:"
