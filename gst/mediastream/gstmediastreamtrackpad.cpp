/* GstMediaStreamTrackPad: the src pad of one mediastreambin track.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The pad is the MediaStreamTrack: id, kind and label (MS-5), enabled
 * (MS-6), muted (MS-7), ready-state (MS-8) and settings (MS-10 getSettings).
 * The data path lives in mediastreambin; this file is the track's public face. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstmediastreamremote.h"
#include "gstmediastreamtrack.h"
#include "gstwebcaptureerror.h"
#include "gstwebcapturei18n.h"

GST_DEBUG_CATEGORY_STATIC(gst_media_stream_track_pad_debug);
#define GST_CAT_DEFAULT gst_media_stream_track_pad_debug

struct _GstMediaStreamTrackPad {
  GstPad parent;
  GstMediaStreamTrackPadPrivate *priv;
};

namespace
{

enum {
  PROP_0,
  PROP_TRACK_ID,
  PROP_KIND,
  PROP_LABEL,
  PROP_ENABLED,
  PROP_MUTED,
  PROP_READY_STATE,
  PROP_SETTINGS,
};

enum {
  SIGNAL_MUTE,
  SIGNAL_UNMUTE,
  LAST_SIGNAL,
};

guint signals[LAST_SIGNAL];

} // namespace

G_DEFINE_TYPE_WITH_CODE(GstMediaStreamTrackPad, gst_media_stream_track_pad, GST_TYPE_PAD,
                        GST_DEBUG_CATEGORY_INIT(gst_media_stream_track_pad_debug,
                                                "mediastreamtrackpad", 0,
                                                "mediastreambin track pads"))

GstMediaStreamTrackPadPrivate *gst_media_stream_track_pad_get_private(GstMediaStreamTrackPad *pad)
{
  return pad->priv;
}

const gchar *gst_media_stream_track_kind_name(TrackKind kind)
{
  return kind == TrackKind::VIDEO ? "video" : "audio";
}

void gst_media_stream_track_pad_notify_muted(GstMediaStreamTrackPad *pad, gboolean muted)
{
  g_object_notify(G_OBJECT(pad), "muted");
  g_signal_emit(pad, signals[muted ? SIGNAL_MUTE : SIGNAL_UNMUTE], 0);
}

gchar *gst_media_stream_track_pad_dup_label(GstMediaStreamTrackPad *pad)
{
  GstMediaStreamTrackPadPrivate *priv = pad->priv;
  {
    std::lock_guard<std::mutex> guard(priv->lock);
    if (!priv->app_label.empty())
      return g_strdup(priv->app_label.c_str());
    if (!priv->title_label.empty())
      return g_strdup(priv->title_label.c_str());
  }

  /* Default: the name of the element feeding the track (design.md). */
  GST_OBJECT_LOCK(pad);
  GstPad *sinkpad = static_cast<GstPad *>(GST_PAD(pad)->element_private);
  if (sinkpad)
    gst_object_ref(sinkpad);
  GST_OBJECT_UNLOCK(pad);
  gchar *label = nullptr;
  if (sinkpad) {
    GstPad *peer = gst_pad_get_peer(sinkpad);
    if (peer) {
      /* Through ghost pads: the element that really produces the data. */
      GstElement *upstream = gst_pad_get_parent_element(peer);
      if (GST_IS_PROXY_PAD(peer) && !upstream) {
        GstPad *ghost = GST_PAD(gst_proxy_pad_get_internal(GST_PROXY_PAD(peer)));
        if (ghost) {
          upstream = gst_pad_get_parent_element(ghost);
          gst_object_unref(ghost);
        }
      }
      if (upstream) {
        label = gst_element_get_name(upstream);
        gst_object_unref(upstream);
      }
      gst_object_unref(peer);
    }
    gst_object_unref(sinkpad);
  }
  return label ? label : g_strdup("");
}

