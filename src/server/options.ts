/**
 * The public options of createInternalPort(). This file is the contract
 * between the server module and the services that embed it (see
 * examples/demo-service): change it only together with them.
 */
import type { Registry } from 'prom-client';
import type { AuditLogOptions } from './audit/audit-log.js';
import type { VerifyLimits } from './auth/verify-admission.js';
import type { ApprovalPolicy, JsonSchema, Role, Scope, HttpMethod, FlagType, FlagValue, FlagView } from '../protocol/index.js';

export type { FlagType, FlagValue, FlagView };

export interface FlagDefinition {
  name: string;
  type: FlagType;
  default: FlagValue;
  description: string;
  /** Inclusive bounds of integer and number flags (integers for an integer flag). percentage is always 0..100. */
  min?: number;
  max?: number;
  /** For string flags: the allowed values. */
  enum?: string[];
}

/** A flag's stored state. */
export interface StoredFlag {
  value: FlagValue;
  updatedBy: string | null;
  updatedAt: string | null;
}

/**
 * One committed change of a flag, as a store or the FlagReader reports it.
 * `previous` is the value before the change when known (undefined when the
 * flag had never been stored, or the store's notification does not carry it).
 */
export interface FlagChange {
  name: string;
  value: FlagValue;
  previous: FlagValue | undefined;
  updatedBy: string | null;
  updatedAt: string | null;
}

/** Stops a subscription; calling it twice is harmless. */
export type Unsubscribe = () => void;

/**
 * Where flag values live. The default is a JSON file written atomically
 * (FileFlagStore); a store shared by several replicas (PostgreSQL) also
 * implements `subscribe`, so that a change made on one replica reaches the
 * others.
 */
export interface FlagStore {
  load(): Promise<Record<string, StoredFlag>>;
  save(name: string, flag: StoredFlag): Promise<void>;
  /**
   * Calls `listener` once for every change committed to the store after
   * load() resolved, in commit order — changes saved through this store
   * object and, for a shared store, changes saved by other processes. A
   * store may report this process's own save() again (the FlagService
   * recognises and ignores a change it already applied). Listeners are
   * called synchronously or from the store's own event loop turn; one that
   * throws does not stop the others. Optional: a store without it only sees
   * its own process's changes, which is all a single-instance store needs.
   */
  subscribe?(listener: (change: FlagChange) => void): Unsubscribe;
  /**
   * True when every replica of the service reads the same values (a
   * database, e.g. PostgresFlagStore). Then the catalog publishes the flag
   * endpoints as service-scoped, so a fleet-wide CLI writes a flag once;
   * otherwise (the default file store) each instance has its own values and
   * a write must go to every host.
   */
  readonly shared?: boolean;
}

/** Read access a service uses to act on its flags (e.g. in request handlers). */
export interface FlagReader {
  /** The current value; throws for a flag that is not defined. */
  get(name: string): FlagValue;
  /** The flag object (type, bounds, who/when) as flags.get answers; undefined for an unknown name. */
  view(name: string): FlagView | undefined;
  /** Every defined flag, in definition order. */
  list(): FlagView[];
  /**
   * Calls `listener` after every change that became visible through get():
   * a flags.set on this port, or (with a store that implements subscribe) a
   * change made on another replica. A set that keeps the value but records a
   * new who/when is a change too. Returns the function that unsubscribes.
   */
  subscribe(listener: (change: FlagChange) => void): Unsubscribe;
  /** Called when a flag's value changes (not for a set to the same value). Kept for existing services; prefer subscribe. */
  on(event: 'change', listener: (name: string, value: FlagValue) => void): void;
}

/** A migration as umzug reports it. */
export interface MigrationMeta {
  name: string;
}

/**
 * The job a migration runs in, as up() and down() get it (second argument):
 * a migrator that runs something external (a command) writes its output to
 * the job's log and may stop on `signal`. umzug ignores it.
 */
export interface MigrationJob {
  log(message: string, level?: 'info' | 'warn' | 'error'): void;
  /** Aborted when an operator cancels the job or the port shuts down. */
  signal: AbortSignal;
  /** Fields for the job's final audit record (JobContext.auditResult), e.g. a command's exit status. */
  auditResult?(fields: Record<string, string | number | boolean | null>): void;
}

