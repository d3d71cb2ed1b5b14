/* Unit suite for mediastreambin (MS-1..MS-10; MS-11 is in mediastreambin_webrtc).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <glib/gstdio.h>
#include <gst/audio/audio.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "gstmediastreamtrackstate.h"
#include "mediastream-check.h"

struct Counter {
  int count = 0;
  GstPad *last = nullptr;
};

static void on_track_signal(GstElement *, GstPad *pad, Counter *c)
{
  c->count++;
  c->last = pad;
}

static void on_notify(GObject *, GParamSpec *, int *count)
{
  (*count)++;
}

static void on_pad_signal(GstPad *, int *count)
{
  (*count)++;
}

/* ---------------------------------------------------------------------------- */

GST_START_TEST(test_request_creates_track_pad)
{
  GstElement *ms = ms_make_bin();
  Counter added, removed;
  g_signal_connect(ms, "track-added", G_CALLBACK(on_track_signal), &added);
  g_signal_connect(ms, "track-removed", G_CALLBACK(on_track_signal), &removed);
  int active_notifies = 0;
  g_signal_connect(ms, "notify::active", G_CALLBACK(on_notify), &active_notifies);
  GstBus *bus = gst_bus_new();
  gst_element_set_bus(ms, bus);

  fail_if(wc_get_bool(ms, "active"), "a stream with no tracks is inactive (MS-3)");

  GstPad *vsink = gst_element_request_pad_simple(ms, "video_sink_%u");
  fail_unless(vsink != nullptr);
  fail_unless_equals_string(GST_PAD_NAME(vsink), "video_sink_0");
  GstPad *vsrc = gst_element_get_static_pad(ms, "video_0");
  fail_unless(vsrc != nullptr, "the track pad exists at once");
  fail_unless_equals_string(G_OBJECT_TYPE_NAME(vsrc), "GstMediaStreamTrackPad");
  fail_unless_equals_int(added.count, 1);
  fail_unless(added.last == vsrc);
  fail_unless(wc_get_bool(ms, "active"));
  fail_unless_equals_int(active_notifies, 1);
  fail_unless_equals_int(ms_count_track_messages(bus, "addtrack"), 1);

  GstPad *asink = gst_element_request_pad_simple(ms, "audio_sink_%u");
  fail_unless_equals_string(GST_PAD_NAME(asink), "audio_sink_0");
  GstPad *asrc = gst_element_get_static_pad(ms, "audio_0");
  fail_unless(asrc != nullptr);
  /* A given index. */
  GstPad *vsink5 = gst_element_request_pad_simple(ms, "video_sink_5");
  fail_unless_equals_string(GST_PAD_NAME(vsink5), "video_sink_5");
  GstPad *vsrc5 = gst_element_get_static_pad(ms, "video_5");
  fail_unless(vsrc5 != nullptr);
  fail_unless_equals_int(added.count, 3);

  std::string k = wc_get_string(vsrc, "kind");
  fail_unless_equals_string(k.c_str(), "video");
  k = wc_get_string(asrc, "kind");
  fail_unless_equals_string(k.c_str(), "audio");

  std::string id0 = wc_get_string(vsrc, "track-id");
  std::string id1 = wc_get_string(asrc, "track-id");
  std::string id2 = wc_get_string(vsrc5, "track-id");
  fail_unless(ms_is_uuid_v4(id0.c_str()), "track-id %s is a UUID v4", id0.c_str());
  fail_unless(ms_is_uuid_v4(id1.c_str()));
  fail_unless(ms_is_uuid_v4(id2.c_str()));
  fail_if(id0 == id1 || id0 == id2 || id1 == id2);

  std::string state = wc_get_string(vsrc, "ready-state");
  fail_unless_equals_string(state.c_str(), "live");
  fail_unless(wc_get_bool(vsrc, "enabled"));
  fail_if(wc_get_bool(vsrc, "muted"));

  /* Release removes the pair. */
  gst_element_release_request_pad(ms, vsink);
  gst_object_unref(vsink);
  fail_unless_equals_int(removed.count, 1);
  fail_unless(removed.last == vsrc);
  GstPad *gone = gst_element_get_static_pad(ms, "video_0");
  fail_unless(gone == nullptr, "the track pad went with its sink pad");
  fail_unless_equals_int(ms_count_track_messages(bus, "removetrack"), 1);
  gst_object_unref(vsrc);

  /* The freed index is given again. */
  GstPad *again = gst_element_request_pad_simple(ms, "video_sink_%u");
  fail_unless_equals_string(GST_PAD_NAME(again), "video_sink_0");
  gst_element_release_request_pad(ms, again);
  gst_object_unref(again);

  gst_element_release_request_pad(ms, asink);
  gst_element_release_request_pad(ms, vsink5);
  gst_object_unref(asink);
  gst_object_unref(vsink5);
  gst_object_unref(asrc);
  gst_object_unref(vsrc5);
  fail_if(wc_get_bool(ms, "active"), "no tracks left: inactive");
  fail_unless_equals_int(GST_ELEMENT(ms)->numpads, 0);

  gst_element_set_bus(ms, nullptr);
  gst_object_unref(bus);
  gst_object_unref(ms);
}
GST_END_TEST;

GST_START_TEST(test_stream_id)
{
  GstElement *ms = ms_make_bin();
  GstElement *other = ms_make_bin();
  std::string id = wc_get_string(ms, "id");
  std::string id_other = wc_get_string(other, "id");
  fail_unless(ms_is_uuid_v4(id.c_str()), "default id %s is a UUID v4 (MS-1)", id.c_str());
  fail_if(g_str_equal(id.c_str(), id_other.c_str()));

  g_object_set(ms, "id", "my-stream_1", NULL);
  id = wc_get_string(ms, "id");
  fail_unless_equals_string(id.c_str(), "my-stream_1");

  /* A browser's stream id (Firefox: "{uuid}") is an SDP token: accepted. */
  g_object_set(ms, "id", "{0f8d3c2a-5e1b-4c7d-9a6f-2b3e4d5c6a7b}", NULL);
  id = wc_get_string(ms, "id");
  fail_unless_equals_string(id.c_str(), "{0f8d3c2a-5e1b-4c7d-9a6f-2b3e4d5c6a7b}");
  g_object_set(ms, "id", "my-stream_1", NULL);

  /* Not a token: refused with a warning, id unchanged. */
  GstBus *bus = gst_bus_new();
  gst_element_set_bus(ms, bus);
  for (const gchar *bad : {"", "has space", "a/b",
                           "0123456789012345678901234567890123456789012345678901234567890123x"}) {
    g_object_set(ms, "id", bad, NULL);
    id = wc_get_string(ms, "id");
    fail_unless_equals_string(id.c_str(), "my-stream_1");
    GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING);
    fail_unless(msg != nullptr, "a warning for \"%s\"", bad);
    wc_expect_web_error(msg, "TypeError", GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS);
    gst_message_unref(msg);
  }

  /* Fixed once running. */
  fail_unless_equals_int(gst_element_set_state(ms, GST_STATE_PAUSED), GST_STATE_CHANGE_SUCCESS);
  g_object_set(ms, "id", "later", NULL);
  id = wc_get_string(ms, "id");
  fail_unless_equals_string(id.c_str(), "my-stream_1");
  GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING);
  wc_expect_web_error(msg, "NotSupportedError");
  gst_message_unref(msg);
  gst_element_set_state(ms, GST_STATE_NULL);

  gst_element_set_bus(ms, nullptr);
  gst_object_unref(bus);
  gst_object_unref(ms);
  gst_object_unref(other);
}
GST_END_TEST;

/* ---------------------------------------------------------------------------- */

static GstHarness *video_harness(GstElement *ms, guint index, const gchar *caps)
{
  return ms_track_harness(ms, "video", index, caps);
}

static GstHarness *audio_harness(GstElement *ms, guint index, const gchar *caps)
{
  return ms_track_harness(ms, "audio", index, caps);
}

static GstBuffer *filled_buffer(gsize size, guint8 value, GstClockTime pts, GstClockTime duration)
{
  GstBuffer *buf = gst_buffer_new_allocate(nullptr, size, nullptr);
  gst_buffer_memset(buf, 0, value, size);
  GST_BUFFER_PTS(buf) = pts;
  GST_BUFFER_DTS(buf) = pts;
  GST_BUFFER_DURATION(buf) = duration;
  GST_BUFFER_OFFSET(buf) = 7;
  return buf;
}

/* The title tag of the GstStream in @pad's STREAM_START (a test failure when
 * there is none). */
static std::string stream_title(GstPad *pad)
{
  GstEvent *ev = gst_pad_get_sticky_event(pad, GST_EVENT_STREAM_START, 0);
  fail_unless(ev != nullptr, "no STREAM_START on %s", GST_PAD_NAME(pad));
  GstStream *stream = nullptr;
  gst_event_parse_stream(ev, &stream);
  GstTagList *tags = stream ? gst_stream_get_tags(stream) : nullptr;
  g_autofree gchar *title = nullptr;
  fail_unless(tags && gst_tag_list_get_string(tags, GST_TAG_TITLE, &title), "no title tag");
  std::string result = title;
  gst_tag_list_unref(tags);
  gst_object_unref(stream);
  gst_event_unref(ev);
  return result;
}

static void assert_same_timing(GstBuffer *out, GstClockTime pts, GstClockTime duration)
{
  fail_unless_equals_uint64(GST_BUFFER_PTS(out), pts);
  fail_unless_equals_uint64(GST_BUFFER_DTS(out), pts);
  fail_unless_equals_uint64(GST_BUFFER_DURATION(out), duration);
}

GST_START_TEST(test_passthrough_is_zero_copy)
{
  GstElement *ms = ms_make_bin();
  GstHarness *h = video_harness(ms, 0, "video/x-raw,format=BGRA,width=16,height=8,framerate=30/1");
  GstBuffer *in = filled_buffer(16 * 8 * 4, 0x5a, 0, GST_SECOND / 30);
  GstBuffer *out = gst_harness_push_and_pull(h, gst_buffer_ref(in));
  fail_unless(out == in, "an enabled track passes the very buffer");
  gst_buffer_unref(out);
  gst_buffer_unref(in);
  gst_harness_teardown(h);
  gst_object_unref(ms);
}
GST_END_TEST;

/* Pushes one frame of 0x5a bytes on a disabled track and returns the output. */
static GstBuffer *disabled_video_frame(const gchar *caps, GstVideoInfo *info)
{
  GstElement *ms = ms_make_bin();
  GstHarness *h = video_harness(ms, 0, caps);
  GstCaps *c = gst_caps_from_string(caps);
  fail_unless(gst_video_info_from_caps(info, c));
  gst_caps_unref(c);
  GstPad *track = ms_track_pad(ms, "video_0");
  g_object_set(track, "enabled", FALSE, NULL);
  const GstClockTime pts = 3 * GST_SECOND, dur = GST_SECOND / 25;
  GstBuffer *out = gst_harness_push_and_pull(h, filled_buffer(info->size, 0x5a, pts, dur));
  fail_unless(out != nullptr);
  assert_same_timing(out, pts, dur);
  fail_unless_equals_uint64(gst_buffer_get_size(out), info->size);
  /* The same caps downstream. */
  GstCaps *sink_caps = gst_pad_get_current_caps(h->sinkpad);
  GstCaps *expected = gst_caps_from_string(caps);
  fail_unless(gst_caps_is_equal(sink_caps, expected));
  gst_caps_unref(sink_caps);
  gst_caps_unref(expected);
  gst_object_unref(track);
  gst_harness_teardown(h);
  gst_object_unref(ms);
  return out;
}

GST_START_TEST(test_disabled_black_bgra)
{
  GstVideoInfo info;
  GstBuffer *out =
      disabled_video_frame("video/x-raw,format=BGRA,width=33,height=17,framerate=25/1", &info);
  GstVideoFrame frame;
  fail_unless(gst_video_frame_map(&frame, &info, out, GST_MAP_READ));
  for (int y = 0; y < 17; y++) {
    const guint8 *row = static_cast<const guint8 *>(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0)) +
                        y * GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0);
    for (int x = 0; x < 33; x++) {
      fail_unless(row[x * 4 + 0] == 0 && row[x * 4 + 1] == 0 && row[x * 4 + 2] == 0, "BGR at %d,%d",
                  x, y);
      fail_unless_equals_int(row[x * 4 + 3], 255); /* opaque */
    }
  }
  gst_video_frame_unmap(&frame);
  gst_buffer_unref(out);
}
GST_END_TEST;

static void check_planar_420(const gchar *caps, guint8 luma)
{
  GstVideoInfo info;
  GstBuffer *out = disabled_video_frame(caps, &info);
  GstVideoFrame frame;
  fail_unless(gst_video_frame_map(&frame, &info, out, GST_MAP_READ));
  const gint w = GST_VIDEO_INFO_WIDTH(&info), hgt = GST_VIDEO_INFO_HEIGHT(&info);
  for (int y = 0; y < hgt; y++) {
    const guint8 *row = static_cast<const guint8 *>(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0)) +
                        y * GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0);
    for (int x = 0; x < w; x++)
      fail_unless(row[x] == luma, "Y at %d,%d is %d, not %d", x, y, row[x], luma);
  }
  const gint cw = (w + 1) / 2, ch = (hgt + 1) / 2;
  if (GST_VIDEO_INFO_N_PLANES(&info) == 3) { /* I420 */
    for (int p = 1; p < 3; p++)
      for (int y = 0; y < ch; y++) {
        const guint8 *row = static_cast<const guint8 *>(GST_VIDEO_FRAME_PLANE_DATA(&frame, p)) +
                            y * GST_VIDEO_FRAME_PLANE_STRIDE(&frame, p);
        for (int x = 0; x < cw; x++)
          fail_unless(row[x] == 128, "plane %d at %d,%d is %d", p, x, y, row[x]);
      }
  } else { /* NV12 */
    for (int y = 0; y < ch; y++) {
      const guint8 *row = static_cast<const guint8 *>(GST_VIDEO_FRAME_PLANE_DATA(&frame, 1)) +
                          y * GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 1);
      for (int x = 0; x < cw * 2; x++)
        fail_unless(row[x] == 128, "UV at byte %d,%d is %d", x, y, row[x]);
    }
  }
  gst_video_frame_unmap(&frame);
  gst_buffer_unref(out);
}

