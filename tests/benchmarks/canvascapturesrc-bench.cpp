/* canvascapturesrc-bench: how much canvascapturesrc costs next to its peers.
 *
 * A. Offline export (is-live=false), same scene drawn by every producer:
 *    A1 canvascapturesrc with a `draw` handler (alpha=false and alpha=true),
 *    A2 what applications do today: appsrc fed from the app's own Cairo
 *       surface, one fresh buffer + memcpy per frame,
 *    A3 videotestsrc pattern=solid-color (the cost of just producing frames).
 * B. Live capture at 30 fps into a synchronising sink: CPU %, PTS jitter
 *    against the running-time grid k/30 s, delivery delay.
 *
 * Prints figures only; time is never asserted. The exit status is non-zero
 * only when a pipeline failed to run or produced the wrong number of frames
 * (the meson test `benchmark-smoke` runs it with --quick for that).
 */

#include <gst/app/gstappsrc.h>
#include <gst/gst.h>

#include <cairo.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <unistd.h>
#include <string>
#include <vector>

namespace
{

constexpr int kFrameRate = 30; // frames per second, every configuration

struct Options {
  int frames = -1;
  int width = -1;
  int height = -1;
  int rounds = -1;
  double live_seconds = -1;
  double timeout = -1;
  gboolean quick = FALSE;
  gboolean skip_live = FALSE;
  gboolean skip_offline = FALSE;
  gchar *only = nullptr;
};

Options opts;
std::vector<std::string> failures; // anything that actually failed to run

double now_wall()
{
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CPU time of the whole process: the streaming threads do the work, the main
 * thread only waits on the bus. */
double now_cpu()
{
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The scene every producer draws for frame n: a full-frame fill whose colour
 * changes each frame, then a rectangle that moves across it. Integer geometry
 * so no producer is charged for anti-aliasing the others skip. The fill is
 * opaque, except for configuration A1t (translucent), which makes every pixel
 * go through canvascapturesrc's unpremultiply. */
void draw_scene(cairo_t *cr, int width, int height, guint64 n, bool translucent = false)
{
  cairo_save(cr);
  cairo_set_operator(cr, CAIRO_OPERATOR_SOURCE);
  const double r = (n * 5 % 256) / 255.0, g = (n * 3 % 256) / 255.0, b = (n * 7 % 256) / 255.0;
  cairo_set_source_rgba(cr, r, g, b, translucent ? 0.5 : 1.0);
  cairo_paint(cr);

  cairo_set_operator(cr, CAIRO_OPERATOR_OVER);
  const int rw = std::max(1, width / 8), rh = std::max(1, height / 8);
  const int x = static_cast<int>((n * 16) % static_cast<guint64>(std::max(1, width - rw)));
  const int y = static_cast<int>((n * 9) % static_cast<guint64>(std::max(1, height - rh)));
  cairo_set_source_rgb(cr, 1.0 - r, 1.0 - g, 1.0 - b);
  cairo_rectangle(cr, x, y, rw, rh);
  cairo_fill(cr);
  cairo_restore(cr);
}

double median(std::vector<double> v)
{
  if (v.empty())
    return NAN;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Nearest-rank percentile, p in [0,1]. */
double percentile(std::vector<double> v, double p)
{
  if (v.empty())
    return NAN;
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(p * v.size()));
  rank = std::clamp<size_t>(rank, 1, v.size());
  return v[rank - 1];
}

/* ------------------------------------------------------------------------ */
/* What reaches the sink                                                     */

struct SinkRecord {
  GstElement *sink = nullptr;
  guint64 frames = 0;
  std::vector<GstClockTime> pts;
  bool timing = false;            // live: also record arrival/render delays
  std::vector<double> arrival_ms; // clock running time at the sink pad - PTS
  std::vector<double> render_ms;  // clock running time at render (after sync) - PTS
};

GstClockTime sink_running_time(GstElement *sink)
{
  GstClock *clock = gst_element_get_clock(sink);
  if (!clock)
    return GST_CLOCK_TIME_NONE;
  const GstClockTime now = gst_clock_get_time(clock);
  gst_object_unref(clock);
  const GstClockTime base = gst_element_get_base_time(sink);
  return now >= base ? now - base : GST_CLOCK_TIME_NONE;
}

GstPadProbeReturn on_sink_buffer(GstPad *, GstPadProbeInfo *info, gpointer user_data)
{
  auto *rec = static_cast<SinkRecord *>(user_data);
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
  rec->frames++;
  rec->pts.push_back(GST_BUFFER_PTS(buf));
  if (rec->timing && GST_BUFFER_PTS_IS_VALID(buf)) {
    const GstClockTime rt = sink_running_time(rec->sink);
    if (GST_CLOCK_TIME_IS_VALID(rt))
      rec->arrival_ms.push_back((GST_CLOCK_DIFF(GST_BUFFER_PTS(buf), rt)) / 1e6);
  }
  return GST_PAD_PROBE_OK;
}

void on_sink_handoff(GstElement *sink, GstBuffer *buf, GstPad *, gpointer user_data)
{
  auto *rec = static_cast<SinkRecord *>(user_data);
  if (!GST_BUFFER_PTS_IS_VALID(buf))
    return;
  const GstClockTime rt = sink_running_time(sink);
  if (GST_CLOCK_TIME_IS_VALID(rt))
    rec->render_ms.push_back((GST_CLOCK_DIFF(GST_BUFFER_PTS(buf), rt)) / 1e6);
}

/* fakesink with the settings every configuration shares. enable-last-sample
 * is off: by default fakesink keeps a reference to the last buffer, which
 * would charge the source a copy-on-write per frame for the sink's habit
 * (configuration A1' measures exactly that). */
GstElement *make_sink(bool sync, bool keep_last_sample, SinkRecord *rec)
{
  GstElement *sink = gst_element_factory_make("fakesink", "sink");
  g_object_set(sink, "sync", sync ? TRUE : FALSE, "enable-last-sample",
               keep_last_sample ? TRUE : FALSE, "qos", FALSE, nullptr);
  rec->sink = sink;
  GstPad *pad = gst_element_get_static_pad(sink, "sink");
  gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, on_sink_buffer, rec, nullptr);
  gst_object_unref(pad);
  if (rec->timing) {
    g_object_set(sink, "signal-handoffs", TRUE, nullptr);
    g_signal_connect(sink, "handoff", G_CALLBACK(on_sink_handoff), rec);
  }
  return sink;
}

/* ------------------------------------------------------------------------ */
/* Producers                                                                 */

struct CanvasDraw {
  int width = 0, height = 0;
  bool translucent = false;
  guint64 draws = 0;
};

gboolean on_canvas_draw(GstElement *, cairo_t *cr, guint64 running_time, gpointer user_data)
{
  auto *d = static_cast<CanvasDraw *>(user_data);
  const guint64 n = GST_CLOCK_TIME_IS_VALID(running_time)
                        ? gst_util_uint64_scale_round(running_time, kFrameRate, GST_SECOND)
                        : d->draws;
  draw_scene(cr, d->width, d->height, n, d->translucent);
  d->draws++;
  return TRUE;
}

struct AppFeed {
  int width = 0, height = 0;
  guint64 frames = 0, n = 0;
  cairo_surface_t *surface = nullptr;
  cairo_t *cr = nullptr;
  gsize size = 0;
};

/* The application's side of A2: draw, one fresh buffer, one memcpy, push. */
void on_app_need_data(GstAppSrc *src, guint, gpointer user_data)
{
  auto *f = static_cast<AppFeed *>(user_data);
  if (f->n >= f->frames) {
    gst_app_src_end_of_stream(src);
    return;
  }
  draw_scene(f->cr, f->width, f->height, f->n);
  cairo_surface_flush(f->surface);

  // ARGB32 rows are width * 4 bytes, so the surface is one contiguous block.
  GstBuffer *buf = gst_buffer_new_allocate(nullptr, f->size, nullptr);
  gst_buffer_fill(buf, 0, cairo_image_surface_get_data(f->surface), f->size);
  const GstClockTime pts = gst_util_uint64_scale(f->n, GST_SECOND, kFrameRate);
  GST_BUFFER_PTS(buf) = pts;
  GST_BUFFER_DURATION(buf) = gst_util_uint64_scale(f->n + 1, GST_SECOND, kFrameRate) - pts;
  f->n++;
  gst_app_src_push_buffer(src, buf);
}

/* ------------------------------------------------------------------------ */
/* Running one pipeline                                                      */

struct RunResult {
  bool ok = false;
  guint64 frames = 0;
  double wall = 0, cpu = 0;
  guint64 draws = 0;
  std::string stats;
  double pts_max_err_ns = 0; // offline: max |PTS - n/rate|
  std::vector<GstClockTime> pts;
  std::vector<double> arrival_ms, render_ms;
};

std::string take_error(GstBus *bus)
{
  GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  if (!msg)
    return "state change failed";
  GError *err = nullptr;
  gchar *dbg = nullptr;
  gst_message_parse_error(msg, &err, &dbg);
  std::string s = std::string(GST_OBJECT_NAME(GST_MESSAGE_SRC(msg))) + ": " + err->message;
  if (dbg)
    s += std::string(" (") + dbg + ")";
  g_clear_error(&err);
  g_free(dbg);
  gst_message_unref(msg);
  return s;
}

std::string read_stats(GstElement *src)
{
  if (!src || !g_object_class_find_property(G_OBJECT_GET_CLASS(src), "stats"))
    return "";
  GstStructure *s = nullptr;
  g_object_get(src, "stats", &s, nullptr);
  if (!s)
    return "";
  gchar *str = gst_structure_to_string(s);
  std::string out = str;
  g_free(str);
  gst_structure_free(s);
  return out;
}

double offline_timeout(int frames)
{
  return opts.timeout > 0 ? opts.timeout : 30.0 + frames * 0.1;
}

/* Plays an offline pipeline to EOS; times PLAYING -> EOS. */
bool play_to_eos(const char *label, GstElement *pipeline, int frames, RunResult &res)
{
  GstBus *bus = gst_element_get_bus(pipeline);
  const double t0 = now_wall(), c0 = now_cpu();
  bool ok = true;
  if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    failures.push_back(std::string(label) + ": " + take_error(bus));
    ok = false;
  } else {
    const auto timeout = static_cast<GstClockTime>(offline_timeout(frames) * GST_SECOND);
    GstMessage *msg = gst_bus_timed_pop_filtered(
        bus, timeout, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    res.wall = now_wall() - t0;
    res.cpu = now_cpu() - c0;
    if (!msg) {
      failures.push_back(std::string(label) + ": no EOS within the timeout");
      ok = false;
    } else if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
      gst_bus_set_flushing(bus, FALSE);
      GError *err = nullptr;
      gst_message_parse_error(msg, &err, nullptr);
      failures.push_back(std::string(label) + ": error: " + err->message);
      g_clear_error(&err);
      ok = false;
    }
    if (msg)
      gst_message_unref(msg);
  }
  gst_object_unref(bus);
  return ok;
}

/* Offline configurations of part A. */
enum class Producer { Canvas, AppSrc, TestSrc };

struct Config {
  const char *key;   // short id in the table
  const char *label; // what it is
  Producer producer;
  bool alpha = false;
  bool sink_keeps_last = false;
  bool translucent = false;
  std::vector<RunResult> runs;
};

RunResult run_offline(Config &cfg, int frames)
{
  RunResult res;
  SinkRecord rec;
  rec.pts.reserve(frames + 8);
  GstElement *pipeline = gst_pipeline_new("bench");
  GstElement *sink = make_sink(false, cfg.sink_keeps_last, &rec);
  GstElement *src = nullptr;
  CanvasDraw draw;
  AppFeed feed;
  const int w = opts.width, h = opts.height;
  const std::string label = std::string(cfg.key) + " " + cfg.label;

  switch (cfg.producer) {
  case Producer::Canvas:
    src = gst_element_factory_make("canvascapturesrc", "src");
    if (!src) {
      failures.push_back(label + ": no canvascapturesrc element (is GST_PLUGIN_PATH_1_0 set to "
                                 "<builddir>/ext/cairo?)");
      gst_object_unref(pipeline);
      gst_object_unref(sink);
      return res;
    }
    draw.width = w;
    draw.height = h;
    draw.translucent = cfg.translucent;
    g_object_set(src, "width", w, "height", h, "frame-rate", static_cast<double>(kFrameRate),
                 "is-live", FALSE, "alpha", cfg.alpha ? TRUE : FALSE, "num-buffers", frames,
                 nullptr);
    g_signal_connect(src, "draw", G_CALLBACK(on_canvas_draw), &draw);
    gst_bin_add_many(GST_BIN(pipeline), src, sink, nullptr);
    gst_element_link(src, sink);
    break;
  case Producer::AppSrc: {
    src = gst_element_factory_make("appsrc", "src");
    feed.width = w;
    feed.height = h;
    feed.frames = frames;
    feed.surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
    feed.cr = cairo_create(feed.surface);
    feed.size = static_cast<gsize>(cairo_image_surface_get_stride(feed.surface)) * h;
    g_assert(cairo_image_surface_get_stride(feed.surface) == w * 4);
    GstCaps *caps =
        gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "BGRA", "width", G_TYPE_INT, w,
                            "height", G_TYPE_INT, h, "framerate", GST_TYPE_FRACTION, kFrameRate, 1,
                            "pixel-aspect-ratio", GST_TYPE_FRACTION, 1, 1, nullptr);
    g_object_set(src, "caps", caps, "format", GST_FORMAT_TIME, "is-live", FALSE, nullptr);
    gst_caps_unref(caps);
    GstAppSrcCallbacks cb = {};
    cb.need_data = on_app_need_data;
    gst_app_src_set_callbacks(GST_APP_SRC(src), &cb, &feed, nullptr);
    gst_bin_add_many(GST_BIN(pipeline), src, sink, nullptr);
    gst_element_link(src, sink);
    break;
  }
  case Producer::TestSrc: {
    src = gst_element_factory_make("videotestsrc", "src");
    GstElement *filter = gst_element_factory_make("capsfilter", nullptr);
    GstCaps *caps = gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "BGRA", "width",
                                        G_TYPE_INT, w, "height", G_TYPE_INT, h, "framerate",
                                        GST_TYPE_FRACTION, kFrameRate, 1, nullptr);
    gst_util_set_object_arg(G_OBJECT(src), "pattern", "solid-color");
    g_object_set(src, "is-live", FALSE, "num-buffers", frames, nullptr);
    g_object_set(filter, "caps", caps, nullptr);
    gst_caps_unref(caps);
    gst_bin_add_many(GST_BIN(pipeline), src, filter, sink, nullptr);
    gst_element_link_many(src, filter, sink, nullptr);
    break;
  }
  }

  bool ok = play_to_eos(label.c_str(), pipeline, frames, res);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  if (cfg.producer == Producer::Canvas) {
    res.stats = read_stats(src);
    res.draws = draw.draws;
  } else if (cfg.producer == Producer::AppSrc) {
    res.draws = feed.n;
  }
  gst_object_unref(pipeline);
  if (feed.cr) {
    cairo_destroy(feed.cr);
    cairo_surface_destroy(feed.surface);
  }

  res.frames = rec.frames;
  if (ok && rec.frames != static_cast<guint64>(frames)) {
    failures.push_back(label + ": " + std::to_string(rec.frames) + " frames, expected " +
                       std::to_string(frames));
    ok = false;
  }
  for (size_t i = 0; i < rec.pts.size(); i++) {
    const GstClockTime ideal = gst_util_uint64_scale_round(i, GST_SECOND, kFrameRate);
    const double err = GST_CLOCK_TIME_IS_VALID(rec.pts[i])
                           ? std::fabs(static_cast<double>(GST_CLOCK_DIFF(ideal, rec.pts[i])))
                           : INFINITY;
    res.pts_max_err_ns = std::max(res.pts_max_err_ns, err);
  }
  res.ok = ok;
  return res;
}

