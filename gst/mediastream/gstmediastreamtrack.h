/* Internal: what mediastreambin asks of its track pads.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The track pad keeps its state to itself (gstmediastreamtrackpad.cpp): the
 * bin reads what is fixed at creation and changes the rest through these
 * setters, which notify with no lock held. Callable from any thread. The
 * bin's own streaming state of a track lives in the bin's track record. */
#pragma once

#include <gst/gst.h>

#include <memory>
#include <mutex>
#include <string>

#include "gstmediastreamtrackpad.h"

struct MediaStreamConversion;

enum class TrackKind { VIDEO, AUDIO };

const gchar *gst_media_stream_track_kind_name(TrackKind kind);

/* What @pad keeps in its element_private (one of this plugin's pads: a track
 * pad's input sink pad, an internal pad's track pad): a new reference, taken
 * under @pad's object lock, or NULL once it was cleared. */
static inline gpointer gst_media_stream_pad_dup_private(GstPad *pad)
{
  GST_OBJECT_LOCK(pad);
  gpointer other = pad->element_private;
  if (other)
    gst_object_ref(other);
  GST_OBJECT_UNLOCK(pad);
  return other;
}

/* An iterate-internal-links answer: the one pad @other (its reference is
 * taken), or NULL without one. */
static inline GstIterator *gst_media_stream_single_pad_iterator(GstPad *other)
{
  if (!other)
    return nullptr;
  GValue value = G_VALUE_INIT;
  g_value_init(&value, GST_TYPE_PAD);
  g_value_take_object(&value, other);
  GstIterator *it = gst_iterator_new_single(GST_TYPE_PAD, &value);
  g_value_unset(&value);
  return it;
}

/* A new (floating) track pad named @name from @templ: a random track id and
 * its GstStream (MS-5). */
GstMediaStreamTrackPad *gst_media_stream_track_pad_new(GstPadTemplate *templ, const gchar *name,
                                                       TrackKind kind, guint index);

/* Fixed at creation. */
TrackKind gst_media_stream_track_pad_get_kind(GstMediaStreamTrackPad *pad);
guint gst_media_stream_track_pad_get_index(GstMediaStreamTrackPad *pad);

std::string gst_media_stream_track_pad_get_track_id(GstMediaStreamTrackPad *pad);

/* The track's GstStream (a new reference): what its STREAM_START carries. */
GstStream *gst_media_stream_track_pad_dup_stream(GstMediaStreamTrackPad *pad);

/* MS-6, read on every buffer without a lock. */
bool gst_media_stream_track_pad_is_enabled(GstMediaStreamTrackPad *pad);

/* MS-8. */
bool gst_media_stream_track_pad_is_ended(GstMediaStreamTrackPad *pad);

/* MS-8: notify::ready-state on change; TRUE when it changed. A stopped
 * track stays ended (FALSE is refused) until new_run(). */
bool gst_media_stream_track_pad_set_ended(GstMediaStreamTrackPad *pad, bool ended);

/* MS-8: the application called stop() (the `stop` signal); read without a lock. */
bool gst_media_stream_track_pad_is_stopped(GstMediaStreamTrackPad *pad);

/* MS-8, a new run (the bin back to READY, or starting from READY): not
 * stopped, live; TRUE when ready-state changed. */
bool gst_media_stream_track_pad_new_run(GstMediaStreamTrackPad *pad);

/* MS-10 getCapabilities: a new "capabilities" structure, from a CAPS query
 * upstream (no lock held); empty while not linked. */
GstStructure *gst_media_stream_track_pad_dup_capabilities(GstMediaStreamTrackPad *pad);

/* MS-7: notify::muted and mute/unmute on change; TRUE when it changed. */
bool gst_media_stream_track_pad_set_muted(GstMediaStreamTrackPad *pad, bool muted);

/* MS-10: the negotiated caps, also set on the GstStream; notify::settings. */
void gst_media_stream_track_pad_set_caps(GstMediaStreamTrackPad *pad, GstCaps *caps);

/* MS-5: the upstream label (title tag or track-state label; NULL: no news).
 * When the label users see changes, the GstStream's title follows and
 * notify::label is emitted. */
void gst_media_stream_track_pad_set_upstream_label(GstMediaStreamTrackPad *pad, const gchar *label);

/* MS-5: writes the label as the GstStream's title tag (at STREAM_START, so
 * the default label, the upstream element's name, is there too). */
void gst_media_stream_track_pad_update_stream_title(GstMediaStreamTrackPad *pad);

/* The label as users see it: application's, else upstream's, else the
 * upstream element's name. Newly allocated. */
gchar *gst_media_stream_track_pad_dup_label(GstMediaStreamTrackPad *pad);

/* A new "settings" structure from the negotiated caps (MS-10 getSettings). */
GstStructure *gst_media_stream_track_pad_dup_settings(GstMediaStreamTrackPad *pad);

/* --- MS-10 applyConstraints: the track's conversion (gstmediastreamconversion.h) ---
 *
 * The data path of an output track: the bin pushes what the track pad
 * sends through these two, which are gst_pad_push()/gst_pad_push_event() on
 * the track pad while it has no conversion (one atomic load more) and push
 * into the conversion's entry otherwise. push_event() also keeps `settings`
 * current on CAPS. Streaming thread (or the sink pad's stream lock held). */
GstFlowReturn gst_media_stream_track_pad_push(GstMediaStreamTrackPad *pad, GstBuffer *buffer);
gboolean gst_media_stream_track_pad_push_event(GstMediaStreamTrackPad *pad, GstEvent *event);

/* The pad on the other side of the track's conversion, for internal links
 * (queries, upstream events): its entry (GST_PAD_SRC, what the sink pad
 * links to) or its exit (GST_PAD_SINK, what the track pad links to); NULL
 * without a conversion. A new reference. */
GstPad *gst_media_stream_track_pad_dup_internal(GstMediaStreamTrackPad *pad,
                                                GstPadDirection direction);

/* The conversion now (may be empty), and its replacement (returns the old one). */
std::shared_ptr<MediaStreamConversion>
gst_media_stream_track_pad_dup_conversion(GstMediaStreamTrackPad *pad);
std::shared_ptr<MediaStreamConversion>
gst_media_stream_track_pad_replace_conversion(GstMediaStreamTrackPad *pad,
                                              std::shared_ptr<MediaStreamConversion> next);
guint gst_media_stream_track_pad_next_conversion_serial(GstMediaStreamTrackPad *pad);
/* Held while the conversion is swapped (recursive: the swap's own queries may
 * call the swap probe again on the same thread). */
std::recursive_mutex &gst_media_stream_track_pad_swap_lock(GstMediaStreamTrackPad *pad);

/* The `constraints` property (takes @constraints); notify::constraints. */
void gst_media_stream_track_pad_set_constraints(GstMediaStreamTrackPad *pad,
                                                GstStructure *constraints);

/* The bin back to READY: the conversion's internal pads start afresh. */
void gst_media_stream_track_pad_reset_conversion(GstMediaStreamTrackPad *pad);

/* The track leaves the bin (release): its conversion elements leave @bin. */
void gst_media_stream_track_pad_drop_conversion(GstMediaStreamTrackPad *pad, GstBin *bin);
