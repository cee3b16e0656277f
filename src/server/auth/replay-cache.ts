/**
 * Nonces seen inside the signature window, keyed by keyid + nonce. An entry
 * lives until its signature's `created` leaves the window, after which the
 * time check alone refuses a replay. When full of unexpired entries it
 * refuses new requests instead of evicting: evicting a live nonce would
 * re-open it for replay.
 *
 * The cap scales with the window (forWindow): `noncesPerSecond` × a nonce's
 * longest life, 2 × the window (a signature dated up to the window in the
 * future lives until created + window), so a signed rate of
 * `noncesPerSecond` sustained for ever never fills it, whatever the window.
 *
 * Memory per nonce is kept small and fixed (≈ 60 bytes, src/server/README.md,
 * "Performance of the internal port"): an entry is a 53-bit hash of keyid +
 * nonce (a number, not the strings, which as substrings of the request's
 * header would keep the whole header alive). Two different nonces sharing a
 * hash (≈ entries / 2^53 per request: one in 10^10 at 600,000 nonces) make
 * the second one a refused replay: a collision can only refuse, never let a
 * replay through, since a replay has the same hash as its original.
 *
 * Entries also sit in a queue in arrival order, which is nearly expiry
 * order (`created` is within the skew of now), so forgetting expired ones
 * costs what expired, not a walk over everything remembered. An entry that
 * expires before one ahead of it waits for that one (kept longer, never
 * shorter); only when the queue alone cannot make room is every entry
 * looked at, at most once a second.
 */
export class ReplayCache {
  private readonly seen = new Map<number, number>();
  /** Arrival-order queue: hashes and expiries, from `head` to `tail`. */
  private ids = new Float64Array(1024);
  private exps = new Float64Array(1024);
  private head = 0;
  private tail = 0;
  private nextFullSweep = 0;

  /** The default nonces per second of a nonce's life (InternalPortOptions.replayCache). */
  static readonly DEFAULT_NONCES_PER_SECOND = 5000;

  /** A cache for a ±`windowSeconds` window, holding `noncesPerSecond` × 2 × window nonces at most. */
  static forWindow(windowSeconds: number, noncesPerSecond = ReplayCache.DEFAULT_NONCES_PER_SECOND): ReplayCache {
    return new ReplayCache(windowSeconds, Math.max(1, Math.ceil(noncesPerSecond * 2 * windowSeconds)));
  }

  constructor(private readonly windowSeconds: number, readonly capacity = 100_000) {}

  /** 'fresh' and remembered, 'replay', or 'full' (cannot remember: refuse). */
  check(keyid: string, nonce: string, created: number, nowSeconds = Math.floor(Date.now() / 1000)): 'fresh' | 'replay' | 'full' {
    const id = hash53(keyid, nonce);
    const exp = this.seen.get(id);
    if (exp !== undefined && exp >= nowSeconds) return 'replay';
    this.forgetExpired(nowSeconds);
    if (this.seen.size >= this.capacity && nowSeconds >= this.nextFullSweep) this.fullSweep(nowSeconds);
    if (this.seen.size >= this.capacity) return 'full';
    const until = created + this.windowSeconds;
    this.seen.set(id, until);
    this.push(id, until);
    return 'fresh';
  }

  get size(): number {
    return this.seen.size;
  }

  private push(id: number, exp: number): void {
    if (this.tail === this.ids.length) {
      const live = this.tail - this.head;
      if (live * 2 <= this.ids.length) {
        // At least half of the queue is spent: move the live part to the front.
        this.ids.copyWithin(0, this.head, this.tail);
        this.exps.copyWithin(0, this.head, this.tail);
      } else {
        const ids = new Float64Array(this.ids.length * 2);
        const exps = new Float64Array(this.ids.length * 2);
        ids.set(this.ids.subarray(this.head, this.tail));
        exps.set(this.exps.subarray(this.head, this.tail));
        this.ids = ids;
        this.exps = exps;
      }
      this.head = 0;
      this.tail = live;
    }
    this.ids[this.tail] = id;
    this.exps[this.tail++] = exp;
  }

  /** Drops expired entries from the front of the queue. */
  private forgetExpired(now: number): void {
    while (this.head < this.tail && this.exps[this.head]! < now) {
      const id = this.ids[this.head]!;
      const exp = this.exps[this.head++]!;
      // The same id may have been remembered again since (a newer entry).
      if (this.seen.get(id) === exp) this.seen.delete(id);
    }
    if (this.head === this.tail) this.head = this.tail = 0;
  }

  private fullSweep(now: number): void {
    for (const [id, exp] of this.seen) if (exp < now) this.seen.delete(id);
    this.nextFullSweep = now + 1;
  }
}

/**
 * cyrb53 (a public-domain 53-bit string hash) over keyid, a separator and
 * the nonce: fast in JavaScript and well spread. Not a cryptographic hash,
 * and it need not be: see the class comment on what a collision can do.
 */
function hash53(keyid: string, nonce: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  const mix = (c: number) => {
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  };
  for (let i = 0; i < keyid.length; i++) mix(keyid.charCodeAt(i));
  mix(0);
  for (let i = 0; i < nonce.length; i++) mix(nonce.charCodeAt(i));
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}
