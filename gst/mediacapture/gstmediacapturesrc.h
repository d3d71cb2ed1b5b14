/* mediacapturesrc: HTMLMediaElement.captureStream() for GStreamer.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_MEDIA_CAPTURE_SRC (gst_media_capture_src_get_type())
G_DECLARE_FINAL_TYPE(GstMediaCaptureSrc, gst_media_capture_src, GST, MEDIA_CAPTURE_SRC, GstElement)

/* The src pads of mediacapturesrc: one per captured track, with a read-only
 * "muted" property (ME-6). */
#define GST_TYPE_MEDIA_CAPTURE_SRC_PAD (gst_media_capture_src_pad_get_type())
G_DECLARE_FINAL_TYPE(GstMediaCaptureSrcPad, gst_media_capture_src_pad, GST, MEDIA_CAPTURE_SRC_PAD,
                     GstPad)

GST_ELEMENT_REGISTER_DECLARE(mediacapturesrc);

G_END_DECLS
