/* mediastreambin: the conversion of one output track (MS-10 applyConstraints).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * See gstmediastreamconversion.h for the shape; the rules are the tables of
 * docs/plugins/constraints.md.
 *
 * Threads: apply() runs on the caller's thread up to the selection, then
 * the swap runs in an IDLE probe on the pad feeding the track's sink pad:
 * at once on the caller's thread when no data is flowing, else on the
 * streaming thread right after the buffer or event in progress; either way
 * no data reaches the sink pad while it runs. The internal pads know their track pad through
 * element_private (no reference: the track pad owns its conversion). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstmediastreamconversion.h"

#include <string>

#include "gstmediastreamtrack.h"
#include "gstwebcapturei18n.h"
#include "mediatrackconstraints.h"

GST_DEBUG_CATEGORY_STATIC(gst_media_stream_conversion_debug);
#define GST_CAT_DEFAULT gst_media_stream_conversion_debug

namespace mc = media_constraints;

static void init_debug()
{
  static gsize done = 0;
  if (g_once_init_enter(&done)) {
    GST_DEBUG_CATEGORY_INIT(gst_media_stream_conversion_debug, "mediastreamconversion", 0,
                            "mediastreambin track conversion (applyConstraints)");
    g_once_init_leave(&done, 1);
  }
}

MediaStreamConversion::~MediaStreamConversion()
{
  for (GstElement *element : elements) {
    if (!GST_OBJECT_PARENT(element))
      gst_element_set_state(element, GST_STATE_NULL);
    gst_object_unref(element);
  }
  for (GstPad *pad : {entry, exit}) {
    if (!pad)
      continue;
    GstPad *peer = gst_pad_get_peer(pad);
    if (peer) {
      if (GST_PAD_IS_SRC(pad))
        gst_pad_unlink(pad, peer);
      else
        gst_pad_unlink(peer, pad);
      gst_object_unref(peer);
    }
    gst_pad_set_active(pad, FALSE);
    gst_object_unref(pad);
  }
}

/* The track pad of an internal pad (NULL once the conversion left it). */
static GstMediaStreamTrackPad *dup_track_pad(GstPad *internal)
{
  return static_cast<GstMediaStreamTrackPad *>(gst_media_stream_pad_dup_private(internal));
}

/* The input sink pad of a track pad (its element_private), or NULL. */
static GstPad *dup_input(GstMediaStreamTrackPad *track)
{
  return static_cast<GstPad *>(gst_media_stream_pad_dup_private(GST_PAD(track)));
}

/* --- the internal pads ------------------------------------------------------ */

static GstFlowReturn exit_chain(GstPad *pad, GstObject *, GstBuffer *buffer)
{
  GstMediaStreamTrackPad *track = dup_track_pad(pad);
  if (!track) {
    gst_buffer_unref(buffer);
    return GST_FLOW_FLUSHING;
  }
  GstFlowReturn ret = gst_pad_push(GST_PAD(track), buffer);
  gst_object_unref(track);
  /* A track nobody consumes yet must not stop its source (as the bin's chain). */
  return ret == GST_FLOW_NOT_LINKED ? GST_FLOW_OK : ret;
}

/* The conversion's output caps reach the track pad: its settings. A
 * variable-rate track gets its lower max-framerate here (see
 * MediaStreamConversion::min_interval). */
