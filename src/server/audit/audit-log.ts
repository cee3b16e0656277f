import fs from 'node:fs/promises';
import { constants, statSync, writeSync, type Stats } from 'node:fs';
import path from 'node:path';
import {
  AuditChainChecker,
  checkpointOfRecord,
  type AuditChainState,
  type AuditCheckpoint,
  type AuditConsistencyProof,
  type AuditInclusionProof,
  type AuditVerifyResult,
} from '../../protocol/audit.js';
import { consistencyProof, inclusionProof, leafHash } from '../../protocol/merkle.js';
import type { PortLog } from '../logger.js';
import { bodyHash, GENESIS_HASH, type AuditEvent, type AuditRecord, type AuditSystemEvent } from './audit-record.js';
import { AuditLogLock } from './audit-lock.js';
import { AuditSigningKey } from './audit-signing-key.js';
import { ensurePrivateDataDir } from '../private-data-dir.js';
import { boundDenial, DenialLimiter, isUnauthenticatedDenial, type DenialLimits } from './bounded-denials.js';
import { HeadAnchorWriter, readHead } from './head-anchor.js';
import { AuditMerkleTree } from './merkle-tree.js';
import { readTail } from './read-tail.js';
import { scanLines } from './scan-lines.js';
import type { AuditSink } from './sinks/audit-sink.js';
import { createSink } from './sinks/create-sink.js';

export interface AppendOptions {
  /** fsync the record (and the anchor) before resolving: for destructive actions. */
  durable?: boolean;
}

/** How the audit log is run; every field has a default (see src/server/README.md, "Audit log"). */
export interface AuditLogOptions {
  /** The checkpoint signing key (Ed25519 private key, KeyObject or PKCS#8 PEM). Default: `signingKeyFile`. */
  signingKey?: import('node:crypto').KeyObject | string;
  /** Where the signing key lives, generated 0600 at first start. Default `<audit log dir>/audit-signing-key.pem`. */
  signingKeyFile?: string;
  /** A checkpoint after this many records (default 1000). */
  checkpointEvery?: number;
  /** A checkpoint this often when records were added since the last one (default 60). */
  checkpointSeconds?: number;
  /** Rate limit of records of unauthenticated denials, per peer address. */
  denials?: DenialLimits;
  /**
   * Copies of every record as it is written: `udp://HOST:PORT`,
   * `tcp://HOST:PORT`, `unix:/PATH` (syslog, RFC 5424) or `stdout` (JSON
   * Lines). A sink that is down never blocks or fails a request.
   */
  sinks?: string[];
  /** With the `stdout` sink, records are held (in memory) until this settles, so a service can print its own first line. */
  stdoutAfter?: Promise<unknown>;
}

/** Thrown to the caller of append() when its record could not be written whole. */
export class AuditWriteError extends Error {}

interface Pending {
  /** The record's fields apart from seq, prev and hash (time included). */
  make: () => Record<string, unknown>;
  durable: boolean;
  checkpoint: boolean;
  resolve: (r: AuditRecord) => void;
  reject: (e: Error) => void;
}

/** A verified prefix of the log: where the newest verified checkpoint ends. */
interface VerifiedPrefix {
  state: AuditChainState;
  offset: number;
}

/** A growable array of byte offsets, one per line. */
class OffsetArray {
  private arr = new Float64Array(4096);
  length = 0;
  push(v: number): void {
    if (this.length === this.arr.length) {
      const bigger = new Float64Array(this.arr.length * 2);
      bigger.set(this.arr);
      this.arr = bigger;
    }
    this.arr[this.length++] = v;
  }
  at(i: number): number {
    return this.arr[i]!;
  }
}

// Never through a link, and never waiting on a FIFO someone put there (O_NONBLOCK; a no-op for a regular file).
const OPEN_FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * The append-only, hash-chained JSON Lines audit log (src/server/README.md,
 * "Audit log"). One writer per file (a lock); appends are group-committed:
 * records queued while a write is in flight go out in the next single
 * write, with one fsync when any of them must be durable. The file stays
 * open; before each batch the path is stat()ed and compared with the open
 * descriptor, so rotation, replacement or deletion is noticed without a
 * reopen per record. A write that fails or comes up short is cut back to the
 * last whole record and every record of that batch is refused.
 */
