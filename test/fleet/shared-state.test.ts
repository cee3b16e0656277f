/**
 * A fleet whose replicas share one real PostgreSQL (`demo-service
 * --database postgresql://…`): flags and migrations are service-scoped,
 * sent once, seen by every replica; the migration lock keeps two operators
 * from migrating at once.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
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
