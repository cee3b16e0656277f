/**
 * The shipped examples end to end as an operator meets them: the real CLI
 * (bin/opsctl.js) through two real OpenSSH sshd (bastion, service host) to
 * opsctl-port, fronting the example Python shop (alembic migrations and a
 * maintenance command), Caddy's admin API and HAProxy's runtime API:
 * roles, confirmation, approval by a second person, exit codes and audit.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { runCli, privateHome } from '../helpers/stack.js';
import { generateKeyPair, type TestKey } from '../helpers/keys.js';
import { requireSshd, startSshd, TEST_USER, type Sshd } from '../helpers/sshd.js';
import { copyExample, editYaml, haproxyServer, requireTools, startCaddy, startHaproxy, startOpsctlPort, startShop, tempDir, type Upstream } from '../helpers/sidecar.js';

interface World {
  home: ReturnType<typeof privateHome>;
  keys: Record<'alice' | 'bob' | 'vera', TestKey>;
  bastion: Sshd;
  host: Sshd;
  knownHosts: string;
  dirs: string[];
  stops: Array<() => Promise<unknown>>;
}

let w: World | undefined;

before(async () => {
  const home = privateHome('opsctl-sidecar-e2e-');
  const keys = { alice: generateKeyPair('alice', { dir: home.dir }), bob: generateKeyPair('bob', { dir: home.dir }), vera: generateKeyPair('vera', { dir: home.dir }) };
  const world: World = { home, keys, bastion: undefined as never, host: undefined as never, knownHosts: path.join(home.dir, 'known_hosts'), dirs: [home.dir], stops: [] };
  w = world;
  if (!fs.existsSync('/usr/sbin/sshd')) return;
  const lines = Object.values(keys).map((k) => k.publicLine);
  world.host = await startSshd({ authorizedKeys: lines });
  world.stops.push(() => world.host.stop());
  world.bastion = await startSshd({ authorizedKeys: lines });
  world.stops.push(() => world.bastion.stop());
  fs.writeFileSync(world.knownHosts, `${world.bastion.knownHostsLine}\n${world.host.knownHostsLine}\n`, { mode: 0o600 });
});
after(async () => {
  for (const s of (w?.stops ?? []).reverse()) await s().catch(() => undefined);
  for (const d of w?.dirs ?? []) fs.rmSync(d, { recursive: true, force: true });
});

/** The CLI as `who`, to the internal port on `port`, through the bastion. */
function opsctl(who: 'alice' | 'bob' | 'vera', port: number, args: string[]) {
  const world = w!;
  return runCli([
    '--bastion', `${TEST_USER}@127.0.0.1:${world.bastion.port}`,
    '--host', `${TEST_USER}@127.0.0.1:${world.host.port}`,
    '--port', String(port),
    '--identity', world.keys[who].privatePath,
    '--known-hosts', world.knownHosts,
    ...args,
  ], world.home.env, { timeoutMs: 120_000 });
}

/** Copies an example, writes its allowlist, starts opsctl-port on it (port 0). */
async function sidecarFor(example: string): Promise<{ dir: string }> {
  const world = w!;
  const dir = copyExample(example, tempDir(`opsctl-e2e-${example}-`));
  world.dirs.push(dir);
  fs.writeFileSync(path.join(dir, 'opsctl_keys'), `${world.keys.alice.authorizedKeysLine('admin')}\n${world.keys.bob.authorizedKeysLine('admin')}\n${world.keys.vera.authorizedKeysLine('viewer')}\n`, { mode: 0o600 });
  editYaml(path.join(dir, 'opsctl-port.yaml'), (doc) => doc.set('port', 0));
  return { dir };
}

