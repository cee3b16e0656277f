/**
 * The doctor's checks, hop by hop along the route a command takes: config,
 * identity, each SSH hop, the internal port, the protocol, the clock. Each
 * returns what it found or throws the error a real command would have hit,
 * so the exit code comes from the one error mapping of the CLI.
 */
import fs from 'node:fs';
import { verify } from 'node:crypto';
import type { Factory } from '../../factory.js';
import type { ResolvedContext } from '../../config/resolve-context.js';
import type { Identity } from '../../identity/types.js';
import type { Tunnel, TunnelTarget, Hop } from '../../transport/types.js';
import type { Client } from '../../client/client.js';
import { ed25519KeyFromBlob, parseOpenSshPublicKey } from '../../../protocol/fingerprint.js';
import { PROTOCOL_VERSION, type Catalog } from '../../../protocol/catalog.js';
import type { WhoamiResponse } from '../../../protocol/whoami.js';
import { OperationError } from '../../errors/operation-error.js';
import type { CheckResult } from './check-list.js';

/** Signatures are accepted within ±60 s (docs/protocol.md); warn well before. */
export const SKEW_WARN_SECONDS = 30;
export const SKEW_FAIL_SECONDS = 60;

const since = (t0: number) => Math.round(performance.now() - t0);

export function hopAddress(h: Hop): string {
  const host = h.host.includes(':') ? `[${h.host}]` : h.host;
  return `${h.user}@${host}:${h.port}`;
}

export async function checkConfig(f: Factory): Promise<{ result: CheckResult; ctx: ResolvedContext }> {
  const file = f.configPath();
  const exists = fs.existsSync(file);
  const ctx = await f.context();
  const where = exists ? file : `${file} (not found: target from flags)`;
  const route = [...ctx.bastions.map((b) => `bastion ${b}`), `host ${ctx.hosts.join(',')}`, `port ${ctx.port}`].join(' → ');
  return {
    ctx,
    result: { check: 'config', label: 'config', status: 'ok', detail: `${ctx.name ? `context "${ctx.name}" from ` : ''}${where}: ${route}` },
  };
}

function identityWhere(identity: Identity, env: Record<string, string | undefined>): string {
  const spec = identity.spec;
  switch (spec.kind) {
    case 'keychain':
      return `keychain:${spec.name} (OS keychain reachable)`;
    case 'agent':
      return `ssh-agent at ${env.SSH_AUTH_SOCK ?? '?'} holds the key`;
    case 'file': {
      const mode = (fs.statSync(spec.path).mode & 0o777).toString(8).padStart(4, '0');
      return `key file ${spec.path} (mode ${mode})`;
    }
  }
}

/** Loads the identity and proves it can sign (the agent really holds the key). */
export async function checkIdentity(f: Factory): Promise<{ result: CheckResult; identity: Identity }> {
  const t0 = performance.now();
  const identity = await f.identity();
  const probe = Buffer.from(`opsctl doctor ${Date.now()}`);
  const signature = await identity.sign(probe);
  const pub = ed25519KeyFromBlob(parseOpenSshPublicKey(identity.publicKeyLine).blob);
  if (!verify(null, probe, pub, signature)) throw new OperationError(`identity ${identity.keyid}: the signature does not verify with its own public key`);
  return {
    identity,
    result: { check: 'identity', label: 'identity', status: 'ok', detail: `${identityWhere(identity, f.io.env)}, ${identity.keyid}, signs`, ms: since(t0) },
  };
}

/** Opens a fresh SSH route (never a reused `opsctl tunnel`: every hop is tested). */
export async function openRoute(f: Factory, target: TunnelTarget, identity: Identity, acceptHostKeys: string[] = []): Promise<{ tunnel: Tunnel; results: CheckResult[] }> {
  const { openTunnel } = await import('../../transport/connect.js');
  // The same host-key question as every other command (on a terminal).
  const promptHostKey = f.hostKeyPrompt(target.knownHostsFiles[0]!);
  const tunnel = await openTunnel(target, identity, {
    log: (m) => f.debug(m),
    warn: (m) => f.io.stderr.write(`opsctl: warning: ${m}\n`),
    note: (m) => f.io.stderr.write(`opsctl: ${m}\n`),
    ...(acceptHostKeys.length ? { acceptHostKeys } : {}),
    ...(promptHostKey ? { promptHostKey } : {}),
  });
  const results = tunnel.hops.map(
    (h): CheckResult => ({ check: h.kind, label: `${h.kind} ${h.hop.name}`, status: 'ok', detail: `${hopAddress(h.hop)} ssh ok`, ms: h.ms }),
  );
  return { tunnel, results };
}

interface HealthBody {
  service?: string;
  version?: string;
  status?: string;
  time?: string;
  checks?: Record<string, { ok: boolean; detail?: string }>;
}

