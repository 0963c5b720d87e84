/* montagebeat: beat tracking audio analyser (passthrough). Beats also travel
 * in-band as MontageBeatMeta: see <gst/montage/beatmeta.h>.
 * See gstmontagebeat.cpp for the element documentation and docs/montagebeat.md. */
#pragma once

#include <gst/gst.h>
#include <gst/base/gstbasetransform.h>

G_BEGIN_DECLS

#define GST_TYPE_MONTAGE_BEAT (gst_montage_beat_get_type())
G_DECLARE_FINAL_TYPE(GstMontageBeat, gst_montage_beat, GST, MONTAGE_BEAT, GstBaseTransform)

/* The `mode` property: live posts causal beats only; offline also runs the
 * whole-song pass at EOS; auto (the default) is live when upstream is live
 * (its latency query says so) and offline otherwise (files). */
typedef enum {
  GST_MONTAGE_BEAT_MODE_OFFLINE,
  GST_MONTAGE_BEAT_MODE_LIVE,
  GST_MONTAGE_BEAT_MODE_AUTO,
} GstMontageBeatMode;

#define GST_TYPE_MONTAGE_BEAT_MODE (gst_montage_beat_mode_get_type())
GType gst_montage_beat_mode_get_type(void);

GST_ELEMENT_REGISTER_DECLARE(montagebeat);

G_END_DECLS
