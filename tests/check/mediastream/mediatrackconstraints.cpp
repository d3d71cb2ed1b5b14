/* Unit suite for the MediaTrackConstraints module (MS-10 in
 * docs/plugins/mediastreambin.md, the table in docs/plugins/constraints.md):
 * parsing both forms, capabilities, the fitness distance and SelectSettings,
 * the error language and the promise replies. No element involved.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/check/gstcheck.h>

#include <cmath>
#include <string>

#include "mediatrackconstraints.h"

using namespace media_constraints;

/* ---- helpers ------------------------------------------------------------ */

static Constraints parse_ok(const gchar *text)
{
  Constraints c;
  Error error;
  GstStructure *s = gst_structure_from_string(text, nullptr);
  fail_unless(s != nullptr, "bad test structure: %s", text);
  fail_unless(parse_structure(s, &c, &error), "refused %s: %s", text, error.message.c_str());
  gst_structure_free(s);
  return c;
}

static Error parse_fails(const gchar *text)
{
  Constraints c;
  Error error;
  GstStructure *s = gst_structure_from_string(text, nullptr);
  fail_unless(s != nullptr, "bad test structure: %s", text);
  fail_if(parse_structure(s, &c, &error), "accepted %s", text);
  gst_structure_free(s);
  return error;
}

static Constraints json_ok(const gchar *json)
{
  Constraints c;
  Error error;
  fail_unless(parse_json(json, &c, &error), "refused %s: %s", json, error.message.c_str());
  return c;
}

static Error json_fails(const gchar *json)
{
  Constraints c;
  Error error;
  fail_if(parse_json(json, &c, &error), "accepted %s", json);
  return error;
}

static GstCaps *caps(const gchar *text)
{
  GstCaps *c = gst_caps_from_string(text);
  fail_unless(c != nullptr, "bad test caps: %s", text);
  return c;
}

/* Capabilities from @upstream (CAPS answer) and @native (negotiated; NULL =
 * fixate upstream). */
static void init_caps(Capabilities *out, MediaKind kind, const gchar *upstream, const gchar *native,
                      bool can_convert)
{
  GstCaps *u = upstream ? caps(upstream) : nullptr;
  GstCaps *n = native ? caps(native) : nullptr;
  Error error;
  fail_unless(out->init(kind, u, n, can_convert, &error), "capabilities refused: %s",
              error.message.c_str());
  if (u)
    gst_caps_unref(u);
  if (n)
    gst_caps_unref(n);
}

static const gchar *const kHd = "video/x-raw, format=I420, width=1280, height=720, "
                                "framerate=30/1, pixel-aspect-ratio=1/1";
static const gchar *const kVga = "video/x-raw, format=I420, width=640, height=480, "
                                 "framerate=30/1, pixel-aspect-ratio=1/1";
static const gchar *const kStereo = "audio/x-raw, format=S16LE, layout=interleaved, rate=48000, "
                                    "channels=2, channel-mask=(bitmask)0x3";

/* select_settings() that must succeed. */
static void select_ok(const Constraints &c, const Capabilities &caps, Selection *out)
{
  Error error;
  fail_unless(select_settings(c, caps, out, &error), "refused: %s (%s)", error.message.c_str(),
              error.constraint.c_str());
  fail_unless(out->settings != nullptr && out->caps != nullptr);
  fail_unless(gst_caps_is_fixed(out->caps));
}

static Error select_fails(const Constraints &c, const Capabilities &caps)
{
  Selection out;
  Error error;
  fail_if(select_settings(c, caps, &out, &error), "accepted");
  return error;
}

static gint get_int(const GstStructure *s, const gchar *name)
{
  gint v = -1;
  fail_unless(gst_structure_get_int(s, name, &v), "no int %s in %" GST_PTR_FORMAT, name, s);
  return v;
}

static gdouble get_double(const GstStructure *s, const gchar *name)
{
  gdouble v = -1;
  fail_unless(gst_structure_get_double(s, name, &v), "no double %s in %" GST_PTR_FORMAT, name, s);
  return v;
}

static void assert_size(const Selection &sel, gint width, gint height)
{
  fail_unless_equals_int(get_int(sel.settings, "width"), width);
  fail_unless_equals_int(get_int(sel.settings, "height"), height);
  const GstStructure *s = gst_caps_get_structure(sel.caps, 0);
  fail_unless_equals_int(get_int(s, "width"), width);
  fail_unless_equals_int(get_int(s, "height"), height);
}

/* ---- parsing: the structure form --------------------------------------- */

GST_START_TEST(test_structure_bare_values_are_ideals)
{
  Constraints c = parse_ok("constraints, width=(int)640, frameRate=(double)15, "
                           "facingMode=(string)user, backgroundBlur=(boolean)false");
  fail_unless_equals_int(c.basic.size(), 4);
  fail_unless(c.advanced.empty());
  for (const Constraint &m : c.basic) {
    fail_unless(m.bare);
    fail_unless(m.ideal.is_set());
    fail_if(m.exact.is_set() || m.has_min || m.has_max);
    fail_if(m.is_required(false), "a bare value in the basic set is an ideal");
    fail_unless(m.is_required(true), "a bare value in an advanced set is exact");
  }
  fail_unless(c.basic[0].property == Property::WIDTH);
  fail_unless_equals_float(c.basic[0].ideal.number, 640);
  fail_unless(c.basic[1].property == Property::FRAME_RATE);
  fail_unless_equals_float(c.basic[1].ideal.number, 15);
  fail_unless_equals_string(c.basic[2].ideal.strings[0].c_str(), "user");
  fail_unless(c.basic[3].ideal.type == Value::Type::BOOLEAN && !c.basic[3].ideal.boolean);
}
GST_END_TEST;

GST_START_TEST(test_structure_ranges)
{
  Constraints c = parse_ok("constraints, width=(structure)\"range, max=(int)640;\", "
                           "height=(structure)\"range, min=(int)120, ideal=(int)360, "
                           "exact=(int)360;\", frameRate=(fraction)[ 5/1, 30/1 ], "
                           "sample-rate=(int)[ 8000, 16000 ]");
  fail_unless_equals_int(c.basic.size(), 4);
  const Constraint &w = c.basic[0];
  fail_unless(!w.bare && w.has_max && !w.has_min && !w.ideal.is_set());
  fail_unless_equals_float(w.max, 640);
  fail_unless(w.is_required(false));
  const Constraint &h = c.basic[1];
  fail_unless(h.has_min && h.ideal.is_set() && h.exact.is_set());
  fail_unless_equals_float(h.min, 120);
  fail_unless_equals_float(h.exact.number, 360);
  /* A GStreamer range is {min, max}; the settings' names are aliases. */
  const Constraint &r = c.basic[2];
  fail_unless(r.property == Property::FRAME_RATE && r.has_min && r.has_max);
  fail_unless_equals_float(r.min, 5);
  fail_unless_equals_float(r.max, 30);
  fail_unless(c.basic[3].property == Property::SAMPLE_RATE);
  fail_unless_equals_float(c.basic[3].max, 16000);
}
GST_END_TEST;

