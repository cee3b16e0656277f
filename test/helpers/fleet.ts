/**
 * Test harness: a fleet of real service hosts. Each host is its own network
 * namespace with its own loopback (so every replica's internal port is the
 * same 127.0.0.1:9900, as in production), its own OpenSSH sshd on the host's
 * address and a demo-service replica; a veth pair links each namespace to
 * the bastion, a real sshd in the test's namespace. With `isolated`, nothing
 * is linked to the test's namespace (whose default route may lead anywhere):
 * the CLI runs in an operator namespace linked only to the bastion's, and the
 * hosts are linked only to the bastion's, which does not route, so the
 * operator's side reaches the bastion's sshd and nothing behind it, as
 * docs/deploy.md describes a production network.
 * Optionally one real PostgreSQL shared by every replica (its unix socket is
 * a file, reachable from every namespace). Namespaces and veth names start with "fl" and a
 * random suffix; stop() removes them and kills every process by PID, and
 * an exit hook removes them even when a test crashes.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { ensureBuilt, ROOT } from './build.js';
import { generateKeyPair, type TestKey } from './keys.js';
import { requireSshd, startSshd, SSHD_PATH, type Sshd } from './sshd.js';
import { startPostgres, postgresMissing, type Postgres } from './postgres.js';

export const INTERNAL_PORT = 9900;
/** Every replica's public API, on its own namespace's loopback. */
export const PUBLIC_PORT = 8080;
const DEMO_MAIN = path.join(ROOT, 'dist/examples/demo-service/main.js');
const OPSCTL = path.join(ROOT, 'bin/opsctl.js');

export interface FleetHost {
  /** The name in the CLI's ssh_config (an alias, as an operator would use). */
  name: string;
  ns: string;
  address: string;
  sshdPid: number;
  demo: ChildProcess;
  dataDir: string;
  demoStderr(): string;
  /** A request to this replica's public API (curl inside its namespace): status and parsed JSON body. */
  publicApi(method: 'GET' | 'POST', urlPath: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** Kills this host's sshd (the host becomes unreachable; the replica keeps running). */
  killSshd(): void;
  /** Stops the replica (SIGTERM) and waits for it. */
  stopService(): Promise<void>;
}

/** The bastion's sshd, as the operator's side reaches it. */
export interface FleetBastion {
  address: string;
  port: number;
  pid: number;
  /** Its network namespace with `isolated`, else undefined (the test's own). */
  ns: string | undefined;
  /** Its directory: authorized_keys (read at each login, so appending trusts a key), sshd_config, the log. */
  dir: string;
  stop(): Promise<void>;
}

/** How a TCP connect from a namespace ended: 'connected', an errno code (ENETUNREACH, ECONNREFUSED…) or 'timeout'. */
export type ConnectOutcome = string;

export interface Fleet {
  hosts: FleetHost[];
  bastion: FleetBastion;
  /** With `isolated`: the namespace the CLI runs in (linked to the bastion's only). */
  operatorNs: string | undefined;
  postgres: Postgres | undefined;
  /** The database URL the replicas share (with postgres). */
  databaseUrl: string | undefined;
  key: TestKey;
  /** HOME of the CLI: ~/.ssh/config names bastion and hosts, known_hosts holds their keys. */
  home: string;
  env: Record<string, string>;
  /** Runs the built `bin/opsctl.js` (no TTY, in operatorNs if any) with --bastion/--identity/--known-hosts preset by the context "fleet". */
  opsctl(args: string[], opts?: { env?: Record<string, string>; timeoutMs?: number }): Promise<{ code: number; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

export interface FleetOptions {
  hosts: number;
  /** One PostgreSQL for every replica (--database), else SQLite in each replica's data dir. */
  postgres?: boolean;
  /** More demo-service flags for every replica. */
  demoArgs?: string[];
  /**
   * The bastion in its own namespace, with forwarding off, the only one
   * linked to the hosts' and to the operator's (where the CLI runs): from
   * the operator's side only the bastion can be reached.
   */
  isolated?: boolean;
}

/** Why a fleet cannot run here, or null. */
export function fleetMissing(opts: { postgres?: boolean } = {}): string | null {
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  if (spawnSync('ip', ['-V'], { stdio: 'ignore' }).error) return 'iproute2 (ip) is not installed';
  if (!fs.existsSync(SSHD_PATH)) return `${SSHD_PATH} is not installed`;
  if (opts.postgres) return postgresMissing();
  return null;
}

/** Skips without root/ip/sshd (and PostgreSQL when asked), except under CI=true where that fails. */
export function requireFleet(t: TestContext, opts: { postgres?: boolean } = {}): boolean {
  if (requireSshd(t)) return true;
  const missing = fleetMissing(opts);
  if (!missing) return false;
  if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(`CI: ${missing}`);
  t.skip(missing);
  return true;
}

function ip(args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
}

const liveNamespaces = new Set<string>();
const liveVeths = new Set<string>();
let hooked = false;
function cleanupNetwork(): void {
  for (const v of liveVeths) spawnSync('ip', ['link', 'del', v], { stdio: 'ignore' });
  for (const ns of liveNamespaces) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  liveVeths.clear();
  liveNamespaces.clear();
}

function waitForLine(proc: ChildProcess, buf: () => string, ms: number, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
    const check = () => {
      const s = buf();
      const nl = s.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        proc.stdout!.off('data', check);
        resolve(s.slice(0, nl));
      }
    };
    proc.stdout!.on('data', check);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}`));
    });
  });
}

/** One TCP connect to address:port by a Node process inside namespace ns (2 s at most). */
export function connectFrom(ns: string, address: string, port: number): ConnectOutcome {
  const script = `const s = require('node:net').connect({ host: process.argv[1], port: Number(process.argv[2]) });
const done = (r) => { process.stdout.write(r); process.exit(0); };
setTimeout(() => done('timeout'), 2000);
s.once('connect', () => done('connected'));
s.once('error', (e) => done(e.code || e.message));`;
  const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '-e', script, address, String(port)], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`connect from ${ns}: ${r.stderr.trim() || r.error?.message}`);
  return r.stdout.trim();
}

/** The sshd_config of an sshd on address:22 inside a namespace (hosts, and the isolated bastion). */
function nsSshdConfig(dir: string, address: string, hostKey: string): string {
  return [
    'Port 22', `ListenAddress ${address}`, `HostKey ${hostKey}`, `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
    'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'PermitRootLogin prohibit-password', 'StrictModes no',
    'UsePAM no', 'UseDNS no', `PidFile ${path.join(dir, 'sshd.pid')}`, 'AllowTcpForwarding yes', 'MaxStartups 100:30:200', 'LogLevel ERROR', '',
  ].join('\n');
}

