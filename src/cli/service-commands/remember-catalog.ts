import type { Factory } from '../factory.js';
import { remember } from '../command.js';
import { STANDARD_ENDPOINTS, type Catalog } from '../../protocol/catalog.js';
import { writeCachedCatalog } from './catalog-cache.js';
import { shadowedWarning } from './command-specs.js';

const STANDARD_IDS: ReadonlySet<string> = new Set(STANDARD_ENDPOINTS.map((e) => e.id));

/** The service's own endpoint ids whose first word is a built-in command (so not commands of their own). */
export function shadowedIds(f: Factory, catalog: Pick<Catalog, 'endpoints'>): Array<{ id: string; word: string }> {
  const builtins = new Set(f.builtinCommands);
  return catalog.endpoints
    .filter((e) => !STANDARD_IDS.has(e.id))
    .map((e) => ({ id: e.id, word: e.id.split('.')[0]! }))
    .filter((s) => builtins.has(s.word));
}

/**
 * What every command that fetched the catalog does with it: the endpoint
 * ids for TAB, and the whole catalog for the service commands of the
 * context (catalog-cache.ts). The first time an endpoint is seen that
 * cannot be a command (its first word is a built-in command), a warning
 * names it; `opsctl endpoints` names them every time itself (`warn: false`).
 * Best effort: never fails a command.
 */
export async function rememberCatalog(f: Factory, catalog: Catalog, opts: { warn?: boolean } = {}): Promise<void> {
  await remember(f, 'endpoints', catalog.endpoints.map((e) => e.id));
  try {
    const ctx = await f.context();
    const previous = writeCachedCatalog(f.io.env, ctx.name, catalog, STANDARD_IDS);
    if (opts.warn === false) return;
    const known = new Set((previous?.endpoints ?? []).map((e) => e.id));
    const fresh = shadowedIds(f, catalog).filter((s) => !known.has(s.id));
    if (fresh.length) (await f.output()).warn(shadowedWarning(catalog.service, fresh));
  } catch {
    /* no context, unwritable cache: the commands simply are not there */
  }
}
