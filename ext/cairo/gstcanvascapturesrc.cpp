/* canvascapturesrc: HTMLCanvasElement.captureStream() for GStreamer.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A live video source over a Cairo canvas. Applications draw with the `draw`
 * signal (streaming thread, at each capture opportunity) or with
 * begin-draw/end-draw (any thread); frames are captured following the
 * Media Capture from DOM Elements rules (CC-1..CC-11, the rule table of
 * docs/plugins/canvascapturesrc.md).
 *
 *   gst-launch-1.0 canvascapturesrc location=some.png refresh-interval=1000 \
 *     ! videoconvert ! autovideosink
 *
 * and offline, 3 s of the picture at 30 frames per second into a file:
 *
 *   gst-launch-1.0 canvascapturesrc location=some.png is-live=false frame-rate=30 \
 *     num-buffers=90 ! videoconvert ! vp8enc ! webmmux ! filesink location=canvas.webm
 *
 * State: Settings hold the property values; RunState is one run of the
 * element, built by start() and dropped by stop(); the canvas and `stats`
 * live as long as the element (drawing works in any state, the counters of
 * the last run stay readable).
 *
 * Threads and locks: `lock` guards every field of Private except the canvas
 * pixels and the drawing session, which belong to whoever holds the canvas
 * (`canvas_busy`, taken and released under `lock`). Signals are never
 * emitted and nothing is pushed with `lock` held (UnlockedScope). Helpers
 * that need `lock` held end in `_locked`.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstcanvascapturesrc.h"

#include <cairo-gobject.h>
#include <cairo.h>
#include <gst/video/video.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "canvaspixels.h"
#include "gstmediastreamtrackstate.h"
#include "gstwebcaptureerror.h"
#include "gstwebcapturei18n.h"
#include "gstwebcaptureutil.h"

GST_DEBUG_CATEGORY_STATIC(gst_canvas_capture_src_debug);
#define GST_CAT_DEFAULT gst_canvas_capture_src_debug

#if G_BYTE_ORDER == G_LITTLE_ENDIAN
/* Cairo's ARGB32/RGB24 are native-endian 32-bit words: B,G,R,A in memory. */
#define CANVAS_FORMAT_ALPHA GST_VIDEO_FORMAT_BGRA
#define CANVAS_FORMAT_OPAQUE GST_VIDEO_FORMAT_BGRx
#define CANVAS_CAPS_FORMATS "{ BGRA, BGRx }"
#else
#define CANVAS_FORMAT_ALPHA GST_VIDEO_FORMAT_ARGB
#define CANVAS_FORMAT_OPAQUE GST_VIDEO_FORMAT_xRGB
#define CANVAS_CAPS_FORMATS "{ ARGB, xRGB }"
#endif

namespace
{

constexpr gint DEFAULT_WIDTH = 300; /* as HTML's canvas */
constexpr gint DEFAULT_HEIGHT = 150;
constexpr gint MAX_SIZE = 16384;
constexpr gdouble DEFAULT_FRAME_RATE = -1.0;
constexpr gdouble FRAME_RATE_UNSET = -1.0;
/* The highest rate a timer ticks at. A live canvas takes any higher frame-rate
 * as this (the rate is only a ceiling, and a faster timer would only keep the
 * canvas busy); offline rendering refuses it, its PTS being n/frame-rate. */
constexpr gdouble MAX_FRAME_RATE = 1000.0;
/* By default an idle live canvas repeats its last frame, flagged GAP, every
 * 100 ms so that encoders and muxers downstream keep going (encoders hold GAP
 * events back until their next frame, so an event alone would stall a muxer).
 * heartbeat-interval=0 turns it off: then a static canvas sends nothing. */
constexpr guint DEFAULT_HEARTBEAT_INTERVAL = 100; /* ms */

enum {
  PROP_0,
  PROP_WIDTH,
  PROP_HEIGHT,
  PROP_FRAME_RATE,
  PROP_ALPHA,
  PROP_ORIGIN_CLEAN,
  PROP_MUTED,
  PROP_IS_LIVE,
  PROP_LOCATION,
  PROP_REFRESH_INTERVAL,
  PROP_HEARTBEAT_INTERVAL,
  PROP_STATS,
};

enum {
  SIGNAL_DRAW,
  SIGNAL_REQUEST_FRAME,
  SIGNAL_BEGIN_DRAW,
  SIGNAL_END_DRAW,
  LAST_SIGNAL,
};

guint signals[LAST_SIGNAL];

/* What woke the streaming thread for a paint (the spec's rendering update). */
enum class Opportunity { NONE, PAINT, TICK, REQUEST };

struct Stats {
  guint64 frames_captured = 0;
  guint64 paints = 0;
  guint64 paints_coalesced = 0;
  guint64 requests = 0;
  guint64 refreshes = 0;
  guint64 gaps = 0;
  guint64 canvas_copies = 0;
};

/* Releases a held std::unique_lock for the lifetime of the scope: around
 * what must not run under `lock` (signals, pushes, pixel work, waits). */
class UnlockedScope
{
public:
  explicit UnlockedScope(std::unique_lock<std::mutex> &lk) : lk_(lk) { lk_.unlock(); }
  ~UnlockedScope() { lk_.lock(); }
  UnlockedScope(const UnlockedScope &) = delete;
  UnlockedScope &operator=(const UnlockedScope &) = delete;

private:
  std::unique_lock<std::mutex> &lk_;
};

/* The property values. frame-rate, alpha, is-live and location change only in
 * NULL/READY; start() copies what a run needs into its RunState. */
struct Settings {
  gint width = DEFAULT_WIDTH;
  gint height = DEFAULT_HEIGHT;
  gdouble frame_rate = DEFAULT_FRAME_RATE;
  bool alpha = true;
  bool origin_clean = true;
  bool is_live = true;
  std::string location;
  guint refresh_interval = 0;                            /* ms */
  guint heartbeat_interval = DEFAULT_HEARTBEAT_INTERVAL; /* ms, 0 = off */
};

/* One run of the element: built by start(), dropped by stop(). create()
 * keeps its own reference while it runs, so that a stop() from inside a draw
 * handler (on the streaming thread) cannot free it under its feet. */
struct RunState {
  RunState() { gst_video_info_init(&info); }

  /* From the settings at start. */
  bool is_live = true;
  gdouble frame_rate = DEFAULT_FRAME_RATE; /* as given: -1 and 0 differ (CC-7, CC-8) */
  /* The timer's rate (live) or the frame rate (offline), > 0 only. */
  gint fps_n = 0, fps_d = 1;

  /* Capture state (CC-5..CC-9). */
  bool capture_requested = true;   /* frameCaptureRequested, set for a new track (CC-5) */
  bool request_pending = false;    /* request-frame not yet seen by the streaming thread */
  bool paint_pending = false;      /* a paint not yet seen by the streaming thread */
  bool muted = false;              /* CC-3 */
  bool track_state_pending = true; /* the mediastream-track-state event, first at start */
  bool flushing = false;
  bool segment_sent = false;
  GstClockID clock_id = nullptr; /* the streaming thread's wait, ended by wake_locked() */

  /* Negotiated output. */
  bool caps_changed = false;
  GstVideoInfo info;

  /* Timing (running time). */
  guint64 next_tick = 0;
  guint64 frame_number = 0; /* offline frame index, or live frames pushed */
  GstClockTime last_pts = GST_CLOCK_TIME_NONE;
  GstClockTime last_output = GST_CLOCK_TIME_NONE;  /* any buffer or GAP */
  GstClockTime last_picture = GST_CLOCK_TIME_NONE; /* a captured or refreshed frame */
  GstClockTime last_now = GST_CLOCK_TIME_NONE;     /* running time last seen (live) */
};

/* What a step of create() leads to: the next step, the loop again from the
 * top (something changed), or create() returns `ret`. */
struct Step {
  enum Kind { NEXT, AGAIN, RETURN } kind;
  GstFlowReturn ret;
  static Step next() { return {NEXT, GST_FLOW_OK}; }
  static Step again() { return {AGAIN, GST_FLOW_OK}; }
  static Step finish(GstFlowReturn ret) { return {RETURN, ret}; }
};

} // namespace

struct GstCanvasCaptureSrcPrivate {
  ~GstCanvasCaptureSrcPrivate()
  {
    /* A begin-draw never ended: finish its surface, so that a cairo_t the
     * application still holds draws nothing, before the canvas goes. */
    if (session_cr) {
      cairo_surface_t *surface = cairo_get_target(session_cr);
      cairo_surface_flush(surface);
      cairo_surface_finish(surface);
      cairo_destroy(session_cr);
      gst_buffer_unmap(canvas, &session_map);
    }
    gst_clear_buffer(&canvas);
    if (pending_png)
      cairo_surface_destroy(pending_png);
  }

  std::mutex lock;
  std::condition_variable cond;

  Settings settings;
  std::shared_ptr<RunState> run; /* null while stopped */
  Stats stats;                   /* of the current run, or the last one; reset at start */

  /* The canvas: premultiplied ARGB32 (alpha) or RGB24 pixels in a GstBuffer
   * that is pushed downstream as a frame when no conversion is needed. */
  GstBuffer *canvas = nullptr;
  gint canvas_width = 0;
  gint canvas_height = 0;
  bool canvas_alpha = true;
  bool canvas_reset_pending = false; /* width/height set: clear (HTML) */
  bool new_content = false;          /* changed since the last captured frame */
  bool canvas_busy = false;
  canvas_pixels::HoldTracker hold; /* with the canvas held, as its pixels */
  bool canvas_streaming = false;   /* held by the streaming thread */
  bool streaming_waiting = false;  /* lets the streaming thread in first */
  guint apps_waiting = 0;          /* application threads waiting for the canvas */
  bool app_turn = false;           /* the streaming thread let them in */
  std::thread::id canvas_owner;

  /* The open drawing session (begin-draw or a draw emission). */
  cairo_t *session_cr = nullptr;
  GstMapInfo session_map = GST_MAP_INFO_INIT;

