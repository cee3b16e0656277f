/**
 * opsctl as a runbook calls it: no TTY, the built `bin/opsctl.js`, through
 * real OpenSSH sshd bastions and a real sshd on the service host, against the
 * real demo service, black box: what README "Runbooks" promises.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { startStack, runCli, type Stack } from '../helpers/stack.js';
import { startSshd, freePort, TEST_USER, type Sshd } from '../helpers/sshd.js';
import { generateKeyPair } from '../helpers/keys.js';
import { startSshAgent, sshAgentMissing } from '../helpers/ssh-agent.js';

let stack: Stack | undefined;
const cleanups: Array<() => Promise<unknown> | unknown> = [];

before(async (t) => {
  stack = await startStack(t as never);
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
  await stack?.stop();
});

const auditLines = (s: Stack) => fs.readFileSync(s.service.auditLog, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>);

/** Connection flags with one field replaced (e.g. another --known-hosts). */
function flags(s: Stack, overrides: Record<string, string>): string[] {
  const out = [...s.connection];
  for (const [k, v] of Object.entries(overrides)) {
    const i = out.indexOf(k);
    if (i >= 0) out[i + 1] = v;
    else out.push(k, v);
  }
  return out;
}

test('health and endpoints, one JSON document each on stdout', async (t) => {
  if (!stack) return t.skip('no sshd');
  const h = await stack.cli([...stack.connection, '-o', 'json', 'health']);
  assert.equal(h.code, 0, h.stderr);
  const health = JSON.parse(h.stdout);
  assert.equal(health.protocol, 1);
  assert.ok(health.service);
  const e = await stack.cli([...stack.connection, '-o', 'json', 'endpoints']);
  assert.equal(e.code, 0, e.stderr);
  const ids = (JSON.parse(e.stdout).endpoints as Array<{ id: string }>).map((x) => x.id);
  for (const id of ['health', 'catalog', 'migrations.up', 'flags.set', 'tasks.run', 'jobs.events', 'audit.verify']) assert.ok(ids.includes(id), id);
});

test('migrate: without --yes exit 4 and nothing reaches the server; with --yes applied', async (t) => {
  if (!stack) return t.skip('no sshd');
  const before = auditLines(stack).length;
  const refused = await stack.cli([...stack.connection, 'migrate', 'up']);
  assert.equal(refused.code, 4, refused.stderr);
  assert.equal(refused.stdout, '');
  assert.equal(auditLines(stack).length, before, 'no request of that run reached the service');

  const status = await stack.cli([...stack.connection, '-o', 'json', 'migrate', 'status']);
  assert.equal(status.code, 0, status.stderr);
  assert.ok(JSON.parse(status.stdout).pending.length >= 3);

  const up = await stack.cli([...stack.connection, '-o', 'json', '--yes', '--reason', 'e2e deploy', 'migrate', 'up']);
  assert.equal(up.code, 0, up.stderr);
  const after = await stack.cli([...stack.connection, '-o', 'json', 'migrate', 'status']);
  assert.deepEqual(JSON.parse(after.stdout).pending, []);
  const accepted = auditLines(stack).find((r) => r.endpoint === 'migrations.up' && r.outcome === 'accepted');
  assert.ok(accepted, 'the admin\'s migration is in the audit log');
  assert.equal(accepted.reason, 'e2e deploy');
  assert.match(accepted.params.expectedPlan, /^[0-9a-f]{64}$/);
});

test('flags set then get', async (t) => {
  if (!stack) return t.skip('no sshd');
  const set = await stack.cli([...stack.connection, 'flags', 'set', 'discount_percent', '15']);
  assert.equal(set.code, 0, set.stderr);
  const get = await stack.cli([...stack.connection, '-o', 'json', 'flags', 'get', 'discount_percent']);
  assert.equal(get.code, 0, get.stderr);
  const flag = JSON.parse(get.stdout);
  assert.equal(flag.value, 15);
  assert.equal(flag.updatedBy, 'e2e-operator');
  const bad = await stack.cli([...stack.connection, 'flags', 'set', 'discount_percent', '150']);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /0-100/);
});

