/* mediastreambin: a MediaStream in a pipeline, one pad pair per track.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   gst-launch-1.0 -e mediastreambin name=ms videotestsrc is-live=true ! ms. \
 *     ms.video_0 ! videoconvert ! vp8enc deadline=1 ! webmmux ! filesink location=s.webm
 *
 * The rules (MS-n) and the decisions cited below are the tables of
 * docs/plugins/mediastreambin.md.
 *
 * Why a bin: a track whose constraints ask for other settings (MS-10
 * applyConstraints) gets conversion child elements of its own (videoscale,
 * videorate, audioresample...: gstmediastreamconversion.h) between its sink
 * pad and its track pad; the bin pushes through
 * gst_media_stream_track_pad_push()/_push_event(), which go into them when
 * present. Without constraints it has no children.
 *
 * Each track is a request sink pad (video_sink_%u / audio_sink_%u) and the
 * GstMediaStreamTrackPad src pad with the same index (video_%u / audio_%u),
 * created together. Buffers go straight from the sink pad's chain function to
 * the track pad: no queue, no thread, no copy. A disabled track (MS-6) sends
 * a black frame or silence prepared once per caps and shared by reference,
 * stamped with the incoming buffer's timestamps and flags.
 *
 * Clones (MS-9, clone-track) are tracks whose sink pad is internal, fed by a
 * feed pad of their source's sink pad: the source pushes each buffer and
 * event to its clones' feed pads first (a tee made of pads; one atomic load
 * per buffer while there is none), then goes on with its own track.
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
 * stream id; bins on the path are entered and left through their ghost
 * pads. The walk runs when the track pad is linked, at each caps event, and
 * when any unlinked src pad met on the path gets linked later (a ghost pad's
 * target set later links its internal pad).
 *
 * Threads and locks: the bin's `lock` guards the track set, the id, the
 * collection and `active`; it may be held while taking a track pad's lock,
 * never the other way round. Nothing is pushed, emitted or posted with a lock
 * held. The bin's streaming state of a track (its Track record) is touched
 * only by that track's streaming thread, under the sink pad's stream lock; a
 * state change never writes it, it only counts runs (see Track).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstmediastreambin.h"

#include <gst/audio/audio.h>
#include <gst/video/video.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <set>
#include <string>
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
  SIGNAL_CLONE_TRACK,
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

/* MS-9: a clone's feed pad in its source's record. */
struct CloneFeed {
  GstPad *pad;         /* ref */
  bool synced = false; /* (stream) it got the sink pad's sticky events */
};

/* What one run of a track has sent (a state change to READY starts a new
 * run: the streaming thread replaces the record when it sees the new count). */
struct TrackRun {
  explicit TrackRun(guint r) : run(r) {}
  ~TrackRun() { gst_clear_buffer(&blank); }
  TrackRun(const TrackRun &) = delete;
  TrackRun &operator=(const TrackRun &) = delete;

  guint run;                   /* the run this state belongs to */
  bool stream_started = false; /* our STREAM_START went out */
  guint collection_cookie = 0; /* of the last collection pushed */
  GstBuffer *blank = nullptr;  /* black frame / silence for the caps (MS-6) */
  bool stop_eos_sent = false;  /* MS-8: the EOS of stop() went out */
};

/* The bin's record of one track: its pad pair and the streaming state the
 * bin keeps for it. The sink pad's element_private points here (the track
 * pad's points at the sink pad); both are cleared before the record goes.
 *
 * The fields marked (stream) belong to the sink pad's streaming thread: chain
 * and serialized events run under its stream lock, and release deactivates
 * the pad (which waits for that lock) before deleting the record. A state
 * change does not write them: it counts runs (priv->run), and the streaming
 * thread starts its new run itself when it sees a new count. */
struct Track {
  Track(GstPad *sink, GstMediaStreamTrackPad *src)
      : sinkpad(GST_PAD(gst_object_ref_sink(sink))),
        srcpad(GST_MEDIA_STREAM_TRACK_PAD(gst_object_ref_sink(src)))
  {
    gst_video_info_init(&vinfo);
    gst_audio_info_init(&ainfo);
  }
  ~Track()
  {
    for (const CloneFeed &f : feeds)
      gst_object_unref(f.pad);
    gst_clear_object(&source);
    gst_clear_object(&feed);
    gst_object_unref(sinkpad);
    gst_object_unref(srcpad);
  }
  Track(const Track &) = delete;
  Track &operator=(const Track &) = delete;

  /* A new run: STREAM_START, collection and blank media again, from a
   * fresh record. (stream) */
  void start_run(guint new_run) { now = std::make_unique<TrackRun>(new_run); }

  GstPad *sinkpad;                /* ref */
  GstMediaStreamTrackPad *srcpad; /* ref */

  std::unique_ptr<TrackRun> now{new TrackRun(0)}; /* (stream) this run's */
  bool have_info = false;                         /* (stream) vinfo / ainfo from the caps */
  bool system_memory = true;                      /* (stream) caps in system memory */
  GstVideoInfo vinfo;                             /* (stream) */
  GstAudioInfo ainfo;                             /* (stream) */
  bool blank_failed = false;                      /* (stream) no black frame in this format */

  /* MS-9 clones. A source track (one with a request sink pad) feeds each
   * clone through a feed pad linked to the clone's internal sink pad: a tee
   * made of pads, so GStreamer itself carries the sticky events, flushes and
   * EOS to the clone, which then runs this same code as its own track. */
  std::mutex feeds_lock;
  std::vector<CloneFeed> feeds;     /* (feeds_lock) the source's, refs */
  std::atomic<bool> feeding{false}; /* feeds is not empty: read on every buffer */
  GstPad *source = nullptr;         /* a clone's: the source's sink pad (ref) */
  GstPad *feed = nullptr;           /* a clone's: its feed pad (ref) */
};

} // namespace

struct GstMediaStreamBinPrivate {
  ~GstMediaStreamBinPrivate()
  {
    gst_clear_object(&collection);
    for (GstStreamCollection *c : retired_collections)
      gst_object_unref(c);
  }

  std::mutex lock;

  /* Settings. */
  std::string id; /* (lock) MS-1 */

  /* The track set. */
  std::vector<std::unique_ptr<Track>> tracks; /* (lock) */
  std::set<guint> video_indices;              /* (lock) in use, pads included */
  std::set<guint> audio_indices;              /* (lock) */
  guint group_id = 0;                         /* fixed: one group for every track */
  GstStreamCollection *collection = nullptr;  /* (lock) MS-2 */
  std::atomic<guint> collection_cookie{0};    /* counts collections */
  /* (lock) The collections replaced while streaming, kept until PAUSED->READY. A
   * GstStreamCollection forwards its streams' notify (stream-notify) and disconnects
   * from them when disposed; in GStreamer 1.22 a collection disposed on one thread
   * (the last ref of a bus message or a replaced sticky event) while a track's
   * streaming thread sets its stream's tags (the title) crashed in that forwarding
   * (seen once in about a thousand starts of a three-track stream). None of ours is
   * disposed while streams are being tagged. */
  std::vector<GstStreamCollection *> retired_collections;
  bool streaming = false; /* (lock) READY->PAUSED until PAUSED->READY */

  /* Run state. */
  std::atomic<guint> run{0}; /* counts runs: each return to READY starts one */
  bool active = false;       /* (lock) MS-3 */
  bool disposing = false;    /* (lock) */
};

struct _GstMediaStreamBin {
  GstBin parent;
  GstMediaStreamBinPrivate *priv;
};

G_DEFINE_TYPE(GstMediaStreamBin, gst_media_stream_bin, GST_TYPE_BIN);
GST_ELEMENT_REGISTER_DEFINE(mediastreambin, "mediastreambin", GST_RANK_NONE,
                            GST_TYPE_MEDIA_STREAM_BIN)

