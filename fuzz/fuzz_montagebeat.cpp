/* libFuzzer target: the montagebeat element through GstHarness, fed random
 * caps (each format of its template, 8-192 kHz, 1-8 channels) and random
 * audio buffers: any size (partial frames included), samples of any value
 * (NaN, infinities and denormals in the float formats), missing, backward,
 * huge or jumping timestamps, DISCONT, flushes, new segments, caps changes
 * mid-stream and EOS. The element may refuse input but must never crash, read
 * out of bounds or raise a GLib critical or warning.
 *
 * Input: [format, rate, channels, mode] then ops, each one byte (low 3 bits:
 * what, high 3 bits: timestamp mode, see next_pts()). */
#include "fuzz_element_common.h"

#include <gst/audio/audio.h>

#include "gstmontagebeat.h"

using montage_fuzz::Reader;

namespace
{

const char *const kFormats[] = {"F32LE", "F64LE", "S16LE", "S32LE"};
const int kRates[] = {8000, 11025, 16000, 22050, 44100, 48000, 96000, 192000};

GstCaps *random_caps(Reader &in, int &bpf, int &rate)
{
  const int f = in.byte() % G_N_ELEMENTS(kFormats);
  rate = kRates[in.byte() % G_N_ELEMENTS(kRates)];
  const int channels = 1 + in.byte() % 8;
  bpf = channels * (f == 1 ? 8 : f == 2 ? 2 : 4);
  return gst_caps_new_simple("audio/x-raw", "format", G_TYPE_STRING, kFormats[f], "rate",
                             G_TYPE_INT, rate, "channels", G_TYPE_INT, channels, "layout",
                             G_TYPE_STRING, "interleaved", NULL);
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  montage_fuzz::init_gstreamer(argc, argv);
  if (!GST_ELEMENT_REGISTER(montagebeat, NULL))
    abort();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  Reader in(data, size);
  GstHarness *h = gst_harness_new("montagebeat");
  int bpf = 4, rate = 44100;
  GstCaps *caps = random_caps(in, bpf, rate);
  g_object_set(h->element, "mode", (gint)(in.byte() % 2), NULL);
  montage_fuzz::start_stream(h, caps);
  GstClockTime clock = 0;
  int ops = 0;
  while (!in.done() && ops++ < 64) {
    const uint8_t op = in.byte();
    switch (op & 7) {
    case 0:
    case 1:
    case 2:
    case 3: { /* audio: whole frames, or any size with bit 3 */
      const size_t bytes = (op & 8) ? in.u16() % 8192 : (size_t)bpf * (1 + in.byte() * 8);
      GstBuffer *b = montage_fuzz::make_buffer(in, bytes);
      const GstClockTime step = gst_util_uint64_scale_int(bytes / bpf, GST_SECOND, rate);
      GST_BUFFER_PTS(b) = montage_fuzz::next_pts(op, clock, step);
      if (op & 16)
        GST_BUFFER_FLAG_SET(b, GST_BUFFER_FLAG_DISCONT);
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
      gst_harness_push_event(h, gst_event_new_segment(&segment));
      break;
    }
    case 5: /* caps change mid-stream */
      montage_fuzz::change_caps(h, random_caps(in, bpf, rate));
      break;
    case 6:
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
