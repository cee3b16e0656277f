/**
 * The request path every endpoint shares, as named stages run in this fixed
 * order (each one small function below; a stage throws a ProblemError to
 * refuse, or returns 'done' when it has answered the request itself):
 *
 *   1. authenticate  body size from Content-Length (413) → RFC 9421 signature
 *                    through the key resolver (401): its fields, coverage,
 *                    key and window, then the admission limits on failed
 *                    verifies (429 limit.auth, unverified), then the Ed25519
 *                    verify (on the event loop; on the thread pool with
 *                    verifyOnThreadPool) → bound to this instance
 *                    (401 auth.instance) — nothing else is learnt about the
 *                    port by an unauthenticated caller
 *   2. readBody      body within the limit (413) → content-digest (401) →
 *                    nonce replay (401 auth.replay, 503 server.busy)
 *   3. route         endpoint match (404/405)
 *   4. authorize     endpoint role (403) → params collected and validated
 *                    (400) → per-request policy, e.g. a task's role (403) →
 *                    reason required for destructive actions (400)
 *   5. review        optional hooks between authorize and admit (approvals,
 *                    dry-run): see PipelineDeps.review
 *   6. admit         Idempotency-Key (a repeat gets the first answer) → job
 *                    slot (429) → the `accepted` audit record for anything
 *                    that is not a GET, flushed when destructive (503 and
 *                    nothing runs if it cannot be written)
 *   7. run           the endpoint's handler
 *   8. respond       the answer, the idempotency record and the final audit
 *                    record
 *
 * A refusal at any stage is answered as problem+json and audited as `denied`
 * (before run) or `error` (from run on). src/server/README.md describes the
 * order for service authors; docs/security.md what each check defends.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  BREAK_GLASS_HEADER,
  DRY_RUN_HEADER,
  IDEMPOTENCY_HEADER,
  PROBLEM_CONTENT_TYPE,
  ProblemError,
  REASON_HEADER,
  INSTANCE_HEADER,
  REQUEST_ID_HEADER,
  REQUIRED_COMPONENTS,
  roleAllows,
  prepareVerification,
  verifyContentDigest,
  verifyPrepared,
  type HttpMethod,
} from '../../protocol/index.js';
import type { KeyResolver, ResolvedKey } from '../auth/key-resolver.js';
import type { ReplayCache } from '../auth/replay-cache.js';
import type { Admission, VerifyAdmission } from '../auth/verify-admission.js';
import type { VerifyQueue } from '../auth/verify-queue.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { AuditEvent } from '../audit/audit-record.js';
import { announcesBody, discardAndClose, readBody as readBodyWithin, tooLarge } from '../http/read-body.js';
import { problemBody, sendProblem } from '../http/send.js';
import { requestFingerprint, type IdempotencyCache, type IdempotencyClaim, type StoredResponse } from '../idempotency/idempotency-cache.js';
import type { JobSlot } from '../jobs/job-registry.js';
import type { JobRegistry } from '../jobs/job-registry.js';
import type { PortLog } from '../logger.js';
import type { PortMetrics } from '../metrics/port-metrics.js';
import type { Principal } from '../options.js';
import { randomId } from '../random-id.js';
import { auditParams } from '../routing/audit-params.js';
import { collectParams } from '../routing/params.js';
import type { RegisteredRoute, RouteResult, RoutePolicy } from '../routing/route.js';
import type { Router } from '../routing/router.js';
import { peerOf, presentedKeyid, reasonOf, splitTarget } from './request-context.js';

export interface PipelineDeps {
  router: Router;
  /** Turns a signature's keyid into its key and principal (the allowlist, extended by other key sources). */
  resolveKey: KeyResolver;
  /**
   * Awaited with the keyid a request presents, before its signature is
   * verified: lets resolveKey answer from a source just re-read (a shared
   * grant store), so another replica's change counts from this request.
   */
  prepareKey?: (keyid: string) => Promise<void>;
  replay: ReplayCache;
  /**
   * Limits on failed verifies per keyid and per connection, checked before
   * each Ed25519 verify (429 limit.auth when spent): auth/verify-admission.ts.
   */
  admission?: VerifyAdmission;
  /**
   * Where the Ed25519 verify runs: libuv's thread pool, a bounded number at
   * a time (auth/verify-queue.ts), so the event loop the service shares with
   * the port is free meanwhile; without it, on the event loop. The stages
   * and their order are the same either way.
   */
  verifyQueue?: VerifyQueue;
  audit: AuditLog;
  jobs: JobRegistry;
  idempotency: IdempotencyCache;
  metrics: PortMetrics;
  log: PortLog;
  bodyLimit: number;
  skewSeconds: number;
  /**
   * This instance's random id (new at every start), sent as Opsctl-Instance
   * on every answer; a request must cover the same value (docs/security.md,
   * "Replay").
   */
  instanceId: string;
  requireReasonForDestructive: boolean;
  /**
   * Stages run between authorize and admit, in order: the request is fully
   * checked (signature, role, params, policy) but nothing is reserved,
   * recorded as accepted or run yet. A review stage may answer the request
   * itself (hold it for approval, answer a dry-run) by writing the response
   * and the audit record through `s.finish` and returning 'done'.
   */
  review?: Stage[];
}

