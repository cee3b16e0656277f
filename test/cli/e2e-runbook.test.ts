/**
 * The commands as a runbook calls them: the real `opsctl` process (the built
 * bundle through bin/opsctl.js when it is current, else the sources), no
 * TTY, through a real OpenSSH bastion and a real sshd on the service host,
 * against the real demo service. Everything is on loopback and torn down.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sshdMissing, startSshd, TEST_USER, type Sshd } from '../helpers/sshd.js';
import { startDemoService, type DemoService } from '../helpers/demo-service.js';
import { generateKeyPair, type TestKey } from '../helpers/keys.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ci = process.env.CI === 'true' || process.env.CI === '1';
const missing = sshdMissing();
if (missing && ci) throw new Error(`CI: ${missing}`);
const skip = missing ?? false;

let dir: string;
let ops: TestKey;
let outsider: TestKey;
let bastion: Sshd;
let host: Sshd;
let demo: DemoService;
let env: Record<string, string>;

function newestMtime(d: string): number {
  let newest = 0;
  for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    const p = path.join(d, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

/** The shipped entry when the bundle is current; the sources otherwise (a direct test run after an edit). */
function cliCommand(): string[] {
  const bundle = path.join(root, 'dist/cli/main.js');
  const fresh = fs.existsSync(bundle) && fs.statSync(bundle).mtimeMs >= Math.max(newestMtime(path.join(root, 'src/cli')), newestMtime(path.join(root, 'src/protocol')));
  if (fresh) return [path.join(root, 'bin/opsctl.js')];
  return ['--import', 'tsx', '-e', "import('./src/cli/main.ts').then((m) => m.main(process.argv.slice(1))).then((c) => { process.exitCode = c; })", '--'];
}

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function opsctl(args: string[], opts: { key?: TestKey } = {}): Promise<Result> {
  const key = opts.key ?? ops;
  const target = [
    '--bastion', `${TEST_USER}@127.0.0.1:${bastion.port}`,
    '--host', `${TEST_USER}@127.0.0.1:${host.port}`,
    '--port', String(demo.internal.port),
    '--identity', key.privatePath,
    '--known-hosts', path.join(dir, 'known_hosts'),
  ];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...cliCommand(), ...target, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function auditLines(): Array<Record<string, any>> {
  return fs.readFileSync(demo.auditLog, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

before(async () => {
  if (skip) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opsctl-e2e-'));
  ops = generateKeyPair('ops-admin', { dir });
  outsider = generateKeyPair('outsider', { dir });
  // Both keys get through SSH; only ops is in the service's allowlist.
  bastion = await startSshd({ authorizedKeys: [ops.publicLine, outsider.publicLine] });
  host = await startSshd({ authorizedKeys: [ops.publicLine, outsider.publicLine] });
  fs.writeFileSync(path.join(dir, 'known_hosts'), `${bastion.knownHostsLine}\n${host.knownHostsLine}\n`);
  demo = await startDemoService({ authorizedKeys: `${ops.authorizedKeysLine('admin')}\n` });
  env = {
    PATH: process.env.PATH ?? '',
    HOME: dir,
    XDG_CONFIG_HOME: path.join(dir, 'config'),
    XDG_CACHE_HOME: path.join(dir, 'cache'),
    XDG_RUNTIME_DIR: path.join(dir, 'run'),
    ...(process.env.NODE_EXTRA_CA_CERTS ? { NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS } : {}),
  };
  fs.mkdirSync(env.XDG_RUNTIME_DIR!, { mode: 0o700 });
});

after(async () => {
  await demo?.stop();
  await bastion?.stop();
  await host?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('a runbook through a bastion: health, endpoints, migrate, flags, a task, audit', { skip }, async () => {
  const health = await opsctl(['-o', 'json', 'health']);
  assert.equal(health.code, 0, health.stderr);
  assert.equal(JSON.parse(health.stdout).protocol, 1);

  const endpoints = await opsctl(['endpoints']);
  assert.equal(endpoints.code, 0, endpoints.stderr);
  assert.match(endpoints.stdout, /^migrations\.up\tPOST \/v1\/migrations\/up\tadmin\tyes\tyes\t/m);

  const status = await opsctl(['-o', 'json', 'migrate', 'status']);
  assert.equal(status.code, 0, status.stderr);
  const pending = JSON.parse(status.stdout).pending.map((m: { name: string }) => m.name);
  assert.ok(pending.length >= 3);

  // No TTY, no --yes: exit 4 and nothing reaches the server.
  const before = auditLines().length;
  const refused = await opsctl(['migrate', 'up']);
  assert.equal(refused.code, 4, refused.stderr);
  assert.equal(refused.stdout, '');
  assert.equal(auditLines().length, before, 'not one request reached the internal port');

  const up = await opsctl(['--yes', '--reason', 'e2e release', '-o', 'json', 'migrate', 'up']);
  assert.equal(up.code, 0, up.stderr);
  const doc = JSON.parse(up.stdout);
  assert.equal(doc.state, 'succeeded');
  assert.deepEqual(doc.plan, pending);
  assert.ok(auditLines().some((r) => r.endpoint === 'migrations.up' && r.outcome === 'accepted' && r.reason === 'e2e release' && r.params.expectedPlan === doc.planHash));

  const set = await opsctl(['flags', 'set', 'discount_percent', '10']);
  assert.equal(set.code, 0, set.stderr);
  assert.match(set.stdout, /discount_percent: \d+ → 10/);
  const get = await opsctl(['-o', 'json', 'flags', 'get', 'discount_percent']);
  assert.equal(get.code, 0, get.stderr);
  assert.equal(JSON.parse(get.stdout).value, 10);

  const task = await opsctl(['tasks', 'run', 'recompute-totals', '--param', 'pauseMs=5', '--follow']);
  assert.equal(task.code, 0, task.stderr);
  assert.match(task.stderr, /job \S+ succeeded/);
  assert.match(task.stdout, /done: \d+ orders checked/);

  const tail = await opsctl(['-o', 'json', 'audit', 'tail', '-n', '50']);
  assert.equal(tail.code, 0, tail.stderr);
  const endpointsSeen = JSON.parse(tail.stdout).records.map((r: { endpoint: string }) => r.endpoint);
  for (const id of ['migrations.up', 'flags.set', 'tasks.run']) assert.ok(endpointsSeen.includes(id), id);
  const verify = await opsctl(['audit', 'verify']);
  assert.equal(verify.code, 0, verify.stderr);
});

test('exit codes through real SSH: 3 for a key SSH accepts but the service does not, 2 for an unknown command', { skip }, async () => {
  const denied = await opsctl(['health'], { key: outsider });
  assert.equal(denied.code, 3, denied.stderr);
  assert.match(denied.stderr, /auth\.unknown_key/);
  const unknown = await opsctl(['migrat']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command 'migrat'/);
  const r = spawnSync(process.execPath, [...cliCommand(), '--version'], { cwd: root, env, encoding: 'utf8' });
  assert.equal(r.status, 0);
});
