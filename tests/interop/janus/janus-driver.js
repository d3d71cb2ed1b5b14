#!/usr/bin/env node
// Many viewers through Janus (run by run-janus.sh inside the private network namespace of
// run-interop.sh): starts Janus with a private configuration (janus-config.sh: VideoRoom +
// WebSocket transport on 127.0.0.1, ICE on interop0 only), publishes a MediaStream to it with
// tests/examples/janus-publish (the canvas + a 440 Hz tone file), and opens 4 headless chromium
// pages that subscribe to it (subscriber.js). Checks, in every page: the MediaStream id is the
// publisher's stream id (Janus use_msid), the video and audio tracks arrive, Janus's per-mid
// descriptions give each track's id and label, frames are presented, the canvas colours change
// and the tone is heard. Prints the figures: subscribers, frames per second each, time to first
// frame, CPU of Janus and of the publisher.
'use strict';

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const args = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) args[argv[i].replace(/^--/, '')] = argv[i + 1];
const { launch: launchChromium } = require('../chromium.js');

const SUBSCRIBERS = 4;
const PORT = 8188; // the namespace is private: no other Janus can hold it
const ROOM = 'interop-janus';
const WINDOW_MS = 5000; // frames per second and CPU are measured over this window
const timeoutMs = Number(process.env.INTEROP_TIMEOUT_MS || 60000);
const results = [];
const check = (name, ok, detail) => {
  results.push(Boolean(ok));
  console.log(`${ok ? 'PASS' : 'FAIL'}: ${name}${detail ? ` (${detail})` : ''}`);
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const ticks = 100; // USER_HZ on Linux

// user + system CPU time of a process, in seconds (/proc/<pid>/stat fields 14 and 15).
function cpuSeconds(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticks;
  } catch {
    return NaN;
  }
}

function waitForPort(port, ms) {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => { socket.destroy(); resolve(); });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > end) reject(new Error(`Janus did not listen on 127.0.0.1:${port} within ${ms / 1000} s`));
        else setTimeout(attempt, 200);
      });
    };
    attempt();
  });
}

const prefix = (name) => (chunk) => process.stdout.write(chunk.toString().replace(/^(?=.)/gm, `  [${name}] `));

