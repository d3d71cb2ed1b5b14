/* mediacapturesrc: the media element's internal pipeline (see mediarun.h):
 * the callbacks of its streaming threads and of its bus, which only record
 * what it says in its Resource and post commands to the run, and the audio
 * chain's scaletempo.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "mediarun.h"

#include <gst/app/gstappsink.h>
#include <gst/audio/audio.h>
#include <gst/base/gstbasesink.h>

#include <algorithm>
#include <cstring>

#include "gstwebcaptureerror.h"
#include "gstwebcapturei18n.h"

GST_DEBUG_CATEGORY_EXTERN(gst_media_capture_src_debug);
#define GST_CAT_DEFAULT gst_media_capture_src_debug

namespace mediacapture
{

namespace
{

/* A stalled consumer never blocks the media element: a track queue holds at
 * most this much and drops the oldest, like any live source. */
constexpr size_t kMaxQueuedVideo = 30;
constexpr size_t kMaxQueuedAudio = 100;

} // namespace

static void on_appsink_eos(GstAppSink *sink, gpointer user_data)
{
  Branch *b = static_cast<Branch *>(user_data);
  Run *run = b->resource->run;
  std::lock_guard<std::mutex> lk(run->lock());
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
    std::lock_guard<std::mutex> lk(b->resource->run->lock());
    b->resource->samples++;
    gst_sample_unref(s);
  }
  return GST_FLOW_OK;
}

