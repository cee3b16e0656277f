/**
 * Runs the demo service (dist/examples/demo-service/main.js) as a child
 * process: internal port and public API on free loopback ports, logs to a
 * file, the one address line read from stdout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface HostPort {
  host: string;
  port: number;
}

export interface ServiceProcess {
  internal: HostPort;
  public: HostPort;
  pid: number;
  stop(): Promise<void>;
}

function parseHostPort(s: unknown): HostPort {
  const m = typeof s === 'string' ? /^\[?([^\]]+?)\]?:(\d+)$/.exec(s) : null;
  if (!m) throw new Error(`the demo service printed a bad address ${JSON.stringify(s)}`);
  return { host: m[1]!, port: Number(m[2]) };
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export async function startService(opts: { root: string; dataDir: string; allowlistFile: string; logFile: string; slowMigrationsMs: number }): Promise<ServiceProcess> {
  const main = path.join(opts.root, 'dist/examples/demo-service/main.js');
  if (!fs.existsSync(main)) throw new Error(`${main} is missing: run npm run build`);
  const log = fs.openSync(opts.logFile, 'a', 0o600);
  const child = spawn(
    process.execPath,
    [main, '--data-dir', opts.dataDir, '--internal-port', '0', '--public-port', '0', '--authorized-keys', opts.allowlistFile, '--slow-migrations', String(opts.slowMigrationsMs)],
    { stdio: ['ignore', 'pipe', log] },
  );
  fs.closeSync(log);
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    if (!(await waitExit(child, 10_000))) {
      child.kill('SIGKILL');
      await waitExit(child, 2000);
    }
  };
  try {
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error('the demo service did not start within 30 s')), 30_000);
      child.stdout!.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        const nl = out.indexOf('\n');
        if (nl >= 0) {
          clearTimeout(timer);
          resolve(out.slice(0, nl));
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the demo service exited with code ${code} before listening (see ${opts.logFile})`));
      });
    });
    const addr = JSON.parse(line) as { internal?: unknown; public?: unknown };
    return { internal: parseHostPort(addr.internal), public: parseHostPort(addr.public), pid: child.pid!, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
