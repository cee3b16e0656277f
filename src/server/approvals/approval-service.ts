import { ProblemError, roleAllows, type ApprovalState, type ApprovalView, type HeldAnswer, type Role } from '../../protocol/index.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { AuditEvent } from '../audit/audit-record.js';
import type { PortLog } from '../logger.js';
import type { Principal } from '../options.js';
import { randomId } from '../random-id.js';
import { toView, type ApprovalRecord } from './approval-record.js';
import { ApprovalStore } from './approval-store.js';
import { requestDigest, sameDigest, samePerson } from './digest.js';
import { runHeld, type HeldResult, type HeldRunDeps } from './run-held.js';
import { quoted } from '../../protocol/wording.js';

export interface ApprovalServiceOptions {
  file: string;
  expirySeconds: number;
  maxPendingPerRequester: number;
  audit: AuditLog;
  log: PortLog;
  run: HeldRunDeps;
}

/** A request as the pipeline checked it, about to be held (or run by break-glass). */
export interface HoldInput {
  endpoint: string;
  method: string;
  path: string;
  query: string;
  body: Buffer;
  signatureBase: string;
  requester: Principal;
  reason: string | undefined;
  idempotencyKey: string | undefined;
  /** Params as the audit record shows them (redacted). */
  params: unknown;
  secret: boolean;
  required: number;
  approverRole: Role;
  plan?: unknown;
  boundPlan?: string;
  audit: Omit<AuditEvent, 'outcome' | 'status' | 'durationMs'>;
}

/** Who acts on an approval, with the audit fields of their own request. */
export interface Actor {
  principal: Principal;
  requestId: string;
  peer: string | null;
}

export interface ApproveOutcome {
  approval: ApprovalView;
  /** False when this person had approved already (approving twice counts once). */
  counted: boolean;
  result?: HeldResult;
}

/**
 * Held requests and their approvals (src/server/README.md, "Approvals and
 * dry-run"). Every change is serialised, persisted atomically before it is
 * answered, and written to the audit log naming requester and approvers.
 */