/** The audit context a job carries to its completion record. */
export interface JobAuditMeta {
  base: Omit<AuditEvent, 'outcome' | 'status' | 'durationMs'>;
  destructive: boolean;
}

/** 'done': the stage answered the request; no later stage runs. */
export type StageOutcome = void | 'done';

/** One step of the pipeline: refuses by throwing a ProblemError. */
export type Stage = (deps: PipelineDeps, s: RequestState) => StageOutcome | Promise<StageOutcome>;

/**
 * Everything the stages learn about one request, filled in as it goes
 * (each field is set by the stage named in its comment and read after it).
 */
export interface RequestState {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly requestId: string;
  readonly method: string;
  /** Path and query exactly as sent (still percent-encoded). */
  readonly path: string;
  readonly query: string;
  /** The audit record under construction. */
  readonly event: AuditEvent;
  /** 'auth' until the handler is called, then 'running' (a refusal then is an `error`, not `denied`). */
  phase: 'auth' | 'running';
  /** Endpoint id for metrics, 'unknown' until routed. */
  endpointLabel: string;
  hasBody: boolean;
  /** authenticate: the resolved key and its principal. */
  resolved?: ResolvedKey;
  principal?: Principal;
  /** authenticate: the verified signature's keyid, nonce and created. */
  signature?: { keyid: string; nonce: string; created: number; components: string[]; base: string };
  /** readBody: the raw body (empty when none) and the Opsctl-Reason. */
  body: Buffer;
  reason?: string | undefined;
  /** route */
  route?: RegisteredRoute;
  pathParams?: Record<string, string>;
  /** authorize */
  params?: Record<string, unknown>;
  policy?: RoutePolicy;
  /** admit */
  claim?: Extract<IdempotencyClaim, { kind: 'new' }>;
  slot?: JobSlot;
  jobStarted: boolean;
  /** run */
  result?: RouteResult;
  /** Milliseconds since the request arrived. */
  elapsed(): number;
  /** Writes the final audit record and the metrics of this request. */
  finish(outcome: AuditEvent['outcome'], status: number, code?: string, extra?: Partial<AuditEvent>): Promise<void>;
}

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

/** Stage state a later stage needs; a missing one is a pipeline bug, not a client error. */
function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`pipeline stage ran before ${what} was known`);
  return value;
}

