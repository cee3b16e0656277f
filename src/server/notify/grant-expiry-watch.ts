import type { GrantView } from '../../protocol/index.js';

/** How often the grants are looked at besides the timer: grants given on another replica arrive by the grant store's own reload. */
const RECHECK_MS = 30_000;

/**
 * grant.expiring (docs/notifications.md): `lead` before an active grant
 * ends, once. Grants no longer than the lead get none (grant.created
 * already said when they end). A timer is armed for the next one due; the
 * list is looked at again whenever a grant changes and every 30 s. After a
 * restart a grant already inside its lead is announced at once: the
 * event's id is the same as before, so the queue keeps it once.
 */
export class GrantExpiryWatch {
  private readonly sent = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly list: () => GrantView[],
    private readonly leadMs: number,
    private readonly announce: (g: GrantView) => void,
  ) {}

  check(): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    const now = Date.now();
    let next = now + RECHECK_MS;
    const live = new Set<string>();
    for (const g of this.list()) {
      if (g.state !== 'active') continue;
      live.add(`${g.id}/${g.expiresAt}`);
      const end = Date.parse(g.expiresAt);
      if (end - Date.parse(g.createdAt) <= this.leadMs || end <= now) continue;
      const due = end - this.leadMs;
      const key = `${g.id}/${g.expiresAt}`;
      if (due <= now) {
        if (!this.sent.has(key)) {
          this.sent.add(key);
          this.announce(g);
        }
      } else {
        next = Math.min(next, due);
      }
    }
    for (const k of this.sent) if (!live.has(k)) this.sent.delete(k);
    this.timer = setTimeout(() => this.check(), Math.max(5, next - now));
    this.timer.unref();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }
}
