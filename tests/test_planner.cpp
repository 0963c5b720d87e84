/* Tests of the montage planner and the plan's JSON file (no pipeline). */
#include <gst/montage/planjson.h>
#include <gst/montage/planner.h>
#include <gst/montage/shotdetector.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <gtest/gtest.h>
#include <json-glib/json-glib.h>

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

using namespace montage;

namespace
{

GstClockTime secs(double s)
{
  return (GstClockTime)std::llround(s * GST_SECOND);
}

/* Beats every 60/bpm s from `first`, up to `length` s; a song of `length` s. */
SongAnalysis make_song(double bpm, double first, double length)
{
  SongAnalysis song;
  song.uri = "file:///music/song.ogg";
  song.bpm = bpm;
  song.duration = secs(length);
  for (int i = 0;; i++) {
    double t = first + i * 60.0 / bpm;
    if (t >= length)
      break;
    song.beats.push_back(secs(t));
  }
  return song;
}

/* A clip made of shots of the given lengths, back to back. */
ClipAnalysis make_clip(const std::string &name, const std::vector<double> &shot_lengths,
                       gint fps_n = 30, gint fps_d = 1)
{
  ClipAnalysis clip;
  clip.path = "/videos/" + name;
  clip.uri = "file:///videos/" + name;
  clip.fps_n = fps_n;
  clip.fps_d = fps_d;
  double t = 0.0;
  for (std::size_t i = 0; i < shot_lengths.size(); i++) {
    t += shot_lengths[i];
    if (i + 1 < shot_lengths.size())
      clip.cuts.push_back(secs(t));
  }
  clip.duration = secs(t);
  shots_from_cuts(clip);
  return clip;
}

/* `n` clips of `shots` shots of `length` s each. */
std::vector<ClipAnalysis> many_clips(int n, int shots, double length)
{
  std::vector<ClipAnalysis> clips;
  for (int i = 0; i < n; i++)
    clips.push_back(make_clip("clip" + std::to_string(i) + ".mp4",
                              std::vector<double>(shots, length + 0.1 * i)));
  return clips;
}

GstClockTime source_frame(const ClipAnalysis &clip)
{
  if (clip.fps_n <= 0)
    return gst_util_uint64_scale_ceil(GST_SECOND, 1, 30);
  return gst_util_uint64_scale_ceil(GST_SECOND, clip.fps_d, clip.fps_n);
}

bool on_grid(GstClockTime t, gint n, gint d)
{
  return frame_time(frame_at(t, n, d), n, d) == t;
}

bool any_note_contains(const Plan &plan, const std::string &what)
{
  for (const std::string &n : plan.notes)
    if (n.find(what) != std::string::npos)
      return true;
  return false;
}

bool has_note_kind(const Plan &plan, const std::string &kind)
{
  for (const PlanNote &n : plan.notes)
    if (n.kind == kind)
      return true;
  return false;
}

/* Does output time `at` lie inside a stretch without beats longer than
 * `max_hold`: between the two beats around it (or the song's start, or the
 * edit's end), each on its output frame as the planner cuts on it, more than
 * max_hold apart? */
bool in_beatless_stretch(const Plan &plan, const SongAnalysis &song, GstClockTime at,
                         GstClockTime max_hold)
{
  GstClockTime before = 0, after = plan.duration;
  for (GstClockTime b : song.beats) {
    const GstClockTime f = frame_time(frame_at(b, plan.fps_n, plan.fps_d), plan.fps_n, plan.fps_d);
    if (f == at)
      return false;
    if (f > at) {
      after = std::min(after, f);
      break;
    }
    before = f;
  }
  return after - before > max_hold;
}

/* The rules every plan keeps, checked from the outside. `max_hold`: the
 * style's (PlanSettings::style.pacing.max_hold). `off_beat_anywhere`: the
 * clips' shots are too short for the time between some beats, so cuts off
 * the beat (said in a note) may come before the song's last beat too. */
void check_plan(const Plan &plan, const SongAnalysis &song, const std::vector<ClipAnalysis> &clips,
                GstClockTime max_hold = Style{}.pacing.max_hold, bool off_beat_anywhere = false)
{
  ASSERT_FALSE(plan.segments.empty());
  GstClockTime at = 0;
  for (std::size_t i = 0; i < plan.segments.size(); i++) {
    const Segment &s = plan.segments[i];
    SCOPED_TRACE("segment " + std::to_string(i));
    EXPECT_EQ(s.start, at) << "segments must be back to back from 0";
    EXPECT_GT(s.duration, 0u);
    EXPECT_TRUE(on_grid(s.start, plan.fps_n, plan.fps_d));
    EXPECT_TRUE(on_grid(s.start + s.duration, plan.fps_n, plan.fps_d))
        << "duration must be a whole number of frames";
    if (i > 0 && s.beat == SIZE_MAX) {
      EXPECT_EQ(s.beat_time, s.start);
      if (in_beatless_stretch(plan, song, s.start, max_hold)) {
        /* inside a stretch without beats longer than max_hold, said in a note */
        EXPECT_TRUE(has_note_kind(plan, note_kind::kBeatlessStretch));
      } else {
        /* else only where the song has no beat left to cut on (or no shot
         * holds the time to the next beat), said in a note */
        if (!off_beat_anywhere) {
          EXPECT_GT(s.start, song.beats.back()) << "cuts lie on beats";
        }
        EXPECT_TRUE(any_note_contains(plan, "off the beat"));
      }
    } else if (i > 0) {
      ASSERT_LT(s.beat, song.beats.size()) << "cuts lie on beats";
      EXPECT_EQ(s.beat_time, song.beats[s.beat]);
      /* the cut time comes from the beat itself, rounded to the frame grid */
      EXPECT_EQ(s.start, frame_time(frame_at(song.beats[s.beat], plan.fps_n, plan.fps_d),
                                    plan.fps_n, plan.fps_d));
      if (plan.segments[i - 1].beat != SIZE_MAX) {
        EXPECT_GT(s.beat, plan.segments[i - 1].beat);
      }
    } else {
      EXPECT_EQ(s.start, 0u);
    }
    ASSERT_LT(s.clip, clips.size());
    const ClipAnalysis &clip = clips[s.clip];
    ASSERT_LT(s.shot, clip.shots.size());
    const Shot &shot = clip.shots[s.shot];
    EXPECT_GE(s.inpoint, shot.start);
    EXPECT_LE(s.inpoint + s.duration, shot.end - source_frame(clip))
        << "no frame of the next shot may be shown";
    if (clip.fps_n > 0) {
      /* The clip's frames are at first_frame + k / rate (cityCC0.mpg's from
       * 0.54 s, 13.5 frames at 25 fps): in-points counted from 0 fell
       * half-way between two of them. */
      ASSERT_GE(s.inpoint, clip.first_frame);
      EXPECT_TRUE(on_grid(s.inpoint - clip.first_frame, clip.fps_n, clip.fps_d))
          << "in-point on the source's frame grid, from its first frame";
    }
    at = s.start + s.duration;
  }
  EXPECT_EQ(at, plan.duration);
  if (GST_CLOCK_TIME_IS_VALID(song.duration)) {
    EXPECT_LE(plan.duration, song.duration + kSongLengthTolerance);
  }
}

/* For each segment: does its footage overlap an earlier segment's? */
std::vector<bool> overlaps_earlier(const Plan &plan)
{
  std::vector<bool> out;
  for (std::size_t i = 0; i < plan.segments.size(); i++) {
    const Segment &s = plan.segments[i];
    bool overlap = false;
    for (std::size_t j = 0; j < i; j++) {
      const Segment &p = plan.segments[j];
      if (p.clip == s.clip && s.inpoint < p.inpoint + p.duration &&
          p.inpoint < s.inpoint + s.duration)
        overlap = true;
    }
    out.push_back(overlap);
  }
  return out;
}

/* 2 beats per cut (4 where the energy is below 0.35), as the planner's
 * first version did: the pacing tests count beats exactly. */
PlanSettings two_beats()
{
  PlanSettings settings;
  settings.style.pacing.beats_per_cut_low = 4;
  settings.style.pacing.beats_per_cut_medium = 2;
  settings.style.pacing.beats_per_cut_high = 2;
  return settings;
}

bool same_plan(const Plan &a, const Plan &b)
{
  if (a.segments.size() != b.segments.size() || a.duration != b.duration || a.notes != b.notes)
    return false;
  for (std::size_t i = 0; i < a.segments.size(); i++) {
    const Segment &x = a.segments[i], &y = b.segments[i];
    if (x.start != y.start || x.duration != y.duration || x.clip != y.clip || x.shot != y.shot ||
        x.inpoint != y.inpoint || x.beat != y.beat || x.beat_time != y.beat_time ||
        x.reused != y.reused)
      return false;
  }
  return true;
}

} // namespace

TEST(Planner, CutsOnBeatsAtSeveralFrameRates)
{
  /* 123.4 BPM from 13.7 ms: no beat falls on any frame grid by chance. */
  SongAnalysis song = make_song(123.4, 0.0137, 240.0);
  auto clips = many_clips(4, 30, 3.3);
  const std::pair<gint, gint> rates[] = {{30, 1}, {30000, 1001}, {25, 1}, {24000, 1001}, {60, 1}};
  for (auto [n, d] : rates) {
    SCOPED_TRACE(std::to_string(n) + "/" + std::to_string(d));
    PlanSettings settings;
    settings.fps_n = n;
    settings.fps_d = d;
    Plan plan = plan_montage(song, clips, settings);
    EXPECT_EQ(plan.fps_n, n);
    EXPECT_EQ(plan.fps_d, d);
    /* default length: the song floored to the grid */
    guint64 frames = gst_util_uint64_scale(song.duration, n, (guint64)d * GST_SECOND);
    EXPECT_EQ(plan.duration, frame_time(frames, n, d));
    check_plan(plan, song, clips);
    /* the first beat is 13.7 ms in: less than a frame, so segment 0 starts on it */
    EXPECT_EQ(plan.segments[0].beat, 0u);
    EXPECT_EQ(plan.segments[0].beat_time, song.beats[0]);
    EXPECT_GT(plan.segments.size(), 100u);
  }
}

TEST(Planner, FirstSegmentFromSongStartWhenFirstBeatIsLate)
{
  SongAnalysis song = make_song(120, 2.3, 30.0);
  auto clips = many_clips(3, 10, 2.5);
  Plan plan = plan_montage(song, clips, PlanSettings{});
  check_plan(plan, song, clips);
  EXPECT_EQ(plan.segments[0].beat, SIZE_MAX);
  EXPECT_EQ(plan.segments[0].beat_time, 0u);
  EXPECT_EQ(plan.segments[1].start,
            frame_time(frame_at(song.beats[plan.segments[1].beat], 30, 1), 30, 1));
}

TEST(Planner, SegmentsStayInsideShotsWithOneFrameMargin)
{
  /* 120 BPM, 2 beats = 1 s. Shots of exactly 1 s cannot hold a 1 s segment
   * (one source frame must stay free at the end); shots of 1.05 s can, with
   * only 16 ms to spare. */
  SongAnalysis song = make_song(120, 0.0, 20.0);
  std::vector<ClipAnalysis> clips;
  clips.push_back(make_clip("tight.mp4", std::vector<double>(12, 1.05), 25, 1));
  clips.push_back(make_clip("exact.mp4", std::vector<double>(12, 1.0), 30, 1));
  clips.push_back(make_clip("ntsc.mp4", std::vector<double>(12, 1.05), 30000, 1001));
  clips.push_back(make_clip("unknown-rate.mp4", std::vector<double>(12, 1.05), 0, 1));
  Plan plan = plan_montage(song, clips, PlanSettings{});
  check_plan(plan, song, clips);
  for (const Segment &s : plan.segments) {
    if (s.clip == 1) {
      EXPECT_LT(s.duration, GST_SECOND) << "a 1 s shot cannot hold 1 s plus one frame";
    }
  }
}

TEST(Planner, NoClipTwiceInARow)
{
  SongAnalysis song = make_song(128, 0.0, 60.0);
  std::vector<ClipAnalysis> clips;
  /* unequal clips: the long one would win on freshness alone */
  clips.push_back(make_clip("long.mp4", std::vector<double>(30, 6.0)));
  clips.push_back(make_clip("mid.mp4", std::vector<double>(10, 4.0)));
  clips.push_back(make_clip("short.mp4", std::vector<double>(8, 3.0)));
  /* snug.mp4's shots fit 2-beat segments almost exactly, so the fit score
   * alone would pick it every time; wide.mp4 has room for everything. */
  std::vector<ClipAnalysis> lopsided;
  lopsided.push_back(make_clip("snug.mp4", std::vector<double>(60, 1.05)));
  lopsided.push_back(make_clip("wide.mp4", std::vector<double>(4, 20.0)));
  for (const auto *set : {&clips, &lopsided}) {
    for (guint64 seed = 0; seed < 5; seed++) {
      PlanSettings settings;
      settings.seed = seed;
      Plan plan = plan_montage(song, *set, settings);
      check_plan(plan, song, *set);
      for (std::size_t i = 1; i < plan.segments.size(); i++)
        EXPECT_NE(plan.segments[i].clip, plan.segments[i - 1].clip) << "segment " << i;
    }
  }
}

TEST(Planner, NoReuseWhileFreshFootageExists)
{
  /* 40 s of music, 2 x 30 s of footage in shots of 1.5-3 s. */
  SongAnalysis song = make_song(120, 0.0, 40.0);
  std::vector<ClipAnalysis> clips;
  clips.push_back(make_clip("a.mp4", {3.0, 1.5, 2.0, 3.0, 2.5, 3.0, 1.5, 2.0, 3.0, 2.5, 3.0, 3.0}));
  clips.push_back(make_clip("b.mp4", {2.0, 3.0, 1.5, 3.0, 2.5, 3.0, 1.5, 2.0, 3.0, 2.5, 3.0, 3.0}));
  for (guint64 seed = 0; seed < 5; seed++) {
    PlanSettings settings;
    settings.seed = seed;
    Plan plan = plan_montage(song, clips, settings);
    check_plan(plan, song, clips);
    auto overlaps = overlaps_earlier(plan);
    for (std::size_t i = 0; i < plan.segments.size(); i++) {
      EXPECT_FALSE(overlaps[i]) << "segment " << i << " repeats footage";
      EXPECT_FALSE(plan.segments[i].reused);
    }
    EXPECT_FALSE(any_note_contains(plan, "seen earlier"));
  }
}

