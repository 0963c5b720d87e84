/* gst-montage: the keyframe stamps of MPEG-4 Part 2 with (unpacked)
 * B-frames in AVI, corrected on the decoder's input; shared by the clip
 * analysis (clipanalysis.cpp) and both render paths (render.cpp's
 * guard_packed_b_frames()). Not installed.
 *
 * AVI stores frames in decode order, one a chunk, with no presentation
 * time. avidemux (1.22) stamps a chunk's DTS with its index times the frame
 * duration, and gives a PTS only to keyframes, equal to that DTS. For
 * `ffmpeg -c:v mpeg4 -bf 2` (XVID or FMP4 tag; avenc_mpeg4 max-bframes=2
 * into avimux alike) the decode order is I0 P3 B1 B2 P6 B4 B5 P9 B7 B8 I12
 * B10 B11 ...: I12 is chunk 10, stamped 0.333 s at 30 fps where it is shown
 * at 0.400 s. GstVideoDecoder (1.22) stamps each decoded frame without a
 * PTS with the oldest DTS it holds, which is right here (the n-th frame out
 * gets the n-th chunk's time), but I12 comes out with its own PTS, earlier
 * than the frame before it: it is clamped to that frame's time (0.367 s
 * twice, "decreasing timestamp" in GST_DEBUG=videodecoder:6) and the
 * decoder gives up the oldest-DTS rule for the rest of the stream. Measured
 * on c07_xvid.avi (600 frames, a frame number drawn in each): frames 0-11
 * right, 12 one frame early (as 11), 24 on two frames early (as 23), the
 * last one right again; the analysis, placing frames with FramePlacer,
 * dropped 12 and 24 as repeats and put every cut after frame 24 two frames
 * early (76, 121, 158 where 78, 123, 160 are).
 *
 * So on a decoder's sink pad, for MPEG-4 Part 2 caps (video/mpeg
 * mpegversion=4, video/x-divx 4 or 5, video/x-xvid; not the Simple
 * profile: mpeg4_part2_with_b_frames()), a
 * keyframe loses its PTS when it is stamped at its DTS, delta frames without
 * a PTS came before it, every DTS since the last flush was later than the
 * one before (mpeg4videoparse splitting packed B-frames gives two frames one
 * DTS: packed streams are left to guard_packed_b_frames()), and it is not
 * the first frame after a flush or stream start (that one sets the
 * decoder's PTS-DTS delta, 0, which the oldest-DTS rule adds). The decoder
 * then stamps it by the oldest-DTS rule as every other frame. A stream
 * without B-frames is stamped as before (its keyframes' DTS are their
 * PTS). Left: after a flushing seek the first keyframe still comes out at
 * its DTS (two frames early for -bf 2) while the frames after it are right
 * (see docs/render.md). */
#pragma once

#include <gst/gst.h>

#include <memory>
#include <mutex>

