/* gst-montage montageadts plugin: registers the montageadtssrc element. */
#include <gst/gst.h>

#include "gstmontageadtssrc.h"

static gboolean plugin_init(GstPlugin *plugin)
{
  return GST_ELEMENT_REGISTER(montageadtssrc, plugin);
}

/* GPL: the plugin links libgstmontage, which links aubio (GPL-3). */
GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, montageadts,
                  "gst-montage ADTS (raw AAC) source with an exact, indexed seek",
                  plugin_init, VERSION, "GPL", PACKAGE, GST_PACKAGE_ORIGIN)
