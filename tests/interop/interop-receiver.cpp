/* interop-receiver: the GStreamer side of the receive-direction interop test (the page sends).
 *
 * Serves tests/interop/web (send.html) on one loopback address; the page offers one or more
 * MediaStreams (canvas.captureStream() + an oscillator, a second canvas); webrtcbin answers
 * (webcapture::WebRtcSession::Role::ANSWERER). Each remote stream becomes one mediastreambin that
 * takes the remote identity:
 *
 *   - at the first src pad of webrtcbin, the remote description's m-lines are read: each one
 *     the page sends on has an msid (media-level a=msid, which webrtcbin 1.22 does not parse,
 *     else the ssrc-level one); one mediastreambin per remote stream id (`id` = the stream id),
 *     one track per m-line (its pad's `track-id` = the remote track id), both set while the bin
 *     is still in NULL (the only time they can be);
 *   - each webrtcbin src pad (found by its transceiver's mid) is decoded into its track's sink
 *     pad (rtpvp8depay ! vp8dec ! videoconvert, rtpopusdepay ! opusdec ! audioconvert), and the
 *     track follows it ("follow-remote-track": muted while no RTP arrives, ended on BYE / RTP
 *     timeout / pad removal);
 *   - each track pad feeds an appsink that measures it: video frames and the colour at the
 *     centre, audio RMS and the frequency (zero crossings over 0.5 s).
 *
 * Every 250 ms it prints one line "interop-receiver: status {json}" with, per track: stream id,
 * track id, kind, frames (or audio buffers), colour [r,g,b], rms, hz, muted, ready-state; and
 * the mediastream-track messages seen so far (mute / unmute / ended). tests/interop/
 * recv-driver.js reads these lines.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "common/webrtc-signalling.h"

#include <gst/app/gstappsink.h>
#include <gst/sdp/sdp.h>

#include <glib-unix.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace
{

struct Track {
  std::string stream_id;
  std::string track_id;
  std::string kind;
  std::string mid;
  GstElement *bin = nullptr;   /* its mediastreambin (no ref: the pipeline holds it) */
  GstPad *track_pad = nullptr; /* ref */
  bool linked = false;         /* a webrtcbin pad feeds it */
  /* Measured on the appsink's thread (lock). */
  guint64 buffers = 0;
  int colour[3] = {-1, -1, -1};
  double rms = 0.0;
  double hz = 0.0;
  /* Zero crossings counted over windows of at least 0.5 s (a 20 ms buffer alone gives the
   * frequency only to 25 Hz). */
  guint64 window_samples = 0;
  guint64 window_crossings = 0;
  float last_sample = 0.0f;
};

struct Receiver {
  GMainLoop *loop = nullptr;
  GstElement *pipeline = nullptr;
  GstElement *webrtcbin = nullptr;
  guint bus_watch = 0;
  webcapture::WebRtcSessionPtr session;
  std::mutex lock;
  bool tracks_made = false;                    /* (lock) */
  std::vector<std::shared_ptr<Track>> tracks;  /* (lock) */
  std::map<std::string, GstElement *> streams; /* (lock) stream id -> mediastreambin */
  std::vector<std::string> events;             /* (lock) mediastream-track messages */
  int exit_status = 0;
};

/* "<stream> <track>" from a media-level a=msid, else from the ssrc-level msid. */
bool media_msid(const GstSDPMedia *media, std::string *stream, std::string *track)
{
  const gchar *value = gst_sdp_media_get_attribute_val(media, "msid");
  std::string msid;
  if (value) {
    msid = value;
  } else {
    for (guint i = 0; i < gst_sdp_media_attributes_len(media); i++) {
      const GstSDPAttribute *a = gst_sdp_media_get_attribute(media, i);
      const gchar *at = a->value ? strstr(a->value, " msid:") : nullptr;
      if (g_strcmp0(a->key, "ssrc") == 0 && at) {
        msid = at + 6;
        break;
      }
    }
  }
  size_t space = msid.find(' ');
  if (msid.empty() || space == std::string::npos)
    return false;
  *stream = msid.substr(0, space);
  *track = msid.substr(space + 1);
  return !stream->empty() && !track->empty() && *stream != "-";
}

