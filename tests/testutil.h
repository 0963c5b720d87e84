/* Shared test support: GStreamer initialisation, fatal GLib warnings, media lookup. */
#pragma once

#include <gst/gst.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace montage_test {

/* Directory with the sample media from scripts/fetch-media.sh:
 * $GST_MONTAGE_MEDIA_DIR, else $XDG_CACHE_HOME/gst-montage/media. */
std::string media_dir();

/* Full path of a sample file; fails the calling test (ADD_FAILURE) and
 * returns "" when it is missing, telling the user how to fetch it. */
std::string media_path(const std::string &relative);

/* Runs `pipeline_fmt` (a gst-launch description with one %s, replaced by
 * the output path $TMPDIR/<pid>-name; main() points TMPDIR at a scratch
 * directory of the test process's own, removed at exit) to EOS, at most 60 s, to make a short clip
 * or song with real encoders; returns the path, or "" when the description does not parse (the test
 * fails on any error or timeout). */
std::string make_media(const char *name, const char *pipeline_fmt);

/* Waits up to `limit` (ns) for the playing pipeline `pipe` to reach EOS,
 * then sets it to NULL and unrefs it. Returns whether EOS came; otherwise
 * `why`, if given, is set to the error's message or "took over N s". */
bool run_to_eos(GstElement *pipe, GstClockTime limit, std::string *why = nullptr);

/* The messages of the WARNING messages on `bus` so far, oldest first,
 * each expected to be of `domain` and `code` (the test fails otherwise).
 * Pops them: call it before popping other kinds, since
 * gst_bus_pop_filtered() drops the messages it does not return. */
std::vector<std::string> pop_warnings(GstBus *bus, GQuark domain, gint code);

/* file:// URI of an absolute or relative path ("" if it cannot be made). */
std::string uri_of(const std::string &path);

/* The whole contents of a file, "" when it cannot be read. */
std::string read_file(const std::string &path);

/* Asks `pad`'s peer for the latency (as a sink would ask upstream): the
 * minimum, ns, and whether it is live; GST_CLOCK_TIME_NONE (and a failed
 * test) when the query is not answered. */
GstClockTime query_min_latency(GstPad *pad, gboolean *live = nullptr);

/* One run of the tool. */
struct ToolRun {
  int status = -1;   /* exit status; -1: killed by a signal (a crash) or not started */
  bool hung = false; /* still running after the limit, and killed */
  std::string out, err;
};

/* Runs gst-montage-1.0 ($GST_MONTAGE_TOOL, set by meson test; the test fails
 * when it is not set) with `args`, its stdout and stderr captured, killing it
 * after `limit_s` seconds (then hung is true). `debug`, when given, is the
 * tool's GST_DEBUG (colours off). */
ToolRun run_tool(const std::vector<std::string> &args, int limit_s = 600,
                 const char *debug = nullptr);

/* Number of GLib warnings/criticals seen so far (each also fails the test). */
int warnings_seen();

/* Copies `from`'s streams into an MPEG transport stream `to` with ffmpeg's
 * muxer (as a new user's trial clips were made: its PCR starts 1.4 s in, the
 * first frame's PTS later, 0.7-0.767 s in stream time), whose time base
 * tsdemux 1.22 maps wrongly after a seek; mpegtsmux's files showed it only on
 * some seeks. Fails with "no ffmpeg" where ffmpeg is not installed (see
 * have_ffmpeg(); scripts/setup.sh installs it). */
::testing::AssertionResult remux_to_ts_with_ffmpeg(const std::string &from, const std::string &to);

/* Whether ffmpeg is on the PATH. */
bool have_ffmpeg();

} // namespace montage_test
