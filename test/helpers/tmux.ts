/**
 * A real pseudo-terminal for prompt tests: the command runs inside a detached
 * tmux session; the test reads the screen with capture-pane and types with
 * send-keys, exactly as an operator would.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';

export function requireTmux(t: TestContext): boolean {
  if (!spawnSync('tmux', ['-V'], { stdio: 'ignore' }).error) return false;
  if (process.env.CI === 'true' || process.env.CI === '1') throw new Error('CI: tmux is not installed (apt-get install tmux)');
  t.skip('tmux is not installed');
  return true;
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export interface TerminalRun {
  /** The visible screen now. */
  screen(): string;
  /** Waits until the screen matches (or throws with the screen in the message). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
  /** Types text; Enter unless `enter` is false. */
  type(text: string, enter?: boolean): void;
  /** Sends a tmux key name (e.g. 'C-c'). */
  key(name: string): void;
  /** Waits for the command to exit; returns its code and the final screen. */
  exit(timeoutMs?: number): Promise<{ code: number; screen: string }>;
  kill(): void;
}

let counter = 0;

/** Runs argv in a fresh tmux session (120x40 unless `size` says otherwise) with the given environment. */
export function runInTerminal(argv: string[], env: Record<string, string>, cwd: string, size: { cols?: number; rows?: number } = {}): TerminalRun {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opsctl-tty-'));
  const session = `opsctl-${process.pid}-${++counter}`;
  const exitFile = path.join(dir, 'exit');
  const envArgs = Object.entries(env).map(([k, v]) => `${k}=${q(v)}`).join(' ');
  // The shell line stays open after the command (sleep) so the final screen can be read.
  const script = `cd ${q(cwd)} && env -i ${envArgs} TERM=xterm-256color ${argv.map(q).join(' ')}; echo $? > ${q(exitFile)}; sleep 30`;
  const r = spawnSync('tmux', ['new-session', '-d', '-s', session, '-x', String(size.cols ?? 120), '-y', String(size.rows ?? 40), script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tmux new-session failed: ${r.stderr}`);
  const screen = () => spawnSync('tmux', ['capture-pane', '-p', '-J', '-S', '-200', '-t', session], { encoding: 'utf8' }).stdout ?? '';
  const run: TerminalRun = {
    screen,
    async waitFor(re, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const s = screen();
        if (re.test(s)) return s;
        if (Date.now() > deadline) throw new Error(`terminal never showed ${re}; screen:\n${s}`);
        await new Promise((r2) => setTimeout(r2, 100));
      }
    },
    type(text, enter = true) {
      spawnSync('tmux', ['send-keys', '-t', session, '-l', text]);
      if (enter) spawnSync('tmux', ['send-keys', '-t', session, 'Enter']);
    },
    key(name) {
      spawnSync('tmux', ['send-keys', '-t', session, name]);
    },
    async exit(timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (!fs.existsSync(exitFile) || fs.readFileSync(exitFile, 'utf8').trim() === '') {
        if (Date.now() > deadline) throw new Error(`command did not exit; screen:\n${screen()}`);
        await new Promise((r2) => setTimeout(r2, 100));
      }
      const code = Number(fs.readFileSync(exitFile, 'utf8').trim());
      const s = screen();
      run.kill();
      return { code, screen: s };
    },
    kill() {
      spawnSync('tmux', ['kill-session', '-t', session], { stdio: 'ignore' });
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return run;
}

/** An interactive zsh in tmux with opsctl's completion on its fpath: what an operator's TAB sees. */
export interface ZshTerminal {
  /** tmux send-keys to the pane (key names like 'Tab', 'C-u' are keys). */
  send(...keys: string[]): void;
  /** The pane as it shows now. */
  screen(): string;
  /** Polls the pane until `re` matches (15 s), else fails naming `what`. */
  waitFor(re: RegExp, what: string): Promise<void>;
}

/**
 * Starts `zsh -i` (160×40) in its own tmux server, with ZDOTDIR under `dir`
 * loading `completionFile` as `_opsctl` and the prompt `ZP> `; the server is
 * killed after the test.
 */
export async function startZsh(t: TestContext, dir: string, completionFile: string, env: Record<string, string | undefined>): Promise<ZshTerminal> {
  const zdot = path.join(dir, 'zdot');
  fs.mkdirSync(path.join(zdot, 'functions'), { recursive: true });
  fs.copyFileSync(completionFile, path.join(zdot, 'functions', '_opsctl'));
  fs.writeFileSync(path.join(zdot, '.zshrc'), `fpath=(${path.join(zdot, 'functions')} $fpath)\nautoload -Uz compinit && compinit -u -d ${path.join(zdot, '.zcompdump')}\nPROMPT='ZP> '\nunsetopt beep\n`);
  const sock = `opsctl-zsh-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  const tmux = (...args: string[]) => spawnSync('tmux', ['-L', sock, ...args], { env: { ...env, ZDOTDIR: zdot, TERM: 'xterm' }, encoding: 'utf8' });
  t.after(() => void tmux('kill-server'));
  const started = tmux('new-session', '-d', '-s', 'z', '-x', '160', '-y', '40', 'zsh -i');
  if (started.status !== 0) throw new Error(`tmux could not start zsh: ${started.stderr}`);
  const screen = () => tmux('capture-pane', '-p', '-t', 'z').stdout;
  const waitFor = async (re: RegExp, what: string) => {
    const deadline = Date.now() + 15_000;
    while (!re.test(screen())) {
      if (Date.now() > deadline) throw new Error(`zsh: ${what} did not appear:\n${screen()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await waitFor(/^ZP>/m, 'the prompt');
  return { send: (...keys) => void tmux('send-keys', '-t', 'z', ...keys), screen, waitFor };
}
