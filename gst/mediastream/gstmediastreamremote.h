/* Remote tracks (receive side, MS-5, MS-7, MS-8): a track fed by what a webrtcbin receives
 * takes the remote track's id and follows its mute and end.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * - `track-id` of a track pad may be set while its mediastreambin is in NULL or READY (the
 *   remote track's id; the pad file calls the two helpers below).
 * - The action signal "follow-remote-track" (track pad, webrtcbin src pad): no RTP on that pad
 *   for a while mutes the track, RTP again unmutes it; RTCP BYE or RTP timeout of its SSRC, or
 *   the pad's removal, end it (EOS on the track's sink pad). See docs/plugins/mediastreambin.md. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/* TRUE when @track may take @id as its track-id now: its mediastreambin is in NULL or READY,
 * or nothing went through the track yet (sink pad unlinked, no STREAM_START), and @id is an
 * msid-id: 1 to 64 SDP token characters (RFC 4566, RFC 8830). Otherwise a WARNING message is posted
 * by the bin (NotSupportedError / TypeError) and FALSE returned: the old id is kept. */
gboolean gst_media_stream_remote_track_id_settable(GstPad *track, const gchar *id);

/* A new GstStream like @stream (type, flags, caps, tags) with stream-id @id. */
GstStream *gst_media_stream_remote_stream_with_id(GstStream *stream, const gchar *id);

/* Installs "follow-remote-track" on mediastreambin's class (from its class_init). */
void gst_media_stream_remote_install_signals(GObjectClass *klass);

G_END_DECLS