/* The pads of a track point at each other's side: the sink pad at the
 * Track record, the track pad at the sink pad (the track pad reads it for its
 * default label). Set and cleared under the pad's object lock. */
static void set_element_private(GstPad *pad, gpointer data)
{
  GST_OBJECT_LOCK(pad);
  pad->element_private = data;
  GST_OBJECT_UNLOCK(pad);
}

/* The Track record of @sinkpad and a reference to its track pad, or NULL once
 * the track was released. The record itself may only be used by the sink
 * pad's streaming thread (see Track). */
static Track *track_of(GstPad *sinkpad, GstPad **srcpad)
{
  GST_OBJECT_LOCK(sinkpad);
  auto *track = static_cast<Track *>(sinkpad->element_private);
  *srcpad = track ? GST_PAD(gst_object_ref(track->srcpad)) : nullptr;
  GST_OBJECT_UNLOCK(sinkpad);
  return track;
}

/* The sink pad of a track pad, or NULL once the track was released. */
static GstPad *dup_sinkpad(GstPad *srcpad)
{
  return static_cast<GstPad *>(gst_media_stream_pad_dup_private(srcpad));
}

/* --- stream collection, active, messages ------------------------------------ */

/* MS-2: a new collection of the tracks' streams. */
static void rebuild_collection_locked(GstMediaStreamBin *self)
{
  GstMediaStreamBinPrivate *priv = self->priv;
  GstStreamCollection *collection = gst_stream_collection_new(priv->id.c_str());
  for (const auto &t : priv->tracks)
    gst_stream_collection_add_stream(collection, gst_media_stream_track_pad_dup_stream(t->srcpad));
  if (priv->streaming && priv->collection)
    priv->retired_collections.push_back(GST_STREAM_COLLECTION(gst_object_ref(priv->collection)));
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
    rebuild_collection_locked(self);
  }
  post_collection(self);
}

/* MS-3: active while at least one track has not ended. */
static bool compute_active_locked(GstMediaStreamBin *self)
{
  for (const auto &t : self->priv->tracks) {
    if (!gst_media_stream_track_pad_is_ended(t->srcpad))
      return true;
  }
  return false;
}

static void update_active(GstMediaStreamBin *self)
{
  bool changed;
  {
    std::lock_guard<std::mutex> guard(self->priv->lock);
    bool active = compute_active_locked(self);
    changed = active != self->priv->active;
    self->priv->active = active;
  }
  if (changed)
    g_object_notify(G_OBJECT(self), "active");
}

static void post_track_message(GstMediaStreamBin *self, GstMediaStreamTrackPad *track,
                               const gchar *event)
{
  std::string id;
  {
    std::lock_guard<std::mutex> guard(self->priv->lock);
    id = self->priv->id;
  }
  std::string track_id = gst_media_stream_track_pad_get_track_id(track);
  GstStructure *s = gst_structure_new(
      "mediastream-track", "event", G_TYPE_STRING, event, "stream-id", G_TYPE_STRING, id.c_str(),
      "track-id", G_TYPE_STRING, track_id.c_str(), "kind", G_TYPE_STRING,
      gst_media_stream_track_kind_name(gst_media_stream_track_pad_get_kind(track)), "pad",
      GST_TYPE_PAD, track, NULL);
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
}

/* Streaming thread of the track: push the current collection if this track
 * has not carried it yet (only after STREAM_START). */
static void push_collection_if_stale(GstMediaStreamBin *self, Track *track)
{
  if (!track->now->stream_started ||
      track->now->collection_cookie == self->priv->collection_cookie.load())
    return;
  GstStreamCollection *collection = nullptr;
  guint cookie;
  {
    std::lock_guard<std::mutex> guard(self->priv->lock);
    cookie = self->priv->collection_cookie.load();
    if (self->priv->collection)
      collection = GST_STREAM_COLLECTION(gst_object_ref(self->priv->collection));
  }
  track->now->collection_cookie = cookie;
  if (collection)
    gst_media_stream_track_pad_push_event(track->srcpad,
                                          gst_event_new_stream_collection(collection));
  gst_clear_object(&collection);
}

/* --- msid (MS-11) ----------------------------------------------------------- */

static void walk_msid(GstMediaStreamBin *self, GstMediaStreamTrackPad *track);

/* A pad on the track's path (the track pad itself included) got linked, or
 * an element on it got a src pad: walk again. @user_data: the track pad. */
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
    g_autofree gchar *current = nullptr;
    g_object_get(peer, "msid", &current, NULL);
    if (g_strcmp0(current, id.c_str()) != 0) {
      GST_INFO_OBJECT(track, "msid of %" GST_PTR_FORMAT " := %s", peer, id.c_str());
      g_object_set(peer, "msid", id.c_str(), NULL);
    }
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

/* --- data path -------------------------------------------------------------- */

/* The sink pad's streaming thread, before anything else: a new run (the
 * element went back to READY since this track last streamed) starts with
 * fresh streaming state. */
static void sync_run(GstMediaStreamBin *self, Track *track)
{
  guint run = self->priv->run.load();
  if (G_UNLIKELY(track->now->run != run))
    track->start_run(run);
}

/* MS-6: the zero-information buffer standing for @in, or NULL when none can
 * be made (video in non-system memory, or a format with no packer). */
static GstBuffer *make_blank(Track *track, GstBuffer *in)
{
  if (!track->have_info || !track->system_memory || track->blank_failed)
    return nullptr;

  GstBuffer *out;
  if (gst_media_stream_track_pad_get_kind(track->srcpad) == TrackKind::VIDEO) {
    if (!track->now->blank) {
      track->now->blank = gst_media_stream_make_black_frame(&track->vinfo);
      if (!track->now->blank) {
        track->blank_failed = true;
        GST_WARNING_OBJECT(track->srcpad, "cannot make black frames for %s",
                           GST_VIDEO_INFO_NAME(&track->vinfo));
        return nullptr;
      }
    }
    /* Shares the black frame's memory: no copy per buffer. */
    out = gst_buffer_new();
    gst_buffer_copy_into(out, track->now->blank, GST_BUFFER_COPY_MEMORY, 0, -1);
    gst_buffer_copy_into(
        out, in,
        static_cast<GstBufferCopyFlags>(GST_BUFFER_COPY_FLAGS | GST_BUFFER_COPY_TIMESTAMPS), 0, -1);
  } else {
    gsize size = gst_buffer_get_size(in);
    if (!track->now->blank || gst_buffer_get_size(track->now->blank) < size) {
      gst_clear_buffer(&track->now->blank);
      const gsize bpf = GST_AUDIO_INFO_BPF(&track->ainfo);
      track->now->blank = gst_webcapture_silence_buffer_new(&track->ainfo, (size + bpf - 1) / bpf);
      if (!track->now->blank)
        return nullptr;
    }
    out = gst_buffer_copy_region(track->now->blank, GST_BUFFER_COPY_MEMORY, 0, size);
    /* Metas too: a planar layout's GstAudioMeta describes the silence as well. */
    gst_buffer_copy_into(out, in,
                         static_cast<GstBufferCopyFlags>(GST_BUFFER_COPY_FLAGS |
                                                         GST_BUFFER_COPY_TIMESTAMPS |
                                                         GST_BUFFER_COPY_META),
                         0, -1);
  }
  return out;
}

/* MS-8 stop(), on the track's streaming thread (or with its stream lock
 * held): EOS once, after what already went out; nothing before STREAM_START
 * (the next data sends it then). */
static void send_stop_eos(Track *track)
{
  if (!gst_media_stream_track_pad_is_stopped(track->srcpad) || track->now->stop_eos_sent ||
      !track->now->stream_started)
    return;
  track->now->stop_eos_sent = true;
  GST_INFO_OBJECT(track->srcpad, "stopped: EOS");
  gst_media_stream_track_pad_push_event(track->srcpad, gst_event_new_eos());
}

