/* mediastreambin: applyConstraints on track pads (MS-10,
 * docs/plugins/constraints.md): the reply, the `constraints`/`settings`/
 * `capabilities` properties, the conversion child elements and the data
 * they make, while playing and across state changes.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <atomic>
#include <cmath>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gst/audio/audio.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>

#include "mediastream-check.h"

/* --- helpers ------------------------------------------------------------------- */

static GstStructure *apply_ok(GstPad *track, const char *text,
                              const char *signal = "apply-constraints")
{
  GstStructure *reply = wc_apply_constraints(track, signal, text);
  if (gst_structure_has_field(reply, "error")) {
    g_autofree gchar *shown = gst_structure_to_string(reply);
    fail("%s refused: %s", text, shown);
  }
  const GstStructure *settings = nullptr;
  fail_unless(gst_structure_get(reply, "settings", GST_TYPE_STRUCTURE, &settings, NULL));
  GstStructure *copy = gst_structure_copy(settings);
  gst_structure_free(const_cast<GstStructure *>(settings));
  gst_structure_free(reply);
  return copy;
}

/* The reply is an error @dom_exception naming @constraint. */
static void expect_refused(GstStructure *reply, const char *dom_exception, const char *constraint)
{
  fail_unless(gst_structure_has_field_typed(reply, "error", G_TYPE_ERROR), "%" GST_PTR_FORMAT,
              reply);
  fail_unless_equals_string(gst_structure_get_string(reply, "dom-exception"), dom_exception);
  if (constraint)
    fail_unless_equals_string(gst_structure_get_string(reply, "constraint"), constraint);
  GError *error = nullptr;
  gst_structure_get(reply, "error", G_TYPE_ERROR, &error, NULL);
  fail_unless(g_str_has_prefix(error->message, dom_exception), "%s", error->message);
  g_error_free(error);
  gst_structure_free(reply);
}

static gint get_int(const GstStructure *s, const char *field)
{
  gint v = -1;
  fail_unless(gst_structure_get_int(s, field, &v), "no %s in %" GST_PTR_FORMAT, field, s);
  return v;
}

static gdouble get_double(const GstStructure *s, const char *field)
{
  gdouble v = -1;
  fail_unless(gst_structure_get_double(s, field, &v), "no %s in %" GST_PTR_FORMAT, field, s);
  return v;
}

static guint n_children(GstElement *ms)
{
  GST_OBJECT_LOCK(ms);
  guint n = GST_BIN_NUMCHILDREN(ms);
  GST_OBJECT_UNLOCK(ms);
  return n;
}

static bool has_child_of(GstElement *ms, const char *factory)
{
  bool found = false;
  GST_OBJECT_LOCK(ms);
  for (GList *l = GST_BIN_CHILDREN(ms); l; l = l->next) {
    GstElementFactory *f = gst_element_get_factory(GST_ELEMENT(l->data));
    if (f && g_str_equal(GST_OBJECT_NAME(f), factory))
      found = true;
  }
  GST_OBJECT_UNLOCK(ms);
  return found;
}

static GstBuffer *video_buffer(GstHarness *h, GstClockTime pts, GstClockTime duration)
{
  GstVideoInfo info;
  GstCaps *caps = gst_pad_get_current_caps(h->srcpad);
  fail_unless(caps && gst_video_info_from_caps(&info, caps));
  gst_caps_unref(caps);
  GstBuffer *buf = gst_buffer_new_allocate(nullptr, GST_VIDEO_INFO_SIZE(&info), nullptr);
  gst_buffer_memset(buf, 0, 0x80, GST_VIDEO_INFO_SIZE(&info));
  GST_BUFFER_PTS(buf) = pts;
  GST_BUFFER_DURATION(buf) = duration;
  return buf;
}

/* The caps the harness's sink saw last. */
static GstStructure *sink_caps(GstHarness *h)
{
  GstCaps *caps = gst_pad_get_current_caps(h->sinkpad);
  fail_unless(caps != nullptr);
  GstStructure *s = gst_structure_copy(gst_caps_get_structure(caps, 0));
  gst_caps_unref(caps);
  return s;
}

static const char *kVideo720 =
    "video/x-raw,format=I420,width=1280,height=720,framerate=30/1,pixel-aspect-ratio=1/1";
static const char *kVideo240 =
    "video/x-raw,format=I420,width=320,height=240,framerate=30/1,pixel-aspect-ratio=1/1";
constexpr GstClockTime kFrame = GST_SECOND / 30;

/* Pushes a first frame into @h and drops what comes out of the track: the
 * track has its caps and settings from then on. */
static void first_frame(GstHarness *h)
{
  gst_harness_push(h, video_buffer(h, 0, kFrame));
  gst_buffer_unref(wc_pull(h, 5000));
}

/* --- properties, replies ------------------------------------------------------ */

/* No constraint: no child element, the plain path; `constraints` empty;
 * `capabilities` widened by the conversion. A constraint that changes the
 * track makes children; {} takes them away again. */
