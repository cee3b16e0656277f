import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { OrdersDatabase } from '../orders/orders-store.js';

/** The service's own metrics, merged by the internal port into GET /v1/metrics. */
export interface DemoMetrics {
  registry: Registry;
  ordersCreated: Counter<string>;
  ordersCancelled: Counter<string>;
  publicRequests: Counter<'route' | 'status'>;
  publicRequestDuration: Histogram<'route'>;
}

export function createMetrics(data: OrdersDatabase): DemoMetrics {
  const registry = new Registry();
  const ordersCreated = new Counter({ name: 'demo_orders_created_total', help: 'Orders created through the public API', registers: [registry] });
  const ordersCancelled = new Counter({ name: 'demo_orders_cancelled_total', help: 'Orders cancelled through the public API', registers: [registry] });
  const publicRequests = new Counter({
    name: 'demo_public_requests_total',
    help: 'Public API requests by route template and status code',
    labelNames: ['route', 'status'] as const,
    registers: [registry],
  });
  const publicRequestDuration = new Histogram({
    name: 'demo_public_request_duration_seconds',
    help: 'Public API request duration by route template',
    labelNames: ['route'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
    registers: [registry],
  });
  new Gauge({
    name: 'demo_orders_open',
    help: 'Open orders in the database',
    registers: [registry],
    async collect() {
      // Before the first migration there is no orders table to count; with the
      // database down the gauge keeps its last value (the health check says why).
      try {
        if ((await data.schemaStatus()).applied.length === 0) return;
        this.set(await data.orders.openCount());
      } catch {
        /* unreachable database */
      }
    },
  });
  new Gauge({
    name: 'demo_migrations_pending',
    help: 'Migrations known to this build but not applied to the database',
    registers: [registry],
    async collect() {
      try {
        this.set((await data.schemaStatus()).pending.length);
      } catch {
        /* unreachable database */
      }
    },
  });
  return { registry, ordersCreated, ordersCancelled, publicRequests, publicRequestDuration };
}