  /* The `location` picture start() could not draw because another thread
   * held the canvas: drawn by whoever takes the canvas next. start() runs
   * under the state lock, which that thread may be waiting for. */
  cairo_surface_t *pending_png = nullptr;
};

struct _GstCanvasCaptureSrc {
  GstPushSrc parent;
  GstCanvasCaptureSrcPrivate *priv;
};

#define gst_canvas_capture_src_parent_class parent_class
G_DEFINE_TYPE(GstCanvasCaptureSrc, gst_canvas_capture_src, GST_TYPE_PUSH_SRC);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE(canvascapturesrc, "canvascapturesrc", GST_RANK_NONE,
                                      GST_TYPE_CANVAS_CAPTURE_SRC, gst_webcapture_init_i18n());

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS("video/x-raw, format = (string) " CANVAS_CAPS_FORMATS
                    ", width = (int) [ 1, 16384 ], height = (int) [ 1, 16384 ], "
                    "pixel-aspect-ratio = (fraction) 1/1, framerate = (fraction) [ 0/1, MAX ]"));

/* ------------------------------------------------------------------------ */
/* Pixels: scan, unpremultiply, copy-on-write and frame memory live in
 * canvaspixels.cpp. */

static gint canvas_stride(gint width)
{
  return canvas_pixels::stride_for_width(width);
}

/* ------------------------------------------------------------------------ */
/* Helpers that need the element */

static GstClockTime frame_time(const RunState &run, guint64 n)
{
  return gst_util_uint64_scale(n, (guint64)run.fps_d * GST_SECOND, run.fps_n);
}

static GstClockTime frame_period(const RunState &run)
{
  if (run.fps_n <= 0)
    return 0;
  return gst_util_uint64_scale_ceil(GST_SECOND, run.fps_d, run.fps_n);
}

/* Wakes the streaming thread wherever it waits. */
static void wake_locked(GstCanvasCaptureSrcPrivate *priv)
{
  priv->cond.notify_all();
  if (priv->run && priv->run->clock_id)
    gst_clock_id_unschedule(priv->run->clock_id);
}

/* A paint produced new content: count the one it replaces, if uncaptured. */
static void mark_new_content_locked(GstCanvasCaptureSrcPrivate *priv)
{
  if (priv->new_content)
    priv->stats.paints_coalesced++;
  priv->new_content = true;
  priv->stats.paints++;
}

/* New content the streaming thread is to paint (the spec's rendering update):
 * an end-draw, the location picture, a resize. Before start, start() sees
 * the new content instead. */
static void paint_locked(GstCanvasCaptureSrcPrivate *priv)
{
  mark_new_content_locked(priv);
  if (priv->run)
    priv->run->paint_pending = true;
  wake_locked(priv);
}

/* Allocates a canvas-sized buffer, from the negotiated pool when it fits:
 * recycled memory, no fresh allocation per frame. */
static GstBuffer *alloc_frame(GstCanvasCaptureSrc *self, gint width, gint height)
{
  GstBufferPool *pool = gst_base_src_get_buffer_pool(GST_BASE_SRC(self));
  GstBuffer *buffer = canvas_pixels::alloc_frame(pool, (gsize)canvas_stride(width) * height);
  if (pool)
    gst_object_unref(pool);
  return buffer;
}

/* A copy of @buffer's bytes in recycled frame memory, made for @use, or
 * NULL. */
static GstBuffer *copy_frame(GstCanvasCaptureSrc *self, GstBuffer *buffer,
                             canvas_pixels::CopyUse use)
{
  GstBufferPool *pool = gst_base_src_get_buffer_pool(GST_BASE_SRC(self));
  GstBuffer *copy = canvas_pixels::copy_frame(buffer, pool, use);
  if (pool)
    gst_object_unref(pool);
  return copy;
}

static GstBuffer *alloc_cleared_frame(GstCanvasCaptureSrc *self, gint width, gint height)
{
  GstBuffer *buffer = alloc_frame(self, width, height);
  gst_buffer_memset(buffer, 0, 0, gst_buffer_get_size(buffer));
  return buffer;
}

static void take_canvas_locked(GstCanvasCaptureSrcPrivate *priv, bool streaming)
{
  priv->canvas_busy = true;
  priv->canvas_streaming = streaming;
  priv->canvas_owner = std::this_thread::get_id();
}

/* With the canvas just taken: applies a pending resize, which clears the
 * canvas as HTML does. */
static void apply_canvas_size_locked(GstCanvasCaptureSrc *self, std::unique_lock<std::mutex> &lk)
{
  GstCanvasCaptureSrcPrivate *priv = self->priv;
  const Settings &s = priv->settings;
  if (priv->canvas && !priv->canvas_reset_pending && priv->canvas_width == s.width &&
      priv->canvas_height == s.height && priv->canvas_alpha == s.alpha)
    return;
  gint width = s.width, height = s.height;
  priv->canvas_reset_pending = false;
  GstBuffer *fresh;
  {
    UnlockedScope unlocked(lk);
    fresh = alloc_cleared_frame(self, width, height);
  }
  gst_clear_buffer(&priv->canvas);
  priv->canvas = fresh;
  priv->canvas_width = width;
  priv->canvas_height = height;
  priv->canvas_alpha = priv->settings.alpha;
}

static void draw_pending_png_locked(GstCanvasCaptureSrc *self, std::unique_lock<std::mutex> &lk);

/* Takes the canvas for an application thread (begin-draw, the location
 * picture): waits while anyone holds it, and while the streaming thread waits
 * for it, unless the streaming thread gave the application threads their
 * turn. Each time the streaming thread releases the canvas a waiting
 * application thread gets in: begin-draw never starves, however fast the
 * streaming thread loops (offline rendering, high rates). */
static void acquire_canvas_app(GstCanvasCaptureSrc *self, std::unique_lock<std::mutex> &lk)
{
  GstCanvasCaptureSrcPrivate *priv = self->priv;
  priv->apps_waiting++;
  while (priv->canvas_busy || (priv->streaming_waiting && !priv->app_turn))
    priv->cond.wait(lk);
  priv->apps_waiting--;
  priv->app_turn = false;
  take_canvas_locked(priv, false);
  apply_canvas_size_locked(self, lk);
  draw_pending_png_locked(self, lk);
}

/* Takes the canvas for the streaming thread, which goes first; gives up
 * (false) when flushing. */
static bool acquire_canvas_streaming(GstCanvasCaptureSrc *self, std::unique_lock<std::mutex> &lk,
                                     RunState &run)
{
  GstCanvasCaptureSrcPrivate *priv = self->priv;
  priv->streaming_waiting = true;
  while ((priv->canvas_busy || priv->app_turn) && !run.flushing)
    priv->cond.wait(lk);
  priv->streaming_waiting = false;
  if (run.flushing) {
    priv->cond.notify_all();
    return false;
  }
  take_canvas_locked(priv, true);
  apply_canvas_size_locked(self, lk);
  draw_pending_png_locked(self, lk);
  return true;
}

static void release_canvas_locked(GstCanvasCaptureSrcPrivate *priv)
{
  if (priv->canvas_streaming && priv->apps_waiting > 0)
    priv->app_turn = true;
  priv->canvas_busy = false;
  priv->canvas_streaming = false;
  priv->canvas_owner = std::thread::id();
  priv->cond.notify_all();
}

/* Opens a cairo_t on the canvas (canvas held, `lock` not held). Copies the
 * canvas first when a frame pushed earlier still shares its memory. */
static cairo_t *open_session(GstCanvasCaptureSrc *self)
{
  GstCanvasCaptureSrcPrivate *priv = self->priv;

  bool exclusive = canvas_pixels::buffer_is_exclusive(priv->canvas);
  priv->hold.on_draw(exclusive);
  if (!exclusive) {
    /* The frame downstream holds keeps its memory, which goes back to the
     * pool when released; the canvas continues in recycled memory. */
    GstBuffer *copy = copy_frame(self, priv->canvas, canvas_pixels::CopyUse::Draw);
    if (!copy) {
      GST_ERROR_OBJECT(self, "could not copy the canvas");
      return nullptr;
    }
    gst_buffer_unref(priv->canvas);
    priv->canvas = copy;
    std::lock_guard<std::mutex> guard(priv->lock);
    priv->stats.canvas_copies++;
  }

  if (!gst_buffer_map(priv->canvas, &priv->session_map, GST_MAP_WRITE)) {
    GST_ERROR_OBJECT(self, "could not map the canvas for writing");
    return nullptr;
  }
  cairo_surface_t *surface = cairo_image_surface_create_for_data(
      priv->session_map.data, priv->canvas_alpha ? CAIRO_FORMAT_ARGB32 : CAIRO_FORMAT_RGB24,
      priv->canvas_width, priv->canvas_height, canvas_stride(priv->canvas_width));
  cairo_t *cr = cairo_create(surface);
  cairo_surface_destroy(surface);
  std::lock_guard<std::mutex> guard(priv->lock); /* end-draw compares it */
  priv->session_cr = cr;
  return cr;
}

/* Ends the session: the pixels are flushed and the surface finished, so a
 * cairo_t an application still holds draws nothing from now on. */
static void close_session(GstCanvasCaptureSrc *self)
{
  GstCanvasCaptureSrcPrivate *priv = self->priv;
  cairo_t *cr;
  {
    std::lock_guard<std::mutex> guard(priv->lock);
    cr = priv->session_cr;
    priv->session_cr = nullptr;
  }
  if (!cr)
    return;
  cairo_surface_t *surface = cairo_get_target(cr);
  cairo_surface_flush(surface);
  cairo_surface_finish(surface);
  cairo_destroy(cr);
  gst_buffer_unmap(priv->canvas, &priv->session_map);
}

/* With the canvas just taken: draws the `location` picture start() left
 * (a paint, as if start() had drawn it). */
