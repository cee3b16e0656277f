import { ProblemError, roleAllows, type AuditApprovalNote, type AuditSigner, type ApprovalActor, type ApprovalDecision, type ApprovalOutcome, type ApprovalState, type ApprovalView, type HeldAnswer, type Role } from '../../protocol/index.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { AuditEvent } from '../audit/audit-record.js';
import { isRequesterAgain, personOf, samePerson, samePersonAgain } from '../auth/person.js';
import { requestFingerprint, type IdempotencyCache } from '../idempotency/idempotency-cache.js';
import type { PortLog } from '../logger.js';
import type { Principal } from '../options.js';
import { randomId } from '../random-id.js';
import { canonicalJson } from '../canonical-json.js';
import { toView, type ApprovalRecord, type IdempotencyLink } from './approval-record.js';
import { ApprovalStore, capLinks, pruneApprovals } from './approval-store.js';
import { requestDigest, sameDigest } from './digest.js';
import { runHeld, type HeldResult, type HeldRunDeps } from './run-held.js';
import { quoted } from '../../protocol/wording.js';

export interface ApprovalServiceOptions {
  file: string;
  expirySeconds: number;
  maxPendingPerRequester: number;
  audit: AuditLog;
  log: PortLog;
  run: HeldRunDeps;
  /**
   * The pipeline's Idempotency-Key bindings: a held request binds its key to
   * its approval (src/server/README.md, "Approvals and dry-run").
   */
  idempotency: IdempotencyCache;
  /** Whether a grant is still live (with every grant it was made under): an approval given under an ended grant stops counting. */
  grantLive?: (grantId: string) => boolean;
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

/**
 * One change of an approval, after it was saved (and audited): what the
 * long-polls of approvals.get/list and the event notifications follow.
 * `voided`: approvals given under a grant that has ended since no longer
 * count (the request waits for others). `updated` is any other change (a
 * break-glass run's result noted).
 */
export type ApprovalChange =
  | { kind: 'requested'; approval: ApprovalView }
  | { kind: 'approved'; approval: ApprovalView; by: ApprovalDecision }
  | { kind: 'decided'; approval: ApprovalView; outcome: ApprovalOutcome; by?: ApprovalActor }
  | { kind: 'break-glass'; approval: ApprovalView }
  | { kind: 'voided'; approval: ApprovalView; voided: ApprovalDecision[] }
  | { kind: 'updated'; approval: ApprovalView };

export interface ApproveOutcome {
  approval: ApprovalView;
  /** False when this person had approved already (approving twice counts once). */
  counted: boolean;
  result?: HeldResult;
}

/** What hold() answered: a new approval, or (`replayed`) the one this Idempotency-Key is bound to. */
export interface HoldOutcome {
  answer: HeldAnswer;
  replayed: boolean;
}

/** A signer as an approval keeps it: who, acting for whom, under which grant. */
export function actorOf(p: Principal): ApprovalActor {
  return {
    name: p.name,
    keyid: p.keyid,
    role: p.role,
    person: personOf(p),
    ...(p.grantId ? { grantId: p.grantId } : {}),
    ...(p.grantedBy ? { grantedBy: p.grantedBy } : {}),
    ...(p.derivedFrom?.length ? { derivedFrom: [...p.derivedFrom] } : {}),
  };
}

/** The audit form of a signer: name, key, person, and the grant with its granter when it acted under one. */
function actorNote(a: ApprovalActor): AuditSigner {
  return {
    name: a.name,
    keyid: a.keyid,
    person: personOf(a),
    ...(a.grantId ? { grantId: a.grantId, grantedBy: a.grantedBy ?? null } : {}),
  };
}

/**
 * The `approval` field of an audit record: id, requester, approvers (names)
 * and count as before, plus `requestedBy` and `approvedBy` naming each
 * signer's person, grant and granter (src/server/README.md, "Approvals count persons").
 */
export function approvalNote(rec: Pick<ApprovalRecord, 'id' | 'requester' | 'approvers' | 'required'>): AuditApprovalNote {
  return {
    id: rec.id,
    requester: rec.requester.name,
    approvers: rec.approvers.map((a) => a.name),
    required: rec.required,
    requestedBy: actorNote(rec.requester),
    approvedBy: rec.approvers.map(actorNote),
  };
}

/**
 * Held requests and their approvals (src/server/README.md, "Approvals and
 * dry-run"). Every change is serialised, persisted atomically before it is
 * answered, and written to the audit log naming requester and approvers.
 */
export class ApprovalService {
  private records: ApprovalRecord[] = [];
  /** Idempotency-Key bindings of decided approvals no longer kept in full. */
  private links: IdempotencyLink[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private readonly store: ApprovalStore;
  private readonly observers = new Set<(change: ApprovalChange) => void>();
  /** Changes made by open() (before anyone observes), told by start(). */
  private backlog: ApprovalChange[] = [];
  private started = false;

  private constructor(private readonly o: ApprovalServiceOptions) {
    this.store = new ApprovalStore(o.file);
  }

  /**
   * Loads the stored approvals and binds their Idempotency-Keys. What
   * happened to them while the service was down (expired, approvals that
   * stopped counting, an approved request whose run is unknown) is
   * recorded by start(), once the observers are in place, so the events of
   * those changes are not lost.
   */
  static async open(o: ApprovalServiceOptions): Promise<ApprovalService> {
    const s = new ApprovalService(o);
    const stored = await s.store.load();
    s.records = stored.approvals;
    s.links = stored.links;
    // Approved but not recorded as run: the service stopped in between, so
    // whether it ran is unknown here; say so rather than run it twice.
    const unknown = s.records.filter((r) => r.state === 'approved');
    for (const r of unknown) {
      r.state = 'failed';
      r.error = { code: 'internal', status: 500, detail: 'the service stopped before the approved request was recorded as run; check the audit log and request it again' };
    }
    if (unknown.length) {
      await s.save();
      s.backlog.push(...unknown.map((r): ApprovalChange => ({ kind: 'decided', approval: toView(r), outcome: 'failed' })));
    }
    // The Idempotency-Key of every held request stays bound to its approval
    // across the restart: a retry gets it, never a new hold or a second run.
    for (const l of s.links) o.idempotency.registerHeld(l.keyid, l.key, l.endpoint, Buffer.from(l.fingerprint, 'hex'), l.approvalId, Date.parse(l.requestedAt));
    for (const r of s.records) {
      if (r.idempotencyKey) o.idempotency.registerHeld(r.requester.keyid, r.idempotencyKey, r.endpoint, fingerprintOf(r), r.id, Date.parse(r.requestedAt));
    }
    return s;
  }

  /**
   * Tells the observers what open() changed, runs the first sweep (the
   * approvals that expired, or whose approvers' grants ended, while the
   * service was down: each told once, since the change is saved before it
   * is told) and arms the sweep timer. Call it once the observers (event
   * notifications, long-polls) are in place.
   */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    for (const c of this.backlog.splice(0)) this.changed(c);
    await this.sweep();
    // Expiry is checked on every access too; the timer only makes the
    // `expired` audit record appear without anyone looking.
    const every = Math.max(250, Math.min(30_000, Math.floor((this.o.expirySeconds * 1000) / 4)));
    this.timer = setInterval(() => { void this.sweep(); }, every);
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Calls `listener` after every saved change; returns the function that stops it. */
  observe(listener: (change: ApprovalChange) => void): () => void {
    this.observers.add(listener);
    return () => this.observers.delete(listener);
  }

  private changed(change: ApprovalChange): void {
    for (const l of this.observers) {
      try {
        l(change);
      } catch (e) {
        this.o.log('error', `an approval observer failed: ${(e as Error).message}`);
      }
    }
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn);
    this.queue = p.catch(() => undefined);
    return p;
  }

