/**
 * Params the catalog marks `secret: true` never come from the command line:
 * argv is visible to every user of the machine (`ps`, /proc/PID/cmdline) and
 * lands in shell history. They are read from a file (`--param name=@FILE`),
 * from standard input (`--param name=-`), or asked for without echo on a
 * terminal when a required one is left out.
 */
import fs from 'node:fs';
import type { JsonSchema } from '../../protocol/catalog.js';
import type { IOStreams } from '../io.js';
import type { Prompter } from '../prompt/prompter.js';
import { UsageError } from '../errors/usage-error.js';

/** Where a secret param's value will be read from (what parseParams leaves in its place). */
export class SecretSource {
  readonly name: string;
  readonly from: 'file' | 'stdin';
  readonly path: string | undefined;
  constructor(name: string, from: 'file' | 'stdin', path?: string) {
    this.name = name;
    this.from = from;
    this.path = path;
  }
}

/** The message for a secret given on the command line, saying what to do instead. */
export function secretOnArgvMessage(name: string): string {
  return `--param ${name} is secret and is not taken from the command line (ps and shell history would show it); ` +
    `pass --param ${name}=@FILE to read it from a file, --param ${name}=- to read it from standard input, ` +
    `or leave it out to be asked for it without echo on a terminal`;
}

/**
 * The raw `--param` value of a secret param: `@FILE` and `-` name where to
 * read it; anything else is refused (exit 2) before anything is sent.
 */
export function secretSource(name: string, raw: string): SecretSource {
  if (raw === '-') return new SecretSource(name, 'stdin');
  if (raw.startsWith('@') && raw.length > 1) return new SecretSource(name, 'file', raw.slice(1));
  throw new UsageError(secretOnArgvMessage(name));
}

/** Names of the secret properties of a params schema. */
export function secretNames(schema: JsonSchema): string[] {
  return Object.entries(schema.properties ?? {}).filter(([, p]) => p.secret === true).map(([k]) => k);
}

/** One trailing newline is the file's or the terminal's, not the secret's. */
function chomp(s: string): string {
  return s.replace(/\r?\n$/, '');
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

export interface ResolveSecretsDeps {
  io: IOStreams;
  prompter: Prompter;
  /** What the params belong to, for messages ("task rotate"). */
  subject: string;
}

/**
 * Replaces every SecretSource in `params` by the value it names, and asks
 * (no echo, TTY only) for required secret params that were left out. Other
 * params are untouched. Throws UsageError (exit 2) for an unreadable file,
 * two params from stdin, or an empty secret.
 */
export async function resolveSecrets(params: Record<string, unknown>, schema: JsonSchema, deps: ResolveSecretsDeps): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = { ...params };
  const fromStdin = Object.values(out).filter((v) => v instanceof SecretSource && v.from === 'stdin');
  if (fromStdin.length > 1) throw new UsageError(`only one param can be read from standard input; ${fromStdin.map((s) => (s as SecretSource).name).join(' and ')} both say "-"`);
  for (const [k, v] of Object.entries(out)) {
    if (!(v instanceof SecretSource)) continue;
    let value: string;
    if (v.from === 'file') {
      try {
        value = chomp(fs.readFileSync(v.path!, 'utf8'));
      } catch (e) {
        throw new UsageError(`--param ${k}=@${v.path}: cannot read the file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
    } else if (deps.io.stdin.isTTY && deps.prompter.interactive) {
      // "-" on a terminal: ask without echo rather than read a visible line.
      value = await deps.prompter.password(`${k} for ${deps.subject}:`);
    } else {
      value = chomp(await readAll(deps.io.stdin));
    }
    if (!value) throw new UsageError(`--param ${k}: the secret read from ${v.from === 'file' ? v.path : 'standard input'} is empty`);
    out[k] = value;
  }
  const required = new Set(schema.required ?? []);
  for (const name of secretNames(schema)) {
    if (out[name] !== undefined || !required.has(name) || !deps.prompter.interactive) continue;
    const value = await deps.prompter.password(`${name} for ${deps.subject} (not echoed):`);
    if (!value) throw new UsageError(`${name} is required for ${deps.subject}`);
    out[name] = value;
  }
  return out;
}

/** A copy of `params` with every secret value replaced, for showing what will be sent. */
export function redactSecrets(params: Record<string, unknown>, schema: JsonSchema): Record<string, unknown> {
  const out: Record<string, unknown> = { ...params };
  for (const name of secretNames(schema)) if (out[name] !== undefined) out[name] = '(secret)';
  return out;
}
