import type { BaseAgent, ParsedKey, SigningRequestOptions, SignCallback, IdentityCallback } from 'ssh2';
import type { Identity } from '../identity/types.js';
import type { Ssh2Module } from './load-ssh2.js';

/**
 * An ssh2 agent backed by an opsctl Identity: it offers exactly that one key
 * and signs through identity.sign, so a key held by ssh-agent never leaves
 * it and a keychain or file key is used from memory only. ssh2 expects raw
 * signatures from custom agents, which is what Identity.sign returns.
 */
export function identityAgent(ssh2: Ssh2Module, identity: Identity): BaseAgent<ParsedKey> {
  const pub = ssh2.utils.parseKey(identity.publicKeyLine);
  if (pub instanceof Error) throw new Error(`identity public key is not usable: ${pub.message}`);

  class IdentityAgent extends ssh2.BaseAgent<ParsedKey> {
    getIdentities(cb: IdentityCallback<ParsedKey>): void {
      cb(undefined, [pub as ParsedKey]);
    }

    sign(_pubKey: ParsedKey, data: Buffer, options: SigningRequestOptions | SignCallback, cb?: SignCallback): void {
      const done = (typeof options === 'function' ? options : cb)!;
      identity.sign(data).then(
        (sig) => done(undefined, sig),
        (err: Error) => done(err),
      );
    }
  }
  return new IdentityAgent();
}
