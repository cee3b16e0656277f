import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import { endpointHelp, summaryOf } from '../../command.js';
import { allowedText, rememberFlags, type FlagView } from './flag-types.js';

export function register(parent: Command, f: Factory): void {
  parent
    .command('list')
    .alias('ls')
    .description(summaryOf('flags.list'))
    .addHelpText('after', endpointHelp('flags.list'))
    .action(async () => run(f));
}

export async function run(f: Factory): Promise<void> {
  const client = await f.client();
  const res = await client.call<{ flags: FlagView[] }>('flags.list');
  await rememberFlags(f, res.flags);
  const out = await f.output();
  out.emit(res, () =>
    out.table(res.flags as unknown as Array<Record<string, unknown>>, [
      { key: 'name', header: 'name', fit: 'id' },
      { key: 'type', header: 'type' },
      { key: 'value', header: 'value', format: (v) => out.colors.bold(String(v)) },
      { key: 'allowed', header: 'allowed', format: (_v, row) => allowedText(row as unknown as FlagView) },
      { key: 'updatedBy', header: 'updated by', optional: true },
      { key: 'updatedAt', header: 'updated at', optional: true },
      { key: 'description', header: 'description', fit: 'text' },
    ], { empty: 'this service has no feature flags' }),
  );
}
