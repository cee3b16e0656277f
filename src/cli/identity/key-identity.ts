import { sign as cryptoSign } from 'node:crypto';
import { inspect } from 'node:util';
import { fingerprintOfBlob } from '../../protocol/fingerprint.js';
import type { Identity, IdentitySpec } from './types.js';
import type { Ed25519Key } from './private-key.js';

/**
 * An identity whose private key is in this process's memory (from the
 * keychain or a key file). The key sits in a private field and the object
 * prints and serialises as its public half only, so an identity that ends
 * up in a log line cannot leak the key.
 */
export class KeyIdentity implements Identity {
  readonly spec: IdentitySpec;
  readonly publicKeyLine: string;
  readonly keyid: string;
  readonly #key: Ed25519Key;

  constructor(spec: IdentitySpec, key: Ed25519Key) {
    this.spec = spec;
    this.#key = key;
    const b64 = key.publicBlob.toString('base64');
    this.publicKeyLine = key.comment ? `ssh-ed25519 ${b64} ${key.comment}` : `ssh-ed25519 ${b64}`;
    this.keyid = fingerprintOfBlob(key.publicBlob);
  }

  get ssh(): { privateKey: unknown } {
    return { privateKey: this.#key.parsed };
  }

  async sign(data: Buffer): Promise<Buffer> {
    return cryptoSign(null, data, this.#key.keyObject);
  }

  toJSON(): object {
    return { spec: this.spec, publicKeyLine: this.publicKeyLine, keyid: this.keyid };
  }

  [inspect.custom](): string {
    return `KeyIdentity { ${this.keyid} }`;
  }
}
