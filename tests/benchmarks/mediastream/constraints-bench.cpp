/* constraints-bench: what a constrained track and a clone cost.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * videotestsrc (solid colour: a cheap source) 1080p30 I420, 600 buffers, not
 * synchronised, into fakesink through:
 *   1. 1080p -> 360p: `videoscale ! capsfilter` (640x360) against a
 *      mediastreambin track with apply-constraints width/height exact
 *      640x360 (MS-10: its conversion child elements). Target: ratio <= 1.
 *   2. No constraint: identity against a mediastreambin track (no child, no
 *      copy). Target: ratio <= 1.02.
 *   3. Two consumers: `tee` with two `queue ! fakesink` branches against a
 *      mediastreambin track and its clone (MS-9, clone-track), each into
 *      `queue ! fakesink`. Printed for information (a clone is a tee made
 *      of pads).
 *   4. No source: buffers pushed from this thread into a direct link, a tee
 *      with two fakesinks, a track, a track and its clone (thread CPU per
 *      buffer): what the fan-out itself costs.
 * Process CPU time (user + sys) from the first buffer at a sink to EOS;
 * medians of the ratios of interleaved rounds; never asserts on time. --quick: 320x240 -> 160x120,
 * 20 buffers, 1 round (smoke test: checks that each variant delivers every buffer, at the size
 * asked). */
#include <gst/gst.h>

