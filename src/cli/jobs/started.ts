/**
 * What every job-starting command does with the 202 `{jobId}`: remember the id
 * for completion, then either print it (with how to follow) or follow the job
 * to its end.
 */
import type { Factory } from '../factory.js';
import { remember } from '../command.js';
import type { JobStarted } from './job-types.js';
import { followJob, reportOutcome, throwIfUnsuccessful } from './follow.js';
import { reattachHint } from './job-stream-lost-error.js';
import { noteJobHosts } from '../fleet/job-hosts.js';

export interface StartedJobOptions {
  follow: boolean;
  /** For messages and the status line ("task recompute-totals"). */
  label: string;
  /** Extra fields of the -o json document when not following. */
  extra?: Record<string, unknown>;
  interrupt?: AbortSignal;
}

export async function handleStartedJob(f: Factory, started: JobStarted, opts: StartedJobOptions): Promise<void> {
  await remember(f, 'jobs', [started.jobId], { append: true });
  await noteJobHosts(f, [started.jobId]);
  const out = await f.output();
  if (!opts.follow) {
    out.emit({ jobId: started.jobId, state: started.state ?? 'queued', ...opts.extra }, () => {
      // The id alone on stdout, so `ID=$(opsctl tasks run …)` works.
      out.line(started.jobId);
      out.success(`started ${opts.label} as job ${started.jobId}`);
      out.note(reattachHint(started.jobId).replace('Re-attach', 'Follow'));
    });
    return;
  }
  if (!out.json) out.note(`started ${opts.label} as job ${started.jobId} (Ctrl-C detaches; the job keeps running)`);
  const outcome = await followJob(f, started.jobId, { label: opts.label, jsonEvents: 'ndjson', ...(opts.interrupt ? { interrupt: opts.interrupt } : {}) });
  if (!outcome) return;
  await reportOutcome(f, outcome);
  throwIfUnsuccessful(outcome);
}
