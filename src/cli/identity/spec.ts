import os from 'node:os';
import path from 'node:path';
import type { IdentitySpec } from './types.js';
import { IdentityError } from './identity-error.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$/;

/** Whether a keychain key name is acceptable (also used by `keys generate|import`). */
export function isValidKeyName(name: string): boolean {
  return NAME.test(name);
}

/** `~/x` → `$HOME/x`. */
export function expandHome(p: string, env: Record<string, string | undefined> = process.env): string {
  if (p === '~') return env.HOME || os.homedir();
  if (p.startsWith('~/')) return path.join(env.HOME || os.homedir(), p.slice(2));
  return p;
}

/**
 * Parses `--identity`: `keychain:NAME`, `agent` (optionally
 * `agent:SHA256:…` or `agent:PUBKEY_FILE` to pick one of the agent's keys),
 * or a path to an OpenSSH private key file (`~` expanded).
 */
export function parseIdentitySpec(s: string, env: Record<string, string | undefined> = process.env): IdentitySpec {
  const spec = s.trim();
  if (!spec) throw new IdentityError('--identity is empty; use keychain:NAME, agent, or a key file path', 'invalid-spec');
  if (spec.startsWith('keychain:')) {
    const name = spec.slice('keychain:'.length);
    if (!isValidKeyName(name)) {
      throw new IdentityError(`invalid keychain key name "${name}" (letters, digits and . _ @ + - only)`, 'invalid-spec');
    }
    return { kind: 'keychain', name };
  }
  if (spec === 'agent') return { kind: 'agent' };
  if (spec.startsWith('agent:')) {
    const select = spec.slice('agent:'.length);
    if (!select) throw new IdentityError('agent: needs a key after the colon (SHA256:… or a public key file), or use plain agent', 'invalid-spec');
    return { kind: 'agent', select: select.startsWith('SHA256:') ? select : expandHome(select, env) };
  }
  return { kind: 'file', path: expandHome(spec, env) };
}

/** The spec as the operator would write it (for messages and `context show`). */
export function formatIdentitySpec(spec: IdentitySpec): string {
  switch (spec.kind) {
    case 'keychain':
      return `keychain:${spec.name}`;
    case 'agent':
      return spec.select ? `agent:${spec.select}` : 'agent';
    case 'file':
      return spec.path;
  }
}
