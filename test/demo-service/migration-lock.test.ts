// The migration lock lives in the database: it holds across processes that
// share the SQLite file, whoever holds it (another replica, or a row written
// by hand), and the loser gets 409 naming the holder.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { startDemoService, type DemoService } from '../helpers/demo-service.js';
import { generateKeyPair, type TestKey } from '../helpers/keys.js';
import { migrateUp, plain, signed, waitForJob } from './signed-http.js';

let admin: TestKey;
let dir: string;

before(() => {
  admin = generateKeyPair('alice@ops');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-lock-'));
});
after(() => {
  admin?.cleanup();
  fs.rmSync(dir, { recursive: true, force: true });
});

const allowlist = () => admin.authorizedKeysLine('admin') + '\n';

function openDb(svc: DemoService): Database.Database {
  const db = new Database(path.join(svc.dataDir, 'orders.sqlite'));
  db.pragma('busy_timeout = 5000');
  return db;
}

test('a lock row held outside the service makes migrations.up answer 409 naming the holder; nothing is applied', async (t) => {
  const svc = await startDemoService({ authorizedKeys: allowlist() });
  t.after(() => svc.stop());
  const db = openDb(svc);
  t.after(() => db.close());
  db.prepare('INSERT INTO migration_lock (id, holder, acquired_at) VALUES (1, ?, ?)').run('bob@ops via replica-2', new Date().toISOString());

  const plan = await signed(svc.internal, admin, 'POST', '/v1/migrations/plan', { body: {} });
  const up = await signed(svc.internal, admin, 'POST', '/v1/migrations/up', { body: { expectedPlan: plan.json.planHash } });
  assert.equal(up.status, 409, up.text);
  assert.equal(up.json.code, 'conflict.locked');
  assert.match(JSON.stringify(up.json), /bob@ops via replica-2/);
  assert.equal((db.prepare('SELECT COUNT(*) AS n FROM migrations').get() as { n: number }).n, 0);

  db.prepare('DELETE FROM migration_lock').run();
  const retry = await signed(svc.internal, admin, 'POST', '/v1/migrations/up', { body: { expectedPlan: plan.json.planHash } });
  assert.equal(retry.status, 202, retry.text);
  assert.equal((await waitForJob(svc.internal, admin, retry.json.jobId)).json.state, 'succeeded');
  assert.equal(db.prepare('SELECT * FROM migration_lock').get(), undefined, 'the lock is released after the job');
});

test('two service processes on one database: while one migrates the other gets 409, then sees the result', async (t) => {
  const dataDir = path.join(dir, 'shared');
  // A pauses 1.5 s before each migration so its job is visibly running.
  const a = await startDemoService({ authorizedKeys: allowlist(), dataDir, extraArgs: ['--slow-migrations', '1500'] });
  t.after(() => a.stop());
  const b = await startDemoService({ authorizedKeys: allowlist(), dataDir, extraArgs: ['--audit-log', path.join(dir, 'b-audit.log')] });
  t.after(() => b.stop());

  const planA = await signed(a.internal, admin, 'POST', '/v1/migrations/plan', { body: {} });
  const planB = await signed(b.internal, admin, 'POST', '/v1/migrations/plan', { body: {} });
  assert.equal(planA.json.planHash, planB.json.planHash, 'same database, same plan');

  const upA = await signed(a.internal, admin, 'POST', '/v1/migrations/up', { body: { expectedPlan: planA.json.planHash } });
  assert.equal(upA.status, 202, upA.text);
  // Wait until A's job holds the lock in the database.
  const db = openDb(a);
  t.after(() => db.close());
  for (let i = 0; i < 50 && !db.prepare('SELECT 1 FROM migration_lock').get(); i++) await new Promise((r) => setTimeout(r, 50));
  const holder = (db.prepare('SELECT holder FROM migration_lock').get() as { holder: string } | undefined)?.holder;
  assert.ok(holder, 'A holds the lock while its job runs');

  const upB = await signed(b.internal, admin, 'POST', '/v1/migrations/up', { body: { expectedPlan: planB.json.planHash } });
  assert.equal(upB.status, 409, upB.text);
  assert.equal(upB.json.code, 'conflict.locked');
  assert.ok(JSON.stringify(upB.json).includes(holder), `409 names the holder ${holder}: ${upB.text}`);

  const jobA = await waitForJob(a.internal, admin, upA.json.jobId);
  assert.equal(jobA.json.state, 'succeeded', jobA.text);

  // B reads the same database: nothing pending, its public API works, and
  // its stale plan is refused rather than re-applied.
  const statusB = await signed(b.internal, admin, 'GET', '/v1/migrations');
  assert.equal(statusB.json.pending.length, 0, statusB.text);
  assert.equal((await plain(b.public, 'GET', '/orders')).status, 200);
  const staleB = await signed(b.internal, admin, 'POST', '/v1/migrations/up', { body: { expectedPlan: planB.json.planHash } });
  assert.equal(staleB.status, 412, staleB.text);
  assert.equal(staleB.json.code, 'precondition.failed');
});

