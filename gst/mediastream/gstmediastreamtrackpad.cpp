/* GstMediaStreamTrackPad: the src pad of one mediastreambin track.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The pad is the MediaStreamTrack (rule table: docs/plugins/mediastreambin.md):
 * id, kind and label (MS-5), enabled (MS-6), muted (MS-7), ready-state (MS-8)
 * and settings (MS-10 getSettings), with the track's GstStream. It owns this
 * state; mediastreambin, which runs the data path, changes it through the
 * setters of gstmediastreamtrack.h.
 *
 * Threads and locks: `lock` guards the fields marked (lock); `enabled` is
 * atomic so the streaming thread reads it without locking. Notifies and
 * signals are emitted with no lock held. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/gst.h>

#include <gst/audio/audio.h>

#include <atomic>
#include <cmath>
#include <mutex>
#include <string>

#include "gstmediastreamconversion.h"
#include "gstmediastreamremote.h"
#include "gstmediastreamtrack.h"
#include "gstwebcaptureerror.h"
#include "mediatrackconstraints.h"
#include "gstwebcapturei18n.h"

GST_DEBUG_CATEGORY_STATIC(gst_media_stream_track_pad_debug);
#define GST_CAT_DEFAULT gst_media_stream_track_pad_debug

struct GstMediaStreamTrackPadPrivate {
  ~GstMediaStreamTrackPadPrivate()
  {
    gst_clear_caps(&caps);
    gst_clear_object(&stream);
    if (constraints)
      gst_structure_free(constraints);
  }

  std::mutex lock;

  /* Fixed at creation. */
  TrackKind kind = TrackKind::VIDEO;
  guint index = 0;

  std::string track_id;        /* (lock) MS-5 */
  GstStream *stream = nullptr; /* (lock) carried by the track's STREAM_START */

  std::atomic<bool> enabled{true};

  std::string app_label;   /* (lock) set by the application: wins */
  std::string title_label; /* (lock) upstream title tag or track-state label */
  guint title_serial = 0;  /* (lock) counts label changes: the last one is written */
  bool muted = false;      /* (lock) MS-7 */
  bool ended = false;      /* (lock) MS-8 */
  /* (lock for writes) MS-8: the application's stop(); ended until the next
   * run. Atomic: the streaming thread reads it on every buffer. */
  std::atomic<bool> stopped{false};
  GstCaps *caps = nullptr; /* (lock) negotiated caps */

  /* MS-10 applyConstraints: the last set applied (NULL: none yet) and the
   * conversion it needs (empty: none). `converting` mirrors the latter for
   * the streaming thread's plain path, which then takes no lock. */
  GstStructure *constraints = nullptr;               /* (lock) */
  std::shared_ptr<MediaStreamConversion> conversion; /* (lock) */
  std::atomic<bool> converting{false};
  guint conversion_serial = 0;    /* (lock) names the conversion's elements */
  std::recursive_mutex swap_lock; /* orders the swaps of `conversion` */
};

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
  PROP_CAPABILITIES,
  PROP_CONSTRAINTS,
};

enum {
  SIGNAL_MUTE,
  SIGNAL_UNMUTE,
  SIGNAL_STOP,
  SIGNAL_APPLY_CONSTRAINTS,
  SIGNAL_APPLY_CONSTRAINTS_JSON,
  LAST_SIGNAL,
};

guint signals[LAST_SIGNAL];

} // namespace

G_DEFINE_TYPE(GstMediaStreamTrackPad, gst_media_stream_track_pad, GST_TYPE_PAD);

const gchar *gst_media_stream_track_kind_name(TrackKind kind)
{
  return kind == TrackKind::VIDEO ? "video" : "audio";
}

GstMediaStreamTrackPad *gst_media_stream_track_pad_new(GstPadTemplate *templ, const gchar *name,
                                                       TrackKind kind, guint index)
{
  auto *pad =
      GST_MEDIA_STREAM_TRACK_PAD(g_object_new(GST_TYPE_MEDIA_STREAM_TRACK_PAD, "name", name,
                                              "direction", GST_PAD_SRC, "template", templ, NULL));
  GstMediaStreamTrackPadPrivate *priv = pad->priv;
  g_autofree gchar *uuid = g_uuid_string_random(); /* RFC 4122 version 4 */
  priv->track_id = uuid;
  priv->kind = kind;
  priv->index = index;
  /* Not floating: gst_stream_new() sinks it. */
  priv->stream = gst_stream_new(
      uuid, nullptr, kind == TrackKind::VIDEO ? GST_STREAM_TYPE_VIDEO : GST_STREAM_TYPE_AUDIO,
      GST_STREAM_FLAG_NONE);
  return pad;
}