TEST(Planner, ReuseFlaggedWhenFootageRunsOut)
{
  /* 20 s of music but only 2 x 4 s of footage. */
  SongAnalysis song = make_song(120, 0.0, 20.0);
  std::vector<ClipAnalysis> clips;
  clips.push_back(make_clip("a.mp4", {2.0, 2.0}));
  clips.push_back(make_clip("b.mp4", {1.5, 2.5}));
  Plan plan = plan_montage(song, clips, PlanSettings{});
  check_plan(plan, song, clips);
  auto overlaps = overlaps_earlier(plan);
  std::size_t reused = 0, first_reused = plan.segments.size();
  for (std::size_t i = 0; i < plan.segments.size(); i++) {
    EXPECT_EQ(plan.segments[i].reused, overlaps[i]) << "segment " << i;
    if (plan.segments[i].reused) {
      reused++;
      first_reused = std::min(first_reused, i);
    }
  }
  EXPECT_GT(reused, 0u);
  /* about 8 s minus margins is fresh: reuse starts only after several segments */
  EXPECT_GE(first_reused, 4u);
  EXPECT_TRUE(any_note_contains(plan, "seen earlier"));
}

TEST(Planner, SameSeedSamePlanDifferentSeedDifferentPlan)
{
  SongAnalysis song = make_song(118, 0.2, 45.0);
  auto clips = many_clips(5, 12, 2.2);
  PlanSettings settings;
  settings.seed = 1234;
  Plan a = plan_montage(song, clips, settings);
  Plan b = plan_montage(song, clips, settings);
  EXPECT_TRUE(same_plan(a, b));
  EXPECT_EQ(a.seed, 1234u);

  std::vector<Plan> plans;
  for (guint64 seed = 1; seed <= 8; seed++) {
    settings.seed = seed;
    plans.push_back(plan_montage(song, clips, settings));
  }
  EXPECT_FALSE(same_plan(plans[0], plans[1]));
  int distinct = 0;
  for (std::size_t i = 0; i < plans.size(); i++) {
    bool seen = false;
    for (std::size_t j = 0; j < i; j++)
      seen = seen || same_plan(plans[i], plans[j]);
    distinct += !seen;
  }
  EXPECT_GE(distinct, 7);
}

TEST(Planner, RequestedDurationEndsOnNearestBeat)
{
  /* beats at 0.013 + 0.5 k s up to 20 s; the song runs on to 30 s */
  SongAnalysis song = make_song(120, 0.013, 20.0);
  song.duration = secs(30.0);
  auto clips = many_clips(3, 20, 2.5);
  struct Case {
    double want, end;
  } cases[] = {
      {10.2, 10.013},  /* nearest beat below */
      {10.3, 10.513},  /* nearest beat above */
      {25.0, 25.0},    /* no beat near: the length itself */
      {40.0, 30.0},    /* past the song: the song's end */
      {7.0101, 7.013}, /* on a beat but not on the frame grid */
  };
  for (const Case &c : cases) {
    SCOPED_TRACE("want " + std::to_string(c.want));
    PlanSettings settings;
    settings.fps_n = 30000;
    settings.fps_d = 1001;
    settings.duration = secs(c.want);
    Plan plan = plan_montage(song, clips, settings);
    EXPECT_EQ(plan.duration, frame_time(frame_at(secs(c.end), 30000, 1001), 30000, 1001));
    check_plan(plan, song, clips);
  }
  PlanSettings settings;
  settings.duration = secs(40.0);
  EXPECT_TRUE(any_note_contains(plan_montage(song, clips, settings), "longer than the song"));
}

TEST(Planner, QuietPassagesCutLessOften)
{
  /* 29.4 s: the final beat (the last cut) is beat 58, even like every
   * 2-beat cut, so no segment needs to stretch to reach it. */
  SongAnalysis song = make_song(120, 0.0, 29.4);
  song.beat_energy.assign(song.beats.size(), 1.0);
  for (std::size_t i = 20; i < 40; i++) /* 10 s - 20 s is quiet */
    song.beat_energy[i] = 0.2;
  auto clips = many_clips(3, 20, 2.5);
  Plan plan = plan_montage(song, clips, two_beats());
  check_plan(plan, song, clips);
  for (std::size_t i = 0; i + 1 < plan.segments.size(); i++) {
    const Segment &s = plan.segments[i], &next = plan.segments[i + 1];
    std::size_t from = s.beat == SIZE_MAX ? 0 : s.beat;
    std::size_t beats = next.beat - from;
    SCOPED_TRACE("segment " + std::to_string(i) + " from beat " + std::to_string(from));
    if (from >= 20 && from < 40) {
      EXPECT_EQ(beats, 4u);
    } else {
      EXPECT_EQ(beats, 2u);
    }
  }
}

TEST(Planner, FewerBeatsWhenNoShotHoldsMore)
{
  /* 2 beats = 1 s, but no shot is longer than 0.8 s: cut every beat. */
  SongAnalysis song = make_song(120, 0.0, 10.0);
  std::vector<ClipAnalysis> clips;
  clips.push_back(make_clip("a.mp4", std::vector<double>(20, 0.8)));
  clips.push_back(make_clip("b.mp4", std::vector<double>(20, 0.7)));
  Plan plan = plan_montage(song, clips, two_beats());
  check_plan(plan, song, clips);
  for (std::size_t i = 1; i < plan.segments.size(); i++)
    EXPECT_EQ(plan.segments[i].beat, plan.segments[i - 1].beat + 1);
  EXPECT_TRUE(any_note_contains(plan, "fewer beats"));
}

TEST(Planner, ClipsWithOnlyShortShotsAreNotUsed)
{
  SongAnalysis song = make_song(120, 0.0, 10.0);
  std::vector<ClipAnalysis> clips;
  clips.push_back(make_clip("flashes.mp4", std::vector<double>(40, 0.3)));
  clips.push_back(make_clip("good.mp4", std::vector<double>(10, 3.0)));
  clips.push_back(make_clip("good2.mp4", std::vector<double>(10, 3.0)));
  Plan plan = plan_montage(song, clips, PlanSettings{});
  check_plan(plan, song, clips);
  for (const Segment &s : plan.segments)
    EXPECT_NE(s.clip, 0u);
  EXPECT_TRUE(any_note_contains(plan, "/videos/flashes.mp4"));
}

/* A 0.5 s clip (15 frames at 30 fps) under a 0.46 s beat: its only shot
 * offers 0.47 s, its last frame left out, which is still a beat, so it is
 * used. Under a 0.48 s beat it is not, and the note says what the shot
 * offers: "none of its 1 shots is at least one beat (0.46 s) long" stood
 * beside the tool's "1 shot(s), 0.5 s" for a clip whose first frame was an
 * insert (trial h113). */
TEST(Planner, ClipLeftOutForAShortShotSaysWhatTheShotOffers)
{
  std::vector<ClipAnalysis> clips;
  clips.push_back(make_clip("half.mp4", {0.5}));
  clips.push_back(make_clip("good.mp4", std::vector<double>(10, 3.0)));
  clips.push_back(make_clip("good2.mp4", std::vector<double>(10, 3.0)));
  const Plan fits = plan_montage(make_song(130, 0.0, 10.0), clips, PlanSettings{});
  EXPECT_FALSE(any_note_contains(fits, "half.mp4' is not used"));

  const Plan over = plan_montage(make_song(125, 0.0, 10.0), clips, PlanSettings{});
  EXPECT_TRUE(any_note_contains(over, "Clip '/videos/half.mp4' is not used: its only shot (0.50 s) "
                                      "offers 0.47 s of footage, less than one beat (0.48 s): "
                                      "a shot's last source frame is left out"));

  /* A first frame left out as an insert, its clean start stamped a
   * nanosecond past frame 1 of the 30 fps grid: the shot offers from frame
   * 1 (0.50 s less two frames), where it offered from frame 2 (0.40 s). */
  clips[0] = make_clip("insert.mp4", {0.5});
  clips[0].shots[0].transition_end = 33333334;
  const Plan insert = plan_montage(make_song(125, 0.0, 10.0), clips, PlanSettings{});
  EXPECT_TRUE(any_note_contains(insert, "Clip '/videos/insert.mp4' is not used: its only shot "
                                        "(0.50 s) offers 0.43 s of footage"));

  /* Of several shots, the one that offers most. */
  clips[0] = make_clip("halves.mp4", {0.3, 0.45, 0.2});
  const Plan several = plan_montage(make_song(125, 0.0, 10.0), clips, PlanSettings{});
  EXPECT_TRUE(any_note_contains(several, "Clip '/videos/halves.mp4' is not used: the best of its 3 "
                                         "shots (0.45 s) offers 0.42 s of footage"));
}

/* A file that decodes past the length its container states (cityCC0.mpg:
 * frames from 0.54 s to 8.14 s, 7.36 s stated), planned for an .xges: GES
 * reaches only the stated length, so with within_stated_length no segment
 * ends past it and a note says what was left out; the plan used the footage
 * to 8.14 s (which the loaded project then cut short). Without a stated
 * length, or with the option off, the analysed footage is used as before. */
TEST(Planner, WithinStatedLengthKeepsSegmentsWhereGesReaches)
{
  const SongAnalysis song = make_song(120, 0.0, 8.0);
  ClipAnalysis city;
  city.path = "/videos/city.mpg";
  city.uri = "file:///videos/city.mpg";
  city.fps_n = 25;
  city.first_frame = secs(0.54);
  city.duration = secs(8.14);
  city.stated_duration = secs(7.36);
  shots_from_cuts(city);
  const std::vector<ClipAnalysis> clips{city};
  PlanSettings settings;
  settings.fps_n = 25;
  auto reach = [](const Plan &plan) {
    GstClockTime end = 0;
    for (const Segment &s : plan.segments)
      end = std::max(end, s.inpoint + s.duration);
    return end;
  };

  const Plan off = plan_montage(song, clips, settings);
  check_plan(off, song, clips);
  ASSERT_GT(reach(off), secs(7.36)) << "8 s of song, 7.56 s of fresh footage: all of it is used";

  settings.within_stated_length = true;
  const Plan on = plan_montage(song, clips, settings);
  check_plan(on, song, clips);
  ASSERT_FALSE(on.segments.empty());
  for (const Segment &s : on.segments) {
    EXPECT_GE(s.inpoint, secs(0.54));
    EXPECT_LE(s.inpoint + s.duration, secs(7.36)) << "segment at " << s.start;
  }
  EXPECT_EQ(on.duration, off.duration) << "the song is still covered (by reuse)";
  EXPECT_TRUE(any_note_contains(on, "/videos/city.mpg': its footage past 7.36 s is left out"));
  EXPECT_FALSE(any_note_contains(off, "left out"));

  /* No stated length (not measured, or the file states none): no limit. */
  std::vector<ClipAnalysis> unstated = clips;
  unstated[0].stated_duration = GST_CLOCK_TIME_NONE;
  EXPECT_TRUE(same_plan(plan_montage(song, unstated, settings), off));

  /* A stated length that leaves no shot a beat long: the clip is not used. */
  std::vector<ClipAnalysis> tiny = clips;
  tiny[0].stated_duration = secs(0.8);
  try {
    plan_montage(song, tiny, settings);
    ADD_FAILURE() << "no clip is usable within 0.8 s";
  } catch (const PlanError &e) {
    EXPECT_NE(std::string(e.what()).find("None of the 1 clips"), std::string::npos) << e.what();
  }
}

TEST(Planner, ShotsAreDerivedFromCutsWhenMissing)
{
  SongAnalysis song = make_song(120, 0.0, 10.0);
  std::vector<ClipAnalysis> clips{make_clip("a.mp4", {3.0, 4.0, 5.0}),
                                  make_clip("b.mp4", {6.0, 6.0})};
  std::vector<ClipAnalysis> bare = clips;
  for (ClipAnalysis &c : bare)
    c.shots.clear();
  Plan with = plan_montage(song, clips, PlanSettings{});
  Plan without = plan_montage(song, bare, PlanSettings{});
  EXPECT_TRUE(same_plan(with, without));
}

TEST(Planner, ImpossibleInputThrowsPlanError)
{
  SongAnalysis song = make_song(120, 0.0, 10.0);
  auto clips = many_clips(2, 5, 3.0);

  SongAnalysis silent = song;
  silent.beats.clear();
  EXPECT_THROW(plan_montage(silent, clips, PlanSettings{}), PlanError);
  EXPECT_THROW(plan_montage(song, {}, PlanSettings{}), PlanError);

  std::vector<ClipAnalysis> flashes{make_clip("flashes.mp4", std::vector<double>(40, 0.3))};
  try {
    plan_montage(song, flashes, PlanSettings{});
    ADD_FAILURE() << "expected PlanError";
  } catch (const PlanError &e) {
    EXPECT_NE(std::string(e.what()).find("one beat"), std::string::npos) << e.what();
  }

  SongAnalysis no_length = song;
  no_length.duration = GST_CLOCK_TIME_NONE;
  EXPECT_THROW(plan_montage(no_length, clips, PlanSettings{}), PlanError);
  PlanSettings with_length;
  with_length.duration = secs(5.0);
  EXPECT_NO_THROW(plan_montage(no_length, clips, with_length));

  PlanSettings bad_rate;
  bad_rate.fps_n = 0;
  EXPECT_THROW(plan_montage(song, clips, bad_rate), PlanError);
  PlanSettings zero;
  zero.duration = 0;
  EXPECT_THROW(plan_montage(song, clips, zero), PlanError);
}

class PlanJsonTest : public ::testing::Test
{
protected:
  void SetUp() override
  {
    GError *error = nullptr;
    gchar *dir = g_dir_make_tmp("test-planner-XXXXXX", &error);
    ASSERT_NE(dir, nullptr) << error->message;
    dir_ = dir;
    g_free(dir);
    path_ = dir_ + "/plan.json";
  }
  void TearDown() override
  {
    g_remove(path_.c_str());
    g_rmdir(dir_.c_str());
  }
  std::string dir_, path_;
};

