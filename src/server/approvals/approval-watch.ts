import { randomId } from '../random-id.js';
import type { ApprovalChange, ApprovalService } from './approval-service.js';

/**
 * What the long-polls of approvals.get and approvals.list wait on
 * (src/server/README.md, "Approvals and dry-run"): a version number that
 * every saved change of an approval bumps, and the requests waiting for the
 * next one. The cursor handed to clients is `<epoch>.<version>`, the epoch
 * new at every start, so a cursor from before a restart is simply "changed".
 */
export class ApprovalWatch {
  private version = 0;
  private readonly epoch = randomId(8);
  private readonly waiters = new Set<{ ids: string | undefined; wake: () => void }>();
  private closed = false;
  private readonly stop: () => void;

  constructor(service: ApprovalService) {
    this.stop = service.observe((c) => this.onChange(c));
  }

  /** The list's current state, as a client sends it back in `since`. */
  get cursor(): string {
    return `${this.epoch}.${this.version}`;
  }

  private onChange(c: ApprovalChange): void {
    this.version++;
    for (const w of [...this.waiters]) {
      if (w.ids === undefined || w.ids === c.approval.id) w.wake();
    }
  }

  /**
   * Resolves at the next change (of approval `id` when given, of any
   * otherwise), after `ms`, when `abort` fires (the client went away), or at
   * close(); never rejects. A waiter costs a timer and a set entry.
   */
  next(ms: number, id: string | undefined, abort?: AbortSignal): Promise<void> {
    if (this.closed || ms <= 0 || abort?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const w = {
        ids: id,
        wake: () => {
          clearTimeout(timer);
          abort?.removeEventListener('abort', w.wake);
          this.waiters.delete(w);
          resolve();
        },
      };
      const timer = setTimeout(w.wake, ms);
      abort?.addEventListener('abort', w.wake, { once: true });
      this.waiters.add(w);
    });
  }

  /** Answers every waiting request now (the port is closing). */
  close(): void {
    this.closed = true;
    this.stop();
    for (const w of [...this.waiters]) w.wake();
  }
}
