/* mediacapturesrc: the media element (see mediaelement.h).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Three objects, each with its own lifetime:
 * - MediaElement: the attributes the application sets; lives with the
 *   GstElement.
 * - Run: what exists while the element runs (the control thread and its
 *   commands, the state model, the tracks); built by start(), dropped by
 *   stop(). It is the tracks' TrackOwner.
 * - Resource: one load of a URI (the internal pipeline, its decoded streams
 *   as Branches, what it said so far); built by load(), dropped by
 *   teardown(). The internal pipeline's callbacks (streaming threads, bus
 *   sync handler) get its Branch or Resource and only act while it is the
 *   run's current one.
 *
 * Threads: internal streaming threads (appsink callbacks, probes, the bus
 * sync handler) only record and post commands; the control thread runs the
 * commands in order and emits every application-facing signal and notify,
 * never with the lock held. A handler that stops the element runs on that
 * thread: the run cannot be joined there, so it is joined later (or
 * detached) and unwinds on its own objects, never on the next run's. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "mediaelement.h"

#include <gst/app/gstappsink.h>
#include <gst/audio/audio.h>
#include <gst/base/gstbasesink.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <thread>
#include <variant>
#include <vector>

#include "capturetrack.h"
#include "mediaorigins.h"
#include "gstwebcaptureerror.h"
#include "gstwebcapturei18n.h"

GST_DEBUG_CATEGORY_EXTERN(gst_media_capture_src_debug);
#define GST_CAT_DEFAULT gst_media_capture_src_debug

namespace mediacapture
{

namespace
{

/* A stalled consumer never blocks the media element: a track queue holds at
 * most this much and drops the oldest, like any live source. */
constexpr size_t kMaxQueuedVideo = 30;
constexpr size_t kMaxQueuedAudio = 100;

/* A loop iteration must render at least this much media time to loop again. */
constexpr GstClockTime kMinLoopMedia = GST_MSECOND;

/* ME-9: audio keeps its pitch between these rates; outside, it is muted. */
constexpr gdouble kMinAudioRate = 0.5;
constexpr gdouble kMaxAudioRate = 4.0;

/* How long teardown lets a preroll in progress finish before NULL. */
constexpr GstClockTime kTeardownPrerollWait = GST_SECOND;

/* ---------------------------------------------------------------- commands */

/* Load @uri and start playback at @start seconds (ME-3: a source change). */
struct Load {
  std::string uri;
  gdouble start = 0.0;
};
/* The resource of @generation prerolled (or answered NO_PREROLL). */
struct Prerolled {
  guint generation;
};
/* The resource of @generation exposed all its decoded streams. */
struct Expose {
  guint generation;
};
/* The outer state or paused changed: the internal pipeline follows. */
struct ApplyState {
};
/* current-time set (seconds). */
struct Seek {
  gdouble position;
};
/* playback-rate set. */
struct SetRate {
  gdouble rate;
};
/* paused set by the application. */
struct SetPaused {
  bool paused;
};
/* The internal pipeline of @generation reached its end. */
struct Ended {
  guint generation;
};
/* video-track or audio-tracks set. */
struct SelectTracks {
};
/* A track's muted changed (emitted here, not by its pad task). */
struct NotifyMuted {
  std::shared_ptr<GstPad> pad;
};
/* The duration of @generation's media changed. */
struct DurationChanged {
  guint generation;
};

using Command = std::variant<Load, Prerolled, Expose, ApplyState, Seek, SetRate, SetPaused, Ended,
                             SelectTracks, NotifyMuted, DurationChanged>;

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

struct Resource;

/* One decoded stream of the internal pipeline that is captured. */
struct Branch {
  Resource *resource = nullptr;
  bool is_video = false;
  guint kind_index = 0;          /* among the medium's video (audio) streams */
  bool selected = false;         /* captured by a track (ME-1); under the lock */
  GstElement *appsink = nullptr; /* owned by the internal pipeline */
  GstElement *filter = nullptr;  /* audio: the capsfilter before the appsink */
  GstElement *tempo = nullptr;   /* audio: scaletempo between them, only while the rate is not
                                    1.0 (control thread and on_pad_added; see update_tempo) */
  GstCaps *caps = nullptr;       /* output caps, known when the stream is exposed */
  GstCaps *last_caps = nullptr;  /* last caps seen on a sample */
  Track *track = nullptr;        /* the live track capturing it; under the lock */
  bool eos = false;              /* the stream's content ended (under the lock) */
  GstTagList *tags = nullptr;    /* the stream's latest tags (under the lock) */
  guint tags_serial = 0;
  ~Branch()
  {
    gst_clear_caps(&caps);
    gst_clear_caps(&last_caps);
    if (tags)
      gst_tag_list_unref(tags);
  }
};

/* One load of a URI: the internal pipeline and what it said so far. Fields
 * under the media element's lock unless said otherwise. */
struct Resource {
  Run *run = nullptr;
  guint generation = 0; /* set once, before the pipeline runs */
  std::string uri;
  GstElement *pipeline = nullptr;  /* strong; set once */
  GstElement *decodebin = nullptr; /* owned by the pipeline; set once */
  std::vector<std::unique_ptr<Branch>> branches;
  guint video_seen = 0;
  guint audio_seen = 0;
  bool live = false;           /* it answered NO_PREROLL */
  bool failed = false;         /* it will not preroll (error, stall, origin left) */
  bool error_reported = false; /* the first error was posted; the rest only repeat it */
  bool origin_left = false;    /* redirected out of allowed-origins (ME-10) */
  std::chrono::steady_clock::time_point last_data; /* last byte read or sample decoded */
  guint64 samples = 0;
  /* media time covered by the current loop iteration (ME-5 loop guard) */
  GstClockTime iteration_media_end = GST_CLOCK_TIME_NONE;
  std::string first_warning;   /* for an empty medium */
  gdouble pending_start = 0.0; /* applied at the first preroll */
  /* the Prerolled command found decoded media: tracks may be exposed (an
   * Expose command queued before it must not expose an empty medium's) */
  bool media_found = false;

