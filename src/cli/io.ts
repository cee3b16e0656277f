/** The process streams a command writes to, injected so commands are testable without a terminal. */
import type { Readable, Writable } from 'node:stream';

export interface IOStreams {
  stdin: Readable & { isTTY?: boolean };
  stdout: Writable & { isTTY?: boolean; columns?: number };
  stderr: Writable & { isTTY?: boolean; columns?: number };
  env: Record<string, string | undefined>;
}

export function processIO(): IOStreams {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env };
}

/** True when we can ask a human: stdin and stderr (where prompts render) are terminals. */
export function canPrompt(io: IOStreams): boolean {
  return Boolean(io.stdin.isTTY && io.stderr.isTTY);
}

/** Colour only on a terminal, and never with NO_COLOR or --no-color. */
export function colorEnabled(stream: { isTTY?: boolean }, env: Record<string, string | undefined>, flag: boolean): boolean {
  if (!flag) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return Boolean(stream.isTTY) && env.TERM !== 'dumb';
}
