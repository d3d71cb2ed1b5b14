/* mediacapturesrc: HTMLMediaElement.captureStream() for GStreamer.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The "media element" is an internal GstPipeline (uridecodebin -> one appsink
 * per selected track) that runs on the outer pipeline's clock. Its appsinks
 * render in real time; each rendered buffer is re-stamped with the outer
 * running time of the moment it is rendered and queued to the track's src pad,
 * whose own task pushes it. Pause, seek, rate, loop and source changes only
 * touch the internal pipeline, so the outer pipeline never sees a flush and its
 * running time never goes back. Muted audio is filled with generated silence so
 * audio tracks stay continuous (ME-7).
 *
 * Threads: the internal streaming threads (appsink callbacks, bus sync
 * handler), one task per src pad, and a control thread that runs every change
 * of the media element (load, seek, rate, pause, end, restart, selection) in
 * order. The control thread is built when the element starts and dropped when
 * it stops, with the run state; it emits every application-facing signal
 * (pad-added, pad-removed, no-more-pads, notify::ended/paused/duration, the
 * pads' notify::muted), never with the lock held, and a handler may stop the
 * element from any of them (docs/plugins/mediacapturesrc.md, "GStreamer
 * contracts").
 *
 * Files: this one (the element, its internal pipeline and control thread),
 * capturetrack.{h,cpp} (a track: its pad, queue and pad task),
 * mediaorigins.{h,cpp} (allowed-origins and track selection, pure).
 *
 *   gst-launch-1.0 -e mediacapturesrc uri=file:///path/movie.ogg name=m \
 *     m.video_0 ! queue ! videoconvert ! autovideosink \
 *     m.audio_0 ! queue ! audioconvert ! autoaudiosink */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstmediacapturesrc.h"

#include <gst/app/gstappsink.h>
#include <gst/audio/audio.h>
#include <gst/base/gstbasesink.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "capturetrack.h"
#include "gstmediastreamtrackstate.h"
#include "mediaorigins.h"
#include "gstwebcaptureerror.h"
#include "gstwebcapturei18n.h"

GST_DEBUG_CATEGORY(gst_media_capture_src_debug);
#define GST_CAT_DEFAULT gst_media_capture_src_debug

namespace mediacapture
{

/* One decoded stream of the internal pipeline that is captured. */
struct Branch {
  GstMediaCaptureSrc *self = nullptr;
  bool is_video = false;
  guint kind_index = 0;          /* among the medium's video (audio) streams */
  bool selected = false;         /* captured by a track (ME-1); under priv lock */
  GstElement *appsink = nullptr; /* owned by the internal pipeline */
  GstCaps *caps = nullptr;       /* output caps, known when the stream is exposed */
  GstCaps *last_caps = nullptr;  /* last caps seen on a sample */
  Track *track = nullptr;        /* the live track capturing it; under priv lock */
  bool eos = false;              /* the stream's content ended (under priv lock) */
  GstTagList *tags = nullptr;    /* the stream's latest tags (under priv lock) */
  guint tags_serial = 0;
  ~Branch()
  {
    gst_clear_caps(&caps);
    gst_clear_caps(&last_caps);
    if (tags)
      gst_tag_list_unref(tags);
  }
};

} // namespace mediacapture

using mediacapture::Branch;
using mediacapture::Item;
using mediacapture::Track;

namespace
{

/* A stalled consumer never blocks the media element: a track queue holds at
 * most this much and drops the oldest, like any live source. */
constexpr size_t kMaxQueuedVideo = 30;
constexpr size_t kMaxQueuedAudio = 100;

/* A loop iteration must render at least this much media time to loop again. */
constexpr GstClockTime kMinLoopMedia = GST_MSECOND;

constexpr gdouble kMinRate = 0.0625;
constexpr gdouble kMaxRate = 16.0;
/* ME-9: audio keeps its pitch between these rates; outside, it is muted. */
constexpr gdouble kMinAudioRate = 0.5;
constexpr gdouble kMaxAudioRate = 4.0;

enum class CommandType {
  Load,
  Prerolled,
  Expose,
  State,
  Seek,
  Rate,
  Paused,
  Ended,
  Select,
  NotifyMuted,
  Duration,
  Quit
};

struct Command {
  CommandType type;
  std::string uri;
  gdouble value = 0.0;
  gboolean flag = FALSE;
  guint generation = 0;
  std::shared_ptr<GstPad> pad; /* NotifyMuted */
};

/* One run of the control thread: built at READY->PAUSED, dropped at
 * PAUSED->READY. A handler that stops the element from a signal the control
 * thread emits runs on that thread: it cannot be joined there, so it is
 * joined later (or detached) and finishes on its own run, never on the next
 * one. */
struct ControlRun {
  std::thread thread;
  std::deque<Command> commands;
  bool quit = false;
};

thread_local ControlRun *tls_control_run = nullptr;

} // namespace

struct GstMediaCaptureSrcPrivate final : public mediacapture::TrackOwner {
  GstMediaCaptureSrc *self = nullptr;
  std::mutex lock_;
  std::condition_variable control_cond; /* control thread and its waits */

  /* properties (under lock) */
  std::string uri;
  gboolean paused = FALSE;
  gboolean loop = FALSE;
  gdouble rate = 1.0;
  gint video_track = 0;
  std::string audio_tracks = "0";
  GStrv allowed_origins = nullptr;

  /* state (under lock) */
  bool ended = false;
  bool outer_playing = false;
  bool origin_left = false;
  guint next_video_index = 0;
  guint next_audio_index = 0;
  guint generation = 0; /* of the internal pipeline */
  bool prerolled = false;
  bool live = false; /* the media element answered NO_PREROLL */
  bool preroll_failed = false;
  bool error_forwarded = false;
  bool paused_by_end = false;                      /* paused only because playback ended (HTML) */
  bool eos_requested = false;                      /* EOS sent to the element: no more tracks */
  gdouble stall_timeout = 30.0;                    /* property; <= 0 disables the watchdog */
  std::chrono::steady_clock::time_point last_data; /* last byte read or sample decoded */
  gdouble notified_duration = -1.0;
  guint64 samples_this_load = 0;
  /* media time covered by the current loop iteration (ME-5 loop guard) */
  GstClockTime iteration_media_end = GST_CLOCK_TIME_NONE;
  std::string first_warning;   /* of the current load, for an empty medium */
  gdouble pending_start = 0.0; /* applied at the first preroll */
  GstElement *pipeline = nullptr;
  GstElement *decodebin = nullptr;
  std::string loaded_uri;
  std::vector<std::unique_ptr<Branch>> branches;
  std::vector<std::shared_ptr<Track>> tracks;
  guint video_seen = 0;
  guint audio_seen = 0;
  gdouble last_position = 0.0;
  gdouble start_position = 0.0; /* current-time set before the element runs */

  /* control thread */
  std::shared_ptr<ControlRun> run;
  std::vector<std::thread> finished_controls; /* stopped from their own thread */
  bool quit = false;

  /* mediacapture::TrackOwner: what the tracks ask of the element */
  std::mutex &lock() override { return lock_; }
  GstElement *element() override { return GST_ELEMENT(self); }
  bool hard_muted_locked(const Track &t) override;
  bool playing_locked() override { return outer_playing; }
  GstTagList *stream_tags_locked(const Track &t, guint *serial) override;
  void track_finished_locked() override { control_cond.notify_all(); }
  void notify_muted(GstPad *pad) override;
};

/* Under the lock: every live track re-evaluates its state. */
static void wake_tracks(GstMediaCaptureSrcPrivate *priv)
{
  for (auto &t : priv->tracks)
    t->cond.notify_all();
}

struct _GstMediaCaptureSrc {
  GstElement parent;
  GstMediaCaptureSrcPrivate *priv;
};

static void post_command(GstMediaCaptureSrc *self, Command cmd);

/* Known reasons are known at once (silence is generated without waiting);
 * the track adds its own soft ones (no content yet, a gap). */
bool GstMediaCaptureSrcPrivate::hard_muted_locked(const Track &t)
{
  bool rate_muted = !t.is_video && (rate < kMinAudioRate || rate > kMaxAudioRate); /* ME-9 */
  return paused || origin_left || (t.branch && t.branch->eos && !loop) || rate_muted || ended;
}

