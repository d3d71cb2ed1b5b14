/* GStreamer's own contracts, run over every element of the project.
 *
 * A "subject" is an element in a typical set-up (a gst-launch fragment in
 * which the element under test is named "subj"), with the src pads it gets
 * and what one run gives. Every contract (one TCase each, CK_RUN_CASE=eos)
 * runs over every subject of this executable's group (the WC_CONTRACT_GROUP
 * compile definition: one executable per element, so a failing element is
 * visible by name and the groups run in parallel). A new element or set-up is
 * one line of kSubjects.
 *
 *   eos              EOS sent to the pipeline (gst-launch-1.0 -e) reaches every
 *                    src pad and the pipeline posts EOS; a muxer downstream
 *                    finalizes its file (it parses, with a duration).
 *   restart          run to the end, NULL (or READY), run again: the same
 *                    tracks and frame counts, not muted; a PAUSED in the middle
 *                    of a run changes nothing either.
 *   stop-in-signal   set_state(NULL) synchronously from inside every signal and
 *                    notify the element (and its pads) emit while it plays and
 *                    while an application changes it, on whatever thread: no
 *                    abort, no deadlock (a watchdog aborts after 20 s). Only on
 *                    a pad task of the pipeline's own elements, where GStreamer
 *                    forbids it (a task cannot join itself), the handler hands
 *                    the stop to gst_element_call_async() as GStreamer says.
 *   running-time     a flushing seek taken by another live source restarts the
 *                    running time: the subject follows it.
 *   offline-seek     (canvas) seeks forwards/backwards, before/after preroll:
 *                    PTS = n / rate exactly, only frames inside the segment.
 *   live-uri         (mediacapturesrc) udp:// and rtsp:// give tracks and follow
 *                    the stream; a slow source plays as uridecodebin does.
 *   current-time     (mediacapturesrc) set while loading starts playback there;
 *                    any value up to the property's maximum is handled.
 *
 * Select: GST_CHECKS=test_eos_reaches_every_pad, CK_RUN_CASE=eos,
 * WC_SUBJECT=mediacapture-http (one subject). Objects left alive are caught by
 * the leaks tracer (GST_TRACERS=leaks in tests/check/meson.build).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <algorithm>
#include <map>
#include <memory>
#include <set>

#include "webcapture-check.h"

#include <gst/pbutils/pbutils.h>
#ifdef WC_HAVE_CAIRO
#include <cairo.h>
#endif
#ifdef WC_HAVE_RTSP_SERVER
#include <gst/rtsp-server/rtsp-server.h>
#endif

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef WC_CONTRACT_GROUP
#error "WC_CONTRACT_GROUP (canvas, mediacapture, mediacapture-live, mediastream) must be defined"
#endif

namespace
{

constexpr guint kWatchdogS = 20; /* no state change or signal may take longer */
constexpr guint kWaitMs = 20000; /* generous bound for anything expected */

/* ------------------------------------------------------------- environment */

/* Servers and senders a subject needs, started inside the test (the forked
 * child) and stopped at its end. */
struct Env {
  std::unique_ptr<WcHttpServer> http;
  GstElement *udp_sender = nullptr;
  guint16 udp_port = 0;

  ~Env()
  {
    if (udp_sender) {
      gst_element_set_state(udp_sender, GST_STATE_NULL);
      gst_object_unref(udp_sender);
    }
  }
  std::string http_uri(const char *name)
  {
    if (!http)
      http.reset(new WcHttpServer(wc_temp_dir()));
    return http->uri(name);
  }
  std::string udp_uri();
};

guint16 free_port(int type)
{
  int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  fail_unless(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  fail_unless(bind(fd, (sockaddr *)&addr, sizeof addr) == 0);
  socklen_t len = sizeof addr;
  getsockname(fd, (sockaddr *)&addr, &len);
  close(fd);
  return ntohs(addr.sin_port);
}

/* A live MPEG-TS (MP3 audio) stream to 127.0.0.1:<free port>. */
std::string Env::udp_uri()
{
  if (!udp_sender) {
    udp_port = free_port(SOCK_DGRAM);
    g_autofree gchar *desc =
        g_strdup_printf("audiotestsrc is-live=true wave=sine ! audio/x-raw,rate=44100,channels=2 ! "
                        "audioconvert ! lamemp3enc ! mpegaudioparse ! mpegtsmux alignment=7 ! "
                        "udpsink host=127.0.0.1 port=%u",
                        udp_port);
    GError *err = nullptr;
    udp_sender = gst_parse_launch(desc, &err);
    fail_unless(udp_sender && !err, "udp sender: %s", err ? err->message : "?");
    fail_unless(gst_element_set_state(udp_sender, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
  }
  return "udp://127.0.0.1:" + std::to_string(udp_port);
}

std::string media_file()
{
  return wc_temp_path("av4.ogg");
}

void make_media()
{
  /* 4 s of 160x120 video at 30/1 and stereo audio at 48 kHz. */
  wc_make_media("av4.ogg", "videotestsrc num-buffers=120 ! video/x-raw,width=160,height=120,"
                           "framerate=30/1 ! theoraenc ! oggmux name=m ! filesink location=%s "
                           "audiotestsrc samplesperbuffer=960 num-buffers=200 ! "
                           "audio/x-raw,rate=48000,channels=2 ! vorbisenc ! m.");
  /* The same content as WebM for the HTTP subject: over HTTP the file subject's
   * Ogg goes through download buffering (docs/plugins/mediacapturesrc.md,
   * Limitations), WebM through range requests, the path most HTTP media take;
   * Ogg over HTTP has its own cases in the mediacapturesrc suite
   * (ogg-over-http, ogg-over-http-live-and-slow). */
  wc_make_media("av4.webm", "videotestsrc num-buffers=120 ! video/x-raw,width=160,height=120,"
                            "framerate=30/1 ! vp8enc deadline=1 ! webmmux name=m ! "
                            "filesink location=%s audiotestsrc samplesperbuffer=960 "
                            "num-buffers=200 ! audio/x-raw,rate=48000,channels=2 ! vorbisenc ! m.");
  wc_make_media("audio2.ogg", "audiotestsrc samplesperbuffer=960 num-buffers=100 ! "
                              "audio/x-raw,rate=48000,channels=2 ! vorbisenc ! oggmux ! "
                              "filesink location=%s");
}

/* ---------------------------------------------------------------- subjects */

enum : guint {
  LIVE = 1 << 0,   /* produces in PLAYING only, stamps running time */
  FINITE = 1 << 1, /* can end on its own (launch with endless = false) */
};

struct Subject {
  const char *name;  /* WC_SUBJECT=<name> runs only this one */
  const char *group; /* the executable: contracts_<element> */
  /* gst-launch fragment; the element under test is named "subj". */
  std::string (*launch)(Env &env, bool endless);
  void (*setup)(GstElement *pipeline); /* handlers the set-up needs (may be NULL) */
  guint flags;
  guint n_pads;               /* src pads of subj one run gives */
  guint min_video, min_audio; /* non-gap buffers per pad in a finite run */
  GstClockTime frame_period;  /* video frame period (running-time contract) */
  /* What an application does to the element while it plays (properties that
   * change its state), so that the signals and notifies it causes are
   * covered by the stop-in-signal contract (may be NULL). Main thread. */
  void (*poke)(GstElement *subj);
};

#ifdef WC_HAVE_CAIRO
gboolean paint(GstElement *, cairo_t *cr, guint64 running_time, gpointer)
{
  /* New content at every opportunity: a colour that changes with time. */
  cairo_set_source_rgb(cr, (running_time / GST_MSECOND % 1000) / 1000.0, 0.5, 0.25);
  cairo_paint(cr);
  return TRUE;
}
#endif

void canvas_setup(GstElement *pipeline)
{
#ifdef WC_HAVE_CAIRO
  GstElement *subj = gst_bin_get_by_name(GST_BIN(pipeline), "subj");
  g_signal_connect(subj, "draw", G_CALLBACK(paint), nullptr);
  gst_object_unref(subj);
#else
  (void)pipeline;
#endif
}

void canvas_poke(GstElement *subj)
{
  g_object_set(subj, "origin-clean", FALSE, nullptr); /* muted */
  wc_sleep_ms(200);
  g_object_set(subj, "origin-clean", TRUE, "width", 80, nullptr); /* unmuted, new caps */
}

void mediacapture_poke(GstElement *subj)
{
  g_object_set(subj, "paused", TRUE, nullptr);
  wc_sleep_ms(300);
  g_object_set(subj, "paused", FALSE, "current-time", 0.5, nullptr);
}

void mediastream_poke(GstElement *subj)
{
  GstIterator *it = gst_element_iterate_src_pads(subj);
  GValue v = G_VALUE_INIT;
  std::vector<GstPad *> pads;
  while (gst_iterator_next(it, &v) == GST_ITERATOR_OK) {
    pads.push_back(GST_PAD(g_value_dup_object(&v)));
    g_value_reset(&v);
  }
  g_value_unset(&v);
  gst_iterator_free(it);
  for (GstPad *pad : pads) {
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(pad), "enabled"))
      g_object_set(pad, "enabled", FALSE, nullptr);
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(pad), "label"))
      g_object_set(pad, "label", "poked", nullptr);
  }
  wc_sleep_ms(200);
  for (GstPad *pad : pads) {
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(pad), "enabled"))
      g_object_set(pad, "enabled", TRUE, nullptr);
    gst_object_unref(pad);
  }
}

