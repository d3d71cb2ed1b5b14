#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstmediastreamtrackstate.h"

GstEvent *gst_media_stream_track_state_event_new(gboolean muted, const gchar *label)
{
  GstStructure *s = gst_structure_new(GST_MEDIA_STREAM_TRACK_STATE_EVENT_NAME, "muted",
                                      G_TYPE_BOOLEAN, muted, NULL);
  if (label)
    gst_structure_set(s, "label", G_TYPE_STRING, label, NULL);
  return gst_event_new_custom(GST_EVENT_CUSTOM_DOWNSTREAM_STICKY, s);
}

gboolean gst_media_stream_track_state_event_parse(GstEvent *event, gboolean *muted,
                                                  gchar **label)
{
  if (GST_EVENT_TYPE(event) != GST_EVENT_CUSTOM_DOWNSTREAM_STICKY)
    return FALSE;
  const GstStructure *s = gst_event_get_structure(event);
  if (!s || !gst_structure_has_name(s, GST_MEDIA_STREAM_TRACK_STATE_EVENT_NAME))
    return FALSE;

  gboolean m = FALSE;
  if (!gst_structure_get_boolean(s, "muted", &m))
    return FALSE;
  if (muted)
    *muted = m;
  if (label)
    *label = g_strdup(gst_structure_get_string(s, "label"));
  return TRUE;
}
