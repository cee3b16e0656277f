import { Argument, type Command } from 'commander';
import type { Factory } from '../../factory.js';
import { endpointHelp, summaryOf } from '../../command.js';
import { completeWith } from '../../completion/hints.js';
import { setFlag } from './set-flag.js';

export function register(parent: Command, f: Factory): void {
  parent
    .command('set')
    .description(summaryOf('flags.set'))
    .addArgument(completeWith(new Argument('<name>', 'flag name'), 'flags'))
    .addArgument(completeWith(new Argument('<value>', 'new value, typed as the flag (boolean: true/false/on/off/yes/no/1/0; integer or number within the flag\'s bounds; percentage 0-100; string, one of its enum if it has one): `flags get NAME` shows what it accepts'), 'flag-values'))
    .addHelpText('after', endpointHelp('flags.set'))
    .action(async (name: string, value: string) => run(f, { name, value }));
}

export async function run(f: Factory, opts: { name: string; value: string }): Promise<void> {
  await setFlag(f, opts.name, { raw: opts.value });
}
