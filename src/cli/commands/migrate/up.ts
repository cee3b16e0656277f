import { Option, type Command } from 'commander';
import type { Factory } from '../../factory.js';
import { endpointHelp, remember, summaryOf } from '../../command.js';
import { completeWith } from '../../completion/hints.js';
import { ensureConfirmable, confirmDestructive } from '../../confirm.js';
import type { JobStarted } from '../../jobs/job-types.js';
import { explainBadTarget, explainConflict, namesOf, showPlan, type MigrationPlan } from './migration-plan.js';
import { runMigrationJob } from './run-migration-job.js';

export interface MigrateUpOptions {
  to?: string;
  interrupt?: AbortSignal;
}

export function register(parent: Command, f: Factory): void {
  parent
    .command('up')
    .description(summaryOf('migrations.up'))
    .addOption(completeWith(new Option('--to <id>', 'stop at this migration (inclusive)'), 'migrations'))
    .addHelpText('after', `${endpointHelp('migrations.up')}\nShows the plan, asks, then applies exactly that plan (its hash is sent as expectedPlan) and follows the job.`)
    .action(async (o: { to?: string }) => run(f, o.to !== undefined ? { to: o.to } : {}));
}

export async function run(f: Factory, opts: MigrateUpOptions): Promise<void> {
  // Before anything is sent, not even the plan request.
  await ensureConfirmable(f, 'apply migrations');
  const client = await f.client();
  const toParam = opts.to !== undefined ? { to: opts.to } : {};
  const plan = await client.call<MigrationPlan>('migrations.plan', toParam).catch((e: unknown) => {
    throw explainBadTarget(e);
  });
  const names = namesOf(plan.pending);
  await remember(f, 'migrations', names, { append: true });
  const out = await f.output();
  if (!names.length) {
    out.emit({ direction: 'up', plan: [], planHash: plan.planHash, jobId: null, state: 'up-to-date' }, () =>
      out.success('nothing to migrate: the database is up to date'),
    );
    return;
  }
  showPlan(out, names, 'up', plan.planHash);
  const ctx = await f.context();
  await confirmDestructive(f, `apply ${names.length} migration(s)${ctx.name ? ` on ${ctx.name}` : ''}`);
  let started: JobStarted;
  try {
    started = await client.call<JobStarted>('migrations.up', { ...toParam, expectedPlan: plan.planHash });
  } catch (e) {
    throw explainConflict(e, 'up');
  }
  await runMigrationJob(f, started, { direction: 'up', names, planHash: plan.planHash, ...(opts.interrupt ? { interrupt: opts.interrupt } : {}) });
}