  /**
   * Saves every approval (pruned as the store keeps them), remembering the
   * Idempotency-Key binding of each one dropped for as long as the key lives.
   */
  private async save(): Promise<void> {
    const { keep, dropped } = pruneApprovals(this.records);
    const now = Date.now();
    const live = (at: string) => Date.parse(at) + this.o.idempotency.ttlMs > now;
    const links = capLinks([
      ...this.links.filter((l) => live(l.requestedAt)),
      ...dropped.filter((r) => r.idempotencyKey && live(r.requestedAt)).map((r): IdempotencyLink => ({
        keyid: r.requester.keyid, key: r.idempotencyKey!, endpoint: r.endpoint, fingerprint: fingerprintOf(r).toString('hex'), approvalId: r.id, state: r.state, requestedAt: r.requestedAt,
      })),
    ]);
    await this.store.save(keep, links);
    this.records = keep;
    this.links = links;
  }

  private async audit(rec: ApprovalRecord, outcome: AuditEvent['outcome'], actor: Actor | undefined, reason: string | undefined, extra: Partial<AuditEvent> = {}): Promise<void> {
    const who = actor
      ? {
        keyid: actor.principal.keyid, principal: actor.principal.name, role: actor.principal.role, peer: actor.peer, requestId: actor.requestId, reason: reason ?? null,
        // The grant the decision was made under, as on every request's records.
        ...(actor.principal.grantId ? { grantId: actor.principal.grantId } : {}),
      }
      : {};
    const { grantId: _requesterGrant, ...base } = rec.audit as typeof rec.audit & { grantId?: string };
    await this.o.audit.append({
      ...(actor ? base : rec.audit),
      ...who,
      outcome,
      status: null,
      durationMs: 0,
      approval: approvalNote(rec),
      ...extra,
    }, { durable: true });
  }

