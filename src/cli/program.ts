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
import { CLIENT_VERSION } from './client-version.js';
import { examplesHelp } from './man/command-examples.js';
import { completionKindOf, type CompletionKind } from './completion/hints.js';
import { cachedValues } from './completion/cached-values.js';
import { wantsFleet } from './fleet/fleet-scope.js';
import { quoted } from '../protocol/wording.js';
import { firstCommandWord, selectedContext, serviceCommandSet } from './service-commands/load.js';
import { reservedOptionNames, serviceCommandsNote } from './service-commands/command-specs.js';
import { serviceEndpointOf } from './service-commands/endpoint-mark.js';

export const VERSION = CLIENT_VERSION;

export interface Program {
  program: Command;
  factory: Factory;
  /** The command whose action ran (set just before it runs), for the error handler. */
  actionCommand(): Command | undefined;
  /**
   * commander's own error text (unknown option, missing argument…), kept
   * instead of printed under -o json so the error handler can put it into
   * the JSON error object.
   */
  commanderError(): string | undefined;
  /**
   * Adds the service commands (README, "Service commands") of the catalog
   * cached for the context `argv` selects, when the line may need them: no
   * command yet (`--help`), `help`, or a word that is no built-in command.
   * Local files only; never the network.
   */
  addServiceCommands(argv: readonly string[]): Promise<void>;
}

/** How to list the values of a kind, for "missing argument" messages. */
const LIST_COMMAND: Partial<Record<CompletionKind, string>> = {
  flags: 'opsctl flags list',
  tasks: 'opsctl tasks list',
  jobs: 'opsctl jobs list',
  migrations: 'opsctl migrate status',
  endpoints: 'opsctl endpoints',
  contexts: 'opsctl context list',
  keys: 'opsctl keys list',
};

function commandPath(cmd: Command): string {
  const words: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) words.unshift(c.name());
  return words.join(' ');
}

/**
 * commander quotes names in single quotes (`unknown command 'flgs'`); the
 * rest of opsctl, server refusals included, writes them in double quotes
 * (src/protocol/wording.ts). Its messages are rewritten to match.
 */
export function doubleQuoted(text: string): string {
  return text.replace(/'([^'\n]*)'/g, (_m, inner: string) => quoted(inner));
}

function wantsJson(program: Command): boolean {
  return (program.opts() as { output?: unknown }).output === 'json';
}

export function buildProgram(io: IOStreams): Program {
  let globals: GlobalOptions | undefined;
  let action: Command | undefined;
  let commanderText: string | undefined;
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
      outputError: (s, write) => {
        const text = doubleQuoted(s.replace(/^error: /, ''));
        // Under -o json the error handler writes it once, as the JSON error object.
        if (wantsJson(program)) commanderText = text;
        else write(`opsctl: ${text}`);
      },
    });
  addGlobalOptions(program);
  // Set once the service commands are known: where they come from, or how to get them.
  let serviceNote = '';
  program.addHelpText('after', () => `${serviceNote}\nExit status: 0 ok, 1 failed, 2 usage, 3 auth denied, 4 not confirmed, 5 connection/host key, 6 conflict, 130 interrupted.\nRun "opsctl help <command>" (or "opsctl <command> --help") for a command's options and examples; "man opsctl" for everything.`);
  for (const register of NOUNS) register(program, factory);
  factory.builtinCommands = program.commands.flatMap((c) => [c.name(), ...c.aliases()]);
  program.hook('preAction', (_root, actionCommand) => {
    action = actionCommand;
  });

  const decorate = (cmd: Command) => {
    // One `help` command, the root's own (opsctl help tasks run): no
    // commander-worded "help [command]  display help for command" per noun.
    cmd.helpCommand(false);
    const examples = examplesHelp(commandPath(cmd));
    if (examples) cmd.addHelpText('after', examples);
    // "missing required argument 'name'" plus what it could be, from the
    // local completion cache (never the network): the names TAB would offer.
    // commander calls this (undeclared in its types) when an argument is missing.
    (cmd as unknown as { missingArgument(name: string): never }).missingArgument = (name: string): never => {
      const arg = cmd.registeredArguments.find((a) => a.name() === name);
      const kind = arg ? completionKindOf(arg) : undefined;
      let more = '';
      if (kind) {
        const values = cachedValues(io.env, kind, (program.opts() as { context?: string }).context);
        const list = LIST_COMMAND[kind];
        more = values.length
          ? `\n${kind}: ${values.slice(0, 12).join(', ')}${values.length > 12 ? ', …' : ''}${list ? ` (see ${list})` : ''}`
          : list ? `\n(see ${list})` : '';
      }
      return cmd.error(`error: missing required argument ${quoted(name)}${more}`, { code: 'commander.missingArgument', exitCode: 2 });
    };
    cmd.commands.forEach(decorate);
  };
  program.commands.forEach(decorate);
  fanOutWhenSeveralHosts(program, factory, program.commands);

  let servicesAdded = false;
  const addServiceCommands = async (argv: readonly string[]) => {
    if (servicesAdded) return;
    servicesAdded = true;
    const takesValue = new Set(program.options.filter((o) => o.required || o.optional).flatMap((o) => [o.long, o.short].filter((x): x is string => Boolean(x))));
    const word = firstCommandWord(argv, { takesValue });
    const builtins = new Set(factory.builtinCommands);
    if (word !== undefined && word !== 'help' && builtins.has(word)) return;
    const context = await selectedContext(io.env, argv);
    const set = serviceCommandSet(io.env, context, builtins, reservedOptionNames(program.options.map((o) => o.long ?? '').filter(Boolean)));
    serviceNote = serviceCommandsNote(set, context);
    if (!set?.commands.length) return;
    const { addServiceCommands: register } = await import('./service-commands/register.js');
    const added = register(program, factory, set);
    added.forEach(decorate);
    fanOutWhenSeveralHosts(program, factory, added);
  };
  return { program, factory, actionCommand: () => action, commanderError: () => commanderText, addServiceCommands };
}

type ActionHandler = (args: unknown[]) => unknown;

/**
 * Every command that talks to the service runs once per host when several
 * are selected (src/cli/fleet): its action is wrapped, not rewritten, so
 * command files stay written for one host. The fleet code loads only then.
 */
function fanOutWhenSeveralHosts(program: Command, f: Factory, commands: readonly Command[]): void {
  const wrap = (sub: Command, path: string[]) => {
    const c = sub as unknown as { _actionHandler: ActionHandler | null };
    const original = c._actionHandler;
    const endpointId = serviceEndpointOf(sub);
    if (original) {
      c._actionHandler = async (args: unknown[]) => {
        if (!(await wantsFleet(f, path.join(' '), args, endpointId))) return original(args);
        const { runFleet } = await import('./fleet/run-fleet.js');
        return runFleet(f, { path: path.join(' '), args, options: sub.opts(), action: async () => { await original(args); }, ...(endpointId ? { endpointId } : {}) });
      };
    }
    for (const child of sub.commands) wrap(child, [...path, child.name()]);
  };
  for (const sub of commands) if (sub.parent === program) wrap(sub, [sub.name()]);
}