export class AuditLog {
  private fh!: fs.FileHandle;
  private ident!: { dev: number; ino: number };
  private head!: HeadAnchorWriter;
  private lock!: AuditLogLock;
  private key!: AuditSigningKey;
  private pending: Pending[] = [];
  private flushing: Promise<void> | undefined;
  /** Committed state: what is on disk. */
  private seq = 0;
  private hash = GENESIS_HASH;
  private bytes = 0;
  private lines = 0;
  private readonly tree = new AuditMerkleTree();
  private readonly offsets = new OffsetArray();
  private lastError: string | undefined;
  private latest: AuditCheckpoint | undefined;
  private sinceCheckpoint = 0;
  private checkpointQueued = false;
  private verified: VerifiedPrefix | undefined;
  private readonly limiter: DenialLimiter;
  private timers: NodeJS.Timeout[] = [];
  private closed = false;
  private readonly every: number;
  private sinks: AuditSink[] = [];

  private constructor(readonly file: string, private readonly log: PortLog, private readonly options: AuditLogOptions) {
    this.limiter = new DenialLimiter(options.denials);
    this.every = options.checkpointEvery ?? 1000;
  }

  /**
   * Takes the lock, opens (creating 0600, tightening wider modes), moves a
   * torn tail aside (a `repair` record says so), and continues the chain.
   */
  static async open(file: string, log: PortLog, options: AuditLogOptions = {}, appName = 'opsctl'): Promise<AuditLog> {
    const a = new AuditLog(path.resolve(file), log, options);
    // The directory is checked before anything in it is opened (src/server/README.md, "Files").
    await ensurePrivateDataDir(path.dirname(a.file));
    const keyFile = options.signingKey === undefined ? path.resolve(options.signingKeyFile ?? path.join(path.dirname(a.file), 'audit-signing-key.pem')) : undefined;
    if (keyFile && path.dirname(keyFile) !== path.dirname(a.file)) await ensurePrivateDataDir(path.dirname(keyFile));
    a.lock = await AuditLogLock.acquire(a.file);
    try {
      a.key = keyFile === undefined ? AuditSigningKey.fromOption(options.signingKey!) : AuditSigningKey.loadOrCreate(keyFile, log);
      await a.openFile(true);
      const torn = await a.cutTornTail();
      const cut = await a.load(torn !== undefined);
      a.head = await HeadAnchorWriter.open(a.file);
      await a.head.write({ seq: a.seq, hash: a.hash }, true);
      a.sinks = (options.sinks ?? []).map((spec) => createSink(spec, appName, options.stdoutAfter, (sink, dropped, since) => {
        // The sink is back: the chain (and every sink) learns what it missed.
        a.append({ type: 'shipping', sink, dropped, since, reason: 'records that could not be shipped to this sink while it was down' }).catch(() => undefined);
      }));
      if (cut) {
        // The repair takes the seq of the first record that is gone, so the
        // chain, the line count (what checkpoints and proofs count) and the
        // head anchor agree again; it names what was lost.
        await a.append({
          type: 'repair',
          tornBytes: torn?.bytes ?? 0,
          ...(torn ? { tornFile: path.basename(torn.file) } : {}),
          cutSeqs: { from: cut.from, to: cut.to },
          ...(cut.anchor ? { anchor: cut.anchor } : {}),
          reason: torn
            ? 'the log ended in an incomplete record (a crash or a failed write); those bytes were moved aside'
            : 'the log ended before the record its head anchor names (its tail was cut)',
        }, { durable: true });
      }
    } catch (e) {
      for (const s of a.sinks) await s.close();
      await a.fh?.close().catch(() => undefined);
      await a.head?.close();
      a.lock.release();
      throw e;
    }
    const cpMs = (options.checkpointSeconds ?? 60) * 1000;
    a.timers.push(setInterval(() => { if (a.sinceCheckpoint > 0) a.queueCheckpoint(); }, cpMs));
    a.timers.push(setInterval(() => {
      const s = a.limiter.takeSuppressed();
      if (s) a.append(s).catch(() => undefined);
    }, 1000));
    for (const t of a.timers) t.unref();
    return a;
  }

