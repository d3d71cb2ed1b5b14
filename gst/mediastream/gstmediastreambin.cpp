/* mediastreambin: a MediaStream in a pipeline, one pad pair per track.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Each track is a request sink pad (video_sink_%u / audio_sink_%u) and the
 * GstMediaStreamTrackPad src pad with the same index (video_%u / audio_%u),
 * created together. Buffers go straight from the sink pad's chain function to
 * the track pad: no queue, no thread, no copy. A disabled track (MS-6) sends
 * a black frame or silence prepared once per caps and shared by reference,
 * stamped with the incoming buffer's timestamps and flags.
 *
 * The stream (MS-1..3): `id` (UUID v4), `active`. Each change of the track
 * set builds a new GstStreamCollection, posts it and marks it for each
 * track's streaming thread, which pushes it downstream after its STREAM_START
 * (so the event is always serialized with the data). STREAM_START is
 * rewritten: stream-id = track id, the track's GstStream, the bin's group-id.
 *
 * WebRTC (MS-11): the track's downstream path is walked through one-input
 * elements (one-in/one-out ones, and tee-like ones branch by branch) to pads
 * with a writable "msid" property (webrtcbin's sink pads), which get the
 * stream id. The walk runs when the track pad is
 * linked, at each caps event, and when any unlinked src pad met on the path
 * gets linked later.
 *
 * Threads and locks: the bin's `lock` guards the track set, the id, the
 * collection and `active`; it may be held while taking a track's lock, never
 * the other way round. Nothing is pushed, emitted or posted with a lock held.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstmediastreambin.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <set>
#include <vector>

#include "gstmediastreamblank.h"
#include "gstmediastreamremote.h"
#include "gstmediastreamsdp.h"
#include "gstmediastreamtrack.h"
#include "gstmediastreamtrackstate.h"
#include "gstwebcaptureerror.h"
#include "gstwebcapturei18n.h"
#include "gstwebcaptureutil.h"

GST_DEBUG_CATEGORY_STATIC(gst_media_stream_bin_debug);
#define GST_CAT_DEFAULT gst_media_stream_bin_debug

namespace
{

constexpr guint MAX_ID_LENGTH = 64;
constexpr int MAX_MSID_HOPS = 64;

enum {
  PROP_0,
  PROP_ID,
  PROP_ACTIVE,
};

enum {
  SIGNAL_TRACK_ADDED,
  SIGNAL_TRACK_REMOVED,
  SIGNAL_TRACK_ENDED,
  LAST_SIGNAL,
};

guint signals[LAST_SIGNAL];

GstStaticPadTemplate video_sink_template = GST_STATIC_PAD_TEMPLATE(
    "video_sink_%u", GST_PAD_SINK, GST_PAD_REQUEST, GST_STATIC_CAPS("video/x-raw(ANY)"));
GstStaticPadTemplate audio_sink_template = GST_STATIC_PAD_TEMPLATE(
    "audio_sink_%u", GST_PAD_SINK, GST_PAD_REQUEST, GST_STATIC_CAPS("audio/x-raw"));
GstStaticPadTemplate video_src_template = GST_STATIC_PAD_TEMPLATE(
    "video_%u", GST_PAD_SRC, GST_PAD_SOMETIMES, GST_STATIC_CAPS("video/x-raw(ANY)"));
GstStaticPadTemplate audio_src_template = GST_STATIC_PAD_TEMPLATE(
    "audio_%u", GST_PAD_SRC, GST_PAD_SOMETIMES, GST_STATIC_CAPS("audio/x-raw"));

struct Track {
  GstPad *sinkpad;                /* ref */
  GstMediaStreamTrackPad *srcpad; /* ref */
};

/* RFC 7230 token characters: what an SDP msid-id may carry. */
bool is_token(const gchar *s)
{
  if (!s || !*s || strlen(s) > MAX_ID_LENGTH)
    return false;
  for (const gchar *c = s; *c; c++) {
    if (g_ascii_isalnum(*c))
      continue;
    if (!strchr("!#$%&'*+-.^_`|~", *c))
      return false;
  }
  return true;
}

} // namespace

struct GstMediaStreamBinPrivate {
  std::mutex lock;
  std::string id;
  std::vector<Track> tracks;
  std::set<guint> video_indices;
  std::set<guint> audio_indices;
  guint group_id = 0;
  GstStreamCollection *collection = nullptr;
  std::atomic<guint> collection_cookie{0};
  bool active = false;
  bool disposing = false;
};

struct _GstMediaStreamBin {
  GstBin parent;
  GstMediaStreamBinPrivate *priv;
};

G_DEFINE_TYPE_WITH_CODE(GstMediaStreamBin, gst_media_stream_bin, GST_TYPE_BIN,
                        GST_DEBUG_CATEGORY_INIT(gst_media_stream_bin_debug, "mediastreambin", 0,
                                                "MediaStream bin"))
GST_ELEMENT_REGISTER_DEFINE(mediastreambin, "mediastreambin", GST_RANK_NONE,
                            GST_TYPE_MEDIA_STREAM_BIN)

/* The other pad of a track pair, or NULL once the track was released. */
static GstPad *dup_partner(GstPad *pad)
{
  GST_OBJECT_LOCK(pad);
  GstPad *other = static_cast<GstPad *>(pad->element_private);
  if (other)
    gst_object_ref(other);
  GST_OBJECT_UNLOCK(pad);
  return other;
}

