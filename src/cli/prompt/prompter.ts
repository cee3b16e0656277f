/**
 * Questions to the operator. @inquirer/prompts is imported only when a
 * question is actually asked; without a TTY nothing is asked and the caller
 * gets a NotConfirmedError (exit 4) instead of a hang.
 */
import type { IOStreams } from '../io.js';
import { canPrompt, colorEnabled } from '../io.js';
import { NotConfirmedError } from '../errors/not-confirmed-error.js';
import { InterruptedError } from '../errors/interrupted-error.js';

export interface Prompter {
  readonly interactive: boolean;
  confirm(message: string, defaultValue?: boolean): Promise<boolean>;
  /** Makes the operator type `expected` exactly (protected contexts). */
  typeToConfirm(message: string, expected: string): Promise<boolean>;
  password(message: string): Promise<string>;
  /** A line of text (opsctl init asks for names and hosts). */
  input(message: string, defaultValue?: string): Promise<string>;
}

function ctx(io: IOStreams, clearPromptOnDone = false) {
  return { input: io.stdin as NodeJS.ReadableStream, output: io.stderr as NodeJS.WritableStream, clearPromptOnDone };
}

/**
 * The line left on screen once a question is answered. Inquirer marks every
 * answered question with a green ✔, a "no" too; an operator who declined a
 * migration must not see a tick, so confirmations clear inquirer's own line
 * and print this one: ✔ for yes, ✖ for no or a wrong name.
 */
/** Inquirer's answered frame is cleared at once; it must not flash a tick either. */
const NO_TICK = { prefix: { idle: '?', done: '?' } };

function answered(io: IOStreams, message: string, ok: boolean, answer: string): void {
  const color = colorEnabled(io.stderr, io.env, true);
  const mark = ok ? (color ? '\x1b[32m✔\x1b[39m' : '✔') : color ? '\x1b[31m✖\x1b[39m' : '✖';
  io.stderr.write(`${mark} ${message} ${answer}\n`);
}

async function ask<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if ((e as Error).name === 'ExitPromptError' || (e as Error).name === 'AbortPromptError') throw new InterruptedError('interrupted at the prompt; nothing was sent');
    throw e;
  }
}

export function createPrompter(io: IOStreams): Prompter {
  const interactive = canPrompt(io);
  const refuse = (message: string): never => {
    throw new NotConfirmedError(`${message} — no terminal to ask on; pass --yes to confirm non-interactively`);
  };
  return {
    interactive,
    async confirm(message, defaultValue = false) {
      if (!interactive) refuse(message);
      const { confirm } = await import('@inquirer/prompts');
      const yes = await ask(() => confirm({ message, default: defaultValue, theme: NO_TICK }, ctx(io, true)));
      answered(io, message, yes, yes ? 'yes' : 'no');
      return yes;
    },
    async typeToConfirm(message, expected) {
      if (!interactive) refuse(message);
      const { input } = await import('@inquirer/prompts');
      const answer = await ask(() => input({ message, theme: NO_TICK }, ctx(io, true)));
      const ok = answer.trim() === expected;
      answered(io, message, ok, ok ? answer.trim() : `${answer.trim() || '(nothing)'} — not "${expected}"`);
      return ok;
    },
    async password(message) {
      if (!interactive) throw new NotConfirmedError(`${message} — no terminal to ask on`);
      const { password } = await import('@inquirer/prompts');
      return ask(() => password({ message, mask: true }, ctx(io)));
    },
    async input(message, defaultValue) {
      if (!interactive) refuse(message);
      const { input } = await import('@inquirer/prompts');
      return ask(() => input({ message, ...(defaultValue !== undefined ? { default: defaultValue } : {}) }, ctx(io)));
    },
  };
}
