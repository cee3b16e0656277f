import { ProblemError } from '../../../src/protocol/index.js';
import type { OrdersDatabase } from '../orders/orders-store.js';

/** Throws a 503 problem naming what is pending when the schema is not fully migrated. */
export async function requireMigrated(data: OrdersDatabase): Promise<void> {
  const { pending } = await data.schemaStatus();
  if (pending.length) {
    throw new ProblemError('service.not_migrated', `database not migrated: ${pending.length} pending (${pending.join(', ')})`, { title: 'Database not migrated', pending }, 503);
  }
}
