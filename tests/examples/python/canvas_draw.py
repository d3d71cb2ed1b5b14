#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Draw on canvascapturesrc with pycairo and record it as VP8 in WebM.

canvascapturesrc emits `draw` on its streaming thread at each capture opportunity (here
every tick of its 30 Hz timer); the handler gets a cairo.Context on the canvas and the
running time of the frame, and returns True when it drew something new.

    . build/webcapture-env.sh
    /usr/bin/python3 tests/examples/python/canvas_draw.py --output canvas.webm --seconds 3

Use /usr/bin/python3: it is the interpreter that has gi and cairo (python3-gi-cairo).
Exits 0 when the file was written, 1 on error, 77 (skip) when gi/pycairo are missing.
"""

import argparse
import math
import os
import sys

try:
    import gi

    gi.require_version("Gst", "1.0")
    gi.require_foreign("cairo")  # `draw` hands over a cairo.Context (python3-gi-cairo)
    from gi.repository import GLib, Gst
except (ImportError, ValueError) as missing:
    print(f"canvas_draw.py: {missing}: needs python3-gi, python3-gi-cairo and "
          "gir1.2-gstreamer-1.0", file=sys.stderr)
    sys.exit(77)

WIDTH, HEIGHT = 320, 240


def on_draw(canvas, cr, running_time):
    t = running_time / Gst.SECOND
    cr.set_source_rgb(0.10, 0.12, 0.25)
    cr.paint()
    # A ball swinging left and right.
    cr.arc(WIDTH / 2 + (WIDTH / 2 - 30) * math.sin(2 * t), HEIGHT / 2, 25, 0, 2 * math.pi)
    cr.set_source_rgb(1.0, 0.6, 0.1)
    cr.fill()
    # The frame's time.
    cr.set_source_rgb(1, 1, 1)
    cr.set_font_size(20)
    cr.move_to(10, HEIGHT - 12)
    cr.show_text(f"{t:6.2f} s")
    return True  # new content: capture it


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-o", "--output", default="canvas.webm", help="WebM file to write")
    parser.add_argument("-s", "--seconds", type=float, default=3.0, help="how long to record")
    args = parser.parse_args()
    if not args.seconds > 0:
        parser.error("--seconds must be more than 0")

    Gst.init(None)
    try:
        pipeline = Gst.parse_launch(
            f"canvascapturesrc name=canvas width={WIDTH} height={HEIGHT} frame-rate=30 alpha=false"
            " ! videoconvert ! vp8enc deadline=1 ! webmmux ! filesink name=sink")
    except GLib.Error as err:
        print(f"canvas_draw.py: {err.message} (is GST_PLUGIN_PATH set to build/ext/cairo?)",
              file=sys.stderr)
        return 1
    pipeline.get_by_name("sink").set_property("location", args.output)
    pipeline.get_by_name("canvas").connect("draw", on_draw)

    loop = GLib.MainLoop()
    failed = False

    def on_message(bus, message):
        nonlocal failed
        if message.type == Gst.MessageType.ERROR:
            err, debug = message.parse_error()
            print(f"Error from {message.src.get_name()}: {err.message}\n  ({debug})",
                  file=sys.stderr)
            failed = True
            loop.quit()
        elif message.type == Gst.MessageType.EOS:
            loop.quit()

    def eos_timeout():
        nonlocal failed
        print("canvas_draw.py: the pipeline did not finish after EOS", file=sys.stderr)
        failed = True
        loop.quit()
        return GLib.SOURCE_REMOVE

    def stop():
        # EOS, not a state change, so webmmux finalizes the file.
        pipeline.send_event(Gst.Event.new_eos())
        GLib.timeout_add_seconds(10, eos_timeout)
        return GLib.SOURCE_REMOVE

    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect("message", on_message)
    if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
        failed = True  # the ERROR message on the bus says why
        GLib.idle_add(loop.quit)
    else:
        GLib.timeout_add(int(args.seconds * 1000), stop)
    loop.run()
    pipeline.set_state(Gst.State.NULL)
    bus.remove_signal_watch()

    if failed:
        return 1
    size = os.path.getsize(args.output) if os.path.exists(args.output) else 0
    if size == 0:
        print(f"canvas_draw.py: {args.output} was not written", file=sys.stderr)
        return 1
    print(f"Wrote {args.output}: {size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
