#!/usr/bin/env node
// Opens the page of tests/examples/mediastream-demo in headless chromium (run by run-interop.sh,
// inside the private network namespace) and checks, from inside the page, that the demo's
// MediaStream arrives: the pipeline's stream id, every track (2 video + 1 audio), frames on each
// video. Then stops the demo with SIGINT and checks that it finished its WebM (exit 0).
'use strict';

const { spawn } = require('node:child_process');
const path = require('node:path');
const os = require('node:os');

const args = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) args[argv[i].replace(/^--/, '')] = argv[i + 1];
const { launch: launchChromium } = require('./chromium.js');
const results = [];
const check = (name, ok, detail) => {
  results.push(ok);
  console.log(`${ok ? 'PASS' : 'FAIL'}: ${name}${detail ? ` (${detail})` : ''}`);
};

async function main() {
  const output = path.join(os.tmpdir(), `mediastream-demo-${process.pid}.webm`);
  const demo = spawn(args.sender, ['--serve', '--port', '0', '--output', output], { stdio: ['ignore', 'pipe', 'pipe'] });
  // 'close': the demo has exited and its output has all been read (printed above).
  const exited = new Promise((r) => demo.once('close', (code, signal) => r({ code, signal })));
  let text = '';
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the demo did not serve within 20 s')), 20000);
    demo.stdout.on('data', (c) => {
      process.stdout.write(c.toString().replace(/^(?=.)/gm, '  [demo] '));
      text += c.toString();
      const m = /open (\S+) in a browser/.exec(text);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    demo.stderr.on('data', (c) => process.stdout.write(c.toString().replace(/^(?=.)/gm, '  [demo] ')));
    exited.then(() => reject(new Error('the demo exited')));
  });
  const browser = await launchChromium(args.modules, args.chromium);
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => console.log(`[page exception] ${e.message}`));
    try {
      await page.goto(url, { timeout: 10000 });
    } catch (e) {
      // Say whether the demo was still there: a refused connection with the demo gone is the
      // demo's failure (its exit code or signal), not the page's.
      const end = await Promise.race([exited, new Promise((r) => setTimeout(() => r(null), 3000))]);
      throw new Error(`${e.message.split('\n')[0]}; the demo ${end ? `had exited (code ${end.code}, signal ${end.signal})` : 'is still running'}`);
    }
    await page.waitForFunction(() => {
      const d = window.demo;
      return d.pipeline && d.tracks.length >= 3 && Object.keys(d.frames).length >= 2 &&
        Object.values(d.frames).every((n) => n > 10);
    }, null, { timeout: 20000, polling: 100 }).catch(() => {});
    await page.waitForTimeout(2000);
    const s = await page.evaluate(() => ({ streamId: window.demo.streamId, pipeline: window.demo.pipeline,
      tracks: window.demo.tracks, frames: window.demo.frames, first: window.demo.firstFrameMs, errors: window.demo.errors,
      rows: document.querySelectorAll('#tracks tr').length, pipelineRows: document.querySelectorAll('#pipeline-tracks tr').length }));
    check('the page received the pipeline\'s MediaStream id', s.pipeline && s.streamId === s.pipeline.id, `${s.streamId}`);
    const kinds = s.tracks.map((t) => t.kind).sort().join(',');
    check('2 video + 1 audio tracks, live', kinds === 'audio,video,video' && s.tracks.every((t) => t.readyState === 'live'), kinds);
    const ids = (list) => list.map((t) => t.id).sort().join(',');
    check('each received MediaStreamTrack.id is a track pad\'s track-id (annotate-sdp)',
      s.pipeline && ids(s.tracks) === ids(s.pipeline.tracks), `${ids(s.tracks)} vs ${s.pipeline ? ids(s.pipeline.tracks) : '-'}`);
    check('the page lists the received tracks and the pipeline\'s tracks', s.rows === 3 && s.pipelineRows === 3, `${s.rows} + ${s.pipelineRows} rows`);
    check('frames arrive on every video track', Object.values(s.frames).length === 2 && Object.values(s.frames).every((n) => n > 10),
      JSON.stringify(s.frames));
    check('no page errors', s.errors.length === 0, s.errors.join('; '));
    console.log(`time to first frame: ${s.first === null ? '-' : s.first.toFixed(0)} ms after the WebSocket opened`);
    if (process.env.INTEROP_SCREENSHOT) await page.screenshot({ path: process.env.INTEROP_SCREENSHOT, fullPage: true });
  } finally {
    await browser.close().catch(() => {});
  }
  demo.kill('SIGINT');
  const end = await Promise.race([exited, new Promise((r) => setTimeout(() => r(null), 20000))]);
  check('the demo finished its recording after Ctrl-C (exit 0)', end && end.code === 0, end ? `code ${end.code}` : 'did not exit');
  if (!end) demo.kill('SIGKILL');
  require('node:fs').rmSync(output, { force: true });
}

main().then(() => process.exit(results.length && results.every(Boolean) ? 0 : 1), (e) => {
  console.log(`FAIL: ${e.message}`);
  process.exit(1);
});
