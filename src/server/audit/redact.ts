import type { JsonSchema } from '../../protocol/index.js';

export const REDACTED = '[redacted]';
/** Longer strings are cut in audit records: the log keeps who/what, not bulk data. */
export const MAX_AUDIT_STRING = 1024;
const MAX_DEPTH = 8;

function cap(value: unknown, depth: number): unknown {
  if (typeof value === 'string') {
    return value.length > MAX_AUDIT_STRING ? `${value.slice(0, MAX_AUDIT_STRING)}…[${value.length - MAX_AUDIT_STRING} more chars]` : value;
  }
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[nested too deep]';
  if (Array.isArray(value)) return value.slice(0, 100).map((v) => cap(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>).slice(0, 100)) out[cap(k, depth) as string] = cap(v, depth + 1);
  return out;
}

function strip(schema: JsonSchema | undefined, value: unknown): unknown {
  if (!schema) return value;
  if (schema.secret === true) return value === undefined ? undefined : REDACTED;
  if (Array.isArray(value)) return value.map((v) => strip(schema.items, v));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out[k] = strip(schema.properties?.[k] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined), v);
    }
    return out;
  }
  return value;
}

/**
 * Params as they go into an audit record: every property whose schema says
 * `secret: true` replaced by a marker (through nested objects and arrays),
 * long strings and huge collections cut.
 */
export function redact(schema: JsonSchema | undefined, value: unknown): unknown {
  return cap(strip(schema, value), 0);
}
