/**
 * `npm run demo -- --sidecar`: the example Python shop behind opsctl-port,
 * toured with the real CLI through the real SSH route; exit 0, every step
 * ran, nothing left running or on disk.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureBuilt, ROOT } from '../helpers/stack.js';
import { requireTools } from '../helpers/sidecar.js';

test('npm run demo -- --sidecar: migrations, a maintenance job and the audit through the real tunnel, nothing left behind', (t) => {
  if (requireTools(t, 'alembic')) return;
  ensureBuilt();
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'opsctl-demo-sidecar-home-'));
  t.after(() => fs.rmSync(home, { recursive: true, force: true }));
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, NO_COLOR: '1' };
  if (process.env.NODE_EXTRA_CA_CERTS) env.NODE_EXTRA_CA_CERTS = process.env.NODE_EXTRA_CA_CERTS;
  const r = spawnSync(process.execPath, [path.join(ROOT, 'dist/src/demo/main.js'), '--sidecar'], { cwd: ROOT, env, encoding: 'utf8', timeout: 170_000 });
  const all = r.stdout + r.stderr;
  assert.equal(r.status, 0, all);
  for (const cmd of ['$ opsctl health', '$ opsctl migrate plan', "$ opsctl migrate up --yes --reason 'demo: first deploy'", '$ opsctl call shop.purge --param prefix=test- --yes', '$ opsctl audit verify']) {
    assert.ok(r.stdout.includes(cmd), `missing step ${cmd}`);
  }
  assert.match(r.stdout, /Running upgrade 0002 -> 0003, create orders/, 'alembic\'s output is the job\'s log');
  assert.match(r.stdout, /purged 1 item\(s\)/);
  assert.match(r.stdout, /HTTP 200 1 item\(s\): lamp/, 'the purge changed the shop');
  assert.ok(r.stdout.includes('$ opsctl flags enable maintenance_mode'), 'the flags step (OFREP) ran');
  assert.match(r.stdout, /✓ HTTP 503 maintenance: writes are paused/, 'the shop read the flag over OFREP');
  const dir = /Everything below lives in (\S+) and is removed at the end\./.exec(r.stdout)?.[1];
  assert.ok(dir && !fs.existsSync(dir), 'the temp dir is gone');
  const ps = spawnSync('ps', ['-eo', 'args='], { encoding: 'utf8' }).stdout;
  assert.ok(!ps.split('\n').some((l) => l.includes(dir)), 'no process of the demo is left');
  assert.deepEqual(fs.readdirSync(home), [], 'nothing written to HOME');
});
