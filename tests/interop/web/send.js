// Sends two MediaStreams to a GStreamer webrtcbin (tests/interop/interop-receiver.cpp):
//   stream A: canvas-a.captureStream() + an OscillatorNode (440 Hz) through a
//             MediaStreamAudioDestinationNode;
//   stream B: canvas-b.captureStream().
// Each canvas is one solid colour (window.interop.setColour changes it) with a small moving
// square in a corner, redrawn 25 times a second. The page offers (VP8 preferred), GStreamer
// answers, and again after a transceiver is stopped. window.interop (read by tests/interop/recv-driver.js): the ids sent, and actions
// that mute (replaceTrack(null)), unmute, stop a transceiver or close the connection.
'use strict';

(() => {
  const state = { errors: [], tracks: [], connectionState: 'new', answered: false };
  window.interop = state;
  const fail = (text) => { state.errors.push(text); console.error(text); };

  const colours = { a: '#ff0000', b: '#00ff00' };
  const canvases = { a: document.getElementById('canvas-a'), b: document.getElementById('canvas-b') };
  let tick = 0;
  function draw() {
    tick++;
    for (const key of ['a', 'b']) {
      const c = canvases[key];
      const g = c.getContext('2d');
      g.fillStyle = colours[key];
      g.fillRect(0, 0, c.width, c.height);
      g.fillStyle = '#ffffff';
      g.fillRect((tick * 4) % 40, 4, 8, 8); // moves: every frame is new; the centre stays solid
    }
  }
  draw();
  setInterval(draw, 40);
  state.setColour = (key, hex) => { colours[key] = hex; };

  const audio = new AudioContext();
  const oscillator = audio.createOscillator();
  oscillator.frequency.value = 440;
  const gain = audio.createGain();
  gain.gain.value = 0.5;
  const destination = audio.createMediaStreamDestination();
  oscillator.connect(gain).connect(destination);
  oscillator.start();
  audio.resume().catch(() => {});

  const streamA = new MediaStream([canvases.a.captureStream(30).getVideoTracks()[0], destination.stream.getAudioTracks()[0]]);
  const streamB = new MediaStream([canvases.b.captureStream(30).getVideoTracks()[0]]);
  const pc = new RTCPeerConnection({ iceServers: [] });
  const senders = {}; // "a-video", "a-audio", "b-video" -> {sender, track}
  for (const [key, stream] of [['a', streamA], ['b', streamB]]) {
    for (const track of stream.getTracks()) {
      const sender = pc.addTrack(track, stream);
      senders[`${key}-${track.kind}`] = { sender, track };
      state.tracks.push({ stream: key, streamId: stream.id, trackId: track.id, kind: track.kind });
      const row = document.getElementById('tracks').insertRow();
      for (const v of [stream.id, track.kind, track.id]) row.insertCell().textContent = v;
    }
  }
  // VP8 first: the receiver decodes VP8 and Opus.
  const vp8 = RTCRtpReceiver.getCapabilities('video').codecs.filter((c) => /VP8|rtx/i.test(c.mimeType));
  for (const t of pc.getTransceivers()) {
    if (t.sender.track && t.sender.track.kind === 'video' && t.setCodecPreferences) t.setCodecPreferences(vp8);
  }

  state.mute = async (name) => { await senders[name].sender.replaceTrack(null); };
  state.unmute = async (name) => { await senders[name].sender.replaceTrack(senders[name].track); };
  // stop() rejects the m-line in the next offer (port 0): sent at once (negotiationneeded).
  state.stopTransceiver = (name) => {
    const t = pc.getTransceivers().find((x) => x.sender === senders[name].sender);
    t.stop();
  };
  pc.onnegotiationneeded = async () => {
    if (!state.answered || pc.signalingState !== 'stable') return; // the first offer: ws.onopen
    try {
      await pc.setLocalDescription(await pc.createOffer());
      state.offers = (state.offers || 1) + 1;
      send({ type: 'offer', sdp: outgoing(pc.localDescription.sdp) });
    } catch (e) {
      fail(`renegotiation: ${e}`);
    }
  };
  state.close = () => pc.close();

  const ws = new WebSocket(`ws://${location.host}/ws`);
  const send = (m) => { if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(m)); };
  const pending = [];
  let remoteSet = false;
  pc.onicecandidate = (e) => {
    if (e.candidate) send({ type: 'candidate', candidate: e.candidate.candidate, sdpMLineIndex: e.candidate.sdpMLineIndex });
  };
  pc.onconnectionstatechange = () => { state.connectionState = pc.connectionState; };
  // ?msid=media-only: the offer sent keeps only the media-level a=msid lines (as Firefox
  // writes them; webrtcbin 1.22 does not parse them): the receiver must read them itself.
  // ?msid=ssrc-only: only the ssrc-level ones (older senders; webrtcbin parses their stream
  // part).
  const msidMode = new URLSearchParams(location.search).get('msid');
  const outgoing = (sdp) => {
    if (msidMode === 'media-only') return sdp.replace(/^a=ssrc:\d+ msid:.*\r?\n/gm, '');
    if (msidMode === 'ssrc-only') return sdp.replace(/^a=msid:.*\r?\n/gm, '');
    return sdp;
  };
  ws.onopen = async () => {
    try {
      await pc.setLocalDescription(await pc.createOffer());
      state.offer = outgoing(pc.localDescription.sdp);
      send({ type: 'offer', sdp: state.offer });
    } catch (e) {
      fail(`offer: ${e}`);
    }
  };
  ws.onmessage = async (event) => {
    const m = JSON.parse(event.data);
    try {
      if (m.type === 'answer') {
        await pc.setRemoteDescription({ type: 'answer', sdp: m.sdp });
        remoteSet = true;
        state.answered = true;
        for (const c of pending.splice(0)) await pc.addIceCandidate(c);
      } else if (m.type === 'candidate') {
        const c = { candidate: m.candidate, sdpMLineIndex: m.sdpMLineIndex };
        if (remoteSet) await pc.addIceCandidate(c);
        else pending.push(c);
      }
    } catch (e) {
      fail(`${m.type}: ${e}`);
    }
  };
  ws.onerror = () => fail('WebSocket error');
})();
