import type { MigrationLock } from '../../../src/server/options.js';
import type { Db } from './open-database.js';

interface LockRow {
  holder: string;
  acquired_at: string;
}

function isConstraintError(e: unknown): boolean {
  return typeof (e as { code?: unknown })?.code === 'string' && (e as { code: string }).code.startsWith('SQLITE_CONSTRAINT');
}

/**
 * The migration lock, kept in the database itself so it holds across every
 * process sharing the file. Acquiring is one INSERT into a table that can
 * hold at most one row: SQLite makes that atomic, so of two racing replicas
 * exactly one wins and the other learns who holds it.
 */
export class SqliteMigrationLock implements MigrationLock {
  constructor(private readonly db: Db) {}

  async acquire(holder: string): Promise<{ acquired: true } | { acquired: false; holder: string; since?: string }> {
    const insert = this.db.prepare('INSERT INTO migration_lock (id, holder, acquired_at) VALUES (1, ?, ?)');
    const current = this.db.prepare('SELECT holder, acquired_at FROM migration_lock WHERE id = 1');
    // The holder may release between our failed INSERT and the SELECT; then
    // simply try again rather than report a lock nobody holds.
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        insert.run(holder, new Date().toISOString());
        return { acquired: true };
      } catch (e) {
        if (!isConstraintError(e)) throw e;
      }
      const row = current.get() as LockRow | undefined;
      if (row) return { acquired: false, holder: row.holder, since: row.acquired_at };
    }
    const row = current.get() as LockRow | undefined;
    return { acquired: false, holder: row?.holder ?? 'unknown', ...(row ? { since: row.acquired_at } : {}) };
  }

  async release(holder: string): Promise<void> {
    // Only our own row: a release after someone cleared a stale lock and took
    // it must not free theirs.
    this.db.prepare('DELETE FROM migration_lock WHERE id = 1 AND holder = ?').run(holder);
  }

  /** Who holds the lock now, if anyone. */
  current(): { holder: string; since: string } | undefined {
    const row = this.db.prepare('SELECT holder, acquired_at FROM migration_lock WHERE id = 1').get() as LockRow | undefined;
    return row ? { holder: row.holder, since: row.acquired_at } : undefined;
  }
}
