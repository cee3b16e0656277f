#!/usr/bin/env node
// Thin shim: everything lives in the bundled CLI (npm run build).
import { main } from '../dist/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`opsctl: ${err && err.message ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
