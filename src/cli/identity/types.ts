/**
 * Contract for the operator's identity: one Ed25519 key that both
 * authenticates the SSH hops and signs every HTTP request.
 */

export type IdentitySpec =
  | { kind: 'keychain'; name: string }
  /** `select`: a `SHA256:…` fingerprint or a public key file picking one of the agent's keys. */
  | { kind: 'agent'; select?: string }
  | { kind: 'file'; path: string };

export interface Identity {
  readonly spec: IdentitySpec;
  /** `ssh-ed25519 AAAA… comment` */
  readonly publicKeyLine: string;
  /** SHA256:… fingerprint, used as the RFC 9421 keyid. */
  readonly keyid: string;
  /** Raw Ed25519 signature of data (by the key, or by ssh-agent). */
  sign(data: Buffer): Promise<Buffer>;
  /**
   * What ssh2 needs to authenticate with this identity: a parsed private key
   * (never written anywhere) or the agent socket. Opaque to commands.
   */
  readonly ssh: { privateKey: unknown } | { agent: string };
}
