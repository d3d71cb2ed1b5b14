#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstwebcaptureerror.h"

const gchar *gst_web_error_name(GstWebError error)
{
  switch (error) {
  case GST_WEB_ERROR_SECURITY:
    return "SecurityError";
  case GST_WEB_ERROR_NOT_SUPPORTED:
    return "NotSupportedError";
  case GST_WEB_ERROR_TYPE:
    return "TypeError";
  case GST_WEB_ERROR_OVERCONSTRAINED:
    return "OverconstrainedError";
  }
  return "Error";
}

static void post_web_message(GstElement *element, GstMessageType type, GstWebError error,
                             const gchar *constraint, const gchar *text, const gchar *debug,
                             const gchar *file, const gchar *function, gint line)
{
  GQuark domain = GST_RESOURCE_ERROR;
  gint code = GST_RESOURCE_ERROR_SETTINGS;

  switch (error) {
  case GST_WEB_ERROR_SECURITY:
    code = GST_RESOURCE_ERROR_NOT_AUTHORIZED;
    break;
  case GST_WEB_ERROR_NOT_SUPPORTED:
  case GST_WEB_ERROR_TYPE:
    code = GST_RESOURCE_ERROR_SETTINGS;
    break;
  case GST_WEB_ERROR_OVERCONSTRAINED:
    domain = GST_CORE_ERROR;
    code = GST_CORE_ERROR_NEGOTIATION;
    break;
  }

  const gchar *name = gst_web_error_name(error);
  GstStructure *details = gst_structure_new("details", "dom-exception", G_TYPE_STRING, name,
                                            NULL);
  if (error == GST_WEB_ERROR_OVERCONSTRAINED && constraint)
    gst_structure_set(details, "constraint", G_TYPE_STRING, constraint, NULL);

  /* The web error's name is an identifier, not translated. */
  gchar *message = g_strdup_printf("%s: %s", name, text);
  gst_element_message_full_with_details(element, type, domain, code, message, g_strdup(debug),
                                        file, function, line, details);
}

void gst_web_error_post(GstElement *element, GstWebError error, const gchar *constraint,
                        const gchar *text, const gchar *debug, const gchar *file,
                        const gchar *function, gint line)
{
  post_web_message(element, GST_MESSAGE_ERROR, error, constraint, text, debug, file, function,
                   line);
}

void gst_web_message_postf(GstElement *element, GstMessageType type, GstWebError error,
                           const gchar *constraint, const gchar *debug, const gchar *file,
                           const gchar *function, gint line, const gchar *format, ...)
{
  g_return_if_fail(type == GST_MESSAGE_ERROR || type == GST_MESSAGE_WARNING);

  va_list args;
  va_start(args, format);
  g_autofree gchar *text = g_strdup_vprintf(format, args);
  va_end(args);
  post_web_message(element, type, error, constraint, text, debug, file, function, line);
}
