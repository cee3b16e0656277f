import { ProblemError } from '../../../../src/protocol/index.js';
import type { TaskDefinition } from '../../../../src/server/options.js';

/**
 * Clears a migration lock left behind by a process that died while
 * migrating. Compare-and-delete: the operator must name the exact holder the
 * 409 reported, so a lock taken since then is never cleared by mistake.
 */
/** A lock that can name its holder (SQLite's row, or PostgreSQL's row + advisory lock). */
export interface InspectableLock {
  current(): { holder: string; since: string } | undefined | Promise<{ holder: string; since: string } | undefined>;
  release(holder: string): Promise<void>;
}

export function clearMigrationLockTask(lock: InspectableLock): TaskDefinition {
  return {
    name: 'clear-migration-lock',
    summary: 'Clear a stale migration lock (name its exact holder)',
    description:
      'Deletes the database migration lock if it is still held by exactly `holder` (copy it from the 409 conflict.locked answer). ' +
      'Only for a lock whose process is gone: clearing the lock of a migration that is still running lets a second one start.',
    role: 'admin',
    destructive: true,
    scope: 'service',
    params: {
      type: 'object',
      properties: { holder: { type: 'string', minLength: 1, maxLength: 1000, description: 'the holder named by the 409 answer' } },
      required: ['holder'],
      additionalProperties: false,
    },
    async dryRun(params) {
      const current = await lock.current();
      return { lock: current ?? null, wouldClear: current?.holder === String(params.holder) };
    },
    async handler(params, ctx) {
      const holder = String(params.holder);
      const current = await lock.current();
      if (!current) throw new ProblemError('not_found', 'no migration lock is held');
      if (current.holder !== holder) {
        throw new ProblemError('precondition.failed', `the lock is held by ${current.holder} since ${current.since}, not by the holder given`, { holder: current.holder, since: current.since });
      }
      ctx.signal.throwIfAborted();
      await lock.release(holder);
      ctx.log(`cleared the migration lock of ${holder} (held since ${current.since})`, 'warn');
      return { cleared: true, holder, since: current.since };
    },
  };
}
