#!/bin/sh
# Writes a private Janus configuration into DIR: only the VideoRoom plugin and the WebSocket
# transport (no HTTP, no admin API, no event handlers, no loggers), the WebSocket API on
# 127.0.0.1:PORT only, ICE only on INTERFACE (its address IP is the one Janus puts in its SDP:
# with no default route it would pick 127.0.0.1, and it gathers nothing on loopback). Rooms and
# participants have string ids, so a publisher's id can be its MediaStream id.
#
#   janus-config.sh DIR PORT IP INTERFACE
#
# Used by run-janus.sh (tests/interop) and scripts/demo --janus; the system's /etc/janus and
# janus.service are never used. Start Janus with:  janus -F DIR -C DIR/janus.jcfg
set -eu
[ $# -eq 4 ] || { echo "usage: janus-config.sh DIR PORT IP INTERFACE" >&2; exit 2; }
dir=$1 port=$2 ip=$3 iface=$4
lib=
for candidate in /usr/lib/*/janus /usr/lib/janus /usr/local/lib/janus /opt/janus/lib/janus; do
  [ -f "$candidate/plugins/libjanus_videoroom.so" ] && { lib=$candidate; break; }
done
[ -n "$lib" ] || { echo "janus-config.sh: libjanus_videoroom.so not found (Debian package janus)" >&2; exit 1; }
mkdir -p "$dir"

# Every plugin and transport in the folders except the two we use.
others() {
  for so in "$lib/$1"/libjanus_*.so; do
    name=${so##*/}
    [ "$name" = "$2" ] || printf '%s,' "$name"
  done | sed 's/,$//'
}

cat > "$dir/janus.jcfg" <<CFG
general: {
	configs_folder = "$dir"
	plugins_folder = "$lib/plugins"
	transports_folder = "$lib/transports"
	events_folder = "$lib/events"
	loggers_folder = "$lib/loggers"
	debug_level = 4
	debug_timestamps = true
	debug_colors = false
	interface = "$ip"
	session_timeout = 60
	server_name = "gst-webcapture-janus"
	hide_dependencies = true
}
media: {
	rtp_port_range = "20000-40000"
}
nat: {
	nice_debug = false
	ice_enforce_list = "$iface"
	ignore_mdns = true
}
plugins: {
	disable = "$(others plugins libjanus_videoroom.so)"
}
transports: {
	disable = "$(others transports libjanus_websockets.so)"
}
loggers: {
	disable = "$(others loggers none)"
}
events: {
	broadcast = false
}
CFG

cat > "$dir/janus.transport.websockets.jcfg" <<CFG
general: {
	json = "plain"
	ws = true
	ws_port = $port
	ws_ip = "127.0.0.1"
	wss = false
}
admin: {
	admin_ws = false
	admin_wss = false
}
CFG

cat > "$dir/janus.plugin.videoroom.jcfg" <<CFG
general: {
	string_ids = true
}
CFG
