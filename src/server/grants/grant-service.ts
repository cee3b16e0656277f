import { ProblemError, ROLES, ed25519KeyFromBlob, fingerprintOfBlob, parseOpenSshPublicKey, roleAllows, type GrantState, type GrantView, type Role } from '../../protocol/index.js';
import type { KeyObject } from 'node:crypto';
import type { AuditLog } from '../audit/audit-log.js';
import type { AuditEvent } from '../audit/audit-record.js';
import type { PortLog } from '../logger.js';
import type { GrantStore, Principal, StoredGrant } from '../options.js';
import { randomId } from '../random-id.js';
import type { AllowlistEntry } from '../auth/parse-authorized-keys.js';
import { personKey, samePerson } from '../auth/person.js';
import { grantEndedAt, grantState, grantView } from './grant-state.js';
import { quoted } from '../../protocol/wording.js';

/** An active grant with its key, ready for signature verification. */
export interface ActiveGrant {
  grant: StoredGrant;
  key: KeyObject;
}

export interface GrantServiceOptions {
  maxTtlSeconds: number;
  retainEndedSeconds: number;
  /** The allowlist, so that a grant's principal is never an allowlisted person's name. */
  allowlist?: { lookup(keyid: string): AllowlistEntry | undefined; findPerson(name: string): AllowlistEntry | undefined };
}

export interface NewGrant {
  publicKey: string;
  role: Role;
  ttlSeconds: number;
  reason: string;
  principal?: string;
  approvalId?: string;
}

/** Who gives the grant: a signed-in principal, or the approvers of an access request. */
export interface Granter {
  name: string;
  keyid: string | null;
  role: Role;
  /** When the granter itself acts under a grant: it cannot give more time than it has. */
  ownGrantExpiresAt?: string;
  /** Whom a key on no allowlist acts for under the new grant (the granter's person; for an access request, the requester's). */
  actsFor?: string;
  /** The persons the new grant's authority comes from (the granter's persons; for an access request, the approvers'). */
  derivedFrom?: string[];
  /**
   * The grants it is made under (the granter's; for an access request the
   * requester's and the approvers'): each must be live, the new grant ends
   * with any of them and never lasts longer than they do.
   */
  parents?: string[];
  /** A grant that would outlast a parent ends with it (an access request) instead of being refused (grants.create: 400). */
  clampToParents?: boolean;
}

/**
 * One change of a grant made by this replica, after it was stored (event
 * notifications follow these). `endedWith`: the grant it was made under,
 * whose end ended this one too.
 */
export type GrantChange =
  | { kind: 'created'; grant: StoredGrant }
  | { kind: 'revoked'; grant: StoredGrant; by: { name: string }; endedWith?: string }
  | { kind: 'expired'; grant: StoredGrant };

/** What a revocation ended: the grant itself and every live grant made under it. */
export interface RevokeOutcome {
  grant: GrantView;
  revoked: boolean;
  /** The grants made under it (recursively) that ended with it, each recorded in the audit log. */
  ended: GrantView[];
}

/** The request that revoked a grant, for the records of the grants that end with it. */
export interface RevokeContext {
  requestId?: string;
}

/** How deep a chain of grants is followed; deeper is treated as ended (a loop, or a store edited by hand). */
const MAX_CHAIN = 64;

// setTimeout's ceiling (about 24.8 days); a later expiry is re-armed when the timer fires.
const MAX_TIMER_MS = 2 ** 31 - 1;
// A shared store is re-read this often even without a change notice, so a lost notice delays a revocation by at most this.
const SHARED_RELOAD_MS = 5_000;
// A grant's keyid as fingerprintOfBlob writes it (SHA-256, unpadded base64).
const KEYID_FORM = /^SHA256:[A-Za-z0-9+/]{43}$/;

function rank(role: Role): number {
  return ROLES.indexOf(role);
}

