/* Shared test support: GStreamer initialisation, fatal GLib warnings, media lookup. */
#pragma once

#include <gst/gst.h>

#include <string>

namespace montage_test {

/* Directory with the sample media from scripts/fetch-media.sh:
 * $GST_MONTAGE_MEDIA_DIR, else $XDG_CACHE_HOME/gst-montage/media. */
std::string media_dir();

/* Full path of a sample file; fails the calling test (ADD_FAILURE) and
 * returns "" when it is missing, telling the user how to fetch it. */
std::string media_path(const std::string &relative);

/* Runs `pipeline_fmt` (a gst-launch description with one %s, replaced by
 * the output path $TMPDIR/name) to EOS, at most 60 s, to make a short clip or
 * song with real encoders; returns the path, or "" when the description does
 * not parse (the test fails on any error or timeout). */
std::string make_media(const char *name, const char *pipeline_fmt);

/* file:// URI of an absolute or relative path ("" if it cannot be made). */
std::string uri_of(const std::string &path);

/* Number of GLib warnings/criticals seen so far (each also fails the test). */
int warnings_seen();

} // namespace montage_test
