/**
 * Following a server-owned job: streams jobs.events (NDJSON: every past event
 * first, then live ones, ending with an `end` line). The job belongs to the
 * server, so Ctrl-C only detaches (exit 130) and a dropped stream only loses
 * the view (exit 5); both say how to re-attach. The final state decides the
 * exit code: succeeded 0, failed or cancelled 1.
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
        yield { type: 'log', level: 'warn', message: `unparseable event: ${line.slice(0, 200)}` };
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

/**
 * Streams a job's events until it ends. Returns the outcome; the caller
 * decides what to print and then calls `throwIfUnsuccessful`. Returns
 * undefined only with `idleStopMs` when the job had not ended yet.
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
  let outcome: JobOutcome | undefined;
  try {
    const res = await client.stream({ method: 'GET', path: eventsPath(jobId) }, { accept: 'application/x-ndjson', signal: stop.signal });
    // Aborting the request alone may leave the async iterator waiting on a
    // stalled channel; destroying the response ends it for sure.
    stop.signal.addEventListener('abort', () => res.destroy(), { once: true });
    armIdle();
    for await (const ev of ndjson(res)) {
      armIdle();
      // Every line names its job, so a runbook reading the stream can
      // re-attach to it or cancel it after an interruption.
      if (ndjsonOut) out.printJsonLine({ jobId, ...ev });
      view?.event(ev);
      if (ev.type === 'end') {
        outcome = { jobId, state: isFinal(ev.state) ? ev.state : 'failed', ...(ev.result !== undefined ? { result: ev.result } : {}), ...(ev.error ? { error: ev.error } : {}) };
        break;
      }
    }
    if (!outcome && !stop.signal.aborted) throw new JobStreamLostError(jobId, 'the stream ended before the job did');
  } catch (e) {
    if (!outcome) {
      if (interrupt.signal.aborted) {
        view?.stop();
        throw new InterruptedError(`detached; the job keeps running.`, reattachHint(jobId));
      }
      if (timedOut) throw waitTimeout(jobId, opts.timeoutMs!);
      if (!idleStopped) {
        if ((e as Error).name === 'ProblemError' || e instanceof InterruptedError || e instanceof JobStreamLostError) throw e;
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