static void set_partner(GstPad *pad, GstPad *other)
{
  GST_OBJECT_LOCK(pad);
  pad->element_private = other;
  GST_OBJECT_UNLOCK(pad);
}

/* --- stream collection, active, messages ------------------------------------ */

/* With the lock. */
static void rebuild_collection(GstMediaStreamBin *self)
{
  GstMediaStreamBinPrivate *priv = self->priv;
  GstStreamCollection *collection = gst_stream_collection_new(priv->id.c_str());
  for (const Track &t : priv->tracks) {
    GstMediaStreamTrackPadPrivate *tp = gst_media_stream_track_pad_get_private(t.srcpad);
    gst_stream_collection_add_stream(collection, GST_STREAM(gst_object_ref(tp->stream)));
  }
  gst_object_replace(reinterpret_cast<GstObject **>(&priv->collection), GST_OBJECT(collection));
  gst_object_unref(collection);
  priv->collection_cookie++;
}

static void post_collection(GstMediaStreamBin *self)
{
  GstStreamCollection *collection = nullptr;
  {
    std::lock_guard<std::mutex> guard(self->priv->lock);
    if (self->priv->collection)
      collection = GST_STREAM_COLLECTION(gst_object_ref(self->priv->collection));
  }
  if (collection) {
    gst_element_post_message(GST_ELEMENT(self),
                             gst_message_new_stream_collection(GST_OBJECT(self), collection));
    gst_object_unref(collection);
  }
}

/* A track took another id (a remote track's, in NULL/READY): its GstStream is new. */
static void on_track_id_changed(GstMediaStreamTrackPad *, GParamSpec *, GstMediaStreamBin *self)
{
  {
    std::lock_guard<std::mutex> guard(self->priv->lock);
    rebuild_collection(self);
  }
  post_collection(self);
}

/* MS-3: active while at least one track has not ended. With the lock. */
static bool compute_active(GstMediaStreamBin *self)
{
  for (const Track &t : self->priv->tracks) {
    GstMediaStreamTrackPadPrivate *tp = gst_media_stream_track_pad_get_private(t.srcpad);
    std::lock_guard<std::mutex> guard(tp->lock);
    if (!tp->ended)
      return true;
  }
  return false;
}

static void update_active(GstMediaStreamBin *self)
{
  bool changed;
  {
    std::lock_guard<std::mutex> guard(self->priv->lock);
    bool active = compute_active(self);
    changed = active != self->priv->active;
    self->priv->active = active;
  }
  if (changed)
    g_object_notify(G_OBJECT(self), "active");
}

static void post_track_message(GstMediaStreamBin *self, GstMediaStreamTrackPad *track,
                               const gchar *event)
{
  GstMediaStreamTrackPadPrivate *tp = gst_media_stream_track_pad_get_private(track);
  std::string id;
  {
    std::lock_guard<std::mutex> guard(self->priv->lock);
    id = self->priv->id;
  }
  GstStructure *s = gst_structure_new(
      "mediastream-track", "event", G_TYPE_STRING, event, "stream-id", G_TYPE_STRING, id.c_str(),
      "track-id", G_TYPE_STRING, tp->track_id.c_str(), "kind", G_TYPE_STRING,
      gst_media_stream_track_kind_name(tp->kind), "pad", GST_TYPE_PAD, track, NULL);
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
}

/* Streaming thread of the track: push the current collection if this track
 * has not carried it yet (only after STREAM_START). */
static void push_collection_if_stale(GstMediaStreamBin *self, GstMediaStreamTrackPad *track)
{
  GstMediaStreamTrackPadPrivate *tp = gst_media_stream_track_pad_get_private(track);
  if (!tp->stream_started || tp->collection_cookie == self->priv->collection_cookie.load())
    return;
  GstStreamCollection *collection = nullptr;
  guint cookie;
  {
    std::lock_guard<std::mutex> guard(self->priv->lock);
    cookie = self->priv->collection_cookie.load();
    if (self->priv->collection)
      collection = GST_STREAM_COLLECTION(gst_object_ref(self->priv->collection));
  }
  tp->collection_cookie = cookie;
  if (collection)
    gst_pad_push_event(GST_PAD(track), gst_event_new_stream_collection(collection));
  gst_clear_object(&collection);
}

/* --- msid (MS-11) ----------------------------------------------------------- */

static void walk_msid(GstMediaStreamBin *self, GstMediaStreamTrackPad *track);

static void on_path_linked(GstPad *pad, GstPad *peer, gpointer user_data)
{
  GstMediaStreamTrackPad *track = GST_MEDIA_STREAM_TRACK_PAD(user_data);
  GstObject *parent = gst_object_get_parent(GST_OBJECT(track));
  if (parent) {
    if (GST_IS_MEDIA_STREAM_BIN(parent))
      walk_msid(GST_MEDIA_STREAM_BIN(parent), track);
    gst_object_unref(parent);
  }
}

static bool pad_has_msid(GstPad *pad)
{
  GParamSpec *pspec = g_object_class_find_property(G_OBJECT_GET_CLASS(pad), "msid");
  return pspec && pspec->value_type == G_TYPE_STRING && (pspec->flags & G_PARAM_WRITABLE);
}

static void on_path_pad_added(GstElement *element, GstPad *pad, gpointer user_data)
{
  if (GST_PAD_DIRECTION(pad) == GST_PAD_SRC)
    on_path_linked(pad, nullptr, user_data);
}