/** Starts an sshd on address:22 inside ns, trusting key; returns the process and its known_hosts line. */
function startNsSshd(ns: string, address: string, dir: string, key: TestKey): { child: ChildProcess; knownHostsLine: string } {
  fs.mkdirSync(dir, { mode: 0o700, recursive: true });
  const hostKey = path.join(dir, 'host_key');
  spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', ns, '-f', hostKey]);
  fs.writeFileSync(path.join(dir, 'authorized_keys'), `${key.publicLine}\n`, { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'sshd_config'), nsSshdConfig(dir, address, hostKey));
  const child = spawn('ip', ['netns', 'exec', ns, SSHD_PATH, '-D', '-f', path.join(dir, 'sshd_config'), '-E', path.join(dir, 'sshd.log')], { stdio: 'ignore' });
  const knownHostsLine = `${address} ${fs.readFileSync(`${hostKey}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ')}`;
  return { child, knownHostsLine };
}

async function waitForTcp(ns: string, address: string, port: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const r = spawnSync('ip', ['netns', 'exec', ns, 'bash', '-c', `exec 3<>/dev/tcp/${address}/${port}`], { stdio: 'ignore' });
    if (r.status === 0) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${address}:${port} in ${ns}`);
    await new Promise((res) => setTimeout(res, 30));
  }
}

/** Builds the fleet: namespaces, links, sshd per host, replicas, the bastion (and PostgreSQL). */
export async function startFleet(opts: FleetOptions): Promise<Fleet> {
  ensureBuilt();
  if (!hooked) {
    hooked = true;
    process.once('exit', cleanupNetwork);
  }
  const id = Math.random().toString(36).slice(2, 6);
  const net = 100 + Math.floor(Math.random() * 150);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `fleet-${id}-`));
  const home = path.join(dir, 'home');
  fs.mkdirSync(path.join(home, '.ssh'), { recursive: true, mode: 0o700 });
  const key = generateKeyPair('fleet-admin', { dir });
  const hosts: FleetHost[] = [];
  let bastion: FleetBastion | undefined;
  let operatorNs: string | undefined;
  let postgres: Postgres | undefined;
  const children: ChildProcess[] = [];
  const fleetNs: string[] = [];
  const fleetVeths: string[] = [];

  const stop = async () => {
    await Promise.all(hosts.map((h) => h.stopService().catch(() => undefined)));
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await bastion?.stop();
    for (const v of fleetVeths) {
      spawnSync('ip', ['link', 'del', v], { stdio: 'ignore' });
      liveVeths.delete(v);
    }
    for (const ns of fleetNs) {
      spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      liveNamespaces.delete(ns);
    }
    await postgres?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };

  try {
    let databaseUrl: string | undefined;
    if (opts.postgres) {
      postgres = await startPostgres();
      databaseUrl = postgres.url(postgres.createDatabase('fleet'));
    }
    const knownHosts: string[] = [];
    // Where the hosts' veth pairs end: the test's namespace, or the isolated bastion's.
    let linkNs: string | undefined;
    if (opts.isolated) {
      const ns = `fl${id}x`;
      operatorNs = `fl${id}o`;
      const opEnd = `fl${id}xo`;
      const inner = `fl${id}xi`;
      const address = `10.${net}.255.2`;
      for (const n of [operatorNs, ns]) {
        ip(['netns', 'add', n]);
        liveNamespaces.add(n);
        fleetNs.push(n);
        ip(['-n', n, 'link', 'set', 'lo', 'up']);
      }
      // Both ends leave the test's namespace at once; deleting the
      // namespaces removes the pair.
      ip(['link', 'add', opEnd, 'netns', operatorNs, 'type', 'veth', 'peer', 'name', inner, 'netns', ns]);
      ip(['-n', operatorNs, 'addr', 'add', `10.${net}.255.1/30`, 'dev', opEnd]);
      ip(['-n', operatorNs, 'link', 'set', opEnd, 'up']);
      ip(['-n', ns, 'addr', 'add', `${address}/30`, 'dev', inner]);
      ip(['-n', ns, 'link', 'set', inner, 'up']);
      // A new namespace may inherit forwarding from the test's (see
      // net.core.devconf_inherit_init_net): the bastion must not route.
      const fwd = spawnSync('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=0', 'net.ipv6.conf.all.forwarding=0'], { encoding: 'utf8' });
      if (fwd.status !== 0) throw new Error(`sysctl in ${ns}: ${fwd.stderr.trim()}`);
      const bastionDir = path.join(dir, 'bastion');
      const started = startNsSshd(ns, address, bastionDir, key);
      children.push(started.child);
      knownHosts.push(started.knownHostsLine);
      const child = started.child;
      const exited = new Promise<void>((res) => { if (child.exitCode !== null || child.signalCode !== null) res(); else child.once('exit', () => res()); });
      bastion = {
        address, port: 22, pid: child.pid!, ns, dir: bastionDir,
        async stop() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
        },
      };
      linkNs = ns;
      await waitForTcp(operatorNs, address, 22, 5000);
    } else {
      const sshd: Sshd = await startSshd({ authorizedKeys: [key.publicLine] });
      knownHosts.push(sshd.knownHostsLine);
      bastion = { address: sshd.host, port: sshd.port, pid: sshd.pid, ns: undefined, dir: sshd.dir, stop: () => sshd.stop() };
    }
    const allowlist = path.join(dir, 'allowlist');
    fs.writeFileSync(allowlist, key.authorizedKeysLine('admin') + '\n', { mode: 0o600 });
    const sshConfig: string[] = [`Host bastion\n  HostName ${bastion.address}\n  Port ${bastion.port}\n  User ${os.userInfo().username}\n`];

    for (let i = 0; i < opts.hosts; i++) {
      const ns = `fl${id}h${i}`;
      const outer = `fl${id}b${i}`;
      const inner = `fl${id}n${i}`;
      const address = `10.${net}.${i}.2`;
      ip(['netns', 'add', ns]);
      liveNamespaces.add(ns);
      fleetNs.push(ns);
      ip(['link', 'add', outer, 'type', 'veth', 'peer', 'name', inner]);
      liveVeths.add(outer);
      fleetVeths.push(outer);
      ip(['link', 'set', inner, 'netns', ns]);
      if (linkNs) {
        // The bastion's end: the link (and this name) leave the test's namespace.
        ip(['link', 'set', outer, 'netns', linkNs]);
        liveVeths.delete(outer);
        fleetVeths.pop();
      }
      const at = linkNs ? ['-n', linkNs] : [];
      ip([...at, 'addr', 'add', `10.${net}.${i}.1/30`, 'dev', outer]);
      ip([...at, 'link', 'set', outer, 'up']);
      ip(['-n', ns, 'addr', 'add', `${address}/30`, 'dev', inner]);
      ip(['-n', ns, 'link', 'set', inner, 'up']);
      ip(['-n', ns, 'link', 'set', 'lo', 'up']);

      const hdir = path.join(dir, `host${i}`);
      const { child: sshd, knownHostsLine } = startNsSshd(ns, address, hdir, key);
      children.push(sshd);

      const dataDir = path.join(hdir, 'data');
      let out = '';
      let err = '';
      const demo = spawn('ip', ['netns', 'exec', ns, process.execPath, DEMO_MAIN,
        '--data-dir', dataDir, '--internal-port', String(INTERNAL_PORT), '--public-port', String(PUBLIC_PORT),
        '--authorized-keys', allowlist, ...(databaseUrl ? ['--database', databaseUrl] : []), ...(opts.demoArgs ?? [])],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(demo);
      demo.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
      demo.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
      const exited = new Promise<void>((res) => demo.once('exit', () => res()));
      const name = `node${i}`;
      hosts.push({
        name, ns, address, sshdPid: sshd.pid!, demo, dataDir,
        demoStderr: () => err,
        publicApi: (method, urlPath, body) => new Promise((resolve, reject) => {
          const args = ['netns', 'exec', ns, 'curl', '-sS', '-X', method, '-w', '\n%{http_code}', '--max-time', '10',
            ...(body === undefined ? [] : ['-H', 'content-type: application/json', '--data-binary', '@-']), `http://127.0.0.1:${PUBLIC_PORT}${urlPath}`];
          const p = spawn('ip', args, { stdio: ['pipe', 'pipe', 'pipe'] });
          let o = '';
          let e = '';
          p.stdout.setEncoding('utf8').on('data', (d: string) => { o += d; });
          p.stderr.setEncoding('utf8').on('data', (d: string) => { e += d; });
          p.stdin.end(body === undefined ? '' : JSON.stringify(body));
          p.once('exit', (code) => {
            if (code !== 0) return reject(new Error(`curl ${method} ${urlPath} on ${name}: exit ${code} ${e}`));
            const nl = o.lastIndexOf('\n');
            try {
              resolve({ status: Number(o.slice(nl + 1)), body: JSON.parse(o.slice(0, nl)) });
            } catch {
              reject(new Error(`curl ${method} ${urlPath} on ${name}: not JSON: ${o}`));
            }
          });
        }),
        killSshd: () => { try { process.kill(sshd.pid!, 'SIGKILL'); } catch { /* gone */ } },
        async stopService() {
          if (demo.exitCode === null && demo.signalCode === null) {
            demo.kill('SIGTERM');
            const t = setTimeout(() => demo.kill('SIGKILL'), 5000);
            await exited;
            clearTimeout(t);
          }
        },
      });
      knownHosts.push(knownHostsLine);
      sshConfig.push(`Host ${name}\n  HostName ${address}\n  User ${os.userInfo().username}\n`);
      await waitForLine(demo, () => out, 30_000, `replica ${name}`).catch((e: Error) => { throw new Error(`${e.message}\n${err}`); });
      await waitForTcp(linkNs ?? ns, address, 22, 5000);
    }
    fs.writeFileSync(path.join(home, '.ssh', 'config'), sshConfig.join('\n'), { mode: 0o600 });
    const knownHostsFile = path.join(home, 'known_hosts');
    fs.writeFileSync(knownHostsFile, knownHosts.join('\n') + '\n', { mode: 0o600 });
    const configHome = path.join(home, '.config');
    fs.mkdirSync(path.join(configHome, 'opsctl'), { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(configHome, 'opsctl', 'config.yaml'), [
      'current-context: fleet',
      'contexts:',
      '  fleet:',
      '    bastion: [bastion]',
      `    host: [${hosts.map((h) => h.name).join(', ')}]`,
      `    port: ${INTERNAL_PORT}`,
      `    identity: ${key.privatePath}`,
      `    known-hosts: ${knownHostsFile}`,
      '',
    ].join('\n'), { mode: 0o600 });
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      XDG_CONFIG_HOME: configHome,
      XDG_STATE_HOME: path.join(home, '.state'),
      XDG_CACHE_HOME: path.join(home, '.cache'),
      XDG_RUNTIME_DIR: path.join(home, '.run'),
      NO_COLOR: '1',
    };
    return {
      hosts, bastion, operatorNs, postgres, databaseUrl, key, home, env,
      opsctl(args, o = {}) {
        return new Promise((resolve, reject) => {
          const argv = [process.execPath, OPSCTL, ...args];
          if (operatorNs) argv.unshift('ip', 'netns', 'exec', operatorNs);
          const p = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, env: { ...env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
          let stdout = '';
          let stderr = '';
          p.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
          p.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
          const t = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`opsctl ${args.join(' ')} did not exit; stderr: ${stderr}`)); }, o.timeoutMs ?? 60_000);
          p.once('exit', (code) => { clearTimeout(t); resolve({ code: code ?? -1, stdout, stderr }); });
        });
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
