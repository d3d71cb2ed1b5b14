/* mediacapturesrc: the media element's run (see mediarun.h): its state
 * model, its tracks, its commands and their control thread, and what they do
 * to the internal pipeline (load, seek, restart, teardown).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "mediarun.h"

#include <algorithm>
#include <cmath>

#include "gstwebcaptureerror.h"
#include "gstwebcapturei18n.h"

GST_DEBUG_CATEGORY_EXTERN(gst_media_capture_src_debug);
#define GST_CAT_DEFAULT gst_media_capture_src_debug

namespace mediacapture
{

namespace
{

/* A loop iteration must render at least this much media time to loop again. */
constexpr GstClockTime kMinLoopMedia = GST_MSECOND;

/* ME-9: audio keeps its pitch between these rates; outside, it is muted. */
constexpr gdouble kMinAudioRate = 0.5;
constexpr gdouble kMaxAudioRate = 4.0;

/* How long teardown lets a preroll in progress finish before NULL. */
constexpr GstClockTime kTeardownPrerollWait = GST_SECOND;

const char *network_state_name(NetworkState s)
{
  switch (s) {
  case NetworkState::Empty:
    return "NETWORK_EMPTY";
  case NetworkState::Idle:
    return "NETWORK_IDLE";
  case NetworkState::Loading:
    return "NETWORK_LOADING";
  case NetworkState::NoSource:
    return "NETWORK_NO_SOURCE";
  }
  return "?";
}

const char *ready_state_name(ReadyState s)
{
  switch (s) {
  case ReadyState::HaveNothing:
    return "HAVE_NOTHING";
  case ReadyState::HaveMetadata:
    return "HAVE_METADATA";
  case ReadyState::HaveCurrentData:
    return "HAVE_CURRENT_DATA";
  case ReadyState::HaveFutureData:
    return "HAVE_FUTURE_DATA";
  case ReadyState::HaveEnoughData:
    return "HAVE_ENOUGH_DATA";
  }
  return "?";
}

} // namespace

/* ------------------------------------------------------------- the model */

/* Where each state changes (HTMLMediaElement, as far as the internal
 * pipeline shows it):
 * - networkState: EMPTY while there is no src; LOADING when load() starts a
 *   resource; IDLE at its first preroll (prerolled_once_locked()); NO_SOURCE
 *   when the load fails (fail_locked(): an error of the internal pipeline,
 *   an empty medium, a stall; load(): an origin refused, an invalid URI, no
 *   uridecodebin).
 * - readyState: HAVE_NOTHING when load() starts; HAVE_METADATA when the
 *   medium's streams are known (no-more-pads); HAVE_ENOUGH_DATA at a preroll
 *   (prerolled_once_locked()); back to HAVE_METADATA at a seek, until the
 *   re-preroll after it. HAVE_CURRENT_DATA and HAVE_FUTURE_DATA are not
 *   told apart from these.
 * - seeking: true from a seek (seek_to() with a position) until the
 *   internal pipeline's ASYNC_DONE after it (prerolled_once_locked()), or
 *   at once if the seek failed or the medium is live; false again when the
 *   resource fails or goes. */

void Run::set_network_state_locked(NetworkState s)
{
  if (network == s)
    return;
  GST_DEBUG_OBJECT(element(), "networkState %s -> %s", network_state_name(network),
                   network_state_name(s));
  network = s;
}

void Run::set_ready_state_locked(ReadyState s)
{
  if (ready == s)
    return;
  GST_DEBUG_OBJECT(element(), "readyState %s -> %s", ready_state_name(ready), ready_state_name(s));
  ready = s;
}

bool Run::set_ended_locked(bool e)
{
  if (ended == e)
    return false;
  GST_DEBUG_OBJECT(element(), "ended %d", e);
  ended = e;
  wake_tracks_locked();
  return true;
}

bool Run::set_ended_paused_locked(bool p)
{
  bool before = paused_locked();
  ended_paused = p && !me->paused_; /* HTML: reaching the end pauses the element */
  wake_tracks_locked();
  return paused_locked() != before;
}

void Run::set_seeking_locked(bool s, const char *why)
{
  if (seeking == s)
    return;
  GST_DEBUG_OBJECT(element(), "seeking %d (%s)", s, why);
  seeking = s;
}

void Run::fail_locked(Resource *res)
{
  res->failed = true;
  if (current_locked(res)) {
    set_network_state_locked(NetworkState::NoSource);
    set_seeking_locked(false, "load failed"); /* no re-preroll will follow */
  }
}

bool Run::prerolled_once_locked(Resource *res)
{
  if (!current_locked(res))
    return false;
  if (res->prerolled) {
    /* a re-preroll: the one after a seek ends the seek */
    if (seeking) {
      set_seeking_locked(false, "re-prerolled");
      set_ready_state_locked(ReadyState::HaveEnoughData);
    }
    return false;
  }
  res->prerolled = true;
  set_ready_state_locked(ReadyState::HaveEnoughData);
  if (!res->failed)
    set_network_state_locked(NetworkState::Idle);
  return true;
}

