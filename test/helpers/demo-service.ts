/**
 * Starts the real demo service (`node dist/examples/demo-service/main.js`)
 * for end-to-end tests: a public orders API and an opsctl internal port on
 * free loopback ports. Builds dist/ first when it is missing or older than
 * the sources.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
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
}

export interface HostPort {
  host: string;
  port: number;
}

export interface DemoService {
  internal: HostPort;
  public: HostPort;
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

function newestMtime(dir: string): number {
  let newest = 0;
  if (!fs.existsSync(dir)) return 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(p).mtimeMs);
  }
  return newest;
}

let built = false;

/**
 * Makes sure dist/examples/demo-service/main.js exists and is newer than the
 * sources it is built from. Concurrent test files take a mkdir lock so only
 * one of them runs the build.
 */
export function ensureDemoBuilt(): void {
  if (built) return;
  const fresh = () =>
    fs.existsSync(DEMO_MAIN) &&
    fs.statSync(DEMO_MAIN).mtimeMs >= Math.max(...['examples/demo-service', 'src/server', 'src/protocol'].map((d) => newestMtime(path.join(ROOT, d))));
  if (!fresh()) {
    const lock = path.join(os.tmpdir(), `opsctl-build-${Buffer.from(ROOT).toString('hex').slice(-24)}.lock`);
    let owner = false;
    const deadline = Date.now() + 180_000;
    while (!owner) {
      try {
        fs.mkdirSync(lock);
        owner = true;
      } catch {
        // Another test file is building: wait for it (a lock older than 3 min is stale).
        try { if (Date.now() - fs.statSync(lock).mtimeMs > 180_000) fs.rmSync(lock, { recursive: true, force: true }); } catch { /* gone */ }
        if (Date.now() > deadline) throw new Error(`timed out waiting for the build lock ${lock}`);
        spawnSync('sleep', ['0.2']);
      }
    }
    try {
      if (!fresh()) {
        const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts/build.mjs'), '--quiet'], { cwd: ROOT, encoding: 'utf8' });
        // tsc still emits when other parts of the tree have type errors; only a missing output is fatal.
        if (!fs.existsSync(DEMO_MAIN)) throw new Error(`build failed, ${DEMO_MAIN} missing:\n${r.stdout}${r.stderr}`);
        const now = new Date();
        fs.utimesSync(DEMO_MAIN, now, now);
        if (r.status !== 0) process.stderr.write(`demo-service helper: build reported errors (continuing with emitted output):\n${(r.stdout + r.stderr).slice(0, 2000)}\n`);
      }
    } finally {
      fs.rmSync(lock, { recursive: true, force: true });
    }
  }
  built = true;
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
  const args = [
    DEMO_MAIN,
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

  const timeoutMs = opts.startTimeoutMs ?? 20_000;
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
  let addr: { internal?: unknown; public?: unknown };
  try {
    addr = JSON.parse(line);
  } catch {
    await stop();
    throw new Error(`demo service printed a non-JSON first line: ${line}`);
  }
  return {
    internal: parseHostPort(addr.internal),
    public: parseHostPort(addr.public),
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
