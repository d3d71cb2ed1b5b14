/* mediastreambin: the conversion of one output track (MS-10 applyConstraints).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A track pad that was asked for settings its input does not have gets child
 * elements of mediastreambin of its own, between two internal pads that
 * belong to no element:
 *
 *   sink pad chain -> entry ! [videocrop] ! [videoscale] ! [videorate] ! capsfilter ! exit -> track
 * pad sink pad chain -> entry ! [audioconvert] ! [audioresample] ! capsfilter ! exit -> track pad
 *
 * With no constraint asking for a change there is no conversion at all: the
 * bin pushes into the track pad itself (gst_media_stream_track_pad_push()).
 * The conversion is per track pad, so every output of one input (a clone)
 * has its own. apply() swaps it in an IDLE probe on the pad feeding the
 * track's sink pad (the standard way of changing a running pipeline) and pushes the track's
 * sticky events again through the new path, so downstream renegotiates at
 * once and the next buffer keeps its running time. */
#pragma once

#include <gst/gst.h>

#include <atomic>
#include <memory>
#include <vector>

#include "gstmediastreamtrackpad.h"

struct MediaStreamConversion {
  MediaStreamConversion() = default;
  ~MediaStreamConversion();
  MediaStreamConversion(const MediaStreamConversion &) = delete;
  MediaStreamConversion &operator=(const MediaStreamConversion &) = delete;

  std::vector<GstElement *> elements; /* refs, in data order; children of the bin while in use */
  GstPad *entry = nullptr;            /* ref: src pad the bin pushes into */
  GstPad *exit = nullptr;             /* ref: sink pad forwarding to the track pad */
  bool changes_upstream = false;      /* the capsfilter asks upstream for other caps */
  bool resizes = false;               /* crops or scales: resize-mode crop-and-scale */
  /* changes_upstream, until the new caps passed: the frames upstream made
   * before it renegotiated do not pass the capsfilter and are dropped. */
  std::atomic<bool> awaiting_upstream{false};
  /* Being replaced: the EOS pushed in to drain it (what the resampler or
   * videorate still holds goes out first) stops at the exit. */
  std::atomic<bool> draining{false};

  /* A variable-rate source (framerate=0/1, max-framerate): videorate needs
   * fixed rates, so frames closer than this to the last one kept are
   * dropped at the entry, and the output caps get this max-framerate. */
  GstClockTime min_interval = GST_CLOCK_TIME_NONE;
  gint max_rate_n = 0, max_rate_d = 1;
  GstClockTime last_kept = GST_CLOCK_TIME_NONE; /* (stream) */
};

/* The action handler of `apply-constraints`/`apply-constraints-json`:
 * @constraints holds a GstStructure or a JSON string. Answers @promise (may
 * be NULL) with media_constraints::reply_success()/reply_error(), possibly
 * later, from the track's streaming thread (when the swap happens). */
void gst_media_stream_conversion_apply(GstMediaStreamTrackPad *pad, const GValue *constraints,
                                       GstPromise *promise);

/* Streaming thread (the bin's chain): FALSE if @buffer is to be dropped
 * (variable-rate frame-rate ceiling). */
bool gst_media_stream_conversion_keep(MediaStreamConversion *conversion, GstBuffer *buffer);

/* A new run (the bin back to READY): the internal pads forget their
 * sticky events (EOS included). */
void gst_media_stream_conversion_reset(MediaStreamConversion *conversion);

/* Takes the elements out of @bin (state NULL) if they are its children. */
void gst_media_stream_conversion_detach(MediaStreamConversion *conversion, GstBin *bin);

/* TRUE if the bin can convert tracks of @caps (raw, system memory, the
 * elements installed). */
bool gst_media_stream_conversion_possible(bool video, const GstCaps *caps);
