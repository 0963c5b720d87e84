/* gst-montage montageselect plugin: registers the montageselect element. */
#include <gst/gst.h>

#include "gstmontageselect.h"

static gboolean plugin_init(GstPlugin *plugin)
{
  return GST_ELEMENT_REGISTER(montageselect, plugin);
}

/* GPL: the plugin links libgstmontage, which links aubio (GPL-3). */
GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, montageselect,
                  "gst-montage live selector (switches between video inputs on the beat)",
                  plugin_init, VERSION, "GPL", PACKAGE, GST_PACKAGE_ORIGIN)
