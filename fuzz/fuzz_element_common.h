/* Shared set-up of the element fuzzers (fuzz_montagebeat, fuzz_montagescene):
 * GStreamer initialised once without scanning any plugin (GstHarness needs
 * none: the element under test is registered statically), and every GLib
 * critical or warning made fatal, so that API misuse the fuzzer provokes is
 * reported as a crash with its stack. */
#pragma once

#include <gst/check/gstharness.h>
#include <gst/gst.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>

namespace montage_fuzz
{

inline void init_gstreamer(int *argc, char ***argv)
{
  /* The caller's environment wins (set them to load real plugins). */
  setenv("GST_PLUGIN_SYSTEM_PATH_1_0", "", 0);
  setenv("GST_PLUGIN_PATH_1_0", "", 0);
  setenv("GST_REGISTRY_FORK", "no", 0);
  gst_init(argc, argv);
  g_log_set_always_fatal((GLogLevelFlags)(G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING));
}

/* Reads the fuzzer's input front to back; past the end it yields zeros. */
class Reader
{
public:
  Reader(const uint8_t *data, size_t size) : data_(data), size_(size) {}
  bool done() const { return pos_ >= size_; }
  uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  guint16 u16() { return (guint16)(byte() | byte() << 8); }
  /* Up to `n` bytes of payload: fewer at the end of the input. */
  size_t take(size_t n, const uint8_t **out)
  {
    *out = data_ + pos_;
    const size_t got = n < size_ - pos_ ? n : size_ - pos_;
    pos_ += got;
    return got;
  }

private:
  const uint8_t *data_;
  size_t size_;
  size_t pos_ = 0;
};

/* A buffer of `size` bytes: the next input bytes, then a repeating pattern. */
inline GstBuffer *make_buffer(Reader &in, size_t size)
{
  GstBuffer *buffer = gst_buffer_new_allocate(NULL, size, NULL);
  GstMapInfo map;
  gst_buffer_map(buffer, &map, GST_MAP_WRITE);
  const uint8_t *src;
  const size_t got = in.take(size, &src);
  for (size_t i = 0; i < size; i++)
    map.data[i] = i < got ? src[i] : (uint8_t)(i * 37 + 11);
  gst_buffer_unmap(buffer, &map);
  return buffer;
}

/* What an op byte asks of the timestamps of the next buffer. */
inline GstClockTime next_pts(uint8_t op, GstClockTime &clock, GstClockTime step)
{
  switch (op >> 5) {
  case 0:
    return GST_CLOCK_TIME_NONE; /* no timestamp */
  case 1:
    clock = clock > 5 * step ? clock - 5 * step : 0; /* backwards */
    break;
  case 2:
    clock += 1000 * step; /* a gap */
    break;
  case 3:
    clock = G_MAXUINT64 - 2 * step; /* huge */
    break;
  default:
    clock += step;
    break;
  }
  return clock;
}

/* Starts the stream with `caps` (taken): stream-start, caps, a TIME segment.
 * Unlike gst_harness_set_src_caps() it tolerates caps the element refuses. */
inline void start_stream(GstHarness *h, GstCaps *caps)
{
  gst_harness_push_event(h, gst_event_new_stream_start("fuzz"));
  gst_harness_push_event(h, gst_event_new_caps(caps));
  gst_caps_unref(caps);
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  gst_harness_push_event(h, gst_event_new_segment(&segment));
}

/* A caps change mid-stream (refused after EOS, or by the element). */
inline void change_caps(GstHarness *h, GstCaps *caps)
{
  gst_harness_push_event(h, gst_event_new_caps(caps));
  gst_caps_unref(caps);
}

/* Pulls and drops whatever the harness collected. */
inline void drain(GstHarness *h)
{
  while (GstBuffer *b = gst_harness_try_pull(h))
    gst_buffer_unref(b);
  while (GstEvent *e = gst_harness_try_pull_event(h))
    gst_event_unref(e);
  while (GstEvent *e = gst_harness_try_pull_upstream_event(h))
    gst_event_unref(e);
}

} // namespace montage_fuzz
