/* gst-montage montagescene plugin: registers the montagescene element. */
#include <gst/gst.h>

#include "gstmontagescene.h"

static gboolean plugin_init(GstPlugin *plugin)
{
  return GST_ELEMENT_REGISTER(montagescene, plugin);
}

/* GPL: the plugin links libgstmontage, which links aubio (GPL-3). */
GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, montagescene,
                  "gst-montage shot-cut detection (frame-accurate hard cuts, keyframe requests)",
                  plugin_init, VERSION, "GPL", PACKAGE, GST_PACKAGE_ORIGIN)
