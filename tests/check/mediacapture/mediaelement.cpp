/* Unit tests of mediacapturesrc's media element (gst/mediacapture/mediaelement.h)
 * without its GstElement: a fake MediaElementOwner around a plain bin, and
 * the HTMLMediaElement state model (networkState, readyState, seeking) as
 * docs/plugins/mediacapturesrc.md and gst/mediacapture/mediarun.cpp state it.
 * The transitions are read from the element's debug log (each state changes
 * in one setter, which logs it), so none is missed between two polls.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib/gstdio.h>
#include <gst/check/gstcheck.h>

#include <mutex>
#include <string>
#include <vector>

#include "gstmediacapturesrc.h"
#include "mediaelement.h"

/* defined by gstmediacapturesrc.cpp in the plugin */
GST_DEBUG_CATEGORY(gst_media_capture_src_debug);

using namespace mediacapture;

namespace
{

/* generous: a loaded machine, never a timing assertion */
constexpr gint64 kWaitUs = 60 * G_USEC_PER_SEC;

std::mutex log_lock;
std::vector<std::string> transitions; /* "networkState ...", "readyState ...", "seeking ..." */

void log_function(GstDebugCategory *category, GstDebugLevel, const gchar *, const gchar *, gint,
                  GObject *, GstDebugMessage *message, gpointer)
{
  if (category != gst_media_capture_src_debug)
    return;
  const gchar *text = gst_debug_message_get(message);
  if (g_str_has_prefix(text, "networkState ") || g_str_has_prefix(text, "readyState ") ||
      g_str_has_prefix(text, "seeking ")) {
    std::lock_guard<std::mutex> lk(log_lock);
    transitions.push_back(text);
  }
}

std::vector<std::string> take_transitions()
{
  std::lock_guard<std::mutex> lk(log_lock);
  std::vector<std::string> out;
  out.swap(transitions);
  return out;
}

/* index of @what in @log at or after @from, or -1 */
gint find(const std::vector<std::string> &log, const std::string &what, gint from = 0)
{
  for (size_t i = from; i < log.size(); i++)
    if (log[i] == what)
      return (gint)i;
  return -1;
}

std::string join(const std::vector<std::string> &log)
{
  std::string s;
  for (auto &l : log)
    s += l + "; ";
  return s;
}

class FakeOwner final : public MediaElementOwner
{
public:
  FakeOwner() : el(GST_ELEMENT(gst_object_ref_sink(gst_element_factory_make("bin", nullptr)))) {}
  ~FakeOwner()
  {
    for (GstPad *p : sinks)
      gst_object_unref(p);
    gst_object_unref(el);
  }

  GstElement *element() override { return el; }
  void post_message(GstMessage *msg) override
  {
    std::lock_guard<std::mutex> lk(lock);
    if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR)
      errors++;
    gst_message_unref(msg);
  }
  GstPad *new_track_pad(bool is_video, guint index) override
  {
    g_autofree gchar *name = g_strdup_printf(is_video ? "video_%u" : "audio_%u", index);
    /* the tracks' pad type (capturetrack.cpp), as the element makes them */
    return GST_PAD(gst_object_ref_sink(g_object_new(GST_TYPE_MEDIA_CAPTURE_SRC_PAD, "name", name,
                                                    "direction", GST_PAD_SRC, nullptr)));
  }
  void add_track_pad(GstPad *pad) override
  {
    /* a sink that takes everything, as a linked downstream element would */
    GstPad *sink = gst_pad_new("sink", GST_PAD_SINK);
    gst_object_ref_sink(sink);
    gst_pad_set_chain_function(sink, [](GstPad *, GstObject *, GstBuffer *b) {
      gst_buffer_unref(b);
      return GST_FLOW_OK;
    });
    gst_pad_set_event_function(sink, [](GstPad *, GstObject *, GstEvent *e) {
      gst_event_unref(e);
      return (gboolean)TRUE;
    });
    gst_pad_set_active(sink, TRUE);
    gst_element_add_pad(el, pad);
    fail_unless(gst_pad_link(pad, sink) == GST_PAD_LINK_OK);
    std::lock_guard<std::mutex> lk(lock);
    sinks.push_back(sink);
    added++;
  }
  void remove_track_pad(GstPad *pad) override
  {
    if (GST_OBJECT_PARENT(pad) == GST_OBJECT(el))
      gst_element_remove_pad(el, pad);
  }
  void tracks_complete() override {}
  void notify(Attribute) override {}
  void notify_track_muted(GstPad *) override {}