test('the Python shop: health, migrate plan and up, a maintenance job, refusals and the audit, through the real CLI', async (t) => {
  if (requireSshd(t) || requireTools(t, 'alembic', 'sqlite3')) return;
  const world = w!;
  const s = await sidecarFor('python-app');
  const shop = await startShop(s.dir);
  world.stops.push(() => shop.stop());
  editYaml(path.join(s.dir, 'opsctl-port.yaml'), (doc) => doc.setIn(['health', 'shop', 'http', 'upstream'], `http://127.0.0.1:${shop.port}`));
  const port = await startOpsctlPort(path.join(s.dir, 'opsctl-port.yaml'));
  world.stops.push(() => port.stop());

  const health = await opsctl('vera', port.port, ['health', '-o', 'json']);
  assert.equal(health.code, 0, health.stderr);
  assert.equal(JSON.parse(health.stdout).checks.shop.ok, false, 'the shop says its migrations are pending');

  const plan = await opsctl('alice', port.port, ['migrate', 'plan', '-o', 'json']);
  assert.equal(plan.code, 0, plan.stderr);
  assert.deepEqual(JSON.parse(plan.stdout).pending, ['0001', '0002', '0003']);
  const notConfirmed = await opsctl('alice', port.port, ['migrate', 'up', '--reason', 'deploy']);
  assert.equal(notConfirmed.code, 4, 'no TTY and no --yes: refused, nothing sent');
  const viewerUp = await opsctl('vera', port.port, ['migrate', 'up', '--yes', '--reason', 'deploy']);
  assert.equal(viewerUp.code, 3, viewerUp.stderr);
  const up = await opsctl('alice', port.port, ['migrate', 'up', '--yes', '--reason', 'first deploy']);
  assert.equal(up.code, 0, up.stderr);
  assert.match(up.stderr + up.stdout, /0003/);
  const after = await opsctl('vera', port.port, ['health', '-o', 'json']);
  assert.equal(JSON.parse(after.stdout).checks.shop.ok, true);

  for (const name of ['test-1', 'test-2', 'real']) {
    const r = await fetch(`http://127.0.0.1:${shop.port}/items`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, price_cents: 100 }) });
    assert.equal(r.status, 201);
  }
  const purge = await opsctl('alice', port.port, ['call', 'shop.purge', '--param', 'prefix=test-', '--yes', '--reason', 'clean test data', '--follow']);
  assert.equal(purge.code, 0, purge.stderr);
  assert.match(purge.stdout + purge.stderr, /purged 2 item\(s\)/);
  const items = await (await fetch(`http://127.0.0.1:${shop.port}/items`)).json() as { items: Array<{ name: string }> };
  assert.deepEqual(items.items.map((i) => i.name), ['real']);
  const dash = await opsctl('alice', port.port, ['call', 'shop.purge', '--param', 'prefix=--all', '--yes', '--reason', 'x']);
  assert.equal(dash.code, 2, `a refused param is a usage error: ${dash.stderr}`);
  assert.match(dash.stderr, /starts with "-"/);

  const audit = await opsctl('alice', port.port, ['audit', 'tail', '-n', '50', '-o', 'json']);
  assert.equal(audit.code, 0, audit.stderr);
  const records = JSON.parse(audit.stdout).records as Array<Record<string, any>>;
  const end = records.find((r) => r.endpoint === 'shop.purge' && r.outcome === 'ok' && r.jobId);
  assert.ok(end, 'the purge job\'s end is audited');
  assert.equal(end.result.exitCode, 0);
  assert.equal(end.params.prefix, 'test-');
  assert.equal(end.reason, 'clean test data');

  const down = await opsctl('alice', port.port, ['migrate', 'down', '--to', '0', '--yes', '--reason', 'tear down']);
  assert.equal(down.code, 0, down.stderr);
  assert.equal(JSON.parse((await opsctl('vera', port.port, ['migrate', 'status', '-o', 'json'])).stdout).applied.length, 0);
});