TEST_F(PlanJsonTest, RoundTrip)
{
  SongAnalysis song = make_song(123.4, 0.41, 20.0);
  std::vector<ClipAnalysis> clips{make_clip("a \"quoted\".mp4", {3.0, 4.0, 5.0}, 30000, 1001),
                                  make_clip("b.mp4", {2.0, 2.0})};
  PlanSettings settings;
  settings.fps_n = 30000;
  settings.fps_d = 1001;
  settings.seed = (G_GUINT64_CONSTANT(1) << 60) + 7; /* beyond doubles: written as a string */
  Plan plan = plan_montage(song, clips, settings);
  ASSERT_FALSE(plan.notes.empty()); /* footage runs out: there is a note to carry */

  GError *error = nullptr;
  ASSERT_TRUE(write_plan_json(plan, song, clips, path_, &error)) << error->message;
  PlanJson read;
  ASSERT_TRUE(read_plan_json(path_, read, &error)) << error->message;

  EXPECT_EQ(read.version, 2);
  EXPECT_EQ(read.song_uri, song.uri);
  EXPECT_DOUBLE_EQ(read.song_bpm, 123.4);
  EXPECT_EQ(read.song_duration, song.duration);
  EXPECT_EQ(read.fps_n, 30000);
  EXPECT_EQ(read.fps_d, 1001);
  EXPECT_TRUE(same_plan(read.to_plan(), plan));
  ASSERT_EQ(read.segments.size(), plan.segments.size());
  EXPECT_EQ(read.segments[0].segment.beat, SIZE_MAX); /* first beat 0.41 s: song start */
  for (const PlanJsonSegment &s : read.segments) {
    EXPECT_EQ(s.source, clips[s.segment.clip].path);
    EXPECT_EQ(s.uri, clips[s.segment.clip].uri);
  }
  EXPECT_EQ(read.to_plan().seed, settings.seed);

  /* The text says what the brief promises, with null for the song start. */
  std::string text = plan_to_json(plan, song, clips);
  EXPECT_NE(text.find("\"fps\" : \"30000/1001\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"beat\" : null"), std::string::npos);
  EXPECT_NE(text.find("\"source\" : \"/videos/b.mp4\""), std::string::npos);

  /* A small seed is written as a plain number. */
  plan.seed = 42;
  text = plan_to_json(plan, song, clips);
  EXPECT_NE(text.find("\"seed\" : 42"), std::string::npos);
}

TEST_F(PlanJsonTest, BadInputFailsWithError)
{
  PlanJson out;
  GError *error = nullptr;
  EXPECT_FALSE(parse_plan_json("{ not json", out, &error));
  ASSERT_NE(error, nullptr);
  g_clear_error(&error);

  EXPECT_FALSE(parse_plan_json("{\"format\": \"gst-montage-plan\", \"version\": 1}", out, &error));
  ASSERT_NE(error, nullptr);
  EXPECT_TRUE(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA));
  EXPECT_NE(std::string(error->message).find("song"), std::string::npos) << error->message;
  g_clear_error(&error);

  EXPECT_FALSE(read_plan_json(dir_ + "/missing.json", out, &error));
  EXPECT_TRUE(g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT));
  g_clear_error(&error);

  /* A plan whose segment points past the clip list is refused. */
  SongAnalysis song = make_song(120, 0.0, 10.0);
  auto clips = many_clips(2, 5, 3.0);
  Plan plan = plan_montage(song, clips, PlanSettings{});
  clips.pop_back();
  bool uses_last = false;
  for (const Segment &s : plan.segments)
    uses_last = uses_last || s.clip == 1;
  ASSERT_TRUE(uses_last);
  EXPECT_FALSE(write_plan_json(plan, song, clips, path_, &error));
  EXPECT_TRUE(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT));
  g_clear_error(&error);
  EXPECT_FALSE(g_file_test(path_.c_str(), G_FILE_TEST_EXISTS));
}

namespace
{

/* Downbeats every 4 beats from beat `first`, as sure as montagebeat's
 * meter confidence (1: accents on every downbeat) says. */
void add_bars(SongAnalysis &song, std::size_t first, double confidence = 1.0)
{
  song.downbeats.assign(song.beats.size(), false);
  for (std::size_t i = first; i < song.beats.size(); i += 4)
    song.downbeats[i] = true;
  song.beats_per_bar = 4;
  song.meter_confidence = confidence;
}

/* A clip of `shots` shots of `length` s whose features sit at `motion`
 * (raw mean absolute luma difference) and `brightness`. */
ClipAnalysis feature_clip(const std::string &name, int shots, double length, double motion,
                          double brightness)
{
  ClipAnalysis clip = make_clip(name, std::vector<double>(shots, length));
  for (std::size_t i = 0; i < clip.shots.size(); i++) {
    Shot &s = clip.shots[i];
    s.has_features = true;
    s.features.motion_mean = motion + 0.01 * i;
    s.features.brightness = brightness;
    s.features.contrast = 40;
    s.features.colourfulness = 30;
    s.features.sharpness = 200;
  }
  return clip;
}

} // namespace

TEST(PlannerPacing, SectionsSetBeatsPerCut)
{
  /* 0-16 s calm, 16-32 s peak (balanced: 4 and 1 beats per cut). */
  SongAnalysis song = make_song(120, 0.0, 32.2);
  song.sections = {Section{0, secs(16.0), Section::Level::kLow},
                   Section{secs(16.0), song.duration, Section::Level::kHigh}};
  auto clips = many_clips(4, 30, 2.5);
  PlanResult r = plan_montage_explained(song, clips, PlanSettings{});
  check_plan(r.plan, song, clips);
  ASSERT_EQ(r.decisions.size(), r.plan.segments.size());
  for (std::size_t i = 0; i + 1 < r.plan.segments.size(); i++) {
    const Segment &s = r.plan.segments[i];
    SCOPED_TRACE("segment " + std::to_string(i));
    if (s.beat_time < secs(15.0)) {
      EXPECT_EQ(r.decisions[i].beats, 4u);
      EXPECT_EQ(r.decisions[i].music.level, Section::Level::kLow);
    } else if (s.beat_time >= secs(16.0)) {
      EXPECT_EQ(r.decisions[i].beats, 1u);
      EXPECT_EQ(r.decisions[i].wanted_beats, 1u);
    }
  }
}

TEST(PlannerPacing, PrefersDownbeatsAndEndsOnTheFinalBeat)
{
  /* Bars start on beat 1 (a pickup beat at 0); 4 beats per cut everywhere. */
  SongAnalysis song = make_song(120, 0.0, 40.45); /* final beat 40 s, 0.43 s tail */
  add_bars(song, 1);
  auto clips = many_clips(4, 30, 2.5);
  PlanSettings settings;
  settings.style.pacing.beats_per_cut_high = 4;
  settings.style.pacing.beats_per_cut_medium = 4;
  PlanResult r = plan_montage_explained(song, clips, settings);
  check_plan(r.plan, song, clips);
  std::size_t on_downbeat = 0, cuts = 0;
  for (std::size_t i = 1; i < r.plan.segments.size(); i++) {
    cuts++;
    if (song.downbeats[r.plan.segments[i].beat])
      on_downbeat++;
  }
  EXPECT_GE(on_downbeat + 2, cuts) << "all cuts but the first and the final beat on downbeats";
  EXPECT_EQ(r.plan.segments.back().beat, song.beats.size() - 1)
      << "the last cut is on the song's final beat";
  EXPECT_EQ(r.fade_out, 0u) << "the whole song: no fade";
  /* Without downbeats the cuts follow the plain 4-beat grid from beat 0. */
  song.downbeats.clear();
  Plan plain = plan_montage(song, clips, settings);
  EXPECT_EQ(plain.segments[1].beat, 4u);
}

/* Bars that montagebeat names with a meter confidence under 0.25 (equal
 * clicks read 0-0.17) are a guess: the plan is the one without downbeats,
 * and a note says why. */
TEST(PlannerPacing, BarsThatAreAGuessAreNotFollowed)
{
  SongAnalysis song = make_song(120, 0.0, 40.45);
  add_bars(song, 1, 0.1);
  auto clips = many_clips(4, 30, 2.5);
  PlanSettings settings;
  settings.style.pacing.beats_per_cut_high = 4;
  settings.style.pacing.beats_per_cut_medium = 4;
  PlanResult guessed = plan_montage_explained(song, clips, settings);
  check_plan(guessed.plan, song, clips);
  EXPECT_TRUE(any_note_contains(guessed.plan, "bar lines are a guess (meter confidence 0.10"));
  SongAnalysis plain_song = song;
  plain_song.downbeats.clear();
  Plan plain = plan_montage(plain_song, clips, settings);
  ASSERT_EQ(guessed.plan.segments.size(), plain.segments.size());
  for (std::size_t i = 0; i < plain.segments.size(); i++)
    EXPECT_EQ(guessed.plan.segments[i].beat, plain.segments[i].beat) << i;
  for (const CutDecision &d : guessed.decisions)
    EXPECT_FALSE(d.music.downbeat);

  add_bars(song, 1, 0.3);
  Plan followed = plan_montage(song, clips, settings);
  EXPECT_EQ(followed.segments[1].beat, 5u) << "sure bars: the cut moves to the downbeat";
  EXPECT_FALSE(any_note_contains(followed, "a guess"));
}

TEST(PlannerPacing, MinimumGapAndMaximumHold)
{
  SongAnalysis song = make_song(200, 0.0, 30.0); /* 0.3 s beats */
  auto clips = many_clips(4, 40, 4.0);
  PlanSettings settings;
  settings.style.pacing.min_gap = secs(0.7); /* every beat would be too fast */
  settings.style.pacing.beats_per_cut_high = 1;
  PlanResult r = plan_montage_explained(song, clips, settings);
  check_plan(r.plan, song, clips);
  for (std::size_t i = 0; i + 1 < r.plan.segments.size(); i++)
    EXPECT_GE(r.plan.segments[i].duration, secs(0.7) - GST_MSECOND * 34) << i;

  settings = PlanSettings{};
  settings.style.pacing.beats_per_cut_high = 16; /* 4.8 s wanted, 2 s max hold */
  settings.style.pacing.beats_per_cut_medium = 16;
  settings.style.pacing.max_hold = secs(2.0);
  r = plan_montage_explained(song, clips, settings);
  check_plan(r.plan, song, clips);
  for (std::size_t i = 0; i + 1 < r.plan.segments.size(); i++)
    EXPECT_LE(r.plan.segments[i].duration, secs(2.0)) << i;
}

TEST(PlannerPacing, RequestedLengthEndsOnADownbeatWithAFade)
{
  SongAnalysis song = make_song(120, 0.0, 60.0);
  add_bars(song, 0);
  auto clips = many_clips(4, 30, 2.5);
  PlanSettings settings;
  settings.duration = secs(21.3); /* downbeats at 20 s and 22 s: 22 is 0.7 away, 20 is 1.3 */
  PlanResult r = plan_montage_explained(song, clips, settings);
  check_plan(r.plan, song, clips);
  EXPECT_EQ(r.plan.duration, secs(22.0));
  EXPECT_EQ(r.fade_out, Style{}.pacing.fade_out);
  EXPECT_TRUE(any_note_contains(r.plan, "fades out"));
}

TEST(PlannerSelection, TargetFollowsTheEnergy)
{
  /* Two clips of still, two of action footage; the song is quiet for 15 s,
   * then loud. */
  SongAnalysis song = make_song(120, 0.0, 30.0);
  song.beat_energy.assign(song.beats.size(), 0.1);
  for (std::size_t i = 30; i < song.beats.size(); i++)
    song.beat_energy[i] = 1.0;
  std::vector<ClipAnalysis> clips{feature_clip("still1.mp4", 20, 3.0, 1.0, 120),
                                  feature_clip("still2.mp4", 20, 3.0, 1.5, 120),
                                  feature_clip("action1.mp4", 20, 3.0, 25.0, 120),
                                  feature_clip("action2.mp4", 20, 3.0, 26.0, 120)};
  PlanResult r = plan_montage_explained(song, clips, PlanSettings{});
  check_plan(r.plan, song, clips);
  std::size_t quiet_still = 0, quiet = 0, loud_action = 0, loud = 0;
  for (const Segment &s : r.plan.segments) {
    bool action = s.clip >= 2;
    if (s.beat_time < secs(15.0)) {
      quiet++;
      quiet_still += !action;
    } else {
      loud++;
      loud_action += action;
    }
  }
  EXPECT_EQ(quiet_still, quiet);
  EXPECT_EQ(loud_action, loud);
  for (std::size_t i = 1; i < r.plan.segments.size(); i++)
    EXPECT_NE(r.plan.segments[i].clip, r.plan.segments[i - 1].clip) << "no jump cut";
}

TEST(PlannerSelection, InPointAtTheBestMomentAndOutsideTransitions)
{
  SongAnalysis song = make_song(120, 0.0, 4.0);
  std::vector<ClipAnalysis> clips{feature_clip("a.mp4", 2, 6.0, 10, 100),
                                  feature_clip("b.mp4", 2, 6.0, 10, 100)};
  for (ClipAnalysis &c : clips) {
    c.shots[0].features.best_inpoint = secs(3.0);
    /* shot 1 begins with a 1 s dissolve (5.5 s - 6.5 s) */
    c.shots[1].transition = Transition::kDissolve;
    c.shots[1].transition_start = secs(5.5);
    c.shots[1].transition_end = secs(6.5);
  }
  PlanResult r = plan_montage_explained(song, clips, PlanSettings{});
  check_plan(r.plan, song, clips);
  for (std::size_t i = 0; i < r.plan.segments.size(); i++) {
    const Segment &s = r.plan.segments[i];
    if (s.shot == 0) {
      EXPECT_LE(s.inpoint + s.duration, secs(5.5)) << "ends before the next shot's dissolve";
    } else {
      EXPECT_GE(s.inpoint, secs(6.5)) << "starts after its own dissolve";
    }
  }
  const Segment &first = r.plan.segments[0];
  ASSERT_EQ(first.shot, 0u);
  EXPECT_EQ(first.inpoint, secs(3.0));
  EXPECT_DOUBLE_EQ(r.decisions[0].score.inpoint, 1.0);
}

/* Shots found by ShotDetector in footage where each new shot begins on a
 * one-frame insert of unrelated content (A B C: the cut is reported on B,
 * docs/montagescene.md "A frame between two shots"): no segment opens on
 * an insert frame. The insert is the sharpest frame of its shot (a fine
 * noise pattern, the rest smooth textures), so before ShotDetector marked
 * the shot's clean start after it (transition_end), it was the shot's
 * best in-point and the planner opened segments on it. */
