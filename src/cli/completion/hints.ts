/**
 * Marks which live values complete an argument or option. The completion
 * engine and the man page read these marks off the same commander tree that
 * --help prints.
 */
import type { Argument, Option } from 'commander';

export type CompletionKind = 'flags' | 'flag-values' | 'tasks' | 'migrations' | 'jobs' | 'endpoints' | 'approvals' | 'contexts' | 'hosts' | 'keys' | 'files' | 'shells';

const KEY = Symbol.for('opsctl.complete');

export function completeWith<T extends Argument | Option>(target: T, kind: CompletionKind): T {
  (target as unknown as Record<symbol, CompletionKind>)[KEY] = kind;
  return target;
}

export function completionKindOf(target: Argument | Option): CompletionKind | undefined {
  return (target as unknown as Record<symbol, CompletionKind | undefined>)[KEY];
}