GstTagList *GstMediaCaptureSrcPrivate::stream_tags_locked(const Track &t, guint *serial)
{
  if (!t.branch || !t.branch->tags || t.branch->tags_serial == *serial)
    return nullptr;
  *serial = t.branch->tags_serial;
  return gst_tag_list_copy(t.branch->tags);
}

void GstMediaCaptureSrcPrivate::notify_muted(GstPad *pad)
{
  /* Application-facing: emitted by the control thread, never by the pad
   * task (a handler that stops the element would join the task from inside
   * it). */
  Command c{CommandType::NotifyMuted};
  c.pad =
      std::shared_ptr<GstPad>(GST_PAD(gst_object_ref(pad)), [](GstPad *p) { gst_object_unref(p); });
  post_command(self, std::move(c));
}

enum {
  PROP_0,
  PROP_URI,
  PROP_PAUSED,
  PROP_LOOP,
  PROP_PLAYBACK_RATE,
  PROP_CURRENT_TIME,
  PROP_DURATION,
  PROP_ENDED,
  PROP_VIDEO_TRACK,
  PROP_AUDIO_TRACKS,
  PROP_ALLOWED_ORIGINS,
  PROP_STALL_TIMEOUT,
};

static GstStaticPadTemplate video_template = GST_STATIC_PAD_TEMPLATE(
    "video_%u", GST_PAD_SRC, GST_PAD_SOMETIMES, GST_STATIC_CAPS("video/x-raw(ANY)"));

static GstStaticPadTemplate audio_template =
    GST_STATIC_PAD_TEMPLATE("audio_%u", GST_PAD_SRC, GST_PAD_SOMETIMES,
                            GST_STATIC_CAPS("audio/x-raw, format = (string) " GST_AUDIO_NE(
                                F32) ", layout = (string) interleaved, rate = (int) [ 1, MAX ], "
                                     "channels = (int) [ 1, MAX ]"));

#define gst_media_capture_src_parent_class parent_class
G_DEFINE_TYPE(GstMediaCaptureSrc, gst_media_capture_src, GST_TYPE_ELEMENT);
GST_ELEMENT_REGISTER_DEFINE(mediacapturesrc, "mediacapturesrc", GST_RANK_NONE,
                            GST_TYPE_MEDIA_CAPTURE_SRC);

static bool run_current_locked(GstMediaCaptureSrcPrivate *priv);

/* A new reference to the media element's pipeline, or null when there is none. */
static GstElement *pipeline_ref_locked(GstMediaCaptureSrcPrivate *priv)
{
  return priv->pipeline ? GST_ELEMENT(gst_object_ref(priv->pipeline)) : nullptr;
}

static GstElement *pipeline_ref(GstMediaCaptureSrcPrivate *priv)
{
  std::lock_guard<std::mutex> lk(priv->lock_);
  return pipeline_ref_locked(priv);
}

/* ME-1: is the @kind_index-th video (audio) stream selected by the
 * properties? */
static bool branch_selected_locked(GstMediaCaptureSrcPrivate *priv, bool is_video, guint kind_index)
{
  if (is_video)
    return priv->video_track >= 0 && (guint)priv->video_track == kind_index;
  return mediacapture::audio_track_selected(priv->audio_tracks.c_str(), kind_index);
}

/* ------------------------------------------------------ tracks (control) */

/* Creates the tracks of every branch and exposes them together, then
 * no-more-pads (ME-2, WPT creation.html). Called without the lock. */
static void expose_tracks(GstMediaCaptureSrc *self)
{
  GstMediaCaptureSrcPrivate *priv = self->priv;
  std::vector<std::shared_ptr<Track>> created;
  guint group = gst_util_group_id_next();
  {
    std::lock_guard<std::mutex> lk(priv->lock_);
    if (priv->quit || !run_current_locked(priv) || priv->eos_requested || priv->ended)
      return;
    for (auto &b : priv->branches) {
      if (!b->selected || b->track)
        continue;
      auto t = std::make_shared<Track>();
      t->owner = priv;
      t->branch = b.get();
      t->is_video = b->is_video;
      t->index = b->is_video ? priv->next_video_index++ : priv->next_audio_index++;
      t->group_id = group;
      mediacapture::track_set_caps(t.get(), b->caps); /* not started: no CAPS event yet */
      gchar *name = g_strdup_printf(t->is_video ? "video_%u" : "audio_%u", t->index);
      GstPadTemplate *templ = gst_element_class_get_pad_template(
          GST_ELEMENT_GET_CLASS(self), t->is_video ? "video_%u" : "audio_%u");
      t->pad = GST_PAD(g_object_new(GST_TYPE_MEDIA_CAPTURE_SRC_PAD, "name", name, "direction",
                                    GST_PAD_SRC, "template", templ, nullptr));
      gst_object_ref_sink(t->pad);
      g_free(name);
      gst_pad_set_element_private(t->pad, t.get());
      gst_pad_set_query_function(t->pad, GST_DEBUG_FUNCPTR(mediacapture::track_pad_query));
      gst_pad_set_event_function(t->pad, GST_DEBUG_FUNCPTR(mediacapture::track_pad_event));
      gst_pad_use_fixed_caps(t->pad);
      b->track = t.get();
      priv->tracks.push_back(t);
      created.push_back(t);
    }
    if (created.empty())
      return;
  }
  for (auto &t : created) {
    /* pad-added handlers may stop the element (which ends these tracks) */
    {
      std::lock_guard<std::mutex> lk(priv->lock_);
      if (t->stopping)
        continue;
    }
    t->stream_id = gst_pad_create_stream_id_printf(t->pad, GST_ELEMENT(self), "%s%u",
                                                   t->is_video ? "video" : "audio", t->index);
    gst_pad_set_active(t->pad, TRUE);
    gst_element_add_pad(GST_ELEMENT(self), t->pad);
    std::lock_guard<std::mutex> lk(priv->lock_);
    if (!t->stopping)
      gst_pad_start_task(t->pad, mediacapture::track_loop, t.get(), nullptr);
  }
  GST_INFO_OBJECT(self, "exposed %zu tracks", created.size());
  {
    std::lock_guard<std::mutex> lk(priv->lock_);
    if (!run_current_locked(priv) || priv->quit)
      return;
  }
  gst_element_no_more_pads(GST_ELEMENT(self));
}

/* Ends every track (ME-3): EOS after what is queued (or at once when
 * @drop_queued), then removes its pad. Control thread or state change. */
static void end_tracks(GstMediaCaptureSrc *self, bool drop_queued, bool force,
                       bool only_deselected = false)
{
  GstMediaCaptureSrcPrivate *priv = self->priv;
  std::vector<std::shared_ptr<Track>> tracks;
  {
    std::unique_lock<std::mutex> lk(priv->lock_);
    if (only_deselected) {
      /* ME-3: a deselected track ends; the others go on */
      auto keep = std::stable_partition(
          priv->tracks.begin(), priv->tracks.end(),
          [](const std::shared_ptr<Track> &t) { return t->branch && t->branch->selected; });
      tracks.assign(keep, priv->tracks.end());
      priv->tracks.erase(keep, priv->tracks.end());
    } else {
      tracks.swap(priv->tracks);
    }
    for (auto &t : tracks) {
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
    for (auto &t : tracks)
      t->cond.notify_all();
    if (!force) {
      for (auto &t : tracks) {
        /* A task blocked downstream is released by the outer state change,
         * which then forces (quit). */
        priv->control_cond.wait(lk, [&] { return t->eos_pushed || t->stopping || priv->quit; });
      }
    }
  }
  for (auto &t : tracks) {
    {
      std::lock_guard<std::mutex> lk(priv->lock_);
      t->stopping = true;
      t->cond.notify_all();
    }
    gst_pad_set_active(t->pad, FALSE);
    gst_pad_stop_task(t->pad); /* joins it */
    /* a pad-added handler may have stopped the element before this pad
     * was added */
    if (GST_OBJECT_PARENT(t->pad) == GST_OBJECT(self))
      gst_element_remove_pad(GST_ELEMENT(self), t->pad);
  }
  tracks.clear(); /* freed here, unless expose_tracks() still holds one */
}

/* ------------------------------------------------- internal pipeline */

static void on_appsink_eos(GstAppSink *sink, gpointer user_data)
{
  Branch *b = static_cast<Branch *>(user_data);
  GstMediaCaptureSrcPrivate *priv = b->self->priv;
  std::lock_guard<std::mutex> lk(priv->lock_);
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
    std::lock_guard<std::mutex> lk(b->self->priv->lock_);
    b->self->priv->samples_this_load++;
    gst_sample_unref(s);
  }
  return GST_FLOW_OK;
}

