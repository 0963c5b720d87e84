/* gst-montage: the montage planner. See planner.h and docs/planner.md. */
#include <gst/montage/planner.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <random>
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

double score_candidate(const CandidateFeatures &f, const ScoreWeights &w, double jitter)
{
  return w.fit * f.fit + w.freshness * f.freshness + w.clip_rest * f.clip_rest + w.jitter * jitter;
}

namespace
{

constexpr std::size_t kNoBeat = SIZE_MAX;

/* Uniform double in [0, 1) from the top 53 bits: the same on every platform,
 * unlike std::uniform_real_distribution. */
class Jitter
{
public:
  explicit Jitter(guint64 seed) : gen_(seed) {}
  double next() { return (double)(gen_() >> 11) * (1.0 / 9007199254740992.0); }

private:
  std::mt19937_64 gen_;
};

std::string seconds(GstClockTime t)
{
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f s", (double)t / GST_SECOND);
  return buf;
}

/* A clip's own frame grid (or none when its rate is unknown). */
struct SourceGrid {
  gint fps_n = 0;
  gint fps_d = 1;

  bool known() const { return fps_n > 0 && fps_d > 0; }
  GstClockTime frame_length() const
  {
    if (!known())
      return gst_util_uint64_scale_ceil(GST_SECOND, 1, 30);
    return gst_util_uint64_scale_ceil(GST_SECOND, (guint64)fps_d, (guint64)fps_n);
  }
  /* First frame time at or after t. */
  GstClockTime up(GstClockTime t) const
  {
    if (!known())
      return t;
    guint64 f = frame_at(t, fps_n, fps_d);
    if (frame_time(f, fps_n, fps_d) < t)
      f++;
    return frame_time(f, fps_n, fps_d);
  }
  /* Last frame time at or before t. */
  GstClockTime down(GstClockTime t) const
  {
    if (!known())
      return t;
    guint64 f = frame_at(t, fps_n, fps_d);
    if (frame_time(f, fps_n, fps_d) > t)
      f--; /* frame_time(0) == 0 <= t, so f > 0 here */
    return frame_time(f, fps_n, fps_d);
  }
};

/* Usage of one shot: the in-point range and the footage already shown. */
struct ShotState {
  GstClockTime lo = 0; /* first usable in-point (on the source grid) */
  GstClockTime hi = 0; /* shot end minus one source frame: footage must end by here */
  std::vector<std::pair<GstClockTime, GstClockTime>> used; /* sorted, disjoint [a, b) */

