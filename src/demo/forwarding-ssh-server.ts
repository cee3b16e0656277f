/**
 * A minimal in-process SSH server (ssh2's Server) for the demo: it accepts
 * exactly the demo's operator keys by publickey and forwards `direct-tcpip` to
 * exactly one address. Sessions (shell, exec, subsystems), remote forwards
 * and unix-socket forwards are all refused: the same shape as an OpenSSH
 * account restricted with `restrict,port-forwarding,permitopen="…"`.
 */
import net from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import ssh2 from 'ssh2';

export interface ForwardingServerOptions {
  /** For log lines: "bastion", "service host". */
  name: string;
  /** OpenSSH private host key. */
  hostKey: string;
  /** The only keys allowed in: `ssh-ed25519 AAAA… comment` (the demo's two operators). */
  operatorPublicKeys: string[];
  /** The only login name allowed. */
  user: string;
  /** The only direct-tcpip destination allowed. */
  allow: { host: string; port: number };
  log: (message: string) => void;
}

export interface ForwardingServer {
  port: number;
  close(): Promise<void>;
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Listens on 127.0.0.1 on a free port. */
export async function startForwardingServer(opts: ForwardingServerOptions): Promise<ForwardingServer> {
  const operators = opts.operatorPublicKeys.map((line) => {
    const parsed = ssh2.utils.parseKey(line);
    if (parsed instanceof Error) throw new Error(`${opts.name}: bad operator key: ${parsed.message}`);
    const key = Array.isArray(parsed) ? parsed[0]! : parsed;
    return { key, blob: key.getPublicSSH() };
  });
  const clients = new Set<ssh2.Connection>();
  const sockets = new Set<net.Socket>();

  const server = new ssh2.Server({ hostKeys: [opts.hostKey], ident: 'opsctl-demo' }, (client) => {
    clients.add(client);
    client.on('close', () => clients.delete(client));
    client.on('error', () => clients.delete(client));
    client.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey' || ctx.username !== opts.user) return ctx.reject(['publickey']);
      const operator = ctx.key.algo === 'ssh-ed25519' ? operators.find((o) => sameBytes(ctx.key.data, o.blob)) : undefined;
      if (!operator) return ctx.reject(['publickey']);
      // Without a signature the client only asks whether this key would do.
      if (!ctx.signature || !ctx.blob) return ctx.accept();
      return operator.key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true ? ctx.accept() : ctx.reject(['publickey']);
    });
    client.on('ready', () => {
      client.on('session', (_accept, reject) => {
        opts.log(`${opts.name}: refused a session (no shell, no exec here)`);
        reject();
      });
      client.on('request', (_accept, reject, name) => {
        opts.log(`${opts.name}: refused global request ${name}`);
        reject?.();
      });
      client.on('openssh.streamlocal', (_accept, reject) => reject());
      client.on('tcpip', (accept, reject, info) => {
        if (info.destIP !== opts.allow.host || info.destPort !== opts.allow.port) {
          opts.log(`${opts.name}: refused forwarding to ${info.destIP}:${info.destPort}`);
          return reject();
        }
        const sock = net.connect({ host: opts.allow.host, port: opts.allow.port, noDelay: true });
        sockets.add(sock);
        sock.once('close', () => sockets.delete(sock));
        sock.once('error', () => reject());
        sock.once('connect', () => {
          sock.removeAllListeners('error');
          const channel = accept();
          channel.pipe(sock).pipe(channel);
          const done = () => {
            sock.destroy();
            channel.destroy();
          };
          sock.once('error', done);
          channel.once('error', done);
          channel.once('close', () => sock.end());
        });
      });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of clients) c.end();
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
