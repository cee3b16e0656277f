import { ProblemError } from '../../protocol/index.js';
import type { FlagDefinition, FlagValue } from '../options.js';

/**
 * Checks a value against a flag's type and bounds and returns it typed.
 * Exact text forms are accepted too ("true", "42"), since a generic client
 * sending `value=42` from a command line cannot know the flag's type.
 */
export function coerceFlagValue(def: FlagDefinition, value: unknown): FlagValue {
  const bad = (why: string): never => {
    throw new ProblemError('request.invalid', `flag "${def.name}" ${why}`, { field: 'value' });
  };
  switch (def.type) {
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (value === 'true') return true;
      if (value === 'false') return false;
      return bad('is boolean: the value must be true or false');
    case 'number':
    case 'percentage': {
      let n: number;
      if (typeof value === 'number') n = value;
      else if (typeof value === 'string' && /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(value.trim())) n = Number(value);
      else return bad(`is a ${def.type}: the value must be a number`);
      if (!Number.isFinite(n)) return bad('must be a finite number');
      const min = def.type === 'percentage' ? 0 : def.min;
      const max = def.type === 'percentage' ? 100 : def.max;
      if (min !== undefined && n < min) return bad(`must be at least ${min}`);
      if (max !== undefined && n > max) return bad(`must be at most ${max}`);
      return n;
    }
    case 'string':
      if (typeof value !== 'string') return bad('is a string: the value must be a string');
      if (value.length > 10_000) return bad('must be at most 10000 characters');
      if (def.enum && !def.enum.includes(value)) return bad(`must be one of ${def.enum.join(', ')}`);
      return value;
    default:
      return bad(`has an unknown type ${String((def as { type: unknown }).type)}`);
  }
}
