/* gst-montage: the montage planner (song beats + clip shots -> edit decision list).
 *
 * Plain C++ over the value types in types.h; knows nothing of pipelines.
 *
 *   SongAnalysis (beats, energy) + ClipAnalysis list (shots) + PlanSettings
 *     -> plan_montage()  Plan: segments back to back, every cut on a beat
 *                        (but inside stretches without beats, below)
 *
 *   plan_montage_explained()  the same Plan plus, per cut, the score breakdown
 *                             and pacing (PlanResult), and the audio fade-out
 *
 * The rules the planner keeps (docs/planner.md explains each one):
 * - The output starts at 0 with the song at 0. Every cut lies on a beat,
 *   rounded to the output frame grid from the beat's own time (never from a
 *   running sum of durations), so the edit cannot drift off the beat.
 * - Pacing: the cut beats are chosen together (dynamic programming over the
 *   beats) to follow the style's beats per cut for the music's level at each
 *   cut (written for 4/4: where the song's bars are known and of another
 *   length, read in its bar, so a 3/4 song is cut every 3 or 6 beats, not
 *   every 4), preferring downbeats and phrase starts, within the style's
 *   minimum gap and maximum hold; the last cut of a whole-song edit is the song's
 *   final beat. Where the beats per cut last less than the minimum gap (a
 *   fast song), the pacing follows the fewest more beats that last it (1
 *   beat of 0.355 s at 169 BPM under a 0.4 s gap: 2 beats), never a
 *   longer hold.
 * - A stretch without beats longer than the maximum hold (an intro or a
 *   break without rhythm, where montagebeat finds none, or the time after
 *   the last beat) is cut off the beat into the fewest even segments of at
 *   most max_hold and at most the longest piece a shot holds, on the output
 *   frame grid, with cuts on the beats (or song start, or edit end) that
 *   bound it; a note says where, and how many segments of what length the
 *   plan has there.
 * - Each segment shows footage from inside ONE shot (and outside its fades or
 *   dissolves), ending at least one source frame before the shot's end, so no
 *   frame of the next shot appears.
 * - Shots are chosen by the selection engine (selection.h): nearest to the
 *   music's target in feature space, scored by closeness, freshness, reuse,
 *   jump cut, variety, match cut, in-point, fit and seeded jitter. No clip
 *   follows itself while another clip can hold the segment, even with
 *   footage seen before; otherwise footage is not shown twice while unused
 *   footage that fits exists, and reuse is reported, never hidden. Reuse
 *   avoids shots shown in the last kReuseRecencyWindow segments where another
 *   shot can hold the segment.
 * - The style's min_gap is a floor: a segment is cut early for lack of a
 *   longer shot (unused footage before footage seen before) only down to
 *   min_gap, and under it only where no shot, footage seen before included,
 *   holds min_gap there, or where the cuts around it leave no room (a
 *   stretch's cuts, the edit's end); a note names every such segment. A shot
 *   runs forwards across the edit; the same shot twice in a row continues
 *   from where it stopped (joined into one segment where it carries on
 *   exactly, while the joined segment stays within the maximum hold; past
 *   it another shot, else a cut on the beat). Same input and seed, same
 *   plan, on every platform.
 */
#pragma once

#include <gst/montage/selection.h>
#include <gst/montage/style.h>
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

/* The kinds of Plan::notes (PlanNote::kind), with their severity. A kind
 * names what happened, so a caller can act on it without reading the
 * sentence; the sentence says the same to the user, with the numbers.
 * Warnings (NoteSeverity::kWarning): the edit breaks one of the rules
 * above, or leaves out input it was given. */
