/* gst-montage: asking a downstream video encoder for a keyframe on a frame.
 *
 * montagescene (at a cut) and montageselect (at a switch) want the frame
 * they are about to push to start a GOP. GStreamer's way is a downstream
 * force-key-unit event (gst_video_event_new_downstream_force_key_unit())
 * pushed just before the frame; GstVideoEncoder matches it to a frame by
 * its running time, or to the next frame when the running time is
 * GST_CLOCK_TIME_NONE. On GStreamer 1.22 either kind may be dropped:
 * - timed: an encoder that offsets its PTS (x264enc and nvh264enc call
 *   gst_video_encoder_set_min_pts(), 1000 h) and has not output a frame yet
 *   has no output segment, so it records a key unit it forces then at the
 *   offset running time and drops later timed requests as older, until it
 *   forces one on a NONE request after its first output (with x264enc's
 *   defaults: a cut in the first 40-60 frames left every later cut without
 *   its keyframe);
 * - NONE: dropped while an earlier NONE request is pending, that is, until
 *   the encoder has output the keyframe it forced (cuts closer together
 *   than the encoder's latency).
 * So both are sent, the timed one first, carrying the same count. Where both
 * apply they name the same frame: one keyframe, and the encoder passes both
 * requests on downstream. A keyframe is lost only where both are dropped:
 * two requests before the encoder's first output frame, or a request while
 * the encoder holds an earlier one and the first output came after a
 * forced one (tests/test_montagescene.cpp, X264Keyframe*).
 *
 * Header-only (GStreamer core and video library alone), for the element
 * libraries. */
#pragma once

#include <gst/gst.h>
#include <gst/video/video.h>

namespace montage
{

/* Pushes the two force-key-unit requests (all-headers TRUE, `count`) for the
 * frame with `pts`, `stream_time` and `running_time` (ns; running_time
 * GST_CLOCK_TIME_NONE sends the NONE request alone) out of `srcpad`, from
 * the streaming thread, just before that frame. Returns whether any element
 * downstream handled one. */
inline bool push_key_unit_request(GstPad *srcpad, GstClockTime pts, GstClockTime stream_time,
                                  GstClockTime running_time, guint count)
{
  bool handled = false;
  if (GST_CLOCK_TIME_IS_VALID(running_time))
    handled = gst_pad_push_event(srcpad, gst_video_event_new_downstream_force_key_unit(
                                             pts, stream_time, running_time, TRUE, count));
  handled |= gst_pad_push_event(srcpad, gst_video_event_new_downstream_force_key_unit(
                                            pts, stream_time, GST_CLOCK_TIME_NONE, TRUE, count));
  return handled;
}

} // namespace montage