GST_START_TEST(test_children_only_when_asked)
{
  WC_REQUIRE_ELEMENTS("videoscale", "videorate", "videocrop", "capsfilter");
  MsBinFixture f;
  GstElement *ms = f.ms;
  GstHarness *h = f.harness("video", 0, kVideo240);
  GstPad *track = f.pad("video_0");
  first_frame(h);
  fail_unless_equals_int(n_children(ms), 0);

  GstStructure *c = wc_get_structure(track, "constraints");
  fail_unless(c && gst_structure_n_fields(c) == 0, "%" GST_PTR_FORMAT, c);
  gst_structure_free(c);
  GstStructure *caps = wc_get_structure(track, "capabilities");
  gint lo = 0, hi = 0;
  const GValue *w = gst_structure_get_value(caps, "width");
  fail_unless(w && GST_VALUE_HOLDS_INT_RANGE(w), "%" GST_PTR_FORMAT, caps);
  lo = gst_value_get_int_range_min(w);
  hi = gst_value_get_int_range_max(w);
  fail_unless(lo == 1 && hi == 320, "%" GST_PTR_FORMAT, caps);
  gst_structure_free(caps);

  /* Native settings asked: still nothing in the bin. */
  GstStructure *s = apply_ok(track, "c, width=(int)320, frameRate=(double)30");
  fail_unless_equals_int(get_int(s, "width"), 320);
  gst_structure_free(s);
  fail_unless_equals_int(n_children(ms), 0);
  c = wc_get_structure(track, "constraints");
  fail_unless(gst_structure_has_field(c, "width"), "%" GST_PTR_FORMAT, c);
  gst_structure_free(c);

  s = apply_ok(track, "c, width=(structure)\"r, max=(int)160;\"");
  gst_structure_free(s);
  fail_unless(has_child_of(ms, "videoscale"));
  fail_unless(has_child_of(ms, "capsfilter"));
  fail_if(has_child_of(ms, "videorate"));

  s = apply_ok(track, "c");
  fail_unless_equals_int(get_int(s, "width"), 320);
  gst_structure_free(s);
  fail_unless_equals_int(n_children(ms), 0);
  s = wc_get_structure(track, "settings");
  fail_unless_equals_int(get_int(s, "width"), 320);
  fail_unless_equals_string(gst_structure_get_string(s, "resize-mode"), "none");
  gst_structure_free(s);
  gst_harness_push(h, video_buffer(h, kFrame, kFrame));
  gst_buffer_unref(wc_pull(h, 5000));
  GstStructure *out = sink_caps(h);
  fail_unless_equals_int(get_int(out, "width"), 320);
  gst_structure_free(out);
}
GST_END_TEST;

/* Bare values are ideals: the smallest fitness distance wins (width 640 on
 * 1280x720 keeps 16:9); the frames that follow have the new caps and size,
 * and `settings` follows. */
GST_START_TEST(test_fitness_distance)
{
  WC_REQUIRE_ELEMENTS("videoscale", "capsfilter");
  MsBinFixture f;
  GstHarness *h = f.harness("video", 0, kVideo720);
  GstPad *track = f.pad("video_0");
  first_frame(h);

  GstStructure *s = apply_ok(track, "c, width=(int)640");
  fail_unless_equals_int(get_int(s, "width"), 640);
  fail_unless_equals_int(get_int(s, "height"), 360);
  fail_unless(std::fabs(get_double(s, "frame-rate") - 30.0) < 1e-9);
  gst_structure_free(s);
  /* Renegotiated at once, before the next frame: the caps downstream and
   * `settings` already say 640x360. */
  GstStructure *now = sink_caps(h);
  fail_unless_equals_int(get_int(now, "width"), 640);
  gst_structure_free(now);
  now = wc_get_structure(track, "settings");
  fail_unless_equals_int(get_int(now, "height"), 360);
  gst_structure_free(now);

  gst_harness_push(h, video_buffer(h, kFrame, kFrame));
  GstBuffer *buf = wc_pull(h, 5000);
  fail_unless(buf != nullptr);
  fail_unless_equals_int(gst_buffer_get_size(buf), 640 * 360 * 3 / 2);
  fail_unless_equals_uint64(GST_BUFFER_PTS(buf), kFrame);
  gst_buffer_unref(buf);
  GstStructure *out = sink_caps(h);
  fail_unless_equals_int(get_int(out, "width"), 640);
  fail_unless_equals_int(get_int(out, "height"), 360);
  gst_structure_free(out);
  GstStructure *settings = wc_get_structure(track, "settings");
  fail_unless_equals_int(get_int(settings, "width"), 640);
  fail_unless_equals_string(gst_structure_get_string(settings, "resize-mode"), "crop-and-scale");
  gst_structure_free(settings);
}
GST_END_TEST;

/* A required value no setting meets: OverconstrainedError naming it, the
 * track unchanged (constraints, settings, no child, the same caps). */
GST_START_TEST(test_exact_refused)
{
  MsBinFixture f;
  GstElement *ms = f.ms;
  GstHarness *h = f.harness("video", 0, kVideo240);
  GstPad *track = f.pad("video_0");
  first_frame(h);
  GstStructure *first = apply_ok(track, "c, frameRate=(double)30");
  gst_structure_free(first);

  expect_refused(wc_apply_constraints(track, "apply-constraints",
                                      "c, width=(structure)\"r, exact=(int)1920;\""),
                 "OverconstrainedError", "width");
  expect_refused(
      wc_apply_constraints(track, "apply-constraints", "c, height=(structure)\"r, min=(int)480;\""),
      "OverconstrainedError", "height");
  /* A required constraint on a setting a canvas-like track does not have. */
  expect_refused(wc_apply_constraints(track, "apply-constraints",
                                      "c, facingMode=(structure)\"r, exact=user;\""),
                 "OverconstrainedError", "facingMode");
  /* resizeMode none: only what upstream delivers itself. */
  expect_refused(
      wc_apply_constraints(track, "apply-constraints",
                           "c, resizeMode=(structure)\"r, exact=none;\", width=(structure)\"r, "
                           "exact=(int)160;\""),
      "OverconstrainedError", nullptr);
  /* Bad input: TypeError. */
  expect_refused(wc_apply_constraints(track, "apply-constraints", "c, width=(string)wide"),
                 "TypeError", nullptr);

  GstStructure *c = wc_get_structure(track, "constraints");
  fail_unless(gst_structure_has_field(c, "frameRate") && !gst_structure_has_field(c, "width"),
              "%" GST_PTR_FORMAT, c);
  gst_structure_free(c);
  fail_unless_equals_int(n_children(ms), 0);
  gst_harness_push(h, video_buffer(h, kFrame, kFrame));
  gst_buffer_unref(wc_pull(h, 5000));
  GstStructure *out = sink_caps(h);
  fail_unless_equals_int(get_int(out, "width"), 320);
  gst_structure_free(out);
}
GST_END_TEST;

/* min/max ranges (structure and GStreamer range forms) and advanced sets
 * (the impossible one skipped, the next applied). */
