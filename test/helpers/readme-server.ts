/**
 * README "Put the internal port into your service", run as written: the
 * program (already compiled to JavaScript by the caller, in a project where
 * `opsctl` and `umzug` resolve) starts with its settings in the environment
 * variables it reads, behind a real OpenSSH sshd, and a real `opsctl`
 * (the repository's, or the one installed from the packed tarball) uses it:
 * health, the migration, the task, a flag, the audit log. SIGTERM closes it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';
import { freePort, startSshd, TEST_USER } from './sshd.js';
import { generateKeyPair } from './keys.js';

export interface ReadmeServerRun {
  /** The compiled program. */
  program: string;
  /** Where it runs (its package resolution starts there). */
  cwd: string;
  /** How to run opsctl: argv before the arguments (e.g. [node, bin/opsctl.js] or [node_modules/.bin/opsctl]). */
  opsctl: string[];
  /** A private scratch directory (data, keys, the CLI's HOME). */
  dir: string;
}

function run(argv: string[], env: Record<string, string>, cwd: string, timeoutMs = 90_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${argv.join(' ')} did not finish; stderr: ${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Starts the program, drives it with opsctl through sshd, stops it; asserts along the way. */
export async function exerciseReadmeServer(r: ReadmeServerRun): Promise<void> {
  const data = path.join(r.dir, 'orders-data');
  const home = path.join(r.dir, 'home');
  fs.mkdirSync(home, { recursive: true, mode: 0o700 });
  const key = generateKeyPair('alice', { dir: r.dir });
  const operators = path.join(r.dir, 'operators');
  fs.writeFileSync(operators, key.authorizedKeysLine('admin') + '\n', { mode: 0o600 });
  const internal = await freePort();
  const sshd = await startSshd({ authorizedKeys: [key.publicLine] });
  let service: ChildProcess | undefined;
  try {
    const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', ORDERS_DATA_DIR: data, ORDERS_OPERATORS: operators, ORDERS_INTERNAL_PORT: String(internal) };
    if (process.env.NODE_EXTRA_CA_CERTS) env.NODE_EXTRA_CA_CERTS = process.env.NODE_EXTRA_CA_CERTS;
    const svc = spawn(process.execPath, [r.program], { cwd: r.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    service = svc;
    let out = '';
    let err = '';
    svc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    svc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    const exited = new Promise<number | null>((resolve) => svc.once('exit', (code) => resolve(code)));
    const deadline = Date.now() + 60_000;
    while (!/internal port on 127\.0\.0\.1:\d+/.test(out)) {
      if (svc.exitCode !== null) assert.fail(`the README program exited ${svc.exitCode}:\n${out}\n${err}`);
      if (Date.now() > deadline) assert.fail(`the README program never said where it listens:\n${out}\n${err}`);
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.equal(fs.statSync(path.join(data, 'audit.log')).mode & 0o777, 0o600, 'the audit log is 0600');

    const knownHosts = path.join(r.dir, 'known_hosts');
    fs.writeFileSync(knownHosts, sshd.knownHostsLine + '\n', { mode: 0o600 });
    const cliEnv: Record<string, string> = { PATH: env.PATH!, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), XDG_CACHE_HOME: path.join(home, '.cache'), XDG_STATE_HOME: path.join(home, '.state'), NO_COLOR: '1' };
    if (process.env.NODE_EXTRA_CA_CERTS) cliEnv.NODE_EXTRA_CA_CERTS = process.env.NODE_EXTRA_CA_CERTS;
    const conn = ['--host', `${TEST_USER}@127.0.0.1:${sshd.port}`, '--port', String(internal), '--identity', key.privatePath, '--known-hosts', knownHosts];
    const opsctl = async (args: string[]) => {
      const res = await run([...r.opsctl, ...conn, ...args], cliEnv, r.cwd);
      assert.equal(res.code, 0, `opsctl ${args.join(' ')}: exit ${res.code}\n${res.stdout}\n${res.stderr}`);
      return res.stdout;
    };
    const health = JSON.parse(await opsctl(['health', '-o', 'json'])) as { service: string; version: string; status: string };
    assert.deepEqual([health.service, health.version], ['orders', '1.4.2']);
    assert.equal(health.status, 'degraded', 'a pending migration makes the service degraded');
    const up = JSON.parse(await opsctl(['migrate', 'up', '--yes', '--reason', 'first deploy', '-o', 'json'])) as { state: string; plan: string[] };
    assert.deepEqual([up.state, up.plan], ['succeeded', ['0001-create-orders']]);
    const events = (await opsctl(['tasks', 'run', 'reindex', '--follow', '-o', 'json'])).trim().split('\n').map((l) => JSON.parse(l) as { type: string; state?: string });
    assert.ok(events.some((e) => e.type === 'progress'), 'progress reported');
    assert.equal(events.at(-1)!.state, 'succeeded');
    await opsctl(['flags', 'enable', 'maintenance_mode', '--reason', 'test']);
    assert.equal((JSON.parse(await opsctl(['flags', 'get', 'maintenance_mode', '-o', 'json'])) as { value: unknown }).value, true);
    assert.equal((JSON.parse(await opsctl(['audit', 'verify', '-o', 'json'])) as { ok: boolean }).ok, true);

    svc.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<'hung'>((res) => setTimeout(() => res('hung'), 15_000))]);
    assert.equal(code, 0, `SIGTERM: port.close() and a clean exit (${String(code)}):\n${err}`);
  } finally {
    if (service && service.exitCode === null && service.signalCode === null) service.kill('SIGKILL');
    await sshd.stop();
    key.cleanup();
  }
}
