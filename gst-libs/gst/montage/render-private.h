/* Internal to libgstmontage's rendering (render.cpp, render-cuts.cpp); not
 * installed. The two render paths share the encoder hook and the error
 * bookkeeping declared here. */
#pragma once

#include <gst/montage/render.h>

#include <string>

namespace montage {
namespace render_detail {

enum class Outcome { kDone, kEncoderFailed, kFailed };

/* Output frame k of `plan` starts at k * frame length, truncated to the ns:
 * the arithmetic of GStreamer's compositor and videorate, which both render
 * paths follow (the planner rounds instead: planner.h frame_time()). */
inline GstClockTime frame_time(guint64 k, const Plan &plan)
{
  return gst_util_uint64_scale(k, (guint64)plan.fps_d * GST_SECOND, plan.fps_n);
}

/* The output frame of `plan` nearest to `t`. */
inline guint64 frame_index(GstClockTime t, const Plan &plan)
{
  return gst_util_uint64_scale_round(t, plan.fps_n, (guint64)plan.fps_d * GST_SECOND);
}

/* Applies the encoder's properties (h264_encoder_properties()) to the
 * instance of `factory` when a bin creates it, and remembers that instance so
 * that an error can be attributed to the encoder. Connect
 * on_deep_element_added to a bin's "deep-element-added" signal with a
 * pointer to the watch as user data; the watch must outlive the bin. */
struct EncoderWatch {
  std::string factory;
  GstStructure *properties = nullptr; /* owned */
  GstElement *instance = nullptr;     /* not reffed: only compared against */
  EncoderWatch(const std::string &name, bool preview);
  ~EncoderWatch();
  EncoderWatch(const EncoderWatch &) = delete;
  EncoderWatch &operator=(const EncoderWatch &) = delete;
};
void on_deep_element_added(GstBin *bin, GstBin *sub_bin, GstElement *element, gpointer watch);

/* True when `obj` is `ancestor` or sits inside it. */
bool is_inside(GstObject *obj, GstElement *ancestor);

/* The cut-only render (render-cuts.cpp): one decoding pipeline per clip, kept
 * alive and seeked per segment, frames placed on the output grid by the
 * caller's thread, and the song decoded, cut to the plan's length and faded
 * out by hand; both encoded (`encoder` for video, the highest-ranked AAC
 * encoder for audio) and muxed to MP4 in `tmp_path`. On failure sets `error`; `failed_uri` names an
 * input that could not be decoded or sought. */
Outcome render_cuts(const Plan &plan, const SongAnalysis &song,
                    const std::vector<ClipAnalysis> &clips, const RenderSettings &settings,
                    const std::string &tmp_path, const std::string &encoder,
                    std::string &failed_uri, GError **error);

} // namespace render_detail
} // namespace montage