namespace montage
{

namespace avi_keyframes_detail
{

struct State {
  std::mutex lock;
  bool active = false;        /* MPEG-4 Part 2 caps that may hold B-frames */
  bool first = true;          /* no frame since the last flush */
  bool untimed_delta = false; /* a delta frame without a PTS came */
  bool increasing = true;     /* every DTS later than the one before */
  GstClockTime last_dts = GST_CLOCK_TIME_NONE;
  void restart()
  {
    first = true;
    untimed_delta = false;
    increasing = true;
    last_dts = GST_CLOCK_TIME_NONE;
  }
};

/* Whether `caps` are MPEG-4 Part 2 video that may hold B-frames: video/mpeg
 * mpegversion=4 (not a system stream), video/x-xvid, or video/x-divx of
 * divxversion 4 or 5 (the DIVX and DX50 fourccs, MPEG-4 Part 2; riff-media
 * in gst-plugins-good 1.22 gives DIV3 to DIV6, MPG3 and AP41 divxversion 3,
 * Microsoft's MPEG-4 v3, which has no B-frames: OpenCV's vtest.avi, div3),
 * with no profile or a profile other than
 * "simple" (the Simple profile has no B-VOPs, ISO/IEC 14496-2 annex N).
 * Before, every video/x-divx counted, DivX 3 included. NULL or empty caps:
 * false. Whether such a stream does hold B-frames is read from its VOP
 * headers (holds_b_vop()). */
inline bool mpeg4_part2_with_b_frames(GstCaps *caps)
{
  if (!caps || gst_caps_get_size(caps) == 0)
    return false;
  const GstStructure *s = gst_caps_get_structure(caps, 0);
  gint version = 0;
  gboolean system = FALSE;
  const bool mpeg4 = (gst_structure_has_name(s, "video/mpeg") &&
                      gst_structure_get_int(s, "mpegversion", &version) && version == 4 &&
                      !(gst_structure_get_boolean(s, "systemstream", &system) && system)) ||
                     (gst_structure_has_name(s, "video/x-divx") &&
                      gst_structure_get_int(s, "divxversion", &version) && version >= 4) ||
                     gst_structure_has_name(s, "video/x-xvid");
  return mpeg4 && g_strcmp0(gst_structure_get_string(s, "profile"), "simple") != 0;
}

/* Whether `data` (`size` bytes of an MPEG-4 Part 2 elementary stream: one
 * AVI chunk as avidemux gives it, or what mpeg4videoparse makes of it)
 * holds a B-VOP. Each VOP starts with vop_start_code, the bytes 00 00 01
 * B6, and its next two bits are vop_coding_type: 00 I, 01 P, 10 B, 11 S
 * (sprite) (ISO/IEC 14496-2, 6.2.5 and 6.3.5). Start codes cannot occur
 * inside coded data (the standard's stuffing rules), so every 00 00 01 B6
 * in the buffer is a VOP; all are read, since a DivX/Xvid "packed
 * bitstream" chunk holds a P-VOP and the B-VOP after it (Megamind.avi).
 * A VOP header cut off after its start code counts as no B-VOP. Linear in
 * `size` (most bytes are skipped three at a time); no allocation. */
inline bool holds_b_vop(const guint8 *data, gsize size)
{
  constexpr guint8 kVopStartCode = 0xb6;
  constexpr guint8 kBVop = 2;
  for (gsize i = 0; data && i + 4 < size; i++) {
    if (data[i + 2] > 1) {
      i += 2; /* no start code prefix ends at i + 2 or before */
      continue;
    }
    if (data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 && data[i + 3] == kVopStartCode &&
        (data[i + 4] >> 6) == kBVop)
      return true;
  }
  return false;
}

inline GstPadProbeReturn probe(GstPad *, GstPadProbeInfo *info, gpointer data)
{
  State &st = **static_cast<std::shared_ptr<State> *>(data);
  std::lock_guard<std::mutex> hold(st.lock);
  if (info->type & (GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM | GST_PAD_PROBE_TYPE_EVENT_FLUSH)) {
    GstEvent *event = GST_PAD_PROBE_INFO_EVENT(info);
    if (GST_EVENT_TYPE(event) == GST_EVENT_CAPS) {
      GstCaps *caps = nullptr;
      gst_event_parse_caps(event, &caps);
      st.active = mpeg4_part2_with_b_frames(caps);
    } else if (GST_EVENT_TYPE(event) == GST_EVENT_FLUSH_STOP ||
               GST_EVENT_TYPE(event) == GST_EVENT_STREAM_START) {
      st.restart();
    }
    return GST_PAD_PROBE_OK;
  }
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
  if (!buf || !st.active)
    return GST_PAD_PROBE_OK;
  const GstClockTime dts = GST_BUFFER_DTS(buf), pts = GST_BUFFER_PTS(buf);
  const bool delta = GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT);
  if (GST_CLOCK_TIME_IS_VALID(st.last_dts) && (!GST_CLOCK_TIME_IS_VALID(dts) || dts <= st.last_dts))
    st.increasing = false;
  if (!delta && !st.first && st.untimed_delta && st.increasing && GST_CLOCK_TIME_IS_VALID(pts) &&
      pts == dts) {
    buf = gst_buffer_make_writable(buf);
    GST_BUFFER_PTS(buf) = GST_CLOCK_TIME_NONE;
    GST_PAD_PROBE_INFO_DATA(info) = buf;
    GST_LOG("AVI keyframe stamped at its DTS %" GST_TIME_FORMAT ": PTS taken off",
            GST_TIME_ARGS(dts));
  }
  if (delta && !GST_CLOCK_TIME_IS_VALID(pts))
    st.untimed_delta = true;
  st.first = false;
  st.last_dts = dts;
  return GST_PAD_PROBE_OK;
}

} // namespace avi_keyframes_detail

/* Installs the correction above on `decoder`'s sink pad (any video decoder:
 * it acts only on MPEG-4 Part 2 caps); once per decoder. Install it before
 * other probes on that pad that read the input stamps. */
inline void unstamp_avi_keyframes(GstElement *decoder)
{
  static const char *const kKey = "montage-unstamp-avi-keyframes";
  if (g_object_get_data(G_OBJECT(decoder), kKey))
    return;
  GstPad *sink = gst_element_get_static_pad(decoder, "sink");
  if (!sink)
    return;
  g_object_set_data(G_OBJECT(decoder), kKey, GINT_TO_POINTER(1));
  using avi_keyframes_detail::State;
  gst_pad_add_probe(
      sink,
      (GstPadProbeType)(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM |
                        GST_PAD_PROBE_TYPE_EVENT_FLUSH),
      avi_keyframes_detail::probe, new std::shared_ptr<State>(std::make_shared<State>()),
      [](gpointer p) { delete static_cast<std::shared_ptr<State> *>(p); });
  gst_object_unref(sink);
}

} // namespace montage
