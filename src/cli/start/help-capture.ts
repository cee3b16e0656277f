/**
 * A command's help as a layout (help-render.ts): everything commander puts
 * into it, asked of commander's own Help, with the wrapping left for later.
 * Runs where commander is loaded anyway — at build time for the start-up
 * data, and in tests.
 */
import type { Command, Help } from 'commander';
import type { HelpLayout, HelpSection } from './help-render.js';

function groups<T>(all: readonly T[], visible: readonly T[], group: (x: T) => string): Map<string, T[]> {
  // commander's Help.groupItems: groups in order of first appearance, items in visible order.
  const out = new Map<string, T[]>();
  for (const x of all) if (!out.has(group(x))) out.set(group(x), []);
  for (const x of visible) {
    if (!out.has(group(x))) out.set(group(x), []);
    out.get(group(x))!.push(x);
  }
  return out;
}

/** What `cmd --help` prints after the generated part (its afterHelp listeners), exactly. */
export function afterHelpText(cmd: Command): string {
  let text = '';
  (cmd as unknown as { emit(e: string, c: object): boolean }).emit('afterHelp', { error: false, command: cmd, write: (s: string) => (text += s) });
  return text;
}

export function captureLayout(cmd: Command): HelpLayout {
  const helper = cmd.createHelp() as Help & { showGlobalOptions?: boolean };
  const sections: HelpSection[] = [];
  sections.push({ heading: 'Arguments:', items: helper.visibleArguments(cmd).map((a) => [helper.argumentTerm(a), helper.argumentDescription(a)]) });
  const options = groups(cmd.options, helper.visibleOptions(cmd), (o) => (o as unknown as { helpGroupHeading?: string }).helpGroupHeading ?? 'Options:');
  for (const [heading, list] of options) sections.push({ heading, items: list.map((o) => [helper.optionTerm(o), helper.optionDescription(o)]) });
  if (helper.showGlobalOptions) {
    sections.push({ heading: 'Global Options:', items: helper.visibleGlobalOptions(cmd).map((o) => [helper.optionTerm(o), helper.optionDescription(o)]) });
  }
  const commands = groups(cmd.commands, helper.visibleCommands(cmd), (c) => c.helpGroup() || 'Commands:');
  for (const [heading, list] of commands) sections.push({ heading, items: list.map((c) => [helper.subcommandTerm(c), helper.subcommandDescription(c)]) });
  return { usage: helper.commandUsage(cmd), description: helper.commandDescription(cmd), sections, after: afterHelpText(cmd) };
}
