/** Process exit codes of the opsctl CLI (docs/protocol.md, README "Exit codes"). Stable: runbooks branch on them. */
export const ExitCode = {
  OK: 0,
  FAILED: 1,
  USAGE: 2,
  AUTH: 3,
  NOT_CONFIRMED: 4,
  CONNECTION: 5,
  CONFLICT: 6,
  INTERRUPTED: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export const EXIT_CODE_DESCRIPTIONS: ReadonlyArray<{ code: ExitCodeValue; meaning: string }> = [
  { code: 0, meaning: 'success' },
  { code: 1, meaning: 'the operation failed (server error, job failed, bad response)' },
  { code: 2, meaning: 'usage error: unknown command, malformed flag or argument, a value the server refused (request.invalid, grant.principal_taken), a typed name that does not exist' },
  { code: 3, meaning: 'authentication or authorisation denied (HTTP 401/403)' },
  { code: 4, meaning: 'not confirmed: the operator declined, or no TTY and no --yes' },
  { code: 5, meaning: 'connection, tunnel or host-key failure (the failing hop is named)' },
  { code: 6, meaning: 'conflict: lock held (409) or the reviewed plan changed (412)' },
  { code: 130, meaning: 'interrupted (Ctrl-C)' },
];

/** Maps an HTTP status from the internal port to the CLI exit code. */
export function exitCodeForStatus(status: number): ExitCodeValue {
  if (status < 400) return ExitCode.OK;
  if (status === 401 || status === 403) return ExitCode.AUTH;
  if (status === 409 || status === 412) return ExitCode.CONFLICT;
  return ExitCode.FAILED;
}
