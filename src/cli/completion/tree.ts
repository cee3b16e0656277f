/**
 * A plain snapshot of the commander tree: the one shape the completion
 * engine, the shell-script generators and the man page read, so all three
 * describe exactly the commands `--help` prints.
 */
import type { EventEmitter } from 'node:events';
import type { Argument, Command, Option } from 'commander';
import { completionKindOf, type CompletionKind } from './hints.js';

/** What completes a value: a hint kind, or `identity` (keychain:NAME | agent | FILE). */
export type ValueKind = CompletionKind | 'identity';

export interface OptionModel {
  /** `-o, --output <format>` as declared. */
  flags: string;
  long: string | undefined;
  short: string | undefined;
  description: string;
  /** Whether the option consumes a value, and whether it must. */
  value: 'required' | 'optional' | 'none';
  /** The `<format>` part, for synopses. */
  valueName: string | undefined;
  choices: string[] | undefined;
  kind: ValueKind | undefined;
  defaultValue: unknown;
  negate: boolean;
  mandatory: boolean;
}

export interface ArgumentModel {
  name: string;
  description: string;
  required: boolean;
  variadic: boolean;
  choices: string[] | undefined;
  kind: ValueKind | undefined;
}

export interface CommandModel {
  name: string;
  aliases: string[];
  description: string;
  /** Words from the root to here, root excluded: ['migrate', 'up']. */
  path: string[];
  options: OptionModel[];
  args: ArgumentModel[];
  commands: CommandModel[];
  parent: CommandModel | undefined;
  /** Text the command adds after its --help (endpoint, role, notes), trimmed. */
  helpAfter: string;
}

// Option value kinds by long flag, for options declared without a hint
// (the global --context/--host/--identity/--known-hosts and their context-add twins).
const KIND_BY_LONG: Record<string, ValueKind> = {
  '--context': 'contexts',
  '--host': 'hosts',
  '--hosts-file': 'files',
  '--identity': 'identity',
  '--known-hosts': 'files',
  '--audit-log': 'files',
};

function valueName(flags: string): string | undefined {
  const m = /([<[][^>\]]+[>\]])\s*$/.exec(flags);
  return m ? m[1] : undefined;
}

function optionModel(o: Option): OptionModel {
  const kind = completionKindOf(o) ?? (o.long ? KIND_BY_LONG[o.long] : undefined);
  return {
    flags: o.flags,
    long: o.long,
    short: o.short,
    description: o.description,
    value: o.required ? 'required' : o.optional ? 'optional' : 'none',
    valueName: valueName(o.flags),
    choices: o.argChoices ? [...o.argChoices] : undefined,
    kind,
    defaultValue: o.defaultValue,
    negate: o.negate,
    mandatory: o.mandatory,
  };
}

function argumentModel(a: Argument): ArgumentModel {
  return {
    name: a.name(),
    description: a.description,
    required: a.required,
    variadic: a.variadic,
    choices: a.argChoices ? [...a.argChoices] : undefined,
    kind: completionKindOf(a),
  };
}

// commander keeps addHelpText('after', …) as an 'afterHelp' listener that
// writes into a context; replaying it is the public way to read that text.
function afterHelpText(cmd: Command): string {
  let text = '';
  (cmd as unknown as EventEmitter).emit('afterHelp', { error: false, command: cmd, write: (s: string) => (text += s) });
  return text.trim();
}

/** Snapshots a commander command and its visible subcommands (hidden ones are left out). */
export function commandModel(cmd: Command, parent?: CommandModel): CommandModel {
  const help = cmd.createHelp();
  const model: CommandModel = {
    name: cmd.name(),
    aliases: [...cmd.aliases()],
    description: cmd.description(),
    path: parent ? [...parent.path, cmd.name()] : [],
    options: help.visibleOptions(cmd).map(optionModel),
    args: cmd.registeredArguments.map(argumentModel),
    commands: [],
    parent,
    helpAfter: parent ? afterHelpText(cmd) : '',
  };
  // visibleCommands() adds commander's implicit `help` command, which is not
  // one of ours: keep only registered, non-hidden commands.
  model.commands = help.visibleCommands(cmd).filter((c) => cmd.commands.includes(c)).map((c) => commandModel(c, model));
  return model;
}

/** Options valid at `cmd`: its own, then every ancestor's (commander accepts global options anywhere). */
export function optionsInScope(cmd: CommandModel): OptionModel[] {
  const out: OptionModel[] = [];
  const seen = new Set<string>();
  for (let c: CommandModel | undefined = cmd; c; c = c.parent) {
    for (const o of c.options) {
      const key = o.long ?? o.short ?? o.flags;
      if (seen.has(key)) continue; // a local option shadows a global one of the same name
      seen.add(key);
      out.push(o);
    }
  }
  return out;
}

/** Finds the option a word names (`--output`, `-o`) among those in scope. */
export function findOption(cmd: CommandModel, word: string): OptionModel | undefined {
  return optionsInScope(cmd).find((o) => o.long === word || o.short === word);
}

export function findSubcommand(cmd: CommandModel, word: string): CommandModel | undefined {
  return cmd.commands.find((c) => c.name === word || c.aliases.includes(word));
}

/** Every command of the tree, depth first, root excluded. */
export function allCommands(root: CommandModel): CommandModel[] {
  const out: CommandModel[] = [];
  const visit = (c: CommandModel) => {
    for (const sub of c.commands) {
      out.push(sub);
      visit(sub);
    }
  };
  visit(root);
  return out;
}