/* MS-9, the fan-out to clones: a source track pushes each buffer and event
 * to its clones' feed pads (a reference each) before its own rules. */

/* The feed pads of the source track of @sinkpad, referenced, from any thread
 * (the sink pad's object lock keeps the record while it is read). */
static std::vector<GstPad *> dup_feeds_of(GstPad *sinkpad)
{
  std::vector<GstPad *> feeds;
  GST_OBJECT_LOCK(sinkpad);
  auto *track = static_cast<Track *>(sinkpad->element_private);
  if (track) {
    std::lock_guard<std::mutex> guard(track->feeds_lock);
    for (const CloneFeed &f : track->feeds)
      feeds.push_back(GST_PAD(gst_object_ref(f.pad)));
  }
  GST_OBJECT_UNLOCK(sinkpad);
  return feeds;
}

static gboolean collect_sticky(GstPad *, GstEvent **event, gpointer user_data)
{
  static_cast<std::vector<GstEvent *> *>(user_data)->push_back(gst_event_ref(*event));
  return TRUE;
}

/* The source's stream lock held: the feed pads, referenced; a feed that has
 * not had the sink pad's sticky events yet gets them first, so a clone made
 * while the source streams starts with STREAM_START, caps, segment, tags and
 * track state (and EOS if the source ended) before anything else. */
static std::vector<GstPad *> sync_feeds_locked(Track *track)
{
  std::vector<GstPad *> feeds, fresh;
  {
    std::lock_guard<std::mutex> guard(track->feeds_lock);
    for (CloneFeed &f : track->feeds) {
      feeds.push_back(GST_PAD(gst_object_ref(f.pad)));
      if (!f.synced) {
        f.synced = true;
        fresh.push_back(f.pad);
      }
    }
  }
  if (fresh.empty())
    return feeds;
  std::vector<GstEvent *> sticky;
  gst_pad_sticky_events_foreach(track->sinkpad, collect_sticky, &sticky);
  for (GstPad *feed : fresh) {
    for (GstEvent *event : sticky)
      gst_pad_push_event(feed, gst_event_ref(event));
  }
  for (GstEvent *event : sticky)
    gst_event_unref(event);
  return feeds;
}

static GstFlowReturn feed_clones(Track *track, GstBuffer *buffer)
{
  GstFlowReturn ret = GST_FLOW_OK;
  for (GstPad *feed : sync_feeds_locked(track)) {
    GstFlowReturn r = gst_pad_push(feed, gst_buffer_ref(buffer));
    /* A clone's own end (stopped, EOS, not linked) stops nothing; its
     * consumer's error (not-negotiated) stops the source, as with a tee. */
    if (r < GST_FLOW_EOS && ret == GST_FLOW_OK)
      ret = r;
    gst_object_unref(feed);
  }
  return ret;
}

/* Events to the clones: serialized ones on the streaming thread (fresh feeds
 * synced first), FLUSH_START and other non-serialized ones from any thread. */
static void feed_clones_event(GstPad *sinkpad, Track *track, GstEvent *event)
{
  std::vector<GstPad *> feeds =
      GST_EVENT_IS_SERIALIZED(event) ? sync_feeds_locked(track) : dup_feeds_of(sinkpad);
  for (GstPad *feed : feeds) {
    gst_pad_push_event(feed, gst_event_ref(event));
    gst_object_unref(feed);
  }
}

/* MS-9: the caps asked of a source's sink pad are those its track's consumer
 * and every clone's accept (a tee's rule), so upstream picks a format all of
 * them take; an unlinked clone accepts anything. */
static gboolean sink_query(GstPad *pad, GstObject *parent, GstQuery *query)
{
  gboolean ret = gst_pad_query_default(pad, parent, query);
  const GstQueryType type = GST_QUERY_TYPE(query);
  if (!ret || (type != GST_QUERY_CAPS && type != GST_QUERY_ACCEPT_CAPS))
    return ret;
  std::vector<GstPad *> feeds = dup_feeds_of(pad);
  if (feeds.empty())
    return ret;
  if (type == GST_QUERY_CAPS) {
    GstCaps *filter = nullptr, *result = nullptr;
    gst_query_parse_caps(query, &filter);
    gst_query_parse_caps_result(query, &result);
    result = result ? gst_caps_ref(result) : gst_caps_new_any();
    for (GstPad *feed : feeds) {
      GstQuery *q = gst_query_new_caps(filter);
      GstCaps *caps = nullptr;
      if (gst_pad_peer_query(feed, q)) {
        gst_query_parse_caps_result(q, &caps);
        if (caps) {
          GstCaps *both = gst_caps_intersect_full(result, caps, GST_CAPS_INTERSECT_FIRST);
          gst_caps_unref(result);
          result = both;
        }
      }
      gst_query_unref(q);
    }
    gst_query_set_caps_result(query, result);
    gst_caps_unref(result);
  } else {
    GstCaps *caps = nullptr;
    gboolean accepted = FALSE;
    gst_query_parse_accept_caps(query, &caps);
    gst_query_parse_accept_caps_result(query, &accepted);
    for (GstPad *feed : feeds) {
      GstQuery *q = gst_query_new_accept_caps(caps);
      gboolean ok = TRUE;
      if (gst_pad_peer_query(feed, q))
        gst_query_parse_accept_caps_result(q, &ok);
      accepted = accepted && ok;
      gst_query_unref(q);
    }
    gst_query_set_accept_caps_result(query, accepted);
  }
  for (GstPad *feed : feeds)
    gst_object_unref(feed);
  return ret;
}

/* MS-9: a clone's queries and upstream events (latency, caps, reconfigure,
 * seeks) reach its source's upstream through its feed pad, whose
 * element_private is the source's sink pad (dup_sinkpad reads it). */
static gboolean feed_query(GstPad *feed, GstObject *, GstQuery *query)
{
  GstPad *source = dup_sinkpad(feed);
  if (!source)
    return FALSE;
  gboolean ret = gst_pad_peer_query(source, query);
  gst_object_unref(source);
  return ret;
}

static gboolean feed_event(GstPad *feed, GstObject *, GstEvent *event)
{
  GstPad *source = dup_sinkpad(feed);
  if (!source) {
    gst_event_unref(event);
    return FALSE;
  }
  gboolean ret = gst_pad_push_event(source, event);
  gst_object_unref(source);
  return ret;
}

static GstFlowReturn sink_chain(GstPad *pad, GstObject *parent, GstBuffer *buffer)
{
  GstMediaStreamBin *self = GST_MEDIA_STREAM_BIN(parent);
  GstPad *srcpad;
  Track *track = track_of(pad, &srcpad);
  if (!track) {
    gst_buffer_unref(buffer);
    return GST_FLOW_FLUSHING;
  }
  sync_run(self, track);
  /* MS-9: the clones first, whatever this track does with the buffer. */
  GstFlowReturn clones_ret = GST_FLOW_OK;
  if (G_UNLIKELY(track->feeding.load(std::memory_order_relaxed)))
    clones_ret = feed_clones(track, buffer);
  if (G_UNLIKELY(gst_media_stream_track_pad_is_stopped(track->srcpad))) {
    /* MS-8: a stopped track drops its data with GST_FLOW_OK, not EOS: a
     * source (or tee, demuxer) feeding other tracks too must not stop. */
    send_stop_eos(track);
    gst_buffer_unref(buffer);
    gst_object_unref(srcpad);
    return clones_ret;
  }
  push_collection_if_stale(self, track);

  GstFlowReturn ret;
  if (G_LIKELY(gst_media_stream_track_pad_is_enabled(track->srcpad))) {
    ret = gst_media_stream_track_pad_push(track->srcpad, buffer);
  } else {
    GstBuffer *blank = make_blank(track, buffer);
    if (blank) {
      gst_buffer_unref(buffer);
      ret = gst_media_stream_track_pad_push(track->srcpad, blank);
    } else {
      /* No black frame possible in this memory: say "nothing here" in time. */
      GstClockTime pts = GST_BUFFER_PTS(buffer);
      GstClockTime duration = GST_BUFFER_DURATION(buffer);
      gst_buffer_unref(buffer);
      if (GST_CLOCK_TIME_IS_VALID(pts))
        gst_media_stream_track_pad_push_event(track->srcpad, gst_event_new_gap(pts, duration));
      ret = GST_FLOW_OK;
    }
  }
  /* A track nobody consumes yet must not stop its source. */
  if (ret == GST_FLOW_NOT_LINKED)
    ret = GST_FLOW_OK;
  if (ret == GST_FLOW_OK)
    ret = clones_ret;
  gst_object_unref(srcpad);
  return ret;
}

