/** Which part of the route failed: an SSH hop or the channel to the internal port. */
export type ConnectionFailureKind = 'bastion' | 'host' | 'internal-port';

/** Why it failed, for `opsctl doctor` and tests; the message says it in words. */
export type ConnectionFailureReason =
  | 'unreachable'
  | 'timeout'
  | 'auth'
  | 'closed'
  | 'channel-refused'
  | 'channel-prohibited'
  | 'request-failed';

/**
 * A connection, tunnel or channel failure on the way to the internal port.
 * The message always names the failing hop; the CLI maps it to exit 5.
 */
export class ConnectionError extends Error {
  /** The hop's name as the operator wrote it (alias), or the internal port's address. */
  readonly hop: string;
  readonly kind: ConnectionFailureKind;
  readonly reason: ConnectionFailureReason;
  /** The underlying error's message (socket, SSH or channel level), never key material. */
  readonly causeMessage: string;

  constructor(
    message: string,
    details: { hop: string; kind: ConnectionFailureKind; reason: ConnectionFailureReason; causeMessage?: string },
  ) {
    super(message);
    this.name = 'ConnectionError';
    this.hop = details.hop;
    this.kind = details.kind;
    this.reason = details.reason;
    this.causeMessage = details.causeMessage ?? '';
  }
}
