/**
 * What `opsctl --help` and TAB need of the built-in command tree, written
 * at build time next to the bundle (dist/cli/start-data.json) so they can
 * answer without building the tree (docs/architecture.md, "Start-up"): each
 * command's help layout, the tree as the completion engine reads it, and the
 * names that decide where service commands may go.
 */
import type { CommandModel } from '../completion/tree.js';
import type { HelpLayout } from './help-render.js';

export const GLOBAL_OPTIONS = 'Global Options:';

/** A stored layout as captured (its shared global options put back). */
export function expandLayout(stored: string, data: Pick<StartHelp, 'globalOptions'>): HelpLayout {
  const layout = JSON.parse(stored) as HelpLayout;
  return { ...layout, sections: layout.sections.map((s) => (s.shared ? { heading: s.heading, items: data.globalOptions } : s)) };
}

/**
 * A CommandModel without its parent links (JSON has no cycles) and without
 * its help text (`helpAfter` is for the man page; completion never reads it).
 */
export type StoredModel = Omit<CommandModel, 'parent' | 'commands'> & { commands: StoredModel[] };

/** The help part, a file of its own (dist/cli/start-help.json): TAB never reads it. */
export interface StartHelp {
  build: string;
  /**
   * Help layouts by command path ('' is the root, 'flags set' a subcommand).
   * A `Global Options:` section whose items equal `globalOptions` is stored
   * without them (`shared`; they are the same for every command):
   * expandLayout puts them back. Each layout is kept as JSON text, parsed
   * when asked for: reading the file then only scans strings, and one page
   * of help parses one layout, not sixty.
   */
  layouts: Record<string, string>;
  globalOptions: Array<[string, string]>;
}

export interface StartData {
  /** The build that wrote it: a file from another build is not used. */
  build: string;
  /** The help part when it was read with the rest (tests); else read when help is asked for. */
  help?: StartHelp;
  tree: StoredModel;
  /** Root command names and aliases (what a service endpoint's first word may not be). */
  builtins: string[];
  /** Long option names a service param cannot take (reservedOptionNames). */
  reserved: string[];
  /** The root's options that take a value (`--context`, `-o`), to find the command word. */
  takesValue: string[];
}

export function storeModel(m: CommandModel): StoredModel {
  const { parent: _parent, commands, ...rest } = m;
  return { ...rest, helpAfter: '', commands: commands.map(storeModel) };
}

/** The stored tree as CommandModels: parent links set in place (the stored object is freshly parsed, and this is cheaper than a copy). */
export function loadModel(s: StoredModel, parent?: CommandModel): CommandModel {
  const m = s as unknown as CommandModel;
  m.parent = parent;
  for (const c of s.commands) loadModel(c, m);
  return m;
}
