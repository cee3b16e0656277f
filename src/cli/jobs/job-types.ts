/**
 * The job shapes as the CLI reads them: the wire types are src/protocol's
 * (docs/protocol.md, "Jobs"); here what following a job adds, and readers.
 */
import { FINAL_JOB_STATES, type JobError, type JobProgress, type JobStarted, type JobState, type JobView } from '../../protocol/jobs.js';

export type { JobError, JobEvent, JobProgress, JobStarted, JobState, JobView } from '../../protocol/jobs.js';

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
  return state !== undefined && (FINAL_JOB_STATES as readonly string[]).includes(state);
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
