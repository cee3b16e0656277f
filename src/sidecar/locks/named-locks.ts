import fs from 'node:fs';
import path from 'node:path';
import type { MigrationLock } from '../../server/options.js';

export type LockAnswer = { acquired: true } | { acquired: false; holder: string; since?: string };

/**
 * Named locks that one holder at a time holds: an exec endpoint's `lock`
 * and the migrations' lock (name "migrations"), so a maintenance command
 * declared with `lock: migrations` never runs during a migration.
 *
 * Each lock is a file `<dir>/<name>.lock` created with O_EXCL and holding
 * `{pid, holder, since}`: it excludes other processes on the host too (a
 * second opsctl-port on the same data dir, a restart while a job of the
 * old process still runs), and a lock left by a process that died is taken
 * over once that pid is gone. A name can instead be backed by another
 * MigrationLock (the PostgreSQL one, shared by replicas).
 */
export class NamedLocks {
  private readonly held = new Map<string, { holder: string; since: string }>();
  private readonly backends = new Map<string, MigrationLock>();

  constructor(private readonly dir: string) {}

  /** Backs one name with another lock (e.g. PostgresMigrationLock for "migrations"). */
  useBackend(name: string, lock: MigrationLock): void {
    this.backends.set(name, lock);
  }

  async acquire(name: string, holder: string): Promise<LockAnswer> {
    const backend = this.backends.get(name);
    if (backend) return backend.acquire(holder);
    const mine = this.held.get(name);
    if (mine) return { acquired: false, holder: mine.holder, since: mine.since };
    const since = new Date().toISOString();
    const file = this.file(name);
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
        try {
          fs.writeSync(fd, JSON.stringify({ pid: process.pid, holder, since }) + '\n');
        } finally {
          fs.closeSync(fd);
        }
        this.held.set(name, { holder, since });
        return { acquired: true };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      let text: string;
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw e;
      }
      let other: { pid?: unknown; holder?: unknown; since?: unknown } = {};
      try {
        other = JSON.parse(text) as typeof other;
      } catch {
        // A file cut short by a crash between create and write: its holder is gone.
      }
      const pid = Number(other.pid);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
        return { acquired: false, holder: `${String(other.holder ?? 'unknown')} (process ${pid})`, ...(typeof other.since === 'string' ? { since: other.since } : {}) };
      }
      // Its process is gone (or it is this process, which holds no such lock in memory: a leftover).
      try {
        if (fs.readFileSync(file, 'utf8') === text) fs.rmSync(file);
      } catch {
        // gone already
      }
    }
    return { acquired: false, holder: 'another process (the lock file keeps changing)' };
  }

  async release(name: string, holder: string): Promise<void> {
    const backend = this.backends.get(name);
    if (backend) return backend.release(holder);
    const mine = this.held.get(name);
    if (!mine || mine.holder !== holder) return;
    this.held.delete(name);
    try {
      const text = fs.readFileSync(this.file(name), 'utf8');
      if ((JSON.parse(text) as { holder?: unknown }).holder === holder) fs.rmSync(this.file(name));
    } catch {
      // already gone
    }
  }

  /** The lock of one name as a MigrationLock (what the migrations plugin takes). */
  asMigrationLock(name: string): MigrationLock {
    return { acquire: (holder) => this.acquire(name, holder), release: (holder) => this.release(name, holder) };
  }

  private file(name: string): string {
    return path.join(this.dir, `${name}.lock`);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