GST_START_TEST(test_ranges_and_advanced)
{
  WC_REQUIRE_ELEMENTS("videoscale", "videocrop", "capsfilter");
  MsBinFixture f;
  GstElement *ms = f.ms;
  GstHarness *h = f.harness("video", 0, kVideo720);
  GstPad *track = f.pad("video_0");
  first_frame(h);

  GstStructure *s =
      apply_ok(track, "c, width=(int)[ 320, 640 ], height=(structure)\"r, max=(int)300;\"");
  gint w = get_int(s, "width"), hh = get_int(s, "height");
  fail_unless(w >= 320 && w <= 640 && hh <= 300, "%" GST_PTR_FORMAT, s);
  gst_structure_free(s);
  gst_harness_push(h, video_buffer(h, kFrame, kFrame));
  gst_buffer_unref(wc_pull(h, 5000));
  GstStructure *out = sink_caps(h);
  fail_unless_equals_int(get_int(out, "width"), w);
  fail_unless_equals_int(get_int(out, "height"), hh);
  gst_structure_free(out);

  s = apply_ok(track, "c, advanced=(structure)< \"a, width=(int)4000;\", \"b, width=(int)320, "
                      "aspectRatio=(double)1.0;\" >");
  fail_unless_equals_int(get_int(s, "width"), 320);
  fail_unless_equals_int(get_int(s, "height"), 320);
  gst_structure_free(s);
  fail_unless(has_child_of(ms, "videocrop")); /* 16:9 cropped to 1:1 */
  gst_harness_push(h, video_buffer(h, 2 * kFrame, kFrame));
  GstBuffer *buf = wc_pull(h, 5000);
  fail_unless_equals_int(gst_buffer_get_size(buf), 320 * 320 * 3 / 2);
  gst_buffer_unref(buf);
}
GST_END_TEST;

/* The JSON form, the frame-rate ceiling (frames dropped, none duplicated,
 * timestamps kept), and a JSON error. */
GST_START_TEST(test_json_and_frame_rate)
{
  WC_REQUIRE_ELEMENTS("videoscale", "videorate", "capsfilter");
  MsBinFixture f;
  GstHarness *h = f.harness("video", 0, kVideo720);
  GstPad *track = f.pad("video_0");
  first_frame(h);

  GstStructure *s =
      apply_ok(track, "{\"width\": {\"max\": 640}, \"frameRate\": 15}", "apply-constraints-json");
  fail_unless_equals_int(get_int(s, "width"), 640);
  fail_unless(std::fabs(get_double(s, "frame-rate") - 15.0) < 1e-9);
  gst_structure_free(s);
  GstStructure *c = wc_get_structure(track, "constraints");
  fail_unless(gst_structure_has_field(c, "width") && gst_structure_has_field(c, "frameRate"));
  gst_structure_free(c);

  for (int i = 1; i <= 30; i++)
    gst_harness_push(h, video_buffer(h, i * kFrame, kFrame));
  guint n = 0;
  GstClockTime last = GST_CLOCK_TIME_NONE;
  GstBuffer *buf;
  while ((buf = gst_harness_try_pull(h))) {
    GstClockTime pts = GST_BUFFER_PTS(buf);
    fail_unless(!GST_CLOCK_TIME_IS_VALID(last) || pts > last);
    last = pts;
    n++;
    gst_buffer_unref(buf);
  }
  fail_unless(n >= 13 && n <= 16, "%u frames for 1 s at a 15 fps ceiling", n);
  GstStructure *out = sink_caps(h);
  gint fn = 0, fd = 0;
  fail_unless(gst_structure_get_fraction(out, "framerate", &fn, &fd) && fn == 15 * fd);
  gst_structure_free(out);

  expect_refused(wc_apply_constraints(track, "apply-constraints-json", "{\"width\": "), "TypeError",
                 nullptr);
  expect_refused(
      wc_apply_constraints(track, "apply-constraints-json", "{\"width\": {\"exact\": 5000}}"),
      "OverconstrainedError", "width");
}
GST_END_TEST;

/* A variable-rate source (framerate=0/1, max-framerate): the ceiling drops
 * frames at the entry and the caps get the lower max-framerate. */
GST_START_TEST(test_variable_rate)
{
  WC_REQUIRE_ELEMENTS("capsfilter");
  MsBinFixture f;
  GstHarness *h = f.harness(
      "video", 0, "video/x-raw,format=I420,width=320,height=240,framerate=0/1,max-framerate=30/1");
  GstPad *track = f.pad("video_0");
  first_frame(h);
  GstStructure *s = apply_ok(track, "c, frameRate=(structure)\"r, max=(double)10;\"");
  fail_unless(std::fabs(get_double(s, "frame-rate") - 10.0) < 1e-9, "%" GST_PTR_FORMAT, s);
  gst_structure_free(s);
  for (int i = 1; i <= 30; i++)
    gst_harness_push(h, video_buffer(h, i * kFrame, kFrame));
  guint n = 0;
  GstBuffer *buf;
  while ((buf = gst_harness_try_pull(h))) {
    n++;
    gst_buffer_unref(buf);
  }
  fail_unless(n >= 9 && n <= 11, "%u frames for 1 s at a 10 fps ceiling", n);
  GstStructure *out = sink_caps(h);
  gint fn = -1, fd = 0;
  fail_unless(gst_structure_get_fraction(out, "framerate", &fn, &fd) && fn == 0);
  fail_unless(gst_structure_get_fraction(out, "max-framerate", &fn, &fd) && fn == 10 * fd,
              "%" GST_PTR_FORMAT, out);
  gst_structure_free(out);
}
GST_END_TEST;

/* Video in other memory (GL here): no conversion, only what upstream
 * delivers; a smaller size is refused. */