/* Sink pad events, one function each; each takes @event. */

/* stream-id = track id; the track's GstStream; one group for the stream. */
static gboolean sink_stream_start(GstMediaStreamBin *self, Track *track, GstEvent *event)
{
  GstStreamFlags flags = GST_STREAM_FLAG_NONE;
  gst_event_parse_stream_flags(event, &flags);
  gst_event_unref(event);
  std::string track_id = gst_media_stream_track_pad_get_track_id(track->srcpad);
  GstStream *stream = gst_media_stream_track_pad_dup_stream(track->srcpad);
  GstEvent *start = gst_event_new_stream_start(track_id.c_str());
  gst_event_set_stream_flags(start, flags);
  gst_event_set_group_id(start, self->priv->group_id);
  gst_event_set_stream(start, stream);
  gst_object_unref(stream);
  gst_media_stream_track_pad_update_stream_title(track->srcpad); /* default label included */
  track->now->stream_started = true;
  track->now->collection_cookie = 0;
  gboolean ret = gst_media_stream_track_pad_push_event(track->srcpad, start);
  push_collection_if_stale(self, track);
  return ret;
}

/* MS-6 prepares its blank media for these caps; MS-10 settings; MS-11. */
static gboolean sink_caps(GstMediaStreamBin *self, Track *track, GstEvent *event)
{
  GstCaps *caps = nullptr;
  gst_event_parse_caps(event, &caps);
  GstCapsFeatures *features = gst_caps_get_features(caps, 0);
  track->system_memory =
      !features || gst_caps_features_is_equal(features, GST_CAPS_FEATURES_MEMORY_SYSTEM_MEMORY);
  if (gst_media_stream_track_pad_get_kind(track->srcpad) == TrackKind::VIDEO)
    track->have_info = gst_video_info_from_caps(&track->vinfo, caps);
  else
    track->have_info = gst_audio_info_from_caps(&track->ainfo, caps);
  gst_clear_buffer(&track->now->blank); /* black / silence prepared again for these caps */
  track->blank_failed = false;
  push_collection_if_stale(self, track);
  /* settings follow the caps the track pad sends (those of its conversion, if any) */
  gboolean ret = gst_media_stream_track_pad_push_event(track->srcpad, event);
  walk_msid(self, track->srcpad);
  return ret;
}

/* MS-5: the upstream title tag is the default label. */
static gboolean sink_tag(GstMediaStreamBin *self, Track *track, GstEvent *event)
{
  GstTagList *tags = nullptr;
  gst_event_parse_tag(event, &tags);
  g_autofree gchar *title = nullptr;
  gst_tag_list_get_string(tags, GST_TAG_TITLE, &title);
  push_collection_if_stale(self, track);
  gboolean ret = gst_media_stream_track_pad_push_event(track->srcpad, event);
  gst_media_stream_track_pad_set_upstream_label(track->srcpad, title);
  return ret;
}

/* MS-7: muted follows the source's track-state event (and its label, MS-5). */
static gboolean sink_track_state(GstMediaStreamBin *self, Track *track, GstEvent *event,
                                 gboolean muted, const gchar *label)
{
  push_collection_if_stale(self, track);
  gboolean ret = gst_media_stream_track_pad_push_event(track->srcpad, event);
  gst_media_stream_track_pad_set_upstream_label(track->srcpad, label);
  if (gst_media_stream_track_pad_set_muted(track->srcpad, muted))
    post_track_message(self, track->srcpad, muted ? "mute" : "unmute");
  return ret;
}

/* MS-8: the track ends; track-ended, then MS-3. Told before EOS goes on, so
 * the application hears it before the pipeline's EOS. */
static gboolean sink_eos(GstMediaStreamBin *self, Track *track, GstEvent *event)
{
  if (gst_media_stream_track_pad_set_ended(track->srcpad, true)) {
    g_signal_emit(self, signals[SIGNAL_TRACK_ENDED], 0, track->srcpad);
    post_track_message(self, track->srcpad, "ended");
    update_active(self);
  }
  push_collection_if_stale(self, track);
  return gst_media_stream_track_pad_push_event(track->srcpad, event);
}

/* MS-8, "Ended and restart": a flush after EOS (a flushing seek, GStreamer's
 * way to play again) starts the track again: live, and the stream active. */
static gboolean sink_flush_stop(GstMediaStreamBin *self, Track *track, GstEvent *event)
{
  gboolean ret = gst_media_stream_track_pad_push_event(track->srcpad, event);
  /* A stopped track stays ended (set_ended refuses) and sends EOS again
   * with its next data: the flush took the first one away downstream. */
  track->now->stop_eos_sent = false;
  if (gst_media_stream_track_pad_set_ended(track->srcpad, false))
    update_active(self);
  return ret;
}

static gboolean sink_event(GstPad *pad, GstObject *parent, GstEvent *event)
{
  GstMediaStreamBin *self = GST_MEDIA_STREAM_BIN(parent);
  GstPad *srcpad;
  Track *track = track_of(pad, &srcpad);
  if (!track) {
    gst_event_unref(event);
    return FALSE;
  }
  /* MS-9: every event reaches the clones too, before this track's rules. */
  if (G_UNLIKELY(track->feeding.load(std::memory_order_relaxed)))
    feed_clones_event(pad, track, event);
  if (!GST_EVENT_IS_SERIALIZED(event)) {
    /* Not on the streaming thread (FLUSH_START): the record is not ours. */
    gboolean ret = gst_media_stream_track_pad_push_event(track->srcpad, event);
    gst_object_unref(srcpad);
    return ret;
  }

  sync_run(self, track);
  if (G_UNLIKELY(track->now->stop_eos_sent && GST_EVENT_TYPE(event) != GST_EVENT_FLUSH_STOP)) {
    /* MS-8: after stop()'s EOS nothing more goes out (the track pad would
     * refuse it, and a refused CAPS would fail upstream). */
    GST_DEBUG_OBJECT(srcpad, "stopped: dropping %" GST_PTR_FORMAT, event);
    gst_event_unref(event);
    gst_object_unref(srcpad);
    return TRUE;
  }
  gboolean ret = TRUE;
  gboolean muted = FALSE;
  g_autofree gchar *label = nullptr;
  switch (GST_EVENT_TYPE(event)) {
  case GST_EVENT_STREAM_START:
    ret = sink_stream_start(self, track, event);
    break;
  case GST_EVENT_CAPS:
    ret = sink_caps(self, track, event);
    break;
  case GST_EVENT_TAG:
    ret = sink_tag(self, track, event);
    break;
  case GST_EVENT_STREAM_COLLECTION:
    /* Upstream's own collection (a source's tracks) is replaced by the
     * stream's: downstream sees one collection, ours (MS-2). */
    GST_DEBUG_OBJECT(srcpad, "dropping upstream %" GST_PTR_FORMAT, event);
    gst_event_unref(event);
    break;
  case GST_EVENT_EOS:
    /* A stopped track ended already: no track-ended, no message (MS-8). */
    track->now->stop_eos_sent = gst_media_stream_track_pad_is_stopped(track->srcpad);
    ret = sink_eos(self, track, event);
    break;
  case GST_EVENT_FLUSH_STOP:
    ret = sink_flush_stop(self, track, event);
    break;
  case GST_EVENT_CUSTOM_DOWNSTREAM_STICKY:
    if (gst_media_stream_track_state_event_parse(event, &muted, &label)) {
      ret = sink_track_state(self, track, event, muted, label);
      break;
    }
    /* fall through */
  default:
    push_collection_if_stale(self, track);
    ret = gst_media_stream_track_pad_push_event(track->srcpad, event);
    break;
  }
  gst_object_unref(srcpad);
  return ret;
}

