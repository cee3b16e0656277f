/**
 * Walks the words already typed over the command tree the way commander
 * would parse them: options anywhere (global ones too), option values,
 * subcommands, then positional arguments.
 */
import { findOption, findSubcommand, type CommandModel, type OptionModel } from './tree.js';

export interface WalkState {
  /** The deepest command the words reached. */
  command: CommandModel;
  /** Positional arguments given to that command so far. */
  positionals: string[];
  /** Options already given (so a boolean flag is not offered twice). */
  seen: Set<OptionModel>;
  /** Values given to options, by long (or short) flag; later ones win. */
  values: Map<string, string>;
  /** Set when the next word is this option's value. */
  pendingOption: OptionModel | undefined;
  /** After a bare `--` every word is positional. */
  afterDashDash: boolean;
}

function record(state: WalkState, o: OptionModel, value: string | undefined): void {
  state.seen.add(o);
  if (value !== undefined) state.values.set(o.long ?? o.short ?? o.flags, value);
}

// `-vy`, `-ojson`: a cluster of short flags, where a value-taking flag eats
// the rest of the word (or the next word), as commander parses it.
function walkShortCluster(state: WalkState, word: string): void {
  for (let i = 1; i < word.length; i++) {
    const o = findOption(state.command, `-${word[i]}`);
    if (!o) return;
    if (o.value === 'none') {
      record(state, o, undefined);
      continue;
    }
    const rest = word.slice(i + 1);
    if (rest) record(state, o, rest);
    else if (o.value === 'required') state.pendingOption = o;
    else record(state, o, undefined);
    return;
  }
}

/** Walks the completed words (the program name and the word being completed excluded). */
export function walkWords(root: CommandModel, words: readonly string[]): WalkState {
  const state: WalkState = { command: root, positionals: [], seen: new Set(), values: new Map(), pendingOption: undefined, afterDashDash: false };
  for (const word of words) {
    if (state.pendingOption) {
      const o = state.pendingOption;
      state.pendingOption = undefined;
      // An optional value is only taken when it does not look like an option.
      if (o.value === 'required' || !word.startsWith('-')) {
        record(state, o, word);
        continue;
      }
      record(state, o, undefined);
    }
    if (!state.afterDashDash && word === '--') {
      state.afterDashDash = true;
      continue;
    }
    if (!state.afterDashDash && word.startsWith('--')) {
      const eq = word.indexOf('=');
      const o = findOption(state.command, eq >= 0 ? word.slice(0, eq) : word);
      if (!o) continue;
      if (eq >= 0) record(state, o, word.slice(eq + 1));
      else if (o.value === 'none') record(state, o, undefined);
      else state.pendingOption = o;
      continue;
    }
    if (!state.afterDashDash && word.startsWith('-') && word.length > 1) {
      const whole = findOption(state.command, word);
      if (whole) {
        if (whole.value === 'none') record(state, whole, undefined);
        else state.pendingOption = whole;
      } else {
        walkShortCluster(state, word);
      }
      continue;
    }
    const sub = !state.afterDashDash && state.positionals.length === 0 ? findSubcommand(state.command, word) : undefined;
    if (sub) {
      state.command = sub;
      state.positionals = [];
    } else {
      state.positionals.push(word);
    }
  }
  return state;
}