/** The ed25519 key of a public key line, or a 400 naming the field. */
export function parseGrantKey(line: string): { keyid: string; key: KeyObject; comment: string; canonical: string } {
  let parsed;
  try {
    parsed = parseOpenSshPublicKey(line);
  } catch (e) {
    throw new ProblemError('request.invalid', `publicKey: ${(e as Error).message}`, { field: 'publicKey' });
  }
  if (parsed.type !== 'ssh-ed25519') throw new ProblemError('request.invalid', `publicKey: only ssh-ed25519 keys are accepted (got ${parsed.type})`, { field: 'publicKey' });
  let key: KeyObject;
  try {
    key = ed25519KeyFromBlob(parsed.blob);
  } catch (e) {
    throw new ProblemError('request.invalid', `publicKey: ${(e as Error).message}`, { field: 'publicKey' });
  }
  return { keyid: fingerprintOfBlob(parsed.blob), key, comment: parsed.comment, canonical: `ssh-ed25519 ${parsed.blob.toString('base64')}` };
}

/**
 * The grants a service has given, checked at request time: active() compares
 * `expiresAt` with the clock on every call, so a grant stops working at its
 * second without a reload. Revocation takes effect on the next request: on
 * this replica at once; on the others at once too when the shared store can
 * look up one key's grants (refreshKey before each request), else within
 * SHARED_RELOAD_MS (or its change notice, whichever comes first). Each expiry becomes one audit record: by a timer armed for the next
 * expiry, or when a request of an expired grant notices it first, or at the
 * start for grants that expired while the service was down.
 */
export class GrantService {
  private grants = new Map<string, StoredGrant>();
  private keys = new Map<string, KeyObject>();
  private timer: NodeJS.Timeout | undefined;
  private reloadTimer: NodeJS.Timeout | undefined;
  private unwatch: (() => void) | undefined;
  private sweeping: Promise<void> | undefined;
  private sweepAgain = false;
  private closed = false;
  private opened = false;
  private readonly observers = new Set<(change: GrantChange) => void>();
  /**
   * Grants whose parent ended that a sweep has tried to end already: not
   * tried again on every request (a shared store that says "not active" is
   * ahead of this replica's list, which the next re-read brings up to date).
   */
  private endingTried = new Set<string>();

  constructor(
    private readonly store: GrantStore,
    private readonly audit: AuditLog,
    private readonly log: PortLog,
    readonly options: GrantServiceOptions,
  ) {}

  /**
   * Calls `listener` after each grant this replica created, revoked, or
   * recorded the expiry of (exactly once across replicas: the store's
   * claimExpiry). Returns the function that stops it.
   */
  observe(listener: (change: GrantChange) => void): () => void {
    this.observers.add(listener);
    return () => this.observers.delete(listener);
  }

  private changed(change: GrantChange): void {
    for (const l of this.observers) {
      try {
        l(change);
      } catch (e) {
        this.log('error', `a grant observer failed: ${(e as Error).message}`);
      }
    }
  }

  get shared(): boolean {
    return this.store.shared;
  }

  /** Loads the store: requests can be checked against the grants from here on. */
  async open(): Promise<void> {
    this.replace(await this.store.load());
    this.opened = true;
  }

  /**
   * Records what happened while the service was down (grants that expired,
   * or ended with a grant they were made under: each told to the observers,
   * once across replicas) and arms the timers. Call it once the observers
   * (event notifications) are in place; it opens the store first if open()
   * was not called.
   */
  async start(): Promise<void> {
    if (!this.opened) await this.open();
    if (this.store.shared) {
      this.unwatch = this.store.watch?.(() => void this.reload());
      this.reloadTimer = setInterval(() => void this.reload(), SHARED_RELOAD_MS);
      this.reloadTimer.unref();
    }
    await this.sweep();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    clearInterval(this.reloadTimer);
    this.unwatch?.();
    await this.sweeping;
    await this.store.close?.();
  }

  /**
   * The grant a key acts under right now: the highest role among its active
   * grants, the one lasting longest among equals. Undefined when none.
   */
  active(keyid: string, now = Date.now()): ActiveGrant | undefined {
    let best: StoredGrant | undefined;
    let noticedExpiry = false;
    for (const g of this.grants.values()) {
      if (g.keyid !== keyid) continue;
      const state = grantState(g, now);
      if (state === 'expired' && !g.expiryRecordedAt) noticedExpiry = true;
      if (state !== 'active') continue;
      // A grant made under one that ended is over, whatever its own record says yet.
      if (!this.chainAlive(g, now)) {
        if (!this.endingTried.has(g.id)) noticedExpiry = true;
        continue;
      }
      if (!best || rank(g.role) > rank(best.role) || (rank(g.role) === rank(best.role) && g.expiresAt > best.expiresAt)) best = g;
    }
    // The first request after an expiry records it if the timer has not yet.
    if (noticedExpiry) void this.sweep();
    return best ? { grant: best, key: this.keys.get(best.id)! } : undefined;
  }

