import type { Command } from 'commander';
import { approvalText } from '../../approvals/approval-text.js';
import type { ApprovalPolicy } from '../../../protocol/catalog.js';
import type { Factory } from '../../factory.js';
import { endpointHelp, remember, summaryOf } from '../../command.js';
import { roleText } from './role-text.js';

export function register(parent: Command, f: Factory): void {
  parent
    .command('endpoints')
    .description(summaryOf('catalog'))
    .addHelpText('after', `${endpointHelp('catalog')}\nAny of them can be called with: opsctl call <endpoint-id> [--param k=v ...]`)
    .action(async () => run(f));
}

export async function run(f: Factory): Promise<void> {
  const client = await f.client();
  const catalog = await client.catalog();
  await remember(f, 'endpoints', catalog.endpoints.map((e) => e.id));
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
}
