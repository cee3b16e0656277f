import type { ApprovalView } from '../../protocol/index.js';
import type { AuditEvent } from '../audit/audit-record.js';

/**
 * An approval as stored: the view, plus the request bytes needed to run it
 * later exactly as signed, and the audit fields of the original request.
 */
export interface ApprovalRecord extends Omit<ApprovalView, 'dryRun' | 'body'> {
  /** The request body as sent (UTF-8 JSON; '' for none). Kept even when secret: the file is 0600. */
  bodyText: string;
  /** The body has secret params: never shown, only run. */
  secret: boolean;
  /** The planHash the held plan had, enforced at run time when the request carried no expectedPlan. */
  boundPlan?: string;
  audit: Omit<AuditEvent, 'outcome' | 'status' | 'durationMs'>;
  /**
   * sha256 hex of method, path, query and body (the Idempotency-Key
   * fingerprint): a retry under the same key must match it. Absent in
   * approvals stored before; then computed from those fields.
   */
  fingerprint?: string;
}

/**
 * What remains of a decided approval once it is no longer kept in full: the
 * binding of its Idempotency-Key, so a retry is still never held or run anew.
 */
export interface IdempotencyLink {
  keyid: string;
  key: string;
  endpoint: string;
  fingerprint: string;
  approvalId: string;
  state: ApprovalView['state'];
  requestedAt: string;
}

export function toView(r: ApprovalRecord): ApprovalView {
  const { bodyText, secret, boundPlan: _b, audit: _a, fingerprint: _f, ...view } = r;
  return secret || !bodyText ? view : { ...view, body: bodyText };
}
