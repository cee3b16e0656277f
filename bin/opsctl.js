#!/usr/bin/env node
// Thin shim: everything lives in the bundled CLI (npm run build).
let main;
try {
  ({ main } = await import('../dist/cli/main.js'));
} catch (err) {
  // A checkout that was never built (the package ships dist/, a clone does not).
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli/main.js')) {
    process.stderr.write('opsctl: the CLI is not built yet: run `npm run build` in the opsctl checkout\n');
    process.exit(1);
  }
  throw err;
}

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