export interface InternalPortFindings {
  refused?: false;
  result: CheckResult;
  health: HealthBody;
  /** Server time minus local time at the middle of the request, and its uncertainty. */
  skewMs: number | undefined;
  uncertaintyMs: number;
}

/** A request the server refused; `dateSkewMs` from its Date header (to explain auth.expired). */
export interface RefusedHealth {
  refused: true;
  problem: Error & { code?: string };
  dateSkewMs: number | undefined;
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** A signed GET /v1/health through the tunnel. Throws the tunnel's error; an HTTP error comes back as RefusedHealth. */
export async function checkInternalPort(client: Client, target: TunnelTarget): Promise<InternalPortFindings | RefusedHealth> {
  const t0 = performance.now();
  const sent = Date.now();
  const res = await client.send({ method: 'GET', path: '/v1/health' });
  const received = Date.now();
  const ms = since(t0);
  const middle = (sent + received) / 2;
  if (res.status >= 400) {
    const { problemFromResponse } = await import('../../client/client.js');
    const date = Date.parse(header(res.headers.date) ?? '');
    return { refused: true, problem: problemFromResponse(res, res.body), dateSkewMs: Number.isFinite(date) ? date - middle : undefined };
  }
  const health = JSON.parse(res.body.toString('utf8')) as HealthBody;
  const serverTime = health.time ? Date.parse(health.time) : NaN;
  const status = health.status ?? 'ok';
  const failing = Object.entries(health.checks ?? {})
    .filter(([, c]) => !c.ok)
    .map(([name, c]) => (c.detail ? `${name} (${c.detail})` : name));
  return {
    health,
    skewMs: Number.isFinite(serverTime) ? serverTime - middle : undefined,
    uncertaintyMs: (received - sent) / 2,
    result: {
      check: 'internal-port',
      label: `internal port ${target.internalHost ?? '127.0.0.1'}:${target.internalPort}`,
      status: status === 'ok' ? 'ok' : 'warn',
      detail: `signed GET /v1/health: ${health.service ?? '?'} ${health.version ?? ''} status ${status}${failing.length ? `: ${failing.join(', ')}` : ''}`.replace(/\s+/g, ' '),
      ms,
    },
  };
}

/** Who the server thinks the key is (GET /v1/whoami); a server without the endpoint is a warning. */
export async function checkRole(client: Client): Promise<CheckResult> {
  const t0 = performance.now();
  const res = await client.send({ method: 'GET', path: '/v1/whoami' });
  const ms = since(t0);
  if (res.status === 404) return { check: 'role', label: 'role', status: 'warn', detail: 'this server does not answer GET /v1/whoami (older than this opsctl)', ms };
  if (res.status >= 400) {
    const { problemFromResponse } = await import('../../client/client.js');
    throw problemFromResponse(res, res.body);
  }
  const me = JSON.parse(res.body.toString('utf8')) as WhoamiResponse;
  return { check: 'role', label: 'role', status: 'ok', detail: `${me.role} as "${me.principal}" (${me.keyid})`, ms };
}

export async function checkProtocol(client: Client): Promise<{ result: CheckResult; catalog: Catalog }> {
  const t0 = performance.now();
  const catalog = await client.catalog();
  const ms = since(t0);
  const detail = `${catalog.service} ${catalog.version}: protocol ${String(catalog.protocol)}, ${catalog.endpoints.length} endpoints`;
  if (catalog.protocol !== PROTOCOL_VERSION) {
    return { catalog, result: { check: 'protocol', label: 'protocol', status: 'fail', detail: `${detail}; this opsctl speaks protocol ${PROTOCOL_VERSION}`, ms } };
  }
  return { catalog, result: { check: 'protocol', label: 'protocol', status: 'ok', detail, ms } };
}

export function checkClockSkew(p: InternalPortFindings): CheckResult {
  if (p.skewMs === undefined) return { check: 'clock-skew', label: 'clock skew', status: 'warn', detail: 'the server did not report its time' };
  const s = p.skewMs / 1000;
  const abs = Math.abs(s);
  const text = `${s >= 0 || abs < 0.05 ? '+' : '−'}${abs.toFixed(1)} s against the server (±${(p.uncertaintyMs / 1000).toFixed(1)} s; signatures are valid within ±${SKEW_FAIL_SECONDS} s)`;
  if (abs > SKEW_FAIL_SECONDS) return { check: 'clock-skew', label: 'clock skew', status: 'fail', detail: `${text}: fix the clock (NTP) on this machine or the server` };
  if (abs > SKEW_WARN_SECONDS) return { check: 'clock-skew', label: 'clock skew', status: 'warn', detail: `${text}: close to the limit` };
  return { check: 'clock-skew', label: 'clock skew', status: 'ok', detail: text };
}
