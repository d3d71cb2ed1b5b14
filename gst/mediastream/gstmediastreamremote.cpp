/* Remote tracks (receive side): see gstmediastreamremote.h and docs/plugins/mediastreambin.md
 * ("Receiving from webrtcbin").
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A followed track has a small watcher thread (ticks of 100 ms) that owns its state: the
 * webrtcbin src pad's buffer probe only stamps the time of the last RTP packet, rtpbin's BYE /
 * timeout signals and webrtcbin's pad-removed only raise a flag. The watcher sends the in-band
 * track state (the mediastream-track-state event: MS-7) and EOS (MS-8) into the track's sink
 * pad, as a source would, so the bin reports them as for any track: muted, mute / unmute,
 * ready-state, track-ended and the mediastream-track messages. Every callback holds a
 * reference to the shared state, so none outlives it. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstmediastreamremote.h"
#include "gstmediastreamsdp.h"

#include <gst/sdp/sdp.h>
#ifdef HAVE_GST_WEBRTC
#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>
#endif

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include "gstmediastreamtrackpad.h"
#include "gstmediastreamtrackstate.h"
#include "gstwebcaptureerror.h"
#include "gstwebcapturei18n.h"
#include "gstwebcaptureutil.h"

GST_DEBUG_CATEGORY_STATIC(gst_media_stream_remote_debug);
#define GST_CAT_DEFAULT gst_media_stream_remote_debug

namespace
{

/* No RTP for this long: the remote track is muted (what browsers do for a receiver). */
constexpr gint64 MUTE_AFTER_US = 1000 * 1000;
constexpr auto TICK = std::chrono::milliseconds(100);

struct Follow {
  GWeakRef track;  /* GstMediaStreamTrackPad */
  GWeakRef remote; /* the webrtcbin src pad */
  /* Held weakly: the watcher never keeps them alive. */
  GWeakRef webrtcbin;
  GWeakRef rtpbin; /* webrtcbin's, for BYE / timeout */
  std::string mid; /* of its transceiver */
  guint ssrc = 0;
  bool have_ssrc = false;
  std::atomic<gint64> last_rtp{0}; /* g_get_monotonic_time() of the last RTP buffer */
  std::atomic<const char *> ended_by{nullptr};

  Follow()
  {
    g_weak_ref_init(&track, nullptr);
    g_weak_ref_init(&remote, nullptr);
    g_weak_ref_init(&webrtcbin, nullptr);
    g_weak_ref_init(&rtpbin, nullptr);
  }
  ~Follow()
  {
    g_weak_ref_clear(&track);
    g_weak_ref_clear(&remote);
    g_weak_ref_clear(&webrtcbin);
    g_weak_ref_clear(&rtpbin);
  }
};

using FollowPtr = std::shared_ptr<Follow>;

gpointer new_ref(const FollowPtr &f)
{
  return new FollowPtr(f);
}

void free_ref(gpointer data)
{
  delete static_cast<FollowPtr *>(data);
}

void free_ref_closure(gpointer data, GClosure *)
{
  free_ref(data);
}

GstPadProbeReturn on_rtp(GstPad *, GstPadProbeInfo *, gpointer user_data)
{
  (*static_cast<FollowPtr *>(user_data))->last_rtp.store(g_get_monotonic_time());
  return GST_PAD_PROBE_OK;
}

void mark_ended(Follow *f, const char *why)
{
  const char *expected = nullptr;
  f->ended_by.compare_exchange_strong(expected, why);
}

void on_bye_ssrc(GstElement *, guint session, guint ssrc, gpointer user_data)
{
  Follow *f = static_cast<FollowPtr *>(user_data)->get();
  if (f->have_ssrc && ssrc == f->ssrc)
    mark_ended(f, "RTCP BYE");
}

void on_ssrc_timeout(GstElement *, guint session, guint ssrc, gpointer user_data)
{
  Follow *f = static_cast<FollowPtr *>(user_data)->get();
  if (f->have_ssrc && ssrc == f->ssrc)
    mark_ended(f, "RTP timeout");
}

