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
  /** The request was held for approval: a repeat is answered by that approval, whatever its state. */
  heldApprovalId?: string;
}

export type IdempotencyClaim =
  | { kind: 'new'; complete(r: StoredResponse): void; abandon(): void }
  | { kind: 'replay'; response: StoredResponse };

/** What a key is already bound to (see IdempotencyCache.inspect). */
export type IdempotencyPrior =
  | { kind: 'held'; approvalId: string }
  | { kind: 'done' }
  | { kind: 'in-flight'; settled: Promise<StoredResponse | undefined> };

/** 1-255 visible ASCII characters, as the pipeline's admit stage requires. */
export const IDEMPOTENCY_KEY_FORM = /^[\x21-\x7e]{1,255}$/;

/** sha256 over method, path, query and body: what makes two requests "the same". */
export function requestFingerprint(method: string, path: string, query: string, body: Buffer): Buffer {
  return createHash('sha256').update(`${method} ${path}?${query}\n`).update(body).digest();
}

function mismatch(heldApprovalId?: string): ProblemError {
  return new ProblemError('request.idempotency_mismatch', heldApprovalId
    ? `this Idempotency-Key was already used with a different request, held as approval ${heldApprovalId}; use a new key`
    : 'this Idempotency-Key was already used with a different request; use a new key');
}

/**
 * Idempotency-Key handling per (keyid, key). The first request runs; a repeat
 * with the same fingerprint gets the first response again (waiting for it if
 * it is still in flight); the same key with another request is 422. A request
 * that was refused before anything ran is abandoned, so a retry may run.
 *
 * A request held for approval binds its key too (registerHeld): a repeat is
 * answered by that approval in whatever state it is (pending, executed,
 * rejected, expired…), never held or run anew, and another request under the
 * key is 422 at every stage (src/server/README.md, "Approvals and dry-run").
 * The approval service registers its held requests again at start, so the
 * link survives a restart as the approvals do.
 */
export class IdempotencyCache {
  private readonly entries = new Map<string, Entry>();

  constructor(readonly ttlMs = 24 * 3600 * 1000, private readonly maxEntries = 10_000) {}

  async claim(keyid: string, key: string, endpoint: string, fingerprint: Buffer): Promise<IdempotencyClaim> {
    const id = `${keyid}\u0000${key}`;
    const now = Date.now();
    for (;;) {
      const existing = this.entries.get(id);
      if (!existing || existing.expiresAt < now) break;
      if (existing.endpoint !== endpoint || !timingSafeEqual(existing.fingerprint, fingerprint)) throw mismatch(existing.heldApprovalId);
      // The review stage answers repeats of a held request before admit; only a policy removed since gets here.
      if (existing.heldApprovalId) throw new ProblemError('approval.closed', `this request was held for approval as ${existing.heldApprovalId}; its outcome is there (opsctl approvals show ${existing.heldApprovalId}), it does not run again`);
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

  /**
   * What (keyid, key) is bound to now, without claiming it: undefined when
   * nothing; 422 when it was used with another endpoint or request.
   * Synchronous, so a caller can check and then registerHeld with no
   * other request in between.
   */
  inspect(keyid: string, key: string, endpoint: string, fingerprint: Buffer, now = Date.now()): IdempotencyPrior | undefined {
    const existing = this.entries.get(`${keyid}\u0000${key}`);
    if (!existing || existing.expiresAt < now) return undefined;
    if (existing.endpoint !== endpoint || !timingSafeEqual(existing.fingerprint, fingerprint)) throw mismatch(existing.heldApprovalId);
    if (existing.heldApprovalId) return { kind: 'held', approvalId: existing.heldApprovalId };
    if (existing.response) return { kind: 'done' };
    return { kind: 'in-flight', settled: existing.waiting ?? Promise.resolve(undefined) };
  }

  /** inspect(), waiting for a first attempt still in flight: `done` once it answered, undefined if it was abandoned. */
  async peek(keyid: string, key: string, endpoint: string, fingerprint: Buffer): Promise<Exclude<IdempotencyPrior, { kind: 'in-flight' }> | undefined> {
    for (;;) {
      const prior = this.inspect(keyid, key, endpoint, fingerprint);
      if (prior?.kind !== 'in-flight') return prior;
      if (await prior.settled) return { kind: 'done' };
    }
  }

  /**
   * Binds (keyid, key) to a held request's approval until `since` + the
   * time to live. Returns an undo for a hold that could not be saved.
   */
  registerHeld(keyid: string, key: string, endpoint: string, fingerprint: Buffer, approvalId: string, since = Date.now()): () => void {
    const id = `${keyid}\u0000${key}`;
    const expiresAt = since + this.ttlMs;
    if (expiresAt < Date.now()) return () => undefined;
    const entry: Entry = { endpoint, fingerprint, expiresAt, heldApprovalId: approvalId };
    this.entries.set(id, entry);
    return () => {
      if (this.entries.get(id) === entry) this.entries.delete(id);
    };
  }

  private makeRoom(now: number): void {
    if (this.entries.size < this.maxEntries) return;
    for (const [id, e] of this.entries) if (e.expiresAt < now) this.entries.delete(id);
    // Still full: drop the oldest completed entries (insertion order). Held
    // ones stay: forgetting one would let a retry be held (and run) again.
    for (const [id, e] of this.entries) {
      if (this.entries.size < this.maxEntries) break;
      if (e.response) this.entries.delete(id);
    }
  }
}
