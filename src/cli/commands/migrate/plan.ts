import { Option, type Command } from 'commander';
import type { Factory } from '../../factory.js';
import { endpointHelp, remember, summaryOf } from '../../command.js';
import { completeWith } from '../../completion/hints.js';
import { explainBadTarget, namesOf, showPlan, type MigrationPlan } from './migration-plan.js';

export interface MigratePlanOptions {
  to?: string;
}

export function register(parent: Command, f: Factory): void {
  parent
    .command('plan')
    .description(summaryOf('migrations.plan'))
    .addOption(completeWith(new Option('--to <id>', 'stop at this migration (inclusive)'), 'migrations'))
    .addHelpText('after', endpointHelp('migrations.plan'))
    .action(async (o: { to?: string }) => run(f, o.to !== undefined ? { to: o.to } : {}));
}

export async function run(f: Factory, opts: MigratePlanOptions): Promise<void> {
  const client = await f.client();
  const plan = await client.call<MigrationPlan>('migrations.plan', opts.to !== undefined ? { to: opts.to } : {}).catch((e: unknown) => {
    throw explainBadTarget(e);
  });
  const names = namesOf(plan.pending);
  await remember(f, 'migrations', names, { append: true });
  const out = await f.output();
  out.emit(plan, () => {
    if (!names.length) {
      out.success('nothing to migrate: the database is up to date');
      return;
    }
    showPlan(out, names, 'up', plan.planHash);
    out.note(`Apply exactly this plan with: opsctl migrate up${opts.to !== undefined ? ` --to ${opts.to}` : ''}`);
  });
}
