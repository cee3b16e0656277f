import fs from 'node:fs';
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { InternalPortConfigError } from '../config-error.js';
import { capConnections } from '../http/connection-cap.js';
import { listenInternal, type ListenTarget } from '../listen/listen.js';
import type { PortLog } from '../logger.js';
import type { PortMetrics } from '../metrics/port-metrics.js';
import type { FlagReader } from '../options.js';
import { createOfrepHandler } from './handle-ofrep.js';

export interface OfrepListener {
  readonly address: string;
  readonly host: string | undefined;
  readonly port: number | undefined;
  close(): Promise<void>;
}

export interface StartOfrepOptions {
  /** From ofrepListenTarget(), its host already resolved to a loopback address. */
  target: ListenTarget;
  flags: FlagReader;
  metrics: PortMetrics;
  log: PortLog;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  maxConnections: number;
}

/** A malformed request or one that took too long gets a short JSON answer, then the connection closes. */
function onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, text, details] = err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
    ? [408, 'Request Timeout', 'the request was not received in time']
    : err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'Request Header Fields Too Large', 'the request headers are too large'] : [400, 'Bad Request', 'malformed HTTP request'];
  const body = `${JSON.stringify({ errorCode: 'PARSE_ERROR', errorDetails: details })}\n`;
  socket.end(`HTTP/1.1 ${status} ${text}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}

/**
 * Starts the OFREP listener (src/server/README.md, "OFREP"): its own
 * node:http server with the port's header and request timeouts and
 * connection cap, bound through the same loopback-only code as the port.
 * close() stops it and removes its socket file, if that is still the one it
 * created.
 */
export async function startOfrep(o: StartOfrepOptions): Promise<OfrepListener> {
  const headersTimeout = Math.min(o.headersTimeoutMs, o.requestTimeoutMs);
  const handler = createOfrepHandler({ flags: o.flags, metrics: o.metrics, log: o.log, checkHost: o.target.socketPath === undefined });
  const server = http.createServer({
    requestTimeout: o.requestTimeoutMs,
    headersTimeout,
    keepAliveTimeout: 5_000,
    connectionsCheckingInterval: Math.max(100, Math.min(5_000, Math.floor(headersTimeout / 4))),
  }, (req, res) => {
    connections.busy(res);
    handler(req, res);
  });
  server.on('clientError', onClientError);
  const connections = capConnections(server, { maxConnections: o.maxConnections, idleTimeoutMs: headersTimeout + 1000 });
  server.on('timeout', () => undefined);

  let bound;
  try {
    bound = await listenInternal(server, o.target);
  } catch (e) {
    server.close();
    if (e instanceof InternalPortConfigError) throw e;
    throw new InternalPortConfigError(`the OFREP listener cannot listen on ${o.target.socketPath ?? `${o.target.host}:${o.target.port}`}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const socketIno = o.target.socketPath !== undefined ? fs.lstatSync(o.target.socketPath).ino : undefined;
  let closing: Promise<void> | undefined;
  return {
    ...bound,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Evaluations take microseconds; nothing is worth waiting for.
        server.closeAllConnections();
      }).then(() => {
        const p = o.target.socketPath;
        if (p === undefined) return;
        try {
          if (fs.lstatSync(p).ino === socketIno) fs.unlinkSync(p);
        } catch {
          // Already gone.
        }
      });
      return closing;
    },
  };
}
