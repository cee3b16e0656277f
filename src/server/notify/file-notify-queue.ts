import type fs from 'node:fs/promises';
import type { PortLog } from '../logger.js';
import type { NotifyDelivery, NotifyQueueStore } from '../options.js';
import { openPrivateAppend, readPrivateFile, replacePrivateFile } from '../private-file.js';

const WHAT = 'notification queue';

/** How long a finished delivery's id is remembered, so the same event queued again (a restart re-arming a timer) is not sent twice. */
export const REMEMBER_IDS_MS = 48 * 3600_000;

type Line =
  | { op: 'add'; d: NotifyDelivery }
  | { op: 'try'; id: string; attempts: number; nextAt: string }
  | { op: 'done' | 'drop'; id: string; at: string }
  | { op: 'seen'; id: string; at: string };

/**
 * The default queue of one instance (docs/notifications.md, "Delivery"): a
 * journal of JSON Lines in the data dir (0600) — a delivery added, an
 * attempt failed, a delivery done or dropped — replayed at start, so what
 * was queued survives a restart or a crash. Lines written in the same
 * event-loop turn go out in one append and one fdatasync. The journal is
 * rewritten (atomically) with only what is still pending, plus the ids
 * finished in the last 48 h, at start and whenever it has grown four times
 * past that. Leases live in memory: after a restart every pending delivery
 * is due again, which is at-least-once with the same webhook-id.
 */
export class FileNotifyQueue implements NotifyQueueStore {
  readonly shared = false;
  private readonly pendingById = new Map<string, NotifyDelivery>();
  private readonly leases = new Map<string, number>();
  private readonly finished = new Map<string, number>();
  private fh: fs.FileHandle | undefined;
  private buffer: string[] = [];
  private flushing: Promise<void> | undefined;
  private lines = 0;

  constructor(readonly file: string, private readonly log: PortLog) {}

  /**
   * Replays the journal (a torn last line is ignored), then compacts it. Its
   * directory is checked before (startNotifications); a link or a FIFO at its
   * path refuses the start (src/server/README.md, "Files").
   */
  async open(): Promise<void> {
    const text = (await readPrivateFile(this.file, WHAT)) ?? '';
    for (const raw of text.split('\n')) {
      if (!raw.trim()) continue;
      let l: Line;
      try {
        l = JSON.parse(raw) as Line;
      } catch {
        continue; // a line torn by a crash: its delivery was never acknowledged as queued
      }
      this.apply(l);
    }
    await this.compact();
  }

  private apply(l: Line): void {
    switch (l.op) {
      case 'add':
        if (!this.pendingById.has(l.d.id) && !this.finished.has(l.d.id)) this.pendingById.set(l.d.id, { ...l.d });
        break;
      case 'try': {
        const d = this.pendingById.get(l.id);
        if (d) Object.assign(d, { attempts: l.attempts, nextAt: l.nextAt });
        break;
      }
      case 'done':
      case 'drop':
      case 'seen':
        this.pendingById.delete(l.id);
        this.finished.set(l.id, Date.parse(l.at));
        break;
    }
  }

  /** Rewrites the journal with what is still pending and the ids finished recently. */
  private async compact(): Promise<void> {
    const cut = Date.now() - REMEMBER_IDS_MS;
    for (const [id, at] of this.finished) if (!(at > cut)) this.finished.delete(id);
    const out: Line[] = [
      ...[...this.finished].map(([id, at]): Line => ({ op: 'seen', id, at: new Date(at).toISOString() })),
      ...[...this.pendingById.values()].map((d): Line => ({ op: 'add', d })),
    ];
    await replacePrivateFile(this.file, out.map((l) => JSON.stringify(l) + '\n').join(''));
    await this.fh?.close().catch(() => undefined);
    this.fh = await openPrivateAppend(this.file, WHAT);
    this.lines = out.length;
  }

