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
}

export function toView(r: ApprovalRecord): ApprovalView {
  const { bodyText, secret, boundPlan: _b, audit: _a, ...view } = r;
  return secret || !bodyText ? view : { ...view, body: bodyText };
}
