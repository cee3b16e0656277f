import { Argument, type Command } from 'commander';
import type { Factory } from '../../factory.js';
import { checkArgument } from '../../params/parse-params.js';
import { endpointHelp, standardEndpoint, summaryOf } from '../../command.js';
import { completeWith } from '../../completion/hints.js';
import { allowedText, type FlagView } from './flag-types.js';

export function register(parent: Command, f: Factory): void {
  parent
    .command('get')
    .description(summaryOf('flags.get'))
    .addArgument(completeWith(new Argument('<name>', 'flag name'), 'flags'))
    .addHelpText('after', endpointHelp('flags.get'))
    .action(async (name: string) => run(f, { name }));
}

export async function run(f: Factory, opts: { name: string }): Promise<void> {
  checkArgument(standardEndpoint('flags.get'), 'name', opts.name);
  const client = await f.client();
  const flag = await client.call<FlagView>('flags.get', { name: opts.name });
  const out = await f.output();
  out.emit(flag, () =>
    out.fields([
      ['name', flag.name],
      ['type', flag.type],
      ['value', out.colors.bold(String(flag.value))],
      ['allowed', allowedText(flag) || `any ${flag.type}`],
      ['default', String(flag.default ?? '')],
      ['description', flag.description ?? ''],
      ['updated by', flag.updatedBy ?? '(never changed)'],
      ['updated at', flag.updatedAt ?? ''],
    ]),
  );
}