/* ------------------------------------------------------------------------ */
/* Part B: live                                                              */

struct LiveResult {
  bool ran = false;
  double wall = 0, cpu = 0;
  guint64 frames = 0, draws = 0;
  std::vector<double> grid_err_ms; // |PTS - nearest k/rate|
  std::vector<double> arrival_ms, render_ms;
  guint64 same_tick = 0, missed_ticks = 0, non_monotonic = 0;
  GstClockTime latency = GST_CLOCK_TIME_NONE; // pipeline latency while playing
  std::string stats;
};

/* B: src -> fakesink sync=true (as specified); B': src -> queue -> fakesink,
 * so the sink's clock wait does not hold the source's streaming thread. */
LiveResult run_live(const char *label, double seconds, bool with_queue)
{
  LiveResult out;
  const int w = opts.width, h = opts.height;
  SinkRecord rec;
  rec.timing = true;
  const size_t cap = static_cast<size_t>(seconds * kFrameRate * 2 + 64);
  rec.pts.reserve(cap);
  rec.arrival_ms.reserve(cap);
  rec.render_ms.reserve(cap);

  GstElement *src = gst_element_factory_make("canvascapturesrc", "src");
  if (!src) {
    failures.push_back(std::string(label) + ": no canvascapturesrc element");
    return out;
  }
  GstElement *pipeline = gst_pipeline_new("bench-live");
  GstElement *sink = make_sink(true, false, &rec);
  CanvasDraw draw;
  draw.width = w;
  draw.height = h;
  g_object_set(src, "width", w, "height", h, "frame-rate", static_cast<double>(kFrameRate),
               nullptr);
  g_signal_connect(src, "draw", G_CALLBACK(on_canvas_draw), &draw);
  gst_bin_add_many(GST_BIN(pipeline), src, sink, nullptr);
  if (with_queue) {
    GstElement *queue = gst_element_factory_make("queue", nullptr);
    gst_bin_add(GST_BIN(pipeline), queue);
    gst_element_link_many(src, queue, sink, nullptr);
  } else {
    gst_element_link(src, sink);
  }

  GstBus *bus = gst_element_get_bus(pipeline);
  const double t0 = now_wall(), c0 = now_cpu();
  bool ok = true;
  if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    failures.push_back(std::string(label) + ": " + take_error(bus));
    ok = false;
  } else {
    GstMessage *msg = gst_bus_timed_pop_filtered(
        bus, static_cast<GstClockTime>(seconds * GST_SECOND),
        static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    out.wall = now_wall() - t0;
    out.cpu = now_cpu() - c0;
    GstQuery *q = gst_query_new_latency();
    if (gst_element_query(pipeline, q)) {
      gboolean is_live;
      GstClockTime max;
      gst_query_parse_latency(q, &is_live, &out.latency, &max);
    }
    gst_query_unref(q);
    if (msg) {
      if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
        GError *err = nullptr;
        gst_message_parse_error(msg, &err, nullptr);
        failures.push_back(std::string(label) + ": error: " + err->message);
        g_clear_error(&err);
      } else {
        failures.push_back(std::string(label) + ": unexpected EOS before the end of the run");
      }
      gst_message_unref(msg);
      ok = false;
    } else {
      // Stop the way an application ends a recording: EOS from the top.
      gst_element_send_event(pipeline, gst_event_new_eos());
      msg = gst_bus_timed_pop_filtered(
          bus, 5 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
      if (!msg)
        g_printerr("warning: %s: no EOS within 5 s after sending EOS to the pipeline\n", label);
      else
        gst_message_unref(msg);
    }
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  out.stats = read_stats(src);
  out.draws = draw.draws;
  gst_object_unref(bus);
  gst_object_unref(pipeline);

  out.frames = rec.frames;
  if (ok && rec.frames == 0) {
    failures.push_back(std::string(label) + ": no frame reached the sink");
    ok = false;
  }
  out.ran = ok;
  const double period_ns = 1e9 / kFrameRate;
  gint64 prev_tick = -1;
  GstClockTime prev_pts = GST_CLOCK_TIME_NONE;
  for (GstClockTime pts : rec.pts) {
    if (!GST_CLOCK_TIME_IS_VALID(pts)) {
      out.non_monotonic++;
      continue;
    }
    const gint64 tick = static_cast<gint64>(std::llround(pts / period_ns));
    const GstClockTime grid = gst_util_uint64_scale_round(tick, GST_SECOND, kFrameRate);
    out.grid_err_ms.push_back(std::fabs(static_cast<double>(GST_CLOCK_DIFF(grid, pts))) / 1e6);
    if (GST_CLOCK_TIME_IS_VALID(prev_pts) && pts < prev_pts)
      out.non_monotonic++;
    if (prev_tick >= 0) {
      if (tick == prev_tick)
        out.same_tick++;
      else if (tick > prev_tick + 1)
        out.missed_ticks += tick - prev_tick - 1;
    }
    prev_tick = tick;
    prev_pts = pts;
  }
  out.arrival_ms = std::move(rec.arrival_ms);
  out.render_ms = std::move(rec.render_ms);
  return out;
}

/* ------------------------------------------------------------------------ */
/* Reporting                                                                 */

double med_fps(const Config &c)
{
  std::vector<double> v;
  for (const auto &r : c.runs)
    if (r.ok && r.wall > 0)
      v.push_back(r.frames / r.wall);
  return median(v);
}

double med_cpu_ms(const Config &c)
{
  std::vector<double> v;
  for (const auto &r : c.runs)
    if (r.ok && r.frames > 0)
      v.push_back(r.cpu * 1e3 / r.frames);
  return median(v);
}

void print_offline(const std::vector<Config> &configs, int frames)
{
  g_print("\nA. Offline %dx%d BGRA/BGRx, %d frames at %d/1, %d round(s), median of rounds\n",
          opts.width, opts.height, frames, kFrameRate, opts.rounds);
  g_print("%-4s %-44s %8s %9s %9s %7s %17s\n", "id", "configuration", "wall s", "fps", "CPU ms/fr",
          "CPU %", "fps min..max");
  g_print("%s\n", std::string(104, '-').c_str());
  for (const auto &c : configs) {
    std::vector<double> wall, fps, cpupct;
    for (const auto &r : c.runs) {
      if (!r.ok)
        continue;
      wall.push_back(r.wall);
      fps.push_back(r.frames / r.wall);
      cpupct.push_back(100.0 * r.cpu / r.wall);
    }
    if (fps.empty()) {
      g_print("%-4s %-44s %8s\n", c.key, c.label, "FAILED");
      continue;
    }
    const auto mm = std::minmax_element(fps.begin(), fps.end());
    g_print("%-4s %-44s %8.3f %9.1f %9.3f %7.0f %8.1f..%-8.1f\n", c.key, c.label, median(wall),
            median(fps), med_cpu_ms(c), median(cpupct), *mm.first, *mm.second);
  }
  g_print("\nPer configuration (last round): frames, draws, max |PTS - n/30 s|, element stats\n");
  for (const auto &c : configs) {
    if (c.runs.empty())
      continue;
    const RunResult &r = c.runs.back();
    g_print("  %-4s frames=%" G_GUINT64_FORMAT " draws=%" G_GUINT64_FORMAT
            " pts-max-err=%.0f ns%s%s\n",
            c.key, r.frames, r.draws, r.pts_max_err_ns, r.stats.empty() ? "" : "\n       ",
            r.stats.c_str());
  }
}

void print_live(const char *title, const LiveResult &live)
{
  g_print("\n%s, %dx%d, %.1f s\n", title, opts.width, opts.height, live.wall);
  if (!live.ran) {
    g_print("  FAILED\n");
    return;
  }
  g_print("  frames received     %" G_GUINT64_FORMAT " (ideal %.0f), draws %" G_GUINT64_FORMAT
          ", same-tick pairs %" G_GUINT64_FORMAT ", missed ticks %" G_GUINT64_FORMAT
          ", non-monotonic/invalid PTS %" G_GUINT64_FORMAT "\n",
          live.frames, live.wall * kFrameRate, live.draws, live.same_tick, live.missed_ticks,
          live.non_monotonic);
  g_print("  CPU                 %.1f %% of one core (%.3f s CPU / %.3f s wall), %.3f ms/frame\n",
          100.0 * live.cpu / live.wall, live.cpu, live.wall,
          live.frames ? live.cpu * 1e3 / live.frames : 0.0);
  if (GST_CLOCK_TIME_IS_VALID(live.latency))
    g_print("  pipeline latency    %.3f ms\n", live.latency / 1e6);
  g_print("  %-19s %9s %9s %9s\n", "ms", "p50", "p99", "max");
  auto row = [](const char *name, const std::vector<double> &v) {
    if (v.empty()) {
      g_print("  %-19s %9s\n", name, "n/a");
      return;
    }
    g_print("  %-19s %9.3f %9.3f %9.3f\n", name, percentile(v, 0.5), percentile(v, 0.99),
            *std::max_element(v.begin(), v.end()));
  };
  row("|PTS - k/30 s|", live.grid_err_ms);
  row("arrival - PTS", live.arrival_ms);
  row("render - PTS", live.render_ms);
  if (!live.stats.empty())
    g_print("  element %s\n", live.stats.c_str());
}

const char *verdict(bool pass)
{
  return pass ? "PASS" : "MISS";
}

} // namespace