std::string canvas_live(Env &, bool endless)
{
  return std::string("canvascapturesrc name=subj frame-rate=30 width=64 height=48") +
         (endless ? "" : " num-buffers=30");
}

std::string canvas_offline(Env &, bool endless)
{
  return std::string("canvascapturesrc name=subj is-live=false frame-rate=10 width=64 height=48") +
         (endless ? "" : " num-buffers=20");
}

std::string mediacapture_file(Env &, bool endless)
{
  return "mediacapturesrc name=subj uri=" + wc_file_uri(media_file()) +
         (endless ? " loop=true" : "");
}

std::string mediacapture_http(Env &env, bool endless)
{
  return "mediacapturesrc name=subj uri=" + env.http_uri("av4.webm") +
         (endless ? " loop=true" : "");
}

std::string mediacapture_udp(Env &env, bool)
{
  return "mediacapturesrc name=subj uri=" + env.udp_uri();
}

std::string mediastream(Env &, bool endless)
{
  std::string nv = endless ? "" : " num-buffers=60";
  std::string na = endless ? "" : " num-buffers=100";
  return "videotestsrc is-live=true" + nv +
         " ! video/x-raw,width=160,height=120,framerate=30/1 ! subj.video_sink_0 "
         "audiotestsrc is-live=true samplesperbuffer=960" +
         na + " ! audio/x-raw,rate=48000,channels=2 ! subj.audio_sink_0 mediastreambin name=subj";
}

/* The same stream with constraints applied to its tracks before it runs
 * (docs/plugins/constraints.md): the bin converts (videoscale, frames
 * dropped to 15 per second, audio resampled to mono 16 kHz) with child
 * elements that must keep every contract too. */
void apply_json(GstElement *subj, const char *pad_name, const char *json)
{
  GstPad *pad = gst_element_get_static_pad(subj, pad_name);
  fail_unless(pad != nullptr, "no pad %s", pad_name);
  GstStructure *reply = wc_apply_constraints(pad, "apply-constraints-json", json);
  fail_unless(!gst_structure_has_field(reply, "error"), "%s: constraints refused: %" GST_PTR_FORMAT,
              pad_name, reply);
  gst_structure_free(reply);
  gst_object_unref(pad);
}

void mediastream_constrained_setup(GstElement *pipeline)
{
  GstElement *subj = gst_bin_get_by_name(GST_BIN(pipeline), "subj");
  apply_json(subj, "video_0", "{\"width\": {\"max\": 80}, \"frameRate\": {\"max\": 15}}");
  apply_json(subj, "audio_0", "{\"sampleRate\": 16000, \"channelCount\": 1}");
  /* the conversion's child elements are in place before the first buffer */
  fail_unless(GST_BIN(subj)->numchildren >= 4, "%d child elements", GST_BIN(subj)->numchildren);
  gst_object_unref(subj);
}

const GstClockTime kP30 = GST_SECOND / 30;

/* name, group, launch, setup, flags, pads, min video, min audio, frame period */
const Subject kSubjects[] = {
    {"canvas-live", "canvas", canvas_live, canvas_setup, LIVE | FINITE, 1, 15, 0, kP30,
     canvas_poke},
    {"canvas-offline", "canvas", canvas_offline, canvas_setup, FINITE, 1, 20, 0, GST_SECOND / 10,
     canvas_poke},
    {"mediacapture-file", "mediacapture", mediacapture_file, nullptr, LIVE | FINITE, 2, 60, 30,
     kP30, mediacapture_poke},
    {"mediacapture-http", "mediacapture", mediacapture_http, nullptr, LIVE | FINITE, 2, 60, 30,
     kP30, mediacapture_poke},
    {"mediacapture-udp", "mediacapture-live", mediacapture_udp, nullptr, LIVE, 1, 0, 10, kP30,
     mediacapture_poke},
    {"mediastream", "mediastream", mediastream, nullptr, LIVE | FINITE, 2, 50, 80, kP30,
     mediastream_poke},
    {"mediastream-constrained", "mediastream", mediastream, mediastream_constrained_setup,
     LIVE | FINITE, 2, 25, 80, GST_SECOND / 15, mediastream_poke},
};

std::vector<const Subject *> &subjects()
{
  static std::vector<const Subject *> list;
  return list;
}

/* ------------------------------------------------------------------- bench */

std::string thread_name()
{
  char name[32] = "";
  prctl(PR_GET_NAME, name, 0, 0, 0);
  return name;
}

std::string pad_kind(GstPad *pad)
{
  std::string n = GST_PAD_NAME(pad);
  if (n.rfind("audio", 0) == 0)
    return "audio";
  return "video"; /* video_%u, and canvascapturesrc's src */
}

struct Stamp {
  gint64 mono_us;
  GstClockTime pts;
  GstClockTime rt_now; /* pipeline running time when the buffer left the element */
};

struct PadLog {
  std::string name, kind;
  int run = 0;
  int buffers = 0; /* non-gap */
  int gaps = 0;
  int after_eos = 0;
  bool eos = false;
  bool have_state = false, last_muted = false;
  std::vector<Stamp> stamps;
};

enum class Tail { Fakesink, Muxer };

struct Bench {
  const Subject &subject;
  Env env;
  GstElement *pipeline = nullptr;
  GstElement *subj = nullptr;
  GstBus *bus = nullptr;
  Tail tail;
  bool sync = true;
  bool async_sinks = false; /* fakesinks that preroll (the running-time reset needs them) */
  GstElement *mux = nullptr;
  std::string mux_path;

  std::mutex m;
  int run = 0;
  std::vector<std::unique_ptr<PadLog>> logs;
  std::map<GstPad *, PadLog *> current;                   /* under m */
  std::vector<GstPad *> pads;                             /* every src pad of subj seen (refs) */
  std::map<GstPad *, std::vector<GstElement *>> branches; /* under m */
  std::function<void(GstPad *)> on_new_pad;               /* extra hook, before the branch */

  Bench(const Subject &s, bool endless, Tail t = Tail::Fakesink, const std::string &extra = "")
      : subject(s), tail(t)
  {
    std::string desc = s.launch(env, endless);
    if (!extra.empty())
      desc += " " + extra;
    GError *err = nullptr;
    GstElement *e = gst_parse_launch(desc.c_str(), &err);
    fail_unless(e != nullptr && err == nullptr, "%s: cannot build '%s': %s", s.name, desc.c_str(),
                err ? err->message : "?");
    if (GST_IS_PIPELINE(e)) {
      pipeline = e;
    } else {
      pipeline = gst_pipeline_new(nullptr);
      gst_bin_add(GST_BIN(pipeline), e);
    }
    subj = gst_bin_get_by_name(GST_BIN(pipeline), "subj");
    fail_unless(subj != nullptr, "%s: no element named subj", s.name);
    bus = gst_element_get_bus(pipeline);
    if (tail == Tail::Muxer) {
      mux_path = wc_temp_path(("rec-" + std::to_string(getpid()) + ".mkv").c_str());
      mux = gst_element_factory_make("matroskamux", "mux");
      GstElement *fs = gst_element_factory_make("filesink", nullptr);
      g_object_set(fs, "location", mux_path.c_str(), "async", FALSE, nullptr);
      gst_bin_add_many(GST_BIN(pipeline), mux, fs, nullptr);
      fail_unless(gst_element_link(mux, fs));
    }
    if (s.setup)
      s.setup(pipeline);
  }

  /* After construction: hook existing and future src pads (so that a caller
   * can connect its own handlers first, as the stop-in-signal contract needs). */
  void start_watching()
  {
    g_signal_connect(subj, "pad-added", G_CALLBACK(+[](GstElement *, GstPad *pad, gpointer b) {
                       if (GST_PAD_IS_SRC(pad))
                         static_cast<Bench *>(b)->attach(pad);
                     }),
                     this);
    GstIterator *it = gst_element_iterate_src_pads(subj);
    GValue v = G_VALUE_INIT;
    std::vector<GstPad *> existing;
    while (gst_iterator_next(it, &v) == GST_ITERATOR_OK) {
      existing.push_back(GST_PAD(g_value_get_object(&v)));
      g_value_reset(&v);
    }
    g_value_unset(&v);
    gst_iterator_free(it);
    for (GstPad *p : existing)
      attach(p);
  }

  ~Bench() { teardown(); }

  void teardown()
  {
    if (!pipeline)
      return;
    {
      WcWatchdog wd(kWatchdogS, std::string(subject.name) + ": set_state(NULL) at teardown hangs");
      gst_element_set_state(pipeline, GST_STATE_NULL);
    }
    for (GstPad *p : pads)
      gst_object_unref(p);
    pads.clear();
    gst_object_unref(subj);
    gst_object_unref(bus);
    gst_object_unref(pipeline);
    pipeline = nullptr;
  }