static gboolean exit_event(GstPad *pad, GstObject *, GstEvent *event)
{
  GstMediaStreamTrackPad *track = dup_track_pad(pad);
  if (!track) {
    gst_event_unref(event);
    return FALSE;
  }
  if (GST_EVENT_TYPE(event) == GST_EVENT_EOS) {
    auto conversion = gst_media_stream_track_pad_dup_conversion(track);
    if (conversion && conversion->exit == pad && conversion->draining) {
      gst_event_unref(event); /* the drain's own EOS: the track goes on */
      gst_object_unref(track);
      return TRUE;
    }
  }
  if (GST_EVENT_TYPE(event) == GST_EVENT_CAPS) {
    GstCaps *caps = nullptr;
    gst_event_parse_caps(event, &caps);
    auto conversion = gst_media_stream_track_pad_dup_conversion(track);
    if (conversion && conversion->exit == pad)
      conversion->awaiting_upstream = false; /* negotiated */
    if (conversion && conversion->exit == pad && conversion->max_rate_n > 0) {
      caps = gst_caps_copy(caps);
      gst_caps_set_simple(caps, "max-framerate", GST_TYPE_FRACTION, conversion->max_rate_n,
                          conversion->max_rate_d, NULL);
      gst_event_unref(event);
      event = gst_event_new_caps(caps);
    } else {
      gst_caps_ref(caps);
    }
    gboolean ret = gst_pad_push_event(GST_PAD(track), event);
    gst_media_stream_track_pad_set_caps(track, caps);
    gst_caps_unref(caps);
    gst_object_unref(track);
    return ret;
  }
  gboolean ret = gst_pad_push_event(GST_PAD(track), event);
  gst_object_unref(track);
  return ret;
}

/* Queries and upstream events go on past the conversion: the entry's other
 * side is the track's sink pad (upstream), the exit's the track pad. */
static GstIterator *iterate_internal(GstPad *pad, GstObject *)
{
  GstMediaStreamTrackPad *track = dup_track_pad(pad);
  if (!track)
    return nullptr;
  GstPad *other = GST_PAD_IS_SRC(pad) ? dup_input(track) : GST_PAD(gst_object_ref(track));
  gst_object_unref(track);
  return gst_media_stream_single_pad_iterator(other);
}

/* --- building ----------------------------------------------------------------- */

static const gchar *const kVideoElements[] = {"videocrop", "videoscale", "videorate", "capsfilter"};
static const gchar *const kAudioElements[] = {"audioconvert", "audioresample", "capsfilter"};

bool gst_media_stream_conversion_possible(bool video, const GstCaps *caps)
{
  if (!caps || gst_caps_is_empty(caps) || gst_caps_is_any(caps))
    return false;
  GstCapsFeatures *features = gst_caps_get_features(caps, 0);
  if (features && !gst_caps_features_is_equal(features, GST_CAPS_FEATURES_MEMORY_SYSTEM_MEMORY))
    return false;
  for (const gchar *name :
       video ? std::vector<const gchar *>(std::begin(kVideoElements), std::end(kVideoElements))
             : std::vector<const gchar *>(std::begin(kAudioElements), std::end(kAudioElements))) {
    GstElementFactory *factory = gst_element_factory_find(name);
    if (!factory)
      return false;
    gst_object_unref(factory);
  }
  return true;
}

static GstElement *make_element(const gchar *factory, const gchar *track, guint serial,
                                mc::Error *error)
{
  g_autofree gchar *name = g_strdup_printf("%s-%s%u", track, factory, serial);
  GstElement *element = gst_element_factory_make(factory, name);
  if (!element) {
    error->kind = GST_WEB_ERROR_NOT_SUPPORTED;
    error->constraint.clear();
    g_autofree gchar *text =
        g_strdup_printf(_("the element %s is missing: the track cannot be converted."), factory);
    error->message = text;
    return nullptr;
  }
  return GST_ELEMENT(gst_object_ref_sink(element));
}

/* The capsfilter's caps: of the caps chosen, only the fields the settings
 * are about (and the picture's shape, the audio layout), so that upstream
 * asked for another size or rate keeps its own format (the caps chosen
 * before data flowed are upstream's fixated, and would pin its first
 * format). */
