import fs from 'node:fs';
import { createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { ed25519BlobFromKey, ed25519PublicKeyLine, fingerprintOfBlob } from '../../protocol/fingerprint.js';
import { auditCheckpointMessage, type AuditCheckpointBody } from '../../protocol/audit.js';
import type { PortLog } from '../logger.js';
import { createPrivateFileSync, openToOthers, readPrivateFileSync } from '../private-file.js';

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
    const what = 'audit signing key';
    // Opened as the port's own file (src/server/README.md, "Files"): no link
    // followed, no FIFO waited on, a new one created exclusively 0600.
    const pem = readPrivateFileSync(file, what, (st, fd) => {
      if (openToOthers(st.mode)) {
        fs.fchmodSync(fd, 0o600);
        log('warn', `audit signing key ${file} had mode ${(st.mode & 0o777).toString(8)}; tightened to 600`);
      }
    });
    if (pem !== undefined) return AuditSigningKey.fromOption(pem);
    const { privateKey } = generateKeyPairSync('ed25519');
    const created = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    createPrivateFileSync(file, created, what);
    log('info', `generated the audit signing key ${file}`);
    return AuditSigningKey.fromOption(created);
  }

  sign(body: AuditCheckpointBody): string {
    return sign(null, auditCheckpointMessage(body), this.key).toString('base64');
  }
}