namespace note_kind
{
/* warning: a clip is not used (no shots, or none one beat long, or none
 * as long as the style's min_gap while other clips held every segment);
 * the sentence quotes its path. */
inline constexpr char kClipUnused[] = "clip-unused";
/* info: a clip's footage past the length its file states is left out
 * (PlanSettings::within_stated_length); the sentence quotes its path. */
inline constexpr char kClipPastStatedLength[] = "clip-past-stated-length";
/* warning: the requested duration is longer than the song; the edit ends with it
 * (shorter than asked). */
inline constexpr char kDurationPastSong[] = "duration-past-song";
/* info: the edit ends before the song: the audio fades out (PlanResult::fade_out). */
inline constexpr char kAudioFadeOut[] = "audio-fade-out";
/* info: the song's last seconds are silence (SongAnalysis::sound_end more
 * than kSilentTailTolerance before its end): a whole-song edit ends with
 * its sound; an edit of a requested duration that runs on past it is said. */
inline constexpr char kSilentTail[] = "silent-tail";
/* warning: half the edit or more is the song's silence (energy curve
 * under montagebeat's silence threshold), or no beat of the song lies in
 * it: the montage would be (mostly) pictures over silence; the sentence
 * says how much and where the song's sound starts. */
inline constexpr char kSilentEdit[] = "silent-edit";
/* info: the song's bar lines are a guess; the cuts follow its beats only. */
inline constexpr char kMeterGuess[] = "meter-guess";
/* info: segments cut after fewer beats than paced (CutDecision::shortened). */
inline constexpr char kShortened[] = "shortened";
/* warning: cuts off the beat, because no shot could hold the time to the next beat. */
inline constexpr char kOffBeat[] = "off-beat";
/* info: a stretch of the song without beats, longer than the style's
 * max_hold (an intro or break without rhythm, or after the last beat), is
 * cut off the beat into even segments of at most max_hold; the sentence
 * says where, with the count and length of the plan's segments there. */
inline constexpr char kBeatlessStretch[] = "beatless-stretch";
/* warning: segments show footage seen earlier in the edit (Segment::reused). */
inline constexpr char kFootageReused[] = "footage-reused";
/* info: only one clip can be used, so every segment comes from it. */
inline constexpr char kSingleClip[] = "single-clip";
/* info: segments show the same clip as the one before (another shot of it, or the same one
 * onwards). */
inline constexpr char kSameClipTwice[] = "same-clip-twice";
/* info: cuts left out where the shot carried on exactly (the segments joined). */
inline constexpr char kCutsJoined[] = "cuts-joined";
/* info: cuts on the beat into the same take, which would otherwise have
 * joined past the style's max_hold. */
inline constexpr char kMaxHoldCuts[] = "max-hold-cuts";
/* warning: segments step back in the shot shown just before them. */
inline constexpr char kShotBackwards[] = "shot-backwards";
/* warning: segments shorter than the style's min_gap, where no shot (footage
 * seen before included) could hold min_gap, or where the cuts around them
 * (a stretch's, the edit's end, a cut off the beat) leave no longer
 * segment; the sentence names them (index in Plan::segments, start,
 * length). */
inline constexpr char kUnderMinGap[] = "under-min-gap";
} // namespace note_kind

/* How much silence may end a song (SongAnalysis::duration -
 * SongAnalysis::sound_end) before a whole-song edit ends with the sound
 * rather than with the song: 1 s. A last note decaying under -60 dBFS and a
 * short silence before the file ends are common and change no edit; a
 * longer silent tail (relax_song.flac: 12 s of digital silence after its
 * fade-out) would show pictures over silence. Chosen, not measured. */
inline constexpr GstClockTime kSilentTailTolerance = GST_SECOND;

/* How much shorter than a frame's end the song may be and still have that
 * frame in a whole-song edit (and where an edit ends with the song): 1 us.
 * A song's length comes from sample counts through rounded time
 * conversions, and can be read a few ns short of the exact length
 * (132300 samples at 44.1 kHz: 2.999999999 s); floored to the frame grid,
 * the edit lost its last frame (89 frames of 30 fps, not 90: trial h114).
 * 1 us is under a fifth of a sample at 192 kHz (5.2 us), so the frame
 * taken is at most that short of sound, and the plan ends at most 1 us
 * past SongAnalysis::duration. */
inline constexpr GstClockTime kSongLengthTolerance = GST_USECOND;

/* Segments (>= 1) within which a shot shown is not shown again as footage
 * seen before while another shot holds the segment in the same step: where
 * the best reuse is of a shot shown in one of the last 4 segments, the
 * planner takes the best reuse of another shot instead (or unused footage the
 * step allows), and keeps the recent shot only where there is none. Applies
 * to footage seen before only; choices of unused footage do not change. From
 * editing practice: a cut back to a picture seen a few cuts earlier reads as
 * a jump cut and makes a short edit look like a loop, so repeats are spread
 * over the shots. 4 is chosen, not measured: with the clips alternating, the
 * reused clips' segments come every other cut, and 4 lets three shots take
 * turns (a new-user trial under calm showed one cityCC0.mpg shot in every
 * other segment of the last 40 s). docs/planner.md, "Footage and clips". */
inline constexpr std::size_t kReuseRecencyWindow = 4;

/* How to plan. Defaults give a 30 fps edit of the whole song in the built-in
 * "balanced" style. */
