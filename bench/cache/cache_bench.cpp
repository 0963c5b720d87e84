/* Loading a 10,000-shot analysis: msgpack cache entry vs the same data as JSON.
 *
 * Issue 5's targets: loading an entry of 10,000 shots takes at most 5 ms, at
 * least 10x faster than the same data as JSON (json-glib) measured here, and
 * the entry is at least 2x smaller on disk. Prints the medians of 30 loads
 * from a warm page cache and the ratios. Not a test: nothing asserts.
 */
#include <gst/montage/cache.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include <algorithm>
#include <cstdio>
#include <vector>

namespace {

montage::ClipAnalysis make_clip(size_t n)
{
  montage::ClipAnalysis c;
  c.path = "/media/long-footage.mp4";
  c.uri = "file:///media/long-footage.mp4";
  c.duration = n * 3 * GST_SECOND;
  c.fps_n = 30000;
  c.fps_d = 1001;
  c.width = 1920;
  c.height = 1080;
  GRand *rand = g_rand_new_with_seed(7);
  for (size_t i = 1; i < n; i++)
    c.cuts.push_back(i * 3 * GST_SECOND + g_rand_int_range(rand, 0, 1000000));
  montage::shots_from_cuts(c);
  for (montage::Shot &s : c.shots) {
    s.has_features = true;
    s.features.motion_mean = g_rand_double_range(rand, 0, 40);
    s.features.motion_peak = s.features.motion_mean * 2;
    s.features.sharpness = g_rand_double_range(rand, 10, 900);
    s.features.brightness = g_rand_double_range(rand, 20, 230);
    s.features.contrast = g_rand_double_range(rand, 5, 90);
    s.features.colourfulness = g_rand_double_range(rand, 0, 120);
    s.features.histogram.resize(48);
    float sum = 0;
    for (float &h : s.features.histogram)
      sum += (h = (float)g_rand_double(rand));
    for (float &h : s.features.histogram)
      h /= sum;
    s.features.best_inpoint = s.start + GST_SECOND;
  }
  g_rand_free(rand);
  return c;
}

std::string to_json(const montage::ClipAnalysis &c)
{
  JsonBuilder *b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "path");
  json_builder_add_string_value(b, c.path.c_str());
  json_builder_set_member_name(b, "uri");
  json_builder_add_string_value(b, c.uri.c_str());
  json_builder_set_member_name(b, "duration");
  json_builder_add_int_value(b, c.duration);
  json_builder_set_member_name(b, "fps");
  json_builder_begin_array(b);
  json_builder_add_int_value(b, c.fps_n);
  json_builder_add_int_value(b, c.fps_d);
  json_builder_end_array(b);
  json_builder_set_member_name(b, "shots");
  json_builder_begin_array(b);
  for (const montage::Shot &s : c.shots) {
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "start");
    json_builder_add_int_value(b, s.start);
    json_builder_set_member_name(b, "end");
    json_builder_add_int_value(b, s.end);
    json_builder_set_member_name(b, "motion_mean");
    json_builder_add_double_value(b, s.features.motion_mean);
    json_builder_set_member_name(b, "motion_peak");
    json_builder_add_double_value(b, s.features.motion_peak);
    json_builder_set_member_name(b, "sharpness");
    json_builder_add_double_value(b, s.features.sharpness);
    json_builder_set_member_name(b, "brightness");
    json_builder_add_double_value(b, s.features.brightness);
    json_builder_set_member_name(b, "contrast");
    json_builder_add_double_value(b, s.features.contrast);
    json_builder_set_member_name(b, "colourfulness");
    json_builder_add_double_value(b, s.features.colourfulness);
    json_builder_set_member_name(b, "histogram");
    json_builder_begin_array(b);
    for (float h : s.features.histogram)
      json_builder_add_double_value(b, h);
    json_builder_end_array(b);
    json_builder_set_member_name(b, "best_inpoint");
    json_builder_add_int_value(b, s.features.best_inpoint);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  json_builder_end_object(b);
  JsonGenerator *g = json_generator_new();
  JsonNode *root = json_builder_get_root(b);
  json_generator_set_root(g, root);
  gchar *text = json_generator_to_data(g, nullptr);
  std::string out(text);
  g_free(text);
  json_node_unref(root);
  g_object_unref(g);
  g_object_unref(b);
  return out;
}