static GstFlowReturn on_appsink_sample(GstAppSink *sink, gpointer user_data)
{
  Branch *b = static_cast<Branch *>(user_data);
  GstMediaCaptureSrc *self = b->self;
  GstMediaCaptureSrcPrivate *priv = self->priv;
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
  GST_LOG_OBJECT(self, "%s sample rt %" GST_TIME_FORMAT " -> clock %" GST_TIME_FORMAT,
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

  std::lock_guard<std::mutex> lk(priv->lock_);
  priv->last_data = std::chrono::steady_clock::now();
  priv->samples_this_load++;
  if (GST_CLOCK_TIME_IS_VALID(stream_end) && segment->start < stream_end) {
    GstClockTime covered = stream_end - segment->start;
    if (!GST_CLOCK_TIME_IS_VALID(priv->iteration_media_end) || covered > priv->iteration_media_end)
      priv->iteration_media_end = covered;
  }
  Track *t = b->track;
  if (!t || t->eos_pending || priv->origin_left) {
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
  if (!priv->paused) {
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
  std::lock_guard<std::mutex> lk(b->self->priv->lock_);
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

static bool uri_allowed(GstMediaCaptureSrcPrivate *priv, const gchar *uri)
{
  return mediacapture::uri_allowed(priv->allowed_origins, uri);
}

static GstPadProbeReturn source_probe(GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  /* ME-10: an HTTP redirect that leaves the allowed origins must not leak a
   * byte of the new origin. HTTP sources announce each response, before its
   * data, with a sticky "http-headers" event carrying the redirection-uri. */
  GstMediaCaptureSrc *self = GST_MEDIA_CAPTURE_SRC(user_data);
  GstMediaCaptureSrcPrivate *priv = self->priv;

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
    std::string loaded;
    {
      std::lock_guard<std::mutex> lk(priv->lock_);
      allowed = uri_allowed(priv, redirect);
      if (!allowed) {
        first = !priv->origin_left;
        priv->origin_left = true; /* mutes every track */
        have_tracks = !priv->tracks.empty();
        loaded = priv->loaded_uri;
        if (!have_tracks)
          priv->preroll_failed = true; /* the SecurityError says it all */
        wake_tracks(priv);
      }
    }
    if (!allowed && first) {
      GST_WARNING_OBJECT(self, "redirected to %s, outside allowed-origins: muted", redirect);
      if (!have_tracks) {
        /* Nothing known of the media yet: the load itself fails. */
        gchar *text = g_strdup_printf(_("\"%s\" redirected to \"%s\", which is not in "
                                        "allowed-origins"),
                                      loaded.c_str(), redirect);
        GST_WEB_ERROR(self, GST_WEB_ERROR_SECURITY, nullptr, text, nullptr);
        g_free(text);
      }
    }
    return allowed ? GST_PAD_PROBE_OK : GST_PAD_PROBE_DROP;
  }

  std::lock_guard<std::mutex> lk(priv->lock_);
  if (priv->origin_left)
    return GST_PAD_PROBE_DROP;
  priv->last_data = std::chrono::steady_clock::now(); /* stall watchdog */
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

/* uridecodebin exposes decoded streams in a stable order; a stream is
 * captured when selected (ME-1), else it goes to a fakesink. */
static void on_pad_added(GstElement *decodebin, GstPad *pad, gpointer user_data)
{
  GstMediaCaptureSrc *self = GST_MEDIA_CAPTURE_SRC(user_data);
  GstMediaCaptureSrcPrivate *priv = self->priv;
  GstCaps *caps = gst_pad_get_current_caps(pad);
  if (!caps)
    caps = gst_pad_query_caps(pad, nullptr);
  const gchar *name = gst_structure_get_name(gst_caps_get_structure(caps, 0));
  bool is_video = g_str_has_prefix(name, "video/");
  bool is_audio = g_str_has_prefix(name, "audio/");

  bool selected = false;
  guint kind_index = 0;
  GstElement *pipeline;
  {
    std::lock_guard<std::mutex> lk(priv->lock_);
    /* only the current media element's streams (an old one may still be
     * shutting down) */
    pipeline = priv->decodebin == decodebin ? pipeline_ref_locked(priv) : nullptr;
    if (is_video) {
      kind_index = priv->video_seen++;
      selected = branch_selected_locked(priv, true, kind_index);
    } else if (is_audio) {
      kind_index = priv->audio_seen++;
      selected = branch_selected_locked(priv, false, kind_index);
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
  if (captured && is_audio) {
    GstElement *conv = make_element("audioconvert");
    GstElement *res = make_element("audioresample");
    GstElement *tempo = make_element("scaletempo");
    GstElement *conv2 = make_element("audioconvert");
    GstElement *filter = make_element("capsfilter");
    out_caps = gst_caps_copy(caps);
    GstStructure *s = gst_caps_get_structure(out_caps, 0);
    gst_structure_set(s, "format", G_TYPE_STRING, GST_AUDIO_NE(F32), "layout", G_TYPE_STRING,
                      "interleaved", nullptr);
    if (conv && res && tempo && conv2 && filter) {
      g_object_set(filter, "caps", out_caps, nullptr);
      chain = {conv, res, tempo, conv2, filter};
    } else {
      for (GstElement *e : {conv, res, tempo, conv2, filter})
        if (e)
          gst_object_unref(e);
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
    branch->self = self;
    branch->is_video = is_video;
    branch->kind_index = kind_index;
    branch->selected = selected;
    branch->appsink = sink;
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
    std::lock_guard<std::mutex> lk(priv->lock_);
    priv->branches.push_back(std::move(branch));
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
  GstMediaCaptureSrc *self = GST_MEDIA_CAPTURE_SRC(user_data);
  {
    std::lock_guard<std::mutex> lk(self->priv->lock_);
    if (self->priv->decodebin != decodebin)
      return;
  }
  /* Metadata known, selection determined: the tracks appear (ME-2), from the
   * control thread (pad-added handlers may stop the element). */
  Command c{CommandType::Expose};
  {
    std::lock_guard<std::mutex> lk(self->priv->lock_);
    c.generation = self->priv->generation;
  }
  post_command(self, c);
}

static void forward_error(GstMediaCaptureSrc *self, GstMessage *msg)
{
  GError *err = nullptr;
  gchar *debug = nullptr;
  gst_message_parse_error(msg, &err, &debug);
  std::string uri;
  {
    std::lock_guard<std::mutex> lk(self->priv->lock_);
    uri = self->priv->loaded_uri;
  }
  gchar *text = g_strdup_printf(_("Could not play \"%s\": %s"), uri.c_str(), err->message);
  GST_WARNING_OBJECT(self, "%s", text);
  GError *out = g_error_new_literal(err->domain, err->code, text);
  gchar *dbg = g_strdup_printf("%s (from %s)", debug ? debug : "",
                               GST_MESSAGE_SRC_NAME(msg) ? GST_MESSAGE_SRC_NAME(msg) : "?");
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_error(GST_OBJECT(self), out, dbg));
  g_error_free(out);
  g_error_free(err);
  g_free(text);
  g_free(debug);
  g_free(dbg);
}

static GstBusSyncReply internal_bus_handler(GstBus *bus, GstMessage *msg, gpointer user_data)
{
  GstMediaCaptureSrc *self = GST_MEDIA_CAPTURE_SRC(user_data);
  guint generation = GPOINTER_TO_UINT(g_object_get_data(G_OBJECT(bus), "mc-generation"));
  bool current;
  {
    std::lock_guard<std::mutex> lk(self->priv->lock_);
    current = generation == self->priv->generation;
  }
  if (!current) {
    GST_DEBUG_OBJECT(self, "dropping %s of an old media element", GST_MESSAGE_TYPE_NAME(msg));
    gst_message_unref(msg); /* a sync handler that drops owns the message */
    return GST_BUS_DROP;    /* a media element being torn down */
  }
  switch (GST_MESSAGE_TYPE(msg)) {
  case GST_MESSAGE_ERROR: {
    bool first, muted_by_origin;
    GstElement *pipeline = nullptr;
    {
      std::lock_guard<std::mutex> lk(self->priv->lock_);
      self->priv->preroll_failed = true;
      /* the first error says why; what follows (a failed state change...) only repeats it */
      first = !self->priv->error_forwarded;
      self->priv->error_forwarded = true;
      /* ME-10: after a redirect out of allowed-origins the media element
       * starves (its data is dropped) and its demuxer may fail: the tracks
       * are muted, as documented, and that is all the application sees. */
      muted_by_origin = self->priv->origin_left && !self->priv->tracks.empty();
      pipeline = pipeline_ref_locked(self->priv);
    }
    if (first && pipeline)
      GST_DEBUG_BIN_TO_DOT_FILE_WITH_TS(GST_BIN(pipeline), GST_DEBUG_GRAPH_SHOW_ALL,
                                        "mediacapturesrc-error");
    gst_clear_object(&pipeline);
    if (first && muted_by_origin) {
      GError *err = nullptr;
      gst_message_parse_error(msg, &err, nullptr);
      GST_WARNING_OBJECT(self, "after leaving allowed-origins: %s (tracks stay muted)",
                         err->message);
      g_error_free(err);
    } else if (first) {
      forward_error(self, msg);
    }
    break;
  }
  case GST_MESSAGE_WARNING: {
    bool drop;
    {
      std::lock_guard<std::mutex> lk(self->priv->lock_);
      drop = self->priv->origin_left;
      if (self->priv->first_warning.empty()) {
        GError *err = nullptr;
        gst_message_parse_warning(msg, &err, nullptr);
        self->priv->first_warning = err->message;
        g_error_free(err);
      }
    }
    if (!drop)
      gst_element_post_message(GST_ELEMENT(self), gst_message_ref(msg));
    break;
  }
  case GST_MESSAGE_ELEMENT:
    /* missing-plugin messages and warnings reach the application */
    gst_element_post_message(GST_ELEMENT(self), gst_message_ref(msg));
    break;
  case GST_MESSAGE_DURATION_CHANGED: {
    Command c{CommandType::Duration};
    c.generation = generation;
    post_command(self, c);
    break;
  }
  case GST_MESSAGE_EOS: {
    Command c{CommandType::Ended};
    c.generation = generation;
    post_command(self, c);
    break;
  }
  case GST_MESSAGE_ASYNC_DONE: {
    bool first = false;
    {
      std::lock_guard<std::mutex> lk(self->priv->lock_);
      if (generation == self->priv->generation && !self->priv->prerolled) {
        self->priv->prerolled = true;
        first = true;
      }
    }
    if (first) {
      Command c{CommandType::Prerolled};
      c.generation = generation;
      post_command(self, c);
    }
    break;
  }
  default:
    break;
  }
  gst_message_unref(msg); /* dropped: the handler owns it */
  return GST_BUS_DROP;
}

/* Control thread: tears the media element down. */
static void teardown_pipeline(GstMediaCaptureSrc *self)
{
  GstMediaCaptureSrcPrivate *priv = self->priv;
  GstElement *pipeline;
  bool prerolled;
  std::vector<std::unique_ptr<Branch>> branches;
  {
    std::lock_guard<std::mutex> lk(priv->lock_);
    pipeline = priv->pipeline;
    /* a media element that failed will not preroll: no wait */
    prerolled = priv->prerolled || priv->preroll_failed;
    if (pipeline)
      priv->generation++; /* what the old media element still says is stale */
    priv->pipeline = nullptr;
    priv->decodebin = nullptr;
    branches.swap(priv->branches);
    for (auto &b : branches) {
      if (b->track)
        b->track->branch = nullptr;
      b->track = nullptr;
    }
  }
  if (pipeline) {
    /* decodebin still plugging elements while it is shut down can leave
     * them running on their own: let a preroll in progress finish (or fail)
     * first. */
    if (!prerolled)
      gst_element_get_state(pipeline, nullptr, nullptr, GST_SECOND);
    gst_element_set_state(pipeline, GST_STATE_NULL);
    GstBus *bus = gst_element_get_bus(pipeline);
    gst_bus_set_sync_handler(bus, nullptr, nullptr, nullptr);
    gst_object_unref(bus);
    gst_object_unref(pipeline);
  }
  branches.clear();
}

static GstState wanted_internal_state(GstMediaCaptureSrcPrivate *priv)
{
  /* Preroll first: going to PLAYING while the decoded streams are still
   * being exposed leaves the late-added sinks playing on their own. */
  return priv->prerolled && priv->outer_playing && !priv->paused && !priv->ended ? GST_STATE_PLAYING
                                                                                 : GST_STATE_PAUSED;
}

static void apply_state(GstMediaCaptureSrc *self)
{
  GstMediaCaptureSrcPrivate *priv = self->priv;
  GstElement *pipeline = nullptr;
  GstState state;
  GstClock *clock = gst_element_get_clock(GST_ELEMENT(self));
  {
    std::lock_guard<std::mutex> lk(priv->lock_);
    if (run_current_locked(priv))
      pipeline = pipeline_ref_locked(priv);
    state = wanted_internal_state(priv);
    wake_tracks(priv);
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
      guint generation = 0;
      {
        std::lock_guard<std::mutex> lk(priv->lock_);
        if (priv->pipeline == pipeline && !priv->prerolled) {
          priv->prerolled = true;
          priv->live = true;
          first = true;
          generation = priv->generation;
        }
      }
      if (first) {
        GST_INFO_OBJECT(self, "live media: no preroll");
        Command c{CommandType::Prerolled};
        c.generation = generation;
        post_command(self, c);
      }
    }
    GstState cur, pend;
    gst_element_get_state(pipeline, &cur, &pend, 0);
    GST_DEBUG_OBJECT(self, "media element to %s: %s (now %s, pending %s)",
                     gst_element_state_get_name(state), gst_element_state_change_return_get_name(r),
                     gst_element_state_get_name(cur), gst_element_state_get_name(pend));
    gst_object_unref(pipeline);
  }
  if (clock)
    gst_object_unref(clock);
}

/* Queries the duration outside the lock; notify::duration only on change. */
static void update_duration(GstMediaCaptureSrc *self)
{
  GstMediaCaptureSrcPrivate *priv = self->priv;
  GstElement *pipeline = pipeline_ref(priv);
  if (!pipeline)
    return;
  gint64 d;
  gdouble duration = gst_element_query_duration(pipeline, GST_FORMAT_TIME, &d) && d >= 0
                         ? (gdouble)d / GST_SECOND
                         : -1.0;
  bool changed;
  {
    std::lock_guard<std::mutex> lk(priv->lock_);
    changed = priv->pipeline == pipeline && priv->notified_duration != duration;
    if (changed)
      priv->notified_duration = duration;
  }
  gst_object_unref(pipeline);
  if (changed)
    g_object_notify(G_OBJECT(self), "duration");
}

static void load(GstMediaCaptureSrc *self, const std::string &uri, gdouble start)
{
  GstMediaCaptureSrcPrivate *priv = self->priv;
  /* Source change (ME-3): every track ends and goes, then the new ones come. */
  end_tracks(self, true, false);
  teardown_pipeline(self);
  bool ended_changed, paused_changed, duration_changed;
  {
    std::lock_guard<std::mutex> lk(priv->lock_);
    priv->origin_left = false;
    priv->video_seen = priv->audio_seen = 0;
    priv->loaded_uri = uri;
    priv->last_position = start;
    priv->pending_start = start;
    ended_changed = priv->ended;
    priv->ended = false;
    /* a new source after the end plays (as an autoplaying <video>) unless
     * the application paused it */
    paused_changed = priv->paused_by_end;
    if (priv->paused_by_end)
      priv->paused = FALSE;
    priv->paused_by_end = false;
    duration_changed = priv->notified_duration != -1.0;
    priv->notified_duration = -1.0;
  }
  /* notifies only on change */
  if (ended_changed)
    g_object_notify(G_OBJECT(self), "ended");
  if (paused_changed)
    g_object_notify(G_OBJECT(self), "paused");
  if (duration_changed)
    g_object_notify(G_OBJECT(self), "duration");
  if (uri.empty())
    return;

  bool allowed;
  {
    std::lock_guard<std::mutex> lk(priv->lock_);
    allowed = uri_allowed(priv, uri.c_str());
  }
  if (!allowed) {
    /* ME-10: nothing is read from outside allowed-origins. */
    gchar *text = g_strdup_printf(_("\"%s\" is not in allowed-origins"), uri.c_str());
    GST_WEB_ERROR(self, GST_WEB_ERROR_SECURITY, nullptr, text, nullptr);
    g_free(text);
    return;
  }
  if (!gst_uri_is_valid(uri.c_str())) {
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND,
                      (_("Could not play \"%s\": not a valid URI."), uri.c_str()), (nullptr));
    return;
  }

  GstElement *pipeline = gst_pipeline_new(nullptr);
  GstElement *decodebin = make_element("uridecodebin");
  if (!decodebin) {
    gst_object_unref(pipeline);
    GST_ELEMENT_ERROR(
        self, CORE, MISSING_PLUGIN,
        (_("Could not play \"%s\": the uridecodebin element is missing."), uri.c_str()), (nullptr));
    return;
  }
  g_object_set(decodebin, "uri", uri.c_str(), nullptr);
  g_signal_connect(decodebin, "pad-added", G_CALLBACK(on_pad_added), self);
  g_signal_connect(decodebin, "no-more-pads", G_CALLBACK(on_no_more_pads), self);
  g_signal_connect(decodebin, "source-setup", G_CALLBACK(on_source_setup), self);
  gst_bin_add(GST_BIN(pipeline), decodebin);
  GstBus *bus = gst_element_get_bus(pipeline);
  guint generation;
  {
    std::lock_guard<std::mutex> lk(priv->lock_);
    generation = ++priv->generation;
    priv->prerolled = false;
    priv->live = false;
    priv->preroll_failed = false;
    priv->error_forwarded = false;
    priv->last_data = std::chrono::steady_clock::now();
    priv->samples_this_load = 0;
    priv->iteration_media_end = GST_CLOCK_TIME_NONE;
    priv->first_warning.clear();
    priv->pipeline = GST_ELEMENT(gst_object_ref(pipeline));
    priv->decodebin = decodebin;
  }
  g_object_set_data(G_OBJECT(bus), "mc-generation", GUINT_TO_POINTER(generation));
  gst_bus_set_sync_handler(bus, internal_bus_handler, self, nullptr);
  gst_object_unref(bus);

  gst_object_unref(pipeline);
  apply_state(self);
}

static void seek_to(GstMediaCaptureSrc *self, gdouble position, gdouble rate)
{
  GstMediaCaptureSrcPrivate *priv = self->priv;
  GstElement *pipeline = pipeline_ref(priv);
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
  GST_DEBUG_OBJECT(self, "seek to %" GST_TIME_FORMAT " rate %f: %d", GST_TIME_ARGS(pos), rate, ok);
  {
    /* After a flushing seek every stream has content again until it says
     * otherwise. */
    std::lock_guard<std::mutex> lk(priv->lock_);
    for (auto &b : priv->branches)
      b->eos = false;
    priv->iteration_media_end = GST_CLOCK_TIME_NONE;
    priv->last_data = std::chrono::steady_clock::now();
    priv->last_position = (gdouble)pos / GST_SECOND;
    wake_tracks(priv);
  }
  gst_object_unref(pipeline);
}

/* Playing again after the end (ME-4): a new set of tracks. */
static void restart(GstMediaCaptureSrc *self, gdouble position)
{
  GstMediaCaptureSrcPrivate *priv = self->priv;
  gdouble rate;
  {
    std::lock_guard<std::mutex> lk(priv->lock_);
    priv->ended = false;
    rate = priv->rate;
  }
  g_object_notify(G_OBJECT(self), "ended");
  seek_to(self, position, rate);
  expose_tracks(self);
  apply_state(self);
}

/* A medium whose streams were announced but of which nothing could be
 * decoded (a valid header, a broken body): an error naming the URI, as a
 * browser's MEDIA_ERR_DECODE, and no track. */
static void post_empty_media_error(GstMediaCaptureSrc *self, const std::string &uri,
                                   const std::string &warning)
{
  {
    std::lock_guard<std::mutex> lk(self->priv->lock_);
    self->priv->preroll_failed = true;
    self->priv->error_forwarded = true;
  }
  if (!warning.empty())
    GST_ELEMENT_ERROR(self, STREAM, DEMUX,
                      (_("Could not play \"%s\": %s"), uri.c_str(), warning.c_str()),
                      ("nothing could be decoded"));
  else
    GST_ELEMENT_ERROR(self, STREAM, DECODE,
                      (_("Could not play \"%s\": no media could be decoded."), uri.c_str()),
                      ("nothing could be decoded"));
}

static void handle_command(GstMediaCaptureSrc *self, const Command &c)
{
  GstMediaCaptureSrcPrivate *priv = self->priv;
  {
    std::lock_guard<std::mutex> lk(priv->lock_);
    if (!run_current_locked(priv))
      return;
  }
  switch (c.type) {
  case CommandType::Load:
    load(self, c.uri, c.value);
    break;
  case CommandType::Prerolled: {
    /* The first preroll: start position and rate apply before playing. */
    gdouble start, rate;
    bool stale, live, empty;
    std::string uri, warning;
    GstElement *pipeline = nullptr;
    {
      std::lock_guard<std::mutex> lk(priv->lock_);
      stale = c.generation != priv->generation;
      /* prerolled on EOS with nothing decoded: a broken medium */
      empty = !priv->live && priv->samples_this_load == 0 && !priv->branches.empty();
      for (auto &b : priv->branches)
        empty = empty && b->eos;
      uri = priv->loaded_uri;
      warning = priv->first_warning;
      start = priv->pending_start;
      priv->pending_start = 0.0;
      rate = priv->rate;
      live = priv->live;
      pipeline = pipeline_ref_locked(priv);
    }
    if (stale || !pipeline) {
      gst_clear_object(&pipeline);
      break;
    }
    GST_DEBUG_BIN_TO_DOT_FILE_WITH_TS(GST_BIN(pipeline), GST_DEBUG_GRAPH_SHOW_ALL,
                                      "mediacapturesrc-prerolled");
    gst_object_unref(pipeline);
    if (empty) {
      post_empty_media_error(self, uri, warning);
      break;
    }
    expose_tracks(self); /* ME-2: the media's tracks, now known */
    if (!live && (start > 0.0 || rate != 1.0))
      seek_to(self, start, rate);
    /* no duration query here: oggdemux in push mode (HTTP) is then still
     * seeking for its duration, and a query meanwhile breaks its stream;
     * notify::duration comes with DURATION_CHANGED or at the end */
    apply_state(self);
    break;
  }
  case CommandType::State:
    apply_state(self);
    break;
  case CommandType::Seek: {
    bool ended, loading;
    gdouble rate;
    {
      std::lock_guard<std::mutex> lk(priv->lock_);
      ended = priv->ended;
      rate = priv->rate;
      /* HTML's default playback start position: a seek while loading is
       * applied when the media element is ready */
      loading = priv->pipeline && !priv->prerolled;
      if (loading)
        priv->pending_start = c.value;
    }
    if (loading)
      break;
    if (ended)
      restart(self, c.value);
    else
      seek_to(self, c.value, rate); /* ME-5: no event, no track ends */
    break;
  }
  case CommandType::Rate: {
    bool ended;
    {
      std::lock_guard<std::mutex> lk(priv->lock_);
      ended = priv->ended;
    }
    if (!ended)
      seek_to(self, -1.0, c.value);
    break;
  }
  case CommandType::Paused: {
    bool ended;
    {
      std::lock_guard<std::mutex> lk(priv->lock_);
      ended = priv->ended;
    }
    if (!c.flag && ended)
      restart(self, 0.0); /* play() after the end starts over */
    else
      apply_state(self);
    break;
  }
  case CommandType::Ended: {
    bool loop, stale, origin_left, empty_iteration, empty_load;
    gdouble rate;
    std::string uri, warning;
    GstElement *pipeline = nullptr;
    {
      std::lock_guard<std::mutex> lk(priv->lock_);
      stale = c.generation != priv->generation || priv->ended || !priv->pipeline;
      loop = priv->loop;
      rate = priv->rate;
      origin_left = priv->origin_left;
      /* a loop iteration that rendered no media time (a still image, an
       * empty file) would loop at once, forever */
      empty_iteration = !GST_CLOCK_TIME_IS_VALID(priv->iteration_media_end) ||
                        priv->iteration_media_end < kMinLoopMedia;
      empty_load = priv->samples_this_load == 0 && !origin_left && !priv->branches.empty();
      uri = priv->loaded_uri;
      warning = priv->first_warning;
      pipeline = pipeline_ref_locked(priv);
    }
    if (stale) {
      gst_clear_object(&pipeline);
      break;
    }
    if (empty_load) {
      gst_object_unref(pipeline);
      post_empty_media_error(self, uri, warning);
      end_tracks(self, true, false);
      break;
    }
    /* Looping a medium that left allowed-origins would request the other
     * origin again at every end: it stays muted instead (ME-10). */
    if (loop && !origin_left && !empty_iteration) {
      gst_object_unref(pipeline);
      seek_to(self, 0.0, rate); /* continuous, no event (ME-5) */
      break;
    }
    gint64 d;
    gdouble duration = gst_element_query_duration(pipeline, GST_FORMAT_TIME, &d) && d >= 0
                           ? (gdouble)d / GST_SECOND
                           : -1.0;
    gst_object_unref(pipeline);
    bool paused_changed;
    {
      std::lock_guard<std::mutex> lk(priv->lock_);
      if (c.generation != priv->generation)
        break;
      priv->ended = true;
      /* HTML: reaching the end pauses the element. */
      paused_changed = !priv->paused;
      if (!priv->paused)
        priv->paused_by_end = true;
      priv->paused = TRUE;
      if (duration >= 0)
        priv->last_position = duration;
    }
    bool duration_changed;
    {
      std::lock_guard<std::mutex> lk(priv->lock_);
      duration_changed = priv->notified_duration != duration;
      priv->notified_duration = duration;
    }
    if (duration_changed)
      g_object_notify(G_OBJECT(self), "duration");
    GST_INFO_OBJECT(self, "playback ended%s", loop ? " (nothing to loop)" : "");
    end_tracks(self, false, false); /* ME-3 */
    apply_state(self);
    if (paused_changed)
      g_object_notify(G_OBJECT(self), "paused");
    g_object_notify(G_OBJECT(self), "ended");
    break;
  }
  case CommandType::Expose: {
    bool stale;
    {
      /* a medium that prerolls exposes its tracks once prerolled */
      std::lock_guard<std::mutex> lk(priv->lock_);
      stale = c.generation != priv->generation || !priv->prerolled;
    }
    if (!stale)
      expose_tracks(self);
    break;
  }
  case CommandType::Select: {
    /* ME-3, ME-4: only the deselected tracks end, only the newly selected
     * streams get (new) tracks; playback goes on. */
    {
      std::lock_guard<std::mutex> lk(priv->lock_);
      for (auto &b : priv->branches)
        b->selected = branch_selected_locked(priv, b->is_video, b->kind_index);
    }
    end_tracks(self, false, false, true);
    bool ready;
    {
      std::lock_guard<std::mutex> lk(priv->lock_);
      ready = priv->prerolled && !priv->ended;
    }
    if (ready)
      expose_tracks(self);
    break;
  }
  case CommandType::Duration: {
    bool stale;
    {
      std::lock_guard<std::mutex> lk(priv->lock_);
      stale = c.generation != priv->generation;
    }
    if (!stale)
      update_duration(self);
    break;
  }
  case CommandType::NotifyMuted:
    g_object_notify(G_OBJECT(c.pad.get()), "muted");
    break;
  case CommandType::Quit:
    break;
  }
}

/* Stall watchdog: a media element that wants data (loading, or playing) and
 * got none for stall-timeout is an error, not a silent hang. Under the lock. */
static bool stalled_locked(GstMediaCaptureSrcPrivate *priv,
                           std::chrono::steady_clock::time_point *deadline)
{
  if (!priv->pipeline || priv->preroll_failed || priv->stall_timeout <= 0.0 || priv->ended ||
      priv->origin_left)
    return false;
  bool wants_data = !priv->prerolled || (priv->outer_playing && !priv->paused);
  if (!wants_data)
    return false;
  auto limit = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(std::min(priv->stall_timeout, 1e6)));
  *deadline = priv->last_data + limit;
  return true;
}

static void control_thread(GstMediaCaptureSrc *self, std::shared_ptr<ControlRun> run)
{
  GstMediaCaptureSrcPrivate *priv = self->priv;
  tls_control_run = run.get();
  std::unique_lock<std::mutex> lk(priv->lock_);
  for (;;) {
    auto ready = [&] { return run->quit || !run->commands.empty(); };
    std::chrono::steady_clock::time_point deadline;
    if (stalled_locked(priv, &deadline)) {
      if (!priv->control_cond.wait_until(lk, deadline, ready)) {
        if (!stalled_locked(priv, &deadline) || std::chrono::steady_clock::now() < deadline)
          continue;
        /* No byte read and nothing decoded for stall-timeout while the
         * media element wanted data (a server that stopped sending, a
         * demuxer that swallowed its error). */
        priv->preroll_failed = true;
        std::string uri = priv->loaded_uri;
        gdouble timeout = priv->stall_timeout;
        GstElement *pipeline = pipeline_ref_locked(priv);
        lk.unlock();
        if (pipeline) {
          GST_DEBUG_BIN_TO_DOT_FILE_WITH_TS(GST_BIN(pipeline), GST_DEBUG_GRAPH_SHOW_ALL,
                                            "mediacapturesrc-stalled");
          gst_object_unref(pipeline);
        }
        GST_ELEMENT_ERROR(
            self, RESOURCE, READ,
            (_("Could not play \"%s\": no data for %g s (stall-timeout)."), uri.c_str(), timeout),
            ("the media element stalled"));
        lk.lock();
        continue;
      }
    } else {
      priv->control_cond.wait(lk, ready);
    }
    if (run->quit)
      break;
    Command c = run->commands.front();
    run->commands.pop_front();
    /* Only the last of a run of source changes matters. */
    if (c.type == CommandType::Load) {
      bool later = false;
      for (auto &o : run->commands)
        later = later || o.type == CommandType::Load;
      if (later)
        continue;
    }
    lk.unlock();
    handle_command(self, c);
    lk.lock();
  }
  lk.unlock();
  tls_control_run = nullptr;
  run.reset();
  gst_object_unref(self); /* taken by start_control() */
}

/* Is the calling thread allowed to change the element's run? Application
 * threads and the current control thread are; a control thread whose run was
 * stopped from one of its own signal handlers only unwinds. Under the lock. */
static bool run_current_locked(GstMediaCaptureSrcPrivate *priv)
{
  return !tls_control_run || (priv->run.get() == tls_control_run && !tls_control_run->quit);
}

static void post_command(GstMediaCaptureSrc *self, Command cmd)
{
  GstMediaCaptureSrcPrivate *priv = self->priv;
  std::lock_guard<std::mutex> lk(priv->lock_);
  if (!priv->run || priv->run->quit)
    return;
  priv->run->commands.push_back(std::move(cmd));
  priv->control_cond.notify_all();
}

/* Joins the control threads that were stopped from their own handlers; the
 * calling thread itself (a handler that restarts the element) is detached:
 * it holds its own reference to the element until it returns. */
static void reap_finished_controls(GstMediaCaptureSrcPrivate *priv)
{
  std::vector<std::thread> done;
  {
    std::lock_guard<std::mutex> lk(priv->lock_);
    done.swap(priv->finished_controls);
  }
  for (auto &th : done) {
    if (th.get_id() == std::this_thread::get_id())
      th.detach();
    else if (th.joinable())
      th.join();
  }
}

static void start_control(GstMediaCaptureSrc *self)
{
  GstMediaCaptureSrcPrivate *priv = self->priv;
  reap_finished_controls(priv);
  std::lock_guard<std::mutex> lk(priv->lock_);
  if (priv->run)
    return;
  priv->quit = false;
  priv->run = std::make_shared<ControlRun>();
  gst_object_ref(self); /* the thread's, released when it returns */
  priv->run->thread = std::thread(control_thread, self, priv->run);
}

static void stop_all(GstMediaCaptureSrc *self)
{
  GstMediaCaptureSrcPrivate *priv = self->priv;
  std::shared_ptr<ControlRun> run;
  {
    std::lock_guard<std::mutex> lk(priv->lock_);
    priv->quit = true;
    priv->outer_playing = false;
    run = std::move(priv->run);
    if (run)
      run->quit = true;
    for (auto &t : priv->tracks)
      t->stopping = true;
    wake_tracks(priv);
    priv->control_cond.notify_all();
  }
  if (run && run->thread.joinable()) {
    if (run->thread.get_id() == std::this_thread::get_id()) {
      /* stopped from a handler of a signal the control thread emitted */
      std::lock_guard<std::mutex> lk(priv->lock_);
      priv->finished_controls.push_back(std::move(run->thread));
    } else {
      run->thread.join();
    }
  }
  run.reset();
  teardown_pipeline(self);
  end_tracks(self, true, true);
  bool ended_changed, paused_changed;
  {
    /* Run state goes with the run: only a paused the application set
     * survives a restart. */
    std::lock_guard<std::mutex> lk(priv->lock_);
    priv->start_position = 0.0;
    ended_changed = priv->ended;
    priv->ended = false;
    priv->origin_left = false;
    priv->prerolled = false;
    priv->preroll_failed = false;
    priv->pending_start = 0.0;
    priv->last_position = 0.0;
    priv->eos_requested = false;
    paused_changed = priv->paused_by_end;
    if (priv->paused_by_end)
      priv->paused = FALSE;
    priv->paused_by_end = false;
  }
  if (ended_changed)
    g_object_notify(G_OBJECT(self), "ended");
  if (paused_changed)
    g_object_notify(G_OBJECT(self), "paused");
}

/* ---------------------------------------------------------- GstElement */

static GstStateChangeReturn gst_media_capture_src_change_state(GstElement *element,
                                                               GstStateChange transition)
{
  GstMediaCaptureSrc *self = GST_MEDIA_CAPTURE_SRC(element);
  GstMediaCaptureSrcPrivate *priv = self->priv;

  switch (transition) {
  case GST_STATE_CHANGE_NULL_TO_READY: {
    GstElementFactory *f = gst_element_factory_find("uridecodebin");
    if (!f) {
      GST_ELEMENT_ERROR(self, CORE, MISSING_PLUGIN,
                        (_("The uridecodebin element is missing (gst-plugins-base).")), (nullptr));
      return GST_STATE_CHANGE_FAILURE;
    }
    gst_object_unref(f);
    break;
  }
  case GST_STATE_CHANGE_READY_TO_PAUSED: {
    start_control(self);
    Command c{CommandType::Load};
    {
      std::lock_guard<std::mutex> lk(priv->lock_);
      c.uri = priv->uri;
      c.value = priv->start_position;
    }
    post_command(self, c);
    break;
  }
  case GST_STATE_CHANGE_PAUSED_TO_READY:
    /* before the pads are deactivated: their tasks must let go first */
    stop_all(self);
    break;
  case GST_STATE_CHANGE_PAUSED_TO_PLAYING: {
    {
      std::lock_guard<std::mutex> lk(priv->lock_);
      priv->outer_playing = true;
    }
    post_command(self, Command{CommandType::State});
    break;
  }
  default:
    break;
  }

  GstStateChangeReturn ret = GST_ELEMENT_CLASS(parent_class)->change_state(element, transition);
  if (ret == GST_STATE_CHANGE_FAILURE)
    return ret;

  switch (transition) {
  case GST_STATE_CHANGE_READY_TO_PAUSED:
    ret = GST_STATE_CHANGE_NO_PREROLL; /* live */
    break;
  case GST_STATE_CHANGE_PLAYING_TO_PAUSED: {
    {
      std::lock_guard<std::mutex> lk(priv->lock_);
      priv->outer_playing = false;
    }
    post_command(self, Command{CommandType::State});
    ret = GST_STATE_CHANGE_NO_PREROLL;
    break;
  }
  default:
    break;
  }
  return ret;
}

/* EOS sent to the element (gst_element_send_event(pipeline, eos), as
 * gst-launch-1.0 -e does): every track sends EOS after what is queued, as a
 * GstBaseSrc does, and no new track is added for the rest of the run. */
static gboolean gst_media_capture_src_send_event(GstElement *element, GstEvent *event)
{
  GstMediaCaptureSrc *self = GST_MEDIA_CAPTURE_SRC(element);
  GstMediaCaptureSrcPrivate *priv = self->priv;
  if (GST_EVENT_TYPE(event) != GST_EVENT_EOS)
    return GST_ELEMENT_CLASS(parent_class)->send_event(element, event);
  gst_event_unref(event);
  GST_INFO_OBJECT(self, "EOS requested: ending every track");
  std::lock_guard<std::mutex> lk(priv->lock_);
  priv->eos_requested = true;
  for (auto &t : priv->tracks) {
    t->eos_pending = true;
    t->cond.notify_all();
  }
  return TRUE;
}

static void gst_media_capture_src_set_property(GObject *object, guint prop_id, const GValue *value,
                                               GParamSpec *pspec)
{
  GstMediaCaptureSrc *self = GST_MEDIA_CAPTURE_SRC(object);
  GstMediaCaptureSrcPrivate *priv = self->priv;

  switch (prop_id) {
  case PROP_URI: {
    const gchar *uri = g_value_get_string(value);
    Command c{CommandType::Load};
    {
      std::lock_guard<std::mutex> lk(priv->lock_);
      priv->uri = uri ? uri : "";
      c.uri = priv->uri;
    }
    GST_INFO_OBJECT(self, "uri \"%s\"", c.uri.c_str());
    post_command(self, c); /* only while running */
    break;
  }
  case PROP_PAUSED: {
    Command c{CommandType::Paused};
    {
      std::lock_guard<std::mutex> lk(priv->lock_);
      priv->paused = g_value_get_boolean(value);
      priv->paused_by_end = false; /* the application's own */
      c.flag = priv->paused;
      GST_INFO_OBJECT(self, "paused %d", priv->paused);
      wake_tracks(priv);
    }
    post_command(self, c);
    break;
  }
  case PROP_LOOP: {
    std::lock_guard<std::mutex> lk(priv->lock_);
    priv->loop = g_value_get_boolean(value);
    GST_INFO_OBJECT(self, "loop %d", priv->loop);
    break;
  }
  case PROP_PLAYBACK_RATE: {
    Command c{CommandType::Rate};
    {
      std::lock_guard<std::mutex> lk(priv->lock_);
      if (priv->rate == g_value_get_double(value))
        break;
      priv->rate = g_value_get_double(value);
      GST_INFO_OBJECT(self, "playback-rate %g", priv->rate);
      c.value = priv->rate;
      wake_tracks(priv);
    }
    post_command(self, c);
    break;
  }
  case PROP_CURRENT_TIME: {
    Command c{CommandType::Seek};
    c.value = g_value_get_double(value);
    GST_INFO_OBJECT(self, "current-time %g", c.value);
    {
      std::lock_guard<std::mutex> lk(priv->lock_);
      priv->last_position = c.value;
      if (!priv->run)
        priv->start_position = c.value;
    }
    post_command(self, c);
    break;
  }
  case PROP_VIDEO_TRACK:
  case PROP_AUDIO_TRACKS: {
    {
      std::lock_guard<std::mutex> lk(priv->lock_);
      if (prop_id == PROP_VIDEO_TRACK) {
        priv->video_track = g_value_get_int(value);
      } else {
        const gchar *s = g_value_get_string(value);
        std::vector<gint> list;
        bool all;
        if (!mediacapture::parse_audio_tracks(s, &list, &all)) {
          g_warning("mediacapturesrc: audio-tracks must be \"all\", \"none\" or a comma "
                    "separated list of indices, not \"%s\"",
                    s ? s : "(null)");
          break;
        }
        priv->audio_tracks = s;
      }
      GST_INFO_OBJECT(self, "video-track %d, audio-tracks \"%s\"", priv->video_track,
                      priv->audio_tracks.c_str());
    }
    post_command(self, Command{CommandType::Select}); /* only while running */
    break;
  }
  case PROP_ALLOWED_ORIGINS: {
    std::lock_guard<std::mutex> lk(priv->lock_);
    g_strfreev(priv->allowed_origins);
    priv->allowed_origins = (GStrv)g_value_dup_boxed(value);
    GST_INFO_OBJECT(self, "allowed-origins set");
    break;
  }
  case PROP_STALL_TIMEOUT: {
    std::lock_guard<std::mutex> lk(priv->lock_);
    priv->stall_timeout = g_value_get_double(value);
    GST_INFO_OBJECT(self, "stall-timeout %g s", priv->stall_timeout);
    priv->control_cond.notify_all();
    break;
  }
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
}

static void gst_media_capture_src_get_property(GObject *object, guint prop_id, GValue *value,
                                               GParamSpec *pspec)
{
  GstMediaCaptureSrc *self = GST_MEDIA_CAPTURE_SRC(object);
  GstMediaCaptureSrcPrivate *priv = self->priv;

  switch (prop_id) {
  case PROP_URI: {
    std::lock_guard<std::mutex> lk(priv->lock_);
    g_value_set_string(value, priv->uri.c_str());
    break;
  }
  case PROP_PAUSED: {
    std::lock_guard<std::mutex> lk(priv->lock_);
    g_value_set_boolean(value, priv->paused);
    break;
  }
  case PROP_LOOP: {
    std::lock_guard<std::mutex> lk(priv->lock_);
    g_value_set_boolean(value, priv->loop);
    break;
  }
  case PROP_PLAYBACK_RATE: {
    std::lock_guard<std::mutex> lk(priv->lock_);
    g_value_set_double(value, priv->rate);
    break;
  }
  case PROP_CURRENT_TIME:
  case PROP_DURATION: {
    GstElement *p = nullptr;
    gdouble result;
    bool ended;
    {
      std::lock_guard<std::mutex> lk(priv->lock_);
      p = pipeline_ref_locked(priv);
      result = prop_id == PROP_CURRENT_TIME ? priv->last_position : -1.0;
      ended = priv->ended;
    }
    if (p) {
      gint64 v;
      if (prop_id == PROP_DURATION && gst_element_query_duration(p, GST_FORMAT_TIME, &v))
        result = (gdouble)v / GST_SECOND;
      else if (prop_id == PROP_CURRENT_TIME && !ended &&
               gst_element_query_position(p, GST_FORMAT_TIME, &v))
        result = (gdouble)v / GST_SECOND;
      gst_object_unref(p);
    }
    g_value_set_double(value, result);
    break;
  }
  case PROP_ENDED: {
    std::lock_guard<std::mutex> lk(priv->lock_);
    g_value_set_boolean(value, priv->ended);
    break;
  }
  case PROP_VIDEO_TRACK: {
    std::lock_guard<std::mutex> lk(priv->lock_);
    g_value_set_int(value, priv->video_track);
    break;
  }
  case PROP_AUDIO_TRACKS: {
    std::lock_guard<std::mutex> lk(priv->lock_);
    g_value_set_string(value, priv->audio_tracks.c_str());
    break;
  }
  case PROP_ALLOWED_ORIGINS: {
    std::lock_guard<std::mutex> lk(priv->lock_);
    g_value_set_boxed(value, priv->allowed_origins);
    break;
  }
  case PROP_STALL_TIMEOUT: {
    std::lock_guard<std::mutex> lk(priv->lock_);
    g_value_set_double(value, priv->stall_timeout);
    break;
  }
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
}

static void gst_media_capture_src_finalize(GObject *object)
{
  GstMediaCaptureSrc *self = GST_MEDIA_CAPTURE_SRC(object);
  reap_finished_controls(self->priv);
  g_strfreev(self->priv->allowed_origins);
  delete self->priv;
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void gst_media_capture_src_class_init(GstMediaCaptureSrcClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);

  GST_DEBUG_CATEGORY_INIT(gst_media_capture_src_debug, "mediacapturesrc", 0,
                          "HTMLMediaElement.captureStream()");

  gobject_class->set_property = GST_DEBUG_FUNCPTR(gst_media_capture_src_set_property);
  gobject_class->get_property = GST_DEBUG_FUNCPTR(gst_media_capture_src_get_property);
  gobject_class->finalize = GST_DEBUG_FUNCPTR(gst_media_capture_src_finalize);
  element_class->change_state = GST_DEBUG_FUNCPTR(gst_media_capture_src_change_state);
  element_class->send_event = GST_DEBUG_FUNCPTR(gst_media_capture_src_send_event);

  const GParamFlags rw = (GParamFlags)(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  const GParamFlags ro = (GParamFlags)(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_property(
      gobject_class, PROP_URI,
      g_param_spec_string("uri", "URI",
                          "Media to play (any URI uridecodebin handles). Setting it while "
                          "running changes the source: the old tracks end and their pads go, "
                          "then the new source's tracks are added; \"\" ends all tracks",
                          "", rw));
  g_object_class_install_property(
      gobject_class, PROP_PAUSED,
      g_param_spec_boolean("paused", "Paused",
                           "Pause the media element: its tracks are muted (video sends nothing, "
                           "audio sends silence) while the outer pipeline keeps running. "
                           "Becomes TRUE when playback ends; FALSE after the end plays again "
                           "from the start with new tracks",
                           FALSE, rw));
  g_object_class_install_property(
      gobject_class, PROP_LOOP,
      g_param_spec_boolean("loop", "Loop", "Start over at the end instead of ending the tracks",
                           FALSE, rw));
  g_object_class_install_property(
      gobject_class, PROP_PLAYBACK_RATE,
      g_param_spec_double("playback-rate", "Playback rate",
                          "Speed of playback. Audio is time-stretched with its pitch kept "
                          "between 0.5 and 4; outside that range audio tracks are muted (ME-9)",
                          kMinRate, kMaxRate, 1.0, rw));
  g_object_class_install_property(
      gobject_class, PROP_CURRENT_TIME,
      g_param_spec_double("current-time", "Current time",
                          "Playback position in seconds; setting it seeks the media element "
                          "(no track ends, the outer pipeline sees no flush). Setting it after "
                          "the end plays again with new tracks",
                          0.0, G_MAXDOUBLE, 0.0, rw));
  g_object_class_install_property(
      gobject_class, PROP_DURATION,
      g_param_spec_double("duration", "Duration",
                          "Duration of the media in seconds, -1 while unknown", -1.0, G_MAXDOUBLE,
                          -1.0, ro));
  g_object_class_install_property(
      gobject_class, PROP_ENDED,
      g_param_spec_boolean("ended", "Ended",
                           "TRUE when playback reached the end without loop: every track got "
                           "EOS and its pad was removed",
                           FALSE, ro));
  g_object_class_install_property(
      gobject_class, PROP_VIDEO_TRACK,
      g_param_spec_int("video-track", "Video track",
                       "Index of the selected video track of the media (-1: none). Changing "
                       "it while running ends the deselected track and adds the newly selected one",
                       -1, G_MAXINT, 0, rw));
  g_object_class_install_property(
      gobject_class, PROP_AUDIO_TRACKS,
      g_param_spec_string("audio-tracks", "Audio tracks",
                          "Enabled audio tracks of the media: \"all\", \"none\" or indices "
                          "such as \"0\" or \"0,2\". Changing it while running ends the "
                          "disabled tracks and adds the newly enabled ones; the others go on",
                          "0", rw));
  g_object_class_install_property(
      gobject_class, PROP_ALLOWED_ORIGINS,
      g_param_spec_boxed("allowed-origins", "Allowed origins",
                         "URI prefixes (scheme://host[:port]/path-prefix) the media may be "
                         "loaded from; empty = any. Outside: SecurityError and no track; a "
                         "redirect outside mid-stream mutes the tracks (ME-10)",
                         G_TYPE_STRV, rw));

  g_object_class_install_property(
      gobject_class, PROP_STALL_TIMEOUT,
      g_param_spec_double("stall-timeout", "Stall timeout",
                          "Seconds without any data (no byte read, nothing decoded) while the "
                          "media is loading or playing after which the element posts an error "
                          "naming the URI; 0 = wait for ever. Time paused does not count",
                          0.0, G_MAXDOUBLE, 30.0, rw));

  gst_element_class_add_static_pad_template(element_class, &video_template);
  gst_element_class_add_static_pad_template(element_class, &audio_template);
  gst_type_mark_as_plugin_api(GST_TYPE_MEDIA_CAPTURE_SRC_PAD, (GstPluginAPIFlags)0);

  gst_element_class_set_static_metadata(
      element_class, "Media capture source", "Source/Audio/Video",
      "Plays a media URI like an HTML media element and outputs what it renders as live "
      "audio and video tracks (HTMLMediaElement.captureStream)",
      "GStreamer Web Capture");
}

static void gst_media_capture_src_init(GstMediaCaptureSrc *self)
{
  self->priv = new GstMediaCaptureSrcPrivate();
  self->priv->self = self;
  GST_OBJECT_FLAG_SET(self, GST_ELEMENT_FLAG_SOURCE);
}