GST_START_TEST(test_other_memory)
{
  MsBinFixture f;
  GstElement *ms = f.ms;
  GstHarness *h = f.harness("video", 0,
                            "video/x-raw(memory:GLMemory),format=RGBA,width=320,height=240,"
                            "framerate=30/1");
  GstPad *track = f.pad("video_0");
  GstBuffer *buf = gst_buffer_new();
  GST_BUFFER_PTS(buf) = 0;
  gst_harness_push(h, buf);
  gst_buffer_unref(wc_pull(h, 5000));
  GstStructure *caps = wc_get_structure(track, "capabilities");
  fail_unless_equals_int(get_int(caps, "width"), 320);
  const GValue *modes = gst_structure_get_value(caps, "resizeMode");
  fail_unless(modes && GST_VALUE_HOLDS_ARRAY(modes) && gst_value_array_get_size(modes) == 1);
  gst_structure_free(caps);
  expect_refused(
      wc_apply_constraints(track, "apply-constraints", "c, width=(structure)\"r, max=(int)160;\""),
      "OverconstrainedError", "width");
  GstStructure *s = apply_ok(track, "c, width=(int)160"); /* an ideal: unchanged */
  fail_unless_equals_int(get_int(s, "width"), 320);
  gst_structure_free(s);
  fail_unless_equals_int(n_children(ms), 0);
}
GST_END_TEST;

/* Downstream that cannot take the settings chosen: refused, unchanged. */
GST_START_TEST(test_downstream_refuses)
{
  MsBinFixture f;
  GstElement *ms = f.ms;
  GstHarness *h = f.harness("video", 0, kVideo240);
  gst_harness_set_sink_caps_str(h, kVideo240);
  GstPad *track = f.pad("video_0");
  first_frame(h);
  expect_refused(
      wc_apply_constraints(track, "apply-constraints", "c, width=(structure)\"r, max=(int)160;\""),
      "OverconstrainedError", nullptr);
  fail_unless_equals_int(n_children(ms), 0);
  GstStructure *c = wc_get_structure(track, "constraints");
  fail_unless_equals_int(gst_structure_n_fields(c), 0);
  gst_structure_free(c);
}
GST_END_TEST;

/* Audio: resampled and remixed; timestamps continue. */
GST_START_TEST(test_audio_resample_remix)
{
  WC_REQUIRE_ELEMENTS("audioconvert", "audioresample", "capsfilter");
  MsBinFixture f;
  GstElement *ms = f.ms;
  GstHarness *h =
      f.harness("audio", 0, "audio/x-raw,format=S16LE,rate=48000,channels=2,layout=interleaved");
  GstPad *track = f.pad("audio_0");
  constexpr GstClockTime k10ms = 10 * GST_MSECOND;
  auto push = [&](int i) {
    GstBuffer *buf = gst_buffer_new_allocate(nullptr, 480 * 4, nullptr);
    gst_buffer_memset(buf, 0, 0, 480 * 4);
    GST_BUFFER_PTS(buf) = i * k10ms;
    GST_BUFFER_DURATION(buf) = k10ms;
    gst_harness_push(h, buf);
  };
  push(0);
  gst_buffer_unref(wc_pull(h, 5000));

  GstStructure *caps = wc_get_structure(track, "capabilities");
  fail_unless(gst_structure_has_field(caps, "sampleRate"));
  fail_unless_equals_int(get_int(caps, "sampleSize"), 16);
  gst_structure_free(caps);

  GstStructure *s = apply_ok(track, "{\"sampleRate\": {\"exact\": 16000}, \"channelCount\": 1}",
                             "apply-constraints-json");
  fail_unless_equals_int(get_int(s, "sample-rate"), 16000);
  fail_unless_equals_int(get_int(s, "channel-count"), 1);
  gst_structure_free(s);
  fail_unless(has_child_of(ms, "audioresample") && has_child_of(ms, "audioconvert"));

  for (int i = 1; i <= 20; i++)
    push(i);
  gsize bytes = 0;
  GstClockTime first = GST_CLOCK_TIME_NONE;
  GstBuffer *buf;
  while ((buf = gst_harness_try_pull(h))) {
    if (!GST_CLOCK_TIME_IS_VALID(first))
      first = GST_BUFFER_PTS(buf);
    bytes += gst_buffer_get_size(buf);
    gst_buffer_unref(buf);
  }
  /* 200 ms at 16 kHz mono S16: 6400 bytes, less the resampler's latency. */
  fail_unless(bytes > 4000 && bytes <= 6400, "%" G_GSIZE_FORMAT " bytes", bytes);
  /* Running time continues from the last plain buffer (10 ms), within the
   * resampler's delay. */
  fail_unless(GST_CLOCK_TIME_IS_VALID(first) && first >= k10ms && first <= 3 * k10ms,
              "first converted pts %" GST_TIME_FORMAT, GST_TIME_ARGS(first));
  GstStructure *out = sink_caps(h);
  fail_unless_equals_int(get_int(out, "rate"), 16000);
  fail_unless_equals_int(get_int(out, "channels"), 1);
  gst_structure_free(out);
  GstStructure *settings = wc_get_structure(track, "settings");
  fail_unless_equals_int(get_int(settings, "sample-rate"), 16000);
  gst_structure_free(settings);

  /* Removed: what the resampler still held comes out first (drained), so
   * the converted audio ends where the plain audio starts (210 ms). */
  s = apply_ok(track, "c");
  gst_structure_free(s);
  GstClockTime end = GST_CLOCK_TIME_NONE;
  while ((buf = gst_harness_try_pull(h))) {
    end = GST_BUFFER_PTS(buf) + GST_BUFFER_DURATION(buf);
    gst_buffer_unref(buf);
  }
  fail_unless(GST_CLOCK_TIME_IS_VALID(end));
  push(21);
  buf = wc_pull(h, 5000);
  fail_unless(buf != nullptr);
  fail_unless_equals_uint64(GST_BUFFER_PTS(buf), 21 * k10ms);
  fail_unless_equals_int(gst_buffer_get_size(buf), 480 * 4); /* 48 kHz stereo again */
  gst_buffer_unref(buf);
  GstClockTimeDiff hole = GST_CLOCK_DIFF(end, 21 * k10ms);
  fail_unless(hole >= -(GstClockTimeDiff)GST_MSECOND && hole <= (GstClockTimeDiff)GST_MSECOND / 10,
              "converted audio ends %" GST_STIME_FORMAT " before the plain audio",
              GST_STIME_ARGS(hole));
}
GST_END_TEST;

