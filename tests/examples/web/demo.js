// mediastream-demo page: receives the demo's MediaStream over WebRTC (signalling: see
// tests/interop/common/webrtc-signalling.h), shows each video track, plays the audio, and lists
// the stream and its tracks live, next to the stream as the pipeline sees it (whose `enabled`
// it can toggle). State for automated checks: window.demo.
'use strict';

(() => {
  const state = { streamId: null, pipeline: null, tracks: [], frames: {}, firstFrameMs: null, errors: [] };
  window.demo = state;
  const $ = (id) => document.getElementById(id);
  const status = (text, isError) => { $('status').textContent = text; $('status').className = isError ? 'error' : ''; };
  const fail = (text) => { state.errors.push(text); status(text, true); console.error(text); };

  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
  const pc = new RTCPeerConnection({ iceServers: [] });
  const send = (m) => { if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(m)); };
  let remoteSet = false;
  const pending = [];
  let stream = null;
  let openedAt = null;
  const audio = new Audio();

  pc.onicecandidate = (e) => {
    if (e.candidate) send({ type: 'candidate', candidate: e.candidate.candidate, sdpMLineIndex: e.candidate.sdpMLineIndex });
  };
  pc.onconnectionstatechange = () => {
    if (pc.connectionState === 'failed') fail('WebRTC connection failed');
    else if (pc.connectionState === 'connected') status('receiving');
  };
  pc.ontrack = (event) => {
    if (!event.streams.length) { fail(`track ${event.track.id} arrived without a stream`); return; }
    if (!stream) {
      stream = event.streams[0];
      state.streamId = stream.id;
      $('stream-id').textContent = stream.id;
      stream.onaddtrack = render;
      stream.onremovetrack = render;
    }
    const track = event.track;
    for (const name of ['mute', 'unmute', 'ended']) track.addEventListener(name, render);
    if (track.kind === 'video') addVideo(track);
    else playAudio(track);
    render();
  };

  function addVideo(track) {
    const figure = document.createElement('figure');
    const video = document.createElement('video');
    video.autoplay = true;
    video.muted = true;
    video.playsInline = true;
    video.srcObject = new MediaStream([track]);
    const caption = document.createElement('figcaption');
    caption.textContent = track.id;
    figure.append(video, caption);
    $('videos').append(figure);
    state.frames[track.id] = 0;
    const times = [];
    const onFrame = (now) => {
      state.frames[track.id]++;
      times.push(now);
      if (times.length > 60) times.shift();
      track.fps = times.length > 1 ? (1000 * (times.length - 1)) / (times[times.length - 1] - times[0]) : 0;
      if (state.firstFrameMs === null) state.firstFrameMs = performance.now() - openedAt;
      video.requestVideoFrameCallback(onFrame);
    };
    if ('requestVideoFrameCallback' in video) video.requestVideoFrameCallback(onFrame);
    video.play().catch(() => {});
  }

  function playAudio(track) {
    const tracks = audio.srcObject ? audio.srcObject.getAudioTracks() : [];
    audio.srcObject = new MediaStream([...tracks, track]);
    audio.play().catch(() => {
      // Autoplay with sound needs a user gesture in most browsers.
      $('unmute').hidden = false;
      $('unmute').onclick = () => { audio.play(); $('unmute').hidden = true; };
    });
  }

  function render() {
    if (!stream) return;
    state.tracks = stream.getTracks().map((t) => ({ kind: t.kind, id: t.id, label: t.label, muted: t.muted, readyState: t.readyState }));
    const body = $('tracks');
    body.textContent = '';
    for (const t of stream.getTracks()) {
      const row = body.insertRow();
      for (const v of [t.kind, t.id, t.label, t.muted, t.readyState, t.fps ? t.fps.toFixed(1) : '–']) row.insertCell().textContent = String(v);
    }
  }
  setInterval(render, 500);

  function renderPipeline(info) {
    state.pipeline = info;
    $('pipeline-id').textContent = `${info.id}${info.active ? '' : ' (inactive)'}`;
    const body = $('pipeline-tracks');
    body.textContent = '';
    for (const t of info.tracks) {
      const row = body.insertRow();
      for (const v of [t.pad, t.kind, t.id, t.label]) row.insertCell().textContent = v;
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.checked = t.enabled;
      box.title = 'enabled=false: black frames / silence';
      box.onchange = () => send({ type: 'set-enabled', trackId: t.id, enabled: box.checked });
      row.insertCell().append(box);
      for (const v of [t.muted, t.readyState, t.settings.replace(/^settings, /, '')]) row.insertCell().textContent = String(v);
    }
  }

  ws.onopen = () => { openedAt = performance.now(); status('connected, negotiating…'); };
  ws.onclose = () => status('the demo stopped (WebSocket closed)', true);
  ws.onmessage = async (event) => {
    const m = JSON.parse(event.data);
    try {
      if (m.type === 'offer') {
        await pc.setRemoteDescription({ type: 'offer', sdp: m.sdp });
        remoteSet = true;
        for (const c of pending.splice(0)) await pc.addIceCandidate(c);
        await pc.setLocalDescription(await pc.createAnswer());
        send({ type: 'answer', sdp: pc.localDescription.sdp });
      } else if (m.type === 'candidate') {
        const c = { candidate: m.candidate, sdpMLineIndex: m.sdpMLineIndex };
        if (remoteSet) await pc.addIceCandidate(c);
        else pending.push(c);
      } else if (m.type === 'stream') {
        renderPipeline(m);
      }
    } catch (e) {
      fail(`${m.type}: ${e}`);
    }
  };

  setInterval(() => {
    const fps = stream ? stream.getVideoTracks().map((t) => (t.fps || 0).toFixed(1)).join(' / ') : '–';
    $('figures').textContent = `first frame ${state.firstFrameMs === null ? '–' : state.firstFrameMs.toFixed(0) + ' ms'} after the WebSocket opened; frames/s ${fps}` +
      (state.pipeline && stream ? `; stream id ${state.pipeline.id === stream.id ? 'matches' : 'DIFFERS from'} the pipeline's` : '');
  }, 500);
})();
