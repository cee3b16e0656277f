import { verifyPrepared, type PreparedVerification, type VerifyResult } from '../../protocol/index.js';
import type { Admission } from './verify-admission.js';

/**
 * Runs Ed25519 verifies on libuv's thread pool (crypto.verify with a
 * callback), at most `inFlight` at a time, in arrival order. Off the event
 * loop, so the service's own listeners are served while a verify runs; at
 * most one at a time by default, so on a small machine the verifies take
 * one core and leave the rest to the service (a pool of four busy threads
 * on two cores would take the event loop's core too). src/server/README.md,
 * "Performance of the internal port".
 */
export class VerifyQueue {
  private busy = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly inFlight = 1) {}

  /**
   * The verdict, or the refusal `admit` gives when asked just before the
   * verify starts (a flood's forgeries that waited in the queue while the
   * first ones failed are refused there, unverified).
   */
  run(p: PreparedVerification, admit?: () => Admission): Promise<VerifyResult | Extract<Admission, { ok: false }>> {
    if (this.busy < this.inFlight) return this.start(p, admit);
    return new Promise((resolve) => {
      this.waiting.push(() => resolve(this.start(p, admit)));
    });
  }

  private start(p: PreparedVerification, admit?: () => Admission): Promise<VerifyResult | Extract<Admission, { ok: false }>> {
    const a = admit?.();
    if (a && !a.ok) {
      this.waiting.shift()?.();
      return Promise.resolve(a);
    }
    this.busy++;
    return verifyPrepared(p, true).then((v) => {
      this.busy--;
      this.waiting.shift()?.();
      return v;
    });
  }
}
