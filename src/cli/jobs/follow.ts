/**
 * Following a server-owned job: streams jobs.events (NDJSON: every past event
 * first, then live ones, ending with an `end` line). The job belongs to the
 * server, so Ctrl-C only detaches (exit 130) and a dropped stream only loses
 * the view (exit 5); both say how to re-attach. A stream the service closed
 * is taken up again for up to --timeout (see followJob). The final state
 * decides the exit code: succeeded 0, failed or cancelled 1, lost with a
 * restarted service 1.
 */
import type { Factory } from '../factory.js';
import { InterruptedError } from '../errors/interrupted-error.js';
import { JobFailedError } from '../errors/job-failed-error.js';
import { OperationError } from '../errors/operation-error.js';
import type { JobEvent, JobOutcome } from './job-types.js';
import { isFinal } from './job-types.js';
import { createProgressView } from './progress-view.js';
import { watchInterrupt } from './interrupt.js';
import { JobStreamLostError, reattachHint } from './job-stream-lost-error.js';
import { JobLostError } from './job-lost-error.js';
import type { Client } from '../client/client.js';
import type { TunnelStream } from '../transport/types.js';
import { INSTANCE_HEADER } from '../../protocol/headers.js';

export interface FollowOptions {
  /**
   * Under -o json: 'ndjson' writes every event as one line on stdout (for
   * --follow streams); 'none' keeps stdout free for the caller's one document.
   */
  jsonEvents?: 'ndjson' | 'none';
  /** What started the job, for the status line ("migrate up", "task X"). */
  label?: string;
  /** Aborting it acts like Ctrl-C (tests). */
  interrupt?: AbortSignal;
  /**
   * Stop after the replayed history instead of waiting for the end: returns
   * undefined when no `end` arrived within this idle gap (ms).
   */
  idleStopMs?: number;
  /**
   * Give up waiting after this long (ms): throws a `job.timeout` error
   * (exit 1) naming the job, which keeps running (jobs wait --timeout).
   */
  timeoutMs?: number;
}

function eventsPath(jobId: string): string {
  return `/v1/jobs/${encodeURIComponent(jobId)}/events`;
}

/** Splits an async byte stream into parsed NDJSON objects. */
async function* ndjson(stream: AsyncIterable<Buffer | string>): AsyncGenerator<JobEvent> {
  let buf = '';
  for await (const chunk of stream) {
    buf += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (!line) continue;
      try {
        yield JSON.parse(line) as JobEvent;
      } catch {
        yield { type: 'log', time: new Date().toISOString(), level: 'warn', message: `unparseable event: ${line.slice(0, 200)}` };
      }
    }
  }
  const rest = buf.trim();
  if (rest) {
    try {
      yield JSON.parse(rest) as JobEvent;
    } catch {
      /* a torn last line: the stream broke mid-event */
    }
  }
}

/** Why a stream broke, when it is worth taking it up again (the far end went away, not silence or size). */
function reattachable(e: unknown): boolean {
  const err = e as { name?: string; reason?: string } | undefined;
  if (!err) return true; // ended without an error, before the `end` line
  if (err.name === 'ProblemError' || err.name === 'ResponseTooLargeError' || e instanceof InterruptedError) return false;
  // A silent stream (--timeout) is a hung service or path: waiting again would
  // only double the wait. A dead SSH connection is not the service's doing.
  if (err.name === 'ConnectionError') return err.reason !== 'timeout' && err.reason !== 'closed';
  return true;
}

function instanceOf(res: TunnelStream): string | undefined {
  const v = res.headers[INSTANCE_HEADER];
  return typeof v === 'string' && v ? v : undefined;
}

/**
 * Streams a job's events until it ends. Returns the outcome; the caller
 * decides what to print and then calls `throwIfUnsuccessful`. Returns
 * undefined only with `idleStopMs` when the job had not ended yet.
 *
 * When the stream breaks while the SSH connection stays up (the service
 * closed it: a restart, a crash, a reader too slow for its buffer), it is
 * taken up again for up to --timeout: the same instance replays the job's
 * events and the ones already shown are skipped; another instance (a
 * restarted service) that does not know the job means the job ended with
 * the old process — JobLostError, exit 1. A dead SSH connection, or a
 * service that does not come back in time, is JobStreamLostError, exit 5,
 * with the re-attach command (README, "Long work").
 */
