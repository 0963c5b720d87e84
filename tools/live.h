/* tools/live.h: gst-montage-1.0 --live (live.cpp). */
#pragma once

#include "analysis.h"

#include <gst/gst.h>

#include <set>
#include <string>
#include <vector>

namespace montage_tool
{

struct LiveSettings {
  std::string song;
  std::string output; /* the MP4 to write */
  /* Running time of the song at which the mix ends (the audio is cut at that
   * sample, the video at the frame before); NONE: the song's end. */
  GstClockTime duration = GST_CLOCK_TIME_NONE;
  std::string style = "balanced"; /* montageselect's style */
  /* montageselect's seed (its jitter term): --seed, as the planned path's
   * PlanSettings::seed; the same seed and inputs make the same choices. */
  guint64 seed = 1;
  bool quiet = false;
  /* -v: a line for each file of `from_dirs` that is not media, instead of
   * one line for them all (montage_tool::not_media_in_dirs()). */
  bool verbose = false;
  /* The clips that were found in a directory named on the command line. */
  std::set<std::string> from_dirs;
  /* The clips of `from_dirs` that are the song's own file (music kept
   * beside the clips): one without a picture is the song, not a bad clip,
   * and gets no "skipping" warning (-v: a line saying it is the song). */
  std::set<std::string> song_in_dirs;
  TempoRange tempo;
  gint width = 1280, height = 720, fps_n = 30, fps_d = 1;
  bool preview = false;              /* the encoders' fastest settings */
  std::vector<std::string> encoders; /* H.264 encoder factories, in the order to try */
};

/* Plays every clip at once, in real time, into montageselect, which cuts
 * between them on the beats montagebeat (live mode) finds in the song, and
 * writes the mix with the song as its soundtrack. Clips without a video
 * stream GStreamer can decode are reported and left out (those found in a
 * directory that are not media at all in one line, as the planned path does). Returns the exit
 * status: 0, 1 (no usable clip, a song without audio, a failed mix).
 *
 * The mix ends at the soonest of `settings.duration`, the song's end and the
 * clips' end (the last to end), picture and sound together: where the clips
 * end first, the sound is cut at their last picture (and a line says so).
 * A duration past the song's length (as GstDiscoverer gives it) is warned
 * of, in the planned path's words. No segment at the end is shorter than
 * the style's min_gap (montage::StylePacing, the planned path's shortest
 * segment): from min_gap before the end the inputs' lengths foretell,
 * montageselect switches on no more beats, and a switch there because the
 * clip on air ended ends the mix at that switch (a line says where). */
int live_mix(const std::vector<std::string> &clips, const LiveSettings &settings);

} // namespace montage_tool
