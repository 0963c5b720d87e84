/* Internal to libgstmontage's rendering (render.cpp, render-cuts.cpp); not
 * installed. The two render paths share the encoder hook and the error
 * bookkeeping declared here. */
#pragma once

#include <gst/montage/downmix-private.h>
#include <gst/montage/render.h>

#include <gst/audio/audio.h>
#include <gst/video/video.h>

#include <algorithm>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace montage {
namespace render_detail {

enum class Outcome { kDone, kEncoderFailed, kFailed };

/* The montage's colorimetry at `width` x `height`, on both render paths:
 * GStreamer's default for I420 at that size (gst_video_info_set_format():
 * BT.601 below 720 lines, BT.709 from 720, limited range), the one
 * encoders and players assume for an untagged stream of that size. The cut
 * path puts it on the decoders' output caps and the encoder's input alike,
 * so each clip's frames are converted to it in front of the decoders'
 * sinks (levels and matrix: a full-range clip, an HD BT.709 clip at an SD
 * size; through 16-bit RGB, render-cuts.cpp route_colour()); the timeline
 * path on the video track's restriction caps (full-range frames made
 * limited first, render.cpp RangeLimiter). The caps carried none: frames
 * kept their clip's colorimetry and were encoded as if in the output
 * size's default, so a 720p BT.709 clip rendered at 320x180 changed colour
 * (trial h113). Newly allocated. */
inline gchar *output_colorimetry(gint width, gint height)
{
  GstVideoInfo info;
  gst_video_info_init(&info);
  gst_video_info_set_format(&info, GST_VIDEO_FORMAT_I420, (guint)width, (guint)height);
  return gst_video_colorimetry_to_string(&info.colorimetry);
}

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

/* `plan` with every segment's start and end and the plan's end moved to the
 * time GES starts that output frame (frame_time() of the nearest frame,
 * which the cut path uses too). The planner rounds instead, so some of its
 * frame boundaries lie 1 ns after the frame GES starts there; a clip ending
 * there made the compositor push a 1 ns frame, which encodebin's videorate
 * turned into one frame more than the plan at the end of the edit (188 for
 * a 187-frame plan at 24 fps).
 *
 * GES also counts a clip's frames from the clip's own start (its k-th frame
 * at start + k * frame length, truncated), so a clip starting where the
 * truncated grid is 2/3 ns early and ending on the grid (frames 2 to 30 at
 * 30 fps: 933333334 ns for 28 frames of 33333333.3 ns) lasts 1 ns more than
 * its frames and gets one frame more. Where another clip starts at its end
 * that frame is hidden; where nothing does (the edit's end, a hole in the
 * plan) it was shown: 31 frames for a 30-frame plan, 880 for 879 (through
 * ges-launch-1.0 on the .xges as well). Such a segment ends after its own
 * frames instead (1 ns before the grid), and the plan's end with the last
 * segment's, so that GES pads no track with a 1 ns gap up to it. In-points
 * stay as they are. The timeline render and the .xges export (which
 * ges-launch-1.0 renders) build their timelines from it. */
inline Plan on_output_grid(const Plan &plan)
{
  auto snap = [&](GstClockTime t) { return frame_time(frame_index(t, plan), plan); };
  Plan out = plan;
  const GstClockTime plan_end = snap(plan.duration);
  out.duration = plan_end;
  for (size_t i = 0; i < out.segments.size(); i++) {
    Segment &seg = out.segments[i];
    const guint64 first = frame_index(seg.start, plan);
    const guint64 last = frame_index(seg.start + seg.duration, plan);
    GstClockTime end = frame_time(last, plan);
    seg.start = frame_time(first, plan);
    const bool followed =
        i + 1 < out.segments.size() && frame_index(plan.segments[i + 1].start, plan) == last;
    if (!followed && last > first) {
      const GstClockTime own_end = seg.start + frame_time(last - first, plan);
      if (own_end < end && end == plan_end)
        out.duration = own_end;
      end = std::min(end, own_end);
    }
    seg.duration = end - seg.start;
  }
  return out;
}

/* How far a container's rounding may leave a frame's stamp or duration from
 * its frame rate's: Matroska and WebM keep times to the millisecond. */
constexpr GstClockTime kStampRounding = GST_MSECOND;

/* The frames that entered one video decoder since its latest segment and
 * no later than that segment's start (plus kStampRounding), as the demuxer
 * or parser stamped them: PTS and duration (GST_CLOCK_TIME_NONE when it
 * gave none), ns. Written by a pad probe on the decoder's sink pad
 * (watch_decoder_input()), read wherever its decoded frames are judged
 * (clipped_off()); any thread. At most kMaxFrames are kept (a GOP before an
 * in-point is far shorter), the oldest forgotten first. */
class DecoderInput
{
public:
  static constexpr size_t kMaxFrames = 1024;

