/* mediacapturesrc: a capture track, one src pad of the element (ME-6, ME-7).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A track is a GstMediaCaptureSrcPad with a queue of rendered buffers and a
 * pad task that pushes them: outer running time stamps (following a restart
 * of the outer running time), sample-contiguous audio, generated silence
 * while muted or in a gap, the mediastream-track-state event on each change
 * of muted. What the track needs of its element goes through TrackOwner:
 * the element's lock, why it is muted, whether it plays, its stream's tags.
 * The task never emits an application-facing signal (notify::muted goes
 * through the owner).
 *
 *   gst-launch-1.0 mediacapturesrc uri=file:///path/movie.ogg name=m \
 *     m.audio_0 ! audioconvert ! autoaudiosink */
#pragma once

#include <gst/audio/audio.h>
#include <gst/gst.h>

#include <condition_variable>
#include <deque>
#include <mutex>

namespace mediacapture
{

struct Branch; /* the element's decoded stream a track captures */
struct Track;

/* What a track asks of the element that owns it. *_locked: with lock() held. */
class TrackOwner
{
public:
  virtual std::mutex &lock() = 0;
  virtual GstElement *element() = 0;
  /* muted for a known reason: paused, origin left, unplayable rate (audio),
   * ended, or the track's own content ended */
  virtual bool hard_muted_locked(const Track &t) = 0;
  /* the outer pipeline plays */
  virtual bool playing_locked() = 0;
  /* a copy of the track's stream tags if newer than *serial (updated), else null */
  virtual GstTagList *stream_tags_locked(const Track &t, guint *serial) = 0;
  /* the track pushed its EOS or its task stopped */
  virtual void track_finished_locked() = 0;
  /* the pad's muted changed: notify::muted, emitted by the owner's thread */
  virtual void notify_muted(GstPad *pad) = 0;

protected:
  ~TrackOwner() = default;
};

struct Item {
  GstBuffer *buffer = nullptr; /* PTS: the outer clock time it was rendered at */
  GstCaps *caps = nullptr;     /* new caps to send first, or null */
};

/* One captured track: an outer src pad, its queue and the state its pad task
 * works on (continuity, silence, muting). */
struct Track {
  TrackOwner *owner = nullptr;
  Branch *branch = nullptr; /* the owner's; under its lock */
  GstPad *pad = nullptr;    /* strong ref */
  bool is_video = false;
  guint index = 0;
  gchar *stream_id = nullptr;
  guint group_id = 0;
  GstCaps *caps = nullptr; /* caps of the pad */
  GstStream *stream = nullptr;
  gchar *label = nullptr; /* the stream's title tag */
  guint tags_serial_sent = 0;

  /* under the owner's lock */
  std::condition_variable cond; /* wakes the pad task */
  std::deque<Item> queue;
  bool eos_pending = false;
  bool eos_pushed = false;
  bool stopping = false;
  bool removed = false; /* its pad's removal began (end_tracks: once) */
  bool got_content = false;
  bool gap_muted = false;
  GstClockTime gap_since = GST_CLOCK_TIME_NONE;

  /* task only */
  GstClockTime base_time = GST_CLOCK_TIME_NONE; /* outer base time of the last push */
  bool started = false;
  bool muted_sent = false;
  bool muted_state = false;
  GstClockTime next_ts = GST_CLOCK_TIME_NONE; /* audio: end of the last pushed sample */
  GstClockTime last_pts = GST_CLOCK_TIME_NONE;
  GstAudioInfo ainfo = {}; /* audio: of caps; rate and bpf 0 while unknown */

  ~Track()
  {
    for (auto &it : queue) {
      gst_clear_buffer(&it.buffer);
      gst_clear_caps(&it.caps);
    }
    gst_clear_caps(&caps);
    g_free(stream_id);
    g_free(label);
    gst_clear_object(&stream);
    gst_clear_object(&pad);
  }
};

/* The pad task, the pad's query and event functions. */
/* Takes @caps as the track's caps (audio: its GstAudioInfo too); a CAPS event
 * follows on the pad once the track has started. */
void track_set_caps(Track *t, GstCaps *caps);
void track_loop(gpointer user_data);
gboolean track_pad_query(GstPad *pad, GstObject *parent, GstQuery *query);
gboolean track_pad_event(GstPad *pad, GstObject *parent, GstEvent *event);

} // namespace mediacapture
