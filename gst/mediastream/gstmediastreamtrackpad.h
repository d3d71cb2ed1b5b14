/* GstMediaStreamTrackPad: the src pad of one mediastreambin track.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_MEDIA_STREAM_TRACK_PAD (gst_media_stream_track_pad_get_type())
G_DECLARE_FINAL_TYPE(GstMediaStreamTrackPad, gst_media_stream_track_pad, GST,
                     MEDIA_STREAM_TRACK_PAD, GstPad)

G_END_DECLS
