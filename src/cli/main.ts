/**
 * The CLI entry: builds the command tree, runs one command, and turns every
 * error into a message and an exit code in exactly one place (the contract
 * is README "Exit codes" and docs/protocol.md).
 */
import { buildProgram, type Program } from './program.js';
import { processIO, type IOStreams } from './io.js';
import { errorDocument, reportError, type ErrorReport } from './errors/exit-code.js';
import { didYouMean } from './errors/did-you-mean.js';
import { kindLabel, liveNames, typedNames } from './errors/typed-names.js';
import { sanitize } from './output/sanitize.js';

export async function main(argv: string[], io: IOStreams = processIO()): Promise<number> {
  if (argv[0] === '__complete') {
    const { runCompletion } = await import('./completion/complete.js');
    return runCompletion(argv.slice(1), io);
  }
  return execute(buildProgram(io), io, argv);
}

/**
 * Parses and runs `argv` on a built program, then closes what the command
 * opened. Every error is reported here: one line (and a hint) on stderr, or
 * under -o json one `{"error":{…}}` object on stderr; the exit code comes
 * from errors/exit-code.ts. Tests call this on a program whose factory they
 * wired, so they see exactly what the binary prints.
 */
export async function execute(built: Program, io: IOStreams, argv: string[]): Promise<number> {
  const { program, factory } = built;
  try {
    await built.addServiceCommands(argv);
    if (!argv.length) {
      program.outputHelp();
      return 0;
    }
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    return await handleError(built, io, err);
  } finally {
    await factory.close();
  }
}

/** A server "not found"/"invalid" about a name the operator typed: exit 2 and what they may have meant. */
async function typedNameHint(built: Program, err: unknown): Promise<string | undefined> {
  const e = err as { name?: string; code?: unknown };
  if (e?.name !== 'ProblemError' || (e.code !== 'not_found' && e.code !== 'request.invalid')) return undefined;
  for (const typed of typedNames(built.actionCommand())) {
    const { names, live } = await liveNames(built.factory, typed.kind);
    // The name exists (or nothing is known of the names): the server's
    // complaint is about something else. An empty live list means none exist.
    if ((!names.length && !live) || names.includes(typed.value)) continue;
    return didYouMean(typed.value, names, kindLabel(typed.kind)) ?? '';
  }
  return undefined;
}

async function handleError(built: Program, io: IOStreams, err: unknown): Promise<number> {
  const { factory } = built;
  let json = false;
  let verbose = false;
  try {
    const g = factory.globals();
    json = g.output === 'json';
    verbose = g.verbose;
  } catch {
    /* the global options were not parsed */
  }
  const nameHint = await typedNameHint(built, err).catch(() => undefined);
  let report: ErrorReport = reportError(err, { typedName: nameHint !== undefined });
  if (nameHint) report = { ...report, hint: report.hint ? `${nameHint}\n${report.hint}` : nameHint };
  if (json) {
    // commander's own text (unknown option, missing argument) was held back for this object.
    const held = built.commanderError();
    let message = report.message;
    if (!message && held) {
      const [first, ...rest] = held.trim().split('\n');
      message = first ?? '';
      if (rest.length && !report.hint) report = { ...report, hint: rest.join('\n') };
    }
    if (message || report.exitCode !== 0) io.stderr.write(`${JSON.stringify(errorDocument(report, message))}\n`);
  } else {
    // Server-derived text (problem detail, job errors) may carry terminal
    // controls: shown visibly, never executed.
    if (report.message && !report.shown) io.stderr.write(`opsctl: ${sanitize(report.message)}\n`);
    if (report.hint) io.stderr.write(`${sanitize(report.hint, { newlines: true })}\n`);
  }
  if (verbose && err instanceof Error && err.stack && report.exitCode === 1) io.stderr.write(`${err.stack}\n`);
  return report.exitCode;
}
