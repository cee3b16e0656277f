/**
 * The demo's orders on a real throwaway PostgreSQL (--database): the same
 * scenario through the SQLite and the PostgreSQL OrdersDatabase gives the same
 * answers, the tasks run on either, and two backends on one URL (two
 * replicas) see each other's orders.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../../examples/demo-service/db/open-database.js';
import { createMigrator } from '../../examples/demo-service/db/migrator.js';
import { openPostgresBackend, type PostgresBackend } from '../../examples/demo-service/db/postgres/pg-backend.js';
import { sqliteOrdersDatabase } from '../../examples/demo-service/orders/sqlite-orders.js';
import type { OrdersDatabase } from '../../examples/demo-service/orders/orders-store.js';
import { healthChecks } from '../../examples/demo-service/ops/health.js';
import { recomputeTotalsTask } from '../../examples/demo-service/ops/tasks/recompute-totals.js';
import { purgeCancelledOrdersTask } from '../../examples/demo-service/ops/tasks/purge-cancelled-orders.js';
import type { JobContext } from '../../src/server/options.js';
import { postgresMissing, startPostgres, type Postgres } from '../helpers/postgres.js';

const missing = postgresMissing();
if (missing && (process.env.CI === 'true' || process.env.CI === '1')) throw new Error(`CI: ${missing}`);
const skip = missing ?? false;
const quiet = () => {};

let pgServer: Postgres;
const backends: PostgresBackend[] = [];
before(async () => {
  if (!skip) pgServer = await startPostgres();
});
after(async () => {
  for (const b of backends) await b.close();
  await pgServer?.stop();
});

async function freshPg(): Promise<{ url: string; backend: PostgresBackend; name: string }> {
  const name = pgServer.createDatabase('orders');
  const url = pgServer.url(name);
  const backend = await openPostgresBackend(url, { log: quiet });
  backends.push(backend);
  return { url, backend, name };
}

function freshSqlite(t: { after(fn: () => void): void }): OrdersDatabase & { exec(sql: string): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-db-'));
  const db = openDatabase(path.join(dir, 'orders.sqlite'));
  t.after(() => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return Object.assign(sqliteOrdersDatabase(db), { migrate: () => createMigrator(db, { log: quiet }).up(), exec: (sql: string) => void db.exec(sql) });
}

function jobContext() {
  const progress: unknown[] = [];
  const ctx: JobContext = { signal: new AbortController().signal, progress: (u) => progress.push(u), log: () => {}, principal: { name: 'tester', role: 'admin', keyid: 'SHA256:test' } };
  return { ctx, progress };
}

/** Everything the public API and the tasks do, with the timestamps left out. */
async function scenario(data: OrdersDatabase, sql: (s: string) => Promise<void> | void): Promise<unknown[]> {
  const out: unknown[] = [];
  const strip = (o: { createdAt?: unknown; cancelledAt?: unknown } | undefined) => o && { ...o, createdAt: typeof o.createdAt, cancelledAt: o.cancelledAt === null ? null : typeof o.cancelledAt };
  const a = await data.orders.create({ item: 'widget', quantity: 3, unitPriceCents: 1999, discountPercent: 10 });
  const b = await data.orders.create({ item: 'gadget', quantity: 1, unitPriceCents: 500, discountPercent: 0 });
  const c = await data.orders.create({ item: 'gizmo', quantity: 2, unitPriceCents: 250, discountPercent: 0 });
  out.push(strip(a), strip(b));
  const cancelled = await data.orders.cancel(a.id);
  out.push(cancelled.ok && strip(cancelled.order));
  out.push(await data.orders.cancel(a.id), await data.orders.cancel(999));
  out.push((await data.orders.events(a.id)).map((e) => [e.orderId, e.kind, e.detail]));
  out.push((await data.orders.list({ limit: 10 })).map((o) => o.id), (await data.orders.list({ limit: 1, after: b.id })).map((o) => o.id));
  out.push((await data.orders.list({ limit: 10, status: 'open' })).map((o) => o.id));
  out.push(await data.orders.stats(), await data.orders.count(), await data.orders.openCount(), await data.orders.get(12345));
  await sql(`UPDATE orders SET total_cents = 1 WHERE id = ${c.id}`);
  out.push(await data.orders.countDrifted());
  const recompute = recomputeTotalsTask(data);
  out.push(await recompute.dryRun!({}, {} as never), await recompute.handler({ batchSize: 1, pauseMs: 0 }, jobContext().ctx));
  out.push((await data.orders.get(c.id))?.total, (await data.orders.events(c.id)).map((e) => [e.kind, e.detail]));
  const purge = purgeCancelledOrdersTask(data);
  out.push(await purge.dryRun!({ olderThanDays: 1 }, {} as never), await purge.dryRun!({ olderThanDays: 0 }, {} as never));
  out.push(await purge.handler({ olderThanDays: 0 }, jobContext().ctx), await data.orders.get(a.id), await data.orders.events(a.id));
  return out;
}

