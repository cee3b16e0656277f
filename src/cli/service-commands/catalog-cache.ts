/**
 * The catalog a context's service published, as last fetched, kept next to
 * the completion cache (`$XDG_CACHE_HOME/opsctl/<context>.catalog.json`,
 * 0600 in the checked 0700 cache directory, replaced by rename; README,
 * "Local files"). Only the service's own
 * endpoints are kept: the standard ones are built-in commands. The service
 * commands (`opsctl lb disable`) are derived from this file, so `--help` and
 * TAB never connect; every command that fetches the catalog (endpoints,
 * call, doctor, version, and each service command itself) refreshes it.
 * A command line shaped by a stale file is harmless: what a request does —
 * its params' types, whether it is destructive, its approval — is always
 * decided by the catalog fetched for that request.
 */
import path from 'node:path';
import { privateCacheDir } from '../config/private-dir.js';
import { readPrivateFile, writePrivateFile } from '../config/private-file.js';
import { ADHOC_CONTEXT } from '../completion/cache.js';
import type { Catalog, EndpointDescriptor } from '../../protocol/catalog.js';
import { asciiJson } from '../ascii-json.js';

type Env = Record<string, string | undefined>;

/**
 * One endpoint of the cache: what listing it as a command needs, at hand;
 * its whole descriptor parsed when first asked for (one command's help or
 * TAB looks into one endpoint, not fifty).
 */
export interface CachedEndpoint {
  id: string;
  summary: string;
  job: boolean;
  /** Its params schema lists params. */
  hasParams: boolean;
  /** Its params schema allows params it does not list. */
  extraParams: boolean;
  descriptor(): EndpointDescriptor;
}

export interface CachedCatalog {
  updatedAt: string;
  service: string;
  version: string;
  /** The service's own endpoints (standard ones left out). */
  endpoints: CachedEndpoint[];
}

/**
 * The file: an index for listing, and each descriptor as JSON text parsed
 * on demand (ASCII only: src/cli/ascii-json.ts). A file holding the
 * descriptors themselves (`endpoints: [{…}]`) is read too.
 */
interface CacheFileV2 {
  updatedAt: string;
  service: string;
  version: string;
  index: Array<Omit<CachedEndpoint, 'descriptor'>>;
  endpoints: string[];
}

/** Bounds on what a service can make the CLI read at every start. */
const MAX_ENDPOINTS = 500;
const MAX_BYTES = 1024 * 1024;

export function catalogCacheFile(env: Env, context: string | undefined): string {
  const safe = (context ?? ADHOC_CONTEXT).replace(/[^A-Za-z0-9_.-]/g, '_');
  // The checked cache dir; throws when there is none (callers treat that as no cache).
  return path.join(privateCacheDir(env), `${safe}.catalog.json`);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Whether `e` has the shape of a descriptor; anything else is dropped, never trusted. */
function isDescriptor(e: unknown): e is EndpointDescriptor {
  return isObject(e) && typeof e.id === 'string' && typeof e.method === 'string' && typeof e.path === 'string' && typeof e.role === 'string' && isObject(e.params);
}

function indexOf(e: EndpointDescriptor): Omit<CachedEndpoint, 'descriptor'> {
  const props = isObject(e.params.properties) ? Object.keys(e.params.properties) : [];
  return {
    id: e.id,
    summary: typeof e.summary === 'string' ? e.summary : '',
    job: e.job === true,
    hasParams: props.length > 0,
    extraParams: e.params.additionalProperties !== false && !(e.params.additionalProperties === undefined && props.length > 0),
  };
}

function eager(e: EndpointDescriptor): CachedEndpoint {
  return { ...indexOf(e), descriptor: () => e };
}

function lazy(entry: Omit<CachedEndpoint, 'descriptor'>, text: string): CachedEndpoint {
  let parsed: EndpointDescriptor | undefined;
  return {
    ...entry,
    descriptor() {
      if (parsed) return parsed;
      let d: unknown;
      try {
        d = JSON.parse(text);
      } catch {
        d = undefined;
      }
      // A text that is not this entry's descriptor: a command with no params.
      parsed = isDescriptor(d) && d.id === entry.id ? d : { id: entry.id, method: 'GET', path: '', summary: entry.summary, description: '', role: 'viewer', destructive: false, job: entry.job, scope: 'instance', params: { type: 'object' } };
      return parsed;
    },
  };
}

function entries(v: Record<string, unknown>): CachedEndpoint[] {
  const list = Array.isArray(v.endpoints) ? v.endpoints.slice(0, MAX_ENDPOINTS) : [];
  if (Array.isArray(v.index)) {
    const out: CachedEndpoint[] = [];
    v.index.slice(0, MAX_ENDPOINTS).forEach((x: unknown, i: number) => {
      const text = list[i];
      if (!isObject(x) || typeof x.id !== 'string' || typeof x.summary !== 'string' || typeof text !== 'string') return;
      out.push(lazy({ id: x.id, summary: x.summary, job: x.job === true, hasParams: x.hasParams === true, extraParams: x.extraParams === true }, text));
    });
    return out;
  }
  return list.filter(isDescriptor).map(eager);
}

/** The cached catalog of a context, or undefined (none yet, unreadable, too large, not ours). */
export function readCachedCatalog(env: Env, context: string | undefined): CachedCatalog | undefined {
  let text: string | undefined;
  try {
    text = readPrivateFile(catalogCacheFile(env, context));
  } catch {
    return undefined;
  }
  return text === undefined || text.length > MAX_BYTES ? undefined : parseCachedCatalog(text);
}

/** A cache file's text as a CachedCatalog (undefined when it is not one). */
export function parseCachedCatalog(text: string): CachedCatalog | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    if (!isObject(v)) return undefined;
    return {
      updatedAt: typeof v.updatedAt === 'string' ? v.updatedAt : '',
      service: typeof v.service === 'string' ? v.service : '',
      version: typeof v.version === 'string' ? v.version : '',
      endpoints: entries(v),
    };
  } catch {
    return undefined;
  }
}

/** The cache file's text for a catalog: its own endpoints, at most MAX_BYTES (the first half kept until it fits). */
export function cacheFileText(catalog: Pick<Catalog, 'service' | 'version' | 'endpoints'> & Partial<Catalog>, standardIds: ReadonlySet<string>): string {
  let own = (Array.isArray(catalog.endpoints) ? catalog.endpoints : []).filter(isDescriptor).filter((e) => !standardIds.has(e.id)).slice(0, MAX_ENDPOINTS);
  const doc = (list: EndpointDescriptor[]): CacheFileV2 => ({
    updatedAt: new Date().toISOString(),
    service: String(catalog.service ?? ''),
    version: String(catalog.version ?? ''),
    index: list.map(indexOf),
    endpoints: list.map((e) => asciiJson(e)),
  });
  let text = asciiJson(doc(own));
  while (text.length > MAX_BYTES && own.length) {
    own = own.slice(0, Math.floor(own.length / 2));
    text = asciiJson(doc(own));
  }
  return text;
}

/**
 * Records a fetched catalog (its non-standard endpoints) for a context; best
 * effort, a cache write never fails a command. Returns what was there before.
 */
export function writeCachedCatalog(env: Env, context: string | undefined, catalog: Catalog, standardIds: ReadonlySet<string>): CachedCatalog | undefined {
  const previous = readCachedCatalog(env, context);
  try {
    writePrivateFile(catalogCacheFile(env, context), cacheFileText(catalog, standardIds));
  } catch {
    /* a cache is a convenience */
  }
  return previous;
}
