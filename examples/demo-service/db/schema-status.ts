import { MIGRATIONS } from './migrations/index.js';
import type { Db } from './open-database.js';

export interface SchemaStatus {
  applied: string[];
  pending: string[];
}

/**
 * Which of the known migrations the database has. Read from the table on
 * every call because another process sharing the file may migrate.
 */
export function schemaStatus(db: Db): SchemaStatus {
  const done = new Set((db.prepare('SELECT name FROM migrations').all() as Array<{ name: string }>).map((r) => r.name));
  const applied: string[] = [];
  const pending: string[] = [];
  for (const m of MIGRATIONS) (done.has(m.name) ? applied : pending).push(m.name);
  return { applied, pending };
}