/** 1. Who is asking: the signature, verified with the key the resolver returns. */
export const authenticate: Stage = async (deps, s) => {
  const { req } = s;
  if (!s.path.startsWith('/')) throw new ProblemError('request.invalid', 'the request target must be an absolute path');
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > deps.bodyLimit) throw tooLarge(deps.bodyLimit);
  if (deps.prepareKey) {
    const claimed = presentedKeyid(req);
    if (claimed) await deps.prepareKey(claimed);
  }
  // Headers that change behaviour must be covered when sent.
  const extra = [REASON_HEADER, IDEMPOTENCY_HEADER, BREAK_GLASS_HEADER, DRY_RUN_HEADER].filter((h) => req.headers[h] !== undefined);
  let resolved: ResolvedKey | undefined;
  // Every check but the Ed25519 one (structure, coverage, key, window), then
  // the admission limits, then the verify: a refusal before it costs little.
  const prepared = prepareVerification(
    { method: s.method, path: s.path, query: s.query, headers: req.headers },
    {
      hasBody: s.hasBody,
      requiredComponents: [...REQUIRED_COMPONENTS, ...extra],
      maxSkewSeconds: deps.skewSeconds,
      resolveKey: (keyid) => {
        resolved = deps.resolveKey(keyid);
        return resolved?.key;
      },
    },
  );
  if (!prepared.ok) {
    if (prepared.keyid) s.event.keyid = prepared.keyid.slice(0, 200);
    throw new ProblemError(prepared.code, prepared.detail);
  }
  const peer = s.event.peer ?? 'unknown';
  const refuse = async (a: Extract<Admission, { ok: false }>): Promise<never> => {
    s.event.keyid = prepared.keyid.slice(0, 200);
    deps.metrics.refusedUnverified(a.by);
    s.res.setHeader('retry-after', String(a.retryAfterSeconds));
    // Held before it is answered: a flood that waits for its answers slows
    // to one request per connection per hold (auth/verify-admission.ts).
    const hold = Math.min(deps.admission?.holdRefusalMs ?? 0, a.retryAfterSeconds * 1000);
    if (hold > 0 && !s.res.destroyed) await new Promise<void>((r) => setTimeout(r, hold).unref());
    throw new ProblemError('limit.auth', a.by === 'keyid'
      ? `too many signatures by key ${prepared.keyid.slice(0, 64)} failed to verify; it is refused unverified for ${a.retryAfterSeconds} s`
      : `too many signatures on this connection failed to verify; open a new one or retry in ${a.retryAfterSeconds} s`);
  };
  const admission = deps.admission;
  const admitted = admission?.admit(prepared.keyid, peer);
  if (admitted && !admitted.ok) return refuse(admitted);
  const verdict = deps.verifyQueue
    ? await deps.verifyQueue.run(prepared, admission ? () => admission.admit(prepared.keyid, peer) : undefined)
    : verifyPrepared(prepared);
  if (!verdict.ok) {
    if ('by' in verdict) return refuse(verdict);
    if (verdict.keyid) s.event.keyid = verdict.keyid.slice(0, 200);
    // Only a signature that does not verify spends the admission budget.
    admission?.failed(prepared.keyid, peer);
    throw new ProblemError(verdict.code, verdict.detail);
  }
  if (!resolved) throw new ProblemError('auth.unknown_key', `key ${verdict.keyid} is not in the allowlist`);
  s.resolved = resolved;
  s.principal = resolved.principal;
  s.signature = { keyid: verdict.keyid, nonce: verdict.nonce, created: verdict.created, components: verdict.components, base: verdict.base };
  Object.assign(s.event, { keyid: s.principal.keyid, principal: s.principal.name, role: s.principal.role });
  // A request made under a grant says so in every record it leaves (jobs included: they copy the event).
  if (s.principal.grantId) Object.assign(s.event, { grantId: s.principal.grantId });
  // Bound to this instance: bytes signed for another replica, or for this
  // one before a restart, are refused although their nonce is new here.
  const instance = req.headers[INSTANCE_HEADER];
  if (typeof instance !== 'string' || !verdict.components.includes(INSTANCE_HEADER) || !sameText(instance, deps.instanceId)) {
    throw new ProblemError('auth.instance', instance === undefined
      ? `the signature must cover the ${INSTANCE_HEADER} header with this instance's id (sent in that header on every answer); sign again`
      : `the request was signed for instance ${String(instance).slice(0, 64)}, not this one (${deps.instanceId}); sign again with ${INSTANCE_HEADER}: ${deps.instanceId}`);
  }
};

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** 2. The body within the limit, its digest, then the nonce: only a fully verified request may consume it. */
export const readBody: Stage = async (deps, s) => {
  const sig = need(s.signature, 'the signature');
  s.body = s.hasBody ? await readBodyWithin(s.req, deps.bodyLimit) : Buffer.alloc(0);
  if (s.hasBody) {
    const digest = verifyContentDigest(s.req.headers['content-digest'] as string | undefined, s.body);
    if (!digest.ok) throw new ProblemError('auth.bad_signature', digest.detail);
  }
  const fresh = deps.replay.check(sig.keyid, sig.nonce, sig.created);
  if (fresh === 'replay') throw new ProblemError('auth.replay', 'this signature nonce was already used; sign every request anew');
  if (fresh === 'full') throw new ProblemError('server.busy', 'too many recent requests to remember their nonces; retry shortly');
  s.reason = reasonOf(s.req, REASON_HEADER);
  s.event.reason = s.reason ?? null;
};

