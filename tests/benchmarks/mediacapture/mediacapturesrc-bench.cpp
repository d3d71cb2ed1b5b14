/* mediacapturesrc-bench: the cost of capturing what a media URI plays.
 *
 * (a) mediacapturesrc uri=... ! fakesink sync=true (one sink per track)
 * (b) the peer a user writes today: uridecodebin uri=... ! fakesink sync=true
 * Both play the same 1080p30 + stereo 48 kHz file in real time; the figure is
 * the process CPU time of (a) over (b). Then the source-switch gap: the time
 * from setting uri while playing to the first buffer of the new tracks.
 *
 * --quick: 320x240, 3 s, one switch round (the smoke test).
 * The full file (20 s, 1080p) is made once and kept in the build directory.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gst/gst.h>
#include <glib/gstdio.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#ifndef BENCH_MEDIA_DIR
#define BENCH_MEDIA_DIR "."
#endif

namespace
{

struct Options {
  bool quick = false;
  int width = 1920, height = 1080, seconds = 20, switches = 10;
};

double cpu_seconds()
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

bool run_to_eos(GstElement *pipeline, GstClockTime timeout)
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

struct Counts {
  std::atomic<guint64> video{0}, audio{0};
};

GstPadProbeReturn count_probe(GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  Counts *c = static_cast<Counts *>(user_data);
  GstCaps *caps = gst_pad_get_current_caps(pad);
  if (caps) {
    if (g_str_has_prefix(gst_structure_get_name(gst_caps_get_structure(caps, 0)), "video"))
      c->video++;
    else
      c->audio++;
    gst_caps_unref(caps);
  }
  return GST_PAD_PROBE_OK;
}

void link_fakesink(GstElement *pipeline, GstPad *pad, Counts *counts)
{
  GstElement *sink = gst_element_factory_make("fakesink", nullptr);
  g_object_set(sink, "sync", TRUE, "async", FALSE, nullptr);
  gst_bin_add(GST_BIN(pipeline), sink);
  gst_element_sync_state_with_parent(sink);
  GstPad *sinkpad = gst_element_get_static_pad(sink, "sink");
  gst_pad_link(pad, sinkpad);
  gst_pad_add_probe(sinkpad, GST_PAD_PROBE_TYPE_BUFFER, count_probe, counts, nullptr);
  gst_object_unref(sinkpad);
}

struct Run {
  GstElement *pipeline;
  Counts *counts;
};

void on_pad_added(GstElement *e, GstPad *pad, gpointer user_data)
{
  Run *r = static_cast<Run *>(user_data);
  link_fakesink(r->pipeline, pad, r->counts);
}

/* Plays @uri through @factory (mediacapturesrc or uridecodebin) into
 * sync=true fakesinks until the end; returns the CPU seconds it took. */
double play(const char *factory, const std::string &uri, Counts *counts, double *wall)
{
  GstElement *pipeline = gst_pipeline_new(nullptr);
  GstElement *src = gst_element_factory_make(factory, nullptr);
  if (!src) {
    g_printerr("no %s element\n", factory);
    exit(1);
  }
  g_object_set(src, "uri", uri.c_str(), nullptr);
  gst_bin_add(GST_BIN(pipeline), src);
  Run r{pipeline, counts};
  g_signal_connect(src, "pad-added", G_CALLBACK(on_pad_added), &r);
  double c0 = cpu_seconds();
  auto t0 = std::chrono::steady_clock::now();
  bool ok = run_to_eos(pipeline, 120 * GST_SECOND);
  *wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double cpu = cpu_seconds() - c0;
  gst_object_unref(pipeline);
  if (!ok) {
    g_printerr("%s did not play to the end\n", factory);
    exit(1);
  }
  return cpu;
}

struct Switch {
  std::atomic<bool> armed{false};
  std::atomic<bool> got{false};
  std::chrono::steady_clock::time_point t0, t1;
  GstElement *pipeline;
};

GstPadProbeReturn first_buffer_probe(GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  Switch *s = static_cast<Switch *>(user_data);
  if (s->armed && !s->got.exchange(true))
    s->t1 = std::chrono::steady_clock::now();
  return GST_PAD_PROBE_REMOVE;
}

void on_switch_pad_added(GstElement *e, GstPad *pad, gpointer user_data)
{
  Switch *s = static_cast<Switch *>(user_data);
  GstElement *sink = gst_element_factory_make("fakesink", nullptr);
  g_object_set(sink, "sync", TRUE, "async", FALSE, nullptr);
  gst_bin_add(GST_BIN(s->pipeline), sink);
  gst_element_sync_state_with_parent(sink);
  GstPad *sinkpad = gst_element_get_static_pad(sink, "sink");
  gst_pad_link(pad, sinkpad);
  gst_object_unref(sinkpad);
  gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, first_buffer_probe, s, nullptr);
}

