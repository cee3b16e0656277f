import type { UmzugStorage } from 'umzug';
import type { Db } from './open-database.js';

/**
 * umzug's storage over the `migrations` table. Each migration already logs
 * itself inside its own transaction (see migrator.ts), so these writes are
 * idempotent: they only matter for a migration that did not.
 */
export class SqliteMigrationStorage implements UmzugStorage<unknown> {
  constructor(private readonly db: Db) {}

  async logMigration({ name }: { name: string }): Promise<void> {
    this.db.prepare('INSERT OR IGNORE INTO migrations (name, applied_at) VALUES (?, ?)').run(name, new Date().toISOString());
  }

  async unlogMigration({ name }: { name: string }): Promise<void> {
    this.db.prepare('DELETE FROM migrations WHERE name = ?').run(name);
  }

  async executed(): Promise<string[]> {
    return (this.db.prepare('SELECT name FROM migrations ORDER BY name').all() as Array<{ name: string }>).map((r) => r.name);
  }
}
