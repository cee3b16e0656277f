import { createHash } from 'node:crypto';
import type { ApprovalView, GrantView, NotifyEventData, NotifyEventType } from '../../protocol/index.js';
import type { ApprovalChange } from '../approvals/approval-service.js';
import type { GrantChange } from '../grants/grant-service.js';
import type { StoredGrant } from '../options.js';

/** An event about to be queued: its type, the key naming the occurrence, when it happened, and its data. */
export interface EventDraft {
  type: NotifyEventType;
  /** What makes the occurrence unique (`approval.decided/<id>`): replicas that both see it queue it once. */
  key: string;
  at: string;
  /** Everything but service, instance and host, which the notifier adds. */
  data: Pick<NotifyEventData, 'endpoint' | 'principal' | 'reason' | 'command'> & Record<string, unknown>;
}

/**
 * The event's id, the `webhook-id` of every delivery of it: derived from the
 * service and the occurrence, not drawn at random, so two replicas (or one
 * replica before and after a restart) that emit the same occurrence produce
 * the same id, which the queue keeps once.
 */
export function eventId(service: string, key: string): string {
  return `msg_${createHash('sha256').update(`${service}\0${key}`).digest('base64url').slice(0, 27)}`;
}

/** A command line word, quoted for a POSIX shell when it needs it. */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Builds the commands events carry, from the configured prefix (`opsctl --context prod`). */
export class Commands {
  constructor(private readonly prefix: string) {}
  show(approvalId: string): string {
    return `${this.prefix} approvals show ${shellWord(approvalId)}`;
  }
  approve(approvalId: string): string {
    return `${this.prefix} approvals approve ${shellWord(approvalId)}`;
  }
  grants(): string {
    return `${this.prefix} grants list`;
  }
  job(jobId: string): string {
    return `${this.prefix} jobs status ${shellWord(jobId)}`;
  }
  status(): string {
    return `${this.prefix} notify status`;
  }
}

function approvalBase(a: ApprovalView) {
  return {
    endpoint: a.endpoint,
    reason: a.reason,
    approvalId: a.id,
    requester: a.requester.name,
    params: a.params,
    required: a.required,
    approvals: a.approvers.length,
    approvers: a.approvers.map((x) => x.name),
    approverRole: a.approverRole,
    requestedAt: a.requestedAt,
    expiresAt: a.expiresAt,
  };
}

/** The event of an approval's change, or undefined for changes nobody is told about. */
export function approvalEvent(c: ApprovalChange, cmd: Commands, now = new Date().toISOString()): EventDraft | undefined {
  const a = c.approval;
  switch (c.kind) {
    case 'requested':
      if (a.endpoint === 'grants.request') {
        const p = (a.params ?? {}) as { role?: unknown; ttlSeconds?: unknown };
        return {
          type: 'access.requested',
          key: `access.requested/${a.id}`,
          at: a.requestedAt,
          data: { ...approvalBase(a), principal: a.requester.name, role: p.role ?? null, ttlSeconds: p.ttlSeconds ?? null, command: cmd.show(a.id), approveCommand: cmd.approve(a.id) },
        };
      }
      return {
        type: 'approval.requested',
        key: `approval.requested/${a.id}`,
        at: a.requestedAt,
        data: { ...approvalBase(a), principal: a.requester.name, command: cmd.show(a.id), approveCommand: cmd.approve(a.id) },
      };
    case 'approved':
      return {
        type: 'approval.approved',
        // An approval that stopped counting (its grant ended) and was given again under another grant is another occurrence.
        key: `approval.approved/${a.id}/${c.by.keyid}${c.by.grantId ? `/${c.by.grantId}` : ''}`,
        at: c.by.at,
        data: {
          ...approvalBase(a),
          principal: c.by.name,
          approver: c.by.name,
          // Whom the approval counts as, and the grant it was given under with its granter (src/server/README.md, "Approvals count persons").
          approverPerson: c.by.person ?? c.by.name,
          ...(c.by.grantId ? { approverGrantId: c.by.grantId, approverGrantedBy: c.by.grantedBy ?? null } : {}),
          approverReason: c.by.reason ?? null,
          complete: a.approvers.length >= a.required,
          command: cmd.show(a.id),
        },
      };
    case 'decided': {
      const by = c.by?.name ?? null;
      return {
        type: 'approval.decided',
        key: `approval.decided/${a.id}`,
        at: now,
        data: {
          ...approvalBase(a),
          // Who decided: the requester withdrawing, the rejecter, the last approver; nobody for an expiry.
          principal: c.outcome === 'ran' || c.outcome === 'failed' ? a.approvers[a.approvers.length - 1]?.name ?? null : by,
          outcome: c.outcome,
          state: a.state,
          ...(c.outcome === 'rejected' || c.outcome === 'withdrawn' ? { decidedBy: by, decisionReason: a.rejectedBy?.reason ?? null } : {}),
          ...(a.result ? { status: a.result.status, ...(a.result.jobId ? { jobId: a.result.jobId } : {}) } : {}),
          ...(a.error ? { error: { code: a.error.code, status: a.error.status, detail: a.error.detail } } : {}),
          ...(a.supersededBy ? { supersededBy: a.supersededBy.id } : {}),
          command: cmd.show(a.id),
        },
      };
    }
    case 'break-glass':
      return {
        type: 'break_glass.used',
        key: `break_glass.used/${a.id}`,
        at: a.requestedAt,
        data: { endpoint: a.endpoint, principal: a.requester.name, reason: a.reason, approvalId: a.id, breakGlassReason: a.breakGlass?.reason ?? null, params: a.params, command: cmd.show(a.id) },
      };
    default:
      return undefined;
  }
}

