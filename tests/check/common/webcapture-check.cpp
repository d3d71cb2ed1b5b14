/* Shared test support for the gst-check suites (see webcapture-check.h).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "webcapture-check.h"

#include "gstmediastreamtrackstate.h"

#include <arpa/inet.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

/* ---------------------------------------------------------------- suites */

TCase *wc_add_case(Suite *suite, const char *name, guint timeout_s)
{
  TCase *tc = tcase_create(name);
  tcase_set_timeout(tc, timeout_s);
  suite_add_tcase(suite, tc);
  return tc;
}

/* ------------------------------------------------------------------ waits */

bool wc_wait_until(const std::function<bool()> &pred, guint timeout_ms, guint poll_ms)
{
  const gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
  while (g_get_monotonic_time() < end) {
    if (pred())
      return true;
    g_usleep(poll_ms * 1000);
  }
  return pred();
}

void wc_sleep_ms(guint ms)
{
  g_usleep((gulong)ms * 1000);
}

WcWatchdog::WcWatchdog(guint seconds, std::string what)
{
  rearm(seconds, std::move(what));
  thread_ = std::thread([this] { run(); });
}

WcWatchdog::~WcWatchdog()
{
  {
    std::lock_guard<std::mutex> lk(m_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void WcWatchdog::disarm()
{
  std::lock_guard<std::mutex> lk(m_);
  deadline_us_ = G_MAXINT64;
}

void WcWatchdog::rearm(guint seconds, std::string what)
{
  std::lock_guard<std::mutex> lk(m_);
  deadline_us_ = g_get_monotonic_time() + (gint64)seconds * G_USEC_PER_SEC;
  what_ = std::move(what);
  cv_.notify_all();
}

void WcWatchdog::run()
{
  std::unique_lock<std::mutex> lk(m_);
  while (!stop_) {
    gint64 now = g_get_monotonic_time();
    if (now >= deadline_us_) {
      /* No check assertion works from here (the test thread is stuck):
       * print and abort, the forked test fails with the signal. */
      fprintf(stderr, "\nWATCHDOG: %s\n", what_.c_str());
      fflush(stderr);
      abort();
    }
    gint64 wait_us = std::min<gint64>(deadline_us_ - now, 200000);
    cv_.wait_for(lk, std::chrono::microseconds(wait_us));
  }
}

/* --------------------------------------------------------------- elements */

bool wc_have_elements(std::initializer_list<const char *> factories, std::string *missing)
{
  for (const char *name : factories) {
    GstElementFactory *f = gst_element_factory_find(name);
    if (!f) {
      if (missing)
        *missing = name;
      return false;
    }
    gst_object_unref(f);
  }
  return true;
}

/* ---------------------------------------------------------- typed getters */

static GParamSpec *find_property(gpointer object, const char *property)
{
  fail_unless(G_IS_OBJECT(object), "not a GObject when reading '%s'", property);
  GParamSpec *ps = g_object_class_find_property(G_OBJECT_GET_CLASS(object), property);
  fail_unless(ps != nullptr, "%s has no property '%s'", G_OBJECT_TYPE_NAME(object), property);
  return ps;
}

bool wc_get_bool(gpointer object, const char *property)
{
  find_property(object, property);
  gboolean v = FALSE;
  g_object_get(object, property, &v, nullptr);
  return v != FALSE;
}

gint wc_get_int(gpointer object, const char *property)
{
  find_property(object, property);
  gint v = 0;
  g_object_get(object, property, &v, nullptr);
  return v;
}

guint wc_get_uint(gpointer object, const char *property)
{
  find_property(object, property);
  guint v = 0;
  g_object_get(object, property, &v, nullptr);
  return v;
}

gdouble wc_get_double(gpointer object, const char *property)
{
  find_property(object, property);
  gdouble v = 0;
  g_object_get(object, property, &v, nullptr);
  return v;
}

std::string wc_get_string(gpointer object, const char *property)
{
  find_property(object, property);
  g_autofree gchar *v = nullptr;
  g_object_get(object, property, &v, nullptr);
  return v ? v : "";
}

GstStructure *wc_get_structure(gpointer object, const char *property)
{
  find_property(object, property);
  GstStructure *v = nullptr;
  g_object_get(object, property, &v, nullptr);
  return v;
}

GstStructure *wc_apply_constraints(GstPad *track, const char *signal, const char *text)
{
  std::atomic<bool> done{false};
  GstPromise *promise = gst_promise_new_with_change_func(
      +[](GstPromise *, gpointer data) { static_cast<std::atomic<bool> *>(data)->store(true); },
      &done, nullptr);
  if (g_str_equal(signal, "apply-constraints")) {
    GstStructure *c = gst_structure_from_string(text, nullptr);
    fail_unless(c != nullptr, "bad test structure %s", text);
    g_signal_emit_by_name(track, signal, c, promise);
    gst_structure_free(c);
  } else {
    g_signal_emit_by_name(track, signal, text, promise);
  }
  fail_unless(wc_wait_until([&] { return done.load(); }, 20000), "no reply to %s", text);
  fail_unless_equals_int(gst_promise_wait(promise), GST_PROMISE_RESULT_REPLIED);
  GstStructure *reply = gst_structure_copy(gst_promise_get_reply(promise));
  gst_promise_unref(promise);
  return reply;
}

/* ----------------------------------------------------------------- harness */

GstBuffer *wc_pull(GstHarness *h, guint timeout_ms)
{
  GstBuffer *buf = nullptr;
  wc_wait_until([&] { return (buf = gst_harness_try_pull(h)) != nullptr; }, timeout_ms, 2);
  return buf;
}

GstEvent *wc_pull_event(GstHarness *h, guint timeout_ms)
{
  GstEvent *ev = nullptr;
  wc_wait_until([&] { return (ev = gst_harness_try_pull_event(h)) != nullptr; }, timeout_ms, 2);
  return ev;
}

/* --------------------------------------------------------------- pipelines */

void wc_set_state_sync(GstElement *element, GstState state, guint timeout_s)
{
  GstStateChangeReturn ret = gst_element_set_state(element, state);
  fail_unless(ret != GST_STATE_CHANGE_FAILURE, "%s: set_state(%s) failed",
              GST_ELEMENT_NAME(element), gst_element_state_get_name(state));
  if (ret == GST_STATE_CHANGE_ASYNC)
    ret = gst_element_get_state(element, nullptr, nullptr, timeout_s * GST_SECOND);
  fail_unless(ret != GST_STATE_CHANGE_FAILURE, "%s: change to %s failed", GST_ELEMENT_NAME(element),
              gst_element_state_get_name(state));
  fail_unless(ret != GST_STATE_CHANGE_ASYNC, "%s: change to %s not done in %u s",
              GST_ELEMENT_NAME(element), gst_element_state_get_name(state), timeout_s);
}

std::string wc_error_text(GstMessage *msg)
{
  GError *err = nullptr;
  gchar *dbg = nullptr;
  if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR)
    gst_message_parse_error(msg, &err, &dbg);
  else if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_WARNING)
    gst_message_parse_warning(msg, &err, &dbg);
  else
    return GST_MESSAGE_TYPE_NAME(msg);
  std::string text = std::string(GST_MESSAGE_SRC_NAME(msg) ? GST_MESSAGE_SRC_NAME(msg) : "?") +
                     ": " + (err ? err->message : "") + " (" + (dbg ? dbg : "") + ")";
  g_clear_error(&err);
  g_free(dbg);
  return text;
}

void wc_run_to_eos(GstElement *pipeline, guint timeout_s)
{
  GstBus *bus = gst_element_get_bus(pipeline);
  fail_unless(gst_element_set_state(pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE,
              "%s: cannot go to PLAYING", GST_ELEMENT_NAME(pipeline));
  GstMessage *msg = gst_bus_timed_pop_filtered(
      bus, timeout_s * GST_SECOND, (GstMessageType)(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  gst_object_unref(bus);
  fail_unless(msg != nullptr, "%s: no EOS within %u s", GST_ELEMENT_NAME(pipeline), timeout_s);
  if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
    std::string text = wc_error_text(msg);
    gst_message_unref(msg);
    fail("%s: ERROR before EOS: %s", GST_ELEMENT_NAME(pipeline), text.c_str());
  }
  gst_message_unref(msg);
}

GstMessage *wc_pop_error(GstBus *bus, guint timeout_ms)
{
  return gst_bus_timed_pop_filtered(bus, (GstClockTime)timeout_ms * GST_MSECOND, GST_MESSAGE_ERROR);
}

/* ------------------------------------------------------------- web errors */

void wc_expect_web_error(GstMessage *msg, const char *dom_exception, GQuark domain, gint code,
                         const char *constraint)
{
  fail_unless(msg != nullptr, "no message where a %s was expected", dom_exception);
  GError *err = nullptr;
  gchar *dbg = nullptr;
  const GstStructure *details = nullptr;
  if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_WARNING) {
    gst_message_parse_warning(msg, &err, &dbg);
    gst_message_parse_warning_details(msg, &details);
  } else {
    fail_unless(GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR, "%s message where a %s was expected",
                GST_MESSAGE_TYPE_NAME(msg), dom_exception);
    gst_message_parse_error(msg, &err, &dbg);
    gst_message_parse_error_details(msg, &details);
  }
  fail_unless(err != nullptr);
  if (domain != 0) {
    fail_unless(err->domain == domain, "error domain %s, expected %s",
                g_quark_to_string(err->domain), g_quark_to_string(domain));
    fail_unless(err->code == code, "error code %d, expected %d", err->code, code);
  }
  fail_unless(g_str_has_prefix(err->message, dom_exception), "message '%s' does not start with %s",
              err->message, dom_exception);
  fail_unless(details != nullptr, "the message has no details structure");
  const gchar *name = gst_structure_get_string(details, "dom-exception");
  fail_unless(name != nullptr, "details have no dom-exception string");
  fail_unless(g_str_equal(name, dom_exception), "dom-exception '%s', expected '%s'", name,
              dom_exception);
  if (constraint) {
    const gchar *c = gst_structure_get_string(details, "constraint");
    fail_unless(c != nullptr && g_str_equal(c, constraint), "constraint '%s', expected '%s'",
                c ? c : "(none)", constraint);
  }
  g_error_free(err);
  g_free(dbg);
}

/* ------------------------------------------------------------- track state */

bool wc_parse_track_state(GstEvent *event, bool *muted, std::string *label)
{
  gboolean m = FALSE;
  gchar *l = nullptr;
  if (!gst_media_stream_track_state_event_parse(event, &m, label ? &l : nullptr))
    return false;
  if (muted)
    *muted = m != FALSE;
  if (label)
    *label = l ? l : "";
  g_free(l);
  return true;
}

/* ------------------------------------------------------------------ frames */

WcRgba wc_pixel_at(GstBuffer *buf, GstCaps *caps, gint x, gint y)
{
  GstVideoInfo info;
  fail_unless(caps != nullptr && gst_video_info_from_caps(&info, caps), "frame without video caps");
  fail_unless(GST_VIDEO_INFO_IS_RGB(&info) && GST_VIDEO_INFO_COMP_DEPTH(&info, 0) == 8,
              "wc_pixel_at: %s is not an 8-bit RGB format", GST_VIDEO_INFO_NAME(&info));
  fail_unless(x >= 0 && y >= 0 && x < GST_VIDEO_INFO_WIDTH(&info) &&
                  y < GST_VIDEO_INFO_HEIGHT(&info),
              "pixel (%d, %d) outside a %dx%d frame", x, y, GST_VIDEO_INFO_WIDTH(&info),
              GST_VIDEO_INFO_HEIGHT(&info));
  GstVideoFrame frame;
  fail_unless(gst_video_frame_map(&frame, &info, buf, GST_MAP_READ), "cannot map the frame");
  /* Unpack the line to ARGB (the unpack format of every 8-bit RGB format). */
  std::vector<guint8> line(4 * (GST_VIDEO_INFO_WIDTH(&info) + 8));
  gpointer data[GST_VIDEO_MAX_PLANES];
  gint stride[GST_VIDEO_MAX_PLANES];
  for (guint i = 0; i < GST_VIDEO_FRAME_N_PLANES(&frame); i++) {
    data[i] = GST_VIDEO_FRAME_PLANE_DATA(&frame, i);
    stride[i] = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, i);
  }
  info.finfo->unpack_func(info.finfo, GST_VIDEO_PACK_FLAG_NONE, line.data(), data, stride, 0, y,
                          GST_VIDEO_INFO_WIDTH(&info));
  gst_video_frame_unmap(&frame);
  const guint8 *p = &line[4 * x];
  WcRgba px{p[1], p[2], p[3], p[0]};
  if (!GST_VIDEO_INFO_HAS_ALPHA(&info))
    px.a = 255;
  return px;
}

void wc_expect_frame_colour(GstBuffer *buf, GstCaps *caps, gint x, gint y, WcRgba expected,
                            guint tolerance, const char *what)
{
  WcRgba got = wc_pixel_at(buf, caps, x, y);
  auto near = [tolerance](int a, int b) { return (guint)std::abs(a - b) <= tolerance; };
  fail_unless(near(got.r, expected.r) && near(got.g, expected.g) && near(got.b, expected.b) &&
                  near(got.a, expected.a),
              "%s: pixel (%d, %d) is rgba(%u, %u, %u, %u), expected rgba(%u, %u, %u, %u) +- %u",
              what, x, y, got.r, got.g, got.b, got.a, expected.r, expected.g, expected.b,
              expected.a, tolerance);
}

/* ------------------------------------------------------------------- media */

static std::string temp_dir;
static pid_t temp_dir_owner = 0;

static void remove_temp_dir()
{
  /* Forked check tests run atexit handlers too: only the process that made
   * the directory removes it. */
  if (temp_dir.empty() || getpid() != temp_dir_owner)
    return;
  GDir *d = g_dir_open(temp_dir.c_str(), 0, nullptr);
  const gchar *n;
  while (d && (n = g_dir_read_name(d))) {
    g_autofree gchar *p = g_build_filename(temp_dir.c_str(), n, nullptr);
    g_remove(p);
  }
  if (d)
    g_dir_close(d);
  g_rmdir(temp_dir.c_str());
}

const std::string &wc_temp_dir()
{
  if (temp_dir.empty()) {
    GError *err = nullptr;
    gchar *dir = g_dir_make_tmp("webcapture-check-XXXXXX", &err);
    if (!dir)
      g_error("cannot make a temporary directory: %s", err->message);
    temp_dir = dir;
    g_free(dir);
    temp_dir_owner = getpid();
    atexit(remove_temp_dir);
  }
  return temp_dir;
}

std::string wc_temp_path(const char *name)
{
  g_autofree gchar *p = g_build_filename(wc_temp_dir().c_str(), name, nullptr);
  return p;
}

std::string wc_file_uri(const std::string &path)
{
  g_autofree gchar *u = gst_filename_to_uri(path.c_str(), nullptr);
  return u ? u : "";
}

std::string wc_make_media(const char *name, const char *launch_fmt)
{
  std::string path = wc_temp_path(name);
  if (g_file_test(path.c_str(), G_FILE_TEST_EXISTS))
    return path;
  /* In a gst-launch-1.0 process: a pipeline run here would leave idle
   * threads in GStreamer's task pool, which forked check tests inherit as
   * ghosts (a pad task pushed to one never runs). */
  std::string tmp = path + ".part";
  g_autofree gchar *quoted = g_shell_quote(tmp.c_str());
  g_autofree gchar *desc = g_strdup_printf(launch_fmt, quoted);
  g_autofree gchar *cmd = g_strdup_printf("gst-launch-1.0 -q %s", desc);
  gchar **argv = nullptr;
  GError *err = nullptr;
  if (!g_shell_parse_argv(cmd, nullptr, &argv, &err))
    g_error("cannot parse '%s': %s", cmd, err->message);
  gint status = 0;
  g_autofree gchar *err_out = nullptr;
  if (!g_spawn_sync(nullptr, argv, nullptr, G_SPAWN_SEARCH_PATH, nullptr, nullptr, nullptr,
                    &err_out, &status, &err))
    g_error("cannot run gst-launch-1.0: %s", err->message);
  g_strfreev(argv);
  if (!g_spawn_check_wait_status(status, nullptr) || !g_file_test(tmp.c_str(), G_FILE_TEST_EXISTS))
    g_error("making %s failed: %s\n%s", name, cmd, err_out ? err_out : "");
  if (g_rename(tmp.c_str(), path.c_str()) != 0)
    g_error("cannot rename %s", tmp.c_str());
  return path;
}

/* ---------------------------------------------------------- loopback HTTP */

WcHttpServer::WcHttpServer(std::string root) : root_(std::move(root))
{
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  fail_unless(listen_fd_ >= 0, "socket: %s", g_strerror(errno));
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  fail_unless(bind(listen_fd_, (sockaddr *)&addr, sizeof addr) == 0, "bind: %s", g_strerror(errno));
  fail_unless(listen(listen_fd_, 16) == 0, "listen: %s", g_strerror(errno));
  socklen_t len = sizeof addr;
  getsockname(listen_fd_, (sockaddr *)&addr, &len);
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { serve(); });
}