/* Connects @callback on @instance once per track, for as long as both live. */
static void watch_once(gpointer instance, const gchar *signal, GCallback callback,
                       GstMediaStreamTrackPad *track)
{
  if (g_signal_handler_find(
          instance, static_cast<GSignalMatchType>(G_SIGNAL_MATCH_FUNC | G_SIGNAL_MATCH_DATA), 0, 0,
          nullptr, reinterpret_cast<gpointer>(callback), track) == 0)
    g_signal_connect_object(instance, signal, callback, track, static_cast<GConnectFlags>(0));
}

/* Depth-first from @pad (a src pad on the track's path). */
static void walk_msid_from(GstMediaStreamTrackPad *track, GstPad *pad, const std::string &id,
                           int depth)
{
  if (depth > MAX_MSID_HOPS)
    return;
  GstPad *peer = gst_pad_get_peer(pad);
  if (!peer) {
    /* Not linked yet: come back when it is. */
    if (pad != GST_PAD(track))
      watch_once(pad, "linked", G_CALLBACK(on_path_linked), track);
    return;
  }

  if (pad_has_msid(peer)) {
    gchar *current = nullptr;
    g_object_get(peer, "msid", &current, NULL);
    if (g_strcmp0(current, id.c_str()) != 0) {
      GST_INFO_OBJECT(track, "msid of %" GST_PTR_FORMAT " := %s", peer, id.c_str());
      g_object_set(peer, "msid", id.c_str(), NULL);
    }
    g_free(current);
    gst_object_unref(peer);
    return;
  }

  /* Bins on the path: a ghost sink pad continues from its internal pad
   * (linked to the target inside, or watched until it is); an element's src
   * pad linked to a ghost src pad reaches that pad's internal proxy, which
   * continues from the ghost pad, out of the bin. */
  if (GST_IS_GHOST_PAD(peer)) {
    GstPad *internal = GST_PAD(gst_proxy_pad_get_internal(GST_PROXY_PAD(peer)));
    gst_object_unref(peer);
    if (internal) {
      walk_msid_from(track, internal, id, depth + 1);
      gst_object_unref(internal);
    }
    return;
  }
  GstElement *element = gst_pad_get_parent_element(peer);
  if (!element && GST_IS_PROXY_PAD(peer)) {
    GstPad *ghost = GST_PAD(gst_proxy_pad_get_internal(GST_PROXY_PAD(peer)));
    gst_object_unref(peer);
    if (ghost) {
      if (GST_IS_GHOST_PAD(ghost))
        walk_msid_from(track, ghost, id, depth + 1);
      gst_object_unref(ghost);
    }
    return;
  }
  gst_object_unref(peer);
  if (!element)
    return;
  /* Only through elements whose single input is this track: converters,
   * encoders, payloaders, queues, capsfilters, bins of those, and branching
   * ones (tee) whose every branch is followed. Muxers and mixers stop it. */
  std::vector<GstPad *> srcpads;
  GST_OBJECT_LOCK(element);
  if (element->numsinkpads == 1) {
    for (GList *l = element->srcpads; l; l = l->next)
      srcpads.push_back(GST_PAD(gst_object_ref(l->data)));
  }
  const bool one_input = element->numsinkpads == 1;
  GST_OBJECT_UNLOCK(element);
  if (one_input)
    watch_once(element, "pad-added", G_CALLBACK(on_path_pad_added), track);
  gst_object_unref(element);
  for (GstPad *srcpad : srcpads) {
    walk_msid_from(track, srcpad, id, depth + 1);
    gst_object_unref(srcpad);
  }
}

/* MS-11: sets the stream id as msid on every pad with a writable "msid"
 * property that the track's path reaches (webrtcbin's sink pads). Unlinked
 * pads and elements that may grow src pads on the way are watched, so a
 * later link completes the walk. */
static void walk_msid(GstMediaStreamBin *self, GstMediaStreamTrackPad *track)
{
  std::string id;
  {
    std::lock_guard<std::mutex> guard(self->priv->lock);
    id = self->priv->id;
  }
  walk_msid_from(track, GST_PAD(track), id, 0);
}

static void on_track_linked(GstPad *pad, GstPad *peer, gpointer user_data)
{
  GstObject *parent = gst_object_get_parent(GST_OBJECT(pad));
  if (parent) {
    if (GST_IS_MEDIA_STREAM_BIN(parent))
      walk_msid(GST_MEDIA_STREAM_BIN(parent), GST_MEDIA_STREAM_TRACK_PAD(pad));
    gst_object_unref(parent);
  }
}

/* --- data path -------------------------------------------------------------- */

/* MS-6: the zero-information buffer standing for @in, or NULL when none can
 * be made (video in non-system memory, or a format with no packer). */
