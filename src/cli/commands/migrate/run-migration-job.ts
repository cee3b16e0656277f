/**
 * The second half of `migrate up` and `migrate down`: follow the migration job
 * to its end (a migration is never fire-and-forget from the CLI), then print
 * one JSON document or a human summary. Exit 1 when the job failed.
 */
import type { Factory } from '../../factory.js';
import { remember } from '../../command.js';
import type { JobStarted } from '../../jobs/job-types.js';
import { followJob, reportOutcome, throwIfUnsuccessful } from '../../jobs/follow.js';

export interface MigrationJobOptions {
  direction: 'up' | 'down';
  names: string[];
  planHash: string | undefined;
  interrupt?: AbortSignal;
}

export async function runMigrationJob(f: Factory, started: JobStarted, opts: MigrationJobOptions): Promise<void> {
  await remember(f, 'jobs', [started.jobId], { append: true });
  const out = await f.output();
  out.note(`${opts.direction === 'up' ? 'applying' : 'reverting'} as job ${started.jobId} (Ctrl-C detaches; the job keeps running)`);
  const outcome = await followJob(f, started.jobId, {
    label: `migrate ${opts.direction}`,
    jsonEvents: 'none',
    ...(opts.interrupt ? { interrupt: opts.interrupt } : {}),
  });
  if (!outcome) return;
  if (out.json) {
    out.printJson({
      jobId: outcome.jobId,
      direction: opts.direction,
      plan: opts.names,
      planHash: opts.planHash ?? null,
      state: outcome.state,
      result: outcome.result ?? null,
      error: outcome.error ?? null,
    });
  } else {
    await reportOutcome(f, outcome, { result: false });
    if (outcome.state === 'succeeded') {
      const r = (outcome.result ?? {}) as { applied?: unknown; reverted?: unknown };
      const done = Array.isArray(r.applied) ? r.applied : Array.isArray(r.reverted) ? r.reverted : opts.names;
      out.line(`${opts.direction === 'up' ? 'applied' : 'reverted'} ${done.length} migration(s)${done.length ? `: ${done.join(', ')}` : ''}`);
    }
  }
  throwIfUnsuccessful(outcome);
}