WcHttpServer::~WcHttpServer()
{
  stop();
}

std::string WcHttpServer::uri(const char *name) const
{
  return "http://127.0.0.1:" + std::to_string(port_) + "/" + name;
}

void WcHttpServer::stop()
{
  stop_ = true;
  if (thread_.joinable())
    thread_.join();
  if (listen_fd_ >= 0)
    close(listen_fd_);
  listen_fd_ = -1;
}

void WcHttpServer::serve()
{
  std::vector<std::thread> workers;
  std::vector<int> fds;
  while (!stop_) {
    pollfd pfd{listen_fd_, POLLIN, 0};
    if (poll(&pfd, 1, 100) <= 0)
      continue;
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0)
      continue;
    requests_++;
    fds.push_back(fd);
    workers.emplace_back([this, fd] { handle(fd); });
  }
  /* Wake workers blocked on a client that keeps its connection open. */
  for (int fd : fds)
    shutdown(fd, SHUT_RDWR);
  for (auto &w : workers)
    w.join();
  for (int fd : fds)
    close(fd);
}

static bool send_all(int fd, const char *data, size_t len)
{
  while (len > 0) {
    ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
    if (n <= 0)
      return false;
    data += n;
    len -= (size_t)n;
  }
  return true;
}

void WcHttpServer::handle(int fd)
{
  /* One request per connection is what souphttpsrc needs (it reconnects for
   * a seek); keep-alive requests on the same socket are served in a loop. */
  std::string in;
  char chunk[4096];
  while (!stop_) {
    size_t end;
    while ((end = in.find("\r\n\r\n")) == std::string::npos) {
      pollfd pfd{fd, POLLIN, 0};
      if (poll(&pfd, 1, 100) < 0)
        return;
      if (stop_)
        return;
      if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      ssize_t n = recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0)
        return;
      in.append(chunk, (size_t)n);
    }
    std::string head = in.substr(0, end);
    in.erase(0, end + 4);
    char method[16] = "", path[1024] = "";
    if (sscanf(head.c_str(), "%15s %1023s", method, path) != 2)
      return;
    std::string name = path[0] == '/' ? path + 1 : path;
    g_autofree gchar *file = g_build_filename(root_.c_str(), name.c_str(), nullptr);
    gchar *data = nullptr;
    gsize size = 0;
    if (name.find("..") != std::string::npos || !g_file_get_contents(file, &data, &size, nullptr)) {
      const char *nf = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
      send_all(fd, nf, strlen(nf));
      continue;
    }
    gsize from = 0, to = size ? size - 1 : 0;
    bool range = false;
    g_autofree gchar *lower = g_ascii_strdown(head.c_str(), -1);
    const char *r = strstr(lower, "\r\nrange: bytes=");
    if (r && size > 0) {
      unsigned long long a = 0, b = 0;
      int got = sscanf(r + strlen("\r\nrange: bytes="), "%llu-%llu", &a, &b);
      if (got >= 1 && a < size) {
        range = true;
        from = (gsize)a;
        if (got == 2 && b < size && b >= a)
          to = (gsize)b;
      }
    }
    gsize len = size ? to - from + 1 : 0;
    g_autofree gchar *hdr =
        range ? g_strdup_printf("HTTP/1.1 206 Partial Content\r\nContent-Length: %" G_GSIZE_FORMAT
                                "\r\nContent-Range: bytes %" G_GSIZE_FORMAT "-%" G_GSIZE_FORMAT
                                "/%" G_GSIZE_FORMAT "\r\nAccept-Ranges: bytes\r\n"
                                "Content-Type: application/octet-stream\r\n\r\n",
                                len, from, to, size)
              : g_strdup_printf("HTTP/1.1 200 OK\r\nContent-Length: %" G_GSIZE_FORMAT
                                "\r\nAccept-Ranges: bytes\r\n"
                                "Content-Type: application/octet-stream\r\n\r\n",
                                len);
    bool ok = send_all(fd, hdr, strlen(hdr));
    if (ok && g_str_equal(method, "GET"))
      ok = send_all(fd, data + from, len);
    g_free(data);
    if (!ok)
      return;
  }
}
