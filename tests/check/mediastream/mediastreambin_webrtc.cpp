/* MS-11 end to end: a mediastreambin's tracks sent through one webrtcbin to
 * another in the same process; the receiving pads report the sender's stream
 * id (msid) for every track, audio and video.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * libnice gathers no loopback candidates, so the two peers need a real
 * interface: the program re-executes itself under `unshare -rn` (a private
 * user + network namespace, no privilege needed) and creates a veth pair
 * 10.99.0.1/24 <-> 10.99.0.2/24 there. It never touches the host's
 * interfaces: inside it first checks that the namespace holds nothing but
 * `lo`. Where user namespaces are not allowed it exits 77 (meson: skipped)
 * with a message saying so. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#define GST_USE_UNSTABLE_API
#include <glib/gstdio.h>
#include <gst/check/gstcheck.h>
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>

#include <unistd.h>

#ifdef HAVE_CANVASCAPTURE
#include <cairo.h>
#endif
#include <cmath>

#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

#include "webcapture-check.h"

namespace
{

constexpr const gchar *NETNS_ENV = "MEDIASTREAM_WEBRTC_NETNS";

struct Peers {
  GstElement *pipeline = nullptr;
  GstElement *send = nullptr;
  GstElement *recv = nullptr;
  GMutex lock;
  GCond cond;
  std::vector<std::string> kinds; /* media of each receiving pad */
  std::vector<std::string> msids; /* msid of each receiving pad */
  bool failed = false;
  bool file_done = false;
};

} // namespace

/* The @field ("offer" / "answer") description of replied @promise, or NULL;
 * unrefs @promise. */
static GstWebRTCSessionDescription *take_reply_description(GstPromise *promise, const gchar *field)
{
  const GstStructure *reply = gst_promise_get_reply(promise);
  GstWebRTCSessionDescription *desc = nullptr;
  if (reply)
    gst_structure_get(reply, field, GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &desc, NULL);
  gst_promise_unref(promise);
  return desc;
}

static void on_answer_created(GstPromise *promise, gpointer user_data)
{
  auto *p = static_cast<Peers *>(user_data);
  GstWebRTCSessionDescription *answer = take_reply_description(promise, "answer");
  if (!answer) {
    p->failed = true;
    return;
  }
  g_signal_emit_by_name(p->recv, "set-local-description", answer, nullptr);
  g_signal_emit_by_name(p->send, "set-remote-description", answer, nullptr);
  gst_webrtc_session_description_free(answer);
}

static void on_offer_created(GstPromise *promise, gpointer user_data)
{
  auto *p = static_cast<Peers *>(user_data);
  GstWebRTCSessionDescription *offer = take_reply_description(promise, "offer");
  if (!offer) {
    p->failed = true;
    return;
  }
  g_autofree gchar *sdp = gst_sdp_message_as_text(offer->sdp);
  GST_INFO("offer:\n%s", sdp);
  g_signal_emit_by_name(p->send, "set-local-description", offer, nullptr);
  g_signal_emit_by_name(p->recv, "set-remote-description", offer, nullptr);
  gst_webrtc_session_description_free(offer);
  GstPromise *answer = gst_promise_new_with_change_func(on_answer_created, p, nullptr);
  g_signal_emit_by_name(p->recv, "create-answer", nullptr, answer);
}

static void on_negotiation_needed(GstElement *send, gpointer user_data)
{
  GstPromise *offer = gst_promise_new_with_change_func(on_offer_created, user_data, nullptr);
  g_signal_emit_by_name(send, "create-offer", nullptr, offer);
}

static void on_send_candidate(GstElement *, guint mline, gchar *candidate, gpointer user_data)
{
  g_signal_emit_by_name(static_cast<Peers *>(user_data)->recv, "add-ice-candidate", mline,
                        candidate);
}

static void on_recv_candidate(GstElement *, guint mline, gchar *candidate, gpointer user_data)
{
  g_signal_emit_by_name(static_cast<Peers *>(user_data)->send, "add-ice-candidate", mline,
                        candidate);
}

static void on_recv_pad_added(GstElement *recv, GstPad *pad, gpointer user_data)
{
  auto *p = static_cast<Peers *>(user_data);
  if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC)
    return;
  gchar *msid = nullptr;
  g_object_get(pad, "msid", &msid, NULL);
  GstCaps *caps = gst_pad_get_current_caps(pad);
  if (!caps)
    caps = gst_pad_query_caps(pad, nullptr);
  const gchar *media = nullptr;
  if (caps && !gst_caps_is_empty(caps))
    media = gst_structure_get_string(gst_caps_get_structure(caps, 0), "media");
  GST_INFO("receiving pad %s: media %s msid %s", GST_PAD_NAME(pad), media, msid);

  GstElement *sink = gst_element_factory_make("fakesink", nullptr);
  g_object_set(sink, "async", FALSE, "sync", FALSE, NULL);
  gst_bin_add(GST_BIN(p->pipeline), sink);
  gst_element_sync_state_with_parent(sink);
  GstPad *sinkpad = gst_element_get_static_pad(sink, "sink");
  gst_pad_link(pad, sinkpad);
  gst_object_unref(sinkpad);

  g_mutex_lock(&p->lock);
  p->kinds.push_back(media ? media : "");
  p->msids.push_back(msid ? msid : "");
  g_cond_broadcast(&p->cond);
  g_mutex_unlock(&p->lock);
  if (caps)
    gst_caps_unref(caps);
  g_free(msid);
}

