#!/bin/sh
# Runs inside the test's own network namespace (see run-interop.sh): brings lo up, adds a veth
# pair with 10.99.0.1/24 and 10.99.0.2/24 (libnice gathers no candidates on loopback, so ICE
# needs a non-loopback interface; both ends live in this namespace), then runs "$@" as a child
# (not exec: this shell is the PID namespace's init and reaps orphans; when it exits, the kernel
# kills whatever is left).
set -eu
ip link set lo up
ip link add interop0 type veth peer name interop1
ip addr add 10.99.0.1/24 dev interop0
ip addr add 10.99.0.2/24 dev interop1
ip link set interop0 up
ip link set interop1 up
set +e
"$@"
status=$?
exit $status
