/**
 * The endpoint catalog: the single source of truth for what the internal port
 * serves. The server publishes it at GET /v1/catalog; the CLI derives its
 * subcommands, help, completions and man page from the same definitions.
 */
import { JOB_ID_PATTERN, NAME_PATTERN } from './names.js';

export type Role = 'viewer' | 'operator' | 'admin';
export const ROLES: readonly Role[] = ['viewer', 'operator', 'admin'];

/** True when a principal holding `have` may call an endpoint requiring `need`. */
export function roleAllows(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';

/**
 * The JSON Schema subset used for endpoint params. `secret: true` on a
 * property makes the audit log redact it; `in: 'path'` marks a path parameter.
 */
export interface JsonSchema {
  type?: 'object' | 'string' | 'number' | 'integer' | 'boolean' | 'array' | 'null' | Array<'object' | 'string' | 'number' | 'integer' | 'boolean' | 'array' | 'null'>;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  default?: unknown;
  secret?: boolean;
  in?: 'path' | 'query' | 'body';
  [keyword: string]: unknown;
}

export type Scope = 'instance' | 'service';

/**
 * A second-person rule for an endpoint (docs in src/server/README.md,
 * "Approvals"): `count` other principals holding `role` (default: the
 * endpoint's own role) must approve the exact signed request before it runs;
 * `breakGlass` lets an admin run it at once with a reason instead.
 */
export interface ApprovalPolicy {
  count: number;
  role?: Role;
  breakGlass?: boolean;
}

/** One catalog entry, exactly as published in GET /v1/catalog. */
export interface EndpointDescriptor {
  id: string;
  method: HttpMethod;
  /** Path template under /v1/, with `{name}` placeholders for path params. */
  path: string;
  summary: string;
  description: string;
  role: Role;
  destructive: boolean;
  params: JsonSchema;
  job: boolean;
  scope: Scope;
  /** Present when requests need approval (for tasks.run: see each task's own `approval` in tasks.list). */
  approval?: ApprovalPolicy;
}

export interface Catalog {
  service: string;
  version: string;
  protocol: 1;
  endpoints: EndpointDescriptor[];
}

export const PROTOCOL_VERSION = 1 as const;

const obj = (properties: Record<string, JsonSchema> = {}, required: string[] = []): JsonSchema => ({
  type: 'object',
  properties,
  required,
  additionalProperties: false,
});

const flagName: JsonSchema = { type: 'string', in: 'path', pattern: NAME_PATTERN, description: 'flag name' };
const jobId: JsonSchema = { type: 'string', in: 'path', pattern: JOB_ID_PATTERN, description: 'job id' };
const migrationTarget: JsonSchema = { type: 'string', minLength: 1, description: 'migration id to stop at (inclusive)' };
const approvalId: JsonSchema = { type: 'string', in: 'path', pattern: '^[A-Za-z0-9]{1,64}$', description: 'approval id' };
const approvalDigest: JsonSchema = { type: 'string', pattern: '^[0-9a-f]{64}$', description: 'digest of the held request as reviewed (from approvals show); 412 if it differs' };
const approvalReason: JsonSchema = { type: 'string', maxLength: 1000, description: 'why (recorded in the audit log)' };
const approvalWait: JsonSchema = { type: 'integer', minimum: 0, maximum: 300, in: 'query', description: 'long-poll: wait up to this many seconds for a change before answering (one audit record per answer)' };
const planHash: JsonSchema = { type: 'string', pattern: '^[0-9a-f]{64}$', description: 'planHash of the reviewed plan; 412 if the plan changed' };

/** The standard endpoints of protocol v1 (docs/protocol.md). */
export const STANDARD_ENDPOINTS: readonly EndpointDescriptor[] = [
  {
    id: 'health', method: 'GET', path: '/v1/health', role: 'viewer', destructive: false, job: false, scope: 'instance',
    summary: 'Service name, version, uptime and health checks',
    description: 'Reports the service identity, its uptime and the result of each registered health check.',
    params: obj(),
  },
  {
    id: 'whoami', method: 'GET', path: '/v1/whoami', role: 'viewer', destructive: false, job: false, scope: 'instance',
    summary: 'Who the server thinks you are',
    description: 'The principal, role and key id of the key that signed this request, as this server sees it, and the server\'s clock.',
    params: obj(),
  },
  {
    id: 'catalog', method: 'GET', path: '/v1/catalog', role: 'viewer', destructive: false, job: false, scope: 'instance',
    summary: 'List every endpoint this internal port serves',
    description: 'The endpoint catalog, built from what the service registered: ids, methods, paths, roles, params schemas.',
    params: obj(),
  },
  {
    id: 'metrics.get', method: 'GET', path: '/v1/metrics', role: 'viewer', destructive: false, job: false, scope: 'instance',
    summary: 'Prometheus metrics of the service and the port',
    description: 'Prometheus text exposition by default; a JSON form with Accept: application/json.',
    params: obj(),
  },
  {
    id: 'flags.list', method: 'GET', path: '/v1/flags', role: 'viewer', destructive: false, job: false, scope: 'instance',
    summary: 'List feature flags with their values',
    description: 'Every feature flag with its type, current value, what it accepts (min/max, enum), description and who changed it last.',
    params: obj(),
  },
  {
    id: 'flags.get', method: 'GET', path: '/v1/flags/{name}', role: 'viewer', destructive: false, job: false, scope: 'instance',
    summary: 'Show one feature flag',
    description: 'One feature flag with its type, value, default, what it accepts (min/max, enum), description and last change.',
    params: obj({ name: flagName }, ['name']),
  },
  {
    id: 'flags.set', method: 'PUT', path: '/v1/flags/{name}', role: 'operator', destructive: false, job: false, scope: 'instance',
    summary: 'Set a feature flag',
    description: 'Sets a flag to a new typed value (boolean, integer, number, string or percentage 0-100); a value outside its min/max or enum, or 1.5 for an integer, is refused with 400 request.invalid naming the bound.',
    params: obj({ name: flagName, value: { type: ['boolean', 'number', 'string'], description: 'new value, typed as the flag' } }, ['name', 'value']),
  },
  {
    id: 'migrations.status', method: 'GET', path: '/v1/migrations', role: 'viewer', destructive: false, job: false, scope: 'service',
    summary: 'Applied and pending migrations',
    description: 'The migrations already applied to the database and those still pending.',
    params: obj(),
  },
  {
    id: 'migrations.plan', method: 'POST', path: '/v1/migrations/plan', role: 'admin', destructive: false, job: false, scope: 'service',
    summary: 'Plan pending migrations and get the plan hash',
    description: 'Lists what `migrations.up` would apply (optionally up to `to`) and a planHash to pass back as expectedPlan. With direction "down", what `migrations.down` would revert (newest first).',
    params: obj({ to: migrationTarget, direction: { type: 'string', enum: ['up', 'down'], default: 'up', description: 'plan for migrations.up (default) or migrations.down' } }),
  },
  {
    id: 'migrations.up', method: 'POST', path: '/v1/migrations/up', role: 'admin', destructive: true, job: true, scope: 'service',
    summary: 'Apply pending migrations',
    description: 'Applies pending migrations as a server-owned job, holding the database migration lock. 412 if expectedPlan no longer matches.',
    params: obj({ to: migrationTarget, expectedPlan: planHash }),
  },
  {
    id: 'migrations.down', method: 'POST', path: '/v1/migrations/down', role: 'admin', destructive: true, job: true, scope: 'service',
    summary: 'Revert migrations down to a target',
    description: 'Reverts applied migrations after `to` as a server-owned job, holding the database migration lock.',
    params: obj({ to: migrationTarget, expectedPlan: planHash }, ['to']),
  },
  {
    id: 'tasks.list', method: 'GET', path: '/v1/tasks', role: 'viewer', destructive: false, job: false, scope: 'instance',
    summary: 'List maintenance tasks',
    description: 'Every maintenance task the service registered, with its role, params schema and whether it is destructive.',
    params: obj(),
  },
  {
    id: 'tasks.run', method: 'POST', path: '/v1/tasks/{name}/run', role: 'viewer', destructive: false, job: true, scope: 'instance',
    summary: 'Run a maintenance task',
    description: "Starts a task as a job. The role and destructiveness are the task's own (see tasks.list).",
    params: obj({ name: { type: 'string', in: 'path', pattern: NAME_PATTERN, description: 'task name' }, params: { type: 'object', description: 'task params' } }, ['name']),
  },
  {
    id: 'jobs.list', method: 'GET', path: '/v1/jobs', role: 'viewer', destructive: false, job: false, scope: 'instance',
    summary: 'List recent jobs',
    description: 'Recent and running jobs, newest first.',
    params: obj(),
  },
  {
    id: 'jobs.get', method: 'GET', path: '/v1/jobs/{id}', role: 'viewer', destructive: false, job: false, scope: 'instance',
    summary: 'Show a job',
    description: 'State, progress, result or error of one job.',
    params: obj({ id: jobId }, ['id']),
  },
  {
    id: 'jobs.events', method: 'GET', path: '/v1/jobs/{id}/events', role: 'viewer', destructive: false, job: false, scope: 'instance',
    summary: 'Stream job progress and logs (NDJSON)',
    description: 'An NDJSON stream of the job\'s past and future progress and log events; ends when the job ends.',
    params: obj({ id: jobId }, ['id']),
  },
  {
    id: 'jobs.cancel', method: 'POST', path: '/v1/jobs/{id}/cancel', role: 'operator', destructive: false, job: false, scope: 'instance',
    summary: 'Cancel a running job',
    description: 'Cooperative cancel: the job handler sees an aborted AbortSignal and stops at its next safe point.',
    params: obj({ id: jobId }, ['id']),
  },
  {
    id: 'approvals.list', method: 'GET', path: '/v1/approvals', role: 'viewer', destructive: false, job: false, scope: 'service',
    summary: 'List held requests waiting for approval, and recent ones',
    description: 'Requests held for a second person\'s approval (pending first), recently decided ones, and break-glass runs to review. Every answer has a cursor; with wait and since (an earlier cursor), a long-poll answered at the next change of any approval or after wait seconds.',
    params: obj({
      state: { type: 'string', enum: ['pending', 'approved', 'rejected', 'expired', 'executed', 'failed', 'superseded'], in: 'query', description: 'only approvals in this state' },
      wait: approvalWait,
      since: { type: 'string', maxLength: 64, in: 'query', description: 'the cursor of an earlier answer: with wait, answer as soon as the list changed since it' },
    }),
  },
  {
    id: 'approvals.get', method: 'GET', path: '/v1/approvals/{id}', role: 'viewer', destructive: false, job: false, scope: 'service',
    summary: 'Show exactly what a held request will run',
    description: 'Endpoint, params (secrets redacted), requester, reason, digest, approvers and state of one approval, with a dry-run of the held request taken now. With wait, a long-poll: a pending approval is answered when it changes (an approval counted or no longer counting, decided, expired) or after wait seconds, without the dry-run; one audit record per answer.',
    params: obj({ id: approvalId, wait: approvalWait }, ['id']),
  },
  {
    id: 'approvals.approve', method: 'POST', path: '/v1/approvals/{id}/approve', role: 'viewer', destructive: false, job: false, scope: 'service',
    summary: 'Approve a held request (it runs once enough people approved)',
    description: 'The approver\'s own signed request carrying the digest they reviewed. Not the requester, nor a key acting for them or whose authority comes from them through grants (403 approval.self); the policy\'s role is needed (403); wrong digest 412; expired 410. A second approval by the same person counts once. When the count is reached the held request runs as the requester.',
    params: obj({ id: approvalId, digest: approvalDigest, reason: approvalReason }, ['id', 'digest']),
  },
  {
    id: 'approvals.reject', method: 'POST', path: '/v1/approvals/{id}/reject', role: 'viewer', destructive: false, job: false, scope: 'service',
    summary: 'Reject a held request (it never runs)',
    description: 'Ends a pending approval: nothing runs. The requester may withdraw their own request this way.',
    params: obj({ id: approvalId, reason: approvalReason }, ['id']),
  },
  {
    id: 'audit.tail', method: 'GET', path: '/v1/audit', role: 'admin', destructive: false, job: false, scope: 'instance',
    summary: 'Newest audit records',
    description: 'The newest records of the hash-chained audit log.',
    params: obj({ limit: { type: 'integer', minimum: 1, maximum: 1000, default: 20, in: 'query', description: 'how many records' } }),
  },
  {
    id: 'audit.verify', method: 'GET', path: '/v1/audit/verify', role: 'admin', destructive: false, job: false, scope: 'instance',
    summary: 'Verify the audit log hash chain',
    description: 'Checks every record\'s hash chain and every signed checkpoint\'s Merkle root and signature, from the newest checkpoint a previous verify passed (or from the start with full=true), up to the head as it was when the walk began; reports the first bad record and the torn tails that were repaired.',
    params: obj({ full: { type: 'boolean', default: false, in: 'query', description: 'walk the whole log, not only what was added since the newest verified checkpoint' } }),
  },
  {
    id: 'audit.checkpoint', method: 'GET', path: '/v1/audit/checkpoint', role: 'admin', destructive: false, job: false, scope: 'instance',
    summary: 'Newest signed audit checkpoint',
    description: 'The newest checkpoint: the RFC 6962 Merkle tree root over the first `size` records, the time, and the Ed25519 signature of the service\'s audit key (public key and keyid included).',
    params: obj(),
  },
  {
    id: 'audit.proof', method: 'GET', path: '/v1/audit/proof', role: 'admin', destructive: false, job: false, scope: 'instance',
    summary: 'Inclusion proof of one audit record',
    description: 'The RFC 6962 inclusion proof (audit path) of record `seq` in the tree of the first `size` records, with the record as stored.',
    params: obj({
      seq: { type: 'integer', minimum: 1, in: 'query', description: 'the record' },
      size: { type: 'integer', minimum: 1, in: 'query', description: 'the tree size (a checkpoint\'s size)' },
    }, ['seq', 'size']),
  },
  {
    id: 'audit.consistency', method: 'GET', path: '/v1/audit/consistency', role: 'admin', destructive: false, job: false, scope: 'instance',
    summary: 'Consistency proof between two audit tree sizes',
    description: 'The RFC 6962 consistency proof that the tree of the first `from` records is a prefix of the tree of the first `to`: what an operator checks against a checkpoint seen before.',
    params: obj({
      from: { type: 'integer', minimum: 1, in: 'query', description: 'the older tree size' },
      to: { type: 'integer', minimum: 1, in: 'query', description: 'the newer tree size' },
    }, ['from', 'to']),
  },
  {
    id: 'grants.create', method: 'POST', path: '/v1/grants', role: 'admin', destructive: false, job: false, scope: 'instance',
    summary: 'Give a key a role for a limited time',
    description: 'Accepts the key with the role until expiresAt, checked on every request (no reload). Never above the granter\'s own role (403) nor beyond a grant the granter acts under (400), and it ends with that grant; ttlSeconds above the service maximum (default 8 h) is 400. A principal that is an allowlisted person\'s or another live grant\'s name is 409 grant.principal_taken. A key on no allowlist acts for the granter when approvals count persons; a key also on the allowlist gets the higher of its two roles.',
    params: obj({
      publicKey: { type: 'string', minLength: 1, maxLength: 2000, description: 'OpenSSH public key line (ssh-ed25519 AAAA… [comment])' },
      role: { type: 'string', enum: ['viewer', 'operator', 'admin'], description: 'role the key gets' },
      ttlSeconds: { type: 'integer', minimum: 1, description: 'how long the grant lasts, in seconds' },
      reason: { type: 'string', minLength: 1, maxLength: 1000, description: 'why (kept with the grant and in the audit log)' },
      principal: { type: 'string', pattern: '^[^\\x00-\\x1f\\x7f]{1,200}$', description: 'name for the key (default: the key comment, else its fingerprint); never an allowlisted person\'s or another live grant\'s name' },
    }, ['publicKey', 'role', 'ttlSeconds', 'reason']),
  },
  {
    id: 'grants.list', method: 'GET', path: '/v1/grants', role: 'admin', destructive: false, job: false, scope: 'instance',
    summary: 'List active and recently ended grants',
    description: 'Active grants, then grants that expired or were revoked in the last 24 hours, with who granted them and when they end.',
    params: obj(),
  },
  {
    id: 'grants.revoke', method: 'DELETE', path: '/v1/grants/{id}', role: 'admin', destructive: false, job: false, scope: 'instance',
    summary: 'Revoke a grant now',
    description: 'Ends the grant at once: the key\'s next request is judged without it. Every grant made under it ends too, recursively, each recorded in the audit log (listed as ended).',
    params: obj({ id: { type: 'string', in: 'path', pattern: '^[A-Za-z0-9]{1,64}$', description: 'grant id' } }, ['id']),
  },
  {
    id: 'grants.request', method: 'POST', path: '/v1/grants/requests', role: 'viewer', destructive: false, job: false, scope: 'instance',
    summary: 'Ask for a role for a limited time (needs approval)',
    description: 'Any allowed key asks for a grant for itself. The request is held for approval (by default one admin who is not the requester); once approved it becomes a grant for the requesting key.',
    params: obj({
      role: { type: 'string', enum: ['viewer', 'operator', 'admin'], description: 'role asked for' },
      ttlSeconds: { type: 'integer', minimum: 1, description: 'how long, in seconds' },
      reason: { type: 'string', minLength: 1, maxLength: 1000, description: 'why (shown to the approvers)' },
    }, ['role', 'ttlSeconds', 'reason']),
  },
  {
    id: 'notify.status', method: 'GET', path: '/v1/notify', role: 'viewer', destructive: false, job: false, scope: 'instance',
    summary: 'Where events are delivered, and how delivery goes',
    description: 'Each configured notification endpoint (name, kind, event filter; never its URL or secret) with its delivery state, and the Ed25519 public key (whpk_…) that signs every delivery.',
    params: obj(),
  },
  {
    id: 'notify.test', method: 'POST', path: '/v1/notify/test', role: 'admin', destructive: false, job: false, scope: 'instance',
    summary: 'Send a signed test event to each notification endpoint',
    description: 'Sends one notify.test event, signed like every delivery, to each configured endpoint (or the one named) at once, and answers each one\'s HTTP status. Not queued and not retried.',
    params: obj({ endpoint: { type: 'string', minLength: 1, maxLength: 100, description: 'only this endpoint (its name, as notify status lists it)' } }),
  },
];

export function findEndpoint(endpoints: readonly EndpointDescriptor[], id: string): EndpointDescriptor | undefined {
  return endpoints.find((e) => e.id === id);
}

/** Names of the `{placeholders}` in a path template, in order. */
export function pathParamNames(template: string): string[] {
  return [...template.matchAll(/\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1]!);
}

/** Matches a concrete path against a template; returns the decoded path params or null. */
export function matchPath(template: string, actual: string): Record<string, string> | null {
  const t = template.split('/');
  const a = actual.split('/');
  if (t.length !== a.length) return null;
  const out: Record<string, string> = {};
  for (let i = 0; i < t.length; i++) {
    const seg = t[i]!;
    const m = /^\{([A-Za-z0-9_]+)\}$/.exec(seg);
    if (m) {
      let v: string;
      try { v = decodeURIComponent(a[i]!); } catch { return null; }
      if (!v) return null;
      out[m[1]!] = v;
    } else if (seg !== a[i]) {
      return null;
    }
  }
  return out;
}

export interface RequestShape {
  method: HttpMethod;
  /** Path with params substituted and percent-encoded. */
  path: string;
  /** Query string without the leading '?' ('' when none). */
  query: string;
  /** JSON body, or undefined for none. */
  body: Record<string, unknown> | undefined;
}

/**
 * Lays endpoint params out on an HTTP request the way the server reads them:
 * path params into the path; for GET/DELETE the rest into the query string;
 * otherwise the rest into a JSON body.
 */
export function buildRequest(endpoint: Pick<EndpointDescriptor, 'method' | 'path'>, params: Record<string, unknown>): RequestShape {
  const names = new Set(pathParamNames(endpoint.path));
  let path = endpoint.path;
  for (const name of names) {
    const v = params[name];
    if (v === undefined || v === null || v === '') throw new Error(`missing path parameter "${name}"`);
    path = path.replace(`{${name}}`, encodeURIComponent(String(v)));
  }
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) if (!names.has(k) && v !== undefined) rest[k] = v;
  if (endpoint.method === 'GET' || endpoint.method === 'DELETE') {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(rest)) q.append(k, typeof v === 'string' ? v : JSON.stringify(v));
    return { method: endpoint.method, path, query: q.toString(), body: undefined };
  }
  return { method: endpoint.method, path, query: '', body: rest };
}
