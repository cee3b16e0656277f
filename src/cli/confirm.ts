/**
 * The confirmation rule for destructive actions (README "Runbooks"): show first, then
 * ask; protected contexts make the operator type the context name; --yes
 * skips; no TTY and no --yes refuses before anything is sent to the server.
 */
import type { Factory } from './factory.js';
import { NotConfirmedError } from './errors/not-confirmed-error.js';
import { UsageError } from './errors/usage-error.js';

/**
 * Call before the first request of a destructive command: fails fast (exit 4)
 * when the action could never be confirmed, and enforces require-reason.
 */
export async function ensureConfirmable(f: Factory, action: string): Promise<void> {
  const g = f.globals();
  const ctx = await f.context();
  if (ctx.requireReason && !g.reason) throw new UsageError(`context "${ctx.name}" requires --reason for ${action}`);
  // A dry-run applies nothing: there is nothing to confirm.
  if (g.yes || g.dryRun) return;
  if (!f.prompter().interactive) {
    throw new NotConfirmedError(`refusing to ${action} without confirmation: not running interactively and --yes not given; nothing was sent`);
  }
}

/** Asks (after the plan/summary was shown). Throws NotConfirmedError when declined. */
export async function confirmDestructive(f: Factory, action: string): Promise<void> {
  await ensureConfirmable(f, action);
  if (f.globals().yes || f.globals().dryRun) return;
  const ctx = await f.context();
  const prompter = f.prompter();
  const ok = ctx.protected && ctx.name
    ? await prompter.typeToConfirm(`Context "${ctx.name}" is protected. Type its name to ${action}:`, ctx.name)
    : await prompter.confirm(`${action[0]!.toUpperCase()}${action.slice(1)}?`, false);
  if (!ok) throw new NotConfirmedError('not confirmed; nothing was changed');
}

/**
 * For mutating commands that need no confirmation (flags set, tasks run,
 * jobs cancel): a context with require-reason still refuses them without
 * --reason, before anything is sent.
 */
export async function ensureReason(f: Factory, action: string): Promise<void> {
  const ctx = await f.context();
  if (ctx.requireReason && !f.globals().reason) throw new UsageError(`context "${ctx.name}" requires --reason for ${action}`);
}

/**
 * Confirmation for a local destructive action that has no target context
 * (e.g. removing a key from the keychain): --yes skips, no TTY refuses.
 */
export async function confirmLocal(f: Factory, action: string): Promise<void> {
  if (f.globals().yes) return;
  const prompter = f.prompter();
  if (!prompter.interactive) throw new NotConfirmedError(`refusing to ${action} without confirmation: not running interactively and --yes not given`);
  if (!(await prompter.confirm(`${action[0]!.toUpperCase()}${action.slice(1)}?`, false))) throw new NotConfirmedError('not confirmed; nothing was changed');
}