static void draw_pending_png_locked(GstCanvasCaptureSrc *self, std::unique_lock<std::mutex> &lk)
{
  GstCanvasCaptureSrcPrivate *priv = self->priv;
  cairo_surface_t *png = priv->pending_png;
  if (!png)
    return;
  priv->pending_png = nullptr;
  {
    UnlockedScope unlocked(lk);
    cairo_t *cr = open_session(self);
    if (cr) {
      cairo_set_source_surface(cr, png, 0, 0);
      cairo_paint(cr);
    }
    close_session(self);
    cairo_surface_destroy(png);
  }
  paint_locked(priv);
}

/* Turns the canvas into a frame (canvas held, `lock` not held). The canvas
 * itself is the frame unless straight alpha needs converted pixels or
 * downstream keeps frames: then the frame is a copy written past the caches,
 * and the canvas, never shared, stays in the cache for the next drawing (a
 * canvas pushed and kept would be copied before that drawing: the same
 * bytes moved, and the drawing then on memory that left the cache). */
static GstBuffer *make_frame(GstCanvasCaptureSrc *self)
{
  GstCanvasCaptureSrcPrivate *priv = self->priv;
  GstBuffer *canvas = priv->canvas;

  if (priv->canvas_alpha) {
    /* CC-10: a translucent pixel makes a converted frame in recycled memory.
     * While downstream keeps frames, the frame is a converted copy made in
     * one pass, which spares the scan and the copy before the next drawing. */
    GstBufferPool *pool = gst_base_src_get_buffer_pool(GST_BASE_SRC(self));
    bool same_bytes = false;
    GstBuffer *frame;
    if (priv->hold.frame_as_copy())
      frame =
          canvas_pixels::straight_alpha_copy(canvas, priv->canvas_width, priv->canvas_height, pool);
    else
      frame = canvas_pixels::unpremultiplied_frame(canvas, priv->canvas_width, priv->canvas_height,
                                                   pool, &same_bytes);
    if (pool)
      gst_object_unref(pool);
    if (!same_bytes)
      return frame;
  } else if (priv->hold.frame_as_copy()) {
    return copy_frame(self, canvas, canvas_pixels::CopyUse::Frame);
  }

  /* Same bytes: hand out the canvas. If an earlier push of it is still
   * downstream (a repeated frame) it needs its own metadata: copy it into
   * recycled memory (a buffer sharing the canvas memory would make the pool
   * drop that memory when it comes back, and allocate again). */
  if (gst_buffer_is_writable(canvas)) {
    priv->hold.on_canvas_pushed();
    gst_buffer_ref(canvas);
    return canvas;
  }
  return copy_frame(self, canvas, canvas_pixels::CopyUse::Frame);
}

/* ------------------------------------------------------------------------ */
/* Running time and waiting */

/* The running time now; with no clock yet, the system clock's. */
static GstClockTime running_time_now(GstCanvasCaptureSrc *self)
{
  GstClockTime now = gst_webcapture_running_time_now(GST_ELEMENT(self));
  if (GST_CLOCK_TIME_IS_VALID(now))
    return now;
  GstClock *clock = gst_system_clock_obtain();
  GstClockTime t = gst_clock_get_time(clock);
  gst_object_unref(clock);
  GstClockTime base = gst_element_get_base_time(GST_ELEMENT(self));
  return t > base ? t - base : 0;
}

/* Waits until running time @deadline (NONE: until woken). Any wake_locked()
 * ends the wait. */
static void wait_until_locked(GstCanvasCaptureSrc *self, std::unique_lock<std::mutex> &lk,
                              RunState &run, GstClockTime deadline)
{
  GstCanvasCaptureSrcPrivate *priv = self->priv;

  if (!GST_CLOCK_TIME_IS_VALID(deadline)) {
    priv->cond.wait(lk);
    return;
  }
  GstClock *clock = gst_element_get_clock(GST_ELEMENT(self));
  if (!clock)
    clock = gst_system_clock_obtain();
  GstClockTime base = gst_element_get_base_time(GST_ELEMENT(self));
  GstClockID id = gst_clock_new_single_shot_id(clock, base + deadline);
  gst_object_unref(clock);

  run.clock_id = id;
  {
    UnlockedScope unlocked(lk);
    gst_clock_id_wait(id, nullptr);
  }
  run.clock_id = nullptr;
  gst_clock_id_unref(id);
}

/* ------------------------------------------------------------------------ */
/* Action signals (any thread) */

static void request_frame(GstCanvasCaptureSrc *self)
{
  GstCanvasCaptureSrcPrivate *priv = self->priv;
  std::lock_guard<std::mutex> guard(priv->lock);
  /* CC-11: the next painted content is captured. */
  priv->stats.requests++;
  if (priv->run)
    priv->run->request_pending = true;
  wake_locked(priv);
}

static cairo_t *begin_draw(GstCanvasCaptureSrc *self)
{
  GstCanvasCaptureSrcPrivate *priv = self->priv;
  std::unique_lock<std::mutex> lk(priv->lock);

  if (priv->canvas_busy && priv->canvas_owner == std::this_thread::get_id()) {
    GST_WARNING_OBJECT(self, "begin-draw called by the thread that already holds the canvas "
                             "(inside a draw handler, or twice without end-draw); use the "
                             "cairo_t you were given");
    return nullptr;
  }
  acquire_canvas_app(self, lk);
  cairo_t *cr;
  {
    UnlockedScope unlocked(lk);
    cr = open_session(self);
  }
  if (!cr) {
    release_canvas_locked(priv);
    return nullptr;
  }
  /* The signal's return value takes this reference; the caller gets its own. */
  return cairo_reference(cr);
}

static void end_draw(GstCanvasCaptureSrc *self, cairo_t *cr)
{
  GstCanvasCaptureSrcPrivate *priv = self->priv;
  std::unique_lock<std::mutex> lk(priv->lock);

  if (!cr || !priv->canvas_busy || priv->session_cr != cr) {
    GST_WARNING_OBJECT(self, "end-draw with a cairo_t that is not the open begin-draw session; "
                             "ignored");
    return;
  }
  {
    UnlockedScope unlocked(lk);
    close_session(self);
  }
  paint_locked(priv);
  release_canvas_locked(priv);
}

/* ------------------------------------------------------------------------ */
/* Streaming */

/* Emits `draw` on the canvas (held). Returns whether a handler drew. */
static bool emit_draw(GstCanvasCaptureSrc *self, GstClockTime running_time)
{
  cairo_t *cr = open_session(self);
  if (!cr)
    return false;
  gboolean drew = FALSE;
  g_signal_emit(self, signals[SIGNAL_DRAW], 0, cr, (guint64)running_time, &drew);
  close_session(self);
  return drew;
}

static void push_track_state(GstCanvasCaptureSrc *self, bool muted)
{
  GST_DEBUG_OBJECT(self, "track state: muted=%d", muted);
  gst_pad_push_event(GST_BASE_SRC_PAD(self),
                     gst_media_stream_track_state_event_new(muted, nullptr));
}

/* Says that nothing comes before @now. Used when the canvas holds content
 * that may not be shown (not requested, or not origin-clean), so the last
 * frame cannot be repeated. */
static void push_gap_locked(GstCanvasCaptureSrc *self, std::unique_lock<std::mutex> &lk,
                            RunState &run, GstClockTime now)
{
  if (!run.segment_sent || !GST_CLOCK_TIME_IS_VALID(run.last_output) || now <= run.last_output)
    return;
  GstEvent *gap = gst_event_new_gap(run.last_output + 1, now - run.last_output - 1);
  run.last_output = now;
  self->priv->stats.gaps++;
  UnlockedScope unlocked(lk);
  gst_pad_push_event(GST_BASE_SRC_PAD(self), gap);
}

/* Stamps and accounts for a frame about to be returned. */
static void finish_frame_locked(RunState &run, GstBuffer *frame, GstClockTime pts,
                                GstClockTime duration, bool gap)
{
  /* Live PTS always increase. Offline PTS are n/rate exactly (a seek moves n
   * back and forth). */
  if (run.is_live && GST_CLOCK_TIME_IS_VALID(run.last_pts) && pts <= run.last_pts)
    pts = run.last_pts + 1;
  /* The canvas buffer goes out again and again: clear what a previous trip
   * left on it (GstBaseSrc marks the first buffer DISCONT). */
  GST_BUFFER_FLAG_UNSET(frame, GST_BUFFER_FLAG_DISCONT | GST_BUFFER_FLAG_GAP |
                                   GST_BUFFER_FLAG_RESYNC | GST_BUFFER_FLAG_DROPPABLE);
  if (gap)
    GST_BUFFER_FLAG_SET(frame, GST_BUFFER_FLAG_GAP);
  else
    run.last_picture = pts;
  GST_BUFFER_PTS(frame) = pts;
  GST_BUFFER_DTS(frame) = GST_CLOCK_TIME_NONE;
  GST_BUFFER_DURATION(frame) = duration;
  GST_BUFFER_OFFSET(frame) = run.frame_number;
  GST_BUFFER_OFFSET_END(frame) = run.frame_number + 1;
  run.frame_number++;
  run.last_pts = pts;
  run.last_output = pts;
  run.segment_sent = true;
}

/* Before any frame: renegotiates after a resize, and sends the track-state
 * event after a change of `muted`. */
static Step send_pending_locked(GstCanvasCaptureSrc *self, std::unique_lock<std::mutex> &lk,
                                RunState &run)
{
  if (run.caps_changed) {
    run.caps_changed = false;
    bool negotiated;
    {
      UnlockedScope unlocked(lk);
      negotiated = gst_base_src_negotiate(GST_BASE_SRC(self));
    }
    return negotiated ? Step::again() : Step::finish(GST_FLOW_NOT_NEGOTIATED);
  }
  if (run.track_state_pending) {
    run.track_state_pending = false;
    bool muted = run.muted;
    {
      UnlockedScope unlocked(lk);
      push_track_state(self, muted);
    }
    return Step::again();
  }
  return Step::next();
}

/* After the draw handler: what to return instead of a frame when flushing
 * (FLUSHING), or when the element stopped meanwhile (EOS: the run is over; the
 * handler changed the state from the streaming thread, which GStreamer cannot
 * join, and no frame may follow), else OK. */
