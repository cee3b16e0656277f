import fs from 'node:fs';
import type { SecretRef, Duration } from './types.js';
import type { ConfigPath, ConfigProblem } from './yaml-source.js';

/** Collects what is wrong with a config while it is checked; each problem says where. */
export class Problems {
  readonly list: Array<Omit<ConfigProblem, 'line' | 'col'> & { key?: boolean; placeAt?: ConfigPath }> = [];

  error(path: ConfigPath, message: string, opts: { key?: boolean; placeAt?: ConfigPath } = {}): void {
    this.list.push({ path: [...path], message, severity: 'error', ...opts });
  }

  warn(path: ConfigPath, message: string, opts: { key?: boolean } = {}): void {
    this.list.push({ path: [...path], message, severity: 'warning', ...opts });
  }

  get errors(): number {
    return this.list.filter((p) => p.severity === 'error').length;
  }
}

/** A secret's value, read at load; never logged, never in an error. */
export interface Secret {
  readonly value: string;
  /** Where it came from, for messages: `file /etc/x/token` or `env TOKEN`. */
  readonly source: string;
}

/**
 * Reads a secret named by the config: a file's content (one trailing
 * newline removed; the file must not be readable by group or others) or an
 * environment variable. Problems are reported at `path`; the value never
 * appears in one.
 */
export function readSecret(ref: SecretRef, path: ConfigPath, problems: Problems, resolvePath: (p: string) => string, env: NodeJS.ProcessEnv): Secret | undefined {
  if ('env' in ref) {
    const v = env[ref.env];
    if (v === undefined || v === '') {
      problems.error([...path, 'env'], `environment variable ${ref.env} is not set (or empty)`);
      return undefined;
    }
    return { value: v, source: `env ${ref.env}` };
  }
  const file = resolvePath(ref.file);
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    problems.error([...path, 'file'], `secret file ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    return undefined;
  }
  if (!st.isFile()) {
    problems.error([...path, 'file'], `secret file ${file} is not a regular file`);
    return undefined;
  }
  if (st.mode & 0o077) {
    problems.error([...path, 'file'], `secret file ${file} is readable or writable by group or others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
    return undefined;
  }
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    problems.error([...path, 'file'], `secret file ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    return undefined;
  }
  const value = text.replace(/\r?\n$/, '');
  if (!value) {
    problems.error([...path, 'file'], `secret file ${file} is empty`);
    return undefined;
  }
  return { value, source: `file ${file}` };
}

/** A duration from the config in milliseconds (the schema has checked its form). */
export function durationMs(d: Duration | undefined, fallbackMs: number): number {
  if (d === undefined) return fallbackMs;
  if (typeof d === 'number') return Math.round(d * 1000);
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)$/.exec(d);
  if (!m) return fallbackMs;
  const n = Number(m[1]);
  return Math.round(m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n * 3_600_000);
}
