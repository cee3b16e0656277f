import type { ApprovalView, HeldAnswer } from '../../protocol/approvals.js';
import type { EndpointDescriptor } from '../../protocol/catalog.js';
import { ProblemError } from '../../protocol/problem-error.js';
import { remember } from '../command.js';
import { NotConfirmedError } from '../errors/not-confirmed-error.js';
import { InterruptedError } from '../errors/interrupted-error.js';
import type { Factory } from '../factory.js';
import type { Output } from '../output/output.js';
import { sleep, watchInterrupt } from '../jobs/interrupt.js';
import { commandDone } from './command-done.js';
import { safeLine } from './terminal-text.js';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const POLL_MS = 1000;

/** The line a second person runs to approve, for the context this command used. */
export async function approveLine(f: Factory, id: string): Promise<string> {
  const ctx = await f.context().catch(() => undefined);
  return `opsctl${ctx?.name ? ` --context ${ctx.name}` : ''} approvals approve ${id}`;
}

/**
 * A request came back held (202 {approval}): say so with the exact line a
 * second person runs, then wait (a spinner on a terminal) until it is
 * decided. Approved and run → resolves with what the request answered, so
 * the command goes on as if it had run at once (follows the job, prints the
 * flag). Rejected or expired → exit 4; approved but refused when it ran (plan
 * moved, role removed) → that problem. --no-wait prints {approval}, exit 0.
 */
export async function waitForApproval(f: Factory, held: HeldAnswer, ep: EndpointDescriptor): Promise<unknown> {
  const a = held.approval;
  await remember(f, 'approvals', [a.id], { append: true });
  const out = await f.output();
  const line = await approveLine(f, safeLine(a.id));
  const say = () => {
    out.note(`${safeLine(ep.id)} needs ${a.required} approval(s) by another person: held as approval ${safeLine(a.id)}, expires ${safeLine(a.expiresAt)}`);
    out.note(`  digest ${safeLine(a.digest)}`);
    out.note(`  a second person runs:  ${line}`);
  };
  // A retry of a request held before (the same Idempotency-Key) is answered
  // with that approval as it is now: decided already, nothing to wait for.
  const decided = a.state !== 'pending' && a.state !== 'approved';
  if (decided) out.note(`${safeLine(ep.id)} was held before as approval ${safeLine(a.id)}, now ${safeLine(a.state)}`);
  else say();
  if (f.globals().wait === false) {
    // The id alone on stdout (ID=$(opsctl … --no-wait)), or the one JSON document.
    out.emit(held, () => out.line(safeLine(a.id)));
    commandDone();
  }
  const client = await f.client();
  if (decided) return outcome(ep, await client.call<ApprovalView>('approvals.get', { id: a.id }), a.id, out);
  out.note(out.colors.dim('waiting for the decision (Ctrl-C stops waiting; the request stays held)'));
  const tty = Boolean(f.io.stderr.isTTY);
  const started = Date.now();
  const watch = watchInterrupt();
  let frame = 0;
  let view: ApprovalView;
  try {
    for (;;) {
      if (tty) {
        const s = Math.floor((Date.now() - started) / 1000);
        f.io.stderr.write(`\r\x1b[2K${FRAMES[frame++ % FRAMES.length]} waiting for approval ${safeLine(a.id)} (${s}s)`);
      }
      if (!(await sleep(POLL_MS, watch.signal))) {
        throw new InterruptedError(`stopped waiting; approval ${safeLine(a.id)} stays held. Check it with: opsctl approvals show ${safeLine(a.id)}`);
      }
      view = await client.call<ApprovalView>('approvals.get', { id: a.id });
      if (view.state !== 'pending' && view.state !== 'approved') break;
    }
  } finally {
    watch.dispose();
    if (tty) f.io.stderr.write('\r\x1b[2K');
  }
  return outcome(ep, view, a.id, out);
}

/** What a decided approval means for the command: its result, or the error it ends with. */
function outcome(ep: EndpointDescriptor, view: ApprovalView, id: string, out: Output): unknown {
  const approvers = view.approvers.map((x) => safeLine(x.name)).join(', ') || 'nobody';
  switch (view.state) {
    case 'executed':
      out.success(`approved by ${approvers}; ${safeLine(ep.id)} ran`);
      return view.result?.body ?? null;
    case 'rejected':
      throw new NotConfirmedError(`approval ${safeLine(id)} was rejected by ${safeLine(view.rejectedBy?.name ?? 'someone')}${view.rejectedBy?.reason ? ` (${safeLine(view.rejectedBy.reason)})` : ''}; nothing ran`);
    case 'expired':
      throw new NotConfirmedError(`approval ${safeLine(id)} expired at ${safeLine(view.expiresAt)} without enough approvals; nothing ran`);
    default: {
      const e = view.error ?? { code: 'internal', status: 500, detail: `approval ended ${view.state}` };
      throw new ProblemError(e.code, `approved by ${approvers}, but it did not run: ${safeLine(e.detail)}`, {}, e.status);
    }
  }
}
