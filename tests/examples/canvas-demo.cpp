/* canvas-demo: animate a scene on canvascapturesrc and record it as VP8 in WebM.
 *
 *   canvascapturesrc frame-rate=30 ! videoconvert ! vp8enc deadline=1 ! webmmux ! filesink
 *
 * The scene is painted from the element's `draw` signal, which canvascapturesrc emits on its
 * streaming thread at every capture opportunity (here each tick of the 30 Hz frame timer, CC-6).
 * After --seconds the pipeline gets EOS so webmmux finalizes the file; the program then checks
 * that the file was written and can be read back, and prints what it recorded.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <cairo.h>
#include <glib/gstdio.h>
#include <gst/gst.h>
#include <gst/pbutils/pbutils.h>

#include <atomic>
#include <cmath>
#include <cstdlib>

namespace
{

constexpr int kCanvasWidth = 640;
constexpr int kCanvasHeight = 360;
constexpr double kFrameRate = 30.0;
// How long EOS may take to go through the encoder and the muxer before we give up.
constexpr guint kEosTimeoutSeconds = 10;

struct Recording {
  GMainLoop *loop = nullptr;
  GstElement *pipeline = nullptr;
  std::atomic<guint64> frames_drawn{0};    // written on the streaming thread (draw)
  std::atomic<guint64> frames_recorded{0}; // buffers that left canvascapturesrc
  bool failed = false;
};

// --- The scene -------------------------------------------------------------------------------

void draw_background(cairo_t *cr, double t)
{
  // A slow drift between two dusk colours.
  const double shift = 0.5 + 0.5 * std::sin(t * 0.6);
  cairo_pattern_t *sky = cairo_pattern_create_linear(0, 0, 0, kCanvasHeight);
  cairo_pattern_add_color_stop_rgb(sky, 0.0, 0.05, 0.08 + 0.10 * shift, 0.25 + 0.15 * shift);
  cairo_pattern_add_color_stop_rgb(sky, 1.0, 0.85, 0.35 + 0.20 * shift, 0.30);
  cairo_set_source(cr, sky);
  cairo_paint(cr);
  cairo_pattern_destroy(sky);
}

void draw_ball(cairo_t *cr, double t)
{
  // A ball on a Lissajous path, lit from the top left.
  const double radius = 40.0;
  const double x = kCanvasWidth / 2.0 + (kCanvasWidth / 2.0 - radius - 20) * std::sin(t * 1.3);
  const double y = kCanvasHeight / 2.0 + (kCanvasHeight / 2.0 - radius - 60) * std::sin(t * 2.1);

  cairo_pattern_t *shade =
      cairo_pattern_create_radial(x - radius / 3, y - radius / 3, radius / 8, x, y, radius);
  cairo_pattern_add_color_stop_rgb(shade, 0.0, 1.0, 1.0, 0.9);
  cairo_pattern_add_color_stop_rgb(shade, 1.0, 0.9, 0.3, 0.1);
  cairo_arc(cr, x, y, radius, 0, 2 * G_PI);
  cairo_set_source(cr, shade);
  cairo_fill(cr);
  cairo_pattern_destroy(shade);
}

void draw_spinner(cairo_t *cr, double t)
{
  // A square turning once every four seconds, so the clock can be checked by eye.
  cairo_save(cr);
  cairo_translate(cr, kCanvasWidth - 70, 70);
  cairo_rotate(cr, t * G_PI / 2);
  cairo_rectangle(cr, -30, -30, 60, 60);
  cairo_set_source_rgba(cr, 1.0, 1.0, 1.0, 0.8);
  cairo_set_line_width(cr, 6);
  cairo_stroke(cr);
  cairo_restore(cr);
}

void draw_caption(cairo_t *cr, guint64 frame, GstClockTime running_time)
{
  const guint64 ms = running_time / GST_MSECOND;
  g_autofree gchar *caption = g_strdup_printf("frame %" G_GUINT64_FORMAT "   %02" G_GUINT64_FORMAT
                                              ":%02" G_GUINT64_FORMAT ".%03" G_GUINT64_FORMAT,
                                              frame, ms / 60000, ms / 1000 % 60, ms % 1000);

  cairo_select_font_face(cr, "Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
  cairo_set_font_size(cr, 28);
  cairo_move_to(cr, 20, kCanvasHeight - 24);
  cairo_set_source_rgba(cr, 0, 0, 0, 0.5); // drop shadow
  cairo_show_text(cr, caption);
  cairo_move_to(cr, 18, kCanvasHeight - 26);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_show_text(cr, caption);
}

// `draw` handler: runs on the streaming thread; paints the scene for `running_time`.
gboolean on_draw(GstElement *, cairo_t *cr, guint64 running_time, gpointer user_data)
{
  auto *rec = static_cast<Recording *>(user_data);
  const double t = static_cast<double>(running_time) / GST_SECOND;

  draw_background(cr, t);
  draw_ball(cr, t);
  draw_spinner(cr, t);
  draw_caption(cr, rec->frames_drawn++, running_time);
  return TRUE; // new content: capture it
}

// --- Pipeline --------------------------------------------------------------------------------

GstPadProbeReturn count_frame(GstPad *, GstPadProbeInfo *, gpointer user_data)
{
  static_cast<Recording *>(user_data)->frames_recorded++;
  return GST_PAD_PROBE_OK;
}

void fail(Recording &rec)
{
  rec.failed = true;
  g_main_loop_quit(rec.loop);
}

gboolean on_bus_message(GstBus *, GstMessage *msg, gpointer user_data)
{
  auto &rec = *static_cast<Recording *>(user_data);

  switch (GST_MESSAGE_TYPE(msg)) {
  case GST_MESSAGE_ERROR:
  case GST_MESSAGE_WARNING: {
    g_autoptr(GError) err = nullptr;
    g_autofree gchar *debug = nullptr;
    const bool is_error = GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR;
    if (is_error)
      gst_message_parse_error(msg, &err, &debug);
    else
      gst_message_parse_warning(msg, &err, &debug);
    g_printerr("%s from %s: %s\n", is_error ? "Error" : "Warning", GST_OBJECT_NAME(msg->src),
               err->message);
    if (debug)
      g_printerr("  (%s)\n", debug);
    if (is_error)
      fail(rec);
    break;
  }
  case GST_MESSAGE_EOS:
    g_main_loop_quit(rec.loop);
    break;
  default:
    break;
  }
  return G_SOURCE_CONTINUE;
}

gboolean on_eos_timeout(gpointer user_data)
{
  auto &rec = *static_cast<Recording *>(user_data);
  g_printerr("Error: the pipeline did not finish within %u s after EOS\n", kEosTimeoutSeconds);
  fail(rec);
  return G_SOURCE_REMOVE;
}

gboolean on_recording_done(gpointer user_data)
{
  auto &rec = *static_cast<Recording *>(user_data);
  // EOS (not a state change) lets the encoder drain and webmmux write its index and duration.
  gst_element_send_event(rec.pipeline, gst_event_new_eos());
  g_timeout_add_seconds(kEosTimeoutSeconds, on_eos_timeout, &rec);
  return G_SOURCE_REMOVE;
}

// Creates `factory` inside `pipeline` (which then owns it); nullptr when it is not installed.
GstElement *add_element(GstElement *pipeline, const gchar *factory, const gchar *name)
{
  GstElement *element = gst_element_factory_make(factory, name);
  if (!element) {
    g_printerr("Error: no element '%s'.%s\n", factory,
               g_str_equal(factory, "canvascapturesrc")
                   ? " Run uninstalled with GST_PLUGIN_PATH=<builddir>/ext/cairo."
                   : " Is gst-plugins-base/good installed?");
    return nullptr;
  }
  gst_bin_add(GST_BIN(pipeline), element);
  return element;
}

// canvascapturesrc ! videoconvert ! vp8enc ! webmmux ! filesink; nullptr on failure.
GstElement *build_pipeline(Recording &rec, const gchar *output)
{
  g_autoptr(GstElement) pipeline =
      GST_ELEMENT(gst_object_ref_sink(gst_pipeline_new("canvas-demo")));
  GstElement *canvas = add_element(pipeline, "canvascapturesrc", "canvas");
  GstElement *convert = add_element(pipeline, "videoconvert", nullptr);
  GstElement *encoder = add_element(pipeline, "vp8enc", nullptr);
  GstElement *muxer = add_element(pipeline, "webmmux", nullptr);
  GstElement *sink = add_element(pipeline, "filesink", nullptr);
  if (!canvas || !convert || !encoder || !muxer || !sink)
    return nullptr;

  // The scene covers the whole canvas, so it is opaque: BGRx needs no alpha conversion.
  g_object_set(canvas, "width", kCanvasWidth, "height", kCanvasHeight, "frame-rate", kFrameRate,
               "alpha", FALSE, nullptr);
  g_signal_connect(canvas, "draw", G_CALLBACK(on_draw), &rec);
  g_object_set(encoder, "deadline", G_GINT64_CONSTANT(1), nullptr); // realtime encoding
  g_object_set(sink, "location", output, nullptr);

  if (!gst_element_link_many(canvas, convert, encoder, muxer, sink, nullptr)) {
    g_printerr("Error: could not link canvascapturesrc ! videoconvert ! vp8enc ! webmmux\n");
    return nullptr;
  }

  g_autoptr(GstPad) canvas_src = gst_element_get_static_pad(canvas, "src");
  gst_pad_add_probe(canvas_src, GST_PAD_PROBE_TYPE_BUFFER, count_frame, &rec, nullptr);
  return static_cast<GstElement *>(g_steal_pointer(&pipeline));
}

// Reads the finished file back: proves it is a playable WebM and gives its real duration.
bool inspect_output(const gchar *output, GstClockTime *duration)
{
  g_autoptr(GError) err = nullptr;
  g_autofree gchar *uri = gst_filename_to_uri(output, &err);
  g_autoptr(GstDiscoverer) discoverer = uri ? gst_discoverer_new(10 * GST_SECOND, &err) : nullptr;
  g_autoptr(GstDiscovererInfo) info =
      discoverer ? gst_discoverer_discover_uri(discoverer, uri, &err) : nullptr;
  if (!info || gst_discoverer_info_get_result(info) != GST_DISCOVERER_OK) {
    g_printerr("Error: %s cannot be read back: %s\n", output,
               err ? err->message : "not a playable file");
    return false;
  }
  *duration = gst_discoverer_info_get_duration(info);
  return true;
}

} // namespace

int main(int argc, char **argv)
{
  g_autofree gchar *output = nullptr;
  double seconds = 5.0;
  const GOptionEntry entries[] = {
      {"output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "WebM file to write (default: demo.webm)",
       "FILE"},
      {"seconds", 's', 0, G_OPTION_ARG_DOUBLE, &seconds, "How long to record (default: 5)", "S"},
      {}, // G_OPTION_ENTRY_NULL does not compile as C++ with GLib 2.74
  };

  g_autoptr(GOptionContext) context =
      g_option_context_new("- record an animated canvascapturesrc scene to VP8/WebM");
  g_option_context_add_main_entries(context, entries, nullptr);
  g_option_context_add_group(context, gst_init_get_option_group());
  g_autoptr(GError) err = nullptr;
  if (!g_option_context_parse(context, &argc, &argv, &err)) {
    g_printerr("%s\n", err->message);
    return EXIT_FAILURE;
  }
  if (!(seconds > 0 && seconds <= 24 * 3600)) {
    g_printerr("--seconds must be more than 0 (and at most a day)\n");
    return EXIT_FAILURE;
  }
  if (!output)
    output = g_strdup("demo.webm");

  Recording rec;
  rec.pipeline = build_pipeline(rec, output);
  if (!rec.pipeline)
    return EXIT_FAILURE;
  rec.loop = g_main_loop_new(nullptr, FALSE);

  GstBus *bus = gst_element_get_bus(rec.pipeline);
  const guint bus_watch = gst_bus_add_watch(bus, on_bus_message, &rec);
  gst_object_unref(bus);

  g_print("Recording %.3g s of canvascapturesrc to %s ...\n", seconds, output);
  if (gst_element_set_state(rec.pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    // The reason is an ERROR message on the bus: let the loop print it.
    rec.failed = true;
    g_idle_add(
        [](gpointer loop) {
          g_main_loop_quit(static_cast<GMainLoop *>(loop));
          return G_SOURCE_REMOVE;
        },
        rec.loop);
  } else {
    g_timeout_add(static_cast<guint>(seconds * 1000), on_recording_done, &rec);
  }
  g_main_loop_run(rec.loop);

  gst_element_set_state(rec.pipeline, GST_STATE_NULL);
  g_source_remove(bus_watch);
  gst_object_unref(rec.pipeline);
  g_main_loop_unref(rec.loop);

  if (rec.failed)
    return EXIT_FAILURE;

  GStatBuf st;
  if (g_stat(output, &st) != 0 || st.st_size == 0) {
    g_printerr("Error: %s was not written\n", output);
    return EXIT_FAILURE;
  }
  if (rec.frames_recorded == 0) {
    g_printerr("Error: canvascapturesrc produced no frame\n");
    return EXIT_FAILURE;
  }
  GstClockTime duration = GST_CLOCK_TIME_NONE;
  if (!inspect_output(output, &duration))
    return EXIT_FAILURE;

  g_print("Wrote %s: %" G_GUINT64_FORMAT " frames, %" G_GUINT64_FORMAT " bytes, %.3f s "
          "(VP8 in WebM, %dx%d)\n",
          output, rec.frames_recorded.load(), static_cast<guint64>(st.st_size),
          GST_CLOCK_TIME_IS_VALID(duration) ? static_cast<double>(duration) / GST_SECOND : 0.0,
          kCanvasWidth, kCanvasHeight);
  return EXIT_SUCCESS;
}
