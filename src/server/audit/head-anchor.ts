import fs from 'node:fs/promises';
import path from 'node:path';
import { randomId } from '../random-id.js';

/** The `<audit>.head` anchor: the last record's seq and hash, so a cut tail is detectable. */
export interface HeadAnchor {
  seq: number;
  hash: string;
}

export function headPath(auditFile: string): string {
  return `${auditFile}.head`;
}

export async function readHead(auditFile: string): Promise<HeadAnchor | undefined> {
  let text: string;
  try {
    text = await fs.readFile(headPath(auditFile), 'utf8');
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

/** Replaces the anchor atomically (temp file 0600 + rename; fsync'ed when durable). */
export async function writeHead(auditFile: string, head: HeadAnchor, durable: boolean): Promise<void> {
  const target = headPath(auditFile);
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${randomId(8)}.tmp`);
  const fh = await fs.open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(JSON.stringify(head) + '\n');
    if (durable) await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await fs.rename(tmp, target);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}
