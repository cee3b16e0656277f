/**
 * Connection reuse for `opsctl tunnel`: one process holds the SSH route open
 * and forwards each local connection to a fresh direct-tcpip channel; later
 * commands find its socket and send their (still signed) requests through
 * it, skipping every SSH handshake. The socket only carries bytes.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import type { ResponseLimits, Tunnel } from './types.js';
import { HttpTunnel } from './http-tunnel.js';
import { TunnelError } from './tunnel-error.js';
import { usePrivateDir } from '../config/private-dir.js';

export type TunnelListen = { socketPath: string } | { host: string; port: number };

export interface ServedTunnel {
  /** The socket path, or host:port for TCP. */
  address: string;
  /** The TCP port (when listening on TCP). */
  port?: number;
  /** Local connections currently forwarded. */
  readonly activeConnections: number;
  /** When a local connection last opened or closed (ms since the epoch). */
  readonly lastActivity: number;
  /** Resolves when serving stopped (close(), or the SSH connection died). */
  readonly stopped: Promise<void>;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
const uid = () => process.getuid?.();

/**
 * Makes sure the socket's directory exists, is ours and private (0700):
 * anyone able to write there could swap the socket for their own
 * (README, "Local files").
 */
function ensurePrivateDir(dir: string): void {
  const r = usePrivateDir(dir);
  if ('why' in r) throw new TunnelError(`refusing to use ${dir} for the tunnel socket: ${r.why}`);
}

function probe(socketPath: string): Promise<net.Socket | null> {
  return new Promise((resolve) => {
    const s = net.connect(socketPath);
    s.once('connect', () => {
      s.removeAllListeners('error');
      resolve(s);
    });
    s.once('error', () => {
      s.destroy();
      resolve(null);
    });
  });
}

/** Whether a socket path is a socket owned by us (not someone else's planted file). */
function ownSocket(socketPath: string): boolean {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(socketPath);
  } catch {
    return false;
  }
  const me = uid();
  return st.isSocket() && (me === undefined || st.uid === me);
}

/**
 * Serves a tunnel on a unix socket (0600, in a 0700 directory of ours) or on
 * a loopback TCP port. Each accepted connection gets its own channel. A
 * stale socket file is replaced; a live one means another `opsctl tunnel`
 * serves it already (TunnelError). Stops when the SSH connection dies.
 */
export async function serveTunnel(source: Tunnel | (() => Promise<Tunnel>), listen: TunnelListen, opts: { log?: (msg: string) => void } = {}): Promise<ServedTunnel> {
  const sockets = new Set<net.Socket>();
  // A function source (a background holder) reconnects on demand: a dropped
  // SSH connection is replaced on the next local connection, not fatal.
  const tunnel = typeof source === 'function' ? undefined : source;
  const channel = (): Promise<Duplex> => (tunnel ? tunnel.openChannel() : (source as () => Promise<Tunnel>)().then((t) => t.openChannel()));
  let lastActivity = Date.now();
  const server = net.createServer((local) => {
    sockets.add(local);
    lastActivity = Date.now();
    local.on('error', () => {});
    local.once('close', () => {
      sockets.delete(local);
      lastActivity = Date.now();
    });
    channel().then(
      (channel: Duplex) => {
        if (local.destroyed) {
          channel.destroy();
          return;
        }
        channel.on('error', () => local.destroy());
        channel.once('close', () => local.destroy());
        local.once('close', () => channel.destroy());
        local.pipe(channel);
        channel.pipe(local);
      },
      (err: Error) => {
        opts.log?.(`tunnel: ${err.message}`);
        local.destroy();
      },
    );
  });

  let address: string;
  let port: number | undefined;
  let socketPath: string | undefined;
  if ('socketPath' in listen) {
    socketPath = path.resolve(listen.socketPath);
    ensurePrivateDir(path.dirname(socketPath));
    if (fs.existsSync(socketPath)) {
      const live = ownSocket(socketPath) ? await probe(socketPath) : null;
      if (live) {
        live.destroy();
        throw new TunnelError(`a tunnel is already running on ${socketPath}; stop it first, or use it (commands reuse it automatically)`);
      }
      fs.rmSync(socketPath, { force: true });
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => resolve());
    });
    fs.chmodSync(socketPath, 0o600);
    address = socketPath;
  } else {
    if (!LOOPBACK.has(listen.host)) {
      throw new TunnelError(`refusing to listen on ${listen.host}: the tunnel listens on loopback only (127.0.0.1 or ::1)`);
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(new TunnelError(`cannot listen on ${listen.host}:${listen.port}: ${e.message}`)));
      server.listen(listen.port, listen.host, () => resolve());
    });
    port = (server.address() as net.AddressInfo).port;
    address = `${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${port}`;
  }

  let stopping: Promise<void> | undefined;
  let markStopped!: () => void;
  const stopped = new Promise<void>((r) => (markStopped = r));
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await new Promise<void>((r) => {
        server.close(() => r());
        for (const s of sockets) s.destroy();
      });
      if (socketPath && ownSocket(socketPath)) fs.rmSync(socketPath, { force: true });
      markStopped();
    })();
    return stopping;
  };
  void tunnel?.closed?.then(() => {
    opts.log?.('tunnel: the SSH connection is gone; no longer serving');
    return stop();
  });

  return {
    address,
    ...(port !== undefined ? { port } : {}),
    get activeConnections() {
      return sockets.size;
    },
    get lastActivity() {
      return lastActivity;
    },
    stopped,
    close: stop,
  };
}

/**
 * A Tunnel through a running `opsctl tunnel` socket, or null when there is
 * none (missing or stale socket, or one that is not ours). Every channel is
 * a new connection to the socket; the first one is the liveness probe.
 */
export async function tryReuseTunnel(
  socketPath: string,
  opts: { internalHost?: string; internalPort?: number; limits?: Partial<ResponseLimits> } = {},
): Promise<Tunnel | null> {
  if (!ownSocket(socketPath)) return null;
  const first = await probe(socketPath);
  if (!first) return null;
  let spare: net.Socket | null = first;
  const open = async (): Promise<Duplex> => {
    const s = spare;
    spare = null;
    if (s && !s.destroyed) return s;
    const fresh = await probe(socketPath);
    if (!fresh) throw new TunnelError(`the tunnel at ${socketPath} stopped`);
    return fresh;
  };
  return new HttpTunnel({
    open,
    hops: [],
    internalHost: opts.internalHost ?? '127.0.0.1',
    internalPort: opts.internalPort ?? 80,
    via: `the tunnel at ${socketPath}`,
    ...(opts.limits ? { limits: opts.limits } : {}),
    close: async () => {
      spare?.destroy();
      spare = null;
    },
  });
}