TrackKind gst_media_stream_track_pad_get_kind(GstMediaStreamTrackPad *pad)
{
  return pad->priv->kind;
}

guint gst_media_stream_track_pad_get_index(GstMediaStreamTrackPad *pad)
{
  return pad->priv->index;
}

std::string gst_media_stream_track_pad_get_track_id(GstMediaStreamTrackPad *pad)
{
  std::lock_guard<std::mutex> guard(pad->priv->lock);
  return pad->priv->track_id;
}

GstStream *gst_media_stream_track_pad_dup_stream(GstMediaStreamTrackPad *pad)
{
  std::lock_guard<std::mutex> guard(pad->priv->lock);
  return GST_STREAM(gst_object_ref(pad->priv->stream));
}

bool gst_media_stream_track_pad_is_enabled(GstMediaStreamTrackPad *pad)
{
  return pad->priv->enabled.load(std::memory_order_relaxed);
}

bool gst_media_stream_track_pad_is_ended(GstMediaStreamTrackPad *pad)
{
  std::lock_guard<std::mutex> guard(pad->priv->lock);
  return pad->priv->ended;
}

bool gst_media_stream_track_pad_is_stopped(GstMediaStreamTrackPad *pad)
{
  return pad->priv->stopped.load();
}

bool gst_media_stream_track_pad_set_ended(GstMediaStreamTrackPad *pad, bool ended)
{
  {
    std::lock_guard<std::mutex> guard(pad->priv->lock);
    /* MS-8: a stopped track stays ended until the next run. */
    if (pad->priv->ended == ended || (!ended && pad->priv->stopped.load()))
      return false;
    pad->priv->ended = ended;
  }
  GST_INFO_OBJECT(pad, "ready-state: %s", ended ? "ended" : "live");
  g_object_notify(G_OBJECT(pad), "ready-state");
  return true;
}

bool gst_media_stream_track_pad_new_run(GstMediaStreamTrackPad *pad)
{
  pad->priv->stopped.store(false);
  return gst_media_stream_track_pad_set_ended(pad, false);
}

/* MS-8 stop(): the class handler of the `stop` signal; the bin, connected to
 * it, then ends the data path (EOS) and updates `active`. */
static void gst_media_stream_track_pad_stop(GstMediaStreamTrackPad *pad)
{
  bool changed;
  {
    std::lock_guard<std::mutex> guard(pad->priv->lock);
    pad->priv->stopped.store(true);
    changed = !pad->priv->ended;
    pad->priv->ended = true;
  }
  GST_INFO_OBJECT(pad, "stopped by the application");
  if (changed)
    g_object_notify(G_OBJECT(pad), "ready-state");
}

/* MS-10 getCapabilities: what upstream delivers (a CAPS query on the sink
 * pad's peer, with no lock held) around the negotiated input caps, widened by
 * what the bin's conversion can make of them (docs/plugins/constraints.md). */
GstStructure *gst_media_stream_track_pad_dup_capabilities(GstMediaStreamTrackPad *pad)
{
  GST_OBJECT_LOCK(pad);
  GstPad *sinkpad = static_cast<GstPad *>(GST_PAD(pad)->element_private);
  if (sinkpad)
    gst_object_ref(sinkpad);
  GST_OBJECT_UNLOCK(pad);
  if (!sinkpad)
    return gst_structure_new_empty("capabilities");
  GstCaps *upstream = gst_pad_peer_query_caps(sinkpad, nullptr);
  GstCaps *native = gst_pad_get_current_caps(sinkpad);
  gst_object_unref(sinkpad);
  GstStructure *result = nullptr;
  const bool linked = upstream && !gst_caps_is_empty(upstream) && !gst_caps_is_any(upstream);
  if (linked || native) {
    media_constraints::Capabilities capabilities;
    media_constraints::Error error;
    const auto kind = pad->priv->kind == TrackKind::VIDEO ? media_constraints::MediaKind::VIDEO
                                                          : media_constraints::MediaKind::AUDIO;
    const bool can_convert = gst_media_stream_conversion_possible(
        kind == media_constraints::MediaKind::VIDEO, native ? native : upstream);
    if (capabilities.init(kind, linked ? upstream : nullptr, native, can_convert, &error))
      result = capabilities.to_structure();
    else
      GST_DEBUG_OBJECT(pad, "no capabilities from %" GST_PTR_FORMAT, upstream);
  }
  gst_clear_caps(&upstream);
  gst_clear_caps(&native);
  return result ? result : gst_structure_new_empty("capabilities");
}

