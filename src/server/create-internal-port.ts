import http from 'node:http';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_GRANT_MAX_TTL_SECONDS, INSTANCE_HEADER, PROBLEM_CONTENT_TYPE, ProblemError, ROLES, isRole } from '../protocol/index.js';
import { Allowlist } from './auth/allowlist.js';
import { FileGrantStore } from './grants/file-grant-store.js';
import { GrantService } from './grants/grant-service.js';
import { grantsResolver } from './grants/grant-resolver.js';
import { ReplayCache } from './auth/replay-cache.js';
import { VerifyAdmission, verifyLimitsProblem } from './auth/verify-admission.js';
import { VerifyQueue } from './auth/verify-queue.js';
import { pace } from './http/pace.js';
import { AuditLog } from './audit/audit-log.js';
import { InternalPortConfigError } from './config-error.js';
import { ensurePrivateDataDir } from './private-data-dir.js';
import { FileFlagStore } from './flags/file-flag-store.js';
import { FlagService } from './flags/flag-service.js';
import { IdempotencyCache } from './idempotency/idempotency-cache.js';
import { JobRegistry } from './jobs/job-registry.js';
import { capConnections } from './http/connection-cap.js';
import { checkListenTarget, listenInternal, resolveListenHost } from './listen/listen.js';
import { portLogger, type PortLog } from './logger.js';
import { ofrepListenTarget } from './ofrep/listen-target.js';
import { startOfrep, type OfrepListener } from './ofrep/start-ofrep.js';
import { PortMetrics } from './metrics/port-metrics.js';
import { registerAuditSinkMetrics } from './audit/sinks/sink-metrics.js';
import type { InternalPort, InternalPortOptions, ReconfigureParts } from './options.js';
import type { RouteDefinition } from './routing/route.js';
import { CUSTOM_ENDPOINTS_GROUP, customEndpointRoute } from './plugins/custom-endpoints.js';
import { createRequestHandler, type JobAuditMeta } from './pipeline/handle-request.js';
import { ApprovalService } from './approvals/approval-service.js';
import { checkPolicy, holdable } from './approvals/policy.js';
import { approvalsStage } from './approvals/approvals-stage.js';
import { registerApprovals } from './plugins/approvals.js';
import { ApprovalWatch } from './approvals/approval-watch.js';
import { startNotifications, type Notifications } from './notify/start-notifications.js';
import { registerNotifyMetrics } from './notify/notify-metrics.js';
import type { FinishedJob } from './notify/events.js';
import type { PluginContext } from './plugins/plugin-context.js';
import { STANDARD_PLUGINS } from './plugins/standard-plugins.js';
import { Router } from './routing/router.js';

function checkOptions(o: InternalPortOptions): void {
  const fail = (why: string): never => { throw new InternalPortConfigError(why); };
  if (!o || typeof o !== 'object') fail('options are required');
  if (!o.service || typeof o.service.name !== 'string' || !o.service.name || typeof o.service.version !== 'string' || !o.service.version) {
    fail('service.name and service.version are required');
  }
  if (typeof o.authorizedKeysFile !== 'string' || !o.authorizedKeysFile) fail('authorizedKeysFile (the allowlist) is required');
  if (typeof o.auditLogFile !== 'string' || !o.auditLogFile) fail('auditLogFile is required');
  const positive = (name: keyof InternalPortOptions) => {
    const v = o[name];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)) fail(`${String(name)} must be a positive number`);
  };
  const g = o.grants;
  if (g !== undefined) {
    if (!g || typeof g !== 'object') fail('grants must be an object');
    if (g.maxTtlSeconds !== undefined && (!Number.isInteger(g.maxTtlSeconds) || g.maxTtlSeconds <= 0)) fail('grants.maxTtlSeconds must be a positive whole number of seconds');
    if (g.retainEndedSeconds !== undefined && (!Number.isInteger(g.retainEndedSeconds) || g.retainEndedSeconds < 0)) fail('grants.retainEndedSeconds must be a whole number of seconds, 0 or more');
    if (g.granterRole !== undefined && !isRole(g.granterRole)) fail('grants.granterRole must be viewer, operator or admin');
  }
  for (const k of ['clockSkewSeconds', 'bodyLimitBytes', 'headersTimeoutMs', 'requestTimeoutMs', 'maxConcurrentJobs', 'maxConnections', 'shutdownGraceMs'] as const) positive(k);
  if (o.verifyOnThreadPool !== undefined && !(Number.isInteger(o.verifyOnThreadPool) && o.verifyOnThreadPool >= 0 && o.verifyOnThreadPool <= 64)) {
    fail('verifyOnThreadPool must be a whole number from 0 (verify on the event loop) to 64');
  }
  const limitsProblem = verifyLimitsProblem(o.verifyLimits);
  if (limitsProblem) fail(limitsProblem);
  const rc = o.replayCache;
  if (rc !== undefined && (!rc || typeof rc !== 'object' || (rc.noncesPerSecond !== undefined && (typeof rc.noncesPerSecond !== 'number' || !Number.isFinite(rc.noncesPerSecond) || rc.noncesPerSecond <= 0)))) {
    fail('replayCache.noncesPerSecond must be a positive number');
  }
  const a = o.approvals;
  if (a !== undefined) {
    if (!a || typeof a !== 'object') fail('approvals must be an object');
    for (const k of ['expirySeconds', 'maxPendingPerRequester'] as const) {
      const v = a[k];
      if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)) fail(`approvals.${k} must be a positive number`);
    }
  }
}

