#!/usr/bin/env node
// Thin shim: everything lives in the bundled CLI (npm run build).
import { main } from '../dist/cli/main.js';

// `opsctl … | head` closes the pipe early: that is not an error worth a trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err && err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`opsctl: ${err && err.message ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