/* Known reasons are known at once (silence is generated without waiting);
 * the track adds its own soft ones (no content yet, a gap). */
bool Run::hard_muted_locked(const Track &t)
{
  gdouble rate = me->rate_;
  bool rate_muted = !t.is_video && (rate < kMinAudioRate || rate > kMaxAudioRate); /* ME-9 */
  bool origin_left = resource && resource->origin_left;
  return paused_locked() || origin_left || (t.branch && t.branch->eos && !me->loop_) ||
         rate_muted || ended;
}

GstTagList *Run::stream_tags_locked(const Track &t, guint *serial)
{
  if (!t.branch || !t.branch->tags || t.branch->tags_serial == *serial)
    return nullptr;
  *serial = t.branch->tags_serial;
  return gst_tag_list_copy(t.branch->tags);
}

void Run::notify_muted(GstPad *pad)
{
  /* Application-facing: emitted by the control thread, never by the pad
   * task (a handler that stops the element would join the task from inside
   * it). */
  post(NotifyMuted{std::shared_ptr<GstPad>(GST_PAD(gst_object_ref(pad)),
                                           [](GstPad *p) { gst_object_unref(p); })});
}

void Run::post_locked(Command c)
{
  if (quit)
    return;
  commands.push_back(std::move(c));
  me->cond_.notify_all();
}

void Run::post(Command c)
{
  std::lock_guard<std::mutex> lk(me->lock_);
  post_locked(std::move(c));
}

bool Run::stream_selected_locked(bool is_video, guint kind_index)
{
  if (is_video)
    return me->video_track_ >= 0 && (guint)me->video_track_ == kind_index;
  return audio_track_selected(me->audio_tracks_.c_str(), kind_index);
}

/* ------------------------------------------------------ tracks (control) */

/* A selection naming a stream the medium does not have selects nothing for
 * it (ME-1 allows no track), but with no track at all nothing downstream
 * ever ends: said in a WARNING, once per medium and selection, when the
 * selection leaves the medium without any track, or names a stream other
 * than the first (the defaults select the first video and the first audio
 * stream, whichever the medium has). Control thread, no lock held. */
void Run::warn_unmatched_selection()
{
  std::string uri, audio;
  gint video;
  guint n_video = 0, n_audio = 0;
  bool any_selected = false;
  {
    std::lock_guard<std::mutex> lk(me->lock_);
    if (quit || !resource || !resource->media_found)
      return;
    for (auto &b : resource->branches) {
      (b->is_video ? n_video : n_audio)++;
      any_selected = any_selected || b->selected;
    }
    video = me->video_track_;
    audio = me->audio_tracks_;
    std::string key = std::to_string(video) + "|" + audio;
    if (resource->selection_warned == key)
      return;
    resource->selection_warned = key;
    uri = resource->uri;
  }
  bool missing_video = video > 0 && (guint)video >= n_video;
  bool missing_audio = false;
  std::vector<gint> indices;
  bool all = false;
  if (audio != "0" && parse_audio_tracks(audio.c_str(), &indices, &all))
    missing_audio =
        std::any_of(indices.begin(), indices.end(), [&](gint i) { return (guint)i >= n_audio; });
  if (!any_selected && n_video + n_audio > 0)
    GST_ELEMENT_WARNING(element(), RESOURCE, NOT_FOUND,
                        (_("\"%s\" has %u video and %u audio streams; video-track %d and "
                           "audio-tracks \"%s\" select none of them: no track, and nothing "
                           "will end the pipeline."),
                         uri.c_str(), n_video, n_audio, video, audio.c_str()),
                        ("no stream selected"));
  else if (missing_video || missing_audio)
    GST_ELEMENT_WARNING(element(), RESOURCE, NOT_FOUND,
                        (_("\"%s\" has %u video and %u audio streams; video-track %d and "
                           "audio-tracks \"%s\" name others, which have no track."),
                         uri.c_str(), n_video, n_audio, video, audio.c_str()),
                        ("selection names missing streams"));
}

/* Creates the tracks of every selected branch and exposes them together,
 * then no-more-pads (ME-2, WPT creation.html). After an EOS sent to the
 * element they end at once (their first events, then EOS, as a GstBaseSrc
 * that gets EOS before it starts): what waits for them downstream (a
 * muxer's delayed link, gst-launch-1.0 -e interrupted while the media
 * loads) finishes instead of waiting for ever. Control thread. */
