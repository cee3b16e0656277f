import { ProblemError } from '../../../src/protocol/index.js';
import type { CustomEndpoint } from '../../../src/server/options.js';
import type { Db } from '../db/open-database.js';
import type { OrdersDatabase } from '../orders/orders-store.js';
import { asOrdersDatabase } from '../orders/sqlite-orders.js';
import { requireMigrated } from './not-migrated.js';

/**
 * Two more of the service's own endpoints, with params: once the CLI has
 * cached the catalog they are commands, `opsctl orders list --status open
 * --limit 5` and `opsctl orders cancel --id 7` (README, "Service commands").
 */
export function ordersListEndpoint(source: Db | OrdersDatabase): CustomEndpoint {
  const data = asOrdersDatabase(source);
  return {
    id: 'orders.list',
    method: 'GET',
    path: '/v1/orders',
    summary: 'Newest orders, optionally only open or cancelled ones',
    description: 'The newest orders first, up to limit, with their totals and status.',
    role: 'viewer',
    destructive: false,
    scope: 'service',
    params: {
      type: 'object',
      properties: {
        status: { type: 'string', enum: ['open', 'cancelled'], in: 'query', description: 'only orders in this state' },
        limit: { type: 'integer', minimum: 1, maximum: 100, default: 20, in: 'query', description: 'how many orders' },
      },
      required: [],
      additionalProperties: false,
    },
    handler: async (params) => {
      await requireMigrated(data);
      const all = await data.orders.list({ limit: 100_000, ...(params.status ? { status: params.status as 'open' | 'cancelled' } : {}) });
      const limit = typeof params.limit === 'number' ? params.limit : 20;
      return { orders: all.slice(-limit).reverse() };
    },
  };
}

/** Cancelling is reviewed by a second person when approvals are on (an admin may break glass). */
export function ordersCancelEndpoint(source: Db | OrdersDatabase, opts: { approvals: boolean }): CustomEndpoint {
  const data = asOrdersDatabase(source);
  const find = async (id: number) => {
    await requireMigrated(data);
    const order = await data.orders.get(id);
    if (!order) throw new ProblemError('not_found', `no order ${id}`);
    return order;
  };
  return {
    id: 'orders.cancel',
    method: 'POST',
    path: '/v1/orders/cancel',
    summary: 'Cancel an order on behalf of a customer',
    description: 'Marks an open order cancelled (its revenue leaves the open total). An order already cancelled is a conflict.',
    role: 'operator',
    destructive: true,
    scope: 'service',
    ...(opts.approvals ? { approval: { count: 1, breakGlass: true } } : {}),
    params: {
      type: 'object',
      properties: { id: { type: 'integer', minimum: 1, description: 'order id' } },
      required: ['id'],
      additionalProperties: false,
    },
    dryRun: async (params) => ({ wouldCancel: await find(params.id as number) }),
    handler: async (params) => {
      const id = params.id as number;
      await find(id);
      const r = await data.orders.cancel(id);
      if (!r.ok && r.reason === 'not_found') throw new ProblemError('not_found', `no order ${id}`);
      if (!r.ok) throw new ProblemError('order.cancelled', `order ${id} is cancelled already`, { title: 'Order already cancelled' }, 409);
      return { order: r.order };
    },
  };
}
