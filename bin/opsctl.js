#!/usr/bin/env node
// Thin shim (CommonJS: bin/package.json), so a start needs no ES module
// loader. --help and TAB are answered by the small start-up bundle when it
// can (loaded with a V8 code cache: load-start.js); everything else loads
// the bundled CLI (npm run build).
'use strict';

// `opsctl ... | head` closes the pipe early: that is not an error worth a trace.
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
let start;
try {
  start = require('./load-start.js').loadStart(require('node:path').join(__dirname, '../dist/cli/start.cjs'), argv[0] === '__complete' ? 'tab' : 'help');
  fast = start.exports.startFast(argv);
} catch {
  fast = undefined; // not built, or another build's data: the full CLI answers
}
if (fast) {
  fast.then(async (code) => {
    done(code);
    await start.remember();
  }, failed);
} else {
  guard(process.stdout);
  guard(process.stderr);
  import('../dist/cli/main.js').then(({ main }) => main(argv)).then(done, (err) => {
    // A checkout that was never built (the package ships dist/, a clone does not).
    if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli/main.js')) {
      failed(new Error('the CLI is not built yet: run `npm run build` in the opsctl checkout'));
    } else failed(err);
  });
}
