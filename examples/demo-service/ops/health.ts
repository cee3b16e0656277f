import type { HealthCheck } from '../../../src/server/options.js';
import type { Db } from '../db/open-database.js';
import { schemaStatus } from '../db/schema-status.js';

/** Health checks for GET /v1/health: the database answers; no migration is pending. */
export function healthChecks(db: Db): Record<string, HealthCheck> {
  return {
    database: () => {
      try {
        db.prepare('SELECT 1').get();
        return { ok: true };
      } catch (e) {
        return { ok: false, detail: `database unreachable: ${(e as Error).message}` };
      }
    },
    migrations: () => {
      const { pending } = schemaStatus(db);
      return pending.length
        ? { ok: false, detail: `${pending.length} pending: ${pending.join(', ')}` }
        : { ok: true, detail: 'schema up to date' };
    },
  };
}