/* The other pad of the pair (none once the track was released), or the
 * conversion's internal pad on this side when the track has one (MS-10). */
static GstIterator *iterate_partner(GstPad *pad, GstObject *parent)
{
  GstPad *other;
  if (GST_PAD_IS_SINK(pad)) {
    track_of(pad, &other);
    if (other) {
      GstPad *entry =
          gst_media_stream_track_pad_dup_internal(GST_MEDIA_STREAM_TRACK_PAD(other), GST_PAD_SRC);
      if (entry) {
        gst_object_unref(other);
        other = entry;
      }
    }
  } else {
    other = gst_media_stream_track_pad_dup_internal(GST_MEDIA_STREAM_TRACK_PAD(pad), GST_PAD_SINK);
    if (!other)
      other = dup_sinkpad(pad);
  }
  return gst_media_stream_single_pad_iterator(other);
}

/* --- request / release ------------------------------------------------------ */

/* Reserve: the index of the requested pad (@name's, else the lowest free),
 * marked used; FALSE when that index is taken. */
static bool reserve_index(GstMediaStreamBin *self, TrackKind kind, const gchar *name, guint *index)
{
  const gchar *sink_format = kind == TrackKind::VIDEO ? "video_sink_%u" : "audio_sink_%u";
  std::lock_guard<std::mutex> guard(self->priv->lock);
  std::set<guint> &used =
      kind == TrackKind::VIDEO ? self->priv->video_indices : self->priv->audio_indices;
  *index = 0;
  if (name && sscanf(name, sink_format, index) == 1) {
    if (used.count(*index)) {
      GST_WARNING_OBJECT(self, "pad %s already exists", name);
      return false;
    }
  } else {
    while (used.count(*index))
      (*index)++;
  }
  used.insert(*index);
  return true;
}

static void release_index(GstMediaStreamBin *self, TrackKind kind, guint index)
{
  std::lock_guard<std::mutex> guard(self->priv->lock);
  (kind == TrackKind::VIDEO ? self->priv->video_indices : self->priv->audio_indices).erase(index);
}

/* MS-8 stop(), from the application's thread: the EOS goes out on the
 * track's stream lock (after the buffer being pushed, if any), taken on one
 * of GStreamer's pool threads so that the caller never waits for the data
 * flow (a sink prerolling in PAUSED holds it). A track with no data flowing
 * (inactive, or not started) sends it with its next data. */
static void push_stop_eos(GstElement *element, gpointer user_data)
{
  GstMediaStreamBin *self = GST_MEDIA_STREAM_BIN(element);
  GstPad *sinkpad = GST_PAD(user_data);
  GST_PAD_STREAM_LOCK(sinkpad);
  GST_OBJECT_LOCK(sinkpad);
  const bool flushing = GST_PAD_IS_FLUSHING(sinkpad);
  GST_OBJECT_UNLOCK(sinkpad);
  GstPad *srcpad = nullptr;
  Track *track = flushing ? nullptr : track_of(sinkpad, &srcpad);
  if (track) {
    sync_run(self, track);
    send_stop_eos(track);
    gst_object_unref(srcpad);
  }
  GST_PAD_STREAM_UNLOCK(sinkpad);
}

/* MS-8: after the track pad's own handler (ready-state ended): MS-3 and the
 * EOS; no track-ended signal and no ended message for the application's stop. */
static void on_track_stop(GstMediaStreamTrackPad *srcpad, GstMediaStreamBin *self)
{
  update_active(self);
  GstPad *sinkpad = dup_sinkpad(GST_PAD(srcpad));
  if (sinkpad)
    gst_element_call_async(GST_ELEMENT(self), push_stop_eos, sinkpad, gst_object_unref);
}

/* Build: the pad pair of a new track, wired to each other and to the bin. */
static std::unique_ptr<Track> build_track(GstMediaStreamBin *self, GstPadTemplate *sink_templ,
                                          TrackKind kind, guint index)
{
  GstElementClass *klass = GST_ELEMENT_GET_CLASS(self);
  const bool video = kind == TrackKind::VIDEO;
  g_autofree gchar *sink_name = g_strdup_printf(video ? "video_sink_%u" : "audio_sink_%u", index);
  g_autofree gchar *src_name = g_strdup_printf(video ? "video_%u" : "audio_%u", index);
  GstMediaStreamTrackPad *srcpad = gst_media_stream_track_pad_new(
      gst_element_class_get_pad_template(klass, video ? "video_%u" : "audio_%u"), src_name, kind,
      index);
  GstPad *sinkpad = gst_pad_new_from_template(sink_templ, sink_name);
  auto track = std::make_unique<Track>(sinkpad, srcpad);

  gst_pad_set_chain_function(sinkpad, GST_DEBUG_FUNCPTR(sink_chain));
  gst_pad_set_event_function(sinkpad, GST_DEBUG_FUNCPTR(sink_event));
  gst_pad_set_query_function(sinkpad, GST_DEBUG_FUNCPTR(sink_query));
  gst_pad_set_iterate_internal_links_function(sinkpad, GST_DEBUG_FUNCPTR(iterate_partner));
  gst_pad_set_iterate_internal_links_function(GST_PAD(srcpad), GST_DEBUG_FUNCPTR(iterate_partner));
  GST_PAD_SET_PROXY_CAPS(sinkpad);
  GST_PAD_SET_PROXY_ALLOCATION(sinkpad);
  GST_PAD_SET_PROXY_CAPS(GST_PAD(srcpad));
  set_element_private(sinkpad, track.get());
  set_element_private(GST_PAD(srcpad), sinkpad);
  g_signal_connect(srcpad, "linked", G_CALLBACK(on_path_linked), srcpad);
  g_signal_connect_object(srcpad, "notify::track-id", G_CALLBACK(on_track_id_changed), self,
                          static_cast<GConnectFlags>(0));
  g_signal_connect_object(srcpad, "stop", G_CALLBACK(on_track_stop), self,
                          static_cast<GConnectFlags>(0));
  return track;
}

/* Cuts a track's pads from each other and from its record, which may go. */
static void unwire_track(Track *track)
{
  set_element_private(track->sinkpad, nullptr);
  set_element_private(GST_PAD(track->srcpad), nullptr);
}

/* Removes @track from the track set; the removed record, or NULL. */
static std::unique_ptr<Track> take_track_locked(GstMediaStreamBin *self, GstPad *pad)
{
  auto &tracks = self->priv->tracks;
  auto it = std::find_if(tracks.begin(), tracks.end(), [pad](const std::unique_ptr<Track> &t) {
    return t->sinkpad == pad || GST_PAD(t->srcpad) == pad;
  });
  if (it == tracks.end())
    return nullptr;
  std::unique_ptr<Track> track = std::move(*it);
  tracks.erase(it);
  rebuild_collection_locked(self);
  return track;
}

/* Register: into the track set (a new collection, MS-3 active), then the
 * pads into the element. FALSE (and nothing registered) when a pad cannot be
 * added, which happens only if the application added a pad of that name. */