static GstBuffer *make_blank(GstMediaStreamTrackPad *track, GstBuffer *in)
{
  GstMediaStreamTrackPadPrivate *tp = gst_media_stream_track_pad_get_private(track);
  if (!tp->have_info || !tp->system_memory || tp->blank_failed)
    return nullptr;

  GstBuffer *out;
  if (tp->kind == TrackKind::VIDEO) {
    if (!tp->blank) {
      tp->blank = gst_media_stream_make_black_frame(&tp->vinfo);
      if (!tp->blank) {
        tp->blank_failed = true;
        GST_WARNING_OBJECT(track, "cannot make black frames for %s",
                           GST_VIDEO_INFO_NAME(&tp->vinfo));
        return nullptr;
      }
    }
    /* Shares the black frame's memory: no copy per buffer. */
    out = gst_buffer_new();
    gst_buffer_copy_into(out, tp->blank, GST_BUFFER_COPY_MEMORY, 0, -1);
    gst_buffer_copy_into(
        out, in,
        static_cast<GstBufferCopyFlags>(GST_BUFFER_COPY_FLAGS | GST_BUFFER_COPY_TIMESTAMPS), 0, -1);
  } else {
    gsize size = gst_buffer_get_size(in);
    if (!tp->blank || gst_buffer_get_size(tp->blank) < size) {
      gst_clear_buffer(&tp->blank);
      tp->blank = gst_media_stream_make_silence(&tp->ainfo, size);
      if (!tp->blank)
        return nullptr;
    }
    out = gst_buffer_copy_region(tp->blank, GST_BUFFER_COPY_MEMORY, 0, size);
    /* Metas too: a planar layout's GstAudioMeta describes the silence as well. */
    gst_buffer_copy_into(out, in,
                         static_cast<GstBufferCopyFlags>(GST_BUFFER_COPY_FLAGS |
                                                         GST_BUFFER_COPY_TIMESTAMPS |
                                                         GST_BUFFER_COPY_META),
                         0, -1);
  }
  return out;
}

static GstFlowReturn sink_chain(GstPad *pad, GstObject *parent, GstBuffer *buffer)
{
  GstMediaStreamBin *self = GST_MEDIA_STREAM_BIN(parent);
  GstPad *srcpad = dup_partner(pad);
  if (!srcpad) {
    gst_buffer_unref(buffer);
    return GST_FLOW_FLUSHING;
  }
  GstMediaStreamTrackPad *track = GST_MEDIA_STREAM_TRACK_PAD(srcpad);
  GstMediaStreamTrackPadPrivate *tp = gst_media_stream_track_pad_get_private(track);

  push_collection_if_stale(self, track);

  GstFlowReturn ret;
  if (G_LIKELY(tp->enabled.load(std::memory_order_relaxed))) {
    ret = gst_pad_push(srcpad, buffer);
  } else {
    GstBuffer *blank = make_blank(track, buffer);
    if (blank) {
      gst_buffer_unref(buffer);
      ret = gst_pad_push(srcpad, blank);
    } else {
      /* No black frame possible in this memory: say "nothing here" in time. */
      GstClockTime pts = GST_BUFFER_PTS(buffer);
      GstClockTime duration = GST_BUFFER_DURATION(buffer);
      gst_buffer_unref(buffer);
      if (GST_CLOCK_TIME_IS_VALID(pts))
        gst_pad_push_event(srcpad, gst_event_new_gap(pts, duration));
      ret = GST_FLOW_OK;
    }
  }
  /* A track nobody consumes yet must not stop its source. */
  if (ret == GST_FLOW_NOT_LINKED)
    ret = GST_FLOW_OK;
  gst_object_unref(srcpad);
  return ret;
}

static void update_stream_title(GstMediaStreamTrackPad *track)
{
  GstMediaStreamTrackPadPrivate *tp = gst_media_stream_track_pad_get_private(track);
  gchar *label = gst_media_stream_track_pad_dup_label(track);
  GstTagList *tags = gst_stream_get_tags(tp->stream);
  tags = tags ? gst_tag_list_make_writable(tags) : gst_tag_list_new_empty();
  gst_tag_list_set_scope(tags, GST_TAG_SCOPE_STREAM);
  if (label && *label)
    gst_tag_list_add(tags, GST_TAG_MERGE_REPLACE, GST_TAG_TITLE, label, NULL);
  else
    gst_tag_list_remove_tag(tags, GST_TAG_TITLE);
  gst_stream_set_tags(tp->stream, tags);
  gst_tag_list_unref(tags);
  g_free(label);
}

/* The upstream label (title tag or track-state label); TRUE if it changed. */
static bool set_title_label(GstMediaStreamTrackPad *track, const gchar *title)
{
  GstMediaStreamTrackPadPrivate *tp = gst_media_stream_track_pad_get_private(track);
  std::lock_guard<std::mutex> guard(tp->lock);
  if (!title || tp->title_label == title)
    return false;
  tp->title_label = title;
  return tp->app_label.empty();
}