static GstCaps *filter_caps(const GstCaps *chosen, bool video)
{
  const GstStructure *from = gst_caps_get_structure(chosen, 0);
  GstStructure *to = gst_structure_new_empty(gst_structure_get_name(from));
  static const gchar *const video_fields[] = {"width", "height", "framerate", "pixel-aspect-ratio",
                                              "interlace-mode"};
  static const gchar *const audio_fields[] = {"rate", "channels", "channel-mask", "layout"};
  const gchar *const *fields = video ? video_fields : audio_fields;
  const size_t n = video ? G_N_ELEMENTS(video_fields) : G_N_ELEMENTS(audio_fields);
  /* Not max-framerate: a variable-rate track's is written at the exit. */
  for (size_t i = 0; i < n; i++) {
    const GValue *value = gst_structure_get_value(from, fields[i]);
    if (value)
      gst_structure_set_value(to, fields[i], value);
  }
  GstCaps *caps = gst_caps_new_empty();
  gst_caps_append_structure_full(caps, to,
                                 gst_caps_features_copy(gst_caps_get_features(chosen, 0)));
  return caps;
}

/* The conversion @selection asks for (elements linked between its internal
 * pads, not yet in the bin). NULL + NotSupportedError when an element is
 * missing. */
static std::shared_ptr<MediaStreamConversion> conversion_new(GstMediaStreamTrackPad *track,
                                                             const mc::Selection &sel,
                                                             bool variable_rate, mc::Error *error)
{
  const bool video = gst_media_stream_track_pad_get_kind(track) == TrackKind::VIDEO;
  const guint serial = gst_media_stream_track_pad_next_conversion_serial(track);
  const gchar *track_name = GST_PAD_NAME(track);
  auto conversion = std::make_shared<MediaStreamConversion>();
  conversion->changes_upstream = sel.changes_upstream;
  conversion->resizes = sel.needs_crop || sel.needs_scale;
  conversion->awaiting_upstream = sel.changes_upstream;

  std::vector<const gchar *> factories;
  if (video) {
    if (sel.needs_crop)
      factories.push_back("videocrop");
    if (sel.needs_scale)
      factories.push_back("videoscale");
    if (sel.needs_rate && !variable_rate)
      factories.push_back("videorate");
  } else {
    if (sel.needs_remix)
      factories.push_back("audioconvert");
    if (sel.needs_resample)
      factories.push_back("audioresample");
  }
  factories.push_back("capsfilter");
  for (const gchar *factory : factories) {
    GstElement *element = make_element(factory, track_name, serial, error);
    if (!element)
      return nullptr;
    conversion->elements.push_back(element);
  }

  GstCaps *filter = filter_caps(sel.caps, video);
  for (GstElement *element : conversion->elements) {
    const gchar *factory = GST_OBJECT_NAME(gst_element_get_factory(element));
    if (g_str_equal(factory, "videocrop")) {
      g_object_set(element, "left", sel.crop_left, "right", sel.crop_right, "top", sel.crop_top,
                   "bottom", sel.crop_bottom, NULL);
    } else if (g_str_equal(factory, "videoscale")) {
      /* The crop already kept the aspect ratio: no borders. */
      g_object_set(element, "add-borders", FALSE, NULL);
    } else if (g_str_equal(factory, "videorate")) {
      /* A ceiling: frames are dropped, never duplicated; counted from the
       * first frame it sees, not from the segment's start (inserted while
       * playing, it would let every frame through until it caught up). */
      g_object_set(element, "drop-only", TRUE, "skip-to-first", TRUE, NULL);
    } else if (g_str_equal(factory, "capsfilter")) {
      g_object_set(element, "caps", filter, NULL);
    }
  }
  if (video && variable_rate && sel.needs_rate) {
    gint n = 0, d = 1;
    gst_structure_get_fraction(gst_caps_get_structure(sel.caps, 0), "max-framerate", &n, &d);
    conversion->max_rate_n = n;
    conversion->max_rate_d = d;
    conversion->min_interval = n > 0 ? gst_util_uint64_scale_int(GST_SECOND, d, n) : 0;
  }
  gst_caps_unref(filter);

  g_autofree gchar *entry_name = g_strdup_printf("%s-entry%u", track_name, serial);
  g_autofree gchar *exit_name = g_strdup_printf("%s-exit%u", track_name, serial);
  conversion->entry = GST_PAD(gst_object_ref_sink(gst_pad_new(entry_name, GST_PAD_SRC)));
  conversion->exit = GST_PAD(gst_object_ref_sink(gst_pad_new(exit_name, GST_PAD_SINK)));
  for (GstPad *pad : {conversion->entry, conversion->exit}) {
    GST_OBJECT_LOCK(pad);
    pad->element_private = track;
    GST_OBJECT_UNLOCK(pad);
    gst_pad_set_iterate_internal_links_function(pad, GST_DEBUG_FUNCPTR(iterate_internal));
    GST_PAD_SET_PROXY_CAPS(pad);
    GST_PAD_SET_PROXY_ALLOCATION(pad);
  }
  gst_pad_set_chain_function(conversion->exit, GST_DEBUG_FUNCPTR(exit_chain));
  gst_pad_set_event_function(conversion->exit, GST_DEBUG_FUNCPTR(exit_event));
  return conversion;
}

