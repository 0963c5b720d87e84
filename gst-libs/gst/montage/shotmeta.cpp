/* gst-montage: shot meta (see shotmeta.h). */
#include <gst/montage/shotmeta.h>

#include <cstring>

namespace montage
{

namespace
{

constexpr const char *kStructureName = "montage-shot-start";

void fill(GstStructure *s, const ShotStart &start)
{
  gst_structure_set_name(s, kStructureName);
  gst_structure_set(s, "index", G_TYPE_UINT, start.index, "transition", G_TYPE_STRING,
                    start.boundary ? transition_name(start.transition) : kNoTransitionName,
                    "transition-start", G_TYPE_UINT64, (guint64)start.transition_start,
                    "transition-end", G_TYPE_UINT64, (guint64)start.transition_end, "score",
                    G_TYPE_DOUBLE, start.score, NULL);
}

/* Copies the meta whenever the buffer is copied or transformed: it describes
 * the frame, not its bytes. */
/* user_data: the registered name of the meta being copied. */
gboolean transform(GstBuffer *dest, GstCustomMeta *meta, GstBuffer *, GQuark, gpointer,
                   gpointer user_data)
{
  GstCustomMeta *copy = gst_buffer_add_custom_meta(dest, (const gchar *)user_data);
  if (!copy)
    return FALSE;
  GstStructure *to = gst_custom_meta_get_structure(copy);
  const GstStructure *from = gst_custom_meta_get_structure(meta);
  gst_structure_set_name(to, gst_structure_get_name(from));
  for (int k = 0; k < gst_structure_n_fields(from); k++) {
    const gchar *field = gst_structure_nth_field_name(from, k);
    gst_structure_set_value(to, field, gst_structure_get_value(from, field));
  }
  return TRUE;
}

} // namespace

const char *transition_name(Transition kind)
{
  switch (kind) {
  case Transition::kCut:
    return "cut";
  case Transition::kFade:
    return "fade";
  case Transition::kDissolve:
    return "dissolve";
  }
  return "cut";
}

bool transition_from_name(const char *name, Transition &kind)
{
  if (!name)
    return false;
  for (Transition t : {Transition::kCut, Transition::kFade, Transition::kDissolve})
    if (std::strcmp(name, transition_name(t)) == 0) {
      kind = t;
      return true;
    }
  return false;
}

/* The registered custom meta `name`, registering it tag-less (kept by every
 * transform) on first use. */
static const GstMetaInfo *tagless_meta_info(const char *name)
{
  const GstMetaInfo *info = gst_meta_get_info(name);
  if (!info) {
    static const gchar *no_tags[] = {nullptr};
    info = gst_meta_register_custom(name, no_tags, transform, (gpointer)name, nullptr);
  }
  return info;
}

const GstMetaInfo *shot_meta_get_info()
{
  static const GstMetaInfo *info = nullptr;
  static gsize once = 0;
  if (g_once_init_enter(&once)) {
    info = tagless_meta_info(kShotMetaName);
    g_once_init_leave(&once, 1);
  }
  return info;
}

bool shot_meta_add(GstBuffer *buf, const ShotStart &start)
{
  if (!buf || !gst_buffer_is_writable(buf) || !shot_meta_get_info())
    return false;
  GstCustomMeta *meta = gst_buffer_add_custom_meta(buf, kShotMetaName);
  if (!meta)
    return false;
  fill(gst_custom_meta_get_structure(meta), start);
  return true;
}

bool shot_meta_get(GstBuffer *buf, ShotStart &out)
{
  if (!buf || !shot_meta_get_info())
    return false;
  GstCustomMeta *meta = gst_buffer_get_custom_meta(buf, kShotMetaName);
  if (!meta)
    return false;
  const GstStructure *s = gst_custom_meta_get_structure(meta);
  guint64 v = 0;
  ShotStart r;
  gst_structure_get_uint(s, "index", &r.index);
  const gchar *kind = gst_structure_get_string(s, "transition");
  r.boundary = !kind || std::strcmp(kind, kNoTransitionName) != 0;
  transition_from_name(kind, r.transition);
  if (gst_structure_get_uint64(s, "transition-start", &v))
    r.transition_start = v;
  if (gst_structure_get_uint64(s, "transition-end", &v))
    r.transition_end = v;
  gst_structure_get_double(s, "score", &r.score);
  out = r;
  return true;
}

namespace
{

constexpr const char *kFeaturesStructureName = "montage-shot-features";

void set_histogram(GstStructure *s, const std::vector<float> &histogram)
{
  GValue array = G_VALUE_INIT, item = G_VALUE_INIT;
  gst_value_array_init(&array, (guint)histogram.size());
  g_value_init(&item, G_TYPE_DOUBLE);
  for (float b : histogram) {
    g_value_set_double(&item, b);
    gst_value_array_append_value(&array, &item);
  }
  gst_structure_take_value(s, "histogram", &array);
  g_value_unset(&item);
}

void get_histogram(const GstStructure *s, std::vector<float> &histogram)
{
  if (const GValue *h = gst_structure_get_value(s, "histogram"))
    if (GST_VALUE_HOLDS_ARRAY(h))
      for (guint k = 0; k < gst_value_array_get_size(h); k++)
        histogram.push_back((float)g_value_get_double(gst_value_array_get_value(h, k)));
}

} // namespace

const GstMetaInfo *shot_features_meta_get_info()
{
  static const GstMetaInfo *info = nullptr;
  static gsize once = 0;
  if (g_once_init_enter(&once)) {
    info = tagless_meta_info(kShotFeaturesMetaName);
    g_once_init_leave(&once, 1);
  }
  return info;
}

bool shot_features_meta_add(GstBuffer *buf, const ShotProgress &progress)
{
  if (!buf || !gst_buffer_is_writable(buf) || !shot_features_meta_get_info())
    return false;
  GstCustomMeta *meta = gst_buffer_add_custom_meta(buf, kShotFeaturesMetaName);
  if (!meta)
    return false;
  GstStructure *s = gst_custom_meta_get_structure(meta);
  const ShotFeatures &f = progress.features;
  gst_structure_set_name(s, kFeaturesStructureName);
  gst_structure_set(s, "index", G_TYPE_UINT, progress.index, "start", G_TYPE_UINT64,
                    (guint64)progress.start, "frames", G_TYPE_UINT, progress.frames,
                    "motion-mean", G_TYPE_DOUBLE, f.motion_mean, "motion-peak", G_TYPE_DOUBLE,
                    f.motion_peak, "sharpness", G_TYPE_DOUBLE, f.sharpness, "brightness",
                    G_TYPE_DOUBLE, f.brightness, "contrast", G_TYPE_DOUBLE, f.contrast,
                    "colourfulness", G_TYPE_DOUBLE, f.colourfulness, "best-inpoint",
                    G_TYPE_UINT64, (guint64)f.best_inpoint, NULL);
  set_histogram(s, f.histogram);
  return true;
}

bool shot_features_meta_get(GstBuffer *buf, ShotProgress &out)
{
  if (!buf || !shot_features_meta_get_info())
    return false;
  GstCustomMeta *meta = gst_buffer_get_custom_meta(buf, kShotFeaturesMetaName);
  if (!meta)
    return false;
  const GstStructure *s = gst_custom_meta_get_structure(meta);
  ShotProgress r;
  guint64 v = 0;
  gst_structure_get_uint(s, "index", &r.index);
  if (gst_structure_get_uint64(s, "start", &v))
    r.start = v;
  gst_structure_get_uint(s, "frames", &r.frames);
  ShotFeatures &f = r.features;
  gst_structure_get_double(s, "motion-mean", &f.motion_mean);
  gst_structure_get_double(s, "motion-peak", &f.motion_peak);
  gst_structure_get_double(s, "sharpness", &f.sharpness);
  gst_structure_get_double(s, "brightness", &f.brightness);
  gst_structure_get_double(s, "contrast", &f.contrast);
  gst_structure_get_double(s, "colourfulness", &f.colourfulness);
  if (gst_structure_get_uint64(s, "best-inpoint", &v))
    f.best_inpoint = v;
  get_histogram(s, f.histogram);
  out = r;
  return true;
}

GstStructure *shot_to_structure(const Shot &shot, guint index, bool boundary)
{
  const ShotFeatures &f = shot.features;
  GstStructure *s = gst_structure_new(
      "montage-shot", "index", G_TYPE_UINT, index, "start", G_TYPE_UINT64, (guint64)shot.start,
      "end", G_TYPE_UINT64, (guint64)shot.end, "duration", G_TYPE_UINT64,
      (guint64)(shot.end > shot.start ? shot.end - shot.start : 0), "transition", G_TYPE_STRING,
      boundary ? transition_name(shot.transition) : kNoTransitionName, "transition-start",
      G_TYPE_UINT64, (guint64)shot.transition_start, "transition-end", G_TYPE_UINT64,
      (guint64)shot.transition_end, "has-features", G_TYPE_BOOLEAN, (gboolean)shot.has_features,
      "motion-mean", G_TYPE_DOUBLE, f.motion_mean, "motion-peak", G_TYPE_DOUBLE, f.motion_peak,
      "sharpness", G_TYPE_DOUBLE, f.sharpness, "brightness", G_TYPE_DOUBLE, f.brightness,
      "contrast", G_TYPE_DOUBLE, f.contrast, "colourfulness", G_TYPE_DOUBLE, f.colourfulness,
      "best-inpoint", G_TYPE_UINT64, (guint64)f.best_inpoint, NULL);
  GValue array = G_VALUE_INIT, item = G_VALUE_INIT;
  gst_value_array_init(&array, (guint)f.histogram.size());
  g_value_init(&item, G_TYPE_DOUBLE);
  for (float b : f.histogram) {
    g_value_set_double(&item, b);
    gst_value_array_append_value(&array, &item);
  }
  gst_structure_take_value(s, "histogram", &array);
  g_value_unset(&item);
  return s;
}

bool shot_from_structure(const GstStructure *s, Shot &shot, bool *boundary)
{
  if (!s || !gst_structure_has_name(s, "montage-shot"))
    return false;
  Shot r;
  guint64 v = 0;
  auto get = [&](const char *name, GstClockTime &to) {
    if (gst_structure_get_uint64(s, name, &v))
      to = v;
  };
  get("start", r.start);
  get("end", r.end);
  get("transition-start", r.transition_start);
  get("transition-end", r.transition_end);
  get("best-inpoint", r.features.best_inpoint);
  const gchar *kind = gst_structure_get_string(s, "transition");
  transition_from_name(kind, r.transition);
  if (boundary)
    *boundary = !kind || std::strcmp(kind, kNoTransitionName) != 0;
  gboolean has = FALSE;
  gst_structure_get_boolean(s, "has-features", &has);
  r.has_features = has;
  ShotFeatures &f = r.features;
  gst_structure_get_double(s, "motion-mean", &f.motion_mean);
  gst_structure_get_double(s, "motion-peak", &f.motion_peak);
  gst_structure_get_double(s, "sharpness", &f.sharpness);
  gst_structure_get_double(s, "brightness", &f.brightness);
  gst_structure_get_double(s, "contrast", &f.contrast);
  gst_structure_get_double(s, "colourfulness", &f.colourfulness);
  if (const GValue *h = gst_structure_get_value(s, "histogram"))
    if (GST_VALUE_HOLDS_ARRAY(h))
      for (guint k = 0; k < gst_value_array_get_size(h); k++)
        f.histogram.push_back((float)g_value_get_double(gst_value_array_get_value(h, k)));
  shot = r;
  return true;
}

} // namespace montage
