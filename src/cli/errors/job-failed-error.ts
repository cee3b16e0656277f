import { OperationError } from './operation-error.js';

/**
 * A job ended failed or cancelled. Exit 1; under -o json its code is
 * `job.failed` or `job.cancelled` and the job id rides along, so a runbook
 * can tell a failed job from a failed request.
 */
export class JobFailedError extends OperationError {
  readonly jobId: string;
  readonly state: string;
  constructor(jobId: string, state: string, why: string | undefined) {
    super(`job ${jobId} ${state}${why ? `: ${why}` : ''}`);
    this.name = 'JobFailedError';
    this.jobId = jobId;
    this.state = state;
    this.code = state === 'cancelled' ? 'job.cancelled' : 'job.failed';
  }
}