/* Into the bin, linked (entry ! e1 ! ... ! en ! exit: after gst_bin_add,
 * which unlinks pads outside the bin), in the bin's state (the internal pads
 * active first). */
static bool conversion_attach(MediaStreamConversion *conversion, GstBin *bin)
{
  gst_pad_set_active(conversion->exit, TRUE);
  gst_pad_set_active(conversion->entry, TRUE);
  for (GstElement *element : conversion->elements) {
    if (!gst_bin_add(bin, element)) {
      gst_media_stream_conversion_detach(conversion, bin);
      return false;
    }
  }
  auto &elements = conversion->elements;
  GstPad *first = gst_element_get_static_pad(elements.front(), "sink");
  GstPad *last = gst_element_get_static_pad(elements.back(), "src");
  bool linked =
      first && last &&
      gst_pad_link_full(conversion->entry, first, GST_PAD_LINK_CHECK_NOTHING) == GST_PAD_LINK_OK &&
      gst_pad_link_full(last, conversion->exit, GST_PAD_LINK_CHECK_NOTHING) == GST_PAD_LINK_OK;
  gst_clear_object(&first);
  gst_clear_object(&last);
  for (size_t i = 0; linked && i + 1 < elements.size(); i++)
    linked = gst_element_link_pads_full(elements[i], "src", elements[i + 1], "sink",
                                        GST_PAD_LINK_CHECK_NOTHING);
  if (!linked) {
    gst_media_stream_conversion_detach(conversion, bin);
    return false;
  }
  /* Downstream first, as a bin changes state. */
  for (auto it = conversion->elements.rbegin(); it != conversion->elements.rend(); ++it)
    gst_element_sync_state_with_parent(*it);
  return true;
}

void gst_media_stream_conversion_detach(MediaStreamConversion *conversion, GstBin *bin)
{
  for (GstElement *element : conversion->elements) {
    if (GST_OBJECT_PARENT(element) != GST_OBJECT(bin))
      continue;
    gst_element_set_locked_state(element, TRUE);
    gst_element_set_state(element, GST_STATE_NULL);
    gst_bin_remove(bin, element); /* unlinks it */
  }
  /* The internal pads no longer reach the track. */
  for (GstPad *pad : {conversion->entry, conversion->exit}) {
    gst_pad_set_active(pad, FALSE);
    GST_OBJECT_LOCK(pad);
    pad->element_private = nullptr;
    GST_OBJECT_UNLOCK(pad);
  }
}

bool gst_media_stream_conversion_keep(MediaStreamConversion *conversion, GstBuffer *buffer)
{
  if (!GST_CLOCK_TIME_IS_VALID(conversion->min_interval))
    return true;
  GstClockTime pts = GST_BUFFER_PTS(buffer);
  if (!GST_CLOCK_TIME_IS_VALID(pts))
    return true;
  /* Half a millisecond of slack: a source pacing at exactly the ceiling
   * keeps every frame despite rounding. */
  if (GST_CLOCK_TIME_IS_VALID(conversion->last_kept) && pts >= conversion->last_kept &&
      pts - conversion->last_kept + GST_USECOND * 500 < conversion->min_interval)
    return false;
  conversion->last_kept = pts;
  return true;
}

