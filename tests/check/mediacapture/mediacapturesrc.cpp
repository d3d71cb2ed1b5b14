/* mediacapturesrc unit suite (ME-1..ME-10). Every medium is made at test time
 * with encoders from plugins-base/-good into a temporary directory; HTTP tests
 * run their own servers on 127.0.0.1.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "webcapture-check.h"

#include <gio/gio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <gst/check/gstcheck.h>
#include <gst/controller/gstdirectcontrolbinding.h>
#include <gst/controller/gstinterpolationcontrolsource.h>
#include <gst/pbutils/missing-plugins.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

/* ------------------------------------------------------------ media */

static gchar *media_dir = nullptr;

/* Media is made before the checks run (no check context yet). */
#define MEDIA_CHECK(cond, ...)                                                                     \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      g_error("media generation: %s", #cond);                                                      \
  } while (0)

static std::string media_path(const char *name)
{
  gchar *p = g_build_filename(media_dir, name, nullptr);
  std::string s = p;
  g_free(p);
  return s;
}

static std::string media_uri(const char *name)
{
  gchar *u = gst_filename_to_uri(media_path(name).c_str(), nullptr);
  std::string s = u;
  g_free(u);
  return s;
}

static void run_to_eos(GstElement *pipeline)
{
  GstBus *bus = gst_element_get_bus(pipeline);
  MEDIA_CHECK(gst_element_set_state(pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
  GstMessage *msg = gst_bus_timed_pop_filtered(
      bus, 60 * GST_SECOND, (GstMessageType)(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  MEDIA_CHECK(msg != nullptr, "media generation timed out");
  if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
    GError *err;
    gst_message_parse_error(msg, &err, nullptr);
    g_error("media generation failed: %s", err->message);
  }
  gst_message_unref(msg);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(bus);
  gst_object_unref(pipeline);
}

static void make_media(const char *name, const char *desc_fmt)
{
  gchar *desc = g_strdup_printf(desc_fmt, media_path(name).c_str());
  GError *err = nullptr;
  GstElement *p = gst_parse_launch(desc, &err);
  MEDIA_CHECK(p && !err, "cannot build %s: %s", desc, err ? err->message : "");
  g_free(desc);
  run_to_eos(p);
}

/* Video black until 1.0 s then white; audio silent until 1.0 s then a sine:
 * both onsets are at the same media time, so captured A/V sync is measurable. */
static void make_sync_media()
{
  gchar *desc = g_strdup_printf(
      "videotestsrc pattern=black num-buffers=75 ! video/x-raw,width=160,height=120,"
      "framerate=30/1 ! videobalance name=bal ! theoraenc ! oggmux name=m ! filesink "
      "location=%s audiotestsrc name=tone wave=sine freq=440 samplesperbuffer=480 "
      "num-buffers=250 ! audio/x-raw,rate=48000,channels=1 ! vorbisenc ! m.",
      media_path("sync.ogg").c_str());
  GstElement *p = gst_parse_launch(desc, nullptr);
  g_free(desc);
  MEDIA_CHECK(p != nullptr);
  GstElement *bal = gst_bin_get_by_name(GST_BIN(p), "bal");
  GstElement *tone = gst_bin_get_by_name(GST_BIN(p), "tone");
  /* brightness -1..1 maps from 0..1; volume 0..1 */
  GstControlSource *vcs = gst_interpolation_control_source_new();
  g_object_set(vcs, "mode", GST_INTERPOLATION_MODE_NONE, nullptr);
  gst_timed_value_control_source_set(GST_TIMED_VALUE_CONTROL_SOURCE(vcs), 0, 0.0);
  gst_timed_value_control_source_set(GST_TIMED_VALUE_CONTROL_SOURCE(vcs), GST_SECOND, 1.0);
  gst_object_add_control_binding(
      GST_OBJECT(bal), gst_direct_control_binding_new(GST_OBJECT(bal), "brightness", vcs));
  GstControlSource *acs = gst_interpolation_control_source_new();
  g_object_set(acs, "mode", GST_INTERPOLATION_MODE_NONE, nullptr);
  gst_timed_value_control_source_set(GST_TIMED_VALUE_CONTROL_SOURCE(acs), 0, 0.0);
  gst_timed_value_control_source_set(GST_TIMED_VALUE_CONTROL_SOURCE(acs), GST_SECOND, 0.8);
  gst_object_add_control_binding(GST_OBJECT(tone),
                                 gst_direct_control_binding_new(GST_OBJECT(tone), "volume", acs));
  gst_object_unref(vcs);
  gst_object_unref(acs);
  gst_object_unref(bal);
  gst_object_unref(tone);
  run_to_eos(p);
}

/* A Matroska file whose only stream (ProRes) has no decoder installed. */
static void make_nodecoder_media()
{
  gchar *desc = g_strdup_printf("appsrc name=a format=time caps=video/x-prores,variant=standard,"
                                "width=160,height=120,framerate=30/1 ! matroskamux ! filesink "
                                "location=%s",
                                media_path("nodecoder.mkv").c_str());
  GstElement *p = gst_parse_launch(desc, nullptr);
  g_free(desc);
  GstElement *a = gst_bin_get_by_name(GST_BIN(p), "a");
  gst_element_set_state(p, GST_STATE_PAUSED);
  for (int i = 0; i < 10; i++) {
    GstBuffer *b = gst_buffer_new_allocate(nullptr, 2000, nullptr);
    gst_buffer_memset(b, 0, 0x5a + i, 2000);
    GST_BUFFER_PTS(b) = GST_BUFFER_DTS(b) = i * GST_SECOND / 30;
    GST_BUFFER_DURATION(b) = GST_SECOND / 30;
    GstFlowReturn r;
    g_signal_emit_by_name(a, "push-buffer", b, &r);
    gst_buffer_unref(b);
  }
  GstFlowReturn r;
  g_signal_emit_by_name(a, "end-of-stream", &r);
  gst_object_unref(a);
  run_to_eos(p);
}

static void make_all_media()
{
  make_media("av.ogg", "videotestsrc num-buffers=60 ! video/x-raw,width=160,height=120,"
                       "framerate=30/1 ! theoraenc ! oggmux name=m ! filesink location=%s "
                       "audiotestsrc samplesperbuffer=960 num-buffers=100 ! "
                       "audio/x-raw,rate=48000,channels=2 ! vorbisenc ! m.");
  make_media("av.webm", "videotestsrc num-buffers=45 ! video/x-raw,width=160,height=120,"
                        "framerate=30/1 ! vp8enc deadline=1 ! webmmux name=m ! filesink "
                        "location=%s audiotestsrc samplesperbuffer=960 num-buffers=75 ! "
                        "audio/x-raw,rate=48000,channels=2 ! opusenc ! m.");
  /* 30 s, 0.8 MB: its end is far enough for a download to ask for it first. Only
   * ogg-over-http-live-and-slow uses it, a real-time case left out under valgrind, where
   * making it takes minutes. */
  if (!g_getenv("WEBCAPTURE_UNDER_VALGRIND"))
    make_media("long.ogg", "videotestsrc num-buffers=900 ! video/x-raw,width=160,height=120,"
                           "framerate=30/1 ! theoraenc ! oggmux name=m ! filesink location=%s "
                           "audiotestsrc samplesperbuffer=960 num-buffers=1500 ! "
                           "audio/x-raw,rate=48000,channels=2 ! vorbisenc ! m.");
  /* a video track without a single frame (the muxer gets its caps, no buffer) */
  make_media("novideo.webm", "videotestsrc num-buffers=30 ! video/x-raw,width=160,height=120,"
                             "framerate=30/1 ! vp8enc deadline=1 ! identity drop-probability=1.0 ! "
                             "webmmux name=m ! filesink location=%s audiotestsrc "
                             "samplesperbuffer=960 num-buffers=75 ! "
                             "audio/x-raw,rate=48000,channels=2 ! opusenc ! m.");
  make_media("two_audio.mka", "matroskamux name=m ! filesink location=%s "
                              "audiotestsrc freq=440 samplesperbuffer=960 num-buffers=50 ! "
                              "audio/x-raw,rate=48000,channels=1 ! vorbisenc ! m. "
                              "audiotestsrc freq=1760 samplesperbuffer=960 num-buffers=50 ! "
                              "audio/x-raw,rate=48000,channels=1 ! vorbisenc ! m.");
  /* audio goes on 19 ms after the video's end (44.1 kHz mono, 1024-sample buffers) */
  make_media("audio_longer.ogg", "videotestsrc num-buffers=90 ! video/x-raw,width=160,height=120,"
                                 "framerate=30/1 ! theoraenc ! oggmux name=m ! filesink "
                                 "location=%s audiotestsrc num-buffers=130 ! "
                                 "audio/x-raw,rate=44100,channels=1 ! vorbisenc ! m.");
  make_media("video.ogg", "videotestsrc num-buffers=30 ! video/x-raw,width=160,height=120,"
                          "framerate=30/1 ! theoraenc ! oggmux ! filesink location=%s");
  make_media("audio.ogg", "audiotestsrc samplesperbuffer=960 num-buffers=50 ! "
                          "audio/x-raw,rate=48000,channels=2 ! vorbisenc ! oggmux ! filesink "
                          "location=%s");
  make_media("late_audio.mkv", "videotestsrc num-buffers=60 ! video/x-raw,width=160,height=120,"
                               "framerate=30/1 ! theoraenc ! matroskamux name=m ! filesink "
                               "location=%s audiotestsrc timestamp-offset=1000000000 "
                               "samplesperbuffer=960 num-buffers=50 ! "
                               "audio/x-raw,format=S16LE,rate=48000,channels=2 ! m.");
  make_media("tone.wav", "audiotestsrc samplesperbuffer=960 num-buffers=150 ! "
                         "audio/x-raw,format=S16LE,rate=48000,channels=2 ! wavenc ! filesink "
                         "location=%s");
  make_media("titled.mka", "matroskamux name=m ! filesink location=%s audiotestsrc "
                           "samplesperbuffer=960 num-buffers=50 ! taginject "
                           "tags=\"title=Commentary,language-code=fr\" ! vorbisenc ! m.");
  make_media("image.png", "videotestsrc num-buffers=1 ! video/x-raw,width=64,height=48 ! pngenc ! "
                          "filesink location=%s");
  make_sync_media();
  make_nodecoder_media();
  /* a chained Ogg: two chains (their serial numbers differ), 1 s of 160x120
   * video then 1 s of 320x240 video, each with 1 s of audio */
  make_media("chain1.ogg", "videotestsrc num-buffers=30 ! video/x-raw,width=160,height=120,"
                           "framerate=30/1 ! theoraenc ! oggmux name=m ! filesink location=%s "
                           "audiotestsrc samplesperbuffer=960 num-buffers=50 ! "
                           "audio/x-raw,rate=48000,channels=1 ! vorbisenc ! m.");
  make_media("chain2.ogg", "videotestsrc num-buffers=30 pattern=ball ! video/x-raw,width=320,"
                           "height=240,framerate=30/1 ! theoraenc ! oggmux name=m ! filesink "
                           "location=%s audiotestsrc freq=880 samplesperbuffer=960 "
                           "num-buffers=50 ! audio/x-raw,rate=48000,channels=1 ! vorbisenc ! m.");
  {
    gchar *a, *b;
    gsize na, nb;
    MEDIA_CHECK(g_file_get_contents(media_path("chain1.ogg").c_str(), &a, &na, nullptr));
    MEDIA_CHECK(g_file_get_contents(media_path("chain2.ogg").c_str(), &b, &nb, nullptr));
    std::string both(a, na);
    both.append(b, nb);
    MEDIA_CHECK(g_file_set_contents(media_path("chained.ogg").c_str(), both.data(),
                                    (gssize)both.size(), nullptr));
    g_free(a);
    g_free(b);
  }

  /* garbage bytes and a file cut inside its headers */
  std::vector<guint8> junk(65536);
  GRand *r = g_rand_new_with_seed(42);
  for (auto &b : junk)
    b = (guint8)g_rand_int_range(r, 0, 256);
  g_rand_free(r);
  MEDIA_CHECK(g_file_set_contents(media_path("garbage.bin").c_str(), (const gchar *)junk.data(),
                                  junk.size(), nullptr));
  gchar *data;
  gsize len;
  MEDIA_CHECK(g_file_get_contents(media_path("av.ogg").c_str(), &data, &len, nullptr));
  MEDIA_CHECK(len > 1500);
  MEDIA_CHECK(g_file_set_contents(media_path("truncated.ogg").c_str(), data, 1500, nullptr));
  g_free(data);

  /* WebM: a valid header (up to its first Cluster) and a zeroed body; cut
   * at 10/50/90 % */
  MEDIA_CHECK(g_file_get_contents(media_path("av.webm").c_str(), &data, &len, nullptr));
  MEDIA_CHECK(len > 8192);
  std::vector<gchar> zeroed(data, data + len);
  const gchar cluster_id[] = {'\x1f', '\x43', '\xb6', '\x75'};
  auto cluster = std::search(zeroed.begin(), zeroed.end(), cluster_id, cluster_id + 4);
  MEDIA_CHECK(cluster != zeroed.end());
  std::fill(cluster, zeroed.end(), 0);
  MEDIA_CHECK(g_file_set_contents(media_path("zeroed.webm").c_str(), zeroed.data(), len, nullptr));
  for (int pct : {10, 50, 90}) {
    std::string name = "cut" + std::to_string(pct) + ".webm";
    MEDIA_CHECK(
        g_file_set_contents(media_path(name.c_str()).c_str(), data, len * pct / 100, nullptr));
  }
  g_free(data);
}

static void remove_all_media()
{
  GDir *d = g_dir_open(media_dir, 0, nullptr);
  const gchar *n;
  while (d && (n = g_dir_read_name(d)))
    g_remove(media_path(n).c_str());
  if (d)
    g_dir_close(d);
  g_rmdir(media_dir);
  g_free(media_dir);
}

/* ------------------------------------------------- what a failed test left */

/* Under valgrind the checks run in this process (CK_FORK=no): a failed
 * assertion leaves the test's pipelines playing and its servers running, and
 * gst-check's cleanup then waits for them for ever. What a test makes is
 * registered here until it frees it; every case's teardown (leftovers_free)
 * stops and frees the rest. */
struct Capture;
struct HttpServer;
static void capture_destroy(Capture *c);
static void http_server_free(HttpServer *s);
static std::mutex leftovers_m;
static std::vector<Capture *> leftover_captures;
static std::vector<HttpServer *> leftover_servers;
static std::vector<GstElement **> leftover_pipelines; /* weak pointers */

template <typename T> static void leftover_forget(std::vector<T *> &v, T *x)
{
  std::lock_guard<std::mutex> lk(leftovers_m);
  v.erase(std::remove(v.begin(), v.end(), x), v.end());
}

/* @pipeline is watched until it is finalized. */
static GstElement *leftover_watch(GstElement *pipeline)
{
  GstElement **slot = new GstElement *(pipeline);
  g_object_add_weak_pointer(G_OBJECT(pipeline), (gpointer *)slot);
  std::lock_guard<std::mutex> lk(leftovers_m);
  leftover_pipelines.push_back(slot);
  return pipeline;
}

static void leftovers_free()
{
  std::vector<Capture *> captures;
  std::vector<HttpServer *> servers;
  std::vector<GstElement **> pipelines;
  {
    std::lock_guard<std::mutex> lk(leftovers_m);
    captures.swap(leftover_captures);
    servers.swap(leftover_servers);
    pipelines.swap(leftover_pipelines);
  }
  for (Capture *c : captures) {
    GST_WARNING("freeing a capture its test left");
    capture_destroy(c);
  }
  for (GstElement **slot : pipelines) {
    if (GstElement *p = *slot) {
      /* the test's own reference, which it could not drop */
      GST_WARNING("stopping a pipeline its test left");
      g_object_remove_weak_pointer(G_OBJECT(p), (gpointer *)slot);
      gst_element_set_state(p, GST_STATE_NULL);
      gst_object_unref(p);
    }
    delete slot;
  }
  for (HttpServer *s : servers)
    http_server_free(s);
}

/* ------------------------------------------------------- capture fixture */

struct Buf {
  GstClockTime pts, dur;
  double peak;        /* audio: max |sample| */
  GstClockTime onset; /* audio: pts of the first sample >= 0.1, or NONE */
  guint crossings;    /* audio: sign changes (first channel) */
  guint samples;      /* audio */
  int luma;           /* video: first Y byte */
  bool gap = false;   /* GST_BUFFER_FLAG_GAP: silence the element inserted */
};

struct PadRec {
  std::string name;
  bool video = false;
  std::vector<Buf> bufs;
  std::vector<bool> muted_events;
  bool eos = false;
  bool removed = false;
  bool removed_before_eos = false;
  bool stream_start = false;
  bool stream_ok = false;
  bool caps = false;
  bool segment = false;
  int flushes = 0;
  std::string tag_title;
  std::string label;
  gint channels = 0;
  gint rate = 0;
  std::chrono::steady_clock::time_point first_buffer_time;
  std::atomic<int> sunk{0}; /* buffers that reached the fakesink */
};

struct Capture {
  GstElement *pipeline = nullptr;
  GstElement *src = nullptr;
  std::mutex m;
  std::vector<std::unique_ptr<PadRec>> pads;
  std::vector<std::string> log; /* "add:video_0", "nmp", "eos:video_0", "remove:video_0" */
  std::vector<GstMessage *> errors;
  std::vector<std::string> warnings; /* their texts */
  int missing_plugin = 0;
  bool hold_sinks = false;        /* new fakesinks stay in NULL until release_sinks() */
  std::vector<GstElement *> held; /* under m */

  PadRec *find(const std::string &n)
  {
    for (auto &p : pads)
      if (p->name == n)
        return p.get();
    return nullptr;
  }
  int count(const std::string &entry)
  {
    std::lock_guard<std::mutex> lk(m);
    return (int)std::count(log.begin(), log.end(), entry);
  }
  size_t nbufs(const std::string &n)
  {
    std::lock_guard<std::mutex> lk(m);
    PadRec *p = find(n);
    return p ? p->bufs.size() : 0;
  }
  size_t nerrors()
  {
    std::lock_guard<std::mutex> lk(m);
    return errors.size();
  }
};

static GstPadProbeReturn capture_probe(GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  Capture *c = static_cast<Capture *>(user_data);
  PadRec *rec = static_cast<PadRec *>(g_object_get_data(G_OBJECT(pad), "rec"));
  if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER) {
    GstBuffer *b = GST_PAD_PROBE_INFO_BUFFER(info);
    Buf r{GST_BUFFER_PTS(b), GST_BUFFER_DURATION(b), 0.0, GST_CLOCK_TIME_NONE, 0, 0, -1};
    r.gap = GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_GAP);
    GstMapInfo map;
    if (gst_buffer_map(b, &map, GST_MAP_READ)) {
      if (rec->video) {
        r.luma = map.size ? map.data[map.size / 2 / 3] : -1; /* a Y byte mid-picture (I420) */
      } else if (rec->channels > 0) {
        const float *f = reinterpret_cast<const float *>(map.data);
        guint n = map.size / sizeof(float) / rec->channels;
        r.samples = n;
        float prev = 0.f;
        for (guint i = 0; i < n; i++) {
          float v = f[i * rec->channels];
          for (gint ch = 0; ch < rec->channels; ch++)
            r.peak = std::max(r.peak, (double)std::fabs(f[i * rec->channels + ch]));
          if (!GST_CLOCK_TIME_IS_VALID(r.onset) && std::fabs(v) >= 0.1)
            r.onset = r.pts + gst_util_uint64_scale(i, GST_SECOND, rec->rate);
          if (i > 0 && ((prev < 0) != (v < 0)))
            r.crossings++;
          prev = v;
        }
      }
      gst_buffer_unmap(b, &map);
    }
    std::lock_guard<std::mutex> lk(c->m);
    if (rec->bufs.empty())
      rec->first_buffer_time = std::chrono::steady_clock::now();
    rec->bufs.push_back(r);
  } else if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent *ev = GST_PAD_PROBE_INFO_EVENT(info);
    std::lock_guard<std::mutex> lk(c->m);
    switch (GST_EVENT_TYPE(ev)) {
    case GST_EVENT_STREAM_START: {
      rec->stream_start = true;
      GstStream *s = nullptr;
      gst_event_parse_stream(ev, &s);
      if (s) {
        rec->stream_ok = gst_stream_get_stream_type(s) ==
                         (rec->video ? GST_STREAM_TYPE_VIDEO : GST_STREAM_TYPE_AUDIO);
        gst_object_unref(s);
      }
      break;
    }
    case GST_EVENT_CAPS: {
      GstCaps *caps;
      gst_event_parse_caps(ev, &caps);
      rec->caps = true;
      GstStructure *st = gst_caps_get_structure(caps, 0);
      gst_structure_get_int(st, "channels", &rec->channels);
      gst_structure_get_int(st, "rate", &rec->rate);
      break;
    }
    case GST_EVENT_SEGMENT:
      rec->segment = true;
      break;
    case GST_EVENT_FLUSH_START:
    case GST_EVENT_FLUSH_STOP:
      rec->flushes++;
      break;
    case GST_EVENT_TAG: {
      GstTagList *tags;
      gst_event_parse_tag(ev, &tags);
      gchar *title = nullptr;
      if (gst_tag_list_get_string(tags, GST_TAG_TITLE, &title))
        rec->tag_title = title;
      g_free(title);
      break;
    }
    case GST_EVENT_EOS:
      rec->eos = true;
      c->log.push_back("eos:" + rec->name);
      break;
    default: {
      gboolean muted;
      const GstStructure *st = gst_event_get_structure(ev);
      if (GST_EVENT_TYPE(ev) == GST_EVENT_CUSTOM_DOWNSTREAM_STICKY && st &&
          gst_structure_has_name(st, "mediastream-track-state") &&
          gst_structure_get_boolean(st, "muted", &muted)) {
        rec->muted_events.push_back(muted);
        if (gst_structure_get_string(st, "label"))
          rec->label = gst_structure_get_string(st, "label");
      }
      break;
    }
    }
  }
  return GST_PAD_PROBE_OK;
}

