/* mediastream-demo: a canvas and a media file as one MediaStream, recorded and sent to browsers.
 *
 *   canvascapturesrc (draw signal: clock, moving shape, frame counter) --+
 *   mediacapturesrc uri=... (its video and audio tracks) ----------------+--> mediastreambin
 *
 *   each track pad ! tee --+-> queue ! convert ! vp8enc / opusenc ! webmmux ! filesink (--output)
 *                          +-> queue ! convert ! vp8enc / opusenc ! rtp*pay ! webrtcbin (one per
 *                              browser that opens http://127.0.0.1:8080/, msid = the stream id,
 *                              set by mediastreambin)
 *
 * The page (tests/examples/web/) shows every video track, plays the audio, and lists the received
 * MediaStream's id and its tracks (id, kind, label, muted, readyState) live, next to the same
 * stream as the pipeline sees it (track pads' track-id, label, enabled, muted, ready-state,
 * settings), whose `enabled` it can toggle.
 *
 * Without --uri, the media file is made once with GStreamer's own encoders in the build directory
 * (10 s of VP8 + Opus in WebM: a test pattern with its time, a 330 Hz tone), so the demo needs
 * nothing downloaded.
 *
 * Headless by default: runs --seconds (10), finishes the file (EOS) and prints a summary; exits 0
 * only when the file was written and reads back with every track. --serve: runs until Ctrl-C.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "common/webrtc-signalling.h"

#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>

#include <cairo.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <gst/pbutils/pbutils.h>

#include "example-media.h"

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#ifndef DEMO_WEB_ROOT
#define DEMO_WEB_ROOT "web"
#endif
#ifndef DEMO_BUILD_DIR
#define DEMO_BUILD_DIR "."
#endif

namespace
{

constexpr int kWidth = 640;
constexpr int kHeight = 360;
constexpr double kFrameRate = 30.0;
constexpr guint kEosTimeoutSeconds = 10;
// The media tracks are normally known within a few hundred ms; record without them after this.
constexpr guint kMediaTimeoutSeconds = 10;
// Each viewer has its own encoders: keep the CPU bounded.
constexpr guint kMaxViewers = 4;

// --- One track of the stream, as the demo follows it -------------------------------------------

struct Track {
  GstPad *pad = nullptr; // the GstMediaStreamTrackPad (strong ref)
  GstElement *tee = nullptr;
  std::string kind;
  std::atomic<guint64> buffers{0};
  std::atomic<guint64> bytes{0};
  bool recorded = false;
  int payload = 96;
};

struct Viewer {
  webcapture::WebRtcSessionPtr session;
  GstElement *webrtcbin = nullptr;
  // tee src pad -> the branch bin feeding webrtcbin
  std::vector<std::pair<GstPad *, GstElement *>> branches;
};

struct Demo {
  GMainLoop *loop = nullptr;
  GstElement *pipeline = nullptr;
  GstElement *canvas = nullptr;
  GstElement *media = nullptr;
  GstElement *stream = nullptr; // mediastreambin
  GstElement *muxer = nullptr;
  std::string output;
  std::string stream_id;
  std::mutex lock; // tracks (pad-added and track-added run on streaming threads)
  std::vector<std::unique_ptr<Track>> tracks;
  bool media_ready = false; // media tracks known (no-more-pads), recording started
  bool recording = false;
  bool stopping = false;
  bool failed = false;
  bool eos_done = false;
  GThread *eos_thread = nullptr; // sends the EOS events of stop_demo()
  std::atomic<guint64> frames_drawn{0};
  std::atomic<bool> info_pending{false};
  webcapture::SignallingServer *server = nullptr;
  std::map<guint, std::unique_ptr<Viewer>> viewers;
  std::vector<webcapture::WebRtcSessionPtr> waiting; // connected before the media was ready
  guint viewers_total = 0;
  gint64 started_us = 0;
};

void fail(Demo &demo, const char *what)
{
  if (what)
    g_printerr("mediastream-demo: error: %s\n", what);
  demo.failed = true;
  g_main_loop_quit(demo.loop);
}

// --- The scene -------------------------------------------------------------------------------

void draw_clock(cairo_t *cr, double cx, double cy, double r)
{
  GDateTime *now = g_date_time_new_now_local();
  const double s = g_date_time_get_seconds(now); // with microseconds
  const double m = g_date_time_get_minute(now) + s / 60.0;
  const double h = g_date_time_get_hour(now) % 12 + m / 60.0;
  g_date_time_unref(now);

  cairo_save(cr);
  cairo_translate(cr, cx, cy);
  cairo_arc(cr, 0, 0, r, 0, 2 * G_PI);
  cairo_set_source_rgba(cr, 1, 1, 1, 0.9);
  cairo_fill_preserve(cr);
  cairo_set_source_rgb(cr, 0.1, 0.1, 0.15);
  cairo_set_line_width(cr, 3);
  cairo_stroke(cr);
  for (int i = 0; i < 12; i++) {
    const double a = i * G_PI / 6;
    cairo_move_to(cr, 0.82 * r * std::sin(a), -0.82 * r * std::cos(a));
    cairo_line_to(cr, 0.95 * r * std::sin(a), -0.95 * r * std::cos(a));
  }
  cairo_stroke(cr);
  const struct {
    double turns, length, width;
    double red;
  } hands[] = {{h / 12, 0.5, 6, 0.1}, {m / 60, 0.75, 4, 0.1}, {s / 60, 0.85, 2, 0.9}};
  cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
  for (const auto &hand : hands) {
    const double a = hand.turns * 2 * G_PI;
    cairo_set_source_rgb(cr, hand.red, 0.1, 0.15);
    cairo_set_line_width(cr, hand.width);
    cairo_move_to(cr, 0, 0);
    cairo_line_to(cr, hand.length * r * std::sin(a), -hand.length * r * std::cos(a));
    cairo_stroke(cr);
  }
  cairo_restore(cr);
}

// `draw`: emitted by canvascapturesrc on its streaming thread at each tick of its 30 Hz timer.
gboolean on_draw(GstElement *, cairo_t *cr, guint64 running_time, gpointer user_data)
{
  auto &demo = *static_cast<Demo *>(user_data);
  const guint64 frame = demo.frames_drawn++;
  const double t = double(running_time) / GST_SECOND;

  // Background: a slow drift between two dusk colours.
  const double shift = 0.5 + 0.5 * std::sin(t * 0.6);
  cairo_pattern_t *sky = cairo_pattern_create_linear(0, 0, 0, kHeight);
  cairo_pattern_add_color_stop_rgb(sky, 0, 0.05, 0.08 + 0.1 * shift, 0.25 + 0.15 * shift);
  cairo_pattern_add_color_stop_rgb(sky, 1, 0.85, 0.35 + 0.2 * shift, 0.3);
  cairo_set_source(cr, sky);
  cairo_paint(cr);
  cairo_pattern_destroy(sky);

  // A ball on a Lissajous path.
  const double radius = 36;
  const double x = kWidth / 2.0 - 60 + (kWidth / 2.0 - radius - 100) * std::sin(t * 1.3);
  const double y = kHeight / 2.0 - 20 + (kHeight / 2.0 - radius - 60) * std::sin(t * 2.1);
  cairo_pattern_t *shade =
      cairo_pattern_create_radial(x - radius / 3, y - radius / 3, radius / 8, x, y, radius);
  cairo_pattern_add_color_stop_rgb(shade, 0, 1, 1, 0.9);
  cairo_pattern_add_color_stop_rgb(shade, 1, 0.9, 0.3, 0.1);
  cairo_arc(cr, x, y, radius, 0, 2 * G_PI);
  cairo_set_source(cr, shade);
  cairo_fill(cr);
  cairo_pattern_destroy(shade);

  draw_clock(cr, kWidth - 90, 90, 70);

  // Frame counter, running time and wall-clock time.
  GDateTime *now = g_date_time_new_now_local();
  g_autofree gchar *wall = g_date_time_format(now, "%H:%M:%S");
  const int ms = g_date_time_get_microsecond(now) / 1000;
  g_date_time_unref(now);
  g_autofree gchar *caption =
      g_strdup_printf("frame %" G_GUINT64_FORMAT "   %.2f s   %s.%03d", frame, t, wall, ms);
  cairo_select_font_face(cr, "Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
  cairo_set_font_size(cr, 26);
  cairo_move_to(cr, 20, kHeight - 24);
  cairo_set_source_rgba(cr, 0, 0, 0, 0.5);
  cairo_show_text(cr, caption);
  cairo_move_to(cr, 18, kHeight - 26);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_show_text(cr, caption);
  return TRUE; // new content: capture it
}

// --- Branches: one per consumer of a track -----------------------------------------------------

// The encoder chain of one track (a bin with ghost pads), for the file or a browser.
GstElement *make_branch(const Track &track, bool rtp)
{
  std::string description;
  if (track.kind == "video") {
    // One encoder thread: libvpx's extra threads spin and cost more than they save at this size.
    description = "queue max-size-buffers=0 max-size-bytes=0 max-size-time=2000000000"
                  " ! videoconvert ! video/x-raw,format=I420"
                  " ! vp8enc deadline=1 cpu-used=8 threads=1 end-usage=cbr"
                  " target-bitrate=1500000 keyframe-max-dist=60 max-quantizer=40";
    if (rtp) {
      // A capsfilter, not bare caps: caps at the end of a description are not a filter.
      description += " ! rtpvp8pay mtu=1200 picture-id-mode=15-bit"
                     " ! capsfilter caps=\"application/x-rtp,media=video,encoding-name=VP8,"
                     "clock-rate=90000,payload=" +
                     std::to_string(track.payload) + "\"";
    }
  } else {
    description = "queue max-size-buffers=0 max-size-bytes=0 max-size-time=2000000000"
                  " ! audioconvert ! audioresample ! audio/x-raw,rate=48000"
                  " ! opusenc bitrate=64000";
    if (rtp) {
      description += " ! rtpopuspay ! capsfilter caps=\"application/x-rtp,media=audio,"
                     "encoding-name=OPUS,clock-rate=48000,payload=" +
                     std::to_string(track.payload) + "\"";
    }
  }
  g_autoptr(GError) error = nullptr;
  GstElement *bin = gst_parse_bin_from_description(description.c_str(), TRUE, &error);
  if (!bin)
    g_printerr("mediastream-demo: cannot build '%s': %s\n", description.c_str(), error->message);
  return bin;
}

// Adds a branch to a live tee, downstream first: `sink` (whose element the caller has already
// brought to the pipeline's state), then the branch, activated before the tee's new pad is linked
// to it. Linked the other way round, a buffer reaching a pad that is not active yet returns
// FLUSHING upstream, and a source (canvascapturesrc is a GstBaseSrc) stops for good on it.
// Returns the tee src pad.
GstPad *attach_branch(Demo &demo, Track &track, GstElement *branch, GstPad *sink)
{
  gst_bin_add(GST_BIN(demo.pipeline), branch);
  g_autoptr(GstPad) branch_sink = gst_element_get_static_pad(branch, "sink");
  g_autoptr(GstPad) branch_src = gst_element_get_static_pad(branch, "src");
  if (gst_pad_link(branch_src, sink) != GST_PAD_LINK_OK)
    g_printerr("mediastream-demo: cannot link a %s branch\n", track.kind.c_str());
  gst_element_sync_state_with_parent(branch);
  GstPad *tee_src = gst_element_request_pad_simple(track.tee, "src_%u");
  if (gst_pad_link(tee_src, branch_sink) != GST_PAD_LINK_OK)
    g_printerr("mediastream-demo: cannot link a %s branch to its track\n", track.kind.c_str());
  return tee_src;
}

// --- Stream information for the page ----------------------------------------------------------

JsonNode *stream_info(Demo &demo)
{
  JsonBuilder *b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "type");
  json_builder_add_string_value(b, "stream");
  json_builder_set_member_name(b, "id");
  json_builder_add_string_value(b, demo.stream_id.c_str());
  gboolean active = FALSE;
  g_object_get(demo.stream, "active", &active, nullptr);
  json_builder_set_member_name(b, "active");
  json_builder_add_boolean_value(b, active);
  json_builder_set_member_name(b, "tracks");
  json_builder_begin_array(b);
  std::lock_guard<std::mutex> guard(demo.lock);
  for (const auto &track : demo.tracks) {
    g_autofree gchar *id = nullptr, *kind = nullptr, *label = nullptr, *state = nullptr;
    gboolean enabled = TRUE, muted = FALSE;
    GstStructure *settings = nullptr;
    g_object_get(track->pad, "track-id", &id, "kind", &kind, "label", &label, "enabled", &enabled,
                 "muted", &muted, "ready-state", &state, "settings", &settings, nullptr);
    g_autofree gchar *settings_text = settings ? gst_structure_to_string(settings) : g_strdup("");
    if (settings)
      gst_structure_free(settings);
    json_builder_begin_object(b);
    const std::pair<const char *, const char *> strings[] = {{"id", id},
                                                             {"kind", kind},
                                                             {"label", label},
                                                             {"readyState", state},
                                                             {"settings", settings_text},
                                                             {"pad", GST_PAD_NAME(track->pad)}};
    for (const auto &s : strings) {
      json_builder_set_member_name(b, s.first);
      json_builder_add_string_value(b, s.second ? s.second : "");
    }
    json_builder_set_member_name(b, "enabled");
    json_builder_add_boolean_value(b, enabled);
    json_builder_set_member_name(b, "muted");
    json_builder_add_boolean_value(b, muted);
    json_builder_set_member_name(b, "buffers");
    json_builder_add_int_value(b, gint64(track->buffers.load()));
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  json_builder_end_object(b);
  JsonNode *root = json_builder_get_root(b);
  g_object_unref(b);
  return root;
}

gboolean broadcast_stream_info(gpointer user_data)
{
  auto &demo = *static_cast<Demo *>(user_data);
  demo.info_pending = false;
  if (demo.viewers.empty())
    return G_SOURCE_REMOVE;
  JsonNode *info = stream_info(demo);
  for (auto &entry : demo.viewers)
    entry.second->session->send_json(info);
  json_node_unref(info);
  return G_SOURCE_REMOVE;
}

// Any thread: a track property changed; tell the pages from the main loop (coalesced).
void stream_changed(Demo &demo)
{
  if (!demo.info_pending.exchange(true))
    g_idle_add(broadcast_stream_info, &demo);
}

void on_track_notify(GObject *, GParamSpec *, gpointer user_data)
{
  stream_changed(*static_cast<Demo *>(user_data));
}

// --- Viewers (one webrtcbin each) -------------------------------------------------------------

void start_viewer(Demo &demo, const webcapture::WebRtcSessionPtr &session)
{
  auto viewer = std::make_unique<Viewer>();
  viewer->session = session;
  viewer->webrtcbin = gst_element_factory_make("webrtcbin", nullptr);
  if (!viewer->webrtcbin) {
    g_printerr("mediastream-demo: webrtcbin is missing (gstreamer1.0-plugins-bad, "
               "gstreamer1.0-nice)\n");
    session->close("no webrtcbin");
    return;
  }
  gst_object_ref(viewer->webrtcbin);
  gst_util_set_object_arg(G_OBJECT(viewer->webrtcbin), "bundle-policy", "max-bundle");
  session->attach(viewer->webrtcbin);
  // The page sees each track pad's track-id as MediaStreamTrack.id (mediastreambin annotate-sdp).
  session->set_annotator(demo.stream);
  gst_bin_add(GST_BIN(demo.pipeline), viewer->webrtcbin);

  // Every sink pad is requested before webrtcbin starts, so its first offer has every track
  // (it makes one once all its sink pads have caps; started with none, it would negotiate an
  // empty session first, and race with the pads requested after).
  std::vector<std::pair<Track *, GstPad *>> sinks;
  {
    std::lock_guard<std::mutex> guard(demo.lock);
    for (auto &track : demo.tracks) {
      gchar *state = nullptr;
      g_object_get(track->pad, "ready-state", &state, nullptr);
      const bool live = g_strcmp0(state, "live") == 0;
      g_free(state);
      if (!live)
        continue;
      GstPad *sink = gst_element_request_pad_simple(viewer->webrtcbin, "sink_%u");
      GstWebRTCRTPTransceiver *transceiver = nullptr;
      g_object_get(sink, "transceiver", &transceiver, nullptr);
      if (transceiver) {
        g_object_set(transceiver, "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY,
                     nullptr);
        gst_object_unref(transceiver);
      }
      sinks.emplace_back(track.get(), sink);
    }
  }
  gst_element_sync_state_with_parent(viewer->webrtcbin); // before any branch reaches it
  for (auto &entry : sinks) {
    // The track's path is complete once the tee links to the branch: mediastreambin then sets
    // the sink pad's msid to the stream id, before any data (and so any caps) reaches it.
    GstElement *branch = make_branch(*entry.first, true);
    if (branch) {
      GstPad *tee_src = attach_branch(demo, *entry.first, branch, entry.second);
      viewer->branches.emplace_back(tee_src, branch);
    } else {
      gst_element_release_request_pad(viewer->webrtcbin, entry.second); // would never get caps
    }
    gst_object_unref(entry.second);
  }

  JsonNode *info = stream_info(demo);
  session->send_json(info);
  json_node_unref(info);
  demo.viewers_total++;
  g_print("mediastream-demo: viewer %u (%s) connected: sending %zu tracks\n", session->id(),
          session->peer().c_str(), viewer->branches.size());
  demo.viewers[session->id()] = std::move(viewer);
}

void stop_viewer(Demo &demo, guint id)
{
  auto it = demo.viewers.find(id);
  if (it == demo.viewers.end())
    return;
  std::unique_ptr<Viewer> viewer = std::move(it->second);
  demo.viewers.erase(it);
  viewer->session->detach();
  for (auto &branch : viewer->branches) {
    GstElement *tee = gst_pad_get_parent_element(branch.first);
    gst_element_release_request_pad(tee, branch.first);
    gst_object_unref(branch.first);
    gst_object_unref(tee);
    gst_element_set_state(branch.second, GST_STATE_NULL);
    gst_bin_remove(GST_BIN(demo.pipeline), branch.second);
  }
  gst_element_set_state(viewer->webrtcbin, GST_STATE_NULL);
  gst_bin_remove(GST_BIN(demo.pipeline), viewer->webrtcbin);
  gst_object_unref(viewer->webrtcbin);
  g_print("mediastream-demo: viewer %u left\n", id);
}

void on_session_started(Demo &demo, const webcapture::WebRtcSessionPtr &session)
{
  if (demo.stopping) {
    session->close("stopping");
  } else if (demo.viewers.size() + demo.waiting.size() >= kMaxViewers) {
    g_print("mediastream-demo: refusing a viewer: %u at most\n", kMaxViewers);
    session->close("busy");
  } else if (!demo.media_ready) {
    demo.waiting.push_back(session); // started with every track once the media is there
  } else {
    start_viewer(demo, session);
  }
}

void on_session_ended(Demo &demo, const webcapture::WebRtcSessionPtr &session)
{
  for (auto it = demo.waiting.begin(); it != demo.waiting.end(); ++it) {
    if (*it == session) {
      demo.waiting.erase(it);
      return;
    }
  }
  stop_viewer(demo, session->id());
}

void on_page_message(Demo &demo, const webcapture::WebRtcSessionPtr &, JsonObject *message)
{
  const char *type = json_object_get_string_member_with_default(message, "type", "");
  if (g_str_equal(type, "set-enabled")) {
    const char *id = json_object_get_string_member_with_default(message, "trackId", "");
    const gboolean enabled = json_object_get_boolean_member_with_default(message, "enabled", TRUE);
    std::lock_guard<std::mutex> guard(demo.lock);
    for (auto &track : demo.tracks) {
      g_autofree gchar *track_id = nullptr;
      g_object_get(track->pad, "track-id", &track_id, nullptr);
      if (g_strcmp0(track_id, id) == 0) {
        g_object_set(track->pad, "enabled", enabled, nullptr);
        g_print("mediastream-demo: track %s %s\n", id, enabled ? "enabled" : "disabled");
      }
    }
  }
}

// --- The stream --------------------------------------------------------------------------------

GstPadProbeReturn count_buffer(GstPad *, GstPadProbeInfo *info, gpointer user_data)
{
  auto *track = static_cast<Track *>(user_data);
  track->buffers++;
  track->bytes += gst_buffer_get_size(GST_PAD_PROBE_INFO_BUFFER(info));
  return GST_PAD_PROBE_OK;
}

// A tee feeding queues and a muxer must not pass ALLOCATION queries: a queue holds a serialized
// query until it is empty, and the muxer (webmmux waits for data on every pad) may hold that queue
// while it waits for the very track whose source is blocked in the query. Answered here: the
// sources then allocate plain system memory, which every branch takes.
GstPadProbeReturn answer_allocation(GstPad *, GstPadProbeInfo *info, gpointer)
{
  GstQuery *query = GST_PAD_PROBE_INFO_QUERY(info);
  if (GST_QUERY_TYPE(query) == GST_QUERY_ALLOCATION)
    return GST_PAD_PROBE_HANDLED;
  return GST_PAD_PROBE_OK;
}

// mediastreambin created a track pad (on the thread that requested the sink pad): give it a tee.
void on_track_added(GstElement *, GstPad *pad, gpointer user_data)
{
  auto &demo = *static_cast<Demo *>(user_data);
  auto track = std::make_unique<Track>();
  track->pad = GST_PAD(gst_object_ref(pad));
  g_autofree gchar *kind = nullptr;
  g_object_get(pad, "kind", &kind, nullptr);
  track->kind = kind ? kind : "";
  track->tee = gst_element_factory_make("tee", nullptr);
  g_object_set(track->tee, "allow-not-linked", TRUE, nullptr);
  gst_bin_add(GST_BIN(demo.pipeline), track->tee);
  g_autoptr(GstPad) tee_sink = gst_element_get_static_pad(track->tee, "sink");
  gst_pad_link(pad, tee_sink);
  gst_pad_add_probe(tee_sink, GST_PAD_PROBE_TYPE_QUERY_DOWNSTREAM, answer_allocation, nullptr,
                    nullptr);
  gst_element_sync_state_with_parent(track->tee);
  gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, count_buffer, track.get(), nullptr);
  for (const char *property : {"notify::muted", "notify::enabled", "notify::ready-state",
                               "notify::label", "notify::settings"}) {
    g_signal_connect(pad, property, G_CALLBACK(on_track_notify), &demo);
  }
  std::lock_guard<std::mutex> guard(demo.lock);
  int video = 0;
  for (const auto &t : demo.tracks)
    video += t->kind == "video";
  track->payload = track->kind == "video" ? 96 + video : 111;
  demo.tracks.push_back(std::move(track));
}

// A track of the media file (mediacapturesrc's streaming thread): add it to the stream.
void on_media_pad_added(GstElement *, GstPad *pad, gpointer user_data)
{
  auto &demo = *static_cast<Demo *>(user_data);
  const bool video = g_str_has_prefix(GST_PAD_NAME(pad), "video");
  GstPad *sink =
      gst_element_request_pad_simple(demo.stream, video ? "video_sink_%u" : "audio_sink_%u");
  if (!sink || gst_pad_link(pad, sink) != GST_PAD_LINK_OK)
    g_printerr("mediastream-demo: cannot add %s to the stream\n", GST_PAD_NAME(pad));
  gst_clear_object(&sink);
  stream_changed(demo);
}

// Once the media's tracks are all known: one WebM with every track, then the waiting viewers.
gboolean start_recording(gpointer user_data)
{
  auto &demo = *static_cast<Demo *>(user_data);
  if (demo.media_ready || demo.stopping)
    return G_SOURCE_REMOVE;
  demo.media_ready = true;

  demo.muxer = gst_element_factory_make("webmmux", "mux");
  GstElement *sink = gst_element_factory_make("filesink", "file");
  g_object_set(sink, "location", demo.output.c_str(), "async", FALSE, nullptr);
  gst_bin_add_many(GST_BIN(demo.pipeline), demo.muxer, sink, nullptr);
  gst_element_link(demo.muxer, sink);
  gst_element_sync_state_with_parent(sink); // before any branch reaches them
  gst_element_sync_state_with_parent(demo.muxer);
  size_t recorded = 0;
  {
    std::lock_guard<std::mutex> guard(demo.lock);
    for (auto &track : demo.tracks) {
      GstElement *branch = make_branch(*track, false);
      GstPad *mux_pad = branch ? gst_element_request_pad_simple(
                                     demo.muxer, track->kind == "video" ? "video_%u" : "audio_%u")
                               : nullptr;
      if (!mux_pad) {
        fail(demo, "cannot record a track");
        return G_SOURCE_REMOVE;
      }
      GstPad *tee_src = attach_branch(demo, *track, branch, mux_pad);
      gst_object_unref(tee_src);
      gst_object_unref(mux_pad);
      track->recorded = true;
      recorded++;
    }
  }
  demo.recording = true;
  g_print("mediastream-demo: recording %zu tracks to %s\n", recorded, demo.output.c_str());

  for (auto &session : demo.waiting)
    start_viewer(demo, session);
  demo.waiting.clear();
  return G_SOURCE_REMOVE;
}

void on_media_no_more_pads(GstElement *, gpointer user_data)
{
  g_idle_add(start_recording, user_data);
}

gboolean on_media_timeout(gpointer user_data)
{
  auto &demo = *static_cast<Demo *>(user_data);
  if (!demo.media_ready) {
    g_printerr("mediastream-demo: warning: the media file gave no tracks within %u s; recording "
               "the canvas alone\n",
               kMediaTimeoutSeconds);
    start_recording(&demo);
  }
  return G_SOURCE_REMOVE;
}

GstPadProbeReturn on_file_eos(GstPad *, GstPadProbeInfo *info, gpointer user_data)
{
  if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) == GST_EVENT_EOS) {
    auto &demo = *static_cast<Demo *>(user_data);
    demo.eos_done = true;
    g_idle_add(
        [](gpointer data) {
          g_main_loop_quit(static_cast<Demo *>(data)->loop);
          return G_SOURCE_REMOVE;
        },
        &demo);
  }
  return GST_PAD_PROBE_OK;
}

gboolean on_eos_timeout(gpointer user_data)
{
  fail(*static_cast<Demo *>(user_data), "the recording did not finish after EOS");
  return G_SOURCE_REMOVE;
}

// EOS into every track of the stream (the tracks end, webmmux finalizes), as gst-launch-1.0 -e
// does: sent to the pipeline, which gives it to its sources (canvascapturesrc, mediacapturesrc);
// each ends its tracks after what is queued. On a thread of its own: the main loop (with the
// timeout that reports a recording that does not finish) must not wait for the sources.
gpointer send_eos(gpointer user_data)
{
  auto &demo = *static_cast<Demo *>(user_data);
  gst_element_send_event(demo.pipeline, gst_event_new_eos());
  return nullptr;
}

// Ends the recording.
gboolean stop_demo(gpointer user_data)
{
  auto &demo = *static_cast<Demo *>(user_data);
  if (demo.stopping)
    return G_SOURCE_REMOVE;
  demo.stopping = true;
  if (!demo.recording) {
    fail(demo, "stopped before the recording started");
    return G_SOURCE_REMOVE;
  }
  GstElement *file = gst_bin_get_by_name(GST_BIN(demo.pipeline), "file");
  GstPad *file_sink = gst_element_get_static_pad(file, "sink");
  gst_pad_add_probe(file_sink, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_file_eos, &demo, nullptr);
  gst_object_unref(file_sink);
  gst_object_unref(file);
  demo.eos_thread = g_thread_new("demo-eos", send_eos, &demo);
  g_timeout_add_seconds(kEosTimeoutSeconds, on_eos_timeout, &demo);
  return G_SOURCE_REMOVE;
}

gboolean on_signal(gpointer user_data)
{
  g_print("\nmediastream-demo: stopping\n");
  stop_demo(user_data);
  return G_SOURCE_CONTINUE;
}

gboolean on_bus_message(GstBus *, GstMessage *msg, gpointer user_data)
{
  auto &demo = *static_cast<Demo *>(user_data);
  switch (GST_MESSAGE_TYPE(msg)) {
  case GST_MESSAGE_ERROR:
  case GST_MESSAGE_WARNING: {
    g_autoptr(GError) err = nullptr;
    g_autofree gchar *debug = nullptr;
    const bool is_error = GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR;
    if (is_error)
      gst_message_parse_error(msg, &err, &debug);
    else
      gst_message_parse_warning(msg, &err, &debug);
    g_printerr("mediastream-demo: %s from %s: %s\n", is_error ? "error" : "warning",
               GST_OBJECT_NAME(msg->src), err->message);
    if (debug && is_error)
      g_printerr("  (%s)\n", debug);
    if (is_error)
      fail(demo, nullptr);
    break;
  }
  case GST_MESSAGE_ELEMENT: {
    const GstStructure *s = gst_message_get_structure(msg);
    if (gst_structure_has_name(s, "mediastream-track")) {
      g_print("mediastream-demo: track event %s: %s %s\n", gst_structure_get_string(s, "event"),
              gst_structure_get_string(s, "kind"), gst_structure_get_string(s, "track-id"));
      stream_changed(demo);
    }
    break;
  }
  default:
    break;
  }
  return G_SOURCE_CONTINUE;
}

GstElement *make(const char *factory, const char *name)
{
  return example::make("mediastream-demo", factory, name);
}

bool build_pipeline(Demo &demo, const std::string &uri)
{
  demo.pipeline = gst_pipeline_new("mediastream-demo");
  demo.canvas = make("canvascapturesrc", "canvas");
  demo.media = make("mediacapturesrc", "media");
  demo.stream = make("mediastreambin", "stream");
  if (!demo.canvas || !demo.media || !demo.stream)
    return false;
  gst_bin_add_many(GST_BIN(demo.pipeline), demo.canvas, demo.media, demo.stream, nullptr);

  g_object_set(demo.canvas, "width", kWidth, "height", kHeight, "frame-rate", kFrameRate, "alpha",
               FALSE, nullptr);
  g_signal_connect(demo.canvas, "draw", G_CALLBACK(on_draw), &demo);
  g_object_set(demo.media, "uri", uri.c_str(), "loop", TRUE, nullptr);
  g_signal_connect(demo.media, "pad-added", G_CALLBACK(on_media_pad_added), &demo);
  g_signal_connect(demo.media, "no-more-pads", G_CALLBACK(on_media_no_more_pads), &demo);
  g_signal_connect(demo.stream, "track-added", G_CALLBACK(on_track_added), &demo);

  g_autofree gchar *id = nullptr;
  g_object_get(demo.stream, "id", &id, nullptr);
  demo.stream_id = id;

  // The canvas track (track-added gives it its tee).
  g_autoptr(GstPad) canvas_src = gst_element_get_static_pad(demo.canvas, "src");
  g_autoptr(GstPad) stream_sink = gst_element_request_pad_simple(demo.stream, "video_sink_%u");
  if (!stream_sink || gst_pad_link(canvas_src, stream_sink) != GST_PAD_LINK_OK) {
    g_printerr("mediastream-demo: cannot add the canvas to the stream\n");
    return false;
  }
  std::lock_guard<std::mutex> guard(demo.lock);
  if (demo.tracks.empty()) {
    g_printerr("mediastream-demo: mediastreambin gave no track pad for the canvas\n");
    return false;
  }
  g_object_set(demo.tracks[0]->pad, "label", "canvas", nullptr);
  return true;
}

// Reads the file back: proves it is playable WebM with the tracks recorded.
bool inspect_output(Demo &demo, guint *video, guint *audio, GstClockTime *duration)
{
  g_autoptr(GError) err = nullptr;
  g_autofree gchar *uri = gst_filename_to_uri(demo.output.c_str(), &err);
  g_autoptr(GstDiscoverer) discoverer = uri ? gst_discoverer_new(10 * GST_SECOND, &err) : nullptr;
  g_autoptr(GstDiscovererInfo) info =
      discoverer ? gst_discoverer_discover_uri(discoverer, uri, &err) : nullptr;
  if (!info || gst_discoverer_info_get_result(info) != GST_DISCOVERER_OK) {
    g_printerr("mediastream-demo: %s cannot be read back: %s\n", demo.output.c_str(),
               err ? err->message : "not a playable file");
    return false;
  }
  GList *streams = gst_discoverer_info_get_video_streams(info);
  *video = g_list_length(streams);
  gst_discoverer_stream_info_list_free(streams);
  streams = gst_discoverer_info_get_audio_streams(info);
  *audio = g_list_length(streams);
  gst_discoverer_stream_info_list_free(streams);
  *duration = gst_discoverer_info_get_duration(info);
  return true;
}

} // namespace

int main(int argc, char **argv)
{
  example::report_crashes("mediastream-demo");
  g_autofree gchar *output = nullptr;
  g_autofree gchar *uri = nullptr;
  g_autofree gchar *address = nullptr;
  g_autofree gchar *web_root = nullptr;
  double seconds = 10.0;
  gboolean serve = FALSE;
  gint port = 8080;
  const GOptionEntry entries[] = {
      {"seconds", 's', 0, G_OPTION_ARG_DOUBLE, &seconds, "How long to run headless (default 10)",
       "S"},
      {"serve", 0, 0, G_OPTION_ARG_NONE, &serve, "Keep serving the page until Ctrl-C", nullptr},
      {"output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
       "WebM file to record (VP8 + Opus; default demo.webm)", "FILE"},
      {"uri", 'u', 0, G_OPTION_ARG_STRING, &uri,
       "Media to capture (default: a 10 s clip made once in the build directory)", "URI"},
      {"port", 'p', 0, G_OPTION_ARG_INT, &port, "HTTP port (default 8080; 0 = any free port)",
       "PORT"},
      {"address", 0, 0, G_OPTION_ARG_STRING, &address,
       "Address to listen on (default 127.0.0.1: this machine only)", "IP"},
      {"web-root", 0, 0, G_OPTION_ARG_FILENAME, &web_root, "Directory of the page", "DIR"},
      {},
  };
  g_autoptr(GOptionContext) context = g_option_context_new(
      "- a canvas and a media file as one MediaStream, recorded to WebM and sent to browsers");
  g_option_context_add_main_entries(context, entries, nullptr);
  g_option_context_add_group(context, gst_init_get_option_group());
  g_autoptr(GError) err = nullptr;
  if (!g_option_context_parse(context, &argc, &argv, &err)) {
    g_printerr("mediastream-demo: %s\n", err->message);
    return EXIT_FAILURE;
  }
  if (!serve && !(seconds > 0 && seconds <= 24 * 3600)) {
    g_printerr("mediastream-demo: --seconds must be more than 0 (and at most a day)\n");
    return EXIT_FAILURE;
  }
  if (port < 0 || port > 65535) {
    g_printerr("mediastream-demo: --port must be 0..65535\n");
    return EXIT_FAILURE;
  }

  Demo demo;
  demo.output = output ? output : "demo.webm";
  std::string media_uri;
  const std::string default_media = std::string(DEMO_BUILD_DIR) + "/mediastream-demo-media.webm";
  if (!example::media_uri("mediastream-demo", uri, default_media, &media_uri))
    return EXIT_FAILURE;

  if (!build_pipeline(demo, media_uri)) {
    if (demo.pipeline)
      gst_object_unref(demo.pipeline);
    return EXIT_FAILURE;
  }
  demo.loop = g_main_loop_new(nullptr, FALSE);
  GstBus *bus = gst_element_get_bus(demo.pipeline);
  const guint bus_watch = gst_bus_add_watch(bus, on_bus_message, &demo);
  gst_object_unref(bus);

  std::string root = web_root ? web_root : DEMO_WEB_ROOT;
  if (root.back() != '/')
    root += '/';
  webcapture::SignallingCallbacks callbacks;
  callbacks.session_started = [&](const webcapture::WebRtcSessionPtr &s) {
    on_session_started(demo, s);
  };
  callbacks.session_ended = [&](const webcapture::WebRtcSessionPtr &s) {
    on_session_ended(demo, s);
  };
  callbacks.message = [&](const webcapture::WebRtcSessionPtr &s, JsonObject *m) {
    on_page_message(demo, s, m);
  };
  int status = EXIT_SUCCESS;
  {
    webcapture::SignallingServer server(root, callbacks);
    demo.server = &server;
    if (!server.listen(address ? address : "127.0.0.1", guint(port), &err)) {
      g_printerr("mediastream-demo: cannot serve on %s:%d: %s (choose another --port)\n",
                 address ? address : "127.0.0.1", port, err->message);
      g_clear_error(&err);
      demo.failed = true;
    } else {
      g_print("mediastream-demo: stream %s: canvas %dx%d@%g + %s\n", demo.stream_id.c_str(), kWidth,
              kHeight, kFrameRate, media_uri.c_str());
      if (serve)
        g_print("mediastream-demo: open %s in a browser; Ctrl-C to stop\n", server.url().c_str());
      else
        g_print("mediastream-demo: page at %s for %g s (headless; --serve to keep it)\n",
                server.url().c_str(), seconds);
      fflush(stdout);
      g_unix_signal_add(SIGINT, on_signal, &demo);
      g_unix_signal_add(SIGTERM, on_signal, &demo);
      if (!serve)
        g_timeout_add(guint(seconds * 1000), stop_demo, &demo);
      g_timeout_add_seconds(kMediaTimeoutSeconds, on_media_timeout, &demo);
      demo.started_us = g_get_monotonic_time();
      if (gst_element_set_state(demo.pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
        demo.failed = true; // the ERROR on the bus says why
      else
        g_main_loop_run(demo.loop);
    }
    const double ran = (g_get_monotonic_time() - demo.started_us) / 1e6;

    // Summary (before NULL: the track pads and their properties are still there).
    if (!demo.failed) {
      g_print("\n--- mediastream-demo summary (%.1f s) ---\n", ran);
      g_print("stream %s, %zu tracks\n", demo.stream_id.c_str(), demo.tracks.size());
      for (const auto &track : demo.tracks) {
        g_autofree gchar *id = nullptr, *label = nullptr, *state = nullptr;
        GstStructure *settings = nullptr;
        g_object_get(track->pad, "track-id", &id, "label", &label, "ready-state", &state,
                     "settings", &settings, nullptr);
        g_autofree gchar *text = settings ? gst_structure_to_string(settings) : g_strdup("");
        if (settings)
          gst_structure_free(settings);
        g_print("  %s %s label=%s %s: %" G_GUINT64_FORMAT " %s, %" G_GUINT64_FORMAT
                " bytes raw%s\n  %s\n",
                track->kind.c_str(), id, label, state, track->buffers.load(),
                track->kind == "video" ? "frames" : "buffers", track->bytes.load(),
                track->recorded ? ", recorded" : "", text);
      }
      g_print("canvas: drew %" G_GUINT64_FORMAT " frames\n", demo.frames_drawn.load());
      g_print("viewers: %u served at %s\n", demo.viewers_total, server.url().c_str());
    }
    gst_element_set_state(demo.pipeline, GST_STATE_NULL); // also releases a blocked send_eos()
    if (demo.eos_thread)
      g_thread_join(demo.eos_thread);
    while (!demo.viewers.empty())
      stop_viewer(demo, demo.viewers.begin()->first);
    demo.waiting.clear();
    server.stop();
    demo.server = nullptr;
  }
  g_source_remove(bus_watch);

  if (!demo.failed) {
    GStatBuf st;
    guint video = 0, audio = 0;
    GstClockTime duration = GST_CLOCK_TIME_NONE;
    size_t recorded = 0;
    for (const auto &track : demo.tracks)
      recorded += track->recorded;
    if (!demo.eos_done || g_stat(demo.output.c_str(), &st) != 0 || st.st_size == 0) {
      g_printerr("mediastream-demo: %s was not written\n", demo.output.c_str());
      status = EXIT_FAILURE;
    } else if (!inspect_output(demo, &video, &audio, &duration)) {
      status = EXIT_FAILURE;
    } else {
      g_print("wrote %s: %" G_GUINT64_FORMAT " bytes, %.2f s, %u video (VP8) + %u audio (Opus) "
              "tracks\n",
              demo.output.c_str(), guint64(st.st_size),
              GST_CLOCK_TIME_IS_VALID(duration) ? double(duration) / GST_SECOND : 0.0, video,
              audio);
      if (video + audio != recorded || video == 0) {
        g_printerr("mediastream-demo: the file has %u tracks, %zu were recorded\n", video + audio,
                   recorded);
        status = EXIT_FAILURE;
      }
    }
  } else {
    status = EXIT_FAILURE;
  }

  for (auto &track : demo.tracks)
    gst_object_unref(track->pad);
  demo.tracks.clear();
  gst_object_unref(demo.pipeline);
  g_main_loop_unref(demo.loop);
  return status;
}
