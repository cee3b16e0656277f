/** The flag shapes of protocol v1 and how an operator's text becomes a typed value. */
import { UsageError } from '../../errors/usage-error.js';
import { parseBoolean } from '../../params/parse-params.js';

export type FlagType = 'boolean' | 'number' | 'string' | 'percentage';

export interface FlagView {
  name: string;
  type: FlagType | string;
  value: boolean | number | string;
  description?: string;
  updatedBy?: string | null;
  updatedAt?: string | null;
  [k: string]: unknown;
}

/** VALUE typed by the flag's type; the server still checks ranges and enums. */
export function coerceFlagValue(flag: FlagView, raw: string): boolean | number | string {
  switch (flag.type) {
    case 'boolean': {
      const b = parseBoolean(raw);
      if (b === undefined) throw new UsageError(`flag ${flag.name} is a boolean: use true/false, on/off, yes/no or 1/0 (got "${raw}")`);
      return b;
    }
    case 'number':
    case 'percentage': {
      const s = flag.type === 'percentage' ? raw.trim().replace(/%$/, '') : raw.trim();
      const n = s === '' ? NaN : Number(s);
      if (!Number.isFinite(n)) throw new UsageError(`flag ${flag.name} is a ${flag.type}: expected a number, got "${raw}"`);
      if (flag.type === 'percentage' && (n < 0 || n > 100)) throw new UsageError(`flag ${flag.name} is a percentage: expected 0-100, got "${raw}"`);
      return n;
    }
    default:
      return raw;
  }
}

export function showValue(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}
