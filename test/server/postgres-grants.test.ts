/**
 * The PostgreSQL grant store (opsctl/server/postgres) against a real
 * throwaway PostgreSQL: two internal ports on one database act as two
 * replicas, reached over HTTP with signed requests. A grant given on one is
 * honoured by the other from the next request, a revocation on either ends
 * it on both at once, an expiry holds on both and is audited once in total,
 * and grants outlive a restart.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { PostgresGrantStore } from '../../src/server/postgres/index.js';
import { readAudit, startHarness, tempDir, type Harness } from './fixtures/harness.js';
import { postgresMissing, startPostgres, type Postgres } from '../helpers/postgres.js';

const missing = postgresMissing();
if (missing && (process.env.CI === 'true' || process.env.CI === '1')) throw new Error(`CI: ${missing}`);
const skip = missing ?? false;

const flags = { definitions: [{ name: 'beta', type: 'boolean' as const, default: false, description: 'beta UI' }] };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// Both replicas know the same people: one key set for every harness of this file.
const keysDir = tempDir('opsctl-pg-grants-keys-');

let db: Postgres;
before(async () => {
  if (!skip) db = await startPostgres();
});
after(async () => {
  await db?.stop();
});

interface Replicas {
  a: Harness;
  b: Harness;
  database: string;
  logs: string[];
  store(): PostgresGrantStore;
  close(): Promise<void>;
}

async function twoReplicas(database = db.createDatabase()): Promise<Replicas> {
  const logs: string[] = [];
  const log = (level: string, m: string) => { logs.push(`${level}: ${m}`); };
  const store = () => new PostgresGrantStore({ connection: db.url(database), log });
  // Started together on a fresh database: the table is created once, without a race.
  const [a, b] = await Promise.all([
    startHarness({ flags, grants: { store: store(), maxTtlSeconds: 3600 } }, { keysDir }),
    startHarness({ flags, grants: { store: store(), maxTtlSeconds: 3600 } }, { keysDir }),
  ]);
  return { a, b, database, logs, store, close: async () => { await Promise.all([a.close(), b.close()]); } };
}

const setBeta = (h: Harness, value: boolean) => h.stranger.call('flags.set', { name: 'beta', value });

test('a grant given on replica A works on B at once; revoked on B, it fails on A on the very next request', { skip }, async () => {
  const r = await twoReplicas();
  try {
    assert.equal((await setBeta(r.b, true)).json.code, 'auth.unknown_key', 'before the grant the key is unknown everywhere');
    const created = await r.a.admin.call('grants.create', { publicKey: r.a.keys.stranger.publicLine, role: 'operator', ttlSeconds: 600, reason: 'incident 7' });
    assert.equal(created.status, 201, created.text);
    const id = created.json.grant.id as string;
    // No waiting: B asks the store for the key's grants before verifying.
    const onB = await setBeta(r.b, true);
    assert.equal(onB.status, 200, `B honours A's grant on the first request: ${onB.text}`);
    assert.equal((await setBeta(r.a, true)).status, 200, 'A honours its own grant');
    const listB = (await r.b.admin.call('grants.list')).json.grants as Array<{ id: string; state: string }>;
    assert.equal(listB.find((g) => g.id === id)?.state, 'active', 'B lists the grant A gave');
    const catalog = (await r.b.viewer.call('catalog')).json.endpoints as Array<{ id: string; scope: string }>;
    assert.equal(catalog.find((e) => e.id === 'grants.create')?.scope, 'service', 'grant endpoints are service-scoped on a shared store');

    const t0 = Date.now();
    const revoked = await r.b.admin.call('grants.revoke', { id });
    assert.equal(revoked.status, 200, revoked.text);
    assert.equal(revoked.json.revoked, true, 'B revokes a grant it did not create');
    const nextOnA = await setBeta(r.a, false);
    const ms = Date.now() - t0;
    assert.equal(nextOnA.status, 401, `A refuses on the next request after B's revocation: ${nextOnA.text}`);
    assert.equal(nextOnA.json.code, 'auth.unknown_key', 'the key is back to unknown on A');
    assert.equal((await setBeta(r.b, false)).json.code, 'auth.unknown_key', 'and on B');
    const again = await r.a.admin.call('grants.revoke', { id });
    assert.equal(again.json.revoked, false, 'A revoking again changes nothing');
    assert.equal(again.json.grant.state, 'revoked', 'A sees the revocation B wrote');
    assert.equal(again.json.grant.revokedBy, 'alice-admin', 'with who revoked it');
    process.stdout.write(`# revoke on B → refused on A: ${ms} ms (revoke + next request)\n`);

    // Audit: the request under the grant on B carries its id; one revocation record in total.
    const recsA = readAudit(r.a.auditFile);
    const recsB = readAudit(r.b.auditFile);
    assert.deepEqual(recsB.filter((x) => x.grantId === id && x.endpoint === 'flags.set').map((x) => x.outcome), ['accepted', 'ok'], 'B audits the request under the grant with its id');
    const revocations = [...recsA, ...recsB].filter((x) => (x.grant as { event?: string; id?: string } | undefined)?.event === 'revoked' && (x.grant as { id: string }).id === id);
    assert.equal(revocations.length, 1, 'exactly one revocation record across both replicas');
  } finally {
    await r.close();
  }
});

test('a short grant expires on both replicas, and its expiry is recorded once in total', { skip }, async () => {
  const r = await twoReplicas();
  try {
    const created = await r.b.admin.call('grants.create', { publicKey: r.a.keys.stranger.publicLine, role: 'operator', ttlSeconds: 2, reason: 'quick look' });
    assert.equal(created.status, 201, created.text);
    const g = created.json.grant as { id: string; expiresAt: string };
    assert.equal((await setBeta(r.a, true)).status, 200, 'A honours it while it lasts');
    assert.equal((await setBeta(r.b, true)).status, 200, 'B too');
    await sleep(Math.max(0, Date.parse(g.expiresAt) - Date.now()) + 50);
    assert.equal((await setBeta(r.a, false)).json.code, 'auth.unknown_key', 'A refuses from expiresAt');
    assert.equal((await setBeta(r.b, false)).json.code, 'auth.unknown_key', 'B refuses from expiresAt');
    // Both replicas' timers (and the requests that noticed) race to record it.
    await sleep(600);
    const expiries = [...readAudit(r.a.auditFile), ...readAudit(r.b.auditFile)].filter((x) => x.outcome === 'expired' && x.grantId === g.id);
    assert.equal(expiries.length, 1, `exactly one expiry record across both replicas (got ${expiries.length})`);
    const c = new pg.Client(db.config(r.database));
    await c.connect();
    try {
      const row = (await c.query('SELECT expiry_recorded_at, revoked_at FROM opsctl_grants WHERE id = $1', [g.id])).rows[0];
      assert.ok(row?.expiry_recorded_at instanceof Date, 'the store marks the expiry recorded');
      assert.equal(row.revoked_at, null, 'an expired grant is not also revoked');
    } finally {
      await c.end();
    }
    for (const h of [r.a, r.b]) {
      const list = (await h.admin.call('grants.list')).json.grants as Array<{ id: string; state: string }>;
      assert.equal(list.find((x) => x.id === g.id)?.state, 'expired', 'recently expired grants stay listed on every replica');
    }
  } finally {
    await r.close();
  }
});

test('claimExpiry: among many concurrent claims from two stores exactly one wins; a claimed grant cannot be revoked and vice versa', { skip }, async () => {
  const database = db.createDatabase();
  const quiet = { log: () => {} };
  const s1 = new PostgresGrantStore({ connection: db.url(database), ...quiet });
  const s2 = new PostgresGrantStore({ connection: db.config(database), ...quiet });
  try {
    await Promise.all([s1.start(), s2.start()]);
    const now = Date.now();
    const base = {
      keyid: 'SHA256:test', publicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample', principal: 'p', role: 'viewer' as const,
      createdAt: new Date(now - 10_000).toISOString(), grantedBy: 'alice', grantedByKeyid: null, reason: 'r',
    };
    await s1.insert({ ...base, id: 'expired000000001', expiresAt: new Date(now - 1000).toISOString() });
    await s1.insert({ ...base, id: 'active0000000001', expiresAt: new Date(now + 60_000).toISOString() });
    await assert.rejects(s2.insert({ ...base, id: 'active0000000001', expiresAt: new Date(now + 60_000).toISOString() }), /exists already/, 'ids are unique');
    const at = new Date().toISOString();
    const claims = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? s1 : s2).claimExpiry('expired000000001', at)));
    assert.equal(claims.filter(Boolean).length, 1, `exactly one of 20 concurrent claims wins (got ${claims.filter(Boolean).length})`);
    assert.equal(await s1.revoke('expired000000001', 'bob', new Date().toISOString()), undefined, 'an expired grant cannot be revoked');
    assert.equal(await s2.claimExpiry('active0000000001', new Date().toISOString()), false, 'a grant that has not expired yet cannot be claimed');
    const rev = await s2.revoke('active0000000001', 'bob', new Date().toISOString());
    assert.equal(rev?.revokedBy, 'bob', 'revoke returns the updated grant');
    assert.equal(await s1.revoke('active0000000001', 'carol', new Date().toISOString()), undefined, 'a second revocation does nothing');
    assert.equal(await s1.claimExpiry('active0000000001', new Date(now + 120_000).toISOString()), false, 'a revoked grant never expires');
    assert.equal((await s1.forKey('SHA256:test')).length, 2, "forKey finds the key's grants");
    assert.equal((await s1.forKey('SHA256:other')).length, 0, 'and none of another key');
    await s2.prune(new Date(Date.now() + 1000).toISOString());
    assert.deepEqual((await s1.load()).map((g) => g.id), [], 'prune forgets grants ended before the cut once they are recorded');
  } finally {
    await Promise.all([s1.close(), s2.close()]);
  }
});

test('grants persist across a restart of both replicas; a revocation does too', { skip }, async () => {
  const r = await twoReplicas();
  try {
    const keep = await r.a.admin.call('grants.create', { publicKey: r.a.keys.stranger.publicLine, role: 'operator', ttlSeconds: 600, reason: 'keep' });
    const gone = await r.a.admin.call('grants.create', { publicKey: r.a.keys.viewer.publicLine, role: 'operator', ttlSeconds: 600, reason: 'gone' });
    assert.equal(keep.status, 201, keep.text);
    assert.equal(gone.status, 201, gone.text);
    assert.equal((await r.b.admin.call('grants.revoke', { id: gone.json.grant.id })).json.revoked, true, 'revoked before the restart');
    await r.a.restart({ grants: { store: r.store(), maxTtlSeconds: 3600 } });
    await r.b.restart({ grants: { store: r.store(), maxTtlSeconds: 3600 } });
    for (const h of [r.a, r.b]) {
      assert.equal((await setBeta(h, true)).status, 200, 'the grant still works after the restart');
      assert.equal((await h.viewer.call('flags.set', { name: 'beta', value: true })).json.code, 'auth.forbidden', 'the revoked grant stays revoked');
      const list = (await h.admin.call('grants.list')).json.grants as Array<{ id: string; state: string }>;
      assert.deepEqual(list.map((g) => [g.id, g.state]), [[keep.json.grant.id, 'active'], [gone.json.grant.id, 'revoked']], 'both listed after the restart');
    }
  } finally {
    await r.close();
  }
});

test('while the database is down a replica keeps its last known grants; when it is back, changes count at once again', { skip }, async () => {
  const r = await twoReplicas();
  try {
    const created = await r.a.admin.call('grants.create', { publicKey: r.a.keys.stranger.publicLine, role: 'operator', ttlSeconds: 600, reason: 'outage' });
    assert.equal(created.status, 201, created.text);
    assert.equal((await setBeta(r.b, true)).status, 200, 'B knows the grant');
    db.stopServer();
    try {
      assert.equal((await setBeta(r.b, false)).status, 200, 'B still honours it from its last known list');
      assert.equal((await r.a.admin.call('grants.revoke', { id: created.json.grant.id })).status, 500, 'no revocation can be written meanwhile');
      assert.ok(r.b.logs.some((l) => /could not be re-read from the shared store/.test(l)), 'the failed lookup is logged by the port');
    } finally {
      db.startServer();
    }
    let revoked;
    for (let i = 0; i < 50; i++) {
      revoked = await r.a.admin.call('grants.revoke', { id: created.json.grant.id });
      if (revoked.status === 200) break;
      await sleep(100); // the pool may hand out a dead connection once
    }
    assert.equal(revoked!.json.revoked, true, `revoked once the database is back: ${revoked!.text}`);
    let refused;
    for (let i = 0; i < 50; i++) {
      refused = await setBeta(r.b, true);
      if (refused.status === 401) break;
      await sleep(100); // B's pool may hand out a dead connection once, then its last known list answers
    }
    assert.equal(refused!.json.code, 'auth.unknown_key', 'B refuses once it can read the store again');
  } finally {
    await r.close();
  }
});

test('a grants table made by an older version gains the lineage columns at start (idempotently); forKey returns the chain a key\'s grants were made under', { skip }, async () => {
  const database = db.createDatabase();
  // The table as the version before lineage made it, with one of its rows.
  db.psql(`CREATE TABLE opsctl_grants (
    id text PRIMARY KEY, keyid text NOT NULL, public_key text NOT NULL, principal text NOT NULL, role text NOT NULL,
    created_at timestamptz NOT NULL, expires_at timestamptz NOT NULL, granted_by text NOT NULL, granted_by_keyid text,
    reason text NOT NULL, revoked_at timestamptz, revoked_by text, approval_id text, expiry_recorded_at timestamptz);
    INSERT INTO opsctl_grants VALUES ('old0000000000001', 'SHA256:old', 'ssh-ed25519 AAAA', 'olga', 'operator', now(), now() + interval '1 hour', 'alice', NULL, 'before', NULL, NULL, NULL, NULL);`, database);
  const log = () => undefined;
  const s1 = new PostgresGrantStore({ connection: db.url(database), log });
  const s2 = new PostgresGrantStore({ connection: db.url(database), log });
  try {
    await Promise.all([s1.start(), s2.start()]);
    const [old] = await s1.load();
    assert.equal(old!.id, 'old0000000000001');
    assert.equal(old!.actsFor, undefined, 'an older row has no lineage (the port falls back to granted_by)');
    assert.equal(old!.parents, undefined);
    const now = Date.now();
    const base = { publicKey: 'ssh-ed25519 AAAA', role: 'admin' as const, createdAt: new Date(now).toISOString(), expiresAt: new Date(now + 60_000).toISOString(), grantedByKeyid: null, reason: 'chain' };
    await s1.insert({ ...base, id: 'root000000000001', keyid: 'SHA256:root', principal: 'r', grantedBy: 'alice', actsFor: 'alice', derivedFrom: ['alice'] });
    await s1.insert({ ...base, id: 'mid0000000000001', keyid: 'SHA256:mid', principal: 'm', grantedBy: 'r', actsFor: 'alice', derivedFrom: ['alice'], parents: ['root000000000001'] });
    await s2.insert({ ...base, id: 'leaf000000000001', keyid: 'SHA256:leaf', principal: 'l', grantedBy: 'm', actsFor: 'alice', derivedFrom: ['alice'], parents: ['mid0000000000001'] });
    const chain = await s2.forKey('SHA256:leaf');
    assert.deepEqual(chain.map((g) => g.id).sort(), ['leaf000000000001', 'mid0000000000001', 'root000000000001'], 'the leaf and every grant above it');
    assert.deepEqual(chain.find((g) => g.id === 'leaf000000000001')!.parents, ['mid0000000000001']);
    assert.deepEqual(chain.find((g) => g.id === 'leaf000000000001')!.derivedFrom, ['alice']);
    const revoked = await s1.revoke('mid0000000000001', 'bob', new Date().toISOString(), 'root000000000001');
    assert.equal(revoked?.endedWith, 'root000000000001', 'a cascaded revocation names the grant it ended with');
    // Starting again on the migrated table changes nothing.
    const s3 = new PostgresGrantStore({ connection: db.url(database), log });
    try {
      await s3.start();
      assert.equal((await s3.load()).length, 4);
    } finally {
      await s3.close();
    }
  } finally {
    await Promise.all([s1.close(), s2.close()]);
  }
});
