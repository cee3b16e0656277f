/**
 * The installed binary's first stop (bin/opsctl.js, bundled to
 * dist/cli/start.cjs): `opsctl --help`, `opsctl help [COMMAND…]`,
 * `opsctl COMMAND… --help` and TAB (`opsctl __complete …`) are answered from
 * the start-up data of the built-in tree (start-data.ts) and the cached
 * catalog of the context, without loading commander or any command
 * (docs/architecture.md, "Start-up"). The text is commander's own layout
 * (help-render.ts), the completion the same engine; tests compare both with
 * the full CLI. Anything else — and any of these the data cannot answer
 * exactly — returns undefined, and the full CLI (dist/cli/main.js) runs.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { IOStreams } from '../io.js';
import type { EndpointDescriptor, JsonSchema } from '../../protocol/catalog.js';
import { cacheFileText, parseCachedCatalog } from '../service-commands/catalog-cache.js';
import type { CommandModel } from '../completion/tree.js';
import { answerCompletion } from '../completion/complete-core.js';
import { fileLiveValues } from '../completion/live-values.js';
import { firstCommandWord, selectedContext, serviceCommandSet } from '../service-commands/load.js';
import { serviceCommandSpecs, serviceCommandsNote, type ServiceCommandSet } from '../service-commands/command-specs.js';
import { renderHelp, type HelpLayout } from './help-render.js';
import { expandLayout, loadModel, type StartData, type StartHelp, type StoredModel } from './start-data.js';
import { addServiceModels, serviceHelpRows } from './service-model.js';

/** Set by scripts/build.mjs when it bundles this file; the data must come from the same build. */
declare const __OPSCTL_BUILD__: string | undefined;

type StartIO = Pick<IOStreams, 'stderr' | 'env'> & { stdout: { write(s: string): unknown; isTTY?: boolean; columns?: number } };

/**
 * Standard output as the start-up path writes it: a pipe or a file (TAB's
 * output is always a pipe) gets fs.writeSync on fd 1, because making
 * process.stdout a stream costs the stream and socket modules at every
 * start; a character device (a terminal, or /dev/null) gets process.stdout,
 * which knows the terminal's width.
 */
function standardOutput(): StartIO['stdout'] {
  let device = true;
  try {
    device = fs.fstatSync(1).isCharacterDevice();
  } catch {
    /* no fd 1: process.stdout copes */
  }
  if (device) return process.stdout;
  return {
    isTTY: false,
    write(s: string) {
      const buf = Buffer.from(s);
      for (let off = 0; off < buf.length;) {
        try {
          off += fs.writeSync(1, buf, off);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'EAGAIN') continue; // a non-blocking pipe that is full: try again
          if (code === 'EPIPE') return; // `opsctl --help | head`: the reader has what it wanted
          throw e;
        }
      }
    },
  };
}

/** The start-up data next to this bundle, or undefined (missing, written by another build, unreadable). */
export function readStartData(): StartData | undefined {
  const build = typeof __OPSCTL_BUILD__ === 'string' ? __OPSCTL_BUILD__ : undefined;
  if (!build) return undefined;
  try {
    const data = JSON.parse(fs.readFileSync(path.join(__dirname, 'start-data.json'), 'utf8')) as StartData;
    return data.build === build ? data : undefined;
  } catch {
    return undefined; // the full CLI answers
  }
}

function readStartHelp(build: string): StartHelp | undefined {
  try {
    const help = JSON.parse(fs.readFileSync(path.join(__dirname, 'start-help.json'), 'utf8')) as StartHelp;
    return help.build === build ? help : undefined;
  } catch {
    return undefined;
  }
}

const isHelpFlag = (w: string | undefined) => w === '--help' || w === '-h';

/** The built-in command path a help request names, or undefined when it is not a plain one. */
export function helpTarget(argv: readonly string[], root: StoredModel | CommandModel): string[] | undefined {
  let words: readonly string[];
  // As commander reads them: `help --help` is the help command's own help.
  if (isHelpFlag(argv[argv.length - 1])) words = argv.slice(0, -1);
  else if (argv[0] === 'help') words = argv.slice(1);
  else if (!argv.length) words = [];
  else return undefined;
  const out: string[] = [];
  let at: StoredModel | CommandModel = root;
  for (const w of words) {
    // Options, typos and service commands: the full CLI (it names the error, or knows the command).
    const next: StoredModel | CommandModel | undefined = w.startsWith('-') ? undefined : at.commands.find((c) => c.name === w || c.aliases.includes(w));
    if (!next) return undefined;
    out.push(next.name);
    at = next;
  }
  return out;
}