/* What a test sending audio and video through webrtcbin needs; skips the
 * test (and says so) when one is not installed. */
#define REQUIRE_WEBRTC_ELEMENTS()                                                                  \
  WC_REQUIRE_ELEMENTS("webrtcbin", "vp8enc", "rtpvp8pay", "opusenc", "rtpopuspay")

/* The text of an ERROR message popped within @timeout_ms, or "". */
static std::string pop_error(GstBus *bus, guint timeout_ms)
{
  GstMessage *msg = wc_pop_error(bus, timeout_ms);
  if (!msg)
    return "";
  std::string text = wc_error_text(msg);
  gst_message_unref(msg);
  return text;
}

GST_START_TEST(test_webrtc_pair_msid)
{
  REQUIRE_WEBRTC_ELEMENTS();
  Peers p;
  g_mutex_init(&p.lock);
  g_cond_init(&p.cond);
  GError *err = nullptr;
  /* The track pads are linked before the encoders reach webrtcbin (the msid
   * is found by walking the path) and the audio path is completed only after
   * the video one, so both ways of getting there are exercised. */
  p.pipeline = gst_parse_launch(
      "videotestsrc is-live=true ! video/x-raw,width=160,height=120,framerate=15/1 ! ms. "
      "audiotestsrc is-live=true ! ms. "
      "mediastreambin name=ms id=sender-stream "
      "ms.video_0 ! queue ! videoconvert ! vp8enc deadline=1 ! rtpvp8pay ! queue ! "
      "application/x-rtp,media=video,encoding-name=VP8,payload=96 ! "
      "webrtcbin name=send bundle-policy=max-bundle "
      "ms.audio_0 ! queue ! audioconvert ! audioresample ! opusenc ! rtpopuspay ! queue ! "
      "application/x-rtp,media=audio,encoding-name=OPUS,payload=97 ! send. "
      "webrtcbin name=recv bundle-policy=max-bundle",
      &err);
  fail_unless(p.pipeline != nullptr && err == nullptr, "%s", err ? err->message : "");
  p.send = gst_bin_get_by_name(GST_BIN(p.pipeline), "send");
  p.recv = gst_bin_get_by_name(GST_BIN(p.pipeline), "recv");
  g_signal_connect(p.send, "on-negotiation-needed", G_CALLBACK(on_negotiation_needed), &p);
  g_signal_connect(p.send, "on-ice-candidate", G_CALLBACK(on_send_candidate), &p);
  g_signal_connect(p.recv, "on-ice-candidate", G_CALLBACK(on_recv_candidate), &p);
  g_signal_connect(p.recv, "pad-added", G_CALLBACK(on_recv_pad_added), &p);

  fail_if(gst_element_set_state(p.pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE);

  gint64 end = g_get_monotonic_time() + 30 * G_TIME_SPAN_SECOND;
  GstBus *bus = gst_element_get_bus(p.pipeline);
  std::string error;
  g_mutex_lock(&p.lock);
  while (p.kinds.size() < 2 && g_get_monotonic_time() < end && !p.failed && error.empty()) {
    g_mutex_unlock(&p.lock);
    error = pop_error(bus, 100);
    g_mutex_lock(&p.lock);
  }
  g_mutex_unlock(&p.lock);
  gst_object_unref(bus);
  /* Stopped before any check, so no callback outlives the test. */
  gst_element_set_state(p.pipeline, GST_STATE_NULL);
  std::vector<std::string> kinds = p.kinds, msids = p.msids;
  fail_unless(error.empty(), "pipeline error: %s", error.c_str());
  fail_if(p.failed, "negotiation failed");
  fail_unless_equals_int(kinds.size(), 2);

  bool audio = false, video = false;
  for (size_t i = 0; i < kinds.size(); i++) {
    fail_unless_equals_string(msids[i].c_str(), "sender-stream");
    audio |= kinds[i] == "audio";
    video |= kinds[i] == "video";
  }
  fail_unless(audio && video, "one audio and one video pad on the receiving side");

  gst_object_unref(p.send);
  gst_object_unref(p.recv);
  gst_object_unref(p.pipeline);
  g_mutex_clear(&p.lock);
  g_cond_clear(&p.cond);
}
GST_END_TEST;

/* --- track ids in SDP: annotate-sdp (MS-5, MS-11) -------------------------- */

/* Runs a webrtcbin action with a promise and returns the reply's @field
 * description (create-offer / create-answer), or NULL. */
static GstWebRTCSessionDescription *make_description(GstElement *webrtc, const gchar *action,
                                                     const gchar *field)
{
  GstPromise *promise = gst_promise_new();
  g_signal_emit_by_name(webrtc, action, nullptr, promise);
  if (gst_promise_wait(promise) != GST_PROMISE_RESULT_REPLIED) {
    gst_promise_unref(promise);
    return nullptr;
  }
  return take_reply_description(promise, field);
}

/* set-local-description / set-remote-description, waited for; TRUE without error. */
static bool apply_description(GstElement *webrtc, const gchar *action,
                              GstWebRTCSessionDescription *desc)
{
  GstPromise *promise = gst_promise_new();
  g_signal_emit_by_name(webrtc, action, desc, promise);
  bool ok = gst_promise_wait(promise) == GST_PROMISE_RESULT_REPLIED;
  const GstStructure *reply = ok ? gst_promise_get_reply(promise) : nullptr;
  if (reply && gst_structure_has_field(reply, "error")) {
    GError *error = nullptr;
    gst_structure_get(reply, "error", G_TYPE_ERROR, &error, NULL);
    GST_WARNING("%s: %s", action, error ? error->message : "?");
    g_clear_error(&error);
    ok = false;
  }
  gst_promise_unref(promise);
  return ok;
}

/* The annotated copy of @desc (annotate-sdp on @ms), as a new description. */
static GstWebRTCSessionDescription *annotated(GstElement *ms, GstElement *webrtc,
                                              GstWebRTCSessionDescription *desc)
{
  GstSDPMessage *sdp = nullptr;
  g_signal_emit_by_name(ms, "annotate-sdp", desc->sdp, webrtc, &sdp);
  fail_unless(sdp != nullptr, "annotate-sdp returned a message");
  g_autofree gchar *text = gst_sdp_message_as_text(sdp);
  GST_INFO("annotated %s:\n%s", desc->type == GST_WEBRTC_SDP_TYPE_OFFER ? "offer" : "answer", text);
  return gst_webrtc_session_description_new(desc->type, sdp);
}

/* "<stream id> <track id>" of every track pad of the bins named in @names. */
static std::vector<std::string> expected_msids(GstElement *pipeline,
                                               std::initializer_list<const gchar *> names)
{
  std::vector<std::string> ids;
  for (const gchar *name : names) {
    GstElement *ms = gst_bin_get_by_name(GST_BIN(pipeline), name);
    std::string stream_id = wc_get_string(ms, "id");
    GST_OBJECT_LOCK(ms);
    for (GList *l = GST_ELEMENT(ms)->srcpads; l; l = l->next)
      ids.push_back(stream_id + " " + wc_get_string(l->data, "track-id"));
    GST_OBJECT_UNLOCK(ms);
    gst_object_unref(ms);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

/* What the peer holding @sdp reads: media-level a=msid values, and the
 * ssrc-level "msid:<stream> <track>" values, one per m-line, sorted. */
static void remote_msids(const GstSDPMessage *sdp, std::vector<std::string> *media_level,
                         std::vector<std::string> *ssrc_level)
{
  for (guint m = 0; m < gst_sdp_message_medias_len(sdp); m++) {
    const GstSDPMedia *media = gst_sdp_message_get_media(sdp, m);
    const gchar *msid = gst_sdp_media_get_attribute_val(media, "msid");
    if (msid)
      media_level->push_back(msid);
    for (guint i = 0; i < gst_sdp_media_attributes_len(media); i++) {
      const GstSDPAttribute *a = gst_sdp_media_get_attribute(media, i);
      const gchar *at = a->value ? strstr(a->value, " msid:") : nullptr;
      if (g_strcmp0(a->key, "ssrc") == 0 && at) {
        ssrc_level->push_back(at + 6);
        break;
      }
    }
  }
  std::sort(media_level->begin(), media_level->end());
  std::sort(ssrc_level->begin(), ssrc_level->end());
}

static std::string joined(const std::vector<std::string> &v)
{
  std::string s;
  for (const std::string &x : v)
    s += (s.empty() ? "" : ", ") + x;
  return s;
}

static void on_flag_set(GstElement *, gpointer user_data)
{
  g_atomic_int_set(static_cast<gint *>(user_data), 1);
}

/* Two streams (2 video + 1 audio, and 1 video) through one webrtcbin. */
static GstElement *two_streams_pipeline(gint *negotiation_needed)
{
  GError *err = nullptr;
  GstElement *pipeline = gst_parse_launch(
      "mediastreambin name=one id=stream-one mediastreambin name=two id=stream-two "
      "videotestsrc is-live=true ! video/x-raw,width=64,height=48,framerate=15/1 ! one. "
      "videotestsrc is-live=true ! video/x-raw,width=64,height=48,framerate=15/1 ! one. "
      "audiotestsrc is-live=true ! one. "
      "videotestsrc is-live=true ! video/x-raw,width=64,height=48,framerate=15/1 ! two. "
      "webrtcbin name=send bundle-policy=max-bundle webrtcbin name=recv bundle-policy=max-bundle "
      "one.video_0 ! queue ! vp8enc deadline=1 ! rtpvp8pay ! "
      "application/x-rtp,media=video,encoding-name=VP8,payload=96 ! send. "
      /* inside a bin: the annotation walks through ghost pads */
      "one.video_1 ! ( queue ! vp8enc deadline=1 ! rtpvp8pay ) ! "
      "application/x-rtp,media=video,encoding-name=VP8,payload=96 ! send. "
      "one.audio_0 ! queue ! audioconvert ! audioresample ! opusenc ! rtpopuspay ! "
      "application/x-rtp,media=audio,encoding-name=OPUS,payload=97 ! send. "
      "two.video_0 ! queue ! vp8enc deadline=1 ! rtpvp8pay ! "
      "application/x-rtp,media=video,encoding-name=VP8,payload=96 ! send. ",
      &err);
  fail_unless(pipeline != nullptr && err == nullptr, "%s", err ? err->message : "");
  GstElement *send = gst_bin_get_by_name(GST_BIN(pipeline), "send");
  g_signal_connect(send, "on-negotiation-needed", G_CALLBACK(on_flag_set), negotiation_needed);
  gst_object_unref(send);
  return pipeline;
}

static void check_remote_ids(GstElement *pipeline, GstElement *recv, const gchar *what)
{
  std::vector<std::string> expected = expected_msids(pipeline, {"one", "two"});
  fail_unless_equals_int(expected.size(), 4);
  GstWebRTCSessionDescription *remote = nullptr;
  g_object_get(recv, "remote-description", &remote, NULL);
  fail_unless(remote != nullptr, "%s: the receiver has a remote description", what);
  std::vector<std::string> media_level, ssrc_level;
  remote_msids(remote->sdp, &media_level, &ssrc_level);
  gst_webrtc_session_description_free(remote);
  fail_unless(media_level == expected, "%s: media-level a=msid [%s], expected [%s]", what,
              joined(media_level).c_str(), joined(expected).c_str());
  fail_unless(ssrc_level == expected, "%s: ssrc-level msid [%s], expected [%s]", what,
              joined(ssrc_level).c_str(), joined(expected).c_str());
}

static void wait_flag(gint *flag, const gchar *what)
{
  wc_wait_until([flag] { return g_atomic_int_get(flag) != 0; }, 30000, 10);
  fail_unless(g_atomic_int_get(flag), "%s within 30 s", what);
}

/* two_streams_pipeline() playing once every sink pad of the sender has caps,
 * with its two webrtcbins and the stream named @annotating; stopped and freed
 * at the end of the scope. */
struct TwoStreams {
  gint negotiation_needed = 0;
  GstElement *pipeline = two_streams_pipeline(&negotiation_needed);
  GstElement *send = gst_bin_get_by_name(GST_BIN(pipeline), "send");
  GstElement *recv = gst_bin_get_by_name(GST_BIN(pipeline), "recv");
  GstElement *annotating;

  explicit TwoStreams(const gchar *annotating_name)
      : annotating(gst_bin_get_by_name(GST_BIN(pipeline), annotating_name))
  {
    fail_if(gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE);
    wait_flag(&negotiation_needed, "on-negotiation-needed (every sink pad has caps)");
  }
  ~TwoStreams()
  {
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(annotating);
    gst_object_unref(send);
    gst_object_unref(recv);
    gst_object_unref(pipeline);
  }
  TwoStreams(const TwoStreams &) = delete;
  TwoStreams &operator=(const TwoStreams &) = delete;
};

/* The sender offers: webrtcbin's own offer is set unchanged, the peer gets
 * the annotated copy and sees every stream id and track id. */
GST_START_TEST(test_annotate_offer)
{
  REQUIRE_WEBRTC_ELEMENTS();
  TwoStreams t("one");
  GstElement *send = t.send, *recv = t.recv;

  GstWebRTCSessionDescription *offer = make_description(send, "create-offer", "offer");
  fail_unless(offer != nullptr);
  fail_unless(apply_description(send, "set-local-description", offer));
  GstWebRTCSessionDescription *sent = annotated(t.annotating, send, offer);
  fail_unless(apply_description(recv, "set-remote-description", sent));
  GstWebRTCSessionDescription *answer = make_description(recv, "create-answer", "answer");
  fail_unless(answer != nullptr);
  fail_unless(apply_description(recv, "set-local-description", answer));
  fail_unless(apply_description(send, "set-remote-description", answer));
  check_remote_ids(t.pipeline, recv, "offer");

  /* webrtcbin's own offer kept its transceiver names. */
  g_autofree gchar *text = gst_sdp_message_as_text(offer->sdp);
  fail_unless(strstr(text, " webrtctransceiver") != nullptr && !strstr(text, "a=msid:"), "%s",
              text);

  gst_webrtc_session_description_free(offer);
  gst_webrtc_session_description_free(sent);
  gst_webrtc_session_description_free(answer);
}
GST_END_TEST;

/* The peer offers to receive (recvonly transceivers); the sender's answer,
 * annotated, carries the ids as well. */
GST_START_TEST(test_annotate_answer)
{
  REQUIRE_WEBRTC_ELEMENTS();
  TwoStreams t("two");
  GstElement *send = t.send, *recv = t.recv;

  const gchar *offered[] = {
      "application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000",
      "application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000",
      "application/x-rtp,media=audio,encoding-name=OPUS,payload=97,clock-rate=48000",
      "application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000"};
  for (const gchar *caps_text : offered) {
    GstCaps *caps = gst_caps_from_string(caps_text);
    GstWebRTCRTPTransceiver *trans = nullptr;
    g_signal_emit_by_name(recv, "add-transceiver", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY,
                          caps, &trans);
    gst_caps_unref(caps);
    fail_unless(trans != nullptr);
    gst_object_unref(trans);
  }
  GstWebRTCSessionDescription *offer = make_description(recv, "create-offer", "offer");
  fail_unless(offer != nullptr);
  fail_unless(apply_description(recv, "set-local-description", offer));
  fail_unless(apply_description(send, "set-remote-description", offer));
  GstWebRTCSessionDescription *answer = make_description(send, "create-answer", "answer");
  fail_unless(answer != nullptr);
  fail_unless(apply_description(send, "set-local-description", answer));
  GstWebRTCSessionDescription *sent = annotated(t.annotating, send, answer);
  fail_unless(apply_description(recv, "set-remote-description", sent));
  check_remote_ids(t.pipeline, recv, "answer");

  gst_webrtc_session_description_free(offer);
  gst_webrtc_session_description_free(sent);
  gst_webrtc_session_description_free(answer);
}
GST_END_TEST;

/* --- receive side: track-id set to a remote track's id ------------------- */

static GstPadProbeReturn on_stream_start(GstPad *, GstPadProbeInfo *info, gpointer user_data)
{
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT(info);
  if (GST_EVENT_TYPE(event) == GST_EVENT_STREAM_START) {
    const gchar *id = nullptr;
    gst_event_parse_stream_start(event, &id);
    *static_cast<std::string *>(user_data) = id ? id : "";
  }
  return GST_PAD_PROBE_OK;
}

/* Pops every message on @bus now: the number of WARNINGs; *@listed (if not
 * NULL) is set when a stream collection lists a stream with id @stream_id. */
static guint count_warnings(GstBus *bus, const gchar *stream_id = nullptr, bool *listed = nullptr)
{
  guint n = 0;
  GstMessage *msg;
  while ((msg = gst_bus_pop(bus))) {
    if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_WARNING)
      n++;
    if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_STREAM_COLLECTION && listed) {
      GstStreamCollection *collection = nullptr;
      gst_message_parse_stream_collection(msg, &collection);
      for (guint i = 0; i < gst_stream_collection_get_size(collection); i++) {
        GstStream *stream = gst_stream_collection_get_stream(collection, i);
        *listed |= g_strcmp0(gst_stream_get_stream_id(stream), stream_id) == 0;
      }
      gst_object_unref(collection);
    }
    gst_message_unref(msg);
  }
  return n;
}

/* MS-5 receive side: in NULL/READY the track takes the remote id (STREAM_START
 * and the collection carry it); a bad id, or a new id for a track that runs,
 * is refused with a WARNING and the id kept; a track added while running takes
 * its id before anything flows. follow-remote-track refuses a pad that is not
 * a webrtcbin src pad. */
GST_START_TEST(test_remote_track_id)
{
  GstElement *pipeline = gst_parse_launch("videotestsrc is-live=true ! ms. mediastreambin name=ms "
                                          "ms.video_0 ! fakesink name=sink async=false",
                                          nullptr);
  fail_unless(pipeline != nullptr);
  GstElement *ms = gst_bin_get_by_name(GST_BIN(pipeline), "ms");
  GstPad *track = gst_element_get_static_pad(ms, "video_0");
  GstBus *bus = gst_element_get_bus(pipeline);

  g_object_set(track, "track-id", "bad id with spaces", NULL);
  fail_unless_equals_int(count_warnings(bus), 1);
  g_object_set(track, "track-id", "{remote-track-1}", NULL);
  std::string id = wc_get_string(track, "track-id");
  fail_unless_equals_string(id.c_str(), "{remote-track-1}");

  std::string started;
  gst_pad_add_probe(track, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_stream_start, &started, nullptr);
  fail_if(gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE);
  GstMessage *msg = gst_bus_timed_pop_filtered(bus, 10 * GST_SECOND, GST_MESSAGE_STREAM_COLLECTION);
  fail_unless(msg != nullptr);
  gst_message_unref(msg);
  wc_wait_until([&] { return !started.empty(); }, 10000, 10);
  fail_unless_equals_string(started.c_str(), "{remote-track-1}");
  GstStream *stream = gst_pad_get_stream(track);
  fail_unless(stream != nullptr);
  fail_unless_equals_string(gst_stream_get_stream_id(stream), "{remote-track-1}");
  gst_object_unref(stream);

  /* Running: refused, kept. */
  count_warnings(bus);
  g_object_set(track, "track-id", "too-late", NULL);
  fail_unless_equals_int(count_warnings(bus), 1);
  id = wc_get_string(track, "track-id");
  fail_unless_equals_string(id.c_str(), "{remote-track-1}");

  /* A track added while running (a renegotiation) takes its id before anything flows. */
  GstPad *late_sink = gst_element_request_pad_simple(ms, "audio_sink_%u");
  GstPad *late = gst_element_get_static_pad(ms, "audio_0");
  count_warnings(bus);
  g_object_set(late, "track-id", "late-track", NULL);
  bool in_collection = false;
  fail_unless_equals_int(count_warnings(bus, "late-track", &in_collection), 0);
  id = wc_get_string(late, "track-id");
  fail_unless_equals_string(id.c_str(), "late-track");
  fail_unless(in_collection, "a stream collection lists the late track's new id");
  gst_element_release_request_pad(ms, late_sink);
  gst_object_unref(late_sink);
  gst_object_unref(late);

  GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  GstPad *not_webrtc = gst_element_get_static_pad(sink, "sink");
  gboolean following = TRUE;
  g_signal_emit_by_name(ms, "follow-remote-track", track, not_webrtc, &following);
  fail_if(following, "follow-remote-track accepted a fakesink pad");

  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(not_webrtc);
  gst_object_unref(sink);
  gst_object_unref(bus);
  gst_object_unref(track);
  gst_object_unref(ms);
  gst_object_unref(pipeline);
}
GST_END_TEST;

#ifdef HAVE_CANVASCAPTURE
/* --- canvascapturesrc + mediacapturesrc -> one MediaStream -> WebM and WebRTC */

static gboolean on_draw(GstElement *, cairo_t *cr, guint64 running_time, gpointer)
{
  double t = running_time / 1e9;
  cairo_set_source_rgb(cr, fmod(t, 1.0), 0.4, 0.7);
  cairo_paint(cr);
  return TRUE;
}

static GstPadProbeReturn on_file_eos(GstPad *, GstPadProbeInfo *info, gpointer user_data)
{
  auto *p = static_cast<Peers *>(user_data);
  if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) == GST_EVENT_EOS) {
    g_mutex_lock(&p->lock);
    p->file_done = true;
    g_cond_broadcast(&p->cond);
    g_mutex_unlock(&p->lock);
  }
  return GST_PAD_PROBE_OK;
}

