// Headless Debian chromium for the interop drivers (driver.js, demo-driver.js): playwright-core
// from the build directory's node_modules (npm ci of package-lock.json), and the flags a WebRTC
// page needs inside the test's private network namespace.
'use strict';

const path = require('node:path');
const { createRequire } = require('node:module');

const args = [
  '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
  '--allow-loopback-in-peer-connection',
  // Host candidates as plain addresses: libnice cannot resolve mDNS .local names.
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--autoplay-policy=no-user-gesture-required',
  // The closed network: no background connections, no QUIC, no first-run work. Playwright
  // gives chromium a new empty profile (user data dir) and removes it on close.
  '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-default-apps',
];

// modulesDir: the node_modules holding playwright-core; executablePath: the chromium binary.
function launch(modulesDir, executablePath) {
  const { chromium } = createRequire(path.join(modulesDir, 'x.js'))('playwright-core');
  return chromium.launch({ executablePath, headless: true, timeout: 20000, args });
}

module.exports = { launch };
