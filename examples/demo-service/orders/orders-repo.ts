import type { Db } from '../db/open-database.js';
import { totalCents, type Order, type OrderEvent } from './order.js';
import { toOrder, type OrderRow } from './order-row.js';
import type { CancelResult, NewOrder, OrderStats } from './orders-store.js';

export type { CancelResult, NewOrder, OrderStats } from './orders-store.js';

/**
 * SQL over the SQLite orders tables, synchronous as better-sqlite3 is; the
 * service uses it through the async OrdersStore (orders/sqlite-orders.ts).
 * Valid only once every migration is applied.
 */
export class OrdersRepo {
  constructor(private readonly db: Db) {}

  private event(orderId: number, kind: string, detail?: unknown): void {
    this.db
      .prepare('INSERT INTO order_events (order_id, kind, at, detail) VALUES (?, ?, ?, ?)')
      .run(orderId, kind, new Date().toISOString(), detail === undefined ? null : JSON.stringify(detail));
  }

  create(o: NewOrder): Order {
    return this.db.transaction(() => {
      const now = new Date().toISOString();
      const total = totalCents(o.quantity, o.unitPriceCents, o.discountPercent);
      const { lastInsertRowid } = this.db
        .prepare('INSERT INTO orders (item, quantity, unit_price_cents, discount_percent, total_cents, status, created_at) VALUES (?, ?, ?, ?, ?, \'open\', ?)')
        .run(o.item, o.quantity, o.unitPriceCents, o.discountPercent, total, now);
      const id = Number(lastInsertRowid);
      this.event(id, 'created', { discountPercent: o.discountPercent });
      return this.get(id)!;
    }).immediate();
  }

  get(id: number): Order | undefined {
    const row = this.db.prepare('SELECT * FROM orders WHERE id = ?').get(id) as OrderRow | undefined;
    return row ? toOrder(row) : undefined;
  }

  /** Keyset pagination by id: stable under concurrent inserts. */
  list(opts: { limit: number; after?: number; status?: 'open' | 'cancelled' }): Order[] {
    const where = ['id > ?'];
    const args: unknown[] = [opts.after ?? 0];
    if (opts.status) {
      where.push('status = ?');
      args.push(opts.status);
    }
    const rows = this.db.prepare(`SELECT * FROM orders WHERE ${where.join(' AND ')} ORDER BY id LIMIT ?`).all(...args, opts.limit) as OrderRow[];
    return rows.map(toOrder);
  }

  cancel(id: number): CancelResult {
    return this.db.transaction((): CancelResult => {
      const changed = this.db
        .prepare("UPDATE orders SET status = 'cancelled', cancelled_at = ? WHERE id = ? AND status = 'open'")
        .run(new Date().toISOString(), id).changes;
      if (!changed) return { ok: false, reason: this.get(id) ? 'already_cancelled' : 'not_found' };
      this.event(id, 'cancelled');
      return { ok: true, order: this.get(id)! };
    }).immediate();
  }

  events(orderId: number): OrderEvent[] {
    const rows = this.db.prepare('SELECT id, order_id, kind, at, detail FROM order_events WHERE order_id = ? ORDER BY id').all(orderId) as Array<{
      id: number; order_id: number; kind: string; at: string; detail: string | null;
    }>;
    return rows.map((r) => ({ id: r.id, orderId: r.order_id, kind: r.kind, at: r.at, detail: r.detail === null ? null : JSON.parse(r.detail) }));
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM orders').get() as { n: number }).n;
  }

  openCount(): number {
    return (this.db.prepare("SELECT COUNT(*) AS n FROM orders WHERE status = 'open'").get() as { n: number }).n;
  }

  stats(): OrderStats {
    const row = this.db
      .prepare("SELECT COALESCE(SUM(status = 'open'), 0) AS open, COALESCE(SUM(status = 'cancelled'), 0) AS cancelled, COALESCE(SUM(CASE WHEN status = 'open' THEN total_cents END), 0) AS revenue FROM orders")
      .get() as { open: number; cancelled: number; revenue: number };
    return { open: row.open, cancelled: row.cancelled, openRevenue: row.revenue / 100 };
  }

  /**
   * Recomputes the stored total of up to `limit` orders after id `after`
   * from quantity, unit price and the order's own discount; fixes the ones
   * that drifted. Returns how far it got.
   */
  recomputeBatch(after: number, limit: number): { scanned: number; corrected: number; lastId: number } {
    return this.db.transaction(() => {
      const rows = this.db
        .prepare('SELECT id, quantity, unit_price_cents, discount_percent, total_cents FROM orders WHERE id > ? ORDER BY id LIMIT ?')
        .all(after, limit) as OrderRow[];
      const fix = this.db.prepare('UPDATE orders SET total_cents = ? WHERE id = ?');
      let corrected = 0;
      for (const r of rows) {
        const want = totalCents(r.quantity, r.unit_price_cents, r.discount_percent);
        if (want !== r.total_cents) {
          fix.run(want, r.id);
          this.event(Number(r.id), 'total_recomputed', { from: r.total_cents / 100, to: want / 100 });
          corrected++;
        }
      }
      return { scanned: rows.length, corrected, lastId: rows.length ? Number(rows[rows.length - 1]!.id) : after };
    }).immediate();
  }

  /** How many orders purgeCancelled(olderThanDays) would delete (for a dry-run). */
  countCancelled(olderThanDays: number, now = Date.now()): number {
    const cutoff = new Date(now - olderThanDays * 86_400_000).toISOString();
    return (this.db.prepare("SELECT COUNT(*) AS n FROM orders WHERE status = 'cancelled' AND cancelled_at <= ?").get(cutoff) as { n: number }).n;
  }

  /** How many stored totals differ from their recomputed value (what recompute-totals would fix). */
  countDrifted(): number {
    const rows = this.db.prepare('SELECT quantity, unit_price_cents, discount_percent, total_cents FROM orders').all() as OrderRow[];
    return rows.filter((r) => totalCents(r.quantity, r.unit_price_cents, r.discount_percent) !== r.total_cents).length;
  }

  /** Deletes cancelled orders cancelled at least `olderThanDays` days ago (their events go with them). */
  purgeCancelled(olderThanDays: number, now = Date.now()): number {
    const cutoff = new Date(now - olderThanDays * 86_400_000).toISOString();
    return this.db.prepare("DELETE FROM orders WHERE status = 'cancelled' AND cancelled_at <= ?").run(cutoff).changes;
  }
}
