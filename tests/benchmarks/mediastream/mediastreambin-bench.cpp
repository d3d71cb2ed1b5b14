/* mediastreambin-bench: what a track costs.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * 1. Pipeline: 1080p30 I420 from videotestsrc (solid colour: a cheap source,
 *    so the element's share shows), 90 s of buffers (2700), not synchronised,
 *    into fakesink, through identity / mediastreambin (enabled) /
 *    mediastreambin (disabled: black frames). Process CPU time and wall time
 *    from the first buffer to EOS; the ratio of mediastreambin to identity
 *    (target <= 1.02). Medians of interleaved rounds.
 * 2. Per buffer: the same buffers pushed from this thread straight into the
 *    element (no source cost), thread CPU time per buffer: a direct link,
 *    identity, mediastreambin enabled and disabled.
 * 3. --soak S: a live run of S seconds (1080p30 video and 48 kHz audio
 *    tracks into sync=true sinks, each track disabled for 3 s out of every 10)
 *    printing the resident size every few seconds.
 * Then the peak resident size of the run.
 * Never asserts on time. --quick: 320x240, 30 buffers, 1 round, 2 s soak
 * (smoke test: checks that every variant delivers every buffer). */
#include "../common/bench-memory.h"

#include <gst/gst.h>

#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using bench::peak_rss_kb;
using bench::rss_kb;

namespace
{

struct Config {
  int width = 1920;
  int height = 1080;
  int buffers = 2700; /* 90 s at 30 fps: a run takes ~0.3 s of CPU */
  int rounds = 11;
  double soak = -1; /* seconds; -1: the default (off; quick 2) */
};

struct Result {
  double cpu_s = 0; /* process CPU (user + sys) */
  double wall_s = 0;
  guint64 buffers = 0;
  double first_s = 0; /* push of the first buffer (run_push) */
};

double process_cpu()
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

double thread_cpu()
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

double median(std::vector<double> v)
{
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

GstPadProbeReturn count_buffer(GstPad *, GstPadProbeInfo *, gpointer user_data)
{
  (*static_cast<guint64 *>(user_data))++;
  return GST_PAD_PROBE_OK;
}

/* Pipeline runs: the clock starts at the first buffer reaching the sink, so
 * start-up (threads, negotiation, the first allocation) is left out. */
struct Timing {
  guint64 buffers = 0;
  double cpu_first = 0;
  gint64 wall_first = 0;
};

GstPadProbeReturn time_buffer(GstPad *, GstPadProbeInfo *, gpointer user_data)
{
  auto *t = static_cast<Timing *>(user_data);
  if (t->buffers++ == 0) {
    t->cpu_first = process_cpu();
    t->wall_first = g_get_monotonic_time();
  }
  return GST_PAD_PROBE_OK;
}

/* variant: "identity", "enabled", "disabled" */
Result run_pipeline(const Config &cfg, const std::string &variant)
{
  std::string middle = variant == "direct"     ? "fakesink name=sink sync=false"
                       : variant == "identity" ? "identity ! fakesink name=sink sync=false"
                                               : "ms.video_sink_0 mediastreambin name=ms "
                                                 "ms.video_0 ! fakesink name=sink sync=false";
  gchar *desc = g_strdup_printf("videotestsrc num-buffers=%d pattern=solid-color ! "
                                "video/x-raw,format=I420,width=%d,height=%d,framerate=30/1 ! %s",
                                cfg.buffers, cfg.width, cfg.height, middle.c_str());
  GError *err = nullptr;
  GstElement *pipeline = gst_parse_launch(desc, &err);
  g_free(desc);
  if (!pipeline) {
    g_printerr("pipeline: %s\n", err ? err->message : "?");
    exit(1);
  }
  if (variant == "disabled") {
    GstElement *ms = gst_bin_get_by_name(GST_BIN(pipeline), "ms");
    GstPad *track = gst_element_get_static_pad(ms, "video_0");
    g_object_set(track, "enabled", FALSE, NULL);
    gst_object_unref(track);
    gst_object_unref(ms);
  }
  Result r;
  Timing timing;
  GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  GstPad *pad = gst_element_get_static_pad(sink, "sink");
  gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, time_buffer, &timing, nullptr);
  gst_object_unref(pad);
  gst_object_unref(sink);

  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus(pipeline);
  GstMessage *msg = gst_bus_timed_pop_filtered(
      bus, GST_CLOCK_TIME_NONE, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
    g_printerr("error in %s\n", variant.c_str());
    exit(1);
  }
  gst_message_unref(msg);
  r.wall_s = (g_get_monotonic_time() - timing.wall_first) / 1e6;
  r.cpu_s = process_cpu() - timing.cpu_first;
  r.buffers = timing.buffers;
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  return r;
}

/* Pushes cfg.buffers shallow copies of one frame from this thread. variant:
 * "direct", "identity", "enabled", "disabled". Returns thread CPU seconds. */
Result run_push(const Config &cfg, const std::string &variant)
{
  GstElement *pipeline = gst_pipeline_new(nullptr);
  GstElement *sink = gst_element_factory_make("fakesink", nullptr);
  g_object_set(sink, "sync", FALSE, "async", FALSE, NULL);
  gst_bin_add(GST_BIN(pipeline), sink);
  GstPad *target = nullptr;
  if (variant == "direct") {
    target = gst_element_get_static_pad(sink, "sink");
  } else if (variant == "identity") {
    GstElement *identity = gst_element_factory_make("identity", nullptr);
    gst_bin_add(GST_BIN(pipeline), identity);
    gst_element_link(identity, sink);
    target = gst_element_get_static_pad(identity, "sink");
  } else {
    GstElement *ms = gst_element_factory_make("mediastreambin", nullptr);
    gst_bin_add(GST_BIN(pipeline), ms);
    target = gst_element_request_pad_simple(ms, "video_sink_%u");
    GstPad *track = gst_element_get_static_pad(ms, "video_0");
    GstPad *sinkpad = gst_element_get_static_pad(sink, "sink");
    gst_pad_link(track, sinkpad);
    if (variant == "disabled")
      g_object_set(track, "enabled", FALSE, NULL);
    gst_object_unref(sinkpad);
    gst_object_unref(track);
  }
  Result r;
  GstPad *sinkpad = gst_element_get_static_pad(sink, "sink");
  gst_pad_add_probe(sinkpad, GST_PAD_PROBE_TYPE_BUFFER, count_buffer, &r.buffers, nullptr);
  gst_object_unref(sinkpad);

  GstPad *src = gst_pad_new("src", GST_PAD_SRC);
  gst_pad_set_active(src, TRUE);
  gst_pad_link(src, target);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);