static GstFlowReturn after_draw_locked(GstCanvasCaptureSrcPrivate *priv, const RunState &run)
{
  if (priv->run.get() != &run)
    return GST_FLOW_EOS;
  return run.flushing ? GST_FLOW_FLUSHING : GST_FLOW_OK;
}

/* Emits `draw` for @running_time on the held canvas without the lock; a
 * drawing counts as new content. Returns after_draw_locked(): on anything but
 * OK the canvas is released and no frame may follow. */
static GstFlowReturn draw_locked(GstCanvasCaptureSrc *self, std::unique_lock<std::mutex> &lk,
                                 const RunState &run, GstClockTime running_time)
{
  GstCanvasCaptureSrcPrivate *priv = self->priv;
  bool drew;
  {
    UnlockedScope unlocked(lk);
    drew = emit_draw(self, running_time);
  }
  if (drew)
    mark_new_content_locked(priv);
  GstFlowReturn ret = after_draw_locked(priv, run);
  if (ret != GST_FLOW_OK)
    release_canvas_locked(priv);
  return ret;
}

static bool canvas_size_negotiated_locked(GstCanvasCaptureSrcPrivate *priv, const RunState &run)
{
  return priv->canvas_width == GST_VIDEO_INFO_WIDTH(&run.info) &&
         priv->canvas_height == GST_VIDEO_INFO_HEIGHT(&run.info);
}

/* Offline rendering: draw for every frame, output every frame, PTS n/rate. */
static GstFlowReturn create_offline(GstCanvasCaptureSrc *self, std::unique_lock<std::mutex> &lk,
                                    RunState &run, GstClockTime stop, GstBuffer **outbuf)
{
  GstCanvasCaptureSrcPrivate *priv = self->priv;
  guint64 n = run.frame_number;
  GstClockTime pts = frame_time(run, n);
  GstClockTime duration = frame_time(run, n + 1) - pts;
  /* Only frames inside the segment (an empty one, start = stop, has none). */
  if (GST_CLOCK_TIME_IS_VALID(stop) && pts >= stop)
    return GST_FLOW_EOS;

  for (;;) {
    Step step = send_pending_locked(self, lk, run);
    if (step.kind == Step::RETURN)
      return step.ret;
    if (step.kind == Step::AGAIN)
      continue;
    if (!acquire_canvas_streaming(self, lk, run))
      return GST_FLOW_FLUSHING;
    if (canvas_size_negotiated_locked(priv, run))
      break;
    /* Resized since negotiation: negotiate again first. */
    run.caps_changed = true;
    release_canvas_locked(priv);
  }

  GstFlowReturn ret = draw_locked(self, lk, run, pts);
  if (ret != GST_FLOW_OK)
    return ret;
  bool muted = run.muted;
  GstBuffer *frame;
  {
    UnlockedScope unlocked(lk);
    frame = muted ? alloc_cleared_frame(self, priv->canvas_width, priv->canvas_height)
                  : make_frame(self);
  }
  if (!muted) {
    priv->new_content = false;
    priv->stats.frames_captured++;
  }
  release_canvas_locked(priv);
  if (!frame)
    return GST_FLOW_ERROR;
  finish_frame_locked(run, frame, pts, duration, false);
  *outbuf = frame;
  return GST_FLOW_OK;
}

/* The pipeline's running time went back to @now (it restarted: a flushing
 * seek taken by another source, a new base time). As a live GstBaseSrc
 * stamping running time does, follow it: the tick grid, the PTS and the idle
 * repeats continue from @now, not from the old running time. */
static void follow_running_time_locked(GstCanvasCaptureSrc *self, RunState &run, GstClockTime now)
{
  if (GST_CLOCK_TIME_IS_VALID(run.last_now) && now < run.last_now) {
    GST_INFO_OBJECT(self, "running time restarted: %" GST_TIME_FORMAT " after %" GST_TIME_FORMAT,
                    GST_TIME_ARGS(now), GST_TIME_ARGS(run.last_now));
    if (run.fps_n > 0) /* the latest tick at or before now, taken at once */
      run.next_tick = gst_util_uint64_scale(now, run.fps_n, (guint64)run.fps_d * GST_SECOND);
    run.last_pts = GST_CLOCK_TIME_NONE;
    if (GST_CLOCK_TIME_IS_VALID(run.last_output))
      run.last_output = now;
    if (GST_CLOCK_TIME_IS_VALID(run.last_picture))
      run.last_picture = now;
  }
  run.last_now = now;
}

/* What makes a paint now: a tick of the timer (CC-6), a request-frame
 * (CC-11) or a drawing. @draw_time: the running time `draw` is emitted for. */
static Opportunity take_opportunity_locked(RunState &run, GstClockTime now, GstClockTime *draw_time)
{
  Opportunity what = Opportunity::NONE;
  *draw_time = now;
  if (run.fps_n > 0 && now >= frame_time(run, run.next_tick)) {
    /* CC-6: the timer sets frameCaptureRequested. The tick is the latest
     * one passed (a late wake-up skips ticks, it does not catch up), and
     * the frame is stamped on the tick grid. */
    guint64 k = gst_util_uint64_scale(now, run.fps_n, (guint64)run.fps_d * GST_SECOND);
    k = MAX(k, run.next_tick);
    while (k > run.next_tick && frame_time(run, k) > now)
      k--;
    what = Opportunity::TICK;
    *draw_time = frame_time(run, k);
    run.capture_requested = true;
    run.next_tick = k + 1;
  }
  if (run.request_pending) {
    /* CC-11 */
    run.request_pending = false;
    run.capture_requested = true;
    if (what == Opportunity::NONE)
      what = Opportunity::REQUEST;
  }
  if (run.paint_pending) {
    run.paint_pending = false;
    if (what == Opportunity::NONE)
      what = Opportunity::PAINT;
  }
  return what;
}

/* The paint: emits `draw` at a tick or request, and captures a frame when
 * the rules say so. */
static Step capture_locked(GstCanvasCaptureSrc *self, std::unique_lock<std::mutex> &lk,
                           RunState &run, Opportunity what, GstClockTime draw_time,
                           GstBuffer **outbuf)
{
  GstCanvasCaptureSrcPrivate *priv = self->priv;
  if (!acquire_canvas_streaming(self, lk, run))
    return Step::finish(GST_FLOW_FLUSHING);
  if (!canvas_size_negotiated_locked(priv, run)) {
    /* Resized since negotiation: negotiate, then paint again. */
    run.caps_changed = true;
    run.paint_pending = true;
    release_canvas_locked(priv);
    return Step::again();
  }
  if (what != Opportunity::TICK)
    draw_time = running_time_now(self); /* after waiting for the canvas */
  if (what != Opportunity::PAINT) {
    GstFlowReturn ret = draw_locked(self, lk, run, draw_time);
    if (ret != GST_FLOW_OK)
      return Step::finish(ret);
  }

  /* CC-8: a paint with new content while a capture is requested makes a
   * frame; CC-3: never while the canvas is not origin-clean. */
  if (!priv->new_content || !run.capture_requested || run.muted) {
    release_canvas_locked(priv);
    return Step::again();
  }
  priv->new_content = false;
  if (run.frame_rate >= 0) /* CC-7/CC-8: with a rate the request is used up */
    run.capture_requested = false;
  GstBuffer *frame;
  {
    UnlockedScope unlocked(lk);
    frame = make_frame(self);
  }
  release_canvas_locked(priv);
  if (!frame)
    return Step::finish(GST_FLOW_ERROR);
  priv->stats.frames_captured++;
  /* A tick's frame is stamped at the tick (LATENCY: one period); any other
   * frame once captured (LATENCY: 0). */
  finish_frame_locked(run, frame, what == Opportunity::TICK ? draw_time : running_time_now(self),
                      GST_CLOCK_TIME_NONE, false);
  *outbuf = frame;
  return Step::finish(GST_FLOW_OK);
}

/* When an idle canvas repeats its last frame next: refresh-interval (a real
 * frame) and the heartbeat (flagged GAP). NONE: off, or nothing sent yet. */
struct IdleDeadlines {
  GstClockTime refresh_at = GST_CLOCK_TIME_NONE;
  GstClockTime heartbeat_at = GST_CLOCK_TIME_NONE;
};

static IdleDeadlines idle_deadlines_locked(GstCanvasCaptureSrcPrivate *priv, const RunState &run)
{
  IdleDeadlines d;
  if (!run.segment_sent)
    return d;
  if (priv->settings.heartbeat_interval > 0)
    d.heartbeat_at = run.last_output + priv->settings.heartbeat_interval * GST_MSECOND;
  if (priv->settings.refresh_interval > 0 && !run.muted)
    d.refresh_at = run.last_picture + priv->settings.refresh_interval * GST_MSECOND;
  return d;
}

/* Idle: repeats the last frame when due. refresh-interval sends it as a
 * frame (not while muted); the heartbeat sends it flagged GAP. Both only
 * while the canvas still holds exactly what was last captured; otherwise a
 * GAP event says time went by. Step::next(): nothing due. */
static Step repeat_idle_frame_locked(GstCanvasCaptureSrc *self, std::unique_lock<std::mutex> &lk,
                                     RunState &run, GstClockTime now, GstBuffer **outbuf)
{
  GstCanvasCaptureSrcPrivate *priv = self->priv;
  IdleDeadlines d = idle_deadlines_locked(priv, run);
  bool refresh = GST_CLOCK_TIME_IS_VALID(d.refresh_at) && now >= d.refresh_at;
  bool heartbeat = GST_CLOCK_TIME_IS_VALID(d.heartbeat_at) && now >= d.heartbeat_at;
  if (!refresh && !heartbeat)
    return Step::next();

  if (priv->new_content) {
    if (refresh)
      run.last_picture = now; /* nothing to re-send until the next capture */
    push_gap_locked(self, lk, run, now);
    return Step::again();
  }
  if (!acquire_canvas_streaming(self, lk, run))
    return Step::finish(GST_FLOW_FLUSHING);
  if (priv->new_content || run.caps_changed) {
    release_canvas_locked(priv); /* drawn meanwhile: start over */
    return Step::again();
  }
  GstBuffer *frame;
  {
    UnlockedScope unlocked(lk);
    frame = make_frame(self);
  }
  release_canvas_locked(priv);
  if (!frame)
    return Step::finish(GST_FLOW_ERROR);
  if (refresh)
    priv->stats.refreshes++;
  else
    priv->stats.gaps++;
  finish_frame_locked(run, frame, running_time_now(self), GST_CLOCK_TIME_NONE, !refresh);
  *outbuf = frame;
  return Step::finish(GST_FLOW_OK);
}

