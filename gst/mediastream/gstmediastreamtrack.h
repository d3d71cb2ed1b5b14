/* Internal: the state of one track, shared by mediastreambin and its track pad.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Threads and locks: `lock` guards the fields marked (lock); `enabled` is
 * atomic so the streaming thread reads it without locking; the fields marked
 * (stream) belong to the sink pad's streaming thread (serialized by its
 * stream lock). Signals and notifies are emitted with no lock held. */
#pragma once

#include <gst/audio/audio.h>
#include <gst/video/video.h>

#include <atomic>
#include <mutex>
#include <string>

#include "gstmediastreamtrackpad.h"

enum class TrackKind { VIDEO, AUDIO };

struct GstMediaStreamTrackPadPrivate {
  std::mutex lock;

  /* Fixed at creation (MS-5). */
  std::string track_id;
  TrackKind kind = TrackKind::VIDEO;
  guint index = 0;

  std::atomic<bool> enabled{true};

  std::string app_label;       /* (lock) set by the application: wins */
  std::string title_label;     /* (lock) upstream title tag or track-state label */
  bool muted = false;          /* (lock) MS-7 */
  bool ended = false;          /* (lock) MS-8 */
  GstCaps *caps = nullptr;     /* (lock) negotiated caps */
  GstStream *stream = nullptr; /* (lock) our GstStream, carried by STREAM_START */

  /* (stream) */
  bool stream_started = false;
  guint collection_cookie = 0; /* of the last collection pushed on this track */
  bool have_info = false;
  bool system_memory = true;
  GstVideoInfo vinfo;
  GstAudioInfo ainfo;
  GstBuffer *blank = nullptr; /* black frame / silence for the current caps */
  bool blank_failed = false;
};

/* The pad's private state (the pad is a final type with a private struct). */
GstMediaStreamTrackPadPrivate *gst_media_stream_track_pad_get_private(GstMediaStreamTrackPad *pad);

/* Notifies and signals the pad emits itself (from mediastreambin). */
void gst_media_stream_track_pad_notify_muted(GstMediaStreamTrackPad *pad, gboolean muted);

/* The label as users see it: application's, else title tag, else the upstream
 * element's name. Newly allocated. */
gchar *gst_media_stream_track_pad_dup_label(GstMediaStreamTrackPad *pad);

/* A new "settings" structure from the negotiated caps (MS-10 getSettings). */
GstStructure *gst_media_stream_track_pad_dup_settings(GstMediaStreamTrackPad *pad);

const gchar *gst_media_stream_track_kind_name(TrackKind kind);