static GstFlowReturn on_appsink_sample(GstAppSink *sink, gpointer user_data)
{
  Branch *b = static_cast<Branch *>(user_data);
  Resource *res = b->resource;
  Run *run = res->run;
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
  GST_LOG_OBJECT(run->element(), "%s sample rt %" GST_TIME_FORMAT " -> clock %" GST_TIME_FORMAT,
                 b->is_video ? "video" : "audio", GST_TIME_ARGS(rt), GST_TIME_ARGS(clock_time));
  GstClockTime stream_end =
      gst_segment_to_stream_time(segment, GST_FORMAT_TIME, GST_BUFFER_PTS(buffer));
  if (GST_CLOCK_TIME_IS_VALID(stream_end) && GST_BUFFER_DURATION_IS_VALID(buffer))
    stream_end += GST_BUFFER_DURATION(buffer);
  const GstClockTime segment_start = segment->start;
  const gdouble rate = segment->rate;
  if (caps)
    gst_caps_ref(caps);

  /* The buffer is re-stamped in place: the sample lets go of it first, so that
   * ours is its only reference and no copy of the buffer shares its memory.
   * Such a copy made the decoder's pool discard every buffer it got back
   * (memory not exclusive): a new, page-faulting frame per decoded frame. */
  GstBuffer *out = gst_buffer_ref(buffer);
  gst_sample_unref(sample);
  out = gst_buffer_make_writable(out);
  /* converted to outer running time when pushed, with the base time of
   * that moment: the outer running time may restart meanwhile */
  GST_BUFFER_PTS(out) = clock_time;
  if (GST_BUFFER_DURATION_IS_VALID(out) && rate > 0)
    GST_BUFFER_DURATION(out) = (GstClockTime)(GST_BUFFER_DURATION(out) / rate);

  std::lock_guard<std::mutex> lk(run->lock());
  res->last_data = std::chrono::steady_clock::now();
  res->samples++;
  if (GST_CLOCK_TIME_IS_VALID(stream_end) && segment_start < stream_end) {
    GstClockTime covered = stream_end - segment_start;
    if (!GST_CLOCK_TIME_IS_VALID(res->iteration_media_end) || covered > res->iteration_media_end)
      res->iteration_media_end = covered;
  }
  Track *t = b->track;
  if (!t || t->eos_pending || res->origin_left) {
    gst_buffer_unref(out);
    gst_clear_caps(&caps);
    return GST_FLOW_OK;
  }
  Item it;
  it.buffer = out;
  if (caps && (!b->last_caps || !gst_caps_is_equal(caps, b->last_caps))) {
    gst_caps_replace(&b->last_caps, caps);
    it.caps = gst_caps_ref(caps);
  }
  gst_clear_caps(&caps);
  if (!run->paused_locked()) {
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
  std::lock_guard<std::mutex> lk(b->resource->run->lock());
  if (b->tags)
    gst_tag_list_unref(b->tags);
  b->tags = gst_tag_list_ref(tags);
  b->tags_serial++;
  if (b->track)
    b->track->cond.notify_all();
  return GST_PAD_PROBE_OK;
}

GstElement *make_element(const gchar *factory)
{
  GstElement *e = gst_element_factory_make(factory, nullptr);
  if (!e)
    GST_WARNING("missing element %s", factory);
  return e;
}

static GstPadProbeReturn source_probe(GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  /* ME-10: an HTTP redirect that leaves the allowed origins must not leak a
   * byte of the new origin. HTTP sources announce each response, before its
   * data, with a sticky "http-headers" event carrying the redirection-uri. */
  Resource *res = static_cast<Resource *>(user_data);
  Run *run = res->run;

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
    {
      std::lock_guard<std::mutex> lk(run->lock());
      allowed = run->uri_allowed_locked(redirect);
      if (!allowed) {
        first = !res->origin_left;
        res->origin_left = true; /* mutes every track */
        have_tracks = !run->tracks.empty();
        if (!have_tracks)
          run->fail_locked(res); /* the SecurityError says it all */
        run->wake_tracks_locked();
      }
    }
    if (!allowed && first) {
      GST_WARNING_OBJECT(run->element(), "redirected to %s, outside allowed-origins: muted",
                         redirect);
      if (!have_tracks) {
        /* Nothing known of the media yet: the load itself fails. */
        GST_WEB_ERROR_F(run->element(), GST_WEB_ERROR_SECURITY, nullptr, nullptr,
                        _("\"%s\" redirected to \"%s\", which is not in allowed-origins"),
                        res->uri.c_str(), redirect);
      }
    }
    return allowed ? GST_PAD_PROBE_OK : GST_PAD_PROBE_DROP;
  }

  std::lock_guard<std::mutex> lk(run->lock());
  if (res->origin_left)
    return GST_PAD_PROBE_DROP;
  res->last_data = std::chrono::steady_clock::now(); /* stall watchdog */
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

/* Ogg from a stream source (HTTP): in push mode oggdemux 1.22 finds the
 * duration with a flushing seek near the end and back; a small file is read
 * again from its start, its headers are sent again, and the seek back can
 * flush a decoder while it negotiates them: theoradec then fails for good
 * ("Could not decode stream"). With uridecodebin's download buffering (only
 * used when the size is known) oggdemux pulls from the downloaded data and
 * seeks on its own. Runs before uridecodebin's own have-type handler, which
 * reads "download" (docs/plugins/mediacapturesrc.md, Limitations). */
static void on_stream_type_found(GstElement *typefind, guint probability, GstCaps *caps,
                                 gpointer user_data)
{
  if (caps && gst_caps_get_size(caps) > 0 &&
      g_str_has_suffix(gst_structure_get_name(gst_caps_get_structure(caps, 0)), "/ogg"))
    g_object_set(G_OBJECT(user_data), "download", TRUE, nullptr);
}

static void on_decodebin_element_added(GstBin *uridecodebin, GstElement *element,
                                       gpointer user_data)
{
  /* uridecodebin adds its stream typefind, then connects to it */
  GstElementFactory *f = gst_element_get_factory(element);
  if (f && g_strcmp0(gst_plugin_feature_get_name(GST_PLUGIN_FEATURE(f)), "typefind") == 0)
    g_signal_connect(element, "have-type", G_CALLBACK(on_stream_type_found), uridecodebin);
}

/* ME-1: a demuxer adds its pads in the order of its streams in the file (Ogg:
 * the BOS pages; Matroska: the track entries); their stream-ids say which
 * decoded stream is which. */
static void on_demuxer_pad_added(GstElement *demuxer, GstPad *pad, gpointer user_data)
{
  Resource *res = static_cast<Resource *>(user_data);
  g_autofree gchar *id = gst_pad_get_stream_id(pad);
  if (!id)
    return;
  std::lock_guard<std::mutex> lk(res->run->lock());
  res->demuxed_ids.emplace_back(id);
}

static void on_deep_element_added(GstBin *uridecodebin, GstBin *sub_bin, GstElement *element,
                                  gpointer user_data)
{
  GstElementFactory *f = gst_element_get_factory(element);
  const gchar *klass =
      f ? gst_element_factory_get_metadata(f, GST_ELEMENT_METADATA_KLASS) : nullptr;
  if (klass && strstr(klass, "Demux"))
    g_signal_connect(element, "pad-added", G_CALLBACK(on_demuxer_pad_added), user_data);
}

/* ME-1: decodebin exposes the decoded streams sorted by kind, then by
 * stream-id (for Ogg the serial number, random; not the order in the file).
 * Before the first tracks exist, the streams of a kind that all came from
 * demuxer pads are numbered in the order of those pads, and the branches are
 * listed in that order (the tracks are created in it); otherwise the order
 * of exposure stays. */
static void order_streams_locked(Resource *res)
{
  for (auto &b : res->branches)
    if (b->track)
      return;
  auto position = [res](const Branch *b) {
    auto &ids = res->demuxed_ids;
    return (size_t)(std::find(ids.begin(), ids.end(), b->stream_id) - ids.begin());
  };
  for (bool video : {true, false}) {
    std::vector<Branch *> kind;
    bool known = true;
    for (auto &b : res->branches) {
      if (b->is_video != video)
        continue;
      kind.push_back(b.get());
      known = known && !b->stream_id.empty() && position(b.get()) < res->demuxed_ids.size();
    }
    if (!known)
      continue;
    std::stable_sort(kind.begin(), kind.end(),
                     [&](const Branch *a, const Branch *b) { return position(a) < position(b); });
    for (size_t i = 0; i < kind.size(); i++)
      kind[i]->kind_index = (guint)i;
  }
  for (auto &b : res->branches)
    b->selected = res->run->stream_selected_locked(b->is_video, b->kind_index);
  std::stable_sort(res->branches.begin(), res->branches.end(),
                   [](const std::unique_ptr<Branch> &a, const std::unique_ptr<Branch> &b) {
                     if (a->is_video != b->is_video)
                       return a->is_video;
                     return a->kind_index < b->kind_index;
                   });
}

static void end_replaced_branches(Resource *res);

/* uridecodebin exposes decoded streams in a stable order; a stream is
 * captured when selected (ME-1), else it goes to a fakesink. */
static void on_pad_added(GstElement *decodebin, GstPad *pad, gpointer user_data)
{
  Resource *res = static_cast<Resource *>(user_data);
  Run *run = res->run;
  GstElement *self = run->element();
  GstCaps *caps = gst_pad_get_current_caps(pad);
  if (!caps)
    caps = gst_pad_query_caps(pad, nullptr);
  const gchar *name = gst_structure_get_name(gst_caps_get_structure(caps, 0));
  bool is_video = g_str_has_prefix(name, "video/");
  bool is_audio = g_str_has_prefix(name, "audio/");

  bool selected = false;
  guint kind_index = 0;
  GstElement *pipeline;
  gdouble rate;
  Branch *previous = nullptr; /* the stream of the last chain this one continues */
  {
    std::lock_guard<std::mutex> lk(run->lock());
    /* only the current media element's streams (an old one may still be
     * shutting down) */
    pipeline = run->current_locked(res) ? GST_ELEMENT(gst_object_ref(res->pipeline)) : nullptr;
    rate = run->rate_locked();
    for (auto &b : res->branches) {
      if ((is_video || is_audio) && b->is_video == is_video && b->replaced && !b->continued) {
        previous = b.get();
        break;
      }
    }
    if (previous) {
      /* a chained Ogg's next chain: the same track goes on with it (as a
       * browser plays the chains one after the other); its caps may differ */
      kind_index = previous->kind_index;
      selected = previous->selected;
    } else if (is_video) {
      kind_index = res->video_seen++;
      selected = run->stream_selected_locked(true, kind_index);
    } else if (is_audio) {
      kind_index = res->audio_seen++;
      selected = run->stream_selected_locked(false, kind_index);
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
  GstElement *filter = nullptr, *tempo = nullptr;
  if (captured && is_audio) {
    /* ME-9: scaletempo (pitch kept) only while the rate is not 1.0; it takes
     * the F32 the capsfilter fixes, so adding it later (update_tempo)
     * changes no caps. */
    GstElement *conv = make_element("audioconvert");
    GstElement *resample = make_element("audioresample");
    filter = make_element("capsfilter");
    bool want_tempo = rate != 1.0;
    tempo = want_tempo ? make_element("scaletempo") : nullptr;
    out_caps = gst_caps_copy(caps);
    GstStructure *s = gst_caps_get_structure(out_caps, 0);
    gst_structure_set(s, "format", G_TYPE_STRING, GST_AUDIO_NE(F32), "layout", G_TYPE_STRING,
                      "interleaved", nullptr);
    if (conv && resample && filter && (tempo || !want_tempo)) {
      g_object_set(filter, "caps", out_caps, nullptr);
      chain = {conv, resample, filter};
      if (tempo)
        chain.push_back(tempo);
    } else {
      for (GstElement *e : {conv, resample, filter, tempo})
        if (e)
          gst_object_unref(e);
      filter = tempo = nullptr;
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
    branch->resource = res;
    branch->is_video = is_video;
    branch->kind_index = kind_index;
    g_autofree gchar *stream_id = gst_pad_get_stream_id(pad);
    if (stream_id)
      branch->stream_id = stream_id;
    branch->selected = selected;
    branch->appsink = sink;
    branch->filter = filter;
    branch->tempo = tempo;
    branch->caps = out_caps;
    branch->head = gst_element_get_static_pad(chain.front(), "sink");
    g_object_set_data(G_OBJECT(pad), "mediacapture-branch", branch.get());
    GstAppSinkCallbacks cb = {};
    cb.eos = on_appsink_eos;
    cb.new_preroll = on_appsink_preroll;
    cb.new_sample = on_appsink_sample;
    gst_app_sink_set_callbacks(GST_APP_SINK(sink), &cb, branch.get(), nullptr);
    GstPad *appsink_pad = gst_element_get_static_pad(sink, "sink");
    gst_pad_add_probe(appsink_pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, branch_tag_probe,
                      branch.get(), nullptr);
    gst_object_unref(appsink_pad);
    std::lock_guard<std::mutex> lk(run->lock());
    if (previous && !previous->continued && run->current_locked(res)) {
      previous->continued = true;
      branch->track = previous->track;
      previous->track = nullptr;
      if (branch->track) {
        branch->track->branch = branch.get();
        branch->track->cond.notify_all();
      }
    } else {
      previous = nullptr;
    }
    res->branches.push_back(std::move(branch));
  }
  for (GstElement *e : chain)
    gst_element_sync_state_with_parent(e);
  GstPad *sinkpad = gst_element_get_static_pad(chain.front(), "sink");
  if (gst_pad_link(pad, sinkpad) != GST_PAD_LINK_OK)
    GST_WARNING_OBJECT(self, "could not link decoded stream");
  gst_object_unref(sinkpad);
  if (previous) /* now that the new sink is in the pipeline */
    end_replaced_branches(res);
  gst_caps_unref(caps);
  gst_object_unref(pipeline);
}

static void on_no_more_pads(GstElement *decodebin, gpointer user_data)
{
  Resource *res = static_cast<Resource *>(user_data);
  Run *run = res->run;
  {
    std::lock_guard<std::mutex> lk(run->lock());
    if (!run->current_locked(res))
      return;
    order_streams_locked(res);
    if (run->ready < ReadyState::HaveMetadata)
      run->set_ready_state_locked(ReadyState::HaveMetadata);
    /* Metadata known, selection determined: the tracks appear (ME-2), from
     * the control thread (pad-added handlers may stop the element). */
    run->post_locked(Expose{res->generation});
  }
  end_replaced_branches(res); /* a chain's streams no stream of this one continues */
}

static void forward_error(Resource *res, GstMessage *msg)
{
  GstElement *self = res->run->element();
  g_autoptr(GError) err = nullptr;
  g_autofree gchar *debug = nullptr;
  gst_message_parse_error(msg, &err, &debug);
  g_autofree gchar *text =
      g_strdup_printf(_("Could not play \"%s\": %s"), res->uri.c_str(), err->message);
  GST_WARNING_OBJECT(self, "%s", text);
  g_autoptr(GError) out = g_error_new_literal(err->domain, err->code, text);
  g_autofree gchar *dbg =
      g_strdup_printf("%s (from %s)", debug ? debug : "",
                      GST_MESSAGE_SRC_NAME(msg) ? GST_MESSAGE_SRC_NAME(msg) : "?");
  res->run->owner->post_message(gst_message_new_error(GST_OBJECT(self), out, dbg));
}

static void on_bus_error(Resource *res, GstMessage *msg)
{
  Run *run = res->run;
  bool first, muted_by_origin;
  {
    std::lock_guard<std::mutex> lk(run->lock());
    run->fail_locked(res);
    /* the first error says why; what follows (a failed state change...) only repeats it */
    first = !res->error_reported;
    res->error_reported = true;
    /* ME-10: after a redirect out of allowed-origins the media element
     * starves (its data is dropped) and its demuxer may fail: the tracks
     * are muted, as documented, and that is all the application sees. */
    muted_by_origin = res->origin_left && !run->tracks.empty();
  }
  if (first)
    GST_DEBUG_BIN_TO_DOT_FILE_WITH_TS(GST_BIN(res->pipeline), GST_DEBUG_GRAPH_SHOW_ALL,
                                      "mediacapturesrc-error");
  if (first && muted_by_origin) {
    g_autoptr(GError) err = nullptr;
    gst_message_parse_error(msg, &err, nullptr);
    GST_WARNING_OBJECT(run->element(), "after leaving allowed-origins: %s (tracks stay muted)",
                       err->message);
  } else if (first) {
    forward_error(res, msg);
  }
}

static GstBusSyncReply internal_bus_handler(GstBus *bus, GstMessage *msg, gpointer user_data)
{
  Resource *res = static_cast<Resource *>(user_data);
  Run *run = res->run;
  bool current;
  {
    std::lock_guard<std::mutex> lk(run->lock());
    current = run->current_locked(res);
  }
  if (!current) {
    GST_DEBUG_OBJECT(run->element(), "dropping %s of an old media element",
                     GST_MESSAGE_TYPE_NAME(msg));
    gst_message_unref(msg); /* a sync handler that drops owns the message */
    return GST_BUS_DROP;    /* a media element being torn down */
  }
  switch (GST_MESSAGE_TYPE(msg)) {
  case GST_MESSAGE_ERROR:
    on_bus_error(res, msg);
    break;
  case GST_MESSAGE_WARNING: {
    bool drop;
    {
      std::lock_guard<std::mutex> lk(run->lock());
      drop = res->origin_left;
      if (res->first_warning.empty()) {
        g_autoptr(GError) err = nullptr;
        gst_message_parse_warning(msg, &err, nullptr);
        res->first_warning = err->message;
      }
    }
    if (!drop)
      run->owner->post_message(gst_message_ref(msg));
    break;
  }
  case GST_MESSAGE_ELEMENT:
    /* missing-plugin messages and warnings reach the application */
    run->owner->post_message(gst_message_ref(msg));
    break;
  case GST_MESSAGE_DURATION_CHANGED:
    run->post(DurationChanged{res->generation});
    break;
  case GST_MESSAGE_EOS:
    run->post(Ended{res->generation});
    break;
  case GST_MESSAGE_ASYNC_DONE: {
    std::lock_guard<std::mutex> lk(run->lock());
    /* the first preroll, or the re-preroll that ends a seek */
    if (run->prerolled_once_locked(res))
      run->post_locked(Prerolled{res->generation});
    break;
  }
  default:
    break;
  }
  gst_message_unref(msg); /* dropped: the handler owns it */
  return GST_BUS_DROP;
}

/* decodebin removes the decoded pads of a chained Ogg's chain when the next
 * chain starts, without an EOS: the next chain's stream of the same kind
 * continues that branch (on_pad_added), and the replaced branch gets the EOS
 * its sink waits for (else the internal pipeline never ends) once the new
 * sinks are in the pipeline (its EOS alone would end the pipeline). */
static void on_pad_removed(GstElement *decodebin, GstPad *pad, gpointer user_data)
{
  Resource *res = static_cast<Resource *>(user_data);
  Run *run = res->run;
  std::lock_guard<std::mutex> lk(run->lock());
  if (!run->current_locked(res))
    return; /* shutting down */
  /* owned by res, alive while it is current */
  if (auto *b = static_cast<Branch *>(g_object_get_data(G_OBJECT(pad), "mediacapture-branch"))) {
    GST_DEBUG_OBJECT(run->element(), "decoded stream %s removed (next chain)", GST_PAD_NAME(pad));
    b->replaced = true;
  }
}

/* The EOS of the replaced branches (on_pad_removed): after a continuing
 * stream's sink was added, and at the next chain's no-more-pads for those
 * no stream continues. */
static void end_replaced_branches(Resource *res)
{
  std::vector<GstPad *> heads;
  {
    std::lock_guard<std::mutex> lk(res->run->lock());
    if (!res->run->current_locked(res))
      return;
    for (auto &b : res->branches) {
      if (b->replaced && !b->eos_sent && b->head) {
        b->eos_sent = true;
        heads.push_back(GST_PAD(gst_object_ref(b->head)));
      }
    }
  }
  for (GstPad *head : heads) {
    gst_pad_send_event(head, gst_event_new_eos());
    gst_object_unref(head);
  }
}

void resource_connect(Resource *res)
{
  g_signal_connect(res->decodebin, "pad-added", G_CALLBACK(on_pad_added), res);
  g_signal_connect(res->decodebin, "no-more-pads", G_CALLBACK(on_no_more_pads), res);
  g_signal_connect(res->decodebin, "pad-removed", G_CALLBACK(on_pad_removed), res);
  g_signal_connect(res->decodebin, "source-setup", G_CALLBACK(on_source_setup), res);
  g_signal_connect(res->decodebin, "element-added", G_CALLBACK(on_decodebin_element_added),
                   nullptr);
  g_signal_connect(res->decodebin, "deep-element-added", G_CALLBACK(on_deep_element_added), res);
  GstBus *bus = gst_element_get_bus(res->pipeline);
  gst_bus_set_sync_handler(bus, internal_bus_handler, res, nullptr);
  gst_object_unref(bus);
}

/* A scaletempo going into (or out of) an audio branch, between its
 * capsfilter and its appsink, when the capsfilter's src pad is idle. */
struct TempoChange {
  GstElement *pipeline, *filter, *tempo, *appsink;
  bool insert;
  ~TempoChange()
  {
    for (GstElement *e : {pipeline, filter, tempo, appsink})
      gst_object_unref(e);
  }
};

static GstPadProbeReturn tempo_idle_probe(GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  TempoChange *c = static_cast<TempoChange *>(user_data);
  if (c->insert) {
    gst_element_unlink(c->filter, c->appsink);
    gst_bin_add(GST_BIN(c->pipeline), c->tempo); /* not floating: the bin takes its own ref */
    gst_element_link_many(c->filter, c->tempo, c->appsink, nullptr);
    gst_element_sync_state_with_parent(c->tempo);
  } else {
    gst_element_unlink_many(c->filter, c->tempo, c->appsink, nullptr);
    gst_element_link(c->filter, c->appsink);
    /* Locked first: a state change of the pipeline meanwhile (paused set
     * from another thread) would otherwise set it back to PLAYING between
     * its NULL and its removal, and it would be disposed while PLAYING. */
    gst_element_set_locked_state(c->tempo, TRUE);
    gst_element_set_state(c->tempo, GST_STATE_NULL);
    gst_bin_remove(GST_BIN(c->pipeline), c->tempo);
  }
  return GST_PAD_PROBE_REMOVE;
}

/* ME-9: audio is time-stretched (scaletempo, pitch kept) only while the rate
 * is not 1.0; at 1.0 it goes from the capsfilter to the appsink as decoded.
 * Control thread (which also owns the branches' lifetime), before a seek
 * at @rate: the seek's flush then brings the new segment through the new
 * chain. */
void Run::update_tempo(gdouble rate)
{
  bool want = rate != 1.0;
  std::vector<TempoChange *> changes;
  bool missing = false;
  {
    std::lock_guard<std::mutex> lk(me->lock_);
    if (resource) {
      for (auto &b : resource->branches) {
        if (b->is_video || !b->filter || (b->tempo != nullptr) == want)
          continue;
        GstElement *tempo = want ? make_element("scaletempo") : b->tempo;
        if (!tempo) {
          missing = true;
          continue;
        }
        if (want)
          gst_object_ref_sink(tempo);
        else
          gst_object_ref(tempo);
        changes.push_back(new TempoChange{GST_ELEMENT(gst_object_ref(resource->pipeline)),
                                          GST_ELEMENT(gst_object_ref(b->filter)), tempo,
                                          GST_ELEMENT(gst_object_ref(b->appsink)), want});
        b->tempo = want ? tempo : nullptr;
      }
    }
  }
  if (missing)
    GST_ELEMENT_WARNING(element(), CORE, MISSING_PLUGIN,
                        (_("Missing element to play audio (audioconvert, audioresample or "
                           "scaletempo).")),
                        ("audio plays at rate %g without keeping its pitch", rate));
  for (TempoChange *c : changes) {
    GST_DEBUG_OBJECT(element(), "%s scaletempo for rate %g", c->insert ? "adding" : "removing",
                     rate);
    GstPad *pad = gst_element_get_static_pad(c->filter, "src");
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_IDLE, tempo_idle_probe, c,
                      [](gpointer p) { delete static_cast<TempoChange *>(p); });
    gst_object_unref(pad);
  }
}

} // namespace mediacapture
