/**
 * The service commands as the completion engine sees them (CommandModel),
 * built from their specs without commander: what commandModel() reads off
 * the commander commands register.ts makes, field for field (a test holds
 * the two together), so TAB at start-up needs neither commander nor the
 * command tree.
 */
import type { CommandModel, OptionModel } from '../completion/tree.js';
import { leafHasOptions, nodeDescription, nounListing, serviceTree, type ServiceCommandSet, type ServiceNode, type ServiceOptionSpec } from '../service-commands/command-specs.js';

function option(flags: string, description: string, extra: Partial<OptionModel> = {}): OptionModel {
  // As commander's Option reads its flags: a short flag first, then a long one.
  const parts = flags.split(/[ |,]+/);
  const short = /^-[^-]$/.test(parts[0]!) ? parts.shift() : undefined;
  const long = /^--[^-]/.test(parts[0] ?? '') ? parts.shift() : undefined;
  const value = flags.includes('<') ? 'required' : flags.includes('[') ? 'optional' : 'none';
  const valueName = /([<[][^>\]]+[>\]])\s*$/.exec(flags)?.[1];
  return {
    flags,
    long,
    short,
    description,
    value,
    valueName,
    choices: undefined,
    kind: undefined,
    defaultValue: undefined,
    negate: Boolean(long?.startsWith('--no-')),
    mandatory: false,
    ...extra,
  };
}

function specOptions(o: ServiceOptionSpec): OptionModel[] {
  const main = option(o.flags, o.description, {
    choices: o.choices ? [...o.choices] : undefined,
    defaultValue: o.defaultValue,
    mandatory: o.mandatory && o.kind !== 'flag',
  });
  return o.negate ? [main, option(o.negate, `sets ${o.param} to false`)] : [main];
}

/** The models of the service commands, attached under `root` after the built-in ones. */
export function addServiceModels(root: CommandModel, set: ServiceCommandSet, helpOption: OptionModel): void {
  const build = (node: ServiceNode, parent: CommandModel): CommandModel => {
    const spec = node.spec;
    const optionsOf = (): OptionModel[] => {
      const options: OptionModel[] = [];
      if (spec) {
        for (const o of spec.options) options.push(...specOptions(o));
        if (spec.viaParam.length || spec.extraParams) {
          options.push(option('--param <k=v>', `a param given by name (repeatable): ${spec.viaParam.length ? spec.viaParam.join(', ') : 'one the schema does not list'}`));
        }
        if (spec.job) options.push(option('-f, --follow', 'stream the job until it ends', { defaultValue: false }));
      }
      options.push(helpOption);
      return options;
    };
    const helpAfterOf = () => {
      const listing = node.children.length && !spec && nounListing(node);
      return (spec ? spec.helpAfter : listing ? `\nWith no command, opsctl ${node.name} runs opsctl ${node.name} list.` : '').trim();
    };
    const model = { name: node.name, aliases: [], description: nodeDescription(set, node), path: node.words } as unknown as CommandModel;
    // Worked out when read: TAB looks into the one command it completes.
    let options: OptionModel[] | undefined;
    let helpAfter: string | undefined;
    Object.defineProperty(model, 'options', { enumerable: true, get: () => (options ??= optionsOf()) });
    Object.assign(model, { args: [], commands: [], parent });
    Object.defineProperty(model, 'helpAfter', { enumerable: true, get: () => (helpAfter ??= helpAfterOf()) });
    model.commands = node.children.map((c) => build(c, model));
    return model;
  };
  for (const node of serviceTree(set)) root.commands.push(build(node, root));
}

/** The `Service commands:` rows of `opsctl --help`: commander's subcommandTerm and description of each. */
export function serviceHelpRows(set: ServiceCommandSet): Array<[string, string]> {
  return serviceTree(set).map((node) => [`${node.name}${leafHasOptions(node.spec) ? ' [options]' : ''}`, nodeDescription(set, node)]);
}