GST_START_TEST(test_structure_advanced)
{
  Constraints c =
      parse_ok("constraints, width=(int)640, "
               "advanced=(structure)< \"a, width=(int)320;\", "
               "\"b, height=(structure)\\\"r, min=(int)100;\\\", frameRate=(int)5;\" >");
  fail_unless_equals_int(c.basic.size(), 1);
  fail_unless_equals_int(c.advanced.size(), 2);
  fail_unless_equals_int(c.advanced[0].size(), 1);
  fail_unless(c.advanced[0][0].bare);
  fail_unless_equals_int(c.advanced[1].size(), 2);
  fail_unless(c.advanced[1][0].property == Property::HEIGHT && c.advanced[1][0].has_min);

  Error e = parse_fails("constraints, advanced=(int)3");
  fail_unless(e.kind == GST_WEB_ERROR_TYPE);
  fail_unless(e.message.find("advanced") != std::string::npos, "%s", e.message.c_str());
}
GST_END_TEST;

GST_START_TEST(test_structure_unknown_names_ignored)
{
  Constraints c = parse_ok("constraints, torch=(boolean)true, zoom=(structure)\"r, "
                           "exact=(int)4;\", width=(int)640, pan=(string)left");
  fail_unless_equals_int(c.basic.size(), 1);
  fail_unless(c.basic[0].property == Property::WIDTH);
  /* Nothing but unknown names: no constraint at all. */
  fail_unless(parse_ok("constraints, whiteBalanceMode=(string)manual").empty());
}
GST_END_TEST;

GST_START_TEST(test_structure_bad_input)
{
  struct {
    const gchar *text;
    const gchar *needle;
  } cases[] = {
      {"constraints, width=(string)big", "width"},
      {"constraints, width=(int)-5", "width"},
      {"constraints, width=(double)640.5", "width"},
      {"constraints, frameRate=(boolean)true", "frameRate"},
      {"constraints, facingMode=(int)1", "facingMode"},
      {"constraints, autoGainControl=(string)yes", "autoGainControl"},
      {"constraints, width=(structure)\"r, min=(int)800, max=(int)640;\"", "greater than max"},
      {"constraints, frameRate=(structure)\"r, exact=(string)fast;\"", "frameRate"},
      {"constraints, aspectRatio=(double)inf", "finite"},
  };
  for (auto &k : cases) {
    Error e = parse_fails(k.text);
    fail_unless(e.kind == GST_WEB_ERROR_TYPE, "%s: not a TypeError", k.text);
    fail_unless(e.message.find(k.needle) != std::string::npos, "%s: message '%s' lacks '%s'",
                k.text, e.message.c_str(), k.needle);
    GError *g = e.to_gerror();
    fail_unless(g->domain == GST_RESOURCE_ERROR && g->code == GST_RESOURCE_ERROR_SETTINGS);
    fail_unless(g_str_has_prefix(g->message, "TypeError: "), "%s", g->message);
    g_error_free(g);
  }
}
GST_END_TEST;

GST_START_TEST(test_structure_round_trip)
{
  Constraints c = json_ok("{\"width\":{\"min\":320,\"max\":1280,\"ideal\":640},"
                          "\"frameRate\":15,\"facingMode\":[\"user\",\"left\"],"
                          "\"resizeMode\":{\"exact\":\"crop-and-scale\"},"
                          "\"advanced\":[{\"width\":320},{\"aspectRatio\":{\"exact\":1.5}}]}");
  GstStructure *s = constraints_to_structure(c);
  fail_unless(gst_structure_has_name(s, "constraints"));
  Constraints back;
  Error error;
  fail_unless(parse_structure(s, &back, &error), "%s", error.message.c_str());
  fail_unless(back == c, "round trip differs: %" GST_PTR_FORMAT, s);
  /* Through text too (what gst-launch and Python users write). */
  gchar *text = gst_structure_to_string(s);
  Constraints again = parse_ok(text);
  fail_unless(again == c, "text round trip differs: %s", text);
  g_free(text);
  gst_structure_free(s);
}
GST_END_TEST;

/* ---- parsing: JSON -------------------------------------------------------- */

GST_START_TEST(test_json_valid)
{
  Constraints c = json_ok("{\"width\":{\"max\":640},\"frameRate\":15,"
                          "\"advanced\":[{\"width\":320}]}");
  Constraints s = parse_ok("constraints, width=(structure)\"range, max=(int)640;\", "
                           "frameRate=(double)15, advanced=(structure)<\"a, width=(int)320;\">");
  fail_unless(c == s, "JSON and structure forms differ");
  /* Members keep their order; null members are "not given"; unknown
   * names dropped; whole-number doubles are fine for unsigned longs. */
  Constraints o = json_ok("{\"zoom\":2,\"height\":{\"exact\":480.0,\"max\":null},"
                          "\"width\":640,\"deviceId\":null}");
  fail_unless_equals_int(o.basic.size(), 2);
  fail_unless(o.basic[0].property == Property::HEIGHT);
  fail_unless(!o.basic[0].has_max);
  fail_unless(o.basic[1].property == Property::WIDTH);
  /* The empty dictionary: no constraints. */
  fail_unless(json_ok("{}").empty());
  /* An empty sequence is "not specified". */
  fail_unless(json_ok("{\"facingMode\":[]}").empty());
}
GST_END_TEST;