static bool register_track(GstMediaStreamBin *self, std::unique_ptr<Track> owned,
                           bool *active_changed)
{
  GstMediaStreamBinPrivate *priv = self->priv;
  Track *track = owned.get();
  {
    std::lock_guard<std::mutex> guard(priv->lock);
    priv->tracks.push_back(std::move(owned));
    rebuild_collection_locked(self);
    *active_changed = !priv->active;
    priv->active = true;
  }

  /* The track pad first: gst-launch's delayed links (ms.video_0 ! ...) and
   * pad-added handlers see it before the sink pad is returned. */
  GstElement *element = GST_ELEMENT(self);
  bool src_added = gst_element_add_pad(element, GST_PAD(track->srcpad));
  /* A clone's sink pad is internal (MS-9): only its track pad is the element's. */
  if (src_added && (track->source || gst_element_add_pad(element, track->sinkpad)))
    return true;

  /* Undo. */
  GST_WARNING_OBJECT(self, "cannot add the pads of track %s", GST_PAD_NAME(track->srcpad));
  if (src_added)
    gst_element_remove_pad(element, GST_PAD(track->srcpad));
  std::unique_ptr<Track> undone;
  {
    std::lock_guard<std::mutex> guard(priv->lock);
    undone = take_track_locked(self, track->sinkpad);
    priv->active = compute_active_locked(self);
  }
  unwire_track(track);
  return false;
}

static GstPad *gst_media_stream_bin_request_new_pad(GstElement *element, GstPadTemplate *templ,
                                                    const gchar *name, const GstCaps *caps)
{
  GstMediaStreamBin *self = GST_MEDIA_STREAM_BIN(element);
  GstElementClass *klass = GST_ELEMENT_GET_CLASS(element);

  TrackKind kind;
  if (templ == gst_element_class_get_pad_template(klass, "video_sink_%u"))
    kind = TrackKind::VIDEO;
  else if (templ == gst_element_class_get_pad_template(klass, "audio_sink_%u"))
    kind = TrackKind::AUDIO;
  else
    return nullptr;

  guint index;
  if (!reserve_index(self, kind, name, &index))
    return nullptr;
  std::unique_ptr<Track> track = build_track(self, templ, kind, index);
  GstPad *sinkpad = track->sinkpad;
  GstMediaStreamTrackPad *srcpad = track->srcpad;
  bool active_changed;
  if (!register_track(self, std::move(track), &active_changed)) {
    release_index(self, kind, index);
    return nullptr;
  }

  GST_INFO_OBJECT(self, "track %s (%s) added",
                  gst_media_stream_track_pad_get_track_id(srcpad).c_str(),
                  gst_media_stream_track_kind_name(kind));
  g_signal_emit(self, signals[SIGNAL_TRACK_ADDED], 0, srcpad);
  post_track_message(self, srcpad, "addtrack");
  post_collection(self);
  if (active_changed)
    g_object_notify(G_OBJECT(self), "active");
  return sinkpad;
}

/* --- clone-track (MS-9) ----------------------------------------------------- */

static void gst_media_stream_bin_release_pad(GstElement *element, GstPad *pad);

/* A clone's record leaving the bin: its feed leaves its source's fan-out (if
 * the source is still there), stops, and lets go of the source; its internal
 * sink pad leaves the bin. Its pads are inactive already. */
static void unwire_clone(GstMediaStreamBin *self, Track *clone)
{
  {
    std::lock_guard<std::mutex> guard(self->priv->lock);
    for (const auto &t : self->priv->tracks) {
      if (t->sinkpad != clone->source)
        continue;
      std::lock_guard<std::mutex> feeds_guard(t->feeds_lock);
      auto &feeds = t->feeds;
      auto it = std::find_if(feeds.begin(), feeds.end(),
                             [clone](const CloneFeed &f) { return f.pad == clone->feed; });
      if (it != feeds.end()) {
        gst_object_unref(it->pad);
        feeds.erase(it);
      }
      t->feeding = !feeds.empty();
    }
  }
  gst_pad_set_active(clone->feed, FALSE);
  gst_pad_unlink(clone->feed, clone->sinkpad);
  set_element_private(clone->feed, nullptr);
  if (GST_OBJECT_PARENT(clone->sinkpad) == GST_OBJECT(self))
    gst_object_unparent(GST_OBJECT(clone->sinkpad));
}

/* Its source is released: the clone @pad ends as when its source ends (EOS
 * through its feed: ready-state ended, track-ended, EOS downstream), if it
 * ever started streaming. Its source's streaming has stopped already. */
static void end_clone(GstMediaStreamBin *self, GstPad *pad)
{
  GstPad *feed = nullptr, *sinkpad = nullptr;
  {
    std::lock_guard<std::mutex> guard(self->priv->lock);
    for (const auto &t : self->priv->tracks) {
      if (GST_PAD(t->srcpad) == pad && t->source) {
        feed = GST_PAD(gst_object_ref(t->feed));
        sinkpad = GST_PAD(gst_object_ref(t->sinkpad));
      }
    }
  }
  if (!feed)
    return;
  GstEvent *start = gst_pad_get_sticky_event(sinkpad, GST_EVENT_STREAM_START, 0);
  if (start) {
    gst_event_unref(start);
    gst_pad_push_event(feed, gst_event_new_eos());
  }
  gst_object_unref(feed);
  gst_object_unref(sinkpad);
}

/* On a pool thread, under the source's stream lock (so never between its
 * items): a new clone gets the sticky events now, so its caps, settings,
 * muted and ended show at once, not with the source's next data. */
static void sync_clone_feeds(GstElement *element, gpointer user_data)
{
  GstPad *source = GST_PAD(user_data);
  GST_PAD_STREAM_LOCK(source);
  GstPad *srcpad = nullptr;
  Track *track = track_of(source, &srcpad);
  if (track) {
    for (GstPad *feed : sync_feeds_locked(track))
      gst_object_unref(feed);
    gst_object_unref(srcpad);
  }
  GST_PAD_STREAM_UNLOCK(source);
}

/* The source (sink pad, referenced) and kind of @original, a track of this
 * bin (a clone's source is its original's); NULL for any other pad. */
static GstPad *dup_clone_source(GstMediaStreamBin *self, GstMediaStreamTrackPad *original)
{
  if (!original || !GST_IS_MEDIA_STREAM_TRACK_PAD(original))
    return nullptr;
  std::lock_guard<std::mutex> guard(self->priv->lock);
  for (const auto &t : self->priv->tracks) {
    if (t->srcpad == original)
      return GST_PAD(gst_object_ref(t->source ? t->source : t->sinkpad));
  }
  return nullptr;
}

/* The clone's internal pads: its sink pad (parented to the bin, which its
 * chain and event functions expect, but not one of the element's pads) and
 * the feed pad linked to it, both active from now on. */
static GstPad *make_clone_feed(GstMediaStreamBin *self, Track *clone, GstPad *source)
{
  const gchar *kind =
      gst_media_stream_track_kind_name(gst_media_stream_track_pad_get_kind(clone->srcpad));
  const guint index = gst_media_stream_track_pad_get_index(clone->srcpad);
  g_autofree gchar *sink_name = g_strdup_printf("clone_%s_sink_%u", kind, index);
  g_autofree gchar *feed_name = g_strdup_printf("clone_%s_feed_%u", kind, index);
  gst_object_set_name(GST_OBJECT(clone->sinkpad), sink_name);
  GstPad *feed = gst_pad_new(feed_name, GST_PAD_SRC);
  clone->feed = GST_PAD(gst_object_ref_sink(feed));
  clone->source = GST_PAD(gst_object_ref(source));
  gst_pad_set_query_function(feed, GST_DEBUG_FUNCPTR(feed_query));
  gst_pad_set_event_function(feed, GST_DEBUG_FUNCPTR(feed_event));
  set_element_private(feed, source);
  gst_object_set_parent(GST_OBJECT(clone->sinkpad), GST_OBJECT(self));
  gst_pad_link_full(feed, clone->sinkpad, GST_PAD_LINK_CHECK_NOTHING);
  gst_pad_set_active(clone->sinkpad, TRUE);
  gst_pad_set_active(feed, TRUE);
  return feed;
}

