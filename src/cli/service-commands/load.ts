/**
 * Which service commands a command line gets: those of the catalog cached
 * for the context that command line would use (`--context` on it, then
 * OPSCTL_CONTEXT, then the config's current-context; without any, the
 * cache of commands run with connection flags only). Read from local files
 * only — a quick scan of the config, one JSON file — never the network.
 */
import { readConfigText } from '../config/private-dir.js';
import { configPath } from '../config/paths.js';
import { scanConfig } from '../completion/config-scan.js';
import { readCachedCatalog } from './catalog-cache.js';
import { serviceCommandSpecs, type ServiceCommandSet } from './command-specs.js';

type Env = Record<string, string | undefined>;

/** What the root command's options look like, to find the words that are not option values. */
export interface RootOptionShape {
  /** Long and short flags that take a value (`--context`, `-o`). */
  takesValue: ReadonlySet<string>;
}

/** The value of `--context` on the line (before `--`), if any. */
export function contextOnLine(argv: readonly string[]): string | undefined {
  let found: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i]!;
    if (w === '--') break;
    if (w === '--context' && i + 1 < argv.length) found = argv[++i];
    else if (w.startsWith('--context=')) found = w.slice('--context='.length);
  }
  return found;
}

/** The first word of the line that is neither an option nor an option's value: the command. */
export function firstCommandWord(argv: readonly string[], shape: RootOptionShape): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i]!;
    if (w === '--') return argv[i + 1];
    if (w.startsWith('--')) {
      if (!w.includes('=') && shape.takesValue.has(w)) i++;
      continue;
    }
    if (w.startsWith('-') && w.length > 1) {
      // -o json, -ojson, -vo json: a value-taking short flag eats the rest or the next word.
      for (let j = 1; j < w.length; j++) {
        if (shape.takesValue.has(`-${w[j]}`)) {
          if (j === w.length - 1) i++;
          break;
        }
      }
      continue;
    }
    return w;
  }
  return undefined;
}

/** The context a command line selects (undefined: none; the ad-hoc cache then). */
export async function selectedContext(env: Env, argv: readonly string[]): Promise<string | undefined> {
  const named = contextOnLine(argv) ?? (env.OPSCTL_CONTEXT || undefined);
  if (named !== undefined) return named;
  let text: string | undefined;
  try {
    // Read as every config read is: only from a directory of the operator's alone (README, "Local files").
    text = readConfigText(configPath(env));
  } catch {
    return undefined;
  }
  if (text === undefined) return undefined;
  const quick = scanConfig(text);
  if (quick) return quick.current;
  // A config written in a style the scanner leaves to the YAML parser.
  try {
    const { readConfig } = await import('../config/config-file.js');
    return (await readConfig(configPath(env)))['current-context'];
  } catch {
    return undefined;
  }
}

/** The service command set for a context, or undefined when nothing is cached for it. */
export function serviceCommandSet(env: Env, context: string | undefined, builtins: ReadonlySet<string>, reserved: ReadonlySet<string>): ServiceCommandSet | undefined {
  const cached = readCachedCatalog(env, context);
  return cached ? serviceCommandSpecs(cached, context ?? '', builtins, reserved) : undefined;
}
