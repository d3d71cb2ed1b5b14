// SPDX-License-Identifier: LGPL-2.1-or-later
#include "example-media.h"

#include <glib/gstdio.h>

#include <execinfo.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

namespace example
{

GstElement *make(const char *program, const char *factory, const char *name)
{
  GstElement *element = gst_element_factory_make(factory, name);
  if (!element) {
    g_printerr("%s: no element '%s'.%s\n", program, factory,
               strstr("canvascapturesrc mediacapturesrc mediastreambin", factory)
                   ? " Run uninstalled after `. <builddir>/webcapture-env.sh` (scripts/demo"
                     " does)."
                   : "");
  }
  return element;
}

// Makes @path unless it exists. Written to a temporary name first, so an interrupted run
// leaves no broken file.
static bool ensure_default_media(const char *program, const std::string &path)
{
  if (g_file_test(path.c_str(), G_FILE_TEST_IS_REGULAR))
    return true;
  const bool overlay =
      gst_registry_check_feature_version(gst_registry_get(), "timeoverlay", 1, 0, 0);
  const std::string part = path + ".part";
  g_autofree gchar *description = g_strdup_printf(
      "videotestsrc num-buffers=300 pattern=smpte ! video/x-raw,width=320,height=240,"
      "framerate=30/1 %s ! videoconvert ! vp8enc deadline=1 cpu-used=8 ! queue ! webmmux name=mux"
      " ! filesink location=\"%s\""
      " audiotestsrc num-buffers=469 samplesperbuffer=1024 wave=sine freq=330 volume=0.3"
      " ! audio/x-raw,rate=48000,channels=2 ! audioconvert ! opusenc ! queue ! mux.",
      overlay ? "! timeoverlay font-desc=\"Sans 24\" halignment=center valignment=center" : "",
      part.c_str());
  g_print("%s: making the default media file %s (once)...\n", program, path.c_str());
  g_autoptr(GError) error = nullptr;
  g_autoptr(GstElement) pipeline = gst_parse_launch(description, &error);
  if (!pipeline) {
    g_printerr("%s: cannot make %s: %s\n", program, path.c_str(), error->message);
    return false;
  }
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  g_autoptr(GstBus) bus = gst_element_get_bus(pipeline);
  g_autoptr(GstMessage) msg = gst_bus_timed_pop_filtered(
      bus, 60 * GST_SECOND, GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  gst_element_set_state(pipeline, GST_STATE_NULL);
  if (!msg || GST_MESSAGE_TYPE(msg) != GST_MESSAGE_EOS) {
    g_autoptr(GError) err = nullptr;
    if (msg)
      gst_message_parse_error(msg, &err, nullptr);
    g_printerr("%s: cannot make %s: %s\n", program, path.c_str(), err ? err->message : "timed out");
    g_unlink(part.c_str());
    return false;
  }
  if (g_rename(part.c_str(), path.c_str()) != 0) {
    g_printerr("%s: cannot rename %s: %s\n", program, part.c_str(), g_strerror(errno));
    return false;
  }
  return true;
}

bool media_uri(const char *program, const char *uri_option, const std::string &default_path,
               std::string *uri)
{
  if (!uri_option) {
    if (!ensure_default_media(program, default_path))
      return false;
    g_autofree gchar *file_uri = gst_filename_to_uri(default_path.c_str(), nullptr);
    *uri = file_uri;
    return true;
  }
  if (gst_uri_is_valid(uri_option)) {
    *uri = uri_option;
    return true;
  }
  g_autoptr(GError) err = nullptr; // a plain path
  g_autofree gchar *file_uri = gst_filename_to_uri(uri_option, &err);
  if (!file_uri) {
    g_printerr("%s: --uri %s: %s\n", program, uri_option, err->message);
    return false;
  }
  *uri = file_uri;
  return true;
}

static const char *crash_program = "example";

// Async-signal-safe but for backtrace(), which report_crashes() calls once beforehand so that
// libgcc is loaded before any crash.
static void on_crash(int sig)
{
  char line[160];
  const char *name = sig == SIGSEGV  ? "SIGSEGV"
                     : sig == SIGBUS ? "SIGBUS"
                     : sig == SIGFPE ? "SIGFPE"
                     : sig == SIGILL ? "SIGILL"
                                     : "SIGABRT";
  const int n = snprintf(line, sizeof line, "%s: crashed (%s); stack:\n", crash_program, name);
  if (n > 0 && write(STDERR_FILENO, line, size_t(n)) < 0) {
    // nothing more to do on stderr
  }
  void *frames[64];
  backtrace_symbols_fd(frames, backtrace(frames, 64), STDERR_FILENO);
  signal(sig, SIG_DFL); // then die of it, as without this handler
  raise(sig);
}

void report_crashes(const char *program)
{
  crash_program = program;
  void *warm[1];
  backtrace(warm, 1);
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT})
    signal(sig, on_crash);
}

} // namespace example
