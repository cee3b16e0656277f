/**
 * Grants in a fleet whose replicas share one real PostgreSQL
 * (`demo-service --database postgresql://…`), through the real CLI, the
 * bastion and each host's sshd: a grant given through one replica is
 * honoured by every replica, and a revocation through another ends it on all
 * of them from the next request.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fleetMissing, startFleet, type Fleet } from '../helpers/fleet.js';
import { generateKeyPair, type TestKey } from '../helpers/keys.js';

const missing = fleetMissing({ postgres: true });
if (missing && (process.env.CI === 'true' || process.env.CI === '1')) throw new Error(`CI: ${missing}`);
const skip = missing ?? false;

let fleet: Fleet;
let gina: TestKey;
before(async () => {
  if (skip) return;
  fleet = await startFleet({ hosts: 2, postgres: true });
  // The SSH hops let Gina in (docs/deploy.md, "SSH hops that expire with a grant"); only a grant lets her use the internal port.
  gina = generateKeyPair('gina-oncall', { dir: fleet.home });
  fs.appendFileSync(path.join(fleet.bastion.dir, 'authorized_keys'), `${gina.publicLine}\n`);
  for (const h of fleet.hosts) fs.appendFileSync(path.join(path.dirname(h.dataDir), 'authorized_keys'), `${gina.publicLine}\n`);
});
after(async () => {
  await fleet?.stop();
});

const asGina = (host: string, args: string[]) => fleet.opsctl(['--host', host, '--identity', gina.privatePath, ...args]);

test('a grant given through one replica holds on every replica; revoked through another, it ends on all at once', { skip }, async () => {
  const [node0, node1] = fleet.hosts.map((h) => h.name) as [string, string];
  const before = await asGina(node0, ['whoami']);
  assert.equal(before.code, 3, `no grant yet: auth denied (${before.stderr})`);

  const add = await fleet.opsctl(['--host', node1, 'grants', 'add', gina.publicPath, '--role', 'operator', '--for', '10m', '--reason', 'INC-9 on call', '-o', 'json']);
  assert.equal(add.code, 0, add.stderr);
  const g = JSON.parse(add.stdout).grant as { id: string; role: string };
  assert.equal(g.role, 'operator', 'granted as asked');
  for (const host of [node0, node1]) {
    const who = await asGina(host, ['whoami', '-o', 'json']);
    assert.equal(who.code, 0, `${host} honours the grant given through ${node1}: ${who.stderr}`);
    const me = JSON.parse(who.stdout);
    assert.equal(me.role, 'operator', `${host}: the granted role`);
    assert.equal(me.grant?.id, g.id, `${host}: acting under the grant`);
  }
  const listed = await fleet.opsctl(['--host', node0, 'grants', 'list', '-o', 'json']);
  assert.equal(listed.code, 0, listed.stderr);
  assert.equal((JSON.parse(listed.stdout).grants as Array<{ id: string; state: string }>).find((x) => x.id === g.id)?.state, 'active', `${node0} lists the grant given through ${node1}`);

  const rev = await fleet.opsctl(['--host', node0, 'grants', 'revoke', g.id, '--reason', 'INC-9 closed']);
  assert.equal(rev.code, 0, rev.stderr);
  for (const host of [node1, node0]) {
    const after = await asGina(host, ['whoami']);
    assert.equal(after.code, 3, `${host} refuses on the next request after the revocation through ${node0}: ${after.stderr}`);
    assert.match(after.stderr, /auth\.unknown_key/, `${host}: the key is unknown again`);
  }
  const rows = fleet.postgres!.psql(`SELECT revoked_by FROM opsctl_grants WHERE id = '${g.id}'`, fleet.databaseUrl!.split('/').pop()).trim();
  assert.equal(rows, 'fleet-admin', 'one row in the shared database, revoked by the admin');
});
