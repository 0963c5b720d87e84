/* gst-montage: the montage planner. See planner.h and docs/planner.md. */
#include <gst/montage/planner.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cmath>
#include <optional>
#include <utility>

namespace montage
{

guint64 frame_at(GstClockTime t, gint fps_n, gint fps_d)
{
  return gst_util_uint64_scale_round(t, (guint64)fps_n, (guint64)fps_d * GST_SECOND);
}

GstClockTime frame_time(guint64 frame, gint fps_n, gint fps_d)
{
  return gst_util_uint64_scale_round(frame, (guint64)fps_d * GST_SECOND, (guint64)fps_n);
}

namespace
{

constexpr std::size_t kNoBeat = SIZE_MAX;

/* Bars whose SongAnalysis::meter_confidence is under this are a guess and
 * are not followed (no downbeat bonus, phrase starts from sections only).
 * montagebeat's measurement (docs/montagebeat.md, meter confidence):
 * equal clicks, whose bar lines nothing marks, read 0-0.17; songs whose
 * bars are right 0.32-1.00. */
constexpr double kMinMeterConfidence = 0.25;

std::string seconds(GstClockTime t)
{
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f s", (double)t / GST_SECOND);
  return buf;
}

/* Adds a note to the plan (planner.h lists the kinds and their severity). */
void add_note(Plan &plan, NoteSeverity severity, const char *kind, std::string text)
{
  plan.notes.push_back(PlanNote{severity, kind, std::move(text)});
}

/* A clip's own frame grid (or none when its rate is unknown): frame k at
 * origin + k / rate, origin being the stream time of the clip's first frame
 * (ClipAnalysis::first_frame). Counted from 0 instead, a file whose frames
 * start between two grid times (an MPEG program stream's at 0.54 s, 13.5
 * frames at 25 fps) had every in-point half-way between two of its frames,
 * which a render, an editor and an export may each round their own way. */
struct SourceGrid {
  gint fps_n = 0;
  gint fps_d = 1;
  GstClockTime origin = 0;

  bool known() const { return fps_n > 0 && fps_d > 0; }
  GstClockTime frame_length() const
  {
    if (!known())
      return gst_util_uint64_scale_ceil(GST_SECOND, 1, 30);
    return gst_util_uint64_scale_ceil(GST_SECOND, (guint64)fps_d, (guint64)fps_n);
  }
  /* First frame time at or after t (the first frame for t before it). */
  GstClockTime up(GstClockTime t) const { return up_from(t, 0); }
  /* The same for a frame's own stamp (a shot's first usable frame), a
   * frame time up to kSlack before t counting as at it: a frame stamped a
   * nanosecond past the grid (33333334 ns, frame 1 at 30 fps, rounded up
   * by a demuxer or the analysis; the grid's is 33333333) is that frame, not
   * the one after it (a clip whose first frame was an insert offered a frame
   * less: trial h113's 0.5 s clip, helper h136). Not for the end of a piece
   * already taken: a next piece starting a nanosecond before it would count
   * as footage shown again (review h141). */
  static constexpr GstClockTime kSlack = GST_USECOND;
  GstClockTime up_to_frame(GstClockTime t) const { return up_from(t, kSlack); }
  GstClockTime up_from(GstClockTime t, GstClockTime slack) const
  {
    if (!known())
      return t;
    if (t <= origin)
      return origin;
    guint64 f = frame_at(t - origin, fps_n, fps_d);
    if (frame_time(f, fps_n, fps_d) + slack < t - origin)
      f++;
    return origin + frame_time(f, fps_n, fps_d);
  }
  /* Last frame time at or before t (the first frame for t before it). */
  GstClockTime down(GstClockTime t) const
  {
    if (!known())
      return t;
    if (t <= origin)
      return origin;
    guint64 f = frame_at(t - origin, fps_n, fps_d);
    if (frame_time(f, fps_n, fps_d) > t - origin)
      f--; /* frame_time(0) == 0 <= t - origin, so f > 0 here */
    return origin + frame_time(f, fps_n, fps_d);
  }
};

/* Usage of one shot: the in-point range and the footage already shown. */
struct ShotState {
  GstClockTime lo = 0; /* first usable in-point (on the source grid) */
  GstClockTime hi = 0; /* shot end minus one source frame: footage must end by here */
  std::vector<std::pair<GstClockTime, GstClockTime>> used;  /* sorted, disjoint [a, b) */
  std::vector<std::pair<GstClockTime, GstClockTime>> shown; /* every piece taken, as placed */
  GstClockTime best = GST_CLOCK_TIME_NONE;                  /* ShotFeatures::best_inpoint */
  GstClockTime last_out = GST_CLOCK_TIME_NONE;              /* end of the latest piece taken */

