/**
 * A real Tunnel to an internal port over plain loopback TCP: the product's own
 * HttpTunnel (node:http through a channel Agent) with channels that are
 * net.connect sockets instead of SSH direct-tcpip channels. Real HTTP, real
 * signatures, no SSH. `drop()` cuts every open channel, as a dying SSH
 * connection would.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { HttpTunnel } from '../../src/cli/transport/http-tunnel.js';
import type { Tunnel } from '../../src/cli/transport/types.js';

export interface DirectTunnel extends Tunnel {
  /** Channels opened so far (each is one TCP connection). */
  readonly channelsOpened: number;
  /** Destroys every open channel (simulates the tunnel dying mid-request). */
  drop(): void;
}

export function directTunnel(host: string, port: number): DirectTunnel {
  const sockets = new Set<net.Socket>();
  let opened = 0;
  let markClosed!: () => void;
  const closed = new Promise<void>((r) => (markClosed = r));
  const open = (): Promise<Duplex> =>
    new Promise((resolve, reject) => {
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
      for (const s of sockets) s.destroy();
    },
  });
  return inner as unknown as DirectTunnel;
}
