import fs from 'node:fs';
import { createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { ed25519BlobFromKey, ed25519PublicKeyLine, fingerprintOfBlob } from '../../protocol/fingerprint.js';
import { auditCheckpointMessage, type AuditCheckpointBody } from '../../protocol/audit.js';
import type { PortLog } from '../logger.js';

/** The Ed25519 key that signs audit checkpoints. */
export class AuditSigningKey {
  readonly publicKey: string;
  readonly keyid: string;

  private constructor(private readonly key: KeyObject) {
    this.publicKey = ed25519PublicKeyLine(key, 'opsctl-audit');
    this.keyid = fingerprintOfBlob(ed25519BlobFromKey(key));
  }

  /** A key given in the options (a KeyObject or PKCS#8 PEM text). */
  static fromOption(key: KeyObject | string): AuditSigningKey {
    const k = typeof key === 'string' ? createPrivateKey(key) : key;
    if (k.type !== 'private' || k.asymmetricKeyType !== 'ed25519') throw new Error('the audit signing key must be an Ed25519 private key');
    return new AuditSigningKey(k);
  }

  /**
   * Loads the key file (PKCS#8 PEM), or generates one there (0600,
   * created exclusively) at first start. A file readable by others is
   * tightened, as the audit log is.
   */
  static loadOrCreate(file: string, log: PortLog): AuditSigningKey {
    let pem: string;
    try {
      const st = fs.lstatSync(file);
      if (!st.isFile()) throw new Error(`${file} is not a regular file`);
      if ((st.mode & 0o077) !== 0) {
        fs.chmodSync(file, 0o600);
        log('warn', `audit signing key ${file} had mode ${(st.mode & 0o777).toString(8)}; tightened to 600`);
      }
      pem = fs.readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      const { privateKey } = generateKeyPairSync('ed25519');
      pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
      fs.writeFileSync(file, pem, { mode: 0o600, flag: 'wx' });
      log('info', `generated the audit signing key ${file}`);
    }
    return AuditSigningKey.fromOption(pem);
  }

  sign(body: AuditCheckpointBody): string {
    return sign(null, auditCheckpointMessage(body), this.key).toString('base64');
  }
}
