#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""One canvas, two tracks: a page's MediaTrackConstraints (JSON) and a 360p clone.

    canvascapturesrc (1920x1080, 30 fps, draw handler) ! ms.
    mediastreambin name=ms   ms.video_0 ! queue ! fakesink   (the 1080p track)
                             ms.video_1 ! queue ! fakesink   (its clone, 640x360 at 15 fps)

The constraints are the JSON a web page would pass to track.applyConstraints() (here as
a signalling message would bring them), applied with the track pad's action signal
`apply-constraints-json`; the clone is made with mediastreambin's `clone-track` and gets
its own constraints, as for simulcast-like sending. A third request that no setting can
meet is refused with OverconstrainedError naming the constraint, the track unchanged.
Prints each track's id, constraints and settings, and checks the settings: exits 0 when
they are right, 1 otherwise, 77 (skip) when gi/pycairo or the signals are missing.
"""

import argparse
import json
import math
import sys

try:
    import gi

    gi.require_version("Gst", "1.0")
    gi.require_foreign("cairo")
    from gi.repository import GLib, GObject, Gst
except (ImportError, ValueError) as missing:
    print(f"canvas_constraints.py: {missing}: needs python3-gi, python3-gi-cairo",
          file=sys.stderr)
    sys.exit(77)

WIDTH, HEIGHT = 1920, 1080

# What a page sends: its MediaTrackConstraints dictionaries, as JSON.
PAGE_CONSTRAINTS = {
    "width": {"ideal": 1920},
    "height": {"ideal": 1080},
    "frameRate": {"max": 30},
}
CLONE_CONSTRAINTS = {
    "width": {"exact": 640},
    "height": {"exact": 360},
    "frameRate": {"max": 15},
    "resizeMode": "crop-and-scale",
}
IMPOSSIBLE = {"width": {"min": 8000}}


def on_draw(canvas, cr, running_time):
    t = running_time / Gst.SECOND
    cr.set_source_rgb(0.1, 0.2 + 0.2 * math.sin(t), 0.4)
    cr.paint()
    cr.arc(WIDTH / 2 + 600 * math.cos(2 * t), HEIGHT / 2 + 300 * math.sin(2 * t), 80, 0,
           2 * math.pi)
    cr.set_source_rgb(1, 0.8, 0.2)
    cr.fill()
    return True


def describe(structure):
    """A GstStructure as a dict of its fields (nested structures as dicts), for printing."""
    if structure is None:
        return {}
    out = {}
    for i in range(structure.n_fields()):
        name = structure.nth_field_name(i)
        value = structure.get_value(name)
        if isinstance(value, Gst.Structure):
            value = describe(value)
        elif not isinstance(value, (int, float, str, bool)):
            value = str(value)
        out[name] = value
    return out


def apply_json(track, constraints, done):
    """track.applyConstraints(constraints): done(reply structure) from any thread."""
    promise = Gst.Promise.new_with_change_func(lambda p: done(p.get_reply()))
    track.emit("apply-constraints-json", json.dumps(constraints), promise)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-s", "--seconds", type=float, default=2.0)
    args = parser.parse_args()

    Gst.init(None)
    try:
        pipeline = Gst.parse_launch(
            f"canvascapturesrc name=canvas width={WIDTH} height={HEIGHT} frame-rate=30"
            " alpha=false ! ms.video_sink_0 mediastreambin name=ms"
            " ms.video_0 ! queue ! fakesink name=full async=false")
    except GLib.Error as err:
        print(f"canvas_constraints.py: {err.message} (GST_PLUGIN_PATH must hold the plugin"
              " build dirs)", file=sys.stderr)
        return 1
    ms = pipeline.get_by_name("ms")
    video = ms.get_static_pad("video_0")
    if (GObject.signal_lookup("clone-track", type(ms)) == 0
            or GObject.signal_lookup("apply-constraints-json", type(video)) == 0):
        print("canvas_constraints.py: mediastreambin has no clone-track / apply-constraints-json",
              file=sys.stderr)
        return 77
    pipeline.get_by_name("canvas").connect("draw", on_draw)

    # The clone, made before the pipeline runs (any state works), with its consumer.
    clone = ms.emit("clone-track", video)
    small = Gst.parse_bin_from_description("queue ! fakesink name=small async=false", True)
    pipeline.add(small)
    clone.link(small.get_static_pad("sink"))
    print(f"stream {ms.props.id}")
    for track in (video, clone):
        print(f"  {track.get_name()}: {track.props.kind} {track.props.track_id}")

    loop = GLib.MainLoop()
    failures = []
    replies = {}

    def answered(name, reply):
        # From the track's streaming thread: hand over to the main loop.
        GLib.idle_add(lambda: replies.__setitem__(name, reply) or False)

    def on_message(bus, message):
        if message.type == Gst.MessageType.ERROR:
            err, debug = message.parse_error()
            failures.append(f"error from {message.src.get_name()}: {err.message}")
            loop.quit()

    def apply_all():
        apply_json(video, PAGE_CONSTRAINTS, lambda r: answered("video_0", r))
        apply_json(clone, CLONE_CONSTRAINTS, lambda r: answered("video_1", r))
        apply_json(clone, IMPOSSIBLE, lambda r: answered("impossible", r))
        return False

    def report():
        for name, track, want in (("video_0", video, (1920, 1080)),
                                  ("video_1", clone, (640, 360))):
            reply = replies.get(name)
            if reply is None:
                failures.append(f"{name}: apply-constraints was not answered")
                continue
            if reply.has_field("error"):
                failures.append(f"{name}: refused: {reply.get_string('message')}")
            settings = track.props.settings
            print(f"{name}: constraints {describe(track.props.constraints)}")
            print(f"{name}: settings    {describe(settings)}")
            got = (settings.get_int("width")[1], settings.get_int("height")[1])
            if got != want:
                failures.append(f"{name}: {got[0]}x{got[1]}, expected {want[0]}x{want[1]}")
        refused = replies.get("impossible")
        if refused is None or not refused.has_field("error"):
            failures.append("width >= 8000 was not refused")
        else:
            print(f"refused: {refused.get_string('dom-exception')} "
                  f"constraint={refused.get_string('constraint')}: "
                  f"{refused.get_string('message')}")
        size = clone.props.settings
        if size.get_int("width")[1] != 640:
            failures.append("the refused request changed the clone")
        pipeline.send_event(Gst.Event.new_eos())
        GLib.timeout_add_seconds(10, lambda: failures.append("no EOS after 10 s") or loop.quit())
        return False

    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect("message", on_message)
    bus.connect("message::eos", lambda *a: loop.quit())
    pipeline.set_state(Gst.State.PLAYING)
    GLib.timeout_add(300, apply_all)
    GLib.timeout_add(int(args.seconds * 1000), report)
    GLib.timeout_add_seconds(60, lambda: failures.append("timeout") or loop.quit())
    loop.run()
    pipeline.set_state(Gst.State.NULL)
    bus.remove_signal_watch()
    for failure in failures:
        print(f"canvas_constraints.py: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