  /**
   * True while every grant `g` was made under is live, up the chain: a
   * parent revoked, expired or unknown (pruned, or never seen) ends it.
   */
  private chainAlive(g: StoredGrant, now: number, depth = 0): boolean {
    if (!g.parents?.length) return true;
    if (depth >= MAX_CHAIN) return false;
    for (const id of g.parents) {
      const p = this.grants.get(id);
      if (!p || grantState(p, now) !== 'active' || !this.chainAlive(p, now, depth + 1)) return false;
    }
    return true;
  }

  /** The state as requests see it: a live grant whose parent ended is revoked already. */
  private effectiveState(g: StoredGrant, now: number): GrantState {
    const own = grantState(g, now);
    return own === 'active' && !this.chainAlive(g, now) ? 'revoked' : own;
  }

  /** The first grant up the chain of `g` that ended (for the record of its end). */
  private endedParent(g: StoredGrant, now: number): StoredGrant | string | undefined {
    for (const id of g.parents ?? []) {
      const p = this.grants.get(id);
      if (!p) return id;
      if (grantState(p, now) !== 'active' || !this.chainAlive(p, now)) return p;
    }
    return undefined;
  }

  /**
   * Re-reads one key's grants from a shared store that can look them up
   * (GrantStore.forKey), so a grant created or revoked on another replica
   * counts from this request. When the store cannot answer, the last known
   * grants stand (kept fresh by its change notices); a revocation cannot be
   * written while it is down either.
   */
  async refreshKey(keyid: string): Promise<void> {
    if (this.closed || !this.store.shared || !this.store.forKey) return;
    // Only a fingerprint can name a grant's key: anything else costs the database nothing.
    if (!KEYID_FORM.test(keyid)) return;
    let fresh: StoredGrant[];
    try {
      fresh = await this.store.forKey(keyid);
    } catch (e) {
      this.log('warn', `grants of key ${keyid} could not be re-read from the shared store, using the last known ones: ${(e as Error).message}`);
      return;
    }
    const ids = new Set(fresh.map((g) => g.id));
    for (const g of [...this.grants.values()]) {
      if (g.keyid === keyid && !ids.has(g.id)) {
        this.grants.delete(g.id);
        this.keys.delete(g.id);
      }
    }
    let added = false;
    // The key's own grants, and those they were made under (forKey returns the chain).
    for (const g of fresh) {
      try {
        const key = this.keys.get(g.id) ?? parseGrantKey(g.publicKey).key;
        if (!this.grants.has(g.id)) added = true;
        this.put(g, key);
      } catch (e) {
        this.log('warn', `grant ${g.id} skipped: its key is unusable (${(e as Error).message})`);
      }
    }
    if (added) this.arm();
    // A parent ended on another replica: this replica records the end of what was made under it.
    if (fresh.some((g) => g.keyid === keyid && grantState(g, Date.now()) === 'active' && !this.chainAlive(g, Date.now()))) void this.sweep();
  }

  /** Re-reads every grant from a shared store (before listing, or revoking one this replica has not seen yet). */
  async refresh(): Promise<void> {
    if (this.store.shared) await this.reload();
  }

  /** A grant-only key's public key (for access requests made by a key that is on no allowlist). */
  publicKeyOf(keyid: string): string | undefined {
    for (const g of this.grants.values()) if (g.keyid === keyid) return g.publicKey;
    return undefined;
  }