  gchar *caps_str = g_strdup_printf("video/x-raw,format=I420,width=%d,height=%d,framerate=30/1",
                                    cfg.width, cfg.height);
  GstCaps *caps = gst_caps_from_string(caps_str);
  g_free(caps_str);
  gst_pad_push_event(src, gst_event_new_stream_start("bench"));
  gst_pad_push_event(src, gst_event_new_caps(caps));
  gst_caps_unref(caps);
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  gst_pad_push_event(src, gst_event_new_segment(&segment));

  const gsize size = (gsize)cfg.width * cfg.height * 3 / 2;
  GstBuffer *frame = gst_buffer_new_allocate(nullptr, size, nullptr);
  gst_buffer_memset(frame, 0, 0x80, size);
  /* Buffers made outside the timed loop: only the push is measured. */
  std::vector<GstBuffer *> buffers;
  for (int i = 0; i < cfg.buffers; i++) {
    GstBuffer *b = gst_buffer_copy(frame);
    GST_BUFFER_PTS(b) = gst_util_uint64_scale(i, GST_SECOND, 30);
    GST_BUFFER_DURATION(b) = GST_SECOND / 30;
    buffers.push_back(b);
  }
  /* The first buffer is timed on its own: for a disabled track it includes
   * preparing the black frame for these caps (once per caps). */
  double t0 = thread_cpu();
  gst_pad_push(src, buffers[0]);
  r.first_s = thread_cpu() - t0;
  t0 = thread_cpu();
  gint64 w0 = g_get_monotonic_time();
  for (size_t i = 1; i < buffers.size(); i++)
    gst_pad_push(src, buffers[i]);
  r.cpu_s = thread_cpu() - t0;
  r.wall_s = (g_get_monotonic_time() - w0) / 1e6;
  gst_buffer_unref(frame);

  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_pad_unlink(src, target);
  gst_pad_set_active(src, FALSE);
  gst_object_unref(src);
  gst_object_unref(target);
  gst_object_unref(pipeline);
  return r;
}

/* 3. Live soak: returns the growth of the resident size (kB) after the
 * first 5 s, or -1 when the pipeline failed. */
