/* State changes of every element of the project's plugins, in all orders.
 *
 * The elements are found in the registry: every element factory of a plugin
 * whose file lies inside GST_WEBCAPTURE_BUILD_ROOT, so elements added later are
 * covered without touching this file. */

#include <string>
#include <vector>

#include "webcapture-check.h"

namespace
{

std::vector<std::string> project_elements()
{
  std::vector<std::string> names;
  const gchar *root_env = g_getenv("GST_WEBCAPTURE_BUILD_ROOT");
  fail_unless(root_env != nullptr, "GST_WEBCAPTURE_BUILD_ROOT is not set (run through meson test)");
  g_autofree gchar *root = g_canonicalize_filename(root_env, nullptr);
  std::string prefix = std::string(root) + G_DIR_SEPARATOR_S;

  GList *plugins = gst_registry_get_plugin_list(gst_registry_get());
  for (GList *p = plugins; p; p = p->next) {
    GstPlugin *plugin = GST_PLUGIN(p->data);
    const gchar *file = gst_plugin_get_filename(plugin);
    if (!file)
      continue;
    g_autofree gchar *canon = g_canonicalize_filename(file, nullptr);
    if (!g_str_has_prefix(canon, prefix.c_str()))
      continue;
    GList *features =
        gst_registry_get_feature_list_by_plugin(gst_registry_get(), gst_plugin_get_name(plugin));
    for (GList *f = features; f; f = f->next) {
      if (GST_IS_ELEMENT_FACTORY(f->data))
        names.emplace_back(gst_plugin_feature_get_name(GST_PLUGIN_FEATURE(f->data)));
    }
    gst_plugin_feature_list_free(features);
  }
  gst_plugin_list_free(plugins);
  return names;
}

bool has_always_src_pad(GstElement *el)
{
  bool found = false;
  GstIterator *it = gst_element_iterate_src_pads(el);
  GValue v = G_VALUE_INIT;
  while (gst_iterator_next(it, &v) == GST_ITERATOR_OK) {
    found = true;
    g_value_reset(&v);
  }
  g_value_unset(&v);
  gst_iterator_free(it);
  return found;
}

void fail_on_error_messages(GstBus *bus, const char *name)
{
  while (GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR)) {
    std::string text = wc_error_text(msg);
    gst_message_unref(msg);
    fail("%s: ERROR during state changes: %s", name, text.c_str());
  }
  /* Drop the rest so the bus does not grow. */
  while (GstMessage *msg = gst_bus_pop(bus))
    gst_message_unref(msg);
}

void set_and_wait(GstElement *pipeline, GstState state, const char *name)
{
  GST_INFO("%s: to %s", name, gst_element_state_get_name(state));
  /* Live sources answer NO_PREROLL for PAUSED; sinks may complete async. */
  wc_set_state_sync(pipeline, state, 5);
}

} // namespace

GST_START_TEST(test_state_changes_all_orders)
{
  const std::vector<std::string> names = project_elements();
  fail_if(names.empty(), "no element of the project found in the registry "
                         "(GST_PLUGIN_PATH / GST_WEBCAPTURE_BUILD_ROOT wrong?)");
  const GstState states[] = {GST_STATE_NULL, GST_STATE_READY, GST_STATE_PAUSED, GST_STATE_PLAYING};

  for (const std::string &name : names) {
    GST_INFO("cycling states of %s", name.c_str());
    GstElement *pipeline = gst_pipeline_new(nullptr);
    GstElement *el = gst_element_factory_make(name.c_str(), nullptr);
    fail_unless(el != nullptr, "cannot create %s", name.c_str());
    gst_bin_add(GST_BIN(pipeline), el);
    /* Elements with a src pad feed a fakesink; request-pad-only elements are
     * cycled on their own. */
    if (has_always_src_pad(el)) {
      GstElement *sink = gst_element_factory_make("fakesink", nullptr);
      g_object_set(sink, "async", FALSE, nullptr);
      gst_bin_add(GST_BIN(pipeline), sink);
      fail_unless(gst_element_link(el, sink), "cannot link %s to fakesink", name.c_str());
    }
    GstBus *bus = gst_element_get_bus(pipeline);

    for (int round = 0; round < 3; round++) {
      for (GstState from : states) {
        for (GstState to : states) {
          set_and_wait(pipeline, from, name.c_str());
          set_and_wait(pipeline, to, name.c_str());
          fail_on_error_messages(bus, name.c_str());
        }
      }
    }
    set_and_wait(pipeline, GST_STATE_NULL, name.c_str());
    fail_on_error_messages(bus, name.c_str());
    gst_object_unref(bus);
    gst_object_unref(pipeline);
  }
}
GST_END_TEST;

GST_START_TEST(test_state_changes_element_alone)
{
  /* Without a pipeline: the element itself goes up and down. */
  const std::vector<std::string> names = project_elements();
  fail_if(names.empty());
  for (const std::string &name : names) {
    GstElement *el = gst_element_factory_make(name.c_str(), nullptr);
    fail_unless(el != nullptr);
    for (int round = 0; round < 3; round++) {
      for (GstState s : {GST_STATE_READY, GST_STATE_PAUSED, GST_STATE_PLAYING, GST_STATE_PAUSED,
                         GST_STATE_READY, GST_STATE_PLAYING, GST_STATE_NULL}) {
        GstStateChangeReturn ret = gst_element_set_state(el, s);
        fail_unless(ret != GST_STATE_CHANGE_FAILURE, "%s: set_state(%s) failed", name.c_str(),
                    gst_element_state_get_name(s));
      }
    }
    fail_unless_equals_int(gst_element_set_state(el, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
    gst_object_unref(el);
  }
}
GST_END_TEST;

static Suite *states_suite(void)
{
  Suite *s = suite_create("states");
  TCase *tc = tcase_create("state-changes");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_state_changes_all_orders);
  tcase_add_test(tc, test_state_changes_element_alone);
  return s;
}

GST_CHECK_MAIN(states);
