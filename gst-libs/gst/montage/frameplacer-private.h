/* gst-montage: where a decoded frame goes on its clip's timeline, shared by
 * the clip analysis (clipanalysis.cpp) and the cut-path render
 * (render-cuts.cpp) so that both place every frame alike. Not installed. */
#pragma once

#include <gst/gst.h>

#include <algorithm>
#include <cstddef>

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
 * the next frame, or the end, decides (settle()): released at its place or
 * dropped. A decoder may also give a frame three times or more (0, 0, 0,
 * 0.0417 s): each further frame stamped no later than the held one joins
 * it (judge() says kHold again), and the frame after the run decides it
 * as a whole: stamped where the run's first would go, every frame of it was
 * a repeat; otherwise the run keeps as many of its frames, first ones
 * first, one frame apart, as fit before that frame (at least one; the
 * first only when it comes later than all of them would, or at the end).
 * A frame stamped after the frame before but no later than where
 * that one was placed is skipped. Times are stream times, ns.
 *
 * For each frame, the analysis and the render alike: if settles(its stamp),
 * settle(its stamp), then release the first Settled::kept held frames at
 * Settled::at(i) (took() each) and drop the rest; then judge() it: took()
 * it when kept, hold() it when held. At the end (EOS, a new segment or caps)
 * settle(GST_CLOCK_TIME_NONE); a flush forgets the held frames (reset()).
 * The decisions are all here, so that a frame is placed alike wherever it
 * is decoded. */
class FramePlacer
{
public:
  enum class Verdict { kKeep, kHold, kSkip };
  struct Placement {
    Verdict verdict;
    GstClockTime at; /* where it goes (kKeep, kHold) */
  };
  /* What settle() decided for the held frames: the first `kept` of them
   * (in the order held) go at at(0), at(1)...; the rest are dropped as
   * repeats. */
  struct Settled {
    size_t kept;
    GstClockTime first, step;
    GstClockTime at(size_t i) const { return first + i * step; }
  };

  /* The verdict on a frame stamped `stamped` lasting `step` ns (0:
   * unknown). A frame with no valid stamp, the first one, and one stamped
   * after where the last was placed are kept at their stamps; one stamped
   * no later than the frame before it is held, to go `step` after it, or
   * skipped when `step` is unknown; while frames are held, one stamped no
   * later than the first of them is held with them (at: where it would go,
   * after them). Call after settle() when settles() says so. */
  Placement judge(GstClockTime stamped, GstClockTime step) const
  {
    if (holding())
      return {Verdict::kHold, held_at_ + held_ * held_step_};
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
  /* The frame judged kHold (stamped `stamped`, lasting `step`) is held
   * until a frame not stamped as it comes, or the end: the first of a run
   * goes at `at`, the others one `step` (the first's) after another. */
  void hold(GstClockTime at, GstClockTime stamped, GstClockTime step)
  {
    if (!holding()) {
      held_at_ = at;
      held_stamped_ = stamped;
      held_step_ = step;
    }
    held_++;
  }
  bool holding() const { return held_ > 0; }
  /* How many frames are held. */
  size_t held() const { return held_; }
  /* Whether a frame stamped `stamped` (GST_CLOCK_TIME_NONE: the end, or
   * no stamp) decides the held frames, before it is judged: true when
   * frames are held and it is not stamped as the first of them or earlier
   * (such a frame is held with them). */
  bool settles(GstClockTime stamped) const
  {
    return holding() && !(GST_CLOCK_TIME_IS_VALID(stamped) && stamped <= held_stamped_);
  }
  /* Decides the held frames, given the next frame's stamp `next`
   * (GST_CLOCK_TIME_NONE: none follows, or it has no stamp), and forgets
   * them; the kept ones are not yet took() (the caller does, in order). The
   * next frame stamped within half a frame of where the first held one
   * would go: all were repeats, none is kept. Else as many as fit before it,
   * one frame apart, at least one and at most all (the frames after the
   * first all stamped as it: one frame given again and again, or packed
   * B-frames stamped alike). With no next frame, or one later than where
   * all of them and one more would go (frames are missing after them: the
   * clip analysis's keyframe path feeds no frame past a GOP limit, and the
   * next one it sees is the next GOP's keyframe), the first only, as
   * nothing tells. */
  Settled settle(GstClockTime next)
  {
    Settled s{holding() ? (size_t)1 : 0, held_at_, held_step_};
    if (holding() && GST_CLOCK_TIME_IS_VALID(next)) {
      const GstClockTime gap = next > held_at_ ? next - held_at_ : held_at_ - next;
      if (gap <= held_step_ / 2)
        s.kept = 0;
      else if (next > held_at_) {
        const GstClockTime fit = (gap + held_step_ / 2) / held_step_;
        s.kept = fit > held_ ? 1 : std::max<size_t>((size_t)fit, 1);
      }
    }
    held_ = 0;
    held_at_ = held_stamped_ = GST_CLOCK_TIME_NONE;
    return s;
  }

  /* Where the last frame kept was placed (GST_CLOCK_TIME_NONE: none yet). */
  GstClockTime last() const { return placed_; }
  /* Forgets every frame placed or held (a flush). */
  void reset()
  {
    placed_ = stamped_ = GST_CLOCK_TIME_NONE;
    (void)settle(GST_CLOCK_TIME_NONE);
  }

private:
  GstClockTime placed_ = GST_CLOCK_TIME_NONE;
  GstClockTime stamped_ = GST_CLOCK_TIME_NONE;
  GstClockTime held_at_ = GST_CLOCK_TIME_NONE, held_stamped_ = GST_CLOCK_TIME_NONE;
  GstClockTime held_step_ = 0;
  size_t held_ = 0;
};

} // namespace montage
