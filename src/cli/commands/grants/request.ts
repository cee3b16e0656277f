import { Option, type Command } from 'commander';
import type { Factory } from '../../factory.js';
import { endpointHelp, summaryOf } from '../../command.js';
import { UsageError } from '../../errors/usage-error.js';
import { NotConfirmedError } from '../../errors/not-confirmed-error.js';
import { OperationError } from '../../errors/operation-error.js';
import { ROLES, type Role } from '../../../protocol/catalog.js';
import type { GrantView } from '../../../protocol/grants.js';
import type { ApprovalView } from '../../../protocol/approvals.js';
import { parseDuration, relativeTime } from './duration.js';
import { showGrant } from './grant-columns.js';
import { terminalText } from './terminal-text.js';
import { awaitDecision } from '../../approvals/wait-for-approval.js';
import { watchInterrupt } from '../../jobs/interrupt.js';
import { InterruptedError } from '../../errors/interrupted-error.js';

export interface RequestOptions {
  role: Role;
  for: string;
  wait: boolean;
}

type Held = { approval: Pick<ApprovalView, 'id' | 'expiresAt' | 'required' | 'digest'> & { state?: string } };

export function register(parent: Command, f: Factory): void {
  parent
    .command('request')
    .description(summaryOf('grants.request'))
    .addOption(new Option('--role <role>', 'role asked for').choices([...ROLES]).makeOptionMandatory())
    .addOption(new Option('--for <duration>', 'how long: 90s, 15m, 2h, 1h30m').makeOptionMandatory())
    .option('--no-wait', 'print the approval id and exit 0 instead of waiting for the decision')
    .addHelpText('after', `${endpointHelp('grants.request')}\n--reason is required (the approvers see it). Waits until approved (prints the grant, exit 0), rejected or expired (exit 4).\nExample:\n  opsctl grants request --role operator --for 1h --reason "INC-42: flip the kill switch"`)
    .action(async (o: { role: Role; for: string; wait: boolean }) => { await run(f, o); });
}

export async function run(f: Factory, opts: RequestOptions): Promise<GrantView | undefined> {
  const ttlSeconds = parseDuration(opts.for);
  const reason = f.globals().reason;
  if (!reason) throw new UsageError('grants request needs --reason TEXT: the approvers decide on it');
  const client = await f.client();
  // This command waits for its own approval (it prints the grant), so the generic hold handling stands aside.
  const held = await client.call<Held>('grants.request', { role: opts.role, ttlSeconds, reason }, { review: false });
  const out = await f.output();
  const id = terminalText(held.approval.id);
  // --no-wait is also a global option (every held command takes it); either one means do not wait.
  if (!opts.wait || f.globals().wait === false) {
    out.emit(held, () => {
      out.success(`access request ${id} is waiting for approval (expires ${relativeTime(held.approval.expiresAt)})`);
      out.line(`Ask an admin to run:  opsctl approvals approve ${id}`);
    });
    return undefined;
  }
  out.note(`access request ${id} is waiting for approval (expires ${relativeTime(held.approval.expiresAt)}).`);
  out.note(`Ask an admin to run:  opsctl approvals approve ${id}`);
  // One long-poll per change (or per five minutes), not a read every second (docs/notifications.md).
  const interrupt = watchInterrupt();
  let view: ApprovalView;
  try {
    view = await awaitDecision(f, client, held.approval.id, interrupt.signal);
  } catch (e) {
    if (interrupt.signal.aborted) throw new InterruptedError(`stopped waiting; access request ${id} stays held. Check it with: opsctl approvals show ${id}`);
    throw e;
  } finally {
    interrupt.dispose();
  }
  if (view.state === 'executed') {
    const grant = (view.result?.body as { grant?: GrantView } | undefined)?.grant;
    if (!grant) throw new OperationError(`access request ${id} ran but its answer holds no grant`);
    out.emit({ approval: view, grant }, () => {
      out.success(`access request ${id} approved by ${terminalText(view.approvers.map((a) => a.name).join(', '))}`);
      showGrant(out, grant);
    });
    return grant;
  }
  if (view.state === 'rejected') {
    const by = view.rejectedBy ? ` by ${terminalText(view.rejectedBy.name)}${view.rejectedBy.reason ? `: ${terminalText(view.rejectedBy.reason)}` : ''}` : '';
    throw new NotConfirmedError(`access request ${id} was rejected${by}`);
  }
  if (view.state === 'expired') throw new NotConfirmedError(`access request ${id} expired without a decision`);
  throw new OperationError(`access request ${id} was approved but did not become a grant: ${terminalText(view.error?.detail ?? view.state)}`);
}
