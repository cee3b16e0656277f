/**
 * Service commands on the commander tree: each ServiceCommandSpec becomes a
 * command whose action is `opsctl call`'s (src/cli/commands/call/call.ts):
 * the same confirmation, approval, dry-run, -o json, fleet behaviour and
 * exit codes, because it is the same code.
 */
import { Option, type Command } from 'commander';
import type { Factory } from '../factory.js';
import { UsageError } from '../errors/usage-error.js';
import { collectParam, coerceValue, splitParams } from '../params/parse-params.js';
import { secretSource } from '../params/secret-params.js';
import { listsByDefault } from '../command.js';
import { run as runCall } from '../commands/call/call.js';
import { markServiceEndpoint } from './endpoint-mark.js';
import { nodeDescription, nounListing, serviceTree, type ServiceCommandSet, type ServiceCommandSpec, type ServiceNode, type ServiceOptionSpec } from './command-specs.js';

/** The help heading the service commands are listed under in `opsctl --help`. */
export const SERVICE_COMMANDS_HEADING = 'Service commands:';


function parserFor(o: ServiceOptionSpec): ((raw: string) => string) | undefined {
  const flag = `--${o.param}`;
  switch (o.kind) {
    case 'number':
    case 'json':
      // Typed now, so a typo is a usage error before anything connects; the
      // raw text goes on to call's parser, which types it by the live schema.
      return (raw) => {
        coerceValue(o.param, raw, o.schema, flag);
        return raw;
      };
    case 'secret':
      return (raw) => {
        try {
          secretSource(o.param, raw);
        } catch {
          throw new UsageError(`${flag} is secret and is not taken from the command line (ps and shell history would show it); pass ${flag} @FILE to read it from a file, ${flag} - to read it from standard input, or leave it out to be asked for it without echo on a terminal`);
        }
        return raw;
      };
    default:
      return undefined;
  }
}

function addOption(cmd: Command, o: ServiceOptionSpec): void {
  const option = new Option(o.flags, o.description);
  if (o.choices) option.choices(o.choices);
  if (o.defaultValue !== undefined) option.default(o.defaultValue);
  if (o.mandatory && o.kind !== 'flag') option.makeOptionMandatory();
  const parse = parserFor(o);
  if (parse) option.argParser(parse);
  cmd.addOption(option);
  if (o.negate) {
    const no = new Option(o.negate, `sets ${o.param} to false`);
    cmd.addOption(no);
  }
}

/** `name=raw` pairs of what was given on the command line (defaults are the server's to apply). */
function givenParams(cmd: Command, spec: ServiceCommandSpec, viaParam: string[]): string[] {
  const pairs: string[] = [];
  for (const o of spec.options) {
    const key = new Option(o.flags).attributeName();
    const value: unknown = cmd.getOptionValue(key);
    if (value === undefined || cmd.getOptionValueSource(key) === 'default') continue;
    pairs.push(`${o.param}=${String(value)}`);
  }
  const byOption = new Set(spec.options.map((o) => o.param));
  for (const [name] of splitParams(viaParam)) {
    if (byOption.has(name)) throw new UsageError(`--param ${name}: give it as --${name}`);
  }
  return [...pairs, ...viaParam];
}

function missingMandatory(cmd: Command, spec: ServiceCommandSpec): string[] {
  // A required boolean is mandatory too: --x or --no-x.
  return spec.options.filter((o) => o.kind === 'flag' && o.mandatory && cmd.getOptionValue(new Option(o.flags).attributeName()) === undefined).map((o) => `${o.flags} or ${o.negate}`);
}

function configureLeaf(cmd: Command, spec: ServiceCommandSpec, f: Factory): void {
  markServiceEndpoint(cmd, spec.id);
  cmd.description(spec.summary);
  for (const o of spec.options) addOption(cmd, o);
  if (spec.viaParam.length || spec.extraParams) {
    cmd.addOption(new Option('--param <k=v>', `a param given by name (repeatable): ${spec.viaParam.length ? spec.viaParam.join(', ') : 'one the schema does not list'}`).argParser(collectParam));
  }
  if (spec.job) cmd.option('-f, --follow', 'stream the job until it ends', false);
  cmd.addHelpText('after', spec.helpAfter);
  cmd.action(async (o: { param?: string[]; follow?: boolean }) => {
    const missing = missingMandatory(cmd, spec);
    if (missing.length) throw new UsageError(`endpoint ${JSON.stringify(spec.id)} needs ${missing.join(', ')}`);
    await runCall(f, {
      endpointId: spec.id,
      params: givenParams(cmd, spec, o.param ?? []),
      follow: Boolean(o.follow),
      cached: spec.endpoint,
      paramFlag: (name) => (spec.options.some((x) => x.param === name) ? `--${name} …` : `--param ${name}=…`),
    });
  });
}

/**
 * Adds the service commands of `set` to the root command (after the
 * built-in ones, under their own help heading). Returns the commands added
 * at the root, so the caller can decorate them like built-in ones.
 */
export function addServiceCommands(program: Command, f: Factory, set: ServiceCommandSet): Command[] {
  const add = (parent: Command, node: ServiceNode): Command => {
    // .command() (not new Command) so it inherits the root's settings: help
    // option wording, global options in its help, error output, exit handling.
    const cmd = parent.command(node.name);
    if (parent === program) cmd.helpGroup(SERVICE_COMMANDS_HEADING);
    if (node.spec) configureLeaf(cmd, node.spec, f);
    else cmd.description(nodeDescription(set, node));
    for (const child of node.children) add(cmd, child);
    if (node.children.length && !node.spec) {
      // The noun alone: its `list` endpoint when it has one that needs nothing, else its commands.
      if (nounListing(node)) {
        listsByDefault(cmd, 'list');
      } else {
        cmd.allowExcessArguments().action((_o: unknown, self: Command) => {
          if (self.args.length) (self as unknown as { unknownCommand(): never }).unknownCommand();
          self.outputHelp();
        });
      }
    }
    return cmd;
  };
  return serviceTree(set).map((node) => add(program, node));
}
