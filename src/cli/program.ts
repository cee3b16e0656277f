/**
 * Builds the whole command tree. --help, the man page and the shell
 * completions are all generated from this one tree. Building it must stay
 * cheap: command files import heavy modules only inside their run functions.
 */
import { Command } from 'commander';
import { addGlobalOptions, readGlobals, type GlobalOptions } from './globals.js';
import { createFactory, type Factory } from './factory.js';
import type { IOStreams } from './io.js';
import { NOUNS } from './commands/index.js';

export const VERSION = '0.1.0';

export interface Program {
  program: Command;
  factory: Factory;
}

export function buildProgram(io: IOStreams): Program {
  let globals: GlobalOptions | undefined;
  const program = new Command('opsctl');
  const factory = createFactory(io, () => {
    globals ??= readGlobals(program);
    return globals;
  });
  program
    .description('Reach a service\'s internal port through SSH bastions: signed, audited operational control.')
    .version(VERSION, '--version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .helpCommand(false)
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (s, write) => write(`opsctl: ${s.replace(/^error: /, '')}`),
    });
  addGlobalOptions(program);
  program.addHelpText('after', '\nExit status: 0 ok, 1 failed, 2 usage, 3 auth denied, 4 not confirmed, 5 connection/host key, 6 conflict, 130 interrupted.\nRun "opsctl <command> --help" for a command\'s options; "man opsctl" for everything.');
  for (const register of NOUNS) register(program, factory);
  return { program, factory };
}
