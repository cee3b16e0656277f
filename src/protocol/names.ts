/**
 * Name patterns both sides check: the catalog's params schemas (what the
 * server validates and the CLI checks before sending) and the server's own
 * checks of the flags and tasks a service declares.
 */

/** A flag or task name: 1-64 letters, digits, `_`, `.`, `-`. */
export const NAME_PATTERN = '^[A-Za-z0-9_.-]{1,64}$';
export const NAME_RE = new RegExp(NAME_PATTERN);

/** A job id as the server issues it (letters and digits, docs/protocol.md). */
export const JOB_ID_PATTERN = '^[A-Za-z0-9_-]{1,64}$';