  ~Resource() { gst_clear_object(&pipeline); }
};

/* One run of the element (READY->PAUSED to PAUSED->READY). */
class Run final : public TrackOwner
{
public:
  explicit Run(MediaElement *me) : me(me), owner(me->owner_) {}
  ~Run()
  {
    /* stop() tore the resource down, ended the tracks and joined the
     * thread or left it to reap_finished_runs(), which joins or detaches
     * it: only a guard, never taken */
    if (thread.joinable())
      thread.detach();
  }

  MediaElement *const me;
  MediaElementOwner *const owner;

  /* under me->lock_ */
  std::thread thread;
  std::deque<Command> commands;
  bool quit = false; /* stopped: the control thread only unwinds */
  bool outer_playing = false;
  bool eos_requested = false; /* EOS sent to the element: no more tracks */

  /* the state model (HTMLMediaElement); each changes in its set_*_locked() */
  NetworkState network = NetworkState::Empty;
  ReadyState ready = ReadyState::HaveNothing;
  bool ended = false;
  bool ended_paused = false; /* paused only because playback ended (HTML) */
  bool seeking = false;
  gdouble last_position = 0.0;

  guint generation = 0; /* of the last resource */
  std::unique_ptr<Resource> resource;
  std::vector<std::shared_ptr<Track>> tracks;
  guint next_video_index = 0;
  guint next_audio_index = 0;

  /* TrackOwner */
  std::mutex &lock() override { return me->lock_; }
  GstElement *element() override { return owner->element(); }
  bool hard_muted_locked(const Track &t) override;
  bool playing_locked() override { return outer_playing; }
  GstTagList *stream_tags_locked(const Track &t, guint *serial) override;
  void track_finished_locked() override { me->cond_.notify_all(); }
  void notify_muted(GstPad *pad) override;

  void post_locked(Command c);
  void post(Command c);
  void control_loop();
  void end_tracks(bool drop_queued, bool force, bool only_deselected = false);
  void teardown();
  std::unique_ptr<Resource> detach_resource(bool *prerolled);
  static void shut_down(std::unique_ptr<Resource> res, bool prerolled);

  bool paused_locked() { return me->paused_ || ended_paused; }
  gdouble rate_locked() { return me->rate_; }
  bool uri_allowed_locked(const gchar *uri) { return uri_allowed(me->allowed_origins_, uri); }
  /* ME-1: is the @kind_index-th video (audio) stream selected? */
  bool stream_selected_locked(bool is_video, guint kind_index);
  bool prerolled_locked() { return ready == ReadyState::HaveEnoughData; }
  guint current_generation_locked() { return resource ? resource->generation : 0; }
  bool current_locked(const Resource *res) { return resource.get() == res; }
  GstElement *pipeline_ref_locked()
  {
    return resource ? GST_ELEMENT(gst_object_ref(resource->pipeline)) : nullptr;
  }
  void wake_tracks_locked()
  {
    for (auto &t : tracks)
      t->cond.notify_all();
  }
  void set_network_state_locked(NetworkState s);
  void set_ready_state_locked(ReadyState s);
  /* these return whether the attribute the application sees changed */
  bool set_ended_locked(bool e);
  bool set_ended_paused_locked(bool p);
  void set_seeking_locked(bool s);
  /* @res failed: it will not preroll, nothing follows it. */
  void fail_locked(Resource *res);

  void handle(const Load &c);
  void handle(const Prerolled &c);
  void handle(const Expose &c);
  void handle(const ApplyState &c);
  void handle(const Seek &c);
  void handle(const SetRate &c);
  void handle(const SetPaused &c);
  void handle(const Ended &c);
  void handle(const SelectTracks &c);
  void handle(const NotifyMuted &c);
  void handle(const DurationChanged &c);

private:
  bool stalled_locked(std::chrono::steady_clock::time_point *deadline);
  void report_stall(std::unique_lock<std::mutex> &lk);
  void load(const std::string &uri, gdouble start);
  void update_tempo(gdouble rate);
  void seek_to(gdouble position, gdouble rate);
  void restart(gdouble position);
  void expose_tracks();
  void apply_state();
  void update_duration();
  void post_empty_media_error(const std::string &uri, const std::string &warning);
};

/* ------------------------------------------------------------- the model */

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
  if (s == ReadyState::HaveEnoughData)
    set_network_state_locked(NetworkState::Idle);
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

void Run::set_seeking_locked(bool s)
{
  if (seeking == s)
    return;
  GST_DEBUG_OBJECT(element(), "seeking %d", s);
  seeking = s;
}

