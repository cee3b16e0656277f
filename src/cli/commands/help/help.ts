import { Argument, type Command } from 'commander';
import type { Factory } from '../../factory.js';
import { UsageError } from '../../errors/usage-error.js';
import { didYouMean } from '../../errors/did-you-mean.js';

export function register(parent: Command, _f: Factory): void {
  parent
    .command('help')
    .description('Show help for opsctl or for a command (opsctl help flags set)')
    .addArgument(new Argument('[command...]', 'command path, e.g. "migrate up"'))
    .action(async (words: string[], _o: unknown, cmd: Command) => run(cmd.parent!, words));
}

/** Prints the help of the command at `words` under `root` (the same text as `--help`). */
export function run(root: Command, words: readonly string[]): void {
  let target = root;
  for (const w of words) {
    const next = target.commands.find((c) => c.name() === w || c.aliases().includes(w));
    if (!next) {
      const names = target.commands.map((c) => c.name()).filter((n) => n !== 'help');
      const where = target === root ? 'opsctl' : `opsctl ${words.slice(0, words.indexOf(w)).join(' ')}`;
      const hint = didYouMean(w, names, 'commands');
      throw new UsageError(`${where} has no command "${w}"`, hint);
    }
    target = next;
  }
  target.outputHelp();
}
