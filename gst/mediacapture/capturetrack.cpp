/* mediacapturesrc: a capture track (see capturetrack.h).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "capturetrack.h"

#include <gst/audio/audio.h>

#include <chrono>

#include "gstmediacapturesrc.h"
#include "gstmediastreamtrackstate.h"
#include "gstwebcaptureutil.h"

GST_DEBUG_CATEGORY_EXTERN(gst_media_capture_src_debug);
#define GST_CAT_DEFAULT gst_media_capture_src_debug

struct _GstMediaCaptureSrcPad {
  GstPad parent;
  gboolean muted;
};

G_DEFINE_TYPE(GstMediaCaptureSrcPad, gst_media_capture_src_pad, GST_TYPE_PAD);

enum { PAD_PROP_0, PAD_PROP_MUTED };

static void gst_media_capture_src_pad_get_property(GObject *object, guint prop_id, GValue *value,
                                                   GParamSpec *pspec)
{
  GstMediaCaptureSrcPad *pad = GST_MEDIA_CAPTURE_SRC_PAD(object);
  switch (prop_id) {
  case PAD_PROP_MUTED:
    GST_OBJECT_LOCK(pad);
    g_value_set_boolean(value, pad->muted);
    GST_OBJECT_UNLOCK(pad);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
}

static void gst_media_capture_src_pad_class_init(GstMediaCaptureSrcPadClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  gobject_class->get_property = GST_DEBUG_FUNCPTR(gst_media_capture_src_pad_get_property);
  g_object_class_install_property(
      gobject_class, PAD_PROP_MUTED,
      g_param_spec_boolean("muted", "Muted",
                           "TRUE while the captured track has no accessible content (media "
                           "paused, outside the track's content, origin left, nothing rendered "
                           "yet): video sends no frames, audio sends silence (ME-6, ME-7). A new "
                           "pad is muted until its first rendered frame or audio buffer",
                           TRUE, (GParamFlags)(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
}

static void gst_media_capture_src_pad_init(GstMediaCaptureSrcPad *pad)
{
  /* A new track has rendered nothing yet: muted, so that pad-added shows the
   * state the track-state event will announce, and the first frame is the
   * only change (not false, true, false within the first milliseconds). */
  pad->muted = TRUE;
}

