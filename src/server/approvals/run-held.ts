import http from 'node:http';
import net from 'node:net';
import { ProblemError, roleAllows, type HttpMethod } from '../../protocol/index.js';
import type { KeyResolver } from '../auth/key-resolver.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { AuditEvent } from '../audit/audit-record.js';
import type { JobRegistry, JobSlot } from '../jobs/job-registry.js';
import type { PortLog } from '../logger.js';
import type { Principal } from '../options.js';
import { collectParams } from '../routing/params.js';
import type { RegisteredRoute, RoutePolicy, RouteResult } from '../routing/route.js';
import type { Router } from '../routing/router.js';
import type { ApprovalRecord } from './approval-record.js';

/** What running a held request needs from the port. */
export interface HeldRunDeps {
  router: Router;
  /** The pipeline's key resolver: the requester as known now. */
  resolveKey: KeyResolver;
  jobs: JobRegistry;
  audit: AuditLog;
  log: PortLog;
}

/** The audit context a job carries to its completion record (the pipeline's JobAuditMeta shape). */
interface JobMeta {
  base: Omit<AuditEvent, 'outcome' | 'status' | 'durationMs'>;
  destructive: boolean;
}

export interface ResolvedHeld {
  route: RegisteredRoute;
  params: Record<string, unknown>;
  policy: RoutePolicy;
  /** The requester as the allowlist knows them now. */
  principal: Principal;
}

/** The answer the requester would have had, kept on the approval. */
export interface HeldResult {
  status: number;
  body: unknown;
  jobId?: string;
}

/**
 * Rebuilds a held request from the bytes that were signed, as its requester
 * is allowed *now*: a key taken off the allowlist, or a role lowered, since
 * the request was held means it does not run (403). Params are re-read and
 * re-validated exactly as the pipeline does.
 */
export async function resolveHeld(deps: HeldRunDeps, rec: ApprovalRecord): Promise<ResolvedHeld> {
  const resolved = deps.resolveKey(rec.requester.keyid);
  if (!resolved) throw new ProblemError('auth.forbidden', `the requester's key ${rec.requester.keyid} (${rec.requester.name}) is no longer accepted; the held request did not run`);
  const principal: Principal = resolved.principal;
  const match = deps.router.match(rec.method, rec.path);
  if (match.kind !== 'found') throw new ProblemError('not_found', `the service no longer serves ${rec.method} ${rec.path}; the held request did not run`);
  const route = match.route;
  let body: unknown;
  try {
    body = rec.bodyText ? JSON.parse(rec.bodyText) : undefined;
  } catch {
    throw new ProblemError('request.invalid', 'the held request body is not valid JSON');
  }
  const params = collectParams(rec.method as HttpMethod, route.def.path, match.pathParams, rec.query, body, route.def.params);
  if (rec.boundPlan !== undefined && params.expectedPlan === undefined) params.expectedPlan = rec.boundPlan;
  route.validate(params);
  const policy: RoutePolicy = route.def.policy ? await route.def.policy(params) : { role: route.def.role, destructive: route.def.destructive === true };
  const need = roleAllows(route.def.role, policy.role) ? policy.role : route.def.role;
  if (!roleAllows(principal.role, need)) {
    throw new ProblemError('auth.forbidden', `${principal.name} now has role ${principal.role} and ${route.def.id} needs ${need}; the held request did not run`);
  }
  policy.validate?.();
  return { route, params, policy, principal };
}

/** A request object for handlers that read headers; held requests are never streamed. */
function syntheticExchange(rec: ApprovalRecord): { req: http.IncomingMessage; res: http.ServerResponse } {
  const req = new http.IncomingMessage(new net.Socket());
  req.method = rec.method;
  req.url = rec.query ? `${rec.path}?${rec.query}` : rec.path;
  req.headers = { accept: 'application/json' };
  return { req, res: new http.ServerResponse(req) };
}

/**
 * Runs an approved request as its requester, through the endpoint's own
 * handler (a job where the endpoint is one). Writes the `accepted` record
 * (flushed first when destructive) naming requester and approvers, then the
 * `ok`/`error` record, or the job's completion record. Throws the handler's
 * ProblemError (412 plan moved, 409 locked, 403 role removed): then nothing ran.
 */
export async function runHeld(deps: HeldRunDeps, rec: ApprovalRecord, approval: NonNullable<AuditEvent['approval']>): Promise<HeldResult> {
  const t0 = Date.now();
  const base: Omit<AuditEvent, 'outcome' | 'status' | 'durationMs'> = { ...rec.audit, approval };
  const record = async (outcome: AuditEvent['outcome'], status: number | null, extra: Partial<AuditEvent> = {}, durable = false) => {
    await deps.audit.append({ ...base, outcome, status, durationMs: Date.now() - t0, ...extra }, { durable });
  };
  let slot: JobSlot | undefined;
  let accepted = false;
  try {
    const r = await resolveHeld(deps, rec);
    Object.assign(base, { principal: r.principal.name, role: r.principal.role, keyid: r.principal.keyid });
    if (r.route.def.job) slot = deps.jobs.reserve(r.principal.role);
    try {
      await record('accepted', null, slot ? { jobId: slot.id } : {}, r.policy.destructive);
    } catch {
      throw new ProblemError('audit.unavailable', 'the audit log cannot be written, so the approved request may not run');
    }
    accepted = true;
    const { req, res } = syntheticExchange(rec);
    let jobId: string | undefined;
    const meta: JobMeta = { base: { ...base }, destructive: r.policy.destructive };
    const result: RouteResult = await r.route.def.handler({
      params: r.params,
      principal: r.principal,
      requestId: rec.audit.requestId,
      reason: rec.reason ?? undefined,
      req,
      res,
      approval: { id: rec.id, approvers: approval.approvers, approvedBy: rec.approvers.map(({ at: _at, reason: _r, ...who }) => who) },
      startJob: (spec) => {
        if (!slot) throw new Error(`${r.route.def.id} is not registered as a job endpoint`);
        const job = deps.jobs.start(slot, r.route.def.id, r.principal, spec, { ...meta, base: { ...meta.base, jobId: slot.id } });
        jobId = job.id;
        return { jobId: job.id, state: job.state };
      },
    });
    let out: HeldResult;
    if ('job' in result) out = { status: 202, body: { jobId: result.job.jobId, state: result.job.state }, jobId: result.job.jobId };
    else if ('raw' in result) out = { status: result.status ?? 200, body: typeof result.raw === 'string' ? result.raw : result.raw.toString('utf8') };
    else if ('body' in result) out = { status: result.status ?? 200, body: result.body };
    else out = { status: 200, body: null };
    const note = 'body' in result ? result.audit as Partial<AuditEvent> | undefined : undefined;
    if (!jobId) await record('ok', out.status, note ?? {}).catch(() => deps.log('error', `the end of approved request ${rec.id} could not be written to the audit log`));
    return out;
  } catch (e) {
    const p = e instanceof ProblemError ? e : new ProblemError('internal', `the approved request failed; the service log has details under approval ${rec.id}`);
    if (!(e instanceof ProblemError)) deps.log('error', `approved request ${rec.id} failed: ${(e as Error)?.stack ?? String(e)}`);
    await record(accepted ? 'error' : 'denied', p.status, { code: String(p.code) }).catch(() => undefined);
    throw p;
  } finally {
    slot?.release();
  }
}