function grantBase(g: StoredGrant | GrantView) {
  return {
    endpoint: g.approvalId ? 'grants.request' : 'grants.create',
    reason: g.reason,
    grantId: g.id,
    grantee: g.principal,
    keyid: g.keyid,
    role: g.role,
    createdAt: g.createdAt,
    expiresAt: g.expiresAt,
    grantedBy: g.grantedBy,
    ...(g.approvalId ? { approvalId: g.approvalId } : {}),
  };
}

/** grant.created and grant.ended (expired or revoked). */
export function grantEvent(c: GrantChange, cmd: Commands, now = new Date().toISOString()): EventDraft {
  const g = c.grant;
  switch (c.kind) {
    case 'created':
      return { type: 'grant.created', key: `grant.created/${g.id}`, at: g.createdAt, data: { ...grantBase(g), principal: g.grantedBy, command: cmd.grants() } };
    case 'revoked':
      return {
        type: 'grant.ended',
        key: `grant.ended/${g.id}`,
        at: g.revokedAt ?? now,
        data: { ...grantBase(g), endpoint: 'grants.revoke', principal: c.by.name, outcome: 'revoked', revokedBy: g.revokedBy ?? c.by.name, ...(c.endedWith ? { endedWith: c.endedWith } : {}), endedAt: g.revokedAt ?? now, command: cmd.grants() },
      };
    case 'expired':
      return { type: 'grant.ended', key: `grant.ended/${g.id}`, at: g.expiresAt, data: { ...grantBase(g), principal: g.principal, outcome: 'expired', endedAt: g.expiresAt, command: cmd.grants() } };
  }
}

/** grant.expiring, `lead` before the end. */
export function grantExpiringEvent(g: GrantView, cmd: Commands, now = Date.now()): EventDraft {
  return {
    type: 'grant.expiring',
    key: `grant.expiring/${g.id}/${g.expiresAt}`,
    at: new Date(now).toISOString(),
    data: { ...grantBase(g), principal: g.principal, secondsLeft: Math.max(0, Math.round((Date.parse(g.expiresAt) - now) / 1000)), command: cmd.grants() },
  };
}

/** What job.finished says about a job that ended. */
export interface FinishedJob {
  id: string;
  endpoint: string;
  name?: string | undefined;
  state: string;
  startedAt: string;
  endedAt: string;
  principal: string;
  reason: string | null;
  params: unknown;
  error: { code: string; message?: string } | null;
  approvalId?: string | undefined;
  breakGlass?: string | undefined;
}

export function jobEvent(j: FinishedJob, cmd: Commands): EventDraft {
  return {
    type: 'job.finished',
    key: `job.finished/${j.id}`,
    at: j.endedAt,
    data: {
      endpoint: j.endpoint,
      principal: j.principal,
      reason: j.reason,
      jobId: j.id,
      ...(j.name ? { task: j.name } : {}),
      state: j.state,
      startedAt: j.startedAt,
      endedAt: j.endedAt,
      durationMs: Math.max(0, Date.parse(j.endedAt) - Date.parse(j.startedAt)),
      params: j.params,
      ...(j.error ? { error: j.error } : {}),
      ...(j.approvalId ? { approvalId: j.approvalId } : {}),
      ...(j.breakGlass ? { breakGlass: j.breakGlass } : {}),
      command: cmd.job(j.id),
    },
  };
}