  /**
   * Marks every pending approval past its time as expired (audit record
   * each), and moves the approvals of pending ones given under a grant
   * that has ended since to `voided`; saves, then tells the observers. Run
   * by the timer, at start, and whenever a grant ends on this replica.
   */
  sweep(): Promise<void> {
    return this.exclusive(async () => {
      const now = Date.now();
      const due = this.records.filter((r) => r.state === 'pending' && Date.parse(r.expiresAt) <= now);
      const voided = this.records
        .filter((r) => r.state === 'pending' && !due.includes(r))
        .map((r) => ({ r, ended: this.voidEndedApprovals(r) }))
        .filter((v) => v.ended.length > 0);
      if (!due.length && !voided.length) return;
      for (const r of due) r.state = 'expired';
      await this.save();
      for (const { r, ended } of voided) this.changed({ kind: 'voided', approval: toView(r), voided: ended });
      for (const r of due) {
        await this.audit(r, 'expired', undefined, undefined).catch(() => this.o.log('error', `the expiry of approval ${r.id} could not be written to the audit log`));
        this.changed({ kind: 'decided', approval: toView(r), outcome: 'expired' });
      }
    }).catch((e: Error) => this.o.log('error', `approval expiry sweep failed: ${e.message}`));
  }

  /**
   * Holds a checked request: 202 {approval}. With an Idempotency-Key, the
   * key is bound to the approval from here on: a retry with the same
   * request gets this approval in its current state (`replayed`), whatever
   * that is; another request under the key is 422, also while it is pending.
   */
  hold(input: HoldInput): Promise<HoldOutcome> {
    return this.exclusive(async () => {
      const now = Date.now();
      const fingerprint = requestFingerprint(input.method, input.path, input.query, input.body);
      if (input.idempotencyKey) {
        // Checked again here, serialised: an identical retry that raced the first one gets its approval.
        const prior = this.o.idempotency.inspect(input.requester.keyid, input.idempotencyKey, input.endpoint, fingerprint, now);
        if (prior?.kind === 'held') return { answer: this.replayAnswer(prior.approvalId), replayed: true };
        if (prior) throw new ProblemError('server.busy', 'a request with this Idempotency-Key is being answered right now; retry shortly');
      }
      const mine = this.records.filter((r) => r.state === 'pending' && r.requester.keyid === input.requester.keyid && Date.parse(r.expiresAt) > now).length;
      if (mine >= this.o.maxPendingPerRequester) {
        throw new ProblemError('approval.limit', `${input.requester.name} already has ${mine} request(s) waiting for approval (at most ${this.o.maxPendingPerRequester}); withdraw one with opsctl approvals reject ID, or wait`);
      }
      const rec = this.newRecord(input, now, fingerprint);
      this.records.push(rec);
      // Bound before the first await, so no other request can take the key meanwhile.
      const unbind = input.idempotencyKey ? this.o.idempotency.registerHeld(input.requester.keyid, input.idempotencyKey, input.endpoint, fingerprint, rec.id, now) : () => undefined;
      // The `pending` record is the pipeline's answer record of this request.
      try {
        await this.persist(rec);
      } catch (e) {
        unbind();
        throw e;
      }
      this.changed({ kind: 'requested', approval: toView(rec) });
      return { answer: held(rec), replayed: false };
    });
  }

