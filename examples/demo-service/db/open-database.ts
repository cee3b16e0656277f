import fs from 'node:fs';
import Database from 'better-sqlite3';

export type Db = Database.Database;

/**
 * Opens (creating if needed) the service's SQLite database in WAL mode, with
 * the two bookkeeping tables that must exist before any migration runs: the
 * umzug `migrations` log and the one-row `migration_lock`.
 */
export function openDatabase(file: string): Db {
  const existed = fs.existsSync(file);
  const db = new Database(file);
  try {
    // The file holds customer data: owner-only from the first byte on disk.
    if (!existed) fs.chmodSync(file, 0o600);
    db.pragma('journal_mode = WAL');
    // Two replicas (or a replica and an operator's shell) may share the file;
    // wait for a writer instead of failing with SQLITE_BUSY at once.
    db.pragma('busy_timeout = 5000');
    db.pragma('foreign_keys = ON');
    db.exec(`
      CREATE TABLE IF NOT EXISTS migrations (
        name TEXT PRIMARY KEY,
        applied_at TEXT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS migration_lock (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        holder TEXT NOT NULL,
        acquired_at TEXT NOT NULL
      );
    `);
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}
