import { FLAG_TYPES, ProblemError } from '../../protocol/index.js';
import { withArticle } from '../../protocol/wording.js';
import type { FlagDefinition, FlagValue } from '../options.js';

/** The inclusive bounds a numeric flag enforces (percentage: always 0..100). */
export function flagBounds(def: FlagDefinition): { min?: number; max?: number } {
  if (def.type === 'percentage') return { min: 0, max: 100 };
  if (def.type === 'number' || def.type === 'integer') {
    return { ...(def.min !== undefined ? { min: def.min } : {}), ...(def.max !== undefined ? { max: def.max } : {}) };
  }
  return {};
}

/**
 * What is wrong with a definition's shape (not its default), or undefined.
 * Bounds belong to integer/number flags, enum to string flags: a definition
 * that puts them elsewhere would promise a check that never runs.
 */
export function definitionProblem(def: FlagDefinition): string | undefined {
  if (!FLAG_TYPES.includes(def.type)) return `has an unknown type ${JSON.stringify(def.type)} (one of ${FLAG_TYPES.join(', ')})`;
  const numeric = def.type === 'number' || def.type === 'integer';
  for (const k of ['min', 'max'] as const) {
    const v = def[k];
    if (v === undefined) continue;
    if (!numeric) return `has ${k} but is ${withArticle(def.type)} flag (bounds are for integer and number flags)`;
    if (typeof v !== 'number' || !Number.isFinite(v)) return `has a ${k} that is not a finite number`;
    if (def.type === 'integer' && !Number.isSafeInteger(v)) return `is an integer flag, so its ${k} must be a whole number`;
  }
  if (def.min !== undefined && def.max !== undefined && def.min > def.max) return `has min ${def.min} above max ${def.max}`;
  if (def.enum !== undefined) {
    if (def.type !== 'string') return `has enum but is ${withArticle(def.type)} flag (enum is for string flags)`;
    if (!Array.isArray(def.enum) || def.enum.length === 0 || def.enum.some((e) => typeof e !== 'string')) return 'has an enum that is not a non-empty list of strings';
    if (new Set(def.enum).size !== def.enum.length) return 'has an enum that lists a value twice';
  }
  return undefined;
}

/**
 * Checks a value against a flag's type and bounds and returns it typed.
 * Exact text forms are accepted too ("true", "42"), since a generic client
 * sending `value=42` from a command line cannot know the flag's type. A
 * refusal is 400 request.invalid on field "value" whose message names the
 * type or the bound that was violated.
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
    case 'integer':
    case 'number':
    case 'percentage': {
      let n: number;
      if (typeof value === 'number') n = value;
      else if (typeof value === 'string' && /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(value.trim())) n = Number(value);
      else return bad(`is ${def.type === 'integer' ? 'an' : 'a'} ${def.type}: the value must be a number`);
      if (!Number.isFinite(n)) return bad('must be a finite number');
      const { min, max } = flagBounds(def);
      const range = min !== undefined && max !== undefined ? ` (${min}..${max})` : '';
      if (def.type === 'integer' && !Number.isSafeInteger(n)) return bad(`is an integer${range}: ${String(value)} is not a whole number`);
      if (min !== undefined && n < min) return bad(`must be at least ${min}${range}, got ${n}`);
      if (max !== undefined && n > max) return bad(`must be at most ${max}${range}, got ${n}`);
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
