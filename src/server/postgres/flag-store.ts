import type pg from 'pg';
import type { FlagChange, FlagStore, FlagValue, StoredFlag, Unsubscribe } from '../options.js';
import { checkIdentifier, createSchema, defaultLog, type PostgresConnection } from './connection.js';
import { asPgPool, ownPool } from './pg-pool.js';
import { Listener } from './listener.js';

export interface PostgresFlagStoreOptions extends PostgresConnection {
  /** Table holding the values (created if missing). Default `opsctl_flags`. */
  table?: string;
  /** LISTEN/NOTIFY channel. Default: the table name. */
  channel?: string;
}

/** NOTIFY payloads are capped at 8000 bytes: larger values travel by name and are re-read. */
const MAX_PAYLOAD = 7900;

interface Row {
  name: string;
  value: FlagValue;
  updated_by: string | null;
  updated_at: Date | string | null;
}

const toStored = (r: Row): StoredFlag => ({
  value: r.value,
  updatedBy: r.updated_by,
  updatedAt: r.updated_at === null ? null : new Date(r.updated_at).toISOString(),
});

/**
 * Flag values in the service's PostgreSQL database, shared by every replica.
 * Values keep their JSON type (jsonb), with who and when. A write commits the
 * row and a NOTIFY carrying the change in one transaction; every replica
 * LISTENs on a dedicated session and hands the change to its subscribers
 * (the port's FlagService), so a change is visible everywhere within
 * milliseconds. When the database restarts the LISTEN session reconnects by
 * itself and re-reads every flag, since notifications sent while it was away
 * are lost.
 *
 *   const store = new PostgresFlagStore({ connection: process.env.DATABASE_URL });
 *   await store.start();
 *   createInternalPort({ flags: { definitions, store }, … });
 */
export class PostgresFlagStore implements FlagStore {
  /** Every replica sees the same values: flag endpoints are service-scoped. */
  readonly shared = true;
  private readonly pool: pg.Pool;
  private readonly ownsPool: boolean;
  private readonly table: string;
  private readonly channel: string;
  private readonly listener: Listener;
  private readonly listeners = new Set<(change: FlagChange) => void>();
  /** Changes go out one at a time in arrival (= commit) order, also those that need a re-read. */
  private emitting: Promise<void> = Promise.resolve();
  private readonly log: NonNullable<PostgresConnection['log']>;
  private started: Promise<void> | undefined;

  constructor(private readonly o: PostgresFlagStoreOptions) {
    this.log = o.log ?? defaultLog;
    this.table = checkIdentifier('table', o.table ?? 'opsctl_flags');
    this.channel = checkIdentifier('channel', o.channel ?? this.table);
    this.ownsPool = !o.pool;
    this.pool = o.pool ? asPgPool(o.pool) : ownPool(o.connection, this.log);
    this.listener = new Listener({
      connection: o.connection,
      channel: this.channel,
      log: this.log,
      onNotify: (payload) => this.enqueue(() => this.fromNotification(payload)),
      onResync: () => this.enqueue(() => this.rereadAll()),
    });
  }

  /**
   * Creates the table if needed and starts listening. Called by load() too;
   * call it yourself to fail fast on a wrong URL at start-up.
   */
  start(): Promise<void> {
    this.started ??= (async () => {
      await createSchema(this.pool, `opsctl.schema.${this.table}`, [
        `CREATE TABLE IF NOT EXISTS ${this.table} (
          name text PRIMARY KEY,
          value jsonb NOT NULL,
          updated_by text,
          updated_at timestamptz
        )`,
      ]);
      await this.listener.start();
    })();
    this.started.catch(() => { this.started = undefined; });
    return this.started;
  }

  async load(): Promise<Record<string, StoredFlag>> {
    await this.start();
    const { rows } = await this.pool.query<Row>(`SELECT name, value, updated_by, updated_at FROM ${this.table}`);
    return Object.fromEntries(rows.map((r) => [r.name, toStored(r)]));
  }

  async save(name: string, flag: StoredFlag): Promise<void> {
    await this.start();
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(
        `INSERT INTO ${this.table} (name, value, updated_by, updated_at) VALUES ($1, $2::jsonb, $3, $4)
         ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at`,
        [name, JSON.stringify(flag.value), flag.updatedBy, flag.updatedAt],
      );
      // Delivered at COMMIT, to every session listening (this replica's too).
      let payload = JSON.stringify({ name, value: flag.value, updatedBy: flag.updatedBy, updatedAt: flag.updatedAt });
      if (Buffer.byteLength(payload) > MAX_PAYLOAD) payload = JSON.stringify({ name });
      await client.query('SELECT pg_notify($1, $2)', [this.channel, payload]);
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
  }

  /**
   * Reports every change committed by any replica (this one included, which
   * the FlagService recognises), in commit order; after a reconnect, every
   * stored flag once (changes may have been missed meanwhile).
   */
  subscribe(listener: (change: FlagChange) => void): Unsubscribe {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Whether the LISTEN session is up (for a health check). */
  get listening(): boolean {
    return this.listener.connected;
  }

  private enqueue(work: () => Promise<void>): void {
    this.emitting = this.emitting.then(work, work);
  }

  private emit(name: string, flag: StoredFlag): void {
    const change: FlagChange = { name, value: flag.value, previous: undefined, updatedBy: flag.updatedBy, updatedAt: flag.updatedAt };
    for (const l of this.listeners) {
      try {
        l(change);
      } catch (e) {
        this.log('error', `postgres: a flag change listener failed: ${(e as Error).message}`);
      }
    }
  }

  private async fromNotification(payload: string): Promise<void> {
    let msg: { name?: unknown; value?: unknown; updatedBy?: unknown; updatedAt?: unknown };
    try {
      msg = JSON.parse(payload);
    } catch {
      msg = { name: payload };
    }
    if (typeof msg.name !== 'string') return;
    if ('value' in msg) {
      this.emit(msg.name, {
        value: msg.value as FlagValue,
        updatedBy: typeof msg.updatedBy === 'string' ? msg.updatedBy : null,
        updatedAt: typeof msg.updatedAt === 'string' ? msg.updatedAt : null,
      });
      return;
    }
    try {
      const { rows } = await this.pool.query<Row>(`SELECT name, value, updated_by, updated_at FROM ${this.table} WHERE name = $1`, [msg.name]);
      if (rows[0]) this.emit(msg.name, toStored(rows[0]));
    } catch (e) {
      this.log('warn', `postgres: re-reading flag ${msg.name} failed: ${(e as Error).message}`);
    }
  }

  private async rereadAll(): Promise<void> {
    try {
      for (const [name, flag] of Object.entries(await this.load())) this.emit(name, flag);
    } catch (e) {
      this.log('warn', `postgres: re-reading flags failed: ${(e as Error).message}`);
    }
  }

  /** Stops listening and closes the store's own pool (not one passed in). */
  async close(): Promise<void> {
    this.listeners.clear();
    await this.listener.close();
    if (this.ownsPool) await this.pool.end().catch(() => undefined);
  }
}
