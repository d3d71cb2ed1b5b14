/* janus-publish: a canvas and a media file as one MediaStream, published to a Janus VideoRoom,
 * which forwards it to any number of viewers (one encoder per track, whatever their number).
 *
 *   canvascapturesrc (draw: a colour that changes every second, a caption) --+
 *   mediacapturesrc uri=... (its tracks, looped) ----------------------------+--> mediastreambin
 *
 *   each track pad ! tee ! queue ! convert ! vp8enc / opusenc ! rtp*pay ! webrtcbin
 *                                        (bundle-policy=max-bundle, msid = the stream id)
 *
 * Janus's WebSocket API (protocol "janus-protocol", libsoup 3 + json-glib): create a session,
 * attach janus.plugin.videoroom, create the room unless it exists, join it as a publisher whose
 * id is the MediaStream id (rooms with string_ids), publish with webrtcbin's offer and one
 * `descriptions` entry per mid (the track's id and label, as JSON: Janus drops the offer's msid,
 * its subscribers see the descriptions), apply Janus's answer, trickle the candidates (queued
 * until the publish request has gone), keepalives every 20 s. Viewers join the room as
 * subscribers of the feed "<stream id>"; with `use_msid` their MediaStream.id is the stream id.
 *
 * Without --uri, the media file is made once with GStreamer's own encoders in the build directory
 * (10 s of VP8 + Opus in WebM: a test pattern, a 330 Hz tone).
 *
 * Runs until Ctrl-C, or --seconds; then leaves the room and prints a summary (what Janus said it
 * receives, webrtcbin's sent bytes and Janus's receiver reports). Exits 0 only when Janus
 * received every published track.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define GST_USE_UNSTABLE_API
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>

#include <cairo.h>
#include <glib-unix.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "example-media.h"

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#ifndef DEMO_BUILD_DIR
#define DEMO_BUILD_DIR "."
#endif

namespace
{

constexpr int kWidth = 640;
constexpr int kHeight = 360;
constexpr double kFrameRate = 30.0;
// Janus ends a session after 60 s of silence (session_timeout); keepalives well before that.
constexpr guint kKeepaliveSeconds = 20;
// Connecting, joining and publishing normally take well under a second; a loaded machine more.
constexpr guint kPublishTimeoutSeconds = 45;
constexpr guint kMediaTimeoutSeconds = 15;
constexpr guint kLeaveTimeoutSeconds = 5;

// The canvas colours (changed every second): a viewer can tell them apart after VP8.
constexpr struct {
  const char *name;
  double r, g, b;
} kPalette[] = {
    {"red", 0.86, 0.16, 0.16},
    {"green", 0.16, 0.78, 0.24},
    {"blue", 0.16, 0.31, 0.86},
    {"yellow", 0.90, 0.82, 0.16},
};

struct Track {
  GstPad *pad = nullptr; // the GstMediaStreamTrackPad (strong ref)
  GstElement *tee = nullptr;
  std::string kind;
  GstPad *webrtc_sink = nullptr; // strong ref, once published
  guint order = 0;               // its place among webrtcbin's sink pads
  std::string mid;
  int payload = 96;
  std::atomic<guint64> buffers{0};
};

struct Publisher {
  GMainLoop *loop = nullptr;
  GstElement *pipeline = nullptr;
  GstElement *canvas = nullptr;
  GstElement *media = nullptr;
  GstElement *stream = nullptr; // mediastreambin
  GstElement *webrtcbin = nullptr;
  std::string stream_id;
  std::mutex lock; // tracks (track-added runs on streaming threads)
  std::vector<std::unique_ptr<Track>> tracks;
  bool media_ready = false;
  std::atomic<guint64> frames_drawn{0};

  // Janus
  std::string url;
  std::string room;
  std::string display;
  bool numeric_ids = false;
  guint publishers = 16;
  SoupSession *soup = nullptr;
  SoupWebsocketConnection *ws = nullptr;
  gint64 session_id = 0;
  gint64 handle_id = 0;
  guint transactions = 0;
  std::map<std::string, std::function<void(JsonObject *)>> pending; // transaction -> reply
  bool joined = false;
  bool webrtc_started = false;
  bool offer_made = false;
  bool publish_sent = false;
  bool answered = false;
  std::vector<std::pair<guint, std::string>> queued_candidates;
  bool gathering_complete = false;
  bool completed_sent = false;
  std::set<std::string> janus_receiving; // "audio"/"video" mids Janus reported receiving
  std::string publisher_id;              // as Janus gave it back

  guint keepalive_source = 0;
  guint publish_timeout_source = 0;
  bool stopping = false;
  bool failed = false;
  gint64 started_us = 0;
  gint64 published_us = 0; // Janus's answer applied
  gint64 webrtcup_us = 0;
  gint64 media_us = 0; // Janus receives every track
};

void fail(Publisher &p, const std::string &what)
{
  if (!what.empty())
    g_printerr("janus-publish: error: %s\n", what.c_str());
  p.failed = true;
  g_main_loop_quit(p.loop);
}

double since_start(const Publisher &p, gint64 us)
{
  return us ? (us - p.started_us) / 1e6 : -1.0;
}

// --- The scene ------------------------------------------------------------------------------

gboolean on_draw(GstElement *, cairo_t *cr, guint64 running_time, gpointer user_data)
{
  auto &p = *static_cast<Publisher *>(user_data);
  const guint64 frame = p.frames_drawn++;
  const guint64 second = running_time / GST_SECOND;
  const auto &colour = kPalette[second % G_N_ELEMENTS(kPalette)];
  cairo_set_source_rgb(cr, colour.r, colour.g, colour.b);
  cairo_paint(cr);

  // A caption along the bottom; the centre keeps the plain colour a viewer can check.
  GDateTime *now = g_date_time_new_now_local();
  g_autofree gchar *wall = g_date_time_format(now, "%H:%M:%S");
  g_date_time_unref(now);
  g_autofree gchar *caption =
      g_strdup_printf("%s  frame %" G_GUINT64_FORMAT "  %s", colour.name, frame, wall);
  cairo_select_font_face(cr, "Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
  cairo_set_font_size(cr, 24);
  cairo_move_to(cr, 20, kHeight - 24);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_show_text(cr, caption);
  return TRUE;
}

// --- Janus's WebSocket API -------------------------------------------------------------------

void set_room(const Publisher &p, JsonObject *body)
{
  if (p.numeric_ids)
    json_object_set_int_member(body, "room", g_ascii_strtoll(p.room.c_str(), nullptr, 10));
  else
    json_object_set_string_member(body, "room", p.room.c_str());
}

// Sends {"janus": verb, "transaction": ..., "session_id", "handle_id", members of `extra`};
// `reply` gets the answer with that transaction ("success", "error" or the plugin's "event";
// an "ack" only says Janus is working on it). Takes `extra`.
void janus_send(Publisher &p, const char *verb, JsonObject *extra,
                std::function<void(JsonObject *)> reply = nullptr)
{
  JsonObject *message = extra ? extra : json_object_new();
  json_object_set_string_member(message, "janus", verb);
  g_autofree gchar *transaction = g_strdup_printf("gst-%u", ++p.transactions);
  json_object_set_string_member(message, "transaction", transaction);
  if (p.session_id)
    json_object_set_int_member(message, "session_id", p.session_id);
  if (p.handle_id)
    json_object_set_int_member(message, "handle_id", p.handle_id);
  JsonNode *node = json_node_init_object(json_node_alloc(), message);
  g_autofree gchar *text = json_to_string(node, FALSE);
  json_node_unref(node);
  json_object_unref(message);
  if (!p.ws || soup_websocket_connection_get_state(p.ws) != SOUP_WEBSOCKET_STATE_OPEN)
    return;
  if (reply)
    p.pending[transaction] = std::move(reply);
  soup_websocket_connection_send_text(p.ws, text);
}

// A videoroom request: {"janus": "message", "body": body[, "jsep": jsep]}. Takes both.
void videoroom_send(Publisher &p, JsonObject *body, JsonObject *jsep,
                    std::function<void(JsonObject *)> reply)
{
  JsonObject *message = json_object_new();
  json_object_set_object_member(message, "body", body);
  if (jsep)
    json_object_set_object_member(message, "jsep", jsep);
  janus_send(p, "message", message, std::move(reply));
}

// The plugin's answer in a reply ("plugindata"."data"), or null. Janus's own errors and the
// plugin's ("error_code") become a message in `error`.
JsonObject *plugin_data(JsonObject *reply, std::string &error)
{
  const char *janus = json_object_get_string_member_with_default(reply, "janus", "");
  if (g_str_equal(janus, "error")) {
    JsonObject *e = json_object_get_object_member(reply, "error");
    error = e ? json_object_get_string_member_with_default(e, "reason", "error") : "error";
    return nullptr;
  }
  JsonObject *pd = json_object_has_member(reply, "plugindata")
                       ? json_object_get_object_member(reply, "plugindata")
                       : nullptr;
  JsonObject *data = pd && json_object_has_member(pd, "data")
                         ? json_object_get_object_member(pd, "data")
                         : nullptr;
  if (!data) {
    error = "no plugin data in the reply";
    return nullptr;
  }
  if (json_object_has_member(data, "error_code")) {
    error = json_object_get_string_member_with_default(data, "error", "videoroom error");
    error +=
        " (videoroom error " + std::to_string(json_object_get_int_member(data, "error_code")) + ")";
    return nullptr;
  }
  return data;
}

std::string id_text(JsonNode *node)
{
  if (!node)
    return "";
  if (json_node_get_value_type(node) == G_TYPE_STRING)
    return json_node_get_string(node);
  return std::to_string(json_node_get_int(node));
}

void maybe_start_webrtc(Publisher &p);
void send_candidate(Publisher &p, guint mline, const std::string &candidate);
void send_completed(Publisher &p);

void join_room(Publisher &p)
{
  JsonObject *body = json_object_new();
  json_object_set_string_member(body, "request", "join");
  json_object_set_string_member(body, "ptype", "publisher");
  set_room(p, body);
  if (!p.numeric_ids)
    json_object_set_string_member(body, "id", p.stream_id.c_str());
  json_object_set_string_member(body, "display", p.display.c_str());
  videoroom_send(p, body, nullptr, [&p](JsonObject *reply) {
    std::string error;
    JsonObject *data = plugin_data(reply, error);
    if (!data) {
      fail(p, "joining room " + p.room + " as " + p.stream_id + ": " + error);
      return;
    }
    p.publisher_id = id_text(json_object_get_member(data, "id"));
    p.joined = true;
    g_print("janus-publish: joined room %s as publisher %s\n", p.room.c_str(),
            p.publisher_id.c_str());
    maybe_start_webrtc(p);
  });
}

void create_room(Publisher &p)
{
  JsonObject *body = json_object_new();
  json_object_set_string_member(body, "request", "create");
  set_room(p, body);
  json_object_set_string_member(body, "description", "gst-webcapture janus-publish");
  json_object_set_int_member(body, "publishers", p.publishers);
  json_object_set_string_member(body, "videocodec", "vp8");
  json_object_set_string_member(body, "audiocodec", "opus");
  json_object_set_int_member(body, "bitrate", 2000000);
  videoroom_send(p, body, nullptr, [&p](JsonObject *reply) {
    std::string error;
    JsonObject *data = plugin_data(reply, error);
    // 427: created by someone else in between. Fine.
    if (!data && error.find("error 427") == std::string::npos) {
      fail(p, "creating room " + p.room + ": " + error);
      return;
    }
    g_print("janus-publish: created room %s\n", p.room.c_str());
    join_room(p);
  });
}

void on_attached(Publisher &p)
{
  JsonObject *body = json_object_new();
  json_object_set_string_member(body, "request", "exists");
  set_room(p, body);
  videoroom_send(p, body, nullptr, [&p](JsonObject *reply) {
    std::string error;
    JsonObject *data = plugin_data(reply, error);
    if (!data) {
      // Janus says which id type its rooms have ("room should be a string" or "... a positive
      // integer", videoroom error 430): say which option fits.
      std::string hint;
      if (error.find("should be a string") != std::string::npos)
        hint = " (this Janus has string_ids: leave out --numeric-ids)";
      else if (error.find("should be a positive integer") != std::string::npos)
        hint = " (this Janus has numeric ids: add --numeric-ids and a number as --room)";
      fail(p, "asking for room " + p.room + ": " + error + hint);
      return;
    }
    if (json_object_get_boolean_member_with_default(data, "exists", FALSE))
      join_room(p);
    else
      create_room(p);
  });
}

gboolean send_keepalive(gpointer user_data)
{
  auto &p = *static_cast<Publisher *>(user_data);
  janus_send(p, "keepalive", nullptr);
  return G_SOURCE_CONTINUE;
}

// Events that answer no request of ours.
void on_janus_event(Publisher &p, JsonObject *message)
{
  const char *janus = json_object_get_string_member_with_default(message, "janus", "");
  if (g_str_equal(janus, "webrtcup")) {
    p.webrtcup_us = g_get_monotonic_time();
    g_print("janus-publish: Janus: PeerConnection up (%.2f s)\n", since_start(p, p.webrtcup_us));
  } else if (g_str_equal(janus, "media")) {
    const char *type = json_object_get_string_member_with_default(message, "type", "?");
    const char *mid = json_object_get_string_member_with_default(message, "mid", "");
    const gboolean receiving =
        json_object_get_boolean_member_with_default(message, "receiving", FALSE);
    const std::string key = std::string(type) + " " + mid;
    if (receiving)
      p.janus_receiving.insert(key);
    else
      p.janus_receiving.erase(key);
    g_print("janus-publish: Janus: %s %s (mid %s)\n", receiving ? "receiving" : "NOT receiving",
            type, mid);
    size_t published = 0;
    {
      std::lock_guard<std::mutex> guard(p.lock);
      for (const auto &track : p.tracks)
        published += !track->mid.empty();
    }
    if (!p.media_us && published && p.janus_receiving.size() == published) {
      p.media_us = g_get_monotonic_time();
      g_print("janus-publish: publishing: Janus receives all %zu tracks of stream %s in room "
              "%s (%.2f s)\n",
              published, p.stream_id.c_str(), p.room.c_str(), since_start(p, p.media_us));
    }
  } else if (g_str_equal(janus, "hangup")) {
    g_printerr("janus-publish: Janus hung up: %s\n",
               json_object_get_string_member_with_default(message, "reason", "?"));
    if (!p.stopping)
      fail(p, "");
  } else if (g_str_equal(janus, "slowlink")) {
    g_print("janus-publish: Janus: slow link (%s)\n",
            json_object_get_boolean_member_with_default(message, "uplink", FALSE) ? "uplink"
                                                                                  : "downlink");
  } else if (g_str_equal(janus, "timeout") || g_str_equal(janus, "detached")) {
    if (!p.stopping)
      fail(p, std::string("Janus: session ") + janus);
  } else if (g_str_equal(janus, "event")) {
    std::string error;
    JsonObject *data = plugin_data(message, error);
    if (!data)
      g_printerr("janus-publish: videoroom: %s\n", error.c_str());
  }
}

void on_ws_message(SoupWebsocketConnection *, gint type, GBytes *message, gpointer user_data)
{
  auto &p = *static_cast<Publisher *>(user_data);
  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    return;
  gsize size = 0;
  const char *data = static_cast<const char *>(g_bytes_get_data(message, &size));
  g_autoptr(JsonParser) parser = json_parser_new();
  if (!json_parser_load_from_data(parser, data, gssize(size), nullptr) ||
      !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser))) {
    g_printerr("janus-publish: Janus sent something that is not a JSON object\n");
    return;
  }
  JsonObject *object = json_node_get_object(json_parser_get_root(parser));
  const char *janus = json_object_get_string_member_with_default(object, "janus", "");
  const char *transaction = json_object_get_string_member_with_default(object, "transaction", "");
  if (g_str_equal(janus, "ack"))
    return; // the real answer follows with the same transaction
  auto it = p.pending.find(transaction);
  if (it != p.pending.end()) {
    auto reply = std::move(it->second);
    p.pending.erase(it);
    reply(object);
    return;
  }
  on_janus_event(p, object);
}

void on_ws_closed(SoupWebsocketConnection *connection, gpointer user_data)
{
  auto &p = *static_cast<Publisher *>(user_data);
  if (!p.stopping) {
    fail(p, "Janus closed the WebSocket (code " +
                std::to_string(soup_websocket_connection_get_close_code(connection)) + ")");
  } else {
    g_main_loop_quit(p.loop);
  }
}

void on_ws_connected(GObject *session, GAsyncResult *result, gpointer user_data)
{
  auto &p = *static_cast<Publisher *>(user_data);
  g_autoptr(GError) error = nullptr;
  p.ws = soup_session_websocket_connect_finish(SOUP_SESSION(session), result, &error);
  if (!p.ws) {
    fail(p, "cannot connect to Janus at " + p.url + ": " + error->message +
                " (is Janus running with its WebSocket transport? --url)");
    return;
  }
  g_signal_connect(p.ws, "message", G_CALLBACK(on_ws_message), &p);
  g_signal_connect(p.ws, "closed", G_CALLBACK(on_ws_closed), &p);
  g_print("janus-publish: connected to %s\n", p.url.c_str());
  janus_send(p, "create", nullptr, [&p](JsonObject *reply) {
    JsonObject *data = json_object_has_member(reply, "data")
                           ? json_object_get_object_member(reply, "data")
                           : nullptr;
    if (!data || !json_object_has_member(data, "id")) {
      std::string error;
      plugin_data(reply, error);
      fail(p, "Janus refused to create a session: " + error);
      return;
    }
    p.session_id = json_object_get_int_member(data, "id");
    p.keepalive_source = g_timeout_add_seconds(kKeepaliveSeconds, send_keepalive, &p);
    JsonObject *attach = json_object_new();
    json_object_set_string_member(attach, "plugin", "janus.plugin.videoroom");
    janus_send(p, "attach", attach, [&p](JsonObject *reply) {
      JsonObject *data = json_object_has_member(reply, "data")
                             ? json_object_get_object_member(reply, "data")
                             : nullptr;
      if (!data || !json_object_has_member(data, "id")) {
        fail(p, "Janus cannot attach janus.plugin.videoroom (is the VideoRoom plugin enabled?)");
        return;
      }
      p.handle_id = json_object_get_int_member(data, "id");
      on_attached(p);
    });
  });
}

// --- webrtcbin -----------------------------------------------------------------------------

GstElement *make_branch(const Track &track)
{
  std::string description;
  if (track.kind == "video") {
    description = "queue max-size-buffers=0 max-size-bytes=0 max-size-time=2000000000"
                  " ! videoconvert ! video/x-raw,format=I420"
                  " ! vp8enc deadline=1 cpu-used=8 threads=1 end-usage=cbr"
                  " target-bitrate=1000000 keyframe-max-dist=60 max-quantizer=40 error-resilient=1"
                  " ! rtpvp8pay mtu=1200 picture-id-mode=15-bit"
                  " ! capsfilter caps=\"application/x-rtp,media=video,encoding-name=VP8,"
                  "clock-rate=90000,payload=" +
                  std::to_string(track.payload) + "\"";
  } else {
    description = "queue max-size-buffers=0 max-size-bytes=0 max-size-time=2000000000"
                  " ! audioconvert ! audioresample ! audio/x-raw,rate=48000"
                  " ! opusenc bitrate=64000 ! rtpopuspay"
                  " ! capsfilter caps=\"application/x-rtp,media=audio,encoding-name=OPUS,"
                  "clock-rate=48000,payload=" +
                  std::to_string(track.payload) + "\"";
  }
  g_autoptr(GError) error = nullptr;
  GstElement *bin = gst_parse_bin_from_description(description.c_str(), TRUE, &error);
  if (!bin)
    g_printerr("janus-publish: cannot build '%s': %s\n", description.c_str(), error->message);
  return bin;
}

// Adds a branch to a live tee, downstream first (see mediastream-demo.cpp: a buffer reaching a
// pad that is not active yet returns FLUSHING and stops the source).
bool attach_branch(Publisher &p, Track &track, GstElement *branch, GstPad *sink)
{
  gst_bin_add(GST_BIN(p.pipeline), branch);
  g_autoptr(GstPad) branch_sink = gst_element_get_static_pad(branch, "sink");
  g_autoptr(GstPad) branch_src = gst_element_get_static_pad(branch, "src");
  bool ok = gst_pad_link(branch_src, sink) == GST_PAD_LINK_OK;
  gst_element_sync_state_with_parent(branch);
  g_autoptr(GstPad) tee_src = gst_element_request_pad_simple(track.tee, "src_%u");
  ok = ok && gst_pad_link(tee_src, branch_sink) == GST_PAD_LINK_OK;
  return ok;
}

struct CandidateData {
  Publisher *p;
  guint mline;
  std::string candidate;
};

// on-ice-candidate (webrtcbin's thread): to the main loop.
void on_ice_candidate(GstElement *, guint mline, gchar *candidate, gpointer user_data)
{
  auto *data = new CandidateData{static_cast<Publisher *>(user_data), mline, candidate};
  g_main_context_invoke_full(
      nullptr, G_PRIORITY_DEFAULT,
      [](gpointer d) {
        auto *c = static_cast<CandidateData *>(d);
        send_candidate(*c->p, c->mline, c->candidate);
        return G_SOURCE_REMOVE;
      },
      data, [](gpointer d) { delete static_cast<CandidateData *>(d); });
}

void send_candidate(Publisher &p, guint mline, const std::string &candidate)
{
  if (!p.publish_sent) { // Janus has no PeerConnection for this handle before the offer
    p.queued_candidates.emplace_back(mline, candidate);
    return;
  }
  JsonObject *c = json_object_new();
  json_object_set_int_member(c, "sdpMLineIndex", mline);
  json_object_set_string_member(c, "candidate", candidate.c_str());
  JsonObject *message = json_object_new();
  json_object_set_object_member(message, "candidate", c);
  janus_send(p, "trickle", message);
}

void send_completed(Publisher &p)
{
  if (!p.publish_sent || !p.gathering_complete || p.completed_sent)
    return;
  p.completed_sent = true;
  JsonObject *c = json_object_new();
  json_object_set_boolean_member(c, "completed", TRUE);
  JsonObject *message = json_object_new();
  json_object_set_object_member(message, "candidate", c);
  janus_send(p, "trickle", message);
}

void on_gathering_state(GstElement *webrtcbin, GParamSpec *, gpointer user_data)
{
  GstWebRTCICEGatheringState state;
  g_object_get(webrtcbin, "ice-gathering-state", &state, nullptr);
  if (state != GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE)
    return;
  g_main_context_invoke(
      nullptr,
      [](gpointer d) {
        auto &p = *static_cast<Publisher *>(d);
        p.gathering_complete = true;
        send_completed(p);
        return G_SOURCE_REMOVE;
      },
      user_data);
}

// Janus's answer to our publish request (main loop).
void on_published(Publisher &p, JsonObject *reply)
{
  std::string error;
  JsonObject *data = plugin_data(reply, error);
  JsonObject *jsep = json_object_has_member(reply, "jsep")
                         ? json_object_get_object_member(reply, "jsep")
                         : nullptr;
  if (!data || !jsep) {
    fail(p, "Janus refused the offer: " + (error.empty() ? "no answer" : error));
    return;
  }
  GstSDPMessage *sdp = nullptr;
  const char *text = json_object_get_string_member_with_default(jsep, "sdp", "");
  if (gst_sdp_message_new_from_text(text, &sdp) != GST_SDP_OK || !sdp) {
    fail(p, "Janus's answer is not SDP");
    return;
  }
  GstWebRTCSessionDescription *answer =
      gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_ANSWER, sdp);
  GstPromise *promise = gst_promise_new();
  g_signal_emit_by_name(p.webrtcbin, "set-remote-description", answer, promise);
  gst_promise_wait(promise);
  // Keep the reply in a variable: it belongs to the promise.
  const GstStructure *result = gst_promise_get_reply(promise);
  GError *set_error = nullptr;
  if (result && gst_structure_get(result, "error", G_TYPE_ERROR, &set_error, nullptr)) {
    fail(p, std::string("webrtcbin refused Janus's answer: ") + set_error->message);
    g_error_free(set_error);
  } else {
    p.answered = true;
    p.published_us = g_get_monotonic_time();
    g_print("janus-publish: Janus answered (%.2f s); ICE and DTLS next\n",
            since_start(p, p.published_us));
  }
  gst_promise_unref(promise);
  gst_webrtc_session_description_free(answer);
}

// The offer is set locally (main loop): publish it, with one description per mid.
void publish_offer(Publisher &p, GstWebRTCSessionDescription *offer)
{
  JsonArray *descriptions = json_array_new();
  g_print("janus-publish: offer for stream %s:\n", p.stream_id.c_str());
  {
    std::lock_guard<std::mutex> guard(p.lock);
    for (auto &track : p.tracks) {
      if (!track->webrtc_sink)
        continue;
      // webrtcbin 1.22 sets the transceiver's mid and mlineindex only once the answer is
      // applied; the offer lists the transceivers in the order the sink pads were requested.
      GstWebRTCRTPTransceiver *transceiver = nullptr;
      g_object_get(track->webrtc_sink, "transceiver", &transceiver, nullptr);
      g_autofree gchar *mid = nullptr;
      guint mline = G_MAXUINT;
      if (transceiver) {
        g_object_get(transceiver, "mid", &mid, "mlineindex", &mline, nullptr);
        gst_object_unref(transceiver);
      }
      if (mline == G_MAXUINT)
        mline = track->order;
      const GstSDPMedia *media = mline < gst_sdp_message_medias_len(offer->sdp)
                                     ? gst_sdp_message_get_media(offer->sdp, mline)
                                     : nullptr;
      if (!mid && media && gst_sdp_media_get_attribute_val(media, "mid") &&
          g_strcmp0(gst_sdp_media_get_media(media), track->kind.c_str()) == 0)
        mid = g_strdup(gst_sdp_media_get_attribute_val(media, "mid"));
      if (!mid) {
        g_printerr("janus-publish: warning: no mid for the %s track in the offer (m-line %d)\n",
                   track->kind.c_str(), int(mline));
        continue;
      }
      track->mid = mid;
      g_autofree gchar *id = nullptr, *label = nullptr;
      g_object_get(track->pad, "track-id", &id, "label", &label, nullptr);
      // The description: the track's id and label as a JSON object, which a viewer parses.
      JsonObject *what = json_object_new();
      json_object_set_string_member(what, "id", id ? id : "");
      json_object_set_string_member(what, "label", label ? label : "");
      JsonNode *what_node = json_node_init_object(json_node_alloc(), what);
      g_autofree gchar *what_text = json_to_string(what_node, FALSE);
      json_node_unref(what_node);
      json_object_unref(what);
      JsonObject *entry = json_object_new();
      json_object_set_string_member(entry, "mid", mid);
      json_object_set_string_member(entry, "description", what_text);
      json_array_add_object_element(descriptions, entry);
      g_print("janus-publish:   mid %s: %s track %s label \"%s\"\n", mid, track->kind.c_str(), id,
              label ? label : "");
    }
  }
  // One line a program can read: the stream as published.
  {
    JsonObject *summary = json_object_new();
    json_object_set_string_member(summary, "streamId", p.stream_id.c_str());
    json_object_set_string_member(summary, "room", p.room.c_str());
    JsonArray *tracks = json_array_new();
    std::lock_guard<std::mutex> guard(p.lock);
    for (auto &track : p.tracks) {
      if (track->mid.empty())
        continue;
      g_autofree gchar *id = nullptr, *label = nullptr;
      g_object_get(track->pad, "track-id", &id, "label", &label, nullptr);
      JsonObject *t = json_object_new();
      json_object_set_string_member(t, "mid", track->mid.c_str());
      json_object_set_string_member(t, "kind", track->kind.c_str());
      json_object_set_string_member(t, "id", id ? id : "");
      json_object_set_string_member(t, "label", label ? label : "");
      json_array_add_object_element(tracks, t);
    }
    json_object_set_array_member(summary, "tracks", tracks);
    JsonNode *node = json_node_init_object(json_node_alloc(), summary);
    g_autofree gchar *text = json_to_string(node, FALSE);
    g_print("janus-publish: stream %s\n", text);
    json_node_unref(node);
    json_object_unref(summary);
  }

  JsonObject *body = json_object_new();
  json_object_set_string_member(body, "request", "publish");
  json_object_set_string_member(body, "display", p.display.c_str());
  json_object_set_array_member(body, "descriptions", descriptions);
  g_autofree gchar *sdp = gst_sdp_message_as_text(offer->sdp);
  JsonObject *jsep = json_object_new();
  json_object_set_string_member(jsep, "type", "offer");
  json_object_set_string_member(jsep, "sdp", sdp);
  videoroom_send(p, body, jsep, [&p](JsonObject *reply) { on_published(p, reply); });
  p.publish_sent = true;
  for (const auto &c : p.queued_candidates)
    send_candidate(p, c.first, c.second);
  p.queued_candidates.clear();
  send_completed(p);
}

struct OfferData {
  Publisher *p;
  GstWebRTCSessionDescription *offer;
  bool failed;
};

void on_offer_created(GstPromise *promise, gpointer user_data)
{
  auto &p = *static_cast<Publisher *>(user_data);
  GstWebRTCSessionDescription *offer = nullptr;
  // Keep the reply in a variable: it belongs to the promise.
  const GstStructure *reply = gst_promise_get_reply(promise);
  if (reply)
    gst_structure_get(reply, "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &offer, nullptr);
  gst_promise_unref(promise);
  if (!offer) {
    g_main_context_invoke(
        nullptr,
        [](gpointer d) {
          fail(*static_cast<Publisher *>(d), "webrtcbin could not make an offer");
          return G_SOURCE_REMOVE;
        },
        &p);
    return;
  }
  // This runs on webrtcbin's own thread: set-local-description is queued there, so it must not
  // be waited for here. Its promise hands the offer to the main loop once it is applied.
  GstPromise *local = gst_promise_new_with_change_func(
      [](GstPromise *applied, gpointer data) {
        auto *o = static_cast<OfferData *>(data);
        // Keep the reply in a variable: it belongs to the promise.
        const GstStructure *result = gst_promise_get_reply(applied);
        GError *error = nullptr;
        if (result && gst_structure_get(result, "error", G_TYPE_ERROR, &error, nullptr)) {
          g_printerr("janus-publish: set-local-description failed: %s\n", error->message);
          g_error_free(error);
          o->failed = true;
        }
        gst_promise_unref(applied);
        g_main_context_invoke_full(
            nullptr, G_PRIORITY_DEFAULT,
            [](gpointer d) {
              auto *offer = static_cast<OfferData *>(d);
              if (offer->failed)
                fail(*offer->p, "webrtcbin refused its own offer");
              else
                publish_offer(*offer->p, offer->offer);
              return G_SOURCE_REMOVE;
            },
            o,
            [](gpointer d) {
              auto *offer = static_cast<OfferData *>(d);
              gst_webrtc_session_description_free(offer->offer);
              delete offer;
            });
      },
      new OfferData{&p, offer, false}, nullptr);
  g_signal_emit_by_name(p.webrtcbin, "set-local-description", offer, local);
}

void on_negotiation_needed(GstElement *webrtcbin, gpointer user_data)
{
  auto &p = *static_cast<Publisher *>(user_data);
  // One offer: Janus takes one publish per PeerConnection (a later one would be "configure").
  if (p.offer_made)
    return;
  p.offer_made = true;
  GstPromise *promise = gst_promise_new_with_change_func(on_offer_created, &p, nullptr);
  g_signal_emit_by_name(webrtcbin, "create-offer", nullptr, promise);
}

void on_connection_state(GstElement *webrtcbin, GParamSpec *, gpointer)
{
  GstWebRTCPeerConnectionState state;
  g_object_get(webrtcbin, "connection-state", &state, nullptr);
  const char *names[] = {"new", "connecting", "connected", "disconnected", "failed", "closed"};
  if (guint(state) < G_N_ELEMENTS(names))
    g_print("janus-publish: webrtcbin connection %s\n", names[state]);
}

// Once joined and the media's tracks are known: one webrtcbin with every live track. Its sink
// pads are all requested before it starts, so its one offer has every track.
void maybe_start_webrtc(Publisher &p)
{
  if (p.webrtc_started || !p.joined || !p.media_ready || p.stopping)
    return;
  p.webrtc_started = true;
  p.webrtcbin = gst_element_factory_make("webrtcbin", "janus");
  if (!p.webrtcbin) {
    fail(p, "webrtcbin is missing (gstreamer1.0-plugins-bad, gstreamer1.0-nice)");
    return;
  }
  gst_util_set_object_arg(G_OBJECT(p.webrtcbin), "bundle-policy", "max-bundle");
  g_signal_connect(p.webrtcbin, "on-negotiation-needed", G_CALLBACK(on_negotiation_needed), &p);
  g_signal_connect(p.webrtcbin, "on-ice-candidate", G_CALLBACK(on_ice_candidate), &p);
  g_signal_connect(p.webrtcbin, "notify::ice-gathering-state", G_CALLBACK(on_gathering_state), &p);
  g_signal_connect(p.webrtcbin, "notify::connection-state", G_CALLBACK(on_connection_state), &p);
  gst_bin_add(GST_BIN(p.pipeline), p.webrtcbin);

  std::vector<Track *> live;
  {
    std::lock_guard<std::mutex> guard(p.lock);
    for (auto &track : p.tracks) {
      g_autofree gchar *state = nullptr;
      g_object_get(track->pad, "ready-state", &state, nullptr);
      if (g_strcmp0(state, "live") != 0)
        continue;
      track->webrtc_sink = gst_element_request_pad_simple(p.webrtcbin, "sink_%u");
      track->order = guint(live.size());
      GstWebRTCRTPTransceiver *transceiver = nullptr;
      g_object_get(track->webrtc_sink, "transceiver", &transceiver, nullptr);
      if (transceiver) {
        g_object_set(transceiver, "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY,
                     nullptr);
        gst_object_unref(transceiver);
      }
      live.push_back(track.get());
    }
  }
  gst_element_sync_state_with_parent(p.webrtcbin);
  for (Track *track : live) {
    GstElement *branch = make_branch(*track);
    if (!branch || !attach_branch(p, *track, branch, track->webrtc_sink)) {
      fail(p, "cannot send the " + track->kind + " track to webrtcbin");
      return;
    }
  }
  g_print("janus-publish: sending %zu tracks\n", live.size());
}

// --- The stream ------------------------------------------------------------------------------

GstPadProbeReturn count_buffer(GstPad *, GstPadProbeInfo *, gpointer user_data)
{
  static_cast<Track *>(user_data)->buffers++;
  return GST_PAD_PROBE_OK;
}

void on_track_added(GstElement *, GstPad *pad, gpointer user_data)
{
  auto &p = *static_cast<Publisher *>(user_data);
  auto track = std::make_unique<Track>();
  track->pad = GST_PAD(gst_object_ref(pad));
  g_autofree gchar *kind = nullptr;
  g_object_get(pad, "kind", &kind, nullptr);
  track->kind = kind ? kind : "";
  // A tee that lets the track run before webrtcbin is there.
  track->tee = gst_element_factory_make("tee", nullptr);
  g_object_set(track->tee, "allow-not-linked", TRUE, nullptr);
  gst_bin_add(GST_BIN(p.pipeline), track->tee);
  g_autoptr(GstPad) tee_sink = gst_element_get_static_pad(track->tee, "sink");
  gst_pad_link(pad, tee_sink);
  gst_element_sync_state_with_parent(track->tee);
  gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, count_buffer, track.get(), nullptr);
  std::lock_guard<std::mutex> guard(p.lock);
  int video = 0;
  for (const auto &t : p.tracks)
    video += t->kind == "video";
  track->payload = track->kind == "video" ? 96 + video : 111;
  p.tracks.push_back(std::move(track));
}

void on_media_pad_added(GstElement *, GstPad *pad, gpointer user_data)
{
  auto &p = *static_cast<Publisher *>(user_data);
  const bool video = g_str_has_prefix(GST_PAD_NAME(pad), "video");
  g_autoptr(GstPad) sink =
      gst_element_request_pad_simple(p.stream, video ? "video_sink_%u" : "audio_sink_%u");
  if (!sink || gst_pad_link(pad, sink) != GST_PAD_LINK_OK)
    g_printerr("janus-publish: cannot add %s to the stream\n", GST_PAD_NAME(pad));
}

gboolean media_ready(gpointer user_data)
{
  auto &p = *static_cast<Publisher *>(user_data);
  if (p.media_ready)
    return G_SOURCE_REMOVE;
  p.media_ready = true;
  maybe_start_webrtc(p);
  return G_SOURCE_REMOVE;
}

void on_media_no_more_pads(GstElement *, gpointer user_data)
{
  g_idle_add(media_ready, user_data);
}

gboolean on_media_timeout(gpointer user_data)
{
  auto &p = *static_cast<Publisher *>(user_data);
  if (!p.media_ready) {
    g_printerr("janus-publish: warning: the media file gave no tracks within %u s; publishing "
               "the canvas alone\n",
               kMediaTimeoutSeconds);
    media_ready(&p);
  }
  return G_SOURCE_REMOVE;
}

gboolean on_publish_timeout(gpointer user_data)
{
  auto &p = *static_cast<Publisher *>(user_data);
  p.publish_timeout_source = 0;
  if (!p.media_us) {
    fail(p, "Janus did not receive every track within " + std::to_string(kPublishTimeoutSeconds) +
                " s (" +
                (p.webrtcup_us    ? "PeerConnection up"
                 : p.answered     ? "answered, ICE/DTLS did not complete"
                 : p.publish_sent ? "no answer to the offer"
                 : p.joined       ? "no offer"
                                  : "not joined") +
                ")");
  }
  return G_SOURCE_REMOVE;
}

// --- Stop -------------------------------------------------------------------------------------

gboolean on_leave_timeout(gpointer user_data)
{
  g_main_loop_quit(static_cast<Publisher *>(user_data)->loop);
  return G_SOURCE_REMOVE;
}

// Leaves the room and ends the Janus session, then quits (or after kLeaveTimeoutSeconds).
gboolean stop_publishing(gpointer user_data)
{
  auto &p = *static_cast<Publisher *>(user_data);
  if (p.stopping)
    return G_SOURCE_REMOVE;
  p.stopping = true;
  if (!p.ws || soup_websocket_connection_get_state(p.ws) != SOUP_WEBSOCKET_STATE_OPEN) {
    g_main_loop_quit(p.loop);
    return G_SOURCE_REMOVE;
  }
  g_timeout_add_seconds(kLeaveTimeoutSeconds, on_leave_timeout, &p);
  auto destroy = [&p]() {
    p.handle_id = 0;
    janus_send(p, "destroy", nullptr, [&p](JsonObject *) {
      soup_websocket_connection_close(p.ws, SOUP_WEBSOCKET_CLOSE_NORMAL, nullptr);
    });
  };
  if (p.handle_id) {
    JsonObject *body = json_object_new();
    json_object_set_string_member(body, "request", "leave");
    videoroom_send(p, body, nullptr, [destroy](JsonObject *) { destroy(); });
  } else if (p.session_id) {
    destroy();
  } else {
    g_main_loop_quit(p.loop);
  }
  return G_SOURCE_REMOVE;
}

gboolean on_signal(gpointer user_data)
{
  g_print("\njanus-publish: stopping\n");
  stop_publishing(user_data);
  return G_SOURCE_CONTINUE;
}

gboolean on_bus_message(GstBus *, GstMessage *msg, gpointer user_data)
{
  auto &p = *static_cast<Publisher *>(user_data);
  if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
    g_autoptr(GError) err = nullptr;
    g_autofree gchar *debug = nullptr;
    gst_message_parse_error(msg, &err, &debug);
    g_printerr("janus-publish: error from %s: %s\n  (%s)\n", GST_OBJECT_NAME(msg->src),
               err->message, debug ? debug : "");
    fail(p, "");
  } else if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_WARNING) {
    g_autoptr(GError) err = nullptr;
    gst_message_parse_warning(msg, &err, nullptr);
    g_printerr("janus-publish: warning from %s: %s\n", GST_OBJECT_NAME(msg->src), err->message);
  }
  return G_SOURCE_CONTINUE;
}

GstElement *make(const char *factory, const char *name)
{
  return example::make("janus-publish", factory, name);
}

bool build_pipeline(Publisher &p, const std::string &uri, const char *stream_id)
{
  p.pipeline = gst_pipeline_new("janus-publish");
  p.canvas = make("canvascapturesrc", "canvas");
  p.media = make("mediacapturesrc", "media");
  p.stream = make("mediastreambin", "stream");
  if (!p.canvas || !p.media || !p.stream)
    return false;
  gst_bin_add_many(GST_BIN(p.pipeline), p.canvas, p.media, p.stream, nullptr);
  g_object_set(p.canvas, "width", kWidth, "height", kHeight, "frame-rate", kFrameRate, "alpha",
               FALSE, nullptr);
  g_signal_connect(p.canvas, "draw", G_CALLBACK(on_draw), &p);
  g_object_set(p.media, "uri", uri.c_str(), "loop", TRUE, nullptr);
  g_signal_connect(p.media, "pad-added", G_CALLBACK(on_media_pad_added), &p);
  g_signal_connect(p.media, "no-more-pads", G_CALLBACK(on_media_no_more_pads), &p);
  g_signal_connect(p.stream, "track-added", G_CALLBACK(on_track_added), &p);
  if (stream_id)
    g_object_set(p.stream, "id", stream_id, nullptr);
  g_autofree gchar *id = nullptr;
  g_object_get(p.stream, "id", &id, nullptr);
  if (stream_id && g_strcmp0(id, stream_id) != 0) {
    g_printerr("janus-publish: mediastreambin refused the stream id '%s' (1 to 64 token "
               "characters)\n",
               stream_id);
    return false;
  }
  p.stream_id = id;

  g_autoptr(GstPad) canvas_src = gst_element_get_static_pad(p.canvas, "src");
  g_autoptr(GstPad) stream_sink = gst_element_request_pad_simple(p.stream, "video_sink_%u");
  if (!stream_sink || gst_pad_link(canvas_src, stream_sink) != GST_PAD_LINK_OK) {
    g_printerr("janus-publish: cannot add the canvas to the stream\n");
    return false;
  }
  std::lock_guard<std::mutex> guard(p.lock);
  if (p.tracks.empty()) {
    g_printerr("janus-publish: mediastreambin gave no track pad for the canvas\n");
    return false;
  }
  g_object_set(p.tracks[0]->pad, "label", "canvas", nullptr);
  return true;
}

// webrtcbin's statistics: what was sent, and what Janus's receiver reports say.
void print_stats(Publisher &p)
{
  if (!p.webrtcbin)
    return;
  GstPromise *promise = gst_promise_new();
  g_signal_emit_by_name(p.webrtcbin, "get-stats", nullptr, promise);
  if (gst_promise_wait(promise) != GST_PROMISE_RESULT_REPLIED) {
    gst_promise_unref(promise);
    return;
  }
  // Keep the reply in a variable: it belongs to the promise.
  const GstStructure *stats = gst_promise_get_reply(promise);
  // webrtcbin 1.22 gives every bundled outbound-rtp entry the last stream's kind and codec-id;
  // its codec entries carry the right ssrc and mime type: name the streams after those.
  std::map<guint, std::string> codecs;
  struct Walk {
    std::map<guint, std::string> *codecs;
    std::vector<std::pair<guint, std::string>> sent, reports;
  } walk{&codecs, {}, {}};
  gst_structure_foreach(
      stats,
      [](GQuark, const GValue *value, gpointer data) -> gboolean {
        auto &w = *static_cast<Walk *>(data);
        if (!GST_VALUE_HOLDS_STRUCTURE(value))
          return TRUE;
        const GstStructure *s = gst_value_get_structure(value);
        GstWebRTCStatsType type;
        if (!gst_structure_get(s, "type", GST_TYPE_WEBRTC_STATS_TYPE, &type, nullptr))
          return TRUE;
        guint ssrc = 0;
        gst_structure_get_uint(s, "ssrc", &ssrc);
        if (type == GST_WEBRTC_STATS_CODEC && gst_structure_get_string(s, "mime-type")) {
          (*w.codecs)[ssrc] = gst_structure_get_string(s, "mime-type");
        } else if (type == GST_WEBRTC_STATS_OUTBOUND_RTP) {
          guint64 bytes = 0, packets = 0;
          gst_structure_get_uint64(s, "bytes-sent", &bytes);
          gst_structure_get_uint64(s, "packets-sent", &packets);
          g_autofree gchar *text = g_strdup_printf(
              "sent %" G_GUINT64_FORMAT " packets, %" G_GUINT64_FORMAT " bytes", packets, bytes);
          w.sent.emplace_back(ssrc, text);
        } else if (type == GST_WEBRTC_STATS_REMOTE_INBOUND_RTP) {
          gint packets_lost = 0;
          gdouble rtt = 0;
          gst_structure_get_int(s, "packets-lost", &packets_lost);
          gst_structure_get_double(s, "round-trip-time", &rtt);
          g_autofree gchar *text =
              g_strdup_printf("Janus's receiver report: %d packets lost, round trip %.1f ms",
                              packets_lost, rtt * 1000);
          w.reports.emplace_back(ssrc, text);
        }
        return TRUE;
      },
      &walk);
  for (const auto &sent : walk.sent) {
    const auto codec = codecs.find(sent.first);
    std::string line = "  " + (codec != codecs.end() ? codec->second : std::string("?")) +
                       " ssrc " + std::to_string(sent.first) + ": " + sent.second;
    for (const auto &report : walk.reports) {
      if (report.first == sent.first)
        line += "; " + report.second;
    }
    g_print("%s\n", line.c_str());
  }
  gst_promise_unref(promise);
}

} // namespace

int main(int argc, char **argv)
{
  example::report_crashes("janus-publish");
  g_autofree gchar *url = nullptr;
  g_autofree gchar *room = nullptr;
  g_autofree gchar *display = nullptr;
  g_autofree gchar *uri = nullptr;
  g_autofree gchar *stream_id = nullptr;
  double seconds = 0;
  gboolean numeric_ids = FALSE;
  gint publishers = 16;
  const GOptionEntry entries[] = {
      {"url", 0, 0, G_OPTION_ARG_STRING, &url,
       "Janus's WebSocket API (default ws://127.0.0.1:8188/)", "URL"},
      {"room", 'r', 0, G_OPTION_ARG_STRING, &room,
       "VideoRoom room, created when missing (default gst-webcapture)", "ROOM"},
      {"display", 0, 0, G_OPTION_ARG_STRING, &display,
       "The publisher's display name (default janus-publish)", "NAME"},
      {"stream-id", 0, 0, G_OPTION_ARG_STRING, &stream_id,
       "The MediaStream id, also the publisher id (default: a random UUID)", "ID"},
      {"numeric-ids", 0, 0, G_OPTION_ARG_NONE, &numeric_ids,
       "For a Janus without string_ids: --room is a number, Janus picks the publisher id", nullptr},
      {"publishers", 0, 0, G_OPTION_ARG_INT, &publishers,
       "Publishers allowed in a room this program creates (default 16)", "N"},
      {"seconds", 's', 0, G_OPTION_ARG_DOUBLE, &seconds,
       "Publish for S seconds, then leave (default: until Ctrl-C)", "S"},
      {"uri", 'u', 0, G_OPTION_ARG_STRING, &uri,
       "Media to capture, looped (default: a 10 s clip made once in the build directory)", "URI"},
      {},
  };
  g_autoptr(GOptionContext) context =
      g_option_context_new("- publish a canvas and a media file as one MediaStream to a Janus "
                           "VideoRoom");
  g_option_context_add_main_entries(context, entries, nullptr);
  g_option_context_add_group(context, gst_init_get_option_group());
  g_autoptr(GError) err = nullptr;
  if (!g_option_context_parse(context, &argc, &argv, &err)) {
    g_printerr("janus-publish: %s\n", err->message);
    return EXIT_FAILURE;
  }
  if (argc > 1) {
    g_printerr("janus-publish: unexpected argument '%s' (see --help)\n", argv[1]);
    return EXIT_FAILURE;
  }
  if (seconds < 0 || seconds > 24 * 3600 || std::isnan(seconds)) {
    g_printerr("janus-publish: --seconds must be 0 (until Ctrl-C) to a day\n");
    return EXIT_FAILURE;
  }
  if (publishers < 1 || publishers > 1000) {
    g_printerr("janus-publish: --publishers must be 1..1000\n");
    return EXIT_FAILURE;
  }

  Publisher p;
  p.url = url ? url : "ws://127.0.0.1:8188/";
  p.room = room ? room : "gst-webcapture";
  p.display = display ? display : "janus-publish";
  p.numeric_ids = numeric_ids;
  p.publishers = guint(publishers);
  if (p.room.empty() ||
      (p.numeric_ids && (p.room.find_first_not_of("0123456789") != std::string::npos ||
                         g_ascii_strtoull(p.room.c_str(), nullptr, 10) == 0))) {
    g_printerr("janus-publish: --room must be %s\n",
               p.numeric_ids ? "a positive number with --numeric-ids" : "a non-empty string");
    return EXIT_FAILURE;
  }
  g_autoptr(GUri) parsed_url = g_uri_parse(p.url.c_str(), G_URI_FLAGS_NONE, nullptr);
  if (!parsed_url || (g_strcmp0(g_uri_get_scheme(parsed_url), "ws") != 0 &&
                      g_strcmp0(g_uri_get_scheme(parsed_url), "wss") != 0)) {
    g_printerr("janus-publish: --url must be a ws:// or wss:// URL (Janus's WebSocket "
               "transport), not '%s'\n",
               p.url.c_str());
    return EXIT_FAILURE;
  }

  std::string media_uri;
  const std::string default_media = std::string(DEMO_BUILD_DIR) + "/janus-publish-media.webm";
  if (!example::media_uri("janus-publish", uri, default_media, &media_uri))
    return EXIT_FAILURE;

  if (!build_pipeline(p, media_uri, stream_id)) {
    if (p.pipeline)
      gst_object_unref(p.pipeline);
    return EXIT_FAILURE;
  }
  p.loop = g_main_loop_new(nullptr, FALSE);
  GstBus *bus = gst_element_get_bus(p.pipeline);
  const guint bus_watch = gst_bus_add_watch(bus, on_bus_message, &p);
  gst_object_unref(bus);

  g_print("janus-publish: stream %s: canvas %dx%d@%g + %s -> %s room %s\n", p.stream_id.c_str(),
          kWidth, kHeight, kFrameRate, media_uri.c_str(), p.url.c_str(), p.room.c_str());
  fflush(stdout);
  const guint sigint = g_unix_signal_add(SIGINT, on_signal, &p);
  const guint sigterm = g_unix_signal_add(SIGTERM, on_signal, &p);
  if (seconds > 0)
    g_timeout_add(guint(seconds * 1000), stop_publishing, &p);
  g_timeout_add_seconds(kMediaTimeoutSeconds, on_media_timeout, &p);
  p.publish_timeout_source = g_timeout_add_seconds(kPublishTimeoutSeconds, on_publish_timeout, &p);
  p.started_us = g_get_monotonic_time();

  p.soup = soup_session_new();
  SoupMessage *upgrade = soup_message_new(SOUP_METHOD_GET, p.url.c_str());
  const char *protocols[] = {"janus-protocol", nullptr};
  g_autoptr(GCancellable) cancellable = g_cancellable_new();
  if (gst_element_set_state(p.pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    p.failed = true; // the ERROR on the bus says why
  } else {
    soup_session_websocket_connect_async(p.soup, upgrade, nullptr, (char **)protocols,
                                         G_PRIORITY_DEFAULT, cancellable, on_ws_connected, &p);
    g_main_loop_run(p.loop);
  }
  g_cancellable_cancel(cancellable);
  g_object_unref(upgrade);
  const double ran = (g_get_monotonic_time() - p.started_us) / 1e6;

  size_t published = 0;
  for (const auto &track : p.tracks)
    published += !track->mid.empty();
  g_print("\n--- janus-publish summary (%.1f s) ---\n", ran);
  g_print("stream %s in room %s at %s, publisher id %s\n", p.stream_id.c_str(), p.room.c_str(),
          p.url.c_str(), p.publisher_id.empty() ? "-" : p.publisher_id.c_str());
  for (const auto &track : p.tracks) {
    g_autofree gchar *id = nullptr, *label = nullptr;
    g_object_get(track->pad, "track-id", &id, "label", &label, nullptr);
    g_print("  %s %s label \"%s\" mid %s: %" G_GUINT64_FORMAT " buffers\n", track->kind.c_str(), id,
            label ? label : "", track->mid.empty() ? "-" : track->mid.c_str(),
            track->buffers.load());
  }
  g_print("canvas: drew %" G_GUINT64_FORMAT " frames\n", p.frames_drawn.load());
  const auto when = [&p](gint64 us) {
    if (!us)
      return std::string("-");
    g_autofree gchar *text = g_strdup_printf("%.2f s", since_start(p, us));
    return std::string(text);
  };
  g_print("Janus answered after %s, PeerConnection up after %s, receiving every track after %s\n",
          when(p.published_us).c_str(), when(p.webrtcup_us).c_str(), when(p.media_us).c_str());
  print_stats(p);

  gst_element_set_state(p.pipeline, GST_STATE_NULL);
  g_source_remove(bus_watch);
  g_source_remove(sigint);
  g_source_remove(sigterm);
  if (p.keepalive_source)
    g_source_remove(p.keepalive_source);
  if (p.publish_timeout_source)
    g_source_remove(p.publish_timeout_source);
  if (p.ws) {
    g_signal_handlers_disconnect_by_data(p.ws, &p);
    if (soup_websocket_connection_get_state(p.ws) == SOUP_WEBSOCKET_STATE_OPEN)
      soup_websocket_connection_close(p.ws, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, nullptr);
    g_object_unref(p.ws);
  }
  g_object_unref(p.soup);
  for (auto &track : p.tracks) {
    gst_clear_object(&track->webrtc_sink);
    gst_object_unref(track->pad);
  }
  p.tracks.clear();
  gst_object_unref(p.pipeline);
  g_main_loop_unref(p.loop);

  gst_deinit(); // GST_TRACERS=leaks reports here
  const bool ok = !p.failed && p.media_us && published > 0;
  if (!p.failed && !ok)
    g_printerr("janus-publish: error: stopped before Janus received every track\n");
  return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
