/* gst-montage: where a decoded frame goes on its clip's timeline, shared by
 * the clip analysis (clipanalysis.cpp) and the cut-path render
 * (render-cuts.cpp) so that both place every frame alike. Not installed. */
#pragma once

#include <gst/gst.h>

#include <optional>

namespace montage
{

/* Frames leave a decoder in presentation order, so one stamped no later
 * than the frame before it has a wrong stamp: avdec_mpeg4 on an AVI with
 * packed B-frames (Megamind.avi) stamps 82 of its 270 frames with the time
 * of the frame before (0.125, 0.125, 0.2085 s at 23.976 fps). Such a frame is
 * placed one frame duration after the frame before it, where it belongs.
 * A frame stamped after the frame before but no later than where that one
 * was placed (a frame given twice: 1, 1, 2 s) is skipped: placed as well, it
 * would push every later frame one frame late. Times are stream times, ns.
 * Call place() for each frame, then took() for each frame kept. */
class FramePlacer
{
public:
  /* The time of a frame stamped `stamped` lasting `step` ns (0: unknown),
   * or nullopt to skip it. A frame with no valid stamp, the first one, and
   * one stamped after where the last was placed keep their stamps; one that
   * needs placing but has no `step` is skipped. */
  std::optional<GstClockTime> place(GstClockTime stamped, GstClockTime step) const
  {
    if (!GST_CLOCK_TIME_IS_VALID(stamped) || !GST_CLOCK_TIME_IS_VALID(placed_) || stamped > placed_)
      return stamped;
    if ((GST_CLOCK_TIME_IS_VALID(stamped_) && stamped > stamped_) || step == 0)
      return std::nullopt;
    return placed_ + step;
  }
  /* The frame stamped `stamped` was kept at `placed`. */
  void took(GstClockTime placed, GstClockTime stamped)
  {
    placed_ = placed;
    stamped_ = stamped;
  }
  /* Where the last frame kept was placed (GST_CLOCK_TIME_NONE: none yet). */
  GstClockTime last() const { return placed_; }
  void reset() { placed_ = stamped_ = GST_CLOCK_TIME_NONE; }

private:
  GstClockTime placed_ = GST_CLOCK_TIME_NONE;
  GstClockTime stamped_ = GST_CLOCK_TIME_NONE;
};

} // namespace montage