/* A constrained track keeps the track's other rules: disabled, it sends
 * black frames in the converted caps; a flush passes the conversion; stop()
 * ends it with EOS through the conversion. */
GST_START_TEST(test_disabled_flush_stop)
{
  WC_REQUIRE_ELEMENTS("videoscale", "capsfilter");
  MsBinFixture f;
  GstHarness *h = f.harness("video", 0, kVideo240);
  GstPad *track = f.pad("video_0");
  first_frame(h);
  GstStructure *s = apply_ok(track, "c, width=(int)160");
  gst_structure_free(s);

  g_object_set(track, "enabled", FALSE, NULL);
  gst_harness_push(h, video_buffer(h, kFrame, kFrame));
  GstBuffer *buf = wc_pull(h, 5000);
  fail_unless(buf != nullptr);
  fail_unless_equals_int(gst_buffer_get_size(buf), 160 * 120 * 3 / 2);
  GstMapInfo map;
  fail_unless(gst_buffer_map(buf, &map, GST_MAP_READ));
  fail_unless(map.data[0] < 32, "not black: %u", map.data[0]); /* Y of black: 16 */
  gst_buffer_unmap(buf, &map);
  gst_buffer_unref(buf);
  g_object_set(track, "enabled", TRUE, NULL);

  fail_unless(gst_harness_push_event(h, gst_event_new_flush_start()));
  fail_unless(gst_harness_push_event(h, gst_event_new_flush_stop(TRUE)));
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  fail_unless(gst_harness_push_event(h, gst_event_new_segment(&segment)));
  gst_harness_push(h, video_buffer(h, 0, kFrame));
  buf = wc_pull(h, 5000);
  fail_unless(buf != nullptr);
  fail_unless_equals_int(gst_buffer_get_size(buf), 160 * 120 * 3 / 2);
  gst_buffer_unref(buf);

  g_signal_emit_by_name(track, "stop");
  fail_unless(wc_wait_until(
      [&] {
        GstEvent *eos = gst_pad_get_sticky_event(h->sinkpad, GST_EVENT_EOS, 0);
        if (eos)
          gst_event_unref(eos);
        return eos != nullptr;
      },
      10000));
  fail_unless_equals_string(wc_get_string(track, "ready-state").c_str(), "ended");
}
GST_END_TEST;

/* --- while playing ---------------------------------------------------------------- */

/* What left the track pad: caps and running time of each buffer. */
struct Seen {
  std::mutex lock;
  std::vector<std::pair<gint, GstClockTime>> frames; /* width, running time */
  GstSegment segment;
  gint width = 0;
};

static GstPadProbeReturn on_track_data(GstPad *, GstPadProbeInfo *info, gpointer user_data)
{
  auto *seen = static_cast<Seen *>(user_data);
  std::lock_guard<std::mutex> guard(seen->lock);
  if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER) {
    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
    seen->frames.emplace_back(
        seen->width,
        gst_segment_to_running_time(&seen->segment, GST_FORMAT_TIME, GST_BUFFER_PTS(buf)));
  } else {
    GstEvent *event = GST_PAD_PROBE_INFO_EVENT(info);
    if (GST_EVENT_TYPE(event) == GST_EVENT_CAPS) {
      GstCaps *caps;
      gst_event_parse_caps(event, &caps);
      gst_structure_get_int(gst_caps_get_structure(caps, 0), "width", &seen->width);
    } else if (GST_EVENT_TYPE(event) == GST_EVENT_SEGMENT) {
      const GstSegment *segment;
      gst_event_parse_segment(event, &segment);
      gst_segment_copy_into(segment, &seen->segment);
    }
  }
  return GST_PAD_PROBE_OK;
}

static size_t n_seen(Seen *seen)
{
  std::lock_guard<std::mutex> guard(seen->lock);
  return seen->frames.size();
}

/* Records into @seen (its segment reset) the frames and caps of @track. */
static void watch(GstPad *track, Seen *seen)
{
  gst_segment_init(&seen->segment, GST_FORMAT_TIME);
  gst_pad_add_probe(
      track,
      static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
      on_track_data, seen, nullptr);
}

/* Constraints applied and removed while PLAYING: downstream renegotiates
 * (caps of the frames before and after), running time continuous (the
 * frames' running times step by one frame, none missing). */
GST_START_TEST(test_renegotiate_playing)
{
  WC_REQUIRE_ELEMENTS("videotestsrc", "videoscale", "capsfilter", "fakesink");
  MsPipelineFixture f(
      "videotestsrc is-live=true pattern=ball ! video/x-raw,format=I420,width=320,height=240,"
      "framerate=30/1 ! ms.video_sink_0 mediastreambin name=ms ms.video_0 ! fakesink sync=false");
  GstElement *pipeline = f.pipeline, *ms = f.ms;
  GstPad *track = f.pad("video_0");
  Seen seen;
  watch(track, &seen);
  wc_set_state_sync(pipeline, GST_STATE_PLAYING);
  fail_unless(wc_wait_until([&] { return n_seen(&seen) >= 5; }, 20000));

  GstStructure *s = apply_ok(track, "c, width=(structure)\"r, max=(int)160;\"");
  fail_unless_equals_int(get_int(s, "width"), 160);
  gst_structure_free(s);
  size_t mark = n_seen(&seen);
  fail_unless(wc_wait_until([&] { return n_seen(&seen) >= mark + 5; }, 20000));
  s = apply_ok(track, "c");
  gst_structure_free(s);
  mark = n_seen(&seen);
  fail_unless(wc_wait_until([&] { return n_seen(&seen) >= mark + 5; }, 20000));
  fail_unless_equals_int(n_children(ms), 0);
  wc_set_state_sync(pipeline, GST_STATE_NULL);

  std::lock_guard<std::mutex> guard(seen.lock);
  int switches = 0;
  for (size_t i = 1; i < seen.frames.size(); i++) {
    const auto &a = seen.frames[i - 1], &b = seen.frames[i];
    /* One frame apart: no gap, no repeat, across both swaps. */
    GstClockTimeDiff step = GST_CLOCK_DIFF(a.second, b.second);
    fail_unless(step > 0 && step <= (GstClockTimeDiff)(kFrame + GST_MSECOND),
                "frame %zu: running time step %" GST_STIME_FORMAT, i, GST_STIME_ARGS(step));
    if (a.first != b.first) {
      switches++;
      fail_unless((a.first == 320 && b.first == 160) || (a.first == 160 && b.first == 320),
                  "%d -> %d", a.first, b.first);
    }
  }
  fail_unless_equals_int(switches, 2);
}
GST_END_TEST;

