/* Shared test support for the gst-check suites of tests/check.
 *
 * Every helper fails the running check test (fail_unless) with a message
 * naming what was expected; waits are bounded with generous limits, never
 * exact timings, because the suites run on loaded machines.
 *
 *   waits            wc_wait_until, wc_sleep_ms, WcWatchdog
 *   elements         wc_have_elements, WC_REQUIRE_ELEMENTS
 *   typed getters    wc_get_bool/int/uint/double/string, wc_get_structure
 *   harness          wc_pull, wc_pull_event (pull with a timeout)
 *   pipelines        wc_set_state_sync, wc_run_to_eos, wc_pop_error, wc_error_text
 *   web errors       wc_expect_web_error (dom-exception details, see gst/common)
 *   track state      wc_parse_track_state (through gst/common's parser)
 *   constraints      wc_apply_constraints (mediastreambin track pads, bounded wait)
 *   frames           wc_pixel_at, wc_expect_frame_colour (any 8-bit RGB format)
 *   media            wc_temp_dir, wc_make_media, wc_file_uri
 *   loopback HTTP    WcHttpServer (files of a directory, Range requests, 127.0.0.1)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* C++ headers first: gst-check defines a fail() macro that std::ios uses. */
#include <atomic>
#include <condition_variable>
#include <functional>
#include <initializer_list>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>

/* ---------------------------------------------------------------- suites */

/* A new TCase @name in @suite with a timeout of @timeout_s (a hang fails that
 * case, not the suite). Name cases after rule IDs ("CC-8") or contracts, so
 * CK_RUN_CASE=<name> runs one. */
TCase *wc_add_case(Suite *suite, const char *name, guint timeout_s);

/* ------------------------------------------------------------------ waits */

/* Polls @pred every @poll_ms until it is true or @timeout_ms passed; returns
 * the last value of @pred. */
bool wc_wait_until(const std::function<bool()> &pred, guint timeout_ms, guint poll_ms = 5);
void wc_sleep_ms(guint ms);

/* Aborts the process (the check fork fails, named by the test) when not
 * disarmed within @seconds: for deadlocks, which no assertion can catch.
 * The message is printed first, with @what. */
class WcWatchdog
{
public:
  WcWatchdog(guint seconds, std::string what);
  ~WcWatchdog();
  void disarm();
  void rearm(guint seconds, std::string what);

private:
  void run();
  std::mutex m_;
  std::condition_variable cv_;
  bool stop_ = false;
  gint64 deadline_us_ = 0;
  std::string what_;
  std::thread thread_;
};

/* --------------------------------------------------------------- elements */

/* TRUE when every factory exists; else @missing (if given) names the first
 * one missing. */
bool wc_have_elements(std::initializer_list<const char *> factories,
                      std::string *missing = nullptr);

/* Skips the rest of the test (prints why) when an element is missing. */
#define WC_REQUIRE_ELEMENTS(...)                                                                   \
  do {                                                                                             \
    std::string wc_missing_;                                                                       \
    if (!wc_have_elements({__VA_ARGS__}, &wc_missing_)) {                                          \
      g_print("%s: skipped, element '%s' is not installed\n", G_STRFUNC, wc_missing_.c_str());     \
      return;                                                                                      \
    }                                                                                              \
  } while (0)

/* ---------------------------------------------------------- typed getters */

bool wc_get_bool(gpointer object, const char *property);
gint wc_get_int(gpointer object, const char *property);
guint wc_get_uint(gpointer object, const char *property);
gdouble wc_get_double(gpointer object, const char *property);
std::string wc_get_string(gpointer object, const char *property); /* "" for NULL */
/* transfer full, may be NULL */
GstStructure *wc_get_structure(gpointer object, const char *property);

/* Emits @signal on a mediastreambin track pad: "apply-constraints" with @text
 * parsed as a GstStructure, or "apply-constraints-json" with @text as JSON;
 * waits (bounded, 20 s) for the promise's reply and returns a copy of it
 * (free with gst_structure_free). */
