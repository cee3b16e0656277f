import type { ServerResponse } from 'node:http';
import { PROBLEM_CONTENT_TYPE, ProblemError } from '../../protocol/index.js';

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): string {
  const text = JSON.stringify(body) + '\n';
  // Content-Length: one write instead of a chunked writev.
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers, 'content-length': Buffer.byteLength(text) });
  res.end(text);
  return text;
}

export function sendRaw(res: ServerResponse, status: number, contentType: string, body: string | Buffer): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(body);
}

/** An RFC 9457 problem+json body with the request id; never a stack trace. */
export function problemBody(err: ProblemError, requestId: string): Record<string, unknown> {
  return { ...err.toJSON(), requestId };
}

export function sendProblem(res: ServerResponse, err: ProblemError, requestId: string, headers: Record<string, string> = {}): string {
  const text = JSON.stringify(problemBody(err, requestId)) + '\n';
  if (res.headersSent) {
    res.destroy();
    return text;
  }
  res.writeHead(err.status, { 'content-type': PROBLEM_CONTENT_TYPE, 'cache-control': 'no-store', ...headers, 'content-length': Buffer.byteLength(text) });
  res.end(text);
  return text;
}
