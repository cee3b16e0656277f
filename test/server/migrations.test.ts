import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createInternalPort } from '../../src/server/index.js';
import { SignedClient, waitForJob } from '../helpers/signed-client.js';
import { readAudit, startHarness } from './fixtures/harness.js';
import { sqliteMigrations } from '../helpers/sqlite-migrations.js';
import { tempDir } from './fixtures/harness.js';

async function withMigrations(delayMs: number, fn: (h: Awaited<ReturnType<typeof startHarness>>, fx: ReturnType<typeof sqliteMigrations>) => Promise<void>) {
  const dbDir = tempDir('opsctl-db-');
  const fx = sqliteMigrations(path.join(dbDir, 'app.db'), undefined, delayMs);
  const h = await startHarness({ migrations: fx.options });
  try {
    await fn(h, fx);
  } finally {
    await h.close();
    fx.close();
    fs.rmSync(dbDir, { recursive: true, force: true });
  }
}

test('status, plan, then up with the reviewed planHash → job succeeded → nothing pending', () => withMigrations(0, async (h, fx) => {
  const status = await h.viewer.call('migrations.status');
  assert.equal(status.status, 200);
  assert.deepEqual(status.json, { applied: [], pending: [{ name: '0001-create-items' }, { name: '0002-add-price' }, { name: '0003-create-orders' }] });

  assert.equal((await h.operator.call('migrations.plan')).status, 403, 'plan is admin only');
  const plan = await h.admin.call('migrations.plan');
  assert.equal(plan.status, 200);
  assert.deepEqual(plan.json.pending, ['0001-create-items', '0002-add-price', '0003-create-orders']);
  assert.match(plan.json.planHash, /^[0-9a-f]{64}$/);
  const partial = await h.admin.call('migrations.plan', { to: '0002-add-price' });
  assert.deepEqual(partial.json.pending, ['0001-create-items', '0002-add-price']);
  assert.notEqual(partial.json.planHash, plan.json.planHash);
  const unknown = await h.admin.call('migrations.plan', { to: '0009-nope' });
  assert.equal(unknown.status, 400);
  assert.equal(unknown.json.field, 'to');

  const stale = await h.admin.call('migrations.up', { expectedPlan: partial.json.planHash });
  assert.equal(stale.status, 412);
  assert.equal(stale.json.code, 'precondition.failed');
  assert.equal(stale.json.planHash, plan.json.planHash, 'the 412 carries the current plan');
  assert.equal((await h.viewer.call('migrations.status')).json.applied.length, 0, '412 applied nothing');

  const up = await h.admin.call('migrations.up', { expectedPlan: plan.json.planHash }, { headers: { 'opsctl-reason': 'release 42' } });
  assert.equal(up.status, 202);
  assert.match(up.json.jobId, /^[A-Za-z0-9]{16}$/);
  assert.equal(up.headers.location, `/v1/jobs/${up.json.jobId}`);
  const job = await waitForJob(h.viewer, up.json.jobId);
  assert.equal(job.state, 'succeeded');
  assert.equal(job.endpoint, 'migrations.up');
  assert.equal(job.startedBy, 'alice-admin');
  assert.deepEqual((job.result as { applied: string[] }).applied, ['0001-create-items', '0002-add-price', '0003-create-orders']);
  assert.deepEqual((job.progress as { current: number; total: number }).current, 3);
  const after = await h.viewer.call('migrations.status');
  assert.deepEqual(after.json.pending, []);
  assert.equal(after.json.applied.length, 3);
  assert.deepEqual([...fx.upRuns.values()], [1, 1, 1]);
  assert.equal(fx.db.prepare('SELECT count(*) AS n FROM migration_lock').get() && (fx.db.prepare('SELECT count(*) AS n FROM migration_lock').get() as { n: number }).n, 0, 'lock released');

  const again = await h.admin.call('migrations.up', { expectedPlan: plan.json.planHash });
  assert.equal(again.status, 412, 'the reviewed plan is spent');

  const audit = readAudit(h.auditFile);
  const accepted = audit.find((r) => r.endpoint === 'migrations.up' && r.outcome === 'accepted' && r.jobId === up.json.jobId);
  assert.ok(accepted, 'accepted record');
  assert.equal(accepted.principal, 'alice-admin');
  assert.equal(accepted.reason, 'release 42');
  assert.equal(accepted.jobId, up.json.jobId);
  const done = audit.find((r) => r.endpoint === 'migrations.up' && r.outcome === 'ok' && r.jobId === up.json.jobId);
  assert.ok(done, 'job completion record');
  assert.ok(audit.indexOf(accepted) < audit.indexOf(done));
  assert.ok(audit.some((r) => r.endpoint === 'migrations.up' && r.status === 412 && r.outcome === 'error'));
}));

