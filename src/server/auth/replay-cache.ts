/**
 * Nonces seen inside the signature window, keyed by keyid + nonce. An entry
 * lives until its signature's `created` leaves the window, after which the
 * time check alone refuses a replay. When full of unexpired entries it
 * refuses new requests instead of evicting: evicting a live nonce would
 * re-open it for replay.
 *
 * Entries also sit in a queue in arrival order, which is nearly expiry
 * order (`created` is within the skew of now), so forgetting expired ones
 * costs what expired, not a walk over everything remembered. An entry that
 * expires before one ahead of it waits for that one (kept longer, never
 * shorter); only when the queue alone cannot make room is every entry
 * looked at, at most once a second.
 */
export class ReplayCache {
  private readonly seen = new Map<string, number>();
  private queue: Array<{ id: string; exp: number }> = [];
  private head = 0;
  private nextFullSweep = 0;

  constructor(private readonly windowSeconds: number, private readonly maxEntries = 100_000) {}

  /** 'fresh' and remembered, 'replay', or 'full' (cannot remember: refuse). */
  check(keyid: string, nonce: string, created: number, nowSeconds = Math.floor(Date.now() / 1000)): 'fresh' | 'replay' | 'full' {
    const id = `${keyid}\u0000${nonce}`;
    const exp = this.seen.get(id);
    if (exp !== undefined && exp >= nowSeconds) return 'replay';
    this.forgetExpired(nowSeconds);
    if (this.seen.size >= this.maxEntries && nowSeconds >= this.nextFullSweep) this.fullSweep(nowSeconds);
    if (this.seen.size >= this.maxEntries) return 'full';
    const until = created + this.windowSeconds;
    this.seen.set(id, until);
    this.queue.push({ id, exp: until });
    return 'fresh';
  }

  get size(): number {
    return this.seen.size;
  }

  /** Drops expired entries from the front of the queue. */
  private forgetExpired(now: number): void {
    const q = this.queue;
    while (this.head < q.length && q[this.head]!.exp < now) {
      const { id, exp } = q[this.head++]!;
      // The same id may have been remembered again since (a newer entry).
      if (this.seen.get(id) === exp) this.seen.delete(id);
    }
    if (this.head > 1024 && this.head * 2 > q.length) {
      this.queue = q.slice(this.head);
      this.head = 0;
    }
  }

  private fullSweep(now: number): void {
    for (const [id, exp] of this.seen) if (exp < now) this.seen.delete(id);
    this.nextFullSweep = now + 1;
  }
}
