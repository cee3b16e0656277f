/**
 * Public facts about a stored key. The private key text is decoded in memory
 * only to derive the public half; nothing secret leaves this function.
 */
import { UsageError } from '../../errors/usage-error.js';

export interface KeyInfo {
  name: string;
  identity: string;
  keyid: string;
  type: 'ssh-ed25519';
  comment: string;
  publicKey: string;
}

export async function checkedName(name: string): Promise<string> {
  const { isValidKeyName } = await import('../../identity/index.js');
  if (!isValidKeyName(name)) throw new UsageError(`invalid key name "${name}" (letters, digits and . _ @ + - only; up to 128)`);
  return name;
}

/** The public facts of key NAME; UsageError when there is no such key. */
export async function keyInfo(name: string): Promise<KeyInfo> {
  const { keychainGet } = await import('../../identity/index.js');
  const text = await keychainGet(name);
  if (text === null) throw new UsageError(`no key named "${name}" in the keychain (see opsctl keys list)`);
  return infoFromText(name, text);
}

export async function infoFromText(name: string, privateKeyText: string): Promise<KeyInfo> {
  const { decodeEd25519PrivateKey } = await import('../../identity/private-key.js');
  const { ed25519PublicKeyLine, fingerprintOfBlob } = await import('../../../protocol/fingerprint.js');
  const key = await decodeEd25519PrivateKey(privateKeyText, `keychain entry "${name}"`);
  return {
    name,
    identity: `keychain:${name}`,
    keyid: fingerprintOfBlob(key.publicBlob),
    type: 'ssh-ed25519',
    comment: key.comment,
    publicKey: ed25519PublicKeyLine(key.keyObject, key.comment),
  };
}

/** How to give the key access: the allowlist line with a role hint. */
export function allowlistHint(publicKey: string): string {
  return `Add it to the service's allowlist (authorized_keys) with a role, e.g.:\n  role="operator" ${publicKey}\n(roles: viewer reads, operator changes flags and runs tasks, admin migrates and reads the audit log)`;
}
