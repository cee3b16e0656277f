// The demo's maintenance tasks run as server-owned jobs through the signed
// internal port: progress over several seconds, cooperative cancel, roles,
// params validation, and a destructive purge that really deletes rows.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import Database from 'better-sqlite3';
import { startDemoService, type DemoService } from '../helpers/demo-service.js';
import { generateKeyPair, type TestKey } from '../helpers/keys.js';
import { migrateUp, plain, signed, waitForJob } from './signed-http.js';

let admin: TestKey;
let operator: TestKey;
let svc: DemoService;

before(async () => {
  admin = generateKeyPair('alice@ops');
  operator = generateKeyPair('oscar@ops');
  // purge-cancelled-orders runs directly here: approvals have their own tests (test/e2e/approvals.test.ts).
  svc = await startDemoService({ authorizedKeys: `${admin.authorizedKeysLine('admin')}\n${operator.authorizedKeysLine('operator')}\n`, extraArgs: ['--no-approvals'] });
  await migrateUp(svc.internal, admin);
  for (let i = 0; i < 30; i++) {
    const r = await plain(svc.public, 'POST', '/orders', { item: `item-${i}`, quantity: 2, unitPrice: 1.5 });
    assert.equal(r.status, 201);
  }
});
after(async () => {
  await svc?.stop();
  admin?.cleanup();
  operator?.cleanup();
});

/** Another connection to the service's SQLite file, as an operator's shell would have. */
function withDb<T>(fn: (db: Database.Database) => T): T {
  const db = new Database(path.join(svc.dataDir, 'orders.sqlite'));
  try {
    db.pragma('busy_timeout = 5000');
    return fn(db);
  } finally {
    db.close();
  }
}

const runTask = (key: TestKey, name: string, params: Record<string, unknown>) => signed(svc.internal, key, 'POST', `/v1/tasks/${name}/run`, { body: { params } });

test('recompute-totals: an operator runs it; progress streams over several seconds; drifted totals are fixed', async () => {
  withDb((db) => db.prepare('UPDATE orders SET total_cents = 1 WHERE id IN (2, 29)').run());
  const started = Date.now();
  const run = await runTask(operator, 'recompute-totals', {});
  assert.equal(run.status, 202, run.text);

  const events = await signed(svc.internal, operator, 'GET', `/v1/jobs/${run.json.jobId}/events`);
  assert.equal(events.status, 200, events.text);
  const lines = events.text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const progress = lines.filter((e) => e.type === 'progress');
  assert.equal(progress.length, 10, events.text);
  assert.deepEqual(progress.map((e) => e.current), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.equal(progress.at(-1).message, '30/30 orders checked, 2 corrected');
  assert.ok(lines.some((e) => /recomputing 30 orders in 10 batches/.test(JSON.stringify(e))), 'log lines are in the stream');
  assert.ok(Date.now() - started >= 3000, 'the task takes several seconds with its default pause');

  const job = await waitForJob(svc.internal, operator, run.json.jobId);
  assert.equal(job.json.state, 'succeeded', job.text);
  assert.deepEqual(job.json.result, { scanned: 30, corrected: 2, batches: 10 });
  assert.equal((await plain(svc.public, 'GET', '/orders/2')).json.total, 3);
  const ev = await plain(svc.public, 'GET', '/orders/29/events');
  assert.deepEqual(ev.json.events.map((e: { kind: string }) => e.kind), ['created', 'total_recomputed']);
});

test('recompute-totals is cancelled promptly between batches', async () => {
  const run = await runTask(operator, 'recompute-totals', { pauseMs: 2000 });
  assert.equal(run.status, 202, run.text);
  const id = run.json.jobId;
  // Wait until it is running (the first batch reports progress at once).
  for (let i = 0; i < 50; i++) {
    const j = await signed(svc.internal, operator, 'GET', `/v1/jobs/${id}`);
    if (j.json.state === 'running') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const t0 = Date.now();
  const cancel = await signed(svc.internal, operator, 'POST', `/v1/jobs/${id}/cancel`, { body: {} });
  assert.ok(cancel.status === 200 || cancel.status === 202, cancel.text);
  const job = await waitForJob(svc.internal, operator, id, 5000);
  assert.equal(job.json.state, 'cancelled', job.text);
  assert.ok(Date.now() - t0 < 1500, `cancel took ${Date.now() - t0} ms; the 2 s pause must not delay it`);
});

test('task params are validated against the schema (400 naming the field), nothing runs', async () => {
  const bad = await runTask(admin, 'purge-cancelled-orders', { olderThanDays: -1 });
  assert.equal(bad.status, 400, bad.text);
  assert.match(JSON.stringify(bad.json), /olderThanDays/);
  const missing = await runTask(admin, 'purge-cancelled-orders', {});
  assert.equal(missing.status, 400, missing.text);
  const unknownParam = await runTask(operator, 'recompute-totals', { batchSize: 0 });
  assert.equal(unknownParam.status, 400, unknownParam.text);
  const unknownTask = await runTask(admin, 'drop-everything', {});
  assert.equal(unknownTask.status, 404, unknownTask.text);
});

test('purge-cancelled-orders is admin-only and deletes only old-enough cancelled orders', async () => {
  for (const id of [5, 6, 7]) assert.equal((await plain(svc.public, 'POST', `/orders/${id}/cancel`)).status, 200);
  withDb((db) => db.prepare('UPDATE orders SET cancelled_at = ? WHERE id IN (5, 6)').run(new Date(Date.now() - 40 * 86_400_000).toISOString()));

  const forbidden = await runTask(operator, 'purge-cancelled-orders', { olderThanDays: 30 });
  assert.equal(forbidden.status, 403, forbidden.text);
  assert.equal((await plain(svc.public, 'GET', '/orders/5')).status, 200, 'a refused request deletes nothing');

  const run = await runTask(admin, 'purge-cancelled-orders', { olderThanDays: 30 });
  assert.equal(run.status, 202, run.text);
  const job = await waitForJob(svc.internal, admin, run.json.jobId);
  assert.equal(job.json.state, 'succeeded', job.text);
  assert.deepEqual(job.json.result, { deleted: 2, olderThanDays: 30 });
  assert.equal((await plain(svc.public, 'GET', '/orders/5')).status, 404);
  assert.equal((await plain(svc.public, 'GET', '/orders/7')).json.status, 'cancelled', 'too recent to purge');
  assert.equal(withDb((db) => (db.prepare('SELECT COUNT(*) AS n FROM order_events WHERE order_id IN (5, 6)').get() as { n: number }).n), 0);
});
