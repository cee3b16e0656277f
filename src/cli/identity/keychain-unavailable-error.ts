/**
 * There is no usable OS keychain (no Secret Service / D-Bus session, a locked
 * keyring that cannot prompt, …). The message names the two alternatives.
 */
export class KeychainUnavailableError extends Error {
  /** What the keychain library reported. */
  readonly causeMessage: string;

  constructor(causeMessage: string) {
    super(
      `the OS keychain is not available (${causeMessage}); ` +
        'use --identity agent (a key loaded into ssh-agent, SSH_AUTH_SOCK) or --identity ~/.ssh/id_ed25519 (an OpenSSH key file) instead',
    );
    this.name = 'KeychainUnavailableError';
    this.causeMessage = causeMessage;
  }
}