static void on_pad_added(GstElement *src, GstPad *pad, gpointer user_data)
{
  Capture *c = static_cast<Capture *>(user_data);
  gchar *name = gst_pad_get_name(pad);
  auto rec = std::make_unique<PadRec>();
  rec->name = name;
  rec->video = g_str_has_prefix(name, "video_");
  g_object_set_data(G_OBJECT(pad), "rec", rec.get());
  {
    std::lock_guard<std::mutex> lk(c->m);
    c->log.push_back(std::string("add:") + name);
    c->pads.push_back(std::move(rec));
  }
  g_free(name);
  gst_pad_add_probe(pad,
                    (GstPadProbeType)(GST_PAD_PROBE_TYPE_BUFFER |
                                      GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM |
                                      GST_PAD_PROBE_TYPE_EVENT_FLUSH),
                    capture_probe, c, nullptr);
  GstElement *sink = gst_element_factory_make("fakesink", nullptr);
  g_object_set(sink, "sync", TRUE, "async", FALSE, nullptr);
  gst_bin_add(GST_BIN(c->pipeline), sink);
  if (c->hold_sinks) {
    /* in NULL: its sink pad answers FLUSHING until release_sinks() */
    gst_element_set_locked_state(sink, TRUE);
    std::lock_guard<std::mutex> lk(c->m);
    c->held.push_back(sink);
  } else {
    gst_element_sync_state_with_parent(sink);
  }
  GstPad *sinkpad = gst_element_get_static_pad(sink, "sink");
  gst_pad_add_probe(
      sinkpad, GST_PAD_PROBE_TYPE_BUFFER,
      [](GstPad *, GstPadProbeInfo *, gpointer data) {
        static_cast<PadRec *>(data)->sunk++;
        return GST_PAD_PROBE_OK;
      },
      g_object_get_data(G_OBJECT(pad), "rec"), nullptr);
  fail_unless_equals_int(gst_pad_link(pad, sinkpad), GST_PAD_LINK_OK);
  gst_object_unref(sinkpad);
}

static void release_sinks(Capture *c)
{
  std::vector<GstElement *> held;
  {
    std::lock_guard<std::mutex> lk(c->m);
    held.swap(c->held);
  }
  for (GstElement *sink : held) {
    gst_element_set_locked_state(sink, FALSE);
    fail_unless(gst_element_sync_state_with_parent(sink));
  }
}

static void on_pad_removed(GstElement *src, GstPad *pad, gpointer user_data)
{
  Capture *c = static_cast<Capture *>(user_data);
  PadRec *rec = static_cast<PadRec *>(g_object_get_data(G_OBJECT(pad), "rec"));
  std::lock_guard<std::mutex> lk(c->m);
  rec->removed = true;
  rec->removed_before_eos = !rec->eos;
  c->log.push_back("remove:" + rec->name);
}

static void on_no_more_pads(GstElement *src, gpointer user_data)
{
  Capture *c = static_cast<Capture *>(user_data);
  std::lock_guard<std::mutex> lk(c->m);
  c->log.push_back("nmp");
}

static GstBusSyncReply capture_bus(GstBus *bus, GstMessage *msg, gpointer user_data)
{
  Capture *c = static_cast<Capture *>(user_data);
  std::lock_guard<std::mutex> lk(c->m);
  if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR)
    c->errors.push_back(gst_message_ref(msg));
  else if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_WARNING) {
    g_autoptr(GError) err = nullptr;
    gst_message_parse_warning(msg, &err, nullptr);
    c->warnings.push_back(err ? err->message : "");
  } else if (gst_is_missing_plugin_message(msg))
    c->missing_plugin++;
  gst_message_unref(msg); /* a dropping sync handler owns the message */
  return GST_BUS_DROP;
}

static Capture *capture_new(const std::string &uri)
{
  Capture *c = new Capture();
  {
    std::lock_guard<std::mutex> lk(leftovers_m);
    leftover_captures.push_back(c);
  }
  c->pipeline = gst_pipeline_new(nullptr);
  c->src = gst_element_factory_make("mediacapturesrc", nullptr);
  fail_unless(c->src != nullptr);
  g_object_set(c->src, "uri", uri.c_str(), nullptr);
  g_signal_connect(c->src, "pad-added", G_CALLBACK(on_pad_added), c);
  g_signal_connect(c->src, "pad-removed", G_CALLBACK(on_pad_removed), c);
  g_signal_connect(c->src, "no-more-pads", G_CALLBACK(on_no_more_pads), c);
  gst_bin_add(GST_BIN(c->pipeline), c->src);
  GstBus *bus = gst_element_get_bus(c->pipeline);
  gst_bus_set_sync_handler(bus, capture_bus, c, nullptr);
  gst_object_unref(bus);
  return c;
}

