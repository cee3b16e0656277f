/**
 * Commands as exec endpoints, migrations and health checks run them: an
 * argv template (no shell, ever: each element is one argument whatever a
 * param contains), a fixed working directory, an environment built from an
 * allowlist and fixed values, a user and group, a deadline, and a process
 * group of its own so that cancel and timeout stop everything it started.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ProblemError } from '../../protocol/index.js';
import { durationMs, readSecret, type Problems } from '../config/problems.js';
import type { CommandSpec } from '../config/types.js';
import type { ConfigPath } from '../config/yaml-source.js';
import type { ParamsInfo } from './params-info.js';
import { refuse, templateText } from './param-guards.js';
import { fillTemplate, parseTemplate, type Template } from './template.js';

/** Commands whose -c / -e argument is a program: a param must not go into it. */
const INTERPRETER = /^(sh|bash|dash|zsh|ksh|mksh|ash|fish|busybox|python[0-9.]*|perl[0-9.]*|ruby[0-9.]*|node|nodejs|php[0-9.]*|lua[0-9.]*|tclsh|awk|gawk|mawk|osascript)$/;

/** PATH a command gets unless its env says otherwise. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface PreparedCommand {
  /** Absolute path of the executable, found when the config was loaded. */
  file: string;
  /** argv[0] as written (what the command sees as its name). */
  argv0: string;
  args: Template[];
  cwd: string | undefined;
  inherit: string[];
  fixedEnv: Record<string, string>;
  templatedEnv: Record<string, Template>;
  uid: number | undefined;
  gid: number | undefined;
  timeoutMs: number;
}

export interface PrepareEnv {
  problems: Problems;
  resolvePath(p: string): string;
  env: NodeJS.ProcessEnv;
}

function lookupId(db: 'passwd' | 'group', name: string): string[] | undefined {
  const r = spawnSync('getent', [db, name], { encoding: 'utf8', timeout: 5000 });
  if (r.status !== 0 || !r.stdout) return undefined;
  return r.stdout.split('\n')[0]!.split(':');
}