/** Answers protocol-level client errors (bad HTTP, timeouts) with problem+json where the socket allows. */
function onClientError(instanceId: string, err: NodeJS.ErrnoException, socket: import('node:stream').Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, code, text] = err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
    ? [408, 'timeout', 'Request Timeout']
    : err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'request.invalid', 'Request Header Fields Too Large'] : [400, 'request.invalid', 'Bad Request'];
  const body = JSON.stringify(new ProblemError(code, status === 408 ? 'the request was not received in time' : 'malformed HTTP request', {}, status).toJSON());
  socket.end(`HTTP/1.1 ${status} ${text}\r\ncontent-type: ${PROBLEM_CONTENT_TYPE}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${INSTANCE_HEADER}: ${instanceId}\r\nconnection: close\r\n\r\n${body}`);
}

function jobEndHook(audit: AuditLog, log: PortLog, finished: (j: FinishedJob) => void) {
  return async (job: import('./jobs/job.js').Job) => {
    const meta = job.meta as JobAuditMeta | undefined;
    if (!meta) return;
    // Destructive work ending is worth telling people about (docs/notifications.md, job.finished).
    if (meta.destructive) {
      finished({
        id: job.id,
        endpoint: job.endpoint,
        name: job.spec.name,
        state: job.state,
        startedAt: job.startedAt,
        endedAt: job.endedAt ?? new Date().toISOString(),
        principal: job.principal.name,
        reason: meta.base.reason,
        params: meta.base.params,
        error: job.error,
        approvalId: meta.base.approval?.id,
        breakGlass: meta.base.breakGlass,
      });
    }
    try {
      await audit.append({
        ...meta.base,
        outcome: job.state === 'succeeded' ? 'ok' : 'error',
        status: null,
        ...(job.error ? { code: job.error.code } : {}),
        durationMs: Date.now() - Date.parse(job.startedAt),
        jobId: job.id,
        ...(job.auditFields ? { result: job.auditFields } : {}),
      }, { durable: meta.destructive });
    } catch {
      log('error', `the end of job ${job.id} (${job.endpoint}, ${job.state}) could not be written to the audit log`);
    }
  };
}

/**
 * Starts the internal port of a service: a loopback-only HTTP listener that
 * serves the opsctl protocol (docs/protocol.md). Resolves once it listens.
 *
 * Refuses to start (InternalPortConfigError) on a non-loopback bind without
 * allowNonLoopback, a missing or empty allowlist, an audit log that cannot be
 * opened, or an endpoint/task/flag definition that is incomplete.
 *
 * close() stops accepting connections, signals every running job to stop
 * (its AbortSignal aborts; a handler that ignores it, such as a migration in
 * progress, is waited for up to shutdownGraceMs, default 10 s), writes their
 * audit records, then closes the remaining connections.
 */
