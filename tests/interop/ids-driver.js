#!/usr/bin/env node
// Track ids through webrtcbin to Chromium (run by run-interop.sh inside a private network
// namespace, meson test interop-chromium-track-ids). For each layout of interop-sender --
// "three-tracks" (one MediaStream: 2 video + 1 audio) and "two-streams" (two mediastreambins
// through one webrtcbin) -- it opens web/ids.html and checks, from the page's own track events,
// that event.streams[0].id is the pipeline's stream id and every event.track.id the track pad's
// track-id (the offer is mediastreambin's annotate-sdp copy), that the page holds one
// MediaStream per pipeline stream with exactly that stream's tracks, and that every video
// track decodes frames. Prints what the browser saw; exits 0 only when every check passed.
'use strict';

const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const path = require('node:path');

const { parseArgs, makeChecks } = require('./checks.js');

const args = parseArgs(process.argv.slice(2), ['modules', 'sender', 'chromium']);
const { launch: launchChromium } = require('./chromium.js');
const deadlineMs = Number(process.env.INTEROP_TIMEOUT_MS || 80000);
const startedAt = Date.now();
const log = (...a) => console.log('ids:', ...a);
const { check, summary } = makeChecks(startedAt);

let sender = null;
let browser = null;

function startSender(layout, streamId) {
  return new Promise((resolve, reject) => {
    const child = spawn(args.sender, ['--web-root', path.join(__dirname, 'web'), '--stream-id', streamId,
      '--layout', layout, '--address', '127.0.0.1', '--port', '0',
      '--exit-after', String(Math.ceil(deadlineMs / 1000) + 10)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
    sender = { child, exited };
    let buffered = '';
    const timer = setTimeout(() => reject(new Error('interop-sender did not start listening within 10 s')), 10000);
    child.stdout.on('data', (chunk) => {
      const text = chunk.toString();
      process.stdout.write(text.replace(/^(?=.)/gm, '  [sender] '));
      buffered += text;
      const m = /listening on (\S+)/.exec(buffered);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.stderr.on('data', (chunk) => process.stdout.write(chunk.toString().replace(/^(?=.)/gm, '  [sender] ')));
    exited.then(({ code, signal }) => { clearTimeout(timer); reject(new Error(`interop-sender exited (code ${code}, signal ${signal})`)); });
  });
}

async function stopSender() {
  if (!sender) return;
  const { child, exited } = sender;
  sender = null;
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const done = await Promise.race([exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 5000))]);
  if (!done) { child.kill('SIGKILL'); await exited; }
}

async function waitInPage(page, what, fn, timeoutMs) {
  try {
    const h = await page.waitForFunction(fn, null, { timeout: timeoutMs, polling: 100 });
    return await h.jsonValue();
  } catch (e) {
    const s = await page.evaluate(() => ({ errors: window.interop.errors, events: window.interop.trackEvents.length, connection: window.interop.connectionState })).catch(() => ({}));
    throw new Error(`timed out waiting for ${what}; page ${JSON.stringify(s)}`);
  }
}

async function runLayout(layout) {
  const streamId = crypto.randomUUID();
  const url = await startSender(layout, streamId);
  const page = await browser.newPage();
  page.on('pageerror', (e) => log(`[page exception] ${e.message}`));
  try {
    await page.goto(`${url}ids.html`, { timeout: 15000 });
    const expected = await waitInPage(page, 'the pipeline\'s track ids', () => window.interop.pipelineTracks, 20000);
    await waitInPage(page, `${expected.length} track events`,
      () => window.interop.trackEvents.length >= window.interop.pipelineTracks.length || window.interop.errors.length > 0, 30000);
    const seen = await page.evaluate(() => ({ events: window.interop.trackEvents, streams: window.interop.streams(), errors: window.interop.errors, offer: window.interop.offer }));
    for (const e of seen.events) {
      console.log(`browser saw (${layout}): event.streams[0].id=${e.streamIds[0]} event.track.id=${e.trackId} kind=${e.kind} mid=${e.mid}`);
    }
    for (const t of expected) {
      const e = seen.events.find((x) => x.trackId === t.trackId);
      check(`${layout}: ${t.kind} track ${t.trackId} arrives with its track-id in stream ${t.streamId}`,
        e && e.kind === t.kind && e.streamIds.length === 1 && e.streamIds[0] === t.streamId,
        e ? `event.streams[0].id=${e.streamIds[0]}, kind ${e.kind}` : `no track event with that id; ids seen: ${seen.events.map((x) => x.trackId).join(', ')}`);
    }
    check(`${layout}: as many track events as pipeline tracks`, seen.events.length === expected.length,
      `${seen.events.length} events, ${expected.length} tracks`);
    const wanted = new Map();
    for (const t of expected) {
      if (!wanted.has(t.streamId)) wanted.set(t.streamId, []);
      wanted.get(t.streamId).push(t.trackId);
    }
    const sameSet = (a, b) => a.length === b.length && [...a].sort().every((v, i) => v === [...b].sort()[i]);
    check(`${layout}: the page holds ${wanted.size} MediaStream(s), the pipeline's`,
      sameSet(seen.streams.map((s) => s.id), [...wanted.keys()]), seen.streams.map((s) => s.id).join(', '));
    for (const s of seen.streams) {
      check(`${layout}: MediaStream ${s.id} holds exactly its own tracks`,
        wanted.has(s.id) && sameSet(s.tracks.map((t) => t.id), wanted.get(s.id)),
        s.tracks.map((t) => `${t.kind} ${t.id}`).join(', '));
    }
    const videos = expected.filter((t) => t.kind === 'video').length;
    // getStats() is asynchronous: polled from here (waitForFunction does not await).
    let frames = [];
    for (const until = Date.now() + 20000; Date.now() < until;) {
      frames = await page.evaluate(() => window.interop.videoFrames());
      if (frames.length === videos && frames.every((x) => x > 0)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    check(`${layout}: every video track decodes frames`, frames.length === videos && frames.every((x) => x > 0),
      `frames decoded per video track: ${frames.join(', ') || 'none'}`);
    const msidLines = (seen.offer || '').split(/\r?\n/).filter((l) => l.startsWith('a=msid:'));
    console.log(`offer's media-level msid lines (${layout}):\n  ${msidLines.join('\n  ')}`);
    check(`${layout}: no page errors`, seen.errors.length === 0, seen.errors.join('; '));
  } finally {
    await page.close().catch(() => {});
    await stopSender();
  }
}

async function main() {
  const watchdog = setTimeout(async () => {
    console.log(`FAIL: the test did not finish within ${deadlineMs} ms`);
    await stopSender();
    process.exit(1);
  }, deadlineMs);
  let status = 0;
  try {
    browser = await launchChromium(args.modules, args.chromium);
    log(`chromium ${browser.version()}`);
    for (const layout of ['three-tracks', 'two-streams']) await runLayout(layout);
  } catch (e) {
    console.log(`FAIL: ${e.message}`);
    status = 1;
  }
  clearTimeout(watchdog);
  await stopSender();
  if (browser) await Promise.race([browser.close().catch(() => {}), new Promise((r) => setTimeout(r, 5000))]);
  if (!summary('ids')) status = 1;
  process.exit(status);
}

main();
