/* Rendering a plan: the chosen segments over the song, encoded to MP4
 * (H.264 + AAC), along one of two paths that give the same frames.
 *
 * The timeline path: GES (gst-editing-services 1.22) does the decoding,
 * trimming, scaling, mixing and muxing; this file maps the plan onto it: one
 * video layer with a clip per segment (start, in-point, duration), one audio
 * layer with the song from 0 for the plan's duration, video restricted to the
 * output size and frame rate. It handles every transition. Discovering the
 * files blocks the caller: call from an application or worker thread, never
 * from a streaming thread. The discovery runs on a thread of the library's
 * own with its own main context (made at the first discovery, kept for the
 * process), so it neither needs nor dispatches any main context of the
 * caller's: GES 1.22 reports discoveries on the main context that was the
 * discovering thread's thread-default when GES first discovered there, and
 * its ges_uri_clip_asset_request_sync() waits on the global default context
 * (it hangs on a thread with a context of its own and runs the main
 * thread's sources on a worker thread): docs/render.md.
 *
 * The cut path (render-cuts.cpp), for plans with only hard cuts: one decoding
 * pipeline per clip (uridecodebin ! videoconvertscale ! appsink) kept alive
 * and seeked (FLUSH | ACCURATE) per segment, the next segment's seek issued
 * while the current one is encoded, frames placed on the output frame grid
 * as GES's videorate does (nearest source frame, ties to the earlier one),
 * the song decoded, cut and faded by hand, and both pushed into encodebin with
 * the same profile. It skips GES's per-frame compositing and audio mixing and
 * its per-segment decoder set-up; docs/render.md has the measurements.
 */
#pragma once

#include <gst/montage/types.h>

#include <ges/ges.h>

#include <functional>
#include <string>
#include <vector>

