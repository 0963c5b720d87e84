/* The tool's song analysis keeps the whole song when montagebeat posts more
 * than one montage-beats summary (one per stretch between its resets: a
 * sample rate that changes mid-file, a new segment, time going back):
 * montage_tool::combine_beat_summaries() on summaries made here, and
 * montage_tool::analyse_song() on an MP3 joined from a 44.1 kHz and a 48 kHz
 * part, made at test time with lamemp3enc. */
#include "testutil.h"

#include "../tools/analysis.h"

#include <gst/montage/beattracker.h>

#include <glib/gstdio.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace
{

constexpr GstClockTime kMs = GST_MSECOND;

/* What one summary holds; times in ms. */
struct Summary {
  GstClockTime start_ms = 0;
  GstClockTime duration_ms = 0;
  GstClockTime duration_extra_ns = 0; /* added to duration_ms */
  std::vector<GstClockTime> beats_ms;
  double curve = 0.5;             /* the same energy every 100 ms */
  std::vector<double> energy;     /* one per beat; all 1 when empty */
  std::vector<double> confidence; /* one per beat; all 0.5 when empty */
  guint beats_per_bar = 4;
  double meter_confidence = 0.5;
  const char *level = "medium"; /* one section over the whole stretch */
  /* The curve is 0 (silence) for the intervals from this time on (buffer
   * time, as start_ms); never with the default. */
  GstClockTime silent_from_ms = G_MAXUINT64;
};

/* Evenly spaced beats from `first_ms` while under `end_ms`. */
std::vector<GstClockTime> every(GstClockTime first_ms, GstClockTime step_ms, GstClockTime end_ms)
{
  std::vector<GstClockTime> out;
  for (GstClockTime t = first_ms; t < end_ms; t += step_ms)
    out.push_back(t);
  return out;
}

/* A montage-beats structure with the fields montagebeat posts
 * (docs/montagebeat.md, "Messages"), its downbeat every beats_per_bar-th. */
GstStructure *make_summary(const Summary &in)
{
  GValue beats = G_VALUE_INIT, energy = G_VALUE_INIT, downbeats = G_VALUE_INIT, conf = G_VALUE_INIT,
         curve = G_VALUE_INIT, sections = G_VALUE_INIT;
  for (GValue *v : {&beats, &energy, &downbeats, &conf, &curve, &sections})
    gst_value_array_init(v, 0);
  auto append = [](GValue *array, GType type, auto set) {
    GValue v = G_VALUE_INIT;
    g_value_init(&v, type);
    set(&v);
    gst_value_array_append_and_take_value(array, &v);
  };
  for (std::size_t i = 0; i < in.beats_ms.size(); i++) {
    append(&beats, G_TYPE_UINT64, [&](GValue *v) { g_value_set_uint64(v, in.beats_ms[i] * kMs); });
    append(&energy, G_TYPE_DOUBLE,
           [&](GValue *v) { g_value_set_double(v, in.energy.empty() ? 1.0 : in.energy[i]); });
    append(&downbeats, G_TYPE_BOOLEAN, [&](GValue *v) {
      g_value_set_boolean(v, in.beats_per_bar && i % in.beats_per_bar == 0);
    });
    append(&conf, G_TYPE_DOUBLE, [&](GValue *v) {
      g_value_set_double(v, in.confidence.empty() ? 0.5 : in.confidence[i]);
    });
  }
  for (GstClockTime t = 0; t < in.duration_ms; t += 100)
    append(&curve, G_TYPE_DOUBLE, [&](GValue *v) {
      g_value_set_double(v, in.start_ms + t >= in.silent_from_ms ? 0.0 : in.curve);
    });
  if (in.duration_ms > 0) {
    GValue v = G_VALUE_INIT;
    g_value_init(&v, GST_TYPE_STRUCTURE);
    g_value_take_boxed(
        &v, gst_structure_new("section", "start", G_TYPE_UINT64, in.start_ms * kMs, "end",
                              G_TYPE_UINT64,
                              (in.start_ms + in.duration_ms) * kMs + in.duration_extra_ns, "level",
                              G_TYPE_STRING, in.level, NULL));
    gst_value_array_append_and_take_value(&sections, &v);
  }
  std::vector<GstClockTime> ns;
  for (GstClockTime b : in.beats_ms)
    ns.push_back(b * kMs);
  GstStructure *s = gst_structure_new(
      "montage-beats", "bpm", G_TYPE_DOUBLE, montage::bpm_from_beats(ns), "confidence",
      G_TYPE_DOUBLE, 0.5, "beats-per-bar", G_TYPE_UINT,
      in.beats_ms.size() >= 8 ? in.beats_per_bar : 0u, "meter-confidence", G_TYPE_DOUBLE,
      in.meter_confidence, "energy-interval", G_TYPE_UINT64, (guint64)(100 * kMs), "duration",
      G_TYPE_UINT64, (guint64)(in.duration_ms * kMs + in.duration_extra_ns), "mode", G_TYPE_STRING,
      "offline", NULL);
  gst_structure_take_value(s, "beats", &beats);
  gst_structure_take_value(s, "energy", &energy);
  gst_structure_take_value(s, "downbeats", &downbeats);
  gst_structure_take_value(s, "beat-confidence", &conf);
  gst_structure_take_value(s, "energy-curve", &curve);
  gst_structure_take_value(s, "sections", &sections);
  return s;
}

/* combine_beat_summaries() over these summaries, in this order, each with
 * the segment of the same index (none where `segments` is shorter). */
montage::SongAnalysis combine(const std::vector<Summary> &in,
                              const std::vector<const GstSegment *> &segments = {})
{
  std::vector<GstStructure *> owned;
  std::vector<montage_tool::BeatSummary> all;
  for (std::size_t i = 0; i < in.size(); i++) {
    owned.push_back(make_summary(in[i]));
    all.push_back({owned.back(), i < segments.size() ? segments[i] : nullptr});
  }
  montage::SongAnalysis out;
  out.uri = "file:///song.mp3";
  EXPECT_TRUE(montage_tool::combine_beat_summaries(all, out));
  for (GstStructure *s : owned)
    gst_structure_free(s);
  EXPECT_EQ(out.uri, "file:///song.mp3");
  return out;
}

/* A 44.1 kHz part, then a 48 kHz one (a rate change mid-stream): one song
 * with both parts' beats, energy, downbeats and sections in time order. */
TEST(SongSummaries, RateChangeKeepsBothStretchesInTimeOrder)
{
  Summary a, b;
  a.duration_ms = 6000;
  a.beats_ms = every(250, 500, 6000);
  a.curve = 0.9;
  a.level = "high";
  b.start_ms = 6000;
  b.duration_ms = 6000;
  b.beats_ms = every(6250, 500, 12000);
  b.curve = 0.4;
  b.level = "low";
  for (bool reversed : {false, true}) {
    montage::SongAnalysis song = reversed ? combine({b, a}) : combine({a, b});
    ASSERT_EQ(song.beats.size(), 24u) << "reversed " << reversed;
    for (std::size_t i = 0; i < song.beats.size(); i++)
      EXPECT_EQ(song.beats[i], (250 + 500 * i) * kMs) << i;
    EXPECT_NEAR(song.bpm, 120.0, 0.01);
    EXPECT_DOUBLE_EQ(song.confidence, 0.5);
    EXPECT_EQ(song.duration, 12 * GST_SECOND);
    ASSERT_EQ(song.beat_energy.size(), 24u);
    ASSERT_EQ(song.downbeats.size(), 24u);
    EXPECT_TRUE(song.downbeats[0]);
    EXPECT_TRUE(song.downbeats[12]);
    EXPECT_FALSE(song.downbeats[13]);
    EXPECT_EQ(song.beats_per_bar, 4u);
    EXPECT_DOUBLE_EQ(song.meter_confidence, 0.5);
    /* The quiet part's beats against the loud part's: its energy -24 dB
     * (energy 0.4 is -36 dBFS, 0.9 is -6, on montagebeat's -60..0 scale). */
    EXPECT_DOUBLE_EQ(song.beat_energy[0], 1.0);
    EXPECT_NEAR(song.beat_energy[12], std::pow(10.0, -30.0 / 20.0), 1e-9);
    ASSERT_EQ(song.energy_interval, 100 * kMs);
    ASSERT_EQ(song.energy_curve.size(), 120u);
    EXPECT_DOUBLE_EQ(song.energy_curve[0], 0.9);
    EXPECT_DOUBLE_EQ(song.energy_curve[59], 0.9);
    EXPECT_DOUBLE_EQ(song.energy_curve[60], 0.4);
    EXPECT_DOUBLE_EQ(song.energy_curve[119], 0.4);
    ASSERT_EQ(song.sections.size(), 2u);
    EXPECT_EQ(song.sections[0].start, 0u);
    EXPECT_EQ(song.sections[0].end, 6 * GST_SECOND);
    EXPECT_EQ(song.sections[0].level, montage::Section::Level::kHigh);
    EXPECT_EQ(song.sections[1].start, 6 * GST_SECOND);
    EXPECT_EQ(song.sections[1].end, 12 * GST_SECOND);
    EXPECT_EQ(song.sections[1].level, montage::Section::Level::kLow);
  }
}

/* One stretch's last beat and the next one's first, less than half a beat
 * apart across the join, are one beat: the second is left out. The
 * confidence is the median of the beats kept, the tempo fitted to them. */
TEST(SongSummaries, BeatJustAfterTheJoinIsNotASecondBeat)
{
  Summary a, b;
  a.duration_ms = 4000;
  a.beats_ms = every(0, 500, 4000);
  a.beats_ms.push_back(3990);
  a.beats_ms.erase(a.beats_ms.end() - 2); /* ... 3000, 3990 */
  a.confidence.assign(a.beats_ms.size(), 0.9);
  b.start_ms = 4000;
  b.duration_ms = 4000;
  b.beats_ms = every(4060, 500, 8000);
  b.confidence.assign(b.beats_ms.size(), 0.2);
  montage::SongAnalysis song = combine({a, b});
  ASSERT_EQ(song.beats.size(), a.beats_ms.size() + b.beats_ms.size() - 1);
  EXPECT_EQ(song.beats[a.beats_ms.size() - 1], 3990 * kMs);
  EXPECT_EQ(song.beats[a.beats_ms.size()], 4560 * kMs);
  /* 8 beats at 0.9, 7 at 0.2: the median is 0.9. */
  EXPECT_DOUBLE_EQ(song.confidence, 0.9);
  std::vector<GstClockTime> kept = song.beats;
  EXPECT_DOUBLE_EQ(song.bpm, montage::bpm_from_beats(kept));
}

/* Across a join, the beat an onset marks stays: here the next stretch's
 * first beat (confidence 0.9) replaces the last one of the stretch before
 * (0.1), which the tracker carried past its last onset. */
TEST(SongSummaries, AtAJoinTheSurerBeatStays)
{
  Summary a, b;
  a.duration_ms = 4000;
  a.beats_ms = every(0, 500, 4000); /* ... 3500 */
  a.beats_ms.back() = 3990;
  a.confidence.assign(a.beats_ms.size(), 0.8);
  a.confidence.back() = 0.1;
  b.start_ms = 4000;
  b.duration_ms = 4000;
  b.beats_ms = every(4040, 500, 8000);
  b.confidence.assign(b.beats_ms.size(), 0.9);
  montage::SongAnalysis song = combine({a, b});
  ASSERT_EQ(song.beats.size(), a.beats_ms.size() + b.beats_ms.size() - 1);
  EXPECT_EQ(song.beats[a.beats_ms.size() - 2], 3000 * kMs);
  EXPECT_EQ(song.beats[a.beats_ms.size() - 1], 4040 * kMs);
  EXPECT_EQ(song.beat_energy.size(), song.beats.size());
  EXPECT_EQ(song.downbeats.size(), song.beats.size());
}

/* A chained Ogg's second chain comes with its timestamps from 0 again, in
 * a segment whose time is where the chain starts in the song: its beats,
 * sections and energy go there, after the first chain's. */
TEST(SongSummaries, NextChainIsPlacedAtItsStreamTime)
{
  Summary a, b;
  a.duration_ms = 6000;
  a.beats_ms = every(0, 500, 6000);
  a.curve = 0.8;
  b.duration_ms = 6000; /* buffer time from 0 */
  b.beats_ms = every(0, 500, 6000);
  b.curve = 0.3;
  GstSegment first, second;
  gst_segment_init(&first, GST_FORMAT_TIME);
  gst_segment_init(&second, GST_FORMAT_TIME);
  second.time = 6 * GST_SECOND;
  second.base = 6 * GST_SECOND;
  montage::SongAnalysis song = combine({a, b}, {&first, &second});
  ASSERT_EQ(song.beats.size(), 24u);
  for (std::size_t i = 0; i < song.beats.size(); i++)
    EXPECT_EQ(song.beats[i], 500 * i * kMs) << i;
  EXPECT_EQ(song.duration, 12 * GST_SECOND);
  ASSERT_EQ(song.energy_curve.size(), 120u);
  EXPECT_DOUBLE_EQ(song.energy_curve[59], 0.8);
  EXPECT_DOUBLE_EQ(song.energy_curve[60], 0.3);
  ASSERT_EQ(song.sections.size(), 1u);
  EXPECT_EQ(song.sections[0].end, 12 * GST_SECOND);
  EXPECT_NEAR(song.bpm, 120.0, 0.01);

  /* Without the segments, the second chain's times are the first's: time
   * covered twice, it gives nothing. */
  song = combine({a, b});
  EXPECT_EQ(song.beats.size(), 12u);
}

/* The element gives a stretch's duration from its sample count and the next
 * one's start from its first PTS: they can overlap by a rounding error (226
 * ns on an MP3 going from 44.1 to 48 kHz). The next stretch still starts
 * where it says, and its beat on its first sample is kept. */
TEST(SongSummaries, StretchesMeetingWithinRoundingAreBackToBack)
{
  Summary a, b;
  a.duration_ms = 6000;
  a.duration_extra_ns = 226;
  a.beats_ms = every(0, 500, 5600);
  b.start_ms = 6000;
  b.duration_ms = 3000;
  b.beats_ms = every(6000, 500, 9000);
  montage::SongAnalysis song = combine({a, b});
  ASSERT_EQ(song.beats.size(), 18u);
  EXPECT_EQ(song.beats[12], 6 * GST_SECOND);
  ASSERT_EQ(song.sections.size(), 1u);
  EXPECT_EQ(song.sections[0].end, 9 * GST_SECOND);
}

/* A stretch that went back in time (a source restarting its timestamps)
 * gives nothing the stretch before already covered: the song is the first
 * stretch's analysis as it was posted. */
TEST(SongSummaries, TimeCoveredTwiceKeepsTheFirstStretch)
{
  Summary a, b;
  a.duration_ms = 6000;
  a.beats_ms = every(100, 500, 6000);
  a.curve = 0.7;
  b.duration_ms = 3000;
  b.beats_ms = every(300, 400, 3000);
  b.curve = 0.2;
  b.level = "low";
  montage::SongAnalysis song = combine({a, b});
  EXPECT_EQ(song.beats.size(), a.beats_ms.size());
  EXPECT_EQ(song.beats.front(), 100 * kMs);
  EXPECT_EQ(song.energy_curve.size(), 60u);
  EXPECT_DOUBLE_EQ(song.energy_curve[5], 0.7);
  ASSERT_EQ(song.sections.size(), 1u);
  EXPECT_EQ(song.sections[0].level, montage::Section::Level::kMedium);
}

/* The meter of the stretch that gives the most beats; its confidence
 * weighted by beats, a stretch in another meter counting 0. */
TEST(SongSummaries, MeterOfTheLongerStretch)
{
  Summary a, b;
  a.duration_ms = 8000;
  a.beats_ms = every(0, 500, 8000); /* 16 beats in 4 */
  a.meter_confidence = 0.8;
  b.start_ms = 8000;
  b.duration_ms = 4000;
  b.beats_ms = every(8000, 500, 12000); /* 8 beats in 3 */
  b.beats_per_bar = 3;
  b.meter_confidence = 0.6;
  montage::SongAnalysis song = combine({a, b});
  EXPECT_EQ(song.beats_per_bar, 4u);
  EXPECT_NEAR(song.meter_confidence, 0.8 * 16 / 24, 1e-12);
}

/* With one summary whose audio starts after 0, the energy curve is moved
 * to SongAnalysis' time base (from 0), silence before the audio. */
TEST(SongSummaries, OneStretchStartingLateHasItsCurveFromZero)
{
  Summary a;
  a.start_ms = 1000;
  a.duration_ms = 3000;
  a.beats_ms = every(1200, 500, 4000);
  a.curve = 0.6;
  montage::SongAnalysis song = combine({a});
  EXPECT_EQ(song.beats.front(), 1200 * kMs);
  ASSERT_EQ(song.energy_curve.size(), 40u);
  EXPECT_DOUBLE_EQ(song.energy_curve[9], 0.0);
  EXPECT_DOUBLE_EQ(song.energy_curve[10], 0.6);
  EXPECT_DOUBLE_EQ(song.energy_curve[39], 0.6);
  /* Where the planner reads it: the beat at 1.2 s, interval 12. */
  EXPECT_DOUBLE_EQ(song.energy_curve[song.beats.front() / song.energy_interval], 0.6);

  /* Audio from 23 ms: the curve keeps its length, no interval past the
   * audio's end is added. */
  a.start_ms = 23;
  a.beats_ms = every(100, 500, 3000);
  song = combine({a});
  ASSERT_EQ(song.energy_curve.size(), 30u);
  EXPECT_DOUBLE_EQ(song.energy_curve[0], 0.6);
  EXPECT_DOUBLE_EQ(song.energy_curve[29], 0.6);
}

/* Where the sound ends: the end of the last interval of the energy curve
 * above 0 (louder than the silence threshold), in stream time, over every
 * stretch; the song's duration does not move. */
TEST(SongSummaries, SoundEndsAtTheLastIntervalAboveSilence)
{
  Summary a;
  a.duration_ms = 20000;
  a.beats_ms = every(0, 500, 14000);
  a.silent_from_ms = 14300;
  montage::SongAnalysis song = combine({a});
  EXPECT_EQ(song.sound_end, 14300 * kMs);
  EXPECT_EQ(song.duration, 20 * GST_SECOND);

  /* Sound to the end: the last, partial interval ends with the stretch. */
  a.duration_ms = 20050;
  a.silent_from_ms = G_MAXUINT64;
  song = combine({a});
  EXPECT_EQ(song.sound_end, 20050 * kMs);

  /* No interval above silence: 0. */
  a.curve = 0.0;
  song = combine({a});
  EXPECT_EQ(song.sound_end, 0u);

  /* Two stretches (a new rate at 6 s): the second one's silence from 9 s. */
  Summary b, c;
  b.duration_ms = 6000;
  b.beats_ms = every(0, 500, 6000);
  c.start_ms = 6000;
  c.duration_ms = 6000;
  c.beats_ms = every(6000, 500, 9000);
  c.silent_from_ms = 9000;
  song = combine({b, c});
  EXPECT_EQ(song.sound_end, 9 * GST_SECOND);
  EXPECT_EQ(song.duration, 12 * GST_SECOND);
  /* The second one silent throughout: the first one's end. */
  c.silent_from_ms = 0;
  song = combine({b, c});
  EXPECT_EQ(song.sound_end, 6 * GST_SECOND);

  /* A chained Ogg's next chain, its buffer time from 0 in a segment at 6 s:
   * silent from its 3 s, the song's 9 s. */
  c.start_ms = 0;
  c.beats_ms = every(0, 500, 3000);
  c.silent_from_ms = 3000;
  GstSegment first, second;
  gst_segment_init(&first, GST_FORMAT_TIME);
  gst_segment_init(&second, GST_FORMAT_TIME);
  second.time = 6 * GST_SECOND;
  second.base = 6 * GST_SECOND;
  song = combine({b, c}, {&first, &second});
  EXPECT_EQ(song.sound_end, 9 * GST_SECOND);

  /* A stretch that went back in time gives nothing: its sound does not
   * count where the first stretch's silence covers that time. */
  Summary d, e;
  d.duration_ms = 6000;
  d.beats_ms = every(0, 500, 4000);
  d.silent_from_ms = 4000;
  e.duration_ms = 5000;
  e.beats_ms = every(0, 500, 5000);
  song = combine({d, e});
  EXPECT_EQ(song.sound_end, 4 * GST_SECOND);
}

TEST(SongSummaries, NoSummaryIsFalse)
{
  montage::SongAnalysis song;
  song.beats = {GST_SECOND};
  EXPECT_FALSE(montage_tool::combine_beat_summaries({}, song));
  EXPECT_TRUE(song.beats.empty());
}

/* Writes `seconds` of clicks every 0.5 s (120 BPM) at `rate` Hz through
 * `encoder` (a gst-launch description ending before the filesink). */
std::string make_clicks(const char *name, int rate, int seconds, const char *encoder)
{
  gchar *desc =
      g_strdup_printf("audiotestsrc wave=ticks tick-interval=500000000 volume=0.8 "
                      "samplesperbuffer=1000 num-buffers=%d ! audio/x-raw,rate=%d,channels=1 ! "
                      "audioconvert ! %s ! filesink location=%%s",
                      rate * seconds / 1000, rate, encoder);
  std::string path = montage_test::make_media(name, desc);
  g_free(desc);
  return path;
}

/* The file made of `a` then `b`, byte for byte; "" on failure. */
std::string join_files(const std::string &a, const std::string &b, const char *suffix)
{
  gchar *ca = nullptr, *cb = nullptr;
  gsize na = 0, nb = 0;
  std::string joined;
  if (g_file_get_contents(a.c_str(), &ca, &na, nullptr) &&
      g_file_get_contents(b.c_str(), &cb, &nb, nullptr)) {
    joined.assign(ca, na);
    joined.append(cb, nb);
  }
  g_free(ca);
  g_free(cb);
  const std::string path = a + suffix;
  if (joined.empty() ||
      !g_file_set_contents(path.c_str(), joined.data(), (gssize)joined.size(), nullptr))
    return "";
  return path;
}

/* analyse_song() of `path`, 12 s of clicks at 120 BPM, 6 s at 44.1 kHz then
 * 6 s at 48 kHz: the whole song's beats, energy and sections. With
 * `join_gap`, one beat may be missing where the second part starts. */
void expect_whole_click_song(const std::string &path, bool join_gap)
{
  montage_tool::register_elements();
  montage::SongAnalysis song;
  GError *err = nullptr;
  ASSERT_TRUE(montage_tool::analyse_song(path, song, &err)) << (err ? err->message : "");
  EXPECT_NEAR(song.duration / 1e9, 12.0, 0.2);
  ASSERT_GE(song.beats.size(), 22u);
  EXPECT_LE(song.beats.size(), 26u);
  EXPECT_LT(song.beats.front(), GST_SECOND);
  EXPECT_GT(song.beats.back(), 11 * GST_SECOND);
  std::size_t first_half = 0;
  for (std::size_t i = 0; i < song.beats.size(); i++) {
    if (i > 0) {
      /* No beat twice at the join, and none missing but the one allowed. */
      const GstClockTime step = song.beats[i] - song.beats[i - 1];
      const bool at_join = song.beats[i - 1] > 5 * GST_SECOND && song.beats[i] < 7 * GST_SECOND;
      EXPECT_GT(step, 400 * kMs) << i;
      EXPECT_LT(step, join_gap && at_join ? 1100 * kMs : 600 * kMs) << i;
    }
    first_half += song.beats[i] < 6 * GST_SECOND;
  }
  EXPECT_GE(first_half, 11u);
  EXPECT_NEAR(song.bpm, 120.0, 2.0);
  EXPECT_EQ(song.beat_energy.size(), song.beats.size());
  ASSERT_EQ(song.energy_interval, 100 * kMs);
  EXPECT_NEAR((double)song.energy_curve.size(), 120.0, 2.0);
  EXPECT_GT(*std::max_element(song.energy_curve.begin(), song.energy_curve.begin() + 50), 0.0);
  EXPECT_GT(*std::max_element(song.energy_curve.end() - 50, song.energy_curve.end()), 0.0);
  ASSERT_FALSE(song.sections.empty());
  EXPECT_LT(song.sections.front().start, GST_SECOND);
  EXPECT_GT(song.sections.back().end, 11 * GST_SECOND);
  for (std::size_t i = 1; i < song.sections.size(); i++)
    EXPECT_EQ(song.sections[i].start, song.sections[i - 1].end);
}

/* An MP3 joined from 6 s at 44.1 kHz and 6 s at 48 kHz: the decoder's rate
 * changes mid-stream, montagebeat posts a summary for each part, and the
 * song keeps both. Before, only the 48 kHz part's summary was kept: no
 * beats, energy or sections in the first 6 s. */
TEST(SongAnalysis, MidFileRateChangeKeepsTheWholeSong)
{
  GstElementFactory *lame = gst_element_factory_find("lamemp3enc");
  ASSERT_NE(lame, nullptr) << "lamemp3enc is missing: install gstreamer1.0-plugins-good";
  gst_object_unref(lame);
  const std::string a = make_clicks("a.mp3", 44100, 6, "lamemp3enc"),
                    b = make_clicks("b.mp3", 48000, 6, "lamemp3enc");
  ASSERT_FALSE(a.empty() || b.empty());
  const std::string path = join_files(a, b, ".joined.mp3");
  ASSERT_FALSE(path.empty());
  expect_whole_click_song(path, false);
}

/* A chained Ogg (two Vorbis files one after the other, 44.1 then 48 kHz):
 * the second chain is exposed as a new stream once the first has drained,
 * its timestamps from 0 again in a segment at 6 s. Before, the tool left it
 * unlinked and stalled (no EOS ever reached the analysis), and, linked,
 * its beats were taken for the first chain's time. */
TEST(SongAnalysis, ChainedOggIsOneSong)
{
  const std::string a = make_clicks("a.ogg", 44100, 6, "vorbisenc ! oggmux"),
                    b = make_clicks("b.ogg", 48000, 6, "vorbisenc ! oggmux");
  ASSERT_FALSE(a.empty() || b.empty());
  const std::string path = join_files(a, b, ".chained.ogg");
  ASSERT_FALSE(path.empty());
  /* montagebeat takes a segment starting past 0 for a seek, into the music,
   * so the second chain's first click is no onset (docs/montagebeat.md,
   * "Resets and time"): no beat there. */
  expect_whole_click_song(path, true);
}

/* analyse_song() of 6 s of clicks then 4 s of digital silence: the song
 * lasts the whole file, and its sound ends with the clicks, not at the
 * file's end. audiotestsrc's ticks straddle each half second (the 100 ms
 * energy intervals on either side are loud, those between are digital
 * silence), so the last loud interval is [5.9 s, 6 s). */
TEST(SongAnalysis, SoundEndsWhereTheSilentTailBegins)
{
  montage_tool::register_elements();
  const std::string path = montage_test::make_media(
      "clicks-then-silence.wav",
      "concat name=c ! audioconvert ! wavenc ! filesink location=%s "
      "audiotestsrc wave=ticks tick-interval=500000000 volume=0.8 samplesperbuffer=441 "
      "num-buffers=600 ! audio/x-raw,rate=44100,channels=1,format=S16LE ! c. "
      "audiotestsrc wave=silence samplesperbuffer=441 num-buffers=400 ! "
      "audio/x-raw,rate=44100,channels=1,format=S16LE ! c.");
  ASSERT_FALSE(path.empty());
  montage::SongAnalysis song;
  GError *err = nullptr;
  ASSERT_TRUE(montage_tool::analyse_song(path, song, &err)) << (err ? err->message : "");
  EXPECT_EQ(song.duration, 10 * GST_SECOND);
  EXPECT_GE(song.sound_end, 5900 * kMs);
  EXPECT_LE(song.sound_end, 6000 * kMs);
}

/* What reached the analysis sink: the kind of each event and buffer, the
 * rate of its caps at each buffer. */
struct Received {
  std::vector<std::string> order;
  std::vector<int> rate_at_buffer;
  bool drop_new_stream = false; /* lose the next STREAM_START and CAPS */
};

GstEvent *rate_caps(int rate)
{
  GstCaps *caps =
      gst_caps_new_simple("audio/x-raw", "format", G_TYPE_STRING, "F32LE", "layout", G_TYPE_STRING,
                          "interleaved", "rate", G_TYPE_INT, rate, "channels", G_TYPE_INT, 1, NULL);
  GstEvent *ev = gst_event_new_caps(caps);
  gst_caps_unref(caps);
  return ev;
}

/* A next stream (a chained Ogg's next chain) whose STREAM_START and CAPS
 * the source counts as delivered but that never reached the analysis sink
 * (forced here by a probe that drops them, the failure
 * resend_missing_sticky_events() guards against at a chain change), its
 * SEGMENT and data arriving. Before its first buffer the sink gets the
 * source's three events again, in order, so the buffer is analysed at its
 * own rate; without that, it came under the last stream's caps (44.1 kHz
 * audio read as 48 kHz). */
TEST(SongAnalysis, NextStreamsLostStickyEventsAreSentBeforeItsData)
{
  GstPad *src = gst_pad_new("src", GST_PAD_SRC);
  GstPad *ghost = gst_ghost_pad_new("ghost", src); /* as decodebin's, uridecodebin's */
  GstPad *sink = gst_pad_new("sink", GST_PAD_SINK);
  Received got;
  gst_pad_set_event_function(sink, [](GstPad *pad, GstObject *, GstEvent *ev) -> gboolean {
    static_cast<Received *>(gst_pad_get_element_private(pad))
        ->order.push_back(GST_EVENT_TYPE_NAME(ev));
    gst_event_unref(ev);
    return TRUE;
  });
  gst_pad_set_chain_function(sink, [](GstPad *pad, GstObject *, GstBuffer *buf) -> GstFlowReturn {
    Received *r = static_cast<Received *>(gst_pad_get_element_private(pad));
    r->order.push_back("buffer");
    int rate = 0;
    GstCaps *caps = gst_pad_get_current_caps(pad);
    if (caps) {
      gst_structure_get_int(gst_caps_get_structure(caps, 0), "rate", &rate);
      gst_caps_unref(caps);
    }
    r->rate_at_buffer.push_back(rate);
    gst_buffer_unref(buf);
    return GST_FLOW_OK;
  });
  gst_pad_set_query_function(sink, [](GstPad *pad, GstObject *parent, GstQuery *query) -> gboolean {
    if (GST_QUERY_TYPE(query) != GST_QUERY_ACCEPT_CAPS)
      return gst_pad_query_default(pad, parent, query);
    gst_query_set_accept_caps_result(query, TRUE); /* any rate, as audioconvert */
    return TRUE;
  });
  gst_pad_set_element_private(sink, &got);
  gst_pad_add_probe(
      sink, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
      [](GstPad *, GstPadProbeInfo *info, gpointer data) {
        GstEvent *ev = GST_PAD_PROBE_INFO_EVENT(info);
        const bool lost =
            GST_EVENT_TYPE(ev) == GST_EVENT_STREAM_START || GST_EVENT_TYPE(ev) == GST_EVENT_CAPS;
        return static_cast<Received *>(data)->drop_new_stream && lost ? GST_PAD_PROBE_DROP
                                                                      : GST_PAD_PROBE_OK;
      },
      &got, nullptr);
  /* As run_pipeline() does on the chain's sink. */
  gst_pad_add_probe(
      sink, GST_PAD_PROBE_TYPE_BUFFER,
      [](GstPad *pad, GstPadProbeInfo *, gpointer) {
        montage_tool::resend_missing_sticky_events(pad);
        return GST_PAD_PROBE_OK;
      },
      nullptr, nullptr);
  ASSERT_TRUE(gst_pad_set_active(src, TRUE));
  ASSERT_TRUE(gst_pad_set_active(ghost, TRUE));
  ASSERT_TRUE(gst_pad_set_active(sink, TRUE));
  ASSERT_EQ(gst_pad_link(ghost, sink), GST_PAD_LINK_OK);

  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  EXPECT_TRUE(gst_pad_push_event(src, gst_event_new_stream_start("first")));
  EXPECT_TRUE(gst_pad_push_event(src, rate_caps(48000)));
  EXPECT_TRUE(gst_pad_push_event(src, gst_event_new_segment(&segment)));
  EXPECT_EQ(gst_pad_push(src, gst_buffer_new_allocate(nullptr, 400, nullptr)), GST_FLOW_OK);
  const std::vector<std::string> first = {"stream-start", "caps", "segment", "buffer"};
  EXPECT_EQ(got.order, first);

  /* The next chain: its stream-start and caps lost on the way. */
  got.order.clear();
  got.drop_new_stream = true;
  EXPECT_TRUE(gst_pad_push_event(src, gst_event_new_stream_start("second")));
  EXPECT_TRUE(gst_pad_push_event(src, rate_caps(44100)));
  got.drop_new_stream = false;
  segment.time = 6 * GST_SECOND;
  EXPECT_TRUE(gst_pad_push_event(src, gst_event_new_segment(&segment)));
  EXPECT_EQ(gst_pad_push(src, gst_buffer_new_allocate(nullptr, 400, nullptr)), GST_FLOW_OK);
  EXPECT_EQ(gst_pad_push(src, gst_buffer_new_allocate(nullptr, 400, nullptr)), GST_FLOW_OK);
  const std::vector<std::string> second = {"segment", "stream-start", "caps",
                                           "segment", "buffer",       "buffer"};
  EXPECT_EQ(got.order, second);
  const std::vector<int> rates = {48000, 44100, 44100};
  EXPECT_EQ(got.rate_at_buffer, rates);
  GstEvent *ss = gst_pad_get_sticky_event(sink, GST_EVENT_STREAM_START, 0);
  ASSERT_NE(ss, nullptr);
  const gchar *id = nullptr;
  gst_event_parse_stream_start(ss, &id);
  EXPECT_STREQ(id, "second");
  gst_event_unref(ss);

  /* Nothing is sent again once the sink has them all. */
  EXPECT_FALSE(montage_tool::resend_missing_sticky_events(sink));

  gst_pad_set_active(sink, FALSE);
  gst_pad_set_active(ghost, FALSE);
  gst_pad_set_active(src, FALSE);
  gst_object_unref(sink);
  gst_object_unref(ghost);
  gst_object_unref(src);
}

/* With an origin (the stream time of the song's first sample), every time
 * counts from it: beats, sections, duration and sound_end have it taken
 * off, the energy curve runs from it (one stretch starting there: its own
 * curve unchanged). The stretch as an MPEG-PS song's: 0.7053 s in. */
TEST(SongSummaries, TimesCountFromTheOrigin)
{
  Summary a;
  a.start_ms = 705;
  a.duration_ms = 3000;
  a.beats_ms = every(705, 500, 3705);
  a.silent_from_ms = 3405;
  GstStructure *s = make_summary(a);
  montage::SongAnalysis song;
  ASSERT_TRUE(montage_tool::combine_beat_summaries({{s, nullptr}}, song, 705 * kMs));
  gst_structure_free(s);
  const std::vector<GstClockTime> beats = {0,          500 * kMs,  1000 * kMs,
                                           1500 * kMs, 2000 * kMs, 2500 * kMs};
  EXPECT_EQ(song.beats, beats);
  EXPECT_EQ(song.beat_energy.size(), beats.size());
  EXPECT_EQ(song.downbeats.size(), beats.size());
  EXPECT_EQ(song.duration, 3 * GST_SECOND);
  EXPECT_EQ(song.sound_end, 2700 * kMs);
  ASSERT_EQ(song.sections.size(), 1u);
  EXPECT_EQ(song.sections[0].start, 0u);
  EXPECT_EQ(song.sections[0].end, 3 * GST_SECOND);
  ASSERT_EQ(song.energy_interval, 100 * kMs);
  ASSERT_EQ(song.energy_curve.size(), 30u);
  EXPECT_DOUBLE_EQ(song.energy_curve[26], 0.5);
  EXPECT_DOUBLE_EQ(song.energy_curve[27], 0.0);
}

/* analyse_song() of `path`, or an empty analysis after a test failure. */
montage::SongAnalysis analysed(const std::string &path)
{
  montage_tool::register_elements();
  montage::SongAnalysis song;
  GError *err = nullptr;
  EXPECT_TRUE(montage_tool::analyse_song(path, song, &err))
      << path << ": " << (err ? err->message : "");
  g_clear_error(&err);
  return song;
}

/* The analyses of the same song in a plain file `plain` and in an MPEG
 * container `muxed` (whose demuxer gives the first sample a stream time past
 * 0) agree on the beats, sections, energy curve, duration and sound end,
 * which count from the first decoded sample, where the render puts it.
 * With `on_grid`, the beats are also on the clicks' grid (every 0.5 s from
 * the first sample). Before, the muxed song's times were late by its first
 * sample's stream time. */
void expect_same_song(const std::string &plain, const std::string &muxed, bool on_grid)
{
  ASSERT_FALSE(plain.empty() || muxed.empty());
  const montage::SongAnalysis p = analysed(plain), m = analysed(muxed);
  g_unlink(plain.c_str());
  g_unlink(muxed.c_str());
  ASSERT_GE(p.beats.size(), 12u);
  EXPECT_NEAR(m.duration / 1e9, p.duration / 1e9, 0.03);
  ASSERT_EQ(m.beats.size(), p.beats.size());
  for (std::size_t i = 0; i < p.beats.size(); i++)
    EXPECT_NEAR(m.beats[i] / 1e9, p.beats[i] / 1e9, 0.02) << i;
  for (GstClockTime b : on_grid ? m.beats : std::vector<GstClockTime>()) {
    const double off = std::fmod(b / 1e9 + 0.25, 0.5) - 0.25;
    EXPECT_LT(std::fabs(off), 0.06) << b / 1e9;
  }
  ASSERT_FALSE(m.sections.empty());
  EXPECT_EQ(m.sections.front().start, 0u);
  EXPECT_NEAR(m.sections.back().end / 1e9, p.sections.back().end / 1e9, 0.03);
  ASSERT_EQ(m.energy_interval, p.energy_interval);
  EXPECT_NEAR((double)m.energy_curve.size(), (double)p.energy_curve.size(), 1.0);
  EXPECT_NEAR(m.sound_end / 1e9, p.sound_end / 1e9, 0.11);
}

/* Whether every element is installed (a test failure naming the missing
 * one otherwise). */
bool have_elements(std::initializer_list<const char *> names)
{
  for (const char *name : names) {
    GstElementFactory *f = gst_element_factory_find(name);
    EXPECT_NE(f, nullptr) << name << " is missing (gstreamer1.0-plugins-good, -bad, -libav)";
    if (!f)
      return false;
    gst_object_unref(f);
  }
  return true;
}

/* MP3 in MPEG-TS (mpegtsmux: tsdemux gives the first sample 0.125 s). */
TEST(SongAnalysis, MpegTsSongCountsFromItsFirstSample)
{
  ASSERT_TRUE(have_elements({"lamemp3enc", "mpegtsmux"}));
  expect_same_song(
      make_clicks("clicks.mp3", 44100, 8, "lamemp3enc"),
      make_clicks("clicks-mp3.ts", 44100, 8, "lamemp3enc ! mpegaudioparse ! mpegtsmux"), true);
}

/* AAC in MPEG-TS against the same AAC as ADTS (read by montageadtssrc,
 * from its first frame): tsdemux gives the first sample 0.125 s. */
TEST(SongAnalysis, AacInMpegTsCountsFromItsFirstSample)
{
  ASSERT_TRUE(have_elements({"voaacenc", "aacparse", "mpegtsmux"}));
  expect_same_song(
      make_clicks("clicks.aac", 44100, 8, "voaacenc ! aacparse ! audio/mpeg,stream-format=adts"),
      make_clicks("clicks-aac.ts", 44100, 8, "voaacenc ! aacparse ! mpegtsmux"), true);
}

/* MP2 in MPEG-PS (mpegpsmux: mpegpsdemux gives the first sample 0.705 s).
 * mpegpsdemux 1.22 also starts its segment there while mpegpsmux stamps
 * the first frame 0.705 s earlier: the decoder clips those frames, so the
 * song as GStreamer decodes it (and the render plays it) starts 0.705 s
 * into the clicks. The plain file is that decoded song as WAV. */
TEST(SongAnalysis, MpegPsSongCountsFromItsFirstSample)
{
  ASSERT_TRUE(have_elements({"avenc_mp2", "mpegpsmux", "wavenc"}));
  const std::string muxed =
      make_clicks("clicks-mp2.mpg", 44100, 8, "avenc_mp2 ! mpegaudioparse ! mpegpsmux");
  ASSERT_FALSE(muxed.empty());
  gchar *desc = g_strdup_printf("filesrc location=%s ! decodebin ! audioconvert ! wavenc ! "
                                "filesink location=%%s",
                                muxed.c_str());
  const std::string plain = montage_test::make_media("clicks-mp2.wav", desc);
  g_free(desc);
  expect_same_song(plain, muxed, false);
}

} // namespace