bool gst_media_stream_track_pad_set_muted(GstMediaStreamTrackPad *pad, bool muted)
{
  {
    std::lock_guard<std::mutex> guard(pad->priv->lock);
    if (pad->priv->muted == muted)
      return false;
    pad->priv->muted = muted;
  }
  GST_INFO_OBJECT(pad, "%s", muted ? "muted" : "unmuted");
  g_object_notify(G_OBJECT(pad), "muted");
  g_signal_emit(pad, signals[muted ? SIGNAL_MUTE : SIGNAL_UNMUTE], 0);
  return true;
}

void gst_media_stream_track_pad_set_caps(GstMediaStreamTrackPad *pad, GstCaps *caps)
{
  GstStream *stream;
  {
    std::lock_guard<std::mutex> guard(pad->priv->lock);
    gst_caps_replace(&pad->priv->caps, caps);
    stream = GST_STREAM(gst_object_ref(pad->priv->stream));
  }
  gst_stream_set_caps(stream, caps);
  gst_object_unref(stream);
  g_object_notify(G_OBJECT(pad), "settings");
}

void gst_media_stream_track_pad_update_stream_title(GstMediaStreamTrackPad *pad)
{
  GstMediaStreamTrackPadPrivate *priv = pad->priv;
  /* From any thread: a writer that raced with a newer label change writes
   * again, so the label set last is the title left. */
  for (;;) {
    guint serial;
    GstStream *stream;
    {
      std::lock_guard<std::mutex> guard(priv->lock);
      serial = priv->title_serial;
      stream = GST_STREAM(gst_object_ref(priv->stream));
    }
    g_autofree gchar *label = gst_media_stream_track_pad_dup_label(pad);
    GstTagList *tags = gst_stream_get_tags(stream);
    tags = tags ? gst_tag_list_make_writable(tags) : gst_tag_list_new_empty();
    gst_tag_list_set_scope(tags, GST_TAG_SCOPE_STREAM);
    if (label && *label)
      gst_tag_list_add(tags, GST_TAG_MERGE_REPLACE, GST_TAG_TITLE, label, NULL);
    else
      gst_tag_list_remove_tag(tags, GST_TAG_TITLE);
    gst_stream_set_tags(stream, tags);
    gst_tag_list_unref(tags);
    gst_object_unref(stream);
    std::lock_guard<std::mutex> guard(priv->lock);
    if (serial == priv->title_serial)
      return;
  }
}

void gst_media_stream_track_pad_set_upstream_label(GstMediaStreamTrackPad *pad, const gchar *label)
{
  GstMediaStreamTrackPadPrivate *priv = pad->priv;
  {
    std::lock_guard<std::mutex> guard(priv->lock);
    if (!label || priv->title_label == label)
      return;
    priv->title_label = label;
    priv->title_serial++;
    if (!priv->app_label.empty())
      return; /* the application's label still wins */
  }
  gst_media_stream_track_pad_update_stream_title(pad);
  g_object_notify(G_OBJECT(pad), "label");
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

  /* Default: the name of the element feeding the track (docs/decisions.md). */
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
    gint w = 0, h = 0;
    if (gst_structure_get_int(s, "width", &w) && gst_structure_get_int(s, "height", &h) && h > 0)
      gst_structure_set(settings, "aspect-ratio", G_TYPE_DOUBLE,
                        std::round((gdouble)w / h * 1e10) / 1e10, NULL);
    gst_structure_set(settings, "resize-mode", G_TYPE_STRING,
                      priv->conversion && priv->conversion->resizes ? "crop-and-scale" : "none",
                      NULL);
    const gchar *format = gst_structure_get_string(s, "format");
    if (format)
      gst_structure_set(settings, "format", G_TYPE_STRING, format, NULL);
  } else {
    if (gst_structure_get_int(s, "rate", &a))
      gst_structure_set(settings, "sample-rate", G_TYPE_INT, a, NULL);
    if (gst_structure_get_int(s, "channels", &a))
      gst_structure_set(settings, "channel-count", G_TYPE_INT, a, NULL);
    GstAudioInfo info;
    if (gst_audio_info_from_caps(&info, priv->caps) && GST_AUDIO_INFO_DEPTH(&info) > 0)
      gst_structure_set(settings, "sample-size", G_TYPE_INT, GST_AUDIO_INFO_DEPTH(&info), NULL);
    const gchar *format = gst_structure_get_string(s, "format");
    if (format)
      gst_structure_set(settings, "format", G_TYPE_STRING, format, NULL);
  }
  return settings;
}

