import type { Colors, Column } from '../../output/output.js';
import { fractionOf, type JobProgress, type JobState } from '../../jobs/job-types.js';

export function stateText(c: Colors, state: JobState | string): string {
  if (state === 'succeeded') return c.green(state);
  if (state === 'failed') return c.red(state);
  if (state === 'cancelled') return c.yellow(state);
  return c.cyan(state);
}

export function progressText(p: JobProgress | null | undefined): string {
  const f = fractionOf(p);
  const pct = f === undefined ? '' : `${Math.round(f * 100)}%`;
  const n = p && typeof p.current === 'number' && typeof p.total === 'number' ? `${p.current}/${p.total}` : '';
  return [pct, n, p?.message ?? ''].filter(Boolean).join(' ');
}

/** `tasks.run count`, or just `migrations.up` when the job's name repeats the endpoint. */
export function jobWhat(endpoint: unknown, name: unknown): string {
  const e = typeof endpoint === 'string' ? endpoint : '';
  return typeof name === 'string' && name && name !== e ? `${e} ${name}` : e;
}

export function jobColumns(c: Colors): Column[] {
  return [
    { key: 'id', header: 'id', fit: 'id' },
    { key: 'endpoint', header: 'what', format: (v, r) => jobWhat(v, r.name) },
    { key: 'state', header: 'state', format: (v) => stateText(c, String(v)) },
    { key: 'progress', header: 'progress', fit: 'text', format: (v) => progressText(v as JobProgress) },
    { key: 'startedBy', header: 'started by' },
    { key: 'startedAt', header: 'started at', optional: true },
    { key: 'endedAt', header: 'ended at', optional: true },
  ];
}
