#!/usr/bin/python3
"""A MediaStream's track ids reach the WebRTC peer (Python).

A mediastreambin (a test video and a tone) feeds a webrtcbin "send". Its offer is set on
"send" unchanged and the copy returned by mediastreambin's "annotate-sdp" goes to the peer:
every m-line then carries a=msid:<stream id> <track-id>, so a browser sees the bin's id as
MediaStream.id and each track pad's track-id as MediaStreamTrack.id. The peer here is a
second webrtcbin "recv" in the same process (a browser would get the text over the
application's signalling). No packet is sent.

Prints the ids, the annotated lines and what the peer read; exits 0 when the peer's
description carries every "<stream id> <track-id>" pair.

    . build/webcapture-env.sh
    /usr/bin/python3 tests/examples/python/webrtc_track_ids.py
"""
import sys
import threading

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstSdp", "1.0")
gi.require_version("GstWebRTC", "1.0")
from gi.repository import Gst, GstSdp, GstWebRTC  # noqa: E402


def run_action(webrtc, action, arg=None, field=None):
    """Emits a webrtcbin action answered through a promise, waits, returns the reply's field."""
    promise = Gst.Promise.new()
    webrtc.emit(action, arg, promise)
    promise.wait()
    reply = promise.get_reply()  # keep the reply in a variable while its fields are used
    if not field or not reply:
        return None
    # The value lives in the reply, which goes with the promise: return a copy.
    return reply.get_value(field).copy()


def main():
    Gst.init(None)
    pipeline = Gst.parse_launch(
        "mediastreambin name=ms "
        "videotestsrc is-live=true ! video/x-raw,width=320,height=240 ! ms. "
        "audiotestsrc is-live=true ! ms. "
        "ms.video_0 ! videoconvert ! vp8enc deadline=1 ! rtpvp8pay ! "
        "application/x-rtp,media=video,encoding-name=VP8,payload=96 ! "
        "webrtcbin name=send bundle-policy=max-bundle "
        "ms.audio_0 ! audioconvert ! audioresample ! opusenc ! rtpopuspay ! "
        "application/x-rtp,media=audio,encoding-name=OPUS,payload=97 ! send. "
        "webrtcbin name=recv bundle-policy=max-bundle")
    ms = pipeline.get_by_name("ms")
    send = pipeline.get_by_name("send")
    recv = pipeline.get_by_name("recv")
    ready = threading.Event()
    # webrtcbin 1.22 asks for negotiation once every sink pad has caps.
    send.connect("on-negotiation-needed", lambda element: ready.set())
    pipeline.set_state(Gst.State.PLAYING)
    status = 1
    try:
        if not ready.wait(20):
            print("webrtc_track_ids: webrtcbin never asked for negotiation", file=sys.stderr)
            return 1
        offer = run_action(send, "create-offer", None, "offer")
        # webrtcbin keeps its own offer; the peer gets the annotated copy.
        run_action(send, "set-local-description", offer)
        annotated = ms.emit("annotate-sdp", offer.sdp, send)
        sent = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.OFFER, annotated)
        run_action(recv, "set-remote-description", sent)
        answer = run_action(recv, "create-answer", None, "answer")
        run_action(recv, "set-local-description", answer)
        run_action(send, "set-remote-description", answer)

        stream_id = ms.props.id
        print("stream id", stream_id)
        for line in annotated.as_text().splitlines():
            if line.startswith("a=msid:"):
                print("sent", line)
        # What the peer holds: its remote description's media-level a=msid lines. (The SDP
        # text is read once: PyGObject's wrappers of GstSDPMessage's inner structures point
        # into the description and are not safe to keep.)
        remote = recv.props.remote_description
        remote_text = remote.sdp.as_text()
        seen = {line[len("a=msid:"):].strip() for line in remote_text.splitlines()
                if line.startswith("a=msid:")}
        status = 0
        for name in ("video_0", "audio_0"):
            track_id = ms.get_static_pad(name).props.track_id
            ok = f"{stream_id} {track_id}" in seen
            print(f"track {name}: track-id {track_id}, the peer {'sees it' if ok else 'does NOT see it'}")
            if not ok:
                status = 1
    finally:
        pipeline.set_state(Gst.State.NULL)
    return status


if __name__ == "__main__":
    sys.exit(main())