static gboolean sink_event(GstPad *pad, GstObject *parent, GstEvent *event)
{
  GstMediaStreamBin *self = GST_MEDIA_STREAM_BIN(parent);
  GstPad *srcpad = dup_partner(pad);
  if (!srcpad) {
    gst_event_unref(event);
    return FALSE;
  }
  GstMediaStreamTrackPad *track = GST_MEDIA_STREAM_TRACK_PAD(srcpad);
  GstMediaStreamTrackPadPrivate *tp = gst_media_stream_track_pad_get_private(track);
  gboolean ret = TRUE;

  switch (GST_EVENT_TYPE(event)) {
  case GST_EVENT_STREAM_START: {
    /* stream-id = track id; the track's GstStream; one group for the stream. */
    GstStreamFlags flags = GST_STREAM_FLAG_NONE;
    gst_event_parse_stream_flags(event, &flags);
    GstEvent *start = gst_event_new_stream_start(tp->track_id.c_str());
    gst_event_set_stream_flags(start, flags);
    gst_event_set_group_id(start, self->priv->group_id);
    gst_event_set_stream(start, tp->stream);
    gst_event_unref(event);
    update_stream_title(track); /* title tag = label, default included */
    tp->stream_started = true;
    tp->collection_cookie = 0;
    ret = gst_pad_push_event(srcpad, start);
    push_collection_if_stale(self, track);
    break;
  }
  case GST_EVENT_CAPS: {
    GstCaps *caps = nullptr;
    gst_event_parse_caps(event, &caps);
    GstCapsFeatures *features = gst_caps_get_features(caps, 0);
    tp->system_memory =
        !features || gst_caps_features_is_equal(features, GST_CAPS_FEATURES_MEMORY_SYSTEM_MEMORY);
    if (tp->kind == TrackKind::VIDEO)
      tp->have_info = gst_video_info_from_caps(&tp->vinfo, caps);
    else
      tp->have_info = gst_audio_info_from_caps(&tp->ainfo, caps);
    gst_clear_buffer(&tp->blank); /* black / silence prepared again for these caps */
    tp->blank_failed = false;
    {
      std::lock_guard<std::mutex> guard(tp->lock);
      gst_caps_replace(&tp->caps, caps);
    }
    gst_stream_set_caps(tp->stream, caps);
    push_collection_if_stale(self, track);
    ret = gst_pad_push_event(srcpad, event);
    g_object_notify(G_OBJECT(track), "settings");
    walk_msid(self, track);
    break;
  }
  case GST_EVENT_TAG: {
    GstTagList *tags = nullptr;
    gst_event_parse_tag(event, &tags);
    gchar *title = nullptr;
    bool changed = false;
    if (gst_tag_list_get_string(tags, GST_TAG_TITLE, &title))
      changed = set_title_label(track, title);
    g_free(title);
    push_collection_if_stale(self, track);
    ret = gst_pad_push_event(srcpad, event);
    if (changed) {
      update_stream_title(track);
      g_object_notify(G_OBJECT(track), "label");
    }
    break;
  }
  case GST_EVENT_STREAM_COLLECTION:
    /* Upstream's own collection (a source's tracks) is replaced by the
     * stream's: downstream sees one collection, ours. */
    GST_DEBUG_OBJECT(track, "dropping upstream %" GST_PTR_FORMAT, event);
    gst_event_unref(event);
    break;
  case GST_EVENT_EOS: {
    bool was_ended;
    {
      std::lock_guard<std::mutex> guard(tp->lock);
      was_ended = tp->ended;
      tp->ended = true;
    }
    if (!was_ended) {
      /* MS-8: ended is final; track-ended, then MS-3. Told before EOS goes
       * on, so the application hears it before the pipeline's EOS. */
      GST_INFO_OBJECT(track, "track ended");
      g_object_notify(G_OBJECT(track), "ready-state");
      g_signal_emit(self, signals[SIGNAL_TRACK_ENDED], 0, track);
      post_track_message(self, track, "ended");
      update_active(self);
    }
    push_collection_if_stale(self, track);
    ret = gst_pad_push_event(srcpad, event);
    break;
  }
  default: {
    gboolean muted = FALSE;
    gchar *label = nullptr;
    if (gst_media_stream_track_state_event_parse(event, &muted, &label)) {
      /* MS-7: muted follows the source. */
      bool mute_changed;
      {
        std::lock_guard<std::mutex> guard(tp->lock);
        mute_changed = tp->muted != (bool)muted;
        tp->muted = muted;
      }
      bool label_changed = set_title_label(track, label);
      g_free(label);
      push_collection_if_stale(self, track);
      ret = gst_pad_push_event(srcpad, event);
      if (label_changed) {
        update_stream_title(track);
        g_object_notify(G_OBJECT(track), "label");
      }
      if (mute_changed) {
        GST_INFO_OBJECT(track, "%s", muted ? "muted" : "unmuted");
        gst_media_stream_track_pad_notify_muted(track, muted);
        post_track_message(self, track, muted ? "mute" : "unmute");
      }
      break;
    }
    if (GST_EVENT_IS_SERIALIZED(event))
      push_collection_if_stale(self, track);
    ret = gst_pad_push_event(srcpad, event);
    break;
  }
  }
  gst_object_unref(srcpad);
  return ret;
}

static GstIterator *iterate_partner(GstPad *pad, GstObject *parent)
{
  GstPad *other = dup_partner(pad);
  if (!other)
    return nullptr;
  GValue value = G_VALUE_INIT;
  g_value_init(&value, GST_TYPE_PAD);
  g_value_take_object(&value, other);
  GstIterator *it = gst_iterator_new_single(GST_TYPE_PAD, &value);
  g_value_unset(&value);
  return it;
}

/* --- request / release ------------------------------------------------------ */

