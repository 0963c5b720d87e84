/* gst-montage: shot analysis of a video file (see clipanalysis.h). */
#include <gst/montage/clipanalysis.h>
#include <gst/montage/avikeyframes-private.h>
#include <gst/montage/frameplacer-private.h>
#include <gst/montage/h264refs-private.h>
#include <gst/montage/mp4priming.h>
#include <gst/montage/progress-meter.h>

#include <gst/pbutils/pbutils.h>

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>

GST_DEBUG_CATEGORY_STATIC(montage_clip_debug);
#define GST_CAT_DEFAULT montage_clip_debug

namespace montage
{

namespace
{
/* "montageclip": the keyframe path's plan (keyframes, runs, feed limits) at
 * DEBUG, each frame the refinement hands to a run or leaves at LOG. */
void init_debug()
{
  static gsize once = 0;
  if (g_once_init_enter(&once)) {
    GST_DEBUG_CATEGORY_INIT(montage_clip_debug, "montageclip", 0,
                            "gst-montage clip analysis (keyframe path)");
    g_once_init_leave(&once, 1);
  }
}
} // namespace

void link_or_drain(GstBin *bin, GstPad *pad, GstPad *sink, bool wanted, bool *linked)
{
  if (wanted && !*linked && gst_pad_link(pad, sink) == GST_PAD_LINK_OK) {
    *linked = true;
    return;
  }
  GstElement *drain = gst_element_factory_make("fakesink", nullptr);
  g_object_set(drain, "sync", FALSE, "async", FALSE, NULL);
  gst_bin_add(bin, drain);
  gst_element_sync_state_with_parent(drain);
  GstPad *drain_sink = gst_element_get_static_pad(drain, "sink");
  gst_pad_link(pad, drain_sink);
  gst_object_unref(drain_sink);
}

void explain_decode_error(GError *err, GError **error)
{
  if (err->domain == GST_STREAM_ERROR && err->code == GST_STREAM_ERROR_WRONG_TYPE) {
    g_propagate_error(error, err);
    return;
  }
  if (err->domain == GST_STREAM_ERROR && err->code == GST_STREAM_ERROR_TYPE_NOT_FOUND)
    g_set_error(error, err->domain, err->code, "not a media file GStreamer recognises (%s)",
                err->message);
  else if ((err->domain == GST_STREAM_ERROR && err->code == GST_STREAM_ERROR_CODEC_NOT_FOUND) ||
           err->domain == GST_CORE_ERROR)
    g_set_error(error, err->domain, err->code,
                "no decoder for its format is installed (%s); gstreamer1.0-libav and "
                "gstreamer1.0-plugins-bad/ugly cover most formats",
                err->message);
  else
    g_set_error(error, err->domain, err->code,
                "cannot be decoded, the file may be corrupt or truncated (%s)", err->message);
  g_error_free(err);
}

namespace
{
/* mp4_lacks_index() of the local file `uri` names (false for other URIs). */
bool lacks_index(const std::string &uri)
{
  gchar *path = g_filename_from_uri(uri.c_str(), nullptr, nullptr);
  const bool lacks = path && mp4_lacks_index(path);
  g_free(path);
  return lacks;
}

/* explain_decode_error() for the error `msg` a demuxer posted before it
 * exposed a stream, reading the file at `uri` for what qtdemux does not say:
 * an MP4 or MOV without its index ("This file contains no playable
 * streams.") is "cannot be decoded, the file is truncated or was not
 * finished (no index, the moov atom, was found)", GST_STREAM_ERROR_DEMUX. */
void explain_demuxer_error(GstMessage *msg, const std::string &uri, GError **error)
{
  GError *err = nullptr;
  gst_message_parse_error(msg, &err, nullptr);
  GstObject *src = GST_MESSAGE_SRC(msg);
  GstElementFactory *factory =
      src && GST_IS_ELEMENT(src) ? gst_element_get_factory(GST_ELEMENT(src)) : nullptr;
  if (factory && g_str_equal(gst_plugin_feature_get_name(GST_PLUGIN_FEATURE(factory)), "qtdemux") &&
      err->domain == GST_STREAM_ERROR && lacks_index(uri)) {
    g_set_error(error, GST_STREAM_ERROR, GST_STREAM_ERROR_DEMUX,
                "cannot be decoded, the file is truncated or was not finished (no index, the "
                "moov atom, was found)");
    g_error_free(err);
    return;
  }
  explain_decode_error(err, error);
}
} // namespace

bool frame_view_from_video_frame(GstVideoFrame *frame, FrameView &view)
{
  auto comp = [frame](int c) {
    return cv::Mat(GST_VIDEO_FRAME_COMP_HEIGHT(frame, c), GST_VIDEO_FRAME_COMP_WIDTH(frame, c),
                   CV_8UC1, GST_VIDEO_FRAME_COMP_DATA(frame, c),
                   (size_t)GST_VIDEO_FRAME_COMP_STRIDE(frame, c));
  };
  const bool full_range =
      GST_VIDEO_INFO_COLORIMETRY(&frame->info).range == GST_VIDEO_COLOR_RANGE_0_255;
  switch (GST_VIDEO_FRAME_FORMAT(frame)) {
  case GST_VIDEO_FORMAT_GRAY8:
    view = FrameView::gray(comp(0));
    view.full_range = full_range;
    return true;
  case GST_VIDEO_FORMAT_I420:
  case GST_VIDEO_FORMAT_YV12:
  case GST_VIDEO_FORMAT_Y42B:
  case GST_VIDEO_FORMAT_Y444:
    view = FrameView::yuv_planar(comp(GST_VIDEO_COMP_Y), comp(GST_VIDEO_COMP_U),
                                 comp(GST_VIDEO_COMP_V));
    view.full_range = full_range;
    return true;
  case GST_VIDEO_FORMAT_NV12:
  case GST_VIDEO_FORMAT_NV21: {
    cv::Mat uv(GST_VIDEO_FRAME_COMP_HEIGHT(frame, GST_VIDEO_COMP_U),
               GST_VIDEO_FRAME_COMP_WIDTH(frame, GST_VIDEO_COMP_U), CV_8UC2,
               GST_VIDEO_FRAME_PLANE_DATA(frame, 1), (size_t)GST_VIDEO_FRAME_PLANE_STRIDE(frame, 1));
    view = FrameView::yuv_semi_planar(comp(GST_VIDEO_COMP_Y), uv,
                                      GST_VIDEO_FRAME_COMP_POFFSET(frame, GST_VIDEO_COMP_V) == 0);
    view.full_range = full_range;
    return true;
  }
  default:
    break;
  }
  if (GST_VIDEO_INFO_IS_RGB(&frame->info) && GST_VIDEO_FRAME_N_PLANES(frame) == 1 &&
      GST_VIDEO_FRAME_COMP_DEPTH(frame, 0) == 8) {
    const int pstride = GST_VIDEO_FRAME_COMP_PSTRIDE(frame, GST_VIDEO_COMP_R);
    if (pstride != 3 && pstride != 4)
      return false;
    cv::Mat rgb(GST_VIDEO_FRAME_HEIGHT(frame), GST_VIDEO_FRAME_WIDTH(frame), CV_8UC(pstride),
                GST_VIDEO_FRAME_PLANE_DATA(frame, 0),
                (size_t)GST_VIDEO_FRAME_PLANE_STRIDE(frame, 0));
    view = FrameView::packed_rgb(rgb, GST_VIDEO_FRAME_COMP_POFFSET(frame, GST_VIDEO_COMP_R),
                                 GST_VIDEO_FRAME_COMP_POFFSET(frame, GST_VIDEO_COMP_G),
                                 GST_VIDEO_FRAME_COMP_POFFSET(frame, GST_VIDEO_COMP_B));
    return true;
  }
  return false;
}

namespace
{

/* The median of frame spacings `v` (reordered), GST_CLOCK_TIME_NONE for
 * none: the upper of the two middle ones for an even count. */
GstClockTime median_interval(std::vector<GstClockTime> &v)
{
  if (v.empty())
    return GST_CLOCK_TIME_NONE;
  auto mid = v.begin() + (long)v.size() / 2;
  std::nth_element(v.begin(), mid, v.end());
  return *mid;
}

/* A decoded frame's analysis views, as handed to a pass's consumer. */
struct Views {
  const cv::Mat &hsv, &luma, &bgr;
  GstClockTime stream_time, duration;
};

/* The first error a demuxer inside a decodebin posted, as that decodebin's
 * internal bus got it (Decoder::watch_child_bus()): shared by the Decoder
 * and the bus's handler, which may outlive it. */
struct DemuxerError {
  std::mutex lock;
  GstMessage *msg = nullptr;
  ~DemuxerError()
  {
    if (msg)
      gst_message_unref(msg);
  }
};

/* One decoding pipeline, reused by every pass over a file. */
class Decoder
{
public:
  ~Decoder()
  {
    if (pipeline_) {
      gst_element_set_state(pipeline_, GST_STATE_NULL);
      gst_object_unref(pipeline_);
    }
    forget_held();
  }

  /* What the video decoder is fed (a probe on its sink pad drops the rest):
   * kAll; kKeys, keyframes only (buffers without GST_BUFFER_FLAG_DELTA_UNIT),
   * recording each one's time (key_stamps()) and whether it starts a GOP
   * (gop_starts()); kSelected, the GOPs select() asked for. Dropping before
   * the decoder costs nothing; no seek is needed. */
  enum class Feed { kAll, kKeys, kSelected };

