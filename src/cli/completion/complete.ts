/**
 * `opsctl __complete <shell> -- <words…>`: what the generated shell scripts
 * call on TAB. Prints one candidate per line (`value<TAB>description` for
 * zsh and fish), then `:files` when the shell should also offer file names.
 * It builds the command tree but never the factory's client, tunnel or
 * identity: no network, no keychain, no prompt. (The installed binary
 * answers from the start-up snapshot instead, src/cli/start/start.ts, with
 * the same engine and the same answers.)
 */
import type { IOStreams } from '../io.js';
import { buildProgram } from '../program.js';
import { fileLiveValues } from './live-values.js';
import { commandModel } from './tree.js';
import { answerCompletion } from './complete-core.js';

export { joinBashWords } from './complete-core.js';

export async function runCompletion(args: string[], io: IOStreams): Promise<number> {
  return answerCompletion(args, io, async (typed) => {
    const built = buildProgram(io);
    await built.addServiceCommands(typed);
    return commandModel(built.program);
  }, fileLiveValues(io.env));
}
