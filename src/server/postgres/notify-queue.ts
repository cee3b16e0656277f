import type pg from 'pg';
import type { NotifyDelivery, NotifyQueueStore } from '../options.js';
import { checkIdentifier, createSchema, defaultLog, type PostgresConnection } from './connection.js';
import { asPgPool, ownPool } from './pg-pool.js';
import { Listener } from './listener.js';

export interface PostgresNotifyQueueOptions extends PostgresConnection {
  /** Table holding the deliveries (created if missing). Default `opsctl_notify_deliveries`. */
  table?: string;
  /** LISTEN/NOTIFY channel that wakes the other replicas' workers. Default: the table name. */
  channel?: string;
  /** How long delivered and dropped rows are kept, so the same event queued again is recognised (default 48 h). */
  rememberSeconds?: number;
}

interface Row {
  id: string;
  msg_id: string;
  endpoint: string;
  type: string;
  body: string;
  created_at: Date;
  attempts: number;
  next_at: Date;
}

const iso = (d: Date | string): string => new Date(d).toISOString();
const PRUNE_EVERY_MS = 10 * 60_000;

/**
 * The notification queue in the service's PostgreSQL database, shared by
 * every replica (docs/notifications.md, "Several replicas"), so each event
 * is delivered once for the whole fleet, not once per replica:
 *
 * - **Queued once.** A delivery's id is the event's id (derived from what
 *   happened, not random) and the endpoint's key: two replicas that both
 *   emit the same occurrence (a grant about to expire, seen by every
 *   replica) insert the same row, and `ON CONFLICT DO NOTHING` keeps one.
 *   Rows finished in the last 48 h are kept for that too.
 * - **Sent by one replica at a time.** A worker claims due rows with
 *   `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING`:
 *   concurrent claimers skip each other's rows, and each claimed row gets a
 *   lease (the attempt's timeout and a margin). A replica that dies
 *   mid-attempt leaves a lease that runs out; another replica then sends
 *   it again with the same webhook-id (at-least-once).
 * - **Woken at once.** Every insert sends `NOTIFY`, on which the other
 *   replicas look for work; they also poll every few seconds.
 *
 *   const queue = new PostgresNotifyQueue({ connection: process.env.DATABASE_URL });
 *   await queue.start();
 *   createInternalPort({ notifications: { endpoints, store: queue }, … });
 */
export class PostgresNotifyQueue implements NotifyQueueStore {
  readonly shared = true;
  private readonly pool: pg.Pool;
  private readonly ownsPool: boolean;
  private readonly table: string;
  private readonly channel: string;
  private readonly listener: Listener;
  private readonly watchers = new Set<() => void>();
  private readonly log: NonNullable<PostgresConnection['log']>;
  private readonly rememberSeconds: number;
  private started: Promise<void> | undefined;
  private prunedAt = 0;

  constructor(o: PostgresNotifyQueueOptions) {
    this.log = o.log ?? defaultLog;
    this.table = checkIdentifier('table', o.table ?? 'opsctl_notify_deliveries');
    this.channel = checkIdentifier('channel', o.channel ?? this.table);
    this.rememberSeconds = o.rememberSeconds ?? 48 * 3600;
    this.ownsPool = !o.pool;
    this.pool = o.pool ? asPgPool(o.pool) : ownPool(o.connection, this.log);
    this.listener = new Listener({
      connection: o.connection,
      channel: this.channel,
      log: this.log,
      onNotify: () => this.changed(),
      onResync: () => this.changed(),
    });
  }

  /** Creates the table if needed and starts listening; call it at start-up to fail fast on a wrong URL. */
  start(): Promise<void> {
    this.started ??= (async () => {
      await createSchema(this.pool, `opsctl.schema.${this.table}`, [
        `CREATE TABLE IF NOT EXISTS ${this.table} (
          id text PRIMARY KEY,
          msg_id text NOT NULL,
          endpoint text NOT NULL,
          type text NOT NULL,
          body text NOT NULL,
          created_at timestamptz NOT NULL,
          attempts integer NOT NULL DEFAULT 0,
          next_at timestamptz NOT NULL,
          state text NOT NULL DEFAULT 'pending',
          leased_by text,
          lease_until timestamptz,
          last_status integer,
          last_error text,
          done_at timestamptz
        )`,
        // What a claim scans: due pending rows of some endpoints, oldest first.
        `CREATE INDEX IF NOT EXISTS ${this.table}_due ON ${this.table} (endpoint, next_at) WHERE state = 'pending'`,
      ]);
      await this.listener.start();
    })();
    this.started.catch(() => { this.started = undefined; });
    return this.started;
  }

