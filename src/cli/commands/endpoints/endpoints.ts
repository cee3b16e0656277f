import type { Command } from 'commander';
import { approvalText } from '../../approvals/approval-text.js';
import type { ApprovalPolicy } from '../../../protocol/catalog.js';
import type { Factory } from '../../factory.js';
import { endpointHelp, summaryOf } from '../../command.js';
import { rememberCatalog, shadowedIds } from '../../service-commands/remember-catalog.js';
import { shadowedWarning } from '../../service-commands/command-specs.js';
import { roleText } from './role-text.js';

export function register(parent: Command, f: Factory): void {
  parent
    .command('endpoints')
    .description(summaryOf('catalog'))
    .addHelpText('after', `${endpointHelp('catalog')}\nAny of them can be called with: opsctl call <endpoint-id> [--param k=v ...]\nThe catalog is cached for the context: the service's own endpoints then are commands too\n(lb.disable → opsctl lb disable, listed in opsctl --help), except those whose first word\nis a built-in command, which a warning names.`)
    .action(async () => run(f));
}

export async function run(f: Factory): Promise<void> {
  const client = await f.client();
  const catalog = await client.catalog();
  await rememberCatalog(f, catalog, { warn: false });
  const out = await f.output();
  out.emit(catalog, () => {
    const c = out.colors;
    out.note(c.dim(`${catalog.service} ${catalog.version}, protocol ${catalog.protocol}: ${catalog.endpoints.length} endpoints`));
    out.table(
      catalog.endpoints.map((e) => ({ ...e, route: `${e.method} ${e.path}`, role: roleText(e) })),
      [
        { key: 'id', header: 'id', fit: 'id' },
        { key: 'route', header: 'method path' },
        { key: 'role', header: 'role' },
        { key: 'destructive', header: 'destructive', format: (v) => (v ? c.red('yes') : '') },
        { key: 'job', header: 'job', format: (v) => (v ? 'yes' : '') },
        { key: 'summary', header: 'summary', fit: 'text', format: (v, r) => `${String(v)}${r.approval ? ` [needs ${approvalText(r.approval as ApprovalPolicy)}]` : ''}` },
      ],
    );
  });
  // Every time, -o json too (on stderr): an endpoint named like a built-in command has no command of its own.
  const shadowed = shadowedIds(f, catalog);
  if (shadowed.length) out.warn(shadowedWarning(catalog.service, shadowed));
}
