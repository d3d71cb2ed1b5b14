/* Unit tests for canvascapturesrc against its page, docs/plugins/canvascapturesrc.md:
 * the canvas capture rules CC-1..CC-11 (one TCase each: CK_RUN_CASE=CC-8), then
 * offline rendering, location, stats, timing and threads.
 *
 * Most tests drive the element through a GstHarness. The harness gives the
 * element a GstTestClock: ticks (frame-rate > 0) and idle heartbeats only
 * advance when a test cranks the clock, so frame-rate behaviour is
 * deterministic. "No frame" assertions are made deterministic with a marker:
 * after the actions that must not produce a frame, the test does something that
 * must, and checks that the next frame is the marker (or, for ticks, waits for
 * the element to wait on the clock again and drains the queue, where only
 * the idle heartbeat's repeats, flagged GAP, may be). */

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/check/gsttestclock.h>
#include <gst/video/video.h>

#include <cairo-gobject.h>
#include <cairo.h>

#include <glib/gstdio.h>

#include "webcapture-check.h"

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace
{

constexpr gint64 kTimeoutMs = 5000;

struct Rgba {
  double r, g, b, a;
};

constexpr Rgba kRed{1, 0, 0, 1};
constexpr Rgba kGreen{0, 1, 0, 1};
constexpr Rgba kBlue{0, 0, 1, 1};
constexpr Rgba kYellow{1, 1, 0, 1};
constexpr Rgba kMagenta{1, 0, 1, 1};

/* One output pixel as stored in memory: B, G, R, A (or x). */
struct Pixel {
  int b, g, r, a;
};

GstHarness *new_harness()
{
  GstHarness *h = gst_harness_new_with_padnames("canvascapturesrc", nullptr, "src");
  fail_unless(h != nullptr, "could not create canvascapturesrc");
  return h;
}

/* begin-draw / paint / end-draw from the calling (application) thread. */
void paint(GstElement *el, const Rgba &c, cairo_operator_t op = CAIRO_OPERATOR_SOURCE)
{
  cairo_t *cr = nullptr;
  g_signal_emit_by_name(el, "begin-draw", &cr);
  fail_unless(cr != nullptr, "begin-draw returned NULL on an application thread");
  cairo_set_operator(cr, op);
  cairo_set_source_rgba(cr, c.r, c.g, c.b, c.a);
  cairo_paint(cr);
  g_signal_emit_by_name(el, "end-draw", cr);
  cairo_destroy(cr);
}

/* begin-draw + end-draw without drawing anything: "the canvas now has new
 * content" without changing pixels. */
void touch(GstElement *el)
{
  cairo_t *cr = nullptr;
  g_signal_emit_by_name(el, "begin-draw", &cr);
  fail_unless(cr != nullptr, "begin-draw returned NULL on an application thread");
  g_signal_emit_by_name(el, "end-draw", cr);
  cairo_destroy(cr);
}

void request_frame(GstElement *el)
{
  g_signal_emit_by_name(el, "request-frame");
}

/* Any buffer, heartbeat repeats included. */
GstBuffer *pull_any(GstHarness *h, gint64 timeout_ms = kTimeoutMs)
{
  return wc_pull(h, timeout_ms > 0 ? (guint)timeout_ms : 0);
}

bool is_heartbeat(GstBuffer *buf)
{
  return GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_GAP);
}

/* The next captured (or refreshed) frame: the idle heartbeat's repeats of the
 * last frame, flagged GAP, are skipped. */
GstBuffer *pull(GstHarness *h, gint64 timeout_ms = kTimeoutMs)
{
  const gint64 end = g_get_monotonic_time() + timeout_ms * 1000;
  for (;;) {
    GstBuffer *buf = pull_any(h, (end - g_get_monotonic_time()) / 1000);
    if (!buf || !is_heartbeat(buf))
      return buf;
    gst_buffer_unref(buf);
  }
}

/* Drains the queue: only heartbeat repeats may be there. Returns how many. */
int assert_no_frame_queued(GstHarness *h, const char *what)
{
  int n = 0;
  while (GstBuffer *buf = gst_harness_try_pull(h)) {
    bool heartbeat = is_heartbeat(buf);
    GstClockTime pts = GST_BUFFER_PTS(buf);
    gst_buffer_unref(buf);
    fail_unless(heartbeat, "%s: unexpected frame at %" GST_TIME_FORMAT, what, GST_TIME_ARGS(pts));
    n++;
  }
  return n;
}

GstBuffer *pull_checked(GstHarness *h, const char *what)
{
  GstBuffer *buf = pull(h);
  fail_unless(buf != nullptr, "no frame within %d ms: %s", (int)kTimeoutMs, what);
  return buf;
}

/* Pops events until one matches @pred (the others are dropped). */
template <typename Pred>
GstEvent *wait_event(GstHarness *h, Pred pred, gint64 timeout_ms = kTimeoutMs)
{
  GstEvent *found = nullptr;
  wc_wait_until(
      [&] {
        while (GstEvent *ev = gst_harness_try_pull_event(h)) {
          if (pred(ev)) {
            found = ev;
            return true;
          }
          gst_event_unref(ev);
        }
        return false;
      },
      timeout_ms > 0 ? (guint)timeout_ms : 0, 1);
  return found;
}

GstEvent *wait_event_type(GstHarness *h, GstEventType type, gint64 timeout_ms = kTimeoutMs)
{
  return wait_event(
      h, [type](GstEvent *ev) { return GST_EVENT_TYPE(ev) == type; }, timeout_ms);
}

/* The mediastream-track-state event, parsed by gst/common. */
bool is_track_state(GstEvent *ev)
{
  bool muted;
  return wc_parse_track_state(ev, &muted);
}

bool track_state_muted(GstEvent *ev)
{
  bool muted = false;
  fail_unless(wc_parse_track_state(ev, &muted), "not a track-state event with a 'muted' field");
  return muted;
}

GstCaps *current_caps(GstHarness *h)
{
  GstCaps *caps = gst_pad_get_current_caps(h->sinkpad);
  fail_unless(caps != nullptr, "no caps negotiated");
  return caps;
}

Pixel pixel_at(GstHarness *h, GstBuffer *buf, int x, int y)
{
  GstCaps *caps = current_caps(h);
  GstVideoInfo info;
  fail_unless(gst_video_info_from_caps(&info, caps));
  gst_caps_unref(caps);
  GstVideoFrame frame;
  fail_unless(gst_video_frame_map(&frame, &info, buf, GST_MAP_READ), "cannot map frame");
  fail_unless(x < GST_VIDEO_FRAME_WIDTH(&frame) && y < GST_VIDEO_FRAME_HEIGHT(&frame));
  const guint8 *row = static_cast<const guint8 *>(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0)) +
                      y * GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0);
  const guint8 *p = row + 4 * x;
  Pixel px{p[0], p[1], p[2], p[3]};
  gst_video_frame_unmap(&frame);
  return px;
}

/* Expected BGRA bytes of an opaque Cairo colour. */
Pixel opaque(const Rgba &c)
{
  auto to8 = [](double v) {
    return static_cast<int>(static_cast<unsigned>(v * 65535.0 + 0.5) >> 8);
  };
  return Pixel{to8(c.b), to8(c.g), to8(c.r), 255};
}

void assert_pixel(const Pixel &got, const Pixel &want, int tol, bool check_alpha, const char *what)
{
  bool ok = std::abs(got.b - want.b) <= tol && std::abs(got.g - want.g) <= tol &&
            std::abs(got.r - want.r) <= tol && (!check_alpha || std::abs(got.a - want.a) <= tol);
  fail_unless(ok, "%s: got B=%d G=%d R=%d A=%d, expected B=%d G=%d R=%d A=%d (+-%d)", what, got.b,
              got.g, got.r, got.a, want.b, want.g, want.r, want.a, tol);
}

void assert_frame_colour(GstHarness *h, GstBuffer *buf, const Rgba &c, const char *what)
{
  assert_pixel(pixel_at(h, buf, 10, 10), opaque(c), 1, true, what);
}

/* The next frame (pull_checked: @what) has colour @c (assert_frame_colour:
 * @colour_what, else @what). */
void expect_frame(GstHarness *h, const Rgba &c, const char *what, const char *colour_what = nullptr)
{
  GstBuffer *buf = pull_checked(h, what);
  assert_frame_colour(h, buf, c, colour_what ? colour_what : what);
  gst_buffer_unref(buf);
}

guint64 stat(GstElement *el, const char *field)
{
  GstStructure *s = wc_get_structure(el, "stats");
  fail_unless(s != nullptr, "stats is NULL");
  guint64 v = 0;
  fail_unless(gst_structure_get_uint64(s, field, &v), "stats has no guint64 field '%s'", field);
  gst_structure_free(s);
  return v;
}

/* Releases the element's next clock wait (a tick or heartbeat), advancing the
 * test clock to it; returns its time (= running time, base time 0). */
GstClockTime next_wait_time(GstHarness *h)
{
  fail_unless(gst_harness_wait_for_clock_id_waits(h, 1, kTimeoutMs / 1000),
              "the element does not wait on the clock");
  GstTestClock *tc = gst_harness_get_testclock(h);
  GstClockID id = nullptr;
  fail_unless(gst_test_clock_peek_next_pending_id(tc, &id));
  GstClockTime t = gst_clock_id_get_time(id);
  gst_clock_id_unref(id);
  gst_object_unref(tc);
  return t;
}

GstClockTime crank(GstHarness *h)
{
  GstClockTime t = next_wait_time(h);
  fail_unless(gst_harness_crank_single_clock_wait(h));
  return t;
}

/* Returns once the element has finished with the last released wait and is
 * waiting on the clock again: whatever that tick produced has been pushed. */
void sync_clock_wait(GstHarness *h)
{
  fail_unless(gst_harness_wait_for_clock_id_waits(h, 1, kTimeoutMs / 1000),
              "the element does not wait on the clock again");
}

/* Gives the streaming thread the chance to act on what the test just did
 * before the next step, so that a wrong frame cannot hide by being coalesced
 * with the next drawing: returns once the element waits on the clock again
 * (idle heartbeat or tick), or after 1 s. Asserts nothing. */
void settle(GstHarness *h)
{
  gst_harness_wait_for_clock_id_waits(h, 1, 1);
}

/* Records draw emissions; optionally paints a colour and returns TRUE. */
struct DrawRecorder {
  std::mutex lock;
  std::condition_variable cond;
  std::vector<guint64> running_times;
  /* Paint and return TRUE at the emission for this running time, at the next
   * emission (paint_next), or always. */
  GstClockTime paint_time = GST_CLOCK_TIME_NONE;
  bool paint_next = false;
  bool paint_always = false;
  Rgba colour = kMagenta;
  /* The element to try begin-draw on from inside the handler (re-entrancy). */
  GstElement *reenter = nullptr;
  int reenter_null = 0;
  int reenter_non_null = 0;

  guint64 at(size_t i)
  {
    std::lock_guard<std::mutex> g(lock);
    fail_unless(i < running_times.size());
    return running_times[i];
  }

  size_t count()
  {
    std::lock_guard<std::mutex> g(lock);
    return running_times.size();
  }

  /* Waits for the emission at running time @t. */
  bool wait_time(GstClockTime t, gint64 timeout_ms = kTimeoutMs)
  {
    std::unique_lock<std::mutex> g(lock);
    return cond.wait_for(g, std::chrono::milliseconds(timeout_ms), [&] {
      for (guint64 v : running_times)
        if (v == t)
          return true;
      return false;
    });
  }

  bool wait_count(size_t n, gint64 timeout_ms = kTimeoutMs)
  {
    std::unique_lock<std::mutex> g(lock);
    return cond.wait_for(g, std::chrono::milliseconds(timeout_ms),
                         [&] { return running_times.size() >= n; });
  }
};

gboolean on_draw(GstElement *, cairo_t *cr, guint64 running_time, gpointer user_data)
{
  auto *rec = static_cast<DrawRecorder *>(user_data);
  gboolean drew = FALSE;
  bool paint_now;
  GstElement *reenter;
  {
    std::lock_guard<std::mutex> g(rec->lock);
    paint_now = rec->paint_always || rec->paint_next || running_time == rec->paint_time;
    rec->paint_next = false;
    reenter = rec->reenter;
  }
  if (reenter) {
    cairo_t *inner = nullptr;
    g_signal_emit_by_name(reenter, "begin-draw", &inner);
    std::lock_guard<std::mutex> g(rec->lock);
    if (inner) {
      rec->reenter_non_null++;
      g_signal_emit_by_name(reenter, "end-draw", inner);
      cairo_destroy(inner);
    } else {
      rec->reenter_null++;
    }
  }
  if (paint_now) {
    fail_unless(cr != nullptr, "draw emitted with a NULL cairo_t");
    cairo_set_operator(cr, CAIRO_OPERATOR_SOURCE);
    cairo_set_source_rgba(cr, rec->colour.r, rec->colour.g, rec->colour.b, rec->colour.a);
    cairo_paint(cr);
    drew = TRUE;
  }
  {
    std::lock_guard<std::mutex> g(rec->lock);
    rec->running_times.push_back(running_time);
  }
  rec->cond.notify_all();
  return drew;
}

