#!/bin/sh
# Runs "$@" in a new user + network namespace that has only a loopback interface, down: a
# WebRTC example then gathers no ICE candidate and no packet can leave. Exit 77 (skipped) where
# user namespaces are not allowed.
command -v unshare >/dev/null 2>&1 || { echo "SKIP: unshare (util-linux) is not installed"; exit 77; }
unshare -rn true 2>/dev/null || { echo "SKIP: user and network namespaces are not permitted here (unshare -rn failed)"; exit 77; }
exec unshare -rn -- "$@"