/* The next tick, refresh or heartbeat; NONE: only a wake-up will do. */
static GstClockTime next_deadline_locked(GstCanvasCaptureSrcPrivate *priv, const RunState &run)
{
  GstClockTime deadline = run.fps_n > 0 ? frame_time(run, run.next_tick) : GST_CLOCK_TIME_NONE;
  IdleDeadlines d = idle_deadlines_locked(priv, run);
  for (GstClockTime t : {d.refresh_at, d.heartbeat_at})
    if (GST_CLOCK_TIME_IS_VALID(t))
      deadline = GST_CLOCK_TIME_IS_VALID(deadline) ? MIN(deadline, t) : t;
  return deadline;
}

/* Live: take the opportunity to paint, capture, or repeat an idle frame;
 * otherwise wait for the next deadline or a wake-up. */
static GstFlowReturn create_live(GstCanvasCaptureSrc *self, std::unique_lock<std::mutex> &lk,
                                 RunState &run, GstBuffer **outbuf)
{
  GstCanvasCaptureSrcPrivate *priv = self->priv;
  for (;;) {
    if (run.flushing)
      return GST_FLOW_FLUSHING;
    Step step = send_pending_locked(self, lk, run);
    if (step.kind == Step::RETURN)
      return step.ret;
    if (step.kind == Step::AGAIN)
      continue;

    GstClockTime now = running_time_now(self);
    follow_running_time_locked(self, run, now);
    GstClockTime draw_time;
    Opportunity what = take_opportunity_locked(run, now, &draw_time);
    if (what != Opportunity::NONE)
      step = capture_locked(self, lk, run, what, draw_time, outbuf);
    else
      step = repeat_idle_frame_locked(self, lk, run, now, outbuf);
    if (step.kind == Step::RETURN)
      return step.ret;
    if (step.kind == Step::NEXT)
      wait_until_locked(self, lk, run, next_deadline_locked(priv, run));
  }
}

static GstFlowReturn gst_canvas_capture_src_create(GstPushSrc *src, GstBuffer **outbuf)
{
  GstCanvasCaptureSrc *self = GST_CANVAS_CAPTURE_SRC(src);
  GstCanvasCaptureSrcPrivate *priv = self->priv;
  /* The segment only changes in do_seek(), never while create() runs. */
  GST_OBJECT_LOCK(self);
  GstClockTime stop = GST_BASE_SRC(self)->segment.stop;
  GST_OBJECT_UNLOCK(self);

  std::unique_lock<std::mutex> lk(priv->lock);
  /* Ours until create() returns, even if stop() drops it meanwhile (a state
   * change from inside a draw handler). */
  std::shared_ptr<RunState> run = priv->run;
  if (!run)
    return GST_FLOW_FLUSHING;
  return run->is_live ? create_live(self, lk, *run, outbuf)
                      : create_offline(self, lk, *run, stop, outbuf);
}

/* ------------------------------------------------------------------------ */
/* GstBaseSrc */

static GstCaps *build_caps_locked(GstCanvasCaptureSrcPrivate *priv)
{
  const Settings &s = priv->settings;
  GstVideoInfo info;
  gst_video_info_set_format(&info, s.alpha ? CANVAS_FORMAT_ALPHA : CANVAS_FORMAT_OPAQUE, s.width,
                            s.height);
  GST_VIDEO_INFO_PAR_N(&info) = 1;
  GST_VIDEO_INFO_PAR_D(&info) = 1;
  gint fps_n = 0, fps_d = 1;
  gdouble rate = s.is_live ? MIN(s.frame_rate, MAX_FRAME_RATE) : s.frame_rate;
  if (std::isfinite(rate) && rate > 0)
    gst_util_double_to_fraction(rate, &fps_n, &fps_d);
  if (s.is_live) {
    /* Frames come only on change: variable rate, the frame-rate a ceiling. */
    GST_VIDEO_INFO_FPS_N(&info) = 0;
    GST_VIDEO_INFO_FPS_D(&info) = 1;
  } else {
    GST_VIDEO_INFO_FPS_N(&info) = fps_n;
    GST_VIDEO_INFO_FPS_D(&info) = fps_d;
  }
  GstCaps *caps = gst_video_info_to_caps(&info);
  if (s.is_live && fps_n > 0)
    gst_caps_set_simple(caps, "max-framerate", GST_TYPE_FRACTION, fps_n, fps_d, NULL);
  return caps;
}

static GstCaps *gst_canvas_capture_src_get_caps(GstBaseSrc *src, GstCaps *filter)
{
  GstCanvasCaptureSrc *self = GST_CANVAS_CAPTURE_SRC(src);
  GstCaps *caps;
  {
    std::lock_guard<std::mutex> guard(self->priv->lock);
    caps = build_caps_locked(self->priv);
  }
  if (filter) {
    GstCaps *tmp = gst_caps_intersect_full(filter, caps, GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref(caps);
    caps = tmp;
  }
  return caps;
}

static gboolean gst_canvas_capture_src_set_caps(GstBaseSrc *src, GstCaps *caps)
{
  GstCanvasCaptureSrc *self = GST_CANVAS_CAPTURE_SRC(src);
  GstVideoInfo info;
  if (!gst_video_info_from_caps(&info, caps))
    return FALSE;
  GST_DEBUG_OBJECT(self, "negotiated %" GST_PTR_FORMAT, caps);
  std::lock_guard<std::mutex> guard(self->priv->lock);
  if (self->priv->run) /* none after a stop() from inside a draw handler */
    self->priv->run->info = info;
  return TRUE;
}

/* Frames come from our own video pool with no upper bound, so that neither
 * drawing nor capture ever blocks on downstream holding frames; the pool
 * recycles them, so a long run does not grow. */
static gboolean gst_canvas_capture_src_decide_allocation(GstBaseSrc *src, GstQuery *query)
{
  GstCaps *caps = nullptr;
  gst_query_parse_allocation(query, &caps, nullptr);
  GstVideoInfo info;
  if (!caps || !gst_video_info_from_caps(&info, caps))
    return FALSE;

  GstAllocator *allocator = nullptr;
  GstAllocationParams params;
  gst_allocation_params_init(&params);
  if (gst_query_get_n_allocation_params(query) > 0)
    gst_query_parse_nth_allocation_param(query, 0, &allocator, &params);
  /* Plain system memory asked for (or nothing): the element's own, in huge
   * pages for large canvases (canvaspixels.h). */
  if (!allocator || g_strcmp0(allocator->mem_type, GST_ALLOCATOR_SYSMEM) == 0) {
    if (allocator)
      gst_object_unref(allocator);
    allocator = GST_ALLOCATOR(gst_object_ref(canvas_pixels::frame_allocator()));
  }

  GstBufferPool *pool = gst_video_buffer_pool_new();
  GstStructure *config = gst_buffer_pool_get_config(pool);
  gst_buffer_pool_config_set_params(config, caps, info.size, 2, 0);
  gst_buffer_pool_config_set_allocator(config, allocator, &params);
  if (!gst_buffer_pool_set_config(pool, config)) {
    GST_ERROR_OBJECT(src, "could not configure the frame pool");
    if (allocator)
      gst_object_unref(allocator);
    gst_object_unref(pool);
    return FALSE;
  }
  if (allocator)
    gst_object_unref(allocator);

  if (gst_query_get_n_allocation_pools(query) > 0)
    gst_query_set_nth_allocation_pool(query, 0, pool, info.size, 2, 0);
  else
    gst_query_add_allocation_pool(query, pool, info.size, 2, 0);
  gst_object_unref(pool);
  return TRUE;
}

/* Why Cairo could not load @location, for the error's debug text: Cairo
 * 1.16 says "out of memory" for a file that is not a PNG and "error while
 * reading from input stream" for a directory. */
static std::string png_failure(const std::string &location, cairo_status_t status)
{
  if (g_file_test(location.c_str(), G_FILE_TEST_IS_DIR))
    return "a directory, not a PNG file";
  if (status == CAIRO_STATUS_NO_MEMORY || status == CAIRO_STATUS_READ_ERROR) {
    if (FILE *f = fopen(location.c_str(), "rb")) {
      static const guint8 signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
      guint8 head[8] = {0};
      size_t n = fread(head, 1, sizeof head, f);
      fclose(f);
      if (n < sizeof head || memcmp(head, signature, sizeof head) != 0)
        return "not a PNG file (no PNG signature)";
      return std::string("a damaged PNG file (cairo: ") + cairo_status_to_string(status) + ")";
    }
  }
  return std::string("cairo: ") + cairo_status_to_string(status);
}

/* Draws the `location` PNG at (0, 0): the initial content, a paint. The
 * thread starting the element may hold the canvas itself (begin-draw, then
 * the state change): waiting for the canvas would wait for ourselves, so the
 * PNG goes onto the surface of that open session instead. Another thread
 * holding it may be waiting for the state lock we run under (a state change
 * or a seek between its begin-draw and end-draw): the PNG is then drawn by
 * whoever takes the canvas next, after that thread's end-draw, which is when
 * waiting would have drawn it. */
static bool load_location(GstCanvasCaptureSrc *self, const std::string &location)
{
  GstCanvasCaptureSrcPrivate *priv = self->priv;
  cairo_surface_t *png = cairo_image_surface_create_from_png(location.c_str());
  cairo_status_t status = cairo_surface_status(png);
  if (status != CAIRO_STATUS_SUCCESS) {
    cairo_surface_destroy(png);
    const std::string why = png_failure(location, status);
    GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ,
                      (_("Could not read the PNG image \"%s\" (location)."), location.c_str()),
                      ("%s", why.c_str()));
    return false;
  }

  std::unique_lock<std::mutex> lk(priv->lock);
  bool own_session =
      priv->canvas_busy && priv->canvas_owner == std::this_thread::get_id() && priv->session_cr;
  if (!own_session && (priv->canvas_busy || priv->streaming_waiting)) {
    GST_DEBUG_OBJECT(self, "canvas held by another thread: %s drawn when it is free",
                     location.c_str());
    if (priv->pending_png)
      cairo_surface_destroy(priv->pending_png);
    priv->pending_png = png;
    if (priv->run)
      priv->run->paint_pending = true; /* the streaming thread takes the canvas next */
    wake_locked(priv);
    return true;
  }
  if (!own_session)
    acquire_canvas_app(self, lk);
  cairo_t *session_cr = own_session ? priv->session_cr : nullptr;
  {
    UnlockedScope unlocked(lk);
    cairo_t *cr = own_session ? cairo_create(cairo_get_target(session_cr)) : open_session(self);
    if (cr) {
      cairo_set_source_surface(cr, png, 0, 0);
      cairo_paint(cr);
      if (own_session)
        cairo_destroy(cr);
    }
    if (!own_session)
      close_session(self);
  }
  cairo_surface_destroy(png);
  if (!own_session)
    release_canvas_locked(priv);
  paint_locked(priv);
  return true;
}