export async function createInternalPort(given: InternalPortOptions): Promise<InternalPort> {
  checkOptions(given);
  // A copy the port owns: reconfigure() replaces parts of it (health checks,
  // extra metrics) that the plugins read per request.
  const options: InternalPortOptions = { ...given };
  checkHealthChecks(options.healthChecks);
  if (options.metricsText !== undefined && typeof options.metricsText !== 'function') throw new InternalPortConfigError('metricsText must be a function');
  checkListenTarget(options);
  const bindHost = await resolveListenHost(options);
  // The OFREP listener is checked (and its name resolved) before anything
  // opens, like the port's own bind: a bad `ofrep.listen` changes nothing.
  const ofrepTarget = options.ofrep !== undefined ? ofrepListenTarget(options.ofrep) : undefined;
  const ofrepHost = ofrepTarget ? await resolveListenHost(ofrepTarget) : undefined;
  const log = portLogger(options);
  const startedAt = Date.now();
  // New at every start and different on every replica: what binds a signed
  // request to this instance (docs/security.md, "Replay").
  const instanceId = randomBytes(16).toString('base64url');

  const allowlist = new Allowlist(options.authorizedKeysFile, log);
  allowlist.loadInitial();

  // The listener is bound before anything is written (audit log, signing
  // key, stores): a port in use, or any other refusal to bind, leaves
  // nothing behind. Requests that arrive while the rest starts wait for it.
  let handler: ((req: http.IncomingMessage, res: http.ServerResponse) => void) | undefined;
  const early: Array<() => void> = [];
  const paced = pace(2);
  const serve = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    connections.busy(res);
    // Two request starts per event-loop turn: the service's listeners get the loop between them (http/pace.ts).
    if (handler) paced(() => handler!(req, res));
    else early.push(() => (handler ? handler(req, res) : req.socket.destroy()));
  };
  const requestTimeout = options.requestTimeoutMs ?? 30_000;
  const headersTimeout = Math.min(options.headersTimeoutMs ?? 10_000, requestTimeout);
  const server = http.createServer({
    requestTimeout,
    headersTimeout,
    keepAliveTimeout: 5_000,
    // Node checks these timeouts on an interval (30 s by default), which
    // would make a short timeout meaningless.
    connectionsCheckingInterval: Math.max(100, Math.min(5_000, Math.floor(headersTimeout / 4))),
  }, serve);
  server.on('clientError', (err: NodeJS.ErrnoException, socket: import('node:stream').Duplex) => onClientError(instanceId, err, socket));
  // Connections are bounded and idle ones evicted first (http/connection-cap.ts);
  // the idle timer is a backstop that fires after Node's own 408 for slow headers;
  // the no-op 'timeout' listener keeps Node from destroying a socket that is
  // busy serving a long request when its idle timer fires.
  const connections = capConnections(server, { maxConnections: options.maxConnections ?? 128, idleTimeoutMs: headersTimeout + 1000 });
  server.on('timeout', () => undefined);
  // Expect: 100-continue (curl does this for large bodies): refuse an
  // oversized body before the client sends it, instead of inviting it.
  const bodyLimit = options.bodyLimitBytes ?? 1024 * 1024;
  server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > bodyLimit) res.setHeader('connection', 'close');
    else res.writeContinue();
    serve(req, res);
  });
  const bound = await listenInternal(server, { ...options, ...(bindHost !== undefined ? { host: bindHost } : {}) }).catch((e: NodeJS.ErrnoException) => {
    if (e instanceof InternalPortConfigError) throw e;
    const host = bindHost ?? '127.0.0.1';
    const where = options.socketPath ?? `${host.includes(':') ? `[${host}]` : host}:${options.port ?? 0}`;
    const why = e.code === 'EADDRINUSE' ? 'it is already in use (another process listens there)' : e.code === 'EACCES' ? 'permission denied' : (e.code ?? e.message);
    throw new InternalPortConfigError(`the internal port cannot listen on ${where}: ${why}`);
  });
  /** Lets go of the listener after a start that failed. */
  const unbind = async (): Promise<void> => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    for (const go of early.splice(0)) go();
    await closed;
    if (options.socketPath) fs.rmSync(options.socketPath, { force: true });
  };

  let audit: AuditLog;
  try {
    audit = await AuditLog.open(options.auditLogFile, log, options.audit, options.service.name);
  } catch (e) {
    await unbind();
    throw new InternalPortConfigError(`audit log ${options.auditLogFile} cannot be opened: ${(e as Error).message}`);
  }
  // A start that fails from here on lets go of the audit log's lock and of
  // the listener, so the service (or a test) can try again in the same process.
  const cleanups: Array<() => Promise<void>> = [];
  const giveUp = async (e: unknown): Promise<never> => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    await unbind();
    await audit.abandon();
    throw e;
  };
  const flagFile = options.flags?.file ?? path.join(path.dirname(audit.file), 'flags.json');
  let flags: FlagService;
  try {
    flags = new FlagService(options.flags?.definitions ?? [], options.flags?.store ?? new FileFlagStore(flagFile), log);
    await flags.load();
  } catch (e) {
    return giveUp(e instanceof InternalPortConfigError ? e : new InternalPortConfigError(`flags cannot be loaded: ${(e as Error).message}`));
  }

  const grants = new GrantService(
    options.grants?.store ?? new FileGrantStore(options.grants?.file ?? path.join(path.dirname(audit.file), 'grants.json')),
    audit,
    log,
    { maxTtlSeconds: options.grants?.maxTtlSeconds ?? DEFAULT_GRANT_MAX_TTL_SECONDS, retainEndedSeconds: options.grants?.retainEndedSeconds ?? 86_400, allowlist },
  );
  try {
    // A file store elsewhere than the audit log's directory gets the same check (src/server/README.md, "Files").
    if (!options.grants?.store && options.grants?.file) await ensurePrivateDataDir(path.dirname(path.resolve(options.grants.file)));
    // Loaded now; what ended while the port was down is recorded once the notifications observe (below).
    await grants.open();
  } catch (e) {
    flags.close();
    await grants.close().catch(() => undefined);
    return giveUp(new InternalPortConfigError(`grants cannot be loaded: ${(e as Error).message}`));
  }
  cleanups.push(() => grants.close());

  // Set once notifications have started (below); jobs cannot end before the port listens.
  let notifications: Notifications | undefined;
  let jobs: JobRegistry;
  try {
    jobs = new JobRegistry({
      maxConcurrent: options.maxConcurrentJobs ?? 4,
      ...(options.reservedJobSlots ? { reservedSlots: options.reservedJobSlots } : {}),
      onEnd: jobEndHook(audit, log, (j) => notifications?.jobFinished(j)),
      log,
    });
  } catch (e) {
    return giveUp(new InternalPortConfigError((e as Error).message));
  }
  const skew = options.clockSkewSeconds ?? 60;
  const replay = ReplayCache.forWindow(skew, options.replayCache?.noncesPerSecond);
  const metrics = new PortMetrics(() => jobs.countByState(), () => ({ entries: replay.size, capacity: replay.capacity }));
  registerAuditSinkMetrics(metrics.registry, audit);
  const router = new Router();
  // Approval policies of standard endpoints come from the options; a
  // service's own endpoints carry theirs. Checked here, so a typo refuses to
  // start instead of silently letting requests run unreviewed.
  let policies: Map<string, ReturnType<typeof checkPolicy>>;
  try {
    policies = new Map(Object.entries(options.approvals?.endpoints ?? {}).map(([id, p]) => [id, checkPolicy(`approvals.endpoints[${JSON.stringify(id)}]`, p)]));
  } catch (e) {
    return giveUp(e);
  }
  // Every route goes through here: its approval policy checked and attached.
  const withPolicy = (def: RouteDefinition): RouteDefinition => {
    const approval = def.approval !== undefined ? checkPolicy(`endpoint ${JSON.stringify(def.id)}`, def.approval) : policies.get(def.id);
    if (approval && !holdable(def.id, def.method)) throw new InternalPortConfigError(`endpoint ${JSON.stringify(def.id)} cannot require approval: only requests that change state (not GET, not approvals.*) can be held`);
    return approval ? { ...def, approval } : def;
  };
  const ctx: PluginContext = {
    register: (def, group) => router.register(withPolicy(def), group),
    catalog: () => router.catalog(),
    options,
    allowlist,
    audit,
    jobs,
    flags,
    grants,
    metrics,
    notifier: undefined,
    startedAt,
    log,
  };
  // Grants extend the allowlist: the higher role of the two wins.
  const resolveKey = grantsResolver(allowlist, grants);
  const heldRun = { router, resolveKey, jobs, audit, log };
  // One set of Idempotency-Key bindings: requests that ran (admit) and requests held for approval.
  const idempotency = new IdempotencyCache();
  let approvals: ApprovalService;
  try {
    if (options.approvals?.file) await ensurePrivateDataDir(path.dirname(path.resolve(options.approvals.file)));
    approvals = await ApprovalService.open({
      file: options.approvals?.file ?? path.join(path.dirname(audit.file), 'approvals.json'),
      expirySeconds: options.approvals?.expirySeconds ?? 3600,
      maxPendingPerRequester: options.approvals?.maxPendingPerRequester ?? 10,
      audit,
      log,
      run: heldRun,
      idempotency,
      grantLive: (id) => grants.isLive(id),
    });
  } catch (e) {
    return giveUp(new InternalPortConfigError(`approvals cannot be loaded: ${(e as Error).message}`));
  }
  // Long-polls of approvals.get/list wait on this (src/server/README.md, "Approvals and dry-run").
  const approvalWatch = new ApprovalWatch(approvals);
  cleanups.push(async () => {
    approvalWatch.close();
    approvals.close();
  });
  if (options.notifications !== undefined) {
    try {
      notifications = await startNotifications({
        options: options.notifications,
        service: options.service.name,
        instanceId,
        dataDir: path.dirname(audit.file),
        audit,
        approvals,
        grants,
        log,
      });
    } catch (e) {
      return giveUp(e instanceof InternalPortConfigError ? e : new InternalPortConfigError(`notifications cannot be started: ${(e as Error).message}`));
    }
    const started = notifications;
    cleanups.push(() => started.close());
    ctx.notifier = started.notifier;
    registerNotifyMetrics(metrics.registry, started.notifier);
  }
  // A grant that ends on this replica voids at once the approvals given
  // under it (long-polls and approvals watch see it); the approvals' timer
  // catches the ends this replica only learns from a shared store.
  grants.observe((c) => {
    if (c.kind !== 'created') void approvals.sweep();
  });
  try {
    // Everyone observes now: what expired or ended while the port was down
    // is recorded, and told, once (src/server/README.md, "Approvals and dry-run").
    await grants.start();
    await approvals.start();
  } catch (e) {
    return giveUp(new InternalPortConfigError(`grants and approvals cannot be started: ${(e as Error).message}`));
  }
  try {
    for (const plugin of STANDARD_PLUGINS) {
      // The approval endpoints come before the service's own, which can never shadow them.
      if (plugin.name === 'custom-endpoints') registerApprovals(ctx, approvals, heldRun, approvalWatch);
      plugin.register(ctx);
    }
  } catch (e) {
    return giveUp(e);
  }
  for (const id of policies.keys()) {
    if (!router.catalog().some((e) => e.id === id)) {
      return giveUp(new InternalPortConfigError(`approvals.endpoints names "${id}", which this port does not serve`));
    }
  }

  handler = createRequestHandler({
    router,
    // The same resolver re-checks a held request's requester when it runs.
    resolveKey,
    // A shared grant store is asked for the signing key's grants first (one
    // indexed query), unless the allowlist already gives the key the top role.
    ...(grants.shared ? { prepareKey: (keyid: string) => (allowlist.lookup(keyid)?.role === ROLES[ROLES.length - 1] ? Promise.resolve() : grants.refreshKey(keyid)) } : {}),
    replay,
    admission: new VerifyAdmission(options.verifyLimits),
    ...(options.verifyOnThreadPool ? { verifyQueue: new VerifyQueue(options.verifyOnThreadPool) } : {}),
    audit,
    jobs,
    idempotency,
    metrics,
    log,
    bodyLimit: options.bodyLimitBytes ?? 1024 * 1024,
    skewSeconds: skew,
    instanceId,
    requireReasonForDestructive: options.requireReasonForDestructive === true,
    review: [approvalsStage(approvals)],
  });
  for (const go of early.splice(0)) go();

  log('info', `internal port of ${options.service.name} listening on ${bound.address} (${allowlist.size} key(s) allowed)`);

  let ofrep: OfrepListener | undefined;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await ofrep?.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Long-polls answer now, so their connections are not left to be cut.
      approvalWatch.close();
      approvals.close();
      await jobs.shutdown(options.shutdownGraceMs ?? 10_000);
      server.closeAllConnections();
      await closed;
      flags.close();
      // After the jobs (their job.finished events are queued), before the audit log (its records).
      await notifications?.close();
      await grants.close();
      await audit.close();
      if (options.socketPath) fs.rmSync(options.socketPath, { force: true });
    })();
    return closing;
  };

  if (ofrepTarget) {
    try {
      ofrep = await startOfrep({
        target: { ...ofrepTarget, ...(ofrepHost !== undefined ? { host: ofrepHost } : {}) },
        flags,
        metrics,
        log,
        headersTimeoutMs: headersTimeout,
        requestTimeoutMs: requestTimeout,
        maxConnections: options.maxConnections ?? 128,
      });
    } catch (e) {
      await close();
      throw e;
    }
    log('info', `OFREP listener of ${options.service.name} on ${ofrep.address} (read-only, unsigned: every process that can reach it reads the flags)`);
  }

  const reconfigure = (parts: ReconfigureParts): void => {
    if (closing) throw new InternalPortConfigError('the internal port is closed');
    if (!parts || typeof parts !== 'object') throw new InternalPortConfigError('reconfigure() needs an object of parts');
    const unknown = Object.keys(parts).filter((k) => !['endpoints', 'healthChecks', 'metricsText'].includes(k));
    if (unknown.length) throw new InternalPortConfigError(`reconfigure() cannot replace ${unknown.join(', ')} (only endpoints, healthChecks, metricsText)`);
    // Everything is checked before anything is replaced.
    if ('healthChecks' in parts) checkHealthChecks(parts.healthChecks);
    if ('metricsText' in parts && parts.metricsText !== undefined && typeof parts.metricsText !== 'function') throw new InternalPortConfigError('metricsText must be a function');
    if (parts.endpoints !== undefined) {
      if (!Array.isArray(parts.endpoints)) throw new InternalPortConfigError('endpoints must be an array');
      const defs = parts.endpoints.map((ep) => withPolicy(customEndpointRoute(ep)));
      router.replaceGroup(CUSTOM_ENDPOINTS_GROUP, defs);
      options.endpoints = parts.endpoints;
    }
    if ('healthChecks' in parts) options.healthChecks = parts.healthChecks;
    if ('metricsText' in parts) options.metricsText = parts.metricsText;
  };

  return {
    address: bound.address,
    host: bound.host,
    port: bound.port,
    instanceId,
    flags,
    ...(ofrep ? { ofrep: { address: ofrep.address, host: ofrep.host, port: ofrep.port } } : {}),
    reconfigure,
    close,
  };
}

/** Health check names the port uses itself; the service's own checks cannot take them. */
const OWN_CHECKS = ['audit', 'allowlist'];

function checkHealthChecks(checks: InternalPortOptions['healthChecks']): void {
  if (checks === undefined) return;
  if (!checks || typeof checks !== 'object' || Array.isArray(checks)) throw new InternalPortConfigError('healthChecks must be an object of named functions');
  for (const [name, check] of Object.entries(checks)) {
    if (!name.trim() || OWN_CHECKS.includes(name) || name.startsWith('audit-sink ')) throw new InternalPortConfigError(`health check name ${JSON.stringify(name)} is empty or taken by the port's own checks`);
    if (typeof check !== 'function') throw new InternalPortConfigError(`health check ${JSON.stringify(name)} must be a function`);
  }
}
