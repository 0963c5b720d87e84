/* gst-montage: a helper shared by the montagebeat and montagescene
 * elements' caps checks (their "wrong format" hint). Not installed. */
#pragma once

#include <gst/gst.h>

namespace montage
{

/* Whether `caps` are those of a CAPS event already sent towards the sink
 * pad `sink`, so that an accept-caps check refusing them refuses the event
 * (upstream has chosen): the caps stored on the pad upstream of it. A src
 * pad stores a sticky event before it pushes it (gst_pad_push_event()), and
 * the core checks a CAPS event with an ACCEPT_CAPS query before it hands it
 * over (gstpad.c, pre_eventfunc_check()); an element that only asks (a
 * probe) has not stored the caps. Looked for through ghost pads, as the
 * check is made where the event first meets a proxy pad: after decodebin,
 * at its ghost src pad's internal pad, which asks this pad; inside a bin,
 * at the bin's ghost sink pad. */
inline bool caps_event_sent(GstPad *sink, GstCaps *caps)
{
  GstPad *pad = gst_pad_get_peer(sink);
  bool sent = false;
  for (int depth = 0; pad && !sent && depth < 32; depth++) {
    GstCaps *current = gst_pad_get_current_caps(pad);
    sent = current && gst_caps_is_equal(current, caps);
    if (current)
      gst_caps_unref(current);
    /* A ghost src pad: on to what its internal pad is linked to; an
     * internal pad (a ghost sink pad's): on to what the ghost pad is
     * linked to. */
    GstPad *next = nullptr;
    if (!sent && GST_IS_PROXY_PAD(pad)) {
      if (GstProxyPad *other = gst_proxy_pad_get_internal(GST_PROXY_PAD(pad))) {
        next = gst_pad_get_peer(GST_PAD(other));
        gst_object_unref(other);
      }
    }
    gst_object_unref(pad);
    pad = next;
  }
  if (pad)
    gst_object_unref(pad);
  return sent;
}

} // namespace montage
