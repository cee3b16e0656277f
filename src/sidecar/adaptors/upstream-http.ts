import http from 'node:http';
import net from 'node:net';
import dns from 'node:dns/promises';
import { isLoopbackHost } from '../../server/listen/loopback.js';
import { causeOf, upstreamTimeout, upstreamTooLarge, upstreamUnavailable } from './upstream-errors.js';

/** Where an HTTP upstream listens: a unix socket, or a loopback address (resolved once, at load). */
export type HttpUpstream =
  | { kind: 'unix'; socketPath: string; label: string }
  | { kind: 'tcp'; host: string; port: number; label: string };

/**
 * Parses `unix:/path.sock` or `http://HOST:PORT`; a host name must resolve
 * to loopback addresses only, and the address (not the name) is used from
 * then on, so a later change of /etc/hosts cannot send requests elsewhere.
 * Throws an Error saying what is wrong.
 */
export async function resolveUpstream(spec: string, resolvePath: (p: string) => string): Promise<HttpUpstream> {
  if (spec.startsWith('unix:')) {
    const socketPath = resolvePath(spec.slice('unix:'.length));
    return { kind: 'unix', socketPath, label: `unix:${socketPath}` };
  }
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    throw new Error(`"${spec}" is not unix:/path or http://HOST:PORT`);
  }
  if (url.protocol !== 'http:') throw new Error(`"${spec}": only http:// (on loopback) or unix: upstreams`);
  if (url.username || url.password) throw new Error(`"${spec}": no credentials in the URL (use headers with a secret file)`);
  if ((url.pathname && url.pathname !== '/') || url.search || url.hash) throw new Error(`"${spec}": the upstream is an origin only; put the path in path`);
  const port = url.port ? Number(url.port) : 80;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (net.isIP(host)) {
    if (!isLoopbackHost(host)) throw new Error(`"${spec}" is not on loopback: opsctl-port forwards to this host only`);
    return { kind: 'tcp', host, port, label: `http://${url.host}` };
  }
  let addrs: Array<{ address: string }>;
  try {
    addrs = await dns.lookup(host, { all: true, verbatim: true });
  } catch (e) {
    throw new Error(`"${spec}": ${host} cannot be resolved (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
  }
  const outside = addrs.filter((a) => !isLoopbackHost(a.address));
  if (!addrs.length || outside.length) throw new Error(`"${spec}": ${host} resolves to ${outside.map((a) => a.address).join(', ') || 'nothing'}, which is not loopback`);
  return { kind: 'tcp', host: addrs[0]!.address, port, label: `http://${url.host}` };
}

/** The Host header an upstream gets unless the config says otherwise: empty for a unix socket (Caddy's admin API refuses any other). */
export function defaultHost(up: HttpUpstream): string {
  return up.kind === 'unix' ? '' : net.isIPv6(up.host) ? `[${up.host}]:${up.port}` : `${up.host}:${up.port}`;
}

export interface UpstreamRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  timeoutMs: number;
  maxBytes: number;
  /** The endpoint (or check) on whose behalf: named in errors. */
  what: string;
  signal?: AbortSignal;
}

export interface UpstreamAnswer {
  status: number;
  contentType: string;
  body: Buffer;
}

// Keep-alive connections per upstream: a proxied request does not pay a
// connect (and, for TCP, a handshake) each time.
const agents = new Map<string, http.Agent>();
function agentFor(up: HttpUpstream): http.Agent {
  let a = agents.get(up.label);
  if (!a) {
    // As many idle sockets kept as may be open: a burst would otherwise close and reopen them.
    a = new http.Agent({ keepAlive: true, maxSockets: 32, maxFreeSockets: 32, timeout: 30_000 });
    agents.set(up.label, a);
  }
  return a;
}

/**
 * One request to an upstream, within a deadline for the whole answer and a
 * size limit: refusals become upstream.unavailable (502), the deadline
 * upstream.timeout (504), an answer over the limit upstream.too_large
 * (502). Any status is returned: the caller decides what it means.
 */
export function requestUpstream(up: HttpUpstream, r: UpstreamRequest): Promise<UpstreamAnswer> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (e: Error | undefined, a?: UpstreamAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (e) reject(e);
      else resolve(a!);
    };
    const headers: Record<string, string | number> = { ...r.headers };
    if (r.body) headers['content-length'] = r.body.length;
    const req = http.request({
      ...(up.kind === 'unix' ? { socketPath: up.socketPath } : { host: up.host, port: up.port }),
      method: r.method,
      path: r.path,
      headers,
      agent: agentFor(up),
      // The Host header is ours to set (empty for Caddy's admin socket): Node must not add its own.
      setHost: false,
    });
    // Each refusal settles first, then tears the request down (whose own
    // error and close events then find the promise settled).
    const timer = setTimeout(() => {
      finish(upstreamTimeout(r.what, r.timeoutMs));
      req.destroy();
    }, r.timeoutMs);
    const onAbort = () => {
      finish(new Error('aborted'));
      req.destroy();
    };
    r.signal?.addEventListener('abort', onAbort, { once: true });
    req.once('error', (e) => finish(upstreamUnavailable(r.what, causeOf(e))));
    req.once('close', () => r.signal?.removeEventListener('abort', onAbort));
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const declared = Number(res.headers['content-length'] ?? NaN);
      if (Number.isFinite(declared) && declared > r.maxBytes) {
        finish(upstreamTooLarge(r.what, r.maxBytes));
        res.destroy();
        req.destroy();
        return;
      }
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > r.maxBytes) {
          finish(upstreamTooLarge(r.what, r.maxBytes));
          res.destroy();
          req.destroy();
          return;
        }
        chunks.push(c);
      });
      res.once('end', () => finish(undefined, { status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks) }));
      res.once('error', (e) => finish(upstreamUnavailable(r.what, causeOf(e))));
      res.once('aborted', () => finish(upstreamUnavailable(r.what, 'the connection closed before the whole answer')));
      res.once('close', () => { if (!res.complete) finish(upstreamUnavailable(r.what, 'the connection closed before the whole answer')); });
    });
    req.end(r.body);
  });
}

/** True for application/json and application/…+json. */
export function isJsonType(contentType: string): boolean {
  const t = contentType.split(';')[0]!.trim().toLowerCase();
  return t === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(t);
}
