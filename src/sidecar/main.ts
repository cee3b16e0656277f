/**
 * `opsctl-port`: the internal port for a service in any language
 * (docs/sidecar.md). bin/opsctl-port.js calls main().
 *
 *   opsctl-port --config FILE          run
 *   opsctl-port check --config FILE    validate; exit 0, or 2 listing every problem with its line
 *   opsctl-port schema                 the JSON Schema of the config
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { parse as parseYaml } from 'yaml';
import type { PortLog } from '../server/logger.js';
import { CONFIG_SCHEMA } from './config/schema.js';
import { loadConfig } from './config/load-config.js';
import { formatPath } from './config/yaml-source.js';
import { SidecarConfigError, formatProblem, startSidecar } from './run/sidecar.js';

export const EXIT = { OK: 0, FAILED: 1, USAGE: 2 } as const;

function packageVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg)) {
      const j = JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string; version?: string };
      if (j.name === 'opsctl') return j.version ?? '0.0.0';
    }
    dir = path.dirname(dir);
  }
  return '0.0.0';
}

/** The schema as the shipped file has it (schema/opsctl-port.schema.json). */
export function schemaText(): string {
  return JSON.stringify(CONFIG_SCHEMA, null, 2) + '\n';
}

// eslint-disable-next-line no-control-regex -- control characters are what it removes
const clean = (s: string) => s.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '?');

function logger(format: 'text' | 'json', stream: NodeJS.WritableStream): PortLog {
  if (format === 'json') return (level, message) => { stream.write(JSON.stringify({ time: new Date().toISOString(), level, message }) + '\n'); };
  return (level, message) => { stream.write(`opsctl-port ${level}: ${clean(message)}\n`); };
}

export interface MainIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

async function check(file: string, json: boolean, io: MainIO): Promise<number> {
  const { loaded, problems } = await loadConfig(file, io.env);
  const errors = problems.filter((p) => p.severity === 'error');
  if (json) {
    io.stdout.write(JSON.stringify({ ok: !errors.length, file, problems: problems.map((p) => ({ severity: p.severity, path: formatPath(p.path), line: p.line ?? null, col: p.col ?? null, message: p.message })) }, null, 2) + '\n');
  } else {
    for (const p of problems) io.stderr.write(clean(formatProblem(file, p)) + '\n');
    if (loaded) {
      io.stdout.write(`${file}: ok — ${loaded.config.service.name}: ${loaded.endpoints.length} endpoint(s)${loaded.migrations ? ', migrations' : ''}, ${loaded.health.length} health check(s)${problems.length ? `, ${problems.length} warning(s)` : ''}\n`);
      for (const e of loaded.endpoints) io.stdout.write(`  ${e.id.padEnd(28)} ${e.method.padEnd(6)} ${e.path.padEnd(32)} ${e.spec.role}${e.spec.destructive ? ', destructive' : ''}${e.spec.approval ? `, approval ${e.spec.approval.count}` : ''} (${e.adaptor.kind})\n`);
    } else {
      io.stderr.write(`${file}: ${errors.length} problem(s); opsctl-port would not start with this config\n`);
    }
  }
  return errors.length ? EXIT.USAGE : EXIT.OK;
}

async function run(file: string, io: MainIO): Promise<number> {
  // The log format is known only once the config is read: text until then.
  let format: 'text' | 'json' = 'text';
  try {
    const peek = parseYaml(fs.readFileSync(file, 'utf8')) as { log?: { format?: unknown } } | null;
    if (peek?.log?.format === 'json') format = 'json';
  } catch {
    // reported below by startSidecar
  }
  const log = logger(format, io.stderr);
  let sidecar;
  try {
    sidecar = await startSidecar(file, { log, env: io.env });
  } catch (e) {
    if (e instanceof SidecarConfigError) {
      for (const p of e.problems) log(p.severity === 'error' ? 'error' : 'warn', formatProblem(file, p));
      log('error', `not started: ${file} has ${e.problems.filter((p) => p.severity === 'error').length} problem(s) (opsctl-port check --config ${file})`);
      return EXIT.USAGE;
    }
    log('error', `not started: ${(e as Error).message}`);
    return EXIT.FAILED;
  }
  log('info', `listening on ${sidecar.address}`);
  return new Promise<number>((resolve) => {
    const onHup = () => { void sidecar.reload('SIGHUP'); };
    const stop = (sig: string) => {
      process.off('SIGHUP', onHup);
      log('info', `${sig}: closing (running jobs get their grace period)`);
      void sidecar.close().then(() => resolve(EXIT.OK), (e: Error) => {
        log('error', `closing failed: ${e.message}`);
        resolve(EXIT.FAILED);
      });
    };
    process.on('SIGHUP', onHup);
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

export async function main(argv: string[], io: MainIO = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  let code: number = EXIT.OK;
  const program = new Command('opsctl-port')
    .description('The internal port for a service in any language: signed, role-checked, audited endpoints forwarded to its admin API, runtime socket or commands (docs/sidecar.md)')
    .version(packageVersion(), '-V, --version')
    .option('-c, --config <file>', 'the YAML config')
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .exitOverride()
    .showHelpAfterError()
    // `check --config F` is the subcommand's option, not the program's.
    .enablePositionalOptions()
    .action(async (o: { config?: string }) => {
      if (!o.config) throw new CommanderError(EXIT.USAGE, 'opsctl-port.config', 'error: --config FILE is required (opsctl-port --help)');
      code = await run(o.config, io);
    });
  program
    .command('check')
    .description('Check a config and exit: 0 when it is valid, 2 listing every problem with its YAML path and line')
    .requiredOption('-c, --config <file>', 'the YAML config')
    .option('--json', 'the problems as one JSON document on stdout')
    .action(async (o: { config: string; json?: boolean }) => { code = await check(o.config, o.json === true, io); });
  program
    .command('schema')
    .description('Print the JSON Schema of the config (also shipped as schema/opsctl-port.schema.json)')
    .action(() => { io.stdout.write(schemaText()); });
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT.OK;
      if (e.code === 'opsctl-port.config') io.stderr.write(`${e.message}\n`);
      return EXIT.USAGE;
    }
    throw e;
  }
  return code;
}
