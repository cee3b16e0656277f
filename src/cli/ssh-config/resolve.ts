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

export interface HopSpec {
  user?: string;
  host: string;
  port?: number;
}

function parsePort(raw: string, spec: string): number {
  if (!/^\d{1,5}$/.test(raw) || Number(raw) < 1 || Number(raw) > 65535) {
    throw new HopSpecError(`invalid port "${raw}" in "${spec}" (1–65535)`, spec);
  }
  return Number(raw);
}

/** Splits `[user@]host[:port]` (also `[v6]:port`, a bare IPv6 address and `ssh://…`). */
export function parseHopSpec(spec: string): HopSpec {
  let s = spec.trim();
  if (s.startsWith('ssh://')) s = s.slice('ssh://'.length).replace(/\/$/, '');
  if (!s) throw new HopSpecError('empty host', spec);
  const at = s.lastIndexOf('@');
  const user = at >= 0 ? s.slice(0, at) : undefined;
  const rest = at >= 0 ? s.slice(at + 1) : s;
  if (user !== undefined && !user) throw new HopSpecError(`empty user name in "${spec}"`, spec);
  let host: string;
  let port: number | undefined;
  const bracket = /^\[([^\]]+)\](?::(.*))?$/.exec(rest);
  if (bracket) {
    host = bracket[1]!;
    if (bracket[2] !== undefined) port = parsePort(bracket[2], spec);
  } else if ((rest.match(/:/g) ?? []).length === 1) {
    const i = rest.indexOf(':');
    host = rest.slice(0, i);
    port = parsePort(rest.slice(i + 1), spec);
  } else {
    host = rest;
  }
  if (!host) throw new HopSpecError(`empty host name in "${spec}"`, spec);
  if (/[\s/]/.test(host) || host.startsWith('-')) throw new HopSpecError(`invalid host name "${host}" in "${spec}"`, spec);
  const out: HopSpec = { host };
  if (user !== undefined) out.user = user;
  if (port !== undefined) out.port = port;
  return out;
}

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
