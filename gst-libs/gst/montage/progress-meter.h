/* Internal to libgstmontage's clip analysis (clipanalysis.cpp); not
 * installed. */
#pragma once

#include <gst/gst.h>

#include <algorithm>
#include <functional>

namespace montage
{

/* An analysis's progress as one figure that never goes back, over passes
 * that each count from their own start: the keyframe path's keyframe pass,
 * then the refinement of its runs, then full decoding if the path is given
 * up. Each pass fills the whole from where the pass before it left off up
 * to the `hi` given to stage(). The figure goes to `out` as a position in
 * the clip's duration (ns), the form ClipAnalyseOptions::progress takes.
 * Not thread-safe: report() from one thread at a time (the passes' bus
 * loops run on the calling thread). */
class ProgressMeter
{
public:
  using Func = std::function<void(GstClockTime position, GstClockTime duration)>;

  /* out: may be empty (nothing is reported). */
  explicit ProgressMeter(Func out) : out_(std::move(out)) {}

  /* The next pass runs from where the figure is now to `hi` (0..1, clamped;
   * never below where it is now) of the whole. Before any stage() the pass
   * fills the whole. */
  void stage(double hi)
  {
    lo_ = shown_;
    hi_ = std::max(lo_, std::min(1.0, hi));
  }

  /* The pass has done `fraction` (clamped to 0..1) of its work, of a clip
   * lasting `duration` ns; nothing is reported while the duration is
   * unknown (GST_CLOCK_TIME_NONE or 0). */
  void report(double fraction, GstClockTime duration)
  {
    if (!out_ || !GST_CLOCK_TIME_IS_VALID(duration) || duration == 0)
      return;
    shown_ = std::max(shown_, lo_ + (hi_ - lo_) * std::clamp(fraction, 0.0, 1.0));
    out_((GstClockTime)(shown_ * (double)duration), duration);
  }

  /* A callback for a pass whose work is its position in the clip (a pass
   * that reads the file from start to end). The meter must outlive it. */
  Func by_position()
  {
    return [this](GstClockTime position, GstClockTime duration) {
      if (GST_CLOCK_TIME_IS_VALID(position) && GST_CLOCK_TIME_IS_VALID(duration) && duration > 0)
        report((double)position / (double)duration, duration);
    };
  }

private:
  Func out_;
  double lo_ = 0.0, hi_ = 1.0, shown_ = 0.0;
};

} // namespace montage
