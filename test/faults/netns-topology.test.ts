/**
 * The production topology with real network namespaces (test/helpers/fleet.ts
 * with `isolated`): the service host's sshd and the demo service live in a
 * namespace whose only link goes to the bastion's namespace, and the bastion
 * does not route; the CLI runs in an operator namespace linked only to the
 * bastion's (the test's own namespace has a default route that may lead
 * anywhere, so it proves nothing). From the operator's side a direct TCP
 * connection to the host's sshd or to the internal port fails, a CLI context
 * without the bastion cannot connect, and the real built CLI works through
 * the bastion: health, flags, migrations.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { fleetMissing, startFleet, connectFrom, INTERNAL_PORT, type Fleet } from '../helpers/fleet.js';

const missing = fleetMissing();
if (missing && (process.env.CI === 'true' || process.env.CI === '1')) throw new Error(`CI: ${missing}`);
const skip = missing ?? false;

let fleet: Fleet;
before(async () => {
  if (!skip) fleet = await startFleet({ hosts: 1, isolated: true });
});
after(async () => {
  await fleet?.stop();
});

test('the operator side cannot open a TCP connection to the service host\'s sshd or to the internal port; the bastion reaches the sshd only', { skip }, () => {
  const host = fleet.hosts[0]!;
  const op = fleet.operatorNs!;
  const bastionNs = fleet.bastion.ns!;
  assert.ok(op && bastionNs, 'the operator and the bastion have namespaces of their own');

  // Controls first, so the refusals below are about the topology and not a
  // dead process: the sshd answers the bastion, the service listens on its
  // host's loopback, and the operator's side reaches the bastion.
  assert.equal(connectFrom(bastionNs, host.address, 22), 'connected', 'the bastion reaches the host\'s sshd');
  assert.equal(connectFrom(host.ns, '127.0.0.1', INTERNAL_PORT), 'connected', 'the internal port listens on the host\'s loopback');
  assert.equal(connectFrom(op, fleet.bastion.address, fleet.bastion.port), 'connected', 'the operator side reaches the bastion');

  // The operator's side (where the CLI runs): the host's network is not
  // routed to it, the bastion does not forward.
  for (const port of [22, INTERNAL_PORT]) {
    const r = connectFrom(op, host.address, port);
    assert.notEqual(r, 'connected', `a direct connection from the operator side to ${host.address}:${port} must fail (got ${r})`);
  }
  const own = connectFrom(op, '127.0.0.1', INTERNAL_PORT);
  assert.notEqual(own, 'connected', `the operator's own loopback has no internal port (got ${own})`);

  // The bastion can forward to the host's sshd, but the internal port is on
  // the host's loopback, out of the bastion's reach too.
  const fromBastion = connectFrom(bastionNs, host.address, INTERNAL_PORT);
  assert.notEqual(fromBastion, 'connected', `the bastion cannot reach the internal port on the host's address (got ${fromBastion})`);
  const onHost = connectFrom(host.ns, host.address, INTERNAL_PORT);
  assert.notEqual(onHost, 'connected', `the internal port is bound to loopback only, even on its own host (got ${onHost})`);
});

test('a CLI context without the bastion cannot connect (exit 5); nothing reached the service', { skip }, async () => {
  const host = fleet.hosts[0]!;
  const before = fs.readFileSync(`${host.dataDir}/audit.log`, 'utf8');
  const add = await fleet.opsctl(['context', 'add', 'direct', '--host', host.name, '--port', String(INTERNAL_PORT),
    '--identity', fleet.key.privatePath, '--known-hosts', `${fleet.home}/known_hosts`]);
  assert.equal(add.code, 0, add.stderr);
  const r = await fleet.opsctl(['--context', 'direct', 'health', '--timeout', '3']);
  assert.equal(r.code, 5, `exit 5 (connection) without the bastion; stdout: ${r.stdout} stderr: ${r.stderr}`);
  assert.match(r.stderr, new RegExp(host.address.replaceAll('.', '\\.')), 'the error names the host it could not reach');
  assert.equal(fs.readFileSync(`${host.dataDir}/audit.log`, 'utf8'), before, 'no request reached the service');
  assert.equal((await fleet.opsctl(['context', 'use', 'fleet'])).code, 0, 'back to the context with the bastion');
});

test('through the bastion the real CLI works: health, flags list/set, migrate status/up', { skip }, async () => {
  const health = await fleet.opsctl(['health', '-o', 'json']);
  assert.equal(health.code, 0, health.stderr);
  assert.equal(JSON.parse(health.stdout).service, 'demo-orders', health.stdout);

  const flags = await fleet.opsctl(['flags', 'list']);
  assert.equal(flags.code, 0, flags.stderr);
  assert.match(flags.stdout, /^NAME\tTYPE\tVALUE/, flags.stdout);
  assert.match(flags.stdout, /\nmaintenance_mode\tboolean\tfalse/, flags.stdout);
  const set = await fleet.opsctl(['flags', 'set', 'max_page_size', '42', '-o', 'json']);
  assert.equal(set.code, 0, set.stderr);
  const got = await fleet.opsctl(['flags', 'get', 'max_page_size', '-o', 'json']);
  assert.equal(JSON.parse(got.stdout).value, 42, got.stdout);

  const pending = await fleet.opsctl(['migrate', 'status', '-o', 'json']);
  assert.equal(pending.code, 0, pending.stderr);
  const before = JSON.parse(pending.stdout);
  assert.equal(before.applied.length, 0, pending.stdout);
  assert.equal(before.pending.length, 3, pending.stdout);
  const up = await fleet.opsctl(['migrate', 'up', '--yes', '-o', 'json']);
  assert.equal(up.code, 0, up.stderr);
  assert.equal(JSON.parse(up.stdout).state, 'succeeded', up.stdout);
  const after = await fleet.opsctl(['migrate', 'status', '-o', 'json']);
  const doc = JSON.parse(after.stdout);
  assert.equal(doc.applied.length, 3, after.stdout);
  assert.equal(doc.pending.length, 0, after.stdout);

  // The service saw every one of these requests from the operator's key,
  // arrived over its own loopback (the host's sshd forwarded them).
  const audit = fs.readFileSync(`${fleet.hosts[0]!.dataDir}/audit.log`, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { endpoint?: string; outcome?: string });
  for (const e of ['health', 'flags.list', 'flags.set', 'migrations.status', 'migrations.up']) {
    assert.ok(audit.some((r) => r.endpoint === e), `audit log records ${e}`);
  }
});