void on_pad_removed(GstElement *, GstPad *pad, gpointer user_data)
{
  Follow *f = static_cast<FollowPtr *>(user_data)->get();
  GstPad *remote = GST_PAD(g_weak_ref_get(&f->remote));
  if (!remote || remote == pad)
    mark_ended(f, "webrtcbin pad removed");
  gst_clear_object(&remote);
}

/* After each description: the peer stopped the transceiver when a new remote offer rejects its
 * m-line (port 0, and not a bundle-only one). */
#ifdef HAVE_GST_WEBRTC
void on_signaling_state(GstElement *webrtcbin, GParamSpec *, gpointer user_data)
{
  Follow *f = static_cast<FollowPtr *>(user_data)->get();
  if (f->mid.empty())
    return;
  GstWebRTCSessionDescription *remote = nullptr;
  g_object_get(webrtcbin, "remote-description", &remote, NULL);
  if (!remote)
    return;
  for (guint m = 0; m < gst_sdp_message_medias_len(remote->sdp); m++) {
    const GstSDPMedia *media = gst_sdp_message_get_media(remote->sdp, m);
    if (g_strcmp0(gst_sdp_media_get_attribute_val(media, "mid"), f->mid.c_str()) == 0 &&
        gst_sdp_media_get_port(media) == 0 &&
        !gst_sdp_media_get_attribute_val(media, "bundle-only"))
      mark_ended(f, "transceiver stopped (m-line rejected)");
  }
  gst_webrtc_session_description_free(remote);
}
#endif

/* The track's sink pad (its partner), or NULL once the track was released. */
GstPad *sink_pad_of(GstPad *track)
{
  GstIterator *it = gst_pad_iterate_internal_links(track);
  if (!it)
    return nullptr;
  GValue item = G_VALUE_INIT;
  GstPad *sink = nullptr;
  if (gst_iterator_next(it, &item) == GST_ITERATOR_OK)
    sink = GST_PAD(g_value_dup_object(&item));
  g_value_unset(&item);
  gst_iterator_free(it);
  return sink;
}

bool track_ended(GstPad *track)
{
  g_autofree gchar *state = nullptr;
  g_object_get(track, "ready-state", &state, NULL);
  return g_strcmp0(state, "ended") == 0;
}

/* The watcher: until the track is gone, ended, or stopped after having run. */
struct Handlers {
  gulong probe = 0, bye = 0, timeout = 0, removed = 0, signaling = 0;
};

void watch(FollowPtr f, Handlers h)
{
  bool muted = false;
  bool was_active = false;
  for (;;) {
    std::this_thread::sleep_for(TICK);
    GstPad *track = GST_PAD(g_weak_ref_get(&f->track));
    GstPad *sink = track ? sink_pad_of(track) : nullptr;
    if (!sink || track_ended(track)) {
      gst_clear_object(&sink);
      gst_clear_object(&track);
      break;
    }
    bool active = gst_pad_is_active(sink);
    bool done = false;
    if (active) {
      was_active = true;
      if (const char *why = f->ended_by.load()) {
        /* MS-8: the remote track ended. */
        GST_INFO_OBJECT(track, "remote track ended (%s)", why);
        gst_pad_send_event(sink, gst_event_new_eos());
        done = true;
      } else {
        /* MS-7: muted while no RTP arrives. */
        bool idle = g_get_monotonic_time() - f->last_rtp.load() > MUTE_AFTER_US;
        if (idle != muted) {
          GST_INFO_OBJECT(track, "remote track %s", idle ? "muted (no RTP)" : "unmuted");
          if (gst_pad_send_event(sink, gst_media_stream_track_state_event_new(idle, nullptr)))
            muted = idle;
        }
      }
    } else if (was_active) {
      done = true; /* the bin stopped: the remote pads go too */
    }
    gst_object_unref(sink);
    gst_object_unref(track);
    if (done)
      break;
  }

  GstPad *remote = GST_PAD(g_weak_ref_get(&f->remote));
  if (remote) {
    gst_pad_remove_probe(remote, h.probe);
    gst_object_unref(remote);
  }
  GObject *rtpbin = G_OBJECT(g_weak_ref_get(&f->rtpbin));
  if (rtpbin) {
    g_signal_handler_disconnect(rtpbin, h.bye);
    g_signal_handler_disconnect(rtpbin, h.timeout);
    g_object_unref(rtpbin);
  }
  GObject *webrtcbin = G_OBJECT(g_weak_ref_get(&f->webrtcbin));
  if (webrtcbin) {
    g_signal_handler_disconnect(webrtcbin, h.removed);
    if (h.signaling)
      g_signal_handler_disconnect(webrtcbin, h.signaling);
    g_object_unref(webrtcbin);
  }
}