test('Caddy and HAProxy through the real CLI: confirmation, an approval by a second admin, exit codes', async (t) => {
  if (requireSshd(t) || requireTools(t, 'caddy', 'haproxy')) return;
  const world = w!;
  const c = await sidecarFor('caddy');
  const caddy: Upstream = await startCaddy(c.dir);
  world.stops.push(() => caddy.stop());
  const cport = await startOpsctlPort(path.join(c.dir, 'opsctl-port.yaml'));
  world.stops.push(() => cport.stop());
  const h = await sidecarFor('haproxy');
  const haproxy: Upstream = await startHaproxy(h.dir);
  world.stops.push(() => haproxy.stop());
  const hport = await startOpsctlPort(path.join(h.dir, 'opsctl-port.yaml'));
  world.stops.push(() => hport.stop());

  const endpoints = await opsctl('vera', cport.port, ['endpoints', '-o', 'json']);
  assert.equal(endpoints.code, 0, endpoints.stderr);
  const load = JSON.parse(endpoints.stdout).endpoints.find((e: { id: string }) => e.id === 'caddy.load');
  assert.deepEqual({ destructive: load.destructive, role: load.role, approval: load.approval }, { destructive: true, role: 'admin', approval: { count: 1, role: 'admin' } });
  const ups = await opsctl('vera', cport.port, ['call', 'caddy.upstreams', '-o', 'json']);
  assert.equal(ups.code, 0, ups.stderr);
  assert.equal(JSON.parse(ups.stdout).length, 2);

  const config = JSON.parse((await opsctl('vera', cport.port, ['call', 'caddy.config', '-o', 'json'])).stdout);
  config.apps.http.servers.srv0.routes[0].handle[0].routes[0].handle[0].upstreams = [{ dial: `127.0.0.1:${caddy.env.BACKEND1_PORT}` }];
  const held = await opsctl('alice', cport.port, ['call', 'caddy.load', '--body', JSON.stringify({ config }), '--yes', '--reason', 'one backend', '--no-wait', '-o', 'json']);
  assert.equal(held.code, 0, held.stderr);
  const approvalId = JSON.parse(held.stdout).approval.id as string;
  assert.equal(JSON.parse((await opsctl('vera', cport.port, ['call', 'caddy.upstreams', '-o', 'json'])).stdout).length, 2, 'held: nothing changed yet');
  const self = await opsctl('alice', cport.port, ['approvals', 'approve', approvalId, '--yes']);
  assert.equal(self.code, 3, 'the requester cannot approve their own request');
  const approved = await opsctl('bob', cport.port, ['approvals', 'approve', approvalId, '--yes', '--reason', 'reviewed']);
  assert.equal(approved.code, 0, approved.stderr);
  assert.equal(JSON.parse((await opsctl('vera', cport.port, ['call', 'caddy.upstreams', '-o', 'json'])).stdout).length, 1, 'Caddy runs the approved config');

  const args = ['--param', 'backend=app', '--param', 'server=web1'];
  const unconfirmed = await opsctl('alice', hport.port, ['call', 'lb.disable', ...args]);
  assert.equal(unconfirmed.code, 4, 'destructive, no TTY, no --yes: nothing sent');
  assert.notEqual((await haproxyServer(h.dir, 'app', 'web1')).status, 'MAINT');
  const byViewer = await opsctl('vera', hport.port, ['call', 'lb.disable', ...args, '--yes']);
  assert.equal(byViewer.code, 3);
  const disabled = await opsctl('alice', hport.port, ['call', 'lb.disable', ...args, '--yes']);
  assert.equal(disabled.code, 0, disabled.stderr);
  assert.equal((await haproxyServer(h.dir, 'app', 'web1')).status, 'MAINT');
  const wrong = await opsctl('alice', hport.port, ['call', 'lb.enable', '--param', 'backend=app', '--param', 'server=nope']);
  assert.equal(wrong.code, 1, 'HAProxy\'s "No such server." is a failed operation');
  assert.match(wrong.stderr, /No such server/);
  assert.equal((await opsctl('alice', hport.port, ['call', 'lb.enable', ...args])).code, 0);
  assert.notEqual((await haproxyServer(h.dir, 'app', 'web1')).status, 'MAINT');
  const stat = await opsctl('vera', hport.port, ['call', 'lb.stat', '-o', 'json']);
  assert.ok(JSON.parse(stat.stdout).rows.some((r: Record<string, string>) => r.svname === 'web2'));
});