async function main() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'interop-janus-'));
  const children = [];
  let browser = null;
  let finished = false;
  try {
    // 1. Janus, with its own configuration (never /etc/janus, never janus.service).
    const config = spawnSync('sh', [path.join(__dirname, 'janus-config.sh'), work, String(PORT), '10.99.0.1', 'interop0'],
      { encoding: 'utf8' });
    if (config.status !== 0) throw new Error(`janus-config.sh: ${config.stderr}`);
    const janusLog = path.join(work, 'janus.log');
    const janus = spawn(process.env.JANUS || 'janus', ['-F', work, '-C', path.join(work, 'janus.jcfg'), '-o', '-L', janusLog, '-N'],
      { stdio: 'ignore' });
    children.push(janus);
    const janusExit = new Promise((r) => janus.once('exit', (code, signal) => r({ code, signal })));
    await Promise.race([waitForPort(PORT, 20000),
      janusExit.then((e) => { throw new Error(`Janus exited (${e.code ?? e.signal}); its log:\n${fs.readFileSync(janusLog, 'utf8').slice(-3000)}`); })]);
    console.log(`janus: pid ${janus.pid}, ws://127.0.0.1:${PORT}/, ICE on interop0 (10.99.0.1), log ${janusLog}`);

    // 2. The publisher: the canvas and a 440 Hz tone (an audio-only file keeps the pages' CPU
    // for the one video track they check).
    const tone = path.join(work, 'tone.ogg');
    const made = spawnSync('gst-launch-1.0', ['-q', 'audiotestsrc', 'num-buffers=250', 'samplesperbuffer=960', 'freq=440',
      'volume=0.5', '!', 'audio/x-raw,rate=48000,channels=2', '!', 'audioconvert', '!', 'opusenc', '!', 'oggmux', '!',
      'filesink', `location=${tone}`], { encoding: 'utf8', timeout: 60000 });
    if (made.status !== 0) throw new Error(`cannot make the tone file: ${made.stderr || made.error}`);
    const publisher = spawn(args.sender, ['--url', `ws://127.0.0.1:${PORT}/`, '--room', ROOM, '--uri', tone,
      '--display', 'interop', '--seconds', '170'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(publisher);
    const publisherExit = new Promise((r) => publisher.once('exit', (code, signal) => r({ code, signal })));
    publisher.stderr.on('data', prefix('publisher'));
    let out = '';
    let published = null;
    const publishing = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the publisher was not publishing within 60 s')), 60000);
      publisher.stdout.on('data', (chunk) => {
        prefix('publisher')(chunk);
        out += chunk.toString();
        const stream = /janus-publish: stream (\{.*\})\n/.exec(out);
        if (stream && !published) published = JSON.parse(stream[1]);
        if (published && /janus-publish: publishing: /.test(out)) { clearTimeout(timer); resolve(); }
      });
      publisherExit.then((e) => reject(new Error(`the publisher exited (${e.code ?? e.signal}) before publishing`)));
    });
    await publishing;
    const publishedVideo = published.tracks.filter((t) => t.kind === 'video');
    const publishedAudio = published.tracks.filter((t) => t.kind === 'audio');
    // CPU with no subscriber yet, to compare with 4.
    const idle = { janus: cpuSeconds(janus.pid), publisher: cpuSeconds(publisher.pid), at: Date.now() };
    await sleep(3000);
    const idleSeconds = (Date.now() - idle.at) / 1000;
    const janusIdleCpu = (cpuSeconds(janus.pid) - idle.janus) / idleSeconds;
    const publisherIdleCpu = (cpuSeconds(publisher.pid) - idle.publisher) / idleSeconds;
    const publisherStart = cpuSeconds(publisher.pid);
    const janusStart = cpuSeconds(janus.pid);
    const startedAt = Date.now();

    // 3. The subscribers: one browser, one page each.
    browser = await launchChromium(args.modules, args.chromium);
    const script = fs.readFileSync(path.join(__dirname, 'subscriber.js'), 'utf8');
    const pages = [];
    for (let i = 0; i < SUBSCRIBERS; i++) {
      const page = await browser.newPage();
      page.on('pageerror', (e) => console.log(`[page ${i + 1} exception] ${e.message}`));
      await page.setContent('<!doctype html><title>Janus subscriber</title><body></body>');
      await page.addScriptTag({ content: script });
      await page.evaluate((o) => window.janusSubscribe(o), { url: `ws://127.0.0.1:${PORT}/`, room: ROOM, feed: published.streamId });
      pages.push(page);
    }
    const snapshot = (page) => page.evaluate(() => {
      const s = window.sub;
      return { ...s, lastColour: undefined };
    });
    const ready = (s) => s.errors.length === 0 && s.tracks.length >= published.tracks.length &&
      Object.values(s.frames).length === publishedVideo.length && Object.values(s.frames).every((n) => n >= 30) &&
      s.colours.length >= 3 && s.colourChanges >= 3 && (publishedAudio.length === 0 || s.audioRmsMax > 0.01);
    const deadline = Date.now() + timeoutMs;
    let states = [];
    for (;;) {
      states = await Promise.all(pages.map(snapshot));
      if (states.every(ready) || Date.now() > deadline || states.some((s) => s.errors.length)) break;
      await sleep(500);
    }
    if (!states.every(ready)) console.log(`(not every page was ready after ${((Date.now() - startedAt) / 1000).toFixed(1)} s)`);

    // 4. Frames per second and CPU over a window with every subscriber receiving.
    const framesBefore = states.map((s) => ({ ...s.frames }));
    const janusBefore = cpuSeconds(janus.pid);
    const publisherBefore = cpuSeconds(publisher.pid);
    const t0 = Date.now();
    await sleep(WINDOW_MS);
    states = await Promise.all(pages.map(snapshot));
    const seconds = (Date.now() - t0) / 1000;
    const janusCpu = (cpuSeconds(janus.pid) - janusBefore) / seconds;
    const publisherCpu = (cpuSeconds(publisher.pid) - publisherBefore) / seconds;
    const janusCpuAll = (cpuSeconds(janus.pid) - janusStart) / ((Date.now() - startedAt) / 1000);
    const publisherCpuAll = (cpuSeconds(publisher.pid) - publisherStart) / ((Date.now() - startedAt) / 1000);

    // 5. Checks, page by page.
    const fpsAll = [];
    states.forEach((s, i) => {
      const n = i + 1;
      check(`subscriber ${n}: no errors`, s.errors.length === 0, s.errors.join('; '));
      check(`subscriber ${n}: MediaStream.id is the publisher's stream id`,
        s.streamIds.length === 1 && s.streamIds[0] === published.streamId, s.streamIds.join(', '));
      const kinds = s.tracks.map((t) => t.kind).sort().join(',');
      const wanted = published.tracks.map((t) => t.kind).sort().join(',');
      check(`subscriber ${n}: every track arrived (${wanted})`, kinds === wanted, kinds);
      // The descriptions: Janus's subscriber streams carry the publisher's mid and description.
      const byMid = {};
      for (const stream of s.streams || []) byMid[stream.mid] = stream;
      const described = s.tracks.map((t) => {
        const stream = byMid[t.mid];
        let description = null;
        try { description = JSON.parse(stream.feed_description); } catch { /* checked below */ }
        const source = stream && published.tracks.find((p) => p.mid === stream.feed_mid);
        return { track: t, stream, description, source };
      });
      check(`subscriber ${n}: each track's description gives the publisher's track id and label`,
        described.length === published.tracks.length && described.every((d) => d.source && d.description &&
          d.description.id === d.source.id && d.description.label === d.source.label && d.source.kind === d.track.kind),
        described.map((d) => `${d.track.kind} mid ${d.track.mid} -> ${d.stream ? d.stream.feed_mid : '?'}: ` +
          `${d.description ? `${d.description.id} "${d.description.label}"` : 'no description'}`).join('; '));
      const fps = Object.keys(s.frames).map((mid) => (s.frames[mid] - (framesBefore[i][mid] || 0)) / seconds);
      fpsAll.push(...fps);
      // Still live during the window. Not a speed test: the rate is printed, and on a loaded
      // 2-core machine (load average 30) the pages decode 5-10 frames/s.
      check(`subscriber ${n}: frames keep arriving`, fps.length > 0 && fps.every((f) => f >= 1),
        fps.map((f) => `${f.toFixed(1)}/s`).join(', '));
      check(`subscriber ${n}: the canvas colours change`, s.colours.length >= 3 && s.colourChanges >= 3,
        `${s.colours.join(', ')}; ${s.colourChanges} changes`);
      if (publishedAudio.length) {
        check(`subscriber ${n}: the tone is heard`, s.audioRmsMax > 0.01 && Math.abs(s.audioPeakHz - 440) < 40,
          `RMS max ${s.audioRmsMax.toFixed(3)}, peak ${s.audioPeakHz.toFixed(0)} Hz`);
      }
    });

    // 6. Figures.
    console.log('\n--- Janus VideoRoom: figures ---');
    console.log(`publisher: stream ${published.streamId}, ${published.tracks.map((t) => `${t.kind} ${t.id} "${t.label}" (mid ${t.mid})`).join(', ')}`);
    console.log(`subscribers: ${states.length}`);
    states.forEach((s, i) => {
      const fps = Object.keys(s.frames).map((mid) => ((s.frames[mid] - (framesBefore[i][mid] || 0)) / seconds).toFixed(1));
      console.log(`  subscriber ${i + 1}: ${fps.join(' + ')} frames/s, first frame ${s.firstFrameMs === null ? '-' : (s.firstFrameMs / 1000).toFixed(2)} s ` +
        `after the page began to subscribe (WebSocket to Janus), stream id ${s.streamIds.join(',')}, tracks ${s.tracks.map((t) => `${t.kind}:${t.id}`).join(' ')}`);
    });
    const pct = (x) => `${(100 * x).toFixed(0)} %`;
    console.log(`CPU (of one core) over ${seconds.toFixed(1)} s with ${states.length} subscribers: Janus ${pct(janusCpu)}, publisher ${pct(publisherCpu)}` +
      ` (since the subscribers joined: Janus ${pct(janusCpuAll)}, publisher ${pct(publisherCpuAll)};` +
      ` with no subscriber: Janus ${pct(janusIdleCpu)}, publisher ${pct(publisherIdleCpu)}; load average ${os.loadavg()[0].toFixed(2)})`);
    if (process.env.INTEROP_SCREENSHOT) await pages[0].screenshot({ path: process.env.INTEROP_SCREENSHOT });

    // 7. Stop: the publisher leaves the room and exits 0 (Janus received every track).
    await browser.close().catch(() => {});
    browser = null;
    publisher.kill('SIGINT');
    const end = await Promise.race([publisherExit, sleep(20000).then(() => null)]);
    check('the publisher left the room and exited 0', end && end.code === 0, end ? `code ${end.code}` : 'did not exit');
    finished = true;
  } finally {
    if (browser) await browser.close().catch(() => {});
    for (const child of children.reverse()) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await Promise.race([new Promise((r) => child.once('exit', r)), sleep(10000)]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
    }
    if (!finished || !results.every(Boolean)) {
      const log = path.join(work, 'janus.log');
      if (fs.existsSync(log)) console.log(`--- end of Janus's log ---\n${fs.readFileSync(log, 'utf8').slice(-2500)}`);
    }
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().then(() => process.exit(results.length && results.every(Boolean) ? 0 : 1), (e) => {
  console.log(`FAIL: ${e.message}`);
  process.exit(1);
});
