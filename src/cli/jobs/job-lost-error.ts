import { OperationError } from '../errors/operation-error.js';
import { ExitCode } from '../../protocol/exit-codes.js';

/**
 * A followed job went away with the service process that ran it: the stream
 * broke, the internal port came back as another instance (`Opsctl-Instance`
 * changed) and does not know the job. Jobs live in the process that runs
 * them (README, "Long work"), so it did not finish and re-attaching cannot
 * help. Exit 1 (the operation did not succeed), code `job.lost`; what it did
 * before the restart is in the audit log.
 */
export class JobLostError extends OperationError {
  readonly jobId: string;
  constructor(jobId: string, before: string, now: string) {
    super(
      `job ${jobId} did not survive a restart of the service: it ran on instance ${before}, the internal port now answers as instance ${now} and does not know it`,
      ExitCode.FAILED,
      { code: 'job.lost', hint: 'See what it did before the restart with: opsctl audit tail (the service log says why it restarted); start it again if it still needs to run' },
    );
    this.jobId = jobId;
  }
}
