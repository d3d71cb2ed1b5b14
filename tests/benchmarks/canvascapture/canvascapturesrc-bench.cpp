/* canvascapturesrc-bench: how much canvascapturesrc costs next to its peers,
 * in the pipelines users run.
 *
 * A. Offline export (is-live=false), the same Cairo scene drawn by every
 *    producer, side by side in one run, interleaved rounds, medians:
 *    producers  canvascapturesrc alpha=false, alpha=true on an opaque scene,
 *               alpha=true on a translucent scene; appsrc fed from the app's
 *               own surface with a fresh buffer + memcpy per frame (what
 *               applications write today); videotestsrc (a floor);
 *    sinks      fakesink with its defaults (keeps the last sample: the
 *               headline), appsink whose application keeps the last sample,
 *               videoconvert ! I420 ! vp8enc deadline=1, videoconvert ! I420
 *               alone (to split the encoder path), and a zero-copy sink
 *               (fakesink enable-last-sample=false);
 *    sizes      1920x1080 and 640x360.
 *    Figures are steady state: from the frame after the first tenth to the last.
 * M. Where the time goes: the scene's draw, a copy of the canvas into
 *    recycled memory (memcpy, and with streaming stores as canvascapturesrc
 *    makes the frames downstream keeps), the appsrc way (fresh buffer +
 *    memcpy), the opacity scan and the unpremultiply, each alone on one
 *    thread, and the orders the producers run them in.
 * B. Live capture at 30 fps into a synchronising sink: CPU %, PTS jitter
 *    against the running-time grid k/30 s, delivery delay.
 * S. --soak S: a live run of S seconds (drawing, idle stretches repeating the
 *    frame to a sink that keeps it): resident memory every second.
 *
 * Prints figures only; time is never asserted. The exit status is non-zero
 * only when a pipeline failed to run or produced the wrong number of frames
 * (the meson test `benchmark-smoke-canvascapturesrc` runs it with --quick for that).
 */

#include "../common/bench-memory.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>

#include <cairo.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <sys/resource.h>
#include <unistd.h>
#include <vector>

#include "canvaspixels.h"

namespace
{

constexpr int kFrameRate = 30; // frames per second, every configuration

struct Options {
  int frames = -1;
  int enc_frames = -1;
  gchar *sizes = nullptr;
  int width = -1; // live runs
  int height = -1;
  int rounds = -1;
  double live_seconds = -1;
  double soak = -1;
  double timeout = -1;
  gboolean quick = FALSE;
  gboolean skip_live = FALSE;
  gboolean skip_offline = FALSE;
  gboolean skip_micro = FALSE;
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

/* Minor page faults of the process so far: each is a page of memory touched
 * for the first time (fresh allocations), which recycled memory avoids. */
long minor_faults()
{
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_minflt;
}

/* The scene every producer draws for frame n: a full-frame fill whose colour
 * changes each frame, then a rectangle that moves across it. Integer geometry
 * so no producer is charged for anti-aliasing the others skip. The fill is
 * opaque, except for the translucent producer (alpha 0.5), which makes every
 * pixel go through canvascapturesrc's unpremultiply. */
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
  double wall = 0, cpu = 0;
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

/* ------------------------------------------------------------------------ */
/* Part A: offline configurations                                            */

enum class Producer { Canvas, CanvasAlpha, CanvasTranslucent, AppSrc, TestSrc };
enum class SinkKind { Keep, AppSink, Encoder, Convert, ZeroCopy };

struct ProducerDef {
  const char *key;
  const char *label;
  Producer producer;
};

struct SinkDef {
  const char *key;
  const char *label;
  SinkKind kind;
};

const ProducerDef kProducers[] = {
    {"cv", "canvas alpha=false", Producer::Canvas},
    {"ca", "canvas alpha=true, opaque scene", Producer::CanvasAlpha},
    {"ct", "canvas alpha=true, translucent", Producer::CanvasTranslucent},
    {"app", "appsrc + fresh buffer + memcpy", Producer::AppSrc},
    {"vts", "videotestsrc solid-color", Producer::TestSrc},
};

const SinkDef kSinks[] = {
    {"keep", "fakesink (defaults: keeps the last sample)", SinkKind::Keep},
    {"appsink", "appsink, the app keeps the last sample", SinkKind::AppSink},
    {"vp8", "videoconvert ! I420 ! vp8enc deadline=1 ! fakesink", SinkKind::Encoder},
    {"conv", "videoconvert ! I420 ! fakesink (no encoder)", SinkKind::Convert},
    {"zero", "fakesink enable-last-sample=false (zero-copy)", SinkKind::ZeroCopy},
};

struct Size {
  int width, height;
};

struct Run {
  bool ok = false;
  guint64 frames = 0;       // frames measured (steady state)
  double wall = 0, cpu = 0; // over those frames
  long faults = 0;          // minor page faults over those frames
  std::string stats;
};

struct Config {
  Size size;
  const SinkDef *sink;
  const ProducerDef *producer;
  std::vector<Run> runs;
  std::string id() const { return std::string(sink->key) + "-" + producer->key; }
};

/* Counts frames at the end of the pipeline and marks the steady-state window:
 * from frame `skip` (pipeline set up, pool filled, caches warm) to the last. */
struct Counter {
  guint64 frames = 0, expected = 0, skip = 0;
  double t0 = 0, c0 = 0, t1 = 0, c1 = 0;
  long f0 = 0, f1 = 0;
  GstSample *last = nullptr; // what the appsink application keeps

