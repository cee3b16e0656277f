/**
 * A real RFC 9421 client for tests: real ed25519 keys (OpenSSH's ssh-keygen
 * when available, node:crypto otherwise), allowlist lines with roles, and
 * signed HTTP/1.1 requests over node:http, including deliberately broken
 * ones (unsigned, tampered, replayed, stale, future).
 */
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import ssh2 from 'ssh2';
import {
  STANDARD_ENDPOINTS,
  buildRequest,
  contentDigest,
  ed25519PublicKeyLine,
  fingerprintOfPublicKeyLine,
  signRequest,
  type EndpointDescriptor,
  type Role,
} from '../../src/protocol/index.js';

export interface TestKey {
  name: string;
  keyid: string;
  /** `ssh-ed25519 AAAA… name` */
  publicLine: string;
  sign(data: Buffer): Buffer;
  /** How the key was made: 'ssh-keygen' or 'node'. */
  origin: 'ssh-keygen' | 'node';
}

let sshKeygen: boolean | undefined;
export function hasSshKeygen(): boolean {
  sshKeygen ??= spawnSync('ssh-keygen', ['-?'], { stdio: 'ignore' }).error === undefined;
  return sshKeygen;
}

/** A fresh ed25519 identity named `name` (the allowlist comment → principal). */
export function makeKey(dir: string, name: string): TestKey {
  if (hasSshKeygen()) {
    const file = path.join(dir, `id_${name}_${Math.random().toString(36).slice(2, 8)}`);
    const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', file], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ssh-keygen failed: ${r.stderr}`);
    const parsed = ssh2.utils.parseKey(fs.readFileSync(file));
    if (parsed instanceof Error) throw parsed;
    const key = Array.isArray(parsed) ? parsed[0]! : parsed;
    const publicLine = fs.readFileSync(`${file}.pub`, 'utf8').trim();
    // The same key as a node:crypto KeyObject: identical Ed25519 signatures,
    // ≈ 40× cheaper than ssh2's sign() (which rebuilds the key every call),
    // so tests and benches that sign thousands of requests are not bound by it.
    const privateKey = createPrivateKey(key.getPrivatePEM());
    return { name, keyid: fingerprintOfPublicKeyLine(publicLine), publicLine, sign: (d) => cryptoSign(null, d, privateKey), origin: 'ssh-keygen' };
  }
  const { privateKey } = generateKeyPairSync('ed25519');
  const publicLine = ed25519PublicKeyLine(privateKey, name);
  return { name, keyid: fingerprintOfPublicKeyLine(publicLine), publicLine, sign: (d) => cryptoSign(null, d, privateKey), origin: 'node' };
}

/** One authorized_keys line; role undefined → no option (viewer by default). */
export function allowlistLine(key: TestKey, role?: Role): string {
  return role ? `role="${role}" ${key.publicLine}` : key.publicLine;
}

export function writeAllowlist(file: string, entries: Array<[TestKey, Role?]>, extraLines: string[] = []): void {
  fs.writeFileSync(file, [...extraLines, ...entries.map(([k, r]) => allowlistLine(k, r))].join('\n') + '\n', { mode: 0o600 });
}

export type Target = { host: string; port: number } | { socketPath: string };

export interface SendOptions {
  /** Query string without '?'. */
  query?: string;
  /** An object is sent as JSON; a string or Buffer as is. */
  body?: unknown;
  contentType?: string;
  headers?: Record<string, string>;
  /** Unix seconds for `created` (default now). */
  created?: number;
  nonce?: string;
  components?: string[];
  keyid?: string;
  unsigned?: boolean;
  key?: TestKey;
  /**
   * The Opsctl-Instance to sign (default: the one this target last answered
   * with, learnt by an unsigned probe the first time); null sends none.
   * Given explicitly, a 401 auth.instance is returned rather than retried.
   */
  instance?: string | null;
  /** Changes the request after signing (to test that tampering is caught). */
  tamper?: Tamper | ((r: PreparedRequest) => void);
}

export type Tamper = 'method' | 'path' | 'query' | 'body' | 'signature' | 'digest-and-body';

export interface PreparedRequest {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
}

export interface TestResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: any;
}

