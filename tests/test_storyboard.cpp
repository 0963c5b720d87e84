/* The storyboard (library: storyboard.h) as a library call: how many
 * decoding pipelines it keeps open. Its picture (layout, labels, turned
 * clips) is tested through the tool in test_tool.cpp. */
#include "testutil.h"

#include <gst/montage/storyboard.h>

#include <cairo.h>
#include <glib/gstdio.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

namespace
{

/* A tracer of our own whose one hook counts the playbins that are at least
 * READY (open: a decoder and its threads and frames) at any moment. */
struct PipelineCounter {
  GstTracer parent;
};
struct PipelineCounterClass {
  GstTracerClass parent_class;
};
G_DEFINE_TYPE(PipelineCounter, pipeline_counter, GST_TYPE_TRACER)
void pipeline_counter_class_init(PipelineCounterClass *) {}
void pipeline_counter_init(PipelineCounter *) {}

std::mutex g_count_lock;
int g_open = 0;   /* playbins open now */
int g_peak = 0;   /* the most open at once */
int g_opened = 0; /* playbins opened in all */

void on_state_changed(GObject *, GstClockTime, GstElement *element, GstStateChange transition,
                      GstStateChangeReturn result)
{
  GstElementFactory *factory = gst_element_get_factory(element);
  if (!factory || strcmp(GST_OBJECT_NAME(factory), "playbin") != 0)
    return;
  std::lock_guard<std::mutex> lock(g_count_lock);
  if (transition == GST_STATE_CHANGE_NULL_TO_READY && result != GST_STATE_CHANGE_FAILURE) {
    g_open++;
    g_opened++;
    g_peak = std::max(g_peak, g_open);
  } else if (transition == GST_STATE_CHANGE_READY_TO_NULL) {
    g_open--;
  }
}

void count_pipelines()
{
  static bool registered = false;
  if (!registered) {
    GstTracer *tracer = GST_TRACER(g_object_new(pipeline_counter_get_type(), nullptr));
    /* The hook holds its own reference. */
    gst_tracing_register_hook(tracer, "element-change-state-post", G_CALLBACK(on_state_changed));
    gst_object_unref(tracer);
    registered = true;
  }
  std::lock_guard<std::mutex> lock(g_count_lock);
  g_open = g_peak = g_opened = 0;
}

} // namespace

/* One clip's pipeline at a time, whatever the order of the segments: each
 * clip's pipeline grabs all of its thumbnails and is closed before the next
 * opens. Every clip's stayed open until the last thumbnail was drawn, ~190 MB
 * per 1080p H.264 clip (review h119, finding 2: 7 GB for 40 clips). */
TEST(Storyboard, OpensOneClipsPipelineAtATime)
{
  const std::vector<std::string> files = {montage_test::media_path("vtest.avi"),
                                          montage_test::media_path("oa4_launch.webm"),
                                          montage_test::media_path("Megamind.avi")};
  std::vector<montage::ClipAnalysis> clips;
  for (const std::string &f : files) {
    ASSERT_FALSE(f.empty());
    montage::ClipAnalysis c;
    c.path = f;
    c.uri = montage_test::uri_of(f);
    clips.push_back(c);
  }
  /* A B C A B C: clips interleaved, as plans use them. */
  montage::Plan plan;
  plan.fps_n = 30;
  plan.fps_d = 1;
  for (size_t i = 0; i < 6; i++) {
    montage::Segment s;
    s.start = i * GST_SECOND;
    s.duration = GST_SECOND;
    s.clip = i % clips.size();
    s.inpoint = (i / clips.size()) * GST_SECOND / 2;
    plan.segments.push_back(s);
  }
  plan.duration = plan.segments.size() * GST_SECOND;
  montage::SongAnalysis song;
  song.duration = plan.duration;
  const std::string png = std::string(g_get_tmp_dir()) + "/storyboard.png";

  count_pipelines();
  GError *err = nullptr;
  ASSERT_TRUE(montage::write_storyboard(plan, song, clips, png, montage::StoryboardOptions(), &err))
      << (err ? err->message : "");
  {
    std::lock_guard<std::mutex> lock(g_count_lock);
    EXPECT_EQ(g_opened, 3) << "one pipeline per clip";
    EXPECT_EQ(g_peak, 1) << "pipelines open at once";
    EXPECT_EQ(g_open, 0) << "pipelines left open";
  }
  cairo_surface_t *image = cairo_image_surface_create_from_png(png.c_str());
  EXPECT_EQ(cairo_surface_status(image), CAIRO_STATUS_SUCCESS);
  EXPECT_EQ(cairo_image_surface_get_width(image), 1600);
  cairo_surface_destroy(image);
  g_unlink(png.c_str());
}
