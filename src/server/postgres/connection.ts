import pg from 'pg';

/**
 * How the PostgreSQL stores reach the database: a connection URL as `pg`
 * accepts it (`postgresql://user@host:5432/db`, a unix socket directory as
 * the host), a `pg` client config, or a pool the service already has. The
 * stores also open their own dedicated sessions (LISTEN, the advisory lock),
 * which a pool cannot lend for long, so a pool alone is not enough.
 */
export interface PostgresConnection {
  connection: string | pg.ClientConfig;
  /** Queries go through this pool when given (the service's own); else the store makes a small one. */
  pool?: pg.Pool;
  /** Operational messages (never secrets or URLs with passwords). */
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

export function clientConfig(connection: string | pg.ClientConfig): pg.ClientConfig {
  return typeof connection === 'string' ? { connectionString: connection } : { ...connection };
}

/** A pool that survives the database going away: idle clients that die are dropped, not thrown. */
export function ownPool(connection: string | pg.ClientConfig, log: NonNullable<PostgresConnection['log']>, max = 4): pg.Pool {
  const pool = new pg.Pool({ ...clientConfig(connection), max, idleTimeoutMillis: 10_000 });
  pool.on('error', (e) => log('warn', `postgres: an idle connection failed: ${e.message}`));
  return pool;
}

export const defaultLog: NonNullable<PostgresConnection['log']> = (level, message) => {
  process.stderr.write(`opsctl-postgres ${level}: ${message}\n`);
};

/** A SQL identifier we interpolate (table and channel names): plain lower-case words only. */
export function checkIdentifier(kind: string, name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`${kind} ${JSON.stringify(name)} must be a plain lower-case SQL identifier`);
  return name;
}

/**
 * Runs `statements` (CREATE … IF NOT EXISTS) in one transaction under a
 * transaction-scoped advisory lock named `lockName`. Replicas starting
 * together would otherwise race on CREATE TABLE IF NOT EXISTS (a unique
 * violation in pg_type); the lock serialises them. A pool lends one client
 * for it; a client is used as it is.
 */
export async function createSchema(db: pg.Pool | pg.ClientBase, lockName: string, statements: string[]): Promise<void> {
  const client = db instanceof pg.Pool ? await db.connect() : db;
  try {
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [lockName]);
      for (const statement of statements) await client.query(statement);
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
  } finally {
    if (client !== db) (client as pg.PoolClient).release();
  }
}