  void attach(GstPad *pad)
  {
    {
      std::lock_guard<std::mutex> lk(m);
      if (std::find(pads.begin(), pads.end(), pad) != pads.end())
        return;
      pads.push_back(GST_PAD(gst_object_ref(pad)));
    }
    if (on_new_pad)
      on_new_pad(pad);
    gst_pad_add_probe(
        pad, (GstPadProbeType)(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
        probe, this, nullptr);
    std::string kind = pad_kind(pad);
    GstElement *q = gst_element_factory_make("queue", nullptr);
    std::vector<GstElement *> chain{q};
    if (tail == Tail::Fakesink) {
      GstElement *sink = gst_element_factory_make("fakesink", nullptr);
      g_object_set(sink, "sync", sync, "async", async_sinks, nullptr);
      chain.push_back(sink);
    } else {
      GstElement *conv =
          gst_element_factory_make(kind == "video" ? "videoconvert" : "audioconvert", nullptr);
      GstElement *cf = gst_element_factory_make("capsfilter", nullptr);
      GstCaps *caps = gst_caps_from_string(kind == "video" ? "video/x-raw,format=I420"
                                                           : "audio/x-raw,format=S16LE");
      g_object_set(cf, "caps", caps, nullptr);
      gst_caps_unref(caps);
      chain.push_back(conv);
      chain.push_back(cf);
    }
    for (GstElement *e : chain)
      gst_bin_add(GST_BIN(pipeline), e);
    {
      std::lock_guard<std::mutex> lk(m);
      branches[pad] = chain;
    }
    for (size_t i = 0; i + 1 < chain.size(); i++)
      fail_unless(gst_element_link(chain[i], chain[i + 1]));
    if (tail == Tail::Muxer) {
      GstPad *mp = gst_element_request_pad_simple(mux, kind == "video" ? "video_%u" : "audio_%u");
      fail_unless(mp != nullptr, "matroskamux gives no %s pad", kind.c_str());
      GstPad *src = gst_element_get_static_pad(chain.back(), "src");
      fail_unless(gst_pad_link(src, mp) == GST_PAD_LINK_OK);
      gst_object_unref(src);
      gst_object_unref(mp);
    }
    for (GstElement *e : chain)
      gst_element_sync_state_with_parent(e);
    GstPad *sinkpad = gst_element_get_static_pad(q, "sink");
    GstPadLinkReturn lr = gst_pad_link(pad, sinkpad);
    gst_object_unref(sinkpad);
    fail_unless(lr == GST_PAD_LINK_OK, "%s: cannot link %s (%d)", subject.name, GST_PAD_NAME(pad),
                lr);
  }

  PadLog *log_locked(GstPad *pad)
  {
    auto it = current.find(pad);
    if (it != current.end() && it->second->run == run)
      return it->second;
    logs.emplace_back(new PadLog);
    PadLog *l = logs.back().get();
    l->name = GST_PAD_NAME(pad);
    l->kind = pad_kind(pad);
    l->run = run;
    current[pad] = l;
    return l;
  }

  static GstPadProbeReturn probe(GstPad *pad, GstPadProbeInfo *info, gpointer data)
  {
    Bench *b = static_cast<Bench *>(data);
    GstClockTime rt = GST_CLOCK_TIME_NONE;
    if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER) {
      GstClock *clock = gst_element_get_clock(b->pipeline);
      if (clock) {
        GstClockTime now = gst_clock_get_time(clock);
        GstClockTime base = gst_element_get_base_time(b->pipeline);
        rt = now >= base ? now - base : 0;
        gst_object_unref(clock);
      }
    }
    std::lock_guard<std::mutex> lk(b->m);
    PadLog *l = b->log_locked(pad);
    if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER) {
      GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
      if (l->eos)
        l->after_eos++;
      if (GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_GAP)) {
        l->gaps++;
      } else {
        l->buffers++;
        l->stamps.push_back({g_get_monotonic_time(), GST_BUFFER_PTS(buf), rt});
      }
    } else {
      GstEvent *ev = GST_PAD_PROBE_INFO_EVENT(info);
      bool muted;
      if (GST_EVENT_TYPE(ev) == GST_EVENT_EOS)
        l->eos = true;
      else if (GST_EVENT_TYPE(ev) == GST_EVENT_FLUSH_STOP)
        l->eos = false;
      else if (wc_parse_track_state(ev, &muted)) {
        l->have_state = true;
        l->last_muted = muted;
      }
    }
    return GST_PAD_PROBE_OK;
  }

  /* A new run: the logs of the pads start over. */
  void new_run()
  {
    std::vector<GstElement *> stale;
    {
      std::lock_guard<std::mutex> lk(m);
      run++;
      /* The branches of pads the element removed go, as an application
       * does (a sink left behind would never get EOS: no EOS message). */
      if (tail == Tail::Fakesink) {
        for (auto it = branches.begin(); it != branches.end();) {
          if (GST_OBJECT_PARENT(it->first) != GST_OBJECT(subj)) {
            stale.insert(stale.end(), it->second.begin(), it->second.end());
            it = branches.erase(it);
          } else {
            ++it;
          }
        }
      }
    }
    for (GstElement *e : stale) {
      gst_element_set_locked_state(e, TRUE);
      gst_element_set_state(e, GST_STATE_NULL);
      gst_bin_remove(GST_BIN(pipeline), e);
    }
  }

  std::vector<PadLog> run_logs()
  {
    std::lock_guard<std::mutex> lk(m);
    std::vector<PadLog> out;
    for (auto &l : logs)
      if (l->run == run)
        out.push_back(*l);
    return out;
  }

  std::string summary()
  {
    std::string out;
    for (const PadLog &l : run_logs())
      out += l.name + ": " + std::to_string(l.buffers) + " buffers (" + std::to_string(l.gaps) +
             " gap)" + (l.eos ? ", EOS" : "") +
             (l.have_state ? (l.last_muted ? ", muted" : ", unmuted") : "") + "; ";
    return out.empty() ? "no buffer or event on any src pad" : out;
  }

  /* Every expected pad of this run has @n non-gap buffers. */
  bool all_pads_have(int n)
  {
    int ok = 0;
    for (const PadLog &l : run_logs())
      if (l.buffers >= n)
        ok++;
    return ok >= (int)subject.n_pads;
  }

  void wait_all_pads_have(int n, const char *when)
  {
    bool ok = wc_wait_until([&] { return all_pads_have(n); }, kWaitMs, 20);
    fail_unless(ok, "%s: %s: %u pads with %d buffers each not reached in %u s: %s", subject.name,
                when, subject.n_pads, n, kWaitMs / 1000, summary().c_str());
  }

  /* EOS or ERROR within @timeout_ms (transfer full), or nullptr. */
  GstMessage *wait_eos_or_error(guint timeout_ms)
  {
    return gst_bus_timed_pop_filtered(bus, (GstClockTime)timeout_ms * GST_MSECOND,
                                      (GstMessageType)(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  }

  void expect_eos(const char *when, guint timeout_ms = 30000)
  {
    GstMessage *msg = wait_eos_or_error(timeout_ms);
    fail_unless(msg != nullptr, "%s: %s: no EOS message within %u s: %s", subject.name, when,
                timeout_ms / 1000, summary().c_str());
    if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
      std::string text = wc_error_text(msg);
      gst_message_unref(msg);
      fail("%s: %s: ERROR instead of EOS: %s", subject.name, when, text.c_str());
    }
    gst_message_unref(msg);
  }

  void fail_on_error(const char *when)
  {
    while (GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR)) {
      std::string text = wc_error_text(msg);
      gst_message_unref(msg);
      fail("%s: %s: ERROR: %s", subject.name, when, text.c_str());
    }
  }

  void drop_messages()
  {
    while (GstMessage *msg = gst_bus_pop(bus))
      gst_message_unref(msg);
  }

  void set_state(GstState state, const char *when)
  {
    WcWatchdog wd(kWatchdogS, std::string(subject.name) + ": " + when + ": set_state(" +
                                  gst_element_state_get_name(state) + ") hangs");
    GstStateChangeReturn ret = gst_element_set_state(pipeline, state);
    fail_unless(ret != GST_STATE_CHANGE_FAILURE, "%s: %s: set_state(%s) failed", subject.name, when,
                gst_element_state_get_name(state));
    if (ret == GST_STATE_CHANGE_ASYNC && state != GST_STATE_PLAYING) {
      ret = gst_element_get_state(pipeline, nullptr, nullptr, 15 * GST_SECOND);
      fail_unless(ret != GST_STATE_CHANGE_FAILURE && ret != GST_STATE_CHANGE_ASYNC,
                  "%s: %s: %s not reached in 15 s (%d)", subject.name, when,
                  gst_element_state_get_name(state), ret);
    }
  }
};

const Subject &subject_of(int i)
{
  return *subjects().at(i);
}

/* ================================================================== eos === */

