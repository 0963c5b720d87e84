#!/bin/sh
# Builds and runs tests/pkgconfig-app.cpp with only the flags that the
# build's uninstalled gstmontage-1.0.pc gives, as an application would with
# the installed one. Usage: check-pkgconfig.sh BUILD_ROOT SOURCE_FILE PKG_CONFIG CXX...
set -e
build=$1 source=$2 pkgconfig=$3
shift 3
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
flags=$(PKG_CONFIG_PATH="$build/meson-uninstalled${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}" "$pkgconfig" --cflags --libs gstmontage-1.0)
# shellcheck disable=SC2086 # the flags are words
"$@" -std=c++17 "$source" $flags -o "$out/app"
LD_LIBRARY_PATH="$build/gst-libs/gst/montage${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$out/app"
