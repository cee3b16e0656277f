/**
 * OFREP on two replicas sharing a real (throwaway) PostgreSQL flag store: a
 * signed flags.set on replica A is what replica B's OFREP listener answers
 * within 1 s (through the store's LISTEN/NOTIFY), read by the OpenFeature
 * project's own OFREP provider; B's bulk ETag changes with it; and both
 * replicas put a targetingKey on the same side of a rollout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OpenFeature } from '@openfeature/server-sdk';
import { OFREPProvider } from '@openfeature/ofrep-provider';
import type { FlagDefinition } from '../../src/server/index.js';
import { PostgresFlagStore } from '../../src/server/postgres/index.js';
import { startHarness } from './fixtures/harness.js';
import { requirePostgres, startPostgres } from '../helpers/postgres.js';

const definitions: FlagDefinition[] = [
  { name: 'new_checkout', type: 'boolean', default: false, description: 'the new checkout' },
  { name: 'beta_share', type: 'percentage', default: 0, description: 'share of users on the beta' },
];

const bulk = (address: string, etag?: string) => fetch(`http://${address}/ofrep/v1/evaluate/flags`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', ...(etag ? { 'if-none-match': etag } : {}) },
  body: JSON.stringify({ context: { targetingKey: 'customer-1' } }),
});

test('OFREP on two replicas sharing PostgreSQL: a set on A is served by B within 1 s', async (t) => {
  if (requirePostgres(t)) return;
  const db = await startPostgres();
  const database = db.createDatabase('ofrep');
  const stores = [new PostgresFlagStore({ connection: db.url(database), log: () => {} }), new PostgresFlagStore({ connection: db.url(database), log: () => {} })];
  const [a, b] = await Promise.all(stores.map((store) => startHarness({ flags: { definitions, store }, ofrep: { listen: '127.0.0.1:0' } })));
  try {
    await OpenFeature.setProviderAndWait('ofrep-a', new OFREPProvider({ baseUrl: `http://${a!.port.ofrep!.address}` }));
    await OpenFeature.setProviderAndWait('ofrep-b', new OFREPProvider({ baseUrl: `http://${b!.port.ofrep!.address}` }));
    const onA = OpenFeature.getClient('ofrep-a');
    const onB = OpenFeature.getClient('ofrep-b');
    assert.equal(await onB.getBooleanValue('new_checkout', true), false);
    const first = await bulk(b!.port.ofrep!.address);
    const etag = first.headers.get('etag')!;
    assert.equal((await bulk(b!.port.ofrep!.address, etag)).status, 304);

    const set = await a!.operator.call('flags.set', { name: 'new_checkout', value: true });
    assert.equal(set.status, 200, set.text);
    // From A's answer (the commit is done): how long until B serves it.
    const t0 = Date.now();
    // Poll B the way a service's provider would, as fast as it answers.
    let seen: number | undefined;
    while (Date.now() - t0 < 3000) {
      const d = await onB.getBooleanDetails('new_checkout', false);
      if (d.value === true) {
        seen = Date.now() - t0;
        assert.equal(d.flagMetadata.updatedAt, set.json.updatedAt);
        break;
      }
    }
    assert.ok(seen !== undefined && seen < 1000, `replica B served the change after ${seen ?? '> 3000'} ms`);
    const after = await bulk(b!.port.ofrep!.address, etag);
    assert.equal(after.status, 200, 'B\'s bulk ETag changed with A\'s set');
    assert.equal(((await after.json()) as { flags: Array<{ key: string; value: unknown }> }).flags.find((f) => f.key === 'new_checkout')?.value, true);

    // A rollout set on B decides the same on A's listener and B's.
    assert.equal((await b!.operator.call('flags.set', { name: 'beta_share', value: 50 })).status, 200);
    const t1 = Date.now();
    while ((await onA.getBooleanDetails('beta_share', false, { targetingKey: 'k' })).flagMetadata.percentage !== 50) {
      assert.ok(Date.now() - t1 < 1000, 'A serves the new percentage within 1 s');
    }
    const keys = Array.from({ length: 40 }, (_, i) => `customer-${i}`);
    const sides = await Promise.all(keys.map((targetingKey) => Promise.all([onA.getBooleanValue('beta_share', false, { targetingKey }), onB.getBooleanValue('beta_share', false, { targetingKey })])));
    sides.forEach(([x, y], i) => assert.equal(x, y, keys[i]));
    assert.ok(sides.some(([x]) => x) && sides.some(([x]) => !x), 'a 50 % rollout puts some in and some out');
  } finally {
    await OpenFeature.clearProviders();
    await Promise.all([a?.close(), b?.close()]);
    await Promise.all(stores.map((s) => s.close()));
    await db.stop();
  }
});
