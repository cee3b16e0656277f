import type { JsonSchema } from '../../protocol/index.js';
import { REDACTED, redact } from '../audit/redact.js';

/**
 * Params as they go into an audit record, also for a request refused before
 * its params were validated: a property the schema marks `secret: true` is
 * redacted, and so is every property the schema does not describe (an extra
 * key, a typo, a task's params when the task is unknown), since nothing says
 * it is not a secret. Long strings and huge collections are cut as by
 * redact(). docs/security.md, "Secrets in the audit log".
 */
export function auditParams(schema: JsonSchema | undefined, value: unknown): unknown {
  return redact(undefined, strip(schema, value, 0));
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** False when the schema names types and the value is none of them (then it is not what the schema describes). */
function typeMatches(schema: JsonSchema, value: unknown): boolean {
  const t = (schema as { type?: string | string[] }).type;
  if (t === undefined) return true;
  const types = Array.isArray(t) ? t : [t];
  const actual = typeOf(value);
  if (types.includes(actual)) return true;
  return actual === 'number' && types.includes('integer');
}

function strip(schema: JsonSchema | undefined, value: unknown, depth: number): unknown {
  if (value === undefined) return undefined;
  if (!schema || schema.secret === true || depth > 16 || !typeMatches(schema, value)) return REDACTED;
  if (Array.isArray(value)) return schema.items ? value.map((v) => strip(schema.items, v, depth + 1)) : REDACTED;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    const extra = typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined;
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const own = schema.properties && Object.prototype.hasOwnProperty.call(schema.properties, k) ? schema.properties[k] : undefined;
      out[k] = strip(own ?? extra, v, depth + 1);
    }
    return out;
  }
  return value;
}
