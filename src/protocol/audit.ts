import { createHash, verify as verifySignature } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';
import { ed25519KeyFromBlob, fingerprintOfBlob, parseOpenSshPublicKey } from './fingerprint.js';
import { MerkleFrontier, leafHash } from './merkle.js';

/**
 * The audit log's format, shared by the server (which writes and verifies
 * it) and the CLI (which verifies a copied log offline and checks the
 * server's proofs). See src/server/README.md, "Audit log".
 */

export const AUDIT_GENESIS_HASH = '0'.repeat(64);

/** sha256 hex over prev + the canonical JSON of the record without `hash`. */
export function auditRecordHash(record: Record<string, unknown>): string {
  const { hash: _ignored, ...rest } = record;
  return createHash('sha256').update(String(rest.prev)).update(canonicalJson(rest)).digest('hex');
}

/** What a checkpoint signs (and what anyone re-derives to check it). */
export interface AuditCheckpointBody {
  /** Records (lines) of the log the tree covers: every record before the checkpoint. */
  size: number;
  /** RFC 6962 Merkle tree hash over those records, hex. */
  root: string;
  time: string;
}

/** `GET /v1/audit/checkpoint`, and the fields of a `checkpoint` record. */
export interface AuditCheckpoint extends AuditCheckpointBody {
  /** The checkpoint record's own seq. */
  seq: number;
  /** OpenSSH SHA256 fingerprint of the audit signing key. */
  keyid: string;
  /** `ssh-ed25519 AAAA…` */
  publicKey: string;
  /** Ed25519 over auditCheckpointMessage(), base64. */
  signature: string;
}

/** `GET /v1/audit/proof?seq=N&size=M` */
export interface AuditInclusionProof {
  seq: number;
  size: number;
  /** The record's line exactly as stored (its bytes are the Merkle leaf). */
  record: string;
  leafHash: string;
  root: string;
  proof: string[];
}

/** `GET /v1/audit/consistency?from=M&to=K` */
export interface AuditConsistencyProof {
  from: number;
  to: number;
  fromRoot: string;
  toRoot: string;
  proof: string[];
}

/**
 * A `repair` record: what the service found cut from its log's tail at a
 * start, and moved aside or lost (src/server/README.md, "Audit log").
 */
export interface AuditRepair {
  seq: number;
  /** Bytes of an incomplete last record moved aside (0 when the cut fell on a record boundary). */
  tornBytes: number;
  /** Where those bytes went (`<log>.torn-<time>`, beside the log); absent when there were none. */
  tornFile?: string;
  /**
   * The seqs of the records that were cut: from the first one the file no
   * longer holds whole (the repair record takes its seq) to the last one the
   * head anchor had counted. Absent in repairs written by older versions.
   */
  cutSeqs?: { from: number; to: number };
}

/** `GET /v1/audit/verify`, and `opsctl audit verify --file -o json`. */
export interface AuditVerifyResult {
  ok: boolean;
  /** Lines (records) in the file up to where verification stopped. */
  records: number;
  checkpoints: number;
  lastCheckpoint?: AuditCheckpoint;
  /** Torn tails the service cut off at start (each a `repair` record in the chain). */
  repairs: AuditRepair[];
  /** Where this walk began: 0 for a full walk, else the record count at the newest already-verified checkpoint. */
  verifiedFrom: number;
  /** Exact repeats skipped in a shipped copy (records sent again after a reconnect). */
  repeats?: number;
  firstBadRecord?: { line: number; seq?: number; reason: string };
}

/** The exact bytes a checkpoint's signature covers. */
export function auditCheckpointMessage(c: AuditCheckpointBody): Buffer {
  return Buffer.from(`opsctl audit checkpoint v1\nsize ${c.size}\nroot ${c.root}\ntime ${c.time}\n`, 'utf8');
}

/**
 * Checks a checkpoint's signature. With `pinned` (an OpenSSH public key
 * line), the checkpoint must also be signed by that key, not merely by the
 * key it names itself. Returns why not, or undefined when it holds.
 */
export function checkAuditCheckpointSignature(c: AuditCheckpoint, pinned?: string): string | undefined {
  let blob: Buffer;
  try {
    blob = parseOpenSshPublicKey(pinned ?? c.publicKey).blob;
  } catch (e) {
    return `${pinned ? 'the given' : 'the checkpoint\'s'} public key cannot be read: ${(e as Error).message}`;
  }
  if (pinned && fingerprintOfBlob(blob) !== c.keyid) return `signed by ${String(c.keyid)}, not by the expected key ${fingerprintOfBlob(blob)}`;
  if (!pinned && fingerprintOfBlob(blob) !== c.keyid) return 'keyid does not match the public key';
  if (typeof c.signature !== 'string' || !Number.isInteger(c.size) || typeof c.root !== 'string' || typeof c.time !== 'string') return 'malformed checkpoint';
  try {
    if (!verifySignature(null, auditCheckpointMessage(c), ed25519KeyFromBlob(blob), Buffer.from(c.signature, 'base64'))) return 'bad signature';
  } catch (e) {
    return `signature cannot be checked: ${(e as Error).message}`;
  }
  return undefined;
}

export function checkpointOfRecord(rec: Record<string, unknown>): AuditCheckpoint {
  return {
    seq: rec.seq as number,
    size: rec.size as number,
    root: rec.root as string,
    time: rec.time as string,
    keyid: rec.keyid as string,
    publicKey: rec.publicKey as string,
    signature: rec.signature as string,
  };
}

