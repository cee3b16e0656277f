import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { randomId } from '../random-id.js';
import { AuditLogLockedError } from './audit-log-locked-error.js';

/** What a lock socket says to whoever connects: `opsctl-audit-lock 1 <holder|contender> <pid>`. */
const GREETING = 'opsctl-audit-lock 1';
/** How long a connected lock socket has to say who it is (it answers from its event loop). */
const ANSWER_MS = 2000;
/** Rounds in which one entry stays live but silent before it counts as a holder that does not answer. */
const SILENT_ROUNDS = 3;
/** Rounds of publish/scan/withdraw before two starters that keep meeting give up. */
const ROUNDS = 30;
/** A socket path longer than this does not fit in sockaddr_un (108 bytes with the NUL). */
const SUN_PATH_MAX = 107;

type Role = 'holder' | 'contender';

/** What a probe of one entry found. */
type Probe = { state: 'stale' } | { state: 'live'; role: Role | undefined; pid: number | undefined };

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * The one-writer lock of an audit log, released by the kernel when its
 * holder dies (src/server/README.md, "Audit log", one writer).
 *
 * Each process that wants the log listens on a unix socket of its own
 * beside it, `<log>.lock.<random>` (0600). A listening socket exists exactly
 * as long as the process that holds it: once that process is gone, however
 * it ended, a connect to the path is refused. So "is the holder alive" is
 * answered by the kernel, not by a pid that may belong to somebody else by
 * now (after a reboot, or pid 1 in every container).
 *
 * Taking the lock: publish the own socket (bound and listening under a
 * hidden name first, then hard-linked to its visible name, so a visible
 * entry is never a socket that does not listen yet), then connect to every
 * other entry. A refused one is stale: its name is unique and nobody will
 * ever listen on it again, so it is unlinked without any race. A live one
 * answers with its state and pid: a holder refuses this start, naming its
 * pid; another contender (two starting at once) makes both withdraw and try
 * again after a random pause. A process becomes the holder only when it saw
 * no other live entry after publishing its own, so of two starters that
 * overlap at least one sees the other: never two holders.
 */
export class AuditLogLock {
  private role: Role = 'contender';

  private constructor(
    readonly logFile: string,
    /** The visible entry, `<log>.lock.<id>`. */
    readonly file: string,
    private readonly server: net.Server,
  ) {}

  /** Takes the lock, or throws AuditLogLockedError naming the holder's pid. */
  static async acquire(logFile: string): Promise<AuditLogLock> {
    const dir = path.dirname(logFile);
    const prefix = `${path.basename(logFile)}.lock.`;
    const silent = new Map<string, number>();
    for (let round = 0; round < ROUNDS; round++) {
      const lock = await AuditLogLock.publish(logFile, dir, prefix);
      let others: Array<{ name: string; probe: Probe }>;
      try {
        others = await lock.scan(dir, prefix);
      } catch (e) {
        lock.release();
        throw e;
      }
      const holder = others.find((o) => o.probe.state === 'live' && o.probe.role !== 'contender');
      if (holder && holder.probe.state === 'live' && holder.probe.role === undefined) {
        // Live but silent: a holder whose event loop is busy, or another
        // starter still loading on a loaded machine. A contender withdraws its
        // entry before it tries again, so only an entry that stays silent
        // round after round is taken for a holder that does not answer.
        const times = (silent.get(holder.name) ?? 0) + 1;
        silent.set(holder.name, times);
        if (times < SILENT_ROUNDS) {
          lock.release();
          await sleep(50 + Math.random() * 200);
          continue;
        }
      }
      if (holder && holder.probe.state === 'live') {
        lock.release();
        const who = holder.probe.pid !== undefined ? `process ${holder.probe.pid}` : 'a process that does not answer';
        throw new AuditLogLockedError(`audit log ${logFile} is in use by ${who} (lock ${path.join(dir, holder.name)}); only one process may write an audit log`);
      }
      if (others.length === 0) {
        lock.role = 'holder';
        return lock;
      }
      // Another process is starting on the same log right now: both step
      // back, and the one that comes back first (random pause) wins.
      lock.release();
      await sleep(5 + Math.random() * Math.min(400, 20 * (round + 1)));
    }
    throw new AuditLogLockedError(`audit log ${logFile}: another process kept starting on it at the same time; the lock could not be taken`);
  }