/**
 * What the migrations plugin needs from a migrator. An `Umzug` instance
 * satisfies it as is (executed/pending/up/down, and the 'migrating',
 * 'migrated', 'reverting', 'reverted' events via `on`).
 */
export interface MigratorLike {
  executed(): Promise<MigrationMeta[]>;
  pending(): Promise<MigrationMeta[]>;
  up(options?: { to?: string }, job?: MigrationJob): Promise<MigrationMeta[]>;
  down(options?: { to?: string | 0 }, job?: MigrationJob): Promise<MigrationMeta[]>;
  on?(event: 'migrating' | 'migrated' | 'reverting' | 'reverted', listener: (ev: { name: string }) => void): unknown;
  off?(event: 'migrating' | 'migrated' | 'reverting' | 'reverted', listener: (ev: { name: string }) => void): unknown;
}

/**
 * A lock that lives where the data lives (the database), so two operators or
 * two replicas never migrate at once. acquire() must be atomic in the store.
 */
export interface MigrationLock {
  acquire(holder: string): Promise<{ acquired: true } | { acquired: false; holder: string; since?: string }>;
  release(holder: string): Promise<void>;
}

export interface MigrationsOptions {
  migrator: MigratorLike;
  lock: MigrationLock;
}

export interface JobContext {
  /** Aborted when an operator cancels the job (cooperative cancel). */
  signal: AbortSignal;
  /** Reports progress: a fraction 0..1, or counts with an optional message. */
  progress(update: number | { current: number; total: number; message?: string }): void;
  log(message: string, level?: 'info' | 'warn' | 'error'): void;
  /** Who started the job. */
  principal: Principal;
  /**
   * Adds fields to the `result` of the job's final audit record (e.g. a
   * command's exit status): small scalars only, merged over earlier calls.
   * Present on every job the port runs; optional for hand-made contexts.
   */
  auditResult?(fields: Record<string, string | number | boolean | null>): void;
}

export interface TaskDefinition {
  name: string;
  summary: string;
  description?: string;
  role: Role;
  destructive: boolean;
  params: JsonSchema;
  scope?: Scope;
  /** Require a second person's approval before the task runs (src/server/README.md, "Approvals"). */
  approval?: ApprovalPolicy;
  handler(params: Record<string, unknown>, ctx: JobContext): Promise<unknown>;
  /**
   * Answers a dry-run (Opsctl-Dry-Run: 1) with what the task would do, without
   * doing it. Params are validated already. Optional: without it a dry-run
   * answers with the validated params only.
   */
  dryRun?(params: Record<string, unknown>, ctx: RequestContext): Promise<unknown> | unknown;
}

export interface Principal {
  /** The allowlist comment: who the key belongs to. */
  name: string;
  role: Role;
  keyid: string;
  /** Set when the role in effect comes from a grant (see `grants`): its id, which the audit records carry. */
  grantId?: string;
  /** With grantId: who gave that grant (its `grantedBy`). */
  grantedBy?: string;
  /**
   * Whom the key acts for when approvals count persons (src/server/README.md,
   * "Approvals count persons"): the allowlist name of an allowlisted key; for
   * a key known only through a grant, the person who created the grant.
   * Undefined means `name`.
   */
  person?: string;
  /** The persons the role in effect comes from through grants (the granter, and theirs up the chain); empty without a grant. */
  derivedFrom?: string[];
}

export interface RequestContext {
  principal: Principal;
  requestId: string;
  reason: string | undefined;
}

/**
 * What a registered endpoint says about itself in the catalog. Summary, role
 * and params schema are required: no shadow API.
 */
export interface EndpointMeta {
  id: string;
  method: HttpMethod;
  path: string;
  summary: string;
  description?: string;
  role: Role;
  destructive?: boolean;
  params: JsonSchema;
  scope?: Scope;
  /** Require a second person's approval before it runs (src/server/README.md, "Approvals"). */
  approval?: ApprovalPolicy;
}