/* Channels: audioconvert (1.22) remixes 1 to 8 channels; beyond, a converter
 * did not negotiate (the reply said 63 channels, and no audio came) or, at 64
 * input channels, crashed the process. A source that delivers them itself
 * still gets any count, without a converter. A 2-channel source: exactly 64
 * or 9 is refused, 8 is remixed; audio flows after each. */
GST_START_TEST(test_channel_limit)
{
  WC_REQUIRE_ELEMENTS("audiotestsrc", "audioconvert", "fakesink");
  for (const char *src : {"audiotestsrc is-live=true", "audiotestsrc is-live=true ! "
                                                       "audio/x-raw,channels=2"}) {
    const bool any = !strstr(src, "channels=2");
    const std::string description = std::string(src) +
                                    " ! ms.audio_sink_0 mediastreambin name=ms ms.audio_0 ! "
                                    "fakesink sync=false";
    MsPipelineFixture f(description.c_str());
    GstPad *track = f.pad("audio_0");
    Seen seen;
    watch(track, &seen);
    wc_set_state_sync(f.pipeline, GST_STATE_PLAYING);
    fail_unless(wc_wait_until([&] { return n_seen(&seen) >= 3; }, 20000));
    GstStructure *reply = wc_apply_constraints(track, "apply-constraints-json",
                                               "{\"channelCount\": {\"exact\": 64}}");
    fail_unless_equals_int(gst_structure_has_field(reply, "error"), !any);
    gst_structure_free(reply);
    size_t mark = n_seen(&seen);
    fail_unless(wc_wait_until([&] { return n_seen(&seen) >= mark + 10; }, 20000),
                "%s: no audio after channelCount 64", src);
    reply =
        wc_apply_constraints(track, "apply-constraints-json", "{\"channelCount\": {\"exact\": 9}}");
    fail_unless_equals_int(gst_structure_has_field(reply, "error"), !any);
    gst_structure_free(reply);
    GstStructure *s =
        apply_ok(track, "{\"channelCount\": {\"exact\": 8}}", "apply-constraints-json");
    fail_unless_equals_int(get_int(s, "channel-count"), 8);
    gst_structure_free(s);
    mark = n_seen(&seen);
    fail_unless(wc_wait_until([&] { return n_seen(&seen) >= mark + 10; }, 20000),
                "%s: no audio after channelCount 8", src);
    GstStructure *caps = wc_get_structure(track, "capabilities");
    gint lo = 0, hi = 0;
    const GValue *v = gst_structure_get_value(caps, "channelCount");
    fail_unless(v && GST_VALUE_HOLDS_INT_RANGE(v));
    lo = gst_value_get_int_range_min(v);
    hi = gst_value_get_int_range_max(v);
    fail_unless(lo == 1 && (any ? hi > 64 : hi == 8), "%s: channelCount [%d, %d]", src, lo, hi);
    gst_structure_free(caps);
    wc_set_state_sync(f.pipeline, GST_STATE_NULL);
  }
}
GST_END_TEST;

/* The same with a frame-rate ceiling (videorate in the path): 15 of 30 fps
 * while converted, running time still without a hole at either swap (a step
 * of at most two source frames). */
GST_START_TEST(test_rate_ceiling_playing)
{
  WC_REQUIRE_ELEMENTS("videotestsrc", "videorate", "capsfilter", "fakesink");
  MsPipelineFixture f(
      "videotestsrc is-live=true ! video/x-raw,format=I420,width=320,height=240,"
      "framerate=30/1 ! ms.video_sink_0 mediastreambin name=ms ms.video_0 ! fakesink sync=false");
  GstElement *pipeline = f.pipeline, *ms = f.ms;
  GstPad *track = f.pad("video_0");
  Seen seen;
  watch(track, &seen);
  wc_set_state_sync(pipeline, GST_STATE_PLAYING);
  fail_unless(wc_wait_until([&] { return n_seen(&seen) >= 5; }, 20000));
  GstStructure *s = apply_ok(track, "c, frameRate=(structure)\"r, max=(double)15;\"");
  gst_structure_free(s);
  fail_unless(has_child_of(ms, "videorate"));
  size_t first = n_seen(&seen);
  fail_unless(wc_wait_until([&] { return n_seen(&seen) >= first + 10; }, 20000));
  s = apply_ok(track, "c");
  gst_structure_free(s);
  size_t last = n_seen(&seen);
  fail_unless(wc_wait_until([&] { return n_seen(&seen) >= last + 5; }, 20000));
  wc_set_state_sync(pipeline, GST_STATE_NULL);

  std::lock_guard<std::mutex> guard(seen.lock);
  int halved = 0;
  for (size_t i = 1; i < seen.frames.size(); i++) {
    GstClockTimeDiff step = GST_CLOCK_DIFF(seen.frames[i - 1].second, seen.frames[i].second);
    fail_unless(step > 0 && step <= (GstClockTimeDiff)(2 * kFrame + GST_MSECOND),
                "frame %zu: running time step %" GST_STIME_FORMAT, i, GST_STIME_ARGS(step));
    if (step > (GstClockTimeDiff)(kFrame + GST_MSECOND))
      halved++;
  }
  /* At least the ten frames seen while converted came at 15 fps. */
  fail_unless(halved >= 9, "%d steps of two frames", halved);
}
GST_END_TEST;

