import http, { type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { HopTiming, Tunnel, TunnelRequest, TunnelResponse } from './types.js';
import { ChannelAgent, type ChannelOpener } from './channel-agent.js';
import { ConnectionError } from './connection-error.js';

export interface HttpTunnelOptions {
  open: ChannelOpener;
  hops: HopTiming[];
  /** The internal port as seen from the far end (for Host and messages). */
  internalHost: string;
  internalPort: number;
  /** Who carries the channels, for messages: `host "svc"`, `the tunnel socket /run/…`. */
  via: string;
  close: () => Promise<void>;
  /** Resolves when the transport underneath is gone. */
  closed?: Promise<void>;
  isOpen?: () => boolean;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS']);

function isAbort(err: unknown): boolean {
  return (err as Error)?.name === 'AbortError';
}

function isStaleReuse(err: NodeJS.ErrnoException): boolean {
  return err.code === 'ECONNRESET' || err.code === 'EPIPE' || /socket hang up/i.test(err.message);
}

/**
 * A Tunnel: HTTP/1.1 to the internal port over channels from `open`. Used for
 * an SSH route (channels are direct-tcpip) and for a reused `opsctl tunnel`
 * (channels are connections to its local socket). Requests arrive already
 * signed; the tunnel only carries bytes.
 */
export class HttpTunnel implements Tunnel {
  readonly hops: HopTiming[];
  readonly closed: Promise<void>;
  private readonly agent: ChannelAgent;
  private readonly opts: HttpTunnelOptions;
  private closing: Promise<void> | undefined;

  constructor(opts: HttpTunnelOptions) {
    this.opts = opts;
    this.hops = opts.hops;
    this.agent = new ChannelAgent(opts.open);
    this.closed = opts.closed ?? new Promise<void>(() => {});
  }

  private get target(): string {
    const h = this.opts.internalHost;
    return `${h.includes(':') ? `[${h}]` : h}:${this.opts.internalPort}`;
  }

  private wrap(err: Error): Error {
    if (err instanceof ConnectionError || isAbort(err)) return err;
    const lost = this.opts.isOpen && !this.opts.isOpen();
    return new ConnectionError(
      lost
        ? `the connection to ${this.opts.via} was lost during a request to internal port ${this.target}`
        : `request to internal port ${this.target} through ${this.opts.via} failed: ${err.message}`,
      { hop: this.target, kind: 'internal-port', reason: lost ? 'closed' : 'request-failed', causeMessage: err.message },
    );
  }

  private send(req: TunnelRequest, mayRetry: boolean): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { ...req.headers };
      const hasLength = Object.keys(headers).some((h) => h.toLowerCase() === 'content-length');
      if (req.body && !hasLength) headers['content-length'] = String(req.body.length);
      const r = http.request({
        agent: this.agent,
        host: this.opts.internalHost,
        port: this.opts.internalPort,
        method: req.method,
        path: req.path,
        headers,
        ...(req.signal ? { signal: req.signal } : {}),
      });
      r.once('response', resolve);
      r.once('error', (err: NodeJS.ErrnoException) => {
        // A kept-alive channel the server closed while idle: retry once on a
        // fresh one, but only for requests that are safe to repeat.
        if (mayRetry && r.reusedSocket && isStaleReuse(err) && IDEMPOTENT.has(req.method.toUpperCase())) {
          this.send(req, false).then(resolve, reject);
          return;
        }
        reject(this.wrap(err));
      });
      r.end(req.body);
    });
  }

  async stream(req: TunnelRequest): Promise<IncomingMessage> {
    if (this.closing) throw new ConnectionError(`the tunnel to ${this.opts.via} is closed`, { hop: this.target, kind: 'internal-port', reason: 'closed' });
    return this.send(req, true);
  }

  async request(req: TunnelRequest): Promise<TunnelResponse> {
    const res = await this.stream(req);
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of res) chunks.push(chunk as Buffer);
    } catch (e) {
      throw this.wrap(e as Error);
    }
    return { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) };
  }

  openChannel(): Promise<Duplex> {
    return this.opts.open();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.agent.destroy();
      await this.opts.close();
    })();
    return this.closing;
  }
}