/* --- MS-10 applyConstraints ---------------------------------------------------- */

static void gst_media_stream_track_pad_apply_constraints(GstMediaStreamTrackPad *pad,
                                                         const GstStructure *constraints,
                                                         GstPromise *promise)
{
  GValue value = G_VALUE_INIT;
  g_value_init(&value, GST_TYPE_STRUCTURE);
  g_value_set_boxed(&value, constraints);
  gst_media_stream_conversion_apply(pad, &value, promise);
  g_value_unset(&value);
}

static void gst_media_stream_track_pad_apply_constraints_json(GstMediaStreamTrackPad *pad,
                                                              const gchar *json,
                                                              GstPromise *promise)
{
  GValue value = G_VALUE_INIT;
  g_value_init(&value, G_TYPE_STRING);
  g_value_set_string(&value, json);
  gst_media_stream_conversion_apply(pad, &value, promise);
  g_value_unset(&value);
}

GstFlowReturn gst_media_stream_track_pad_push(GstMediaStreamTrackPad *pad, GstBuffer *buffer)
{
  if (G_LIKELY(!pad->priv->converting.load(std::memory_order_acquire)))
    return gst_pad_push(GST_PAD(pad), buffer);
  auto conversion = gst_media_stream_track_pad_dup_conversion(pad);
  if (!conversion)
    return gst_pad_push(GST_PAD(pad), buffer);
  if (!gst_media_stream_conversion_keep(conversion.get(), buffer)) {
    gst_buffer_unref(buffer); /* above the frame-rate ceiling */
    return GST_FLOW_OK;
  }
  GstFlowReturn ret = gst_pad_push(conversion->entry, buffer);
  if (G_UNLIKELY(ret == GST_FLOW_NOT_NEGOTIATED && conversion->awaiting_upstream.load())) {
    /* Made before upstream took the new caps (its RECONFIGURE is on the way). */
    GST_DEBUG_OBJECT(pad, "dropping a buffer in the old caps while upstream renegotiates");
    return GST_FLOW_OK;
  }
  return ret;
}

gboolean gst_media_stream_track_pad_push_event(GstMediaStreamTrackPad *pad, GstEvent *event)
{
  if (G_UNLIKELY(pad->priv->converting.load(std::memory_order_acquire))) {
    auto conversion = gst_media_stream_track_pad_dup_conversion(pad);
    if (conversion)
      return gst_pad_push_event(conversion->entry, event); /* settings at its exit */
  }
  if (GST_EVENT_TYPE(event) != GST_EVENT_CAPS)
    return gst_pad_push_event(GST_PAD(pad), event);
  GstCaps *caps = nullptr;
  gst_event_parse_caps(event, &caps);
  gst_caps_ref(caps); /* the event goes on */
  gboolean ret = gst_pad_push_event(GST_PAD(pad), event);
  gst_media_stream_track_pad_set_caps(pad, caps);
  gst_caps_unref(caps);
  return ret;
}

GstPad *gst_media_stream_track_pad_dup_internal(GstMediaStreamTrackPad *pad,
                                                GstPadDirection direction)
{
  if (!pad->priv->converting.load())
    return nullptr;
  std::lock_guard<std::mutex> guard(pad->priv->lock);
  const auto &conversion = pad->priv->conversion;
  if (!conversion)
    return nullptr;
  return GST_PAD(gst_object_ref(direction == GST_PAD_SRC ? conversion->entry : conversion->exit));
}

std::shared_ptr<MediaStreamConversion>
gst_media_stream_track_pad_dup_conversion(GstMediaStreamTrackPad *pad)
{
  std::lock_guard<std::mutex> guard(pad->priv->lock);
  return pad->priv->conversion;
}

std::shared_ptr<MediaStreamConversion>
gst_media_stream_track_pad_replace_conversion(GstMediaStreamTrackPad *pad,
                                              std::shared_ptr<MediaStreamConversion> next)
{
  std::lock_guard<std::mutex> guard(pad->priv->lock);
  std::shared_ptr<MediaStreamConversion> old = std::move(pad->priv->conversion);
  pad->priv->conversion = std::move(next);
  pad->priv->converting.store(pad->priv->conversion != nullptr, std::memory_order_release);
  return old;
}

