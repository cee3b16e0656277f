/**
 * Live values for completion, read only from local files: context names and
 * the selected context's hosts from the config file, and flag/task/migration/job/endpoint ids from the
 * per-context cache that successful commands refresh. Never the network,
 * never the keychain, never a prompt.
 */
import { configPath } from '../config/paths.js';
import { readConfigText } from '../config/private-dir.js';
import { ADHOC_CONTEXT, KEYS_CACHE, readCompletionCache, type LiveKind } from './cache.js';
import type { Candidate, LiveValues } from './candidates.js';
import { scanConfig, scanContextHosts, type ConfigSummary } from './config-scan.js';
import type { WalkState } from './walk.js';

type Env = Record<string, string | undefined>;

/** The context's `host` list from the config file (scanned, or parsed when the scanner gives up). */
async function contextHosts(env: Env, context: string): Promise<string[]> {
  let text: string | undefined;
  try {
    text = readConfigText(configPath(env));
  } catch {
    return [];
  }
  if (text === undefined) return [];
  const quick = scanContextHosts(text, context);
  if (quick) return quick;
  try {
    const { readConfig } = await import('../config/config-file.js');
    return (await readConfig(configPath(env))).contexts[context]?.host ?? [];
  } catch {
    return [];
  }
}

async function readSummary(env: Env): Promise<ConfigSummary> {
  const file = configPath(env);
  let text: string | undefined;
  try {
    text = readConfigText(file);
  } catch {
    return { current: undefined, contexts: [] };
  }
  if (text === undefined) return { current: undefined, contexts: [] };
  const quick = scanConfig(text);
  if (quick) return quick;
  // Hand-written YAML in a style the scanner does not follow: pay for the parser.
  try {
    const { readConfig } = await import('../config/config-file.js');
    const cfg = await readConfig(file);
    return { current: cfg['current-context'], contexts: Object.keys(cfg.contexts) };
  } catch {
    return { current: undefined, contexts: [] };
  }
}

/** Live values from the config file and the completion cache of the selected context. */
export function fileLiveValues(env: Env): LiveValues {
  let summary: Promise<ConfigSummary> | undefined;
  const config = () => (summary ??= readSummary(env));

  const cached = (context: string, kind: LiveKind): string[] => readCompletionCache(env, context)?.values[kind] ?? [];
  // The same context the command would run against: --context on the line,
  // then OPSCTL_CONTEXT, then the config's current-context.
  const contextOf = async (state: WalkState): Promise<string> =>
    state.values.get('--context') ?? env.OPSCTL_CONTEXT ?? (await config()).current ?? ADHOC_CONTEXT;

  return {
    async values(kind, state: WalkState, prefix: string): Promise<Candidate[]> {
      switch (kind) {
        case 'hosts': {
          // `--host a,b,<TAB>`: the context's other hosts after what is typed.
          const context = await contextOf(state);
          const head = prefix.slice(0, prefix.lastIndexOf(',') + 1);
          const typed = new Set(head.split(',').filter(Boolean));
          return (await contextHosts(env, context)).filter((h) => !typed.has(h)).map((h) => ({ value: head + h, description: `host of context ${context}` }));
        }
        case 'contexts': {
          const cfg = await config();
          return cfg.contexts.map((value) => (value === cfg.current ? { value, description: 'current context' } : { value }));
        }
        case 'keys':
          return cached(KEYS_CACHE, 'keys').map((value) => ({ value, description: 'keychain key' }));
        case 'identity':
          return [
            { value: 'agent', description: 'the key held by ssh-agent (SSH_AUTH_SOCK)' },
            ...cached(KEYS_CACHE, 'keys').map((n) => ({ value: `keychain:${n}`, description: 'key in the OS keychain' })),
          ];
        case 'flag-values': {
          // `flags set NAME <TAB>`: what NAME accepts, as cached by flags list/get.
          const flag = state.positionals[0];
          if (!flag) return [];
          const prefix = `${flag}=`;
          return cached(await contextOf(state), 'flag-values').filter((e) => e.startsWith(prefix)).map((e) => ({ value: e.slice(prefix.length) }));
        }
        case 'flags':
        case 'tasks':
        case 'migrations':
        case 'jobs':
        case 'approvals':
        case 'endpoints': {
          return cached(await contextOf(state), kind).map((value) => ({ value }));
        }
        default:
          return [];
      }
    },
  };
}
