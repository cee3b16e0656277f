/**
 * Admission before the Ed25519 verify: a request naming a real keyid with a
 * wrong signature is the cheapest way to make the port burn CPU (the verify
 * is most of what a signed request costs), so failed verifies are limited
 * per keyid and per peer, and a request whose keyid or peer has spent its
 * budget is refused (429 `limit.auth`) BEFORE any verify is attempted.
 *
 * Only failures spend: a verify is attempted while both of the request's
 * buckets hold a token, and a signature that does not verify takes one from
 * each; legitimate traffic never runs a bucket down, however fast or
 * concurrent it is. The check is made again when the verify is about to
 * start (verify-queue.ts), so forgeries waiting in the queue meanwhile are
 * refused there too: what a flood gets verified is the burst, the refill,
 * and at most the verifies already running.
 *
 * The peer is the connection (remote address and port), not the address:
 * the port listens on loopback only and every client arrives from 127.0.0.1
 * (through sshd), so an address bucket would let one flooder lock out every
 * operator. A client that opens connection after connection still meets
 * the keyid's bucket, and a keyid that no key stands for is refused without
 * a verify anyway (auth.unknown_key). src/server/README.md, "Performance of
 * the internal port", and docs/security.md describe the limits.
 */

/** One token bucket's size and refill. */
export interface BucketLimit {
  /** Failed verifies allowed at once (the bucket's size). */
  burst: number;
  /** Tokens back per second. */
  perSecond: number;
}

/** `InternalPortOptions.verifyLimits`: failed signature verifies allowed before requests are refused unverified. */
export interface VerifyLimits {
  /** Per keyid (default burst 20, 5/s). */
  perKeyid?: Partial<BucketLimit>;
  /** Per connection (default burst 10, 2/s). */
  perPeer?: Partial<BucketLimit>;
  /**
   * How long a refusal by these limits is held before it is sent, in ms
   * (default 1000, at most the Retry-After; 0 answers at once). A flooder
   * that waits for each answer then sends a request per connection per
   * hold instead of as fast as the port can refuse: refusing costs it time,
   * not the service's CPU.
   */
  holdRefusalMs?: number;
}

export const DEFAULT_VERIFY_LIMITS = {
  perKeyid: { burst: 20, perSecond: 5 },
  perPeer: { burst: 10, perSecond: 2 },
} as const satisfies Required<{ [K in 'perKeyid' | 'perPeer']: BucketLimit }>;

/** Default `verifyLimits.holdRefusalMs`. */
export const DEFAULT_HOLD_REFUSAL_MS = 1000;
/** The longest hold accepted (a held refusal keeps its connection busy). */
const MAX_HOLD_REFUSAL_MS = 10_000;

/** Buckets kept per kind; beyond it, refilled buckets (and then the oldest) are forgotten. */
const MAX_BUCKETS = 4096;

class Buckets {
  private readonly map = new Map<string, { tokens: number; at: number }>();
  constructor(readonly limit: BucketLimit) {}

  /** Whether `key` has a token (refilled to `now`); nothing is taken. */
  has(key: string, now: number): boolean {
    return this.bucket(key, now).tokens >= 1;
  }

  /** Takes a token (a failed verify); never below zero. */
  take(key: string, now: number): void {
    const b = this.bucket(key, now);
    b.tokens = Math.max(0, b.tokens - 1);
  }

  private bucket(key: string, now: number): { tokens: number; at: number } {
    let b = this.map.get(key);
    if (b) {
      b.tokens = Math.min(this.limit.burst, b.tokens + ((now - b.at) / 1000) * this.limit.perSecond);
      b.at = now;
    } else {
      if (this.map.size >= MAX_BUCKETS) this.evict(now);
      b = { tokens: this.limit.burst, at: now };
      this.map.set(key, b);
    }
    return b;
  }

  /** Seconds until `key` has a token again (for Retry-After). */
  wait(key: string): number {
    const b = this.map.get(key);
    if (!b || b.tokens >= 1) return 0;
    return Math.ceil((1 - b.tokens) / this.limit.perSecond);
  }

  private evict(now: number): void {
    for (const [k, b] of this.map) if (b.tokens + ((now - b.at) / 1000) * this.limit.perSecond >= this.limit.burst) this.map.delete(k);
    if (this.map.size >= MAX_BUCKETS) {
      const oldest = this.map.keys().next().value;
      if (oldest !== undefined) this.map.delete(oldest);
    }
  }
}

/** What admit() decided: go ahead (then report the verdict), or refused by which limit. */
export type Admission = { ok: true } | { ok: false; by: 'keyid' | 'peer'; retryAfterSeconds: number };

export class VerifyAdmission {
  private readonly keyids: Buckets;
  private readonly peers: Buckets;
  /** How long a refusal is held before it is answered (ms): see VerifyLimits.holdRefusalMs. */
  readonly holdRefusalMs: number;

  constructor(limits: VerifyLimits = {}) {
    this.keyids = new Buckets({ ...DEFAULT_VERIFY_LIMITS.perKeyid, ...limits.perKeyid });
    this.peers = new Buckets({ ...DEFAULT_VERIFY_LIMITS.perPeer, ...limits.perPeer });
    this.holdRefusalMs = limits.holdRefusalMs ?? DEFAULT_HOLD_REFUSAL_MS;
  }

  /** Before a verify: may it be attempted (both buckets hold a token), or refused by which limit. */
  admit(keyid: string, peer: string, now = Date.now()): Admission {
    if (!this.keyids.has(keyid, now)) return { ok: false, by: 'keyid', retryAfterSeconds: Math.max(1, this.keyids.wait(keyid)) };
    if (!this.peers.has(peer, now)) return { ok: false, by: 'peer', retryAfterSeconds: Math.max(1, this.peers.wait(peer)) };
    return { ok: true };
  }

  /** A signature that did not verify: one token from the keyid's bucket and one from the peer's. */
  failed(keyid: string, peer: string, now = Date.now()): void {
    this.keyids.take(keyid, now);
    this.peers.take(peer, now);
  }
}

/** Checks VerifyLimits from the options; returns why they are wrong, or undefined. */
export function verifyLimitsProblem(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (!v || typeof v !== 'object') return 'verifyLimits must be an object';
  const hold = (v as Record<string, unknown>).holdRefusalMs;
  if (hold !== undefined && (typeof hold !== 'number' || !Number.isInteger(hold) || hold < 0 || hold > MAX_HOLD_REFUSAL_MS)) {
    return `verifyLimits.holdRefusalMs must be an integer from 0 to ${MAX_HOLD_REFUSAL_MS}`;
  }
  for (const kind of ['perKeyid', 'perPeer'] as const) {
    const b = (v as Record<string, unknown>)[kind];
    if (b === undefined) continue;
    if (!b || typeof b !== 'object') return `verifyLimits.${kind} must be an object`;
    for (const k of ['burst', 'perSecond'] as const) {
      const n = (b as Record<string, unknown>)[k];
      if (n !== undefined && (typeof n !== 'number' || !Number.isFinite(n) || n <= 0)) return `verifyLimits.${kind}.${k} must be a positive number`;
      if (k === 'burst' && typeof n === 'number' && n < 1) return `verifyLimits.${kind}.burst must be at least 1`;
    }
  }
  return undefined;
}
