/**
 * `opsctl tunnel` cannot serve: unsafe socket directory, a tunnel already
 * running for the context, a non-loopback listen address. Exit 5 like every
 * tunnel failure.
 */
export class TunnelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TunnelError';
  }
}
