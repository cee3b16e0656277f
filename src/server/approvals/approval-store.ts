import fs from 'node:fs/promises';
import path from 'node:path';
import { randomId } from '../random-id.js';
import type { ApprovalRecord, IdempotencyLink } from './approval-record.js';

/** Decided approvals kept for review (pending ones are always kept). */
const KEEP_DECIDED = 500;
/** Idempotency links of approvals no longer kept in full, at most (the newest). */
const KEEP_LINKS = 10_000;

/** What the file holds. */
export interface ApprovalFile {
  approvals: ApprovalRecord[];
  /** Idempotency-Key bindings of decided approvals dropped from `approvals` (src/server/README.md, "Approvals and dry-run"). */
  links: IdempotencyLink[];
}

/** The approvals a save keeps (every pending one, the newest KEEP_DECIDED decided ones), and those it drops. */
export function pruneApprovals(records: ApprovalRecord[]): { keep: ApprovalRecord[]; dropped: ApprovalRecord[] } {
  const decided = records.filter((r) => r.state !== 'pending');
  const drop = new Set(decided.slice(0, Math.max(0, decided.length - KEEP_DECIDED)));
  return { keep: records.filter((r) => !drop.has(r)), dropped: records.filter((r) => drop.has(r)) };
}

/** At most KEEP_LINKS links, the newest. */
export function capLinks(links: IdempotencyLink[]): IdempotencyLink[] {
  return links.length > KEEP_LINKS ? links.slice(-KEEP_LINKS) : links;
}

/**
 * Approvals in one JSON file in the data dir, replaced atomically on every
 * change (temp file 0600 in the same directory, fsync, rename, fsync the
 * directory): after a crash or restart the pending ones are still there.
 */
export class ApprovalStore {
  constructor(readonly file: string) {}

  async load(): Promise<ApprovalFile> {
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { approvals: [], links: [] };
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
    const links = (parsed as { links?: unknown }).links;
    if (links !== undefined && !Array.isArray(links)) throw new Error(`approval store ${this.file}: "links" is not a list`);
    return { approvals: list as ApprovalRecord[], links: (links ?? []) as IdempotencyLink[] };
  }

  /** Writes these approvals and links, atomically (see the class comment). */
  async save(keep: ApprovalRecord[], links: IdempotencyLink[] = []): Promise<void> {
    const dir = path.dirname(path.resolve(this.file));
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const tmp = path.join(dir, `.${path.basename(this.file)}.${randomId(8)}.tmp`);
    const fh = await fs.open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(JSON.stringify({ version: 1, approvals: keep, links: capLinks(links) }, null, 1) + '\n');
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
