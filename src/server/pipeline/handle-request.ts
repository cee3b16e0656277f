import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import {
  IDEMPOTENCY_HEADER,
  PROBLEM_CONTENT_TYPE,
  ProblemError,
  REASON_HEADER,
  REQUEST_ID_HEADER,
  REQUIRED_COMPONENTS,
  roleAllows,
  verifyContentDigest,
  verifyRequest,
  type HttpMethod,
} from '../../protocol/index.js';
import type { Allowlist } from '../auth/allowlist.js';
import type { AllowlistEntry } from '../auth/parse-authorized-keys.js';
import type { ReplayCache } from '../auth/replay-cache.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { AuditEvent } from '../audit/audit-record.js';
import { redact } from '../audit/redact.js';
import { announcesBody, discardAndClose, readBody, tooLarge } from '../http/read-body.js';
import { problemBody, sendProblem } from '../http/send.js';
import { requestFingerprint, type IdempotencyCache, type IdempotencyClaim, type StoredResponse } from '../idempotency/idempotency-cache.js';
import type { JobSlot } from '../jobs/job-registry.js';
import type { JobRegistry } from '../jobs/job-registry.js';
import type { PortLog } from '../logger.js';
import type { PortMetrics } from '../metrics/port-metrics.js';
import type { Principal } from '../options.js';
import { randomId } from '../random-id.js';
import { collectParams } from '../routing/params.js';
import type { RouteResult, RoutePolicy } from '../routing/route.js';
import type { Router } from '../routing/router.js';
import { peerOf, presentedKeyid, reasonOf, splitTarget } from './request-context.js';

export interface PipelineDeps {
  router: Router;
  allowlist: Allowlist;
  replay: ReplayCache;
  audit: AuditLog;
  jobs: JobRegistry;
  idempotency: IdempotencyCache;
  metrics: PortMetrics;
  log: PortLog;
  bodyLimit: number;
  skewSeconds: number;
  requireReasonForDestructive: boolean;
}

/** The audit context a job carries to its completion record. */
export interface JobAuditMeta {
  base: Omit<AuditEvent, 'outcome' | 'status' | 'durationMs'>;
  destructive: boolean;
}

type Stage = 'auth' | 'running';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

function isJsonContentType(value: string | undefined): boolean {
  if (!value) return false;
  const type = value.split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

function parseJsonBody(req: IncomingMessage, body: Buffer): unknown {
  if (body.length === 0) return undefined;
  if (!isJsonContentType(req.headers['content-type'])) {
    throw new ProblemError('request.invalid', 'a request body must be JSON (Content-Type: application/json)', { field: 'content-type' });
  }
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    throw new ProblemError('request.invalid', 'the request body is not valid JSON');
  }
}

function toProblem(e: unknown, log: PortLog, requestId: string): ProblemError {
  if (e instanceof ProblemError) return e;
  log('error', `request ${requestId} failed: ${(e as Error)?.stack ?? String(e)}`);
  return new ProblemError('internal', `internal error; the service log has details under request id ${requestId}`);
}

/**
 * The request path every endpoint shares, in this order: signature (401) →
 * body within the limit (413) → content-digest (401) → replay (401) → route
 * (404/405, so only authenticated callers learn the endpoint set) → role
 * (403) → params (400) → per-request policy (task role, 403) →
 * Idempotency-Key → the `accepted` audit record for anything that is not a
 * GET (fsync'ed when destructive; 503 and nothing runs if it cannot be
 * written) → handler → final audit record → response.
 */
