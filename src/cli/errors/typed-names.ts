/**
 * Which names the operator typed on the command line (the arguments and
 * options marked with a completion kind), and the live list each one is
 * checked against. The error handler uses them to call a server `not_found`
 * for such a name a usage error (exit 2) and to suggest the right name.
 */
import type { Command } from 'commander';
import type { Factory } from '../factory.js';
import { completionKindOf, type CompletionKind } from '../completion/hints.js';
import { cachedValues } from '../completion/cached-values.js';

export interface TypedName {
  kind: CompletionKind;
  value: string;
}

const LIVE: readonly CompletionKind[] = ['flags', 'tasks', 'migrations', 'jobs', 'endpoints', 'contexts'];

/** The typed names of the command that ran (its arguments and options with a live completion kind). */
export function typedNames(cmd: Command | undefined): TypedName[] {
  if (!cmd) return [];
  const out: TypedName[] = [];
  cmd.registeredArguments.forEach((arg, i) => {
    const kind = completionKindOf(arg);
    const value = cmd.processedArgs[i] as unknown;
    if (kind && LIVE.includes(kind) && typeof value === 'string') out.push({ kind, value });
  });
  const opts = cmd.opts() as Record<string, unknown>;
  for (const o of cmd.options) {
    const kind = completionKindOf(o);
    const value = opts[o.attributeName()];
    if (kind && LIVE.includes(kind) && typeof value === 'string') out.push({ kind, value });
  }
  return out;
}

function names(v: unknown, key: string): string[] {
  const list = Array.isArray(v) ? v : [];
  return list.map((x) => (typeof x === 'string' ? x : typeof x === 'object' && x !== null ? (x as Record<string, unknown>)[key] : undefined)).filter((x): x is string => typeof x === 'string');
}

/**
 * The current names of `kind`: asked from the server over the open
 * connection (a short read), falling back to the completion cache. `live`
 * says which: an empty live list means there are none, an empty cache only
 * that nothing is known.
 */
export async function liveNames(f: Factory, kind: CompletionKind): Promise<{ names: string[]; live: boolean }> {
  const cached = () => {
    let onLine: string | undefined;
    try {
      onLine = f.globals().context;
    } catch {
      onLine = undefined;
    }
    return { names: cachedValues(f.io.env, kind, onLine), live: false };
  };
  if (kind === 'contexts') return cached();
  const live = (names: string[]) => ({ names, live: true });
  try {
    const client = await f.client();
    const signal = AbortSignal.timeout(3000);
    switch (kind) {
      case 'flags':
        return live(names(((await client.call('flags.list', {}, { signal })) as { flags?: unknown }).flags, 'name'));
      case 'tasks':
        return live(names(((await client.call('tasks.list', {}, { signal })) as { tasks?: unknown }).tasks, 'name'));
      case 'jobs': {
        const r = (await client.call('jobs.list', {}, { signal })) as unknown;
        return live(names(Array.isArray(r) ? r : (r as { jobs?: unknown }).jobs, 'id'));
      }
      case 'migrations': {
        const r = (await client.call('migrations.status', {}, { signal })) as { applied?: unknown; pending?: unknown };
        return live([...names(r.applied, 'name'), ...names(r.pending, 'name')]);
      }
      case 'endpoints':
        return live(names(((await client.call('catalog', {}, { signal })) as { endpoints?: unknown }).endpoints, 'id'));
      default:
        return cached();
    }
  } catch {
    return cached();
  }
}

/** Plural label for a candidate list ("flags", "job ids"). */
export function kindLabel(kind: CompletionKind): string {
  return kind === 'jobs' ? 'job ids' : kind === 'migrations' ? 'migrations' : kind === 'endpoints' ? 'endpoint ids' : kind;
}
