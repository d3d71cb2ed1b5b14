/* An idle canvas never stalls live consumers (docs/plugins/canvascapturesrc.md,
 * "Timestamps, latency and gaps"): a canvas painted once and then left alone,
 * muxed with live audio, must not hold back the muxer: the recording contains
 * all the audio. */

#include <gst/check/gstcheck.h>

#include "webcapture-check.h"

#include <cairo-gobject.h>
#include <cairo.h>

#include <glib/gstdio.h>

#include <condition_variable>
#include <mutex>
#include <string>

namespace {

/* Audio timeline seen when decoding the file back. */
struct AudioSpan {
  std::mutex lock;
  GstClockTime first = GST_CLOCK_TIME_NONE;
  GstClockTime end = GST_CLOCK_TIME_NONE;
  guint buffers = 0;
  guint video_buffers = 0;
};

GstPadProbeReturn on_decoded(GstPad *, GstPadProbeInfo *info, gpointer data)
{
  auto *span = static_cast<AudioSpan *>(data);
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
  if (!GST_BUFFER_PTS_IS_VALID(buf))
    return GST_PAD_PROBE_OK;
  GstClockTime end = GST_BUFFER_PTS(buf);
  if (GST_BUFFER_DURATION_IS_VALID(buf))
    end += GST_BUFFER_DURATION(buf);
  std::lock_guard<std::mutex> g(span->lock);
  if (!GST_CLOCK_TIME_IS_VALID(span->first) || GST_BUFFER_PTS(buf) < span->first)
    span->first = GST_BUFFER_PTS(buf);
  if (!GST_CLOCK_TIME_IS_VALID(span->end) || end > span->end)
    span->end = end;
  span->buffers++;
  return GST_PAD_PROBE_OK;
}

GstPadProbeReturn on_video_decoded(GstPad *, GstPadProbeInfo *, gpointer data)
{
  auto *span = static_cast<AudioSpan *>(data);
  std::lock_guard<std::mutex> g(span->lock);
  span->video_buffers++;
  return GST_PAD_PROBE_OK;
}

struct DecodeCtx {
  GstElement *pipeline;
  AudioSpan *span;
};

void on_pad_added(GstElement *, GstPad *pad, gpointer data)
{
  auto *ctx = static_cast<DecodeCtx *>(data);
  GstCaps *caps = gst_pad_get_current_caps(pad);
  if (!caps)
    caps = gst_pad_query_caps(pad, nullptr);
  const gchar *media = gst_structure_get_name(gst_caps_get_structure(caps, 0));
  bool audio = g_str_has_prefix(media, "audio/");
  bool video = g_str_has_prefix(media, "video/");
  gst_caps_unref(caps);
  GstElement *sink = gst_element_factory_make("fakesink", nullptr);
  g_object_set(sink, "sync", FALSE, nullptr);
  gst_bin_add(GST_BIN(ctx->pipeline), sink);
  gst_element_sync_state_with_parent(sink);
  GstPad *sinkpad = gst_element_get_static_pad(sink, "sink");
  if (audio)
    gst_pad_add_probe(sinkpad, GST_PAD_PROBE_TYPE_BUFFER, on_decoded, ctx->span, nullptr);
  else if (video)
    gst_pad_add_probe(sinkpad, GST_PAD_PROBE_TYPE_BUFFER, on_video_decoded, ctx->span, nullptr);
  gst_pad_link(pad, sinkpad);
  gst_object_unref(sinkpad);
}

/* Waits for @types on @bus for at most @timeout; fails on ERROR. */
GstMessage *wait_bus(GstBus *bus, GstMessageType types, GstClockTime timeout, const char *what)
{
  GstMessage *msg =
      gst_bus_timed_pop_filtered(bus, timeout, (GstMessageType)(types | GST_MESSAGE_ERROR));
  if (msg && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR)
    fail("%s: ERROR from %s", what, wc_error_text(msg).c_str());
  return msg;
}

struct EosJob {
  GstElement *pipeline;
  std::mutex lock;
  std::condition_variable cond;
  bool done = false;
};

gpointer send_eos_thread(gpointer data)
{
  auto *job = static_cast<EosJob *>(data);
  gst_element_send_event(job->pipeline, gst_event_new_eos());
  std::lock_guard<std::mutex> g(job->lock);
  job->done = true;
  job->cond.notify_all();
  return nullptr;
}

} // namespace