function repairOfRecord(rec: Record<string, unknown>, seq: number): AuditRepair {
  const cut = rec.cutSeqs as { from?: unknown; to?: unknown } | undefined;
  return {
    seq,
    tornBytes: Number(rec.tornBytes ?? 0),
    ...(typeof rec.tornFile === 'string' ? { tornFile: rec.tornFile } : {}),
    ...(cut && Number.isInteger(cut.from) && Number.isInteger(cut.to) ? { cutSeqs: { from: cut.from as number, to: cut.to as number } } : {}),
  };
}

/** Where a chain walk stands after some lines: enough to resume it later (incremental verify). */
export interface AuditChainState {
  lines: number;
  /** seq of the last record, 0 before the first. */
  seq: number;
  hash: string;
  frontier: MerkleFrontier;
  checkpoints: number;
  lastCheckpoint?: AuditCheckpoint;
  repairs: AuditRepair[];
}

export function genesisChainState(): AuditChainState {
  return { lines: 0, seq: 0, hash: AUDIT_GENESIS_HASH, frontier: new MerkleFrontier(), checkpoints: 0, repairs: [] };
}

export function cloneChainState(s: AuditChainState): AuditChainState {
  return { ...s, frontier: s.frontier.clone(), repairs: [...s.repairs] };
}

/**
 * Walks audit records line by line: valid JSON object, hash = recomputed
 * hash, seq = previous + 1, prev = previous hash; each checkpoint record's
 * size and Merkle root must match the records before it and its signature
 * must verify (against `pinnedKey` when given). Stops judging at the first
 * bad record but keeps counting lines.
 */
export class AuditChainChecker {
  readonly state: AuditChainState;
  bad: AuditVerifyResult['firstBadRecord'];
  /** Called after each good checkpoint record with the state just after it. */
  onCheckpoint?: (state: AuditChainState) => void;
  private readonly startedAt: number;

  /** With skipRepeats, a record identical to one already seen (same seq and hash) is skipped, not judged. */
  constructor(from: AuditChainState = genesisChainState(), private readonly pinnedKey?: string, private readonly skipRepeats = false) {
    this.state = cloneChainState(from);
    this.startedAt = from.lines;
    this.fileLines = from.lines;
  }

  /** Exact repeats skipped (a shipped copy may receive a record twice after a reconnect). */
  repeats = 0;
  private fileLines = 0;
  private readonly seen = new Map<number, string>();

  /** Feeds one line (without its newline). */
  line(line: string): void {
    const s = this.state;
    this.fileLines++;
    if (this.skipRepeats && !this.bad && this.isRepeat(line)) {
      this.repeats++;
      return;
    }
    s.lines++;
    if (this.bad) return;
    const lineNo = this.fileLines;
    if (!line.trim()) { this.bad = { line: lineNo, reason: 'empty line' }; return; }
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line) as Record<string, unknown>;
      if (!rec || typeof rec !== 'object' || Array.isArray(rec)) throw new Error('not an object');
    } catch {
      this.bad = { line: lineNo, reason: 'not a JSON object (a torn or edited record)' };
      return;
    }
    const seq = typeof rec.seq === 'number' ? rec.seq : undefined;
    const at = (reason: string) => (seq === undefined ? { line: lineNo, reason } : { line: lineNo, seq, reason });
    if (auditRecordHash(rec) !== rec.hash) { this.bad = at('hash does not match the record (edited)'); return; }
    if (seq !== s.seq + 1) { this.bad = at(`seq ${String(seq)} where ${s.seq + 1} was expected (records deleted, inserted or reordered)`); return; }
    if (rec.prev !== s.hash) { this.bad = at('prev does not match the previous record\'s hash (record deleted, inserted or reordered)'); return; }
    if (rec.type === 'checkpoint') {
      const c = checkpointOfRecord(rec);
      if (c.size !== s.frontier.size) { this.bad = at(`checkpoint covers ${String(c.size)} record(s) but ${s.frontier.size} precede it`); return; }
      if (c.root !== s.frontier.root().toString('hex')) { this.bad = at('checkpoint root does not match the records before it'); return; }
      const why = checkAuditCheckpointSignature(c, this.pinnedKey);
      if (why) { this.bad = at(`checkpoint signature: ${why}`); return; }
    }
    if (rec.type === 'repair') s.repairs.push(repairOfRecord(rec, seq!));
    s.seq = seq!;
    s.hash = rec.hash as string;
    s.frontier.push(leafHash(line));
    if (this.skipRepeats) {
      this.seen.set(s.seq, s.hash);
      if (this.seen.size > 100_000) this.seen.delete(this.seen.keys().next().value!);
    }
    if (rec.type === 'checkpoint') {
      s.checkpoints++;
      s.lastCheckpoint = checkpointOfRecord(rec);
      this.onCheckpoint?.(cloneChainState(s));
    }
  }

  private isRepeat(line: string): boolean {
    const m = /^\{"seq":(\d+),/.exec(line);
    if (!m || Number(m[1]) > this.state.seq) return false;
    const h = /"hash":"([0-9a-f]{64})"\}$/.exec(line);
    return h !== null && this.seen.get(Number(m[1])) === h[1];
  }

  /** Marks the walk bad (e.g. a cut tail found by comparing with a head). */
  fail(reason: string, seq?: number): void {
    if (!this.bad) this.bad = seq === undefined ? { line: this.fileLines + 1, reason } : { line: this.fileLines + 1, seq, reason };
  }

  result(): AuditVerifyResult {
    const s = this.state;
    return {
      ok: !this.bad,
      records: s.lines,
      checkpoints: s.checkpoints,
      ...(s.lastCheckpoint ? { lastCheckpoint: s.lastCheckpoint } : {}),
      repairs: s.repairs,
      verifiedFrom: this.startedAt,
      ...(this.repeats ? { repeats: this.repeats } : {}),
      ...(this.bad ? { firstBadRecord: this.bad } : {}),
    };
  }
}
