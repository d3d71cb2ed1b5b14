/* mediacapturesrc: the media element (see mediaelement.h): the attributes
 * the application sets, and start()/stop(), which build and drop a run
 * (mediarun.h).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "mediaelement.h"

#include <algorithm>

#include "mediarun.h"

namespace mediacapture
{

MediaElement::MediaElement(MediaElementOwner *owner) : owner_(owner) {}

MediaElement::~MediaElement()
{
  reap_finished_runs(true);
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

bool MediaElement::seeking()
{
  std::lock_guard<std::mutex> lk(lock_);
  return run_ && run_->seeking;
}

/* Joins the runs that were stopped from their own control threads; the
 * calling thread itself (a handler that restarts the element) is detached:
 * it holds its own reference to the element until it returns. */
void MediaElement::reap_finished_runs(bool all)
{
  std::vector<std::shared_ptr<Run>> done;
  {
    /* one still in a handler is not waited for: that handler may wait for
     * the state change that calls this */
    std::lock_guard<std::mutex> lk(lock_);
    auto busy = std::stable_partition(
        finished_runs_.begin(), finished_runs_.end(), [&](const std::shared_ptr<Run> &r) {
          return !all && !r->exited && r->control_id != std::this_thread::get_id();
        });
    done.assign(busy, finished_runs_.end());
    finished_runs_.erase(busy, finished_runs_.end());
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
      /* The control thread unwinds its command and leaves, unless it is in
       * a handler of a signal it emitted: that handler may be stopping the
       * pipeline too, waiting for the state change that called this. It is
       * not waited for then; after the handler the control thread waits
       * until this stop tore the run down, then unwinds as after a stop
       * from its own handler. */
      std::unique_lock<std::mutex> lk(lock_);
      cond_.wait(lk, [&] { return run->exited || run->emitting > 0; });
      if (run->exited) {
        lk.unlock();
        run->thread.join();
      } else {
        run->handed_off = true;
        finished_runs_.push_back(run);
      }
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
    run->torn_down = true;
    cond_.notify_all();
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