  /* Builds the pipeline and prerolls it; the preroll frame goes to consumer. */
  bool open(const std::string &uri, GstClockTime stall, Feed feed,
            const std::function<void(const Views &)> &consumer, GError **error)
  {
    stall_ = stall;
    feed_ = feed;
    consumer_ = consumer;
    uri_ = uri;
    gst_segment_init(&segment_, GST_FORMAT_UNDEFINED);
    gst_segment_init(&fed_segment_, GST_FORMAT_UNDEFINED);
    pipeline_ = gst_pipeline_new(nullptr);
    GstElement *src = gst_element_factory_make("uridecodebin", nullptr);
    GstElement *convert = gst_element_factory_make("videoconvert", nullptr);
    GstElement *filter = gst_element_factory_make("capsfilter", nullptr);
    GstElement *sink = gst_element_factory_make("fakesink", nullptr);
    if (!src || !convert || !filter || !sink) {
      for (GstElement *e : {src, convert, filter, sink})
        if (e)
          gst_object_unref(gst_object_ref_sink(e));
      g_set_error(error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
                  "uridecodebin, videoconvert, capsfilter or fakesink is missing: install "
                  "gstreamer1.0-plugins-base");
      return false;
    }
    GstCaps *caps = gst_caps_from_string(
        "video/x-raw(memory:SystemMemory),format={I420,NV12,YV12,NV21,Y42B,Y444,GRAY8}");
    g_object_set(filter, "caps", caps, NULL);
    gst_caps_unref(caps);
    g_object_set(src, "uri", uri.c_str(), NULL);
    g_object_set(sink, "sync", FALSE, NULL);
    gst_bin_add_many(GST_BIN(pipeline_), src, convert, filter, sink, NULL);
    gst_element_link_many(convert, filter, sink, NULL);
    chain_ = convert;
    g_signal_connect(src, "pad-added", G_CALLBACK(on_pad_added), this);
    g_signal_connect(pipeline_, "deep-element-added", G_CALLBACK(on_element_added), this);
    g_signal_connect(src, "no-more-pads", G_CALLBACK(on_no_more_pads), this);
    GstPad *pad = gst_element_get_static_pad(sink, "sink");
    gst_pad_add_probe(
        pad, (GstPadProbeType)(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
        on_data, this, nullptr);
    gst_object_unref(pad);
    gst_element_set_state(pipeline_, GST_STATE_PAUSED);
    const bool ok = wait(GST_MESSAGE_ASYNC_DONE, error);
    std::lock_guard<std::mutex> guard(lock_);
    consumer_ = nullptr;
    return ok;
  }

  /* The duration a duration query on the whole pipeline answers now (ns; as
   * GstBin answers it, the longest its sinks' streams state, every stream
   * of the file having one: the video's and the drained ones), NONE when
   * none answers or it is 0. After open(), this is what GstDiscoverer reads
   * first on its own pipeline (stated_length()). */
  GstClockTime duration_now()
  {
    gint64 d = -1;
    return gst_element_query_duration(pipeline_, GST_FORMAT_TIME, &d) && d > 0
               ? (GstClockTime)d
               : GST_CLOCK_TIME_NONE;
  }

  /* Whether tsdemux reads the file (ClipAnalysePath::kFullSeekTimes). Set
   * when decodebin adds it, before the preroll open() waits for. */
  bool transport_stream()
  {
    std::lock_guard<std::mutex> guard(lock_);
    return transport_stream_;
  }

  /* Whether avidemux has fed the first video decoder a B-VOP of MPEG-4
   * Part 2 (ClipAnalysePath::kFullAviBFrames): on_compressed() reads the
   * VOP headers of every buffer of a Feed::kKeys pass, delta units
   * included, while the decoder's caps may hold B-frames
   * (avi_keyframes_detail::mpeg4_part2_with_b_frames(): not the Simple
   * profile, not DivX 3), until it finds one
   * (avi_keyframes_detail::holds_b_vop()). False on the other passes' and
   * every other stream's. After open() it tells what the buffers up to the
   * preroll held (at least the first keyframe; how many delta units more
   * depends on the decoder's delay), after a pass run to its end what the
   * whole stream holds. */
  bool avi_b_frames()
  {
    std::lock_guard<std::mutex> guard(lock_);
    return avi_ && b_vop_seen_;
  }
  /* From now on, a B-VOP that avi_b_frames() counts ends the current pass
   * (as stop_pass() does) once it is seen, and so does every buffer fed
   * after it: its keyframes would be given up anyway. */
  void stop_at_b_frames()
  {
    std::lock_guard<std::mutex> guard(lock_);
    stop_at_b_vop_ = true;
  }

  /* Whether the video decoder's input caps say codec-alpha=true (VP8 or
   * VP9 with an alpha channel, as WebM carries it: each frame's alpha
   * plane a second VP8/VP9 frame in its BlockAdditional; ffmpeg
   * libvpx-vp9 with yuva420p): ClipAnalysePath::kFullAlpha. Set by the
   * caps, before the first buffer: from then on Feed::kKeys feeds every
   * buffer, so the preroll cannot wait on it (see kFullAlpha). */
  bool alpha()
  {
    std::lock_guard<std::mutex> guard(lock_);
    return alpha_;
  }

  /* Whether the last open() or pass() failed because no frame came for
   * the stall time (the "decoding made no progress" error), not on an
   * error a GStreamer element posted. */
  bool stalled()
  {
    std::lock_guard<std::mutex> guard(lock_);
    return stalled_;
  }

  bool seekable()
  {
    GstQuery *q = gst_query_new_seeking(GST_FORMAT_TIME);
    gboolean seekable = FALSE;
    if (gst_element_query(pipeline_, q))
      gst_query_parse_seeking(q, nullptr, &seekable, nullptr, nullptr);
    gst_query_unref(q);
    return seekable;
  }

  /* Runs from the current position (seek == false) or after a flushing seek
   * to [start, stop) with `flags`, to EOS, handing each frame to consumer. */
  bool pass(bool seek, GstSeekFlags flags, GstClockTime start, GstClockTime stop,
            const std::function<void(const Views &)> &consumer, GError **error)
  {
    GstEvent *event = nullptr;
    {
      std::lock_guard<std::mutex> guard(lock_);
      consumer_ = consumer;
      stopped_ = false;
      if (seek) {
        forget_held();
        done_through_ = -1;
        /* SET with -1 clears an earlier pass's stop (NONE would keep it). */
        event = gst_event_new_seek(1.0, GST_FORMAT_TIME, (GstSeekFlags)(GST_SEEK_FLAG_FLUSH | flags),
                                   GST_SEEK_TYPE_SET, (gint64)start, GST_SEEK_TYPE_SET,
                                   GST_CLOCK_TIME_IS_VALID(stop) ? (gint64)stop : -1);
        /* Frames count only once the segment this seek makes has arrived:
         * a stopped pass's frames still in flight are ignored. */
        wanted_seqnum_ = gst_event_get_seqnum(event);
      }
    }
    if (event && !gst_element_send_event(pipeline_, event)) {
      g_set_error(error, GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED, "the file cannot be seeked");
      return false;
    }
    /* The pass ends on a "montage-pass-done" message carrying this pass's
     * seek seqnum (posted by stop_pass() or by the probe when the EOS after
     * this seek's segment reaches the sink): a message of an earlier pass is
     * skipped, and this pass's end is never mistaken for a stale one (with a
     * one-frame file the EOS can come before the seek call returns). */
    gst_element_set_state(pipeline_, GST_STATE_PLAYING);
    bool ok = wait(GST_MESSAGE_APPLICATION, error);
    std::lock_guard<std::mutex> guard(lock_);
    consumer_ = nullptr;
    stopped_ = false;
    return ok;
  }

  /* From a consumer: this pass has seen enough; later frames are ignored
   * and pass() returns (the next pass's flushing seek discards the rest). */
  void stop_pass()
  {
    stopped_ = true;
    post_pass_done();
  }

  /* Whether a probe sits before a video decoder (Feed works). */
  bool feeding() const { return fed_; }
  /* Whether the video went to an image decoder (klass Codec/Decoder/Image:
   * jpegdec for Motion JPEG, pngdec): every frame stands alone, a keyframe,
   * and no probe is put before it. */
  bool image_decoder()
  {
    std::lock_guard<std::mutex> guard(lock_);
    return image_decoder_;
  }
  /* Feed::kKeys: each keyframe's DTS (or PTS) as it entered the decoder. */
  std::vector<GstClockTime> key_stamps()
  {
    std::lock_guard<std::mutex> guard(lock_);
    return key_stamps_;
  }
  /* Feed::kKeys from the next pass that seeks on feeds only the keyframes
   * that start a GOP, and lists them afresh (key_stamps(), gop_starts(),
   * fed_key_time()). The lists start again at the seek's segment: a
   * stopped pass's buffers still reach the decoder until its flush. */
  void keys_again_gop_starts_only()
  {
    std::lock_guard<std::mutex> guard(lock_);
    keys_again_ = true;
  }
  /* Feed::kKeys: for each keyframe of key_stamps(), whether the frames
   * after it decode without the frames before it (starts_gop()): false
   * for an I-frame that is no sync point of the container. */
  std::vector<bool> gop_starts()
  {
    std::lock_guard<std::mutex> guard(lock_);
    return gop_starts_;
  }
  /* Feed::kKeys after keys_again_gop_starts_only(): the stream times (as
   * fed_key_time()) of the keyframes left out as starting no GOP, in the
   * order they came. */
  std::vector<GstClockTime> skipped_key_times()
  {
    std::lock_guard<std::mutex> guard(lock_);
    return skipped_key_times_;
  }
  /* From a consumer (which runs under lock_), Feed::kKeys: the stream time
   * of the PTS (the DTS where it has none) of the k-th keyframe fed to the
   * decoder, GST_CLOCK_TIME_NONE when it had neither or k are not fed yet. */
  GstClockTime fed_key_time(size_t k) const
  {
    return k < key_times_.size() ? key_times_[k] : GST_CLOCK_TIME_NONE;
  }
  /* Feed::kSelected from now on: of the keyframes key_stamps() listed, the
   * GOP of keyframe k (it and the delta units after it) is fed when want(k),
   * asked once as keyframe k reaches the decoder (from the streaming thread;
   * several pipelines may share out GOPs through it), its delta units only
   * up to (DTS or PTS) limits[k] when that is valid; a keyframe not listed
   * is fed (the safe side). A delta unit decoded after that time cannot be
   * a reference for a frame shown before it, so the frames before the
   * limit stay exact. */
  void select(std::function<bool(size_t)> want, const std::vector<GstClockTime> &limits)
  {
    std::lock_guard<std::mutex> guard(lock_);
    want_ = std::move(want);
    limits_ = limits;
    feed_ = Feed::kSelected;
    current_key_ = -1;
    done_through_ = -1;
    references_from_ = -1;
    references_time_ = GST_CLOCK_TIME_NONE;
  }
  /* Feed::kSelected, after select(): in the GOP of keyframe k of
   * key_stamps() and every GOP after it, the delta units that hold only
   * non-reference pictures (H.264: h264_refs::non_reference()) are not fed,
   * so only the pictures others refer to are decoded, each as it would be
   * with every frame fed. `from` is keyframe k's stream time: the frames
   * from it on are no neighbours (frame_intervals() leaves them out; see
   * add_frame_times()). A buffer left out still counts for end() and
   * last_start() (its PTS and duration as fed), and its stream time is
   * listed (left_out_times()). Other codecs, or H.264 that h264_refs
   * cannot read (h264_refs::format_from_caps()), are fed as select() says. */
  void references_only_from(size_t k, GstClockTime from)
  {
    std::lock_guard<std::mutex> guard(lock_);
    references_from_ = (int)k;
    references_time_ = from;
    left_out_.clear();
  }
  /* The stream times (PTS) of the buffers references_only_from() left out
   * since, in the order they came, this pipeline's and those absorb()ed;
   * GST_CLOCK_TIME_NONE for one without a PTS. */
  std::vector<GstClockTime> left_out_times()
  {
    std::lock_guard<std::mutex> guard(lock_);
    return left_out_;
  }
  /* Adds the spacings of `times` (frame stream times, in order: the frames
   * of a GOP decoded from its reference pictures with those left out) to
   * frame_intervals(). */
  void add_frame_times(const std::vector<GstClockTime> &times)
  {
    std::lock_guard<std::mutex> guard(lock_);
    for (size_t k = 1; k < times.size(); k++)
      intervals_.push_back(times[k] - times[k - 1]);
  }
  /* Of the delta units a Feed::kKeys pass saw (and dropped), the share
   * that held only non-reference H.264 pictures, read from the first
   * kReferenceSample of them; 0 for other codecs or where none was seen. */
  double non_reference_share()
  {
    std::lock_guard<std::mutex> guard(lock_);
    return deltas_read_ > 0 ? (double)non_reference_deltas_ / (double)deltas_read_ : 0.0;
  }
  /* The same on a pipeline not yet opened, with the keyframes another
   * pipeline's Feed::kKeys pass listed (key_stamps()); open() it with
   * Feed::kSelected. */
  void select(std::function<bool(size_t)> want, const std::vector<GstClockTime> &limits,
              const std::vector<GstClockTime> &stamps)
  {
    {
      std::lock_guard<std::mutex> guard(lock_);
      key_stamps_ = stamps;
    }
    select(std::move(want), limits);
  }
  /* Adds what `other` (another pipeline over the same file, done) decoded to
   * this one's counts: frames, untimed frames, first and last frame times
   * and frame intervals. */
  void absorb(Decoder &other)
  {
    std::scoped_lock guard(lock_, other.lock_);
    frames_ += other.frames_;
    untimed_ += other.untimed_;
    auto earliest = [](GstClockTime a, GstClockTime b) {
      return !GST_CLOCK_TIME_IS_VALID(a) ? b : !GST_CLOCK_TIME_IS_VALID(b) ? a : std::min(a, b);
    };
    auto latest = [](GstClockTime a, GstClockTime b) {
      return !GST_CLOCK_TIME_IS_VALID(a) ? b : !GST_CLOCK_TIME_IS_VALID(b) ? a : std::max(a, b);
    };
    first_ = earliest(first_, other.first_);
    end_ = latest(end_, other.end_);
    last_start_ = latest(last_start_, other.last_start_);
    intervals_.insert(intervals_.end(), other.intervals_.begin(), other.intervals_.end());
    left_out_.insert(left_out_.end(), other.left_out_.begin(), other.left_out_.end());
  }
  /* From a consumer: the GOPs up to keyframe k need nothing more (until the
   * next pass that seeks). */
  void done_through(int k) { done_through_ = std::max(done_through_, k); }

  GstClockTime first_frame() const { return first_; }
  GstClockTime end() const { return end_; }
  /* The latest frame start seen, all passes. */
  GstClockTime last_start() const { return last_start_; }
  /* Frames decoded without a timestamp, all passes. */
  guint64 untimed_frames() const { return untimed_; }
  const GstVideoInfo *info() const { return have_info_ ? &info_ : nullptr; }
  guint64 frames() const { return frames_; }
  /* Median spacing of consecutive frames decoded in passes that feed whole
   * GOPs (all passes but the keyframes'), GST_CLOCK_TIME_NONE when none. */
  GstClockTime median_frame_interval()
  {
    std::lock_guard<std::mutex> guard(lock_);
    return median_interval(intervals_);
  }
  /* The spacings median_frame_interval() takes its median of. */
  std::vector<GstClockTime> frame_intervals()
  {
    std::lock_guard<std::mutex> guard(lock_);
    return intervals_;
  }
  std::function<void(GstClockTime, GstClockTime)> progress;
  /* Set before open(): the video decoder's "max-threads" (libav's
   * decoders), 0 leaving the decoder's own choice. */
  guint decoder_threads = 0;

private:
  static void on_pad_added(GstElement *, GstPad *pad, gpointer data)
  {
    Decoder *self = static_cast<Decoder *>(data);
    GstCaps *caps = gst_pad_get_current_caps(pad);
    if (!caps)
      caps = gst_pad_query_caps(pad, nullptr);
    const bool video =
        g_str_has_prefix(gst_structure_get_name(gst_caps_get_structure(caps, 0)), "video/");
    gst_caps_unref(caps);
    std::lock_guard<std::mutex> guard(self->lock_);
    self->pad_seen_ = true;
    GstPad *sink = gst_element_get_static_pad(self->chain_, "sink");
    link_or_drain(GST_BIN(self->pipeline_), pad, sink, video, &self->linked_);
    gst_object_unref(sink);
  }

  /* decodebin drops the errors of an element it is still setting up (its
   * "filtered" elements: it tries the next candidate when one fails to
   * start). A demuxer that works in pull mode (qtdemux, matroskademux on a
   * local file) reads the file from its own thread as soon as it is
   * activated, before decodebin's state change of it returns: when it gives
   * up at once (an MP4 without its index, a WebM cut after its header), its
   * error is dropped on some runs and on others not, and nothing else ends
   * the preroll (GST_DEBUG=decodebin:5 shows "Forwarding msg error" only on
   * the runs that end). This handler takes the place of GstBin's on the
   * internal bus of each decodebin and does what GstBin's does (hands the
   * message to the bin's handle_message), after keeping a demuxer's first
   * error for wait() (lost_demuxer_error()). */
  struct ChildBus {
    GstBin *bin; /* not a reference: the bus is the bin's own */
    std::shared_ptr<DemuxerError> kept;
  };
  static GstBusSyncReply on_child_message(GstBus *, GstMessage *msg, gpointer data)
  {
    ChildBus *child = static_cast<ChildBus *>(data);
    GstObject *src = GST_MESSAGE_SRC(msg);
    GstElementFactory *factory =
        src && GST_IS_ELEMENT(src) ? gst_element_get_factory(GST_ELEMENT(src)) : nullptr;
    const gchar *klass =
        factory ? gst_element_factory_get_metadata(factory, GST_ELEMENT_METADATA_KLASS) : nullptr;
    if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR && klass && strstr(klass, "Demux")) {
      std::lock_guard<std::mutex> guard(child->kept->lock);
      if (!child->kept->msg)
        child->kept->msg = gst_message_ref(msg);
    }
    GstBinClass *bin_class = GST_BIN_GET_CLASS(child->bin);
    if (bin_class->handle_message)
      bin_class->handle_message(child->bin, msg);
    else
      gst_message_unref(msg);
    return GST_BUS_DROP;
  }
  void watch_child_bus(GstBin *bin)
  {
    ChildBus *child = new ChildBus{bin, demuxer_error_};
    gst_bus_set_sync_handler(bin->child_bus, on_child_message, child,
                             [](gpointer data) { delete static_cast<ChildBus *>(data); });
  }

  /* The error a demuxer posted before any stream was exposed, which
   * decodebin dropped (see ChildBus): kept, no stream seen, and the
   * demuxer's task (which reads the file in pull mode) no longer running,
   * so it will post nothing more. NULL otherwise (a demuxer decodebin took
   * out, to try another, has no task left). */
  GstMessage *lost_demuxer_error()
  {
    GstMessage *msg = nullptr;
    {
      std::lock_guard<std::mutex> guard(demuxer_error_->lock);
      if (demuxer_error_->msg)
        msg = gst_message_ref(demuxer_error_->msg);
    }
    if (!msg)
      return nullptr;
    bool stopped = false;
    GstPad *pad = gst_element_get_static_pad(GST_ELEMENT(GST_MESSAGE_SRC(msg)), "sink");
    if (pad) {
      GST_OBJECT_LOCK(pad);
      GstTask *task = GST_PAD_TASK(pad);
      stopped = task && gst_task_get_state(task) != GST_TASK_STARTED;
      GST_OBJECT_UNLOCK(pad);
      gst_object_unref(pad);
    }
    if (stopped)
      return msg;
    gst_message_unref(msg);
    return nullptr;
  }

