/**
 * The one error table of the internal port (RFC 9457 problem details).
 * `code` values are stable API: clients and runbooks match on them.
 */
export const PROBLEMS = {
  'auth.missing': { status: 401, title: 'Request is not signed' },
  'auth.unknown_key': { status: 401, title: 'Signing key is not in the allowlist' },
  'auth.bad_signature': { status: 401, title: 'Signature does not verify' },
  'auth.expired': { status: 401, title: 'Signature is outside the accepted time window' },
  'auth.replay': { status: 401, title: 'Signature nonce was already used' },
  'auth.instance': { status: 401, title: 'Signature is not bound to this instance of the service; sign again with its Opsctl-Instance' },
  'auth.forbidden': { status: 403, title: 'Role does not allow this endpoint' },
  'request.invalid': { status: 400, title: 'Request is invalid' },
  'request.too_large': { status: 413, title: 'Request body is too large' },
  'request.idempotency_mismatch': { status: 422, title: 'Idempotency-Key was already used with another request' },
  'approval.self': { status: 403, title: 'The requester cannot approve their own request' },
  'approval.expired': { status: 410, title: 'The approval expired before it was decided' },
  'approval.closed': { status: 409, title: 'The approval was already decided' },
  'approval.limit': { status: 429, title: 'Too many pending approvals for this requester' },
  'approval.break_glass': { status: 403, title: 'Break-glass is not allowed here' },
  'grant.principal_taken': { status: 409, title: 'The grant\'s principal name belongs to an allowlisted key or another live grant' },
  'precondition.failed': { status: 412, title: 'Precondition failed' },
  'conflict.locked': { status: 409, title: 'Resource is locked' },
  'not_found': { status: 404, title: 'Not found' },
  'method_not_allowed': { status: 405, title: 'Method not allowed' },
  'limit.jobs': { status: 429, title: 'Too many concurrent jobs' },
  'limit.auth': { status: 429, title: 'Too many signatures failed to verify for this key or connection; retry shortly' },
  'audit.unavailable': { status: 503, title: 'Audit log cannot be written; mutating requests are refused' },
  'store.unavailable': { status: 503, title: 'A store cannot be written (disk full, database unreachable); nothing was changed' },
  'upstream.unavailable': { status: 502, title: 'The upstream (service socket, admin API or command) cannot be reached' },
  'upstream.timeout': { status: 504, title: 'The upstream did not answer in time' },
  'upstream.too_large': { status: 502, title: 'The upstream answer exceeds the size limit' },
  'upstream.error': { status: 502, title: 'The upstream answered with an error' },
  'timeout': { status: 408, title: 'Request timed out' },
  'server.busy': { status: 503, title: 'Server is busy; retry shortly' },
  'internal': { status: 500, title: 'Internal error' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemCode = keyof typeof PROBLEMS;

/** RFC 9457 problem details body as sent by the internal port. */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  code: ProblemCode | string;
  detail?: string;
  instance?: string;
  requestId?: string;
  /** For request.invalid: the offending field, as a JSON pointer-ish path. */
  field?: string;
  /** For conflict.locked: who holds the lock. */
  holder?: string;
  [extension: string]: unknown;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export function problemType(code: string): string {
  return `https://opsctl.dev/problems/${code}`;
}

export function isProblemCode(code: string): code is ProblemCode {
  return Object.prototype.hasOwnProperty.call(PROBLEMS, code);
}