GST_START_TEST(test_idle_canvas_does_not_stall_live_audio)
{
  std::string missing;
  fail_unless(wc_have_elements({"videoconvert", "vp8enc", "webmmux", "audiotestsrc", "audioconvert",
                                "opusenc", "filesink", "uridecodebin"},
                               &missing),
              "element %s is needed by this test (install its plugin)", missing.c_str());

  g_autofree gchar *dir = g_dir_make_tmp("canvasmux-XXXXXX", nullptr);
  fail_unless(dir != nullptr);
  g_autofree gchar *path = g_build_filename(dir, "out.webm", nullptr);

  g_autofree gchar *desc = g_strdup_printf(
      "canvascapturesrc name=canvas frame-rate=30 ! videoconvert ! vp8enc deadline=1 ! "
      "webmmux name=m ! filesink location=\"%s\" "
      "audiotestsrc is-live=true ! audioconvert ! opusenc ! m.",
      path);
  GError *error = nullptr;
  GstElement *pipeline = gst_parse_launch(desc, &error);
  fail_unless(pipeline != nullptr && error == nullptr, "cannot build pipeline: %s",
              error ? error->message : "?");
  GstElement *canvas = gst_bin_get_by_name(GST_BIN(pipeline), "canvas");
  GstBus *bus = gst_element_get_bus(pipeline);

  fail_unless(gst_element_set_state(pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);

  /* One paint at start, then the canvas stays idle. */
  cairo_t *cr = nullptr;
  g_signal_emit_by_name(canvas, "begin-draw", &cr);
  fail_unless(cr != nullptr);
  cairo_set_source_rgb(cr, 0.1, 0.5, 0.9);
  cairo_paint(cr);
  g_signal_emit_by_name(canvas, "end-draw", cr);
  cairo_destroy(cr);

  /* Record for 3 s (watching for errors meanwhile). */
  const gint64 stop_at = g_get_monotonic_time() + 3 * G_USEC_PER_SEC;
  for (;;) {
    gint64 left = stop_at - g_get_monotonic_time();
    if (left <= 0)
      break;
    GstMessage *msg = wait_bus(bus, GST_MESSAGE_EOS, left * GST_USECOND, "recording");
    if (msg) {
      fail_if(GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS, "EOS before the end of the recording");
      gst_message_unref(msg);
    }
  }
  /* Sending EOS blocks while a live source's streaming thread is stuck
   * downstream (a stalled muxer), so send it from another thread. */
  GStatBuf st;
  const long long recorded = g_stat(path, &st) == 0 ? (long long)st.st_size : -1;
  EosJob job;
  job.pipeline = pipeline;
  GThread *eos_thread = g_thread_new("send-eos", send_eos_thread, &job);
  {
    std::unique_lock<std::mutex> g(job.lock);
    bool sent = job.cond.wait_for(g, std::chrono::seconds(10), [&] { return job.done; });
    fail_unless(sent,
                "sending EOS blocked for 10 s: a live source is stuck downstream, the muxer "
                "stalled on the idle canvas (%lld bytes written after 3 s of recording)",
                recorded);
  }
  g_thread_join(eos_thread);
  GstMessage *msg = wait_bus(bus, GST_MESSAGE_EOS, 10 * GST_SECOND, "finishing the recording");
  fail_unless(msg != nullptr, "no EOS within 10 s after sending EOS (muxer stalled?)");
  gst_message_unref(msg);
  fail_unless_equals_int(gst_element_set_state(pipeline, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
  gst_object_unref(bus);
  gst_object_unref(canvas);
  gst_object_unref(pipeline);

  fail_unless(g_stat(path, &st) == 0 && st.st_size > 0, "nothing recorded in %s", path);

  /* Decode the file back and measure the audio it holds. */
  AudioSpan span;
  GstElement *decode = gst_pipeline_new("decode");
  GstElement *src = gst_element_factory_make("uridecodebin", nullptr);
  g_autofree gchar *uri = g_filename_to_uri(path, nullptr, nullptr);
  g_object_set(src, "uri", uri, nullptr);
  gst_bin_add(GST_BIN(decode), src);
  DecodeCtx ctx{decode, &span};
  g_signal_connect(src, "pad-added", G_CALLBACK(on_pad_added), &ctx);
  wc_run_to_eos(decode, 20); /* fails on an ERROR, or without EOS within 20 s */
  gst_element_set_state(decode, GST_STATE_NULL);
  gst_object_unref(decode);

  {
    std::lock_guard<std::mutex> g(span.lock);
    fail_unless(span.buffers > 0, "no audio in the recording");
    fail_unless(span.video_buffers > 0, "no video in the recording");
    GstClockTime covered = span.end - span.first;
    GST_INFO("audio %" GST_TIME_FORMAT " .. %" GST_TIME_FORMAT " in %u buffers, %u video frames",
             GST_TIME_ARGS(span.first), GST_TIME_ARGS(span.end), span.buffers,
             span.video_buffers);
    fail_unless(covered >= 2500 * GST_MSECOND,
                "the recording holds %" GST_TIME_FORMAT " of audio (%" GST_TIME_FORMAT
                " .. %" GST_TIME_FORMAT ", %u buffers) for 3 s of live audio: the idle canvas "
                "stalled the muxer",
                GST_TIME_ARGS(covered), GST_TIME_ARGS(span.first), GST_TIME_ARGS(span.end),
                span.buffers);
  }

  g_unlink(path);
  g_rmdir(dir);
}
GST_END_TEST;

static Suite *canvas_mux_suite(void)
{
  Suite *s = suite_create("canvas_mux");
  /* CC-9 of docs/plugins/canvascapturesrc.md (CK_RUN_CASE=CC-9): an idle
   * canvas sends heartbeats so that live muxers do not stall. */
  TCase *tc = wc_add_case(s, "CC-9", 50);
  tcase_add_test(tc, test_idle_canvas_does_not_stall_live_audio);
  return s;
}

GST_CHECK_MAIN(canvas_mux);
