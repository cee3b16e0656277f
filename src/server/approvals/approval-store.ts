import fs from 'node:fs/promises';
import path from 'node:path';
import { randomId } from '../random-id.js';
import type { ApprovalRecord } from './approval-record.js';

/** Decided approvals kept for review (pending ones are always kept). */
const KEEP_DECIDED = 500;

/**
 * Approvals in one JSON file in the data dir, replaced atomically on every
 * change (temp file 0600 in the same directory, fsync, rename, fsync the
 * directory): after a crash or restart the pending ones are still there.
 */
export class ApprovalStore {
  constructor(readonly file: string) {}

  async load(): Promise<ApprovalRecord[]> {
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Error(`approval store ${this.file} is not valid JSON; fix or move it aside`);
    }
    const list = (parsed as { approvals?: unknown })?.approvals;
    if (!Array.isArray(list)) throw new Error(`approval store ${this.file} has no "approvals" list`);
    return list as ApprovalRecord[];
  }

  async save(records: ApprovalRecord[]): Promise<void> {
    const pending = records.filter((r) => r.state === 'pending');
    const decided = records.filter((r) => r.state !== 'pending').slice(-KEEP_DECIDED);
    const keep = records.filter((r) => pending.includes(r) || decided.includes(r));
    const dir = path.dirname(path.resolve(this.file));
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const tmp = path.join(dir, `.${path.basename(this.file)}.${randomId(8)}.tmp`);
    const fh = await fs.open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(JSON.stringify({ version: 1, approvals: keep }, null, 1) + '\n');
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await fs.rename(tmp, this.file);
    } catch (e) {
      await fs.rm(tmp, { force: true });
      throw e;
    }
    const d = await fs.open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  }
}
