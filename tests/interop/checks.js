// What every interop driver starts and ends with: its --key value arguments, and the PASS/FAIL
// lines of its checks with the closing count (driver.js, ids-driver.js, recv-driver.js).
'use strict';

// The --key value pairs of argv; a missing required key or a malformed pair is a FAIL (exit 1).
function parseArgs(argv, required) {
  const args = {};
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || i + 1 >= argv.length) {
      console.log(`FAIL: bad argument ${argv[i]}`);
      process.exit(1);
    }
    args[argv[i].slice(2)] = argv[i + 1];
  }
  for (const key of required) {
    if (!args[key]) { console.log(`FAIL: --${key} is required`); process.exit(1); }
  }
  return args;
}

// check(name, ok, detail) prints PASS/FAIL and records it; summary(prefix) prints the closing
// count and tells whether every check passed (and at least one ran).
function makeChecks(startedAt) {
  const results = [];
  function check(name, ok, detail) {
    results.push({ name, ok });
    console.log(`${ok ? 'PASS' : 'FAIL'}: ${name}${detail ? ` (${detail})` : ''}`);
    return ok;
  }
  function summary(prefix) {
    const failed = results.filter((r) => !r.ok).length;
    console.log(`${prefix}: ${results.length - failed} checks passed, ${failed} failed, in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
    return results.length > 0 && failed === 0;
  }
  return { check, summary };
}

module.exports = { parseArgs, makeChecks };