GstFlowReturn on_sample(GstAppSink *sink, gpointer user_data)
{
  auto *ctx = static_cast<std::pair<Receiver *, Track *> *>(user_data);
  Receiver *receiver = ctx->first;
  Track *track = ctx->second;
  GstSample *sample = gst_app_sink_pull_sample(sink);
  if (!sample)
    return GST_FLOW_EOS;
  GstBuffer *buffer = gst_sample_get_buffer(sample);
  const GstStructure *s = gst_caps_get_structure(gst_sample_get_caps(sample), 0);
  GstMapInfo map;
  if (buffer && gst_buffer_map(buffer, &map, GST_MAP_READ)) {
    if (track->kind == "video") {
      int width = 0, height = 0;
      gst_structure_get_int(s, "width", &width);
      gst_structure_get_int(s, "height", &height);
      int stride = GST_ROUND_UP_4(width * 3);
      int rgb[3] = {0, 0, 0};
      int n = 0;
      /* Mean of a 9x9 patch at the centre (RGB). */
      for (int y = height / 2 - 4; y <= height / 2 + 4; y++) {
        for (int x = width / 2 - 4; x <= width / 2 + 4; x++) {
          if (x < 0 || y < 0 || x >= width || y >= height)
            continue;
          const guint8 *p = map.data + size_t(y) * stride + size_t(x) * 3;
          if (size_t(p - map.data) + 3 > map.size)
            continue;
          rgb[0] += p[0];
          rgb[1] += p[1];
          rgb[2] += p[2];
          n++;
        }
      }
      std::lock_guard<std::mutex> guard(receiver->lock);
      track->buffers++;
      for (int c = 0; c < 3 && n; c++)
        track->colour[c] = rgb[c] / n;
    } else {
      /* F32 mono: RMS and the frequency from zero crossings. */
      gint rate = 48000;
      gst_structure_get_int(s, "rate", &rate);
      const float *samples = reinterpret_cast<const float *>(map.data);
      size_t count = map.size / sizeof(float);
      double energy = 0.0;
      guint crossings = 0;
      /* A crossing counts when the signal goes from below -0.02 to above 0.02 or back
       * (hysteresis: codec noise around zero does not count). */
      float previous = track->last_sample; /* the streaming thread's own field: -1 or 1 */
      for (size_t i = 0; i < count; i++) {
        energy += double(samples[i]) * samples[i];
        const float side = samples[i] > 0.02f ? 1.0f : samples[i] < -0.02f ? -1.0f : previous;
        if (side != previous && previous != 0.0f)
          crossings++;
        previous = side;
      }
      track->last_sample = previous;
      std::lock_guard<std::mutex> guard(receiver->lock);
      track->buffers++;
      if (count) {
        track->rms = std::sqrt(energy / count);
        track->window_samples += count;
        track->window_crossings += crossings;
        if (track->window_samples >= guint64(rate) / 2) {
          track->hz = track->window_crossings * double(rate) / (2.0 * track->window_samples);
          track->window_samples = 0;
          track->window_crossings = 0;
        }
      }
    }
    gst_buffer_unmap(buffer, &map);
  }
  gst_sample_unref(sample);
  return GST_FLOW_OK;
}

/* Called with the lock, from webrtcbin's first pad-added: one mediastreambin per remote stream,
 * one track per m-line the page sends on, with the remote ids (set while the bins are in NULL).
 */
