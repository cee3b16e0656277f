import type { FlagReader, HealthCheck } from '../../../src/server/options.js';
import type { OrdersDatabase } from '../orders/orders-store.js';

/**
 * Health checks for GET /v1/health: the database answers; no migration is
 * pending; the replica is not in maintenance mode (it then refuses public
 * writes, so a fleet rollout in --batch waves halts on it). `flags` is read
 * lazily: the checks exist before the internal port does.
 */
export function healthChecks(data: OrdersDatabase, flags: () => FlagReader | undefined = () => undefined): Record<string, HealthCheck> {
  return {
    maintenance: () => {
      const on = flags()?.get('maintenance_mode') === true;
      return on ? { ok: false, detail: 'maintenance mode: public writes answer 503' } : { ok: true };
    },
    database: async () => {
      try {
        await data.ping();
        return { ok: true };
      } catch (e) {
        return { ok: false, detail: `database unreachable: ${(e as Error).message}` };
      }
    },
    migrations: async () => {
      const { pending } = await data.schemaStatus();
      return pending.length
        ? { ok: false, detail: `${pending.length} pending: ${pending.join(', ')}` }
        : { ok: true, detail: 'schema up to date' };
    },
  };
}