static void capture_play(Capture *c)
{
  fail_if(gst_element_set_state(c->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE);
}

/* Stops and frees @c (no check: also after a failed test). */
static void capture_destroy(Capture *c)
{
  leftover_forget(leftover_captures, c);
  gst_element_set_state(c->pipeline, GST_STATE_NULL);
  GstBus *bus = gst_element_get_bus(c->pipeline);
  gst_bus_set_sync_handler(bus, nullptr, nullptr, nullptr);
  gst_object_unref(bus);
  gst_object_unref(c->pipeline);
  for (GstMessage *m : c->errors)
    gst_message_unref(m);
  delete c;
}

static void capture_free(Capture *c)
{
  gst_element_set_state(c->pipeline, GST_STATE_NULL);
  /* pads are gone once the element is back in READY/NULL */
  int pads = GST_ELEMENT(c->src)->numsrcpads;
  capture_destroy(c);
  fail_unless_equals_int(pads, 0);
}

static std::string error_text(Capture *c, size_t i, GError **out_err = nullptr)
{
  std::lock_guard<std::mutex> lk(c->m);
  GError *err;
  gchar *dbg;
  gst_message_parse_error(c->errors[i], &err, &dbg);
  std::string s = err->message;
  g_free(dbg);
  if (out_err)
    *out_err = err;
  else
    g_error_free(err);
  return s;
}

static void assert_no_error(Capture *c)
{
  if (c->nerrors() > 0)
    fail("unexpected error: %s", error_text(c, 0).c_str());
}

static bool all_ended(Capture *c, size_t npads)
{
  std::lock_guard<std::mutex> lk(c->m);
  if (c->pads.size() < npads)
    return false;
  for (auto &p : c->pads)
    if (!p->eos || !p->removed)
      return false;
  return true;
}

/* Audio is contiguous: each buffer starts where the previous one ended. */
static void assert_audio_contiguous(Capture *c, PadRec *p)
{
  std::lock_guard<std::mutex> lk(c->m);
  for (size_t i = 1; i < p->bufs.size(); i++) {
    GstClockTimeDiff d = GST_CLOCK_DIFF(p->bufs[i - 1].pts + p->bufs[i - 1].dur, p->bufs[i].pts);
    fail_unless(std::llabs(d) <= 1000, "%s buffer %zu not contiguous: %" G_GINT64_FORMAT " ns",
                p->name.c_str(), i, (gint64)d);
  }
}

static void assert_video_increasing(Capture *c, PadRec *p)
{
  std::lock_guard<std::mutex> lk(c->m);
  for (size_t i = 1; i < p->bufs.size(); i++)
    fail_unless(p->bufs[i].pts > p->bufs[i - 1].pts, "%s pts went back at %zu", p->name.c_str(), i);
}

/* Under valgrind (tests/check/meson.build's setup) the media element runs many
 * times slower than real time: its audio reaches the tracks after their
 * timestamps, the tracks have filled those gaps with silence already (as a live
 * source does) and drop what comes late. How much content, pitch and A/V sync
 * come out is then only checked in the normal run; the paths still run. */
static bool keeps_real_time()
{
  return g_getenv("WEBCAPTURE_UNDER_VALGRIND") == nullptr;
}

static double audio_seconds(Capture *c, PadRec *p, bool loud_only)
{
  std::lock_guard<std::mutex> lk(c->m);
  double s = 0;
  for (auto &b : p->bufs)
    if (!loud_only || b.peak > 0.05)
      s += (double)b.dur / GST_SECOND;
  return s;
}

/* ----------------------------------------------------------------- tests */

/* ME-1, ME-2, ME-3: tracks appear together then no-more-pads; live output
 * paced in real time; end of playback -> EOS on every track, pads removed,
 * ended. */
GST_START_TEST(test_tracks_live_and_ended)
{
  Capture *c = capture_new(media_uri("av.ogg"));
  capture_play(c);
  fail_unless(wc_wait_until([&] { return all_ended(c, 2); }, 10000), "playback did not end");
  assert_no_error(c);
  {
    std::lock_guard<std::mutex> lk(c->m);
    fail_unless_equals_int((int)c->pads.size(), 2);
    fail_unless(c->log.size() >= 3);
    /* both tracks added, then no-more-pads */
    std::vector<std::string> first(c->log.begin(), c->log.begin() + 3);
    fail_unless(first[2] == "nmp", "no-more-pads is not after both tracks");
    fail_unless(std::count(first.begin(), first.end(), "add:video_0") == 1);
    fail_unless(std::count(first.begin(), first.end(), "add:audio_0") == 1);
    fail_unless_equals_int((int)std::count(c->log.begin(), c->log.end(), "nmp"), 1);
    for (auto &p : c->pads) {
      fail_unless(p->stream_start && p->stream_ok && p->caps && p->segment, "%s events",
                  p->name.c_str());
      fail_if(p->removed_before_eos, "%s removed before its EOS", p->name.c_str());
      fail_unless(!p->muted_events.empty(), "%s: no track-state event", p->name.c_str());
      fail_unless(p->muted_events.back() == true, "%s ends unmuted", p->name.c_str());
    }
  }
  PadRec *v = c->find("video_0");
  PadRec *a = c->find("audio_0");
  assert_video_increasing(c, v);
  assert_audio_contiguous(c, a);
  {
    std::lock_guard<std::mutex> lk(c->m);
    fail_unless(v->bufs.size() >= 57 && v->bufs.size() <= 60, "%zu frames", v->bufs.size());
    /* paced by the clock: 60 frames at 30 fps span ~1.97 s of running time */
    double span = (double)(v->bufs.back().pts - v->bufs.front().pts) / GST_SECOND;
    fail_unless(span > 1.85 && span < 2.1, "video span %f", span);
    /* an unmuted track in between */
    fail_unless(std::find(v->muted_events.begin(), v->muted_events.end(), false) !=
                v->muted_events.end());
  }
  double secs = audio_seconds(c, a, true);
  if (keeps_real_time())
    fail_unless(secs > 1.85 && secs < 2.15, "audio content %f s", secs);
  fail_unless(wc_get_bool(c->src, "ended"));
  fail_unless(wc_get_bool(c->src, "paused"));
  gdouble duration = wc_get_double(c->src, "duration");
  fail_unless(duration > 1.9 && duration < 2.1, "duration %f", duration);
  capture_free(c);
}
GST_END_TEST;

/* Live: the LATENCY query says live; no flush ever reaches the outer pipeline. */
GST_START_TEST(test_live_latency)
{
  Capture *c = capture_new(media_uri("av.webm"));
  capture_play(c);
  fail_unless(
      wc_wait_until([&] { return c->nbufs("video_0") > 5 && c->nbufs("audio_0") > 5; }, 5000));
  GstQuery *q = gst_query_new_latency();
  fail_unless(gst_element_query(c->pipeline, q));
  gboolean live;
  GstClockTime min, max;
  gst_query_parse_latency(q, &live, &min, &max);
  fail_unless(live);
  fail_unless(min > 0 && min <= GST_SECOND);
  gst_query_unref(q);
  fail_unless(wc_wait_until([&] { return all_ended(c, 2); }, 10000));
  assert_no_error(c);
  capture_free(c);
}
GST_END_TEST;

static double estimate_freq(Capture *c, PadRec *p)
{
  std::lock_guard<std::mutex> lk(c->m);
  guint64 crossings = 0, samples = 0;
  for (auto &b : p->bufs)
    if (b.peak > 0.05) {
      crossings += b.crossings;
      samples += b.samples;
    }
  return samples ? crossings / 2.0 / ((double)samples / p->rate) : 0.0;
}

/* ME-1: the enabled audio tracks of a Matroska file with two; audio-only file
 * has no video track. */
GST_START_TEST(test_audio_track_selection)
{
  Capture *c = capture_new(media_uri("two_audio.mka"));
  g_object_set(c->src, "audio-tracks", "all", nullptr);
  capture_play(c);
  fail_unless(wc_wait_until([&] { return all_ended(c, 2); }, 10000));
  assert_no_error(c);
  {
    std::lock_guard<std::mutex> lk(c->m);
    fail_unless_equals_int((int)c->pads.size(), 2);
  }
  double f0 = estimate_freq(c, c->find("audio_0")), f1 = estimate_freq(c, c->find("audio_1"));
  fail_unless((std::fabs(f0 - 440) < 40 && std::fabs(f1 - 1760) < 80) ||
                  (std::fabs(f1 - 440) < 40 && std::fabs(f0 - 1760) < 80),
              "frequencies %f %f", f0, f1);
  capture_free(c);

  c = capture_new(media_uri("two_audio.mka"));
  g_object_set(c->src, "audio-tracks", "1", nullptr);
  capture_play(c);
  fail_unless(wc_wait_until([&] { return all_ended(c, 1); }, 10000));
  {
    std::lock_guard<std::mutex> lk(c->m);
    fail_unless_equals_int((int)c->pads.size(), 1);
  }
  double f = estimate_freq(c, c->find("audio_0"));
  fail_unless(std::fabs(f - 1760) < 80, "second track frequency %f", f);
  capture_free(c);
}
GST_END_TEST;

/* The (serial number, Vorbis sample rate) of each stream of an Ogg file, in
 * the order of their first (BOS) pages: the order of the streams in the file. */
static std::vector<std::pair<guint32, guint32>> ogg_bos_streams(const std::string &path)
{
  std::vector<std::pair<guint32, guint32>> out;
  gchar *data = nullptr;
  gsize len = 0;
  if (!g_file_get_contents(path.c_str(), &data, &len, nullptr))
    return out;
  const guint8 *d = (const guint8 *)data;
  gsize i = 0;
  while (i + 27 <= len && memcmp(d + i, "OggS", 4) == 0) {
    guint nsegs = d[i + 26];
    gsize body = i + 27 + nsegs, size = 0;
    if (body > len)
      break;
    for (guint s = 0; s < nsegs; s++)
      size += d[i + 27 + s];
    if (body + size > len)
      break;
    /* a BOS page starts with the Vorbis identification header: packet type,
     * "vorbis", version (4), channels (1), rate (4, little endian) */
    if ((d[i + 5] & 0x02) && size >= 16 && memcmp(d + body + 1, "vorbis", 6) == 0)
      out.emplace_back(GST_READ_UINT32_LE(d + i + 14), GST_READ_UINT32_LE(d + body + 12));
    i = body + size;
  }
  g_free(data);
  return out;
}

/* ME-1: audio-tracks counts the audio streams in the order of the file (a
 * browser's audioTracks), not in the order of their Ogg serial numbers, which
 * oggmux picks at random and decodebin sorts its streams by. The first stream
 * (440 Hz at 48 kHz) gets the higher serial number than the second (1760 Hz
 * at 44.1 kHz): files are made until one has them so. */
GST_START_TEST(test_audio_tracks_file_order)
{
  std::string path = media_path("two_audio_inverted.ogg");
  bool inverted = false;
  for (int tries = 0; tries < 50 && !inverted; tries++) {
    make_media("two_audio_inverted.ogg",
               "oggmux name=m ! filesink location=%s "
               "audiotestsrc freq=440 samplesperbuffer=960 num-buffers=50 ! "
               "audio/x-raw,rate=48000,channels=1 ! vorbisenc ! m. "
               "audiotestsrc freq=1760 samplesperbuffer=882 num-buffers=50 ! "
               "audio/x-raw,rate=44100,channels=1 ! vorbisenc ! m.");
    auto s = ogg_bos_streams(path);
    inverted =
        s.size() == 2 && s[0].second == 48000 && s[1].second == 44100 && s[0].first > s[1].first;
  }
  fail_unless(inverted, "no Ogg file with the first stream's serial number above the second's");

  const char *selections[] = {"0", "1", "all"};
  for (const char *sel : selections) {
    Capture *c = capture_new(media_uri("two_audio_inverted.ogg"));
    g_object_set(c->src, "audio-tracks", sel, nullptr);
    capture_play(c);
    size_t n = g_str_equal(sel, "all") ? 2 : 1;
    fail_unless(wc_wait_until([&] { return all_ended(c, n); }, 10000), "audio-tracks=%s", sel);
    assert_no_error(c);
    fail_unless(c->find("audio_0") && (n == 1 || c->find("audio_1")), "audio-tracks=%s", sel);
    double f0 = estimate_freq(c, c->find("audio_0"));
    double want0 = g_str_equal(sel, "1") ? 1760 : 440;
    fail_unless(std::fabs(f0 - want0) < want0 / 20, "audio-tracks=%s: audio_0 at %f Hz, not %f",
                sel, f0, want0);
    if (n == 2) {
      double f1 = estimate_freq(c, c->find("audio_1"));
      fail_unless(std::fabs(f1 - 1760) < 88, "audio-tracks=all: audio_1 at %f Hz", f1);
    }
    capture_free(c);
  }
}
GST_END_TEST;

/* ME-1: a selection that names no stream of the medium gives no track, and
 * then nothing ends the pipeline: a WARNING says so (once), naming the
 * streams the medium has; a bad audio-tracks value is refused with a
 * TypeError WARNING and the selection kept; the defaults on a medium
 * without audio warn of nothing. */
static bool has_warning(Capture *c, const char *part)
{
  std::lock_guard<std::mutex> lk(c->m);
  for (auto &w : c->warnings)
    if (w.find(part) != std::string::npos)
      return true;
  return false;
}

GST_START_TEST(test_selection_matches_nothing)
{
  Capture *c = capture_new(media_uri("video.ogg"));
  g_object_set(c->src, "video-track", 5, "audio-tracks", "none", nullptr);
  capture_play(c);
  fail_unless(wc_wait_until([&] { return has_warning(c, "select none of them"); }, 20000),
              "no warning for a selection without any stream");
  fail_unless(has_warning(c, "1 video and 0 audio streams"));
  {
    std::lock_guard<std::mutex> lk(c->m);
    fail_unless_equals_int((int)c->pads.size(), 0);
    fail_unless_equals_int((int)c->warnings.size(), 1);
  }
  /* a bad value: refused, the selection kept */
  g_object_set(c->src, "audio-tracks", "bogus", nullptr);
  fail_unless(wc_wait_until([&] { return has_warning(c, "audio-tracks must be"); }, 5000));
  fail_unless_equals_string(wc_get_string(c->src, "audio-tracks").c_str(), "none");
  /* choosing the stream that exists gives its track */
  g_object_set(c->src, "video-track", 0, nullptr);
  fail_unless(wc_wait_until([&] { return c->find("video_0") != nullptr; }, 20000));
  assert_no_error(c);
  capture_free(c);

  /* the defaults (first video, first audio) on a medium without audio */
  c = capture_new(media_uri("video.ogg"));
  capture_play(c);
  fail_unless(wc_wait_until([&] { return all_ended(c, 1); }, 20000));
  {
    std::lock_guard<std::mutex> lk(c->m);
    fail_unless_equals_int((int)c->warnings.size(), 0);
  }
  assert_no_error(c);
  capture_free(c);
}
GST_END_TEST;

/* ME-3, WPT src-reset: source changes in any sequence; old tracks end and
 * go before the new ones come; indices never reused; running time goes on. */
GST_START_TEST(test_source_change)
{
  Capture *c = capture_new(media_uri("video.ogg"));
  g_object_set(c->src, "loop", TRUE, nullptr);
  capture_play(c);
  fail_unless(wc_wait_until([&] { return c->nbufs("video_0") > 5; }, 5000));

  auto t0 = std::chrono::steady_clock::now();
  g_object_set(c->src, "uri", media_uri("audio.ogg").c_str(), nullptr);
  fail_unless(wc_wait_until([&] { return c->nbufs("audio_0") > 3; }, 5000));
  double gap_ms =
      std::chrono::duration<double, std::milli>(c->find("audio_0")->first_buffer_time - t0).count();
  GST_INFO("uri switch gap %.1f ms", gap_ms);
  fail_unless(gap_ms < 1000, "switch gap %f ms", gap_ms);

  g_object_set(c->src, "uri", media_uri("av.ogg").c_str(), nullptr);
  fail_unless(
      wc_wait_until([&] { return c->nbufs("video_1") > 3 && c->nbufs("audio_1") > 3; }, 5000));
  g_object_set(c->src, "uri", "", nullptr);
  fail_unless(wc_wait_until([&] { return all_ended(c, 4); }, 5000));
  wc_sleep_ms(200);
  assert_no_error(c);
  {
    std::lock_guard<std::mutex> lk(c->m);
    std::vector<std::string> expect = {"add:video_0", "nmp", "eos:video_0", "remove:video_0",
                                       "add:audio_0", "nmp", "eos:audio_0", "remove:audio_0"};
    fail_unless(c->log.size() >= expect.size() + 6);
    for (size_t i = 0; i < expect.size(); i++)
      fail_unless(c->log[i] == expect[i], "log[%zu] = %s, expected %s", i, c->log[i].c_str(),
                  expect[i].c_str());
    /* the third source: both new tracks before no-more-pads, after the old one went */
    std::vector<std::string> next(c->log.begin() + 8, c->log.begin() + 11);
    fail_unless(next[2] == "nmp");
    fail_unless_equals_int((int)c->pads.size(), 4);
    fail_unless_equals_int(GST_ELEMENT(c->src)->numsrcpads, 0);
    /* running time never goes back across sources */
    GstClockTime v0 = c->find("video_0")->bufs.back().pts;
    GstClockTime a0 = c->find("audio_0")->bufs.front().pts;
    GstClockTime a0e = c->find("audio_0")->bufs.back().pts;
    GstClockTime v1 = c->find("video_1")->bufs.front().pts;
    fail_unless(a0 > v0 && v1 > a0e);
    for (auto &p : c->pads)
      fail_if(p->flushes > 0);
  }
  capture_free(c);
}
GST_END_TEST;

/* 100 source changes in a row while playing: no deadlock, pads cleaned. */
GST_START_TEST(test_many_source_changes)
{
  Capture *c = capture_new(media_uri("av.ogg"));
  capture_play(c);
  for (int i = 0; i < 100; i++) {
    g_object_set(c->src, "uri", media_uri(i % 2 ? "av.ogg" : "audio.ogg").c_str(), nullptr);
    wc_sleep_ms(i % 10 == 0 ? 60 : 15);
  }
  /* the last source (av.ogg) plays */
  fail_unless(wc_wait_until(
      [&] {
        std::lock_guard<std::mutex> lk(c->m);
        int live = 0;
        for (auto &p : c->pads)
          live += !p->removed;
        return live == 2 && GST_ELEMENT(c->src)->numsrcpads == 2;
      },
      10000));
  assert_no_error(c);
  {
    std::lock_guard<std::mutex> lk(c->m);
    for (auto &p : c->pads)
      if (p->removed)
        fail_if(p->removed_before_eos, "%s removed without EOS", p->name.c_str());
  }
  capture_free(c);
}
GST_END_TEST;

/* Bad input: a clear ERROR naming the URI, no crash; the element is reusable. */
GST_START_TEST(test_bad_input)
{
  struct Case {
    std::string uri;
    bool missing_plugin;
  };
  std::vector<Case> cases = {
      {media_uri("does-not-exist.ogg"), false}, {"nosuchscheme://host/file.ogg", false},
      {media_uri("garbage.bin"), false},        {media_uri("truncated.ogg"), false},
      {media_uri("nodecoder.mkv"), true},
  };
  for (auto &cs : cases) {
    /* Under valgrind (tests/check/meson.build's setup), oggdemux 1.22 hands
     * the bytes it never read past the end of the truncated file to libogg and
     * the Theora decoder: thousands of uninitialised reads in those libraries,
     * a different set each run. The normal run covers this case. */
    if (g_getenv("WEBCAPTURE_UNDER_VALGRIND") && cs.uri == media_uri("truncated.ogg")) {
      GST_INFO("skipping %s under valgrind", cs.uri.c_str());
      continue;
    }
    Capture *c = capture_new(cs.uri);
    /* About one load of truncated.ogg in four, oggdemux fails while decodebin
     * is still setting it up and decodebin drops that error: nothing follows
     * but the stall watchdog's error, which must then come well within the
     * wait (its default, 30 s, was the wait). */
    g_object_set(c->src, "stall-timeout", 5.0, nullptr);
    capture_play(c);
    /* Generous: on a loaded machine the demuxer's search for the end of a cut
     * file can take long; the error must come, not come fast. */
    fail_unless(wc_wait_until([&] { return c->nerrors() > 0; }, 30000), "no error for %s",
                cs.uri.c_str());
    std::string text = error_text(c, 0);
    fail_unless(text.find(cs.uri) != std::string::npos, "error \"%s\" does not name %s",
                text.c_str(), cs.uri.c_str());
    if (cs.missing_plugin)
      fail_unless(c->missing_plugin > 0, "no missing-plugin message");
    /* reusable after NULL */
    gst_element_set_state(c->pipeline, GST_STATE_NULL);
    fail_unless_equals_int(GST_ELEMENT(c->src)->numsrcpads, 0);
    {
      std::lock_guard<std::mutex> lk(c->m);
      for (GstMessage *m : c->errors)
        gst_message_unref(m);
      c->errors.clear();
    }
    g_object_set(c->src, "uri", media_uri("video.ogg").c_str(), nullptr);
    capture_play(c);
    fail_unless(wc_wait_until([&] { return all_ended(c, 1); }, 10000), "not reusable after %s",
                cs.uri.c_str());
    assert_no_error(c);
    capture_free(c);
  }
}
GST_END_TEST;

/* Any order of state changes, repeatedly. */
GST_START_TEST(test_state_cycling)
{
  Capture *c = capture_new(media_uri("av.ogg"));
  GstState states[] = {GST_STATE_NULL, GST_STATE_READY, GST_STATE_PAUSED, GST_STATE_PLAYING};
  GRand *r = g_rand_new_with_seed(7);
  for (int i = 0; i < 40; i++) {
    GstState s = states[g_rand_int_range(r, 0, 4)];
    fail_if(gst_element_set_state(c->pipeline, s) == GST_STATE_CHANGE_FAILURE);
    wc_sleep_ms(g_rand_int_range(r, 0, 80));
  }
  g_rand_free(r);
  gst_element_set_state(c->pipeline, GST_STATE_NULL);
  fail_unless_equals_int(GST_ELEMENT(c->src)->numsrcpads, 0);
  size_t before;
  {
    std::lock_guard<std::mutex> lk(c->m);
    before = c->pads.size();
  }
  capture_play(c);
  fail_unless(wc_wait_until(
      [&] {
        std::lock_guard<std::mutex> lk(c->m);
        return c->pads.size() >= before + 2 && c->pads[before]->bufs.size() > 5;
      },
      5000));
  assert_no_error(c);
  capture_free(c);
}
GST_END_TEST;

/* ME-6: a new track is muted until its first content, and that is its only
 * change at start: pad-added shows muted=TRUE, then one notify::muted to
 * FALSE (not FALSE, TRUE, FALSE within the first milliseconds). */
struct MutedLog {
  std::mutex m;
  std::map<std::string, std::vector<bool>> states; /* at pad-added, then each notify */
};

GST_START_TEST(test_muted_until_content)
{
  Capture *c = capture_new(media_uri("av.ogg"));
  MutedLog log;
  /* pad-added is emitted before the pad's task starts: nothing is missed */
  g_signal_connect(c->src, "pad-added", G_CALLBACK(+[](GstElement *, GstPad *pad, MutedLog *l) {
                     auto record = +[](GstPad *p, GParamSpec *, MutedLog *ml) {
                       gchar *name = gst_pad_get_name(p);
                       std::lock_guard<std::mutex> lk(ml->m);
                       ml->states[name].push_back(wc_get_bool(p, "muted"));
                       g_free(name);
                     };
                     record(pad, nullptr, l);
                     g_signal_connect(pad, "notify::muted", G_CALLBACK(record), l);
                   }),
                   &log);
  capture_play(c);
  fail_unless(
      wc_wait_until([&] { return c->nbufs("video_0") > 10 && c->nbufs("audio_0") > 10; }, 5000));
  GstPad *vpad = gst_element_get_static_pad(c->src, "video_0");
  GstPad *apad = gst_element_get_static_pad(c->src, "audio_0");
  fail_unless(vpad && apad);
  /* the notify of the first content is emitted by the control thread */
  fail_unless(wc_wait_until(
      [&] { return !wc_get_bool(vpad, "muted") && !wc_get_bool(apad, "muted"); }, 5000));
  wc_sleep_ms(200);
  {
    std::lock_guard<std::mutex> lk(log.m);
    for (const char *name : {"video_0", "audio_0"}) {
      const std::vector<bool> &v = log.states[name];
      std::string seq;
      for (bool b : v)
        seq += b ? "T" : "F";
      /* TF; on a loaded machine an audio gap may mute it again later (TFTF), but
       * it never starts unmuted nor changes twice before its first content */
      fail_unless(v.size() >= 2 && v[0] && !v[1],
                  "%s: muted at pad-added then at each notify: %s (want TF)", name, seq.c_str());
    }
  }
  assert_no_error(c);
  gst_object_unref(vpad);
  gst_object_unref(apad);
  capture_free(c);
}
GST_END_TEST;

/* ME-3, ME-6: at the end of playback every track is muted (the end pauses),
 * then ends: the application sees each notify::muted before that pad's
 * pad-removed, and none after notify::ended (it was emitted after
 * pad-removed, 3 runs in 5 with a file whose audio ends 19 ms after its
 * video). */
struct EndLog {
  std::mutex m;
  std::vector<std::string> events;
};

static void end_log_add(EndLog *l, const char *what, GstPad *pad)
{
  gchar *name = pad ? gst_pad_get_name(pad) : nullptr;
  std::lock_guard<std::mutex> lk(l->m);
  l->events.push_back(std::string(what) + (name ? name : ""));
  g_free(name);
}

GST_START_TEST(test_no_mute_at_end)
{
  for (int run = 0; run < 3; run++) {
    /* its own pipeline, as an application writes it: sinks that sync and
     * preroll (the Capture fixture's do not preroll, and hid the defect) */
    GstElement *pipeline = gst_pipeline_new(nullptr);
    GstElement *src = gst_element_factory_make("mediacapturesrc", nullptr);
    g_object_set(src, "uri", media_uri(run == 2 ? "av.ogg" : "audio_longer.ogg").c_str(), nullptr);
    gst_bin_add(GST_BIN(pipeline), src);
    EndLog log;
    g_object_set_data(G_OBJECT(src), "pipeline", pipeline);
    g_signal_connect(src, "pad-added", G_CALLBACK(+[](GstElement *e, GstPad *pad, EndLog *l) {
                       auto *bin = GST_BIN(g_object_get_data(G_OBJECT(e), "pipeline"));
                       GstElement *sink = gst_element_factory_make("fakesink", nullptr);
                       g_object_set(sink, "sync", TRUE, nullptr);
                       gst_bin_add(bin, sink);
                       gst_element_sync_state_with_parent(sink);
                       GstPad *sinkpad = gst_element_get_static_pad(sink, "sink");
                       gst_pad_link(pad, sinkpad);
                       gst_object_unref(sinkpad);
                       g_signal_connect(pad, "notify::muted",
                                        G_CALLBACK(+[](GstPad *p, GParamSpec *, EndLog *ml) {
                                          end_log_add(ml, "muted:", p);
                                        }),
                                        l);
                     }),
                     &log);
    g_signal_connect(src, "pad-removed", G_CALLBACK(+[](GstElement *, GstPad *pad, EndLog *l) {
                       end_log_add(l, "removed:", pad);
                     }),
                     &log);
    g_signal_connect(src, "notify::ended", G_CALLBACK(+[](GObject *, GParamSpec *, EndLog *l) {
                       end_log_add(l, "ended", nullptr);
                     }),
                     &log);
    fail_unless(gst_element_set_state(pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
    fail_unless(wc_wait_until([&] { return wc_get_bool(src, "ended"); }, 15000),
                "playback did not end");
    wc_sleep_ms(300); /* a late notify would come now */
    gst_element_set_state(pipeline, GST_STATE_NULL);
    {
      std::lock_guard<std::mutex> lk(log.m);
      std::string all;
      for (auto &e : log.events)
        all += e + " ";
      bool ended = false;
      std::set<std::string> removed;
      for (auto &e : log.events) {
        if (e == "ended")
          ended = true;
        else if (g_str_has_prefix(e.c_str(), "removed:"))
          removed.insert(e.substr(strlen("removed:")));
        else if (g_str_has_prefix(e.c_str(), "muted:"))
          fail_if(ended || removed.count(e.substr(strlen("muted:"))),
                  "notify::muted after the end: %s", all.c_str());
      }
      fail_unless_equals_int((int)removed.size(), 2);
    }
    gst_object_unref(pipeline);
  }
}
GST_END_TEST;

/* ME-6, ME-7: paused -> muted: video sends nothing, audio sends exact
 * silence, continuous; unpaused -> unmuted. */
GST_START_TEST(test_paused_muted)
{
  Capture *c = capture_new(media_uri("av.ogg"));
  capture_play(c);
  fail_unless(wc_wait_until([&] { return c->nbufs("video_0") > 10; }, 5000));
  GstPad *vpad = gst_element_get_static_pad(c->src, "video_0");
  GstPad *apad = gst_element_get_static_pad(c->src, "audio_0");
  fail_unless(vpad && apad);
  fail_if(wc_get_bool(vpad, "muted"));
  fail_if(wc_get_bool(apad, "muted"));

  g_object_set(c->src, "paused", TRUE, nullptr);
  fail_unless(wc_wait_until(
      [&] { return wc_get_bool(vpad, "muted") && wc_get_bool(apad, "muted"); }, 1000));
  /* The tracks mute at once; the media element pauses on its control thread
   * after that (under valgrind, long after), and current-time may then step
   * back a few ms to the last rendered frame: it is read once it settled. */
  gdouble t1 = -1.0;
  fail_unless(wc_wait_until(
                  [&] {
                    gdouble t = wc_get_double(c->src, "current-time");
                    bool settled = t == t1;
                    t1 = t;
                    return settled;
                  },
                  5000, 50),
              "current-time does not settle once paused");
  wc_sleep_ms(100);
  size_t v_at = c->nbufs("video_0"), a_at = c->nbufs("audio_0");
  wc_sleep_ms(600);
  gdouble t2 = wc_get_double(c->src, "current-time");
  fail_unless(std::fabs(t2 - t1) < 0.01, "time moved while paused %f -> %f", t1, t2);
  fail_unless_equals_int((int)c->nbufs("video_0"), (int)v_at);
  {
    std::lock_guard<std::mutex> lk(c->m);
    PadRec *a = c->find("audio_0");
    fail_unless(a->bufs.size() >= a_at + 20, "audio stopped while paused (%zu -> %zu)", a_at,
                a->bufs.size());
    double secs = 0;
    for (size_t i = a_at; i < a->bufs.size(); i++) {
      fail_unless(a->bufs[i].peak == 0.0, "not silence while paused");
      secs += (double)a->bufs[i].dur / GST_SECOND;
    }
    fail_unless(secs > 0.45, "only %f s of silence in 0.6 s", secs);
    fail_unless(a->muted_events.back() == true);
  }
  g_object_set(c->src, "paused", FALSE, nullptr);
  fail_unless(wc_wait_until([&] { return c->nbufs("video_0") > v_at + 5; }, 2000));
  fail_unless(wc_wait_until(
      [&] { return !wc_get_bool(vpad, "muted") && !wc_get_bool(apad, "muted"); }, 1000));
  fail_unless(wc_wait_until([&] { return all_ended(c, 2); }, 10000));
  assert_video_increasing(c, c->find("video_0"));
  assert_audio_contiguous(c, c->find("audio_0"));
  assert_no_error(c);
  gst_object_unref(vpad);
  gst_object_unref(apad);
  capture_free(c);
}
GST_END_TEST;

/* ME-5: seeking fires no event, ends no track; no flush reaches the outer
 * pipeline and running time goes on. */
GST_START_TEST(test_seek_no_events)
{
  Capture *c = capture_new(media_uri("av.ogg"));
  capture_play(c);
  fail_unless(wc_wait_until([&] { return c->nbufs("video_0") > 20; }, 5000));
  g_object_set(c->src, "current-time", 0.2, nullptr);
  wc_sleep_ms(150);
  gdouble t = wc_get_double(c->src, "current-time");
  fail_unless(t < 0.6, "current-time after seek %f", t);
  fail_unless(wc_wait_until([&] { return all_ended(c, 2); }, 10000));
  assert_no_error(c);
  {
    std::lock_guard<std::mutex> lk(c->m);
    fail_unless_equals_int((int)c->pads.size(), 2);
    PadRec *v = c->find("video_0");
    /* replayed from 0.2 s: more frames than the file has */
    fail_unless(v->bufs.size() >= 70, "%zu frames", v->bufs.size());
    for (auto &p : c->pads)
      fail_unless_equals_int(p->flushes, 0);
  }
  assert_video_increasing(c, c->find("video_0"));
  assert_audio_contiguous(c, c->find("audio_0"));
  capture_free(c);
}
GST_END_TEST;

/* loop: no end, same tracks, content keeps coming. */
GST_START_TEST(test_loop)
{
  Capture *c = capture_new(media_uri("video.ogg"));
  g_object_set(c->src, "loop", TRUE, nullptr);
  capture_play(c);
  wc_sleep_ms(2600);
  {
    std::lock_guard<std::mutex> lk(c->m);
    fail_unless_equals_int((int)c->pads.size(), 1);
    PadRec *v = c->find("video_0");
    fail_if(v->eos);
    fail_unless(v->bufs.size() >= 65, "%zu frames in 2.6 s of a 1 s loop", v->bufs.size());
  }
  fail_if(wc_get_bool(c->src, "ended"));
  assert_video_increasing(c, c->find("video_0"));
  assert_no_error(c);
  capture_free(c);
}
GST_END_TEST;

/* A chained Ogg plays chain after chain on the same tracks, as a browser
 * plays it: the video caps change (160x120 then 320x240) on video_0, no track
 * is added, and the tracks end after the last chain. Before, decodebin's new
 * chain came as new, unselected streams: the tracks were muted after the
 * first chain and the media element never ended (the first chain's sinks got
 * no EOS), until stall-timeout. */
GST_START_TEST(test_chained_ogg)
{
  Capture *c = capture_new(media_uri("chained.ogg"));
  capture_play(c);
  fail_unless(wc_wait_until(
                  [&] {
                    std::lock_guard<std::mutex> lk(c->m);
                    PadRec *v = c->find("video_0"), *a = c->find("audio_0");
                    return v && a && v->eos && a->eos;
                  },
                  20000),
              "the tracks did not end after the last chain");
  {
    std::lock_guard<std::mutex> lk(c->m);
    fail_unless_equals_int((int)c->pads.size(), 2);
    PadRec *v = c->find("video_0"), *a = c->find("audio_0");
    /* both chains: 60 frames, 2 s of audio (a loaded machine may drop some) */
    fail_unless(v->bufs.size() >= 45, "%zu frames of 60", v->bufs.size());
    guint64 samples = 0;
    for (auto &b : a->bufs)
      if (!b.gap)
        samples += b.samples;
    fail_unless(samples >= 48000 * 3 / 2, "%" G_GUINT64_FORMAT " samples of 96000", samples);
  }
  fail_unless(wc_get_bool(c->src, "ended"));
  assert_video_increasing(c, c->find("video_0"));
  assert_no_error(c);
  capture_free(c);
}
GST_END_TEST;

/* Downstream that wants no more (GST_FLOW_EOS from a sink that took its
 * num-buffers) gets an EOS event on that track, as from any source, even
 * though the media element loops on: the pipeline posts EOS. */
GST_START_TEST(test_downstream_eos)
{
  std::string desc = "mediacapturesrc loop=true uri=" + media_uri("audio.ogg") +
                     " ! fakesink num-buffers=10 sync=true";
  GError *err = nullptr;
  GstElement *pipeline = gst_parse_launch(desc.c_str(), &err);
  fail_unless(pipeline != nullptr && err == nullptr, "%s", err ? err->message : "no pipeline");
  leftover_watch(pipeline);
  fail_if(gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE);
  GstBus *bus = gst_element_get_bus(pipeline);
  GstMessage *msg = gst_bus_timed_pop_filtered(
      bus, 10 * GST_SECOND, (GstMessageType)(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  fail_unless(msg != nullptr, "no EOS 10 s after the sink returned EOS to the track");
  fail_unless_equals_int(GST_MESSAGE_TYPE(msg), GST_MESSAGE_EOS);
  gst_message_unref(msg);
  fail_unless_equals_int(gst_element_set_state(pipeline, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
  gst_object_unref(bus);
  gst_object_unref(pipeline);
}
GST_END_TEST;

/* A track linked to a pad that is not active yet (a tee branch still in NULL)
 * gets FLUSHING from downstream: it drops those buffers and goes on, and the
 * consumer gets the track once it is up. A GstBaseSrc would pause its task for
 * good; nothing would ever restart a track's. */
GST_START_TEST(test_downstream_not_active_yet)
{
  Capture *c = capture_new(media_uri("av.ogg"));
  g_object_set(c->src, "loop", TRUE, nullptr);
  c->hold_sinks = true;
  capture_play(c);
  fail_unless(wc_wait_until([&] { return c->count("nmp") == 1; }, 5000), "no tracks");
  wc_sleep_ms(500); /* the tracks push into pads that answer FLUSHING */
  PadRec *v = c->find("video_0");
  PadRec *a = c->find("audio_0");
  fail_unless_equals_int(v->sunk.load(), 0);
  fail_unless_equals_int(a->sunk.load(), 0);
  release_sinks(c);
  fail_unless(wc_wait_until([&] { return v->sunk > 10 && a->sunk > 10; }, 5000),
              "the tracks stopped when downstream answered FLUSHING: the consumers got %d video "
              "and %d audio buffers once active",
              v->sunk.load(), a->sunk.load());
  assert_video_increasing(c, v);
  assert_audio_contiguous(c, a);
  assert_no_error(c);
  capture_free(c);
}
GST_END_TEST;

/* ME-9: rate 2 plays twice as fast with audio kept; rate 8 mutes audio. */
GST_START_TEST(test_playback_rate)
{
  Capture *c = capture_new(media_uri("av.ogg"));
  g_object_set(c->src, "playback-rate", 2.0, nullptr);
  capture_play(c);
  fail_unless(wc_wait_until([&] { return all_ended(c, 2); }, 10000));
  assert_no_error(c);
  {
    std::lock_guard<std::mutex> lk(c->m);
    PadRec *v = c->find("video_0");
    double span = (double)(v->bufs.back().pts - v->bufs.front().pts) / GST_SECOND;
    fail_unless(span > 0.85 && span < 1.15, "video span at rate 2: %f", span);
  }
  if (keeps_real_time()) {
    double secs = audio_seconds(c, c->find("audio_0"), true);
    fail_unless(secs > 0.85 && secs < 1.2, "audio at rate 2: %f s", secs);
    /* pitch kept: still ~440 Hz */
    double f = estimate_freq(c, c->find("audio_0"));
    fail_unless(std::fabs(f - 440) < 40, "pitch at rate 2: %f Hz", f);
  }
  capture_free(c);

  c = capture_new(media_uri("av.ogg"));
  g_object_set(c->src, "playback-rate", 8.0, nullptr);
  capture_play(c);
  fail_unless(
      wc_wait_until([&] { return c->nbufs("audio_0") > 0 && c->nbufs("video_0") > 0; }, 5000));
  GstPad *apad = gst_element_get_static_pad(c->src, "audio_0");
  GstPad *vpad = gst_element_get_static_pad(c->src, "video_0");
  if (apad && vpad) {
    fail_unless(wc_get_bool(apad, "muted"));
  }
  gst_clear_object(&apad);
  gst_clear_object(&vpad);
  fail_unless(wc_wait_until([&] { return all_ended(c, 2); }, 10000));
  {
    std::lock_guard<std::mutex> lk(c->m);
    PadRec *a = c->find("audio_0");
    for (auto &b : a->bufs)
      fail_unless(b.peak == 0.0, "audio not silent at rate 8");
    fail_unless(c->find("video_0")->bufs.size() > 3);
    fail_unless(std::find(c->find("video_0")->muted_events.begin(),
                          c->find("video_0")->muted_events.end(),
                          false) != c->find("video_0")->muted_events.end());
  }
  capture_free(c);
}
GST_END_TEST;

/* ME-6: the audio track of a file whose audio starts 1 s after its video is
 * muted (silence) until its content starts. */
GST_START_TEST(test_late_audio_muted)
{
  Capture *c = capture_new(media_uri("late_audio.mkv"));
  capture_play(c);
  fail_unless(wc_wait_until([&] { return all_ended(c, 2); }, 10000));
  assert_no_error(c);
  {
    std::lock_guard<std::mutex> lk(c->m);
    PadRec *v = c->find("video_0"), *a = c->find("audio_0");
    fail_unless(v && a);
    fail_unless(!a->muted_events.empty() && a->muted_events.front() == true);
    fail_unless(std::find(a->muted_events.begin(), a->muted_events.end(), false) !=
                a->muted_events.end());
    GstClockTime onset = GST_CLOCK_TIME_NONE;
    for (auto &b : a->bufs)
      if (b.peak > 0.05) {
        onset = b.pts;
        break;
      }
    if (keeps_real_time()) {
      fail_unless(GST_CLOCK_TIME_IS_VALID(onset));
      double delay = (double)GST_CLOCK_DIFF(v->bufs.front().pts, onset) / GST_SECOND;
      fail_unless(delay > 0.93 && delay < 1.07, "audio starts %f s after video", delay);
    }
    /* silence before it */
    fail_unless(a->bufs.front().peak == 0.0);
  }
  capture_free(c);
}
GST_END_TEST;

/* ME-4: playing again after the end creates new tracks. */
GST_START_TEST(test_restart_after_end)
{
  Capture *c = capture_new(media_uri("video.ogg"));
  capture_play(c);
  fail_unless(wc_wait_until([&] { return all_ended(c, 1); }, 10000));
  fail_unless(wc_get_bool(c->src, "ended"));
  g_object_set(c->src, "paused", FALSE, nullptr);
  fail_unless(wc_wait_until([&] { return c->nbufs("video_1") > 5; }, 5000));
  fail_if(wc_get_bool(c->src, "ended"));
  fail_unless(wc_wait_until([&] { return all_ended(c, 2); }, 10000));
  /* current-time after the end: new tracks, still paused (HTML: the end
   * paused the element), so muted until played */
  g_object_set(c->src, "current-time", 0.5, nullptr);
  fail_unless(wc_wait_until([&] { return c->count("add:video_2") == 1; }, 5000));
  GstPad *vpad = gst_element_get_static_pad(c->src, "video_2");
  fail_unless(vpad != nullptr);
  fail_unless(wc_wait_until([&] { return wc_get_bool(vpad, "muted"); }, 1000));
  gst_object_unref(vpad);
  fail_unless_equals_int((int)c->nbufs("video_2"), 0);
  g_object_set(c->src, "paused", FALSE, nullptr);
  fail_unless(wc_wait_until([&] { return all_ended(c, 3); }, 10000));
  assert_no_error(c);
  {
    std::lock_guard<std::mutex> lk(c->m);
    fail_unless(c->find("video_2") != nullptr);
    size_t n = c->find("video_2")->bufs.size();
    fail_unless(n >= 12 && n <= 16, "%zu frames from 0.5 s of a 1 s file", n);
  }
  capture_free(c);
}
GST_END_TEST;

/* ME-3, ME-4: changing the selection while playing ends only the deselected
 * tracks (EOS, removed) and adds only the newly selected ones, as new tracks;
 * the other tracks and playback go on. */
GST_START_TEST(test_selection_change)
{
  Capture *c = capture_new(media_uri("av.ogg"));
  capture_play(c);
  fail_unless(wc_wait_until([&] { return c->nbufs("video_0") > 15; }, 5000));
  g_object_set(c->src, "audio-tracks", "none", nullptr);
  fail_unless(wc_wait_until(
      [&] {
        std::lock_guard<std::mutex> lk(c->m);
        return c->find("audio_0")->removed;
      },
      5000));
  size_t at = c->nbufs("video_0");
  fail_unless(wc_wait_until([&] { return c->nbufs("video_0") > at + 5; }, 5000),
              "the selected video track did not go on");
  {
    std::lock_guard<std::mutex> lk(c->m);
    PadRec *a = c->find("audio_0");
    fail_unless(a->eos && a->removed && !a->removed_before_eos);
    fail_unless(c->find("audio_1") == nullptr, "a deselected audio track came back");
    fail_unless(c->find("video_1") == nullptr, "the video track was restarted");
    fail_if(c->find("video_0")->eos);
  }
  g_object_set(c->src, "audio-tracks", "0", "video-track", -1, nullptr);
  fail_unless(wc_wait_until([&] { return c->nbufs("audio_1") > 3; }, 5000));
  fail_unless(wc_wait_until([&] { return all_ended(c, 3); }, 10000));
  assert_no_error(c);
  {
    std::lock_guard<std::mutex> lk(c->m);
    fail_unless(c->find("video_1") == nullptr, "video-track=-1 still has a video track");
    fail_unless_equals_int((int)c->pads.size(), 3);
    /* video_0 ended when deselected, before the end of the file */
    fail_unless(c->find("video_0")->bufs.size() < 57);
  }
  /* audio_1 continued from the position: less than the file's 2 s */
  double secs = audio_seconds(c, c->find("audio_1"), true);
  fail_unless(secs > 0.1 && secs < 1.7, "audio_1 played %f s", secs);
  capture_free(c);
}
GST_END_TEST;

/* The media's stream tags go downstream; the title is the track's label. */
GST_START_TEST(test_tags_and_label)
{
  Capture *c = capture_new(media_uri("titled.mka"));
  capture_play(c);
  fail_unless(wc_wait_until([&] { return all_ended(c, 1); }, 10000));
  assert_no_error(c);
  {
    std::lock_guard<std::mutex> lk(c->m);
    PadRec *a = c->find("audio_0");
    fail_unless(a->tag_title == "Commentary", "title tag \"%s\"", a->tag_title.c_str());
    fail_unless(a->label == "Commentary", "label \"%s\"", a->label.c_str());
  }
  capture_free(c);
}
GST_END_TEST;

/* A/V sync within 20 ms after capture, also after pause, rate change and seek. */
static void check_sync(Capture *c, int expected_flashes)
{
  if (!keeps_real_time())
    return;
  std::lock_guard<std::mutex> lk(c->m);
  PadRec *v = c->find("video_0"), *a = c->find("audio_0");
  fail_unless(v && a);
  std::vector<GstClockTime> vf, af;
  for (size_t i = 1; i < v->bufs.size(); i++)
    if (v->bufs[i].luma > 128 && v->bufs[i - 1].luma < 64)
      vf.push_back(v->bufs[i].pts);
  /* an onset follows at least 50 ms of the media's own silence; silence the
   * element inserted (a pause, or a gap when a loaded machine starves the
   * decoder) neither counts as quiet nor ends it: the tone resuming after such
   * a gap is not a new onset */
  GstClockTime quiet = GST_SECOND;
  for (auto &b : a->bufs) {
    if (b.gap)
      continue;
    if (quiet >= 50 * GST_MSECOND && GST_CLOCK_TIME_IS_VALID(b.onset)) {
      af.push_back(b.onset);
      quiet = 0;
    } else if (!GST_CLOCK_TIME_IS_VALID(b.onset)) {
      quiet += b.dur;
    } else {
      quiet = 0;
    }
  }
  fail_unless_equals_int((int)vf.size(), expected_flashes);
  fail_unless_equals_int((int)af.size(), expected_flashes);
  for (size_t i = 0; i < vf.size(); i++) {
    double d = (double)GST_CLOCK_DIFF(vf[i], af[i]) / GST_MSECOND;
    GST_INFO("flash %zu: audio - video = %.1f ms", i, d);
    fail_unless(std::fabs(d) < 20.0, "flash %zu: audio - video = %.1f ms", i, d);
  }
}

GST_START_TEST(test_av_sync)
{
  Capture *c = capture_new(media_uri("sync.ogg"));
  capture_play(c);
  fail_unless(wc_wait_until([&] { return all_ended(c, 2); }, 10000));
  assert_no_error(c);
  check_sync(c, 1);
  capture_free(c);

  /* pause, rate 1.5, then a seek back across the flash */
  c = capture_new(media_uri("sync.ogg"));
  capture_play(c);
  fail_unless(wc_wait_until([&] { return c->nbufs("video_0") > 8; }, 5000));
  g_object_set(c->src, "paused", TRUE, nullptr);
  wc_sleep_ms(300);
  g_object_set(c->src, "paused", FALSE, nullptr);
  wc_sleep_ms(200);
  g_object_set(c->src, "playback-rate", 1.5, nullptr);
  fail_unless(wc_wait_until([&] { return wc_get_double(c->src, "current-time") > 1.4; }, 5000));
  g_object_set(c->src, "current-time", 0.4, nullptr);
  fail_unless(wc_wait_until([&] { return all_ended(c, 2); }, 10000));
  assert_no_error(c);
  check_sync(c, 2);
  capture_free(c);
}
GST_END_TEST;

/* ------------------------------------------------------------ HTTP (ME-10) */

struct HttpServer {
  GThreadedSocketService *service = nullptr;
  GMainContext *context = nullptr;
  GMainLoop *loop = nullptr;
  std::thread thread;
  guint16 port = 0;
  std::string other; /* base URL of the other origin */
  std::atomic<int> requests{0};
  std::atomic<int> range_requests{0};
  std::atomic<gint64> body_bytes{0}; /* of files, sent so far */
  std::atomic<bool> stopping{false}; /* ends a stalled response */
};

static gboolean http_run(GThreadedSocketService *service, GSocketConnection *conn, GObject *source,
                         gpointer user_data)
{
  HttpServer *srv = static_cast<HttpServer *>(user_data);
  GInputStream *in = g_io_stream_get_input_stream(G_IO_STREAM(conn));
  GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(conn));
  GDataInputStream *din = g_data_input_stream_new(in);
  g_filter_input_stream_set_close_base_stream(G_FILTER_INPUT_STREAM(din), FALSE);
  gchar *line = g_data_input_stream_read_line(din, nullptr, nullptr, nullptr);
  std::string path;
  gint64 range_start = -1, range_end = -1;
  if (line) {
    gchar **parts = g_strsplit(line, " ", 3);
    if (parts[0] && parts[1])
      path = parts[1];
    g_strfreev(parts);
    g_free(line);
    while ((line = g_data_input_stream_read_line(din, nullptr, nullptr, nullptr))) {
      g_strchomp(line);
      if (*line == '\0') {
        g_free(line);
        break;
      }
      if (g_ascii_strncasecmp(line, "Range: bytes=", 13) == 0) {
        gchar *end = nullptr;
        range_start = g_ascii_strtoll(line + 13, &end, 10);
        if (end && *end == '-' && g_ascii_isdigit(end[1]))
          range_end = g_ascii_strtoll(end + 1, nullptr, 10);
      }
      g_free(line);
    }
  }
  srv->requests++;
  if (range_start > 0)
    srv->range_requests++;

  std::string resp;
  gchar *body = nullptr;
  gsize len = 0;
  std::string file;
  bool redirect = false;
  bool slow = false; /* 64 KB/s */
  if (path == "/redirect")
    redirect = true;
  else if (path == "/redirect-wav")
    redirect = true, file = "tone.wav";
  else if (path == "/tone-redirect-on-seek.wav")
    redirect = range_start > 0, file = "tone.wav";
  else if (g_str_has_prefix(path.c_str(), "/redirect-on-range/"))
    redirect = range_start > 0, file = path.substr(strlen("/redirect-on-range/"));
  else if (path == "/live.ogg") {
    /* an endless Ogg (Icecast-like): no length, no ranges, made live until
     * the client goes or the server stops */
    resp = "HTTP/1.1 200 OK\r\nContent-Type: application/ogg\r\nConnection: close\r\n\r\n";
    g_output_stream_write_all(out, resp.data(), resp.size(), nullptr, nullptr, nullptr);
    gchar *desc = g_strdup_printf(
        "videotestsrc is-live=true ! video/x-raw,width=160,height=120,framerate=30/1 ! "
        "theoraenc ! oggmux name=m ! fdsink fd=%d audiotestsrc is-live=true "
        "samplesperbuffer=960 ! audio/x-raw,rate=48000,channels=2 ! vorbisenc ! m.",
        g_socket_get_fd(g_socket_connection_get_socket(conn)));
    GstElement *live = gst_parse_launch(desc, nullptr);
    g_free(desc);
    if (live) {
      gst_element_set_state(live, GST_STATE_PLAYING);
      GstBus *bus = gst_element_get_bus(live);
      while (!srv->stopping) {
        GstMessage *m = gst_bus_timed_pop_filtered(
            bus, 50 * GST_MSECOND, (GstMessageType)(GST_MESSAGE_ERROR | GST_MESSAGE_EOS));
        if (m) { /* the client went (a write failed) */
          gst_message_unref(m);
          break;
        }
      }
      gst_object_unref(bus);
      gst_element_set_state(live, GST_STATE_NULL);
      gst_object_unref(live);
    }
    g_object_unref(din);
    g_io_stream_close(G_IO_STREAM(conn), nullptr, nullptr);
    return TRUE;
  } else if (g_str_has_prefix(path.c_str(), "/slow/")) {
    file = path.substr(strlen("/slow/"));
    slow = true;
  } else if (path == "/stall") {
    /* headers, then nothing until the server stops */
    resp = "HTTP/1.1 200 OK\r\nContent-Type: application/ogg\r\nContent-Length: 1000000\r\n"
           "Connection: close\r\n\r\n";
    g_output_stream_write_all(out, resp.data(), resp.size(), nullptr, nullptr, nullptr);
    for (int i = 0; i < 600 && !srv->stopping; i++)
      g_usleep(50000);
    g_object_unref(din);
    g_io_stream_close(G_IO_STREAM(conn), nullptr, nullptr);
    return TRUE;
  } else if (path.size() > 1)
    file = path.substr(1);
  if (redirect) {
    std::string target = srv->other + (file.empty() ? "/av.ogg" : "/" + file);
    resp = "HTTP/1.1 302 Found\r\nLocation: " + target +
           "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    g_output_stream_write_all(out, resp.data(), resp.size(), nullptr, nullptr, nullptr);
  } else if (!file.empty() && file.find('/') == std::string::npos &&
             g_file_get_contents(media_path(file.c_str()).c_str(), &body, &len, nullptr)) {
    gsize start = range_start > 0 && (gsize)range_start < len ? (gsize)range_start : 0;
    gsize last = range_end >= (gint64)start && (gsize)range_end < len ? (gsize)range_end : len - 1;
    gchar *hdr;
    if (range_start >= 0)
      hdr =
          g_strdup_printf("HTTP/1.1 206 Partial Content\r\nContent-Type: application/octet-"
                          "stream\r\nAccept-Ranges: bytes\r\nContent-Range: bytes %" G_GSIZE_FORMAT
                          "-%" G_GSIZE_FORMAT "/%" G_GSIZE_FORMAT
                          "\r\nContent-Length: %" G_GSIZE_FORMAT "\r\nConnection: close\r\n\r\n",
                          start, last, len, last + 1 - start);
    else
      hdr = g_strdup_printf("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                            "Accept-Ranges: bytes\r\nContent-Length: %" G_GSIZE_FORMAT
                            "\r\nConnection: close\r\n\r\n",
                            len);
    g_output_stream_write_all(out, hdr, strlen(hdr), nullptr, nullptr, nullptr);
    gsize count = range_start >= 0 ? last + 1 - start : len;
    for (gsize done = 0, step = slow ? 4096 : count; done < count && !srv->stopping; done += step) {
      gsize n = std::min(step, count - done);
      if (!g_output_stream_write_all(out, body + start + done, n, nullptr, nullptr, nullptr))
        break;
      srv->body_bytes += n;
      if (slow)
        g_usleep(62500);
    }
    g_free(hdr);
    g_free(body);
  } else {
    resp = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    g_output_stream_write_all(out, resp.data(), resp.size(), nullptr, nullptr, nullptr);
  }
  g_object_unref(din);
  g_io_stream_close(G_IO_STREAM(conn), nullptr, nullptr);
  return TRUE;
}

static HttpServer *http_server_new()
{
  HttpServer *srv = new HttpServer();
  /* GSocketService accepts on the thread-default context of its creation:
   * it gets its own context and loop thread. */
  srv->context = g_main_context_new();
  srv->loop = g_main_loop_new(srv->context, FALSE);
  g_main_context_push_thread_default(srv->context);
  srv->service = G_THREADED_SOCKET_SERVICE(g_threaded_socket_service_new(8));
  GInetAddress *lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
  GSocketAddress *addr = g_inet_socket_address_new(lo, 0);
  GSocketAddress *effective = nullptr;
  fail_unless(g_socket_listener_add_address(G_SOCKET_LISTENER(srv->service), addr,
                                            G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, nullptr,
                                            &effective, nullptr));
  srv->port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(effective));
  g_object_unref(effective);
  g_object_unref(addr);
  g_object_unref(lo);
  g_signal_connect(srv->service, "run", G_CALLBACK(http_run), srv);
  g_socket_service_start(G_SOCKET_SERVICE(srv->service));
  g_main_context_pop_thread_default(srv->context);
  srv->thread = std::thread([srv] {
    g_main_context_push_thread_default(srv->context);
    g_main_loop_run(srv->loop);
    g_main_context_pop_thread_default(srv->context);
  });
  std::lock_guard<std::mutex> lk(leftovers_m);
  leftover_servers.push_back(srv);
  return srv;
}

static std::string http_base(HttpServer *s)
{
  return "http://127.0.0.1:" + std::to_string(s->port);
}

static void http_server_free(HttpServer *s)
{
  leftover_forget(leftover_servers, s);
  s->stopping = true;
  /* Stopped on the server's own thread; the loop quits only once the
   * cancelled accept has completed there (its source leaked otherwise). */
  g_main_context_invoke(
      s->context,
      [](gpointer data) -> gboolean {
        auto *srv = static_cast<HttpServer *>(data);
        g_socket_service_stop(G_SOCKET_SERVICE(srv->service));
        g_socket_listener_close(G_SOCKET_LISTENER(srv->service));
        GSource *idle = g_idle_source_new();
        g_source_set_priority(idle, G_PRIORITY_LOW);
        g_source_set_callback(
            idle,
            [](gpointer loop) -> gboolean {
              g_main_loop_quit(static_cast<GMainLoop *>(loop));
              return G_SOURCE_REMOVE;
            },
            srv->loop, nullptr);
        g_source_attach(idle, srv->context);
        g_source_unref(idle);
        return G_SOURCE_REMOVE;
      },
      s);
  s->thread.join();
  g_object_unref(s->service);
  g_main_loop_unref(s->loop);
  g_main_context_unref(s->context);
  delete s;
}

static void set_origins(GstElement *src, std::vector<std::string> origins)
{
  std::vector<const gchar *> v;
  for (auto &o : origins)
    v.push_back(o.c_str());
  v.push_back(nullptr);
  g_object_set(src, "allowed-origins", v.data(), nullptr);
}

static void assert_security_error(Capture *c)
{
  fail_unless(wc_wait_until([&] { return c->nerrors() > 0; }, 5000), "no SecurityError");
  GError *err;
  std::string text = error_text(c, 0, &err);
  fail_unless(g_error_matches(err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_AUTHORIZED),
              "not NOT_AUTHORIZED: %s", text.c_str());
  fail_unless(g_str_has_prefix(text.c_str(), "SecurityError: "), "%s", text.c_str());
  g_error_free(err);
  const GstStructure *details = nullptr;
  {
    std::lock_guard<std::mutex> lk(c->m);
    gst_message_parse_error_details(c->errors[0], &details);
    fail_unless(details && g_strcmp0(gst_structure_get_string(details, "dom-exception"),
                                     "SecurityError") == 0);
  }
}

GST_START_TEST(test_allowed_origins)
{
  HttpServer *a = http_server_new(), *b = http_server_new();
  a->other = http_base(b);
  b->other = http_base(a);

  /* outside allowed-origins: SecurityError, no track, nothing read */
  Capture *c = capture_new(http_base(b) + "/av.ogg");
  set_origins(c->src, {http_base(a) + "/"});
  capture_play(c);
  assert_security_error(c);
  wc_sleep_ms(200);
  {
    std::lock_guard<std::mutex> lk(c->m);
    fail_unless_equals_int((int)c->pads.size(), 0);
  }
  fail_unless_equals_int(b->requests.load(), 0);
  capture_free(c);

  /* a port is an origin: the same host on another port is outside */
  c = capture_new(http_base(a) + "/redirect");
  set_origins(c->src, {http_base(a)});
  capture_play(c);
  assert_security_error(c);
  wc_sleep_ms(300);
  {
    std::lock_guard<std::mutex> lk(c->m);
    fail_unless_equals_int((int)c->pads.size(), 0);
  }
  capture_free(c);

  /* inside: plays, through the redirect. WAV: with Ogg over this HTTP server
   * (push mode, oggdemux's duration seek), a decoder failed about one run in
   * ten with "Could not decode stream"; not investigated further. */
  c = capture_new(http_base(a) + "/redirect-wav");
  set_origins(c->src, {http_base(a) + "/", http_base(b) + "/"});
  capture_play(c);
  fail_unless(wc_wait_until([&] { return all_ended(c, 1); }, 10000));
  fail_unless(audio_seconds(c, c->find("audio_0"), true) > 2.5,
              "the redirected media did not play");
  assert_no_error(c);
  capture_free(c);

  /* mid-stream redirect to another origin (the seek's range request): the
   * track is muted and nothing of the new origin is output */
  int b_before = b->requests.load();
  c = capture_new(http_base(a) + "/tone-redirect-on-seek.wav");
  set_origins(c->src, {http_base(a) + "/"});
  capture_play(c);
  fail_unless(wc_wait_until([&] { return c->nbufs("audio_0") > 20; }, 5000));
  fail_unless(audio_seconds(c, c->find("audio_0"), true) > 0.1, "no tone before the redirect");
  GstPad *apad = gst_element_get_static_pad(c->src, "audio_0");
  g_object_set(c->src, "current-time", 2.0, nullptr);
  fail_unless(wc_wait_until([&] { return wc_get_bool(apad, "muted"); }, 3000),
              "not muted after the redirect");
  size_t at = c->nbufs("audio_0");
  wc_sleep_ms(700);
  {
    std::lock_guard<std::mutex> lk(c->m);
    fail_unless(!c->find("audio_0")->muted_events.empty());
  }
  fail_unless(b->requests.load() > b_before, "the redirect was not followed");
  {
    std::lock_guard<std::mutex> lk(c->m);
    PadRec *p = c->find("audio_0");
    /* the media element plays on (and may reach its end): only silence */
    for (size_t i = at; i < p->bufs.size(); i++)
      fail_unless(p->bufs[i].peak == 0.0, "content of the other origin leaked");
    fail_unless(std::find(p->muted_events.begin(), p->muted_events.end(), true) !=
                p->muted_events.end());
  }
  gst_object_unref(apad);
  assert_no_error(c);
  capture_free(c);

  http_server_free(a);
  http_server_free(b);
}
GST_END_TEST;

/* ------------------------------------------- GStreamer contracts (issue list) */

static GstElement *parse(const std::string &desc)
{
  GError *err = nullptr;
  GstElement *p = gst_parse_launch(desc.c_str(), &err);
  fail_unless(p != nullptr && err == nullptr, "%s: %s", desc.c_str(), err ? err->message : "");
  return leftover_watch(p);
}

static GstMessage *pop(GstElement *pipeline, int seconds, GstMessageType types)
{
  GstBus *bus = gst_element_get_bus(pipeline);
  GstMessage *m = gst_bus_timed_pop_filtered(bus, seconds * GST_SECOND, types);
  gst_object_unref(bus);
  return m;
}

/* Downstream takes none of a track's caps: an ERROR saying not-negotiated,
 * as from any source (it was swallowed: no buffer, no error, a clean EOS),
 * for audio and for video. */
GST_START_TEST(test_not_negotiated)
{
  for (const char *branch : {"m.audio_0 ! audio/x-raw,rate=8000 ! fakesink",
                             "m.video_0 ! video/x-raw,width=999 ! fakesink"}) {
    GstElement *p = parse("mediacapturesrc name=m uri=" + media_uri("av.ogg") + " " + branch);
    fail_if(gst_element_set_state(p, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE);
    GstMessage *m =
        pop(p, 10, (GstMessageType)(GST_MESSAGE_ERROR | GST_MESSAGE_EOS | GST_MESSAGE_WARNING));
    fail_unless(m != nullptr, "%s: no message in 10 s", branch);
    fail_unless(GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR, "%s: %s, not an ERROR", branch,
                GST_MESSAGE_TYPE_NAME(m));
    GError *err = nullptr;
    gchar *debug = nullptr;
    gst_message_parse_error(m, &err, &debug);
    fail_unless(g_error_matches(err, GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED), "%s: %s", branch,
                err->message);
    fail_unless(debug && strstr(debug, "not-negotiated"), "%s: %s", branch, debug);
    g_error_free(err);
    g_free(debug);
    gst_message_unref(m);
    gst_element_set_state(p, GST_STATE_NULL);
    gst_object_unref(p);
  }
}
GST_END_TEST;

/* EOS sent to the pipeline (gst-launch-1.0 -e): every track sends EOS after
 * what is queued, the pipeline posts EOS, and a muxer finalizes its file. */
GST_START_TEST(test_eos_event)
{
  std::string out = media_path("eos-out.ogg");
  GstElement *p = parse("mediacapturesrc loop=true name=m uri=" + media_uri("av.ogg") +
                        " m.audio_0 ! queue ! audioconvert ! vorbisenc ! oggmux ! filesink "
                        "location=" +
                        out + " m.video_0 ! queue ! fakesink sync=true");
  fail_if(gst_element_set_state(p, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE);
  GstElement *m = gst_bin_get_by_name(GST_BIN(p), "m");
  fail_unless(wc_wait_until([&] { return GST_ELEMENT(m)->numsrcpads == 2; }, 10000));
  wc_sleep_ms(1500);
  fail_unless(gst_element_send_event(p, gst_event_new_eos()), "EOS not taken");
  GstMessage *msg = pop(p, 10, (GstMessageType)(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  fail_unless(msg != nullptr, "no EOS message after the EOS event");
  fail_unless_equals_int(GST_MESSAGE_TYPE(msg), GST_MESSAGE_EOS);
  gst_message_unref(msg);
  gst_element_set_state(p, GST_STATE_NULL);
  gst_object_unref(m);
  gst_object_unref(p);
  /* the recording is a complete Ogg file: it plays to its end */
  p = parse("filesrc location=" + out + " ! oggdemux ! vorbisdec ! fakesink");
  fail_if(gst_element_set_state(p, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE);
  msg = pop(p, 10, (GstMessageType)(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  fail_unless(msg && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS, "the recording does not play");
  gst_message_unref(msg);
  gst_element_set_state(p, GST_STATE_NULL);
  gst_object_unref(p);
}
GST_END_TEST;

static int loud_buffers(Capture *c, size_t first_pad)
{
  std::lock_guard<std::mutex> lk(c->m);
  int n = 0;
  for (size_t i = first_pad; i < c->pads.size(); i++)
    for (auto &b : c->pads[i]->bufs)
      n += !c->pads[i]->video && b.peak > 0.05;
  return n;
}

/* Run to the end, NULL, run again: the second run plays the same (not muted,
 * ends) on new pads (audio_1: indices were reused, audio_0 again); the
 * end-of-playback paused does not survive the stop. A uri set after the end
 * plays the new medium. */
GST_START_TEST(test_run_again_after_end)
{
  Capture *c = capture_new(media_uri("audio.ogg"));
  for (int run = 0; run < 2; run++) {
    size_t first;
    {
      std::lock_guard<std::mutex> lk(c->m);
      first = c->pads.size();
    }
    capture_play(c);
    fail_unless(wc_wait_until([&] { return all_ended(c, first + 1); }, 10000), "run %d did not end",
                run);
    fail_unless(loud_buffers(c, first) > 20, "run %d: muted", run);
    fail_unless(wc_get_bool(c->src, "ended"));
    gst_element_set_state(c->pipeline, GST_STATE_NULL);
    fail_if(wc_get_bool(c->src, "paused"), "the end's paused survived the stop");
    fail_if(wc_get_bool(c->src, "ended"));
  }
  {
    /* ME-4: an index is never reused in the element's life, runs included */
    std::lock_guard<std::mutex> lk(c->m);
    fail_unless(c->pads[0]->name == "audio_0" && c->pads[1]->name == "audio_1",
                "pads of two runs: %s, %s", c->pads[0]->name.c_str(), c->pads[1]->name.c_str());
  }
  /* a new uri after the end (while playing) plays */
  capture_play(c);
  fail_unless(wc_wait_until([&] { return all_ended(c, 3); }, 10000));
  g_object_set(c->src, "uri", media_uri("video.ogg").c_str(), nullptr);
  fail_unless(wc_wait_until([&] { return c->nbufs("video_0") > 10; }, 5000),
              "a uri set after the end does not play");
  fail_unless(wc_wait_until([&] { return all_ended(c, 4); }, 10000));
  /* the application's own paused survives */
  gst_element_set_state(c->pipeline, GST_STATE_NULL);
  g_object_set(c->src, "paused", TRUE, nullptr);
  capture_play(c);
  fail_unless(wc_wait_until([&] { return c->count("nmp") == 5; }, 5000));
  fail_unless(wc_get_bool(c->src, "paused"));
  assert_no_error(c);
  capture_free(c);
}
GST_END_TEST;

struct Stopper {
  GstElement *pipeline = nullptr;
  std::atomic<int> calls{0};
  std::atomic<bool> stopped{false};
};

static void stop_now(Stopper *s)
{
  if (s->calls++ == 0) {
    gst_element_set_state(s->pipeline, GST_STATE_NULL);
    s->stopped = true;
  }
}

/* The element's signals and notifies, each one with a handler that stops the
 * pipeline (set_state NULL) on the thread that emits it: no abort, no
 * deadlock; the element plays again afterwards. */
GST_START_TEST(test_stop_from_signals)
{
  const char *signals[] = {"pad-added",      "no-more-pads",     "pad-removed",  "notify::ended",
                           "notify::paused", "notify::duration", "notify::muted"};
  for (const char *sig : signals) {
    GST_INFO("stopping from %s", sig);
    Capture *c = capture_new(media_uri("audio.ogg"));
    Stopper st;
    st.pipeline = c->pipeline;
    if (g_str_equal(sig, "pad-added")) {
      g_signal_connect_swapped(c->src, "pad-added", G_CALLBACK(stop_now), &st);
    } else if (g_str_equal(sig, "no-more-pads")) {
      g_signal_connect_swapped(c->src, "no-more-pads", G_CALLBACK(stop_now), &st);
    } else if (g_str_equal(sig, "pad-removed")) {
      g_signal_connect_swapped(c->src, "pad-removed", G_CALLBACK(stop_now), &st);
    } else if (g_str_equal(sig, "notify::muted")) {
      g_signal_connect(c->src, "pad-added", G_CALLBACK(+[](GstElement *, GstPad *pad, Stopper *s) {
                         g_signal_connect_swapped(pad, "notify::muted", G_CALLBACK(stop_now), s);
                       }),
                       &st);
    } else {
      g_signal_connect_swapped(c->src, sig, G_CALLBACK(stop_now), &st);
    }
    capture_play(c);
    fail_unless(wc_wait_until([&] { return st.stopped.load(); }, 15000),
                "no stop from %s (deadlock or never emitted)", sig);
    /* the element is usable again */
    g_signal_handlers_disconnect_by_func(c->src, (gpointer)stop_now, &st);
    size_t first;
    {
      std::lock_guard<std::mutex> lk(c->m);
      first = c->pads.size();
    }
    gst_element_set_state(c->pipeline, GST_STATE_NULL);
    st.calls = 1; /* no more stops */
    capture_play(c);
    fail_unless(wc_wait_until(
                    [&] {
                      std::lock_guard<std::mutex> lk(c->m);
                      return c->pads.size() > first && c->pads.back()->bufs.size() > 5;
                    },
                    10000),
                "not playing again after a stop from %s", sig);
    capture_free(c);
  }
}
GST_END_TEST;

/* The same stop from a second thread while the element emits. */
GST_START_TEST(test_stop_from_signal_threads)
{
  Capture *c = capture_new(media_uri("audio.ogg"));
  Stopper st;
  st.pipeline = c->pipeline;
  std::vector<std::thread> threads;
  std::mutex tm;
  g_signal_connect(c->src, "notify::ended",
                   G_CALLBACK(+[](GObject *, GParamSpec *, Stopper *s) { stop_now(s); }), &st);
  capture_play(c);
  std::thread other([&] {
    wc_sleep_ms(700);
    gst_element_set_state(c->pipeline, GST_STATE_NULL);
    gst_element_set_state(c->pipeline, GST_STATE_PLAYING);
  });
  fail_unless(wc_wait_until([&] { return st.stopped.load(); }, 15000), "no end after a restart");
  other.join();
  capture_free(c);
}
GST_END_TEST;

/* EOS sent to the pipeline before the media is known (gst-launch-1.0 -e
 * interrupted while it loads): the tracks that come later end at once, so the
 * muxer linked to them (delayed links) finishes and the pipeline posts EOS;
 * before, no track came and the pipeline waited for ever. */
GST_START_TEST(test_eos_event_before_tracks)
{
  std::string out = media_path("eos-early-out.mkv");
  GstElement *p = parse("mediacapturesrc name=m uri=" + media_uri("av.ogg") +
                        " m.audio_0 ! queue ! audioconvert ! vorbisenc ! mux. m.video_0 ! queue "
                        "! mux. matroskamux name=mux ! filesink location=" +
                        out);
  GstElement *m = gst_bin_get_by_name(GST_BIN(p), "m");
  fail_if(gst_element_set_state(p, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE);
  /* at once: the media element is still loading */
  fail_unless(gst_element_send_event(p, gst_event_new_eos()), "EOS not taken");
  fail_unless_equals_int(GST_ELEMENT(m)->numsrcpads, 0);
  GstMessage *msg = pop(p, 15, (GstMessageType)(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  fail_unless(msg != nullptr, "no EOS message after an EOS sent before the tracks came");
  fail_unless_equals_int(GST_MESSAGE_TYPE(msg), GST_MESSAGE_EOS);
  gst_message_unref(msg);
  /* the tracks came (and ended) */
  fail_unless_equals_int(GST_ELEMENT(m)->numsrcpads, 2);
  gst_element_set_state(p, GST_STATE_NULL);
  gst_object_unref(m);
  gst_object_unref(p);
}
GST_END_TEST;

/* A handler that stops the pipeline while the application's thread is
 * stopping it (inside its set_state(NULL), which holds the pipeline's state
 * lock): the element's stop does not wait for that handler, which waits for
 * the application's state change; no deadlock, and the element plays again
 * (docs/plugins/mediacapturesrc.md, "GStreamer contracts"). */
struct CrossStop {
  GstElement *pipeline = nullptr;
  std::atomic<int> calls{0};
  std::atomic<bool> entered{false}, app_stopping{false}, done{false};
};

static void cross_stop(CrossStop *s)
{
  if (s->calls++ != 0)
    return;
  s->entered = true;
  /* until the application's thread is in its set_state(NULL), then a moment
   * more, so that it is in the element's stop */
  wc_wait_until([&] { return s->app_stopping.load(); }, 15000);
  wc_sleep_ms(300);
  gst_element_set_state(s->pipeline, GST_STATE_NULL);
  s->done = true;
}

GST_START_TEST(test_stop_from_signal_while_stopping)
{
  const char *signals[] = {"pad-added", "no-more-pads", "notify::ended", "notify::muted"};
  for (const char *sig : signals) {
    GST_INFO("stopping from %s while the application stops", sig);
    Capture *c = capture_new(media_uri("audio.ogg"));
    CrossStop st;
    st.pipeline = c->pipeline;
    if (g_str_equal(sig, "notify::muted")) {
      g_signal_connect(c->src, "pad-added",
                       G_CALLBACK(+[](GstElement *, GstPad *pad, CrossStop *s) {
                         g_signal_connect_swapped(pad, "notify::muted", G_CALLBACK(cross_stop), s);
                       }),
                       &st);
    } else {
      g_signal_connect_swapped(c->src, sig, G_CALLBACK(cross_stop), &st);
    }
    capture_play(c);
    fail_unless(wc_wait_until([&] { return st.entered.load(); }, 15000), "no %s", sig);
    std::atomic<bool> app_done{false};
    std::thread app([&] {
      st.app_stopping = true;
      gst_element_set_state(c->pipeline, GST_STATE_NULL);
      app_done = true;
    });
    if (!wc_wait_until([&] { return app_done.load() && st.done.load(); }, 20000)) {
      app.detach(); /* deadlocked */
      fail("deadlock: a %s handler and the application both stopping the pipeline", sig);
    }
    app.join();
    g_signal_handlers_disconnect_matched(c->src, G_SIGNAL_MATCH_DATA, 0, 0, nullptr, nullptr, &st);
    st.calls = 1; /* no more stops (the pads' handlers) */
    size_t first;
    {
      std::lock_guard<std::mutex> lk(c->m);
      first = c->pads.size();
    }
    capture_play(c);
    fail_unless(wc_wait_until(
                    [&] {
                      std::lock_guard<std::mutex> lk(c->m);
                      return c->pads.size() > first && c->pads.back()->bufs.size() > 5;
                    },
                    10000),
                "not playing again after stopping from %s", sig);
    capture_free(c);
  }
}
GST_END_TEST;

/* The same when the handler starts after the stop began: at the end of
 * playback the control thread waits for the tracks' EOS (held here for a
 * moment by a probe), the application's thread starts stopping meanwhile, and
 * only then the control thread emits pad-removed, whose handler stops the
 * pipeline too. The stop must notice that emission (it had begun waiting for
 * the control thread before it). */
static GstPadProbeReturn hold_eos(GstPad *, GstPadProbeInfo *info, gpointer data)
{
  auto *st = static_cast<CrossStop *>(data);
  if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) == GST_EVENT_EOS &&
      !st->entered.exchange(true))
    wc_sleep_ms(800); /* the application starts stopping meanwhile */
  return GST_PAD_PROBE_OK;
}

GST_START_TEST(test_stop_from_handler_after_stop_began)
{
  Capture *c = capture_new(media_uri("audio.ogg"));
  CrossStop st;
  st.pipeline = c->pipeline;
  st.app_stopping = true; /* the handler stops at once */
  g_signal_connect(c->src, "pad-added", G_CALLBACK(+[](GstElement *, GstPad *pad, CrossStop *s) {
                     gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, hold_eos, s,
                                       nullptr);
                   }),
                   &st);
  g_signal_connect_swapped(c->src, "pad-removed", G_CALLBACK(+[](CrossStop *s) {
                             if (s->calls++ != 0)
                               return;
                             gst_element_set_state(s->pipeline, GST_STATE_NULL);
                             s->done = true;
                           }),
                           &st);
  capture_play(c);
  fail_unless(wc_wait_until([&] { return st.entered.load(); }, 15000), "no end of playback");
  wc_sleep_ms(200); /* into the probe's wait */
  std::atomic<bool> app_done{false};
  std::thread app([&] {
    gst_element_set_state(c->pipeline, GST_STATE_NULL);
    app_done = true;
  });
  if (!wc_wait_until([&] { return app_done.load() && st.done.load(); }, 20000)) {
    app.detach(); /* deadlocked */
    fail("deadlock: a pad-removed handler stopping the pipeline after the application began to");
  }
  app.join();
  g_signal_handlers_disconnect_matched(c->src, G_SIGNAL_MATCH_DATA, 0, 0, nullptr, nullptr, &st);
  capture_free(c);
}
GST_END_TEST;

/* A slow pad-removed handler at the end of playback while the application
 * stops: the stop does not wait for the handler, yet every pad is gone when
 * set_state(NULL) returns (the tracks the control thread was still ending are
 * ended by the stop). */
GST_START_TEST(test_pads_gone_after_stop_during_handler)
{
  Capture *c = capture_new(media_uri("av.ogg"));
  CrossStop st;
  g_signal_connect_swapped(c->src, "pad-removed", G_CALLBACK(+[](CrossStop *s) {
                             if (s->calls++ != 0)
                               return;
                             s->entered = true;
                             wc_sleep_ms(600); /* the application stops meanwhile */
                             s->done = true;
                           }),
                           &st);
  capture_play(c);
  fail_unless(wc_wait_until([&] { return st.entered.load(); }, 15000), "no end of playback");
  gst_element_set_state(c->pipeline, GST_STATE_NULL);
  fail_unless_equals_int(GST_ELEMENT(c->src)->numsrcpads, 0);
  fail_unless(wc_wait_until([&] { return st.done.load(); }, 10000));
  g_signal_handlers_disconnect_matched(c->src, G_SIGNAL_MATCH_DATA, 0, 0, nullptr, nullptr, &st);
  capture_free(c);
}
GST_END_TEST;

struct NotifyCount {
  std::atomic<int> ended{0}, duration{0}, paused{0};
};

/* notify::ended / notify::duration / notify::paused only on change. */
GST_START_TEST(test_notify_on_change)
{
  Capture *c = capture_new(media_uri("audio.ogg"));
  NotifyCount n;
  g_signal_connect(c->src, "notify::ended",
                   G_CALLBACK(+[](GObject *, GParamSpec *, NotifyCount *n) { n->ended++; }), &n);
  g_signal_connect(c->src, "notify::duration",
                   G_CALLBACK(+[](GObject *, GParamSpec *, NotifyCount *n) { n->duration++; }), &n);
  g_signal_connect(c->src, "notify::paused",
                   G_CALLBACK(+[](GObject *, GParamSpec *, NotifyCount *n) { n->paused++; }), &n);
  capture_play(c);
  fail_unless(wc_wait_until([&] { return all_ended(c, 1); }, 10000));
  wc_sleep_ms(200);
  fail_unless_equals_int(n.ended.load(), 1);    /* FALSE -> TRUE */
  fail_unless_equals_int(n.duration.load(), 1); /* -1 -> 1.0 */
  fail_unless_equals_int(n.paused.load(), 1);   /* the end pauses */
  capture_free(c);
}
GST_END_TEST;

/* current-time: set while loading = where playback starts; any double up to
 * G_MAXDOUBLE is a position (beyond the duration: ended). */
GST_START_TEST(test_current_time_loading_and_huge)
{
  Capture *c = capture_new(media_uri("video.ogg"));
  capture_play(c);
  g_object_set(c->src, "current-time", 0.6, nullptr); /* still loading */
  fail_unless(wc_wait_until([&] { return all_ended(c, 1); }, 10000));
  {
    std::lock_guard<std::mutex> lk(c->m);
    size_t n = c->find("video_0")->bufs.size();
    fail_unless(n >= 9 && n <= 15, "%zu frames from 0.6 s of a 1 s file", n);
  }
  capture_free(c);

  for (gdouble target : {1e12, 1.8e10, G_MAXDOUBLE}) {
    c = capture_new(media_uri("av.ogg"));
    capture_play(c);
    fail_unless(wc_wait_until([&] { return c->nbufs("video_0") > 5; }, 5000));
    g_object_set(c->src, "current-time", target, nullptr);
    fail_unless(wc_wait_until([&] { return wc_get_bool(c->src, "ended"); }, 5000),
                "current-time %g did not end playback", target);
    assert_no_error(c);
    capture_free(c);
  }
}
GST_END_TEST;

/* After the end at another rate, current-time past the end seeks a WebM
 * there and exposes new (paused) tracks: no CRITICAL (the seek kept the last
 * segment's stop, before the new start: matroskademux asserted
 * start <= stop twice; gst-check makes a CRITICAL fatal). */
GST_START_TEST(test_current_time_past_end_after_rate)
{
  Capture *c = capture_new(media_uri("av.webm"));
  g_object_set(c->src, "playback-rate", 2.0, nullptr);
  capture_play(c);
  fail_unless(wc_wait_until([&] { return wc_get_bool(c->src, "ended"); }, 10000),
              "playback did not end");
  size_t before;
  {
    std::lock_guard<std::mutex> lk(c->m);
    before = c->pads.size();
  }
  g_object_set(c->src, "current-time", 5.0, nullptr);
  fail_unless(wc_wait_until(
                  [&] {
                    std::lock_guard<std::mutex> lk(c->m);
                    return c->pads.size() >= before + 2;
                  },
                  10000),
              "no new tracks after current-time past the end");
  wc_sleep_ms(300);
  assert_no_error(c);
  capture_free(c);
}
GST_END_TEST;

/* Live media: a sender pipeline in the test sends MPEG-TS over UDP on
 * 127.0.0.1; the tracks come and follow the stream. */
GST_START_TEST(test_live_udp)
{
  GSocket *probe =
      g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, nullptr);
  GInetAddress *lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
  GSocketAddress *any = g_inet_socket_address_new(lo, 0);
  fail_unless(g_socket_bind(probe, any, FALSE, nullptr));
  GSocketAddress *bound = g_socket_get_local_address(probe, nullptr);
  guint16 port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
  g_object_unref(bound);
  g_object_unref(any);
  g_object_unref(lo);
  g_object_unref(probe); /* a free port (closed again) */

  GstElement *snd = parse("audiotestsrc is-live=true ! audio/x-raw,rate=44100,channels=2 ! "
                          "audioconvert ! lamemp3enc ! mpegaudioparse ! mpegtsmux ! udpsink "
                          "host=127.0.0.1 port=" +
                          std::to_string(port));
  fail_if(gst_element_set_state(snd, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE);
  Capture *c = capture_new("udp://127.0.0.1:" + std::to_string(port));
  capture_play(c);
  fail_unless(wc_wait_until([&] { return c->nbufs("audio_0") > 0; }, 10000), "no live track");
  fail_unless(wc_wait_until([&] { return loud_buffers(c, 0) > 20; }, 10000),
              "the live track is silent");
  assert_no_error(c);
  capture_free(c);
  gst_element_set_state(snd, GST_STATE_NULL);
  gst_object_unref(snd);
}
GST_END_TEST;

/* A slow source (a FIFO whose data comes 6 s after it was opened) plays: no
 * element-imposed deadline. */
GST_START_TEST(test_slow_source)
{
  std::string fifo = media_path("slow.fifo");
  g_remove(fifo.c_str());
  fail_unless(mkfifo(fifo.c_str(), 0600) == 0);
  std::atomic<bool> done{false};
  std::thread writer([&] {
    FILE *w = fopen(fifo.c_str(), "wb");
    if (!w)
      return;
    for (int i = 0; i < 120 && !done; i++)
      g_usleep(50000);
    gchar *data;
    gsize len;
    if (g_file_get_contents(media_path("audio.ogg").c_str(), &data, &len, nullptr)) {
      fwrite(data, 1, len, w);
      g_free(data);
    }
    fclose(w);
  });
  Capture *c = capture_new(media_uri("slow.fifo"));
  capture_play(c);
  bool ended = wc_wait_until([&] { return all_ended(c, 1) || c->nerrors() > 0; }, 20000);
  done = true;
  assert_no_error(c);
  fail_unless(ended, "the slow source did not play");
  fail_unless(loud_buffers(c, 0) > 20);
  capture_free(c);
  writer.join();
  g_remove(fifo.c_str());
}
GST_END_TEST;

/* An HTTP server that sends its headers then nothing: an error naming the
 * URI after stall-timeout, not a silent hang; reusable afterwards. */
GST_START_TEST(test_http_stall)
{
  HttpServer *a = http_server_new();
  std::string uri = http_base(a) + "/stall";
  Capture *c = capture_new(uri);
  g_object_set(c->src, "stall-timeout", 1.5, nullptr);
  capture_play(c);
  fail_unless(wc_wait_until([&] { return c->nerrors() > 0; }, 15000), "no error for a stall");
  std::string text = error_text(c, 0);
  fail_unless(text.find(uri) != std::string::npos, "%s", text.c_str());
  fail_unless(text.find("stall-timeout") != std::string::npos, "%s", text.c_str());
  gst_element_set_state(c->pipeline, GST_STATE_NULL);
  a->stopping = true;
  g_object_set(c->src, "uri", media_uri("video.ogg").c_str(), nullptr);
  capture_play(c);
  fail_unless(wc_wait_until([&] { return all_ended(c, 1); }, 10000));
  capture_free(c);
  http_server_free(a);
}
GST_END_TEST;

/* The outer running time restarts (a flushing seek taken by a live
 * audiotestsrc of the same pipeline): the track follows at once. */
GST_START_TEST(test_running_time_restart)
{
  GstElement *p = parse("mediacapturesrc name=c loop=true uri=" + media_uri("av.ogg") +
                        " c.video_0 ! fakesink name=v sync=true audiotestsrc is-live=true ! "
                        "fakesink sync=true");
  struct Log {
    std::mutex m;
    std::vector<std::pair<gint64, GstClockTime>> bufs; /* (monotonic us, pts) */
  } log;
  GstElement *v = gst_bin_get_by_name(GST_BIN(p), "v");
  GstPad *pad = gst_element_get_static_pad(v, "sink");
  gst_pad_add_probe(
      pad, GST_PAD_PROBE_TYPE_BUFFER,
      [](GstPad *, GstPadProbeInfo *info, gpointer data) {
        Log *l = static_cast<Log *>(data);
        std::lock_guard<std::mutex> lk(l->m);
        l->bufs.emplace_back(g_get_monotonic_time(),
                             GST_BUFFER_PTS(GST_PAD_PROBE_INFO_BUFFER(info)));
        return GST_PAD_PROBE_OK;
      },
      &log, nullptr);
  gst_object_unref(pad);
  gst_object_unref(v);
  fail_if(gst_element_set_state(p, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE);
  fail_unless(wc_wait_until(
      [&] {
        std::lock_guard<std::mutex> lk(log.m);
        return log.bufs.size() > 40;
      },
      10000));
  gint64 t = g_get_monotonic_time();
  /* FALSE overall (our track refuses seeks), but audiotestsrc takes it */
  gst_element_seek_simple(p, GST_FORMAT_TIME, GST_SEEK_FLAG_FLUSH, 0);
  wc_sleep_ms(2000);
  gst_element_set_state(p, GST_STATE_NULL);
  gst_object_unref(p);
  size_t after = 0;
  GstClockTime first_pts = GST_CLOCK_TIME_NONE;
  for (auto &b : log.bufs)
    if (b.first >= t) {
      if (!after)
        first_pts = b.second;
      after++;
    }
  fail_unless(after >= 30, "%zu video frames in the 2 s after the running time restarted", after);
  fail_unless(first_pts < GST_SECOND, "first pts after the restart %" GST_TIME_FORMAT,
              GST_TIME_ARGS(first_pts));
}
GST_END_TEST;

/* loop=true on a still image: no busy loop; it ends as a medium of no
 * duration does. */
GST_START_TEST(test_loop_still_image)
{
  Capture *c = capture_new(media_uri("image.png"));
  g_object_set(c->src, "loop", TRUE, nullptr);
  capture_play(c);
  fail_unless(wc_wait_until([&] { return c->count("nmp") == 1; }, 5000));
  wc_sleep_ms(1500);
  fail_unless(c->nbufs("video_0") <= 2, "%zu frames: looping a still image", c->nbufs("video_0"));
  fail_unless(wc_get_bool(c->src, "ended"));
  assert_no_error(c);
  capture_free(c);
}
GST_END_TEST;

/* A WebM with a valid header and a zeroed body: one ERROR naming the URI, no
 * track, no GLib critical (fatal in this suite); reusable. Loaded several
 * times: its streams were once exposed (with caps that are not fixed) when the
 * no-more-pads command ran between the preroll and the check that found
 * nothing decoded. Truncated WebM plays what it has: an error or an end, never
 * a hang, and the element plays the next uri. A WebM whose video track has no
 * frame plays its audio; its video track has no CAPS, and no error. */
GST_START_TEST(test_corrupt_and_truncated)
{
  Capture *c;
  for (int i = 0; i < 8; i++) {
    c = capture_new(media_uri("zeroed.webm"));
    capture_play(c);
    fail_unless(wc_wait_until([&] { return c->nerrors() > 0; }, 10000),
                "no error for a zeroed body (load %d)", i);
    wc_sleep_ms(300);
    fail_unless_equals_int((int)c->nerrors(), 1);
    std::string text = error_text(c, 0);
    fail_unless(text.find(media_uri("zeroed.webm")) != std::string::npos, "%s", text.c_str());
    {
      std::lock_guard<std::mutex> lk(c->m);
      fail_unless(c->pads.empty(), "load %d of a zeroed body: %d tracks", i, (int)c->pads.size());
    }
    capture_free(c);
  }

  c = capture_new(media_uri("novideo.webm"));
  capture_play(c);
  fail_unless(wc_wait_until([&] { return all_ended(c, 2) || c->nerrors() > 0; }, 10000),
              "novideo.webm: the tracks did not end");
  assert_no_error(c);
  fail_unless(loud_buffers(c, 0) > 20, "novideo.webm: its audio did not play");
  {
    std::lock_guard<std::mutex> lk(c->m);
    PadRec *v = c->find("video_0");
    fail_unless(v != nullptr && v->bufs.empty() && !v->caps);
  }
  capture_free(c);

  for (const char *cut : {"cut10.webm", "cut50.webm", "cut90.webm"}) {
    c = capture_new(media_uri(cut));
    capture_play(c);
    fail_unless(
        wc_wait_until([&] { return c->nerrors() > 0 || wc_get_bool(c->src, "ended"); }, 10000),
        "%s: neither an error nor the end", cut);
    gst_element_set_state(c->pipeline, GST_STATE_NULL);
    {
      std::lock_guard<std::mutex> lk(c->m);
      for (GstMessage *m : c->errors)
        gst_message_unref(m);
      c->errors.clear();
    }
    size_t first;
    {
      std::lock_guard<std::mutex> lk(c->m);
      first = c->pads.size();
    }
    g_object_set(c->src, "uri", media_uri("audio.ogg").c_str(), nullptr);
    capture_play(c);
    /* the pads of the cut file were stopped by NULL, maybe without EOS */
    fail_unless(wc_wait_until(
                    [&] {
                      std::lock_guard<std::mutex> lk(c->m);
                      return c->pads.size() == first + 1 && c->pads.back()->eos &&
                             c->pads.back()->removed;
                    },
                    10000),
                "not reusable after %s", cut);
    fail_unless(loud_buffers(c, first) > 20, "muted after %s", cut);
    assert_no_error(c);
    capture_free(c);
  }
}
GST_END_TEST;

/* An upstream FLUSH_START / FLUSH_STOP on a track pad: the track goes on
 * after FLUSH_STOP, with a new segment. */
GST_START_TEST(test_upstream_flush)
{
  Capture *c = capture_new(media_uri("video.ogg"));
  g_object_set(c->src, "loop", TRUE, nullptr);
  capture_play(c);
  fail_unless(wc_wait_until([&] { return c->nbufs("video_0") > 5; }, 5000));
  GstPad *pad = gst_element_get_static_pad(c->src, "video_0");
  fail_unless(gst_pad_send_event(pad, gst_event_new_flush_start()));
  wc_sleep_ms(200);
  fail_unless(gst_pad_send_event(pad, gst_event_new_flush_stop(TRUE)));
  size_t at = c->nbufs("video_0");
  fail_unless(wc_wait_until([&] { return c->nbufs("video_0") > at + 10; }, 5000),
              "the track stopped after an upstream flush");
  gst_object_unref(pad);
  assert_no_error(c);
  capture_free(c);
}
GST_END_TEST;

/* ME-10: a WebM whose range request (a seek) is redirected out of
 * allowed-origins: muted, and no error; with loop=true, the other origin is
 * not requested again and again. */
GST_START_TEST(test_redirect_out_on_range)
{
  HttpServer *a = http_server_new(), *b = http_server_new();
  a->other = http_base(b);
  b->other = http_base(a);
  for (bool loop : {false, true}) {
    Capture *c = capture_new(http_base(a) + "/redirect-on-range/av.webm");
    set_origins(c->src, {http_base(a) + "/"});
    g_object_set(c->src, "loop", loop, nullptr);
    capture_play(c);
    fail_unless(wc_wait_until([&] { return c->nbufs("audio_0") > 10; }, 10000), "not playing");
    GstPad *apad = gst_element_get_static_pad(c->src, "audio_0");
    if (!loop)
      g_object_set(c->src, "current-time", 0.5, nullptr);
    /* loop: the loop point seeks back to 0 (a range request) */
    fail_unless(wc_wait_until([&] { return wc_get_bool(apad, "muted") && b->requests > 0; }, 8000),
                "not muted after the redirect (loop %d)", loop);
    int at = a->requests + b->requests;
    wc_sleep_ms(2000);
    int more = a->requests + b->requests - at;
    fail_unless(more <= 4, "%d requests in 2 s after leaving allowed-origins", more);
    assert_no_error(c);
    gst_object_unref(apad);
    capture_free(c);
  }
  http_server_free(a);
  http_server_free(b);
}
GST_END_TEST;

/* Ogg over HTTP is downloaded (see test_ogg_over_http) only when the server
 * gives its length: an endless Ogg without one plays as it comes, and a known
 * one plays before it is all there. */
GST_START_TEST(test_ogg_over_http_live_and_slow)
{
  HttpServer *a = http_server_new();
  Capture *c = capture_new(http_base(a) + "/live.ogg");
  capture_play(c);
  fail_unless(wc_wait_until(
                  [&] {
                    return c->nerrors() > 0 ||
                           (c->nbufs("video_0") > 30 && c->nbufs("audio_0") > 30);
                  },
                  20000),
              "the endless Ogg did not play");
  assert_no_error(c);
  capture_free(c);

  /* 64 KB/s, about twice its bitrate: long.ogg takes 13 s to come */
  gsize len = 0;
  gchar *data = nullptr;
  fail_unless(g_file_get_contents(media_path("long.ogg").c_str(), &data, &len, nullptr));
  g_free(data);
  c = capture_new(http_base(a) + "/slow/long.ogg");
  capture_play(c);
  fail_unless(wc_wait_until([&] { return c->nerrors() > 0 || c->nbufs("video_0") > 0; }, 20000),
              "nothing of the slow Ogg played");
  assert_no_error(c);
  gint64 sent = a->body_bytes;
  fail_unless(sent < (gint64)len,
              "the first frame came after the whole file (%" G_GINT64_FORMAT " of %" G_GSIZE_FORMAT
              " bytes sent)",
              sent, len);
  capture_free(c);
  http_server_free(a);
}
GST_END_TEST;

/* Ogg over HTTP: in push mode oggdemux probed the duration with a flushing
 * seek that read a small file again from its start, sent its headers again and
 * flushed the decoders while they negotiated them: theoradec failed ("Could not
 * decode stream") about one load in four. Every one of fifteen loads plays. */
GST_START_TEST(test_ogg_over_http)
{
  HttpServer *a = http_server_new();
  for (int i = 0; i < 15; i++) {
    Capture *c = capture_new(http_base(a) + "/av.ogg");
    capture_play(c);
    fail_unless(wc_wait_until(
                    [&] {
                      return c->nerrors() > 0 ||
                             (c->nbufs("video_0") > 5 && c->nbufs("audio_0") > 5);
                    },
                    20000),
                "load %d: no media and no error", i);
    if (c->nerrors() > 0)
      fail("load %d: %s", i, error_text(c, 0).c_str());
    capture_free(c);
  }
  http_server_free(a);
}
GST_END_TEST;

static Suite *mediacapturesrc_suite()
{
  Suite *s = suite_create("mediacapturesrc");
  /* One case per rule of docs/plugins/mediacapturesrc.md (CK_RUN_CASE=ME-3),
   * then the element's GStreamer behaviour, a case each. */
  std::map<std::string, TCase *> cases;
  auto rule = [&](const char *name) {
    TCase *&tc = cases[name];
    if (!tc) {
      tc = wc_add_case(s, name, 60);
      tcase_add_checked_fixture(tc, nullptr, leftovers_free);
    }
    return tc;
  };
  tcase_add_test(rule("ME-1"), test_audio_track_selection);
  tcase_add_test(rule("ME-1"), test_selection_matches_nothing);
  tcase_add_test(rule("ME-1"), test_audio_tracks_file_order);
  tcase_add_test(rule("ME-2"), test_tracks_live_and_ended);
  tcase_add_test(rule("ME-3"), test_source_change);
  tcase_add_test(rule("ME-3"), test_many_source_changes);
  tcase_add_test(rule("ME-3"), test_selection_change);
  tcase_add_test(rule("ME-4"), test_restart_after_end);
  tcase_add_test(rule("ME-5"), test_seek_no_events);
  tcase_add_test(rule("ME-5"), test_loop);
  tcase_add_test(rule("ME-6"), test_muted_until_content);
  tcase_add_test(rule("ME-6"), test_no_mute_at_end);
  tcase_add_test(rule("ME-6"), test_paused_muted);
  tcase_add_test(rule("ME-6"), test_late_audio_muted);
  tcase_add_test(rule("ME-9"), test_playback_rate);
  tcase_add_test(rule("ME-10"), test_allowed_origins);
  tcase_add_test(rule("live-latency"), test_live_latency);
  tcase_add_test(rule("bad-input"), test_bad_input);
  tcase_add_test(rule("state-cycling"), test_state_cycling);
  tcase_add_test(rule("downstream-eos"), test_downstream_eos);
  tcase_add_test(rule("downstream-flushing"), test_downstream_not_active_yet);
  tcase_add_test(rule("tags-and-label"), test_tags_and_label);
  tcase_add_test(rule("av-sync"), test_av_sync);

  /* GStreamer's own contracts, one case each (CK_RUN_CASE=<name>) */
  /* Under valgrind (tests/check/meson.build's setup) the cases that need real-time
   * encoding or wall-clock windows, or that only replay paths other cases take,
   * are left out (the stage's time); the normal run covers them. */
  const char *realtime_cases[] = {"live",
                                  "slow-source",
                                  "running-time-restart",
                                  "ME-10-redirect-on-range",
                                  "ogg-over-http",
                                  "ogg-over-http-live-and-slow",
                                  "stop-from-signals",
                                  "stop-from-signal-threads",
                                  "current-time",
                                  "run-again"};
  bool under_valgrind = g_getenv("WEBCAPTURE_UNDER_VALGRIND") != nullptr;
#define ADD_CASE(name, fn)                                                                         \
  do {                                                                                             \
    if (under_valgrind && std::find(std::begin(realtime_cases), std::end(realtime_cases),          \
                                    std::string(name)) != std::end(realtime_cases))                \
      break;                                                                                       \
    TCase *t = wc_add_case(s, name, 60);                                                           \
    tcase_add_checked_fixture(t, nullptr, leftovers_free);                                         \
    tcase_add_test(t, fn);                                                                         \
  } while (0)
  ADD_CASE("eos-event", test_eos_event);
  ADD_CASE("run-again", test_run_again_after_end);
  ADD_CASE("stop-from-signals", test_stop_from_signals);
  ADD_CASE("stop-from-signal-threads", test_stop_from_signal_threads);
  ADD_CASE("stop-from-signal-while-stopping", test_stop_from_signal_while_stopping);
  ADD_CASE("eos-event-before-tracks", test_eos_event_before_tracks);
  ADD_CASE("stop-from-handler-after-stop-began", test_stop_from_handler_after_stop_began);
  ADD_CASE("chained-ogg", test_chained_ogg);
  ADD_CASE("pads-gone-after-stop-during-handler", test_pads_gone_after_stop_during_handler);
  ADD_CASE("notify-on-change", test_notify_on_change);
  ADD_CASE("current-time", test_current_time_loading_and_huge);
  ADD_CASE("current-time", test_current_time_past_end_after_rate);
  ADD_CASE("live", test_live_udp);
  ADD_CASE("slow-source", test_slow_source);
  ADD_CASE("stall", test_http_stall);
  ADD_CASE("running-time-restart", test_running_time_restart);
  ADD_CASE("loop-still-image", test_loop_still_image);
  ADD_CASE("bad-media", test_corrupt_and_truncated);
  ADD_CASE("not-negotiated", test_not_negotiated);
  ADD_CASE("upstream-flush", test_upstream_flush);
  ADD_CASE("ME-10-redirect-on-range", test_redirect_out_on_range);
  ADD_CASE("ogg-over-http", test_ogg_over_http);
  ADD_CASE("ogg-over-http-live-and-slow", test_ogg_over_http_live_and_slow);
#undef ADD_CASE
  return s;
}

int main(int argc, char **argv)
{
  media_dir = g_dir_make_tmp("mediacapturesrc-XXXXXX", nullptr);
  MEDIA_CHECK(media_dir != nullptr);
  /* Ogg over HTTP is downloaded to a file in the user's cache directory,
   * removed when the element stops: a failed (forked) test exits before, so
   * that directory is this one, removed at the end. Before GLib reads it. */
  g_setenv("XDG_CACHE_HOME", media_dir, TRUE);
  gst_check_init(&argc, &argv);
  /* Made in a child process: the pipelines leave thread pools behind that
   * the forked checks could not use. */
  pid_t pid = fork();
  if (pid == 0) {
    make_all_media();
    _exit(0);
  }
  int status = 0;
  MEDIA_CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
              WEXITSTATUS(status) == 0);
  Suite *s = mediacapturesrc_suite();
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  remove_all_media();
  return failed == 0 ? 0 : 1;
}
