import type { JsonSchema } from '../../protocol/index.js';

export const REDACTED = '[redacted]';

/**
 * A copy of `value` with every property whose schema says `secret: true`
 * replaced by a marker, through nested objects and arrays. Properties the
 * schema does not describe are kept (validation has already rejected them
 * where additionalProperties is false).
 */
export function redact(schema: JsonSchema | undefined, value: unknown): unknown {
  if (!schema) return value;
  if (schema.secret === true) return value === undefined ? undefined : REDACTED;
  if (Array.isArray(value)) return value.map((v) => redact(schema.items, v));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out[k] = redact(schema.properties?.[k] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined), v);
    }
    return out;
  }
  return value;
}