GST_START_TEST(test_json_invalid)
{
  struct {
    const gchar *json;
    const gchar *needle;
  } cases[] = {
      {"{\"width\":", "JSON"},
      {"not json", "JSON"},
      {"[1,2]", "JSON object"},
      {"42", "JSON object"},
      {"{\"width\":\"640\"}", "width"},
      {"{\"width\":{\"min\":\"a\"}}", "width"},
      {"{\"width\":[640]}", "width"},
      {"{\"frameRate\":{\"min\":30,\"max\":15}}", "greater than max"},
      {"{\"advanced\":{\"width\":320}}", "advanced"},
      {"{\"advanced\":[320]}", "advanced"},
      {"{\"facingMode\":[\"user\",3]}", "facingMode"},
      {"{\"echoCancellation\":7}", "echoCancellation"},
  };
  for (auto &k : cases) {
    Error e = json_fails(k.json);
    fail_unless(e.kind == GST_WEB_ERROR_TYPE, "%s: not a TypeError", k.json);
    fail_unless(e.message.find(k.needle) != std::string::npos, "%s: message '%s' lacks '%s'",
                k.json, e.message.c_str(), k.needle);
  }
  Constraints c;
  Error e;
  fail_if(parse_json(nullptr, &c, &e));

  /* Either form through a GValue, as an action signal gets it. */
  GValue v = G_VALUE_INIT;
  g_value_init(&v, G_TYPE_STRING);
  g_value_set_string(&v, "{\"width\":{\"max\":640}}");
  fail_unless(parse_value(&v, &c, &e), "%s", e.message.c_str());
  fail_unless(c == json_ok("{\"width\":{\"max\":640}}"));
  g_value_unset(&v);
  g_value_init(&v, GST_TYPE_STRUCTURE);
  GstStructure *s = gst_structure_from_string("constraints, frameRate=(double)15", nullptr);
  gst_value_set_structure(&v, s);
  gst_structure_free(s);
  fail_unless(parse_value(&v, &c, &e), "%s", e.message.c_str());
  fail_unless(c == json_ok("{\"frameRate\":15}"));
  g_value_unset(&v);
  g_value_init(&v, G_TYPE_INT);
  fail_if(parse_value(&v, &c, &e));
  fail_unless(e.kind == GST_WEB_ERROR_TYPE);
  fail_unless(e.message.find("JSON") != std::string::npos);
  g_value_unset(&v);
  /* A refused input leaves the output as it was. */
  Constraints kept = json_ok("{\"width\":320}");
  fail_if(parse_json("{\"width\":true}", &kept, &e));
  fail_unless(kept == json_ok("{\"width\":320}"));
  /* echoCancellation takes a boolean or a string. */
  fail_unless_equals_int(json_ok("{\"echoCancellation\":\"all\"}").basic.size(), 1);
  fail_unless_equals_int(json_ok("{\"echoCancellation\":false}").basic.size(), 1);
}
GST_END_TEST;

/* ---- capabilities --------------------------------------------------------- */

GST_START_TEST(test_capabilities_video)
{
  /* A fixed upstream, no conversion: only the native settings. */
  Capabilities fixed;
  init_caps(&fixed, MediaKind::VIDEO, kHd, kHd, false);
  GstStructure *s = fixed.to_structure();
  fail_unless(gst_structure_has_name(s, "capabilities"));
  fail_unless_equals_int(get_int(s, "width"), 1280);
  fail_unless_equals_int(get_int(s, "height"), 720);
  fail_unless_equals_float(get_double(s, "frameRate"), 30);
  fail_unless(std::fabs(get_double(s, "aspectRatio") - 1280.0 / 720) < 1e-9);
  const GValue *modes = gst_structure_get_value(s, "resizeMode");
  fail_unless(modes && GST_VALUE_HOLDS_ARRAY(modes));
  fail_unless_equals_int(gst_value_array_get_size(modes), 1);
  fail_unless_equals_string(g_value_get_string(gst_value_array_get_value(modes, 0)), "none");
  gst_structure_free(s);

  /* With conversion: 1..native, 0..native rate, both resize modes. */
  Capabilities conv;
  init_caps(&conv, MediaKind::VIDEO, kHd, kHd, true);
  s = conv.to_structure();
  const GValue *w = gst_structure_get_value(s, "width");
  fail_unless(w && GST_VALUE_HOLDS_INT_RANGE(w));
  fail_unless_equals_int(gst_value_get_int_range_min(w), 1);
  fail_unless_equals_int(gst_value_get_int_range_max(w), 1280);
  const GValue *r = gst_structure_get_value(s, "frameRate");
  fail_unless(r && GST_VALUE_HOLDS_DOUBLE_RANGE(r));
  fail_unless_equals_float(gst_value_get_double_range_min(r), 0);
  fail_unless_equals_float(gst_value_get_double_range_max(r), 30);
  const GValue *a = gst_structure_get_value(s, "aspectRatio");
  fail_unless(a && GST_VALUE_HOLDS_DOUBLE_RANGE(a));
  fail_unless(std::fabs(gst_value_get_double_range_min(a) - 1.0 / 720) < 1e-9);
  fail_unless_equals_float(gst_value_get_double_range_max(a), 1280);
  modes = gst_structure_get_value(s, "resizeMode");
  fail_unless_equals_int(gst_value_array_get_size(modes), 2);
  fail_unless_equals_string(g_value_get_string(gst_value_array_get_value(modes, 1)),
                            "crop-and-scale");
  gst_structure_free(s);

  /* Upstream ranges (a CAPS answer) bound the capabilities; a
   * variable-rate source reports its max-framerate. */
  Capabilities canvas;
  init_caps(&canvas, MediaKind::VIDEO,
            "video/x-raw, format=BGRA, width=[1, 16384], height=[1, 16384], "
            "framerate=0/1, max-framerate=[0/1, 60/1]",
            "video/x-raw, format=BGRA, width=300, height=150, framerate=0/1, "
            "max-framerate=25/1",
            false);
  fail_unless(canvas.variable_rate);
  fail_unless_equals_float(canvas.frame_rate, 25);
  s = canvas.to_structure();
  w = gst_structure_get_value(s, "width");
  fail_unless_equals_int(gst_value_get_int_range_min(w), 1);
  fail_unless_equals_int(gst_value_get_int_range_max(w), 16384);
  r = gst_structure_get_value(s, "frameRate");
  fail_unless_equals_float(gst_value_get_double_range_min(r), 0);
  fail_unless_equals_float(gst_value_get_double_range_max(r), 60);
  gst_structure_free(s);

  /* Not raw video: NotSupportedError. */
  Capabilities bad;
  GstCaps *h264 = caps("video/x-h264, width=640, height=480");
  Error error;
  fail_if(bad.init(MediaKind::VIDEO, h264, h264, true, &error));
  fail_unless(error.kind == GST_WEB_ERROR_NOT_SUPPORTED);
  fail_unless(error.message.find("video/x-raw") != std::string::npos);
  GstCaps *audio = caps(kStereo);
  fail_if(bad.init(MediaKind::VIDEO, audio, audio, true, &error));
  gst_caps_unref(audio);
  gst_caps_unref(h264);
}
GST_END_TEST;