namespace
{

/* A WAV of `silence_s` s of digital silence, then 8 s of 120 BPM clicks at
 * volume `loud`, then 8 s at `quiet` (44.1 kHz mono). */
std::string make_song_after_silence(const char *name, int silence_s, double loud, double quiet)
{
  auto ticks = [](double volume) {
    return "audiotestsrc wave=ticks tick-interval=500000000 volume=" + std::to_string(volume) +
           " samplesperbuffer=441 num-buffers=800 ! "
           "audio/x-raw,rate=44100,channels=1,format=S16LE ! c. ";
  };
  std::string pipeline = "concat name=c ! audioconvert ! wavenc ! filesink location=%s ";
  if (silence_s > 0)
    pipeline += "audiotestsrc wave=silence samplesperbuffer=441 num-buffers=" +
                std::to_string(silence_s * 100) +
                " ! audio/x-raw,rate=44100,channels=1,format=S16LE ! c. ";
  pipeline += ticks(loud) + ticks(quiet);
  return montage_test::make_media(name, pipeline.c_str());
}

montage::Section::Level level_at(const montage::SongAnalysis &song, GstClockTime t)
{
  for (const montage::Section &s : song.sections)
    if (t >= s.start && t < s.end)
      return s.level;
  ADD_FAILURE() << "no section at " << t / 1e9 << " s";
  return montage::Section::Level::kMedium;
}

/* The music's levels, every 0.5 s of `music_s` s of music from `from`, as
 * letters (l, m, h). */
std::string levels(const montage::SongAnalysis &song, GstClockTime from, int music_s)
{
  std::string out;
  for (int k = 0; k < 2 * music_s; k++) {
    const montage::Section::Level l = level_at(song, from + (GstClockTime)k * 500 * kMs);
    out += l == montage::Section::Level::kLow    ? 'l'
           : l == montage::Section::Level::kHigh ? 'h'
                                                 : 'm';
  }
  return out;
}

} // namespace

