/**
 * The CLI entry: builds the command tree, runs one command, and turns every
 * error into a message and an exit code in exactly one place.
 */
import { buildProgram } from './program.js';
import { processIO, type IOStreams } from './io.js';
import { reportError } from './errors/exit-code.js';

export async function main(argv: string[], io: IOStreams = processIO()): Promise<number> {
  if (argv[0] === '__complete') {
    const { runCompletion } = await import('./completion/complete.js');
    return runCompletion(argv.slice(1), io);
  }
  const { program, factory } = buildProgram(io);
  try {
    if (!argv.length) {
      program.outputHelp();
      return 0;
    }
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    const report = reportError(err);
    if (report.message) io.stderr.write(`opsctl: ${report.message}\n`);
    if (report.hint) io.stderr.write(`${report.hint}\n`);
    let verbose = false;
    try {
      verbose = factory.globals().verbose;
    } catch {
      /* globals unparsed */
    }
    if (verbose && err instanceof Error && err.stack && report.exitCode === 1) io.stderr.write(`${err.stack}\n`);
    return report.exitCode;
  } finally {
    await factory.close();
  }
}
