/**
 * Everything scripts/gen-docs.mjs writes, computed in one place so the drift
 * tests compare the committed files with exactly what would be generated:
 * the completion scripts (what `opsctl completion <shell>` prints), the man
 * page, and the README with its endpoint reference.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { STANDARD_ENDPOINTS } from '../../protocol/catalog.js';
import type { IOStreams } from '../io.js';
import { main } from '../main.js';
import { buildProgram, VERSION } from '../program.js';
import { commandModel } from '../completion/tree.js';
import { renderManPage } from './render.js';
import { renderEndpointReference, spliceReference } from './endpoint-reference.js';

/** Where each shell's completion script is committed. */
export const COMPLETION_FILES = {
  bash: 'completions/opsctl.bash',
  zsh: 'completions/_opsctl',
  fish: 'completions/opsctl.fish',
} as const;

export const MAN_FILE = 'man/opsctl.1';

function captureIO(): { io: IOStreams; out: () => string; err: () => string } {
  const chunks: Buffer[] = [];
  const errs: Buffer[] = [];
  const sink = (into: Buffer[]) =>
    new Writable({
      write(chunk: Buffer | string, _enc, cb) {
        into.push(Buffer.from(chunk));
        cb();
      },
    });
  // A fixed environment: generated files must not depend on who runs the generator.
  const io: IOStreams = { stdin: new PassThrough(), stdout: sink(chunks), stderr: sink(errs), env: { HOME: '/nonexistent', NO_COLOR: '1' } };
  return { io, out: () => Buffer.concat(chunks).toString('utf8'), err: () => Buffer.concat(errs).toString('utf8') };
}

/** Runs the CLI in process and returns what it printed on stdout. */
export async function cliOutput(args: string[]): Promise<string> {
  const c = captureIO();
  const code = await main(args, c.io);
  if (code !== 0) throw new Error(`opsctl ${args.join(' ')} exited ${code}: ${c.err()}`);
  return c.out();
}

/** The man page as the current command tree renders it. */
export function manPage(): string {
  const { program } = buildProgram(captureIO().io);
  return renderManPage(commandModel(program), { version: VERSION });
}

/** Relative path → generated content, for every generated file (README included). */
export async function generateDocs(root: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const [shell, file] of Object.entries(COMPLETION_FILES)) files[file] = await cliOutput(['completion', shell]);
  files[MAN_FILE] = manPage();
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  files['README.md'] = spliceReference(readme, renderEndpointReference(STANDARD_ENDPOINTS));
  return files;
}
