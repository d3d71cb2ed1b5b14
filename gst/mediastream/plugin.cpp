/* The "mediastream" plugin.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/gst.h>

#include "gstmediastreambin.h"
#include "gstwebcapturei18n.h"

static gboolean plugin_init(GstPlugin *plugin)
{
  gst_webcapture_init_i18n();
  return GST_ELEMENT_REGISTER(mediastreambin, plugin);
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, mediastream,
                  "A MediaStream in a pipeline: tracks as pad pairs, for encoders and webrtcbin",
                  plugin_init, VERSION, GST_LICENSE, GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)
