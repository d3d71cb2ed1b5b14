/* interop-sender: the GStreamer side of the real-browser interop test.
 *
 * Serves tests/interop/web over HTTP on one loopback address and, for the browser that opens the
 * page's WebSocket, sends one MediaStream over WebRTC:
 *
 *   canvascapturesrc frame-rate=30 ! ms.  audiotestsrc is-live=true wave=sine ! ms.
 *   mediastreambin name=ms  (id = --stream-id)
 *   ms.video_0 ! videoconvert ! vp8enc ! rtpvp8pay ! queue ! webrtcbin
 *   ms.audio_0 ! audioconvert ! opusenc ! rtpopuspay ! queue ! webrtcbin
 *
 * mediastreambin sets both webrtcbin sink pads' msid to its id (MS-11), so the browser groups
 * both tracks into one MediaStream with that id. {"type":"set-enabled","kind":"video"|"audio",
 * "enabled":bool} sets `enabled` on the track pad (black frames / silence, MS-6).
 *
 * The canvas shows what the page checks: its top two thirds are one solid colour, which the page
 * can change with {"type":"set-color","rgb":"#rrggbb"}; its bottom third is a 48-bit barcode
 * drawn in the `draw` handler at each capture: the low 32 bits of the wall clock in milliseconds,
 * and a 16-bit check, so the page reads the capture time back from the
 * decoded video and measures end-to-end latency. The layout is sent to the page in "hello".
 *
 * --layout picks the tracks: "canvas-tone" (the above, default), "three-tracks" (a second video
 * track, videotestsrc, in the same stream: 2 video + 1 audio) or "two-streams" (a second
 * mediastreambin, id --stream-id + "-b", with a videotestsrc and a 660 Hz tone, through the same
 * webrtcbin). The offer sent to the page is mediastreambin's "annotate-sdp" copy, so the page
 * sees each track pad's track-id as MediaStreamTrack.id (MS-5); the pipeline's ids go to the
 * page in {"type":"pipeline-tracks","tracks":[{"streamId","trackId","kind"}...]} and are printed.
 *
 * Prints "interop-sender: listening on <url>" once it serves; stops on SIGINT/SIGTERM or after
 * --exit-after seconds, and then prints what it sent.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "common/webrtc-signalling.h"

#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>

#include <cairo.h>
#include <glib-unix.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace
{

constexpr int kWidth = 640;
constexpr int kHeight = 360;
constexpr double kFrameRate = 30.0;

// Barcode: kBits blocks, kBitsPerRow per row, MSB first, white = 1 on a black strip.
constexpr int kBits = 48;
constexpr int kBitsPerRow = 24;
constexpr int kBarcodeX = 32;
constexpr int kBarcodeY = 256;
constexpr int kBlockWidth = 24;
constexpr int kBlockHeight = 40;
constexpr int kRowPitch = 48;
constexpr int kColourHeight = 240; // rows [0, 240) are the solid colour

struct Sender {
  GMainLoop *loop = nullptr;
  std::string stream_id;
  std::string layout = "canvas-tone";
  std::atomic<guint32> colour{0xff0000};
  std::atomic<guint64> frames_drawn{0};
  GstElement *pipeline = nullptr;
  GstElement *canvas = nullptr;
  GstElement *stream = nullptr; // mediastreambin
  GstElement *second = nullptr; // the second mediastreambin (layout two-streams)
  guint bus_watch = 0;
  webcapture::WebRtcSessionPtr session;
  int exit_status = 0;
};

guint64 wall_clock_ms()
{
  return guint64(g_get_real_time() / 1000);
}

gboolean draw_scene(GstElement *, cairo_t *cr, guint64, gpointer user_data)
{
  auto *sender = static_cast<Sender *>(user_data);
  const guint32 rgb = sender->colour.load();
  sender->frames_drawn.fetch_add(1);
  const guint32 stamp = guint32(wall_clock_ms() & 0xffffffffu);

  cairo_set_source_rgb(cr, ((rgb >> 16) & 0xff) / 255.0, ((rgb >> 8) & 0xff) / 255.0,
                       (rgb & 0xff) / 255.0);
  cairo_rectangle(cr, 0, 0, kWidth, kColourHeight);
  cairo_fill(cr);

  // 16-bit check: a multiplicative hash of the stamp, so a misread block is caught (a plain XOR
  // of bytes misses two flips in the same bit position).
  const guint16 check = guint16(guint32(stamp * 2654435761u) >> 16);
  const guint64 value = (guint64(check) << 32) | stamp;

  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_rectangle(cr, 0, kColourHeight, kWidth, kHeight - kColourHeight);
  cairo_fill(cr);
  cairo_set_source_rgb(cr, 1, 1, 1);
  for (int i = 0; i < kBits; i++) {
    if ((value >> (kBits - 1 - i)) & 1) {
      cairo_rectangle(cr, kBarcodeX + (i % kBitsPerRow) * kBlockWidth,
                      kBarcodeY + (i / kBitsPerRow) * kRowPitch, kBlockWidth, kBlockHeight);
    }
  }
  cairo_fill(cr);
  return TRUE;
}

JsonNode *hello_message(const Sender *sender)
{
  JsonBuilder *b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "type");
  json_builder_add_string_value(b, "hello");
  json_builder_set_member_name(b, "streamId");
  json_builder_add_string_value(b, sender->stream_id.c_str());
  json_builder_set_member_name(b, "video");
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "width");
  json_builder_add_int_value(b, kWidth);
  json_builder_set_member_name(b, "height");
  json_builder_add_int_value(b, kHeight);
  json_builder_set_member_name(b, "frameRate");
  json_builder_add_double_value(b, kFrameRate);
  json_builder_end_object(b);
  json_builder_set_member_name(b, "barcode");
  json_builder_begin_object(b);
  const struct {
    const char *name;
    int value;
  } fields[] = {
      {"bits", kBits},         {"bitsPerRow", kBitsPerRow},    {"x", kBarcodeX},
      {"y", kBarcodeY},        {"blockWidth", kBlockWidth},    {"blockHeight", kBlockHeight},
      {"rowPitch", kRowPitch}, {"colourHeight", kColourHeight}};
  for (const auto &field : fields) {
    json_builder_set_member_name(b, field.name);
    json_builder_add_int_value(b, field.value);
  }
  json_builder_end_object(b);
  json_builder_end_object(b);
  JsonNode *root = json_builder_get_root(b);
  g_object_unref(b);
  return root;
}

void send_simple(const webcapture::WebRtcSessionPtr &session, const char *type, const char *key,
                 const char *value, guint64 wall_ms)
{
  JsonBuilder *b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "type");
  json_builder_add_string_value(b, type);
  json_builder_set_member_name(b, key);
  json_builder_add_string_value(b, value);
  json_builder_set_member_name(b, "wallMs");
  json_builder_add_int_value(b, gint64(wall_ms));
  json_builder_end_object(b);
  JsonNode *root = json_builder_get_root(b);
  session->send_json(root);
  json_node_unref(root);
  g_object_unref(b);
}

gboolean on_bus_message(GstBus *, GstMessage *message, gpointer user_data)
{
  auto *sender = static_cast<Sender *>(user_data);
  if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR ||
      GST_MESSAGE_TYPE(message) == GST_MESSAGE_WARNING) {
    GError *error = nullptr;
    gchar *debug = nullptr;
    bool is_error = GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR;
    if (is_error)
      gst_message_parse_error(message, &error, &debug);
    else
      gst_message_parse_warning(message, &error, &debug);
    g_printerr("interop-sender: %s from %s: %s (%s)\n", is_error ? "ERROR" : "warning",
               GST_OBJECT_NAME(GST_MESSAGE_SRC(message)), error->message, debug ? debug : "");
    g_clear_error(&error);
    g_free(debug);
    if (is_error) {
      sender->exit_status = 1;
      if (sender->session)
        send_simple(sender->session, "sender-error", "message", "pipeline error", wall_clock_ms());
      g_main_loop_quit(sender->loop);
    }
  }
  return G_SOURCE_CONTINUE;
}

// Links the src pad of the element named `name` (the end of a track's encoder chain) to a new
// webrtcbin sink pad, sendonly. mediastreambin sets the pad's msid to its stream id when the
// path from its track pad reaches it (MS-11).
bool link_to_webrtcbin(Sender *sender, GstElement *webrtcbin, const char *name)
{
  GstElement *last = gst_bin_get_by_name(GST_BIN(sender->pipeline), name); // recurses
  if (!last)
    return false;
  GstPad *sink = gst_element_request_pad_simple(webrtcbin, "sink_%u");
  GstWebRTCRTPTransceiver *transceiver = nullptr;
  g_object_get(sink, "transceiver", &transceiver, nullptr);
  if (transceiver) {
    g_object_set(transceiver, "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY, nullptr);
    gst_object_unref(transceiver);
  }
  GstPad *src = gst_element_get_static_pad(last, "src");
  GstPadLinkReturn linked = gst_pad_link(src, sink);
  gst_object_unref(src);
  gst_object_unref(sink);
  gst_object_unref(last);
  if (linked != GST_PAD_LINK_OK) {
    g_printerr("interop-sender: cannot link %s to webrtcbin (%d)\n", name, linked);
    return false;
  }
  return true;
}

void stop_pipeline(Sender *sender)
{
  if (!sender->pipeline)
    return;
  gst_element_set_state(sender->pipeline, GST_STATE_NULL);
  GstStructure *stats = nullptr;
  g_object_get(sender->canvas, "stats", &stats, nullptr);
  gchar *text = stats ? gst_structure_to_string(stats) : g_strdup("(none)");
  g_print("interop-sender: canvas drew %" G_GUINT64_FORMAT " frames; %s\n",
          sender->frames_drawn.load(), text);
  g_free(text);
  if (stats)
    gst_structure_free(stats);
  g_source_remove(sender->bus_watch);
  sender->bus_watch = 0;
  gst_clear_object(&sender->canvas);
  gst_clear_object(&sender->stream);
  gst_clear_object(&sender->second);
  gst_clear_object(&sender->pipeline);
}

// The tracks --layout adds after the canvas + tone of the first stream (parse-launch text).
std::string extra_tracks(const std::string &layout, const std::string &stream_id)
{
  if (layout == "three-tracks") {
    return " videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=180,"
           "framerate=15/1 ! stream."
           " stream.video_1 ! videoconvert ! video/x-raw,format=I420"
           " ! vp8enc deadline=1 cpu-used=16 threads=1 target-bitrate=300000"
           " ! rtpvp8pay mtu=1200 picture-id-mode=15-bit"
           " ! application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000"
           " ! queue name=video2-out";
  }
  if (layout == "two-streams") {
    (void)stream_id;
    return " mediastreambin name=second"
           " videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=180,"
           "framerate=15/1 ! second."
           " audiotestsrc is-live=true wave=sine freq=660 volume=0.4 ! second."
           " second.video_0 ! videoconvert ! video/x-raw,format=I420"
           " ! vp8enc deadline=1 cpu-used=16 threads=1 target-bitrate=300000"
           " ! rtpvp8pay mtu=1200 picture-id-mode=15-bit"
           " ! application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000"
           " ! queue name=b-video-out"
           " second.audio_0 ! audioconvert ! audioresample ! audio/x-raw,rate=48000,channels=2"
           " ! opusenc bitrate=64000 ! rtpopuspay pt=111"
           " ! application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000"
           " ! queue name=b-audio-out";
  }
  return "";
}

// {"type":"pipeline-tracks","tracks":[{"streamId","trackId","kind"}...]}: the ids the page must
// see, also printed.
void send_pipeline_tracks(Sender *sender, const webcapture::WebRtcSessionPtr &session)
{
  JsonBuilder *b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "type");
  json_builder_add_string_value(b, "pipeline-tracks");
  json_builder_set_member_name(b, "tracks");
  json_builder_begin_array(b);
  for (GstElement *stream : {sender->stream, sender->second}) {
    if (!stream)
      continue;
    gchar *stream_id = nullptr;
    g_object_get(stream, "id", &stream_id, nullptr);
    GstIterator *it = gst_element_iterate_src_pads(stream);
    GValue item = G_VALUE_INIT;
    while (gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
      GstPad *pad = GST_PAD(g_value_get_object(&item));
      gchar *track_id = nullptr, *kind = nullptr;
      g_object_get(pad, "track-id", &track_id, "kind", &kind, nullptr);
      g_print("interop-sender: stream %s %s track %s (%s)\n", stream_id, kind, track_id,
              GST_PAD_NAME(pad));
      json_builder_begin_object(b);
      json_builder_set_member_name(b, "streamId");
      json_builder_add_string_value(b, stream_id);
      json_builder_set_member_name(b, "trackId");
      json_builder_add_string_value(b, track_id);
      json_builder_set_member_name(b, "kind");
      json_builder_add_string_value(b, kind);
      json_builder_end_object(b);
      g_free(track_id);
      g_free(kind);
      g_value_reset(&item);
    }
    g_value_unset(&item);
    gst_iterator_free(it);
    g_free(stream_id);
  }
  json_builder_end_array(b);
  json_builder_end_object(b);
  JsonNode *root = json_builder_get_root(b);
  session->send_json(root);
  json_node_unref(root);
  g_object_unref(b);
}

void on_session_started(Sender *sender, const webcapture::WebRtcSessionPtr &session)
{
  g_print("interop-sender: browser %s connected (session %u)\n", session->peer().c_str(),
          session->id());
  if (sender->pipeline) {
    send_simple(session, "sender-error", "message", "busy: one viewer at a time", wall_clock_ms());
    session->close("busy");
    return;
  }
  sender->session = session;
  JsonNode *hello = hello_message(sender);
  session->send_json(hello);
  json_node_unref(hello);

  sender->pipeline = gst_pipeline_new("interop-sender");
  GstElement *webrtcbin = gst_element_factory_make("webrtcbin", "webrtc");
  if (!webrtcbin) {
    g_printerr("interop-sender: webrtcbin is missing (gstreamer1.0-plugins-bad, "
               "gstreamer1.0-nice)\n");
    sender->exit_status = 1;
    g_main_loop_quit(sender->loop);
    return;
  }
  gst_util_set_object_arg(G_OBJECT(webrtcbin), "bundle-policy", "max-bundle");
  GstWebRTCICE *ice = nullptr;
  g_object_get(webrtcbin, "ice-agent", &ice, nullptr);
  if (ice) {
    // UDP host candidates are all a loopback or namespace peer needs.
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(ice), "ice-tcp"))
      g_object_set(ice, "ice-tcp", FALSE, nullptr);
    gst_object_unref(ice);
  }
  session->attach(webrtcbin);
  gst_bin_add(GST_BIN(sender->pipeline), webrtcbin);

  // The canvas and the tone are one MediaStream (mediastreambin, id = --stream-id); its track
  // pads feed the encoders. One encoder thread: libvpx's extra threads spin and cost more than
  // they save at 640x360 (2.5 ms of CPU per frame with these settings, 12 ms with threads=2),
  // which matters on a 2-core machine that also runs chromium.
  gchar *description = g_strdup_printf(
      "mediastreambin name=stream"
      " canvascapturesrc name=canvas width=%d height=%d frame-rate=%g alpha=false ! stream."
      " audiotestsrc is-live=true wave=sine freq=440 volume=0.4 ! stream."
      " stream.video_0 ! videoconvert ! video/x-raw,format=I420"
      " ! vp8enc deadline=1 cpu-used=16 threads=1 end-usage=cbr target-bitrate=1500000"
      " min-quantizer=4 max-quantizer=40 keyframe-max-dist=60"
      " ! rtpvp8pay mtu=1200 picture-id-mode=15-bit"
      " ! application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000"
      " ! queue name=video-out"
      " stream.audio_0 ! audioconvert ! audioresample ! audio/x-raw,rate=48000,channels=2"
      " ! opusenc bitrate=64000 ! rtpopuspay pt=111"
      " ! application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000"
      " ! queue name=audio-out"
      "%s",
      kWidth, kHeight, kFrameRate, extra_tracks(sender->layout, sender->stream_id).c_str());
  GError *parse_error = nullptr;
  GstElement *bin = gst_parse_bin_from_description(description, FALSE, &parse_error);
  g_free(description);
  if (!bin) {
    g_printerr("interop-sender: %s\n", parse_error->message);
    g_clear_error(&parse_error);
  } else {
    gst_bin_add(GST_BIN(sender->pipeline), bin);
    // webrtcbin goes in the same bin as the encoder chains (the msid walk does not leave a bin
    // through a ghost src pad: see the report).
    gst_object_ref(webrtcbin);
    gst_bin_remove(GST_BIN(sender->pipeline), webrtcbin);
    gst_bin_add(GST_BIN(bin), webrtcbin);
    gst_object_unref(webrtcbin);
    sender->stream = gst_bin_get_by_name(GST_BIN(bin), "stream");
  }
  bool ok = bin && link_to_webrtcbin(sender, webrtcbin, "video-out") &&
            link_to_webrtcbin(sender, webrtcbin, "audio-out");
  if (ok && sender->layout == "three-tracks")
    ok = link_to_webrtcbin(sender, webrtcbin, "video2-out");
  if (ok && sender->layout == "two-streams") {
    ok = link_to_webrtcbin(sender, webrtcbin, "b-video-out") &&
         link_to_webrtcbin(sender, webrtcbin, "b-audio-out");
    sender->second = gst_bin_get_by_name(GST_BIN(bin), "second");
  }
  // The stream id is set once the paths reach webrtcbin: a new id walks the tracks' paths again
  // and sets every webrtcbin sink pad's msid (MS-11). (Linking the bin's ghost pads does not
  // re-run the walk by itself: see the report.)
  if (ok && sender->stream) {
    g_object_set(sender->stream, "id", sender->stream_id.c_str(), nullptr);
    const std::string second_id = sender->stream_id + "-b";
    if (sender->second)
      g_object_set(sender->second, "id", second_id.c_str(), nullptr);
    // sink_0, sink_1 come from the first stream; sink_2 (three-tracks: first stream,
    // two-streams: second stream) and sink_3 (second stream).
    const guint pads = sender->layout == "canvas-tone"    ? 2
                       : sender->layout == "three-tracks" ? 3
                                                          : 4;
    for (guint i = 0; i < pads; i++) {
      gchar *pad_name = g_strdup_printf("sink_%u", i);
      GstPad *pad = gst_element_get_static_pad(webrtcbin, pad_name);
      const std::string &expected = (sender->second && i >= 2) ? second_id : sender->stream_id;
      gchar *msid = nullptr;
      if (pad)
        g_object_get(pad, "msid", &msid, nullptr);
      if (g_strcmp0(msid, expected.c_str()) != 0) {
        g_printerr("interop-sender: webrtcbin %s has msid '%s', not the stream id %s\n", pad_name,
                   msid ? msid : "", expected.c_str());
        ok = false;
      }
      g_free(msid);
      g_free(pad_name);
      gst_clear_object(&pad);
    }
  }
  if (ok && sender->stream) {
    // The page gets mediastreambin's annotated offer: the track pads' ids as msid (MS-5).
    session->set_annotator(sender->stream);
    send_pipeline_tracks(sender, session);
  }

  sender->canvas = gst_bin_get_by_name(GST_BIN(sender->pipeline), "canvas");
  if (!ok || !sender->canvas) {
    g_printerr("interop-sender: cannot build the pipeline (is canvascapturesrc on "
               "GST_PLUGIN_PATH?)\n");
    sender->exit_status = 1;
    g_main_loop_quit(sender->loop);
    return;
  }
  g_signal_connect(sender->canvas, "draw", G_CALLBACK(draw_scene), sender);

  GstBus *bus = gst_element_get_bus(sender->pipeline);
  sender->bus_watch = gst_bus_add_watch(bus, on_bus_message, sender);
  gst_object_unref(bus);
  if (gst_element_set_state(sender->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    g_printerr("interop-sender: the pipeline does not start\n");
    sender->exit_status = 1;
    g_main_loop_quit(sender->loop);
  }
}

void on_session_ended(Sender *sender, const webcapture::WebRtcSessionPtr &session)
{
  g_print("interop-sender: browser %s left (session %u)\n", session->peer().c_str(), session->id());
  if (sender->session == session) {
    stop_pipeline(sender);
    sender->session.reset();
  }
}

bool parse_colour(const char *text, guint32 *rgb)
{
  if (!text || text[0] != '#' || std::strlen(text) != 7)
    return false;
  for (int i = 1; i < 7; i++) {
    if (!g_ascii_isxdigit(text[i]))
      return false;
  }
  *rgb = guint32(std::strtoul(text + 1, nullptr, 16));
  return true;
}

void on_message(Sender *sender, const webcapture::WebRtcSessionPtr &session, JsonObject *message)
{
  const char *type = json_object_get_string_member_with_default(message, "type", "");
  if (std::strcmp(type, "set-color") == 0) {
    const char *text = json_object_get_string_member_with_default(message, "rgb", "");
    guint32 rgb = 0;
    if (!parse_colour(text, &rgb)) {
      send_simple(session, "sender-error", "message", "set-color wants rgb=#rrggbb",
                  wall_clock_ms());
      return;
    }
    sender->colour.store(rgb);
    g_print("interop-sender: canvas colour now %s\n", text);
    send_simple(session, "color-set", "rgb", text, wall_clock_ms());
  } else if (std::strcmp(type, "set-enabled") == 0) {
    // enabled=false on a mediastreambin track pad: black frames / silence (MS-6).
    const char *kind = json_object_get_string_member_with_default(message, "kind", "");
    const gboolean enabled = json_object_get_boolean_member_with_default(message, "enabled", TRUE);
    GstPad *track = nullptr;
    if (sender->stream && (std::strcmp(kind, "video") == 0 || std::strcmp(kind, "audio") == 0)) {
      gchar *name = g_strdup_printf("%s_0", kind);
      track = gst_element_get_static_pad(sender->stream, name);
      g_free(name);
    }
    if (!track) {
      send_simple(session, "sender-error", "message", "set-enabled wants kind=video|audio",
                  wall_clock_ms());
      return;
    }
    g_object_set(track, "enabled", enabled, nullptr);
    gst_object_unref(track);
    g_print("interop-sender: %s track %s\n", kind, enabled ? "enabled" : "disabled");
    send_simple(session, "enabled-set", "kind", kind, wall_clock_ms());
  } else if (std::strcmp(type, "get-sender-stats") == 0) {
    gchar *frames = g_strdup_printf("%" G_GUINT64_FORMAT, sender->frames_drawn.load());
    send_simple(session, "sender-stats", "framesDrawn", frames, wall_clock_ms());
    g_free(frames);
  } else if (std::strcmp(type, "log") == 0) {
    g_print("interop-sender: page says: %s\n",
            json_object_get_string_member_with_default(message, "text", ""));
  }
}

gboolean on_quit_signal(gpointer user_data)
{
  auto *sender = static_cast<Sender *>(user_data);
  g_print("interop-sender: stopping\n");
  g_main_loop_quit(sender->loop);
  return G_SOURCE_CONTINUE;
}

gboolean on_exit_timer(gpointer user_data)
{
  auto *sender = static_cast<Sender *>(user_data);
  g_printerr("interop-sender: --exit-after reached, stopping\n");
  sender->exit_status = 1;
  g_main_loop_quit(sender->loop);
  return G_SOURCE_REMOVE;
}

} // namespace

int main(int argc, char **argv)
{
  // GOption replaces a string default without freeing it: defaults are applied after parsing.
  gchar *address = nullptr;
  gint port = 0;
  gchar *web_root = nullptr;
  gchar *stream_id = nullptr;
  gchar *initial_colour = nullptr;
  gint exit_after = 120;
  gchar *layout = nullptr;
  GOptionEntry entries[] = {
      {"address", 0, 0, G_OPTION_ARG_STRING, &address, "Address to listen on (127.0.0.1)", "IP"},
      {"port", 0, 0, G_OPTION_ARG_INT, &port, "Port (0 = any free port)", "PORT"},
      {"web-root", 0, 0, G_OPTION_ARG_FILENAME, &web_root, "Directory served at /", "DIR"},
      {"stream-id", 0, 0, G_OPTION_ARG_STRING, &stream_id, "MediaStream id (msid)", "ID"},
      {"color", 0, 0, G_OPTION_ARG_STRING, &initial_colour, "Initial canvas colour", "#RRGGBB"},
      {"exit-after", 0, 0, G_OPTION_ARG_INT, &exit_after, "Stop after this many seconds", "S"},
      {"layout", 0, 0, G_OPTION_ARG_STRING, &layout,
       "Tracks: canvas-tone (default), three-tracks, two-streams", "LAYOUT"},
      {nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr}};
  GOptionContext *options = g_option_context_new("- send a canvas + tone to a browser");
  g_option_context_add_main_entries(options, entries, nullptr);
  g_option_context_add_group(options, gst_init_get_option_group());
  GError *error = nullptr;
  if (!g_option_context_parse(options, &argc, &argv, &error)) {
    g_printerr("interop-sender: %s\n", error->message);
    return 2;
  }
  g_option_context_free(options);
  if (!address)
    address = g_strdup("127.0.0.1");
  if (!initial_colour)
    initial_colour = g_strdup("#ff0000");

  Sender sender;
  guint32 rgb = 0;
  if (!web_root || !stream_id || !parse_colour(initial_colour, &rgb) || port < 0 || port > 65535) {
    g_printerr("interop-sender: --web-root and --stream-id are required; --color is #rrggbb\n");
    return 2;
  }
  if (layout) {
    sender.layout = layout;
    if (sender.layout != "canvas-tone" && sender.layout != "three-tracks" &&
        sender.layout != "two-streams") {
      g_printerr("interop-sender: --layout is canvas-tone, three-tracks or two-streams\n");
      return 2;
    }
  }
  sender.colour.store(rgb);
  sender.stream_id = stream_id;
  sender.loop = g_main_loop_new(nullptr, FALSE);

  std::string root = web_root;
  if (root.back() != '/')
    root += '/';
  int status = 0;
  {
    webcapture::SignallingCallbacks callbacks;
    callbacks.session_started = [&](const webcapture::WebRtcSessionPtr &s) {
      on_session_started(&sender, s);
    };
    callbacks.session_ended = [&](const webcapture::WebRtcSessionPtr &s) {
      on_session_ended(&sender, s);
    };
    callbacks.message = [&](const webcapture::WebRtcSessionPtr &s, JsonObject *m) {
      on_message(&sender, s, m);
    };
    webcapture::SignallingServer server(root, callbacks);
    if (!server.listen(address, guint(port), &error)) {
      g_printerr("interop-sender: cannot listen on %s:%d: %s\n", address, port, error->message);
      g_clear_error(&error);
      status = 1;
    } else {
      g_print("interop-sender: listening on %s\n", server.url().c_str());
      fflush(stdout);
      g_unix_signal_add(SIGINT, on_quit_signal, &sender);
      g_unix_signal_add(SIGTERM, on_quit_signal, &sender);
      g_timeout_add_seconds(guint(exit_after), on_exit_timer, &sender);
      g_main_loop_run(sender.loop);
      stop_pipeline(&sender);
      sender.session.reset();
      server.stop();
      status = sender.exit_status;
    }
  }
  g_main_loop_unref(sender.loop);
  g_free(address);
  g_free(web_root);
  g_free(stream_id);
  g_free(initial_colour);
  g_free(layout);
  fflush(stdout);
  return status;
}
