import type { SqlMigration } from './sql-migration.js';

export const createOrderEvents: SqlMigration = {
  name: '0003-create-order-events',
  up: `
    CREATE TABLE order_events (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      order_id INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
      kind TEXT NOT NULL,
      at TEXT NOT NULL,
      detail TEXT
    );
    CREATE INDEX order_events_by_order ON order_events(order_id, id);
    -- purge-cancelled-orders scans by status and age.
    CREATE INDEX orders_by_status_cancelled_at ON orders(status, cancelled_at);
  `,
  down: `
    DROP INDEX orders_by_status_cancelled_at;
    DROP TABLE order_events;
  `,
};
