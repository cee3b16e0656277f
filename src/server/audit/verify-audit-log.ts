import { AuditChainChecker, type AuditVerifyResult } from '../../protocol/audit.js';
import { readHead } from './head-anchor.js';
import { scanLines } from './scan-lines.js';

export type { AuditVerifyResult } from '../../protocol/audit.js';

export interface AuditWalk {
  result: AuditVerifyResult;
  /** seq and hash of the file's last record as written (whether or not the chain holds), to continue from. */
  last: { seq: number; hash: string } | undefined;
}

/**
 * Walks a whole log file (a copy, or the live log at start): the chain and
 * every checkpoint (see AuditChainChecker), then the head anchor beside it,
 * which catches a tail deleted after the last checkpoint. Edited, deleted,
 * inserted and reordered lines all break one of these.
 */
export async function walkAuditLog(file: string, opts: { pinnedKey?: string; head?: boolean } = {}): Promise<AuditWalk> {
  const checker = new AuditChainChecker(undefined, opts.pinnedKey);
  let lastLine: Buffer | undefined;
  const { partial } = await scanLines(file, (line) => {
    checker.line(line.toString('utf8'));
    lastLine = line;
  });
  if (partial.length > 0) checker.fail(`the log ends in ${partial.length} byte(s) without a newline (a torn record)`);
  let last: AuditWalk['last'];
  if (lastLine) {
    try {
      const r = JSON.parse(lastLine.toString('utf8')) as { seq?: unknown; hash?: unknown };
      if (typeof r.seq === 'number' && typeof r.hash === 'string') last = { seq: r.seq, hash: r.hash };
    } catch {
      // an unparseable last line: continue from the head anchor
    }
  }
  if (opts.head !== false) {
    const head = await readHead(file);
    const lastSeq = checker.bad ? undefined : checker.state.seq;
    if (lastSeq !== undefined) {
      if (head && head.seq > lastSeq) checker.fail(`the log ends at seq ${lastSeq} but its head anchor says ${head.seq} (tail deleted)`, lastSeq + 1);
      else if (head && head.seq === lastSeq && lastSeq > 0 && head.hash !== checker.state.hash) checker.fail('last record does not match the head anchor (tail replaced)', lastSeq);
      else if (head && head.seq < lastSeq) checker.fail(`records after seq ${head.seq} are not covered by the head anchor (appended outside the port?)`, head.seq + 1);
      else if (!head && lastSeq > 0) checker.fail('the head anchor file is missing', lastSeq);
    }
  }
  return { result: checker.result(), last };
}
