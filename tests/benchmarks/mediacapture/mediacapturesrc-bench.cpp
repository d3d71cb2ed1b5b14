/* mediacapturesrc-bench: the cost of capturing what a media URI plays.
 *
 * A. CPU: (a) mediacapturesrc uri=... ! fakesink sync=true (one sink per
 *    track) against (b) the peer a user writes today, uridecodebin uri=... !
 *    fakesink sync=true. Both play the same 1080p30 + stereo 48 kHz file in
 *    real time, in interleaved rounds (the order alternates); the figure is
 *    the median over the rounds of the process CPU time of (a) over (b).
 * G. The uri switch gap: the hole in the captured output's running time
 *    between the last buffer of the old uri and the first one of the new uri
 *    (and where the time goes: set -> old tracks' EOS -> new pads -> first
 *    buffer).
 * R. Time-stretching: how many scaletempo elements live while the element
 *    plays at playback-rate 1.0, then 2.0 set while playing, then 1.0 again
 *    (audio must keep flowing through each change).
 * S. --soak S: a live run of S seconds (looping, a uri switch and a rate
 *    change now and then) printing the resident memory every few seconds.
 * Then the peak resident size of the whole run.
 *
 * Never asserts on time: the exit status is non-zero only when a pipeline
 * failed or did not deliver. --quick: 320x240, 3 s, one round (smoke test).
 * The media files are made once and kept in the build directory.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "../common/bench-memory.h"

#include <gst/gst.h>
#include <glib/gstdio.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#ifndef BENCH_MEDIA_DIR
#define BENCH_MEDIA_DIR "."
#endif

using bench::peak_rss_kb;
using bench::rss_kb;

namespace
{

struct Options {
  bool quick = false;
  /* -1: the default (which --quick changes) */
  int width = -1, height = -1, seconds = -1, switches = -1, rounds = -1;
  double soak = -1;
  bool skip_cpu = false, skip_switch = false, skip_rate = false;
};

std::vector<std::string> failures;

double cpu_seconds()
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* CPU seconds of each thread of this process now, by thread id. */
std::map<long, double> thread_cpu()
{
  std::map<long, double> out;
  const double tick = sysconf(_SC_CLK_TCK);
  GDir *dir = g_dir_open("/proc/self/task", 0, nullptr);
  if (!dir)
    return out;
  while (const gchar *entry = g_dir_read_name(dir)) {
    gchar *path = g_strdup_printf("/proc/self/task/%s/stat", entry);
    gchar *text = nullptr;
    if (g_file_get_contents(path, &text, nullptr, nullptr)) {
      /* pid (comm) state ... utime stime: fields 14 and 15, counted after
       * the last ')' since the name may hold anything */
      const gchar *close = strrchr(text, ')');
      if (close) {
        gchar **f = g_strsplit(close + 2, " ", 0);
        if (g_strv_length(f) > 12)
          out[atol(entry)] =
              (g_ascii_strtod(f[11], nullptr) + g_ascii_strtod(f[12], nullptr)) / tick;
        g_strfreev(f);
      }
      g_free(text);
    }
    g_free(path);
  }
  g_dir_close(dir);
  return out;
}

long context_switches()
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_nvcsw + ru.ru_nivcsw;
}

