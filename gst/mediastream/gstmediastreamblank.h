/* Zero-information media for disabled tracks (MS-6): black video frames,
 * prepared once per caps and shared by every buffer (silence comes from
 * gst_webcapture_silence_buffer_new()).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/video/video.h>

G_BEGIN_DECLS

/* A read-only buffer holding one black frame laid out as @info says (default
 * strides and offsets): RGB components 0, luma at the black level of the
 * colorimetry's range (16 limited, 0 full), chroma neutral, alpha opaque.
 * NULL when the format has no pack function (e.g. encoded). */
GstBuffer *gst_media_stream_make_black_frame(const GstVideoInfo *info);

G_END_DECLS