test('a task with --follow streams progress to the end', async (t) => {
  if (!stack) return t.skip('no sshd');
  const r = await stack.cli([...stack.connection, '-o', 'json', 'tasks', 'run', 'recompute-totals', '--follow']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(lines.some((l) => l.type === 'progress'), 'progress events');
  assert.equal(lines.at(-1).type, 'end');
  assert.equal(lines.at(-1).state, 'succeeded');
});

test('audit tail shows the records; audit verify is ok', async (t) => {
  if (!stack) return t.skip('no sshd');
  const tail = await stack.cli([...stack.connection, '-o', 'json', 'audit', 'tail', '-n', '5']);
  assert.equal(tail.code, 0, tail.stderr);
  const records = JSON.parse(tail.stdout).records;
  assert.equal(records.length, 5);
  const verify = await stack.cli([...stack.connection, '-o', 'json', 'audit', 'verify']);
  assert.equal(verify.code, 0, verify.stderr);
  assert.equal(JSON.parse(verify.stdout).ok, true);
});

test('unknown command: exit 2', async (t) => {
  if (!stack) return t.skip('no sshd');
  const r = await stack.cli(['migrat', 'up']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown command/);
});

test('a chain of two bastions with a hashed known_hosts file', async (t) => {
  if (!stack) return t.skip('no sshd');
  const second: Sshd = await startSshd({ authorizedKeys: [stack.key.publicLine] });
  cleanups.push(() => second.stop());
  const kh = path.join(stack.dir, 'known_hosts_hashed');
  fs.writeFileSync(kh, [stack.bastion.knownHostsLine, second.knownHostsLine, stack.host.knownHostsLine, ''].join('\n'), { mode: 0o600 });
  const hashed = spawnSync('ssh-keygen', ['-H', '-f', kh], { encoding: 'utf8' });
  assert.equal(hashed.status, 0, hashed.stderr);
  assert.doesNotMatch(fs.readFileSync(kh, 'utf8'), /127\.0\.0\.1/, 'every entry is hashed');
  const chain = `${TEST_USER}@127.0.0.1:${stack.bastion.port},${TEST_USER}@127.0.0.1:${second.port}`;
  const r = await stack.cli([...flags(stack, { '--bastion': chain, '--known-hosts': kh }), '-o', 'json', 'health']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).protocol, 1);
});

test('a changed host key: exit 5, says "host key" loudly', async (t) => {
  if (!stack) return t.skip('no sshd');
  const other = generateKeyPair('impostor-host');
  cleanups.push(() => other.cleanup());
  const kh = path.join(stack.dir, 'known_hosts_changed');
  const forged = `[127.0.0.1]:${stack.host.port} ${other.publicLine.split(' ').slice(0, 2).join(' ')}`;
  fs.writeFileSync(kh, `${stack.bastion.knownHostsLine}\n${forged}\n`, { mode: 0o600 });
  const before = auditLines(stack).length;
  const r = await stack.cli([...flags(stack, { '--known-hosts': kh }), 'health']);
  assert.equal(r.code, 5, r.stderr);
  assert.match(r.stderr, /host key/i);
  assert.equal(auditLines(stack).length, before);
});

test('an unknown host without a TTY: exit 5, refused', async (t) => {
  if (!stack) return t.skip('no sshd');
  const kh = path.join(stack.dir, 'known_hosts_partial');
  fs.writeFileSync(kh, `${stack.bastion.knownHostsLine}\n`, { mode: 0o600 });
  const r = await stack.cli([...flags(stack, { '--known-hosts': kh }), 'health']);
  assert.equal(r.code, 5, r.stderr);
  assert.match(r.stderr, /unknown host key/i);
  assert.equal(fs.readFileSync(kh, 'utf8'), `${stack.bastion.knownHostsLine}\n`, 'nothing recorded without a TTY');
});

test('a key the SSH hops accept but the service does not: exit 3', async (t) => {
  if (!stack) return t.skip('no sshd');
  const stranger = generateKeyPair('stranger', { dir: stack.dir });
  for (const d of [stack.bastion.dir, stack.host.dir]) fs.appendFileSync(path.join(d, 'authorized_keys'), stranger.publicLine + '\n');
  const r = await stack.cli([...flags(stack, { '--identity': stranger.privatePath }), 'health']);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /auth\.unknown_key/);
  const denied = auditLines(stack).filter((x) => x.outcome === 'denied' && x.claimedKeyid === stranger.keyid);
  assert.ok(denied.length >= 1, 'the denied key is in the audit log');
});

