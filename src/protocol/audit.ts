import { createHash, verify as verifySignature } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';
import { ed25519KeyFromBlob, fingerprintOfBlob, parseOpenSshPublicKey } from './fingerprint.js';
import { MerkleFrontier, leafHash } from './merkle.js';
import type { Role } from './catalog.js';

/**
 * The audit log's format, shared by the server (which writes and verifies
 * it) and the CLI (which verifies a copied log offline and checks the
 * server's proofs). See src/server/README.md, "Audit log".
 */

export const AUDIT_GENESIS_HASH = '0'.repeat(64);

/**
 * What a request record says happened (docs/protocol.md, audit format):
 * `superseded` is a held request closed because its requester ran the same
 * request by break-glass.
 */
export type AuditOutcome = 'denied' | 'accepted' | 'ok' | 'error' | 'pending' | 'approved' | 'rejected' | 'expired' | 'superseded' | 'dry-run';

/**
 * A signer of a held request, or of an approval of it, as the `approval`
 * member names them (src/server/README.md, "Approvals count persons"): the
 * key's principal name, the person it counts as, and the grant it acted
 * under with that grant's granter.
 */
export interface AuditSigner {
  name: string;
  keyid: string;
  person: string;
  grantId?: string;
  grantedBy?: string | null;
}

/** The `approval` member of the records of a held request, its decisions and its run. */
export interface AuditApprovalNote {
  id: string;
  /** The requester's and the approvers' principal names. */
  requester: string;
  approvers: string[];
  required: number;
  /** Who asked and who approved, as persons with their grants (absent in records written before persons were counted). */
  requestedBy?: AuditSigner;
  approvedBy?: AuditSigner[];
}

/**
 * The `grant` member of the records of a grant's creation and revocation
 * (src/server/README.md, "Grants"); `endedWith` when it ended because the
 * grant it was made under did (that record is `grants.revoke`, outcome `ok`,
 * with no request of its own).
 */
export interface AuditGrantNote {
  id: string;
  event: 'created' | 'revoked';
  keyid: string;
  principal: string;
  role: Role;
  expiresAt: string;
  endedWith?: string;
}

/** A request's record, and the records of what it started (a job's end, an approval's decision, a grant's end). */
export interface AuditRequestEvent {
  requestId: string;
  keyid: string | null;
  principal: string | null;
  role: string | null;
  peer: string | null;
  endpoint: string | null;
  method: string | null;
  path: string | null;
  params: unknown;
  reason: string | null;
  outcome: AuditOutcome;
  /** HTTP status of the response this record describes; null for `accepted` and job completions. */
  status: number | null;
  code?: string;
  durationMs: number;
  jobId?: string;
  /** True when the response was an Idempotency-Key replay (nothing ran). */
  replayed?: boolean;
  /** A held request's approval (src/server/README.md, "Approvals"). */
  approval?: AuditApprovalNote;
  /** The grant the signing key acted under (its own records; an expiry's or a cascaded end's: the grant that ended). */
  grantId?: string;
  /** A grant created or revoked by this request, or ended with its parent. */
  grant?: AuditGrantNote;
  /** The reason given with Opsctl-Break-Glass: ran without the approvals its policy asks for. */
  breakGlass?: string;
  /** What a job reported about its effect for the record (JobContext.auditResult), e.g. a command's exit status. */
  result?: Record<string, string | number | boolean | null>;
  /** Unauthenticated denials: the key id the request claimed (not verified; `keyid` is then null). */
  claimedKeyid?: string;
  /** Unauthenticated denials whose path was cut to 256 characters: the original length. */
  pathLength?: number;
}

/**
 * Records the log writes on its own, told apart from request records by
 * `type` (src/server/README.md, "Audit log"): `repair` (a torn tail was
 * moved aside at start), `suppressed` (unauthenticated denials dropped by
 * the rate limit), `checkpoint` (a signed Merkle tree head), `shipping` (a
 * sink is back; how many records it missed), `notify` (event delivery to a
 * receiver started failing, recovered, gave up on an event, or was
 * disabled by a 410; docs/notifications.md).
 */
export type AuditSystemRecordType = 'repair' | 'suppressed' | 'checkpoint' | 'shipping' | 'notify';

/** A `notify` record: one per change of a receiver's delivery state, not one per attempt. */
export interface AuditNotifyEvent {
  type: 'notify';
  event: 'failing' | 'recovered' | 'gave-up' | 'disabled';
  /** The endpoint's name (never its URL). */
  endpoint: string;
  /** The event's id (the deliveries' `webhook-id`) and type (a NotifyEventType; a stored queue may hold one of another version). */
  webhookId: string;
  eventType: string;
  attempts: number;
  /** The receiver's last answer: HTTP status (null when none came) and why it failed. */
  status?: number | null;
  error?: string | null;
  reason: string;
}

/** A `shipping` record: a sink is back, and this many records did not reach it since `since`. */
export interface AuditShippingEvent {
  type: 'shipping';
  sink: string;
  dropped: number;
  since: string | undefined;
  reason: string;
}

/** A `repair` record as written (AuditRepair is what verify reports of it). */
export interface AuditRepairEvent {
  type: 'repair';
  tornBytes: number;
  tornFile?: string;
  cutSeqs: { from: number; to: number };
  /** The head anchor that counted more records than the file held. */
  anchor?: { seq: number; hash: string };
  reason: string;
}

/** A `suppressed` record: unauthenticated denials not recorded one by one, counted per peer. */
export interface AuditSuppressedEvent {
  type: 'suppressed';
  outcome: 'denied';
  dropped: number;
  since: string | undefined;
  peers: Record<string, number>;
  otherPeers?: number;
}

/** A record the log writes on its own, before seq, time, prev and hash (checkpoints are AuditCheckpoint). */
export type AuditSystemEvent = AuditNotifyEvent | AuditShippingEvent | AuditRepairEvent | AuditSuppressedEvent;

/** What the log adds to every record. */
export interface AuditChainFields {
  seq: number;
  time: string;
  prev: string;
  hash: string;
}

/**
 * One record as stored, as `audit.tail` answers it and as `audit verify
 * --file` reads it: a request's record or one of the log's own. Readers
 * meet records of other versions too, so anything else may be present.
 */
export type AuditRecord = AuditChainFields & (AuditRequestEvent | AuditSystemEvent | ({ type: 'checkpoint' } & Omit<AuditCheckpoint, 'seq'>)) & { [field: string]: unknown };

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
