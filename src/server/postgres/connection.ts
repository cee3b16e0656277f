import pg from 'pg';

// The exported types below are declared here rather than taken from `pg`:
// opsctl/server/postgres's public types then stand alone, and a service
// type-checks against them without @types/pg (src/server/README.md,
// "Several replicas"). `pg`'s own values (a pg.ClientConfig, a pg.Pool, a
// client) fit them as they are; inside, the stores use `pg`'s types.

/** A `pg` client config (the fields of pg.ClientConfig); a pg.ClientConfig fits as is. */
export interface PostgresClientConfig {
  user?: string | undefined;
  database?: string | undefined;
  password?: string | (() => string | Promise<string>) | undefined;
  port?: number | undefined;
  host?: string | undefined;
  connectionString?: string | undefined;
  keepAlive?: boolean | undefined;
  stream?: unknown;
  statement_timeout?: false | number | undefined;
  ssl?: unknown;
  enableChannelBinding?: boolean | undefined;
  sslnegotiation?: 'postgres' | 'direct' | undefined;
  query_timeout?: number | undefined;
  lock_timeout?: number | undefined;
  keepAliveInitialDelayMillis?: number | undefined;
  idle_in_transaction_session_timeout?: number | undefined;
  application_name?: string | undefined;
  fallback_application_name?: string | undefined;
  connectionTimeoutMillis?: number | undefined;
  types?: unknown;
  options?: string | undefined;
  client_encoding?: string | undefined;
  pipeline?: boolean | undefined;
}

/** Something that runs a query: a `pg` client or pool. */
export interface PostgresQueryable {
  query(text: string, values?: unknown[]): Promise<unknown>;
}

/** What the stores use of a pool: a pg.Pool fits as is. */
export interface PostgresPool extends PostgresQueryable {
  connect(): Promise<PostgresQueryable & { release(err?: Error | boolean): void }>;
}

/**
 * How the PostgreSQL stores reach the database: a connection URL as `pg`
 * accepts it (`postgresql://user@host:5432/db`, a unix socket directory as
 * the host), a `pg` client config, or a pool the service already has. The
 * stores also open their own dedicated sessions (LISTEN, the advisory lock),
 * which a pool cannot lend for long, so a pool alone is not enough.
 */
export interface PostgresConnection {
  connection: string | PostgresClientConfig;
  /** Queries go through this pool (a pg.Pool) when given (the service's own); else the store makes a small one. */
  pool?: PostgresPool | undefined;
  /** Operational messages (never secrets or URLs with passwords). */
  log?: ((level: 'info' | 'warn' | 'error', message: string) => void) | undefined;
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
export async function createSchema(db: PostgresPool | PostgresQueryable, lockName: string, statements: string[]): Promise<void> {
  const client = db instanceof pg.Pool ? await db.connect() : (db as pg.ClientBase);
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
