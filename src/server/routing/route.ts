import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApprovalActor, ApprovalPolicy, EndpointDescriptor, JobStarted, Role } from '../../protocol/index.js';
import type { EndpointMeta, JobContext, Principal } from '../options.js';

/** A started job as a route hands it back (answered 202 with Location): the protocol's JobStarted, state always set. */
export type StartedJob = Required<JobStarted>;

export interface JobSpec {
  /** Shown in jobs.get next to the endpoint id (e.g. the task name). */
  name?: string;
  run(ctx: JobContext): Promise<unknown>;
  /** Runs once the job has ended, whatever the outcome (e.g. release a lock). */
  onEnd?(): Promise<void> | void;
}

/** What a route handler receives. */
export interface RouteRequest {
  params: Record<string, unknown>;
  principal: Principal;
  requestId: string;
  reason: string | undefined;
  req: IncomingMessage;
  res: ServerResponse;
  /** For job routes: starts the job in the slot reserved for this request. */
  startJob(spec: JobSpec): StartedJob;
  /**
   * Set when an approved, held request runs: its approval and who approved
   * it (grants.request names them as granters; `approvedBy` carries each
   * approver's person and grant, src/server/README.md "Approvals count persons").
   */
  approval?: { id: string; approvers: string[]; approvedBy?: ApprovalActor[] };
}

export type RouteResult =
  /** `audit`: fields the final audit record gains (e.g. the grant a request created). */
  | { status?: number; body: unknown; headers?: Record<string, string>; audit?: Record<string, unknown> }
  | { raw: string | Buffer; contentType: string; status?: number }
  | { job: StartedJob }
  /** The handler wrote the response itself (streams). */
  | { streamed: true };

/** Per-request policy, for endpoints whose role depends on the params (tasks.run). */
export interface RoutePolicy {
  role: Role;
  destructive: boolean;
  /** Params as they go into the audit record (secrets redacted). */
  auditParams?: unknown;
  /** Further params validation, run after the role check (so a caller without the role learns nothing). */
  validate?(): void;
  /** This request's approval rule when it is not the endpoint's (a task's own). */
  approval?: ApprovalPolicy;
}

/** What a dry-run handler receives: the request as checked, nothing applied. */
export interface DryRunRequest {
  params: Record<string, unknown>;
  principal: Principal;
  requestId: string;
  reason: string | undefined;
  /** Also check that the resources a run would take are free (the migration lock). */
  probeLocks: boolean;
}

/**
 * One endpoint as registered. Summary, role and params schema are required:
 * an endpoint without them cannot be registered (no shadow API).
 */
export interface RouteDefinition extends EndpointMeta {
  job?: boolean;
  /**
   * Params as they go into the audit record, for routes whose params embed
   * another schema (tasks.run: the task's). Called before validation too, so
   * it must cope with any JSON; the default is auditParams(def.params, p).
   */
  auditParams?(params: Record<string, unknown>): unknown;
  /** Decides role/destructiveness per request after params validation (may throw a ProblemError). */
  policy?(params: Record<string, unknown>): RoutePolicy | Promise<RoutePolicy>;
  handler(r: RouteRequest): Promise<RouteResult> | RouteResult;
  /** Requests need approval first (src/server/README.md, "Approvals"). */
  approval?: ApprovalPolicy;
  /**
   * Answers Opsctl-Dry-Run: 1 with what would change, applying nothing; may
   * throw the same ProblemErrors a real run would (412, 409). Without it a
   * dry-run answers with the validated params.
   */
  dryRun?(r: DryRunRequest): Promise<unknown> | unknown;
}

export interface RegisteredRoute {
  def: RouteDefinition;
  descriptor: EndpointDescriptor;
  validate(params: Record<string, unknown>): void;
}
