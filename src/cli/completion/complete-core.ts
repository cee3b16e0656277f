/**
 * The line protocol of `opsctl __complete <shell> -- <words…>` around the
 * completion engine, for any source of the command tree: the commander tree
 * (complete.ts) or the start-up snapshot (src/cli/start/start.ts), so both
 * answer TAB byte for byte alike.
 */
import type { IOStreams } from '../io.js';
import { completeLine, type Candidate, type LiveValues } from './candidates.js';
import type { CommandModel } from './tree.js';
import { COMPLETION_SHELLS, FILES_DIRECTIVE, type CompletionShell } from './shells.js';

const isJoiner = (w: string) => /^[=:]+$/.test(w);

/**
 * Bash splits words at COMP_WORDBREAKS (`=` and `:`), so `--output=js`
 * arrives as `--output`, `=`, `js`. Glue such pieces back; return the glued
 * words and how many characters of the glued current word bash does not
 * consider part of its current word (they must be cut off the candidates).
 */
export function joinBashWords(words: readonly string[]): { words: string[]; cut: number } {
  const out: string[] = [];
  let glue = false;
  for (const w of words) {
    if (out.length && (glue || isJoiner(w))) out[out.length - 1] += w;
    else out.push(w);
    glue = isJoiner(w);
  }
  const raw = words[words.length - 1] ?? '';
  const joined = out[out.length - 1] ?? '';
  const cut = joined.endsWith(raw) ? joined.length - raw.length : 0;
  return { words: out, cut };
}

function descriptionText(d: string | undefined): string {
  return (d ?? '').split('\n')[0]!.replace(/\s+/g, ' ').trim().slice(0, 100);
}

function format(shell: CompletionShell, c: Candidate, cut: number): string {
  const value = c.value.slice(cut);
  if (shell === 'bash') return value;
  const d = descriptionText(c.description);
  return d ? `${value}\t${d}` : value;
}

/**
 * Answers one TAB: `tree(typed)` gives the command tree for the words typed
 * before the current one (the service commands depend on them).
 */
export async function answerCompletion(args: string[], io: { stdout: { write(s: string): unknown }; stderr: { write(s: string): unknown }; env: IOStreams['env'] }, tree: (typed: string[]) => Promise<CommandModel>, live: LiveValues): Promise<number> {
  const shell = args[0] as CompletionShell;
  if (!COMPLETION_SHELLS.includes(shell)) {
    io.stderr.write(`opsctl: __complete needs a shell (${COMPLETION_SHELLS.join(', ')}), got "${args[0] ?? ''}"\n`);
    return 2;
  }
  let words = args[1] === '--' ? args.slice(2) : args.slice(1);
  if (!words.length) words = ['opsctl', ''];
  if (words.length === 1) words.push('');
  let cut = 0;
  if (shell === 'bash') ({ words, cut } = joinBashWords(words));
  try {
    const result = await completeLine(await tree(words.slice(1, -1)), words, live);
    const lines = result.candidates.map((c) => format(shell, c, cut));
    if (result.files) lines.push(FILES_DIRECTIVE);
    if (lines.length) io.stdout.write(lines.join('\n') + '\n');
  } catch {
    // A broken config or cache must never print garbage into the prompt.
  }
  return 0;
}
