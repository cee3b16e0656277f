// The demo service's data layer against real SQLite files: umzug migrations
// through the SQLite storage, the database-held migration lock across two
// connections, the orders repository and the tasks' handlers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { openDatabase } from '../../examples/demo-service/db/open-database.js';
import { createMigrator } from '../../examples/demo-service/db/migrator.js';
import { SqliteMigrationLock } from '../../examples/demo-service/db/migration-lock.js';
import { schemaStatus } from '../../examples/demo-service/db/schema-status.js';
import { MIGRATIONS } from '../../examples/demo-service/db/migrations/index.js';
import { OrdersRepo } from '../../examples/demo-service/orders/orders-repo.js';
import { recomputeTotalsTask } from '../../examples/demo-service/ops/tasks/recompute-totals.js';
import { purgeCancelledOrdersTask } from '../../examples/demo-service/ops/tasks/purge-cancelled-orders.js';
import type { JobContext } from '../../src/server/options.js';

const quiet = () => {};

function tempDb(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-db-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'orders.sqlite');
}

function tables(db: Database.Database): string[] {
  return (db.prepare("SELECT name FROM sqlite_master WHERE type IN ('table', 'index') AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name);
}

function jobContext(signal = new AbortController().signal) {
  const progress: unknown[] = [];
  const logs: string[] = [];
  const ctx: JobContext = {
    signal,
    progress: (u) => progress.push(u),
    log: (m) => logs.push(m),
    principal: { name: 'tester', role: 'admin', keyid: 'SHA256:test' },
  };
  return { ctx, progress, logs };
}

test('a new database is WAL, 0600, and has only the bookkeeping tables', (t) => {
  const file = tempDb(t);
  const db = openDatabase(file);
  t.after(() => db.close());
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(tables(db), ['migration_lock', 'migrations']);
  assert.deepEqual(schemaStatus(db), { applied: [], pending: MIGRATIONS.map((m) => m.name) });
});

test('umzug applies and reverts the three migrations through the SQLite storage', async (t) => {
  const db = openDatabase(tempDb(t));
  t.after(() => db.close());
  const umzug = createMigrator(db, { log: quiet });
  assert.deepEqual((await umzug.pending()).map((m) => m.name), ['0001-create-orders', '0002-add-discount-column', '0003-create-order-events']);

  await umzug.up({ to: '0002-add-discount-column' });
  assert.deepEqual((await umzug.executed()).map((m) => m.name), ['0001-create-orders', '0002-add-discount-column']);
  const cols = (db.prepare('PRAGMA table_info(orders)').all() as Array<{ name: string }>).map((c) => c.name);
  assert.ok(cols.includes('discount_percent'), 'migration 2 adds discount_percent');
  assert.ok(!tables(db).includes('order_events'));

  await umzug.up();
  assert.deepEqual(await umzug.pending(), []);
  assert.ok(tables(db).includes('order_events') && tables(db).includes('order_events_by_order') && tables(db).includes('orders_by_status_cancelled_at'));
  assert.deepEqual(schemaStatus(db).pending, []);

  await umzug.down({ to: '0002-add-discount-column' });
  assert.deepEqual((await umzug.executed()).map((m) => m.name), ['0001-create-orders']);
  const colsAfter = (db.prepare('PRAGMA table_info(orders)').all() as Array<{ name: string }>).map((c) => c.name);
  assert.ok(!colsAfter.includes('discount_percent'), 'down of migration 2 drops the column');
  assert.ok(!tables(db).includes('order_events'));

  await umzug.down({ to: 0 });
  assert.deepEqual(tables(db), ['migration_lock', 'migrations']);
});

test('a failing migration leaves neither schema change nor log row behind', async (t) => {
  const file = tempDb(t);
  const db = openDatabase(file);
  t.after(() => db.close());
  await createMigrator(db, { log: quiet }).up({ to: '0001-create-orders' });
  // Someone added the column by hand: migration 2's ALTER fails inside its transaction.
  db.exec('ALTER TABLE orders ADD COLUMN discount_percent REAL');
  await assert.rejects(createMigrator(db, { log: quiet }).up());
  assert.deepEqual(schemaStatus(db).applied, ['0001-create-orders']);
  assert.ok(!tables(db).includes('order_events'), 'migration 3 never ran');
});

test('the migration lock is exclusive across two connections to the same file', async (t) => {
  const file = tempDb(t);
  const a = openDatabase(file);
  const b = openDatabase(file);
  t.after(() => { a.close(); b.close(); });
  const lockA = new SqliteMigrationLock(a);
  const lockB = new SqliteMigrationLock(b);

  assert.deepEqual(await lockA.acquire('alice (job 1)'), { acquired: true });
  const lost = await lockB.acquire('bob (job 2)');
  assert.equal(lost.acquired, false);
  assert.equal(lost.acquired === false && lost.holder, 'alice (job 1)');
  assert.match(lost.acquired === false ? lost.since ?? '' : '', /^\d{4}-\d\d-\d\dT/);

  await lockB.release('bob (job 2)');
  assert.equal(lockA.current()?.holder, 'alice (job 1)', 'releasing someone else\'s lock is a no-op');
  await lockA.release('alice (job 1)');
  assert.equal(lockA.current(), undefined);
  assert.deepEqual(await lockB.acquire('bob (job 2)'), { acquired: true });
});

test('six connections acquire the lock in turn: exactly one wins, the rest see its holder', async (t) => {
  const file = tempDb(t);
  const dbs = Array.from({ length: 6 }, () => openDatabase(file));
  t.after(() => dbs.forEach((d) => d.close()));
  const results = await Promise.all(dbs.map((d, i) => new SqliteMigrationLock(d).acquire(`replica-${i}`)));
  const winners = results.filter((r) => r.acquired);
  assert.equal(winners.length, 1);
  const holder = new SqliteMigrationLock(dbs[0]!).current()!.holder;
  for (const r of results) if (!r.acquired) assert.equal(r.holder, holder);
});

test('orders: create with discount, cancel once, events recorded, stats', async (t) => {
  const db = openDatabase(tempDb(t));
  t.after(() => db.close());
  await createMigrator(db, { log: quiet }).up();
  const repo = new OrdersRepo(db);
  const o = repo.create({ item: 'widget', quantity: 3, unitPriceCents: 1999, discountPercent: 10 });
  assert.equal(o.total, 53.97); // 3 * 19.99 * 0.9 = 53.973
  assert.equal(o.discountPercent, 10);
  assert.equal(repo.cancel(o.id).ok, true);
  assert.deepEqual(repo.cancel(o.id), { ok: false, reason: 'already_cancelled' });
  assert.deepEqual(repo.cancel(999), { ok: false, reason: 'not_found' });
  assert.deepEqual(repo.events(o.id).map((e) => e.kind), ['created', 'cancelled']);
  repo.create({ item: 'gadget', quantity: 1, unitPriceCents: 500, discountPercent: 0 });
  assert.deepEqual(repo.stats(), { open: 1, cancelled: 1, openRevenue: 5 });
});

test('recompute-totals fixes drifted totals with progress, and stops promptly when aborted', async (t) => {
  const db = openDatabase(tempDb(t));
  t.after(() => db.close());
  await createMigrator(db, { log: quiet }).up();
  const repo = new OrdersRepo(db);
  for (let i = 0; i < 25; i++) repo.create({ item: `item-${i}`, quantity: 2, unitPriceCents: 100, discountPercent: 0 });
  db.prepare('UPDATE orders SET total_cents = 1 WHERE id IN (3, 17)').run();

  const task = recomputeTotalsTask(db);
  const run = jobContext();
  const result = await task.handler({ batchSize: 10, pauseMs: 0 }, run.ctx);
  assert.deepEqual(result, { scanned: 25, corrected: 2, batches: 10 });
  assert.equal(repo.get(3)!.total, 2);
  assert.equal(run.progress.length, 10);
  assert.deepEqual(run.progress.at(-1), { current: 10, total: 10, message: '25/25 orders checked, 2 corrected' });

  const ac = new AbortController();
  const cancelled = jobContext(ac.signal);
  const started = Date.now();
  const p = task.handler({ pauseMs: 2000 }, cancelled.ctx);
  setTimeout(() => ac.abort(), 100);
  await assert.rejects(p, (e: Error) => e.name === 'AbortError');
  assert.ok(Date.now() - started < 1000, 'an abort interrupts the pause between batches');
  assert.equal(cancelled.progress.length, 1);
});

test('purge-cancelled-orders deletes only cancelled orders old enough, with their events', async (t) => {
  const db = openDatabase(tempDb(t));
  t.after(() => db.close());
  await createMigrator(db, { log: quiet }).up();
  const repo = new OrdersRepo(db);
  const old = repo.create({ item: 'old', quantity: 1, unitPriceCents: 100, discountPercent: 0 });
  const fresh = repo.create({ item: 'fresh', quantity: 1, unitPriceCents: 100, discountPercent: 0 });
  const open = repo.create({ item: 'open', quantity: 1, unitPriceCents: 100, discountPercent: 0 });
  repo.cancel(old.id);
  repo.cancel(fresh.id);
  db.prepare('UPDATE orders SET cancelled_at = ? WHERE id = ?').run(new Date(Date.now() - 10 * 86_400_000).toISOString(), old.id);

  const task = purgeCancelledOrdersTask(db);
  assert.deepEqual(await task.handler({ olderThanDays: 7 }, jobContext().ctx), { deleted: 1, olderThanDays: 7 });
  assert.equal(repo.get(old.id), undefined);
  assert.equal(repo.events(old.id).length, 0, 'events cascade');
  assert.deepEqual(await task.handler({ olderThanDays: 0 }, jobContext().ctx), { deleted: 1, olderThanDays: 0 });
  assert.equal(repo.get(open.id)!.status, 'open');
  await assert.rejects(task.handler({ olderThanDays: -1 }, jobContext().ctx), /olderThanDays/);
});

test('tasks refuse to run on an unmigrated database with a 503 problem', async (t) => {
  const db = openDatabase(tempDb(t));
  t.after(() => db.close());
  await assert.rejects(recomputeTotalsTask(db).handler({}, jobContext().ctx), (e: { status?: number; message: string }) => e.status === 503 && /database not migrated/.test(e.message));
});
