import { MAX_APPROVAL_WAIT_SECONDS, type ApprovalView, type HeldAnswer } from '../../protocol/approvals.js';
import type { EndpointDescriptor } from '../../protocol/catalog.js';
import { ProblemError } from '../../protocol/problem-error.js';
import { remember } from '../command.js';
import { NotConfirmedError } from '../errors/not-confirmed-error.js';
import { InterruptedError } from '../errors/interrupted-error.js';
import type { Factory } from '../factory.js';
import type { Client } from '../client/client.js';
import type { Output } from '../output/output.js';
import { sleep, watchInterrupt } from '../jobs/interrupt.js';
import { ConnectionError } from '../transport/connection-error.js';
import { commandDone } from './command-done.js';
import { safeLine } from './terminal-text.js';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
/**
 * One long-poll of approvals.get (`wait`): the port answers when the
 * approval changes, or after this long — one request, one audit record, per
 * change or per WAIT_SECONDS, not one per second (src/server/README.md).
 */
const WAIT_SECONDS = MAX_APPROVAL_WAIT_SECONDS;
/** Between two plain reads of a port from before long-polls. */
const FALLBACK_POLL_MS = 1000;

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
  const stopped = () => new InterruptedError(`stopped waiting; approval ${safeLine(a.id)} stays held. Check it with: opsctl approvals show ${safeLine(a.id)}`);
  // The spinner runs on its own clock: the request below may take minutes.
  let frame = 0;
  const spin = () => f.io.stderr.write(`\r\x1b[2K${FRAMES[frame++ % FRAMES.length]} waiting for approval ${safeLine(a.id)} (${Math.floor((Date.now() - started) / 1000)}s)`);
  const spinner = tty ? setInterval(spin, 1000) : undefined;
  if (tty) spin();
  let view: ApprovalView;
  try {
    view = await awaitDecision(f, client, a.id, watch.signal);
  } catch (e) {
    if (watch.signal.aborted) throw stopped();
    throw e;
  } finally {
    watch.dispose();
    if (spinner) clearInterval(spinner);
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
    case 'superseded':
      throw new NotConfirmedError(`approval ${safeLine(id)} was closed: the same request was run by break-glass (${safeLine(view.supersededBy?.id ?? '?')}); nothing ran through this approval`);
    default: {
      const e = view.error ?? { code: 'internal', status: 500, detail: `approval ended ${view.state}` };
      throw new ProblemError(e.code, `approved by ${approvers}, but it did not run: ${safeLine(e.detail)}`, {}, e.status);
    }
  }
}

/**
 * Waits until approval `id` is decided (any state but pending and approved)
 * and resolves with it: long-polls of approvals.get, each answered at the
 * approval's next change or after WAIT_SECONDS (a port from before
 * long-polls, which refuses `wait`, is read once a second instead). Rejects
 * when `signal` aborts, or with the error of a read that failed other than
 * by a long-poll's own timeout.
 */
export async function awaitDecision(f: Factory, client: Client, id: string, signal: AbortSignal): Promise<ApprovalView> {
  const timeoutMs = f.globals().timeout * 1000;
  let longPoll = true;
  for (;;) {
    let view: ApprovalView;
    try {
      view = longPoll
        ? await client.call<ApprovalView>('approvals.get', { id, wait: WAIT_SECONDS }, { signal, timeoutMs: WAIT_SECONDS * 1000 + timeoutMs })
        : await client.call<ApprovalView>('approvals.get', { id }, { signal });
    } catch (e) {
      if (signal.aborted) throw e;
      if (longPoll && e instanceof ProblemError && e.code === 'request.invalid' && (e.extensions as { field?: unknown }).field === 'wait') {
        longPoll = false;
        continue;
      }
      // A long-poll the port did not answer in time: ask again; any other failure ends the wait.
      if (!(e instanceof ConnectionError && e.reason === 'timeout')) throw e;
      f.debug(`waiting for approval ${id}: ${(e as Error).message}; asking again`);
      continue;
    }
    if (view.state !== 'pending' && view.state !== 'approved') return view;
    if (!longPoll && !(await sleep(FALLBACK_POLL_MS, signal))) throw new InterruptedError();
  }
}
