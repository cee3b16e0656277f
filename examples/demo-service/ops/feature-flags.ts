import type { Client } from '@openfeature/server-sdk';

/** What a customer in the `discount_percent` rollout gets off a new order. */
export const SALE_DISCOUNT_PERCENT = 10;

/**
 * The flags as the public API reads them: through the OpenFeature SDK (the
 * provider is opsctl/server/openfeature over the internal port), the way a
 * service reads flags from any other backend.
 */
export interface DemoFlags {
  maintenance(): Promise<boolean>;
  /** A whole number ≥ 1, whatever the flag says. */
  maxPageSize(): Promise<number>;
  /** The discount (percent) for a new order by `customer`: SALE_DISCOUNT_PERCENT when the rollout includes them, else 0. */
  discountFor(customer: string | undefined): Promise<number>;
}

const DEFAULT_PAGE_SIZE = 50;

export function demoFlags(client: Client): DemoFlags {
  return {
    maintenance: () => client.getBooleanValue('maintenance_mode', false),
    async maxPageSize() {
      const n = await client.getNumberValue('max_page_size', DEFAULT_PAGE_SIZE);
      // The port refuses anything else for this integer flag; checked again
      // because a LIMIT of 1.5 would be a 500, not a smaller page.
      return Number.isSafeInteger(n) && n >= 1 ? n : DEFAULT_PAGE_SIZE;
    },
    async discountFor(customer) {
      // A percentage flag read as a boolean is a per-customer rollout: the
      // same customer stays in as the percentage grows. Without a customer
      // (no targetingKey) the SDK answers the default: no discount.
      if (!customer) return 0;
      return (await client.getBooleanValue('discount_percent', false, { targetingKey: customer })) ? SALE_DISCOUNT_PERCENT : 0;
    },
  };
}