/* Into the source's fan-out: from now on the clone gets the source's data.
 * FALSE when the source left the bin meanwhile. */
static bool attach_clone_feed(GstMediaStreamBin *self, GstPad *source, GstPad *feed)
{
  std::lock_guard<std::mutex> guard(self->priv->lock);
  for (const auto &t : self->priv->tracks) {
    if (t->sinkpad == source && !t->source) {
      std::lock_guard<std::mutex> feeds_guard(t->feeds_lock);
      t->feeds.push_back(CloneFeed{GST_PAD(gst_object_ref(feed))});
      t->feeding = true;
      return true;
    }
  }
  return false;
}

/* What a clone takes from its original (the spec's clone()): enabled, muted,
 * label, constraints, and ended by stop(); ended by EOS comes with the
 * source's sticky EOS. */
static void copy_clone_state(GstMediaStreamTrackPad *original, GstMediaStreamTrackPad *clone)
{
  gboolean enabled = TRUE, muted = FALSE;
  g_object_get(original, "enabled", &enabled, "muted", &muted, NULL);
  g_object_set(clone, "enabled", enabled, NULL);
  gst_media_stream_track_pad_set_muted(clone, muted);
  g_autofree gchar *label = gst_media_stream_track_pad_dup_label(original);
  if (label && *label)
    g_object_set(clone, "label", label, NULL);
}

/* The original's constraints (MS-10), once the clone is in the bin (its
 * conversion elements are the bin's children) and before its data flows. */
static void copy_clone_constraints(GstMediaStreamTrackPad *original, GstMediaStreamTrackPad *clone)
{
  GstStructure *constraints = nullptr;
  g_object_get(original, "constraints", &constraints, NULL);
  if (constraints && gst_structure_n_fields(constraints) > 0)
    g_signal_emit_by_name(clone, "apply-constraints", constraints, nullptr);
  if (constraints)
    gst_structure_free(constraints);
}

/* MS-9 clone(): a new track of the same kind and source in this stream, with
 * a new track id and its own enabled, stop and constraints. Any state, any
 * thread. A new reference to the clone's track pad, or NULL (a WARNING says
 * why). */
static GstMediaStreamTrackPad *gst_media_stream_bin_clone_track(GstMediaStreamBin *self,
                                                                GstMediaStreamTrackPad *original)
{
  GstPad *source = dup_clone_source(self, original);
  if (!source) {
    GST_WEB_WARNING_F(self, GST_WEB_ERROR_TYPE, nullptr, nullptr,
                      _("clone-track needs a track pad of this stream; no track was cloned."));
    return nullptr;
  }
  const TrackKind kind = gst_media_stream_track_pad_get_kind(original);
  guint index;
  reserve_index(self, kind, nullptr, &index); /* the lowest free one: never refused */
  GstPadTemplate *templ = gst_element_class_get_pad_template(
      GST_ELEMENT_GET_CLASS(self), kind == TrackKind::VIDEO ? "video_sink_%u" : "audio_sink_%u");
  std::unique_ptr<Track> track = build_track(self, templ, kind, index);
  GstMediaStreamTrackPad *clone = GST_MEDIA_STREAM_TRACK_PAD(gst_object_ref(track->srcpad));
  GstPad *sinkpad = GST_PAD(gst_object_ref(track->sinkpad));
  GstPad *feed = GST_PAD(gst_object_ref(make_clone_feed(self, track.get(), source)));
  copy_clone_state(original, clone);

  bool active_changed = false;
  if (!register_track(self, std::move(track), &active_changed)) {
    gst_pad_set_active(feed, FALSE);
    gst_pad_set_active(sinkpad, FALSE);
    gst_pad_unlink(feed, sinkpad);
    gst_object_unparent(GST_OBJECT(sinkpad));
    release_index(self, kind, index);
    gst_clear_object(&clone);
  } else {
    copy_clone_constraints(original, clone);
    if (!attach_clone_feed(self, source, feed)) {
      /* Its source was released meanwhile: the clone goes too. */
      gst_media_stream_bin_release_pad(GST_ELEMENT(self), GST_PAD(clone));
      gst_clear_object(&clone);
    }
  }
  gst_object_unref(sinkpad);
  gst_object_unref(feed);
  if (!clone) {
    gst_object_unref(source);
    return nullptr;
  }
  gst_element_call_async(GST_ELEMENT(self), sync_clone_feeds, source, gst_object_unref);

  GST_INFO_OBJECT(self, "track %s cloned as %s",
                  gst_media_stream_track_pad_get_track_id(original).c_str(),
                  gst_media_stream_track_pad_get_track_id(clone).c_str());
  if (gst_media_stream_track_pad_is_stopped(original))
    g_signal_emit_by_name(clone, "stop"); /* a clone of an ended track is ended */
  g_signal_emit(self, signals[SIGNAL_TRACK_ADDED], 0, clone);
  post_track_message(self, clone, "addtrack");
  post_collection(self);
  if (active_changed)
    g_object_notify(G_OBJECT(self), "active");
  return clone;
}

static void gst_media_stream_bin_release_pad(GstElement *element, GstPad *pad)
{
  GstMediaStreamBin *self = GST_MEDIA_STREAM_BIN(element);
  GstMediaStreamBinPrivate *priv = self->priv;

  std::unique_ptr<Track> track;
  std::vector<GstPad *> clones; /* MS-9: the clones of a source go with it */
  bool active_changed = false;
  bool disposing;
  {
    std::lock_guard<std::mutex> guard(priv->lock);
    track = take_track_locked(self, pad);
    if (!track)
      return;
    for (const auto &t : priv->tracks) {
      if (t->source && t->source == track->sinkpad)
        clones.push_back(GST_PAD(gst_object_ref(t->srcpad)));
    }
    bool active = compute_active_locked(self);
    active_changed = active != priv->active;
    priv->active = active;
    disposing = priv->disposing;
  }

  /* Stop the track's streaming first (waits for a chain call in progress),
   * then cut the pair so nothing can reach the other pad or the record. */
  gst_pad_set_active(GST_PAD(track->srcpad), FALSE);
  gst_pad_set_active(track->sinkpad, FALSE);
  unwire_track(track.get());
  gst_media_stream_track_pad_drop_conversion(track->srcpad, GST_BIN(self)); /* MS-10 */
  if (track->source)
    unwire_clone(self, track.get());

  if (GST_OBJECT_PARENT(track->srcpad) == GST_OBJECT(element))
    gst_element_remove_pad(element, GST_PAD(track->srcpad));
  if (!track->source && GST_OBJECT_PARENT(track->sinkpad) == GST_OBJECT(element))
    gst_element_remove_pad(element, track->sinkpad);
  /* The index is free only now that its pad names are. */
  release_index(self, gst_media_stream_track_pad_get_kind(track->srcpad),
                gst_media_stream_track_pad_get_index(track->srcpad));

  if (!disposing) {
    GST_INFO_OBJECT(self, "track %s removed",
                    gst_media_stream_track_pad_get_track_id(track->srcpad).c_str());
    g_signal_emit(self, signals[SIGNAL_TRACK_REMOVED], 0, track->srcpad);
    post_track_message(self, track->srcpad, "removetrack");
    post_collection(self);
    if (active_changed)
      g_object_notify(G_OBJECT(self), "active");
  }

  /* MS-9: the source is gone, so are its clones: each ends (EOS, as when
   * the source ends: track-ended), then leaves the bin like the source. */
  for (GstPad *clone : clones) {
    if (!disposing)
      end_clone(self, clone);
    gst_media_stream_bin_release_pad(element, clone);
    gst_object_unref(clone);
  }
}

