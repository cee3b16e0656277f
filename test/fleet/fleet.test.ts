/**
 * The real CLI over a fleet of real hosts (test/helpers/fleet.ts): network
 * namespaces, an sshd per host behind one bastion, a demo-service replica
 * per host, each with its own SQLite file and flag store (per instance).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fleetMissing, startFleet, INTERNAL_PORT, type Fleet } from '../helpers/fleet.js';
import { rememberJobHost } from '../../src/cli/fleet/job-hosts.js';
import { instanceTarget } from '../../src/cli/client/instance-memory.js';

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

test('jobs in a fleet: status/wait/logs go to the job\'s host, noted or looked for; an unknown id is not found on any host', { skip }, async () => {
  for (const h of ['node1', 'node2']) assert.equal((await fleet.opsctl(['--host', h, 'migrate', 'up', '--yes'])).code, 0, `migrate ${h}`);
  const start = async (host: string) => {
    const r = await fleet.opsctl(['--host', host, 'tasks', 'run', 'recompute-totals', '--param', 'pauseMs=0', '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout).jobId as string;
  };
  const id = await start('node2');
  // Noted when it started: straight to node2, one host in the document.
  const wait = await fleet.opsctl(['jobs', 'wait', id, '-o', 'json']);
  assert.equal(wait.code, 0, wait.stderr);
  const doc = JSON.parse(wait.stdout);
  assert.deepEqual(doc.hosts.map((h: { host: string }) => h.host), ['node2'], 'only the job\'s host');
  assert.equal(doc.hosts[0].result.state, 'succeeded');
  assert.match(wait.stderr, new RegExp(`job ${id} runs on node2 \\(noted`));
  // Nothing noted (another state dir): looked for on every host, found on node2, printed as with one host.
  const fresh = { XDG_STATE_HOME: path.join(fleet.home, '.state-fresh') };
  const status = await fleet.opsctl(['jobs', 'status', id], { env: fresh });
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stderr, new RegExp(`job ${id} found on node2`));
  assert.doesNotMatch(status.stdout, /HOST/, 'one job, one host: today\'s fields, no HOST column');
  assert.match(status.stdout, /succeeded/);
  const logs = await fleet.opsctl(['jobs', 'logs', id], { env: fresh });
  assert.equal(logs.code, 0, logs.stderr);
  assert.match(logs.stderr, /runs on node2 \(noted/, 'the look-up was noted');
  assert.match(logs.stdout + logs.stderr, /recomputing/);
  // A stale note (the host does not know the job): forgotten, then looked for everywhere.
  const other = await start('node1');
  rememberJobHost({ XDG_STATE_HOME: fresh.XDG_STATE_HOME }, [other], 'node0', instanceTarget(['bastion'], 'node0', INTERNAL_PORT));
  const moved = await fleet.opsctl(['jobs', 'status', other, '-o', 'json'], { env: fresh });
  assert.equal(moved.code, 0, moved.stderr);
  assert.match(moved.stderr, /no longer on node0; asking every host/);
  assert.deepEqual(JSON.parse(moved.stdout).hosts.map((h: { host: string }) => h.host), ['node1']);
  // An id no host knows: one clear line, exit 2 as for a mistyped name on one host.
  const none = await fleet.opsctl(['jobs', 'status', 'NoSuchJob0000000']);
  assert.equal(none.code, 2, none.stderr);
  assert.match(none.stderr, /job NoSuchJob0000000 not found on any host \(asked node0, node1, node2, node3\)/);
});

test('service commands fan out as call does: the endpoint\'s scope decides (orders.* are service-scoped: once, to one healthy host)', { skip }, async () => {
  const eps = await fleet.opsctl(['endpoints', '-o', 'json']);
  assert.equal(eps.code, 0, eps.stderr);
  for (const argv of [['orders', 'stats'], ['orders', 'list', '--status', 'open']]) {
    const cmd = await fleet.opsctl([...argv, '-o', 'json']);
    const call = await fleet.opsctl(['call', `orders.${argv[1]}`, ...(argv[2] ? ['--param', 'status=open'] : []), '-o', 'json']);
    assert.equal(cmd.code, call.code, `${argv.join(' ')}: ${cmd.stderr}`);
    assert.deepEqual(JSON.parse(cmd.stdout), JSON.parse(call.stdout), argv.join(' '));
    assert.match(cmd.stderr, /orders\.\w+ is service-scoped: sent once, to node\d/);
  }
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
  // A job id no reachable host knows may be on the dead one: a connection failure, not a typo.
  const job = await fleet.opsctl(['jobs', 'status', 'NoSuchJob0000000', '--timeout', '5']);
  assert.equal(job.code, 5, job.stderr);
  assert.match(job.stderr, /not found on the hosts that answered \(node0, node1, node3\); could not ask node2/);
});
