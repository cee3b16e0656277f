/**
 * The operation ran and failed (a job failed, a check failed, a bad response).
 * Exit 1 unless told otherwise. `code` is the stable name of the failure in
 * the -o json error object (docs/protocol.md lists them).
 */
export class OperationError extends Error {
  readonly exitCode: number;
  code: string;
  hint: string | undefined;
  /** Already said to a human on stderr: the message goes into the -o json error object only. */
  shown: boolean;
  constructor(message: string, exitCode = 1, opts: { code?: string; hint?: string; shown?: boolean } = {}) {
    super(message);
    this.name = 'OperationError';
    this.exitCode = exitCode;
    this.code = opts.code ?? 'failed';
    this.hint = opts.hint;
    this.shown = opts.shown ?? false;
  }
}
