import { readPrivateFile, replacePrivateFile } from '../private-file.js';
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
 * Read and written as every file of the port's own (src/server/README.md,
 * "Files"): a link or a FIFO at its path refuses the start.
 */
export class ApprovalStore {
  constructor(readonly file: string) {}

  async load(): Promise<ApprovalFile> {
    const text = await readPrivateFile(this.file, 'approval store');
    if (text === undefined) return { approvals: [], links: [] };
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
    await replacePrivateFile(this.file, JSON.stringify({ version: 1, approvals: keep, links: capLinks(links) }, null, 1) + '\n');
  }
}