  static void on_element_added(GstBin *, GstBin *, GstElement *element, gpointer data)
  {
    Decoder *self = static_cast<Decoder *>(data);
    GstElementFactory *factory = gst_element_get_factory(element);
    if (factory && GST_IS_BIN(element) &&
        g_str_equal(gst_plugin_feature_get_name(GST_PLUGIN_FEATURE(factory)), "decodebin")) {
      self->watch_child_bus(GST_BIN(element));
      return;
    }
    if (factory &&
        g_str_equal(gst_plugin_feature_get_name(GST_PLUGIN_FEATURE(factory)), "tsdemux")) {
      std::lock_guard<std::mutex> guard(self->lock_);
      self->transport_stream_ = true;
      return;
    }
    if (factory &&
        g_str_equal(gst_plugin_feature_get_name(GST_PLUGIN_FEATURE(factory)), "avidemux")) {
      std::lock_guard<std::mutex> guard(self->lock_);
      self->avi_ = true;
      return;
    }
    const gchar *klass =
        factory ? gst_element_factory_get_metadata(factory, GST_ELEMENT_METADATA_KLASS) : nullptr;
    if (klass && strstr(klass, "Parser") && strstr(klass, "Video")) {
      /* The demuxer's flags, as they enter the first video parser. */
      GstPad *pad = gst_element_get_static_pad(element, "sink");
      std::lock_guard<std::mutex> guard(self->lock_);
      if (pad && !self->parsed_) {
        gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, on_demuxed, self, nullptr);
        self->parsed_ = true;
      }
      if (pad)
        gst_object_unref(pad);
      return;
    }
    if (klass && strstr(klass, "Decoder") && strstr(klass, "Image")) {
      std::lock_guard<std::mutex> guard(self->lock_);
      self->image_decoder_ = true;
      return;
    }
    if (!klass || !strstr(klass, "Decoder") || !strstr(klass, "Video"))
      return;
    GstPad *pad = gst_element_get_static_pad(element, "sink");
    if (!pad)
      return;
    if (self->decoder_threads > 0 &&
        g_object_class_find_property(G_OBJECT_GET_CLASS(element), "max-threads"))
      g_object_set(element, "max-threads", (gint)self->decoder_threads, NULL);
    std::lock_guard<std::mutex> guard(self->lock_);
    if (!self->fed_) {
      gst_pad_add_probe(
          pad, (GstPadProbeType)(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
          on_compressed, self, nullptr);
      self->fed_ = true;
    }
    /* After on_compressed(), which keeps reading the demuxer's stamps. */
    unstamp_avi_keyframes(element);
    gst_object_unref(pad);
  }

  /* Before the first video parser: records whether the demuxer flagged each
   * buffer as a keyframe (see starts_gop()). */
  static GstPadProbeReturn on_demuxed(GstPad *, GstPadProbeInfo *info, gpointer data)
  {
    Decoder *self = static_cast<Decoder *>(data);
    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
    std::lock_guard<std::mutex> guard(self->lock_);
    self->demuxed_.push_back(
        {GST_BUFFER_DTS_OR_PTS(buf), !GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT)});
    if (self->demuxed_.size() > kDemuxedKept)
      self->demuxed_.pop_front();
    return GST_PAD_PROBE_OK;
  }

  /* Under lock_: whether `buf`, a keyframe to its parser, starts a GOP
   * that decodes without the GOPs before it. A parser flags every frame
   * made of intra slices as a keyframe (h264parse: no
   * GST_BUFFER_FLAG_DELTA_UNIT), but a non-IDR I-frame (x264 puts one at a
   * scene change closer than min-keyint to the last keyframe) starts no
   * such GOP: the frames after it may refer to frames before it, and the
   * decoder may drop them. The demuxer's flag says what the container's
   * index does (MP4's sync samples, Matroska's keyframes), so such a frame
   * is one the demuxer flagged as a delta unit. A demuxer that flags
   * nothing (tsdemux), or a buffer the parser retimed, leaves the parser's
   * choice. */
  bool starts_gop(GstBuffer *buf) const
  {
    const GstClockTime t = GST_BUFFER_DTS_OR_PTS(buf);
    if (!GST_CLOCK_TIME_IS_VALID(t))
      return true;
    for (auto it = demuxed_.rbegin(); it != demuxed_.rend(); ++it)
      if (it->first == t)
        return it->second;
    return true;
  }

  /* Under lock_: the stream time of `buf`'s PTS (its DTS where it has
   * none) in the segment fed to the decoder, GST_CLOCK_TIME_NONE without
   * either. */
  GstClockTime fed_stream_time(GstBuffer *buf) const
  {
    GstClockTime t = GST_BUFFER_PTS_IS_VALID(buf) ? GST_BUFFER_PTS(buf) : GST_BUFFER_DTS(buf);
    if (GST_CLOCK_TIME_IS_VALID(t) && fed_segment_.format == GST_FORMAT_TIME)
      t = gst_segment_to_stream_time(&fed_segment_, GST_FORMAT_TIME, t);
    return t;
  }