export function createRequestHandler(deps: PipelineDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(deps, req, res).catch((e: unknown) => {
      deps.log('error', `unhandled failure in the request pipeline: ${(e as Error)?.message ?? String(e)}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': PROBLEM_CONTENT_TYPE }).end();
      else res.destroy();
    });
  };
}

async function handle(deps: PipelineDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const t0 = performance.now();
  const requestId = randomId(16);
  res.setHeader(REQUEST_ID_HEADER, requestId);
  const method = (req.method ?? '').toUpperCase();
  const { path, query } = splitTarget(req.url ?? '');
  const event: AuditEvent = {
    requestId,
    keyid: presentedKeyid(req),
    principal: null,
    role: null,
    peer: peerOf(req),
    endpoint: null,
    method,
    path: path.slice(0, 2048),
    params: null,
    reason: null,
    outcome: 'denied',
    status: null,
    durationMs: 0,
  };
  let stage: Stage = 'auth';
  let claim: Extract<IdempotencyClaim, { kind: 'new' }> | undefined;
  let slot: JobSlot | undefined;
  let endpointLabel = 'unknown';
  let jobStarted = false;
  const elapsed = () => Math.round((performance.now() - t0) * 1000) / 1000;

  const finish = async (outcome: AuditEvent['outcome'], status: number, code?: string, extra: Partial<AuditEvent> = {}) => {
    const record: AuditEvent = { ...event, outcome, status, durationMs: elapsed(), ...(code ? { code } : {}), ...extra };
    try {
      await deps.audit.append(record);
    } catch {
      // Already refused if it mattered (mutations need the accepted record); logged by the audit log.
    }
    deps.metrics.observe(endpointLabel, status, elapsed() / 1000, outcome === 'denied' ? code : undefined);
  };

  try {
    if (!path.startsWith('/')) throw new ProblemError('request.invalid', 'the request target must be an absolute path');
    const hasBody = announcesBody(req);
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > deps.bodyLimit) throw tooLarge(deps.bodyLimit);

    // 1. Signature. Headers that change behaviour must be covered when sent.
    const extra = [REASON_HEADER, IDEMPOTENCY_HEADER].filter((h) => req.headers[h] !== undefined);
    let entry: AllowlistEntry | undefined;
    const verdict = verifyRequest(
      { method, path, query, headers: req.headers },
      {
        hasBody,
        requiredComponents: [...REQUIRED_COMPONENTS, ...extra],
        maxSkewSeconds: deps.skewSeconds,
        resolveKey: (keyid) => {
          entry = deps.allowlist.lookup(keyid);
          return entry?.key;
        },
      },
    );
    if (!verdict.ok) {
      if (verdict.keyid) event.keyid = verdict.keyid.slice(0, 200);
      throw new ProblemError(verdict.code, verdict.detail);
    }
    if (!entry) throw new ProblemError('auth.unknown_key', `key ${verdict.keyid} is not in the allowlist`);
    const principal: Principal = { name: entry.name, role: entry.role, keyid: entry.keyid };
    Object.assign(event, { keyid: principal.keyid, principal: principal.name, role: principal.role });

    // 2. Body and its digest.
    const body = hasBody ? await readBody(req, deps.bodyLimit) : Buffer.alloc(0);
    if (hasBody) {
      const digest = verifyContentDigest(req.headers['content-digest'] as string | undefined, body);
      if (!digest.ok) throw new ProblemError('auth.bad_signature', digest.detail);
    }

    // 3. Replay: only a fully verified request may consume its nonce.
    const fresh = deps.replay.check(verdict.keyid, verdict.nonce, verdict.created);
    if (fresh === 'replay') throw new ProblemError('auth.replay', 'this signature nonce was already used; sign every request anew');
    if (fresh === 'full') throw new ProblemError('server.busy', 'too many recent requests to remember their nonces; retry shortly');
    const reason = reasonOf(req, REASON_HEADER);
    event.reason = reason ?? null;

    // 4. Route.
    const match = deps.router.match(method, path);
    if (match.kind === 'not_found') throw new ProblemError('not_found', `no endpoint ${method} ${path}`);
    if (match.kind === 'method_not_allowed') {
      res.setHeader('allow', match.allowed.join(', '));
      throw new ProblemError('method_not_allowed', `${path} does not accept ${method} (allowed: ${match.allowed.join(', ')})`);
    }
    const route = match.route;
    endpointLabel = route.def.id;
    event.endpoint = route.def.id;
    if (!roleAllows(principal.role, route.def.role)) {
      throw new ProblemError('auth.forbidden', `${route.def.id} needs role ${route.def.role}; ${principal.name} has ${principal.role}`);
    }

    // 5. Params.
    if (method === 'GET' && body.length > 0) throw new ProblemError('request.invalid', 'a GET request has no body; params go in the query');
    const params = collectParams(method as HttpMethod, route.def.path, match.pathParams, query, parseJsonBody(req, body), route.def.params);
    event.params = redact(route.def.params, params);
    route.validate(params);
    event.params = redact(route.def.params, params);
    const policy: RoutePolicy = route.def.policy ? await route.def.policy(params) : { role: route.def.role, destructive: route.def.destructive === true };
    if (policy.auditParams !== undefined) event.params = policy.auditParams;
    if (!roleAllows(principal.role, policy.role)) {
      throw new ProblemError('auth.forbidden', `${route.def.id} needs role ${policy.role} here; ${principal.name} has ${principal.role}`);
    }
    policy.validate?.();
    if (deps.requireReasonForDestructive && policy.destructive && !reason) {
      throw new ProblemError('request.invalid', 'this destructive action needs a reason (Opsctl-Reason header, opsctl --reason)', { field: 'reason' });
    }

    // 6. Idempotency-Key: a repeat gets the first answer, nothing runs again.
    const mutating = method !== 'GET';
    const idemKey = req.headers[IDEMPOTENCY_HEADER];
    if (mutating && idemKey !== undefined) {
      if (typeof idemKey !== 'string' || !IDEMPOTENCY_KEY.test(idemKey)) {
        throw new ProblemError('request.invalid', 'Idempotency-Key must be 1-255 visible ASCII characters', { field: 'idempotency-key' });
      }
      const c = await deps.idempotency.claim(principal.keyid, idemKey, route.def.id, requestFingerprint(method, path, query, body));
      if (c.kind === 'replay') {
        res.writeHead(c.response.status, { ...c.response.headers, 'content-type': c.response.contentType, 'cache-control': 'no-store', 'idempotency-replayed': 'true' });
        res.end(c.response.body);
        await finish('ok', c.response.status, undefined, { replayed: true });
        return;
      }
      claim = c;
    }

    // 7. Reserve a job slot (429) before anything is written or run.
    if (route.def.job) slot = deps.jobs.reserve();
    const jobId = slot?.id;

    // 8. The accepted record: written (and for destructive actions flushed)
    //    before the handler runs; if it cannot be written nothing runs.
    if (mutating) {
      try {
        await deps.audit.append({ ...event, outcome: 'accepted', status: null, durationMs: elapsed(), ...(jobId ? { jobId } : {}) }, { durable: policy.destructive });
      } catch {
        throw new ProblemError('audit.unavailable', 'the audit log cannot be written, so nothing that changes state may run');
      }
    }

    // 9. Run.
    stage = 'running';
    const meta: JobAuditMeta = { base: { ...event }, destructive: policy.destructive };
    const result: RouteResult = await route.def.handler({
      params,
      principal,
      requestId,
      reason,
      req,
      res,
      startJob: (spec) => {
        if (!slot) throw new Error(`${route.def.id} is not registered as a job endpoint`);
        const job = deps.jobs.start(slot, route.def.id, principal, spec, { ...meta, base: { ...meta.base, jobId: slot.id } });
        jobStarted = true;
        return { jobId: job.id, state: job.state };
      },
    });

    // 10. Respond.
    let stored: StoredResponse;
    if ('streamed' in result) {
      claim?.abandon();
      await finish('ok', res.statusCode);
      return;
    } else if ('job' in result) {
      const body202 = JSON.stringify({ jobId: result.job.jobId, state: result.job.state }) + '\n';
      stored = { status: 202, contentType: 'application/json; charset=utf-8', body: body202, headers: { location: `/v1/jobs/${result.job.jobId}` } };
    } else if ('raw' in result) {
      stored = { status: result.status ?? 200, contentType: result.contentType, body: typeof result.raw === 'string' ? result.raw : result.raw.toString('utf8'), headers: {} };
    } else {
      stored = { status: result.status ?? 200, contentType: 'application/json; charset=utf-8', body: JSON.stringify(result.body) + '\n', headers: result.headers ?? {} };
    }
    claim?.complete(stored);
    if (!jobStarted) await finish('ok', stored.status);
    else deps.metrics.observe(endpointLabel, stored.status, elapsed() / 1000);
    res.writeHead(stored.status, { ...stored.headers, 'content-type': stored.contentType, 'cache-control': 'no-store' });
    res.end(stored.body);
  } catch (e) {
    const problem = toProblem(e, deps.log, requestId);
    if (claim) {
      // After the handler ran, a repeat must see this same answer; before, a retry may run.
      if (stage === 'running') claim.complete({ status: problem.status, contentType: PROBLEM_CONTENT_TYPE, body: JSON.stringify(problemBody(problem, requestId)) + '\n', headers: {} });
      else claim.abandon();
    }
    await finish(stage === 'running' ? 'error' : 'denied', problem.status, problem.code);
    sendProblem(res, problem, requestId);
    if (problem.code === 'request.too_large') discardAndClose(req, Math.max(deps.bodyLimit * 8, 16 * 1024 * 1024));
  } finally {
    slot?.release();
  }
}