GST_START_TEST(test_capabilities_audio)
{
  Capabilities conv;
  init_caps(&conv, MediaKind::AUDIO, kStereo, kStereo, true);
  GstStructure *s = conv.to_structure();
  const GValue *rate = gst_structure_get_value(s, "sampleRate");
  fail_unless(rate && GST_VALUE_HOLDS_INT_RANGE(rate));
  fail_unless_equals_int(gst_value_get_int_range_min(rate), 1);
  const GValue *ch = gst_structure_get_value(s, "channelCount");
  fail_unless_equals_int(gst_value_get_int_range_min(ch), 1);
  fail_unless(gst_value_get_int_range_max(ch) >= 2);
  fail_unless_equals_int(get_int(s, "sampleSize"), 16);
  fail_if(gst_structure_has_field(s, "width"));
  gst_structure_free(s);

  /* No conversion, native fixated from what upstream offers. */
  Capabilities fixed;
  init_caps(&fixed, MediaKind::AUDIO,
            "audio/x-raw, format=F32LE, layout=interleaved, rate=[8000, 96000], channels=1",
            nullptr, false);
  s = fixed.to_structure();
  rate = gst_structure_get_value(s, "sampleRate");
  fail_unless_equals_int(gst_value_get_int_range_min(rate), 8000);
  fail_unless_equals_int(gst_value_get_int_range_max(rate), 96000);
  fail_unless_equals_int(get_int(s, "channelCount"), 1);
  fail_unless_equals_int(get_int(s, "sampleSize"), 32);
  gst_structure_free(s);
}
GST_END_TEST;

/* ---- the fitness distance ------------------------------------------------- */

GST_START_TEST(test_fitness_distance)
{
  GstStructure *hd = gst_structure_from_string(
      "settings, width=(int)1280, height=(int)720, frame-rate=(double)30, "
      "resize-mode=(string)none",
      nullptr);
  auto d = [&](const gchar *json, bool advanced = false) {
    Constraints c = json_ok(json);
    return fitness_distance(advanced ? c.advanced[0] : c.basic, MediaKind::VIDEO, hd, advanced);
  };
  fail_unless_equals_float(d("{}"), 0);
  fail_unless_equals_float(d("{\"width\":1280}"), 0);
  /* |1280 - 640| / max(1280, 640) */
  fail_unless_equals_float(d("{\"width\":640}"), 0.5);
  fail_unless_equals_float(d("{\"width\":{\"ideal\":2560}}"), 0.5);
  /* Summed over members. */
  fail_unless_equals_float(d("{\"width\":640,\"frameRate\":15}"), 1.0);
  /* Strings: 0 or 1. */
  fail_unless_equals_float(d("{\"resizeMode\":\"crop-and-scale\"}"), 1);
  fail_unless_equals_float(d("{\"resizeMode\":[\"crop-and-scale\",\"none\"]}"), 0);
  /* A setting the track does not have: ideal = 1, required = infinite. */
  fail_unless_equals_float(d("{\"facingMode\":\"user\"}"), 1);
  fail_unless(std::isinf(d("{\"facingMode\":{\"exact\":\"user\"}}")));
  /* Does not apply to video: no influence. */
  fail_unless_equals_float(d("{\"sampleRate\":16000}"), 0);
  /* Required: met or infinite, whatever the ideal. */
  fail_unless_equals_float(d("{\"width\":{\"min\":640,\"max\":1920}}"), 0);
  fail_unless(std::isinf(d("{\"width\":{\"max\":640}}")));
  fail_unless(std::isinf(d("{\"width\":{\"exact\":640}}")));
  fail_unless_equals_float(d("{\"width\":{\"min\":640,\"ideal\":640}}"), 0.5);
  fail_unless_equals_float(d("{\"aspectRatio\":{\"exact\":1.7777777778}}"), 0);
  /* In an advanced set a bare value is exact. */
  fail_unless(std::isinf(d("{\"advanced\":[{\"width\":640}]}", true)));
  fail_unless_equals_float(d("{\"advanced\":[{\"width\":1280}]}", true), 0);
  gst_structure_free(hd);
}
GST_END_TEST;

/* ---- SelectSettings -------------------------------------------------------- */

GST_START_TEST(test_select_ideal_picks_nearest)
{
  /* Upstream offers three sizes, no conversion: ideal 640 -> 800x600
   * (|800-640|/800 = 0.2 beats |320-640|/640 = 0.5 and 0.5 for 1280). */
  Capabilities list;
  init_caps(&list, MediaKind::VIDEO,
            "video/x-raw, format=I420, width=320, height=240, framerate=30/1; "
            "video/x-raw, format=I420, width=800, height=600, framerate=30/1; "
            "video/x-raw, format=I420, width=1280, height=960, framerate=30/1",
            "video/x-raw, format=I420, width=1280, height=960, framerate=30/1", false);
  Selection sel;
  select_ok(json_ok("{\"width\":640}"), list, &sel);
  assert_size(sel, 800, 600);
  fail_unless(sel.changes_upstream, "800x600 is asked from upstream");
  fail_if(sel.needs_conversion());
  fail_unless_equals_string(gst_structure_get_string(sel.settings, "resize-mode"), "none");

  /* With conversion, 640 exactly, keeping the native aspect ratio. */
  Capabilities conv;
  init_caps(&conv, MediaKind::VIDEO, kHd, kHd, true);
  Selection scaled;
  select_ok(json_ok("{\"width\":640}"), conv, &scaled);
  assert_size(scaled, 640, 360);
  fail_unless(scaled.needs_scale && !scaled.needs_crop && !scaled.needs_rate);
  fail_if(scaled.changes_upstream);
  fail_unless_equals_string(gst_structure_get_string(scaled.settings, "resize-mode"),
                            "crop-and-scale");
  fail_unless_equals_string(gst_structure_get_string(scaled.settings, "format"), "I420");
  fail_unless(std::fabs(get_double(scaled.settings, "aspect-ratio") - 640.0 / 360) < 1e-9);
  const GstStructure *out = gst_caps_get_structure(scaled.caps, 0);
  fail_unless_equals_string(gst_structure_get_string(out, "format"), "I420");
  gint n, d;
  fail_unless(gst_structure_get_fraction(out, "framerate", &n, &d) && n == 30 && d == 1);

  /* No constraints (or ideals already met): the native settings, no
   * conversion element. */
  Selection native;
  select_ok(Constraints(), conv, &native);
  assert_size(native, 1280, 720);
  fail_if(native.needs_conversion() || native.changes_upstream);
  fail_unless(gst_caps_is_equal(native.caps, conv.native));
  Selection same;
  select_ok(json_ok("{\"width\":1280,\"frameRate\":30}"), conv, &same);
  fail_if(same.needs_conversion());
}
GST_END_TEST;