export async function followJob(f: Factory, jobId: string, opts: FollowOptions = {}): Promise<JobOutcome | undefined> {
  const [client, out] = await Promise.all([f.client(), f.output()]);
  const jsonMode = out.json;
  const ndjsonOut = jsonMode && (opts.jsonEvents ?? 'ndjson') === 'ndjson';
  const view = jsonMode ? undefined : createProgressView(f.io, out.colors, jobId, opts.label ?? 'job');
  const interrupt = watchInterrupt(opts.interrupt);
  const stop = new AbortController();
  const onInterrupt = () => stop.abort(new Error('interrupted'));
  interrupt.signal.addEventListener('abort', onInterrupt, { once: true });
  let transportGone = false;
  void client.tunnel.closed?.then(() => { transportGone = true; }, () => { transportGone = true; });
  let idleTimer: NodeJS.Timeout | undefined;
  let idleStopped = false;
  let timedOut = false;
  const deadline = opts.timeoutMs === undefined ? undefined : setTimeout(() => {
    timedOut = true;
    stop.abort(new Error('timeout'));
  }, opts.timeoutMs);
  const armIdle = () => {
    if (opts.idleStopMs === undefined) return;
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      idleStopped = true;
      stop.abort(new Error('idle'));
    }, opts.idleStopMs);
  };
  const attach = () => client.stream({ method: 'GET', path: eventsPath(jobId) }, { accept: 'application/x-ndjson', signal: stop.signal });
  let outcome: JobOutcome | undefined;
  try {
    let res = await attach();
    const firstInstance = instanceOf(res);
    /** Events shown so far: a re-attach to the same instance replays them first. */
    let shown = 0;
    for (;;) {
      // Aborting the request alone may leave the async iterator waiting on a
      // stalled channel; destroying the response ends it for sure.
      const current = res;
      const onStop = () => current.destroy();
      stop.signal.addEventListener('abort', onStop, { once: true });
      armIdle();
      let skip = shown;
      let broke: unknown;
      try {
        for await (const ev of ndjson(res)) {
          armIdle();
          if (skip > 0) {
            skip--;
            continue;
          }
          shown++;
          // Every line names its job, so a runbook reading the stream can
          // re-attach to it or cancel it after an interruption.
          if (ndjsonOut) out.printJsonLine({ jobId, ...ev });
          view?.event(ev);
          if (ev.type === 'end') {
            outcome = { jobId, state: isFinal(ev.state) ? ev.state : 'failed', ...(ev.result !== undefined ? { result: ev.result } : {}), ...(ev.error ? { error: ev.error } : {}) };
            break;
          }
        }
      } catch (e) {
        broke = e;
      } finally {
        stop.signal.removeEventListener('abort', onStop);
      }
      if (outcome || stop.signal.aborted) break;
      const cause = broke === undefined ? 'the stream ended before the job did' : (broke as Error).message || String(broke);
      if (!reattachable(broke)) {
        if ((broke as Error).name === 'ProblemError' || broke instanceof InterruptedError) throw broke;
        throw new JobStreamLostError(jobId, cause);
      }
      const next = await reattach({ jobId, client, firstInstance, cause, windowMs: timeoutMsOf(f), signal: stop.signal, gone: () => transportGone, attach });
      if (!next) break; // interrupted, timed out or idle while waiting
      view?.note(`the event stream broke (${cause}); re-attached to job ${jobId}`);
      res = next;
    }
  } catch (e) {
    if (!outcome) {
      if (interrupt.signal.aborted) {
        view?.stop();
        throw new InterruptedError(`detached; the job keeps running.`, reattachHint(jobId));
      }
      if (timedOut) throw waitTimeout(jobId, opts.timeoutMs!);
      if (!idleStopped) {
        if ((e as Error).name === 'ProblemError' || e instanceof InterruptedError || e instanceof JobStreamLostError || e instanceof JobLostError) throw e;
        throw new JobStreamLostError(jobId, (e as Error).message || String(e));
      }
    }
  } finally {
    if (idleTimer) clearTimeout(idleTimer);
    if (deadline) clearTimeout(deadline);
    interrupt.dispose();
    view?.stop();
  }
  if (!outcome && interrupt.signal.aborted) throw new InterruptedError('detached; the job keeps running.', reattachHint(jobId));
  if (!outcome && timedOut) throw waitTimeout(jobId, opts.timeoutMs!);
  return outcome;
}

