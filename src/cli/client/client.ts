/**
 * The signed HTTP client of the internal port. Every request is signed with
 * the operator's identity (RFC 9421) and carried by a Tunnel; problem+json
 * answers become ProblemErrors, which the CLI maps to exit codes.
 */
import { randomUUID } from 'node:crypto';
import type { Tunnel, TunnelResponse, TunnelStream } from '../transport/types.js';
import type { Identity } from '../identity/types.js';
import type { InstanceMemory } from './instance-memory.js';
import { signRequest } from '../../protocol/signature.js';
import { contentDigest } from '../../protocol/content-digest.js';
import { ProblemError } from '../../protocol/problem-error.js';
import { REASON_HEADER, IDEMPOTENCY_HEADER, INSTANCE_HEADER, BREAK_GLASS_HEADER, DRY_RUN_HEADER } from '../../protocol/headers.js';
import { READ_ONLY_POSTS, isDryRunAnswer, isHeldAnswer, type DryRunAnswer, type HeldAnswer } from '../../protocol/approvals.js';
import { buildRequest, STANDARD_ENDPOINTS, type Catalog, type EndpointDescriptor } from '../../protocol/catalog.js';

export interface CallOptions {
  reason?: string;
  /** Further headers, covered by the signature (dry-run, break-glass). */
  headers?: Record<string, string>;
  idempotencyKey?: string;
  accept?: string;
  signal?: AbortSignal;
  /** false: a held or dry-run answer is returned as it is, for a command that handles it itself (grants request). */
  review?: false;
  /** This request's time bound instead of --timeout (a long-poll: its wait plus --timeout). */
  timeoutMs?: number;
}

export interface RawRequest {
  method: string;
  path: string;
  query?: string;
  body?: unknown;
}

function headerString(v: string | string[] | undefined): string {
  return Array.isArray(v) ? v.join(', ') : v ?? '';
}

/** Turns an error response into a ProblemError (problem+json or not). */
export function problemFromResponse(res: { status: number; headers: Record<string, string | string[] | undefined> }, body: Buffer): ProblemError {
  const type = headerString(res.headers['content-type']);
  if (/json/.test(type)) {
    try {
      return ProblemError.fromDetails(JSON.parse(body.toString('utf8')), res.status);
    } catch {
      /* fall through */
    }
  }
  const text = body.toString('utf8').trim().slice(0, 200);
  return new ProblemError(res.status >= 500 ? 'internal' : 'request.invalid', `HTTP ${res.status}${text ? `: ${text}` : ''}`, {}, res.status);
}

/**
 * The reason as a header value: UTF-8 bytes carried as latin1 characters,
 * which is how the port reads it back (raw bytes, decoded as UTF-8), so the
 * audit log shows "release 42 – café" and not percent-escapes. Control
 * characters become spaces: a header can never be split.
 */
export function reasonHeaderValue(reason: string): string {
  // eslint-disable-next-line no-control-regex -- it matches terminal control characters on purpose
  const clean = reason.replace(/[\x00-\x1f\x7f]+/g, ' ').trim();
  return Buffer.from(clean, 'utf8').toString('latin1');
}

/**
 * How a command's mutations meet approvals and dry-run, in one place for
 * every command (src/cli/approvals/): the headers --dry-run and
 * --break-glass add, and what happens to a held or dry-run answer.
 */
export interface ReviewHooks {
  dryRun?: boolean;
  breakGlass?: string;
  /** Before the first mutation sent with break-glass (the typed acknowledgment). */
  acknowledgeBreakGlass?(): Promise<void>;
  /** A 202 {approval}: wait for the decision; resolves with what the request answered once it ran. */
  onHeld?(answer: HeldAnswer, endpoint: EndpointDescriptor): Promise<unknown>;
  /** A dry-run answer: show it (normally ends the command). */
  onDryRun?(answer: DryRunAnswer, endpoint: EndpointDescriptor): Promise<unknown>;
}

export class Client {
  readonly tunnel: Tunnel;
  readonly identity: Identity;
  private readonly defaultReason: string | undefined;
  /** The port's Opsctl-Instance as it last answered; signed into every request (docs/security.md, "Replay"). */
  private instance: string | undefined;
  private readonly review: ReviewHooks;

  private readonly memory: InstanceMemory | undefined;

  constructor(tunnel: Tunnel, identity: Identity, opts: { reason?: string; review?: ReviewHooks; instance?: InstanceMemory } = {}) {
    this.tunnel = tunnel;
    this.identity = identity;
    this.defaultReason = opts.reason;
    this.review = opts.review ?? {};
    this.memory = opts.instance;
    this.instance = opts.instance?.initial;
  }

  private async signedHeaders(req: RawRequest, bodyBuf: Buffer | undefined, opts: CallOptions): Promise<Record<string, string>> {
    const headers: Record<string, string> = { accept: opts.accept ?? 'application/json', host: 'internal-port' };
    if (bodyBuf) {
      headers['content-type'] = 'application/json';
      headers['content-digest'] = contentDigest(bodyBuf);
    }
    const reason = opts.reason ?? this.defaultReason;
    if (reason) headers[REASON_HEADER] = reasonHeaderValue(reason);
    if (opts.idempotencyKey) headers[IDEMPOTENCY_HEADER] = opts.idempotencyKey;
    if (this.instance) headers[INSTANCE_HEADER] = this.instance;
    for (const [k, v] of Object.entries(opts.headers ?? {})) headers[k.toLowerCase()] = v;
    const signed = await signRequest(
      { method: req.method, path: req.path, query: req.query ?? '', headers },
      { keyid: this.identity.keyid, sign: (data) => this.identity.sign(data) },
    );
    headers['signature-input'] = signed['signature-input'];
    headers.signature = signed.signature;
    return headers;
  }