GST_START_TEST(test_eos_reaches_every_pad)
{
  const Subject &s = subject_of(__i__);
  Bench b(s, true);
  b.start_watching();
  b.set_state(GST_STATE_PLAYING, "start");
  b.wait_all_pads_have(3, "before EOS");
  b.fail_on_error("before EOS");
  gboolean sent = gst_element_send_event(b.pipeline, gst_event_new_eos());
  b.expect_eos("after gst_element_send_event(pipeline, EOS)", kWaitMs);
  for (const PadLog &l : b.run_logs()) {
    if (l.buffers == 0)
      continue;
    fail_unless(l.eos, "%s: pad %s got no EOS: %s", s.name, l.name.c_str(), b.summary().c_str());
    fail_unless(l.after_eos == 0, "%s: pad %s pushed %d buffers after EOS", s.name, l.name.c_str(),
                l.after_eos);
  }
  fail_unless(sent, "%s: the pipeline took the EOS but send_event returned FALSE", s.name);
}
GST_END_TEST;

GST_START_TEST(test_eos_finalizes_recording)
{
  const Subject &s = subject_of(__i__);
  WC_REQUIRE_ELEMENTS("matroskamux", "matroskademux");
  std::string path;
  {
    Bench b(s, true, Tail::Muxer);
    b.start_watching();
    path = b.mux_path;
    b.set_state(GST_STATE_PLAYING, "recording");
    b.wait_all_pads_have(10, "recording");
    b.fail_on_error("recording");
    gst_element_send_event(b.pipeline, gst_event_new_eos());
    b.expect_eos("recording stopped with EOS", kWaitMs);
  }
  /* The file is finalized: a duration in its header, every track, and it
   * plays to its end. */
  GError *err = nullptr;
  GstDiscoverer *dc = gst_discoverer_new(15 * GST_SECOND, &err);
  fail_unless(dc != nullptr);
  GstDiscovererInfo *info = gst_discoverer_discover_uri(dc, wc_file_uri(path).c_str(), &err);
  fail_unless(info != nullptr, "%s: recording does not parse: %s", s.name,
              err ? err->message : "?");
  g_clear_error(&err);
  fail_unless_equals_int(gst_discoverer_info_get_result(info), GST_DISCOVERER_OK);
  GstClockTime dur = gst_discoverer_info_get_duration(info);
  GList *streams = gst_discoverer_info_get_stream_list(info);
  guint n = g_list_length(streams);
  gst_discoverer_stream_info_list_free(streams);
  gst_discoverer_info_unref(info);
  gst_object_unref(dc);
  fail_unless(GST_CLOCK_TIME_IS_VALID(dur) && dur > 0, "%s: the recording has no duration", s.name);
  fail_unless(n == s.n_pads, "%s: the recording has %u streams, expected %u", s.name, n, s.n_pads);
  g_autofree gchar *desc =
      g_strdup_printf("filesrc location=\"%s\" ! matroskademux ! fakesink", path.c_str());
  GstElement *play = gst_parse_launch(desc, nullptr);
  wc_run_to_eos(play, 30);
  gst_element_set_state(play, GST_STATE_NULL);
  gst_object_unref(play);
  g_remove(path.c_str());
}
GST_END_TEST;

/* ============================================================== restart === */

/* One run: finite subjects play to their end; endless ones until every pad
 * has 10 buffers. Returns the logs of the run. */
std::vector<PadLog> one_run(Bench &b, const char *when,
                            GstState pause_in_middle = GST_STATE_VOID_PENDING)
{
  const Subject &s = b.subject;
  b.new_run();
  b.drop_messages();
  b.set_state(GST_STATE_PLAYING, when);
  if (pause_in_middle != GST_STATE_VOID_PENDING) {
    b.wait_all_pads_have(3, when);
    b.set_state(GST_STATE_PAUSED, when);
    wc_sleep_ms(300);
    b.set_state(GST_STATE_PLAYING, when);
  }
  if (s.flags & FINITE)
    b.expect_eos(when);
  else
    b.wait_all_pads_have(pause_in_middle != GST_STATE_VOID_PENDING ? 20 : 10, when);
  b.fail_on_error(when);
  return b.run_logs();
}

void expect_full_run(const Subject &s, const std::vector<PadLog> &logs, const char *when)
{
  std::map<std::string, int> per_kind;
  std::string all;
  for (const PadLog &l : logs) {
    if (l.buffers > 0)
      per_kind[l.kind]++;
    all += l.name + "=" + std::to_string(l.buffers) + " ";
  }
  guint pads = 0;
  for (auto &k : per_kind)
    pads += k.second;
  fail_unless(pads >= s.n_pads, "%s: %s: %u tracks with buffers, expected %u (%s)", s.name, when,
              pads, s.n_pads, all.c_str());
  if (!(s.flags & FINITE))
    return;
  for (const PadLog &l : logs) {
    guint min = l.kind == "audio" ? s.min_audio : s.min_video;
    fail_unless(l.buffers == 0 || (guint)l.buffers >= min,
                "%s: %s: pad %s gave %d non-silent/non-gap buffers, expected >= %u (%s)", s.name,
                when, l.name.c_str(), l.buffers, min, all.c_str());
  }
}

/* Same tracks (kinds), counts within 25 %. */
void expect_same_output(const Subject &s, const std::vector<PadLog> &a,
                        const std::vector<PadLog> &b, const char *when)
{
  auto per_kind = [](const std::vector<PadLog> &logs) {
    std::map<std::string, int> m;
    for (const PadLog &l : logs)
      if (l.buffers > 0)
        m[l.kind] += l.buffers;
    return m;
  };
  auto ka = per_kind(a), kb = per_kind(b);
  for (auto &k : ka) {
    int second = kb.count(k.first) ? kb[k.first] : 0;
    fail_unless(second > 0, "%s: %s: no %s buffers in the second run (first run: %d)", s.name, when,
                k.first.c_str(), k.second);
    if (s.flags & FINITE)
      fail_unless(std::abs(second - k.second) * 4 <= k.second,
                  "%s: %s: %d %s buffers in the second run, %d in the first", s.name, when, second,
                  k.first.c_str(), k.second);
  }
}

void restart_through(int i, GstState between)
{
  const Subject &s = subject_of(i);
  Bench b(s, false);
  b.start_watching();
  std::vector<PadLog> first = one_run(b, "first run");
  expect_full_run(s, first, "first run");
  b.set_state(between, "between the runs");
  g_autofree gchar *when2 =
      g_strdup_printf("second run after %s", gst_element_state_get_name(between));
  std::vector<PadLog> second = one_run(b, when2);
  expect_full_run(s, second, when2);
  expect_same_output(s, first, second, when2);
}

GST_START_TEST(test_restart_after_null)
{
  restart_through(__i__, GST_STATE_NULL);
}
GST_END_TEST;

GST_START_TEST(test_restart_after_ready)
{
  restart_through(__i__, GST_STATE_READY);
}
GST_END_TEST;

GST_START_TEST(test_pause_in_the_middle)
{
  const Subject &s = subject_of(__i__);
  Bench b(s, false);
  b.start_watching();
  std::vector<PadLog> logs = one_run(b, "run paused in the middle", GST_STATE_PAUSED);
  expect_full_run(s, logs, "run paused in the middle");
}
GST_END_TEST;

/* ======================================================= stop-in-signal === */

/* Connects a closure that calls @fn for any signal signature (the return
 * value, if any, is left at its default). */
struct Hook {
  std::function<void()> fn;
};

void hook_marshal(GClosure *closure, GValue *, guint, const GValue *, gpointer, gpointer)
{
  static_cast<Hook *>(closure->data)->fn();
}

gulong connect_any(gpointer instance, const std::string &signal, Hook *hook)
{
  GClosure *c = g_closure_new_simple(sizeof(GClosure), hook);
  g_closure_set_marshal(c, hook_marshal);
  return g_signal_connect_closure(instance, signal.c_str(), c, FALSE);
}

bool is_core_type(GType t)
{
  static const char *core[] = {"GstObject",   "GstElement",  "GstBin",
                               "GstPipeline", "GstBaseSrc",  "GstPushSrc",
                               "GstPad",      "GstProxyPad", "GstGhostPad"};
  for (const char *n : core)
    if (g_str_equal(g_type_name(t), n))
      return true;
  return false;
}

/* Every signal (no action signal: those the application emits itself) and
 * notify:: an instance of @type emits: its own types' signals, @extra, and
 * a notify:: per readable property. */
std::vector<std::string> signals_of(GType type, std::initializer_list<const char *> extra)
{
  std::vector<std::string> out(extra.begin(), extra.end());
  for (GType t = type; t != G_TYPE_OBJECT && t != G_TYPE_INVALID; t = g_type_parent(t)) {
    if (is_core_type(t))
      continue;
    guint n = 0;
    guint *ids = g_signal_list_ids(t, &n);
    for (guint k = 0; k < n; k++) {
      GSignalQuery q;
      g_signal_query(ids[k], &q);
      if (!(q.signal_flags & G_SIGNAL_ACTION))
        out.push_back(q.signal_name);
    }
    g_free(ids);
  }
  gpointer klass = g_type_class_ref(type);
  guint n = 0;
  GParamSpec **props = g_object_class_list_properties(G_OBJECT_CLASS(klass), &n);
  for (guint k = 0; k < n; k++)
    if (props[k]->flags & G_PARAM_READABLE)
      out.push_back(std::string("notify::") + props[k]->name);
  g_free(props);
  g_type_class_unref(klass);
  return out;
}

struct Emission {
  std::string signal; /* "pad:notify::caps" for pad signals */
  std::string thread;
};

