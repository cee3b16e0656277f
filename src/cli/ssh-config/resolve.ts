/**
 * Resolves hop specs (`[user@]host[:port]`, as for ssh and ssh -J) through
 * ~/.ssh/config the way OpenSSH does: HostName, User, Port, IdentityFile and
 * ProxyJump, first obtained value wins, explicit user/port in the spec win
 * over the file. `Match exec` is not evaluated (no shell runs while
 * resolving a host) and `Include` is not followed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import SSHConfig from 'ssh-config';
import type { Hop } from '../transport/types.js';
import { HopSpecError } from './hop-spec-error.js';

export interface ResolvedHop extends Hop {
  /** The first IdentityFile for this host, `~` and %-tokens expanded. */
  identityFile?: string;
  /** ProxyJump specs for this host (unresolved), absent when none. */
  proxyJump?: string[];
}

export interface ResolveOptions {
  /** ~/.ssh/config by default; a missing file means no config. */
  sshConfigPath?: string;
  env?: Record<string, string | undefined>;
}

export { parseHopSpec, type HopSpec } from './hop-spec.js';
import { parseHopSpec, parsePort } from './hop-spec.js';

const configCache = new Map<string, { mtimeMs: number; config: SSHConfig | null }>();

function loadConfig(file: string): SSHConfig | null {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    return null;
  }
  const hit = configCache.get(file);
  if (hit && hit.mtimeMs === stat.mtimeMs) return hit.config;
  const config = SSHConfig.parse(fs.readFileSync(file, 'utf8'));
  configCache.set(file, { mtimeMs: stat.mtimeMs, config });
  return config;
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function expandTokens(value: string, t: { host: string; alias: string; user: string; port: number; home: string; localUser: string }): string {
  let v = value.startsWith('~/') || value === '~' ? t.home + value.slice(1) : value;
  v = v.replace(/%([%dhnpru])/g, (_m, c: string) => {
    switch (c) {
      case '%':
        return '%';
      case 'd':
        return t.home;
      case 'h':
        return t.host;
      case 'n':
        return t.alias;
      case 'p':
        return String(t.port);
      case 'r':
        return t.user;
      case 'u':
        return t.localUser;
      default:
        return _m;
    }
  });
  return v;
}

/** Resolves one hop spec through the ssh config. `name` stays what the operator wrote. */
export function resolveHop(spec: string, opts: ResolveOptions = {}): ResolvedHop {
  const env = opts.env ?? process.env;
  const home = env.HOME || os.homedir();
  const parsed = parseHopSpec(spec);
  const alias = parsed.host;
  const configPath = opts.sshConfigPath ?? path.join(home, '.ssh', 'config');
  const config = loadConfig(configPath);
  const computed = config
    ? config.compute(parsed.user ? { Host: alias, User: parsed.user } : { Host: alias }, { ignoreCase: true, matchExec: false })
    : {};
  const localUser = env.USER || env.LOGNAME || 'root';
  const user = parsed.user ?? first(computed.user) ?? localUser;
  const portRaw = first(computed.port);
  const port = parsed.port ?? (portRaw ? parsePort(portRaw, `Port ${portRaw} for ${alias} in ${configPath}`) : 22);
  const hostNameRaw = first(computed.hostname);
  const host = hostNameRaw ? hostNameRaw.replace(/%%|%h/g, (m) => (m === '%%' ? '%' : alias)) : alias;
  const out: ResolvedHop = { name: alias, host, port, user };
  const idFile = first(computed.identityfile);
  if (idFile && idFile.toLowerCase() !== 'none') {
    out.identityFile = expandTokens(idFile, { host, alias, user, port, home, localUser });
  }
  const jump = first(computed.proxyjump);
  if (jump && jump.toLowerCase() !== 'none') out.proxyJump = splitChain(jump);
  return out;
}

function splitChain(spec: string): string[] {
  return spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Resolves a comma-separated bastion chain (`--bastion a,ops@b:2222`, like ssh -J). */
export function parseChain(spec: string | string[], opts: ResolveOptions = {}): ResolvedHop[] {
  const parts = Array.isArray(spec) ? spec.flatMap(splitChain) : splitChain(spec);
  if (!parts.length && (Array.isArray(spec) ? spec.some((s) => s.trim()) : spec.trim())) throw new HopSpecError(`empty bastion chain "${String(spec)}"`, String(spec));
  return parts.map((p) => resolveHop(p, opts));
}

const MAX_JUMPS = 8;

/**
 * The whole route to a host: explicit bastions when given, else the host's
 * ProxyJump; a first bastion's own ProxyJump is prepended, as OpenSSH does.
 */
export function resolveRoute(hostSpec: string, bastions: string | string[] | undefined, opts: ResolveOptions = {}): { host: ResolvedHop; bastions: ResolvedHop[] } {
  const host = resolveHop(hostSpec, opts);
  const explicit = bastions !== undefined && (Array.isArray(bastions) ? bastions.length > 0 : bastions.trim() !== '');
  let chain = explicit ? parseChain(bastions!, opts) : host.proxyJump ? parseChain(host.proxyJump, opts) : [];
  for (let i = 0; ; i++) {
    const head = chain[0];
    if (!head?.proxyJump) break;
    if (i >= MAX_JUMPS) throw new HopSpecError(`ProxyJump chain for ${hostSpec} is longer than ${MAX_JUMPS} hops (a loop in ~/.ssh/config?)`, hostSpec);
    const { proxyJump, ...reached } = head;
    chain = [...parseChain(proxyJump, opts), reached, ...chain.slice(1)];
  }
  return { host, bastions: chain };
}