GstStructure *wc_apply_constraints(GstPad *track, const char *signal, const char *text);

/* ----------------------------------------------------------------- harness */

/* The next buffer of @h within @timeout_ms, or nullptr. */
GstBuffer *wc_pull(GstHarness *h, guint timeout_ms);
/* The next event of @h within @timeout_ms, or nullptr. */
GstEvent *wc_pull_event(GstHarness *h, guint timeout_ms);

/* --------------------------------------------------------------- pipelines */

/* Sets @element to @state and waits up to @timeout_s for the change to
 * complete (NO_PREROLL counts as complete); fails the test otherwise. */
void wc_set_state_sync(GstElement *element, GstState state, guint timeout_s = 20);

/* "<message> (<debug>)" of an ERROR or WARNING message. */
std::string wc_error_text(GstMessage *msg);

/* Plays @pipeline until EOS; fails on an ERROR message or after @timeout_s.
 * Leaves the pipeline PLAYING (the caller sets NULL). */
void wc_run_to_eos(GstElement *pipeline, guint timeout_s = 30);

/* The first ERROR on @bus within @timeout_ms (transfer full), or nullptr. */
GstMessage *wc_pop_error(GstBus *bus, guint timeout_ms);

/* ------------------------------------------------------------- web errors */

/* @msg is an ERROR (or WARNING) of the project's web-error language: the text
 * starts with @dom_exception and the details carry dom-exception (and
 * constraint= when @constraint is given). @domain / @code are checked when
 * @domain is not 0. */
void wc_expect_web_error(GstMessage *msg, const char *dom_exception, GQuark domain = 0,
                         gint code = 0, const char *constraint = nullptr);

/* ------------------------------------------------------------- track state */

/* TRUE when @event is the mediastream-track-state event; fills @muted and
 * @label (when not NULL; "" without a label field). */
bool wc_parse_track_state(GstEvent *event, bool *muted, std::string *label = nullptr);

/* ------------------------------------------------------------------ frames */

struct WcRgba {
  guint8 r, g, b, a;
};

/* The pixel (x, y) of @buf (8-bit RGB family format described by @caps),
 * straight alpha as stored. Fails the test for other formats. */
WcRgba wc_pixel_at(GstBuffer *buf, GstCaps *caps, gint x, gint y);

/* Every channel of pixel (x, y) within @tolerance of @expected. */
void wc_expect_frame_colour(GstBuffer *buf, GstCaps *caps, gint x, gint y, WcRgba expected,
                            guint tolerance, const char *what);

/* ------------------------------------------------------------------- media */

/* A directory made for this process (removed with its files at exit). */
const std::string &wc_temp_dir();
std::string wc_temp_path(const char *name);
std::string wc_file_uri(const std::string &path);

/* Runs gst-launch description @launch_fmt (one %s: the output path) to EOS
 * into wc_temp_path(@name) unless it exists; returns the path. Runs in a
 * gst-launch-1.0 process (no GStreamer thread left in this one, so tests
 * forked later start clean). Usable outside a test (g_error on failure). */
std::string wc_make_media(const char *name, const char *launch_fmt);

/* ---------------------------------------------------------- loopback HTTP */

/* An HTTP/1.1 server on 127.0.0.1 (a free port) serving the files of a
 * directory, with Range requests (206) so demuxers can seek. One thread
 * accepts and serves; stop() (or the destructor) joins it. */
class WcHttpServer
{
public:
  explicit WcHttpServer(std::string root);
  ~WcHttpServer();
  guint16 port() const { return port_; }
  std::string uri(const char *name) const;
  /* Requests served so far. */
  int requests() const { return requests_.load(); }
  void stop();

private:
  void serve();
  void handle(int fd);
  std::string root_;
  int listen_fd_ = -1;
  guint16 port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
};