gboolean follow_remote_track(GstElement *bin, GstPad *track, GstPad *remote)
{
  if (!GST_IS_MEDIA_STREAM_TRACK_PAD(track) || GST_OBJECT_PARENT(track) != GST_OBJECT(bin) ||
      !GST_IS_PAD(remote) || GST_PAD_DIRECTION(remote) != GST_PAD_SRC) {
    GST_WARNING_OBJECT(bin, "follow-remote-track needs one of this bin's track pads and a "
                            "webrtcbin src pad");
    return FALSE;
  }
  GstElement *webrtcbin = gst_pad_get_parent_element(remote);
  GstElementFactory *factory = webrtcbin ? gst_element_get_factory(webrtcbin) : nullptr;
  if (!factory || g_strcmp0(GST_OBJECT_NAME(factory), "webrtcbin") != 0) {
    GST_WARNING_OBJECT(bin, "%" GST_PTR_FORMAT " is not a webrtcbin src pad", remote);
    gst_clear_object(&webrtcbin);
    return FALSE;
  }

  auto f = std::make_shared<Follow>();
  g_weak_ref_set(&f->track, track);
  g_weak_ref_set(&f->remote, remote);
  f->last_rtp.store(g_get_monotonic_time());
  GObject *transceiver = nullptr;
  if (g_object_class_find_property(G_OBJECT_GET_CLASS(remote), "transceiver"))
    g_object_get(remote, "transceiver", &transceiver, NULL);
  if (transceiver) {
    g_autofree gchar *mid = nullptr;
    g_object_get(transceiver, "mid", &mid, NULL);
    f->mid = mid ? mid : "";
    g_object_unref(transceiver);
  }
  GstCaps *caps = gst_pad_get_current_caps(remote);
  if (caps && !gst_caps_is_empty(caps))
    f->have_ssrc = gst_structure_get_uint(gst_caps_get_structure(caps, 0), "ssrc", &f->ssrc);
  gst_clear_caps(&caps);

  Handlers h;
  h.probe = gst_pad_add_probe(remote, GST_PAD_PROBE_TYPE_BUFFER, on_rtp, new_ref(f), free_ref);
  /* webrtcbin 1.22's rtpbin is its child named "rtpbin". */
  GstElement *rtpbin = gst_bin_get_by_name(GST_BIN(webrtcbin), "rtpbin");
  if (rtpbin) {
    h.bye = g_signal_connect_data(rtpbin, "on-bye-ssrc", G_CALLBACK(on_bye_ssrc), new_ref(f),
                                  free_ref_closure, GConnectFlags(0));
    h.timeout = g_signal_connect_data(rtpbin, "on-timeout", G_CALLBACK(on_ssrc_timeout), new_ref(f),
                                      free_ref_closure, GConnectFlags(0));
  }
  h.removed = g_signal_connect_data(webrtcbin, "pad-removed", G_CALLBACK(on_pad_removed),
                                    new_ref(f), free_ref_closure, GConnectFlags(0));
#ifdef HAVE_GST_WEBRTC
  h.signaling =
      g_signal_connect_data(webrtcbin, "notify::signaling-state", G_CALLBACK(on_signaling_state),
                            new_ref(f), free_ref_closure, GConnectFlags(0));
#endif
  GST_INFO_OBJECT(bin, "%" GST_PTR_FORMAT " follows %" GST_PTR_FORMAT " (ssrc %u%s)", track, remote,
                  f->ssrc, f->have_ssrc ? "" : ": unknown, no BYE / timeout");
  g_weak_ref_set(&f->webrtcbin, webrtcbin);
  g_weak_ref_set(&f->rtpbin, rtpbin);
  gst_clear_object(&rtpbin);
  gst_object_unref(webrtcbin);
  std::thread(watch, f, h).detach();
  return TRUE;
}

} // namespace

