import type { Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface ConnectionCapOptions {
  /** Most connections held open at once (default 128: well under a 256 fd limit). */
  maxConnections: number;
  /** A connection with no request in flight for this long is closed (ms). */
  idleTimeoutMs: number;
}

interface Tracked {
  since: number;
  busy: number;
}

/**
 * Bounds the connections the internal port holds, so that idle or
 * slow-header sockets (300 of them once made every legitimate request fail
 * with ECONNRESET at a 256 fd limit) cannot crowd out a real request: when
 * the cap is reached a new connection evicts the oldest one that has no
 * request in flight; only when every held connection is serving a request is
 * the new one closed. A connection idle for idleTimeoutMs is closed too.
 * Returns `busy(res)`, which the request handler calls for each request.
 * docs/security.md, "Connection floods".
 */
export function capConnections(server: Server, opts: ConnectionCapOptions): { busy(res: ServerResponse): void; readonly size: number } {
  const held = new Map<Socket, Tracked>();
  const evictOldestIdle = (): boolean => {
    let oldest: Socket | undefined;
    let since = Infinity;
    for (const [s, t] of held) if (t.busy === 0 && t.since < since) { oldest = s; since = t.since; }
    if (!oldest) return false;
    held.delete(oldest);
    oldest.destroy();
    return true;
  };
  server.on('connection', (socket: Socket) => {
    if (held.size >= opts.maxConnections && !evictOldestIdle()) {
      socket.destroy();
      return;
    }
    const t: Tracked = { since: Date.now(), busy: 0 };
    held.set(socket, t);
    socket.setTimeout(opts.idleTimeoutMs);
    socket.on('timeout', () => { if (t.busy === 0) socket.destroy(); });
    socket.once('close', () => held.delete(socket));
  });
  return {
    busy(res: ServerResponse) {
      const t = held.get(res.socket as Socket);
      if (!t) return;
      t.busy++;
      res.once('close', () => {
        t.busy--;
        t.since = Date.now();
      });
    },
    get size() {
      return held.size;
    },
  };
}
