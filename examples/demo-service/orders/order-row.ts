import type { Order } from './order.js';

/** A row of the orders table, in SQLite and PostgreSQL alike. */
export interface OrderRow {
  // PostgreSQL's bigserial comes back from pg as a string; SQLite's INTEGER as a number.
  id: number | string;
  item: string;
  quantity: number;
  unit_price_cents: number;
  discount_percent: number;
  total_cents: number;
  status: 'open' | 'cancelled';
  created_at: string;
  cancelled_at: string | null;
}

export function toOrder(r: OrderRow): Order {
  return {
    id: Number(r.id),
    item: r.item,
    quantity: r.quantity,
    unitPrice: r.unit_price_cents / 100,
    discountPercent: r.discount_percent,
    total: r.total_cents / 100,
    status: r.status,
    createdAt: r.created_at,
    cancelledAt: r.cancelled_at,
  };
}