int main(int argc, char **argv)
{
  GOptionEntry entries[] = {
      {"frames", 'n', 0, G_OPTION_ARG_INT, &opts.frames, "Frames per offline run (600)", "N"},
      {"width", 'W', 0, G_OPTION_ARG_INT, &opts.width, "Frame width (1920)", "PX"},
      {"height", 'H', 0, G_OPTION_ARG_INT, &opts.height, "Frame height (1080)", "PX"},
      {"rounds", 'r', 0, G_OPTION_ARG_INT, &opts.rounds,
       "Rounds of the offline configurations, alternated; medians are reported (3)", "N"},
      {"live-seconds", 's', 0, G_OPTION_ARG_DOUBLE, &opts.live_seconds,
       "Duration of the live run (20)", "S"},
      {"quick", 'q', 0, G_OPTION_ARG_NONE, &opts.quick,
       "Smoke test: 320x240, 30 frames, 1 round, 1 s live (explicit options still win)", nullptr},
      {"skip-live", 0, 0, G_OPTION_ARG_NONE, &opts.skip_live, "Skip part B (live)", nullptr},
      {"skip-offline", 0, 0, G_OPTION_ARG_NONE, &opts.skip_offline, "Skip part A (offline)",
       nullptr},
      {"only", 0, 0, G_OPTION_ARG_STRING, &opts.only,
       "Run only these offline configurations, comma-separated ids (e.g. A1,A2) - for profiling",
       "IDS"},
      {"timeout", 0, 0, G_OPTION_ARG_DOUBLE, &opts.timeout,
       "Seconds an offline run may take before it counts as failed (30 + 0.1 per frame)", "S"},
      {nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr}};

  GOptionContext *ctx = g_option_context_new("- canvascapturesrc against appsrc and videotestsrc");
  g_option_context_add_main_entries(ctx, entries, nullptr);
  g_option_context_add_group(ctx, gst_init_get_option_group());
  GError *error = nullptr;
  if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
    g_printerr("%s\n", error->message);
    g_clear_error(&error);
    g_option_context_free(ctx);
    return 2;
  }
  g_option_context_free(ctx);

  auto pick = [](auto value, auto normal, auto quick) {
    return value > 0 ? value : (opts.quick ? quick : normal);
  };
  opts.frames = pick(opts.frames, 600, 30);
  opts.width = pick(opts.width, 1920, 320);
  opts.height = pick(opts.height, 1080, 240);
  opts.rounds = pick(opts.rounds, 3, 1);
  opts.live_seconds = pick(opts.live_seconds, 20.0, 1.0);

  GstPluginFeature *feature =
      GST_PLUGIN_FEATURE(gst_registry_lookup_feature(gst_registry_get(), "canvascapturesrc"));
  if (feature) {
    GstPlugin *plugin = gst_plugin_feature_get_plugin(feature);
    g_print("canvascapturesrc from %s\n", plugin ? gst_plugin_get_filename(plugin) : "?");
    if (plugin)
      gst_object_unref(plugin);
    gst_object_unref(feature);
  } else {
    g_printerr("canvascapturesrc not found: set GST_PLUGIN_PATH_1_0=<builddir>/ext/cairo\n");
  }
  guint major, minor, micro, nano;
  gst_version(&major, &minor, &micro, &nano);
  g_print("GStreamer %u.%u.%u, Cairo %s, %ld CPU(s)\n", major, minor, micro, cairo_version_string(),
          sysconf(_SC_NPROCESSORS_ONLN));

  std::vector<Config> configs;
  configs.push_back(
      {"A1", "canvascapturesrc alpha=false (BGRx)", Producer::Canvas, false, false, false, {}});
  configs.push_back({"A1a",
                     "canvascapturesrc alpha=true (BGRA straight)",
                     Producer::Canvas,
                     true,
                     false,
                     false,
                     {}});
  configs.push_back({"A1t",
                     "A1a with a translucent fill (unpremultiply)",
                     Producer::Canvas,
                     true,
                     false,
                     true,
                     {}});
  configs.push_back({"A1'",
                     "A1 + sink keeps last buffer (copy-on-write)",
                     Producer::Canvas,
                     false,
                     true,
                     false,
                     {}});
  configs.push_back({"A2",
                     "appsrc + app Cairo + alloc/memcpy (BGRA)",
                     Producer::AppSrc,
                     false,
                     false,
                     false,
                     {}});
  configs.push_back({"A3",
                     "videotestsrc pattern=solid-color (BGRA)",
                     Producer::TestSrc,
                     false,
                     false,
                     false,
                     {}});
  if (opts.only) {
    gchar **ids = g_strsplit(opts.only, ",", -1);
    std::vector<Config> kept;
    for (auto &c : configs)
      if (g_strv_contains(const_cast<const gchar *const *>(ids), c.key))
        kept.push_back(c);
    configs = kept;
    g_strfreev(ids);
  }

  if (!opts.skip_offline && !configs.empty()) {
    // Warm-up: page in code, fill the registry, grow the heap; not reported.
    const int warm = std::max(10, opts.frames / 4);
    g_print("warm-up (%d frames each)...\n", warm);
    for (auto &c : configs)
      run_offline(c, warm);
    for (int round = 0; round < opts.rounds; round++) {
      g_print("round %d/%d:", round + 1, opts.rounds);
      for (auto &c : configs) {
        c.runs.push_back(run_offline(c, opts.frames));
        const RunResult &r = c.runs.back();
        g_print(" %s %.1f fps", c.key, r.ok && r.wall > 0 ? r.frames / r.wall : 0.0);
      }
      g_print("\n");
    }
    print_offline(configs, opts.frames);
  }

  LiveResult live, live_queue;
  if (!opts.skip_live) {
    g_print("\nB. live %dx%d frame-rate=%d, %.1f s per run...\n", opts.width, opts.height,
            kFrameRate, opts.live_seconds);
    live = run_live("B", opts.live_seconds, false);
    live_queue = run_live("B'", opts.live_seconds, true);
    print_live("B  Live canvascapturesrc frame-rate=30 -> fakesink sync=true", live);
    print_live("B' Live canvascapturesrc frame-rate=30 -> queue -> fakesink sync=true", live_queue);
  }

  // Summary: informational, never the exit status.
  g_print("\nsummary\n");
  auto find = [&](const char *key) -> const Config * {
    for (const auto &c : configs)
      if (g_str_equal(c.key, key))
        return &c;
    return nullptr;
  };
  const Config *a1 = find("A1"), *a1a = find("A1a"), *a2 = find("A2"), *a3 = find("A3");
  auto ratio_line = [](const char *what, const Config *num, const Config *den, bool fps,
                       double target, bool at_least, bool primary) {
    if (!num || !den || num->runs.empty() || den->runs.empty()) {
      g_print("  %-54s    n/a\n", what);
      return;
    }
    const double r = fps ? med_fps(*num) / med_fps(*den) : med_cpu_ms(*num) / med_cpu_ms(*den);
    if (!std::isfinite(r)) {
      g_print("  %-54s    n/a (a configuration failed)\n", what);
      return;
    }
    const bool pass = at_least ? r >= target : r <= target;
    g_print("  %-54s %6.2fx  target %s %.1fx  %s%s\n", what, r, at_least ? ">=" : "<=", target,
            verdict(pass), primary ? "" : " (info)");
  };
  ratio_line("canvas alpha=false fps / appsrc fps", a1, a2, true, 1.5, true, true);
  ratio_line("canvas alpha=true  fps / appsrc fps", a1a, a2, true, 1.5, true, false);
  ratio_line("canvas alpha=false CPU/frame / videotestsrc CPU/frame", a1, a3, false, 1.3, false,
             true);
  ratio_line("canvas alpha=true  CPU/frame / videotestsrc CPU/frame", a1a, a3, false, 1.3, false,
             false);
  auto jitter_line = [](const char *what, const LiveResult &l, bool primary) {
    if (!l.ran || l.grid_err_ms.empty()) {
      g_print("  %-54s    n/a\n", what);
      return;
    }
    const double p99 = percentile(l.grid_err_ms, 0.99);
    g_print("  %-54s %6.3f ms target <  1.0 ms  %s%s\n", what, p99, verdict(p99 < 1.0),
            primary ? "" : " (info)");
  };
  if (!opts.skip_live) {
    jitter_line("live PTS jitter p99 |PTS - k/30 s| (B, direct)", live, true);
    jitter_line("live PTS jitter p99 |PTS - k/30 s| (B', queue)", live_queue, false);
  }
  if (failures.empty()) {
    g_print("  every pipeline ran and produced the expected frame count\n");
    return 0;
  }
  std::vector<std::string> seen;
  for (const auto &f : failures) {
    if (std::find(seen.begin(), seen.end(), f) != seen.end())
      continue;
    seen.push_back(f);
    g_print("  FAILED: %s\n", f.c_str());
  }
  return 1;
}
