/**
 * The demo service's command line: `npm run -s demo-service -- --data-dir DIR
 * --internal-port N --public-port N --authorized-keys FILE ...`. Prints one
 * JSON line on stdout once both ports listen (and writes it to --ready-file);
 * everything else goes to stderr (examples/demo-service/README.md).
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseDemoArgs, USAGE } from './cli-args.js';
import { createLogger } from './logger.js';
import type { RunningDemoService } from './service.js';
import { UsageError } from './usage-error.js';

function fail(message: string, code: number): never {
  process.stderr.write(`demo-service: ${message.split('\n')[0]}\n`);
  process.exit(code);
}

/**
 * Writes the address line so that a reader polling for FILE sees it whole or
 * not at all: a temp file beside it, then one rename.
 */
function writeReadyFile(file: string, line: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, line, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

async function main(): Promise<void> {
  let args;
  try {
    args = parseDemoArgs(process.argv.slice(2));
  } catch (e) {
    if (e instanceof UsageError) fail(`${e.message} (see --help)`, 2);
    throw e;
  }
  if (args === null) {
    // stdout is reserved for the one address line, even for --help.
    process.stderr.write(USAGE + '\n');
    process.exit(0);
  }

  const log = createLogger(process.stderr);
  // An old file would tell a waiting script the service is up before it is.
  if (args.readyFile) {
    try {
      fs.rmSync(args.readyFile, { force: true });
    } catch (e) {
      fail(`--ready-file ${args.readyFile}: ${(e as Error).message}`, 1);
    }
  }
  // With --audit-stdout the address line stays the first line: records wait for it.
  let printed!: () => void;
  const addressPrinted = new Promise<void>((resolve) => { printed = resolve; });
  let service: RunningDemoService;
  try {
    // Loaded only now: a usage error is reported without loading SQLite, umzug or the server.
    const { startDemoService } = await import('./service.js');
    service = await startDemoService({ ...args, log, auditStdoutAfter: addressPrinted });
  } catch (e) {
    fail((e as Error)?.message ?? String(e), 1);
  }

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      log('warn', `${signal} again: exiting without waiting`);
      process.exit(1);
    }
    stopping = true;
    log('info', `${signal}: closing listeners and database`);
    // Longer than the port's own grace for running jobs (10 s), so a migration
    // job gets to finish and release its lock before we give up.
    const force = setTimeout(() => {
      log('error', 'shutdown took longer than 20 s; exiting');
      process.exit(1);
    }, 20_000);
    force.unref();
    // Gone at a clean exit, so a leftover file means the service did not stop cleanly.
    if (args.readyFile) fs.rmSync(args.readyFile, { force: true });
    service.close().then(
      () => process.exit(0),
      (e: unknown) => {
        log('error', `shutdown: ${(e as Error)?.message ?? String(e)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  const line = JSON.stringify({
    internal: hostPort(service.internal.host, service.internal.port),
    public: hostPort(service.public.host, service.public.port),
    ...(service.port.ofrep ? { ofrep: service.port.ofrep.address } : {}),
  }) + '\n';
  if (args.readyFile) {
    try {
      writeReadyFile(args.readyFile, line);
    } catch (e) {
      await service.close().catch(() => undefined);
      fail(`--ready-file ${args.readyFile}: ${(e as Error).message}`, 1);
    }
  }
  process.stdout.write(line);
  printed();
  log('info', `${args.dataDir}: internal port ${hostPort(service.internal.host, service.internal.port)}, public API ${hostPort(service.public.host, service.public.port)}`);
}

main().catch((e: unknown) => fail(`unexpected error: ${(e as Error)?.message ?? String(e)}`, 1));
