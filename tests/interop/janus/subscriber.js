// A Janus VideoRoom subscriber in a page (janus-driver.js adds it to each of its pages): joins
// the room as a subscriber of one feed over Janus's WebSocket API, with use_msid, answers
// Janus's offer and measures what arrives into window.sub: the MediaStream ids and tracks
// (id, kind, label, mid), the per-mid descriptions Janus forwards from the publisher, frames
// presented on each video track, the colour at the centre of the picture and the audio energy.
'use strict';

// The canvas colours of tests/examples/janus-publish.cpp (one per second).
const PALETTE = { red: [219, 41, 41], green: [41, 199, 61], blue: [41, 79, 219], yellow: [230, 209, 41] };

window.janusSubscribe = function janusSubscribe({ url, room, feed }) {
  const state = {
    started: performance.now(), errors: [], log: [], streamIds: [], tracks: [], streams: null,
    frames: {}, firstFrameMs: null, colours: [], colourChanges: 0, audioRms: 0, audioRmsMax: 0,
    audioPeakHz: 0, iceState: 'new', done: false,
  };
  window.sub = state;
  const fail = (what) => { state.errors.push(String(what)); };
  const ws = new WebSocket(url, 'janus-protocol');
  const pending = new Map();
  let sessionId = null;
  let handleId = null;
  let counter = 0;

  // A Janus request; resolves with the answer that is not an "ack".
  const send = (janus, extra = {}) => new Promise((resolve, reject) => {
    const transaction = `sub-${++counter}`;
    pending.set(transaction, { resolve, reject });
    const message = { janus, transaction, ...extra };
    if (sessionId !== null) message.session_id = sessionId;
    if (handleId !== null) message.handle_id = handleId;
    ws.send(JSON.stringify(message));
  });
  ws.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.janus === 'ack') return;
    const waiting = pending.get(message.transaction);
    if (waiting) {
      pending.delete(message.transaction);
      if (message.janus === 'error') waiting.reject(new Error(message.error && message.error.reason));
      else waiting.resolve(message);
      return;
    }
    if (message.janus === 'hangup' || message.janus === 'timeout') fail(`janus: ${message.janus} ${message.reason || ''}`);
    state.log.push(message.janus);
  };
  ws.onerror = () => fail('WebSocket error');

  const pc = new RTCPeerConnection({});
  pc.oniceconnectionstatechange = () => { state.iceState = pc.iceConnectionState; };
  pc.onicecandidate = (event) => {
    if (handleId === null) return;
    const candidate = event.candidate
      ? { candidate: event.candidate.candidate, sdpMid: event.candidate.sdpMid, sdpMLineIndex: event.candidate.sdpMLineIndex }
      : { completed: true };
    send('trickle', { candidate }).catch(() => {});
  };
  pc.ontrack = (event) => {
    const track = event.track;
    for (const stream of event.streams) if (!state.streamIds.includes(stream.id)) state.streamIds.push(stream.id);
    state.tracks.push({ id: track.id, kind: track.kind, label: track.label, mid: event.transceiver.mid,
      streams: event.streams.map((s) => s.id), readyState: track.readyState });
    if (track.kind === 'video') watchVideo(track, event.transceiver.mid);
    else watchAudio(track);
  };

  function watchVideo(track, mid) {
    const video = document.createElement('video');
    video.muted = true;
    video.autoplay = true;
    video.playsInline = true;
    video.srcObject = new MediaStream([track]);
    document.body.appendChild(video);
    video.play().catch((e) => fail(`video.play(): ${e}`));
    const scratch = document.createElement('canvas');
    scratch.width = 64;
    scratch.height = 36;
    const context = scratch.getContext('2d', { willReadFrequently: true });
    state.frames[mid] = 0;
    const onFrame = () => {
      state.frames[mid]++;
      if (state.firstFrameMs === null) state.firstFrameMs = performance.now() - state.started;
      // The colour at the centre (the caption is at the bottom), named after the nearest
      // palette colour when it is close enough.
      context.drawImage(video, 0, 0, scratch.width, scratch.height);
      const d = context.getImageData(28, 14, 8, 8).data;
      const rgb = [0, 0, 0];
      for (let i = 0; i < d.length; i += 4) for (let c = 0; c < 3; c++) rgb[c] += d[i + c] / (d.length / 4);
      let best = null;
      let bestDistance = 80;
      for (const [name, ref] of Object.entries(PALETTE)) {
        const distance = Math.hypot(rgb[0] - ref[0], rgb[1] - ref[1], rgb[2] - ref[2]);
        if (distance < bestDistance) { best = name; bestDistance = distance; }
      }
      if (best) {
        if (!state.colours.includes(best)) state.colours.push(best);
        if (state.lastColour && state.lastColour !== best) state.colourChanges++;
        state.lastColour = best;
      }
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  }

  function watchAudio(track) {
    // Chromium feeds remote WebRTC audio into Web Audio only while a media element plays it.
    const audio = document.createElement('audio');
    audio.muted = true;
    audio.autoplay = true;
    audio.srcObject = new MediaStream([track]);
    document.body.appendChild(audio);
    audio.play().catch((e) => fail(`audio.play(): ${e}`));
    const context = new AudioContext();
    const analyser = context.createAnalyser();
    analyser.fftSize = 2048;
    context.createMediaStreamSource(new MediaStream([track])).connect(analyser);
    context.resume().catch(() => {});
    const samples = new Float32Array(analyser.fftSize);
    const spectrum = new Float32Array(analyser.frequencyBinCount);
    setInterval(() => {
      analyser.getFloatTimeDomainData(samples);
      let energy = 0;
      for (const s of samples) energy += s * s;
      state.audioRms = Math.sqrt(energy / samples.length);
      state.audioRmsMax = Math.max(state.audioRmsMax, state.audioRms);
      analyser.getFloatFrequencyData(spectrum);
      let peak = 1;
      for (let i = 1; i < spectrum.length; i++) if (spectrum[i] > spectrum[peak]) peak = i;
      if (state.audioRms > 0.01) state.audioPeakHz = peak * context.sampleRate / analyser.fftSize;
    }, 100);
  }

  ws.onopen = async () => {
    try {
      sessionId = (await send('create')).data.id;
      setInterval(() => send('keepalive').catch(() => {}), 20000);
      handleId = (await send('attach', { plugin: 'janus.plugin.videoroom' })).data.id;
      const joined = await send('message', {
        body: { request: 'join', ptype: 'subscriber', room, streams: [{ feed }], use_msid: true },
      });
      const data = joined.plugindata && joined.plugindata.data;
      if (!data || data.videoroom !== 'attached' || !joined.jsep) {
        throw new Error(`join as subscriber: ${JSON.stringify(data)}`);
      }
      state.streams = data.streams;
      await pc.setRemoteDescription(joined.jsep);
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      const started = await send('message', { body: { request: 'start' }, jsep: { type: 'answer', sdp: answer.sdp } });
      const startData = started.plugindata && started.plugindata.data;
      if (!startData || startData.error) throw new Error(`start: ${JSON.stringify(startData)}`);
      state.offerSdp = joined.jsep.sdp;
    } catch (e) {
      fail(e.message || e);
    }
  };
};
