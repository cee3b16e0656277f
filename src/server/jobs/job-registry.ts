import { ProblemError, ROLES, type Role } from '../../protocol/index.js';
import type { Principal } from '../options.js';
import { randomId } from '../random-id.js';
import type { JobSpec } from '../routing/route.js';
import { Job, type JobState } from './job.js';

/** A reserved place under the concurrency limit; released if no job is started in it. */
export class JobSlot {
  readonly id = randomId(16);
  private state: 'reserved' | 'released' | 'used' = 'reserved';

  constructor(private readonly onRelease: () => void, readonly role: Role = 'admin') {}

  get used(): boolean {
    return this.state === 'used';
  }

  /** Gives the place back unless a job took it; safe to call more than once. */
  release(): void {
    if (this.state !== 'reserved') return;
    this.state = 'released';
    this.onRelease();
  }

  take(): void {
    if (this.state !== 'reserved') throw new Error(`job slot is ${this.state}`);
    this.state = 'used';
    this.onRelease();
  }
}

export interface JobRegistryOptions {
  maxConcurrent: number;
  /**
   * Slots only a role (or a higher one) may take, so that lower roles cannot
   * starve it: `{admin: 1}` (the default when maxConcurrent ≥ 2) keeps one
   * slot that operators' tasks can never fill. The sum must leave at least
   * one slot for everyone.
   */
  reservedSlots?: Partial<Record<Role, number>>;
  keepFinished?: number;
  /** Called once per job when it ends (for the audit record and metrics). */
  onEnd?(job: Job): Promise<void> | void;
  log(level: 'info' | 'warn' | 'error', message: string): void;
}

/**
 * Server-owned jobs. A job belongs to the server, not to the connection that
 * started it: a client going away never touches it. Finished jobs are kept
 * (the newest `keepFinished`) so operators can re-attach and read results.
 */
export class JobRegistry {
  private readonly jobs = new Map<string, Job>();
  /** Slots reserved but not yet taken by a job, by the role of who asked. */
  private readonly reserved = new Map<Role, number>();
  private readonly kept: Record<Role, number>;

  constructor(private readonly opts: JobRegistryOptions) {
    const given = opts.reservedSlots ?? (opts.maxConcurrent >= 2 ? { admin: 1 } : {});
    this.kept = { viewer: given.viewer ?? 0, operator: given.operator ?? 0, admin: given.admin ?? 0 };
    const total = ROLES.reduce((n, r) => n + this.kept[r], 0);
    if (ROLES.some((r) => !Number.isInteger(this.kept[r]) || this.kept[r] < 0) || total - this.kept.viewer >= opts.maxConcurrent) {
      throw new Error(`reserved job slots ${JSON.stringify(given)} must be whole numbers leaving at least one of ${opts.maxConcurrent} slots for every role`);
    }
  }

  /** How many slots the roles at or below `role` may hold together: all but those kept for higher roles. */
  limitFor(role: Role): number {
    const rank = ROLES.indexOf(role);
    return this.opts.maxConcurrent - ROLES.slice(rank + 1).reduce((n, r) => n + this.kept[r], 0);
  }

  /** Running jobs plus reservations held by roles at or below `role`. */
  private inUse(role: Role): number {
    const rank = ROLES.indexOf(role);
    let n = 0;
    for (const j of this.jobs.values()) if (!j.finished && ROLES.indexOf(j.principal.role) <= rank) n++;
    for (const [r, c] of this.reserved) if (ROLES.indexOf(r) <= rank) n += c;
    return n;
  }

  get running(): number {
    let n = 0;
    for (const j of this.jobs.values()) if (!j.finished) n++;
    return n;
  }

  countByState(): Record<JobState, number> {
    const out: Record<JobState, number> = { queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 };
    for (const j of this.jobs.values()) out[j.state]++;
    return out;
  }

