#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Draw with pycairo on canvascapturesrc, make it a MediaStream with a tone, record it to WebM.

    canvascapturesrc (draw handler) ! ms.   audiotestsrc is-live=true ! ms.
    mediastreambin name=ms   ms.video_0 ! vp8enc ! webmmux   ms.audio_0 ! opusenc ! webmmux

Prints the stream id and each track (id, kind, label); half-way through, the video track is
disabled (enabled=False: black frames), then enabled again.
Exits 0 when the file was written, 1 on error, 77 (skip) when gi/pycairo are missing.
"""

import argparse
import math
import os
import sys

try:
    import gi

    gi.require_version("Gst", "1.0")
    gi.require_foreign("cairo")
    from gi.repository import GLib, Gst
except (ImportError, ValueError) as missing:
    print(f"canvas_stream.py: {missing}: needs python3-gi, python3-gi-cairo", file=sys.stderr)
    sys.exit(77)

WIDTH, HEIGHT = 320, 240


def on_draw(canvas, cr, running_time):
    t = running_time / Gst.SECOND
    cr.set_source_rgb(0.1, 0.3 + 0.2 * math.sin(t), 0.4)
    cr.paint()
    cr.arc(WIDTH / 2 + 100 * math.cos(3 * t), HEIGHT / 2 + 60 * math.sin(3 * t), 20, 0, 2 * math.pi)
    cr.set_source_rgb(1, 0.8, 0.2)
    cr.fill()
    cr.set_source_rgb(1, 1, 1)
    cr.set_font_size(18)
    cr.move_to(10, HEIGHT - 10)
    cr.show_text(f"{t:6.2f} s")
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-o", "--output", default="stream.webm")
    parser.add_argument("-s", "--seconds", type=float, default=3.0)
    args = parser.parse_args()

    Gst.init(None)
    try:
        pipeline = Gst.parse_launch(
            f"canvascapturesrc name=canvas width={WIDTH} height={HEIGHT} frame-rate=30 alpha=false"
            " ! ms. audiotestsrc is-live=true freq=440 volume=0.3 ! ms."
            " mediastreambin name=ms"
            " ms.video_0 ! queue ! videoconvert ! vp8enc deadline=1 ! mux."
            " ms.audio_0 ! queue ! audioconvert ! audioresample ! opusenc ! mux."
            " webmmux name=mux ! filesink name=sink")
    except GLib.Error as err:
        print(f"canvas_stream.py: {err.message} (GST_PLUGIN_PATH must hold the plugin build dirs)",
              file=sys.stderr)
        return 1
    pipeline.get_by_name("sink").set_property("location", args.output)
    pipeline.get_by_name("canvas").connect("draw", on_draw)
    ms = pipeline.get_by_name("ms")
    print(f"stream {ms.props.id}")
    for name in ("video_0", "audio_0"):
        track = ms.get_static_pad(name)
        print(f"  {track.props.kind} {track.props.track_id} label={track.props.label}")
    video = ms.get_static_pad("video_0")

    loop = GLib.MainLoop()
    failed = False

    def on_message(bus, message):
        nonlocal failed
        if message.type == Gst.MessageType.ERROR:
            err, debug = message.parse_error()
            print(f"Error from {message.src.get_name()}: {err.message}", file=sys.stderr)
            failed = True
            loop.quit()
        elif message.type == Gst.MessageType.EOS:
            loop.quit()

    def timeout():
        nonlocal failed
        print("canvas_stream.py: no EOS after 10 s", file=sys.stderr)
        failed = True
        loop.quit()

    def stop():
        pipeline.send_event(Gst.Event.new_eos())
        GLib.timeout_add_seconds(10, timeout)

    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect("message", on_message)
    pipeline.set_state(Gst.State.PLAYING)
    ms_total = int(args.seconds * 1000)
    GLib.timeout_add(ms_total // 3, lambda: video.set_property("enabled", False))  # black
    GLib.timeout_add(2 * ms_total // 3, lambda: video.set_property("enabled", True))
    GLib.timeout_add(ms_total, stop)
    loop.run()
    pipeline.set_state(Gst.State.NULL)
    bus.remove_signal_watch()
    size = os.path.getsize(args.output) if os.path.exists(args.output) else 0
    if failed or size == 0:
        print(f"canvas_stream.py: {args.output} was not written", file=sys.stderr)
        return 1
    print(f"Wrote {args.output}: {size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
