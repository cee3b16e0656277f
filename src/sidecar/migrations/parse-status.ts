/**
 * A migration tool's status output as the ordered migration list the
 * migrations plugin needs: by a regular expression over its lines (named
 * groups `name`, and `applied` or `current`), or from JSON (where the list
 * is, which fields say name and applied).
 */
import type { StatusParse } from '../config/types.js';

export interface MigrationState {
  name: string;
  applied: boolean;
}

export interface StatusParser {
  parse(stdout: string): MigrationState[];
}

/** Compiles a parse spec; throws an Error saying what is wrong. */
export function statusParser(spec: StatusParse): StatusParser {
  if (spec.regex !== undefined && spec.json !== undefined) throw new Error('give either regex or json, not both');
  if (spec.regex !== undefined) {
    const re = new RegExp(spec.regex);
    const groups = [...spec.regex.matchAll(/\(\?<([A-Za-z_][A-Za-z0-9_]*)>/g)].map((m) => m[1]);
    if (!groups.includes('name')) throw new Error('the regex needs a named group (?<name>…)');
    if (!groups.includes('applied') && !groups.includes('current')) throw new Error('the regex needs a named group (?<applied>…) or (?<current>…) to tell applied migrations');
    const newestFirst = spec.order === 'newest-first';
    return {
      parse(stdout) {
        const rows: Array<{ name: string; applied: boolean; current: boolean }> = [];
        for (const line of stdout.split('\n')) {
          const m = re.exec(line.replace(/\r$/, ''));
          if (!m?.groups?.name) continue;
          rows.push({ name: m.groups.name, applied: Boolean(m.groups.applied), current: Boolean(m.groups.current) });
        }
        if (newestFirst) rows.reverse();
        // `current` marks the newest applied one: it and everything before it are applied.
        const cur = rows.map((r) => r.current).lastIndexOf(true);
        return rows.map((r, i) => ({ name: r.name, applied: r.applied || (cur >= 0 && i <= cur) }));
      },
    };
  }
  if (spec.json !== undefined) {
    const { items = '$', name, applied } = spec.json;
    const path = items.split('.').slice(1);
    return {
      parse(stdout) {
        let v: unknown = JSON.parse(stdout);
        for (const k of path) v = (v as Record<string, unknown> | null)?.[k];
        if (!Array.isArray(v)) throw new Error(`${items} in the status output is not a list`);
        const list = spec.order === 'newest-first' ? [...v].reverse() : v;
        return list.map((x, i) => {
          const n = (x as Record<string, unknown> | null)?.[name];
          if (typeof n !== 'string' && typeof n !== 'number') throw new Error(`item ${i} of ${items} has no ${name}`);
          return { name: String(n), applied: Boolean((x as Record<string, unknown>)[applied]) };
        });
      },
    };
  }
  throw new Error('give regex or json');
}