  void on_frame()
  {
    frames++;
    if (frames == skip) {
      t0 = now_wall();
      c0 = now_cpu();
      f0 = minor_faults();
    }
    if (frames == expected) {
      t1 = now_wall();
      c1 = now_cpu();
      f1 = minor_faults();
    }
  }
};

GstPadProbeReturn on_counted_buffer(GstPad *, GstPadProbeInfo *, gpointer user_data)
{
  static_cast<Counter *>(user_data)->on_frame();
  return GST_PAD_PROBE_OK;
}

/* The application behind appsink: takes each sample and keeps the last one
 * (to show it, hand it on...), as a fakesink keeps its last sample. */
GstFlowReturn on_app_new_sample(GstAppSink *sink, gpointer user_data)
{
  auto *cnt = static_cast<Counter *>(user_data);
  GstSample *sample = gst_app_sink_pull_sample(sink);
  if (!sample)
    return GST_FLOW_ERROR;
  if (cnt->last)
    gst_sample_unref(cnt->last);
  cnt->last = sample;
  cnt->on_frame();
  return GST_FLOW_OK;
}

GstElement *make_i420_filter()
{
  GstElement *filter = gst_element_factory_make("capsfilter", nullptr);
  GstCaps *caps = gst_caps_from_string("video/x-raw,format=I420");
  g_object_set(filter, "caps", caps, nullptr);
  gst_caps_unref(caps);
  return filter;
}

/* Adds the sink side of @kind to @bin; returns the element to link to, or
 * NULL when an element is missing (failure recorded). */
GstElement *add_tail(GstBin *bin, SinkKind kind, Counter *cnt, const std::string &label)
{
  std::vector<GstElement *> chain;
  if (kind == SinkKind::Encoder || kind == SinkKind::Convert) {
    chain.push_back(gst_element_factory_make("videoconvert", nullptr));
    chain.push_back(make_i420_filter());
    if (kind == SinkKind::Encoder) {
      GstElement *enc = gst_element_factory_make("vp8enc", nullptr);
      if (enc)
        g_object_set(enc, "deadline", (gint64)1, nullptr);
      chain.push_back(enc);
    }
  }
  GstElement *sink = nullptr;
  if (kind == SinkKind::AppSink) {
    sink = gst_element_factory_make("appsink", nullptr);
    if (sink) {
      g_object_set(sink, "sync", FALSE, nullptr);
      GstAppSinkCallbacks cb = {};
      cb.new_sample = on_app_new_sample;
      gst_app_sink_set_callbacks(GST_APP_SINK(sink), &cb, cnt, nullptr);
    }
  } else {
    sink = gst_element_factory_make("fakesink", nullptr);
    if (sink) {
      g_object_set(sink, "sync", FALSE, "qos", FALSE, nullptr);
      if (kind == SinkKind::ZeroCopy)
        g_object_set(sink, "enable-last-sample", FALSE, nullptr);
      GstPad *pad = gst_element_get_static_pad(sink, "sink");
      gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, on_counted_buffer, cnt, nullptr);
      gst_object_unref(pad);
    }
  }
  chain.push_back(sink);
  for (GstElement *e : chain) {
    if (!e) {
      failures.push_back(label + ": an element is missing (videoconvert, vp8enc, appsink?)");
      for (GstElement *o : chain)
        if (o)
          gst_object_unref(o);
      return nullptr;
    }
  }
  for (GstElement *e : chain)
    gst_bin_add(bin, e);
  for (size_t i = 0; i + 1 < chain.size(); i++)
    gst_element_link(chain[i], chain[i + 1]);
  return chain.front();
}

int frames_for(const Config &cfg)
{
  return cfg.sink->kind == SinkKind::Encoder ? opts.enc_frames : opts.frames;
}

Run run_offline(const Config &cfg, int frames)
{
  Run res;
  Counter cnt;
  cnt.expected = frames;
  cnt.skip = std::max(1, frames / 10);
  GstElement *pipeline = gst_pipeline_new("bench");
  const int w = cfg.size.width, h = cfg.size.height;
  const std::string label = std::to_string(w) + "x" + std::to_string(h) + " " + cfg.id();
  CanvasDraw draw;
  AppFeed feed;
  GstElement *src = nullptr, *head = nullptr;

  switch (cfg.producer->producer) {
  case Producer::Canvas:
  case Producer::CanvasAlpha:
  case Producer::CanvasTranslucent:
    src = gst_element_factory_make("canvascapturesrc", "src");
    if (!src) {
      failures.push_back(label + ": no canvascapturesrc element (is GST_PLUGIN_PATH_1_0 set to "
                                 "<builddir>/ext/cairo?)");
      gst_object_unref(pipeline);
      return res;
    }
    draw.width = w;
    draw.height = h;
    draw.translucent = cfg.producer->producer == Producer::CanvasTranslucent;
    g_object_set(src, "width", w, "height", h, "frame-rate", static_cast<double>(kFrameRate),
                 "is-live", FALSE, "alpha", cfg.producer->producer != Producer::Canvas,
                 "num-buffers", frames, nullptr);
    g_signal_connect(src, "draw", G_CALLBACK(on_canvas_draw), &draw);
    gst_bin_add(GST_BIN(pipeline), src);
    head = src;
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
    gst_bin_add(GST_BIN(pipeline), src);
    head = src;
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
    gst_bin_add_many(GST_BIN(pipeline), src, filter, nullptr);
    gst_element_link(src, filter);
    head = filter;
    break;
  }
  }

