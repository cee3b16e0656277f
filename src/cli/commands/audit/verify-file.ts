import fs from 'node:fs';
import { AuditChainChecker, type AuditVerifyResult } from '../../../protocol/audit.js';

/** What an offline walk adds to the chain's verdict. */
export interface OfflineVerifyResult extends AuditVerifyResult {
  /**
   * Records after the newest checkpoint (all of them when there is none):
   * nothing signed covers them, so a copy cut there, or with records
   * replaced there and re-chained, cannot be told from the whole log.
   */
  tailNotCovered: number;
}

/**
 * Verifies a copied audit log with no server: the hash chain, and each
 * checkpoint's Merkle root and signature (against `pinnedKey` when given).
 * A tail without its newline counts as a torn record.
 */
export async function verifyLogFile(file: string, pinnedKey?: string): Promise<OfflineVerifyResult> {
  // A shipped copy may hold a record twice (sent again after a reconnect): exact repeats are skipped.
  const checker = new AuditChainChecker(undefined, pinnedKey, true);
  let coveredLines = 0;
  checker.onCheckpoint = (state) => { coveredLines = state.lines; };
  let carry = Buffer.alloc(0);
  for await (const chunk of fs.createReadStream(file)) {
    const data = carry.length ? Buffer.concat([carry, chunk as Buffer]) : (chunk as Buffer);
    let from = 0;
    for (let nl = data.indexOf(10, from); nl !== -1; nl = data.indexOf(10, from)) {
      checker.line(data.subarray(from, nl).toString('utf8'));
      from = nl + 1;
    }
    carry = Buffer.from(data.subarray(from));
  }
  if (carry.length > 0) checker.fail(`the log ends in ${carry.length} byte(s) without a newline (a torn record)`);
  const result = checker.result();
  return { ...result, tailNotCovered: Math.max(0, result.records - coveredLines) };
}
