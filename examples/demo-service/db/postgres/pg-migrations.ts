import type { SqlMigration } from '../migrations/index.js';

/**
 * The demo's migrations in PostgreSQL's dialect, same names and order as the
 * SQLite ones (db/migrations), so `opsctl migrate` shows the same plan
 * whichever database a replica uses.
 */
export const PG_MIGRATIONS: readonly SqlMigration[] = [
  {
    name: '0001-create-orders',
    up: `CREATE TABLE orders (
      id bigserial PRIMARY KEY,
      item text NOT NULL,
      quantity integer NOT NULL CHECK (quantity > 0),
      unit_price_cents integer NOT NULL CHECK (unit_price_cents >= 0),
      total_cents integer NOT NULL,
      status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'cancelled')),
      created_at text NOT NULL,
      cancelled_at text
    )`,
    down: 'DROP TABLE orders',
  },
  {
    name: '0002-add-discount-column',
    up: 'ALTER TABLE orders ADD COLUMN discount_percent real NOT NULL DEFAULT 0 CHECK (discount_percent >= 0 AND discount_percent <= 100)',
    down: 'ALTER TABLE orders DROP COLUMN discount_percent',
  },
  {
    name: '0003-create-order-events',
    up: `CREATE TABLE order_events (
      id bigserial PRIMARY KEY,
      order_id bigint NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
      kind text NOT NULL,
      at text NOT NULL,
      detail text
    );
    CREATE INDEX order_events_by_order ON order_events(order_id, id);
    CREATE INDEX orders_by_status_cancelled_at ON orders(status, cancelled_at)`,
    down: 'DROP INDEX orders_by_status_cancelled_at; DROP TABLE order_events',
  },
];
