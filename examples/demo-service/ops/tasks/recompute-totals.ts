import { setTimeout as sleep } from 'node:timers/promises';
import type { TaskDefinition } from '../../../../src/server/options.js';
import type { Db } from '../../db/open-database.js';
import type { OrdersDatabase } from '../../orders/orders-store.js';
import { asOrdersDatabase } from '../../orders/sqlite-orders.js';
import { requireMigrated } from '../not-migrated.js';

/** Never fewer batches than this, so progress is visible even on a small table. */
const MIN_BATCHES = 10;

function intParam(params: Record<string, unknown>, name: string, fallback: number): number {
  const v = params[name];
  return typeof v === 'number' && Number.isInteger(v) ? v : fallback;
}

/**
 * Recomputes every order's total from quantity, unit price and its own
 * discount, fixing drifted ones. Works in throttled batches (a pause between
 * them keeps the public API responsive), reports progress per batch and stops
 * at the next batch boundary when cancelled.
 */
export function recomputeTotalsTask(source: Db | OrdersDatabase): TaskDefinition {
  const data = asOrdersDatabase(source);
  return {
    name: 'recompute-totals',
    summary: 'Recompute order totals in throttled batches',
    description: `Walks all orders in at least ${MIN_BATCHES} batches, recomputes each total from quantity, unit price and the order's discount, and fixes the ones that differ. Safe to cancel: every batch is its own transaction.`,
    role: 'operator',
    destructive: false,
    scope: 'service',
    params: {
      type: 'object',
      properties: {
        batchSize: { type: 'integer', minimum: 1, maximum: 10000, default: 100, description: 'largest number of orders per batch' },
        pauseMs: { type: 'integer', minimum: 0, maximum: 10000, default: 350, description: 'pause between batches, in milliseconds' },
      },
      required: [],
      additionalProperties: false,
    },
    async dryRun() {
      await requireMigrated(data);
      return { orders: await data.orders.count(), wouldCorrect: await data.orders.countDrifted() };
    },
    async handler(params, ctx) {
      await requireMigrated(data);
      const pauseMs = intParam(params, 'pauseMs', 350);
      const count = await data.orders.count();
      const batches = Math.max(MIN_BATCHES, Math.ceil(count / intParam(params, 'batchSize', 100)));
      const perBatch = Math.max(1, Math.ceil(count / batches));
      ctx.log(`recomputing ${count} orders in ${batches} batches of up to ${perBatch}`);
      let after = 0;
      let scanned = 0;
      let corrected = 0;
      for (let i = 1; i <= batches; i++) {
        ctx.signal.throwIfAborted();
        const r = await data.orders.recomputeBatch(after, perBatch);
        after = r.lastId;
        scanned += r.scanned;
        corrected += r.corrected;
        if (r.corrected) ctx.log(`batch ${i}: corrected ${r.corrected} totals`, 'warn');
        ctx.progress({ current: i, total: batches, message: `${scanned}/${count} orders checked, ${corrected} corrected` });
        if (i < batches && pauseMs > 0) await sleep(pauseMs, undefined, { signal: ctx.signal });
      }
      ctx.log(`done: ${scanned} orders checked, ${corrected} corrected`);
      return { scanned, corrected, batches };
    },
  };
}
