/**
 * The names a command argument can take, read synchronously from local
 * files only (the config file, the completion cache): what commander's
 * "missing required argument" message lists as candidates.
 */
import { configPath } from '../config/paths.js';
import { readConfigText } from '../config/private-dir.js';
import { ADHOC_CONTEXT, KEYS_CACHE, readCompletionCache, type LiveKind } from './cache.js';
import { scanConfig } from './config-scan.js';
import type { CompletionKind } from './hints.js';

type Env = Record<string, string | undefined>;

function summary(env: Env): { current: string | undefined; contexts: string[] } {
  try {
    const text = readConfigText(configPath(env));
    return (text === undefined ? undefined : scanConfig(text)) ?? { current: undefined, contexts: [] };
  } catch {
    return { current: undefined, contexts: [] };
  }
}

/** Known values of `kind` for the context a command would use (`--context` first). */
export function cachedValues(env: Env, kind: CompletionKind, contextOnLine?: string): string[] {
  if (kind === 'contexts') return summary(env).contexts;
  if (kind === 'keys') return readCompletionCache(env, KEYS_CACHE)?.values.keys ?? [];
  if (!['flags', 'tasks', 'migrations', 'jobs', 'endpoints'].includes(kind)) return [];
  const name = contextOnLine ?? env.OPSCTL_CONTEXT ?? summary(env).current ?? ADHOC_CONTEXT;
  return readCompletionCache(env, name)?.values[kind as LiveKind] ?? [];
}