/** 3. Which endpoint: only authenticated callers learn the endpoint set. */
export const route: Stage = (deps, s) => {
  const match = deps.router.match(s.method, s.path);
  if (match.kind === 'not_found') throw new ProblemError('not_found', `no endpoint ${s.method} ${s.path}`);
  if (match.kind === 'method_not_allowed') {
    s.res.setHeader('allow', match.allowed.join(', '));
    throw new ProblemError('method_not_allowed', `${s.path} does not accept ${s.method} (allowed: ${match.allowed.join(', ')})`);
  }
  s.route = match.route;
  s.pathParams = match.pathParams;
  s.endpointLabel = match.route.def.id;
  s.event.endpoint = match.route.def.id;
};

/** 4. May this principal do this, with these params. */
export const authorize: Stage = async (deps, s) => {
  const r = need(s.route, 'the route');
  const principal = need(s.principal, 'the principal');
  if (!roleAllows(principal.role, r.def.role)) {
    throw new ProblemError('auth.forbidden', `${r.def.id} needs role ${r.def.role}; ${principal.name} has ${principal.role}`);
  }
  if (s.method === 'GET' && s.body.length > 0) throw new ProblemError('request.invalid', 'a GET request has no body; params go in the query');
  const params = collectParams(s.method as HttpMethod, r.def.path, need(s.pathParams, 'the path params'), s.query, parseJsonBody(s.req, s.body), r.def.params);
  // Recorded before validation, so a refused request's secrets (or what
  // might be secrets: keys no schema describes) are redacted too.
  const forAudit = (p: Record<string, unknown>) => (r.def.auditParams ? r.def.auditParams(p) : auditParams(r.def.params, p));
  s.event.params = forAudit(params);
  r.validate(params);
  s.event.params = forAudit(params);
  s.params = params;
  const policy: RoutePolicy = r.def.policy ? await r.def.policy(params) : { role: r.def.role, destructive: r.def.destructive === true };
  if (policy.auditParams !== undefined) s.event.params = policy.auditParams;
  if (!roleAllows(principal.role, policy.role)) {
    throw new ProblemError('auth.forbidden', `${r.def.id} needs role ${policy.role} here; ${principal.name} has ${principal.role}`);
  }
  policy.validate?.();
  if (deps.requireReasonForDestructive && policy.destructive && !s.reason) {
    throw new ProblemError('request.invalid', 'this destructive action needs a reason (Opsctl-Reason header, opsctl --reason)', { field: 'reason' });
  }
  s.policy = policy;
};