/* Source-switch gaps in ms: uri set while playing -> first buffer of a new track. */
std::vector<double> switch_gaps(const std::string &a, const std::string &b, int rounds)
{
  Switch s;
  s.pipeline = gst_pipeline_new(nullptr);
  GstElement *src = gst_element_factory_make("mediacapturesrc", nullptr);
  g_object_set(src, "uri", a.c_str(), "loop", TRUE, nullptr);
  gst_bin_add(GST_BIN(s.pipeline), src);
  g_signal_connect(src, "pad-added", G_CALLBACK(on_switch_pad_added), &s);
  gst_element_set_state(s.pipeline, GST_STATE_PLAYING);
  g_usleep(500000);
  std::vector<double> gaps;
  for (int i = 0; i < rounds; i++) {
    s.got = false;
    s.armed = true;
    s.t0 = std::chrono::steady_clock::now();
    g_object_set(src, "uri", (i % 2 ? a : b).c_str(), nullptr);
    for (int w = 0; w < 500 && !s.got; w++)
      g_usleep(2000);
    if (s.got)
      gaps.push_back(std::chrono::duration<double, std::milli>(s.t1 - s.t0).count());
    else
      gaps.push_back(-1);
    s.armed = false;
    g_usleep(300000);
  }
  gst_element_set_state(s.pipeline, GST_STATE_NULL);
  gst_object_unref(s.pipeline);
  return gaps;
}

} // namespace

int main(int argc, char **argv)
{
  gst_init(&argc, &argv);
  Options o;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) {
      o.quick = true;
    } else {
      g_printerr("usage: %s [--quick]\n"
                 "  Plays a 20 s 1080p30 + stereo file in real time through mediacapturesrc and\n"
                 "  through uridecodebin (CPU time ratio), then measures the uri switch gap.\n"
                 "  --quick: 320x240, 3 s (the smoke test). Media files are made once in\n"
                 "  %s.\n",
                 argv[0], BENCH_MEDIA_DIR);
      return strcmp(argv[i], "--help") == 0 ? 0 : 2;
    }
  }
  if (o.quick) {
    o.width = 320;
    o.height = 240;
    o.seconds = 3;
    o.switches = 2;
  }
  const char *root = g_getenv("GST_WEBCAPTURE_BUILD_ROOT");
  std::string dir = root ? std::string(root) + "/tests/benchmarks/mediacapture" : BENCH_MEDIA_DIR;
  g_mkdir_with_parents(dir.c_str(), 0755);
  gchar *name = g_strdup_printf("bench-%dx%d-%ds.ogg", o.width, o.height, o.seconds);
  std::string file = make_media(o, dir, name, o.seconds);
  g_free(name);
  std::string small =
      make_media(o, dir, o.quick ? "bench-switch-quick.ogg" : "bench-switch.ogg", 2);
  gchar *uri = gst_filename_to_uri(file.c_str(), nullptr);
  gchar *small_uri = gst_filename_to_uri(small.c_str(), nullptr);

  g_print("\nmediacapturesrc-bench: %dx%d@30 + stereo 48 kHz, %d s, played in real time\n", o.width,
          o.height, o.seconds);
  Counts ca, cb;
  double wa, wb;
  double cpu_b = play("uridecodebin", uri, &cb, &wb);
  double cpu_a = play("mediacapturesrc", uri, &ca, &wa);
  g_print("  (b) uridecodebin ! fakesink sync=true     cpu %.2f s  wall %.2f s  video "
          "%" G_GUINT64_FORMAT " frames  audio %" G_GUINT64_FORMAT " buffers\n",
          cpu_b, wb, cb.video.load(), cb.audio.load());
  g_print("  (a) mediacapturesrc ! fakesink sync=true  cpu %.2f s  wall %.2f s  video "
          "%" G_GUINT64_FORMAT " frames  audio %" G_GUINT64_FORMAT " buffers\n",
          cpu_a, wa, ca.video.load(), ca.audio.load());
  g_print("  CPU time ratio (a)/(b): %.3f (target <= 1.10)\n", cpu_a / cpu_b);

  std::vector<double> gaps = switch_gaps(uri, small_uri, o.switches);
  std::vector<double> ok;
  for (double g : gaps)
    if (g >= 0)
      ok.push_back(g);
  std::sort(ok.begin(), ok.end());
  if (!ok.empty())
    g_print("  uri switch gap (set -> first buffer of the new tracks), %zu rounds: median %.1f ms, "
            "max %.1f ms (target < 100 ms)\n",
            ok.size(), ok[ok.size() / 2], ok.back());

  bool smoke_ok = ca.video.load() >= (guint64)(o.seconds * 30 * 0.9) && ca.audio.load() > 0 &&
                  cb.video.load() >= (guint64)(o.seconds * 30 * 0.9) && ok.size() == gaps.size();
  g_free(uri);
  g_free(small_uri);
  if (!smoke_ok) {
    g_printerr("FAIL: a pipeline did not deliver the expected frames or a switch gave no buffer\n");
    return 1;
  }
  return 0;
}
