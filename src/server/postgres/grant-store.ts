import type pg from 'pg';
import { isRole } from '../../protocol/index.js';
import type { GrantStore, StoredGrant } from '../options.js';
import { checkIdentifier, createSchema, defaultLog, type PostgresConnection } from './connection.js';
import { asPgPool, ownPool } from './pg-pool.js';
import { Listener } from './listener.js';

export interface PostgresGrantStoreOptions extends PostgresConnection {
  /** Table holding the grants (created if missing). Default `opsctl_grants`. */
  table?: string;
  /** LISTEN/NOTIFY channel. Default: the table name. */
  channel?: string;
}

interface Row {
  id: string;
  keyid: string;
  public_key: string;
  principal: string;
  role: string;
  created_at: Date;
  expires_at: Date;
  granted_by: string;
  granted_by_keyid: string | null;
  reason: string;
  revoked_at: Date | null;
  revoked_by: string | null;
  approval_id: string | null;
  expiry_recorded_at: Date | null;
  acts_for: string | null;
  derived_from: string[] | null;
  parent_ids: string[] | null;
  ended_with: string | null;
}

const COLUMNS = 'id, keyid, public_key, principal, role, created_at, expires_at, granted_by, granted_by_keyid, reason, revoked_at, revoked_by, approval_id, expiry_recorded_at, acts_for, derived_from, parent_ids, ended_with';

const iso = (d: Date | string): string => new Date(d).toISOString();

function toStored(r: Row): StoredGrant {
  return {
    id: r.id,
    keyid: r.keyid,
    publicKey: r.public_key,
    principal: r.principal,
    role: r.role as StoredGrant['role'],
    createdAt: iso(r.created_at),
    expiresAt: iso(r.expires_at),
    grantedBy: r.granted_by,
    grantedByKeyid: r.granted_by_keyid,
    reason: r.reason,
    ...(r.revoked_at ? { revokedAt: iso(r.revoked_at) } : {}),
    ...(r.revoked_by !== null ? { revokedBy: r.revoked_by } : {}),
    ...(r.approval_id !== null ? { approvalId: r.approval_id } : {}),
    ...(r.expiry_recorded_at ? { expiryRecordedAt: iso(r.expiry_recorded_at) } : {}),
    ...(r.acts_for !== null ? { actsFor: r.acts_for } : {}),
    ...(r.derived_from !== null ? { derivedFrom: r.derived_from } : {}),
    ...(r.parent_ids !== null && r.parent_ids.length ? { parents: r.parent_ids } : {}),
    ...(r.ended_with !== null ? { endedWith: r.ended_with } : {}),
  };
}

/**
 * Grants in the service's PostgreSQL database, shared by every replica, so a
 * grant given on one replica is honoured by all of them and a revocation
 * ends it on all of them.
 *
 * How fresh each replica is (src/server/README.md, "Grants"): the port keeps
 * the grants in memory for request-time lookups and asks the store for the
 * grants of the signing key before it verifies each request (forKey: one
 * query on an index by key), so a grant created or revoked on another
 * replica counts from the very next request. A NOTIFY sent in the same
 * statement as every write, LISTENed for on a dedicated session, refreshes
 * the whole list (grants list, the expiry timers) within milliseconds; the
 * port also re-reads it every few seconds in case a notice was lost. When
 * the database cannot be reached, lookups fall back to that last known
 * list, and no revocation can be written meanwhile.
 *
 * Every change is one conditional statement, so replicas never both revoke
 * a grant or both record its expiry: claimExpiry() is
 * `UPDATE … WHERE expiry_recorded_at IS NULL AND revoked_at IS NULL
 * RETURNING`, which PostgreSQL's row lock makes true for exactly one caller.
 *
 *   const store = new PostgresGrantStore({ connection: process.env.DATABASE_URL });
 *   await store.start();
 *   createInternalPort({ grants: { store }, … });
 */
export class PostgresGrantStore implements GrantStore {
  /** Every replica reads the same grants: the grant endpoints are service-scoped. */
  readonly shared = true;
  private readonly pool: pg.Pool;
  private readonly ownsPool: boolean;
  private readonly table: string;
  private readonly channel: string;
  private readonly listener: Listener;
  private readonly watchers = new Set<() => void>();
  private readonly log: NonNullable<PostgresConnection['log']>;
  private started: Promise<void> | undefined;