/** 5. Approvals, dry-run and the like, when configured. */
export const review: Stage = async (deps, s) => {
  for (const stage of deps.review ?? []) {
    if ((await stage(deps, s)) === 'done') return 'done';
  }
};

/** 6. Admission: idempotent repeats, a job slot, and the `accepted` record before anything runs. */
export const admit: Stage = async (deps, s) => {
  const r = need(s.route, 'the route');
  const principal = need(s.principal, 'the principal');
  const policy = need(s.policy, 'the policy');
  const mutating = s.method !== 'GET';
  const idemKey = s.req.headers[IDEMPOTENCY_HEADER];
  if (mutating && idemKey !== undefined) {
    if (typeof idemKey !== 'string' || !IDEMPOTENCY_KEY.test(idemKey)) {
      throw new ProblemError('request.invalid', 'Idempotency-Key must be 1-255 visible ASCII characters', { field: 'idempotency-key' });
    }
    const c = await deps.idempotency.claim(principal.keyid, idemKey, r.def.id, requestFingerprint(s.method, s.path, s.query, s.body));
    if (c.kind === 'replay') {
      s.res.writeHead(c.response.status, { ...c.response.headers, 'content-type': c.response.contentType, 'cache-control': 'no-store', 'idempotency-replayed': 'true' });
      s.res.end(c.response.body);
      await s.finish('ok', c.response.status, undefined, { replayed: true });
      return 'done';
    }
    s.claim = c;
  }
  // The job slot (429) is reserved before anything is written or run.
  if (r.def.job) s.slot = deps.jobs.reserve(principal.role);
  const jobId = s.slot?.id;
  if (mutating) {
    try {
      await deps.audit.append({ ...s.event, outcome: 'accepted', status: null, durationMs: s.elapsed(), ...(jobId ? { jobId } : {}) }, { durable: policy.destructive });
    } catch {
      throw new ProblemError('audit.unavailable', 'the audit log cannot be written, so nothing that changes state may run');
    }
  }
};

/** 7. The endpoint's handler. */
export const run: Stage = async (deps, s) => {
  const r = need(s.route, 'the route');
  const principal = need(s.principal, 'the principal');
  const policy = need(s.policy, 'the policy');
  s.phase = 'running';
  const meta: JobAuditMeta = { base: { ...s.event }, destructive: policy.destructive };
  s.result = await r.def.handler({
    params: need(s.params, 'the params'),
    principal,
    requestId: s.requestId,
    reason: s.reason,
    req: s.req,
    res: s.res,
    startJob: (spec) => {
      const slot = s.slot;
      if (!slot) throw new Error(`${r.def.id} is not registered as a job endpoint`);
      const job = deps.jobs.start(slot, r.def.id, principal, spec, { ...meta, base: { ...meta.base, jobId: slot.id } });
      s.jobStarted = true;
      return { jobId: job.id, state: job.state };
    },
  });
};

/** 8. The answer (also kept for Idempotency-Key repeats) and the final audit record. */
export const respond: Stage = async (deps, s) => {
  const result = need(s.result, 'the result');
  let stored: StoredResponse;
  if ('streamed' in result) {
    s.claim?.abandon();
    await s.finish('ok', s.res.statusCode);
    return;
  } else if ('job' in result) {
    const body202 = JSON.stringify({ jobId: result.job.jobId, state: result.job.state }) + '\n';
    stored = { status: 202, contentType: 'application/json; charset=utf-8', body: body202, headers: { location: `/v1/jobs/${result.job.jobId}` } };
  } else if ('raw' in result) {
    stored = { status: result.status ?? 200, contentType: result.contentType, body: typeof result.raw === 'string' ? result.raw : result.raw.toString('utf8'), headers: {} };
  } else {
    stored = { status: result.status ?? 200, contentType: 'application/json; charset=utf-8', body: JSON.stringify(result.body) + '\n', headers: result.headers ?? {} };
  }
  s.claim?.complete(stored);
  // A started job writes its own final record when it ends.
  if (!s.jobStarted) await s.finish('ok', stored.status, undefined, 'body' in result ? result.audit as Partial<AuditEvent> | undefined : undefined);
  else deps.metrics.observe(s.endpointLabel, stored.status, s.elapsed() / 1000);
  // Content-Length, so the answer goes out as one write, not chunked (a
  // writev of four pieces): src/server/README.md, "Performance".
  s.res.writeHead(stored.status, { ...stored.headers, 'content-type': stored.contentType, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(stored.body) });
  s.res.end(stored.body);
};

