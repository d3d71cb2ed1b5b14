/* mediastreambin's clone-track (MS-9) and its interplay with stop (MS-8),
 * enabled (MS-6), muted (MS-7), the stream collection (MS-2) and states.
 * Rules: docs/plugins/mediastreambin.md.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "mediastream-check.h"

#include <atomic>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "gstmediastreamtrackstate.h"

static const char *VIDEO_CAPS = "video/x-raw,format=BGRx,width=8,height=8,framerate=30/1";
static const gsize VIDEO_SIZE = 8 * 8 * 4;

/* The string property @property of @object is @value. */
static void expect_string(gpointer object, const char *property, const char *value)
{
  const std::string got = wc_get_string(object, property);
  fail_unless(got == value, "%s is \"%s\", expected \"%s\"", property, got.c_str(), value);
}

/* clone-track on @ms; the clone's pad (a new reference) or NULL. */
static GstPad *clone_track(GstElement *ms, GstPad *track)
{
  GstPad *clone = nullptr;
  g_signal_emit_by_name(ms, "clone-track", track, &clone);
  return clone;
}

/* The suite's usual set-up: @ms fed by harness h (video_sink_0 -> video_0,
 * VIDEO_CAPS), its track orig, a clone of it and harness hc reading the clone
 * (video_1); all released when the fixture goes out of scope. */
struct CloneFixture : MsBinFixture {
  explicit CloneFixture(bool with_bus = false)
      : MsBinFixture(with_bus), h(harness("video", 0, VIDEO_CAPS)), orig(pad("video_0")),
        clone(own(clone_track(ms, orig))), hc(output("video_1"))
  {
  }
  GstHarness *h;
  GstPad *orig;
  GstPad *clone;
  GstHarness *hc;
};

static GstBuffer *filled_buffer(guint8 value, GstClockTime pts)
{
  GstBuffer *buf = gst_buffer_new_allocate(nullptr, VIDEO_SIZE, nullptr);
  gst_buffer_memset(buf, 0, value, VIDEO_SIZE);
  GST_BUFFER_PTS(buf) = pts;
  GST_BUFFER_DURATION(buf) = GST_SECOND / 30;
  return buf;
}

/* The first byte (blue of BGRx) of the next buffer of @h: the fill value,
 * or 0 for a black frame; -1 when no buffer came. */
static int next_value(GstHarness *h, GstClockTime *pts = nullptr)
{
  GstBuffer *buf = wc_pull(h, 10000);
  if (!buf)
    return -1;
  guint8 first = 0;
  gst_buffer_extract(buf, 0, &first, 1);
  if (pts)
    *pts = GST_BUFFER_PTS(buf);
  gst_buffer_unref(buf);
  return first;
}

/* Events of @h until one of @type (consumed), or false. Bounded by wc_pull_event. */
static bool pull_until(GstHarness *h, GstEventType type)
{
  while (GstEvent *ev = wc_pull_event(h, 10000)) {
    bool hit = GST_EVENT_TYPE(ev) == type;
    gst_event_unref(ev);
    if (hit)
      return true;
  }
  return false;
}

struct PadCounter {
  std::atomic<int> count{0};
  GstPad *last = nullptr;
};

static void on_track_signal(GstElement *, GstPad *pad, PadCounter *c)
{
  c->last = pad;
  c->count++;
}

/* --- a new track ------------------------------------------------------------ */

/* The clone is a new track pad of the same kind, with a new track-id (a UUID,
 * a valid msid id), in the stream's collection, announced like any track. */
GST_START_TEST(test_clone_is_new_track)
{
  MsBinFixture f(true);
  GstElement *ms = f.ms;
  GstBus *bus = f.bus;
  GstPad *sink = gst_element_request_pad_simple(ms, "video_sink_%u");
  GstPad *orig = f.pad("video_0");
  g_object_set(orig, "label", "screen", NULL);
  PadCounter added;
  g_signal_connect(ms, "track-added", G_CALLBACK(on_track_signal), &added);
  ms_count_track_messages(bus, "");

  GstPad *clone = f.own(clone_track(ms, orig));
  fail_unless(clone != nullptr);
  fail_unless(GST_IS_PAD(clone) && G_TYPE_CHECK_INSTANCE_TYPE(clone, G_OBJECT_TYPE(orig)));
  fail_unless(GST_PAD_DIRECTION(clone) == GST_PAD_SRC);
  fail_unless(GST_OBJECT_PARENT(clone) == GST_OBJECT(ms));
  fail_unless_equals_string(GST_PAD_NAME(clone), "video_1");
  expect_string(clone, "kind", "video");
  expect_string(clone, "label", "screen");
  expect_string(clone, "ready-state", "live");
  const std::string id = wc_get_string(orig, "track-id");
  const std::string clone_id = wc_get_string(clone, "track-id");
  fail_unless(ms_is_uuid_v4(clone_id.c_str()), "clone track-id %s", clone_id.c_str());
  fail_unless(clone_id != id);
  fail_unless_equals_int(added.count.load(), 1);
  fail_unless(added.last == clone);
  fail_unless(wc_get_bool(ms, "active"));

  /* No extra element pad: the bin's pads are the original's pair and the clone. */
  fail_unless_equals_int(GST_ELEMENT(ms)->numsinkpads, 1);
  fail_unless_equals_int(GST_ELEMENT(ms)->numsrcpads, 2);

  /* The stream collection has both (stream-id = track id), then the
   * addtrack message. */
  bool saw_collection = false;
  int addtrack = 0;
  while (GstMessage *msg = gst_bus_pop(bus)) {
    if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_STREAM_COLLECTION) {
      GstStreamCollection *c = nullptr;
      gst_message_parse_stream_collection(msg, &c);
      std::set<std::string> ids;
      for (guint i = 0; i < gst_stream_collection_get_size(c); i++)
        ids.insert(gst_stream_get_stream_id(gst_stream_collection_get_stream(c, i)));
      saw_collection = ids == std::set<std::string>{id, clone_id};
      gst_object_unref(c);
    } else if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ELEMENT) {
      const GstStructure *s = gst_message_get_structure(msg);
      if (gst_structure_has_name(s, "mediastream-track") &&
          g_strcmp0(gst_structure_get_string(s, "event"), "addtrack") == 0 &&
          g_strcmp0(gst_structure_get_string(s, "track-id"), clone_id.c_str()) == 0)
        addtrack++;
    }
    gst_message_unref(msg);
  }
  fail_unless(saw_collection, "no collection with the original and the clone");
  fail_unless_equals_int(addtrack, 1);

  /* A clone of the clone: a third track, of the same source. */
  GstPad *second = f.own(clone_track(ms, clone));
  fail_unless(second != nullptr);
  fail_unless(wc_get_string(second, "track-id") != clone_id);
  fail_unless(wc_get_string(second, "track-id") != id);

  gst_element_release_request_pad(ms, sink);
  gst_object_unref(sink);
  fail_unless_equals_int(GST_ELEMENT(ms)->numpads, 0);
}
GST_END_TEST;