  /** Active grants first (soonest to end first), then the recently ended ones (newest end first). */
  list(now = Date.now()): GrantView[] {
    const all = [...this.grants.values()];
    const active = all.filter((g) => this.effectiveState(g, now) === 'active').sort((a, b) => a.expiresAt.localeCompare(b.expiresAt));
    const ended = all.filter((g) => this.effectiveState(g, now) !== 'active').sort((a, b) => grantEndedAt(b) - grantEndedAt(a));
    return [...active, ...ended].map((g) => grantView(g, now, this.effectiveState(g, now)));
  }

  get(id: string, now = Date.now()): GrantView | undefined {
    const g = this.grants.get(id);
    return g ? grantView(g, now, this.effectiveState(g, now)) : undefined;
  }

  /** True while the grant is active and so is every grant it was made under. */
  isLive(id: string, now = Date.now()): boolean {
    const g = this.grants.get(id);
    return !!g && this.effectiveState(g, now) === 'active';
  }

  /** The stored grant (lineage included), for the port's own checks. */
  stored(id: string): StoredGrant | undefined {
    return this.grants.get(id);
  }

  /** Checks what can be checked from the params alone (before anything is written): the key and the duration. */
  checkNew(input: Pick<NewGrant, 'publicKey' | 'ttlSeconds'> & { publicKey?: string }): void {
    if (input.publicKey !== undefined) parseGrantKey(input.publicKey);
    this.checkTtl(input.ttlSeconds);
  }

  checkTtl(ttlSeconds: number): void {
    if (ttlSeconds > this.options.maxTtlSeconds) {
      throw new ProblemError('request.invalid', `ttlSeconds ${ttlSeconds} is above this service's maximum grant of ${this.options.maxTtlSeconds} s (${formatSeconds(this.options.maxTtlSeconds)})`, { field: 'ttlSeconds', maxTtlSeconds: this.options.maxTtlSeconds });
    }
  }

  /**
   * Gives a grant. Refuses (403) a role above the granter's, a grant to the
   * granter's own key (nobody extends their own access), a parent grant
   * that has ended; (400) a duration above the maximum or beyond the
   * granter's own grant; (409 grant.principal_taken) a principal name that
   * is an allowlisted person's or another live grant's, since a grant's key
   * is never anybody who did not create it (src/server/README.md,
   * "Approvals count persons").
   */
  async create(input: NewGrant, granter: Granter, now = Date.now()): Promise<StoredGrant> {
    const key = parseGrantKey(input.publicKey);
    this.checkTtl(input.ttlSeconds);
    if (!roleAllows(granter.role, input.role)) {
      throw new ProblemError('auth.forbidden', `${granter.name} has role ${granter.role} and cannot grant ${input.role}: nobody grants above their own role`);
    }
    if (granter.keyid !== null && granter.keyid === key.keyid) {
      throw new ProblemError('auth.forbidden', 'a key cannot be granted access by itself; ask another admin (or use opsctl grants request)');
    }
    // A grant made on another replica a moment ago counts for the name check and the parents.
    if (this.store.shared) await this.refresh();
    const parents = [...new Set(granter.parents ?? [])];
    let expires = now + input.ttlSeconds * 1000;
    for (const id of parents) {
      const p = this.grants.get(id);
      if (!p || this.effectiveState(p, now) !== 'active') {
        throw new ProblemError('auth.forbidden', `grant ${id}, under which this grant would be made, has ended; no grant was made`);
      }
      const end = Date.parse(p.expiresAt);
      if (expires > end) {
        if (!granter.clampToParents) {
          throw new ProblemError('request.invalid', `${granter.name} acts under a grant that ends at ${p.expiresAt}; a grant given under it cannot last longer`, { field: 'ttlSeconds' });
        }
        expires = end;
      }
    }
    if (granter.ownGrantExpiresAt && expires > Date.parse(granter.ownGrantExpiresAt)) {
      throw new ProblemError('request.invalid', `${granter.name} acts under a grant that ends at ${granter.ownGrantExpiresAt}; a grant given under it cannot last longer`, { field: 'ttlSeconds' });
    }
    const principal = this.principalFor(key, input.principal, now);
    const grant: StoredGrant = {
      id: randomId(16),
      keyid: key.keyid,
      publicKey: key.canonical,
      principal,
      role: input.role,
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(expires).toISOString(),
      grantedBy: granter.name,
      grantedByKeyid: granter.keyid,
      reason: input.reason,
      ...(input.approvalId ? { approvalId: input.approvalId } : {}),
      actsFor: granter.actsFor ?? granter.name,
      derivedFrom: uniquePersons(granter.derivedFrom ?? [granter.name]),
      ...(parents.length ? { parents } : {}),
    };
    await this.store.insert(grant);
    this.put(grant, key.key);
    this.arm();
    this.changed({ kind: 'created', grant });
    return grant;
  }

