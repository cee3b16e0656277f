import { Argument, type Command } from 'commander';
import type { Factory } from '../../factory.js';
import { endpointHelp, standardEndpoint, summaryOf } from '../../command.js';
import { completeWith } from '../../completion/hints.js';
import { checkArgument } from '../../params/parse-params.js';
import { NotConfirmedError } from '../../errors/not-confirmed-error.js';
import { OperationError } from '../../errors/operation-error.js';
import { samePerson, type ApprovalView } from '../../../protocol/approvals.js';
import { ExitCode } from '../../../protocol/exit-codes.js';
import type { WhoamiResponse } from '../../../protocol/whoami.js';
import type { Client } from '../../client/client.js';
import { approveLine } from '../../approvals/wait-for-approval.js';
import { describeApproval } from '../../approvals/describe-approval.js';
import { safeLine } from '../../approvals/terminal-text.js';
import { verifyDigest } from '../../approvals/verify-digest.js';

export function register(parent: Command, f: Factory): void {
  parent
    .command('approve')
    .description(summaryOf('approvals.approve'))
    .addArgument(completeWith(new Argument('<id>', 'approval id'), 'approvals'))
    .addHelpText('after', `${endpointHelp('approvals.approve')}\nShows exactly what will run, checks the digest against the signed request, then asks you to type "approve" (--yes skips). --reason is recorded with your approval.`)
    .action(async (id: string) => run(f, { id }));
}

interface ApproveAnswer {
  approval: ApprovalView;
  counted: boolean;
  result?: { status: number; body: unknown; jobId?: string };
}

export async function run(f: Factory, opts: { id: string }): Promise<void> {
  checkArgument(standardEndpoint('approvals.approve'), 'id', opts.id);
  const g = f.globals();
  const prompter = f.prompter();
  if (!g.yes && !g.dryRun && !prompter.interactive) {
    throw new NotConfirmedError('refusing to approve without confirmation: not running interactively and --yes not given; nothing was sent');
  }
  const client = await f.client();
  const view = await client.call<ApprovalView>('approvals.get', { id: opts.id });
  if (view.state === 'pending') await refuseOwnRequest(f, client, view);
  const out = await f.output();
  describeApproval(out, view, (l) => out.note(l));
  const check = verifyDigest(view);
  if (check.ok === false) throw new OperationError(`not approving: ${check.why}; the server's summary does not match what was signed`);
  // Decided or expired already: the server says which (409/410), nothing to ask.
  if (view.state === 'pending' && !g.yes && !g.dryRun) {
    const ok = await prompter.typeToConfirm(`Run ${safeLine(view.endpoint)} as ${safeLine(view.requester.name)}? Type "approve" to approve:`, 'approve');
    if (!ok) throw new NotConfirmedError('not approved; nothing was sent');
  }
  const r = await client.call<ApproveAnswer>('approvals.approve', { id: view.id, digest: view.digest, ...(g.reason ? { reason: g.reason } : {}) });
  out.emit(r, () => {
    const a = r.approval;
    if (!r.counted) out.note(`you had approved ${safeLine(a.id)} already; it counts once (${a.approvers.length} of ${a.required})`);
    else if (a.state === 'executed') {
      out.success(`approved: ${safeLine(a.endpoint)} ran as ${safeLine(a.requester.name)}`);
      if (r.result?.jobId) {
        out.line(safeLine(r.result.jobId));
        out.note(`  follow it: opsctl jobs logs --follow ${safeLine(r.result.jobId)}`);
      }
    } else out.success(`approved (${a.approvers.length} of ${a.required}); it runs once ${a.required - a.approvers.length} more approve(s)`);
  });
}

/**
 * The service refuses the requester (approval.self: the same key, or the same
 * principal name on another key). Said here first, before the request is
 * shown and "approve" asked for, with the same words and exit code; nothing
 * is sent. The key id is known locally; the name takes one whoami.
 */
async function refuseOwnRequest(f: Factory, client: Client, view: ApprovalView): Promise<void> {
  const identity = await f.identity();
  let name = view.requester.name;
  if (identity.keyid !== view.requester.keyid) {
    // An older service without whoami: the server's own check still applies.
    const me = await client.call<WhoamiResponse>('whoami').catch(() => undefined);
    if (!me || !samePerson(me.principal, view.requester.name)) return;
    name = me.principal;
  }
  const id = safeLine(view.id);
  throw new OperationError(`${safeLine(name)} asked for this request and cannot approve it; another person must`, ExitCode.AUTH, {
    code: 'approval.self',
    hint: `A second person runs:  ${await approveLine(f, id)}\nTo withdraw it:  opsctl approvals reject ${id}`,
  });
}