/* CC-2, CC-4 and offline rendering's needs: whether @s can start (else
 * posts the error). @fps_n/@fps_d: the timer's (live) or the frames' rate. */
static bool validate_settings(GstCanvasCaptureSrc *self, const Settings &s, gint *fps_n,
                              gint *fps_d)
{
  gdouble rate = s.frame_rate;
  if (!std::isfinite(rate)) {
    /* CC-4: WebIDL double, not unrestricted: NaN and infinities. */
    GST_WEB_ERROR_F(self, GST_WEB_ERROR_TYPE, nullptr, "frame-rate is NaN or infinite",
                    _("frame-rate must be a finite number (%g)."), rate);
    return false;
  }
  if (rate < 0 && rate != FRAME_RATE_UNSET) {
    /* CC-4 */
    GST_WEB_ERROR_F(self, GST_WEB_ERROR_NOT_SUPPORTED, nullptr, nullptr,
                    _("frame-rate must not be negative (%g); use -1 for no rate."), rate);
    return false;
  }
  if (!s.is_live && rate <= 0) {
    GST_WEB_ERROR_F(self, GST_WEB_ERROR_NOT_SUPPORTED, nullptr, nullptr,
                    _("offline rendering (is-live=false) needs a frame-rate above 0 (%g)."), rate);
    return false;
  }
  if (!s.origin_clean) {
    /* CC-2 */
    GST_WEB_ERROR(self, GST_WEB_ERROR_SECURITY, nullptr,
                  _("the canvas is not origin-clean (origin-clean=false); it cannot be "
                    "captured."),
                  nullptr);
    return false;
  }
  if (rate > MAX_FRAME_RATE) {
    if (!s.is_live) {
      GST_WEB_ERROR_F(self, GST_WEB_ERROR_NOT_SUPPORTED, nullptr, nullptr,
                      _("offline rendering (is-live=false) takes a frame-rate up to %g (%g)."),
                      MAX_FRAME_RATE, rate);
      return false;
    }
    GST_INFO_OBJECT(self, "frame-rate %g is taken as %g, the highest rate the timer ticks at", rate,
                    MAX_FRAME_RATE);
    rate = MAX_FRAME_RATE;
  }
  *fps_n = 0;
  *fps_d = 1;
  if (rate > 0)
    gst_util_double_to_fraction(rate, fps_n, fps_d);
  if (*fps_n <= 0 && rate > 0) {
    GST_WEB_ERROR_F(self, GST_WEB_ERROR_NOT_SUPPORTED, nullptr, nullptr,
                    _("frame-rate %g is too small."), rate);
    return false;
  }
  return true;
}

static gboolean gst_canvas_capture_src_start(GstBaseSrc *src)
{
  GstCanvasCaptureSrc *self = GST_CANVAS_CAPTURE_SRC(src);
  GstCanvasCaptureSrcPrivate *priv = self->priv;
  Settings settings;
  {
    std::lock_guard<std::mutex> guard(priv->lock);
    settings = priv->settings;
  }
  auto run = std::make_shared<RunState>();
  if (!validate_settings(self, settings, &run->fps_n, &run->fps_d))
    return FALSE;
  run->is_live = settings.is_live;
  run->frame_rate = settings.frame_rate;
  {
    std::lock_guard<std::mutex> guard(priv->lock);
    run->paint_pending = priv->new_content; /* drawn before start: captured at once */
    priv->stats = Stats();                  /* counted since the element last started */
    priv->run = run;
  }
  if (!settings.location.empty() && !load_location(self, settings.location)) {
    std::lock_guard<std::mutex> guard(priv->lock);
    priv->run.reset();
    return FALSE;
  }
  return TRUE;
}

static gboolean gst_canvas_capture_src_stop(GstBaseSrc *src)
{
  GstCanvasCaptureSrc *self = GST_CANVAS_CAPTURE_SRC(src);
  GstCanvasCaptureSrcPrivate *priv = self->priv;
  std::shared_ptr<RunState> run;
  {
    std::lock_guard<std::mutex> guard(priv->lock);
    run = std::move(priv->run);
  }
  if (run && run->muted) /* a stopped element is not muted */
    g_object_notify(G_OBJECT(self), "muted");
  return TRUE;
}

static gboolean gst_canvas_capture_src_unlock(GstBaseSrc *src)
{
  GstCanvasCaptureSrc *self = GST_CANVAS_CAPTURE_SRC(src);
  std::lock_guard<std::mutex> guard(self->priv->lock);
  if (self->priv->run)
    self->priv->run->flushing = true;
  wake_locked(self->priv);
  return TRUE;
}

static gboolean gst_canvas_capture_src_unlock_stop(GstBaseSrc *src)
{
  GstCanvasCaptureSrc *self = GST_CANVAS_CAPTURE_SRC(src);
  std::lock_guard<std::mutex> guard(self->priv->lock);
  if (self->priv->run)
    self->priv->run->flushing = false;
  return TRUE;
}

static gboolean gst_canvas_capture_src_query(GstBaseSrc *src, GstQuery *query)
{
  GstCanvasCaptureSrc *self = GST_CANVAS_CAPTURE_SRC(src);
  GstCanvasCaptureSrcPrivate *priv = self->priv;

  if (GST_QUERY_TYPE(query) == GST_QUERY_LATENCY) {
    std::lock_guard<std::mutex> guard(priv->lock);
    const RunState *run = priv->run.get();
    if (!run)
      return FALSE;
    if (run->is_live) {
      /* A frame stamped at a tick leaves once the draw handler is done: it
       * has one frame period. Other frames are stamped once captured. */
      GstClockTime min = run->fps_n > 0 ? frame_period(*run) : 0;
      gst_query_set_latency(query, TRUE, min, GST_CLOCK_TIME_NONE);
    } else {
      gst_query_set_latency(query, FALSE, 0, GST_CLOCK_TIME_NONE);
    }
    return TRUE;
  }
  return GST_BASE_SRC_CLASS(parent_class)->query(src, query);
}

static gboolean gst_canvas_capture_src_is_seekable(GstBaseSrc *src)
{
  GstCanvasCaptureSrc *self = GST_CANVAS_CAPTURE_SRC(src);
  std::lock_guard<std::mutex> guard(self->priv->lock);
  /* Offline rendering is deterministic: any frame can be rendered first. */
  return !self->priv->settings.is_live;
}

/* A seek whose start falls after the stop it keeps (stop type NONE after a
 * seek that set one: [3 s, 3.5 s), then 4 s) gave a CRITICAL in GstBaseSrc
 * (gst_segment_do_seek: start <= stop) and a seek reported done that did not
 * move: that stop no longer applies, the seek plays from its start to the
 * end. A seek that sets a start after its own stop (or keeps a start after
 * its new stop) is refused. Offline, a negative rate is refused here, before
 * GstBaseSrc flushes: refused by do_seek() after the flush, the next frame
 * went out with no segment (GStreamer-WARNING "Got data flow before segment
 * event"). Returns the seek to perform (@seek or a new event, a reference),
 * or NULL to refuse it. */
static GstEvent *checked_seek(GstBaseSrc *src, GstEvent *seek)
{
  gdouble rate;
  GstFormat format;
  GstSeekFlags flags;
  GstSeekType start_type, stop_type;
  gint64 start, stop;
  gst_event_parse_seek(seek, &rate, &format, &flags, &start_type, &start, &stop_type, &stop);
  if (rate < 0) {
    GstCanvasCaptureSrcPrivate *priv = GST_CANVAS_CAPTURE_SRC(src)->priv;
    std::lock_guard<std::mutex> guard(priv->lock);
    if (!(priv->run ? priv->run->is_live : priv->settings.is_live)) {
      GST_WARNING_OBJECT(src, "seek refused: offline rendering plays forwards only (rate %g)",
                         rate);
      return nullptr;
    }
  }
  GST_OBJECT_LOCK(src);
  const GstFormat segment_format = src->segment.format;
  const guint64 kept_start = src->segment.start, kept_stop = src->segment.stop;
  GST_OBJECT_UNLOCK(src);
  const bool known_types = (start_type == GST_SEEK_TYPE_SET || start_type == GST_SEEK_TYPE_NONE) &&
                           (stop_type == GST_SEEK_TYPE_SET || stop_type == GST_SEEK_TYPE_NONE);
  if (format != segment_format || !known_types)
    return gst_event_ref(seek);
  const guint64 new_start = start_type == GST_SEEK_TYPE_SET ? (guint64)start : kept_start;
  const guint64 new_stop = stop_type == GST_SEEK_TYPE_SET ? (guint64)stop : kept_stop;
  if (new_stop == GST_CLOCK_TIME_NONE || new_start == GST_CLOCK_TIME_NONE || new_start <= new_stop)
    return gst_event_ref(seek);
  if (stop_type == GST_SEEK_TYPE_SET || start_type == GST_SEEK_TYPE_NONE) {
    GST_WARNING_OBJECT(src, "seek refused: start %" GST_TIME_FORMAT " after stop %" GST_TIME_FORMAT,
                       GST_TIME_ARGS(new_start), GST_TIME_ARGS(new_stop));
    return nullptr;
  }
  GST_INFO_OBJECT(
      src, "seek to %" GST_TIME_FORMAT " after the kept stop %" GST_TIME_FORMAT ": to the end",
      GST_TIME_ARGS(new_start), GST_TIME_ARGS(new_stop));
  GstEvent *open = gst_event_new_seek(rate, format, flags, start_type, start, GST_SEEK_TYPE_SET,
                                      (gint64)GST_CLOCK_TIME_NONE);
  gst_event_set_seqnum(open, gst_event_get_seqnum(seek));
  return open;
}

