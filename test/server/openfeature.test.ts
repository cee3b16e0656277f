/**
 * The OpenFeature SDK itself (@openfeature/server-sdk) over a real internal
 * port and its file store: typed resolution with the spec's reasons and
 * error codes, flagMetadata, the change event after a signed flags.set, and
 * percentage rollouts (distribution and monotonicity).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { OpenFeature, ProviderEvents, type Client, type EventDetails } from '@openfeature/server-sdk';
import { createInternalPort, FileFlagStore, type FlagDefinition } from '../../src/server/index.js';
import { createOpenFeatureProvider, inRollout, rolloutBucket } from '../../src/server/openfeature/index.js';
import { startHarness, tempDir, type Harness } from './fixtures/harness.js';
import { SignedClient } from '../helpers/signed-client.js';

const definitions: FlagDefinition[] = [
  { name: 'new_checkout', type: 'boolean', default: false, description: 'the new checkout' },
  { name: 'beta_share', type: 'percentage', default: 0, description: 'share of users on the beta' },
  { name: 'batch', type: 'integer', default: 10, min: 1, max: 500, description: 'rows per batch' },
  { name: 'ratio', type: 'number', default: 0.5, description: 'a ratio' },
  { name: 'mode', type: 'string', default: 'normal', enum: ['normal', 'readonly'], description: 'service mode' },
];

let h: Harness;
let client: Client;
before(async () => {
  h = await startHarness({ flags: { definitions } });
  await OpenFeature.setProviderAndWait('opsctl-test', createOpenFeatureProvider(h.port));
  client = OpenFeature.getClient('opsctl-test');
});
after(async () => {
  await OpenFeature.close();
  await h.close();
});

/** Resolves with the next PROVIDER_CONFIGURATION_CHANGED seen by `c`. */
function nextChange(c: Client, timeoutMs = 2000): Promise<EventDetails> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      c.removeHandler(ProviderEvents.ConfigurationChanged, handler);
      reject(new Error('no PROVIDER_CONFIGURATION_CHANGED within 2 s'));
    }, timeoutMs);
    const handler = (d?: EventDetails) => {
      clearTimeout(timer);
      c.removeHandler(ProviderEvents.ConfigurationChanged, handler);
      resolve(d!);
    };
    c.addHandler(ProviderEvents.ConfigurationChanged, handler);
  });
}

test('before any change: each type resolves to the definition\'s default with reason DEFAULT', async () => {
  const b = await client.getBooleanDetails('new_checkout', true);
  assert.deepEqual({ value: b.value, reason: b.reason, errorCode: b.errorCode }, { value: false, reason: 'DEFAULT', errorCode: undefined });
  assert.deepEqual(b.flagMetadata, { type: 'boolean' }, 'no updatedBy/updatedAt while nobody changed it');
  assert.equal(await client.getNumberValue('batch', 0), 10);
  assert.equal(await client.getNumberValue('ratio', 0), 0.5);
  assert.equal(await client.getNumberValue('beta_share', 99), 0, 'a percentage reads as its number too');
  const s = await client.getStringDetails('mode', 'x');
  assert.deepEqual([s.value, s.reason], ['normal', 'DEFAULT']);
  const n = await client.getNumberDetails('batch', 0);
  assert.deepEqual(n.flagMetadata, { type: 'integer', min: 1, max: 500 });
});

