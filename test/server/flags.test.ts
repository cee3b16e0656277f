import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { FileFlagStore, type FlagDefinition } from '../../src/server/index.js';
import { startHarness, tempDir, type Harness } from './fixtures/harness.js';

const definitions: FlagDefinition[] = [
  { name: 'beta', type: 'boolean', default: false, description: 'beta checkout' },
  { name: 'rollout', type: 'percentage', default: 0, description: 'share of traffic on the new path' },
  { name: 'page-size', type: 'number', default: 20, min: 1, max: 100, description: 'items per page' },
  { name: 'mode', type: 'string', default: 'normal', enum: ['normal', 'readonly'], description: 'service mode' },
];

let h: Harness;
const changes: Array<[string, unknown]> = [];
before(async () => {
  h = await startHarness({ flags: { definitions } });
  h.port.flags.on('change', (name, value) => changes.push([name, value]));
});
after(() => h.close());

test('flags.list shows every flag with type, value, description and who/when', async () => {
  const r = await h.viewer.call('flags.list');
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.flags.map((f: { name: string }) => f.name), ['beta', 'rollout', 'page-size', 'mode']);
  const beta = r.json.flags[0];
  assert.deepEqual({ name: beta.name, type: beta.type, value: beta.value, description: beta.description, updatedBy: beta.updatedBy, updatedAt: beta.updatedAt },
    { name: 'beta', type: 'boolean', value: false, description: 'beta checkout', updatedBy: null, updatedAt: null });
});

test('flags round-trip: set records who and when, get and the service see the new value', async () => {
  const before = Date.now();
  const set = await h.operator.call('flags.set', { name: 'beta', value: true });
  assert.equal(set.status, 200);
  assert.equal(set.json.value, true);
  assert.equal(set.json.updatedBy, 'oscar-operator');
  assert.ok(Date.parse(set.json.updatedAt) >= before - 1000);
  const got = await h.viewer.call('flags.get', { name: 'beta' });
  assert.deepEqual(got.json, set.json);
  assert.equal(h.port.flags.get('beta'), true);
  assert.deepEqual(changes.at(-1), ['beta', true]);
  const r2 = await h.operator.call('flags.set', { name: 'rollout', value: 25 });
  assert.equal(r2.json.value, 25);
  const r3 = await h.operator.call('flags.set', { name: 'mode', value: 'readonly' });
  assert.equal(r3.json.value, 'readonly');
  const r4 = await h.operator.call('flags.set', { name: 'page-size', value: '50' });
  assert.equal(r4.json.value, 50, 'an exact numeric text is accepted for a number flag');
});

test('flag values are validated by type and bounds → 400 request.invalid, field "value"', async () => {
  const cases: Array<[string, unknown]> = [
    ['beta', 'yes'], ['beta', 1], ['rollout', 101], ['rollout', -1], ['rollout', 'half'],
    ['page-size', 0], ['page-size', 101], ['mode', 'chaos'], ['mode', 3],
  ];
  for (const [name, value] of cases) {
    const r = await h.operator.call('flags.set', { name, value });
    assert.equal(r.status, 400, `${name}=${JSON.stringify(value)}`);
    assert.equal(r.json.code, 'request.invalid');
    assert.equal(r.json.field, 'value');
    assert.match(r.json.detail, new RegExp(name));
  }
  const missing = await h.operator.send('PUT', '/v1/flags/beta', { body: {} });
  assert.equal(missing.status, 400);
  assert.equal(missing.json.field, 'value');
  const extra = await h.operator.send('PUT', '/v1/flags/beta', { body: { value: true, colour: 'red' } });
  assert.equal(extra.json.field, 'colour');
  const notJson = await h.operator.send('PUT', '/v1/flags/beta', { body: 'value=true', contentType: 'application/x-www-form-urlencoded' });
  assert.equal(notJson.status, 400);
  assert.equal(notJson.json.field, 'content-type');
  const badJson = await h.operator.send('PUT', '/v1/flags/beta', { body: '{"value": tru' });
  assert.equal(badJson.status, 400);
  assert.equal(badJson.json.code, 'request.invalid');
  const unknown = await h.viewer.call('flags.get', { name: 'nope' });
  assert.equal(unknown.status, 404);
  assert.equal(unknown.json.code, 'not_found');
  const unknownSet = await h.operator.call('flags.set', { name: 'nope', value: true });
  assert.equal(unknownSet.status, 404);
  assert.equal((await h.viewer.call('flags.get', { name: 'rollout' })).json.value, 25, 'nothing invalid was stored');
});

test('flags survive a restart (a new port on the same files); the store is a 0600 JSON file', async () => {
  await h.operator.call('flags.set', { name: 'rollout', value: 40 });
  const file = path.join(path.dirname(h.auditFile), 'flags.json');
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.equal(JSON.parse(fs.readFileSync(file, 'utf8')).flags.rollout.value, 40);
  await h.restart();
  const r = await h.viewer.call('flags.get', { name: 'rollout' });
  assert.equal(r.json.value, 40);
  assert.equal(r.json.updatedBy, 'oscar-operator');
  assert.equal(h.port.flags.get('beta'), true);
  assert.deepEqual(fs.readdirSync(path.dirname(file)).filter((f) => f.endsWith('.tmp')), [], 'no temp files left');
});

test('FileFlagStore writes atomically and refuses a corrupt file instead of resetting flags', async () => {
  const dir = tempDir('opsctl-flags-');
  try {
    const file = path.join(dir, 'flags.json');
    const store = new FileFlagStore(file);
    assert.deepEqual(await store.load(), {});
    await Promise.all([1, 2, 3].map((n) => store.save(`f${n}`, { value: n, updatedBy: 'x', updatedAt: null })));
    const again = await new FileFlagStore(file).load();
    assert.deepEqual(Object.keys(again).sort(), ['f1', 'f2', 'f3'], 'concurrent saves are serialized, none lost');
    fs.writeFileSync(file, '{"flags": {"f1": ');
    await assert.rejects(new FileFlagStore(file).load(), /not valid JSON/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
