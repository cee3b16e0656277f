import { Option, type Command } from 'commander';
import type { Factory } from '../../factory.js';
import { endpointHelp, remember, summaryOf } from '../../command.js';
import { APPROVAL_STATES, type ApprovalView } from '../../../protocol/approvals.js';
import { signerText } from '../../approvals/signer-text.js';
import { safeLine } from '../../approvals/terminal-text.js';

export function register(parent: Command, f: Factory): void {
  parent
    .command('list')
    .alias('ls')
    .description(summaryOf('approvals.list'))
    .addOption(new Option('--state <state>', 'only approvals in this state').choices(APPROVAL_STATES as string[]))
    .addHelpText('after', `${endpointHelp('approvals.list')}\nBreak-glass runs are listed too (state executed, marked break-glass), so they are reviewed afterwards.`)
    .action(async (o: { state?: string }) => run(f, o.state ? { state: o.state } : {}));
}

export async function run(f: Factory, opts: { state?: string }): Promise<void> {
  const client = await f.client();
  const res = await client.call<{ approvals: ApprovalView[] }>('approvals.list', opts.state ? { state: opts.state } : {});
  const list = res.approvals ?? [];
  await remember(f, 'approvals', list.filter((a) => a.state === 'pending').map((a) => a.id));
  const out = await f.output();
  out.emit(res, () => {
    const c = out.colors;
    out.table(list as unknown as Record<string, unknown>[], [
      { key: 'id', header: 'id', fit: 'id', format: (v) => safeLine(v) },
      { key: 'state', header: 'state', format: (v, r) => (r.breakGlass ? c.red('break-glass') : v === 'pending' ? c.yellow(safeLine(v)) : safeLine(v)) },
      { key: 'endpoint', header: 'endpoint', format: (v) => safeLine(v) },
      { key: 'requester', header: 'requester', format: (v) => signerText(v as ApprovalView['requester']) },
      { key: 'approvers', header: 'approvals', format: (v, r) => (r.breakGlass ? '—' : `${(v as unknown[]).length}/${String(r.required)}`) },
      // Each approver with the grant its key acted under and who gave it.
      { key: 'approvers', header: 'approved by', format: (v) => (v as ApprovalView['approvers']).map((a) => signerText(a)).join(', ') },
      { key: 'reason', header: 'reason', fit: 'text', format: (v, r) => safeLine((r.breakGlass as { reason?: string } | undefined)?.reason ?? v ?? '') },
      { key: 'expiresAt', header: 'expires', format: (v, r) => (r.state === 'pending' ? safeLine(v) : '') },
    ], { empty: 'no approvals (nothing is held, and nothing was decided recently)' });
  });
}