/* The same 16 s of clicks alone and after 6 s of digital silence: the
 * music's sections are the same. Before, the silence counted in the range
 * the levels are thirds of: a new-user trial's song (one "medium" level,
 * 2 beats per cut) after 15 s of silence was all "high", cut on every
 * beat. The silent intro is low (no beats: the planner cuts it off the
 * beat, at max-hold). With a loud and a quiet half, the halves keep their
 * levels; with both halves at one volume, the music stays one level (low
 * here: sparse ticks at half volume are quiet; it was all "high" after the
 * silence). */
TEST(SongAnalysis, SilentIntroDoesNotChangeTheMusicsLevels)
{
  struct Case {
    const char *name;
    double loud, quiet;
  };
  for (const Case &c : {Case{"contrast", 0.8, 0.08}, Case{"flat", 0.5, 0.5}}) {
    SCOPED_TRACE(c.name);
    const std::string alone = make_song_after_silence(
                          (std::string("alone-") + c.name + ".wav").c_str(), 0, c.loud, c.quiet),
                      intro = make_song_after_silence(
                          (std::string("intro-") + c.name + ".wav").c_str(), 6, c.loud, c.quiet);
    ASSERT_FALSE(alone.empty() || intro.empty());
    const montage::SongAnalysis a = analysed(alone), b = analysed(intro);
    ASSERT_FALSE(a.sections.empty() || b.sections.empty());
    ASSERT_FALSE(b.beats.empty());
    EXPECT_GT(b.beats.front(), 5500 * kMs) << "no beat in the silence";
    const std::string music = levels(a, 0, 16);
    EXPECT_EQ(levels(b, 6 * GST_SECOND, 16), music);
    EXPECT_EQ(levels(b, 0, 5), std::string(10, 'l')) << "the silent intro";
    if (c.loud == c.quiet) {
      EXPECT_EQ(music, std::string(32, music[0])) << "one level";
    } else {
      EXPECT_EQ(music.substr(0, 14), std::string(14, 'h'));
      EXPECT_EQ(music.substr(18), std::string(14, 'l'));
    }
  }
}

