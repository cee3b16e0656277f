import { ProblemError } from '../../../src/protocol/index.js';
import type { OrdersDatabase } from '../orders/orders-store.js';
import { requireMigrated } from '../ops/not-migrated.js';
import type { DemoFlags } from '../ops/feature-flags.js';
import type { DemoMetrics } from '../ops/metrics.js';
import { intQuery, parseNewOrder } from './validate.js';

export interface PublicRequest {
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
}

export interface PublicResponse {
  status: number;
  body: unknown;
}

export interface Route {
  method: 'GET' | 'POST';
  /** The template, used as the metrics label. */
  route: string;
  pattern: RegExp;
  /** Writes are paused by maintenance_mode. */
  write: boolean;
  /** Needs every migration applied (else 503). */
  needsSchema: boolean;
  handle(req: PublicRequest): PublicResponse | Promise<PublicResponse>;
}

export interface RouteDeps {
  /** SQLite in the data dir, or the PostgreSQL every replica shares (--database). */
  data: OrdersDatabase;
  flags: DemoFlags;
  metrics: DemoMetrics;
}

function orderId(params: Record<string, string>): number {
  const id = Number(params.id);
  if (!Number.isSafeInteger(id) || id < 1) throw new ProblemError('not_found', `no order ${params.id}`);
  return id;
}

/** The public orders API. */
export function createRoutes({ data, flags, metrics }: RouteDeps): Route[] {
  const repo = data.orders;
  return [
    {
      method: 'GET', route: '/healthz', pattern: /^\/healthz$/, write: false, needsSchema: false,
      handle: async () => {
        const { pending } = await data.schemaStatus();
        return { status: 200, body: { status: 'ok', migrated: pending.length === 0, pending } };
      },
    },
    {
      method: 'GET', route: '/orders', pattern: /^\/orders$/, write: false, needsSchema: true,
      handle: async ({ query }) => {
        const max = await flags.maxPageSize();
        const limit = Math.min(intQuery(query, 'limit', 1) ?? max, max);
        const after = intQuery(query, 'after', 0);
        const status = query.get('status');
        if (status !== null && status !== 'open' && status !== 'cancelled') {
          throw new ProblemError('request.invalid', 'status must be "open" or "cancelled"', { field: 'status' });
        }
        const orders = await repo.list({ limit, ...(after !== undefined ? { after } : {}), ...(status ? { status } : {}) });
        return { status: 200, body: { orders, limit, nextAfter: orders.length === limit ? orders[orders.length - 1]!.id : null } };
      },
    },
    {
      method: 'POST', route: '/orders', pattern: /^\/orders$/, write: true, needsSchema: true,
      handle: async ({ body }) => {
        const { customer, ...input } = parseNewOrder(body);
        // The discount in force at creation time is stored with the order.
        const order = await repo.create({ ...input, discountPercent: await flags.discountFor(customer) });
        metrics.ordersCreated.inc();
        return { status: 201, body: order };
      },
    },
    {
      method: 'GET', route: '/orders/{id}', pattern: /^\/orders\/(?<id>[^/]+)$/, write: false, needsSchema: true,
      handle: async ({ params }) => {
        const order = await repo.get(orderId(params));
        if (!order) throw new ProblemError('not_found', `no order ${params.id}`);
        return { status: 200, body: order };
      },
    },
    {
      method: 'GET', route: '/orders/{id}/events', pattern: /^\/orders\/(?<id>[^/]+)\/events$/, write: false, needsSchema: true,
      handle: async ({ params }) => {
        const id = orderId(params);
        if (!(await repo.get(id))) throw new ProblemError('not_found', `no order ${params.id}`);
        return { status: 200, body: { events: await repo.events(id) } };
      },
    },
    {
      method: 'POST', route: '/orders/{id}/cancel', pattern: /^\/orders\/(?<id>[^/]+)\/cancel$/, write: true, needsSchema: true,
      handle: async ({ params }) => {
        const r = await repo.cancel(orderId(params));
        if (!r.ok) {
          if (r.reason === 'not_found') throw new ProblemError('not_found', `no order ${params.id}`);
          throw new ProblemError('order.already_cancelled', `order ${params.id} is already cancelled`, { title: 'Order already cancelled' }, 409);
        }
        metrics.ordersCancelled.inc();
        return { status: 200, body: r.order };
      },
    },
  ];
}

/** Runs the per-route guards: schema first (nothing works without it), then maintenance for writes. */
export async function guard(route: Route, deps: RouteDeps): Promise<void> {
  if (route.needsSchema) await requireMigrated(deps.data);
  if (route.write && (await deps.flags.maintenance())) {
    throw new ProblemError('service.maintenance', 'the service is in maintenance mode: writes are paused, reads still work', { title: 'Service in maintenance' }, 503);
  }
}
