/* gst-montage tests: field-by-field equality of two clip analyses. */
#pragma once

#include <gtest/gtest.h>

#include <gst/montage/clipanalysis.h>

namespace montage_test
{

/* Expects a and b to be the same analysis: the clip's fields, and every
 * shot's times, transition and features, compared exactly (a cache round
 * trip and a differently split decoding must not move a bit). */
inline void expect_same_clip(const montage::ClipAnalysis &a, const montage::ClipAnalysis &b)
{
  EXPECT_EQ(a.path, b.path);
  EXPECT_EQ(a.uri, b.uri);
  EXPECT_EQ(a.duration, b.duration);
  EXPECT_EQ(a.first_frame, b.first_frame);
  EXPECT_EQ(a.fps_n, b.fps_n);
  EXPECT_EQ(a.fps_d, b.fps_d);
  EXPECT_EQ(a.width, b.width);
  EXPECT_EQ(a.height, b.height);
  EXPECT_EQ(a.cuts, b.cuts);
  EXPECT_EQ(a.analysis_path, b.analysis_path);
  ASSERT_EQ(a.shots.size(), b.shots.size());
  for (size_t i = 0; i < a.shots.size(); i++) {
    const montage::Shot &x = a.shots[i], &y = b.shots[i];
    SCOPED_TRACE("shot " + std::to_string(i));
    EXPECT_EQ(x.start, y.start);
    EXPECT_EQ(x.end, y.end);
    EXPECT_EQ(x.transition, y.transition);
    EXPECT_EQ(x.transition_start, y.transition_start);
    EXPECT_EQ(x.transition_end, y.transition_end);
    EXPECT_EQ(x.has_features, y.has_features);
    if (x.has_features && y.has_features) {
      EXPECT_EQ(x.features.motion_mean, y.features.motion_mean);
      EXPECT_EQ(x.features.motion_peak, y.features.motion_peak);
      EXPECT_EQ(x.features.sharpness, y.features.sharpness);
      EXPECT_EQ(x.features.brightness, y.features.brightness);
      EXPECT_EQ(x.features.contrast, y.features.contrast);
      EXPECT_EQ(x.features.colourfulness, y.features.colourfulness);
      EXPECT_EQ(x.features.histogram, y.features.histogram);
      EXPECT_EQ(x.features.best_inpoint, y.features.best_inpoint);
    }
  }
}

} // namespace montage_test
