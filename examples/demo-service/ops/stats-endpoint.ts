import type { CustomEndpoint } from '../../../src/server/options.js';
import type { Db } from '../db/open-database.js';
import { OrdersRepo } from '../orders/orders-repo.js';
import { requireMigrated } from './not-migrated.js';

/** A service-specific endpoint: it shows up in the catalog next to the standard ones. */
export function ordersStatsEndpoint(db: Db): CustomEndpoint {
  const repo = new OrdersRepo(db);
  return {
    id: 'orders.stats',
    method: 'GET',
    path: '/v1/orders/stats',
    summary: 'Order counts and open revenue',
    description: 'How many orders are open and cancelled, and the sum of open order totals.',
    role: 'viewer',
    destructive: false,
    scope: 'service',
    params: { type: 'object', properties: {}, required: [], additionalProperties: false },
    handler: () => {
      requireMigrated(db);
      return repo.stats();
    },
  };
}
