import fs from 'node:fs/promises';
import { constants } from 'node:fs';
import path from 'node:path';
import type { PortLog } from '../logger.js';
import { GENESIS_HASH, recordHash, type AuditEvent, type AuditRecord } from './audit-record.js';
import { readHead, writeHead } from './head-anchor.js';
import { walkAuditLog, type AuditVerifyResult } from './verify-audit-log.js';
import { readTail } from './read-tail.js';

export interface AppendOptions {
  /** fsync the record (and the anchor) before resolving: for destructive actions. */
  durable?: boolean;
}

/**
 * The append-only, hash-chained JSON Lines audit log. Appends go through one
 * queue so the chain never forks; each append opens the file by path
 * (O_APPEND, 0600, no symlinks), so a rotated, replaced or unwritable file is
 * noticed at once instead of writing into a stale descriptor.
 */
export class AuditLog {
  private queue: Promise<unknown> = Promise.resolve();
  private seq = 0;
  private hash = GENESIS_HASH;
  private lastError: string | undefined;

  private constructor(readonly file: string, private readonly log: PortLog) {}

  /** Opens (creating 0600, tightening wider modes) and continues the existing chain. */
  static async open(file: string, log: PortLog): Promise<AuditLog> {
    const a = new AuditLog(path.resolve(file), log);
    await fs.mkdir(path.dirname(a.file), { recursive: true, mode: 0o700 });
    const fh = await fs.open(a.file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new Error(`${a.file} is not a regular file`);
      if ((st.mode & 0o077) !== 0) {
        await fh.chmod(0o600);
        log('warn', `audit log ${a.file} had mode ${(st.mode & 0o777).toString(8)}; tightened to 600`);
      }
    } finally {
      await fh.close();
    }
    const { result, last } = await walkAuditLog(a.file);
    if (!result.ok) log('warn', `audit log ${a.file} does not verify: line ${result.firstBadRecord?.line}: ${result.firstBadRecord?.reason}`);
    const head = await readHead(a.file);
    // Continue after whichever is further: a cut tail then stays visible as
    // a gap in the chain instead of being papered over by new records.
    const from = head && (!last || head.seq > last.seq) ? head : last;
    if (from) {
      a.seq = from.seq;
      a.hash = from.hash;
    }
    return a;
  }

  /** True while the last append succeeded. */
  get healthy(): boolean {
    return this.lastError === undefined;
  }

  get error(): string | undefined {
    return this.lastError;
  }

  append(event: AuditEvent, options: AppendOptions = {}): Promise<AuditRecord> {
    const p = this.queue.then(() => this.write(event, options.durable === true));
    this.queue = p.catch(() => undefined);
    return p;
  }

  verify(): Promise<AuditVerifyResult> {
    // Queued behind pending appends so verify sees a consistent file + anchor.
    const p = this.queue.then(async () => (await walkAuditLog(this.file)).result);
    this.queue = p.catch(() => undefined);
    return p;
  }

  /** Resolves once every append queued so far has been written (or has failed). */
  async drain(): Promise<void> {
    await this.queue;
  }

  /** The newest `limit` records, oldest first. */
  async tail(limit: number): Promise<unknown[]> {
    await this.queue;
    return readTail(this.file, limit);
  }

  private async write(event: AuditEvent, durable: boolean): Promise<AuditRecord> {
    const body: Omit<AuditRecord, 'hash'> = { seq: this.seq + 1, time: new Date().toISOString(), ...event, prev: this.hash };
    const record: AuditRecord = { ...body, hash: recordHash(body) };
    const line = JSON.stringify(record) + '\n';
    try {
      const fh = await fs.open(this.file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
      try {
        const st = await fh.stat();
        if (!st.isFile()) throw new Error('not a regular file');
        try {
          await fh.write(line);
          if (durable) await fh.sync();
        } catch (e) {
          // Never leave half a line behind: it would fuse with the next record.
          await fh.truncate(st.size).catch(() => undefined);
          throw e;
        }
      } finally {
        await fh.close();
      }
    } catch (e) {
      const msg = `audit log ${this.file} cannot be appended: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
      if (this.lastError !== msg) this.log('error', msg);
      this.lastError = msg;
      throw new Error(msg);
    }
    this.lastError = undefined;
    this.seq = record.seq;
    this.hash = record.hash;
    try {
      await writeHead(this.file, { seq: this.seq, hash: this.hash }, durable);
    } catch (e) {
      this.log('warn', `audit head anchor cannot be written: ${(e as Error).message}`);
    }
    return record;
  }
}