static gchar *send_pad_msid(GstElement *send, const gchar *name)
{
  GstPad *pad = gst_element_get_static_pad(send, name);
  if (!pad)
    return nullptr;
  gchar *msid = nullptr;
  g_object_get(pad, "msid", &msid, NULL);
  gst_object_unref(pad);
  return msid;
}

static void on_demux_pad(GstElement *, GstPad *pad, gpointer user_data)
{
  auto *names = static_cast<std::vector<std::string> *>(user_data);
  GstCaps *caps = gst_pad_get_current_caps(pad);
  names->push_back(gst_structure_get_name(gst_caps_get_structure(caps, 0)));
  gst_caps_unref(caps);
  GstElement *bin = GST_ELEMENT(gst_element_get_parent(gst_pad_get_parent_element(pad)));
  GstElement *sink = gst_element_factory_make("fakesink", nullptr);
  gst_bin_add(GST_BIN(bin), sink);
  gst_element_sync_state_with_parent(sink);
  GstPad *sinkpad = gst_element_get_static_pad(sink, "sink");
  gst_pad_link(pad, sinkpad);
  gst_object_unref(sinkpad);
  gst_object_unref(bin);
}

/* The WebM file's streams by caps name. */
static std::vector<std::string> webm_streams(const gchar *path)
{
  std::vector<std::string> names;
  g_autofree gchar *desc = g_strdup_printf("filesrc location=\"%s\" ! matroskademux name=d", path);
  GstElement *pipeline = gst_parse_launch(desc, nullptr);
  GstElement *demux = gst_bin_get_by_name(GST_BIN(pipeline), "d");
  g_signal_connect(demux, "pad-added", G_CALLBACK(on_demux_pad), &names);
  gst_object_unref(demux);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus(pipeline);
  GstMessage *msg = gst_bus_timed_pop_filtered(
      bus, 10 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  fail_unless(msg && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS, "the WebM file plays to its end");
  gst_message_unref(msg);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  return names;
}

GST_START_TEST(test_record_and_send)
{
  WC_REQUIRE_ELEMENTS("canvascapturesrc", "webrtcbin", "vp8enc", "rtpvp8pay", "opusenc",
                      "rtpopuspay", "webmmux", "matroskademux", "wavenc");
  g_autofree gchar *dir = g_dir_make_tmp("mediastream-XXXXXX", nullptr);
  g_autofree gchar *wav = g_build_filename(dir, "tone.wav", NULL);
  g_autofree gchar *webm = g_build_filename(dir, "stream.webm", NULL);

  /* A 3 s media file for the media element. It ends before the 4 s canvas:
   * with max-bundle both tracks share one transport, and the first EOS to
   * reach webrtcbin makes the other branch's pushes return EOS through its
   * tee; canvascapturesrc (a GstBaseSrc) turns that into its EOS event, while
   * a source that does not would leave the recording unfinished. */
  gchar *desc = g_strdup_printf("audiotestsrc num-buffers=300 samplesperbuffer=441 ! "
                                "audio/x-raw,rate=44100,channels=1 ! wavenc ! filesink "
                                "location=\"%s\"",
                                wav);
  GstElement *maker = gst_parse_launch(desc, nullptr);
  g_free(desc);
  gst_element_set_state(maker, GST_STATE_PLAYING);
  GstBus *mbus = gst_element_get_bus(maker);
  gst_message_unref(gst_bus_timed_pop_filtered(
      mbus, 10 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR)));
  gst_object_unref(mbus);
  gst_element_set_state(maker, GST_STATE_NULL);
  gst_object_unref(maker);

  GstElementFactory *mc = gst_element_factory_find("mediacapturesrc");
  gchar *uri = gst_filename_to_uri(wav, nullptr);
  gchar *audio_src =
      mc ? g_strdup_printf("mediacapturesrc uri=\"%s\"", uri)
         : g_strdup("audiotestsrc is-live=true num-buffers=130 samplesperbuffer=1024");
  if (mc)
    gst_object_unref(mc);
  else
    g_print("mediacapturesrc not available: audiotestsrc feeds the audio track\n");
  g_free(uri);

  Peers p;
  g_mutex_init(&p.lock);
  g_cond_init(&p.cond);
  GError *err = nullptr;
  desc = g_strdup_printf(
      "canvascapturesrc name=canvas width=160 height=120 frame-rate=15 num-buffers=60 ! ms. "
      "%s ! ms. "
      "mediastreambin name=ms id=recorded-stream "
      "ms.video_0 ! queue ! videoconvert ! vp8enc deadline=1 ! tee name=vt "
      "vt. ! queue ! webmmux name=mux ! filesink name=file location=\"%s\" "
      "vt. ! queue ! rtpvp8pay ! application/x-rtp,media=video,encoding-name=VP8,payload=96 ! "
      "webrtcbin name=send bundle-policy=max-bundle "
      "ms.audio_0 ! queue ! audioconvert ! audioresample ! opusenc ! tee name=at "
      "at. ! queue ! mux. "
      "at. ! queue ! rtpopuspay ! application/x-rtp,media=audio,encoding-name=OPUS,payload=97 ! "
      "send. "
      "webrtcbin name=recv bundle-policy=max-bundle",
      audio_src, webm);
  g_free(audio_src);
  p.pipeline = gst_parse_launch(desc, &err);
  g_free(desc);
  fail_unless(p.pipeline != nullptr && err == nullptr, "%s", err ? err->message : "");
  GstElement *canvas = gst_bin_get_by_name(GST_BIN(p.pipeline), "canvas");
  g_signal_connect(canvas, "draw", G_CALLBACK(on_draw), nullptr);
  gst_object_unref(canvas);
  GstElement *file = gst_bin_get_by_name(GST_BIN(p.pipeline), "file");
  GstPad *filepad = gst_element_get_static_pad(file, "sink");
  gst_pad_add_probe(filepad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_file_eos, &p, nullptr);
  gst_object_unref(filepad);
  gst_object_unref(file);
  p.send = gst_bin_get_by_name(GST_BIN(p.pipeline), "send");
  p.recv = gst_bin_get_by_name(GST_BIN(p.pipeline), "recv");
  g_signal_connect(p.send, "on-ice-candidate", G_CALLBACK(on_send_candidate), &p);
  g_signal_connect(p.recv, "on-ice-candidate", G_CALLBACK(on_recv_candidate), &p);
  g_signal_connect(p.recv, "pad-added", G_CALLBACK(on_recv_pad_added), &p);

  fail_if(gst_element_set_state(p.pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE);

  /* The application makes its offer once every track reached webrtcbin
   * (both sink pads carry the stream id as msid, through the tees). */
  GstBus *bus = gst_element_get_bus(p.pipeline);
  gint64 end = g_get_monotonic_time() + 40 * G_TIME_SPAN_SECOND;
  bool offered = false;
  std::string error;
  while (g_get_monotonic_time() < end && error.empty()) {
    error = pop_error(bus, 50);
    if (!offered) {
      g_autofree gchar *m0 = send_pad_msid(p.send, "sink_0");
      g_autofree gchar *m1 = send_pad_msid(p.send, "sink_1");
      if (g_strcmp0(m0, "recorded-stream") == 0 && g_strcmp0(m1, "recorded-stream") == 0) {
        offered = true;
        on_negotiation_needed(p.send, &p);
      }
    }
    g_mutex_lock(&p.lock);
    bool done = p.file_done && p.kinds.size() >= 2;
    g_mutex_unlock(&p.lock);
    if (done || p.failed)
      break;
  }
  gst_object_unref(bus);
  g_mutex_lock(&p.lock);
  std::vector<std::string> kinds = p.kinds, msids = p.msids;
  bool file_done = p.file_done;
  g_mutex_unlock(&p.lock);
  std::string states;
  if (!file_done) {
    GstElement *ms = gst_bin_get_by_name(GST_BIN(p.pipeline), "ms");
    for (const gchar *name : {"video_0", "audio_0"}) {
      GstPad *track = gst_element_get_static_pad(ms, name);
      gchar *state = nullptr;
      if (track) {
        g_object_get(track, "ready-state", &state, NULL);
        gst_object_unref(track);
      }
      states += std::string(name) + "=" + (state ? state : "(none)") + " ";
      g_free(state);
    }
    gst_object_unref(ms);
  }
  /* Stopped before any check, so no callback outlives the test. */
  gst_element_set_state(p.pipeline, GST_STATE_NULL);
  fail_unless(error.empty(), "pipeline error: %s", error.c_str());
  fail_unless(offered, "both webrtcbin sink pads got the stream id");
  fail_if(p.failed, "negotiation failed");
  fail_unless(file_done, "the WebM recording did not end (both tracks should have ended): %s",
              states.c_str());
  fail_unless_equals_int(kinds.size(), 2);
  for (const std::string &m : msids)
    fail_unless_equals_string(m.c_str(), "recorded-stream");

  std::vector<std::string> streams = webm_streams(webm);
  bool vp8 = false, opus = false;
  for (const std::string &n : streams) {
    vp8 |= n == "video/x-vp8";
    opus |= n == "audio/x-opus";
  }
  fail_unless(vp8 && opus, "the WebM file has a VP8 and an Opus stream");

  gst_object_unref(p.send);
  gst_object_unref(p.recv);
  gst_object_unref(p.pipeline);
  g_mutex_clear(&p.lock);
  g_cond_clear(&p.cond);
  g_unlink(wav);
  g_unlink(webm);
  g_rmdir(dir);
}
GST_END_TEST;
#endif

static Suite *mediastreambin_webrtc_suite()
{
  Suite *s = suite_create("mediastreambin_webrtc");
  /* One TCase per rule of docs/plugins/mediastreambin.md (CK_RUN_CASE=MS-11
   * runs one). MS-11: the stream id reaches the peer as msid. */
  TCase *tc = wc_add_case(s, "MS-11", 60);
  tcase_add_test(tc, test_webrtc_pair_msid);
#ifdef HAVE_CANVASCAPTURE
  tcase_add_test(tc, test_record_and_send);
#endif
  /* MS-5: track ids in the SDP, and a remote track's id on the receive side. */
  tc = wc_add_case(s, "MS-5", 60);
  tcase_add_test(tc, test_annotate_offer);
  tcase_add_test(tc, test_annotate_answer);
  tcase_add_test(tc, test_remote_track_id);
  return s;
}

static bool run_quiet(const gchar *command)
{
  gint status = -1;
  gchar *out = nullptr, *errout = nullptr;
  gboolean ok = g_spawn_command_line_sync(command, &out, &errout, &status, nullptr);
  if (!ok || !g_spawn_check_wait_status(status, nullptr))
    g_printerr("`%s` failed: %s", command, errout ? errout : "");
  g_free(out);
  g_free(errout);
  return ok && g_spawn_check_wait_status(status, nullptr);
}

/* Only "lo" in /proc/self/net/dev (per network namespace, unlike sysfs):
 * we are in a fresh network namespace. */
static bool in_empty_netns()
{
  gchar *contents = nullptr;
  if (!g_file_get_contents("/proc/self/net/dev", &contents, nullptr, nullptr))
    return false;
  bool only_lo = true;
  gchar **lines = g_strsplit(contents, "\n", -1);
  for (gchar **l = lines; *l; l++) {
    const gchar *colon = strchr(*l, ':');
    if (!colon)
      continue; /* the two header lines */
    g_autofree gchar *name = g_strstrip(g_strndup(*l, colon - *l));
    only_lo &= g_str_equal(name, "lo");
  }
  g_strfreev(lines);
  g_free(contents);
  return only_lo;
}

int main(int argc, char **argv)
{
  /* Under the suites' leaks tracer, webrtcbin 1.22 leaves its DTLS plugin's shared
   * GstDtlsAgent alive at exit (by design, one per process) and the tracer's report of it
   * crashes gst_deinit(): only this plugin's objects and the stream objects are tracked. */
  if (g_strcmp0(g_getenv("GST_TRACERS"), "leaks") == 0)
    g_setenv("GST_TRACERS",
             "leaks(filters=GstMediaStreamBin;GstMediaStreamTrackPad;GstStream;"
             "GstStreamCollection)",
             TRUE);
  if (!g_getenv(NETNS_ENV)) {
    if (!run_quiet("unshare -rn true")) {
      g_print("SKIP: user and network namespaces are not permitted here (unshare -rn failed); "
              "the webrtcbin pair needs a private veth pair\n");
      return 77;
    }
    g_setenv(NETNS_ENV, "1", TRUE);
    std::vector<gchar *> args = {const_cast<gchar *>("unshare"), const_cast<gchar *>("-rn"),
                                 const_cast<gchar *>("--")};
    for (int i = 0; i < argc; i++)
      args.push_back(argv[i]);
    args.push_back(nullptr);
    execvp("unshare", args.data());
    g_print("SKIP: cannot run unshare: %s\n", g_strerror(errno));
    return 77;
  }

  if (!in_empty_netns()) {
    g_print("SKIP: not in a private network namespace; refusing to create interfaces\n");
    return 77;
  }
  if (!run_quiet("ip link set lo up") ||
      !run_quiet("ip link add msveth0 type veth peer name msveth1") ||
      !run_quiet("ip addr add 10.99.0.1/24 dev msveth0") ||
      !run_quiet("ip addr add 10.99.0.2/24 dev msveth1") || !run_quiet("ip link set msveth0 up") ||
      !run_quiet("ip link set msveth1 up")) {
    g_print("SKIP: cannot create the veth pair in the private namespace\n");
    return 77;
  }

  gst_check_init(&argc, &argv);
  return gst_check_run_suite(mediastreambin_webrtc_suite(), "mediastreambin_webrtc", __FILE__);
}
