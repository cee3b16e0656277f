/**
 * Attack: prototype keys (`__proto__`, `constructor`, `prototype`) in a JSON
 * body or the query, which once turned `{"__proto__":{"to":"0"}}` into a
 * `migrations.down` to 0 that the audit log recorded as `params: {}`. Every
 * form must be refused with 400 and run nothing (docs/security.md).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { CustomEndpoint, TaskDefinition } from '../../src/server/index.js';
import { sqliteMigrations, type MigrationFixture } from '../helpers/sqlite-migrations.js';
import { readAudit, startHarness, tempDir, type Harness } from '../server/fixtures/harness.js';

let h: Harness;
let fx: MigrationFixture;
let dbDir: string;
const seen: Array<Record<string, unknown>> = [];
const rotate: TaskDefinition = {
  name: 'rotate', summary: 'rotate a credential', role: 'operator', destructive: false,
  params: { type: 'object', properties: { password: { type: 'string', secret: true } }, required: ['password'], additionalProperties: false },
  handler: async (p) => { seen.push({ ...p }); return { ok: true }; },
};
const login: CustomEndpoint = {
  id: 'orders.login', method: 'POST', path: '/v1/orders/login', summary: 'log in', role: 'operator',
  params: { type: 'object', properties: { user: { type: 'string' }, token: { type: 'string', secret: true } }, required: ['user', 'token'], additionalProperties: false },
  handler: (p) => { seen.push({ ...p }); return { user: p.user, hasToken: typeof p.token === 'string' }; },
};
const lookup: CustomEndpoint = {
  id: 'orders.lookup', method: 'GET', path: '/v1/orders/lookup', summary: 'look up', role: 'viewer',
  params: { type: 'object', properties: { filter: { type: 'object' }, id: { type: 'string' } } },
  handler: (p) => ({ keys: Object.keys(p), filter: p.filter ?? null }),
};

before(async () => {
  dbDir = tempDir('opsctl-sec-proto-');
  fx = sqliteMigrations(path.join(dbDir, 'app.db'));
  h = await startHarness({
    migrations: fx.options,
    tasks: [rotate],
    endpoints: [login, lookup],
    flags: { definitions: [{ name: 'beta', type: 'boolean', default: false, description: 'beta UI' }] },
  });
  const up = await h.admin.call('migrations.up', {});
  assert.equal(up.status, 202);
  for (let i = 0; i < 100; i++) {
    if ((await h.viewer.call('migrations.status')).json.pending.length === 0) break;
    await new Promise((r) => setTimeout(r, 20));
  }
});
after(async () => {
  await h.close();
  fx.close();
  fs.rmSync(dbDir, { recursive: true, force: true });
});

const raw = (obj: string) => Buffer.from(obj);

test('{"__proto__":{"to":"0"}} on migrations.down is 400 and reverts nothing', async () => {
  const r = await h.admin.send('POST', '/v1/migrations/down', { body: raw('{"__proto__":{"to":"0"}}') });
  assert.equal(r.status, 400, r.text);
  assert.equal(r.json.code, 'request.invalid');
  assert.equal(r.json.field, '__proto__');
  const status = await h.viewer.call('migrations.status');
  assert.equal(status.json.applied.length, 3, 'every migration is still applied');
});

test('a flag cannot be set through __proto__, constructor or prototype keys, at any depth', async () => {
  const bodies = [
    '{"__proto__":{"value":true}}',
    '{"value":true,"__proto__":{"x":1}}',
    '{"constructor":{"prototype":{"value":true}}}',
    '{"prototype":{"value":true}}',
    '{"value":{"__proto__":{"polluted":true}}}',
  ];
  for (const b of bodies) {
    const r = await h.operator.send('PUT', '/v1/flags/beta', { body: raw(b) });
    assert.equal(r.status, 400, `${b}: ${r.text}`);
    assert.equal(r.json.code, 'request.invalid', b);
  }
  assert.equal((await h.viewer.call('flags.get', { name: 'beta' })).json.value, false);
  assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched');
});

test('a service endpoint: __proto__ cannot satisfy `required` nor hide a secret from redaction', async () => {
  seen.length = 0;
  const r = await h.operator.send('POST', '/v1/orders/login', { body: raw('{"user":"bob","__proto__":{"token":"hunter2-proto"}}') });
  assert.equal(r.status, 400, r.text);
  assert.equal(seen.length, 0, 'the handler never ran');
  const t = await h.operator.send('POST', '/v1/tasks/rotate/run', { body: raw('{"params":{"__proto__":{"password":"hunter2-task"}}}') });
  assert.equal(t.status, 400, t.text);
  await new Promise((res) => setTimeout(res, 50));
  assert.equal(seen.length, 0, 'the task never ran');
  const audit = fs.readFileSync(h.auditFile, 'utf8');
  assert.ok(!audit.includes('hunter2'), 'no secret in the audit log');
});

test('query: prototype keys as names or inside JSON values are 400', async () => {
  for (const query of ['__proto__=1', 'constructor=x', 'prototype=y', 'filter=%7B%22__proto__%22%3A%7B%22a%22%3A1%7D%7D']) {
    const r = await h.viewer.send('GET', '/v1/orders/lookup', { query });
    assert.equal(r.status, 400, `${query}: ${r.text}`);
    assert.equal(r.json.code, 'request.invalid');
  }
  const ok = await h.viewer.send('GET', '/v1/orders/lookup', { query: 'filter=%7B%22a%22%3A1%7D' });
  assert.equal(ok.status, 200, ok.text);
  assert.deepEqual(ok.json.filter, { a: 1 });
});

test('the refusals are audited as denied 400s', () => {
  const denied = readAudit(h.auditFile).filter((r) => r.outcome === 'denied' && r.status === 400);
  assert.ok(denied.length >= 10, `denied records: ${denied.length}`);
});