GST_START_TEST(test_disabled_black_i420_nv12)
{
  /* Limited range (the default for YUV): Y=16, U=V=128. Odd sizes on purpose. */
  check_planar_420("video/x-raw,format=I420,width=35,height=19,framerate=30/1", 16);
  check_planar_420("video/x-raw,format=NV12,width=35,height=19,framerate=30/1", 16);
  /* Full range as the colorimetry says: Y=0. */
  check_planar_420(
      "video/x-raw,format=I420,width=32,height=18,framerate=30/1,colorimetry=(string)1:4:0:0", 0);
  check_planar_420("video/x-raw,format=NV12,width=32,height=18,framerate=30/1,"
                   "colorimetry=(string)1:4:0:0",
                   0);
}
GST_END_TEST;

/* Every raw format GStreamer can pack: the disabled output, unpacked by the
 * format's own unpacker, is black (RGB 0 / Y at the range's black level,
 * chroma neutral) and opaque. */
GST_START_TEST(test_disabled_black_every_format)
{
  int checked = 0;
  guint n_formats = 0;
  const GstVideoFormat *formats = gst_video_formats_raw(&n_formats);
  for (guint i = 0; i < n_formats; i++) {
    const GstVideoFormat f = formats[i];
    const GstVideoFormatInfo *finfo = gst_video_format_get_info(f);
    if (GST_VIDEO_FORMAT_INFO_FORMAT(finfo) == GST_VIDEO_FORMAT_ENCODED || !finfo->unpack_func ||
        !finfo->pack_func)
      continue;
    for (int full = 0; full < 2; full++) {
      GstVideoInfo info;
      /* 128x128 fits every tile size; an interlaced-free progressive frame. */
      fail_unless(gst_video_info_set_format(&info, f, 128, 128));
      if (full)
        info.colorimetry.range = GST_VIDEO_COLOR_RANGE_0_255;
      else if (!GST_VIDEO_FORMAT_INFO_IS_RGB(finfo))
        info.colorimetry.range = GST_VIDEO_COLOR_RANGE_16_235;
      GstCaps *caps = gst_video_info_to_caps(&info);
      g_autofree gchar *caps_str = gst_caps_to_string(caps);
      gst_caps_unref(caps);
      GstVideoInfo got;
      GstBuffer *out = disabled_video_frame(caps_str, &got);

      GstVideoFrame frame;
      fail_unless(gst_video_frame_map(&frame, &got, out, GST_MAP_READ));
      const GstVideoFormatInfo *uinfo = gst_video_format_get_info(finfo->unpack_format);
      const bool wide = GST_VIDEO_FORMAT_INFO_BITS(uinfo) > 8;
      const bool rgb = GST_VIDEO_FORMAT_INFO_IS_RGB(uinfo);
      const bool full_range = got.colorimetry.range == GST_VIDEO_COLOR_RANGE_0_255;
      const bool has_alpha = GST_VIDEO_FORMAT_INFO_HAS_ALPHA(finfo);
      const bool gray = GST_VIDEO_FORMAT_INFO_IS_GRAY(finfo);
      const int depth = GST_VIDEO_FORMAT_INFO_DEPTH(finfo, 0);
      std::vector<guint8> line(128 * 8 + 1024);
      for (int y = 0; y < 128; y++) {
        finfo->unpack_func(finfo, GST_VIDEO_PACK_FLAG_NONE, line.data(), frame.data,
                           frame.info.stride, 0, y, 128);
        for (int x = 0; x < 128; x++) {
          /* Compare at the format's own depth (unpack widens to 8/16 bits). */
          /* Unpacked order A, Y/R, U/G, V/B; format components Y/R=0, U/G=1,
           * V/B=2, A=3. */
          auto comp_depth = [&](int c) {
            int d = GST_VIDEO_FORMAT_INFO_DEPTH(finfo, c == 0 ? 3 : c - 1);
            return MIN(d ? d : depth, wide ? 16 : 8);
          };
          auto comp = [&](int c) -> int {
            int v = wide ? reinterpret_cast<guint16 *>(line.data())[x * 4 + c] : line[x * 4 + c];
            return v >> ((wide ? 16 : 8) - comp_depth(c));
          };
          const int top = (1 << comp_depth(0)) - 1;
          if (has_alpha)
            fail_unless(comp(0) == top, "%s: alpha %d at %d,%d", finfo->name, comp(0), x, y);
          if (rgb) {
            fail_unless(comp(1) == 0 && comp(2) == 0 && comp(3) == 0, "%s: RGB %d,%d,%d at %d,%d",
                        finfo->name, comp(1), comp(2), comp(3), x, y);
          } else {
            const int black = full_range ? 0 : (16 << (comp_depth(1) - 8));
            const int neutral = 1 << (comp_depth(2) - 1);
            fail_unless(comp(1) == black, "%s (%s range): Y %d at %d,%d, expected %d", finfo->name,
                        full_range ? "full" : "limited", comp(1), x, y, black);
            if (!gray)
              fail_unless(comp(2) == neutral && comp(3) == neutral, "%s: UV %d,%d at %d,%d",
                          finfo->name, comp(2), comp(3), x, y);
          }
        }
      }
      gst_video_frame_unmap(&frame);
      gst_buffer_unref(out);
      checked++;
    }
  }
  GST_INFO("checked %d format/range pairs", checked);
  fail_unless(checked > 100, "only %d formats checked", checked);
}
GST_END_TEST;

GST_START_TEST(test_black_prepared_once_per_caps)
{
  GstElement *ms = ms_make_bin();
  GstHarness *h = video_harness(ms, 0, "video/x-raw,format=I420,width=64,height=48,framerate=30/1");
  GstPad *track = ms_track_pad(ms, "video_0");
  g_object_set(track, "enabled", FALSE, NULL);
  GstBuffer *a = gst_harness_push_and_pull(h, filled_buffer(64 * 48 * 3 / 2, 1, 0, 10));
  GstBuffer *b = gst_harness_push_and_pull(h, filled_buffer(64 * 48 * 3 / 2, 2, 10, 10));
  fail_unless(gst_buffer_peek_memory(a, 0) == gst_buffer_peek_memory(b, 0),
              "black frames share one prepared memory");
  fail_if(gst_buffer_is_writable(a) && gst_memory_is_writable(gst_buffer_peek_memory(a, 0)),
          "shared black must not be writable in place");
  /* New caps: prepared again, at the new size. */
  gst_harness_set_src_caps_str(h, "video/x-raw,format=I420,width=32,height=16,framerate=30/1");
  GstBuffer *c = gst_harness_push_and_pull(h, filled_buffer(32 * 16 * 3 / 2, 3, 20, 10));
  fail_unless_equals_uint64(gst_buffer_get_size(c), 32 * 16 * 3 / 2);
  fail_if(gst_buffer_peek_memory(c, 0) == gst_buffer_peek_memory(a, 0));
  gst_buffer_unref(a);
  gst_buffer_unref(b);
  gst_buffer_unref(c);
  gst_object_unref(track);
  gst_harness_teardown(h);
  gst_object_unref(ms);
}
GST_END_TEST;

GST_START_TEST(test_reenable_passes_at_once)
{
  GstElement *ms = ms_make_bin();
  GstHarness *h = video_harness(ms, 0, "video/x-raw,format=GRAY8,width=8,height=8,framerate=30/1");
  GstPad *track = ms_track_pad(ms, "video_0");
  for (int round = 0; round < 3; round++) {
    g_object_set(track, "enabled", FALSE, NULL);
    GstBuffer *out = gst_harness_push_and_pull(h, filled_buffer(64, 0x77, round * 2, 1));
    GstMapInfo map;
    gst_buffer_map(out, &map, GST_MAP_READ);
    for (gsize i = 0; i < map.size; i++)
      fail_unless(map.data[i] != 0x77, "disabled: no media");
    gst_buffer_unmap(out, &map);
    gst_buffer_unref(out);
    g_object_set(track, "enabled", TRUE, NULL);
    GstBuffer *in = filled_buffer(64, 0x77, round * 2 + 1, 1);
    out = gst_harness_push_and_pull(h, gst_buffer_ref(in));
    fail_unless(out == in, "enabled again: the next buffer is media");
    gst_buffer_unref(out);
    gst_buffer_unref(in);
  }
  gst_object_unref(track);
  gst_harness_teardown(h);
  gst_object_unref(ms);
}
GST_END_TEST;

template <typename T> static void check_silence(const gchar *format, T silence)
{
  gchar *caps =
      g_strdup_printf("audio/x-raw,format=%s,rate=48000,channels=2,layout=interleaved", format);
  GstElement *ms = ms_make_bin();
  GstHarness *h = audio_harness(ms, 0, caps);
  GstPad *track = ms_track_pad(ms, "audio_0");
  g_object_set(track, "enabled", FALSE, NULL);
  /* Varying sizes: the prepared silence grows and is shared. */
  for (int i = 0, frames = 480; i < 4; i++, frames = (i % 2) ? 1024 : 100) {
    gsize size = frames * 2 * sizeof(T);
    GstClockTime pts = i * GST_MSECOND * 20, dur = gst_util_uint64_scale(frames, GST_SECOND, 48000);
    GstBuffer *in = filled_buffer(size, 0x3c, pts, dur);
    GST_BUFFER_FLAG_SET(in, GST_BUFFER_FLAG_DISCONT);
    GstBuffer *out = gst_harness_push_and_pull(h, in);
    assert_same_timing(out, pts, dur);
    fail_unless(GST_BUFFER_FLAG_IS_SET(out, GST_BUFFER_FLAG_DISCONT), "flags kept");
    fail_unless_equals_uint64(gst_buffer_get_size(out), size);
    GstMapInfo map;
    gst_buffer_map(out, &map, GST_MAP_READ);
    const T *samples = reinterpret_cast<const T *>(map.data);
    for (gsize s = 0; s < size / sizeof(T); s++)
      fail_unless(memcmp(&samples[s], &silence, sizeof(T)) == 0,
                  "%s sample %" G_GSIZE_FORMAT " is not silence", format, s);
    gst_buffer_unmap(out, &map);
    gst_buffer_unref(out);
  }
  gst_object_unref(track);
  gst_harness_teardown(h);
  gst_object_unref(ms);
  g_free(caps);
}

GST_START_TEST(test_disabled_silence)
{
  check_silence<gint16>("S16LE", 0);
  check_silence<gfloat>("F32LE", 0.0f);
  check_silence<guint8>("U8", 0x80);
  check_silence<guint16>("U16LE", 0x8000);
  check_silence<gdouble>("F64LE", 0.0);
}
GST_END_TEST;

/* Every raw audio format: output equals the format's silence pattern. */
GST_START_TEST(test_disabled_silence_every_format)
{
  const GstAudioFormat *formats;
  guint n = 0;
  formats = gst_audio_formats_raw(&n);
  fail_unless(n > 20);
  for (guint i = 0; i < n; i++) {
    const GstAudioFormatInfo *finfo = gst_audio_format_get_info(formats[i]);
    GstAudioInfo info;
    gst_audio_info_set_format(&info, formats[i], 44100, 1, nullptr);
    GstCaps *caps = gst_audio_info_to_caps(&info);
    g_autofree gchar *caps_str = gst_caps_to_string(caps);
    gst_caps_unref(caps);
    GstElement *ms = ms_make_bin();
    GstHarness *h = audio_harness(ms, 0, caps_str);
    GstPad *track = ms_track_pad(ms, "audio_0");
    g_object_set(track, "enabled", FALSE, NULL);
    const gsize bpf = GST_AUDIO_INFO_BPF(&info);
    GstBuffer *out =
        gst_harness_push_and_pull(h, filled_buffer(bpf * 441, 0x3c, 0, GST_MSECOND * 10));
    GstMapInfo map;
    gst_buffer_map(out, &map, GST_MAP_READ);
    fail_unless_equals_uint64(map.size, bpf * 441);
    for (gsize s = 0; s < 441; s++)
      fail_unless(memcmp(map.data + s * bpf, finfo->silence, bpf) == 0, "%s sample %d", finfo->name,
                  (int)s);
    gst_buffer_unmap(out, &map);
    gst_buffer_unref(out);
    gst_object_unref(track);
    gst_harness_teardown(h);
    gst_object_unref(ms);
  }
}
GST_END_TEST;

/* ---------------------------------------------------------------------------- */

GST_START_TEST(test_muted_follows_source)
{
  GstElement *ms = ms_make_bin();
  GstBus *bus = gst_bus_new();
  gst_element_set_bus(ms, bus);
  GstHarness *h = video_harness(ms, 0, "video/x-raw,format=BGRx,width=8,height=8,framerate=30/1");
  GstPad *track = ms_track_pad(ms, "video_0");
  int notifies = 0, mutes = 0, unmutes = 0;
  g_signal_connect(track, "notify::muted", G_CALLBACK(on_notify), &notifies);
  g_signal_connect(track, "mute", G_CALLBACK(on_pad_signal), &mutes);
  g_signal_connect(track, "unmute", G_CALLBACK(on_pad_signal), &unmutes);
  ms_count_track_messages(bus, "");

  fail_unless(gst_harness_push_event(h, gst_media_stream_track_state_event_new(TRUE, nullptr)));
  fail_unless(wc_get_bool(track, "muted"));
  fail_unless_equals_int(notifies, 1);
  fail_unless_equals_int(mutes, 1);
  fail_unless_equals_int(ms_count_track_messages(bus, "mute"), 1);
  /* The same state again: no event fires. */
  fail_unless(gst_harness_push_event(h, gst_media_stream_track_state_event_new(TRUE, nullptr)));
  fail_unless_equals_int(notifies, 1);
  fail_unless(gst_harness_push_event(h, gst_media_stream_track_state_event_new(FALSE, nullptr)));
  fail_if(wc_get_bool(track, "muted"));
  fail_unless_equals_int(notifies, 2);
  fail_unless_equals_int(unmutes, 1);
  fail_unless_equals_int(ms_count_track_messages(bus, "unmute"), 1);

  /* The event goes on downstream (sticky). */
  GstEvent *ev = gst_pad_get_sticky_event(h->sinkpad, GST_EVENT_CUSTOM_DOWNSTREAM_STICKY, 0);
  fail_unless(ev != nullptr);
  bool m = true;
  fail_unless(wc_parse_track_state(ev, &m));
  fail_if(m);
  gst_event_unref(ev);

  gst_object_unref(track);
  gst_harness_teardown(h);
  gst_element_set_bus(ms, nullptr);
  gst_object_unref(bus);
  gst_object_unref(ms);
}
GST_END_TEST;

