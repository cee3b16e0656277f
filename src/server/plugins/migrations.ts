import { ProblemError } from '../../protocol/index.js';
import type { JobContext, MigrationJob, MigrationsOptions } from '../options.js';
import type { DryRunRequest, RouteRequest, RouteResult } from '../routing/route.js';
import { computePlan, type Direction, type MigrationPlan } from './migration-plan.js';
import type { MigrationStatus } from '../../protocol/migrations.js';
import type { PluginContext } from './plugin-context.js';
import { standardRoute } from './standard-endpoint.js';

type MigrationEvent = 'migrating' | 'migrated' | 'reverting' | 'reverted';

function preconditionFailed(plan: MigrationPlan, why: string): ProblemError {
  return new ProblemError('precondition.failed', why, { planHash: plan.planHash, pending: plan.pending });
}

/** Runs up/down with progress per migration from the migrator's events. */
async function runMigrations(m: MigrationsOptions, plan: MigrationPlan, job: JobContext): Promise<unknown> {
  const [start, end]: [MigrationEvent, MigrationEvent] = plan.direction === 'up' ? ['migrating', 'migrated'] : ['reverting', 'reverted'];
  const total = plan.pending.length;
  let done = 0;
  const onStart = (ev: { name: string }) => {
    job.log(`${plan.direction === 'up' ? 'applying' : 'reverting'} ${ev.name}`);
    job.progress({ current: done, total, message: ev.name });
  };
  const onEnd = (ev: { name: string }) => {
    done++;
    job.log(`${plan.direction === 'up' ? 'applied' : 'reverted'} ${ev.name}`);
    job.progress({ current: done, total, message: ev.name });
  };
  const unsub: Array<() => void> = [];
  for (const [event, fn] of [[start, onStart], [end, onEnd]] as const) {
    const r = m.migrator.on?.(event, fn);
    unsub.push(() => {
      if (typeof r === 'function') (r as () => void)();
      else m.migrator.off?.(event, fn);
    });
  }
  job.progress({ current: 0, total, message: total ? `${total} migration(s) to ${plan.direction === 'up' ? 'apply' : 'revert'}` : 'nothing to do' });
  try {
    if (!total) return { direction: plan.direction, applied: [], planHash: plan.planHash };
    // The job goes along for migrators that run commands (their output is the job's log).
    const migrationJob: MigrationJob = {
      log: (message, level) => job.log(message, level),
      signal: job.signal,
      ...(job.auditResult ? { auditResult: (fields: Record<string, string | number | boolean | null>) => job.auditResult!(fields) } : {}),
    };
    const ran = plan.direction === 'up'
      ? await m.migrator.up(plan.to ? { to: plan.to } : {}, migrationJob)
      // umzug's down({to}) is inclusive: stop at the oldest migration of the plan.
      : await m.migrator.down({ to: plan.to === '0' ? 0 : plan.pending[plan.pending.length - 1]! }, migrationJob);
    const names = ran.map((r) => r.name);
    return { direction: plan.direction, [plan.direction === 'up' ? 'applied' : 'reverted']: names, planHash: plan.planHash };
  } finally {
    for (const u of unsub) u();
  }
}

/** migrations.status/plan/up/down over an umzug-compatible migrator and a database lock. */
export function registerMigrations(ctx: PluginContext, m: MigrationsOptions): void {
  ctx.register(standardRoute('migrations.status', {
    handler: async () => {
      const [applied, pending] = await Promise.all([m.migrator.executed(), m.migrator.pending()]);
      const body: MigrationStatus = { applied: applied.map((x) => ({ name: x.name })), pending: pending.map((x) => ({ name: x.name })) };
      return { body };
    },
  }));
  ctx.register(standardRoute('migrations.plan', {
    handler: async ({ params }) => {
      const direction: Direction = params.direction === 'down' ? 'down' : 'up';
      const plan = await computePlan(m.migrator, direction, params.to as string | undefined);
      return { body: plan };
    },
  }));

  const run = (direction: Direction) => async ({ params, principal, requestId, startJob }: RouteRequest): Promise<RouteResult> => {
    const to = params.to as string | undefined;
    const expected = params.expectedPlan as string | undefined;
    const plan = await computePlan(m.migrator, direction, to);
    if (expected !== undefined && expected !== plan.planHash) {
      throw preconditionFailed(plan, 'the migration plan changed since it was reviewed; nothing was applied. Review the new plan and retry.');
    }
    const holder = `${principal.name} (${principal.keyid}) request ${requestId}`;
    const lock = await m.lock.acquire(holder);
    if (!lock.acquired) {
      throw new ProblemError('conflict.locked', `migrations are locked by ${lock.holder}${lock.since ? ` since ${lock.since}` : ''}`, { holder: lock.holder, ...(lock.since ? { since: lock.since } : {}) });
    }
    let started = false;
    try {
      // Someone may have migrated between our plan and our lock: re-plan under the lock.
      const locked = await computePlan(m.migrator, direction, to);
      if (locked.planHash !== plan.planHash) throw preconditionFailed(locked, 'the migration plan changed while acquiring the lock; nothing was applied');
      const job = startJob({
        name: `migrations.${direction}`,
        run: (jc) => runMigrations(m, locked, jc),
        onEnd: () => m.lock.release(holder),
      });
      started = true;
      return { job };
    } finally {
      if (!started) await m.lock.release(holder).catch((e: Error) => ctx.log('error', `releasing the migration lock failed: ${e.message}`));
    }
  };
  // Dry-run: the plan as a run would compute it, the expectedPlan check
  // (412), and, when asked, whether the lock is free (409): taken and given
  // back at once, nothing migrated.
  const dryRun = (direction: Direction) => async ({ params, principal, requestId, probeLocks }: DryRunRequest): Promise<unknown> => {
    const plan = await computePlan(m.migrator, direction, params.to as string | undefined);
    const expected = params.expectedPlan as string | undefined;
    if (expected !== undefined && expected !== plan.planHash) {
      throw preconditionFailed(plan, 'the migration plan changed since it was reviewed; nothing would be applied. Review the new plan and retry.');
    }
    if (probeLocks) {
      const holder = `${principal.name} (${principal.keyid}) dry-run ${requestId}`;
      const lock = await m.lock.acquire(holder);
      if (!lock.acquired) {
        throw new ProblemError('conflict.locked', `migrations are locked by ${lock.holder}${lock.since ? ` since ${lock.since}` : ''}`, { holder: lock.holder, ...(lock.since ? { since: lock.since } : {}) });
      }
      await m.lock.release(holder);
    }
    return plan;
  };
  ctx.register(standardRoute('migrations.up', { handler: run('up'), dryRun: dryRun('up') }));
  ctx.register(standardRoute('migrations.down', { handler: run('down'), dryRun: dryRun('down') }));
}
