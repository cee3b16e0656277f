import type { JobContext, Principal } from '../options.js';
import type { JobSpec } from '../routing/route.js';
import type { JobError, JobEvent, JobProgress, JobState, JobView } from '../../protocol/jobs.js';

// The wire shapes live in src/protocol (docs/protocol.md, "Jobs"), shared with the CLI.
export type { JobEvent, JobProgress, JobState, JobView } from '../../protocol/jobs.js';

const MAX_EVENTS = 5000;

/** One server-owned job: state, progress, the replayable event log, live listeners. */
export class Job {
  state: JobState = 'queued';
  progress: JobProgress = { current: null, total: null, fraction: null, message: null };
  result: unknown = null;
  error: JobError | null = null;
  readonly startedAt = new Date().toISOString();
  endedAt: string | null = null;
  readonly events: JobEvent[] = [];
  readonly controller = new AbortController();
  private readonly listeners = new Set<(ev: JobEvent) => void>();
  private truncated = false;
  /** Fields the job's final audit record carries under `result` (JobContext.auditResult). */
  auditFields: Record<string, string | number | boolean | null> | undefined;
  done!: Promise<void>;

  constructor(
    readonly id: string,
    readonly endpoint: string,
    readonly principal: Principal,
    readonly spec: JobSpec,
    /** Whatever the starter wants back when the job ends (the audit context). */
    readonly meta: unknown = undefined,
  ) {}

  get finished(): boolean {
    return this.state === 'succeeded' || this.state === 'failed' || this.state === 'cancelled';
  }

  emit(ev: Omit<JobEvent, 'time'> & { type: JobEvent['type'] }): void {
    const event = { ...ev, time: new Date().toISOString() } as JobEvent;
    // State and end events are always kept so a re-attach sees how it ended.
    if (this.events.length < MAX_EVENTS || event.type === 'state' || event.type === 'end') {
      this.events.push(event);
    } else if (!this.truncated) {
      this.truncated = true;
      this.events.push({ type: 'log', time: event.time, level: 'warn', message: `event log truncated after ${MAX_EVENTS} events` });
    }
    for (const l of this.listeners) l(event);
  }

  subscribe(listener: (ev: JobEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  context(): JobContext {
    return {
      signal: this.controller.signal,
      principal: this.principal,
      progress: (update) => this.reportProgress(update),
      log: (message, level = 'info') => {
        this.emit({ type: 'log', level, message: String(message).slice(0, 10_000) });
      },
      auditResult: (fields) => {
        const clean: Record<string, string | number | boolean | null> = {};
        for (const [k, v] of Object.entries(fields ?? {})) {
          // Scalars only, strings cut: the record is canonical JSON in a hash chain.
          if (v === null || typeof v === 'number' || typeof v === 'boolean') clean[k] = v;
          else if (typeof v === 'string') clean[k] = v.slice(0, 1024);
        }
        this.auditFields = { ...this.auditFields, ...clean };
      },
    };
  }

  private reportProgress(update: number | { current: number; total: number; message?: string }): void {
    if (this.finished) return;
    const finite = (n: unknown): number | null => (typeof n === 'number' && Number.isFinite(n) ? n : null);
    if (typeof update === 'number') {
      const f = finite(update);
      this.progress = { current: null, total: null, fraction: f === null ? null : Math.min(1, Math.max(0, f)), message: this.progress.message };
    } else {
      const current = finite(update?.current);
      const total = finite(update?.total);
      const fraction = current !== null && total ? Math.min(1, Math.max(0, current / total)) : null;
      this.progress = { current, total, fraction, message: typeof update?.message === 'string' ? update.message : null };
    }
    this.emit({ type: 'progress', ...this.progress });
  }

  view(): JobView {
    return {
      id: this.id,
      endpoint: this.endpoint,
      ...(this.spec.name !== undefined ? { name: this.spec.name } : {}),
      state: this.state,
      progress: this.progress,
      result: this.result,
      error: this.error,
      startedBy: this.principal.name,
      startedByKeyid: this.principal.keyid,
      startedAt: this.startedAt,
      endedAt: this.endedAt,
      cancelRequested: this.controller.signal.aborted,
    };
  }
}
