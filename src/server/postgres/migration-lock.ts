import pg from 'pg';
import type { MigrationLock } from '../options.js';
import { checkIdentifier, createSchema, defaultLog, type PostgresConnection } from './connection.js';
import { clientConfig } from './pg-pool.js';

export interface PostgresMigrationLockOptions extends Omit<PostgresConnection, 'pool'> {
  /** Table naming the holder (created if missing). Default `opsctl_migration_lock`. */
  table?: string;
  /** The advisory lock's key text (hashed with hashtext). Default `opsctl.migrations`. */
  key?: string;
}

type AcquireResult = { acquired: true } | { acquired: false; holder: string; since?: string };

interface Held {
  holder: string;
  client: pg.Client;
}

/**
 * The migration lock in PostgreSQL: a session-level advisory lock, taken on a
 * session of its own that stays open while the migration runs, plus a row
 * naming the holder so the loser's 409 can say who. When the holder's
 * session dies (the process crashed, the connection dropped) PostgreSQL
 * releases the advisory lock by itself; the row left behind is then stale and
 * the next acquirer overwrites it, so no one ever has to clear it by hand.
 */
export class PostgresMigrationLock implements MigrationLock {
  private readonly table: string;
  private readonly key: string;
  private readonly log: NonNullable<PostgresConnection['log']>;
  private held: Held | undefined;
  private schema: Promise<void> | undefined;

  constructor(private readonly o: PostgresMigrationLockOptions) {
    this.log = o.log ?? defaultLog;
    this.table = checkIdentifier('table', o.table ?? 'opsctl_migration_lock');
    this.key = o.key ?? 'opsctl.migrations';
  }

  private async session(): Promise<pg.Client> {
    const client = new pg.Client(clientConfig(this.o.connection));
    // A dying session must not crash the service: the lock is gone with it.
    client.on('error', (e) => {
      this.log('warn', `postgres: migration lock session failed: ${e.message}`);
      if (this.held?.client === client) this.held = undefined;
    });
    await client.connect();
    return client;
  }

  private ensureSchema(client: pg.Client): Promise<void> {
    this.schema ??= createSchema(client, `opsctl.schema.${this.table}`, [
      `CREATE TABLE IF NOT EXISTS ${this.table} (
        id integer PRIMARY KEY CHECK (id = 1),
        holder text NOT NULL,
        acquired_at timestamptz NOT NULL,
        backend_pid integer NOT NULL
      )`,
    ]);
    this.schema.catch(() => { this.schema = undefined; });
    return this.schema;
  }

  async acquire(holder: string): Promise<AcquireResult> {
    if (this.held) {
      // This process already migrates: report it like any other holder.
      return { acquired: false, holder: this.held.holder };
    }
    const client = await this.session();
    try {
      await this.ensureSchema(client);
      for (let attempt = 0; attempt < 5; attempt++) {
        const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [this.key]);
        if (rows[0]?.ok) {
          await client.query(
            `INSERT INTO ${this.table} (id, holder, acquired_at, backend_pid) VALUES (1, $1, now(), pg_backend_pid())
             ON CONFLICT (id) DO UPDATE SET holder = EXCLUDED.holder, acquired_at = EXCLUDED.acquired_at, backend_pid = EXCLUDED.backend_pid`,
            [holder],
          );
          this.held = { holder, client };
          return { acquired: true };
        }
        // Held: the row names the holder if it belongs to a live session
        // (the winner may not have written it yet: look again shortly).
        const cur = await this.currentOn(client);
        if (cur) return { acquired: false, holder: cur.holder, since: cur.since };
        await new Promise((r) => setTimeout(r, 20 * (attempt + 1)));
      }
      await client.end().catch(() => undefined);
      return { acquired: false, holder: 'another session (not yet named)' };
    } catch (e) {
      await client.end().catch(() => undefined);
      throw e;
    } finally {
      if (this.held?.client !== client) await client.end().catch(() => undefined);
    }
  }

  async release(holder: string): Promise<void> {
    const held = this.held;
    if (!held || held.holder !== holder) return;
    this.held = undefined;
    try {
      await held.client.query(`DELETE FROM ${this.table} WHERE id = 1 AND holder = $1 AND backend_pid = pg_backend_pid()`, [holder]);
      await held.client.query('SELECT pg_advisory_unlock(hashtext($1))', [this.key]);
    } finally {
      // Ending the session frees the advisory lock even if the queries failed.
      await held.client.end().catch(() => undefined);
    }
  }

  private async currentOn(client: pg.Client | pg.Pool): Promise<{ holder: string; since: string } | undefined> {
    const { rows } = await client.query<{ holder: string; acquired_at: Date }>(
      `SELECT l.holder, l.acquired_at FROM ${this.table} l
         JOIN pg_locks k ON k.locktype = 'advisory' AND k.granted AND k.pid = l.backend_pid
                        AND k.objid = (hashtext($1)::bigint & 4294967295)::oid
       WHERE l.id = 1`,
      [this.key],
    );
    const r = rows[0];
    return r ? { holder: r.holder, since: new Date(r.acquired_at).toISOString() } : undefined;
  }

  /** Who holds the lock now (a row whose session still holds the advisory lock), if anyone. */
  async current(): Promise<{ holder: string; since: string } | undefined> {
    const client = await this.session();
    try {
      await this.ensureSchema(client);
      return await this.currentOn(client);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** Releases a lock this process holds (at shutdown). */
  async close(): Promise<void> {
    if (this.held) await this.release(this.held.holder);
  }
}
