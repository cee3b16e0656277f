import type { IncomingMessage } from 'node:http';
import { BREAK_GLASS_HEADER, DRY_RUN_HEADER, READ_ONLY_POSTS, ProblemError, roleAllows, type ApprovalPolicy, type DryRunAnswer, type HeldAnswer, type Role } from '../../protocol/index.js';
import type { AuditEvent, AuditOutcome } from '../audit/audit-record.js';
import { REDACTED } from '../audit/redact.js';
import type { Principal } from '../options.js';
import { reasonOf } from '../pipeline/request-context.js';
import type { RegisteredRoute, RoutePolicy } from '../routing/route.js';
import { IDEMPOTENCY_KEY_FORM, requestFingerprint, type IdempotencyCache } from '../idempotency/idempotency-cache.js';
import { approvalNote, type ApprovalService } from './approval-service.js';
import { holdable } from './policy.js';
import type { HeldResult } from './run-held.js';

/** A request after authorize: authenticated, routed, role and params checked. */
export interface GateInput {
  req: IncomingMessage;
  method: string;
  path: string;
  query: string;
  body: Buffer;
  /** The RFC 9421 signature base the request was verified against. */
  signatureBase: string;
  principal: Principal;
  route: RegisteredRoute;
  params: Record<string, unknown>;
  policy: RoutePolicy;
  reason: string | undefined;
  idempotencyKey: string | undefined;
  /** The pipeline's Idempotency-Key bindings (held requests bind theirs to their approval). */
  idempotency: IdempotencyCache;
  requestId: string;
  /** The request's audit event; the gate marks break-glass on it. */
  event: AuditEvent;
}

export type GateResult =
  | { kind: 'continue'; /** Called with what the run answered (break-glass review entry). */ after?(r: HeldResult | { error: { code: string; status: number; detail: string } }): void }
  | { kind: 'respond'; status: number; body: unknown; outcome: AuditOutcome; audit?: Partial<AuditEvent>; headers?: Record<string, string> };

/** What a dry-run of a checked request says would change (the route's dryRun, or the params). */
export async function wouldChange(route: RegisteredRoute, params: Record<string, unknown>, principal: Principal, requestId: string, reason: string | undefined, probeLocks: boolean, auditParams: unknown): Promise<unknown> {
  if (!route.def.dryRun) return { run: route.def.id, params: auditParams, note: 'this endpoint has no dry-run handler: auth, role and params were checked' };
  return route.def.dryRun({ params, principal, requestId, reason, probeLocks });
}

/** The approver role: the policy's, or the higher of the endpoint's and this request's own. */
export function approverRole(route: RegisteredRoute, policy: RoutePolicy, approval: ApprovalPolicy): Role {
  if (approval.role) return approval.role;
  return roleAllows(route.def.role, policy.role) ? route.def.role : policy.role;
}

/**
 * The approval stage of the request pipeline, between authorize and admit
 * (src/server/README.md, "Approvals and dry-run"):
 *   Opsctl-Dry-Run: 1    → answer what would change, apply nothing (`dry-run`)
 *   Opsctl-Break-Glass   → an admin, where the policy allows, runs at once
 *                          (ignored where no approval is needed)
 *                          (every record marked; listed in approvals for review)
 *   Idempotency-Key      → a key bound to a held request answers that
 *                          approval as it is now (`ok`, replayed), at every
 *                          stage and whatever the policy is now; another
 *                          request under it is 422
 *   approval policy      → hold the request: 202 {approval} (`pending`)
 *   otherwise            → continue to admit and run.
 */
