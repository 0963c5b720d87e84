/* gst-montage: the montage planner (song beats + clip shots -> edit decision list).
 *
 * Plain C++ over the value types in types.h; knows nothing of pipelines.
 *
 *   SongAnalysis (beats, energy) + ClipAnalysis list (shots) + PlanSettings
 *     -> plan_montage()  Plan: segments back to back, every cut on a beat
 *
 * The rules the planner keeps (docs/planner.md explains each one):
 * - The output starts at 0 with the song at 0. Every cut lies on a beat,
 *   rounded to the output frame grid from the beat's own time (never from a
 *   running sum of durations), so the edit cannot drift off the beat.
 * - Each segment shows footage from inside ONE shot, ending at least one
 *   source frame before the shot's end, so no frame of the next shot appears.
 * - Footage is not shown twice while unused footage that fits exists; the
 *   same clip does not follow itself while another clip has unused footage
 *   for the segment.
 * - A segment spans `beats_per_cut` beats (more where the song is quiet),
 *   fewer when no shot holds the longer segment.
 * - The choice among the shots that fit is a weighted score (fit, freshness,
 *   clip rest, seeded jitter): see score_candidate(). Same input and seed,
 *   same plan, on every platform.
 */
#pragma once

#include <gst/montage/types.h>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace montage
{

/* Thrown by plan_montage() when no plan can be made. what() is a sentence a
 * user can act on (which input is missing or unusable, and what to change). */
class PlanError : public std::runtime_error
{
public:
  explicit PlanError(const std::string &message) : std::runtime_error(message) {}
};

/* Weights of the shot-choice score (see score_candidate()). All >= 0; a weight
 * of 0 switches that term off. The defaults make fit, freshness and clip rest
 * count alike and let the seeded jitter decide between near-equal candidates
 * (and sometimes overturn a small preference, so seeds give different plans). */
struct ScoreWeights {
  double fit = 1.0;       /* prefer shots whose free room the segment fills */
  double freshness = 1.0; /* prefer shots with much unused footage left */
  double clip_rest = 1.0; /* prefer clips not seen for a while */
  double jitter = 0.5;    /* seeded randomness */
};

/* What the planner knows about one candidate placement, each term in 0..1
 * (1 = most wanted). Later planners (feature matching, styles) add terms here. */
struct CandidateFeatures {
  /* Segment length / length of the free stretch of the shot it is placed in
   * (from its in-point to the next used footage or the shot's usable end).
   * 1 = fills it exactly (best fit: keeps long shots for long segments). */
  double fit = 0.0;
  /* Unused fraction of the shot's usable length before this segment. */
  double freshness = 0.0;
  /* Segments since this clip was last shown, divided by the number of usable
   * clips, capped at 1; 1 for a clip not shown yet. */
  double clip_rest = 0.0;
};

/* The score of one candidate: the weighted sum
 *   w.fit * f.fit + w.freshness * f.freshness + w.clip_rest * f.clip_rest
 *     + w.jitter * jitter
 * where jitter is in [0, 1) and comes from the plan's seeded generator.
 * Higher is better. Hard rules (unused footage first, then a clip other than
 * the previous one) are applied by plan_montage() before scores are compared. */
double score_candidate(const CandidateFeatures &f, const ScoreWeights &w, double jitter);

/* How to plan. Defaults give a 30 fps edit of the whole song, a cut every
 * 2 beats (every 4 beats where the song is quiet). */
struct PlanSettings {
  /* Output frame rate (> 0 / > 0). Cut times and durations are quantised to
   * this grid: frame = round(t * fps_n / (fps_d * GST_SECOND)). */
  gint fps_n = 30;
  gint fps_d = 1;
  /* Requested edit length, ns. GST_CLOCK_TIME_NONE: the song's duration,
   * floored to the frame grid. Otherwise the edit ends on the beat nearest to
   * it (within half a beat), else at this length itself, frame-rounded; never
   * past the song. Must not be 0. */
  GstClockTime duration = GST_CLOCK_TIME_NONE;
  /* Seed of the planner's generator (std::mt19937_64, seeded with this
   * value). Same seed and input: same plan. */
  guint64 seed = 0;
  /* Beats each segment spans (>= 1) where beat_energy >= low_energy. */
  guint beats_per_cut = 2;
  /* Beats each segment spans (>= 1) where the beat's energy is below
   * low_energy: quiet passages cut less often. */
  guint beats_per_cut_low_energy = 4;
  /* Energy (0..1, SongAnalysis::beat_energy) below which a beat counts as
   * quiet. 0 disables the low-energy rule. */
  double low_energy = 0.35;
  /* Shot-choice weights. */
  ScoreWeights weights;
};

/* Plans a montage of `clips` cut to the beats of `song`.
 *
 * In:  song.beats: beat times, ns, strictly ascending (at least one);
 *      song.beat_energy: same length as beats or empty (then all 1.0);
 *      song.duration: the song's length, ns (may be GST_CLOCK_TIME_NONE only
 *        when settings.duration is set);
 *      clips: the clips in the user's order; a clip's shots are used as given,
 *        or, when clip.shots is empty, derived from clip.cuts and clip.duration
 *        as shots_from_cuts() does (Segment::shot then indexes that list).
 *        Clip frame rate fps_n/fps_d, or 0 when unknown.
 * Out: a Plan whose segments run back to back from 0 to Plan::duration:
 *      - segment i+1 starts on a beat: its start is that beat rounded to the
 *        output frame grid, Segment::beat its index, beat_time its time;
 *      - segment 0 starts at 0; its beat is 0 when beats[0] lies within one
 *        output frame of 0, else SIZE_MAX ("song start", beat_time 0);
 *      - in the rare case no shot can hold the time to the next beat, the
 *        segment is cut off the beat (beat SIZE_MAX, beat_time = its start)
 *        and a note says so;
 *      - inpoint >= shot.start, inpoint + duration <= shot.end - one source
 *        frame (1/30 s when the clip's rate is unknown), inpoint on the
 *        clip's frame grid when its rate is known;
 *      - reused = true where the footage overlaps an earlier segment's;
 *      - Plan::notes lists unused clips, reuse, shortened and off-beat cuts.
 * Throws PlanError when: settings are invalid (frame rate, beats per cut,
 *      duration 0); the song has no beats; the song duration is unknown and
 *      no duration was requested; no clips are given; no clip has a shot at
 *      least one beat long (the median beat interval).
 * Deterministic: the same arguments give the same plan on every platform
 * (own mapping of the generator's output, no std distributions).
 */
Plan plan_montage(const SongAnalysis &song, const std::vector<ClipAnalysis> &clips,
                  const PlanSettings &settings);

/* Output frame grid helpers used by the planner (fps_n, fps_d > 0). */
/* Nearest frame index of time t: round(t * fps_n / (fps_d * GST_SECOND)). */
guint64 frame_at(GstClockTime t, gint fps_n, gint fps_d);
/* Time of frame index `frame`: round(frame * fps_d * GST_SECOND / fps_n). */
GstClockTime frame_time(guint64 frame, gint fps_n, gint fps_d);

} // namespace montage
