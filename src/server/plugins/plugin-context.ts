import type { Allowlist } from '../auth/allowlist.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { FlagService } from '../flags/flag-service.js';
import type { GrantService } from '../grants/grant-service.js';
import type { JobRegistry } from '../jobs/job-registry.js';
import type { Notifier } from '../notify/notifier.js';
import type { PortLog } from '../logger.js';
import type { PortMetrics } from '../metrics/port-metrics.js';
import type { InternalPortOptions } from '../options.js';
import type { RouteDefinition } from '../routing/route.js';

/** What each endpoint-family plugin gets: one register() and the shared services. */
export interface PluginContext {
  /** Adds a route; `group` marks routes a later replacement swaps as a whole (the service's own endpoints). */
  register(def: RouteDefinition, group?: string): void;
  catalog(): import('../../protocol/index.js').EndpointDescriptor[];
  options: InternalPortOptions;
  allowlist: Allowlist;
  audit: AuditLog;
  jobs: JobRegistry;
  flags: FlagService;
  grants: GrantService;
  metrics: PortMetrics;
  /** Event notifications, when the options configure them (docs/notifications.md). */
  notifier: Notifier | undefined;
  startedAt: number;
  log: PortLog;
}