function applyTamper(r: PreparedRequest, t: Tamper): void {
  switch (t) {
    case 'method': r.method = r.method === 'POST' ? 'PUT' : 'POST'; break;
    case 'path': r.path = r.path.replace(/\/([^/]*)$/, '/$1x'); break;
    case 'query': r.query = r.query ? `${r.query}&x=1` : 'x=1'; break;
    case 'body': {
      const b = Buffer.from(r.body ?? Buffer.from('{}'));
      b[b.length - 2] = b[b.length - 2] === 0x30 ? 0x31 : 0x30;
      r.body = b;
      r.headers['content-length'] = String(b.length);
      break;
    }
    case 'digest-and-body': {
      const b = Buffer.from(JSON.stringify({ value: 'tampered' }));
      r.body = b;
      r.headers['content-digest'] = contentDigest(b);
      r.headers['content-length'] = String(b.length);
      break;
    }
    case 'signature': {
      const m = /^(opsctl=:)([^:]+)(:)$/.exec(r.headers.signature ?? '');
      if (!m) throw new Error('no signature to tamper with');
      const sig = Buffer.from(m[2]!, 'base64');
      sig[0] = sig[0]! ^ 0xff;
      r.headers.signature = `${m[1]}${sig.toString('base64')}${m[3]}`;
      break;
    }
  }
}

/** The Opsctl-Instance each target last answered with (shared by every client of that target). */
const instances = new Map<string, string>();
const targetKey = (t: Target) => ('socketPath' in t ? t.socketPath : `${t.host}:${t.port}`);

/** Tells every client of `target` the port's instance id (when the test has it, e.g. InternalPort.instanceId), so no probe is needed. */
export function rememberInstance(target: Target, instanceId: string): void {
  instances.set(targetKey(target), instanceId);
}

/**
 * Signs and sends requests to an internal port. Like the CLI, it signs the
 * instance id the port sends in Opsctl-Instance, and re-signs once when a
 * 401 auth.instance says the port restarted (docs/security.md, "Replay").
 */
export class SignedClient {
  constructor(readonly target: Target, readonly key: TestKey) {}

  /** The port's current Opsctl-Instance, asked with an unsigned request (401) when not known yet. */
  async instance(): Promise<string> {
    const known = instances.get(targetKey(this.target));
    if (known) return known;
    const r = await this.sendPrepared({ method: 'GET', path: '/v1/health', query: '', headers: {}, body: undefined });
    const id = r.headers['opsctl-instance'];
    if (typeof id !== 'string') throw new Error(`the port sent no Opsctl-Instance (status ${r.status})`);
    return id;
  }