  /** Opens (or reopens) the path; returns the file's size. */
  private async openFile(first: boolean): Promise<number> {
    const fh = await fs.open(this.file, OPEN_FLAGS, 0o600);
    let st: Stats;
    try {
      st = await fh.stat();
      if (!st.isFile()) throw new Error(`${this.file} is not a regular file`);
      if ((st.mode & 0o077) !== 0) {
        await fh.chmod(0o600);
        this.log('warn', `audit log ${this.file} had mode ${(st.mode & 0o777).toString(8)}; tightened to 600`);
      }
    } catch (e) {
      await fh.close();
      throw e;
    }
    if (!first) await this.fh.close().catch(() => undefined);
    this.fh = fh;
    this.ident = { dev: st.dev, ino: st.ino };
    return st.size;
  }

  /** A tail without its newline (a crash mid-write) goes to `<log>.torn-<time>`; the log is cut back to its last whole record. */
  private async cutTornTail(): Promise<{ bytes: number; file: string } | undefined> {
    const { size } = await this.fh.stat();
    if (size === 0) return undefined;
    const rd = await fs.open(this.file, 'r');
    try {
      const one = Buffer.alloc(1);
      await rd.read(one, 0, 1, size - 1);
      if (one[0] === 10) return undefined;
      let pos = size;
      let cut = 0;
      const chunk = Buffer.alloc(64 * 1024);
      while (pos > 0) {
        const len = Math.min(chunk.length, pos);
        pos -= len;
        await rd.read(chunk, 0, len, pos);
        const nl = chunk.subarray(0, len).lastIndexOf(10);
        if (nl !== -1) { cut = pos + nl + 1; break; }
      }
      const torn = Buffer.alloc(size - cut);
      await rd.read(torn, 0, torn.length, cut);
      const aside = `${this.file}.torn-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      await fs.writeFile(aside, torn, { mode: 0o600, flag: 'wx' });
      await this.fh.truncate(cut);
      await this.fh.sync();
      this.log('warn', `audit log ${this.file} ended in ${torn.length} byte(s) of an incomplete record; moved to ${aside}`);
      return { bytes: torn.length, file: aside };
    } finally {
      await rd.close();
    }
  }

  /**
   * Reads the whole log once at start: Merkle tree, line offsets, newest
   * checkpoint, where to continue. The chain continues from the file's last
   * whole record; when records are missing there (torn bytes were cut off,
   * or the head anchor counted records the file no longer holds), returns
   * the seqs that were lost, for the repair record.
   */
  private async load(torn: boolean): Promise<{ from: number; to: number; anchor?: { seq: number; hash: string } } | undefined> {
    const checker = new AuditChainChecker();
    checker.onCheckpoint = (state) => { this.verified = { state, offset: this.bytesAfterLine }; };
    let lastLine: Buffer | undefined;
    const { end } = await scanLines(this.file, (line, offset) => {
      this.offsets.push(offset);
      this.tree.push(leafHash(line));
      this.bytesAfterLine = offset + line.length + 1;
      const text = line.toString('utf8');
      checker.line(text);
      lastLine = line;
      if (text.includes('"type":"checkpoint"')) {
        try {
          const r = JSON.parse(text) as Record<string, unknown>;
          if (r.type === 'checkpoint') { this.latest = checkpointOfRecord(r); this.sinceCheckpoint = 0; }
        } catch { /* counted by the checker */ }
      } else {
        this.sinceCheckpoint++;
      }
    });
    this.bytes = end;
    this.lines = this.tree.size;
    const result = checker.result();
    let last: { seq: number; hash: string } | undefined;
    if (lastLine) {
      try {
        const r = JSON.parse(lastLine.toString('utf8')) as { seq?: unknown; hash?: unknown };
        if (typeof r.seq === 'number' && typeof r.hash === 'string') last = { seq: r.seq, hash: r.hash };
      } catch { /* continue from the anchor */ }
    }
    const head = await readHead(this.file);
    if (!result.ok) this.log('warn', `audit log ${this.file} does not verify: line ${result.firstBadRecord?.line}: ${result.firstBadRecord?.reason}`);
    if (last) {
      this.seq = last.seq;
      this.hash = last.hash;
    }
    if (!result.ok) this.verified = undefined;
    // A cut tail is not papered over: the repair record appended next names
    // every seq the file lost, and takes the first one's place in the chain.
    const anchorAhead = head !== undefined && head.seq > this.seq;
    if (!torn && !anchorAhead) return undefined;
    const cut = { from: this.seq + 1, to: Math.max(this.seq + 1, anchorAhead ? head.seq : 0), ...(anchorAhead ? { anchor: head } : {}) };
    this.log('warn', `audit log ${this.file} ends at seq ${this.seq}${anchorAhead ? ` but its head anchor says ${head.seq}` : ' and an incomplete record'}: record(s) ${cut.from}..${cut.to} were cut (a crash, or deleted); a repair record says so`);
    return cut;
  }

  private bytesAfterLine = 0;

  /** True while the last append succeeded. */
  get healthy(): boolean {
    return this.lastError === undefined;
  }

  get error(): string | undefined {
    return this.lastError;
  }

  /** The audit signing key's public half, `ssh-ed25519 AAAA…`, and its fingerprint. */
  get signingKey(): { publicKey: string; keyid: string } {
    return { publicKey: this.key.publicKey, keyid: this.key.keyid };
  }

  /**
   * Appends one record. Resolves once it is written (and, with durable,
   * fsync'ed); rejects when it could not be written whole (nothing of it is
   * left in the file). Records of unauthenticated denials are bounded and
   * rate-limited per peer: one that is dropped resolves with undefined and
   * is counted in the next `suppressed` record. A record of the log's own
   * (AuditSystemEvent: `notify`, `shipping`, `repair`, `suppressed`) is
   * written as it is.
   */
  append(event: AuditEvent | AuditSystemEvent, options: AppendOptions = {}): Promise<AuditRecord | undefined> {
    let e = event;
    if (!('type' in e) && isUnauthenticatedDenial(e)) {
      if (!this.limiter.admit(e.peer)) return Promise.resolve(undefined);
      e = boundDenial(e);
    }
    const time = new Date().toISOString();
    return this.enqueue(() => ({ time, ...e }), options.durable === true, false);
  }

  private enqueue(make: () => Record<string, unknown>, durable: boolean, checkpoint: boolean): Promise<AuditRecord> {
    if (this.closed && !checkpoint) return Promise.reject(new AuditWriteError(`audit log ${this.file} is closed`));
    return new Promise<AuditRecord>((resolve, reject) => {
      this.pending.push({ make, durable, checkpoint, resolve, reject });
      // The first record of a batch waits for the end of this event-loop
      // turn, so every request that became ready in it joins the same
      // write: under load a batch is otherwise one record (the writer is
      // faster than the requests arrive one at a time), and each batch costs
      // the event loop its own stat, write and anchor write.
      this.flushing ??= new Promise<void>((r) => setImmediate(r)).then(() => this.flushLoop());
    });
  }

  private queueCheckpoint(): Promise<AuditRecord> {
    this.checkpointQueued = true;
    return this.enqueue(() => {
      const size = this.tree.size;
      const body = { size, root: this.tree.root(size).toString('hex'), time: new Date().toISOString() };
      return { type: 'checkpoint', ...body, keyid: this.key.keyid, publicKey: this.key.publicKey, signature: this.key.sign(body) };
    }, false, true);
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const batch = this.pending;
        this.pending = [];
        await this.writeBatch(batch);
      }
    } finally {
      this.flushing = undefined;
    }
  }

  private async writeBatch(batch: Pending[]): Promise<void> {
    const treeBefore = this.tree.size;
    let seq = this.seq;
    let prev = this.hash;
    const records: AuditRecord[] = [];
    const lineLengths: number[] = [];
    const parts: string[] = [];
    for (const p of batch) {
      const fields = p.make();
      const rec = { seq: seq + 1, time: fields.time, ...fields, prev } as AuditRecord;
      // The body has no hash yet, so it is hashed as it is (no copy without it), then gets it.
      rec.hash = bodyHash(rec);
      const line = JSON.stringify(rec);
      this.tree.push(leafHash(line));
      records.push(rec);
      parts.push(line);
      lineLengths.push(Buffer.byteLength(line));
      seq = rec.seq;
      prev = rec.hash;
    }
    const buf = Buffer.from(parts.join('\n') + '\n');
    const durable = batch.some((p) => p.durable);
    let before = this.bytes;
    try {
      before = this.currentSize() ?? await this.reopen();
      try {
        // The stat, this write and the anchor's pwrite are synchronous: each
        // is a page-cache operation of a few µs, where a trip through the
        // thread pool cost the event loop far more (a wake-up of a worker and
        // one of the loop per operation: about three quarters of the CPU of a
        // signed request at a steady rate). Only fsync, which waits for the
        // disk, is asynchronous (src/server/README.md, "Performance").
        const bytesWritten = writeSync(this.fh.fd, buf, 0, buf.length);
        if (bytesWritten !== buf.length) throw new Error(`short write (${bytesWritten} of ${buf.length} bytes; disk full?)`);
        if (durable) await this.fh.sync();
      } catch (e) {
        // Never leave part of a record behind: it would fuse with the next one.
        await this.fh.truncate(before).catch(() => undefined);
        throw e;
      }
    } catch (e) {
      this.tree.truncate(treeBefore);
      const msg = `audit log ${this.file} cannot be appended: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
      if (this.lastError !== msg) this.log('error', msg);
      this.lastError = msg;
      for (const p of batch) {
        if (p.checkpoint) this.checkpointQueued = false;
        p.reject(new AuditWriteError(msg));
      }
      return;
    }
    this.lastError = undefined;
    let off = before;
    for (const len of lineLengths) {
      this.offsets.push(off);
      off += len + 1;
    }
    this.bytes = before + buf.length;
    this.lines = this.tree.size;
    this.seq = seq;
    this.hash = prev;
    batch.forEach((p, i) => {
      if (p.checkpoint) {
        this.latest = checkpointOfRecord(records[i] as unknown as Record<string, unknown>);
        this.sinceCheckpoint = 0;
        this.checkpointQueued = false;
      } else {
        this.sinceCheckpoint++;
      }
    });
    try {
      if (durable) await this.head.write({ seq: this.seq, hash: this.hash }, true);
      else this.head.writeNow({ seq: this.seq, hash: this.hash });
    } catch (e) {
      this.log('warn', `audit head anchor cannot be written: ${(e as Error).message}`);
    }
    batch.forEach((p, i) => p.resolve(records[i]!));
    if (this.sinks.length) {
      for (let i = 0; i < records.length; i++) for (const s of this.sinks) s.ship(parts[i]!, records[i]!);
    }
    if (this.sinceCheckpoint >= this.every && !this.checkpointQueued && !this.closed) this.queueCheckpoint().catch(() => undefined);
  }