  GstClockTime usable() const { return hi > lo ? hi - lo : 0; }
  GstClockTime used_length() const
  {
    GstClockTime total = 0;
    for (const auto &u : used)
      total += u.second - u.first;
    return total;
  }
  GstClockTime overlap(GstClockTime a, GstClockTime b) const
  {
    GstClockTime total = 0;
    for (const auto &u : used) {
      GstClockTime s = std::max(a, u.first), e = std::min(b, u.second);
      if (e > s)
        total += e - s;
    }
    return total;
  }
  void mark(GstClockTime a, GstClockTime b)
  {
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
};

struct ClipState {
  std::size_t index = 0; /* into the caller's clip list */
  SourceGrid grid;
  std::vector<ShotState> shots; /* parallel to the clip's shot list */
  std::ptrdiff_t last_segment = -1;
};

/* Where a segment of a given length can go inside one shot. */
struct Placement {
  GstClockTime inpoint = 0;
  GstClockTime room = 0; /* free (or usable) length from inpoint: for the fit term */
  bool reused = false;
};

/* Best-fitting placement in unused footage: in the free stretch that the
 * segment fills most, at the stretch's first source frame. */
std::optional<Placement> place_fresh(const ShotState &s, const SourceGrid &grid, GstClockTime d)
{
  std::optional<Placement> best;
  auto consider = [&](GstClockTime a, GstClockTime b) {
    GstClockTime in = grid.up(a);
    if (in < s.lo || in >= b || b - in < d)
      return;
    if (!best || b - in < best->room)
      best = Placement{in, b - in, false};
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

/* Placement that overlaps earlier segments least (the shot must hold d). */
std::optional<Placement> place_reused(const ShotState &s, const SourceGrid &grid, GstClockTime d)
{
  if (s.hi < d || s.hi - d < s.lo)
    return std::nullopt;
  GstClockTime last = grid.down(s.hi - d);
  if (last < s.lo)
    return std::nullopt;
  std::vector<GstClockTime> tries{s.lo, last};
  for (const auto &u : s.used)
    tries.push_back(grid.up(u.second));
  std::optional<Placement> best;
  GstClockTime best_overlap = 0;
  for (GstClockTime in : tries) {
    if (in < s.lo || in > last)
      continue;
    GstClockTime ov = s.overlap(in, in + d);
    if (!best || ov < best_overlap || (ov == best_overlap && in < best->inpoint)) {
      best = Placement{in, s.usable(), ov > 0};
      best_overlap = ov;
    }
  }
  return best;
}

/* A possible end of the segment being planned. */
struct End {
  guint64 frame = 0;
  std::size_t beat = kNoBeat; /* beat index, or kNoBeat for the edit end / off-beat */
};

struct Choice {
  std::size_t clip = 0; /* index into the ClipState list */
  std::size_t shot = 0;
  Placement place;
  int tier = 0; /* 0 other clip, 1 same clip other shot, 2 same shot as before */
  double score = 0.0;
};

class Planner
{
public:
  Planner(const SongAnalysis &song, const std::vector<ClipAnalysis> &clips,
          const PlanSettings &settings)
      : song_(song), clips_(clips), settings_(settings), jitter_(settings.seed)
  {
  }

  Plan run();

private:
  void check_input();
  void find_beat_length();
  void prepare_clips();
  void find_end();
  void find_cuts();
  double energy_at(std::size_t beat, GstClockTime t) const;
  std::optional<Choice> choose(GstClockTime d, bool fresh);
  GstClockTime longest_room(bool fresh) const;
  GstClockTime t(guint64 frame) const { return frame_time(frame, fps_n_, fps_d_); }

  const SongAnalysis &song_;
  const std::vector<ClipAnalysis> &clips_;
  const PlanSettings &settings_;
  Jitter jitter_;
  gint fps_n_ = 30, fps_d_ = 1;
  GstClockTime beat_length_ = GST_SECOND / 2;
  std::vector<ClipState> states_;
  guint64 end_frame_ = 0;
  std::size_t start_beat_ = kNoBeat;
  std::vector<End> cuts_;
  Plan plan_;
  /* planning state */
  std::ptrdiff_t prev_state_ = -1;
  std::size_t prev_shot_ = 0;
};

void Planner::check_input()
{
  if (settings_.fps_n <= 0 || settings_.fps_d <= 0)
    throw PlanError("The output frame rate " + std::to_string(settings_.fps_n) + "/" +
                    std::to_string(settings_.fps_d) +
                    " is not valid: give a positive rate such as 30/1 or 30000/1001.");
  if (settings_.beats_per_cut == 0 || settings_.beats_per_cut_low_energy == 0)
    throw PlanError("Beats per cut must be at least 1.");
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
  for (std::size_t i = 0; i < clips_.size(); i++) {
    const ClipAnalysis &clip = clips_[i];
    ClipAnalysis derived;
    const std::vector<Shot> *shots = &clip.shots;
    if (shots->empty()) {
      derived.cuts = clip.cuts;
      derived.duration = clip.duration;
      shots_from_cuts(derived);
      shots = &derived.shots;
    }
    if (shots->empty()) {
      plan_.notes.push_back("Clip '" + clip.path +
                            "' is not used: it has no shots (its length is unknown).");
      continue;
    }
    ClipState state;
    state.index = i;
    state.grid = SourceGrid{clip.fps_n, clip.fps_d};
    bool long_enough = false;
    for (const Shot &shot : *shots) {
      ShotState s;
      s.lo = state.grid.up(shot.start);
      GstClockTime margin = state.grid.frame_length();
      s.hi = shot.end > margin ? shot.end - margin : 0;
      if (s.usable() >= beat_length_)
        long_enough = true;
      state.shots.push_back(s);
    }
    if (!long_enough) {
      plan_.notes.push_back("Clip '" + clip.path + "' is not used: none of its " +
                            std::to_string(shots->size()) + " shots is at least one beat (" +
                            seconds(beat_length_) + ") long.");
      continue;
    }
    states_.push_back(std::move(state));
  }
  if (states_.empty())
    throw PlanError("None of the " + std::to_string(clips_.size()) +
                    " clips has a shot at least one beat (" + seconds(beat_length_) +
                    ") long: add clips with longer shots, or check the scene detection.");
}

void Planner::find_end()
{
  GstClockTime song_end = GST_CLOCK_TIME_NONE;
  if (GST_CLOCK_TIME_IS_VALID(song_.duration))
    song_end =
        t(gst_util_uint64_scale(song_.duration, (guint64)fps_n_, (guint64)fps_d_ * GST_SECOND));
  GstClockTime end;
  if (!GST_CLOCK_TIME_IS_VALID(settings_.duration)) {
    end = song_end;
  } else {
    GstClockTime want = settings_.duration;
    const auto &b = song_.beats;
    auto it = std::lower_bound(b.begin(), b.end(), want);
    GstClockTime nearest = GST_CLOCK_TIME_NONE, dist = 0;
    if (it != b.end()) {
      nearest = *it;
      dist = *it - want;
    }
    if (it != b.begin() && (!GST_CLOCK_TIME_IS_VALID(nearest) || want - *(it - 1) <= dist)) {
      nearest = *(it - 1);
      dist = want - nearest;
    }
    if (GST_CLOCK_TIME_IS_VALID(nearest) && dist <= beat_length_ / 2)
      end = t(frame_at(nearest, fps_n_, fps_d_));
    else
      end = t(frame_at(want, fps_n_, fps_d_));
    if (GST_CLOCK_TIME_IS_VALID(song_end) && end > song_end) {
      if (want > song_end)
        plan_.notes.push_back("The requested duration " + seconds(want) +
                              " is longer than the song: the edit ends with the song at " +
                              seconds(song_end) + ".");
      end = song_end;
    }
  }
  end_frame_ = frame_at(end, fps_n_, fps_d_);
  if (end_frame_ == 0)
    throw PlanError("The edit would be shorter than one frame: ask for a longer duration.");
}

void Planner::find_cuts()
{
  const auto &b = song_.beats;
  /* beats[0] within one output frame of 0: the first segment starts on it. */
  if (gst_util_uint64_scale(b[0], (guint64)fps_n_, (guint64)fps_d_ * GST_SECOND) == 0)
    start_beat_ = 0;
  const GstClockTime end = t(end_frame_);
  for (std::size_t i = 0; i < b.size(); i++) {
    if (i == start_beat_)
      continue;
    guint64 f = frame_at(b[i], fps_n_, fps_d_);
    if (f == 0 || f >= end_frame_)
      continue;
    if (!cuts_.empty() && f <= cuts_.back().frame)
      continue; /* two beats on one frame: keep the first */
    if (end - t(f) < beat_length_ / 2)
      continue; /* would leave a sliver before the end */
    cuts_.push_back(End{f, i});
  }
}

double Planner::energy_at(std::size_t beat, GstClockTime time) const
{
  const auto &e = song_.beat_energy;
  if (e.size() != song_.beats.size())
    return 1.0;
  if (beat == kNoBeat) {
    auto it = std::upper_bound(song_.beats.begin(), song_.beats.end(), time);
    beat = it == song_.beats.begin() ? 0 : (std::size_t)(it - song_.beats.begin()) - 1;
  }
  return e[beat];
}

/* The best placement of a d-long segment over all usable shots, in fresh
 * footage only (fresh) or anywhere (least overlap). Hard tiers first (other
 * clip, then other shot), then score_candidate(). */
std::optional<Choice> Planner::choose(GstClockTime d, bool fresh)
{
  const std::ptrdiff_t segment = (std::ptrdiff_t)plan_.segments.size();
  std::optional<Choice> best;
  for (std::size_t c = 0; c < states_.size(); c++) {
    const ClipState &cs = states_[c];
    for (std::size_t s = 0; s < cs.shots.size(); s++) {
      const ShotState &ss = cs.shots[s];
      auto place = fresh ? place_fresh(ss, cs.grid, d) : place_reused(ss, cs.grid, d);
      if (!place)
        continue;
      CandidateFeatures f;
      f.fit = place->room > 0 ? (double)d / (double)place->room : 1.0;
      f.freshness = ss.usable() > 0 ? 1.0 - (double)ss.used_length() / (double)ss.usable() : 0.0;
      f.freshness = std::clamp(f.freshness, 0.0, 1.0);
      f.clip_rest = cs.last_segment < 0
                        ? 1.0
                        : std::min(1.0, (double)(segment - cs.last_segment) / states_.size());
      Choice ch{c, s, *place, 0, score_candidate(f, settings_.weights, jitter_.next())};
      if ((std::ptrdiff_t)c == prev_state_)
        ch.tier = s == prev_shot_ ? 2 : 1;
      if (!best || ch.tier < best->tier || (ch.tier == best->tier && ch.score > best->score))
        best = ch;
    }
  }
  return best;
}

/* Longest segment any usable shot can hold (in fresh footage, or at all). */
GstClockTime Planner::longest_room(bool fresh) const
{
  GstClockTime longest = 0;
  for (const ClipState &cs : states_) {
    for (const ShotState &ss : cs.shots) {
      if (!fresh) {
        longest = std::max(longest, ss.hi > ss.lo ? ss.hi - ss.lo : 0);
        continue;
      }
      GstClockTime a = ss.lo;
      auto gap = [&](GstClockTime ga, GstClockTime gb) {
        GstClockTime in = cs.grid.up(ga);
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

Plan Planner::run()
{
  check_input();
  find_beat_length();
  prepare_clips();
  find_end();
  find_cuts();

  plan_.fps_n = fps_n_;
  plan_.fps_d = fps_d_;
  plan_.seed = settings_.seed;
  plan_.duration = t(end_frame_);

  guint64 f0 = 0;
  std::size_t beat = start_beat_;
  std::size_t next = 0; /* first cut after f0 */
  std::size_t shortened = 0, off_beat = 0, reused = 0;
  GstClockTime first_reuse = GST_CLOCK_TIME_NONE;

  while (f0 < end_frame_) {
    const GstClockTime start = t(f0);
    const guint k = energy_at(beat, start) < settings_.low_energy
                        ? settings_.beats_per_cut_low_energy
                        : settings_.beats_per_cut;
    std::vector<End> ends;
    for (guint j = 0; j < k; j++) {
      if (next + j < cuts_.size()) {
        ends.push_back(cuts_[next + j]);
      } else {
        ends.push_back(End{end_frame_, kNoBeat});
        break;
      }
    }

    /* Longest planned end first; unused footage before reuse. */
    std::optional<Choice> choice;
    std::size_t picked = 0;
    for (bool fresh : {true, false}) {
      for (std::size_t i = ends.size(); i-- > 0 && !choice;) {
        choice = choose(t(ends[i].frame) - start, fresh);
        picked = i;
      }
      if (choice)
        break;
    }
    End end;
    if (choice) {
      end = ends[picked];
      if (picked + 1 != ends.size())
        shortened++;
    } else {
      /* No shot holds even the time to the next beat: cut off the beat, at
       * the longest length some shot holds (fresh footage first). */
      for (bool fresh : {true, false}) {
        GstClockTime room = longest_room(fresh);
        guint64 n = gst_util_uint64_scale(room, (guint64)fps_n_, (guint64)fps_d_ * GST_SECOND);
        while (n > 0 && t(f0 + n) - start > room)
          n--;
        if (n == 0)
          continue;
        end = End{f0 + n, kNoBeat};
        choice = choose(t(end.frame) - start, fresh);
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
    seg.beat = beat;
    seg.beat_time = beat != kNoBeat ? song_.beats[beat] : start;
    seg.reused = choice->place.reused;
    if (seg.reused) {
      reused++;
      if (!GST_CLOCK_TIME_IS_VALID(first_reuse))
        first_reuse = start;
    }
    cs.shots[choice->shot].mark(seg.inpoint, seg.inpoint + seg.duration);
    cs.last_segment = (std::ptrdiff_t)plan_.segments.size();
    prev_state_ = (std::ptrdiff_t)choice->clip;
    prev_shot_ = choice->shot;
    plan_.segments.push_back(seg);

    f0 = end.frame;
    beat = end.beat;
    while (next < cuts_.size() && cuts_[next].frame <= f0)
      next++;
  }

  if (shortened > 0)
    plan_.notes.push_back(std::to_string(shortened) + " of " +
                          std::to_string(plan_.segments.size()) +
                          " segments were cut after fewer beats than planned because no shot "
                          "was long enough.");
  if (off_beat > 0)
    plan_.notes.push_back(std::to_string(off_beat) +
                          " cuts are off the beat because no shot could hold the time to the "
                          "next beat: add clips with longer shots.");
  if (reused > 0)
    plan_.notes.push_back("The clips ran out of unused footage at " + seconds(first_reuse) + ": " +
                          std::to_string(reused) + " of " + std::to_string(plan_.segments.size()) +
                          " segments show footage seen earlier. Add clips or shorten the edit.");
  return std::move(plan_);
}

} // namespace

Plan plan_montage(const SongAnalysis &song, const std::vector<ClipAnalysis> &clips,
                  const PlanSettings &settings)
{
  Planner planner(song, clips, settings);
  return planner.run();
}

} // namespace montage
