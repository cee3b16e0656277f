/**
 * Test harness: real OpenSSH sshd processes on free loopback ports, each in
 * its own temp dir with a freshly generated host key (openssh-server). Several
 * of them make a bastion chain. Every process is killed by its PID in stop().
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';

export const SSHD_PATH = '/usr/sbin/sshd';

export interface SshdOptions {
  /** authorized_keys lines (`ssh-ed25519 AAAA… comment`). */
  authorizedKeys: string[];
  /** When set, each key gets `permitopen="…"` for these host:port targets. */
  permitOpen?: string[];
  /** AllowTcpForwarding (default yes). */
  allowTcpForwarding?: boolean;
}

export interface Sshd {
  host: '127.0.0.1';
  port: number;
  pid: number;
  /** `ssh-ed25519 AAAA…` of the host key. */
  hostKeyLine: string;
  /** `[127.0.0.1]:PORT ssh-ed25519 AAAA…`, ready for a known_hosts file. */
  knownHostsLine: string;
  hostKeyPath: string;
  dir: string;
  /** The sshd error log (LogLevel ERROR). */
  log(): string;
  stop(): Promise<void>;
}

/** The login name sshd authenticates: the user running the tests. */
export const TEST_USER = os.userInfo().username;

/** Why sshd cannot run here, or null when it can. */
export function sshdMissing(): string | null {
  if (!fs.existsSync(SSHD_PATH)) return `${SSHD_PATH} is not installed (apt-get install openssh-server)`;
  if (spawnSync('ssh-keygen', ['-?'], { stdio: 'ignore' }).error) return 'ssh-keygen is not installed';
  return null;
}

/**
 * Skips the test when sshd is missing, except under CI=true where a missing
 * tool is a failure. Returns true when the caller should return early.
 */
export function requireSshd(t: TestContext): boolean {
  const missing = sshdMissing();
  if (!missing) return false;
  if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(`CI: ${missing}`);
  t.skip(missing);
  return true;
}

/** A port that was free a moment ago (the caller retries on a bind race). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function waitForBanner(port: number, child: ChildProcess, deadline: number): Promise<boolean> {
  return new Promise((resolve) => {
    const attempt = () => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve(false);
      if (Date.now() > deadline) return resolve(false);
      const sock = net.connect({ host: '127.0.0.1', port });
      sock.once('data', (d) => {
        sock.destroy();
        resolve(d.toString('latin1').startsWith('SSH-'));
      });
      sock.once('error', () => {
        sock.destroy();
        setTimeout(attempt, 20);
      });
    };
    attempt();
  });
}

/** Starts one sshd and waits until it greets connections. */
export async function startSshd(opts: SshdOptions): Promise<Sshd> {
  fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opsctl-sshd-'));
  const hostKeyPath = path.join(dir, 'host_key');
  const kg = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test-host', '-f', hostKeyPath], { encoding: 'utf8' });
  if (kg.status !== 0) throw new Error(`ssh-keygen failed: ${kg.stderr}`);
  const hostKeyLine = fs.readFileSync(`${hostKeyPath}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
  const prefix = opts.permitOpen?.length ? opts.permitOpen.map((p) => `permitopen="${p}"`).join(',') + ' ' : '';
  fs.writeFileSync(path.join(dir, 'authorized_keys'), opts.authorizedKeys.map((k) => prefix + k.trim() + '\n').join(''), { mode: 0o600 });

  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const config = [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKeyPath}`,
      `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'StrictModes no',
      'UsePAM no',
      'UseDNS no',
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      `AllowTcpForwarding ${opts.allowTcpForwarding === false ? 'no' : 'yes'}`,
      'LogLevel ERROR',
      '',
    ].join('\n');
    fs.writeFileSync(path.join(dir, 'sshd_config'), config);
    const logPath = path.join(dir, 'sshd.log');
    const child = spawn(SSHD_PATH, ['-D', '-f', path.join(dir, 'sshd_config'), '-E', logPath], { stdio: 'ignore' });
    const up = await waitForBanner(port, child, Date.now() + 5000);
    if (!up) {
      child.kill('SIGKILL');
      continue; // most likely another test grabbed the port: try a new one
    }
    const pid = child.pid!;
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    return {
      host: '127.0.0.1',
      port,
      pid,
      hostKeyLine,
      knownHostsLine: `[127.0.0.1]:${port} ${hostKeyLine}`,
      hostKeyPath,
      dir,
      log: () => (fs.existsSync(logPath) ? fs.readFileSync(logPath, 'utf8') : ''),
      async stop() {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          /* already gone */
        }
        await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  fs.rmSync(dir, { recursive: true, force: true });
  throw new Error('could not start sshd on a free port after 5 attempts');
}

/** One process below an sshd listener (its per-connection monitor and session processes). */
export interface SshdProcess {
  pid: number;
  ppid: number;
  /** The process title sshd sets: `sshd: root [priv]`, `sshd: root@notty`, … */
  title: string;
}

/**
 * Every live descendant of the sshd listener `pid`, read from /proc: the
 * processes serving its connections, to kill one by PID (a tunnel cut from
 * the server side).
 */
export function sshdConnectionProcesses(pid: number): SshdProcess[] {
  const all: SshdProcess[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // The command name in /proc/PID/stat is in parentheses and may hold
      // spaces: the fields after its closing one are fixed.
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const title = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0+$/, '').replaceAll('\0', ' ');
      all.push({ pid: Number(name), ppid, title });
    } catch {
      /* exited while we looked */
    }
  }
  const below = new Set([pid]);
  const out: SshdProcess[] = [];
  for (let grew = true; grew;) {
    grew = false;
    for (const p of all) {
      if (!below.has(p.pid) && below.has(p.ppid)) {
        below.add(p.pid);
        out.push(p);
        grew = true;
      }
    }
  }
  return out;
}
