/**
 * The demo service's command line: `npm run demo-service -- --data-dir DIR
 * --internal-port N --public-port N --authorized-keys FILE ...`. Prints one
 * JSON line on stdout once both ports listen; everything else goes to stderr.
 */
import { parseDemoArgs, USAGE } from './cli-args.js';
import { createLogger } from './logger.js';
import type { RunningDemoService } from './service.js';
import { UsageError } from './usage-error.js';

function fail(message: string, code: number): never {
  process.stderr.write(`demo-service: ${message.split('\n')[0]}\n`);
  process.exit(code);
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

  process.stdout.write(JSON.stringify({ internal: hostPort(service.internal.host, service.internal.port), public: hostPort(service.public.host, service.public.port) }) + '\n');
  printed();
  log('info', `${args.dataDir}: internal port ${hostPort(service.internal.host, service.internal.port)}, public API ${hostPort(service.public.host, service.public.port)}`);
}

main().catch((e: unknown) => fail(`unexpected error: ${(e as Error)?.message ?? String(e)}`, 1));