/* MS-11: a clone's path to webrtcbin gets the stream id as msid, like any
 * track's, when it is linked (here through a queue, in NULL). */
GST_START_TEST(test_clone_msid)
{
  WC_REQUIRE_ELEMENTS("webrtcbin");
  GstElement *pipeline = gst_pipeline_new(nullptr);
  GstElement *ms = ms_make_bin();
  GstElement *queue = gst_element_factory_make("queue", nullptr);
  GstElement *w = gst_element_factory_make("webrtcbin", nullptr);
  fail_unless(queue && w);
  gst_bin_add_many(GST_BIN(pipeline), ms, queue, w, NULL);
  g_object_set(ms, "id", "stream-C", NULL);
  GstPad *sink = gst_element_request_pad_simple(ms, "video_sink_%u");
  GstPad *orig = ms_track_pad(ms, "video_0");
  GstPad *clone = clone_track(ms, orig);
  GstPad *wpad = gst_element_request_pad_simple(w, "sink_%u");
  GstPad *qsink = gst_element_get_static_pad(queue, "sink");
  GstPad *qsrc = gst_element_get_static_pad(queue, "src");
  fail_unless_equals_int(gst_pad_link_full(qsrc, wpad, GST_PAD_LINK_CHECK_NOTHING),
                         GST_PAD_LINK_OK);
  fail_unless_equals_int(gst_pad_link_full(clone, qsink, GST_PAD_LINK_CHECK_NOTHING),
                         GST_PAD_LINK_OK);
  gchar *msid = nullptr;
  g_object_get(wpad, "msid", &msid, NULL);
  fail_unless_equals_string(msid, "stream-C");
  g_free(msid);
  gst_object_unref(qsrc);
  gst_object_unref(qsink);
  gst_object_unref(wpad);
  gst_object_unref(clone);
  gst_object_unref(orig);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
}
GST_END_TEST;

/* Bad input: a pad that is not a track of this bin, or none, gives NULL and a
 * WARNING (TypeError), never a crash. */
GST_START_TEST(test_clone_refuses_foreign_pads)
{
  MsBinFixture f(true), f_other;
  GstElement *ms = f.ms, *other = f_other.ms;
  GstBus *bus = f.bus;
  GstPad *sink = gst_element_request_pad_simple(other, "video_sink_%u");
  GstPad *foreign = ms_track_pad(other, "video_0");
  GstPad *mine = gst_element_request_pad_simple(ms, "audio_sink_%u");

  fail_unless(clone_track(ms, foreign) == nullptr);
  GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING);
  fail_unless(msg != nullptr, "no WARNING for a foreign track pad");
  wc_expect_web_error(msg, "TypeError");
  gst_message_unref(msg);
  fail_unless(clone_track(ms, nullptr) == nullptr);
  msg = gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING);
  fail_unless(msg != nullptr, "no WARNING for NULL");
  gst_message_unref(msg);
  /* A sink pad is not a track pad. */
  fail_unless(clone_track(ms, mine) == nullptr);
  msg = gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING);
  fail_unless(msg != nullptr, "no WARNING for a sink pad");
  gst_message_unref(msg);
  fail_unless_equals_int(GST_ELEMENT(ms)->numsrcpads, 1);

  gst_element_release_request_pad(ms, mine);
  gst_object_unref(mine);
  gst_object_unref(foreign);
  gst_element_release_request_pad(other, sink);
  gst_object_unref(sink);
}
GST_END_TEST;

/* --- the same source --------------------------------------------------------- */

/* Both tracks carry the source's buffers (timestamps included); each starts
 * with its own STREAM_START (its track id, the stream's group) and the
 * source's caps; the clone's settings are the original's. */
GST_START_TEST(test_clone_carries_source)
{
  CloneFixture f;
  GstHarness *h = f.h, *hc = f.hc;
  GstPad *orig = f.orig, *clone = f.clone;

  for (guint i = 0; i < 3; i++)
    fail_unless_equals_int(gst_harness_push(h, filled_buffer(10 + i, i * GST_SECOND / 30)),
                           GST_FLOW_OK);
  for (guint i = 0; i < 3; i++) {
    GstClockTime a = 0, b = 0;
    fail_unless_equals_int(next_value(h, &a), 10 + i);
    fail_unless_equals_int(next_value(hc, &b), 10 + i);
    fail_unless_equals_uint64(a, i * GST_SECOND / 30);
    fail_unless_equals_uint64(b, a);
  }

  GstEvent *start = gst_pad_get_sticky_event(clone, GST_EVENT_STREAM_START, 0);
  GstEvent *orig_start = gst_pad_get_sticky_event(orig, GST_EVENT_STREAM_START, 0);
  fail_unless(start && orig_start);
  const gchar *sid = nullptr, *orig_sid = nullptr;
  gst_event_parse_stream_start(start, &sid);
  gst_event_parse_stream_start(orig_start, &orig_sid);
  const std::string clone_id = wc_get_string(clone, "track-id");
  const std::string orig_id = wc_get_string(orig, "track-id");
  fail_unless_equals_string(sid, clone_id.c_str());
  fail_unless_equals_string(orig_sid, orig_id.c_str());
  guint group = 0, orig_group = 1;
  fail_unless(gst_event_parse_group_id(start, &group));
  fail_unless(gst_event_parse_group_id(orig_start, &orig_group));
  fail_unless_equals_int(group, orig_group);
  gst_event_unref(start);
  gst_event_unref(orig_start);

  GstCaps *caps = gst_pad_get_current_caps(clone);
  GstCaps *expected = gst_caps_from_string(VIDEO_CAPS);
  fail_unless(caps && gst_caps_is_equal(caps, expected));
  gst_caps_unref(caps);
  gst_caps_unref(expected);
  GstStructure *settings = wc_get_structure(clone, "settings");
  GstStructure *orig_settings = wc_get_structure(orig, "settings");
  fail_unless(gst_structure_is_equal(settings, orig_settings));
  gint width = 0;
  fail_unless(gst_structure_get_int(settings, "width", &width) && width == 8);
  gst_structure_free(settings);
  gst_structure_free(orig_settings);
}
GST_END_TEST;