  /** Queues lines for the next write; resolves once they are on disk (or logged as lost to the disk). */
  private write(lines: Line[]): Promise<void> {
    for (const l of lines) this.buffer.push(JSON.stringify(l) + '\n');
    this.flushing ??= (async () => {
      await Promise.resolve();
      for (;;) {
        while (this.buffer.length) {
          const batch = this.buffer.join('');
          const n = this.buffer.length;
          this.buffer = [];
          try {
            await this.fh!.appendFile(batch);
            await this.fh!.datasync();
            this.lines += n;
          } catch (e) {
            // Kept in memory and still delivered; only a restart now would lose it.
            this.log('error', `the notification queue ${this.file} cannot be written (${(e as Error).message}); queued events are kept in memory until it can`);
          }
        }
        // Compacting inside the flush: nothing is appended to the old file meanwhile.
        if (this.lines > 1000 && this.lines > 4 * (this.pendingById.size + this.finished.size)) {
          await this.compact().catch((e: Error) => this.log('warn', `the notification queue could not be compacted: ${e.message}`));
        }
        if (!this.buffer.length) break;
      }
      this.flushing = undefined;
    })();
    return this.flushing;
  }

  async enqueue(deliveries: NotifyDelivery[]): Promise<void> {
    const fresh = deliveries.filter((d) => !this.pendingById.has(d.id) && !this.finished.has(d.id));
    for (const d of fresh) this.pendingById.set(d.id, { ...d });
    if (fresh.length) await this.write(fresh.map((d) => ({ op: 'add', d })));
  }

  async claim(_worker: string, endpoints: string[], limit: number, leaseMs: number): Promise<NotifyDelivery[]> {
    const now = Date.now();
    const want = new Set(endpoints);
    const due = [...this.pendingById.values()]
      .filter((d) => want.has(d.endpoint) && Date.parse(d.nextAt) <= now && !((this.leases.get(d.id) ?? 0) > now))
      .sort((a, b) => a.nextAt.localeCompare(b.nextAt))
      .slice(0, limit);
    for (const d of due) {
      d.attempts++;
      this.leases.set(d.id, now + leaseMs);
    }
    return due.map((d) => ({ ...d }));
  }

  async complete(id: string): Promise<void> {
    await this.finish(id, 'done');
  }

  async drop(id: string): Promise<void> {
    await this.finish(id, 'drop');
  }

  private async finish(id: string, op: 'done' | 'drop'): Promise<void> {
    this.leases.delete(id);
    if (!this.pendingById.delete(id)) return;
    const at = new Date().toISOString();
    this.finished.set(id, Date.parse(at));
    await this.write([{ op, id, at }]);
  }

  async retry(id: string, _worker: string, nextAt: string): Promise<void> {
    this.leases.delete(id);
    const d = this.pendingById.get(id);
    if (!d) return;
    d.nextAt = nextAt;
    await this.write([{ op: 'try', id, attempts: d.attempts, nextAt }]);
  }

  async nextDue(endpoints: string[]): Promise<number | undefined> {
    const want = new Set(endpoints);
    const now = Date.now();
    let next: number | undefined;
    for (const d of this.pendingById.values()) {
      if (!want.has(d.endpoint)) continue;
      const at = Math.max(Date.parse(d.nextAt), this.leases.get(d.id) ?? 0);
      if (next === undefined || at < next) next = at;
    }
    return next === undefined ? undefined : Math.max(now, next);
  }

  async pending(endpoints: string[]): Promise<Record<string, number>> {
    const out: Record<string, number> = Object.fromEntries(endpoints.map((e) => [e, 0]));
    for (const d of this.pendingById.values()) if (d.endpoint in out) out[d.endpoint]!++;
    return out;
  }

  async close(): Promise<void> {
    while (this.flushing) await this.flushing;
    await this.fh?.close().catch(() => undefined);
    this.fh = undefined;
  }
}