/** A service's own endpoint: it appears in the catalog like the standard ones. */
export interface CustomEndpoint extends EndpointMeta {
  /** For job: false, the JSON response body (or `textAnswer(text)` for text/plain). */
  handler?(params: Record<string, unknown>, ctx: RequestContext): Promise<unknown> | unknown;
  /**
   * Checks of the params beyond their JSON Schema (throw a ProblemError,
   * normally 400 request.invalid). Runs in the authorize stage, after the
   * role and the schema: a refusal is recorded as `denied` and nothing is
   * accepted, held or run — a dry-run and an approval see it too.
   */
  validate?(params: Record<string, unknown>): void;
  /** For job endpoints: runs as a server-owned job (202 {jobId}). */
  job?(params: Record<string, unknown>, ctx: JobContext): Promise<unknown>;
  /**
   * For job endpoints: runs in the request, before the job starts, to take
   * what the job needs (a lock): a ProblemError refuses the request (409
   * conflict.locked) and no job starts; the function it returns runs when
   * the job has ended, whatever the outcome (give the lock back).
   */
  beforeJob?(params: Record<string, unknown>, ctx: RequestContext): Promise<(() => Promise<void> | void) | void> | (() => Promise<void> | void) | void;
  /** What a dry-run (Opsctl-Dry-Run: 1) answers as "would change"; without it, the validated params. */
  dryRun?(params: Record<string, unknown>, ctx: RequestContext): Promise<unknown> | unknown;
}

/**
 * Approvals of held requests (src/server/README.md, "Approvals and dry-run").
 * `endpoints` sets a policy per endpoint id for the standard endpoints (a
 * service's own endpoints and tasks carry theirs as `approval`).
 */
export interface ApprovalsOptions {
  endpoints?: Record<string, ApprovalPolicy>;
  /** How long a held request waits for its approvals (default 3600). */
  expirySeconds?: number;
  /** Pending approvals one requester may have at once (default 10; 429 above). */
  maxPendingPerRequester?: number;
  /** Where pending approvals persist (default approvals.json next to the audit log). */
  file?: string;
}

/** A grant as a GrantStore keeps it. */
export interface StoredGrant {
  id: string;
  keyid: string;
  /** The granted key's OpenSSH public key line (ssh-ed25519 only). */
  publicKey: string;
  principal: string;
  role: Role;
  createdAt: string;
  expiresAt: string;
  grantedBy: string;
  grantedByKeyid: string | null;
  reason: string;
  revokedAt?: string;
  revokedBy?: string;
  approvalId?: string;
  /** Set once the expiry audit record was written (exactly once, across replicas too). */
  expiryRecordedAt?: string;
  /**
   * Whom a key on no allowlist acts for under this grant: the person who
   * created it (for an access request, the requester's person). Absent in
   * grants stored before persons were counted (then `grantedBy`).
   */
  actsFor?: string;
  /** Every person the grant's authority comes from (its granters, and theirs up the chain). */
  derivedFrom?: string[];
  /** The grants it was made under: it ends when any of them ends (revoked or expired). */
  parents?: string[];
  /** Set on a grant revoked because a grant it was made under ended: that grant's id. */
  endedWith?: string;
}

/**
 * Where grants live. The default is a JSON file in the data dir (one
 * instance); a store shared by every replica (a database) makes a grant and
 * its revocation hold on all of them. Writes must be atomic in the store:
 * revoke() and claimExpiry() are conditional updates, so two replicas never
 * both revoke or both record an expiry.
 */
export interface GrantStore {
  /** True when every replica reads this same store. */
  readonly shared: boolean;
  load(): Promise<StoredGrant[]>;
  insert(grant: StoredGrant): Promise<void>;
  /**
   * Marks the grant revoked if it is neither revoked nor expired; the updated
   * grant, or undefined when it was not active. `endedWith` names the grant
   * whose end ended this one (a revocation that cascades), kept as `endedWith`.
   */
  revoke(id: string, revokedBy: string, revokedAt: string, endedWith?: string): Promise<StoredGrant | undefined>;
  /** True for exactly one caller per grant: that caller writes the expiry record. */
  claimExpiry(id: string, at: string): Promise<boolean>;
  /** Forgets grants that ended before `before`. */
  prune(before: string): Promise<void>;
  /**
   * The grants of one key as stored right now, plus every grant they were
   * made under (`parents`, recursively), so that a parent ended on another
   * replica ends them too. A shared store that has it is asked before each
   * request from a key that a grant could lift, so a grant created or
   * revoked on another replica counts from the next request.
   */
  forKey?(keyid: string): Promise<StoredGrant[]>;
  /** Calls back when another replica changed the store (shared stores); returns an unsubscribe function. */
  watch?(onChange: () => void): () => void;
  close?(): Promise<void>;
}