function findExecutable(name: string, pathVar: string): string | undefined {
  for (const dir of pathVar.split(':')) {
    if (!dir || !path.isAbsolute(dir)) continue;
    const candidate = path.join(dir, name);
    try {
      const st = fs.statSync(candidate);
      if (st.isFile() && st.mode & 0o111) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Checks a command spec and prepares it for running: the executable found,
 * templates parsed and checked against the params (`params` null: a command
 * that takes none, such as a health check), cwd, user and group resolved,
 * secrets read. Problems are reported at `where`; undefined when any.
 */
export function prepareCommand(spec: CommandSpec, where: ConfigPath, ctx: PrepareEnv, params: ParamsInfo | null, opts: { defaultTimeoutMs: number; extraParams?: string[] }): PreparedCommand | undefined {
  const before = ctx.problems.errors;
  const { problems } = ctx;
  const [first, ...rest] = spec.argv;
  const setPath = spec.env?.set?.PATH;
  const pathVar = typeof setPath === 'string' ? setPath : spec.env?.inherit?.includes('PATH') ? ctx.env.PATH ?? DEFAULT_PATH : DEFAULT_PATH;
  let file: string | undefined;
  if (first === undefined || first === '') {
    problems.error([...where, 'argv', 0], 'the command is empty');
  } else if (/[{}]/.test(first)) {
    problems.error([...where, 'argv', 0], 'the command itself cannot be a template');
  } else if (first.includes('/')) {
    const abs = ctx.resolvePath(first);
    try {
      const st = fs.statSync(abs);
      if (!st.isFile()) problems.error([...where, 'argv', 0], `${abs} is not a file`);
      else if (!(st.mode & 0o111)) problems.error([...where, 'argv', 0], `${abs} is not executable`);
      else file = abs;
    } catch (e) {
      problems.error([...where, 'argv', 0], `command ${abs} does not exist (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  } else {
    file = findExecutable(first, pathVar);
    if (!file) problems.error([...where, 'argv', 0], `command "${first}" is not found in PATH ${pathVar}`);
  }

  const known = (t: Template, at: ConfigPath, what: string, secretsAllowed: boolean) => {
    if (params) {
      const extra = t.params.filter((n) => opts.extraParams?.includes(n));
      const own = { ...t, params: t.params.filter((n) => !extra.includes(n)) };
      params.checkTemplate(own, at, problems, what, { secretsAllowed });
    } else {
      const named = t.params.filter((n) => !opts.extraParams?.includes(n));
      if (named.length) problems.error(at, `{${named[0]}}: this command takes no params`);
    }
  };
  const args: Template[] = [];
  // A param inside the script of `sh -c`, `python3 -c`, `perl -e` … would be
  // code to that interpreter: refused (pass it as an argument of its own).
  const interpreter = first !== undefined && INTERPRETER.test(path.basename(first));
  rest.forEach((a, i) => {
    try {
      const t = parseTemplate(a);
      known(t, [...where, 'argv', i + 1], 'argv', false);
      if (interpreter && t.params.length && i > 0 && /^-[A-Za-z]*[ceEp]$/.test(rest[i - 1]!)) {
        problems.error([...where, 'argv', i + 1], `{${t.params[0]}} inside the script of ${path.basename(first!)} ${rest[i - 1]} would be code, not data: pass it as an argument of its own (e.g. sh -c 'cmd "$1"' sh {${t.params[0]}})`);
      }
      args.push(t);
    } catch (e) {
      problems.error([...where, 'argv', i + 1], (e as Error).message);
    }
  });

  let cwd: string | undefined;
  if (spec.cwd !== undefined) {
    cwd = ctx.resolvePath(spec.cwd);
    try {
      if (!fs.statSync(cwd).isDirectory()) problems.error([...where, 'cwd'], `${cwd} is not a directory`);
    } catch (e) {
      problems.error([...where, 'cwd'], `working directory ${cwd} does not exist (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }

  const fixedEnv: Record<string, string> = {};
  const templatedEnv: Record<string, Template> = {};
  for (const [name, v] of Object.entries(spec.env?.set ?? {})) {
    const at = [...where, 'env', 'set', name];
    if (typeof v === 'string') {
      try {
        const t = parseTemplate(v);
        known(t, at, `env ${name}`, true);
        if (t.params.length) templatedEnv[name] = t;
        else fixedEnv[name] = t.parts.map((p) => ('text' in p ? p.text : '')).join('');
      } catch (e) {
        problems.error(at, (e as Error).message);
      }
    } else {
      const s = readSecret(v, at, problems, ctx.resolvePath, ctx.env);
      if (s) fixedEnv[name] = s.value;
    }
  }

  let uid: number | undefined;
  let gid: number | undefined;
  if (spec.user !== undefined) {
    const u = /^[0-9]+$/.test(String(spec.user)) ? undefined : lookupId('passwd', String(spec.user));
    if (typeof spec.user === 'number' || /^[0-9]+$/.test(String(spec.user))) uid = Number(spec.user);
    else if (!u) problems.error([...where, 'user'], `user "${spec.user}" does not exist`);
    else {
      uid = Number(u[2]);
      gid = Number(u[3]);
    }
  }
  if (spec.group !== undefined) {
    if (typeof spec.group === 'number' || /^[0-9]+$/.test(String(spec.group))) gid = Number(spec.group);
    else {
      const g = lookupId('group', String(spec.group));
      if (!g) problems.error([...where, 'group'], `group "${spec.group}" does not exist`);
      else gid = Number(g[2]);
    }
  }
  const myUid = process.getuid?.();
  const myGid = process.getgid?.();
  if (myUid !== 0 && ((uid !== undefined && uid !== myUid) || (gid !== undefined && gid !== myGid))) {
    problems.error([...where, uid !== undefined && uid !== myUid ? 'user' : 'group'], `running a command as another user or group needs opsctl-port to run as root (it runs as uid ${String(myUid)})`);
  }

  if (ctx.problems.errors > before || !file) return undefined;
  return {
    file,
    argv0: first!,
    args,
    cwd,
    inherit: spec.env?.inherit ?? [],
    fixedEnv,
    templatedEnv,
    uid,
    gid,
    timeoutMs: durationMs(spec.timeout, opts.defaultTimeoutMs),
  };
}

/**
 * The argv a command gets for these params: each template element becomes
 * exactly one element (or is left out when it names a param not given). A
 * value that would stand as an element of its own starting with "-" is
 * refused unless `allowOptionLike`: it could otherwise become an option of
 * the command (argument injection), whatever the schema allowed.
 */
export function commandArgs(cmd: PreparedCommand, params: Record<string, unknown>, opts: { allowOptionLike?: boolean; extra?: Record<string, string> } = {}): string[] {
  const all = { ...params, ...opts.extra };
  const out: string[] = [];
  for (const t of cmd.args) {
    const v = fillTemplate(t, all, (value, name) => {
      const text = templateText(value, name);
      const startsElement = t.parts[0] !== undefined && 'param' in t.parts[0] && t.parts[0].param === name;
      if (startsElement && text.startsWith('-') && !opts.allowOptionLike && !(opts.extra && name in opts.extra)) {
        throw refuse(name, 'starts with "-" and would stand as an argument of its own, where the command could take it for an option');
      }
      return text;
    });
    if (v !== undefined) out.push(v);
  }
  return out;
}

/** The environment a command gets: PATH, the inherited names, fixed values, filled templates. */
export function commandEnv(cmd: PreparedCommand, params: Record<string, unknown>, processEnv: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = { PATH: DEFAULT_PATH };
  for (const name of cmd.inherit) {
    const v = processEnv[name];
    if (v !== undefined) env[name] = v;
  }
  Object.assign(env, cmd.fixedEnv);
  for (const [name, t] of Object.entries(cmd.templatedEnv)) {
    const v = fillTemplate(t, params, (value, p) => templateText(value, p));
    if (v !== undefined) env[name] = v;
  }
  return env;
}

export interface RunOptions {
  args: string[];
  env: Record<string, string>;
  stdin?: string;
  /** Each line of stdout and stderr, as it comes (cut at 10,000 characters). */
  onLine?(line: string, stream: 'stdout' | 'stderr'): void;
  signal?: AbortSignal;
  timeoutMs: number;
  killGraceMs?: number;
  /** Keep at most this many bytes of stdout for the caller (default 1 MiB); more is drained and counted. */
  maxStdoutBytes?: number;
}

export interface RunResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  cancelled: boolean;
  durationMs: number;
  stdout: string;
  stdoutTruncated: boolean;
  lines: number;
  /** The last lines of output (stdout and stderr), for a result or an error. */
  tail: string[];
}

const MAX_LINE = 10_000;
const TAIL = 20;

/**
 * Runs a prepared command in a process group of its own. Cancel (the
 * signal) and the deadline send SIGTERM to the whole group, then SIGKILL
 * after killGraceMs (default 5 s). Resolves when the command has exited
 * and its output is read (output still open 1 s after the exit, held by
 * something it left running, is abandoned); rejects with 502
 * upstream.unavailable when it cannot be started at all.
 */
export function runCommand(cmd: PreparedCommand, o: RunOptions, what: string): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(cmd.file, o.args, {
        argv0: cmd.argv0,
        cwd: cmd.cwd,
        env: o.env,
        ...(cmd.uid !== undefined ? { uid: cmd.uid } : {}),
        ...(cmd.gid !== undefined ? { gid: cmd.gid } : {}),
        // A process group (and session) of its own: kill(-pid) reaches
        // everything it starts; no controlling terminal.
        detached: true,
        stdio: [o.stdin !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'],
        shell: false,
        windowsHide: true,
      });
    } catch (e) {
      reject(new ProblemError('upstream.unavailable', `${what}: the command cannot be started (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`));
      return;
    }
    let timedOut = false;
    let cancelled = false;
    let killTimer: NodeJS.Timeout | undefined;
    const killGroup = (sig: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        // the group is gone
      }
    };
    const stop = () => {
      killGroup('SIGTERM');
      killTimer ??= setTimeout(() => killGroup('SIGKILL'), o.killGraceMs ?? 5000);
      killTimer.unref?.();
    };
    const deadline = setTimeout(() => { timedOut = true; stop(); }, o.timeoutMs);
    const onAbort = () => { cancelled = true; stop(); };
    if (o.signal?.aborted) onAbort();
    else o.signal?.addEventListener('abort', onAbort, { once: true });

    let lines = 0;
    const tail: string[] = [];
    let stdout = '';
    let stdoutBytes = 0;
    let stdoutTruncated = false;
    const maxStdout = o.maxStdoutBytes ?? 1024 * 1024;
    const emit = (line: string, stream: 'stdout' | 'stderr') => {
      const l = line.length > MAX_LINE ? `${line.slice(0, MAX_LINE)}…` : line;
      lines++;
      tail.push(l);
      if (tail.length > TAIL) tail.shift();
      o.onLine?.(l, stream);
    };
    const reader = (stream: NodeJS.ReadableStream, name: 'stdout' | 'stderr') => {
      let pending = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        if (name === 'stdout') {
          stdoutBytes += Buffer.byteLength(chunk);
          if (stdoutBytes <= maxStdout) stdout += chunk;
          else stdoutTruncated = true;
        }
        pending += chunk;
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          emit(pending.slice(0, nl).replace(/\r$/, ''), name);
          pending = pending.slice(nl + 1);
        }
        // A line with no end in sight is logged in pieces rather than held in memory.
        if (pending.length > 64 * 1024) {
          emit(pending, name);
          pending = '';
        }
      });
      return new Promise<void>((res) => {
        const done = () => {
          if (pending) emit(pending.replace(/\r$/, ''), name);
          pending = '';
          res();
        };
        stream.once('end', done);
        stream.once('close', done);
        stream.once('error', done);
      });
    };
    const outputs = Promise.all([reader(child.stdout!, 'stdout'), reader(child.stderr!, 'stderr')]);
    if (o.stdin !== undefined && child.stdin) {
      child.stdin.on('error', () => undefined); // a command that does not read stdin closes it early
      child.stdin.end(o.stdin);
    }
    let startError: NodeJS.ErrnoException | undefined;
    child.once('error', (e: NodeJS.ErrnoException) => { startError = e; });
    child.once('exit', (exitCode, sig) => {
      clearTimeout(deadline);
      o.signal?.removeEventListener('abort', onAbort);
      // Output held open by something the command left running is not waited for.
      let drain: NodeJS.Timeout | undefined;
      const abandon = new Promise<void>((res) => { drain = setTimeout(res, 1000); });
      void Promise.race([outputs, abandon]).then(() => {
        if (drain) clearTimeout(drain);
        if (killTimer && !timedOut && !cancelled) clearTimeout(killTimer);
        child.stdout?.destroy();
        child.stderr?.destroy();
        if (startError && exitCode === null && sig === null) {
          reject(new ProblemError('upstream.unavailable', `${what}: the command cannot be started (${startError.code ?? startError.message})`));
          return;
        }
        resolve({ exitCode, signal: sig, timedOut, cancelled, durationMs: Date.now() - started, stdout, stdoutTruncated, lines, tail });
      });
    });
    // A spawn failure (ENOENT, EACCES, a uid it cannot take) emits 'error' and no 'exit'.
    child.once('error', (e: NodeJS.ErrnoException) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      clearTimeout(deadline);
      o.signal?.removeEventListener('abort', onAbort);
      if (child.pid === undefined) reject(new ProblemError('upstream.unavailable', `${what}: the command cannot be started (${e.code ?? e.message})`));
    });
  });
}

/** How a finished command ended, in words: "exited with status 3", "was killed by SIGKILL". */
export function endedAs(r: RunResult): string {
  if (r.timedOut) return 'ran out of time and was stopped';
  if (r.cancelled) return 'was cancelled';
  return r.exitCode !== null ? `exited with status ${r.exitCode}` : `was killed by ${r.signal ?? 'a signal'}`;
}
