// Receives the MediaStreams interop-sender sends (--layout three-tracks / two-streams) and
// records what the browser reports for each track event: event.streams[*].id, event.track.id,
// kind, mid; and each stream's getTracks(). Read by tests/interop/ids-driver.js through
// window.interop. Signalling: tests/interop/common/webrtc-signalling.h.
'use strict';

(() => {
  const state = {
    errors: [],
    trackEvents: [], // {streamIds, trackId, kind, mid}
    pipelineTracks: null, // [{streamId, trackId, kind}] from the sender
    offer: null,
    connectionState: 'new',
  };
  window.interop = state;
  const fail = (text) => { state.errors.push(text); console.error(text); };

  const ws = new WebSocket(`ws://${location.host}/ws`);
  const pc = new RTCPeerConnection({ iceServers: [] });
  const pending = [];
  let remoteSet = false;
  const streams = new Map(); // id -> MediaStream
  const send = (m) => { if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(m)); };

  pc.onicecandidate = (e) => {
    if (e.candidate) send({ type: 'candidate', candidate: e.candidate.candidate, sdpMLineIndex: e.candidate.sdpMLineIndex });
  };
  pc.onconnectionstatechange = () => { state.connectionState = pc.connectionState; };
  pc.ontrack = (event) => {
    state.trackEvents.push({
      streamIds: event.streams.map((s) => s.id), trackId: event.track.id, kind: event.track.kind,
      mid: event.transceiver ? event.transceiver.mid : null,
    });
    for (const stream of event.streams) {
      if (streams.has(stream.id)) continue;
      streams.set(stream.id, stream);
      const video = document.createElement('video');
      video.muted = true;
      video.autoplay = true;
      video.playsInline = true;
      video.srcObject = stream;
      document.getElementById('videos').appendChild(video);
      video.play().catch(() => {});
    }
    const row = document.getElementById('tracks').insertRow();
    for (const v of [event.streams.map((s) => s.id).join(' '), event.track.kind, event.track.id, event.transceiver && event.transceiver.mid]) {
      row.insertCell().textContent = String(v);
    }
  };

  // Each MediaStream as the page holds it: its id and its tracks.
  state.streams = () => [...streams.values()].map((s) => ({
    id: s.id, tracks: s.getTracks().map((t) => ({ id: t.id, kind: t.kind, readyState: t.readyState })),
  }));
  // Frames decoded per inbound video RTP stream (every video track receives media).
  state.videoFrames = async () => {
    const stats = await pc.getStats();
    const frames = [];
    stats.forEach((r) => { if (r.type === 'inbound-rtp' && r.kind === 'video') frames.push(r.framesDecoded || 0); });
    return frames;
  };

  ws.onmessage = async (event) => {
    const m = JSON.parse(event.data);
    try {
      if (m.type === 'offer') {
        state.offer = m.sdp;
        await pc.setRemoteDescription({ type: 'offer', sdp: m.sdp });
        remoteSet = true;
        for (const c of pending.splice(0)) await pc.addIceCandidate(c);
        await pc.setLocalDescription(await pc.createAnswer());
        send({ type: 'answer', sdp: pc.localDescription.sdp });
      } else if (m.type === 'candidate') {
        const c = { candidate: m.candidate, sdpMLineIndex: m.sdpMLineIndex };
        if (remoteSet) await pc.addIceCandidate(c);
        else pending.push(c);
      } else if (m.type === 'pipeline-tracks') {
        state.pipelineTracks = m.tracks;
      } else if (m.type === 'sender-error') {
        fail(`sender: ${m.message}`);
      }
    } catch (e) {
      fail(`${m.type}: ${e}`);
    }
  };
  ws.onerror = () => fail('WebSocket error');
})();