/* Runs one discovery: which signals fire while the subject plays (up to its
 * end, or 3 s when endless). */
std::vector<Emission> discover_signals(const Subject &s)
{
  Bench b(s, false);
  std::mutex m;
  std::map<std::string, std::string> seen;
  std::atomic<bool> recording{true};
  std::vector<std::unique_ptr<Hook>> hooks;
  auto record = [&](const std::string &name) {
    auto h = std::make_unique<Hook>();
    h->fn = [&, name] {
      if (!recording)
        return;
      std::lock_guard<std::mutex> lk(m);
      seen.emplace(name, thread_name());
    };
    return h;
  };
  for (const std::string &sig :
       signals_of(G_OBJECT_TYPE(b.subj), {"pad-added", "pad-removed", "no-more-pads"})) {
    hooks.push_back(record(sig));
    connect_any(b.subj, sig, hooks.back().get());
  }
  std::mutex hm;
  b.on_new_pad = [&](GstPad *pad) {
    std::lock_guard<std::mutex> lk(hm);
    for (const std::string &sig : signals_of(G_OBJECT_TYPE(pad), {})) {
      hooks.push_back(record("pad:" + sig));
      connect_any(pad, sig, hooks.back().get());
    }
    /* GstPad's own caps notify (a pad type of ours may not add any). */
    hooks.push_back(record("pad:notify::caps"));
    connect_any(pad, "notify::caps", hooks.back().get());
  };
  b.start_watching();
  b.set_state(GST_STATE_PLAYING, "discovering signals");
  if (s.poke) {
    b.wait_all_pads_have(3, "discovering signals");
    s.poke(b.subj);
  }
  if (s.flags & FINITE) {
    GstMessage *msg = b.wait_eos_or_error(30000);
    if (msg)
      gst_message_unref(msg);
    wc_sleep_ms(500);
  } else {
    b.wait_all_pads_have(10, "discovering signals");
    wc_sleep_ms(1000);
  }
  recording = false;
  b.teardown();
  std::vector<Emission> out;
  for (auto &e : seen)
    out.push_back({e.first, e.second});
  return out;
}

std::atomic<int> join_self_warnings{0};

gboolean count_join_self(const gchar *, GLogLevelFlags, const gchar *, gpointer)
{
  join_self_warnings++;
  return TRUE; /* not fatal: judged by the test */
}

/* Is @thread a streaming thread (a GstTask: "<element>:<pad>") of an element
 * of @pipeline's top level? GStreamer forbids a state change there (the task
 * cannot join itself). Threads inside an element (a hidden pipeline's) are
 * not: a signal the element emits there must allow a stop. */
bool is_pipeline_streaming_thread(GstElement *pipeline, const std::string &thread)
{
  size_t colon = thread.find(':');
  if (colon == std::string::npos)
    return false;
  GstElement *e = gst_bin_get_by_name(GST_BIN(pipeline), thread.substr(0, colon).c_str());
  if (!e)
    return false;
  bool top = GST_OBJECT_PARENT(e) == GST_OBJECT(pipeline);
  gst_object_unref(e);
  return top;
}

GST_START_TEST(test_stop_in_every_signal)
{
  const Subject &s = subject_of(__i__);
  std::vector<Emission> emitted = discover_signals(s);
  fail_if(emitted.empty(), "%s: no signal or notify seen while playing", s.name);
  std::string list;
  for (auto &e : emitted)
    list += e.signal + " (" + e.thread + ") ";
  g_print("%s: signals emitted while playing: %s\n", s.name, list.c_str());

  GstCheckLogFilter *filter = gst_check_add_log_filter(
      "GStreamer", G_LOG_LEVEL_WARNING,
      g_regex_new("would deadlock", (GRegexCompileFlags)0, (GRegexMatchFlags)0, nullptr),
      count_join_self, nullptr, nullptr);

  for (const Emission &e : emitted) {
    Bench b(s, false);
    std::atomic<bool> fired{false}, done{false};
    std::string thread;
    GstStateChangeReturn ret = GST_STATE_CHANGE_SUCCESS;
    int warnings_before = join_self_warnings.load();
    Hook hook;
    bool deferred = false;
    hook.fn = [&] {
      if (fired.exchange(true))
        return;
      thread = thread_name();
      if (is_pipeline_streaming_thread(b.pipeline, thread)) {
        /* GStreamer's rule: never a state change on a streaming thread of
         * the pipeline (a pad task cannot join itself); applications hand it
         * to another thread, as here. */
        deferred = true;
        gst_element_call_async(
            b.pipeline,
            +[](GstElement *p, gpointer data) {
              auto *self =
                  static_cast<std::pair<GstStateChangeReturn *, std::atomic<bool> *> *>(data);
              *self->first = gst_element_set_state(p, GST_STATE_NULL);
              *self->second = true;
            },
            new std::pair<GstStateChangeReturn *, std::atomic<bool> *>(&ret, &done),
            +[](gpointer data) {
              delete static_cast<std::pair<GstStateChangeReturn *, std::atomic<bool> *> *>(data);
            });
        return;
      }
      ret = gst_element_set_state(b.pipeline, GST_STATE_NULL);
      done = true;
    };
    bool on_pad = e.signal.rfind("pad:", 0) == 0;
    std::string sig = on_pad ? e.signal.substr(4) : e.signal;
    if (on_pad)
      b.on_new_pad = [&](GstPad *pad) { connect_any(pad, sig, &hook); };
    else
      connect_any(b.subj, sig, &hook);
    b.start_watching();
    WcWatchdog wd(kWatchdogS * 3, std::string(s.name) + ": no progress with a stop in " + e.signal);
    gst_element_set_state(b.pipeline, GST_STATE_PLAYING);
    if (s.poke && wc_wait_until([&] { return fired.load() || b.all_pads_have(3); }, 20000, 10) &&
        !fired.load())
      s.poke(b.subj);
    if (!wc_wait_until([&] { return fired.load(); }, 30000, 10)) {
      b.fail_on_error((std::string("a run to stop in ") + e.signal).c_str());
      g_print("%s: %s did not fire in this run (timing?), not judged; the run: %s\n", s.name,
              e.signal.c_str(), b.summary().c_str());
      b.teardown();
      continue;
    }
    wd.rearm(kWatchdogS, std::string(s.name) + ": set_state(NULL) from inside " + e.signal +
                             " on thread '" + thread + "' deadlocks");
    wc_wait_until([&] { return done.load(); }, kWatchdogS * 1000 + 5000, 10);
    wd.rearm(kWatchdogS,
             std::string(s.name) + ": set_state(NULL) after a stop in " + e.signal + " hangs");
    b.teardown();
    wd.disarm();
    bool refused = join_self_warnings.load() > warnings_before;
    g_print("%s: stop in %s on thread '%s'%s: %s%s\n", s.name, e.signal.c_str(), thread.c_str(),
            deferred ? " (a pipeline streaming thread: gst_element_call_async)" : "",
            gst_element_state_change_return_get_name(ret),
            refused ? " (GStreamer: a task joined from its own thread)" : "");
    fail_if(refused,
            "%s: set_state(NULL) from inside %s on thread '%s' made GStreamer join a task from "
            "its own thread: the element emits it on one of its internal streaming threads",
            s.name, e.signal.c_str(), thread.c_str());
    fail_unless(ret != GST_STATE_CHANGE_FAILURE,
                "%s: set_state(NULL) from inside %s on thread '%s' failed", s.name,
                e.signal.c_str(), thread.c_str());
  }
  gst_check_remove_log_filter(filter);
}
GST_END_TEST;

/* ========================================================= running-time === */

