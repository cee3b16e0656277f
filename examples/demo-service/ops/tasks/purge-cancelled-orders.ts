import type { TaskDefinition } from '../../../../src/server/options.js';
import type { Db } from '../../db/open-database.js';
import type { OrdersDatabase } from '../../orders/orders-store.js';
import { asOrdersDatabase } from '../../orders/sqlite-orders.js';
import { requireMigrated } from '../not-migrated.js';

/**
 * Deletes cancelled orders (and their events) older than a cut-off.
 * Destructive: admin only, and by default a second admin approves it
 * (break-glass allowed in an incident).
 */
export function purgeCancelledOrdersTask(source: Db | OrdersDatabase, opts: { approvals?: boolean } = {}): TaskDefinition {
  const data = asOrdersDatabase(source);
  return {
    name: 'purge-cancelled-orders',
    summary: 'Delete cancelled orders older than N days',
    description: 'Permanently deletes orders that were cancelled at least olderThanDays days ago, with their events. 0 deletes every cancelled order.',
    role: 'admin',
    destructive: true,
    scope: 'service',
    ...(opts.approvals !== false ? { approval: { count: 1, breakGlass: true } } : {}),
    params: {
      type: 'object',
      properties: {
        olderThanDays: { type: 'integer', minimum: 0, maximum: 36500, description: 'only orders cancelled at least this many days ago' },
      },
      required: ['olderThanDays'],
      additionalProperties: false,
    },
    async dryRun(params) {
      await requireMigrated(data);
      const days = Number(params.olderThanDays);
      return { wouldDelete: await data.orders.countCancelled(days), olderThanDays: days };
    },
    async handler(params, ctx) {
      await requireMigrated(data);
      const days = params.olderThanDays;
      // The server validates params against the schema; this guards direct callers.
      if (typeof days !== 'number' || !Number.isInteger(days) || days < 0) throw new TypeError('olderThanDays must be an integer >= 0');
      ctx.signal.throwIfAborted();
      const deleted = await data.orders.purgeCancelled(days);
      ctx.progress(1);
      ctx.log(`deleted ${deleted} cancelled orders older than ${days} days`);
      return { deleted, olderThanDays: days };
    },
  };
}
