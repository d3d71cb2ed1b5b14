// Receives one MediaStream from a GStreamer webrtcbin (signalling: see
// tests/interop/common/webrtc-signalling.h), shows it, and measures it for the interop test.
//
// Everything measured is in window.interop (read by tests/interop/driver.js):
//   streamId, tracks[], firstFrameMs (since the WebSocket opened), frames (video frame callbacks),
//   lastColour [r,g,b] at the centre of the solid colour area, latency samples decoded from the
//   barcode the sender draws (capture wall clock -> presentation in this page), audio RMS.
'use strict';

(() => {
  const state = {
    connected: false,
    closed: false,
    errors: [],
    hello: null,
    streamId: null,
    streams: 0,
    tracks: [],
    wsOpenedAt: null,
    firstFrameAt: null,
    firstFrameMs: null,
    frames: 0,
    frameTimes: [],
    videoWidth: 0,
    videoHeight: 0,
    lastColour: null,
    colourHistory: [], // [wallMs, '#rrggbb'] when the sampled colour changed
    latency: [], // {stamp, captureToRead}: canvas draw -> pixels read back in this page (ms)
    barcodeFailures: 0,
    audioRms: 0,
    audioPeakHz: null,
    audioRmsMax: 0,
    iceState: 'new',
    connectionState: 'new',
    messages: [],
  };
  window.interop = state;

  const statusEl = document.getElementById('status');
  const video = document.getElementById('video');
  const setStatus = (text, isError) => {
    statusEl.textContent = text;
    statusEl.className = isError ? 'error' : '';
  };
  const fail = (text) => {
    state.errors.push(text);
    setStatus(text, true);
    console.error(text);
  };

  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
  const pc = new RTCPeerConnection({ iceServers: [] });
  let remoteSet = false;
  const pendingCandidates = [];
  let stream = null;

  const send = (message) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
  };
  state.send = send;
  // Frames the sender's canvas has drawn so far: {framesDrawn, wallMs}.
  const senderStatsWaiters = [];
  state.senderStats = () => new Promise((resolve) => {
    senderStatsWaiters.push(resolve);
    send({ type: 'get-sender-stats' });
  });

  pc.onicecandidate = (event) => {
    if (event.candidate) {
      send({ type: 'candidate', candidate: event.candidate.candidate,
             sdpMLineIndex: event.candidate.sdpMLineIndex });
    }
  };
  pc.oniceconnectionstatechange = () => { state.iceState = pc.iceConnectionState; };
  pc.onconnectionstatechange = () => {
    state.connectionState = pc.connectionState;
    if (pc.connectionState === 'failed') fail('WebRTC connection failed');
  };
  pc.ontrack = (event) => {
    if (event.streams.length === 0) {
      fail(`track ${event.track.id} (${event.track.kind}) arrived without a stream (no msid?)`);
      return;
    }
    state.streams = Math.max(state.streams, event.streams.length);
    if (!stream) {
      stream = event.streams[0];
      state.streamId = stream.id;
      document.getElementById('stream-id').textContent = stream.id;
      video.srcObject = stream;
      video.play().catch((e) => fail(`video.play(): ${e}`));
      stream.onaddtrack = renderTracks;
      stream.onremovetrack = renderTracks;
      startVideoMeasurement();
    } else if (stream.id !== event.streams[0].id) {
      fail(`a second MediaStream arrived: ${event.streams[0].id}`);
    }
    const track = event.track;
    for (const name of ['mute', 'unmute', 'ended']) track.addEventListener(name, renderTracks);
    if (track.kind === 'audio') startAudioMeasurement(track);
    renderTracks();
  };

  function renderTracks() {
    if (!stream) return;
    const tracks = stream.getTracks().map((t) => ({
      kind: t.kind, id: t.id, label: t.label, muted: t.muted, readyState: t.readyState,
    }));
    state.tracks = tracks;
    const body = document.getElementById('tracks');
    body.textContent = '';
    for (const t of tracks) {
      const row = body.insertRow();
      for (const key of ['kind', 'id', 'label', 'muted', 'readyState']) {
        row.insertCell().textContent = String(t[key]);
      }
    }
  }
  setInterval(renderTracks, 500);

  async function onOffer(sdp) {
    await pc.setRemoteDescription({ type: 'offer', sdp });
    remoteSet = true;
    for (const c of pendingCandidates.splice(0)) await addCandidate(c);
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    send({ type: 'answer', sdp: pc.localDescription.sdp });
    setStatus('negotiated, waiting for media…');
  }

  async function addCandidate(message) {
    try {
      await pc.addIceCandidate({ candidate: message.candidate, sdpMLineIndex: message.sdpMLineIndex });
    } catch (e) {
      fail(`addIceCandidate(${message.candidate}): ${e}`);
    }
  }

  ws.onopen = () => {
    state.connected = true;
    state.wsOpenedAt = performance.now();
    setStatus('connected, negotiating…');
  };
  ws.onclose = () => { state.closed = true; };
  ws.onerror = () => fail('WebSocket error');
  ws.onmessage = async (event) => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch (e) {
      fail(`bad message: ${event.data}`);
      return;
    }
    try {
      if (message.type === 'offer') {
        await onOffer(message.sdp);
      } else if (message.type === 'candidate') {
        if (remoteSet) await addCandidate(message);
        else pendingCandidates.push(message);
      } else if (message.type === 'hello') {
        state.hello = message;
      } else if (message.type === 'sender-stats' && senderStatsWaiters.length) {
        senderStatsWaiters.shift()({ framesDrawn: Number(message.framesDrawn), wallMs: message.wallMs });
      } else if (message.type === 'sender-error') {
        fail(`sender: ${message.message}`);
      } else {
        state.messages.push(message);
      }
    } catch (e) {
      fail(`${message.type}: ${e}`);
    }
  };

  // --- Video: frames, colour, barcode --------------------------------------------------------
  const scratch = document.createElement('canvas');
  const scratchContext = scratch.getContext('2d', { willReadFrequently: true });
  const hex = (rgb) => '#' + rgb.map((v) => v.toString(16).padStart(2, '0')).join('');

  function readFrame() {
    const w = video.videoWidth;
    const h = video.videoHeight;
    if (!w || !h) return;
    state.videoWidth = w;
    state.videoHeight = h;
    if (scratch.width !== w || scratch.height !== h) {
      scratch.width = w;
      scratch.height = h;
    }
    scratchContext.drawImage(video, 0, 0, w, h);
    const layout = state.hello && state.hello.barcode;
    const sx = w / ((state.hello && state.hello.video.width) || w);
    const sy = h / ((state.hello && state.hello.video.height) || h);
    const colourHeight = layout ? layout.colourHeight : h;

    // Mean colour of a 16x16 patch at the centre of the solid area.
    const patch = scratchContext.getImageData(Math.round(w / 2 - 8), Math.round(colourHeight * sy / 2 - 8), 16, 16).data;
    const sum = [0, 0, 0];
    for (let i = 0; i < patch.length; i += 4) {
      sum[0] += patch[i];
      sum[1] += patch[i + 1];
      sum[2] += patch[i + 2];
    }
    const colour = sum.map((v) => Math.round(v / (patch.length / 4)));
    const previous = state.lastColour;
    state.lastColour = colour;
    if (!previous || previous.some((v, i) => Math.abs(v - colour[i]) > 40)) {
      state.colourHistory.push([Date.now(), hex(colour)]);
    }

    if (!layout) return;
    // The barcode: block centres, luma > 128 is 1. BigInt-free: 48 bits as two halves.
    const strip = scratchContext.getImageData(0, Math.round(layout.y * sy), w,
      Math.round(((layout.bits / layout.bitsPerRow - 1) * layout.rowPitch + layout.blockHeight) * sy)).data;
    let high = 0; // bits 47..24
    let low = 0; // bits 23..0
    for (let i = 0; i < layout.bits; i++) {
      const x = Math.round((layout.x + (i % layout.bitsPerRow) * layout.blockWidth + layout.blockWidth / 2) * sx);
      const y = Math.round((Math.floor(i / layout.bitsPerRow) * layout.rowPitch + layout.blockHeight / 2) * sy);
      const o = (y * w + x) * 4;
      const luma = 0.299 * strip[o] + 0.587 * strip[o + 1] + 0.114 * strip[o + 2];
      const bit = luma > 128 ? 1 : 0;
      if (i < 24) high = high * 2 + bit;
      else low = low * 2 + bit;
    }
    const check = (high >>> 8) & 0xffff;
    const stamp = ((high & 0xff) * 0x1000000 + low) >>> 0;
    if (check !== (Math.imul(stamp, 0x9e3779b1) >>> 16)) {
      state.barcodeFailures++;
      return;
    }
    // The frame drawn above is the video's current frame, which may already be newer than the
    // one this callback's metadata describes: so the latency ends now, when the page holds the
    // frame's pixels (low 32 bits of wall-clock milliseconds, like the stamp; signed).
    const readAt = Math.round(performance.timeOrigin + performance.now());
    let latency = (readAt - stamp) % 0x100000000;
    if (latency < 0) latency += 0x100000000;
    if (latency >= 0x80000000) latency -= 0x100000000;
    state.latency.push({ stamp, captureToRead: latency });
    if (state.latency.length > 2000) state.latency.splice(0, 1000);
  }

  function startVideoMeasurement() {
    if (!('requestVideoFrameCallback' in HTMLVideoElement.prototype)) {
      fail('requestVideoFrameCallback is not supported');
      return;
    }
    const onFrame = (now) => {
      state.frames++;
      state.frameTimes.push(now);
      if (state.frameTimes.length > 600) state.frameTimes.splice(0, 300);
      if (state.firstFrameAt === null) {
        state.firstFrameAt = now;
        state.firstFrameMs = now - state.wsOpenedAt;
        state.firstFrameWallMs = Date.now();
        setStatus('receiving');
      }
      try {
        readFrame();
      } catch (e) {
        fail(`reading the frame: ${e}`);
      }
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  }

  // --- Audio: RMS of the received track through Web Audio ---------------------------------
  function startAudioMeasurement(track) {
    // Chromium only feeds remote WebRTC audio into Web Audio while it is also attached to a
    // media element; the video element (muted) already plays the whole stream.
    const context = new AudioContext();
    const source = context.createMediaStreamSource(new MediaStream([track]));
    const analyser = context.createAnalyser();
    analyser.fftSize = 2048;
    source.connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    const spectrum = new Float32Array(analyser.frequencyBinCount);
    state.audioContextState = () => context.state;
    context.resume().catch(() => {});
    setInterval(() => {
      analyser.getFloatTimeDomainData(samples);
      let energy = 0;
      for (const s of samples) energy += s * s;
      state.audioRms = Math.sqrt(energy / samples.length);
      state.audioRmsMax = Math.max(state.audioRmsMax, state.audioRms);
      // The strongest frequency, to tell the sender's tone from noise.
      analyser.getFloatFrequencyData(spectrum);
      let peak = 0;
      for (let i = 1; i < spectrum.length; i++) if (spectrum[i] > spectrum[peak]) peak = i;
      state.audioPeakHz = peak * context.sampleRate / analyser.fftSize;
    }, 100);
  }

  // --- Figures --------------------------------------------------------------------------------
  state.summary = async () => {
    const stats = await pc.getStats();
    const inbound = {};
    stats.forEach((report) => {
      if (report.type === 'inbound-rtp') {
        inbound[report.kind] = {
          packetsReceived: report.packetsReceived,
          packetsLost: report.packetsLost,
          bytesReceived: report.bytesReceived,
          framesDecoded: report.framesDecoded,
          framesReceived: report.framesReceived,
          framesDropped: report.framesDropped,
          framesPerSecond: report.framesPerSecond,
          frameWidth: report.frameWidth,
          frameHeight: report.frameHeight,
          jitterBufferDelay: report.jitterBufferDelay,
          jitterBufferEmittedCount: report.jitterBufferEmittedCount,
          totalAudioEnergy: report.totalAudioEnergy,
          audioLevel: report.audioLevel,
          totalSamplesReceived: report.totalSamplesReceived,
          codecId: report.codecId,
        };
      }
    });
    let pair = null;
    stats.forEach((report) => {
      if (report.type === 'candidate-pair' && report.nominated && report.state === 'succeeded') {
        const local = stats.get(report.localCandidateId);
        const remote = stats.get(report.remoteCandidateId);
        pair = `${local && local.address}:${local && local.port} <-> ${remote && remote.address}:${remote && remote.port} (${local && local.protocol})`;
      }
    });
    return { inbound, pair };
  };

  setInterval(() => {
    const l = state.latency.slice(-30).map((s) => s.captureToRead).sort((a, b) => a - b);
    const median = l.length ? l[Math.floor(l.length / 2)] : null;
    document.getElementById('figures').textContent =
      `frames ${state.frames}, first frame after ${state.firstFrameMs === null ? '–' : state.firstFrameMs.toFixed(0)} ms, ` +
      `latency ${median === null ? '–' : median + ' ms'}, audio RMS ${state.audioRms.toFixed(3)}`;
  }, 500);
})();