struct PlanSettings {
  /* Output frame rate (> 0 / > 0). Cut times and durations are quantised to
   * this grid: frame = round(t * fps_n / (fps_d * GST_SECOND)). */
  gint fps_n = 30;
  gint fps_d = 1;
  /* Requested edit length, ns. GST_CLOCK_TIME_NONE: the song's duration,
   * floored to the frame grid (a frame it fills but for
   * kSongLengthTolerance counted); but where the song is silent for more than
   * kSilentTailTolerance after SongAnalysis::sound_end, the edit ends with
   * its sound: sound_end rounded up to the frame grid (so its last sound is
   * kept; no end search, no fade), and a note (note_kind::kSilentTail)
   * says so. Otherwise the edit ends on the downbeat
   * nearest to it within style.pacing.end_search, else on the nearest beat
   * within that distance, else at this length itself, frame-rounded; never
   * past the song's last frame, as above (the silent tail is kept, as asked, with the same note
   * where the edit runs more than kSilentTailTolerance past the sound). An
   * edit that ends before the song and before its sound ends (sound_end,
   * where known) gets an audio fade-out (PlanResult::fade_out): none where
   * it would only fade silence (past sound_end, or where the fade's whole
   * length is a silent run of the energy curve: an edit ending in a silent
   * intro or break). Must not be 0. */
  GstClockTime duration = GST_CLOCK_TIME_NONE;
  /* Seed of the selection engine's jitter (SelectionSettings::seed). Same
   * seed and input: same plan. */
  guint64 seed = 0;
  /* Pacing, selection weights, target and transitions (style.h; load one with
   * load_style()). Default: the built-in "balanced" style. */
  Style style;
  /* Keep every segment within [the clip's first usable frame, its
   * ClipAnalysis::stated_duration] (in-point + duration <= the stated
   * length, in clip stream time), for clips whose stated length is known.
   * For plans saved as a GES project (.xges): GES lets a clip reach only that
   * far, and loading a project shortens a clip that reaches further
   * (export.h refuses to write one). Some files decode past the length they
   * state (cityCC0.mpg: frames to 8.14 s, 7.36 s stated); their footage past
   * it is left out, with a note naming the clip, and such a clip without a
   * shot at least one beat long within it is not used. Off (false): the
   * footage the analysis decoded, to ClipAnalysis::duration, as the render
   * (render.h) shows it. */
  bool within_stated_length = false;
};

/* Why one segment is what it is: the record of one cut. */
struct CutDecision {
  ScoreBreakdown score;       /* the chosen shot's terms and total */
  double runner_up = 0.0;     /* total of the best other usable shot (= score.total if none) */
  std::size_t considered = 0; /* shots the engine looked at */
  std::size_t usable = 0;     /* ... of which could hold the segment */
  FeaturePoint target{};      /* where the music put the target (normalised features) */
  MusicMoment music;          /* energy, level, downbeat, phrase and section start at the cut */
  guint beats = 0;            /* beats the segment spans (0: off the beat or the tail) */
  /* Beats per cut the style asks for at this level, read in the song's bar
   * where the bars are followed and are not 4 beats (3/4: 4 and 2 -> 3,
   * 8 -> 6, 1 -> 1; docs/planner.md, "The song's bar"); the pacing follows
   * more where these last less than the style's min_gap (see the rules
   * above). */
  guint wanted_beats = 0;
  bool shortened = false;     /* cut before the planned beat because no shot held more */
  bool fresh_footage = true;  /* false: reused (Segment::reused) */
  /* Earliest earlier segment whose footage this one shows again; SIZE_MAX when none. */
  std::size_t reuses_segment = SIZE_MAX;
  Transition transition = Transition::kCut; /* into this segment (the renderer applies it) */
  GstClockTime transition_duration = 0;     /* ns, centred on the cut; 0 for a cut */
};

/* A plan with its explanation. */
struct PlanResult {
  Plan plan;
  std::string style;                  /* Style::name */
  SelectionWeights weights;           /* the weights the scores were summed with */
  std::vector<CutDecision> decisions; /* one per plan.segments[i] */
  /* Audio fade-out over the last `fade_out` ns of the edit (ending at
   * plan.duration); 0 when the edit runs to the song's end or ends at or
   * after its sound's end (SongAnalysis::sound_end: nothing to fade), or
   * in silence (the last fade-length all in a silent run of 1 s or more of
   * SongAnalysis::energy_curve). The render fades over exactly this. */
  GstClockTime fade_out = 0;
  std::size_t reused = 0; /* segments that show footage seen before */
};

