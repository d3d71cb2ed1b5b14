/* webrtc-track-ids: a MediaStream's track ids reach the WebRTC peer (C).
 *
 * A mediastreambin (a test video and a tone) feeds a webrtcbin "send". Its offer is set on
 * "send" unchanged and the copy returned by mediastreambin's "annotate-sdp" goes to the peer:
 * every m-line then carries a=msid:<stream id> <track-id>, so a browser sees the bin's id as
 * MediaStream.id and each track pad's track-id as MediaStreamTrack.id. The peer here is a second
 * webrtcbin "recv" in the same process (a browser would get the text over the application's
 * signalling). No packet is sent: the example stops once the peer holds the description.
 *
 * Prints the ids, the annotated lines and what the peer read; exits 0 when the peer's
 * description carries every "<stream id> <track-id>" pair, 1 otherwise.
 *
 *   GST_PLUGIN_PATH=build/gst/mediastream build/tests/examples/webrtc-track-ids
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define GST_USE_UNSTABLE_API
#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>

#include <string.h>

/* Runs a webrtcbin action that answers through a promise (create-offer, create-answer,
 * set-*-description) and waits for it; returns the reply's description named @field, or
 * NULL. */
static GstWebRTCSessionDescription *run_action(GstElement *webrtc, const gchar *action,
                                               gpointer arg, const gchar *field)
{
  GstPromise *promise = gst_promise_new();
  GstWebRTCSessionDescription *desc = NULL;

  if (arg)
    g_signal_emit_by_name(webrtc, action, arg, promise);
  else
    g_signal_emit_by_name(webrtc, action, NULL, promise);
  if (gst_promise_wait(promise) == GST_PROMISE_RESULT_REPLIED && field) {
    const GstStructure *reply = gst_promise_get_reply(promise);
    if (reply)
      gst_structure_get(reply, field, GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &desc, NULL);
  }
  gst_promise_unref(promise);
  return desc;
}

static void on_negotiation_needed(GstElement *webrtc G_GNUC_UNUSED, gpointer user_data)
{
  g_atomic_int_set((gint *)user_data, 1);
}

/* TRUE when the media-level a=msid of some m-line of @sdp is "@stream_id @track_id". */
static gboolean has_msid(const GstSDPMessage *sdp, const gchar *stream_id, const gchar *track_id)
{
  gchar *wanted = g_strdup_printf("%s %s", stream_id, track_id);
  gboolean found = FALSE;
  guint m;

  for (m = 0; m < gst_sdp_message_medias_len(sdp); m++) {
    const gchar *msid = gst_sdp_media_get_attribute_val(gst_sdp_message_get_media(sdp, m), "msid");
    found |= g_strcmp0(msid, wanted) == 0;
  }
  g_free(wanted);
  return found;
}

int main(int argc, char **argv)
{
  GstElement *pipeline, *ms, *send, *recv;
  GstWebRTCSessionDescription *offer, *sent, *answer, *remote = NULL;
  GstSDPMessage *annotated = NULL;
  GError *error = NULL;
  gint negotiation_needed = 0;
  gchar *stream_id = NULL;
  gint64 end;
  int status = 0;
  guint m;

  gst_init(&argc, &argv);
  pipeline = gst_parse_launch("mediastreambin name=ms "
                              "videotestsrc is-live=true ! video/x-raw,width=320,height=240 ! ms. "
                              "audiotestsrc is-live=true ! ms. "
                              "ms.video_0 ! videoconvert ! vp8enc deadline=1 ! rtpvp8pay ! "
                              "application/x-rtp,media=video,encoding-name=VP8,payload=96 ! "
                              "webrtcbin name=send bundle-policy=max-bundle "
                              "ms.audio_0 ! audioconvert ! audioresample ! opusenc ! rtpopuspay ! "
                              "application/x-rtp,media=audio,encoding-name=OPUS,payload=97 ! send. "
                              "webrtcbin name=recv bundle-policy=max-bundle",
                              &error);
  if (!pipeline) {
    g_printerr("webrtc-track-ids: %s (mediastreambin on GST_PLUGIN_PATH? "
               "webrtcbin, vp8enc, opusenc installed?)\n",
               error->message);
    g_clear_error(&error);
    return 1;
  }
  ms = gst_bin_get_by_name(GST_BIN(pipeline), "ms");
  send = gst_bin_get_by_name(GST_BIN(pipeline), "send");
  recv = gst_bin_get_by_name(GST_BIN(pipeline), "recv");
  g_signal_connect(send, "on-negotiation-needed", G_CALLBACK(on_negotiation_needed),
                   &negotiation_needed);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);

  /* webrtcbin 1.22 asks for negotiation once every sink pad has caps. */
  end = g_get_monotonic_time() + 20 * G_TIME_SPAN_SECOND;
  while (!g_atomic_int_get(&negotiation_needed) && g_get_monotonic_time() < end)
    g_usleep(10000);
  offer = g_atomic_int_get(&negotiation_needed) ? run_action(send, "create-offer", NULL, "offer")
                                                : NULL;
  if (!offer) {
    g_printerr("webrtc-track-ids: no offer from webrtcbin\n");
    status = 1;
    goto done;
  }

  /* webrtcbin keeps its own offer; the peer gets the annotated copy. */
  run_action(send, "set-local-description", offer, NULL);
  g_signal_emit_by_name(ms, "annotate-sdp", offer->sdp, send, &annotated);
  sent = gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_OFFER, annotated);

  run_action(recv, "set-remote-description", sent, NULL);
  answer = run_action(recv, "create-answer", NULL, "answer");
  if (answer) {
    run_action(recv, "set-local-description", answer, NULL);
    run_action(send, "set-remote-description", answer, NULL);
    gst_webrtc_session_description_free(answer);
  }

  g_object_get(ms, "id", &stream_id, NULL);
  g_object_get(recv, "remote-description", &remote, NULL);
  g_print("stream id %s\n", stream_id);
  for (m = 0; m < gst_sdp_message_medias_len(sent->sdp); m++) {
    const GstSDPMedia *media = gst_sdp_message_get_media(sent->sdp, m);
    g_print("sent m=%s: a=msid:%s\n", gst_sdp_media_get_media(media),
            gst_sdp_media_get_attribute_val(media, "msid"));
  }
  {
    const gchar *pads[] = {"video_0", "audio_0"};
    guint i;
    for (i = 0; i < G_N_ELEMENTS(pads); i++) {
      GstPad *track = gst_element_get_static_pad(ms, pads[i]);
      gchar *track_id = NULL;
      gboolean seen;

      g_object_get(track, "track-id", &track_id, NULL);
      seen = remote && has_msid(remote->sdp, stream_id, track_id);
      g_print("track %s: track-id %s, the peer %s\n", pads[i], track_id,
              seen ? "sees it" : "does NOT see it");
      if (!seen)
        status = 1;
      g_free(track_id);
      gst_object_unref(track);
    }
  }
  if (remote)
    gst_webrtc_session_description_free(remote);
  gst_webrtc_session_description_free(sent);
  gst_webrtc_session_description_free(offer);
  g_free(stream_id);

done:
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(ms);
  gst_object_unref(send);
  gst_object_unref(recv);
  gst_object_unref(pipeline);
  return status;
}
