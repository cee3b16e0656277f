import { createHash } from 'node:crypto';
import { ProblemError } from '../../protocol/index.js';
import { canonicalJson } from '../canonical-json.js';
import type { MigratorLike } from '../options.js';
import type { MigrationDirection, MigrationPlan } from '../../protocol/migrations.js';

// The plan's wire shape lives in src/protocol (docs/protocol.md), shared with the CLI.
export type { MigrationPlan } from '../../protocol/migrations.js';
export type Direction = MigrationDirection;

/** sha256 hex over the canonical JSON of {direction, to, pending}. */
export function planHash(direction: Direction, to: string | null, pending: string[]): string {
  return createHash('sha256').update(canonicalJson({ direction, to, pending })).digest('hex');
}

/**
 * up: pending migrations in order, up to and including `to` (a pending name).
 * down: applied migrations after `to`, newest first; `to` must be an applied
 * name (which stays applied) or "0" (revert everything).
 */
export async function computePlan(migrator: MigratorLike, direction: Direction, to: string | undefined): Promise<MigrationPlan> {
  let names: string[];
  if (direction === 'up') {
    const pending = (await migrator.pending()).map((m) => m.name);
    if (to === undefined) {
      names = pending;
    } else {
      const i = pending.indexOf(to);
      if (i < 0) {
        const applied = (await migrator.executed()).some((m) => m.name === to);
        throw new ProblemError('request.invalid', applied ? `migration "${to}" is already applied` : `no pending migration named "${to}"`, { field: 'to' });
      }
      names = pending.slice(0, i + 1);
    }
  } else {
    const applied = (await migrator.executed()).map((m) => m.name);
    if (to === undefined) throw new ProblemError('request.invalid', '"to" is required for down (an applied migration to keep, or "0" for all)', { field: 'to' });
    if (to === '0') {
      names = [...applied].reverse();
    } else {
      const i = applied.indexOf(to);
      if (i < 0) throw new ProblemError('request.invalid', `no applied migration named "${to}"`, { field: 'to' });
      names = applied.slice(i + 1).reverse();
    }
  }
  const target = to ?? null;
  return { direction, to: target, pending: names, planHash: planHash(direction, target, names) };
}