test('down: plan with direction down, then revert to a kept migration, and to 0 for all', () => withMigrations(0, async (h) => {
  const up = await h.admin.call('migrations.up', {});
  assert.equal((await waitForJob(h.admin, up.json.jobId)).state, 'succeeded');
  const plan = await h.admin.call('migrations.plan', { direction: 'down', to: '0001-create-items' });
  assert.equal(plan.status, 200);
  assert.deepEqual(plan.json.pending, ['0003-create-orders', '0002-add-price']);
  const badTo = await h.admin.call('migrations.down', { to: 'nope' });
  assert.equal(badTo.status, 400);
  assert.equal(badTo.json.field, 'to');
  const noTo = await h.admin.call('migrations.down', {});
  assert.equal(noTo.status, 400);
  assert.equal(noTo.json.field, 'to');
  const stale = await h.admin.call('migrations.down', { to: '0001-create-items', expectedPlan: 'f'.repeat(64) });
  assert.equal(stale.status, 412);
  const down = await h.admin.call('migrations.down', { to: '0001-create-items', expectedPlan: plan.json.planHash });
  assert.equal(down.status, 202);
  const job = await waitForJob(h.admin, down.json.jobId);
  assert.equal(job.state, 'succeeded');
  assert.deepEqual((job.result as { reverted: string[] }).reverted, ['0003-create-orders', '0002-add-price']);
  assert.deepEqual((await h.viewer.call('migrations.status')).json.applied, [{ name: '0001-create-items' }]);
  const all = await h.admin.call('migrations.down', { to: '0' });
  assert.equal((await waitForJob(h.admin, all.json.jobId)).state, 'succeeded');
  assert.deepEqual((await h.viewer.call('migrations.status')).json.applied, []);
}));

test('two concurrent migrations.up → exactly one runs, the other gets 409 naming the holder', () => withMigrations(300, async (h, fx) => {
  const plan = await h.admin.call('migrations.plan');
  const [a, b] = await Promise.all([
    h.admin.call('migrations.up', { expectedPlan: plan.json.planHash }),
    h.admin.call('migrations.up', { expectedPlan: plan.json.planHash }),
  ]);
  const statuses = [a.status, b.status].sort();
  assert.deepEqual(statuses, [202, 409]);
  const loser = a.status === 409 ? a : b;
  const winner = a.status === 202 ? a : b;
  assert.equal(loser.json.code, 'conflict.locked');
  assert.match(loser.json.holder, /alice-admin/);
  assert.equal((await waitForJob(h.admin, winner.json.jobId)).state, 'succeeded');
  assert.deepEqual([...fx.upRuns.values()], [1, 1, 1], 'each migration ran once');
}));

test('the lock lives in the database: a second port (replica) on the same database gets 409', () => withMigrations(300, async (h, fx) => {
  const dbFile = fx.db.name;
  const fx2 = sqliteMigrations(dbFile, undefined, 300);
  const replica = await createInternalPort({
    service: { name: 'test-service', version: '1.2.3' },
    authorizedKeysFile: h.allowlistFile,
    auditLogFile: path.join(h.dir, 'replica-audit.jsonl'),
    migrations: fx2.options,
    log: () => undefined,
  });
  try {
    const other = new SignedClient({ host: '127.0.0.1', port: replica.port! }, h.keys.admin);
    const first = await h.admin.call('migrations.up', {});
    assert.equal(first.status, 202);
    const second = await other.call('migrations.up', {});
    assert.equal(second.status, 409);
    assert.equal(second.json.code, 'conflict.locked');
    assert.match(second.json.holder, /alice-admin .* request /);
    assert.equal((await waitForJob(h.admin, first.json.jobId)).state, 'succeeded');
    assert.equal(fx2.upRuns.size, 0, 'nothing ran on the replica');
  } finally {
    await replica.close();
    fx2.close();
  }
}));

test('a client that disconnects mid-job does not stop it; re-attaching replays every event', () => withMigrations(200, async (h) => {
  const up = await h.admin.call('migrations.up', {});
  assert.equal(up.status, 202);
  const partial = await h.admin.stream(`/v1/jobs/${up.json.jobId}/events`, { abortAfter: 2 });
  assert.equal(partial.aborted, true);
  assert.equal(partial.lines[0]!.type, 'state');
  const job = await waitForJob(h.admin, up.json.jobId);
  assert.equal(job.state, 'succeeded');
  assert.deepEqual((await h.viewer.call('migrations.status')).json.pending, []);
  const full = await h.viewer.stream(`/v1/jobs/${up.json.jobId}/events`);
  assert.equal(full.status, 200);
  assert.deepEqual(full.lines.slice(0, 2), partial.lines, 'replay starts with the same events');
  const last = full.lines.at(-1)!;
  assert.equal(last.type, 'end');
  assert.equal(last.state, 'succeeded');
  assert.ok(full.lines.filter((l) => l.type === 'progress').length >= 3);
  assert.ok(full.lines.some((l) => l.type === 'log' && String(l.message).includes('applied 0003-create-orders')));
}));