  /* Before the decoder: Feed. */
  static GstPadProbeReturn on_compressed(GstPad *, GstPadProbeInfo *info, gpointer data)
  {
    Decoder *self = static_cast<Decoder *>(data);
    std::lock_guard<std::mutex> guard(self->lock_);
    if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
      GstEvent *ev = GST_PAD_PROBE_INFO_EVENT(info);
      if (GST_EVENT_TYPE(ev) == GST_EVENT_CAPS) {
        GstCaps *caps = nullptr;
        gst_event_parse_caps(ev, &caps);
        self->read_vops_ = avi_keyframes_detail::mpeg4_part2_with_b_frames(caps);
        self->h264_ = h264_refs::format_from_caps(caps);
        gboolean alpha = FALSE;
        if (gst_structure_get_boolean(gst_caps_get_structure(caps, 0), "codec-alpha", &alpha) &&
            alpha)
          self->alpha_ = true;
      } else if (GST_EVENT_TYPE(ev) == GST_EVENT_SEGMENT) {
        gst_event_copy_segment(ev, &self->fed_segment_);
        if (self->keys_again_) {
          self->key_stamps_.clear();
          self->key_times_.clear();
          self->gop_starts_.clear();
          self->skipped_key_times_.clear();
          self->gop_starts_only_ = true;
          self->keys_again_ = false;
        }
      }
      return GST_PAD_PROBE_OK;
    }
    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
    const bool key = !GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT);
    switch (self->feed_) {
    case Feed::kAll:
      return GST_PAD_PROBE_OK;
    case Feed::kKeys: {
      if (self->alpha_)
        return GST_PAD_PROBE_OK;
      if (self->avi_ && self->read_vops_)
        self->read_vop_types(buf);
      if (!key && self->h264_.valid && self->deltas_read_ < kReferenceSample) {
        self->deltas_read_++;
        self->non_reference_deltas_ += self->non_reference(buf) ? 1 : 0;
      }
      const bool starts = key && self->starts_gop(buf);
      if (key && !starts && self->gop_starts_only_)
        self->skipped_key_times_.push_back(self->fed_stream_time(buf));
      if (!key || (self->gop_starts_only_ && !starts))
        return GST_PAD_PROBE_DROP;
      self->key_stamps_.push_back(GST_BUFFER_DTS_OR_PTS(buf));
      self->gop_starts_.push_back(starts);
      self->key_times_.push_back(self->fed_stream_time(buf));
      return GST_PAD_PROBE_OK;
    }
    case Feed::kSelected:
      if (key) {
        const auto it = std::find(self->key_stamps_.begin(), self->key_stamps_.end(),
                                  GST_BUFFER_DTS_OR_PTS(buf));
        self->current_key_ =
            it == self->key_stamps_.end() ? -2 : (int)(it - self->key_stamps_.begin());
        self->current_wanted_ = self->current_key_ < 0 || self->want_((size_t)self->current_key_);
        self->current_limit_ =
            self->current_key_ < 0 ? GST_CLOCK_TIME_NONE : self->limits_[self->current_key_];
      }
      if (!self->current_wanted_ ||
          (self->current_key_ >= 0 && self->current_key_ <= self->done_through_))
        return GST_PAD_PROBE_DROP;
      if (!key && GST_CLOCK_TIME_IS_VALID(self->current_limit_) &&
          GST_BUFFER_DTS_OR_PTS(buf) >= self->current_limit_)
        return GST_PAD_PROBE_DROP;
      if (!key && self->references_from_ >= 0 && self->current_key_ >= self->references_from_ &&
          self->non_reference(buf)) {
        self->count_left_out(buf);
        return GST_PAD_PROBE_DROP;
      }
      return GST_PAD_PROBE_OK;
    }
    return GST_PAD_PROBE_OK;
  }

  /* Under lock_: whether `buf` holds only non-reference H.264 pictures
   * (h264_refs::non_reference(), in the decoder's input format). */
  bool non_reference(GstBuffer *buf) const
  {
    if (!h264_.valid)
      return false;
    GstMapInfo map;
    if (!gst_buffer_map(buf, &map, GST_MAP_READ))
      return false;
    const bool r = h264_refs::non_reference(map.data, map.size, h264_);
    gst_buffer_unmap(buf, &map);
    return r;
  }
  /* Under lock_: a buffer references_only_from() left out is listed
   * (left_out_times()) and counts for end() and last_start() as the frame
   * it holds would (its PTS in stream time, plus its duration), so that a
   * clip whose last frame is a non-reference picture keeps its length. */
  void count_left_out(GstBuffer *buf)
  {
    const GstClockTime st =
        GST_BUFFER_PTS_IS_VALID(buf) ? fed_stream_time(buf) : GST_CLOCK_TIME_NONE;
    left_out_.push_back(st);
    if (!GST_CLOCK_TIME_IS_VALID(st))
      return;
    const GstClockTime e = st + (GST_BUFFER_DURATION_IS_VALID(buf) ? GST_BUFFER_DURATION(buf) : 0);
    if (!GST_CLOCK_TIME_IS_VALID(end_) || e > end_)
      end_ = e;
    if (!GST_CLOCK_TIME_IS_VALID(last_start_) || st > last_start_)
      last_start_ = st;
  }

  /* Under lock_, Feed::kKeys: notes whether `buf` (MPEG-4 Part 2 in AVI)
   * holds a B-VOP (avi_b_frames()) and ends the pass on one where
   * stop_at_b_frames() asked for it. Reads each buffer's bytes once
   * (holds_b_vop()) until the first B-VOP is found, none after it. */
  void read_vop_types(GstBuffer *buf)
  {
    if (!b_vop_seen_) {
      GstMapInfo map;
      if (!gst_buffer_map(buf, &map, GST_MAP_READ))
        return;
      b_vop_seen_ = avi_keyframes_detail::holds_b_vop(map.data, map.size);
      gst_buffer_unmap(buf, &map);
      if (b_vop_seen_)
        GST_DEBUG("B-VOP in the buffer stamped %" GST_TIME_FORMAT,
                  GST_TIME_ARGS(GST_BUFFER_DTS_OR_PTS(buf)));
    }
    if (b_vop_seen_ && stop_at_b_vop_ && consumer_ && !stopped_)
      stop_pass();
  }

  static void on_no_more_pads(GstElement *src, gpointer data)
  {
    Decoder *self = static_cast<Decoder *>(data);
    std::lock_guard<std::mutex> guard(self->lock_);
    if (self->linked_)
      return;
    GError *err = g_error_new(GST_STREAM_ERROR, GST_STREAM_ERROR_WRONG_TYPE, "has no video stream");
    gst_element_post_message(src, gst_message_new_error(GST_OBJECT(src), err, nullptr));
    g_error_free(err);
  }

  static GstPadProbeReturn on_data(GstPad *, GstPadProbeInfo *info, gpointer data)
  {
    Decoder *self = static_cast<Decoder *>(data);
    std::lock_guard<std::mutex> guard(self->lock_);
    if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
      GstEvent *ev = GST_PAD_PROBE_INFO_EVENT(info);
      /* No frame follows a held one in its segment and caps: it is kept. */
      if (GST_EVENT_TYPE(ev) == GST_EVENT_SEGMENT || GST_EVENT_TYPE(ev) == GST_EVENT_EOS ||
          GST_EVENT_TYPE(ev) == GST_EVENT_CAPS)
        self->settle_held(GST_CLOCK_TIME_NONE);
      if (GST_EVENT_TYPE(ev) == GST_EVENT_SEGMENT) {
        gst_event_copy_segment(ev, &self->segment_);
        self->segment_seqnum_ = gst_event_get_seqnum(ev);
      } else if (GST_EVENT_TYPE(ev) == GST_EVENT_EOS) {
        /* The end of this pass's data (not a stopped or earlier pass's). */
        if (self->consumer_ && !self->stopped_ &&
            (self->wanted_seqnum_ == GST_SEQNUM_INVALID ||
             self->segment_seqnum_ == self->wanted_seqnum_))
          self->post_pass_done();
      } else if (GST_EVENT_TYPE(ev) == GST_EVENT_CAPS) {
        GstCaps *caps;
        gst_event_parse_caps(ev, &caps);
        self->have_info_ = gst_video_info_from_caps(&self->info_, caps);
      }
      return GST_PAD_PROBE_OK;
    }
    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
    const GstClockTime pts = GST_BUFFER_PTS(buf);
    GstClockTime st = pts;
    if (GST_CLOCK_TIME_IS_VALID(pts) && self->segment_.format == GST_FORMAT_TIME)
      st = gst_segment_to_stream_time(&self->segment_, GST_FORMAT_TIME, pts);
    self->frames_++;
    if (!GST_CLOCK_TIME_IS_VALID(st))
      self->untimed_++;
    /* Frames arrive once per pass in order; one stamped no later than the
     * one before it (and any more stamped as it) is placed after it, or
     * dropped as a repeat of it, once the frame after them is seen
     * (FramePlacer, as render places them); one it could not place is
     * skipped. */
    if (self->placer_.settles(st))
      self->settle_held(st);
    const GstClockTime step = self->frame_step(buf);
    const FramePlacer::Placement p = self->placer_.judge(st, step);
    if (p.verdict == FramePlacer::Verdict::kSkip) {
      self->count(st, buf);
    } else if (p.verdict == FramePlacer::Verdict::kHold && self->consumable()) {
      self->placer_.hold(p.at, st, step);
      self->held_.emplace_back(gst_buffer_ref(buf), st);
    } else {
      self->deliver(buf, p.at, st);
    }
    return GST_PAD_PROBE_OK;
  }

  /* Under lock_: whether a frame arriving now is this pass's, to analyse. */
  bool consumable() const
  {
    return consumer_ && !stopped_ && have_info_ &&
           (wanted_seqnum_ == GST_SEQNUM_INVALID || segment_seqnum_ == wanted_seqnum_);
  }

  /* Under lock_: a frame at stream time `st` (where it was placed) counts
   * for first_frame(), end() and last_start(). */
  void count(GstClockTime st, GstBuffer *buf)
  {
    progress_pos_ = st;
    if (!GST_CLOCK_TIME_IS_VALID(st))
      return;
    if (!GST_CLOCK_TIME_IS_VALID(first_) || st < first_)
      first_ = st;
    const GstClockTime e = st + (GST_BUFFER_DURATION_IS_VALID(buf) ? GST_BUFFER_DURATION(buf) : 0);
    if (!GST_CLOCK_TIME_IS_VALID(end_) || e > end_)
      end_ = e;
    if (!GST_CLOCK_TIME_IS_VALID(last_start_) || st > last_start_)
      last_start_ = st;
  }

  /* Under lock_: the frame stamped `stamped`, placed at `st`, is counted
   * and, when this pass's, analysed (handed to the consumer). */
  void deliver(GstBuffer *buf, GstClockTime st, GstClockTime stamped)
  {
    count(st, buf);
    if (!consumable()) {
      GST_LOG("frame %" GST_TIME_FORMAT " decoded outside its pass (stopped or stale)",
              GST_TIME_ARGS(st));
      return;
    }
    GstVideoFrame frame;
    if (!gst_video_frame_map(&frame, &info_, buf, GST_MAP_READ))
      return;
    FrameView view;
    const bool ok = frame_view_from_video_frame(&frame, view) && builder_.build(view, hsv_);
    gst_video_frame_unmap(&frame);
    if (!ok)
      return;
    /* Keyframes alone are a GOP apart; every other pass feeds whole runs. */
    const GstClockTime last = placer_.last();
    const bool references_only = references_from_ >= 0 &&
                                 GST_CLOCK_TIME_IS_VALID(references_time_) &&
                                 GST_CLOCK_TIME_IS_VALID(st) && st >= references_time_;
    if (feed_ != Feed::kKeys && !references_only && GST_CLOCK_TIME_IS_VALID(last) &&
        GST_CLOCK_TIME_IS_VALID(st))
      intervals_.push_back(st - last);
    placer_.took(st, stamped);
    consumer_(Views{hsv_, builder_.luma(), builder_.bgr(), st, GST_BUFFER_DURATION(buf)});
  }

  /* Under lock_: the held frames (FramePlacer::hold()), if any, judged by
   * the next frame's stamp `next` (GST_CLOCK_TIME_NONE: no frame follows
   * them in their segment): the ones FramePlacer::settle() keeps are
   * delivered at their places; the others, repeats of the frame before
   * them, were counted with it and are dropped. The render's cut path
   * settles them by the same FramePlacer calls (ClipDecoder::pull()). Where
   * they differ: at a keyframe-path GOP limit the frames after a held run
   * are never fed, and the next frame seen is the next GOP's keyframe (or a
   * new segment, or EOS), so FramePlacer keeps the run's first, as at the
   * end, while the render, decoding on, sees the real next frame. No result
   * depends on it: a frame missing there was fed no earlier than the limit
   * (decoding time), look + 4 frames after the run's last keyframe, so the
   * held frames go at or after the run's end, whose frames the run ignores
   * (with up to 4 frames of reordering between decoding and display). */
  void settle_held(GstClockTime next)
  {
    if (held_.empty())
      return;
    const FramePlacer::Settled settled = placer_.settle(next);
    std::deque<std::pair<GstBuffer *, GstClockTime>> held;
    held.swap(held_);
    for (size_t i = 0; i < held.size(); i++) {
      if (i < settled.kept)
        deliver(held[i].first, settled.at(i), held[i].second);
      gst_buffer_unref(held[i].first);
    }
  }

  /* Under lock_: forgets the held frames (a flushing seek follows). */
  void forget_held()
  {
    placer_.reset();
    for (auto &h : held_)
      gst_buffer_unref(h.first);
    held_.clear();
  }

  /* One frame's duration for FramePlacer: the buffer's, else the caps'
   * frame rate's; 0 when neither is known (such a frame is then not placed
   * after the one before, but skipped). Render places frames the same way
   * (ClipDecoder::pull(), render-cuts.cpp), so a cut on such a frame is
   * where the montage shows it. */
  GstClockTime frame_step(GstBuffer *buf) const
  {
    if (GST_BUFFER_DURATION_IS_VALID(buf) && GST_BUFFER_DURATION(buf) > 0)
      return GST_BUFFER_DURATION(buf);
    return have_info_ && info_.fps_n > 0 && info_.fps_d > 0
               ? gst_util_uint64_scale(GST_SECOND, (guint64)info_.fps_d, (guint64)info_.fps_n)
               : 0;
  }

  /* Under lock_: tells wait() that the current pass is over. */
  void post_pass_done()
  {
    GstStructure *s = gst_structure_new("montage-pass-done", "seqnum", G_TYPE_UINT,
                                        (guint)wanted_seqnum_, NULL);
    gst_element_post_message(pipeline_,
                             gst_message_new_application(GST_OBJECT(pipeline_), s));
  }

  bool is_this_pass_done(GstMessage *msg)
  {
    const GstStructure *s = gst_message_get_structure(msg);
    guint seqnum = 0;
    std::lock_guard<std::mutex> guard(lock_);
    return s && gst_structure_has_name(s, "montage-pass-done") &&
           gst_structure_get_uint(s, "seqnum", &seqnum) && seqnum == (guint)wanted_seqnum_;
  }

  /* Waits for `until`, an error, or a stall. */
  bool wait(GstMessageType until, GError **error)
  {
    {
      std::lock_guard<std::mutex> guard(lock_);
      stalled_ = false;
    }
    GstBus *bus = gst_element_get_bus(pipeline_);
    guint64 last_frames = G_MAXUINT64;
    const gint64 started = g_get_monotonic_time();
    gint64 since = started;
    bool ok = false;
    for (;;) {
      GstMessage *msg = gst_bus_timed_pop_filtered(
          bus, 100 * GST_MSECOND, (GstMessageType)(until | GST_MESSAGE_ERROR));
      if (!msg) {
        guint64 frames;
        GstClockTime pos;
        bool pad_seen;
        {
          std::lock_guard<std::mutex> guard(lock_);
          frames = frames_;
          pos = progress_pos_;
          pad_seen = pad_seen_;
        }
        /* A demuxer that fails while decodebin is still setting it up (an
         * MP4 cut before its index, a WebM cut to its first few hundred
         * bytes: "No pads created") can have its error dropped by decodebin
         * (see ChildBus): it is taken from where it was kept. */
        if (!pad_seen) {
          if (GstMessage *lost = lost_demuxer_error()) {
            GST_DEBUG("the error of %" GST_PTR_FORMAT " was dropped by decodebin",
                      GST_MESSAGE_SRC(lost));
            explain_demuxer_error(lost, uri_, error);
            gst_message_unref(lost);
            break;
          }
        }
        /* Anything else that ends with no stream and no error: a local
         * file exposes its streams within milliseconds, so no stream after
         * kNoStreamLimit means none will come. */
        const GstClockTime no_stream_limit = std::min(stall_, kNoStreamLimit);
        if (!pad_seen && (GstClockTime)(g_get_monotonic_time() - started) * 1000 > no_stream_limit) {
          g_set_error(error, GST_STREAM_ERROR, GST_STREAM_ERROR_DECODE,
                      "cannot be decoded, the file may be corrupt or truncated (no stream was "
                      "found in it within %" G_GUINT64_FORMAT " s)",
                      no_stream_limit / GST_SECOND);
          break;
        }
        if (frames != last_frames) {
          last_frames = frames;
          since = g_get_monotonic_time();
        } else if ((GstClockTime)(g_get_monotonic_time() - since) * 1000 > stall_) {
          g_set_error(error, GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED,
                      "decoding made no progress for %" G_GUINT64_FORMAT " s", stall_ / GST_SECOND);
          std::lock_guard<std::mutex> guard(lock_);
          stalled_ = true;
          break;
        }
        if (progress && GST_CLOCK_TIME_IS_VALID(pos)) {
          gint64 dur = -1;
          gst_element_query_duration(pipeline_, GST_FORMAT_TIME, &dur);
          progress(pos, dur >= 0 ? (GstClockTime)dur : GST_CLOCK_TIME_NONE);
        }
        continue;
      }
      if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_APPLICATION && !is_this_pass_done(msg)) {
        gst_message_unref(msg);
        continue;
      }
      if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
        explain_demuxer_error(msg, uri_, error);
      } else {
        ok = true;
      }
      gst_message_unref(msg);
      break;
    }
    gst_object_unref(bus);
    return ok;
  }

  GstElement *pipeline_ = nullptr;
  GstElement *chain_ = nullptr;
  /* Feed state, under lock_ (done_through_ from the consumer, which runs under it). */
  Feed feed_ = Feed::kAll;
  bool fed_ = false;
  bool parsed_ = false; /* on_demuxed() probes the first video parser */
  bool image_decoder_ = false; /* image_decoder() */
  bool transport_stream_ = false; /* transport_stream() */
  bool avi_ = false;              /* avidemux reads the file */
  bool read_vops_ = false;        /* the decoder's caps may hold B-VOPs (read_vop_types()) */
  bool b_vop_seen_ = false;       /* avi_b_frames() */
  bool stop_at_b_vop_ = false;    /* stop_at_b_frames() */
  bool alpha_ = false;            /* alpha() */
  bool stalled_ = false;          /* stalled() */
  /* The last buffers into that parser: (DTS or PTS, demuxer's keyframe
   * flag); a parser holds back a frame or two, no more. */
  std::deque<std::pair<GstClockTime, bool>> demuxed_;
  static constexpr size_t kDemuxedKept = 64;
  std::vector<GstClockTime> key_stamps_;
  std::vector<GstClockTime> key_times_; /* fed_key_time() */
  std::vector<bool> gop_starts_;        /* gop_starts() */
  std::vector<GstClockTime> skipped_key_times_;       /* skipped_key_times() */
  bool gop_starts_only_ = false, keys_again_ = false; /* keys_again_gop_starts_only() */
  GstSegment fed_segment_;              /* the decoder's input segment */
  std::function<bool(size_t)> want_;
  std::vector<GstClockTime> limits_;
  GstClockTime current_limit_ = GST_CLOCK_TIME_NONE;
  int current_key_ = -1, done_through_ = -1;
  bool current_wanted_ = true;
  int references_from_ = -1; /* references_only_from() */
  GstClockTime references_time_ = GST_CLOCK_TIME_NONE;
  std::vector<GstClockTime> left_out_;                 /* left_out_times() */
  h264_refs::Format h264_;                             /* the decoder's input, when H.264 */
  guint64 deltas_read_ = 0, non_reference_deltas_ = 0; /* non_reference_share() */
  static constexpr guint64 kReferenceSample = 500;
  GstClockTime stall_ = 30 * GST_SECOND;
  std::mutex lock_;
  bool linked_ = false;
  bool pad_seen_ = false; /* uridecodebin exposed a pad (any stream) */
  std::string uri_;
  std::shared_ptr<DemuxerError> demuxer_error_ = std::make_shared<DemuxerError>();
  static constexpr GstClockTime kNoStreamLimit = 10 * GST_SECOND;
  GstSegment segment_;
  GstVideoInfo info_;
  bool have_info_ = false;
  AnalysisViewBuilder builder_;
  cv::Mat hsv_;
  std::function<void(const Views &)> consumer_;
  bool stopped_ = false; /* under lock_ (set from the consumer, which runs under it) */
  guint32 wanted_seqnum_ = GST_SEQNUM_INVALID, segment_seqnum_ = GST_SEQNUM_INVALID;
  FramePlacer placer_; /* the frames analysed this pass */
  /* The frames FramePlacer holds, with their stamps, in order. */
  std::deque<std::pair<GstBuffer *, GstClockTime>> held_;
  GstClockTime first_ = GST_CLOCK_TIME_NONE, end_ = GST_CLOCK_TIME_NONE;
  GstClockTime last_start_ = GST_CLOCK_TIME_NONE;
  guint64 untimed_ = 0; /* frames decoded without a timestamp, all passes */
  GstClockTime progress_pos_ = GST_CLOCK_TIME_NONE;
  guint64 frames_ = 0;
  std::vector<GstClockTime> intervals_; /* see median_frame_interval() */
};

/* Collects ShotDetector output: boundaries (new shots) and ended shots. */
struct Collector {
  std::vector<Shot> starts; /* each boundary's new shot (start, transition) */
  std::vector<Shot> ended;
  /* The times of the frames a verdict called part of a flash or of a cut
   * away and back (FrameVerdict::excursion). */
  std::vector<GstClockTime> excursions;
  std::vector<FrameVerdict> verdicts;
  void take()
  {
    for (FrameVerdict &v : verdicts) {
      if (v.excursion)
        excursions.push_back(v.timestamp);
      if (v.boundary)
        starts.push_back(v.shot);
      if (v.ended)
        ended.push_back(*v.ended);
    }
    verdicts.clear();
  }
};

/* Per-frame measures for the keyframe path's shot features. */
struct Sample {
  GstClockTime ts;
  /* Sharpness, colourfulness, motion and the histogram were measured
   * (ShotDetector's FrameFeatures::measured); brightness and contrast always
   * are. */
  bool measured;
  double motion, sharp, bright, contrast, colour;
  std::vector<float> histogram; /* when measured, or when the keyframe gate needed it */
  /* Part of a flash or of a cut away and back, as the refinement's
   * detector decided (FrameVerdict::excursion): not the shot's picture. */
  bool excursion = false;
};

/* L1 distance between two shot_histogram()s (0-2; 2 when either is empty
 * or they differ in size: the safe side for the keyframe gate). */
double histogram_distance(const std::vector<float> &a, const std::vector<float> &b)
{
  if (a.empty() || a.size() != b.size())
    return 2.0;
  return cv::norm(a, b, cv::NORM_L1);
}

/* Measures one decoded frame of the keyframe path as ShotDetector measures
 * the frames of full decoding: brightness and contrast always; sharpness,
 * colourfulness and the histogram when `measured`; motion when `measured`
 * and `before` (the luma of the frame just before it, or empty when that
 * frame was not decoded) is there. */
