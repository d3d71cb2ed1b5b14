/* mediacapturesrc: what the element does to keep its cost down
 * (docs/plugins/mediacapturesrc.md), checked by behaviour, never by time.
 * - rate: playback-rate changes while playing (ME-9). Audio is time-stretched
 *   (scaletempo, pitch kept) only while the rate is not 1.0: at 1.0 no
 *   scaletempo lives in the media element, one comes with a rate set while
 *   playing and goes when the rate is back at 1.0, and playback follows each
 *   rate.
 * - switch: a uri set while playing (ME-3) starts loading the new medium
 *   before the old tracks' EOS has gone downstream (a sink that syncs holds
 *   it until the end of the last buffer); the old tracks still end and go
 *   before the new ones come.
 * The internal elements are counted through the element-new tracer hook.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <gst/check/gstcheck.h>

#include "webcapture-check.h"

#include <atomic>
#include <functional>
#include <string>

static gchar *media_dir = nullptr;
static std::string media_uri, media_uri2; /* the same medium twice */

/* ------------------------------------------------------ scaletempo count */

struct RateTracer {
  GstTracer parent;
};
struct RateTracerClass {
  GstTracerClass parent_class;
};
G_DEFINE_TYPE(RateTracer, rate_tracer, GST_TYPE_TRACER)
static void rate_tracer_class_init(RateTracerClass *) {}
static void rate_tracer_init(RateTracer *) {}

static std::atomic<int> tempo_alive{0};
static std::atomic<int> decodebins_made{0};

static void tempo_gone(gpointer, GObject *)
{
  tempo_alive--;
}

static void on_element_new(GObject *, GstClockTime, GstElement *element)
{
  GstElementFactory *f = gst_element_get_factory(element);
  if (f && g_str_equal(GST_OBJECT_NAME(f), "scaletempo")) {
    tempo_alive++;
    g_object_weak_ref(G_OBJECT(element), tempo_gone, nullptr);
  }
  if (f && g_str_equal(GST_OBJECT_NAME(f), "uridecodebin"))
    decodebins_made++;
}

/* ------------------------------------------------------------ capture */

struct Capture {
  GstElement *pipeline = nullptr;
  GstElement *src = nullptr;
  std::atomic<guint64> audio_samples{0}; /* frames that reached the audio sink */
  std::atomic<int> video_buffers{0};
  std::atomic<int> pads_added{0}, pads_removed{0};
  /* switch: EOS held downstream of the tracks while hold_eos */
  GMutex m;
  GCond cond;
  bool hold_eos = false;
  int eos_held = 0; /* EOS events being held */
  Capture()
  {
    g_mutex_init(&m);
    g_cond_init(&cond);
  }
  ~Capture()
  {
    g_mutex_clear(&m);
    g_cond_clear(&cond);
  }
};

/* A sink that takes long over EOS, as one that syncs does: held until
 * released (at most 20 s). */
static GstPadProbeReturn hold_eos(GstPad *, GstPadProbeInfo *info, gpointer user_data)
{
  Capture *c = static_cast<Capture *>(user_data);
  if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) != GST_EVENT_EOS)
    return GST_PAD_PROBE_OK;
  g_mutex_lock(&c->m);
  gint64 end = g_get_monotonic_time() + 20 * G_TIME_SPAN_SECOND;
  c->eos_held++;
  while (c->hold_eos && g_cond_wait_until(&c->cond, &c->m, end))
    ;
  c->eos_held--;
  g_mutex_unlock(&c->m);
  return GST_PAD_PROBE_OK;
}

static void release_eos(Capture *c)
{
  g_mutex_lock(&c->m);
  c->hold_eos = false;
  g_cond_broadcast(&c->cond);
  g_mutex_unlock(&c->m);
}

static int eos_held(Capture *c)
{
  g_mutex_lock(&c->m);
  int n = c->eos_held;
  g_mutex_unlock(&c->m);
  return n;
}

static void on_pad_removed(GstElement *, GstPad *, gpointer user_data)
{
  static_cast<Capture *>(user_data)->pads_removed++;
}

static GstPadProbeReturn count_audio(GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  Capture *c = static_cast<Capture *>(user_data);
  /* F32 interleaved stereo: 8 bytes a frame */
  c->audio_samples += gst_buffer_get_size(GST_PAD_PROBE_INFO_BUFFER(info)) / 8;
  return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn count_video(GstPad *, GstPadProbeInfo *, gpointer user_data)
{
  static_cast<Capture *>(user_data)->video_buffers++;
  return GST_PAD_PROBE_OK;
}

static void on_pad_added(GstElement *, GstPad *pad, gpointer user_data)
{
  Capture *c = static_cast<Capture *>(user_data);
  GstElement *sink = gst_element_factory_make("fakesink", nullptr);
  g_object_set(sink, "sync", TRUE, "async", FALSE, nullptr);
  gst_bin_add(GST_BIN(c->pipeline), sink);
  gst_element_sync_state_with_parent(sink);
  GstPad *sinkpad = gst_element_get_static_pad(sink, "sink");
  gst_pad_link(pad, sinkpad);
  gst_object_unref(sinkpad);
  bool audio = g_str_has_prefix(GST_PAD_NAME(pad), "audio");
  gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, audio ? count_audio : count_video, c, nullptr);
  gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, hold_eos, c, nullptr);
  c->pads_added++;
}