  constructor(o: PostgresGrantStoreOptions) {
    this.log = o.log ?? defaultLog;
    this.table = checkIdentifier('table', o.table ?? 'opsctl_grants');
    this.channel = checkIdentifier('channel', o.channel ?? this.table);
    this.ownsPool = !o.pool;
    this.pool = o.pool ? asPgPool(o.pool) : ownPool(o.connection, this.log);
    this.listener = new Listener({
      connection: o.connection,
      channel: this.channel,
      log: this.log,
      onNotify: () => this.changed(),
      // Notices sent while the session was away are lost: everyone re-reads.
      onResync: () => this.changed(),
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
          id text PRIMARY KEY,
          keyid text NOT NULL,
          public_key text NOT NULL,
          principal text NOT NULL,
          role text NOT NULL,
          created_at timestamptz NOT NULL,
          expires_at timestamptz NOT NULL,
          granted_by text NOT NULL,
          granted_by_keyid text,
          reason text NOT NULL,
          revoked_at timestamptz,
          revoked_by text,
          approval_id text,
          expiry_recorded_at timestamptz
        )`,
        // The per-request lookup (forKey) reads by key.
        `CREATE INDEX IF NOT EXISTS ${this.table}_keyid ON ${this.table} (keyid)`,
        // Lineage (src/server/README.md, "Approvals count persons", "Grants"):
        // added to a table made by an older version too, idempotently. Rows
        // written before have NULLs and fall back to granted_by.
        `ALTER TABLE ${this.table} ADD COLUMN IF NOT EXISTS acts_for text`,
        `ALTER TABLE ${this.table} ADD COLUMN IF NOT EXISTS derived_from text[]`,
        `ALTER TABLE ${this.table} ADD COLUMN IF NOT EXISTS parent_ids text[]`,
        `ALTER TABLE ${this.table} ADD COLUMN IF NOT EXISTS ended_with text`,
      ]);
      await this.listener.start();
    })();
    this.started.catch(() => { this.started = undefined; });
    return this.started;
  }

  async load(): Promise<StoredGrant[]> {
    await this.start();
    const { rows } = await this.pool.query<Row>(`SELECT ${COLUMNS} FROM ${this.table} ORDER BY created_at, id`);
    return this.usable(rows);
  }

  /**
   * The grants of one key as stored right now, and every grant they were
   * made under up the chain (the port asks before verifying each request, so
   * a parent revoked on another replica ends them here too). One recursive
   * query: the key's rows by its index, then parents by primary key.
   */
  async forKey(keyid: string): Promise<StoredGrant[]> {
    await this.start();
    const { rows } = await this.pool.query<Row>(
      `WITH RECURSIVE chain AS (
         SELECT ${COLUMNS}, 0 AS depth FROM ${this.table} WHERE keyid = $1
         UNION ALL
         SELECT ${COLUMNS.split(', ').map((c) => `p.${c}`).join(', ')}, c.depth + 1 FROM ${this.table} p JOIN chain c ON p.id = ANY(c.parent_ids) WHERE c.depth < 64
       ) SELECT DISTINCT ON (id) ${COLUMNS} FROM chain ORDER BY id`,
      [keyid],
    );
    return this.usable(rows);
  }

  async insert(g: StoredGrant): Promise<void> {
    await this.start();
    try {
      await this.pool.query(
        `WITH i AS (
           INSERT INTO ${this.table} (${COLUMNS})
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) RETURNING id
         ) SELECT pg_notify($19, i.id) FROM i`,
        [g.id, g.keyid, g.publicKey, g.principal, g.role, g.createdAt, g.expiresAt, g.grantedBy, g.grantedByKeyid, g.reason,
          g.revokedAt ?? null, g.revokedBy ?? null, g.approvalId ?? null, g.expiryRecordedAt ?? null,
          g.actsFor ?? null, g.derivedFrom ?? null, g.parents ?? null, g.endedWith ?? null, this.channel],
      );
    } catch (e) {
      if ((e as { code?: string }).code === '23505') throw new Error(`grant ${g.id} exists already`, { cause: e });
      throw e;
    }
  }

  async revoke(id: string, revokedBy: string, revokedAt: string, endedWith?: string): Promise<StoredGrant | undefined> {
    await this.start();
    // Neither revoked nor expired (by the caller's clock), nor already recorded as expired by another replica.
    const { rows } = await this.pool.query<Row>(
      `WITH u AS (
         UPDATE ${this.table} SET revoked_at = $2, revoked_by = $3, ended_with = $5
         WHERE id = $1 AND revoked_at IS NULL AND expiry_recorded_at IS NULL AND expires_at > $2
         RETURNING ${COLUMNS}
       ) SELECT u.*, pg_notify($4, u.id) FROM u`,
      [id, revokedAt, revokedBy, this.channel, endedWith ?? null],
    );
    return rows[0] ? toStored(rows[0]) : undefined;
  }

  async claimExpiry(id: string, at: string): Promise<boolean> {
    await this.start();
    // A concurrent claimer waits on the row lock, then re-checks the WHERE
    // against the committed row and matches nothing: one winner per grant.
    const { rows } = await this.pool.query(
      `WITH u AS (
         UPDATE ${this.table} SET expiry_recorded_at = $2
         WHERE id = $1 AND expiry_recorded_at IS NULL AND revoked_at IS NULL AND expires_at <= $2
         RETURNING id
       ) SELECT pg_notify($3, u.id) FROM u`,
      [id, at, this.channel],
    );
    return rows.length === 1;
  }

  async prune(before: string): Promise<void> {
    await this.start();
    await this.pool.query(
      `WITH d AS (
         DELETE FROM ${this.table}
         WHERE coalesce(revoked_at, expires_at) <= $1 AND (revoked_at IS NOT NULL OR expiry_recorded_at IS NOT NULL)
         RETURNING id
       ) SELECT pg_notify($2, d.id) FROM d`,
      [before, this.channel],
    );
  }

  /** Calls back on every change any replica commits (this one's too) and after the LISTEN session comes back. */
  watch(onChange: () => void): () => void {
    this.watchers.add(onChange);
    return () => {
      this.watchers.delete(onChange);
    };
  }

  /** Whether the LISTEN session is up (for a health check). */
  get listening(): boolean {
    return this.listener.connected;
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
        this.log('error', `postgres: a grant change watcher failed: ${(e as Error).message}`);
      }
    }
  }

  /** Rows a port can honour; one with a role this version does not know is skipped (and said so), never widened. */
  private usable(rows: Row[]): StoredGrant[] {
    const out: StoredGrant[] = [];
    for (const r of rows) {
      if (!isRole(r.role)) {
        this.log('warn', `postgres: grant ${r.id} in ${this.table} skipped: unknown role ${JSON.stringify(r.role).slice(0, 40)}`);
        continue;
      }
      out.push(toStored(r));
    }
    return out;
  }
}