bool from_json_file(const std::string &path, montage::ClipAnalysis &c)
{
  JsonParser *p = json_parser_new();
  if (!json_parser_load_from_file(p, path.c_str(), nullptr)) {
    g_object_unref(p);
    return false;
  }
  JsonObject *o = json_node_get_object(json_parser_get_root(p));
  c.path = json_object_get_string_member(o, "path");
  c.uri = json_object_get_string_member(o, "uri");
  c.duration = json_object_get_int_member(o, "duration");
  JsonArray *shots = json_object_get_array_member(o, "shots");
  c.shots.resize(json_array_get_length(shots));
  for (guint i = 0; i < c.shots.size(); i++) {
    JsonObject *s = json_array_get_object_element(shots, i);
    montage::Shot &shot = c.shots[i];
    shot.start = json_object_get_int_member(s, "start");
    shot.end = json_object_get_int_member(s, "end");
    shot.has_features = true;
    shot.features.motion_mean = json_object_get_double_member(s, "motion_mean");
    shot.features.motion_peak = json_object_get_double_member(s, "motion_peak");
    shot.features.sharpness = json_object_get_double_member(s, "sharpness");
    shot.features.brightness = json_object_get_double_member(s, "brightness");
    shot.features.contrast = json_object_get_double_member(s, "contrast");
    shot.features.colourfulness = json_object_get_double_member(s, "colourfulness");
    JsonArray *h = json_object_get_array_member(s, "histogram");
    shot.features.histogram.resize(json_array_get_length(h));
    for (guint k = 0; k < shot.features.histogram.size(); k++)
      shot.features.histogram[k] = (float)json_array_get_double_element(h, k);
    shot.features.best_inpoint = json_object_get_int_member(s, "best_inpoint");
  }
  g_object_unref(p);
  return true;
}

template <typename F> double median_ms(int runs, F &&f)
{
  std::vector<double> t;
  for (int i = 0; i < runs; i++) {
    gint64 t0 = g_get_monotonic_time();
    if (!f()) {
      fprintf(stderr, "load failed\n");
      return -1;
    }
    t.push_back((g_get_monotonic_time() - t0) / 1000.0);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

} // namespace

int main()
{
  const size_t kShots = 10000;
  gchar *dir = g_dir_make_tmp("montage-cache-bench-XXXXXX", nullptr);
  montage::ClipAnalysis clip = make_clip(kShots);
  montage::AnalysisCache cache(std::string(dir) + "/cache");
  const std::string key(64, 'a');
  if (!cache.store_clip(key, clip, nullptr))
    return 1;
  std::string json_path = std::string(dir) + "/clip.json";
  std::string json = to_json(clip);
  g_file_set_contents(json_path.c_str(), json.data(), json.size(), nullptr);
  montage::CacheStats st = cache.stats();

  montage::ClipAnalysis out;
  from_json_file(json_path, out); /* warm the page cache */
  cache.load_clip(key, out);
  double ms_cache = median_ms(30, [&] { return cache.load_clip(key, out) && out.shots.size() == kShots; });
  double ms_json = median_ms(30, [&] { return from_json_file(json_path, out) && out.shots.size() == kShots; });

  printf("10,000-shot clip analysis, median of 30 loads (warm page cache):\n");
  printf("  msgpack cache entry: %8.3f ms  %9.0f KiB\n", ms_cache, st.bytes / 1024.0);
  printf("  JSON (json-glib):    %8.3f ms  %9.0f KiB\n", ms_json, json.size() / 1024.0);
  printf("  load: %.2f ms against the 5 ms target (%s); %.1fx faster than JSON (target >= 10x)\n",
         ms_cache, ms_cache <= 5.0 ? "met" : "MISSED", ms_json / ms_cache);
  printf("  size: %.1fx smaller than JSON (target >= 2x)\n", (double)json.size() / st.bytes);
  cache.clear(nullptr);
  g_unlink(json_path.c_str());
  g_rmdir((std::string(dir) + "/cache").c_str());
  g_rmdir(dir);
  g_free(dir);
  return 0;
}
