/* Track ids in SDP (MS-5, MS-11): mediastreambin's "annotate-sdp" action signal.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * webrtcbin 1.22 writes `a=ssrc:<ssrc> msid:<pad msid> <transceiver name>` and cannot be told a
 * track id (its transceivers are children of webrtcbin, so they cannot be renamed). The
 * application sets webrtcbin's own description as it is, then sends a copy completed by
 * "annotate-sdp": for every m-line that carries a mediastreambin track, a media-level
 * `a=msid:<stream id> <track id>` (RFC 8830) and the same msid on the ssrc-level lines. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/* TRUE when @id is an msid-id (RFC 8830): 1 to 64 SDP token-chars (RFC 4566), which is what
 * a stream id or a track id must be to travel in SDP. Browsers' ids ("{uuid}" in Firefox)
 * pass. */
gboolean gst_media_stream_msid_id_is_valid(const gchar *id);

/* Installs "annotate-sdp" on mediastreambin's class (from its class_init). */
void gst_media_stream_sdp_install_signals(GObjectClass *klass);

G_END_DECLS
