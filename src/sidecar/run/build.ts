/**
 * A loaded config as what createInternalPort takes: the options fixed for
 * the life of the process, and the parts a reload replaces (endpoints,
 * health checks, the upstream's metrics) through InternalPort.reconfigure.
 */
import { canonicalJson } from '../../protocol/canonical-json.js';
import type { CustomEndpoint, FlagStore, GrantStore, HealthCheck, InternalPortOptions, MigrationLock, NotifyQueueStore, ReconfigureParts } from '../../server/options.js';
import type { PortLog } from '../../server/logger.js';
import { execEndpoint } from '../adaptors/exec-adaptor.js';
import { httpEndpoint } from '../adaptors/http-adaptor.js';
import { socketEndpoint } from '../adaptors/socket-adaptor.js';
import type { LoadedConfig } from '../config/load-config.js';
import type { SidecarConfig } from '../config/types.js';
import { healthCheck } from '../health/health-checks.js';
import type { NamedLocks } from '../locks/named-locks.js';
import type { SidecarMetrics } from '../metrics/sidecar-metrics.js';
import { scrapeUpstream } from '../metrics/upstream-metrics.js';
import type { CommandMigrator } from '../migrations/command-migrator.js';

/** What lives as long as the process, across reloads. */
export interface Runtime {
  metrics: SidecarMetrics;
  locks: NamedLocks;
  log: PortLog;
  migrator: CommandMigrator | undefined;
  migrationLock: MigrationLock | undefined;
  flagStore: FlagStore | undefined;
  grantStore: GrantStore | undefined;
  notifyQueue: NotifyQueueStore | undefined;
}

/** The config's endpoints as the port's own endpoints: each adaptor a handler (or job) with its checks. */
export function buildEndpoints(l: LoadedConfig, rt: Runtime): CustomEndpoint[] {
  return l.endpoints.map((e) => {
    const meta = {
      id: e.id,
      method: e.method,
      path: e.path,
      summary: e.spec.summary,
      ...(e.spec.description !== undefined ? { description: e.spec.description } : {}),
      role: e.spec.role,
      destructive: e.spec.destructive === true,
      params: e.params,
      scope: e.spec.scope ?? 'instance',
      ...(e.spec.approval ? { approval: e.spec.approval } : {}),
    };
    const a = e.adaptor;
    if (a.kind === 'http') return { ...meta, ...httpEndpoint(e.id, a, rt) };
    if (a.kind === 'socket') return { ...meta, ...socketEndpoint(e.id, a, rt) };
    return { ...meta, ...execEndpoint(e.id, a, rt) };
  });
}

export function reloadableParts(l: LoadedConfig, rt: Runtime): Required<Pick<ReconfigureParts, 'endpoints' | 'healthChecks'>> & Pick<ReconfigureParts, 'metricsText'> {
  const healthChecks: Record<string, HealthCheck> = {};
  for (const h of l.health) healthChecks[h.name] = healthCheck(h.name, h.check);
  return {
    endpoints: buildEndpoints(l, rt),
    healthChecks,
    metricsText: l.scrape ? scrapeUpstream(l.scrape, rt.metrics, rt.log) : undefined,
  };
}

