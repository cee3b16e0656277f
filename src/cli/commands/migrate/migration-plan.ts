/**
 * Shared by the migrate verbs: reading the server's migration shapes, drawing
 * a plan for review, and turning 409/412 into messages an operator can act on.
 */
import type { Output } from '../../output/output.js';
import { ProblemError } from '../../../protocol/problem-error.js';
import { UsageError } from '../../errors/usage-error.js';
import type { MigrationRef } from '../../../protocol/migrations.js';

// The wire shapes are src/protocol's (docs/protocol.md): status lists {name}, a plan names.
export type { MigrationPlan, MigrationStatus } from '../../../protocol/migrations.js';

export type MigrationItem = string | MigrationRef;

export function nameOf(m: MigrationItem): string {
  return typeof m === 'string' ? m : m.name;
}

export function namesOf(list: MigrationItem[] | undefined): string[] {
  return (list ?? []).map(nameOf);
}

/**
 * Shows a plan for review. Under -o json stdout is reserved for the final
 * document, so the review goes to stderr as plain lines.
 */
export function showPlan(out: Output, names: string[], direction: 'up' | 'down', planHash: string | undefined): void {
  const verb = direction === 'up' ? 'apply' : 'revert';
  if (out.json) {
    out.note(`Plan: ${verb} ${names.length} migration(s), in this order:`);
    names.forEach((n, i) => out.note(`  ${i + 1}. ${n}`));
  } else {
    out.note(out.colors.bold(`Plan: ${verb} ${names.length} migration(s), in this order:`));
    out.table(names.map((name, i) => ({ step: i + 1, name, direction })), [
      { key: 'step', header: '#' },
      { key: 'name', header: 'migration', fit: 'id' },
      { key: 'direction', header: 'direction' },
    ]);
  }
  if (planHash) out.note(out.colors.dim(`plan hash ${planHash}`));
}

function holderText(h: unknown): string | undefined {
  if (typeof h === 'string') return h;
  if (h && typeof h === 'object') {
    const o = h as Record<string, unknown>;
    const who = [o.holder, o.principal, o.name].find((x) => typeof x === 'string') as string | undefined;
    const since = typeof o.since === 'string' ? ` since ${o.since}` : '';
    return who ? `${who}${since}` : JSON.stringify(h);
  }
  return undefined;
}

/** Rewrites 412/409 from migrations.up/down into what to do next; keeps the status (exit 6). */
export function explainConflict(e: unknown, direction: 'up' | 'down'): unknown {
  if (!(e instanceof ProblemError) && (e as Error)?.name !== 'ProblemError') return e;
  const p = e as ProblemError;
  if (p.status === 412) {
    return new ProblemError(p.code, `the plan changed since you reviewed it (migrations were applied, reverted or added meanwhile); nothing was ${direction === 'up' ? 'applied' : 'reverted'}. Re-run to review the new plan`, {}, 412);
  }
  if (p.status === 409) {
    const { holder, ...rest } = p.extensions ?? {};
    const who = holderText(holder);
    return new ProblemError(p.code, `migrations are locked${who ? ` by ${who}` : ''}: another migration is running; nothing was started. Wait for it (opsctl jobs list) and re-run`, rest, 409);
  }
  return e;
}

/** A 400 about `--to` (no such migration) is the operator's typo: exit 2, not 1. */
export function explainBadTarget(e: unknown): unknown {
  const p = e as ProblemError;
  if (p?.name === 'ProblemError' && p.status === 400 && p.extensions?.field === 'to') return new UsageError(`--to: ${p.message}`);
  return e;
}