GST_START_TEST(test_select_bare_values_are_ideals)
{
  /* A bare value that cannot be met is no error: the nearest wins. */
  Capabilities fixed;
  init_caps(&fixed, MediaKind::VIDEO, kHd, kHd, false);
  Selection sel;
  select_ok(json_ok("{\"width\":640,\"frameRate\":15}"), fixed, &sel);
  assert_size(sel, 1280, 720);
  fail_unless_equals_float(get_double(sel.settings, "frame-rate"), 30);
  fail_if(sel.needs_conversion());

  /* With conversion they are met: scaled and decimated. */
  Capabilities conv;
  init_caps(&conv, MediaKind::VIDEO, kHd, kHd, true);
  Selection c;
  select_ok(json_ok("{\"height\":360,\"frameRate\":15}"), conv, &c);
  assert_size(c, 640, 360);
  fail_unless_equals_float(get_double(c.settings, "frame-rate"), 15);
  fail_unless(c.needs_rate && c.needs_scale);
  gint n, d;
  fail_unless(gst_structure_get_fraction(gst_caps_get_structure(c.caps, 0), "framerate", &n, &d));
  fail_unless(n == 15 && d == 1);

  /* The same as exact values: refused. */
  Error e = select_fails(json_ok("{\"width\":{\"exact\":640}}"), fixed);
  fail_unless_equals_string(e.constraint.c_str(), "width");
}
GST_END_TEST;

GST_START_TEST(test_select_exact_refused_names_constraint)
{
  Capabilities conv;
  init_caps(&conv, MediaKind::VIDEO, kHd, kHd, true);
  /* Upscaling is not offered: 1920 wide cannot be met. */
  Error e = select_fails(json_ok("{\"width\":{\"exact\":1920}}"), conv);
  fail_unless(e.kind == GST_WEB_ERROR_OVERCONSTRAINED);
  fail_unless_equals_string(e.constraint.c_str(), "width");
  fail_unless(e.message.find("width") != std::string::npos, "%s", e.message.c_str());
  GError *g = e.to_gerror();
  fail_unless(g->domain == GST_CORE_ERROR && g->code == GST_CORE_ERROR_NEGOTIATION);
  fail_unless(g_str_has_prefix(g->message, "OverconstrainedError: "), "%s", g->message);
  g_error_free(g);

  /* The first member (in the order given) that leaves nothing is named. */
  e = select_fails(json_ok("{\"height\":{\"exact\":2000},\"width\":{\"exact\":3000}}"), conv);
  fail_unless_equals_string(e.constraint.c_str(), "height");
  e = select_fails(json_ok("{\"width\":{\"exact\":3000},\"height\":{\"exact\":2000}}"), conv);
  fail_unless_equals_string(e.constraint.c_str(), "width");
  /* Each alone possible, together not: the one that empties the set. */
  e = select_fails(json_ok("{\"width\":{\"exact\":640},\"height\":{\"exact\":360},"
                           "\"aspectRatio\":{\"exact\":1.0}}"),
                   conv);
  fail_unless_equals_string(e.constraint.c_str(), "aspectRatio");
  /* frameRate above the native rate: no upsampling. */
  e = select_fails(json_ok("{\"frameRate\":{\"exact\":60}}"), conv);
  fail_unless_equals_string(e.constraint.c_str(), "frameRate");

  /* Exact and met: applied. */
  Selection sel;
  select_ok(json_ok("{\"width\":{\"exact\":320},\"height\":{\"exact\":180}}"), conv, &sel);
  assert_size(sel, 320, 180);
}
GST_END_TEST;

GST_START_TEST(test_select_min_max)
{
  Capabilities conv;
  init_caps(&conv, MediaKind::VIDEO, kHd, kHd, true);
  /* max: the largest size under it (closest to native), aspect kept. */
  Selection a;
  select_ok(json_ok("{\"width\":{\"max\":640}}"), conv, &a);
  assert_size(a, 640, 360);
  /* min alone, met natively: nothing changes. */
  Selection b;
  select_ok(json_ok("{\"width\":{\"min\":320}}"), conv, &b);
  assert_size(b, 1280, 720);
  fail_if(b.needs_conversion());
  /* Range with an ideal outside it: the nearest end. */
  Selection c;
  select_ok(json_ok("{\"height\":{\"min\":240,\"max\":480,\"ideal\":1080}}"), conv, &c);
  assert_size(c, 853, 480);
  /* A range excluding everything deliverable. */
  Error e = select_fails(json_ok("{\"width\":{\"min\":1300,\"max\":2000}}"), conv);
  fail_unless_equals_string(e.constraint.c_str(), "width");
  /* Frame-rate ceiling: max 10 -> decimated to 10. */
  Selection r;
  select_ok(json_ok("{\"frameRate\":{\"max\":10}}"), conv, &r);
  fail_unless_equals_float(get_double(r.settings, "frame-rate"), 10);
  fail_unless(r.needs_rate && !r.needs_scale);
  /* Without conversion, a max below what upstream gives is refused. */
  Capabilities fixed;
  init_caps(&fixed, MediaKind::VIDEO, kHd, kHd, false);
  e = select_fails(json_ok("{\"frameRate\":{\"max\":10}}"), fixed);
  fail_unless_equals_string(e.constraint.c_str(), "frameRate");
  /* Upstream offering a rate range: taken from upstream, the rate
   * closest to the native one that meets the range. */
  Capabilities ranged;
  init_caps(&ranged, MediaKind::VIDEO,
            "video/x-raw, format=I420, width=1280, height=720, framerate=[1/1, 60/1]", kHd, false);
  Selection u;
  select_ok(json_ok("{\"frameRate\":{\"min\":50}}"), ranged, &u);
  fail_unless_equals_float(get_double(u.settings, "frame-rate"), 50);
  fail_unless(u.changes_upstream && !u.needs_conversion());
}
GST_END_TEST;

GST_START_TEST(test_select_variable_rate)
{
  /* A canvas: framerate 0/1, max-framerate 30: the ceiling moves. */
  Capabilities canvas;
  init_caps(&canvas, MediaKind::VIDEO,
            "video/x-raw, format=BGRA, width=640, height=480, framerate=0/1, max-framerate=30/1",
            nullptr, true);
  Selection sel;
  select_ok(json_ok("{\"frameRate\":{\"max\":12.5}}"), canvas, &sel);
  fail_unless_equals_float(get_double(sel.settings, "frame-rate"), 12.5);
  fail_unless(sel.needs_rate);
  const GstStructure *s = gst_caps_get_structure(sel.caps, 0);
  gint n, d;
  fail_unless(gst_structure_get_fraction(s, "framerate", &n, &d) && n == 0);
  fail_unless(gst_structure_get_fraction(s, "max-framerate", &n, &d) && n == 25 && d == 2);
}
GST_END_TEST;