  /**
   * The size of the open log when the path still names it (one stat per
   * batch: the path's stat is the open file's when device and inode match,
   * so it also says where a failed write is cut back to); undefined when the
   * log was rotated, replaced or deleted behind the open descriptor.
   */
  private currentSize(): number | undefined {
    const st = statSync(this.file, { throwIfNoEntry: false });
    if (st && st.dev === this.ident.dev && st.ino === this.ident.ino) return st.size;
    this.replacedBy = st ? 'replaced' : 'removed';
    return undefined;
  }

  private replacedBy: 'replaced' | 'removed' = 'removed';

  /** Opens the path anew after currentSize() found it replaced or gone; returns the new file's size. */
  private async reopen(): Promise<number> {
    const replaced = this.replacedBy === 'replaced';
    this.log('warn', `audit log ${this.file} was ${this.replacedBy} behind the port; writing to ${replaced ? 'the new file' : 'a new file'} from seq ${this.seq + 1}`);
    return this.openFile(false);
  }

  /**
   * Verifies the log up to the head as it is now, while appends go on:
   * from the newest checkpoint a previous verify passed (cost proportional to
   * the records since), or from the start with `full`.
   */
  async verify(opts: { full?: boolean } = {}): Promise<AuditVerifyResult> {
    const snap = { lines: this.lines, seq: this.seq, hash: this.hash };
    const from = !opts.full && this.verified && this.verified.state.lines <= snap.lines ? this.verified : undefined;
    const checker = new AuditChainChecker(from?.state);
    let newest: VerifiedPrefix | undefined;
    let lineEnd = from?.offset ?? 0;
    checker.onCheckpoint = (state) => { newest = { state, offset: lineEnd }; };
    // Up to the records that were on disk when the walk began, whatever is appended meanwhile.
    if (checker.state.lines < snap.lines) {
      await scanLines(this.file, (line, offset) => {
        lineEnd = offset + line.length + 1;
        checker.line(line.toString('utf8'));
        return checker.state.lines >= snap.lines ? 'stop' : undefined;
      }, from?.offset ?? 0);
    }
    if (checker.state.lines < snap.lines) checker.fail(`the log has ${checker.state.lines} record(s) where the port wrote ${snap.lines} (tail deleted or file replaced)`);
    else if (!checker.bad && checker.state.hash !== snap.hash) checker.fail(`the log's last record is not the one the port wrote as seq ${snap.seq} (tail replaced)`, snap.seq);
    const result = checker.result();
    if (result.ok && newest) this.verified = newest;
    return result;
  }

