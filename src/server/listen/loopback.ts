import { isIP } from 'node:net';

/**
 * True for addresses that only the local host can reach: 127.0.0.0/8, ::1
 * and their IPv4-mapped form. Names, `localhost` included, are not loopback
 * by their spelling: /etc/hosts or DNS decides where they point, so the
 * listener resolves them first (resolveListenHost) and binds the address.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  const kind = isIP(h);
  if (kind === 4) return h.startsWith('127.');
  if (kind === 6) {
    if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
    return mapped !== null && mapped[1]!.startsWith('127.');
  }
  return false;
}
