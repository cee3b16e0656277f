/**
 * The one place where errors become exit codes, stable error codes and
 * messages (the table is in README "Exit codes" and docs/protocol.md).
 * Error classes are matched by name so heavy modules (ssh2 transport,
 * identity) never need to be imported just to classify their errors.
 */
import { ExitCode, exitCodeForStatus } from '../../protocol/exit-codes.js';

export interface ErrorReport {
  exitCode: number;
  /** One line for a human; empty when it was already printed (commander). */
  message: string;
  hint?: string;
  /**
   * Stable name of the failure for scripts: the server's problem code
   * (`request.invalid`, `auth.forbidden`, …) or the CLI's own (`usage`,
   * `connection`, `job.failed`, …; docs/protocol.md lists them).
   */
  code: string;
  /** HTTP status when the internal port answered with a problem, else null. */
  status: number | null;
  /** The command already told a human (a fleet's tally): the message is for the -o json object only. */
  shown?: boolean;
}

export interface ReportContext {
  /**
   * The command was about a name the operator typed (a flag, task, job or
   * migration): a `not_found` for it is a usage error (exit 2), like a
   * mistyped command, not a failed operation.
   */
  typedName?: boolean;
}

const BY_NAME: Record<string, { exitCode: number; code: string }> = {
  UsageError: { exitCode: ExitCode.USAGE, code: 'usage' },
  HopSpecError: { exitCode: ExitCode.USAGE, code: 'usage' },
  NotConfirmedError: { exitCode: ExitCode.NOT_CONFIRMED, code: 'not_confirmed' },
  InterruptedError: { exitCode: ExitCode.INTERRUPTED, code: 'interrupted' },
  ConnectionError: { exitCode: ExitCode.CONNECTION, code: 'connection' },
  HostKeyError: { exitCode: ExitCode.CONNECTION, code: 'host_key' },
  TunnelError: { exitCode: ExitCode.CONNECTION, code: 'tunnel' },
  // No directory of the operator's own to keep runtime/state/config files in (README, "Local files").
  UnsafeDirError: { exitCode: ExitCode.CONNECTION, code: 'unsafe_dir' },
  KeychainUnavailableError: { exitCode: ExitCode.FAILED, code: 'keychain.unavailable' },
  IdentityError: { exitCode: ExitCode.FAILED, code: 'identity' },
  ResponseTooLargeError: { exitCode: ExitCode.FAILED, code: 'response.too_large' },
};

/** Problem codes that mean "what you typed is wrong" rather than "it failed". */
const USAGE_PROBLEMS = new Set(['request.invalid', 'grant.principal_taken']);

export function reportError(err: unknown, ctx: ReportContext = {}): ErrorReport {
  if (!(err instanceof Error)) return { exitCode: ExitCode.FAILED, message: String(err), code: 'failed', status: null };
  const e = err as Error & { code?: unknown; status?: unknown; exitCode?: unknown; hint?: unknown; detail?: unknown; shown?: unknown; extensions?: Record<string, unknown> };
  const hint = typeof e.hint === 'string' && e.hint ? { hint: e.hint } : {};
  if (e.name === 'ProblemError' && typeof e.status === 'number') {
    const code = String(e.code);
    const ext = e.extensions ?? {};
    const extra = typeof ext.field === 'string' ? ` (field: ${ext.field})` : typeof ext.holder === 'string' ? ` (held by ${ext.holder})` : '';
    const exitCode = USAGE_PROBLEMS.has(code) || (code === 'not_found' && ctx.typedName) ? ExitCode.USAGE : exitCodeForStatus(e.status);
    return { exitCode, message: `${e.message}${extra} [${code}, HTTP ${e.status}]`, code, status: e.status, ...hint };
  }
  // Matched by code, not class name: bundling may rename commander's class.
  if (typeof e.code === 'string' && e.code.startsWith('commander.')) {
    const code = e.code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') return { exitCode: ExitCode.OK, message: '', code: 'ok', status: null };
    return { exitCode: ExitCode.USAGE, message: '' /* commander already printed it */, code: 'usage', status: null };
  }
  // A malformed --identity is a usage error; a key that cannot be loaded is not.
  if (e.name === 'IdentityError' && e.code === 'invalid-spec') return { exitCode: ExitCode.USAGE, message: e.message, code: 'usage', status: null };
  const known = BY_NAME[e.name];
  if (known) return { exitCode: known.exitCode, message: e.message, code: known.code, status: null, ...hint };
  // OperationError and its subclasses (job failed, stream lost, …) carry their own.
  if (typeof e.exitCode === 'number') {
    return { exitCode: e.exitCode, message: e.message, code: typeof e.code === 'string' ? e.code : 'failed', status: null, ...hint, ...(e.shown === true ? { shown: true } : {}) };
  }
  return { exitCode: ExitCode.FAILED, message: e.message || e.name, code: 'failed', status: null, ...hint };
}

/**
 * The -o json error object written to stderr (stdout keeps its one document
 * or stays empty): `{"error":{"code","status","message","exitCode","hint"?}}`.
 * `message` is the human line without the "[code, HTTP n]" suffix.
 */
export function errorDocument(report: ErrorReport, message = report.message): { error: Record<string, unknown> } {
  const plain = report.status !== null ? message.replace(/ \[[^\]]+, HTTP \d+\]$/, '') : message;
  return {
    error: {
      code: report.code,
      status: report.status,
      message: plain,
      exitCode: report.exitCode,
      ...(report.hint ? { hint: report.hint } : {}),
    },
  };
}
