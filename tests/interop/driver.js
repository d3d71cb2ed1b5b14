#!/usr/bin/env node
// Drives the interop test (run by run-interop.sh inside a private network namespace):
// starts interop-sender on 127.0.0.1, opens its page in headless chromium and asserts, from
// inside the page, what arrived over WebRTC. Prints the figures; exits 0 only when every check
// passed. Everything it starts is stopped before it exits (and the namespace kills the rest).
'use strict';

const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const path = require('node:path');

const { parseArgs, makeChecks } = require('./checks.js');

const args = parseArgs(process.argv.slice(2), ['modules', 'sender', 'chromium']);
const { launch: launchChromium } = require('./chromium.js');
const webRoot = path.join(__dirname, 'web');
const deadlineMs = Number(process.env.INTEROP_TIMEOUT_MS || 45000);
const startedAt = Date.now();
const remaining = () => Math.max(1000, deadlineMs - (Date.now() - startedAt));

const log = (...a) => console.log('interop:', ...a);
const { check, summary } = makeChecks(startedAt);

let sender = null;
let senderExited = null;
let browser = null;

async function stopAll() {
  if (browser) {
    const b = browser;
    browser = null;
    await Promise.race([b.close().catch(() => {}), new Promise((r) => setTimeout(r, 5000))]);
  }
  if (sender && sender.exitCode === null && sender.signalCode === null) {
    sender.kill('SIGTERM');
    const exited = await Promise.race([senderExited.then(() => true), new Promise((r) => setTimeout(() => r(false), 5000))]);
    if (!exited) {
      log('interop-sender did not stop on SIGTERM; killing it');
      sender.kill('SIGKILL');
      await senderExited;
    }
  }
}

function startSender(streamId, colour) {
  return new Promise((resolve, reject) => {
    sender = spawn(args.sender, ['--web-root', webRoot, '--stream-id', streamId, '--color', colour,
      '--address', '127.0.0.1', '--port', '0', '--exit-after', String(Math.ceil(deadlineMs / 1000) + 10)],
    { stdio: ['ignore', 'pipe', 'pipe'] });
    senderExited = new Promise((r) => sender.once('exit', (code, signal) => r({ code, signal })));
    let buffered = '';
    const timer = setTimeout(() => reject(new Error('interop-sender did not start listening within 10 s')), 10000);
    sender.stdout.on('data', (chunk) => {
      const text = chunk.toString();
      process.stdout.write(text.replace(/^/gm, '  [sender] ').replace(/  \[sender\] $/, ''));
      buffered += text;
      const m = /listening on (\S+)/.exec(buffered);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    sender.stderr.on('data', (chunk) => process.stdout.write(chunk.toString().replace(/^(?=.)/gm, '  [sender] ')));
    senderExited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`interop-sender exited (code ${code}, signal ${signal})`));
    });
  });
}

// Waits until fn (evaluated in the page with arg) returns a truthy value; returns it.
async function waitInPage(page, what, fn, arg, timeoutMs) {
  try {
    const handle = await page.waitForFunction(fn, arg, { timeout: Math.min(timeoutMs, remaining()), polling: 50 });
    return await handle.jsonValue();
  } catch (e) {
    const state = await page.evaluate(() => ({
      errors: window.interop.errors, ice: window.interop.iceState, connection: window.interop.connectionState,
      frames: window.interop.frames, colour: window.interop.lastColour, streamId: window.interop.streamId,
    })).catch(() => ({}));
    throw new Error(`timed out waiting for ${what}; page state ${JSON.stringify(state)}`);
  }
}

const closeTo = (a, b, tolerance) => a && a.every((v, i) => Math.abs(v - b[i]) <= tolerance);
const rgbOf = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
const percentile = (values, p) => {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
};

