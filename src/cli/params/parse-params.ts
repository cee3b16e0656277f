/**
 * `--param k=v` handling: the raw strings from the command line become typed
 * values by the endpoint's (or task's) params schema, so `--param dryRun=true`
 * sends a boolean and `--param limit=5` a number, exactly as the server
 * validates them. Mistakes are usage errors (exit 2) before anything is sent.
 */
import type { JsonSchema } from '../../protocol/catalog.js';
import { parseDecimal } from '../../protocol/decimal-number.js';
import { UsageError } from '../errors/usage-error.js';
import { secretSource } from './secret-params.js';

type SchemaType = 'object' | 'string' | 'number' | 'integer' | 'boolean' | 'array' | 'null';

/** commander collector for a repeatable `--param k=v` option. */
export function collectParam(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Splits `k=v` pairs (the value may itself contain `=`). */
export function splitParams(pairs: readonly string[]): Array<[string, string]> {
  return pairs.map((p) => {
    const i = p.indexOf('=');
    if (i <= 0) throw new UsageError(`--param expects NAME=VALUE, got "${p}"`);
    return [p.slice(0, i), p.slice(i + 1)];
  });
}

const TRUE = new Set(['true', 'on', 'yes', '1', 'y']);
const FALSE = new Set(['false', 'off', 'no', '0', 'n']);

/** Parses an operator's boolean spelling (true/false, on/off, yes/no, 1/0). */
export function parseBoolean(raw: string): boolean | undefined {
  const v = raw.trim().toLowerCase();
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  return undefined;
}

function typesOf(schema: JsonSchema | undefined): SchemaType[] {
  if (!schema || schema.type === undefined) return [];
  return Array.isArray(schema.type) ? schema.type : [schema.type];
}

function tryJson(raw: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(raw) };
  } catch {
    return { ok: false };
  }
}

function jsonType(v: unknown): SchemaType {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v as SchemaType;
}

/**
 * Coerces one raw value by its property schema. A union type tries the
 * non-string types first (so `true` in a boolean|string param is a boolean)
 * and falls back to the string as typed.
 */
export function coerceValue(name: string, raw: string, schema: JsonSchema | undefined, label = `--param ${name}`): unknown {
  const types = typesOf(schema);
  if (!types.length) {
    // No declared type: JSON when it parses as JSON, else the string.
    const j = tryJson(raw);
    return j.ok ? j.value : raw;
  }
  const errors: string[] = [];
  for (const t of types.filter((x) => x !== 'string')) {
    switch (t) {
      case 'boolean': {
        const b = parseBoolean(raw);
        if (b !== undefined) return b;
        errors.push('a boolean (true/false, on/off, yes/no, 1/0)');
        break;
      }
      case 'integer':
      case 'number': {
        // The port's own rule (decimal digits, no 0x10 or 1e3), around the spaces a shell may leave.
        const n = parseDecimal(raw.trim(), t);
        if (n !== undefined) return n;
        errors.push(t === 'integer' ? 'an integer' : 'a number');
        break;
      }
      case 'null':
        if (raw === 'null') return null;
        errors.push('null');
        break;
      case 'object':
      case 'array': {
        const j = tryJson(raw);
        if (j.ok && jsonType(j.value) === t) return j.value;
        errors.push(`a JSON ${t}`);
        break;
      }
    }
  }
  if (types.includes('string')) return raw;
  throw new UsageError(`${label}: expected ${errors.join(' or ')}, got "${raw}"`);
}

export interface ParseParamsOptions {
  /** Params the command fills in itself (e.g. a task's name): not offered, not required here. */
  omit?: readonly string[];
  /** What the params belong to, for messages ("task purge-cancelled-orders"). */
  subject: string;
}

/** The property names a schema declares, excluding omitted ones. */
export function knownParams(schema: JsonSchema, omit: readonly string[] = []): string[] {
  return Object.keys(schema.properties ?? {}).filter((k) => !omit.includes(k));
}

/**
 * Turns `--param` pairs into a typed params object for `schema`. Unknown
 * names are refused unless the schema allows additional properties; a
 * repeated name is refused rather than silently keeping one of them. A
 * secret param leaves a SecretSource (see secret-params.ts) that
 * resolveSecrets turns into its value.
 */
export function parseParams(pairs: readonly string[], schema: JsonSchema, opts: ParseParamsOptions): Record<string, unknown> {
  const omit = opts.omit ?? [];
  const props = schema.properties ?? {};
  const out: Record<string, unknown> = {};
  for (const [name, raw] of splitParams(pairs)) {
    if (omit.includes(name)) throw new UsageError(`--param ${name}: set it with the command's own argument, not --param`);
    if (Object.prototype.hasOwnProperty.call(out, name)) throw new UsageError(`--param ${name} given twice`);
    const prop = Object.prototype.hasOwnProperty.call(props, name) ? props[name] : undefined;
    if (!prop) {
      const extra = schema.additionalProperties;
      // An unlisted name is almost always a typo: refuse it unless the schema
      // explicitly allows extra properties (or declares none at all).
      if (extra === false || (extra === undefined && Object.keys(props).length > 0)) {
        const known = knownParams(schema, omit);
        throw new UsageError(`unknown param "${name}" for ${opts.subject}${known.length ? `; known: ${known.join(', ')}` : '; it takes no params'}`);
      }
      out[name] = coerceValue(name, raw, typeof extra === 'object' ? extra : undefined);
      continue;
    }
    // A secret's value never comes from argv: only where to read it from
    // (resolveSecrets reads it before the request is built).
    out[name] = prop.secret === true ? secretSource(name, raw) : coerceValue(name, raw, prop);
  }
  return out;
}

/** Names of required params missing from `params` (the server would refuse the call). */
export function missingRequired(params: Record<string, unknown>, schema: JsonSchema, omit: readonly string[] = []): string[] {
  return (schema.required ?? []).filter((r) => !omit.includes(r) && params[r] === undefined);
}

/**
 * Checks a command-line argument against its param's pattern in a standard
 * endpoint (job ids, flag and task names), so a typo is a usage error (exit 2)
 * rather than a 400 from the server.
 */
export function checkArgument(endpoint: { id: string; params: JsonSchema }, param: string, value: string): string {
  const pattern = endpoint.params.properties?.[param]?.pattern;
  if (typeof pattern === 'string' && !new RegExp(pattern).test(value)) {
    throw new UsageError(`invalid ${endpoint.params.properties?.[param]?.description ?? param} "${value}" (expected ${pattern})`);
  }
  return value;
}
