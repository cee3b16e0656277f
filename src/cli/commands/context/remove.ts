import { Argument, type Command } from 'commander';
import type { Factory } from '../../factory.js';
import { writeConfig } from '../../config/config-file.js';
import { UsageError } from '../../errors/usage-error.js';
import { completeWith } from '../../completion/hints.js';

export function register(parent: Command, f: Factory): void {
  parent
    .command('remove')
    .alias('rm')
    .description('Remove a context')
    .addArgument(completeWith(new Argument('<name>', 'context name'), 'contexts'))
    .action(async (name: string) => run(f, { name }));
}

export async function run(f: Factory, opts: { name: string }): Promise<void> {
  const cfg = await f.config();
  if (!cfg.contexts[opts.name]) throw new UsageError(`context "${opts.name}" does not exist`);
  const contexts = { ...cfg.contexts };
  delete contexts[opts.name];
  const next = { ...cfg, contexts };
  if (next['current-context'] === opts.name) delete next['current-context'];
  await writeConfig(f.configPath(), next, { ownDir: !f.io.env.OPSCTL_CONFIG });
  f.invalidateConfig();
  const out = await f.output();
  out.emit({ removed: opts.name }, () => out.success(`context "${opts.name}" removed`));
}
