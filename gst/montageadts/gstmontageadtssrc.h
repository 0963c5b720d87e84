/* montageadtssrc: ADTS (raw AAC) file source with a frame index, answering
 * seeks exactly and at once (see gstmontageadtssrc.cpp and docs/adts.md). */
#pragma once

#include <gst/base/gstbasesrc.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_MONTAGE_ADTS_SRC (gst_montage_adts_src_get_type())
G_DECLARE_FINAL_TYPE(GstMontageAdtsSrc, gst_montage_adts_src, GST, MONTAGE_ADTS_SRC, GstBaseSrc)

GST_ELEMENT_REGISTER_DECLARE(montageadtssrc);

G_END_DECLS