Sample measure(const Views &v, bool measured, const cv::Mat &before)
{
  Sample s{v.stream_time, measured, -1.0, 0, 0, 0, 0, {}, false};
  cv::Scalar m, sd;
  cv::meanStdDev(v.luma, m, sd);
  s.bright = m[0];
  s.contrast = sd[0];
  if (!measured)
    return s;
  s.histogram = shot_histogram(v.hsv);
  if (!before.empty() && before.size() == v.luma.size())
    s.motion = mean_abs_difference(v.luma, before)[0];
  s.sharp = laplacian_variance(v.luma);
  s.colour = colourfulness(v.bgr);
  return s;
}

/* The keyframe path's progress: the share of the whole that its keyframe
 * pass shows, the refinement showing the rest. From the scene benchmark's
 * long-shot clips (scene-detect-bench --mode keyframes, open_s + coarse_s
 * against wall): the pipeline's set-up and the keyframe pass took 0.36-0.41
 * of the analysis of longshots-gop50 (a keyframe every 2 s) and 0.24 of
 * longshots-x264's (fewer keyframes, longer runs). */
constexpr double kKeyframePassShare = 0.4;

/* One frame's duration from the caps' frame rate, 40 ms when unknown. */
GstClockTime frame_duration(const GstVideoInfo *info)
{
  return info && info->fps_n > 0 ? gst_util_uint64_scale_int(GST_SECOND, info->fps_d, info->fps_n)
                                 : 40 * GST_MSECOND;
}

/* The keyframe path's features of `shot` from the samples of the frames it
 * decoded in [start, end), accumulated as ShotDetector accumulates full
 * decoding's: brightness and contrast over every sample, sharpness and
 * colourfulness over the measured ones, motion over the measured ones that
 * have it (never on the shot's first frame), the in-point and histogram of
 * the sharpest measured clean sample (at or after transition_end). A cut
 * shot's frames before transition_end (the insert or flash it was cut on,
 * or that its stream opened on) and the frames of a flash or of a cut away
 * and back inside it (Sample::excursion) count in none of them, and the first
 * clean frame's difference is no motion, as in ShotDetector::accumulate().
 * has_features stays false when no measured clean frame was decoded. */
void features_from_samples(Shot &shot, const std::vector<Sample> &samples)
{
  double n = 0, nmeasured = 0, nm = 0, best = -1;
  ShotFeatures f;
  const bool cut =
      shot.transition == Transition::kCut && GST_CLOCK_TIME_IS_VALID(shot.transition_end);
  for (const Sample &s : samples) {
    if (s.ts < shot.start || s.ts >= shot.end || (cut && s.ts < shot.transition_end) || s.excursion)
      continue;
    n++;
    f.brightness += s.bright;
    f.contrast += s.contrast;
    if (!s.measured)
      continue;
    nmeasured++;
    f.sharpness += s.sharp;
    f.colourfulness += s.colour;
    if (s.motion >= 0 && s.ts != shot.start &&
        !(cut && s.ts == shot.transition_end)) { /* not the cut's own difference */
      nm++;
      f.motion_mean += s.motion;
      f.motion_peak = std::max(f.motion_peak, s.motion);
    }
    if (s.ts >= shot.transition_end && s.sharp > best) {
      best = s.sharp;
      f.best_inpoint = s.ts;
      f.histogram = s.histogram;
    }
  }
  /* No clean measured frame decoded in the shot: no features (as
   * ShotDetector says of such a shot), rather than an in-point of
   * GST_CLOCK_TIME_NONE and no histogram. */
  if (n == 0 || best < 0)
    return;
  f.sharpness /= nmeasured;
  f.brightness /= n;
  f.contrast /= n;
  f.colourfulness /= nmeasured;
  if (nm > 0)
    f.motion_mean /= nm;
  shot.features = f;
  shot.has_features = true;
}

} // namespace

const char *clip_analyse_path_text(ClipAnalysePath path)
{
  switch (path) {
  case ClipAnalysePath::kKeyframes:
    return "keyframe path";
  case ClipAnalysePath::kFullRequested:
    return "full decoding (asked for)";
  case ClipAnalysePath::kFullNoSeek:
    return "full decoding: the file cannot seek";
  case ClipAnalysePath::kFullNoDecoder:
    return "full decoding: no video decoder could be probed";
  case ClipAnalysePath::kFullIntraOnly:
    return "full decoding: every frame is a keyframe (the codec has no delta frames), so there "
           "is nothing to skip";
  case ClipAnalysePath::kFullKeyframeTimes:
    return "full decoding: keyframe timestamps do not match";
  case ClipAnalysePath::kFullRunStart:
    return "full decoding: the seek missed a keyframe";
  case ClipAnalysePath::kFullSeekTimes:
    return "full decoding: an MPEG transport stream's seeks misstate the frames' times";
  case ClipAnalysePath::kFullAviBFrames:
    return "full decoding: AVI stamps MPEG-4 keyframes at their decode time, which B-frames put "
           "before the time they are shown";
  case ClipAnalysePath::kFullAlpha:
    return "full decoding: VP8/VP9 with an alpha channel cannot be decoded from its keyframes "
           "alone";
  case ClipAnalysePath::kFullStalled:
    return "full decoding: the keyframe path made no progress";
  }
  return "full decoding";
}

void clip_frame_rate(gint caps_n, gint caps_d, GstClockTime median_interval, gint &n, gint &d)
{
  n = caps_n;
  d = caps_d;
  if (caps_n <= 0 || caps_d <= 0 || !GST_CLOCK_TIME_IS_VALID(median_interval) ||
      median_interval == 0)
    return;
  const GstClockTime caps_frame = gst_util_uint64_scale_int(GST_SECOND, caps_d, caps_n);
  if (median_interval < 3 * caps_frame)
    return;
  static const std::pair<gint, gint> kCommon[] = {
      {24000, 1001}, {24, 1}, {25, 1},  {30000, 1001}, {30, 1}, {48, 1}, {50, 1},
      {60000, 1001}, {60, 1}, {100, 1}, {120, 1},      {12, 1}, {15, 1}};
  const double rate = (double)GST_SECOND / (double)median_interval;
  double best = 0.005; /* the nearest within 0.5 %: 24 and 24000/1001 are 0.1 % apart */
  gst_util_double_to_fraction(rate, &n, &d);
  for (const auto &[cn, cd] : kCommon) {
    const double off = std::fabs(rate / ((double)cn / cd) - 1.0);
    if (off <= best) {
      best = off;
      n = cn;
      d = cd;
    }
  }
}

bool frame_spacing_varies(std::vector<GstClockTime> intervals)
{
  if (intervals.size() < kVariableRateMinIntervals)
    return false;
  const GstClockTime median = median_interval(intervals);
  if (median == 0)
    return false;
  std::size_t off = 0;
  for (GstClockTime i : intervals)
    if ((double)(i > median ? i - median : median - i) > kVariableRateSpread * (double)median)
      off++;
  return (double)off > kVariableRateShare * (double)intervals.size();
}

gchar *local_file_uri(const std::string &path, GError **error)
{
  if (!g_file_test(path.c_str(), G_FILE_TEST_EXISTS)) {
    g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "no such file");
    return nullptr;
  }
  if (!g_file_test(path.c_str(), G_FILE_TEST_IS_REGULAR)) {
    g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "not a regular file");
    return nullptr;
  }
  gchar *abs = g_canonicalize_filename(path.c_str(), nullptr);
  gchar *uri = g_filename_to_uri(abs, nullptr, error);
  g_free(abs);
  return uri;
}

/* The length the container of `uri` states, as GES learns it: GstDiscoverer's
 * duration (ges-uri-asset.c takes it as the asset's max-duration), 0 read as
 * none. GST_CLOCK_TIME_NONE when it states none, or the discovery fails or
 * takes more than kStatedLengthTimeout (a file that decoded may still be one
 * the discoverer gives up on). */
constexpr GstClockTime kStatedLengthTimeout = 10 * GST_SECOND;
static GstClockTime stated_length(const std::string &uri)
{
  GstClockTime stated = GST_CLOCK_TIME_NONE;
  GstDiscoverer *discoverer = gst_discoverer_new(kStatedLengthTimeout, nullptr);
  if (!discoverer)
    return stated;
  if (GstDiscovererInfo *info = gst_discoverer_discover_uri(discoverer, uri.c_str(), nullptr)) {
    const GstClockTime d = gst_discoverer_info_get_duration(info);
    if (gst_discoverer_info_get_result(info) == GST_DISCOVERER_OK && GST_CLOCK_TIME_IS_VALID(d) &&
        d > 0)
      stated = d;
    g_object_unref(info);
  }
  g_object_unref(discoverer);
  return stated;
}

