import { Argument, type Command } from 'commander';
import type { Factory } from '../../factory.js';
import { checkArgument } from '../../params/parse-params.js';
import { standardEndpoint } from '../../command.js';
import { completeWith } from '../../completion/hints.js';
import { followJob, reportOutcome, throwIfUnsuccessful } from '../../jobs/follow.js';
import type { JobView } from '../../jobs/job-types.js';

export interface JobsWaitOptions {
  id: string;
  /** Give up after this many seconds (the job keeps running). */
  timeout?: number;
  interrupt?: AbortSignal;
}

export function register(parent: Command, f: Factory): void {
  parent
    .command('wait')
    .description('Wait until a job ends; exit status tells how it ended')
    .addArgument(completeWith(new Argument('<id>', 'job id'), 'jobs'))
    .addHelpText('after', '\nWith the global --timeout SECONDS: give up after that long (exit 1, error code job.timeout; the job keeps running).\nStreams jobs.events quietly (a status line on a terminal) and prints the final job like `jobs status` (-o json: one document).\nExit status: 0 succeeded, 1 failed, cancelled or --timeout reached, 130 Ctrl-C (the job keeps running in every case).')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      // --timeout is a global option (the root parses it wherever it is on
      // the line); given explicitly, it also bounds the wait.
      let root = cmd;
      while (root.parent) root = root.parent;
      const timeout = root.getOptionValueSource('timeout') === 'cli' ? f.globals().timeout : undefined;
      return run(f, { id, ...(timeout !== undefined ? { timeout } : {}) });
    });
}

export async function run(f: Factory, opts: JobsWaitOptions): Promise<void> {
  checkArgument(standardEndpoint('jobs.events'), 'id', opts.id);
  const outcome = await followJob(f, opts.id, {
    label: 'waiting for job',
    jsonEvents: 'none',
    ...(opts.timeout !== undefined ? { timeoutMs: opts.timeout * 1000 } : {}),
    ...(opts.interrupt ? { interrupt: opts.interrupt } : {}),
  });
  if (!outcome) return;
  const out = await f.output();
  if (out.json) {
    // The job as jobs.get shows it now that it ended: one document.
    const client = await f.client();
    out.printJson(await client.call<JobView>('jobs.get', { id: opts.id }));
  } else {
    await reportOutcome(f, outcome);
  }
  throwIfUnsuccessful(outcome);
}