/* Contracts with constraints applied: READY and NULL and back (the
 * conversion stays, the track starts afresh), then EOS goes through. */
/* A swap made when the track's new run has sent its STREAM_START but not its
 * caps yet (an apply right after READY -> PLAYING, between a live source's
 * first events): the new conversion gets the STREAM_START too. It got
 * nothing, then caps, segment and frames: GStreamer-WARNINGs "Got data flow
 * before stream-start event" and "Sticky event misordering". */
GST_START_TEST(test_swap_between_stream_start_and_caps)
{
  WC_REQUIRE_ELEMENTS("videoscale", "videorate", "capsfilter");
  MsBinFixture f;
  GstElement *ms = f.ms;
  GstHarness *h = f.harness("video", 0, kVideo240);
  GstPad *track = f.pad("video_0");
  first_frame(h);
  GstStructure *s = apply_ok(track, "c, width=(int)160");
  gst_structure_free(s);
  gst_harness_push(h, video_buffer(h, kFrame, kFrame));
  gst_buffer_unref(wc_pull(h, 5000));
  /* A new run: only the STREAM_START so far. */
  fail_unless(gst_element_set_state(ms, GST_STATE_READY) == GST_STATE_CHANGE_SUCCESS);
  fail_unless(gst_element_set_state(ms, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
  fail_unless(gst_pad_push_event(h->srcpad, gst_event_new_stream_start("swap-test")));
  s = apply_ok(track, "c, width=(int)80");
  gst_structure_free(s);
  /* Then the caps, the segment and a frame (the harness resends them). */
  GstEvent *caps = gst_pad_get_sticky_event(h->srcpad, GST_EVENT_CAPS, 0);
  fail_unless(caps != nullptr);
  fail_unless(gst_pad_push_event(h->srcpad, caps));
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  fail_unless(gst_pad_push_event(h->srcpad, gst_event_new_segment(&segment)));
  gst_harness_push(h, video_buffer(h, 0, kFrame));
  GstBuffer *buf = wc_pull(h, 5000);
  fail_unless(buf != nullptr, "no frame after the swap");
  gst_buffer_unref(buf);
  GstStructure *settings = wc_get_structure(track, "settings");
  fail_unless_equals_int(get_int(settings, "width"), 80);
  gst_structure_free(settings);
}
GST_END_TEST;

GST_START_TEST(test_states_and_eos)
{
  WC_REQUIRE_ELEMENTS("videotestsrc", "videoscale", "videorate", "capsfilter", "fakesink");
  MsPipelineFixture f(
      "videotestsrc num-buffers=40 ! video/x-raw,format=I420,width=320,height=240,"
      "framerate=30/1 ! ms.video_sink_0 mediastreambin name=ms ms.video_0 ! fakesink name=sink "
      "sync=false");
  GstElement *pipeline = f.pipeline, *ms = f.ms;
  GstPad *track = f.pad("video_0");
  Seen seen;
  watch(track, &seen);
  /* Applied before any data: from upstream's answer alone. */
  GstStructure *s = apply_ok(track, "c, width=(int)160, frameRate=(double)15");
  fail_unless_equals_int(get_int(s, "width"), 160);
  gst_structure_free(s);
  const GstState path[] = {GST_STATE_PAUSED, GST_STATE_READY, GST_STATE_PLAYING, GST_STATE_NULL};
  for (GstState state : path)
    wc_set_state_sync(pipeline, state);
  fail_unless(has_child_of(ms, "videoscale") && has_child_of(ms, "videorate"));
  {
    std::lock_guard<std::mutex> guard(seen.lock);
    seen.frames.clear();
  }
  wc_run_to_eos(pipeline);
  {
    std::lock_guard<std::mutex> guard(seen.lock);
    /* 40 frames at 30 fps under a 15 fps ceiling. */
    fail_unless(seen.frames.size() >= 19 && seen.frames.size() <= 21, "%zu frames",
                seen.frames.size());
    for (const auto &f : seen.frames)
      fail_unless_equals_int(f.first, 160);
  }
  fail_unless_equals_string(wc_get_string(track, "ready-state").c_str(), "ended");
  /* And again from NULL: the conversion still applies. */
  wc_set_state_sync(pipeline, GST_STATE_NULL);
  {
    std::lock_guard<std::mutex> guard(seen.lock);
    seen.frames.clear();
  }
  wc_run_to_eos(pipeline);
  fail_unless(n_seen(&seen) >= 19);
  GstStructure *settings = wc_get_structure(track, "settings");
  fail_unless_equals_int(get_int(settings, "width"), 160);
  gst_structure_free(settings);
  wc_set_state_sync(pipeline, GST_STATE_NULL);

  /* Releasing the track takes its conversion out of the bin. */
  GstPad *sink = gst_element_get_static_pad(ms, "video_sink_0");
  GstPad *peer = gst_pad_get_peer(sink);
  gst_pad_unlink(peer, sink);
  gst_object_unref(peer);
  gst_element_release_request_pad(ms, sink);
  gst_object_unref(sink);
  fail_unless_equals_int(n_children(ms), 0);
}
GST_END_TEST;

/* Settings upstream delivers itself (resizeMode none, a source with size
 * ranges): only a capsfilter in the bin, upstream renegotiates (RECONFIGURE)
 * and the track's frames have the new size, not scaled by the bin. */
GST_START_TEST(test_upstream_change)
{
  WC_REQUIRE_ELEMENTS("videotestsrc", "capsfilter", "fakesink");
  MsPipelineFixture f(
      "videotestsrc is-live=true ! video/x-raw,format=I420,framerate=30/1 ! ms.video_sink_0 "
      "mediastreambin name=ms ms.video_0 ! fakesink sync=false");
  GstElement *pipeline = f.pipeline, *ms = f.ms;
  GstPad *track = f.pad("video_0");
  GstPad *sink = gst_element_get_static_pad(ms, "video_sink_0");
  Seen seen;
  watch(track, &seen);
  GstBus *bus = gst_element_get_bus(pipeline);
  wc_set_state_sync(pipeline, GST_STATE_PLAYING);
  fail_unless(wc_wait_until([&] { return n_seen(&seen) >= 3; }, 20000));
  GstCaps *input = gst_pad_get_current_caps(sink);
  gint in_width = 0;
  gst_structure_get_int(gst_caps_get_structure(input, 0), "width", &in_width);
  gst_caps_unref(input);
  const gint want = in_width == 160 ? 200 : 160;
  g_autofree gchar *c = g_strdup_printf(
      "c, resizeMode=(structure)\"r, exact=none;\", width=(structure)\"r, exact=(int)%d;\", "
      "height=(structure)\"r, exact=(int)120;\"",
      want);
  GstStructure *s = apply_ok(track, c);
  fail_unless_equals_string(gst_structure_get_string(s, "resize-mode"), "none");
  gst_structure_free(s);
  fail_unless(has_child_of(ms, "capsfilter"));
  fail_if(has_child_of(ms, "videoscale"));
  /* Upstream itself now sends the new size. */
  fail_unless(wc_wait_until(
      [&] {
        GstCaps *now = gst_pad_get_current_caps(sink);
        gint w = 0;
        if (now) {
          gst_structure_get_int(gst_caps_get_structure(now, 0), "width", &w);
          gst_caps_unref(now);
        }
        return w == want;
      },
      20000));
  size_t mark = n_seen(&seen);
  fail_unless(wc_wait_until([&] { return n_seen(&seen) >= mark + 3; }, 20000));
  GstMessage *error = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  fail_if(error != nullptr, "%s", error ? wc_error_text(error).c_str() : "");
  {
    std::lock_guard<std::mutex> guard(seen.lock);
    fail_unless_equals_int(seen.frames.back().first, want);
  }
  wc_set_state_sync(pipeline, GST_STATE_NULL);
  gst_object_unref(bus);
  gst_object_unref(sink);
}
GST_END_TEST;

/* apply-constraints from three threads at once while frames flow, with
 * good, refused and bad input: every promise is answered, the last apply
 * wins, nothing leaks; then the track is released while one is pending. */
GST_START_TEST(test_apply_storm)
{
  WC_REQUIRE_ELEMENTS("videotestsrc", "videoscale", "videorate", "capsfilter", "fakesink");
  MsPipelineFixture f(
      "videotestsrc is-live=true ! video/x-raw,format=I420,width=320,height=240,"
      "framerate=30/1 ! ms.video_sink_0 mediastreambin name=ms ms.video_0 ! fakesink sync=false");
  GstElement *pipeline = f.pipeline, *ms = f.ms;
  GstPad *track = f.pad("video_0");
  wc_set_state_sync(pipeline, GST_STATE_PLAYING);
  static const char *const inputs[] = {"c",
                                       "c, width=(int)160",
                                       "c, frameRate=(structure)\"r, max=(double)10;\"",
                                       "c, width=(structure)\"r, exact=(int)9999;\"",
                                       "c, width=(string)x",
                                       "c, width=(int)200, aspectRatio=(double)1.0"};
  std::atomic<int> replies{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 15; i++) {
        GstStructure *reply =
            wc_apply_constraints(track, "apply-constraints", inputs[(t * 7 + i) % 6]);
        fail_unless(gst_structure_has_field(reply, "settings") ||
                    gst_structure_has_field(reply, "error"));
        gst_structure_free(reply);
        replies++;
      }
    });
  }
  for (auto &th : threads)
    th.join();
  fail_unless_equals_int(replies.load(), 45);
  GstStructure *s = apply_ok(track, "c, width=(int)160");
  gst_structure_free(s);
  fail_unless(has_child_of(ms, "videoscale"));
  s = apply_ok(track, "c");
  gst_structure_free(s);
  fail_unless_equals_int(n_children(ms), 0);
  s = apply_ok(track, "c, width=(int)160");
  gst_structure_free(s);

  /* Release with a conversion in place: its elements leave with the track. */
  wc_set_state_sync(pipeline, GST_STATE_NULL);
  GstPad *sink = gst_element_get_static_pad(ms, "video_sink_0");
  GstPad *peer = gst_pad_get_peer(sink);
  gst_pad_unlink(peer, sink);
  gst_object_unref(peer);
  gst_element_release_request_pad(ms, sink);
  gst_object_unref(sink);
  fail_unless_equals_int(n_children(ms), 0);
  /* A track out of the stream refuses. */
  expect_refused(wc_apply_constraints(track, "apply-constraints", "c, width=(int)160"),
                 "NotSupportedError", nullptr);
}
GST_END_TEST;

