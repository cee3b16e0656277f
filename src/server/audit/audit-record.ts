import { createHash } from 'node:crypto';
import { AUDIT_GENESIS_HASH, auditRecordHash, type AuditRecord, type AuditRequestEvent } from '../../protocol/audit.js';
import { canonicalJson } from '../../protocol/canonical-json.js';

// The shapes of the records are the protocol's (src/protocol/audit.ts): the
// CLI reads what the port writes, so both take them from there.
export type { AuditOutcome, AuditRecord, AuditSystemEvent, AuditSystemRecordType } from '../../protocol/audit.js';

/** What the port knows about a request's event; the log adds seq, time, prev and hash. */
export type AuditEvent = AuditRequestEvent;

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
