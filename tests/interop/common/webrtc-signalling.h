/* webrtc-signalling: serve a page over HTTP and negotiate webrtcbin peers with the browsers that
 * open its WebSocket. libsoup 3 + json-glib + webrtcbin, one GLib main loop.
 *
 * Reused by the real-browser interop test (tests/interop) and meant for the demo application:
 *
 *   webcapture::SignallingServer server(web_root, callbacks);
 *   server.listen("127.0.0.1", 8080, &error);   // port 0 = any free port, see server.url()
 *
 * Every WebSocket connection on /ws is one WebRtcSession. The application's session_started
 * callback creates a webrtcbin, calls session->attach(webrtcbin) BEFORE linking its sink pads (so
 * the first on-negotiation-needed is seen), links it and brings it to PLAYING. The session then
 * sends the offer, trickles candidates both ways and applies the answer. When the browser goes
 * away, session_ended lets the application remove its webrtcbin. Messages the session does not
 * handle itself (anything but "offer", "answer" and "candidate") go to the message callback.
 *
 * The other way round (the page sends, GStreamer receives): attach(webrtcbin, Role::ANSWERER);
 * the page's offer is applied, webrtcbin's answer is set and sent back.
 *
 * Track ids (MS-5): after set_annotator(mediastreambin), the offer or answer sent to the page is
 * the copy returned by mediastreambin's "annotate-sdp" (a=msid:<stream id> <track-id> for each
 * m-line that carries a track of any mediastreambin); webrtcbin keeps its own description.
 *
 * Wire protocol (JSON text frames on /ws):
 *   server -> page  {"type":"offer","sdp":"v=0..."}  (sent once webrtcbin applied it; candidates
 *                   may come before it: keep them until the remote description is set)
 *                   {"type":"candidate","sdpMLineIndex":0,"candidate":"candidate:..."}
 *                   {"type":"answer","sdp":"v=0..."}  (Role::ANSWERER)
 *                   anything the application sends with send_json()
 *   page -> server  {"type":"answer","sdp":"v=0..."}
 *                   {"type":"offer","sdp":"v=0..."}   (Role::ANSWERER)
 *                   {"type":"candidate","sdpMLineIndex":0,"candidate":"candidate:..."}
 *                   anything else -> the message callback
 *
 * Threading: construct, listen, stop and the callbacks run in the GLib main context that was the
 * thread default when the server was constructed. WebRtcSession::send_json/send_text may be
 * called from any thread (webrtcbin's signals arrive on its own threads).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gst/gst.h>
#ifndef GST_USE_UNSTABLE_API
#define GST_USE_UNSTABLE_API
#endif
#include <gst/webrtc/webrtc.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace webcapture
{

class SignallingServer;

class WebRtcSession : public std::enable_shared_from_this<WebRtcSession>
{
public:
  WebRtcSession(guint id, GMainContext *context, SoupWebsocketConnection *connection);
  ~WebRtcSession();
  WebRtcSession(const WebRtcSession &) = delete;
  WebRtcSession &operator=(const WebRtcSession &) = delete;

  enum class Role { OFFERER, ANSWERER };
  // Take over the signalling of this webrtcbin (a new reference is kept). Call once, before
  // its sink pads are requested or linked. OFFERER: webrtcbin offers at each
  // on-negotiation-needed; ANSWERER: the page offers, webrtcbin answers.
  void attach(GstElement *webrtcbin, Role role = Role::OFFERER);
  // Send mediastreambin's "annotate-sdp" copy of each offer/answer (a new reference is kept).
  void set_annotator(GstElement *mediastreambin);
  // Disconnect from webrtcbin's signals and drop the reference (done by the destructor too).
  void detach();

  guint id() const { return id_; }
  // The attached webrtcbin (no new reference), or nullptr.
  GstElement *webrtcbin() const { return webrtcbin_; }
  // The browser's address as the server saw it ("127.0.0.1:41234").
  const std::string &peer() const { return peer_; }

  // Queue a message to the browser; any thread. A no-op once the connection is closed.
  void send_json(JsonNode *node); // transfer none
  void send_text(std::string text);
  // Close the WebSocket (main context only).
  void close(const char *reason);

  // Called by the server for every text frame; public for the server only.
  void handle_message(const char *text, JsonObject **unhandled);

private:
  friend class SignallingServer;
  static void on_negotiation_needed(GstElement *webrtcbin, gpointer user_data);
  static void on_ice_candidate(GstElement *webrtcbin, guint mline, const gchar *candidate,
                               gpointer user_data);
  static void on_offer_created(GstPromise *promise, gpointer user_data);
  static void on_remote_offer_set(GstPromise *promise, gpointer user_data);
  static void on_answer_created(GstPromise *promise, gpointer user_data);
  // Sets @desc as webrtcbin's local description, then sends it (annotated) to the page.
  void apply_and_send(GstWebRTCSessionDescription *desc, const char *type);
  void send_on_main(std::string text);

  guint id_;
  GMainContext *context_;
  SoupWebsocketConnection *connection_; // owned; used on the main context only
  std::string peer_;
  GstElement *webrtcbin_ = nullptr;
  GstElement *annotator_ = nullptr; // mediastreambin, or nullptr
  std::vector<gulong> handlers_;
};

using WebRtcSessionPtr = std::shared_ptr<WebRtcSession>;

struct SignallingCallbacks {
  // A browser opened /ws: create and attach a webrtcbin (or close the session to refuse it).
  std::function<void(const WebRtcSessionPtr &)> session_started;
  // Its WebSocket closed: remove the webrtcbin. The session is detached after this returns.
  std::function<void(const WebRtcSessionPtr &)> session_ended;
  // A message the session does not handle itself (type other than answer/candidate).
  std::function<void(const WebRtcSessionPtr &, JsonObject *message)> message;
};

class SignallingServer
{
public:
  // web_root: directory served at / (index.html for /). Files are read at each request.
  SignallingServer(std::string web_root, SignallingCallbacks callbacks);
  ~SignallingServer();
  SignallingServer(const SignallingServer &) = delete;
  SignallingServer &operator=(const SignallingServer &) = delete;

  // Listen on one IPv4/IPv6 address (default loopback only). port 0 picks a free port.
  bool listen(const std::string &address, guint port, GError **error);
  guint port() const { return port_; }
  // "http://127.0.0.1:<port>/"
  std::string url() const;
  // Close every session and stop listening (the destructor does it too).
  void stop();

  std::vector<WebRtcSessionPtr> sessions() const;
  // The underlying server, to add application handlers (e.g. a JSON status endpoint).
  SoupServer *soup_server() const { return server_; }

private:
  static void on_http_request(SoupServer *server, SoupServerMessage *msg, const char *path,
                              GHashTable *query, gpointer user_data);
  static void on_websocket(SoupServer *server, SoupServerMessage *msg, const char *path,
                           SoupWebsocketConnection *connection, gpointer user_data);
  static void on_websocket_message(SoupWebsocketConnection *connection, gint type, GBytes *message,
                                   gpointer user_data);
  static void on_websocket_closed(SoupWebsocketConnection *connection, gpointer user_data);
  void end_session(guint id);

  std::string web_root_;
  SignallingCallbacks callbacks_;
  GMainContext *context_;
  SoupServer *server_ = nullptr;
  guint port_ = 0;
  std::string host_;
  guint next_session_id_ = 1;
  std::map<guint, WebRtcSessionPtr> sessions_;
};

} // namespace webcapture
