/* webrtc-signalling: see webrtc-signalling.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "webrtc-signalling.h"

#include <gst/sdp/sdp.h>

#include <cstring>
#include <utility>

namespace webcapture
{

namespace
{

const char *const kSessionIdKey = "webcapture-session-id";

// A message queued from any thread towards the session's WebSocket.
struct PendingText {
  std::weak_ptr<WebRtcSession> session;
  std::string text;
};

std::string node_to_text(JsonNode *node)
{
  gchar *text = ::json_to_string(node, FALSE);
  std::string result = text ? text : "";
  g_free(text);
  return result;
}

const char *content_type_for(const std::string &path)
{
  struct {
    const char *suffix;
    const char *type;
  } static const kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".png", "image/png"},
      {".svg", "image/svg+xml"},
      {".ico", "image/x-icon"},
      {".txt", "text/plain; charset=utf-8"},
  };
  for (const auto &entry : kTypes) {
    if (g_str_has_suffix(path.c_str(), entry.suffix))
      return entry.type;
  }
  return "application/octet-stream";
}

gboolean unref_connection(gpointer data)
{
  g_object_unref(data);
  return G_SOURCE_REMOVE;
}

} // namespace

// --- WebRtcSession ----------------------------------------------------------------------------

WebRtcSession::WebRtcSession(guint id, GMainContext *context, SoupWebsocketConnection *connection)
    : id_(id), context_(g_main_context_ref(context)),
      connection_(SOUP_WEBSOCKET_CONNECTION(g_object_ref(connection)))
{
}

WebRtcSession::~WebRtcSession()
{
  detach();
  // The last reference may go on one of webrtcbin's threads; the connection belongs to the
  // main context, so release it there.
  if (g_main_context_is_owner(context_)) {
    g_object_unref(connection_);
  } else {
    g_main_context_invoke_full(context_, G_PRIORITY_DEFAULT, unref_connection, connection_,
                               nullptr);
  }
  g_main_context_unref(context_);
}

void WebRtcSession::attach(GstElement *webrtcbin, Role role)
{
  g_return_if_fail(webrtcbin_ == nullptr);
  webrtcbin_ = GST_ELEMENT(gst_object_ref(webrtcbin));

  auto make_data = [this]() { return new std::weak_ptr<WebRtcSession>(weak_from_this()); };
  auto free_data = [](gpointer data, GClosure *) {
    delete static_cast<std::weak_ptr<WebRtcSession> *>(data);
  };
  if (role == Role::OFFERER) {
    handlers_.push_back(g_signal_connect_data(webrtcbin, "on-negotiation-needed",
                                              G_CALLBACK(on_negotiation_needed), make_data(),
                                              free_data, GConnectFlags(0)));
  }
  handlers_.push_back(g_signal_connect_data(webrtcbin, "on-ice-candidate",
                                            G_CALLBACK(on_ice_candidate), make_data(), free_data,
                                            GConnectFlags(0)));
}

void WebRtcSession::set_annotator(GstElement *mediastreambin)
{
  gst_object_replace(reinterpret_cast<GstObject **>(&annotator_), GST_OBJECT(mediastreambin));
}

void WebRtcSession::detach()
{
  gst_clear_object(&annotator_);
  if (!webrtcbin_)
    return;
  for (gulong handler : handlers_)
    g_signal_handler_disconnect(webrtcbin_, handler);
  handlers_.clear();
  gst_clear_object(&webrtcbin_);
}

void WebRtcSession::send_json(JsonNode *node)
{
  send_text(node_to_text(node));
}

void WebRtcSession::send_text(std::string text)
{
  auto *pending = new PendingText{weak_from_this(), std::move(text)};
  g_main_context_invoke_full(
      context_, G_PRIORITY_DEFAULT,
      [](gpointer data) -> gboolean {
        auto *p = static_cast<PendingText *>(data);
        if (auto session = p->session.lock())
          session->send_on_main(std::move(p->text));
        return G_SOURCE_REMOVE;
      },
      pending, [](gpointer data) { delete static_cast<PendingText *>(data); });
}

void WebRtcSession::send_on_main(std::string text)
{
  if (soup_websocket_connection_get_state(connection_) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_send_text(connection_, text.c_str());
}

void WebRtcSession::close(const char *reason)
{
  if (soup_websocket_connection_get_state(connection_) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close(connection_, SOUP_WEBSOCKET_CLOSE_NORMAL, reason);
}

void WebRtcSession::on_negotiation_needed(GstElement *webrtcbin, gpointer user_data)
{
  auto session = static_cast<std::weak_ptr<WebRtcSession> *>(user_data)->lock();
  if (!session)
    return;
  GstPromise *promise = gst_promise_new_with_change_func(
      on_offer_created, new std::weak_ptr<WebRtcSession>(session),
      [](gpointer data) { delete static_cast<std::weak_ptr<WebRtcSession> *>(data); });
  g_signal_emit_by_name(webrtcbin, "create-offer", nullptr, promise);
}

void WebRtcSession::on_offer_created(GstPromise *promise, gpointer user_data)
{
  auto session = static_cast<std::weak_ptr<WebRtcSession> *>(user_data)->lock();
  if (!session || !session->webrtcbin_ || gst_promise_wait(promise) != GST_PROMISE_RESULT_REPLIED) {
    gst_promise_unref(promise);
    return;
  }
  const GstStructure *reply = gst_promise_get_reply(promise);
  GstWebRTCSessionDescription *offer = nullptr;
  GError *error = nullptr;
  if (reply && gst_structure_has_field(reply, "error")) {
    gst_structure_get(reply, "error", G_TYPE_ERROR, &error, nullptr);
    g_printerr("webrtc-signalling: session %u: create-offer failed: %s\n", session->id_,
               error ? error->message : "unknown error");
    g_clear_error(&error);
  } else if (reply) {
    gst_structure_get(reply, "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &offer, nullptr);
  }
  gst_promise_unref(promise);
  if (!offer)
    return;

  session->apply_and_send(offer, "offer");
  gst_webrtc_session_description_free(offer);
}

void WebRtcSession::apply_and_send(GstWebRTCSessionDescription *desc, const char *type)
{
  // The description goes to the browser only once webrtcbin has applied it: an answer that came
  // back before set-local-description ran would be refused ("not in the correct state
  // (stable)"). Candidates gathered meanwhile may reach the page before it; the page keeps them
  // until it has the remote description. webrtcbin keeps its own description; the page gets
  // mediastreambin's annotated copy (track ids as msid) when an annotator is set.
  GstSDPMessage *annotated = nullptr;
  if (annotator_)
    g_signal_emit_by_name(annotator_, "annotate-sdp", desc->sdp, webrtcbin_, &annotated);
  auto *pending = new PendingText{weak_from_this(), ""};
  gchar *sdp = gst_sdp_message_as_text(annotated ? annotated : desc->sdp);
  if (annotated)
    gst_sdp_message_free(annotated);
  JsonBuilder *builder = json_builder_new();
  json_builder_begin_object(builder);
  json_builder_set_member_name(builder, "type");
  json_builder_add_string_value(builder, type);
  json_builder_set_member_name(builder, "sdp");
  json_builder_add_string_value(builder, sdp);
  json_builder_end_object(builder);
  JsonNode *root = json_builder_get_root(builder);
  pending->text = node_to_text(root);
  json_node_unref(root);
  g_object_unref(builder);
  g_free(sdp);

  GstPromise *applied = gst_promise_new_with_change_func(
      [](GstPromise *p, gpointer data) {
        auto *text = static_cast<PendingText *>(data);
        auto self = text->session.lock();
        const bool replied = gst_promise_wait(p) == GST_PROMISE_RESULT_REPLIED;
        const GstStructure *result = replied ? gst_promise_get_reply(p) : nullptr;
        GError *failure = nullptr;
        if (result && gst_structure_has_field(result, "error"))
          gst_structure_get(result, "error", G_TYPE_ERROR, &failure, nullptr);
        if (failure || !replied) {
          g_printerr("webrtc-signalling: set-local-description failed: %s\n",
                     failure ? failure->message : "no reply");
          g_clear_error(&failure);
        } else if (self) {
          self->send_text(std::move(text->text));
        }
        gst_promise_unref(p);
      },
      pending, [](gpointer data) { delete static_cast<PendingText *>(data); });
  g_signal_emit_by_name(webrtcbin_, "set-local-description", desc, applied);
}

// Role::ANSWERER: the page's offer is set; then webrtcbin answers.
void WebRtcSession::on_remote_offer_set(GstPromise *promise, gpointer user_data)
{
  auto session = static_cast<std::weak_ptr<WebRtcSession> *>(user_data)->lock();
  const bool replied = gst_promise_wait(promise) == GST_PROMISE_RESULT_REPLIED;
  const GstStructure *reply = replied ? gst_promise_get_reply(promise) : nullptr;
  GError *error = nullptr;
  if (reply && gst_structure_has_field(reply, "error"))
    gst_structure_get(reply, "error", G_TYPE_ERROR, &error, nullptr);
  gst_promise_unref(promise);
  if (!session || !session->webrtcbin_)
    return;
  if (error || !replied) {
    g_printerr("webrtc-signalling: session %u: the page's offer was refused: %s\n", session->id_,
               error ? error->message : "no reply");
    g_clear_error(&error);
    return;
  }
  GstPromise *answer = gst_promise_new_with_change_func(
      on_answer_created, new std::weak_ptr<WebRtcSession>(session),
      [](gpointer data) { delete static_cast<std::weak_ptr<WebRtcSession> *>(data); });
  g_signal_emit_by_name(session->webrtcbin_, "create-answer", nullptr, answer);
}

void WebRtcSession::on_answer_created(GstPromise *promise, gpointer user_data)
{
  auto session = static_cast<std::weak_ptr<WebRtcSession> *>(user_data)->lock();
  const bool replied = gst_promise_wait(promise) == GST_PROMISE_RESULT_REPLIED;
  const GstStructure *reply = replied ? gst_promise_get_reply(promise) : nullptr;
  GstWebRTCSessionDescription *answer = nullptr;
  GError *error = nullptr;
  if (reply && gst_structure_has_field(reply, "error"))
    gst_structure_get(reply, "error", G_TYPE_ERROR, &error, nullptr);
  else if (reply)
    gst_structure_get(reply, "answer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &answer, nullptr);
  gst_promise_unref(promise);
  if (error || !answer) {
    g_printerr("webrtc-signalling: create-answer failed: %s\n",
               error ? error->message : "no answer");
    g_clear_error(&error);
  } else if (session && session->webrtcbin_) {
    session->apply_and_send(answer, "answer");
  }
  if (answer)
    gst_webrtc_session_description_free(answer);
}

void WebRtcSession::on_ice_candidate(GstElement *, guint mline, const gchar *candidate,
                                     gpointer user_data)
{
  auto session = static_cast<std::weak_ptr<WebRtcSession> *>(user_data)->lock();
  if (!session)
    return;
  JsonBuilder *builder = json_builder_new();
  json_builder_begin_object(builder);
  json_builder_set_member_name(builder, "type");
  json_builder_add_string_value(builder, "candidate");
  json_builder_set_member_name(builder, "sdpMLineIndex");
  json_builder_add_int_value(builder, mline);
  json_builder_set_member_name(builder, "candidate");
  json_builder_add_string_value(builder, candidate);
  json_builder_end_object(builder);
  JsonNode *root = json_builder_get_root(builder);
  session->send_json(root);
  json_node_unref(root);
  g_object_unref(builder);
}

void WebRtcSession::handle_message(const char *text, JsonObject **unhandled)
{
  *unhandled = nullptr;
  JsonParser *parser = json_parser_new();
  GError *error = nullptr;
  if (!json_parser_load_from_data(parser, text, -1, &error)) {
    g_printerr("webrtc-signalling: session %u: bad JSON: %s\n", id_, error->message);
    g_clear_error(&error);
    g_object_unref(parser);
    return;
  }
  JsonNode *root = json_parser_get_root(parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
    g_object_unref(parser);
    return;
  }
  JsonObject *object = json_node_get_object(root);
  const char *type = json_object_get_string_member_with_default(object, "type", "");

  if ((std::strcmp(type, "answer") == 0 || std::strcmp(type, "offer") == 0) && webrtcbin_) {
    const bool is_offer = std::strcmp(type, "offer") == 0;
    const char *sdp_text = json_object_get_string_member_with_default(object, "sdp", "");
    GstSDPMessage *sdp = nullptr;
    if (gst_sdp_message_new_from_text(sdp_text, &sdp) != GST_SDP_OK || !sdp) {
      g_printerr("webrtc-signalling: session %u: the %s is not valid SDP\n", id_, type);
      if (sdp)
        gst_sdp_message_free(sdp);
    } else {
      GstWebRTCSessionDescription *desc = gst_webrtc_session_description_new(
          is_offer ? GST_WEBRTC_SDP_TYPE_OFFER : GST_WEBRTC_SDP_TYPE_ANSWER, sdp);
      GstPromise *set = nullptr;
      if (is_offer) {
        set = gst_promise_new_with_change_func(
            on_remote_offer_set, new std::weak_ptr<WebRtcSession>(weak_from_this()),
            [](gpointer data) { delete static_cast<std::weak_ptr<WebRtcSession> *>(data); });
      }
      g_signal_emit_by_name(webrtcbin_, "set-remote-description", desc, set);
      gst_webrtc_session_description_free(desc);
    }
  } else if (std::strcmp(type, "candidate") == 0 && webrtcbin_) {
    const char *candidate = json_object_get_string_member_with_default(object, "candidate", "");
    gint64 mline = json_object_get_int_member_with_default(object, "sdpMLineIndex", -1);
    // An empty candidate is the end-of-candidates marker: nothing to add.
    if (candidate[0] != '\0' && mline >= 0)
      g_signal_emit_by_name(webrtcbin_, "add-ice-candidate", guint(mline), candidate);
  } else {
    *unhandled = json_object_ref(object);
  }
  g_object_unref(parser);
}

// --- SignallingServer -------------------------------------------------------------------------

SignallingServer::SignallingServer(std::string web_root, SignallingCallbacks callbacks)
    : web_root_(std::move(web_root)), callbacks_(std::move(callbacks)),
      context_(g_main_context_ref_thread_default())
{
  server_ = soup_server_new("server-header", "gst-webcapture-signalling ", nullptr);
  soup_server_add_websocket_handler(server_, "/ws", nullptr, nullptr, on_websocket, this, nullptr);
  soup_server_add_handler(server_, "/", on_http_request, this, nullptr);
}

SignallingServer::~SignallingServer()
{
  stop();
  g_main_context_unref(context_);
}

bool SignallingServer::listen(const std::string &address, guint port, GError **error)
{
  GInetAddress *inet = g_inet_address_new_from_string(address.c_str());
  if (!inet) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "not an IP address: %s",
                address.c_str());
    return false;
  }
  GSocketAddress *socket_address = g_inet_socket_address_new(inet, port);
  g_object_unref(inet);
  gboolean ok = soup_server_listen(server_, socket_address, SoupServerListenOptions(0), error);
  g_object_unref(socket_address);
  if (!ok)
    return false;

  // The listening sockets tell the port chosen for port 0 (soup_server_get_uris() leaks in
  // libsoup 3.2).
  GSList *listeners = soup_server_get_listeners(server_);
  for (GSList *l = listeners; l; l = l->next) {
    GSocketAddress *local = g_socket_get_local_address(G_SOCKET(l->data), nullptr);
    if (local && G_IS_INET_SOCKET_ADDRESS(local)) {
      GInetSocketAddress *inet_local = G_INET_SOCKET_ADDRESS(local);
      port_ = g_inet_socket_address_get_port(inet_local);
      gchar *host = g_inet_address_to_string(g_inet_socket_address_get_address(inet_local));
      host_ = host;
      g_free(host);
    }
    g_clear_object(&local);
  }
  g_slist_free(listeners);
  return true;
}

std::string SignallingServer::url() const
{
  bool ipv6 = host_.find(':') != std::string::npos;
  return "http://" + (ipv6 ? "[" + host_ + "]" : host_) + ":" + std::to_string(port_) + "/";
}

std::vector<WebRtcSessionPtr> SignallingServer::sessions() const
{
  std::vector<WebRtcSessionPtr> result;
  for (const auto &entry : sessions_)
    result.push_back(entry.second);
  return result;
}

void SignallingServer::stop()
{
  while (!sessions_.empty()) {
    guint id = sessions_.begin()->first;
    WebRtcSessionPtr session = sessions_.begin()->second;
    g_signal_handlers_disconnect_by_data(session->connection_, this);
    session->close("server stopping");
    end_session(id);
  }
  if (server_) {
    soup_server_disconnect(server_);
    g_clear_object(&server_);
  }
}

void SignallingServer::end_session(guint id)
{
  auto it = sessions_.find(id);
  if (it == sessions_.end())
    return;
  WebRtcSessionPtr session = it->second;
  sessions_.erase(it);
  if (callbacks_.session_ended)
    callbacks_.session_ended(session);
  session->detach();
}

void SignallingServer::on_http_request(SoupServer *, SoupServerMessage *msg, const char *path,
                                       GHashTable *, gpointer user_data)
{
  auto *self = static_cast<SignallingServer *>(user_data);
  const char *method = soup_server_message_get_method(msg);
  if (std::strcmp(method, "GET") != 0 && std::strcmp(method, "HEAD") != 0) {
    soup_server_message_set_status(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, nullptr);
    return;
  }
  std::string relative = path;
  if (relative.empty() || relative.back() == '/')
    relative += "index.html";
  // Only plain files under the web root: no "..", no hidden files.
  if (relative.find("..") != std::string::npos || relative.find("/.") != std::string::npos) {
    soup_server_message_set_status(msg, SOUP_STATUS_FORBIDDEN, nullptr);
    return;
  }
  std::string file = self->web_root_ + relative;
  gchar *contents = nullptr;
  gsize length = 0;
  if (!g_file_get_contents(file.c_str(), &contents, &length, nullptr)) {
    soup_server_message_set_status(msg, SOUP_STATUS_NOT_FOUND, nullptr);
    return;
  }
  SoupMessageHeaders *headers = soup_server_message_get_response_headers(msg);
  soup_message_headers_replace(headers, "Cache-Control", "no-store");
  soup_server_message_set_status(msg, SOUP_STATUS_OK, nullptr);
  soup_server_message_set_response(msg, content_type_for(relative), SOUP_MEMORY_TAKE, contents,
                                   length);
}

void SignallingServer::on_websocket(SoupServer *, SoupServerMessage *msg, const char *,
                                    SoupWebsocketConnection *connection, gpointer user_data)
{
  auto *self = static_cast<SignallingServer *>(user_data);
  guint id = self->next_session_id_++;
  auto session = std::make_shared<WebRtcSession>(id, self->context_, connection);
  const char *host = soup_server_message_get_remote_host(msg);
  GSocketAddress *remote = soup_server_message_get_remote_address(msg);
  session->peer_ = std::string(host ? host : "?");
  if (remote && G_IS_INET_SOCKET_ADDRESS(remote))
    session->peer_ +=
        ":" + std::to_string(g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(remote)));
  self->sessions_[id] = session;

  g_object_set_data(G_OBJECT(connection), kSessionIdKey, GUINT_TO_POINTER(id));
  g_signal_connect(connection, "message", G_CALLBACK(on_websocket_message), self);
  g_signal_connect(connection, "closed", G_CALLBACK(on_websocket_closed), self);

  if (self->callbacks_.session_started)
    self->callbacks_.session_started(session);
}

void SignallingServer::on_websocket_message(SoupWebsocketConnection *connection, gint type,
                                            GBytes *message, gpointer user_data)
{
  auto *self = static_cast<SignallingServer *>(user_data);
  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    return;
  guint id = GPOINTER_TO_UINT(g_object_get_data(G_OBJECT(connection), kSessionIdKey));
  auto it = self->sessions_.find(id);
  if (it == self->sessions_.end())
    return;
  WebRtcSessionPtr session = it->second;
  gsize size = 0;
  const char *data = static_cast<const char *>(g_bytes_get_data(message, &size));
  std::string text(data ? data : "", size);
  JsonObject *unhandled = nullptr;
  session->handle_message(text.c_str(), &unhandled);
  if (unhandled) {
    if (self->callbacks_.message)
      self->callbacks_.message(session, unhandled);
    json_object_unref(unhandled);
  }
}

void SignallingServer::on_websocket_closed(SoupWebsocketConnection *connection, gpointer user_data)
{
  auto *self = static_cast<SignallingServer *>(user_data);
  guint id = GPOINTER_TO_UINT(g_object_get_data(G_OBJECT(connection), kSessionIdKey));
  g_signal_handlers_disconnect_by_data(connection, self);
  self->end_session(id);
}

} // namespace webcapture
