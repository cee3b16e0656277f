import { Argument, type Command } from 'commander';
import type { Factory } from '../../factory.js';
import { endpointHelp, remember, standardEndpoint, summaryOf } from '../../command.js';
import { completeWith } from '../../completion/hints.js';
import { checkArgument } from '../../params/parse-params.js';
import type { ApprovalView } from '../../../protocol/approvals.js';
import { describeApproval } from '../../approvals/describe-approval.js';

export function register(parent: Command, f: Factory): void {
  parent
    .command('show')
    .alias('get')
    .description(summaryOf('approvals.get'))
    .addArgument(completeWith(new Argument('<id>', 'approval id'), 'approvals'))
    .addHelpText('after', `${endpointHelp('approvals.get')}\nThe digest is recomputed here from the signed request the server shows, so what you review is what the requester signed.`)
    .action(async (id: string) => run(f, { id }));
}

export async function run(f: Factory, opts: { id: string }): Promise<void> {
  checkArgument(standardEndpoint('approvals.get'), 'id', opts.id);
  const client = await f.client();
  const view = await client.call<ApprovalView>('approvals.get', { id: opts.id });
  if (view.state === 'pending') await remember(f, 'approvals', [view.id], { append: true });
  const out = await f.output();
  out.emit(view, () => describeApproval(out, view, (l) => out.line(l)));
}