  /** The newest checkpoint; when there is none yet (a young log), one is written now. */
  async checkpoint(): Promise<AuditCheckpoint> {
    if (!this.latest) await this.queueCheckpoint();
    return this.latest!;
  }

  /** Each sink: what it dropped so far, and why it is not delivering (undefined when it is). */
  get sinkStatus(): Array<{ name: string; dropped: number; problem: string | undefined }> {
    return this.sinks.map((s) => ({ name: s.name, dropped: s.dropped, problem: s.problem }));
  }

  /** Committed records (lines). */
  get size(): number {
    return this.lines;
  }

  /** RFC 6962 inclusion proof of record `seq` (leaf seq-1) in the tree of the first `size` records. */
  async inclusionProof(seq: number, size: number): Promise<AuditInclusionProof> {
    const n = this.lines;
    if (!(size >= 1 && size <= n)) throw new RangeError(`size must be between 1 and ${n}, the records written`);
    if (!(seq >= 1 && seq <= size)) throw new RangeError(`seq must be between 1 and size (${size})`);
    const index = seq - 1;
    const leaf = this.tree.subtree(index, index + 1);
    const record = await this.readLine(index);
    return {
      seq,
      size,
      record: record !== undefined && leafHash(record).equals(leaf) ? record : '',
      leafHash: leaf.toString('hex'),
      root: this.tree.root(size).toString('hex'),
      proof: inclusionProof(index, size, this.tree.subtree).map((h) => h.toString('hex')),
    };
  }

