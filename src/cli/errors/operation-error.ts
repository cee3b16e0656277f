/** The operation ran and failed (a job failed, a check failed, a bad response). Exit 1. */
export class OperationError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'OperationError';
    this.exitCode = exitCode;
  }
}
