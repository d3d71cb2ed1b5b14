/* Gettext for the plugin set: every user-visible message goes through _(). */
#pragma once

#include <glib.h>

#ifdef ENABLE_NLS
#include <glib/gi18n-lib.h>
#else
#define _(s) (s)
#define N_(s) (s)
#endif

G_BEGIN_DECLS

/* Binds the project's text domain once; every plugin_init calls it. */
void gst_webcapture_init_i18n(void);

G_END_DECLS
