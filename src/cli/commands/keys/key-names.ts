import type { Factory } from '../../factory.js';
import { KEYS_CACHE, recordCompletions } from '../../completion/cache.js';

/**
 * Refreshes the key names that `keys show <TAB>` and `--identity keychain:<TAB>`
 * offer. Completion never opens the keychain itself, so every keys command
 * that sees or changes the names leaves them here. Best effort.
 */
export async function rememberKeyNames(f: Factory, names?: string[]): Promise<void> {
  try {
    const list = names ?? (await (await import('../../identity/index.js')).keychainList());
    recordCompletions(f.io.env, KEYS_CACHE, 'keys', list);
  } catch {
    /* a completion cache must never fail a command */
  }
}
