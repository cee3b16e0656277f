/**
 * The real CLI over a fleet of real hosts (test/helpers/fleet.ts): network
 * namespaces, an sshd per host behind one bastion, a demo-service replica
 * per host, each with its own SQLite file and flag store (per instance).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fleetMissing, startFleet, type Fleet } from '../helpers/fleet.js';

const missing = fleetMissing();
if (missing && (process.env.CI === 'true' || process.env.CI === '1')) throw new Error(`CI: ${missing}`);
const skip = missing ?? false;

let fleet: Fleet;
before(async () => {
  if (!skip) fleet = await startFleet({ hosts: 4 });
});
after(async () => {
  await fleet?.stop();
});

test('health on every host: one JSON document with a result per host and a summary', { skip }, async () => {
  const r = await fleet.opsctl(['health', '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.deepEqual(doc.hosts.map((h: { host: string }) => h.host), fleet.hosts.map((h) => h.name));
  for (const h of doc.hosts) {
    assert.equal(h.ok, true);
    assert.equal(h.exitCode, 0);
    assert.equal(h.result.service, 'demo-orders');
  }
  assert.deepEqual(doc.summary, { ok: 4, failed: 0, skipped: 0 });
});

test('tables gain a HOST column; one host keeps today\'s output exactly', { skip }, async () => {
  const r = await fleet.opsctl(['metrics', '--filter', '^opsctl_internal_requests_total']);
  assert.equal(r.code, 0, r.stderr);
  const many = await fleet.opsctl(['flags', 'list']);
  assert.equal(many.code, 0, many.stderr);
  const lines = many.stdout.trim().split('\n');
  assert.match(lines[0]!, /^HOST\tNAME\tTYPE\tVALUE/);
  for (const h of fleet.hosts) assert.ok(lines.some((l) => l.startsWith(`${h.name}\tmaintenance_mode\t`)), h.name);
  const one = await fleet.opsctl(['--host', 'node1', 'flags', 'list']);
  assert.equal(one.code, 0, one.stderr);
  assert.match(one.stdout.split('\n')[0]!, /^NAME\tTYPE\tVALUE/);
  const oneJson = await fleet.opsctl(['--host', 'node1', 'health', '-o', 'json']);
  assert.equal(JSON.parse(oneJson.stdout).service, 'demo-orders', 'one host: the plain health document, no "hosts" wrapper');
});

test('per-instance flag stores: a write goes to every host selected; values diverge and are shown as such', { skip }, async () => {
  const set = await fleet.opsctl(['--host', 'node0,node1', 'flags', 'set', 'max_page_size', '77', '-o', 'json']);
  assert.equal(set.code, 0, set.stderr);
  assert.deepEqual(JSON.parse(set.stdout).summary, { ok: 2, failed: 0, skipped: 0 });
  const list = await fleet.opsctl(['flags', 'list', '-o', 'json']);
  const values = JSON.parse(list.stdout).hosts.map((h: { result: { flags: Array<{ name: string; value: unknown }> } }) => h.result.flags.find((x) => x.name === 'max_page_size')!.value);
  assert.deepEqual(values, [77, 77, 50, 50]);
  const table = await fleet.opsctl(['flags', 'list']);
  assert.match(table.stdout, /max_page_size.*differs across hosts/);
  assert.match(table.stderr, /max_page_size: not the same on every host/);
});

test('--batch halts on an unhealthy canary; the rest are skipped and reported', { skip }, async () => {
  // Pending migrations make every replica degraded before the run (which the waves tolerate):
  // migrate each replica's own database first, one host at a time.
  for (const h of fleet.hosts) assert.equal((await fleet.opsctl(['--host', h.name, 'migrate', 'up', '--yes'])).code, 0);
  // Maintenance mode makes a replica's health degraded, for a reason that did not predate the run.
  const r = await fleet.opsctl(['flags', 'enable', 'maintenance_mode', '--batch', '1,100%', '-o', 'json']);
  assert.equal(r.code, 1, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.deepEqual(doc.summary, { ok: 1, failed: 0, skipped: 3 });
  assert.equal(doc.hosts[0].ok, true);
  assert.match(doc.hosts[1].error.message, /halted after wave 1: node0 degraded/);
  await fleet.opsctl(['--host', 'node0', 'flags', 'disable', 'maintenance_mode']);
});

test('a dead host: the others answer, exit 5, the summary counts it; --max-errors 0 stops a change', { skip }, async () => {
  fleet.hosts[2]!.killSshd();
  const r = await fleet.opsctl(['health', '-o', 'json', '--timeout', '5']);
  assert.equal(r.code, 5, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.deepEqual(doc.summary, { ok: 3, failed: 1, skipped: 0 });
  const dead = doc.hosts.find((h: { host: string }) => h.host === 'node2');
  assert.equal(dead.ok, false);
  assert.equal(dead.exitCode, 5);
  assert.ok(dead.error.message);
  // A change with the default error budget (0) stops scheduling after the failure.
  const change = await fleet.opsctl(['flags', 'set', 'discount_percent', '5', '--max-concurrency', '1', '-o', 'json', '--timeout', '5']);
  assert.equal(change.code, 5, change.stderr);
  const c = JSON.parse(change.stdout);
  assert.deepEqual(c.summary, { ok: 2, failed: 1, skipped: 1 });
  assert.equal(c.hosts[3].skipped, true);
});
