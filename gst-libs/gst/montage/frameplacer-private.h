/* gst-montage: where a decoded frame goes on its clip's timeline, shared by
 * the clip analysis (clipanalysis.cpp) and the cut-path render
 * (render-cuts.cpp) so that both place every frame alike. Not installed. */
#pragma once

#include <gst/gst.h>

namespace montage
{

/* Frames leave a decoder in presentation order, so one stamped no later
 * than the frame before it has a wrong stamp, and is one of two things:
 * - a frame stamped with its predecessor's time: avdec_mpeg4 on an AVI with
 *   packed B-frames (Megamind.avi) stamps 82 of its 270 frames so (0.125,
 *   0.125, 0.2085 s at 23.976 fps). It belongs one frame duration after the
 *   frame before it;
 * - the frame before it given again: avdec_mpeg4, after a flushing seek
 *   under load, now and then gives the first frame twice (0, 0, 0.0417 s),
 *   the same picture with the same stamp. It must go, or it stands in for
 *   the real frame after it.
 * The frame after tells them apart: a repeat is followed by the frame of
 * the time it would be placed at (0.0417 s), a misstamped frame by the one
 * after that (0.2085 s). So such a frame is held (judge() says kHold) until
 * the next frame, or the end, decides (held_repeats()): released at its
 * place or dropped. A frame stamped after the frame before but no later
 * than where that one was placed is skipped. Times are stream times, ns.
 * For each frame: if holding(), held_repeats(its stamp) then drop_held()
 * or release(); then judge() it, and took() it when kept, hold() it when
 * held. At the end (EOS) a held frame is released; a flush forgets it
 * (reset()). */
class FramePlacer
{
public:
  enum class Verdict { kKeep, kHold, kSkip };
  struct Placement {
    Verdict verdict;
    GstClockTime at; /* where it goes (kKeep, kHold) */
  };

  /* The verdict on a frame stamped `stamped` lasting `step` ns (0:
   * unknown). A frame with no valid stamp, the first one, and one stamped
   * after where the last was placed are kept at their stamps; one stamped
   * no later than the frame before it is held, to go `step` after it, or
   * skipped when `step` is unknown. Call with no frame held. */
  Placement judge(GstClockTime stamped, GstClockTime step) const
  {
    if (!GST_CLOCK_TIME_IS_VALID(stamped) || !GST_CLOCK_TIME_IS_VALID(placed_) || stamped > placed_)
      return {Verdict::kKeep, stamped};
    if ((GST_CLOCK_TIME_IS_VALID(stamped_) && stamped > stamped_) || step == 0)
      return {Verdict::kSkip, GST_CLOCK_TIME_NONE};
    return {Verdict::kHold, placed_ + step};
  }
  /* The frame stamped `stamped` was kept at `placed`. */
  void took(GstClockTime placed, GstClockTime stamped)
  {
    placed_ = placed;
    stamped_ = stamped;
  }
  /* The frame judged kHold at `at` (stamped `stamped`, lasting `step`) is
   * held until the next frame. */
  void hold(GstClockTime at, GstClockTime stamped, GstClockTime step)
  {
    held_at_ = at;
    held_stamped_ = stamped;
    held_step_ = step;
  }
  bool holding() const { return GST_CLOCK_TIME_IS_VALID(held_at_); }
  /* Where the held frame would go. */
  GstClockTime held_at() const { return held_at_; }
  /* Whether the held frame repeats the frame before it, given the next
   * frame's stamp (GST_CLOCK_TIME_NONE: none, or no stamp): the next one is
   * stamped within half a frame of where the held one would go. */
  bool held_repeats(GstClockTime next) const
  {
    if (!holding() || !GST_CLOCK_TIME_IS_VALID(next))
      return false;
    const GstClockTime gap = next > held_at_ ? next - held_at_ : held_at_ - next;
    return gap <= held_step_ / 2;
  }
  /* The held frame is kept, at held_at(). */
  void release()
  {
    took(held_at_, held_stamped_);
    drop_held();
  }
  /* The held frame is dropped. */
  void drop_held() { held_at_ = held_stamped_ = GST_CLOCK_TIME_NONE; }

  /* Where the last frame kept was placed (GST_CLOCK_TIME_NONE: none yet). */
  GstClockTime last() const { return placed_; }
  void reset()
  {
    placed_ = stamped_ = GST_CLOCK_TIME_NONE;
    drop_held();
  }

private:
  GstClockTime placed_ = GST_CLOCK_TIME_NONE;
  GstClockTime stamped_ = GST_CLOCK_TIME_NONE;
  GstClockTime held_at_ = GST_CLOCK_TIME_NONE, held_stamped_ = GST_CLOCK_TIME_NONE;
  GstClockTime held_step_ = 0;
};

} // namespace montage