void make_tracks_locked(Receiver *receiver)
{
  GstWebRTCSessionDescription *remote = nullptr;
  g_object_get(receiver->webrtcbin, "remote-description", &remote, nullptr);
  if (!remote)
    return;
  std::vector<GstElement *> new_bins;
  for (guint m = 0; m < gst_sdp_message_medias_len(remote->sdp); m++) {
    const GstSDPMedia *media = gst_sdp_message_get_media(remote->sdp, m);
    if (gst_sdp_media_get_attribute_val(media, "recvonly") ||
        gst_sdp_media_get_attribute_val(media, "inactive"))
      continue;
    const std::string kind = gst_sdp_media_get_media(media);
    if (kind != "video" && kind != "audio")
      continue;
    auto track = std::make_shared<Track>();
    track->kind = kind;
    const gchar *mid = gst_sdp_media_get_attribute_val(media, "mid");
    track->mid = mid ? mid : "";
    if (!media_msid(media, &track->stream_id, &track->track_id)) {
      g_print("interop-receiver: m-line %u (%s) has no msid: a stream of its own\n", m,
              kind.c_str());
      track->stream_id = "no-msid-" + std::to_string(m);
    }
    GstElement *&bin = receiver->streams[track->stream_id];
    if (!bin) {
      bin = gst_element_factory_make("mediastreambin", nullptr);
      g_object_set(bin, "id", track->stream_id.c_str(), nullptr);
      new_bins.push_back(bin);
    }
    track->bin = bin;
    GstPad *sink =
        gst_element_request_pad_simple(bin, kind == "video" ? "video_sink_%u" : "audio_sink_%u");
    /* The sink pad's partner, the track pad (video_N / audio_N). */
    gchar *name = g_strdup(GST_PAD_NAME(sink));
    gchar *src_name = kind == "video" ? g_strdup_printf("video_%s", name + strlen("video_sink_"))
                                      : g_strdup_printf("audio_%s", name + strlen("audio_sink_"));
    track->track_pad = gst_element_get_static_pad(bin, src_name);
    g_free(name);
    g_free(src_name);
    gst_object_unref(sink);
    if (!track->track_id.empty())
      g_object_set(track->track_pad, "track-id", track->track_id.c_str(), nullptr);
    gchar *track_id = nullptr;
    g_object_get(track->track_pad, "track-id", &track_id, nullptr);
    track->track_id = track_id;
    g_free(track_id);
    g_print("interop-receiver: remote %s track %s of stream %s (mid %s) -> %s.%s\n", kind.c_str(),
            track->track_id.c_str(), track->stream_id.c_str(), track->mid.c_str(),
            GST_OBJECT_NAME(bin), GST_PAD_NAME(track->track_pad));

    /* The track's consumer: an appsink that measures it. */
    const char *desc = kind == "video"
                           ? "queue ! videoconvert ! video/x-raw,format=RGB ! appsink name=sink "
                             "sync=false max-buffers=2 drop=true emit-signals=false"
                           : "queue ! audioconvert ! audioresample ! "
                             "audio/x-raw,format=F32LE,channels=1,rate=48000,layout=interleaved ! "
                             "appsink name=sink sync=false max-buffers=4 drop=true";
    GstElement *consumer = gst_parse_bin_from_description(desc, TRUE, nullptr);
    gst_bin_add(GST_BIN(receiver->pipeline), consumer);
    GstElement *appsink = gst_bin_get_by_name(GST_BIN(consumer), "sink");
    GstAppSinkCallbacks callbacks = {};
    callbacks.new_sample = on_sample;
    gst_app_sink_set_callbacks(
        GST_APP_SINK(appsink), &callbacks,
        new std::pair<Receiver *, Track *>(receiver, track.get()),
        [](gpointer data) { delete static_cast<std::pair<Receiver *, Track *> *>(data); });
    gst_object_unref(appsink);
    receiver->tracks.push_back(track);
    if (std::find(new_bins.begin(), new_bins.end(), bin) != new_bins.end() &&
        !GST_OBJECT_PARENT(bin))
      gst_bin_add(GST_BIN(receiver->pipeline), bin);
    GstPad *consumer_sink = gst_element_get_static_pad(consumer, "sink");
    gst_pad_link(track->track_pad, consumer_sink);
    gst_object_unref(consumer_sink);
    gst_element_sync_state_with_parent(consumer);
  }
  for (GstElement *bin : new_bins)
    gst_element_sync_state_with_parent(bin);
  gst_webrtc_session_description_free(remote);
}

