#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstwebcapturei18n.h"

void gst_webcapture_init_i18n(void)
{
#ifdef ENABLE_NLS
  static gsize done = 0;
  if (g_once_init_enter(&done)) {
    bindtextdomain(GETTEXT_PACKAGE, LOCALEDIR);
    bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
    g_once_init_leave(&done, 1);
  }
#endif
}
