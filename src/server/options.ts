/**
 * The public options of createInternalPort(). This file is the contract
 * between the server module and the services that embed it (see
 * examples/demo-service): change it only together with them.
 */
import type { Registry } from 'prom-client';
import type { JsonSchema, Role, Scope, HttpMethod } from '../protocol/index.js';

export type FlagType = 'boolean' | 'number' | 'string' | 'percentage';
export type FlagValue = boolean | number | string;

export interface FlagDefinition {
  name: string;
  type: FlagType;
  default: FlagValue;
  description: string;
  /** For number flags. percentage is always 0..100. */
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

/** Where flag values live. The default is a JSON file written atomically. */
export interface FlagStore {
  load(): Promise<Record<string, StoredFlag>>;
  save(name: string, flag: StoredFlag): Promise<void>;
}

/** Read access a service uses to act on its flags (e.g. in request handlers). */
export interface FlagReader {
  get(name: string): FlagValue;
  on(event: 'change', listener: (name: string, value: FlagValue) => void): void;
}

/** A migration as umzug reports it. */
export interface MigrationMeta {
  name: string;
}

/**
 * What the migrations plugin needs from a migrator. An `Umzug` instance
 * satisfies it as is (executed/pending/up/down, and the 'migrating',
 * 'migrated', 'reverting', 'reverted' events via `on`).
 */
export interface MigratorLike {
  executed(): Promise<MigrationMeta[]>;
  pending(): Promise<MigrationMeta[]>;
  up(options?: { to?: string }): Promise<MigrationMeta[]>;
  down(options?: { to?: string | 0 }): Promise<MigrationMeta[]>;
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
}

export interface TaskDefinition {
  name: string;
  summary: string;
  description?: string;
  role: Role;
  destructive: boolean;
  params: JsonSchema;
  scope?: Scope;
  handler(params: Record<string, unknown>, ctx: JobContext): Promise<unknown>;
}

export interface Principal {
  /** The allowlist comment: who the key belongs to. */
  name: string;
  role: Role;
  keyid: string;
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
}

/** A service's own endpoint: it appears in the catalog like the standard ones. */
export interface CustomEndpoint extends EndpointMeta {
  /** For job: false, the JSON response body. */
  handler?(params: Record<string, unknown>, ctx: RequestContext): Promise<unknown> | unknown;
  /** For job endpoints: runs as a server-owned job (202 {jobId}). */
  job?(params: Record<string, unknown>, ctx: JobContext): Promise<unknown>;
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
  /** ± window for the signature's `created` (default 60). */
  clockSkewSeconds?: number;
  /** Default 1 MiB. */
  bodyLimitBytes?: number;
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  maxConcurrentJobs?: number;
  /** On close(), how long running jobs get to stop after their AbortSignal fires (default 10 000). */
  shutdownGraceMs?: number;
  /** Require --reason (Opsctl-Reason) for destructive endpoints. */
  requireReasonForDestructive?: boolean;
  flags?: { definitions: FlagDefinition[]; store?: FlagStore; file?: string };
  migrations?: MigrationsOptions;
  tasks?: TaskDefinition[];
  /** The service's own prom-client registry, merged into /v1/metrics. */
  metricsRegistry?: Registry;
  healthChecks?: Record<string, HealthCheck>;
  endpoints?: CustomEndpoint[];
  /** Where the port logs operational messages (never secrets). Default: stderr. */
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

export interface InternalPort {
  /** `host:port` or the socket path. */
  readonly address: string;
  readonly host: string | undefined;
  readonly port: number | undefined;
  /** Read the current flag values from the service's own code. */
  readonly flags: FlagReader;
  close(): Promise<void>;
}
