/**
 * A real Tunnel to an internal port over plain loopback TCP: the product's own
 * HttpTunnel (node:http through a channel Agent) with channels that are
 * net.connect sockets instead of SSH direct-tcpip channels. Real HTTP, real
 * signatures, no SSH. `drop()` cuts every open channel and the connection,
 * as a dying SSH connection would; `cutChannels()` cuts only the open
 * channels, as the service closing them would (the connection stays up).
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { HttpTunnel } from '../../src/cli/transport/http-tunnel.js';
import type { Tunnel } from '../../src/cli/transport/types.js';

export interface DirectTunnel extends Tunnel {
  /** Channels opened so far (each is one TCP connection). */
  readonly channelsOpened: number;
  /** Destroys every open channel and the tunnel itself: `closed` resolves, no new channel opens (the SSH connection died mid-request). */
  drop(): void;
  /** Destroys every open channel only; new ones still open (the service side closed them). */
  cutChannels(): void;
}

export function directTunnel(host: string, port: number): DirectTunnel {
  const sockets = new Set<net.Socket>();
  let opened = 0;
  let dead = false;
  let markClosed!: () => void;
  const closed = new Promise<void>((r) => (markClosed = r));
  const open = (): Promise<Duplex> =>
    new Promise((resolve, reject) => {
      if (dead) return reject(new Error('Not connected'));
      const s = net.connect({ host, port, noDelay: true });
      s.once('connect', () => {
        s.removeListener('error', reject);
        opened++;
        sockets.add(s);
        s.once('close', () => sockets.delete(s));
        resolve(s);
      });
      s.once('error', reject);
    });
  const inner = new HttpTunnel({
    open,
    hops: [],
    internalHost: host,
    internalPort: port,
    via: `direct TCP ${host}:${port}`,
    closed,
    close: async () => {
      for (const s of sockets) s.destroy();
      markClosed();
    },
  });
  Object.defineProperty(inner, 'channelsOpened', { get: () => opened });
  Object.defineProperty(inner, 'drop', {
    value: () => {
      dead = true;
      for (const s of sockets) s.destroy();
      markClosed();
    },
  });
  Object.defineProperty(inner, 'cutChannels', {
    value: () => {
      for (const s of sockets) s.destroy();
    },
  });
  return inner as unknown as DirectTunnel;
}
