import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { ProblemError, pathParamNames, type HttpMethod, type JsonSchema } from '../../protocol/index.js';
import { parseDecimal } from '../../protocol/decimal-number.js';

// Two validators: query strings only carry text, so GET/DELETE params are
// coerced ("5" → 5); JSON bodies are typed already and are never coerced.
const strictAjv = new Ajv({ strict: false, allErrors: false, useDefaults: true, coerceTypes: false });
const coercingAjv = new Ajv({ strict: false, allErrors: false, useDefaults: true, coerceTypes: true });

export function usesQuery(method: HttpMethod): boolean {
  return method === 'GET' || method === 'DELETE';
}

/** Compiles a params schema; throws on an invalid schema (at registration time). */
export function compileParams(schema: JsonSchema, method: HttpMethod): ValidateFunction {
  return (usesQuery(method) ? coercingAjv : strictAjv).compile(schema as object);
}

function fieldOf(err: ErrorObject, prefix: string): string {
  const base = err.instancePath.replace(/^\//, '').split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~')).filter(Boolean);
  const p = err.params as Record<string, unknown>;
  if (err.keyword === 'required' && typeof p.missingProperty === 'string') base.push(p.missingProperty);
  if (err.keyword === 'additionalProperties' && typeof p.additionalProperty === 'string') base.push(p.additionalProperty);
  const field = base.join('.');
  return prefix ? (field ? `${prefix}.${field}` : prefix) : field;
}

function describe(err: ErrorObject, field: string): string {
  const p = err.params as Record<string, unknown>;
  const name = field || 'params';
  switch (err.keyword) {
    case 'required': return `"${name}" is required`;
    case 'additionalProperties': return `"${name}" is not a known parameter`;
    case 'enum': return `"${name}" must be one of ${JSON.stringify(p.allowedValues)}`;
    case 'type': return `"${name}" must be of type ${String(p.type)}`;
    default: return `"${name}" ${err.message ?? 'is invalid'}`;
  }
}

/** Runs a compiled validator; on failure throws 400 request.invalid naming the field. */
export function validateOrThrow(validate: ValidateFunction, params: unknown, prefix = ''): void {
  if (validate(params)) return;
  const err = validate.errors?.[0];
  if (!err) throw new ProblemError('request.invalid', 'params are invalid');
  const field = fieldOf(err, prefix);
  throw new ProblemError('request.invalid', describe(err, field), { field: field || undefined });
}

/**
 * Keys that reach an object's prototype machinery when a handler copies
 * params with Object.assign or a bracket write (`{"__proto__": {...}}` would
 * set the prototype instead of a property). No endpoint has such a param, so
 * they are refused wherever they occur, at any depth (docs/security.md).
 */
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

function refusePrototypeKeys(value: unknown, where: string, depth = 0): void {
  if (value === null || typeof value !== 'object') return;
  if (depth > 64) throw new ProblemError('request.invalid', `the ${where} is nested too deeply`);
  for (const key of Object.keys(value)) {
    if (PROTOTYPE_KEYS.has(key)) throw new ProblemError('request.invalid', `"${key}" is not allowed as a key in the ${where}`, { field: key });
    refusePrototypeKeys((value as Record<string, unknown>)[key], where, depth + 1);
  }
}

/**
 * A number-typed param that arrives as text (a query value, a path segment)
 * is read strictly: decimal digits only, so `0x10`, ` 5`, `+5`, `1e3`, `05`,
 * `-0`, `Infinity` and an empty value are 400 `request.invalid`, and a whole
 * number must be within ±(2^53-1), where every integer is exact
 * (src/server/README.md, "Params"). ajv's own coercion (`Number(text)`) would
 * take all of them. Text for a schema that also allows a string stays text.
 */
function numberFromText(raw: string, schema: JsonSchema | undefined, where: string, field: string): unknown {
  const t = schema?.type;
  const types = Array.isArray(t) ? t : t ? [t] : [];
  const integer = types.includes('integer') && !types.includes('number');
  if (!integer && !types.includes('number')) return raw;
  const n = parseDecimal(raw, integer ? 'integer' : 'number');
  if (n !== undefined) return n;
  if (types.includes('string')) return raw;
  const shown = JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}…` : raw);
  throw new ProblemError(
    'request.invalid',
    integer
      ? `${where} "${field}" must be a whole number in decimal digits (like 10), got ${shown}`
      : `${where} "${field}" must be a number in decimal digits (like 10 or 2.5), got ${shown}`,
    { field },
  );
}

/**
 * Collects params the way buildRequest() lays them out: path params, plus
 * the query (GET/DELETE) or the JSON body object (others). Query values of
 * object/array params are JSON; the rest is text for ajv to coerce.
 */
export function collectParams(
  method: HttpMethod,
  template: string,
  pathParams: Record<string, string>,
  query: string,
  body: unknown,
  schema: JsonSchema,
): Record<string, unknown> {
  // Own properties only, written with defineProperty semantics below: no
  // key can reach Object.prototype even if the checks above it change.
  const params: Record<string, unknown> = {};
  const put = (key: string, value: unknown) => {
    Object.defineProperty(params, key, { value, enumerable: true, writable: true, configurable: true });
  };
  if (usesQuery(method)) {
    const q = new URLSearchParams(query);
    for (const key of new Set(q.keys())) {
      if (PROTOTYPE_KEYS.has(key)) throw new ProblemError('request.invalid', `"${key}" is not allowed as a query parameter`, { field: key });
      const values = q.getAll(key);
      if (values.length > 1) throw new ProblemError('request.invalid', `query parameter "${key}" is given more than once`, { field: key });
      const raw = values[0]!;
      const t = schema.properties?.[key]?.type;
      const types = Array.isArray(t) ? t : t ? [t] : [];
      if ((types.includes('object') || types.includes('array')) && /^[[{]/.test(raw)) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(raw) as unknown;
        } catch {
          throw new ProblemError('request.invalid', `query parameter "${key}" is not valid JSON`, { field: key });
        }
        refusePrototypeKeys(parsed, `query parameter "${key}"`);
        put(key, parsed);
        continue;
      }
      put(key, numberFromText(raw, schema.properties?.[key], 'query parameter', key));
    }
  } else if (body !== undefined) {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new ProblemError('request.invalid', 'the JSON body must be an object of params');
    }
    refusePrototypeKeys(body, 'JSON body');
    for (const [key, value] of Object.entries(body)) put(key, value);
  }
  for (const name of pathParamNames(template)) {
    const v = numberFromText(pathParams[name]!, schema.properties?.[name], 'path parameter', name);
    if (Object.prototype.hasOwnProperty.call(params, name) && params[name] !== v) {
      throw new ProblemError('request.invalid', `"${name}" is given in the path and differs in the ${usesQuery(method) ? 'query' : 'body'}`, { field: name });
    }
    put(name, v);
  }
  return params;
}