  /* A new segment: forgets every frame. */
  void segment(const GstSegment &seg);
  /* A frame entering the decoder (kept when stamped by the segment's start). */
  void frame(GstClockTime pts, GstClockTime duration);
  /* The stamp of the frame that entered stamped at or before `before` and
   * whose decoded copy, of duration `decoded` (the caps' frame when the
   * decoder gives its own, 0: unknown), ends at `end`: the frame whose own
   * duration ends there, else the one `decoded` before `end` (within 1 us).
   * GST_CLOCK_TIME_NONE when none did. */
  GstClockTime start_of(GstClockTime end, GstClockTime before, GstClockTime decoded) const;

private:
  mutable std::mutex lock_;
  GstClockTime start_ = GST_CLOCK_TIME_NONE;
  std::deque<std::pair<GstClockTime, GstClockTime>> frames_;
};

/* Records what enters `decoder` (a GstVideoDecoder) in a new DecoderInput,
 * returned, through a pad probe on its sink pad that holds a reference to it
 * for as long as the pad lives. */
std::shared_ptr<DecoderInput> watch_decoder_input(GstElement *decoder);

/* The video decoders of one decoding pipeline (render-cuts.cpp's
 * ClipDecoder): what enters each (watch_decoder_input()), and which of them
 * gives the stream shown. Any thread.
 *
 * What enters a decoder is kept on the decoder itself (GObject qdata, freed
 * when the decoder is finalized) and the decoder shown through a GWeakRef
 * (NULL once it is disposed), so that nothing here outlives a decoder. They
 * were kept in a map by the decoder's address, never erased: a decoder
 * destroyed while its pipeline lived (decodebin throws away one that fails
 * to start and tries the next) left its entry, and a decoder allocated
 * later at the same address was taken as added already (no probe on its
 * input, no packed-B-frame guard) and its frames judged by the dead one's
 * input. Erasing the entry on "deep-element-removed" was not done: dispose
 * emits it while the decoder is being destroyed. */
class DecoderInputs
{
public:
  DecoderInputs();
  ~DecoderInputs();
  DecoderInputs(const DecoderInputs &) = delete;
  DecoderInputs &operator=(const DecoderInputs &) = delete;
  /* A video decoder added to the pipeline ("deep-element-added"): records
   * what enters it and installs guard_packed_b_frames(), once per decoder.
   * True when it did, false when `decoder` was added before. */
  bool add(GstElement *decoder);
  /* The decoder of the stream shown (NULL: none, a raw stream). */
  void show(GstElement *decoder);
  /* What enters the decoder of the stream shown (NULL: none, not known yet,
   * or that decoder is gone). */
  std::shared_ptr<DecoderInput> shown();
  /* What enters `decoder` (NULL: not added); the caller holds a reference
   * to `decoder`. */
  static std::shared_ptr<DecoderInput> of(GstElement *decoder);
  /* Forgets the decoder shown (the pipeline was thrown away). */
  void clear();

private:
  GWeakRef shown_;
};

/* How many frames (at the rate of the decoder's input caps) earlier than
 * its segment's start a packed-B-frame guard lets a decoder give frames. */
constexpr guint64 kPackedBFramesLead = 2;

/* Puts the frames `decoder` (a GstVideoDecoder) gives of an MPEG-4 Part 2
 * stream that may hold B-frames (video/mpeg mpegversion=4, video/x-divx,
 * video/x-xvid; not profile "simple") where they belong, and keeps the
 * frame of its segment's start; for any other stream it does nothing.
 * Install it on every video decoder of a render, before any other probe on
 * the decoder's source pad (the frames and segment those see are then the
 * real ones); a probe on the sink pad added before it (watch_decoder_input())
 * sees the segment as asked for. Pad probes on the decoder's sink and source pads, which own their
 * state; any thread.
 *
 * Why: Xvid and DivX write B-frames "packed" into AVI (a P-frame and the
 * B-frame before it in one chunk, an empty 7-byte frame after). avidemux
 * stamps only the keyframes' PTS, mpeg4videoparse splits a packed chunk into
 * two frames, the second stamped one frame after the first, which is also
 * the next chunk's time, and GstVideoDecoder (1.22) gives each decoded frame
 * the oldest DTS it holds: with the two alike and the empty frame's time
 * never given, every P-frame comes out stamped with the B-frame before it
 * (Megamind.avi at 23.976 fps: frames 3 and 4 both 0.1251 s, then frame 5
 * 0.2085 s). Decoding on, FramePlacer puts it one frame later. After a
 * FLUSH | ACCURATE seek to a P-frame's time T, though, the decoder clips to
 * its segment: the P-frame, stamped a frame before T and ending at T, was
 * dropped before anyone could place it, and the segment began on the frame
 * after its in-point along both render paths (and ges-launch-1.0); a seek
 * to a B- or I-frame kept it. Now the segment entering the decoder starts
 * kPackedBFramesLead frames earlier (its stream and running times kept), so
 * that the frames before T come out; on the source pad FramePlacer places
 * every frame (frameplacer-private.h: a frame stamped like the one before
 * goes a frame after it, one given again is dropped), each frame is then
 * clipped to the segment asked for as the decoder would have (dropped when
 * it ends by its start, clipped when it straddles it), and the segment
 * event goes on as it was asked for. A frame held for the one after it
 * when EOS enters the decoder (GES stops each source at its segment's end,
 * and the decoder drops the frames past it) is decided when the decoder
 * has drained ahead of it (drain_ahead_of_eos(), which this installs), by
 * the frames that drain gives; the last held ones the first only, as
 * FramePlacer decides at the end. New caps on the source pad while frames
 * are held end them the same way (the first only), and they go out ahead of
 * the caps, in the format they were decoded in. Each segment made earlier
 * is remembered by its seqnum until it comes out (GstVideoDecoder keeps
 * serialized events for its next frame, so that several can enter before
 * the first comes out), and each is restored. A stream stamped in order
 * (unpacked, or from another container) comes out as before. */
void guard_packed_b_frames(GstElement *decoder);

/* Makes `decoder` (a GstVideoDecoder) drain before it takes EOS, so that
 * what pad probes on its source pad hold for a later frame can still be
 * pushed there: once the decoder pushes EOS the pad stores it before its
 * probes run, and refuses every frame from then on (GST_FLOW_EOS). A probe
 * on its sink pad sends a SEGMENT_DONE into the decoder ahead of each EOS;
 * GstVideoDecoder (1.22) drains on it (every frame it still holds comes
 * out) and sends it on at once, and the probes on the source pad let their
 * held frames out at it as at any SEGMENT_DONE, through the probes after
 * them, in order. A probe added at that EOS, after every other one on the
 * source pad, drops it: downstream sees the frames and then the EOS, as
 * without it. The packed-B-frame guard and the timeline path's clipped-frame
 * probe both rely on it. Installing it twice installs it once. Before, the
 * guard pushed its held frames from the sink pad's EOS probe, decided
 * before the frames still in the decoder came out, and the clipped-frame
 * probe handed its frame to the peer's chain function past the pad (and
 * past any probe after it). */
void drain_ahead_of_eos(GstElement *decoder);

/* Lets `uridecodebin` (expose-all-streams=FALSE, its caps raw video) plug
 * vp9alphadecodebin and vp8alphadecodebin, for VP9 or VP8 with alpha in
 * WebM (`codec-alpha=true`): a handler of its "autoplug-continue" answers
 * FALSE for ANY caps. With expose-all-streams=FALSE, decodebin (1.22,
 * analyze_new_pad()) asks that of every candidate decoder's source pad
 * template and drops the stream as "missing a decoder" when the answer is
 * TRUE for caps that are not the raw caps it was asked for; those two
 * decoders' templates are ANY (every other decoder's is raw and passes).
 * Streams of another kind (a video clip's audio) are still left undecoded
 * by their decoders' raw templates. Real caps are never ANY there:
 * decodebin asks about a pad's caps once they are fixed. Before, both
 * paths failed on such a clip with "Your GStreamer installation is missing
 * a plug-in". Connecting it twice does no harm. */
void decode_alpha_streams(GstElement *uridecodebin);

/* How much of decoded frame `buf` its decoder clipped off at the start of
 * `seg`, the segment it came out in, ns: for a frame whose PTS is the
 * segment's start, how long before that start the frame itself starts
 * (0: not clipped, or nothing tells).
 *
 * Where the frame starts comes from the real frame times: the stamp it
 * entered its decoder with (`input`, may be NULL: not seen), found by its
 * end, which clipping keeps: the entered frame whose own duration ends
 * there (a decoder that keeps the container's durations: jpegdec, the
 * hardware decoders), else the one `caps_frame` (one frame at the rate its
 * caps state, 0: none) before it (one that gives every frame the caps'
 * duration: avdec_h264). Where no entered frame tells, from `grid`, the
 * clip's frame duration as its analysis measured it (ClipAnalysis::fps_n,
 * fps_d; 0 for a variable or unknown rate: nothing tells): a frame lasting
 * at least kStampRounding less than `grid` started `grid` before its end.
 * Never from the caps' rate alone: a variable-rate clip's caps state a
 * guess (qtdemux an average), and a 10 ms frame of a clip whose caps say
 * 50 ms was taken for a frame clipped by 40 ms, losing the in-point's own
 * frame (docs/render.md, "The in-point's frame").
 *
 * Why: after a FLUSH | ACCURATE seek to T a frame that starts before T and
 * ends after it is decoded too, and GstVideoDecoder (1.22,
 * gst_video_decoder_clip_and_push_buf()) gives it PTS T and the duration it
 * has left (its end stays). Where the container keeps exact times (MP4) the
 * frame before an in-point on the clip's grid ends at T and is dropped;
 * Matroska's and WebM's are rounded to the millisecond, so at 30 fps frame
 * 149, stamped 4.967 s, ends 0.3 ms after frame 150's 5.000 s and came out
 * stamped 5.000 s as well, taking frame 150's place. A decoder that gives
 * every frame the caps' duration can give several such frames where frames
 * come closer than that. A frame with no duration is clipped to T too
 * (GstVideoDecoder assumes 40 ms) and cannot be told; one that starts
 * within kStampRounding of T is taken as T's own. The cut path puts such a
 * frame back where it starts (stamp - this); the timeline path keeps it,
 * stamped T, only when the frame after it starts no nearer to T. */
inline GstClockTime clipped_off(const GstBuffer *buf, const GstSegment &seg, GstClockTime grid,
                                GstClockTime caps_frame, const DecoderInput *input)
{
  if (seg.format != GST_FORMAT_TIME || !GST_BUFFER_PTS_IS_VALID(buf) ||
      GST_BUFFER_PTS(buf) != seg.start || !GST_BUFFER_DURATION_IS_VALID(buf))
    return 0;
  const GstClockTime at = GST_BUFFER_PTS(buf), end = at + GST_BUFFER_DURATION(buf);
  GstClockTime start = input ? input->start_of(end, at, caps_frame) : GST_CLOCK_TIME_NONE;
  if (!GST_CLOCK_TIME_IS_VALID(start) && grid > 0 && end >= grid &&
      GST_BUFFER_DURATION(buf) + kStampRounding <= grid)
    start = end - grid;
  if (!GST_CLOCK_TIME_IS_VALID(start) || start + kStampRounding > at)
    return 0;
  return at - start;
}

/* One frame's duration at the analysed rate of `clip` (0 for 0/1: a
 * variable or unknown rate). */
inline GstClockTime analysed_frame_duration(const ClipAnalysis &clip)
{
  return clip.fps_n > 0 && clip.fps_d > 0
             ? gst_util_uint64_scale_int(GST_SECOND, clip.fps_d, clip.fps_n)
             : 0;
}

/* One frame's duration at the rate `caps` state, ns (0: no caps, no rate
 * stated, or a variable one: 0/1). */
inline GstClockTime caps_frame_duration(GstCaps *caps)
{
  gint n = 0, d = 1;
  if (!caps || gst_caps_get_size(caps) == 0 ||
      !gst_structure_get_fraction(gst_caps_get_structure(caps, 0), "framerate", &n, &d) || n <= 0 ||
      d <= 0)
    return 0;
  return gst_util_uint64_scale_int(GST_SECOND, d, n);
}

/* stereo_downmix() and downmix_to_stereo(): downmix-private.h. */

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

/* True on the process's first thread, to which the global default main
 * context belongs by convention (Interrupt dispatches it there when no
 * context is pushed): gettid() == getpid() on Linux, pthread_main_np() on macOS
 * and the BSDs, on_loading_thread() elsewhere. Any thread; never blocks. */
bool on_main_thread();

/* True on the thread that loaded libgstmontage (its static initialisers
 * ran there): the first thread when the library is linked into the
 * program. on_main_thread()'s answer on systems without a test of their
 * own. */
bool on_loading_thread();

/* What a render does whenever it waits (for a bus message, a decoded frame,
 * room in the encoder's queue): dispatches what is ready on the calling
 * thread's own main context, where the caller may keep the sources that
 * cancel it (the tool's g_unix_signal_add() handlers for Ctrl-C and
 * SIGTERM), and tells whether RenderSettings::cancellable is cancelled.
 * Cancelling thus stops a render within about 250 ms whether or not its
 * pipelines make progress; before, only the progress callback dispatched
 * those sources, and a stalled render never called it. The render itself
 * needs nothing dispatched (it pops its buses and calls progress directly).
 * The caller's context is the one it pushed as thread-default or, on the
 * process's main thread with none pushed, the global default one; a worker
 * thread with none pushed has none, and nothing is dispatched: the global
 * default context's sources are the main thread's, and dispatching them on
 * the render's thread ran them there whenever the main thread was not
 * iterating at that moment. The context is dispatched only when this thread
 * can own it at that moment (no other thread runs it), and owned only for
 * that dispatch. */
class Interrupt
{
public:
  /* `dispatch` false: never dispatches anything, only tells whether
   * `cancellable` (may be NULL) is cancelled (build_timeline() called on
   * its own, which promises to dispatch no context). */
  explicit Interrupt(GCancellable *cancellable, bool dispatch = true);
  ~Interrupt();
  Interrupt(const Interrupt &) = delete;
  Interrupt &operator=(const Interrupt &) = delete;
  /* Never blocks. True, with `error` (if given and not yet set) set to
   * G_IO_ERROR_CANCELLED, once the render is cancelled. */
  bool check(GError **error = nullptr);
  bool cancelled() const { return cancellable_ && g_cancellable_is_cancelled(cancellable_); }

private:
  GCancellable *cancellable_;
  GMainContext *context_; /* NULL: none to dispatch */
};

/* How long request_asset() waits by default for GES to answer about one
 * URI: twice GES 1.22's own discovery timeout (60 s a file, counted by a
 * source on the discovering thread's context). That timeout cannot fire
 * while the library's asset thread is blocked outside its main loop, as in
 * a source's blocking start inside the discoverer's state change: filesrc
 * opening a FIFO that no one writes to blocked in open() for good (seen
 * here; request_asset() now refuses anything but regular local files), and
 * a file on a hung network mount or a network source can do the same. This
 * limit turns such a hang into an error for a caller with nothing to
 * cancel. Twice, not once: the asset thread discovers one URI
 * at a time, and a timeline's requests are made one at a time, so only
 * requests from concurrent callers queue, and one 60 s discovery ahead
 * must not fail the one behind it. */
constexpr GstClockTime kDiscoveryWaitLimit = 120 * GST_SECOND;

/* The GES asset of `uri` (a new reference), discovered on the library's
 * asset thread when GES does not hold it ready (render.cpp has the rules on
 * files changed under the same name). While it waits it calls
 * interrupt.check() every 50 ms, so the caller's own context is dispatched
 * (as a render's waits do) and a cancelled `interrupt` ends the wait at
 * once. Returns NULL with `error` set to G_IO_ERROR_CANCELLED when
 * cancelled (before or while waiting), G_IO_ERROR_TIMED_OUT after `limit`
 * ns with no answer, or GST_RESOURCE_ERROR_OPEN_READ when GES cannot load
 * it or it names a local file that is not a regular one (a FIFO, a device,
 * a directory: refused without asking GES). A request given up on (cancelled or timed out) goes on
 * on the asset thread and ends there, its answer kept in GES's cache: a later request for the same
 * URI waits for that discovery instead of starting another, and one that failed meanwhile is
 * discovered again. */
GESAsset *request_asset(const std::string &uri, Interrupt &interrupt, GError **error,
                        GstClockTime limit = kDiscoveryWaitLimit);

/* What the cut path's encoding pipeline (appsrc ! H.264 encoder ! h264parse
 * ! mp4mux, appsrc ! audioconvert ! AAC encoder ! aacparse ! mp4mux) had
 * passed when it stopped taking frames: counted by pad probes at each
 * point, times from g_get_monotonic_time() (0: no buffer yet). */
struct EncodeFlow {
  guint64 encoder_in = 0, encoder_out = 0; /* buffers into / out of the H.264 encoder */
  gint64 encoder_in_us = 0, encoder_out_us = 0;
  guint64 muxer_video_in = 0; /* buffers into the muxer's video pad */
  gint64 muxer_video_in_us = 0;
  guint64 audio_encoder_in = 0, audio_encoder_out = 0; /* into / out of the AAC encoder */
  gint64 audio_encoder_in_us = 0, audio_encoder_out_us = 0;
  guint64 audio_queued = 0; /* buffers of the song waiting in its appsrc */
  /* The muxer's pad holds a buffer it has not taken, or its stream ended
   * there (gst_aggregator_pad_has_buffer(), gst_aggregator_pad_is_eos()). */
  bool muxer_video_held = false, muxer_audio_held = false;
};

/* The stage of the encoding pipeline that stopped producing. */
enum class StalledStage {
  kEncoder,      /* the H.264 encoder took frames and gave nothing back */
  kParser,       /* h264parse took the encoder's output and passed nothing on */
  kMuxer,        /* the muxer holds video and audio and takes neither: it, or the file it writes */
  kAudioEncoder, /* the muxer waits for audio the AAC encoder took and gave nothing back for */
  kAudioInput,   /* the muxer waits for audio that never reached the AAC encoder (the song) */
};

/* Which stage stopped, from what each had passed when the pipeline stopped
 * taking frames (a pure function of `flow`, so that each case is tested
 * without a stuck element). Backpressure runs upstream, so every stage
 * before the stopped one also stands still: the stopped one is the
 * furthest downstream that holds input. The muxer (an aggregator) takes a
 * buffer from each pad in turn and waits on a pad with none: video held at
 * its pad means it is waiting for audio (kAudioEncoder when audio waits in
 * front of the AAC encoder or it got input after its last output, else
 * kAudioInput; an encoder that holds back its last input as latency reads
 * as stalled too, which names it where the song may be at fault) or, with audio held
 * too, has stopped itself (kMuxer). With no video held there, frames are
 * missing before the muxer: kParser when the encoder's last output came
 * after the last buffer reached the muxer, else kEncoder (it took frames
 * after its last output, or it takes none although they wait for it).
 * Only kEncoder is the encoder's fault, so only it tries the next encoder. */
StalledStage stalled_stage(const EncodeFlow &flow);

/* The cut-only render (render-cuts.cpp): one decoding pipeline per clip, kept
 * alive and seeked per segment, frames placed on the output grid by the
 * caller's thread, and the song decoded, cut to the plan's length and faded
 * out by hand; both encoded (`encoder` for video, the highest-ranked AAC
 * encoder for audio) and muxed to MP4 in `tmp_path`. On failure sets `error`; `failed_uri` names an
 * input that could not be decoded or sought. Every wait checks `interrupt`:
 * cancelled, it fails with G_IO_ERROR_CANCELLED and no failed_uri. `song_gaps`
 * gets where the song was silent (RenderResult::song_gaps) in this attempt. */
Outcome render_cuts(const Plan &plan, const SongAnalysis &song,
                    const std::vector<ClipAnalysis> &clips, const RenderSettings &settings,
                    const std::string &tmp_path, const std::string &encoder, Interrupt &interrupt,
                    std::string &failed_uri, std::vector<SongGap> &song_gaps, GError **error);

} // namespace render_detail
} // namespace montage
