/**
 * The stores' own `pg` plumbing, typed with `pg`'s types. Kept apart from
 * connection.ts so the public declarations (connection.d.ts) never import
 * `pg`: a service type-checks opsctl/server/postgres without @types/pg.
 */
import pg from 'pg';
import type { PostgresClientConfig, PostgresConnection, PostgresPool } from './connection.js';

export function clientConfig(connection: string | PostgresClientConfig): pg.ClientConfig {
  return typeof connection === 'string' ? { connectionString: connection } : ({ ...connection } as pg.ClientConfig);
}

/** The service's pool (given as a PostgresPool, which is a pg.Pool), as `pg` types it. */
export function asPgPool(pool: PostgresPool): pg.Pool {
  return pool as unknown as pg.Pool;
}

/** A pool that survives the database going away: idle clients that die are dropped, not thrown. */
export function ownPool(connection: string | PostgresClientConfig, log: NonNullable<PostgresConnection['log']>, max = 4): pg.Pool {
  const pool = new pg.Pool({ ...clientConfig(connection), max, idleTimeoutMillis: 10_000 });
  pool.on('error', (e) => log('warn', `postgres: an idle connection failed: ${e.message}`));
  return pool;
}