void Run::expose_tracks()
{
  std::vector<std::shared_ptr<Track>> created;
  guint group = gst_util_group_id_next();
  {
    std::lock_guard<std::mutex> lk(me->lock_);
    if (quit || !resource || ended)
      return;
    for (auto &b : resource->branches) {
      /* a replaced branch (a chained Ogg's last chain) ended: its stream
       * goes on in the next chain's branch */
      if (!b->selected || b->track || b->replaced)
        continue;
      auto t = std::make_shared<Track>();
      t->owner = this;
      t->eos_pending = eos_requested;
      t->branch = b.get();
      t->is_video = b->is_video;
      t->index = b->is_video ? me->next_video_index_++ : me->next_audio_index_++;
      t->group_id = group;
      /* not started: no CAPS event yet; the caps of the last sample are
       * fixed, the stream's may not be (nothing decoded yet) */
      track_set_caps(t.get(), b->last_caps ? b->last_caps : b->caps);
      t->pad = owner->new_track_pad(t->is_video, t->index);
      gst_pad_set_element_private(t->pad, t.get());
      gst_pad_set_query_function(t->pad, GST_DEBUG_FUNCPTR(track_pad_query));
      gst_pad_set_event_function(t->pad, GST_DEBUG_FUNCPTR(track_pad_event));
      gst_pad_use_fixed_caps(t->pad);
      b->track = t.get();
      tracks.push_back(t);
      created.push_back(t);
    }
    if (created.empty())
      return;
  }
  for (auto &t : created) {
    /* pad-added handlers may stop the element (which ends these tracks) */
    {
      std::lock_guard<std::mutex> lk(me->lock_);
      if (t->stopping)
        continue;
    }
    t->stream_id = gst_pad_create_stream_id_printf(t->pad, element(), "%s%u",
                                                   t->is_video ? "video" : "audio", t->index);
    gst_pad_set_active(t->pad, TRUE);
    owner->add_track_pad(t->pad);
    std::lock_guard<std::mutex> lk(me->lock_);
    if (!t->stopping)
      gst_pad_start_task(t->pad, track_loop, t.get(), nullptr);
  }
  GST_INFO_OBJECT(element(), "exposed %zu tracks", created.size());
  {
    std::lock_guard<std::mutex> lk(me->lock_);
    if (quit)
      return;
  }
  owner->tracks_complete();
}

/* Ends every track (ME-3): EOS after what is queued (or at once when
 * @drop_queued), then removes its pad. Control thread or stop(). */
void Run::end_tracks(bool drop_queued, bool force, bool only_deselected)
{
  std::vector<std::shared_ptr<Track>> ending;
  {
    std::unique_lock<std::mutex> lk(me->lock_);
    if (only_deselected) {
      /* ME-3: a deselected track ends; the others go on */
      auto keep =
          std::stable_partition(tracks.begin(), tracks.end(), [](const std::shared_ptr<Track> &t) {
            return t->branch && t->branch->selected;
          });
      ending.assign(keep, tracks.end());
      tracks.erase(keep, tracks.end());
    } else {
      ending.swap(tracks);
    }
    if (force) {
      /* a stop: also those the control thread is ending, when the stop did
       * not wait for it (it goes on after this, finding them removed) */
      ending.insert(ending.end(), ending_tracks.begin(), ending_tracks.end());
    } else {
      ending_tracks.insert(ending_tracks.end(), ending.begin(), ending.end());
    }
    for (auto &t : ending) {
      t->eos_pending = true;
      if (force)
        t->stopping = true;
      if (drop_queued) {
        for (auto &it : t->queue) {
          gst_clear_buffer(&it.buffer);
          gst_clear_caps(&it.caps);
        }
        t->queue.clear();
      }
      if (t->branch)
        t->branch->track = nullptr;
    }
    for (auto &t : ending)
      t->cond.notify_all();
    if (!force) {
      for (auto &t : ending) {
        /* A task blocked downstream is released by the outer state change,
         * which then forces (quit). */
        me->cond_.wait(lk, [&] { return t->eos_pushed || t->stopping || quit; });
      }
    }
  }
  for (auto &t : ending) {
    {
      std::lock_guard<std::mutex> lk(me->lock_);
      t->stopping = true;
      t->cond.notify_all();
    }
    gst_pad_set_active(t->pad, FALSE);
    gst_pad_stop_task(t->pad); /* joins it */
    /* the application may keep the pad: it no longer reaches the track */
    gst_pad_set_element_private(t->pad, nullptr);
    /* A mute the task announced before its EOS (the end of playback pauses)
     * is still queued behind the command running this: emitted now, before
     * pad-removed, as it happened (not when stopping: that is not the
     * control thread, and nothing is notified any more). */
    bool muted_changed = false;
    if (!force) {
      std::lock_guard<std::mutex> lk(me->lock_);
      auto pending = std::remove_if(commands.begin(), commands.end(), [&](const Command &c) {
        auto *n = std::get_if<NotifyMuted>(&c);
        return n && n->pad.get() == t->pad;
      });
      muted_changed = pending != commands.end();
      commands.erase(pending, commands.end());
    }
    if (muted_changed)
      owner->notify_track_muted(t->pad);
    bool remove;
    {
      /* once: a stop that did not wait for the control thread may end the
       * same track (ending_tracks) */
      std::lock_guard<std::mutex> lk(me->lock_);
      remove = !t->removed;
      t->removed = true;
    }
    if (remove)
      owner->remove_track_pad(t->pad);
    if (!force) {
      std::lock_guard<std::mutex> lk(me->lock_);
      ending_tracks.erase(std::remove(ending_tracks.begin(), ending_tracks.end(), t),
                          ending_tracks.end());
    }
  }
  ending.clear(); /* freed here, unless expose_tracks() still holds one */
}

