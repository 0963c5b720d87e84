/* gst-montage: shot analysis of a video file, with a keyframe fast path.
 *
 * analyse_clip_file() builds its own GStreamer pipelines (uridecodebin !
 * videoconvert ! fakesink, frames taken in a pad probe) and runs the
 * ShotDetector core (shotdetector.h) directly; no element is needed.
 *
 * Keyframe path (the default where the container can seek), two passes:
 *  1. keyframes only, from the preroll on, no seek: a probe on the video
 *     decoder's sink pad drops every buffer flagged
 *     GST_BUFFER_FLAG_DELTA_UNIT (measured on Debian 12: 10-19x less decoding,
 *     cheaper than a trick-mode seek), recording each keyframe's DTS/PTS;
 *  2. every run of consecutive GOPs whose bounding keyframes differ by at
 *     least ClipAnalyseOptions::keyframe_change (content distance, 0-255;
 *     and, below 1.5 times that, by keyframe_histogram_change in colour
 *     histogram: the keyframe gate) is decoded frame by frame, from the
 *     keyframe before to a few frames past the keyframe after: the probe
 *     feeds the decoder the runs' GOPs only (and of a run's last GOP only
 *     the delta units decoded before the frames needed), and stops feeding
 *     a run as soon as its boundary is decided and the picture, in the
 *     run's last GOP, passes the same gate against the run's last keyframe
 *     (earlier on, the keyframes in between differ); each run has its own
 *     ShotDetector. Runs are decoded in parallel by up to
 *     ClipAnalyseOptions::refine_decoders pipelines: pass 1's pipeline
 *     takes runs from the end of the file, one accurate seek to the
 *     keyframe before each (demuxers may land late), while the others read
 *     the file forward from its start, each taking the runs it reaches that
 *     no pipeline has taken; alone, pass 1's pipeline reads forward after
 *     one seek to the first run. The last GOP (after the last keyframe
 *     nothing tells whether the picture changes) is a run of its own unless
 *     its keyframe already ends one; in H.264 where at least
 *     ClipAnalyseOptions::tail_references_only of the delta units pass 1
 *     saw hold only non-reference pictures (x264's B-frames; a phone's
 *     P-only stream has none), that run is first decoded from its reference
 *     pictures alone (h264refs-private.h) through the keyframe gate, each
 *     picture against its keyframe and against the picture before it: where
 *     none differs, it holds no boundary (the trust pass 1 gives two
 *     keyframes, at a spacing of 2 to 4 frames here), and where one does,
 *     the run is decoded again frame by frame with a ShotDetector, as
 *     the others are;
 *  3. the boundaries found are merged by min_shot_length as in full decoding.
 * The path falls back to full decoding when the file cannot seek, no video
 * decoder could be probed, the decoded keyframes do not match the fed ones
 * one to one at the same times (checked as each keyframe comes out: raw
 * H.264 goes to full decoding after its second keyframe, not after pass 2),
 * or a run's first frame is not its keyframe, the stream is VP8/VP9 with an
 * alpha channel, or (Mode::kAuto) a pass after the preroll stalls
 * (ClipAnalyseStats::path says which).
 * It assumes closed GOPs (a keyframe's GOP decodes without the GOP before
 * it), as x264, phones and cameras write H.264; frames of an open-GOP
 * stream that need the dropped GOP may decode damaged. A keyframe that the
 * parser flags but the demuxer does not (x264's non-IDR I-frames, no MP4
 * sync sample) starts no GOP: a run is decoded from the keyframe before it
 * that does, and where feeding such frames upsets the keyframe pass (the
 * decoded times differ), that pass is made again without them, and each GOP
 * that holds one of them is decoded (as if its keyframes differed: the
 * encoder saw a scene change there).
 * It cannot see two cuts in one GOP closer than min_shot_length (neither can
 * full decoding), nor a cut away and back inside one GOP whose keyframes look
 * alike (A...B...A), nor a cut between two shots whose keyframes the gate
 * finds alike (content distance below keyframe_change, or below 1.5 times
 * that with similar colour histograms): full decoding reports those.
 * Where the time goes (docs/scene-benchmark.md): the keyframes cost several
 * delta frames each to decode; a cut on a keyframe needs the whole GOP
 * before it decoded (to prove the frame before the cut); the last GOP is
 * always decoded (a cut can sit there), from its reference pictures alone
 * where it can be (above).
 * Full decoding: every frame through ShotDetector, in one pass.
 */