/* A clone made while the source streams gets the source's sticky events at
 * once (its caps and settings show without new data), then STREAM_START,
 * CAPS and SEGMENT come before its first buffer. */
GST_START_TEST(test_clone_while_streaming)
{
  MsBinFixture f;
  GstElement *ms = f.ms;
  GstHarness *h = f.harness("video", 0, VIDEO_CAPS);
  GstPad *orig = f.pad("video_0");
  fail_unless_equals_int(gst_harness_push(h, filled_buffer(1, 0)), GST_FLOW_OK);
  gst_buffer_unref(wc_pull(h, 10000));

  GstPad *clone = f.own(clone_track(ms, orig));
  fail_unless(wc_wait_until(
                  [clone] {
                    GstStructure *s = wc_get_structure(clone, "settings");
                    bool has = s && gst_structure_has_field(s, "width");
                    if (s)
                      gst_structure_free(s);
                    return has;
                  },
                  20000),
              "the clone's settings did not show without new data");
  GstHarness *hc = f.output("video_1");
  fail_unless_equals_int(gst_harness_push(h, filled_buffer(2, GST_SECOND / 30)), GST_FLOW_OK);
  fail_unless_equals_int(next_value(hc), 2);
  /* Sticky events in order before the buffer. */
  std::vector<GstEventType> types;
  while (GstEvent *ev = gst_harness_try_pull_event(hc)) {
    types.push_back(GST_EVENT_TYPE(ev));
    gst_event_unref(ev);
  }
  fail_unless(types.size() >= 3);
  fail_unless(types[0] == GST_EVENT_STREAM_START);
  bool caps_before_segment = false;
  for (size_t i = 1; i < types.size(); i++) {
    if (types[i] == GST_EVENT_CAPS) {
      for (size_t j = i + 1; j < types.size(); j++)
        caps_before_segment |= types[j] == GST_EVENT_SEGMENT;
    }
  }
  fail_unless(caps_before_segment, "no CAPS then SEGMENT on the clone");
}
GST_END_TEST;

/* --- independence: enabled (MS-6), stop (MS-8) ------------------------------ */

GST_START_TEST(test_clone_enabled_independent)
{
  CloneFixture f;
  GstHarness *h = f.h, *hc = f.hc;
  GstPad *orig = f.orig, *clone = f.clone;

  g_object_set(clone, "enabled", FALSE, NULL);
  fail_unless_equals_int(gst_harness_push(h, filled_buffer(0x7f, 0)), GST_FLOW_OK);
  fail_unless_equals_int(next_value(h), 0x7f);
  fail_unless_equals_int(next_value(hc), 0); /* black on the clone */
  fail_unless(wc_get_bool(orig, "enabled"));

  g_object_set(clone, "enabled", TRUE, NULL);
  g_object_set(orig, "enabled", FALSE, NULL);
  fail_unless_equals_int(gst_harness_push(h, filled_buffer(0x7f, GST_SECOND / 30)), GST_FLOW_OK);
  fail_unless_equals_int(next_value(h), 0);
  fail_unless_equals_int(next_value(hc), 0x7f);
}
GST_END_TEST;

/* An audio track's clone: an audio_N pad; disabled, it sends silence of the
 * same size and timestamps while the original sends the samples. */
GST_START_TEST(test_clone_audio)
{
  MsBinFixture f;
  GstElement *ms = f.ms;
  GstHarness *h =
      f.harness("audio", 0, "audio/x-raw,format=S16LE,rate=8000,channels=1,layout=interleaved");
  GstPad *orig = f.pad("audio_0");
  GstPad *clone = f.own(clone_track(ms, orig));
  fail_unless_equals_string(GST_PAD_NAME(clone), "audio_1");
  expect_string(clone, "kind", "audio");
  GstHarness *hc = f.output("audio_1");
  g_object_set(clone, "enabled", FALSE, NULL);
  GstBuffer *in = gst_buffer_new_allocate(nullptr, 160, nullptr);
  gst_buffer_memset(in, 0, 0x55, 160);
  GST_BUFFER_PTS(in) = 5 * GST_MSECOND;
  fail_unless_equals_int(gst_harness_push(h, in), GST_FLOW_OK);
  GstBuffer *a = wc_pull(h, 10000), *b = wc_pull(hc, 10000);
  fail_unless(a && b);
  fail_unless_equals_int(gst_buffer_get_size(a), 160);
  fail_unless_equals_int(gst_buffer_get_size(b), 160);
  fail_unless_equals_uint64(GST_BUFFER_PTS(b), 5 * GST_MSECOND);
  guint8 first_a = 0, first_b = 1;
  gst_buffer_extract(a, 0, &first_a, 1);
  gst_buffer_extract(b, 0, &first_b, 1);
  fail_unless_equals_int(first_a, 0x55);
  fail_unless_equals_int(first_b, 0); /* S16 silence */
  gst_buffer_unref(a);
  gst_buffer_unref(b);
}
GST_END_TEST;

/* A clone of a disabled track is disabled (the spec copies enabled), and is
 * then enabled on its own. */
