/* The in-band track state (docs/decisions.md): a sticky custom downstream event named
 * "mediastream-track-state" with fields muted (boolean) and label (string,
 * optional), sent by the sources whenever it changes and understood by
 * mediastreambin. Ended is EOS. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_MEDIA_STREAM_TRACK_STATE_EVENT_NAME "mediastream-track-state"

/* @label may be NULL (no label field). */
GstEvent *gst_media_stream_track_state_event_new(gboolean muted, const gchar *label);

/* TRUE if @event is a track-state event; fills @muted and (when not NULL) a
 * newly allocated @label (NULL when the event has none). */
gboolean gst_media_stream_track_state_event_parse(GstEvent *event, gboolean *muted,
                                                  gchar **label);

G_END_DECLS
