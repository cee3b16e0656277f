/** The flag shapes of protocol v1 and how an operator's text becomes a typed value. */
import type { FlagView } from '../../../protocol/index.js';
import type { Factory } from '../../factory.js';
import { UsageError } from '../../errors/usage-error.js';
import { parseBoolean } from '../../params/parse-params.js';
import { remember } from '../../command.js';
import { quoted, withArticle } from '../../../protocol/wording.js';

export type { FlagView };

/** What the CLI reads of a flag; a newer server may send a type this CLI does not know. */
export type FlagShape = Pick<FlagView, 'name'> & { type: string; min?: unknown; max?: unknown; enum?: unknown };

/**
 * VALUE typed by the flag's type. Only the text is interpreted here; the
 * server checks whole numbers, bounds and enums and answers with a message
 * naming the bound, so the CLI never disagrees with the service about them.
 * (A percentage's 0-100 is fixed by the protocol, so it is checked here too.)
 */
export function coerceFlagValue(flag: FlagShape, raw: string): boolean | number | string {
  switch (flag.type) {
    case 'boolean': {
      const b = parseBoolean(raw);
      if (b === undefined) throw new UsageError(`flag ${quoted(flag.name)} is a boolean: use true/false, on/off, yes/no or 1/0 (got "${raw}")`);
      return b;
    }
    case 'integer':
    case 'number':
    case 'percentage': {
      const s = flag.type === 'percentage' ? raw.trim().replace(/%$/, '') : raw.trim();
      const n = s === '' ? NaN : Number(s);
      if (Number.isNaN(n)) throw new UsageError(`flag ${quoted(flag.name)} is ${withArticle(flag.type)}${allowedSuffix(flag)}: expected a number, got "${raw}"`);
      if (!Number.isFinite(n)) throw new UsageError(`flag ${quoted(flag.name)} is ${withArticle(flag.type)}${allowedSuffix(flag)}: "${raw}" is too large to be a number`);
      if (flag.type === 'percentage' && (n < 0 || n > 100)) throw new UsageError(`flag ${quoted(flag.name)} is a percentage: expected 0-100, got "${raw}"`);
      return n;
    }
    default:
      return raw;
  }
}

/** What a flag accepts, for tables: `1..500`, `≥ 0`, `normal|readonly`, `true|false`; '' when anything of its type goes. */
export function allowedText(flag: FlagShape): string {
  if (flag.type === 'boolean') return 'true|false';
  if (Array.isArray(flag.enum)) return flag.enum.map(String).join('|');
  const min = typeof flag.min === 'number' ? flag.min : undefined;
  const max = typeof flag.max === 'number' ? flag.max : undefined;
  if (min !== undefined && max !== undefined) return `${min}..${max}`;
  if (min !== undefined) return `≥ ${min}`;
  if (max !== undefined) return `≤ ${max}`;
  return '';
}

function allowedSuffix(flag: FlagShape): string {
  const a = allowedText(flag);
  return a ? ` (${a})` : '';
}

/**
 * Caches the flag names, and what each boolean or enum flag accepts, for
 * TAB completion (`flags get <TAB>`, `flags set NAME <TAB>`). Values that
 * would not survive a shell word (blanks, control characters) are left out.
 */
export async function rememberFlags(f: Factory, flags: FlagView[]): Promise<void> {
  const values: string[] = [];
  for (const flag of flags) {
    const accepted = flag.type === 'boolean' ? ['true', 'false'] : Array.isArray(flag.enum) ? flag.enum : [];
    // eslint-disable-next-line no-control-regex -- control characters are exactly what must not reach a shell
    for (const v of accepted) if (typeof v === 'string' && v !== '' && !/[\s\u0000-\u001f\u007f]/.test(v)) values.push(`${flag.name}=${v}`);
  }
  await remember(f, 'flags', flags.map((x) => x.name));
  await remember(f, 'flag-values', values);
}

export function showValue(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}
