import { Ajv, type ErrorObject } from 'ajv';
import { CONFIG_SCHEMA } from './schema.js';
import type { ConfigPath, ConfigProblem } from './yaml-source.js';

/** A schema problem and whether it is about a key (placed on the key rather than the value). */
export interface SchemaProblem extends Omit<ConfigProblem, 'line' | 'col'> {
  /** Where to place it in the file when that differs from `path` (a missing key: its parent). */
  placeAt?: ConfigPath;
  key?: boolean;
}

let compiled: ReturnType<Ajv['compile']> | undefined;

function validator() {
  if (!compiled) {
    // allErrors: every problem at once; verbose: the failing schema node,
    // whose x-message (an annotation of ours) words the message.
    const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, allowUnionTypes: true });
    ajv.addVocabulary(['x-message']);
    compiled = ajv.compile(CONFIG_SCHEMA);
  }
  return compiled;
}

function pathOf(instancePath: string): Array<string | number> {
  if (!instancePath) return [];
  return instancePath.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~')).map((s) => (/^(0|[1-9][0-9]*)$/.test(s) ? Number(s) : s));
}

/** Closest known key to a typo, for "did you mean". */
function closest(word: string, candidates: string[]): string | undefined {
  const dist = (a: string, b: string): number => {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0]![j] = j;
    for (let i = 1; i <= a.length; i++) {
      for (let j = 1; j <= b.length; j++) {
        d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
      }
    }
    return d[a.length]![b.length]!;
  };
  let best: { c: string; d: number } | undefined;
  for (const c of candidates) {
    const d = dist(word, c);
    if (d <= Math.max(1, Math.floor(c.length / 3)) && (!best || d < best.d)) best = { c, d };
  }
  return best?.c;
}

const TYPE_WORDS: Record<string, string> = { string: 'text', integer: 'a whole number', number: 'a number', boolean: 'true or false', object: 'a mapping (key: value)', array: 'a list' };

function describe(err: ErrorObject): SchemaProblem | undefined {
  const path = pathOf(err.instancePath);
  const schema = (err.parentSchema ?? {}) as Record<string, unknown>;
  const custom = typeof schema['x-message'] === 'string' ? schema['x-message'] : undefined;
  const p = err.params as Record<string, unknown>;
  switch (err.keyword) {
    case 'required':
      return { path: [...path, String(p.missingProperty)], placeAt: path, message: `"${String(p.missingProperty)}" is required here`, severity: 'error' };
    case 'additionalProperties': {
      const extra = String(p.additionalProperty);
      const known = Object.keys((schema.properties as Record<string, unknown> | undefined) ?? {});
      const guess = closest(extra, known);
      return { path: [...path, extra], key: true, message: `unknown key "${extra}"${guess ? ` (did you mean "${guess}"?)` : known.length ? ` (known keys: ${known.join(', ')})` : ''}`, severity: 'error' };
    }
    case 'type': {
      const types = Array.isArray(p.type) ? (p.type as string[]) : String(p.type).split(',');
      return { path, message: custom ?? `must be ${types.map((t) => TYPE_WORDS[t] ?? t).join(' or ')}`, severity: 'error' };
    }
    case 'enum':
      return { path, message: `must be one of: ${(p.allowedValues as unknown[]).map((v) => String(v)).join(', ')}`, severity: 'error' };
    case 'const':
      return { path, message: `must be ${JSON.stringify(p.allowedValue)}`, severity: 'error' };
    case 'pattern':
      return { path, message: custom ?? `must match the pattern ${String(p.pattern)}`, severity: 'error' };
    case 'anyOf':
    case 'oneOf':
    case 'minProperties':
    case 'maxProperties':
      return { path, message: custom ?? `is not valid here (${err.message ?? err.keyword})`, severity: 'error' };
    case 'propertyNames':
      return undefined; // the pattern error on the name itself says it
    default:
      return { path, message: err.message ?? `is invalid (${err.keyword})`, severity: 'error' };
  }
}

/**
 * Every way the value breaks the schema, one problem per place and cause.
 * Errors inside the branches of an anyOf are folded into the anyOf's own
 * message (they would otherwise say "must be number" and "must be string"
 * for one duration).
 */
export function validateAgainstSchema(value: unknown): SchemaProblem[] {
  const validate = validator();
  if (validate(value)) return [];
  const errors = validate.errors ?? [];
  const out: SchemaProblem[] = [];
  const seen = new Set<string>();
  for (const err of errors) {
    if (/\/(anyOf|oneOf)\/\d+\//.test(err.schemaPath)) continue;
    // A property name failing propertyNames is reported as its own pattern error with the key as the path.
    if (err.keyword === 'pattern' && err.propertyName !== undefined) {
      const path = [...pathOf(err.instancePath), err.propertyName];
      const key = `${path.join('/')}|name`;
      if (!seen.has(key)) {
        seen.add(key);
        out.push({ path, key: true, message: `"${err.propertyName}" is not a valid name here (${String((err.params as Record<string, unknown>).pattern)})`, severity: 'error' });
      }
      continue;
    }
    const problem = describe(err);
    if (!problem) continue;
    const key = `${problem.path.join('/')}|${problem.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(problem);
  }
  return out;
}