GST_START_TEST(test_select_advanced)
{
  Capabilities conv;
  init_caps(&conv, MediaKind::VIDEO, kHd, kHd, true);
  /* The first set cannot be met (skipped), the second can (applied), the
   * third conflicts with the second (skipped). */
  Selection sel;
  select_ok(json_ok("{\"advanced\":[{\"width\":4000},{\"width\":320},{\"width\":640}]}"), conv,
            &sel);
  fail_unless_equals_int(sel.advanced_applied.size(), 3);
  fail_if(sel.advanced_applied[0]);
  fail_unless(sel.advanced_applied[1]);
  fail_if(sel.advanced_applied[2]);
  fail_unless_equals_int(get_int(sel.settings, "width"), 320);
  fail_unless_equals_int(get_int(sel.settings, "height"), 180);

  /* Advanced sets narrow the basic ideals' choice, in order. */
  Selection b;
  select_ok(json_ok("{\"width\":1280,\"advanced\":[{\"width\":{\"max\":800}},"
                    "{\"height\":{\"min\":400}}]}"),
            conv, &b);
  fail_unless(b.advanced_applied[0] && b.advanced_applied[1]);
  fail_unless_equals_int(get_int(b.settings, "width"), 800);
  fail_unless(get_int(b.settings, "height") >= 400);

  /* A set is met as a whole or skipped as a whole. */
  Selection c;
  select_ok(json_ok("{\"advanced\":[{\"width\":640,\"frameRate\":120},{\"frameRate\":20}]}"), conv,
            &c);
  fail_if(c.advanced_applied[0]);
  fail_unless(c.advanced_applied[1]);
  assert_size(c, 1280, 720);
  fail_unless_equals_float(get_double(c.settings, "frame-rate"), 20);

  /* A long list (a page may send any number): still the first set that can
   * be met; the number of values tried per property is bounded. */
  std::string many = "{\"advanced\":[{\"width\":4000}";
  for (int i = 0; i < 200; i++)
    many += ",{\"width\":" + std::to_string(100 + i) + ",\"height\":" + std::to_string(50 + i) +
            ",\"frameRate\":" + std::to_string(1 + i % 29) + "}";
  many += "]}";
  Selection m;
  select_ok(json_ok(many.c_str()), conv, &m);
  assert_size(m, 100, 50);
  fail_unless_equals_float(get_double(m.settings, "frame-rate"), 1);
  fail_unless_equals_int(m.advanced_applied.size(), 201);
  fail_if(m.advanced_applied[0]);
  fail_unless(m.advanced_applied[1]);
  fail_if(m.advanced_applied[2]);

  /* Advanced never causes an error, but the basic set's required ones do. */
  Error e = select_fails(
      json_ok("{\"width\":{\"max\":100000,\"min\":5000},\"advanced\":[{\"width\":320}]}"), conv);
  fail_unless_equals_string(e.constraint.c_str(), "width");
}
GST_END_TEST;

GST_START_TEST(test_select_no_such_setting)
{
  Capabilities video;
  init_caps(&video, MediaKind::VIDEO, kHd, kHd, true);
  Capabilities audio;
  init_caps(&audio, MediaKind::AUDIO, kStereo, kStereo, true);
  /* A required constraint on a property the track has no setting for. */
  Error e = select_fails(json_ok("{\"facingMode\":{\"exact\":\"user\"}}"), video);
  fail_unless(e.kind == GST_WEB_ERROR_OVERCONSTRAINED);
  fail_unless_equals_string(e.constraint.c_str(), "facingMode");
  e = select_fails(json_ok("{\"deviceId\":{\"exact\":\"abc\"}}"), video);
  fail_unless_equals_string(e.constraint.c_str(), "deviceId");
  e = select_fails(json_ok("{\"deviceId\":{\"exact\":\"abc\"}}"), audio);
  fail_unless_equals_string(e.constraint.c_str(), "deviceId");
  e = select_fails(json_ok("{\"echoCancellation\":{\"exact\":true}}"), audio);
  fail_unless_equals_string(e.constraint.c_str(), "echoCancellation");
  e = select_fails(json_ok("{\"width\":{\"exact\":640}}"), audio);
  fail_unless_equals_string(e.constraint.c_str(), "width");
  /* As ideals they change nothing. */
  Selection sel;
  select_ok(json_ok("{\"facingMode\":\"user\",\"deviceId\":\"abc\",\"echoCancellation\":true}"),
            video, &sel);
  assert_size(sel, 1280, 720);
  fail_if(sel.needs_conversion());
  /* In an advanced set they are skipped, not refused. */
  Selection adv;
  select_ok(json_ok("{\"advanced\":[{\"facingMode\":\"user\"}]}"), video, &adv);
  fail_if(adv.advanced_applied[0]);
}
GST_END_TEST;

GST_START_TEST(test_select_audio)
{
  Capabilities conv;
  init_caps(&conv, MediaKind::AUDIO, kStereo, kStereo, true);
  /* "mono 16 kHz": resampled and remixed. */
  Selection sel;
  select_ok(json_ok("{\"sampleRate\":16000,\"channelCount\":{\"exact\":1}}"), conv, &sel);
  fail_unless_equals_int(get_int(sel.settings, "sample-rate"), 16000);
  fail_unless_equals_int(get_int(sel.settings, "channel-count"), 1);
  fail_unless_equals_int(get_int(sel.settings, "sample-size"), 16);
  fail_unless_equals_string(gst_structure_get_string(sel.settings, "format"), "S16LE");
  fail_unless(sel.needs_resample && sel.needs_remix);
  fail_if(sel.changes_upstream);
  const GstStructure *s = gst_caps_get_structure(sel.caps, 0);
  fail_unless_equals_int(get_int(s, "rate"), 16000);
  fail_unless_equals_int(get_int(s, "channels"), 1);
  fail_if(gst_structure_has_field(s, "channel-mask"));
  fail_unless_equals_string(gst_structure_get_string(s, "format"), "S16LE");
  /* Upmix to 6 channels: a channel mask for them. */
  Selection six;
  select_ok(json_ok("{\"channelCount\":{\"exact\":6}}"), conv, &six);
  fail_unless(six.needs_remix && !six.needs_resample);
  fail_unless(gst_structure_has_field(gst_caps_get_structure(six.caps, 0), "channel-mask"));
  /* Sample size follows the format: not converted. */
  Error e = select_fails(json_ok("{\"sampleSize\":{\"exact\":24}}"), conv);
  fail_unless_equals_string(e.constraint.c_str(), "sampleSize");
  Selection native;
  select_ok(json_ok("{\"sampleSize\":{\"exact\":16},\"sampleRate\":48000}"), conv, &native);
  fail_if(native.needs_conversion());

  /* No conversion: a fixed upstream refuses other rates... */
  Capabilities fixed;
  init_caps(&fixed, MediaKind::AUDIO, kStereo, kStereo, false);
  e = select_fails(json_ok("{\"sampleRate\":{\"exact\":16000}}"), fixed);
  fail_unless_equals_string(e.constraint.c_str(), "sampleRate");
  /* ...one that offers them delivers them itself. */
  Capabilities offer;
  init_caps(&offer, MediaKind::AUDIO,
            "audio/x-raw, format=S16LE, layout=interleaved, rate=[8000, 48000], channels=[1, 2]",
            kStereo, false);
  Selection up;
  select_ok(json_ok("{\"sampleRate\":{\"max\":16000},\"channelCount\":1}"), offer, &up);
  fail_unless_equals_int(get_int(up.settings, "sample-rate"), 16000);
  fail_unless_equals_int(get_int(up.settings, "channel-count"), 1);
  fail_unless(up.changes_upstream && !up.needs_conversion());
}
GST_END_TEST;