bool analyse_clip_file(const std::string &path, const ClipAnalyseOptions &options,
                       ClipAnalysis &out, GError **error, ClipAnalyseStats *stats)
{
  ClipAnalyseStats local;
  ClipAnalyseStats &st = stats ? *stats : local;
  st = ClipAnalyseStats();
  init_debug();
  gchar *uri = local_file_uri(path, error);
  if (!uri)
    return false;
  const std::string uri_s = uri;
  g_free(uri);

  /* Full decoding consumes from the preroll frame on, without a seek. */
  std::unique_ptr<ShotDetector> full;
  Collector col;
  auto consume = [&](const Views &v) {
    if (!full)
      full = std::make_unique<ShotDetector>(options.detector, v.luma.empty() || v.bgr.empty());
    full->push(v.hsv, v.luma, v.bgr, v.stream_time, v.duration, col.verdicts);
    col.take();
  };
  ProgressMeter meter(options.progress);
  auto dec = std::make_unique<Decoder>();
  dec->progress = meter.by_position();
  /* The keyframe path's first pass: keyframes only, fed from the preroll
   * on. Each decoded keyframe must come out at the time it was fed (within
   * half a frame): where the decoder invents times instead (raw H.264 has
   * none to pass on), the pass ends at the first keyframe that differs and
   * the clip is decoded in full (ClipAnalysePath::kFullKeyframeTimes). */
  struct Key {
    GstClockTime ts;
    cv::Mat hsv;
    std::vector<float> histogram; /* shot_histogram(hsv) */
  };
  std::vector<Key> keys;
  /* The features' samples: one per keyframe of the first pass, then one per
   * frame of the refinement pass. */
  std::vector<Sample> key_samples, samples;
  bool key_times_differ = false;
  auto coarse = [&](const Views &v) {
    if (key_times_differ)
      return;
    const GstClockTime fed = dec->fed_key_time(keys.size());
    const GstClockTime half = frame_duration(dec->info()) / 2;
    if (!GST_CLOCK_TIME_IS_VALID(fed) || !GST_CLOCK_TIME_IS_VALID(v.stream_time) ||
        (v.stream_time > fed ? v.stream_time - fed : fed - v.stream_time) > half) {
      key_times_differ = true;
      dec->stop_pass();
      return;
    }
    /* Keyframes are too far apart for a motion measure; each is measured
     * whatever its place on full decoding's grid, as it may be all that
     * is decoded of its GOP. */
    Sample s = measure(v, true, cv::Mat());
    keys.push_back({v.stream_time, v.hsv.clone(), s.histogram});
    key_samples.push_back(std::move(s));
  };

  std::vector<GstClockTime> stamps; /* keyframes as fed to the decoder */
  gint64 clock = g_get_monotonic_time();
  /* Adds the wall time since the last call to `to`. */
  auto lap = [&clock](GstClockTime &to) {
    const gint64 now = g_get_monotonic_time();
    to += (GstClockTime)(now - clock) * 1000;
    clock = now;
  };
  ClipAnalysePath route = options.mode == ClipAnalyseOptions::Mode::kFull
                              ? ClipAnalysePath::kFullRequested
                              : ClipAnalysePath::kKeyframes;
  bool keyframes = route == ClipAnalysePath::kKeyframes;
  meter.stage(keyframes ? kKeyframePassShare : 1.0);
  st.pipelines++;
  if (!dec->open(uri_s, options.stall_timeout,
                 keyframes ? Decoder::Feed::kKeys : Decoder::Feed::kAll,
                 keyframes ? std::function<void(const Views &)>(coarse) : consume, error))
    return false;
  lap(st.open_time);
  /* The length the container states, as GstDiscoverer reads it
   * (stated_length()): a duration query on its pipeline once prerolled,
   * which this pipeline, prerolled on the same file, answers alike (the
   * demuxer's header length: the same on the sample media, the benchmark
   * clips, MP4, MOV, Matroska, WebM, Ogg, AVI, FLV, MPEG-TS and fragmented
   * MP4, with and without audio; docs/scene-benchmark.md). Where no element
   * answers yet (raw H.264 or IVF: the discoverer then plays a little and
   * asks again, a parser's estimate), a GstDiscoverer of its own runs on
   * another thread while the clip is analysed, as every clip's did before:
   * 0.04 s of CPU, 5-6k page faults and a third pipeline on 2 cores that
   * the keyframe path keeps 1.8 of busy (docs/scene-benchmark.md, "The
   * keyframe path's wall time, stage by stage"). Started once the file has
   * opened, so a file that does not open waits for no discovery; a failure
   * after that waits for it to end. The value does not depend on when it is
   * read. Where no thread can be started, it is read at the end. One
   * difference, not seen on any file here: a file the discoverer would report
   * as not OK (a stream it finds no plugin for) while this pipeline prerolls
   * on its video records the length its container states, not none. */
  std::future<GstClockTime> stated;
  if (const GstClockTime queried = dec->duration_now(); GST_CLOCK_TIME_IS_VALID(queried)) {
    std::promise<GstClockTime> now;
    now.set_value(queried);
    stated = now.get_future();
  } else {
    st.discoveries++;
    try {
      stated = std::async(std::launch::async, stated_length, uri_s);
    } catch (const std::system_error &) {
      stated = std::async(std::launch::deferred, stated_length, uri_s);
    }
  }
  /* MPEG-4 Part 2 in AVI whose VOP headers hold a B-frame
   * (ClipAnalysePath::kFullAviBFrames), not asked for the keyframe path:
   * seen by the preroll, or in the keyframe pass, which then stops there.
   * A stream with none (Simple profile or not) keeps the keyframe path:
   * its keyframes' decode times are the times they are shown. */
  auto avi_b_frames = [&] {
    return options.mode != ClipAnalyseOptions::Mode::kKeyframes && dec->avi_b_frames();
  };
  /* Whether a keyframe-path pass that failed with `err` (taken) gives way
   * to full decoding (ClipAnalysePath::kFullStalled): it stalled, after the
   * preroll, in Mode::kAuto. Otherwise `err` goes to `error`. */
  auto stall_gives_way = [&](Decoder &d, GError *err) {
    if (options.mode == ClipAnalyseOptions::Mode::kAuto && d.stalled()) {
      GST_INFO("%s: the keyframe path stalled (%s): decoding it in full", path.c_str(),
               err ? err->message : "");
      g_clear_error(&err);
      return true;
    }
    g_propagate_error(error, err);
    return false;
  };
  /* 1. Keyframes only, in one pass from the start (delta units dropped
   * before the decoder). The path is given up for full decoding when the
   * file cannot seek (step 2 seeks once), no decoder could be fed, or the
   * decoded keyframes do not match the ones fed one to one (ClipAnalysePath
   * names each reason). */
  if (keyframes && dec->transport_stream()) {
    if (options.mode == ClipAnalyseOptions::Mode::kKeyframes) {
      g_set_error(error, GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED,
                  "an MPEG transport stream's seeks misstate the frames' times, so its keyframes "
                  "cannot be analysed alone; remux it (Matroska, MP4) or decode it fully");
      return false;
    }
    route = ClipAnalysePath::kFullSeekTimes;
  } else if (keyframes && avi_b_frames()) {
    route = ClipAnalysePath::kFullAviBFrames;
  } else if (keyframes && dec->alpha()) {
    if (options.mode == ClipAnalyseOptions::Mode::kKeyframes) {
      g_set_error(error, GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED,
                  "VP8/VP9 with an alpha channel cannot be decoded from its keyframes alone (its "
                  "alpha frames' keyframes are not the colour frames'); decode it fully");
      return false;
    }
    route = ClipAnalysePath::kFullAlpha;
  } else if (keyframes && !dec->seekable()) {
    if (options.mode == ClipAnalyseOptions::Mode::kKeyframes) {
      g_set_error(error, GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED,
                  "the file cannot be seeked, so its keyframes cannot be read alone");
      return false;
    }
    route = ClipAnalysePath::kFullNoSeek;
  } else if (keyframes && !dec->feeding()) {
    route =
        dec->image_decoder() ? ClipAnalysePath::kFullIntraOnly : ClipAnalysePath::kFullNoDecoder;
  } else if (keyframes) {
    if (options.mode != ClipAnalyseOptions::Mode::kKeyframes)
      dec->stop_at_b_frames();
    /* A mismatch in the preroll frame already ended it. */
    GError *err = nullptr;
    if (!key_times_differ &&
        !dec->pass(false, GST_SEEK_FLAG_NONE, 0, GST_CLOCK_TIME_NONE, coarse, &err)) {
      if (!stall_gives_way(*dec, err))
        return false;
      route = ClipAnalysePath::kFullStalled;
    }
    /* An I-frame that starts no GOP (Decoder::starts_gop()), fed without
     * the frames before it, can upset the decoder's output order (after a
     * frame_num gap, x264's non-IDR I-frames come out before the IDR frame
     * fed just before them, which is then lost), so the times differ: the
     * pass is made again from the start with GOP starts alone. */
    const std::vector<bool> fed_starts = dec->gop_starts();
    if (route == ClipAnalysePath::kKeyframes && key_times_differ && !avi_b_frames() &&
        std::find(fed_starts.begin(), fed_starts.end(), false) != fed_starts.end()) {
      keys.clear();
      key_samples.clear();
      key_times_differ = false;
      dec->keys_again_gop_starts_only();
      st.seeks++;
      if (!dec->pass(true, GST_SEEK_FLAG_NONE, 0, GST_CLOCK_TIME_NONE, coarse, &err)) {
        if (!stall_gives_way(*dec, err))
          return false;
        route = ClipAnalysePath::kFullStalled;
      }
    }
    lap(st.coarse_time);
    stamps = dec->key_stamps();
    bool ordered = !key_times_differ && !keys.empty() && keys.size() == stamps.size();
    for (size_t k = 1; ordered && k < keys.size(); k++)
      ordered = keys[k - 1].ts < keys[k].ts;
    if (route == ClipAnalysePath::kFullStalled) {
      /* decided above: what the pass found before it stalled says nothing */
    } else if (avi_b_frames()) {
      route = ClipAnalysePath::kFullAviBFrames;
    } else if (!ordered) {
      route = ClipAnalysePath::kFullKeyframeTimes;
    }
  }
  keyframes = route == ClipAnalysePath::kKeyframes;
  st.keyframes = (guint)keys.size();
  guint64 given_up = 0; /* frames of a keyframe path given up for full decoding */
  if (!keyframes && options.mode != ClipAnalyseOptions::Mode::kFull) {
    given_up = dec->frames();
    dec = std::make_unique<Decoder>();
    meter.stage(1.0);
    dec->progress = meter.by_position();
    st.pipelines++;
    if (!dec->open(uri_s, options.stall_timeout, Decoder::Feed::kAll, consume, error))
      return false;
    lap(st.open_time);
  }

  const bool luma_only = dec->info() && GST_VIDEO_INFO_IS_GRAY(dec->info());
  std::vector<Shot> shots;
  if (keyframes) {
    col = Collector();

    /* 2. Runs of changed GOPs, decoded in full in one more pass. */
    const ContentWeights w = luma_only ? ContentScorer::kLumaOnly : ContentScorer::kDefaultWeights;
    /* The keyframe gate (ClipAnalyseOptions::keyframe_change and
     * keyframe_histogram_change): whether two pictures may belong to
     * different shots. */
    auto changed = [&](const cv::Mat &hsv_a, const std::vector<float> &hist_a, const cv::Mat &hsv_b,
                       const std::vector<float> &hist_b) {
      const double d = hsv_a.size() == hsv_b.size() ? content_distance(hsv_a, hsv_b, w) : 255.0;
      if (d < options.keyframe_change)
        return false;
      if (options.keyframe_histogram_change <= 0.0 || d >= 1.5 * options.keyframe_change)
        return true;
      return histogram_distance(hist_a, hist_b) >= options.keyframe_histogram_change;
    };
    ShotDetectorSettings refine = options.detector;
    refine.min_shot_length = 0; /* applied once over the whole clip below */
    /* A cut's first clean frame as a single pass would find it (A W C:
     * the shot cut on W starts clean at C, which the run's detector also
     * reports as a cut of its own, merged below). */
    refine.clean_start_span = options.detector.min_shot_length;
    refine.features = false;    /* measured here, on the clip's grid (below) */
    const GstClockTime frame = frame_duration(dec->info());
    /* Features are measured on one frame in `every` (below). */
    const guint64 every = std::max(1u, options.detector.features_every);
    /* A run decodes from keyframe `first` to `look` frames past keyframe
     * `last` (to EOS for the last keyframe): the detector's look-ahead, and
     * with features, `every` more, so that a shot starting on that keyframe
     * (a cut where the encoder put one) has a motion measure. */
    const int look =
        ShotDetector::latency_frames(refine) + 1 + (options.detector.features ? (int)every : 0);
    struct Run {
      size_t first, last;
      GstClockTime start, end;
    };
    std::vector<Run> runs;
    const std::vector<bool> gop_starts = dec->gop_starts();
    auto add_run = [&](size_t first, size_t last) {
      /* A run is decoded from a keyframe that starts a GOP: from an I-frame
       * that starts none (Decoder::gop_starts()), the run goes back to the
       * last keyframe that does. */
      while (first > 0 && first < gop_starts.size() && !gop_starts[first])
        first--;
      const GstClockTime end =
          last + 1 == keys.size() ? GST_CLOCK_TIME_NONE : keys[last].ts + look * frame;
      /* Runs that share a keyframe, or whose frames would overlap (GOPs
       * shorter than the look-ahead), are one run. */
      if (!runs.empty() && (runs.back().last >= first || runs.back().end >= keys[first].ts)) {
        runs.back().last = last;
        runs.back().end = end;
      } else {
        runs.push_back({first, last, keys[first].ts, end});
      }
    };
    /* A keyframe left out of the pass made again with GOP starts alone
     * (an I-frame that starts no GOP: where x264 puts one, it saw a scene
     * change) was not seen: the GOP that holds it is decoded, as if its two
     * keyframes differed. A montage gst-montage writes has an I-frame on
     * every cut, an IDR frame (a GOP start) on about every other (x264's
     * min-keyint): where two clips take turns, the IDR frames show the same
     * clip, and the gate found no change over 8 s of cuts of the 59 s demo
     * montage (9 cuts unseen). */
    const std::vector<GstClockTime> unseen = dec->skipped_key_times();
    for (size_t k = 1; k < keys.size(); k++) {
      bool holds_unseen = false;
      for (GstClockTime t : unseen)
        holds_unseen =
            holds_unseen || !GST_CLOCK_TIME_IS_VALID(t) || (t > keys[k - 1].ts && t < keys[k].ts);
      if (holds_unseen ||
          changed(keys[k - 1].hsv, keys[k - 1].histogram, keys[k].hsv, keys[k].histogram))
        add_run(k - 1, k);
    }
    /* After the last keyframe nothing tells us whether the picture changes:
     * the tail GOP is always decoded. */
    bool tail_alone = false; /* the last GOP is a run of its own */
    if (runs.empty() || runs.back().last != keys.size() - 1) {
      const size_t had = runs.size();
      add_run(keys.size() - 1, keys.size() - 1);
      tail_alone = runs.size() > had;
    }
    /* That run, where it is first decoded from its reference pictures alone
     * (ClipAnalyseOptions::tail_references_only): the workers' decoders
     * leave its non-reference pictures out while tail_references holds, and
     * fine() puts its pictures through the keyframe gate, no detector. Where
     * one changes (tail_changed), refine_tail() decodes it again in full; so
     * where, counted after the pass, more than flash_frames frames in a row
     * were left out (a picture that long, a shot in full decoding, could lie
     * wholly among them: x264's B-frame runs are 3 at most), or the clip's
     * last frame was (a cut on the last frames, which full decoding keeps),
     * or one without a PTS, as the pictures cannot tell. tail_seen: the
     * stream times of the pictures fine() saw of it (written by the one
     * pipeline whose unit holds it). Only where another run decodes frames:
     * a shot that starts at a cut has the frames of the run that found it,
     * and a clip without cuts those of its other runs, so the last shot's
     * features are measured on whole frames; a clip whose only run is the
     * last GOP (one shot whose keyframes agree) would have its features from
     * keyframes alone, motion 0 (review h141). */
    const size_t tail_run = tail_alone && runs.size() > 1 && options.tail_references_only <= 1.0 &&
                                    dec->non_reference_share() >= options.tail_references_only
                                ? runs.size() - 1
                                : SIZE_MAX;
    bool tail_references = tail_run != SIZE_MAX;
    std::atomic<bool> tail_changed{false};
    std::vector<GstClockTime> tail_seen;
    st.tail_references_only = tail_references;

    std::vector<GstClockTime> limits(keys.size(), GST_CLOCK_TIME_NONE);
    for (const Run &r : runs) {
      /* The last GOP of a run is needed for `look` frames; its keyframe's
       * decoding time may lead its display time by a few frames (B-frames). */
      if (GST_CLOCK_TIME_IS_VALID(r.end) && GST_CLOCK_TIME_IS_VALID(stamps[r.last]))
        limits[r.last] = stamps[r.last] + (look + 4) * frame;
    }
    for (size_t k = 0; k < keys.size(); k++)
      GST_DEBUG("%s: keyframe %zu at %" GST_TIME_FORMAT " (fed at %" GST_TIME_FORMAT "%s)",
                path.c_str(), k, GST_TIME_ARGS(keys[k].ts), GST_TIME_ARGS(stamps[k]),
                k < gop_starts.size() && !gop_starts[k] ? ", starts no GOP" : "");
    for (size_t r = 0; r < runs.size(); r++)
      GST_DEBUG("%s: run %zu: keyframes %zu-%zu, frames %" GST_TIME_FORMAT " to %" GST_TIME_FORMAT
                ", delta units of its last GOP fed before %" GST_TIME_FORMAT,
                path.c_str(), r, runs[r].first, runs[r].last, GST_TIME_ARGS(runs[r].start),
                GST_TIME_ARGS(runs[r].end), GST_TIME_ARGS(limits[runs[r].last]));
    /* One detector per run, frames handed to the run their time falls in;
     * a run is done once past its end, or once a boundary is found and
     * decided and the keyframe gate finds no change between the picture
     * and the run's last keyframe (the trust the coarse pass gives two
     * keyframes; but see the header's note on a cut away and back inside
     * one GOP).
     *
     * The runs are shared out among up to `workers` pipelines, each on its
     * own thread: runs are independent (each starts on a keyframe with a
     * fresh detector), so GOPs decode in parallel where one decoder's frame
     * threading waits on each P-frame's references. Runs are grouped into
     * units: a run, or the tail run with the run before it, as a file's last
     * keyframe is the likeliest to be no keyframe at all (a parser draining
     * at EOS may pass the last frame on unparsed, without the delta-unit
     * flag: cityCC0.mpg's last packet is a P-frame so marked), and a
     * pipeline fed nothing before it cannot decode it. The other pipelines
     * read the file forward from its start and each claims the units it
     * reaches unclaimed, at the unit's first keyframe, dropping the GOPs of
     * the others; pass 1's pipeline claims units from the end, one seek
     * each, until it meets a claimed one. So the work is shared however long
     * each unit turns out to take (a run stops where its cut is found: the
     * GOP lengths do not tell). A worker's state is its own; runs are shared
     * read-only, and each run's done and first_seen entries are written by
     * the worker whose unit it is. */
    std::vector<int> unit_of_run(runs.size());
    std::vector<size_t> unit_first_key;
    for (size_t r = 0; r < runs.size(); r++) {
      if (r > 0 && !GST_CLOCK_TIME_IS_VALID(runs[r].end)) {
        unit_of_run[r] = unit_of_run[r - 1];
        continue;
      }
      unit_of_run[r] = (int)unit_first_key.size();
      unit_first_key.push_back(runs[r].first);
    }
    std::vector<int> unit_of_key(keys.size(), -1);
    for (size_t r = 0; r < runs.size(); r++)
      for (size_t k = runs[r].first; k <= runs[r].last; k++)
        unit_of_key[k] = unit_of_run[r];
    const size_t units = unit_first_key.size();
    std::unique_ptr<std::atomic<int>[]> owner(new std::atomic<int>[units]);
    struct Worker {
      int me = 0;
      bool backward = false; /* claims units from the end, one seek each */
      Decoder *dec = nullptr;
      size_t current = SIZE_MAX;
      std::unique_ptr<ShotDetector> detector;
      Collector part;
      std::vector<Shot> starts; /* the boundaries its runs found */
      std::vector<GstClockTime> excursions; /* Collector::excursions of its runs */
      std::vector<Sample> samples;
      int since_boundary = -1;
      bool shot_moved = false; /* the shot of the last boundary has a motion measure */
      gint64 index = -1;       /* of the frame being measured; < 0: unknown */
      cv::Mat before_luma;     /* the luma of frame index - 1, when kept */
      cv::Mat tail_hsv;        /* tail_references: the last picture of the tail run */
      std::vector<float> tail_histogram;
      guint ranges = 0;
      GError *error = nullptr;
      bool ok = true;
    };
    /* Whether worker `me`, reading forward, decodes the GOP of keyframe k
     * (Decoder::select()), claiming its unit at the unit's first keyframe. */
    auto claim = [&](int me, size_t k) {
      const int u = unit_of_key[k];
      if (u < 0)
        return false;
      int none = -1;
      if (k == unit_first_key[(size_t)u])
        owner[(size_t)u].compare_exchange_strong(none, me);
      return owner[(size_t)u].load() == me;
    };
    auto mine = [&](const Worker &w, size_t r) {
      return owner[(size_t)unit_of_run[r]].load() == w.me;
    };
    std::vector<char> done(runs.size(), 0);
    /* Frames the refinement has analysed, all workers together, for the
     * progress: its share of the frames the runs span. */
    std::atomic<guint64> refined_frames{0};
    meter.stage(1.0);
    dec->progress = [&](GstClockTime, GstClockTime duration) {
      GstClockTime span = 0;
      for (const Run &r : runs) {
        const GstClockTime end = GST_CLOCK_TIME_IS_VALID(r.end) ? r.end : duration;
        if (GST_CLOCK_TIME_IS_VALID(end) && end > r.start)
          span += end - r.start;
      }
      if (span > 0)
        meter.report((double)refined_frames.load() * (double)frame / (double)span, duration);
    };
    std::vector<GstClockTime> first_seen(runs.size(), GST_CLOCK_TIME_NONE);
    /* Set when a run's first frame comes later than its keyframe (the check
     * after refine_runs() then sends the clip to full decoding): every
     * pipeline stops at its next frame, and no more runs are sought, so a
     * demuxer whose seeks miss (tsdemux stamps the frames after a seek 5 ms
     * early, so the keyframe falls before its run) costs one run, not all. */
    std::atomic<bool> start_missed{false};
    /* Whether run r's first frame (once seen) is its keyframe, within half a
     * frame. */
    auto starts_on_key = [&](size_t r) {
      return first_seen[r] != GST_CLOCK_TIME_NONE &&
             first_seen[r] <= keys[runs[r].first].ts + frame / 2;
    };
    /* Features are measured on full decoding's grid: one frame in
     * features_every counted from the clip's first frame, motion against
     * the frame just before. A frame's index is its run's first frame's
     * (from its stream time and the frame rate) plus the frames decoded
     * since in the run: counted, as full decoding counts them, so a file
     * whose frames share timestamps (packed B-frames in AVI) stays on the
     * grid within a run. A shot whose frames were all decoded here gets
     * full decoding's features. */
    const GstClockTime origin = dec->first_frame();
    /* Per run: the start of a fade-out to black its detector was still
     * waiting on at the run's end (ShotDetector::finish()). */
    std::vector<GstClockTime> fade_pending(runs.size(), GST_CLOCK_TIME_NONE);
    auto close_run = [&](Worker &w) {
      if (!w.detector)
        return;
      /* The shot list is rebuilt from the boundaries (step 3): the run's
       * last shot, which finish() returns, is not needed. */
      GstClockTime pending = GST_CLOCK_TIME_NONE;
      (void)w.detector->finish(w.part.verdicts, &pending);
      if (w.current < runs.size())
        fade_pending[w.current] = pending;
      w.part.take();
      for (const Shot &s : w.part.starts)
        w.starts.push_back(s);
      w.excursions.insert(w.excursions.end(), w.part.excursions.begin(), w.part.excursions.end());
      w.part = Collector();
      w.detector.reset();
      w.ranges++;
    };
    /* Marks run r done; the pass ends once each of this worker's runs is
     * done and (reading forward) every unit is claimed. */
    auto finish_run = [&](Worker &w, size_t r, GstClockTime at, const char *why) {
      done[r] = 1;
      GST_DEBUG("%s: run %zu done at %" GST_TIME_FORMAT " (%s), pipeline %d", path.c_str(), r,
                GST_TIME_ARGS(at), why, w.me);
      w.dec->done_through((int)runs[r].last);
      for (size_t u = 0; !w.backward && u < units; u++)
        if (owner[u].load() < 0)
          return;
      for (size_t k = 0; k < runs.size(); k++)
        if (mine(w, k) && !done[k])
          return;
      w.dec->stop_pass();
    };
    auto fine = [&](Worker &w, const Views &v) {
      if (start_missed.load()) {
        w.dec->stop_pass();
        return;
      }
      size_t r = runs.size();
      for (size_t k = 0; k < runs.size(); k++)
        if (v.stream_time >= runs[k].start &&
            (!GST_CLOCK_TIME_IS_VALID(runs[k].end) || v.stream_time < runs[k].end) && mine(w, k))
          r = k;
      if (r == runs.size()) {
        /* Past a run's end: that run is done. */
        for (size_t k = 0; k < runs.size(); k++)
          if (mine(w, k) && !done[k] && GST_CLOCK_TIME_IS_VALID(runs[k].end) &&
              v.stream_time >= runs[k].end)
            finish_run(w, k, v.stream_time, "past its end");
        GST_LOG("%s: frame %" GST_TIME_FORMAT " in no run, pipeline %d", path.c_str(),
                GST_TIME_ARGS(v.stream_time), w.me);
        return;
      }
      if (done[r]) {
        GST_LOG("%s: frame %" GST_TIME_FORMAT " after run %zu was done, pipeline %d", path.c_str(),
                GST_TIME_ARGS(v.stream_time), r, w.me);
        return;
      }
      GST_LOG("%s: frame %" GST_TIME_FORMAT " analysed in run %zu, pipeline %d", path.c_str(),
              GST_TIME_ARGS(v.stream_time), r, w.me);
      refined_frames++;
      if (!GST_CLOCK_TIME_IS_VALID(first_seen[r])) {
        first_seen[r] = v.stream_time;
        if (!starts_on_key(r)) {
          start_missed.store(true);
          w.dec->stop_pass();
          return;
        }
      }
      if (r == tail_run && tail_references) {
        /* The tail run's reference pictures through the keyframe gate. */
        if (r != w.current) {
          close_run(w);
          if (options.run_started)
            options.run_started((guint)r, (guint)w.me);
          w.current = r;
          w.ranges++;
          w.tail_hsv.release();
          w.tail_histogram.clear();
        }
        const std::vector<float> histogram = shot_histogram(v.hsv);
        const Key &key = keys[runs[r].first];
        tail_seen.push_back(v.stream_time);
        const bool moved =
            !GST_CLOCK_TIME_IS_VALID(v.stream_time) ||
            changed(key.hsv, key.histogram, v.hsv, histogram) ||
            (!w.tail_hsv.empty() && changed(w.tail_hsv, w.tail_histogram, v.hsv, histogram));
        v.hsv.copyTo(w.tail_hsv);
        w.tail_histogram = histogram;
        if (moved) {
          tail_changed.store(true);
          finish_run(w, r, v.stream_time, "a reference picture changed: to be decoded in full");
        }
        return;
      }
      if (r != w.current) {
        close_run(w);
        if (options.run_started)
          options.run_started((guint)r, (guint)w.me);
        w.current = r;
        w.detector = std::make_unique<ShotDetector>(refine, luma_only);
        w.since_boundary = -1;
        w.before_luma.release();
        w.index = GST_CLOCK_TIME_IS_VALID(v.stream_time) && GST_CLOCK_TIME_IS_VALID(origin) &&
                          v.stream_time >= origin
                      ? std::llround((double)(v.stream_time - origin) / frame)
                      : -1;
      } else if (w.index >= 0) {
        w.index++;
      }
      w.detector->push(v.hsv, v.luma, v.bgr, v.stream_time, v.duration, w.part.verdicts);
      const size_t had = w.part.starts.size();
      w.part.take();
      const bool measured = w.index >= 0 && (guint64)w.index % every == 0;
      w.samples.push_back(measure(v, measured, w.before_luma));
      if (w.index >= 0 && (guint64)(w.index + 1) % every == 0)
        v.luma.copyTo(w.before_luma);
      else
        w.before_luma.release();
      if (w.part.starts.size() > had) {
        w.since_boundary = 0;
        /* Has the new shot a motion measure yet (frames after its start
         * are already measured: the verdict trails them)? */
        const GstClockTime start = w.part.starts.back().start;
        w.shot_moved = !options.detector.features;
        for (size_t k = w.samples.size(); k-- > 0 && w.samples[k].ts > start && !w.shot_moved;)
          w.shot_moved = w.samples[k].motion >= 0;
      } else if (w.since_boundary >= 0) {
        w.since_boundary++;
        w.shot_moved = w.shot_moved || w.samples.back().motion >= 0;
      }
      /* From the frame whose push decided the boundary on: a later cut
       * before this frame is still in the detector's look-ahead, and
       * close_run()'s finish() decides it; one that the gate cannot see
       * (a cut away and back) is what the coarse pass trusts anyway. The
       * run also goes on until the new shot has one motion measure (at
       * most features_every frames more), as the keyframes give none.
       * Only from the run's last GOP on (no keyframe of the run between the
       * frame and its last): the keyframes in between were found changed
       * (or their GOPs overlap), so a picture like the last keyframe's
       * earlier on says nothing of the frames up to them. A run merged over
       * 15 keyframes of the demo montage stopped 3.5 s in on a picture like
       * the last keyframe's, 22 s later, and the 24 cuts between went
       * unseen. */
      const Run &run = runs[r];
      if (w.since_boundary >= 0 && w.shot_moved && run.last + 1 < keys.size() &&
          (run.last == 0 || v.stream_time >= keys[run.last - 1].ts)) {
        Sample &now = w.samples.back();
        if (now.histogram.empty())
          now.histogram = shot_histogram(v.hsv);
        if (!changed(v.hsv, now.histogram, keys[run.last].hsv, keys[run.last].histogram))
          finish_run(w, r, v.stream_time, "boundary decided, picture as its last keyframe");
      }
    };

    /* Whether a pipeline of refine_runs() failed on a stall (Decoder::stalled()). */
    bool refine_stalled = false;
    /* Decodes the runs with `workers` pipelines; on success the boundaries
     * and samples are in col.starts and samples. */
    auto refine_runs = [&](size_t workers, GError **err) {
      std::vector<Worker> crew(workers);
      /* Each other pipeline owns one unit from the start (unit g for
       * pipeline g), so that it has a frame to preroll on: fed nothing, a
       * pipeline never prerolls (decodebin exposes no pad before its
       * decoder has decoded a frame), and fails only when the stall
       * timeout runs out. */
      for (size_t u = 0; u < units; u++)
        owner[u].store(u + 1 < workers ? (int)u : -1);
      std::fill(done.begin(), done.end(), 0);
      tail_changed.store(false);
      tail_seen.clear();
      refined_frames = 0;
      std::fill(first_seen.begin(), first_seen.end(), GST_CLOCK_TIME_NONE);
      std::fill(fade_pending.begin(), fade_pending.end(), GST_CLOCK_TIME_NONE);
      start_missed.store(false);
      /* Pass 1's pipeline: alone, it reads forward from the first run, as
       * the others do; with others, it claims the last unclaimed unit and
       * seeks to it, again and again, so the two ends meet where the work
       * is shared evenly (the tail GOP, decoded to EOS, comes first). A
       * seek aims one GOP early (at the start for the first two GOPs): a
       * demuxer may land past the time asked for (mpegpsdemux seeks by byte
       * position: cityCC0.mpg landed a GOP late), and the probe drops the
       * GOP before the run anyway. */
      Worker &lead = crew.back();
      lead.me = (int)workers - 1;
      lead.dec = dec.get();
      lead.backward = workers > 1;
      /* Reading backward, the unit being sought (none of its others). */
      std::atomic<int> lead_unit{-1};
      if (lead.backward)
        dec->select(
            [&](size_t k) { return unit_of_key[k] >= 0 && unit_of_key[k] == lead_unit.load(); },
            limits);
      else
        dec->select([&claim, me = lead.me](size_t k) { return claim(me, k); }, limits);
      if (tail_references)
        dec->references_only_from(runs[tail_run].first, runs[tail_run].start);
      /* The others: a pipeline each, from the start of the file, sharing the
       * processors (pass 1's decoder keeps its own choice). */
      std::vector<std::unique_ptr<Decoder>> extra;
      std::vector<std::thread> threads;
      for (size_t g = 0; g + 1 < workers; g++) {
        extra.push_back(std::make_unique<Decoder>());
        Worker &w = crew[g];
        w.me = (int)g;
        w.dec = extra.back().get();
        w.dec->select([&claim, me = w.me](size_t k) { return claim(me, k); }, limits, stamps);
        if (tail_references)
          w.dec->references_only_from(runs[tail_run].first, runs[tail_run].start);
        w.dec->decoder_threads = std::max(1u, g_get_num_processors() / (guint)workers);
        st.pipelines++;
        threads.emplace_back([&w, &fine, &close_run, &uri_s, &options]() {
          auto consumer = [&w, &fine](const Views &v) { fine(w, v); };
          w.ok = w.dec->open(uri_s, options.stall_timeout, Decoder::Feed::kSelected, consumer,
                             &w.error) &&
                 w.dec->pass(false, GST_SEEK_FLAG_NONE, 0, GST_CLOCK_TIME_NONE, consumer, &w.error);
          close_run(w);
        });
      }
      auto seek_pass = [&](size_t first) {
        st.seeks++;
        lead.ok = dec->pass(
            true, GST_SEEK_FLAG_ACCURATE, first > 1 ? keys[first - 1].ts : 0, GST_CLOCK_TIME_NONE,
            [&](const Views &v) { fine(lead, v); }, &lead.error);
        close_run(lead);
      };
      if (!lead.backward)
        seek_pass(runs.front().first);
      for (size_t u = units; lead.backward && lead.ok && !start_missed.load() && u-- > 0;) {
        int none = -1;
        if (owner[u].compare_exchange_strong(none, lead.me)) {
          lead_unit.store((int)u);
          seek_pass(unit_first_key[u]);
        } else if (none != lead.me)
          break; /* the other end has got here */
      }
      for (std::thread &t : threads)
        t.join();
      bool ok = true;
      for (Worker &w : crew) {
        if (w.dec != dec.get())
          dec->absorb(*w.dec);
        if (!w.ok && w.dec->stalled())
          refine_stalled = true;
        if (!w.ok && ok) {
          g_propagate_error(err, w.error);
          w.error = nullptr;
          ok = false;
        }
        g_clear_error(&w.error);
      }
      if (!ok)
        return false;
      for (Worker &w : crew) {
        col.starts.insert(col.starts.end(), w.starts.begin(), w.starts.end());
        samples.insert(samples.end(), std::make_move_iterator(w.samples.begin()),
                       std::make_move_iterator(w.samples.end()));
        st.refined_ranges += w.ranges;
      }
      /* In time order, as one pipeline reading forward hands them over: the
       * features' sums then do not depend on who decoded what. */
      std::stable_sort(samples.begin(), samples.end(),
                       [](const Sample &a, const Sample &b) { return a.ts < b.ts; });
      std::vector<GstClockTime> excursions;
      for (Worker &w : crew)
        excursions.insert(excursions.end(), w.excursions.begin(), w.excursions.end());
      std::sort(excursions.begin(), excursions.end());
      for (Sample &s : samples)
        s.excursion = std::binary_search(excursions.begin(), excursions.end(), s.ts);
      return true;
    };
    /* One pipeline where there is one unit or one processor. A pipeline
     * that fails (a GOP that cannot be decoded without the GOPs it was not
     * fed) has the runs decoded again by one pipeline, whose error, if any,
     * stands. A stall (Mode::kAuto) is not tried again with one pipeline:
     * the clip is decoded in full (ClipAnalysePath::kFullStalled). */
    const size_t workers =
        std::min<size_t>(units, options.refine_decoders > 0 ? options.refine_decoders
                                                            : std::min(2u, g_get_num_processors()));
    const bool may_fall_back = options.mode == ClipAnalyseOptions::Mode::kAuto;
    GError *refine_error = nullptr;
    bool refined = refine_runs(workers, workers == 1 ? &refine_error : nullptr);
    if (!refined && workers > 1 && !(may_fall_back && refine_stalled))
      refined = refine_runs(1, &refine_error);
    /* The tail run, where its reference pictures changed: decoded again,
     * every frame, by pass 1's pipeline, with a ShotDetector as the other
     * runs were. */
    auto refine_tail = [&](GError **err) {
      tail_references = false;
      st.tail_decoded_again = true;
      Worker w;
      w.me = 0;
      w.backward = true; /* its one unit: nothing to claim */
      w.dec = dec.get();
      for (size_t u = 0; u < units; u++)
        owner[u].store(u == (size_t)unit_of_run[tail_run] ? 0 : -2);
      done[tail_run] = 0;
      first_seen[tail_run] = GST_CLOCK_TIME_NONE;
      fade_pending[tail_run] = GST_CLOCK_TIME_NONE;
      const size_t first = runs[tail_run].first;
      dec->select([first](size_t k) { return k >= first; }, limits);
      st.seeks++;
      w.ok = dec->pass(
          true, GST_SEEK_FLAG_ACCURATE, first > 1 ? keys[first - 1].ts : 0, GST_CLOCK_TIME_NONE,
          [&](const Views &v) { fine(w, v); }, &w.error);
      close_run(w);
      if (!w.ok) {
        if (w.dec->stalled())
          refine_stalled = true;
        g_propagate_error(err, w.error);
        return false;
      }
      col.starts.insert(col.starts.end(), w.starts.begin(), w.starts.end());
      std::sort(w.excursions.begin(), w.excursions.end());
      for (Sample &s : w.samples)
        s.excursion = std::binary_search(w.excursions.begin(), w.excursions.end(), s.ts);
      samples.insert(samples.end(), std::make_move_iterator(w.samples.begin()),
                     std::make_move_iterator(w.samples.end()));
      std::stable_sort(samples.begin(), samples.end(),
                       [](const Sample &a, const Sample &b) { return a.ts < b.ts; });
      st.refined_ranges += w.ranges;
      return true;
    };
    if (refined && tail_references && !tail_changed.load()) {
      /* The frames left out, counted between the pictures seen (in frames:
       * a time span read at the caps' rate misses a run of 8 left out
       * where the rate is an average lower than the last GOP's, review
       * h141). */
      std::vector<GstClockTime> left = dec->left_out_times();
      std::sort(tail_seen.begin(), tail_seen.end());
      std::sort(left.begin(), left.end()); /* GST_CLOCK_TIME_NONE last */
      const char *why = nullptr;
      if (tail_seen.empty())
        why = "no picture of it was seen";
      else if (!left.empty() && !GST_CLOCK_TIME_IS_VALID(left.back()))
        why = "a frame without a timestamp was left out";
      else if (!left.empty() && left.back() > tail_seen.back())
        why = "its last frame was left out";
      for (size_t k = 1; !why && k < tail_seen.size(); k++) {
        const auto from = std::upper_bound(left.begin(), left.end(), tail_seen[k - 1]);
        const auto to = std::lower_bound(left.begin(), left.end(), tail_seen[k]);
        if (to - from > options.detector.flash_frames)
          why = "more than flash_frames frames in a row were left out";
      }
      if (why) {
        GST_DEBUG("%s: the last GOP decoded from its reference pictures: %s", path.c_str(), why);
        tail_changed.store(true);
      } else {
        /* Its frames' spacings, the left-out ones' stamps included, for
         * frame_spacing_varies() (a clip whose only spacings were these
         * read the caps' rate where full decoding found it variable). */
        std::vector<GstClockTime> all = tail_seen;
        all.insert(all.end(), left.begin(), left.end());
        std::sort(all.begin(), all.end());
        dec->add_frame_times(all);
      }
    }
    if (refined && tail_changed.load() && !start_missed.load()) {
      GST_DEBUG("%s: the last GOP's reference pictures changed: decoding it in full", path.c_str());
      refined = refine_tail(&refine_error);
    }
    const bool stalled = !refined && may_fall_back && refine_stalled;
    if (stalled) {
      GST_INFO("%s: the keyframe path's refinement stalled (%s): decoding it in full", path.c_str(),
               refine_error ? refine_error->message : "");
      g_clear_error(&refine_error);
    } else if (!refined) {
      g_propagate_error(error, refine_error);
      return false;
    }
    lap(st.refine_time);
    st.refined_frames = refined_frames.load();
    /* Every run must have started on its keyframe, or a cut in its first
     * frames could be missing: if not, the file is decoded in full. */
    keyframes = !stalled;
    for (size_t r = 0; r < runs.size() && keyframes; r++)
      keyframes = starts_on_key(r);
    if (!keyframes) {
      route = stalled ? ClipAnalysePath::kFullStalled : ClipAnalysePath::kFullRunStart;
      given_up += dec->frames();
      st.refined_ranges = 0;
      st.refined_frames = 0;
      col = Collector();
      dec = std::make_unique<Decoder>();
      meter.stage(1.0);
      dec->progress = meter.by_position();
      st.pipelines++;
      if (!dec->open(uri_s, options.stall_timeout, Decoder::Feed::kAll, consume, error))
        return false;
      lap(st.open_time);
    }
    std::sort(col.starts.begin(), col.starts.end(),
              [](const Shot &a, const Shot &b) { return a.start < b.start; });
    /* A run that ended on a fade-out to black still waiting: the GOPs after
     * it were not decoded, as their keyframes did not change, and one
     * detector over every frame would still be waiting when a later run
     * finds the next boundary, which is then a fade from the fade-out's
     * start (the earliest one waiting, as ShotDetector keeps it). Only
     * where the picture the fade-out's run ended on is still the picture
     * (the gate finds no change between its last keyframe and the first of
     * the boundary's run): a slow change between them that no two
     * neighbouring keyframes show (a fade-in in a brightness ramp) would
     * have ended the wait unseen, and the boundary stays as found. */
    GstClockTime opened = 0; /* where the last boundary's transition ends */
    for (Shot &s : col.starts) {
      size_t q = 0; /* the run that found s */
      while (q + 1 < runs.size() && runs[q + 1].start <= s.start)
        q++;
      size_t waiting = runs.size();
      for (size_t r = 0; r < q; r++)
        if (GST_CLOCK_TIME_IS_VALID(fade_pending[r]) && fade_pending[r] > opened &&
            fade_pending[r] < s.start &&
            (waiting == runs.size() || fade_pending[r] < fade_pending[waiting]))
          waiting = r;
      const size_t a = waiting < runs.size() ? runs[waiting].last : 0, b = runs[q].first;
      if (waiting < runs.size() &&
          !changed(keys[a].hsv, keys[a].histogram, keys[b].hsv, keys[b].histogram)) {
        s.start = s.transition_start = fade_pending[waiting];
        s.transition = Transition::kFade;
      }
      opened = GST_CLOCK_TIME_IS_VALID(s.transition_end) ? s.transition_end : s.start;
    }
  }
  if (keyframes) {
    /* 3. One shot list, min_shot_length applied as in a single pass. */
    const GstClockTime first_frame = dec->first_frame();
    const GstClockTime frame = frame_duration(dec->info());
    Shot cur;
    cur.start = cur.transition_start = cur.transition_end = first_frame;
    for (const Shot &s : col.starts) {
      if (s.start <= cur.start || s.start - cur.start < options.detector.min_shot_length) {
        /* A cut one or two frames into the clip, merged: the clip opens
         * on another picture (a black frame, a leftover frame), and its
         * first shot's picture starts there, as ShotDetector::clean_start()
         * finds in full decoding. The runs decode the clip's first GOP
         * whenever its first frame differs from the next keyframe. */
        if (shots.empty() && cur.transition_end == first_frame &&
            s.transition == Transition::kCut && s.start > first_frame &&
            s.start - first_frame <=
                (GstClockTime)ShotDetector::clean_start_reach(options.detector) * frame + frame / 2)
          cur.transition_end = s.start;
        continue;
      }
      cur.end = s.start;
      shots.push_back(cur);
      cur = s;
    }
    cur.end = dec->end();
    shots.push_back(cur);
    if (options.detector.features) {
      /* A keyframe the refinement decoded again (within half a frame: a
       * demuxer may stamp it a nanosecond apart after the seek) is
       * measured there. */
      std::vector<GstClockTime> refined;
      for (const Sample &s : samples)
        refined.push_back(s.ts);
      std::sort(refined.begin(), refined.end());
      for (Sample &s : key_samples) {
        const GstClockTime half = frame_duration(dec->info()) / 2;
        const GstClockTime from = s.ts > half ? s.ts - half : 0;
        auto at = std::lower_bound(refined.begin(), refined.end(), from);
        if (at == refined.end() || *at > s.ts + half)
          samples.push_back(std::move(s));
      }
      for (Shot &s : shots)
        features_from_samples(s, samples);
    }
  }
  if (!keyframes) {
    if (!dec->pass(false, GST_SEEK_FLAG_NONE, 0, GST_CLOCK_TIME_NONE, consume, error))
      return false;
    lap(st.refine_time);
    if (full) {
      const std::optional<Shot> last = full->finish(col.verdicts);
      col.take();
      if (last)
        col.ended.push_back(*last);
    }
    shots = col.ended;
  }
  st.frames_decoded = given_up + dec->frames();
  st.path = route;
  st.keyframe_path = keyframes;

  out.path = path;
  out.uri = uri_s;
  out.first_frame = GST_CLOCK_TIME_IS_VALID(dec->first_frame()) ? dec->first_frame() : 0;
  out.duration = dec->end();
  if (const GstVideoInfo *info = dec->info()) {
    out.width = GST_VIDEO_INFO_WIDTH(info);
    out.height = GST_VIDEO_INFO_HEIGHT(info);
    clip_frame_rate(GST_VIDEO_INFO_FPS_N(info), GST_VIDEO_INFO_FPS_D(info),
                    dec->median_frame_interval(), out.fps_n, out.fps_d);
    /* A measured rate also gives the last frame the duration the caps'
     * rate (a few us for IVF's 90000/1) cut short; the last shot ends there. */
    const GstClockTime last = dec->last_start();
    if (out.fps_n != GST_VIDEO_INFO_FPS_N(info) && GST_CLOCK_TIME_IS_VALID(last) &&
        GST_CLOCK_TIME_IS_VALID(out.duration)) {
      const GstClockTime end = last + gst_util_uint64_scale_int(GST_SECOND, out.fps_d, out.fps_n);
      if (end > out.duration) {
        if (!shots.empty() && shots.back().end == out.duration)
          shots.back().end = end;
        out.duration = end;
      }
    }
    /* A rate the frames do not keep (a phone's variable rate, a clip
     * joined from parts at two rates) is reported as variable, 0/1: the
     * exports then count its source times on the edit's grid, as for a
     * clip without a rate, where counting frames at the caps' nominal rate
     * named frames past the clip's end (a new user's trial: 270 frames,
     * 24 fps then 12 fps, "24000/1001" in its caps; an EDL source time of
     * frame 280). */
    if (out.fps_n > 0 && frame_spacing_varies(dec->frame_intervals())) {
      GST_INFO("%s: frame spacing varies: variable frame rate (caps %d/%d)", path.c_str(),
               out.fps_n, out.fps_d);
      out.fps_n = 0;
      out.fps_d = 1;
    }
  }
  if (!GST_CLOCK_TIME_IS_VALID(out.duration) || out.duration == 0 || shots.empty()) {
    if (dec->untimed_frames() > 0) {
      g_set_error(error, GST_STREAM_ERROR, GST_STREAM_ERROR_FORMAT,
                  "its frames carry no timestamps, so its shots cannot be placed in time (bare "
                  "and multipart JPEG streams have none); remux or re-encode it into a container "
                  "with a frame rate, such as Matroska or MP4");
      return false;
    }
    g_set_error(error, GST_STREAM_ERROR, GST_STREAM_ERROR_DECODE,
                "no video frames could be decoded");
    return false;
  }
  out.shots = shots;
  out.analysis_path = clip_analyse_path_text(route);
  out.cuts.clear();
  for (size_t k = 1; k < shots.size(); k++)
    out.cuts.push_back(shots[k].start);
  out.stated_duration = stated.get();
  return true;
}

} // namespace montage