static GstPad *gst_media_stream_bin_request_new_pad(GstElement *element, GstPadTemplate *templ,
                                                    const gchar *name, const GstCaps *caps)
{
  GstMediaStreamBin *self = GST_MEDIA_STREAM_BIN(element);
  GstMediaStreamBinPrivate *priv = self->priv;
  GstElementClass *klass = GST_ELEMENT_GET_CLASS(element);

  TrackKind kind;
  if (templ == gst_element_class_get_pad_template(klass, "video_sink_%u"))
    kind = TrackKind::VIDEO;
  else if (templ == gst_element_class_get_pad_template(klass, "audio_sink_%u"))
    kind = TrackKind::AUDIO;
  else
    return nullptr;
  const gchar *sink_format = kind == TrackKind::VIDEO ? "video_sink_%u" : "audio_sink_%u";
  const gchar *src_format = kind == TrackKind::VIDEO ? "video_%u" : "audio_%u";

  guint index = 0;
  {
    std::lock_guard<std::mutex> guard(priv->lock);
    std::set<guint> &used = kind == TrackKind::VIDEO ? priv->video_indices : priv->audio_indices;
    if (name && sscanf(name, sink_format, &index) == 1) {
      if (used.count(index)) {
        GST_WARNING_OBJECT(self, "pad %s already exists", name);
        return nullptr;
      }
    } else {
      while (used.count(index))
        index++;
    }
    used.insert(index);
  }

  gchar *sink_name = g_strdup_printf(sink_format, index);
  gchar *src_name = g_strdup_printf(src_format, index);
  GstPadTemplate *src_templ =
      gst_element_class_get_pad_template(klass, kind == TrackKind::VIDEO ? "video_%u" : "audio_%u");
  auto *srcpad = GST_MEDIA_STREAM_TRACK_PAD(g_object_new(GST_TYPE_MEDIA_STREAM_TRACK_PAD, "name",
                                                         src_name, "direction", GST_PAD_SRC,
                                                         "template", src_templ, NULL));
  GstPad *sinkpad = gst_pad_new_from_template(templ, sink_name);
  g_free(sink_name);
  g_free(src_name);

  GstMediaStreamTrackPadPrivate *tp = gst_media_stream_track_pad_get_private(srcpad);
  gchar *uuid = g_uuid_string_random(); /* RFC 4122 version 4 */
  tp->track_id = uuid;
  g_free(uuid);
  tp->kind = kind;
  tp->index = index;
  tp->stream =
      gst_stream_new(tp->track_id.c_str(), nullptr,
                     kind == TrackKind::VIDEO ? GST_STREAM_TYPE_VIDEO : GST_STREAM_TYPE_AUDIO,
                     GST_STREAM_FLAG_NONE); /* not floating: gst_stream_new() sinks it */

  gst_pad_set_chain_function(sinkpad, GST_DEBUG_FUNCPTR(sink_chain));
  gst_pad_set_event_function(sinkpad, GST_DEBUG_FUNCPTR(sink_event));
  gst_pad_set_iterate_internal_links_function(sinkpad, GST_DEBUG_FUNCPTR(iterate_partner));
  gst_pad_set_iterate_internal_links_function(GST_PAD(srcpad), GST_DEBUG_FUNCPTR(iterate_partner));
  GST_PAD_SET_PROXY_CAPS(sinkpad);
  GST_PAD_SET_PROXY_ALLOCATION(sinkpad);
  GST_PAD_SET_PROXY_CAPS(GST_PAD(srcpad));
  set_partner(sinkpad, GST_PAD(srcpad));
  set_partner(GST_PAD(srcpad), sinkpad);
  g_signal_connect(srcpad, "linked", G_CALLBACK(on_track_linked), nullptr);
  g_signal_connect_object(srcpad, "notify::track-id", G_CALLBACK(on_track_id_changed), self,
                          static_cast<GConnectFlags>(0));

  bool active_changed;
  {
    std::lock_guard<std::mutex> guard(priv->lock);
    priv->tracks.push_back(Track{GST_PAD(gst_object_ref_sink(sinkpad)),
                                 GST_MEDIA_STREAM_TRACK_PAD(gst_object_ref_sink(srcpad))});
    rebuild_collection(self);
    active_changed = !priv->active;
    priv->active = true;
  }

  /* The track pad first: gst-launch's delayed links (ms.video_0 ! ...) and
   * pad-added handlers see it before the sink pad is returned. Adding fails
   * only if the application added a pad of that name itself. */
  bool src_added = gst_element_add_pad(element, GST_PAD(srcpad));
  if (!src_added || !gst_element_add_pad(element, sinkpad)) {
    GST_WARNING_OBJECT(self, "cannot add the pads of track %u", index);
    if (src_added)
      gst_element_remove_pad(element, GST_PAD(srcpad));
    {
      std::lock_guard<std::mutex> guard(priv->lock);
      auto it = std::find_if(priv->tracks.begin(), priv->tracks.end(),
                             [sinkpad](const Track &t) { return t.sinkpad == sinkpad; });
      if (it != priv->tracks.end())
        priv->tracks.erase(it);
      (kind == TrackKind::VIDEO ? priv->video_indices : priv->audio_indices).erase(index);
      rebuild_collection(self);
      priv->active = compute_active(self);
    }
    set_partner(sinkpad, nullptr);
    set_partner(GST_PAD(srcpad), nullptr);
    gst_object_unref(sinkpad);
    gst_object_unref(srcpad);
    return nullptr;
  }

  GST_INFO_OBJECT(self, "track %s (%s) added", tp->track_id.c_str(),
                  gst_media_stream_track_kind_name(kind));
  g_signal_emit(self, signals[SIGNAL_TRACK_ADDED], 0, srcpad);
  post_track_message(self, srcpad, "addtrack");
  post_collection(self);
  if (active_changed)
    g_object_notify(G_OBJECT(self), "active");
  return sinkpad;
}