GST_START_TEST(test_select_resize_mode)
{
  /* resizeMode none: only what upstream delivers. */
  Capabilities conv;
  init_caps(&conv, MediaKind::VIDEO, kVga, kVga, true);
  Error e = select_fails(json_ok("{\"resizeMode\":{\"exact\":\"none\"},"
                                 "\"width\":{\"exact\":320}}"),
                         conv);
  fail_unless(e.kind == GST_WEB_ERROR_OVERCONSTRAINED);
  fail_unless_equals_string(e.constraint.c_str(), "width");
  e = select_fails(json_ok("{\"width\":{\"exact\":320},"
                           "\"resizeMode\":{\"exact\":\"none\"}}"),
                   conv);
  fail_unless_equals_string(e.constraint.c_str(), "resizeMode");
  e = select_fails(json_ok("{\"resizeMode\":{\"exact\":\"stretch\"}}"), conv);
  fail_unless_equals_string(e.constraint.c_str(), "resizeMode");
  /* Without conversion there is no crop-and-scale. */
  Capabilities fixed;
  init_caps(&fixed, MediaKind::VIDEO, kVga, kVga, false);
  e = select_fails(json_ok("{\"resizeMode\":{\"exact\":\"crop-and-scale\"}}"), fixed);
  fail_unless_equals_string(e.constraint.c_str(), "resizeMode");

  /* resizeMode none and a size upstream offers (a range): taken from
   * upstream, no scaler. */
  Capabilities ranged;
  init_caps(&ranged, MediaKind::VIDEO,
            "video/x-raw, format=I420, width=[16, 4096], height=[16, 4096], framerate=30/1", kVga,
            true);
  Selection up;
  select_ok(json_ok("{\"resizeMode\":\"none\",\"width\":{\"exact\":320},"
                    "\"height\":{\"exact\":240}}"),
            ranged, &up);
  assert_size(up, 320, 240);
  fail_unless(up.changes_upstream && !up.needs_scale);

  /* crop-and-scale to another aspect ratio: cropped (centred), not
   * stretched. 640x480 -> 640x360: 60 rows off the top and bottom. */
  Selection crop;
  select_ok(json_ok("{\"width\":{\"exact\":640},\"height\":{\"exact\":360}}"), conv, &crop);
  assert_size(crop, 640, 360);
  fail_unless_equals_string(gst_structure_get_string(crop.settings, "resize-mode"),
                            "crop-and-scale");
  fail_unless(crop.needs_crop);
  fail_if(crop.needs_scale);
  fail_unless_equals_int(crop.crop_top, 60);
  fail_unless_equals_int(crop.crop_bottom, 60);
  fail_unless_equals_int(crop.crop_left, 0);
  fail_unless_equals_int(crop.crop_right, 0);
  /* A ratio whole pixels cannot make exactly: the nearest size. 300x150
   * (a canvas) -> 16:9 keeps the height: 267x150, cropped 33 columns. */
  Capabilities canvas;
  init_caps(&canvas, MediaKind::VIDEO,
            "video/x-raw, format=BGRA, width=300, height=150, framerate=0/1, max-framerate=30/1",
            nullptr, true);
  Selection wide;
  select_ok(json_ok("{\"aspectRatio\":{\"exact\":1.7777777778}}"), canvas, &wide);
  assert_size(wide, 267, 150);
  fail_unless(wide.needs_crop && !wide.needs_scale);
  fail_unless_equals_int(wide.crop_left + wide.crop_right, 33);
  /* Wider: rows cropped, the full width kept. */
  Selection wider;
  select_ok(json_ok("{\"aspectRatio\":{\"min\":2.1}}"), canvas, &wider);
  assert_size(wider, 300, 143);
  fail_unless(wider.needs_crop && !wider.needs_scale);
  /* Wider than 300x1: impossible. */
  e = select_fails(json_ok("{\"aspectRatio\":{\"min\":400}}"), canvas);
  fail_unless_equals_string(e.constraint.c_str(), "aspectRatio");
  Selection tall;
  select_ok(json_ok("{\"aspectRatio\":{\"max\":1.5}}"), canvas, &tall);
  fail_unless(get_int(tall.settings, "width") <= 1.5 * get_int(tall.settings, "height") + 0.5);
  /* 640x480 -> 160x160: a centred 480x480 square, then scaled. */
  Selection square;
  select_ok(json_ok("{\"width\":{\"exact\":160},\"aspectRatio\":{\"exact\":1}}"), conv, &square);
  assert_size(square, 160, 160);
  fail_unless(square.needs_crop && square.needs_scale);
  fail_unless_equals_int(square.crop_left, 80);
  fail_unless_equals_int(square.crop_right, 80);
  fail_unless_equals_int(square.crop_top + square.crop_bottom, 0);
}
GST_END_TEST;

/* A camera-like CAPS answer: one structure per format and size, each with
 * a list of rates. */
static gchar *camera_caps()
{
  const gint sizes[][2] = {{160, 120},  {320, 180},  {320, 240},  {424, 240},
                           {640, 360},  {640, 480},  {848, 480},  {960, 540},
                           {1024, 576}, {1280, 720}, {1600, 896}, {1920, 1080}};
  GString *text = g_string_new(nullptr);
  for (const gchar *format : {"YUY2", "NV12", "I420"})
    for (auto &size : sizes)
      g_string_append_printf(text,
                             "video/x-raw, format=%s, width=%d, height=%d, "
                             "framerate={ (fraction)30/1, (fraction)15/1, (fraction)5/1 }; ",
                             format, size[0], size[1]);
  return g_string_free(text, FALSE);
}

