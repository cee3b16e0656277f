import { Argument, type Command } from 'commander';
import type { Factory } from '../../factory.js';
import { endpointHelp } from '../../command.js';
import { completeWith } from '../../completion/hints.js';
import { setFlag } from './set-flag.js';

export function register(parent: Command, f: Factory): void {
  parent
    .command('disable')
    .description('Set a boolean feature flag to false')
    .addArgument(completeWith(new Argument('<name>', 'boolean flag name'), 'flags'))
    .addHelpText('after', endpointHelp('flags.set'))
    .action(async (name: string) => run(f, { name }));
}

export async function run(f: Factory, opts: { name: string }): Promise<void> {
  await setFlag(f, opts.name, { boolean: false });
}
