/* montagescene: frame-accurate shot-cut detector (see gstmontagescene.cpp and
 * docs/montagescene.md for properties, the `montage-scene` message and the
 * force-key-unit event it sends). */
#pragma once

#include <gst/base/gstbasetransform.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_MONTAGE_SCENE (gst_montage_scene_get_type())
G_DECLARE_FINAL_TYPE(GstMontageScene, gst_montage_scene, GST, MONTAGE_SCENE, GstBaseTransform)

GST_ELEMENT_REGISTER_DECLARE(montagescene);

G_END_DECLS
