#!/bin/sh
# Real-browser interop test: GStreamer webrtcbin -> headless chromium, run by meson test.
#
#   run-interop.sh <tests/interop source dir> <tests/interop build dir> <interop-sender binary>
#                  [driver script, default driver.js; demo-driver.js takes the mediastream-demo binary]
#
# 1. Skips (exit 77) with the reason when node, npm, chromium or a private network namespace
#    is not available.
# 2. Installs playwright-core from package-lock.json into the build dir with `npm ci` when it
#    is missing (this is the only step that uses the network: the npm registry).
# 3. Runs driver.js inside a new user + network + PID namespace: only lo and a veth pair
#    (10.99.0.1/24 <-> 10.99.0.2/24) exist in it, so no packet can leave the machine, and when
#    the namespace's first process exits the kernel kills everything that was started in it.
#
# Environment: CHROMIUM (default /usr/bin/chromium), INTEROP_TIMEOUT_MS (default 45000),
# INTEROP_SCREENSHOT (a PNG path: the page as the test ends).
set -u

src_dir=$1
build_dir=$2
sender=$3
driver=${4:-driver.js}

skip() {
  echo "SKIP: $*"
  exit 77
}

command -v node >/dev/null 2>&1 || skip "node (Debian package nodejs) is not installed"
chromium=${CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] || skip "chromium is not installed ($chromium; Debian package chromium)"
command -v unshare >/dev/null 2>&1 || skip "unshare (util-linux) is not installed"
command -v ip >/dev/null 2>&1 || skip "ip (iproute2) is not installed"
[ -x "$sender" ] || { echo "FAIL: $sender is not built"; exit 1; }

# playwright-core, at the version package-lock.json pins, in the build directory.
if [ ! -f "$build_dir/node_modules/playwright-core/package.json" ] ||
   ! cmp -s "$src_dir/package-lock.json" "$build_dir/package-lock.json"; then
  command -v npm >/dev/null 2>&1 || skip "npm is not installed and $build_dir/node_modules is missing"
  cp "$src_dir/package.json" "$src_dir/package-lock.json" "$build_dir/" || exit 1
  echo "interop: npm ci in $build_dir"
  if ! (cd "$build_dir" && npm ci --no-audit --no-fund --loglevel=error); then
    echo "FAIL: npm ci could not install playwright-core (is the npm registry reachable?)"
    exit 1
  fi
fi

# A private network namespace: as root `unshare -n` would do; -r also works unprivileged where
# user namespaces are allowed. -p -f --mount-proc: a PID namespace, so nothing outlives the test.
ns="unshare --user --map-root-user --net --pid --fork --kill-child --mount --mount-proc"
if ! $ns true 2>/dev/null; then
  # Root where user namespaces are disabled (some containers): the same without --user.
  ns="unshare --net --pid --fork --kill-child --mount --mount-proc"
  if [ "$(id -u)" != 0 ] || ! $ns true 2>/dev/null; then
    skip "cannot create a private network namespace here (unshare -rn failed: user namespaces disabled?)"
  fi
fi

exec $ns sh "$src_dir/netns-run.sh" node "$src_dir/$driver" \
  --modules "$build_dir/node_modules" --sender "$sender" --chromium "$chromium"