  GstClockTime usable() const { return hi > lo ? hi - lo : 0; }
  GstClockTime used_length() const
  {
    GstClockTime total = 0;
    for (const auto &u : used)
      total += u.second - u.first;
    return total;
  }
  /* How much of [a, b) the pieces cover, summed over the pieces. */
  static GstClockTime covered(const std::vector<std::pair<GstClockTime, GstClockTime>> &pieces,
                              GstClockTime a, GstClockTime b)
  {
    GstClockTime total = 0;
    for (const auto &u : pieces) {
      GstClockTime s = std::max(a, u.first), e = std::min(b, u.second);
      if (e > s)
        total += e - s;
    }
    return total;
  }
  GstClockTime overlap(GstClockTime a, GstClockTime b) const { return covered(used, a, b); }
  /* How much of [a, b) has been on screen, counted once per showing. */
  GstClockTime times_shown(GstClockTime a, GstClockTime b) const { return covered(shown, a, b); }
  void mark(GstClockTime a, GstClockTime b)
  {
    shown.emplace_back(a, b);
    last_out = b;
    used.emplace_back(a, b);
    std::sort(used.begin(), used.end());
    std::vector<std::pair<GstClockTime, GstClockTime>> merged;
    for (const auto &u : used) {
      if (!merged.empty() && u.first <= merged.back().second)
        merged.back().second = std::max(merged.back().second, u.second);
      else
        merged.push_back(u);
    }
    used = std::move(merged);
  }
  /* The in-point is at or after the end of the latest piece of this shot:
   * the shot runs forwards across the edit. */
  bool forward(GstClockTime in) const
  {
    return !GST_CLOCK_TIME_IS_VALID(last_out) || in >= last_out;
  }
};

struct ClipState {
  std::size_t index = 0; /* into the caller's clip list */
  SourceGrid grid;
  std::vector<ShotState> shots; /* parallel to the clip's shot list */
};

/* Where a segment of a given length can go inside one shot. */
struct Placement {
  GstClockTime inpoint = 0;
  GstClockTime room = 0; /* free (or usable) stretch the segment is placed in: for the fit term */
  bool reused = false;
  double inpoint_score = 0.5; /* ItemUse::inpoint */
};

/* How close in-point `in` is to the shot's best moment, for a d-long
 * segment: 1 at it, falling to 0 one segment length away; 0.5 when unknown. */
double inpoint_score(GstClockTime best, GstClockTime in, GstClockTime d)
{
  if (!GST_CLOCK_TIME_IS_VALID(best))
    return 0.5;
  GstClockTime dist = in > best ? in - best : best - in;
  return 1.0 - std::min(1.0, (double)dist / (double)std::max<GstClockTime>(d, 1));
}

/* In-point of a d-long segment in the free stretch [a, b): at the shot's best
 * moment when known, moved into the stretch; else at the stretch's start. */
GstClockTime inpoint_in(const ShotState &s, const SourceGrid &grid, GstClockTime a, GstClockTime b,
                        GstClockTime d)
{
  GstClockTime first = grid.up(a);
  if (!GST_CLOCK_TIME_IS_VALID(s.best) || b < d)
    return first;
  GstClockTime last = grid.down(b - d);
  if (last < first)
    return first;
  return std::clamp(grid.up(s.best), first, last);
}

/* Placement in unused footage, with the in-point at or after `floor`.
 * A shot not used yet: in the free stretch whose placement comes closest to
 * the best moment, then that the segment fills most. A shot used before runs
 * forwards: at the start of the first free stretch after its latest piece
 * (where it stopped, when that footage is free); when none holds the
 * segment, at the start of the longest free stretch before it, so that the
 * following pieces run forwards from there instead of stepping back piece by
 * piece. */
std::optional<Placement> place_fresh(const ShotState &s, const SourceGrid &grid, GstClockTime d,
                                     GstClockTime floor)
{
  std::optional<Placement> best;
  bool best_forward = false;
  auto consider = [&](GstClockTime a, GstClockTime b) {
    a = std::max(a, floor);
    GstClockTime first = grid.up(a);
    if (first < s.lo || first >= b || b - first < d)
      return;
    const bool used = GST_CLOCK_TIME_IS_VALID(s.last_out);
    const bool fwd = used && s.forward(first);
    GstClockTime in = used ? first : inpoint_in(s, grid, a, b, d);
    Placement p{in, b - first, false, inpoint_score(s.best, in, d)};
    bool better;
    if (!best)
      better = true;
    else if (fwd != best_forward)
      better = fwd;
    else if (fwd)
      better = in < best->inpoint;
    else if (used)
      better = p.room > best->room;
    else
      better = p.inpoint_score > best->inpoint_score ||
               (p.inpoint_score == best->inpoint_score && p.room < best->room);
    if (better) {
      best = p;
      best_forward = fwd;
    }
  };
  GstClockTime a = s.lo;
  for (const auto &u : s.used) {
    if (u.first > a)
      consider(a, std::min(u.first, s.hi));
    a = std::max(a, u.second);
    if (a >= s.hi)
      break;
  }
  if (a < s.hi)
    consider(a, s.hi);
  return best;
}

/* Placement with the in-point at or after `floor` (the shot must hold d)
 * that shows footage seen least often before (counted per showing, so
 * repeated reuse moves through the shot instead of showing one stretch
 * again and again), then after the shot's latest piece, then closest to the
 * best moment, then earliest. */
std::optional<Placement> place_reused(const ShotState &s, const SourceGrid &grid, GstClockTime d,
                                      GstClockTime floor)
{
  const GstClockTime first = grid.up(std::max(s.lo, floor));
  if (s.hi < d || s.hi - d < first)
    return std::nullopt;
  GstClockTime last = grid.down(s.hi - d);
  if (last < first)
    return std::nullopt;
  std::vector<GstClockTime> tries{first, last};
  if (GST_CLOCK_TIME_IS_VALID(s.best))
    tries.push_back(std::clamp(grid.up(s.best), first, last));
  if (GST_CLOCK_TIME_IS_VALID(s.last_out))
    tries.push_back(grid.up(s.last_out));
  for (const auto &u : s.shown)
    tries.push_back(grid.up(u.second));
  std::optional<Placement> best;
  GstClockTime best_shown = 0;
  bool best_forward = false;
  for (GstClockTime in : tries) {
    if (in < first || in > last)
      continue;
    GstClockTime seen = s.times_shown(in, in + d);
    bool fwd = s.forward(in);
    Placement p{in, s.usable(), s.overlap(in, in + d) > 0, inpoint_score(s.best, in, d)};
    bool better;
    if (!best || seen != best_shown)
      better = !best || seen < best_shown;
    else if (fwd != best_forward)
      better = fwd;
    else if (p.inpoint_score != best->inpoint_score)
      better = p.inpoint_score > best->inpoint_score;
    else
      better = in < best->inpoint;
    if (better) {
      best = p;
      best_shown = seen;
      best_forward = fwd;
    }
  }
  return best;
}

/* A cut candidate: a beat on the output frame grid, the start or the end,
 * or a cut inside a stretch without beats (find_cuts()). */
struct Node {
  guint64 frame = 0;
  std::size_t beat = kNoBeat; /* beat index, or kNoBeat (song start, edit end, off-beat) */
};

/* A stretch between two cut candidates without a beat between them, longer
 * than the style's max_hold (cut into even pieces by cut_stretches()). */
struct Stretch {
  GstClockTime from = 0, to = 0; /* output times (on the frame grid) */
};

/* What a segment may show, relative to the segment before it. The planner
 * tries these in order (each at the paced length, then shorter), so another
 * clip's footage, even seen before, comes before the same clip back to back;
 * the same shot back to back only continues forwards from where the previous
 * segment ended; stepping back in it is the last resort. A piece that
 * continues the previous segment exactly is joined to it, and only while the
 * joined segment stays within the style's max_hold: past it, the piece comes
 * in the tiers that allow it (past_hold), after every other shot, and is
 * kept as its own segment, cut on the beat. */
enum class Repeat {
  kOtherClip, /* not the previous segment's clip */
  kOtherShot, /* the previous clip, another shot */
  kSameShot,  /* the previous shot too, in-point at or after its out-point */
  kBackwards, /* the previous shot anywhere */
};

struct Tier {
  bool fresh;     /* unused footage only */
  Repeat repeat;  /* what may repeat the previous segment */
  bool past_hold; /* the previous segment's footage may continue exactly though
                     the two together would be longer than max_hold */
};

constexpr Tier kTiers[] = {
    {true, Repeat::kOtherClip, false},  {false, Repeat::kOtherClip, false},
    {true, Repeat::kOtherShot, false},  {true, Repeat::kSameShot, false},
    {false, Repeat::kOtherShot, false}, {false, Repeat::kSameShot, false},
    {true, Repeat::kSameShot, true},    {false, Repeat::kSameShot, true},
    {false, Repeat::kBackwards, true},
};

struct Choice {
  Selection selection;
  std::size_t clip = 0; /* index into the ClipState list */
  std::size_t shot = 0;
  Placement place;
  Repeat repeat = Repeat::kOtherClip; /* the tier it was found in */
};

SelectionSettings selection_settings(const PlanSettings &settings)
{
  SelectionSettings s;
  s.weights = settings.style.weights;
  s.axis_weights = settings.style.target.axis_weights;
  s.neighbours = settings.style.neighbours;
  s.variety_window = settings.style.variety_window;
  s.seed = settings.seed;
  return s;
}

constexpr double kViolation = 1000.0; /* pacing cost of breaking min gap or max hold */

/* Why a segment of the plan is shorter than the style's min_gap. */
enum class ShortCause {
  kNone,    /* it is not */
  kFootage, /* no shot could hold min_gap there (nor the time to the next beat, off the beat) */
  kCuts,    /* the cuts around it leave no longer segment: a stretch's cuts, the edit's end,
               the rest of a segment cut off the beat */
};

/* How many segments the under-min-gap note names one by one, per cause. */
constexpr std::size_t kNamedShortSegments = 12;

class Planner
{
public:
  Planner(const SongAnalysis &song, const std::vector<ClipAnalysis> &clips,
          const PlanSettings &settings)
      : song_(song), clips_(clips), settings_(settings), style_(settings.style),
        engine_(selection_settings(settings))
  {
  }

  PlanResult run();

private:
  void check_input();
  void find_beat_length();
  void prepare_clips();
  void find_end();
  void find_cuts();
  void cut_stretches();
  std::size_t beats_through(const Node &node) const;
  void mark_beats();
  void pace();
  double energy_at(std::size_t beat, GstClockTime t) const;
  Section::Level level_at(GstClockTime t, double energy) const;
  GstClockTime silent_time(GstClockTime a, GstClockTime b) const;
  void warn_silent_edit();
  guint wanted_beats(Section::Level level) const;
  guint in_bar(guint beats) const;
  guint paced_beats(const Node &from, guint wanted) const;
  MusicMoment music_at(std::size_t beat, GstClockTime t) const;
  double segment_cost(std::size_t i, std::size_t j) const;
  std::optional<Choice> choose(const FeaturePoint &target, GstClockTime d, const Tier &tier);
  GstClockTime longest_room(bool fresh, const Tier *tier = nullptr) const;
  void note_under_min_gap(const std::vector<ShortCause> &cause);
  void note_clips_under_min_gap();
  GstClockTime t(guint64 frame) const { return frame_time(frame, fps_n_, fps_d_); }
  bool whole_song() const { return !end_beat_valid_; }

  const SongAnalysis &song_;
  const std::vector<ClipAnalysis> &clips_;
  const PlanSettings &settings_;
  const Style &style_;
  SelectionEngine engine_;
  gint fps_n_ = 30, fps_d_ = 1;
  GstClockTime beat_length_ = GST_SECOND / 2;
  std::vector<ClipState> states_;
  std::vector<std::pair<std::size_t, std::size_t>> items_; /* engine item -> (state, shot) */
  std::vector<std::vector<std::size_t>> item_of_;          /* (state, shot) -> engine item */
  std::vector<Placement> placements_;                      /* per item, during choose() */
  guint64 end_frame_ = 0;
  bool end_beat_valid_ = false; /* the edit ends on a beat (a requested length) */
  std::size_t end_beat_ = kNoBeat;
  std::size_t start_beat_ = kNoBeat;
  std::vector<Node> nodes_;        /* start, beat cuts, cuts inside stretches, end */
  std::vector<bool> must_;         /* per node: every path cuts there (a stretch's cuts) */
  std::vector<Stretch> stretches_; /* stretches without beats longer than max_hold */
  std::vector<std::size_t> path_; /* node indices of the paced cuts, from 0 to the end */
  std::vector<guint> paced_;      /* per node: the beats a segment from it is paced to */
  std::vector<bool> downbeat_, phrase_, section_start_; /* per beat */
  guint bar_ = 0; /* beats per bar where the bars are followed (mark_beats()), else 0 */
  PlanResult result_;
  std::ptrdiff_t prev_item_ = -1; /* engine item of the previous segment */
  std::ptrdiff_t prev_clip_ = -1; /* its ClipState index */
  GstClockTime prev_out_ = 0;     /* end of its footage in the clip */
  GstClockTime prev_length_ = 0;  /* its duration (0 before the first segment) */
  GstClockTime remaining_ = 0;    /* music left from the segment being chosen to the end */
  /* Per engine item: the plan segment that last showed it, or SIZE_MAX. */
  std::vector<std::size_t> last_shown_;
  std::size_t next_segment_ = 0; /* index the segment being chosen will have */

