// Feature flags set through the signed internal port visibly change the
// public API, are what the OFREP listener (--ofrep) serves, and survive a
// restart of the service on the same data dir.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDemoService, type DemoService } from '../helpers/demo-service.js';
import { generateKeyPair, type TestKey } from '../helpers/keys.js';
import { migrateUp, plain, signed } from './signed-http.js';

let admin: TestKey;
let operator: TestKey;
let viewer: TestKey;
let dataDir: string;
let allowlist: string;
let svc: DemoService;

before(async () => {
  admin = generateKeyPair('alice@ops');
  operator = generateKeyPair('oscar@ops');
  viewer = generateKeyPair('victor@ops');
  allowlist = [admin.authorizedKeysLine('admin'), operator.authorizedKeysLine('operator'), viewer.authorizedKeysLine('viewer')].join('\n') + '\n';
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-flags-'));
  svc = await startDemoService({ authorizedKeys: allowlist, dataDir, extraArgs: ['--ofrep', '127.0.0.1:0'] });
  await migrateUp(svc.internal, admin);
});
after(async () => {
  await svc?.stop();
  for (const k of [admin, operator, viewer]) k?.cleanup();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const setFlag = (name: string, value: unknown, key = operator) => signed(svc.internal, key, 'PUT', `/v1/flags/${name}`, { body: { value } });

test('the three flags are listed with their types and defaults', async () => {
  const r = await signed(svc.internal, viewer, 'GET', '/v1/flags');
  assert.equal(r.status, 200, r.text);
  const byName = Object.fromEntries(r.json.flags.map((f: { name: string }) => [f.name, f]));
  assert.deepEqual([byName.maintenance_mode?.type, byName.maintenance_mode?.value], ['boolean', false]);
  assert.deepEqual([byName.discount_percent?.type, byName.discount_percent?.value], ['percentage', 0]);
  assert.deepEqual([byName.max_page_size?.type, byName.max_page_size?.value], ['integer', 50]);
  assert.deepEqual([byName.max_page_size?.min, byName.max_page_size?.max], [1, 500]);
});

test('maintenance_mode: writes answer 503 with Retry-After, reads keep working, off again restores writes', async () => {
  const first = await plain(svc.public, 'POST', '/orders', { item: 'before', quantity: 1, unitPrice: 1 });
  assert.equal(first.status, 201);

  assert.equal((await setFlag('maintenance_mode', true, viewer)).status, 403, 'a viewer cannot set flags');
  const on = await setFlag('maintenance_mode', true);
  assert.equal(on.status, 200, on.text);

  const create = await plain(svc.public, 'POST', '/orders', { item: 'during', quantity: 1, unitPrice: 1 });
  assert.equal(create.status, 503);
  assert.match(create.json.detail, /maintenance/);
  assert.equal(create.headers['retry-after'], '60');
  assert.equal((await plain(svc.public, 'POST', `/orders/${first.json.id}/cancel`)).status, 503);
  assert.equal((await plain(svc.public, 'GET', `/orders/${first.json.id}`)).json.status, 'open', 'the cancel did not happen');
  assert.equal((await plain(svc.public, 'GET', '/orders')).status, 200);

  assert.equal((await setFlag('maintenance_mode', false)).status, 200);
  assert.equal((await plain(svc.public, 'POST', '/orders', { item: 'after', quantity: 1, unitPrice: 1 })).status, 201);
});

// The rollout buckets of these customers for discount_percent (SHA-256 of
// flag name + customer, see src/server/flags/rollout.ts): alice 16.9,
// carol 19.8, judy 20.06, bob 73.5.
const order = (customer?: string) => plain(svc.public, 'POST', '/orders', { item: 'beans', quantity: 2, unitPrice: 10, ...(customer ? { customer } : {}) });

test('discount_percent is a rollout read through OpenFeature: the customers in it get 10 % off new orders; raising it only adds customers', async () => {
  const old = await order('alice');
  assert.equal(old.json.total, 20, 'at 0 % nobody is in');

  for (const bad of [150, -1, 'ten', true]) {
    const r = await setFlag('discount_percent', bad);
    assert.equal(r.status, 400, `discount_percent=${JSON.stringify(bad)}: ${r.text}`);
  }
  const set = await setFlag('discount_percent', 20);
  assert.equal(set.status, 200, set.text);
  const totals = async () => Object.fromEntries(await Promise.all(['alice', 'carol', 'judy', 'bob'].map(async (c) => [c, (await order(c)).json.total])));
  assert.deepEqual(await totals(), { alice: 18, carol: 18, judy: 20, bob: 20 });
  const anonymous = await order();
  assert.deepEqual([anonymous.json.total, anonymous.json.discountPercent], [20, 0], 'no customer, no targetingKey: no discount');
  assert.equal((await setFlag('discount_percent', 25)).status, 200);
  assert.deepEqual(await totals(), { alice: 18, carol: 18, judy: 18, bob: 20 }, 'alice and carol stay in; judy joins');
  const discounted = await order('alice');
  assert.equal(discounted.json.discountPercent, 10);
  assert.equal((await plain(svc.public, 'GET', `/orders/${old.json.id}`)).json.total, 20, 'existing orders keep their price');
  const bad = await plain(svc.public, 'POST', '/orders', { item: 'x', quantity: 1, unitPrice: 1, customer: 'a b' });
  assert.deepEqual([bad.status, bad.json.field], [400, 'customer']);
});

test('--ofrep: the same flags and rollout decisions over OFREP, as a service in another language reads them', async () => {
  assert.match(svc.ofrep ?? '', /^127\.0\.0\.1:\d+$/, 'the address line names the OFREP listener');
  const evaluate = async (flag: string, targetingKey?: string) => {
    const r = await fetch(`http://${svc.ofrep}/ofrep/v1/evaluate/flags/${flag}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ context: targetingKey ? { targetingKey } : {} }),
    });
    return { status: r.status, json: (await r.json()) as Record<string, unknown> };
  };
  // discount_percent is at 25 % after the test above: the customers the public API discounts are "on".
  const sides = Object.fromEntries(await Promise.all(['alice', 'carol', 'judy', 'bob'].map(async (c) => [c, (await evaluate('discount_percent', c)).json.variant])));
  assert.deepEqual(sides, { alice: 'on', carol: 'on', judy: 'on', bob: 'off' });
  assert.deepEqual((await evaluate('discount_percent')).json.errorCode, 'TARGETING_KEY_MISSING');
  assert.equal((await evaluate('maintenance_mode')).json.value, false);
  assert.equal((await setFlag('maintenance_mode', true)).status, 200);
  assert.equal((await evaluate('maintenance_mode')).json.value, true, 'an operator\'s set is served at once');
  assert.equal((await setFlag('maintenance_mode', false)).status, 200);
  assert.equal((await evaluate('no_such_flag')).status, 404);
});

test('max_page_size caps the page GET /orders returns', async () => {
  for (let i = 0; i < 4; i++) await plain(svc.public, 'POST', '/orders', { item: `bulk-${i}`, quantity: 1, unitPrice: 1 });
  assert.equal((await setFlag('max_page_size', 0)).status, 400, 'below min');
  assert.equal((await setFlag('max_page_size', 501)).status, 400, 'above max');
  for (const half of [1.5, '1.5', 2.25]) {
    const r = await setFlag('max_page_size', half);
    assert.equal(r.status, 400, `max_page_size=${JSON.stringify(half)}: ${r.text}`);
    assert.equal(r.json.code, 'request.invalid');
    assert.match(r.json.detail, /is an integer \(1\.\.500\)/);
  }
  assert.equal((await plain(svc.public, 'GET', '/orders')).status, 200, 'a refused value never reaches the public API');
  assert.equal((await setFlag('max_page_size', 2)).status, 200);
  const page = await plain(svc.public, 'GET', '/orders?limit=100');
  assert.equal(page.json.orders.length, 2);
  assert.equal(page.json.limit, 2);
  const next = await plain(svc.public, 'GET', `/orders?after=${page.json.nextAfter}`);
  assert.equal(next.json.orders.length, 2);
  assert.ok(next.json.orders[0].id > page.json.orders[1].id);
});

test('flag values, and who set them, survive a restart on the same data dir', async () => {
  const before = await signed(svc.internal, viewer, 'GET', '/v1/flags/discount_percent');
  assert.equal(before.json.value, 25);
  assert.equal(before.json.updatedBy, 'oscar@ops');

  assert.deepEqual(await svc.stop(), { code: 0, signal: null });
  svc = await startDemoService({ authorizedKeys: allowlist, dataDir });

  const afterRestart = await signed(svc.internal, viewer, 'GET', '/v1/flags/discount_percent');
  assert.equal(afterRestart.status, 200, afterRestart.text);
  assert.equal(afterRestart.json.value, 25);
  assert.equal(afterRestart.json.updatedBy, 'oscar@ops');
  assert.equal(afterRestart.json.updatedAt, before.json.updatedAt);
  assert.equal((await signed(svc.internal, viewer, 'GET', '/v1/flags/max_page_size')).json.value, 2);
  // And the restarted service acts on them.
  assert.equal((await plain(svc.public, 'POST', '/orders', { item: 'after restart', quantity: 4, unitPrice: 10, customer: 'judy' })).json.total, 36);
  assert.equal((await plain(svc.public, 'GET', '/orders')).json.orders.length, 2);
});
