/**
 * Two opsctl-port replicas on one real PostgreSQL (URLs from an environment
 * variable and a secret file, never logged): a flag set on one is served by
 * the other, the flag endpoints are service-scoped, and the migration lock
 * lives in the database, so a migration on one replica makes the other's
 * 409 — with migrations over commands that share nothing else.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { requirePostgres, startPostgres, type Postgres } from '../helpers/postgres.js';
import { eventually, startOpsctlPort, tempDir, type RunningPort } from '../helpers/sidecar.js';
import { SignedClient, makeKey, waitForJob, writeAllowlist, type TestKey } from '../helpers/signed-client.js';

let pg: Postgres | undefined;
let dir: string;
let admin: TestKey;
const replicas: RunningPort[] = [];

before(async () => {
  dir = tempDir();
  admin = makeKey(dir, 'alice');
});
after(async () => {
  for (const r of replicas) await r.stop();
  await pg?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** One replica: its own data dir and its own migration state, the shared database. */
function replicaConfig(name: string): string {
  const home = path.join(dir, name);
  fs.mkdirSync(home, { mode: 0o700 });
  writeAllowlist(path.join(home, 'keys'), [[admin, 'admin']]);
  fs.writeFileSync(path.join(home, 'status.sh'), '#!/bin/sh\nfor m in m1 m2; do if grep -qx "$m" state 2>/dev/null; then echo "$m applied"; else echo "$m pending"; fi; done\n', { mode: 0o755 });
  fs.writeFileSync(path.join(home, 'up.sh'), '#!/bin/sh\nsleep 3\nfor m in m1 m2; do echo "$m" >> state; [ "$m" = "$1" ] && break; done\n', { mode: 0o755 });
  fs.writeFileSync(path.join(home, 'down.sh'), '#!/bin/sh\n: > state\n', { mode: 0o755 });
  fs.writeFileSync(path.join(home, 'db-url'), `${pg!.url()}\n`, { mode: 0o600 });
  const file = path.join(home, 'opsctl-port.yaml');
  fs.writeFileSync(file, JSON.stringify({
    service: { name: 'shared', version: '1' },
    port: 0,
    authorizedKeys: './keys',
    dataDir: './data',
    flags: {
      definitions: [{ name: 'maintenance_mode', type: 'boolean', default: false, description: 'Pause writes' }],
      store: { postgres: { url: { env: 'SHARED_DATABASE_URL' } } },
    },
    grants: { store: { postgres: { url: { file: './db-url' } } } },
    migrations: {
      status: { argv: ['./status.sh'], cwd: '.', parse: { regex: '^(?<name>m\\d+) (?<applied>applied)?' } },
      up: { argv: ['./up.sh', '{target}'], cwd: '.' },
      down: { argv: ['./down.sh', '{target}'], cwd: '.' },
    },
  }, null, 2));
  return file;
}

test('two replicas on one PostgreSQL: flags shared and service-scoped, the migration lock held in the database', async (t) => {
  if (requirePostgres(t)) return;
  pg = await startPostgres();
  const env = { SHARED_DATABASE_URL: pg.url() };
  for (const name of ['a', 'b']) replicas.push(await startOpsctlPort(replicaConfig(name), { env }));
  const [a, b] = replicas.map((r) => new SignedClient({ host: '127.0.0.1', port: r.port }, admin)) as [SignedClient, SignedClient];

  const catalog = (await a.call('catalog')).json.endpoints as Array<{ id: string; scope: string }>;
  assert.equal(catalog.find((e) => e.id === 'flags.set')?.scope, 'service');
  assert.equal(catalog.find((e) => e.id === 'grants.create')?.scope, 'service');
  assert.equal((await a.call('flags.set', { name: 'maintenance_mode', value: true })).status, 200);
  await eventually(async () => (await b.call('flags.get', { name: 'maintenance_mode' })).json.value === true, 5000, 'replica b to serve the flag set on a');

  const up = await a.call('migrations.up', {}, { headers: { 'opsctl-reason': 'replica a' } });
  assert.equal(up.status, 202, up.text);
  const other = await b.call('migrations.up', {}, { headers: { 'opsctl-reason': 'replica b' } });
  assert.equal(other.status, 409, `the other replica is locked out by the database lock: ${other.text}`);
  assert.match(other.json.holder, /alice/);
  assert.equal((await waitForJob(a, up.json.jobId, 30_000)).state, 'succeeded');
  assert.deepEqual((await a.call('migrations.status')).json.applied.map((m: { name: string }) => m.name), ['m1', 'm2']);

  for (const r of replicas) assert.ok(!r.log().includes(pg.url()), 'the database URL is never logged');
});
