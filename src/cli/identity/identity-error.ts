/** What went wrong with an identity, for callers that react differently (e.g. prompt for a passphrase). */
export type IdentityErrorCode =
  | 'invalid-spec'
  | 'not-found'
  | 'unreadable'
  | 'bad-permissions'
  | 'not-a-key'
  | 'unsupported-key-type'
  | 'passphrase-required'
  | 'bad-passphrase'
  | 'agent-unavailable'
  | 'agent-no-key';

/**
 * The operator's identity cannot be used: a clear message saying which key,
 * what is wrong and what to do. Never contains key material.
 */
export class IdentityError extends Error {
  readonly code: IdentityErrorCode;

  constructor(message: string, code: IdentityErrorCode) {
    super(message);
    this.name = 'IdentityError';
    this.code = code;
  }
}
