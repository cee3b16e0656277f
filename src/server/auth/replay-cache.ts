/**
 * Nonces seen inside the signature window, keyed by keyid + nonce. An entry
 * lives until its signature's `created` leaves the window, after which the
 * time check alone refuses a replay. When full of unexpired entries it
 * refuses new requests instead of evicting: evicting a live nonce would
 * re-open it for replay.
 */
export class ReplayCache {
  private readonly seen = new Map<string, number>();
  private nextSweep = 0;

  constructor(private readonly windowSeconds: number, private readonly maxEntries = 100_000) {}

  /** 'fresh' and remembered, 'replay', or 'full' (cannot remember: refuse). */
  check(keyid: string, nonce: string, created: number, nowSeconds = Math.floor(Date.now() / 1000)): 'fresh' | 'replay' | 'full' {
    const id = `${keyid}\u0000${nonce}`;
    const exp = this.seen.get(id);
    if (exp !== undefined && exp >= nowSeconds) return 'replay';
    if (this.seen.size >= this.maxEntries || nowSeconds >= this.nextSweep) this.sweep(nowSeconds);
    if (this.seen.size >= this.maxEntries) return 'full';
    this.seen.set(id, created + this.windowSeconds);
    return 'fresh';
  }

  get size(): number {
    return this.seen.size;
  }

  private sweep(now: number): void {
    for (const [id, exp] of this.seen) if (exp < now) this.seen.delete(id);
    this.nextSweep = now + 5;
  }
}
