/* Web (DOMException) errors mapped onto GStreamer errors, in one language for
 * every element of the set (docs/decisions.md "One error language"): the
 * message names the web error, the details structure carries
 * dom-exception=<name> (and constraint= for OverconstrainedError). */
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

/* Posts an ERROR (@type GST_MESSAGE_ERROR) or a WARNING (GST_MESSAGE_WARNING)
 * in the same language as gst_web_error_post(), with the text formatted from
 * @format (a translated format string: wrap the literal in the gettext macro).
 * @debug may be NULL. */
void gst_web_message_postf(GstElement *element, GstMessageType type, GstWebError error,
                           const gchar *constraint, const gchar *debug, const gchar *file,
                           const gchar *function, gint line, const gchar *format, ...)
    G_GNUC_PRINTF(9, 10);

/* printf-style, e.g. GST_WEB_ERROR_F(self, GST_WEB_ERROR_TYPE, NULL, NULL, fmt, rate)
 * with fmt the translated "frame-rate must be a finite number (%g)." */
#define GST_WEB_ERROR_F(el, err, constraint, debug, ...)                                        \
  gst_web_message_postf(GST_ELEMENT_CAST(el), GST_MESSAGE_ERROR, (err), (constraint), (debug), \
                        __FILE__, GST_FUNCTION, __LINE__, __VA_ARGS__)
#define GST_WEB_WARNING_F(el, err, constraint, debug, ...)                                      \
  gst_web_message_postf(GST_ELEMENT_CAST(el), GST_MESSAGE_WARNING, (err), (constraint),        \
                        (debug), __FILE__, GST_FUNCTION, __LINE__, __VA_ARGS__)

G_END_DECLS
