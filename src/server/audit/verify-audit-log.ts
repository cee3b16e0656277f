import fs from 'node:fs';
import readline from 'node:readline';
import { GENESIS_HASH, recordHash } from './audit-record.js';
import { readHead } from './head-anchor.js';

export interface AuditVerifyResult {
  ok: boolean;
  /** Lines (records) in the file. */
  records: number;
  firstBadRecord?: { line: number; seq?: number; reason: string };
}

export interface AuditChainState {
  result: AuditVerifyResult;
  /** The last well-formed record, to continue the chain from. */
  last: { seq: number; hash: string } | undefined;
}

/**
 * Walks the log and checks, line by line: valid JSON, seq = previous + 1,
 * prev = previous record's hash, hash = recomputed hash. Then compares the
 * last record with the head anchor, which catches a deleted tail. Edited,
 * deleted, inserted and reordered lines all break one of these.
 */
export async function walkAuditLog(file: string): Promise<AuditChainState> {
  let stream: fs.ReadStream;
  try {
    await fs.promises.access(file);
    stream = fs.createReadStream(file, { encoding: 'utf8' });
  } catch {
    const head = await readHead(file);
    if (head && head.seq > 0) {
      return { result: { ok: false, records: 0, firstBadRecord: { line: 1, seq: 1, reason: `audit log is missing but its head anchor says ${head.seq} record(s) were written` } }, last: undefined };
    }
    return { result: { ok: true, records: 0 }, last: undefined };
  }
  const rl = readline.createInterface({ input: stream, crlfDelay: Infinity });
  let lineNo = 0;
  let expectedSeq = 1;
  let prevHash = GENESIS_HASH;
  let bad: AuditVerifyResult['firstBadRecord'];
  let last: { seq: number; hash: string } | undefined;
  for await (const line of rl) {
    lineNo++;
    if (bad) continue;
    if (!line.trim()) { bad = { line: lineNo, reason: 'empty line' }; continue; }
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line) as Record<string, unknown>;
      if (!rec || typeof rec !== 'object' || Array.isArray(rec)) throw new Error('not an object');
    } catch {
      bad = { line: lineNo, reason: 'not a JSON object' };
      continue;
    }
    const seq = typeof rec.seq === 'number' ? rec.seq : undefined;
    const at = (reason: string) => (seq === undefined ? { line: lineNo, reason } : { line: lineNo, seq, reason });
    if (recordHash(rec) !== rec.hash) { bad = at('hash does not match the record (edited)'); continue; }
    if (seq !== expectedSeq) {
      bad = at(`seq ${String(seq)} where ${expectedSeq} was expected (records deleted, inserted or reordered)`);
      continue;
    }
    if (rec.prev !== prevHash) { bad = at('prev does not match the previous record\'s hash (record deleted, inserted or reordered)'); continue; }
    prevHash = rec.hash as string;
    last = { seq, hash: prevHash };
    expectedSeq++;
  }
  if (!bad) {
    const head = await readHead(file);
    const lastSeq = last?.seq ?? 0;
    if (head && head.seq > lastSeq) {
      bad = { line: lineNo + 1, seq: lastSeq + 1, reason: `the log ends at seq ${lastSeq} but its head anchor says ${head.seq} (tail deleted)` };
    } else if (head && head.seq === lastSeq && last && head.hash !== last.hash) {
      bad = { line: lineNo, seq: lastSeq, reason: 'last record does not match the head anchor (tail replaced)' };
    } else if (head && head.seq < lastSeq) {
      bad = { line: head.seq + 1, seq: head.seq + 1, reason: `records after seq ${head.seq} are not covered by the head anchor (appended outside the port?)` };
    } else if (!head && lastSeq > 0) {
      bad = { line: lineNo, seq: lastSeq, reason: 'the head anchor file is missing' };
    }
  }
  const result: AuditVerifyResult = bad ? { ok: false, records: lineNo, firstBadRecord: bad } : { ok: true, records: lineNo };
  return { result, last };
}
