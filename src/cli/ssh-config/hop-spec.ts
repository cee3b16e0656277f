/**
 * `[user@]host[:port]` as ssh and ssh -J read it, parsed without touching
 * ~/.ssh/config or the network, so the global --host and --bastion options
 * can refuse a malformed spec (exit 2) while the command line is parsed.
 */
import { HopSpecError } from './hop-spec-error.js';

export interface HopSpec {
  user?: string;
  host: string;
  port?: number;
}

/** A port in a hop spec (1–65535), or HopSpecError. */
export function parsePort(raw: string, spec: string): number {
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
  // "a@@b" is a typo, not the user "a@" (which ssh would not take either).
  if (user !== undefined && /[@\s/:]/.test(user)) throw new HopSpecError(`invalid user name "${user}" in "${spec}"`, spec);
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
  // eslint-disable-next-line no-control-regex -- a host name with control characters is refused, so they are matched
  if (/[\s/@,\x00-\x1f\x7f]/.test(host) || host.startsWith('-')) throw new HopSpecError(`invalid host name "${host}" in "${spec}"`, spec);
  const out: HopSpec = { host };
  if (user !== undefined) out.user = user;
  if (port !== undefined) out.port = port;
  return out;
}

