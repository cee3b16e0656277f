/** A malformed command line: unknown command, bad flag value, missing context. Exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