export interface GrantsOptions {
  /** Default `<audit log dir>/grants.json` (0600, replaced atomically). */
  file?: string;
  /** Another store (e.g. a database shared by the replicas); `file` is then unused. */
  store?: GrantStore;
  /** The longest grant, in seconds (default 28800 = 8 h); longer asks get 400. */
  maxTtlSeconds?: number;
  /** Role that may create, list and revoke grants (default admin). Nobody grants above their own role. */
  granterRole?: Role;
  /** How long ended grants stay listed before they are forgotten (default 86400 s). */
  retainEndedSeconds?: number;
}

/**
 * One receiver of event notifications (docs/notifications.md). Plain data
 * and file paths only, so a config file can say the same.
 */
export interface NotifyEndpointOptions {
  /**
   * How health, metrics, the audit log and `opsctl notify status` name it
   * (letters, digits, `.`, `_`, `:`, `-`); default the URL's host and port (`slack` for
   * Slack). Never the URL itself: a URL may hold a token.
   */
  name?: string;
  /**
   * `webhook` (default): Standard Webhooks, signed. `slack`: a Slack
   * incoming webhook, sent a readable message (Slack cannot verify a
   * signature, so none is sent).
   */
  kind?: 'webhook' | 'slack';
  /** http(s) URL of the receiver. */
  url?: string;
  /** A file holding the URL instead (required for Slack: its URL is the secret). */
  urlFile?: string;
  /** A file holding this endpoint's `whsec_…` secret (HMAC `v1` signatures); default `NotificationsOptions.secretFile`. */
  secretFile?: string;
  /** Which events it gets: exact types (`grant.ended`) or a family (`approval.*`); default all. */
  events?: string[];
}

/** When a failed delivery is tried again (docs/notifications.md, "Delivery"). */
export interface NotifyRetryOptions {
  /** After the first failed attempt (default 5 s); doubled after each, with ±25 % jitter. */
  firstDelaySeconds?: number;
  /** The longest pause between two attempts (default 3600). */
  maxDelaySeconds?: number;
  /** Counted from the event: the last attempt is made then, and a delivery that still fails is given up (default 97200 = 27 h; production: at least 24 h). */
  giveUpAfterSeconds?: number;
}

/**
 * Where deliveries wait until they succeed. The default is a journal file
 * in the data dir (one instance); a store every replica shares (a database)
 * makes each event delivered once for the whole fleet. `claim` must be
 * atomic in the store: a delivery is leased to one worker at a time.
 */
export interface NotifyQueueStore {
  /** True when every replica uses this same store. */
  readonly shared: boolean;
  /** Queues deliveries, ignoring ids queued before (within the store's memory of ids, at least 48 h). Resolves once they are stored. */
  enqueue(deliveries: NotifyDelivery[]): Promise<void>;
  /** Leases up to `limit` due deliveries of these endpoints to `worker` for `leaseMs`, counting an attempt on each. */
  claim(worker: string, endpoints: string[], limit: number, leaseMs: number): Promise<NotifyDelivery[]>;
  /** Delivered: never sent again. */
  complete(id: string, worker: string): Promise<void>;
  /** This attempt failed: try again at `nextAt` (the lease ends). */
  retry(id: string, worker: string, nextAt: string, failure: { status: number | null; error: string }): Promise<void>;
  /** Given up (410, or past giveUpAfterSeconds): never sent again. */
  drop(id: string, worker: string, why: string): Promise<void>;
  /** When the next delivery of these endpoints is due (ms since the epoch), undefined when none waits. */
  nextDue(endpoints: string[]): Promise<number | undefined>;
  /** Deliveries waiting, per endpoint. */
  pending(endpoints: string[]): Promise<Record<string, number>>;
  /** Calls back when another replica queued something; returns the unsubscribe function. */
  watch?(onChange: () => void): () => void;
  close?(): Promise<void>;
}

/** One queued delivery: an event for one endpoint, with the exact body every attempt sends. */
export interface NotifyDelivery {
  /** `<webhook-id>.<endpoint key>`: unique per event and endpoint. */
  id: string;
  /** The `webhook-id`: the event's id, the same on every attempt and for every endpoint. */
  msgId: string;
  /** The endpoint's key (a hash of its service, kind, name and URL). */
  endpoint: string;
  type: string;
  body: string;
  createdAt: string;
  /** Attempts made so far. */
  attempts: number;
  nextAt: string;
}

