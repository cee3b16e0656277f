import type { SchemaStatus } from '../db/schema-status.js';
import type { Order, OrderEvent } from './order.js';

export interface NewOrder {
  item: string;
  quantity: number;
  unitPriceCents: number;
  discountPercent: number;
}

export type CancelResult = { ok: true; order: Order } | { ok: false; reason: 'not_found' | 'already_cancelled' };

export interface OrderStats {
  open: number;
  cancelled: number;
  openRevenue: number;
}

/**
 * The orders as the public API, the tasks and the metrics use them, whatever
 * database holds them: SQLite in the data dir (orders/sqlite-orders.ts) or
 * PostgreSQL shared by every replica with --database (orders/pg-orders-repo.ts).
 * Valid only once every migration is applied.
 */
export interface OrdersStore {
  create(o: NewOrder): Promise<Order>;
  get(id: number): Promise<Order | undefined>;
  /** Keyset pagination by id: stable under concurrent inserts. */
  list(opts: { limit: number; after?: number; status?: 'open' | 'cancelled' }): Promise<Order[]>;
  cancel(id: number): Promise<CancelResult>;
  events(orderId: number): Promise<OrderEvent[]>;
  count(): Promise<number>;
  openCount(): Promise<number>;
  stats(): Promise<OrderStats>;
  /** Fixes drifted totals of up to `limit` orders after id `after`, in one transaction. */
  recomputeBatch(after: number, limit: number): Promise<{ scanned: number; corrected: number; lastId: number }>;
  /** How many orders purgeCancelled(olderThanDays) would delete (for a dry-run). */
  countCancelled(olderThanDays: number, now?: number): Promise<number>;
  /** How many stored totals differ from their recomputed value. */
  countDrifted(): Promise<number>;
  /** Deletes cancelled orders cancelled at least `olderThanDays` days ago (their events go with them). */
  purgeCancelled(olderThanDays: number, now?: number): Promise<number>;
}

/** The service's database: its orders, which migrations it has, and whether it answers. */
export interface OrdersDatabase {
  kind: 'sqlite' | 'postgres';
  orders: OrdersStore;
  /** Read on every call: another replica (or process) sharing the database may migrate. */
  schemaStatus(): Promise<SchemaStatus>;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
}
