/**
 * `npm run demo`, as the README writes it, on a fresh HOME: exit 0, every
 * step of the tour ran, nothing left running, nothing left on disk, nothing
 * written to HOME. `--keep` is test/demo/demo-keep.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { demoDir, freshHome, processesUsing } from '../helpers/demo-run.js';
import { ensureBuilt, ROOT } from '../helpers/stack.js';

test('npm run demo: the whole tour through the real tunnel, exit 0, nothing left behind', async (t) => {
  ensureBuilt();
  const env = freshHome(t);
  // The README's starting point, run as written (npm install has been done: this is its checkout).
  const line = /^npm install && (npm run demo)\b/m.exec(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8'));
  assert.ok(line, 'the README starts with npm install && npm run demo');
  // npm's own cache and logs go elsewhere: the check below is that the demo writes nothing to HOME.
  const npmCache = fs.mkdtempSync(path.join(os.tmpdir(), 'opsctl-demo-npm-'));
  t.after(() => fs.rmSync(npmCache, { recursive: true, force: true }));
  const npmEnv = { ...env, npm_config_cache: npmCache, npm_config_update_notifier: 'false' };
  const r = spawnSync('bash', ['-c', line[1]!], { cwd: ROOT, env: npmEnv, encoding: 'utf8', timeout: 170_000 });
  const all = r.stdout + r.stderr;
  assert.equal(r.status, 0, all);
  for (const cmd of [
    '$ opsctl context add demo --bastion operator@127.0.0.1:',
    '$ opsctl doctor',
    '$ opsctl health',
    '$ opsctl endpoints',
    '$ opsctl migrate plan',
    "$ opsctl migrate up --yes --reason 'demo: first deploy'",
    '$ opsctl flags set discount_percent 20',
    '$ opsctl flags enable maintenance_mode',
    '$ opsctl metrics --filter ^demo_orders',
    '$ opsctl tasks run recompute-totals --follow',
    '$ opsctl tasks run purge-cancelled-orders --param olderThanDays=30 --yes --no-wait',
    'bob$ opsctl approvals approve ',
    '$ opsctl audit tail -n 8',
    '$ opsctl audit verify',
  ]) {
    assert.ok(r.stdout.includes(cmd), `missing step ${cmd}`);
  }
  // The flag's effect on the public API, and the task's progress.
  assert.match(r.stdout, /HTTP 201 order #2: .* total 22\.50 \(10% off\) for alice/, 'alice is in the 20 % rollout');
  assert.match(r.stdout, /HTTP 201 order #3: .* total 25\.00 for bob/, 'bob is not');
  assert.match(r.stdout, /HTTP 503 .*maintenance/);
  assert.match(all, /progress 100%/);
  assert.match(all, /audit log intact/);
  assert.match(all, /approved: tasks\.run ran as alice/, 'bob approved what alice asked for');
  assert.match(r.stdout, /Torn down/);
  const dir = demoDir(r.stdout);
  assert.equal(fs.existsSync(dir), false, 'temp dir removed');
  assert.deepEqual(processesUsing(dir), [], 'nothing left running');
  assert.deepEqual(fs.readdirSync(env.HOME!), [], 'nothing written to HOME');
});
