/* mediacapturesrc: HTMLMediaElement.captureStream() for GStreamer.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The element holds a media element (mediaelement.{h,cpp}): an internal
 * GstPipeline (uridecodebin -> one appsink per selected track) that runs on
 * the outer pipeline's clock. Its appsinks render in real time; each rendered
 * buffer is re-stamped with the outer running time of the moment it is
 * rendered and queued to the track's src pad, whose own task pushes it
 * (capturetrack.{h,cpp}). Pause, seek, rate, loop and source changes only
 * touch the internal pipeline, so the outer pipeline never sees a flush and its
 * running time never goes back. Muted audio is filled with generated silence so
 * audio tracks stay continuous (ME-7).
 *
 * This file is the GstElement: properties, pads, state changes, send_event,
 * each forwarded to the media element, which emits pad-added, pad-removed,
 * no-more-pads and the notifies through MediaElementOwner, from its control
 * thread (at a stop, from the thread that stops it), never with a lock held;
 * a handler may stop the element from any of them
 * (docs/plugins/mediacapturesrc.md, "GStreamer contracts").
 *
 * Files: this one (the GstElement), mediaelement.{h,cpp} (the media element:
 * its attributes, start and stop), mediarun.{h,cpp} (a run of it: control
 * thread, typed commands, state model, tracks, load/seek/teardown),
 * mediapipeline.cpp (its internal pipeline's callbacks),
 * capturetrack.{h,cpp} (a track: its pad, queue and pad task),
 * mediaorigins.{h,cpp} (allowed-origins and track selection, pure).
 *
 *   gst-launch-1.0 -e mediacapturesrc uri=file:///path/movie.ogg name=m \
 *     m.video_0 ! queue ! videoconvert ! autovideosink \
 *     m.audio_0 ! queue ! audioconvert ! autoaudiosink */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstmediacapturesrc.h"

#include <gst/audio/audio.h>

#include <memory>
#include <string>

#include "mediaelement.h"
#include "gstwebcaptureerror.h"
#include "gstwebcapturei18n.h"

GST_DEBUG_CATEGORY(gst_media_capture_src_debug);
#define GST_CAT_DEFAULT gst_media_capture_src_debug

using mediacapture::MediaElement;
using mediacapture::MediaElementOwner;

namespace
{

constexpr gdouble kMinRate = 0.0625;
constexpr gdouble kMaxRate = 16.0;

} // namespace

/* What the media element asks of the element: its messages, its track pads
 * and the notifies. */
struct GstMediaCaptureSrcPrivate final : public MediaElementOwner {
  GstMediaCaptureSrc *self = nullptr;
  std::unique_ptr<MediaElement> media;

  GstElement *element() override { return GST_ELEMENT(self); }
  void post_message(GstMessage *msg) override { gst_element_post_message(GST_ELEMENT(self), msg); }
  GstPad *new_track_pad(bool is_video, guint index) override;
  void add_track_pad(GstPad *pad) override { gst_element_add_pad(GST_ELEMENT(self), pad); }
  void remove_track_pad(GstPad *pad) override
  {
    /* a pad-added handler may have stopped the element before this pad
     * was added */
    if (GST_OBJECT_PARENT(pad) == GST_OBJECT(self))
      gst_element_remove_pad(GST_ELEMENT(self), pad);
  }
  void tracks_complete() override { gst_element_no_more_pads(GST_ELEMENT(self)); }
  void notify(Attribute what) override;
  void notify_track_muted(GstPad *pad) override { g_object_notify(G_OBJECT(pad), "muted"); }
};

struct _GstMediaCaptureSrc {
  GstElement parent;
  GstMediaCaptureSrcPrivate *priv;
};

enum {
  PROP_0,
  PROP_URI,
  PROP_PAUSED,
  PROP_LOOP,
  PROP_PLAYBACK_RATE,
  PROP_CURRENT_TIME,
  PROP_DURATION,
  PROP_ENDED,
  PROP_VIDEO_TRACK,
  PROP_AUDIO_TRACKS,
  PROP_ALLOWED_ORIGINS,
  PROP_STALL_TIMEOUT,
};

static GstStaticPadTemplate video_template = GST_STATIC_PAD_TEMPLATE(
    "video_%u", GST_PAD_SRC, GST_PAD_SOMETIMES, GST_STATIC_CAPS("video/x-raw(ANY)"));

static GstStaticPadTemplate audio_template =
    GST_STATIC_PAD_TEMPLATE("audio_%u", GST_PAD_SRC, GST_PAD_SOMETIMES,
                            GST_STATIC_CAPS("audio/x-raw, format = (string) " GST_AUDIO_NE(
                                F32) ", layout = (string) interleaved, rate = (int) [ 1, MAX ], "
                                     "channels = (int) [ 1, MAX ]"));