#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace
{

struct Config {
  int width = 1920, height = 1080;
  int out_width = 640, out_height = 360;
  int buffers = 600;
  int rounds = 7;
};

double process_cpu()
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

double median(std::vector<double> v)
{
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Sink {
  guint64 buffers = 0;
  int width = 0;
  double cpu_first = -1; /* process CPU when the first buffer arrived */
};

GstPadProbeReturn count_buffer(GstPad *pad, GstPadProbeInfo *, gpointer user_data)
{
  auto *sink = static_cast<Sink *>(user_data);
  if (sink->buffers++ == 0) {
    sink->cpu_first = process_cpu();
    GstCaps *caps = gst_pad_get_current_caps(pad);
    if (caps) {
      gst_structure_get_int(gst_caps_get_structure(caps, 0), "width", &sink->width);
      gst_caps_unref(caps);
    }
  }
  return GST_PAD_PROBE_OK;
}

/* apply-constraints-json on @track, waiting for the answer (bounded). */
bool apply_constraints(GstPad *track, const std::string &json)
{
  GstPromise *promise = gst_promise_new();
  g_signal_emit_by_name(track, "apply-constraints-json", json.c_str(), promise);
  for (int i = 0; i < 2000 && gst_promise_wait(promise) == GST_PROMISE_RESULT_PENDING; i++)
    g_usleep(5000);
  bool ok = false;
  if (gst_promise_wait(promise) == GST_PROMISE_RESULT_REPLIED) {
    const GstStructure *reply = gst_promise_get_reply(promise);
    ok = reply && !gst_structure_has_field(reply, "error");
    if (!ok)
      g_printerr("apply-constraints refused: %s\n",
                 reply ? gst_structure_get_string(reply, "message") : "(no reply)");
  }
  gst_promise_unref(promise);
  return ok;
}

enum class Variant { SCALE, CONSTRAINED, IDENTITY, TRACK, TEE, CLONE };

const char *variant_name(Variant v)
{
  switch (v) {
  case Variant::SCALE:
    return "videoscale ! capsfilter";
  case Variant::CONSTRAINED:
    return "mediastreambin constrained";
  case Variant::IDENTITY:
    return "identity";
  case Variant::TRACK:
    return "mediastreambin";
  case Variant::TEE:
    return "tee, 2 branches";
  case Variant::CLONE:
    return "mediastreambin + clone";
  }
  return "";
}

/* One run; the process CPU time, or a negative value on failure. */
double run(const Config &cfg, Variant v)
{
  char source[256];
  g_snprintf(source, sizeof source,
             "videotestsrc pattern=solid-color num-buffers=%d ! "
             "video/x-raw,format=I420,width=%d,height=%d,framerate=30/1 ! ",
             cfg.buffers, cfg.width, cfg.height);
  std::string desc = source;
  const std::string sink = "fakesink name=sink sync=false";
  switch (v) {
  case Variant::SCALE:
    desc += "videoscale ! video/x-raw,width=" + std::to_string(cfg.out_width) +
            ",height=" + std::to_string(cfg.out_height) + " ! " + sink;
    break;
  case Variant::IDENTITY:
    desc += "identity ! " + sink;
    break;
  case Variant::CONSTRAINED:
  case Variant::TRACK:
    desc += "ms.video_sink_0 mediastreambin name=ms ms.video_0 ! " + sink;
    break;
  case Variant::TEE:
    desc += "tee name=t t. ! queue ! " + sink + " t. ! queue ! fakesink name=sink2 sync=false";
    break;
  case Variant::CLONE:
    desc += "ms.video_sink_0 mediastreambin name=ms ms.video_0 ! queue ! " + sink;
    break;
  }
  GError *error = nullptr;
  GstElement *pipeline = gst_parse_launch(desc.c_str(), &error);
  if (!pipeline) {
    g_printerr("%s: %s\n", desc.c_str(), error ? error->message : "?");
    g_clear_error(&error);
    return -1;
  }
  Sink sinks[2];
  GstElement *ms = gst_bin_get_by_name(GST_BIN(pipeline), "ms");
  if (v == Variant::CLONE) {
    GstPad *track = gst_element_get_static_pad(ms, "video_0");
    GstPad *clone = nullptr;
    g_signal_emit_by_name(ms, "clone-track", track, &clone);
    GstElement *branch =
        gst_parse_bin_from_description("queue ! fakesink name=sink2 sync=false", TRUE, nullptr);
    gst_bin_add(GST_BIN(pipeline), branch);
    GstPad *in = gst_element_get_static_pad(branch, "sink");
    gst_pad_link(clone, in);
    gst_object_unref(in);
    gst_object_unref(clone);
    gst_object_unref(track);
  }
  for (int i = 0; i < 2; i++) {
    GstElement *fakesink = gst_bin_get_by_name(GST_BIN(pipeline), i ? "sink2" : "sink");
    if (fakesink) {
      GstPad *pad = gst_element_get_static_pad(fakesink, "sink");
      gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, count_buffer, &sinks[i], nullptr);
      gst_object_unref(pad);
      gst_object_unref(fakesink);
    }
  }
  bool ok = true;
  if (v == Variant::CONSTRAINED) {
    /* Applied before the run (READY: upstream answers the caps query). */
    gst_element_set_state(pipeline, GST_STATE_READY);
    GstPad *track = gst_element_get_static_pad(ms, "video_0");
    char json[128];
    g_snprintf(json, sizeof json, "{\"width\": {\"exact\": %d}, \"height\": {\"exact\": %d}}",
               cfg.out_width, cfg.out_height);
    ok = apply_constraints(track, json);
    gst_object_unref(track);
  }
  gst_clear_object(&ms);

  const double cpu0 = process_cpu();
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus(pipeline);
  GstMessage *msg = gst_bus_timed_pop_filtered(
      bus, 120 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  /* From the first buffer at a sink to EOS: start-up and negotiation left out. */
  const double cpu_end = process_cpu();
  double cpu_first = sinks[0].cpu_first;
  if (sinks[1].cpu_first >= 0 && sinks[1].cpu_first < cpu_first)
    cpu_first = sinks[1].cpu_first;
  const double cpu = cpu_end - (cpu_first >= 0 ? cpu_first : cpu0);
  if (!msg || GST_MESSAGE_TYPE(msg) != GST_MESSAGE_EOS) {
    g_printerr("%s: %s\n", variant_name(v), msg ? "error" : "no EOS within 120 s");
    ok = false;
  }
  gst_clear_message(&msg);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);

  /* Every buffer at every sink, at the size asked (the constrained track's
   * preroll buffer, before the constraints, is not counted). */
  const int outputs = (v == Variant::TEE || v == Variant::CLONE) ? 2 : 1;
  const bool scaled = v == Variant::SCALE || v == Variant::CONSTRAINED;
  for (int i = 0; i < outputs; i++) {
    if (sinks[i].buffers < (guint64)cfg.buffers - (v == Variant::CONSTRAINED ? 1 : 0)) {
      g_printerr("%s: output %d got %" G_GUINT64_FORMAT " of %d buffers\n", variant_name(v), i,
                 sinks[i].buffers, cfg.buffers);
      ok = false;
    }
  }
  if (scaled && sinks[0].width != cfg.out_width) {
    g_printerr("%s: width %d, expected %d\n", variant_name(v), sinks[0].width, cfg.out_width);
    ok = false;
  }
  return ok ? cpu : -1;
}

/* Part 4: buffers pushed from this thread straight into a fan-out with two
 * fakesinks (no source, no queue): the fan-out's own cost per buffer. */

double thread_cpu()
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

enum class FanOut { ONE_SINK, TEE, TRACK, TRACK_CLONE };

const char *fan_out_name(FanOut f)
{
  switch (f) {
  case FanOut::ONE_SINK:
    return "direct link, 1 sink";
  case FanOut::TEE:
    return "tee, 2 sinks";
  case FanOut::TRACK:
    return "mediastreambin, 1 track";
  case FanOut::TRACK_CLONE:
    return "mediastreambin, track+clone";
  }
  return "";
}

GstElement *add_fakesink(GstElement *pipeline, GstPad *from, Sink *sink)
{
  GstElement *fakesink = gst_element_factory_make("fakesink", nullptr);
  g_object_set(fakesink, "sync", FALSE, "async", FALSE, NULL);
  gst_bin_add(GST_BIN(pipeline), fakesink);
  GstPad *in = gst_element_get_static_pad(fakesink, "sink");
  gst_pad_link(from, in);
  gst_pad_add_probe(in, GST_PAD_PROBE_TYPE_BUFFER, count_buffer, sink, nullptr);
  gst_object_unref(in);
  return fakesink;
}

/* Thread CPU per buffer (us), or a negative value when a sink missed one. */
double push_run(FanOut f, int buffers)
{
  GstElement *pipeline = gst_pipeline_new(nullptr);
  GstPad *src = gst_pad_new("src", GST_PAD_SRC);
  Sink sinks[2];
  GstPad *entry = nullptr;
  if (f == FanOut::ONE_SINK) {
    GstElement *fakesink = add_fakesink(pipeline, src, &sinks[0]);
    (void)fakesink;
  } else if (f == FanOut::TEE) {
    GstElement *tee = gst_element_factory_make("tee", nullptr);
    gst_bin_add(GST_BIN(pipeline), tee);
    entry = gst_element_get_static_pad(tee, "sink");
    for (int i = 0; i < 2; i++) {
      GstPad *out = gst_element_request_pad_simple(tee, "src_%u");
      add_fakesink(pipeline, out, &sinks[i]);
      gst_object_unref(out);
    }
  } else {
    GstElement *ms = gst_element_factory_make("mediastreambin", nullptr);
    gst_bin_add(GST_BIN(pipeline), ms);
    entry = gst_element_request_pad_simple(ms, "video_sink_%u");
    GstPad *track = gst_element_get_static_pad(ms, "video_0");
    add_fakesink(pipeline, track, &sinks[0]);
    if (f == FanOut::TRACK_CLONE) {
      GstPad *clone = nullptr;
      g_signal_emit_by_name(ms, "clone-track", track, &clone);
      add_fakesink(pipeline, clone, &sinks[1]);
      gst_object_unref(clone);
    }
    gst_object_unref(track);
  }
  if (entry) {
    gst_pad_link(src, entry);
    gst_object_unref(entry);
  }
  gst_pad_set_active(src, TRUE);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  gst_pad_push_event(src, gst_event_new_stream_start("bench"));
  GstCaps *caps = gst_caps_from_string("video/x-raw,format=I420,width=1920,height=1080");
  gst_pad_push_event(src, gst_event_new_caps(caps));
  gst_caps_unref(caps);
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  gst_pad_push_event(src, gst_event_new_segment(&segment));
  GstBuffer *payload = gst_buffer_new_allocate(nullptr, 1920 * 1080 * 3 / 2, nullptr);
  const double t0 = thread_cpu();
  for (int i = 0; i < buffers; i++) {
    GstBuffer *buf = gst_buffer_new();
    gst_buffer_copy_into(buf, payload, GST_BUFFER_COPY_MEMORY, 0, -1);
    GST_BUFFER_PTS(buf) = i * GST_SECOND / 30;
    gst_pad_push(src, buf);
  }
  const double t = thread_cpu() - t0;
  gst_buffer_unref(payload);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_pad_set_active(src, FALSE);
  gst_object_unref(src);
  gst_object_unref(pipeline);
  const int outputs = (f == FanOut::TEE || f == FanOut::TRACK_CLONE) ? 2 : 1;
  for (int i = 0; i < outputs; i++) {
    if (sinks[i].buffers != (guint64)buffers) {
      g_printerr("%s: sink %d got %" G_GUINT64_FORMAT " of %d buffers\n", fan_out_name(f), i,
                 sinks[i].buffers, buffers);
      return -1;
    }
  }
  return t * 1e6 / buffers;
}

} // namespace

