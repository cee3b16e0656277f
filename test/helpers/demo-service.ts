/**
 * Starts the real demo service (`node dist/examples/demo-service/main.js`)
 * for end-to-end tests: a public orders API and an opsctl internal port on
 * free loopback ports. Builds dist/ first when it is missing or older than
 * the sources.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureBuilt, ROOT } from './build.js';

export { ROOT };

export const DEMO_MAIN = path.join(ROOT, 'dist/examples/demo-service/main.js');

export interface DemoServiceOptions {
  /** Content of the allowlist file (authorized_keys format with role="…"). */
  authorizedKeys: string;
  /** Reuse a data dir (e.g. to test a restart); by default a fresh temp dir, removed on stop(). */
  dataDir?: string;
  /** More flags, e.g. ['--slow-migrations', '2000'] or ['--audit-log', FILE]. */
  extraArgs?: string[];
  /** Milliseconds to wait for the address line (default 20000). */
  startTimeoutMs?: number;
  /**
   * Flags for node itself, before main.js, e.g. ['--cpu-prof',
   * '--cpu-prof-dir', DIR] (the profile is written at the graceful exit
   * stop() asks for). Also taken, space-separated, from
   * OPSCTL_DEMO_NODE_FLAGS when not given.
   */
  nodeFlags?: string[];
  /** Another build's main.js (a copy of dist/, for bench/port-ab.mjs A/B runs); default DEMO_MAIN. */
  main?: string;
}

export interface HostPort {
  host: string;
  port: number;
}

export interface DemoService {
  internal: HostPort;
  public: HostPort;
  /** The OFREP listener's address (HOST:PORT or a socket path) when started with --ofrep. */
  ofrep?: string;
  dataDir: string;
  /** The audit log: <dataDir>/audit.log unless --audit-log was passed in extraArgs. */
  auditLog: string;
  /** The allowlist file the service watches; rewrite it to test reloads. */
  authorizedKeysFile: string;
  proc: ChildProcess;
  /** Everything the service wrote on stdout / stderr so far. */
  stdout(): string;
  stderr(): string;
  /** SIGTERM (SIGKILL after 5 s), wait for exit, remove the temp dirs this helper made. Idempotent. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** dist/examples/demo-service/main.js, built from the current sources. */
export function ensureDemoBuilt(): void {
  ensureBuilt();
}

function parseHostPort(s: unknown): HostPort {
  const m = typeof s === 'string' ? /^\[?([^\]]+?)\]?:(\d+)$/.exec(s) : null;
  if (!m) throw new Error(`bad address ${JSON.stringify(s)}`);
  return { host: m[1]!, port: Number(m[2]) };
}

function argValue(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  if (i >= 0) return args[i + 1];
  const eq = args.find((a) => a.startsWith(`${flag}=`));
  return eq?.slice(flag.length + 1);
}

/** Spawns the demo service and resolves once it printed its address line. */
export async function startDemoService(opts: DemoServiceOptions): Promise<DemoService> {
  ensureDemoBuilt();
  const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-service-'));
  fs.chmodSync(tempDir, 0o700);
  const dataDir = opts.dataDir ?? path.join(tempDir, 'data');
  const authorizedKeysFile = path.join(tempDir, 'authorized_keys');
  fs.writeFileSync(authorizedKeysFile, opts.authorizedKeys, { mode: 0o600 });
  const extra = opts.extraArgs ?? [];
  const auditLog = path.resolve(argValue(extra, '--audit-log') ?? path.join(dataDir, 'audit.log'));
  const nodeFlags = opts.nodeFlags ?? (process.env.OPSCTL_DEMO_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const args = [
    ...nodeFlags,
    opts.main ?? DEMO_MAIN,
    '--data-dir', dataDir,
    '--internal-port', '0',
    '--public-port', '0',
    '--authorized-keys', authorizedKeysFile,
    ...extra,
  ];
  const proc = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const cleanupTemp = () => fs.rmSync(tempDir, { recursive: true, force: true });

  let stopping: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const timer = setTimeout(() => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL'); }, 5000);
        const r = await exited;
        clearTimeout(timer);
        cleanupTemp();
        return r;
      }
      cleanupTemp();
      return exited;
    })());

  // Generous: a loaded 2-core CI machine running sshd-heavy tests in
  // parallel has taken over 20 s to start the service; only a real hang
  // waits this long.
  const timeoutMs = opts.startTimeoutMs ?? 60_000;
  let line: string;
  try {
    line = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`demo service printed no address within ${timeoutMs} ms; stderr:\n${err}`)), timeoutMs);
      const onData = () => {
        const nl = out.indexOf('\n');
        if (nl >= 0) {
          clearTimeout(timer);
          proc.stdout!.off('data', onData);
          resolve(out.slice(0, nl));
        }
      };
      proc.stdout!.on('data', onData);
      void exited.then(({ code }) => {
        clearTimeout(timer);
        reject(new Error(`demo service exited with code ${code} before listening; stderr:\n${err}`));
      });
    });
  } catch (e) {
    await stop();
    throw e;
  }
  let addr: { internal?: unknown; public?: unknown; ofrep?: unknown };
  try {
    addr = JSON.parse(line);
  } catch {
    await stop();
    throw new Error(`demo service printed a non-JSON first line: ${line}`);
  }
  return {
    internal: parseHostPort(addr.internal),
    public: parseHostPort(addr.public),
    ...(typeof addr.ofrep === 'string' ? { ofrep: addr.ofrep } : {}),
    dataDir,
    auditLog,
    authorizedKeysFile,
    proc,
    stdout: () => out,
    stderr: () => err,
    stop,
  };
}

/**
 * Runs main.js with the given argv and waits for it to exit: for flag and
 * start-up refusal tests. Kills it (and fails) if it is still running after
 * timeoutMs.
 */
export async function runDemoServiceExpectingExit(argv: string[], timeoutMs = 15_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  ensureDemoBuilt();
  const proc = spawn(process.execPath, [DEMO_MAIN, ...argv], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`demo service did not exit within ${timeoutMs} ms; stdout: ${stdout} stderr: ${stderr}`));
    }, timeoutMs);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
