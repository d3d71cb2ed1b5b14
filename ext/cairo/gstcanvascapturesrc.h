/* canvascapturesrc: HTMLCanvasElement.captureStream() for GStreamer.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/base/gstpushsrc.h>

G_BEGIN_DECLS

#define GST_TYPE_CANVAS_CAPTURE_SRC (gst_canvas_capture_src_get_type())
G_DECLARE_FINAL_TYPE(GstCanvasCaptureSrc, gst_canvas_capture_src, GST, CANVAS_CAPTURE_SRC,
                     GstPushSrc)

GST_ELEMENT_REGISTER_DECLARE(canvascapturesrc);

G_END_DECLS