GST_START_TEST(test_label)
{
  GstElement *ms = ms_make_bin();
  GstHarness *h = video_harness(ms, 0, "video/x-raw,format=BGRx,width=8,height=8,framerate=30/1");
  GstPad *track = ms_track_pad(ms, "video_0");
  int notifies = 0;
  g_signal_connect(track, "notify::label", G_CALLBACK(on_notify), &notifies);

  /* Track-state label, then title tag. */
  gst_harness_push_event(h, gst_media_stream_track_state_event_new(FALSE, "from state"));
  std::string label = wc_get_string(track, "label");
  fail_unless_equals_string(label.c_str(), "from state");
  gst_harness_push_event(h, gst_event_new_tag(gst_tag_list_new(GST_TAG_TITLE, "Camera", NULL)));
  label = wc_get_string(track, "label");
  fail_unless_equals_string(label.c_str(), "Camera");
  fail_unless_equals_int(notifies, 2);
  /* The track's GstStream carries it as its title. */
  gst_harness_push(h, filled_buffer(8 * 8 * 4, 1, 0, 1));
  std::string title = stream_title(h->sinkpad);
  fail_unless_equals_string(title.c_str(), "Camera");

  /* The application's label wins. */
  g_object_set(track, "label", "mine", NULL);
  gst_harness_push_event(h, gst_event_new_tag(gst_tag_list_new(GST_TAG_TITLE, "Other", NULL)));
  label = wc_get_string(track, "label");
  fail_unless_equals_string(label.c_str(), "mine");

  gst_object_unref(track);
  gst_harness_teardown(h);
  gst_object_unref(ms);
}
GST_END_TEST;