std::recursive_mutex &gst_media_stream_track_pad_swap_lock(GstMediaStreamTrackPad *pad)
{
  return pad->priv->swap_lock;
}

guint gst_media_stream_track_pad_next_conversion_serial(GstMediaStreamTrackPad *pad)
{
  std::lock_guard<std::mutex> guard(pad->priv->lock);
  return pad->priv->conversion_serial++;
}

void gst_media_stream_track_pad_set_constraints(GstMediaStreamTrackPad *pad,
                                                GstStructure *constraints)
{
  {
    std::lock_guard<std::mutex> guard(pad->priv->lock);
    if (pad->priv->constraints)
      gst_structure_free(pad->priv->constraints);
    pad->priv->constraints = constraints;
  }
  GST_INFO_OBJECT(pad, "constraints: %" GST_PTR_FORMAT, constraints);
  g_object_notify(G_OBJECT(pad), "constraints");
}

void gst_media_stream_track_pad_reset_conversion(GstMediaStreamTrackPad *pad)
{
  auto conversion = gst_media_stream_track_pad_dup_conversion(pad);
  if (conversion)
    gst_media_stream_conversion_reset(conversion.get());
}

void gst_media_stream_track_pad_drop_conversion(GstMediaStreamTrackPad *pad, GstBin *bin)
{
  auto conversion = gst_media_stream_track_pad_replace_conversion(pad, nullptr);
  if (conversion)
    gst_media_stream_conversion_detach(conversion.get(), bin);
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
    GST_INFO_OBJECT(pad, "track-id: %s", id);
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
    {
      std::lock_guard<std::mutex> guard(priv->lock);
      priv->app_label = label ? label : "";
      priv->title_serial++;
    }
    GST_INFO_OBJECT(pad, "label: \"%s\"", label ? label : "");
    g_object_notify(object, "label");
    gst_media_stream_track_pad_update_stream_title(pad);
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
  case PROP_CAPABILITIES:
    g_value_take_boxed(value, gst_media_stream_track_pad_dup_capabilities(pad));
    break;
  case PROP_CONSTRAINTS: {
    std::lock_guard<std::mutex> guard(priv->lock);
    g_value_take_boxed(value, priv->constraints ? gst_structure_copy(priv->constraints)
                                                : gst_structure_new_empty("constraints"));
    break;
  }
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
}

static void gst_media_stream_track_pad_finalize(GObject *object)
{
  delete GST_MEDIA_STREAM_TRACK_PAD(object)->priv;
  G_OBJECT_CLASS(gst_media_stream_track_pad_parent_class)->finalize(object);
}

static void gst_media_stream_track_pad_init(GstMediaStreamTrackPad *pad)
{
  pad->priv = new GstMediaStreamTrackPadPrivate();
}

