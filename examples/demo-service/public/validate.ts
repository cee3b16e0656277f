import { ProblemError } from '../../../src/protocol/index.js';

const invalid = (field: string, detail: string) => new ProblemError('request.invalid', detail, { field });

export interface NewOrderInput {
  item: string;
  quantity: number;
  unitPriceCents: number;
  /** Who orders: the targetingKey of the discount_percent rollout. */
  customer?: string;
}

/** Checks a POST /orders body: {item, quantity, unitPrice, customer?}, nothing else. */
export function parseNewOrder(body: unknown): NewOrderInput {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid('', 'body must be a JSON object {item, quantity, unitPrice}');
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) {
    if (!['item', 'quantity', 'unitPrice', 'customer'].includes(k)) throw invalid(k, `unknown field "${k}" (expected item, quantity, unitPrice, customer)`);
  }
  const { item, quantity, unitPrice, customer } = b;
  if (customer !== undefined && (typeof customer !== 'string' || !/^[A-Za-z0-9_.@-]{1,100}$/.test(customer))) {
    throw invalid('customer', 'customer must be 1 to 100 letters, digits or _ . @ -');
  }
  if (typeof item !== 'string' || item.trim().length === 0 || item.length > 200) throw invalid('item', 'item must be a non-empty string of at most 200 characters');
  if (typeof quantity !== 'number' || !Number.isInteger(quantity) || quantity < 1 || quantity > 10_000) throw invalid('quantity', 'quantity must be an integer from 1 to 10000');
  if (typeof unitPrice !== 'number' || !Number.isFinite(unitPrice) || unitPrice < 0 || unitPrice > 1_000_000) throw invalid('unitPrice', 'unitPrice must be a number from 0 to 1000000');
  const cents = Math.round(unitPrice * 100);
  if (Math.abs(cents - unitPrice * 100) > 1e-6) throw invalid('unitPrice', 'unitPrice must have at most 2 decimals');
  return { item: item.trim(), quantity, unitPriceCents: cents, ...(customer !== undefined ? { customer: customer as string } : {}) };
}

/** A non-negative integer query parameter, or undefined when absent. */
export function intQuery(q: URLSearchParams, name: string, min: number): number | undefined {
  const raw = q.get(name);
  if (raw === null) return undefined;
  if (!/^\d{1,15}$/.test(raw) || Number(raw) < min) throw invalid(name, `${name} must be an integer >= ${min}`);
  return Number(raw);
}
