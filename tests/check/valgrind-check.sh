#!/usr/bin/env bash
# Runs a gst-check suite under valgrind memcheck (the exe wrapper of the `valgrind` test setup of
# tests/check/meson.build) and fails when:
#   - memcheck reports a memory error or a "definitely lost" block (valgrind's own exit code), or
#   - a "possibly lost" block was allocated through the project's own code: a frame of one of our
#     plugins (libgstcanvascapture, libgstmediacapture, libgstmediastream, and
#     libgstwebcapturecommon linked into them) or of their sources: memory only reachable through
#     a pointer into its middle. "Possibly lost" blocks of GLib/GStreamer alone (type system,
#     caches) are not ours and are ignored. (GLib gives GObjects with private data separate
#     blocks under valgrind, so a leaked object of ours shows as "definitely lost", or, still
#     referenced, under the leaks tracer of the main pass.)
# Usage: valgrind-check.sh <suppression file>... -- <test program> [args]
set -uo pipefail

supps=()
while (($#)) && [[ $1 != -- ]]; do
  supps+=("--suppressions=$1")
  shift
done
shift || true

# The leaks tracer already ran in the main pass; here memcheck does the leak check, and GStreamer
# 1.22 never frees the tracer object it makes in gst_update_registry() (184 bytes "definitely lost").
export GST_TRACERS=

log=$(mktemp "${TMPDIR:-/tmp}/valgrind-check.XXXXXX")
trap 'rm -f "$log"' EXIT

valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,possible \
  --leak-check-heuristics=none --errors-for-leak-kinds=definite --error-exitcode=1 \
  --num-callers=40 --fair-sched=yes --child-silent-after-fork=yes \
  --fullpath-after= "${supps[@]}" --log-file="$log" "$@"
status=$?
cat "$log" >&2

python=/usr/bin/python3
[[ -x "$python" ]] || python=python3
"$python" - "$log" <<'PY'
import re, sys
ours = re.compile(r"libgst(canvascapture|mediacapture|mediastream|webcapturecommon)"
                  r"|/(ext/cairo|gst/mediacapture|gst/mediastream|gst/common)/[^ ]*\.(cpp|c|h):")
records, current = [], None
for line in open(sys.argv[1], errors="replace"):
    body = re.sub(r"^==\d+== ?", "", line.rstrip("\n"))
    if "are possibly lost in loss record" in body:
        current = [body]
        records.append(current)
    elif current is not None:
        if body.strip() == "":
            current = None
        else:
            current.append(body)
bad = [r for r in records if any(ours.search(l) for l in r[1:])]
for r in bad:
    print("valgrind-check: possibly lost through the project's code:\n  " + "\n  ".join(r),
          file=sys.stderr)
if bad:
    print("valgrind-check: %d possibly-lost record(s) allocated through our libraries"
          % len(bad), file=sys.stderr)
sys.exit(1 if bad else 0)
PY
py_status=$?
if ((status != 0)); then
  exit "$status"
fi
exit "$py_status"
