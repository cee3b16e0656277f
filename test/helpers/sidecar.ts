/**
 * opsctl-port for tests: the real bin (node bin/opsctl-port.js) on a config
 * written to a temp dir, and the real upstreams it fronts — Debian's Caddy
 * and HAProxy started from the shipped examples (examples/sidecar/), the
 * example Python shop with alembic. Under CI=true a missing system tool is
 * a failure, elsewhere the test is skipped.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { parseDocument } from 'yaml';
import { ensureBuilt, ROOT } from './build.js';
import { freePort } from './sshd.js';

export { ROOT };
export const OPSCTL_PORT_BIN = path.join(ROOT, 'bin/opsctl-port.js');
export const EXAMPLES = path.join(ROOT, 'examples/sidecar');
/** Debian's python3, which has python3-alembic (a pyenv python on PATH may not). */
export const PYTHON = '/usr/bin/python3';

const TOOLS: Record<string, { bin: string; pkg: string }> = {
  caddy: { bin: '/usr/bin/caddy', pkg: 'caddy' },
  haproxy: { bin: '/usr/sbin/haproxy', pkg: 'haproxy' },
  alembic: { bin: PYTHON, pkg: 'python3-alembic' },
  sqlite3: { bin: '/usr/bin/sqlite3', pkg: 'sqlite3' },
};

/** Skips the test when a tool is missing, except under CI=true (then it fails). True: return early. */
export function requireTools(t: TestContext, ...names: Array<keyof typeof TOOLS>): boolean {
  const missing = names.filter((n) => {
    const tool = TOOLS[n]!;
    if (!fs.existsSync(tool.bin)) return true;
    if (n === 'alembic') return spawnSync(PYTHON, ['-m', 'alembic', '--version'], { stdio: 'ignore' }).status !== 0;
    return false;
  });
  if (!missing.length) return false;
  const msg = `missing ${missing.map((n) => `${TOOLS[n]!.bin} (apt-get install ${TOOLS[n]!.pkg})`).join(', ')}`;
  if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(`CI: ${msg}`);
  t.skip(msg);
  return true;
}

export function tempDir(prefix = 'opsctl-port-test-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(d, 0o700);
  return d;
}

/** Copies an example directory (examples/sidecar/NAME) into `dir`. */
export function copyExample(name: string, dir: string): string {
  fs.cpSync(path.join(EXAMPLES, name), dir, { recursive: true });
  fs.mkdirSync(path.join(dir, 'run'), { recursive: true, mode: 0o700 });
  return dir;
}

/** Rewrites a YAML file in place (anchors and comments kept): `edit` gets the yaml Document. */
export function editYaml(file: string, edit: (doc: ReturnType<typeof parseDocument>) => void): void {
  const doc = parseDocument(fs.readFileSync(file, 'utf8'), { merge: true });
  edit(doc);
  fs.writeFileSync(file, doc.toString());
}

export interface RunningPort {
  pid: number;
  port: number;
  address: string;
  /** Everything it wrote to stderr so far. */
  log(): string;
  /** Waits until the log matches (after `from` characters), or throws after `ms`. */
  waitLog(re: RegExp, ms?: number, from?: number): Promise<RegExpExecArray>;
  hup(): void;
  /** SIGTERM, then SIGKILL after 10 s; resolves with the exit code. */
  stop(): Promise<number | null>;
}

function exited(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    child.once('exit', () => { clearTimeout(t); resolve(true); });
  });
}