namespace montage {

/* What the timeline adds to the plain edit list. */
struct TimelineOptions {
  /* Fade the song out linearly over the last `audio_fade_out` ns of the edit
   * (0: no fade; PlanResult::fade_out when the edit is shorter than the song). */
  GstClockTime audio_fade_out = 0;
  /* How each segment begins (same length as plan.segments, or empty for all
   * cuts) and over how long, ns (CutDecision::transition and
   * transition_duration). A dissolve overlaps the two segments by the
   * duration, centred on the cut, with a GES crossfade; it falls back to a
   * cut where either shot has no footage to spare (a dissolve never shows a
   * frame of a neighbouring shot). A fade goes through black: the outgoing
   * segment's alpha falls to 0 over the last half, the incoming one's rises
   * over its first half; the cut itself stays on the beat. */
  std::vector<Transition> transitions;
  std::vector<GstClockTime> transition_durations;
};

/* Builds the timeline for `plan` (segments refer to `clips` by index, the
 * song is `song.uri`). Video track restricted to width x height at the plan's
 * frame rate (clips are scaled to fit, keeping their aspect ratio); audio
 * track 48 kHz stereo. Initialises GES if needed. Returns a new floating-free
 * timeline (unref when done) or NULL with `error` set when a clip or the song
 * cannot be loaded as a GES asset (GST_RESOURCE_ERROR_OPEN_READ; a local
 * path must name a regular file: a FIFO, device or directory is refused
 * before GES opens it). Width and height must be even, >= 16.
 * GES keeps one asset per URI for the process; a local file replaced under
 * the same name since the last call (device, inode, size or times differ)
 * is discovered again, so repeated renders in one process see each file as
 * it is now. Call from any thread but a streaming thread; blocks while
 * files are discovered (GES gives up on a file after 60 s; a discovery
 * that gets no answer at all, as when opening the file blocks, fails with
 * G_IO_ERROR_TIMED_OUT after 120 s), dispatching no main context.
 * Cancelling `cancellable` (from another thread; may be NULL) makes it
 * return NULL with G_IO_ERROR_CANCELLED within about 50 ms, even while a
 * discovery is pending: that discovery goes on in the library's asset
 * thread, and a later call waits for it rather than starting another
 * (docs/render.md, "Discovery and main contexts"). */
GESTimeline *build_timeline(const Plan &plan, const SongAnalysis &song,
                            const std::vector<ClipAnalysis> &clips, gint width, gint height,
                            GError **error, const TimelineOptions &options = {},
                            GCancellable *cancellable = nullptr);

/* Which way render_plan() goes. */
enum class RenderPath {
  kAuto,     /* kCuts when timeline_is_cut_only(), else kTimeline; the
                environment variable GST_MONTAGE_RENDER_PATH=timeline makes
                it kTimeline (to compare the paths from the tool) */
  kTimeline, /* GES, any plan */
  kCuts,     /* the cut path; a plan with fades or dissolves is refused */
};

/* True when `options` asks for no transition that the timeline would draw:
 * every entry is a cut, or a fade/dissolve whose half-duration (clamped to
 * the neighbouring segments, as build_timeline() does) is under one output
 * frame of `plan`. Such a plan renders identically along both paths. */
bool timeline_is_cut_only(const Plan &plan, const TimelineOptions &options);

struct RenderSettings {
  std::string output_path;       /* the MP4 to write; appears only when complete */
  gint width = 1280;             /* output size in pixels (even) */
  gint height = 720;
  bool preview = false;          /* fastest encoder settings */
  TimelineOptions timeline;      /* audio fade-out and transitions */
  /* H.264 encoder factories to try, in order; each is probed first and the
   * next is used when one fails to start or fails while encoding. Empty:
   * h264_encoder_candidates(). */
  std::vector<std::string> encoders;
  /* Called about 4 times a second from the calling thread while rendering
   * with the output position and total duration (ns). May be empty. */
  std::function<void(GstClockTime position, GstClockTime duration)> progress;
  RenderPath path = RenderPath::kAuto; /* which render path; kAuto picks the fastest that fits */
  /* Cancel it (from any thread) to stop the render: within about 250 ms the
   * partial file is removed and render_plan() fails with
   * G_IO_ERROR_CANCELLED, no other encoder tried and no failed_uri, whether
   * or not the render is making progress, also while the timeline path
   * waits for GES to discover a file (that discovery goes on in the
   * library's asset thread; see build_timeline()). Whenever it waits,
   * discoveries included, render_plan()
   * dispatches the calling thread's own main context (when no other thread
   * runs it), so sources there that cancel it, such as g_unix_signal_add()
   * handlers for Ctrl-C, run during a stalled render too. That is the
   * context the caller pushed as thread-default, or on the main thread with
   * none pushed the global default one; on another thread with none pushed
   * nothing is dispatched (the global default context's sources are the
   * main thread's), and only cancelling stops the render. Not owned; may
   * be NULL. */
  GCancellable *cancellable = nullptr;
  /* Cut path only: a decoder, the song or the encoding pipeline that
   * produces nothing for this long (ns, > 0) has stalled, and the render
   * fails naming the stage that stopped (the H.264 encoder, h264parse, the
   * muxer, the AAC encoder, the song or a clip); only a stalled H.264
   * encoder makes it try the next encoder. Raise it for encoders that take
   * long to start. */
  GstClockTime stall_timeout = 30 * GST_SECOND;
};

/* A stretch of the montage where the song gave no sound and silence was put
 * in its place. */
struct SongGap {
  GstClockTime start = 0;    /* montage time (= song time) where the silence starts, ns */
  GstClockTime duration = 0; /* its length, ns (> 0) */
  /* The song ended there (its decoder's EOS): the silence runs to the
   * montage's end. False: a hole, the song after it in its place. */
  bool at_end = false;
};

struct RenderResult {
  std::string encoder;                 /* the factory that produced the file */
  std::vector<std::string> fallbacks;  /* "factory: reason" for each encoder given up on */
  /* When rendering failed because one input could not be decoded or sought
   * (a container without accurate seeking, a file corrupt past the point
   * analysis read), that input's URI; empty otherwise. A caller can drop the
   * clip, plan again and render again. */
  std::string failed_uri;
  RenderPath path = RenderPath::kAuto; /* the path taken: kTimeline or kCuts */
  /* Cut path: each hole of more than 20 ms in the song's timestamps (a song
   * damaged part-way decodes with one where the demuxer skipped the damaged
   * part) and the end of a song that stops before the plan's end, in montage
   * order: the file is complete and in sync, but silent there. Empty when
   * the song played throughout, and always along the timeline path, which
   * fills such holes too (GES's audio track is silent where the song has no
   * samples) without telling. */
  std::vector<SongGap> song_gaps;
  /* One sentence a user can read for each degradation of the file written
   * that is not a failure: each of song_gaps, with the song's URI (logged
   * with GST_WARNING, category montagerender), and, along the timeline path,
   * each dissolve rendered as a cut because its shots have no footage to
   * spare around the cut (the overlap needs half the dissolve before the
   * later segment's in-point and after the earlier one's end). A tool
   * should show each as a warning. */
  std::vector<std::string> notes;
  /* Timeline path: the segments (indices into plan.segments, ascending)
   * whose dissolve or fade into them was rendered as a cut: a dissolve
   * without footage to spare, also said in `notes`, and a transition too
   * short to draw (half of it under one output frame; not in `notes`);
   * empty along the cut path and where every transition was made. A
   * caller describing the file (a plan JSON written after the render) shows
   * those as cuts. */
  std::vector<std::size_t> dissolves_cut;
};

/* Renders `plan` to settings.output_path as MP4 (H.264 video, AAC audio),
 * along settings.path (kAuto: the cut path for a cut-only plan, else the
 * timeline). Either path gives each segment exactly its number of output
 * frames (its start and end on the plan's frame grid; a dissolve overlaps
 * each side of its cut by half its length rounded to whole output frames),
 * the song from 0 cut to plan.duration with the fade-out of
 * settings.timeline.audio_fade_out, and the same encoder probing and
 * fallback. A song that decodes with a hole in its timestamps (damaged
 * part-way) or ends before plan.duration is silent there; the song after a
 * hole keeps its place (docs/render.md, "The cut path"); along the cut
 * path, result->song_gaps and result->notes say where. The file is written under a
 * temporary name in the same directory and renamed into place only after a
 * clean EOS, so a failure never leaves a half-written output. Returns false
 * with `error` set when no encoder works, an input fails to decode or seek
 * (result->failed_uri names it), the output cannot be written, or kCuts was
 * asked for a plan with transitions. Blocks until done; progress is called
 * from the calling thread, and no main context but the caller's own (see
 * RenderSettings::cancellable) is dispatched. */
bool render_plan(const Plan &plan, const SongAnalysis &song, const std::vector<ClipAnalysis> &clips,
                 const RenderSettings &settings, RenderResult *result, GError **error);

} // namespace montage