static Suite *constraints_suite()
{
  Suite *s = suite_create("constraints");
  /* Named by the rule of docs/plugins/mediastreambin.md (CK_RUN_CASE=MS-10
   * runs both MS-10 cases); the second one's tests play, hence its timeout. */
  TCase *tc = wc_add_case(s, "MS-10", 60);
  tcase_add_test(tc, test_children_only_when_asked);
  tcase_add_test(tc, test_fitness_distance);
  tcase_add_test(tc, test_exact_refused);
  tcase_add_test(tc, test_ranges_and_advanced);
  tcase_add_test(tc, test_json_and_frame_rate);
  tcase_add_test(tc, test_variable_rate);
  tcase_add_test(tc, test_downstream_refuses);
  tcase_add_test(tc, test_other_memory);
  tcase_add_test(tc, test_audio_resample_remix);
  tcase_add_test(tc, test_disabled_flush_stop);
  tc = wc_add_case(s, "MS-10", 120);
  tcase_add_test(tc, test_renegotiate_playing);
  tcase_add_test(tc, test_rate_ceiling_playing);
  tcase_add_test(tc, test_channel_limit);
  tcase_add_test(tc, test_apply_storm);
  tcase_add_test(tc, test_upstream_change);
  tc = wc_add_case(s, "contracts", 120);
  tcase_add_test(tc, test_states_and_eos);
  tcase_add_test(tc, test_swap_between_stream_start_and_caps);
  return s;
}

GST_CHECK_MAIN(constraints);