test('the PostgreSQL orders answer exactly as the SQLite ones, tasks included', { skip }, async (t) => {
  const lite = freshSqlite(t);
  await (lite as unknown as { migrate(): Promise<unknown> }).migrate();
  const { backend, name } = await freshPg();
  await backend.migrator.up();
  assert.deepEqual(await backend.data.schemaStatus(), await lite.schemaStatus(), 'same migrations, same names');
  const fromSqlite = await scenario(lite, (s) => lite.exec(s));
  const fromPg = await scenario(backend.data, (s) => void pgServer.psql(s, name));
  assert.deepEqual(fromPg, fromSqlite);
  // Spot checks, so the comparison cannot pass on two equally empty answers.
  assert.equal((fromPg[0] as { total: number }).total, 53.97, '3 × 19.99 less 10%');
  assert.deepEqual(fromPg[14], { orders: 3, wouldCorrect: 1 }, 'recompute dry-run');
  assert.deepEqual(fromPg[9], { open: 2, cancelled: 1, openRevenue: 10 }, 'stats');
  assert.deepEqual(fromPg[15], { scanned: 3, corrected: 1, batches: 10 }, 'recompute-totals fixed the drifted total');
  assert.deepEqual(fromPg[20], { deleted: 1, olderThanDays: 0 }, 'purge deleted the cancelled order');
});

test('two backends on one URL (two replicas) share orders; unmigrated is a 503 and unhealthy', { skip }, async () => {
  const { url, backend: a } = await freshPg();
  const b = await openPostgresBackend(url, { log: quiet });
  backends.push(b);
  const checks = healthChecks(b.data);
  assert.deepEqual(await checks.migrations!(), { ok: false, detail: '3 pending: 0001-create-orders, 0002-add-discount-column, 0003-create-order-events' });
  await assert.rejects(recomputeTotalsTask(b.data).handler({}, jobContext().ctx), (e: { status?: number; message: string }) => e.status === 503 && /database not migrated/.test(e.message), '503 before migrating');
  await a.migrator.up();
  assert.deepEqual(await checks.migrations!(), { ok: true, detail: 'schema up to date' }, 'b sees the migration a applied');
  assert.deepEqual(await b.migrator.pending(), [], 'umzug on b reads the same migrations table');
  const order = await a.data.orders.create({ item: 'shared', quantity: 1, unitPriceCents: 100, discountPercent: 0 });
  assert.equal((await b.data.orders.get(order.id))?.item, 'shared', 'created on a, read on b');
  assert.equal((await b.data.orders.cancel(order.id)).ok, true, 'cancelled on b');
  assert.equal((await a.data.orders.get(order.id))?.status, 'cancelled', 'seen cancelled on a');
  assert.deepEqual(await checks.database!(), { ok: true }, 'database check');
});
