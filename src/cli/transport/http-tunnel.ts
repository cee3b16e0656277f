import http, { type IncomingMessage } from 'node:http';
import { Transform, pipeline, type Duplex, type TransformCallback } from 'node:stream';
import { DEFAULT_RESPONSE_LIMITS, type HopTiming, type ResponseLimits, type Tunnel, type TunnelRequest, type TunnelResponse, type TunnelStream } from './types.js';
import { ChannelAgent, type ChannelOpener } from './channel-agent.js';
import { ConnectionError } from './connection-error.js';
import { ResponseTooLargeError } from './response-too-large-error.js';
import { withArticle } from '../../protocol/wording.js';

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
  /** Time and size bounds of every response (default 15 s, 16 MiB). */
  limits?: Partial<ResponseLimits>;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS']);

function isAbort(err: unknown): boolean {
  return (err as Error)?.name === 'AbortError';
}

const seconds = (ms: number) => `${Number((ms / 1000).toFixed(1))} s`;
const mib = (n: number) => (n >= 1024 * 1024 ? `${Number((n / 1024 / 1024).toFixed(1))} MiB` : `${n} bytes`);

/**
 * The body of a stream as it reaches the caller: every chunk restarts the
 * silence timer, and a line longer than the size limit ends it (a stream is
 * line-delimited, so that bounds what a reader has to buffer).
 */
class GuardedStream extends Transform {
  statusCode = 0;
  headers: Record<string, string | string[] | undefined> = {};
  private sinceNewline = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly idleMs: number;
  private readonly maxLine: number;
  private readonly onIdle: () => Error;
  private readonly onTooLong: () => Error;

  constructor(idleMs: number, maxLine: number, onIdle: () => Error, onTooLong: () => Error) {
    super();
    this.idleMs = idleMs;
    this.maxLine = maxLine;
    this.onIdle = onIdle;
    this.onTooLong = onTooLong;
    this.arm();
  }

  private arm(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.destroy(this.onIdle()), this.idleMs);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.arm();
    const nl = chunk.lastIndexOf(0x0a);
    this.sinceNewline = nl >= 0 ? chunk.length - nl - 1 : this.sinceNewline + chunk.length;
    if (this.sinceNewline > this.maxLine) return cb(this.onTooLong());
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    clearTimeout(this.timer);
    cb();
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    clearTimeout(this.timer);
    cb(err);
  }
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
  private readonly limits: ResponseLimits;
  private closing: Promise<void> | undefined;

  constructor(opts: HttpTunnelOptions) {
    this.opts = opts;
    this.limits = { ...DEFAULT_RESPONSE_LIMITS, ...opts.limits };
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

  private timeoutError(what: string, ms = this.limits.timeoutMs): ConnectionError {
    return new ConnectionError(`internal port ${this.target} through ${this.opts.via} ${what} within ${seconds(ms)} (--timeout)`, {
      hop: this.target,
      kind: 'internal-port',
      reason: 'timeout',
      causeMessage: 'timeout',
    });
  }

  private tooLarge(what: string): ResponseTooLargeError {
    return new ResponseTooLargeError(
      `internal port ${this.target} sent ${what} larger than ${mib(this.limits.maxBytes)}; the response was dropped (raise the limit with --max-response-size)`,
      this.limits.maxBytes,
    );
  }

  /**
   * Sends one request. `timeout` aborts it (and whatever of the answer has
   * arrived) with a timeout ConnectionError until the caller disarms it.
   */
  private send(req: TunnelRequest, mayRetry: boolean, deadline: AbortSignal): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { ...req.headers };
      const hasLength = Object.keys(headers).some((h) => h.toLowerCase() === 'content-length');
      if (req.body && !hasLength) headers['content-length'] = String(req.body.length);
      const signal = req.signal ? AbortSignal.any([req.signal, deadline]) : deadline;
      const r = http.request({
        agent: this.agent,
        host: this.opts.internalHost,
        port: this.opts.internalPort,
        method: req.method,
        path: req.path,
        headers,
        signal,
      });
      r.once('response', resolve);
      r.once('error', (err: NodeJS.ErrnoException) => {
        if (deadline.aborted && !req.signal?.aborted) return reject(deadline.reason as Error);
        // A kept-alive channel the server closed while idle: retry once on a
        // fresh one, but only for requests that are safe to repeat.
        if (mayRetry && r.reusedSocket && isStaleReuse(err) && IDEMPOTENT.has(req.method.toUpperCase())) {
          this.send(req, false, deadline).then(resolve, reject);
          return;
        }
        reject(this.wrap(err));
      });
      r.end(req.body);
    });
  }

  private checkClosing(): void {
    if (this.closing) throw new ConnectionError(`the tunnel to ${this.opts.via} is closed`, { hop: this.target, kind: 'internal-port', reason: 'closed' });
  }

  private declaredTooLarge(res: IncomingMessage): boolean {
    const len = Number(res.headers['content-length']);
    return Number.isFinite(len) && len > this.limits.maxBytes;
  }

  /**
   * A streamed response: the answer's headers must come within the
   * timeout, then no silence may last longer than it, and no line may be
   * longer than the size limit. The caller ends it with destroy().
   */
  async stream(req: TunnelRequest): Promise<TunnelStream> {
    this.checkClosing();
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(this.timeoutError('did not start answering')), this.limits.timeoutMs);
    let res: IncomingMessage;
    try {
      res = await this.send(req, true, deadline.signal);
    } finally {
      clearTimeout(timer);
    }
    const guard = new GuardedStream(
      this.limits.timeoutMs,
      this.limits.maxBytes,
      () => this.timeoutError('went silent: nothing arrived'),
      () => this.tooLarge('a line'),
    );
    guard.statusCode = res.statusCode ?? 0;
    guard.headers = res.headers;
    // A broken stream reaches the reader named like any other request
    // failure (the connection lost, and to which hop), not as a bare
    // "aborted"; registered before pipeline's own handler, so it wins.
    res.once('error', (err) => guard.destroy(this.wrap(err)));
    pipeline(res, guard, () => {
      /* errors reach the reader through guard */
    });
    return guard;
  }

  /**
   * A buffered request: sent, answered and read completely within the
   * timeout, and the body no larger than the size limit.
   */
  async request(req: TunnelRequest): Promise<TunnelResponse> {
    this.checkClosing();
    const deadline = new AbortController();
    const limit = req.timeoutMs ?? this.limits.timeoutMs;
    const timer = setTimeout(() => deadline.abort(this.timeoutError('did not answer', limit)), limit);
    try {
      const res = await this.send(req, true, deadline.signal);
      if (this.declaredTooLarge(res)) {
        res.destroy();
        throw this.tooLarge(`${withArticle(`${Number(res.headers['content-length'])}-byte`)} answer, which is`);
      }
      const chunks: Buffer[] = [];
      let size = 0;
      const onDeadline = () => res.destroy(deadline.signal.reason as Error);
      deadline.signal.addEventListener('abort', onDeadline, { once: true });
      try {
        for await (const chunk of res) {
          size += (chunk as Buffer).length;
          if (size > this.limits.maxBytes) {
            res.destroy();
            throw this.tooLarge('an answer');
          }
          chunks.push(chunk as Buffer);
        }
      } catch (e) {
        if (e instanceof ResponseTooLargeError) throw e;
        if (deadline.signal.aborted) throw deadline.signal.reason as Error;
        throw this.wrap(e as Error);
      } finally {
        deadline.signal.removeEventListener('abort', onDeadline);
      }
      return { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) };
    } finally {
      clearTimeout(timer);
    }
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
