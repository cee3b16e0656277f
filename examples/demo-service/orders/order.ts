/** An order as the public API shows it (money in currency units, 2 decimals). */
export interface Order {
  id: number;
  item: string;
  quantity: number;
  unitPrice: number;
  discountPercent: number;
  total: number;
  status: 'open' | 'cancelled';
  createdAt: string;
  cancelledAt: string | null;
}

export interface OrderEvent {
  id: number;
  orderId: number;
  kind: string;
  at: string;
  detail: unknown;
}

/** Integer cents, so totals never pick up floating-point dust. */
export function totalCents(quantity: number, unitPriceCents: number, discountPercent: number): number {
  return Math.round((quantity * unitPriceCents * (100 - discountPercent)) / 100);
}