long run_soak(const Config &cfg, double seconds, guint64 *video, guint64 *audio)
{
  const double every = seconds >= 20 ? 5 : 1;
  printf("\n3. soak: live videotestsrc %dx%d@30 and audiotestsrc 48 kHz through mediastreambin "
         "into fakesink sync=true for %.0f s; each track disabled 3 s out of every 10; resident "
         "size every %.0f s\n",
         cfg.width, cfg.height, seconds, every);
  gchar *desc = g_strdup_printf(
      "mediastreambin name=ms videotestsrc is-live=true pattern=ball ! "
      "video/x-raw,format=I420,width=%d,height=%d,framerate=30/1 ! ms.video_sink_0 "
      "audiotestsrc is-live=true samplesperbuffer=960 ! audio/x-raw,rate=48000,channels=2 ! "
      "ms.audio_sink_0 ms.video_0 ! fakesink name=vsink sync=true ms.audio_0 ! fakesink "
      "name=asink sync=true",
      cfg.width, cfg.height);
  GError *err = nullptr;
  GstElement *pipeline = gst_parse_launch(desc, &err);
  g_free(desc);
  if (!pipeline) {
    printf("  soak pipeline: %s\n", err ? err->message : "?");
    g_clear_error(&err);
    return -1;
  }
  GstElement *ms = gst_bin_get_by_name(GST_BIN(pipeline), "ms");
  GstPad *tracks[2] = {gst_element_get_static_pad(ms, "video_0"),
                       gst_element_get_static_pad(ms, "audio_0")};
  guint64 *counts[2] = {video, audio};
  const char *sinks[2] = {"vsink", "asink"};
  for (int i = 0; i < 2; i++) {
    GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), sinks[i]);
    GstPad *pad = gst_element_get_static_pad(sink, "sink");
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, count_buffer, counts[i], nullptr);
    gst_object_unref(pad);
    gst_object_unref(sink);
  }
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus(pipeline);
  std::vector<std::pair<double, long>> samples;
  gint64 t0 = g_get_monotonic_time();
  double next = 0;
  bool failed = false;
  for (;;) {
    double t = (g_get_monotonic_time() - t0) / 1e6;
    if (t >= next) {
      long rss = rss_kb();
      samples.push_back({t, rss});
      printf("  %5.1f s  RSS %7.1f MB\n", t, rss / 1024.0);
      fflush(stdout);
      next += every;
    }
    if (t >= seconds)
      break;
    /* video off in [3, 6) of every 10 s, audio off in [6, 9) */
    int slot = (int)t % 10;
    for (int i = 0; i < 2; i++) {
      gboolean want = !(slot >= 3 + 3 * i && slot < 6 + 3 * i);
      gboolean enabled;
      if (!tracks[i])
        continue;
      g_object_get(tracks[i], "enabled", &enabled, NULL);
      if (enabled != want)
        g_object_set(tracks[i], "enabled", want, NULL);
    }
    GstMessage *msg = gst_bus_timed_pop_filtered(
        bus, 50 * GST_MSECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    if (msg) {
      printf("  soak: %s before the end\n", GST_MESSAGE_TYPE_NAME(msg));
      gst_message_unref(msg);
      failed = true;
      break;
    }
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  for (GstPad *p : tracks)
    if (p)
      gst_object_unref(p);
  if (!tracks[0] || !tracks[1])
    failed = true;
  gst_object_unref(ms);
  gst_object_unref(bus);
  gst_object_unref(pipeline);
  if (failed || samples.empty())
    return -1;
  long base = samples.front().second;
  for (auto &s : samples)
    if (s.first >= 5) {
      base = s.second;
      break;
    }
  return samples.back().second - base;
}

} // namespace