GST_START_TEST(test_clone_of_disabled_track)
{
  MsBinFixture f;
  GstElement *ms = f.ms;
  GstHarness *h = f.harness("video", 0, VIDEO_CAPS);
  GstPad *orig = f.pad("video_0");
  g_object_set(orig, "enabled", FALSE, NULL);
  GstPad *clone = f.own(clone_track(ms, orig));
  GstHarness *hc = f.output("video_1");
  fail_if(wc_get_bool(clone, "enabled"));

  fail_unless_equals_int(gst_harness_push(h, filled_buffer(0x40, 0)), GST_FLOW_OK);
  fail_unless_equals_int(next_value(h), 0);
  fail_unless_equals_int(next_value(hc), 0);

  g_object_set(clone, "enabled", TRUE, NULL);
  fail_unless_equals_int(gst_harness_push(h, filled_buffer(0x40, GST_SECOND / 30)), GST_FLOW_OK);
  fail_unless_equals_int(next_value(h), 0);
  fail_unless_equals_int(next_value(hc), 0x40);
  fail_if(wc_get_bool(orig, "enabled"));
}
GST_END_TEST;

/* stop on the clone ends the clone only (EOS there, no track-ended, no ended
 * message), and the original keeps its data; stop on the original then ends
 * it, the stream goes inactive. The other way round in the second half. */
GST_START_TEST(test_clone_stop_independent)
{
  for (int clone_first = 1; clone_first >= 0; clone_first--) {
    CloneFixture f(true);
    GstElement *ms = f.ms;
    GstBus *bus = f.bus;
    GstHarness *h = f.h, *hc = f.hc;
    GstPad *orig = f.orig, *clone = f.clone;
    PadCounter ended;
    g_signal_connect(ms, "track-ended", G_CALLBACK(on_track_signal), &ended);
    int active_notifies = 0;
    g_signal_connect_swapped(ms, "notify::active", G_CALLBACK(+[](int *n) { (*n)++; }),
                             &active_notifies);
    fail_unless_equals_int(gst_harness_push(h, filled_buffer(1, 0)), GST_FLOW_OK);
    fail_unless_equals_int(next_value(h), 1);
    fail_unless_equals_int(next_value(hc), 1);

    GstPad *stopped = clone_first ? clone : orig;
    GstHarness *hs = clone_first ? hc : h, *hl = clone_first ? h : hc;
    GstPad *live = clone_first ? orig : clone;
    g_signal_emit_by_name(stopped, "stop");
    expect_string(stopped, "ready-state", "ended");
    expect_string(live, "ready-state", "live");
    fail_unless(pull_until(hs, GST_EVENT_EOS), "no EOS on the stopped track");
    fail_unless_equals_int(gst_harness_push(h, filled_buffer(2, GST_SECOND / 30)), GST_FLOW_OK);
    fail_unless_equals_int(next_value(hl), 2);
    fail_unless_equals_int(gst_harness_buffers_in_queue(hs), 0);
    fail_unless(wc_get_bool(ms, "active"));
    fail_unless_equals_int(active_notifies, 0);

    g_signal_emit_by_name(live, "stop");
    fail_unless(pull_until(hl, GST_EVENT_EOS), "no EOS on the second stopped track");
    fail_if(wc_get_bool(ms, "active"));
    fail_unless_equals_int(active_notifies, 1);
    fail_unless_equals_int(ended.count.load(), 0);
    fail_unless_equals_int(ms_count_track_messages(bus, "ended"), 0);
  }
}
GST_END_TEST;

/* stop (MS-8) before any data, then the source ends with no data in
 * between: the track sends STREAM_START and one EOS, and fires no
 * track-ended and no ended message (its end is the application's stop, not
 * the source's); its clone, made before the stop, stays live until the
 * source's EOS ends it, with its own track-ended. */
GST_START_TEST(test_stop_before_data)
{
  CloneFixture f(true);
  GstElement *ms = f.ms;
  GstBus *bus = f.bus;
  GstHarness *h = f.h, *hc = f.hc;
  GstPad *orig = f.orig, *clone = f.clone;
  PadCounter ended;
  g_signal_connect(ms, "track-ended", G_CALLBACK(on_track_signal), &ended);
  ms_count_track_messages(bus, "");
  g_signal_emit_by_name(orig, "stop");
  expect_string(orig, "ready-state", "ended");
  fail_unless(wc_get_bool(ms, "active"), "the clone is live (MS-3)");

  fail_unless(gst_harness_push_event(h, gst_event_new_eos()));
  fail_unless(pull_until(h, GST_EVENT_EOS), "no EOS on the stopped track");
  while (GstEvent *ev = gst_harness_try_pull_event(h)) {
    fail_if(GST_EVENT_TYPE(ev) == GST_EVENT_EOS, "a second EOS");
    gst_event_unref(ev);
  }
  fail_unless_equals_int(gst_harness_buffers_in_queue(h), 0);
  fail_unless(pull_until(hc, GST_EVENT_EOS), "no EOS on the clone");
  fail_unless_equals_int(ended.count.load(), 1); /* the clone's */
  fail_unless(ended.last == clone);
  fail_unless_equals_int(ms_count_track_messages(bus, "ended"), 1);
  expect_string(orig, "ready-state", "ended");
  fail_if(wc_get_bool(ms, "active"));
}
GST_END_TEST;

/* A clone of a stopped track is ended (the spec: a clone has the original's
 * readyState). */
GST_START_TEST(test_clone_of_stopped_track)
{
  MsBinFixture f;
  GstElement *ms = f.ms;
  GstPad *sink = gst_element_request_pad_simple(ms, "video_sink_%u");
  GstPad *orig = f.pad("video_0");
  g_signal_emit_by_name(orig, "stop");
  GstPad *clone = f.own(clone_track(ms, orig));
  expect_string(clone, "ready-state", "ended");
  fail_if(wc_get_bool(ms, "active"));
  gst_element_release_request_pad(ms, sink);
  gst_object_unref(sink);
}
GST_END_TEST;

/* --- constraints (MS-10) ----------------------------------------------------- */

/* apply-constraints-json on @track, answered without error (bounded wait). */
static void apply_json(GstPad *track, const char *json)
{
  GstStructure *reply = wc_apply_constraints(track, "apply-constraints-json", json);
  fail_unless(!gst_structure_has_field(reply, "error"), "%s refused", json);
  gst_structure_free(reply);
}

