import { Argument, type Command } from 'commander';
import type { Factory } from '../../factory.js';
import { checkArgument } from '../../params/parse-params.js';
import { endpointHelp, standardEndpoint, summaryOf } from '../../command.js';
import { completeWith } from '../../completion/hints.js';
import { ensureReason } from '../../confirm.js';
import type { JobView } from '../../jobs/job-types.js';
import { stateText } from './job-columns.js';

export function register(parent: Command, f: Factory): void {
  parent
    .command('cancel')
    .description(summaryOf('jobs.cancel'))
    .addArgument(completeWith(new Argument('<id>', 'job id'), 'jobs'))
    .addHelpText('after', endpointHelp('jobs.cancel'))
    .action(async (id: string) => run(f, { id }));
}

export async function run(f: Factory, opts: { id: string }): Promise<void> {
  checkArgument(standardEndpoint('jobs.cancel'), 'id', opts.id);
  await ensureReason(f, `cancelling job ${opts.id}`);
  const client = await f.client();
  const job = await client.call<JobView>('jobs.cancel', { id: opts.id });
  const out = await f.output();
  out.emit(job, () => {
    if (job.state === 'running' || job.state === 'queued') {
      out.success(`cancel requested for job ${job.id}; it stops at its next safe point`);
      out.note(`Watch it end with: opsctl jobs logs ${job.id} --follow`);
    } else {
      out.note(`job ${job.id} already ended: ${stateText(out.colors, job.state)}`);
    }
  });
}
