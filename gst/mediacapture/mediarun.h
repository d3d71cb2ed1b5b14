/* mediacapturesrc: inside the media element (mediaelement.h): its run, its
 * resources and their commands, shared by mediaelement.cpp (the attributes,
 * start and stop), mediarun.cpp (the run: state model, tracks, commands and
 * their control thread) and mediapipeline.cpp (the internal pipeline's
 * callbacks).
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
#pragma once

#include <gst/gst.h>

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "capturetrack.h"
#include "mediaelement.h"
#include "mediaorigins.h"

namespace mediacapture
{

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

struct Resource;

/* One decoded stream of the internal pipeline that is captured. */
struct Branch {
  Resource *resource = nullptr;
  bool is_video = false;
  guint kind_index = 0;          /* among the medium's video (audio) streams */
  std::string stream_id;         /* of the decoded stream; set once, before it is listed */
  bool selected = false;         /* captured by a track (ME-1); under the lock */
  GstElement *appsink = nullptr; /* owned by the internal pipeline */
  GstElement *filter = nullptr;  /* audio: the capsfilter before the appsink */
  GstElement *tempo = nullptr;   /* audio: scaletempo between them, only while the rate is not
                                    1.0 (control thread and on_pad_added; see update_tempo) */
  GstCaps *caps = nullptr;       /* output caps, known when the stream is exposed */
  GstCaps *last_caps = nullptr;  /* last caps seen on a sample */
  Track *track = nullptr;        /* the live track capturing it; under the lock */
  bool eos = false;              /* the stream's content ended (under the lock) */
  /* decodebin removed its decoded pad without an EOS: a chained Ogg went on to
   * its next chain, whose stream of this kind continues this one (its track,
   * index and selection); under the lock */
  bool replaced = false;
  bool continued = false;     /* a stream of the next chain took it over */
  bool eos_sent = false;      /* replaced: the EOS its sink needs was sent */
  GstPad *head = nullptr;     /* sink pad of its first element (strong) */
  GstTagList *tags = nullptr; /* the stream's latest tags (under the lock) */
  guint tags_serial = 0;
  ~Branch()
  {
    gst_clear_caps(&caps);
    gst_clear_caps(&last_caps);
    gst_clear_object(&head);
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
  /* the stream-ids of the demuxers' pads, in the order they were added: the
   * order of the streams in the file (ME-1) */
  std::vector<std::string> demuxed_ids;
  bool live = false;           /* it answered NO_PREROLL */
  bool prerolled = false;      /* its first preroll (ASYNC_DONE or NO_PREROLL) is done */
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
  /* the selection (video-track/audio-tracks) last warned about as naming
   * streams this medium does not have */
  std::string selection_warned;

  ~Resource() { gst_clear_object(&pipeline); }
};

class Run;

/* The owner as a run calls it: each emission of the control thread (a signal
 * or notify, whose handler may stop the pipeline) is marked in its run, so
 * that a stop from another thread meanwhile does not wait for that handler
 * (MediaElement::stop()). */
class EmittingOwner final : public MediaElementOwner
{
public:
  EmittingOwner(Run *run, MediaElementOwner *real) : run_(run), real_(real) {}
  GstElement *element() override { return real_->element(); }
  void post_message(GstMessage *msg) override { real_->post_message(msg); }
  GstPad *new_track_pad(bool is_video, guint index) override
  {
    return real_->new_track_pad(is_video, index);
  }
  void add_track_pad(GstPad *pad) override;
  void remove_track_pad(GstPad *pad) override;
  void tracks_complete() override;
  void notify(Attribute what) override;
  void notify_track_muted(GstPad *pad) override;

private:
  Run *const run_;
  MediaElementOwner *const real_;
};

/* One run of the element (READY->PAUSED to PAUSED->READY). */
class Run final : public TrackOwner
{
public:
  explicit Run(MediaElement *me)
      : me(me), owner(&emitting_owner_), emitting_owner_(this, me->owner_)
  {
  }
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
  std::thread::id control_id; /* the control thread's, set when it starts */
  std::deque<Command> commands;
  bool quit = false;   /* stopped: the control thread only unwinds */
  bool exited = false; /* the control thread left its loop */
  /* A stop from another thread while the control thread emits: it does not
   * wait for the handler (handed_off), and the control thread waits after
   * the handler until that stop tore the run down (torn_down), then unwinds
   * as after a stop from its own handler. */
  int emitting = 0;
  bool handed_off = false;
  bool torn_down = false;
  bool outer_playing = false;
  bool eos_requested = false; /* EOS sent to the element: new tracks end at once */

  /* the state model (HTMLMediaElement); each changes in its set_*_locked()
   * (see set_ready_state_locked() for where each state changes) */
  NetworkState network = NetworkState::Empty;
  ReadyState ready = ReadyState::HaveNothing;
  bool ended = false;
  bool ended_paused = false; /* paused only because playback ended (HTML) */
  bool seeking = false;      /* from a seek until the re-preroll after it */
  gdouble last_position = 0.0;

  guint generation = 0; /* of the last resource */
  std::unique_ptr<Resource> resource;
  std::vector<std::shared_ptr<Track>> tracks;
  /* taken out of tracks by the control thread's end_tracks() and not yet
   * removed: a stop that did not wait for it (handed_off) ends them too */
  std::vector<std::shared_ptr<Track>> ending_tracks;

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
  /* the current resource prerolled once (readyState may be lower since: a
   * seek's re-preroll); drives the internal pipeline's state */
  bool prerolled_locked() { return resource && resource->prerolled; }
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
  void set_seeking_locked(bool s, const char *why);
  /* @res failed: it will not preroll, nothing follows it. */
  void fail_locked(Resource *res);
  /* The internal pipeline of @res finished a preroll (ASYNC_DONE, or
   * NO_PREROLL for a live one): returns true for its first one, after
   * which the Prerolled command must be posted. */
  bool prerolled_once_locked(Resource *res);

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

  /* around an emission (EmittingOwner): begin returns whether it counted */
  bool emission_begin();
  void emission_end();

private:
  EmittingOwner emitting_owner_;
  bool stalled_locked(std::chrono::steady_clock::time_point *deadline);
  void report_stall(std::unique_lock<std::mutex> &lk);
  void load(const std::string &uri, gdouble start);
  void update_tempo(gdouble rate);
  void seek_to(gdouble position, gdouble rate);
  void restart(gdouble position);
  void expose_tracks();
  void warn_unmatched_selection();
  void apply_state();
  void update_duration();
  void post_empty_media_error(const std::string &uri, const std::string &warning);
};

/* mediapipeline.cpp: the internal pipeline */
GstElement *make_element(const gchar *factory);
/* Connects @res's uridecodebin (streams, source, typefind) and its bus to
 * the callbacks that record what the internal pipeline says. */
void resource_connect(Resource *res);

/* mediarun.cpp: the body of a run's control thread (MediaElement::start). */
void control_thread(std::shared_ptr<Run> run);

} // namespace mediacapture
