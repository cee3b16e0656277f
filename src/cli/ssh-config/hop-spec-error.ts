/** A malformed `[user@]host[:port]` or bastion chain; a usage error (exit 2). */
export class HopSpecError extends Error {
  readonly spec: string;

  constructor(message: string, spec: string) {
    super(message);
    this.name = 'HopSpecError';
    this.spec = spec;
  }
}