static int settings_width(GstPad *track)
{
  GstStructure *s = wc_get_structure(track, "settings");
  gint width = 0;
  if (s) {
    gst_structure_get_int(s, "width", &width);
    gst_structure_free(s);
  }
  return width;
}

/* The width of the next buffer's caps out of @h (-1: no buffer). */
static int next_width(GstHarness *h)
{
  GstBuffer *buf = wc_pull(h, 10000);
  if (!buf)
    return -1;
  gst_buffer_unref(buf);
  GstCaps *caps = gst_pad_get_current_caps(h->sinkpad);
  gint width = 0;
  if (caps) {
    gst_structure_get_int(gst_caps_get_structure(caps, 0), "width", &width);
    gst_caps_unref(caps);
  }
  return width;
}

/* A clone of a constrained track has the same constraints (the spec's
 * clone()), converted the same way; then each track's constraints are its
 * own. */
GST_START_TEST(test_clone_takes_constraints)
{
  MsBinFixture f;
  GstElement *ms = f.ms;
  GstHarness *h = f.harness("video", 0, VIDEO_CAPS);
  GstPad *orig = f.pad("video_0");
  fail_unless_equals_int(gst_harness_push(h, filled_buffer(1, 0)), GST_FLOW_OK);
  fail_unless_equals_int(next_width(h), 8);
  apply_json(orig, "{\"width\": {\"exact\": 4}, \"height\": {\"exact\": 4}}");
  fail_unless_equals_int(gst_harness_push(h, filled_buffer(2, GST_SECOND / 30)), GST_FLOW_OK);
  fail_unless_equals_int(next_width(h), 4);

  GstPad *clone = f.own(clone_track(ms, orig));
  GstHarness *hc = f.output("video_1");
  GstStructure *want = wc_get_structure(orig, "constraints");
  fail_unless(wc_wait_until(
                  [&] {
                    GstStructure *got = wc_get_structure(clone, "constraints");
                    bool same = got && gst_structure_is_equal(got, want);
                    if (got)
                      gst_structure_free(got);
                    return same;
                  },
                  20000),
              "the clone did not take the original's constraints");
  gst_structure_free(want);
  fail_unless_equals_int(gst_harness_push(h, filled_buffer(3, 2 * GST_SECOND / 30)), GST_FLOW_OK);
  fail_unless_equals_int(next_width(h), 4);
  fail_unless_equals_int(next_width(hc), 4);
  fail_unless_equals_int(settings_width(clone), 4);

  /* Its own from now on. */
  apply_json(clone, "{\"width\": {\"exact\": 2}, \"height\": {\"exact\": 2}}");
  fail_unless_equals_int(gst_harness_push(h, filled_buffer(4, 3 * GST_SECOND / 30)), GST_FLOW_OK);
  fail_unless_equals_int(next_width(h), 4);
  fail_unless_equals_int(next_width(hc), 2);
  fail_unless_equals_int(settings_width(orig), 4);
  fail_unless_equals_int(settings_width(clone), 2);
}
GST_END_TEST;

/* --- muted (MS-7), EOS and release (MS-8) ----------------------------------- */

GST_START_TEST(test_clone_muted_mirrored)
{
  MsBinFixture f;
  GstElement *ms = f.ms;
  GstHarness *h = f.harness("video", 0, VIDEO_CAPS);
  GstPad *orig = f.pad("video_0");
  fail_unless(gst_harness_push_event(h, gst_media_stream_track_state_event_new(TRUE, nullptr)));
  fail_unless(wc_get_bool(orig, "muted"));
  /* Made while muted: muted at once (a muted source may send nothing). */
  GstPad *clone = f.own(clone_track(ms, orig));
  f.output("video_1"); /* the clone's reader */
  fail_unless(wc_get_bool(clone, "muted"));
  int unmutes = 0;
  g_signal_connect_swapped(clone, "unmute", G_CALLBACK(+[](int *n) { (*n)++; }), &unmutes);

  fail_unless(gst_harness_push_event(h, gst_media_stream_track_state_event_new(FALSE, nullptr)));
  fail_if(wc_get_bool(orig, "muted"));
  fail_unless(wc_wait_until([clone] { return !wc_get_bool(clone, "muted"); }, 10000));
  fail_unless_equals_int(unmutes, 1);
  fail_unless(gst_harness_push_event(h, gst_media_stream_track_state_event_new(TRUE, nullptr)));
  fail_unless(wc_get_bool(orig, "muted"));
  fail_unless(wc_get_bool(clone, "muted"));
  /* A disabled clone still mirrors muted (muted is the source's). */
  g_object_set(clone, "enabled", FALSE, NULL);
  fail_unless(gst_harness_push_event(h, gst_media_stream_track_state_event_new(FALSE, nullptr)));
  fail_if(wc_get_bool(clone, "muted"));
}
GST_END_TEST;

/* The source's EOS ends both: EOS on both, ready-state ended, track-ended for
 * each, the stream inactive. */
GST_START_TEST(test_clone_eos_reaches_both)
{
  CloneFixture f;
  GstElement *ms = f.ms;
  GstHarness *h = f.h, *hc = f.hc;
  GstPad *orig = f.orig, *clone = f.clone;
  PadCounter ended;
  g_signal_connect(ms, "track-ended", G_CALLBACK(on_track_signal), &ended);
  fail_unless_equals_int(gst_harness_push(h, filled_buffer(1, 0)), GST_FLOW_OK);
  fail_unless(gst_harness_push_event(h, gst_event_new_eos()));
  fail_unless(pull_until(h, GST_EVENT_EOS));
  fail_unless(pull_until(hc, GST_EVENT_EOS));
  expect_string(orig, "ready-state", "ended");
  expect_string(clone, "ready-state", "ended");
  fail_unless_equals_int(ended.count.load(), 2);
  fail_if(wc_get_bool(ms, "active"));

  /* A clone made after the end is ended too (the source's EOS is sticky). */
  GstPad *late = f.own(clone_track(ms, orig));
  fail_unless(
      wc_wait_until([late] { return wc_get_string(late, "ready-state") == "ended"; }, 20000));
}
GST_END_TEST;

