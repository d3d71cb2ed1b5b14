#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Capture a media file with mediacapturesrc (HTMLMediaElement.captureStream()) and count what
each track delivers. Without --uri, a 2 s test clip is made first with GStreamer's own encoders.

    mediacapturesrc uri=file:///... (sometimes pads video_%u, audio_%u) ! fakesink

Exits 0 when every track delivered buffers and ended, 1 on error, 77 (skip) when gi is missing.
"""

import argparse
import os
import sys
import tempfile

try:
    import gi

    gi.require_version("Gst", "1.0")
    from gi.repository import GLib, Gst
except (ImportError, ValueError) as missing:
    print(f"capture_file.py: {missing}: needs python3-gi", file=sys.stderr)
    sys.exit(77)


def make_clip(path):
    pipeline = Gst.parse_launch(
        "videotestsrc num-buffers=60 ! video/x-raw,width=160,height=120,framerate=30/1"
        " ! vp8enc deadline=1 ! queue ! webmmux name=m ! filesink name=sink"
        " audiotestsrc num-buffers=94 ! audio/x-raw,rate=48000 ! opusenc ! queue ! m.")
    pipeline.get_by_name("sink").set_property("location", path)
    pipeline.set_state(Gst.State.PLAYING)
    msg = pipeline.get_bus().timed_pop_filtered(
        30 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    pipeline.set_state(Gst.State.NULL)
    return msg is not None and msg.type == Gst.MessageType.EOS


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-u", "--uri", help="media to capture (default: a 2 s clip made now)")
    args = parser.parse_args()
    Gst.init(None)

    tmp = None
    uri = args.uri
    if not uri:
        tmp = tempfile.NamedTemporaryFile(suffix=".webm", delete=False)
        tmp.close()
        if not make_clip(tmp.name):
            print("capture_file.py: cannot make the test clip", file=sys.stderr)
            return 1
        uri = Gst.filename_to_uri(tmp.name)

    pipeline = Gst.Pipeline.new("capture")
    media = Gst.ElementFactory.make("mediacapturesrc", "media")
    if media is None:
        print("capture_file.py: no mediacapturesrc (set GST_PLUGIN_PATH to build/gst/mediacapture)",
              file=sys.stderr)
        return 1
    media.set_property("uri", uri)
    pipeline.add(media)
    counts = {}
    ended = set()

    def on_pad_added(element, pad):
        sink = Gst.ElementFactory.make("fakesink", None)
        sink.set_property("sync", False)
        pipeline.add(sink)
        sink.sync_state_with_parent()
        pad.link(sink.get_static_pad("sink"))
        counts[pad.get_name()] = 0

        def probe(p, info):
            if info.type & Gst.PadProbeType.BUFFER:
                counts[p.get_name()] += 1
            elif info.get_event().type == Gst.EventType.EOS:
                ended.add(p.get_name())
            return Gst.PadProbeReturn.OK

        pad.add_probe(Gst.PadProbeType.BUFFER | Gst.PadProbeType.EVENT_DOWNSTREAM, probe)
        print(f"track {pad.get_name()}: {pad.get_current_caps() or 'caps pending'}")

    media.connect("pad-added", on_pad_added)
    loop = GLib.MainLoop()
    failed = False

    def on_message(bus, message):
        nonlocal failed
        if message.type == Gst.MessageType.ERROR:
            err, _ = message.parse_error()
            print(f"Error from {message.src.get_name()}: {err.message}", file=sys.stderr)
            failed = True
            loop.quit()
        elif message.type == Gst.MessageType.EOS:
            loop.quit()

    def check_ended():
        # mediacapturesrc: at the end of the media every track gets EOS (ME-3) and `ended` is TRUE.
        if media.props.ended or (counts and len(ended) == len(counts)):
            loop.quit()
            return False
        return True

    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect("message", on_message)
    pipeline.set_state(Gst.State.PLAYING)
    GLib.timeout_add(100, check_ended)
    GLib.timeout_add_seconds(30, loop.quit)
    loop.run()
    duration = media.props.duration
    pipeline.set_state(Gst.State.NULL)
    bus.remove_signal_watch()
    if tmp:
        os.unlink(tmp.name)

    for name, n in sorted(counts.items()):
        print(f"  {name}: {n} buffers{', ended' if name in ended else ''}")
    print(f"duration {duration:.2f} s")
    if failed or not counts or any(n == 0 for n in counts.values()) or len(ended) != len(counts):
        print("capture_file.py: not every track delivered buffers and ended", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