async function run() {
  const streamId = crypto.randomUUID();
  const colours = ['#ff0000', '#0040ff', '#00c000'];
  const tolerance = 40; // I420 + VP8 + RGB conversion of a flat area stays well inside this

  const url = await startSender(streamId, colours[0]);
  log(`sender at ${url}, stream id ${streamId}`);

  const launchedAt = Date.now();
  browser = await launchChromium(args.modules, args.chromium);
  const page = await browser.newPage();
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') log(`[page ${m.type()}] ${m.text()}`); });
  page.on('pageerror', (e) => log(`[page exception] ${e.message}`));
  log(`chromium ${browser.version()} started in ${Date.now() - launchedAt} ms`);

  const navigatedAt = Date.now();
  await page.goto(url, { timeout: 10000 });
  await waitInPage(page, 'the first video frame', () => window.interop.firstFrameAt !== null || window.interop.errors.length > 0, null, 20000);
  const early = await page.evaluate(() => window.interop.errors);
  if (early.length) throw new Error(`page errors: ${early.join('; ')}`);

  // 1. One MediaStream, the sender's id, one video and one audio track.
  await waitInPage(page, 'both tracks', () => window.interop.tracks.length >= 2, null, 5000).catch(() => {});
  const info = await page.evaluate(() => ({
    streamId: window.interop.streamId, streams: window.interop.streams, tracks: window.interop.tracks,
    firstFrameMs: window.interop.firstFrameMs, firstFrameWallMs: window.interop.firstFrameWallMs, width: window.interop.videoWidth, height: window.interop.videoHeight,
  }));
  check('received MediaStream id equals the sender\'s msid', info.streamId === streamId, `${info.streamId}`);
  check('the tracks arrived in one stream', info.streams === 1, `streams per track event: ${info.streams}`);
  // Track ids (MS-5): the sender's offer is mediastreambin's annotate-sdp copy.
  const pipelineTracks = await page.evaluate(() => {
    const m = window.interop.messages.find((x) => x.type === 'pipeline-tracks');
    return m ? m.tracks : [];
  });
  const idsOk = pipelineTracks.length === 2 && pipelineTracks.every((p) => info.tracks.some((t) => t.id === p.trackId && t.kind === p.kind));
  check("each MediaStreamTrack.id is its track pad's track-id", idsOk,
    info.tracks.map((t) => `${t.kind} ${t.id}`).join(', '));
  const kinds = info.tracks.map((t) => t.kind).sort();
  check('one video and one audio track', kinds.length === 2 && kinds[0] === 'audio' && kinds[1] === 'video', kinds.join(', '));
  check('tracks live and unmuted', info.tracks.every((t) => t.readyState === 'live' && !t.muted),
    info.tracks.map((t) => `${t.kind} ${t.readyState}${t.muted ? ' muted' : ''}`).join(', '));
  check('video size is the canvas size', info.width === 640 && info.height === 360, `${info.width}x${info.height}`);

  // 2. The canvas colour, then a change made on the pipeline side, seen in the page.
  const first = await waitInPage(page, `colour ${colours[0]}`, ([c, t]) => {
    const l = window.interop.lastColour;
    return l && l.every((v, i) => Math.abs(v - c[i]) <= t) && l;
  }, [rgbOf(colours[0]), tolerance], 5000).catch((e) => { log(e.message); return null; });
  check(`pixel colour matches the canvas (${colours[0]})`, first !== null, first ? `page read rgb(${first})` : 'never seen');

  const colourChanges = [];
  for (const colour of colours.slice(1)) {
    const asked = Date.now();
    await page.evaluate((c) => window.interop.send({ type: 'set-color', rgb: c }), colour);
    const seen = await waitInPage(page, `colour ${colour}`, ([c, t]) => {
      const l = window.interop.lastColour;
      return l && l.every((v, i) => Math.abs(v - c[i]) <= t) && l;
    }, [rgbOf(colour), tolerance], 5000).catch((e) => { log(e.message); return null; });
    const after = Date.now() - asked;
    check(`colour changed from the pipeline side is seen (${colour})`, seen !== null,
      seen ? `rgb(${seen}) after ${after} ms` : 'never seen');
    if (seen) colourChanges.push(after);
  }

  // 3. Frame rate and latency over a 3 s window.
  const measure = async () => ({
    sender: await page.evaluate(() => window.interop.senderStats()),
    decoded: (await page.evaluate(() => window.interop.summary())).inbound.video.framesDecoded,
  });
  const counts0 = await measure();
  const window0 = await page.evaluate(() => ({ frames: window.interop.frames, at: performance.now(), latency: window.interop.latency.length, failures: window.interop.barcodeFailures }));
  await page.waitForTimeout(3000);
  const window1 = await page.evaluate(() => ({ frames: window.interop.frames, at: performance.now(), latency: window.interop.latency.slice(-200), latencyCount: window.interop.latency.length, failures: window.interop.barcodeFailures, audioRms: window.interop.audioRms, audioRmsMax: window.interop.audioRmsMax, audioPeakHz: window.interop.audioPeakHz, audioContext: window.interop.audioContextState ? window.interop.audioContextState() : 'none' }));
  const counts1 = await measure();
  const summary = await page.evaluate(() => window.interop.summary());
  const fps = (window1.frames - window0.frames) / ((window1.at - window0.at) / 1000);
  const drawn = counts1.sender.framesDrawn - counts0.sender.framesDrawn;
  const drawnFps = drawn / ((counts1.sender.wallMs - counts0.sender.wallMs) / 1000);
  const decodedInWindow = counts1.decoded - counts0.decoded;
  check('video frames keep arriving (>= 10 per second)', fps >= 10,
    `${fps.toFixed(1)} fps presented; the canvas drew ${drawnFps.toFixed(1)} fps`);
  check('every frame the canvas drew is decoded in the page (>= 90 %)', drawn > 0 && decodedInWindow >= 0.9 * drawn,
    `${decodedInWindow} decoded of ${drawn} drawn in the same window`);

  const windowLatency = window1.latency.slice(-(window1.latencyCount - window0.latency));
  const decoded = window1.latencyCount - window0.latency;
  const framesInWindow = window1.frames - window0.frames;
  check('the barcode timestamps decode from most frames', decoded >= 0.8 * framesInWindow,
    `${decoded} of ${framesInWindow} frames, ${window1.failures - window0.failures} failed the check`);
  const present = windowLatency.map((s) => s.captureToRead);
  const latencyOk = present.length > 0 && Math.min(...present) >= -2 && percentile(present, 0.5) < 1000;
  check('end-to-end latency is measured, never negative, median below 1 s', latencyOk,
    present.length ? `median ${percentile(present, 0.5)} ms, min ${Math.min(...present)} ms` : 'no samples');

  // 4. Audio energy above silence (440 Hz sine at volume 0.4 -> RMS ~0.28).
  const audioStats = summary.inbound.audio || {};
  check('audio arrives with energy above silence (Web Audio RMS > 0.01)', window1.audioRms > 0.01,
    `RMS ${window1.audioRms.toFixed(3)} (max ${window1.audioRmsMax.toFixed(3)}), AudioContext ${window1.audioContext}`);
  check('the audio is the sender\'s 440 Hz tone', Math.abs(window1.audioPeakHz - 440) < 30,
    `spectrum peak at ${window1.audioPeakHz === null ? '-' : window1.audioPeakHz.toFixed(0)} Hz`);

  // 5. Tracks disabled on the pipeline side (enabled=false on mediastreambin's track pads):
  // black frames and silence reach the page; enabled again, the canvas colour comes back.
  const last = colours[colours.length - 1];
  await page.evaluate(() => { window.interop.send({ type: 'set-enabled', kind: 'video', enabled: false }); window.interop.send({ type: 'set-enabled', kind: 'audio', enabled: false }); });
  const black = await waitInPage(page, 'black video', () => {
    const l = window.interop.lastColour;
    return l && l.every((v) => v <= 24) && l;
  }, null, 5000).catch((e) => { log(e.message); return null; });
  check('a video track disabled in the pipeline turns black in the page', black !== null, black ? `rgb(${black})` : 'never black');
  const silent = await waitInPage(page, 'silent audio', () => window.interop.audioRms < 0.001 && window.interop.audioRms + 1e-9, null, 5000).catch((e) => { log(e.message); return null; });
  const silentRms = await page.evaluate(() => window.interop.audioRms);
  check('an audio track disabled in the pipeline turns silent in the page (RMS < 0.001)', silent !== null, `RMS ${silentRms.toFixed(4)}`);
  await page.evaluate(() => { window.interop.send({ type: 'set-enabled', kind: 'video', enabled: true }); window.interop.send({ type: 'set-enabled', kind: 'audio', enabled: true }); });
  const back = await waitInPage(page, `colour ${last} again`, ([c, t]) => {
    const l = window.interop.lastColour;
    return l && l.every((v, i) => Math.abs(v - c[i]) <= t) && l;
  }, [rgbOf(last), tolerance], 5000).catch((e) => { log(e.message); return null; });
  const loud = await waitInPage(page, 'the tone again', () => window.interop.audioRms > 0.01 && window.interop.audioRms, null, 5000).catch(() => null);
  check('enabled again, the canvas colour and the tone come back', back !== null && loud !== null,
    `${back ? `rgb(${back})` : 'colour not back'}, ${loud ? `RMS ${loud.toFixed(3)}` : 'tone not back'}`);

  // Figures.
  const videoStats = summary.inbound.video || {};
  console.log('--- figures ---');
  console.log(`time to first frame: ${info.firstFrameMs.toFixed(0)} ms after the page's WebSocket opened (signalling + ICE + DTLS + first keyframe), ${info.firstFrameWallMs - navigatedAt} ms after the driver asked chromium to open the page`);
  console.log(`frames received: ${fps.toFixed(1)} per second presented (requestVideoFrameCallback over 3 s), ${decodedInWindow} decoded of ${drawn} drawn by the canvas (${drawnFps.toFixed(1)} fps); RTP framesPerSecond ${videoStats.framesPerSecond}, dropped ${videoStats.framesDropped}`);
  if (present.length) {
    console.log(`end-to-end latency (canvas draw -> pixels read back in the page): median ${percentile(present, 0.5)} ms, p95 ${percentile(present, 0.95)} ms, min ${Math.min(...present)} ms, max ${Math.max(...present)} ms over ${present.length} frames`);
  }
  if (colourChanges.length) console.log(`colour change round trip (page asks -> page sees it): ${colourChanges.join(', ')} ms`);
  console.log(`video ${videoStats.frameWidth}x${videoStats.frameHeight}, ${videoStats.packetsReceived} packets, ${videoStats.packetsLost} lost; audio ${audioStats.packetsReceived} packets, ${audioStats.packetsLost} lost`);
  console.log(`ICE pair: ${summary.pair}`);

  if (process.env.INTEROP_SCREENSHOT) {
    await page.screenshot({ path: process.env.INTEROP_SCREENSHOT });
    log(`screenshot of the page: ${process.env.INTEROP_SCREENSHOT}`);
  }
  const late = await page.evaluate(() => window.interop.errors);
  check('no errors in the page', late.length === 0, late.join('; '));
}

async function main() {
  const watchdog = setTimeout(async () => {
    console.log(`FAIL: the test did not finish within ${deadlineMs} ms`);
    await stopAll();
    process.exit(1);
  }, deadlineMs);
  let status = 0;
  try {
    await run();
  } catch (e) {
    console.log(`FAIL: ${e.message}`);
    status = 1;
  }
  clearTimeout(watchdog);
  await stopAll();
  if (!summary('interop')) status = 1;
  process.exit(status);
}

main();
