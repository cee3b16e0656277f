/**
 * opsctl/server — the module a service embeds to expose its internal port.
 *
 *   const port = await createInternalPort({ service, authorizedKeysFile, auditLogFile, flags, migrations, tasks });
 */
export { createInternalPort } from './create-internal-port.js';
export type * from './options.js';
export { FileFlagStore } from './flags/file-flag-store.js';
export { InternalPortConfigError } from './config-error.js';
export { textAnswer, type TextAnswer } from './plugins/text-answer.js';
export { isLoopbackHost } from './listen/loopback.js';
export { parseAuthorizedKeys, type AllowlistEntry, type AllowlistProblem, type ParsedAllowlist } from './auth/parse-authorized-keys.js';
export { walkAuditLog, type AuditVerifyResult } from './audit/verify-audit-log.js';
export { GENESIS_HASH, recordHash, type AuditRecord, type AuditEvent, type AuditOutcome } from './audit/audit-record.js';
export { planHash, type MigrationPlan } from './plugins/migration-plan.js';
export type { JobView, JobEvent, JobState, JobProgress } from './jobs/job.js';
export { ProblemError } from '../protocol/index.js';