/* Tears the current resource down. Control thread, or stop() after the
 * control thread let go. */
void Run::teardown()
{
  bool prerolled;
  std::unique_ptr<Resource> res = detach_resource(&prerolled);
  if (res)
    shut_down(std::move(res), prerolled);
}

/* The current resource, no longer current: what it still says is stale and
 * its samples reach no track. Control thread or stop(). */
std::unique_ptr<Resource> Run::detach_resource(bool *prerolled)
{
  std::unique_ptr<Resource> res;
  std::lock_guard<std::mutex> lk(me->lock_);
  if (!resource)
    return res;
  /* a media element that failed will not preroll: no wait */
  *prerolled = prerolled_locked() || resource->failed;
  res = std::move(resource);
  set_seeking_locked(false, "resource gone");
  for (auto &b : res->branches) {
    if (b->track)
      b->track->branch = nullptr;
    b->track = nullptr;
  }
  /* the tracks the control thread is ending (their branches go with res) */
  for (auto &t : ending_tracks)
    t->branch = nullptr;
  return res;
}

/* Stops a detached resource's internal pipeline and frees it. */
void Run::shut_down(std::unique_ptr<Resource> res, bool prerolled)
{
  /* decodebin still plugging elements while it is shut down can leave
   * them running on their own: let a preroll in progress finish (or fail)
   * first. */
  if (!prerolled)
    gst_element_get_state(res->pipeline, nullptr, nullptr, kTeardownPrerollWait);
  gst_element_set_state(res->pipeline, GST_STATE_NULL);
  GstBus *bus = gst_element_get_bus(res->pipeline);
  gst_bus_set_sync_handler(bus, nullptr, nullptr, nullptr);
  gst_object_unref(bus);
  res.reset();
}

static GstState wanted_internal_state(Run *run)
{
  /* Preroll first: going to PLAYING while the decoded streams are still
   * being exposed leaves the late-added sinks playing on their own. */
  return run->prerolled_locked() && run->outer_playing && !run->paused_locked() && !run->ended
             ? GST_STATE_PLAYING
             : GST_STATE_PAUSED;
}

void Run::apply_state()
{
  GstElement *pipeline = nullptr;
  GstState state;
  GstClock *clock = gst_element_get_clock(element());
  {
    std::lock_guard<std::mutex> lk(me->lock_);
    if (!quit)
      pipeline = pipeline_ref_locked();
    state = wanted_internal_state(this);
    wake_tracks_locked();
  }
  if (pipeline) {
    /* The media element plays on the outer clock, so its render times map
     * onto outer running time. */
    if (clock)
      gst_pipeline_use_clock(GST_PIPELINE(pipeline), clock);
    GstStateChangeReturn r = gst_element_set_state(pipeline, state);
    if (r == GST_STATE_CHANGE_NO_PREROLL) {
      /* A live medium (udp://, rtsp://) never prerolls: it is ready as soon
       * as it is PAUSED and only produces in PLAYING. */
      bool first = false;
      {
        std::lock_guard<std::mutex> lk(me->lock_);
        if (resource && resource->pipeline == pipeline) {
          resource->live = true;
          /* a live medium does not re-preroll after a seek either */
          if (prerolled_once_locked(resource.get())) {
            post_locked(Prerolled{resource->generation});
            first = true;
          }
        }
      }
      if (first)
        GST_INFO_OBJECT(element(), "live media: no preroll");
    }
    GstState cur, pend;
    gst_element_get_state(pipeline, &cur, &pend, 0);
    GST_DEBUG_OBJECT(element(), "media element to %s: %s (now %s, pending %s)",
                     gst_element_state_get_name(state), gst_element_state_change_return_get_name(r),
                     gst_element_state_get_name(cur), gst_element_state_get_name(pend));
    gst_object_unref(pipeline);
  }
  if (clock)
    gst_object_unref(clock);
}

/* Queries the duration outside the lock; notify::duration only on change. */
void Run::update_duration()
{
  GstElement *pipeline;
  {
    std::lock_guard<std::mutex> lk(me->lock_);
    pipeline = pipeline_ref_locked();
  }
  if (!pipeline)
    return;
  gint64 d;
  gdouble duration = gst_element_query_duration(pipeline, GST_FORMAT_TIME, &d) && d >= 0
                         ? (gdouble)d / GST_SECOND
                         : -1.0;
  bool changed;
  {
    std::lock_guard<std::mutex> lk(me->lock_);
    changed = resource && resource->pipeline == pipeline && me->notified_duration_ != duration;
    if (changed)
      me->notified_duration_ = duration;
  }
  gst_object_unref(pipeline);
  if (changed)
    owner->notify(MediaElementOwner::Attribute::Duration);
}