static void gst_media_stream_track_pad_class_init(GstMediaStreamTrackPadClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GST_DEBUG_CATEGORY_INIT(gst_media_stream_track_pad_debug, "mediastreamtrackpad", 0,
                          "mediastreambin track pads");

  gobject_class->set_property = GST_DEBUG_FUNCPTR(gst_media_stream_track_pad_set_property);
  gobject_class->get_property = GST_DEBUG_FUNCPTR(gst_media_stream_track_pad_get_property);
  gobject_class->finalize = GST_DEBUG_FUNCPTR(gst_media_stream_track_pad_finalize);

  const auto ro = static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  const auto rw = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_property(
      gobject_class, PROP_TRACK_ID,
      g_param_spec_string("track-id", "Track ID",
                          "The track's id, a random RFC 4122 version 4 UUID, or the remote "
                          "track's id (an msid-id) set in NULL/READY or before the track's sink "
                          "pad is linked (MS-5). It is the stream-id of the track's GstStream",
                          nullptr, static_cast<GParamFlags>(rw | GST_PARAM_MUTABLE_READY)));
  g_object_class_install_property(
      gobject_class, PROP_KIND,
      g_param_spec_string("kind", "Kind", "\"video\" or \"audio\"; never changes (MS-5)", nullptr,
                          ro));
  g_object_class_install_property(
      gobject_class, PROP_LABEL,
      g_param_spec_string(
          "label", "Label",
          "The track's label: set here, else the upstream title tag or "
          "track-state label, else the name of the upstream element",
          nullptr,
          static_cast<GParamFlags>(rw | G_PARAM_EXPLICIT_NOTIFY | GST_PARAM_MUTABLE_PLAYING)));
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
                          "\"live\", or \"ended\" once the track received EOS or was "
                          "stopped (MS-8)",
                          "live", ro));
  g_object_class_install_property(
      gobject_class, PROP_SETTINGS,
      g_param_spec_boxed("settings", "Settings",
                         "What the track does now, from the negotiated caps: width, height, "
                         "frame-rate (video) or sample-rate, channel-count (audio), and format",
                         GST_TYPE_STRUCTURE, ro));
  g_object_class_install_property(
      gobject_class, PROP_CAPABILITIES,
      g_param_spec_boxed("capabilities", "Capabilities",
                         "What the track can deliver, asked of upstream when read (MS-10 "
                         "getCapabilities): width, height, aspectRatio, frameRate, resizeMode "
                         "(video) or sampleRate, channelCount, sampleSize (audio); empty while "
                         "the track's sink pad is not linked",
                         GST_TYPE_STRUCTURE, ro));
  g_object_class_install_property(
      gobject_class, PROP_CONSTRAINTS,
      g_param_spec_boxed("constraints", "Constraints",
                         "The constraints last applied with apply-constraints (MS-10 "
                         "getConstraints), in the structure form of "
                         "docs/plugins/constraints.md; empty before any",
                         GST_TYPE_STRUCTURE, ro));

  /**
   * GstMediaStreamTrackPad::apply-constraints:
   * @constraints: a MediaTrackConstraints dictionary in the structure form
   *   (docs/plugins/constraints.md), e.g. `constraints, width=(structure)"range,
   *   max=(int)640;", frameRate=(double)15`
   * @promise: (nullable): answered with `apply-constraints, settings=(structure)...`,
   *   or with `error`, `dom-exception` (OverconstrainedError, TypeError...),
   *   `message` and `constraint`, the track unchanged
   *
   * MediaStreamTrack.applyConstraints() (MS-10). The track is converted (scaled,
   * cropped, frames dropped; resampled, remixed) by child elements of the bin
   * that exist only while a constraint asks for them. Any thread; the promise
   * may be answered later, from the track's streaming thread.
   */
  signals[SIGNAL_APPLY_CONSTRAINTS] = g_signal_new_class_handler(
      "apply-constraints", G_TYPE_FROM_CLASS(klass),
      static_cast<GSignalFlags>(G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION),
      G_CALLBACK(GST_DEBUG_FUNCPTR(gst_media_stream_track_pad_apply_constraints)), nullptr, nullptr,
      nullptr, G_TYPE_NONE, 2, GST_TYPE_STRUCTURE, GST_TYPE_PROMISE);
  /**
   * GstMediaStreamTrackPad::apply-constraints-json:
   * @json: the JSON text of a MediaTrackConstraints dictionary, e.g.
   *   `{"width": {"max": 640}, "frameRate": 15}`
   * @promise: (nullable): as for apply-constraints
   *
   * apply-constraints with the web's own JSON (MS-10).
   */
  signals[SIGNAL_APPLY_CONSTRAINTS_JSON] = g_signal_new_class_handler(
      "apply-constraints-json", G_TYPE_FROM_CLASS(klass),
      static_cast<GSignalFlags>(G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION),
      G_CALLBACK(GST_DEBUG_FUNCPTR(gst_media_stream_track_pad_apply_constraints_json)), nullptr,
      nullptr, nullptr, G_TYPE_NONE, 2, G_TYPE_STRING, GST_TYPE_PROMISE);

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
  /**
   * GstMediaStreamTrackPad::stop:
   * MediaStreamTrack.stop() (MS-8): the track ends for this run (EOS
   * downstream after what is already on its way, `ready-state` "ended") with
   * no `track-ended` signal and no `ended` message. Any thread.
   */
  signals[SIGNAL_STOP] =
      g_signal_new_class_handler("stop", G_TYPE_FROM_CLASS(klass),
                                 static_cast<GSignalFlags>(G_SIGNAL_RUN_FIRST | G_SIGNAL_ACTION),
                                 G_CALLBACK(GST_DEBUG_FUNCPTR(gst_media_stream_track_pad_stop)),
                                 nullptr, nullptr, nullptr, G_TYPE_NONE, 0);
}
