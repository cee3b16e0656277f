/**
 * Build time (scripts/build.mjs): the start-up data of the built-in command
 * tree, taken from the very tree `--help` prints.
 */
import { PassThrough } from 'node:stream';
import type { Command } from 'commander';
import { buildProgram } from '../program.js';
import { commandModel } from '../completion/tree.js';
import { reservedOptionNames } from '../service-commands/command-specs.js';
import { captureLayout } from './help-capture.js';
import { GLOBAL_OPTIONS, storeModel, type StartData } from './start-data.js';

import { asciiJson } from '../ascii-json.js';

export { asciiJson };

export function startData(build: string): StartData {
  const io = { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough(), env: {} };
  const { program, factory } = buildProgram(io);
  const layouts: Record<string, string> = {};
  const globals = captureLayout(program.commands[0]!).sections.find((s) => s.heading === GLOBAL_OPTIONS)?.items ?? [];
  const same = JSON.stringify(globals);
  const visit = (cmd: Command, path: string[]) => {
    const layout = captureLayout(cmd);
    layouts[path.join(' ')] = asciiJson({ ...layout, sections: layout.sections.map((s) => (s.heading === GLOBAL_OPTIONS && s.items.length && JSON.stringify(s.items) === same ? { heading: s.heading, items: [], shared: true as const } : s)) });
    for (const sub of cmd.commands) visit(sub, [...path, sub.name()]);
  };
  visit(program, []);
  return {
    build,
    help: { build, layouts, globalOptions: globals },
    tree: storeModel(commandModel(program)),
    builtins: [...factory.builtinCommands],
    reserved: [...reservedOptionNames(program.options.map((o) => o.long ?? '').filter(Boolean))],
    takesValue: program.options.filter((o) => o.required || o.optional).flatMap((o) => [o.long, o.short].filter((x): x is string => Boolean(x))),
  };
}