int main(int argc, char **argv)
{
  gst_init(&argc, &argv);
  Config cfg;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--quick")) {
      cfg.width = 320;
      cfg.height = 240;
      cfg.out_width = 160;
      cfg.out_height = 120;
      cfg.buffers = 20;
      cfg.rounds = 1;
    }
  }
  GstElementFactory *factory = gst_element_factory_find("mediastreambin");
  if (!factory) {
    g_printerr("mediastreambin not found (GST_PLUGIN_PATH)\n");
    return 1;
  }
  gst_object_unref(factory);

  const Variant variants[] = {Variant::SCALE, Variant::CONSTRAINED, Variant::IDENTITY,
                              Variant::TRACK, Variant::TEE,         Variant::CLONE};
  std::vector<double> cpu[6];
  bool failed = false;
  for (int r = 0; r < cfg.rounds; r++) {
    /* The two of a pair back to back, the reference first in even rounds
     * and second in odd ones (no bias from the order). */
    for (int k = 0; k < 6; k++) {
      const int i = r % 2 ? (k ^ 1) : k;
      double t = run(cfg, variants[i]);
      if (t < 0)
        failed = true;
      else
        cpu[i].push_back(t);
    }
  }
  if (failed) {
    g_printerr("a variant failed\n");
    return 1;
  }
  printf("%dx%d I420, %d buffers, medians of %d interleaved rounds (process CPU s)\n", cfg.width,
         cfg.height, cfg.buffers, cfg.rounds);
  double m[6];
  for (int i = 0; i < 6; i++) {
    m[i] = median(cpu[i]);
    printf("  %-26s %8.3f s  %8.1f us/buffer\n", variant_name(variants[i]), m[i],
           m[i] * 1e6 / cfg.buffers);
  }
  /* Each pair runs back to back in a round: the median of the per-round
   * ratios is steadier on a loaded machine than the ratio of medians. */
  auto ratio = [&](int a, int b) {
    std::vector<double> r;
    for (size_t i = 0; i < cpu[a].size(); i++)
      r.push_back(cpu[a][i] / cpu[b][i]);
    return median(r);
  };
  printf("1. CPU ratio constrained %dx%d track / videoscale ! capsfilter: %.3f (target <= 1)\n",
         cfg.out_width, cfg.out_height, ratio(1, 0));
  printf("2. CPU ratio unconstrained track / identity:              %.3f (target <= 1.02)\n",
         ratio(3, 2));
  printf("3. CPU ratio track + clone / tee with two branches:       %.3f\n", ratio(5, 4));

  const int pushes = cfg.rounds == 1 ? 100 : 20000;
  const FanOut fan_outs[] = {FanOut::ONE_SINK, FanOut::TEE, FanOut::TRACK, FanOut::TRACK_CLONE};
  std::vector<double> us[4];
  for (int r = 0; r < cfg.rounds; r++) {
    for (int i = 0; i < 4; i++) {
      double t = push_run(fan_outs[i], pushes);
      if (t < 0)
        return 1;
      us[i].push_back(t);
    }
  }
  printf("4. %d buffers pushed straight into X, this thread's CPU per buffer (median)\n", pushes);
  double m4[4];
  for (int i = 0; i < 4; i++) {
    m4[i] = median(us[i]);
    printf("  %-30s %7.3f us/buffer\n", fan_out_name(fan_outs[i]), m4[i]);
  }
  printf("  a clone adds %+.3f us/buffer to a track; tee's second branch over a direct link: "
         "%+.3f us\n",
         m4[3] - m4[2], m4[1] - m4[0]);
  return 0;
}