namespace mediacapture
{

namespace
{

/* What the element adds to the outer latency: buffers are pushed when the
 * internal sink renders them (at their timestamp) and silence for an
 * unexplained gap is only generated after kGapHold. */
constexpr GstClockTime kLatency = 100 * GST_MSECOND;
constexpr GstClockTime kSilenceChunk = 20 * GST_MSECOND;
constexpr GstClockTime kGapHold = 60 * GST_MSECOND;
/* An unexplained audio gap longer than this mutes the track (outside content). */
constexpr GstClockTime kGapMute = 200 * GST_MSECOND;
/* Real audio this close to where the track is (8 ms) is made contiguous;
 * further off it is re-synced (silence or clipping), keeping A/V in sync. */
constexpr GstClockTime kAudioTolerance = 8 * GST_MSECOND;
/* How long a track waits after a downstream pad answered FLUSHING. */
constexpr std::chrono::milliseconds kDownstreamFlushingWait{10};

} // namespace

/* ---------------------------------------------------------------- muting */

/* Hard reasons are known at once (silence is generated without waiting);
 * soft ones (no content yet, a gap) are only guesses from missing data. */
static bool track_hard_muted(Track *t)
{
  return t->owner->hard_muted_locked(*t);
}

static bool track_muted(Track *t)
{
  return track_hard_muted(t) || !t->got_content || t->gap_muted;
}

/* Pad task side: pushes the track-state event when muted changed (ME-6). */
static void track_announce_muted(Track *t, bool muted)
{
  if (t->muted_sent && t->muted_state == muted)
    return;
  t->muted_sent = true;
  t->muted_state = muted;
  GstMediaCaptureSrcPad *pad = GST_MEDIA_CAPTURE_SRC_PAD(t->pad);
  GST_OBJECT_LOCK(pad);
  gboolean changed = pad->muted != (gboolean)muted;
  pad->muted = muted;
  GST_OBJECT_UNLOCK(pad);
  GST_DEBUG_OBJECT(t->pad, "muted %d", muted);
  gst_pad_push_event(t->pad, gst_media_stream_track_state_event_new(muted, t->label));
  if (changed) {
    /* Application-facing: emitted by the control thread, never by the pad
     * task (a handler that stops the element would join the task from
     * inside it). */
    t->owner->notify_muted(t->pad);
  }
}

/* ------------------------------------------------------------ pad task */

static void track_send_start(Track *t)
{
  GstEvent *ev = gst_event_new_stream_start(t->stream_id);
  gst_event_set_group_id(ev, t->group_id);
  GstStream *stream = gst_stream_new(t->stream_id, t->caps,
                                     t->is_video ? GST_STREAM_TYPE_VIDEO : GST_STREAM_TYPE_AUDIO,
                                     GST_STREAM_FLAG_NONE);
  gst_event_set_stream(ev, stream);
  t->stream = stream; /* its tags follow the media's */
  gst_pad_push_event(t->pad, ev);
  /* A stream exposed before its decoder output anything (a WebM video track
   * without a frame) only has the caps it could have, not fixed: no CAPS (and
   * no SEGMENT, which must follow the CAPS) until its first buffer brings
   * them (track_set_caps, track_ensure_segment). */
  if (t->caps && gst_caps_is_fixed(t->caps)) {
    gst_pad_push_event(t->pad, gst_event_new_caps(t->caps));
    GstSegment segment;
    gst_segment_init(&segment, GST_FORMAT_TIME);
    gst_pad_push_event(t->pad, gst_event_new_segment(&segment));
  }
  t->started = true;
}

void track_set_caps(Track *t, GstCaps *caps)
{
  if (!caps || (t->caps && gst_caps_is_equal(t->caps, caps)))
    return;
  gst_caps_replace(&t->caps, caps);
  if (!gst_caps_is_fixed(caps))
    return; /* not sent: see track_send_start */
  if (!t->is_video) {
    GstAudioInfo info;
    if (gst_audio_info_from_caps(&info, caps))
      t->ainfo = info;
  }
  if (t->started) {
    if (t->stream)
      gst_stream_set_caps(t->stream, caps);
    gst_pad_push_event(t->pad, gst_event_new_caps(caps));
  }
}

static GstBuffer *make_silence(Track *t, GstClockTime pts, guint64 samples)
{
  GstBuffer *buf = gst_webcapture_silence_buffer_new(&t->ainfo, (guint)samples);
  GST_BUFFER_PTS(buf) = pts;
  GST_BUFFER_DURATION(buf) =
      gst_util_uint64_scale(samples, GST_SECOND, GST_AUDIO_INFO_RATE(&t->ainfo));
  GST_BUFFER_FLAG_SET(buf, GST_BUFFER_FLAG_GAP);
  return buf;
}

/* The outer pipeline's running time restarts when its base time changes (a
 * flushing seek taken by another source): the track then follows the new
 * running time at once, as a live GstBaseSrc stamping running time does,
 * instead of holding its timestamps above the old ones. Task only. */
static GstClockTime track_rebase(Track *t)
{
  GstClockTime base = gst_element_get_base_time(t->owner->element());
  if (base != t->base_time) {
    if (GST_CLOCK_TIME_IS_VALID(t->base_time))
      GST_INFO_OBJECT(t->pad, "outer running time restarted: timestamps follow");
    t->base_time = base;
    t->last_pts = GST_CLOCK_TIME_NONE;
    t->next_ts = GST_CLOCK_TIME_NONE;
  }
  return base;
}

/* An upstream FLUSH_STOP removes the pad's SEGMENT (the core does, before
 * the pad's event function sees it): sent again before the next buffer. */
static void track_ensure_segment(Track *t)
{
  GstEvent *seg = gst_pad_get_sticky_event(t->pad, GST_EVENT_SEGMENT, 0);
  if (seg) {
    gst_event_unref(seg);
    return;
  }
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  gst_pad_push_event(t->pad, gst_event_new_segment(&segment));
}

static GstFlowReturn track_push_audio(Track *t, GstBuffer *buf, bool silence_it)
{
  track_ensure_segment(t);
  /* Audio is made contiguous: each buffer starts where the previous ended, so
   * silence fills and real audio add up to an exact sample clock. */
  GstClockTime base = track_rebase(t);
  GstClockTime pts = GST_BUFFER_PTS(buf) > base ? GST_BUFFER_PTS(buf) - base : 0;
  guint64 samples = gst_buffer_get_size(buf) / GST_AUDIO_INFO_BPF(&t->ainfo);
  GstFlowReturn ret = GST_FLOW_OK;
  if (!GST_CLOCK_TIME_IS_VALID(t->next_ts))
    t->next_ts = pts;
  if (pts > t->next_ts + kAudioTolerance) {
    guint64 gap =
        gst_util_uint64_scale(pts - t->next_ts, GST_AUDIO_INFO_RATE(&t->ainfo), GST_SECOND);
    if (gap > 0) {
      GstBuffer *s = make_silence(t, t->next_ts, gap);
      t->next_ts += GST_BUFFER_DURATION(s);
      ret = gst_pad_push(t->pad, s);
      if (ret != GST_FLOW_OK) {
        gst_buffer_unref(buf);
        return ret;
      }
    }
  } else if (pts + kAudioTolerance < t->next_ts) {
    guint64 skip =
        gst_util_uint64_scale(t->next_ts - pts, GST_AUDIO_INFO_RATE(&t->ainfo), GST_SECOND);
    if (skip >= samples) {
      gst_buffer_unref(buf);
      return GST_FLOW_OK;
    }
    GstBuffer *rest =
        gst_buffer_copy_region(buf, GST_BUFFER_COPY_ALL, skip * GST_AUDIO_INFO_BPF(&t->ainfo),
                               (samples - skip) * GST_AUDIO_INFO_BPF(&t->ainfo));
    gst_buffer_unref(buf);
    buf = rest;
    samples -= skip;
  }
  if (silence_it) {
    GstBuffer *s = make_silence(t, t->next_ts, samples);
    gst_buffer_unref(buf);
    buf = s;
  } else {
    buf = gst_buffer_make_writable(buf);
  }
  GST_BUFFER_PTS(buf) = t->next_ts;
  GST_BUFFER_DTS(buf) = GST_CLOCK_TIME_NONE;
  GST_BUFFER_DURATION(buf) =
      gst_util_uint64_scale(samples, GST_SECOND, GST_AUDIO_INFO_RATE(&t->ainfo));
  t->next_ts += GST_BUFFER_DURATION(buf);
  return gst_pad_push(t->pad, buf);
}

static GstFlowReturn track_push_video(Track *t, GstBuffer *buf)
{
  track_ensure_segment(t);
  buf = gst_buffer_make_writable(buf);
  GstClockTime base = track_rebase(t);
  GST_BUFFER_PTS(buf) = GST_BUFFER_PTS(buf) > base ? GST_BUFFER_PTS(buf) - base : 0;
  /* The outer running time never goes back, even across a seek or a loop. */
  if (GST_CLOCK_TIME_IS_VALID(t->last_pts) && GST_BUFFER_PTS(buf) <= t->last_pts)
    GST_BUFFER_PTS(buf) = t->last_pts + 1;
  t->last_pts = GST_BUFFER_PTS(buf);
  GST_BUFFER_DTS(buf) = GST_CLOCK_TIME_NONE;
  return gst_pad_push(t->pad, buf);
}

/* Downstream answered EOS: it wants no more of this track. As a source does,
 * say EOS (once) and stop pushing; what the media element renders for the
 * track from now on is dropped (the queue is bounded). Lock not held. */
static void track_downstream_eos(Track *t)
{
  bool already;
  {
    std::lock_guard<std::mutex> lk(t->owner->lock());
    already = t->eos_pushed;
    t->eos_pushed = true;
    t->owner->track_finished_locked();
  }
  if (!already)
    gst_pad_push_event(t->pad, gst_event_new_eos());
  gst_pad_pause_task(t->pad);
}

/* A push returned NOT_NEGOTIATED or an error: fatal for this track, as for
 * a GstBaseSrc: an ERROR naming the reason ("not-negotiated" when
 * downstream takes none of the track's caps), then EOS, and its task stops.
 * NOT_LINKED is not an error here: a track nobody links is dropped (an
 * application may take only some of the tracks). */
static bool track_fatal_flow(Track *t, GstFlowReturn ret)
{
  if (ret != GST_FLOW_NOT_NEGOTIATED && ret > GST_FLOW_EOS)
    return false;
  GST_ELEMENT_FLOW_ERROR(t->owner->element(), ret);
  track_downstream_eos(t);
  return true;
}

/* A push returned FLUSHING. When the track's own pad is flushing (the element
 * is stopping) the task pauses, as a source's does. Otherwise it is a
 * downstream pad that is not active yet, typically a branch linked to a tee
 * while it is still in NULL: a live track must not die for that (nothing
 * would ever restart its task), so the buffer is dropped, as live media is
 * when nobody takes it, and the track goes on after a short wait. Called with
 * @lk unlocked; returns with it unlocked. */
static void track_flushing(Track *t, std::unique_lock<std::mutex> &lk)
{
  lk.lock();
  if (t->stopping || GST_PAD_IS_FLUSHING(t->pad)) {
    /* stopping, or an upstream FLUSH_START: its FLUSH_STOP restarts the
     * task, as a GstBaseSrc does */
    if (t->stopping)
      t->owner->track_finished_locked();
    lk.unlock();
    gst_pad_pause_task(t->pad);
    return;
  }
  GST_DEBUG_OBJECT(t->pad, "downstream is flushing: buffer dropped, the track goes on");
  t->cond.wait_for(lk, kDownstreamFlushingWait);
  lk.unlock();
}

void track_loop(gpointer user_data)
{
  Track *t = static_cast<Track *>(user_data);

  if (!t->started)
    track_send_start(t);

  /* One step per call, so the pad's stream lock is released between steps. */
  std::unique_lock<std::mutex> lk(t->owner->lock());
  {
    if (t->stopping) {
      lk.unlock();
      gst_pad_pause_task(t->pad);
      return;
    }
    if (GstTagList *tags = t->owner->stream_tags_locked(*t, &t->tags_serial_sent)) {
      /* The media's stream tags: downstream as a TAG event, on the GstStream,
       * and the title is the track's label (docs/plugins/mediacapturesrc.md). */
      lk.unlock();
      gchar *title = nullptr;
      if (gst_tag_list_get_string(tags, GST_TAG_TITLE, &title)) {
        g_free(t->label);
        t->label = title;
        t->muted_sent = false; /* re-announce with the label */
      }
      gst_stream_set_tags(t->stream, tags);
      gst_pad_push_event(t->pad, gst_event_new_tag(tags));
      return;
    }
    bool muted = track_muted(t);
    if (!t->muted_sent || muted != t->muted_state) {
      lk.unlock();
      track_announce_muted(t, muted);
      lk.lock();
      return;
    }
    if (!t->queue.empty()) {
      Item it = t->queue.front();
      t->queue.pop_front();
      bool silence_it = track_hard_muted(t);
      lk.unlock();
      if (it.caps) {
        track_set_caps(t, it.caps);
        gst_caps_unref(it.caps);
      }
      GstFlowReturn ret;
      if (t->is_video)
        ret = track_push_video(t, it.buffer);
      else
        ret = track_push_audio(t, it.buffer, silence_it);
      if (ret != GST_FLOW_OK && ret != GST_FLOW_NOT_LINKED) {
        GST_DEBUG_OBJECT(t->pad, "push returned %s", gst_flow_get_name(ret));
        if (ret == GST_FLOW_EOS) {
          track_downstream_eos(t);
          return;
        }
        if (ret == GST_FLOW_FLUSHING) {
          track_flushing(t, lk);
          return;
        }
        if (track_fatal_flow(t, ret))
          return;
      }
      lk.lock();
      return;
    }
    if (t->eos_pending) {
      lk.unlock();
      gst_pad_push_event(t->pad, gst_event_new_eos());
      lk.lock();
      t->eos_pushed = true;
      t->owner->track_finished_locked();
      lk.unlock();
      gst_pad_pause_task(t->pad);
      return;
    }

    /* Nothing queued. Video waits; audio fills with silence when the media
     * has nothing to say (ME-7), promptly for known reasons, after kGapHold
     * for an unexplained gap. */
    if (t->is_video || !t->owner->playing_locked() || GST_AUDIO_INFO_BPF(&t->ainfo) == 0 ||
        GST_AUDIO_INFO_RATE(&t->ainfo) == 0) {
      t->cond.wait_for(lk, std::chrono::milliseconds(100));
      return;
    }
    bool hard = track_hard_muted(t);
    lk.unlock();
    track_rebase(t);
    GstClockTime now = gst_webcapture_running_time_now(t->owner->element());
    lk.lock();
    if (!GST_CLOCK_TIME_IS_VALID(now)) {
      t->cond.wait_for(lk, std::chrono::milliseconds(20));
      return;
    }
    if (!GST_CLOCK_TIME_IS_VALID(t->next_ts))
      t->next_ts = now;
    GstClockTime deadline = t->next_ts + kSilenceChunk + (hard ? 0 : kGapHold);
    if (now < deadline) {
      t->cond.wait_for(lk, std::chrono::nanoseconds(deadline - now));
      return;
    }
    if (!hard) {
      if (!GST_CLOCK_TIME_IS_VALID(t->gap_since))
        t->gap_since = t->next_ts;
      else if (t->next_ts - t->gap_since >= kGapMute)
        t->gap_muted = true; /* outside the track's content (ME-6) */
    }
    lk.unlock();
    guint64 samples =
        gst_util_uint64_scale(kSilenceChunk, GST_AUDIO_INFO_RATE(&t->ainfo), GST_SECOND);
    GstBuffer *s = make_silence(t, t->next_ts, samples);
    t->next_ts += GST_BUFFER_DURATION(s);
    track_ensure_segment(t);
    GstFlowReturn ret = gst_pad_push(t->pad, s);
    if (ret == GST_FLOW_EOS)
      track_downstream_eos(t);
    else if (ret == GST_FLOW_FLUSHING)
      track_flushing(t, lk);
    else
      track_fatal_flow(t, ret);
  }
}

gboolean track_pad_query(GstPad *pad, GstObject *parent, GstQuery *query)
{
  switch (GST_QUERY_TYPE(query)) {
  case GST_QUERY_LATENCY:
    /* Live: buffers carry the running time they are rendered at. */
    gst_query_set_latency(query, TRUE, kLatency, GST_CLOCK_TIME_NONE);
    return TRUE;
  case GST_QUERY_CAPS: {
    GstCaps *caps = gst_pad_get_current_caps(pad);
    if (!caps)
      caps = gst_pad_get_pad_template_caps(pad);
    GstCaps *filter = nullptr;
    gst_query_parse_caps(query, &filter);
    if (filter) {
      GstCaps *i = gst_caps_intersect_full(filter, caps, GST_CAPS_INTERSECT_FIRST);
      gst_caps_unref(caps);
      caps = i;
    }
    gst_query_set_caps_result(query, caps);
    gst_caps_unref(caps);
    return TRUE;
  }
  case GST_QUERY_SCHEDULING:
    gst_query_set_scheduling(query, GST_SCHEDULING_FLAG_SEQUENTIAL, 1, -1, 0);
    gst_query_add_scheduling_mode(query, GST_PAD_MODE_PUSH);
    return TRUE;
  default:
    return gst_pad_query_default(pad, parent, query);
  }
}

gboolean track_pad_event(GstPad *pad, GstObject *parent, GstEvent *event)
{
  /* Upstream events (seek, QoS, reconfigure) do not reach the media element:
   * its time is its own (ME-5). A flush only concerns this track. */
  gboolean ret = FALSE;
  switch (GST_EVENT_TYPE(event)) {
  case GST_EVENT_RECONFIGURE:
  case GST_EVENT_FLUSH_START:
    ret = TRUE;
    break;
  case GST_EVENT_FLUSH_STOP: {
    /* Called with the pad's stream lock held (the core takes it): the task
     * is between two steps, or paused on the flush. It goes on, and sends a
     * SEGMENT again before its next buffer. */
    Track *t = static_cast<Track *>(gst_pad_get_element_private(pad));
    if (t) {
      std::lock_guard<std::mutex> lk(t->owner->lock());
      if (!t->stopping)
        gst_pad_start_task(pad, track_loop, t, nullptr);
    }
    ret = TRUE;
    break;
  }
  default:
    break;
  }
  gst_event_unref(event);
  return ret;
}

} // namespace mediacapture