/** Event notifications: Standard Webhooks and Slack (docs/notifications.md). */
export interface NotificationsOptions {
  endpoints: NotifyEndpointOptions[];
  /** The default `whsec_…` secret file of every webhook endpoint (each may name its own). Without one, only Ed25519 (`v1a`) signatures are sent. */
  secretFile?: string;
  /** Ed25519 private key (PKCS#8 PEM, or `whsk_…`) of the `v1a` signatures; default `<audit log dir>/notify-signing-key.pem`, generated 0600 at first start. */
  signingKeyFile?: string;
  /**
   * The start of the command an event tells a person to run: the port
   * cannot know the operator's context name. Default `opsctl --context <service name>`.
   */
  command?: string;
  /** grant.expiring is sent this long before a grant ends (default 600). Grants no longer than that get none. */
  grantExpiringLeadSeconds?: number;
  /** The default store's journal (default `<audit log dir>/notify-queue.jsonl`). */
  file?: string;
  /** A shared store (e.g. PostgresNotifyQueue from opsctl/server/postgres); `file` is then unused. */
  store?: NotifyQueueStore;
  /** One attempt's limit, connecting to reading the status (default 10). */
  timeoutSeconds?: number;
  /** Attempts in flight per endpoint (default 2). */
  concurrency?: number;
  /** Failed attempts in a row that make health `degraded` (default 5). */
  failureThreshold?: number;
  retry?: NotifyRetryOptions;
  /** How often a shared store is asked for due deliveries besides its change notices (default 2). */
  pollSeconds?: number;
}

/**
 * The OFREP listener (OpenFeature Remote Evaluation Protocol): the port's
 * flags, read-only and unsigned, for a service in any language through its
 * OpenFeature SDK's OFREP provider. src/server/README.md, "OFREP", has the
 * endpoints and the threat model.
 */
export interface OfrepOptions {
  /**
   * Where it listens: `unix:/absolute/path.sock`, or loopback TCP as
   * `127.0.0.1:PORT`, `[::1]:PORT` or `localhost:PORT` (port 0: a free one).
   * Anything else is refused at start, with no override: every local process
   * that can reach the listener reads every flag.
   */
  listen: string;
  /**
   * Mode of a `unix:` socket: `'0600'` (default: the service's own user) or
   * `'0660'` (its group too, e.g. a sidecar's service running as another
   * user of a shared group). A socket file left by a crashed process is
   * replaced; a live socket or any other file at the path refuses the start.
   */
  socketMode?: '0600' | '0660';
}

export type HealthCheck = () => Promise<boolean | { ok: boolean; detail?: string }> | boolean | { ok: boolean; detail?: string };

