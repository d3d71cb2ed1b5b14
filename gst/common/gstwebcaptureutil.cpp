#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstwebcaptureutil.h"

#include "gstwebcaptureerror.h"
#include "gstwebcapturei18n.h"

GST_DEBUG_CATEGORY_STATIC(webcapture_util_debug);
#define GST_CAT_DEFAULT webcapture_util_debug

static void ensure_debug_category(void)
{
  static gsize once = 0;
  if (g_once_init_enter(&once)) {
    GST_DEBUG_CATEGORY_INIT(webcapture_util_debug, "webcaptureutil", 0,
                            "gst-webcapture shared helpers");
    g_once_init_leave(&once, 1);
  }
}

GstClockTime gst_webcapture_running_time_now(GstElement *element)
{
  g_return_val_if_fail(GST_IS_ELEMENT(element), GST_CLOCK_TIME_NONE);

  GstClock *clock = gst_element_get_clock(element);
  if (!clock)
    return GST_CLOCK_TIME_NONE;
  GstClockTime now = gst_clock_get_time(clock);
  gst_object_unref(clock);
  GstClockTime base = gst_element_get_base_time(element);
  if (!GST_CLOCK_TIME_IS_VALID(now) || !GST_CLOCK_TIME_IS_VALID(base))
    return GST_CLOCK_TIME_NONE;
  return now > base ? now - base : 0;
}

gboolean gst_webcapture_property_settable(GstElement *element, const gchar *property)
{
  g_return_val_if_fail(GST_IS_ELEMENT(element), FALSE);

  GST_OBJECT_LOCK(element);
  bool running = GST_STATE(element) > GST_STATE_READY ||
                 GST_STATE_PENDING(element) > GST_STATE_READY ||
                 (GST_STATE_NEXT(element) != GST_STATE_VOID_PENDING &&
                  GST_STATE_NEXT(element) > GST_STATE_READY);
  GST_OBJECT_UNLOCK(element);
  if (!running)
    return TRUE;

  ensure_debug_category();
  GST_WARNING_OBJECT(element, "%s can only be changed in the NULL or READY state; unchanged",
                     property);
  GST_WEB_WARNING_F(element, GST_WEB_ERROR_NOT_SUPPORTED, nullptr, nullptr,
                    _("\"%s\" can only be changed in the NULL or READY state; the value is "
                      "unchanged."),
                    property);
  return FALSE;
}

GstBuffer *gst_webcapture_silence_buffer_new(const GstAudioInfo *info, guint frames)
{
  g_return_val_if_fail(info != nullptr, nullptr);
  if (!info->finfo || GST_AUDIO_INFO_BPF(info) <= 0)
    return nullptr;

  gsize size = (gsize)frames * (gsize)GST_AUDIO_INFO_BPF(info);
  GstBuffer *buffer = gst_buffer_new_allocate(nullptr, size, nullptr);
  if (!buffer || size == 0) /* no frames: an empty buffer, nothing to fill */
    return buffer;
  GstMapInfo map;
  if (!gst_buffer_map(buffer, &map, GST_MAP_WRITE)) {
    gst_buffer_unref(buffer);
    return nullptr;
  }
  gst_audio_format_info_fill_silence(info->finfo, map.data, map.size);
  gst_buffer_unmap(buffer, &map);
  return buffer;
}
