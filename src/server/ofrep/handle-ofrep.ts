import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ProblemError } from '../../protocol/index.js';
import { discardAndClose, readBody } from '../http/read-body.js';
import { isLoopbackHost } from '../listen/loopback.js';
import type { PortLog } from '../logger.js';
import type { PortMetrics } from '../metrics/port-metrics.js';
import type { FlagReader } from '../options.js';
import { evaluateForOfrep, failureJson } from './evaluation-json.js';

const BULK_PATH = '/ofrep/v1/evaluate/flags';
/** An evaluation context is a few attributes; 64 KiB is generous and keeps a flood of large bodies cheap. */
export const OFREP_BODY_LIMIT = 64 * 1024;
const JSON_TYPE = 'application/json; charset=utf-8';

export interface OfrepHandlerOptions {
  flags: FlagReader;
  metrics: PortMetrics;
  log: PortLog;
  /** A TCP listener checks the Host header (DNS rebinding); a unix socket cannot be reached from a browser. */
  checkHost: boolean;
}

type Endpoint = 'evaluate' | 'bulk' | 'other';

/**
 * The OFREP request handler: `POST /ofrep/v1/evaluate/flags/{key}` and the
 * bulk `POST /ofrep/v1/evaluate/flags`, read-only, answered from the port's
 * FlagReader (the one source of the flags' values). Every other path is 404
 * and every other method 405. Answers are application/json, never a stack
 * trace. src/server/README.md, "OFREP".
 */
export function createOfrepHandler(o: OfrepHandlerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const pathname = (req.url ?? '/').split('?')[0]!;
    const rest = pathname.startsWith(`${BULK_PATH}/`) ? pathname.slice(BULK_PATH.length + 1) : undefined;
    const endpoint: Endpoint = pathname === BULK_PATH ? 'bulk' : rest !== undefined && rest !== '' && !rest.includes('/') ? 'evaluate' : 'other';
    res.once('close', () => o.metrics.ofrep(endpoint, res.statusCode));
    handle(o, req, res, endpoint, rest).catch((e: unknown) => {
      o.log('error', `OFREP request failed: ${(e as Error)?.message ?? String(e)}`);
      if (res.headersSent) res.destroy();
      else send(res, 500, JSON.stringify({ errorDetails: 'internal error' }));
    });
  };
}

async function handle(o: OfrepHandlerOptions, req: IncomingMessage, res: ServerResponse, endpoint: Endpoint, rest: string | undefined): Promise<void> {
  if (endpoint === 'other') {
    send(res, 404, JSON.stringify({ errorDetails: `no such OFREP path: POST ${BULK_PATH}/{key} evaluates one flag, POST ${BULK_PATH} all of them` }));
    return;
  }
  const key = endpoint === 'evaluate' ? decodeKey(rest!) : undefined;
  // Single failures carry the key (OFREP's evaluationFailure), bulk ones do not.
  const fail = (status: number, errorCode: string, details: string, headers: Record<string, string> = {}) =>
    send(res, status, key !== undefined ? failureJson(key, errorCode, details) : JSON.stringify({ errorCode, errorDetails: details }), headers);
  if (req.method !== 'POST') {
    fail(405, 'GENERAL', `${req.method ?? 'this method'} is not allowed: OFREP evaluates with POST`, { allow: 'POST' });
    discardAndClose(req, OFREP_BODY_LIMIT);
    return;
  }
  // A page in a browser on this host cannot read the answers cross-origin
  // (no CORS headers here); DNS rebinding would make it same-origin, but then
  // the Host header names the attacker's domain, not loopback.
  if (o.checkHost && !loopbackHostHeader(req.headers.host)) {
    fail(403, 'GENERAL', 'the Host header must name a loopback address or localhost');
    discardAndClose(req, OFREP_BODY_LIMIT);
    return;
  }
  let raw: Buffer;
  try {
    raw = await readBody(req, OFREP_BODY_LIMIT);
  } catch (e) {
    if (e instanceof ProblemError) {
      fail(413, 'PARSE_ERROR', `the request body exceeds ${OFREP_BODY_LIMIT} bytes`, { connection: 'close' });
      discardAndClose(req, OFREP_BODY_LIMIT);
    } else {
      res.destroy();
    }
    return;
  }
  const context = parseContext(raw);
  if ('errorCode' in context) {
    fail(400, context.errorCode, context.details);
    return;
  }
  if (key !== undefined) {
    const flag = o.flags.view(key);
    if (!flag) {
      fail(404, 'FLAG_NOT_FOUND', `no flag named ${JSON.stringify(key)}`);
      return;
    }
    const evaluation = evaluateForOfrep(flag, context.targetingKey);
    send(res, evaluation.ok ? 200 : evaluation.status, evaluation.json);
    return;
  }
  // Bulk: every flag, a failure (a rollout without a key) in its place in the list.
  const body = `{"flags":[${o.flags.list().map((flag) => evaluateForOfrep(flag, context.targetingKey).json).join(',')}]}`;
  // The ETag is the answer's own hash: it changes exactly when what this
  // context would read changes, on this replica or any other.
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  if (matches(req.headers['if-none-match'], etag)) {
    res.writeHead(304, { etag, 'cache-control': 'no-cache' });
    res.end();
    return;
  }
  send(res, 200, body, { etag, 'cache-control': 'no-cache' });
}

function send(res: ServerResponse, status: number, json: string, headers: Record<string, string> = {}): void {
  const text = `${json}\n`;
  res.writeHead(status, {
    'content-type': JSON_TYPE,
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(text);
}

function decodeKey(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    // Not valid percent-encoding: no flag has this name; say so with what was sent.
    return segment;
  }
}

type Context = { targetingKey: string | undefined } | { errorCode: 'PARSE_ERROR' | 'INVALID_CONTEXT'; details: string };

/**
 * `{context: {targetingKey?, ...}}`. An empty body or a missing context is an
 * empty context (only a rollout needs a key); attributes other than
 * targetingKey are accepted and not used: this port has no targeting rules.
 */
function parseContext(raw: Buffer): Context {
  if (raw.length === 0) return { targetingKey: undefined };
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    return { errorCode: 'PARSE_ERROR', details: 'the body is not valid JSON' };
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return { errorCode: 'PARSE_ERROR', details: 'the body must be a JSON object {"context": {...}}' };
  const context = (body as { context?: unknown }).context;
  if (context === undefined) return { targetingKey: undefined };
  if (context === null || typeof context !== 'object' || Array.isArray(context)) return { errorCode: 'INVALID_CONTEXT', details: 'context must be an object' };
  const key = (context as { targetingKey?: unknown }).targetingKey;
  if (key !== undefined && typeof key !== 'string') return { errorCode: 'INVALID_CONTEXT', details: 'context.targetingKey must be a string' };
  return { targetingKey: key === '' ? undefined : key };
}

/** Host: 127.x.x.x, [::1] or localhost, with or without a port; absent (HTTP/1.0) is fine. */
function loopbackHostHeader(host: string | undefined): boolean {
  if (host === undefined) return true;
  const h = host.trim().toLowerCase();
  const name = h.startsWith('[') ? h.slice(0, h.indexOf(']') + 1) : h.replace(/:\d*$/, '');
  const port = h.slice(name.length);
  if (port !== '' && !/^:\d{1,5}$/.test(port)) return false;
  return name === 'localhost' || isLoopbackHost(name);
}

/** If-None-Match: a list of (weak or strong) tags, or `*`. */
function matches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((t) => {
    const tag = t.trim().replace(/^W\//, '');
    return tag === '*' || tag === etag;
  });
}