TEST(PlannerSelection, NoInPointOnTheInsertThatBeginsAShot)
{
  constexpr int kFps = 25, kShotFrames = 50, kShots = 4;
  const cv::Size size(192, 108);
  std::vector<cv::Mat> textures;
  for (int k = 0; k < kShots; k++) {
    cv::RNG rng(500 + k);
    cv::Mat grey(size.height, size.width * 3, CV_32F), bgr;
    rng.fill(grey, cv::RNG::UNIFORM, 0.0, 1.0);
    cv::GaussianBlur(grey, grey, cv::Size(0, 0), 4.0);
    cv::normalize(grey, grey, 40, 220, cv::NORM_MINMAX);
    const double tint[4][3] = {{0.9, 0.5, 0.2}, {0.3, 0.9, 0.4}, {0.2, 0.4, 1.0}, {0.6, 0.2, 0.9}};
    cv::Mat planes[3] = {grey * tint[k][2], grey * tint[k][1], grey * tint[k][0]};
    cv::merge(planes, 3, bgr);
    bgr.convertTo(bgr, CV_8UC3);
    textures.push_back(bgr);
  }
  cv::RNG noise(7);
  std::vector<GstClockTime> inserts; /* stream time of each insert frame */
  ShotDetectorSettings settings;
  settings.features_every = 1;
  ShotDetector det(settings);
  AnalysisViewBuilder builder;
  std::vector<FrameVerdict> verdicts;
  cv::Mat hsv;
  const GstClockTime frame = GST_SECOND / kFps;
  for (int i = 0; i < kShots * kShotFrames; i++) {
    const int shot = i / kShotFrames;
    cv::Mat bgr;
    if (shot > 0 && i % kShotFrames == 0) {
      bgr.create(size, CV_8UC3);
      noise.fill(bgr, cv::RNG::UNIFORM, 0, 256);
      inserts.push_back(i * frame);
    } else {
      bgr = textures[shot](cv::Rect(i % kShotFrames, 0, size.width, size.height)).clone();
    }
    ASSERT_TRUE(builder.build(FrameView::packed_rgb(bgr, 2, 1, 0), hsv));
    ASSERT_TRUE(det.push(hsv, builder.luma(), builder.bgr(), i * frame, frame, verdicts));
  }
  const std::optional<Shot> last = det.finish(verdicts);
  ClipAnalysis clip;
  clip.fps_n = kFps;
  clip.fps_d = 1;
  clip.duration = kShots * kShotFrames * frame;
  for (const FrameVerdict &v : verdicts) {
    if (v.ended)
      clip.shots.push_back(*v.ended);
    if (v.boundary)
      clip.cuts.push_back(v.shot.start);
  }
  ASSERT_TRUE(last);
  clip.shots.push_back(*last);
  ASSERT_EQ(clip.cuts, inserts) << "one cut on each insert";
  std::vector<ClipAnalysis> clips;
  for (const char *name : {"a.mp4", "b.mp4"}) {
    clips.push_back(clip);
    clips.back().path = std::string("/videos/") + name;
    clips.back().uri = std::string("file:///videos/") + name;
  }
  SongAnalysis song = make_song(120, 0.0, 12.0);
  PlanResult r = plan_montage_explained(song, clips, PlanSettings{});
  check_plan(r.plan, song, clips);
  std::size_t on_later_shots = 0;
  for (const Segment &s : r.plan.segments) {
    on_later_shots += s.shot > 0;
    for (GstClockTime t : inserts)
      EXPECT_NE(s.inpoint, t) << "segment opens on the insert";
  }
  EXPECT_GT(on_later_shots, 0u) << "the shots that begin on an insert are used";
}

TEST(PlannerSelection, DecisionsExplainEveryCutAndReuse)
{
  SongAnalysis song = make_song(120, 0.0, 20.0);
  std::vector<ClipAnalysis> clips{make_clip("a.mp4", {3.0, 2.0}), make_clip("b.mp4", {2.0, 2.0})};
  PlanSettings settings;
  settings.style.transitions.normal = Transition::kDissolve;
  settings.style.transitions.duration = secs(0.2);
  PlanResult r = plan_montage_explained(song, clips, settings);
  check_plan(r.plan, song, clips);
  ASSERT_EQ(r.decisions.size(), r.plan.segments.size());
  std::size_t reused = 0;
  for (std::size_t i = 0; i < r.decisions.size(); i++) {
    const CutDecision &d = r.decisions[i];
    SCOPED_TRACE("segment " + std::to_string(i));
    EXPECT_DOUBLE_EQ(d.score.total, score_total(d.score, r.weights));
    EXPECT_GE(d.usable, 1u);
    EXPECT_EQ(d.fresh_footage, !r.plan.segments[i].reused);
    if (r.plan.segments[i].reused) {
      reused++;
      ASSERT_LT(d.reuses_segment, i);
      EXPECT_EQ(r.plan.segments[d.reuses_segment].clip, r.plan.segments[i].clip);
      EXPECT_DOUBLE_EQ(d.score.reuse, 1.0);
    }
    if (i > 0) {
      EXPECT_EQ(d.transition, Transition::kDissolve);
      EXPECT_EQ(d.transition_duration, secs(0.2));
    }
  }
  EXPECT_GT(reused, 0u) << "9 s of footage for 20 s: reuse, reported";
  EXPECT_EQ(r.reused, reused);
  EXPECT_TRUE(any_note_contains(r.plan, "ran out of unused footage"));
  EXPECT_TRUE(same_plan(r.plan, plan_montage(song, clips, settings)));
}

TEST(PlannerSelection, DeterministicForASeedWithFeatures)
{
  SongAnalysis song = make_song(128, 0.0, 60.0);
  std::vector<ClipAnalysis> clips;
  for (int c = 0; c < 6; c++)
    clips.push_back(feature_clip("c" + std::to_string(c) + ".mp4", 15, 2.7, 3.0 * c, 40 * c));
  PlanSettings a;
  a.seed = 5;
  a.style.weights.jitter = 1.5;
  PlanSettings b = a;
  b.seed = 6;
  EXPECT_TRUE(same_plan(plan_montage(song, clips, a), plan_montage(song, clips, a)));
  EXPECT_FALSE(same_plan(plan_montage(song, clips, a), plan_montage(song, clips, b)));
}

TEST_F(PlanJsonTest, DecisionsRoundTrip)
{
  SongAnalysis song = make_song(120, 0.0, 30.0);
  add_bars(song, 0);
  std::vector<ClipAnalysis> clips{feature_clip("a.mp4", 4, 3.0, 5, 100),
                                  feature_clip("b.mp4", 4, 3.0, 20, 150)};
  PlanSettings settings;
  settings.duration = secs(20.0);
  PlanResult r = plan_montage_explained(song, clips, settings);
  ASSERT_GT(r.fade_out, 0u);
  GError *error = nullptr;
  ASSERT_TRUE(write_plan_json(r, song, clips, path_, &error)) << error->message;
  PlanJson read;
  ASSERT_TRUE(read_plan_json(path_, read, &error)) << error->message;
  PlanResult back = read.to_result();
  EXPECT_EQ(back.style, "balanced");
  EXPECT_EQ(back.fade_out, r.fade_out);
  EXPECT_TRUE(same_plan(back.plan, r.plan));
  ASSERT_EQ(back.decisions.size(), r.decisions.size());
  EXPECT_DOUBLE_EQ(back.weights.jump_cut, r.weights.jump_cut);
  for (std::size_t i = 0; i < r.decisions.size(); i++) {
    const CutDecision &x = r.decisions[i], &y = back.decisions[i];
    ASSERT_TRUE(read.segments[i].has_decision);
    EXPECT_DOUBLE_EQ(x.score.total, y.score.total);
    EXPECT_DOUBLE_EQ(x.score.closeness, y.score.closeness);
    EXPECT_DOUBLE_EQ(x.score.jitter, y.score.jitter);
    EXPECT_EQ(x.target, y.target);
    EXPECT_EQ(x.music.level, y.music.level);
    EXPECT_EQ(x.music.downbeat, y.music.downbeat);
    EXPECT_EQ(x.beats, y.beats);
    EXPECT_EQ(x.reuses_segment, y.reuses_segment);
    EXPECT_EQ(x.transition, y.transition);
  }
  std::string text = plan_to_json(r, song, clips);
  EXPECT_NE(text.find("\"decision\""), std::string::npos);
  EXPECT_NE(text.find("\"jump_cut\""), std::string::npos);
  /* The Plan-only writer has no decisions, and reads back without them. */
  ASSERT_TRUE(parse_plan_json(plan_to_json(r.plan, song, clips), read, &error));
  EXPECT_FALSE(read.segments[0].has_decision);
  EXPECT_EQ(read.style, "");
}

namespace
{

/* The new-user trial's case, in miniature: three short clips whose footage
 * is soon used up and one long single-shot clip whose best moment lies near
 * its end (vtest.avi: one 79.5 s shot). 150 BPM, 2 beats per cut. */
std::vector<ClipAnalysis> one_long_shot_left()
{
  std::vector<ClipAnalysis> clips{make_clip("a.mp4", {3.0, 2.5}), make_clip("b.mp4", {2.6, 2.4}),
                                  make_clip("long.mp4", {79.5}), make_clip("c.mp4", {2.0, 3.1})};
  Shot &shot = clips[2].shots[0];
  shot.has_features = true;
  shot.features.best_inpoint = secs(78.5);
  return clips;
}

/* Pieces of the same shot in segments i-1 and i: does i step back into the
 * shot, or continue it exactly (an invisible cut that should be one
 * segment)? */
bool steps_back(const Segment &prev, const Segment &s)
{
  return prev.clip == s.clip && prev.shot == s.shot && s.inpoint < prev.inpoint + prev.duration;
}

bool continues(const Segment &prev, const Segment &s, const ClipAnalysis &clip)
{
  GstClockTime out = prev.inpoint + prev.duration;
  return prev.clip == s.clip && prev.shot == s.shot && s.inpoint >= out &&
         s.inpoint - out < source_frame(clip);
}

} // namespace

TEST(PlannerRepeats, AnotherClipsFootageBeforeTheSameClipTwiceInARow)
{
  SongAnalysis song = make_song(150, 0.0, 76.8);
  auto clips = one_long_shot_left();
  for (guint64 seed = 0; seed < 3; seed++) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    PlanSettings settings;
    settings.seed = seed;
    settings.duration = secs(70.0);
    PlanResult r = plan_montage_explained(song, clips, settings);
    check_plan(r.plan, song, clips);
    const auto &segs = r.plan.segments;
    std::vector<GstClockTime> long_inpoints;
    for (std::size_t i = 0; i < segs.size(); i++) {
      if (i > 0) {
        EXPECT_NE(segs[i].clip, segs[i - 1].clip) << "segment " << i << ": the same clip again";
      }
      if (segs[i].clip == 2)
        long_inpoints.push_back(segs[i].inpoint);
    }
    /* The long shot opens at its best moment and runs on to the shot's end,
     * then goes back once, to the start, and runs forwards from there: not
     * back piece by piece. */
    ASSERT_GT(long_inpoints.size(), 10u);
    EXPECT_EQ(long_inpoints[0], secs(78.5));
    std::size_t back = 0;
    for (std::size_t i = 1; i < long_inpoints.size(); i++)
      back += long_inpoints[i] < long_inpoints[i - 1];
    EXPECT_LE(back, 1u) << "long.mp4 steps back " << back << " times";
    /* the short clips' footage is shown again, and the note says why */
    EXPECT_GT(r.reused, 0u);
    EXPECT_TRUE(any_note_contains(r.plan, "rather than show the clip just shown again"));
  }
}

/* The same with a style that does not weigh jump cuts (a .style file may
 * set [weights] jump-cut = 0): the engine's best in the "another clip"
 * tiers could be a shot of the clip just shown, and the planner then fell
 * through to showing that clip again though other clips were usable. */
TEST(PlannerRepeats, NoClipTwiceInARowAlsoWithoutAJumpCutWeight)
{
  SongAnalysis song = make_song(150, 0.0, 76.8);
  auto clips = one_long_shot_left();
  for (guint64 seed = 0; seed < 3; seed++) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    PlanSettings settings;
    settings.seed = seed;
    settings.duration = secs(70.0);
    settings.style.weights.jump_cut = 0.0;
    PlanResult r = plan_montage_explained(song, clips, settings);
    check_plan(r.plan, song, clips);
    const auto &segs = r.plan.segments;
    std::size_t again = 0;
    for (std::size_t i = 1; i < segs.size(); i++)
      again += segs[i].clip == segs[i - 1].clip;
    EXPECT_EQ(again, 0u) << "segments that show the clip before them again";
  }
}

TEST(PlannerRepeats, RepeatedReuseMovesThroughTheShot)
{
  /* 2 x 3 s of footage for 30 s of short segments: each shot is shown again
   * and again; each reuse moves on from the stretch the one before showed
   * (least seen footage first). */
  SongAnalysis song = make_song(120, 0.0, 30.0);
  std::vector<ClipAnalysis> clips{make_clip("a.mp4", {3.0}), make_clip("b.mp4", {3.0})};
  Plan plan = plan_montage(song, clips, PlanSettings{});
  check_plan(plan, song, clips);
  for (std::size_t c = 0; c < clips.size(); c++) {
    std::vector<GstClockTime> reused;
    for (const Segment &s : plan.segments)
      if (s.clip == c && s.reused)
        reused.push_back(s.inpoint);
    ASSERT_GE(reused.size(), 3u);
    for (std::size_t i = 1; i < reused.size(); i++)
      EXPECT_NE(reused[i], reused[i - 1])
          << "clip " << c << ": reuse " << i << " shows the same stretch as the one before";
  }
}

TEST(PlannerRepeats, OnlyOneClipRunsForwardsAndIsSaidSo)
{
  /* One clip: several shots take turns; a single shot plays forwards, its
   * pieces spread over its footage (jump cuts on the beat), not one take. */
  SongAnalysis song = make_song(120, 0.0, 30.0);
  const std::vector<std::vector<ClipAnalysis>> sets{
      {make_clip("single-shot.mp4", {80.0})},
      {make_clip("three-shots.mp4", {20.0, 25.0, 30.0})},
  };
  for (const auto &clips : sets) {
    SCOPED_TRACE(clips[0].path);
    PlanResult r = plan_montage_explained(song, clips, PlanSettings{});
    check_plan(r.plan, song, clips);
    const auto &segs = r.plan.segments;
    for (std::size_t i = 1; i < segs.size(); i++) {
      EXPECT_FALSE(steps_back(segs[i - 1], segs[i])) << "segment " << i << " steps back";
      EXPECT_FALSE(continues(segs[i - 1], segs[i], clips[0]))
          << "segment " << i << " continues the one before it: one shot cut for nothing";
    }
    EXPECT_EQ(r.reused, 0u);
    EXPECT_TRUE(any_note_contains(r.plan, "Only one clip"));
    if (clips[0].shots.size() == 1) {
      /* Not one take played through: the pieces skip forward through the
       * shot's spare footage, a jump cut on each beat. */
      EXPECT_GT(segs.size(), 10u) << "jump cuts on the beat through the one shot";
      EXPECT_GT(segs.back().inpoint, secs(40.0)) << "the pieces spread over the shot";
    } else {
      EXPECT_GT(segs.size(), 10u) << "the shots take turns on the beat";
    }
  }
}