static void gst_media_stream_bin_release_pad(GstElement *element, GstPad *pad)
{
  GstMediaStreamBin *self = GST_MEDIA_STREAM_BIN(element);
  GstMediaStreamBinPrivate *priv = self->priv;

  Track track{nullptr, nullptr};
  bool active_changed = false;
  bool disposing;
  {
    std::lock_guard<std::mutex> guard(priv->lock);
    auto it = std::find_if(priv->tracks.begin(), priv->tracks.end(), [pad](const Track &t) {
      return t.sinkpad == pad || GST_PAD(t.srcpad) == pad;
    });
    if (it == priv->tracks.end())
      return;
    track = *it;
    priv->tracks.erase(it);
    rebuild_collection(self);
    bool active = compute_active(self);
    active_changed = active != priv->active;
    priv->active = active;
    disposing = priv->disposing;
  }

  /* Stop the track's streaming first (waits for a chain call in progress),
   * then cut the pair so nothing can reach the other pad. */
  gst_pad_set_active(GST_PAD(track.srcpad), FALSE);
  gst_pad_set_active(track.sinkpad, FALSE);
  set_partner(track.sinkpad, nullptr);
  set_partner(GST_PAD(track.srcpad), nullptr);

  if (GST_OBJECT_PARENT(track.srcpad) == GST_OBJECT(element))
    gst_element_remove_pad(element, GST_PAD(track.srcpad));
  if (GST_OBJECT_PARENT(track.sinkpad) == GST_OBJECT(element))
    gst_element_remove_pad(element, track.sinkpad);
  /* The index is free only now that its pad names are. */
  {
    std::lock_guard<std::mutex> guard(priv->lock);
    GstMediaStreamTrackPadPrivate *tp = gst_media_stream_track_pad_get_private(track.srcpad);
    (tp->kind == TrackKind::VIDEO ? priv->video_indices : priv->audio_indices).erase(tp->index);
  }

  if (!disposing) {
    GST_INFO_OBJECT(self, "track %s removed",
                    gst_media_stream_track_pad_get_private(track.srcpad)->track_id.c_str());
    g_signal_emit(self, signals[SIGNAL_TRACK_REMOVED], 0, track.srcpad);
    post_track_message(self, track.srcpad, "removetrack");
    post_collection(self);
    if (active_changed)
      g_object_notify(G_OBJECT(self), "active");
  }
  gst_object_unref(track.sinkpad);
  gst_object_unref(track.srcpad);
}

/* --- element ---------------------------------------------------------------- */

static GstStateChangeReturn gst_media_stream_bin_change_state(GstElement *element,
                                                              GstStateChange transition)
{
  GstMediaStreamBin *self = GST_MEDIA_STREAM_BIN(element);
  GstStateChangeReturn ret =
      GST_ELEMENT_CLASS(gst_media_stream_bin_parent_class)->change_state(element, transition);
  if (ret == GST_STATE_CHANGE_FAILURE)
    return ret;

  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) {
    /* Pads are inactive now: a new run starts with live tracks, a fresh
     * STREAM_START and collection on each. */
    std::vector<GstMediaStreamTrackPad *> revived, unmuted;
    {
      std::lock_guard<std::mutex> guard(self->priv->lock);
      for (const Track &t : self->priv->tracks) {
        GstMediaStreamTrackPadPrivate *tp = gst_media_stream_track_pad_get_private(t.srcpad);
        std::lock_guard<std::mutex> tguard(tp->lock);
        if (tp->ended)
          revived.push_back(GST_MEDIA_STREAM_TRACK_PAD(gst_object_ref(t.srcpad)));
        if (tp->muted)
          unmuted.push_back(GST_MEDIA_STREAM_TRACK_PAD(gst_object_ref(t.srcpad)));
        tp->ended = false;
        tp->muted = false; /* the sources send their state again */
        tp->stream_started = false;
        tp->collection_cookie = 0;
        gst_clear_buffer(&tp->blank);
      }
    }
    for (GstMediaStreamTrackPad *track : revived) {
      g_object_notify(G_OBJECT(track), "ready-state");
      gst_object_unref(track);
    }
    for (GstMediaStreamTrackPad *track : unmuted) {
      gst_media_stream_track_pad_notify_muted(track, FALSE);
      gst_object_unref(track);
    }
    update_active(self);
  }
  return ret;
}

