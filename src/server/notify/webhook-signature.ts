import { createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import type { PortLog } from '../logger.js';
import { createPrivateFileSync, openToOthers, readPrivateFileSync } from '../private-file.js';

/**
 * Standard Webhooks signatures (docs/notifications.md, "Verifying a
 * delivery"): both schemes sign `<webhook-id>.<webhook-timestamp>.<body>`;
 * `v1,` is HMAC-SHA256 with the bytes of a `whsec_` secret, `v1a,` Ed25519
 * with the port's notification key, whose public half is published as
 * `whpk_` + base64 of its 32 raw bytes.
 */

const WHSEC = /^whsec_([A-Za-z0-9+/]+={0,2})$/;

/** The bytes of a `whsec_…` secret (24 to 64 bytes, as Standard Webhooks asks), or an error naming what is wrong. */
export function parseWebhookSecret(text: string): Buffer {
  const m = WHSEC.exec(text.trim());
  if (!m) throw new Error('is not a whsec_ secret (whsec_ followed by base64)');
  const bytes = Buffer.from(m[1]!, 'base64');
  if (bytes.length < 24 || bytes.length > 64) throw new Error(`holds ${bytes.length} bytes; a whsec_ secret has 24 to 64`);
  return bytes;
}

/** A new `whsec_` secret of 32 random bytes (tests, docs). */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/**
 * Reads a secret file (a whsec_ secret, a URL, a signing key), warning
 * (never failing) when others may read it. Never through a symbolic link
 * and never waiting on a FIFO: only a regular file is read (src/server/README.md,
 * "Files"); undefined when there is none.
 */
export function readSecretFileIfAny(file: string, what: string, log: PortLog): string | undefined {
  const text = readPrivateFileSync(file, what, (st) => {
    if (openToOthers(st.mode)) log('warn', `${what} ${file} has mode ${(st.mode & 0o777).toString(8)}; other users may read it (chmod 600)`);
  });
  return text?.trim();
}

/** readSecretFileIfAny, for a file that must be there. */
export function readSecretFile(file: string, what: string, log: PortLog): string {
  const text = readSecretFileIfAny(file, what, log);
  if (text === undefined) throw new Error(`${what} ${file} does not exist`);
  return text;
}

/** The content both signatures cover. */
export function signedContent(msgId: string, timestamp: number, body: string): Buffer {
  return Buffer.from(`${msgId}.${timestamp}.${body}`, 'utf8');
}

export function hmacSignature(secret: Buffer, msgId: string, timestamp: number, body: string): string {
  return `v1,${createHmac('sha256', secret).update(signedContent(msgId, timestamp, body)).digest('base64')}`;
}

/** The Ed25519 key of the `v1a` signatures. */
export class NotifySigningKey {
  /** `whpk_` + base64 of the raw public key. */
  readonly publicKey: string;

  private constructor(private readonly key: KeyObject) {
    const jwk = createPublicKey(key).export({ format: 'jwk' }) as { x: string };
    this.publicKey = `whpk_${Buffer.from(jwk.x, 'base64url').toString('base64')}`;
  }

  /** A PKCS#8 PEM, or `whsk_` + base64 of the 32-byte seed (or of seed and public key, 64 bytes). */
  static parse(text: string): NotifySigningKey {
    const t = text.trim();
    if (t.startsWith('whsk_')) {
      const raw = Buffer.from(t.slice(5), 'base64');
      if (raw.length !== 32 && raw.length !== 64) throw new Error('a whsk_ key holds a 32-byte Ed25519 seed (or 64 bytes: seed and public key)');
      // PKCS#8 of an Ed25519 seed: a fixed 16-byte prefix, then the 32 bytes.
      const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), raw.subarray(0, 32)]);
      return new NotifySigningKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }));
    }
    const k = createPrivateKey(t);
    if (k.asymmetricKeyType !== 'ed25519') throw new Error('the notification signing key must be an Ed25519 private key');
    return new NotifySigningKey(k);
  }

  /**
   * Loads the key file, or generates one there at first start (0600,
   * created exclusively: never through a link someone left at the path).
   */
  static loadOrCreate(file: string, log: PortLog): NotifySigningKey {
    const what = 'notification signing key';
    const text = readSecretFileIfAny(file, what, log);
    if (text !== undefined) return NotifySigningKey.parse(text);
    const { privateKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    createPrivateFileSync(file, pem, what);
    log('info', `generated the notification signing key ${file}`);
    return NotifySigningKey.parse(pem);
  }

  signature(msgId: string, timestamp: number, body: string): string {
    return `v1a,${sign(null, signedContent(msgId, timestamp, body), this.key).toString('base64')}`;
  }
}