/* A FLAC of exactly 3 s (132300 samples at 44.1 kHz): its length is the
 * samples' count, 3 s to the ns. Before, it was the end of the last buffer,
 * its time and its duration each rounded down to the ns: 2.999999999 s,
 * which made a montage of 89 frames at 30 fps, not 90 (trial h114,
 * finding 13). */
TEST(SongAnalysis, LengthIsTheSamplesExactLength)
{
  montage_tool::register_elements();
  const std::string path = montage_test::make_media(
      "three-seconds.flac",
      "audiotestsrc wave=ticks tick-interval=500000000 volume=0.8 samplesperbuffer=4410 "
      "num-buffers=30 ! audio/x-raw,rate=44100,channels=1,format=S16LE ! flacenc ! "
      "filesink location=%s");
  ASSERT_FALSE(path.empty());
  montage::SongAnalysis song;
  GError *err = nullptr;
  ASSERT_TRUE(montage_tool::analyse_song(path, song, &err)) << (err ? err->message : "");
  EXPECT_EQ(song.duration, 3 * GST_SECOND);
}

/* A FLAC cut short (its first part, as a truncated download): the song is
 * what decodes, and the length its header states is kept beside it, so the
 * tool can say the song was cut short (trial h114, finding 10: 82.33 s
 * stated, 5.43 s decoded, no word). The whole file is not cut short. */
