/**
 * The configuration as the YAML says it, once it passed the schema
 * (config/schema.ts is the source of truth; these types follow it).
 */
import type { ApprovalPolicy, JsonSchema, Role, Scope, HttpMethod } from '../../protocol/index.js';
import type { FlagDefinition } from '../../server/options.js';

export type SecretRef = { file: string } | { env: string };
export type Duration = number | string;

export interface EnvSpec {
  inherit?: string[];
  set?: Record<string, string | SecretRef>;
}

export interface CommandSpec {
  argv: string[];
  cwd?: string;
  env?: EnvSpec;
  user?: string | number;
  group?: string | number;
  timeout?: Duration;
}

export interface HttpAdaptorSpec {
  upstream: string;
  method?: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string>;
  body?: 'params' | 'none' | { param: string; contentType?: string } | { json: unknown };
  headers?: Record<string, string | SecretRef>;
  host?: string;
  timeout?: Duration;
  maxResponseBytes?: number;
}

export interface ExecAdaptorSpec extends CommandSpec {
  stdin?: string;
  lock?: string;
  killGrace?: Duration;
  allowOptionLikeParams?: boolean;
}

export interface SocketAdaptorSpec {
  path: string;
  command: string;
  timeout?: Duration;
  maxResponseBytes?: number;
  answer?: 'text' | 'json' | 'csv';
  errorPattern?: string;
}

export interface EndpointSpec {
  id: string;
  summary: string;
  description?: string;
  role: Role;
  destructive?: boolean;
  scope?: Scope;
  params?: JsonSchema;
  approval?: ApprovalPolicy;
  method?: HttpMethod;
  path?: string;
  http?: HttpAdaptorSpec;
  exec?: ExecAdaptorSpec;
  socket?: SocketAdaptorSpec;
}

export interface StatusParse {
  regex?: string;
  order?: 'oldest-first' | 'newest-first';
  json?: { items?: string; name: string; applied: string };
}

export interface MigrationsSpec {
  status: CommandSpec & { parse?: StatusParse };
  up: CommandSpec;
  down: CommandSpec & { base?: string };
  progress?: string | { up?: string; down?: string };
  lock?: { postgres?: { url: SecretRef } };
}

export interface HealthSpec {
  http?: { upstream: string; path: string; expectStatus?: number; host?: string; timeout?: Duration };
  exec?: CommandSpec;
  socket?: { path: string; command: string; expect?: string; timeout?: Duration };
}

export interface StoreSpec {
  file?: string;
  postgres?: { url: SecretRef };
}

export interface NotifyEndpointSpec {
  name?: string;
  kind?: 'webhook' | 'slack';
  url: SecretRef;
  events?: string[];
  secret?: { file: string };
}

export interface NotifySpec {
  endpoints: NotifyEndpointSpec[];
  secret?: { file: string };
  signingKeyFile?: string;
  command?: string;
  grantExpiringLeadSeconds?: number;
  timeoutSeconds?: number;
  concurrency?: number;
  failureThreshold?: number;
  pollSeconds?: number;
  retry?: { firstDelaySeconds?: number; maxDelaySeconds?: number; giveUpAfterSeconds?: number };
  store?: StoreSpec;
}

export interface SidecarConfig {
  service: { name: string; version: string };
  host?: string;
  port?: number;
  socket?: string;
  authorizedKeys: string;
  dataDir: string;
  auditLog?: string;
  audit?: {
    signingKeyFile?: string;
    checkpointEvery?: number;
    checkpointSeconds?: number;
    denials?: { perSecond?: number; burst?: number };
    sinks?: string[];
  };
  limits?: {
    bodyBytes?: number;
    headersTimeoutMs?: number;
    requestTimeoutMs?: number;
    maxConnections?: number;
    shutdownGraceMs?: number;
    clockSkewSeconds?: number;
  };
  jobs?: { maxConcurrent?: number; reservedSlots?: { operator?: number; admin?: number } };
  requireReasonForDestructive?: boolean;
  flags?: { definitions: FlagDefinition[]; store?: StoreSpec };
  approvals?: { endpoints?: Record<string, ApprovalPolicy>; expirySeconds?: number; maxPendingPerRequester?: number };
  grants?: { maxTtlSeconds?: number; granterRole?: Role; retainEndedSeconds?: number; store?: StoreSpec };
  ofrep?: { listen: string; socketMode?: '0600' | '0660' };
  notify?: NotifySpec;
  endpoints?: EndpointSpec[];
  migrations?: MigrationsSpec;
  health?: Record<string, HealthSpec>;
  metrics?: { upstream?: { upstream: string; path: string; host?: string; timeout?: Duration; maxResponseBytes?: number } };
  log?: { format?: 'text' | 'json' };
}
