import { Argument, type Command } from 'commander';
import type { Factory } from '../../factory.js';
import { endpointHelp, standardEndpoint, summaryOf } from '../../command.js';
import { completeWith } from '../../completion/hints.js';
import { checkArgument } from '../../params/parse-params.js';
import type { ApprovalView } from '../../../protocol/approvals.js';
import { safeLine } from '../../approvals/terminal-text.js';

export function register(parent: Command, f: Factory): void {
  parent
    .command('reject')
    .description(summaryOf('approvals.reject'))
    .addArgument(completeWith(new Argument('<id>', 'approval id'), 'approvals'))
    .addHelpText('after', `${endpointHelp('approvals.reject')}\n--reason is recorded with the rejection and shown to the requester.`)
    .action(async (id: string) => run(f, { id }));
}

export async function run(f: Factory, opts: { id: string }): Promise<void> {
  checkArgument(standardEndpoint('approvals.reject'), 'id', opts.id);
  const g = f.globals();
  const client = await f.client();
  const r = await client.call<{ approval: ApprovalView }>('approvals.reject', { id: opts.id, ...(g.reason ? { reason: g.reason } : {}) });
  const out = await f.output();
  out.emit(r, () => out.success(`rejected ${safeLine(r.approval.id)} (${safeLine(r.approval.endpoint)} by ${safeLine(r.approval.requester.name)}); nothing ran`));
}
