import { createOrders } from './0001-create-orders.js';
import { addDiscountColumn } from './0002-add-discount-column.js';
import { createOrderEvents } from './0003-create-order-events.js';
import type { SqlMigration } from './sql-migration.js';

export type { SqlMigration } from './sql-migration.js';

/** Every migration of the demo service, in the order they apply. */
export const MIGRATIONS: readonly SqlMigration[] = [createOrders, addDiscountColumn, createOrderEvents];
