/**
 * A fleet whose replicas share one real PostgreSQL (`demo-service
 * --database postgresql://…`): flags and migrations are service-scoped,
 * sent once, seen by every replica; the migration lock keeps two operators
 * from migrating at once; the orders live in that database too, so an order
 * taken by one replica's public API is served by every other.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fleetMissing, startFleet, type Fleet } from '../helpers/fleet.js';

const missing = fleetMissing({ postgres: true });
if (missing && (process.env.CI === 'true' || process.env.CI === '1')) throw new Error(`CI: ${missing}`);
const skip = missing ?? false;

let fleet: Fleet;
before(async () => {
  if (!skip) fleet = await startFleet({ hosts: 3, postgres: true, demoArgs: ['--slow-migrations', '1500'] });
});
after(async () => {
  await fleet?.stop();
});

test('two concurrent `migrate up` from two CLIs: one applies, the other exits 6; applied exactly once', { skip }, async () => {
  for (const h of fleet.hosts) {
    const hz = await h.publicApi('GET', '/healthz');
    assert.equal(hz.body.migrated, false, `${h.name} starts on an empty database`);
    assert.equal((await h.publicApi('GET', '/orders')).status, 503, `${h.name}: no orders table yet`);
  }
  const [a, b] = await Promise.all([
    fleet.opsctl(['migrate', 'up', '--yes', '-o', 'json']),
    fleet.opsctl(['migrate', 'up', '--yes', '-o', 'json']),
  ]);
  const codes = [a.code, b.code].sort();
  assert.deepEqual(codes, [0, 6], `${a.stderr}\n${b.stderr}`);
  const winner = a.code === 0 ? a : b;
  const doc = JSON.parse(winner.stdout);
  assert.equal(doc.hosts.length, 1, 'service-scoped: sent to one host only');
  assert.deepEqual(doc.summary, { ok: 1, failed: 0, skipped: 0 });
  const loser = a.code === 0 ? b : a;
  assert.match(loser.stderr + loser.stdout, /locked|plan changed/);
  assert.equal(fleet.postgres!.psql('SELECT count(*) FROM migrations', fleet.databaseUrl!.split('/').pop()).trim(), '3');
  // Every replica now reports the shared schema as migrated.
  const health = await fleet.opsctl(['health', '-o', 'json']);
  assert.equal(health.code, 0, health.stderr);
  for (const h of JSON.parse(health.stdout).hosts) assert.equal(h.result.status, 'ok', h.host);
  // ... and their public APIs, including the two that did not run the migration.
  for (const h of fleet.hosts) assert.deepEqual((await h.publicApi('GET', '/healthz')).body, { status: 'ok', migrated: true, pending: [] }, h.name);
});

test('an order taken by one replica is served, cancelled and counted through the others (orders in PostgreSQL)', { skip }, async () => {
  const [a, b, c] = fleet.hosts as [typeof fleet.hosts[0], typeof fleet.hosts[0], typeof fleet.hosts[0]];
  const created = await a.publicApi('POST', '/orders', { item: 'fleet widget', quantity: 2, unitPrice: 12.5 });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = created.body.id as number;
  const onB = await b.publicApi('GET', `/orders/${id}`);
  assert.equal(onB.status, 200, `${b.name} serves the order ${a.name} took`);
  assert.deepEqual(onB.body, created.body);
  const listed = await c.publicApi('GET', '/orders?status=open');
  assert.deepEqual(listed.body.orders.map((o: { id: number }) => o.id), [id], `${c.name} lists it`);
  const cancelled = await c.publicApi('POST', `/orders/${id}/cancel`);
  assert.equal(cancelled.body.status, 'cancelled', `${c.name} cancels it`);
  assert.equal((await b.publicApi('POST', `/orders/${id}/cancel`)).status, 409, `${b.name} sees it already cancelled`);
  const events = await a.publicApi('GET', `/orders/${id}/events`);
  assert.deepEqual(events.body.events.map((e: { kind: string }) => e.kind), ['created', 'cancelled'], `${a.name} sees both events`);
  const db = fleet.databaseUrl!.split('/').pop();
  assert.equal(fleet.postgres!.psql(`SELECT item || ' ' || status FROM orders WHERE id = ${id}`, db).trim(), 'fleet widget cancelled', 'the row is in PostgreSQL');
  for (const h of fleet.hosts) assert.equal(fs.existsSync(path.join(h.dataDir, 'orders.sqlite')), false, `${h.name} keeps no SQLite database`);
  // The service-scoped orders.stats answers once, from the shared table.
  const stats = await fleet.opsctl(['call', 'orders.stats', '-o', 'json']);
  assert.equal(stats.code, 0, stats.stderr);
  const doc = JSON.parse(stats.stdout);
  assert.equal(doc.hosts.length, 1, 'service-scoped: one host answers');
  assert.deepEqual(doc.hosts[0].result, { open: 0, cancelled: 1, openRevenue: 0 });
});

test('a flag set once (shared store) is seen by every replica', { skip }, async () => {
  const set = await fleet.opsctl(['flags', 'set', 'discount_percent', '15', '-o', 'json']);
  assert.equal(set.code, 0, set.stderr);
  const doc = JSON.parse(set.stdout);
  assert.equal(doc.hosts.length, 1, 'sent once for the whole service');
  assert.match(set.stderr, /flags.set is service-scoped: sent once/);
  const t0 = Date.now();
  const reads = await Promise.all(fleet.hosts.map((h) => fleet.opsctl(['--host', h.name, 'flags', 'get', 'discount_percent', '-o', 'json'])));
  for (const r of reads) {
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).value, 15);
  }
  // Each replica answers from its own FlagService; the store test (test/server/postgres) times the 1 s bound.
  void t0;
});