TEST(PlannerRepeats, NoSliverAfterASegmentCutEarly)
{
  /* 1.5 s segments (3 beats at 120 BPM), 0.6 s minimum gap. The short
   * clips' shots hold 2 beats but not 3, so their fresh footage is cut
   * early, after 2 beats; the other half-second must join the next segment
   * rather than make a segment under the minimum gap on its own. (Shots
   * that held 1 beat of 2 made the case before a cut early had to keep the
   * minimum gap, PlannerMinGap below.) */
  SongAnalysis song = make_song(120, 0.0, 30.0);
  std::vector<ClipAnalysis> clips{make_clip("long.mp4", {80.0}),
                                  make_clip("a.mp4", {1.2, 1.2, 1.2}),
                                  make_clip("b.mp4", {1.2, 1.2, 1.2})};
  PlanSettings settings = two_beats();
  settings.style.pacing.beats_per_cut_medium = 3;
  settings.style.pacing.beats_per_cut_high = 3;
  settings.style.pacing.min_gap = secs(0.6);
  PlanResult r = plan_montage_explained(song, clips, settings);
  check_plan(r.plan, song, clips);
  const auto &segs = r.plan.segments;
  std::size_t shortened = 0;
  for (std::size_t i = 0; i + 1 < segs.size(); i++) {
    shortened += r.decisions[i].shortened;
    if (!r.decisions[i].shortened) {
      EXPECT_GE(segs[i].duration, settings.style.pacing.min_gap) << "segment " << i;
    }
  }
  EXPECT_GT(shortened, 0u) << "the case needs segments cut early";
}

/* A shot with no footage to spare continues exactly where it stopped, and
 * the pieces were joined into one segment however long it grew: under 30 s
 * of music, one clip of one 30.5 s shot opened with a 23.5 s segment, and a
 * 20 s take with a 2 s insert held the take for 18.5 s, three times the
 * style's max-hold. Joined segments now keep to max-hold as every other
 * segment does: another shot where there is one (footage seen before rather
 * than hold past it), else a cut on the beat into the same shot. */
TEST(PlannerRepeats, JoinedSegmentsKeepToTheMaximumHold)
{
  SongAnalysis song = make_song(120, 0.0, 30.0);
  const std::vector<std::vector<ClipAnalysis>> sets{
      {make_clip("one-take.mp4", {30.5})},
      {make_clip("take-and-insert.mp4", {20.0, 2.0})},
  };
  for (const auto &clips : sets) {
    SCOPED_TRACE(clips[0].path);
    PlanSettings settings;
    PlanResult r = plan_montage_explained(song, clips, settings);
    check_plan(r.plan, song, clips);
    const auto &segs = r.plan.segments;
    ASSERT_GE(segs.size(), 5u) << "30 s in segments of at most 6 s";
    for (std::size_t i = 0; i < segs.size(); i++) {
      EXPECT_LE(segs[i].duration, settings.style.pacing.max_hold) << "segment " << i;
      if (i > 0) {
        EXPECT_NE(segs[i].beat, SIZE_MAX) << "segment " << i << ": cut on a beat";
        EXPECT_FALSE(steps_back(segs[i - 1], segs[i])) << "segment " << i << " steps back";
      }
    }
    if (clips[0].shots.size() > 1) {
      /* the insert is shown again rather than the take held past max-hold */
      std::size_t insert = 0;
      for (const Segment &s : segs)
        insert += s.shot == 1;
      EXPECT_GE(insert, 4u);
      EXPECT_GT(r.reused, 0u);
    } else {
      EXPECT_TRUE(any_note_contains(r.plan, "max-hold"));
    }
  }
}

namespace
{

/* A JsonParser that unrefs itself. */
struct GObjectPtrParser : std::unique_ptr<JsonParser, void (*)(gpointer)> {
  GObjectPtrParser()
      : std::unique_ptr<JsonParser, void (*)(gpointer)>(json_parser_new(), g_object_unref)
  {
  }
};

std::string to_text(JsonNode *root)
{
  gchar *text = json_to_string(root, TRUE);
  std::string out = text;
  g_free(text);
  return out;
}

const PlanNote *find_note(const Plan &plan, const std::string &kind)
{
  for (const PlanNote &n : plan.notes)
    if (n.kind == kind)
      return &n;
  return nullptr;
}

/* A plan with an unused clip, reuse and a fade-out: notes of both severities. */
struct NotedPlan {
  SongAnalysis song = make_song(120, 0.0, 60.0);
  std::vector<ClipAnalysis> clips{make_clip("flashes.mp4", std::vector<double>(40, 0.3)),
                                  make_clip("a.mp4", {3.0}), make_clip("b.mp4", {3.0})};
  Plan plan;

  NotedPlan()
  {
    PlanSettings settings;
    settings.duration = secs(21.3);
    plan = plan_montage(song, clips, settings);
  }
};

} // namespace

/* Notes were bare sentences: a caller could tell "clip unused" from "footage
 * shown twice" only by matching the text. Each now carries a severity and a
 * kind (planner.h note_kind), and still reads as its sentence. */
TEST(PlannerNotes, EachNoteHasASeverityAndAKind)
{
  NotedPlan p;
  check_plan(p.plan, p.song, p.clips);
  const std::vector<std::string> kinds{
      note_kind::kClipUnused,    note_kind::kClipPastStatedLength, note_kind::kDurationPastSong,
      note_kind::kAudioFadeOut,  note_kind::kMeterGuess,           note_kind::kShortened,
      note_kind::kOffBeat,       note_kind::kFootageReused,        note_kind::kSingleClip,
      note_kind::kSameClipTwice, note_kind::kCutsJoined,           note_kind::kMaxHoldCuts,
      note_kind::kShotBackwards, note_kind::kBeatlessStretch,      note_kind::kSilentTail,
      note_kind::kSilentEdit};
  for (const PlanNote &n : p.plan.notes) {
    SCOPED_TRACE(n.text);
    EXPECT_NE(std::find(kinds.begin(), kinds.end(), n.kind), kinds.end()) << n.kind;
    EXPECT_FALSE(n.text.empty());
  }

  const PlanNote *unused = find_note(p.plan, note_kind::kClipUnused);
  ASSERT_NE(unused, nullptr);
  EXPECT_EQ(unused->severity, NoteSeverity::kWarning);
  EXPECT_NE(unused->text.find("'/videos/flashes.mp4' is not used"), std::string::npos);
  const PlanNote *reused = find_note(p.plan, note_kind::kFootageReused);
  ASSERT_NE(reused, nullptr);
  EXPECT_EQ(reused->severity, NoteSeverity::kWarning);
  EXPECT_NE(reused->text.find("footage seen earlier"), std::string::npos);
  const PlanNote *fade = find_note(p.plan, note_kind::kAudioFadeOut);
  ASSERT_NE(fade, nullptr);
  EXPECT_EQ(fade->severity, NoteSeverity::kInfo);
  EXPECT_NE(fade->text.find("fades out"), std::string::npos);

  /* Code that took a note as a string (the tool) reads the sentence. */
  const std::string &sentence = p.plan.notes.front();
  EXPECT_EQ(&sentence, &p.plan.notes.front().text);
}

TEST_F(PlanJsonTest, NoteSeverityAndKindWithoutANewVersion)
{
  NotedPlan p;
  ASSERT_GE(p.plan.notes.size(), 3u);
  const std::string text = plan_to_json(p.plan, p.song, p.clips);

  /* What a version-2 reader before note_details reads is unchanged: the
   * version, and "notes" as an array of the sentences. */
  GObjectPtrParser parser;
  ASSERT_TRUE(json_parser_load_from_data(parser.get(), text.c_str(), -1, nullptr));
  JsonObject *root = json_node_get_object(json_parser_get_root(parser.get()));
  EXPECT_EQ(json_object_get_int_member(root, "version"), 2);
  JsonArray *notes = json_object_get_array_member(root, "notes");
  ASSERT_EQ(json_array_get_length(notes), p.plan.notes.size());
  for (guint i = 0; i < json_array_get_length(notes); i++)
    EXPECT_EQ(json_array_get_string_element(notes, i), p.plan.notes[i].text);
  JsonArray *details = json_object_get_array_member(root, "note_details");
  ASSERT_NE(details, nullptr);
  ASSERT_EQ(json_array_get_length(details), p.plan.notes.size());
  JsonObject *first = json_array_get_object_element(details, 0);
  EXPECT_STREQ(json_object_get_string_member(first, "kind"), p.plan.notes[0].kind.c_str());

  /* Read back: severity, kind and sentence. */
  PlanJson read;
  GError *error = nullptr;
  ASSERT_TRUE(parse_plan_json(text, read, &error)) << error->message;
  EXPECT_EQ(read.notes, p.plan.notes);
  EXPECT_EQ(read.to_plan().notes, p.plan.notes);

  /* A file written before note_details: the sentences, kind unknown. */
  json_object_remove_member(root, "note_details");
  const std::string old_text = to_text(json_parser_get_root(parser.get()));
  ASSERT_TRUE(parse_plan_json(old_text, read, &error)) << error->message;
  ASSERT_EQ(read.notes.size(), p.plan.notes.size());
  for (std::size_t i = 0; i < read.notes.size(); i++) {
    EXPECT_EQ(read.notes[i].text, p.plan.notes[i].text);
    EXPECT_EQ(read.notes[i].kind, "");
    EXPECT_EQ(read.notes[i].severity, NoteSeverity::kInfo);
  }

  /* Details that do not match the notes are refused, naming the field. */
  JsonArray *fewer = json_array_new();
  json_object_set_array_member(root, "note_details", fewer);
  EXPECT_FALSE(parse_plan_json(to_text(json_parser_get_root(parser.get())), read, &error));
  ASSERT_NE(error, nullptr);
  EXPECT_TRUE(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA));
  EXPECT_NE(std::string(error->message).find("note_details"), std::string::npos) << error->message;
  g_clear_error(&error);
  std::string bad = text;
  const std::string warning = "\"severity\" : \"warning\"";
  ASSERT_NE(bad.find(warning), std::string::npos) << text;
  bad.replace(bad.find(warning), warning.size(), "\"severity\" : \"fatal\"");
  EXPECT_FALSE(parse_plan_json(bad, read, &error));
  ASSERT_NE(error, nullptr);
  EXPECT_NE(std::string(error->message).find("severity"), std::string::npos) << error->message;
  g_clear_error(&error);
}

/* The plan written again after the render carries what the render changed
 * (RenderResult::notes) as "render_notes": the file said a dissolve where
 * the montage has a cut, and nothing told them apart. Written only where
 * there is one; read back; a malformed one is refused naming the field. */
TEST_F(PlanJsonTest, RenderNotesAreWrittenAndReadBack)
{
  NotedPlan p;
  PlanResult r;
  r.plan = p.plan;
  const std::vector<std::string> notes = {
      "the dissolve at 4.000 s is a cut: its shots have no footage to spare around it",
      std::string("a hole in \xff") + "song.ogg"};
  GError *error = nullptr;
  ASSERT_TRUE(write_plan_json(r, p.song, p.clips, notes, path_, &error)) << error->message;
  PlanJson read;
  ASSERT_TRUE(read_plan_json(path_, read, &error)) << error->message;
  EXPECT_EQ(read.version, 2);
  ASSERT_EQ(read.render_notes.size(), 2u);
  EXPECT_EQ(read.render_notes[0], notes[0]);
  EXPECT_EQ(read.render_notes[1], "a hole in \xef\xbf\xbdsong.ogg"); /* U+FFFD */
  EXPECT_TRUE(same_plan(read.to_plan(), p.plan));

  /* None: the same file as without them, and none read back. */
  ASSERT_TRUE(write_plan_json(r, p.song, p.clips, {}, path_, &error)) << error->message;
  gchar *with_empty = nullptr;
  ASSERT_TRUE(g_file_get_contents(path_.c_str(), &with_empty, nullptr, nullptr));
  EXPECT_EQ(std::string(with_empty), plan_to_json(r, p.song, p.clips));
  EXPECT_EQ(std::string(with_empty).find("render_notes"), std::string::npos);
  g_free(with_empty);
  ASSERT_TRUE(read_plan_json(path_, read, &error)) << error->message;
  EXPECT_TRUE(read.render_notes.empty());

  std::string bad = plan_to_json(r, p.song, p.clips);
  bad.insert(bad.find("\"notes\""), "\"render_notes\" : [ 1 ],\n  ");
  EXPECT_FALSE(parse_plan_json(bad, read, &error));
  ASSERT_NE(error, nullptr);
  EXPECT_TRUE(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA));
  EXPECT_NE(std::string(error->message).find("render note 0"), std::string::npos) << error->message;
  g_clear_error(&error);
}

/* Where the style's beats per cut last less than its min-gap, the cut comes
 * after the fewest beats (at least as many as asked) that last min-gap: a
 * 169 BPM song (one beat 0.355 s), all loud, in a style that asks for 1 beat
 * per cut with a 0.4 s min-gap, is cut every 2 beats, not held for 4 to 26
 * beats (which the sum of |log2(beats / wanted)| over the segments made
 * cheaper than many 2-beat segments). */
