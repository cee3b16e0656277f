import { createPrivateKey, type KeyObject } from 'node:crypto';
import type { ParsedKey } from 'ssh2';
import { loadSsh2 } from '../transport/load-ssh2.js';
import { IdentityError } from './identity-error.js';

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const MAGIC = Buffer.from('openssh-key-v1\0', 'latin1');

/**
 * An unencrypted OpenSSH Ed25519 private key (cipher "none"), decoded with
 * node:crypto alone; undefined for anything else (encrypted, another type,
 * not that format), which ssh2 then decodes or rejects with its message.
 */
function decodeUnencrypted(text: string): Ed25519Key | undefined {
  const m = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(text);
  if (!m) return undefined;
  const buf = Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
  if (buf.length < MAGIC.length || !buf.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  let at = MAGIC.length;
  const u32 = () => {
    if (at + 4 > buf.length) throw new Error('truncated');
    const v = buf.readUInt32BE(at);
    at += 4;
    return v;
  };
  const str = () => {
    const n = u32();
    if (at + n > buf.length) throw new Error('truncated');
    const v = buf.subarray(at, at + n);
    at += n;
    return v;
  };
  try {
    if (str().toString() !== 'none' || str().toString() !== 'none') return undefined;
    str(); // kdf options
    if (u32() !== 1) return undefined;
    const publicBlob = Buffer.from(str());
    const priv = str();
    let pat = 0;
    const pu32 = () => {
      if (pat + 4 > priv.length) throw new Error('truncated');
      const v = priv.readUInt32BE(pat);
      pat += 4;
      return v;
    };
    const pstr = () => {
      const n = pu32();
      if (pat + n > priv.length) throw new Error('truncated');
      const v = priv.subarray(pat, pat + n);
      pat += n;
      return v;
    };
    if (pu32() !== pu32()) return undefined; // check ints differ: corrupt (or wrongly decrypted)
    if (pstr().toString() !== 'ssh-ed25519') return undefined;
    const pub = pstr();
    const secret = pstr();
    const comment = pstr().toString('utf8');
    if (pub.length !== 32 || secret.length !== 64 || !secret.subarray(32).equals(pub)) return undefined;
    const type = Buffer.from('ssh-ed25519');
    const expectedBlob = Buffer.alloc(4 + type.length + 4 + 32);
    expectedBlob.writeUInt32BE(type.length, 0);
    type.copy(expectedBlob, 4);
    expectedBlob.writeUInt32BE(32, 4 + type.length);
    pub.copy(expectedBlob, 8 + type.length);
    if (!publicBlob.equals(expectedBlob)) return undefined;
    const keyObject = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, secret.subarray(0, 32)]), format: 'der', type: 'pkcs8' });
    return { keyObject, publicBlob, comment };
  } catch {
    return undefined;
  }
}

/** A decoded Ed25519 private key. Lives in memory only. */
export interface Ed25519Key {
  /** ssh2's parsed form, for an encrypted key (the only kind ssh2 must decode). */
  parsed?: ParsedKey;
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
  // An unencrypted key needs only node:crypto: a command through a reused
  // tunnel then never loads ssh2 (~35 ms).
  const plain = decodeUnencrypted(text);
  if (plain) return plain;
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
