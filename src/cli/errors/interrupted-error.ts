/** The operator pressed Ctrl-C. Exit 130. `hint` says how to pick up again (e.g. re-attach to a job). */
export class InterruptedError extends Error {
  readonly hint: string | undefined;
  constructor(message = 'interrupted', hint?: string) {
    super(message);
    this.name = 'InterruptedError';
    this.hint = hint;
  }
}
