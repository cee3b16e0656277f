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
import { plain, signed, waitForJob } from './signed-http.js';

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