void Run::load(const std::string &uri, gdouble start)
{
  GstElement *self = element();
  /* Source change (ME-3): every track ends and goes, then the new ones come.
   * The old resource stops feeding the tracks at once, but it is shut down
   * and the old tracks' EOS waited for (a sink that syncs holds it until
   * the end of the last buffer) only once the new resource is loading: the
   * switch gap is then the new medium's preroll alone. The new tracks are
   * exposed by the Prerolled command, after this returns. */
  bool old_prerolled = true;
  std::unique_ptr<Resource> old = detach_resource(&old_prerolled);
  {
    /* the old tracks send their EOS now, without what they queued */
    std::lock_guard<std::mutex> lk(me->lock_);
    for (auto &t : tracks) {
      t->eos_pending = true;
      for (auto &it : t->queue) {
        gst_clear_buffer(&it.buffer);
        gst_clear_caps(&it.caps);
      }
      t->queue.clear();
      t->cond.notify_all();
    }
  }
  struct OldGoes {
    Run *run;
    std::unique_ptr<Resource> &old;
    bool prerolled;
    ~OldGoes()
    {
      if (old)
        shut_down(std::move(old), prerolled);
      run->end_tracks(true, false);
    }
  } old_goes{this, old, old_prerolled};
  bool ended_changed, paused_changed, duration_changed;
  {
    std::lock_guard<std::mutex> lk(me->lock_);
    last_position = start;
    set_ready_state_locked(ReadyState::HaveNothing);
    set_network_state_locked(uri.empty() ? NetworkState::Empty : NetworkState::Loading);
    ended_changed = set_ended_locked(false);
    /* a new source after the end plays (as an autoplaying <video>) unless
     * the application paused it */
    paused_changed = set_ended_paused_locked(false);
    duration_changed = me->notified_duration_ != -1.0;
    me->notified_duration_ = -1.0;
  }
  /* notifies only on change */
  if (ended_changed)
    owner->notify(MediaElementOwner::Attribute::Ended);
  if (paused_changed)
    owner->notify(MediaElementOwner::Attribute::Paused);
  if (duration_changed)
    owner->notify(MediaElementOwner::Attribute::Duration);
  if (uri.empty())
    return;

  bool allowed;
  {
    std::lock_guard<std::mutex> lk(me->lock_);
    if (quit) /* stopped from one of these notifies */
      return;
    allowed = uri_allowed(me->allowed_origins_, uri.c_str());
    if (!allowed || !gst_uri_is_valid(uri.c_str()))
      set_network_state_locked(NetworkState::NoSource);
  }
  if (!allowed) {
    /* ME-10: nothing is read from outside allowed-origins. */
    GST_WEB_ERROR_F(self, GST_WEB_ERROR_SECURITY, nullptr, nullptr,
                    _("\"%s\" is not in allowed-origins"), uri.c_str());
    return;
  }
  if (!gst_uri_is_valid(uri.c_str())) {
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND,
                      (_("Could not play \"%s\": not a valid URI."), uri.c_str()), (nullptr));
    return;
  }

  GstElement *decodebin = make_element("uridecodebin");
  if (!decodebin) {
    {
      std::lock_guard<std::mutex> lk(me->lock_);
      set_network_state_locked(NetworkState::NoSource);
    }
    GST_ELEMENT_ERROR(
        self, CORE, MISSING_PLUGIN,
        (_("Could not play \"%s\": the uridecodebin element is missing."), uri.c_str()), (nullptr));
    return;
  }
  auto res = std::make_unique<Resource>();
  res->run = this;
  res->uri = uri;
  res->pending_start = start;
  res->last_data = std::chrono::steady_clock::now();
  res->pipeline = GST_ELEMENT(gst_object_ref_sink(gst_pipeline_new(nullptr)));
  res->decodebin = decodebin;
  g_object_set(decodebin, "uri", uri.c_str(), nullptr);
  gst_bin_add(GST_BIN(res->pipeline), decodebin);
  resource_connect(res.get());
  {
    std::lock_guard<std::mutex> lk(me->lock_);
    res->generation = ++generation;
    resource = std::move(res);
  }
  apply_state();
}