  GstElement *tail = add_tail(GST_BIN(pipeline), cfg.sink->kind, &cnt, label);
  bool ok = tail && gst_element_link(head, tail);
  if (tail && !ok)
    failures.push_back(label + ": could not link the producer to the sink side");
  if (ok) {
    RunResult whole;
    ok = play_to_eos(label.c_str(), pipeline, frames, whole);
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  if (src && cfg.producer->producer <= Producer::CanvasTranslucent)
    res.stats = read_stats(src);
  gst_object_unref(pipeline);
  if (cnt.last)
    gst_sample_unref(cnt.last);
  if (feed.cr) {
    cairo_destroy(feed.cr);
    cairo_surface_destroy(feed.surface);
  }

  if (ok && cnt.frames != static_cast<guint64>(frames)) {
    failures.push_back(label + ": " + std::to_string(cnt.frames) + " frames, expected " +
                       std::to_string(frames));
    ok = false;
  }
  if (ok && cnt.expected > cnt.skip) {
    res.frames = cnt.expected - cnt.skip;
    res.wall = cnt.t1 - cnt.t0;
    res.cpu = cnt.c1 - cnt.c0;
    res.faults = cnt.f1 - cnt.f0;
  }
  res.ok = ok && res.frames > 0 && res.wall > 0;
  return res;
}

double med(const Config &c, double (*f)(const Run &))
{
  std::vector<double> v;
  for (const auto &r : c.runs)
    if (r.ok)
      v.push_back(f(r));
  return median(v);
}

double run_fps(const Run &r)
{
  return r.frames / r.wall;
}
double run_cpu_ms(const Run &r)
{
  return r.cpu * 1e3 / r.frames;
}
double run_faults(const Run &r)
{
  return static_cast<double>(r.faults) / r.frames;
}

/* ------------------------------------------------------------------------ */
/* Part M: where the time goes, each step alone on this thread               */

struct Micro {
  double draw_ms = NAN, draw_translucent_ms = NAN, copy_recycled_ms = NAN, copy_fresh_ms = NAN;
  double copy_stream_ms = NAN;
  double copy_recycled_faults = NAN, copy_fresh_faults = NAN;
  double scan_ms = NAN, unpremultiply_ms = NAN, unpremultiply_ref_ms = NAN;
  /* The orders, each as one sequence: draw on the canvas then stream a copy
   * of it into recycled memory for downstream (canvascapturesrc while
   * downstream keeps frames); copy the held canvas into recycled memory then
   * draw on the copy (copy-on-write, its probes); draw then copy into a fresh
   * buffer (appsrc). */
  double draw_then_stream_ms = NAN, copy_then_draw_ms = NAN, draw_then_copy_ms = NAN;
  /* The zero-copy alpha=true frame: draw, then the scan of the fresh pixels. */
  double draw_then_scan_ms = NAN, seq_draw_ms = NAN; /* and its draw alone */
  /* One draw and one copy of the canvas, the way canvascapturesrc copies. */
  double floor_ms() const { return draw_ms + copy_stream_ms; }
};

template <typename F> double time_ms(int n, F &&step, double *faults = nullptr)
{
  for (int i = 0; i < 3; i++) // warm: a pool's buffers are touched the first time
    step();
  const long f0 = minor_faults();
  const double c0 = now_cpu();
  for (int i = 0; i < n; i++)
    step();
  const double ms = (now_cpu() - c0) * 1e3 / n;
  if (faults)
    *faults = static_cast<double>(minor_faults() - f0) / n;
  return ms;
}

Micro run_micro(int w, int h, int n)
{
  Micro m;
  /* The canvas in the element's frame memory (huge pages for large sizes),
   * as canvascapturesrc has it; the application's surface of appsrc in
   * Cairo's own memory, as the `app` producer has it. */
  const int stride = canvas_pixels::stride_for_width(w);
  const gsize size = static_cast<gsize>(stride) * h;
  GstBuffer *canvas_mem = canvas_pixels::alloc_frame(nullptr, size);
  GstMapInfo canvas_map;
  gst_buffer_map(canvas_mem, &canvas_map, GST_MAP_READWRITE);
  guint8 *data = canvas_map.data;
  cairo_surface_t *surface =
      cairo_image_surface_create_for_data(data, CAIRO_FORMAT_ARGB32, w, h, stride);
  cairo_t *cr = cairo_create(surface);
  cairo_surface_t *app_surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
  cairo_t *app_cr = cairo_create(app_surface);
  guint8 *app_data = cairo_image_surface_get_data(app_surface);
  g_assert(cairo_image_surface_get_stride(app_surface) == stride);
  guint64 k = 0;

  m.draw_ms = time_ms(n, [&] {
    draw_scene(cr, w, h, k++);
    cairo_surface_flush(surface);
  });
  /* The canvas copied into recycled memory: canvascapturesrc's copy-on-write
   * path (canvaspixels' copy_frame from an active pool). */
  GstBuffer *canvas =
      gst_buffer_new_wrapped_full(GST_MEMORY_FLAG_READONLY, data, size, 0, size, nullptr, nullptr);
  GstBufferPool *pool = gst_buffer_pool_new();
  GstStructure *config = gst_buffer_pool_get_config(pool);
  gst_buffer_pool_config_set_params(config, nullptr, size, 2, 0);
  gst_buffer_pool_config_set_allocator(config, canvas_pixels::frame_allocator(), nullptr);
  gst_buffer_pool_set_config(pool, config);
  gst_buffer_pool_set_active(pool, TRUE);
  m.copy_recycled_ms = time_ms(
      n,
      [&] {
        gst_buffer_unref(canvas_pixels::copy_frame(canvas, pool, canvas_pixels::CopyUse::Draw));
      },
      &m.copy_recycled_faults);
  /* The same with streaming stores: the frame made for downstream. */
  m.copy_stream_ms = time_ms(n, [&] {
    gst_buffer_unref(canvas_pixels::copy_frame(canvas, pool, canvas_pixels::CopyUse::Frame));
  });
  /* appsrc's way: a fresh buffer each frame, filled with one memcpy. */
  draw_scene(app_cr, w, h, k++);
  cairo_surface_flush(app_surface);
  m.copy_fresh_ms = time_ms(
      n,
      [&] {
        GstBuffer *buf = gst_buffer_new_allocate(nullptr, size, nullptr);
        gst_buffer_fill(buf, 0, app_data, size);
        gst_buffer_unref(buf);
      },
      &m.copy_fresh_faults);
  /* Both orders in sequence, so that the caches see what the pipelines do,
   * in alternating blocks of 10 frames, so that both see the same machine. */
  GstBuffer *held = canvas_pixels::copy_frame(canvas, pool, canvas_pixels::CopyUse::Draw);
  auto copy_then_draw = [&] {
    GstBuffer *next = canvas_pixels::copy_frame(held, pool, canvas_pixels::CopyUse::Draw);
    GstMapInfo map;
    gst_buffer_map(next, &map, GST_MAP_READWRITE);
    cairo_surface_t *s =
        cairo_image_surface_create_for_data(map.data, CAIRO_FORMAT_ARGB32, w, h, stride);
    cairo_t *c = cairo_create(s);
    draw_scene(c, w, h, k++);
    cairo_destroy(c);
    cairo_surface_finish(s);
    cairo_surface_destroy(s);
    gst_buffer_unmap(next, &map);
    gst_buffer_unref(held); /* the sink lets the previous frame go */
    held = next;
  };
  GstBuffer *frame_held = nullptr;
  auto draw_then_stream = [&] {
    draw_scene(cr, w, h, k++);
    cairo_surface_flush(surface);
    GstBuffer *frame = canvas_pixels::copy_frame(canvas, pool, canvas_pixels::CopyUse::Frame);
    if (frame_held)
      gst_buffer_unref(frame_held); /* the sink lets the previous frame go */
    frame_held = frame;
  };
  GstBuffer *app_held = nullptr;
  auto draw_then_copy = [&] {
    draw_scene(app_cr, w, h, k++);
    cairo_surface_flush(app_surface);
    GstBuffer *buf = gst_buffer_new_allocate(nullptr, size, nullptr);
    gst_buffer_fill(buf, 0, app_data, size);
    if (app_held)
      gst_buffer_unref(app_held); /* the sink lets the previous frame go */
    app_held = buf;
  };
  double stream_s = 0, cow_s = 0, app_s = 0;
  for (int i = 0; i < 3; i++) {
    draw_then_stream();
    copy_then_draw();
    draw_then_copy();
  }
  for (int done = 0; done < n; done += 10) {
    const int block = std::min(10, n - done);
    const double t0 = now_cpu();
    for (int i = 0; i < block; i++)
      draw_then_stream();
    const double t1 = now_cpu();
    for (int i = 0; i < block; i++)
      copy_then_draw();
    const double t2 = now_cpu();
    for (int i = 0; i < block; i++)
      draw_then_copy();
    stream_s += t1 - t0;
    cow_s += t2 - t1;
    app_s += now_cpu() - t2;
  }
  m.draw_then_stream_ms = stream_s * 1e3 / n;
  m.copy_then_draw_ms = cow_s * 1e3 / n;
  m.draw_then_copy_ms = app_s * 1e3 / n;
  gst_buffer_unref(frame_held);
  gst_buffer_unref(held);
  gst_buffer_unref(app_held);
  gst_buffer_pool_set_active(pool, FALSE);
  gst_object_unref(pool);
  gst_buffer_unref(canvas);

  m.scan_ms = time_ms(n, [&] {
    if (canvas_pixels::first_translucent_row(data, stride, w, h) != h)
      g_printerr("warning: the opaque scene has a translucent pixel\n");
  });
  /* Each draw timed apart from the scan that follows it: the same frames. */
  double seq_draw_s = 0, seq_scan_s = 0;
  for (int i = 0; i < n + 3; i++) {
    const double t0 = now_cpu();
    draw_scene(cr, w, h, k++);
    cairo_surface_flush(surface);
    const double t1 = now_cpu();
    if (canvas_pixels::first_translucent_row(data, stride, w, h) != h)
      g_printerr("warning: the opaque scene has a translucent pixel\n");
    if (i >= 3) {
      seq_draw_s += t1 - t0;
      seq_scan_s += now_cpu() - t1;
    }
  }
  m.draw_then_scan_ms = (seq_draw_s + seq_scan_s) * 1e3 / n;
  m.seq_draw_ms = seq_draw_s * 1e3 / n;
  m.draw_translucent_ms = time_ms(n, [&] {
    draw_scene(cr, w, h, k++, true);
    cairo_surface_flush(surface);
  });
  std::vector<guint8> out(size);
  m.unpremultiply_ms =
      time_ms(n, [&] { canvas_pixels::unpremultiply_rows(data, out.data(), stride, w, 0, h); });
  m.unpremultiply_ref_ms = time_ms(std::max(1, n / 5), [&] {
    canvas_pixels::unpremultiply_rows_reference(data, out.data(), stride, w, 0, h);
  });
  cairo_destroy(cr);
  cairo_surface_destroy(surface);
  gst_buffer_unmap(canvas_mem, &canvas_map);
  gst_buffer_unref(canvas_mem);
  cairo_destroy(app_cr);
  cairo_surface_destroy(app_surface);
  return m;
}

void print_micro(const Micro &m, int w, int h, int n)
{
  g_print("\nM. Where the time goes, %dx%d, each step alone on one thread, CPU ms per frame "
          "(%d frames)\n",
          w, h, n);
  g_print("  %-58s %8.3f ms\n", "draw the scene (opaque fill + rectangle, Cairo)", m.draw_ms);
  g_print("  %-58s %8.3f ms  %.1f faults/frame\n",
          "copy the canvas into recycled memory (pool, memcpy)", m.copy_recycled_ms,
          m.copy_recycled_faults);
  g_print("  %-58s %8.3f ms\n", "the same with streaming stores (a frame for downstream)",
          m.copy_stream_ms);
  g_print("  %-58s %8.3f ms  %.1f faults/frame\n", "appsrc's copy: fresh buffer + memcpy",
          m.copy_fresh_ms, m.copy_fresh_faults);
  g_print("  %-58s %8.3f ms\n", "floor with a sink that keeps frames: draw + streamed copy",
          m.floor_ms());
  g_print("  %-58s %8.3f ms\n", "in sequence: draw on the canvas, stream a copy out",
          m.draw_then_stream_ms);
  g_print("  %-58s %8.3f ms  = %.2fx\n", "in sequence: copy the held canvas, draw on the copy",
          m.copy_then_draw_ms, m.copy_then_draw_ms / m.draw_then_stream_ms);
  g_print("  %-58s %8.3f ms  = %.2fx\n", "in sequence: draw, then appsrc's copy",
          m.draw_then_copy_ms, m.draw_then_copy_ms / m.draw_then_stream_ms);
  g_print("  %-58s %8.3f ms\n", "opacity scan of an opaque canvas (alpha=true)", m.scan_ms);
  g_print("  %-58s %8.3f ms  = %.2fx the draw\n", "in sequence: draw, then the opacity scan",
          m.draw_then_scan_ms, m.draw_then_scan_ms / m.seq_draw_ms);
  g_print("  %-58s %8.3f ms\n", "draw the translucent scene", m.draw_translucent_ms);
  g_print("  %-58s %8.3f ms  = %.0f fps on one core\n", "unpremultiply a translucent canvas (SIMD)",
          m.unpremultiply_ms, 1e3 / m.unpremultiply_ms);
  g_print("  %-58s %8.3f ms  = %.0f fps\n", "unpremultiply, plain scalar reference",
          m.unpremultiply_ref_ms, 1e3 / m.unpremultiply_ref_ms);
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
/* Part S: soak                                                              */

struct SoakDraw {
  int width = 0, height = 0;
  guint64 draws = 0;
};

/* Draws for 8 s out of every 10 (opaque, then translucent every other 10 s);
 * idle the other 2 s, so the heartbeat repeats the frame the sink still
 * holds. */
gboolean on_soak_draw(GstElement *, cairo_t *cr, guint64 running_time, gpointer user_data)
{
  auto *d = static_cast<SoakDraw *>(user_data);
  const guint64 second = running_time / GST_SECOND;
  if (second % 10 >= 8)
    return FALSE;
  draw_scene(cr, d->width, d->height, d->draws++, (second / 10) % 2 == 1);
  return TRUE;
}

struct SoakResult {
  bool ran = false;
  std::vector<long> rss_kb; // one sample per second
  guint64 frames = 0, draws = 0;
  std::string stats;
};

SoakResult run_soak(double seconds)
{
  SoakResult out;
  const int w = opts.width, h = opts.height;
  GstElement *src = gst_element_factory_make("canvascapturesrc", "src");
  if (!src) {
    failures.push_back("soak: no canvascapturesrc element");
    return out;
  }
  GstElement *pipeline = gst_pipeline_new("bench-soak");
  GstElement *sink = gst_element_factory_make("fakesink", "sink"); // keeps the last sample
  Counter cnt;
  GstPad *pad = gst_element_get_static_pad(sink, "sink");
  gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, on_counted_buffer, &cnt, nullptr);
  gst_object_unref(pad);
  SoakDraw draw;
  draw.width = w;
  draw.height = h;
  g_object_set(src, "width", w, "height", h, "frame-rate", static_cast<double>(kFrameRate),
               nullptr);
  g_signal_connect(src, "draw", G_CALLBACK(on_soak_draw), &draw);
  gst_bin_add_many(GST_BIN(pipeline), src, sink, nullptr);
  gst_element_link(src, sink);

  GstBus *bus = gst_element_get_bus(pipeline);
  bool ok = gst_element_set_state(pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE;
  if (!ok)
    failures.push_back("soak: " + take_error(bus));
  const double t0 = now_wall();
  while (ok && now_wall() - t0 < seconds) {
    GstMessage *msg = gst_bus_timed_pop_filtered(
        bus, GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    if (msg) {
      failures.push_back("soak: error or EOS before the end of the run");
      gst_message_unref(msg);
      ok = false;
      break;
    }
    out.rss_kb.push_back(bench::rss_kb());
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  out.stats = read_stats(src);
  gst_object_unref(bus);
  gst_object_unref(pipeline);
  out.frames = cnt.frames;
  out.draws = draw.draws;
  if (ok && cnt.frames == 0) {
    failures.push_back("soak: no frame reached the sink");
    ok = false;
  }
  out.ran = ok;
  return out;
}

/* Growth of the resident size after the first seconds: the largest sample
 * from @settle s on, minus the sample at @settle s. */
long soak_growth_kb(const SoakResult &s, size_t settle)
{
  if (s.rss_kb.size() <= settle)
    return 0;
  const long base = s.rss_kb[settle - 1];
  long top = base;
  for (size_t i = settle; i < s.rss_kb.size(); i++)
    top = std::max(top, s.rss_kb[i]);
  return top - base;
}

/* ------------------------------------------------------------------------ */
/* Reporting                                                                 */

const Config *find_config(const std::vector<Config> &configs, const Size &size, const char *sink,
                          const char *producer)
{
  for (const auto &c : configs)
    if (c.size.width == size.width && c.size.height == size.height &&
        g_str_equal(c.sink->key, sink) && g_str_equal(c.producer->key, producer))
      return &c;
  return nullptr;
}

void print_offline(const std::vector<Config> &configs, const Size &size)
{
  g_print("\nA. Offline %dx%d, %d frames (vp8: %d) at %d/1, median of %d round(s), steady state "
          "(after the first tenth of the frames)\n",
          size.width, size.height, opts.frames, opts.enc_frames, kFrameRate, opts.rounds);
  g_print("  %-32s %9s %10s %9s %10s %10s\n", "producer", "fps", "CPU ms/fr", "faults/fr",
          "fps/appsrc", "CPU/appsrc");
  for (const auto &sink : kSinks) {
    bool any = false;
    for (const auto &c : configs)
      if (c.size.width == size.width && c.size.height == size.height && c.sink == &sink)
        any = true;
    if (!any)
      continue;
    g_print("  [%s] %s\n", sink.key, sink.label);
    const Config *app = find_config(configs, size, sink.key, "app");
    for (const auto &prod : kProducers) {
      const Config *c = find_config(configs, size, sink.key, prod.key);
      if (!c)
        continue;
      if (std::isnan(med(*c, run_fps))) {
        g_print("    %-30s %9s\n", prod.label, "FAILED");
        continue;
      }
      const double fps = med(*c, run_fps), cpu = med(*c, run_cpu_ms);
      g_print("    %-30s %9.1f %10.3f %9.1f", prod.label, fps, cpu, med(*c, run_faults));
      if (app && c != app && !std::isnan(med(*app, run_fps)))
        g_print(" %9.2fx %9.2fx", fps / med(*app, run_fps), cpu / med(*app, run_cpu_ms));
      g_print("\n");
    }
  }
}

void print_stats(const std::vector<Config> &configs)
{
  g_print("\ncanvascapturesrc stats (last round, 1st size): canvas-copies = copy-on-write\n");
  for (const auto &c : configs) {
    if (c.runs.empty() || c.runs.back().stats.empty() || c.size.width != configs[0].size.width)
      continue;
    const std::string &s = c.runs.back().stats;
    const char *copies = strstr(s.c_str(), "canvas-copies=(guint64)");
    const char *frames = strstr(s.c_str(), "frames-captured=(guint64)");
    g_print("  %-10s frames-captured=%s canvas-copies=%s\n", c.id().c_str(),
            frames ? std::to_string(g_ascii_strtoull(frames + 25, nullptr, 10)).c_str() : "?",
            copies ? std::to_string(g_ascii_strtoull(copies + 23, nullptr, 10)).c_str() : "?");
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

/* One summary line: @value against @target (at least or at most). */
void target_line(const std::string &what, double value, const char *unit, double target,
                 bool at_least, bool primary = true)
{
  if (!std::isfinite(value)) {
    g_print("  %-66s    n/a\n", what.c_str());
    return;
  }
  const bool pass = at_least ? value >= target : value <= target;
  g_print("  %-66s %8.2f%-3s target %s %.2f%s  %s%s\n", what.c_str(), value, unit,
          at_least ? ">=" : "<=", target, unit, verdict(pass), primary ? "" : " (info)");
}

/* A bound measured in part M, printed under the targets it limits. */
void bound_line(const std::string &what, double value, const char *note)
{
  if (std::isfinite(value))
    g_print("  %-66s %8.2fx  %s\n", what.c_str(), value, note);
}

bool parse_sizes(const char *text, std::vector<Size> &sizes)
{
  gchar **parts = g_strsplit(text, ",", -1);
  bool ok = true;
  for (gchar **p = parts; *p; p++) {
    Size s{0, 0};
    if (sscanf(*p, "%dx%d", &s.width, &s.height) != 2 || s.width < 8 || s.height < 8 ||
        s.width > 16384 || s.height > 16384)
      ok = false;
    else
      sizes.push_back(s);
  }
  g_strfreev(parts);
  return ok && !sizes.empty();
}

} // namespace

int main(int argc, char **argv)
{
  GOptionEntry entries[] = {
      {"frames", 'n', 0, G_OPTION_ARG_INT, &opts.frames, "Frames per offline run (300)", "N"},
      {"enc-frames", 0, 0, G_OPTION_ARG_INT, &opts.enc_frames,
       "Frames per offline run through vp8enc (60)", "N"},
      {"sizes", 0, 0, G_OPTION_ARG_STRING, &opts.sizes,
       "Frame sizes of the offline runs (1920x1080,640x360)", "WxH,..."},
      {"width", 'W', 0, G_OPTION_ARG_INT, &opts.width, "Frame width of the live runs (1920)", "PX"},
      {"height", 'H', 0, G_OPTION_ARG_INT, &opts.height, "Frame height of the live runs (1080)",
       "PX"},
      {"rounds", 'r', 0, G_OPTION_ARG_INT, &opts.rounds,
       "Rounds of the offline configurations, interleaved; medians are reported (3)", "N"},
      {"live-seconds", 's', 0, G_OPTION_ARG_DOUBLE, &opts.live_seconds,
       "Duration of the live runs (20)", "S"},
      {"soak", 0, 0, G_OPTION_ARG_DOUBLE, &opts.soak,
       "Also a live run of S seconds printing the resident memory (off; quick: 2)", "S"},
      {"quick", 'q', 0, G_OPTION_ARG_NONE, &opts.quick,
       "Smoke test: 320x240, 30 frames (vp8 10), 1 round, 1 s live, 2 s soak (explicit options "
       "still win)",
       nullptr},
      {"skip-live", 0, 0, G_OPTION_ARG_NONE, &opts.skip_live, "Skip part B (live)", nullptr},
      {"skip-offline", 0, 0, G_OPTION_ARG_NONE, &opts.skip_offline, "Skip part A (offline)",
       nullptr},
      {"skip-micro", 0, 0, G_OPTION_ARG_NONE, &opts.skip_micro, "Skip part M (each step alone)",
       nullptr},
      {"only", 0, 0, G_OPTION_ARG_STRING, &opts.only,
       "Run only these offline configurations: ids (keep-cv), sinks (keep, appsink, vp8, conv, "
       "zero) or producers (cv, ca, ct, app, vts), comma-separated",
       "IDS"},
      {"timeout", 0, 0, G_OPTION_ARG_DOUBLE, &opts.timeout,
       "Seconds an offline run may take before it counts as failed (30 + 0.1 per frame)", "S"},
      {nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr}};

  GOptionContext *ctx =
      g_option_context_new("- canvascapturesrc against appsrc and videotestsrc, per sink");
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
  if (argc > 1) {
    g_printerr("unknown argument: %s (see --help)\n", argv[1]);
    return 2;
  }

  auto pick = [](auto value, auto normal, auto quick) {
    return value > 0 ? value : (opts.quick ? quick : normal);
  };
  opts.frames = pick(opts.frames, 300, 30);
  opts.enc_frames = pick(opts.enc_frames, 60, 10);
  opts.rounds = pick(opts.rounds, 3, 1);
  opts.live_seconds = pick(opts.live_seconds, 20.0, 1.0);
  if (opts.soak < 0) // --soak 0 turns it off, even with --quick
    opts.soak = opts.quick ? 2.0 : 0.0;
  std::vector<Size> sizes;
  if (!parse_sizes(opts.sizes ? opts.sizes : (opts.quick ? "320x240" : "1920x1080,640x360"),
                   sizes)) {
    g_printerr("--sizes: expected WxH[,WxH...] with 8..16384 pixels a side\n");
    return 2;
  }
  opts.width = pick(opts.width, sizes[0].width, sizes[0].width);
  opts.height = pick(opts.height, sizes[0].height, sizes[0].height);

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
  GDateTime *now = g_date_time_new_now_utc();
  gchar *date = g_date_time_format(now, "%Y-%m-%d %H:%M UTC");
  g_date_time_unref(now);
  double load[3] = {0, 0, 0};
  if (getloadavg(load, 3) < 0)
    load[0] = NAN;
  g_print("%s, GStreamer %u.%u.%u, Cairo %s, %ld CPU(s), load average %.2f\n", date, major, minor,
          micro, cairo_version_string(), sysconf(_SC_NPROCESSORS_ONLN), load[0]);
  g_free(date);

  Micro micro_result;
  const Size &big = sizes[0];
  const int micro_n = std::max(5, opts.frames / 3);
  if (!opts.skip_micro) {
    micro_result = run_micro(big.width, big.height, micro_n);
    print_micro(micro_result, big.width, big.height, micro_n);
  }

  std::vector<Config> configs;
  gchar **only = opts.only ? g_strsplit(opts.only, ",", -1) : nullptr;
  for (const auto &size : sizes)
    for (const auto &sink : kSinks)
      for (const auto &prod : kProducers) {
        Config c{size, &sink, &prod, {}};
        if (only && !g_strv_contains(only, c.id().c_str()) && !g_strv_contains(only, sink.key) &&
            !g_strv_contains(only, prod.key))
          continue;
        configs.push_back(c);
      }
  g_strfreev(only);

  if (!opts.skip_offline && !configs.empty()) {
    // Warm-up: page in code, fill the registry; not reported.
    g_print("\nwarm-up (10 frames each)...\n");
    for (auto &c : configs)
      run_offline(c, 10);
    for (int round = 0; round < opts.rounds; round++) {
      g_print("round %d/%d...\n", round + 1, opts.rounds);
      for (auto &c : configs)
        c.runs.push_back(run_offline(c, frames_for(c)));
    }
    for (const auto &size : sizes)
      print_offline(configs, size);
    print_stats(configs);
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

  SoakResult soak;
  const size_t settle = 5;
  if (opts.soak > 0) {
    g_print("\nS. soak: live %dx%d alpha=true frame-rate=30 -> fakesink (keeps the last sample), "
            "%.0f s; drawing 8 s of 10 (translucent every other 10 s), idle 2 s (heartbeats)\n",
            opts.width, opts.height, opts.soak);
    soak = run_soak(opts.soak);
    if (soak.ran) {
      g_print("  frames %" G_GUINT64_FORMAT ", draws %" G_GUINT64_FORMAT "\n  RSS MB by second:",
              soak.frames, soak.draws);
      for (size_t i = 0; i < soak.rss_kb.size(); i++)
        g_print("%s%.1f", i % 15 ? " " : "\n   ", soak.rss_kb[i] / 1024.0);
      g_print("\n  element %s\n", soak.stats.c_str());
    }
  }

  // Summary: informational, never the exit status.
  g_print("\nsummary (%dx%d unless said; fps = wall-clock frames/s, medians)\n", big.width,
          big.height);
  auto ratio = [&](const Size &size, const char *sink, const char *num, const char *den,
                   double (*f)(const Run &)) {
    const Config *a = find_config(configs, size, sink, num),
                 *b = find_config(configs, size, sink, den);
    return a && b ? med(*a, f) / med(*b, f) : NAN;
  };
  if (!opts.skip_offline) {
    for (const char *sink : {"keep", "appsink"}) {
      target_line(std::string("[") + sink + "] canvas alpha=false fps / appsrc+copy fps",
                  ratio(big, sink, "cv", "app", run_fps), "x", 2.0, true);
      target_line(std::string("[") + sink + "] canvas alpha=true opaque fps / appsrc+copy fps",
                  ratio(big, sink, "ca", "app", run_fps), "x", 1.5, true);
      target_line(std::string("[") + sink + "] the same in CPU per frame, appsrc / canvas",
                  1.0 / ratio(big, sink, "cv", "app", run_cpu_ms), "x", 2.0, true, false);
    }
    if (!opts.skip_micro)
      bound_line("  part M: (draw, then appsrc's copy) / (draw, then streamed copy)",
                 micro_result.draw_then_copy_ms / micro_result.draw_then_stream_ms,
                 "the same bytes moved; the canvas stays in the cache");
    const Config *keep_cv = find_config(configs, big, "keep", "cv");
    if (keep_cv && !opts.skip_micro)
      target_line("[keep] canvas alpha=false CPU/frame / (draw + streamed copy)",
                  med(*keep_cv, run_cpu_ms) / micro_result.floor_ms(), "x", 1.5, false);
    for (const char *prod : {"cv", "ca", "ct"}) {
      const Config *c = find_config(configs, big, "keep", prod);
      if (c)
        target_line(std::string("[keep] minor page faults per frame, canvas ") + prod,
                    med(*c, run_faults), "", 1.0, false);
    }
    for (const auto &size : sizes)
      for (const auto &sink : kSinks) {
        gchar *what = g_strdup_printf("[%s] %dx%d canvas alpha=true opaque / alpha=false CPU",
                                      sink.key, size.width, size.height);
        target_line(what, ratio(size, sink.key, "ca", "cv", run_cpu_ms), "x", 1.3, false);
        g_free(what);
      }
    if (!opts.skip_micro)
      bound_line("  bound for [zero] (part M, first size): (draw, then scan) / draw",
                 micro_result.draw_then_scan_ms / micro_result.seq_draw_ms,
                 "the scan reads every byte the full-frame draw wrote");
    for (const char *prod : {"cv", "ca"})
      target_line(std::string("[vp8] canvas ") + prod + " fps / appsrc+copy fps (no slower)",
                  ratio(big, "vp8", prod, "app", run_fps), "x", 1.0, true);
  }
  if (!opts.skip_micro)
    target_line("translucent canvas unpremultiplied, frames/s on one core",
                1e3 / micro_result.unpremultiply_ms, "", 200, true);
  auto jitter_line = [](const char *what, const LiveResult &l, bool primary) {
    if (!l.ran || l.grid_err_ms.empty()) {
      g_print("  %-66s    n/a\n", what);
      return;
    }
    target_line(what, percentile(l.grid_err_ms, 0.99), "ms", 1.0, false, primary);
  };
  if (!opts.skip_live) {
    jitter_line("live PTS jitter p99 |PTS - k/30 s| (B, direct)", live, true);
    jitter_line("live PTS jitter p99 |PTS - k/30 s| (B', queue)", live_queue, false);
  }
  if (soak.ran && soak.rss_kb.size() > settle)
    target_line("soak: RSS growth after the first 5 s, MB", soak_growth_kb(soak, settle) / 1024.0,
                "", 2.0, false);
  g_print("  peak RSS of the whole run: %.1f MB\n", bench::peak_rss_kb() / 1024.0);
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