GST_START_TEST(test_select_camera_modes)
{
  gchar *upstream = camera_caps();
  const gchar *native = "video/x-raw, format=YUY2, width=640, height=480, framerate=30/1";
  Capabilities fixed;
  init_caps(&fixed, MediaKind::VIDEO, upstream, native, false);
  Selection sel;
  gint64 start = g_get_monotonic_time();
  select_ok(json_ok("{\"width\":1280,\"height\":720,\"frameRate\":24}"), fixed, &sel);
  gint64 elapsed = g_get_monotonic_time() - start;
  GST_INFO("36 camera modes: selected in %" G_GINT64_FORMAT " us", elapsed);
  assert_size(sel, 1280, 720);
  /* |30 - 24| / 30 = 0.2 beats |15 - 24| / 24 = 0.375 */
  fail_unless_equals_float(get_double(sel.settings, "frame-rate"), 30);
  fail_unless(sel.changes_upstream && !sel.needs_conversion());
  fail_unless_equals_string(gst_structure_get_string(gst_caps_get_structure(sel.caps, 0), "format"),
                            "YUY2");

  /* With conversion: the mode asked for from upstream, decimated to 24. */
  Capabilities conv;
  init_caps(&conv, MediaKind::VIDEO, upstream, native, true);
  Selection c;
  select_ok(json_ok("{\"width\":1280,\"height\":720,\"frameRate\":24}"), conv, &c);
  assert_size(c, 1280, 720);
  fail_unless_equals_float(get_double(c.settings, "frame-rate"), 24);
  fail_unless(c.changes_upstream && c.needs_rate && !c.needs_scale);
  /* A size no mode has, below native: scaled from the native mode. */
  Selection d;
  select_ok(json_ok("{\"width\":{\"exact\":600}}"), conv, &d);
  assert_size(d, 600, 450);
  fail_unless(d.needs_scale && !d.changes_upstream);
  g_free(upstream);
}
GST_END_TEST;

/* ---- error language and promise replies --------------------------------- */

GST_START_TEST(test_replies_and_messages)
{
  Capabilities conv;
  init_caps(&conv, MediaKind::VIDEO, kHd, kHd, true);
  Selection sel;
  select_ok(json_ok("{\"width\":640}"), conv, &sel);
  GstStructure *ok = reply_success(sel.settings);
  fail_unless(gst_structure_has_name(ok, "apply-constraints"));
  const GstStructure *settings = nullptr;
  fail_unless(gst_structure_get(ok, "settings", GST_TYPE_STRUCTURE, &settings, NULL));
  fail_unless(gst_structure_is_equal(settings, sel.settings));
  fail_if(gst_structure_has_field(ok, "error"));
  gst_structure_free((GstStructure *)settings);
  gst_structure_free(ok);

  Error e = select_fails(json_ok("{\"facingMode\":{\"exact\":\"environment\"}}"), conv);
  GstStructure *bad = reply_error(e);
  fail_unless_equals_string(gst_structure_get_string(bad, "dom-exception"), "OverconstrainedError");
  fail_unless_equals_string(gst_structure_get_string(bad, "constraint"), "facingMode");
  fail_unless(strstr(gst_structure_get_string(bad, "message"), "facingMode") != nullptr);
  GError *g = nullptr;
  fail_unless(gst_structure_get(bad, "error", G_TYPE_ERROR, &g, NULL));
  fail_unless(g->domain == GST_CORE_ERROR && g->code == GST_CORE_ERROR_NEGOTIATION);
  g_error_free(g);
  gst_structure_free(bad);

  /* Posted on the bus in the one error language. */
  GstElement *pipeline = gst_pipeline_new(nullptr);
  GstBus *bus = gst_element_get_bus(pipeline);
  e.post(pipeline, GST_MESSAGE_ERROR);
  GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  fail_unless(msg != nullptr);
  GError *err = nullptr;
  gst_message_parse_error(msg, &err, nullptr);
  fail_unless(err->domain == GST_CORE_ERROR && err->code == GST_CORE_ERROR_NEGOTIATION);
  fail_unless(g_str_has_prefix(err->message, "OverconstrainedError: "), "%s", err->message);
  const GstStructure *details = nullptr;
  gst_message_parse_error_details(msg, &details);
  fail_unless(details != nullptr);
  fail_unless_equals_string(gst_structure_get_string(details, "dom-exception"),
                            "OverconstrainedError");
  fail_unless_equals_string(gst_structure_get_string(details, "constraint"), "facingMode");
  g_error_free(err);
  gst_message_unref(msg);

  /* TypeError: no constraint field in the details. */
  Error t = json_fails("{\"width\":true}");
  t.post(pipeline, GST_MESSAGE_WARNING);
  msg = gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING);
  fail_unless(msg != nullptr);
  gst_message_parse_warning_details(msg, &details);
  fail_unless_equals_string(gst_structure_get_string(details, "dom-exception"), "TypeError");
  fail_if(gst_structure_has_field(details, "constraint"));
  gst_message_unref(msg);
  gst_object_unref(bus);
  gst_object_unref(pipeline);
}
GST_END_TEST;

static Suite *mediatrackconstraints_suite(void)
{
  Suite *s = suite_create("mediatrackconstraints");

  TCase *tc = tcase_create("parse_structure");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_structure_bare_values_are_ideals);
  tcase_add_test(tc, test_structure_ranges);
  tcase_add_test(tc, test_structure_advanced);
  tcase_add_test(tc, test_structure_unknown_names_ignored);
  tcase_add_test(tc, test_structure_bad_input);
  tcase_add_test(tc, test_structure_round_trip);

  tc = tcase_create("parse_json");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_json_valid);
  tcase_add_test(tc, test_json_invalid);

  tc = tcase_create("capabilities");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_capabilities_video);
  tcase_add_test(tc, test_capabilities_audio);

  tc = tcase_create("fitness_distance");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_fitness_distance);
  tcase_add_test(tc, test_select_ideal_picks_nearest);
  tcase_add_test(tc, test_select_bare_values_are_ideals);
  tcase_add_test(tc, test_select_camera_modes);

  tc = tcase_create("required");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_select_exact_refused_names_constraint);
  tcase_add_test(tc, test_select_min_max);
  tcase_add_test(tc, test_select_variable_rate);
  tcase_add_test(tc, test_select_no_such_setting);

  tc = tcase_create("advanced");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_select_advanced);

  tc = tcase_create("audio");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_select_audio);

  tc = tcase_create("resize_mode");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_select_resize_mode);

  tc = tcase_create("errors");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_replies_and_messages);
  return s;
}

GST_CHECK_MAIN(mediatrackconstraints);
