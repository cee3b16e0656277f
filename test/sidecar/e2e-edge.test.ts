/**
 * Caddy's admin API and HAProxy's runtime API behind opsctl-port (the
 * shipped examples), as an operator meets them: the real CLI through two
 * real OpenSSH sshd; confirmation, an approval by a second admin, roles and
 * exit codes, and the upstreams' state read back from them.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { requireSshd } from '../helpers/sshd.js';
import { haproxyServer, requireTools, startCaddy, startHaproxy, startOpsctlPort, type Upstream } from '../helpers/sidecar.js';
import { startSidecarRoute, type SidecarRoute } from '../helpers/sidecar-route.js';

let r: SidecarRoute;
before(async () => { r = await startSidecarRoute('opsctl-sidecar-edge-'); });
after(() => r?.stop());

test('Caddy and HAProxy through the real CLI: confirmation, an approval by a second admin, exit codes', async (t) => {
  if (requireSshd(t) || requireTools(t, 'caddy', 'haproxy')) return;
  const c = { dir: r.example('caddy') };
  const caddy: Upstream = await startCaddy(c.dir);
  r.onStop(() => caddy.stop());
  const cport = await startOpsctlPort(path.join(c.dir, 'opsctl-port.yaml'));
  r.onStop(() => cport.stop());
  const h = { dir: r.example('haproxy') };
  const haproxy: Upstream = await startHaproxy(h.dir);
  r.onStop(() => haproxy.stop());
  const hport = await startOpsctlPort(path.join(h.dir, 'opsctl-port.yaml'));
  r.onStop(() => hport.stop());

  const endpoints = await r.opsctl('vera', cport.port, ['endpoints', '-o', 'json']);
  assert.equal(endpoints.code, 0, endpoints.stderr);
  const load = JSON.parse(endpoints.stdout).endpoints.find((e: { id: string }) => e.id === 'caddy.load');
  assert.deepEqual({ destructive: load.destructive, role: load.role, approval: load.approval }, { destructive: true, role: 'admin', approval: { count: 1, role: 'admin' } });
  const ups = await r.opsctl('vera', cport.port, ['call', 'caddy.upstreams', '-o', 'json']);
  assert.equal(ups.code, 0, ups.stderr);
  assert.equal(JSON.parse(ups.stdout).length, 2);

  const config = JSON.parse((await r.opsctl('vera', cport.port, ['call', 'caddy.config', '-o', 'json'])).stdout);
  config.apps.http.servers.srv0.routes[0].handle[0].routes[0].handle[0].upstreams = [{ dial: `127.0.0.1:${caddy.env.BACKEND1_PORT}` }];
  const held = await r.opsctl('alice', cport.port, ['call', 'caddy.load', '--body', JSON.stringify({ config }), '--yes', '--reason', 'one backend', '--no-wait', '-o', 'json']);
  assert.equal(held.code, 0, held.stderr);
  const approvalId = JSON.parse(held.stdout).approval.id as string;
  assert.equal(JSON.parse((await r.opsctl('vera', cport.port, ['call', 'caddy.upstreams', '-o', 'json'])).stdout).length, 2, 'held: nothing changed yet');
  const self = await r.opsctl('alice', cport.port, ['approvals', 'approve', approvalId, '--yes']);
  assert.equal(self.code, 3, 'the requester cannot approve their own request');
  const approved = await r.opsctl('bob', cport.port, ['approvals', 'approve', approvalId, '--yes', '--reason', 'reviewed']);
  assert.equal(approved.code, 0, approved.stderr);
  assert.equal(JSON.parse((await r.opsctl('vera', cport.port, ['call', 'caddy.upstreams', '-o', 'json'])).stdout).length, 1, 'Caddy runs the approved config');

  const args = ['--param', 'backend=app', '--param', 'server=web1'];
  const unconfirmed = await r.opsctl('alice', hport.port, ['call', 'lb.disable', ...args]);
  assert.equal(unconfirmed.code, 4, 'destructive, no TTY, no --yes: nothing sent');
  assert.notEqual((await haproxyServer(h.dir, 'app', 'web1')).status, 'MAINT');
  const byViewer = await r.opsctl('vera', hport.port, ['call', 'lb.disable', ...args, '--yes']);
  assert.equal(byViewer.code, 3);
  const disabled = await r.opsctl('alice', hport.port, ['call', 'lb.disable', ...args, '--yes']);
  assert.equal(disabled.code, 0, disabled.stderr);
  assert.equal((await haproxyServer(h.dir, 'app', 'web1')).status, 'MAINT');
  const wrong = await r.opsctl('alice', hport.port, ['call', 'lb.enable', '--param', 'backend=app', '--param', 'server=nope']);
  assert.equal(wrong.code, 1, 'HAProxy\'s "No such server." is a failed operation');
  assert.match(wrong.stderr, /No such server/);
  assert.equal((await r.opsctl('alice', hport.port, ['call', 'lb.enable', ...args])).code, 0);
  assert.notEqual((await haproxyServer(h.dir, 'app', 'web1')).status, 'MAINT');
  const stat = await r.opsctl('vera', hport.port, ['call', 'lb.stat', '-o', 'json']);
  assert.ok(JSON.parse(stat.stdout).rows.some((r: Record<string, string>) => r.svname === 'web2'));
});
