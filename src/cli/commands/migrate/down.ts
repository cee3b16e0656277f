import { Option, type Command } from 'commander';
import type { Factory } from '../../factory.js';
import { endpointHelp, remember, summaryOf } from '../../command.js';
import { completeWith } from '../../completion/hints.js';
import { ensureConfirmable, confirmDestructive } from '../../confirm.js';
import { UsageError } from '../../errors/usage-error.js';
import type { JobStarted } from '../../jobs/job-types.js';
import type { Client } from '../../client/client.js';
import { explainBadTarget, explainConflict, namesOf, showPlan, type MigrationPlan, type MigrationStatus } from './migration-plan.js';
import { runMigrationJob } from './run-migration-job.js';

export interface MigrateDownOptions {
  to: string;
  interrupt?: AbortSignal;
}

export function register(parent: Command, f: Factory): void {
  parent
    .command('down')
    .description(summaryOf('migrations.down'))
    .addOption(completeWith(new Option('--to <id>', 'revert every migration applied after this one (it stays applied); 0 reverts all').makeOptionMandatory(), 'migrations'))
    .addHelpText('after', `${endpointHelp('migrations.down')}\nShows what will be reverted, newest first, asks, then reverts and follows the job.`)
    .action(async (o: { to: string }) => run(f, { to: o.to }));
}

interface DownPlan {
  names: string[];
  planHash: string | undefined;
}

/**
 * The revert plan from the server (newest first, with a hash to send back as
 * expectedPlan, so exactly the reviewed reverts run). A port that plans only
 * upgrades ignores `direction`: then the plan is computed from the status
 * and sent without a hash.
 */
async function planDown(client: Client, to: string): Promise<DownPlan> {
  const plan = await client.call<MigrationPlan>('migrations.plan', { to, direction: 'down' }).catch((e: unknown) => {
    throw explainBadTarget(e);
  });
  if (plan.direction === 'down') return { names: namesOf(plan.pending), planHash: plan.planHash };
  const applied = namesOf((await client.call<MigrationStatus>('migrations.status')).applied);
  if (to !== '0' && !applied.includes(to)) throw new UsageError(`"${to}" is not an applied migration${applied.length ? `; applied: ${applied.join(', ')}` : '; none is applied'}`);
  return { names: (to === '0' ? applied : applied.slice(applied.indexOf(to) + 1)).reverse(), planHash: undefined };
}

export async function run(f: Factory, opts: MigrateDownOptions): Promise<void> {
  await ensureConfirmable(f, 'revert migrations');
  const client = await f.client();
  const plan = await planDown(client, opts.to);
  await remember(f, 'migrations', plan.names, { append: true });
  const out = await f.output();
  if (!plan.names.length) {
    out.emit({ direction: 'down', plan: [], planHash: null, jobId: null, state: 'up-to-date' }, () =>
      out.success(`nothing to revert: ${opts.to === '0' ? 'no migration is applied' : `${opts.to} is the newest applied migration`}`),
    );
    return;
  }
  showPlan(out, plan.names, 'down', plan.planHash);
  const ctx = await f.context();
  await confirmDestructive(f, `revert ${plan.names.length} migration(s)${ctx.name ? ` on ${ctx.name}` : ''}`);
  let started: JobStarted;
  try {
    started = await client.call<JobStarted>('migrations.down', { to: opts.to, ...(plan.planHash ? { expectedPlan: plan.planHash } : {}) });
  } catch (e) {
    throw explainConflict(e, 'down');
  }
  await runMigrationJob(f, started, { direction: 'down', names: plan.names, planHash: plan.planHash, ...(opts.interrupt ? { interrupt: opts.interrupt } : {}) });
}