  /**
   * The principal name of a new grant. A key on the allowlist keeps its
   * allowlist name (another one is refused). Any other key gets the name
   * asked for, else its comment, else its fingerprint, provided that name is
   * no allowlisted person's and no other live grant's: the name is what the
   * approvals and the audit log show, and a grant's key is never somebody
   * who did not create it.
   */
  private principalFor(key: { keyid: string; comment: string }, asked: string | undefined, now: number): string {
    const wanted = asked?.trim();
    const entry = this.options.allowlist?.lookup(key.keyid);
    if (entry) {
      if (wanted && !samePerson(wanted, entry.name)) {
        throw new ProblemError('grant.principal_taken', `this key is on the allowlist as ${entry.name}; a grant for it keeps that name (drop --name, or give the same one)`, { field: 'principal' });
      }
      return entry.name;
    }
    const name = wanted || key.comment.trim() || key.keyid;
    const from = wanted ? 'the principal asked for' : 'the key\'s comment';
    if (this.options.allowlist?.findPerson(name)) {
      throw new ProblemError('grant.principal_taken', `${name} (${from}) is the name of an allowlisted person, and this key is not on the allowlist: a grant's key acts for whoever created it, never for someone else. Give the grant another name (principal, opsctl grants add --name)`, { field: 'principal' });
    }
    const wantedKey = personKey(name);
    for (const g of this.grants.values()) {
      if (g.keyid !== key.keyid && personKey(g.principal) === wantedKey && this.effectiveState(g, now) === 'active') {
        throw new ProblemError('grant.principal_taken', `${name} (${from}) is the name of another live grant (${g.id}) for another key; give this grant another name (principal, opsctl grants add --name)`, { field: 'principal' });
      }
    }
    return name;
  }

  /**
   * Revokes an active grant; `revoked: false` when it had already ended
   * (nothing changes then). Every live grant made under it ends with it,
   * recursively, each with an audit record of its own (`ended`).
   */
  async revoke(id: string, by: Principal, now = Date.now(), ctx: RevokeContext = {}): Promise<RevokeOutcome> {
    // A grant given on another replica a moment ago may not have reached this one's list yet.
    if (!this.grants.has(id)) await this.refresh();
    const g = this.grants.get(id);
    if (!g) throw new ProblemError('not_found', `no grant ${quoted(id)} (ended grants are listed for ${formatSeconds(this.options.retainEndedSeconds)}, then forgotten)`);
    const updated = await this.store.revoke(id, by.name, new Date(now).toISOString());
    if (!updated) {
      if (this.store.shared) await this.reload();
    } else {
      this.put(updated);
      this.changed({ kind: 'revoked', grant: updated, by });
    }
    // Even when it had ended already: whatever was made under it ends now if it has not yet.
    const ended = await this.cascade(id, by.name, now, ctx.requestId);
    const current = this.grants.get(id) ?? updated ?? g;
    return { grant: grantView(current, now, this.effectiveState(current, now)), revoked: Boolean(updated), ended };
  }

  /**
   * Ends every live grant made under `rootId`, level by level (a child is
   * revoked before its own children, each naming the grant it ended with).
   * Each store revocation is conditional, so across replicas one of them
   * revokes and records each grant.
   */
  private async cascade(rootId: string, revokedBy: string, now: number, requestId?: string): Promise<GrantView[]> {
    // Children made on another replica are in the shared store, not necessarily here yet.
    if (this.store.shared) await this.reload();
    const ended: GrantView[] = [];
    const seen = new Set([rootId]);
    let level = [rootId];
    for (let depth = 0; level.length && depth < MAX_CHAIN; depth++) {
      const next: string[] = [];
      for (const parentId of level) {
        for (const child of [...this.grants.values()]) {
          if (!child.parents?.includes(parentId) || seen.has(child.id)) continue;
          seen.add(child.id);
          // Its own children are visited even when it had ended already (another replica may be half-way).
          next.push(child.id);
          if (grantState(child, now) !== 'active') continue;
          const done = await this.endWithParent(child, parentId, revokedBy, now, requestId);
          if (done) ended.push(grantView(done, now));
        }
      }
      level = next;
    }
    return ended;
  }

