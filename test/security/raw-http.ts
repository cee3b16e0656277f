/** Raw HTTP/1.1 over a socket, for attacks node:http would not let a client send. */
import net from 'node:net';

export function rawExchange(port: number, bytes: string | Buffer, waitMs = 1500): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(bytes));
    let buf = '';
    const done = () => { s.destroy(); resolve(buf); };
    const timer = setTimeout(done, waitMs);
    s.on('data', (c) => { buf += c.toString('latin1'); });
    s.on('error', () => undefined);
    s.on('close', () => { clearTimeout(timer); resolve(buf); });
  });
}

/** A request head from a prepared (signed) request. */
export function head(method: string, target: string, headers: Record<string, string>): string {
  return `${method} ${target} HTTP/1.1\r\nhost: 127.0.0.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`;
}