/** The stages in the order they run (see the top of this file). */
export const STAGES: ReadonlyArray<readonly [name: string, stage: Stage]> = [
  ['authenticate', authenticate],
  ['readBody', readBody],
  ['route', route],
  ['authorize', authorize],
  ['review', review],
  ['admit', admit],
  ['run', run],
  ['respond', respond],
];

/** The request handler of the internal port: runs STAGES for every request. */
export function createRequestHandler(deps: PipelineDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(deps, req, res).catch((e: unknown) => {
      deps.log('error', `unhandled failure in the request pipeline: ${(e as Error)?.message ?? String(e)}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': PROBLEM_CONTENT_TYPE }).end();
      else res.destroy();
    });
  };
}

function newState(deps: PipelineDeps, req: IncomingMessage, res: ServerResponse): RequestState {
  const t0 = performance.now();
  const requestId = randomId(16);
  const method = (req.method ?? '').toUpperCase();
  const { path, query } = splitTarget(req.url ?? '');
  const event: AuditEvent = {
    requestId,
    // Filled in by authenticate, or from the Signature-Input when a request is refused before that (see handle()).
    keyid: null,
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
  const elapsed = () => Math.round((performance.now() - t0) * 1000) / 1000;
  const s: RequestState = {
    req, res, requestId, method, path, query, event,
    phase: 'auth',
    endpointLabel: 'unknown',
    hasBody: announcesBody(req),
    body: Buffer.alloc(0),
    jobStarted: false,
    elapsed,
    finish: async (outcome, status, code, extra = {}) => {
      const record: AuditEvent = { ...event, outcome, status, durationMs: elapsed(), ...(code ? { code } : {}), ...extra };
      try {
        await deps.audit.append(record);
      } catch {
        // Already refused if it mattered (mutations need the accepted record); logged by the audit log.
      }
      deps.metrics.observe(s.endpointLabel, status, elapsed() / 1000, outcome === 'denied' ? code : undefined);
    },
  };
  return s;
}

async function handle(deps: PipelineDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const s = newState(deps, req, res);
  res.setHeader(REQUEST_ID_HEADER, s.requestId);
  res.setHeader(INSTANCE_HEADER, deps.instanceId);
  try {
    for (const [, stage] of STAGES) {
      if ((await stage(deps, s)) === 'done') return;
    }
  } catch (e) {
    const problem = toProblem(e, deps.log, s.requestId);
    // Refused before a key vouched for anyone: the key id the request claims, unverified.
    if (s.event.keyid === null && !s.principal) s.event.keyid = presentedKeyid(req);
    if (s.claim) {
      // After the handler ran, a repeat must see this same answer; before, a retry may run.
      if (s.phase === 'running') s.claim.complete({ status: problem.status, contentType: PROBLEM_CONTENT_TYPE, body: JSON.stringify(problemBody(problem, s.requestId)) + '\n', headers: {} });
      else s.claim.abandon();
    }
    await s.finish(s.phase === 'running' ? 'error' : 'denied', problem.status, problem.code);
    sendProblem(res, problem, s.requestId);
    if (problem.code === 'request.too_large') discardAndClose(req, Math.max(deps.bodyLimit * 8, 16 * 1024 * 1024));
  } finally {
    s.slot?.release();
  }
}
