/* mediastreambin: a MediaStream in a pipeline, one pad pair per track.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_MEDIA_STREAM_BIN (gst_media_stream_bin_get_type())
G_DECLARE_FINAL_TYPE(GstMediaStreamBin, gst_media_stream_bin, GST, MEDIA_STREAM_BIN, GstBin)

GST_ELEMENT_REGISTER_DECLARE(mediastreambin);

G_END_DECLS
