/* montagebeat: beat tracking audio analyser (passthrough).
 * See gstmontagebeat.cpp for the element documentation and docs/montagebeat.md. */
#pragma once

#include <gst/gst.h>
#include <gst/base/gstbasetransform.h>

G_BEGIN_DECLS

#define GST_TYPE_MONTAGE_BEAT (gst_montage_beat_get_type())
G_DECLARE_FINAL_TYPE(GstMontageBeat, gst_montage_beat, GST, MONTAGE_BEAT, GstBaseTransform)

/* The aubio onset function behind the `method` property. */
typedef enum {
  GST_MONTAGE_BEAT_METHOD_SPECFLUX,
  GST_MONTAGE_BEAT_METHOD_ENERGY,
  GST_MONTAGE_BEAT_METHOD_HFC,
  GST_MONTAGE_BEAT_METHOD_COMPLEX,
  GST_MONTAGE_BEAT_METHOD_PHASE,
  GST_MONTAGE_BEAT_METHOD_WPHASE,
  GST_MONTAGE_BEAT_METHOD_SPECDIFF,
  GST_MONTAGE_BEAT_METHOD_KL,
  GST_MONTAGE_BEAT_METHOD_MKL,
} GstMontageBeatMethod;

#define GST_TYPE_MONTAGE_BEAT_METHOD (gst_montage_beat_method_get_type())
GType gst_montage_beat_method_get_type(void);

GST_ELEMENT_REGISTER_DECLARE(montagebeat);

G_END_DECLS