void Run::seek_to(gdouble position, gdouble rate)
{
  update_tempo(rate);
  GstElement *pipeline;
  bool live = false;
  {
    /* a rate change (no position) is no seek for the application: seeking
     * stays as it is */
    std::lock_guard<std::mutex> lk(me->lock_);
    pipeline = pipeline_ref_locked();
    if (pipeline && position >= 0) {
      live = resource->live;
      set_seeking_locked(true, "seek");
      if (ready > ReadyState::HaveMetadata)
        set_ready_state_locked(ReadyState::HaveMetadata);
    }
  }
  if (!pipeline)
    return;
  GstClockTime pos;
  if (position < 0) {
    gint64 cur = 0;
    pos = gst_element_query_position(pipeline, GST_FORMAT_TIME, &cur) ? (GstClockTime)cur : 0;
  } else {
    /* Any double is accepted: beyond the duration (or what a clock time
     * holds) is the end. */
    gint64 d = -1;
    gdouble limit = (gdouble)(G_MAXINT64 / 2);
    if (gst_element_query_duration(pipeline, GST_FORMAT_TIME, &d) && d >= 0)
      limit = std::min(limit, (gdouble)d);
    gdouble ns = position * GST_SECOND;
    pos = std::isfinite(ns) && ns < limit ? (GstClockTime)ns : (GstClockTime)limit;
  }
  /* the stop is set to the end: one kept from the last segment may lie before
   * the new start (past the end after a rate change: matroskademux then
   * asserts start <= stop) */
  gboolean ok = gst_element_seek(pipeline, rate, GST_FORMAT_TIME,
                                 (GstSeekFlags)(GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_ACCURATE),
                                 GST_SEEK_TYPE_SET, pos, GST_SEEK_TYPE_SET, GST_CLOCK_TIME_NONE);
  GST_DEBUG_OBJECT(element(), "seek to %" GST_TIME_FORMAT " rate %f: %d", GST_TIME_ARGS(pos), rate,
                   ok);
  {
    /* After a flushing seek every stream has content again until it says
     * otherwise. */
    std::lock_guard<std::mutex> lk(me->lock_);
    bool current = resource && resource->pipeline == pipeline;
    /* the seek ends with the re-preroll's ASYNC_DONE (which may have come
     * already), unless nothing will re-preroll */
    if (current && seeking && (!ok || live)) {
      set_seeking_locked(false, ok ? "live: no re-preroll" : "seek failed");
      set_ready_state_locked(ReadyState::HaveEnoughData);
    }
    if (current) {
      for (auto &b : resource->branches)
        b->eos = false;
      resource->iteration_media_end = GST_CLOCK_TIME_NONE;
      resource->last_data = std::chrono::steady_clock::now();
    }
    last_position = (gdouble)pos / GST_SECOND;
    wake_tracks_locked();
  }
  gst_object_unref(pipeline);
}

/* Playing again after the end (ME-4): a new set of tracks. */
void Run::restart(gdouble position)
{
  gdouble rate;
  bool ended_changed;
  {
    std::lock_guard<std::mutex> lk(me->lock_);
    ended_changed = set_ended_locked(false);
    rate = me->rate_;
  }
  if (ended_changed)
    owner->notify(MediaElementOwner::Attribute::Ended);
  seek_to(position, rate);
  expose_tracks();
  apply_state();
}

/* A medium whose streams were announced but of which nothing could be
 * decoded (a valid header, a broken body): an error naming the URI, as a
 * browser's MEDIA_ERR_DECODE, and no track. */
void Run::post_empty_media_error(const std::string &uri, const std::string &warning)
{
  {
    /* once: the preroll and the end (an ApplyState between the preroll and
     * its command lets the empty medium reach EOS) may both find it empty */
    std::lock_guard<std::mutex> lk(me->lock_);
    if (resource) {
      if (resource->error_reported)
        return;
      fail_locked(resource.get());
      resource->error_reported = true;
    }
  }
  if (!warning.empty())
    GST_ELEMENT_ERROR(element(), STREAM, DEMUX,
                      (_("Could not play \"%s\": %s"), uri.c_str(), warning.c_str()),
                      ("nothing could be decoded"));
  else
    GST_ELEMENT_ERROR(element(), STREAM, DECODE,
                      (_("Could not play \"%s\": no media could be decoded."), uri.c_str()),
                      ("nothing could be decoded"));
}

/* -------------------------------------------------------------- commands */

void Run::handle(const Load &c)
{
  load(c.uri, c.start);
}

/* The first preroll: start position and rate apply before playing. */
void Run::handle(const Prerolled &c)
{
  gdouble start, rate;
  bool live, empty;
  std::string uri, warning;
  GstElement *pipeline = nullptr;
  {
    std::lock_guard<std::mutex> lk(me->lock_);
    if (c.generation != current_generation_locked())
      return;
    /* prerolled on EOS with nothing decoded: a broken medium */
    empty = !resource->live && resource->samples == 0 && !resource->branches.empty();
    for (auto &b : resource->branches)
      empty = empty && b->eos;
    resource->media_found = !empty;
    uri = resource->uri;
    warning = resource->first_warning;
    start = resource->pending_start;
    resource->pending_start = 0.0;
    rate = me->rate_;
    live = resource->live;
    pipeline = pipeline_ref_locked();
  }
  GST_DEBUG_BIN_TO_DOT_FILE_WITH_TS(GST_BIN(pipeline), GST_DEBUG_GRAPH_SHOW_ALL,
                                    "mediacapturesrc-prerolled");
  gst_object_unref(pipeline);
  if (empty) {
    post_empty_media_error(uri, warning);
    return;
  }
  expose_tracks(); /* ME-2: the media's tracks, now known */
  warn_unmatched_selection();
  if (!live && (start > 0.0 || rate != 1.0))
    seek_to(start, rate);
  /* no duration query here: oggdemux in push mode (HTTP) is then still
   * seeking for its duration, and a query meanwhile breaks its stream;
   * notify::duration comes with DURATION_CHANGED or at the end */
  apply_state();
}