  gint error_count()
  {
    std::lock_guard<std::mutex> lk(lock);
    return errors;
  }
  gint added_count()
  {
    std::lock_guard<std::mutex> lk(lock);
    return added;
  }

private:
  GstElement *el;
  std::mutex lock;
  gint errors = 0;
  gint added = 0;
  std::vector<GstPad *> sinks;
};

/* bounded poll: true as soon as @pred holds, false after kWaitUs */
template <typename P> bool wait_for(P pred)
{
  gint64 end = g_get_monotonic_time() + kWaitUs;
  while (!pred()) {
    if (g_get_monotonic_time() > end)
      return false;
    g_usleep(5000);
  }
  return true;
}

gchar *tmp_dir;
gchar *media_uri;
gchar *missing_uri;
gchar *video_uri;

void run_pipeline(const gchar *desc)
{
  GError *err = nullptr;
  GstElement *p = gst_parse_launch(desc, &err);
  fail_unless(p != nullptr && err == nullptr, "%s", err ? err->message : "?");
  fail_unless(gst_element_set_state(p, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
  GstBus *bus = gst_element_get_bus(p);
  GstMessage *m = gst_bus_timed_pop_filtered(bus, 120 * GST_SECOND,
                                             (GstMessageType)(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  fail_unless(m && GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS, "could not make the media");
  gst_message_unref(m);
  gst_object_unref(bus);
  gst_element_set_state(p, GST_STATE_NULL);
  gst_object_unref(p);
}

/* a 5 s Theora file with one keyframe: an accurate seek near its end
 * decodes most of it again, so the re-preroll outlasts the seek call */
void make_video()
{
  g_autofree gchar *path = g_build_filename(tmp_dir, "video.ogg", nullptr);
  g_autofree gchar *desc = g_strdup_printf(
      "videotestsrc pattern=smpte num-buffers=150 ! video/x-raw,width=320,height=240,"
      "framerate=30/1 ! theoraenc keyframe-auto=false keyframe-force=1000 keyframe-freq=1000 "
      "speed-level=3 ! oggmux ! filesink location=\"%s\"",
      path);
  run_pipeline(desc);
  video_uri = gst_filename_to_uri(path, nullptr);
}

/* a 2 s Ogg Vorbis file, made by the test */
void make_media()
{
  tmp_dir = g_dir_make_tmp("mediaelement-XXXXXX", nullptr);
  fail_unless(tmp_dir != nullptr);
  g_autofree gchar *path = g_build_filename(tmp_dir, "tone.ogg", nullptr);
  g_autofree gchar *desc = g_strdup_printf(
      "audiotestsrc num-buffers=94 samplesperbuffer=1024 ! audio/x-raw,rate=48000,channels=1 ! "
      "vorbisenc ! oggmux ! filesink location=\"%s\"",
      path);
  run_pipeline(desc);
  media_uri = gst_filename_to_uri(path, nullptr);
  g_autofree gchar *missing = g_build_filename(tmp_dir, "missing.ogg", nullptr);
  missing_uri = gst_filename_to_uri(missing, nullptr);
}

void setup()
{
  GST_DEBUG_CATEGORY_INIT(gst_media_capture_src_debug, "mediacapturesrc", 0, "mediacapturesrc");
  gst_debug_set_active(TRUE);
  gst_debug_set_threshold_for_name("mediacapturesrc", GST_LEVEL_DEBUG);
  gst_debug_remove_log_function(gst_debug_log_default); /* the log is read, not printed */
  gst_debug_add_log_function(log_function, nullptr, nullptr);
  make_media();
  take_transitions();
}

void teardown()
{
  gst_debug_remove_log_function(log_function);
  gst_debug_add_log_function(gst_debug_log_default, nullptr, nullptr);
  g_autofree gchar *path = g_build_filename(tmp_dir, "tone.ogg", nullptr);
  g_unlink(path);
  g_autofree gchar *video = g_build_filename(tmp_dir, "video.ogg", nullptr);
  g_unlink(video);
  g_rmdir(tmp_dir);
  g_clear_pointer(&tmp_dir, g_free);
  g_clear_pointer(&media_uri, g_free);
  g_clear_pointer(&missing_uri, g_free);
  g_clear_pointer(&video_uri, g_free);
}

bool loaded(MediaElement &me)
{
  return me.network_state() == NetworkState::Idle && me.ready_state() == ReadyState::HaveEnoughData;
}

} // namespace

GST_START_TEST(test_not_running)
{
  FakeOwner owner;
  MediaElement me(&owner);
  me.set_src(media_uri);
  fail_unless(me.network_state() == NetworkState::Empty);
  fail_unless(me.ready_state() == ReadyState::HaveNothing);
  fail_if(me.seeking());
}
GST_END_TEST;

/* EMPTY -> LOADING -> IDLE; HAVE_NOTHING -> HAVE_METADATA -> HAVE_ENOUGH_DATA */
GST_START_TEST(test_load)
{
  FakeOwner owner;
  MediaElement me(&owner);
  me.set_src(media_uri);
  me.start();
  fail_unless(wait_for([&] { return loaded(me); }), "not loaded: %s",
              join(take_transitions()).c_str());
  fail_if(me.seeking());
  auto log = take_transitions();
  gint loading = find(log, "networkState NETWORK_EMPTY -> NETWORK_LOADING");
  gint idle = find(log, "networkState NETWORK_LOADING -> NETWORK_IDLE");
  gint metadata = find(log, "readyState HAVE_NOTHING -> HAVE_METADATA");
  gint enough = find(log, "readyState HAVE_METADATA -> HAVE_ENOUGH_DATA");
  fail_unless(loading >= 0 && idle > loading && metadata > loading && enough > metadata, "%s",
              join(log).c_str());
  fail_if(find(log, "networkState NETWORK_LOADING -> NETWORK_NO_SOURCE") >= 0);
  /* the selected audio track appeared */
  fail_unless(wait_for([&] { return owner.added_count() == 1; }));
  fail_unless_equals_int(owner.error_count(), 0);
  me.stop();
  fail_unless(me.network_state() == NetworkState::Empty);
  fail_unless(me.ready_state() == ReadyState::HaveNothing);
}
GST_END_TEST;

/* seeking from the seek until the re-preroll after it; readyState at most
 * HAVE_METADATA meanwhile */
GST_START_TEST(test_seek)
{
  make_video();
  FakeOwner owner;
  MediaElement me(&owner);
  me.set_audio_tracks("none");
  me.set_video_track(-1);
  me.set_src(video_uri);
  me.start();
  fail_unless(wait_for([&] { return loaded(me); }));
  take_transitions();
  me.set_current_time(4.5);
  fail_unless(wait_for([&] {
    std::lock_guard<std::mutex> lk(log_lock);
    for (auto &l : transitions)
      if (g_str_has_prefix(l.c_str(), "seeking 0"))
        return true;
    return false;
  }));
  fail_unless(wait_for([&] { return loaded(me) && !me.seeking(); }));
  auto log = take_transitions();
  gint on = find(log, "seeking 1 (seek)");
  gint down = find(log, "readyState HAVE_ENOUGH_DATA -> HAVE_METADATA");
  gint off = find(log, "seeking 0 (re-prerolled)");
  gint up = find(log, "readyState HAVE_METADATA -> HAVE_ENOUGH_DATA");
  fail_unless(on >= 0 && down > on && off > down && up > down, "%s", join(log).c_str());
  fail_if(find(log, "readyState HAVE_METADATA -> HAVE_ENOUGH_DATA") <
              find(log, "seeking 0 (re-prerolled)"),
          "HAVE_ENOUGH_DATA while seeking: %s", join(log).c_str());
  /* no other state moved */
  fail_unless_equals_int((gint)log.size(), 4);
  fail_unless(me.network_state() == NetworkState::Idle);
  fail_unless_equals_int(owner.error_count(), 0);
  me.stop();
}
GST_END_TEST;

/* NO_SOURCE for a missing file: the internal pipeline's error */
GST_START_TEST(test_missing_file)
{
  FakeOwner owner;
  MediaElement me(&owner);
  me.set_src(missing_uri);
  me.start();
  fail_unless(wait_for([&] { return me.network_state() == NetworkState::NoSource; }), "%s",
              join(take_transitions()).c_str());
  fail_unless(me.ready_state() == ReadyState::HaveNothing);
  fail_if(me.seeking());
  fail_unless(wait_for([&] { return owner.error_count() >= 1; }));
  fail_unless_equals_int(owner.added_count(), 0);
  me.stop();
}
GST_END_TEST;

/* NO_SOURCE for an origin not allowed, without loading anything */
GST_START_TEST(test_origin_refused)
{
  FakeOwner owner;
  MediaElement me(&owner);
  const gchar *origins[] = {"http://127.0.0.1:1/", nullptr};
  me.set_allowed_origins(origins);
  me.set_src(media_uri);
  me.start();
  fail_unless(wait_for([&] { return me.network_state() == NetworkState::NoSource; }));
  fail_unless(me.ready_state() == ReadyState::HaveNothing);
  auto log = take_transitions();
  fail_unless(find(log, "networkState NETWORK_LOADING -> NETWORK_NO_SOURCE") >= 0, "%s",
              join(log).c_str());
  me.stop();
}
GST_END_TEST;

/* a new load starts over: HAVE_NOTHING, LOADING; no src is EMPTY */
GST_START_TEST(test_new_load)
{
  FakeOwner owner;
  MediaElement me(&owner);
  me.set_audio_tracks("none");
  me.set_src(media_uri);
  me.start();
  fail_unless(wait_for([&] { return loaded(me); }));
  take_transitions();
  me.set_src(missing_uri);
  fail_unless(wait_for([&] { return me.network_state() == NetworkState::NoSource; }));
  fail_unless(me.ready_state() == ReadyState::HaveNothing);
  auto log = take_transitions();
  gint nothing = find(log, "readyState HAVE_ENOUGH_DATA -> HAVE_NOTHING");
  gint loading = find(log, "networkState NETWORK_IDLE -> NETWORK_LOADING");
  gint failed = find(log, "networkState NETWORK_LOADING -> NETWORK_NO_SOURCE");
  fail_unless(nothing >= 0 && loading >= 0 && failed > loading, "%s", join(log).c_str());
  /* and back to a medium that loads */
  me.set_src(media_uri);
  fail_unless(wait_for([&] { return loaded(me); }));
  me.set_src("");
  fail_unless(wait_for([&] { return me.network_state() == NetworkState::Empty; }));
  fail_unless(me.ready_state() == ReadyState::HaveNothing);
  me.stop();
}
GST_END_TEST;

static Suite *mediaelement_suite()
{
  Suite *s = suite_create("mediaelement");
  TCase *tc = tcase_create("state");
  suite_add_tcase(s, tc);
  tcase_set_timeout(tc, 120);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_not_running);
  tcase_add_test(tc, test_load);
  tcase_add_test(tc, test_seek);
  tcase_add_test(tc, test_missing_file);
  tcase_add_test(tc, test_origin_refused);
  tcase_add_test(tc, test_new_load);
  return s;
}

GST_CHECK_MAIN(mediaelement);
