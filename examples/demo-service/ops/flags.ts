import type { FlagDefinition } from '../../../src/server/options.js';

/** The demo's feature flags; each one visibly changes the public API. */
export const FLAG_DEFINITIONS: FlagDefinition[] = [
  {
    name: 'maintenance_mode',
    type: 'boolean',
    default: false,
    description: 'When true, the public write endpoints (POST /orders, POST /orders/{id}/cancel) answer 503; reads keep working.',
  },
  {
    name: 'discount_percent',
    // Read as a rollout (see ops/feature-flags.ts): the share of customers
    // whose new orders get the sale discount.
    type: 'percentage',
    default: 0,
    description: 'Share of customers (by the order\'s "customer") whose new orders get the 10% sale discount; raising it only adds customers. Existing orders keep theirs.',
  },
  {
    name: 'max_page_size',
    // An integer with bounds: the port refuses 1.5 or 0 (400), so the
    // LIMIT of GET /orders never sees a value SQLite would reject.
    type: 'integer',
    default: 50,
    min: 1,
    max: 500,
    description: 'Largest page GET /orders returns (a whole number, 1..500); also the default page size.',
  },
];
