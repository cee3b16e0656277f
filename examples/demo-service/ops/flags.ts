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
    type: 'percentage',
    default: 0,
    description: "Discount applied to the total of orders created from now on; existing orders keep theirs.",
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
