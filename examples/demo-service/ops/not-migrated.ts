import { ProblemError } from '../../../src/protocol/index.js';
import type { Db } from '../db/open-database.js';
import { schemaStatus } from '../db/schema-status.js';

/** Throws a 503 problem naming what is pending when the schema is not fully migrated. */
export function requireMigrated(db: Db): void {
  const { pending } = schemaStatus(db);
  if (pending.length) {
    throw new ProblemError('service.not_migrated', `database not migrated: ${pending.length} pending (${pending.join(', ')})`, { title: 'Database not migrated', pending }, 503);
  }
}