  /* Item `item` was shown in one of the last kReuseRecencyWindow segments. */
  bool shown_recently(std::size_t item) const
  {
    return last_shown_[item] != SIZE_MAX &&
           next_segment_ - last_shown_[item] <= kReuseRecencyWindow;
  }
};

void Planner::check_input()
{
  if (settings_.fps_n <= 0 || settings_.fps_d <= 0)
    throw PlanError("The output frame rate " + std::to_string(settings_.fps_n) + "/" +
                    std::to_string(settings_.fps_d) +
                    " is not valid: give a positive rate such as 30/1 or 30000/1001.");
  const StylePacing &p = style_.pacing;
  if (p.beats_per_cut_low == 0 || p.beats_per_cut_medium == 0 || p.beats_per_cut_high == 0)
    throw PlanError("The style '" + style_.name + "' asks for 0 beats per cut: use at least 1.");
  if (settings_.duration == 0)
    throw PlanError("The requested duration is 0: ask for a positive length, or none for "
                    "the whole song.");
  if (clips_.empty())
    throw PlanError("No clips were given: add at least one video clip to cut to the song.");
  if (song_.beats.empty())
    throw PlanError("No beats were found in the song '" + song_.uri +
                    "': use a song with a clear beat, or check that it was analysed.");
  for (std::size_t i = 1; i < song_.beats.size(); i++)
    if (song_.beats[i] <= song_.beats[i - 1] || !GST_CLOCK_TIME_IS_VALID(song_.beats[i]))
      throw PlanError("The beats of the song '" + song_.uri +
                      "' are not strictly ascending (beat " + std::to_string(i) +
                      "): re-run the song analysis.");
  if (!GST_CLOCK_TIME_IS_VALID(song_.beats[0]))
    throw PlanError("The first beat of the song '" + song_.uri +
                    "' has no time: re-run the song analysis.");
  if (!GST_CLOCK_TIME_IS_VALID(song_.duration) && !GST_CLOCK_TIME_IS_VALID(settings_.duration))
    throw PlanError("The length of the song '" + song_.uri +
                    "' is unknown: give the edit's duration explicitly.");
  fps_n_ = settings_.fps_n;
  fps_d_ = settings_.fps_d;
}

/* One beat: the median beat interval; with a single beat, 60 / bpm, else 0.5 s. */
void Planner::find_beat_length()
{
  const auto &b = song_.beats;
  if (b.size() >= 2) {
    std::vector<GstClockTime> gaps;
    for (std::size_t i = 1; i < b.size(); i++)
      gaps.push_back(b[i] - b[i - 1]);
    std::nth_element(gaps.begin(), gaps.begin() + gaps.size() / 2, gaps.end());
    beat_length_ = gaps[gaps.size() / 2];
  } else if (song_.bpm > 0.0) {
    beat_length_ = (GstClockTime)(60.0 / song_.bpm * GST_SECOND);
  }
}

void Planner::prepare_clips()
{
  std::vector<std::vector<Shot>> shot_lists; /* parallel to states_ */
  for (std::size_t i = 0; i < clips_.size(); i++) {
    const ClipAnalysis &clip = clips_[i];
    ClipAnalysis derived;
    const std::vector<Shot> *shots = &clip.shots;
    if (shots->empty()) {
      derived.cuts = clip.cuts;
      derived.duration = clip.duration;
      derived.first_frame = clip.first_frame;
      shots_from_cuts(derived);
      shots = &derived.shots;
    }
    if (shots->empty()) {
      add_note(result_.plan, NoteSeverity::kWarning, note_kind::kClipUnused,
               "Clip '" + clip.path + "' is not used: it has no shots (its length is unknown).");
      continue;
    }
    ClipState state;
    state.index = i;
    state.grid = SourceGrid{clip.fps_n, clip.fps_d, clip.first_frame};
    /* Where footage must end by when the plan keeps to the stated length
     * (PlanSettings::within_stated_length). */
    const GstClockTime reach =
        settings_.within_stated_length ? clip.stated_duration : GST_CLOCK_TIME_NONE;
    bool long_enough = false, cut_short = false;
    /* The most footage one shot offers, and that shot's length. */
    GstClockTime longest = 0, longest_shot = 0;
    for (std::size_t k = 0; k < shots->size(); k++) {
      const Shot &shot = (*shots)[k];
      ShotState s;
      /* Outside the shot's own fade or dissolve in (or the insert or flash
       * frame a cut shot begins on: its transition_end, types.h), and the
       * next one's. */
      GstClockTime begin = std::max(shot.start, shot.transition_end);
      GstClockTime end = shot.end;
      if (k + 1 < shots->size()) {
        const Shot &next = (*shots)[k + 1];
        if (next.transition_start > begin && next.transition_start < end)
          end = next.transition_start;
      }
      s.lo = state.grid.up_to_frame(begin);
      GstClockTime margin = state.grid.frame_length();
      s.hi = end > margin ? end - margin : 0;
      if (GST_CLOCK_TIME_IS_VALID(reach) && s.hi > reach) {
        cut_short |= s.hi > s.lo;
        s.hi = reach;
      }
      if (shot.has_features)
        s.best = shot.features.best_inpoint;
      if (s.usable() >= beat_length_)
        long_enough = true;
      if (k == 0 || s.usable() > longest) {
        longest = s.usable();
        longest_shot = shot.end > shot.start ? shot.end - shot.start : 0;
      }
      state.shots.push_back(s);
    }
    if (cut_short)
      add_note(result_.plan, NoteSeverity::kInfo, note_kind::kClipPastStatedLength,
               "Clip '" + clip.path + "': its footage past " + seconds(reach) +
                   " is left out, the length its file states (GES, and so an "
                   ".xges project, reaches no further).");
    if (!long_enough) {
      /* What a shot offers, not its length: a 15-frame clip at 30 fps, 0.5 s
       * on the tool's clip line, offers 0.47 s once its last frame is left
       * out (trial h113's, whose first frame the analysis took for an
       * insert, 0.40 s), and "none of its 1 shots is at least one beat
       * (0.46 s) long" read as a contradiction. */
      add_note(result_.plan, NoteSeverity::kWarning, note_kind::kClipUnused,
               "Clip '" + clip.path + "' is not used: " +
                   (shots->size() == 1
                        ? std::string("its only shot")
                        : "the best of its " + std::to_string(shots->size()) + " shots") +
                   " (" + seconds(longest_shot) + ") offers " + seconds(longest) + " of footage" +
                   (cut_short ? " within the length its file states" : "") +
                   ", less than one beat (" + seconds(beat_length_) +
                   "): a shot's last source frame is left out, in case its cut was found a frame "
                   "late, and so is any fade, dissolve or insert frame it begins with.");
      continue;
    }
    states_.push_back(std::move(state));
    shot_lists.push_back(*shots);
  }
  if (states_.empty())
    throw PlanError("None of the " + std::to_string(clips_.size()) +
                    " clips has a shot at least one beat (" + seconds(beat_length_) +
                    ") long: add clips with longer shots, or check the scene detection.");

  /* The engine's items: every shot of every usable clip, in feature space. */
  std::vector<const ShotFeatures *> pool;
  for (const auto &shots : shot_lists)
    for (const Shot &shot : shots)
      if (shot.has_features)
        pool.push_back(&shot.features);
  const FeatureScale scale = FeatureScale::fit(pool);
  std::vector<SelectionItem> items;
  item_of_.resize(states_.size());
  for (std::size_t c = 0; c < states_.size(); c++) {
    for (std::size_t k = 0; k < shot_lists[c].size(); k++) {
      const Shot &shot = shot_lists[c][k];
      SelectionItem item;
      item.source = c;
      item.has_features = shot.has_features;
      if (shot.has_features) {
        item.point = scale.normalise(shot.features);
        item.histogram = shot.features.histogram;
      }
      item_of_[c].push_back(items.size());
      items_.emplace_back(c, k);
      items.push_back(std::move(item));
    }
  }
  placements_.resize(items.size());
  last_shown_.assign(items.size(), SIZE_MAX);
  engine_.set_items(std::move(items));
}

void Planner::find_end()
{
  /* The song's length floored to the frame grid, a frame that it fills but
   * for kSongLengthTolerance counted (a length read a few ns short lost
   * the last frame: 3 s at 30 fps, read 2.999999999 s, made 89 frames). */
  GstClockTime song_end = GST_CLOCK_TIME_NONE;
  if (GST_CLOCK_TIME_IS_VALID(song_.duration))
    song_end = t(gst_util_uint64_scale(song_.duration + kSongLengthTolerance, (guint64)fps_n_,
                                       (guint64)fps_d_ * GST_SECOND));
  /* The song's sound ends more than kSilentTailTolerance before the song
   * (SongAnalysis::sound_end): its last seconds are silence. */
  const GstClockTime sound_end = song_.sound_end;
  const bool silent_tail = GST_CLOCK_TIME_IS_VALID(sound_end) && sound_end > 0 &&
                           GST_CLOCK_TIME_IS_VALID(song_.duration) && sound_end < song_.duration &&
                           song_.duration - sound_end > kSilentTailTolerance;
  GstClockTime end;
  if (!GST_CLOCK_TIME_IS_VALID(settings_.duration)) {
    end = song_end;
    /* The whole song is its sound: the edit ends where it ends, on the
     * frame that holds its last sound (rounded up), with no end search (a
     * downbeat before it would cut off the last note, one after it would
     * add silence) and no fade (the music has ended). */
    if (silent_tail)
      end = std::min(song_end, t(gst_util_uint64_scale_ceil(sound_end, (guint64)fps_n_,
                                                            (guint64)fps_d_ * GST_SECOND)));
  } else {
    const GstClockTime want = settings_.duration;
    const GstClockTime search = style_.pacing.end_search;
    /* Nearest downbeat within `search`, else nearest beat, else `want`. */
    std::size_t pick = kNoBeat;
    GstClockTime pick_dist = 0;
    for (int pass = 0; pass < 2 && pick == kNoBeat; pass++) {
      for (std::size_t i = 0; i < song_.beats.size(); i++) {
        if (pass == 0 && !downbeat_[i])
          continue;
        GstClockTime b = song_.beats[i];
        if (frame_at(b, fps_n_, fps_d_) == 0)
          continue;
        if (GST_CLOCK_TIME_IS_VALID(song_end) && b > song_end)
          continue;
        GstClockTime dist = b > want ? b - want : want - b;
        if (dist <= search && (pick == kNoBeat || dist < pick_dist)) {
          pick = i;
          pick_dist = dist;
        }
      }
    }
    if (pick != kNoBeat) {
      end = t(frame_at(song_.beats[pick], fps_n_, fps_d_));
      end_beat_ = pick;
      end_beat_valid_ = true;
    } else {
      end = t(frame_at(want, fps_n_, fps_d_));
    }
    if (GST_CLOCK_TIME_IS_VALID(song_end) && end >= song_end) {
      if (want > song_end)
        add_note(result_.plan, NoteSeverity::kWarning, note_kind::kDurationPastSong,
                 "The requested duration " + seconds(want) +
                     " is longer than the song: the edit ends with the song at " +
                     seconds(song_end) + ".");
      end = song_end;
      end_beat_valid_ = false;
      end_beat_ = kNoBeat;
    }
  }
  end_frame_ = frame_at(end, fps_n_, fps_d_);
  if (end_frame_ == 0)
    throw PlanError("The edit would be shorter than one frame: ask for a longer duration.");
  if (silent_tail && !GST_CLOCK_TIME_IS_VALID(settings_.duration))
    add_note(result_.plan, NoteSeverity::kInfo, note_kind::kSilentTail,
             "The song is silent from " + seconds(sound_end) + " to its end (" +
                 seconds(song_.duration) + "): the edit ends with its sound, at " +
                 seconds(t(end_frame_)) + ".");
  else if (silent_tail && t(end_frame_) > sound_end + kSilentTailTolerance)
    add_note(result_.plan, NoteSeverity::kInfo, note_kind::kSilentTail,
             "The song is silent from " + seconds(sound_end) + " to its end (" +
                 seconds(song_.duration) + "): the edit runs on past its sound to " +
                 seconds(t(end_frame_)) + ", as long as asked.");
  /* A fade only where the edit cuts the sound off: one after the sound's
   * end, or one whose every energy interval is silence (an edit ending in
   * a silent intro or break), would fade silence. */
  const bool cuts_sound =
      !GST_CLOCK_TIME_IS_VALID(sound_end) || sound_end == 0 || t(end_frame_) < sound_end;
  if ((!GST_CLOCK_TIME_IS_VALID(song_end) || t(end_frame_) < song_end) && cuts_sound) {
    GstClockTime fade = std::min(style_.pacing.fade_out, t(end_frame_) / 4);
    fade = t(frame_at(fade, fps_n_, fps_d_));
    if (silent_time(t(end_frame_) - fade, t(end_frame_)) < fade)
      result_.fade_out = fade;
    if (result_.fade_out > 0)
      add_note(
          result_.plan, NoteSeverity::kInfo, note_kind::kAudioFadeOut,
          "The edit ends at " + seconds(t(end_frame_)) +
              (end_beat_valid_ ? (downbeat_[end_beat_] ? " on a downbeat" : " on a beat") : "") +
              ", before the song ends: the audio fades out over the last " +
              seconds(result_.fade_out) + ".");
  }
  warn_silent_edit();
}

/* Time in [a, b) that the song's energy curve has as silence: runs of
 * intervals at 0 (under montagebeat's silence threshold, -60 dBFS by
 * default) lasting kSilentTailTolerance (1 s) or more, counting their part
 * inside [a, b); 0 without a curve. Shorter runs are the music's own gaps
 * (between a click track's ticks, 3 of every 5 intervals are silence). */
GstClockTime Planner::silent_time(GstClockTime a, GstClockTime b) const
{
  const GstClockTime iv = song_.energy_interval;
  const std::vector<double> &c = song_.energy_curve;
  GstClockTime silent = 0;
  if (iv == 0 || b <= a)
    return 0;
  for (std::size_t k = 0; k < c.size() && k * iv < b;) {
    if (c[k] > 0.0) {
      k++;
      continue;
    }
    std::size_t e = k;
    while (e < c.size() && c[e] <= 0.0)
      e++;
    const GstClockTime lo = std::max<GstClockTime>(a, k * iv),
                       hi = std::min<GstClockTime>(b, e * iv);
    if ((e - k) * iv >= kSilentTailTolerance && hi > lo)
      silent += hi - lo;
    k = e;
  }
  return silent;
}

/* Warns (note_kind::kSilentEdit) when half the edit or more is the song's
 * silence, or no beat of the song lies inside it: a montage of pictures
 * over silence, cut off the beat (a trial's -d 10 on a song after 15 s of
 * silence gave one, exit 0 and no word). Half is a choice: a shorter
 * silent intro is a song's own (it is said by the beatless-stretch note). */
void Planner::warn_silent_edit()
{
  const GstClockTime end = t(end_frame_);
  const GstClockTime silent = silent_time(0, end);
  bool beat_inside = false;
  for (GstClockTime b : song_.beats)
    beat_inside |= b < end;
  if (beat_inside && silent * 2 < end)
    return;
  GstClockTime sound_start = GST_CLOCK_TIME_NONE;
  for (std::size_t k = 0; k < song_.energy_curve.size() && song_.energy_interval > 0; k++) {
    if (song_.energy_curve[k] > 0.0) {
      sound_start = k * song_.energy_interval;
      break;
    }
  }
  const bool mostly_silent = silent * 2 >= end;
  std::string text = "The edit (" + seconds(end) + ") ";
  if (mostly_silent)
    text +=
        "is mostly silence: " + seconds(silent) + " of it is under the song's silence threshold";
  else
    text += "has no beat of the song";
  if (mostly_silent && !beat_inside)
    text += ", and no beat of the song lies in it";
  if (!GST_CLOCK_TIME_IS_VALID(sound_start))
    text += " (the song has no sound)";
  else if (sound_start > 0)
    text += " (the song's sound starts at " + seconds(sound_start) + ")";
  if (!beat_inside)
    text += mostly_silent ? ": its pictures are cut off the beat, over silence."
                          : ": its pictures are cut off the beat.";
  else
    text += ": most of its pictures are over silence.";
  text += mostly_silent ? " Ask for a longer duration, or trim the song's silence."
                        : " Ask for a longer duration.";
  add_note(result_.plan, NoteSeverity::kWarning, note_kind::kSilentEdit, text);
}

void Planner::find_cuts()
{
  const auto &b = song_.beats;
  /* beats[0] within one output frame of 0: the first segment starts on it. */
  if (gst_util_uint64_scale(b[0], (guint64)fps_n_, (guint64)fps_d_ * GST_SECOND) == 0)
    start_beat_ = 0;
  nodes_.push_back(Node{0, start_beat_});
  const GstClockTime end = t(end_frame_);
  for (std::size_t i = 0; i < b.size(); i++) {
    if (i == start_beat_)
      continue;
    guint64 f = frame_at(b[i], fps_n_, fps_d_);
    if (f == 0 || f >= end_frame_)
      continue;
    if (f <= nodes_.back().frame)
      continue; /* two beats on one frame: keep the first */
    if (end - t(f) < beat_length_ / 2)
      continue; /* would leave a sliver before the end */
    nodes_.push_back(Node{f, i});
  }
  nodes_.push_back(Node{end_frame_, end_beat_valid_ ? end_beat_ : kNoBeat});
  cut_stretches();
}

/* Between two neighbouring cut candidates more than max_hold apart (a
 * song's intro or break without rhythm, where montagebeat finds no beats,
 * or the time after its last beat) there was no beat to cut on, and the
 * stretch became one segment: a 15 s intro held one shot for 15 s. An
 * editor cuts such a stretch at a calm pace and cuts on the beat again once
 * the pulse starts. Each such stretch is cut into the fewest even pieces
 * (whole output frames, none longer than max_hold) by candidates off the
 * beat; both its ends and these cuts are cuts of every path (must_), so the
 * first beat after it is cut on. */
void Planner::cut_stretches()
{
  /* Frames max_hold holds: the most m with m frames <= max_hold (frame
   * differences of the rounded grid times are then within it too). */
  const guint64 hold =
      std::max<guint64>(1, gst_util_uint64_scale(style_.pacing.max_hold, (guint64)fps_n_,
                                                 (guint64)fps_d_ * GST_SECOND));
  /* The longest piece any shot holds (its usable footage, seen before or
   * not: placement in the shot is then always possible, at worst as reuse). */
  const GstClockTime longest = longest_room(false);
  std::vector<Node> nodes;
  must_.clear();
  for (std::size_t i = 0; i < nodes_.size(); i++) {
    const bool stretch =
        i > 0 && t(nodes_[i].frame) - t(nodes_[i - 1].frame) > style_.pacing.max_hold;
    if (stretch) {
      const guint64 a = nodes_[i - 1].frame, gap = nodes_[i].frame - a;
      guint64 pieces = (gap + hold - 1) / hold;
      /* Pieces longer than every shot were cut short off the beat, and the
       * rest of the piece up to its must-cut became a segment of its own,
       * as short as a few frames (a 5.12 s piece and a 5.0 s shot: 4.93 s
       * and a 0.17 s flash). Take the fewest even pieces that the longest
       * shot holds instead. */
      auto too_long = [&](guint64 k) {
        for (guint64 j = 0; j < k; j++)
          if (t(a + (j + 1) * gap / k) - t(a + j * gap / k) > longest)
            return true;
        return false;
      };
      while (pieces < gap && too_long(pieces))
        pieces++;
      must_.back() = true;
      for (guint64 k = 1; k < pieces; k++) {
        nodes.push_back(Node{a + k * gap / pieces, kNoBeat});
        must_.push_back(true);
      }
      stretches_.push_back(Stretch{t(a), t(nodes_[i].frame)});
    }
    nodes.push_back(nodes_[i]);
    must_.push_back(stretch);
  }
  nodes_ = std::move(nodes);
}

/* How many of the song's beats lie at or before `node`: its beat's index + 1,
 * or, off the beat, the beats on its frame or before. A segment from `node`
 * to beat e spans e + 1 - beats_through(node) beats. */
std::size_t Planner::beats_through(const Node &node) const
{
  if (node.beat != kNoBeat)
    return node.beat + 1;
  const auto &b = song_.beats;
  return (std::size_t)(std::partition_point(b.begin(), b.end(),
                                            [&](GstClockTime x) {
                                              return frame_at(x, fps_n_, fps_d_) <= node.frame;
                                            }) -
                       b.begin());
}

/* Downbeats, phrase starts (every phrase_bars downbeats, counted again from
 * each section's first downbeat) and section starts, per beat. */
void Planner::mark_beats()
{
  const std::size_t n = song_.beats.size();
  downbeat_.assign(n, false);
  phrase_.assign(n, false);
  section_start_.assign(n, false);
  const bool sure = song_.downbeats.size() == n && song_.meter_confidence >= kMinMeterConfidence;
  if (sure)
    for (std::size_t i = 0; i < n; i++)
      downbeat_[i] = song_.downbeats[i];
  if (sure && song_.beats_per_bar >= 2)
    bar_ = song_.beats_per_bar;
  if (!sure && song_.downbeats.size() == n && n > 0) {
    char conf[64];
    std::snprintf(conf, sizeof conf, "%.2f, under %.2f", song_.meter_confidence,
                  kMinMeterConfidence);
    add_note(
        result_.plan, NoteSeverity::kInfo, note_kind::kMeterGuess,
        std::string("The song's bar lines are a guess (meter confidence ") + conf +
            ": nothing in the music marks them), so the cuts follow its beats, not its downbeats.");
  }
  for (const Section &s : song_.sections) {
    auto it = std::lower_bound(song_.beats.begin(), song_.beats.end(), s.start);
    if (it != song_.beats.end() && *it < s.end && s.start > 0)
      section_start_[(std::size_t)(it - song_.beats.begin())] = true;
  }
  const guint bars = std::max(1u, style_.pacing.phrase_bars);
  guint ordinal = 0;
  bool restart = false;
  for (std::size_t i = 0; i < n; i++) {
    if (section_start_[i]) {
      phrase_[i] = true;
      restart = true;
    }
    if (!downbeat_[i])
      continue;
    if (restart) {
      ordinal = 0;
      restart = false;
    }
    if (ordinal % bars == 0)
      phrase_[i] = true;
    ordinal++;
  }
}

double Planner::energy_at(std::size_t beat, GstClockTime time) const
{
  if (beat == kNoBeat) {
    auto it = std::upper_bound(song_.beats.begin(), song_.beats.end(), time);
    beat = it == song_.beats.begin() ? 0 : (std::size_t)(it - song_.beats.begin()) - 1;
  }
  if (song_.beat_energy.size() == song_.beats.size())
    return song_.beat_energy[beat];
  if (!song_.energy_curve.empty() && song_.energy_interval > 0) {
    std::size_t i = (std::size_t)(song_.beats[beat] / song_.energy_interval);
    return song_.energy_curve[std::min(i, song_.energy_curve.size() - 1)];
  }
  return 1.0;
}

Section::Level Planner::level_at(GstClockTime time, double energy) const
{
  for (const Section &s : song_.sections)
    if (time >= s.start && time < s.end)
      return s.level;
  if (energy < style_.pacing.low_energy)
    return Section::Level::kLow;
  if (energy >= style_.pacing.high_energy)
    return Section::Level::kHigh;
  return Section::Level::kMedium;
}

/* The style's beats per cut at `level`, read in the song's bar (in_bar()). */
guint Planner::wanted_beats(Section::Level level) const
{
  switch (level) {
  case Section::Level::kLow:
    return in_bar(style_.pacing.beats_per_cut_low);
  case Section::Level::kHigh:
    return in_bar(style_.pacing.beats_per_cut_high);
  default:
    return in_bar(style_.pacing.beats_per_cut_medium);
  }
}

/* A style's beats per cut are written for 4/4. Where the planner follows
 * the song's bars (bar_: montagebeat's beats_per_bar, meter sure) and the
 * bar is not 4 beats, a count is read in that bar: one that fits it
 * (divides the bar, or is a whole number of bars) stays; else a whole
 * number of 4/4 bars (4, 8) is as many of the song's bars (3/4: 3, 6);
 * else the count becomes the one that fits nearest to it in octaves
 * (|log2| of the ratio; the longer on a tie): 3/4's 1, 3, 6 ... for 2 is 3.
 * Counted in 4/4 beats, a 3/4 song was cut every 4 beats (balanced, calm
 * music) or 2 (energetic), across its bar lines: the downbeat bonus (0.3)
 * is less than what 3-beat segments pay for being off 4 (0.415 octave each),
 * so 10 of 26 cuts of a waltz fell on a downbeat (trial h114). In 4/4 the
 * counts are as written. */
guint Planner::in_bar(guint beats) const
{
  const guint bar = bar_;
  if (bar < 2 || bar == 4 || beats == 0 || bar % beats == 0 || beats % bar == 0)
    return beats;
  if (beats % 4 == 0)
    return beats / 4 * bar;
  /* c is nearer to `beats` than best in octaves when its ratio
   * max(c, beats) / min(c, beats) is smaller (compared in integers). */
  guint best = 0;
  auto consider = [&](guint c) {
    if (best == 0) {
      best = c;
      return;
    }
    const guint64 cn = std::max(c, beats), cd = std::min(c, beats);
    const guint64 bn = std::max(best, beats), bd = std::min(best, beats);
    if (cn * bd < bn * cd || (cn * bd == bn * cd && c > best))
      best = c;
  };
  for (guint c = 1; c <= bar; c++)
    if (bar % c == 0)
      consider(c);
  /* whole bars up to the first past twice the count (no nearer one lies beyond) */
  for (guint c = 2 * bar; c <= 2 * beats + bar; c += bar)
    consider(c);
  return best;
}

MusicMoment Planner::music_at(std::size_t beat, GstClockTime time) const
{
  MusicMoment m;
  GstClockTime at = beat != kNoBeat ? song_.beats[beat] : time;
  m.energy = energy_at(beat, time);
  m.level = level_at(at, m.energy);
  if (beat != kNoBeat) {
    m.downbeat = downbeat_[beat];
    m.phrase_start = phrase_[beat];
    m.section_start = section_start_[beat];
  }
  return m;
}

/* The beats a segment from `from` is paced to: `wanted` (the style's beats
 * per cut), or, where that many beats after `from` last less than the style's
 * min_gap, the fewest more that last it (a whole number of beats, so the cut
 * stays on a beat; durations between the beats' output frames, as
 * segment_cost() measures them). `wanted` where no beat of the song lies
 * min_gap after `from`.
 *
 * segment_cost() prices a segment by |log2(beats / paced beats)|, summed
 * over the segments. Priced against `wanted` alone, every segment of a
 * passage whose wanted beats are under min_gap paid for the octaves it is
 * off, and one long hold (log2 grows slower than the count of segments it
 * replaces) came out cheaper than many short segments: 4-26 beat holds
 * where 1-2 beats were asked for. */
guint Planner::paced_beats(const Node &from, guint wanted) const
{
  const auto &b = song_.beats;
  /* the index of the first beat after `from` */
  const std::size_t first = beats_through(from);
  for (guint k = wanted; first + k - 1 < b.size(); k++) {
    const guint64 f = frame_at(b[first + k - 1], fps_n_, fps_d_);
    if (f > from.frame && t(f) - t(from.frame) >= style_.pacing.min_gap)
      return k;
  }
  return wanted;
}

/* Pacing cost of a segment from node i to node j (lower is better), against
 * paced_[i] (pace() fills it first). */
double Planner::segment_cost(std::size_t i, std::size_t j) const
{
  const StylePacing &p = style_.pacing;
  const Node &a = nodes_[i], &b = nodes_[j];
  const GstClockTime dur = t(b.frame) - t(a.frame);
  double cost = 0.0;
  if (dur < p.min_gap)
    cost += kViolation;
  if (dur > p.max_hold && j > i + 1)
    cost += kViolation;
  if (b.beat == kNoBeat)
    return cost; /* the tail after the last cut: nothing to pace */
  const double beats = (double)(b.beat + 1 - beats_through(a));
  cost += p.pace_weight * std::fabs(std::log2(beats / (double)paced_[i]));
  if (downbeat_[b.beat])
    cost -= p.downbeat_bonus;
  if (phrase_[b.beat])
    cost -= p.phrase_bonus;
  return cost;
}

/* Chooses the cut beats together: the cheapest path of segments from the
 * start node to the end node (dynamic programming over the nodes, each node
 * looking back while a segment stays within max_hold). A whole-song edit must
 * pass through the song's final beat. */
void Planner::pace()
{
  const std::size_t n = nodes_.size();
  std::size_t forced = kNoBeat;
  if (whole_song() && n >= 3 && nodes_[n - 2].beat == song_.beats.size() - 1 &&
      t(nodes_[n - 1].frame) - t(nodes_[n - 2].frame) >= style_.pacing.min_gap)
    forced = n - 2;
  paced_.assign(n, 1);
  for (std::size_t i = 0; i + 1 < n; i++) /* the end node starts no segment */
    paced_[i] =
        paced_beats(nodes_[i], wanted_beats(music_at(nodes_[i].beat, t(nodes_[i].frame)).level));
  std::vector<double> cost(n, HUGE_VAL);
  std::vector<std::size_t> from(n, 0);
  cost[0] = 0.0;
  for (std::size_t j = 1; j < n; j++) {
    for (std::size_t i = j; i-- > 0;) {
      if (i + 1 < j &&
          (must_[i + 1] || t(nodes_[j].frame) - t(nodes_[i].frame) > style_.pacing.max_hold))
        break;
      if (j == n - 1 && forced != kNoBeat && i != forced)
        continue;
      double c = cost[i] + segment_cost(i, j);
      if (c < cost[j]) {
        cost[j] = c;
        from[j] = i;
      }
    }
  }
  path_.clear();
  for (std::size_t j = n - 1; j > 0; j = from[j])
    path_.push_back(j);
  std::reverse(path_.begin(), path_.end());
}

/* The engine's best shot for a d-long segment under `tier`: in unused footage
 * only (fresh) or anywhere; the previous segment's clip, shot and footage
 * only as far as tier.repeat allows. */
std::optional<Choice> Planner::choose(const FeaturePoint &target, GstClockTime d, const Tier &tier)
{
  bool without_previous_clip = false;
  bool avoid_recent = false; /* footage seen before only of shots not shown recently */
  auto usable = [&](std::size_t item, ItemUse &use) {
    const auto &[c, k] = items_[item];
    const bool same_shot = (std::ptrdiff_t)item == prev_item_;
    if ((tier.repeat == Repeat::kOtherClip || tier.repeat == Repeat::kOtherShot) && same_shot)
      return false;
    if (without_previous_clip && (std::ptrdiff_t)c == prev_clip_)
      return false;
    const GstClockTime floor = same_shot && tier.repeat == Repeat::kSameShot ? prev_out_ : 0;
    const ClipState &cs = states_[c];
    const ShotState &ss = cs.shots[k];
    std::optional<Placement> place;
    /* The shot just shown, again in unused footage: the piece right after
     * it would continue it (one take, no cut on the beat). Where the shot
     * has more footage after it than the music left needs, the pieces are
     * spread over it instead: each skips its share of the spare footage, a
     * forward jump cut on the beat (spare x d / music left). */
    if (same_shot && tier.repeat == Repeat::kSameShot && tier.fresh && remaining_ > d &&
        ss.hi > prev_out_ + remaining_) {
      const GstClockTime spare = ss.hi - prev_out_ - remaining_;
      const GstClockTime skip = gst_util_uint64_scale(spare, d, remaining_);
      if (skip >= cs.grid.frame_length())
        place = place_fresh(ss, cs.grid, d, prev_out_ + skip);
    }
    if (!place)
      place = tier.fresh ? place_fresh(ss, cs.grid, d, floor) : place_reused(ss, cs.grid, d, floor);
    if (!place)
      return false;
    if (avoid_recent && place->reused && shown_recently(item))
      return false;
    /* A piece that continues the previous segment's footage (within one
     * source frame) is joined to it: only while the two stay within
     * max_hold, unless the tier allows it past (as a segment of its own). */
    if (same_shot && !tier.past_hold && place->inpoint >= prev_out_ &&
        place->inpoint - prev_out_ < cs.grid.frame_length() &&
        prev_length_ + d > style_.pacing.max_hold)
      return false;
    placements_[item] = *place;
    use.freshness = ss.usable() > 0 ? 1.0 - (double)ss.used_length() / (double)ss.usable() : 0.0;
    use.reuse = place->reused;
    use.fit = place->room > 0 ? std::min(1.0, (double)d / (double)place->room) : 1.0;
    use.inpoint = place->inpoint_score;
    return true;
  };
  auto pick = [&]() -> std::optional<Choice> {
    without_previous_clip = false;
    std::optional<Selection> sel = engine_.choose(target, usable);
    if (!sel)
      return std::nullopt;
    /* The previous clip's shots stay in the first walk (the engine scores
     * them with the jump-cut penalty and walks on until it finds another
     * clip's usable shot), so that ruling them out does not change which
     * shots are looked at. With the built-in styles' weights its choice of
     * the previous clip means no other clip is usable; a style whose
     * jump-cut weight is low (or whose other weights are high) can prefer
     * the previous clip over another usable one, so the walk is taken once
     * more without it. */
    if (tier.repeat == Repeat::kOtherClip &&
        (std::ptrdiff_t)items_[sel->item].first == prev_clip_) {
      without_previous_clip = true;
      sel = engine_.choose(target, usable);
      if (!sel)
        return std::nullopt;
    }
    const auto &[c, k] = items_[sel->item];
    return Choice{*sel, c, k, placements_[sel->item], tier.repeat};
  };
  std::optional<Choice> choice = pick();
  /* Footage seen before of a shot shown within the last
   * kReuseRecencyWindow segments: the walk is taken once more without
   * such placements, and another shot that the tier allows wins where
   * there is one (a cut back to a picture just seen reads as a jump cut;
   * repeats are spread over the shots instead). Choices of unused footage
   * are never retaken, so they do not change. */
  if (choice && choice->place.reused && shown_recently(choice->selection.item)) {
    avoid_recent = true;
    if (std::optional<Choice> other = pick())
      return other;
  }
  return choice;
}

/* Longest segment any usable shot can hold (in fresh footage, or at all).
 * With a tier, only the shots and footage that tier lets choose() place
 * after the previous segment: another clip's (Repeat::kOtherClip), any
 * other shot's (kOtherShot), the previous shot's only from its out-point
 * on (kSameShot) or anywhere (kBackwards). An upper bound of what choose()
 * finds under that tier: a piece that would join the previous one past
 * max_hold is not left out here. */
GstClockTime Planner::longest_room(bool fresh, const Tier *tier) const
{
  GstClockTime longest = 0;
  for (std::size_t c = 0; c < states_.size(); c++) {
    const ClipState &cs = states_[c];
    if (tier && tier->repeat == Repeat::kOtherClip && (std::ptrdiff_t)c == prev_clip_)
      continue;
    for (std::size_t k = 0; k < cs.shots.size(); k++) {
      const ShotState &ss = cs.shots[k];
      const bool same_shot = tier && (std::ptrdiff_t)item_of_[c][k] == prev_item_;
      if (same_shot && tier->repeat == Repeat::kOtherShot)
        continue;
      const GstClockTime floor = same_shot && tier->repeat == Repeat::kSameShot ? prev_out_ : 0;
      if (!fresh) {
        const GstClockTime in = cs.grid.up(std::max(ss.lo, floor));
        longest = std::max(longest, ss.hi > in ? ss.hi - in : 0);
        continue;
      }
      GstClockTime a = ss.lo;
      auto gap = [&](GstClockTime ga, GstClockTime gb) {
        GstClockTime in = cs.grid.up(std::max(ga, floor));
        if (gb > in)
          longest = std::max(longest, gb - in);
      };
      for (const auto &u : ss.used) {
        if (u.first > a)
          gap(a, std::min(u.first, ss.hi));
        a = std::max(a, u.second);
      }
      if (a < ss.hi)
        gap(a, ss.hi);
    }
  }
  return longest;
}

/* The warning note (note_kind::kUnderMinGap) on the segments shorter than
 * the style's min_gap: how many, why (ShortCause), and which (index into
 * Plan::segments, start and length; the first kNamedShortSegments of each
 * cause, then how many more). None when every segment keeps it. */
void Planner::note_under_min_gap(const std::vector<ShortCause> &cause)
{
  Plan &plan = result_.plan;
  std::string named[2]; /* per cause: kFootage, kCuts */
  std::size_t count[2] = {0, 0};
  for (std::size_t i = 0; i < plan.segments.size(); i++) {
    const Segment &seg = plan.segments[i];
    if (seg.duration >= style_.pacing.min_gap)
      continue; /* a piece joined to a later one may have grown past it */
    const int k = cause[i] == ShortCause::kCuts ? 1 : 0;
    if (count[k]++ >= kNamedShortSegments)
      continue;
    char buf[96];
    std::snprintf(buf, sizeof buf, "%s%zu (%.2f s, %.2f s long)", named[k].empty() ? "" : ", ", i,
                  (double)seg.start / GST_SECOND, (double)seg.duration / GST_SECOND);
    named[k] += buf;
  }
  const std::size_t total = count[0] + count[1];
  if (total == 0)
    return;
  std::string text = std::to_string(total) + " of " + std::to_string(plan.segments.size()) +
                     (total == 1 ? " segments is" : " segments are") +
                     " shorter than the style's min-gap (" + seconds(style_.pacing.min_gap) + ")";
  const char *why[2] = {
      " because no shot, even with footage seen before, could hold a segment that long there",
      " because the cuts around them (a stretch without beats, the edit's end, a cut off the "
      "beat) leave no longer segment"};
  for (int k = 0; k < 2; k++) {
    if (count[k] == 0)
      continue;
    text += k == 0 || count[0] == 0 ? ": " : "; ";
    text +=
        std::to_string(count[k]) + why[k] + " (segment" + (count[k] == 1 ? " " : "s ") + named[k];
    if (count[k] > kNamedShortSegments)
      text += " and " + std::to_string(count[k] - kNamedShortSegments) + " more";
    text += ")";
  }
  text += count[0] > 0 ? ". Add clips with longer shots." : ".";
  add_note(plan, NoteSeverity::kWarning, note_kind::kUnderMinGap, std::move(text));
}

/* A clip left out of the plan because none of its shots holds min_gap (they
 * hold one beat, so prepare_clips() kept it, but the planner takes a
 * segment under min_gap only where no shot holds min_gap) would be dropped
 * without a word: a clip-unused note says so. */
void Planner::note_clips_under_min_gap()
{
  for (const ClipState &cs : states_) {
    bool shown = false;
    for (const Segment &seg : result_.plan.segments)
      shown |= seg.clip == cs.index;
    GstClockTime longest = 0;
    for (const ShotState &ss : cs.shots)
      longest = std::max(longest, ss.usable());
    if (shown || longest >= style_.pacing.min_gap)
      continue;
    add_note(result_.plan, NoteSeverity::kWarning, note_kind::kClipUnused,
             "Clip '" + clips_[cs.index].path + "' is not used: its longest shot holds " +
                 seconds(longest) + ", less than the style's min-gap (" +
                 seconds(style_.pacing.min_gap) + "), and other clips held every segment.");
  }
}

PlanResult Planner::run()
{
  check_input();
  mark_beats();
  find_beat_length();
  prepare_clips();
  find_end();
  find_cuts();
  pace();

  Plan &plan = result_.plan;
  plan.fps_n = fps_n_;
  plan.fps_d = fps_d_;
  plan.seed = settings_.seed;
  plan.duration = t(end_frame_);
  result_.style = style_.name;
  result_.weights = style_.weights;

  Node cur = nodes_[0];
  std::size_t cur_node = 0; /* last node at or before cur */
  std::size_t step = 0;     /* next paced cut: path_[step] */
  std::size_t shortened = 0, off_beat = 0, joined = 0, backwards = 0, same_clip = 0;
  std::size_t held = 0; /* continuations not joined: the join would pass max_hold */
  std::size_t reused_instead =
      0; /* reuse of another clip while the previous one had fresh footage */
  GstClockTime first_reuse = GST_CLOCK_TIME_NONE, first_same_clip = GST_CLOCK_TIME_NONE;
  /* Per segment of the plan: why it is shorter than min_gap, where it is. */
  std::vector<ShortCause> short_cause;

  while (cur.frame < end_frame_) {
    while (nodes_[path_[step]].frame <= cur.frame)
      step++;
    const GstClockTime start = t(cur.frame);
    /* After a segment cut early, the rest of its paced length would make a
     * segment shorter than min_gap on its own: take it together with the
     * next paced segment (shorter lengths are still tried below). */
    if (step + 1 < path_.size() && !must_[path_[step]] &&
        t(nodes_[path_[step]].frame) - start < style_.pacing.min_gap)
      step++;
    const std::size_t planned = path_[step];
    remaining_ = t(end_frame_) - start;
    next_segment_ = plan.segments.size();
    const MusicMoment music = music_at(cur.beat, start);
    const FeaturePoint target = target_point(style_.target, music);

    /* Tier by tier (another clip first, unused footage before reuse), the
     * paced end first, then earlier beats; first only the lengths that keep
     * the style's min_gap, in every tier, then the shorter ones. Unused
     * footage wins over length only down to min_gap: tried tier by tier
     * down to one beat, a calm edit whose unused footage was all in short
     * shots ended on a run of one-beat flashes (0.43-0.47 s under a 1.0 s
     * min_gap) where footage seen before, or another shot of the previous
     * clip, held the paced length. */
    std::optional<Choice> choice;
    std::size_t picked = planned;
    bool short_try = false; /* the choice is under min_gap */
    for (bool keep_gap : {true, false}) {
      for (const Tier &tier : kTiers) {
        for (std::size_t e = planned; e > cur_node && !choice; e--) {
          const GstClockTime d = t(nodes_[e].frame) - start;
          if ((d >= style_.pacing.min_gap) != keep_gap)
            continue;
          choice = choose(target, d, tier);
          picked = e;
        }
        if (choice)
          break;
      }
      if (choice) {
        short_try = !keep_gap;
        break;
      }
    }
    Node end;
    bool off = false; /* cut off the beat */
    if (choice) {
      end = nodes_[picked];
    } else {
      off = true;
      /* No shot holds even the time to the next beat: cut off the beat.
       * Tier by tier in kTiers' order, at the longest length the shots
       * that tier allows hold; first only lengths that keep min_gap, then
       * the shorter ones, as above. Sized by the longest unused stretch of
       * any shot (tried before footage seen before), a 0.2 s scrap of
       * unused footage set the length and won: flashes of 4-5 frames and
       * the same clip several times in a row where another clip's footage,
       * seen before, held seconds (review h119). */
      for (bool keep_gap : {true, false}) {
        for (const Tier &tier : kTiers) {
          const GstClockTime room = longest_room(tier.fresh, &tier);
          guint64 n = gst_util_uint64_scale(room, (guint64)fps_n_, (guint64)fps_d_ * GST_SECOND);
          while (n > 0 && t(cur.frame + n) - start > room)
            n--;
          n = std::min<guint64>(n, nodes_[cur_node + 1].frame - cur.frame);
          if (n == 0)
            continue;
          /* The rest up to the planned cut is the next segment. Where it
           * cannot run on to a later cut (the planned cut is one every path
           * makes, or the end) and would be shorter than min_gap, it would
           * flash by: the time to that cut is cut into even pieces that fit
           * instead (each at most n frames). */
          const guint64 stop = nodes_[planned].frame;
          if ((must_[planned] || planned + 1 == nodes_.size()) && stop > cur.frame + n &&
              t(stop) - t(cur.frame + n) < style_.pacing.min_gap) {
            const guint64 span = stop - cur.frame;
            n = span / ((span + n - 1) / n);
          }
          const GstClockTime d = t(cur.frame + n) - start;
          if ((d >= style_.pacing.min_gap) != keep_gap)
            continue;
          choice = choose(target, d, tier);
          if (choice) {
            end = Node{cur.frame + n, kNoBeat};
            break;
          }
        }
        if (choice)
          break;
      }
      if (!choice)
        throw PlanError("No shot of the clips can hold even one output frame at " + seconds(start) +
                        ": add clips with longer shots.");
      off_beat++;
    }

    Segment seg;
    seg.start = start;
    seg.duration = t(end.frame) - start;
    ClipState &cs = states_[choice->clip];
    seg.clip = cs.index;
    seg.shot = choice->shot;
    seg.inpoint = choice->place.inpoint;
    seg.beat = cur.beat;
    seg.beat_time = cur.beat != kNoBeat ? song_.beats[cur.beat] : start;
    seg.reused = choice->place.reused;

    CutDecision why;
    why.score = choice->selection.score;
    why.runner_up = choice->selection.runner_up;
    why.considered = choice->selection.considered;
    why.usable = choice->selection.usable;
    why.target = target;
    why.music = music;
    if (end.beat != kNoBeat)
      why.beats = (guint)(end.beat + 1 - beats_through(cur));
    why.wanted_beats = wanted_beats(music.level);
    why.shortened = end.frame < nodes_[planned].frame;
    why.fresh_footage = !seg.reused;
    if (!plan.segments.empty()) {
      why.transition =
          music.section_start ? style_.transitions.section_change : style_.transitions.normal;
      if (why.transition != Transition::kCut)
        why.transition_duration = style_.transitions.duration;
    }
    if (seg.reused) {
      if (!GST_CLOCK_TIME_IS_VALID(first_reuse))
        first_reuse = start;
      for (std::size_t j = 0; j < plan.segments.size(); j++) {
        const Segment &p = plan.segments[j];
        if (p.clip == seg.clip && seg.inpoint < p.inpoint + p.duration &&
            p.inpoint < seg.inpoint + seg.duration) {
          why.reuses_segment = j;
          break;
        }
      }
    }
    ShotState &shot = cs.shots[choice->shot];
    const bool again = (std::ptrdiff_t)choice->selection.item == prev_item_;
    const bool continued = again && choice->repeat == Repeat::kSameShot &&
                           seg.inpoint - prev_out_ < cs.grid.frame_length();
    /* A piece that continues the previous segment's footage (within one
     * source frame) is one continuous shot with it, so the cut would show
     * nothing but a jump: it is joined to the previous segment instead,
     * while the two stay within max_hold. Past it, choose() found no other
     * shot to hold the piece: the cut stays, on its beat. */
    const bool join =
        continued && plan.segments.back().duration + seg.duration <= style_.pacing.max_hold;
    if (continued && !join)
      held++;
    if (join) {
      Segment &last = plan.segments.back();
      CutDecision &last_why = result_.decisions.back();
      shot.mark(prev_out_, prev_out_ + seg.duration);
      last.duration += seg.duration;
      if (seg.reused && !last.reused) {
        last.reused = true;
        last_why.fresh_footage = false;
        last_why.reuses_segment = why.reuses_segment;
      }
      last_why.beats =
          end.beat == kNoBeat
              ? 0
              : (guint)(end.beat + 1 -
                        beats_through(Node{frame_at(last.start, fps_n_, fps_d_), last.beat}));
      last_why.shortened = why.shortened;
      prev_out_ += seg.duration;
      prev_length_ = last.duration;
      joined++;
    } else {
      if (!plan.segments.empty() && (std::ptrdiff_t)choice->clip == prev_clip_) {
        same_clip++;
        if (!GST_CLOCK_TIME_IS_VALID(first_same_clip))
          first_same_clip = start;
      }
      if (again && choice->repeat == Repeat::kBackwards)
        backwards++;
      if (seg.reused && choice->repeat == Repeat::kOtherClip && longest_room(true) >= seg.duration)
        reused_instead++;
      shot.mark(seg.inpoint, seg.inpoint + seg.duration);
      engine_.commit(choice->selection);
      prev_item_ = (std::ptrdiff_t)choice->selection.item;
      prev_clip_ = (std::ptrdiff_t)choice->clip;
      prev_out_ = seg.inpoint + seg.duration;
      prev_length_ = seg.duration;
      ShortCause cause = ShortCause::kNone;
      if (seg.duration < style_.pacing.min_gap)
        cause = off || (short_try && t(nodes_[planned].frame) - start >= style_.pacing.min_gap)
                    ? ShortCause::kFootage
                    : ShortCause::kCuts;
      short_cause.push_back(cause);
      last_shown_[choice->selection.item] = plan.segments.size();
      plan.segments.push_back(seg);
      result_.decisions.push_back(why);
    }

    cur = end;
    while (cur_node + 1 < nodes_.size() && nodes_[cur_node + 1].frame <= cur.frame)
      cur_node++;
  }

  for (std::size_t i = 0; i < plan.segments.size(); i++) {
    shortened += result_.decisions[i].shortened;
    result_.reused += plan.segments[i].reused;
  }
  if (shortened > 0)
    add_note(plan, NoteSeverity::kInfo, note_kind::kShortened,
             std::to_string(shortened) + " of " + std::to_string(plan.segments.size()) +
                 (shortened == 1 ? " segments was" : " segments were") +
                 " cut after fewer beats than planned because no shot was long enough.");
  if (off_beat > 0)
    add_note(plan, NoteSeverity::kWarning, note_kind::kOffBeat,
             std::to_string(off_beat) + (off_beat == 1 ? " cut is" : " cuts are") +
                 " off the beat because no shot could hold the time to the "
                 "next beat: add clips with longer shots.");
  if (!stretches_.empty()) {
    /* From the plan as made: the segments that start in each stretch (a
     * piece joined to the next one, or cut short for lack of a shot, makes
     * the count and the lengths differ from the even pieces planned). */
    std::string where;
    bool even = true;
    for (const Stretch &s : stretches_) {
      std::size_t count = 0;
      GstClockTime total = 0, shortest = GST_CLOCK_TIME_NONE, longest = 0;
      for (const Segment &seg : plan.segments) {
        if (seg.start < s.from || seg.start >= s.to)
          continue;
        count++;
        total += seg.duration;
        shortest = std::min(shortest, seg.duration);
        longest = std::max(longest, seg.duration);
      }
      if (count == 0)
        continue;
      char piece[128];
      if (longest - shortest <= t(1) + 1) {
        std::snprintf(piece, sizeof piece, "%s%.2f-%.2f s (%zu of %.2f s)",
                      where.empty() ? "" : ", ", (double)s.from / GST_SECOND,
                      (double)s.to / GST_SECOND, count, (double)total / (double)count / GST_SECOND);
      } else {
        even = false;
        std::snprintf(piece, sizeof piece, "%s%.2f-%.2f s (%zu of %.2f to %.2f s)",
                      where.empty() ? "" : ", ", (double)s.from / GST_SECOND,
                      (double)s.to / GST_SECOND, count, (double)shortest / GST_SECOND,
                      (double)longest / GST_SECOND);
      }
      where += piece;
    }
    add_note(plan, NoteSeverity::kInfo, note_kind::kBeatlessStretch,
             "The song has no beat to cut on for longer than the style's max-hold (" +
                 seconds(style_.pacing.max_hold) + ") at " + where +
                 (even ? ": these stretches are cut off the beat into even segments"
                       : ": these stretches are cut off the beat into segments") +
                 ", and the beats around them are cut on.");
  }
  if (result_.reused > 0 && reused_instead == 0)
    add_note(plan, NoteSeverity::kWarning, note_kind::kFootageReused,
             "The clips ran out of unused footage at " + seconds(first_reuse) + ": " +
                 std::to_string(result_.reused) + " of " + std::to_string(plan.segments.size()) +
                 " segments show footage seen earlier. Add clips or shorten the edit.");
  else if (result_.reused > 0)
    add_note(plan, NoteSeverity::kWarning, note_kind::kFootageReused,
             "From " + seconds(first_reuse) + " on, " + std::to_string(result_.reused) + " of " +
                 std::to_string(plan.segments.size()) + " segments show footage seen earlier: " +
                 (reused_instead == result_.reused ? std::string("all")
                                                   : std::to_string(reused_instead)) +
                 " rather than show the clip just shown again (only it had unused footage left)" +
                 (reused_instead < result_.reused
                      ? ", the others because the clips ran out of unused footage"
                      : std::string()) +
                 ". Add clips or shorten the edit.");
  if (states_.size() == 1)
    add_note(plan, NoteSeverity::kInfo, note_kind::kSingleClip,
             "Only one clip ('" + clips_[states_[0].index].path +
                 "') can be used, so every segment comes from it: its shots take turns, "
                 "and a shot shown twice in a row goes forwards (its pieces spread over "
                 "its footage, or longer segments, up to the style's max-hold, where it has "
                 "none to spare).");
  else if (same_clip > 0)
    add_note(plan, NoteSeverity::kInfo, note_kind::kSameClipTwice,
             "Segments that show the same clip as the segment before them, because "
             "no other clip could hold them: " +
                 std::to_string(same_clip) + ", the first at " + seconds(first_same_clip) + ".");
  if (joined > 0 && states_.size() > 1)
    add_note(plan, NoteSeverity::kInfo, note_kind::kCutsJoined,
             "Cuts left out because the shot would have continued across them where "
             "it stopped (those segments hold their shot longer): " +
                 std::to_string(joined) + ".");
  if (held > 0)
    add_note(plan, NoteSeverity::kInfo, note_kind::kMaxHoldCuts,
             "Cuts on the beat into the same shot, where the segment before stopped, "
             "because no other shot could hold the segment and the two joined would "
             "hold longer than the style's max-hold (" +
                 seconds(style_.pacing.max_hold) + "): " + std::to_string(held) + ".");
  if (backwards > 0)
    add_note(plan, NoteSeverity::kWarning, note_kind::kShotBackwards,
             "Segments that go back in the shot before them, because no other footage "
             "could hold them: " +
                 std::to_string(backwards) + ". Add clips or shorten the edit.");
  note_under_min_gap(short_cause);
  note_clips_under_min_gap();
  return std::move(result_);
}

} // namespace

PlanResult plan_montage_explained(const SongAnalysis &song, const std::vector<ClipAnalysis> &clips,
                                  const PlanSettings &settings)
{
  Planner planner(song, clips, settings);
  return planner.run();
}

Plan plan_montage(const SongAnalysis &song, const std::vector<ClipAnalysis> &clips,
                  const PlanSettings &settings)
{
  return plan_montage_explained(song, clips, settings).plan;
}

} // namespace montage