TEST(SongAnalysis, TruncatedSongKeepsTheLengthItsFileStates)
{
  montage_tool::register_elements();
  const std::string whole = montage_test::make_media(
      "twenty-seconds.flac",
      "audiotestsrc wave=ticks tick-interval=500000000 volume=0.8 samplesperbuffer=4410 "
      "num-buffers=200 ! audio/x-raw,rate=44100,channels=1,format=S16LE ! flacenc ! "
      "filesink location=%s");
  ASSERT_FALSE(whole.empty());
  gchar *bytes = nullptr;
  gsize size = 0;
  ASSERT_TRUE(g_file_get_contents(whole.c_str(), &bytes, &size, nullptr));
  const std::string cut = whole + ".cut.flac";
  const bool written = g_file_set_contents(cut.c_str(), bytes, (gssize)(size / 3), nullptr);
  g_free(bytes);
  ASSERT_TRUE(written);

  montage::SongAnalysis song;
  GError *err = nullptr;
  ASSERT_TRUE(montage_tool::analyse_song(cut, song, &err)) << (err ? err->message : "");
  EXPECT_LT(song.duration, 10 * GST_SECOND);
  EXPECT_EQ(song.stated_duration, 20 * GST_SECOND);
  EXPECT_TRUE(montage_tool::song_cut_short(song));

  montage::SongAnalysis full;
  ASSERT_TRUE(montage_tool::analyse_song(whole, full, &err)) << (err ? err->message : "");
  EXPECT_EQ(full.duration, 20 * GST_SECOND);
  EXPECT_EQ(full.stated_duration, 20 * GST_SECOND);
  EXPECT_FALSE(montage_tool::song_cut_short(full));
}

