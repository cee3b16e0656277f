/** Extra request headers of protocol v1. Each is covered by the signature when present. */
export const REASON_HEADER = 'opsctl-reason';
export const IDEMPOTENCY_HEADER = 'idempotency-key';
/** Response header carrying the server's request id (also in the audit record). */
export const REQUEST_ID_HEADER = 'x-request-id';
/** `Opsctl-Break-Glass: <reason>`: an admin runs an approval-gated request at once (where the policy allows). */
export const BREAK_GLASS_HEADER = 'opsctl-break-glass';
/** `Opsctl-Dry-Run: 1`: everything is checked, nothing is applied; the answer says what would change. */
export const DRY_RUN_HEADER = 'opsctl-dry-run';
/**
 * `Opsctl-Instance`: the random id of one running instance of the internal
 * port (new at every start), sent on every response. A request must carry it
 * and cover it with the signature, so that signed bytes are good for that
 * instance only: not after a restart, not on another replica
 * (docs/security.md, "Replay").
 */
export const INSTANCE_HEADER = 'opsctl-instance';
