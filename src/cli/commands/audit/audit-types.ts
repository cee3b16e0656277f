import type { Colors, Column } from '../../output/output.js';

/** One audit record as audit.tail returns it: the protocol's shape (docs/protocol.md: audit format). */
export type { AuditRecord, AuditVerifyResult } from '../../../protocol/audit.js';

/**
 * The STATUS cell: the HTTP status, or where a record has none
 * (docs/protocol.md, audit format) what it marks: the write-ahead `accepted`
 * record before a change runs; a job's completion, how the job ended; an
 * approval's record, its approvals so far; a grant's expiry.
 */
export function statusText(status: unknown, r: Record<string, unknown>): string {
  if (status !== null && status !== undefined) return String(status);
  if (r.outcome === 'accepted') return r.jobId ? 'job started' : 'started';
  if (r.jobId && r.outcome === 'ok') return 'job succeeded';
  if (r.jobId && r.outcome === 'error') return r.code === 'cancelled' ? 'job cancelled' : 'job failed';
  // An approval's own records (approved, rejected, expired): how far it got.
  const approval = r.approval as { approvers?: unknown; required?: unknown } | undefined;
  if (approval && Array.isArray(approval.approvers) && typeof approval.required === 'number') return `${approval.approvers.length}/${approval.required} approvals`;
  if (r.grantId && r.outcome === 'expired') return 'grant ended';
  return '';
}

export function auditColumns(c: Colors): Column[] {
  const outcome = (v: unknown) => {
    const s = String(v ?? '');
    return s === 'denied' || s === 'error' ? c.red(s) : s === 'accepted' ? c.yellow(s) : c.green(s);
  };
  return [
    { key: 'seq', header: 'seq' },
    { key: 'time', header: 'time' },
    { key: 'principal', header: 'who', format: (v, r) => (v ? `${String(v)}${r.role ? ` (${String(r.role)})` : ''}` : String(r.keyid ?? '-')) },
    // The log's own records (checkpoint, repair, suppressed) have a type instead of an endpoint.
    { key: 'endpoint', header: 'endpoint', format: (v, r) => String(v ?? (r.type ? `[${String(r.type)}]` : `${String(r.method ?? '')} ${String(r.path ?? '')}`)) },
    { key: 'outcome', header: 'outcome', format: outcome },
    { key: 'status', header: 'status', format: (v, r) => `${statusText(v, r)}${r.code ? ` ${String(r.code)}` : ''}` },
    { key: 'jobId', header: 'job' },
    { key: 'reason', header: 'reason' },
  ];
}
