/* A picture of a plan before anyone waits for a render.
 *
 * One PNG, drawn with Cairo: along the song's time axis, the energy curve
 * (SongAnalysis::energy_curve, else the per-beat energy) with beats as ticks
 * (downbeats taller), sections as coloured bands (low/medium/high energy),
 * every cut as a vertical line, and above each segment a thumbnail of its
 * first frame (decoded with GStreamer's playbin at the segment's in-point,
 * accurate seek), labelled with the segment's number (from 0, as the plan's
 * notes and --plan-json's segments[] count them) and the clip's file
 * name (as UTF-8, g_filename_display_basename()). Labels never overlap and no
 * cut crosses one: each gets the room up to the next cut of its row, the name
 * shortened ("12 Megam…") down to the number alone, and one that would come
 * within 10 pixels of the label before it is left out. The time axis is
 * labelled at least 80 pixels apart. Thumbnails that cannot be decoded are
 * drawn as grey boxes with the reason logged; the picture is still written.
 */
#pragma once

#include <gst/montage/types.h>

#include <string>
#include <vector>

namespace montage {

struct StoryboardOptions {
  int width = 1600;            /* picture width in pixels (>= 400) */
  int thumbnail_height = 90;   /* thumbnail row height in pixels (>= 24) */
  GstClockTime frame_timeout = 10 * GST_SECOND; /* per thumbnail */
};

/* Writes the storyboard of `plan` to `png_path` (atomically: a temporary
 * file renamed into place). Returns false with `error` set when the plan is
 * empty or the file cannot be written. Runs GStreamer pipelines: call from
 * the application's thread. Cost: one decoder preroll per clip and one
 * accurate seek per segment, one clip's pipeline open at a time (all of its
 * thumbnails are grabbed, then it is closed), so peak memory is one decoder's
 * (~190 MB for 1080p H.264) plus the thumbnails' visible parts (about two
 * rows of the picture), whatever the number of clips. */
bool write_storyboard(const Plan &plan, const SongAnalysis &song,
                      const std::vector<ClipAnalysis> &clips, const std::string &png_path,
                      const StoryboardOptions &options, GError **error);

} // namespace montage
