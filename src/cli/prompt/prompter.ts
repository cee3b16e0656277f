/**
 * Questions to the operator. @inquirer/prompts is imported only when a
 * question is actually asked; without a TTY nothing is asked and the caller
 * gets a NotConfirmedError (exit 4) instead of a hang.
 */
import type { IOStreams } from '../io.js';
import { canPrompt } from '../io.js';
import { NotConfirmedError } from '../errors/not-confirmed-error.js';
import { InterruptedError } from '../errors/interrupted-error.js';

export interface Prompter {
  readonly interactive: boolean;
  confirm(message: string, defaultValue?: boolean): Promise<boolean>;
  /** Makes the operator type `expected` exactly (protected contexts). */
  typeToConfirm(message: string, expected: string): Promise<boolean>;
  password(message: string): Promise<string>;
}

function ctx(io: IOStreams) {
  return { input: io.stdin as NodeJS.ReadableStream, output: io.stderr as NodeJS.WritableStream, clearPromptOnDone: false };
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
      return ask(() => confirm({ message, default: defaultValue }, ctx(io)));
    },
    async typeToConfirm(message, expected) {
      if (!interactive) refuse(message);
      const { input } = await import('@inquirer/prompts');
      const answer = await ask(() => input({ message }, ctx(io)));
      return answer.trim() === expected;
    },
    async password(message) {
      if (!interactive) throw new NotConfirmedError(`${message} — no terminal to ask on`);
      const { password } = await import('@inquirer/prompts');
      return ask(() => password({ message, mask: true }, ctx(io)));
    },
  };
}