  private async prepare(req: RawRequest, opts: CallOptions) {
    const bodyBuf = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
    const headers = await this.signedHeaders(req, bodyBuf, opts);
    const path = req.query ? `${req.path}?${req.query}` : req.path;
    return { method: req.method, path, headers, ...(bodyBuf ? { body: bodyBuf } : {}), ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}) };
  }

  /**
   * Remembers the instance id the port answered with; true when it differs
   * from the one the request was signed for and the port refused it for
   * that (401 auth.instance): the one case worth signing again.
   */
  private relearn(sent: string | undefined, status: number, headers: Record<string, string | string[] | undefined>, body?: Buffer): boolean {
    const id = headers[INSTANCE_HEADER];
    if (typeof id === 'string' && id) {
      this.instance = id;
      this.memory?.remember(id);
    }
    if (status !== 401 || this.instance === sent) return false;
    return body === undefined || problemFromResponse({ status, headers }, body).code === 'auth.instance';
  }

  /** The port's instance id as it last answered (or as remembered from an earlier run; undefined before either). */
  get instanceId(): string | undefined {
    return this.instance;
  }

  /** Sends a signed request; returns the response whatever its status. A first call learns the port's instance id (one 401, then signed again). */
  async send(req: RawRequest, opts: CallOptions = {}): Promise<TunnelResponse> {
    const sent = this.instance;
    const res = await this.tunnel.request(await this.prepare(req, opts));
    if (!this.relearn(sent, res.status, res.headers, res.body)) return res;
    return this.tunnel.request(await this.prepare(req, opts));
  }

  /** Sends a signed request and returns the parsed JSON (or text) body; throws ProblemError on >= 400. */
  async request<T = unknown>(req: RawRequest, opts: CallOptions = {}): Promise<T> {
    return (await this.requestWithStatus<T>(req, opts)).body;
  }

  private async requestWithStatus<T>(req: RawRequest, opts: CallOptions): Promise<{ status: number; body: T }> {
    const res = await this.send(req, opts);
    if (res.status >= 400) throw problemFromResponse(res, res.body);
    const type = headerString(res.headers['content-type']);
    if (/json/.test(type)) return { status: res.status, body: JSON.parse(res.body.toString('utf8')) as T };
    return { status: res.status, body: res.body.toString('utf8') as T };
  }

  /** Calls a catalog endpoint by descriptor or standard id, laying params out as the server reads them. */
  async call<T = unknown>(endpoint: EndpointDescriptor | string, params: Record<string, unknown> = {}, opts: CallOptions = {}): Promise<T> {
    const ep = typeof endpoint === 'string' ? STANDARD_ENDPOINTS.find((e) => e.id === endpoint) : endpoint;
    if (!ep) throw new Error(`unknown standard endpoint ${String(endpoint)}`);
    const shape = buildRequest(ep, params);
    // Non-GET calls carry an idempotency key so that a retry after a dropped
    // tunnel cannot run the action twice.
    const o = ep.method !== 'GET' && !opts.idempotencyKey ? { ...opts, idempotencyKey: randomUUID() } : opts;
    // A mutation carries --dry-run / --break-glass; a plan (a POST that
    // changes nothing) and reads do not.
    const mutation = ep.method !== 'GET' && !READ_ONLY_POSTS.includes(ep.id);
    const extra: Record<string, string> = { ...(o.headers ?? {}) };
    if (mutation && this.review.dryRun) {
      extra[DRY_RUN_HEADER] = '1';
    } else if (mutation && this.review.breakGlass && !ep.id.startsWith('approvals.')) {
      await this.review.acknowledgeBreakGlass?.();
      extra[BREAK_GLASS_HEADER] = reasonHeaderValue(this.review.breakGlass);
    }
    const { status, body: result } = await this.requestWithStatus<unknown>({ method: shape.method, path: shape.path, query: shape.query, body: shape.body }, { ...o, headers: extra });
    if (mutation && o.review !== false && this.review.dryRun && isDryRunAnswer(result) && this.review.onDryRun) return (await this.review.onDryRun(result, ep)) as T;
    // Only a 202 {approval} is a held request (an approval's own answers carry {approval} too).
    if (mutation && o.review !== false && status === 202 && !ep.id.startsWith('approvals.') && isHeldAnswer(result) && this.review.onHeld) return (await this.review.onHeld(result, ep)) as T;
    return result as T;
  }

  /** A streamed signed GET (NDJSON job events). Throws ProblemError on >= 400. */
  async stream(req: RawRequest, opts: CallOptions = {}): Promise<TunnelStream> {
    for (let attempt = 0; ; attempt++) {
      const sent = this.instance;
      const res = await this.tunnel.stream(await this.prepare(req, opts));
      if (res.statusCode < 400) {
        this.relearn(sent, res.statusCode, res.headers);
        return res;
      }
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks);
      if (attempt === 0 && this.relearn(sent, res.statusCode, res.headers, body)) continue;
      throw problemFromResponse({ status: res.statusCode, headers: res.headers }, body);
    }
  }

  catalog(): Promise<Catalog> {
    return this.call<Catalog>('catalog');
  }
}