void Run::handle(const Expose &c)
{
  bool stale;
  {
    /* a medium that prerolls exposes its tracks once prerolled */
    std::lock_guard<std::mutex> lk(me->lock_);
    stale = c.generation != current_generation_locked() || !resource->media_found;
  }
  if (!stale)
    expose_tracks();
}

void Run::handle(const ApplyState &)
{
  apply_state();
}

void Run::handle(const Seek &c)
{
  bool is_ended, loading;
  gdouble rate;
  {
    std::lock_guard<std::mutex> lk(me->lock_);
    is_ended = ended;
    rate = me->rate_;
    /* HTML's default playback start position: a seek while loading is
     * applied when the media element is ready */
    loading = resource && !prerolled_locked();
    if (loading)
      resource->pending_start = c.position;
  }
  if (loading)
    return;
  if (is_ended)
    restart(c.position);
  else
    seek_to(c.position, rate); /* ME-5: no event, no track ends */
}

void Run::handle(const SetRate &c)
{
  bool is_ended;
  {
    std::lock_guard<std::mutex> lk(me->lock_);
    is_ended = ended;
  }
  if (!is_ended)
    seek_to(-1.0, c.rate);
}

void Run::handle(const SetPaused &c)
{
  bool is_ended;
  {
    std::lock_guard<std::mutex> lk(me->lock_);
    is_ended = ended;
  }
  if (!c.paused && is_ended)
    restart(0.0); /* play() after the end starts over */
  else
    apply_state();
}

void Run::handle(const Ended &c)
{
  bool loop, stale, origin_left, empty_iteration, empty_load;
  gdouble rate;
  std::string uri, warning;
  GstElement *pipeline = nullptr;
  {
    std::lock_guard<std::mutex> lk(me->lock_);
    stale = c.generation != current_generation_locked() || ended;
    if (stale)
      return;
    loop = me->loop_;
    rate = me->rate_;
    origin_left = resource->origin_left;
    /* a loop iteration that rendered no media time (a still image, an
     * empty file) would loop at once, forever */
    empty_iteration = !GST_CLOCK_TIME_IS_VALID(resource->iteration_media_end) ||
                      resource->iteration_media_end < kMinLoopMedia;
    empty_load = resource->samples == 0 && !origin_left && !resource->branches.empty();
    uri = resource->uri;
    warning = resource->first_warning;
    pipeline = pipeline_ref_locked();
  }
  if (empty_load) {
    gst_object_unref(pipeline);
    post_empty_media_error(uri, warning);
    end_tracks(true, false);
    return;
  }
  /* Looping a medium that left allowed-origins would request the other
   * origin again at every end: it stays muted instead (ME-10). */
  if (loop && !origin_left && !empty_iteration) {
    gst_object_unref(pipeline);
    seek_to(0.0, rate); /* continuous, no event (ME-5) */
    return;
  }
  gint64 d;
  gdouble duration = gst_element_query_duration(pipeline, GST_FORMAT_TIME, &d) && d >= 0
                         ? (gdouble)d / GST_SECOND
                         : -1.0;
  gst_object_unref(pipeline);
  bool paused_changed, duration_changed;
  {
    std::lock_guard<std::mutex> lk(me->lock_);
    if (c.generation != current_generation_locked())
      return;
    set_ended_locked(true);
    paused_changed = set_ended_paused_locked(true); /* HTML: the end pauses */
    if (duration >= 0)
      last_position = duration;
    duration_changed = me->notified_duration_ != duration;
    me->notified_duration_ = duration;
  }
  if (duration_changed)
    owner->notify(MediaElementOwner::Attribute::Duration);
  GST_INFO_OBJECT(element(), "playback ended%s", loop ? " (nothing to loop)" : "");
  end_tracks(false, false); /* ME-3 */
  apply_state();
  if (paused_changed)
    owner->notify(MediaElementOwner::Attribute::Paused);
  owner->notify(MediaElementOwner::Attribute::Ended);
}

/* ME-3, ME-4: only the deselected tracks end, only the newly selected
 * streams get (new) tracks; playback goes on. */
void Run::handle(const SelectTracks &)
{
  {
    std::lock_guard<std::mutex> lk(me->lock_);
    if (resource) {
      for (auto &b : resource->branches)
        b->selected = stream_selected_locked(b->is_video, b->kind_index);
    }
  }
  end_tracks(false, false, true);
  bool ready_for_tracks;
  {
    std::lock_guard<std::mutex> lk(me->lock_);
    ready_for_tracks = prerolled_locked() && resource && resource->media_found && !ended;
  }
  if (ready_for_tracks)
    expose_tracks();
  warn_unmatched_selection();
}

