/* H.264 encoder choice: hardware first, probed, with a fallback order.
 *
 * Which encoders exist depends on the machine: nvh264enc registers only where
 * NVENC answers (never on data-centre GPUs such as A100/H100), the VA encoders
 * only with a VA driver, x264enc and openh264enc everywhere their plugins are
 * installed. A factory being registered does not mean it works (a driver can
 * refuse a session), so every candidate is probed by encoding a few frames
 * before it is used, and a caller that fails later with one moves to the next.
 */
#pragma once

#include <gst/gst.h>

#include <string>
#include <vector>

namespace montage {

/* The preferred order of H.264 encoder factories, best first. Hardware
 * encoders come first (nvh264enc, vah264enc, vah264lpenc, vaapih264enc), then
 * x264enc and openh264enc; any other registered video/x-h264 encoder is
 * appended, those classed "Hardware" first, then by rank. Only factories that
 * are registered in this process are returned. Never fails; may be empty. */
std::vector<std::string> h264_encoder_candidates();

/* Encodes `n_frames` (>= 1) small frames through a fresh instance of
 * `factory` (videotestsrc ! videoconvert ! FACTORY ! fakesink) and returns
 * TRUE when the encoder produced H.264 output and reached EOS without error
 * within `timeout` ns. On failure sets `error` (may be NULL) to why. */
bool probe_h264_encoder(const std::string &factory, GError **error, guint n_frames = 3,
                        GstClockTime timeout = 10 * GST_SECOND);

/* The first of `candidates` that passes probe_h264_encoder(), or "" with
 * `error` set when none does. Each rejected factory and its reason is
 * appended to `rejected` (may be NULL) as "factory: reason". */
std::string pick_h264_encoder(const std::vector<std::string> &candidates, GError **error,
                              std::vector<std::string> *rejected = nullptr);

/* Property settings for `factory` as a GstStructure named after it whose
 * fields are all strings, to apply with gst_util_set_object_arg() on the
 * encoder instance (caller owns the result).
 * `preview` picks each encoder's fastest setting; otherwise a quality-oriented
 * constant-quality setting: x264enc pass=qual quantizer=21 speed-preset=veryfast
 * (x264's own CRF 21-23 guidance), fastest presets for hardware encoders left
 * at their defaults but rate control set to constant quality where the
 * encoder offers it. Returns NULL when the factory needs nothing set. */
GstStructure *h264_encoder_properties(const std::string &factory, bool preview);

/* The GST_TAG_APPLICATION_NAME every montage the library renders (both
 * render paths, render.h) and the tool's --live mix carry in their
 * container, so that a later run can tell its own output from footage
 * (gst-montage-1.0 skips such a file found in a clip folder). */
constexpr const char *kMontageApplicationName = "gst-montage";

/* Sets application-name = kMontageApplicationName on `muxer` through its
 * GstTagSetter interface (merge mode REPLACE), before it starts: mp4mux 1.22
 * writes it into the file's metadata (the movie's moov/udta/meta/ilst ©swr item and the XMP packet;
 * ©too holds the track's encoder=x264), and
 * qtdemux, and so GstDiscoverer, reads it back as application-name among
 * the global tags. The tags the streams bring (x264enc's encoder=x264) are
 * kept beside it. Does nothing when `muxer` is NULL or no tag setter. */
void tag_as_montage(GstElement *muxer);

/* Makes `muxer` (mp4mux; any element with "video_%u" request pads that
 * take H.264 in stream-format avc or avc3) list as sync samples only the
 * access units that hold an IDR picture: from now on, each buffer entering
 * one of its video pads (those it has and those added later) with
 * GST_BUFFER_FLAG_DELTA_UNIT unset, whose NAL units (length-prefixed, the
 * length size from the caps' codec_data, 4 without one) parse to the end of
 * the buffer and include none of type 5 (IDR slice), gets the flag set; no
 * byte of the stream changes. A buffer that does not parse, and any caps
 * but H.264 avc/avc3, are left as they come.
 *
 * Why: h264parse (which encodebin puts after the encoder, and the cut path
 * and --live do too) flags every access unit made of I slices as a
 * keyframe, and mp4mux writes each keyframe into the sync sample table
 * (stss). x264 codes a cut closer than its min-keyint to the last IDR (with
 * x264enc's defaults, 1 s of frames: most of a montage's cuts) as an
 * I-frame that is no IDR picture, which frames after it in decoding order
 * may use frames before it to decode: no point a reader can start decoding
 * from, which is what a sync sample promises (ISO/IEC 14496-12, 8.6.2;
 * 14496-15 signals other random access points through sample groups), and
 * x264enc itself flags only the IDR frames (x264's b_keyframe). The 20 s
 * demo montage had 22 sync samples, 11 of them no IDR frame (FFmpeg, which
 * reads the slices, counts 11 keyframes). A reader that trusts the table
 * decodes from such a frame without the frames it needs: fed the keyframes
 * alone, qtdemux ! avdec_h264 lost the montage's first IDR frame, and the
 * keyframe path of analyse_clip_file() (clipanalysis.h), which tells GOP
 * starts by the container's flags, gave up for full decoding ("keyframe
 * timestamps do not match") on the montages gst-montage wrote. Does nothing
 * when `muxer` is NULL. */
void sync_samples_at_idr_only(GstElement *muxer);

/* True when `tags` (a file's global tags, from GstDiscoverer; may be NULL)
 * hold application-name = kMontageApplicationName: tag_as_montage() made it. */
bool tagged_as_montage(const GstTagList *tags);

} // namespace montage
