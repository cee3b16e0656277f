import type pg from 'pg';
import { PG_MIGRATIONS } from '../db/postgres/pg-migrations.js';
import type { SchemaStatus } from '../db/schema-status.js';
import { totalCents, type Order, type OrderEvent } from './order.js';
import { toOrder, type OrderRow } from './order-row.js';
import type { CancelResult, NewOrder, OrderStats, OrdersDatabase, OrdersStore } from './orders-store.js';

const ORDER_COLUMNS = 'id, item, quantity, unit_price_cents, discount_percent, total_cents, status, created_at, cancelled_at';

// Timestamps are ISO-8601 text (as in the SQLite schema); compared byte-wise
// so the database's collation cannot reorder them.
const CANCELLED_BEFORE = `status = 'cancelled' AND cancelled_at COLLATE "C" <= $1`;

/**
 * The orders in PostgreSQL (--database): the same tables and semantics as the
 * SQLite repository, shared by every replica on the URL. Writes that touch
 * two rows run in one transaction on one pooled connection.
 */
export class PgOrdersRepo implements OrdersStore {
  constructor(private readonly pool: pg.Pool) {}

  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      c.release();
    }
  }

  private async event(c: pg.PoolClient, orderId: number, kind: string, detail?: unknown): Promise<void> {
    await c.query('INSERT INTO order_events (order_id, kind, at, detail) VALUES ($1, $2, $3, $4)', [
      orderId, kind, new Date().toISOString(), detail === undefined ? null : JSON.stringify(detail),
    ]);
  }

  create(o: NewOrder): Promise<Order> {
    return this.tx(async (c) => {
      const total = totalCents(o.quantity, o.unitPriceCents, o.discountPercent);
      const { rows } = await c.query<OrderRow>(
        `INSERT INTO orders (item, quantity, unit_price_cents, discount_percent, total_cents, status, created_at) VALUES ($1, $2, $3, $4, $5, 'open', $6) RETURNING ${ORDER_COLUMNS}`,
        [o.item, o.quantity, o.unitPriceCents, o.discountPercent, total, new Date().toISOString()],
      );
      const order = toOrder(rows[0]!);
      await this.event(c, order.id, 'created', { discountPercent: o.discountPercent });
      return order;
    });
  }

  async get(id: number): Promise<Order | undefined> {
    const { rows } = await this.pool.query<OrderRow>(`SELECT ${ORDER_COLUMNS} FROM orders WHERE id = $1`, [id]);
    return rows[0] ? toOrder(rows[0]) : undefined;
  }

  async list(opts: { limit: number; after?: number; status?: 'open' | 'cancelled' }): Promise<Order[]> {
    const args: unknown[] = [opts.after ?? 0, opts.limit];
    const byStatus = opts.status ? (args.push(opts.status), ' AND status = $3') : '';
    const { rows } = await this.pool.query<OrderRow>(`SELECT ${ORDER_COLUMNS} FROM orders WHERE id > $1${byStatus} ORDER BY id LIMIT $2`, args);
    return rows.map(toOrder);
  }

  cancel(id: number): Promise<CancelResult> {
    return this.tx(async (c): Promise<CancelResult> => {
      const { rows } = await c.query<OrderRow>(
        `UPDATE orders SET status = 'cancelled', cancelled_at = $1 WHERE id = $2 AND status = 'open' RETURNING ${ORDER_COLUMNS}`,
        [new Date().toISOString(), id],
      );
      if (!rows[0]) {
        const exists = (await c.query('SELECT 1 FROM orders WHERE id = $1', [id])).rowCount;
        return { ok: false, reason: exists ? 'already_cancelled' : 'not_found' };
      }
      await this.event(c, id, 'cancelled');
      return { ok: true, order: toOrder(rows[0]) };
    });
  }

  async events(orderId: number): Promise<OrderEvent[]> {
    const { rows } = await this.pool.query<{ id: string; order_id: string; kind: string; at: string; detail: string | null }>(
      'SELECT id, order_id, kind, at, detail FROM order_events WHERE order_id = $1 ORDER BY id',
      [orderId],
    );
    return rows.map((r) => ({ id: Number(r.id), orderId: Number(r.order_id), kind: r.kind, at: r.at, detail: r.detail === null ? null : JSON.parse(r.detail) }));
  }

  private async scalar(sql: string, args: unknown[] = []): Promise<number> {
    const { rows } = await this.pool.query<{ n: string }>(sql, args);
    return Number(rows[0]?.n ?? 0);
  }

  count(): Promise<number> {
    return this.scalar('SELECT count(*) AS n FROM orders');
  }

  openCount(): Promise<number> {
    return this.scalar("SELECT count(*) AS n FROM orders WHERE status = 'open'");
  }

  async stats(): Promise<OrderStats> {
    const { rows } = await this.pool.query<{ open: string; cancelled: string; revenue: string }>(
      "SELECT count(*) FILTER (WHERE status = 'open') AS open, count(*) FILTER (WHERE status = 'cancelled') AS cancelled, COALESCE(SUM(total_cents) FILTER (WHERE status = 'open'), 0) AS revenue FROM orders",
    );
    const r = rows[0]!;
    return { open: Number(r.open), cancelled: Number(r.cancelled), openRevenue: Number(r.revenue) / 100 };
  }

  recomputeBatch(after: number, limit: number): Promise<{ scanned: number; corrected: number; lastId: number }> {
    return this.tx(async (c) => {
      // FOR UPDATE: another replica's batch over the same rows waits instead of double-logging a fix.
      const { rows } = await c.query<OrderRow>(
        'SELECT id, quantity, unit_price_cents, discount_percent, total_cents FROM orders WHERE id > $1 ORDER BY id LIMIT $2 FOR UPDATE',
        [after, limit],
      );
      let corrected = 0;
      for (const r of rows) {
        const want = totalCents(r.quantity, r.unit_price_cents, r.discount_percent);
        if (want !== r.total_cents) {
          await c.query('UPDATE orders SET total_cents = $1 WHERE id = $2', [want, r.id]);
          await this.event(c, Number(r.id), 'total_recomputed', { from: r.total_cents / 100, to: want / 100 });
          corrected++;
        }
      }
      return { scanned: rows.length, corrected, lastId: rows.length ? Number(rows[rows.length - 1]!.id) : after };
    });
  }

  countCancelled(olderThanDays: number, now = Date.now()): Promise<number> {
    return this.scalar(`SELECT count(*) AS n FROM orders WHERE ${CANCELLED_BEFORE}`, [new Date(now - olderThanDays * 86_400_000).toISOString()]);
  }

  async countDrifted(): Promise<number> {
    const { rows } = await this.pool.query<OrderRow>('SELECT quantity, unit_price_cents, discount_percent, total_cents FROM orders');
    return rows.filter((r) => totalCents(r.quantity, r.unit_price_cents, r.discount_percent) !== r.total_cents).length;
  }

  async purgeCancelled(olderThanDays: number, now = Date.now()): Promise<number> {
    const r = await this.pool.query(`DELETE FROM orders WHERE ${CANCELLED_BEFORE}`, [new Date(now - olderThanDays * 86_400_000).toISOString()]);
    return r.rowCount ?? 0;
  }
}

/** The PostgreSQL database (--database) as an OrdersDatabase; `migrations` is umzug's table there. */
export function pgOrdersDatabase(pool: pg.Pool): OrdersDatabase {
  return {
    kind: 'postgres',
    orders: new PgOrdersRepo(pool),
    async schemaStatus(): Promise<SchemaStatus> {
      const done = new Set((await pool.query<{ name: string }>('SELECT name FROM migrations')).rows.map((r) => r.name));
      const applied: string[] = [];
      const pending: string[] = [];
      for (const m of PG_MIGRATIONS) (done.has(m.name) ? applied : pending).push(m.name);
      return { applied, pending };
    },
    async ping() {
      await pool.query('SELECT 1');
    },
  };
}