export async function approvalGate(service: ApprovalService, g: GateInput): Promise<GateResult> {
  const dryHeader = g.req.headers[DRY_RUN_HEADER];
  const breakGlassHeader = g.req.headers[BREAK_GLASS_HEADER];
  const dryRun = dryHeader !== undefined;
  if (dryRun && dryHeader !== '1') throw new ProblemError('request.invalid', 'Opsctl-Dry-Run must be "1"', { field: 'opsctl-dry-run' });
  const breakGlass = breakGlassHeader === undefined ? undefined : reasonOf(g.req, BREAK_GLASS_HEADER);
  if (breakGlassHeader !== undefined && !breakGlass) throw new ProblemError('request.invalid', 'Opsctl-Break-Glass needs a reason', { field: 'opsctl-break-glass' });
  if (g.method === 'GET' || READ_ONLY_POSTS.includes(g.route.def.id)) return { kind: 'continue' };

  const approval = holdable(g.route.def.id, g.method) ? g.policy.approval ?? g.route.def.approval : undefined;

  if (dryRun) {
    const change = await wouldChange(g.route, g.params, g.principal, g.requestId, g.reason, true, g.event.params);
    const body: DryRunAnswer = { dryRun: true, endpoint: g.route.def.id, params: g.event.params, wouldChange: change ?? null, ...(approval ? { approval } : {}) };
    return { kind: 'respond', status: 200, body, outcome: 'dry-run' };
  }

  // A retry of a held request, at any stage of its approval: the same
  // approval, never a new hold or a second run (checked before the policy,
  // so a policy changed since does not make it run).
  let ranBefore = false;
  if (g.idempotencyKey !== undefined) {
    if (!IDEMPOTENCY_KEY_FORM.test(g.idempotencyKey)) {
      throw new ProblemError('request.invalid', 'Idempotency-Key must be 1-255 visible ASCII characters', { field: 'idempotency-key' });
    }
    const fingerprint = requestFingerprint(g.method, g.path, g.query, g.body);
    const prior = await g.idempotency.peek(g.principal.keyid, g.idempotencyKey, g.route.def.id, fingerprint);
    if (prior?.kind === 'held') {
      const answer = service.replayAnswer(prior.approvalId);
      const rec = service.find(prior.approvalId);
      return replayed(answer, approvalNote(rec));
    }
    // It ran before (without approval, or by break-glass): admit answers it again.
    ranBefore = prior?.kind === 'done';
  }
  // Break-glass where no approval is needed changes nothing: the request
  // runs as it would anyway (a client sends the header on every mutation of
  // a command, e.g. the approvals it makes on the way).
  if (!approval || ranBefore) return { kind: 'continue' };

  const base = {
    endpoint: g.route.def.id,
    method: g.method,
    path: g.path,
    query: g.query,
    body: g.body,
    signatureBase: g.signatureBase,
    requester: g.principal,
    reason: g.reason,
    idempotencyKey: g.idempotencyKey,
    params: g.event.params,
    secret: JSON.stringify(g.event.params ?? null).includes(REDACTED),
    required: approval.count,
    approverRole: approverRole(g.route, g.policy, approval),
    audit: { ...g.event },
  };

  if (breakGlass) {
    if (!approval.breakGlass) throw new ProblemError('approval.break_glass', `the policy of ${g.route.def.id} does not allow break-glass; it needs ${approval.count} approval(s)`);
    if (g.principal.role !== 'admin') throw new ProblemError('approval.break_glass', `break-glass is for admins; ${g.principal.name} has ${g.principal.role}`);
    g.event.breakGlass = breakGlass;
    const rec = await service.recordBreakGlass({ ...base, audit: { ...g.event } }, breakGlass);
    return { kind: 'continue', after: (r) => { void service.noteResult(rec.id, r); } };
  }

  // Checked exactly as a run would be (a stale expectedPlan is refused now),
  // and the plan it would apply kept for the approvers.
  const preview = await wouldChange(g.route, g.params, g.principal, g.requestId, g.reason, false, g.event.params);
  const planHash = (preview as { planHash?: unknown } | null)?.planHash;
  const bind = typeof planHash === 'string' && g.route.def.params.properties?.expectedPlan !== undefined;
  const { answer, replayed: wasReplayed } = await service.hold({ ...base, ...(g.route.def.dryRun ? { plan: preview } : {}), ...(bind ? { boundPlan: planHash } : {}) });
  const note = approvalNote(service.find(answer.approval.id));
  if (wasReplayed) return replayed(answer, note);
  return { kind: 'respond', status: 202, body: answer, outcome: 'pending', audit: { approval: note } };
}

/**
 * The answer to a retry of a held request: its approval as it is now, 202,
 * `Idempotency-Replayed: true`; audited `pending` while it still waits,
 * else `ok`, with `replayed: true` either way (nothing new was held or run).
 */
function replayed(answer: HeldAnswer, note: NonNullable<AuditEvent['approval']>): GateResult {
  const outcome: AuditOutcome = answer.approval.state === 'pending' ? 'pending' : 'ok';
  return { kind: 'respond', status: 202, body: answer, outcome, headers: { 'idempotency-replayed': 'true' }, audit: { replayed: true, approval: note } };
}
