import { setTimeout as sleep } from 'node:timers/promises';
import { Umzug, type RunnableMigration } from 'umzug';
import { MIGRATIONS, type SqlMigration } from './migrations/index.js';
import { SqliteMigrationStorage } from './migration-storage.js';
import type { Db } from './open-database.js';
import type { Logger } from '../logger.js';

export interface MigratorOptions {
  log: Logger;
  /** Sleep this long before each migration: lets demos and tests watch a migration job run. */
  delayMs?: number;
}

export type DemoMigrator = Umzug<Record<string, never>>;

/**
 * Each migration changes the schema and records itself in `migrations` in
 * one transaction (SQLite DDL is transactional), so a crash mid-migration
 * leaves the database either before or after it, never in between.
 */
function runnable(db: Db, m: SqlMigration, delayMs: number): RunnableMigration<Record<string, never>> {
  const apply = db.transaction(() => {
    db.exec(m.up);
    db.prepare('INSERT INTO migrations (name, applied_at) VALUES (?, ?)').run(m.name, new Date().toISOString());
  });
  const revert = db.transaction(() => {
    db.exec(m.down);
    db.prepare('DELETE FROM migrations WHERE name = ?').run(m.name);
  });
  return {
    name: m.name,
    up: async () => {
      if (delayMs > 0) await sleep(delayMs);
      apply.immediate();
    },
    down: async () => {
      if (delayMs > 0) await sleep(delayMs);
      revert.immediate();
    },
  };
}

/** An umzug instance over the demo's migrations and the SQLite `migrations` table. */
export function createMigrator(db: Db, opts: MigratorOptions): DemoMigrator {
  const delayMs = opts.delayMs ?? 0;
  return new Umzug<Record<string, never>>({
    migrations: MIGRATIONS.map((m) => runnable(db, m, delayMs)),
    context: {},
    storage: new SqliteMigrationStorage(db),
    logger: {
      info: (msg) => opts.log('info', `migrations: ${describe(msg)}`),
      warn: (msg) => opts.log('warn', `migrations: ${describe(msg)}`),
      error: (msg) => opts.log('error', `migrations: ${describe(msg)}`),
      debug: () => {},
    },
  });
}

function describe(msg: Record<string, unknown>): string {
  const parts = [msg.event, msg.name].filter((x) => typeof x === 'string');
  if (typeof msg.durationSeconds === 'number') parts.push(`${msg.durationSeconds}s`);
  return parts.length ? parts.join(' ') : JSON.stringify(msg);
}