/* Seeks arrive on the src pad (from downstream)... */
static gboolean gst_canvas_capture_src_event(GstBaseSrc *src, GstEvent *event)
{
  if (GST_EVENT_TYPE(event) != GST_EVENT_SEEK)
    return GST_BASE_SRC_CLASS(parent_class)->event(src, event);
  GstEvent *seek = checked_seek(src, event);
  if (!seek)
    return FALSE;
  gboolean ret = GST_BASE_SRC_CLASS(parent_class)->event(src, seek);
  gst_event_unref(seek);
  return ret;
}

/* ...or are sent to the element (gst_element_send_event). */
static gboolean gst_canvas_capture_src_send_event(GstElement *element, GstEvent *event)
{
  if (GST_EVENT_TYPE(event) == GST_EVENT_SEEK) {
    GstEvent *seek = checked_seek(GST_BASE_SRC(element), event);
    gst_event_unref(event);
    if (!seek)
      return FALSE;
    event = seek;
  }
  return GST_ELEMENT_CLASS(parent_class)->send_event(element, event);
}

static gboolean gst_canvas_capture_src_do_seek(GstBaseSrc *src, GstSegment *segment)
{
  GstCanvasCaptureSrc *self = GST_CANVAS_CAPTURE_SRC(src);
  GstCanvasCaptureSrcPrivate *priv = self->priv;
  std::lock_guard<std::mutex> guard(priv->lock);
  RunState *run = priv->run.get();

  if (run ? run->is_live : priv->settings.is_live)
    return GST_BASE_SRC_CLASS(parent_class)->do_seek(src, segment);
  if (!run || segment->rate < 0 || run->fps_n <= 0)
    return FALSE;
  /* The first frame at or after the segment start; PTS n/rate exactly. */
  guint64 n =
      gst_util_uint64_scale_ceil(segment->position, run->fps_n, (guint64)run->fps_d * GST_SECOND);
  run->frame_number = n;
  run->last_pts = GST_CLOCK_TIME_NONE;
  run->last_output = GST_CLOCK_TIME_NONE;
  run->last_picture = GST_CLOCK_TIME_NONE;
  segment->position = frame_time(*run, n);
  if (GST_CLOCK_TIME_IS_VALID(segment->stop))
    segment->position = MIN(segment->position, segment->stop);
  segment->time = segment->start;
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* GObject */

static GstStructure *stats_locked(GstCanvasCaptureSrcPrivate *priv)
{
  const Stats &s = priv->stats;
  return gst_structure_new("stats", "frames-captured", G_TYPE_UINT64, s.frames_captured, "paints",
                           G_TYPE_UINT64, s.paints, "paints-coalesced", G_TYPE_UINT64,
                           s.paints_coalesced, "requests", G_TYPE_UINT64, s.requests, "refreshes",
                           G_TYPE_UINT64, s.refreshes, "gaps", G_TYPE_UINT64, s.gaps,
                           "canvas-copies", G_TYPE_UINT64, s.canvas_copies, NULL);
}

static void gst_canvas_capture_src_set_property(GObject *object, guint prop_id, const GValue *value,
                                                GParamSpec *pspec)
{
  GstCanvasCaptureSrc *self = GST_CANVAS_CAPTURE_SRC(object);
  GstCanvasCaptureSrcPrivate *priv = self->priv;

  switch (prop_id) {
  case PROP_FRAME_RATE:
  case PROP_ALPHA:
  case PROP_IS_LIVE:
  case PROP_LOCATION:
    /* A run copies them at start: NULL/READY only, the project's one policy. */
    if (!gst_webcapture_property_settable(GST_ELEMENT(self), pspec->name))
      return;
    break;
  default:
    break;
  }
  g_autofree gchar *text = g_strdup_value_contents(value);
  GST_INFO_OBJECT(self, "%s = %s", pspec->name, text);

  bool notify_muted = false;
  std::unique_lock<std::mutex> lk(priv->lock);
  Settings &s = priv->settings;
  RunState *run = priv->run.get();
  switch (prop_id) {
  case PROP_WIDTH:
  case PROP_HEIGHT:
    if (prop_id == PROP_WIDTH)
      s.width = g_value_get_int(value);
    else
      s.height = g_value_get_int(value);
    /* CC-1: setting either, even to its value, resets the canvas as in HTML;
     * while running, the cleared canvas is the next frame, in the new size. */
    priv->canvas_reset_pending = true;
    if (run) {
      run->caps_changed = true;
      paint_locked(priv);
    }
    break;
  case PROP_FRAME_RATE:
    s.frame_rate = g_value_get_double(value);
    break;
  case PROP_ALPHA:
    s.alpha = g_value_get_boolean(value);
    break;
  case PROP_ORIGIN_CLEAN:
    s.origin_clean = g_value_get_boolean(value);
    if (run && run->muted == s.origin_clean) {
      /* CC-3: capture stops at once, and resumes when clean again. */
      run->muted = !s.origin_clean;
      run->track_state_pending = true;
      run->paint_pending = !run->muted; /* what is there now may be captured */
      notify_muted = true;
      wake_locked(priv);
    }
    break;
  case PROP_IS_LIVE: {
    s.is_live = g_value_get_boolean(value);
    UnlockedScope unlocked(lk);
    gst_base_src_set_live(GST_BASE_SRC(self), g_value_get_boolean(value));
    break;
  }
  case PROP_LOCATION: {
    const gchar *location = g_value_get_string(value);
    s.location = location ? location : "";
    break;
  }
  case PROP_REFRESH_INTERVAL:
    s.refresh_interval = g_value_get_uint(value);
    wake_locked(priv);
    break;
  case PROP_HEARTBEAT_INTERVAL:
    s.heartbeat_interval = g_value_get_uint(value);
    wake_locked(priv);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
  lk.unlock();
  if (notify_muted)
    g_object_notify(object, "muted");
}

static void gst_canvas_capture_src_get_property(GObject *object, guint prop_id, GValue *value,
                                                GParamSpec *pspec)
{
  GstCanvasCaptureSrc *self = GST_CANVAS_CAPTURE_SRC(object);
  GstCanvasCaptureSrcPrivate *priv = self->priv;
  std::lock_guard<std::mutex> guard(priv->lock);
  const Settings &s = priv->settings;

  switch (prop_id) {
  case PROP_WIDTH:
    g_value_set_int(value, s.width);
    break;
  case PROP_HEIGHT:
    g_value_set_int(value, s.height);
    break;
  case PROP_FRAME_RATE:
    g_value_set_double(value, s.frame_rate);
    break;
  case PROP_ALPHA:
    g_value_set_boolean(value, s.alpha);
    break;
  case PROP_ORIGIN_CLEAN:
    g_value_set_boolean(value, s.origin_clean);
    break;
  case PROP_MUTED:
    g_value_set_boolean(value, priv->run && priv->run->muted);
    break;
  case PROP_IS_LIVE:
    g_value_set_boolean(value, s.is_live);
    break;
  case PROP_LOCATION:
    g_value_set_string(value, s.location.empty() ? nullptr : s.location.c_str());
    break;
  case PROP_REFRESH_INTERVAL:
    g_value_set_uint(value, s.refresh_interval);
    break;
  case PROP_HEARTBEAT_INTERVAL:
    g_value_set_uint(value, s.heartbeat_interval);
    break;
  case PROP_STATS:
    g_value_take_boxed(value, stats_locked(priv));
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
}

static void gst_canvas_capture_src_finalize(GObject *object)
{
  GstCanvasCaptureSrc *self = GST_CANVAS_CAPTURE_SRC(object);
  delete self->priv;
  self->priv = nullptr;
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

/* `draw` handlers each say whether they drew; the canvas has new content if
 * any of them did. */
static gboolean draw_accumulator(GSignalInvocationHint *, GValue *return_accu,
                                 const GValue *handler_return, gpointer)
{
  gboolean drew = g_value_get_boolean(return_accu) || g_value_get_boolean(handler_return);
  g_value_set_boolean(return_accu, drew);
  return TRUE;
}

static void gst_canvas_capture_src_class_init(GstCanvasCaptureSrcClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstBaseSrcClass *basesrc_class = GST_BASE_SRC_CLASS(klass);
  GstPushSrcClass *pushsrc_class = GST_PUSH_SRC_CLASS(klass);

  GST_DEBUG_CATEGORY_INIT(gst_canvas_capture_src_debug, "canvascapturesrc", 0,
                          "Canvas capture source");

  gobject_class->set_property = GST_DEBUG_FUNCPTR(gst_canvas_capture_src_set_property);
  gobject_class->get_property = GST_DEBUG_FUNCPTR(gst_canvas_capture_src_get_property);
  gobject_class->finalize = GST_DEBUG_FUNCPTR(gst_canvas_capture_src_finalize);

  const GParamFlags rw = (GParamFlags)(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  const GParamFlags rw_ready = (GParamFlags)(rw | GST_PARAM_MUTABLE_READY);
  const GParamFlags rw_playing = (GParamFlags)(rw | GST_PARAM_MUTABLE_PLAYING);

  g_object_class_install_property(
      gobject_class, PROP_WIDTH,
      g_param_spec_int("width", "Width",
                       "Canvas width in pixels (HTML default 300). Setting it, even while "
                       "playing and even to the same value, clears the canvas and the next "
                       "frame has the new size (CC-1)",
                       1, MAX_SIZE, DEFAULT_WIDTH, rw_playing));
  g_object_class_install_property(
      gobject_class, PROP_HEIGHT,
      g_param_spec_int("height", "Height",
                       "Canvas height in pixels (HTML default 150). Setting it clears the "
                       "canvas, as width does",
                       1, MAX_SIZE, DEFAULT_HEIGHT, rw_playing));
  /* Unbounded and lax so that NaN and infinities reach start(), which refuses
   * them with TypeError as WebIDL does (CC-4). */
  g_object_class_install_property(
      gobject_class, PROP_FRAME_RATE,
      g_param_spec_double("frame-rate", "Frame rate",
                          "captureStream(frameRequestRate): -1 = not given, every paint with "
                          "new content is captured; 0 = only after request-frame; > 0 = at most "
                          "this many frames per second, each only if the canvas changed (above "
                          "1000: 1000 when live, refused offline). Other negative values: "
                          "NotSupportedError; NaN/inf: TypeError (at start)",
                          -INFINITY, INFINITY, DEFAULT_FRAME_RATE,
                          (GParamFlags)(rw_ready | G_PARAM_LAX_VALIDATION)));
  g_object_class_install_property(
      gobject_class, PROP_ALPHA,
      g_param_spec_boolean("alpha", "Alpha",
                           "TRUE: transparent canvas, BGRA output with straight alpha (CC-10). "
                           "FALSE: opaque canvas (black), BGRx output with no pixel conversion",
                           TRUE, rw_ready));
  g_object_class_install_property(
      gobject_class, PROP_ORIGIN_CLEAN,
      g_param_spec_boolean("origin-clean", "Origin clean",
                           "Whether the canvas holds only same-origin content. FALSE at start: "
                           "SecurityError, the element does not start (CC-2). Turned FALSE "
                           "while playing: the track is muted and no frame is captured, not "
                           "even on request-frame, until it is TRUE again (CC-3)",
                           TRUE, rw_playing));
  g_object_class_install_property(
      gobject_class, PROP_MUTED,
      g_param_spec_boolean("muted", "Muted",
                           "TRUE while capture is stopped because the canvas is not "
                           "origin-clean (notifies; also sent downstream as the "
                           "mediastream-track-state event)",
                           FALSE, (GParamFlags)(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
  g_object_class_install_property(
      gobject_class, PROP_IS_LIVE,
      g_param_spec_boolean("is-live", "Is live",
                           "TRUE: a live track, frames stamped with the pipeline running time. "
                           "FALSE: offline rendering, needs frame-rate > 0: frame n has PTS "
                           "n/frame-rate, draw is emitted and a frame output for every frame, "
                           "as fast as downstream consumes",
                           TRUE, rw_ready));
  g_object_class_install_property(
      gobject_class, PROP_LOCATION,
      g_param_spec_string("location", "Location",
                          "PNG file drawn at the top-left corner of the canvas when the element "
                          "starts (initial content); NULL for none",
                          nullptr, rw_ready));
  g_object_class_install_property(
      gobject_class, PROP_REFRESH_INTERVAL,
      g_param_spec_uint("refresh-interval", "Refresh interval",
                        "Milliseconds after which an idle live canvas sends its last frame "
                        "again with a new timestamp, for late receivers and keyframe requests. "
                        "0 = off, as the spec (CC-9)",
                        0, G_MAXUINT, 0, rw_playing));
  g_object_class_install_property(
      gobject_class, PROP_HEARTBEAT_INTERVAL,
      g_param_spec_uint("heartbeat-interval", "Heartbeat interval",
                        "Milliseconds after which an idle live canvas repeats its last frame "
                        "flagged GAP (not a new frame: a sign of life), so that live encoders "
                        "and muxers downstream do not wait for it. 0 = off: a static canvas "
                        "sends nothing at all (CC-9), and a muxer fed by it may stall",
                        0, G_MAXUINT, DEFAULT_HEARTBEAT_INTERVAL, rw_playing));
  g_object_class_install_property(
      gobject_class, PROP_STATS,
      g_param_spec_boxed("stats", "Statistics",
                         "Counters (guint64): frames-captured, paints (paints with new "
                         "content), paints-coalesced (paints never captured on their own), "
                         "requests (request-frame calls), refreshes, gaps (idle heartbeats: "
                         "the last frame repeated with the GAP flag each heartbeat-interval, "
                         "or a GAP event), canvas-copies (copy-on-write of the canvas before a "
                         "drawing because downstream still held it as a frame; frames made as "
                         "copies for a downstream that keeps them are not counted)",
                         GST_TYPE_STRUCTURE,
                         (GParamFlags)(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

  /**
   * GstCanvasCaptureSrc::draw:
   * @src: the element
   * @cr: a cairo context on the canvas, valid during the emission only
   * @running_time: the running time the frame is for
   *
   * Emitted on the streaming thread at every capture opportunity: each tick
   * when frame-rate > 0, each request-frame, every frame when offline.
   * Returns: TRUE if the handler drew new content.
   */
  signals[SIGNAL_DRAW] = g_signal_new(
      "draw", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, draw_accumulator, nullptr, nullptr,
      G_TYPE_BOOLEAN, 2, CAIRO_GOBJECT_TYPE_CONTEXT | G_SIGNAL_TYPE_STATIC_SCOPE, G_TYPE_UINT64);

  /**
   * GstCanvasCaptureSrc::request-frame:
   *
   * CanvasCaptureMediaStreamTrack.requestFrame(): the next painted content
   * is captured, whatever the frame-rate (CC-11). Any thread.
   */
  signals[SIGNAL_REQUEST_FRAME] = g_signal_new_class_handler(
      "request-frame", G_TYPE_FROM_CLASS(klass),
      (GSignalFlags)(G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION),
      G_CALLBACK(GST_DEBUG_FUNCPTR(request_frame)), nullptr, nullptr, nullptr, G_TYPE_NONE, 0);

  /**
   * GstCanvasCaptureSrc::begin-draw:
   *
   * Locks the canvas for the calling thread (waits while another holds it)
   * and returns a new cairo_t reference on it, content preserved. Any thread.
   * Returns NULL if the calling thread already holds the canvas.
   */
  signals[SIGNAL_BEGIN_DRAW] = g_signal_new_class_handler(
      "begin-draw", G_TYPE_FROM_CLASS(klass), (GSignalFlags)(G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION),
      G_CALLBACK(GST_DEBUG_FUNCPTR(begin_draw)), nullptr, nullptr, nullptr,
      CAIRO_GOBJECT_TYPE_CONTEXT, 0);

  /**
   * GstCanvasCaptureSrc::end-draw:
   * @cr: the cairo_t begin-draw returned
   *
   * Unlocks the canvas; what was drawn is new content (a paint).
   */
  signals[SIGNAL_END_DRAW] = g_signal_new_class_handler(
      "end-draw", G_TYPE_FROM_CLASS(klass), (GSignalFlags)(G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION),
      G_CALLBACK(GST_DEBUG_FUNCPTR(end_draw)), nullptr, nullptr, nullptr, G_TYPE_NONE, 1,
      CAIRO_GOBJECT_TYPE_CONTEXT | G_SIGNAL_TYPE_STATIC_SCOPE);

  gst_element_class_set_static_metadata(
      element_class, "Canvas capture source", "Source/Video",
      "A live video track of what is drawn on a Cairo canvas, captured with the rules of "
      "HTMLCanvasElement.captureStream(): frame-rate, request-frame, origin-clean",
      "GStreamer Web Capture developers");
  gst_element_class_add_static_pad_template(element_class, &src_template);

  basesrc_class->get_caps = GST_DEBUG_FUNCPTR(gst_canvas_capture_src_get_caps);
  basesrc_class->set_caps = GST_DEBUG_FUNCPTR(gst_canvas_capture_src_set_caps);
  basesrc_class->decide_allocation = GST_DEBUG_FUNCPTR(gst_canvas_capture_src_decide_allocation);
  basesrc_class->start = GST_DEBUG_FUNCPTR(gst_canvas_capture_src_start);
  basesrc_class->stop = GST_DEBUG_FUNCPTR(gst_canvas_capture_src_stop);
  basesrc_class->unlock = GST_DEBUG_FUNCPTR(gst_canvas_capture_src_unlock);
  basesrc_class->unlock_stop = GST_DEBUG_FUNCPTR(gst_canvas_capture_src_unlock_stop);
  basesrc_class->query = GST_DEBUG_FUNCPTR(gst_canvas_capture_src_query);
  basesrc_class->is_seekable = GST_DEBUG_FUNCPTR(gst_canvas_capture_src_is_seekable);
  basesrc_class->do_seek = GST_DEBUG_FUNCPTR(gst_canvas_capture_src_do_seek);
  basesrc_class->event = GST_DEBUG_FUNCPTR(gst_canvas_capture_src_event);
  element_class->send_event = GST_DEBUG_FUNCPTR(gst_canvas_capture_src_send_event);
  pushsrc_class->create = GST_DEBUG_FUNCPTR(gst_canvas_capture_src_create);
}

static void gst_canvas_capture_src_init(GstCanvasCaptureSrc *self)
{
  self->priv = new GstCanvasCaptureSrcPrivate();
  gst_base_src_set_live(GST_BASE_SRC(self), TRUE);
  gst_base_src_set_format(GST_BASE_SRC(self), GST_FORMAT_TIME);
}