/* A flush on the source flushes the clone too, and data flows again on both. */
GST_START_TEST(test_clone_follows_flush)
{
  CloneFixture f;
  GstHarness *h = f.h, *hc = f.hc;
  GstPad *orig = f.orig, *clone = f.clone;
  fail_unless_equals_int(gst_harness_push(h, filled_buffer(1, 0)), GST_FLOW_OK);
  fail_unless(gst_harness_push_event(h, gst_event_new_eos()));
  fail_unless(pull_until(hc, GST_EVENT_EOS));
  fail_unless(gst_harness_push_event(h, gst_event_new_flush_start()));
  fail_unless(pull_until(hc, GST_EVENT_FLUSH_START));
  fail_unless(gst_harness_push_event(h, gst_event_new_flush_stop(TRUE)));
  fail_unless(pull_until(hc, GST_EVENT_FLUSH_STOP));
  /* Live again after the flush (docs: "Ended and restart"), both tracks. */
  expect_string(clone, "ready-state", "live");
  expect_string(orig, "ready-state", "live");
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  fail_unless(gst_harness_push_event(h, gst_event_new_segment(&segment)));
  while (GstBuffer *b = gst_harness_try_pull(h))
    gst_buffer_unref(b);
  while (GstBuffer *b = gst_harness_try_pull(hc))
    gst_buffer_unref(b);
  fail_unless_equals_int(gst_harness_push(h, filled_buffer(5, 0)), GST_FLOW_OK);
  fail_unless_equals_int(next_value(h), 5);
  fail_unless_equals_int(next_value(hc), 5);
}
GST_END_TEST;

/* Releasing the original's sink pad ends the clone (EOS, ended, track-ended)
 * and removes both tracks (track-removed twice, an empty collection). */
GST_START_TEST(test_clone_release_ends_both)
{
  CloneFixture f(true);
  GstElement *ms = f.ms;
  GstBus *bus = f.bus;
  GstHarness *h = f.h, *hc = f.hc;
  GstPad *orig = f.orig, *clone = f.clone;
  PadCounter ended, removed;
  g_signal_connect(ms, "track-ended", G_CALLBACK(on_track_signal), &ended);
  g_signal_connect(ms, "track-removed", G_CALLBACK(on_track_signal), &removed);
  GstPad *audio_sink = gst_element_request_pad_simple(ms, "audio_sink_%u"); /* stays */
  fail_unless_equals_int(gst_harness_push(h, filled_buffer(1, 0)), GST_FLOW_OK);
  fail_unless_equals_int(next_value(hc), 1);
  ms_count_track_messages(bus, "");

  GstPad *sink = ms_track_pad(ms, "video_sink_0");
  gst_element_release_request_pad(ms, sink);
  gst_object_unref(sink);
  fail_unless(pull_until(hc, GST_EVENT_EOS), "no EOS on the clone");
  expect_string(clone, "ready-state", "ended");
  fail_unless_equals_int(ended.count.load(), 1);
  fail_unless(ended.last == clone);
  fail_unless_equals_int(removed.count.load(), 2);
  fail_unless(GST_OBJECT_PARENT(clone) == nullptr);
  fail_unless(GST_OBJECT_PARENT(orig) == nullptr);
  fail_unless_equals_int(GST_ELEMENT(ms)->numsrcpads, 1); /* audio_0 */
  fail_unless_equals_int(ms_count_track_messages(bus, "removetrack"), 2);

  gst_element_release_request_pad(ms, audio_sink);
  gst_object_unref(audio_sink);
}
GST_END_TEST;

/* --- pipelines: negotiation, states, threads --------------------------------- */

struct Flow {
  std::atomic<guint64> buffers{0};
  std::atomic<int> width{0};
};

static GstPadProbeReturn count_buffers(GstPad *pad, GstPadProbeInfo *, gpointer user_data)
{
  auto *flow = static_cast<Flow *>(user_data);
  flow->buffers++;
  GstCaps *caps = gst_pad_get_current_caps(pad);
  if (caps) {
    gint w = 0;
    gst_structure_get_int(gst_caps_get_structure(caps, 0), "width", &w);
    flow->width = w;
    gst_caps_unref(caps);
  }
  return GST_PAD_PROBE_OK;
}

/* Links @track of @ms to a new "queue ! fakesink" in @pipeline (the clone's
 * consumer after a queue, as after a tee); the fakesink's sink pad counts. */
static void consume(GstElement *pipeline, GstPad *track, Flow *flow, const char *filter = nullptr)
{
  std::string desc = filter ? std::string("capsfilter caps=") + filter + " ! " : "";
  desc += "queue ! fakesink async=false";
  GstElement *bin = gst_parse_bin_from_description(desc.c_str(), TRUE, nullptr);
  fail_unless(bin != nullptr);
  gst_bin_add(GST_BIN(pipeline), bin);
  GstPad *sink = gst_element_get_static_pad(bin, "sink");
  fail_unless_equals_int(gst_pad_link(track, sink), GST_PAD_LINK_OK);
  gst_object_unref(sink);
  gst_pad_add_probe(track, GST_PAD_PROBE_TYPE_BUFFER, count_buffers, flow, nullptr);
  gst_element_sync_state_with_parent(bin);
}

/* The source negotiates caps that the original's and the clone's consumers
 * both accept (a tee's rule): here the clone's consumer asks for 64x48. */
