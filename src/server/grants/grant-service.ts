import { ProblemError, ROLES, ed25519KeyFromBlob, fingerprintOfBlob, parseOpenSshPublicKey, roleAllows, type GrantView, type Role } from '../../protocol/index.js';
import type { KeyObject } from 'node:crypto';
import type { AuditLog } from '../audit/audit-log.js';
import type { AuditEvent } from '../audit/audit-record.js';
import type { PortLog } from '../logger.js';
import type { GrantStore, Principal, StoredGrant } from '../options.js';
import { randomId } from '../random-id.js';
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
}

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

  constructor(
    private readonly store: GrantStore,
    private readonly audit: AuditLog,
    private readonly log: PortLog,
    readonly options: GrantServiceOptions,
  ) {}

  get shared(): boolean {
    return this.store.shared;
  }

  /** Loads the store, records expiries that happened while down, and arms the timers. */
  async start(): Promise<void> {
    this.replace(await this.store.load());
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
      if (!best || rank(g.role) > rank(best.role) || (rank(g.role) === rank(best.role) && g.expiresAt > best.expiresAt)) best = g;
    }
    // The first request after an expiry records it if the timer has not yet.
    if (noticedExpiry) void this.sweep();
    return best ? { grant: best, key: this.keys.get(best.id)! } : undefined;
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
    for (const g of fresh) {
      if (g.keyid !== keyid) continue;
      try {
        const key = this.keys.get(g.id) ?? parseGrantKey(g.publicKey).key;
        if (!this.grants.has(g.id)) added = true;
        this.put(g, key);
      } catch (e) {
        this.log('warn', `grant ${g.id} skipped: its key is unusable (${(e as Error).message})`);
      }
    }
    if (added) this.arm();
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
    const active = all.filter((g) => grantState(g, now) === 'active').sort((a, b) => a.expiresAt.localeCompare(b.expiresAt));
    const ended = all.filter((g) => grantState(g, now) !== 'active').sort((a, b) => grantEndedAt(b) - grantEndedAt(a));
    return [...active, ...ended].map((g) => grantView(g, now));
  }

  get(id: string, now = Date.now()): GrantView | undefined {
    const g = this.grants.get(id);
    return g ? grantView(g, now) : undefined;
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
   * granter's own key (nobody extends their own access), and (400) a
   * duration above the maximum or beyond the granter's own grant.
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
    const expires = now + input.ttlSeconds * 1000;
    if (granter.ownGrantExpiresAt && expires > Date.parse(granter.ownGrantExpiresAt)) {
      throw new ProblemError('request.invalid', `${granter.name} acts under a grant that ends at ${granter.ownGrantExpiresAt}; a grant given under it cannot last longer`, { field: 'ttlSeconds' });
    }
    const grant: StoredGrant = {
      id: randomId(16),
      keyid: key.keyid,
      publicKey: key.canonical,
      principal: input.principal?.trim() || key.comment.trim() || key.keyid,
      role: input.role,
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(expires).toISOString(),
      grantedBy: granter.name,
      grantedByKeyid: granter.keyid,
      reason: input.reason,
      ...(input.approvalId ? { approvalId: input.approvalId } : {}),
    };
    await this.store.insert(grant);
    this.put(grant, key.key);
    this.arm();
    return grant;
  }

  /** Revokes an active grant; `revoked: false` when it had already ended (nothing changes then). */
  async revoke(id: string, by: Principal, now = Date.now()): Promise<{ grant: GrantView; revoked: boolean }> {
    // A grant given on another replica a moment ago may not have reached this one's list yet.
    if (!this.grants.has(id)) await this.refresh();
    const g = this.grants.get(id);
    if (!g) throw new ProblemError('not_found', `no grant ${quoted(id)} (ended grants are listed for ${formatSeconds(this.options.retainEndedSeconds)}, then forgotten)`);
    const updated = await this.store.revoke(id, by.name, new Date(now).toISOString());
    if (!updated) {
      if (this.store.shared) await this.reload();
      return { grant: grantView(this.grants.get(id) ?? g, now), revoked: false };
    }
    this.put(updated);
    return { grant: grantView(updated, now), revoked: true };
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
  }

  private async reload(): Promise<void> {
    if (this.closed) return;
    try {
      this.replace(await this.store.load());
      this.arm();
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
function expiryRecord(g: StoredGrant): AuditEvent & { grantId: string } {
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

/** 28800 → "8h", 5400 → "1h30m", 90 → "1m30s". */
export function formatSeconds(s: number): string {
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return [h ? `${h}h` : '', m ? `${m}m` : '', sec || (!h && !m) ? `${sec}s` : ''].join('');
}
