#!/usr/bin/env node
// Thin shim (CommonJS: bin/package.json), so a start needs no ES module
// loader. --help and TAB are answered by the small start-up bundle when it
// can; everything else loads the bundled CLI (npm run build).
'use strict';

// `opsctl … | head` closes the pipe early: that is not an error worth a trace.
// (Guarded when first used: making process.stdout/stderr costs a stream per
// start, which the start-up path avoids.)
const guard = (stream) =>
  stream.on('error', (err) => {
    if (err && err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });

const argv = process.argv.slice(2);
const done = (code) => {
  process.exitCode = code;
};
const failed = (err) => {
  guard(process.stderr).write(`opsctl: ${err && err.message ? err.message : String(err)}\n`);
  process.exitCode = 1;
};

let fast;
try {
  fast = require('../dist/cli/start.cjs').startFast(argv);
} catch {
  fast = undefined; // not built, or another build's data: the full CLI answers
}
if (fast) {
  fast.then(done, failed);
} else {
  guard(process.stdout);
  guard(process.stderr);
  import('../dist/cli/main.js').then(({ main }) => main(argv)).then(done, failed);
}