TEST(PlannerPacing, BeatsPerCutUnderMinGapTakeTheNextBeatsThatFit)
{
  SongAnalysis song = make_song(169, 0.0, 60.0);
  auto clips = many_clips(6, 30, 3.0);
  PlanSettings settings; /* balanced: 1 beat at peaks, min-gap 0.4 s */
  ASSERT_EQ(settings.style.pacing.beats_per_cut_high, 1u);
  ASSERT_EQ(settings.style.pacing.min_gap, secs(0.4));
  PlanResult r = plan_montage_explained(song, clips, settings);
  check_plan(r.plan, song, clips);
  EXPECT_GT(r.plan.segments.size(), 60u);
  for (std::size_t i = 0; i + 1 < r.plan.segments.size(); i++) {
    EXPECT_EQ(r.decisions[i].music.level, Section::Level::kHigh) << i;
    EXPECT_EQ(r.decisions[i].wanted_beats, 1u) << i;
    EXPECT_EQ(r.decisions[i].beats, 2u) << "segment " << i;
  }

  /* calm's peaks at 130 BPM: 2 beats (0.92 s) under its 1.0 s min-gap, so 3 beats. */
  song = make_song(130, 0.0, 60.0);
  settings.style.pacing.beats_per_cut_high = 2;
  settings.style.pacing.min_gap = secs(1.0);
  settings.style.pacing.max_hold = secs(12.0);
  r = plan_montage_explained(song, clips, settings);
  check_plan(r.plan, song, clips);
  for (std::size_t i = 0; i + 1 < r.plan.segments.size(); i++)
    EXPECT_EQ(r.decisions[i].beats, 3u) << "segment " << i;

  /* Where the asked beats already last min-gap, they are kept (2 beats of 0.92 s). */
  settings.style.pacing.min_gap = secs(0.5);
  r = plan_montage_explained(song, clips, settings);
  check_plan(r.plan, song, clips);
  for (std::size_t i = 0; i + 1 < r.plan.segments.size(); i++)
    EXPECT_EQ(r.decisions[i].beats, 2u) << "segment " << i;
}

namespace
{

/* Beats every 60/bpm s from 0 to `length` s, none strictly between `from`
 * and `to` s: a break without rhythm, where montagebeat finds no beats. */
SongAnalysis song_with_gap(double bpm, double length, double from, double to)
{
  SongAnalysis song = make_song(bpm, 0.0, length);
  std::vector<GstClockTime> kept;
  for (GstClockTime b : song.beats)
    if (b <= secs(from) || b >= secs(to))
      kept.push_back(b);
  song.beats = kept;
  return song;
}

/* The stretch [from, to) without beats (output times on the frame grid):
 * cut where it starts, into the fewest even segments of at most max_hold,
 * off the beat, and cut on the beat again at `to` (unless the edit ends
 * there). Returns the number of its segments. */
std::size_t check_stretch(const PlanResult &r, const SongAnalysis &song, GstClockTime from,
                          GstClockTime to, GstClockTime max_hold)
{
  const Plan &plan = r.plan;
  const GstClockTime frame = frame_time(1, plan.fps_n, plan.fps_d);
  std::vector<std::size_t> in;
  bool cut_at_to = to == plan.duration;
  for (std::size_t i = 0; i < plan.segments.size(); i++) {
    const Segment &s = plan.segments[i];
    if (s.start >= from && s.start < to)
      in.push_back(i);
    if (s.start == to) {
      cut_at_to = true;
      EXPECT_LT(s.beat, song.beats.size()) << "the first beat after the stretch is cut on";
    }
  }
  EXPECT_TRUE(cut_at_to) << "a cut on the first beat after the stretch";
  if (in.empty()) {
    ADD_FAILURE() << "no segment starts in the stretch";
    return 0;
  }
  const std::size_t n = in.size();
  EXPECT_EQ(plan.segments[in[0]].start, from) << "a cut where the stretch starts";
  const Segment &last = plan.segments[in.back()];
  EXPECT_EQ(last.start + last.duration, to) << "no segment runs past the stretch's end";
  if (n > 1) {
    EXPECT_GT((to - from) / (n - 1), max_hold) << "the fewest segments of at most max_hold";
  }
  for (std::size_t i : in) {
    const Segment &s = plan.segments[i];
    SCOPED_TRACE("segment " + std::to_string(i));
    EXPECT_LE(s.duration, max_hold);
    const GstClockTime even = (to - from) / n;
    EXPECT_LE(s.duration > even ? s.duration - even : even - s.duration, frame) << "even";
    if (i != in[0]) {
      EXPECT_EQ(s.beat, SIZE_MAX) << "off the beat";
      EXPECT_EQ(s.beat_time, s.start);
    }
    /* beats spanned: none, but the one the stretch's last segment ends on */
    EXPECT_EQ(r.decisions[i].beats, i == in.back() && to != plan.duration ? 1u : 0u);
  }
  return n;
}

} // namespace

/* A song whose first 15 s are an intro without rhythm (montagebeat finds no
 * beats there, by design) became one 15 s segment: max_hold was waived
 * where no beat lay inside a segment. The intro is now cut into even
 * segments of at most max_hold, off the beat, and the cuts follow the beats
 * from the first one on. */
TEST(PlannerStretches, IntroWithoutBeatsIsCutAtMaxHold)
{
  SongAnalysis song = make_song(120, 15.0, 60.0);
  auto clips = many_clips(4, 6, 20.0);
  const std::pair<gint, gint> rates[] = {{30, 1}, {30000, 1001}, {25, 1}};
  for (GstClockTime max_hold : {secs(6.0), secs(3.0)}) {
    for (auto [n, d] : rates) {
      SCOPED_TRACE(std::to_string(n) + "/" + std::to_string(d) + ", max-hold " +
                   std::to_string(max_hold / GST_MSECOND) + " ms");
      PlanSettings settings;
      settings.fps_n = n;
      settings.fps_d = d;
      settings.style.pacing.max_hold = max_hold;
      PlanResult r = plan_montage_explained(song, clips, settings);
      check_plan(r.plan, song, clips, max_hold);
      const GstClockTime first = frame_time(frame_at(song.beats[0], n, d), n, d);
      const std::size_t intro = check_stretch(r, song, 0, first, max_hold);
      EXPECT_GE(intro, 3u);
      EXPECT_EQ(r.plan.segments[intro].beat, 0u) << "the first beat is cut on";
      EXPECT_EQ(r.decisions[intro - 1].beats, 1u) << "the last intro segment ends on beat 0";
      for (std::size_t i = intro; i < r.plan.segments.size(); i++) {
        EXPECT_NE(r.plan.segments[i].beat, SIZE_MAX) << "segment " << i << ": on the beat";
        EXPECT_LE(r.plan.segments[i].duration, max_hold) << "segment " << i;
      }
      EXPECT_EQ(r.reused, 0u);
      EXPECT_FALSE(has_note_kind(r.plan, note_kind::kOffBeat))
          << "every shot holds the pieces: no cut is off the beat for lack of footage";
    }
  }
  PlanResult r = plan_montage_explained(song, clips, PlanSettings{});
  const PlanNote *note = nullptr;
  for (const PlanNote &n : r.plan.notes)
    if (n.kind == note_kind::kBeatlessStretch)
      note = &n;
  ASSERT_NE(note, nullptr);
  EXPECT_EQ(note->severity, NoteSeverity::kInfo);
  EXPECT_NE(note->text.find("max-hold (6.00 s) at 0.00-15.00 s (3 of 5.00 s)"), std::string::npos)
      << note->text;
}

/* A 20 s break without beats mid-song was one segment; now four of 5 s,
 * from its last beat to its next, which are both cut on. A break shorter
 * than max_hold stays one segment, on the beat, with no note. */
TEST(PlannerStretches, BreakWithoutBeatsMidSongIsCutAtMaxHold)
{
  SongAnalysis song = song_with_gap(120, 60.0, 20.0, 40.0);
  auto clips = many_clips(4, 6, 20.0);
  PlanResult r = plan_montage_explained(song, clips, PlanSettings{});
  check_plan(r.plan, song, clips);
  EXPECT_EQ(check_stretch(r, song, secs(20.0), secs(40.0), secs(6.0)), 4u);
  std::size_t off_beat = 0;
  for (std::size_t i = 1; i < r.plan.segments.size(); i++) {
    off_beat += r.plan.segments[i].beat == SIZE_MAX;
    EXPECT_LE(r.plan.segments[i].duration, secs(6.0)) << "segment " << i;
  }
  EXPECT_EQ(off_beat, 3u) << "off the beat only inside the break";
  EXPECT_TRUE(has_note_kind(r.plan, note_kind::kBeatlessStretch));
  EXPECT_NE(r.plan.notes.back().text.find("20.00-40.00 s (4 of 5.00 s)"), std::string::npos);

  SongAnalysis short_break = song_with_gap(120, 60.0, 20.0, 25.5);
  Plan plan = plan_montage(short_break, clips, PlanSettings{});
  check_plan(plan, short_break, clips);
  for (std::size_t i = 1; i < plan.segments.size(); i++)
    EXPECT_NE(plan.segments[i].beat, SIZE_MAX) << "segment " << i;
  EXPECT_FALSE(has_note_kind(plan, note_kind::kBeatlessStretch));
}

/* A song whose beats end 12.5 s before it does: the last beat is cut on,
 * and the time after it is cut into three even segments (it was one). */
TEST(PlannerStretches, TimeAfterTheLastBeatIsCutAtMaxHold)
{
  SongAnalysis song = make_song(120, 0.0, 48.0); /* last beat 47.5 s */
  song.duration = secs(60.0);
  auto clips = many_clips(4, 6, 20.0);
  PlanResult r = plan_montage_explained(song, clips, PlanSettings{});
  check_plan(r.plan, song, clips);
  EXPECT_EQ(r.plan.duration, secs(60.0));
  EXPECT_EQ(check_stretch(r, song, secs(47.5), secs(60.0), secs(6.0)), 3u);
  const Segment &at_last_beat = r.plan.segments[r.plan.segments.size() - 3];
  EXPECT_EQ(at_last_beat.beat, song.beats.size() - 1) << "the last beat is cut on";
  EXPECT_TRUE(has_note_kind(r.plan, note_kind::kBeatlessStretch));
}
/* A song whose sound ends 11.69 s before the file does (a fade-out, then
 * digital silence): the whole-song edit ended with the file, cutting the
 * silence into even off-beat segments. It ends on the frame that holds the
 * last sound (rounded up), with no fade and a note; a requested length past
 * the sound is kept, said, and fades no silence; one that cuts the sound
 * off fades as before. */
TEST(PlannerEnd, WholeSongEditEndsWithTheSound)
{
  SongAnalysis song = make_song(120, 0.0, 48.0); /* last beat 47.5 s */
  song.duration = secs(60.0);
  song.sound_end = secs(48.31); /* frame 1449.3 at 30 fps */
  auto clips = many_clips(4, 6, 20.0);
  PlanResult r = plan_montage_explained(song, clips, PlanSettings{});
  check_plan(r.plan, song, clips);
  EXPECT_EQ(r.plan.duration, frame_time(1450, 30, 1)) << "the frame after the last sound";
  EXPECT_EQ(r.fade_out, 0u);
  EXPECT_FALSE(has_note_kind(r.plan, note_kind::kAudioFadeOut));
  EXPECT_FALSE(has_note_kind(r.plan, note_kind::kBeatlessStretch)) << "0.83 s after the last beat";
  EXPECT_EQ(r.plan.segments.back().beat, song.beats.size() - 1) << "the last beat is cut on";
  const PlanNote *said = nullptr;
  for (const PlanNote &n : r.plan.notes)
    if (n.kind == note_kind::kSilentTail)
      said = &n;
  ASSERT_NE(said, nullptr);
  EXPECT_EQ(said->severity, NoteSeverity::kInfo);
  EXPECT_EQ(said->text, "The song is silent from 48.31 s to its end (60.00 s): the edit ends with "
                        "its sound, at 48.33 s.");

  /* At 24000/1001 fps too: rounded up, on the grid. */
  PlanSettings ntsc;
  ntsc.fps_n = 24000;
  ntsc.fps_d = 1001;
  Plan film = plan_montage(song, clips, ntsc);
  EXPECT_GE(film.duration, song.sound_end);
  EXPECT_LT(film.duration, song.sound_end + frame_time(1, 24000, 1001));

  /* A silent tail within kSilentTailTolerance changes nothing. */
  song.sound_end = song.duration - kSilentTailTolerance;
  r = plan_montage_explained(song, clips, PlanSettings{});
  EXPECT_EQ(r.plan.duration, secs(60.0));
  EXPECT_FALSE(has_note_kind(r.plan, note_kind::kSilentTail));

  /* A length asked past the sound: kept, said, no fade over the silence. */
  song.sound_end = secs(48.31);
  PlanSettings settings;
  settings.duration = secs(55.0); /* no beat within end_search */
  r = plan_montage_explained(song, clips, settings);
  check_plan(r.plan, song, clips);
  EXPECT_EQ(r.plan.duration, secs(55.0));
  EXPECT_EQ(r.fade_out, 0u);
  EXPECT_FALSE(has_note_kind(r.plan, note_kind::kAudioFadeOut));
  EXPECT_TRUE(any_note_contains(r.plan, "The song is silent from 48.31 s to its end (60.00 s): "
                                        "the edit runs on past its sound to 55.00 s, as long as "
                                        "asked."));

  /* A length that cuts the sound off: the fade, no word of the silence. */
  settings.duration = secs(30.0);
  r = plan_montage_explained(song, clips, settings);
  EXPECT_EQ(r.plan.duration, secs(30.0));
  EXPECT_EQ(r.fade_out, Style{}.pacing.fade_out);
  EXPECT_TRUE(has_note_kind(r.plan, note_kind::kAudioFadeOut));
  EXPECT_FALSE(has_note_kind(r.plan, note_kind::kSilentTail));

  /* Where the sound is not known, the whole song, as before. */
  song.sound_end = GST_CLOCK_TIME_NONE;
  EXPECT_EQ(plan_montage(song, clips, PlanSettings{}).duration, secs(60.0));
}

/* A song after 15 s of digital silence (energy curve 0 there, its first
 * beat at 15 s), edited to 10 s: a trial's montage was all silence, exit 0,
 * no word, and its note said "the audio fades out over the last 2.00 s"
 * (the render faded silence). It now warns, and neither fades nor says so;
 * an edit mostly in the silence warns too, one that ends in the music
 * fades as before and warns of nothing. */
