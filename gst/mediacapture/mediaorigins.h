/* mediacapturesrc: the pure helpers of allowed-origins (ME-10) and of the
 * track selection (ME-1). No GStreamer state; unit-tested directly
 * (tests/check/mediacapture/mediaorigins.cpp).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include <vector>

namespace mediacapture
{

/* "all", "none" (or ""), or comma-separated non-negative indices ("0,2").
 * Returns false for anything else (out and all are then unspecified). */
bool parse_audio_tracks(const gchar *spec, std::vector<gint> *out, bool *all);

/* Is audio stream @index (among the medium's audio streams) enabled by @spec? */
bool audio_track_selected(const gchar *spec, guint index);

/* 80 for http, 443 for https, -1 otherwise. */
gint default_port(const gchar *scheme);

/* @uri is inside @prefix: same scheme, host and port (default ports
 * filled in), and its path starts with the prefix's path. */
bool uri_has_prefix(const gchar *uri, const gchar *prefix);

/* @uri is allowed by @origins (NULL or empty: any). */
bool uri_allowed(const gchar *const *origins, const gchar *uri);

} // namespace mediacapture
