/* Track ids in SDP (MS-5, MS-11): see gstmediastreamsdp.h and docs/plugins/mediastreambin.md.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Which m-line carries which track: from each webrtcbin sink pad, the path is walked upstream
 * (through elements with one sink pad and through bins' ghost pads) to a track pad of this bin.
 * The pad's transceiver then names its m-line: webrtcbin writes the transceiver's name as the
 * track part of the ssrc-level msid; else the transceiver's mid, else its m-line index. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstmediastreamsdp.h"

#include <gst/sdp/sdp.h>

#include <cstring>
#include <string>
#include <vector>

#include "gstmediastreamtrackpad.h"

GST_DEBUG_CATEGORY_STATIC(gst_media_stream_sdp_debug);
#define GST_CAT_DEFAULT gst_media_stream_sdp_debug

/* RFC 4566 token-char: %x21 / %x23-27 / %x2A-2B / %x2D-2E / %x30-39 / %x41-5A / %x5E-7E. */
gboolean gst_media_stream_msid_id_is_valid(const gchar *id)
{
  constexpr size_t kMaxLength = 64;
  if (!id || !*id || strlen(id) > kMaxLength)
    return FALSE;
  for (const guchar *c = reinterpret_cast<const guchar *>(id); *c; c++) {
    const bool ok = *c == 0x21 || (*c >= 0x23 && *c <= 0x27) || *c == 0x2a || *c == 0x2b ||
                    *c == 0x2d || *c == 0x2e || (*c >= 0x30 && *c <= 0x39) ||
                    (*c >= 0x41 && *c <= 0x5a) || (*c >= 0x5e && *c <= 0x7e);
    if (!ok)
      return FALSE;
  }
  return TRUE;
}