  /** Listens under a hidden name, then links it to the visible one. */
  private static async publish(logFile: string, dir: string, prefix: string): Promise<AuditLogLock> {
    const id = randomId(12);
    const visible = path.join(dir, `${prefix}${id}`);
    const hidden = path.join(dir, `${path.basename(logFile)}.lock-new.${id}`);
    let lock: AuditLogLock | undefined;
    const server = net.createServer((c) => {
      c.on('error', () => undefined);
      c.end(`${GREETING} ${lock?.role ?? 'contender'} ${process.pid}\n`);
    });
    server.on('error', () => undefined);
    const where = socketAddress(hidden);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // Created 0600: only the service's own user can even ask who holds it.
      const old = process.umask(0o177);
      try {
        server.listen(where.addr, () => { server.off('error', reject); resolve(); });
      } finally {
        process.umask(old);
      }
    }).catch((e: NodeJS.ErrnoException) => {
      throw new Error(`cannot create the lock socket ${hidden} beside the audit log: ${e.code ?? e.message}`, { cause: e });
    }).finally(where.done);
    server.unref();
    try {
      fs.linkSync(hidden, visible);
    } catch (e) {
      server.close();
      fs.rmSync(hidden, { force: true });
      throw new Error(`cannot publish the lock socket ${visible}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
    }
    fs.rmSync(hidden, { force: true });
    lock = new AuditLogLock(logFile, visible, server);
    return lock;
  }

  /** Every other entry that is live; stale ones (and leftovers of crashed publishes) are removed. */
  private async scan(dir: string, prefix: string): Promise<Array<{ name: string; probe: Probe }>> {
    const mine = path.basename(this.file);
    const hiddenPrefix = prefix.replace(/\.lock\.$/, '.lock-new.');
    const names = fs.readdirSync(dir).filter((n) => n !== mine && (n.startsWith(prefix) || n.startsWith(hiddenPrefix)));
    const live: Array<{ name: string; probe: Probe }> = [];
    await Promise.all(names.map(async (name) => {
      const full = path.join(dir, name);
      let st: fs.Stats;
      try {
        st = fs.lstatSync(full);
      } catch {
        return; // removed meanwhile
      }
      if (!st.isSocket()) return; // not ours to judge, and never a lock
      const probe = await probeEntry(full);
      if (name.startsWith(hiddenPrefix)) {
        // A hidden name listens for a moment only; one left a minute later is a crashed publish.
        if (probe.state === 'stale' && Date.now() - st.mtimeMs > 60_000) fs.rmSync(full, { force: true });
        return;
      }
      if (probe.state === 'stale') fs.rmSync(full, { force: true });
      else live.push({ name, probe });
    }));
    return live;
  }

  /** Stops listening and removes the entry: the next start finds no holder. Also what the kernel does when the process dies. */
  release(): void {
    this.server.close();
    try {
      fs.rmSync(this.file, { force: true });
    } catch {
      // already gone
    }
  }
}

/**
 * The path to bind or connect for `file`: itself when it fits in a socket
 * address, else the same file through an open descriptor of its directory
 * (`/proc/self/fd/N/name`, Linux), which is short whatever the directory's
 * depth. `done()` closes that descriptor once the bind or connect is made.
 */
function socketAddress(file: string): { addr: string; done: () => void } {
  if (Buffer.byteLength(file) <= SUN_PATH_MAX) return { addr: file, done: () => undefined };
  const fd = fs.openSync(path.dirname(file), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  const addr = `/proc/self/fd/${fd}/${path.basename(file)}`;
  let open = true;
  const done = () => { if (open) { open = false; fs.closeSync(fd); } };
  if (Buffer.byteLength(addr) > SUN_PATH_MAX) {
    done();
    throw new Error(`${file}: the lock socket's name is too long`);
  }
  return { addr, done };
}

/** Connects to an entry: refused or gone is stale; anything that accepts is live (and says what it is). */
function probeEntry(file: string): Promise<Probe> {
  return new Promise((resolve) => {
    let where: ReturnType<typeof socketAddress>;
    try {
      where = socketAddress(file);
    } catch {
      resolve({ state: 'live', role: undefined, pid: undefined });
      return;
    }
    const c = net.connect(where.addr);
    let text = '';
    let connected = false;
    const done = (p: Probe) => { clearTimeout(timer); where.done(); c.destroy(); resolve(p); };
    const timer = setTimeout(() => done({ state: 'live', role: undefined, pid: undefined }), ANSWER_MS);
    c.setEncoding('utf8');
    c.on('connect', () => { connected = true; where.done(); });
    c.on('data', (d: string) => {
      text += d;
      if (text.includes('\n')) done(parseGreeting(text));
    });
    c.on('end', () => done(parseGreeting(text)));
    c.on('error', (e: NodeJS.ErrnoException) => {
      // Refused: nobody listens (the holder died). Gone: released meanwhile.
      if (!connected && (e.code === 'ECONNREFUSED' || e.code === 'ENOENT')) done({ state: 'stale' });
      else done({ state: 'live', role: undefined, pid: undefined });
    });
  });
}

function parseGreeting(text: string): Probe {
  const m = /^opsctl-audit-lock 1 (holder|contender) (\d+)\n/.exec(text);
  return m ? { state: 'live', role: m[1] as Role, pid: Number(m[2]) } : { state: 'live', role: undefined, pid: undefined };
}
