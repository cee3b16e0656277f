import { Option, type Command } from 'commander';
import type { Factory } from '../../factory.js';
import { endpointHelp } from '../../command.js';
import { MAX_APPROVAL_WAIT_SECONDS, type ApprovalList, type ApprovalView } from '../../../protocol/approvals.js';
import { ProblemError } from '../../../protocol/problem-error.js';
import { safeLine } from '../../approvals/terminal-text.js';
import { sleep, watchInterrupt } from '../../jobs/interrupt.js';
import { InterruptedError } from '../../errors/interrupted-error.js';
import { UsageError } from '../../errors/usage-error.js';
import { ConnectionError } from '../../transport/connection-error.js';
import { parseDuration } from '../grants/duration.js';

export interface WatchOptions {
  /** Every context of the config file, not only the current one. */
  allContexts: boolean;
  /** Stop after this many seconds (exit 0). */
  forSeconds?: number;
  /** Aborting it acts like Ctrl-C (tests). */
  interrupt?: AbortSignal;
}

/** One NDJSON line of `approvals watch -o json`. */
export type WatchLine =
  | { type: 'pending' | 'decided'; time: string; context: string; approval: ApprovalView }
  | { type: 'error'; time: string; context: string; error: string }
  | { type: 'summary'; time: string; pending: number; contexts: Record<string, number> };

/** After a context failed (unreachable, refused): the next try. */
const RETRY_MS = 10_000;

export function register(parent: Command, f: Factory): void {
  parent
    .command('watch')
    .description('Show requests waiting for approval as they arrive (current context, or every context)')
    .option('--all-contexts', 'watch every context of the config file at once', false)
    .addOption(new Option('--for <duration>', 'stop after this long (e.g. 30m) and exit 0').argParser((v) => parseDuration(v, '--for')))
    .addHelpText('after', `${endpointHelp('approvals.list')}
Waits with long-polls (one request, and one audit record, per change or per ${MAX_APPROVAL_WAIT_SECONDS / 60} minutes and context).
On a terminal: a table of the pending approvals, redrawn (and the bell rung) when one arrives or is decided.
Piped: one tab-separated line per arrival or decision. -o json: one JSON object per line
({"type":"pending"|"decided","context","approval"}, {"type":"error",…} for a context that cannot be
reached), and when the watch ends (--for elapsed: exit 0; Ctrl-C: exit 130) a last line
{"type":"summary","pending":N,"contexts":{NAME:N}}: N is the count of approvals still pending then.
The count is that line, not the exit status (exit statuses keep their meaning).`)
    .action(async (o: { allContexts?: boolean; for?: number }) => run(f, { allContexts: Boolean(o.allContexts), ...(o.for !== undefined ? { forSeconds: o.for } : {}) }));
}

interface ContextWatch {
  name: string;
  f: Factory;
  pending: Map<string, ApprovalView>;
}

