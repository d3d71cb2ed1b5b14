/* Unit tests of mediacapturesrc's pure helpers: allowed-origins (ME-10) and
 * the audio track selection (ME-1).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gst/check/gstcheck.h>

#include "mediaorigins.h"

using namespace mediacapture;

GST_START_TEST(test_parse_audio_tracks)
{
  std::vector<gint> v;
  bool all;
  fail_unless(parse_audio_tracks("all", &v, &all) && all && v.empty());
  fail_unless(parse_audio_tracks(" ALL ", &v, &all) && all);
  fail_unless(parse_audio_tracks("none", &v, &all) && !all && v.empty());
  fail_unless(parse_audio_tracks("", &v, &all) && !all && v.empty());
  fail_unless(parse_audio_tracks("0", &v, &all) && v == std::vector<gint>{0});
  fail_unless(parse_audio_tracks(" 0 , 2 ", &v, &all) && (v == std::vector<gint>{0, 2}));
  fail_if(parse_audio_tracks(nullptr, &v, &all));
  fail_if(parse_audio_tracks("-1", &v, &all));
  fail_if(parse_audio_tracks("1,", &v, &all));
  fail_if(parse_audio_tracks("one", &v, &all));
  fail_if(parse_audio_tracks("99999999999", &v, &all));
  fail_unless(audio_track_selected("0,2", 2));
  fail_if(audio_track_selected("0,2", 1));
  fail_unless(audio_track_selected("all", 7));
  fail_if(audio_track_selected("none", 0));
  fail_if(audio_track_selected("bad", 0));
}
GST_END_TEST;

GST_START_TEST(test_origins)
{
  fail_unless_equals_int(default_port("http"), 80);
  fail_unless_equals_int(default_port("HTTPS"), 443);
  fail_unless_equals_int(default_port("file"), -1);
  fail_unless_equals_int(default_port(nullptr), -1);

  fail_unless(uri_has_prefix("http://a.example/x/y.ogg", "http://a.example/x/"));
  fail_unless(uri_has_prefix("http://a.example:80/y.ogg", "http://a.example"));
  fail_unless(uri_has_prefix("HTTP://A.example/y.ogg", "http://a.example/"));
  /* scheme, host and port are the origin; the path must start with the prefix's */
  fail_if(uri_has_prefix("https://a.example/y.ogg", "http://a.example/"));
  fail_if(uri_has_prefix("http://a.example:8080/y.ogg", "http://a.example/"));
  fail_if(uri_has_prefix("http://127.0.0.1:8081/y", "http://127.0.0.1:8080"));
  fail_if(uri_has_prefix("http://b.example/x/y.ogg", "http://a.example/x/"));
  fail_if(uri_has_prefix("http://a.example/z/y.ogg", "http://a.example/x/"));
  /* dot segments are resolved before the comparison */
  fail_if(uri_has_prefix("http://a.example/x/../z/y.ogg", "http://a.example/x/"));
  fail_if(uri_has_prefix("not a uri", "http://a.example/"));
  fail_if(uri_has_prefix(nullptr, "http://a.example/"));

  const gchar *origins[] = {"http://a.example/media/", "file:///srv/", nullptr};
  fail_unless(uri_allowed(origins, "file:///srv/x.ogg"));
  fail_unless(uri_allowed(origins, "http://a.example/media/x.ogg"));
  fail_if(uri_allowed(origins, "http://a.example/other/x.ogg"));
  const gchar *none[] = {nullptr};
  fail_unless(uri_allowed(none, "http://anything/"));
  fail_unless(uri_allowed(nullptr, "http://anything/"));
}
GST_END_TEST;

static Suite *mediaorigins_suite()
{
  Suite *s = suite_create("mediaorigins");
  TCase *tc = tcase_create("ME-1");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_parse_audio_tracks);
  tc = tcase_create("ME-10");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_origins);
  return s;
}

GST_CHECK_MAIN(mediaorigins);