void Run::fail_locked(Resource *res)
{
  res->failed = true;
  if (current_locked(res))
    set_network_state_locked(NetworkState::NoSource);
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

/* Creates the tracks of every selected branch and exposes them together,
 * then no-more-pads (ME-2, WPT creation.html). Control thread. */
void Run::expose_tracks()
{
  std::vector<std::shared_ptr<Track>> created;
  guint group = gst_util_group_id_next();
  {
    std::lock_guard<std::mutex> lk(me->lock_);
    if (quit || !resource || eos_requested || ended)
      return;
    for (auto &b : resource->branches) {
      if (!b->selected || b->track)
        continue;
      auto t = std::make_shared<Track>();
      t->owner = this;
      t->branch = b.get();
      t->is_video = b->is_video;
      t->index = b->is_video ? next_video_index++ : next_audio_index++;
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
    owner->remove_track_pad(t->pad);
  }
  ending.clear(); /* freed here, unless expose_tracks() still holds one */
}

/* ------------------------------------------------- internal pipeline */

static void on_appsink_eos(GstAppSink *sink, gpointer user_data)
{
  Branch *b = static_cast<Branch *>(user_data);
  Run *run = b->resource->run;
  std::lock_guard<std::mutex> lk(run->lock());
  b->eos = true; /* outside this track's content from now on (ME-6) */
  if (b->track)
    b->track->cond.notify_all();
}

static GstFlowReturn on_appsink_preroll(GstAppSink *sink, gpointer user_data)
{
  /* A prerolled frame is what a paused element shows; muted tracks send
   * nothing of it (ME-7). */
  GstSample *s = gst_app_sink_pull_preroll(sink);
  if (s) {
    Branch *b = static_cast<Branch *>(user_data);
    std::lock_guard<std::mutex> lk(b->resource->run->lock());
    b->resource->samples++;
    gst_sample_unref(s);
  }
  return GST_FLOW_OK;
}

static GstFlowReturn on_appsink_sample(GstAppSink *sink, gpointer user_data)
{
  Branch *b = static_cast<Branch *>(user_data);
  Resource *res = b->resource;
  Run *run = res->run;
  GstSample *sample = gst_app_sink_pull_sample(sink);
  if (!sample)
    return GST_FLOW_FLUSHING;

  GstBuffer *buffer = gst_sample_get_buffer(sample);
  const GstSegment *segment = gst_sample_get_segment(sample);
  GstCaps *caps = gst_sample_get_caps(sample);
  if (!buffer || !segment || !GST_BUFFER_PTS_IS_VALID(buffer)) {
    gst_sample_unref(sample);
    return GST_FLOW_OK;
  }
  GstClockTime rt = gst_segment_to_running_time(segment, GST_FORMAT_TIME, GST_BUFFER_PTS(buffer));
  if (!GST_CLOCK_TIME_IS_VALID(rt)) {
    gst_sample_unref(sample);
    return GST_FLOW_OK;
  }
  /* The internal sink rendered this buffer at clock time base + rt + latency
   * of the internal pipeline, on the outer clock: that moment in outer running
   * time is the captured buffer's timestamp. */
  GstClockTime clock_time = gst_element_get_base_time(GST_ELEMENT(sink)) + rt +
                            gst_base_sink_get_latency(GST_BASE_SINK(sink));
  GST_LOG_OBJECT(run->element(), "%s sample rt %" GST_TIME_FORMAT " -> clock %" GST_TIME_FORMAT,
                 b->is_video ? "video" : "audio", GST_TIME_ARGS(rt), GST_TIME_ARGS(clock_time));
  GstBuffer *out = gst_buffer_ref(buffer);
  out = gst_buffer_make_writable(out);
  /* converted to outer running time when pushed, with the base time of
   * that moment: the outer running time may restart meanwhile */
  GST_BUFFER_PTS(out) = clock_time;
  if (GST_BUFFER_DURATION_IS_VALID(out) && segment->rate > 0)
    GST_BUFFER_DURATION(out) = (GstClockTime)(GST_BUFFER_DURATION(out) / segment->rate);

  GstClockTime stream_end =
      gst_segment_to_stream_time(segment, GST_FORMAT_TIME, GST_BUFFER_PTS(buffer));
  if (GST_CLOCK_TIME_IS_VALID(stream_end) && GST_BUFFER_DURATION_IS_VALID(buffer))
    stream_end += GST_BUFFER_DURATION(buffer);

  std::lock_guard<std::mutex> lk(run->lock());
  res->last_data = std::chrono::steady_clock::now();
  res->samples++;
  if (GST_CLOCK_TIME_IS_VALID(stream_end) && segment->start < stream_end) {
    GstClockTime covered = stream_end - segment->start;
    if (!GST_CLOCK_TIME_IS_VALID(res->iteration_media_end) || covered > res->iteration_media_end)
      res->iteration_media_end = covered;
  }
  Track *t = b->track;
  if (!t || t->eos_pending || res->origin_left) {
    gst_buffer_unref(out);
    gst_sample_unref(sample);
    return GST_FLOW_OK;
  }
  Item it;
  it.buffer = out;
  if (caps && (!b->last_caps || !gst_caps_is_equal(caps, b->last_caps))) {
    gst_caps_replace(&b->last_caps, caps);
    it.caps = gst_caps_ref(caps);
  }
  if (!run->paused_locked()) {
    t->got_content = true;
    t->gap_muted = false;
    t->gap_since = GST_CLOCK_TIME_NONE;
  }
  t->queue.push_back(it);
  /* A live source drops what a stalled consumer cannot take. */
  size_t max = t->is_video ? kMaxQueuedVideo : kMaxQueuedAudio;
  while (t->queue.size() > max) {
    Item &old = t->queue.front();
    if (old.caps) {
      /* keep the caps change for the next item */
      if (!t->queue[1].caps)
        t->queue[1].caps = gst_caps_ref(old.caps);
      gst_caps_unref(old.caps);
    }
    gst_buffer_unref(old.buffer);
    t->queue.pop_front();
  }
  t->cond.notify_all();
  gst_sample_unref(sample);
  return GST_FLOW_OK;
}

static GstPadProbeReturn branch_tag_probe(GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  GstEvent *ev = GST_PAD_PROBE_INFO_EVENT(info);
  if (GST_EVENT_TYPE(ev) != GST_EVENT_TAG)
    return GST_PAD_PROBE_OK;
  GstTagList *tags = nullptr;
  gst_event_parse_tag(ev, &tags);
  if (gst_tag_list_get_scope(tags) != GST_TAG_SCOPE_STREAM)
    return GST_PAD_PROBE_OK;
  Branch *b = static_cast<Branch *>(user_data);
  std::lock_guard<std::mutex> lk(b->resource->run->lock());
  if (b->tags)
    gst_tag_list_unref(b->tags);
  b->tags = gst_tag_list_ref(tags);
  b->tags_serial++;
  if (b->track)
    b->track->cond.notify_all();
  return GST_PAD_PROBE_OK;
}

static GstElement *make_element(const gchar *factory)
{
  GstElement *e = gst_element_factory_make(factory, nullptr);
  if (!e)
    GST_WARNING("missing element %s", factory);
  return e;
}

static GstPadProbeReturn source_probe(GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  /* ME-10: an HTTP redirect that leaves the allowed origins must not leak a
   * byte of the new origin. HTTP sources announce each response, before its
   * data, with a sticky "http-headers" event carrying the redirection-uri. */
  Resource *res = static_cast<Resource *>(user_data);
  Run *run = res->run;

  if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent *ev = GST_PAD_PROBE_INFO_EVENT(info);
    const GstStructure *st = gst_event_get_structure(ev);
    if (GST_EVENT_TYPE(ev) != GST_EVENT_CUSTOM_DOWNSTREAM_STICKY || !st ||
        !gst_structure_has_name(st, "http-headers"))
      return GST_PAD_PROBE_OK;
    const gchar *redirect = gst_structure_get_string(st, "redirection-uri");
    if (!redirect)
      return GST_PAD_PROBE_OK;

    bool allowed, first = false, have_tracks = false;
    {
      std::lock_guard<std::mutex> lk(run->lock());
      allowed = run->uri_allowed_locked(redirect);
      if (!allowed) {
        first = !res->origin_left;
        res->origin_left = true; /* mutes every track */
        have_tracks = !run->tracks.empty();
        if (!have_tracks)
          run->fail_locked(res); /* the SecurityError says it all */
        run->wake_tracks_locked();
      }
    }
    if (!allowed && first) {
      GST_WARNING_OBJECT(run->element(), "redirected to %s, outside allowed-origins: muted",
                         redirect);
      if (!have_tracks) {
        /* Nothing known of the media yet: the load itself fails. */
        GST_WEB_ERROR_F(run->element(), GST_WEB_ERROR_SECURITY, nullptr, nullptr,
                        _("\"%s\" redirected to \"%s\", which is not in allowed-origins"),
                        res->uri.c_str(), redirect);
      }
    }
    return allowed ? GST_PAD_PROBE_OK : GST_PAD_PROBE_DROP;
  }

  std::lock_guard<std::mutex> lk(run->lock());
  if (res->origin_left)
    return GST_PAD_PROBE_DROP;
  res->last_data = std::chrono::steady_clock::now(); /* stall watchdog */
  return GST_PAD_PROBE_OK;
}

static void on_source_setup(GstElement *uridecodebin, GstElement *source, gpointer user_data)
{
  GstPad *pad = gst_element_get_static_pad(source, "src");
  if (pad) {
    gst_pad_add_probe(pad,
                      (GstPadProbeType)(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST |
                                        GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
                      source_probe, user_data, nullptr);
    gst_object_unref(pad);
  }
}

/* Ogg from a stream source (HTTP): in push mode oggdemux 1.22 finds the
 * duration with a flushing seek near the end and back; a small file is read
 * again from its start, its headers are sent again, and the seek back can
 * flush a decoder while it negotiates them: theoradec then fails for good
 * ("Could not decode stream"). With uridecodebin's download buffering (only
 * used when the size is known) oggdemux pulls from the downloaded data and
 * seeks on its own. Runs before uridecodebin's own have-type handler, which
 * reads "download" (docs/plugins/mediacapturesrc.md, Limitations). */
static void on_stream_type_found(GstElement *typefind, guint probability, GstCaps *caps,
                                 gpointer user_data)
{
  if (caps && gst_caps_get_size(caps) > 0 &&
      g_str_has_suffix(gst_structure_get_name(gst_caps_get_structure(caps, 0)), "/ogg"))
    g_object_set(G_OBJECT(user_data), "download", TRUE, nullptr);
}

static void on_decodebin_element_added(GstBin *uridecodebin, GstElement *element,
                                       gpointer user_data)
{
  /* uridecodebin adds its stream typefind, then connects to it */
  GstElementFactory *f = gst_element_get_factory(element);
  if (f && g_strcmp0(gst_plugin_feature_get_name(GST_PLUGIN_FEATURE(f)), "typefind") == 0)
    g_signal_connect(element, "have-type", G_CALLBACK(on_stream_type_found), uridecodebin);
}

/* uridecodebin exposes decoded streams in a stable order; a stream is
 * captured when selected (ME-1), else it goes to a fakesink. */
static void on_pad_added(GstElement *decodebin, GstPad *pad, gpointer user_data)
{
  Resource *res = static_cast<Resource *>(user_data);
  Run *run = res->run;
  GstElement *self = run->element();
  GstCaps *caps = gst_pad_get_current_caps(pad);
  if (!caps)
    caps = gst_pad_query_caps(pad, nullptr);
  const gchar *name = gst_structure_get_name(gst_caps_get_structure(caps, 0));
  bool is_video = g_str_has_prefix(name, "video/");
  bool is_audio = g_str_has_prefix(name, "audio/");

  bool selected = false;
  guint kind_index = 0;
  GstElement *pipeline;
  gdouble rate;
  {
    std::lock_guard<std::mutex> lk(run->lock());
    /* only the current media element's streams (an old one may still be
     * shutting down) */
    pipeline = run->current_locked(res) ? GST_ELEMENT(gst_object_ref(res->pipeline)) : nullptr;
    rate = run->rate_locked();
    if (is_video) {
      kind_index = res->video_seen++;
      selected = run->stream_selected_locked(true, kind_index);
    } else if (is_audio) {
      kind_index = res->audio_seen++;
      selected = run->stream_selected_locked(false, kind_index);
    }
  }
  if (!pipeline) {
    gst_caps_unref(caps);
    return;
  }
  GST_DEBUG_OBJECT(self, "decoded stream %" GST_PTR_FORMAT " selected %d", caps, selected);
  /* Every audio and video stream is captured by an appsink, selected or not:
   * a selection change then only adds and ends tracks (ME-3, ME-4). */
  bool captured = is_audio || is_video;

  std::vector<GstElement *> chain;
  GstElement *sink = nullptr;
  GstCaps *out_caps = nullptr;
  GstElement *filter = nullptr, *tempo = nullptr;
  if (captured && is_audio) {
    /* ME-9: scaletempo (pitch kept) only while the rate is not 1.0; it takes
     * the F32 the capsfilter fixes, so adding it later (update_tempo)
     * changes no caps. */
    GstElement *conv = make_element("audioconvert");
    GstElement *resample = make_element("audioresample");
    filter = make_element("capsfilter");
    bool want_tempo = rate != 1.0;
    tempo = want_tempo ? make_element("scaletempo") : nullptr;
    out_caps = gst_caps_copy(caps);
    GstStructure *s = gst_caps_get_structure(out_caps, 0);
    gst_structure_set(s, "format", G_TYPE_STRING, GST_AUDIO_NE(F32), "layout", G_TYPE_STRING,
                      "interleaved", nullptr);
    if (conv && resample && filter && (tempo || !want_tempo)) {
      g_object_set(filter, "caps", out_caps, nullptr);
      chain = {conv, resample, filter};
      if (tempo)
        chain.push_back(tempo);
    } else {
      for (GstElement *e : {conv, resample, filter, tempo})
        if (e)
          gst_object_unref(e);
      filter = tempo = nullptr;
      GST_ELEMENT_ERROR(self, CORE, MISSING_PLUGIN,
                        (_("Missing element to play audio (audioconvert, audioresample or "
                           "scaletempo).")),
                        (nullptr));
      captured = false;
      gst_clear_caps(&out_caps);
    }
  } else if (captured && is_video) {
    out_caps = gst_caps_ref(caps);
  }
  if (captured) {
    sink = make_element("appsink");
    g_object_set(sink, "sync", TRUE, "enable-last-sample", FALSE, "emit-signals", FALSE, "async",
                 TRUE, nullptr);
  } else {
    sink = make_element("fakesink");
    g_object_set(sink, "sync", TRUE, "enable-last-sample", FALSE, nullptr);
  }
  chain.push_back(sink);
  for (GstElement *e : chain)
    gst_bin_add(GST_BIN(pipeline), e);
  for (size_t i = 0; i + 1 < chain.size(); i++)
    gst_element_link(chain[i], chain[i + 1]);

  if (captured) {
    auto branch = std::make_unique<Branch>();
    branch->resource = res;
    branch->is_video = is_video;
    branch->kind_index = kind_index;
    branch->selected = selected;
    branch->appsink = sink;
    branch->filter = filter;
    branch->tempo = tempo;
    branch->caps = out_caps;
    GstAppSinkCallbacks cb = {};
    cb.eos = on_appsink_eos;
    cb.new_preroll = on_appsink_preroll;
    cb.new_sample = on_appsink_sample;
    gst_app_sink_set_callbacks(GST_APP_SINK(sink), &cb, branch.get(), nullptr);
    GstPad *appsink_pad = gst_element_get_static_pad(sink, "sink");
    gst_pad_add_probe(appsink_pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, branch_tag_probe,
                      branch.get(), nullptr);
    gst_object_unref(appsink_pad);
    std::lock_guard<std::mutex> lk(run->lock());
    res->branches.push_back(std::move(branch));
  }
  for (GstElement *e : chain)
    gst_element_sync_state_with_parent(e);
  GstPad *sinkpad = gst_element_get_static_pad(chain.front(), "sink");
  if (gst_pad_link(pad, sinkpad) != GST_PAD_LINK_OK)
    GST_WARNING_OBJECT(self, "could not link decoded stream");
  gst_object_unref(sinkpad);
  gst_caps_unref(caps);
  gst_object_unref(pipeline);
}

static void on_no_more_pads(GstElement *decodebin, gpointer user_data)
{
  Resource *res = static_cast<Resource *>(user_data);
  Run *run = res->run;
  std::lock_guard<std::mutex> lk(run->lock());
  if (!run->current_locked(res))
    return;
  if (run->ready < ReadyState::HaveMetadata)
    run->set_ready_state_locked(ReadyState::HaveMetadata);
  /* Metadata known, selection determined: the tracks appear (ME-2), from the
   * control thread (pad-added handlers may stop the element). */
  run->post_locked(Expose{res->generation});
}

static void forward_error(Resource *res, GstMessage *msg)
{
  GstElement *self = res->run->element();
  g_autoptr(GError) err = nullptr;
  g_autofree gchar *debug = nullptr;
  gst_message_parse_error(msg, &err, &debug);
  g_autofree gchar *text =
      g_strdup_printf(_("Could not play \"%s\": %s"), res->uri.c_str(), err->message);
  GST_WARNING_OBJECT(self, "%s", text);
  g_autoptr(GError) out = g_error_new_literal(err->domain, err->code, text);
  g_autofree gchar *dbg =
      g_strdup_printf("%s (from %s)", debug ? debug : "",
                      GST_MESSAGE_SRC_NAME(msg) ? GST_MESSAGE_SRC_NAME(msg) : "?");
  res->run->owner->post_message(gst_message_new_error(GST_OBJECT(self), out, dbg));
}

static void on_bus_error(Resource *res, GstMessage *msg)
{
  Run *run = res->run;
  bool first, muted_by_origin;
  {
    std::lock_guard<std::mutex> lk(run->lock());
    run->fail_locked(res);
    /* the first error says why; what follows (a failed state change...) only repeats it */
    first = !res->error_reported;
    res->error_reported = true;
    /* ME-10: after a redirect out of allowed-origins the media element
     * starves (its data is dropped) and its demuxer may fail: the tracks
     * are muted, as documented, and that is all the application sees. */
    muted_by_origin = res->origin_left && !run->tracks.empty();
  }
  if (first)
    GST_DEBUG_BIN_TO_DOT_FILE_WITH_TS(GST_BIN(res->pipeline), GST_DEBUG_GRAPH_SHOW_ALL,
                                      "mediacapturesrc-error");
  if (first && muted_by_origin) {
    g_autoptr(GError) err = nullptr;
    gst_message_parse_error(msg, &err, nullptr);
    GST_WARNING_OBJECT(run->element(), "after leaving allowed-origins: %s (tracks stay muted)",
                       err->message);
  } else if (first) {
    forward_error(res, msg);
  }
}

static GstBusSyncReply internal_bus_handler(GstBus *bus, GstMessage *msg, gpointer user_data)
{
  Resource *res = static_cast<Resource *>(user_data);
  Run *run = res->run;
  bool current;
  {
    std::lock_guard<std::mutex> lk(run->lock());
    current = run->current_locked(res);
  }
  if (!current) {
    GST_DEBUG_OBJECT(run->element(), "dropping %s of an old media element",
                     GST_MESSAGE_TYPE_NAME(msg));
    gst_message_unref(msg); /* a sync handler that drops owns the message */
    return GST_BUS_DROP;    /* a media element being torn down */
  }
  switch (GST_MESSAGE_TYPE(msg)) {
  case GST_MESSAGE_ERROR:
    on_bus_error(res, msg);
    break;
  case GST_MESSAGE_WARNING: {
    bool drop;
    {
      std::lock_guard<std::mutex> lk(run->lock());
      drop = res->origin_left;
      if (res->first_warning.empty()) {
        g_autoptr(GError) err = nullptr;
        gst_message_parse_warning(msg, &err, nullptr);
        res->first_warning = err->message;
      }
    }
    if (!drop)
      run->owner->post_message(gst_message_ref(msg));
    break;
  }
  case GST_MESSAGE_ELEMENT:
    /* missing-plugin messages and warnings reach the application */
    run->owner->post_message(gst_message_ref(msg));
    break;
  case GST_MESSAGE_DURATION_CHANGED:
    run->post(DurationChanged{res->generation});
    break;
  case GST_MESSAGE_EOS:
    run->post(Ended{res->generation});
    break;
  case GST_MESSAGE_ASYNC_DONE: {
    std::lock_guard<std::mutex> lk(run->lock());
    if (run->current_locked(res) && !run->prerolled_locked()) {
      run->set_ready_state_locked(ReadyState::HaveEnoughData);
      run->post_locked(Prerolled{res->generation});
    }
    break;
  }
  default:
    break;
  }
  gst_message_unref(msg); /* dropped: the handler owns it */
  return GST_BUS_DROP;
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
  set_seeking_locked(false);
  for (auto &b : res->branches) {
    if (b->track)
      b->track->branch = nullptr;
    b->track = nullptr;
  }
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
        if (resource && resource->pipeline == pipeline && !prerolled_locked()) {
          resource->live = true;
          set_ready_state_locked(ReadyState::HaveEnoughData);
          post_locked(Prerolled{resource->generation});
          first = true;
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
  g_signal_connect(decodebin, "pad-added", G_CALLBACK(on_pad_added), res.get());
  g_signal_connect(decodebin, "no-more-pads", G_CALLBACK(on_no_more_pads), res.get());
  g_signal_connect(decodebin, "source-setup", G_CALLBACK(on_source_setup), res.get());
  g_signal_connect(decodebin, "element-added", G_CALLBACK(on_decodebin_element_added), nullptr);
  gst_bin_add(GST_BIN(res->pipeline), decodebin);
  GstBus *bus = gst_element_get_bus(res->pipeline);
  gst_bus_set_sync_handler(bus, internal_bus_handler, res.get(), nullptr);
  gst_object_unref(bus);
  {
    std::lock_guard<std::mutex> lk(me->lock_);
    res->generation = ++generation;
    resource = std::move(res);
  }
  apply_state();
}

/* A scaletempo going into (or out of) an audio branch, between its
 * capsfilter and its appsink, when the capsfilter's src pad is idle. */
struct TempoChange {
  GstElement *pipeline, *filter, *tempo, *appsink;
  bool insert;
  ~TempoChange()
  {
    for (GstElement *e : {pipeline, filter, tempo, appsink})
      gst_object_unref(e);
  }
};

static GstPadProbeReturn tempo_idle_probe(GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  TempoChange *c = static_cast<TempoChange *>(user_data);
  if (c->insert) {
    gst_element_unlink(c->filter, c->appsink);
    gst_bin_add(GST_BIN(c->pipeline), c->tempo); /* not floating: the bin takes its own ref */
    gst_element_link_many(c->filter, c->tempo, c->appsink, nullptr);
    gst_element_sync_state_with_parent(c->tempo);
  } else {
    gst_element_unlink_many(c->filter, c->tempo, c->appsink, nullptr);
    gst_element_link(c->filter, c->appsink);
    gst_element_set_state(c->tempo, GST_STATE_NULL);
    gst_bin_remove(GST_BIN(c->pipeline), c->tempo);
  }
  return GST_PAD_PROBE_REMOVE;
}

/* ME-9: audio is time-stretched (scaletempo, pitch kept) only while the rate
 * is not 1.0; at 1.0 it goes from the capsfilter to the appsink as decoded.
 * Control thread (which also owns the branches' lifetime), before a seek
 * at @rate: the seek's flush then brings the new segment through the new
 * chain. */
void Run::update_tempo(gdouble rate)
{
  bool want = rate != 1.0;
  std::vector<TempoChange *> changes;
  bool missing = false;
  {
    std::lock_guard<std::mutex> lk(me->lock_);
    if (resource) {
      for (auto &b : resource->branches) {
        if (b->is_video || !b->filter || (b->tempo != nullptr) == want)
          continue;
        GstElement *tempo = want ? make_element("scaletempo") : b->tempo;
        if (!tempo) {
          missing = true;
          continue;
        }
        if (want)
          gst_object_ref_sink(tempo);
        else
          gst_object_ref(tempo);
        changes.push_back(new TempoChange{GST_ELEMENT(gst_object_ref(resource->pipeline)),
                                          GST_ELEMENT(gst_object_ref(b->filter)), tempo,
                                          GST_ELEMENT(gst_object_ref(b->appsink)), want});
        b->tempo = want ? tempo : nullptr;
      }
    }
  }
  if (missing)
    GST_ELEMENT_WARNING(element(), CORE, MISSING_PLUGIN,
                        (_("Missing element to play audio (audioconvert, audioresample or "
                           "scaletempo).")),
                        ("audio plays at rate %g without keeping its pitch", rate));
  for (TempoChange *c : changes) {
    GST_DEBUG_OBJECT(element(), "%s scaletempo for rate %g", c->insert ? "adding" : "removing",
                     rate);
    GstPad *pad = gst_element_get_static_pad(c->filter, "src");
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_IDLE, tempo_idle_probe, c,
                      [](gpointer p) { delete static_cast<TempoChange *>(p); });
    gst_object_unref(pad);
  }
}

void Run::seek_to(gdouble position, gdouble rate)
{
  update_tempo(rate);
  GstElement *pipeline;
  {
    std::lock_guard<std::mutex> lk(me->lock_);
    pipeline = pipeline_ref_locked();
    if (pipeline)
      set_seeking_locked(true);
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
  gboolean ok = gst_element_seek(pipeline, rate, GST_FORMAT_TIME,
                                 (GstSeekFlags)(GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_ACCURATE),
                                 GST_SEEK_TYPE_SET, pos, GST_SEEK_TYPE_NONE, GST_CLOCK_TIME_NONE);
  GST_DEBUG_OBJECT(element(), "seek to %" GST_TIME_FORMAT " rate %f: %d", GST_TIME_ARGS(pos), rate,
                   ok);
  {
    /* After a flushing seek every stream has content again until it says
     * otherwise. */
    std::lock_guard<std::mutex> lk(me->lock_);
    set_seeking_locked(false);
    if (resource && resource->pipeline == pipeline) {
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
}

void Run::handle(const NotifyMuted &c)
{
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

static void control_thread(std::shared_ptr<Run> run)
{
  run->control_loop();
  GstElement *element = run->element();
  run.reset();
  gst_object_unref(element); /* taken by start() */
}

/* ------------------------------------------------------------ MediaElement */

MediaElement::MediaElement(MediaElementOwner *owner) : owner_(owner) {}

MediaElement::~MediaElement()
{
  reap_finished_runs();
  g_strfreev(allowed_origins_);
}

bool MediaElement::paused_locked()
{
  return run_ ? run_->paused_locked() : paused_;
}

void MediaElement::set_src(const std::string &uri)
{
  std::lock_guard<std::mutex> lk(lock_);
  src_ = uri;
  if (run_)
    run_->post_locked(Load{uri, 0.0});
}

std::string MediaElement::src()
{
  std::lock_guard<std::mutex> lk(lock_);
  return src_;
}

void MediaElement::set_paused(bool paused)
{
  std::lock_guard<std::mutex> lk(lock_);
  paused_ = paused;
  if (run_) {
    run_->set_ended_paused_locked(false); /* the application's own from now on */
    run_->wake_tracks_locked();
    run_->post_locked(SetPaused{paused});
  }
}

bool MediaElement::paused()
{
  std::lock_guard<std::mutex> lk(lock_);
  return paused_locked();
}

void MediaElement::set_loop(bool loop)
{
  std::lock_guard<std::mutex> lk(lock_);
  loop_ = loop;
}

bool MediaElement::loop()
{
  std::lock_guard<std::mutex> lk(lock_);
  return loop_;
}

bool MediaElement::set_playback_rate(gdouble rate)
{
  std::lock_guard<std::mutex> lk(lock_);
  if (rate_ == rate)
    return false;
  rate_ = rate;
  if (run_) {
    run_->wake_tracks_locked();
    run_->post_locked(SetRate{rate});
  }
  return true;
}

gdouble MediaElement::playback_rate()
{
  std::lock_guard<std::mutex> lk(lock_);
  return rate_;
}

void MediaElement::set_current_time(gdouble position)
{
  std::lock_guard<std::mutex> lk(lock_);
  if (run_) {
    run_->last_position = position;
    run_->post_locked(Seek{position});
  } else {
    default_start_ = position; /* where the next run starts */
  }
}

gdouble MediaElement::current_time()
{
  GstElement *pipeline = nullptr;
  gdouble position;
  {
    std::lock_guard<std::mutex> lk(lock_);
    if (!run_)
      return default_start_;
    position = run_->last_position;
    if (!run_->ended)
      pipeline = run_->pipeline_ref_locked();
  }
  if (pipeline) {
    gint64 v;
    if (gst_element_query_position(pipeline, GST_FORMAT_TIME, &v))
      position = (gdouble)v / GST_SECOND;
    gst_object_unref(pipeline);
  }
  return position;
}

gdouble MediaElement::duration()
{
  GstElement *pipeline = nullptr;
  {
    std::lock_guard<std::mutex> lk(lock_);
    if (run_)
      pipeline = run_->pipeline_ref_locked();
  }
  gdouble duration = -1.0;
  if (pipeline) {
    gint64 v;
    if (gst_element_query_duration(pipeline, GST_FORMAT_TIME, &v))
      duration = (gdouble)v / GST_SECOND;
    gst_object_unref(pipeline);
  }
  return duration;
}

bool MediaElement::ended()
{
  std::lock_guard<std::mutex> lk(lock_);
  return run_ && run_->ended;
}

void MediaElement::set_video_track(gint index)
{
  std::lock_guard<std::mutex> lk(lock_);
  video_track_ = index;
  if (run_)
    run_->post_locked(SelectTracks{});
}

gint MediaElement::video_track()
{
  std::lock_guard<std::mutex> lk(lock_);
  return video_track_;
}

bool MediaElement::set_audio_tracks(const gchar *spec)
{
  std::vector<gint> list;
  bool all;
  if (!parse_audio_tracks(spec, &list, &all))
    return false;
  std::lock_guard<std::mutex> lk(lock_);
  audio_tracks_ = spec;
  if (run_)
    run_->post_locked(SelectTracks{});
  return true;
}

std::string MediaElement::audio_tracks()
{
  std::lock_guard<std::mutex> lk(lock_);
  return audio_tracks_;
}

void MediaElement::set_allowed_origins(const gchar *const *origins)
{
  std::lock_guard<std::mutex> lk(lock_);
  g_strfreev(allowed_origins_);
  allowed_origins_ = g_strdupv((gchar **)origins);
}

gchar **MediaElement::dup_allowed_origins()
{
  std::lock_guard<std::mutex> lk(lock_);
  return g_strdupv(allowed_origins_);
}

void MediaElement::set_stall_timeout(gdouble seconds)
{
  std::lock_guard<std::mutex> lk(lock_);
  stall_timeout_ = seconds;
  cond_.notify_all();
}

gdouble MediaElement::stall_timeout()
{
  std::lock_guard<std::mutex> lk(lock_);
  return stall_timeout_;
}

NetworkState MediaElement::network_state()
{
  std::lock_guard<std::mutex> lk(lock_);
  return run_ ? run_->network : NetworkState::Empty;
}

ReadyState MediaElement::ready_state()
{
  std::lock_guard<std::mutex> lk(lock_);
  return run_ ? run_->ready : ReadyState::HaveNothing;
}

/* Joins the runs that were stopped from their own control threads; the
 * calling thread itself (a handler that restarts the element) is detached:
 * it holds its own reference to the element until it returns. */
void MediaElement::reap_finished_runs()
{
  std::vector<std::shared_ptr<Run>> done;
  {
    std::lock_guard<std::mutex> lk(lock_);
    done.swap(finished_runs_);
  }
  for (auto &run : done) {
    if (run->thread.get_id() == std::this_thread::get_id())
      run->thread.detach();
    else if (run->thread.joinable())
      run->thread.join();
  }
}

void MediaElement::start()
{
  reap_finished_runs();
  std::lock_guard<std::mutex> lk(lock_);
  if (run_)
    return;
  run_ = std::make_shared<Run>(this);
  run_->post_locked(Load{src_, default_start_});
  default_start_ = 0.0;
  gst_object_ref(owner_->element()); /* the thread's, released when it returns */
  run_->thread = std::thread(control_thread, run_);
}

void MediaElement::stop()
{
  std::shared_ptr<Run> run;
  {
    std::lock_guard<std::mutex> lk(lock_);
    run = std::move(run_);
    if (!run)
      return;
    run->quit = true;
    run->outer_playing = false;
    for (auto &t : run->tracks)
      t->stopping = true;
    run->wake_tracks_locked();
    cond_.notify_all();
  }
  if (run->thread.joinable()) {
    if (run->thread.get_id() == std::this_thread::get_id()) {
      /* stopped from a handler of a signal the control thread emitted */
      std::lock_guard<std::mutex> lk(lock_);
      finished_runs_.push_back(run);
    } else {
      run->thread.join();
    }
  }
  run->teardown();
  run->end_tracks(true, true);
  /* The run's state goes with it: ended is FALSE again and only a paused
   * the application set survives. */
  bool ended_changed, paused_changed;
  {
    std::lock_guard<std::mutex> lk(lock_);
    ended_changed = run->ended;
    paused_changed = run->ended_paused;
  }
  run.reset();
  if (ended_changed)
    owner_->notify(MediaElementOwner::Attribute::Ended);
  if (paused_changed)
    owner_->notify(MediaElementOwner::Attribute::Paused);
}

void MediaElement::set_outer_playing(bool playing)
{
  std::lock_guard<std::mutex> lk(lock_);
  if (!run_)
    return;
  run_->outer_playing = playing;
  run_->post_locked(ApplyState{});
}

void MediaElement::request_eos()
{
  std::lock_guard<std::mutex> lk(lock_);
  if (!run_)
    return;
  run_->eos_requested = true;
  for (auto &t : run_->tracks) {
    t->eos_pending = true;
    t->cond.notify_all();
  }
}

} // namespace mediacapture
