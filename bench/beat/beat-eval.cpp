/* beat-eval: runs montage::BeatTracker (no pipeline) on raw mono float
 * samples and prints what it found, for bench/beat/quick.py.
 *
 *   beat-eval offline|live FILE.f32 RATE [MIN_BPM MAX_BPM] [--live-delay MS]
 *
 * FILE.f32: native-endian 32-bit float mono samples at RATE Hz (ffmpeg
 * -ac 1 -f f32le). Prints "bpm B" then one "TIME_S DOWNBEAT" line per beat:
 * offline, the whole-song pass (finish()); live, the causal beats as push()
 * returned them (whole_song off, as montagebeat mode=live). MIN_BPM and
 * MAX_BPM: the tempo range (BeatTrackerConfig::min_bpm, max_bpm; default
 * the whole 40-240). --live-delay MS: BeatTrackerConfig::live_delay
 * (montagebeat's live-delay; default 350 ms). Exit status 1 with a message on bad arguments or an
 * unreadable file. */
#include <gst/montage/beattracker.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

int main(int argc, char **argv)
{
  const bool mode_ok = argc > 1 && (std::strcmp(argv[1], "offline") == 0 || std::strcmp(argv[1], "live") == 0);
  double live_delay_ms = -1;
  if (argc >= 6 && std::strcmp(argv[argc - 2], "--live-delay") == 0) {
    live_delay_ms = std::strtod(argv[argc - 1], nullptr);
    argc -= 2;
  }
  if ((argc != 4 && argc != 6) || !mode_ok) {
    std::fprintf(
        stderr,
        "usage: beat-eval offline|live FILE.f32 RATE [MIN_BPM MAX_BPM] [--live-delay MS]\n");
    return 1;
  }
  const bool live = std::strcmp(argv[1], "live") == 0;
  const long rate = std::strtol(argv[3], nullptr, 10);
  FILE *f = std::fopen(argv[2], "rb");
  if (!f) {
    std::fprintf(stderr, "beat-eval: cannot open %s\n", argv[2]);
    return 1;
  }
  try {
    montage::BeatTrackerConfig config;
    config.whole_song = !live;
    if (argc == 6) {
      config.min_bpm = std::strtod(argv[4], nullptr);
      config.max_bpm = std::strtod(argv[5], nullptr);
    }
    if (live_delay_ms >= 0)
      config.live_delay = (GstClockTime)(live_delay_ms * GST_MSECOND);
    montage::BeatTracker tracker((guint)rate, config);
    std::vector<float> buf(4096);
    std::vector<montage::Beat> causal;
    std::size_t n;
    while ((n = std::fread(buf.data(), sizeof(float), buf.size(), f)) > 0) {
      std::vector<montage::Beat> got = tracker.push(buf.data(), n);
      causal.insert(causal.end(), got.begin(), got.end());
    }
    std::fclose(f);
    if (live) {
      std::printf("bpm %f\n", causal.empty() ? 0.0 : causal.back().bpm);
      for (const montage::Beat &b : causal)
        std::printf("%.6f %d\n", (double)b.time / GST_SECOND, b.downbeat ? 1 : 0);
    } else {
      montage::SongAnalysis song = tracker.finish();
      std::fprintf(stderr, "meter %u confidence %.3f\n", song.beats_per_bar, song.meter_confidence);
      std::printf("bpm %f\n", song.bpm);
      for (std::size_t i = 0; i < song.beats.size(); i++)
        std::printf("%.6f %d\n", (double)song.beats[i] / GST_SECOND,
                    i < song.downbeats.size() && song.downbeats[i] ? 1 : 0);
    }
  } catch (const montage::BeatTrackerError &e) {
    std::fprintf(stderr, "beat-eval: %s\n", e.what());
    return 1;
  }
  return 0;
}
