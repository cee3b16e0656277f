/** A destructive action was not confirmed (declined, or no TTY and no --yes). Exit 4. */
export class NotConfirmedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotConfirmedError';
  }
}
