import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Registry } from 'prom-client';
import { STANDARD_ENDPOINTS } from '../../src/protocol/index.js';
import { createInternalPort } from '../../src/server/index.js';
import { startHarness, type Harness } from './fixtures/harness.js';

let h: Harness;
const serviceRegistry = new Registry();
const orders = new Counter({ name: 'demo_orders_total', help: 'orders', registers: [serviceRegistry] });

before(async () => {
  h = await startHarness({
    metricsRegistry: serviceRegistry,
    healthChecks: { database: () => true, cache: async () => ({ ok: true, detail: 'warm' }) },
    migrations: {
      migrator: { executed: async () => [], pending: async () => [], up: async () => [], down: async () => [] },
      lock: { acquire: async () => ({ acquired: true }), release: async () => undefined },
    },
    endpoints: [{
      id: 'orders.stats', method: 'GET', path: '/v1/orders/stats', summary: 'Order statistics', role: 'viewer',
      params: { type: 'object', properties: { days: { type: 'integer', minimum: 1, in: 'query' } }, additionalProperties: false },
      handler: (params) => ({ days: params.days ?? 7, count: 3 }),
    }],
  });
});
after(() => h.close());

test('catalog lists every standard endpoint with all its fields, plus the service\'s own', async () => {
  const r = await h.viewer.call('catalog');
  assert.equal(r.status, 200);
  assert.equal(r.json.service, 'test-service');
  assert.equal(r.json.version, '1.2.3');
  assert.equal(r.json.protocol, 1);
  const byId = new Map(r.json.endpoints.map((e: { id: string }) => [e.id, e]));
  for (const std of STANDARD_ENDPOINTS) {
    const got = byId.get(std.id) as Record<string, unknown> | undefined;
    assert.ok(got, `catalog has ${std.id}`);
    for (const field of ['id', 'method', 'path', 'summary', 'description', 'role', 'destructive', 'params', 'job', 'scope'] as const) {
      assert.deepEqual(got[field], std[field], `${std.id}.${field}`);
    }
  }
  const custom = byId.get('orders.stats') as Record<string, unknown>;
  assert.deepEqual({ method: custom.method, path: custom.path, role: custom.role, job: custom.job, scope: custom.scope, destructive: custom.destructive },
    { method: 'GET', path: '/v1/orders/stats', role: 'viewer', job: false, scope: 'instance', destructive: false });
  assert.equal(r.headers['x-request-id']?.length, 16);
});

test('a custom endpoint is served with its params validated and coerced from the query', async () => {
  const ok = await h.viewer.send('GET', '/v1/orders/stats', { query: 'days=30' });
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.json, { days: 30, count: 3 });
  const bad = await h.viewer.send('GET', '/v1/orders/stats', { query: 'days=0' });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.code, 'request.invalid');
  assert.equal(bad.json.field, 'days');
  const unknown = await h.viewer.send('GET', '/v1/orders/stats', { query: 'weeks=2' });
  assert.equal(unknown.json.field, 'weeks');
});

test('health reports identity, protocol, uptime, server time, checks and a Date header', async () => {
  const r = await h.viewer.call('health');
  assert.equal(r.status, 200);
  assert.equal(r.json.service, 'test-service');
  assert.equal(r.json.version, '1.2.3');
  assert.equal(r.json.protocol, 1);
  assert.equal(typeof r.json.uptimeSeconds, 'number');
  assert.ok(Math.abs(Date.parse(r.json.time) - Date.now()) < 5000);
  assert.equal(r.json.status, 'ok');
  assert.deepEqual(r.json.checks.database, { ok: true });
  assert.deepEqual(r.json.checks.cache, { ok: true, detail: 'warm' });
  assert.equal(r.json.checks.audit.ok, true);
  assert.ok(r.headers.date);
});

test('metrics: Prometheus text with the service\'s and the port\'s metrics; JSON on Accept', async () => {
  orders.inc(5);
  await h.viewer.call('health');
  const text = await h.viewer.call('metrics.get');
  assert.equal(text.status, 200);
  assert.match(String(text.headers['content-type']), /^text\/plain/);
  assert.match(text.text, /^demo_orders_total 5$/m);
  assert.match(text.text, /opsctl_internal_requests_total\{endpoint="health",status="200"\} \d+/);
  assert.match(text.text, /opsctl_internal_request_duration_seconds_bucket/);
  assert.match(text.text, /opsctl_internal_jobs\{state="running"\} 0/);
  await h.stranger.call('health');
  const json = await h.viewer.call('metrics.get', {}, { accept: 'application/json' });
  assert.match(String(json.headers['content-type']), /^application\/json/);
  const names = json.json.metrics.map((m: { name: string }) => m.name);
  assert.ok(names.includes('demo_orders_total'));
  const denied = json.json.metrics.find((m: { name: string }) => m.name === 'opsctl_internal_denied_total');
  assert.ok(denied.values.some((v: { labels: { code: string }; value: number }) => v.labels.code === 'auth.unknown_key' && v.value >= 1));
});

test('unknown path → 404 after auth; wrong method → 405; unauthenticated gets 401 either way', async () => {
  const r = await h.viewer.send('GET', '/v1/nope');
  assert.equal(r.status, 404);
  assert.equal(r.json.code, 'not_found');
  assert.match(String(r.headers['content-type']), /application\/problem\+json/);
  assert.equal(r.json.requestId, r.headers['x-request-id']);
  const m = await h.viewer.send('DELETE', '/v1/health');
  assert.equal(m.status, 405);
  assert.equal(m.json.code, 'method_not_allowed');
  const anon = await h.viewer.send('GET', '/v1/nope', { unsigned: true });
  assert.equal(anon.status, 401);
});

test('registering an endpoint without summary, role or params schema throws', async () => {
  const base = { id: 'x.y', method: 'GET' as const, path: '/v1/x', summary: 'X', role: 'viewer' as const, params: { type: 'object' as const }, handler: () => ({}) };
  const cases: Array<[string, Record<string, unknown>]> = [
    ['summary', { ...base, summary: '' }],
    ['role', { ...base, role: undefined }],
    ['params', { ...base, params: undefined }],
  ];
  for (const [what, ep] of cases) {
    await assert.rejects(
      createInternalPort({ service: { name: 's', version: '1' }, authorizedKeysFile: h.allowlistFile, auditLogFile: `${h.dir}/other-audit.jsonl`, endpoints: [ep as never], log: () => undefined }),
      (e: Error) => e.name === 'InternalPortConfigError' && e.message.includes(what === 'params' ? 'params' : what),
      what,
    );
  }
});
