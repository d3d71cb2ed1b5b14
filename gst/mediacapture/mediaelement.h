/* mediacapturesrc: the media element (ME-1 .. ME-10).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * MediaElement is the HTML media element that mediacapturesrc captures: its
 * attributes (src, paused, loop, playbackRate, currentTime, the track
 * selection, allowed origins), its internal pipeline (uridecodebin -> one
 * appsink per audio or video stream, on the outer pipeline's clock) and the
 * control thread that runs every change of it in order (load, seek, rate,
 * pause, end, restart, selection), as typed commands.
 *
 * Its state follows HTMLMediaElement: networkState, readyState, paused,
 * ended, seeking; each changes in one Run::set_*_locked() of mediarun.cpp
 * (paused: the application's in set_paused(), the end's in
 * Run::set_ended_paused_locked()); mediarun.cpp says where each changes.
 * The internal pipeline's first preroll (HAVE_ENOUGH_DATA) drives it
 * (PLAYING only from then, tracks exposed then); networkState, seeking and
 * readyState after that are told by the getters below and logged. What
 * exists only while the element runs (the control thread, the tracks, the
 * loaded resource with its pipeline) is a run object built by start() and
 * dropped by stop(); the attributes the application set survive.
 *
 * It knows nothing of GObject properties: it talks to the GstElement that
 * holds it through MediaElementOwner (messages, track pads, notifies), and
 * to its capture tracks (capturetrack.h) as their TrackOwner.
 *
 *   gst-launch-1.0 -e mediacapturesrc uri=file:///path/movie.ogg name=m \
 *     m.video_0 ! queue ! videoconvert ! autovideosink */
#pragma once

#include <gst/gst.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace mediacapture
{

/* HTMLMediaElement.networkState */
enum class NetworkState { Empty, Idle, Loading, NoSource };

/* HTMLMediaElement.readyState */
enum class ReadyState {
  HaveNothing,
  HaveMetadata,
  HaveCurrentData,
  HaveFutureData,
  HaveEnoughData
};

/* What the media element asks of the GstElement that holds it. Called
 * without the media element's lock; the application-facing ones (pads,
 * notifies) only from the control thread or from start()/stop(). */
class MediaElementOwner
{
public:
  /* The element that posts messages and errors and gives the clock. */
  virtual GstElement *element() = 0;
  /* Forwards a message of the internal pipeline (takes @msg). */
  virtual void post_message(GstMessage *msg) = 0;
  /* A new src pad for a track (not floating, not active, not added). Called
   * with the media element's lock held: it emits nothing. */
  virtual GstPad *new_track_pad(bool is_video, guint index) = 0;
  /* pad-added; pad-removed (when @pad was added); no-more-pads */
  virtual void add_track_pad(GstPad *pad) = 0;
  virtual void remove_track_pad(GstPad *pad) = 0;
  virtual void tracks_complete() = 0;
  /* Application-visible attributes that changed. */
  enum class Attribute { Paused, Ended, Duration };
  virtual void notify(Attribute what) = 0;
  virtual void notify_track_muted(GstPad *pad) = 0;

protected:
  ~MediaElementOwner() = default;
};

class Run;

class MediaElement
{
public:
  explicit MediaElement(MediaElementOwner *owner);
  ~MediaElement();
  MediaElement(const MediaElement &) = delete;
  MediaElement &operator=(const MediaElement &) = delete;

  /* Attributes. Setting one while the element runs takes effect at once
   * (a load, a seek, a selection change...). */
  void set_src(const std::string &uri);
  std::string src();
  void set_paused(bool paused);
  bool paused();
  void set_loop(bool loop);
  bool loop();
  /* returns false when unchanged */
  bool set_playback_rate(gdouble rate);
  gdouble playback_rate();
  void set_current_time(gdouble position);
  gdouble current_time();
  gdouble duration();
  bool ended();
  void set_video_track(gint index);
  gint video_track();
  /* "all", "none" or indices; returns false (and keeps the old value) for
   * anything else */
  bool set_audio_tracks(const gchar *spec);
  std::string audio_tracks();
  void set_allowed_origins(const gchar *const *origins);
  gchar **dup_allowed_origins();
  void set_stall_timeout(gdouble seconds);
  gdouble stall_timeout();

  /* The state model (EMPTY, HAVE_NOTHING, false while not running). */
  NetworkState network_state();
  ReadyState ready_state();
  bool seeking();

  /* READY->PAUSED: a run (control thread) starts and loads src. */
  void start();
  /* PAUSED->READY: the run stops, its tracks end and their pads go. Safe
   * from any signal or notify the element emits. */
  void stop();
  /* The outer pipeline plays (PAUSED->PLAYING) or not. */
  void set_outer_playing(bool playing);
  /* EOS sent to the element: every track ends after what is queued; a
   * track added later in the run ends at once. */
  void request_eos();

private:
  friend class Run;
  MediaElementOwner *owner_;

  std::mutex lock_;              /* everything below, the run's state and its tracks' */
  std::condition_variable cond_; /* the control thread and its waits */

  /* attributes */
  std::string src_;
  bool paused_ = false; /* as the application set it; the run adds the end's */
  bool loop_ = false;
  gdouble rate_ = 1.0;
  gint video_track_ = 0;
  std::string audio_tracks_ = "0";
  gchar **allowed_origins_ = nullptr;
  gdouble stall_timeout_ = 30.0;     /* <= 0 disables the watchdog */
  gdouble default_start_ = 0.0;      /* current-time set while not running */
  gdouble notified_duration_ = -1.0; /* what notify::duration last told */
  /* pad indices: never reused in the element's life (ME-4), runs included */
  guint next_video_index_ = 0;
  guint next_audio_index_ = 0;

  /* While started. Shared with the run's control thread: a handler that
   * stops the element runs on that thread, which then unwinds on its own run
   * (torn down by stop(), freed when the thread lets go). */
  std::shared_ptr<Run> run_;

  bool paused_locked();
  /* The control threads stopped from their own handlers, or from another
   * thread while in a handler: joined once they left their loop (@all: at
   * the end, whatever they do) or, for the calling thread itself, detached,
   * at the next start or at the end. */
  void reap_finished_runs(bool all = false);
  std::vector<std::shared_ptr<Run>> finished_runs_;
};

} // namespace mediacapture
