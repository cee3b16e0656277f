import { Argument, type Command } from 'commander';
import type { Factory } from '../../factory.js';
import { writeConfig } from '../../config/config-file.js';
import { UsageError } from '../../errors/usage-error.js';
import { completeWith } from '../../completion/hints.js';

export interface ContextUseOptions {
  name: string;
}

export function register(parent: Command, f: Factory): void {
  parent
    .command('use')
    .description('Make a context the current one')
    .addArgument(completeWith(new Argument('<name>', 'context name'), 'contexts'))
    .action(async (name: string) => run(f, { name }));
}

export async function run(f: Factory, opts: ContextUseOptions): Promise<void> {
  const cfg = await f.config();
  if (!cfg.contexts[opts.name]) {
    const known = Object.keys(cfg.contexts);
    throw new UsageError(`context "${opts.name}" does not exist${known.length ? ` (known: ${known.join(', ')})` : ''}`);
  }
  await writeConfig(f.configPath(), { ...cfg, 'current-context': opts.name }, { ownDir: !f.io.env.OPSCTL_CONFIG });
  f.invalidateConfig();
  const out = await f.output();
  out.emit({ current: opts.name }, () => out.success(`now using context "${opts.name}"`));
}