GstStructure *gst_media_stream_track_pad_dup_settings(GstMediaStreamTrackPad *pad)
{
  GstMediaStreamTrackPadPrivate *priv = pad->priv;
  GstStructure *settings = gst_structure_new_empty("settings");
  std::lock_guard<std::mutex> guard(priv->lock);
  if (!priv->caps || gst_caps_is_empty(priv->caps))
    return settings;
  const GstStructure *s = gst_caps_get_structure(priv->caps, 0);
  gint a = 0, b = 0;
  if (priv->kind == TrackKind::VIDEO) {
    if (gst_structure_get_int(s, "width", &a))
      gst_structure_set(settings, "width", G_TYPE_INT, a, NULL);
    if (gst_structure_get_int(s, "height", &a))
      gst_structure_set(settings, "height", G_TYPE_INT, a, NULL);
    /* frame-rate: the nominal rate, else the ceiling of a variable-rate
     * source (canvascapturesrc's max-framerate), else 0 (unknown). */
    gdouble rate = 0.0;
    if (gst_structure_get_fraction(s, "framerate", &a, &b) && a > 0 && b > 0)
      rate = (gdouble)a / b;
    else if (gst_structure_get_fraction(s, "max-framerate", &a, &b) && a > 0 && b > 0)
      rate = (gdouble)a / b;
    gst_structure_set(settings, "frame-rate", G_TYPE_DOUBLE, rate, NULL);
    const gchar *format = gst_structure_get_string(s, "format");
    if (format)
      gst_structure_set(settings, "format", G_TYPE_STRING, format, NULL);
  } else {
    if (gst_structure_get_int(s, "rate", &a))
      gst_structure_set(settings, "sample-rate", G_TYPE_INT, a, NULL);
    if (gst_structure_get_int(s, "channels", &a))
      gst_structure_set(settings, "channel-count", G_TYPE_INT, a, NULL);
    const gchar *format = gst_structure_get_string(s, "format");
    if (format)
      gst_structure_set(settings, "format", G_TYPE_STRING, format, NULL);
  }
  return settings;
}

/* MS-5: a label that is not valid UTF-8 is refused: a WARNING through the
 * bin (TypeError), the label unchanged. */
static void refuse_invalid_label(GstMediaStreamTrackPad *pad)
{
  GST_WARNING_OBJECT(pad, "label is not valid UTF-8: unchanged");
  GstElement *element = gst_pad_get_parent_element(GST_PAD(pad));
  if (element) {
    GST_WEB_WARNING_F(element, GST_WEB_ERROR_TYPE, nullptr, GST_PAD_NAME(pad),
                      _("the track label must be valid UTF-8 text; the label is unchanged."));
    gst_object_unref(element);
  }
}

