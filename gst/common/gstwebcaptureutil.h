/* Small pieces every element of the set needs the same way: the pipeline's
 * running time now, the one policy for properties that only change in NULL or
 * READY, and silence buffers.
 *
 * Naming convention for the whole project: a helper that must be called with
 * a lock held ends in `_locked`. */
#pragma once

#include <gst/audio/audio.h>
#include <gst/gst.h>

G_BEGIN_DECLS

/* Running time of @element now: its clock's time minus its base time (0 before
 * the base time), or GST_CLOCK_TIME_NONE when the element has no clock yet.
 * Takes the object lock: call without it. */
GstClockTime gst_webcapture_running_time_now(GstElement *element);

/* The one policy for properties settable only in NULL or READY: TRUE when
 * @element is in NULL or READY and not going higher. Otherwise it logs, posts a
 * WARNING message ("NotSupportedError: ... can only be changed in the NULL or
 * READY state", dom-exception=NotSupportedError) naming @property, and returns
 * FALSE: the caller keeps the old value. Takes the object lock: call without it. */
gboolean gst_webcapture_property_settable(GstElement *element, const gchar *property);

/* A new buffer of @frames frames of silence in the format of @info (the
 * format's own silence pattern, so unsigned formats are right too). No
 * timestamps are set; 0 frames gives an empty buffer. NULL when @info is not
 * valid or allocation fails. */
GstBuffer *gst_webcapture_silence_buffer_new(const GstAudioInfo *info, guint frames);

G_END_DECLS
