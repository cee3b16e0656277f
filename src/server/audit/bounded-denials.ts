import type { AuditSuppressedEvent } from '../../protocol/audit.js';
import type { AuditEvent } from './audit-record.js';

/** Path of an unauthenticated denial, at most this many characters in the record. */
export const DENIED_PATH_MAX = 256;
/** A claimed key id longer than an OpenSSH SHA256 fingerprint (50) is cut here. */
export const CLAIMED_KEYID_MAX = 64;

/** Per-peer token bucket for unauthenticated denials. */
export interface DenialLimits {
  /** Records per second per peer address once the burst is spent (default 5). */
  perSecond?: number;
  /** Records a peer may cause at once (default 20). */
  burst?: number;
}

/** An unauthenticated denial: nothing about the caller was verified. */
export function isUnauthenticatedDenial(e: AuditEvent): boolean {
  return e.outcome === 'denied' && e.principal === null && typeof e.requestId === 'string';
}

/**
 * Cuts an unauthenticated denial to a bounded size: the path to 256
 * characters (the original length kept), the key id it claims moved to
 * `claimedKeyid` and cut, since nothing vouches for it.
 */
export function boundDenial(e: AuditEvent): AuditEvent {
  const out: AuditEvent = { ...e, keyid: null, params: null, reason: null };
  if (typeof e.path === 'string' && e.path.length > DENIED_PATH_MAX) {
    out.path = e.path.slice(0, DENIED_PATH_MAX);
    out.pathLength = e.path.length;
  }
  if (typeof e.method === 'string') out.method = e.method.slice(0, 16);
  if (e.keyid) out.claimedKeyid = e.keyid.slice(0, CLAIMED_KEYID_MAX);
  return out;
}

/** The peer's address without its port: the unit of rate limiting. */
export function peerAddress(peer: string | null): string {
  if (!peer) return 'unknown';
  const m = /^\[?([^\]]*?)\]?:\d+$/.exec(peer);
  return (m ? m[1]! : peer).slice(0, 64);
}

const MAX_PEERS = 4096;

/**
 * Token buckets per peer address, plus the count of what was dropped since
 * the last `suppressed` record.
 */
export class DenialLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private dropped = new Map<string, number>();
  private droppedSince: string | undefined;
  private readonly rate: number;
  private readonly burst: number;
  private readonly global: { tokens: number; at: number };

  constructor(limits: DenialLimits = {}) {
    this.rate = limits.perSecond ?? 5;
    this.burst = limits.burst ?? 20;
    this.global = { tokens: this.burst * 10, at: Date.now() };
  }

  /** True when the denial may be written; false when it is dropped (and counted). */
  admit(peer: string | null, now = Date.now()): boolean {
    const key = peerAddress(peer);
    let b = this.buckets.get(key);
    if (b) {
      b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.rate);
      b.at = now;
    } else {
      if (this.buckets.size >= MAX_PEERS) this.evict(now);
      b = { tokens: this.burst, at: now };
      this.buckets.set(key, b);
    }
    // All of 127.0.0.0/8 is loopback: a flood from many source addresses
    // meets one more bucket shared by every peer.
    const g = this.global;
    g.tokens = Math.min(this.burst * 10, g.tokens + ((now - g.at) / 1000) * this.rate * 10);
    g.at = now;
    if (b.tokens >= 1 && g.tokens >= 1) {
      b.tokens -= 1;
      g.tokens -= 1;
      return true;
    }
    this.droppedSince ??= new Date(now).toISOString();
    this.dropped.set(key, (this.dropped.get(key) ?? 0) + 1);
    return false;
  }

  /** What was dropped since the last call, as the body of a `suppressed` record; undefined when nothing was. */
  takeSuppressed(): AuditSuppressedEvent | undefined {
    if (this.dropped.size === 0) return undefined;
    const entries = [...this.dropped.entries()].sort((a, b) => b[1] - a[1]);
    const total = entries.reduce((n, [, c]) => n + c, 0);
    const body: AuditSuppressedEvent = {
      type: 'suppressed',
      outcome: 'denied',
      dropped: total,
      since: this.droppedSince,
      // The loudest peers by name; the rest only counted.
      peers: Object.fromEntries(entries.slice(0, 16)),
      ...(entries.length > 16 ? { otherPeers: entries.length - 16 } : {}),
    };
    this.dropped = new Map();
    this.droppedSince = undefined;
    return body;
  }

  private evict(now: number): void {
    // Drop buckets that have refilled (they would start full anyway), then the oldest.
    for (const [k, b] of this.buckets) if (b.tokens + ((now - b.at) / 1000) * this.rate >= this.burst) this.buckets.delete(k);
    if (this.buckets.size >= MAX_PEERS) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
  }
}
