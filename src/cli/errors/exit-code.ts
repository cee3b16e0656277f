/**
 * The one place where errors become exit codes and messages (DESIGN §6).
 * Error classes are matched by name so heavy modules (ssh2 transport,
 * identity) never need to be imported just to classify their errors.
 */
import { ExitCode, exitCodeForStatus } from '../../protocol/exit-codes.js';

export interface ErrorReport {
  exitCode: number;
  message: string;
  hint?: string;
}

const NAME_TO_EXIT: Record<string, number> = {
  UsageError: ExitCode.USAGE,
  NotConfirmedError: ExitCode.NOT_CONFIRMED,
  InterruptedError: ExitCode.INTERRUPTED,
  ConnectionError: ExitCode.CONNECTION,
  HostKeyError: ExitCode.CONNECTION,
  TunnelError: ExitCode.CONNECTION,
  KeychainUnavailableError: ExitCode.FAILED,
  IdentityError: ExitCode.FAILED,
  HopSpecError: ExitCode.USAGE,
};

export function reportError(err: unknown): ErrorReport {
  if (!(err instanceof Error)) return { exitCode: ExitCode.FAILED, message: String(err) };
  const e = err as Error & { code?: unknown; status?: unknown; exitCode?: unknown; hint?: unknown; detail?: unknown; extensions?: Record<string, unknown> };
  const hint = typeof e.hint === 'string' ? e.hint : undefined;
  if (e.name === 'ProblemError' && typeof e.status === 'number') {
    const ext = e.extensions ?? {};
    const extra = typeof ext.field === 'string' ? ` (field: ${ext.field})` : typeof ext.holder === 'string' ? ` (held by ${ext.holder})` : '';
    return { exitCode: exitCodeForStatus(e.status), message: `${e.message}${extra} [${String(e.code)}, HTTP ${e.status}]`, ...(hint ? { hint } : {}) };
  }
  // Matched by code, not class name: bundling may rename commander's class.
  if (typeof e.code === 'string' && e.code.startsWith('commander.')) {
    const code = e.code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') return { exitCode: ExitCode.OK, message: '' };
    return { exitCode: ExitCode.USAGE, message: '' /* commander already printed it */ };
  }
  // A malformed --identity is a usage error; a key that cannot be loaded is not.
  if (e.name === 'IdentityError' && e.code === 'invalid-spec') return { exitCode: ExitCode.USAGE, message: e.message };
  if (e.name in NAME_TO_EXIT) return { exitCode: NAME_TO_EXIT[e.name]!, message: e.message, ...(hint ? { hint } : {}) };
  if (e.name === 'OperationError' && typeof e.exitCode === 'number') return { exitCode: e.exitCode, message: e.message, ...(hint ? { hint } : {}) };
  return { exitCode: ExitCode.FAILED, message: e.message || e.name, ...(hint ? { hint } : {}) };
}
