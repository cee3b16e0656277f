import { createPrivateKey, type KeyObject } from 'node:crypto';
import type { ParsedKey } from 'ssh2';
import { loadSsh2 } from '../transport/load-ssh2.js';
import { IdentityError } from './identity-error.js';

/** A decoded Ed25519 private key. Lives in memory only. */
export interface Ed25519Key {
  /** ssh2's parsed form (what Identity.ssh carries). */
  parsed: ParsedKey;
  /** node:crypto form, for signing. */
  keyObject: KeyObject;
  /** SSH wire-format public key blob. */
  publicBlob: Buffer;
  comment: string;
}

/**
 * Decodes OpenSSH private key text (optionally encrypted) that must hold an
 * Ed25519 key. `source` names it in errors ("key file ~/x", "keychain entry
 * y"); error messages never quote the text.
 */
export async function decodeEd25519PrivateKey(text: string, source: string, passphrase?: string): Promise<Ed25519Key> {
  const ssh2 = await loadSsh2();
  let parsed = ssh2.utils.parseKey(text, passphrase);
  if (parsed instanceof Error) {
    const msg = parsed.message;
    if (/no passphrase given/i.test(msg)) throw new IdentityError(`${source} is encrypted and needs its passphrase`, 'passphrase-required');
    if (/bad passphrase|integrity check failed|decrypt/i.test(msg)) throw new IdentityError(`wrong passphrase for ${source}`, 'bad-passphrase');
    throw new IdentityError(`${source} is not an OpenSSH private key (${msg})`, 'not-a-key');
  }
  if (Array.isArray(parsed)) parsed = parsed[0] as ParsedKey;
  if (!parsed.isPrivateKey()) throw new IdentityError(`${source} holds a public key, not a private key`, 'not-a-key');
  if (parsed.type !== 'ssh-ed25519') {
    throw new IdentityError(`${source} is an ${parsed.type} key; opsctl needs an Ed25519 key (ssh-keygen -t ed25519, or opsctl keys generate NAME)`, 'unsupported-key-type');
  }
  return {
    parsed,
    keyObject: createPrivateKey(parsed.getPrivatePEM()),
    publicBlob: Buffer.from(parsed.getPublicSSH()),
    comment: parsed.comment ?? '',
  };
}
