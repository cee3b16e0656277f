/** The job shapes of protocol v1 as the CLI reads them (docs/protocol.md: jobs). */

export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export const FINAL_STATES: readonly JobState[] = ['succeeded', 'failed', 'cancelled'];

export interface JobProgress {
  current?: number | null;
  total?: number | null;
  fraction?: number | null;
  message?: string | null;
}

export interface JobError {
  code?: string;
  message?: string;
}

/** jobs.get / one jobs.list entry. */
export interface JobView {
  id: string;
  endpoint?: string;
  name?: string;
  state: JobState;
  progress?: JobProgress | null;
  result?: unknown;
  error?: JobError | null;
  startedBy?: string;
  startedAt?: string;
  endedAt?: string | null;
  cancelRequested?: boolean;
}

/** The 202 answer of a job endpoint. */
export interface JobStarted {
  jobId: string;
  state?: JobState;
}

/** One NDJSON line of jobs.events. */
export interface JobEvent {
  type: 'state' | 'progress' | 'log' | 'end' | string;
  time?: string;
  state?: JobState;
  level?: string;
  message?: string;
  current?: number | null;
  total?: number | null;
  fraction?: number | null;
  result?: unknown;
  error?: JobError | null;
  [field: string]: unknown;
}

/** How a followed job ended. */
export interface JobOutcome {
  jobId: string;
  state: JobState;
  result?: unknown;
  error?: JobError | null;
}

export function isJobStarted(v: unknown): v is JobStarted {
  return typeof v === 'object' && v !== null && typeof (v as { jobId?: unknown }).jobId === 'string';
}

export function isFinal(state: string | undefined): state is JobState {
  return state !== undefined && (FINAL_STATES as readonly string[]).includes(state);
}

/** Accepts both `{jobs: [...]}` and a bare array from jobs.list. */
export function jobsOf(v: unknown): JobView[] {
  if (Array.isArray(v)) return v as JobView[];
  const jobs = (v as { jobs?: unknown } | null)?.jobs;
  return Array.isArray(jobs) ? (jobs as JobView[]) : [];
}

/** A progress snapshot as a fraction 0..1, or undefined when unknown. */
export function fractionOf(p: JobProgress | null | undefined): number | undefined {
  if (!p) return undefined;
  if (typeof p.fraction === 'number' && Number.isFinite(p.fraction)) return Math.min(1, Math.max(0, p.fraction));
  if (typeof p.current === 'number' && typeof p.total === 'number' && p.total > 0) return Math.min(1, Math.max(0, p.current / p.total));
  return undefined;
}