#define gst_media_capture_src_parent_class parent_class
G_DEFINE_TYPE(GstMediaCaptureSrc, gst_media_capture_src, GST_TYPE_ELEMENT);
GST_ELEMENT_REGISTER_DEFINE(mediacapturesrc, "mediacapturesrc", GST_RANK_NONE,
                            GST_TYPE_MEDIA_CAPTURE_SRC);

GstPad *GstMediaCaptureSrcPrivate::new_track_pad(bool is_video, guint index)
{
  const gchar *templ_name = is_video ? "video_%u" : "audio_%u";
  g_autofree gchar *name = g_strdup_printf(templ_name, index);
  GstPadTemplate *templ =
      gst_element_class_get_pad_template(GST_ELEMENT_GET_CLASS(self), templ_name);
  GstPad *pad = GST_PAD(g_object_new(GST_TYPE_MEDIA_CAPTURE_SRC_PAD, "name", name, "direction",
                                     GST_PAD_SRC, "template", templ, nullptr));
  return GST_PAD(gst_object_ref_sink(pad));
}

void GstMediaCaptureSrcPrivate::notify(Attribute what)
{
  switch (what) {
  case Attribute::Paused:
    g_object_notify(G_OBJECT(self), "paused");
    break;
  case Attribute::Ended:
    g_object_notify(G_OBJECT(self), "ended");
    break;
  case Attribute::Duration:
    g_object_notify(G_OBJECT(self), "duration");
    break;
  }
}

/* ---------------------------------------------------------- GstElement */

static GstStateChangeReturn gst_media_capture_src_change_state(GstElement *element,
                                                               GstStateChange transition)
{
  GstMediaCaptureSrc *self = GST_MEDIA_CAPTURE_SRC(element);
  MediaElement *media = self->priv->media.get();

  switch (transition) {
  case GST_STATE_CHANGE_NULL_TO_READY: {
    GstElementFactory *f = gst_element_factory_find("uridecodebin");
    if (!f) {
      GST_ELEMENT_ERROR(self, CORE, MISSING_PLUGIN,
                        (_("The uridecodebin element is missing (gst-plugins-base).")), (nullptr));
      return GST_STATE_CHANGE_FAILURE;
    }
    gst_object_unref(f);
    break;
  }
  case GST_STATE_CHANGE_READY_TO_PAUSED:
    media->start();
    break;
  case GST_STATE_CHANGE_PAUSED_TO_READY:
    /* before the pads are deactivated: their tasks must let go first */
    media->stop();
    break;
  case GST_STATE_CHANGE_PAUSED_TO_PLAYING:
    media->set_outer_playing(true);
    break;
  default:
    break;
  }

  GstStateChangeReturn ret = GST_ELEMENT_CLASS(parent_class)->change_state(element, transition);
  if (ret == GST_STATE_CHANGE_FAILURE)
    return ret;

  switch (transition) {
  case GST_STATE_CHANGE_READY_TO_PAUSED:
    ret = GST_STATE_CHANGE_NO_PREROLL; /* live */
    break;
  case GST_STATE_CHANGE_PLAYING_TO_PAUSED:
    media->set_outer_playing(false);
    ret = GST_STATE_CHANGE_NO_PREROLL;
    break;
  default:
    break;
  }
  return ret;
}

/* EOS sent to the element (gst_element_send_event(pipeline, eos), as
 * gst-launch-1.0 -e does): every track sends EOS after what is queued, as a
 * GstBaseSrc does; a track added later in the run ends at once. */
static gboolean gst_media_capture_src_send_event(GstElement *element, GstEvent *event)
{
  GstMediaCaptureSrc *self = GST_MEDIA_CAPTURE_SRC(element);
  if (GST_EVENT_TYPE(event) != GST_EVENT_EOS)
    return GST_ELEMENT_CLASS(parent_class)->send_event(element, event);
  gst_event_unref(event);
  GST_INFO_OBJECT(self, "EOS requested: ending every track");
  self->priv->media->request_eos();
  return TRUE;
}

