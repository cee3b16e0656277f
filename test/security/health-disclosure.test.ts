/**
 * Attack: a viewer reads the service host's layout (absolute paths of the
 * audit log, data dir, database) from `health` check errors. Details keep
 * their meaning but lose the directories (docs/security.md).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startHarness, type Harness } from '../server/fixtures/harness.js';

let h: Harness;
before(async () => {
  h = await startHarness({
    healthChecks: {
      db: () => { throw new Error("ENOENT: no such file or directory, open '/var/lib/orders/secret-layout/orders.sqlite'"); },
      cache: () => ({ ok: false, detail: 'cache dir /srv/orders/cache/ is not writable' }),
      fine: () => ({ ok: true, detail: '3 of 3 replicas, ratio 1/1' }),
    },
  });
});
after(() => h.close());

test('a viewer sees check errors without absolute paths', async () => {
  const r = await h.viewer.call('health');
  assert.equal(r.status, 200);
  const { checks } = r.json;
  assert.equal(checks.db.ok, false);
  assert.doesNotMatch(checks.db.detail, /\/var\/lib|secret-layout/);
  assert.match(checks.db.detail, /ENOENT.*orders\.sqlite/, 'the file name and the error stay');
  assert.doesNotMatch(checks.cache.detail, /\/srv/);
  assert.equal(checks.fine.detail, '3 of 3 replicas, ratio 1/1', 'text that is not a path is untouched');
});

test('a broken audit log does not show its path either', async () => {
  // Each append opens the log by path with O_NOFOLLOW: a symlink in its place makes it fail.
  const aside = `${h.auditFile}.aside`;
  fs.renameSync(h.auditFile, aside);
  fs.symlinkSync(path.join(h.dir, 'elsewhere.jsonl'), h.auditFile);
  try {
    await h.viewer.call('health');
    const r = await h.viewer.call('health');
    const text = JSON.stringify(r.json.checks);
    assert.ok(!text.includes(path.dirname(h.auditFile)), `no audit dir in ${text}`);
    assert.ok(!text.includes(h.dir), 'no temp dir');
  } finally {
    fs.rmSync(h.auditFile, { force: true });
    fs.renameSync(aside, h.auditFile);
  }
});
