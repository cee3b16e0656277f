/**
 * The OpenFeature SDK over two internal ports sharing a real (throwaway)
 * PostgreSQL flag store, like two replicas: a signed flags.set on one
 * replica is a PROVIDER_CONFIGURATION_CHANGED naming the flag on the other
 * (through LISTEN/NOTIFY), and that replica's SDK then resolves the new value
 * with who/when; a rollout puts a user on the same side on both.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OpenFeature, ProviderEvents, type Client, type EventDetails } from '@openfeature/server-sdk';

type ChangeEvent = EventDetails<ProviderEvents.ConfigurationChanged>;
import type { FlagDefinition } from '../../src/server/index.js';
import { createOpenFeatureProvider } from '../../src/server/openfeature/index.js';
import { PostgresFlagStore } from '../../src/server/postgres/index.js';
import { startHarness } from './fixtures/harness.js';
import { requirePostgres, startPostgres } from '../helpers/postgres.js';

const definitions: FlagDefinition[] = [
  { name: 'new_checkout', type: 'boolean', default: false, description: 'the new checkout' },
  { name: 'beta_share', type: 'percentage', default: 0, description: 'share of users on the beta' },
  { name: 'batch', type: 'integer', default: 10, min: 1, max: 500, description: 'rows per batch' },
];

/** Every PROVIDER_CONFIGURATION_CHANGED a client sees, and a way to wait for one naming a flag. */
function recordChanges(c: Client) {
  const seen: ChangeEvent[] = [];
  const waiters: Array<{ flag: string; resolve: (d: ChangeEvent) => void }> = [];
  c.addHandler(ProviderEvents.ConfigurationChanged, (d) => {
    seen.push(d!);
    for (const w of [...waiters]) if (d?.flagsChanged?.includes(w.flag)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(d); }
  });
  return {
    seen,
    next(flag: string, ms = 2000): Promise<ChangeEvent> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no PROVIDER_CONFIGURATION_CHANGED for ${flag} within ${ms} ms`)), ms);
        waiters.push({ flag, resolve: (d) => { clearTimeout(timer); resolve(d); } });
      });
    },
  };
}

test('OpenFeature on two replicas sharing PostgreSQL: a change on one is an event and the new value on the other', async (t) => {
  if (requirePostgres(t)) return;
  const db = await startPostgres();
  const database = db.createDatabase('of');
  const stores = [new PostgresFlagStore({ connection: db.url(database), log: () => {} }), new PostgresFlagStore({ connection: db.url(database), log: () => {} })];
  const [a, b] = await Promise.all(stores.map((store) => startHarness({ flags: { definitions, store } })));
  try {
    await OpenFeature.setProviderAndWait('replica-a', createOpenFeatureProvider(a!.port));
    await OpenFeature.setProviderAndWait('replica-b', createOpenFeatureProvider(b!.port));
    const onA = OpenFeature.getClient('replica-a');
    const onB = OpenFeature.getClient('replica-b');
    const eventsA = recordChanges(onA);
    const eventsB = recordChanges(onB);

    const before = await onB.getBooleanDetails('new_checkout', true);
    assert.deepEqual([before.value, before.reason], [false, 'DEFAULT']);

    const t0 = Date.now();
    const seenOnB = eventsB.next('new_checkout');
    const set = await a!.operator.call('flags.set', { name: 'new_checkout', value: true });
    assert.equal(set.status, 200, JSON.stringify(set.json));
    const ev = await seenOnB;
    const ms = Date.now() - t0;
    assert.ok(ms < 1000, `replica b heard of it after ${ms} ms`);
    assert.deepEqual(ev.flagsChanged, ['new_checkout']);
    assert.equal(ev.metadata?.updatedBy, 'oscar-operator');
    const after = await onB.getBooleanDetails('new_checkout', false);
    assert.deepEqual([after.value, after.reason, after.flagMetadata.updatedBy, after.flagMetadata.updatedAt], [true, 'STATIC', 'oscar-operator', set.json.updatedAt]);
    assert.equal(eventsA.seen.filter((e) => e.flagsChanged?.includes('new_checkout')).length, 1, 'the writing replica emits once, although PostgreSQL echoes its own NOTIFY');

    // The other way round, and a refused value is no event anywhere.
    assert.equal((await b!.operator.call('flags.set', { name: 'batch', value: 1.5 })).status, 400);
    const batchOnA = eventsA.next('batch');
    assert.equal((await b!.operator.call('flags.set', { name: 'batch', value: 200 })).status, 200);
    await batchOnA;
    assert.equal(await onA.getNumberValue('batch', 0), 200);
    assert.equal(eventsB.seen.filter((e) => e.flagsChanged?.includes('batch')).length, 1);

    // A rollout decides the same on every replica (the hash, not a replica's state).
    const shareOnB = eventsB.next('beta_share');
    await a!.operator.call('flags.set', { name: 'beta_share', value: 40 });
    await shareOnB;
    const keys = Array.from({ length: 2000 }, (_, i) => `user-${i}`);
    let inA = 0;
    for (const k of keys) {
      const [x, y] = await Promise.all([onA.getBooleanValue('beta_share', false, { targetingKey: k }), onB.getBooleanValue('beta_share', false, { targetingKey: k })]);
      assert.equal(x, y, `${k} on the same side on both replicas`);
      if (x) inA++;
    }
    assert.ok(Math.abs((inA / keys.length) * 100 - 40) <= 4, `${inA} of ${keys.length} in at 40 %`);
  } finally {
    await OpenFeature.clearProviders();
    await Promise.all([a?.close(), b?.close()]);
    await Promise.all(stores.map((s) => s.close()));
    await db.stop();
  }
});