static void gst_media_stream_track_pad_set_property(GObject *object, guint prop_id,
                                                    const GValue *value, GParamSpec *pspec)
{
  GstMediaStreamTrackPad *pad = GST_MEDIA_STREAM_TRACK_PAD(object);
  GstMediaStreamTrackPadPrivate *priv = pad->priv;
  switch (prop_id) {
  case PROP_TRACK_ID: {
    /* MS-5, receive side: the remote track's id, in NULL/READY only. */
    const gchar *id = g_value_get_string(value);
    if (!gst_media_stream_remote_track_id_settable(GST_PAD(pad), id))
      break;
    {
      std::lock_guard<std::mutex> guard(priv->lock);
      priv->track_id = id;
      if (priv->stream) {
        GstStream *renamed = gst_media_stream_remote_stream_with_id(priv->stream, id);
        gst_object_replace(reinterpret_cast<GstObject **>(&priv->stream), GST_OBJECT(renamed));
        gst_object_unref(renamed);
      }
    }
    g_object_notify(object, "track-id");
    break;
  }
  case PROP_LABEL: {
    const gchar *label = g_value_get_string(value);
    if (label && !g_utf8_validate(label, -1, nullptr)) {
      /* A label is text: it becomes the GstStream's title tag. */
      refuse_invalid_label(pad);
      break;
    }
    GstStream *stream = nullptr;
    {
      std::lock_guard<std::mutex> guard(priv->lock);
      priv->app_label = label ? label : "";
      if (priv->stream)
        stream = GST_STREAM(gst_object_ref(priv->stream));
    }
    g_object_notify(object, "label");
    if (stream) {
      gchar *now = gst_media_stream_track_pad_dup_label(pad);
      GstTagList *tags = gst_stream_get_tags(stream);
      tags = tags ? gst_tag_list_make_writable(tags) : gst_tag_list_new_empty();
      if (now && *now)
        gst_tag_list_add(tags, GST_TAG_MERGE_REPLACE, GST_TAG_TITLE, now, NULL);
      else
        gst_tag_list_remove_tag(tags, GST_TAG_TITLE);
      gst_stream_set_tags(stream, tags);
      gst_tag_list_unref(tags);
      g_free(now);
      gst_object_unref(stream);
    }
    break;
  }
  case PROP_ENABLED: {
    /* MS-6: takes effect on the next buffer, in either direction. */
    bool enabled = g_value_get_boolean(value);
    bool was = priv->enabled.exchange(enabled);
    if (was != enabled)
      GST_INFO_OBJECT(pad, "track %s", enabled ? "enabled" : "disabled");
    break;
  }
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
}

static void gst_media_stream_track_pad_get_property(GObject *object, guint prop_id, GValue *value,
                                                    GParamSpec *pspec)
{
  GstMediaStreamTrackPad *pad = GST_MEDIA_STREAM_TRACK_PAD(object);
  GstMediaStreamTrackPadPrivate *priv = pad->priv;
  switch (prop_id) {
  case PROP_TRACK_ID: {
    std::lock_guard<std::mutex> guard(priv->lock);
    g_value_set_string(value, priv->track_id.c_str());
    break;
  }
  case PROP_KIND:
    g_value_set_string(value, gst_media_stream_track_kind_name(priv->kind));
    break;
  case PROP_LABEL:
    g_value_take_string(value, gst_media_stream_track_pad_dup_label(pad));
    break;
  case PROP_ENABLED:
    g_value_set_boolean(value, priv->enabled.load());
    break;
  case PROP_MUTED: {
    std::lock_guard<std::mutex> guard(priv->lock);
    g_value_set_boolean(value, priv->muted);
    break;
  }
  case PROP_READY_STATE: {
    std::lock_guard<std::mutex> guard(priv->lock);
    g_value_set_string(value, priv->ended ? "ended" : "live");
    break;
  }
  case PROP_SETTINGS:
    g_value_take_boxed(value, gst_media_stream_track_pad_dup_settings(pad));
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
}

static void gst_media_stream_track_pad_finalize(GObject *object)
{
  GstMediaStreamTrackPad *pad = GST_MEDIA_STREAM_TRACK_PAD(object);
  GstMediaStreamTrackPadPrivate *priv = pad->priv;
  gst_clear_caps(&priv->caps);
  gst_clear_object(&priv->stream);
  gst_clear_buffer(&priv->blank);
  delete priv;
  G_OBJECT_CLASS(gst_media_stream_track_pad_parent_class)->finalize(object);
}

static void gst_media_stream_track_pad_init(GstMediaStreamTrackPad *pad)
{
  pad->priv = new GstMediaStreamTrackPadPrivate();
  gst_video_info_init(&pad->priv->vinfo);
  gst_audio_info_init(&pad->priv->ainfo);
}

static void gst_media_stream_track_pad_class_init(GstMediaStreamTrackPadClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  gobject_class->set_property = gst_media_stream_track_pad_set_property;
  gobject_class->get_property = gst_media_stream_track_pad_get_property;
  gobject_class->finalize = gst_media_stream_track_pad_finalize;

  const auto ro = static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  const auto rw = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_property(
      gobject_class, PROP_TRACK_ID,
      g_param_spec_string("track-id", "Track ID",
                          "The track's id, a random RFC 4122 version 4 UUID, or the remote "
                          "track's id set in NULL/READY (1 to 64 token characters; MS-5). It is "
                          "the stream-id of the track's GstStream",
                          nullptr, static_cast<GParamFlags>(rw | GST_PARAM_MUTABLE_READY)));
  g_object_class_install_property(
      gobject_class, PROP_KIND,
      g_param_spec_string("kind", "Kind", "\"video\" or \"audio\"; never changes (MS-5)", nullptr,
                          ro));
  g_object_class_install_property(
      gobject_class, PROP_LABEL,
      g_param_spec_string("label", "Label",
                          "The track's label: set here, else the upstream title tag or "
                          "track-state label, else the name of the upstream element",
                          nullptr, static_cast<GParamFlags>(rw | G_PARAM_EXPLICIT_NOTIFY)));
  g_object_class_install_property(
      gobject_class, PROP_ENABLED,
      g_param_spec_boolean("enabled", "Enabled",
                           "FALSE sends black frames / silence with the same caps and timing "
                           "instead of the media (MS-6); TRUE passes media again at once",
                           TRUE, static_cast<GParamFlags>(rw | GST_PARAM_MUTABLE_PLAYING)));
  g_object_class_install_property(
      gobject_class, PROP_MUTED,
      g_param_spec_boolean("muted", "Muted",
                           "TRUE while the source says it has no content to give (the "
                           "mediastream-track-state event from upstream, MS-7)",
                           FALSE, ro));
  g_object_class_install_property(
      gobject_class, PROP_READY_STATE,
      g_param_spec_string("ready-state", "Ready state",
                          "\"live\", or \"ended\" once the track received EOS (MS-8)", "live", ro));
  g_object_class_install_property(
      gobject_class, PROP_SETTINGS,
      g_param_spec_boxed("settings", "Settings",
                         "What the track does now, from the negotiated caps: width, height, "
                         "frame-rate (video) or sample-rate, channel-count (audio), and format",
                         GST_TYPE_STRUCTURE, ro));

  /**
   * GstMediaStreamTrackPad::mute:
   * The source stopped giving content (MS-7). Emitted from the streaming thread.
   */
  signals[SIGNAL_MUTE] = g_signal_new("mute", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0,
                                      nullptr, nullptr, nullptr, G_TYPE_NONE, 0);
  /**
   * GstMediaStreamTrackPad::unmute:
   * The source gives content again (MS-7). Emitted from the streaming thread.
   */
  signals[SIGNAL_UNMUTE] = g_signal_new("unmute", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0,
                                        nullptr, nullptr, nullptr, G_TYPE_NONE, 0);
}