  async enqueue(deliveries: NotifyDelivery[]): Promise<void> {
    if (!deliveries.length) return;
    await this.start();
    const values: unknown[] = [];
    const rows = deliveries.map((d, i) => {
      values.push(d.id, d.msgId, d.endpoint, d.type, d.body, d.createdAt, d.nextAt);
      const b = i * 7;
      return `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, $${b + 6}, $${b + 7})`;
    });
    values.push(this.channel);
    await this.pool.query(
      `WITH i AS (
         INSERT INTO ${this.table} (id, msg_id, endpoint, type, body, created_at, next_at) VALUES ${rows.join(', ')}
         ON CONFLICT (id) DO NOTHING RETURNING id
       ) SELECT pg_notify($${values.length}, 'queued') FROM (SELECT 1 FROM i LIMIT 1) x`,
      values,
    );
  }

  async claim(worker: string, endpoints: string[], limit: number, leaseMs: number): Promise<NotifyDelivery[]> {
    await this.start();
    void this.prune();
    const { rows } = await this.pool.query<Row>(
      `UPDATE ${this.table} SET leased_by = $1, lease_until = now() + $3 * interval '1 millisecond', attempts = attempts + 1
       WHERE id IN (
         SELECT id FROM ${this.table}
         WHERE state = 'pending' AND endpoint = ANY($2) AND next_at <= now() AND (lease_until IS NULL OR lease_until < now())
         ORDER BY next_at
         LIMIT $4
         FOR UPDATE SKIP LOCKED
       )
       RETURNING id, msg_id, endpoint, type, body, created_at, attempts, next_at`,
      [worker, endpoints, leaseMs, limit],
    );
    return rows.map((r) => ({ id: r.id, msgId: r.msg_id, endpoint: r.endpoint, type: r.type, body: r.body, createdAt: iso(r.created_at), attempts: r.attempts, nextAt: iso(r.next_at) }));
  }

  async complete(id: string, worker: string): Promise<void> {
    await this.pool.query(`UPDATE ${this.table} SET state = 'delivered', done_at = now(), lease_until = NULL WHERE id = $1 AND leased_by = $2 AND state = 'pending'`, [id, worker]);
  }

  async retry(id: string, worker: string, nextAt: string, failure: { status: number | null; error: string }): Promise<void> {
    await this.pool.query(
      `UPDATE ${this.table} SET next_at = $3, lease_until = NULL, last_status = $4, last_error = $5 WHERE id = $1 AND leased_by = $2 AND state = 'pending'`,
      [id, worker, nextAt, failure.status, failure.error.slice(0, 500)],
    );
  }

  async drop(id: string, worker: string, why: string): Promise<void> {
    await this.pool.query(`UPDATE ${this.table} SET state = 'dropped', done_at = now(), lease_until = NULL, last_error = $3 WHERE id = $1 AND leased_by = $2 AND state = 'pending'`, [id, worker, why.slice(0, 500)]);
  }

  async nextDue(endpoints: string[]): Promise<number | undefined> {
    await this.start();
    const { rows } = await this.pool.query<{ at: Date | null }>(
      `SELECT min(greatest(next_at, coalesce(lease_until, next_at))) AS at FROM ${this.table} WHERE state = 'pending' AND endpoint = ANY($1)`,
      [endpoints],
    );
    return rows[0]?.at ? new Date(rows[0].at).getTime() : undefined;
  }

  async pending(endpoints: string[]): Promise<Record<string, number>> {
    await this.start();
    const { rows } = await this.pool.query<{ endpoint: string; n: string }>(
      `SELECT endpoint, count(*) AS n FROM ${this.table} WHERE state = 'pending' AND endpoint = ANY($1) GROUP BY endpoint`,
      [endpoints],
    );
    const out: Record<string, number> = Object.fromEntries(endpoints.map((e) => [e, 0]));
    for (const r of rows) out[r.endpoint] = Number(r.n);
    return out;
  }

  /** Forgets finished rows older than rememberSeconds, at most every 10 minutes. */
  private async prune(): Promise<void> {
    if (Date.now() - this.prunedAt < PRUNE_EVERY_MS) return;
    this.prunedAt = Date.now();
    await this.pool.query(`DELETE FROM ${this.table} WHERE state <> 'pending' AND done_at < now() - $1 * interval '1 second'`, [this.rememberSeconds])
      .catch((e: Error) => this.log('warn', `postgres: old notification deliveries could not be pruned: ${e.message}`));
  }

  /** Calls back when any replica queued a delivery, and after the LISTEN session comes back. */
  watch(onChange: () => void): () => void {
    this.watchers.add(onChange);
    return () => {
      this.watchers.delete(onChange);
    };
  }

  /** Stops listening and closes the store's own pool (not one passed in). */
  async close(): Promise<void> {
    this.watchers.clear();
    await this.listener.close();
    if (this.ownsPool) await this.pool.end().catch(() => undefined);
  }

  private changed(): void {
    for (const w of this.watchers) {
      try {
        w();
      } catch (e) {
        this.log('error', `postgres: a notification queue watcher failed: ${(e as Error).message}`);
      }
    }
  }
}
