import { createHash, timingSafeEqual } from 'node:crypto';
import { ProblemError } from '../../protocol/index.js';

/** A response as first sent, to be sent again for a repeat. */
export interface StoredResponse {
  status: number;
  contentType: string;
  body: string;
  headers: Record<string, string>;
}

interface Entry {
  endpoint: string;
  fingerprint: Buffer;
  expiresAt: number;
  response?: StoredResponse;
  waiting?: Promise<StoredResponse | undefined>;
  settle?: (r: StoredResponse | undefined) => void;
}

export type IdempotencyClaim =
  | { kind: 'new'; complete(r: StoredResponse): void; abandon(): void }
  | { kind: 'replay'; response: StoredResponse };

/** sha256 over method, path, query and body: what makes two requests "the same". */
export function requestFingerprint(method: string, path: string, query: string, body: Buffer): Buffer {
  return createHash('sha256').update(`${method} ${path}?${query}\n`).update(body).digest();
}

/**
 * Idempotency-Key handling per (keyid, key). The first request runs; a repeat
 * with the same fingerprint gets the first response again (waiting for it if
 * it is still in flight); the same key with another request is 422. A request
 * that was refused before anything ran is abandoned, so a retry may run.
 */
export class IdempotencyCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly ttlMs = 24 * 3600 * 1000, private readonly maxEntries = 10_000) {}

  async claim(keyid: string, key: string, endpoint: string, fingerprint: Buffer): Promise<IdempotencyClaim> {
    const id = `${keyid}\u0000${key}`;
    const now = Date.now();
    for (;;) {
      const existing = this.entries.get(id);
      if (!existing || existing.expiresAt < now) break;
      if (existing.endpoint !== endpoint || !timingSafeEqual(existing.fingerprint, fingerprint)) {
        throw new ProblemError('request.idempotency_mismatch', 'this Idempotency-Key was already used with a different request; use a new key');
      }
      if (existing.response) return { kind: 'replay', response: existing.response };
      const first = await existing.waiting;
      if (first) return { kind: 'replay', response: first };
      // The first attempt was abandoned (nothing ran): loop and claim it anew.
    }
    this.makeRoom(now);
    let settle!: (r: StoredResponse | undefined) => void;
    const waiting = new Promise<StoredResponse | undefined>((resolve) => { settle = resolve; });
    const entry: Entry = { endpoint, fingerprint, expiresAt: now + this.ttlMs, waiting, settle };
    this.entries.set(id, entry);
    return {
      kind: 'new',
      complete: (response) => {
        entry.response = response;
        entry.waiting = undefined;
        entry.settle?.(response);
      },
      abandon: () => {
        if (this.entries.get(id) === entry) this.entries.delete(id);
        entry.settle?.(undefined);
      },
    };
  }

  private makeRoom(now: number): void {
    if (this.entries.size < this.maxEntries) return;
    for (const [id, e] of this.entries) if (e.expiresAt < now) this.entries.delete(id);
    // Still full: drop the oldest completed entries (insertion order).
    for (const [id, e] of this.entries) {
      if (this.entries.size < this.maxEntries) break;
      if (e.response) this.entries.delete(id);
    }
  }
}