void on_webrtc_pad(GstElement *webrtcbin, GstPad *pad, gpointer user_data)
{
  auto *receiver = static_cast<Receiver *>(user_data);
  if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC)
    return;
  GstWebRTCRTPTransceiver *transceiver = nullptr;
  g_object_get(pad, "transceiver", &transceiver, nullptr);
  gchar *mid = nullptr;
  if (transceiver) {
    g_object_get(transceiver, "mid", &mid, nullptr);
    gst_object_unref(transceiver);
  }
  std::shared_ptr<Track> track;
  {
    std::lock_guard<std::mutex> guard(receiver->lock);
    if (!receiver->tracks_made) {
      receiver->tracks_made = true;
      make_tracks_locked(receiver);
    }
    for (auto &t : receiver->tracks) {
      if (mid && t->mid == mid && !t->linked)
        track = t;
    }
    if (track)
      track->linked = true;
  }
  GstCaps *caps = gst_pad_get_current_caps(pad);
  const gchar *encoding =
      caps ? gst_structure_get_string(gst_caps_get_structure(caps, 0), "encoding-name") : nullptr;
  g_print("interop-receiver: webrtcbin %s (mid %s, %s)\n", GST_PAD_NAME(pad), mid ? mid : "?",
          encoding ? encoding : "?");
  const char *decode = nullptr;
  if (g_strcmp0(encoding, "VP8") == 0)
    decode = "queue ! rtpvp8depay ! vp8dec ! videoconvert";
  else if (g_strcmp0(encoding, "OPUS") == 0)
    decode = "queue ! rtpopusdepay ! opusdec ! audioconvert ! audioresample";
  GstElement *chain = nullptr;
  if (!track || !decode) {
    g_printerr("interop-receiver: no track or decoder for %s (%s): discarded\n", GST_PAD_NAME(pad),
               encoding ? encoding : "?");
    chain = gst_element_factory_make("fakesink", nullptr);
    g_object_set(chain, "async", FALSE, "sync", FALSE, nullptr);
  } else {
    chain = gst_parse_bin_from_description(decode, TRUE, nullptr);
  }
  if (caps)
    gst_caps_unref(caps);
  g_free(mid);
  gst_bin_add(GST_BIN(receiver->pipeline), chain);
  GstPad *chain_sink = gst_element_get_static_pad(chain, "sink");
  if (track) {
    GstPad *chain_src = gst_element_get_static_pad(chain, "src");
    GstPad *track_sink = nullptr;
    GstIterator *it = gst_pad_iterate_internal_links(track->track_pad);
    GValue item = G_VALUE_INIT;
    if (it && gst_iterator_next(it, &item) == GST_ITERATOR_OK)
      track_sink = GST_PAD(g_value_dup_object(&item));
    g_value_unset(&item);
    if (it)
      gst_iterator_free(it);
    if (chain_src && track_sink)
      gst_pad_link(chain_src, track_sink);
    gst_clear_object(&chain_src);
    gst_clear_object(&track_sink);
    /* MS-7, MS-8: the track follows the remote track. */
    gboolean following = FALSE;
    g_signal_emit_by_name(track->bin, "follow-remote-track", track->track_pad, pad, &following);
    if (!following)
      g_printerr("interop-receiver: follow-remote-track refused %s\n", GST_PAD_NAME(pad));
  }
  gst_element_sync_state_with_parent(chain);
  gst_pad_link(pad, chain_sink);
  gst_object_unref(chain_sink);
}

gboolean print_status(gpointer user_data)
{
  auto *receiver = static_cast<Receiver *>(user_data);
  JsonBuilder *b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "tracks");
  json_builder_begin_array(b);
  std::vector<std::string> events;
  {
    std::lock_guard<std::mutex> guard(receiver->lock);
    events = receiver->events;
    for (const auto &t : receiver->tracks) {
      gboolean muted = FALSE;
      gchar *ready_state = nullptr, *track_id = nullptr, *stream_id = nullptr;
      g_object_get(t->track_pad, "muted", &muted, "ready-state", &ready_state, "track-id",
                   &track_id, nullptr);
      g_object_get(t->bin, "id", &stream_id, nullptr);
      json_builder_begin_object(b);
      json_builder_set_member_name(b, "streamId");
      json_builder_add_string_value(b, stream_id);
      json_builder_set_member_name(b, "trackId");
      json_builder_add_string_value(b, track_id);
      json_builder_set_member_name(b, "kind");
      json_builder_add_string_value(b, t->kind.c_str());
      json_builder_set_member_name(b, "mid");
      json_builder_add_string_value(b, t->mid.c_str());
      json_builder_set_member_name(b, "buffers");
      json_builder_add_int_value(b, gint64(t->buffers));
      json_builder_set_member_name(b, "colour");
      json_builder_begin_array(b);
      for (int c : t->colour)
        json_builder_add_int_value(b, c);
      json_builder_end_array(b);
      json_builder_set_member_name(b, "rms");
      json_builder_add_double_value(b, t->rms);
      json_builder_set_member_name(b, "hz");
      json_builder_add_double_value(b, t->hz);
      json_builder_set_member_name(b, "muted");
      json_builder_add_boolean_value(b, muted);
      json_builder_set_member_name(b, "readyState");
      json_builder_add_string_value(b, ready_state);
      json_builder_end_object(b);
      g_free(ready_state);
      g_free(track_id);
      g_free(stream_id);
    }
  }
  json_builder_end_array(b);
  json_builder_set_member_name(b, "events");
  json_builder_begin_array(b);
  for (const std::string &e : events)
    json_builder_add_string_value(b, e.c_str());
  json_builder_end_array(b);
  json_builder_end_object(b);
  JsonNode *root = json_builder_get_root(b);
  gchar *text = json_to_string(root, FALSE);
  g_print("interop-receiver: status %s\n", text);
  fflush(stdout);
  g_free(text);
  json_node_unref(root);
  g_object_unref(b);
  return G_SOURCE_CONTINUE;
}

