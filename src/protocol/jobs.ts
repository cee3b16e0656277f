/**
 * The job shapes of protocol v1 (docs/protocol.md, "Jobs"): what the server's
 * jobs build and the CLI reads — jobs.get, one jobs.list entry, the 202 of a
 * job endpoint, one NDJSON line of jobs.events.
 */

export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** The states a job never leaves. */
export const FINAL_JOB_STATES: readonly JobState[] = ['succeeded', 'failed', 'cancelled'];

/** A progress snapshot: a count, a fraction, or both, and a message; null when not reported. */
export interface JobProgress {
  current: number | null;
  total: number | null;
  fraction: number | null;
  message: string | null;
}

export interface JobError {
  code: string;
  message: string;
}

/** jobs.get / one jobs.list entry. */
export interface JobView {
  id: string;
  /** The endpoint that started it (tasks.run, migrations.up, …). */
  endpoint: string;
  /** The task's name, for tasks.run. */
  name?: string;
  state: JobState;
  progress: JobProgress;
  result: unknown;
  error: JobError | null;
  startedBy: string;
  startedByKeyid: string;
  startedAt: string;
  endedAt: string | null;
  cancelRequested: boolean;
}

/** The 202 answer of a job endpoint. */
export interface JobStarted {
  jobId: string;
  state?: JobState;
}

/** One NDJSON line of jobs.events: a state change, a progress update, a log line, then `end`. */
export interface JobEvent {
  type: 'state' | 'progress' | 'log' | 'end';
  time: string;
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
