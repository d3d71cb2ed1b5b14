#!/bin/sh
# The Janus VideoRoom interop test (meson test interop-janus-videoroom): skips (exit 77) with the
# reason when the janus package is missing, then runs janus-driver.js through ../run-interop.sh
# (which skips when node, chromium or a private network namespace is missing, and runs the
# driver in a new network namespace with only lo and the veth pair 10.99.0.1 <-> 10.99.0.2).
#
#   run-janus.sh <tests/interop source dir> <tests/interop build dir> <janus-publish binary>
#
# Environment: JANUS (default: janus on PATH), CHROMIUM, INTEROP_TIMEOUT_MS (default 60000: the
# wait for every page to receive), INTEROP_SCREENSHOT.
set -u

janus=${JANUS:-$(command -v janus 2>/dev/null)}
if [ -z "$janus" ] || [ ! -x "$janus" ]; then
  echo "SKIP: janus is not installed (Debian package janus)"
  exit 77
fi
command -v gst-launch-1.0 >/dev/null 2>&1 || { echo "SKIP: gst-launch-1.0 (gstreamer1.0-tools) is not installed"; exit 77; }
export JANUS="$janus"
exec sh "$1/run-interop.sh" "$1" "$2" "$3" janus/janus-driver.js