double median(std::vector<double> v)
{
  if (v.empty())
    return -1;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double now_ms()
{
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool run_to_eos(GstElement *pipeline, GstClockTime timeout,
                const std::function<void()> &at_end = nullptr)
{
  GstBus *bus = gst_element_get_bus(pipeline);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstMessage *msg = gst_bus_timed_pop_filtered(
      bus, timeout, (GstMessageType)(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  bool ok = msg && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS;
  if (msg && !ok) {
    GError *err;
    gst_message_parse_error(msg, &err, nullptr);
    g_printerr("error: %s\n", err->message);
    g_error_free(err);
  }
  if (msg)
    gst_message_unref(msg);
  if (at_end)
    at_end();
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(bus);
  return ok;
}

std::string make_media(const Options &o, const std::string &dir, const char *name, int seconds)
{
  gchar *path = g_build_filename(dir.c_str(), name, nullptr);
  std::string p = path;
  g_free(path);
  if (g_file_test(p.c_str(), G_FILE_TEST_EXISTS))
    return p;
  std::string tmp = p + ".part";
  gchar *desc = g_strdup_printf(
      "videotestsrc pattern=ball num-buffers=%d ! video/x-raw,format=I420,width=%d,height=%d,"
      "framerate=30/1 ! theoraenc speed-level=2 bitrate=4000 ! oggmux name=m ! filesink "
      "location=\"%s\" audiotestsrc samplesperbuffer=960 num-buffers=%d ! "
      "audio/x-raw,rate=48000,channels=2 ! vorbisenc ! m.",
      seconds * 30, o.width, o.height, tmp.c_str(), seconds * 50);
  g_print("making %s (%dx%d, %d s)...\n", p.c_str(), o.width, o.height, seconds);
  GstElement *pipeline = gst_parse_launch(desc, nullptr);
  g_free(desc);
  if (!pipeline || !run_to_eos(pipeline, 600 * GST_SECOND)) {
    g_printerr("could not make the benchmark media\n");
    exit(1);
  }
  gst_object_unref(pipeline);
  g_rename(tmp.c_str(), p.c_str());
  return p;
}

bool caps_is_video(GstPad *pad)
{
  GstCaps *caps = gst_pad_get_current_caps(pad);
  if (!caps)
    caps = gst_pad_query_caps(pad, nullptr);
  bool video = caps && !gst_caps_is_empty(caps) &&
               g_str_has_prefix(gst_structure_get_name(gst_caps_get_structure(caps, 0)), "video");
  if (caps)
    gst_caps_unref(caps);
  return video;
}

GstElement *add_fakesink(GstElement *pipeline, GstPad *pad)
{
  GstElement *sink = gst_element_factory_make("fakesink", nullptr);
  g_object_set(sink, "sync", TRUE, "async", FALSE, nullptr);
  gst_bin_add(GST_BIN(pipeline), sink);
  gst_element_sync_state_with_parent(sink);
  GstPad *sinkpad = gst_element_get_static_pad(sink, "sink");
  gst_pad_link(pad, sinkpad);
  gst_object_unref(sinkpad);
  return sink;
}

/* ------------------------------------------------------------ A. CPU */

struct Counts {
  std::atomic<guint64> video{0}, audio{0};
  std::mutex lock;
  std::set<long> pushers; /* the threads that pushed into the sinks */
};

GstPadProbeReturn count_probe(GstPad *pad, GstPadProbeInfo *, gpointer user_data)
{
  Counts *c = static_cast<Counts *>(user_data);
  bool video = GPOINTER_TO_INT(g_object_get_data(G_OBJECT(pad), "bench-video"));
  if (video)
    c->video++;
  else
    c->audio++;
  const long tid = syscall(SYS_gettid);
  std::lock_guard<std::mutex> lk(c->lock);
  c->pushers.insert(tid);
  return GST_PAD_PROBE_OK;
}

struct Run {
  GstElement *pipeline;
  Counts *counts;
};

void on_pad_added(GstElement *, GstPad *pad, gpointer user_data)
{
  Run *r = static_cast<Run *>(user_data);
  GstElement *sink = add_fakesink(r->pipeline, pad);
  GstPad *sinkpad = gst_element_get_static_pad(sink, "sink");
  g_object_set_data(G_OBJECT(sinkpad), "bench-video", GINT_TO_POINTER(caps_is_video(pad)));
  gst_pad_add_probe(sinkpad, GST_PAD_PROBE_TYPE_BUFFER, count_probe, r->counts, nullptr);
  gst_object_unref(sinkpad);
}

struct Play {
  double cpu = 0, wall = 0;
  /* The threads that pushed into the sinks: for mediacapturesrc its track
   * pads' tasks, for uridecodebin its decoders' threads. */
  double pushers_cpu = 0;
  long csw = 0;
  guint64 video = 0, audio = 0;
};

/* Plays @uri through @factory (mediacapturesrc or uridecodebin) into
 * sync=true fakesinks until the end. */
Play play(const char *factory, const std::string &uri)
{
  Play p;
  Counts counts;
  GstElement *pipeline = gst_pipeline_new(nullptr);
  GstElement *src = gst_element_factory_make(factory, nullptr);
  if (!src) {
    g_printerr("no %s element\n", factory);
    exit(1);
  }
  g_object_set(src, "uri", uri.c_str(), nullptr);
  gst_bin_add(GST_BIN(pipeline), src);
  Run r{pipeline, &counts};
  g_signal_connect(src, "pad-added", G_CALLBACK(on_pad_added), &r);
  const auto threads0 = thread_cpu();
  double c0 = cpu_seconds();
  long s0 = context_switches();
  double t0 = now_ms();
  /* Read at EOS, while the pushing threads are all alive. */
  std::map<long, double> threads1;
  bool ok = run_to_eos(pipeline, 120 * GST_SECOND, [&] { threads1 = thread_cpu(); });
  p.wall = (now_ms() - t0) / 1000;
  p.cpu = cpu_seconds() - c0;
  p.csw = context_switches() - s0;
  for (long tid : counts.pushers) {
    const auto a = threads1.find(tid);
    const auto b = threads0.find(tid);
    if (a != threads1.end())
      p.pushers_cpu += a->second - (b != threads0.end() ? b->second : 0);
  }
  gst_object_unref(pipeline);
  p.video = counts.video;
  p.audio = counts.audio;
  if (!ok)
    failures.push_back(std::string(factory) + " did not play " + uri + " to the end");
  return p;
}

struct CpuResult {
  double ratio = -1;
};

CpuResult run_cpu(const Options &o, const std::string &uri, const std::string &warm_uri)
{
  g_print("\nA. CPU: %dx%d@30 Theora + stereo 48 kHz Vorbis, %d s, played in real time into "
          "fakesink sync=true; %d interleaved round(s), the order alternates\n",
          o.width, o.height, o.seconds, o.rounds);
  /* warm-up: plugins loaded, the file in the page cache */
  play("uridecodebin", warm_uri);
  play("mediacapturesrc", warm_uri);
  std::vector<double> ca, cb, ratios, tasks, rest_ratios;
  std::vector<Play> pa, pb;
  g_print("  round  uridecodebin cpu s  mediacapturesrc cpu s  ratio  (wall s, ctx switches/s)  "
          "pushing threads s (b/a)\n");
  for (int r = 0; r < o.rounds; r++) {
    Play a, b;
    if (r % 2 == 0) {
      b = play("uridecodebin", uri);
      a = play("mediacapturesrc", uri);
    } else {
      a = play("mediacapturesrc", uri);
      b = play("uridecodebin", uri);
    }
    g_print("  %5d  %19.2f  %21.2f  %5.3f  (%.1f/%.1f, %.0f/%.0f)  %.2f/%.2f\n", r + 1, b.cpu,
            a.cpu, a.cpu / b.cpu, b.wall, a.wall, b.csw / b.wall, a.csw / a.wall, b.pushers_cpu,
            a.pushers_cpu);
    guint64 want = (guint64)(o.seconds * 30 * 0.9);
    if (a.video < want || b.video < want || a.audio == 0 || b.audio == 0)
      failures.push_back("A: a run delivered too few buffers");
    ca.push_back(a.cpu);
    cb.push_back(b.cpu);
    ratios.push_back(a.cpu / b.cpu);
    tasks.push_back(a.pushers_cpu);
    rest_ratios.push_back((a.cpu - a.pushers_cpu) / b.cpu);
    pa.push_back(a);
    pb.push_back(b);
  }
  g_print("  (b) uridecodebin ! fakesink sync=true     median cpu %.2f s (%.1f%% of a core)  "
          "video %" G_GUINT64_FORMAT " frames  audio %" G_GUINT64_FORMAT " buffers\n",
          median(cb), 100 * median(cb) / o.seconds, pb.back().video, pb.back().audio);
  g_print("  (a) mediacapturesrc ! fakesink sync=true  median cpu %.2f s (%.1f%% of a core)  "
          "video %" G_GUINT64_FORMAT " frames  audio %" G_GUINT64_FORMAT " buffers\n",
          median(ca), 100 * median(ca) / o.seconds, pa.back().video, pa.back().audio);
  CpuResult res;
  res.ratio = median(ratios);
  auto mm = std::minmax_element(ratios.begin(), ratios.end());
  g_print("  CPU time ratio (a)/(b): median %.3f (rounds %.3f..%.3f; ratio of medians %.3f)\n",
          res.ratio, *mm.first, *mm.second, median(ca) / median(cb));
  /* Where the difference is: mediacapturesrc's pushing threads are its track
   * tasks (the hop that keeps a track live; the outer sinks' clock waits run
   * in them), against the rest of the process (the internal pipeline:
   * decoders, its sinks). uridecodebin's pushing threads are its decoders'. */
  g_print(
      "  where: track tasks median %.2f s (%.1f%% of (b)); (a) without them / (b): median %.3f\n",
      median(tasks), 100 * median(tasks) / median(cb), median(rest_ratios));
  return res;
}

/* ------------------------------------------------------------ G. switch gap */

struct PadRec {
  GstPad *pad = nullptr;
  bool video = false;
  int gen = 0; /* the uri it belongs to */
  GstClockTime first_pts = GST_CLOCK_TIME_NONE, last_end = GST_CLOCK_TIME_NONE;
  GstClockTime first_arrival = GST_CLOCK_TIME_NONE, last_arrival = GST_CLOCK_TIME_NONE;
  double first_wall = -1, added_wall = -1, eos_wall = -1;
  guint64 buffers = 0;
};

struct Capture {
  GstElement *pipeline = nullptr;
  GstElement *src = nullptr;
  std::mutex m;
  std::atomic<int> gen{0};
  std::vector<PadRec *> recs;
  std::vector<GstElement *> sinks;
  std::vector<GstElement *> removed_sinks; /* of ended tracks: dropped by the main thread */
  ~Capture()
  {
    for (PadRec *r : recs)
      delete r;
  }
};

GstPadProbeReturn rec_probe(GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  PadRec *r = static_cast<PadRec *>(user_data);
  Capture *c = static_cast<Capture *>(g_object_get_data(G_OBJECT(pad), "bench-capture"));
  if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) == GST_EVENT_EOS) {
      std::lock_guard<std::mutex> lk(c->m);
      r->eos_wall = now_ms();
    }
    return GST_PAD_PROBE_OK;
  }
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
  GstClockTime arrival = GST_CLOCK_TIME_NONE;
  if (GstClock *clock = gst_element_get_clock(c->pipeline)) {
    arrival = gst_clock_get_time(clock) - gst_element_get_base_time(c->pipeline);
    gst_object_unref(clock);
  }
  std::lock_guard<std::mutex> lk(c->m);
  if (!GST_CLOCK_TIME_IS_VALID(r->first_pts)) {
    r->first_pts = GST_BUFFER_PTS(buf);
    r->first_arrival = arrival;
    r->first_wall = now_ms();
  }
  r->last_end =
      GST_BUFFER_PTS(buf) + (GST_BUFFER_DURATION_IS_VALID(buf) ? GST_BUFFER_DURATION(buf) : 0);
  r->last_arrival = arrival;
  r->buffers++;
  return GST_PAD_PROBE_OK;
}

void on_capture_pad_added(GstElement *, GstPad *pad, gpointer user_data)
{
  Capture *c = static_cast<Capture *>(user_data);
  PadRec *r = new PadRec;
  r->pad = pad;
  r->video = caps_is_video(pad);
  r->gen = c->gen;
  r->added_wall = now_ms();
  g_object_set_data(G_OBJECT(pad), "bench-capture", c);
  gst_pad_add_probe(
      pad, (GstPadProbeType)(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
      rec_probe, r, nullptr);
  GstElement *sink = add_fakesink(c->pipeline, pad);
  std::lock_guard<std::mutex> lk(c->m);
  g_object_set_data(G_OBJECT(pad), "bench-sink", sink);
  c->recs.push_back(r);
}

void on_capture_pad_removed(GstElement *, GstPad *pad, gpointer user_data)
{
  Capture *c = static_cast<Capture *>(user_data);
  std::lock_guard<std::mutex> lk(c->m);
  if (auto *sink = static_cast<GstElement *>(g_object_get_data(G_OBJECT(pad), "bench-sink")))
    c->removed_sinks.push_back(sink);
}

/* Main thread: the sinks of ended tracks leave the pipeline. */
void drop_removed_sinks(Capture *c)
{
  std::vector<GstElement *> sinks;
  {
    std::lock_guard<std::mutex> lk(c->m);
    sinks.swap(c->removed_sinks);
  }
  for (GstElement *s : sinks) {
    gst_element_set_state(s, GST_STATE_NULL);
    gst_bin_remove(GST_BIN(c->pipeline), s);
  }
}

Capture *capture_new(const std::string &uri, bool loop)
{
  Capture *c = new Capture;
  c->pipeline = gst_pipeline_new(nullptr);
  c->src = gst_element_factory_make("mediacapturesrc", nullptr);
  g_object_set(c->src, "uri", uri.c_str(), "loop", loop, nullptr);
  gst_bin_add(GST_BIN(c->pipeline), c->src);
  g_signal_connect(c->src, "pad-added", G_CALLBACK(on_capture_pad_added), c);
  g_signal_connect(c->src, "pad-removed", G_CALLBACK(on_capture_pad_removed), c);
  gst_element_set_state(c->pipeline, GST_STATE_PLAYING);
  return c;
}

/* An error on the bus, or "". */
std::string bus_error(GstElement *pipeline)
{
  GstBus *bus = gst_element_get_bus(pipeline);
  GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  std::string text;
  if (msg) {
    GError *err;
    gst_message_parse_error(msg, &err, nullptr);
    text = err->message;
    g_error_free(err);
    gst_message_unref(msg);
  }
  gst_object_unref(bus);
  return text;
}

void capture_free(Capture *c)
{
  gst_element_set_state(c->pipeline, GST_STATE_NULL);
  drop_removed_sinks(c);
  gst_object_unref(c->pipeline);
  delete c;
}

/* Both kinds of gen @gen have a first buffer. */
bool gen_started(Capture *c, int gen)
{
  std::lock_guard<std::mutex> lk(c->m);
  bool v = false, a = false;
  for (PadRec *r : c->recs) {
    if (r->gen != gen || !GST_CLOCK_TIME_IS_VALID(r->first_pts))
      continue;
    (r->video ? v : a) = true;
  }
  return v && a;
}

bool wait_for(const std::function<bool()> &cond, int ms)
{
  for (int w = 0; w < ms / 5; w++) {
    if (cond())
      return true;
    g_usleep(5000);
  }
  return cond();
}

struct SwitchResult {
  double gap_median = -1;
};

SwitchResult run_switch(const Options &o, const std::string &a, const std::string &b)
{
  g_print("\nG. uri switch gap: mediacapturesrc loop=true into fakesink sync=true, uri set while "
          "playing, %d switches between two %dx%d files\n",
          o.switches, o.width, o.height);
  Capture *c = capture_new(a, true);
  SwitchResult res;
  if (!wait_for([&] { return gen_started(c, 0); }, 20000)) {
    failures.push_back("G: no first buffers: " + bus_error(c->pipeline));
    capture_free(c);
    return res;
  }
  g_usleep(500000);
  std::vector<double> gap, vgap, agap, varr, t_eos, t_pads, t_first;
  g_print("  switch  gap ms (video, audio PTS; arrival video)  set->old EOS  set->new pads  "
          "set->first buffer (ms, wall)\n");
  for (int i = 0; i < o.switches; i++) {
    int old_gen = c->gen;
    double t_set = now_ms();
    c->gen = old_gen + 1;
    g_object_set(c->src, "uri", (i % 2 ? a : b).c_str(), nullptr);
    if (!wait_for([&] { return gen_started(c, old_gen + 1); }, 20000)) {
      failures.push_back("G: a switch gave no buffer: " + bus_error(c->pipeline));
      break;
    }
    g_usleep(300000);
    drop_removed_sinks(c);
    std::lock_guard<std::mutex> lk(c->m);
    GstClockTime old_end[2] = {0, 0}, new_first[2] = {GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE};
    GstClockTime old_arr[2] = {0, 0}, new_arr[2] = {GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE};
    double eos = -1, pads = -1, first = -1;
    for (PadRec *r : c->recs) {
      int k = r->video ? 0 : 1;
      if (r->gen == old_gen && GST_CLOCK_TIME_IS_VALID(r->last_end)) {
        old_end[k] = std::max(old_end[k], r->last_end);
        old_arr[k] = std::max(old_arr[k], r->last_arrival);
        if (r->eos_wall > 0)
          eos = std::max(eos, r->eos_wall - t_set);
      } else if (r->gen == old_gen + 1) {
        new_first[k] = std::min(new_first[k], r->first_pts);
        new_arr[k] = std::min(new_arr[k], r->first_arrival);
        pads = std::max(pads, r->added_wall - t_set);
        if (first < 0 || r->first_wall - t_set < first)
          first = r->first_wall - t_set;
      }
    }
    auto ms = [](GstClockTime later, GstClockTime earlier) {
      return ((double)later - (double)earlier) / GST_MSECOND;
    };
    double gv = ms(new_first[0], old_end[0]), ga = ms(new_first[1], old_end[1]);
    /* the larger of the two tracks' holes */
    double g = std::max(gv, ga);
    double av = ms(new_arr[0], old_arr[0]);
    g_print("  %6d  %6.1f (%6.1f, %6.1f; %6.1f)  %12.1f  %13.1f  %17.1f\n", i + 1, g, gv, ga, av,
            eos, pads, first);
    gap.push_back(g);
    vgap.push_back(gv);
    agap.push_back(ga);
    varr.push_back(av);
    t_eos.push_back(eos);
    t_pads.push_back(pads);
    t_first.push_back(first);
  }
  std::string err = bus_error(c->pipeline);
  if (!err.empty())
    failures.push_back("G: " + err);
  capture_free(c);
  if (gap.empty())
    return res;
  res.gap_median = median(gap);
  g_print("  median: gap %.1f ms (video %.1f, audio %.1f; arrival video %.1f); set->old EOS "
          "%.1f, set->new pads %.1f, set->first buffer %.1f ms\n",
          res.gap_median, median(vgap), median(agap), median(varr), median(t_eos), median(t_pads),
          median(t_first));
  g_print("  gap = first PTS of the new track - end (PTS + duration) of the old track's last "
          "buffer, outer running time, the larger of video and audio\n");
  return res;
}

/* ------------------------------------------------------------ R. rate */

/* Counts the scaletempo elements alive, through the element-new tracer hook
 * (registered only now: the CPU runs above go without hooks). */
struct TempoTracer {
  GstTracer parent;
};
struct TempoTracerClass {
  GstTracerClass parent_class;
};
G_DEFINE_TYPE(TempoTracer, tempo_tracer, GST_TYPE_TRACER)
void tempo_tracer_class_init(TempoTracerClass *) {}
void tempo_tracer_init(TempoTracer *) {}

std::atomic<int> tempo_alive{0};

void tempo_gone(gpointer, GObject *)
{
  tempo_alive--;
}

void on_element_new(GObject *, GstClockTime, GstElement *element)
{
  GstElementFactory *f = gst_element_get_factory(element);
  if (f && g_str_equal(GST_OBJECT_NAME(f), "scaletempo")) {
    tempo_alive++;
    g_object_weak_ref(G_OBJECT(element), tempo_gone, nullptr);
  }
}

struct RateResult {
  int at_1 = -1, at_2 = -1, back_1 = -1;
};

guint64 audio_buffers(Capture *c)
{
  std::lock_guard<std::mutex> lk(c->m);
  guint64 n = 0;
  for (PadRec *r : c->recs)
    if (!r->video)
      n += r->buffers;
  return n;
}

RateResult run_rate(const std::string &uri)
{
  g_print("\nR. time-stretching: scaletempo elements alive while mediacapturesrc plays (target: "
          "none at playback-rate 1.0)\n");
  static GstTracer *tracer = nullptr;
  if (!tracer) {
    tracer = GST_TRACER(g_object_new(tempo_tracer_get_type(), nullptr));
    gst_tracing_register_hook(tracer, "element-new", G_CALLBACK(on_element_new));
  }
  RateResult res;
  Capture *c = capture_new(uri, true);
  auto flowing = [&](const char *when) {
    guint64 n0 = audio_buffers(c);
    if (!wait_for([&] { return audio_buffers(c) > n0 + 10; }, 10000)) {
      failures.push_back(std::string("R: audio stopped ") + when + ": " + bus_error(c->pipeline));
      return false;
    }
    return true;
  };
  if (!wait_for([&] { return gen_started(c, 0); }, 20000) || !flowing("at rate 1.0")) {
    failures.push_back("R: no first buffers");
    capture_free(c);
    return res;
  }
  res.at_1 = tempo_alive;
  g_object_set(c->src, "playback-rate", 2.0, nullptr);
  g_usleep(300000);
  if (flowing("after playback-rate 2.0"))
    res.at_2 = tempo_alive;
  g_object_set(c->src, "playback-rate", 1.0, nullptr);
  g_usleep(300000);
  if (flowing("after playback-rate 1.0 again"))
    res.back_1 = tempo_alive;
  capture_free(c);
  g_print("  playback-rate 1.0: %d, then 2.0 (set while playing): %d, then 1.0 again: %d; audio "
          "flowed after each change\n",
          res.at_1, res.at_2, res.back_1);
  return res;
}

/* ------------------------------------------------------------ S. soak */

struct SoakResult {
  std::vector<std::pair<double, long>> samples; /* seconds, RSS kB */
  long growth_kb = 0;                           /* after the first 5 s */
  long cycle_growth_kb = 0; /* after the first cycle (20 s: a rate change and a switch done) */
  bool cycle = false;
  bool ran = false;
};

SoakResult run_soak(double seconds, const std::string &a, const std::string &b)
{
  const double every = seconds >= 20 ? 5 : 1;
  g_print("\nS. soak: mediacapturesrc loop=true (live, fakesink sync=true) for %.0f s; every 10 s "
          "playback-rate 1.5 for 2 s, every 20 s a uri switch; resident size every %.0f s\n",
          seconds, every);
  SoakResult res;
  Capture *c = capture_new(a, true);
  if (!wait_for([&] { return gen_started(c, 0); }, 20000)) {
    failures.push_back("S: no first buffers: " + bus_error(c->pipeline));
    capture_free(c);
    return res;
  }
  double t0 = now_ms();
  double next_sample = 0;
  int switches = 0;
  bool fast = false;
  for (;;) {
    double t = (now_ms() - t0) / 1000;
    if (t >= next_sample) {
      long rss = rss_kb();
      res.samples.push_back({t, rss});
      g_print("  %5.1f s  RSS %7.1f MB\n", t, rss / 1024.0);
      next_sample += every;
    }
    if (t >= seconds)
      break;
    int slot = (int)t % 10;
    if (!fast && slot == 5 && seconds >= 10) {
      g_object_set(c->src, "playback-rate", 1.5, nullptr);
      fast = true;
    } else if (fast && slot == 7) {
      g_object_set(c->src, "playback-rate", 1.0, nullptr);
      fast = false;
    }
    if ((int)t / 20 > switches) {
      switches++;
      g_object_set(c->src, "uri", (switches % 2 ? b : a).c_str(), nullptr);
    }
    drop_removed_sinks(c);
    g_usleep(50000);
  }
  std::string err = bus_error(c->pipeline);
  if (!err.empty())
    failures.push_back("S: " + err);
  if (audio_buffers(c) == 0)
    failures.push_back("S: no audio reached the sinks");
  capture_free(c);
  res.ran = true;
  /* growth: the last sample against the first one after @from s (or the first) */
  auto growth = [&](double from) {
    long base = res.samples.front().second;
    for (auto &s : res.samples)
      if (s.first >= from) {
        base = s.second;
        break;
      }
    return res.samples.back().second - base;
  };
  res.growth_kb = growth(5);
  /* what each activity allocates the first time (scaletempo, a second
   * medium's pools) is not growth: from the second cycle on, every activity
   * only repeats */
  res.cycle = seconds >= 40;
  if (res.cycle)
    res.cycle_growth_kb = growth(20.5);
  return res;
}

void print_header(const Options &o)
{
  time_t t = time(nullptr);
  char date[64];
  strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&t));
  double load[3] = {0, 0, 0};
  if (getloadavg(load, 3) < 0)
    load[0] = load[1] = load[2] = -1;
  gchar *ver = gst_version_string();
  g_print("mediacapturesrc-bench %s, %s, %ld CPUs, load average %.2f %.2f %.2f\n", date, ver,
          sysconf(_SC_NPROCESSORS_ONLN), load[0], load[1], load[2]);
  g_free(ver);
}

} // namespace