function timeoutMsOf(f: Factory): number {
  try {
    return f.globals().timeout * 1000;
  } catch {
    return 15_000;
  }
}

interface ReattachOptions {
  jobId: string;
  client: Client;
  /** The instance that answered the first attach. */
  firstInstance: string | undefined;
  /** Why the stream broke, for the message if it cannot be taken up again. */
  cause: string;
  windowMs: number;
  signal: AbortSignal;
  /** True once the SSH connection underneath is gone. */
  gone(): boolean;
  attach(): Promise<TunnelStream>;
}

/**
 * Tries to take a broken job stream up again, every 200 ms to 1 s, for up
 * to `windowMs` (--timeout). Resolves with the new stream, or undefined when
 * `signal` aborted meanwhile (Ctrl-C, jobs wait --timeout).
 */
async function reattach(o: ReattachOptions): Promise<TunnelStream | undefined> {
  const droppedAt = Date.now();
  let delay = 200;
  let last = o.cause;
  // The SSH connection's own close may trail the channel's by a moment.
  await sleep(50, o.signal);
  for (;;) {
    if (o.signal.aborted) return undefined;
    if (o.gone()) throw new JobStreamLostError(o.jobId, `the SSH connection was lost: ${o.cause}`);
    try {
      return await o.attach();
    } catch (e) {
      if (o.signal.aborted) return undefined;
      const err = e as { name?: string; code?: string; reason?: string; message?: string };
      if (err.name === 'ProblemError') {
        const now = o.client.instanceId;
        if (err.code === 'not_found' && o.firstInstance && now && now !== o.firstInstance) throw new JobLostError(o.jobId, o.firstInstance, now);
        throw e;
      }
      if (o.gone() || (err.name === 'ConnectionError' && err.reason === 'closed')) throw new JobStreamLostError(o.jobId, `the SSH connection was lost: ${o.cause}`);
      last = err.message ?? String(e);
    }
    const left = droppedAt + o.windowMs - Date.now();
    if (left <= 0) {
      throw new JobStreamLostError(
        o.jobId,
        `${o.cause}; the internal port did not take it back within ${o.windowMs / 1000} s (--timeout): ${last}`,
        'if the service restarted, the job ended with it',
      );
    }
    await sleep(Math.min(delay, left), o.signal);
    delay = Math.min(delay * 2, 1000);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function waitTimeout(jobId: string, ms: number): OperationError {
  return new OperationError(`job ${jobId} had not ended after ${ms / 1000} s; it keeps running on the server`, 1, { code: 'job.timeout', hint: `Wait again with: opsctl jobs wait ${jobId}` });
}

/**
 * Human summary of a job that succeeded (stderr), and the result on stdout
 * when there is one (unless the caller words the result itself). A failed or
 * cancelled job prints nothing here: `throwIfUnsuccessful` raises the one
 * error that says so, printed once by the CLI's error handler.
 */
export async function reportOutcome(f: Factory, outcome: JobOutcome, opts: { result?: boolean } = {}): Promise<void> {
  const out = await f.output();
  if (out.json) return;
  if (outcome.state !== 'succeeded') return;
  out.success(`job ${outcome.jobId} succeeded`);
  if (opts.result !== false && outcome.result !== undefined && outcome.result !== null) out.line(typeof outcome.result === 'string' ? outcome.result : JSON.stringify(outcome.result, null, 2));
}

/** Exit 1 for a failed or cancelled job (the one error→exit map prints the message). */
export function throwIfUnsuccessful(outcome: JobOutcome): void {
  if (outcome.state === 'succeeded') return;
  throw new JobFailedError(outcome.jobId, outcome.state, outcome.error?.message ? `${outcome.error.message}${outcome.error.code ? ` [${outcome.error.code}]` : ''}` : undefined);
}