#pragma once

#include <gst/montage/shotdetector.h>
#include <gst/montage/types.h>
#include <gst/video/video.h>

#include <functional>
#include <string>
#include <vector>

namespace montage
{

struct ClipAnalyseOptions {
  enum class Mode {
    kAuto,      /* keyframe path, full decoding when the source cannot seek */
    kKeyframes, /* keyframe path, failing (GST_STREAM_ERROR_FAILED) when it cannot seek */
    kFull,      /* decode every frame */
  };
  Mode mode = Mode::kAuto;
  ShotDetectorSettings detector;
  /* Content distance (0-255) between consecutive keyframes at which the GOP
   * between them is decoded (until the change is found and the picture
   * passes this same gate against the next keyframe). Below every hard-cut
   * score seen on the sample media and the benchmark set (37+); 12 decoded
   * 3x more frames of the long-shot benchmark for the same cuts
   * (docs/scene-benchmark.md). */
  double keyframe_change = 20.0;
  /* Below 1.5 * keyframe_change, a keyframe pair must also differ by this
   * much in colour distribution (L1 distance between their
   * shot_histogram()s, 0-2) to be decoded: motion inside a shot (a slowed
   * shot, a moving camera) moves the content distance of keyframes 2 s apart
   * to 20-38 on the benchmark while their histograms stay within 0.17. The
   * keyframe pairs around real cuts score 49+ in content there (72+ on the
   * long-shot clips) and 37+ on the sample media; histograms alone cannot be
   * trusted (Megamind.avi's cuts differ by only 0.33-0.36 in histogram, a
   * picture and its mirror image by 0). The price: a cut between two shots of
   * similar colours whose keyframes differ by less than 1.5 * keyframe_change
   * in content is not looked for (e.g. two angles of one dim scene); 0 turns
   * this test off (content distance alone, more GOPs decoded). */
  double keyframe_histogram_change = 0.2;
  /* Pipelines that decode the keyframe path's runs of changed GOPs in
   * parallel, each on its own thread, sharing the runs as they go (see
   * above); 0 chooses one per processor, at most 2 (on 2 cores, two
   * pipelines decode the long-shot benchmark's runs in 0.7-0.85 of the
   * time one pipeline whose decoder threads itself takes;
   * docs/scene-benchmark.md, fourteenth run). The cuts and features do not
   * depend on it. */
  guint refine_decoders = 0;
  /* The keyframe path's last GOP is first decoded from its reference
   * pictures alone (see above) where at least this share (0-1) of the H.264
   * delta units pass 1 saw (the first 500) are non-reference pictures; over
   * 1 turns it off. Half of x264's frames with its defaults are (832 of
   * 1737 in the scene benchmark's longshots-gop50.mp4). With a share s, the
   * last GOP costs 1 - s of its frames where it holds no boundary and 2 - s
   * where it holds one: less work wherever fewer than s of the clips have a
   * boundary in their last GOP (a quarter, at this default). The shots do
   * not depend on it; a last shot whose features would have come from the
   * last GOP's frames takes them from the frames and keyframes before. */
  double tail_references_only = 0.25;
  /* Fails with GST_STREAM_ERROR_FAILED when no frame arrives for this long. */
  GstClockTime stall_timeout = 30 * GST_SECOND;
  /* Called from the calling thread, about every 100 ms, with how far the
   * analysis has come as a position in the clip and the clip's duration,
   * ns (not called while the duration is unknown). Over the keyframe path's
   * passes the position never goes back: the keyframe pass reads up to 40 %
   * of the duration, the refinement of its runs the rest by the share of
   * their frames decoded, and full decoding, where the path is given up,
   * what is left from there on. */
  std::function<void(GstClockTime position, GstClockTime duration)> progress;
  /* For tests and tracing: called as the keyframe path's refinement starts
   * decoding run `run` (0 to ClipAnalyseStats::refined_ranges - 1, in time
   * order) on pipeline `pipeline` (0 to the number of refinement
   * pipelines - 1, see refine_decoders; the last is the keyframe pass's,
   * which takes runs from the end of the file when there are others, and
   * the others read forward), from that pipeline's streaming thread, with
   * the pipeline's own lock held, before the run's first frame is
   * analysed; not called in full decoding. It may block: the other
   * pipelines go on, so the runs then finish in another order (and may be
   * shared out otherwise), which changes no result
   * (tests/test_clipanalysis.cpp). Called again for a run decoded again
   * (the refinement made again by one pipeline after a pipeline failed). */
  std::function<void(guint run, guint pipeline)> run_started;
};

/* Which way a clip was analysed: the keyframe path, or full decoding and
 * why (each reason is one of the keyframe path's fallbacks, in the order
 * they are checked). */
enum class ClipAnalysePath {
  kKeyframes,     /* the keyframe path */
  kFullRequested, /* full decoding: ClipAnalyseOptions::Mode::kFull */
  kFullNoSeek,    /* full decoding: the file cannot seek (Mode::kAuto only) */
  kFullNoDecoder, /* full decoding: no video decoder's input could be probed */
  /* Full decoding: the video went to an image decoder (Motion JPEG to
   * jpegdec, PNG to pngdec): every frame is a keyframe, so the keyframe path
   * would decode them all anyway. */
  kFullIntraOnly,
  /* Full decoding: the decoded keyframes do not match the ones fed, one to
   * one at the same times (within half a frame of the fed PTS, or of the DTS
   * where a buffer has no PTS). Raw H.264 (Annex B .h264) carries no
   * timestamps: the parser numbers the frames it sees (keyframes 1 s apart)
   * and the decoder numbers the keyframes alone (0.04 s apart), so neither
   * time can be seeked to. Decided at the first keyframe that differs, which
   * ends the keyframe pass there. */
  kFullKeyframeTimes,
  kFullRunStart, /* full decoding: after the seek, a run did not start on its keyframe */
  /* Full decoding from the start, with no seek: an MPEG transport stream.
   * tsdemux 1.22 keeps each frame's PTS after a flushing seek but answers
   * with a segment whose time does not map them to their stream time (a
   * seek to 0 in a file whose first frame is at 0.767 s gives start 0.767,
   * time 0: every frame 0.767 s early; an ACCURATE seek lands on later
   * frames labelled with the time asked for), so the keyframe path's
   * seeking passes would time the cuts wrongly. Decided when tsdemux is
   * added to the pipeline. */
  kFullSeekTimes,
  /* Full decoding: MPEG-4 Part 2 with B-frames in AVI, packed (DivX/Xvid
   * "packed bitstream", Megamind.avi) or not (ffmpeg -c:v mpeg4 -bf 2).
   * avidemux stamps a keyframe at its decode time, up to the B-frames'
   * delay before it is shown (avikeyframes-private.h), which the keyframe
   * pass times the keyframes by and a seek's first frame comes out at; full
   * decoding corrects the stamps on the decoder's input. Decided from the
   * stream: the VOP headers of the buffers fed to the decoder up to its
   * preroll, then of every buffer of the keyframe pass, which ends at the
   * first B-VOP (avi_keyframes_detail::holds_b_vop()). Streams of any
   * profile without a B-VOP, and DivX 3 (MS-MPEG-4 v3, no B-frames:
   * vtest.avi), keep the keyframe path; before, every one whose caps were
   * not the Simple profile was decoded in full. */
  kFullAviBFrames,
  /* Full decoding: VP8 or VP9 with an alpha channel (the decoder's input
   * caps say codec-alpha=true: WebM carries each frame's alpha plane as a
   * second VP8/VP9 frame in its BlockAdditional, ffmpeg's libvpx-vp9 with
   * yuva420p; decodebin plugs vp8alphadecodebin/vp9alphadecodebin). The
   * alpha frames are a stream of their own whose keyframes need not fall
   * where the colour frames' do (libvpx puts one at a scene change of the
   * colour stream alone: a test clip's colour keyframes at 0, 2, 4, 5.12
   * and 6 s, its alpha keyframes at 0 and 5.12 s), so the colour stream's
   * keyframes fed alone bring alpha delta frames without the frames they
   * refer to, and GStreamer 1.22's vp9alphadecodebin stopped putting out
   * frames at the fourth keyframe: the clip stalled for stall_timeout and
   * was dropped (a new user's trial, 30 s). Decided from the caps, before
   * the decoder's first buffer, which is then fed whole: no keyframe pass. */
  kFullAlpha,
  /* Full decoding (Mode::kAuto only): the keyframe path made no progress
   * for stall_timeout after its first frame (its keyframe pass, or its
   * refinement), where a decoder fed part of the stream waits on what it
   * was not fed. The clip is decoded once more, whole, from the start; the
   * stall's wait is not saved. A file that stalls before its first frame
   * fails as before ("decoding made no progress"): full decoding would
   * wait as long again. */
  kFullStalled,
};

/* A phrase for `path`, for logs and the tool: "keyframe path", "full
 * decoding (asked for)", "full decoding: the file cannot seek", "full
 * decoding: no video decoder could be probed", "full decoding: every frame
 * is a keyframe (the codec has no delta frames), so there is nothing to
 * skip", "full decoding: keyframe timestamps do not match", "full decoding: the seek missed a
 * keyframe", "full decoding: an MPEG transport stream's seeks misstate the frames' times", "full
 * decoding: AVI stamps MPEG-4 keyframes at their decode time, ...", "full decoding: VP8/VP9
 * with an alpha channel cannot be decoded from its keyframes alone", "full decoding: the
 * keyframe path made no progress". Never NULL. */
const char *clip_analyse_path_text(ClipAnalysePath path);

/* What a run cost, for benchmarks and logs. */
struct ClipAnalyseStats {
  bool keyframe_path = false; /* false: every frame was decoded (path says why) */
  ClipAnalysePath path = ClipAnalysePath::kFullRequested;
  /* Frames analysed, all passes, including those of a keyframe path given
   * up for full decoding (its keyframes and any refined GOPs). */
  guint64 frames_decoded = 0;
  guint keyframes = 0;        /* keyframes decoded in the first pass (also when given up) */
  guint refined_ranges = 0;   /* runs of GOPs decoded frame by frame */
  /* Frames of the refinement that a run analysed (the rest of
   * frames_decoded less keyframes were decoded past a run's end or after it
   * was done, with nothing to decide; the montageclip debug category at LOG
   * lists each frame and what it went to). */
  guint64 refined_frames = 0;
  /* The last GOP was decoded from its reference pictures alone
   * (ClipAnalyseOptions::tail_references_only), and (tail_decoded_again)
   * those showed a change, so it was decoded again frame by frame. */
  bool tail_references_only = false, tail_decoded_again = false;
  /* Counted work (what a clip costs besides its frames): the decoding
   * pipelines built, each typefinding the file and setting up its demuxer,
   * parser and decoder (full decoding: 1; the keyframe path: 1, its
   * keyframe pass's pipeline reused for the refinement, plus one per other
   * refinement pipeline, see refine_decoders; one more wherever a path is
   * given up for full decoding), not counting a GstDiscoverer run (see
   * discoveries); and the flushing
   * seeks sent to them (full decoding: 0; the keyframe path: one per unit
   * of runs its first pipeline takes from the end of the file, or one when
   * that pipeline reads the runs forward alone, plus one where the keyframe
   * pass is made again with GOP starts alone). */
  guint pipelines = 0, seeks = 0;
  /* GstDiscoverer runs (each a pipeline of its own) for stated_duration: 0
   * where the first pipeline's duration query answered once prerolled (the
   * value the discoverer reads first), 1 where none did (raw H.264, IVF). */
  guint discoveries = 0;
  /* Wall time (ns, monotonic clock) of each stage: building the pipeline and
   * prerolling it (typefinding, demuxer set-up, the first frame); the
   * keyframe pass (0 in full decoding); the refinement pass, its pipelines
   * opened and run in parallel (in full decoding: the one pass over every
   * frame). */
  GstClockTime open_time = 0, coarse_time = 0, refine_time = 0;
};

/* Turns a GStreamer decoding error into a sentence a user can act on ("not a
 * media file GStreamer recognises (...)", "no decoder for its format is
 * installed (...); ...", "cannot be decoded, the file may be corrupt or
 * truncated (...)"), set on `error`. Takes ownership of `err`; a
 * GST_STREAM_ERROR_WRONG_TYPE error ("has no video stream") passes unchanged. */
void explain_decode_error(GError *err, GError **error);

/* The rule frame_spacing_varies() applies (analyse_clip_file() reports a
 * clip whose frames it finds varying as 0/1, variable): more than
 * kVariableRateShare of the spacings lie more than kVariableRateSpread of
 * their median from it, over at least kVariableRateMinIntervals spacings.
 * Our own choice, from what a constant rate gives: spacings equal to the
 * median but for timestamp rounding (Matroska and WebM count in ms: 33 and
 * 34 ms at 30 fps, 3 %), a few dropped frames (2 frames apart), and frames
 * sharing timestamps in pairs (Megamind.avi: every spacing 2 frames, the
 * median too); a phone's variable rate, or parts at two rates, moves a
 * large share away from the median. */
inline constexpr double kVariableRateSpread = 0.10;
inline constexpr double kVariableRateShare = 0.20;
inline constexpr std::size_t kVariableRateMinIntervals = 24;

/* Whether the spacings (ns) of consecutive decoded frames, in presentation
 * order, say the frame rate is variable (the rule above). False for fewer
 * than kVariableRateMinIntervals spacings, or a median of 0. The keyframe
 * path measures only the GOPs it decodes whole (those around cuts), so a
 * clip without a cut is judged there on none: its caps' rate stands. */
bool frame_spacing_varies(std::vector<GstClockTime> intervals);

/* The file:// URI of the local file `path` (a relative path is made
 * absolute), after checking that it exists and is a regular file. Returns a
 * new string (g_free it), or NULL with `error` set to "no such file", "not a
 * regular file" or GLib's conversion error. Used for clips and songs alike. */
gchar *local_file_uri(const std::string &path, GError **error);

/* The frame rate analyse_clip_file() reports for a clip, as n/d: the caps'
 * rate caps_n/caps_d (0/1: variable or unknown) unless the decoded frames
 * say otherwise. median_interval is the median spacing, in ns, of
 * consecutive frames decoded in presentation order (GST_CLOCK_TIME_NONE or 0
 * when none were). The caps' rate stands unless median_interval is at least
 * 3 times its frame duration: ivfparse reports the IVF header's time base
 * (often 1/90000, as FFmpeg writes VP8) as the frame rate, and a clip's
 * rate then reads 90000/1; the measured rate is then reported, as the
 * nearest common rate (24000/1001, 24, 25, 30000/1001, 30, 48, 50,
 * 60000/1001, 60, 100, 120, 12, 15) within 0.5 %, or 1e9 / median_interval
 * as a fraction. The factor 3 leaves alone streams whose frames share
 * timestamps in pairs (AVI with packed B-frames, Megamind.avi: every other
 * decoded frame is skipped, median 2 frames) and occasional dropped frames.
 * 0/1 stays 0/1: a variable rate is not made constant. */
void clip_frame_rate(gint caps_n, gint caps_d, GstClockTime median_interval, gint &n, gint &d);

/* Analyses the local video file `path`. Fills out.path, uri, duration,
 * first_frame, stated_duration (the length the container states, as GES
 * measures it: GstDiscoverer's duration, which is the pipeline's duration
 * query once prerolled; read from the analysis's own pipeline once it has
 * prerolled, or where nothing answers there, from a GstDiscoverer run on a
 * thread of its own beside the analysis; NONE when it states none or the
 * discovery fails or takes over 10 s), fps_n/fps_d,
 * width, height, analysis_path (the path taken, as
 * clip_analyse_path_text() words it), cuts (stream time of each shot
 * start after the first, ascending) and shots (with transitions and
 * features; in the keyframe path they are measured on the frames decoded,
 * the keyframes plus the refined GOPs, on full decoding's one-in-four grid:
 * a shot whose frames were all decoded gets full decoding's features, see
 * docs/montagescene.md).
 * Returns false with error set to a sentence: "no such file", "not a
 * regular file", "not a media file GStreamer recognises (...)", "has no
 * video stream", "cannot be decoded, the file may be corrupt or truncated
 * (...)", "no decoder for its format is installed (...)", "decoding made no
 * progress for N s", "its frames carry no timestamps, ...", "no video frames
 * could be decoded". Never aborts. */
bool analyse_clip_file(const std::string &path, const ClipAnalyseOptions &options,
                       ClipAnalysis &out, GError **error, ClipAnalyseStats *stats = nullptr);

/* For a decodebin "pad-added" handler in an analysis pipeline: links `pad`
 * to `sink` when `wanted` and `*linked` is false (setting *linked), and
 * otherwise drains it into a new non-syncing fakesink added to `bin`, so a
 * stream nobody analyses (a clip's audio, a song's cover art) neither blocks
 * nor fails the pipeline. Call with the caller's lock held. */
void link_or_drain(GstBin *bin, GstPad *pad, GstPad *sink, bool wanted, bool *linked);

/* Views on the planes of a mapped 8-bit frame (formats montagescene
 * accepts); false for any other format. Nothing is copied. The view's
 * full_range comes from the frame's colorimetry (GST_VIDEO_COLOR_RANGE_0_255:
 * yuvj420p, JPEG, GRAY8 by default). */
bool frame_view_from_video_frame(GstVideoFrame *frame, FrameView &view);

} // namespace montage