TEST(PlannerEnd, EditInASilentIntroWarnsAndDoesNotFade)
{
  SongAnalysis song = make_song(120, 15.0, 60.0);
  song.energy_interval = 100 * GST_MSECOND;
  song.energy_curve.assign(600, 0.8);
  std::fill(song.energy_curve.begin(), song.energy_curve.begin() + 150, 0.0);
  song.sound_end = secs(60.0);
  auto clips = many_clips(4, 6, 20.0);
  PlanSettings settings;
  settings.duration = secs(10.0);
  PlanResult r = plan_montage_explained(song, clips, settings);
  check_plan(r.plan, song, clips);
  EXPECT_EQ(r.plan.duration, secs(10.0));
  EXPECT_EQ(r.fade_out, 0u) << "it would fade only silence";
  EXPECT_FALSE(has_note_kind(r.plan, note_kind::kAudioFadeOut));
  const PlanNote *said = find_note(r.plan, note_kind::kSilentEdit);
  ASSERT_NE(said, nullptr);
  EXPECT_EQ(said->severity, NoteSeverity::kWarning);
  EXPECT_EQ(said->text,
            "The edit (10.00 s) is mostly silence: 10.00 s of it is under the song's silence "
            "threshold, and no beat of the song lies in it (the song's sound starts at 15.00 s): "
            "its pictures are cut off the beat, over silence. Ask for a longer duration, or trim "
            "the song's silence.");

  /* 24 s: 15 s of it silence, the beats from 15 s: warned, and the fade
   * (in the music) kept. */
  settings.duration = secs(24.0);
  r = plan_montage_explained(song, clips, settings);
  EXPECT_EQ(r.plan.duration, secs(24.0));
  EXPECT_EQ(r.fade_out, Style{}.pacing.fade_out);
  EXPECT_TRUE(has_note_kind(r.plan, note_kind::kAudioFadeOut));
  EXPECT_TRUE(any_note_contains(r.plan, "The edit (24.00 s) is mostly silence: 15.00 s of it is "
                                        "under the song's silence threshold (the song's sound "
                                        "starts at 15.00 s): most of its pictures are over "
                                        "silence."));

  /* 40 s, most of it music: no warning. */
  settings.duration = secs(40.0);
  r = plan_montage_explained(song, clips, settings);
  EXPECT_FALSE(has_note_kind(r.plan, note_kind::kSilentEdit));
  EXPECT_TRUE(has_note_kind(r.plan, note_kind::kAudioFadeOut));
}

/* Where no shot holds a whole piece of the stretch (5 s pieces, shots of at
 * most 2.7 s), the pieces were cut short off the beat, each leaving a rest
 * up to the piece's cut. The stretch is cut into the fewest even pieces the
 * longest shot holds (6 of 2.5 s), none off the beat for lack of footage;
 * the first beat after it is still cut on. */
TEST(PlannerStretches, ShortShotsCutTheStretchShorter)
{
  SongAnalysis song = make_song(120, 15.0, 40.0);
  auto clips = many_clips(3, 10, 2.5);
  PlanResult r = plan_montage_explained(song, clips, PlanSettings{});
  check_plan(r.plan, song, clips);
  const GstClockTime longest = secs(2.7) - source_frame(clips[2]);
  EXPECT_EQ(check_stretch(r, song, 0, secs(15.0), longest), 6u);
  std::size_t intro = 0;
  while (intro < r.plan.segments.size() && r.plan.segments[intro].start < secs(15.0))
    intro++;
  ASSERT_LT(intro, r.plan.segments.size());
  EXPECT_EQ(r.plan.segments[intro].start, secs(15.0));
  EXPECT_EQ(r.plan.segments[intro].beat, 0u);
  EXPECT_TRUE(has_note_kind(r.plan, note_kind::kBeatlessStretch));
  EXPECT_TRUE(any_note_contains(r.plan, "0.00-15.00 s (6 of 2.50 s)"));
  EXPECT_FALSE(has_note_kind(r.plan, note_kind::kOffBeat));
}

namespace
{

/* Checks the beatless-stretch note against the plan: for each stretch it
 * lists ("A-B s (N of X s)", or "(N of X to Y s)" when the lengths differ
 * by more than a frame), N is the count of segments that start in it and
 * X (to Y) their length, as the plan has them. Returns the stretches read. */
std::size_t check_stretch_note(const Plan &plan)
{
  const PlanNote *note = nullptr;
  for (const PlanNote &n : plan.notes)
    if (n.kind == note_kind::kBeatlessStretch)
      note = &n;
  if (note == nullptr)
    return 0;
  SCOPED_TRACE(note->text);
  std::size_t read = 0;
  const std::string &text = note->text;
  for (std::size_t at = text.find(" at ") + 4; at < text.size();) {
    double from = 0, to = 0, a = 0, b = 0;
    unsigned count = 0;
    int used = 0;
    const char *p = text.c_str() + at;
    if (std::sscanf(p, "%lf-%lf s (%u of %lf to %lf s)%n", &from, &to, &count, &a, &b, &used) < 5 ||
        used == 0) {
      used = 0;
      if (std::sscanf(p, "%lf-%lf s (%u of %lf s)%n", &from, &to, &count, &a, &used) < 4 ||
          used == 0)
        break;
      b = a;
    }
    read++;
    std::size_t n = 0;
    GstClockTime shortest = GST_CLOCK_TIME_NONE, longest = 0;
    for (const Segment &s : plan.segments) {
      /* the note's times are rounded to 10 ms; segment starts lie on frames */
      if (s.start + secs(0.005) < secs(from) || s.start + secs(0.005) >= secs(to))
        continue;
      n++;
      shortest = std::min(shortest, s.duration);
      longest = std::max(longest, s.duration);
    }
    EXPECT_EQ(n, count) << "segments in " << from << "-" << to << " s";
    if (n > 0) {
      /* rounded to 10 ms; a mean of lengths a frame apart */
      const double frame = (double)plan.fps_d / plan.fps_n;
      EXPECT_NEAR((double)shortest / GST_SECOND, a, 0.005 + frame);
      EXPECT_NEAR((double)longest / GST_SECOND, b, 0.005 + frame);
    }
    at += (std::size_t)used;
    if (text.compare(at, 2, ", ") != 0)
      break;
    at += 2;
  }
  EXPECT_GT(read, 0u) << "the note lists its stretches";
  return read;
}

} // namespace

/* A new-user trial: 10 s of silence before the music (first beat at
 * 10.23 s), and one shot that holds 5 s where the even pieces were 5.12 s.
 * The first piece was cut short off the beat at 4.93 s, and the 0.17 s up
 * to the piece's cut became a segment of its own (a 5-frame flash, under
 * min_gap); the second piece was cut short again, and the note still said
 * "2 of 5.12 s". The stretch is now cut into the fewest even pieces that
 * the longest shot holds, and the note says what the plan did. */
TEST(PlannerStretches, PiecesLongerThanEveryShotAreCutSoTheyFit)
{
  SongAnalysis song = make_song(120, 10.23, 40.0);
  std::vector<ClipAnalysis> clips{make_clip("a.mp4", {5.0, 2.0, 2.0, 2.0}),
                                  make_clip("b.mp4", {4.0, 2.0, 2.0, 2.0})};
  PlanResult r = plan_montage_explained(song, clips, PlanSettings{});
  check_plan(r.plan, song, clips);
  const GstClockTime min_gap = Style{}.pacing.min_gap;
  for (std::size_t i = 0; i < r.plan.segments.size(); i++)
    EXPECT_GE(r.plan.segments[i].duration, min_gap) << "segment " << i;
  /* the longest piece any shot holds: 5 s less one source frame */
  const GstClockTime longest = secs(5.0) - source_frame(clips[0]);
  const GstClockTime first = frame_time(frame_at(song.beats[0], 30, 1), 30, 1);
  EXPECT_EQ(check_stretch(r, song, 0, first, longest), 3u);
  EXPECT_FALSE(has_note_kind(r.plan, note_kind::kOffBeat));
  EXPECT_EQ(check_stretch_note(r.plan), 1u);
  EXPECT_TRUE(any_note_contains(r.plan, "at 0.00-10.23 s (3 of 3.41 s): these stretches are cut "
                                        "off the beat into even segments"));

  /* The same at other rates and with calm's longer max-hold. */
  for (auto [n, d] : {std::pair<gint, gint>{30000, 1001}, {25, 1}, {24, 1}}) {
    SCOPED_TRACE(std::to_string(n) + "/" + std::to_string(d));
    PlanSettings settings;
    settings.fps_n = n;
    settings.fps_d = d;
    PlanResult s = plan_montage_explained(song, clips, settings);
    check_plan(s.plan, song, clips);
    for (std::size_t i = 0; i < s.plan.segments.size(); i++)
      EXPECT_GE(s.plan.segments[i].duration, min_gap) << "segment " << i;
    EXPECT_EQ(check_stretch(s, song, 0, frame_time(frame_at(song.beats[0], n, d), n, d), longest),
              3u);
    EXPECT_EQ(check_stretch_note(s.plan), 1u);
  }
}

/* The notes of the other stretch tests list what their plans did. */
TEST(PlannerStretches, TheNoteListsTheSegmentsOfThePlan)
{
  auto clips = many_clips(4, 6, 20.0);
  for (const SongAnalysis &song : {make_song(120, 15.0, 60.0), song_with_gap(120, 60.0, 20.0, 40.0),
                                   song_with_gap(120, 60.0, 20.0, 33.0)}) {
    PlanResult r = plan_montage_explained(song, clips, PlanSettings{});
    EXPECT_EQ(check_stretch_note(r.plan), 1u);
  }
  SongAnalysis two = song_with_gap(120, 60.0, 20.0, 33.0);
  two.beats.erase(two.beats.begin(), two.beats.begin() + 14); /* first beat at 7 s */
  PlanResult r = plan_montage_explained(two, clips, PlanSettings{});
  EXPECT_EQ(check_stretch_note(r.plan), 2u);
  /* shots shorter than the pieces: more pieces, and said */
  SongAnalysis intro = make_song(120, 15.0, 40.0);
  auto short_shots = many_clips(3, 10, 2.5);
  r = plan_montage_explained(intro, short_shots, PlanSettings{});
  EXPECT_EQ(check_stretch_note(r.plan), 1u);
  /* One take with no footage to spare: the intro's second piece runs on
   * across the first beats (joined, up to max-hold), so the plan's pieces
   * are not even (3.23 and 5.77 s); the note said "2 of 3.25 s". */
  SongAnalysis late = make_song(120, 6.5, 30.0);
  std::vector<ClipAnalysis> take{make_clip("take.mp4", {30.0})};
  r = plan_montage_explained(late, take, PlanSettings{});
  check_plan(r.plan, late, take);
  EXPECT_EQ(check_stretch_note(r.plan), 1u);
  EXPECT_TRUE(any_note_contains(r.plan, "at 0.00-6.50 s (2 of 3.23 to 5.77 s)"));
  EXPECT_TRUE(any_note_contains(r.plan, "cut off the beat into segments, and"));
}

/* The time after a song's last beat (5.5 s, under max-hold) is held by no
 * shot (the longest holds 5.4 s): it was cut off the beat at 5.4 s and the
 * last 0.1 s was a segment of its own, with no later cut to run on to. The
 * time is cut into even pieces that fit instead. */
TEST(PlannerRepeats, NoSliverBeforeTheEndAfterAnOffBeatCut)
{
  SongAnalysis song = make_song(120, 0.0, 8.0); /* last beat 7.5 s */
  song.duration = secs(13.0);
  std::vector<ClipAnalysis> clips;
  for (int i = 0; i < 3; i++)
    clips.push_back(make_clip("clip" + std::to_string(i) + ".mp4", std::vector<double>(8, 5.44)));
  PlanResult r = plan_montage_explained(song, clips, PlanSettings{});
  check_plan(r.plan, song, clips);
  const GstClockTime min_gap = Style{}.pacing.min_gap;
  for (std::size_t i = 0; i < r.plan.segments.size(); i++)
    EXPECT_GE(r.plan.segments[i].duration, min_gap) << "segment " << i;
  ASSERT_GE(r.plan.segments.size(), 2u);
  const Segment &a = r.plan.segments[r.plan.segments.size() - 2], &b = r.plan.segments.back();
  EXPECT_EQ(a.start, secs(7.5)) << "the last beat is cut on";
  /* 165 frames in two even pieces */
  EXPECT_EQ(a.duration, frame_time(82, 30, 1));
  EXPECT_EQ(b.duration, secs(13.0) - frame_time(225 + 82, 30, 1));
  EXPECT_TRUE(has_note_kind(r.plan, note_kind::kOffBeat));
}

/* A new-user trial with --style calm (min-gap 1.0 s): once the long shots'
 * unused footage ran out, the only unused footage left was in short shots,
 * and the planner cut it into one-beat pieces (0.43-0.47 s) rather than show
 * a long shot again: the edit ended on a run of flashes, and no note said
 * that min-gap was broken. Tried tier by tier down to one beat, unused
 * footage won over the segment's length even below min-gap. Now min-gap is
 * a floor wherever any shot, footage seen before included, holds it: here
 * the long shots are reused (said in the reuse note), and the clip of short
 * shots, which could only give segments under min-gap, is said unused. */
TEST(PlannerMinGap, FootageSeenBeforeRatherThanSegmentsUnderMinGap)
{
  SongAnalysis song = make_song(130, 0.0, 40.0); /* 0.46 s beats */
  std::vector<ClipAnalysis> clips{make_clip("a.mp4", {6.0, 6.0}), make_clip("b.mp4", {6.0, 6.0}),
                                  /* one beat fits, two (0.92 s) do not */
                                  make_clip("short.mp4", std::vector<double>(40, 0.9))};
  Style calm;
  GError *error = nullptr;
  ASSERT_TRUE(load_style("calm", calm, &error)) << (error ? error->message : "");
  for (guint64 seed = 0; seed < 3; seed++) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    PlanSettings settings;
    settings.style = calm;
    settings.seed = seed;
    PlanResult r = plan_montage_explained(song, clips, settings);
    check_plan(r.plan, song, clips, calm.pacing.max_hold);
    const auto &segs = r.plan.segments;
    for (std::size_t i = 0; i < segs.size(); i++)
      EXPECT_GE(segs[i].duration, calm.pacing.min_gap)
          << "segment " << i << " at " << segs[i].start << " ns";
    EXPECT_GT(r.reused, 0u) << "24 s of footage under 40 s of music";
    EXPECT_TRUE(has_note_kind(r.plan, note_kind::kFootageReused));
    EXPECT_FALSE(has_note_kind(r.plan, note_kind::kUnderMinGap));
    EXPECT_TRUE(any_note_contains(r.plan, "'/videos/short.mp4' is not used"));
  }
}

/* Where no shot can hold min-gap at all, segments under it remain (one beat
 * each here), and a warning note says so plainly, naming them. */