/* song_cut_short()'s margins: at least 1 s short and under 90 % of the
 * stated length; unknown lengths never are. */
TEST(SongAnalysis, CutShortNeedsBothMargins)
{
  montage::SongAnalysis song;
  EXPECT_FALSE(montage_tool::song_cut_short(song));
  song.duration = 5430 * kMs;
  EXPECT_FALSE(montage_tool::song_cut_short(song));
  song.stated_duration = 82330 * kMs;
  EXPECT_TRUE(montage_tool::song_cut_short(song));
  song.duration = 75 * GST_SECOND; /* over 90 % */
  EXPECT_FALSE(montage_tool::song_cut_short(song));
  song.duration = 1 * GST_SECOND, song.stated_duration = 1900 * kMs; /* under 1 s short */
  EXPECT_FALSE(montage_tool::song_cut_short(song));
  song.stated_duration = GST_CLOCK_TIME_NONE;
  EXPECT_FALSE(montage_tool::song_cut_short(song));
}

/* Writes a 5.1 WAV (WAVE_FORMAT_EXTENSIBLE, channel mask 0x3F: FL FR FC LFE
 * BL BR, 16-bit, 44.1 kHz) of `seconds`: a 20 ms 1 kHz click every 0.5 s in
 * front left and right at 0.5, and from half the song on a 60 Hz tone at 0.9
 * in the LFE; the other channels silent. "" on failure. */
