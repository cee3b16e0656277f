import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import { endpointHelp, remember, summaryOf } from '../../command.js';
import { namesOf, type MigrationStatus } from './migration-plan.js';

export function register(parent: Command, f: Factory): void {
  parent
    .command('status')
    .description(summaryOf('migrations.status'))
    .addHelpText('after', endpointHelp('migrations.status'))
    .action(async () => run(f));
}

export async function run(f: Factory): Promise<void> {
  const client = await f.client();
  const status = await client.call<MigrationStatus>('migrations.status');
  const applied = namesOf(status.applied);
  const pending = namesOf(status.pending);
  await remember(f, 'migrations', [...applied, ...pending]);
  const out = await f.output();
  out.emit(status, () => {
    const c = out.colors;
    out.table(
      [...applied.map((name) => ({ name, state: 'applied' })), ...pending.map((name) => ({ name, state: 'pending' }))],
      [
        { key: 'name', header: 'migration', fit: 'id' },
        { key: 'state', header: 'state', format: (v) => (v === 'applied' ? c.green('applied') : c.yellow('pending')) },
      ],
      { empty: 'no migrations registered' },
    );
    out.note(pending.length ? `${applied.length} applied, ${pending.length} pending: review with opsctl migrate plan` : `${applied.length} applied, up to date`);
  });
}
