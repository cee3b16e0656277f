import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { parseDuration, type ConfigFile } from './config-file.js';
import { UsageError } from '../errors/usage-error.js';
import type { GlobalOptions } from '../globals.js';

export const DEFAULT_INTERNAL_PORT = 9900;

/** The effective target of a command: config context overlaid with global flags. */
export interface ResolvedContext {
  /** The context name, or undefined when everything came from flags. */
  name: string | undefined;
  bastions: string[];
  hosts: string[];
  port: number;
  identity: string;
  knownHosts: string | undefined;
  protected: boolean;
  requireReason: boolean;
  /** ControlPersist idle time of the context's background holder (ms), when it has one. */
  persistMs?: number;
}

/** The context name a command runs against: --context, then OPSCTL_CONTEXT, then current-context. */
export function selectedContextName(globals: GlobalOptions, cfg: ConfigFile, env: Record<string, string | undefined>): string | undefined {
  return globals.context ?? env.OPSCTL_CONTEXT ?? cfg['current-context'];
}

function defaultIdentity(env: Record<string, string | undefined>): string {
  // Like ssh: the agent when one is running, else the usual key file.
  if (env.SSH_AUTH_SOCK) return 'agent';
  const file = path.join(env.HOME || os.homedir(), '.ssh', 'id_ed25519');
  if (fs.existsSync(file)) return file;
  throw new UsageError('no identity: pass --identity keychain:NAME, --identity agent or --identity FILE (or set identity in the context)');
}

/**
 * The hosts a command targets: --host values and --hosts-file lines on the
 * command line (either replaces the context's list), else the context's
 * `host` list. Duplicates are dropped, the first mention keeps its place.
 */
export function selectedHosts(globals: GlobalOptions, fromContext: string[] | undefined): string[] {
  const given: string[] = [...(globals.hosts ?? (globals.host ? globals.host.split(',').map((h) => h.trim()).filter(Boolean) : []))];
  if (globals.hostsFile) {
    let text: string;
    try {
      text = fs.readFileSync(globals.hostsFile, 'utf8');
    } catch (e) {
      throw new UsageError(`--hosts-file ${globals.hostsFile} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    for (const [i, raw] of text.split('\n').entries()) {
      const line = raw.replace(/#.*/, '').trim();
      if (!line) continue;
      if (/\s/.test(line)) throw new UsageError(`--hosts-file ${globals.hostsFile} line ${i + 1}: one host per line, got "${line}"`);
      given.push(line);
    }
    if (!given.length) throw new UsageError(`--hosts-file ${globals.hostsFile} names no host`);
  }
  return [...new Set(given.length ? given : fromContext ?? [])];
}

export function resolveContext(globals: GlobalOptions, cfg: ConfigFile, env: Record<string, string | undefined>): ResolvedContext {
  const name = selectedContextName(globals, cfg, env);
  const ctx = name !== undefined ? cfg.contexts[name] : undefined;
  if (name !== undefined && !ctx) {
    // An explicit --context/OPSCTL_CONTEXT must exist; a stale current-context
    // is only fatal when flags do not name a host either.
    if (globals.context !== undefined || env.OPSCTL_CONTEXT !== undefined || (!globals.host && !globals.hostsFile)) {
      const known = Object.keys(cfg.contexts);
      throw new UsageError(`context "${name}" does not exist${known.length ? ` (known: ${known.join(', ')})` : '; create it with opsctl context add'}`);
    }
  }
  const hosts = selectedHosts(globals, ctx?.host);
  if (!hosts.length) {
    throw new UsageError('no target: pass --host [user@]host[:port] (and --bastion, --port), or create a context with opsctl context add NAME …');
  }
  return {
    name: ctx ? name : undefined,
    bastions: globals.bastion !== undefined ? globals.bastion.split(',').map((s) => s.trim()).filter(Boolean) : ctx?.bastion ?? [],
    hosts,
    port: globals.port ?? ctx?.port ?? DEFAULT_INTERNAL_PORT,
    identity: globals.identity ?? ctx?.identity ?? defaultIdentity(env),
    knownHosts: globals.knownHosts ?? ctx?.['known-hosts'],
    protected: ctx?.protected ?? false,
    requireReason: ctx?.['require-reason'] ?? false,
    ...(ctx?.persist ? { persistMs: parseDuration(ctx.persist)! } : {}),
  };
}
