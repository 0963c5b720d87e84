/* montageselect: a beat-synced multi-camera switcher (see gstmontageselect.cpp
 * and docs/montageselect.md for pads, properties and the `montage-switch`
 * message). */
#pragma once

#include <gst/base/gstaggregator.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_MONTAGE_SELECT (gst_montage_select_get_type())
G_DECLARE_FINAL_TYPE(GstMontageSelect, gst_montage_select, GST, MONTAGE_SELECT, GstAggregator)

/* The type of montageselect's request pads (video inputs and the beat pad). */
#define GST_TYPE_MONTAGE_SELECT_PAD (gst_montage_select_pad_get_type())
G_DECLARE_FINAL_TYPE(GstMontageSelectPad, gst_montage_select_pad, GST, MONTAGE_SELECT_PAD,
                     GstAggregatorPad)

GST_ELEMENT_REGISTER_DECLARE(montageselect);

G_END_DECLS
