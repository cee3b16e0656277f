import type { CustomEndpoint } from '../../../src/server/options.js';
import type { Db } from '../db/open-database.js';
import type { OrdersDatabase } from '../orders/orders-store.js';
import { asOrdersDatabase } from '../orders/sqlite-orders.js';
import { requireMigrated } from './not-migrated.js';

/** A service-specific endpoint: it shows up in the catalog next to the standard ones. */
export function ordersStatsEndpoint(source: Db | OrdersDatabase): CustomEndpoint {
  const data = asOrdersDatabase(source);
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
    handler: async () => {
      await requireMigrated(data);
      return data.orders.stats();
    },
  };
}
