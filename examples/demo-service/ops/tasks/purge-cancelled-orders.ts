import type { TaskDefinition } from '../../../../src/server/options.js';
import type { Db } from '../../db/open-database.js';
import { OrdersRepo } from '../../orders/orders-repo.js';
import { requireMigrated } from '../not-migrated.js';

/**
 * Deletes cancelled orders (and their events) older than a cut-off.
 * Destructive: admin only, and by default a second admin approves it
 * (break-glass allowed in an incident).
 */
export function purgeCancelledOrdersTask(db: Db, opts: { approvals?: boolean } = {}): TaskDefinition {
  const repo = new OrdersRepo(db);
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
    dryRun(params) {
      requireMigrated(db);
      const days = Number(params.olderThanDays);
      return { wouldDelete: repo.countCancelled(days), olderThanDays: days };
    },
    async handler(params, ctx) {
      requireMigrated(db);
      const days = params.olderThanDays;
      // The server validates params against the schema; this guards direct callers.
      if (typeof days !== 'number' || !Number.isInteger(days) || days < 0) throw new TypeError('olderThanDays must be an integer >= 0');
      ctx.signal.throwIfAborted();
      const deleted = repo.purgeCancelled(days);
      ctx.progress(1);
      ctx.log(`deleted ${deleted} cancelled orders older than ${days} days`);
      return { deleted, olderThanDays: days };
    },
  };
}
