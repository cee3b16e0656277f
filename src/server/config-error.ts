/**
 * Thrown by createInternalPort() when the port must not start: a
 * non-loopback bind, a missing or empty allowlist, an unusable audit log, an
 * invalid endpoint registration.
 */
export class InternalPortConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InternalPortConfigError';
  }
}