export async function run(f: Factory, opts: WatchOptions): Promise<void> {
  const out = await f.output();
  let names: string[];
  if (opts.allContexts) {
    names = Object.keys((await f.config()).contexts);
    if (!names.length) throw new UsageError('--all-contexts: the config file has no contexts (opsctl context add)');
  } else {
    names = [(await f.context()).name ?? '(command line)'];
  }
  const watches: ContextWatch[] = names.map((name) => ({ name, f: opts.allContexts ? f.forContext(name) : f, pending: new Map() }));
  const interrupt = watchInterrupt(opts.interrupt);
  const ended = new AbortController();
  const stop = AbortSignal.any([interrupt.signal, ended.signal]);
  const timer = opts.forSeconds !== undefined ? setTimeout(() => ended.abort(), opts.forSeconds * 1000) : undefined;
  const tty = !out.json && Boolean(f.io.stdout.isTTY);
  const errors = new Map<string, string>();
  const recent: Array<{ time: string; context: string; approval: ApprovalView }> = [];
  const now = () => new Date().toISOString();
  const prefix = (ctx: string) => (opts.allContexts || ctx !== '(command line)' ? `opsctl --context ${safeLine(ctx)}` : 'opsctl');

  const draw = (bell: boolean) => {
    const rows = watches.flatMap((w) => [...w.pending.values()].map((a) => ({ ...a, context: w.name })));
    const c = out.colors;
    let head = `${c.dim(`approvals waiting in ${watches.length === 1 ? `context ${safeLine(watches[0]!.name)}` : `${watches.length} contexts`} — ${now()} — Ctrl-C to stop`)}\n\n`;
    for (const [ctx, e] of errors) head += `${c.red('!')} ${safeLine(ctx)}: ${safeLine(e)}\n`;
    f.io.stdout.write(`${bell ? '\x07' : ''}\x1b[H\x1b[2J${head}`);
    out.table(rows as unknown as Record<string, unknown>[], [
      ...(watches.length > 1 ? [{ key: 'context', header: 'context', format: (v: unknown) => safeLine(v) }] : []),
      { key: 'id', header: 'id', format: (v) => safeLine(v) },
      { key: 'endpoint', header: 'endpoint', format: (v) => safeLine(v) },
      { key: 'requester', header: 'requester', format: (v) => safeLine((v as ApprovalView['requester']).name) },
      { key: 'approvers', header: 'approvals', format: (v, r) => `${(v as unknown[]).length}/${String(r.required)}` },
      { key: 'reason', header: 'reason', format: (v) => safeLine(v ?? '') },
      { key: 'expiresAt', header: 'expires', format: (v) => safeLine(v) },
    ], { empty: 'nothing is waiting for approval' });
    const newest = rows.sort((a, b) => b.requestedAt.localeCompare(a.requestedAt))[0];
    if (newest) out.line(c.dim(`review: ${prefix(newest.context)} approvals show ${safeLine(newest.id)}   approve: ${prefix(newest.context)} approvals approve ${safeLine(newest.id)}`));
    if (recent.length) {
      out.line();
      for (const r of recent.slice(-5)) out.line(c.dim(`${r.time}  ${safeLine(r.context)}  ${safeLine(r.approval.id)} ${safeLine(r.approval.endpoint)} → ${safeLine(r.approval.state)}`));
    }
  };

  const emit = (type: 'pending' | 'decided', w: ContextWatch, a: ApprovalView) => {
    const time = now();
    if (type === 'decided') recent.push({ time, context: w.name, approval: a });
    if (out.json) out.printJsonLine({ type, time, context: w.name, approval: a } satisfies WatchLine);
    else if (!tty) out.line([time, w.name, type, a.id, a.endpoint, a.requester.name, `${a.approvers.length}/${a.required}`, type === 'pending' ? a.reason ?? '' : a.state].map((v) => safeLine(v).replace(/\t/g, ' ')).join('\t'));
  };

  const apply = (w: ContextWatch, list: ApprovalView[]): { arrived: boolean; changed: boolean } => {
    let arrived = false;
    const pendingNow = new Map(list.filter((a) => a.state === 'pending' && !a.breakGlass).map((a) => [a.id, a]));
    for (const [id, a] of pendingNow) {
      if (!w.pending.has(id)) {
        emit('pending', w, a);
        arrived = true;
      }
    }
    for (const [id, before] of w.pending) {
      if (!pendingNow.has(id)) emit('decided', w, list.find((a) => a.id === id) ?? { ...before, state: 'expired' });
    }
    const changed = arrived || w.pending.size !== pendingNow.size || [...pendingNow].some(([id, a]) => w.pending.get(id)?.approvers.length !== a.approvers.length);
    w.pending = pendingNow;
    return { arrived, changed };
  };

  const follow = async (w: ContextWatch): Promise<void> => {
    let cursor: string | undefined;
    let longPoll = true;
    const timeoutMs = f.globals().timeout * 1000;
    while (!stop.aborted) {
      try {
        const client = await w.f.client();
        const res = await client.call<ApprovalList>(
          'approvals.list',
          cursor && longPoll ? { wait: MAX_APPROVAL_WAIT_SECONDS, since: cursor } : {},
          { signal: stop, timeoutMs: MAX_APPROVAL_WAIT_SECONDS * 1000 + timeoutMs },
        );
        const hadError = errors.delete(w.name);
        const first = cursor === undefined;
        const change = apply(w, res.approvals ?? []);
        if (tty && (change.changed || hadError || first)) draw(change.arrived && !first);
        cursor = res.cursor;
        // A port from before long-polls answers at once: ask it every few seconds instead.
        if ((cursor === undefined || !longPoll) && !(await sleep(2000, stop))) return;
      } catch (e) {
        if (stop.aborted) return;
        if (e instanceof ProblemError && e.code === 'request.invalid' && longPoll) {
          longPoll = false;
          continue;
        }
        if (e instanceof ConnectionError && e.reason === 'timeout') continue;
        if (!opts.allContexts) throw e;
        // One unreachable context does not end a watch of all of them: say so, reconnect later.
        const message = (e as Error).message;
        errors.set(w.name, message);
        if (out.json) out.printJsonLine({ type: 'error', time: now(), context: w.name, error: message } satisfies WatchLine);
        else if (tty) draw(false);
        else f.io.stderr.write(`opsctl: ${safeLine(w.name)}: ${safeLine(message)}\n`);
        await w.f.close().catch(() => undefined);
        w.f = f.forContext(w.name);
        cursor = undefined;
        if (!(await sleep(RETRY_MS, stop))) return;
      }
    }
  };

  try {
    await Promise.all(watches.map(follow));
  } finally {
    clearTimeout(timer);
    interrupt.dispose();
    if (opts.allContexts) await Promise.all(watches.map((w) => w.f.close().catch(() => undefined)));
  }
  const counts = Object.fromEntries(watches.map((w) => [w.name, w.pending.size]));
  const pending = Object.values(counts).reduce((a, b) => a + b, 0);
  if (out.json) out.printJsonLine({ type: 'summary', time: now(), pending, contexts: counts } satisfies WatchLine);
  else out.note(`${pending} approval(s) still waiting`);
  // Ctrl-C ends a watch as it ends every command (130); --for running out is a normal end.
  if (interrupt.signal.aborted) throw new InterruptedError();
}
