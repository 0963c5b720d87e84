/* gst-montage: MontageBeatMeta. See beatmeta.h. */
#include <gst/montage/beatmeta.h>

namespace {

void fill(GstStructure *s, const MontageBeatInfo *b)
{
  gst_structure_set(s, "time", G_TYPE_UINT64, (guint64)b->time, "strength", G_TYPE_DOUBLE, b->strength,
                    "downbeat", G_TYPE_BOOLEAN, b->downbeat, "bar-position", G_TYPE_UINT, b->bar_position,
                    "bpm", G_TYPE_DOUBLE, b->bpm, NULL);
  if (b->energy >= 0)
    gst_structure_set(s, "energy", G_TYPE_DOUBLE, b->energy, NULL);
}

/* Whether a copy of the region [offset, offset + size) of `buffer` holds
 * the beat at `time`. The region's time span is its share of the buffer's
 * PTS and duration (bytes stand for time evenly in raw audio). A beat
 * before the PTS (known after its own buffer had gone, see beatmeta.h)
 * goes with the region that starts the buffer, one past the end with the
 * region that ends it. Without a PTS, a duration or a size, or without a
 * time in the meta, every region keeps it, as a whole copy does. */
bool region_holds(GstBuffer *buffer, const GstStructure *s, gsize offset, gsize size)
{
  guint64 time = GST_CLOCK_TIME_NONE;
  const gsize total = gst_buffer_get_size(buffer);
  const GstClockTime pts = GST_BUFFER_PTS(buffer), duration = GST_BUFFER_DURATION(buffer);
  if (!gst_structure_get_uint64(s, "time", &time) || !GST_CLOCK_TIME_IS_VALID(time) ||
      !GST_CLOCK_TIME_IS_VALID(pts) || !GST_CLOCK_TIME_IS_VALID(duration) || total == 0)
    return true;
  if (size == (gsize)-1 || offset + size > total)
    size = offset < total ? total - offset : 0;
  const GstClockTime from = pts + gst_util_uint64_scale(offset, duration, total);
  const GstClockTime to = pts + gst_util_uint64_scale(offset + size, duration, total);
  if (time < pts)
    return offset == 0;
  if (time >= pts + duration)
    return offset + size >= total;
  return time >= from && time < to;
}

/* Copies the meta onto buffer copies: whole copies all, a copy of a region
 * (gst_buffer_copy_region(): a splitter cutting the buffer in pieces) only
 * where the beat falls inside it, so that the pieces carry each beat once;
 * drops it on any other transform. */
gboolean transform(GstBuffer *transbuf, GstCustomMeta *meta, GstBuffer *buffer, GQuark type,
                   gpointer data, gpointer)
{
  if (!GST_META_TRANSFORM_IS_COPY(type))
    return FALSE;
  const GstMetaTransformCopy *copy_data = static_cast<const GstMetaTransformCopy *>(data);
  if (copy_data && copy_data->region &&
      !region_holds(buffer, gst_custom_meta_get_structure(meta), copy_data->offset,
                    copy_data->size))
    return TRUE;
  GstCustomMeta *copy = gst_buffer_add_custom_meta(transbuf, MONTAGE_BEAT_META_NAME);
  if (!copy)
    return FALSE;
  GstStructure *dst = gst_custom_meta_get_structure(copy);
  const GstStructure *src = gst_custom_meta_get_structure(meta);
  for (gint i = 0; i < gst_structure_n_fields(src); i++) {
    const gchar *name = gst_structure_nth_field_name(src, (guint)i);
    gst_structure_set_value(dst, name, gst_structure_get_value(src, name));
  }
  return TRUE;
}

} // namespace

const GstMetaInfo *montage_beat_meta_get_info(void)
{
  static const GstMetaInfo *info = nullptr;
  if (g_once_init_enter(&info)) {
    static const gchar *tags[] = {NULL};
    const GstMetaInfo *i = gst_meta_register_custom(MONTAGE_BEAT_META_NAME, tags, transform, NULL, NULL);
    g_once_init_leave(&info, i);
  }
  return info;
}

GstCustomMeta *montage_buffer_add_beat_meta(GstBuffer *buffer, const MontageBeatInfo *beat)
{
  if (!buffer || !beat || !gst_buffer_is_writable(buffer))
    return NULL;
  montage_beat_meta_get_info();
  GstCustomMeta *meta = gst_buffer_add_custom_meta(buffer, MONTAGE_BEAT_META_NAME);
  if (meta)
    fill(gst_custom_meta_get_structure(meta), beat);
  return meta;
}

guint montage_buffer_get_beats(GstBuffer *buffer, MontageBeatInfo *beats, guint max)
{
  if (!buffer)
    return 0;
  guint n = 0;
  gpointer state = NULL;
  GstMeta *meta;
  while ((meta = gst_buffer_iterate_meta(buffer, &state))) {
    if (!gst_meta_info_is_custom(meta->info))
      continue;
    GstCustomMeta *cm = (GstCustomMeta *)meta;
    if (!gst_custom_meta_has_name(cm, MONTAGE_BEAT_META_NAME))
      continue;
    if (n < max && beats) {
      const GstStructure *s = gst_custom_meta_get_structure(cm);
      MontageBeatInfo b = {GST_CLOCK_TIME_NONE, 0.0, FALSE, 0, 0.0, -1.0};
      guint64 t = GST_CLOCK_TIME_NONE;
      gst_structure_get_uint64(s, "time", &t);
      b.time = t;
      gst_structure_get_double(s, "strength", &b.strength);
      gst_structure_get_boolean(s, "downbeat", &b.downbeat);
      gst_structure_get_uint(s, "bar-position", &b.bar_position);
      gst_structure_get_double(s, "bpm", &b.bpm);
      gst_structure_get_double(s, "energy", &b.energy);
      beats[n] = b;
    }
    n++;
  }
  return n;
}
