import type { Command } from 'commander';
import type { Factory } from '../../factory.js';
import { endpointHelp, summaryOf } from '../../command.js';
import type { NotifyStatus } from '../../../protocol/notify.js';
import { safeLine } from '../../approvals/terminal-text.js';

export function register(parent: Command, f: Factory): void {
  parent
    .command('status')
    .description(summaryOf('notify.status'))
    .addHelpText('after', `${endpointHelp('notify.status')}\nThe public key (whpk_…) is what a receiver pins to verify the Ed25519 (v1a) signature of every delivery (docs/notifications.md).`)
    .action(async () => run(f));
}

export async function run(f: Factory): Promise<void> {
  const client = await f.client();
  const res = await client.call<NotifyStatus>('notify.status');
  const out = await f.output();
  out.emit(res, () => {
    const c = out.colors;
    if (!res.publicKey) {
      out.note('this service sends no event notifications (none are configured)');
      return;
    }
    out.fields([['public key', res.publicKey]]);
    out.table(res.endpoints as unknown as Record<string, unknown>[], [
      { key: 'name', header: 'endpoint', format: (v) => safeLine(v) },
      { key: 'kind', header: 'kind', format: (v, r) => `${safeLine(v)}${r.kind === 'webhook' ? (r.hmac ? ' (v1+v1a)' : ' (v1a)') : ''}` },
      { key: 'events', header: 'events', format: (v) => safeLine((v as string[]).join(',')) },
      { key: 'state', header: 'state', format: (v) => (v === 'ok' ? c.green('ok') : c.red(safeLine(v))) },
      { key: 'delivered', header: 'delivered' },
      { key: 'failed', header: 'failed attempts' },
      { key: 'lastFailure', header: 'last failure', format: (v) => (v ? safeLine(`${(v as { at: string }).at} ${(v as { error: string }).error}`) : '') },
    ]);
  });
}
