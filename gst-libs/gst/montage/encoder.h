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

/* True when `tags` (a file's global tags, from GstDiscoverer; may be NULL)
 * hold application-name = kMontageApplicationName: tag_as_montage() made it. */
bool tagged_as_montage(const GstTagList *tags);

} // namespace montage
