import { createHash } from 'node:crypto';
import { AUDIT_GENESIS_HASH, auditRecordHash } from '../../protocol/audit.js';
import { canonicalJson } from '../../protocol/canonical-json.js';

/** `superseded`: a held request closed because its requester ran the same request by break-glass. */
export type AuditOutcome = 'denied' | 'accepted' | 'ok' | 'error' | 'pending' | 'approved' | 'rejected' | 'expired' | 'superseded' | 'dry-run';

/** What the port knows about an event; the log adds seq, time, prev and hash. */
export interface AuditEvent {
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
  /** A held request's approval: id, who asked, who approved so far (src/server/README.md, "Approvals"). */
  approval?: { id: string; requester: string; approvers: string[]; required: number };
  /** The reason given with Opsctl-Break-Glass: ran without the approvals its policy asks for. */
  breakGlass?: string;
  /** Unauthenticated denials: the key id the request claimed (not verified; `keyid` is then null). */
  claimedKeyid?: string;
  /** Unauthenticated denials whose path was cut to 256 characters: the original length. */
  pathLength?: number;
}

export interface AuditRecord extends AuditEvent {
  seq: number;
  time: string;
  prev: string;
  hash: string;
}

/**
 * Records the log writes on its own, told apart from request records by
 * `type`: `repair` (a torn tail was moved aside at start), `suppressed`
 * (unauthenticated denials dropped by the rate limit), `checkpoint` (a
 * signed Merkle tree head), `shipping` (a sink is back; how many records
 * it missed), `notify` (event delivery to a receiver started failing,
 * recovered, gave up on an event, or was disabled by a 410; see
 * docs/notifications.md). See src/server/README.md, "Audit log".
 */
export type AuditSystemRecordType = 'repair' | 'suppressed' | 'checkpoint' | 'shipping' | 'notify';

export const GENESIS_HASH = AUDIT_GENESIS_HASH;

/** sha256 hex over prev + the canonical JSON of the record without `hash`. */
export function recordHash(record: Omit<AuditRecord, 'hash'> | Record<string, unknown>): string {
  return auditRecordHash(record as Record<string, unknown>);
}

/**
 * recordHash() of a record that has no `hash` member yet, without copying
 * it first: the writer's per-record path.
 */
export function bodyHash(body: Omit<AuditRecord, 'hash'> | Record<string, unknown>): string {
  const b = body as Record<string, unknown>;
  if ('hash' in b) return recordHash(b);
  return createHash('sha256').update(String(b.prev)).update(canonicalJson(b)).digest('hex');
}
