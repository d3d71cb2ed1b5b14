// What the MediaStream examples (mediastream-demo, janus-publish) share: making an element with
// a hint when ours are not on the plugin path, the media file they play, and a crash report.
// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <gst/gst.h>

#include <string>

namespace example
{

// gst_element_factory_make(), printing "<program>: no element ..." when it fails (with how to
// run uninstalled when it is one of ours).
GstElement *make(const char *program, const char *factory, const char *name);

// The URI to play: @uri_option (a URI, or a path made into a file URI) when given, else the
// default media file @default_path, made once (10 s of a test pattern with its time and a tone,
// VP8 + Opus in WebM). False, with the reason printed, when neither works.
bool media_uri(const char *program, const char *uri_option, const std::string &default_path,
               std::string *uri);

// On SIGSEGV, SIGBUS, SIGFPE, SIGILL or SIGABRT: prints "<program>: crashed (signal)" and the
// stack (addresses; `addr2line -e <library> <offset>` names them) on stderr, then dies of that
// signal as it would have. Tests that run an example see why it ended, not just that it did.
void report_crashes(const char *program);

} // namespace example