/* Sets @el to PLAYING outside a harness with its own bus; expects the state
 * change to fail and returns the first ERROR message (caller unrefs). */
GstMessage *start_expect_error(GstElement *el, GstBus *bus)
{
  GstStateChangeReturn ret = gst_element_set_state(el, GST_STATE_PLAYING);
  if (ret == GST_STATE_CHANGE_ASYNC)
    ret = gst_element_get_state(el, nullptr, nullptr, 5 * GST_SECOND);
  fail_unless_equals_int(ret, GST_STATE_CHANGE_FAILURE);
  GstMessage *msg = gst_bus_timed_pop_filtered(bus, 5 * GST_SECOND, GST_MESSAGE_ERROR);
  fail_unless(msg != nullptr, "no ERROR message posted");
  return msg;
}

/* Runs @el to PLAYING with a frame-rate that must be refused. */
void check_rate_refused(double rate, const char *dom_exception)
{
  GstElement *el = gst_element_factory_make("canvascapturesrc", nullptr);
  fail_unless(el != nullptr);
  GstBus *bus = gst_bus_new();
  gst_element_set_bus(el, bus);
  g_object_set(el, "frame-rate", rate, nullptr);
  GstMessage *msg = start_expect_error(el, bus);
  wc_expect_web_error(msg, dom_exception, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS);
  gst_message_unref(msg);
  fail_unless_equals_int(gst_element_set_state(el, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
  gst_element_set_bus(el, nullptr);
  gst_object_unref(bus);
  gst_object_unref(el);
}

} // namespace

/* ---------------------------------------------------------------- CC-1 --- */

GST_START_TEST(test_defaults_and_pads)
{
  GstElement *el = gst_element_factory_make("canvascapturesrc", nullptr);
  fail_unless(el != nullptr);
  gint width = 0, height = 0;
  gdouble rate = 0;
  gboolean alpha = FALSE, origin_clean = FALSE, muted = TRUE, is_live = FALSE;
  guint refresh = 1;
  g_object_get(el, "width", &width, "height", &height, "frame-rate", &rate, "alpha", &alpha,
               "origin-clean", &origin_clean, "muted", &muted, "is-live", &is_live,
               "refresh-interval", &refresh, nullptr);
  fail_unless_equals_int(width, 300);
  fail_unless_equals_int(height, 150);
  fail_unless(rate == -1.0, "default frame-rate %f, expected -1", rate);
  fail_unless(alpha);
  fail_unless(origin_clean);
  fail_unless(!muted);
  fail_unless(is_live);
  fail_unless_equals_int(refresh, 0);

  GParamSpec *pspec = g_object_class_find_property(G_OBJECT_GET_CLASS(el), "muted");
  fail_unless(pspec && (pspec->flags & G_PARAM_READABLE) && !(pspec->flags & G_PARAM_WRITABLE),
              "muted must be read-only");
  pspec = g_object_class_find_property(G_OBJECT_GET_CLASS(el), "stats");
  fail_unless(pspec && !(pspec->flags & G_PARAM_WRITABLE), "stats must be read-only");
  fail_unless(g_object_class_find_property(G_OBJECT_GET_CLASS(el), "num-buffers") != nullptr,
              "not a GstBaseSrc");
  fail_unless(g_object_class_find_property(G_OBJECT_GET_CLASS(el), "location") != nullptr);

  /* CC-1: exactly one (video) src pad, no sink pad. */
  fail_unless_equals_int(el->numsrcpads, 1);
  fail_unless_equals_int(el->numsinkpads, 0);
  GstPad *src = gst_element_get_static_pad(el, "src");
  fail_unless(src != nullptr);
  gst_object_unref(src);
  gst_object_unref(el);
}
GST_END_TEST;

static void check_caps(GstCaps *caps, const char *format, int width, int height, int fps_n,
                       int max_n)
{
  fail_unless(gst_caps_is_fixed(caps), "caps not fixed: %" GST_PTR_FORMAT, caps);
  const GstStructure *s = gst_caps_get_structure(caps, 0);
  fail_unless(gst_structure_has_name(s, "video/x-raw"));
  fail_unless_equals_string(gst_structure_get_string(s, "format"), format);
  gint w = 0, hh = 0, n = 0, d = 0;
  fail_unless(gst_structure_get_int(s, "width", &w) && gst_structure_get_int(s, "height", &hh));
  fail_unless_equals_int(w, width);
  fail_unless_equals_int(hh, height);
  fail_unless(gst_structure_get_fraction(s, "pixel-aspect-ratio", &n, &d), "no par");
  fail_unless(n == 1 && d == 1, "par %d/%d", n, d);
  fail_unless(gst_structure_get_fraction(s, "framerate", &n, &d), "no framerate");
  fail_unless(n == fps_n && d == 1, "framerate %d/%d, expected %d/1", n, d, fps_n);
  if (max_n > 0) {
    fail_unless(gst_structure_get_fraction(s, "max-framerate", &n, &d),
                "no max-framerate: %" GST_PTR_FORMAT, caps);
    fail_unless(n == max_n * d, "max-framerate %d/%d, expected %d", n, d, max_n);
  }
}

GST_START_TEST(test_caps_live_default)
{
  GstHarness *h = new_harness();
  gst_harness_play(h);
  paint(h->element, kRed);
  GstBuffer *buf = pull_checked(h, "first end-draw");
  GstCaps *caps = current_caps(h);
  check_caps(caps, "BGRA", 300, 150, 0, 0);
  gst_caps_unref(caps);
  fail_unless(gst_buffer_get_size(buf) >= 300u * 150u * 4u);
  gst_buffer_unref(buf);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_caps_live_rate_and_size)
{
  GstHarness *h = new_harness();
  g_object_set(h->element, "frame-rate", 10.0, "width", 64, "height", 48, "alpha", FALSE, nullptr);
  gst_harness_play(h);
  paint(h->element, kRed);
  GstBuffer *buf = pull_checked(h, "first end-draw at rate 10");
  GstCaps *caps = current_caps(h);
  check_caps(caps, "BGRx", 64, 48, 0, 10);
  gst_caps_unref(caps);
  gst_buffer_unref(buf);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* ---------------------------------------------------------------- CC-5 --- */

GST_START_TEST(test_initial_request)
{
  /* frameCaptureRequested is set when the track starts: at rate 0, what was
   * drawn before the start is the first frame, with no request-frame. */
  GstHarness *h = new_harness();
  g_object_set(h->element, "frame-rate", 0.0, nullptr);
  paint(h->element, kGreen); /* in NULL */
  gst_harness_play(h);
  expect_frame(h, kGreen, "drawing from before the start");
  /* The request is used up: the next drawing waits for request-frame. */
  paint(h->element, kRed);
  settle(h);
  assert_no_frame_queued(h, "second drawing without request-frame at rate 0");
  gst_harness_teardown(h);
}
GST_END_TEST;

/* --------------------------------------------------------------- CC-11 --- */

namespace
{
gpointer request_frame_thread(gpointer data)
{
  request_frame(static_cast<GstElement *>(data));
  return nullptr;
}
} // namespace

GST_START_TEST(test_request_frame_any_thread)
{
  /* request-frame from another application thread captures what was drawn
   * (end-draw then request-frame, CC-11) and is counted. */
  GstHarness *h = new_harness();
  g_object_set(h->element, "frame-rate", 0.0, nullptr);
  gst_harness_play(h);
  paint(h->element, kRed);
  GstBuffer *buf = pull_checked(h, "initial request");
  gst_buffer_unref(buf);
  paint(h->element, kBlue);
  g_thread_join(g_thread_new("request-frame", request_frame_thread, h->element));
  expect_frame(h, kBlue, "request-frame from another thread");
  fail_unless_equals_uint64(stat(h->element, "requests"), 1);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* --------------------------------------------------------- CC-7 / CC-9 --- */

GST_START_TEST(test_static_canvas_no_frame)
{
  /* rate 10 on the test clock: ticks with an untouched canvas give no frame
   * (CC-9), even though the initial request is pending (CC-5). */
  GstHarness *h = new_harness();
  DrawRecorder rec;
  g_object_set(h->element, "frame-rate", 10.0, nullptr);
  g_signal_connect(h->element, "draw", G_CALLBACK(on_draw), &rec);
  gst_harness_play(h);
  for (int i = 0; i < 3; i++) {
    GstClockTime t = crank(h);
    fail_unless(rec.wait_time(t), "tick %d: draw not emitted", i);
  }
  sync_clock_wait(h);
  fail_unless_equals_int(gst_harness_buffers_received(h), 0);
  /* A request-frame on a static canvas is not new content either: the first
   * frame is the first drawing. */
  request_frame(h->element);
  paint(h->element, kRed);
  expect_frame(h, kRed, "first drawing after idle ticks", "first frame is the first drawing");
  fail_unless_equals_uint64(stat(h->element, "frames-captured"), 1);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_static_canvas_no_frame_unset_rate)
{
  GstHarness *h = new_harness();
  gst_harness_play(h);
  request_frame(h->element); /* a paint without new content */
  request_frame(h->element);
  settle(h);
  paint(h->element, kGreen);
  expect_frame(h, kGreen, "first drawing", "no frame of the untouched canvas before the drawing");
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_rate_zero_requests)
{
  GstHarness *h = new_harness();
  DrawRecorder rec;
  g_object_set(h->element, "frame-rate", 0.0, nullptr);
  g_signal_connect(h->element, "draw", G_CALLBACK(on_draw), &rec);
  gst_harness_play(h);

  /* CC-5: the initial request captures the first drawing even at rate 0. */
  paint(h->element, kRed);
  expect_frame(h, kRed, "first end-draw at rate 0 (initial request)", "initial request");

  /* CC-7: further drawings give nothing until request-frame, which then
   * captures the latest drawing (end-draw then request-frame). */
  paint(h->element, kGreen);
  settle(h);
  paint(h->element, kBlue);
  settle(h);
  request_frame(h->element);
  expect_frame(h, kBlue, "request-frame after drawing",
               "end-draw then request-frame captures the drawing");

  /* request-frame then draw: the next drawing is captured. */
  request_frame(h->element);
  paint(h->element, kYellow);
  expect_frame(h, kYellow, "drawing after request-frame", "request-frame then draw");

  /* The request was consumed: another drawing is not captured until the
   * next request, and then the draw handler's own content wins. */
  paint(h->element, kGreen);
  settle(h);
  {
    std::lock_guard<std::mutex> g(rec.lock);
    rec.paint_next = true;
    rec.colour = kMagenta;
  }
  request_frame(h->element);
  expect_frame(h, kMagenta, "request-frame with a drawing draw handler",
               "draw handler content captured on request-frame");
  fail_unless(rec.count() >= 3, "draw emitted %u times for 3 request-frames", (guint)rec.count());
  assert_no_frame_queued(h, "no new content");
  gst_harness_teardown(h);
}
GST_END_TEST;

/* ---------------------------------------------------------------- CC-8 --- */

GST_START_TEST(test_unset_rate_every_paint)
{
  GstHarness *h = new_harness();
  gst_harness_play(h);
  const Rgba colours[] = {kRed, kGreen, kBlue, kRed};
  GstClockTime t = 200 * GST_MSECOND;
  for (const Rgba &c : colours) {
    /* Live PTS = running time (test clock, base time 0) at the paint. */
    gst_harness_set_time(h, t);
    paint(h->element, c);
    GstBuffer *buf = pull_checked(h, "end-draw at frame-rate -1");
    assert_frame_colour(h, buf, c, "every end-draw is captured");
    fail_unless_equals_uint64(GST_BUFFER_PTS(buf), t);
    fail_unless(!GST_BUFFER_DURATION_IS_VALID(buf), "live frames have no duration");
    gst_buffer_unref(buf);
    t += 100 * GST_MSECOND;
  }
  fail_unless_equals_uint64(stat(h->element, "frames-captured"), 4);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* ---------------------------------------------------------------- CC-6 --- */

GST_START_TEST(test_rate_ticks)
{
  GstHarness *h = new_harness();
  DrawRecorder rec;
  const GstClockTime period = GST_SECOND / 10;
  g_object_set(h->element, "frame-rate", 10.0, nullptr);
  g_signal_connect(h->element, "draw", G_CALLBACK(on_draw), &rec);
  gst_harness_play(h);

  /* Initial request: the first drawing is captured at once. */
  paint(h->element, kRed);
  expect_frame(h, kRed, "first drawing at rate 10", "first drawing");

  /* The request is consumed: two more drawings wait for the next tick, which
   * captures only the latest (at most one frame per tick). */
  paint(h->element, kGreen);
  sync_clock_wait(h);
  paint(h->element, kBlue);
  sync_clock_wait(h);
  GstClockTime t = crank(h);
  GstBuffer *buf = pull_checked(h, "tick after drawings");
  assert_frame_colour(h, buf, kBlue, "one frame per tick, the latest drawing");
  fail_unless(rec.wait_time(t), "draw not emitted at the tick");
  fail_unless_equals_uint64(GST_BUFFER_PTS(buf), t);
  gst_buffer_unref(buf);

  /* A tick without new content: no frame. */
  crank(h);
  sync_clock_wait(h);
  assert_no_frame_queued(h, "no new content");
  /* That tick set the request flag: the next drawing is captured at once. */
  paint(h->element, kYellow);
  expect_frame(h, kYellow, "drawing after an idle tick", "no duplicate frame at the idle tick");

  /* The draw handler drawing at a tick (returns TRUE) gives a frame with its
   * content; returning FALSE gives none. */
  crank(h); /* returns FALSE */
  sync_clock_wait(h);
  assert_no_frame_queued(h, "no new content");
  {
    std::lock_guard<std::mutex> g(rec.lock);
    rec.paint_next = true;
    rec.colour = kMagenta;
  }
  /* The next clock wait may be an idle heartbeat rather than the tick: crank
   * until the tick has drawn. */
  buf = nullptr;
  for (int i = 0; i < 3 && !buf; i++) {
    t = crank(h);
    sync_clock_wait(h);
    buf = pull(h, 0);
  }
  fail_unless(buf != nullptr, "no frame from a tick whose draw handler returned TRUE");
  assert_frame_colour(h, buf, kMagenta, "draw handler content");
  fail_unless(t % period == 0, "frame at %" GST_TIME_FORMAT " is not a tick", GST_TIME_ARGS(t));
  fail_unless_equals_uint64(GST_BUFFER_PTS(buf), t);
  gst_buffer_unref(buf);
  sync_clock_wait(h);
  assert_no_frame_queued(h, "no new content");

  /* Ticks on the running-time grid k/rate, one after the other. */
  std::lock_guard<std::mutex> g(rec.lock);
  fail_unless(rec.running_times.size() >= 4);
  for (size_t i = 0; i < rec.running_times.size(); i++) {
    fail_unless(rec.running_times[i] % period == 0, "tick %u at %" GST_TIME_FORMAT " off the grid",
                (guint)i, GST_TIME_ARGS(rec.running_times[i]));
    if (i > 0)
      fail_unless_equals_uint64(rec.running_times[i] - rec.running_times[i - 1], period);
  }
  gst_harness_teardown(h);
}
GST_END_TEST;

/* Checks the heartbeat repeats received so far: each flagged GAP, the last
 * captured colour, PTS increasing and never after @now. Returns how many. */
static int check_heartbeats(GstHarness *h, const Rgba &colour, GstClockTime now,
                            GstClockTime *last_pts)
{
  int n = 0;
  while (GstBuffer *buf = gst_harness_try_pull(h)) {
    GstClockTime pts = GST_BUFFER_PTS(buf);
    fail_unless(is_heartbeat(buf), "idle canvas: a frame without the GAP flag at %" GST_TIME_FORMAT,
                GST_TIME_ARGS(pts));
    assert_frame_colour(h, buf, colour, "the heartbeat repeats the last frame");
    fail_unless(GST_CLOCK_TIME_IS_VALID(pts), "heartbeat without timestamp");
    fail_unless(pts <= now, "heartbeat at %" GST_TIME_FORMAT " sent at %" GST_TIME_FORMAT,
                GST_TIME_ARGS(pts), GST_TIME_ARGS(now));
    fail_unless(pts > *last_pts, "heartbeat at %" GST_TIME_FORMAT " not after %" GST_TIME_FORMAT,
                GST_TIME_ARGS(pts), GST_TIME_ARGS(*last_pts));
    *last_pts = pts;
    gst_buffer_unref(buf);
    n++;
  }
  return n;
}

GST_START_TEST(test_rate_idle_heartbeat)
{
  /* After a frame, an idle canvas at rate 10 repeats it flagged GAP so that
   * live encoders and muxers downstream keep going; no new frame is captured. */
  GstHarness *h = new_harness();
  g_object_set(h->element, "frame-rate", 10.0, nullptr);
  gst_harness_play(h);
  paint(h->element, kRed);
  GstBuffer *buf = pull_checked(h, "drawing");
  fail_unless(!is_heartbeat(buf), "a captured frame flagged GAP");
  GstClockTime last_pts = GST_BUFFER_PTS(buf);
  gst_buffer_unref(buf);
  int beats = 0;
  for (int i = 0; i < 5; i++) {
    GstClockTime t = crank(h);
    sync_clock_wait(h);
    beats += check_heartbeats(h, kRed, t, &last_pts);
  }
  /* The heartbeat period is 100 ms, a tick each 100 ms: 5 ticks, >= 4 beats. */
  fail_unless(beats >= 4, "5 idle ticks gave %d heartbeats", beats);
  fail_unless_equals_uint64(stat(h->element, "frames-captured"), 1);
  fail_unless_equals_uint64(stat(h->element, "gaps"), (guint64)beats);
  /* Drawing again: the idle ticks left the request set, so the drawing is a
   * real frame at once, not flagged, after the last heartbeat. */
  paint(h->element, kBlue);
  buf = pull_checked(h, "drawing after the heartbeats");
  assert_frame_colour(h, buf, kBlue, "new drawing after idle ticks");
  fail_unless(GST_BUFFER_PTS(buf) > last_pts, "frame PTS not after the last heartbeat");
  gst_buffer_unref(buf);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_idle_heartbeat_unset_rate)
{
  /* frame-rate -1, system clock: heartbeat repeats about every 100 ms. */
  GstHarness *h = new_harness();
  gst_harness_use_systemclock(h);
  gst_harness_play(h);
  paint(h->element, kGreen);
  GstBuffer *buf = pull_checked(h, "drawing");
  GstClockTime last_pts = GST_BUFFER_PTS(buf);
  gst_buffer_unref(buf);
  for (int i = 0; i < 3; i++) {
    buf = pull_any(h, 2000);
    fail_unless(buf != nullptr, "idle canvas at frame-rate -1: heartbeat %d missing after 2 s", i);
    fail_unless(is_heartbeat(buf), "idle canvas sent a frame without the GAP flag");
    assert_frame_colour(h, buf, kGreen, "the heartbeat repeats the last frame");
    GstClockTime pts = GST_BUFFER_PTS(buf);
    /* 100 ms apart; a loaded machine may wake late, never early. */
    fail_unless(pts >= last_pts + 95 * GST_MSECOND,
                "heartbeat %d only %" GST_TIME_FORMAT " after the previous buffer", i,
                GST_TIME_ARGS(pts - last_pts));
    last_pts = pts;
    gst_buffer_unref(buf);
  }
  fail_unless_equals_uint64(stat(h->element, "frames-captured"), 1);
  fail_unless(stat(h->element, "gaps") >= 3);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_heartbeat_off)
{
  /* heartbeat-interval=0: a static canvas sends nothing at all (CC-9), and
   * the property can be turned on again while playing. */
  GstHarness *h = new_harness();
  guint interval = 0;
  g_object_get(h->element, "heartbeat-interval", &interval, nullptr);
  fail_unless_equals_int(interval, 100);
  g_object_set(h->element, "heartbeat-interval", 0u, nullptr);
  gst_harness_use_systemclock(h);
  gst_harness_play(h);
  paint(h->element, kRed);
  GstBuffer *buf = pull_checked(h, "drawing");
  gst_buffer_unref(buf);
  g_usleep(350 * 1000);
  fail_unless_equals_int(gst_harness_buffers_in_queue(h), 0);
  fail_unless_equals_uint64(stat(h->element, "gaps"), 0);
  g_object_set(h->element, "heartbeat-interval", 50u, nullptr);
  buf = pull_any(h, 2000);
  fail_unless(buf != nullptr, "no heartbeat within 2 s after turning it on");
  fail_unless(is_heartbeat(buf), "the heartbeat is not flagged GAP");
  assert_frame_colour(h, buf, kRed, "the heartbeat repeats the last frame");
  gst_buffer_unref(buf);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_nothing_before_first_frame)
{
  /* CC-9: a canvas never drawn gives no frame; there is no frame to repeat
   * either, so nothing at all goes out (no buffer, no GAP event). */
  GstHarness *h = new_harness();
  g_object_set(h->element, "frame-rate", 10.0, nullptr);
  gst_harness_play(h);
  for (int i = 0; i < 4; i++) {
    crank(h);
    sync_clock_wait(h);
  }
  fail_unless_equals_int(gst_harness_buffers_received(h), 0);
  while (GstEvent *ev = gst_harness_try_pull_event(h)) {
    fail_unless(GST_EVENT_TYPE(ev) != GST_EVENT_GAP, "GAP event before the first frame");
    gst_event_unref(ev);
  }
  fail_unless_equals_uint64(stat(h->element, "gaps"), 0);
  /* The first drawing then goes out at once (CC-5). */
  paint(h->element, kYellow);
  GstBuffer *buf = pull_checked(h, "first drawing after idle ticks");
  fail_unless(!is_heartbeat(buf));
  assert_frame_colour(h, buf, kYellow, "first drawing");
  gst_buffer_unref(buf);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* ---------------------------------------------------------- properties --- */

GST_START_TEST(test_ready_only_properties)
{
  /* frame-rate, alpha, is-live and location change only in NULL/READY: set
   * later, the value stays and a NotSupportedError WARNING says why. */
  GstElement *el = gst_element_factory_make("canvascapturesrc", nullptr);
  GstBus *bus = gst_bus_new();
  gst_element_set_bus(el, bus);
  fail_unless_equals_int(gst_element_set_state(el, GST_STATE_PAUSED), GST_STATE_CHANGE_NO_PREROLL);
  g_object_set(el, "frame-rate", 5.0, "alpha", FALSE, "is-live", FALSE, "location", "x.png",
               nullptr);
  gdouble rate = 0;
  gboolean alpha = FALSE, is_live = FALSE;
  gchar *location = nullptr;
  g_object_get(el, "frame-rate", &rate, "alpha", &alpha, "is-live", &is_live, "location", &location,
               nullptr);
  fail_unless(rate == -1.0 && alpha && is_live && location == nullptr,
              "a NULL/READY-only property changed in PAUSED");
  for (int i = 0; i < 4; i++) {
    GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING);
    fail_unless(msg != nullptr, "warning %d of 4 missing", i + 1);
    wc_expect_web_error(msg, "NotSupportedError");
    gst_message_unref(msg);
  }
  fail_unless_equals_int(gst_element_set_state(el, GST_STATE_READY), GST_STATE_CHANGE_SUCCESS);
  g_object_set(el, "frame-rate", 5.0, nullptr);
  g_object_get(el, "frame-rate", &rate, nullptr);
  fail_unless(rate == 5.0, "frame-rate not settable in READY");
  fail_unless_equals_int(gst_element_set_state(el, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
  gst_element_set_bus(el, nullptr);
  gst_object_unref(bus);
  gst_object_unref(el);
}
GST_END_TEST;

/* ---------------------------------------------------------------- CC-4 --- */

GST_START_TEST(test_negative_rate_refused)
{
  check_rate_refused(-5.0, "NotSupportedError");
  check_rate_refused(-0.5, "NotSupportedError");
}
GST_END_TEST;

GST_START_TEST(test_nan_inf_rate_refused)
{
  /* The property may clamp NaN/inf at set time; if it accepts them the
   * element must refuse to start with TypeError. */
  GstElement *el = gst_element_factory_make("canvascapturesrc", nullptr);
  GParamSpecDouble *pspec =
      G_PARAM_SPEC_DOUBLE(g_object_class_find_property(G_OBJECT_GET_CLASS(el), "frame-rate"));
  fail_unless(pspec != nullptr);
  gst_object_unref(el);
  check_rate_refused(std::numeric_limits<double>::quiet_NaN(), "TypeError");
  if (pspec->maximum >= std::numeric_limits<double>::infinity())
    check_rate_refused(std::numeric_limits<double>::infinity(), "TypeError");
  if (pspec->minimum <= -std::numeric_limits<double>::infinity())
    check_rate_refused(-std::numeric_limits<double>::infinity(), "TypeError");
}
GST_END_TEST;

GST_START_TEST(test_rate_minus_one_ok)
{
  GstHarness *h = new_harness();
  g_object_set(h->element, "frame-rate", -1.0, nullptr);
  gst_harness_play(h);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* ---------------------------------------------------------------- CC-2 --- */

GST_START_TEST(test_origin_not_clean_at_start)
{
  GstElement *el = gst_element_factory_make("canvascapturesrc", nullptr);
  GstBus *bus = gst_bus_new();
  gst_element_set_bus(el, bus);
  g_object_set(el, "origin-clean", FALSE, nullptr);
  GstMessage *msg = start_expect_error(el, bus);
  wc_expect_web_error(msg, "SecurityError", GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_AUTHORIZED);
  gst_message_unref(msg);
  GstState state;
  gst_element_get_state(el, &state, nullptr, 0);
  fail_unless(state <= GST_STATE_READY, "element started although the canvas is not origin-clean");
  fail_unless_equals_int(gst_element_set_state(el, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
  gst_element_set_bus(el, nullptr);
  gst_object_unref(bus);
  gst_object_unref(el);
}
GST_END_TEST;

/* ---------------------------------------------------------------- CC-3 --- */

/* The property should flip at once; allow the element's own thread 1 s. */
/* `muted` once it is @want, or after 1 s. */
static bool wait_muted(GstElement *el, bool want)
{
  wc_wait_until([&] { return wc_get_bool(el, "muted") == want; }, 1000, 1);
  return wc_get_bool(el, "muted");
}

static bool wait_int(gint *v, gint want)
{
  return wc_wait_until([&] { return g_atomic_int_get(v) >= want; }, 1000, 1);
}

static void on_notify_muted(GObject *, GParamSpec *, gpointer user_data)
{
  g_atomic_int_inc(static_cast<gint *>(user_data));
}

GST_START_TEST(test_origin_tainted_while_playing)
{
  GstHarness *h = new_harness();
  gint notifies = 0;
  g_signal_connect(h->element, "notify::muted", G_CALLBACK(on_notify_muted), &notifies);
  gst_harness_play(h);

  GstEvent *ev = wait_event(h, is_track_state);
  fail_unless(ev != nullptr, "no initial mediastream-track-state event");
  fail_unless(!track_state_muted(ev), "initial track state is muted");
  gst_event_unref(ev);

  paint(h->element, kRed);
  GstBuffer *buf = pull_checked(h, "drawing before tainting");
  gst_buffer_unref(buf);
  guint64 frames_before = stat(h->element, "frames-captured");
  guint64 paints_before = stat(h->element, "paints");

  g_object_set(h->element, "origin-clean", FALSE, nullptr);
  bool muted = wait_muted(h->element, true);
  fail_unless(muted, "muted not TRUE after origin-clean=false");
  fail_unless(wait_int(&notifies, 1), "no notify::muted");
  ev = wait_event(h, is_track_state);
  fail_unless(ev != nullptr, "no track-state event on mute");
  fail_unless(track_state_muted(ev), "track-state event says unmuted");
  gst_event_unref(ev);
  /* The sticky event on the pad reflects the state too. */
  GstPad *src = gst_element_get_static_pad(h->element, "src");
  ev = gst_pad_get_sticky_event(src, GST_EVENT_CUSTOM_DOWNSTREAM_STICKY, 0);
  fail_unless(ev != nullptr && is_track_state(ev) && track_state_muted(ev),
              "sticky track-state event not muted=true");
  gst_event_unref(ev);
  gst_object_unref(src);

  /* No frames while muted, not even on request-frame (CC-3). Wait until the
   * element has processed the paints (stats), or 1 s. */
  paint(h->element, kGreen);
  request_frame(h->element);
  paint(h->element, kBlue);
  request_frame(h->element);
  wc_wait_until([&] { return stat(h->element, "paints") >= paints_before + 2; }, 1000, 1);
  g_usleep(50 * 1000);
  fail_unless_equals_uint64(stat(h->element, "frames-captured"), frames_before);
  assert_no_frame_queued(h, "muted canvas");

  g_object_set(h->element, "origin-clean", TRUE, nullptr);
  muted = wait_muted(h->element, false);
  fail_unless(!muted, "still muted after origin-clean=true");
  fail_unless(wait_int(&notifies, 2), "no notify::muted on unmute");
  ev = wait_event(h, is_track_state);
  fail_unless(ev != nullptr, "no track-state event on unmute");
  fail_unless(!track_state_muted(ev), "track-state event says muted after unmute");
  gst_event_unref(ev);

  paint(h->element, kYellow);
  /* The content drawn while muted may be captured once unmuted; the new
   * drawing must come right after. */
  buf = pull_checked(h, "drawing after unmute");
  Pixel px = pixel_at(h, buf, 10, 10);
  gst_buffer_unref(buf);
  if (px.r != 255 || px.g != 255) {
    buf = pull_checked(h, "drawing after unmute (second frame)");
    px = pixel_at(h, buf, 10, 10);
    gst_buffer_unref(buf);
  }
  assert_pixel(px, opaque(kYellow), 1, true, "frames again after unmute");
  gst_harness_teardown(h);
}
GST_END_TEST;

/* --------------------------------------------------------------- CC-10 --- */

static void paint_alpha_pattern(GstElement *el)
{
  cairo_t *cr = nullptr;
  g_signal_emit_by_name(el, "begin-draw", &cr);
  fail_unless(cr != nullptr);
  cairo_set_operator(cr, CAIRO_OPERATOR_SOURCE);
  cairo_set_source_rgba(cr, 1, 0, 0, 0.5); /* half-transparent red */
  cairo_rectangle(cr, 0, 0, 100, 150);
  cairo_fill(cr);
  cairo_set_source_rgba(cr, 0, 0, 0, 0); /* fully transparent */
  cairo_rectangle(cr, 100, 0, 100, 150);
  cairo_fill(cr);
  cairo_set_source_rgba(cr, 0.2, 0.4, 0.6, 1); /* opaque */
  cairo_rectangle(cr, 200, 0, 50, 150);
  cairo_fill(cr);
  cairo_set_source_rgba(cr, 0.2, 0.4, 0.6, 0.25); /* quarter-opaque colour */
  cairo_rectangle(cr, 250, 0, 50, 150);
  cairo_fill(cr);
  g_signal_emit_by_name(el, "end-draw", cr);
  cairo_destroy(cr);
}

GST_START_TEST(test_alpha_straight)
{
  GstHarness *h = new_harness();
  gst_harness_play(h);
  paint_alpha_pattern(h->element);
  GstBuffer *buf = pull_checked(h, "alpha pattern");
  assert_pixel(pixel_at(h, buf, 50, 75), Pixel{0, 0, 255, 128}, 1, true,
               "half-transparent red is straight alpha");
  assert_pixel(pixel_at(h, buf, 150, 75), Pixel{0, 0, 0, 0}, 0, true, "transparent");
  assert_pixel(pixel_at(h, buf, 225, 75), Pixel{153, 102, 51, 255}, 1, true, "opaque unchanged");
  assert_pixel(pixel_at(h, buf, 275, 75), Pixel{153, 102, 51, 64}, 4, true,
               "quarter-opaque colour un-premultiplied");
  gst_buffer_unref(buf);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_alpha_false_opaque)
{
  GstHarness *h = new_harness();
  g_object_set(h->element, "alpha", FALSE, nullptr);
  gst_harness_play(h);
  /* Default operator (OVER) as an application would draw. */
  paint(h->element, Rgba{1, 0, 0, 0.5}, CAIRO_OPERATOR_OVER);
  GstBuffer *buf = pull_checked(h, "alpha=false drawing");
  GstCaps *caps = current_caps(h);
  fail_unless_equals_string(gst_structure_get_string(gst_caps_get_structure(caps, 0), "format"),
                            "BGRx");
  gst_caps_unref(caps);
  assert_pixel(pixel_at(h, buf, 10, 10), Pixel{0, 0, 128, 0}, 1, false,
               "half red composited on black");
  gst_buffer_unref(buf);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* ------------------------------------------------------------- offline --- */

GST_START_TEST(test_offline_constant_rate)
{
  const int n_frames = 10;
  GstHarness *h = new_harness();
  DrawRecorder rec;
  rec.paint_always = true;
  rec.colour = kBlue;
  g_object_set(h->element, "is-live", FALSE, "frame-rate", 25.0, "num-buffers", n_frames, nullptr);
  g_signal_connect(h->element, "draw", G_CALLBACK(on_draw), &rec);
  gst_harness_play(h);
  for (int n = 0; n < n_frames; n++) {
    /* Nobody cranks the test clock: offline must not wait for it. */
    GstBuffer *buf = pull_checked(h, "offline frame");
    GstClockTime pts = gst_util_uint64_scale_int(n, GST_SECOND, 25);
    fail_unless_equals_uint64(GST_BUFFER_PTS(buf), pts);
    fail_unless_equals_uint64(GST_BUFFER_DURATION(buf),
                              gst_util_uint64_scale_int(n + 1, GST_SECOND, 25) - pts);
    assert_frame_colour(h, buf, kBlue, "offline frame drawn by the draw handler");
    gst_buffer_unref(buf);
  }
  GstEvent *eos = wait_event_type(h, GST_EVENT_EOS);
  fail_unless(eos != nullptr, "no EOS after num-buffers");
  gst_event_unref(eos);
  GstCaps *caps = current_caps(h);
  check_caps(caps, "BGRA", 300, 150, 25, 0);
  gst_caps_unref(caps);
  fail_unless_equals_int(gst_harness_buffers_received(h), n_frames);
  {
    std::lock_guard<std::mutex> g(rec.lock);
    fail_unless_equals_int(rec.running_times.size(), n_frames);
    for (int n = 0; n < n_frames; n++)
      fail_unless_equals_uint64(rec.running_times[n], gst_util_uint64_scale_int(n, GST_SECOND, 25));
  }
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_offline_static_canvas_every_frame)
{
  /* Offline is constant rate: a handler that never draws still gets every
   * frame (docs/plugins/canvascapturesrc.md, is-live: every frame is output). */
  GstHarness *h = new_harness();
  g_object_set(h->element, "is-live", FALSE, "frame-rate", 50.0, "num-buffers", 5, nullptr);
  gst_harness_play(h);
  for (int n = 0; n < 5; n++) {
    GstBuffer *buf = pull_checked(h, "offline frame of a static canvas");
    fail_unless_equals_uint64(GST_BUFFER_PTS(buf), gst_util_uint64_scale_int(n, GST_SECOND, 50));
    gst_buffer_unref(buf);
  }
  GstEvent *eos = wait_event_type(h, GST_EVENT_EOS);
  fail_unless(eos != nullptr);
  gst_event_unref(eos);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_offline_requires_rate)
{
  const double rates[] = {-1.0, 0.0};
  for (double rate : rates) {
    GstElement *el = gst_element_factory_make("canvascapturesrc", nullptr);
    GstBus *bus = gst_bus_new();
    gst_element_set_bus(el, bus);
    g_object_set(el, "is-live", FALSE, "frame-rate", rate, nullptr);
    GstMessage *msg = start_expect_error(el, bus);
    gst_message_unref(msg);
    fail_unless_equals_int(gst_element_set_state(el, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
    gst_element_set_bus(el, nullptr);
    gst_object_unref(bus);
    gst_object_unref(el);
  }
}
GST_END_TEST;

/* -------------------------------------------------------------- resize --- */

static void check_resize(GstHarness *h, const char *prop, int width, int height)
{
  g_object_set(h->element, prop, std::string(prop) == "width" ? width : height, nullptr);
  GstEvent *ev = wait_event(h, [&](GstEvent *e) {
    if (GST_EVENT_TYPE(e) != GST_EVENT_CAPS)
      return false;
    GstCaps *caps;
    gst_event_parse_caps(e, &caps);
    gint w = 0, hh = 0;
    const GstStructure *s = gst_caps_get_structure(caps, 0);
    return gst_structure_get_int(s, "width", &w) && gst_structure_get_int(s, "height", &hh) &&
           w == width && hh == height;
  });
  fail_unless(ev != nullptr, "no caps event with the new size %dx%d", width, height);
  gst_event_unref(ev);

  /* The cleared canvas counts as new content: the next paint (here a
   * request-frame at rate -1) captures it. */
  request_frame(h->element);
  GstBuffer *buf = pull_checked(h, "frame after resize");
  GstCaps *caps = current_caps(h);
  check_caps(caps, "BGRA", width, height, 0, 0);
  gst_caps_unref(caps);
  fail_unless(gst_buffer_get_size(buf) >= (gsize)width * height * 4u, "frame of %u bytes for %dx%d",
              (guint)gst_buffer_get_size(buf), width, height);
  assert_pixel(pixel_at(h, buf, width - 1, height - 1), Pixel{0, 0, 0, 0}, 0, true,
               "canvas cleared by resize");
  assert_pixel(pixel_at(h, buf, 10, 10), Pixel{0, 0, 0, 0}, 0, true, "canvas cleared by resize");
  gst_buffer_unref(buf);

  paint(h->element, kBlue);
  buf = pull_checked(h, "drawing after resize");
  assert_pixel(pixel_at(h, buf, width - 1, height - 1), opaque(kBlue), 1, true,
               "drawing on the resized canvas");
  gst_buffer_unref(buf);
}

GST_START_TEST(test_resize_while_playing)
{
  GstHarness *h = new_harness();
  gst_harness_play(h);
  paint(h->element, kRed);
  GstBuffer *buf = pull_checked(h, "frame before resize");
  gst_buffer_unref(buf);
  check_resize(h, "width", 64, 150);
  check_resize(h, "height", 64, 32);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* ---------------------------------------------------- refresh-interval --- */

GST_START_TEST(test_refresh_interval)
{
  GstHarness *h = new_harness();
  gst_harness_use_systemclock(h);
  g_object_set(h->element, "refresh-interval", 50u, nullptr);
  gst_harness_play(h);
  paint(h->element, kRed);
  GstBuffer *buf = pull_checked(h, "drawing");
  GstClockTime last = GST_BUFFER_PTS(buf);
  fail_unless(GST_CLOCK_TIME_IS_VALID(last));
  gst_buffer_unref(buf);
  for (int i = 0; i < 3; i++) {
    buf = pull(h, 2000);
    fail_unless(buf != nullptr, "refresh %d: no re-sent frame within 2 s", i);
    assert_frame_colour(h, buf, kRed, "refresh re-sends the last frame");
    GstClockTime pts = GST_BUFFER_PTS(buf);
    fail_unless(GST_CLOCK_TIME_IS_VALID(pts) && pts > last, "refresh PTS not increasing");
    fail_unless(pts - last >= 40 * GST_MSECOND,
                "refresh after %" GST_TIME_FORMAT ", interval is 50 ms", GST_TIME_ARGS(pts - last));
    last = pts;
    gst_buffer_unref(buf);
  }
  fail_unless(stat(h->element, "refreshes") >= 3);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_refresh_interval_off)
{
  GstHarness *h = new_harness();
  gst_harness_use_systemclock(h);
  gst_harness_play(h);
  paint(h->element, kRed);
  GstBuffer *buf = pull_checked(h, "drawing");
  gst_buffer_unref(buf);
  /* Idle for about 350 ms: only heartbeat repeats (flagged GAP) follow,
   * never a refreshed frame. */
  g_usleep(350 * 1000);
  int beats = assert_no_frame_queued(h, "refresh-interval 0");
  fail_unless(beats >= 2, "only %d heartbeats in 350 ms", beats);
  fail_unless_equals_uint64(stat(h->element, "refreshes"), 0);
  fail_unless_equals_uint64(stat(h->element, "frames-captured"), 1);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* ------------------------------------------------------------ location --- */

GST_START_TEST(test_location_png)
{
  g_autofree gchar *dir = g_dir_make_tmp("canvascapture-XXXXXX", nullptr);
  fail_unless(dir != nullptr);
  g_autofree gchar *path = g_build_filename(dir, "initial.png", nullptr);
  cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 20, 10);
  cairo_t *cr = cairo_create(img);
  cairo_set_source_rgb(cr, 0, 1, 0);
  cairo_paint(cr);
  cairo_destroy(cr);
  fail_unless_equals_int(cairo_surface_write_to_png(img, path), CAIRO_STATUS_SUCCESS);
  cairo_surface_destroy(img);

  GstHarness *h = new_harness();
  g_object_set(h->element, "location", path, nullptr);
  gst_harness_play(h);
  /* Content preserved across begin-draw: an empty drawing shows the PNG. */
  touch(h->element);
  GstBuffer *buf = pull_checked(h, "first frame with a location");
  assert_pixel(pixel_at(h, buf, 5, 5), opaque(kGreen), 1, true, "PNG drawn at 0,0");
  assert_pixel(pixel_at(h, buf, 19, 9), opaque(kGreen), 1, true, "PNG drawn at 0,0");
  assert_pixel(pixel_at(h, buf, 25, 5), Pixel{0, 0, 0, 0}, 0, true, "outside the PNG");
  assert_pixel(pixel_at(h, buf, 5, 15), Pixel{0, 0, 0, 0}, 0, true, "outside the PNG");
  gst_buffer_unref(buf);
  gst_harness_teardown(h);

  g_unlink(path);
  g_rmdir(dir);
}
GST_END_TEST;

GST_START_TEST(test_location_missing)
{
  g_autofree gchar *dir = g_dir_make_tmp("canvascapture-XXXXXX", nullptr);
  g_autofree gchar *path = g_build_filename(dir, "does-not-exist.png", nullptr);
  GstElement *el = gst_element_factory_make("canvascapturesrc", nullptr);
  GstBus *bus = gst_bus_new();
  gst_element_set_bus(el, bus);
  g_object_set(el, "location", path, nullptr);
  GstStateChangeReturn ret = gst_element_set_state(el, GST_STATE_PLAYING);
  (void)ret; /* may fail at start or post the error from the streaming thread */
  GstMessage *msg = gst_bus_timed_pop_filtered(bus, 5 * GST_SECOND, GST_MESSAGE_ERROR);
  fail_unless(msg != nullptr, "no ERROR for a missing location");
  GError *err = nullptr;
  gchar *dbg = nullptr;
  gst_message_parse_error(msg, &err, &dbg);
  fail_unless(err->domain == GST_RESOURCE_ERROR, "domain %s", g_quark_to_string(err->domain));
  fail_unless(err->code == GST_RESOURCE_ERROR_OPEN_READ ||
                  err->code == GST_RESOURCE_ERROR_NOT_FOUND,
              "code %d", err->code);
  fail_unless(strstr(err->message, path) != nullptr, "error message '%s' does not name %s",
              err->message, path);
  g_error_free(err);
  g_free(dbg);
  gst_message_unref(msg);
  fail_unless_equals_int(gst_element_set_state(el, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
  gst_element_set_bus(el, nullptr);
  gst_object_unref(bus);
  gst_object_unref(el);
  g_rmdir(dir);
}
GST_END_TEST;

GST_START_TEST(test_location_not_png)
{
  /* A location that is not a PNG (a text file, a directory): the error's
   * debug text says so. Cairo alone said "out of memory" for a text file. */
  g_autofree gchar *dir = g_dir_make_tmp("canvascapture-XXXXXX", nullptr);
  g_autofree gchar *text = g_build_filename(dir, "text.png", nullptr);
  fail_unless(g_file_set_contents(text, "not a png\n", -1, nullptr));
  const struct {
    const gchar *path;
    const char *expected;
  } cases[] = {{text, "not a PNG file"}, {dir, "a directory"}};
  for (const auto &c : cases) {
    GstElement *el = gst_element_factory_make("canvascapturesrc", nullptr);
    GstBus *bus = gst_bus_new();
    gst_element_set_bus(el, bus);
    g_object_set(el, "location", c.path, nullptr);
    gst_element_set_state(el, GST_STATE_PLAYING);
    GstMessage *msg = gst_bus_timed_pop_filtered(bus, 5 * GST_SECOND, GST_MESSAGE_ERROR);
    fail_unless(msg != nullptr, "no ERROR for location %s", c.path);
    GError *err = nullptr;
    gchar *dbg = nullptr;
    gst_message_parse_error(msg, &err, &dbg);
    fail_unless(err->code == GST_RESOURCE_ERROR_OPEN_READ, "code %d", err->code);
    fail_unless(dbg && strstr(dbg, c.expected) != nullptr, "debug '%s' does not say '%s'",
                dbg ? dbg : "(none)", c.expected);
    g_error_free(err);
    g_free(dbg);
    gst_message_unref(msg);
    fail_unless_equals_int(gst_element_set_state(el, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
    gst_element_set_bus(el, nullptr);
    gst_object_unref(bus);
    gst_object_unref(el);
  }
  g_unlink(text);
  g_rmdir(dir);
}
GST_END_TEST;

/* --------------------------------------------------------------- stats --- */

GST_START_TEST(test_stats_fields)
{
  GstElement *el = gst_element_factory_make("canvascapturesrc", nullptr);
  GstStructure *s = nullptr;
  g_object_get(el, "stats", &s, nullptr);
  fail_unless(s != nullptr);
  fail_unless(gst_structure_has_name(s, "stats"), "stats structure named %s",
              gst_structure_get_name(s));
  const char *fields[] = {"frames-captured", "paints", "paints-coalesced", "requests",
                          "refreshes",       "gaps",   "canvas-copies"};
  for (const char *f : fields) {
    fail_unless(gst_structure_has_field_typed(s, f, G_TYPE_UINT64), "stats lacks guint64 %s", f);
    guint64 v = 1;
    gst_structure_get_uint64(s, f, &v);
    fail_unless_equals_uint64(v, 0);
  }
  gst_structure_free(s);
  gst_object_unref(el);
}
GST_END_TEST;

GST_START_TEST(test_stats_counting)
{
  GstHarness *h = new_harness();
  gst_harness_set_blocking_push_mode(h);
  gst_harness_play(h);
  paint(h->element, kRed);
  /* Frame A is now blocked in the harness chain function. */
  wc_wait_until([h] { return gst_harness_buffers_received(h) >= 1; }, kTimeoutMs, 1);
  fail_unless_equals_int(gst_harness_buffers_received(h), 1);
  /* Three paints while downstream is busy: coalesced into one frame. */
  paint(h->element, kGreen);
  paint(h->element, kBlue);
  paint(h->element, kYellow);
  expect_frame(h, kRed, "frame A");
  expect_frame(h, kYellow, "coalesced frame", "the latest of the coalesced paints");

  guint64 requests_before = stat(h->element, "requests");
  request_frame(h->element);
  request_frame(h->element);
  request_frame(h->element);
  wc_wait_until([&] { return stat(h->element, "requests") - requests_before >= 3; }, 1000, 1);
  fail_unless_equals_uint64(stat(h->element, "requests") - requests_before, 3);

  fail_unless_equals_uint64(stat(h->element, "frames-captured"), 2);
  fail_unless(stat(h->element, "paints") >= 2, "paints %" G_GUINT64_FORMAT,
              stat(h->element, "paints"));
  fail_unless(stat(h->element, "paints-coalesced") >= 1, "no coalesced paint counted");
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_zero_copy)
{
  GstHarness *h = new_harness();
  gst_harness_play(h);
  const Rgba colours[] = {kRed, kGreen, kBlue, kYellow, kMagenta};
  /* Downstream releases every frame before the next drawing: the frames are
   * the canvas buffer itself, never copied. */
  for (int i = 0; i < 30; i++) {
    const Rgba &c = colours[i % 5];
    paint(h->element, c);
    expect_frame(h, c, "zero-copy frame", "zero-copy frame content");
  }
  fail_unless_equals_uint64(stat(h->element, "frames-captured"), 30);
  fail_unless_equals_uint64(stat(h->element, "canvas-copies"), 0);

  /* Downstream keeps a frame: drawing again copies on write, the held frame
   * keeps its pixels. */
  paint(h->element, kRed);
  GstBuffer *held = pull_checked(h, "held frame");
  paint(h->element, kBlue);
  GstBuffer *next = pull_checked(h, "frame after the held one");
  assert_frame_colour(h, held, kRed, "held frame unchanged by later drawing");
  assert_frame_colour(h, next, kBlue, "new drawing");
  fail_unless(stat(h->element, "canvas-copies") >= 1, "no copy-on-write counted");
  gst_buffer_unref(held);
  gst_buffer_unref(next);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* ------------------------------------------------------------- latency --- */

GST_START_TEST(test_latency_query)
{
  GstHarness *h = new_harness();
  g_object_set(h->element, "frame-rate", 10.0, nullptr);
  gst_harness_play(h);
  GstPad *src = gst_element_get_static_pad(h->element, "src");
  GstQuery *q = gst_query_new_latency();
  fail_unless(gst_pad_query(src, q), "LATENCY query not answered");
  gboolean live = FALSE;
  GstClockTime min = 0, max = 0;
  gst_query_parse_latency(q, &live, &min, &max);
  fail_unless(live, "LATENCY says not live");
  fail_unless_equals_uint64(min, GST_SECOND / 10);
  fail_unless(!GST_CLOCK_TIME_IS_VALID(max) || max >= min);
  gst_query_unref(q);
  gst_object_unref(src);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* --------------------------------------------------- threads / locking --- */

GST_START_TEST(test_begin_draw_inside_draw)
{
  GstHarness *h = new_harness();
  DrawRecorder rec;
  rec.reenter = h->element;
  g_object_set(h->element, "frame-rate", 0.0, nullptr);
  g_signal_connect(h->element, "draw", G_CALLBACK(on_draw), &rec);
  gst_harness_play(h);
  request_frame(h->element);
  fail_unless(rec.wait_count(1), "draw not emitted on request-frame (or begin-draw deadlocked "
                                 "inside the handler)");
  std::lock_guard<std::mutex> g(rec.lock);
  fail_unless_equals_int(rec.reenter_null, 1);
  fail_unless_equals_int(rec.reenter_non_null, 0);
  rec.reenter = nullptr;
  gst_harness_teardown(h);
}
GST_END_TEST;

namespace
{
struct Hammer {
  GstElement *el;
  std::atomic<bool> stop{false};
  std::atomic<int> null_contexts{0};
  std::atomic<int> draws{0};
};

gpointer hammer_thread(gpointer data)
{
  auto *hm = static_cast<Hammer *>(data);
  guint seed = g_random_int();
  while (!hm->stop.load()) {
    switch (seed++ % 3) {
    case 0:
    case 1: {
      cairo_t *cr = nullptr;
      g_signal_emit_by_name(hm->el, "begin-draw", &cr);
      if (!cr) {
        hm->null_contexts++;
        break;
      }
      cairo_set_source_rgba(cr, (seed % 7) / 7.0, (seed % 5) / 5.0, 0.5, 0.75);
      cairo_rectangle(cr, seed % 50, seed % 30, 40, 40);
      cairo_fill(cr);
      g_signal_emit_by_name(hm->el, "end-draw", cr);
      cairo_destroy(cr);
      hm->draws++;
      break;
    }
    default:
      g_signal_emit_by_name(hm->el, "request-frame");
      break;
    }
  }
  return nullptr;
}

void on_weak_notify(gpointer data, GObject *)
{
  *static_cast<gboolean *>(data) = TRUE;
}
} // namespace

GST_START_TEST(test_threads_stress)
{
  GstHarness *h = new_harness();
  gst_harness_use_systemclock(h);
  gst_harness_set_drop_buffers(h, TRUE);
  g_object_set(h->element, "frame-rate", -1.0, nullptr);
  gboolean finalized = FALSE;
  g_object_weak_ref(G_OBJECT(h->element), on_weak_notify, &finalized);
  gst_harness_play(h);

  Hammer hm;
  hm.el = h->element;
  GThread *threads[8];
  for (auto &t : threads)
    t = g_thread_new("hammer", hammer_thread, &hm);

  const gint64 start = g_get_monotonic_time();
  int step = 0;
  while (g_get_monotonic_time() - start < 3 * G_USEC_PER_SEC) {
    g_usleep(100 * 1000);
    step++;
    if (step == 10) {
      fail_unless(gst_element_set_state(h->element, GST_STATE_READY) != GST_STATE_CHANGE_FAILURE);
    } else if (step == 12) {
      fail_unless(gst_element_set_state(h->element, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
    } else if (step == 20 || step == 22) {
      /* Resizing while other threads draw (the canvas is replaced). */
      g_object_set(h->element, "width", step == 20 ? 200 : 300, nullptr);
    }
  }
  hm.stop = true;
  for (auto *t : threads)
    g_thread_join(t);

  fail_unless_equals_int(hm.null_contexts.load(), 0);
  fail_unless(hm.draws.load() > 100, "only %d drawings in 3 s", hm.draws.load());
  fail_unless(gst_harness_buffers_received(h) > 10, "only %u frames in 3 s",
              gst_harness_buffers_received(h));
  gst_harness_teardown(h);
  fail_unless(finalized, "element not finalized after teardown (leaked reference)");
}
GST_END_TEST;

namespace
{
struct StateJob {
  GstElement *el;
  std::mutex lock;
  std::condition_variable cond;
  bool done = false;
  GstStateChangeReturn ret = GST_STATE_CHANGE_FAILURE;
};

gpointer set_null_thread(gpointer data)
{
  auto *job = static_cast<StateJob *>(data);
  GstStateChangeReturn ret = gst_element_set_state(job->el, GST_STATE_NULL);
  std::lock_guard<std::mutex> g(job->lock);
  job->ret = ret;
  job->done = true;
  job->cond.notify_all();
  return nullptr;
}
} // namespace

GST_START_TEST(test_unlock_to_null)
{
  const double rates[] = {0.0, -1.0, 10.0};
  for (double rate : rates) {
    GstHarness *h = new_harness();
    g_object_set(h->element, "frame-rate", rate, nullptr);
    gst_harness_play(h);
    if (rate > 0) /* waiting on the clock for a tick that never comes */
      fail_unless(gst_harness_wait_for_clock_id_waits(h, 1, 5));
    else /* waiting for a drawing or request */
      g_usleep(50 * 1000);
    StateJob job;
    job.el = h->element;
    GThread *t = g_thread_new("set-null", set_null_thread, &job);
    {
      std::unique_lock<std::mutex> g(job.lock);
      bool done = job.cond.wait_for(g, std::chrono::seconds(3), [&] { return job.done; });
      fail_unless(done, "set_state(NULL) hangs at frame-rate %g", rate);
    }
    g_thread_join(t);
    fail_unless_equals_int(job.ret, GST_STATE_CHANGE_SUCCESS);
    gst_harness_teardown(h);
  }
}
GST_END_TEST;

/* ------------------------------------------------ GStreamer contracts --- */
/* What every GStreamer source keeps besides the web rules: exact seeks
 * offline, running-time restarts, restart after NULL, a start that cannot
 * deadlock, a bounded frame-rate, truthful latency. */

namespace
{

/* Slower under valgrind (scripts/check's memcheck stage): scales waits. */
int slow_factor()
{
  return g_getenv("WEBCAPTURE_UNDER_VALGRIND") ? 20 : 1;
}

/* A PNG of @w x @h pixels of one colour in a temporary directory. */
struct PngFile {
  gchar *dir = nullptr;
  gchar *path = nullptr;
  PngFile(const Rgba &c, int w, int h)
  {
    dir = g_dir_make_tmp("canvascapture-XXXXXX", nullptr);
    fail_unless(dir != nullptr);
    path = g_build_filename(dir, "initial.png", nullptr);
    cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
    cairo_t *cr = cairo_create(img);
    cairo_set_source_rgba(cr, c.r, c.g, c.b, c.a);
    cairo_paint(cr);
    cairo_destroy(cr);
    fail_unless_equals_int(cairo_surface_write_to_png(img, path), CAIRO_STATUS_SUCCESS);
    cairo_surface_destroy(img);
  }
  ~PngFile()
  {
    g_unlink(path);
    g_rmdir(dir);
    g_free(path);
    g_free(dir);
  }
};

/* The PTS of the buffers leaving a src pad since the last FLUSH_STOP, and
 * whether EOS followed them. */
struct SegmentRecorder {
  std::mutex lock;
  std::condition_variable cond;
  std::vector<GstClockTime> pts;
  bool eos = false;

  bool wait_eos(gint64 timeout_ms = kTimeoutMs)
  {
    std::unique_lock<std::mutex> g(lock);
    return cond.wait_for(g, std::chrono::milliseconds(timeout_ms * slow_factor()),
                         [&] { return eos; });
  }
  bool wait_frames(size_t n, gint64 timeout_ms = kTimeoutMs)
  {
    std::unique_lock<std::mutex> g(lock);
    return cond.wait_for(g, std::chrono::milliseconds(timeout_ms * slow_factor()),
                         [&] { return pts.size() >= n; });
  }
  std::vector<GstClockTime> frames()
  {
    std::lock_guard<std::mutex> g(lock);
    return pts;
  }
};

GstPadProbeReturn record_segment(GstPad *, GstPadProbeInfo *info, gpointer data)
{
  auto *rec = static_cast<SegmentRecorder *>(data);
  std::lock_guard<std::mutex> g(rec->lock);
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    rec->pts.push_back(GST_BUFFER_PTS(GST_PAD_PROBE_INFO_BUFFER(info)));
  } else if (info->type & (GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM | GST_PAD_PROBE_TYPE_EVENT_FLUSH)) {
    GstEvent *ev = GST_PAD_PROBE_INFO_EVENT(info);
    if (GST_EVENT_TYPE(ev) == GST_EVENT_FLUSH_STOP) {
      rec->pts.clear();
      rec->eos = false;
    } else if (GST_EVENT_TYPE(ev) == GST_EVENT_EOS) {
      rec->eos = true;
    }
  }
  rec->cond.notify_all();
  return GST_PAD_PROBE_OK;
}

/* canvascapturesrc is-live=false ! fakesink sync=false, recorded. */
struct OfflinePipeline {
  GstElement *pipeline = nullptr;
  GstElement *canvas = nullptr;
  SegmentRecorder rec;
  int rate;

  explicit OfflinePipeline(int rate_) : rate(rate_)
  {
    g_autofree gchar *desc = g_strdup_printf(
        "canvascapturesrc name=c is-live=false frame-rate=%d ! fakesink sync=false", rate);
    pipeline = gst_parse_launch(desc, nullptr);
    fail_unless(pipeline != nullptr);
    canvas = gst_bin_get_by_name(GST_BIN(pipeline), "c");
    GstPad *src = gst_element_get_static_pad(canvas, "src");
    gst_pad_add_probe(src,
                      (GstPadProbeType)(GST_PAD_PROBE_TYPE_BUFFER |
                                        GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM |
                                        GST_PAD_PROBE_TYPE_EVENT_FLUSH),
                      record_segment, &rec, nullptr);
    gst_object_unref(src);
  }
  ~OfflinePipeline()
  {
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(canvas);
    gst_object_unref(pipeline);
  }
  void set_state(GstState state)
  {
    fail_unless(gst_element_set_state(pipeline, state) != GST_STATE_CHANGE_FAILURE);
    fail_unless_equals_int(
        gst_element_get_state(pipeline, nullptr, nullptr, kTimeoutMs * slow_factor() * GST_MSECOND),
        GST_STATE_CHANGE_SUCCESS);
  }
  void seek(GstElement *target, GstClockTime start, GstClockTime stop)
  {
    fail_unless(gst_element_seek(target, 1.0, GST_FORMAT_TIME,
                                 (GstSeekFlags)(GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_ACCURATE),
                                 GST_SEEK_TYPE_SET, start, GST_SEEK_TYPE_SET, stop),
                "seek to %" GST_TIME_FORMAT " refused", GST_TIME_ARGS(start));
  }
  GstClockTime frame(guint64 n) { return gst_util_uint64_scale(n, GST_SECOND, rate); }
  /* The segment just played held exactly frames first..last, then EOS. */
  void expect_segment(guint64 first, guint64 last, const char *what)
  {
    fail_unless(rec.wait_eos(), "%s: no EOS at the end of the segment", what);
    std::vector<GstClockTime> got = rec.frames();
    std::string list;
    for (GstClockTime t : got)
      list += std::to_string(t) + " ";
    fail_unless(got.size() == last - first + 1, "%s: %d buffers (PTS in ns: %s), expected %d", what,
                (int)got.size(), list.c_str(), (int)(last - first + 1));
    for (guint64 n = first; n <= last; n++)
      fail_unless(got[n - first] == frame(n),
                  "%s: buffer %d has PTS %" GST_TIME_FORMAT ", expected %" GST_TIME_FORMAT, what,
                  (int)(n - first), GST_TIME_ARGS(got[n - first]), GST_TIME_ARGS(frame(n)));
  }
  /* The first frames after a seek without stop are first, first+1, ... */
  void expect_start(guint64 first, const char *what)
  {
    fail_unless(rec.wait_frames(3), "%s: no frames after the seek", what);
    std::vector<GstClockTime> got = rec.frames();
    for (guint64 i = 0; i < 3; i++)
      fail_unless(got[i] == frame(first + i),
                  "%s: buffer %d has PTS %" GST_TIME_FORMAT ", expected %" GST_TIME_FORMAT, what,
                  (int)i, GST_TIME_ARGS(got[i]), GST_TIME_ARGS(frame(first + i)));
  }
};

} // namespace

GST_START_TEST(test_offline_seek_exact)
{
  /* Before preroll: a seek sent to the element in READY applies at start. */
  {
    OfflinePipeline p(10);
    p.set_state(GST_STATE_READY);
    p.seek(p.canvas, 300 * GST_MSECOND, 800 * GST_MSECOND);
    p.set_state(GST_STATE_PLAYING);
    p.expect_segment(3, 7, "seek [0.3 s, 0.8 s) before preroll");
  }
  OfflinePipeline p(10);
  /* After preroll, the usual seek to [0, 1 s). */
  p.set_state(GST_STATE_PAUSED);
  p.seek(p.pipeline, 0, GST_SECOND);
  p.set_state(GST_STATE_PLAYING);
  p.expect_segment(0, 9, "seek [0, 1 s) after preroll");
  /* Forwards, then backwards. */
  p.seek(p.pipeline, 2 * GST_SECOND, 3 * GST_SECOND);
  p.expect_segment(20, 29, "seek forwards to [2 s, 3 s)");
  p.seek(p.pipeline, 0, GST_SECOND);
  p.expect_segment(0, 9, "seek backwards to [0, 1 s)");
  /* Off the frame grid: the first frame at or after the start, nothing at or
   * after the stop. */
  p.seek(p.pipeline, 350 * GST_MSECOND, 750 * GST_MSECOND);
  p.expect_segment(4, 7, "seek to [0.35 s, 0.75 s)");
  p.seek(p.pipeline, 250 * GST_MSECOND, 250 * GST_MSECOND);
  fail_unless(p.rec.wait_eos(), "empty segment: no EOS");
  fail_unless_equals_int(p.rec.frames().size(), 0);
  /* Seeks without a stop while playing, forwards and backwards. */
  p.seek(p.pipeline, 2 * GST_SECOND, GST_CLOCK_TIME_NONE);
  p.expect_start(20, "open seek to 2 s");
  p.seek(p.pipeline, 0, GST_CLOCK_TIME_NONE);
  p.expect_start(0, "open seek back to 0");
}
GST_END_TEST;

GST_START_TEST(test_offline_seek_past_kept_stop)
{
  /* A seek that keeps the stop (GST_SEEK_TYPE_NONE) to a start after it gave a
   * CRITICAL (gst_segment_do_seek: start <= stop) and stayed where it was: it
   * plays from its start to the end. */
  OfflinePipeline p(10);
  p.set_state(GST_STATE_PLAYING);
  p.seek(p.pipeline, 2 * GST_SECOND, 3 * GST_SECOND);
  p.expect_segment(20, 29, "seek to [2 s, 3 s)");
  const auto flags = (GstSeekFlags)(GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_ACCURATE);
  fail_unless(gst_element_seek(p.pipeline, 1.0, GST_FORMAT_TIME, flags, GST_SEEK_TYPE_SET,
                               4 * GST_SECOND, GST_SEEK_TYPE_NONE, -1),
              "seek to 4 s keeping the stop refused");
  p.expect_start(40, "seek to 4 s after the kept stop 3 s");
  gint64 position = -1;
  fail_unless(gst_element_query_position(p.pipeline, GST_FORMAT_TIME, &position));
  fail_unless(position >= 4 * GST_SECOND, "position %" GST_TIME_FORMAT, GST_TIME_ARGS(position));
  /* A start after its own stop, or a new stop before the kept start: refused. */
  fail_if(gst_element_seek(p.canvas, 1.0, GST_FORMAT_TIME, flags, GST_SEEK_TYPE_SET, 5 * GST_SECOND,
                           GST_SEEK_TYPE_SET, 4 * GST_SECOND),
          "seek to [5 s, 4 s) accepted");
  fail_if(gst_element_seek(p.canvas, 1.0, GST_FORMAT_TIME, flags, GST_SEEK_TYPE_NONE, -1,
                           GST_SEEK_TYPE_SET, 1 * GST_SECOND),
          "seek to a stop of 1 s before the start 4 s accepted");
}
GST_END_TEST;

GST_START_TEST(test_offline_reverse_seek_refused)
{
  /* Offline rendering plays forwards only: a flushing seek with a negative
   * rate is refused before anything is flushed. Refused after the flush, the
   * next frame went out without a segment (GStreamer-WARNING "Got data flow
   * before segment event"). */
  OfflinePipeline p(10);
  p.set_state(GST_STATE_PLAYING);
  p.seek(p.pipeline, GST_SECOND, GST_CLOCK_TIME_NONE); /* frames keep flowing */
  p.expect_start(10, "open seek to 1 s");
  const auto flags = (GstSeekFlags)(GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_ACCURATE);
  for (GstElement *target : {p.pipeline, p.canvas})
    fail_if(gst_element_seek(target, -1.0, GST_FORMAT_TIME, flags, GST_SEEK_TYPE_SET, 0,
                             GST_SEEK_TYPE_SET, GST_SECOND),
            "seek with rate -1 accepted by %s", GST_OBJECT_NAME(target));
  /* Nothing was flushed: the frames keep coming. */
  const size_t seen = p.rec.frames().size();
  fail_unless(p.rec.wait_frames(seen + 3), "no frames after the refused seeks");
  /* Still seekable forwards, with a segment before the frames. */
  p.seek(p.pipeline, 0, GST_SECOND);
  p.expect_segment(0, 9, "seek to [0, 1 s) after the refused seeks");
}
GST_END_TEST;

GST_START_TEST(test_stats_reset_at_start)
{
  GstHarness *h = new_harness();
  gst_harness_play(h);
  paint(h->element, kRed);
  GstBuffer *buf = pull_checked(h, "first run");
  gst_buffer_unref(buf);
  request_frame(h->element);
  fail_unless_equals_uint64(stat(h->element, "frames-captured"), 1);
  fail_unless_equals_uint64(stat(h->element, "requests"), 1);
  fail_unless_equals_int(gst_element_set_state(h->element, GST_STATE_NULL),
                         GST_STATE_CHANGE_SUCCESS);
  /* Still readable after the run... */
  fail_unless_equals_uint64(stat(h->element, "frames-captured"), 1);
  /* ...and counted from zero again when the element starts. */
  gst_harness_play(h);
  for (const char *f : {"frames-captured", "paints", "paints-coalesced", "requests", "refreshes",
                        "gaps", "canvas-copies"})
    fail_unless_equals_uint64(stat(h->element, f), 0);
  paint(h->element, kGreen);
  expect_frame(h, kGreen, "second run");
  fail_unless_equals_uint64(stat(h->element, "frames-captured"), 1);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_start_while_holding_canvas)
{
  /* The thread that starts the element holds the canvas (begin-draw) and a
   * location is set: start() must not wait for that same thread. The PNG is
   * drawn when the element starts, over what was drawn before. */
  PngFile png(kGreen, 20, 10);
  GstHarness *h = new_harness();
  g_object_set(h->element, "location", png.path, nullptr);
  cairo_t *cr = nullptr;
  g_signal_emit_by_name(h->element, "begin-draw", &cr);
  fail_unless(cr != nullptr);
  cairo_set_source_rgb(cr, 1, 0, 0);
  cairo_paint(cr);
  {
    WcWatchdog w(20 * slow_factor(), "set_state(PLAYING) by the thread holding the canvas");
    gst_harness_play(h);
  }
  g_signal_emit_by_name(h->element, "end-draw", cr);
  cairo_destroy(cr);
  GstBuffer *buf = pull_checked(h, "first frame");
  assert_pixel(pixel_at(h, buf, 5, 5), opaque(kGreen), 1, true, "PNG drawn at start");
  assert_pixel(pixel_at(h, buf, 25, 5), opaque(kRed), 1, true, "drawing from before the start");
  gst_buffer_unref(buf);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_start_while_other_thread_holds_canvas)
{
  /* A drawing thread holds the canvas (begin-draw) and, before its end-draw,
   * waits for the state change another thread makes (as it would waiting for
   * the state lock: a seek or a state change of its own). With a location,
   * start() must not wait for the canvas: it used to, a deadlock. The PNG is
   * drawn after that thread's end-draw. */
  PngFile png(kGreen, 20, 10);
  GstHarness *h = new_harness();
  g_object_set(h->element, "location", png.path, nullptr);
  std::mutex m;
  std::condition_variable cv;
  bool held = false, started = false, drawer_timed_out = false;
  std::thread drawer([&] {
    cairo_t *cr = nullptr;
    g_signal_emit_by_name(h->element, "begin-draw", &cr);
    cairo_set_source_rgb(cr, 1, 0, 0);
    cairo_paint(cr);
    std::unique_lock<std::mutex> g(m);
    held = true;
    cv.notify_all();
    drawer_timed_out =
        !cv.wait_for(g, std::chrono::seconds(10 * slow_factor()), [&] { return started; });
    g.unlock();
    g_signal_emit_by_name(h->element, "end-draw", cr);
    cairo_destroy(cr);
  });
  {
    std::unique_lock<std::mutex> g(m);
    cv.wait(g, [&] { return held; });
  }
  gst_harness_play(h);
  {
    std::lock_guard<std::mutex> g(m);
    started = true;
    cv.notify_all();
  }
  drawer.join();
  fail_if(drawer_timed_out, "set_state(PLAYING) waited for the thread holding the canvas");
  GstBuffer *buf = pull_checked(h, "first frame");
  assert_pixel(pixel_at(h, buf, 5, 5), opaque(kGreen), 1, true, "PNG drawn after end-draw");
  assert_pixel(pixel_at(h, buf, 25, 5), opaque(kRed), 1, true, "the other thread's drawing");
  gst_buffer_unref(buf);
  fail_unless_equals_uint64(stat(h->element, "paints"), 2);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_frame_rate_ceiling)
{
  /* Live: rates above what a timer can tick are taken as 1000 (the caps say
   * so) and begin-draw still gets the canvas. */
  for (double rate : {1e9, 1e300, std::numeric_limits<double>::max()}) {
    GstHarness *h = new_harness();
    gst_harness_use_systemclock(h);
    gst_harness_set_drop_buffers(h, TRUE);
    g_object_set(h->element, "frame-rate", rate, nullptr);
    gst_harness_play(h);
    paint(h->element, kRed);
    GstEvent *ev = wait_event_type(h, GST_EVENT_CAPS);
    fail_unless(ev != nullptr, "no caps at frame-rate %g", rate);
    GstCaps *caps;
    gst_event_parse_caps(ev, &caps);
    check_caps(caps, "BGRA", 300, 150, 0, 1000);
    gst_event_unref(ev);
    {
      WcWatchdog w(20 * slow_factor(), "begin-draw at a frame-rate of 1e9 or more");
      for (int i = 0; i < 20; i++) {
        const gint64 t0 = g_get_monotonic_time();
        paint(h->element, i % 2 ? kRed : kBlue);
        fail_unless(g_get_monotonic_time() - t0 < 2 * G_USEC_PER_SEC * slow_factor(),
                    "begin-draw waited %d ms at frame-rate %g",
                    (int)((g_get_monotonic_time() - t0) / 1000), rate);
      }
    }
    gst_harness_teardown(h);
  }
  /* Offline: frame n has PTS n/rate exactly, so a rate the element would not
   * honour is refused. */
  GstElement *el = gst_element_factory_make("canvascapturesrc", nullptr);
  GstBus *bus = gst_bus_new();
  gst_element_set_bus(el, bus);
  g_object_set(el, "is-live", FALSE, "frame-rate", 1e9, nullptr);
  GstMessage *msg = start_expect_error(el, bus);
  wc_expect_web_error(msg, "NotSupportedError", GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS);
  gst_message_unref(msg);
  fail_unless_equals_int(gst_element_set_state(el, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
  gst_element_set_bus(el, nullptr);
  gst_object_unref(bus);
  gst_object_unref(el);
}
GST_END_TEST;

GST_START_TEST(test_running_time_restart)
{
  /* The pipeline's running time restarts (a flushing seek taken by another
   * source gives the element a new base time): ticks, PTS and heartbeats
   * follow the new running time within one frame period. */
  GstHarness *h = new_harness();
  DrawRecorder rec;
  rec.paint_always = true;
  g_object_set(h->element, "frame-rate", 10.0, nullptr);
  g_signal_connect(h->element, "draw", G_CALLBACK(on_draw), &rec);
  gst_harness_play(h);
  GstClockTime t = 0;
  while (t < 3 * GST_SECOND)
    t = crank(h);
  sync_clock_wait(h);
  while (GstBuffer *buf = gst_harness_try_pull(h))
    gst_buffer_unref(buf);
  size_t draws = rec.count();

  /* Running time 0 now. */
  GstTestClock *tc = gst_harness_get_testclock(h);
  gst_element_set_base_time(h->element, gst_clock_get_time(GST_CLOCK(tc)));
  gst_object_unref(tc);

  GstClockTime period = GST_SECOND / 10, last = GST_CLOCK_TIME_NONE;
  for (int i = 0; i < 3; i++) {
    crank(h);
    GstBuffer *buf = pull_checked(h, "frame after the running time restarted");
    GstClockTime pts = GST_BUFFER_PTS(buf);
    gst_buffer_unref(buf);
    fail_unless(pts <= (i + 1) * period + period,
                "frame %d after the restart has PTS %" GST_TIME_FORMAT
                ": the old running time was kept",
                i, GST_TIME_ARGS(pts));
    fail_unless(!GST_CLOCK_TIME_IS_VALID(last) || pts > last, "PTS do not increase");
    last = pts;
  }
  fail_unless(rec.count() > draws);
  fail_unless(rec.at(draws) < 2 * period,
              "draw after the restart for running time %" GST_TIME_FORMAT,
              GST_TIME_ARGS(rec.at(draws)));
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_paint_pts_after_capture)
{
  /* LATENCY answers 0 for paint-driven frames (frame-rate <= 0), so such a
   * frame must not be stamped before its content was on the canvas: here the
   * streaming thread waits for the canvas while the clock advances 50 ms. */
  GstHarness *h = new_harness();
  gst_harness_play(h);
  paint(h->element, kRed);
  GstBuffer *buf = pull_checked(h, "first frame");
  gst_buffer_unref(buf);

  cairo_t *cr = nullptr;
  g_signal_emit_by_name(h->element, "begin-draw", &cr);
  fail_unless(cr != nullptr);
  request_frame(h->element); /* wakes the streaming thread, which waits for the canvas */
  g_usleep(200 * 1000);
  GstTestClock *tc = gst_harness_get_testclock(h);
  GstClockTime released = gst_clock_get_time(GST_CLOCK(tc)) + 50 * GST_MSECOND;
  gst_test_clock_set_time(tc, released);
  gst_object_unref(tc);
  cairo_set_source_rgb(cr, 0, 0, 1);
  cairo_paint(cr);
  g_signal_emit_by_name(h->element, "end-draw", cr);
  cairo_destroy(cr);
  buf = pull_checked(h, "frame of the drawing");
  assert_frame_colour(h, buf, kBlue, "frame of the drawing");
  fail_unless(GST_BUFFER_PTS(buf) >= released,
              "frame stamped %" GST_TIME_FORMAT ", before its content was drawn (%" GST_TIME_FORMAT
              ") with a LATENCY of 0",
              GST_TIME_ARGS(GST_BUFFER_PTS(buf)), GST_TIME_ARGS(released));
  gst_buffer_unref(buf);
  gst_harness_teardown(h);
}
GST_END_TEST;

namespace
{
struct StopInNotify {
  GstElement *pipeline;
  std::atomic<int> calls{0};
  std::atomic<int> results{0}; /* calls that did not fail */
  std::atomic<GstStateChangeReturn> last{GST_STATE_CHANGE_SUCCESS};
};

void stop_on_notify(GObject *, GParamSpec *, gpointer data)
{
  auto *job = static_cast<StopInNotify *>(data);
  job->calls++;
  /* Inside the pipeline's own change to NULL (from stop()), the nested call
   * may answer ASYNC: the outer one finishes the job. */
  job->last = gst_element_set_state(job->pipeline, GST_STATE_NULL);
  if (job->last != GST_STATE_CHANGE_FAILURE)
    job->results++;
}
} // namespace

GST_START_TEST(test_stop_in_notify_muted)
{
  /* set_state(NULL) from inside notify::muted, synchronously, both where it
   * is emitted: on the thread setting origin-clean=false while playing, and
   * from the element's own stop() (unmuting) during a state change to NULL. */
  for (bool from_stop : {false, true}) {
    GstElement *pipeline =
        gst_parse_launch("canvascapturesrc name=c frame-rate=30 ! fakesink", nullptr);
    fail_unless(pipeline != nullptr);
    GstElement *canvas = gst_bin_get_by_name(GST_BIN(pipeline), "c");
    StopInNotify job;
    job.pipeline = pipeline;
    fail_unless(gst_element_set_state(pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
    paint(canvas, kRed);
    if (from_stop)
      g_object_set(canvas, "origin-clean", FALSE, nullptr); /* muted */
    gulong id = g_signal_connect(canvas, "notify::muted", G_CALLBACK(stop_on_notify), &job);
    {
      WcWatchdog w(20 * slow_factor(), "set_state(NULL) from inside notify::muted");
      if (from_stop) {
        fail_unless_equals_int(gst_element_set_state(pipeline, GST_STATE_NULL),
                               GST_STATE_CHANGE_SUCCESS);
      } else {
        g_object_set(canvas, "origin-clean", FALSE, nullptr);
      }
    }
    fail_unless(job.calls.load() >= 1, "notify::muted not emitted");
    fail_unless(job.results.load() == job.calls.load(),
                "%s: set_state(NULL) inside notify::muted returned %s",
                from_stop ? "stop()" : "origin-clean=false",
                gst_element_state_change_return_get_name(job.last));
    GstState state = GST_STATE_VOID_PENDING;
    gst_element_get_state(canvas, &state, nullptr, 0);
    fail_unless_equals_int(state, GST_STATE_NULL);
    g_signal_handler_disconnect(canvas, id);
    /* Usable again. */
    g_object_set(canvas, "origin-clean", TRUE, nullptr);
    fail_unless(gst_element_set_state(pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
    fail_unless_equals_int(gst_element_set_state(pipeline, GST_STATE_NULL),
                           GST_STATE_CHANGE_SUCCESS);
    gst_object_unref(canvas);
    gst_object_unref(pipeline);
  }
}
GST_END_TEST;

namespace
{
struct StopInDraw {
  GstElement *pipeline;
  std::atomic<int> calls{0};
  std::mutex lock;
  std::condition_variable cond;
  bool done = false;
  GstStateChangeReturn ret = GST_STATE_CHANGE_FAILURE;
  std::atomic<int> join_warnings{0};
  std::atomic<int> other_warnings{0};
};

gboolean stop_in_draw(GstElement *, cairo_t *cr, guint64, gpointer data)
{
  auto *job = static_cast<StopInDraw *>(data);
  if (job->calls++ > 0)
    return FALSE;
  cairo_set_source_rgb(cr, 1, 0, 0);
  cairo_paint(cr);
  GstStateChangeReturn ret = gst_element_set_state(job->pipeline, GST_STATE_NULL);
  {
    std::lock_guard<std::mutex> g(job->lock);
    job->ret = ret;
    job->done = true;
  }
  job->cond.notify_all();
  return TRUE;
}

/* GStreamer's own warning for a state change from the streaming thread (the
 * task cannot join itself) is expected here; any other warning is not. */
void on_gstreamer_warning(const gchar *, GLogLevelFlags, const gchar *message, gpointer data)
{
  auto *job = static_cast<StopInDraw *>(data);
  if (strstr(message, "from its thread would deadlock"))
    job->join_warnings++;
  else
    job->other_warnings++;
}
} // namespace

GST_START_TEST(test_stop_in_draw)
{
  /* set_state(NULL) synchronously from inside the draw handler, on the
   * streaming thread, offline: GStreamer warns that the task cannot join
   * itself, the element ends its create() with its own reference to the run
   * state, and the pipeline reaches NULL: no crash, no deadlock. (Live, a
   * GstBaseSrc then parks its streaming thread until PLAYING: the documented
   * limitation; the contract suite stops from draw with
   * gst_element_call_async(), live and offline.) */
  {
    GstElement *pipeline =
        gst_parse_launch("canvascapturesrc name=c is-live=false frame-rate=30 ! fakesink", nullptr);
    fail_unless(pipeline != nullptr);
    GstElement *canvas = gst_bin_get_by_name(GST_BIN(pipeline), "c");
    StopInDraw job;
    job.pipeline = pipeline;
    g_signal_connect(canvas, "draw", G_CALLBACK(stop_in_draw), &job);
    guint handler = g_log_set_handler("GStreamer", G_LOG_LEVEL_WARNING, on_gstreamer_warning, &job);
    {
      WcWatchdog w(20 * slow_factor(), "set_state(NULL) from inside draw");
      fail_unless(gst_element_set_state(pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
      {
        std::unique_lock<std::mutex> g(job.lock);
        fail_unless(job.cond.wait_for(g, std::chrono::seconds(10 * slow_factor()),
                                      [&] { return job.done; }),
                    "draw not emitted");
      }
      fail_unless(job.ret != GST_STATE_CHANGE_FAILURE, "set_state(NULL) inside draw failed");
      fail_unless_equals_int(gst_element_set_state(pipeline, GST_STATE_NULL),
                             GST_STATE_CHANGE_SUCCESS);
      /* The task could not join itself: join it from here, so that the
       * streaming thread has left the element before it is freed. */
      GstPad *src = gst_element_get_static_pad(canvas, "src");
      gst_pad_stop_task(src);
      gst_object_unref(src);
    }
    g_log_remove_handler("GStreamer", handler);
    fail_unless_equals_int(job.other_warnings.load(), 0);
    GstState state = GST_STATE_VOID_PENDING;
    gst_element_get_state(canvas, &state, nullptr, 0);
    fail_unless_equals_int(state, GST_STATE_NULL);
    gst_object_unref(canvas);
    gst_object_unref(pipeline);
  }
}
GST_END_TEST;

/* The slowest test takes ~4 s; a hang fails one test, not the suite. */
static TCase *add_case(Suite *s, const char *name)
{
  return wc_add_case(s, name, 20);
}

static Suite *canvascapturesrc_suite(void)
{
  Suite *s = suite_create("canvascapturesrc");
  /* One TCase per rule of docs/plugins/canvascapturesrc.md (CK_RUN_CASE=CC-8
   * runs one rule), then the GStreamer-side groups. */
  TCase *tc;

  tc = add_case(s, "CC-1");
  tcase_add_test(tc, test_defaults_and_pads);
  tcase_add_test(tc, test_caps_live_default);
  tcase_add_test(tc, test_caps_live_rate_and_size);
  tcase_add_test(tc, test_resize_while_playing);

  tc = add_case(s, "CC-2");
  tcase_add_test(tc, test_origin_not_clean_at_start);

  tc = add_case(s, "CC-3");
  tcase_add_test(tc, test_origin_tainted_while_playing);
  tcase_add_test(tc, test_stop_in_notify_muted);

  tc = add_case(s, "CC-4");
  tcase_add_test(tc, test_negative_rate_refused);
  tcase_add_test(tc, test_nan_inf_rate_refused);
  tcase_add_test(tc, test_rate_minus_one_ok);

  tc = add_case(s, "CC-5");
  tcase_add_test(tc, test_initial_request);

  tc = add_case(s, "CC-6");
  tcase_add_test(tc, test_rate_ticks);
  tcase_add_test(tc, test_frame_rate_ceiling);

  tc = add_case(s, "CC-7");
  tcase_add_test(tc, test_rate_zero_requests);

  tc = add_case(s, "CC-8");
  tcase_add_test(tc, test_unset_rate_every_paint);

  tc = add_case(s, "CC-9");
  tcase_add_test(tc, test_static_canvas_no_frame);
  tcase_add_test(tc, test_static_canvas_no_frame_unset_rate);
  tcase_add_test(tc, test_rate_idle_heartbeat);
  tcase_add_test(tc, test_idle_heartbeat_unset_rate);
  tcase_add_test(tc, test_nothing_before_first_frame);
  tcase_add_test(tc, test_heartbeat_off);
  tcase_add_test(tc, test_refresh_interval);
  tcase_add_test(tc, test_refresh_interval_off);

  tc = add_case(s, "CC-10");
  tcase_add_test(tc, test_alpha_straight);
  tcase_add_test(tc, test_alpha_false_opaque);

  tc = add_case(s, "properties");
  tcase_add_test(tc, test_ready_only_properties);

  tc = add_case(s, "CC-11");
  tcase_add_test(tc, test_request_frame_any_thread);

  tc = add_case(s, "offline");
  tcase_add_test(tc, test_offline_constant_rate);
  tcase_add_test(tc, test_offline_static_canvas_every_frame);
  tcase_add_test(tc, test_offline_requires_rate);
  tcase_add_test(tc, test_offline_seek_exact);
  tcase_add_test(tc, test_offline_seek_past_kept_stop);
  tcase_add_test(tc, test_offline_reverse_seek_refused);

  tc = add_case(s, "location");
  tcase_add_test(tc, test_location_png);
  tcase_add_test(tc, test_location_missing);
  tcase_add_test(tc, test_location_not_png);
  tcase_add_test(tc, test_start_while_holding_canvas);
  tcase_add_test(tc, test_start_while_other_thread_holds_canvas);

  tc = add_case(s, "stats");
  tcase_add_test(tc, test_stats_fields);
  tcase_add_test(tc, test_stats_counting);
  tcase_add_test(tc, test_stats_reset_at_start);
  tcase_add_test(tc, test_zero_copy);

  tc = add_case(s, "timing");
  tcase_add_test(tc, test_latency_query);
  tcase_add_test(tc, test_paint_pts_after_capture);
  tcase_add_test(tc, test_running_time_restart);

  tc = add_case(s, "threads");
  tcase_add_test(tc, test_begin_draw_inside_draw);
  tcase_add_test(tc, test_threads_stress);
  tcase_add_test(tc, test_unlock_to_null);
  tcase_add_test(tc, test_stop_in_draw);
  return s;
}

GST_CHECK_MAIN(canvascapturesrc);
