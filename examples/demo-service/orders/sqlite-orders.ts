import Database from 'better-sqlite3';
import type { Db } from '../db/open-database.js';
import type { Statement } from 'better-sqlite3';
import { schemaStatus } from '../db/schema-status.js';
import { OrdersRepo } from './orders-repo.js';
import type { OrdersDatabase, OrdersStore } from './orders-store.js';

/** The SQLite database in the data dir (the default) as an OrdersDatabase. */
export function sqliteOrdersDatabase(db: Db): OrdersDatabase {
  const repo = new OrdersRepo(db);
  let ping: Statement | undefined;
  // better-sqlite3 is synchronous; each call still settles as a promise so
  // callers need not know which database they have.
  const orders: OrdersStore = {
    create: async (o) => repo.create(o),
    get: async (id) => repo.get(id),
    list: async (opts) => repo.list(opts),
    cancel: async (id) => repo.cancel(id),
    events: async (id) => repo.events(id),
    count: async () => repo.count(),
    openCount: async () => repo.openCount(),
    stats: async () => repo.stats(),
    recomputeBatch: async (after, limit) => repo.recomputeBatch(after, limit),
    countCancelled: async (days, now) => repo.countCancelled(days, now),
    countDrifted: async () => repo.countDrifted(),
    purgeCancelled: async (days, now) => repo.purgeCancelled(days, now),
  };
  return {
    kind: 'sqlite',
    orders,
    schemaStatus: async () => schemaStatus(db),
    ping: async () => {
      // Prepared once: health asks on every call, and preparing costs more than the query.
      (ping ??= db.prepare('SELECT 1')).get();
    },
  };
}

/** Tasks and endpoints take either the database or a bare SQLite handle (as scripts and tests hold one). */
export function asOrdersDatabase(source: Db | OrdersDatabase): OrdersDatabase {
  return source instanceof Database ? sqliteOrdersDatabase(source) : source;
}
