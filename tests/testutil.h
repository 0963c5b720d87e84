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

/* Number of GLib warnings/criticals seen so far (each also fails the test). */
int warnings_seen();

} // namespace montage_test
