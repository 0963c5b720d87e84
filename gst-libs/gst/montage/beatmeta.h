/* gst-montage: MontageBeatMeta, the in-band beat that montagebeat puts on the
 * audio buffer containing a beat.
 *
 * A tag-less GstCustomMeta (gst_meta_register_custom, GStreamer 1.20) named
 * "MontageBeatMeta" whose structure has the fields
 *   - time (guint64): the beat, ns, in the buffer's timestamp domain: between
 *     the buffer's PTS and PTS + duration, or before the PTS when the beat
 *     was known only after its own buffer had gone downstream (montagebeat
 *     then puts it on the next buffer out);
 *   - strength (gdouble): onset strength at the beat, in standard deviations
 *     of the onset envelope, unbounded (measured: about 5 on audiotestsrc's
 *     ticks, 5-15 on the drum hits of a rendered song): how much the beat
 *     stands out, not how loud the music is;
 *   - energy (gdouble, 0..1): how loud the music is at the beat against the
 *     song so far (montage::LiveEnergyLevel, beattracker.h: under 1/3 a
 *     quiet passage, over 2/3 a loud one, 0.5 until 4 s of music have been
 *     heard, 0 in a silence of 2 s or more);
 *     a meta without it reads as -1 (unknown);
 *   - downbeat (gboolean): first beat of a bar;
 *   - bar-position (guint): 1..beats per bar, 0 while the meter is unknown;
 *   - bpm (gdouble): tempo so far, 0 while unknown.
 * Having no tags it survives audioconvert, audioresample and any element that
 * copies metadata; its transform function copies it on buffer copies, and on
 * a copy of a region (gst_buffer_copy_region(): a splitter cutting a buffer
 * in pieces) only where `time` falls inside the region, whose time span is
 * its share of the source buffer's PTS and duration by bytes (a `time`
 * before the PTS goes with the region at offset 0, one past the end with
 * the region that ends the buffer; without a PTS or duration every region
 * keeps it). A
 * buffer holds one meta per beat in it (two beats in one long buffer give two).
 * Downstream elements (montageselect) read it with montage_buffer_get_beats().
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define MONTAGE_BEAT_META_NAME "MontageBeatMeta"

/* One beat as carried by the meta (see the field list above). */
typedef struct {
  GstClockTime time;
  gdouble strength;
  gboolean downbeat;
  guint bar_position;
  gdouble bpm;
  gdouble energy; /* 0..1, or < 0 when unknown */
} MontageBeatInfo;

/* Registers the meta on first call (thread-safe) and returns its info; never
 * NULL. */
const GstMetaInfo *montage_beat_meta_get_info(void);

/* Adds one beat meta to `buffer`, which must be writable. Returns the meta,
 * or NULL when buffer is NULL or not writable. */
GstCustomMeta *montage_buffer_add_beat_meta(GstBuffer *buffer, const MontageBeatInfo *beat);

/* Copies up to `max` beats carried by `buffer` into `beats` (may be NULL when
 * max is 0), in the order they were added (ascending time). Returns how many
 * beats the buffer carries, which may exceed max. */
guint montage_buffer_get_beats(GstBuffer *buffer, MontageBeatInfo *beats, guint max);

G_END_DECLS
