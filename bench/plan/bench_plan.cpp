/* Benchmark: planning 2,000 shots into ~300 cuts (issue 4: under 50 ms on one core).
 *
 *   build/bench/bench_plan [RUNS]
 *
 * Builds a synthetic but realistic input in memory (no media): 40 clips of 50
 * shots each, 1.5-6 s long, with montagescene-like features and 16-bin
 * histograms drawn from a fixed generator; a 128 BPM song of 4:4 bars with a
 * calm / medium / peak section pattern, long enough for ~300 cuts in the
 * balanced style. Times plan_montage_explained() (the whole planner: pacing,
 * the K-D tree selection engine, the decision record) single-threaded, median
 * of RUNS runs (default 15), and as the reference measured in the same run the
 * same planner with the engine scoring every shot at every cut (neighbours =
 * all: what selection costs without the K-D tree). Prints both, the ratio of
 * the median to the 50 ms target, and the speed-up of the tree.
 */
#include <gst/montage/planner.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

using namespace montage;

namespace
{

GstClockTime secs(double s)
{
  return (GstClockTime)(s * GST_SECOND + 0.5);
}

SongAnalysis make_song()
{
  SongAnalysis song;
  song.uri = "file:///bench/song.ogg";
  song.bpm = 128.0;
  const double beat = 60.0 / 128.0;
  const std::size_t beats = 552;
  for (std::size_t i = 0; i < beats; i++) {
    song.beats.push_back(secs(i * beat));
    song.downbeats.push_back(i % 4 == 0);
  }
  song.beats_per_bar = 4;
  song.meter_confidence = 1.0;
  song.duration = secs(beats * beat + 1.0);
  /* 32-bar pattern: 8 bars calm, 16 medium, 8 peak. */
  const Section::Level pattern[] = {Section::Level::kLow, Section::Level::kMedium,
                                    Section::Level::kMedium, Section::Level::kHigh};
  for (std::size_t bar = 0, k = 0; bar * 4 < beats; bar += 8, k++) {
    Section s;
    s.start = song.beats[bar * 4];
    s.end = (bar + 8) * 4 < beats ? song.beats[(bar + 8) * 4] : song.duration;
    s.level = pattern[k % 4];
    song.sections.push_back(s);
  }
  for (std::size_t i = 0; i < beats; i++)
    song.beat_energy.push_back(0.3 + 0.7 * std::abs(std::sin(i * 0.01)));
  return song;
}

std::vector<ClipAnalysis> make_clips(std::size_t n_clips, std::size_t shots_per_clip)
{
  std::mt19937 gen(42);
  auto uniform = [&](double lo, double hi) { return lo + (hi - lo) * (gen() % 100000) / 99999.0; };
  std::vector<ClipAnalysis> clips;
  for (std::size_t c = 0; c < n_clips; c++) {
    ClipAnalysis clip;
    clip.path = "/bench/clip" + std::to_string(c) + ".mp4";
    clip.uri = "file://" + clip.path;
    clip.fps_n = 30000;
    clip.fps_d = 1001;
    double t = 0.0;
    for (std::size_t s = 0; s < shots_per_clip; s++) {
      Shot shot;
      shot.start = shot.transition_start = shot.transition_end = secs(t);
      t += uniform(1.5, 6.0);
      shot.end = secs(t);
      shot.has_features = true;
      ShotFeatures &f = shot.features;
      f.motion_mean = uniform(0.5, 30.0);
      f.motion_peak = f.motion_mean * 1.5;
      f.sharpness = uniform(20.0, 2500.0);
      f.brightness = uniform(30.0, 220.0);
      f.contrast = uniform(10.0, 80.0);
      f.colourfulness = uniform(5.0, 100.0);
      f.histogram.resize(16);
      float sum = 0.0f;
      for (float &h : f.histogram)
        sum += h = (float)uniform(0.0, 1.0);
      for (float &h : f.histogram)
        h /= sum;
      f.best_inpoint =
          secs(uniform(0.0, 0.5) * (double)(shot.end - shot.start) / GST_SECOND) + shot.start;
      clip.shots.push_back(shot);
      if (s > 0)
        clip.cuts.push_back(shot.start);
    }
    clip.duration = secs(t);
    clips.push_back(std::move(clip));
  }
  return clips;
}

struct Timing {
  double median_ms = 0.0;
  double min_ms = 0.0;
  std::size_t cuts = 0;
};

Timing time_plan(const SongAnalysis &song, const std::vector<ClipAnalysis> &clips,
                 const PlanSettings &settings, int runs)
{
  std::vector<double> ms;
  Timing out;
  for (int i = 0; i < runs; i++) {
    auto t0 = std::chrono::steady_clock::now();
    PlanResult r = plan_montage_explained(song, clips, settings);
    auto t1 = std::chrono::steady_clock::now();
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    out.cuts = r.plan.segments.size();
  }
  std::sort(ms.begin(), ms.end());
  out.median_ms = ms[ms.size() / 2];
  out.min_ms = ms.front();
  return out;
}

} // namespace

int main(int argc, char **argv)
{
  gst_init(nullptr, nullptr);
  const int runs = argc > 1 ? std::max(1, atoi(argv[1])) : 15;
  const SongAnalysis song = make_song();
  const std::vector<ClipAnalysis> clips = make_clips(40, 50);
  std::size_t shots = 0;
  for (const ClipAnalysis &c : clips)
    shots += c.shots.size();

  PlanSettings settings;
  settings.seed = 1;
  const Timing tree = time_plan(song, clips, settings, runs);
  PlanSettings all = settings;
  all.style.neighbours = shots; /* walk and score every shot at every cut */
  const Timing brute = time_plan(song, clips, all, runs);

  const double target_ms = 50.0;
  std::printf(
      "plan: %zu shots in %zu clips, song %.1f s, %zu beats -> %zu cuts (median of %d runs, "
      "one thread)\n",
      shots, clips.size(), (double)song.duration / GST_SECOND, song.beats.size(), tree.cuts, runs);
  std::printf("  K-D tree engine (neighbours %zu):  median %7.2f ms  min %7.2f ms\n",
              settings.style.neighbours, tree.median_ms, tree.min_ms);
  std::printf("  reference, every shot scored:     median %7.2f ms  min %7.2f ms\n",
              brute.median_ms, brute.min_ms);
  std::printf("  ratio to the 50 ms target: %.3f (%s)\n", tree.median_ms / target_ms,
              tree.median_ms < target_ms ? "met" : "NOT met");
  std::printf("  K-D tree speed-up over scoring every shot: %.2fx\n",
              brute.median_ms / tree.median_ms);
  return 0;
}
