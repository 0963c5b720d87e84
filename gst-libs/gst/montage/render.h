/* Rendering a plan: a GES timeline of the chosen segments over the song,
 * encoded to MP4 (H.264 + AAC).
 *
 * GES (gst-editing-services 1.22) does the decoding, trimming, scaling and
 * muxing; this file only maps the plan onto it: one video layer with a clip
 * per segment (start, in-point, duration), one audio layer with the song from
 * 0 for the plan's duration, video restricted to the output size and frame
 * rate. GES asset discovery is synchronous: call from the application's
 * thread, never from a streaming thread.
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
 * cannot be loaded as a GES asset. Width and height must be even, >= 16. */
GESTimeline *build_timeline(const Plan &plan, const SongAnalysis &song,
                            const std::vector<ClipAnalysis> &clips, gint width, gint height,
                            GError **error, const TimelineOptions &options = {});

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
};

struct RenderResult {
  std::string encoder;                 /* the factory that produced the file */
  std::vector<std::string> fallbacks;  /* "factory: reason" for each encoder given up on */
  /* When rendering failed because one input could not be decoded or sought
   * (a container without accurate seeking, a file corrupt past the point
   * analysis read), that input's URI; empty otherwise. A caller can drop the
   * clip, plan again and render again. */
  std::string failed_uri;
};

/* Renders `plan` to settings.output_path as MP4 (H.264 video, AAC audio).
 * The file is written under a temporary name in the same directory and
 * renamed into place only after a clean EOS, so a failure never leaves a
 * half-written output. Returns false with `error` set when no encoder works,
 * an input fails to decode, or the output cannot be written. Blocks until
 * done. */
bool render_plan(const Plan &plan, const SongAnalysis &song, const std::vector<ClipAnalysis> &clips,
                 const RenderSettings &settings, RenderResult *result, GError **error);

} // namespace montage