void Run::handle(const NotifyMuted &c)
{
  /* nothing on a pad after its pad-removed (emitted by this thread) */
  GstObject *parent = gst_object_get_parent(GST_OBJECT(c.pad.get()));
  if (!parent)
    return;
  gst_object_unref(parent);
  owner->notify_track_muted(c.pad.get());
}

void Run::handle(const DurationChanged &c)
{
  bool stale;
  {
    std::lock_guard<std::mutex> lk(me->lock_);
    stale = c.generation != current_generation_locked();
  }
  if (!stale)
    update_duration();
}

/* ------------------------------------------------------------- emissions */

bool Run::emission_begin()
{
  std::lock_guard<std::mutex> lk(me->lock_);
  if (std::this_thread::get_id() != control_id)
    return false;
  emitting++;
  me->cond_.notify_all(); /* a stop may be waiting for this */
  return true;
}

void Run::emission_end()
{
  std::unique_lock<std::mutex> lk(me->lock_);
  emitting--;
  /* a stop from another thread did not wait for this handler: the run is
   * torn down before this thread goes on (MediaElement::stop()) */
  me->cond_.wait(lk, [&] { return !handed_off || torn_down; });
}

namespace
{

template <typename F> void emit(Run *run, F &&f)
{
  bool counted = run->emission_begin();
  f();
  if (counted)
    run->emission_end();
}

} // namespace

void EmittingOwner::add_track_pad(GstPad *pad)
{
  emit(run_, [&] { real_->add_track_pad(pad); });
}

void EmittingOwner::remove_track_pad(GstPad *pad)
{
  emit(run_, [&] { real_->remove_track_pad(pad); });
}

void EmittingOwner::tracks_complete()
{
  emit(run_, [&] { real_->tracks_complete(); });
}

void EmittingOwner::notify(Attribute what)
{
  emit(run_, [&] { real_->notify(what); });
}

void EmittingOwner::notify_track_muted(GstPad *pad)
{
  emit(run_, [&] { real_->notify_track_muted(pad); });
}

/* ---------------------------------------------------------- control thread */

/* Stall watchdog: a media element that wants data (loading, or playing) and
 * got none for stall-timeout is an error, not a silent hang. */
bool Run::stalled_locked(std::chrono::steady_clock::time_point *deadline)
{
  gdouble timeout = me->stall_timeout_;
  if (!resource || resource->failed || timeout <= 0.0 || ended || resource->origin_left)
    return false;
  bool wants_data = !prerolled_locked() || (outer_playing && !paused_locked());
  if (!wants_data)
    return false;
  auto limit = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(std::min(timeout, 1e6)));
  *deadline = resource->last_data + limit;
  return true;
}

/* No byte read and nothing decoded for stall-timeout while the media element
 * wanted data (a server that stopped sending, a demuxer that swallowed its
 * error). Called and returns with @lk locked. */
void Run::report_stall(std::unique_lock<std::mutex> &lk)
{
  fail_locked(resource.get());
  std::string uri = resource->uri;
  gdouble timeout = me->stall_timeout_;
  GstElement *pipeline = pipeline_ref_locked();
  lk.unlock();
  GST_DEBUG_BIN_TO_DOT_FILE_WITH_TS(GST_BIN(pipeline), GST_DEBUG_GRAPH_SHOW_ALL,
                                    "mediacapturesrc-stalled");
  gst_object_unref(pipeline);
  GST_ELEMENT_ERROR(
      element(), RESOURCE, READ,
      (_("Could not play \"%s\": no data for %g s (stall-timeout)."), uri.c_str(), timeout),
      ("the media element stalled"));
  lk.lock();
}

void Run::control_loop()
{
  std::unique_lock<std::mutex> lk(me->lock_);
  control_id = std::this_thread::get_id();
  struct Exit {
    Run *run;
    ~Exit()
    {
      /* with the lock held again: a stop waits for this */
      run->exited = true;
      run->me->cond_.notify_all();
    }
  } exit_mark{this};
  for (;;) {
    auto ready_to_run = [&] { return quit || !commands.empty(); };
    std::chrono::steady_clock::time_point deadline;
    if (stalled_locked(&deadline)) {
      if (!me->cond_.wait_until(lk, deadline, ready_to_run)) {
        if (stalled_locked(&deadline) && std::chrono::steady_clock::now() >= deadline)
          report_stall(lk);
        continue;
      }
    } else {
      me->cond_.wait(lk, ready_to_run);
    }
    if (quit)
      break;
    Command c = std::move(commands.front());
    commands.pop_front();
    /* Only the last of a run of source changes matters. */
    if (std::holds_alternative<Load>(c) &&
        std::any_of(commands.begin(), commands.end(),
                    [](const Command &o) { return std::holds_alternative<Load>(o); }))
      continue;
    lk.unlock();
    std::visit([this](const auto &cmd) { handle(cmd); }, c);
    lk.lock();
  }
}

void control_thread(std::shared_ptr<Run> run)
{
  run->control_loop();
  GstElement *element = run->element();
  run.reset();
  gst_object_unref(element); /* taken by start() */
}

} // namespace mediacapture