static void gst_media_stream_bin_set_property(GObject *object, guint prop_id, const GValue *value,
                                              GParamSpec *pspec)
{
  GstMediaStreamBin *self = GST_MEDIA_STREAM_BIN(object);
  switch (prop_id) {
  case PROP_ID: {
    const gchar *id = g_value_get_string(value);
    /* MS-1: the id never changes while the stream runs. */
    if (!gst_webcapture_property_settable(GST_ELEMENT(self), "id"))
      break;
    if (!is_token(id)) {
      /* The refused value in the details, made printable (it may not even
       * be UTF-8). */
      g_autofree gchar *shown = id ? g_strescape(id, nullptr) : g_strdup("(null)");
      g_autofree gchar *debug = g_strdup_printf("id \"%s\" ignored", shown);
      GST_WEB_WARNING_F(self, GST_WEB_ERROR_TYPE, nullptr, debug,
                        _("the stream id must be 1 to 64 RFC 7230 token characters (letters, "
                          "digits and symbols such as - _ . ~ !)."));
      break;
    }
    std::vector<GstMediaStreamTrackPad *> tracks;
    {
      std::lock_guard<std::mutex> guard(self->priv->lock);
      self->priv->id = id;
      rebuild_collection(self);
      for (const Track &t : self->priv->tracks)
        tracks.push_back(GST_MEDIA_STREAM_TRACK_PAD(gst_object_ref(t.srcpad)));
    }
    for (GstMediaStreamTrackPad *track : tracks) {
      walk_msid(self, track);
      gst_object_unref(track);
    }
    break;
  }
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
}

static void gst_media_stream_bin_get_property(GObject *object, guint prop_id, GValue *value,
                                              GParamSpec *pspec)
{
  GstMediaStreamBin *self = GST_MEDIA_STREAM_BIN(object);
  std::lock_guard<std::mutex> guard(self->priv->lock);
  switch (prop_id) {
  case PROP_ID:
    g_value_set_string(value, self->priv->id.c_str());
    break;
  case PROP_ACTIVE:
    g_value_set_boolean(value, self->priv->active);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
}

static void gst_media_stream_bin_dispose(GObject *object)
{
  GstMediaStreamBin *self = GST_MEDIA_STREAM_BIN(object);
  {
    std::lock_guard<std::mutex> guard(self->priv->lock);
    self->priv->disposing = true;
  }
  G_OBJECT_CLASS(gst_media_stream_bin_parent_class)->dispose(object);
}

static void gst_media_stream_bin_finalize(GObject *object)
{
  GstMediaStreamBin *self = GST_MEDIA_STREAM_BIN(object);
  for (Track &t : self->priv->tracks) {
    set_partner(t.sinkpad, nullptr);
    set_partner(GST_PAD(t.srcpad), nullptr);
    gst_object_unref(t.sinkpad);
    gst_object_unref(t.srcpad);
  }
  gst_clear_object(&self->priv->collection);
  delete self->priv;
  G_OBJECT_CLASS(gst_media_stream_bin_parent_class)->finalize(object);
}

static void gst_media_stream_bin_init(GstMediaStreamBin *self)
{
  self->priv = new GstMediaStreamBinPrivate();
  gchar *uuid = g_uuid_string_random(); /* MS-1 */
  self->priv->id = uuid;
  g_free(uuid);
  self->priv->group_id = gst_util_group_id_next();
  rebuild_collection(self);
}

static void gst_media_stream_bin_class_init(GstMediaStreamBinClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);

  gobject_class->set_property = gst_media_stream_bin_set_property;
  gobject_class->get_property = gst_media_stream_bin_get_property;
  gobject_class->dispose = gst_media_stream_bin_dispose;
  gobject_class->finalize = gst_media_stream_bin_finalize;

  g_object_class_install_property(
      gobject_class, PROP_ID,
      g_param_spec_string("id", "Stream ID",
                          "The MediaStream's id (MS-1): a random RFC 4122 version 4 UUID unless "
                          "set before the pipeline starts (1 to 64 token characters). Used as "
                          "the msid of webrtcbin pads and the collection's upstream-id",
                          nullptr,
                          static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                                   GST_PARAM_MUTABLE_READY)));
  g_object_class_install_property(
      gobject_class, PROP_ACTIVE,
      g_param_spec_boolean("active", "Active", "TRUE while at least one track has not ended (MS-3)",
                           FALSE,
                           static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

  /**
   * GstMediaStreamBin::track-added:
   * @pad: the new track's src pad (a GstMediaStreamTrackPad)
   */
  signals[SIGNAL_TRACK_ADDED] =
      g_signal_new("track-added", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, nullptr, nullptr,
                   nullptr, G_TYPE_NONE, 1, GST_TYPE_MEDIA_STREAM_TRACK_PAD);
  /**
   * GstMediaStreamBin::track-removed:
   * @pad: the removed track's src pad, already out of the bin
   */
  signals[SIGNAL_TRACK_REMOVED] =
      g_signal_new("track-removed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, nullptr,
                   nullptr, nullptr, G_TYPE_NONE, 1, GST_TYPE_MEDIA_STREAM_TRACK_PAD);
  /**
   * GstMediaStreamBin::track-ended:
   * @pad: the track that received EOS (MS-8); emitted from its streaming thread
   */
  signals[SIGNAL_TRACK_ENDED] =
      g_signal_new("track-ended", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, nullptr, nullptr,
                   nullptr, G_TYPE_NONE, 1, GST_TYPE_MEDIA_STREAM_TRACK_PAD);

  gst_element_class_add_static_pad_template(element_class, &video_sink_template);
  gst_element_class_add_static_pad_template(element_class, &audio_sink_template);
  gst_element_class_add_static_pad_template_with_gtype(element_class, &video_src_template,
                                                       GST_TYPE_MEDIA_STREAM_TRACK_PAD);
  gst_element_class_add_static_pad_template_with_gtype(element_class, &audio_src_template,
                                                       GST_TYPE_MEDIA_STREAM_TRACK_PAD);

  gst_element_class_set_static_metadata(
      element_class, "MediaStream", "Generic/Bin",
      "One MediaStream: a pair of pads per track (video_sink_%u -> video_%u, audio_sink_%u -> "
      "audio_%u) with id, enabled, muted, ended, stream collections and WebRTC msid",
      "GStreamer Web Capture");

  element_class->request_new_pad = GST_DEBUG_FUNCPTR(gst_media_stream_bin_request_new_pad);
  element_class->release_pad = GST_DEBUG_FUNCPTR(gst_media_stream_bin_release_pad);
  element_class->change_state = GST_DEBUG_FUNCPTR(gst_media_stream_bin_change_state);

  gst_type_mark_as_plugin_api(GST_TYPE_MEDIA_STREAM_TRACK_PAD, static_cast<GstPluginAPIFlags>(0));
  gst_media_stream_sdp_install_signals(gobject_class);    /* annotate-sdp */
  gst_media_stream_remote_install_signals(gobject_class); /* follow-remote-track */
}
