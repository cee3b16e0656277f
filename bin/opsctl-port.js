#!/usr/bin/env node
// Thin shim: opsctl-port lives in dist/src/sidecar (npm run build; docs/sidecar.md).
import { main } from '../dist/src/sidecar/main.js';

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
    process.stderr.write(`opsctl-port: ${err && err.message ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
