/* gst-montage: whether an H.264 access unit holds only non-reference
 * pictures, read from its NAL unit headers. The clip analysis's keyframe
 * path (clipanalysis.cpp) decodes a clip's last GOP from its reference
 * pictures alone with it. Not installed.
 *
 * ITU-T H.264 (08/2021), 7.3.1 and 7.4.1: a NAL unit starts with one byte,
 * forbidden_zero_bit (1 bit), nal_ref_idc (2 bits), nal_unit_type (5 bits).
 * A coded slice (nal_unit_type 1 to 5) whose nal_ref_idc is 0 belongs to a
 * non-reference picture: it is never marked "used for reference" (8.2.5),
 * so no other picture's reference lists hold it (8.2.4), and an access
 * unit made only of such slices can be left out without changing how any
 * other picture decodes. x264's default B-frames that no frame refers to
 * are such pictures (about half the frames of a file x264 wrote with its
 * defaults: 832 of 1737 in the scene benchmark's longshots-gop50.mp4). MVC
 * and SVC NAL units (prefix 14, subset SPS 15, slice extensions 20 and 21)
 * make the access unit count as a reference: in MVC another view may
 * predict from a picture whose nal_ref_idc is 0 (Annex H, inter-view
 * prediction).
 *
 * Two stream formats, as h264parse gives them (caps "stream-format"):
 * "avc" and "avc3", each NAL unit after its size in a big-endian field of
 * 1, 2 or 4 bytes (lengthSizeMinusOne + 1 in the codec_data's
 * AVCDecoderConfigurationRecord, byte 4: ISO/IEC 14496-15, 5.3.3.1);
 * "byte-stream", each after a 00 00 01 start code (Annex B). Only
 * "alignment=au" (a buffer is one access unit). */
#pragma once

#include <gst/gst.h>

namespace montage
{

namespace h264_refs
{

/* How to find the NAL units of a buffer. */
struct Format {
  bool valid = false;    /* H.264 in whole access units, in a format below */
  guint length_size = 0; /* avc/avc3: bytes of each NAL unit's size; 0: byte-stream */
};

/* The format of `caps`: valid for video/x-h264 with alignment=au and
 * stream-format byte-stream, or avc/avc3 with a codec_data record of
 * configurationVersion 1 and a size field of 1, 2 or 4 bytes. Anything
 * else (other codecs, alignment=nal, a missing or short codec_data, NULL
 * caps) is not valid: such buffers are never taken as non-reference. */
inline Format format_from_caps(GstCaps *caps)
{
  Format f;
  if (!caps || gst_caps_get_size(caps) == 0)
    return f;
  const GstStructure *s = gst_caps_get_structure(caps, 0);
  if (!gst_structure_has_name(s, "video/x-h264"))
    return f;
  const gchar *alignment = gst_structure_get_string(s, "alignment");
  const gchar *stream = gst_structure_get_string(s, "stream-format");
  if (!alignment || !stream || g_strcmp0(alignment, "au") != 0)
    return f;
  if (g_strcmp0(stream, "byte-stream") == 0) {
    f.valid = true;
    return f;
  }
  if (g_strcmp0(stream, "avc") != 0 && g_strcmp0(stream, "avc3") != 0)
    return f;
  const GValue *v = gst_structure_get_value(s, "codec_data");
  if (!v || !GST_VALUE_HOLDS_BUFFER(v))
    return f;
  GstBuffer *record = gst_value_get_buffer(v);
  guint8 head[5];
  if (gst_buffer_extract(record, 0, head, sizeof head) != sizeof head || head[0] != 1)
    return f;
  const guint size = (head[4] & 0x03u) + 1;
  if (size == 3)
    return f;
  f.valid = true;
  f.length_size = size;
  return f;
}

namespace detail
{

/* What the NAL unit header `h` says of its access unit: -1, it must be
 * kept (a reference slice, an MVC/SVC unit, the forbidden bit set); 1, a
 * non-reference slice; 0, neither (parameter sets, SEI, delimiters). */
inline int judge(guint8 h)
{
  const guint type = h & 0x1fu;
  if (h & 0x80u)
    return -1;
  if (type == 14 || type == 15 || type == 20 || type == 21)
    return -1;
  if (type >= 1 && type <= 5)
    return (h & 0x60u) ? -1 : 1;
  return 0;
}

} // namespace detail

/* Whether the access unit in data[0, size) holds at least one coded slice
 * and only slices of nal_ref_idc 0 (so no picture refers to it), in
 * `format`. False where anything says otherwise or cannot be read: an
 * invalid format, a NAL unit size past the end, no slice at all, a header
 * with the forbidden bit set. Reads the headers only: a few bytes per NAL
 * unit for avc, a scan for start codes for byte-stream. */
inline bool non_reference(const guint8 *data, gsize size, const Format &format)
{
  if (!format.valid || !data)
    return false;
  int slices = 0;
  if (format.length_size > 0) {
    gsize pos = 0;
    while (pos < size) {
      if (size - pos < format.length_size)
        return false;
      gsize len = 0;
      for (guint k = 0; k < format.length_size; k++)
        len = (len << 8) | data[pos + k];
      pos += format.length_size;
      if (len == 0 || len > size - pos)
        return false;
      const int j = detail::judge(data[pos]);
      if (j < 0)
        return false;
      slices += j;
      pos += len;
    }
    return slices > 0;
  }
  for (gsize pos = 0; pos + 3 < size; pos++) {
    if (data[pos] != 0 || data[pos + 1] != 0 || data[pos + 2] != 1)
      continue;
    const int j = detail::judge(data[pos + 3]);
    if (j < 0)
      return false;
    slices += j;
    pos += 3;
  }
  return slices > 0;
}

} // namespace h264_refs

} // namespace montage