test('a dead bastion fails within --timeout with exit 5, naming the hop', async (t) => {
  if (!stack) return t.skip('no sshd');
  const closed = await freePort();
  let started = Date.now();
  const dead = await stack.cli([...flags(stack, { '--bastion': `${TEST_USER}@127.0.0.1:${closed}` }), '--timeout', '3', 'health']);
  assert.equal(dead.code, 5, dead.stderr);
  assert.match(dead.stderr, new RegExp(`127\\.0\\.0\\.1:${closed}`));
  assert.ok(Date.now() - started < 8000);

  // A bastion that accepts TCP and never speaks SSH: the timeout must still hold.
  const sockets: net.Socket[] = [];
  const silent = net.createServer((s) => sockets.push(s));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  cleanups.push(() => { sockets.forEach((s) => s.destroy()); silent.close(); });
  const port = (silent.address() as net.AddressInfo).port;
  started = Date.now();
  const hung = await stack.cli([...flags(stack, { '--bastion': `${TEST_USER}@127.0.0.1:${port}` }), '--timeout', '2', 'health']);
  const elapsed = Date.now() - started;
  assert.equal(hung.code, 5, hung.stderr);
  assert.match(hung.stderr, /bastion/);
  assert.ok(elapsed < 2000 + 4000, `gave up after ${elapsed} ms`);
});

test('--identity agent with a real ssh-agent', async (t) => {
  if (!stack) return t.skip('no sshd');
  const missing = sshAgentMissing();
  if (missing) {
    if (process.env.CI) throw new Error(missing);
    return t.skip(missing);
  }
  const agent = await startSshAgent();
  cleanups.push(() => agent.stop());
  agent.add(fs.readFileSync(stack.key.privatePath, 'utf8'));
  const r = await runCli([...flags(stack, { '--identity': 'agent' }), '-o', 'json', 'health'], { ...stack.env, SSH_AUTH_SOCK: agent.socket });
  assert.equal(r.code, 0, r.stderr);
  const last = auditLines(stack).filter((x) => x.endpoint === 'health').at(-1)!;
  assert.equal(last.keyid, stack.key.keyid, 'the agent signed the HTTP request with the operator key');
});

test('keys import, then --identity keychain:NAME against a real Secret Service', async (t) => {
  if (!stack) return t.skip('no sshd');
  if (!process.env.OPSCTL_TEST_KEYRING) {
    if (process.env.CI) throw new Error('CI: no gnome-keyring session (scripts/test.mjs starts one)');
    return t.skip('no keyring session');
  }
  const env = { ...stack.env, DBUS_SESSION_BUS_ADDRESS: process.env.DBUS_SESSION_BUS_ADDRESS ?? '' };
  const name = `e2e-${process.pid}`;
  const imp = await runCli(['keys', 'import', name, stack.key.privatePath], env);
  assert.equal(imp.code, 0, imp.stderr);
  assert.doesNotMatch(imp.stdout + imp.stderr, /PRIVATE KEY/);
  try {
    // TAB offers the imported key without opening the keychain.
    const tab = await runCli(['__complete', 'bash', '--', 'opsctl', 'keys', 'show', ''], { ...stack.env });
    assert.ok(tab.stdout.split('\n').includes(name), `keys show <TAB> offers ${name}: ${tab.stdout}`);
    const r = await runCli([...flags(stack, { '--identity': `keychain:${name}` }), '-o', 'json', 'health'], env);
    assert.equal(r.code, 0, r.stderr);
    const pub = await runCli(['keys', 'public', name], env);
    assert.equal(pub.stdout.trim().split(' ').slice(0, 2).join(' '), stack.key.publicLine.split(' ').slice(0, 2).join(' '));
  } finally {
    const rm = await runCli(['--yes', 'keys', 'remove', name], env);
    assert.equal(rm.code, 0, rm.stderr);
  }
  const gone = await runCli([...flags(stack, { '--identity': `keychain:${name}` }), 'health'], env);
  assert.notEqual(gone.code, 0);
  assert.match(gone.stderr, new RegExp(`no key named "${name}"`));
});