/* Plans a montage of `clips` cut to the beats of `song`.
 *
 * In:  song.beats: beat times, ns, strictly ascending (at least one);
 *      song.beat_energy: same length as beats or empty (then energy_curve,
 *        else 1.0); song.downbeats, song.sections: optional (pacing);
 *      song.duration: the song's length, ns (may be GST_CLOCK_TIME_NONE only
 *        when settings.duration is set); song.sound_end: optional
 *        (GST_CLOCK_TIME_NONE or 0: not used for the end), where the edit
 *        ends and whether it fades (PlanSettings::duration);
 *      clips: the clips in the user's order; a clip's shots are used as given,
 *        or, when clip.shots is empty, derived from clip.cuts and clip.duration
 *        as shots_from_cuts() does (Segment::shot then indexes that list).
 *        Clip frame rate fps_n/fps_d, or 0 when unknown. Shots with
 *        has_features are placed in feature space (FeatureScale::fit() over
 *        all shots); the others score 0.5 on closeness.
 * Out: a Plan whose segments run back to back from 0 to Plan::duration:
 *      - segment i+1 starts on a beat: its start is that beat rounded to the
 *        output frame grid, Segment::beat its index, beat_time its time;
 *        except inside a stretch without beats longer than
 *        style.pacing.max_hold (from the song start, or a beat, to the next
 *        beat, or the edit's end, each on its output frame): the stretch is
 *        cut into the fewest segments of at most max_hold and of at most
 *        the longest piece one shot holds, evenly (their lengths differ by
 *        at most one output frame), each after the first
 *        with beat SIZE_MAX and beat_time = its start; the stretch's first
 *        and last cut are on its bounding beats (the first beat after it
 *        always gets a cut), and one note (note_kind::kBeatlessStretch) says
 *        where;
 *      - a whole-song edit has a cut on the song's final beat (unless it lies
 *        within half a beat of the end or the pacing's minimum gap forbids it);
 *      - segment 0 starts at 0; its beat is 0 when beats[0] lies within one
 *        output frame of 0, else SIZE_MAX ("song start", beat_time 0);
 *      - in the rare case no shot can hold the time to the next beat, the
 *        segment is cut off the beat (beat SIZE_MAX, beat_time = its start)
 *        and a note says so; where the rest up to a cut every plan makes
 *        (a stretch's, or the end) would be shorter than min_gap, that time
 *        is cut into even pieces that fit instead;
 *      - inpoint >= shot.start (and >= shot.transition_end), inpoint +
 *        duration <= shot.end - one source frame (1/30 s when the clip's rate
 *        is unknown) and <= the next shot's transition_start, inpoint on the
 *        clip's frame grid when its rate is known (clip.first_frame + k /
 *        rate: its frames' own times, also where they start late);
 *      - consecutive segments come from different clips while any other
 *        clip can hold the segment (reusing footage if need be); from the
 *        same shot, the second starts at or after the first's out-point
 *        (exactly there, within one source frame: joined into one segment),
 *        unless nothing else can hold it (a note counts these);
 *      - no segment is longer than style.pacing.max_hold (pacing, and the
 *        stretches without beats above; only the rest of a segment cut
 *        early, shorter than min_gap, taken with the next segment, can pass
 *        it by that rest, and never across a stretch's cut), joined
 *        segments included: a piece whose join would pass it goes to
 *        another shot (footage seen before if need be), else it stays a
 *        segment of its own, cut on its beat, and a note counts these;
 *      - reused = true where the footage overlaps an earlier segment's;
 *      - no segment is shorter than style.pacing.min_gap where any shot,
 *        footage seen before included, holds min_gap from its start (the
 *        next planned cuts permitting); one that is, is named in a note
 *        (note_kind::kUnderMinGap), and a clip left unused because none of
 *        its shots holds min_gap is said unused (note_kind::kClipUnused);
 *      - Plan::notes lists unused clips, reuse, shortened and off-beat cuts,
 *        segments under min_gap,
 *        stretches without beats cut off the beat, a silent tail the edit
 *        ends before or runs into,
 *        the same clip twice in a row, joined cuts, cuts kept to honour
 *        max_hold, and a plan from only one usable clip: each with its
 *        severity and kind (note_kind above) and a sentence for the user,
 *        at most one note per kind (per kind and clip for the clip kinds).
 * Throws PlanError when: settings are invalid (frame rate, duration 0, a
 *      style's beats per cut 0); the song has no beats; the song duration is unknown and
 *      no duration was requested; no clips are given; no clip has a shot at
 *      least one beat long (the median beat interval).
 * Deterministic: the same arguments give the same plan on every platform
 * (jitter from a fixed hash of seed, cut and shot; no std distributions).
 */
Plan plan_montage(const SongAnalysis &song, const std::vector<ClipAnalysis> &clips,
                  const PlanSettings &settings);

/* plan_montage() with the record of every decision (same arguments, same
 * plan, same errors): per cut the score breakdown, the music at the cut, the
 * pacing and the transition; the audio fade-out; the style. */
PlanResult plan_montage_explained(const SongAnalysis &song, const std::vector<ClipAnalysis> &clips,
                                  const PlanSettings &settings);

/* Output frame grid helpers used by the planner (fps_n, fps_d > 0). */
/* Nearest frame index of time t: round(t * fps_n / (fps_d * GST_SECOND)). */
guint64 frame_at(GstClockTime t, gint fps_n, gint fps_d);
/* Time of frame index `frame`: round(frame * fps_d * GST_SECOND / fps_n). */
GstClockTime frame_time(guint64 frame, gint fps_n, gint fps_d);

} // namespace montage
