/* The montagebeat plugin: registers the montagebeat element.
 * Licence GPL because it links aubio (GPL-3). */
#include "gstmontagebeat.h"

static gboolean plugin_init(GstPlugin *plugin)
{
  return GST_ELEMENT_REGISTER(montagebeat, plugin);
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, montagebeat,
                  "Beat tracking for beat-synced montages", plugin_init, VERSION, "GPL",
                  GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)