std::string make_five_one_with_lfe(const char *name, int seconds)
{
  const guint32 rate = 44100, channels = 6, frames = rate * (guint32)seconds;
  std::string data;
  auto put16 = [&data](guint16 v) {
    data.push_back((char)(v & 0xff)), data.push_back((char)(v >> 8));
  };
  auto put32 = [&](guint32 v) { put16((guint16)(v & 0xffff)), put16((guint16)(v >> 16)); };
  data += "RIFF";
  put32(4 + 8 + 40 + 8 + frames * channels * 2);
  data += "WAVEfmt ";
  put32(40);
  put16(0xFFFE); /* WAVE_FORMAT_EXTENSIBLE */
  put16((guint16)channels);
  put32(rate);
  put32(rate * channels * 2);
  put16((guint16)(channels * 2));
  put16(16);
  put16(22);
  put16(16);
  put32(0x3F); /* FL FR FC LFE BL BR */
  /* KSDATAFORMAT_SUBTYPE_PCM */
  const guint8 pcm[16] = {1, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71};
  data.append((const char *)pcm, sizeof pcm);
  data += "data";
  put32(frames * channels * 2);
  for (guint32 i = 0; i < frames; i++) {
    const double t = (double)i / rate;
    const double in_beat = std::fmod(t, 0.5);
    const double click = in_beat < 0.02 ? 0.5 * std::sin(2 * G_PI * 1000 * in_beat) : 0.0;
    const double lfe = i >= frames / 2 ? 0.9 * std::sin(2 * G_PI * 60 * t) : 0.0;
    const double ch[6] = {click, click, 0.0, lfe, 0.0, 0.0};
    for (double v : ch)
      put16((guint16)(gint16)std::lround(v * 32767));
  }
  /* The process id in the name, as montage_test::make_media(). */
  gchar *unique = g_strdup_printf("%d-%s", (int)getpid(), name);
  gchar *path = g_build_filename(g_get_tmp_dir(), unique, nullptr);
  const std::string out = path;
  g_free(unique);
  g_free(path);
  if (!g_file_set_contents(out.c_str(), data.data(), (gssize)data.size(), nullptr))
    return "";
  return out;
}