static void gst_media_capture_src_set_property(GObject *object, guint prop_id, const GValue *value,
                                               GParamSpec *pspec)
{
  GstMediaCaptureSrc *self = GST_MEDIA_CAPTURE_SRC(object);
  MediaElement *media = self->priv->media.get();

  switch (prop_id) {
  case PROP_URI: {
    const gchar *uri = g_value_get_string(value);
    GST_INFO_OBJECT(self, "uri \"%s\"", uri ? uri : "");
    media->set_src(uri ? uri : ""); /* loads it while running */
    break;
  }
  case PROP_PAUSED:
    GST_INFO_OBJECT(self, "paused %d", g_value_get_boolean(value));
    media->set_paused(g_value_get_boolean(value));
    break;
  case PROP_LOOP:
    GST_INFO_OBJECT(self, "loop %d", g_value_get_boolean(value));
    media->set_loop(g_value_get_boolean(value));
    break;
  case PROP_PLAYBACK_RATE:
    if (media->set_playback_rate(g_value_get_double(value)))
      GST_INFO_OBJECT(self, "playback-rate %g", g_value_get_double(value));
    break;
  case PROP_CURRENT_TIME:
    GST_INFO_OBJECT(self, "current-time %g", g_value_get_double(value));
    media->set_current_time(g_value_get_double(value));
    break;
  case PROP_VIDEO_TRACK:
    GST_INFO_OBJECT(self, "video-track %d", g_value_get_int(value));
    media->set_video_track(g_value_get_int(value));
    break;
  case PROP_AUDIO_TRACKS: {
    const gchar *s = g_value_get_string(value);
    if (!media->set_audio_tracks(s)) {
      /* refused, the selection kept (as every web-rule refusal) */
      GST_WEB_WARNING_F(self, GST_WEB_ERROR_TYPE, nullptr, nullptr,
                        _("audio-tracks must be \"all\", \"none\" or a comma-separated list "
                          "of indices, not \"%s\"; the selection is unchanged."),
                        s ? s : "(null)");
      break;
    }
    GST_INFO_OBJECT(self, "audio-tracks \"%s\"", s);
    break;
  }
  case PROP_ALLOWED_ORIGINS:
    GST_INFO_OBJECT(self, "allowed-origins set");
    media->set_allowed_origins((const gchar *const *)g_value_get_boxed(value));
    break;
  case PROP_STALL_TIMEOUT:
    GST_INFO_OBJECT(self, "stall-timeout %g s", g_value_get_double(value));
    media->set_stall_timeout(g_value_get_double(value));
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
}

static void gst_media_capture_src_get_property(GObject *object, guint prop_id, GValue *value,
                                               GParamSpec *pspec)
{
  GstMediaCaptureSrc *self = GST_MEDIA_CAPTURE_SRC(object);
  MediaElement *media = self->priv->media.get();

  switch (prop_id) {
  case PROP_URI:
    g_value_set_string(value, media->src().c_str());
    break;
  case PROP_PAUSED:
    g_value_set_boolean(value, media->paused());
    break;
  case PROP_LOOP:
    g_value_set_boolean(value, media->loop());
    break;
  case PROP_PLAYBACK_RATE:
    g_value_set_double(value, media->playback_rate());
    break;
  case PROP_CURRENT_TIME:
    g_value_set_double(value, media->current_time());
    break;
  case PROP_DURATION:
    g_value_set_double(value, media->duration());
    break;
  case PROP_ENDED:
    g_value_set_boolean(value, media->ended());
    break;
  case PROP_VIDEO_TRACK:
    g_value_set_int(value, media->video_track());
    break;
  case PROP_AUDIO_TRACKS:
    g_value_set_string(value, media->audio_tracks().c_str());
    break;
  case PROP_ALLOWED_ORIGINS:
    g_value_take_boxed(value, media->dup_allowed_origins());
    break;
  case PROP_STALL_TIMEOUT:
    g_value_set_double(value, media->stall_timeout());
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
}

static void gst_media_capture_src_finalize(GObject *object)
{
  GstMediaCaptureSrc *self = GST_MEDIA_CAPTURE_SRC(object);
  delete self->priv; /* its media element joins what its runs left */
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void gst_media_capture_src_class_init(GstMediaCaptureSrcClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);

  GST_DEBUG_CATEGORY_INIT(gst_media_capture_src_debug, "mediacapturesrc", 0,
                          "HTMLMediaElement.captureStream()");

  gobject_class->set_property = GST_DEBUG_FUNCPTR(gst_media_capture_src_set_property);
  gobject_class->get_property = GST_DEBUG_FUNCPTR(gst_media_capture_src_get_property);
  gobject_class->finalize = GST_DEBUG_FUNCPTR(gst_media_capture_src_finalize);
  element_class->change_state = GST_DEBUG_FUNCPTR(gst_media_capture_src_change_state);
  element_class->send_event = GST_DEBUG_FUNCPTR(gst_media_capture_src_send_event);

  const GParamFlags rw = (GParamFlags)(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  const GParamFlags ro = (GParamFlags)(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_property(
      gobject_class, PROP_URI,
      g_param_spec_string("uri", "URI",
                          "Media to play (any URI uridecodebin handles). Setting it while "
                          "running changes the source: the old tracks end and their pads go, "
                          "then the new source's tracks are added; \"\" ends all tracks",
                          "", rw));
  g_object_class_install_property(
      gobject_class, PROP_PAUSED,
      g_param_spec_boolean("paused", "Paused",
                           "Pause the media element: its tracks are muted (video sends nothing, "
                           "audio sends silence) while the outer pipeline keeps running. "
                           "Becomes TRUE when playback ends; FALSE after the end plays again "
                           "from the start with new tracks",
                           FALSE, rw));
  g_object_class_install_property(
      gobject_class, PROP_LOOP,
      g_param_spec_boolean("loop", "Loop", "Start over at the end instead of ending the tracks",
                           FALSE, rw));
  g_object_class_install_property(
      gobject_class, PROP_PLAYBACK_RATE,
      g_param_spec_double("playback-rate", "Playback rate",
                          "Speed of playback. Audio is time-stretched with its pitch kept "
                          "between 0.5 and 4; outside that range audio tracks are muted (ME-9)",
                          kMinRate, kMaxRate, 1.0, rw));
  g_object_class_install_property(
      gobject_class, PROP_CURRENT_TIME,
      g_param_spec_double("current-time", "Current time",
                          "Playback position in seconds; setting it seeks the media element "
                          "(no track ends, the outer pipeline sees no flush). Setting it after "
                          "the end seeks there and exposes new tracks, paused (so muted) "
                          "until paused is set to FALSE",
                          0.0, G_MAXDOUBLE, 0.0, rw));
  g_object_class_install_property(
      gobject_class, PROP_DURATION,
      g_param_spec_double("duration", "Duration",
                          "Duration of the media in seconds, -1 while unknown", -1.0, G_MAXDOUBLE,
                          -1.0, ro));
  g_object_class_install_property(
      gobject_class, PROP_ENDED,
      g_param_spec_boolean("ended", "Ended",
                           "TRUE when playback reached the end without loop: every track got "
                           "EOS and its pad was removed",
                           FALSE, ro));
  g_object_class_install_property(
      gobject_class, PROP_VIDEO_TRACK,
      g_param_spec_int("video-track", "Video track",
                       "Index of the selected video track of the media (-1: none). Changing "
                       "it while running ends the deselected track and adds the newly selected one",
                       -1, G_MAXINT, 0, rw));
  g_object_class_install_property(
      gobject_class, PROP_AUDIO_TRACKS,
      g_param_spec_string("audio-tracks", "Audio tracks",
                          "Enabled audio tracks of the media: \"all\", \"none\" or indices "
                          "such as \"0\" or \"0,2\". Changing it while running ends the "
                          "disabled tracks and adds the newly enabled ones; the others go on",
                          "0", rw));
  g_object_class_install_property(
      gobject_class, PROP_ALLOWED_ORIGINS,
      g_param_spec_boxed("allowed-origins", "Allowed origins",
                         "URI prefixes (scheme://host[:port]/path-prefix) the media may be "
                         "loaded from; empty = any. Outside: SecurityError and no track; a "
                         "redirect outside mid-stream mutes the tracks (ME-10)",
                         G_TYPE_STRV, rw));

  g_object_class_install_property(
      gobject_class, PROP_STALL_TIMEOUT,
      g_param_spec_double("stall-timeout", "Stall timeout",
                          "Seconds without any data (no byte read, nothing decoded) while the "
                          "media is loading or playing after which the element posts an error "
                          "naming the URI; 0 = wait for ever. Time paused does not count",
                          0.0, G_MAXDOUBLE, 30.0, rw));

  /* with the pads' type, so that gst-inspect shows their properties (muted) */
  gst_element_class_add_static_pad_template_with_gtype(element_class, &video_template,
                                                       GST_TYPE_MEDIA_CAPTURE_SRC_PAD);
  gst_element_class_add_static_pad_template_with_gtype(element_class, &audio_template,
                                                       GST_TYPE_MEDIA_CAPTURE_SRC_PAD);
  gst_type_mark_as_plugin_api(GST_TYPE_MEDIA_CAPTURE_SRC_PAD, (GstPluginAPIFlags)0);

  gst_element_class_set_static_metadata(
      element_class, "Media capture source", "Source/Audio/Video",
      "Plays a media URI like an HTML media element and outputs what it renders as live "
      "audio and video tracks (HTMLMediaElement.captureStream)",
      "GStreamer Web Capture developers");
}

static void gst_media_capture_src_init(GstMediaCaptureSrc *self)
{
  self->priv = new GstMediaCaptureSrcPrivate();
  self->priv->self = self;
  self->priv->media = std::make_unique<MediaElement>(self->priv);
  GST_OBJECT_FLAG_SET(self, GST_ELEMENT_FLAG_SOURCE);
}