  /** Revokes one grant because `parentId` ended; the winner of the conditional update writes its record. */
  private async endWithParent(child: StoredGrant, parentId: string, revokedBy: string, now: number, requestId?: string): Promise<StoredGrant | undefined> {
    let updated: StoredGrant | undefined;
    try {
      updated = await this.store.revoke(child.id, revokedBy, new Date(now).toISOString(), parentId);
    } catch (e) {
      // Still ended for every request (its parent is), and the next sweep tries to record it again.
      this.endingTried.delete(child.id);
      this.log('error', `grant ${child.id}, made under ${parentId}, could not be marked revoked: ${(e as Error).message}`);
      return undefined;
    }
    if (!updated) return undefined; // another replica did, or it ended by itself meanwhile
    this.put(updated);
    try {
      await this.audit.append(cascadeRecord(updated, parentId, revokedBy, requestId));
    } catch {
      this.log('error', `the end of grant ${child.id} (${child.principal}, ${child.role}) with grant ${parentId} could not be written to the audit log`);
    }
    this.changed({ kind: 'revoked', grant: updated, by: { name: revokedBy }, endedWith: parentId });
    return updated;
  }

  private put(g: StoredGrant, key?: KeyObject): void {
    this.grants.set(g.id, g);
    if (key) this.keys.set(g.id, key);
    else if (!this.keys.has(g.id)) this.keys.set(g.id, parseGrantKey(g.publicKey).key);
  }

  private replace(list: StoredGrant[]): void {
    const next = new Map<string, StoredGrant>();
    const keys = new Map<string, KeyObject>();
    for (const g of list) {
      try {
        keys.set(g.id, this.keys.get(g.id) ?? parseGrantKey(g.publicKey).key);
        next.set(g.id, g);
      } catch (e) {
        this.log('warn', `grant ${g.id} skipped: its key is unusable (${(e as Error).message})`);
      }
    }
    this.grants = next;
    this.keys = keys;
    // A fresh list: whatever is still to be ended gets another try.
    this.endingTried.clear();
  }

  private async reload(): Promise<void> {
    if (this.closed) return;
    try {
      this.replace(await this.store.load());
      this.arm();
      const now = Date.now();
      if ([...this.grants.values()].some((g) => grantState(g, now) === 'active' && !this.chainAlive(g, now))) void this.sweep();
    } catch (e) {
      this.log('error', `grants could not be re-read from the shared store: ${(e as Error).message}`);
    }
  }

