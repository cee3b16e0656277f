/**
 * Writes an Ed25519 private key in OpenSSH's own unencrypted format
 * (`-----BEGIN OPENSSH PRIVATE KEY-----`, PROTOCOL.key), the text opsctl
 * keeps in the keychain. Pure node:crypto, so `keys generate` needs no ssh2.
 */
import { createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { ed25519BlobFromKey } from '../../protocol/fingerprint.js';

function sshString(data: Buffer | string): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** The OpenSSH private key text of a node:crypto Ed25519 private key. */
export function opensshPrivateKeyText(privateKey: KeyObject, comment: string): string {
  const jwk = privateKey.export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || !jwk.d || !jwk.x) throw new Error('not an Ed25519 private key');
  const seed = Buffer.from(jwk.d, 'base64url');
  const pub = Buffer.from(jwk.x, 'base64url');
  const pubBlob = ed25519BlobFromKey(createPublicKey(privateKey));
  const check = randomBytes(4);
  const secret = Buffer.concat([seed, pub]);
  const parts = [check, check, sshString('ssh-ed25519'), sshString(pub), sshString(secret), sshString(comment)];
  let priv = Buffer.concat(parts);
  const pad: number[] = [];
  for (let i = 1; (priv.length + pad.length) % 8 !== 0; i++) pad.push(i);
  priv = Buffer.concat([priv, Buffer.from(pad)]);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0', 'latin1'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    uint32(1),
    sshString(pubBlob),
    sshString(priv),
  ]);
  const b64 = body.toString('base64');
  // Best effort: the intermediate buffers holding the secret are not left around.
  for (const b of [seed, secret, priv, body, ...parts]) b.fill(0);
  const lines = b64.match(/.{1,70}/g) ?? [];
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`;
}
