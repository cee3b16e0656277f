/** Another live process writes this audit log (its lock socket answered); the message names its pid. */
export class AuditLogLockedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuditLogLockedError';
  }
}
