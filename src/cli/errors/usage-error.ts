/**
 * A malformed command line: unknown command, bad flag value, missing context.
 * Exit 2. `hint` is a second line such as "(Did you mean flags?)".
 */
export class UsageError extends Error {
  readonly hint: string | undefined;
  constructor(message: string, hint?: string) {
    super(message);
    this.name = 'UsageError';
    this.hint = hint;
  }
}
