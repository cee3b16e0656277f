import { OperationError } from '../errors/operation-error.js';
import { ExitCode } from '../../protocol/exit-codes.js';

/**
 * The event stream of a job broke before the job ended and could not be
 * taken up again within --timeout (the SSH connection died, or the service
 * stopped answering). The job is server-owned, so this is a connection
 * failure (exit 5) with a re-attach hint, not a failed job. It stays an
 * OperationError by name so the one error→exit map handles it.
 */
export class JobStreamLostError extends OperationError {
  readonly jobId: string;
  constructor(jobId: string, cause: string, fate = 'the job keeps running on the server') {
    super(`lost the event stream of job ${jobId} (${cause}); ${fate}`, ExitCode.CONNECTION, { code: 'job.stream_lost', hint: reattachHint(jobId) });
    this.jobId = jobId;
  }
}

export function reattachHint(jobId: string): string {
  return `Re-attach with: opsctl jobs logs ${jobId} --follow`;
}