export class ApprovalService {
  private records: ApprovalRecord[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private readonly store: ApprovalStore;

  private constructor(private readonly o: ApprovalServiceOptions) {
    this.store = new ApprovalStore(o.file);
  }

  static async open(o: ApprovalServiceOptions): Promise<ApprovalService> {
    const s = new ApprovalService(o);
    s.records = await s.store.load();
    // Approved but not recorded as run: the service stopped in between, so
    // whether it ran is unknown here; say so rather than run it twice.
    let changed = false;
    for (const r of s.records) {
      if (r.state === 'approved') {
        r.state = 'failed';
        r.error = { code: 'internal', status: 500, detail: 'the service stopped before the approved request was recorded as run; check the audit log and request it again' };
        changed = true;
      }
    }
    if (changed) await s.store.save(s.records);
    await s.sweep();
    // Expiry is checked on every access too; the timer only makes the
    // `expired` audit record appear without anyone looking.
    const every = Math.max(250, Math.min(30_000, Math.floor((o.expirySeconds * 1000) / 4)));
    s.timer = setInterval(() => { void s.sweep(); }, every);
    s.timer.unref();
    return s;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private async audit(rec: ApprovalRecord, outcome: AuditEvent['outcome'], actor: Actor | undefined, reason: string | undefined, extra: Partial<AuditEvent> = {}): Promise<void> {
    const who = actor
      ? { keyid: actor.principal.keyid, principal: actor.principal.name, role: actor.principal.role, peer: actor.peer, requestId: actor.requestId, reason: reason ?? null }
      : {};
    await this.o.audit.append({
      ...rec.audit,
      ...who,
      outcome,
      status: null,
      durationMs: 0,
      approval: { id: rec.id, requester: rec.requester.name, approvers: rec.approvers.map((a) => a.name), required: rec.required },
      ...extra,
    }, { durable: true });
  }

  /** Marks every pending approval past its time as expired (audit record each). */
  sweep(): Promise<void> {
    return this.exclusive(async () => {
      const now = Date.now();
      const due = this.records.filter((r) => r.state === 'pending' && Date.parse(r.expiresAt) <= now);
      if (!due.length) return;
      for (const r of due) r.state = 'expired';
      await this.store.save(this.records);
      for (const r of due) await this.audit(r, 'expired', undefined, undefined).catch(() => this.o.log('error', `the expiry of approval ${r.id} could not be written to the audit log`));
    }).catch((e: Error) => this.o.log('error', `approval expiry sweep failed: ${e.message}`));
  }

  /** Holds a checked request: 202 {approval}. A retry with the same Idempotency-Key gets the same approval. */
  hold(input: HoldInput): Promise<HeldAnswer> {
    return this.exclusive(async () => {
      const now = Date.now();
      if (input.idempotencyKey) {
        const same = this.records.find((r) => r.state === 'pending' && r.requester.keyid === input.requester.keyid && r.idempotencyKey === input.idempotencyKey && r.endpoint === input.endpoint && Date.parse(r.expiresAt) > now);
        if (same) return held(same);
      }
      const mine = this.records.filter((r) => r.state === 'pending' && r.requester.keyid === input.requester.keyid && Date.parse(r.expiresAt) > now).length;
      if (mine >= this.o.maxPendingPerRequester) {
        throw new ProblemError('approval.limit', `${input.requester.name} already has ${mine} request(s) waiting for approval (at most ${this.o.maxPendingPerRequester}); withdraw one with opsctl approvals reject ID, or wait`);
      }
      const rec = this.newRecord(input, now);
      this.records.push(rec);
      // The `pending` record is the pipeline's answer record of this request.
      await this.persist(rec);
      return held(rec);
    });
  }

  /** A break-glass run, listed among the approvals so it is reviewed afterwards. */
  recordBreakGlass(input: HoldInput, reason: string): Promise<ApprovalRecord> {
    return this.exclusive(async () => {
      const rec = this.newRecord(input, Date.now());
      rec.state = 'executed';
      rec.breakGlass = { reason };
      this.records.push(rec);
      await this.persist(rec);
      return rec;
    });
  }

  /** Keeps what the break-glass run answered next to its approval entry. */
  noteResult(id: string, result: HeldResult | { error: NonNullable<ApprovalView['error']> }): Promise<void> {
    return this.exclusive(async () => {
      const rec = this.records.find((r) => r.id === id);
      if (!rec) return;
      if ('error' in result) {
        rec.state = 'failed';
        rec.error = result.error;
      } else {
        rec.result = result;
      }
      await this.store.save(this.records);
    }).catch((e: Error) => this.o.log('error', `approval ${id} could not be updated: ${e.message}`));
  }

  private newRecord(input: HoldInput, now: number): ApprovalRecord {
    const bodyText = input.body.toString('utf8');
    return {
      id: randomId(16),
      state: 'pending',
      endpoint: input.endpoint,
      method: input.method,
      path: input.path,
      query: input.query,
      params: input.params,
      reason: input.reason ?? null,
      idempotencyKey: input.idempotencyKey ?? null,
      digest: requestDigest(input.signatureBase, input.body),
      signatureBase: input.signatureBase,
      requester: { name: input.requester.name, keyid: input.requester.keyid, role: input.requester.role },
      requestedAt: new Date(now).toISOString(),
      expiresAt: new Date(now + this.o.expirySeconds * 1000).toISOString(),
      required: input.required,
      approverRole: input.approverRole,
      approvers: [],
      ...(input.plan !== undefined ? { plan: input.plan } : {}),
      bodyText,
      secret: input.secret,
      ...(input.boundPlan !== undefined ? { boundPlan: input.boundPlan } : {}),
      audit: input.audit,
    };
  }

  private async persist(_rec: ApprovalRecord): Promise<void> {
    try {
      await this.store.save(this.records);
    } catch (e) {
      this.records = this.records.filter((r) => r !== _rec);
      this.o.log('error', `approvals cannot be saved to ${this.o.file}: ${(e as Error).message}`);
      throw new ProblemError('server.busy', 'the approval store cannot be written; nothing was held or run');
    }
  }

  list(state?: ApprovalState): ApprovalView[] {
    const rank = (r: ApprovalRecord) => (r.state === 'pending' ? 0 : 1);
    return this.records
      .filter((r) => !state || this.effectiveState(r) === state)
      .sort((a, b) => rank(a) - rank(b) || b.requestedAt.localeCompare(a.requestedAt))
      .map((r) => ({ ...toView(r), state: this.effectiveState(r) }));
  }

  private effectiveState(r: ApprovalRecord): ApprovalState {
    return r.state === 'pending' && Date.parse(r.expiresAt) <= Date.now() ? 'expired' : r.state;
  }

  find(id: string): ApprovalRecord {
    const rec = this.records.find((r) => r.id === id);
    if (!rec) throw new ProblemError('not_found', `no approval ${quoted(id)}`);
    return rec;
  }

  view(id: string): ApprovalView {
    const rec = this.find(id);
    return { ...toView(rec), state: this.effectiveState(rec) };
  }

  /**
   * The checks of an approval, in the order an approver learns about them:
   * decided (409) or expired (410), self (403 approval.self), role (403),
   * digest (412). Nothing changes here.
   */
  checkApprove(id: string, actor: Principal, digest: string): ApprovalRecord {
    const rec = this.find(id);
    this.checkOpen(rec);
    if (actor.keyid === rec.requester.keyid || samePerson(actor.name, rec.requester.name)) {
      throw new ProblemError('approval.self', `${actor.name} asked for this request and cannot approve it; another person must`);
    }
    if (!roleAllows(actor.role, rec.approverRole)) {
      throw new ProblemError('auth.forbidden', `approving ${rec.endpoint} needs role ${rec.approverRole}; ${actor.name} has ${actor.role}`);
    }
    if (!sameDigest(digest, rec.digest)) {
      throw new ProblemError('precondition.failed', 'the digest does not match the held request: review it again (opsctl approvals show ID) and approve what you saw', { digest: rec.digest });
    }
    return rec;
  }

  private checkOpen(rec: ApprovalRecord): void {
    if (rec.state === 'pending' && Date.parse(rec.expiresAt) <= Date.now()) {
      void this.sweep();
      throw new ProblemError('approval.expired', `approval ${quoted(rec.id)} expired at ${rec.expiresAt}; nothing ran. The requester may ask again.`);
    }
    if (rec.state === 'expired') throw new ProblemError('approval.expired', `approval ${quoted(rec.id)} expired at ${rec.expiresAt}; nothing ran`);
    if (rec.state !== 'pending') throw new ProblemError('approval.closed', `approval ${quoted(rec.id)} is ${rec.state} already`, { state: rec.state });
  }

  /** Records an approval; when the count is reached, runs the held request as its requester. */
  approve(id: string, actor: Actor, digest: string, reason: string | undefined): Promise<ApproveOutcome> {
    return this.exclusive(async () => {
      const rec = this.checkApprove(id, actor.principal, digest);
      const dup = rec.approvers.some((a) => a.keyid === actor.principal.keyid || samePerson(a.name, actor.principal.name));
      if (dup) return { approval: toView(rec), counted: false };
      rec.approvers.push({ name: actor.principal.name, keyid: actor.principal.keyid, role: actor.principal.role, at: new Date().toISOString(), ...(reason ? { reason } : {}) });
      const reached = rec.approvers.length >= rec.required;
      if (reached) rec.state = 'approved';
      await this.store.save(this.records);
      await this.audit(rec, 'approved', actor, reason);
      if (!reached) return { approval: toView(rec), counted: true };
      try {
        const result = await runHeld(this.o.run, rec, { id: rec.id, requester: rec.requester.name, approvers: rec.approvers.map((a) => a.name), required: rec.required });
        rec.state = 'executed';
        rec.result = result;
        await this.store.save(this.records);
        return { approval: toView(rec), counted: true, result };
      } catch (e) {
        const p = e as ProblemError;
        rec.state = 'failed';
        rec.error = { code: String(p.code), status: p.status, detail: p.detail ?? p.message };
        await this.store.save(this.records);
        throw new ProblemError(p.code, `approved, but the held request did not run: ${p.detail ?? p.message}`, { ...p.extensions, approval: toView(rec) }, p.status);
      }
    });
  }

  /** Ends a pending approval; nothing runs. The requester may withdraw their own. */
  reject(id: string, actor: Actor, reason: string | undefined): Promise<ApprovalView> {
    return this.exclusive(async () => {
      const rec = this.find(id);
      this.checkOpen(rec);
      const own = actor.principal.keyid === rec.requester.keyid || samePerson(actor.principal.name, rec.requester.name);
      if (!own && !roleAllows(actor.principal.role, rec.approverRole)) {
        throw new ProblemError('auth.forbidden', `rejecting ${rec.endpoint} needs role ${rec.approverRole}; ${actor.principal.name} has ${actor.principal.role}`);
      }
      rec.state = 'rejected';
      rec.rejectedBy = { name: actor.principal.name, keyid: actor.principal.keyid, role: actor.principal.role, at: new Date().toISOString(), ...(reason ? { reason } : {}) };
      await this.store.save(this.records);
      await this.audit(rec, 'rejected', actor, reason);
      return toView(rec);
    });
  }
}

function held(r: ApprovalRecord): HeldAnswer {
  return { approval: { id: r.id, state: 'pending', expiresAt: r.expiresAt, required: r.required, digest: r.digest, endpoint: r.endpoint } };
}