async function services(io: StartIO, data: StartData, typed: readonly string[]): Promise<{ set: ServiceCommandSet | undefined; context: string | undefined } | undefined> {
  const word = firstCommandWord(typed, { takesValue: new Set(data.takesValue) });
  if (word !== undefined && word !== 'help' && data.builtins.includes(word)) return undefined;
  const context = await selectedContext(io.env, typed);
  return { set: serviceCommandSet(io.env, context, new Set(data.builtins), new Set(data.reserved)), context };
}

function rootLayout(layout: HelpLayout, svc: { set: ServiceCommandSet | undefined; context: string | undefined }): HelpLayout {
  const rows = svc.set?.commands.length ? serviceHelpRows(svc.set) : [];
  return {
    ...layout,
    sections: rows.length ? [...layout.sections, { heading: 'Service commands:', items: rows }] : layout.sections,
    // What program.ts's root after-text writes before the exit status lines.
    after: serviceCommandsNote(svc.set, svc.context) + layout.after,
  };
}

function helpWidth(io: StartIO): number {
  // commander's: the terminal's width on a TTY, else 80.
  return (io.stdout.isTTY ? io.stdout.columns : undefined) ?? 80;
}

/**
 * Answers argv when it is help or TAB the start-up data covers; returns the
 * exit code's promise, or undefined for the full CLI.
 */
export function startFast(
  argv: readonly string[],
  // stderr only when written to: making process.stderr costs a stream (a socket when piped).
  io: StartIO = { stdout: standardOutput(), get stderr() { return process.stderr; }, env: process.env },
  data: StartData | undefined = readStartData(),
): Promise<number> | undefined {
  if (!data) return undefined;
  if (argv[0] === '__complete') {
    const live = fileLiveValues(io.env);
    return answerCompletion(argv.slice(1), io, async (typed) => {
      // The service commands go on a copy of the root: the stored tree stays the built-in one.
      const base = loadModel(data.tree);
      const root: CommandModel = { ...base, commands: [...base.commands] };
      const svc = await services(io, data, typed);
      const help = root.options.find((o) => o.long === '--help');
      if (svc?.set?.commands.length && help) addServiceModels(root, svc.set, help);
      return root;
    }, live);
  }
  const target = helpTarget(argv, data.tree);
  if (!target) return undefined;
  const help = data.help ?? readStartHelp(data.build);
  const stored = help?.layouts[target.join(' ')];
  if (!help || !stored) return undefined;
  const layout = expandLayout(stored, help);
  return (async () => {
    const shown = target.length ? layout : rootLayout(layout, (await services(io, data, []))!);
    io.stdout.write(renderHelp(shown, helpWidth(io)));
    io.stdout.write(shown.after);
    return 0;
  })();
}

/**
 * Runs the service-command code on a small made-up catalog, before
 * bin/load-start.js writes its code cache: V8 caches only the functions a
 * run compiled, and the run that writes the cache may have had no service
 * commands while later ones do. Writes nothing; only when a cache is written.
 */
export async function warmUp(data: StartData | undefined = readStartData()): Promise<void> {
  if (!data) return;
  const schema: JsonSchema = { type: 'object', properties: { server: { type: 'string', enum: ['a', 'b'] }, n: { type: 'integer', minimum: 0 }, on: { type: 'boolean' } }, required: ['server'], additionalProperties: false };
  const endpoints: EndpointDescriptor[] = [
    { id: 'warm.list', method: 'GET', path: '/v1/w', summary: 'w', description: 'w', role: 'viewer', destructive: false, job: false, scope: 'instance', params: { type: 'object', properties: {}, additionalProperties: false } },
    { id: 'warm.set', method: 'POST', path: '/v1/w', summary: 'w', description: 'w', role: 'operator', destructive: true, job: true, scope: 'instance', params: schema },
  ];
  // Through the cache file's own reader, as a real catalog comes.
  const cached = parseCachedCatalog(cacheFileText({ service: 'warm', version: '0', endpoints, protocol: 1 }, new Set()))!;
  const set = serviceCommandSpecs(cached, 'warm', new Set(data.builtins), new Set(data.reserved));
  for (const c of set.commands) void [c.options, c.helpAfter];
  serviceHelpRows(set);
  serviceCommandsNote(set, 'warm');
  const base = loadModel(data.tree);
  const root: CommandModel = { ...base, commands: [...base.commands] };
  const help = root.options.find((o) => o.long === '--help');
  if (help) addServiceModels(root, set, help);
  const sink = { write: () => true };
  await answerCompletion(['bash', '--', 'opsctl', 'warm', 'set', '--server', ''], { stdout: sink, stderr: sink, env: {} }, async () => root, { values: async () => [] });
  await answerCompletion(['bash', '--', 'opsctl', 'warm', ''], { stdout: sink, stderr: sink, env: {} }, async () => root, { values: async () => [] });
}
