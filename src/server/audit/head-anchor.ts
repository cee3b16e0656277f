import fs from 'node:fs/promises';
import { constants, ftruncateSync, writeSync } from 'node:fs';

/** The `<audit>.head` anchor: the last record's seq and hash, so a cut tail is detectable. */
export interface HeadAnchor {
  seq: number;
  hash: string;
}

/** Every anchor is padded to this many bytes, so an overwrite in place never leaves old bytes behind. */
const ANCHOR_BYTES = 160;

/** An anchor as written: JSON padded to ANCHOR_BYTES - 1, then a newline. */
function anchorBytes(head: HeadAnchor): Buffer {
  return Buffer.from(JSON.stringify(head).padEnd(ANCHOR_BYTES - 1, ' ') + '\n');
}

export function headPath(auditFile: string): string {
  return `${auditFile}.head`;
}

export async function readHead(auditFile: string): Promise<HeadAnchor | undefined> {
  let text: string;
  try {
    // Never through a link, never blocking on a FIFO: only a regular file is an anchor.
    const fh = await fs.open(headPath(auditFile), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      if (!(await fh.stat()).isFile()) return undefined;
      text = await fh.readFile('utf8');
    } finally {
      await fh.close();
    }
  } catch {
    return undefined;
  }
  try {
    const v = JSON.parse(text) as HeadAnchor;
    if (Number.isInteger(v.seq) && typeof v.hash === 'string' && /^[0-9a-f]{64}$/.test(v.hash)) return { seq: v.seq, hash: v.hash };
  } catch {
    // fall through: an unreadable anchor is reported by verify()
  }
  return undefined;
}

/**
 * Keeps the anchor file open and overwrites it in place with one
 * fixed-size pwrite per batch: no temp file, no rename. The record is far
 * below a disk sector, so a crash leaves the old or the new anchor; a torn
 * one would not parse and is reported, never trusted.
 */
export class HeadAnchorWriter {
  private constructor(private readonly fh: fs.FileHandle) {}

  static async open(auditFile: string): Promise<HeadAnchorWriter> {
    const fh = await fs.open(headPath(auditFile), constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o600);
    const st = await fh.stat();
    if (!st.isFile()) {
      await fh.close();
      throw new Error(`${headPath(auditFile)} is not a regular file`);
    }
    if ((st.mode & 0o077) !== 0) await fh.chmod(0o600);
    return new HeadAnchorWriter(fh);
  }

  async write(head: HeadAnchor, durable: boolean): Promise<void> {
    const buf = anchorBytes(head);
    await this.fh.write(buf, 0, buf.length, 0);
    if (buf.length > ANCHOR_BYTES) await this.fh.truncate(buf.length);
    if (durable) await this.fh.datasync();
  }

  /**
   * The same overwrite, synchronously and without fsync: what the audit log
   * does after every batch that need not be durable (a page-cache pwrite of
   * a few µs costs less than its trip through the thread pool).
   */
  writeNow(head: HeadAnchor): void {
    const buf = anchorBytes(head);
    const n = writeSync(this.fh.fd, buf, 0, buf.length, 0);
    if (n !== buf.length) throw new Error(`short write of the head anchor (${n} of ${buf.length} bytes)`);
    if (buf.length > ANCHOR_BYTES) ftruncateSync(this.fh.fd, buf.length);
  }

  async initialise(head: HeadAnchor): Promise<void> {
    await this.fh.truncate(0);
    await this.write(head, true);
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }
}