namespace
{

constexpr int MAX_HOPS = 64;

/* One webrtcbin sink pad fed by one of the bin's tracks. */
struct SentTrack {
  std::string stream_id; /* the id of the track's mediastreambin */
  std::string track_id;
  std::string transceiver_name;
  std::string mid;         /* empty until webrtcbin assigned it */
  guint mline = G_MAXUINT; /* G_MAXUINT: not assigned yet */
};

/* The upstream neighbour of @sinkpad's data: the src pad it is linked to, seen through ghost
 * pads (a bin's src ghost pad: its target; a bin's sink ghost pad, reached from inside through
 * its proxy pad: the ghost pad itself, whose peer is outside). Returns a ref or NULL. */
GstPad *upstream_src_pad(GstPad *sinkpad)
{
  GstPad *pad = gst_pad_get_peer(sinkpad);
  for (int hops = 0; pad && hops < MAX_HOPS; hops++) {
    if (GST_IS_GHOST_PAD(pad)) {
      /* A bin's src ghost pad: the data comes from its target inside. */
      GstPad *target = gst_ghost_pad_get_target(GST_GHOST_PAD(pad));
      gst_object_unref(pad);
      pad = target;
      continue;
    }
    if (GST_IS_PROXY_PAD(pad) && GST_IS_GHOST_PAD(GST_OBJECT_PARENT(pad))) {
      /* The inside of a bin's sink ghost pad: continue outside the bin. */
      GstPad *ghost = GST_PAD(gst_proxy_pad_get_internal(GST_PROXY_PAD(pad)));
      gst_object_unref(pad);
      pad = ghost ? gst_pad_get_peer(ghost) : nullptr;
      gst_clear_object(&ghost);
      continue;
    }
    return pad;
  }
  gst_clear_object(&pad);
  return nullptr;
}

/* The mediastreambin track pad whose data reaches @sinkpad through elements with one sink pad
 * (queues, converters, encoders, payloaders, capsfilters, tees, bins of those), or NULL. */
GstPad *find_track_upstream(GstPad *sinkpad)
{
  GstPad *pad = GST_PAD(gst_object_ref(sinkpad));
  for (int hops = 0; hops < MAX_HOPS; hops++) {
    GstPad *src = upstream_src_pad(pad);
    gst_object_unref(pad);
    if (!src)
      return nullptr;
    if (GST_IS_MEDIA_STREAM_TRACK_PAD(src))
      return src;
    GstElement *element = gst_pad_get_parent_element(src);
    gst_object_unref(src);
    if (!element)
      return nullptr;
    pad = nullptr;
    GST_OBJECT_LOCK(element);
    if (element->numsinkpads == 1)
      pad = GST_PAD(gst_object_ref(element->sinkpads->data));
    GST_OBJECT_UNLOCK(element);
    gst_object_unref(element);
    if (!pad)
      return nullptr; /* a muxer or mixer: not one track any more */
  }
  return nullptr;
}

/* "" for NULL. */
std::string get_string(gpointer object, const gchar *property)
{
  g_autofree gchar *value = nullptr;
  g_object_get(object, property, &value, NULL);
  return value ? value : "";
}

std::vector<SentTrack> sent_tracks(GstElement *bin, GstElement *webrtcbin)
{
  std::vector<SentTrack> sent;
  std::vector<GstPad *> sinkpads;
  GST_OBJECT_LOCK(webrtcbin);
  for (GList *l = webrtcbin->sinkpads; l; l = l->next)
    sinkpads.push_back(GST_PAD(gst_object_ref(l->data)));
  GST_OBJECT_UNLOCK(webrtcbin);

  for (GstPad *sinkpad : sinkpads) {
    GstPad *track = find_track_upstream(sinkpad);
    GstObject *stream = track ? gst_object_get_parent(GST_OBJECT(track)) : nullptr;
    GObject *transceiver = nullptr;
    if (stream && g_object_class_find_property(G_OBJECT_GET_CLASS(sinkpad), "transceiver"))
      g_object_get(sinkpad, "transceiver", &transceiver, NULL);
    if (stream && transceiver) {
      SentTrack t;
      t.stream_id = get_string(stream, "id");
      t.track_id = get_string(track, "track-id");
      g_autofree gchar *name = gst_object_get_name(GST_OBJECT(transceiver));
      t.transceiver_name = name ? name : "";
      t.mid = get_string(transceiver, "mid");
      g_object_get(transceiver, "mlineindex", &t.mline, NULL);
      GST_DEBUG_OBJECT(bin,
                       "%" GST_PTR_FORMAT " carries track %s (transceiver %s, mid %s, "
                       "m-line %d)",
                       sinkpad, t.track_id.c_str(), t.transceiver_name.c_str(), t.mid.c_str(),
                       (gint)t.mline);
      if (!t.track_id.empty() && !t.stream_id.empty())
        sent.push_back(std::move(t));
    }
    g_clear_object(&transceiver);
    gst_clear_object(&stream);
    gst_clear_object(&track);
    gst_object_unref(sinkpad);
  }
  return sent;
}

/* "<ssrc> msid:<stream> <track>": the position of the track part, or npos. */
size_t ssrc_msid_track_part(const std::string &value)
{
  size_t msid = value.find(" msid:");
  if (msid == std::string::npos)
    return std::string::npos;
  size_t space = value.find(' ', msid + 6);
  return space == std::string::npos ? std::string::npos : space + 1;
}

/* How well @media matches @t: 3 by the transceiver name (or our track id) in the ssrc-level
 * msid, 2 by mid, 1 by m-line index, 0 not at all. */
int match(const GstSDPMedia *media, guint index, const SentTrack &t)
{
  for (guint i = 0; i < gst_sdp_media_attributes_len(media); i++) {
    const GstSDPAttribute *a = gst_sdp_media_get_attribute(media, i);
    if (g_strcmp0(a->key, "ssrc") != 0 || !a->value)
      continue;
    std::string value = a->value;
    size_t part = ssrc_msid_track_part(value);
    if (part == std::string::npos)
      continue;
    std::string track = value.substr(part);
    if (track == t.transceiver_name || track == t.track_id)
      return 3;
  }
  const gchar *mid = gst_sdp_media_get_attribute_val(media, "mid");
  if (!t.mid.empty() && g_strcmp0(mid, t.mid.c_str()) == 0)
    return 2;
  if (t.mline == index)
    return 1;
  return 0;
}

/* The m-line sends media: msid describes what is sent (RFC 8830). Port 0 is not a test: with
 * max-bundle every m-line after the first is `bundle-only` with port 0. */
bool media_sends(const GstSDPMedia *media)
{
  return !gst_sdp_media_get_attribute_val(media, "recvonly") &&
         !gst_sdp_media_get_attribute_val(media, "inactive");
}

void annotate_media(GstSDPMedia *media, const std::string &stream_id, const std::string &track_id)
{
  const std::string msid = stream_id + " " + track_id;
  /* Media-level a=msid: ours replaces any other. */
  for (guint i = gst_sdp_media_attributes_len(media); i > 0; i--) {
    const GstSDPAttribute *a = gst_sdp_media_get_attribute(media, i - 1);
    if (g_strcmp0(a->key, "msid") == 0)
      gst_sdp_media_remove_attribute(media, i - 1);
  }
  guint first_ssrc = gst_sdp_media_attributes_len(media);
  for (guint i = 0; i < gst_sdp_media_attributes_len(media); i++) {
    const GstSDPAttribute *a = gst_sdp_media_get_attribute(media, i);
    if (g_strcmp0(a->key, "ssrc") != 0 || !a->value)
      continue;
    first_ssrc = MIN(first_ssrc, i);
    std::string value = a->value;
    size_t msid_at = value.find(" msid:");
    if (msid_at == std::string::npos)
      continue;
    std::string fixed = value.substr(0, msid_at) + " msid:" + msid;
    GstSDPAttribute replaced;
    gst_sdp_attribute_set(&replaced, "ssrc", fixed.c_str());
    gst_sdp_media_replace_attribute(media, i, &replaced);
  }
  GstSDPAttribute line;
  gst_sdp_attribute_set(&line, "msid", msid.c_str());
  gst_sdp_media_insert_attribute(media, first_ssrc, &line);
}

/* The class handler of "annotate-sdp": a new message. */
GstSDPMessage *annotate_sdp(GstElement *bin, const GstSDPMessage *original, GstElement *webrtcbin)
{
  if (!original || !GST_IS_ELEMENT(webrtcbin)) {
    GST_WARNING_OBJECT(bin, "annotate-sdp needs an SDP message and the webrtcbin");
    return nullptr;
  }
  GstSDPMessage *sdp = nullptr;
  if (gst_sdp_message_copy(original, &sdp) != GST_SDP_OK)
    return nullptr;
  std::vector<SentTrack> sent = sent_tracks(bin, webrtcbin);

  guint annotated = 0;
  for (guint m = 0; m < gst_sdp_message_medias_len(sdp); m++) {
    GstSDPMedia *media = const_cast<GstSDPMedia *>(gst_sdp_message_get_media(sdp, m));
    if (!media_sends(media))
      continue;
    const SentTrack *best = nullptr;
    int best_score = 0;
    for (const SentTrack &t : sent) {
      int score = match(media, m, t);
      if (score > best_score) {
        best = &t;
        best_score = score;
      }
    }
    if (!best)
      continue;
    GST_INFO_OBJECT(bin, "m-line %u (%s): msid %s %s", m, gst_sdp_media_get_media(media),
                    best->stream_id.c_str(), best->track_id.c_str());
    annotate_media(media, best->stream_id, best->track_id);
    annotated++;
  }
  GST_DEBUG_OBJECT(bin, "%u m-lines of %u carry a mediastreambin track", annotated,
                   gst_sdp_message_medias_len(sdp));
  return sdp;
}

} // namespace

