/* Web (DOMException) errors mapped onto GStreamer errors, in one language for
 * every element of the set (design.md): the message names the web error, the
 * details structure carries dom-exception=<name> (and constraint= for
 * OverconstrainedError). */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

typedef enum {
  GST_WEB_ERROR_SECURITY,       /* SecurityError -> RESOURCE NOT_AUTHORIZED */
  GST_WEB_ERROR_NOT_SUPPORTED,  /* NotSupportedError -> RESOURCE SETTINGS */
  GST_WEB_ERROR_TYPE,           /* TypeError -> RESOURCE SETTINGS */
  GST_WEB_ERROR_OVERCONSTRAINED /* OverconstrainedError -> CORE NEGOTIATION */
} GstWebError;

/* The DOMException name, e.g. "SecurityError". */
const gchar *gst_web_error_name(GstWebError error);

/* Posts an ERROR message on @element's bus. @text is already translated and
 * must not repeat the web error's name: the message reads "<Name>: <text>".
 * @constraint is only used for OverconstrainedError (may be NULL). */
void gst_web_error_post(GstElement *element, GstWebError error, const gchar *constraint,
                        const gchar *text, const gchar *debug, const gchar *file,
                        const gchar *function, gint line);

#define GST_WEB_ERROR(el, err, constraint, text, debug)                                         \
  gst_web_error_post(GST_ELEMENT_CAST(el), (err), (constraint), (text), (debug), __FILE__,     \
                     GST_FUNCTION, __LINE__)

G_END_DECLS
