import { Argument, type Command } from 'commander';
import type { Factory } from '../../factory.js';
import { UsageError } from '../../errors/usage-error.js';
import { completeWith } from '../../completion/hints.js';

export function register(parent: Command, f: Factory): void {
  parent
    .command('show')
    .description('Show a context (default: the current one)')
    .addArgument(completeWith(new Argument('[name]', 'context name'), 'contexts'))
    .action(async (name: string | undefined) => run(f, { name }));
}

export async function run(f: Factory, opts: { name: string | undefined }): Promise<void> {
  const cfg = await f.config();
  const name = opts.name ?? f.io.env.OPSCTL_CONTEXT ?? cfg['current-context'];
  if (!name) throw new UsageError('no current context; name one, or create one with opsctl context add');
  const ctx = cfg.contexts[name];
  if (!ctx) throw new UsageError(`context "${name}" does not exist`);
  const out = await f.output();
  out.emit({ name, current: name === cfg['current-context'], ...ctx }, () =>
    out.fields([
      ['name', name],
      ['bastion', (ctx.bastion ?? []).join(',') || '(none)'],
      ['host', (ctx.host ?? []).join(',')],
      ['port', ctx.port ?? 9900],
      ['identity', ctx.identity ?? '(default: agent or ~/.ssh/id_ed25519)'],
      ['known-hosts', ctx['known-hosts'] ?? '(opsctl\'s own + ~/.ssh/known_hosts)'],
      ['protected', ctx.protected ? 'yes' : 'no'],
      ['require-reason', ctx['require-reason'] ? 'yes' : 'no'],
    ]),
  );
}
