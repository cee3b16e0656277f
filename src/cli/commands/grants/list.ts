import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import { endpointHelp, summaryOf } from '../../command.js';
import type { GrantList } from '../../../protocol/grants.js';
import { grantColumns } from './grant-columns.js';

export function register(parent: Command, f: Factory): void {
  parent
    .command('list')
    .alias('ls')
    .description(summaryOf('grants.list'))
    .addHelpText('after', `${endpointHelp('grants.list')}\nEXPIRES is relative to now ("in 1h59m", "3m ago"); -o json prints {grants, maxTtlSeconds} with ISO times.`)
    .action(async () => { await run(f); });
}

export async function run(f: Factory): Promise<GrantList> {
  const client = await f.client();
  const res = await client.call<GrantList>('grants.list');
  const out = await f.output();
  out.emit(res, () => {
    out.table(res.grants as unknown as Record<string, unknown>[], grantColumns(out), { empty: 'no grants are active or ended recently' });
  });
  return res;
}