/* A 5.1 song whose LFE plays a loud tone in its second half only: analysed
 * on the stereo downmix the montage plays (ITU-R BS.775, LFE dropped), its
 * energy stays that of the clicks, the same in both halves. Before, the
 * analysis averaged all six channels, LFE included, and the second half read
 * far louder than what is heard. */
TEST(SongAnalysis, FiveOneSongIsAnalysedOnTheRendersDownmix)
{
  montage_tool::register_elements();
  const std::string path = make_five_one_with_lfe("five-one-lfe.wav", 10);
  ASSERT_FALSE(path.empty());
  montage::SongAnalysis song;
  GError *err = nullptr;
  ASSERT_TRUE(montage_tool::analyse_song(path, song, &err)) << (err ? err->message : "");
  g_unlink(path.c_str());
  ASSERT_EQ(song.energy_interval, 100 * kMs);
  ASSERT_GE(song.energy_curve.size(), 95u);
  auto mean = [&song](std::size_t a, std::size_t b) {
    double sum = 0.0;
    for (std::size_t i = a; i < b; i++)
      sum += song.energy_curve[i];
    return sum / (double)(b - a);
  };
  const double first = mean(10, 45), second = mean(55, 90);
  EXPECT_GT(first, 0.0);
  EXPECT_NEAR(second, first, 0.02) << "first half " << first << ", second " << second;
}
