/**
 * The catalog a context's service published, as last fetched, kept next to
 * the completion cache (`$XDG_CACHE_HOME/opsctl/<context>.catalog.json`,
 * 0600 in a 0700 directory, replaced by rename). Only the service's own
 * endpoints are kept: the standard ones are built-in commands. The service
 * commands (`opsctl lb disable`) are derived from this file, so `--help` and
 * TAB never connect; every command that fetches the catalog (endpoints,
 * call, doctor, version, and each service command itself) refreshes it.
 * A command line shaped by a stale file is harmless: what a request does —
 * its params' types, whether it is destructive, its approval — is always
 * decided by the catalog fetched for that request.
 */
import fs from 'node:fs';
import path from 'node:path';
import { cacheDir } from '../config/paths.js';
import { ADHOC_CONTEXT } from '../completion/cache.js';
import type { Catalog, EndpointDescriptor } from '../../protocol/catalog.js';
import { asciiJson } from '../ascii-json.js';

type Env = Record<string, string | undefined>;

export interface CachedCatalog {
  updatedAt: string;
  service: string;
  version: string;
  /** The service's own endpoints (standard ones left out). */
  endpoints: EndpointDescriptor[];
}

/** Bounds on what a service can make the CLI read at every start. */
const MAX_ENDPOINTS = 500;
const MAX_BYTES = 1024 * 1024;

export function catalogCacheFile(env: Env, context: string | undefined): string {
  const safe = (context ?? ADHOC_CONTEXT).replace(/[^A-Za-z0-9_.-]/g, '_');
  return path.join(cacheDir(env), `${safe}.catalog.json`);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Keeps what has the shape of a descriptor; anything else in the file is dropped, never trusted. */
function descriptors(list: unknown): EndpointDescriptor[] {
  if (!Array.isArray(list)) return [];
  return list.filter((e): e is EndpointDescriptor =>
    isObject(e) && typeof e.id === 'string' && typeof e.method === 'string' && typeof e.path === 'string' && typeof e.role === 'string' && isObject(e.params),
  ).slice(0, MAX_ENDPOINTS);
}

/** The cached catalog of a context, or undefined (none yet, unreadable, too large, not ours). */
export function readCachedCatalog(env: Env, context: string | undefined): CachedCatalog | undefined {
  let text: string;
  try {
    const file = catalogCacheFile(env, context);
    const st = fs.statSync(file);
    if (!st.isFile() || st.size > MAX_BYTES) return undefined;
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const v = JSON.parse(text) as unknown;
    if (!isObject(v)) return undefined;
    return {
      updatedAt: typeof v.updatedAt === 'string' ? v.updatedAt : '',
      service: typeof v.service === 'string' ? v.service : '',
      version: typeof v.version === 'string' ? v.version : '',
      endpoints: descriptors(v.endpoints),
    };
  } catch {
    return undefined;
  }
}

/**
 * Records a fetched catalog (its non-standard endpoints) for a context; best
 * effort, a cache write never fails a command. Returns what was there before.
 */
export function writeCachedCatalog(env: Env, context: string | undefined, catalog: Catalog, standardIds: ReadonlySet<string>): CachedCatalog | undefined {
  const previous = readCachedCatalog(env, context);
  try {
    const doc: CachedCatalog = {
      updatedAt: new Date().toISOString(),
      service: String(catalog.service ?? ''),
      version: String(catalog.version ?? ''),
      endpoints: descriptors(catalog.endpoints).filter((e) => !standardIds.has(e.id)),
    };
    let text = asciiJson(doc);
    while (text.length > MAX_BYTES && doc.endpoints.length) {
      doc.endpoints = doc.endpoints.slice(0, Math.floor(doc.endpoints.length / 2));
      text = asciiJson(doc);
    }
    const file = catalogCacheFile(env, context);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, text, { mode: 0o600 });
    fs.renameSync(tmp, file);
  } catch {
    /* a cache is a convenience */
  }
  return previous;
}
