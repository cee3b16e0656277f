import type { ApprovalView } from '../../protocol/approvals.js';
import type { Output } from '../output/output.js';
import { safeLine, safeText } from './terminal-text.js';
import { signerNotes, signerText } from './signer-text.js';
import { verifyDigest } from './verify-digest.js';

function relative(iso: string): string {
  const ms = Date.parse(iso) - Date.now();
  if (!Number.isFinite(ms)) return '';
  const m = Math.round(Math.abs(ms) / 60_000);
  const text = m < 1 ? 'under a minute' : m < 120 ? `${m} min` : `${Math.round(m / 60)} h`;
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}

/** What a migration plan or dry-run answer says, as lines. */
export function planLines(plan: unknown): string[] {
  const p = plan as { pending?: unknown; direction?: unknown; planHash?: unknown; error?: { code?: unknown; detail?: unknown } } | null;
  if (p && typeof p === 'object' && p.error) return [`cannot run now: ${safeLine(p.error.detail)} [${safeLine(p.error.code)}]`];
  if (p && Array.isArray(p.pending)) {
    const verb = p.direction === 'down' ? 'revert' : 'apply';
    return [`${verb} ${p.pending.length} migration(s)${p.pending.length ? ':' : ''}`, ...p.pending.map((n) => `  ${safeLine(n)}`), ...(typeof p.planHash === 'string' ? [`planHash ${safeLine(p.planHash)}`] : [])];
  }
  return [safeText(JSON.stringify(plan, null, 2))];
}

/**
 * Exactly what will run, for `approvals show` and `approvals approve`:
 * endpoint, the signed request, params, plan, requester, reason, digest (and
 * whether it checks out locally), approvals so far, and a dry-run taken now.
 * Written to stdout for show, to stderr for approve (its stdout is the result).
 */
export function describeApproval(out: Output, v: ApprovalView, write: (line: string) => void): void {
  const c = out.colors;
  const check = verifyDigest(v);
  const pairs: Array<[string, string]> = [
    ['approval', safeLine(v.id)],
    ['state', safeLine(v.state) + (v.breakGlass ? c.red(' (break-glass: ran without approval)') : '')],
    ['endpoint', safeLine(v.endpoint)],
    ['request', `${safeLine(v.method)} ${safeLine(v.path)}${v.query ? `?${safeLine(v.query)}` : ''}`],
    ['params', safeLine(JSON.stringify(v.params))],
    ...(v.body !== undefined ? [['body', safeLine(v.body)] as [string, string]] : []),
    ['requester', `${safeLine(v.requester.name)} (${safeLine(v.requester.role)}, ${safeLine(v.requester.keyid)})${signerNotes(v.requester)}`],
    ['reason', v.breakGlass ? `${safeLine(v.breakGlass.reason)} (break-glass)` : safeLine(v.reason ?? '(none)')],
    ...(v.idempotencyKey ? [['idempotency key', safeLine(v.idempotencyKey)] as [string, string]] : []),
    ['digest', `${safeLine(v.digest)} ${check.ok === true ? c.green('(matches the signed request)') : check.ok === false ? c.red(`(DOES NOT MATCH: ${check.why})`) : c.yellow(`(not checked: ${check.why})`)}`],
    ['approvals', `${v.approvers.length} of ${v.required} (approver role ${safeLine(v.approverRole)})${v.approvers.length ? `: ${v.approvers.map((a) => signerText(a) + (a.reason ? ` — ${safeLine(a.reason)}` : '')).join(', ')}` : ''}`],
    ...(v.voided?.length ? [['voided', `${v.voided.map((a) => signerText(a)).join(', ')} (their grant ended; no longer counted)`] as [string, string]] : []),
    ['requested', `${safeLine(v.requestedAt)}`],
    ...(v.state === 'pending' ? [['expires', `${safeLine(v.expiresAt)} (${relative(v.expiresAt)})`] as [string, string]] : []),
    ...(v.rejectedBy ? [['rejected by', `${signerText(v.rejectedBy)}${v.rejectedBy.reason ? ` — ${safeLine(v.rejectedBy.reason)}` : ''}`] as [string, string]] : []),
    ...(v.result?.jobId ? [['job', safeLine(v.result.jobId)] as [string, string]] : []),
    ...(v.error ? [['error', `${safeLine(v.error.detail)} [${safeLine(v.error.code)}]`] as [string, string]] : []),
  ];
  const width = Math.max(...pairs.map(([k]) => k.length));
  for (const [k, val] of pairs) write(`${c.bold(k.padEnd(width))}  ${val}`);
  if (v.plan !== undefined) {
    write(c.bold('plan when requested'));
    for (const l of planLines(v.plan)) write(`  ${l}`);
  }
  if (v.dryRun !== undefined) {
    write(c.bold('dry-run now'));
    for (const l of planLines(v.dryRun)) write(`  ${l}`);
  }
}