  /**
   * Reserves a slot for a job started by `role`, or throws 429 limit.jobs:
   * when every slot is taken, or when the only free ones are kept for a
   * higher role (docs/security.md, "Job starvation").
   */
  reserve(role: Role = 'admin'): JobSlot {
    const top = ROLES[ROLES.length - 1]!;
    if (this.inUse(top) >= this.opts.maxConcurrent) {
      throw new ProblemError('limit.jobs', `${this.opts.maxConcurrent} jobs are already running; retry when one has finished`);
    }
    const limit = this.limitFor(role);
    if (this.inUse(role) >= limit) {
      throw new ProblemError('limit.jobs', `${limit} of ${this.opts.maxConcurrent} job slots may be used by role ${role} and they are all taken (the rest are kept for higher roles); retry when one has finished`);
    }
    this.reserved.set(role, (this.reserved.get(role) ?? 0) + 1);
    return new JobSlot(() => { this.reserved.set(role, (this.reserved.get(role) ?? 1) - 1); }, role);
  }

  start(slot: JobSlot, endpoint: string, principal: Principal, spec: JobSpec, meta?: unknown): Job {
    slot.take();
    const job = new Job(slot.id, endpoint, principal, spec, meta);
    this.jobs.set(job.id, job);
    this.prune();
    job.state = 'running';
    job.emit({ type: 'state', state: 'running' });
    job.done = this.run(job);
    return job;
  }

  get(id: string): Job | undefined {
    return this.jobs.get(id);
  }

  /** Newest first. */
  list(): Job[] {
    return [...this.jobs.values()].reverse();
  }

  /** Cooperative cancel: aborts the job's signal; the handler decides when to stop. */
  cancel(id: string): Job | undefined {
    const job = this.jobs.get(id);
    if (job && !job.finished && !job.controller.signal.aborted) {
      job.controller.abort(new Error('cancelled by an operator'));
      job.emit({ type: 'log', level: 'warn', message: 'cancel requested' });
    }
    return job;
  }

  /** On close: signals every running job to stop and waits up to graceMs for them. */
  async shutdown(graceMs: number): Promise<void> {
    const running = [...this.jobs.values()].filter((j) => !j.finished);
    if (!running.length) return;
    for (const j of running) {
      if (!j.controller.signal.aborted) j.controller.abort(new Error('the internal port is shutting down'));
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(running.map((j) => j.done)),
      new Promise<void>((resolve) => { timer = setTimeout(resolve, graceMs); }),
    ]);
    if (timer) clearTimeout(timer);
    for (const j of running) if (!j.finished) this.opts.log('warn', `job ${j.id} (${j.endpoint}) still running at shutdown`);
  }

  private async run(job: Job): Promise<void> {
    await Promise.resolve();
    let state: JobState;
    let result: unknown = null;
    let error: Job['error'] = null;
    try {
      const r = await job.spec.run(job.context());
      result = r === undefined ? null : r;
      state = 'succeeded';
    } catch (e) {
      if (job.controller.signal.aborted) {
        state = 'cancelled';
        error = { code: 'cancelled', message: reasonOf(job.controller.signal) };
      } else {
        state = 'failed';
        const err = e as { code?: unknown; message?: unknown };
        const code = e instanceof ProblemError ? e.code : typeof err?.code === 'string' ? err.code : 'internal';
        error = { code, message: typeof err?.message === 'string' ? err.message : String(e) };
      }
    }
    // Cleanup (e.g. releasing the migration lock) happens before the job is
    // seen as finished, so "succeeded" means the next run can start.
    try {
      await job.spec.onEnd?.();
    } catch (e) {
      this.opts.log('error', `job ${job.id} cleanup failed: ${(e as Error).message}`);
    }
    job.result = result;
    job.error = error;
    job.state = state;
    job.endedAt = new Date().toISOString();
    job.emit({ type: 'state', state });
    try {
      await this.opts.onEnd?.(job);
    } catch (e) {
      this.opts.log('error', `job ${job.id} end hook failed: ${(e as Error).message}`);
    }
    const end: Record<string, unknown> = { type: 'end', state };
    if (state === 'succeeded') end.result = result;
    if (error) end.error = error;
    job.emit(end as { type: 'end' });
    this.prune();
  }

  private prune(): void {
    const keep = this.opts.keepFinished ?? 200;
    const finished = [...this.jobs.values()].filter((j) => j.finished);
    for (let i = 0; i < finished.length - keep; i++) this.jobs.delete(finished[i]!.id);
  }
}

function reasonOf(signal: AbortSignal): string {
  const r = signal.reason as unknown;
  return r instanceof Error ? r.message : typeof r === 'string' ? r : 'cancelled';
}