async function waitFor(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs `opsctl-port ARGS` to the end (check, schema). */
export function runOpsctlPort(args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): { code: number | null; stdout: string; stderr: string } {
  ensureBuilt();
  const r = spawnSync(process.execPath, [OPSCTL_PORT_BIN, ...args], { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...opts.env }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts `opsctl-port --config FILE`; resolves once it listens (its "listening on" line). */
export async function startOpsctlPort(configFile: string, opts: { env?: Record<string, string> } = {}): Promise<RunningPort> {
  ensureBuilt();
  const child = spawn(process.execPath, [OPSCTL_PORT_BIN, '--config', configFile], { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { log += d; });
  const waitLog = async (re: RegExp, ms = 60_000, from = 0): Promise<RegExpExecArray> => {
    let m: RegExpExecArray | null = null;
    await waitFor(() => {
      m = re.exec(log.slice(from));
      if (!m && child.exitCode !== null) throw new Error(`opsctl-port exited ${child.exitCode} while waiting for ${re}:\n${log}`);
      return m !== null;
    }, ms, `${re} in the opsctl-port log:\n${log}`);
    return m!;
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      if (!(await exited(child, 10_000))) {
        child.kill('SIGKILL');
        await exited(child, 2000);
      }
    }
    return child.exitCode;
  };
  try {
    const m = await waitLog(/listening on (\S+)\n/);
    const address = m[1]!;
    return { pid: child.pid!, port: Number(address.split(':').pop()), address, log: () => log, waitLog, hup: () => child.kill('SIGHUP'), stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

export interface Upstream {
  /** Ports and paths it was started with. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

function daemon(cmd: string, args: string[], env: Record<string, string>, cwd: string, logFile: string): ChildProcess {
  const out = fs.openSync(logFile, 'a');
  const child = spawn(cmd, args, { cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  if (!(await exited(child, 5000))) {
    child.kill('SIGKILL');
    await exited(child, 2000);
  }
}

/** Waits until a unix socket accepts a connection. */
export async function waitForSocket(file: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(file, () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${file} does not accept connections`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Caddy from examples/sidecar/caddy/Caddyfile, its admin API on DIR/run/caddy-admin.sock. */
export async function startCaddy(dir: string): Promise<Upstream> {
  const env = { EXAMPLE_DIR: dir, CADDY_PORT: String(await freePort()), BACKEND1_PORT: String(await freePort()), BACKEND2_PORT: String(await freePort()), HOME: dir, XDG_DATA_HOME: path.join(dir, 'run'), XDG_CONFIG_HOME: path.join(dir, 'run') };
  const child = daemon('/usr/bin/caddy', ['run', '--config', path.join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], env, dir, path.join(dir, 'caddy.log'));
  try {
    await waitForSocket(path.join(dir, 'run/caddy-admin.sock'));
  } catch (e) {
    await stopChild(child);
    throw new Error(`${(e as Error).message}; caddy log:\n${fs.readFileSync(path.join(dir, 'caddy.log'), 'utf8')}`, { cause: e });
  }
  return { env, stop: () => stopChild(child) };
}

/** HAProxy from examples/sidecar/haproxy/haproxy.cfg, its runtime API on DIR/run/haproxy.sock. */
export async function startHaproxy(dir: string): Promise<Upstream> {
  const env = { EXAMPLE_DIR: dir, FRONTEND_PORT: String(await freePort()), BACKEND1_PORT: String(await freePort()), BACKEND2_PORT: String(await freePort()) };
  const child = daemon('/usr/sbin/haproxy', ['-f', path.join(dir, 'haproxy.cfg'), '-db'], env, dir, path.join(dir, 'haproxy.log'));
  try {
    await waitForSocket(path.join(dir, 'run/haproxy.sock'));
  } catch (e) {
    await stopChild(child);
    throw new Error(`${(e as Error).message}; haproxy log:\n${fs.readFileSync(path.join(dir, 'haproxy.log'), 'utf8')}`, { cause: e });
  }
  return { env, stop: () => stopChild(child) };
}

/** One command to a unix socket, the answer read to EOF (as HAProxy's runtime API wants). */
export function socketCommand(file: string, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const s = net.connect(file, () => s.end(`${line}\n`));
    s.setEncoding('utf8').on('data', (d: string) => { out += d; });
    s.once('end', () => resolve(out));
    s.once('error', reject);
  });
}

/** A server's status and weight in HAProxy's `show stat` (fields 18 and 19). */
export async function haproxyServer(dir: string, backend: string, server: string): Promise<{ status: string; weight: number }> {
  const csv = await socketCommand(path.join(dir, 'run/haproxy.sock'), 'show stat');
  const row = csv.split('\n').map((l) => l.split(',')).find((f) => f[0] === backend && f[1] === server);
  if (!row) throw new Error(`no ${backend}/${server} in show stat`);
  return { status: row[17]!, weight: Number(row[18]) };
}

/** The example shop (examples/sidecar/python-app/app.py) on a free port. */
export async function startShop(dir: string, opts: { ofrep?: string } = {}): Promise<Upstream & { port: number }> {
  const port = await freePort();
  const child = daemon(PYTHON, [path.join(dir, 'app.py'), '--port', String(port), '--db', path.join(dir, 'var/app.db'), ...(opts.ofrep ? ['--ofrep', opts.ofrep] : [])], {}, dir, path.join(dir, 'app.log'));
  await waitFor(() => fs.readFileSync(path.join(dir, 'app.log'), 'utf8').includes('listening on') || child.exitCode !== null, 30_000, 'the shop to listen');
  if (child.exitCode !== null) throw new Error(`the shop exited: ${fs.readFileSync(path.join(dir, 'app.log'), 'utf8')}`);
  return { port, env: { PORT: String(port) }, stop: () => stopChild(child) };
}

/** The audit log as records. */
export function auditRecords(file: string): Array<Record<string, any>> {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>);
}

/** Polls until `check` passes or `ms` runs out (then throws with `what`). */
export async function eventually(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
