/* bench/scene: runs montage::analyse_clip_file() on each file given and
 * prints one JSON object per line: path, run, mode, wall seconds (of
 * analyse_clip_file() alone), frames decoded, keyframes, refined ranges,
 * frames the refinement's runs analysed, first frame, fps and the cuts
 * (stream time, ns) with their transitions and features, and the work
 * counted (ClipAnalyseStats: pipelines built, seeks, GstDiscoverer runs,
 * whether the last GOP was decoded from its reference pictures alone and
 * whether it was then decoded again).
 * --runs N analyses each file N times in this process, one line each (run 0
 * to N - 1): the first pays for loading the plugins, the later ones do not.
 * Used by bench/scene/run.py; not a test.
 *
 *   scene-detect-bench [--mode full|keyframes|auto] [--detector NAME] [--runs N]
 *                      [--keyframe-change DISTANCE] [--refine-decoders N]
 *                      [--tail-references-only SHARE] FILE...
 */
#include <gst/montage/clipanalysis.h>
#include <gst/montage/shotmeta.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

int main(int argc, char **argv)
{
  gst_init(&argc, &argv);
  montage::ClipAnalyseOptions options;
  const char *mode = "auto";
  int status = 0, runs = 1;
  for (int k = 1; k < argc; k++) {
    if (!std::strcmp(argv[k], "--mode") && k + 1 < argc) {
      mode = argv[++k];
      options.mode = !std::strcmp(mode, "full")        ? montage::ClipAnalyseOptions::Mode::kFull
                     : !std::strcmp(mode, "keyframes") ? montage::ClipAnalyseOptions::Mode::kKeyframes
                                                       : montage::ClipAnalyseOptions::Mode::kAuto;
      continue;
    }
    if (!std::strcmp(argv[k], "--refine-decoders") && k + 1 < argc) {
      options.refine_decoders = (guint)g_ascii_strtoull(argv[++k], nullptr, 10);
      continue;
    }
    if (!std::strcmp(argv[k], "--tail-references-only") && k + 1 < argc) {
      options.tail_references_only = g_ascii_strtod(argv[++k], nullptr);
      continue;
    }
    if (!std::strcmp(argv[k], "--runs") && k + 1 < argc) {
      runs = std::max(1, (int)g_ascii_strtoll(argv[++k], nullptr, 10));
      continue;
    }
    if (!std::strcmp(argv[k], "--keyframe-change") && k + 1 < argc) {
      options.keyframe_change = g_ascii_strtod(argv[++k], nullptr);
      continue;
    }
    if (!std::strcmp(argv[k], "--detector") && k + 1 < argc) {
      if (!montage::detector_kind_from_name(argv[++k], options.detector.detector)) {
        std::fprintf(stderr, "unknown detector %s\n", argv[k]);
        return 2;
      }
      continue;
    }
    for (int run = 0; run < runs; run++) {
      montage::ClipAnalysis clip;
      montage::ClipAnalyseStats stats;
      GError *error = nullptr;
      const auto t0 = std::chrono::steady_clock::now();
      const bool ok = montage::analyse_clip_file(argv[k], options, clip, &error, &stats);
      const double wall =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (!ok) {
        std::printf("{\"path\": \"%s\", \"error\": \"%s\"}\n", argv[k], error->message);
        g_error_free(error);
        status = 1;
        break;
      }
      std::printf("{\"path\": \"%s\", \"run\": %d, \"mode\": \"%s\", \"keyframe_path\": %s, "
                  "\"route\": \"%s\", "
                  "\"wall\": %.4f, "
                  "\"frames_decoded\": %" G_GUINT64_FORMAT ", \"keyframes\": %u, \"refined\": %u, "
                  "\"refined_frames\": %" G_GUINT64_FORMAT ", "
                  "\"pipelines\": %u, \"seeks\": %u, \"discoveries\": %u, "
                  "\"tail_references_only\": %s, \"tail_decoded_again\": %s, "
                  "\"first_frame\": %" G_GUINT64_FORMAT ", \"fps_n\": %d, \"fps_d\": %d, "
                  "\"duration\": %" G_GUINT64_FORMAT ", \"open_s\": %.4f, \"coarse_s\": %.4f, "
                  "\"refine_s\": %.4f, \"shots\": [",
                  argv[k], run, mode, stats.keyframe_path ? "true" : "false",
                  montage::clip_analyse_path_text(stats.path), wall, stats.frames_decoded,
                  stats.keyframes, stats.refined_ranges, stats.refined_frames, stats.pipelines,
                  stats.seeks, stats.discoveries, stats.tail_references_only ? "true" : "false",
                  stats.tail_decoded_again ? "true" : "false", (guint64)clip.first_frame,
                  clip.fps_n, clip.fps_d, (guint64)clip.duration, stats.open_time / 1e9,
                  stats.coarse_time / 1e9, stats.refine_time / 1e9);
      for (size_t s = 0; s < clip.shots.size(); s++)
        std::printf("%s{\"start\": %" G_GUINT64_FORMAT ", \"transition\": \"%s\", "
                    "\"transition_end\": %" G_GUINT64_FORMAT ", \"has_features\": %s, "
                    "\"sharpness\": %.1f, \"motion\": %.2f, \"motion_peak\": %.2f, "
                    "\"brightness\": %.2f, \"contrast\": %.2f, \"colourfulness\": %.2f, "
                    "\"best_inpoint\": %" G_GUINT64_FORMAT "}",
                    s ? ", " : "", (guint64)clip.shots[s].start,
                    montage::transition_name(clip.shots[s].transition),
                    (guint64)clip.shots[s].transition_end,
                    clip.shots[s].has_features ? "true" : "false", clip.shots[s].features.sharpness,
                    clip.shots[s].features.motion_mean, clip.shots[s].features.motion_peak,
                    clip.shots[s].features.brightness, clip.shots[s].features.contrast,
                    clip.shots[s].features.colourfulness,
                    (guint64)clip.shots[s].features.best_inpoint);
      std::printf("]}\n");
      std::fflush(stdout);
    }
  }
  return status;
}
