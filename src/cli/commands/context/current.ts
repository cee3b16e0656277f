import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import { UsageError } from '../../errors/usage-error.js';

export function register(parent: Command, f: Factory): void {
  parent
    .command('current')
    .description('Print the name of the context commands use (and why: --context, OPSCTL_CONTEXT or current-context)')
    .addHelpText('after', '\nThe name alone on stdout, so NAME=$(opsctl context current) works; -o json: {name, source}.\nExit status 2 when no context is selected.')
    .action(async () => run(f));
}

export async function run(f: Factory): Promise<void> {
  const cfg = await f.config();
  const g = f.globals();
  const [name, source] = g.context !== undefined
    ? [g.context, '--context']
    : f.io.env.OPSCTL_CONTEXT !== undefined
      ? [f.io.env.OPSCTL_CONTEXT, 'OPSCTL_CONTEXT']
      : [cfg['current-context'], 'current-context'];
  if (!name) throw new UsageError('no current context; choose one with opsctl context use NAME, or create one with opsctl context add');
  if (!cfg.contexts[name]) {
    const known = Object.keys(cfg.contexts);
    throw new UsageError(`context "${name}" (from ${source}) does not exist${known.length ? ` (known: ${known.join(', ')})` : ''}`);
  }
  const out = await f.output();
  out.emit({ name, source }, () => out.line(name));
}