int main(int argc, char **argv)
{
  gst_init(&argc, &argv);
  Config cfg;
  bool quick = false;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--quick")) {
      quick = true;
    } else if (!strcmp(argv[i], "--soak") && i + 1 < argc) {
      cfg.soak = atof(argv[++i]);
    } else {
      fprintf(stderr,
              "usage: %s [--quick] [--soak S]\n"
              "  --quick: 320x240, 30 buffers, 1 round, 2 s soak (the smoke test)\n"
              "  --soak S: a live run of S seconds printing the resident size [off]\n",
              argv[0]);
      return strcmp(argv[i], "--help") ? 2 : 0;
    }
  }
  if (quick) {
    cfg.width = 320;
    cfg.height = 240;
    cfg.buffers = 30;
    cfg.rounds = 1;
  }
  if (cfg.soak < 0)
    cfg.soak = quick ? 2 : 0;
  bool ok = true;

  printf("mediastreambin-bench: %dx%d I420, %d buffers (%.0f s at 30 fps), median of %d round(s)\n",
         cfg.width, cfg.height, cfg.buffers, cfg.buffers / 30.0, cfg.rounds);

  printf("\n1. videotestsrc ! X ! fakesink sync=false (process CPU, wall)\n");
  const char *pipeline_variants[] = {"direct", "identity", "enabled", "disabled"};
  const char *pipeline_labels[] = {"direct link", "identity", "mediastreambin enabled",
                                   "mediastreambin disabled"};
  /* Rounds interleave the variants so that load changes hit them alike. */
  std::vector<double> cpu[4], wall[4];
  for (int r = 0; r < cfg.rounds; r++) {
    for (int v = 0; v < 4; v++) {
      Result res = run_pipeline(cfg, pipeline_variants[v]);
      if (res.buffers != (guint64)cfg.buffers) {
        printf("  %s: %" G_GUINT64_FORMAT " buffers of %d!\n", pipeline_variants[v], res.buffers,
               cfg.buffers);
        ok = false;
      }
      cpu[v].push_back(res.cpu_s);
      wall[v].push_back(res.wall_s);
    }
  }
  double cpu_median[4];
  for (int v = 0; v < 4; v++) {
    cpu_median[v] = median(cpu[v]);
    printf("  %-26s cpu %8.3f s  wall %8.3f s  %7.1f us cpu/buffer\n", pipeline_labels[v],
           cpu_median[v], median(wall[v]), cpu_median[v] * 1e6 / cfg.buffers);
  }
  printf("  CPU ratio mediastreambin / identity:    %.3f (target <= 1.02)\n",
         cpu_median[2] / cpu_median[1]);
  printf("  CPU ratio mediastreambin / direct link: %.3f\n", cpu_median[2] / cpu_median[0]);
  printf("  CPU ratio disabled / enabled:           %.3f (target <= 1)\n",
         cpu_median[3] / cpu_median[2]);

  printf("\n2. buffers pushed straight into X (this thread's CPU per buffer)\n");
  const char *push_variants[] = {"direct", "identity", "enabled", "disabled"};
  double per_buffer[4];
  for (int v = 0; v < 4; v++) {
    std::vector<double> cpu, first;
    for (int r = 0; r < cfg.rounds; r++) {
      Result res = run_push(cfg, push_variants[v]);
      first.push_back(res.first_s);
      if (res.buffers != (guint64)cfg.buffers) {
        printf("  %s: %" G_GUINT64_FORMAT " buffers of %d!\n", push_variants[v], res.buffers,
               cfg.buffers);
        ok = false;
      }
      cpu.push_back(res.cpu_s);
    }
    per_buffer[v] = median(cpu) * 1e6 / (cfg.buffers - 1);
    printf("  %-26s %7.3f us/buffer  (first buffer %8.1f us)\n",
           v == 0   ? "direct link"
           : v == 1 ? "identity"
           : v == 2 ? "mediastreambin enabled"
                    : "mediastreambin disabled",
           per_buffer[v], median(first) * 1e6);
  }
  printf("  overhead over a direct link: identity %+.3f us, mediastreambin %+.3f us (enabled), "
         "%+.3f us (disabled)\n",
         per_buffer[1] - per_buffer[0], per_buffer[2] - per_buffer[0],
         per_buffer[3] - per_buffer[0]);
  printf("  one 30 fps track costs %.4f%% of a core enabled, %.4f%% disabled\n",
         per_buffer[2] * 30 / 1e4, per_buffer[3] * 30 / 1e4);

  long growth = 0;
  if (cfg.soak > 0) {
    guint64 video = 0, audio = 0;
    growth = run_soak(cfg, cfg.soak, &video, &audio);
    printf("  delivered %" G_GUINT64_FORMAT " video and %" G_GUINT64_FORMAT " audio buffers\n",
           video, audio);
    if (growth < 0 || video == 0 || audio == 0) {
      printf("  soak: the live pipeline failed\n");
      ok = false;
    } else {
      printf("  soak %.0f s: RSS growth after the first 5 s %+.1f MB (target <= 2 MB) %s\n",
             cfg.soak, growth / 1024.0, growth <= 2048 ? "PASS" : "MISS");
    }
  }
  printf("\npeak resident size of the run (ru_maxrss): %.1f MB\n", peak_rss_kb() / 1024.0);

  printf("\n%s\n", ok ? "all variants delivered every buffer" : "FAILED: buffers lost");
  return ok ? 0 : 1;
}
