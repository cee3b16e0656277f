/**
 * A whole route for end-to-end tests of the built CLI: an operator key
 * (ssh-keygen), a real OpenSSH sshd as bastion and another as service host,
 * the demo service with its internal port on loopback, a private HOME with
 * its own config/cache dirs, and `node bin/opsctl.js` to drive it all.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { startSshd, requireSshd, TEST_USER, type Sshd } from './sshd.js';
import { startDemoService, type DemoService } from './demo-service.js';
import { ensureBuilt, ROOT } from './build.js';
import { generateKeyPair, type TestKey } from './keys.js';
import type { Role } from '../../src/protocol/index.js';

export { ROOT, ensureBuilt };
export const CLI = path.join(ROOT, 'bin/opsctl.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A private HOME with XDG dirs inside, and the environment a CLI run gets. */
export function privateHome(prefix = 'opsctl-e2e-'): { dir: string; env: Record<string, string> } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o700);
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    XDG_CONFIG_HOME: path.join(dir, 'config'),
    XDG_CACHE_HOME: path.join(dir, 'cache'),
    XDG_RUNTIME_DIR: path.join(dir, 'run'),
    NO_COLOR: '1',
  };
  fs.mkdirSync(env.XDG_RUNTIME_DIR!, { mode: 0o700 });
  if (process.env.NODE_EXTRA_CA_CERTS) env.NODE_EXTRA_CA_CERTS = process.env.NODE_EXTRA_CA_CERTS;
  return { dir, env };
}

/** Runs the built CLI and collects its output. */
export function runCli(args: string[], env: Record<string, string>, opts: { timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`opsctl ${args.join(' ')} did not finish in time; stderr: ${stderr}`));
    }, opts.timeoutMs ?? 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface Stack {
  dir: string;
  env: Record<string, string>;
  key: TestKey;
  bastion: Sshd;
  host: Sshd;
  service: DemoService;
  knownHosts: string;
  /** The connection as global flags (for runs without a context). */
  connection: string[];
  /** The connection as `context add` flags. */
  contextFlags: string[];
  /** Writes a config file with one context (and makes it current). */
  writeContext(name: string): void;
  cli(args: string[]): Promise<CliResult>;
  stop(): Promise<void>;
}

/** Starts the whole route; returns undefined (test skipped) when sshd is missing outside CI. */
export async function startStack(t: TestContext, opts: { role?: Role; demoArgs?: string[] } = {}): Promise<Stack | undefined> {
  if (requireSshd(t)) return undefined;
  ensureBuilt();
  const { dir, env } = privateHome();
  const key = generateKeyPair('e2e-operator', { dir });
  const started: Array<{ stop(): Promise<unknown> }> = [];
  try {
    const host = await startSshd({ authorizedKeys: [key.publicLine] });
    started.push(host);
    const bastion = await startSshd({ authorizedKeys: [key.publicLine] });
    started.push(bastion);
    const service = await startDemoService({ authorizedKeys: key.authorizedKeysLine(opts.role ?? 'admin') + '\n', ...(opts.demoArgs ? { extraArgs: opts.demoArgs } : {}) });
    started.push(service);
    const knownHosts = path.join(dir, 'known_hosts');
    fs.writeFileSync(knownHosts, `${bastion.knownHostsLine}\n${host.knownHostsLine}\n`, { mode: 0o600 });
    const contextFlags = [
      '--bastion', `${TEST_USER}@127.0.0.1:${bastion.port}`,
      '--host', `${TEST_USER}@127.0.0.1:${host.port}`,
      '--port', String(service.internal.port),
      '--identity', key.privatePath,
      '--known-hosts', knownHosts,
    ];
    const stack: Stack = {
      dir,
      env,
      key,
      bastion,
      host,
      service,
      knownHosts,
      connection: contextFlags,
      contextFlags,
      writeContext(name) {
        const file = path.join(env.XDG_CONFIG_HOME!, 'opsctl', 'config.yaml');
        fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
        const yaml = [
          `current-context: ${name}`,
          'contexts:',
          `  ${name}:`,
          '    bastion:',
          `      - ${TEST_USER}@127.0.0.1:${bastion.port}`,
          '    host:',
          `      - ${TEST_USER}@127.0.0.1:${host.port}`,
          `    port: ${service.internal.port}`,
          `    identity: ${key.privatePath}`,
          `    known-hosts: ${knownHosts}`,
          '',
        ].join('\n');
        fs.writeFileSync(file, yaml, { mode: 0o600 });
      },
      cli: (args) => runCli(args, env),
      async stop() {
        for (const s of started.reverse()) await s.stop().catch(() => undefined);
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
    return stack;
  } catch (e) {
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
