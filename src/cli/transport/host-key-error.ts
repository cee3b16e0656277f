/** What was wrong with a hop's host key. */
export type HostKeyProblem = 'mismatch' | 'unknown' | 'revoked';

/**
 * A host key that opsctl refuses: changed (possible man-in-the-middle),
 * revoked, or unknown without a TTY to confirm it. The CLI maps it to exit 5.
 */
export class HostKeyError extends Error {
  readonly problem: HostKeyProblem;
  /** The hop's name as the operator wrote it. */
  readonly hop: string;
  readonly hopKind: 'bastion' | 'host';
  /** The name looked up in known_hosts: `host` or `[host]:port`. */
  readonly knownHostsName: string;
  /** SHA256 fingerprint of the key the server presented. */
  readonly fingerprint: string;
  /** Fingerprints recorded for this host (mismatch only). */
  readonly expected: string[];
  /** How to trust an unknown key once its fingerprint is checked: commands that work on a fresh machine. */
  readonly hint: string | undefined;

  constructor(
    message: string,
    details: {
      problem: HostKeyProblem;
      hop: string;
      hopKind: 'bastion' | 'host';
      knownHostsName: string;
      fingerprint: string;
      expected?: string[];
      hint?: string;
    },
  ) {
    super(message);
    this.name = 'HostKeyError';
    this.problem = details.problem;
    this.hop = details.hop;
    this.hopKind = details.hopKind;
    this.knownHostsName = details.knownHostsName;
    this.fingerprint = details.fingerprint;
    this.expected = details.expected ?? [];
    this.hint = details.hint;
  }
}
