#!/usr/bin/env node
// Thin shim: opsctl-port lives in dist/src/sidecar (npm run build; docs/sidecar.md).
// CommonJS like every file in bin/ (bin/package.json: opsctl's own start
// needs no ES module loader), so the ES module is imported dynamically.
'use strict';

for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err && err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

import('../dist/src/sidecar/main.js')
  .then(({ main }) => main(process.argv.slice(2)))
  .then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`opsctl-port: ${err && err.message ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
