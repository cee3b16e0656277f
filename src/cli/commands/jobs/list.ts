import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import { endpointHelp, remember, summaryOf } from '../../command.js';
import { jobsOf } from '../../jobs/job-types.js';
import { jobColumns } from './job-columns.js';
import { noteJobHosts } from '../../fleet/job-hosts.js';

export function register(parent: Command, f: Factory): void {
  parent
    .command('list')
    .alias('ls')
    .description(summaryOf('jobs.list'))
    .addHelpText('after', endpointHelp('jobs.list'))
    .action(async () => run(f));
}

export async function run(f: Factory): Promise<void> {
  const client = await f.client();
  const res = await client.call('jobs.list');
  const jobs = jobsOf(res);
  await remember(f, 'jobs', jobs.map((j) => j.id));
  await noteJobHosts(f, jobs.map((j) => j.id));
  const out = await f.output();
  out.emit(res, () => out.table(jobs as unknown as Record<string, unknown>[], jobColumns(out.colors), { empty: 'no jobs (finished jobs are kept for a while, then forgotten)' }));
}