void gst_media_stream_sdp_install_signals(GObjectClass *klass)
{
  GST_DEBUG_CATEGORY_INIT(gst_media_stream_sdp_debug, "mediastreambin-sdp", 0,
                          "mediastreambin track ids in SDP");
  /**
   * GstMediaStreamBin::annotate-sdp:
   * @sdp: an offer or answer made by @webrtcbin (a GstWebRTCSessionDescription's `sdp`)
   * @webrtcbin: the webrtcbin that made it
   *
   * Returns: (transfer full) (nullable): a copy of @sdp in which every m-line that carries a
   * track of a mediastreambin (this one or another: one call covers every stream sent through
   * @webrtcbin) has that stream's id and the track's `track-id` as msid: a media-level
   * `a=msid:<id> <track-id>` and the same on the ssrc-level lines (MS-5, MS-11). NULL when
   * @sdp or @webrtcbin is missing. Set webrtcbin's own description unchanged; send this copy.
   */
  g_signal_new_class_handler("annotate-sdp", G_TYPE_FROM_CLASS(klass),
                             static_cast<GSignalFlags>(G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION),
                             G_CALLBACK(GST_DEBUG_FUNCPTR(annotate_sdp)), nullptr, nullptr, nullptr,
                             GST_TYPE_SDP_MESSAGE, 2, GST_TYPE_SDP_MESSAGE, GST_TYPE_ELEMENT);
}
