import type { IncomingMessage } from 'node:http';
import { ProblemError } from '../../protocol/index.js';

/** Thrown (as a ProblemError) when the body passes the limit; the caller closes the connection. */
export function tooLarge(limit: number): ProblemError {
  return new ProblemError('request.too_large', `the request body exceeds ${limit} bytes`, { limit });
}

/** True when the request announces a body (Content-Length > 0 or any Transfer-Encoding). */
export function announcesBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const len = req.headers['content-length'];
  return len !== undefined && len !== '0';
}

/**
 * Reads the raw body up to `limit` bytes. Past the limit it stops buffering
 * at once and rejects with 413; the bytes already read are dropped.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err: unknown, body?: Buffer) => {
      if (done) return;
      done = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
      if (err) reject(err);
      else resolve(body!);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        chunks.length = 0;
        finish(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => finish(undefined, Buffer.concat(chunks, size));
    const onError = (e: Error) => finish(e);
    const onAborted = () => finish(new Error('client aborted the request'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

/**
 * After an early error response (413), discard whatever the client is still
 * sending, without buffering it, so it can read our answer; then close.
 */
export function discardAndClose(req: IncomingMessage, maxBytes: number, maxMs = 5000): void {
  let seen = 0;
  const close = () => {
    clearTimeout(timer);
    req.socket.destroySoon?.();
    setTimeout(() => req.socket.destroy(), 1000).unref();
  };
  const timer = setTimeout(close, maxMs);
  timer.unref();
  req.on('data', (c: Buffer) => {
    seen += c.length;
    if (seen > maxBytes) close();
  });
  req.on('end', () => clearTimeout(timer));
  req.on('error', () => undefined);
  req.resume();
}
