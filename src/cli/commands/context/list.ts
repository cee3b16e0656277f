import type { Command } from 'commander';
import type { Factory } from '../../factory.js';

export function register(parent: Command, f: Factory): void {
  parent
    .command('list')
    .alias('ls')
    .description('List contexts')
    .action(async () => run(f));
}

export async function run(f: Factory): Promise<void> {
  const cfg = await f.config();
  const current = f.io.env.OPSCTL_CONTEXT ?? cfg['current-context'];
  const rows = Object.entries(cfg.contexts).map(([name, c]) => ({
    current: name === current,
    name,
    bastion: (c.bastion ?? []).join(','),
    host: (c.host ?? []).join(','),
    port: c.port ?? 9900,
    identity: c.identity ?? '',
    protected: Boolean(c.protected),
  }));
  const out = await f.output();
  out.emit({ current: current ?? null, contexts: rows }, () =>
    out.table(rows, [
      { key: 'current', header: '', format: (v) => (v ? '*' : '') },
      { key: 'name', header: 'name', fit: 'id' },
      { key: 'bastion', header: 'bastion' },
      { key: 'host', header: 'host' },
      { key: 'port', header: 'port' },
      { key: 'identity', header: 'identity' },
      { key: 'protected', header: 'protected', format: (v) => (v ? 'yes' : '') },
    ], { empty: `no contexts in ${f.configPath()}; create one with: opsctl context add NAME --host HOST [--bastion B] --identity SPEC` }),
  );
}
