/** How the demo talks: step titles, a little prose, and the exact command it runs. */

const SAFE_ARG = /^[A-Za-z0-9_@%+=:,./^$-]+$/;

/** Quotes an argument the way a POSIX shell needs it (for commands shown to paste). */
export function shellQuote(arg: string): string {
  return SAFE_ARG.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

export class Narrator {
  private readonly out: NodeJS.WritableStream;
  private readonly color: boolean;
  private step = 0;

  constructor(out: NodeJS.WritableStream & { isTTY?: boolean }, env: Record<string, string | undefined>) {
    this.out = out;
    this.color = Boolean(out.isTTY) && !env.NO_COLOR && env.TERM !== 'dumb';
  }

  private paint(code: string, s: string): string {
    return this.color ? `\x1b[${code}m${s}\x1b[0m` : s;
  }

  write(s: string): void {
    this.out.write(s);
  }

  title(text: string): void {
    this.step += 1;
    this.write(`\n${this.paint('1;36', `── ${this.step}. ${text} `)}\n`);
  }

  say(text: string): void {
    this.write(`${this.paint('2', text.trim().replace(/\s*\n\s*/g, ' '))}\n`);
  }

  /** A command as typed at a prompt; `who` names another person's shell ("bob$ …"). */
  command(words: string[], who = ''): void {
    this.write(`${this.paint('1', `${who}$ ${words.map(shellQuote).join(' ')}`)}\n`);
  }

  ok(text: string): void {
    this.write(`${this.paint('32', '✓')} ${text}\n`);
  }

  fail(text: string): void {
    this.write(`${this.paint('31', '✗')} ${text}\n`);
  }

  banner(text: string): void {
    this.write(`${this.paint('1', text)}\n`);
  }
}
