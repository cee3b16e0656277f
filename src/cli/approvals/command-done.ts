import { OperationError } from '../errors/operation-error.js';

/**
 * Ends a command successfully after it printed its answer early (a dry-run,
 * or a held request under --no-wait): exit 0 with nothing more to say.
 */
export function commandDone(): never {
  throw new OperationError('', 0);
}