test('SIGTERM during a migration job: the job ends, the lock is released, the schema matches the log', async (t) => {
  const dataDir = path.join(dir, 'sigterm');
  const svc = await startDemoService({ authorizedKeys: allowlist(), dataDir, extraArgs: ['--slow-migrations', '800'] });
  t.after(() => svc.stop());
  const plan = await signed(svc.internal, admin, 'POST', '/v1/migrations/plan', { body: {} });
  const up = await signed(svc.internal, admin, 'POST', '/v1/migrations/up', { body: { expectedPlan: plan.json.planHash } });
  assert.equal(up.status, 202, up.text);
  const probe = openDb(svc);
  for (let i = 0; i < 50 && !probe.prepare('SELECT 1 FROM migration_lock').get(); i++) await new Promise((r) => setTimeout(r, 50));
  probe.close();

  const exited = new Promise<number | null>((resolve) => svc.proc.once('exit', (code) => resolve(code)));
  svc.proc.kill('SIGTERM');
  assert.equal(await exited, 0, svc.stderr());

  const db = openDb(svc);
  t.after(() => db.close());
  assert.equal(db.prepare('SELECT * FROM migration_lock').get(), undefined, 'no stale lock after a clean shutdown');
  const applied = (db.prepare('SELECT name FROM migrations ORDER BY name').all() as Array<{ name: string }>).map((r) => r.name);
  const objects = new Set((db.prepare("SELECT name FROM sqlite_master").all() as Array<{ name: string }>).map((r) => r.name));
  assert.equal(objects.has('orders'), applied.includes('0001-create-orders'));
  assert.equal(objects.has('order_events'), applied.includes('0003-create-order-events'));
});

test('clear-migration-lock: admin only, compare-and-delete on the exact holder, then migrations run', async (t) => {
  const operatorKey = generateKeyPair('oscar@ops');
  t.after(() => operatorKey.cleanup());
  const svc = await startDemoService({ authorizedKeys: allowlist() + operatorKey.authorizedKeysLine('operator') + '\n' });
  t.after(() => svc.stop());
  const db = openDb(svc);
  t.after(() => db.close());
  const stale = 'carol@ops (SHA256:gone) request r-dead';
  db.prepare('INSERT INTO migration_lock (id, holder, acquired_at) VALUES (1, ?, ?)').run(stale, '2026-01-01T00:00:00.000Z');
  const run = (key: TestKey, holder: string) => signed(svc.internal, key, 'POST', '/v1/tasks/clear-migration-lock/run', { body: { params: { holder } } });

  assert.equal((await run(operatorKey, stale)).status, 403);
  const wrong = await run(admin, 'carol@ops');
  assert.equal(wrong.status, 202, wrong.text);
  const wrongJob = await waitForJob(svc.internal, admin, wrong.json.jobId);
  assert.equal(wrongJob.json.state, 'failed');
  assert.match(JSON.stringify(wrongJob.json.error), /held by carol@ops \(SHA256:gone\) request r-dead/);
  assert.ok(db.prepare('SELECT 1 FROM migration_lock').get(), 'a mismatched holder clears nothing');

  const right = await run(admin, stale);
  const rightJob = await waitForJob(svc.internal, admin, right.json.jobId);
  assert.equal(rightJob.json.state, 'succeeded', rightJob.text);
  assert.deepEqual(rightJob.json.result, { cleared: true, holder: stale, since: '2026-01-01T00:00:00.000Z' });
  await migrateUp(svc.internal, admin);
  assert.equal((await plain(svc.public, 'GET', '/orders')).status, 200);
});