test('unknown flag → FLAG_NOT_FOUND with the caller\'s default; wrong type → TYPE_MISMATCH with the default', async () => {
  const missing = await client.getBooleanDetails('no_such_flag', true);
  assert.deepEqual({ value: missing.value, reason: missing.reason, errorCode: missing.errorCode }, { value: true, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' });
  assert.match(missing.errorMessage ?? '', /no flag named "no_such_flag"/);
  const cases: Array<[() => Promise<{ value: unknown; errorCode?: string; errorMessage?: string }>, unknown]> = [
    [() => client.getStringDetails('new_checkout', 'dflt'), 'dflt'],
    [() => client.getNumberDetails('mode', 7), 7],
    [() => client.getBooleanDetails('batch', true), true],
    [() => client.getObjectDetails('new_checkout', { a: 1 }), { a: 1 }],
  ];
  for (const [resolve, dflt] of cases) {
    const d = await resolve();
    assert.deepEqual(d.value, dflt);
    assert.equal(d.errorCode, 'TYPE_MISMATCH', d.errorMessage);
  }
  const d = await client.getStringDetails('new_checkout', 'dflt');
  assert.match(d.errorMessage ?? '', /flag "new_checkout" is a boolean flag, evaluated as string/);
});

test('a signed flags.set: PROVIDER_CONFIGURATION_CHANGED names the flag, then the SDK reads the new value with who/when', async () => {
  const changed = nextChange(client);
  const set = await h.operator.call('flags.set', { name: 'new_checkout', value: true });
  assert.equal(set.status, 200, JSON.stringify(set.json));
  const event = await changed;
  assert.deepEqual(event.flagsChanged, ['new_checkout']);
  assert.equal(event.metadata?.updatedBy, 'oscar-operator');
  assert.equal(event.metadata?.updatedAt, set.json.updatedAt);
  const b = await client.getBooleanDetails('new_checkout', false);
  assert.deepEqual({ value: b.value, reason: b.reason }, { value: true, reason: 'STATIC' });
  assert.deepEqual(b.flagMetadata, { type: 'boolean', updatedBy: 'oscar-operator', updatedAt: set.json.updatedAt });

  const refused = await h.operator.call('flags.set', { name: 'batch', value: 1.5 });
  assert.equal(refused.status, 400);
  const ok = nextChange(client);
  await h.operator.call('flags.set', { name: 'batch', value: 250 });
  assert.deepEqual((await ok).flagsChanged, ['batch']);
  assert.equal(await client.getNumberValue('batch', 0), 250, 'the refused 1.5 never became visible; 250 did');
});

test('percentage as a boolean rollout: no targetingKey → TARGETING_KEY_MISSING; 10 000 keys within ±2 points; raising it keeps everyone in', async () => {
  const noKey = await client.getBooleanDetails('beta_share', true);
  assert.deepEqual({ value: noKey.value, errorCode: noKey.errorCode }, { value: true, errorCode: 'TARGETING_KEY_MISSING' });

  const keys = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);
  const evaluate = async () => {
    const inSet = new Set<string>();
    for (const k of keys) if (await client.getBooleanValue('beta_share', false, { targetingKey: k })) inSet.add(k);
    return inSet;
  };
  assert.equal((await evaluate()).size, 0, '0 % takes nobody');
  const previous: Array<Set<string>> = [];
  for (const pct of [5, 30, 50, 100]) {
    await h.operator.call('flags.set', { name: 'beta_share', value: pct });
    const inSet = await evaluate();
    const share = (inSet.size / keys.length) * 100;
    assert.ok(Math.abs(share - pct) <= 2, `${pct} %: ${share.toFixed(2)} % of keys in`);
    for (const earlier of previous) for (const k of earlier) assert.ok(inSet.has(k), `${k} was in at a lower percentage and must stay in at ${pct}`);
    previous.push(inSet);
  }
  assert.equal(previous.at(-1)!.size, keys.length, '100 % takes everybody');

  await h.operator.call('flags.set', { name: 'beta_share', value: 30 });
  const d = await client.getBooleanDetails('beta_share', false, { targetingKey: 'user-1' });
  assert.equal(d.reason, 'SPLIT');
  assert.equal(d.variant, d.value ? 'on' : 'off');
  assert.equal(d.flagMetadata.percentage, 30);
  assert.equal(d.value, inRollout('beta_share', 'user-1', 30));
  assert.equal(await client.getNumberValue('beta_share', 0), 30);
});

test('rollout buckets: deterministic, independent per flag, uniform', () => {
  assert.equal(rolloutBucket('f', 'k'), rolloutBucket('f', 'k'));
  assert.notEqual(rolloutBucket('ab', 'c'), rolloutBucket('a', 'bc'), 'name and key are separated');
  let sameSide = 0;
  const deciles = new Array(10).fill(0) as number[];
  for (let i = 0; i < 10_000; i++) {
    const a = rolloutBucket('flag_a', `u${i}`);
    const b = rolloutBucket('flag_b', `u${i}`);
    assert.ok(a >= 0 && a < 100);
    deciles[Math.floor(a / 10)]!++;
    if (a < 10 === b < 10) sameSide++;
  }
  for (const n of deciles) assert.ok(Math.abs(n - 1000) < 120, `deciles ${deciles.join(',')}`);
  // Independent: P(same side of 10 %) = 0.1² + 0.9² = 0.82, not 1.
  assert.ok(Math.abs(sameSide / 10_000 - 0.82) < 0.02, `same side ${sameSide}`);
});

test('a change on another replica (two ports on one store) reaches this replica\'s OpenFeature client as an event', async () => {
  const dir = tempDir('opsctl-of-replicas-');
  const store = new FileFlagStore(path.join(dir, 'flags.json'));
  const mk = (n: string) => createInternalPort({
    service: { name: 's', version: '1' }, authorizedKeysFile: h.allowlistFile, auditLogFile: path.join(dir, n, 'audit.jsonl'),
    flags: { definitions, store }, log: () => {},
  });
  const a = await mk('a');
  const b = await mk('b');
  try {
    await OpenFeature.setProviderAndWait('replica-b', createOpenFeatureProvider(b));
    const onB = OpenFeature.getClient('replica-b');
    const changed = nextChange(onB);
    const r = await new SignedClient({ host: '127.0.0.1', port: a.port! }, h.keys.operator).call('flags.set', { name: 'mode', value: 'readonly' });
    assert.equal(r.status, 200);
    assert.deepEqual((await changed).flagsChanged, ['mode']);
    const d = await onB.getStringDetails('mode', 'x');
    assert.deepEqual([d.value, d.flagMetadata.updatedBy], ['readonly', 'oscar-operator']);
  } finally {
    await OpenFeature.clearProviders();
    await OpenFeature.setProviderAndWait('opsctl-test', createOpenFeatureProvider(h.port));
    await a.close();
    await b.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