int main(int argc, char **argv)
{
  gst_init(&argc, &argv);
  Options o;
  for (int i = 1; i < argc; i++) {
    auto arg = [&](int *out) {
      if (i + 1 >= argc)
        return false;
      *out = atoi(argv[++i]);
      return true;
    };
    bool ok = true;
    if (strcmp(argv[i], "--quick") == 0)
      o.quick = true;
    else if (strcmp(argv[i], "--rounds") == 0)
      ok = arg(&o.rounds);
    else if (strcmp(argv[i], "--seconds") == 0)
      ok = arg(&o.seconds);
    else if (strcmp(argv[i], "--switches") == 0)
      ok = arg(&o.switches);
    else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc)
      ok = sscanf(argv[++i], "%dx%d", &o.width, &o.height) == 2;
    else if (strcmp(argv[i], "--soak") == 0 && i + 1 < argc)
      o.soak = atof(argv[++i]);
    else if (strcmp(argv[i], "--skip-cpu") == 0)
      o.skip_cpu = true;
    else if (strcmp(argv[i], "--skip-switch") == 0)
      o.skip_switch = true;
    else if (strcmp(argv[i], "--skip-rate") == 0)
      o.skip_rate = true;
    else
      ok = false;
    if (!ok) {
      g_printerr(
          "usage: %s [--quick] [--rounds N] [--seconds S] [--size WxH] [--switches N] [--soak S]\n"
          "          [--skip-cpu] [--skip-switch] [--skip-rate]\n"
          "  A: plays a 1080p30 + stereo file in real time through mediacapturesrc and\n"
          "     uridecodebin, N interleaved rounds [7] of S seconds [20] (CPU time ratio);\n"
          "     --size: of the media [1920x1080];\n"
          "  G: the uri switch gap over N switches [10]; R: scaletempo at rate 1.0 / 2.0;\n"
          "  S: --soak S: a live run of S seconds printing the resident size [off].\n"
          "  --quick: 320x240, 3 s, 1 round, 2 switches, 2 s soak (the smoke test;\n"
          "  explicit options still win).\n"
          "  Media files are made once in %s.\n",
          argv[0], BENCH_MEDIA_DIR);
      return strcmp(argv[i], "--help") == 0 ? 0 : 2;
    }
  }
  auto dflt = [](int *v, int normal, int quick_value, bool quick) {
    if (*v < 0)
      *v = quick ? quick_value : normal;
  };
  dflt(&o.width, 1920, 320, o.quick);
  dflt(&o.height, 1080, 240, o.quick);
  dflt(&o.seconds, 20, 3, o.quick);
  dflt(&o.switches, 10, 2, o.quick);
  dflt(&o.rounds, 7, 1, o.quick);
  if (o.soak < 0)
    o.soak = o.quick ? 2 : 0;
  if (o.rounds < 1 || o.seconds < 1 || o.width < 16 || o.height < 16) {
    g_printerr("--rounds and --seconds must be >= 1, --size at least 16x16\n");
    return 2;
  }
  const char *root = g_getenv("GST_WEBCAPTURE_BUILD_ROOT");
  std::string dir = root ? std::string(root) + "/tests/benchmarks/mediacapture" : BENCH_MEDIA_DIR;
  g_mkdir_with_parents(dir.c_str(), 0755);
  gchar *name = g_strdup_printf("bench-%dx%d-%ds.ogg", o.width, o.height, o.seconds);
  std::string file = make_media(o, dir, name, o.seconds);
  g_free(name);
  gchar *sname = g_strdup_printf("bench-switch-%dx%d.ogg", o.width, o.height);
  std::string small = make_media(o, dir, sname, 2);
  g_free(sname);
  gchar *uri_c = gst_filename_to_uri(file.c_str(), nullptr);
  gchar *small_c = gst_filename_to_uri(small.c_str(), nullptr);
  std::string uri = uri_c, small_uri = small_c;
  g_free(uri_c);
  g_free(small_c);

  print_header(o);
  CpuResult cpu;
  SwitchResult sw;
  RateResult rate;
  SoakResult soak;
  if (!o.skip_cpu)
    cpu = run_cpu(o, uri, small_uri);
  if (!o.skip_switch && o.switches > 0)
    sw = run_switch(o, uri, small_uri);
  if (!o.skip_rate)
    rate = run_rate(small_uri);
  if (o.soak > 0)
    soak = run_soak(o.soak, small_uri, uri);

  auto verdict = [](bool pass) { return pass ? "PASS" : "MISS"; };
  g_print("\nsummary (informational; %s)\n", o.quick ? "--quick: smoke sizes, not figures" : "");
  if (cpu.ratio > 0)
    g_print("  CPU mediacapturesrc / uridecodebin, median of %d rounds: %.3f (target <= 1.03) %s\n",
            o.rounds, cpu.ratio, verdict(cpu.ratio <= 1.03));
  if (sw.gap_median >= 0 || !o.skip_switch)
    g_print("  uri switch gap median: %.1f ms (target < 50 ms) %s\n", sw.gap_median,
            verdict(sw.gap_median >= 0 && sw.gap_median < 50));
  if (rate.at_1 >= 0)
    g_print("  scaletempo at playback-rate 1.0: %d, at 2.0: %d, back at 1.0: %d (target 0, >= 1, "
            "0) %s\n",
            rate.at_1, rate.at_2, rate.back_1,
            verdict(rate.at_1 == 0 && rate.at_2 >= 1 && rate.back_1 == 0));
  if (soak.ran && soak.cycle)
    g_print("  soak %.0f s: RSS growth after the first cycle (20 s: one rate change and one uri "
            "switch done) %+.1f MB (target <= 2 MB) %s; after the first 5 s %+.1f MB\n",
            o.soak, soak.cycle_growth_kb / 1024.0, verdict(soak.cycle_growth_kb <= 2048),
            soak.growth_kb / 1024.0);
  else if (soak.ran)
    g_print("  soak %.0f s: RSS growth after the first 5 s %+.1f MB (target <= 2 MB) %s\n", o.soak,
            soak.growth_kb / 1024.0, verdict(soak.growth_kb <= 2048));
  g_print("  peak resident size of the run (ru_maxrss): %.1f MB\n", peak_rss_kb() / 1024.0);
  if (failures.empty()) {
    g_print("every pipeline ran and delivered\n");
    return 0;
  }
  for (auto &f : failures)
    g_printerr("FAILED: %s\n", f.c_str());
  return 1;
}