export interface InternalPortOptions {
  service: { name: string; version: string };
  /** Default 127.0.0.1. Anything not loopback is refused unless allowNonLoopback. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  /** Listen on a unix socket instead (created 0600). */
  socketPath?: string;
  allowNonLoopback?: boolean;
  /** authorized_keys-style allowlist; reloaded when it changes. Required, non-empty. */
  authorizedKeysFile: string;
  /** JSON Lines audit log, 0600, hash-chained. Required. */
  auditLogFile: string;
  /** Checkpoint signing key and cadence, denial rate limit (src/server/README.md, "Audit log"). */
  audit?: AuditLogOptions;
  /** ± window for the signature's `created` (default 60). */
  clockSkewSeconds?: number;
  /**
   * Failed signature verifies allowed per keyid (default burst 20, 5/s) and
   * per connection (burst 10, 2/s) before requests naming that keyid or on
   * that connection are refused unverified with 429 `limit.auth`; only
   * failures spend. Such a refusal is held `holdRefusalMs` (default 1000,
   * 0–10000) before it is answered, so a flood slows down (src/server/README.md,
   * "Performance of the internal port").
   */
  verifyLimits?: VerifyLimits;
  /**
   * Where each request's Ed25519 verify runs. 0 (default): on the event
   * loop, right after the admission check: the cheapest in CPU (a trip
   * through libuv's thread pool costs the process more than it takes off
   * the loop, measured in src/server/README.md, "Performance of the internal
   * port"); request starts are paced, two per event-loop turn, so the
   * service's own listeners wait for at most two verifies. N > 0: on the
   * thread pool, at most N at a time, for a service whose own requests must
   * never wait behind a verify and that has the CPU to spare.
   */
  verifyOnThreadPool?: number;
  /**
   * The replay cache's cap is `noncesPerSecond` × a nonce's lifetime
   * (2 × clockSkewSeconds): default 5,000, i.e. 600,000 nonces (≈ 60 bytes
   * each) at ±60 s. A sustained signed rate above it gets 503 `server.busy`;
   * a live nonce is never evicted (src/server/README.md, "Performance").
   */
  replayCache?: { noncesPerSecond?: number };
  /** Default 1 MiB. */
  bodyLimitBytes?: number;
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  maxConcurrentJobs?: number;
  /**
   * Most connections held open at once (default 128). At the cap a new
   * connection evicts the oldest idle one, so idle or slow sockets cannot
   * lock out a real request. Keep it well below the process's fd limit.
   */
  maxConnections?: number;
  /**
   * Job slots kept for a role and those above it, so lower roles cannot fill
   * them: default `{admin: 1}` (with maxConcurrentJobs ≥ 2), i.e. operators'
   * tasks can never starve an admin's migration. `{}` keeps none.
   */
  reservedJobSlots?: { operator?: number; admin?: number };
  /** On close(), how long running jobs get to stop after their AbortSignal fires (default 10 000). */
  shutdownGraceMs?: number;
  /** Require --reason (Opsctl-Reason) for destructive endpoints. */
  requireReasonForDestructive?: boolean;
  flags?: { definitions: FlagDefinition[]; store?: FlagStore; file?: string };
  migrations?: MigrationsOptions;
  tasks?: TaskDefinition[];
  /** The service's own prom-client registry, merged into /v1/metrics. */
  metricsRegistry?: Registry;
  /**
   * More metrics as Prometheus text exposition (e.g. scraped from another
   * process), read on every GET /v1/metrics and served after the port's
   * own; a family whose name the port or metricsRegistry already has is
   * dropped (with a warning in the log), as is any line that is not valid
   * exposition. A failure or a promise still pending after 2 s serves the
   * rest without it.
   */
  metricsText?: () => Promise<string> | string;
  healthChecks?: Record<string, HealthCheck>;
  endpoints?: CustomEndpoint[];
  approvals?: ApprovalsOptions;
  /** Short-lived access for keys (grants.* endpoints); on by default with a file store. */
  grants?: GrantsOptions;
  /** Signed event notifications to webhooks and Slack (docs/notifications.md); off unless given. */
  notifications?: NotificationsOptions;
  /** Serve the flags over OFREP on a second, read-only listener (started after the port listens, closed by close()). */
  ofrep?: OfrepOptions;
  /** Where the port logs operational messages (never secrets). Default: stderr. */
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

export interface InternalPort {
  /** `host:port` or the socket path. */
  readonly address: string;
  readonly host: string | undefined;
  readonly port: number | undefined;
  /** This instance's random id, new at every start: clients sign it as Opsctl-Instance. */
  readonly instanceId: string;
  /** Read the current flag values from the service's own code. */
  readonly flags: FlagReader;
  /** The OFREP listener when `ofrep` was given: `host:port` or the socket path (an OFREP provider's base URL is `http://` + a TCP address). */
  readonly ofrep?: { readonly address: string; readonly host: string | undefined; readonly port: number | undefined };
  /**
   * Replaces the service's own parts while the port runs (a configuration
   * reloaded from a file): each part given replaces the one in the options
   * as a whole. All or nothing: every endpoint is checked as at start (and
   * against the standard ones) before anything changes; an invalid set
   * throws InternalPortConfigError and the running set stays. A request
   * already routed finishes with the endpoint it matched; a held request
   * (approvals) runs against the endpoint serving its path when approved.
   */
  reconfigure(parts: ReconfigureParts): void;
  close(): Promise<void>;
}

/** The parts of InternalPortOptions that InternalPort.reconfigure() can replace. */
export interface ReconfigureParts {
  endpoints?: CustomEndpoint[];
  healthChecks?: Record<string, HealthCheck>;
  metricsText?: (() => Promise<string> | string) | undefined;
}