gboolean on_bus_message(GstBus *, GstMessage *message, gpointer user_data)
{
  auto *receiver = static_cast<Receiver *>(user_data);
  switch (GST_MESSAGE_TYPE(message)) {
  case GST_MESSAGE_ELEMENT: {
    const GstStructure *s = gst_message_get_structure(message);
    if (s && gst_structure_has_name(s, "mediastream-track")) {
      /* "<event> <kind> <track id>" (addtrack, mute, unmute, ended, ...) */
      std::string e = std::string(gst_structure_get_string(s, "event")) + " " +
                      gst_structure_get_string(s, "kind") + " " +
                      gst_structure_get_string(s, "track-id");
      g_print("interop-receiver: mediastream-track %s (stream %s)\n", e.c_str(),
              gst_structure_get_string(s, "stream-id"));
      std::lock_guard<std::mutex> guard(receiver->lock);
      receiver->events.push_back(e);
    }
    break;
  }
  case GST_MESSAGE_ERROR:
  case GST_MESSAGE_WARNING: {
    GError *error = nullptr;
    gchar *debug = nullptr;
    bool is_error = GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR;
    if (is_error)
      gst_message_parse_error(message, &error, &debug);
    else
      gst_message_parse_warning(message, &error, &debug);
    g_printerr("interop-receiver: %s from %s: %s (%s)\n", is_error ? "ERROR" : "warning",
               GST_OBJECT_NAME(GST_MESSAGE_SRC(message)), error->message, debug ? debug : "");
    g_clear_error(&error);
    g_free(debug);
    if (is_error) {
      receiver->exit_status = 1;
      g_main_loop_quit(receiver->loop);
    }
    break;
  }
  default:
    break;
  }
  return G_SOURCE_CONTINUE;
}

void stop_pipeline(Receiver *receiver)
{
  if (!receiver->pipeline)
    return;
  gst_element_set_state(receiver->pipeline, GST_STATE_NULL);
  g_source_remove(receiver->bus_watch);
  receiver->bus_watch = 0;
  {
    std::lock_guard<std::mutex> guard(receiver->lock);
    for (auto &t : receiver->tracks)
      gst_clear_object(&t->track_pad);
    receiver->tracks.clear();
    receiver->streams.clear();
  }
  gst_clear_object(&receiver->webrtcbin);
  gst_clear_object(&receiver->pipeline);
}

void on_session_started(Receiver *receiver, const webcapture::WebRtcSessionPtr &session)
{
  g_print("interop-receiver: browser %s connected (session %u)\n", session->peer().c_str(),
          session->id());
  if (receiver->pipeline) {
    session->close("busy");
    return;
  }
  receiver->session = session;
  receiver->pipeline = gst_pipeline_new("interop-receiver");
  receiver->webrtcbin = gst_element_factory_make("webrtcbin", "webrtc");
  if (!receiver->webrtcbin) {
    g_printerr("interop-receiver: webrtcbin is missing\n");
    receiver->exit_status = 1;
    g_main_loop_quit(receiver->loop);
    return;
  }
  gst_object_ref(receiver->webrtcbin);
  gst_util_set_object_arg(G_OBJECT(receiver->webrtcbin), "bundle-policy", "max-bundle");
  session->attach(receiver->webrtcbin, webcapture::WebRtcSession::Role::ANSWERER);
  gst_bin_add(GST_BIN(receiver->pipeline), receiver->webrtcbin);
  g_signal_connect(receiver->webrtcbin, "pad-added", G_CALLBACK(on_webrtc_pad), receiver);
  GstBus *bus = gst_element_get_bus(receiver->pipeline);
  receiver->bus_watch = gst_bus_add_watch(bus, on_bus_message, receiver);
  gst_object_unref(bus);
  if (gst_element_set_state(receiver->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    g_printerr("interop-receiver: the pipeline does not start\n");
    receiver->exit_status = 1;
    g_main_loop_quit(receiver->loop);
  }
}

void on_session_ended(Receiver *receiver, const webcapture::WebRtcSessionPtr &session)
{
  g_print("interop-receiver: browser %s left (session %u)\n", session->peer().c_str(),
          session->id());
  /* The pipeline stays: the driver reads the last status (ended tracks) after the page went. */
}

gboolean on_quit_signal(gpointer user_data)
{
  g_main_loop_quit(static_cast<Receiver *>(user_data)->loop);
  return G_SOURCE_CONTINUE;
}

gboolean on_exit_timer(gpointer user_data)
{
  auto *receiver = static_cast<Receiver *>(user_data);
  g_printerr("interop-receiver: --exit-after reached, stopping\n");
  receiver->exit_status = 1;
  g_main_loop_quit(receiver->loop);
  return G_SOURCE_REMOVE;
}

} // namespace