  async prepare(method: string, pathname: string, opts: SendOptions = {}): Promise<PreparedRequest> {
    const key = opts.key ?? this.key;
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    const instance = opts.instance === undefined ? (opts.unsigned ? undefined : await this.instance()) : opts.instance;
    if (instance !== null && instance !== undefined) headers['opsctl-instance'] = instance;
    let body: Buffer | undefined;
    if (opts.body !== undefined) {
      body = Buffer.isBuffer(opts.body) ? opts.body : Buffer.from(typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body));
      headers['content-type'] ??= opts.contentType ?? 'application/json';
      headers['content-length'] = String(body.length);
      headers['content-digest'] ??= contentDigest(body);
    }
    const r: PreparedRequest = { method, path: pathname, query: opts.query ?? '', headers, body };
    if (!opts.unsigned) {
      const lower: Record<string, string> = {};
      for (const [k, v] of Object.entries(headers)) lower[k.toLowerCase()] = v;
      const signed = await signRequest(
        { method, path: pathname, query: r.query, headers: lower },
        {
          keyid: opts.keyid ?? key.keyid,
          sign: (d) => key.sign(d),
          ...(opts.created !== undefined ? { created: opts.created } : {}),
          ...(opts.nonce !== undefined ? { nonce: opts.nonce } : {}),
          // An explicit component list still binds the instance, unless told not to.
          ...(opts.components ? { components: instance && !opts.components.includes('opsctl-instance') ? [...opts.components, 'opsctl-instance'] : opts.components } : {}),
        },
      );
      headers['signature-input'] = signed['signature-input'];
      headers.signature = signed.signature;
    }
    if (opts.tamper) {
      if (typeof opts.tamper === 'function') opts.tamper(r);
      else applyTamper(r, opts.tamper);
    }
    return r;
  }

  /** Sends a prepared request as is (send it twice to replay it). */
  sendPrepared(r: PreparedRequest, extra: { accept?: string } = {}): Promise<TestResponse> {
    return new Promise((resolve, reject) => {
      const headers = { ...r.headers, ...(extra.accept ? { accept: extra.accept } : {}) };
      const req = http.request({
        ...('socketPath' in this.target ? { socketPath: this.target.socketPath } : { host: this.target.host, port: this.target.port }),
        method: r.method,
        path: r.query ? `${r.path}?${r.query}` : r.path,
        headers,
        agent: false,
      }, (res) => {
        const id = res.headers['opsctl-instance'];
        if (typeof id === 'string') instances.set(targetKey(this.target), id);
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try { json = JSON.parse(text); } catch { json = undefined; }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(r.body);
    });
  }

  async send(method: string, pathname: string, opts: SendOptions & { accept?: string } = {}): Promise<TestResponse> {
    const extra = opts.accept ? { accept: opts.accept } : {};
    const r = await this.sendPrepared(await this.prepare(method, pathname, opts), extra);
    if (r.status === 401 && r.json?.code === 'auth.instance' && opts.instance === undefined && !opts.tamper) {
      return this.sendPrepared(await this.prepare(method, pathname, opts), extra);
    }
    return r;
  }

  /** Calls a catalog endpoint with params laid out as the CLI would (buildRequest). */
  async call(endpoint: string | Pick<EndpointDescriptor, 'method' | 'path'>, params: Record<string, unknown> = {}, opts: SendOptions & { accept?: string } = {}): Promise<TestResponse> {
    const ep = typeof endpoint === 'string' ? STANDARD_ENDPOINTS.find((e) => e.id === endpoint) : endpoint;
    if (!ep) throw new Error(`unknown endpoint ${String(endpoint)}`);
    const shape = buildRequest(ep, params);
    return this.send(shape.method, shape.path, { ...opts, query: shape.query, ...(shape.body !== undefined ? { body: shape.body } : {}) });
  }

  /**
   * GETs an NDJSON stream; resolves with every line once the server ends it.
   * `abortAfter` lines → the client drops the connection instead.
   */
  async stream(pathname: string, opts: { abortAfter?: number; onLine?: (line: unknown) => void } = {}): Promise<{ status: number; lines: Array<Record<string, unknown>>; aborted: boolean }> {
    const r = await this.prepare('GET', pathname);
    return new Promise((resolve, reject) => {
      const lines: Array<Record<string, unknown>> = [];
      const req = http.request({
        ...('socketPath' in this.target ? { socketPath: this.target.socketPath } : { host: this.target.host, port: this.target.port }),
        method: 'GET', path: r.path, headers: r.headers, agent: false,
      }, (res) => {
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          buf += c;
          let i: number;
          while ((i = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, i);
            buf = buf.slice(i + 1);
            if (!line.trim()) continue;
            const parsed = JSON.parse(line) as Record<string, unknown>;
            lines.push(parsed);
            opts.onLine?.(parsed);
            if (opts.abortAfter !== undefined && lines.length >= opts.abortAfter) {
              req.destroy();
              resolve({ status: res.statusCode ?? 0, lines, aborted: true });
              return;
            }
          }
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, lines, aborted: false }));
        res.on('error', () => undefined);
      });
      req.on('error', (e) => { if (!req.destroyed || lines.length === 0) reject(e); });
      req.end();
    });
  }
}

/** Polls jobs.get until the job leaves queued/running. */
export async function waitForJob(client: SignedClient, jobId: string, timeoutMs = 20_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await client.call('jobs.get', { id: jobId });
    if (r.status !== 200) throw new Error(`jobs.get ${jobId}: ${r.status} ${r.text}`);
    if (!['queued', 'running'].includes(r.json.state)) return r.json;
    if (Date.now() > deadline) throw new Error(`job ${jobId} still ${r.json.state} after ${timeoutMs} ms`);
    await new Promise((res) => setTimeout(res, 25));
  }
}
