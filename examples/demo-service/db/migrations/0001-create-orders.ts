import type { SqlMigration } from './sql-migration.js';

export const createOrders: SqlMigration = {
  name: '0001-create-orders',
  up: `
    CREATE TABLE orders (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      item TEXT NOT NULL,
      quantity INTEGER NOT NULL CHECK (quantity > 0),
      unit_price_cents INTEGER NOT NULL CHECK (unit_price_cents >= 0),
      total_cents INTEGER NOT NULL,
      status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'cancelled')),
      created_at TEXT NOT NULL,
      cancelled_at TEXT
    );
  `,
  down: `DROP TABLE orders;`,
};
