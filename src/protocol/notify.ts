/**
 * Event notifications (docs/notifications.md): the event types the internal
 * port emits, and the answers of notify.status and notify.test. Shared by
 * the server and the CLI.
 */

/** Every event type a port emits, in the order docs/notifications.md describes them. */
export const NOTIFY_EVENT_TYPES = [
  'approval.requested',
  'approval.approved',
  'approval.decided',
  'access.requested',
  'break_glass.used',
  'grant.created',
  'grant.expiring',
  'grant.ended',
  'job.finished',
  'notify.test',
] as const;

export type NotifyEventType = (typeof NOTIFY_EVENT_TYPES)[number];

/** How a held request ended, in approval.decided. */
export type ApprovalOutcome = 'ran' | 'failed' | 'rejected' | 'expired' | 'withdrawn';

/**
 * The body of every delivery (Standard Webhooks): `type`, `timestamp` (when
 * it happened, not when it was sent) and `data`. The `webhook-id` header is
 * the event's id, the same on every retry.
 */
export interface NotifyEvent<D = NotifyEventData> {
  type: NotifyEventType;
  timestamp: string;
  data: D;
}

/** What every event's data carries (docs/notifications.md, "Events"). */
export interface NotifyEventData {
  service: string;
  /** The port's instance id (new at every start) and the host it runs on. */
  instance: string;
  host: string;
  /** The endpoint acted on (`migrations.down`, `tasks.run`…), null where none is. */
  endpoint: string | null;
  /** Who acted: the requester, the approver, the granter, whoever started the job. */
  principal: string | null;
  reason: string | null;
  /** The approval (or break-glass review entry) the event is about, when there is one. */
  approvalId?: string;
  /** The exact command a person runs to look at it or act on it. */
  command: string;
  [field: string]: unknown;
}

/** One endpoint as GET /v1/notify shows it: never its URL or secret. */
export interface NotifyEndpointStatus {
  name: string;
  kind: 'webhook' | 'slack';
  /** The event filter (`["*"]` for every event). */
  events: string[];
  /** HMAC (`v1`) signatures are sent too (a whsec_ secret is configured). */
  hmac: boolean;
  /** ok, failing (failed attempts in a row at or past the threshold, or a delivery given up), disabled (answered 410). */
  state: 'ok' | 'failing' | 'disabled';
  consecutiveFailures: number;
  delivered: number;
  failed: number;
  droppedDeliveries: number;
  lastSuccessAt: string | null;
  lastFailure: { at: string; status: number | null; error: string } | null;
}

export interface NotifyStatus {
  /** The Ed25519 public key of every `v1a` signature, `whpk_` + base64 of the raw 32 bytes; null when notifications are not configured. */
  publicKey: string | null;
  endpoints: NotifyEndpointStatus[];
}

/** One endpoint's answer to notify.test. */
export interface NotifyTestResult {
  endpoint: string;
  kind: 'webhook' | 'slack';
  ok: boolean;
  /** The receiver's HTTP status, null when none came (refused, timed out). */
  status: number | null;
  error?: string;
  webhookId: string;
  ms: number;
}

export interface NotifyTestAnswer {
  results: NotifyTestResult[];
}
