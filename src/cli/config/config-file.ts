/**
 * The kubeconfig-like config file: `current-context` and named contexts.
 * Every context field can also come from a global flag, so a runbook can
 * run without this file at all.
 */
import { createHash } from 'node:crypto';
import { privateDirOf, readConfigText } from './private-dir.js';
import { readPrivateFile, writePrivateFile } from './private-file.js';
import { UsageError } from '../errors/usage-error.js';

type YamlModule = typeof import('yaml');

/** yaml is loaded only by commands that read or write the config; bundled, its CommonJS build arrives under `default`. */
async function loadYaml(): Promise<YamlModule> {
  const mod = (await import('yaml')) as YamlModule & { default?: YamlModule };
  return typeof mod.parse === 'function' ? mod : mod.default!;
}

export interface ContextConfig {
  /** Bastion chain, like ssh -J: each `[user@]host[:port]`. */
  bastion?: string[];
  /** Service host(s) `[user@]host[:port]`; several make a fleet. */
  host?: string[];
  /** The internal port on the service host's loopback. */
  port?: number;
  /** keychain:NAME | agent | FILE */
  identity?: string;
  /** Replaces the default known_hosts files. */
  'known-hosts'?: string;
  /** Destructive actions need the context name typed. */
  protected?: boolean;
  /** Every mutating command needs --reason. */
  'require-reason'?: boolean;
  /**
   * ControlPersist: the first command starts a background holder of the
   * connection that lives this long after its last use (`10m`, `1h`, `90s`).
   */
  persist?: string;
}

const DURATION = /^(\d+)\s*(s|m|h)?$/;

/** `10m` → 600000 ms; undefined for anything that is not a duration of 1 s to 24 h. */
export function parseDuration(v: string): number | undefined {
  const m = DURATION.exec(v.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * ({ s: 1000, m: 60_000, h: 3_600_000 } as const)[(m[2] ?? 's') as 's' | 'm' | 'h'];
  return ms >= 1000 && ms <= 24 * 3_600_000 ? ms : undefined;
}

export interface ConfigFile {
  'current-context'?: string;
  contexts: Record<string, ContextConfig>;
}

export const CONTEXT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

function asList(v: unknown): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v.split(',').map((s) => s.trim()).filter(Boolean);
  if (Array.isArray(v)) return v.map(String);
  throw new Error('expected a string or a list');
}

function normalizeContext(name: string, raw: unknown, file: string): ContextConfig {
  if (typeof raw !== 'object' || raw === null) throw new UsageError(`${file}: context "${name}" must be a mapping`);
  const r = raw as Record<string, unknown>;
  const out: ContextConfig = {};
  try {
    const b = asList(r.bastion);
    if (b) out.bastion = b;
    const h = asList(r.host ?? r.hosts);
    if (h) out.host = h;
  } catch (e) {
    throw new UsageError(`${file}: context "${name}": ${(e as Error).message}`);
  }
  if (r.port !== undefined) {
    const p = Number(r.port);
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new UsageError(`${file}: context "${name}": port must be 1-65535`);
    out.port = p;
  }
  if (r.identity !== undefined) out.identity = String(r.identity);
  if (r['known-hosts'] !== undefined) out['known-hosts'] = String(r['known-hosts']);
  if (r.protected !== undefined) out.protected = r.protected === true;
  if (r['require-reason'] !== undefined) out['require-reason'] = r['require-reason'] === true;
  if (r.persist !== undefined && r.persist !== null && r.persist !== false) {
    const v = String(r.persist);
    if (parseDuration(v) === undefined) throw new UsageError(`${file}: context "${name}": persist must be a duration from 1s to 24h such as 10m, got "${v}"`);
    out.persist = v;
  }
  return out;
}

/** Only what JSON keeps exactly (plain objects, arrays, strings, finite numbers, booleans, null). */
function jsonExact(v: unknown): boolean {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v);
  if (Array.isArray(v)) return v.every(jsonExact);
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) return Object.values(v as object).every(jsonExact);
  return false;
}

/**
 * The config text parsed, from `cacheFile` when it holds the parse of this
 * very text (keyed by its SHA-256, so any edit misses), else by the YAML
 * parser, whose loading alone is about a sixth of a command sent through a
 * held connection (README, "Performance"). The cache holds what the config
 * holds (no secrets); `cacheFile()` names it in a checked private directory
 * (README, "Local files") and it is read and written like every other file
 * of opsctl's own. Failing to find or write it costs the next command the
 * parser again, nothing else.
 */
async function parseYaml(text: string, file: string, cacheFile: (() => string | undefined) | undefined): Promise<unknown> {
  let cache: string | undefined;
  try {
    cache = cacheFile?.();
  } catch {
    cache = undefined;
  }
  // Only with a cache to key: hashing loads node:crypto, which --help and TAB do without.
  const sha256 = cache ? createHash('sha256').update(text).digest('hex') : '';
  if (cache) {
    try {
      const c = JSON.parse(readPrivateFile(cache) ?? 'null') as { sha256?: unknown; doc?: unknown } | null;
      if (c && c.sha256 === sha256) return c.doc;
    } catch {
      /* unreadable: parse */
    }
  }
  const YAML = await loadYaml();
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (e) {
    throw new UsageError(`config ${file} is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  if (cache && jsonExact(doc)) {
    try {
      writePrivateFile(cache, JSON.stringify({ sha256, doc }));
    } catch {
      /* only a cache */
    }
  }
  return doc;
}

/**
 * Reads the config; a missing file is an empty config. With `cacheFile`,
 * an unchanged config is read without loading the YAML parser.
 */
export async function readConfig(file: string, cacheFile?: () => string | undefined): Promise<ConfigFile> {
  let text: string | undefined;
  try {
    text = readConfigText(file);
  } catch (e) {
    if ((e as Error).name === 'UnsafeDirError') throw e;
    throw new UsageError(`cannot read config ${file}: ${(e as Error).message}`);
  }
  if (text === undefined) return { contexts: {} };
  const doc = await parseYaml(text, file, cacheFile);
  if (doc === null || doc === undefined) return { contexts: {} };
  if (typeof doc !== 'object') throw new UsageError(`config ${file} must be a mapping`);
  const d = doc as Record<string, unknown>;
  const contexts: Record<string, ContextConfig> = {};
  const rawContexts = d.contexts ?? {};
  if (typeof rawContexts !== 'object' || rawContexts === null) throw new UsageError(`config ${file}: contexts must be a mapping`);
  for (const [name, raw] of Object.entries(rawContexts)) contexts[name] = normalizeContext(name, raw, file);
  const cfg: ConfigFile = { contexts };
  if (typeof d['current-context'] === 'string') cfg['current-context'] = d['current-context'];
  return cfg;
}

/**
 * Writes the config atomically (a temp file created exclusively beside it,
 * then renamed over it), mode 0600, in a directory that is the operator's
 * and writable by nobody else (README, "Local files"). `ownDir`: the file is
 * in opsctl's own config directory (not one named by OPSCTL_CONFIG), which
 * is tightened to 0700.
 */
export async function writeConfig(file: string, cfg: ConfigFile, opts: { ownDir?: boolean } = {}): Promise<void> {
  const YAML = await loadYaml();
  privateDirOf(file, 'config', { tighten: opts.ownDir === true });
  const body: Record<string, unknown> = {};
  if (cfg['current-context']) body['current-context'] = cfg['current-context'];
  body.contexts = cfg.contexts;
  writePrivateFile(file, YAML.stringify(body), { sync: true });
}