GST_START_TEST(test_running_time_restart)
{
  const Subject &s = subject_of(__i__);
  Bench b(s, true, Tail::Fakesink, "audiotestsrc is-live=true ! fakesink name=ref sync=true");
  b.async_sinks = true;
  b.start_watching();
  /* The other live source's buffers: they show that the running time restarted. */
  std::mutex ref_m;
  std::vector<Stamp> ref;
  {
    GstElement *sink = gst_bin_get_by_name(GST_BIN(b.pipeline), "ref");
    GstPad *pad = gst_element_get_static_pad(sink, "sink");
    static std::pair<std::mutex *, std::vector<Stamp> *> ctx;
    ctx = {&ref_m, &ref};
    gst_pad_add_probe(
        pad, GST_PAD_PROBE_TYPE_BUFFER,
        +[](GstPad *, GstPadProbeInfo *info, gpointer pipeline) {
          GstClockTime rt = GST_CLOCK_TIME_NONE;
          if (GstClock *clock = gst_element_get_clock(GST_ELEMENT(pipeline))) {
            rt = gst_clock_get_time(clock) - gst_element_get_base_time(GST_ELEMENT(pipeline));
            gst_object_unref(clock);
          }
          std::lock_guard<std::mutex> lk(*ctx.first);
          ctx.second->push_back(
              {g_get_monotonic_time(), GST_BUFFER_PTS(GST_PAD_PROBE_INFO_BUFFER(info)), rt});
          return GST_PAD_PROBE_OK;
        },
        b.pipeline, nullptr);
    gst_object_unref(pad);
    gst_object_unref(sink);
  }
  b.set_state(GST_STATE_PLAYING, "before the seek");
  b.wait_all_pads_have(5, "before the seek");
  /* Let the running time grow well past what the checks tolerate: a source
   * that waits for the old running time stalls about this long. */
  wc_wait_until(
      [&] {
        for (const PadLog &l : b.run_logs())
          if (!l.stamps.empty() && l.stamps.back().rt_now >= 5 * GST_SECOND)
            return true;
        return false;
      },
      kWaitMs, 20);
  b.fail_on_error("before the seek");
  b.new_run();
  {
    GstState cur = GST_STATE_VOID_PENDING, pending = GST_STATE_VOID_PENDING;
    GstStateChangeReturn r = gst_element_get_state(b.pipeline, &cur, &pending, 10 * GST_SECOND);
    g_print("%s: before the seek the pipeline is %s (pending %s, %s)\n", s.name,
            gst_element_state_get_name(cur), gst_element_state_get_name(pending),
            gst_element_state_change_return_get_name(r));
  }
  gint64 seek_us = g_get_monotonic_time();
  gboolean ok = gst_element_seek_simple(b.pipeline, GST_FORMAT_TIME, GST_SEEK_FLAG_FLUSH, 0);
  /* The flush is done when the seek returns: a buffer that passed during the
   * call (on a loaded machine the flush may reach a pad late) still carries
   * the old running time. */
  gint64 seek_done_us = g_get_monotonic_time();
  g_print("%s: flushing seek to 0 returned %d\n", s.name, ok);
  /* Buffers that leave the element from 0.5 s after the seek on. */
  auto settled = [&](const PadLog &l) {
    int n = 0;
    for (const Stamp &st : l.stamps)
      if (st.mono_us >= seek_us + 500000)
        n++;
    return n;
  };
  bool flowing = wc_wait_until(
      [&] {
        int pads = 0;
        for (const PadLog &l : b.run_logs())
          if (settled(l) >= 5)
            pads++;
        return pads >= (int)s.n_pads;
      },
      10000, 20);
  fail_unless(flowing,
              "%s: after a flushing seek that restarts the running time, not every pad "
              "gave 5 buffers within 10 s: %s",
              s.name, b.summary().c_str());
  /* No stall: the first buffers after the seek come at once (2.5 s is generous
   * next to a frame period; the pipeline had run 5 s), stamped on the new
   * running time. */
  for (const PadLog &l : b.run_logs()) {
    auto first = std::find_if(l.stamps.begin(), l.stamps.end(),
                              [&](const Stamp &st) { return st.mono_us >= seek_done_us; });
    if (first == l.stamps.end())
      continue;
    fail_unless(first->mono_us - seek_us <= 2500000,
                "%s: pad %s: the first buffer after the running time restarted came %.2f s "
                "later (PTS %" GST_TIME_FORMAT "): the source waited for the old running time",
                s.name, l.name.c_str(), (first->mono_us - seek_us) / 1e6,
                GST_TIME_ARGS(first->pts));
    fail_unless(
        first->pts <= 2500 * GST_MSECOND,
        "%s: pad %s: the first buffer after the running time restarted has PTS %" GST_TIME_FORMAT
        " (the old running time)",
        s.name, l.name.c_str(), GST_TIME_ARGS(first->pts));
  }
  for (const PadLog &l : b.run_logs()) {
    std::string first;
    int shown = 0;
    if (g_getenv("WC_DEBUG"))
      for (const Stamp &st : l.stamps)
        g_print("  %+.3f s: PTS %.3f rt %.3f\n", (st.mono_us - seek_us) / 1e6, st.pts / 1e9,
                st.rt_now / 1e9);
    for (const Stamp &st : l.stamps)
      if (st.mono_us >= seek_us + 500000 && shown++ < 3)
        first += "PTS " + std::to_string(st.pts / GST_MSECOND) + " ms at running time " +
                 std::to_string(st.rt_now / GST_MSECOND) + " ms; ";
    g_print("%s: %s after the seek: %s\n", s.name, l.name.c_str(), first.c_str());
  }
  {
    std::lock_guard<std::mutex> lk(ref_m);
    GstClockTime ref_pts = GST_CLOCK_TIME_NONE, ref_rt = GST_CLOCK_TIME_NONE;
    for (const Stamp &st : ref)
      if (st.mono_us >= seek_us + 500000) {
        ref_pts = st.pts;
        ref_rt = st.rt_now;
        break;
      }
    g_print("%s: audiotestsrc after the seek: PTS %" GST_TIME_FORMAT
            " at running time %" GST_TIME_FORMAT "\n",
            s.name, GST_TIME_ARGS(ref_pts), GST_TIME_ARGS(ref_rt));
    fail_unless(GST_CLOCK_TIME_IS_VALID(ref_pts) && ref_pts < 2 * GST_SECOND,
                "%s: test set-up: the flushing seek did not restart the running time "
                "(audiotestsrc PTS %" GST_TIME_FORMAT " 0.5 s after it)",
                s.name, GST_TIME_ARGS(ref_pts));
  }
  const GstClockTime slack = s.frame_period + 300 * GST_MSECOND;
  for (const PadLog &l : b.run_logs()) {
    for (const Stamp &st : l.stamps) {
      if (st.mono_us < seek_us + 500000 || !GST_CLOCK_TIME_IS_VALID(st.pts) ||
          !GST_CLOCK_TIME_IS_VALID(st.rt_now))
        continue;
      fail_unless(st.pts <= st.rt_now + slack,
                  "%s: pad %s: buffer PTS %" GST_TIME_FORMAT
                  " left the element at running time %" GST_TIME_FORMAT
                  " (the running time restarted at 0; PTS more than one frame "
                  "period + 300 ms ahead: stamped on the old running time)",
                  s.name, l.name.c_str(), GST_TIME_ARGS(st.pts), GST_TIME_ARGS(st.rt_now));
    }
  }
}
GST_END_TEST;

/* ========================================================= offline-seek === */

/* canvascapturesrc is-live=false frame-rate=10 into a prerolling fakesink. */
struct Offline {
  GstElement *pipeline, *src;
  std::mutex m;
  std::vector<std::pair<GstClockTime, GstClockTime>> frames; /* pts, duration */