void gst_media_stream_conversion_reset(MediaStreamConversion *conversion)
{
  conversion->last_kept = GST_CLOCK_TIME_NONE;
  for (GstPad *pad : {conversion->entry, conversion->exit}) {
    GST_OBJECT_LOCK(pad);
    const bool attached = pad->element_private != nullptr;
    GST_OBJECT_UNLOCK(pad);
    if (attached && gst_pad_set_active(pad, FALSE))
      gst_pad_set_active(pad, TRUE);
  }
}

/* --- apply ---------------------------------------------------------------------- */

namespace
{

struct ApplyContext {
  ~ApplyContext()
  {
    if (promise) {
      /* The swap never ran (the track went away first). */
      mc::Error error;
      error.kind = GST_WEB_ERROR_NOT_SUPPORTED;
      error.message = _("the track left the stream before the constraints were applied.");
      gst_promise_reply(promise, mc::reply_error(error));
      gst_promise_unref(promise);
    }
    gst_clear_object(&track);
    gst_clear_object(&bin);
    gst_clear_object(&input);
    if (settings)
      gst_structure_free(settings);
    if (applied)
      gst_structure_free(applied);
  }

  GstMediaStreamTrackPad *track = nullptr; /* ref */
  GstElement *bin = nullptr;               /* ref */
  GstPad *input = nullptr;                 /* ref: the track's sink pad */
  std::shared_ptr<MediaStreamConversion> next;
  GstStructure *settings = nullptr; /* owned: the reply */
  GstStructure *applied = nullptr;  /* owned: the `constraints` property */
  GstPromise *promise = nullptr;    /* ref; NULL once answered */
  bool swapped = false;             /* the probe ran (it may be called again while it runs) */
};

void reply(GstPromise **promise, GstStructure *answer)
{
  if (*promise) {
    gst_promise_reply(*promise, answer);
    gst_promise_unref(*promise);
    *promise = nullptr;
  } else {
    gst_structure_free(answer);
  }
}

void reply_error(GstPromise *promise, const mc::Error &error)
{
  if (promise)
    gst_promise_reply(promise, mc::reply_error(error));
}

/* Pushes the track's sticky events (its STREAM_START, segment, tags,
 * collection...) into its path as it is now (the new conversion, or the
 * track pad itself: `settings` follows either way) with the input caps in
 * place of the output caps: the new path negotiates at once. Nothing when the
 * track has not started or ended (the next run sends everything anew). A
 * run that has sent its STREAM_START but no caps yet (a swap between a
 * source's first events) gets what it has without caps: its caps come next
 * from upstream, and the new path must not see them before a STREAM_START. */
void resend_sticky(GstMediaStreamTrackPad *track, GstPad *input)
{
  GstPad *pad = GST_PAD(track);
  GstCaps *input_caps = gst_pad_get_current_caps(input);
  GstEvent *eos = gst_pad_get_sticky_event(pad, GST_EVENT_EOS, 0);
  if (eos) {
    gst_event_unref(eos);
    gst_clear_caps(&input_caps);
    return;
  }
  std::vector<GstEvent *> events;
  gst_pad_sticky_events_foreach(
      pad,
      [](GstPad *, GstEvent **event, gpointer data) -> gboolean {
        static_cast<std::vector<GstEvent *> *>(data)->push_back(gst_event_ref(*event));
        return TRUE;
      },
      &events);
  bool caps_sent = false;
  for (GstEvent *event : events) {
    if (GST_EVENT_TYPE(event) == GST_EVENT_CAPS) {
      gst_event_unref(event);
      if (!input_caps)
        continue; /* none of this run yet */
      event = gst_event_new_caps(input_caps);
      caps_sent = true;
    } else if (input_caps && !caps_sent && GST_EVENT_TYPE(event) > GST_EVENT_CAPS) {
      gst_media_stream_track_pad_push_event(track, gst_event_new_caps(input_caps));
      caps_sent = true;
    }
    gst_media_stream_track_pad_push_event(track, event);
  }
  gst_clear_caps(&input_caps);
}

/* The swap, with no data passing the track's sink pad. */
void swap_locked(GstPad *input, ApplyContext *ctx)
{
  GstMediaStreamTrackPad *track = ctx->track;
  /* Released meanwhile (the pad's last data ran the probe): nothing to
   * convert any more, and nothing may be added to the bin for it. */
  GstPad *still = dup_input(track);
  const bool released = still != input;
  gst_clear_object(&still);
  if (released) {
    mc::Error error;
    error.kind = GST_WEB_ERROR_NOT_SUPPORTED;
    error.message = _("the track left the stream before the constraints were applied.");
    reply(&ctx->promise, mc::reply_error(error));
    return;
  }
  if (ctx->next && !conversion_attach(ctx->next.get(), GST_BIN(ctx->bin))) {
    mc::Error error;
    error.kind = GST_WEB_ERROR_NOT_SUPPORTED;
    error.message = _("the conversion elements of the track cannot be linked.");
    reply(&ctx->promise, mc::reply_error(error));
    return;
  }
  /* Drain the conversion being replaced into the track first, so that no
   * sample or frame it holds is lost (running time continues exactly). */
  auto current = gst_media_stream_track_pad_dup_conversion(track);
  GstEvent *ended = gst_pad_get_sticky_event(GST_PAD(track), GST_EVENT_EOS, 0);
  if (current && !ended && gst_pad_has_current_caps(current->entry)) {
    current->draining = true;
    gst_pad_push_event(current->entry, gst_event_new_eos());
  }
  gst_clear_event(&ended);
  current.reset();
  auto old = gst_media_stream_track_pad_replace_conversion(track, ctx->next);
  GST_INFO_OBJECT(track, "conversion: %s -> %s", old ? "converting" : "none",
                  ctx->next ? "converting" : "none");
  resend_sticky(track, input);
  if (old)
    gst_media_stream_conversion_detach(old.get(), GST_BIN(ctx->bin));
  if ((ctx->next && ctx->next->changes_upstream) || (old && old->changes_upstream)) {
    /* Upstream is asked for other caps (or may go back to its own). */
    gst_pad_push_event(input, gst_event_new_reconfigure());
  }
  gst_media_stream_track_pad_set_constraints(track, ctx->applied);
  ctx->applied = nullptr;
  reply(&ctx->promise, mc::reply_success(ctx->settings));
}

/* The IDLE probe on the pad that feeds the track's sink pad (the link into
 * the track): called at once on the applying thread when no data is being
 * pushed, else on the streaming thread right after the buffer or event in
 * progress; pushes wait while it runs. (On the sink pad itself an IDLE probe
 * would not hold data back: GStreamer tracks idleness on the pushing side.)
 * Two applies at once may both find the link idle: the track's swap lock
 * runs their swaps one after the other. */
GstPadProbeReturn swap_probe(GstPad *, GstPadProbeInfo *, gpointer user_data)
{
  auto *ctx = static_cast<ApplyContext *>(user_data);
  std::lock_guard<std::recursive_mutex> guard(gst_media_stream_track_pad_swap_lock(ctx->track));
  /* The queries the linking sends through the sink pad may call the idle
   * probe again, on this thread, before it is removed: once is enough. */
  if (ctx->swapped)
    return GST_PAD_PROBE_REMOVE;
  ctx->swapped = true;
  /* The sink pad's stream lock too: what the bin sends from another thread
   * under it (stop()'s EOS) goes into one path or the other, never into one
   * being taken apart. Free here: no push into the sink pad is in progress. */
  GST_PAD_STREAM_LOCK(ctx->input);
  swap_locked(ctx->input, ctx);
  GST_PAD_STREAM_UNLOCK(ctx->input);
  return GST_PAD_PROBE_REMOVE;
}

} // namespace