  /** Arms one timer for the next expiry that still needs its audit record. */
  private arm(): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    let next = Infinity;
    for (const g of this.grants.values()) {
      if (!g.revokedAt && !g.expiryRecordedAt) next = Math.min(next, Date.parse(g.expiresAt));
    }
    if (next === Infinity) return;
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, next - Date.now()) + 5);
    this.timer = setTimeout(() => void this.sweep(), delay);
    this.timer.unref();
  }

  /** Writes the expiry records that are due, prunes long-ended grants, re-arms the timer. One at a time. */
  private sweep(): Promise<void> {
    if (this.sweeping) {
      this.sweepAgain = true;
      return this.sweeping;
    }
    this.sweeping = (async () => {
      do {
        this.sweepAgain = false;
        await this.sweepOnce();
      } while (this.sweepAgain && !this.closed);
    })().finally(() => {
      this.sweeping = undefined;
      this.arm();
    });
    return this.sweeping;
  }

  private async sweepOnce(): Promise<void> {
    const now = Date.now();
    // Grants whose parent ended (revoked on another replica, expired, or
    // pruned) without this end recorded yet: revoked now, one record each.
    for (const g of [...this.grants.values()]) {
      if (this.closed) return;
      if (grantState(g, now) !== 'active' || this.chainAlive(g, now) || this.endingTried.has(g.id)) continue;
      this.endingTried.add(g.id);
      const parent = this.endedParent(g, now);
      const parentId = typeof parent === 'string' ? parent : parent?.id ?? g.parents![0]!;
      const by = typeof parent === 'object' && parent.revokedBy ? parent.revokedBy : `end of grant ${parentId}`;
      await this.endWithParent(g, parentId, by, now);
    }
    for (const g of [...this.grants.values()]) {
      if (g.revokedAt || g.expiryRecordedAt || Date.parse(g.expiresAt) > now) continue;
      const at = new Date(now).toISOString();
      let claimed: boolean;
      try {
        claimed = await this.store.claimExpiry(g.id, at);
      } catch (e) {
        this.log('error', `the expiry of grant ${g.id} could not be stored: ${(e as Error).message}`);
        continue;
      }
      this.grants.set(g.id, { ...g, expiryRecordedAt: g.expiryRecordedAt ?? at });
      if (!claimed) continue; // another replica wrote the record
      try {
        await this.audit.append(expiryRecord(g));
      } catch {
        this.log('error', `the expiry of grant ${g.id} (${g.principal}, ${g.role}) could not be written to the audit log`);
      }
      this.changed({ kind: 'expired', grant: g });
    }
    const cut = new Date(now - this.options.retainEndedSeconds * 1000).toISOString();
    const stale = [...this.grants.values()].filter((g) => grantEndedAt(g) <= Date.parse(cut) && (g.revokedAt || g.expiryRecordedAt));
    if (stale.length) {
      try {
        await this.store.prune(cut);
        for (const g of stale) {
          this.grants.delete(g.id);
          this.keys.delete(g.id);
        }
      } catch (e) {
        this.log('warn', `ended grants could not be pruned: ${(e as Error).message}`);
      }
    }
  }
}

/**
 * The audit record of a grant's expiry: no request caused it, so it has no
 * peer, method or path; it names the grant's key, principal and role, the
 * endpoint that created it, and the grant id, with outcome `expired`.
 */
function expiryRecord(g: StoredGrant): AuditEvent {
  return {
    requestId: randomId(16),
    keyid: g.keyid,
    principal: g.principal,
    role: g.role,
    peer: null,
    endpoint: g.approvalId ? 'grants.request' : 'grants.create',
    method: null,
    path: null,
    params: { grantId: g.id, expiresAt: g.expiresAt, grantedBy: g.grantedBy },
    reason: g.reason,
    outcome: 'expired',
    status: null,
    durationMs: 0,
    grantId: g.id,
  };
}

/**
 * The audit record of a grant that ended with a grant it was made under:
 * like an expiry, no request of its own caused it (`requestId` is the
 * revoking request's when there was one); it names the grant's key,
 * principal and role, outcome `ok` of `grants.revoke`, and the grant note
 * `{event: "revoked", endedWith}`.
 */
function cascadeRecord(g: StoredGrant, parentId: string, revokedBy: string, requestId?: string): AuditEvent {
  return {
    requestId: requestId ?? randomId(16),
    keyid: g.keyid,
    principal: g.principal,
    role: g.role,
    peer: null,
    endpoint: 'grants.revoke',
    method: null,
    path: null,
    params: { grantId: g.id, endedWith: parentId, revokedBy },
    reason: `ended with grant ${parentId}`,
    outcome: 'ok',
    status: null,
    durationMs: 0,
    grantId: g.id,
    grant: { id: g.id, event: 'revoked', keyid: g.keyid, principal: g.principal, role: g.role, expiresAt: g.expiresAt, endedWith: parentId },
  };
}

/** Distinct persons, in order (compared as samePerson does). */
function uniquePersons(names: string[]): string[] {
  const seen = new Set<string>();
  return names.filter((n) => {
    const k = personKey(n);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** 28800 → "8h", 5400 → "1h30m", 90 → "1m30s". */
export function formatSeconds(s: number): string {
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return [h ? `${h}h` : '', m ? `${m}m` : '', sec || (!h && !m) ? `${sec}s` : ''].join('');
}
