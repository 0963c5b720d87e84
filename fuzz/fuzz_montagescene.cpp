/* libFuzzer target: the montagescene element through GstHarness, fed random
 * caps (any format of its template, 1..64 x 1..64, odd sizes included) and
 * random buffers: frames of the right size, short or long buffers, missing,
 * backward, huge or jumping timestamps, DISCONT, flushes, new segments, caps
 * changes mid-stream and EOS. The element may refuse input (flow error,
 * GST_ELEMENT_ERROR) but must never crash, read out of bounds or raise a GLib
 * critical or warning.
 *
 * Input: [format, width, height, fps] then ops, each one byte (low 3 bits:
 * what, high 3 bits: timestamp mode, see next_pts()). */
#include "fuzz_element_common.h"

#include <gst/video/video.h>

#include "gstmontagescene.h"

using montage_fuzz::Reader;

namespace
{

const char *const kFormats[] = {"GRAY8", "I420", "YV12", "NV12", "NV21", "Y42B",
                                "Y444",  "RGB",  "BGR",  "RGBx", "BGRx", "xRGB",
                                "xBGR",  "RGBA", "BGRA", "ARGB", "ABGR"};

GstCaps *random_caps(Reader &in, GstVideoInfo &info)
{
  const char *format = kFormats[in.byte() % G_N_ELEMENTS(kFormats)];
  const int width = 1 + in.byte() % 64, height = 1 + in.byte() % 64;
  const int fps = in.byte() % 61; /* 0: variable frame rate */
  GstCaps *caps = gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, format, "width",
                                      G_TYPE_INT, width, "height", G_TYPE_INT, height, "framerate",
                                      GST_TYPE_FRACTION, fps, 1, NULL);
  gst_video_info_from_caps(&info, caps);
  return caps;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  montage_fuzz::init_gstreamer(argc, argv);
  if (!GST_ELEMENT_REGISTER(montagescene, NULL))
    abort();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  Reader in(data, size);
  GstHarness *h = gst_harness_new("montagescene");
  GstVideoInfo info;
  montage_fuzz::start_stream(h, random_caps(in, info));
  GstClockTime clock = 0;
  const GstClockTime step = GST_SECOND / 25;
  int ops = 0;
  while (!in.done() && ops++ < 64) {
    const uint8_t op = in.byte();
    switch (op & 7) {
    case 0:
    case 1:
    case 2: { /* a whole frame */
      GstBuffer *b = montage_fuzz::make_buffer(in, info.size);
      GST_BUFFER_PTS(b) = montage_fuzz::next_pts(op, clock, step);
      if (op & 8)
        GST_BUFFER_FLAG_SET(b, GST_BUFFER_FLAG_DISCONT);
      gst_harness_push(h, b);
      break;
    }
    case 3: { /* a buffer of the wrong size */
      GstBuffer *b = montage_fuzz::make_buffer(in, in.u16() % (info.size + 64));
      GST_BUFFER_PTS(b) = montage_fuzz::next_pts(op, clock, step);
      gst_harness_push(h, b);
      break;
    }
    case 4: { /* a new segment, sometimes after a flush */
      if (op & 8) {
        gst_harness_push_event(h, gst_event_new_flush_start());
        gst_harness_push_event(h, gst_event_new_flush_stop(TRUE));
      }
      GstSegment segment;
      gst_segment_init(&segment, GST_FORMAT_TIME);
      segment.start = (GstClockTime)in.u16() * GST_MSECOND;
      if (op & 16) { /* reverse playback: GStreamer requires a stop then */
        segment.rate = -1.0;
        segment.stop = segment.start + 10 * GST_SECOND;
      }
      gst_harness_push_event(h, gst_event_new_segment(&segment));
      break;
    }
    case 5: /* caps change mid-stream */
      montage_fuzz::change_caps(h, random_caps(in, info));
      break;
    case 6: /* EOS (the element flushes what it holds), then go on */
      gst_harness_push_event(h, gst_event_new_eos());
      break;
    default:
      montage_fuzz::drain(h);
      break;
    }
  }
  gst_harness_push_event(h, gst_event_new_eos());
  montage_fuzz::drain(h);
  gst_harness_teardown(h);
  return 0;
}