void gst_media_stream_conversion_apply(GstMediaStreamTrackPad *track, const GValue *value,
                                       GstPromise *promise)
{
  init_debug();
  mc::Constraints constraints;
  mc::Error error;
  if (!mc::parse_value(value, &constraints, &error)) {
    GST_INFO_OBJECT(track, "apply-constraints refused: %s", error.message.c_str());
    reply_error(promise, error);
    return;
  }

  const bool video = gst_media_stream_track_pad_get_kind(track) == TrackKind::VIDEO;
  GstElement *bin = gst_pad_get_parent_element(GST_PAD(track));
  GstPad *input = dup_input(track);
  if (!bin || !input) {
    error.kind = GST_WEB_ERROR_NOT_SUPPORTED;
    error.constraint.clear();
    error.message = _("the track left the stream before the constraints were applied.");
    reply_error(promise, error);
    gst_clear_object(&bin);
    gst_clear_object(&input);
    return;
  }

  /* What the track can deliver: upstream's answer around the input caps. */
  GstCaps *upstream = gst_pad_peer_query_caps(input, nullptr);
  GstCaps *native = gst_pad_get_current_caps(input);
  const bool known = upstream && !gst_caps_is_empty(upstream) && !gst_caps_is_any(upstream);
  const bool can_convert = gst_media_stream_conversion_possible(video, native ? native : upstream);
  mc::Capabilities caps;
  mc::Selection selection;
  bool ok = caps.init(video ? mc::MediaKind::VIDEO : mc::MediaKind::AUDIO,
                      known ? upstream : nullptr, native, can_convert, &error) &&
            mc::select_settings(constraints, caps, &selection, &error);
  gst_clear_caps(&upstream);
  gst_clear_caps(&native);

  /* Downstream must take the new caps (checked now, while the track is
   * still unchanged). */
  if (ok) {
    GstCaps *current = gst_pad_get_current_caps(GST_PAD(track));
    if (gst_pad_is_linked(GST_PAD(track)) &&
        (!current || !gst_caps_is_equal(current, selection.caps)) &&
        !gst_pad_peer_query_accept_caps(GST_PAD(track), selection.caps)) {
      g_autofree gchar *shown = gst_caps_to_string(selection.caps);
      error.kind = GST_WEB_ERROR_OVERCONSTRAINED;
      error.constraint.clear();
      g_autofree gchar *text = g_strdup_printf(
          _("the elements after the track do not accept the settings chosen (%s)."), shown);
      error.message = text;
      ok = false;
    }
    gst_clear_caps(&current);
  }

  std::shared_ptr<MediaStreamConversion> next;
  if (ok && !constraints.empty() && (selection.needs_conversion() || selection.changes_upstream))
    next = conversion_new(track, selection, caps.variable_rate, &error);
  if (!ok || (!next && !constraints.empty() &&
              (selection.needs_conversion() || selection.changes_upstream))) {
    GST_INFO_OBJECT(track, "apply-constraints refused: %s (%s)", error.message.c_str(),
                    error.constraint.c_str());
    reply_error(promise, error);
    gst_object_unref(bin);
    gst_object_unref(input);
    return;
  }

  auto *ctx = new ApplyContext();
  ctx->track = GST_MEDIA_STREAM_TRACK_PAD(gst_object_ref(track));
  ctx->bin = bin;
  ctx->next = std::move(next);
  ctx->settings = gst_structure_copy(selection.settings);
  ctx->applied = mc::constraints_to_structure(constraints);
  ctx->promise = promise ? gst_promise_ref(promise) : nullptr;
  GST_INFO_OBJECT(track, "apply-constraints: %" GST_PTR_FORMAT " -> %" GST_PTR_FORMAT, ctx->applied,
                  selection.caps);
  ctx->input = input;
  GstPad *feeder = gst_pad_get_peer(input);
  if (feeder) {
    gst_pad_add_probe(feeder, GST_PAD_PROBE_TYPE_IDLE, swap_probe, ctx,
                      [](gpointer data) { delete static_cast<ApplyContext *>(data); });
    gst_object_unref(feeder);
  } else {
    /* Nothing feeds the track: no data can pass, swap now. */
    swap_probe(nullptr, nullptr, ctx);
    delete ctx;
  }
}