  /** RFC 6962 consistency proof between the trees of the first `from` and `to` records. */
  consistencyProof(from: number, to: number): AuditConsistencyProof {
    const n = this.lines;
    if (!(to >= 1 && to <= n)) throw new RangeError(`to must be between 1 and ${n}, the records written`);
    if (!(from >= 1 && from <= to)) throw new RangeError(`from must be between 1 and to (${to})`);
    return {
      from,
      to,
      fromRoot: this.tree.root(from).toString('hex'),
      toRoot: this.tree.root(to).toString('hex'),
      proof: consistencyProof(from, to, this.tree.subtree).map((h) => h.toString('hex')),
    };
  }

  private async readLine(index: number): Promise<string | undefined> {
    const start = this.offsets.at(index);
    const end = index + 1 < this.lines ? this.offsets.at(index + 1) - 1 : this.bytes - 1;
    if (!(end >= start) || end - start > 16 * 1024 * 1024) return undefined;
    try {
      const fh = await fs.open(this.file, 'r');
      try {
        const buf = Buffer.alloc(end - start);
        const { bytesRead } = await fh.read(buf, 0, buf.length, start);
        return buf.subarray(0, bytesRead).toString('utf8');
      } finally {
        await fh.close();
      }
    } catch {
      return undefined;
    }
  }

  /** Resolves once every append queued so far has been written (or has failed). */
  async drain(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  /** The newest `limit` records, oldest first. */
  async tail(limit: number): Promise<unknown[]> {
    return readTail(this.file, limit);
  }

  /** A start that failed: lets go of file, anchor and lock without writing anything. */
  async abandon(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    await this.drain();
    for (const s of this.sinks) await s.close();
    await this.fh.close().catch(() => undefined);
    await this.head.close();
    this.lock.release();
  }

  /**
   * Clean shutdown: what the denial limit dropped is recorded, a checkpoint
   * covers every record so far, then the file, anchor and lock are released.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    for (const t of this.timers) clearInterval(t);
    const s = this.limiter.takeSuppressed();
    if (s) this.append(s).catch(() => undefined);
    this.closed = true;
    await this.drain();
    if (this.sinceCheckpoint > 0 && !this.lastError) await this.queueCheckpoint().catch(() => undefined);
    await this.drain();
    for (const s of this.sinks) await s.close();
    await this.fh.close().catch(() => undefined);
    await this.head.close();
    this.lock.release();
  }
}