export function portOptions(l: LoadedConfig, rt: Runtime): InternalPortOptions {
  const c = l.config;
  const parts = reloadableParts(l, rt);
  const limits = c.limits ?? {};
  return {
    service: c.service,
    ...(l.paths.socket !== undefined ? { socketPath: l.paths.socket } : { host: l.host ?? '127.0.0.1', port: c.port ?? 0 }),
    authorizedKeysFile: l.paths.authorizedKeys,
    auditLogFile: l.paths.auditLog,
    audit: {
      signingKeyFile: l.paths.signingKeyFile ?? `${l.paths.dataDir}/audit-signing-key.pem`,
      ...(c.audit?.checkpointEvery !== undefined ? { checkpointEvery: c.audit.checkpointEvery } : {}),
      ...(c.audit?.checkpointSeconds !== undefined ? { checkpointSeconds: c.audit.checkpointSeconds } : {}),
      ...(c.audit?.denials ? { denials: c.audit.denials } : {}),
      ...(c.audit?.sinks ? { sinks: c.audit.sinks } : {}),
    },
    ...(limits.clockSkewSeconds !== undefined ? { clockSkewSeconds: limits.clockSkewSeconds } : {}),
    ...(limits.bodyBytes !== undefined ? { bodyLimitBytes: limits.bodyBytes } : {}),
    ...(limits.headersTimeoutMs !== undefined ? { headersTimeoutMs: limits.headersTimeoutMs } : {}),
    ...(limits.requestTimeoutMs !== undefined ? { requestTimeoutMs: limits.requestTimeoutMs } : {}),
    ...(limits.maxConnections !== undefined ? { maxConnections: limits.maxConnections } : {}),
    ...(limits.shutdownGraceMs !== undefined ? { shutdownGraceMs: limits.shutdownGraceMs } : {}),
    ...(c.jobs?.maxConcurrent !== undefined ? { maxConcurrentJobs: c.jobs.maxConcurrent } : {}),
    ...(c.jobs?.reservedSlots ? { reservedJobSlots: c.jobs.reservedSlots } : {}),
    ...(c.requireReasonForDestructive !== undefined ? { requireReasonForDestructive: c.requireReasonForDestructive } : {}),
    flags: { definitions: c.flags?.definitions ?? [], ...(rt.flagStore ? { store: rt.flagStore } : { file: l.paths.flagsFile }) },
    ...(rt.migrator && rt.migrationLock ? { migrations: { migrator: rt.migrator, lock: rt.migrationLock } } : {}),
    approvals: {
      ...(c.approvals?.endpoints ? { endpoints: c.approvals.endpoints } : {}),
      ...(c.approvals?.expirySeconds !== undefined ? { expirySeconds: c.approvals.expirySeconds } : {}),
      ...(c.approvals?.maxPendingPerRequester !== undefined ? { maxPendingPerRequester: c.approvals.maxPendingPerRequester } : {}),
      file: l.paths.approvalsFile,
    },
    grants: {
      ...(rt.grantStore ? { store: rt.grantStore } : { file: l.paths.grantsFile }),
      ...(c.grants?.maxTtlSeconds !== undefined ? { maxTtlSeconds: c.grants.maxTtlSeconds } : {}),
      ...(c.grants?.granterRole !== undefined ? { granterRole: c.grants.granterRole } : {}),
      ...(c.grants?.retainEndedSeconds !== undefined ? { retainEndedSeconds: c.grants.retainEndedSeconds } : {}),
    },
    ...(l.ofrep ? { ofrep: l.ofrep } : {}),
    ...(l.notify ? { notifications: { ...l.notify.options, ...(rt.notifyQueue ? { store: rt.notifyQueue } : {}) } } : {}),
    metricsRegistry: rt.metrics.registry,
    endpoints: parts.endpoints,
    healthChecks: parts.healthChecks,
    ...(parts.metricsText ? { metricsText: parts.metricsText } : {}),
    log: rt.log,
  };
}

/**
 * The keys a reload cannot change (listeners, files, stores, flags,
 * policies of standard endpoints): a reload that changes one is refused as
 * a whole, naming it, and the running config stays (restart to apply).
 */
export function restartOnly(c: SidecarConfig): Record<string, string> {
  const keys: Array<keyof SidecarConfig> = ['service', 'host', 'port', 'socket', 'authorizedKeys', 'dataDir', 'auditLog', 'audit', 'limits', 'jobs', 'requireReasonForDestructive', 'flags', 'approvals', 'grants', 'ofrep', 'notify', 'log'];
  const out: Record<string, string> = {};
  for (const k of keys) out[k] = canonicalJson(c[k] ?? null);
  out['migrations (whether there is a section, and its lock)'] = canonicalJson(c.migrations ? { lock: c.migrations.lock ?? null } : null);
  return out;
}
