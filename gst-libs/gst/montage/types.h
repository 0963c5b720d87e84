/* gst-montage: value types that cross stages.
 *
 * Results flow one way: analysis (elements post messages, the tool collects
 * them into these types) -> planning (planner.h) -> rendering and export
 * (render.h, planjson.h). They are plain data, cheap to copy, and what the
 * analysis cache stores and the exporters write.
 *
 * Times are GstClockTime (nanoseconds) everywhere. Song times are in the
 * song's stream time (0 = start of the song); clip times are in the clip's
 * stream time, which is also what GES uses for in-points.
 */
#pragma once

#include <gst/gst.h>

#include <cstddef>
#include <string>
#include <vector>

namespace montage {

/* A stretch of the song with one energy level (montagebeat's sections). */
struct Section {
  enum class Level { kLow, kMedium, kHigh };
  GstClockTime start = 0; /* song time, ns (SongAnalysis) */
  GstClockTime end = 0;   /* exclusive */
  Level level = Level::kMedium;
};

/* What montagebeat found in a song. Every time in it is song time: ns from
 * the song's first decoded sample, where both render paths start the song
 * and where a video editor shows its start, whatever stream time the
 * demuxer gives that sample (MPEG-TS and MPEG-PS count from the first
 * PCR/SCR): docs/render.md, "The song's time". */
struct SongAnalysis {
  std::string uri;                     /* the song's URI */
  GstClockTime duration = GST_CLOCK_TIME_NONE; /* song length, ns */
  /* The length the song's file states (the duration its parser or demuxer
   * reports), ns; GST_CLOCK_TIME_NONE when it states none or was not
   * measured. Longer than duration for a file cut short (a truncated
   * download: 82.33 s stated, 5.43 s decoded). */
  GstClockTime stated_duration = GST_CLOCK_TIME_NONE;
  std::vector<GstClockTime> beats;     /* beat times, ns, strictly ascending */
  /* Loudness of each beat interval [beats[i], beats[i+1]) (the last one runs
   * to the end of the song), normalised so the loudest interval is 1.0.
   * Same length as beats, or empty when unknown (planner then assumes 1.0). */
  std::vector<double> beat_energy;
  double bpm = 0.0;        /* tempo from the beat sequence, beats per minute */
  double confidence = 0.0; /* 0..1, tracker's confidence over the whole song */
  /* downbeats[i] is true when beats[i] is the first beat of a bar. Same
   * length as beats, or empty when the meter is unknown. */
  std::vector<bool> downbeats;
  guint beats_per_bar = 0; /* detected meter (3 or 4, ...); 0 when unknown */
  /* 0..1, how sure the meter and the downbeats are; under about 0.25 the
   * bars are a guess (unaccented beats), 0 when the meter is unknown. */
  double meter_confidence = 0.0;
  /* Normalised energy (0..1) every energy_interval ns from the song's start. */
  std::vector<double> energy_curve;
  GstClockTime energy_interval = 0;
  std::vector<Section> sections; /* back to back, covering the song; may be empty */
  /* Where the song's sound ends, ns, song time: the end of the last
   * energy interval louder than montagebeat's default silence-threshold
   * (-60 dBFS), so a fade to digital silence ends where it goes under it;
   * at most duration. 0 when no interval is louder (a silent song);
   * GST_CLOCK_TIME_NONE when unknown (not measured: a song analysed before
   * the field existed). A song whose last seconds are silence has it that
   * far before duration; the planner ends a whole-song edit there
   * (planner.h, kSilentTailTolerance). */
  GstClockTime sound_end = GST_CLOCK_TIME_NONE;
};

/* How a shot begins. */
enum class Transition { kCut, kFade, kDissolve };

/* What montagescene measured over one shot, for choosing among shots.
 * Scales are montagescene's (see docs/montagescene.md): motion is the mean
 * absolute luma difference between consecutive analysed frames (0..255),
 * never taken across the shot's start (that difference is the cut's, not
 * the shot's motion); all of them over the shot's clean frames only (from
 * Shot::transition_end for a cut on an insert or a flash, and without the
 * frames of a flash or a cut away and back within the shot),
 * sharpness the variance of the Laplacian of the luma view, brightness and
 * contrast the mean and standard deviation of luma (0..255), colourfulness
 * Hasler and Suesstrunk's metric. */
struct ShotFeatures {
  double motion_mean = 0.0;
  double motion_peak = 0.0;
  double sharpness = 0.0;
  double brightness = 0.0;
  double contrast = 0.0;
  double colourfulness = 0.0;
  /* Colour histogram of a representative frame, normalised to sum 1; bin
   * layout documented by montagescene. Empty when not measured. */
  std::vector<float> histogram;
  GstClockTime best_inpoint = GST_CLOCK_TIME_NONE; /* the sharpest clean measured frame (highest
                                                    * Laplacian variance, at or after
                                                    * transition_end; clipanalysis.cpp) */
};

/* A shot: the frames between two cuts, [start, end) in clip stream time. */
struct Shot {
  GstClockTime start = 0;
  GstClockTime end = 0;
  Transition transition = Transition::kCut; /* how this shot begins */
  /* For a fade or dissolve, the transition's extent (stream time, ns).
   * For a hard cut transition_start == start, and transition_end is the
   * shot's first clean frame: start, or, for a cut on a frame between two
   * shots (a one-frame insert or a flash straight into a cut, A B C: the
   * shot starts on B), C's time (ShotDetector::clean_start()). Either way
   * the shot's own picture runs from transition_end (the planner's
   * in-points and the shot's best_inpoint never lie before it). */
  GstClockTime transition_start = 0;
  GstClockTime transition_end = 0;
  /* False when features were not measured (features off) or no clean frame
   * of the shot was (features are measured on one frame in
   * kShotFeaturesEvery: a shot of a few frames may have none); `features`
   * is then all defaults (best_inpoint GST_CLOCK_TIME_NONE, no histogram)
   * and says nothing. When true, best_inpoint lies in [start, end) (unless
   * that frame had no timestamp) and the histogram is filled. */
  bool has_features = false;
  ShotFeatures features;
};

/* What montagescene found in one clip. */
struct ClipAnalysis {
  std::string path;    /* local file path as the user gave it */
  std::string uri;     /* file:// URI of the same file */
  GstClockTime duration = GST_CLOCK_TIME_NONE; /* end of the last frame, stream time, ns */
  /* Stream time of the first frame, ns: usually 0, but some containers start
   * later (an MPEG program stream at 0.54 s, say); no shot starts before it. */
  GstClockTime first_frame = 0;
  /* The length the container states for the file, ns, as GstDiscoverer
   * reports it (what GES takes as the file's max-duration and compares with
   * in-point + duration in stream time, as if the file started at 0);
   * GST_CLOCK_TIME_NONE when the file states none (or it was not measured:
   * a clip not analysed by analyse_clip_file()). It may be shorter than
   * `duration`: cityCC0.mpg (MPEG program stream) decodes to 8.14 s and
   * states 7.36 s. PlanSettings::within_stated_length keeps a plan within it. */
  GstClockTime stated_duration = GST_CLOCK_TIME_NONE;
  gint fps_n = 0;      /* source frame rate (0/1 when unknown or variable) */
  gint fps_d = 1;
  gint width = 0;
  gint height = 0;
  /* Detected cuts: time of the first frame of each new shot, ascending,
   */
  std::vector<GstClockTime> cuts; /* all strictly inside (first_frame, duration) */
  /* Shots derived from cuts: [first_frame, cuts[0]), [cuts[0], cuts[1]), ...,
   * [cuts.back(), duration). Use shots_from_cuts() to fill. */
  std::vector<Shot> shots;
  /* How the shots were found, for reports: clip_analyse_path_text() of
   * analyse_clip_file()'s path ("keyframe path", "full decoding: the file
   * cannot seek", ...; clipanalysis.h); empty when not known (a clip not
   * analysed by analyse_clip_file()). Kept in the cache with the clip. */
  std::string analysis_path;
};

/* Fills clip.shots from clip.cuts and clip.duration. */
inline void shots_from_cuts(ClipAnalysis &clip)
{
  clip.shots.clear();
  GstClockTime start = clip.first_frame;
  for (GstClockTime cut : clip.cuts) {
    if (cut <= start || cut >= clip.duration)
      continue;
    Shot shot;
    shot.start = shot.transition_start = shot.transition_end = start;
    shot.end = cut;
    clip.shots.push_back(shot);
    start = cut;
  }
  if (GST_CLOCK_TIME_IS_VALID(clip.duration) && clip.duration > start) {
    Shot shot;
    shot.start = shot.transition_start = shot.transition_end = start;
    shot.end = clip.duration;
    clip.shots.push_back(shot);
  }
}

/* One piece of the edit: `duration` ns of clip `clip`, starting at its
 * `inpoint`, placed at `start` on the output timeline. */
struct Segment {
  GstClockTime start = 0;      /* output time, ns, on the output frame grid */
  GstClockTime duration = 0;   /* ns, a whole number of output frames */
  std::size_t clip = 0;        /* index into the clip list given to the planner */
  std::size_t shot = 0;        /* index into that clip's shots */
  GstClockTime inpoint = 0;    /* clip stream time of the first frame used, ns */
  /* Index of the beat this segment starts on; SIZE_MAX when it does not start
   * on a beat (the song's start, or an off-beat cut past the last beat). */
  std::size_t beat = 0;
  GstClockTime beat_time = 0;  /* that beat's time in the song, ns (unquantised);
                                  the segment's start when beat is SIZE_MAX */
  bool reused = false;         /* footage overlaps an earlier segment's */
};

/* How much a plan note matters. */
enum class NoteSeverity {
  kInfo,    /* how the plan was made; nothing in the edit to put right */
  kWarning, /* the edit breaks one of the planner's rules (a cut off the beat,
               footage shown twice) or leaves out a clip it was given */
};

/* One remark of the planner on its plan (planner.h lists the kinds). */
struct PlanNote {
  NoteSeverity severity = NoteSeverity::kInfo;
  std::string kind; /* machine-readable, kebab-case ("clip-unused"); "" when
                       unknown (read from a plan file that had none) */
  std::string text; /* the sentence for the user */

  /* A note reads as its sentence, as notes did when they were plain strings:
   * code that takes one as a `const std::string &` keeps working. */
  operator const std::string &() const { return text; }
  bool operator==(const PlanNote &o) const
  {
    return severity == o.severity && kind == o.kind && text == o.text;
  }
  bool operator!=(const PlanNote &o) const { return !(*this == o); }
};

/* The edit decision list the planner produces. */
struct Plan {
  std::vector<Segment> segments; /* back to back: segments[i+1].start ==
                                    segments[i].start + segments[i].duration */
  GstClockTime duration = 0;     /* total output length, ns (on the frame grid) */
  gint fps_n = 30;               /* output frame rate the plan is quantised to */
  gint fps_d = 1;
  guint64 seed = 0;
  std::vector<PlanNote> notes; /* remarks (reuse, shortening), in the order made */
};

} // namespace montage
