import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs/promises';
import { ed25519PublicKeyLine, fingerprintOfBlob, ed25519BlobFromKey } from '../../protocol/fingerprint.js';
import { IdentityError } from './identity-error.js';
import { opensshPrivateKeyText } from './openssh-key.js';
import { decodeEd25519PrivateKey } from './private-key.js';

/** A key pair as the `keys` commands handle it. privateKeyText is secret: keychain only, never output. */
export interface KeyMaterial {
  /** Unencrypted OpenSSH private key text. */
  privateKeyText: string;
  /** `ssh-ed25519 AAAA… comment` */
  publicKeyLine: string;
  /** `SHA256:…`, the RFC 9421 keyid. */
  keyid: string;
}

/** A fresh Ed25519 key pair (node:crypto; no ssh2 needed). */
export function generateEd25519(comment: string): KeyMaterial {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyText: opensshPrivateKeyText(privateKey, comment),
    publicKeyLine: ed25519PublicKeyLine(publicKey, comment),
    keyid: fingerprintOfBlob(ed25519BlobFromKey(publicKey)),
  };
}

/**
 * Reads an OpenSSH Ed25519 private key file for `keys import`. An encrypted
 * key is decrypted with `passphrase` and returned UNENCRYPTED (the keychain
 * protects it from then on); without a passphrase it throws IdentityError
 * code 'passphrase-required', so the command can ask and call again.
 */
export async function readKeyFile(path: string, passphrase?: string): Promise<KeyMaterial> {
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new IdentityError(
      code === 'ENOENT' ? `key file ${path} does not exist` : `cannot read key file ${path}: ${(e as Error).message}`,
      code === 'ENOENT' ? 'not-found' : 'unreadable',
    );
  }
  const key = await decodeEd25519PrivateKey(text, `key file ${path}`, passphrase);
  return {
    privateKeyText: opensshPrivateKeyText(key.keyObject, key.comment),
    publicKeyLine: ed25519PublicKeyLine(key.keyObject, key.comment),
    keyid: fingerprintOfBlob(key.publicBlob),
  };
}