  /**
   * What a retry of a held request is answered: its approval as it is now
   * (pending, approved, executed with the result, failed with the error,
   * rejected, expired). An approval no longer kept is 409: it was decided
   * long ago and runs no more.
   */
  replayAnswer(id: string): HeldAnswer {
    const rec = this.records.find((r) => r.id === id);
    if (!rec) {
      const link = this.links.find((l) => l.approvalId === id);
      throw new ProblemError('approval.closed', `this request was held as approval ${id}, which was ${link?.state ?? 'decided'} and is no longer kept; it does not run again (use a new Idempotency-Key to ask anew)`, { approvalId: id, ...(link ? { state: link.state } : {}) });
    }
    return held(rec, this.effectiveState(rec));
  }

  /** A break-glass run, listed among the approvals so it is reviewed afterwards. */
  recordBreakGlass(input: HoldInput, reason: string): Promise<ApprovalRecord> {
    return this.exclusive(async () => {
      const now = Date.now();
      const rec = this.newRecord(input, now, requestFingerprint(input.method, input.path, input.query, input.body));
      rec.state = 'executed';
      rec.breakGlass = { reason };
      this.records.push(rec);
      // The same request, held for the same requester, is closed by this
      // run: it would otherwise wait for approvers to run it a second time.
      const superseded = this.records.filter((r) => r !== rec && r.state === 'pending' && Date.parse(r.expiresAt) > now && sameRequest(r, rec));
      for (const r of superseded) {
        r.state = 'superseded';
        r.supersededBy = { id: rec.id, at: new Date(now).toISOString() };
      }
      await this.persist(rec);
      this.changed({ kind: 'break-glass', approval: toView(rec) });
      for (const r of superseded) {
        const by = { keyid: input.requester.keyid, name: input.requester.name, role: input.requester.role };
        await this.audit(r, 'superseded', { principal: input.requester, requestId: input.audit.requestId, peer: input.audit.peer }, `run by break-glass (${rec.id}): ${reason}`)
          .catch(() => this.o.log('error', `the closing of approval ${r.id} (run by break-glass) could not be written to the audit log`));
        this.changed({ kind: 'decided', approval: toView(r), outcome: 'withdrawn', by });
      }
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
      await this.save();
      this.changed({ kind: 'updated', approval: toView(rec) });
    }).catch((e: Error) => this.o.log('error', `approval ${id} could not be updated: ${e.message}`));
  }

  private newRecord(input: HoldInput, now: number, fingerprint: Buffer): ApprovalRecord {
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
      requester: actorOf(input.requester),
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
      fingerprint: fingerprint.toString('hex'),
    };
  }

