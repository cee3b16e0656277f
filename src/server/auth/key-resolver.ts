import type { KeyObject } from 'node:crypto';
import type { Principal } from '../options.js';
import type { Allowlist } from './allowlist.js';

/**
 * What a signature's keyid stands for: the public key that must verify it
 * and the principal the request then acts as.
 */
export interface ResolvedKey {
  key: KeyObject;
  principal: Principal;
  /** Where the key was found ('allowlist'; other sources, such as grants, name themselves). */
  source: string;
}

/**
 * The one seam through which the pipeline's authenticate stage turns a keyid
 * into a key and a principal. The default is the allowlist file; other key
 * sources (short-lived grants, see docs/security.md) extend it by composing
 * resolvers, so every lookup still goes through one function.
 */
export type KeyResolver = (keyid: string) => ResolvedKey | undefined;

/** Resolves keys from the allowlist file (reloaded on change). */
export function allowlistResolver(allowlist: Allowlist): KeyResolver {
  return (keyid) => {
    const entry = allowlist.lookup(keyid);
    if (!entry) return undefined;
    return { key: entry.key, principal: { name: entry.name, role: entry.role, keyid: entry.keyid }, source: 'allowlist' };
  };
}
