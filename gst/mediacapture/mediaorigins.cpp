/* mediacapturesrc: allowed-origins and track-selection helpers.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "mediaorigins.h"

#include <algorithm>

namespace mediacapture
{

bool parse_audio_tracks(const gchar *spec, std::vector<gint> *out, bool *all)
{
  out->clear();
  *all = false;
  if (!spec)
    return false;
  g_autofree gchar *s = g_strstrip(g_strdup(spec));
  if (g_ascii_strcasecmp(s, "all") == 0) {
    *all = true;
    return true;
  }
  if (g_ascii_strcasecmp(s, "none") == 0 || *s == '\0')
    return true;
  g_auto(GStrv) parts = g_strsplit(s, ",", -1);
  for (gchar **p = parts; *p; p++) {
    gchar *t = g_strstrip(*p);
    gchar *end = nullptr;
    gint64 v = g_ascii_strtoll(t, &end, 10);
    if (*t == '\0' || !end || *end != '\0' || v < 0 || v > G_MAXINT)
      return false;
    out->push_back((gint)v);
  }
  return true;
}

bool audio_track_selected(const gchar *spec, guint index)
{
  std::vector<gint> list;
  bool all = false;
  if (!parse_audio_tracks(spec, &list, &all))
    return false;
  return all || std::find(list.begin(), list.end(), (gint)index) != list.end();
}

gint default_port(const gchar *scheme)
{
  if (!scheme)
    return -1;
  if (g_ascii_strcasecmp(scheme, "http") == 0)
    return 80;
  if (g_ascii_strcasecmp(scheme, "https") == 0)
    return 443;
  return -1;
}

bool uri_has_prefix(const gchar *uri, const gchar *prefix)
{
  if (!uri || !prefix)
    return false;
  g_autoptr(GUri) u = g_uri_parse(uri, G_URI_FLAGS_NONE, nullptr);
  g_autoptr(GUri) p = g_uri_parse(prefix, G_URI_FLAGS_NONE, nullptr);
  if (!u || !p)
    return false;
  const gchar *us = g_uri_get_scheme(u), *ps = g_uri_get_scheme(p);
  const gchar *uh = g_uri_get_host(u), *ph = g_uri_get_host(p);
  gint up = g_uri_get_port(u), pp = g_uri_get_port(p);
  if (up < 0)
    up = default_port(us);
  if (pp < 0)
    pp = default_port(ps);
  const gchar *upath = g_uri_get_path(u), *ppath = g_uri_get_path(p);
  return us && ps && g_ascii_strcasecmp(us, ps) == 0 &&
         g_ascii_strcasecmp(uh ? uh : "", ph ? ph : "") == 0 && up == pp &&
         g_str_has_prefix(upath ? upath : "", ppath ? ppath : "");
}

bool uri_allowed(const gchar *const *origins, const gchar *uri)
{
  if (!origins || !origins[0])
    return true;
  for (const gchar *const *o = origins; *o; o++)
    if (uri_has_prefix(uri, *o))
      return true;
  return false;
}

} // namespace mediacapture
