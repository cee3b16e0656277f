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

/** The break-glass reason a record carries (docs/protocol.md, "Audit format"), if any. */
function breakGlassOf(r: Record<string, unknown>): string | undefined {
  return typeof r.breakGlass === 'string' ? r.breakGlass : undefined;
}

/**
 * The REASON cell: the operator's --reason, and for a break-glass run the
 * break-glass reason first (it is that run's justification).
 */
export function reasonText(reason: unknown, r: Record<string, unknown>): string {
  const own = typeof reason === 'string' && reason ? reason : '';
  const bg = breakGlassOf(r);
  if (bg === undefined) return own;
  return `BREAK-GLASS: ${bg}${own && own !== bg ? ` — ${own}` : ''}`;
}

export function auditColumns(c: Colors): Column[] {
  const outcome = (v: unknown) => {
    const s = String(v ?? '');
    return s === 'denied' || s === 'error' ? c.red(s) : s === 'accepted' ? c.yellow(s) : c.green(s);
  };
  return [
    { key: 'seq', header: 'seq', fit: 'id' },
    // Cut no shorter than the time of day (2026-12-06T20:30:36…).
    { key: 'time', header: 'time', minWidth: 20 },
    { key: 'principal', header: 'who', format: (v, r) => (v ? `${String(v)}${r.role ? ` (${String(r.role)})` : ''}` : String(r.keyid ?? '-')) },
    // The log's own records (checkpoint, repair, suppressed) have a type instead of an endpoint.
    { key: 'endpoint', header: 'endpoint', format: (v, r) => String(v ?? (r.type ? `[${String(r.type)}]` : `${String(r.method ?? '')} ${String(r.path ?? '')}`)) },
    { key: 'outcome', header: 'outcome', format: outcome },
    // A run that skipped its approval by break-glass is marked where the eye goes first.
    { key: 'status', header: 'status', optional: 2, format: (v, r) => `${breakGlassOf(r) !== undefined ? `${c.red('BREAK-GLASS')} ` : ''}${statusText(v, r)}${r.code ? ` ${String(r.code)}` : ''}` },
    { key: 'jobId', header: 'job', optional: true },
    // REASON leads with the break-glass marker too: it survives a narrow terminal that leaves STATUS out.
    { key: 'reason', header: 'reason', fit: 'text', format: (v, r) => (breakGlassOf(r) !== undefined ? c.red(reasonText(v, r)) : reasonText(v, r)) },
  ];
}