GST_START_TEST(test_clone_caps_both_consumers)
{
  MsPipelineFixture f(
      "videotestsrc is-live=true ! video/x-raw,format=I420,framerate=30/1 ! ms.video_sink_0 "
      "mediastreambin name=ms ms.video_0 ! queue ! fakesink async=false");
  GstElement *pipeline = f.pipeline, *ms = f.ms;
  GstPad *orig = f.pad("video_0");
  GstPad *clone = clone_track(ms, orig);
  Flow flow, orig_flow;
  consume(pipeline, clone, &flow, "video/x-raw,width=64,height=48");
  gst_pad_add_probe(orig, GST_PAD_PROBE_TYPE_BUFFER, count_buffers, &orig_flow, nullptr);
  fail_unless(gst_element_set_state(pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
  fail_unless(wc_wait_until([&] { return flow.buffers > 3 && orig_flow.buffers > 3; }, 20000),
              "no data on both tracks");
  fail_unless_equals_int(flow.width.load(), 64);
  fail_unless_equals_int(orig_flow.width.load(), 64);
  fail_unless(wc_pop_error(GST_ELEMENT_BUS(pipeline), 0) == nullptr);
  wc_set_state_sync(pipeline, GST_STATE_NULL);
  gst_object_unref(clone);
}
GST_END_TEST;

/* Clones made in NULL, READY and PLAYING (from this application thread) all
 * carry data in each run of NULL -> PLAYING -> READY -> PLAYING -> NULL
 * cycles, and the original too. */
GST_START_TEST(test_clone_state_cycles)
{
  MsPipelineFixture f(
      "videotestsrc is-live=true ! video/x-raw,width=32,height=24,framerate=60/1 ! "
      "ms.video_sink_0 mediastreambin name=ms ms.video_0 ! queue ! fakesink async=false");
  GstElement *pipeline = f.pipeline, *ms = f.ms;
  GstPad *orig = f.pad("video_0");
  Flow flows[4];
  gst_pad_add_probe(orig, GST_PAD_PROBE_TYPE_BUFFER, count_buffers, &flows[0], nullptr);
  std::vector<GstPad *> clones;

  clones.push_back(clone_track(ms, orig)); /* NULL */
  consume(pipeline, clones.back(), &flows[1]);
  wc_set_state_sync(pipeline, GST_STATE_READY);
  clones.push_back(clone_track(ms, orig)); /* READY */
  consume(pipeline, clones.back(), &flows[2]);
  wc_set_state_sync(pipeline, GST_STATE_PLAYING);
  fail_unless(wc_wait_until([&] { return flows[0].buffers > 3; }, 20000));
  clones.push_back(clone_track(ms, orig)); /* PLAYING */
  consume(pipeline, clones.back(), &flows[3]);

  const GstState cycle[] = {GST_STATE_READY,   GST_STATE_PLAYING, GST_STATE_NULL,
                            GST_STATE_PLAYING, GST_STATE_PAUSED,  GST_STATE_PLAYING};
  for (GstState state : cycle) {
    if (state == GST_STATE_PLAYING) {
      guint64 before[4];
      for (int i = 0; i < 4; i++)
        before[i] = flows[i].buffers;
      wc_set_state_sync(pipeline, state);
      for (int i = 0; i < 4; i++)
        fail_unless(wc_wait_until([&] { return flows[i].buffers > before[i] + 3; }, 20000),
                    "no data on track %d after going to PLAYING", i);
      for (GstPad *clone : clones)
        expect_string(clone, "ready-state", "live");
    } else {
      wc_set_state_sync(pipeline, state);
    }
  }
  GstMessage *error = wc_pop_error(GST_ELEMENT_BUS(pipeline), 0);
  fail_unless(error == nullptr, "%s", error ? wc_error_text(error).c_str() : "");
  wc_set_state_sync(pipeline, GST_STATE_NULL);
  for (GstPad *clone : clones)
    gst_object_unref(clone);
}
GST_END_TEST;

/* Clones made from another thread while the pipeline plays, and from the
 * streaming thread itself (a probe on the source's data): no deadlock, each
 * gets data, all distinct ids; EOS then reaches every track. */
struct CloneFromStream {
  GstElement *ms;
  std::atomic<GstPad *> made{nullptr};
};

static GstPadProbeReturn clone_in_probe(GstPad *pad, GstPadProbeInfo *, gpointer user_data)
{
  auto *c = static_cast<CloneFromStream *>(user_data);
  GstPad *orig = gst_element_get_static_pad(c->ms, "video_0");
  c->made = clone_track(c->ms, orig);
  gst_object_unref(orig);
  return GST_PAD_PROBE_REMOVE;
}

GST_START_TEST(test_clone_threads_and_eos)
{
  MsPipelineFixture f(
      "videotestsrc is-live=true num-buffers=90 ! video/x-raw,width=32,height=24,framerate=30/1 "
      "! ms.video_sink_0 mediastreambin name=ms ms.video_0 ! queue ! fakesink async=false");
  GstElement *pipeline = f.pipeline, *ms = f.ms;
  GstPad *orig = f.pad("video_0");
  GstPad *sink = ms_track_pad(ms, "video_sink_0");
  CloneFromStream from_stream{ms};
  gst_pad_add_probe(sink, GST_PAD_PROBE_TYPE_BUFFER, clone_in_probe, &from_stream, nullptr);
  std::vector<GstPad *> made(4, nullptr);
  fail_unless(gst_element_set_state(pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
  std::thread cloner([&] {
    for (auto &pad : made)
      pad = clone_track(ms, orig);
  });
  cloner.join();
  fail_unless(wc_wait_until([&] { return from_stream.made.load() != nullptr; }, 20000));
  made.push_back(from_stream.made.load());
  std::set<std::string> ids{wc_get_string(orig, "track-id")};
  for (GstPad *pad : made) {
    fail_unless(pad != nullptr);
    ids.insert(wc_get_string(pad, "track-id"));
  }
  fail_unless_equals_int(ids.size(), made.size() + 1);
  /* Unlinked clones drop their data; link one now, it gets data. */
  Flow flow;
  consume(pipeline, made[0], &flow);
  fail_unless(wc_wait_until([&] { return flow.buffers > 2; }, 20000));
  /* The source's end (num-buffers) ends every track: the pipeline's EOS. */
  PadCounter ended;
  g_signal_connect(ms, "track-ended", G_CALLBACK(on_track_signal), &ended);
  GstMessage *msg =
      gst_bus_timed_pop_filtered(GST_ELEMENT_BUS(pipeline), 60 * GST_SECOND,
                                 static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  fail_unless(msg && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS, "no EOS: %s",
              msg ? wc_error_text(msg).c_str() : "timeout");
  gst_message_unref(msg);
  for (GstPad *pad : made)
    expect_string(pad, "ready-state", "ended");
  fail_unless_equals_int(ended.count.load(), (int)made.size() + 1);
  fail_if(wc_get_bool(ms, "active"));
  wc_set_state_sync(pipeline, GST_STATE_NULL);
  for (GstPad *pad : made)
    gst_object_unref(pad);
  gst_object_unref(sink);
}
GST_END_TEST;

/* Run to EOS, stop (NULL, then READY), run again: the clone ends with each
 * run and carries every buffer of the next one (its internal pads start the
 * new run afresh, without the last run's EOS). */
GST_START_TEST(test_clone_restart_after_eos)
{
  MsPipelineFixture f("videotestsrc num-buffers=10 ! video/x-raw,width=32,height=24 ! "
                      "ms.video_sink_0 mediastreambin name=ms ms.video_0 ! queue ! fakesink");
  GstElement *pipeline = f.pipeline, *ms = f.ms;
  GstPad *orig = f.pad("video_0");
  GstPad *clone = clone_track(ms, orig);
  Flow flow, orig_flow;
  consume(pipeline, clone, &flow);
  gst_pad_add_probe(orig, GST_PAD_PROBE_TYPE_BUFFER, count_buffers, &orig_flow, nullptr);
  const GstState stops[] = {GST_STATE_NULL, GST_STATE_READY, GST_STATE_NULL};
  for (int run = 0; run < 3; run++) {
    wc_run_to_eos(pipeline, 60);
    fail_unless_equals_int((int)flow.buffers.load(), 10 * (run + 1));
    fail_unless_equals_int((int)orig_flow.buffers.load(), 10 * (run + 1));
    expect_string(clone, "ready-state", "ended");
    wc_set_state_sync(pipeline, stops[run]);
    expect_string(clone, "ready-state", "live");
  }
  gst_object_unref(clone);
}
GST_END_TEST;

/* clone-track from one thread while another changes the pipeline's state at
 * random (NULL..PLAYING) and live data flows: no deadlock (the watchdog),
 * no crash, every clone a distinct track, and each linked clone carries data
 * once the pipeline plays again. */
GST_START_TEST(test_clone_during_state_storm)
{
  MsPipelineFixture f(
      "videotestsrc is-live=true ! video/x-raw,width=32,height=24,framerate=100/1 ! "
      "ms.video_sink_0 mediastreambin name=ms ms.video_0 ! queue ! fakesink async=false");
  GstElement *pipeline = f.pipeline, *ms = f.ms;
  GstPad *orig = f.pad("video_0");
  WcWatchdog watchdog(120, "clone-track during a state storm");
  std::atomic<bool> done{false};
  std::thread storm([&] {
    const GstState states[] = {GST_STATE_NULL, GST_STATE_READY, GST_STATE_PAUSED,
                               GST_STATE_PLAYING};
    GRand *rand = g_rand_new_with_seed(12);
    while (!done.load()) {
      gst_element_set_state(pipeline, states[g_rand_int_range(rand, 0, 4)]);
      wc_sleep_ms(g_rand_int_range(rand, 0, 10));
    }
    g_rand_free(rand);
  });
  std::vector<GstPad *> clones;
  for (int i = 0; i < 20; i++) {
    clones.push_back(clone_track(ms, i % 2 == 0 ? orig : clones.back())); /* clones of clones too */
    wc_sleep_ms(5);
  }
  done = true;
  storm.join();
  watchdog.disarm();
  std::set<std::string> ids;
  for (GstPad *clone : clones) {
    fail_unless(clone != nullptr);
    ids.insert(wc_get_string(clone, "track-id"));
  }
  fail_unless_equals_int(ids.size(), clones.size());
  wc_set_state_sync(pipeline, GST_STATE_NULL);
  Flow flow;
  consume(pipeline, clones.back(), &flow);
  wc_set_state_sync(pipeline, GST_STATE_PLAYING);
  fail_unless(wc_wait_until([&] { return flow.buffers > 3; }, 20000), "no data on a clone");
  wc_set_state_sync(pipeline, GST_STATE_NULL);
  for (GstPad *clone : clones)
    gst_object_unref(clone);
}
GST_END_TEST;

static Suite *clone_suite()
{
  Suite *s = suite_create("mediastream_clone");
  /* Cases are named by the rule of docs/plugins/mediastreambin.md
   * (CK_RUN_CASE=MS-9 runs them). A clone copies enabled (MS-6), muted (MS-7),
   * constraints (MS-10) and readyState (MS-8) and is independent from then on,
   * ending with its source: all MS-9. */
  TCase *tc = wc_add_case(s, "MS-9", 120);
  tcase_add_test(tc, test_clone_is_new_track);
  tcase_add_test(tc, test_clone_refuses_foreign_pads);
  tcase_add_test(tc, test_clone_msid);
  tcase_add_test(tc, test_clone_carries_source);
  tcase_add_test(tc, test_clone_while_streaming);
  tcase_add_test(tc, test_clone_enabled_independent);
  tcase_add_test(tc, test_clone_of_disabled_track);
  tcase_add_test(tc, test_clone_audio);
  tcase_add_test(tc, test_clone_stop_independent);
  tcase_add_test(tc, test_clone_of_stopped_track);
  tcase_add_test(tc, test_clone_takes_constraints);
  tcase_add_test(tc, test_clone_muted_mirrored);
  tcase_add_test(tc, test_clone_eos_reaches_both);
  tcase_add_test(tc, test_clone_release_ends_both);
  tc = wc_add_case(s, "MS-8", 120);
  tcase_add_test(tc, test_stop_before_data);
  tc = wc_add_case(s, "pipelines", 180);
  tcase_add_test(tc, test_clone_follows_flush);
  tcase_add_test(tc, test_clone_caps_both_consumers);
  tcase_add_test(tc, test_clone_state_cycles);
  tcase_add_test(tc, test_clone_threads_and_eos);
  tcase_add_test(tc, test_clone_restart_after_eos);
  tcase_add_test(tc, test_clone_during_state_storm);
  return s;
}

GST_CHECK_MAIN(clone);
