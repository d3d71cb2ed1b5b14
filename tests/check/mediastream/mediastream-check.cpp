/* Shared test support of the mediastreambin suites (see mediastream-check.h).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "mediastream-check.h"

#include <cstring>

GstElement *ms_make_bin()
{
  GstElement *ms = gst_element_factory_make("mediastreambin", nullptr);
  fail_unless(ms != nullptr, "mediastreambin not found");
  return ms;
}

GstPad *ms_track_pad(GstElement *ms, const char *name)
{
  GstPad *pad = gst_element_get_static_pad(ms, name);
  fail_unless(pad != nullptr, "no pad %s", name);
  return pad;
}

GstHarness *ms_track_harness(GstElement *ms, const char *kind, guint index, const char *caps)
{
  g_autofree gchar *sink = g_strdup_printf("%s_sink_%u", kind, index);
  g_autofree gchar *src = g_strdup_printf("%s_%u", kind, index);
  GstHarness *h = gst_harness_new_with_element(ms, sink, src);
  gst_harness_set_src_caps_str(h, caps);
  return h;
}

int ms_count_track_messages(GstBus *bus, const char *event)
{
  int n = 0;
  while (GstMessage *msg = gst_bus_pop(bus)) {
    const GstStructure *s = gst_message_get_structure(msg);
    if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ELEMENT && s &&
        gst_structure_has_name(s, "mediastream-track") &&
        g_strcmp0(gst_structure_get_string(s, "event"), event) == 0)
      n++;
    gst_message_unref(msg);
  }
  return n;
}

bool ms_is_uuid_v4(const char *s)
{
  if (!s || strlen(s) != 36)
    return false;
  for (int i = 0; i < 36; i++) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-')
        return false;
    } else if (!g_ascii_isxdigit(s[i]) || g_ascii_isupper(s[i])) {
      return false;
    }
  }
  return s[14] == '4' && strchr("89ab", s[19]) != nullptr;
}

MsBinFixture::MsBinFixture(bool with_bus) : ms(GST_ELEMENT(gst_object_ref_sink(ms_make_bin())))
{
  if (with_bus) {
    bus = gst_bus_new();
    gst_element_set_bus(ms, bus);
  }
}

MsBinFixture::~MsBinFixture()
{
  for (auto it = pads_.rbegin(); it != pads_.rend(); ++it)
    gst_object_unref(*it);
  for (auto it = harnesses_.rbegin(); it != harnesses_.rend(); ++it)
    gst_harness_teardown(*it);
  if (bus) {
    gst_element_set_bus(ms, nullptr);
    gst_object_unref(bus);
  }
  gst_object_unref(ms);
}

GstHarness *MsBinFixture::harness(const char *kind, guint index, const char *caps)
{
  harnesses_.push_back(ms_track_harness(ms, kind, index, caps));
  return harnesses_.back();
}

GstHarness *MsBinFixture::output(const char *src)
{
  harnesses_.push_back(gst_harness_new_with_element(ms, nullptr, src));
  return harnesses_.back();
}

GstPad *MsBinFixture::pad(const char *name)
{
  return own(ms_track_pad(ms, name));
}

GstPad *MsBinFixture::own(GstPad *pad)
{
  if (pad)
    pads_.push_back(pad);
  return pad;
}

MsPipelineFixture::MsPipelineFixture(const char *description)
{
  pipeline = gst_parse_launch(description, nullptr);
  fail_unless(pipeline != nullptr, "no pipeline of %s", description);
  ms = gst_bin_get_by_name(GST_BIN(pipeline), "ms");
  fail_unless(ms != nullptr, "no mediastreambin named ms in %s", description);
}

MsPipelineFixture::~MsPipelineFixture()
{
  for (auto it = pads_.rbegin(); it != pads_.rend(); ++it)
    gst_object_unref(*it);
  gst_object_unref(ms);
  gst_object_unref(pipeline);
}

GstPad *MsPipelineFixture::pad(const char *name)
{
  pads_.push_back(ms_track_pad(ms, name));
  return pads_.back();
}
