import type { FlagChange } from '../options.js';

/**
 * Calls every listener with the change; one that throws does not keep the
 * others from hearing it (its error is handed to `onError`, default: ignored,
 * since a store has no log of its own).
 */
export function notifyAll(listeners: Iterable<(change: FlagChange) => void>, change: FlagChange, onError?: (e: unknown) => void): void {
  for (const l of [...listeners]) {
    try {
      l(change);
    } catch (e) {
      onError?.(e);
    }
  }
}