namespace
{

/* No data can have gone through the track yet, nor go while its id changes: its sink pad is
 * not linked and it never started (no STREAM_START on the track pad). */
bool track_not_started(GstPad *track)
{
  GstPad *sink = sink_pad_of(track);
  bool unlinked = sink && !gst_pad_is_linked(sink);
  gst_clear_object(&sink);
  GstEvent *start = unlinked ? gst_pad_get_sticky_event(track, GST_EVENT_STREAM_START, 0) : nullptr;
  bool started = start != nullptr;
  if (start)
    gst_event_unref(start);
  return unlinked && !started;
}

} // namespace

gboolean gst_media_stream_remote_track_id_settable(GstPad *track, const gchar *id)
{
  GstElement *bin = gst_pad_get_parent_element(track);
  if (!bin)
    return gst_media_stream_msid_id_is_valid(id); /* not in a bin yet: nothing runs */
  /* A track added to a running stream (a renegotiation) may take its remote id too, as long
   * as nothing went through it; otherwise the NULL/READY policy (and its WARNING). */
  gboolean ok = track_not_started(track) || gst_webcapture_property_settable(bin, "track-id");
  if (ok && !gst_media_stream_msid_id_is_valid(id)) {
    g_autofree gchar *shown = id ? g_strescape(id, nullptr) : g_strdup("(null)");
    g_autofree gchar *debug = g_strdup_printf("track-id \"%s\" ignored", shown);
    GST_WEB_WARNING_F(bin, GST_WEB_ERROR_TYPE, nullptr, debug,
                      _("the track id must be 1 to 64 SDP token characters (letters, digits "
                        "and symbols such as - _ . ~ { } !)."));
    ok = FALSE;
  }
  gst_object_unref(bin);
  return ok;
}

GstStream *gst_media_stream_remote_stream_with_id(GstStream *stream, const gchar *id)
{
  GstCaps *caps = gst_stream_get_caps(stream);
  GstStream *renamed = gst_stream_new(id, caps, gst_stream_get_stream_type(stream),
                                      gst_stream_get_stream_flags(stream));
  gst_clear_caps(&caps);
  GstTagList *tags = gst_stream_get_tags(stream);
  if (tags) {
    gst_stream_set_tags(renamed, tags);
    gst_tag_list_unref(tags);
  }
  return renamed;
}

void gst_media_stream_remote_install_signals(GObjectClass *klass)
{
  GST_DEBUG_CATEGORY_INIT(gst_media_stream_remote_debug, "mediastreambin-remote", 0,
                          "mediastreambin tracks received from webrtcbin");
  /**
   * GstMediaStreamBin::follow-remote-track:
   * @track: one of this bin's track pads
   * @remote: the webrtcbin src pad whose media feeds the track (through a depayloader and a
   *   decoder)
   *
   * The track follows the remote track: muted while no RTP arrives on @remote for 1 s,
   * unmuted at the next packet (MS-7); ended on RTCP BYE or RTP timeout of @remote's SSRC, or
   * when webrtcbin removes @remote (MS-8). Returns FALSE (nothing followed) when @track is not
   * this bin's or @remote is not a webrtcbin src pad.
   */
  g_signal_new_class_handler("follow-remote-track", G_TYPE_FROM_CLASS(klass),
                             static_cast<GSignalFlags>(G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION),
                             G_CALLBACK(GST_DEBUG_FUNCPTR(follow_remote_track)), nullptr, nullptr,
                             nullptr, G_TYPE_BOOLEAN, 2, GST_TYPE_PAD, GST_TYPE_PAD);
}
