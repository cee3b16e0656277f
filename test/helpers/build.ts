/**
 * Makes sure dist/ (the CLI bundle, the server, the demo service) is built
 * from the current sources before a test spawns it. `npm test` builds first;
 * this matters for a single test file run directly after an edit. Concurrent
 * test files take a mkdir lock so only one of them builds.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

let built = false;

export function ensureBuilt(): void {
  if (built) return;
  const lock = path.join(os.tmpdir(), `opsctl-build-${Buffer.from(ROOT).toString('hex').slice(-24)}.lock`);
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch {
      // Another test file is building; a lock older than 3 minutes is stale.
      try {
        if (Date.now() - fs.statSync(lock).mtimeMs > 180_000) fs.rmSync(lock, { recursive: true, force: true });
      } catch {
        /* gone meanwhile */
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for the build lock ${lock}`);
      spawnSync('sleep', ['0.2']);
    }
  }
  try {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts/build.mjs'), '--quiet', '--if-stale'], { cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`build failed:\n${r.stdout}${r.stderr}`);
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
  built = true;
}