/* --- element ---------------------------------------------------------------- */

/* The track pads, referenced. */
static std::vector<GstMediaStreamTrackPad *> dup_track_pads(GstMediaStreamBin *self)
{
  std::vector<GstMediaStreamTrackPad *> tracks;
  std::lock_guard<std::mutex> guard(self->priv->lock);
  for (const auto &t : self->priv->tracks)
    tracks.push_back(GST_MEDIA_STREAM_TRACK_PAD(gst_object_ref(t->srcpad)));
  return tracks;
}

static GstStateChangeReturn gst_media_stream_bin_change_state(GstElement *element,
                                                              GstStateChange transition)
{
  GstMediaStreamBin *self = GST_MEDIA_STREAM_BIN(element);
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED) {
    {
      std::lock_guard<std::mutex> guard(self->priv->lock);
      self->priv->streaming = true;
    }
    /* MS-8: a stop() while no run was going on (NULL/READY) ends nothing
     * beyond that: the run starting now is a new one, every track live. */
    for (GstMediaStreamTrackPad *track : dup_track_pads(self)) {
      gst_media_stream_track_pad_new_run(track);
      gst_object_unref(track);
    }
    update_active(self);
  }
  GstStateChangeReturn ret =
      GST_ELEMENT_CLASS(gst_media_stream_bin_parent_class)->change_state(element, transition);
  if (ret == GST_STATE_CHANGE_FAILURE)
    return ret;

  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) {
    /* No streaming thread any more: the collections replaced meanwhile can go. */
    std::vector<GstStreamCollection *> retired;
    {
      std::lock_guard<std::mutex> guard(self->priv->lock);
      self->priv->streaming = false;
      retired.swap(self->priv->retired_collections);
    }
    for (GstStreamCollection *c : retired)
      gst_object_unref(c);

    /* Pads are inactive now. A new run (docs: "Ended and restart"): each
     * track's streaming thread starts afresh (STREAM_START, collection,
     * blank media) when it sees the new count; the tracks are live and
     * unmuted again (their sources send their state again). */
    self->priv->run++;
    for (GstMediaStreamTrackPad *track : dup_track_pads(self)) {
      gst_media_stream_track_pad_new_run(track); /* stop() too ends for one run (MS-8) */
      gst_media_stream_track_pad_set_muted(track, false);
      gst_media_stream_track_pad_reset_conversion(track); /* MS-10: no stale sticky events */
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
    if (!gst_media_stream_msid_id_is_valid(id)) {
      /* The refused value in the details, made printable (it may not even
       * be UTF-8). */
      g_autofree gchar *shown = id ? g_strescape(id, nullptr) : g_strdup("(null)");
      g_autofree gchar *debug = g_strdup_printf("id \"%s\" ignored", shown);
      GST_WEB_WARNING_F(self, GST_WEB_ERROR_TYPE, nullptr, debug,
                        _("the stream id must be 1 to 64 SDP token characters (letters, digits "
                          "and symbols such as - _ . ~ ! { })."));
      break;
    }
    GST_INFO_OBJECT(self, "id: %s", id);
    std::vector<GstMediaStreamTrackPad *> tracks;
    {
      std::lock_guard<std::mutex> guard(self->priv->lock);
      self->priv->id = id;
      rebuild_collection_locked(self);
      for (const auto &t : self->priv->tracks)
        tracks.push_back(GST_MEDIA_STREAM_TRACK_PAD(gst_object_ref(t->srcpad)));
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
  /* Tracks left (dispose releases them: none, normally). */
  for (const auto &t : self->priv->tracks)
    unwire_track(t.get());
  delete self->priv;
  G_OBJECT_CLASS(gst_media_stream_bin_parent_class)->finalize(object);
}

static void gst_media_stream_bin_init(GstMediaStreamBin *self)
{
  self->priv = new GstMediaStreamBinPrivate();
  g_autofree gchar *uuid = g_uuid_string_random(); /* MS-1 */
  self->priv->id = uuid;
  self->priv->group_id = gst_util_group_id_next();
  rebuild_collection_locked(self);
}

static void gst_media_stream_bin_class_init(GstMediaStreamBinClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);

  /* The plugin's debug categories: the bin's here, its helpers' in their
   * install functions below, the track pad's in its own class_init. */
  GST_DEBUG_CATEGORY_INIT(gst_media_stream_bin_debug, "mediastreambin", 0, "MediaStream bin");

  gobject_class->set_property = GST_DEBUG_FUNCPTR(gst_media_stream_bin_set_property);
  gobject_class->get_property = GST_DEBUG_FUNCPTR(gst_media_stream_bin_get_property);
  gobject_class->dispose = GST_DEBUG_FUNCPTR(gst_media_stream_bin_dispose);
  gobject_class->finalize = GST_DEBUG_FUNCPTR(gst_media_stream_bin_finalize);

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
  /**
   * GstMediaStreamBin::clone-track:
   * @track: a track pad of this bin (an original or a clone)
   *
   * MediaStreamTrack.clone() (MS-9): a new track pad in this stream, of the
   * same kind and source (the same sink pad's data), with a new track-id,
   * the original's enabled, muted, label and constraints, then its own
   * enabled, stop and constraints; muted follows the source. It is in the
   * stream collection and msid like any track, and goes with the source's
   * sink pad when that is released (ending first). Any state, any thread;
   * track-added is emitted for it.
   *
   * Returns: (transfer full) (nullable): the clone's track pad, NULL (and a
   * WARNING) when @track is not a track pad of this bin.
   */
  signals[SIGNAL_CLONE_TRACK] = g_signal_new_class_handler(
      "clone-track", G_TYPE_FROM_CLASS(klass),
      static_cast<GSignalFlags>(G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION),
      G_CALLBACK(GST_DEBUG_FUNCPTR(gst_media_stream_bin_clone_track)), nullptr, nullptr, nullptr,
      GST_TYPE_MEDIA_STREAM_TRACK_PAD, 1, GST_TYPE_MEDIA_STREAM_TRACK_PAD);

  gst_element_class_add_static_pad_template(element_class, &video_sink_template);
  gst_element_class_add_static_pad_template(element_class, &audio_sink_template);
  gst_element_class_add_static_pad_template_with_gtype(element_class, &video_src_template,
                                                       GST_TYPE_MEDIA_STREAM_TRACK_PAD);
  gst_element_class_add_static_pad_template_with_gtype(element_class, &audio_src_template,
                                                       GST_TYPE_MEDIA_STREAM_TRACK_PAD);

  gst_element_class_set_static_metadata(
      element_class, "MediaStream", "Generic/Bin",
      "One MediaStream: a pair of pads per track (video_sink_%u -> video_%u, audio_sink_%u -> "
      "audio_%u) with id, enabled, muted, ended, stop, clones (clone-track), constraints, "
      "stream collections and WebRTC msid",
      "GStreamer Web Capture developers");

  element_class->request_new_pad = GST_DEBUG_FUNCPTR(gst_media_stream_bin_request_new_pad);
  element_class->release_pad = GST_DEBUG_FUNCPTR(gst_media_stream_bin_release_pad);
  element_class->change_state = GST_DEBUG_FUNCPTR(gst_media_stream_bin_change_state);

  gst_type_mark_as_plugin_api(GST_TYPE_MEDIA_STREAM_TRACK_PAD, static_cast<GstPluginAPIFlags>(0));
  gst_media_stream_sdp_install_signals(gobject_class);    /* annotate-sdp */
  gst_media_stream_remote_install_signals(gobject_class); /* follow-remote-track */
}
