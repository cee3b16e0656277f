/**
 * No safe place for opsctl's own files: every candidate directory is owned
 * by someone else, writable by others, or not a directory (README, "Local
 * files"). Exit 5, like the other failures to reach a service safely.
 */
export class UnsafeDirError extends Error {
  constructor(message: string, readonly hint?: string) {
    super(message);
    this.name = 'UnsafeDirError';
  }
}
