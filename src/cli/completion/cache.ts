/**
 * Per-context cache of live values for tab completion (flag names, task
 * names, migration ids, job ids, endpoint ids). Every successful command that
 * sees such values refreshes it; completion only ever reads it, so pressing
 * TAB never opens a tunnel.
 */
import path from 'node:path';
import { privateCacheDir } from '../config/private-dir.js';
import { readPrivateFile, writePrivateFile } from '../config/private-file.js';
import type { CompletionKind } from './hints.js';

/**
 * `flag-values` entries are `NAME=VALUE` (a boolean's true/false, a string
 * flag's enum), so `flags set NAME <TAB>` can offer what the flag accepts.
 */
export type LiveKind = Extract<CompletionKind, 'flags' | 'flag-values' | 'tasks' | 'migrations' | 'jobs' | 'endpoints' | 'approvals' | 'keys'>;

export interface CacheFile {
  updatedAt: string;
  values: Partial<Record<LiveKind, string[]>>;
}

function fileFor(env: Record<string, string | undefined>, context: string): string {
  const safe = context.replace(/[^A-Za-z0-9_.-]/g, '_');
  // The checked cache dir (README, "Local files"); throws when there is none.
  return path.join(privateCacheDir(env), `${safe}.json`);
}

/** Name of the cache a command without a context (flags only) writes to. */
export const ADHOC_CONTEXT = '_adhoc';

/**
 * Keychain key names are not per context: the keys commands record them
 * here (kind 'keys'), so completing `--identity keychain:` or `keys show`
 * never has to open the keychain.
 */
export const KEYS_CACHE = '_keys';

export function readCompletionCache(env: Record<string, string | undefined>, context: string): CacheFile | undefined {
  try {
    const text = readPrivateFile(fileFor(env, context));
    return text === undefined ? undefined : (JSON.parse(text) as CacheFile);
  } catch {
    return undefined;
  }
}

/** Records values for a kind; best effort (a cache write never fails a command). */
export function recordCompletions(env: Record<string, string | undefined>, context: string | undefined, kind: LiveKind, values: string[]): void {
  try {
    const ctx = context ?? ADHOC_CONTEXT;
    const file = fileFor(env, ctx);
    const current = readCompletionCache(env, ctx) ?? { updatedAt: '', values: {} };
    current.values[kind] = [...new Set(values)].slice(0, 500);
    current.updatedAt = new Date().toISOString();
    writePrivateFile(file, JSON.stringify(current));
  } catch {
    /* completion cache is a convenience */
  }
}