static Capture *capture_play(bool loop = false)
{
  Capture *c = new Capture;
  c->pipeline = gst_pipeline_new(nullptr);
  c->src = gst_element_factory_make("mediacapturesrc", nullptr);
  fail_unless(c->src != nullptr);
  g_object_set(c->src, "uri", media_uri.c_str(), "loop", loop, nullptr);
  gst_bin_add(GST_BIN(c->pipeline), c->src);
  g_signal_connect(c->src, "pad-added", G_CALLBACK(on_pad_added), c);
  g_signal_connect(c->src, "pad-removed", G_CALLBACK(on_pad_removed), c);
  fail_unless(gst_element_set_state(c->pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
  return c;
}

static void capture_free(Capture *c)
{
  release_eos(c);
  gst_element_set_state(c->pipeline, GST_STATE_NULL);
  gst_object_unref(c->pipeline);
  delete c;
}

static void assert_no_error(Capture *c)
{
  GstBus *bus = gst_element_get_bus(c->pipeline);
  GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  if (msg) {
    GError *err;
    gst_message_parse_error(msg, &err, nullptr);
    fail("error: %s", err->message);
  }
  gst_object_unref(bus);
}

static GstClockTime running_time(Capture *c)
{
  GstClock *clock = gst_element_get_clock(c->pipeline);
  if (!clock)
    return 0;
  GstClockTime t = gst_clock_get_time(clock) - gst_element_get_base_time(c->pipeline);
  gst_object_unref(clock);
  return t;
}

static gdouble current_time(Capture *c)
{
  gdouble t;
  g_object_get(c->src, "current-time", &t, nullptr);
  return t;
}

/* Audio keeps flowing: at least @seconds more of it reaches the sink. */
static void assert_audio_flows(Capture *c, double seconds, const char *when)
{
  guint64 from = c->audio_samples;
  fail_unless(wc_wait_until([&] { return c->audio_samples >= from + seconds * 48000; }, 10000),
              "audio stopped %s (%" G_GUINT64_FORMAT " frames after)", when,
              c->audio_samples - from);
}

/* Media time played while the running time advances by 1 s. */
static double media_per_second(Capture *c)
{
  gdouble m0 = current_time(c);
  GstClockTime r0 = running_time(c);
  fail_unless(wc_wait_until([&] { return running_time(c) >= r0 + GST_SECOND; }, 10000));
  gdouble m1 = current_time(c);
  double r = (double)(running_time(c) - r0) / GST_SECOND;
  return (m1 - m0) / r;
}

/* ------------------------------------------------------------ tests */

GST_START_TEST(test_no_tempo_at_rate_1)
{
  Capture *c = capture_play();
  fail_unless(wc_wait_until([&] { return c->audio_samples > 0 && c->video_buffers > 0; }, 20000),
              "no tracks");
  assert_audio_flows(c, 0.3, "at rate 1.0");
  fail_unless_equals_int(tempo_alive.load(), 0);
  assert_no_error(c);
  capture_free(c);
}
GST_END_TEST;

GST_START_TEST(test_rate_change_while_playing)
{
  Capture *c = capture_play();
  fail_unless(wc_wait_until([&] { return c->audio_samples > 0 && c->video_buffers > 0; }, 20000),
              "no tracks");
  fail_unless_equals_int(tempo_alive.load(), 0);

  g_object_set(c->src, "playback-rate", 2.0, nullptr);
  assert_audio_flows(c, 0.3, "after playback-rate 2.0");
  fail_unless_equals_int(tempo_alive.load(), 1);
  double speed = media_per_second(c);
  fail_unless(speed > 1.5 && speed < 2.5, "at rate 2.0, %f s of media a second", speed);
  assert_audio_flows(c, 0.3, "at rate 2.0");

  g_object_set(c->src, "playback-rate", 1.0, nullptr);
  assert_audio_flows(c, 0.3, "after playback-rate 1.0 again");
  fail_unless(wc_wait_until([&] { return tempo_alive == 0; }, 5000),
              "%d scaletempo left at rate 1.0", tempo_alive.load());
  speed = media_per_second(c);
  fail_unless(speed > 0.6 && speed < 1.4, "back at rate 1.0, %f s of media a second", speed);
  int video = c->video_buffers;
  fail_unless(wc_wait_until([&] { return c->video_buffers > video + 5; }, 10000),
              "video stopped at rate 1.0");
  assert_no_error(c);
  capture_free(c);
}
GST_END_TEST;

GST_START_TEST(test_switch_loads_before_old_eos_taken)
{
  Capture *c = capture_play(true);
  fail_unless(wc_wait_until([&] { return c->audio_samples > 0 && c->video_buffers > 0; }, 20000),
              "no tracks");
  fail_unless_equals_int(c->pads_added.load(), 2);
  int made = decodebins_made;
  g_mutex_lock(&c->m);
  c->hold_eos = true;
  g_mutex_unlock(&c->m);
  g_object_set(c->src, "uri", media_uri2.c_str(), nullptr);
  /* the old tracks' EOS reach the (slow) sinks at once ... */
  fail_unless(wc_wait_until([&] { return eos_held(c) == 2; }, 10000),
              "the old tracks did not send EOS at once (%d held)", eos_held(c));
  /* ... and the new medium loads while they still hold it */
  bool loading = wc_wait_until([&] { return decodebins_made > made; }, 10000);
  int held = eos_held(c);
  release_eos(c);
  fail_unless(loading, "the new medium did not start loading while the old tracks' EOS was held");
  fail_unless_equals_int(held, 2);
  /* ME-3 still: the old tracks go, then the new ones come and play */
  fail_unless(wc_wait_until([&] { return c->pads_added == 4; }, 20000), "no new tracks");
  fail_unless_equals_int(c->pads_removed.load(), 2);
  guint64 samples = c->audio_samples;
  int video = c->video_buffers;
  fail_unless(
      wc_wait_until(
          [&] { return c->audio_samples > samples + 4800 && c->video_buffers > video + 5; }, 10000),
      "the new tracks do not play");
  assert_no_error(c);
  capture_free(c);
}
GST_END_TEST;

/* ------------------------------------------------------------ setup */

/* In a child process: a pipeline run in this one would leave GStreamer's
 * thread pools in a state the forked checks could not use. */
static void make_media()
{
  media_dir = g_dir_make_tmp("mediacapturesrc-rate-XXXXXX", nullptr);
  g_assert(media_dir);
  gchar *path = g_build_filename(media_dir, "av.ogg", nullptr);
  gchar *uri = gst_filename_to_uri(path, nullptr);
  media_uri = uri;
  g_free(uri);
  gchar *path2 = g_build_filename(media_dir, "av2.ogg", nullptr);
  uri = gst_filename_to_uri(path2, nullptr);
  media_uri2 = uri;
  g_free(uri);
  pid_t pid = fork();
  if (pid != 0) {
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0)
      g_error("could not make %s", path);
    gchar *data;
    gsize size;
    if (!g_file_get_contents(path, &data, &size, nullptr) ||
        !g_file_set_contents(path2, data, size, nullptr))
      g_error("could not copy %s", path);
    g_free(data);
    g_free(path);
    g_free(path2);
    return;
  }
  gchar *desc = g_strdup_printf(
      "videotestsrc num-buffers=240 ! video/x-raw,width=160,height=120,framerate=30/1 ! "
      "theoraenc ! oggmux name=m ! filesink location=\"%s\" audiotestsrc wave=sine freq=440 "
      "samplesperbuffer=960 num-buffers=400 ! audio/x-raw,rate=48000,channels=2 ! vorbisenc ! m.",
      path);
  GstElement *p = gst_parse_launch(desc, nullptr);
  g_assert(p);
  GstBus *bus = gst_element_get_bus(p);
  gst_element_set_state(p, GST_STATE_PLAYING);
  GstMessage *msg = gst_bus_timed_pop_filtered(
      bus, 60 * GST_SECOND, (GstMessageType)(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  if (!msg || GST_MESSAGE_TYPE(msg) != GST_MESSAGE_EOS)
    g_error("could not make %s", path);
  gst_message_unref(msg);
  gst_element_set_state(p, GST_STATE_NULL);
  gst_object_unref(bus);
  gst_object_unref(p);
  _exit(0);
}

static void remove_media()
{
  for (const char *name : {"av.ogg", "av2.ogg"}) {
    gchar *path = g_build_filename(media_dir, name, nullptr);
    g_unlink(path);
    g_free(path);
  }
  g_rmdir(media_dir);
  g_free(media_dir);
}

static Suite *mediacapturesrc_perf_suite()
{
  Suite *s = suite_create("mediacapturesrc_perf");
  TCase *tc = tcase_create("rate");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_no_tempo_at_rate_1);
  tcase_add_test(tc, test_rate_change_while_playing);
  suite_add_tcase(s, tc);
  tc = tcase_create("switch");
  tcase_set_timeout(tc, 90);
  tcase_add_test(tc, test_switch_loads_before_old_eos_taken);
  suite_add_tcase(s, tc);
  return s;
}

int main(int argc, char **argv)
{
  gst_check_init(&argc, &argv);
  /* before any mediacapturesrc runs, in the process that forks the tests */
  GstTracer *tracer = GST_TRACER(g_object_new(rate_tracer_get_type(), nullptr));
  gst_tracing_register_hook(tracer, "element-new", G_CALLBACK(on_element_new));
  make_media();
  int failed = gst_check_run_suite(mediacapturesrc_perf_suite(), "mediacapturesrc_perf", __FILE__);
  remove_media();
  gst_object_unref(tracer);
  return failed;
}
