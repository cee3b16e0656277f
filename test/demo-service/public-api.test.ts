// The demo service end to end: the public orders API depends on the
// migrations, which an admin applies through the signed internal port.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDemoService, type DemoService } from '../helpers/demo-service.js';
import { generateKeyPair, type TestKey } from '../helpers/keys.js';
import { migrateUp, plain, signed, waitForJob } from './signed-http.js';

let admin: TestKey;
let viewer: TestKey;
let svc: DemoService;

before(async () => {
  admin = generateKeyPair('alice@ops');
  viewer = generateKeyPair('victor@ops');
  // migrations.down runs directly here: approvals have their own tests (test/e2e/approvals.test.ts).
  svc = await startDemoService({ authorizedKeys: `${admin.authorizedKeysLine('admin')}\n${viewer.authorizedKeysLine('viewer')}\n`, extraArgs: ['--no-approvals'] });
});
after(async () => {
  await svc?.stop();
  admin?.cleanup();
  viewer?.cleanup();
});

test('before migrations: the public API answers 503 "database not migrated", health is degraded', async () => {
  const list = await plain(svc.public, 'GET', '/orders');
  assert.equal(list.status, 503);
  assert.match(list.headers['content-type'] ?? '', /application\/problem\+json/);
  assert.match(list.json.detail, /database not migrated: 3 pending/);
  assert.deepEqual(list.json.pending, ['0001-create-orders', '0002-add-discount-column', '0003-create-order-events']);
  assert.equal((await plain(svc.public, 'POST', '/orders', { item: 'x', quantity: 1, unitPrice: 1 })).status, 503);

  const status = await signed(svc.internal, viewer, 'GET', '/v1/migrations');
  assert.equal(status.status, 200, status.text);
  assert.deepEqual(status.json.applied.map((m: { name: string } | string) => (typeof m === 'string' ? m : m.name)), []);
  assert.equal(status.json.pending.length, 3);

  const health = await signed(svc.internal, viewer, 'GET', '/v1/health');
  assert.equal(health.status, 200, health.text);
  assert.match(JSON.stringify(health.json), /3 pending/);
  assert.notEqual(health.json.status, 'ok');
});

test('the catalog lists the service endpoint orders.stats and the two tasks are registered', async () => {
  const catalog = await signed(svc.internal, viewer, 'GET', '/v1/catalog');
  assert.equal(catalog.status, 200, catalog.text);
  assert.equal(catalog.json.service, 'demo-orders');
  const stats = catalog.json.endpoints.find((e: { id: string }) => e.id === 'orders.stats');
  assert.deepEqual(
    { method: stats?.method, path: stats?.path, role: stats?.role, job: stats?.job },
    { method: 'GET', path: '/v1/orders/stats', role: 'viewer', job: false },
  );
  const tasks = await signed(svc.internal, viewer, 'GET', '/v1/tasks');
  assert.equal(tasks.status, 200, tasks.text);
  const byName = Object.fromEntries(tasks.json.tasks.map((t: { name: string }) => [t.name, t]));
  assert.equal(byName['recompute-totals']?.destructive, false);
  assert.equal(byName['recompute-totals']?.role, 'operator');
  assert.equal(byName['purge-cancelled-orders']?.destructive, true);
  assert.equal(byName['purge-cancelled-orders']?.role, 'admin');
  assert.deepEqual(byName['purge-cancelled-orders']?.params.required, ['olderThanDays']);
});

test('a viewer cannot migrate (403); plan → up with expectedPlan → job succeeded → nothing pending', async () => {
  const denied = await signed(svc.internal, viewer, 'POST', '/v1/migrations/plan', { body: {} });
  assert.equal(denied.status, 403);

  const plan = await signed(svc.internal, admin, 'POST', '/v1/migrations/plan', { body: {} });
  assert.equal(plan.status, 200, plan.text);
  assert.equal(plan.json.pending.length, 3);
  assert.match(plan.json.planHash, /^[0-9a-f]{64}$/);

  const up = await signed(svc.internal, admin, 'POST', '/v1/migrations/up', { body: { expectedPlan: plan.json.planHash } });
  assert.equal(up.status, 202, up.text);
  const job = await waitForJob(svc.internal, admin, up.json.jobId);
  assert.equal(job.json.state, 'succeeded', job.text);

  const status = await signed(svc.internal, viewer, 'GET', '/v1/migrations');
  assert.equal(status.json.pending.length, 0);
  assert.equal(status.json.applied.length, 3);
  const health = await signed(svc.internal, viewer, 'GET', '/v1/health');
  assert.equal(health.json.status, 'ok', health.text);
  assert.equal((await plain(svc.public, 'GET', '/healthz')).json.migrated, true);
});

