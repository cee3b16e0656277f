import { MIGRATIONS } from './migrations/index.js';
import type { Statement } from 'better-sqlite3';
import type { Db } from './open-database.js';

export interface SchemaStatus {
  applied: string[];
  pending: string[];
}

/**
 * Which of the known migrations the database has. Read from the table on
 * every call because another process sharing the file may migrate.
 */
/** One prepared statement per database: preparing costs more than running it, and this is asked on every request. */
const statements = new WeakMap<Db, Statement<[], { name: string }>>();

export function schemaStatus(db: Db): SchemaStatus {
  let stmt = statements.get(db);
  if (!stmt) statements.set(db, stmt = db.prepare<[], { name: string }>('SELECT name FROM migrations'));
  const done = new Set(stmt.all().map((r) => r.name));
  const applied: string[] = [];
  const pending: string[] = [];
  for (const m of MIGRATIONS) (done.has(m.name) ? applied : pending).push(m.name);
  return { applied, pending };
}
