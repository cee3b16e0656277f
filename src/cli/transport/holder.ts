/**
 * The background holder of a connection: `opsctl tunnel --background` and a
 * context's `persist:` (ControlPersist) both run `opsctl tunnel` as a
 * detached child that serves the context's reuse socket. The child tells the
 * parent over a pipe (fd 3) when it serves, or why it could not; it records
 * its pid next to the socket so `tunnel --status` and `--stop` find it.
 * Nothing here imports ssh2: the parent never connects itself.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import { openPrivateAppend, readPrivateFile, writePrivateFile } from '../config/private-file.js';

/** What a running holder wrote about itself (next to its socket, 0600). */
export interface HolderInfo {
  pid: number;
  socket: string;
  /** The loopback TCP forward, when it has one. */
  listen?: string;
  startedAt: string;
  /** ControlPersist idle time: exits this long after the last use. */
  idleExitMs?: number;
}

/** The child's one message to the parent on fd 3. */
export type HolderReport = ({ ok: true } & HolderInfo) | { ok: false; name: string; message: string; hint?: string };

export function holderInfoPath(socketPath: string): string {
  return socketPath.replace(/\.sock$/, '') + '.json';
}

export function holderLogPath(socketPath: string): string {
  return socketPath.replace(/\.sock$/, '') + '.log';
}

// The socket's directory is the checked runtime dir (README, "Local files");
// the files in it are still opened as untrusted: never through a link, never
// someone else's, new ones created exclusively. `tunnel --stop` signals the
// pid read here, so a planted note must not be believed.
export function writeHolderInfo(info: HolderInfo): void {
  writePrivateFile(holderInfoPath(info.socket), JSON.stringify(info) + '\n');
}

export function readHolderInfo(socketPath: string): HolderInfo | undefined {
  try {
    const info = JSON.parse(readPrivateFile(holderInfoPath(socketPath)) ?? '') as HolderInfo;
    return Number.isInteger(info.pid) && info.pid > 0 ? info : undefined;
  } catch {
    return undefined;
  }
}

export function removeHolderInfo(socketPath: string, pid: number): void {
  if (readHolderInfo(socketPath)?.pid === pid) fs.rmSync(holderInfoPath(socketPath), { force: true });
}

/** Whether a process with this pid exists (and may be signalled by us). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The child's fd 3 when this process is a holder started by spawnHolder. */
export function reportToParent(report: HolderReport): void {
  try {
    fs.writeSync(3, JSON.stringify(report) + '\n');
    fs.closeSync(3);
  } catch {
    /* started by hand, not by spawnHolder: nobody to tell */
  }
}

/** An error as the child reported it; its name keeps the exit-code mapping (5 for a hop, 1 for a key…). */
function reported(r: { name: string; message: string; hint?: string }): Error {
  const e = new Error(r.message) as Error & { hint?: string };
  e.name = r.name;
  if (r.hint) e.hint = r.hint;
  return e;
}

/**
 * Starts `opsctl <args>` (a `tunnel --holder` command line) detached from
 * this process, its session and terminal, and waits until it serves or
 * fails. Its stderr goes to a 0600 log next to the socket.
 */
export async function spawnHolder(opts: { script: string; args: string[]; env: Record<string, string | undefined>; socketPath: string; waitMs: number }): Promise<HolderInfo> {
  const log = openPrivateAppend(holderLogPath(opts.socketPath));
  let child;
  try {
    child = spawn(process.execPath, [opts.script, ...opts.args], {
      detached: true,
      stdio: ['ignore', 'ignore', log, 'pipe'],
      env: opts.env as NodeJS.ProcessEnv,
    });
  } finally {
    fs.closeSync(log);
  }
  const pipe = child.stdio[3] as Readable;
  try {
    const report = await new Promise<HolderReport>((resolve, reject) => {
      let text = '';
      const timer = setTimeout(() => reject(new Error(`the background tunnel did not report within ${Math.round(opts.waitMs / 1000)} s (see ${holderLogPath(opts.socketPath)})`)), opts.waitMs);
      pipe.setEncoding('utf8');
      pipe.on('data', (d: string) => {
        text += d;
        const nl = text.indexOf('\n');
        if (nl < 0) return;
        clearTimeout(timer);
        try {
          resolve(JSON.parse(text.slice(0, nl)) as HolderReport);
        } catch {
          reject(new Error('the background tunnel sent an unreadable report'));
        }
      });
      pipe.on('error', () => undefined);
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(new Error(`cannot start the background tunnel: ${e.message}`));
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the background tunnel exited (code ${code ?? 'signal'}) before it served (see ${holderLogPath(opts.socketPath)})`));
      });
    });
    if (!report.ok) {
      // The pid of a child that failed: make sure it is gone.
      if (child.pid && alive(child.pid)) child.kill('SIGTERM');
      throw reported(report);
    }
    return report;
  } finally {
    pipe.destroy();
    child.removeAllListeners('exit');
    child.unref();
  }
}