test('after migrations: create, read, list, cancel, events; validation and 404s', async () => {
  const created = await plain(svc.public, 'POST', '/orders', { item: 'widget', quantity: 3, unitPrice: 19.99 });
  assert.equal(created.status, 201, created.text);
  assert.equal(created.json.total, 59.97);
  assert.equal(created.json.discountPercent, 0);
  assert.equal(created.json.status, 'open');
  const id = created.json.id;

  assert.deepEqual((await plain(svc.public, 'GET', `/orders/${id}`)).json, created.json);
  const list = await plain(svc.public, 'GET', '/orders');
  assert.equal(list.status, 200);
  assert.ok(list.json.orders.some((o: { id: number }) => o.id === id));

  const cancelled = await plain(svc.public, 'POST', `/orders/${id}/cancel`);
  assert.equal(cancelled.status, 200);
  assert.equal(cancelled.json.status, 'cancelled');
  assert.equal((await plain(svc.public, 'POST', `/orders/${id}/cancel`)).status, 409);
  const events = await plain(svc.public, 'GET', `/orders/${id}/events`);
  assert.deepEqual(events.json.events.map((e: { kind: string }) => e.kind), ['created', 'cancelled']);

  for (const [body, field] of [
    [{ item: '', quantity: 1, unitPrice: 1 }, 'item'],
    [{ item: 'a', quantity: 0, unitPrice: 1 }, 'quantity'],
    [{ item: 'a', quantity: 1, unitPrice: 1.234 }, 'unitPrice'],
    [{ item: 'a', quantity: 1, unitPrice: 1, admin: true }, 'admin'],
  ] as const) {
    const r = await plain(svc.public, 'POST', '/orders', body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.json.field, field);
  }
  assert.equal((await plain(svc.public, 'POST', '/orders', '{not json')).status, 400);
  assert.equal((await plain(svc.public, 'POST', '/orders', Buffer.alloc(100 * 1024, 'a'))).status, 413);
  assert.equal((await plain(svc.public, 'GET', '/orders/999999')).status, 404);
  assert.equal((await plain(svc.public, 'GET', '/orders/abc')).status, 404);
  assert.equal((await plain(svc.public, 'DELETE', '/orders')).status, 405);
});

test('orders.stats on the internal port and the service metrics reflect the public traffic', async () => {
  await plain(svc.public, 'POST', '/orders', { item: 'gadget', quantity: 2, unitPrice: 5 });
  const stats = await signed(svc.internal, viewer, 'GET', '/v1/orders/stats');
  assert.equal(stats.status, 200, stats.text);
  assert.ok(stats.json.open >= 1 && stats.json.cancelled >= 1, stats.text);

  const metrics = await signed(svc.internal, viewer, 'GET', '/v1/metrics');
  assert.equal(metrics.status, 200, metrics.text);
  assert.match(metrics.text, /^demo_orders_created_total \d+/m);
  assert.match(metrics.text, /demo_public_requests_total\{route="\/orders",status="201"\} [1-9]/);
  assert.match(metrics.text, /demo_public_requests_total\{route="\/orders",status="503"\} [1-9]/);
  assert.match(metrics.text, /^demo_migrations_pending 0$/m);
});

test('migrating down makes the public API unavailable again; up brings it back with the data', async () => {
  const before = (await plain(svc.public, 'GET', '/orders')).json.orders.length;
  const plan = await signed(svc.internal, admin, 'POST', '/v1/migrations/plan', { body: {} });
  assert.equal(plan.json.pending.length, 0);
  const down = await signed(svc.internal, admin, 'POST', '/v1/migrations/down', { body: { to: '0002-add-discount-column' } });
  assert.equal(down.status, 202, down.text);
  assert.equal((await waitForJob(svc.internal, admin, down.json.jobId)).json.state, 'succeeded');
  const unavailable = await plain(svc.public, 'GET', '/orders');
  assert.equal(unavailable.status, 503);
  assert.match(unavailable.json.detail, /database not migrated/);

  await migrateUp(svc.internal, admin);
  const after = await plain(svc.public, 'GET', '/orders');
  assert.equal(after.status, 200);
  assert.equal(after.json.orders.length, before);
});
