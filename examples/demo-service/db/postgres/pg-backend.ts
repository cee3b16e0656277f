import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { Umzug, type RunnableMigration, type UmzugStorage } from 'umzug';
import { PostgresFlagStore, PostgresMigrationLock, createSchema } from '../../../../src/server/postgres/index.js';
import type { Logger } from '../../logger.js';
import { pgOrdersDatabase } from '../../orders/pg-orders-repo.js';
import type { OrdersDatabase } from '../../orders/orders-store.js';
import { PG_MIGRATIONS } from './pg-migrations.js';
import { PostgresGrantStore } from '../../../../src/server/postgres/grant-store.js';
import { PostgresNotifyQueue } from '../../../../src/server/postgres/notify-queue.js';

export interface PostgresBackend {
  flagStore: PostgresFlagStore;
  /** Grants every replica honours (and stops honouring at a revocation) from its next request. */
  grantStore: PostgresGrantStore;
  /** Event deliveries every replica shares: each event goes out once for the fleet. */
  notifyQueue: PostgresNotifyQueue;
  lock: PostgresMigrationLock;
  migrator: Umzug<Record<string, never>>;
  /** The orders and the schema's state, in the same database. */
  data: OrdersDatabase;
  close(): Promise<void>;
}

/**
 * The demo's shared state in one PostgreSQL database (--database URL): the
 * flags (opsctl/server/postgres's store, LISTEN/NOTIFY), the migration lock
 * (advisory lock + holder row), umzug's `migrations` table and the schema
 * the migrations create, with the orders the public API serves. Replicas on the same URL share all of it.
 */
export async function openPostgresBackend(url: string, opts: { log: Logger; delayMs?: number }): Promise<PostgresBackend> {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  pool.on('error', (e) => opts.log('warn', `postgres: idle connection failed: ${e.message}`));
  try {
    await createSchema(pool, 'demo.schema.migrations', ['CREATE TABLE IF NOT EXISTS migrations (name text PRIMARY KEY, applied_at text NOT NULL)']);
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw new Error(`--database: cannot use the database: ${(e as Error).message}`, { cause: e });
  }
  const log = (level: 'info' | 'warn' | 'error', m: string) => opts.log(level, m);
  const flagStore = new PostgresFlagStore({ connection: url, log });
  await flagStore.start();
  const lock = new PostgresMigrationLock({ connection: url, log });
  // Grants share the demo's pool; the port closes the store (its LISTEN session), the pool ends with the backend.
  const grantStore = new PostgresGrantStore({ connection: url, pool, log });
  await grantStore.start().catch(async (e: unknown) => {
    await flagStore.close();
    await pool.end().catch(() => undefined);
    throw e;
  });
  // Started only when --notify is given: the port closes it (its LISTEN session).
  const notifyQueue = new PostgresNotifyQueue({ connection: url, pool, log });
  const inTx = async (sql: string, after: (c: pg.PoolClient) => Promise<unknown>) => {
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      await c.query(sql);
      await after(c);
      await c.query('COMMIT');
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      c.release();
    }
  };
  const delayMs = opts.delayMs ?? 0;
  const migrations: RunnableMigration<Record<string, never>>[] = PG_MIGRATIONS.map((m) => ({
    name: m.name,
    // DDL is transactional in PostgreSQL: the schema change and its log row commit together.
    up: async () => {
      if (delayMs > 0) await sleep(delayMs);
      await inTx(m.up, (c) => c.query('INSERT INTO migrations (name, applied_at) VALUES ($1, $2)', [m.name, new Date().toISOString()]));
    },
    down: async () => {
      if (delayMs > 0) await sleep(delayMs);
      await inTx(m.down, (c) => c.query('DELETE FROM migrations WHERE name = $1', [m.name]));
    },
  }));
  const storage: UmzugStorage<unknown> = {
    async logMigration({ name }) {
      await pool.query('INSERT INTO migrations (name, applied_at) VALUES ($1, $2) ON CONFLICT DO NOTHING', [name, new Date().toISOString()]);
    },
    async unlogMigration({ name }) {
      await pool.query('DELETE FROM migrations WHERE name = $1', [name]);
    },
    async executed() {
      return (await pool.query<{ name: string }>('SELECT name FROM migrations ORDER BY name')).rows.map((r) => r.name);
    },
  };
  const migrator = new Umzug<Record<string, never>>({
    migrations,
    context: {},
    storage,
    logger: { info: () => {}, warn: (m) => log('warn', `migrations: ${JSON.stringify(m)}`), error: (m) => log('error', `migrations: ${JSON.stringify(m)}`), debug: () => {} },
  });
  return {
    flagStore,
    grantStore,
    notifyQueue,
    lock,
    migrator,
    data: pgOrdersDatabase(pool),
    async close() {
      await lock.close().catch(() => undefined);
      await flagStore.close();
      await grantStore.close();
      await notifyQueue.close();
      await pool.end().catch(() => undefined);
    },
  };
}
