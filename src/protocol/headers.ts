/** Extra request headers of protocol v1. Both are covered by the signature when present. */
export const REASON_HEADER = 'opsctl-reason';
export const IDEMPOTENCY_HEADER = 'idempotency-key';
/** Response header carrying the server's request id (also in the audit record). */
export const REQUEST_ID_HEADER = 'x-request-id';