  Offline()
  {
    pipeline = gst_parse_launch("canvascapturesrc name=subj is-live=false frame-rate=10 width=32 "
                                "height=24 ! fakesink name=sink sync=false",
                                nullptr);
    fail_unless(pipeline != nullptr);
    canvas_setup(pipeline);
    src = gst_bin_get_by_name(GST_BIN(pipeline), "subj");
    GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
    GstPad *pad = gst_element_get_static_pad(sink, "sink");
    gst_pad_add_probe(
        pad, GST_PAD_PROBE_TYPE_BUFFER,
        +[](GstPad *, GstPadProbeInfo *info, gpointer data) {
          Offline *o = static_cast<Offline *>(data);
          GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
          std::lock_guard<std::mutex> lk(o->m);
          o->frames.emplace_back(GST_BUFFER_PTS(buf), GST_BUFFER_DURATION(buf));
          return GST_PAD_PROBE_OK;
        },
        this, nullptr);
    gst_object_unref(pad);
    gst_object_unref(sink);
  }
  ~Offline()
  {
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(src);
    gst_object_unref(pipeline);
  }
  void clear()
  {
    std::lock_guard<std::mutex> lk(m);
    frames.clear();
  }
  bool seek(GstElement *target, double start_s, double stop_s,
            GstSeekFlags extra = GST_SEEK_FLAG_NONE)
  {
    return gst_element_seek(target, 1.0, GST_FORMAT_TIME,
                            (GstSeekFlags)(GST_SEEK_FLAG_FLUSH | extra), GST_SEEK_TYPE_SET,
                            (GstClockTime)(start_s * GST_SECOND), GST_SEEK_TYPE_SET,
                            (GstClockTime)(stop_s * GST_SECOND));
  }
  void wait_eos(const char *when)
  {
    GstBus *bus = gst_element_get_bus(pipeline);
    GstMessage *msg = gst_bus_timed_pop_filtered(
        bus, 20 * GST_SECOND, (GstMessageType)(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    gst_object_unref(bus);
    fail_unless(msg != nullptr, "offline canvas: %s: no EOS in 20 s", when);
    fail_unless(GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS, "offline canvas: %s: %s", when,
                wc_error_text(msg).c_str());
    gst_message_unref(msg);
  }
  void preroll() { wc_set_state_sync(pipeline, GST_STATE_PAUSED, 20); }
  /* The frames since clear() are exactly n/10 for n in [first, last]. */
  void expect_frames(guint first, guint last, const char *when)
  {
    std::lock_guard<std::mutex> lk(m);
    std::string got;
    for (auto &f : frames)
      got += std::to_string(f.first) + " ";
    fail_unless(frames.size() == last - first + 1,
                "offline canvas: %s: %zu frames, expected %u (n = %u..%u); PTS: %s", when,
                frames.size(), last - first + 1, first, last, got.c_str());
    for (guint n = first; n <= last; n++) {
      GstClockTime pts = gst_util_uint64_scale(n, GST_SECOND, 10);
      GstClockTime next = gst_util_uint64_scale(n + 1, GST_SECOND, 10);
      fail_unless(frames[n - first].first == pts,
                  "offline canvas: %s: frame %u has PTS %" G_GUINT64_FORMAT
                  ", expected %" G_GUINT64_FORMAT " exactly; PTS: %s",
                  when, n, frames[n - first].first, pts, got.c_str());
      fail_unless(frames[n - first].second == next - pts,
                  "offline canvas: %s: frame %u has duration %" G_GUINT64_FORMAT, when, n,
                  frames[n - first].second);
    }
  }
};

GST_START_TEST(test_offline_seek_after_preroll)
{
  Offline o;
  o.preroll();
  o.clear();
  fail_unless(o.seek(o.pipeline, 0, 1, GST_SEEK_FLAG_ACCURATE));
  wc_set_state_sync(o.pipeline, GST_STATE_PLAYING);
  o.wait_eos("preroll, then seek to [0, 1 s]");
  o.expect_frames(0, 9, "preroll, then seek to [0, 1 s]");
}
GST_END_TEST;

GST_START_TEST(test_offline_seek_backwards)
{
  Offline o;
  wc_set_state_sync(o.pipeline, GST_STATE_PLAYING);
  fail_unless(o.seek(o.pipeline, 2, 3));
  o.wait_eos("seek to [2, 3 s]");
  o.clear();
  fail_unless(o.seek(o.pipeline, 0, 1));
  o.wait_eos("seek back to [0, 1 s] after [2, 3 s]");
  o.expect_frames(0, 9, "seek back to [0, 1 s] after rendering [2, 3 s]");
  o.clear();
  fail_unless(o.seek(o.pipeline, 0.25, 0.75));
  o.wait_eos("seek to [0.25, 0.75 s]");
  /* The first frame at or after 0.25 s is 0.3 s; 0.7 s is the last before 0.75 s. */
  o.expect_frames(3, 7, "seek to [0.25, 0.75 s] (inside the segment only)");
}
GST_END_TEST;

GST_START_TEST(test_offline_seek_forwards)
{
  Offline o;
  wc_set_state_sync(o.pipeline, GST_STATE_PLAYING);
  fail_unless(o.seek(o.pipeline, 0, 1));
  o.wait_eos("seek to [0, 1 s]");
  o.clear();
  fail_unless(o.seek(o.pipeline, 3, 4));
  o.wait_eos("seek forwards to [3, 4 s]");
  o.expect_frames(30, 39, "seek forwards to [3, 4 s] after [0, 1 s]");
}
GST_END_TEST;

GST_START_TEST(test_offline_seek_before_preroll)
{
  Offline o;
  wc_set_state_sync(o.pipeline, GST_STATE_READY);
  /* A seek sent to the source in READY is kept for its start (GstBaseSrc). */
  fail_unless(o.seek(o.src, 2, 3), "the source in READY refuses a seek");
  wc_set_state_sync(o.pipeline, GST_STATE_PLAYING);
  o.wait_eos("seek to [2, 3 s] in READY");
  o.expect_frames(20, 29, "seek to [2, 3 s] sent in READY");
}
GST_END_TEST;

/* ============================================================= live-uri === */

std::string live_launch_uri;
std::string live_launch(Env &, bool)
{
  return "mediacapturesrc name=subj uri=" + live_launch_uri;
}

/* uridecodebin on @uri gives 10 buffers within 10 s: the test's own server
 * works (a failure of mediacapturesrc then is the element's). */
[[maybe_unused]] void expect_uridecodebin_plays(const std::string &uri)
{
  GstElement *pipeline = gst_pipeline_new(nullptr);
  GstElement *dec = gst_element_factory_make("uridecodebin", nullptr);
  g_object_set(dec, "uri", uri.c_str(), nullptr);
  gst_bin_add(GST_BIN(pipeline), dec);
  std::atomic<int> buffers{0};
  g_signal_connect(dec, "pad-added", G_CALLBACK(+[](GstElement *d, GstPad *pad, gpointer data) {
                     GstElement *p = GST_ELEMENT(GST_OBJECT_PARENT(d));
                     GstElement *sink = gst_element_factory_make("fakesink", nullptr);
                     g_object_set(sink, "async", FALSE, nullptr);
                     gst_bin_add(GST_BIN(p), sink);
                     gst_element_sync_state_with_parent(sink);
                     GstPad *sp = gst_element_get_static_pad(sink, "sink");
                     gst_pad_link(pad, sp);
                     gst_object_unref(sp);
                     gst_pad_add_probe(
                         pad, GST_PAD_PROBE_TYPE_BUFFER,
                         +[](GstPad *, GstPadProbeInfo *, gpointer n) {
                           (*static_cast<std::atomic<int> *>(n))++;
                           return GST_PAD_PROBE_OK;
                         },
                         data, nullptr);
                   }),
                   &buffers);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  bool ok = wc_wait_until([&] { return buffers.load() >= 10; }, 10000, 20);
  {
    WcWatchdog wd(kWatchdogS, "uridecodebin reference: set_state(NULL) hangs");
    gst_element_set_state(pipeline, GST_STATE_NULL);
  }
  gst_object_unref(pipeline);
  fail_unless(ok,
              "the test's own server does not work: uridecodebin got %d buffers from %s in 10 s",
              buffers.load(), uri.c_str());
}

void check_live_uri(const char *what, const std::string &uri, guint n_pads)
{
  live_launch_uri = uri;
  Subject s{what, "mediacapture-live", live_launch, nullptr, LIVE, n_pads, 0, 0, kP30};
  Bench b(s, true);
  b.start_watching();
  gint64 t0 = g_get_monotonic_time();
  b.set_state(GST_STATE_PLAYING, "live URI");
  bool got = wc_wait_until([&] { return b.all_pads_have(1); }, 10000, 10);
  double secs = (g_get_monotonic_time() - t0) / 1e6;
  g_print("%s: %s: first buffer on every track after %.2f s\n", what, uri.c_str(), secs);
  b.fail_on_error("live URI");
  fail_unless(got, "%s: %s gave no track with a buffer within 10 s: %s", what, uri.c_str(),
              b.summary().c_str());
  /* Follows the stream: buffers keep coming, PTS go forward. */
  std::vector<PadLog> at1 = b.run_logs();
  wc_sleep_ms(2000);
  std::vector<PadLog> at2 = b.run_logs();
  b.fail_on_error("live URI, playing");
  for (const PadLog &l : at2) {
    int before = 0;
    for (const PadLog &k : at1)
      if (k.name == l.name)
        before = k.buffers;
    fail_unless(l.buffers >= before + 10, "%s: pad %s: only %d new buffers in 2 s", what,
                l.name.c_str(), l.buffers - before);
    for (size_t k = 1; k < l.stamps.size(); k++)
      fail_unless(l.stamps[k].pts >= l.stamps[k - 1].pts, "%s: pad %s: PTS go backwards", what,
                  l.name.c_str());
  }
}

GST_START_TEST(test_live_uri_udp)
{
  WC_REQUIRE_ELEMENTS("lamemp3enc", "mpegtsmux", "tsdemux", "udpsrc");
  Env env;
  std::string uri = env.udp_uri();
  check_live_uri("udp", uri, 1);
}
GST_END_TEST;

#ifdef WC_HAVE_RTSP_SERVER
GST_START_TEST(test_live_uri_rtsp)
{
  WC_REQUIRE_ELEMENTS("opusenc", "rtpopuspay", "rtspsrc");
  GMainContext *ctx = g_main_context_new();
  GMainLoop *loop = g_main_loop_new(ctx, FALSE);
  GstRTSPServer *server = gst_rtsp_server_new();
  gst_rtsp_server_set_address(server, "127.0.0.1");
  gst_rtsp_server_set_service(server, "0");
  GstRTSPMountPoints *mounts = gst_rtsp_server_get_mount_points(server);
  GstRTSPMediaFactory *factory = gst_rtsp_media_factory_new();
  gst_rtsp_media_factory_set_launch(factory, "( audiotestsrc is-live=true ! audioconvert ! "
                                             "opusenc ! rtpopuspay name=pay0 pt=96 )");
  gst_rtsp_media_factory_set_shared(factory, TRUE);
  gst_rtsp_mount_points_add_factory(mounts, "/live", factory);
  g_object_unref(mounts);
  guint source = gst_rtsp_server_attach(server, ctx);
  fail_unless(source != 0, "the RTSP server cannot listen on 127.0.0.1");
  int port = gst_rtsp_server_get_bound_port(server);
  std::thread th([loop] { g_main_loop_run(loop); });
  std::string uri = "rtsp://127.0.0.1:" + std::to_string(port) + "/live";
  expect_uridecodebin_plays(uri);
  check_live_uri("rtsp", uri, 1);
  g_main_loop_quit(loop);
  th.join();
  GSource *src = g_main_context_find_source_by_id(ctx, source);
  if (src)
    g_source_destroy(src);
  GstRTSPSessionPool *pool = gst_rtsp_server_get_session_pool(server);
  gst_rtsp_session_pool_cleanup(pool);
  g_object_unref(pool);
  g_object_unref(server);
  g_main_loop_unref(loop);
  g_main_context_unref(ctx);
}
GST_END_TEST;
#endif

/* A FIFO whose data comes 6 s after it was opened: a slow but valid source.
 * uridecodebin plays it; so must mediacapturesrc (its errors come from the
 * media, never from a fixed deadline of its own). */
GST_START_TEST(test_slow_source_plays)
{
  std::string fifo = wc_temp_path(("slow-" + std::to_string(getpid()) + ".fifo").c_str());
  fail_unless(mkfifo(fifo.c_str(), 0600) == 0);
  std::string data_path = wc_temp_path("audio2.ogg");
  std::atomic<bool> quit{false};
  std::thread writer([&] {
    FILE *w = fopen(fifo.c_str(), "wb"); /* blocks until the reader opens */
    if (!w)
      return;
    for (int k = 0; k < 60 && !quit; k++)
      g_usleep(100000);
    gchar *data = nullptr;
    gsize len = 0;
    if (!quit && g_file_get_contents(data_path.c_str(), &data, &len, nullptr))
      fwrite(data, 1, len, w);
    g_free(data);
    fclose(w);
  });
  live_launch_uri = wc_file_uri(fifo);
  Subject s{"slow-fifo", "mediacapture-live", live_launch, nullptr, LIVE | FINITE, 1, 0, 10, kP30};
  {
    Bench b(s, false);
    b.start_watching();
    b.set_state(GST_STATE_PLAYING, "slow source");
    GstMessage *msg = b.wait_eos_or_error(40000);
    quit = true;
    /* Unblock a writer still waiting for a reader. */
    int fd = open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
    std::string result =
        !msg ? "no EOS in 40 s"
             : (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS ? "EOS" : wc_error_text(msg));
    if (msg)
      gst_message_unref(msg);
    std::string summary = b.summary();
    b.teardown();
    writer.join();
    if (fd >= 0)
      close(fd);
    g_remove(fifo.c_str());
    fail_unless(result == "EOS", "slow source (data after 6 s): %s; %s", result.c_str(),
                summary.c_str());
    fail_unless(b.all_pads_have(1), "slow source: EOS but no buffer: %s", summary.c_str());
  }
}
GST_END_TEST;

/* ========================================================= current-time === */

std::string mc_uri_launch(Env &, bool)
{
  return "mediacapturesrc name=subj uri=" + wc_file_uri(media_file());
}

GST_START_TEST(test_current_time_while_loading)
{
  Subject s{"current-time", "mediacapture", mc_uri_launch, nullptr, LIVE | FINITE, 2, 0, 0, kP30};
  Bench b(s, false);
  b.start_watching();
  b.set_state(GST_STATE_PLAYING, "loading");
  g_object_set(b.subj, "current-time", 2.0, nullptr); /* while the media is loading */
  b.wait_all_pads_have(3, "after current-time := 2.0 while loading");
  double pos = wc_get_double(b.subj, "current-time");
  fail_unless(pos >= 1.9, "current-time := 2.0 while loading: playback started at %.2f s", pos);
  b.fail_on_error("current-time while loading");
}
GST_END_TEST;

GST_START_TEST(test_current_time_any_value)
{
  GstElement *el = gst_element_factory_make("mediacapturesrc", nullptr);
  fail_unless(el != nullptr);
  GParamSpec *ps = g_object_class_find_property(G_OBJECT_GET_CLASS(el), "current-time");
  fail_unless(ps && G_IS_PARAM_SPEC_DOUBLE(ps), "current-time is not a double property");
  const double max = G_PARAM_SPEC_DOUBLE(ps)->maximum;
  gst_object_unref(el);
  /* Around the largest time a GstClockTime holds (1.8e10 s) and beyond. */
  std::vector<double> values;
  for (double v : {1.8e10, 1e12, 1e300, G_MAXDOUBLE})
    if (v < max)
      values.push_back(v);
  values.push_back(max); /* the largest value the property takes, whatever it is */
  g_print("current-time: the property takes up to %g\n", max);
  Subject s{"current-time", "mediacapture", mc_uri_launch, nullptr, LIVE | FINITE, 2, 0, 0, kP30};
  for (double v : values) {
    /* Set while playing: beyond the duration, playback ends at once. The
     * medium lasts 4 s: playing it to its natural end gives ~100 more video
     * frames, a seek past the end none (counted, not timed). */
    {
      Bench b(s, false);
      b.start_watching();
      b.set_state(GST_STATE_PLAYING, "playing");
      b.wait_all_pads_have(3, "before a huge current-time");
      int before = 0;
      for (const PadLog &l : b.run_logs())
        if (l.kind == "video")
          before = l.buffers;
      g_object_set(b.subj, "current-time", v, nullptr);
      bool ended = wc_wait_until([&] { return wc_get_bool(b.subj, "ended"); }, 15000, 20);
      b.fail_on_error("huge current-time");
      int after = 0;
      for (const PadLog &l : b.run_logs())
        if (l.kind == "video")
          after = l.buffers;
      fail_unless(ended,
                  "current-time := %g while playing: not ended 15 s later (current-time %.2f)", v,
                  wc_get_double(b.subj, "current-time"));
      fail_unless(after - before < 30,
                  "current-time := %g while playing: %d more video frames before the end "
                  "(the seek was ignored and the medium played to its end)",
                  v, after - before);
    }
    /* Set before starting: the start position is past the end. */
    {
      Bench b(s, false);
      b.start_watching();
      g_object_set(b.subj, "current-time", v, nullptr);
      b.set_state(GST_STATE_PLAYING, "start past the end");
      bool ended = wc_wait_until([&] { return wc_get_bool(b.subj, "ended"); }, 15000, 20);
      b.fail_on_error("start past the end");
      int frames = 0;
      for (const PadLog &l : b.run_logs())
        if (l.kind == "video")
          frames = l.buffers;
      fail_unless(ended, "current-time := %g before start: not ended 15 s later", v);
      fail_unless(frames < 30, "current-time := %g before start: %d video frames played", v,
                  frames);
    }
  }
}
GST_END_TEST;

/* ================================================================ suite === */

/* One test per subject of this executable that has @needs flags (the
 * loop index is the subject). */
void add_for_subjects(TCase *tc, TFun test, const char *name, guint needs)
{
  for (size_t i = 0; i < subjects().size(); i++)
    if ((subjects()[i]->flags & needs) == needs)
      _tcase_add_test(tc, test, name, 0, 0, (int)i, (int)i + 1);
}
#define ADD_FOR_SUBJECTS(tc, test, needs) add_for_subjects(tc, test, #test, needs)

} // namespace

static Suite *contracts_suite(void)
{
  const char *only = g_getenv("WC_SUBJECT");
  for (const Subject &s : kSubjects)
    if (g_str_equal(s.group, WC_CONTRACT_GROUP) && (!only || g_str_equal(only, s.name)))
      subjects().push_back(&s);
  g_print("contracts (%s):", WC_CONTRACT_GROUP);
  for (const Subject *s : subjects())
    g_print(" %s", s->name);
  g_print("\n");

  Suite *suite = suite_create("contracts_" WC_CONTRACT_GROUP);
  auto tcase = [&](const char *name, guint timeout_s) {
    return wc_add_case(suite, name, timeout_s);
  };
  TCase *tc = tcase("eos", 120);
  ADD_FOR_SUBJECTS(tc, test_eos_reaches_every_pad, 0);
  ADD_FOR_SUBJECTS(tc, test_eos_finalizes_recording, 0);
  tc = tcase("restart", 150);
  ADD_FOR_SUBJECTS(tc, test_restart_after_null, 0);
  ADD_FOR_SUBJECTS(tc, test_restart_after_ready, 0);
  ADD_FOR_SUBJECTS(tc, test_pause_in_the_middle, 0);
  tc = tcase("stop-in-signal", 280);
  ADD_FOR_SUBJECTS(tc, test_stop_in_every_signal, 0);
  tc = tcase("running-time", 120);
  ADD_FOR_SUBJECTS(tc, test_running_time_restart, LIVE);

  const std::string group = WC_CONTRACT_GROUP;
  if (group == "canvas" && !only) {
    tc = tcase("offline-seek", 60);
    tcase_add_test(tc, test_offline_seek_after_preroll);
    tcase_add_test(tc, test_offline_seek_backwards);
    tcase_add_test(tc, test_offline_seek_forwards);
    tcase_add_test(tc, test_offline_seek_before_preroll);
  }
  if (group == "mediacapture-live" && !only) {
    tc = tcase("live-uri", 120);
    tcase_add_test(tc, test_live_uri_udp);
#ifdef WC_HAVE_RTSP_SERVER
    tcase_add_test(tc, test_live_uri_rtsp);
#endif
    tcase_add_test(tc, test_slow_source_plays);
  }
  if (group == "mediacapture" && !only) {
    tc = tcase("current-time", 240);
    tcase_add_test(tc, test_current_time_while_loading);
    tcase_add_test(tc, test_current_time_any_value);
  }
  return suite;
}

int main(int argc, char **argv)
{
  gst_check_init(&argc, &argv);
  /* Media is made once, before the tests fork. */
  make_media();
  Suite *s = contracts_suite();
  return gst_check_run_suite(s, "contracts_" WC_CONTRACT_GROUP, __FILE__);
}