TEST(PlannerMinGap, SegmentsUnderMinGapAreNamedInANote)
{
  SongAnalysis song = make_song(130, 0.0, 12.0);
  std::vector<ClipAnalysis> clips{make_clip("a.mp4", std::vector<double>(20, 0.9)),
                                  make_clip("b.mp4", std::vector<double>(20, 0.9))};
  PlanSettings settings;
  GError *error = nullptr;
  ASSERT_TRUE(load_style("calm", settings.style, &error)) << (error ? error->message : "");
  PlanResult r = plan_montage_explained(song, clips, settings);
  check_plan(r.plan, song, clips, settings.style.pacing.max_hold);
  std::size_t under = 0;
  for (const Segment &s : r.plan.segments)
    under += s.duration < settings.style.pacing.min_gap;
  ASSERT_GT(under, 0u);
  const PlanNote *note = find_note(r.plan, note_kind::kUnderMinGap);
  ASSERT_NE(note, nullptr);
  SCOPED_TRACE(note->text);
  EXPECT_EQ(note->severity, NoteSeverity::kWarning);
  EXPECT_EQ(note->text.find(std::to_string(under) + " of " +
                            std::to_string(r.plan.segments.size()) +
                            " segments are shorter than the style's min-gap (1.00 s)"),
            0u);
  EXPECT_NE(note->text.find("no shot, even with footage seen before, could hold"),
            std::string::npos);
  /* the first short segment is named with its start and length */
  for (std::size_t i = 0; i < r.plan.segments.size(); i++) {
    const Segment &s = r.plan.segments[i];
    if (s.duration >= settings.style.pacing.min_gap)
      continue;
    char named[64];
    std::snprintf(named, sizeof named, "segments %zu (%.2f s, %.2f s long)", i,
                  (double)s.start / GST_SECOND, (double)s.duration / GST_SECOND);
    EXPECT_NE(note->text.find(named), std::string::npos) << named;
    break;
  }
}

/* Reuse is spread over the shots: where the clips alternate and one clip has
 * only footage seen before left, the segments of that clip (every other
 * one) take turns among its shots, and none shows a shot again within
 * kReuseRecencyWindow segments of its last showing while another of its
 * shots can hold the segment. The shots' features make one shot the
 * nearest to the target every time, as in the new-user trial where one
 * cityCC0.mpg shot came back every other cut. */
TEST(PlannerRepeats, ReuseDoesNotCutBackToAShotJustShown)
{
  SongAnalysis song = make_song(120, 0.0, 60.0);
  ClipAnalysis take = make_clip("take.mp4", {90.0});
  ClipAnalysis inserts = feature_clip("inserts.mp4", 5, 2.0, 5.0, 120.0);
  for (std::size_t i = 0; i < inserts.shots.size(); i++)
    inserts.shots[i].features.motion_mean = 5.0 + 20.0 * (double)i;
  std::vector<ClipAnalysis> clips{take, inserts};
  for (guint64 seed = 0; seed < 3; seed++) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    PlanSettings settings;
    settings.seed = seed;
    PlanResult r = plan_montage_explained(song, clips, settings);
    check_plan(r.plan, song, clips);
    const auto &segs = r.plan.segments;
    std::size_t reused = 0;
    for (std::size_t i = 0; i < segs.size(); i++) {
      if (!segs[i].reused)
        continue;
      reused++;
      for (std::size_t j = i > kReuseRecencyWindow ? i - kReuseRecencyWindow : 0; j < i; j++)
        EXPECT_FALSE(segs[j].clip == segs[i].clip && segs[j].shot == segs[i].shot)
            << "segment " << i << " reuses clip " << segs[i].clip << " shot " << segs[i].shot
            << ", shown in segment " << j;
    }
    EXPECT_GT(reused, 10u) << "10 s of inserts between 60 s of one take";
  }
}

namespace
{

/* A clip at `fps` frames per second, `length` s long, cut at `cuts` (s). */
ClipAnalysis clip_with_cuts(const std::string &name, gint fps, double length,
                            const std::vector<double> &cuts)
{
  ClipAnalysis clip;
  clip.path = "/videos/" + name;
  clip.uri = "file:///videos/" + name;
  clip.fps_n = fps;
  clip.fps_d = 1;
  clip.duration = secs(length);
  for (double c : cuts)
    clip.cuts.push_back(secs(c));
  shots_from_cuts(clip);
  return clip;
}

/* The longest piece shot `k` of `clip` holds (its usable footage, seen
 * before or not), as the planner measures it: from its start to one source
 * frame before its end. */
GstClockTime shot_room(const ClipAnalysis &clip, std::size_t k)
{
  const Shot &s = clip.shots[k];
  return s.end - s.start > source_frame(clip) ? s.end - s.start - source_frame(clip) : 0;
}

/* No segment shows the clip of the segment before it while another clip
 * has a shot that holds it; no segment is shorter than min_gap while some
 * shot holds min_gap. */
void expect_no_needless_repeat_or_flash(const Plan &plan, const std::vector<ClipAnalysis> &clips,
                                        GstClockTime min_gap)
{
  GstClockTime longest = 0;
  for (const ClipAnalysis &c : clips)
    for (std::size_t k = 0; k < c.shots.size(); k++)
      longest = std::max(longest, shot_room(c, k));
  const auto &segs = plan.segments;
  for (std::size_t i = 0; i < segs.size(); i++) {
    SCOPED_TRACE("segment " + std::to_string(i) + " at " + std::to_string(segs[i].start) + " ns");
    if (i + 1 < segs.size() && longest >= min_gap) {
      EXPECT_GE(segs[i].duration, min_gap) << "a flash, though a shot holds min-gap";
    }
    if (i == 0 || segs[i].clip != segs[i - 1].clip)
      continue;
    for (std::size_t c = 0; c < clips.size(); c++) {
      if (c == segs[i].clip)
        continue;
      for (std::size_t k = 0; k < clips[c].shots.size(); k++)
        EXPECT_LT(shot_room(clips[c], k), segs[i].duration)
            << "the same clip again, though clip " << c << " shot " << k << " holds the segment";
    }
  }
}

} // namespace

/* Review h119: where no shot holds the time to the next planned cut, the
 * cut off the beat was sized by the longest stretch of unused footage: a
 * 0.2 s shot's unused footage set the length and won over footage seen
 * before, so the edit showed 4-5 frame flashes of one clip, four times in a
 * row, while the other clip (seen before) and that clip's long shot held
 * seconds; the notes then said no other clip could hold them. The cut now
 * follows the order of the tiers (another clip first, footage seen before
 * included) at the longest length each holds, min-gap first. */
TEST(PlannerRepeats, OffBeatCutsTakeAnotherClipBeforeFlashesOfUnusedFootage)
{
  /* beats every 0.5 s, but none from 21.5 s to 27 s */
  SongAnalysis song;
  song.uri = "file:///music/song.ogg";
  song.duration = secs(30.0);
  song.bpm = 120;
  for (int i = 0; i < 60; i++)
    if (i <= 43 || i >= 54)
      song.beats.push_back(secs(i * 0.5));
  std::vector<ClipAnalysis> clips{clip_with_cuts("a.mp4", 25, 5.246, {0.236, 0.441}),
                                  clip_with_cuts("b.mp4", 30, 4.824, {1.599})};
  for (guint64 seed = 0; seed < 3; seed++) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    PlanSettings settings;
    settings.seed = seed;
    PlanResult r = plan_montage_explained(song, clips, settings);
    check_plan(r.plan, song, clips, settings.style.pacing.max_hold, true);
    expect_no_needless_repeat_or_flash(r.plan, clips, settings.style.pacing.min_gap);
    EXPECT_FALSE(has_note_kind(r.plan, note_kind::kUnderMinGap));
  }

  /* One beat, mid-song: a.mp4 of ten short shots (unused footage), b.mp4 of
   * one 3.6 s shot. After b.mp4 the planner took a.mp4 three times in a
   * row, unused footage of 0.9-1.25 s, though b.mp4's shot held each. */
  SongAnalysis one;
  one.uri = "file:///music/one.ogg";
  one.duration = secs(9.619);
  one.beats = {secs(4.809)};
  one.bpm = 104;
  std::vector<ClipAnalysis> two{
      clip_with_cuts("a.mp4", 50, 5.964,
                     {0.383, 0.393, 0.889, 2.211, 2.462, 2.639, 3.232, 3.929, 4.997}),
      make_clip("b.mp4", {3.618}, 24000, 1001)};
  for (guint64 seed = 0; seed < 3; seed++) {
    SCOPED_TRACE("one beat, seed " + std::to_string(seed));
    PlanSettings settings;
    settings.seed = seed;
    settings.fps_n = 24;
    PlanResult r = plan_montage_explained(one, two, settings);
    check_plan(r.plan, one, two, settings.style.pacing.max_hold, true);
    expect_no_needless_repeat_or_flash(r.plan, two, settings.style.pacing.min_gap);
  }
}

/* Trial h114: in a waltz whose bars montagebeat knows (3 beats per bar,
 * meter confidence 1.0), balanced cut every 4 beats (calm music) and
 * energetic every 2: the style's counts are written for 4/4, and the
 * downbeat bonus is less than what 3-beat segments pay for being off 4, so
 * only 10 of 26 cuts fell on a downbeat. The counts are now read in the
 * song's bar: 4 beats (a 4/4 bar) are a bar of 3, 2 beats become 3; 1 stays. */
TEST(PlannerPacing, BeatsPerCutFollowTheBarInThreeFour)
{
  SongAnalysis song = make_song(150, 0.0, 40.0); /* 0.4 s beats, final beat 39.6 s */
  song.downbeats.assign(song.beats.size(), false);
  for (std::size_t i = 0; i < song.beats.size(); i += 3)
    song.downbeats[i] = true;
  song.beats_per_bar = 3;
  song.meter_confidence = 1.0;
  auto clips = many_clips(4, 30, 2.5);
  struct Case {
    const char *style;
    double energy; /* every beat's: 0.2 low, 0.5 medium */
    guint style_beats, bar_beats;
  };
  for (const Case &c : {Case{"balanced", 0.2, 4, 3}, Case{"balanced", 0.5, 2, 3},
                        Case{"energetic", 0.2, 2, 3}, Case{"calm", 0.2, 8, 6}}) {
    SCOPED_TRACE(std::string(c.style) + " at energy " + std::to_string(c.energy));
    PlanSettings settings;
    GError *error = nullptr;
    ASSERT_TRUE(load_style(c.style, settings.style, &error)) << (error ? error->message : "");
    song.beat_energy.assign(song.beats.size(), c.energy);
    PlanResult r = plan_montage_explained(song, clips, settings);
    check_plan(r.plan, song, clips, settings.style.pacing.max_hold);
    std::size_t cuts = 0, on_downbeat = 0;
    for (std::size_t i = 0; i < r.plan.segments.size(); i++) {
      const Segment &s = r.plan.segments[i];
      if (i + 1 < r.plan.segments.size()) {
        EXPECT_EQ(r.decisions[i].wanted_beats, c.bar_beats) << "segment " << i;
      }
      if (i == 0 || s.beat == SIZE_MAX)
        continue;
      cuts++;
      on_downbeat += song.downbeats[s.beat];
    }
    ASSERT_GT(cuts, 5u);
    EXPECT_GE(on_downbeat + 1, cuts) << "all cuts but the one on the final beat on downbeats";
  }

  /* In 4/4 the counts are as written (balanced, calm music: 4 beats). */
  add_bars(song, 0);
  song.beat_energy.assign(song.beats.size(), 0.2);
  PlanResult r = plan_montage_explained(song, clips, PlanSettings{});
  for (std::size_t i = 0; i + 1 < r.plan.segments.size(); i++)
    EXPECT_EQ(r.decisions[i].wanted_beats, 4u) << "segment " << i;
  /* Bars that are a guess are not followed: the counts are as written too. */
  song.downbeats.assign(song.beats.size(), false);
  for (std::size_t i = 0; i < song.beats.size(); i += 3)
    song.downbeats[i] = true;
  song.beats_per_bar = 3;
  song.meter_confidence = 0.1;
  r = plan_montage_explained(song, clips, PlanSettings{});
  for (std::size_t i = 0; i + 1 < r.plan.segments.size(); i++)
    EXPECT_EQ(r.decisions[i].wanted_beats, 4u) << "segment " << i;
}

/* Trial h114: a song of exactly 3 s (132300 samples at 44.1 kHz) was read
 * 2.999999999 s long, and the edit, the song's length floored to the frame
 * grid, had 89 frames at 30 fps, not 90: the song's last 33 ms were cut.
 * A frame the song fills but for kSongLengthTolerance (1 us) is kept; one
 * it leaves more of is not. */
TEST(PlannerEnd, ASongOfWholeFramesKeepsItsLastFrame)
{
  auto clips = many_clips(3, 4, 2.5);
  for (GstClockTime shortfall :
       {GstClockTime{0}, GstClockTime{1}, GstClockTime{3}, kSongLengthTolerance}) {
    SCOPED_TRACE("song " + std::to_string(shortfall) + " ns short of 3 s");
    SongAnalysis song = make_song(120, 0.0, 3.0);
    song.duration = secs(3.0) - shortfall;
    Plan whole = plan_montage(song, clips, PlanSettings{});
    check_plan(whole, song, clips);
    EXPECT_EQ(whole.duration, secs(3.0)) << "90 frames";
    /* -d 10: the edit ends with the song, at its last frame */
    PlanSettings ten;
    ten.duration = secs(10.0);
    Plan longer = plan_montage(song, clips, ten);
    check_plan(longer, song, clips);
    EXPECT_EQ(longer.duration, secs(3.0));
    EXPECT_TRUE(any_note_contains(longer, "the edit ends with the song at 3.00 s"));
  }
  /* More than the tolerance short: that frame is not the song's. */
  SongAnalysis song = make_song(120, 0.0, 3.0);
  song.duration = secs(3.0) - kSongLengthTolerance - 1;
  Plan plan = plan_montage(song, clips, PlanSettings{});
  check_plan(plan, song, clips);
  EXPECT_EQ(plan.duration, frame_time(89, 30, 1));
  /* At 30000/1001 too: 89 frames of 2.96963... s, read 1 ns short */
  song.duration = frame_time(89, 30000, 1001) - 1;
  PlanSettings ntsc;
  ntsc.fps_n = 30000;
  ntsc.fps_d = 1001;
  plan = plan_montage(song, clips, ntsc);
  check_plan(plan, song, clips);
  EXPECT_EQ(plan.duration, frame_time(89, 30000, 1001));
}
