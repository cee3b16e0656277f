import fs from 'node:fs';
import { randomId } from '../random-id.js';

/** Locks held by this process, so a reused pid (pid 1 in a container) is not mistaken for a live holder. */
const heldHere = new Set<string>();

export class AuditLogLockedError extends Error {}

/**
 * The one-writer lock of an audit log: `<log>.lock`, created with O_EXCL,
 * holding `pid token`. Node has no flock() without a native addon, so the
 * lock is a file: a holder that died leaves it behind, and the next start
 * takes it over after checking that no process with that pid is alive (on
 * this host; the audit log lives on local disk). Released by close().
 */
export class AuditLogLock {
  private constructor(readonly file: string, private readonly token: string) {}

  static acquire(logFile: string): AuditLogLock {
    const file = `${logFile}.lock`;
    const token = `${process.pid} ${randomId(8)}`;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
        try {
          fs.writeSync(fd, `${token}\n`);
        } finally {
          fs.closeSync(fd);
        }
        heldHere.add(file);
        return new AuditLogLock(file, token);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      let text = '';
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile: try again
        throw e;
      }
      const pid = Number(text.split(/\s/)[0]);
      if (Number.isInteger(pid) && pid > 0 && isAlive(pid) && (pid !== process.pid || heldHere.has(file))) {
        throw new AuditLogLockedError(`audit log ${logFile} is in use by process ${pid} (lock ${file}); only one process may write an audit log`);
      }
      // The holder is gone (crash, kill -9): take the lock over, unless
      // someone else did so a moment ago (then the O_EXCL above loses again).
      try {
        if (fs.readFileSync(file, 'utf8') === text) fs.rmSync(file);
      } catch {
        // gone already
      }
    }
    throw new AuditLogLockedError(`audit log ${logFile}: lock ${file} could not be taken`);
  }

  release(): void {
    heldHere.delete(this.file);
    try {
      if (fs.readFileSync(this.file, 'utf8').trim() === this.token) fs.rmSync(this.file);
    } catch {
      // already gone
    }
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