GST_START_TEST(test_label_defaults_to_upstream_name)
{
  GstElement *pipeline = gst_parse_launch(
      "videotestsrc name=camera num-buffers=1 ! ms. ms.video_0 ! fakesink mediastreambin name=ms",
      nullptr);
  fail_unless(pipeline != nullptr);
  GstElement *ms = gst_bin_get_by_name(GST_BIN(pipeline), "ms");
  GstPad *track = ms_track_pad(ms, "video_0");
  std::string label = wc_get_string(track, "label");
  fail_unless_equals_string(label.c_str(), "camera");
  /* ... and the title of the track's GstStream. */
  GstPad *fakesink_pad = gst_pad_get_peer(track);
  GstMessage *msg = nullptr;
  fail_unless(gst_element_set_state(pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
  GstBus *bus = gst_element_get_bus(pipeline);
  msg = gst_bus_timed_pop_filtered(bus, 10 * GST_SECOND, GST_MESSAGE_EOS);
  fail_unless(msg != nullptr);
  gst_message_unref(msg);
  gst_object_unref(bus);
  std::string title = stream_title(fakesink_pad);
  fail_unless_equals_string(title.c_str(), "camera");
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(fakesink_pad);
  gst_object_unref(track);
  gst_object_unref(ms);
  gst_object_unref(pipeline);
}
GST_END_TEST;

GST_START_TEST(test_settings)
{
  GstElement *ms = ms_make_bin();
  GstHarness *hv =
      video_harness(ms, 0, "video/x-raw,format=I420,width=320,height=240,framerate=30000/1001");
  GstHarness *ha =
      audio_harness(ms, 0, "audio/x-raw,format=S16LE,rate=44100,channels=2,layout=interleaved");
  GstPad *vtrack = ms_track_pad(ms, "video_0");
  GstPad *atrack = ms_track_pad(ms, "audio_0");
  GstStructure *s = nullptr;
  g_object_get(vtrack, "settings", &s, NULL);
  gint v = 0;
  fail_unless(gst_structure_get_int(s, "width", &v) && v == 320);
  fail_unless(gst_structure_get_int(s, "height", &v) && v == 240);
  gdouble rate = 0;
  fail_unless(gst_structure_get_double(s, "frame-rate", &rate));
  fail_unless(fabs(rate - 29.97) < 0.01, "frame-rate %f", rate);
  gst_structure_free(s);
  g_object_get(atrack, "settings", &s, NULL);
  fail_unless(gst_structure_get_int(s, "sample-rate", &v) && v == 44100);
  fail_unless(gst_structure_get_int(s, "channel-count", &v) && v == 2);
  gst_structure_free(s);
  /* Follows renegotiation. */
  int notifies = 0;
  g_signal_connect(vtrack, "notify::settings", G_CALLBACK(on_notify), &notifies);
  gst_harness_set_src_caps_str(
      hv, "video/x-raw,format=I420,width=640,height=360,framerate=0/1,max-framerate=15/1");
  fail_unless_equals_int(notifies, 1);
  g_object_get(vtrack, "settings", &s, NULL);
  fail_unless(gst_structure_get_int(s, "width", &v) && v == 640);
  fail_unless(gst_structure_get_double(s, "frame-rate", &rate) && rate == 15.0);
  gst_structure_free(s);
  gst_object_unref(vtrack);
  gst_object_unref(atrack);
  gst_harness_teardown(hv);
  gst_harness_teardown(ha);
  gst_object_unref(ms);
}
GST_END_TEST;

/* A video and an audio track fed by harnesses, with what the ended rules are
 * seen by: track-ended signals, notify::active, the video track's
 * notify::ready-state and the bus's track messages (drained). */
struct EndedTracks {
  GstElement *ms = ms_make_bin();
  GstBus *bus = gst_bus_new();
  GstHarness *hv = nullptr, *ha = nullptr;
  GstPad *vtrack = nullptr, *atrack = nullptr;
  Counter ended;
  int active_notifies = 0, state_notifies = 0;

  EndedTracks()
  {
    gst_element_set_bus(ms, bus);
    hv = video_harness(ms, 0, "video/x-raw,format=BGRx,width=8,height=8,framerate=30/1");
    ha = audio_harness(ms, 0, "audio/x-raw,format=S16LE,rate=8000,channels=1,layout=interleaved");
    vtrack = ms_track_pad(ms, "video_0");
    atrack = ms_track_pad(ms, "audio_0");
    g_signal_connect(ms, "track-ended", G_CALLBACK(on_track_signal), &ended);
    g_signal_connect(ms, "notify::active", G_CALLBACK(on_notify), &active_notifies);
    g_signal_connect(vtrack, "notify::ready-state", G_CALLBACK(on_notify), &state_notifies);
    ms_count_track_messages(bus, "");
  }
  ~EndedTracks()
  {
    gst_object_unref(vtrack);
    gst_object_unref(atrack);
    gst_harness_teardown(hv);
    gst_harness_teardown(ha);
    gst_element_set_bus(ms, nullptr);
    gst_object_unref(bus);
    gst_object_unref(ms);
  }
};

GST_START_TEST(test_eos_ends_track)
{
  EndedTracks t;

  gst_harness_push(t.hv, filled_buffer(256, 1, 0, 1));
  fail_unless(gst_harness_push_event(t.hv, gst_event_new_eos()));
  std::string state = wc_get_string(t.vtrack, "ready-state");
  fail_unless_equals_string(state.c_str(), "ended");
  fail_unless_equals_int(t.state_notifies, 1);
  fail_unless_equals_int(t.ended.count, 1);
  fail_unless(t.ended.last == t.vtrack);
  fail_unless_equals_int(ms_count_track_messages(t.bus, "ended"), 1);
  fail_unless(wc_get_bool(t.ms, "active"), "the audio track is still live (MS-3)");
  fail_unless_equals_int(t.active_notifies, 0);
  /* EOS forwarded. */
  bool saw_eos = false;
  GstEvent *ev;
  while ((ev = gst_harness_try_pull_event(t.hv))) {
    saw_eos |= GST_EVENT_TYPE(ev) == GST_EVENT_EOS;
    gst_event_unref(ev);
  }
  fail_unless(saw_eos);

  fail_unless(gst_harness_push_event(t.ha, gst_event_new_eos()));
  fail_if(wc_get_bool(t.ms, "active"), "every track ended: inactive");
  fail_unless_equals_int(t.active_notifies, 1);
  fail_unless_equals_int(t.ended.count, 2);
}
GST_END_TEST;

/* MS-3: the stream is active while one of its tracks has not ended, however
 * the others ended (EOS, stop()); a live track added later makes it active
 * again, and its release leaves only ended tracks. */
GST_START_TEST(test_active_while_a_track_lives)
{
  EndedTracks t;
  fail_unless(wc_get_bool(t.ms, "active"), "two live tracks: active");
  fail_unless(gst_harness_push_event(t.hv, gst_event_new_eos()));
  fail_unless(wc_get_bool(t.ms, "active"), "the audio track is still live");
  g_signal_emit_by_name(t.atrack, "stop");
  fail_if(wc_get_bool(t.ms, "active"), "every track ended (EOS, stop): inactive");
  fail_unless_equals_int(t.active_notifies, 1);

  GstPad *sink = gst_element_request_pad_simple(t.ms, "video_sink_%u");
  fail_unless(sink != nullptr);
  fail_unless(wc_get_bool(t.ms, "active"), "a new live track: active again");
  fail_unless_equals_int(t.active_notifies, 2);
  gst_element_release_request_pad(t.ms, sink);
  gst_object_unref(sink);
  fail_if(wc_get_bool(t.ms, "active"), "only ended tracks left: inactive");
  fail_unless_equals_int(t.active_notifies, 3);
}
GST_END_TEST;

static GstStreamCollection *pull_collection(GstHarness *h)
{
  GstEvent *ev;
  GstStreamCollection *collection = nullptr;
  while ((ev = gst_harness_try_pull_event(h))) {
    if (GST_EVENT_TYPE(ev) == GST_EVENT_STREAM_COLLECTION) {
      gst_clear_object(&collection);
      gst_event_parse_stream_collection(ev, &collection);
    }
    gst_event_unref(ev);
  }
  return collection;
}

GST_START_TEST(test_stream_start_and_collection)
{
  GstElement *ms = ms_make_bin();
  g_object_set(ms, "id", "stream-A", NULL);
  GstBus *bus = gst_bus_new();
  gst_element_set_bus(ms, bus);
  GstHarness *hv = video_harness(ms, 0, "video/x-raw,format=BGRx,width=8,height=8,framerate=30/1");
  GstHarness *ha =
      audio_harness(ms, 0, "audio/x-raw,format=S16LE,rate=8000,channels=1,layout=interleaved");
  GstPad *vtrack = ms_track_pad(ms, "video_0");
  GstPad *atrack = ms_track_pad(ms, "audio_0");
  std::string vid = wc_get_string(vtrack, "track-id");
  std::string aid = wc_get_string(atrack, "track-id");

  /* STREAM_START: stream-id = track id, the track's GstStream, one group. */
  guint groups[2];
  GstHarness *hs[2] = {hv, ha};
  const gchar *ids[2] = {vid.c_str(), aid.c_str()};
  for (int i = 0; i < 2; i++) {
    GstEvent *ev = gst_pad_get_sticky_event(hs[i]->sinkpad, GST_EVENT_STREAM_START, 0);
    fail_unless(ev != nullptr);
    const gchar *sid = nullptr;
    gst_event_parse_stream_start(ev, &sid);
    fail_unless_equals_string(sid, ids[i]);
    fail_unless(gst_event_parse_group_id(ev, &groups[i]));
    GstStream *stream = nullptr;
    gst_event_parse_stream(ev, &stream);
    fail_unless(stream != nullptr);
    fail_unless_equals_string(gst_stream_get_stream_id(stream), ids[i]);
    fail_unless_equals_int(gst_stream_get_stream_type(stream),
                           i == 0 ? GST_STREAM_TYPE_VIDEO : GST_STREAM_TYPE_AUDIO);
    GstCaps *caps = gst_stream_get_caps(stream);
    fail_unless(caps != nullptr, "the stream knows its caps");
    gst_caps_unref(caps);
    gst_object_unref(stream);
    gst_event_unref(ev);
  }
  fail_unless_equals_int(groups[0], groups[1]);

  /* The video track carried a collection of one, then (on its next data) the
   * collection of two. */
  gst_harness_push(hv, filled_buffer(256, 1, 0, 1));
  gst_buffer_unref(gst_harness_pull(hv));
  GstStreamCollection *c = pull_collection(hv);
  fail_unless(c != nullptr);
  fail_unless_equals_string(gst_stream_collection_get_upstream_id(c), "stream-A");
  fail_unless_equals_int(gst_stream_collection_get_size(c), 2);
  bool seen_v = false, seen_a = false;
  for (guint i = 0; i < 2; i++) {
    const gchar *sid = gst_stream_get_stream_id(gst_stream_collection_get_stream(c, i));
    seen_v |= g_str_equal(sid, vid.c_str());
    seen_a |= g_str_equal(sid, aid.c_str());
  }
  fail_unless(seen_v && seen_a);
  gst_object_unref(c);

  /* Bus: a collection per change of the track set (2 adds). */
  int collections = 0;
  GstMessage *msg;
  GstStreamCollection *last = nullptr;
  while ((msg = gst_bus_pop_filtered(bus, GST_MESSAGE_STREAM_COLLECTION))) {
    collections++;
    gst_clear_object(&last);
    gst_message_parse_stream_collection(msg, &last);
    gst_message_unref(msg);
  }
  fail_unless_equals_int(collections, 2);
  fail_unless_equals_int(gst_stream_collection_get_size(last), 2);
  gst_object_unref(last);

  /* A collection from upstream (a source's own) does not go through: the
   * stream's replaces it. */
  GstStreamCollection *foreign = gst_stream_collection_new("upstream-source");
  gst_stream_collection_add_stream(
      foreign, gst_stream_new("foreign", nullptr, GST_STREAM_TYPE_VIDEO, GST_STREAM_FLAG_NONE));
  fail_unless(gst_harness_push_event(hv, gst_event_new_stream_collection(foreign)));
  gst_object_unref(foreign);
  gst_harness_push(hv, filled_buffer(256, 1, 1, 1));
  gst_buffer_unref(gst_harness_pull(hv));
  c = pull_collection(hv);
  fail_unless(c == nullptr, "no upstream collection downstream");
  c = GST_STREAM_COLLECTION(nullptr);
  GstEvent *sticky = gst_pad_get_sticky_event(hv->sinkpad, GST_EVENT_STREAM_COLLECTION, 0);
  fail_unless(sticky != nullptr);
  gst_event_parse_stream_collection(sticky, &c);
  fail_unless_equals_string(gst_stream_collection_get_upstream_id(c), "stream-A");
  gst_object_unref(c);
  gst_event_unref(sticky);

  /* Removing the audio track: a collection of one on the bus and downstream. */
  gst_object_unref(atrack);
  gst_harness_teardown(ha);
  msg = gst_bus_pop_filtered(bus, GST_MESSAGE_STREAM_COLLECTION);
  fail_unless(msg != nullptr);
  gst_message_parse_stream_collection(msg, &last);
  fail_unless_equals_int(gst_stream_collection_get_size(last), 1);
  gst_object_unref(last);
  gst_message_unref(msg);
  gst_harness_push(hv, filled_buffer(256, 1, 1, 1));
  gst_buffer_unref(gst_harness_pull(hv));
  c = pull_collection(hv);
  fail_unless(c != nullptr);
  fail_unless_equals_int(gst_stream_collection_get_size(c), 1);
  gst_object_unref(c);

  gst_object_unref(vtrack);
  gst_harness_teardown(hv);
  gst_element_set_bus(ms, nullptr);
  gst_object_unref(bus);
  gst_object_unref(ms);
}
GST_END_TEST;

/* ---------------------------------------------------------------------------- */

GST_START_TEST(test_gst_launch_linking)
{
  /* Sink side first, then the track pad by name; then the other order (the
   * track pad link waits for the pad to appear). */
  const gchar *lines[] = {
      "videotestsrc num-buffers=10 ! ms. audiotestsrc num-buffers=10 ! ms. "
      "ms.video_0 ! fakesink ms.audio_0 ! fakesink mediastreambin name=ms",
      "mediastreambin name=ms ms.video_0 ! fakesink ms.audio_0 ! fakesink "
      "videotestsrc num-buffers=10 ! ms. audiotestsrc num-buffers=10 ! ms.",
  };
  for (const gchar *line : lines) {
    GError *err = nullptr;
    GstElement *pipeline = gst_parse_launch(line, &err);
    fail_unless(pipeline != nullptr && err == nullptr, "%s", err ? err->message : "");
    wc_run_to_eos(pipeline, 10);
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(pipeline);
  }
}
GST_END_TEST;

GST_START_TEST(test_state_cycles)
{
  GstElement *pipeline = gst_parse_launch(
      "videotestsrc is-live=true ! video/x-raw,width=64,height=48 ! ms.video_sink_0 "
      "audiotestsrc is-live=true ! ms.audio_sink_0 "
      "ms.video_0 ! fakesink async=false ms.audio_0 ! fakesink async=false mediastreambin name=ms",
      nullptr);
  fail_unless(pipeline != nullptr);
  const GstState order[] = {GST_STATE_READY,   GST_STATE_PLAYING, GST_STATE_NULL,
                            GST_STATE_PAUSED,  GST_STATE_PLAYING, GST_STATE_READY,
                            GST_STATE_PLAYING, GST_STATE_PAUSED,  GST_STATE_NULL};
  for (int round = 0; round < 3; round++) {
    for (GstState s : order) {
      fail_if(gst_element_set_state(pipeline, s) == GST_STATE_CHANGE_FAILURE);
      fail_if(gst_element_get_state(pipeline, nullptr, nullptr, 5 * GST_SECOND) ==
              GST_STATE_CHANGE_FAILURE);
    }
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
}
GST_END_TEST;

/* After EOS and a restart (READY then PLAYING), tracks are live again. */
GST_START_TEST(test_restart_after_eos)
{
  GstElement *pipeline = gst_parse_launch(
      "videotestsrc num-buffers=3 ! ms. ms.video_0 ! fakesink mediastreambin name=ms", nullptr);
  GstElement *ms = gst_bin_get_by_name(GST_BIN(pipeline), "ms");
  GstPad *track = ms_track_pad(ms, "video_0");
  for (int i = 0; i < 2; i++) {
    wc_run_to_eos(pipeline, 10);
    gst_element_set_state(pipeline, GST_STATE_NULL);
    std::string state = wc_get_string(track, "ready-state");
    fail_unless_equals_string(state.c_str(), "live"); /* a new run starts live */
    fail_unless(wc_get_bool(ms, "active"));
  }
  gst_object_unref(track);
  gst_object_unref(ms);
  gst_object_unref(pipeline);
}
GST_END_TEST;

/* Video in another memory: no black frame can be made there, so a disabled
 * track says "nothing here" with a GAP event of the buffer's time instead. */
GST_START_TEST(test_disabled_other_memory_sends_gap)
{
  GstElement *ms = ms_make_bin();
  GstHarness *h = video_harness(
      ms, 0, "video/x-raw(memory:OtherMemory),format=NV12,width=16,height=16,framerate=30/1");
  GstPad *track = ms_track_pad(ms, "video_0");
  g_object_set(track, "enabled", FALSE, NULL);
  while (GstEvent *ev = gst_harness_try_pull_event(h))
    gst_event_unref(ev);
  fail_unless_equals_int(
      gst_harness_push(h, filled_buffer(16 * 16 * 3 / 2, 9, GST_SECOND, GST_SECOND / 30)),
      GST_FLOW_OK);
  fail_unless(gst_harness_try_pull(h) == nullptr, "no media leaves a disabled track");
  GstEvent *gap = nullptr;
  while (GstEvent *ev = gst_harness_try_pull_event(h)) {
    if (GST_EVENT_TYPE(ev) == GST_EVENT_GAP && !gap)
      gap = ev;
    else
      gst_event_unref(ev);
  }
  fail_unless(gap != nullptr);
  GstClockTime ts, dur;
  gst_event_parse_gap(gap, &ts, &dur);
  fail_unless_equals_uint64(ts, GST_SECOND);
  fail_unless_equals_uint64(dur, GST_SECOND / 30);
  gst_event_unref(gap);
  /* Enabled again: the buffer itself. */
  g_object_set(track, "enabled", TRUE, NULL);
  GstBuffer *in = filled_buffer(16 * 16 * 3 / 2, 9, 2 * GST_SECOND, 1);
  GstBuffer *out = gst_harness_push_and_pull(h, gst_buffer_ref(in));
  fail_unless(out == in);
  gst_buffer_unref(out);
  gst_buffer_unref(in);
  gst_object_unref(track);
  gst_harness_teardown(h);
  gst_object_unref(ms);
}
GST_END_TEST;

/* Planar audio with its GstAudioMeta: silence in every plane, meta kept. */
GST_START_TEST(test_disabled_silence_planar)
{
  GstElement *ms = ms_make_bin();
  GstHarness *h =
      audio_harness(ms, 0, "audio/x-raw,format=F32LE,rate=48000,channels=2,layout=non-interleaved");
  GstPad *track = ms_track_pad(ms, "audio_0");
  g_object_set(track, "enabled", FALSE, NULL);
  GstAudioInfo info;
  gst_audio_info_set_format(&info, GST_AUDIO_FORMAT_F32LE, 48000, 2, nullptr);
  info.layout = GST_AUDIO_LAYOUT_NON_INTERLEAVED;
  GstBuffer *in = filled_buffer(480 * 2 * 4, 0x3c, 0, GST_MSECOND * 10);
  gst_buffer_add_audio_meta(in, &info, 480, nullptr);
  GstBuffer *out = gst_harness_push_and_pull(h, in);
  GstAudioMeta *meta = gst_buffer_get_audio_meta(out);
  fail_unless(meta != nullptr, "the planar layout is described");
  fail_unless_equals_int(meta->samples, 480);
  GstAudioBuffer abuf;
  fail_unless(gst_audio_buffer_map(&abuf, &info, out, GST_MAP_READ));
  for (int c = 0; c < 2; c++) {
    const gfloat *plane = static_cast<const gfloat *>(abuf.planes[c]);
    for (int i = 0; i < 480; i++)
      fail_unless(plane[i] == 0.0f, "channel %d sample %d", c, i);
  }
  gst_audio_buffer_unmap(&abuf);
  gst_buffer_unref(out);
  gst_object_unref(track);
  gst_harness_teardown(h);
  gst_object_unref(ms);
}
GST_END_TEST;

static gboolean draw_something(GstElement *, gpointer, guint64, gpointer)
{
  return TRUE;
}

/* canvascapturesrc mutes its track when the canvas stops being origin-clean
 * (CC-3): the track pad follows (MS-7). */
GST_START_TEST(test_canvas_mute_reaches_track)
{
  GstElementFactory *f = gst_element_factory_find("canvascapturesrc");
  if (!f) {
    GST_WARNING("canvascapturesrc not available: skipped");
    return;
  }
  gst_object_unref(f);
  GstElement *pipeline = gst_parse_launch(
      "canvascapturesrc name=canvas frame-rate=30 ! ms. ms.video_0 ! fakesink sync=false "
      "mediastreambin name=ms",
      nullptr);
  GstElement *canvas = gst_bin_get_by_name(GST_BIN(pipeline), "canvas");
  g_signal_connect(canvas, "draw", G_CALLBACK(draw_something), nullptr);
  GstElement *ms = gst_bin_get_by_name(GST_BIN(pipeline), "ms");
  GstPad *track = ms_track_pad(ms, "video_0");
  int mutes = 0, unmutes = 0;
  g_signal_connect(track, "mute", G_CALLBACK(on_pad_signal), &mutes);
  g_signal_connect(track, "unmute", G_CALLBACK(on_pad_signal), &unmutes);
  fail_if(gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE);
  fail_if(gst_element_get_state(pipeline, nullptr, nullptr, 5 * GST_SECOND) ==
          GST_STATE_CHANGE_FAILURE);
  std::string label = wc_get_string(track, "label");
  fail_unless_equals_string(label.c_str(), "canvas");

  g_object_set(canvas, "origin-clean", FALSE, NULL);
  wc_wait_until([&] { return wc_get_bool(track, "muted"); }, 5000, 10);
  fail_unless(wc_get_bool(track, "muted"), "the canvas's mute reached the track");
  g_object_set(canvas, "origin-clean", TRUE, NULL);
  wc_wait_until([&] { return !wc_get_bool(track, "muted"); }, 5000, 10);
  fail_if(wc_get_bool(track, "muted"));
  fail_unless_equals_int(mutes, 1);
  fail_unless_equals_int(unmutes, 1);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(track);
  gst_object_unref(ms);
  gst_object_unref(canvas);
  gst_object_unref(pipeline);
}
GST_END_TEST;

struct Toggler {
  GstPad *track;
  std::atomic<bool> stop{false};
  int toggles = 0;
};

static gpointer toggle_enabled(gpointer data)
{
  auto *t = static_cast<Toggler *>(data);
  while (!t->stop.load()) {
    g_object_set(t->track, "enabled", t->toggles % 2 == 0 ? FALSE : TRUE, NULL);
    t->toggles++;
  }
  return nullptr;
}

/* enabled switched from another thread while buffers flow: every output is
 * either the buffer itself or a whole black frame, never a mix. */
GST_START_TEST(test_enabled_toggled_concurrently)
{
  GstElement *ms = ms_make_bin();
  GstHarness *h =
      video_harness(ms, 0, "video/x-raw,format=GRAY8,width=64,height=64,framerate=30/1");
  Toggler t;
  t.track = ms_track_pad(ms, "video_0");
  GThread *thread = g_thread_new("toggler", toggle_enabled, &t);
  int media = 0, black = 0;
  for (int i = 0; i < 2000; i++) {
    GstBuffer *in = filled_buffer(64 * 64, 0x77, i, 1);
    GstBuffer *out = gst_harness_push_and_pull(h, gst_buffer_ref(in));
    fail_unless(out != nullptr);
    fail_unless_equals_uint64(GST_BUFFER_PTS(out), (guint64)i);
    if (out == in) {
      media++;
    } else {
      /* one assertion per buffer, not per byte: each check assertion is
       * recorded, which made this test take many minutes under valgrind */
      GstMapInfo map;
      gst_buffer_map(out, &map, GST_MAP_READ);
      gsize j = 0;
      while (j < map.size && map.data[j] == 0)
        j++;
      fail_unless(j == map.size, "byte %d of buffer %d is not black", (int)j, i);
      gst_buffer_unmap(out, &map);
      black++;
    }
    gst_buffer_unref(out);
    gst_buffer_unref(in);
    if (i % 50 == 0)
      g_usleep(200); /* let the toggler run in between */
  }
  t.stop = true;
  g_thread_join(thread);
  GST_INFO("%d media, %d black, %d toggles", media, black, t.toggles);
  fail_unless(t.toggles > 0);
  gst_object_unref(t.track);
  gst_harness_teardown(h);
  gst_object_unref(ms);
}
GST_END_TEST;

/* Releasing a track whose source still pushes as fast as it can: release
 * returns (no deadlock), the track is gone, the source just stops (flushing
 * or not-linked, as with any request pad). */
GST_START_TEST(test_release_while_source_pushes)
{
  for (int round = 0; round < 20; round++) {
    GstElement *pipeline = gst_parse_launch(
        "videotestsrc ! video/x-raw,width=16,height=16 ! ms.video_sink_0 "
        "audiotestsrc ! ms.audio_sink_0 "
        "ms.video_0 ! fakesink sync=false ms.audio_0 ! fakesink sync=false mediastreambin name=ms",
        nullptr);
    GstElement *ms = gst_bin_get_by_name(GST_BIN(pipeline), "ms");
    fail_if(gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE);
    fail_if(gst_element_get_state(pipeline, nullptr, nullptr, 5 * GST_SECOND) ==
            GST_STATE_CHANGE_FAILURE);
    g_usleep(round * 500);
    for (const gchar *name : {"video_sink_0", "audio_sink_0"}) {
      GstPad *sink = gst_element_get_static_pad(ms, name);
      gst_element_release_request_pad(ms, sink);
      gst_object_unref(sink);
    }
    fail_unless_equals_int(GST_ELEMENT(ms)->numpads, 0);
    fail_if(wc_get_bool(ms, "active"));
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(ms);
    gst_object_unref(pipeline);
  }
}
GST_END_TEST;

static gpointer request_release_loop(gpointer data)
{
  GstElement *ms = GST_ELEMENT(data);
  for (int i = 0; i < 50; i++) {
    GstPad *sink = gst_element_request_pad_simple(ms, i % 2 ? "audio_sink_%u" : "video_sink_%u");
    fail_unless(sink != nullptr);
    /* Its track pad is there, with the same index. */
    guint index = 0;
    const gchar *name = GST_PAD_NAME(sink);
    fail_unless(sscanf(strrchr(name, '_') + 1, "%u", &index) == 1);
    g_autofree gchar *track_name = g_strdup_printf(i % 2 ? "audio_%u" : "video_%u", index);
    GstPad *track = gst_element_get_static_pad(ms, track_name);
    fail_unless(track != nullptr, "%s", track_name);
    gst_object_unref(track);
    gst_element_release_request_pad(ms, sink);
    gst_object_unref(sink);
  }
  return nullptr;
}

/* Tracks requested and released from several threads at once. */
GST_START_TEST(test_concurrent_requests)
{
  GstElement *ms = ms_make_bin();
  Counter added, removed;
  g_signal_connect(ms, "track-added", G_CALLBACK(on_track_signal), &added);
  g_signal_connect(ms, "track-removed", G_CALLBACK(on_track_signal), &removed);
  GThread *threads[4];
  for (GThread *&t : threads)
    t = g_thread_new("requester", request_release_loop, ms);
  for (GThread *t : threads)
    g_thread_join(t);
  fail_unless_equals_int(GST_ELEMENT(ms)->numpads, 0);
  fail_if(wc_get_bool(ms, "active"));
  gst_object_unref(ms);
}
GST_END_TEST;

/* --- MS-11: msid on webrtcbin sink pads ------------------------------------- */

static gchar *pad_msid(GstPad *pad)
{
  gchar *msid = nullptr;
  g_object_get(pad, "msid", &msid, NULL);
  return msid;
}

GST_START_TEST(test_msid_through_encoders)
{
  WC_REQUIRE_ELEMENTS("webrtcbin");
  GError *err = nullptr;
  GstElement *pipeline = gst_parse_launch(
      "videotestsrc ! ms. audiotestsrc ! ms. mediastreambin name=ms id=stream-X "
      "ms.video_0 ! queue ! videoconvert ! vp8enc ! rtpvp8pay ! capsfilter ! webrtcbin name=w "
      "ms.audio_0 ! audioconvert ! audioresample ! opusenc ! rtpopuspay ! queue ! w.",
      &err);
  fail_unless(pipeline != nullptr, "%s", err ? err->message : "");
  GstElement *w = gst_bin_get_by_name(GST_BIN(pipeline), "w");
  int n = 0;
  GstIterator *it = gst_element_iterate_sink_pads(w);
  GValue v = G_VALUE_INIT;
  while (gst_iterator_next(it, &v) == GST_ITERATOR_OK) {
    g_autofree gchar *msid = pad_msid(GST_PAD(g_value_get_object(&v)));
    fail_unless_equals_string(msid, "stream-X");
    g_value_reset(&v);
    n++;
  }
  g_value_unset(&v);
  gst_iterator_free(it);
  fail_unless_equals_int(n, 2);

  /* A new id before start reaches the pads too. */
  GstElement *ms = gst_bin_get_by_name(GST_BIN(pipeline), "ms");
  g_object_set(ms, "id", "stream-Y", NULL);
  GstPad *wpad = gst_element_get_static_pad(w, "sink_0");
  g_autofree gchar *msid = pad_msid(wpad);
  fail_unless_equals_string(msid, "stream-Y");
  gst_object_unref(wpad);
  gst_object_unref(ms);
  gst_object_unref(w);
  gst_object_unref(pipeline);
}
GST_END_TEST;

GST_START_TEST(test_msid_linked_later)
{
  WC_REQUIRE_ELEMENTS("webrtcbin");
  GstElement *pipeline = gst_pipeline_new(nullptr);
  GstElement *ms = ms_make_bin();
  GstElement *queue = gst_element_factory_make("queue", nullptr);
  GstElement *enc = gst_element_factory_make("vp8enc", nullptr);
  GstElement *pay = gst_element_factory_make("rtpvp8pay", nullptr);
  GstElement *w = gst_element_factory_make("webrtcbin", nullptr);
  fail_unless(queue && enc && pay && w);
  gst_bin_add_many(GST_BIN(pipeline), ms, queue, enc, pay, w, NULL);
  g_object_set(ms, "id", "late", NULL);

  GstPad *sink = gst_element_request_pad_simple(ms, "video_sink_%u");
  GstPad *track = ms_track_pad(ms, "video_0");
  GstPad *qsink = gst_element_get_static_pad(queue, "sink");
  fail_unless_equals_int(gst_pad_link(track, qsink), GST_PAD_LINK_OK);
  gst_object_unref(qsink);
  /* Then the rest of the path, piece by piece, the webrtcbin pad last. */
  fail_unless(gst_element_link(queue, enc));
  GstPad *wpad = gst_element_request_pad_simple(w, "sink_%u");
  gchar *msid = pad_msid(wpad);
  fail_unless(msid == nullptr, "not on the path yet");
  g_free(msid);
  GstPad *paysrc = gst_element_get_static_pad(pay, "src");
  fail_unless_equals_int(gst_pad_link(paysrc, wpad), GST_PAD_LINK_OK);
  msid = pad_msid(wpad);
  fail_unless(msid == nullptr, "the path is still broken between vp8enc and rtpvp8pay");
  g_free(msid);
  fail_unless(gst_element_link(enc, pay));
  msid = pad_msid(wpad);
  fail_unless_equals_string(msid, "late");
  g_free(msid);

  gst_object_unref(paysrc);
  gst_object_unref(wpad);
  gst_object_unref(track);
  gst_element_release_request_pad(ms, sink);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
}
GST_END_TEST;

/* --- add / remove tracks while PLAYING --------------------------------------- */

struct FlowWatch {
  GMutex lock;
  GCond cond;
  guint64 buffers = 0;
  guint64 next_offset = 0;
  guint64 gaps = 0; /* offsets skipped: lost buffers */
};

static GstPadProbeReturn count_probe(GstPad *, GstPadProbeInfo *info, gpointer user_data)
{
  auto *w = static_cast<FlowWatch *>(user_data);
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
  g_mutex_lock(&w->lock);
  if (w->buffers > 0 && GST_BUFFER_OFFSET(buf) != w->next_offset)
    w->gaps++;
  w->next_offset = GST_BUFFER_OFFSET(buf) + 1;
  w->buffers++;
  g_cond_broadcast(&w->cond);
  g_mutex_unlock(&w->lock);
  return GST_PAD_PROBE_OK;
}

static bool wait_buffers(FlowWatch *w, guint64 count)
{
  gint64 end = g_get_monotonic_time() + 10 * G_TIME_SPAN_SECOND;
  g_mutex_lock(&w->lock);
  bool ok = true;
  while (w->buffers < count && ok)
    ok = g_cond_wait_until(&w->cond, &w->lock, end);
  g_mutex_unlock(&w->lock);
  return ok || w->buffers >= count;
}

GST_START_TEST(test_add_remove_while_playing)
{
  GstElement *pipeline = gst_parse_launch(
      "videotestsrc is-live=true ! video/x-raw,width=32,height=24,framerate=200/1 ! "
      "ms.video_sink_0 ms.video_0 ! fakesink name=vsink sync=false mediastreambin name=ms",
      nullptr);
  fail_unless(pipeline != nullptr);
  GstElement *ms = gst_bin_get_by_name(GST_BIN(pipeline), "ms");
  GstElement *vsink = gst_bin_get_by_name(GST_BIN(pipeline), "vsink");
  FlowWatch steady;
  g_mutex_init(&steady.lock);
  g_cond_init(&steady.cond);
  GstPad *vpad = gst_element_get_static_pad(vsink, "sink");
  gst_pad_add_probe(vpad, GST_PAD_PROBE_TYPE_BUFFER, count_probe, &steady, nullptr);
  gst_object_unref(vpad);
  Counter added, removed;
  g_signal_connect(ms, "track-added", G_CALLBACK(on_track_signal), &added);
  g_signal_connect(ms, "track-removed", G_CALLBACK(on_track_signal), &removed);

  fail_if(gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE);
  fail_unless(wait_buffers(&steady, 5));

  const int cycles = 100;
  for (int i = 0; i < cycles; i++) {
    /* Alternate audio and video tracks. */
    const bool audio = i % 2 == 0;
    GstElement *src = gst_element_factory_make(audio ? "audiotestsrc" : "videotestsrc", nullptr);
    g_object_set(src, "is-live", TRUE, NULL);
    if (audio)
      g_object_set(src, "samplesperbuffer", 96, NULL);
    GstElement *sink = gst_element_factory_make("fakesink", nullptr);
    g_object_set(sink, "sync", FALSE, "async", FALSE, NULL);
    gst_bin_add_many(GST_BIN(pipeline), src, sink, NULL);

    GstPad *mssink = gst_element_request_pad_simple(ms, audio ? "audio_sink_%u" : "video_sink_%u");
    fail_unless(mssink != nullptr);
    g_autofree gchar *track_name = g_strdup(GST_PAD_NAME(mssink));
    /* "video_sink_N" -> "video_N" */
    gchar *p = strstr(track_name, "_sink");
    memmove(p, p + 5, strlen(p + 5) + 1);
    GstPad *track = ms_track_pad(ms, track_name);
    GstPad *srcpad = gst_element_get_static_pad(src, "src");
    GstPad *sinkpad = gst_element_get_static_pad(sink, "sink");
    fail_unless_equals_int(gst_pad_link(srcpad, mssink), GST_PAD_LINK_OK);
    fail_unless_equals_int(gst_pad_link(track, sinkpad), GST_PAD_LINK_OK);
    FlowWatch w;
    g_mutex_init(&w.lock);
    g_cond_init(&w.cond);
    gst_pad_add_probe(sinkpad, GST_PAD_PROBE_TYPE_BUFFER, count_probe, &w, nullptr);
    fail_unless(gst_element_sync_state_with_parent(sink));
    fail_unless(gst_element_sync_state_with_parent(src));
    fail_unless(wait_buffers(&w, 2), "cycle %d: the new track flows", i);

    /* Remove: stop the source, release the track, drop the consumer. */
    gst_element_set_state(src, GST_STATE_NULL);
    gst_element_release_request_pad(ms, mssink);
    gst_element_set_state(sink, GST_STATE_NULL);
    gst_bin_remove_many(GST_BIN(pipeline), src, sink, NULL);
    fail_unless(GST_PAD_PEER(sinkpad) == nullptr);
    gst_object_unref(srcpad);
    gst_object_unref(sinkpad);
    gst_object_unref(track);
    gst_object_unref(mssink);
    g_mutex_clear(&w.lock);
    g_cond_clear(&w.cond);
  }
  fail_unless_equals_int(added.count, cycles);
  fail_unless_equals_int(removed.count, cycles);
  fail_unless_equals_int(GST_ELEMENT(ms)->numpads, 2);

  /* The steady track kept flowing, nothing lost on it. */
  guint64 before = steady.buffers;
  fail_unless(wait_buffers(&steady, before + 5));
  g_mutex_lock(&steady.lock);
  fail_unless_equals_uint64(steady.gaps, 0);
  g_mutex_unlock(&steady.lock);

  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(vsink);
  gst_object_unref(ms);
  gst_object_unref(pipeline);
  g_mutex_clear(&steady.lock);
  g_cond_clear(&steady.cond);
}
GST_END_TEST;

/* --- defects found by review: leaks, bins on the msid path, bad text ------- */

static void on_weak_gone(gpointer data, GObject *)
{
  (*static_cast<int *>(data))++;
}

/* MS-2: while the bin streams (PAUSED/PLAYING), a collection it replaced stays
 * alive until PAUSED->READY: a GstStreamCollection disposed on one thread while
 * a track's streaming thread tags one of its streams crashed in GStreamer 1.22
 * (the collection forwards its streams' notify). In NULL/READY it goes at once
 * (test_track_stream_freed). */
GST_START_TEST(test_replaced_collection_kept_while_streaming)
{
  GstElement *ms = ms_make_bin();
  GstBus *bus = gst_bus_new();
  gst_element_set_bus(ms, bus);
  fail_if(gst_element_set_state(ms, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE);
  int gone = 0;
  GstPad *first = gst_element_request_pad_simple(ms, "video_sink_%u");
  fail_unless(first != nullptr);
  GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_STREAM_COLLECTION);
  fail_unless(msg != nullptr);
  GstStreamCollection *collection = nullptr;
  gst_message_parse_stream_collection(msg, &collection);
  g_object_weak_ref(G_OBJECT(collection), on_weak_gone, &gone);
  gst_object_unref(collection);
  gst_message_unref(msg);
  GstPad *second = gst_element_request_pad_simple(ms, "audio_sink_%u"); /* replaces it */
  fail_unless(second != nullptr);
  gst_bus_set_flushing(bus, TRUE);
  gst_bus_set_flushing(bus, FALSE);
  fail_unless_equals_int(gone, 0);
  gst_element_set_state(ms, GST_STATE_READY);
  fail_unless_equals_int(gone, 1);
  gst_element_release_request_pad(ms, first);
  gst_element_release_request_pad(ms, second);
  gst_object_unref(first);
  gst_object_unref(second);
  gst_element_set_state(ms, GST_STATE_NULL);
  gst_element_set_bus(ms, nullptr);
  gst_object_unref(bus);
  gst_object_unref(ms);
}
GST_END_TEST;

/* A track's GstStream goes with the track: requesting and releasing tracks
 * leaves none alive, nor does a track that carried data once the bin goes. */
GST_START_TEST(test_track_stream_freed)
{
  GstElement *ms = ms_make_bin();
  GstBus *bus = gst_bus_new();
  gst_element_set_bus(ms, bus);
  int gone = 0;
  for (int i = 0; i < 10; i++) {
    GstPad *sink = gst_element_request_pad_simple(ms, i % 2 ? "audio_sink_%u" : "video_sink_%u");
    fail_unless(sink != nullptr);
    GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_STREAM_COLLECTION);
    fail_unless(msg != nullptr);
    GstStreamCollection *collection = nullptr;
    gst_message_parse_stream_collection(msg, &collection);
    fail_unless_equals_int(gst_stream_collection_get_size(collection), 1);
    g_object_weak_ref(G_OBJECT(gst_stream_collection_get_stream(collection, 0)), on_weak_gone,
                      &gone);
    gst_object_unref(collection);
    gst_message_unref(msg);
    gst_element_release_request_pad(ms, sink);
    gst_object_unref(sink);
    gst_bus_set_flushing(bus, TRUE); /* drops the removal's collection */
    gst_bus_set_flushing(bus, FALSE);
    fail_unless_equals_int(gone, i + 1);
  }

  GstHarness *h = video_harness(ms, 0, "video/x-raw,format=BGRx,width=8,height=8,framerate=30/1");
  gst_harness_push(h, filled_buffer(8 * 8 * 4, 1, 0, 1));
  GstEvent *ev = gst_pad_get_sticky_event(h->sinkpad, GST_EVENT_STREAM_START, 0);
  fail_unless(ev != nullptr);
  GstStream *stream = nullptr;
  gst_event_parse_stream(ev, &stream);
  fail_unless(stream != nullptr);
  g_object_weak_ref(G_OBJECT(stream), on_weak_gone, &gone);
  gst_object_unref(stream);
  gst_event_unref(ev);
  gst_harness_teardown(h);
  gst_element_set_bus(ms, nullptr);
  gst_object_unref(bus);
  gst_object_unref(ms);
  fail_unless_equals_int(gone, 11);
}
GST_END_TEST;

/* The id and label are text (the id also a token): bytes that are not UTF-8
 * are refused with a TypeError WARNING whose text and details are valid
 * UTF-8; the value is unchanged. */
GST_START_TEST(test_invalid_utf8_refused)
{
  GstElement *ms = ms_make_bin();
  GstBus *bus = gst_bus_new();
  gst_element_set_bus(ms, bus);
  g_object_set(ms, "id", "good-id", NULL);
  const gchar bad[] = {'a', '\xff', '\xfe', 'b', 0};
  g_object_set(ms, "id", bad, NULL); /* in NULL: refused as text */
  GstHarness *h = video_harness(ms, 0, "video/x-raw,format=BGRx,width=8,height=8,framerate=30/1");
  GstPad *track = ms_track_pad(ms, "video_0");
  g_object_set(track, "label", "good label", NULL);
  int label_notifies = 0;
  g_signal_connect(track, "notify::label", G_CALLBACK(on_notify), &label_notifies);

  g_object_set(track, "label", bad, NULL);
  std::string id = wc_get_string(ms, "id");
  fail_unless_equals_string(id.c_str(), "good-id");
  std::string label = wc_get_string(track, "label");
  fail_unless_equals_string(label.c_str(), "good label");
  fail_unless_equals_int(label_notifies, 0);

  for (int i = 0; i < 2; i++) {
    GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING);
    fail_unless(msg != nullptr, "a warning for each refused value");
    GError *err = nullptr;
    gchar *debug = nullptr;
    gst_message_parse_warning(msg, &err, &debug);
    fail_unless(g_str_has_prefix(err->message, "TypeError: "), "%s", err->message);
    fail_unless(g_utf8_validate(err->message, -1, nullptr));
    fail_unless(!debug || g_utf8_validate(debug, -1, nullptr), "debug text is UTF-8");
    g_error_free(err);
    g_free(debug);
    gst_message_unref(msg);
  }

  /* The stream's title tag still carries the good label. */
  gst_harness_push(h, filled_buffer(8 * 8 * 4, 1, 0, 1));
  std::string title = stream_title(h->sinkpad);
  fail_unless_equals_string(title.c_str(), "good label");

  gst_object_unref(track);
  gst_harness_teardown(h);
  gst_element_set_bus(ms, nullptr);
  gst_object_unref(bus);
  gst_object_unref(ms);
}
GST_END_TEST;

/* Every webrtcbin sink pad in @pipeline's element @name has msid @expected. */
static void assert_webrtcbin_msid(GstElement *pipeline, const gchar *name, const gchar *expected,
                                  int pads)
{
  GstElement *w = gst_bin_get_by_name(GST_BIN(pipeline), name);
  fail_unless(w != nullptr);
  int n = 0;
  GstIterator *it = gst_element_iterate_sink_pads(w);
  GValue v = G_VALUE_INIT;
  while (gst_iterator_next(it, &v) == GST_ITERATOR_OK) {
    g_autofree gchar *msid = pad_msid(GST_PAD(g_value_get_object(&v)));
    fail_unless_equals_string(msid, expected);
    g_value_reset(&v);
    n++;
  }
  g_value_unset(&v);
  gst_iterator_free(it);
  gst_object_unref(w);
  fail_unless_equals_int(n, pads);
}

/* MS-11 through bins: webrtcbin inside a bin (gst-launch's "( ... )"), a bin
 * of encoders in front of webrtcbin, and a ghost pad whose target is set only
 * after the track was linked. */
GST_START_TEST(test_msid_through_bins)
{
  WC_REQUIRE_ELEMENTS("webrtcbin");
  const gchar *lines[] = {
      "videotestsrc ! ms. mediastreambin name=ms id=in-bin "
      "ms.video_0 ! ( queue ! vp8enc ! rtpvp8pay ! webrtcbin name=w )",
      "videotestsrc ! ms. audiotestsrc ! ms. mediastreambin name=ms id=before-bin "
      "ms.video_0 ! ( queue ! vp8enc ! rtpvp8pay ) ! webrtcbin name=w "
      "ms.audio_0 ! ( audioconvert ! ( opusenc ! rtpopuspay ) ) ! w.",
  };
  for (int i = 0; i < 2; i++) {
    GError *err = nullptr;
    GstElement *pipeline = gst_parse_launch(lines[i], &err);
    fail_unless(pipeline != nullptr && err == nullptr, "%s", err ? err->message : "");
    assert_webrtcbin_msid(pipeline, "w", i == 0 ? "in-bin" : "before-bin", i == 0 ? 1 : 2);
    gst_object_unref(pipeline);
  }

  /* A ghost pad with no target yet: the msid comes when the target is set. */
  GstElement *pipeline = gst_pipeline_new(nullptr);
  GstElement *ms = ms_make_bin();
  g_object_set(ms, "id", "late-target", NULL);
  GstElement *bin = gst_bin_new("sender");
  GstElement *queue = gst_element_factory_make("queue", nullptr);
  GstElement *enc = gst_element_factory_make("vp8enc", nullptr);
  GstElement *pay = gst_element_factory_make("rtpvp8pay", nullptr);
  GstElement *w = gst_element_factory_make("webrtcbin", "w");
  fail_unless(queue && enc && pay && w);
  gst_bin_add_many(GST_BIN(bin), queue, enc, pay, w, NULL);
  fail_unless(gst_element_link_many(queue, enc, pay, w, NULL));
  gst_bin_add_many(GST_BIN(pipeline), ms, bin, NULL);
  GstPad *ghost = gst_ghost_pad_new_no_target("sink", GST_PAD_SINK);
  gst_element_add_pad(bin, ghost);
  GstPad *sink = gst_element_request_pad_simple(ms, "video_sink_%u");
  GstPad *track = ms_track_pad(ms, "video_0");
  fail_unless_equals_int(gst_pad_link(track, ghost), GST_PAD_LINK_OK);
  GstPad *wpad = gst_element_get_static_pad(w, "sink_0");
  fail_unless(wpad != nullptr);
  gchar *msid = pad_msid(wpad);
  fail_unless(msid == nullptr, "no path yet");
  g_free(msid);
  GstPad *qsink = gst_element_get_static_pad(queue, "sink");
  fail_unless(gst_ghost_pad_set_target(GST_GHOST_PAD(ghost), qsink));
  msid = pad_msid(wpad);
  fail_unless_equals_string(msid, "late-target");
  g_free(msid);
  gst_object_unref(qsink);
  gst_object_unref(wpad);
  gst_object_unref(track);
  gst_element_release_request_pad(ms, sink);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
}
GST_END_TEST;

/* --- GStreamer contracts: EOS, restart, flush after EOS, state storms ------- */

/* EOS sent to the pipeline (gst-launch-1.0 -e): every track ends, the stream
 * goes inactive, the pipeline posts EOS and the muxer finalizes its file. */
GST_START_TEST(test_eos_sent_to_pipeline_finalizes_muxer)
{
  WC_REQUIRE_ELEMENTS("vp8enc", "opusenc", "webmmux", "matroskademux");
  g_autofree gchar *dir = g_dir_make_tmp("mediastreambin-XXXXXX", nullptr);
  g_autofree gchar *path = g_build_filename(dir, "stream.webm", NULL);
  g_autofree gchar *line = g_strdup_printf(
      "videotestsrc is-live=true ! video/x-raw,width=64,height=48,framerate=30/1 ! ms. "
      "audiotestsrc is-live=true ! ms. mediastreambin name=ms "
      "ms.video_0 ! queue ! vp8enc deadline=1 ! webmmux name=mux ! filesink location=%s "
      "ms.audio_0 ! queue ! audioconvert ! audioresample ! opusenc ! mux.",
      path);
  GstElement *pipeline = gst_parse_launch(line, nullptr);
  fail_unless(pipeline != nullptr);
  GstElement *ms = gst_bin_get_by_name(GST_BIN(pipeline), "ms");
  Counter ended;
  g_signal_connect(ms, "track-ended", G_CALLBACK(on_track_signal), &ended);
  fail_if(gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE);
  fail_if(gst_element_get_state(pipeline, nullptr, nullptr, 10 * GST_SECOND) ==
          GST_STATE_CHANGE_FAILURE);
  g_usleep(G_USEC_PER_SEC / 2);
  fail_unless(gst_element_send_event(pipeline, gst_event_new_eos()));
  GstBus *bus = gst_element_get_bus(pipeline);
  GstMessage *msg = gst_bus_timed_pop_filtered(
      bus, 30 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  fail_unless(msg != nullptr && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS, "EOS in time");
  gst_message_unref(msg);
  gst_object_unref(bus);
  fail_unless_equals_int(ended.count, 2);
  fail_if(wc_get_bool(ms, "active"));
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(ms);
  gst_object_unref(pipeline);

  /* Finalized: the file plays back to EOS. */
  g_autofree gchar *check = g_strdup_printf("filesrc location=%s ! matroskademux ! fakesink", path);
  GstElement *reader = gst_parse_launch(check, nullptr);
  wc_run_to_eos(reader, 10);
  gst_element_set_state(reader, GST_STATE_NULL);
  gst_object_unref(reader);
  g_unlink(path);
  g_rmdir(dir);
}
GST_END_TEST;

struct TrackCount {
  std::atomic<int> buffers{0};
};

static GstPadProbeReturn count_buffers(GstPad *, GstPadProbeInfo *, gpointer data)
{
  static_cast<TrackCount *>(data)->buffers++;
  return GST_PAD_PROBE_OK;
}

/* Run to the end, stop (NULL, READY, or PAUSED then on), run again: the same
 * buffers on every track, tracks live and not muted, the stream active. */
GST_START_TEST(test_run_again_gives_the_same)
{
  GstElement *pipeline =
      gst_parse_launch("videotestsrc num-buffers=12 ! video/x-raw,width=32,height=24 ! ms. "
                       "audiotestsrc num-buffers=9 ! ms. mediastreambin name=ms "
                       "ms.video_0 ! fakesink ms.audio_0 ! fakesink",
                       nullptr);
  fail_unless(pipeline != nullptr);
  GstElement *ms = gst_bin_get_by_name(GST_BIN(pipeline), "ms");
  GstPad *video = ms_track_pad(ms, "video_0");
  GstPad *audio = ms_track_pad(ms, "audio_0");
  TrackCount vcount, acount;
  gst_pad_add_probe(video, GST_PAD_PROBE_TYPE_BUFFER, count_buffers, &vcount, nullptr);
  gst_pad_add_probe(audio, GST_PAD_PROBE_TYPE_BUFFER, count_buffers, &acount, nullptr);
  const GstState stops[] = {GST_STATE_NULL, GST_STATE_READY, GST_STATE_NULL};
  for (int run = 0; run < 3; run++) {
    vcount.buffers = 0;
    acount.buffers = 0;
    if (run == 2) {
      /* A pause in the middle of the run changes nothing. */
      fail_if(gst_element_set_state(pipeline, GST_STATE_PAUSED) == GST_STATE_CHANGE_FAILURE);
      fail_if(gst_element_get_state(pipeline, nullptr, nullptr, 10 * GST_SECOND) ==
              GST_STATE_CHANGE_FAILURE);
    }
    fail_unless(gst_element_set_state(pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
    GstBus *bus = gst_element_get_bus(pipeline);
    GstMessage *msg = gst_bus_timed_pop_filtered(
        bus, 10 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    fail_unless(msg != nullptr && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS, "run %d: EOS", run);
    gst_message_unref(msg);
    gst_object_unref(bus);
    fail_unless_equals_int(vcount.buffers.load(), 12);
    fail_unless_equals_int(acount.buffers.load(), 9);
    fail_if(wc_get_bool(ms, "active"), "every track ended");
    fail_unless(gst_element_set_state(pipeline, stops[run]) != GST_STATE_CHANGE_FAILURE);
    for (GstPad *track : {video, audio}) {
      std::string state = wc_get_string(track, "ready-state");
      fail_unless_equals_string(state.c_str(), "live");
      fail_if(wc_get_bool(track, "muted"));
    }
    fail_unless(wc_get_bool(ms, "active"), "a new run starts active");
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(video);
  gst_object_unref(audio);
  gst_object_unref(ms);
  gst_object_unref(pipeline);
}
GST_END_TEST;

/* The GStreamer way to play again after EOS, a flushing seek, makes the
 * track live again (MS-8 "Ended and restart"); its next EOS ends it again. */
GST_START_TEST(test_flush_after_eos_revives_track)
{
  GstElement *ms = ms_make_bin();
  GstHarness *h = video_harness(ms, 0, "video/x-raw,format=BGRx,width=8,height=8,framerate=30/1");
  GstPad *track = ms_track_pad(ms, "video_0");
  Counter ended;
  g_signal_connect(ms, "track-ended", G_CALLBACK(on_track_signal), &ended);
  int state_notifies = 0;
  g_signal_connect(track, "notify::ready-state", G_CALLBACK(on_notify), &state_notifies);
  for (int round = 1; round <= 2; round++) {
    gst_harness_push(h, filled_buffer(8 * 8 * 4, 1, 0, 1));
    fail_unless(gst_harness_push_event(h, gst_event_new_eos()));
    std::string state = wc_get_string(track, "ready-state");
    fail_unless_equals_string(state.c_str(), "ended");
    fail_unless_equals_int(ended.count, round);
    fail_if(wc_get_bool(ms, "active"));
    fail_unless(gst_harness_push_event(h, gst_event_new_flush_start()));
    fail_unless(gst_harness_push_event(h, gst_event_new_flush_stop(TRUE)));
    GstSegment segment;
    gst_segment_init(&segment, GST_FORMAT_TIME);
    fail_unless(gst_harness_push_event(h, gst_event_new_segment(&segment)));
    state = wc_get_string(track, "ready-state");
    fail_unless_equals_string(state.c_str(), "live");
    fail_unless(wc_get_bool(ms, "active"));
    fail_unless_equals_int(state_notifies, 2 * round);
  }
  gst_object_unref(track);
  gst_harness_teardown(h);
  gst_object_unref(ms);
}
GST_END_TEST;

struct Storm {
  GstElement *pipeline;
  guint32 seed;
  int changes;
};

static gpointer storm_thread(gpointer data)
{
  auto *storm = static_cast<Storm *>(data);
  GRand *rand = g_rand_new_with_seed(storm->seed);
  const GstState states[] = {GST_STATE_NULL, GST_STATE_READY, GST_STATE_PAUSED, GST_STATE_PLAYING};
  for (int i = 0; i < storm->changes; i++) {
    gst_element_set_state(storm->pipeline, states[g_rand_int_range(rand, 0, 4)]);
    g_usleep(g_rand_int_range(rand, 0, 30000));
  }
  g_rand_free(rand);
  return nullptr;
}

/* Each new source pad gets a track and a fakesink, as an application would. */
static void link_new_source_pad(GstElement *, GstPad *pad, GstElement *pipeline)
{
  GstElement *ms = gst_bin_get_by_name(GST_BIN(pipeline), "ms");
  const bool video = g_str_has_prefix(GST_PAD_NAME(pad), "video");
  GstPad *sink = gst_element_request_pad_simple(ms, video ? "video_sink_%u" : "audio_sink_%u");
  if (sink) {
    gst_pad_link(pad, sink);
    g_autofree gchar *name = g_strdup(GST_PAD_NAME(sink));
    g_autofree gchar *src_name =
        g_strdup_printf("%s_%s", video ? "video" : "audio", strrchr(name, '_') + 1);
    GstPad *track = gst_element_get_static_pad(ms, src_name);
    GstElement *fakesink = gst_element_factory_make("fakesink", nullptr);
    g_object_set(fakesink, "sync", FALSE, "async", FALSE, NULL);
    gst_bin_add(GST_BIN(pipeline), fakesink);
    gst_element_sync_state_with_parent(fakesink);
    GstPad *fsink = gst_element_get_static_pad(fakesink, "sink");
    if (track)
      gst_pad_link(track, fsink);
    gst_object_unref(fsink);
    if (track)
      gst_object_unref(track);
    gst_object_unref(sink);
  }
  gst_object_unref(ms);
}

/* A source pad that goes takes its track with it (the peer sink pad is
 * released, as an application mirroring the source would). */
static void release_track_of_source_pad(GstElement *, GstPad *pad, GstElement *pipeline)
{
  GstPad *sink = gst_pad_get_peer(pad);
  if (!sink)
    return;
  GstElement *ms = gst_pad_get_parent_element(sink);
  if (ms) {
    gst_element_release_request_pad(ms, sink);
    gst_object_unref(ms);
  }
  gst_object_unref(sink);
}

/* Random state changes from two threads while live sources push into the
 * tracks (mediacapturesrc loop=true through pad-added and pad-removed, when
 * available, and live test sources): no crash, no deadlock, and the pipeline still stops. */
GST_START_TEST(test_state_storm_with_live_sources)
{
  bool have_media = wc_have_elements({"mediacapturesrc", "theoraenc", "vorbisenc", "oggmux"});
  g_autofree gchar *dir = g_dir_make_tmp("mediastreambin-XXXXXX", nullptr);
  g_autofree gchar *path = g_build_filename(dir, "av.ogg", NULL);
  std::string line = "videotestsrc is-live=true ! video/x-raw,width=32,height=24 ! ms. "
                     "audiotestsrc is-live=true ! ms. mediastreambin name=ms "
                     "ms.video_0 ! fakesink async=false ms.audio_0 ! fakesink async=false";
  if (have_media) {
    g_autofree gchar *make = g_strdup_printf(
        "videotestsrc num-buffers=15 ! video/x-raw,width=64,height=48,framerate=30/1 ! "
        "theoraenc ! oggmux name=mux ! filesink location=%s "
        "audiotestsrc num-buffers=20 ! audio/x-raw,rate=44100 ! vorbisenc ! mux.",
        path);
    GstElement *maker = gst_parse_launch(make, nullptr);
    wc_run_to_eos(maker, 20);
    gst_element_set_state(maker, GST_STATE_NULL);
    gst_object_unref(maker);
    g_autofree gchar *uri = gst_filename_to_uri(path, nullptr);
    line += std::string(" mediacapturesrc name=media loop=true uri=") + uri;
  }
  GstElement *pipeline = gst_parse_launch(line.c_str(), nullptr);
  fail_unless(pipeline != nullptr);
  GstElement *media = gst_bin_get_by_name(GST_BIN(pipeline), "media");
  if (media) {
    g_signal_connect(media, "pad-added", G_CALLBACK(link_new_source_pad), pipeline);
    g_signal_connect(media, "pad-removed", G_CALLBACK(release_track_of_source_pad), pipeline);
    gst_object_unref(media);
  }

  Storm a{pipeline, 1, 60}, b{pipeline, 2, 40};
  GThread *other = g_thread_new("storm", storm_thread, &b);
  storm_thread(&a);
  g_thread_join(other);
  fail_unless(gst_element_set_state(pipeline, GST_STATE_NULL) == GST_STATE_CHANGE_SUCCESS);
  gst_object_unref(pipeline);
  g_unlink(path);
  g_rmdir(dir);
}
GST_END_TEST;

/* --- MS-8 stop(), MS-10 capabilities ----------------------------------------- */

/* Pulls events of @h until an EOS (bounded: the harness waits 60 s at most). */
static bool pull_until_eos(GstHarness *h)
{
  GstEvent *ev;
  while ((ev = gst_harness_pull_event(h))) {
    bool eos = GST_EVENT_TYPE(ev) == GST_EVENT_EOS;
    gst_event_unref(ev);
    if (eos)
      return true;
  }
  return false;
}

GST_START_TEST(test_stop_ends_track)
{
  EndedTracks t;

  fail_unless_equals_int(gst_harness_push(t.hv, filled_buffer(256, 1, 0, 1)), GST_FLOW_OK);
  g_signal_emit_by_name(t.vtrack, "stop");
  std::string state = wc_get_string(t.vtrack, "ready-state");
  fail_unless_equals_string(state.c_str(), "ended");
  fail_unless_equals_int(t.state_notifies, 1);
  fail_unless(wc_get_bool(t.ms, "active"), "the audio track is still live (MS-3)");
  /* EOS after what went out before. */
  GstBuffer *out = gst_harness_pull(t.hv);
  fail_unless(out != nullptr);
  gst_buffer_unref(out);
  fail_unless(pull_until_eos(t.hv), "no EOS after stop()");
  /* Later data is dropped with OK (the source goes on for other tracks);
   * upstream's own EOS is not the track's end any more. */
  fail_unless_equals_int(gst_harness_push(t.hv, filled_buffer(256, 2, 1, 1)), GST_FLOW_OK);
  fail_unless(gst_harness_push_event(t.hv, gst_event_new_eos()));
  fail_unless_equals_int(gst_harness_buffers_in_queue(t.hv), 0);
  fail_unless_equals_int(gst_harness_events_in_queue(t.hv), 0);
  /* The spec: no ended event for the application's own stop. */
  fail_unless_equals_int(t.ended.count, 0);
  fail_unless_equals_int(ms_count_track_messages(t.bus, "ended"), 0);
  g_signal_emit_by_name(t.vtrack, "stop"); /* a second stop changes nothing */
  fail_unless_equals_int(t.state_notifies, 1);

  /* The other track is unaffected. */
  fail_unless_equals_int(gst_harness_push(t.ha, filled_buffer(16, 3, 0, 1)), GST_FLOW_OK);
  out = gst_harness_pull(t.ha);
  fail_unless(out != nullptr);
  gst_buffer_unref(out);
  state = wc_get_string(t.atrack, "ready-state");
  fail_unless_equals_string(state.c_str(), "live");
  fail_unless_equals_int(t.active_notifies, 0);

  /* The last live track stopped: inactive. */
  g_signal_emit_by_name(t.atrack, "stop");
  fail_unless(pull_until_eos(t.ha));
  fail_if(wc_get_bool(t.ms, "active"));
  fail_unless_equals_int(t.active_notifies, 1);
  fail_unless_equals_int(t.ended.count, 0);
  fail_unless_equals_int(ms_count_track_messages(t.bus, "ended"), 0);
}
GST_END_TEST;

struct EosWatch {
  GMutex lock;
  GCond cond;
  int eos = 0;
};

static GstPadProbeReturn eos_probe(GstPad *, GstPadProbeInfo *info, gpointer user_data)
{
  auto *w = static_cast<EosWatch *>(user_data);
  if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) == GST_EVENT_EOS) {
    g_mutex_lock(&w->lock);
    w->eos++;
    g_cond_broadcast(&w->cond);
    g_mutex_unlock(&w->lock);
  }
  return GST_PAD_PROBE_OK;
}

static bool wait_eos(EosWatch *w)
{
  gint64 end = g_get_monotonic_time() + 10 * G_TIME_SPAN_SECOND;
  g_mutex_lock(&w->lock);
  bool ok = true;
  while (w->eos == 0 && ok)
    ok = g_cond_wait_until(&w->cond, &w->lock, end);
  g_mutex_unlock(&w->lock);
  return ok || w->eos > 0;
}

/* Live sources in PLAYING, stop() from the application's thread: EOS on that
 * track, the other one keeps flowing, and a new run makes it live again. */
GST_START_TEST(test_stop_while_playing_and_restart)
{
  GstElement *pipeline = gst_parse_launch(
      "videotestsrc is-live=true ! video/x-raw,width=32,height=24,framerate=100/1 ! "
      "ms.video_sink_0 audiotestsrc is-live=true samplesperbuffer=160 ! ms.audio_sink_0 "
      "mediastreambin name=ms ms.video_0 ! fakesink async=false "
      "ms.audio_0 ! fakesink async=false",
      nullptr);
  GstElement *ms = gst_bin_get_by_name(GST_BIN(pipeline), "ms");
  GstPad *vtrack = ms_track_pad(ms, "video_0");
  GstPad *atrack = ms_track_pad(ms, "audio_0");
  FlowWatch video, audio;
  g_mutex_init(&video.lock);
  g_cond_init(&video.cond);
  g_mutex_init(&audio.lock);
  g_cond_init(&audio.cond);
  EosWatch eos;
  g_mutex_init(&eos.lock);
  g_cond_init(&eos.cond);
  gst_pad_add_probe(vtrack, GST_PAD_PROBE_TYPE_BUFFER, count_probe, &video, nullptr);
  gst_pad_add_probe(atrack, GST_PAD_PROBE_TYPE_BUFFER, count_probe, &audio, nullptr);
  gst_pad_add_probe(vtrack, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, eos_probe, &eos, nullptr);
  Counter ended;
  g_signal_connect(ms, "track-ended", G_CALLBACK(on_track_signal), &ended);

  fail_unless(gst_element_set_state(pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
  fail_unless(wait_buffers(&video, 3) && wait_buffers(&audio, 3));
  g_signal_emit_by_name(vtrack, "stop");
  fail_unless(wait_eos(&eos), "no EOS on the stopped track");
  g_mutex_lock(&video.lock);
  guint64 video_at_eos = video.buffers;
  g_mutex_unlock(&video.lock);
  g_mutex_lock(&audio.lock);
  guint64 audio_at_eos = audio.buffers;
  g_mutex_unlock(&audio.lock);
  fail_unless(wait_buffers(&audio, audio_at_eos + 5), "the audio track stopped too");
  g_mutex_lock(&video.lock);
  fail_unless_equals_uint64(video.buffers, video_at_eos);
  g_mutex_unlock(&video.lock);
  std::string state = wc_get_string(vtrack, "ready-state");
  fail_unless_equals_string(state.c_str(), "ended");
  fail_unless(wc_get_bool(ms, "active"));
  fail_unless_equals_int(ended.count, 0);

  /* A new run: live again, and data flows on the track. */
  fail_unless(gst_element_set_state(pipeline, GST_STATE_NULL) == GST_STATE_CHANGE_SUCCESS);
  state = wc_get_string(vtrack, "ready-state");
  fail_unless_equals_string(state.c_str(), "live");
  fail_unless(gst_element_set_state(pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
  fail_unless(wait_buffers(&video, video_at_eos + 3), "no data after the restart");
  fail_unless(wc_get_bool(ms, "active"));
  gst_element_set_state(pipeline, GST_STATE_NULL);

  gst_object_unref(vtrack);
  gst_object_unref(atrack);
  gst_object_unref(ms);
  gst_object_unref(pipeline);
  g_mutex_clear(&video.lock);
  g_cond_clear(&video.cond);
  g_mutex_clear(&audio.lock);
  g_cond_clear(&audio.cond);
  g_mutex_clear(&eos.lock);
  g_cond_clear(&eos.cond);
}
GST_END_TEST;

/* stop() while the sink waits in PAUSED (it holds the track's stream lock
 * in preroll): the caller does not wait for the data flow; the EOS follows
 * once PLAYING, and the pipeline reaches EOS (the only track). */
GST_START_TEST(test_stop_in_paused_does_not_block)
{
  GstElement *pipeline =
      gst_parse_launch("videotestsrc ! video/x-raw,width=16,height=16 ! ms.video_sink_0 "
                       "mediastreambin name=ms ms.video_0 ! fakesink",
                       nullptr);
  GstElement *ms = gst_bin_get_by_name(GST_BIN(pipeline), "ms");
  GstPad *vtrack = ms_track_pad(ms, "video_0");
  fail_unless(gst_element_set_state(pipeline, GST_STATE_PAUSED) != GST_STATE_CHANGE_FAILURE);
  fail_unless(gst_element_get_state(pipeline, nullptr, nullptr, 10 * GST_SECOND) ==
              GST_STATE_CHANGE_SUCCESS);
  g_signal_emit_by_name(vtrack, "stop"); /* returns: a hang here times the test out */
  std::string state = wc_get_string(vtrack, "ready-state");
  fail_unless_equals_string(state.c_str(), "ended");
  fail_if(wc_get_bool(ms, "active"));
  wc_run_to_eos(pipeline, 10);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(vtrack);
  gst_object_unref(ms);
  gst_object_unref(pipeline);
}
GST_END_TEST;

/* A flushing seek does not revive a stopped track (it ends for the run):
 * still ended, and its next data brings EOS again (the flush took the first
 * one away downstream). */
GST_START_TEST(test_stop_survives_flush)
{
  GstElement *ms = ms_make_bin();
  GstHarness *h = video_harness(ms, 0, "video/x-raw,format=BGRx,width=8,height=8,framerate=30/1");
  GstPad *track = ms_track_pad(ms, "video_0");
  gst_harness_push(h, filled_buffer(8 * 8 * 4, 1, 0, 1));
  g_signal_emit_by_name(track, "stop");
  fail_unless(pull_until_eos(h));
  fail_unless(gst_harness_push_event(h, gst_event_new_flush_start()));
  fail_unless(gst_harness_push_event(h, gst_event_new_flush_stop(TRUE)));
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  fail_unless(gst_harness_push_event(h, gst_event_new_segment(&segment)));
  std::string state = wc_get_string(track, "ready-state");
  fail_unless_equals_string(state.c_str(), "ended");
  fail_if(wc_get_bool(ms, "active"));
  while (GstBuffer *b = gst_harness_try_pull(h))
    gst_buffer_unref(b);
  fail_unless_equals_int(gst_harness_push(h, filled_buffer(8 * 8 * 4, 2, 1, 1)), GST_FLOW_OK);
  fail_unless(pull_until_eos(h));
  fail_unless_equals_int(gst_harness_buffers_in_queue(h), 0);
  gst_object_unref(track);
  gst_harness_teardown(h);
  gst_object_unref(ms);
}
GST_END_TEST;

struct StopStorm {
  GstElement *ms;
  int rounds;
};

static gpointer stop_storm_thread(gpointer data)
{
  auto *storm = static_cast<StopStorm *>(data);
  for (int i = 0; i < storm->rounds; i++) {
    for (const gchar *name : {"video_0", "audio_0"}) {
      GstPad *pad = gst_element_get_static_pad(storm->ms, name);
      g_signal_emit_by_name(pad, "stop");
      GstStructure *caps = nullptr;
      g_object_get(pad, "capabilities", &caps, NULL);
      gst_structure_free(caps);
      gst_object_unref(pad);
    }
    g_usleep(2000);
  }
  return nullptr;
}

/* stop() (and capabilities) from one thread while two others change the
 * state at random: no crash, hang or leak, and a new run afterwards is live
 * with data flowing. */
GST_START_TEST(test_stop_during_state_storm)
{
  GstElement *pipeline =
      gst_parse_launch("videotestsrc is-live=true ! video/x-raw,width=32,height=24 ! ms. "
                       "audiotestsrc is-live=true ! ms. mediastreambin name=ms "
                       "ms.video_0 ! fakesink async=false ms.audio_0 ! fakesink async=false",
                       nullptr);
  GstElement *ms = gst_bin_get_by_name(GST_BIN(pipeline), "ms");
  StopStorm stops{ms, 40};
  Storm a{pipeline, 3, 30}, b{pipeline, 4, 20};
  GThread *stopper = g_thread_new("stops", stop_storm_thread, &stops);
  GThread *other = g_thread_new("storm", storm_thread, &b);
  storm_thread(&a);
  g_thread_join(other);
  g_thread_join(stopper);
  fail_unless(gst_element_set_state(pipeline, GST_STATE_NULL) == GST_STATE_CHANGE_SUCCESS);

  GstPad *vtrack = ms_track_pad(ms, "video_0");
  FlowWatch video;
  g_mutex_init(&video.lock);
  g_cond_init(&video.cond);
  gst_pad_add_probe(vtrack, GST_PAD_PROBE_TYPE_BUFFER, count_probe, &video, nullptr);
  fail_unless(gst_element_set_state(pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
  fail_unless(wait_buffers(&video, 3), "the track is not live in the new run");
  std::string state = wc_get_string(vtrack, "ready-state");
  fail_unless_equals_string(state.c_str(), "live");
  fail_unless(wc_get_bool(ms, "active"));
  fail_unless(gst_element_set_state(pipeline, GST_STATE_NULL) == GST_STATE_CHANGE_SUCCESS);
  gst_object_unref(vtrack);
  g_mutex_clear(&video.lock);
  g_cond_clear(&video.cond);
  gst_object_unref(ms);
  gst_object_unref(pipeline);
}
GST_END_TEST;

static GstStructure *get_capabilities(GstPad *pad)
{
  GstStructure *s = wc_get_structure(pad, "capabilities");
  fail_unless(s != nullptr);
  fail_unless(gst_structure_has_name(s, "capabilities"));
  return s;
}

GST_START_TEST(test_capabilities)
{
  GstElement *pipeline = gst_parse_launch(
      "videotestsrc ! video/x-raw,width=320,height=240,framerate=15/1 ! ms.video_sink_0 "
      "audiotestsrc ! audio/x-raw,rate=16000,channels=1 ! ms.audio_sink_0 "
      "mediastreambin name=ms ms.video_0 ! fakesink ms.audio_0 ! fakesink",
      nullptr);
  GstElement *ms = gst_bin_get_by_name(GST_BIN(pipeline), "ms");
  GstPad *vtrack = ms_track_pad(ms, "video_0");
  GstPad *atrack = ms_track_pad(ms, "audio_0");
  /* The upper end of a number or range (-1: none), and whether @x is in it:
   * the bin's conversion widens what upstream delivers downwards
   * (docs/plugins/constraints.md, Capabilities). */
  auto upper = [](const GstStructure *st, const char *f) -> gdouble {
    const GValue *v = gst_structure_get_value(st, f);
    if (!v)
      return -1;
    if (G_VALUE_HOLDS_INT(v))
      return g_value_get_int(v);
    if (G_VALUE_HOLDS_DOUBLE(v))
      return g_value_get_double(v);
    if (GST_VALUE_HOLDS_INT_RANGE(v))
      return gst_value_get_int_range_max(v);
    if (GST_VALUE_HOLDS_DOUBLE_RANGE(v))
      return gst_value_get_double_range_max(v);
    return -1;
  };
  auto holds = [](const GstStructure *st, const char *f, gdouble x) {
    const GValue *v = gst_structure_get_value(st, f);
    if (!v)
      return false;
    if (G_VALUE_HOLDS_INT(v))
      return g_value_get_int(v) == x;
    if (G_VALUE_HOLDS_DOUBLE(v))
      return fabs(g_value_get_double(v) - x) < 1e-6;
    if (GST_VALUE_HOLDS_INT_RANGE(v))
      return gst_value_get_int_range_min(v) <= x && x <= gst_value_get_int_range_max(v);
    if (GST_VALUE_HOLDS_DOUBLE_RANGE(v))
      return gst_value_get_double_range_min(v) <= x + 1e-6 &&
             x - 1e-6 <= gst_value_get_double_range_max(v);
    return false;
  };
  /* Before and after negotiation: what upstream delivers (and less). */
  for (int pass = 0; pass < 2; pass++) {
    GstStructure *s = get_capabilities(vtrack);
    fail_unless(upper(s, "width") == 320, "%" GST_PTR_FORMAT, s);
    fail_unless(upper(s, "height") == 240, "%" GST_PTR_FORMAT, s);
    fail_unless(upper(s, "frameRate") == 15.0, "%" GST_PTR_FORMAT, s);
    fail_unless(holds(s, "aspectRatio", 4.0 / 3.0), "%" GST_PTR_FORMAT, s);
    fail_unless(gst_structure_has_field(s, "resizeMode"));
    gst_structure_free(s);
    s = get_capabilities(atrack);
    fail_unless(holds(s, "sampleRate", 16000), "%" GST_PTR_FORMAT, s);
    fail_unless(holds(s, "channelCount", 1), "%" GST_PTR_FORMAT, s);
    gst_structure_free(s);
    if (pass == 0) {
      fail_unless(gst_element_set_state(pipeline, GST_STATE_PAUSED) != GST_STATE_CHANGE_FAILURE);
      fail_unless(gst_element_get_state(pipeline, nullptr, nullptr, 10 * GST_SECOND) ==
                  GST_STATE_CHANGE_SUCCESS);
    }
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);

  /* A track whose sink pad is not linked: nothing to say yet. */
  GstPad *sink = gst_element_request_pad_simple(ms, "video_sink_1");
  GstPad *lonely = ms_track_pad(ms, "video_1");
  GstStructure *s = get_capabilities(lonely);
  fail_unless_equals_int(gst_structure_n_fields(s), 0);
  gst_structure_free(s);
  gst_element_release_request_pad(ms, sink);
  gst_object_unref(sink);
  gst_object_unref(lonely);

  gst_object_unref(vtrack);
  gst_object_unref(atrack);
  gst_object_unref(ms);
  gst_object_unref(pipeline);
}
GST_END_TEST;

/* One TCase per rule of docs/plugins/mediastreambin.md (CK_RUN_CASE=MS-6 runs
 * one; MS-3 "active" is also checked with the track set, MS-4, and with ended,
 * MS-8), and one for GStreamer's own contracts. */
static TCase *rule_case(Suite *s, const char *name)
{
  return wc_add_case(s, name, 60);
}

static Suite *mediastreambin_suite()
{
  Suite *s = suite_create("mediastreambin");
  TCase *tc;

  tc = rule_case(s, "MS-1");
  tcase_add_test(tc, test_stream_id);
  tcase_add_test(tc, test_invalid_utf8_refused);

  tc = rule_case(s, "MS-2");
  tcase_add_test(tc, test_stream_start_and_collection);

  tc = rule_case(s, "MS-3");
  tcase_add_test(tc, test_active_while_a_track_lives);

  tc = rule_case(s, "MS-4");
  tcase_add_test(tc, test_request_creates_track_pad);
  tcase_add_test(tc, test_gst_launch_linking);
  tcase_add_test(tc, test_add_remove_while_playing);
  tcase_add_test(tc, test_release_while_source_pushes);
  tcase_add_test(tc, test_concurrent_requests);
  tcase_add_test(tc, test_track_stream_freed);
  tcase_add_test(tc, test_replaced_collection_kept_while_streaming);

  tc = rule_case(s, "MS-5");
  tcase_add_test(tc, test_label);
  tcase_add_test(tc, test_label_defaults_to_upstream_name);

  tc = rule_case(s, "MS-6");
  tcase_add_test(tc, test_passthrough_is_zero_copy);
  tcase_add_test(tc, test_disabled_black_bgra);
  tcase_add_test(tc, test_disabled_black_i420_nv12);
  tcase_add_test(tc, test_disabled_black_every_format);
  tcase_add_test(tc, test_black_prepared_once_per_caps);
  tcase_add_test(tc, test_reenable_passes_at_once);
  tcase_add_test(tc, test_enabled_toggled_concurrently);
  tcase_add_test(tc, test_disabled_silence);
  tcase_add_test(tc, test_disabled_silence_every_format);
  tcase_add_test(tc, test_disabled_other_memory_sends_gap);
  tcase_add_test(tc, test_disabled_silence_planar);

  tc = rule_case(s, "MS-7");
  tcase_add_test(tc, test_canvas_mute_reaches_track);
  tcase_add_test(tc, test_muted_follows_source);

  tc = rule_case(s, "MS-8");
  tcase_add_test(tc, test_eos_ends_track);
  tcase_add_test(tc, test_restart_after_eos);
  tcase_add_test(tc, test_flush_after_eos_revives_track);
  tcase_add_test(tc, test_stop_ends_track);
  tcase_add_test(tc, test_stop_while_playing_and_restart);
  tcase_add_test(tc, test_stop_in_paused_does_not_block);
  tcase_add_test(tc, test_stop_survives_flush);
  if (!g_getenv("WEBCAPTURE_UNDER_VALGRIND")) /* a stress test: see "contracts" below */
    tcase_add_test(tc, test_stop_during_state_storm);

  tc = rule_case(s, "MS-10");
  tcase_add_test(tc, test_settings);
  tcase_add_test(tc, test_capabilities);

  tc = rule_case(s, "MS-11");
  tcase_add_test(tc, test_msid_through_encoders);
  tcase_add_test(tc, test_msid_linked_later);
  tcase_add_test(tc, test_msid_through_bins);

  tc = rule_case(s, "contracts");
  tcase_add_test(tc, test_state_cycles);
  tcase_add_test(tc, test_eos_sent_to_pipeline_finalizes_muxer);
  tcase_add_test(tc, test_run_again_gives_the_same);
  /* The storms are stress tests for races: they run in the main pass; under
   * valgrind (scripts/check's leak stage) they take most of its time and a
   * race there is no likelier to show than in the main pass. */
  if (!g_getenv("WEBCAPTURE_UNDER_VALGRIND"))
    tcase_add_test(tc, test_state_storm_with_live_sources);
  return s;
}

GST_CHECK_MAIN(mediastreambin);
