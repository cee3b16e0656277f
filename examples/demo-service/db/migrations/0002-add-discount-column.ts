import type { SqlMigration } from './sql-migration.js';

// Orders keep the discount they were sold with, so a later change of the
// discount_percent flag never rewrites what a customer was charged.
export const addDiscountColumn: SqlMigration = {
  name: '0002-add-discount-column',
  up: `ALTER TABLE orders ADD COLUMN discount_percent REAL NOT NULL DEFAULT 0 CHECK (discount_percent >= 0 AND discount_percent <= 100);`,
  down: `ALTER TABLE orders DROP COLUMN discount_percent;`,
};
