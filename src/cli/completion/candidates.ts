/**
 * Decides what completes the current word, given where the walk over the
 * typed words ended. Pure: live values come from an injected source, so the
 * rules are the same whatever the shell and wherever the values live.
 */
import { optionsInScope, type ArgumentModel, type CommandModel, type OptionModel, type ValueKind } from './tree.js';
import { walkWords, type WalkState } from './walk.js';

export interface Candidate {
  value: string;
  description?: string;
}

export interface Completion {
  candidates: Candidate[];
  /** The shell should also offer file names. */
  files: boolean;
}

/** Where live values (contexts, cached flag names, keys) come from. */
export interface LiveValues {
  values(kind: ValueKind, state: WalkState, prefix: string): Promise<Candidate[]>;
}

const SHELLS: Candidate[] = [
  { value: 'bash', description: 'Bash (no bash-completion package needed)' },
  { value: 'zsh', description: 'Zsh' },
  { value: 'fish', description: 'Fish' },
];

function byPrefix(list: Candidate[], prefix: string): Candidate[] {
  const seen = new Set<string>();
  return list.filter((c) => {
    if (!c.value.startsWith(prefix) || seen.has(c.value)) return false;
    seen.add(c.value);
    return true;
  });
}

async function valuesFor(
  target: { choices: string[] | undefined; kind: ValueKind | undefined },
  state: WalkState,
  prefix: string,
  live: LiveValues,
): Promise<Completion> {
  if (target.kind === 'shells') return { candidates: byPrefix(SHELLS, prefix), files: false };
  if (target.choices) return { candidates: byPrefix(target.choices.map((value) => ({ value })), prefix), files: false };
  switch (target.kind) {
    case undefined:
      return { candidates: [], files: false };
    case 'files':
      return { candidates: [], files: true };
    case 'identity':
      // keychain:NAME and agent, and a key file path.
      return { candidates: byPrefix(await live.values('identity', state, prefix), prefix), files: !prefix.startsWith('keychain:') };
    default:
      return { candidates: byPrefix(await live.values(target.kind, state, prefix), prefix), files: false };
  }
}

function optionCandidates(state: WalkState, prefix: string): Candidate[] {
  const out: Candidate[] = [];
  const shortToo = prefix.startsWith('-') && !prefix.startsWith('--');
  for (const o of optionsInScope(state.command)) {
    // A boolean flag given once is done; value options may repeat (--param).
    if (o.value === 'none' && state.seen.has(o)) continue;
    if (o.long === '--version' && state.command.parent) continue;
    if (o.long) out.push({ value: o.long, description: o.description });
    if (o.short && shortToo) out.push({ value: o.short, description: o.description });
  }
  return byPrefix(out, prefix);
}

function subcommandCandidates(cmd: CommandModel, prefix: string): Candidate[] {
  return byPrefix(cmd.commands.map((c) => ({ value: c.name, description: c.description })), prefix);
}

function argumentAt(cmd: CommandModel, index: number): ArgumentModel | undefined {
  const last = cmd.args[cmd.args.length - 1];
  return cmd.args[index] ?? (last?.variadic ? last : undefined);
}

/**
 * Completes the last word of `words` (the program name first, the word being
 * completed last, possibly empty).
 */
export async function completeLine(root: CommandModel, words: readonly string[], live: LiveValues): Promise<Completion> {
  const typed = words.slice(1, -1);
  const current = words.length > 1 ? words[words.length - 1]! : '';
  const state = walkWords(root, typed);

  if (state.pendingOption) return valuesFor(state.pendingOption, state, current, live);

  if (!state.afterDashDash && current.startsWith('--') && current.includes('=')) {
    const name = current.slice(0, current.indexOf('='));
    const o: OptionModel | undefined = optionsInScope(state.command).find((x) => x.long === name);
    if (!o || o.value === 'none') return { candidates: [], files: false };
    const r = await valuesFor(o, state, current.slice(name.length + 1), live);
    return { candidates: r.candidates.map((c) => ({ ...c, value: `${name}=${c.value}` })), files: r.files };
  }

  if (!state.afterDashDash && current.startsWith('-')) return { candidates: optionCandidates(state, current), files: false };

  if (state.command.commands.length && state.positionals.length === 0) {
    return { candidates: subcommandCandidates(state.command, current), files: false };
  }

  const arg = argumentAt(state.command, state.positionals.length);
  if (arg) return valuesFor(arg, state, current, live);
  // Nothing positional left to give: the options are what can still come.
  if (!state.afterDashDash && current === '') return { candidates: optionCandidates(state, current), files: false };
  return { candidates: [], files: false };
}
