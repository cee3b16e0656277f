import { Argument, type Command } from 'commander';
import type { Factory } from '../../factory.js';
import { checkArgument } from '../../params/parse-params.js';
import { endpointHelp, standardEndpoint, summaryOf } from '../../command.js';
import { completeWith } from '../../completion/hints.js';
import type { JobView } from '../../jobs/job-types.js';
import { JobFailedError } from '../../errors/job-failed-error.js';
import { jobWhat, progressText, stateText } from './job-columns.js';

export function register(parent: Command, f: Factory): void {
  parent
    .command('status')
    .alias('get')
    .description(summaryOf('jobs.get'))
    .addArgument(completeWith(new Argument('<id>', 'job id'), 'jobs'))
    .addHelpText('after', `${endpointHelp('jobs.get')}\nExit status: 0 while the job is queued or running and when it succeeded, 1 when it failed or was cancelled.`)
    .action(async (id: string) => run(f, { id }));
}

export async function run(f: Factory, opts: { id: string }): Promise<void> {
  checkArgument(standardEndpoint('jobs.get'), 'id', opts.id);
  const client = await f.client();
  const job = await client.call<JobView>('jobs.get', { id: opts.id });
  const out = await f.output();
  out.emit(job, () => {
    const c = out.colors;
    const pairs: Array<[string, unknown]> = [
      ['id', job.id],
      ['what', jobWhat(job.endpoint, job.name)],
      ['state', stateText(c, job.state) + (job.cancelRequested && job.state === 'running' ? c.yellow(' (cancel requested)') : '')],
      ['progress', progressText(job.progress)],
      ['started by', job.startedBy ?? ''],
      ['started at', job.startedAt ?? ''],
      ['ended at', job.endedAt ?? ''],
    ];
    if (job.error) pairs.push(['error', `${job.error.message ?? ''}${job.error.code ? ` [${job.error.code}]` : ''}`]);
    if (job.result !== undefined && job.result !== null) pairs.push(['result', job.result]);
    out.fields(pairs);
  });
  // A runbook branches on the exit status: a failed job is a failure here
  // too. The error itself is in the fields above, so the message stays short.
  if (job.state === 'failed' || job.state === 'cancelled') throw new JobFailedError(job.id, job.state, undefined);
}