int main(int argc, char **argv)
{
  gchar *address = nullptr;
  gint port = 0;
  gchar *web_root = nullptr;
  gint exit_after = 120;
  GOptionEntry entries[] = {
      {"address", 0, 0, G_OPTION_ARG_STRING, &address, "Address to listen on (127.0.0.1)", "IP"},
      {"port", 0, 0, G_OPTION_ARG_INT, &port, "Port (0 = any free port)", "PORT"},
      {"web-root", 0, 0, G_OPTION_ARG_FILENAME, &web_root, "Directory served at /", "DIR"},
      {"exit-after", 0, 0, G_OPTION_ARG_INT, &exit_after, "Stop after this many seconds", "S"},
      {nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr}};
  GOptionContext *options = g_option_context_new("- receive a browser's MediaStreams");
  g_option_context_add_main_entries(options, entries, nullptr);
  g_option_context_add_group(options, gst_init_get_option_group());
  GError *error = nullptr;
  if (!g_option_context_parse(options, &argc, &argv, &error)) {
    g_printerr("interop-receiver: %s\n", error->message);
    return 2;
  }
  g_option_context_free(options);
  if (!address)
    address = g_strdup("127.0.0.1");
  if (!web_root || port < 0 || port > 65535) {
    g_printerr("interop-receiver: --web-root is required\n");
    return 2;
  }
  GstElementFactory *factory = gst_element_factory_find("mediastreambin");
  if (!factory) {
    g_printerr("interop-receiver: mediastreambin is not on GST_PLUGIN_PATH\n");
    return 1;
  }
  gst_object_unref(factory);
  /* The elements of the receive path: without them the test is skipped (77), not failed. */
  for (const char *name : {"webrtcbin", "rtpvp8depay", "vp8dec", "rtpopusdepay", "opusdec",
                           "appsink", "videoconvert", "audioconvert", "audioresample"}) {
    factory = gst_element_factory_find(name);
    if (!factory) {
      g_print("interop-receiver: SKIP: %s is not installed\n", name);
      return 77;
    }
    gst_object_unref(factory);
  }

  Receiver receiver;
  receiver.loop = g_main_loop_new(nullptr, FALSE);
  std::string root = web_root;
  if (root.back() != '/')
    root += '/';
  int status = 0;
  {
    webcapture::SignallingCallbacks callbacks;
    callbacks.session_started = [&](const webcapture::WebRtcSessionPtr &s) {
      on_session_started(&receiver, s);
    };
    callbacks.session_ended = [&](const webcapture::WebRtcSessionPtr &s) {
      on_session_ended(&receiver, s);
    };
    webcapture::SignallingServer server(root, callbacks);
    if (!server.listen(address, guint(port), &error)) {
      g_printerr("interop-receiver: cannot listen: %s\n", error->message);
      g_clear_error(&error);
      status = 1;
    } else {
      g_print("interop-receiver: listening on %s\n", server.url().c_str());
      fflush(stdout);
      g_unix_signal_add(SIGINT, on_quit_signal, &receiver);
      g_unix_signal_add(SIGTERM, on_quit_signal, &receiver);
      g_timeout_add_seconds(guint(exit_after), on_exit_timer, &receiver);
      g_timeout_add(250, print_status, &receiver);
      g_main_loop_run(receiver.loop);
      stop_pipeline(&receiver);
      receiver.session.reset();
      server.stop();
      status = receiver.exit_status;
    }
  }
  g_main_loop_unref(receiver.loop);
  g_free(address);
  g_free(web_root);
  return status;
}
