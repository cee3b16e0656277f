import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { FileFlagStore, createInternalPort, InternalPortConfigError, type FlagChange, type FlagDefinition } from '../../src/server/index.js';
import { startHarness, tempDir, type Harness } from './fixtures/harness.js';
import { SignedClient } from '../helpers/signed-client.js';

const definitions: FlagDefinition[] = [
  { name: 'beta', type: 'boolean', default: false, description: 'beta checkout' },
  { name: 'rollout', type: 'percentage', default: 0, description: 'share of traffic on the new path' },
  { name: 'page-size', type: 'number', default: 20, min: 1, max: 100, description: 'items per page' },
  { name: 'mode', type: 'string', default: 'normal', enum: ['normal', 'readonly'], description: 'service mode' },
  { name: 'batch', type: 'integer', default: 10, min: 1, max: 500, description: 'rows per batch' },
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
  assert.deepEqual(r.json.flags.map((f: { name: string }) => f.name), ['beta', 'rollout', 'page-size', 'mode', 'batch']);
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
    ['batch', 1.5], ['batch', '1.5'], ['batch', 0], ['batch', 501], ['batch', '1e400'], ['batch', true],
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

test('integer flags: whole numbers within min..max; the refusal names the type and the bound', async () => {
  const half = await h.operator.call('flags.set', { name: 'batch', value: 1.5 });
  assert.equal(half.status, 400);
  assert.equal(half.json.code, 'request.invalid');
  assert.match(half.json.detail, /flag "batch" is an integer \(1\.\.500\): 1\.5 is not a whole number/);
  const high = await h.operator.call('flags.set', { name: 'batch', value: 501 });
  assert.match(high.json.detail, /must be at most 500 \(1\.\.500\), got 501/);
  const low = await h.operator.call('flags.set', { name: 'batch', value: 0 });
  assert.match(low.json.detail, /must be at least 1 \(1\.\.500\), got 0/);
  assert.equal(h.port.flags.get('batch'), 10, 'nothing invalid became visible');
  const ok = await h.operator.call('flags.set', { name: 'batch', value: '250' });
  assert.equal(ok.status, 200);
  assert.equal(ok.json.value, 250);
  const got = await h.viewer.call('flags.get', { name: 'batch' });
  assert.deepEqual({ type: got.json.type, min: got.json.min, max: got.json.max }, { type: 'integer', min: 1, max: 500 });
  const list = await h.viewer.call('flags.list');
  const byName = Object.fromEntries(list.json.flags.map((f: { name: string }) => [f.name, f]));
  assert.deepEqual([byName.rollout.min, byName.rollout.max], [0, 100]);
  assert.deepEqual(byName.mode.enum, ['normal', 'readonly']);
  assert.equal(byName.beta.min, undefined);
});

test('definitions that promise a check that never runs are refused at start', async () => {
  const dir = tempDir('opsctl-flags-def-');
  const bad: Array<[FlagDefinition, RegExp]> = [
    [{ name: 'a', type: 'integer', default: 1, min: 0.5, description: 'x' }, /must be a whole number/],
    [{ name: 'a', type: 'number', default: 1, min: 5, max: 2, description: 'x' }, /min 5 above max 2/],
    [{ name: 'a', type: 'boolean', default: true, max: 2, description: 'x' }, /bounds are for integer and number/],
    [{ name: 'a', type: 'number', default: 1, enum: ['x'], description: 'x' }, /enum is for string flags/],
    [{ name: 'a', type: 'string', default: 'x', enum: [], description: 'x' }, /non-empty list/],
    [{ name: 'a', type: 'integer', default: 2.5, description: 'x' }, /invalid default/],
    [{ name: 'a', type: 'float' as 'number', default: 1, description: 'x' }, /unknown type/],
  ];
  try {
    for (const [def, re] of bad) {
      await assert.rejects(createInternalPort({
        service: { name: 's', version: '1' }, authorizedKeysFile: h.allowlistFile, auditLogFile: path.join(dir, `audit-${Math.random()}.jsonl`),
        flags: { definitions: [def], file: path.join(dir, 'flags.json') }, log: () => {},
      }), (e: Error) => e instanceof InternalPortConfigError && re.test(e.message), JSON.stringify(def));
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a stored value that no longer fits (number 1.5, now an integer flag) falls back to the default with a warning', async () => {
  const dir = tempDir('opsctl-flags-old-');
  try {
    const file = path.join(dir, 'flags.json');
    fs.writeFileSync(file, JSON.stringify({ version: 1, flags: { batch: { value: 1.5, updatedBy: 'old', updatedAt: null } } }), { mode: 0o600 });
    const logs: string[] = [];
    const port = await createInternalPort({
      service: { name: 's', version: '1' }, authorizedKeysFile: h.allowlistFile, auditLogFile: path.join(dir, 'audit.jsonl'),
      flags: { definitions: [{ name: 'batch', type: 'integer', default: 10, min: 1, max: 500, description: 'x' }], file },
      log: (_l, m) => { logs.push(m); },
    });
    try {
      assert.equal(port.flags.get('batch'), 10);
      assert.ok(logs.some((m) => /stored value of flag batch no longer fits/.test(m)), logs.join('\n'));
    } finally {
      await port.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('subscribe: every applied change with previous value and who/when; a same-value set is a change too; unsubscribe stops it', async () => {
  const seen: FlagChange[] = [];
  const unsubscribe = h.port.flags.subscribe((c) => seen.push(c));
  const thrower = h.port.flags.subscribe(() => { throw new Error('listener bug'); });
  try {
    const start = (await h.viewer.call('flags.get', { name: 'mode' })).json.value;
    const r = await h.operator.call('flags.set', { name: 'mode', value: start === 'normal' ? 'readonly' : 'normal' });
    assert.equal(seen.length, 1, 'one change, even though the file store also reports it');
    assert.deepEqual(seen[0], { name: 'mode', value: r.json.value, previous: start, updatedBy: 'oscar-operator', updatedAt: r.json.updatedAt });
    const again = await h.operator.call('flags.set', { name: 'mode', value: r.json.value });
    assert.equal(seen.length, 2);
    assert.equal(seen[1]!.previous, seen[1]!.value);
    assert.equal(seen[1]!.updatedAt, again.json.updatedAt);
    assert.ok(h.logs.some((l) => /flag change listener for mode failed: listener bug/.test(l)), 'a throwing listener is logged, not fatal');
    await h.operator.call('flags.set', { name: 'mode', value: 'normal' });
    assert.equal(seen.length, 3, 'the throwing listener did not stop the others');
  } finally {
    unsubscribe();
    unsubscribe();
    thrower();
  }
  await h.operator.call('flags.set', { name: 'mode', value: 'readonly' });
  assert.equal(seen.length, 3, 'nothing after unsubscribe');
});

test('two ports on one store object (replicas on a shared store): a set on one becomes visible on the other through subscribe', async () => {
  const dir = tempDir('opsctl-flags-shared-');
  const store = new FileFlagStore(path.join(dir, 'flags.json'));
  const mk = (n: string) => createInternalPort({
    service: { name: 's', version: '1' }, authorizedKeysFile: h.allowlistFile, auditLogFile: path.join(dir, n, 'audit.jsonl'),
    flags: { definitions, store }, log: () => {},
  });
  const a = await mk('a');
  const b = await mk('b');
  try {
    const onB: FlagChange[] = [];
    b.flags.subscribe((c) => onB.push(c));
    const opA = new SignedClient({ host: '127.0.0.1', port: a.port! }, h.keys.operator);
    const r = await opA.call('flags.set', { name: 'batch', value: 42 });
    assert.equal(r.status, 200);
    assert.equal(b.flags.get('batch'), 42);
    assert.deepEqual(onB, [{ name: 'batch', value: 42, previous: 10, updatedBy: 'oscar-operator', updatedAt: r.json.updatedAt }]);
    assert.equal(b.flags.view('batch')!.updatedBy, 'oscar-operator');
    await b.close();
    await opA.call('flags.set', { name: 'batch', value: 43 });
    assert.equal(onB.length, 1, 'a closed port no longer listens to the store');
  } finally {
    await a.close();
    await b.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the echo of our own write and a newer change from another replica, both reported before our save() resolves: the newer one wins', async () => {
  const dir = tempDir('opsctl-flags-order-');
  // A shared store as PostgreSQL behaves: the notifications of our commit and
  // of a later commit by another replica can arrive before our save() returns.
  class RacingStore extends FileFlagStore {
    private readonly ls = new Set<(c: FlagChange) => void>();
    override subscribe(l: (c: FlagChange) => void) {
      this.ls.add(l);
      return () => { this.ls.delete(l); };
    }
    override async save(name: string, flag: { value: string | number | boolean; updatedBy: string | null; updatedAt: string | null }) {
      await super.save(name, flag);
      for (const l of this.ls) l({ name, value: flag.value, previous: undefined, updatedBy: flag.updatedBy, updatedAt: flag.updatedAt });
      for (const l of this.ls) l({ name, value: 'normal', previous: flag.value, updatedBy: 'other-replica', updatedAt: new Date(Date.now() + 1).toISOString() });
    }
  }
  const port = await createInternalPort({
    service: { name: 's', version: '1' }, authorizedKeysFile: h.allowlistFile, auditLogFile: path.join(dir, 'audit.jsonl'),
    flags: { definitions, store: new RacingStore(path.join(dir, 'flags.json')) }, log: () => {},
  });
  try {
    const seen: FlagChange[] = [];
    port.flags.subscribe((c) => seen.push(c));
    const r = await new SignedClient({ host: '127.0.0.1', port: port.port! }, h.keys.operator).call('flags.set', { name: 'mode', value: 'readonly' });
    assert.equal(r.status, 200);
    assert.deepEqual([r.json.value, r.json.updatedBy], ['readonly', 'oscar-operator'], 'the answer says what this request wrote');
    assert.equal(port.flags.get('mode'), 'normal', 'our write was not re-applied over the newer change');
    assert.deepEqual(seen.map((c) => [c.value, c.updatedBy]), [['readonly', 'oscar-operator'], ['normal', 'other-replica']]);
  } finally {
    await port.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