  private async persist(_rec: ApprovalRecord): Promise<void> {
    try {
      await this.save();
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
   * decided (409) or expired (410), self (403 approval.self: the requester's
   * key, name or person, or authority that comes from the requester through
   * grants), role (403), digest (412). Nothing changes here.
   */
  checkApprove(id: string, actor: Principal, digest: string): ApprovalRecord {
    const rec = this.find(id);
    this.checkOpen(rec);
    const me = actorOf(actor);
    if (isRequesterAgain(me, rec.requester)) {
      const why = me.keyid === rec.requester.keyid || samePerson(me.name, rec.requester.name)
        ? `${actor.name} asked for this request`
        : samePerson(personOf(me), personOf(rec.requester))
          ? `${actor.name} acts for ${personOf(me)}, who asked for this request${me.grantId ? ` (through grant ${me.grantId}, granted by ${me.grantedBy ?? 'them'})` : ''}`
          : `${actor.name} acts under grant ${me.grantId ?? '?'}, whose authority comes from ${personOf(rec.requester)}, who asked for this request`;
      throw new ProblemError('approval.self', `${why} and cannot approve it; another person must`, { person: personOf(rec.requester) });
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
      const voided = this.voidEndedApprovals(rec);
      const me = actorOf(actor.principal);
      if (this.wouldCount(rec, me) === false) {
        // Nothing counted, but approvals that stopped counting are a change of their own.
        if (voided.length) {
          await this.save();
          this.changed({ kind: 'voided', approval: toView(rec), voided });
        }
        return { approval: toView(rec), counted: false };
      }
      rec.approvers.push({ ...me, at: new Date().toISOString(), ...(reason ? { reason } : {}) });
      const reached = rec.approvers.length >= rec.required;
      if (reached) rec.state = 'approved';
      await this.save();
      await this.audit(rec, 'approved', actor, reason);
      this.changed({ kind: 'approved', approval: toView(rec), by: rec.approvers[rec.approvers.length - 1]! });
      if (!reached) return { approval: toView(rec), counted: true };
      try {
        const result = await runHeld(this.o.run, rec, approvalNote(rec));
        rec.state = 'executed';
        rec.result = result;
        await this.save();
        this.changed({ kind: 'decided', approval: toView(rec), outcome: 'ran' });
        return { approval: toView(rec), counted: true, result };
      } catch (e) {
        const p = e as ProblemError;
        rec.state = 'failed';
        rec.error = { code: String(p.code), status: p.status, detail: p.detail ?? p.message };
        await this.save();
        this.changed({ kind: 'decided', approval: toView(rec), outcome: 'failed' });
        throw new ProblemError(p.code, `approved, but the held request did not run: ${p.detail ?? p.message}`, { ...p.extensions, approval: toView(rec) }, p.status);
      }
    });
  }

  /**
   * Whether an approval by `me` would add a person: false when an approver
   * counted already is the same person again (same key, name or person, or
   * one's authority comes from the other's person through grants).
   */
  wouldCount(rec: ApprovalRecord, me: ApprovalActor): boolean {
    return !rec.approvers.some((a) => samePersonAgain(a, me));
  }

  /**
   * Approvals given under a grant that has ended since (revoked, expired,
   * or a grant it was made under ended) no longer count: they move to
   * `voided`, and the request waits for another approval. Returns those
   * moved (in memory: the caller saves and tells).
   */
  private voidEndedApprovals(rec: ApprovalRecord): ApprovalDecision[] {
    const live = this.o.grantLive;
    if (!live) return [];
    const ended = rec.approvers.filter((a) => a.grantId && !live(a.grantId));
    if (!ended.length) return [];
    rec.approvers = rec.approvers.filter((a) => !ended.includes(a));
    rec.voided = [...(rec.voided ?? []), ...ended];
    return ended;
  }

  /** Ends a pending approval; nothing runs. The requester may withdraw their own. */
  reject(id: string, actor: Actor, reason: string | undefined): Promise<ApprovalView> {
    return this.exclusive(async () => {
      const rec = this.find(id);
      this.checkOpen(rec);
      // The requester withdrawing: any key acting for the same person.
      const own = actor.principal.keyid === rec.requester.keyid || samePerson(actor.principal.name, rec.requester.name) || samePerson(personOf(actorOf(actor.principal)), personOf(rec.requester));
      if (!own && !roleAllows(actor.principal.role, rec.approverRole)) {
        throw new ProblemError('auth.forbidden', `rejecting ${rec.endpoint} needs role ${rec.approverRole}; ${actor.principal.name} has ${actor.principal.role}`);
      }
      rec.state = 'rejected';
      rec.rejectedBy = { ...actorOf(actor.principal), at: new Date().toISOString(), ...(reason ? { reason } : {}) };
      await this.save();
      await this.audit(rec, 'rejected', actor, reason);
      const by = { name: actor.principal.name, keyid: actor.principal.keyid, role: actor.principal.role };
      this.changed({ kind: 'decided', approval: toView(rec), outcome: own ? 'withdrawn' : 'rejected', by });
      return toView(rec);
    });
  }
}

/** The same request as signed: endpoint, method, path, query and body (what the digest covers, less the signature's own parameters). */
function sameRequest(a: ApprovalRecord, b: ApprovalRecord): boolean {
  return (a.requester.keyid === b.requester.keyid || samePerson(a.requester.name, b.requester.name)) && a.endpoint === b.endpoint && a.method === b.method && a.path === b.path && a.query === b.query && sameBody(a.bodyText, b.bodyText);
}

/** Bodies equal as JSON (key order and spacing aside), else byte for byte. */
function sameBody(a: string, b: string): boolean {
  if (a === b) return true;
  try {
    return canonicalJson(JSON.parse(a || 'null')) === canonicalJson(JSON.parse(b || 'null'));
  } catch {
    return false;
  }
}

function held(r: ApprovalRecord, state: ApprovalState = 'pending'): HeldAnswer {
  return {
    approval: {
      id: r.id, state, expiresAt: r.expiresAt, required: r.required, digest: r.digest, endpoint: r.endpoint,
      ...(r.result ? { result: r.result } : {}),
      ...(r.error ? { error: r.error } : {}),
    },
  };
}

/** The Idempotency-Key fingerprint of a held request (computed for approvals stored before it was kept). */
function fingerprintOf(r: ApprovalRecord): Buffer {
  return r.fingerprint ? Buffer.from(r.fingerprint, 'hex') : requestFingerprint(r.method, r.path, r.query, Buffer.from(r.bodyText, 'utf8'));
}

