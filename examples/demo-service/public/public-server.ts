import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ProblemError, PROBLEM_CONTENT_TYPE } from '../../../src/protocol/index.js';
import type { Logger } from '../logger.js';
import { createRoutes, guard, type RouteDeps } from './routes.js';

/** Public bodies are small JSON documents. */
const BODY_LIMIT = 64 * 1024;

export interface PublicServer {
  host: string;
  port: number;
  close(): Promise<void>;
}

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendProblem(res: http.ServerResponse, e: ProblemError): void {
  const headers: Record<string, string> = { 'content-type': PROBLEM_CONTENT_TYPE };
  if (e.code === 'service.maintenance') headers['retry-after'] = '60';
  if (e.status === 413) headers.connection = 'close';
  const text = JSON.stringify(e.toJSON());
  res.writeHead(e.status, { ...headers, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > BODY_LIMIT) {
      reject(new ProblemError('request.too_large', `body larger than ${BODY_LIMIT} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > BODY_LIMIT) {
        req.removeAllListeners('data');
        reject(new ProblemError('request.too_large', `body larger than ${BODY_LIMIT} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The public HTTP API: plain JSON, no auth (it is the demo's customer-facing side). */
export async function startPublicServer(opts: RouteDeps & { host: string; port: number; log: Logger }): Promise<PublicServer> {
  const routes = createRoutes(opts);
  const { metrics, log } = opts;

  const server = http.createServer(async (req, res) => {
    const started = process.hrtime.bigint();
    const url = new URL(req.url ?? '/', 'http://public.invalid');
    let routeLabel = 'unmatched';
    try {
      const candidates = routes.filter((r) => r.pattern.test(url.pathname));
      if (!candidates.length) throw new ProblemError('not_found', `no route ${url.pathname}`);
      const route = candidates.find((r) => r.method === req.method);
      if (!route) {
        res.setHeader('allow', candidates.map((r) => r.method).join(', '));
        throw new ProblemError('method_not_allowed', `${req.method} is not allowed on ${url.pathname}`);
      }
      routeLabel = route.route;
      const raw = req.method === 'POST' ? await readBody(req) : Buffer.alloc(0);
      let body: unknown;
      if (raw.length) {
        try {
          body = JSON.parse(raw.toString('utf8'));
        } catch {
          throw new ProblemError('request.invalid', 'body is not valid JSON', { field: '' });
        }
      }
      await guard(route, opts);
      const out = await route.handle({ params: { ...route.pattern.exec(url.pathname)!.groups }, query: url.searchParams, body });
      send(res, out.status, out.body);
    } catch (e) {
      if (e instanceof ProblemError) {
        sendProblem(res, e);
      } else {
        // Details go to the log; the client gets no stack trace or SQL.
        log('error', `public ${req.method} ${url.pathname}: ${(e as Error)?.message ?? String(e)}`);
        sendProblem(res, new ProblemError('internal', 'internal error'));
      }
    } finally {
      metrics.publicRequests.inc({ route: routeLabel, status: String(res.statusCode) });
      metrics.publicRequestDuration.observe({ route: routeLabel }, Number(process.hrtime.bigint() - started) / 1e9);
    }
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new Error(`public API cannot listen on ${opts.host}:${opts.port}: ${e.message}`)));
    server.listen(opts.port, opts.host, () => {
      server.removeAllListeners('error');
      resolve();
    });
  });
  server.on('error', (e) => log('error', `public server: ${e.message}`));
  const addr = server.address() as AddressInfo;
  return {
    host: addr.address,
    port: addr.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
