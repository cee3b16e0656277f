/**
 * http endpoints: one request to an HTTP API on a unix socket or a
 * loopback port (docs/sidecar.md, "http"). Params fill the path (each
 * {param} one percent-encoded segment), the query, and the body; the
 * upstream's status decides the outcome; a JSON answer reaches the CLI as
 * JSON, anything else as text.
 */
import fs from 'node:fs';
import type { CustomEndpoint } from '../../server/options.js';
import { textAnswer } from '../../server/plugins/text-answer.js';
import { durationMs, readSecret } from '../config/problems.js';
import type { HttpAdaptorSpec } from '../config/types.js';
import type { ConfigPath } from '../config/yaml-source.js';
import type { SidecarMetrics } from '../metrics/sidecar-metrics.js';
import type { PrepareEnv } from './command.js';
import type { ParamsInfo } from './params-info.js';
import { refuse, templateText } from './param-guards.js';
import { fillTemplate, parseTemplate, type Template } from './template.js';
import { upstreamError } from './upstream-errors.js';
import { defaultHost, isJsonType, requestUpstream, resolveUpstream, type HttpUpstream } from './upstream-http.js';

type BodyPlan =
  | { kind: 'none' }
  | { kind: 'params'; exclude: Set<string> }
  | { kind: 'param'; name: string; contentType: string | undefined }
  | { kind: 'json'; template: unknown };

export interface PreparedHttp {
  kind: 'http';
  upstream: HttpUpstream;
  method: string;
  path: Template;
  query: Array<[string, Template]>;
  body: BodyPlan;
  headers: Record<string, string>;
  /** Header names whose value is a secret (left out of a dry-run). */
  secretHeaders: Set<string>;
  timeoutMs: number;
  maxBytes: number;
}

const HOP_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'upgrade', 'te', 'trailer', 'keep-alive', 'proxy-connection']);

/** Walks a {json: …} template for its placeholders. */
function jsonTemplates(v: unknown, out: Template[]): void {
  if (typeof v === 'string') out.push(parseTemplate(v));
  else if (Array.isArray(v)) for (const x of v) jsonTemplates(x, out);
  else if (v && typeof v === 'object') for (const x of Object.values(v)) jsonTemplates(x, out);
}

export async function prepareHttp(spec: HttpAdaptorSpec, where: ConfigPath, ctx: PrepareEnv, params: ParamsInfo): Promise<PreparedHttp | undefined> {
  const { problems } = ctx;
  const before = problems.errors;
  let upstream: HttpUpstream | undefined;
  try {
    upstream = await resolveUpstream(spec.upstream, ctx.resolvePath);
    if (upstream.kind === 'unix') checkSocket(upstream.socketPath, [...where, 'upstream'], ctx);
  } catch (e) {
    problems.error([...where, 'upstream'], (e as Error).message);
  }
  const method = spec.method ?? 'GET';
  const [pathPart, queryPart] = splitOnce(spec.path, '?');
  let path: Template | undefined;
  try {
    path = parseTemplate(pathPart);
    params.checkTemplate(path, [...where, 'path'], problems, 'the path');
    for (const part of path.parts) {
      if ('text' in part && /(^|\/)\.\.?(\/|$)/.test(part.text)) problems.error([...where, 'path'], 'the path has a "." or ".." segment');
    }
  } catch (e) {
    problems.error([...where, 'path'], (e as Error).message);
  }
  const query: Array<[string, Template]> = [];
  const addQuery = (k: string, v: string, at: ConfigPath) => {
    try {
      const t = parseTemplate(v);
      params.checkTemplate(t, at, problems, 'the query');
      query.push([k, t]);
    } catch (e) {
      problems.error(at, (e as Error).message);
    }
  };
  if (queryPart !== undefined) {
    for (const pair of queryPart.split('&').filter(Boolean)) {
      const [k, v = ''] = splitOnce(pair, '=');
      addQuery(decodeURIComponent(k), decodeURIComponent(v), [...where, 'path']);
    }
  }
  for (const [k, v] of Object.entries(spec.query ?? {})) addQuery(k, v, [...where, 'query', k]);

  const inUrl = new Set<string>([...(path?.params ?? []), ...query.flatMap(([, t]) => t.params)]);
  let body: BodyPlan = { kind: 'none' };
  const b = spec.body ?? (['POST', 'PUT', 'PATCH'].includes(method) ? 'params' : 'none');
  if (b !== 'none' && (method === 'GET' || method === 'HEAD')) {
    problems.error([...where, 'body'], `a ${method} request has no body`);
  } else if (b === 'params') {
    body = { kind: 'params', exclude: inUrl };
    for (const n of params.names) params.used.add(n);
  } else if (typeof b === 'object' && 'param' in b) {
    if (!params.names.has(b.param)) problems.error([...where, 'body', 'param'], `"${b.param}" is not a declared param`);
    params.used.add(b.param);
    body = { kind: 'param', name: b.param, contentType: b.contentType };
  } else if (typeof b === 'object' && 'json' in b) {
    try {
      const ts: Template[] = [];
      jsonTemplates(b.json, ts);
      for (const t of ts) params.checkTemplate(t, [...where, 'body', 'json'], problems, 'the body', { secretsAllowed: true });
      body = { kind: 'json', template: b.json };
    } catch (e) {
      problems.error([...where, 'body', 'json'], (e as Error).message);
    }
  }

  const headers: Record<string, string> = {};
  const secretHeaders = new Set<string>();
  for (const [name, v] of Object.entries(spec.headers ?? {})) {
    const lower = name.toLowerCase();
    if (HOP_HEADERS.has(lower)) {
      problems.error([...where, 'headers', name], `${name} is set by opsctl-port itself${lower === 'host' ? ' (use host)' : ''}`, { key: true });
      continue;
    }
    if (typeof v === 'string') {
      if (/[\r\n\0]/.test(v)) problems.error([...where, 'headers', name], 'a header value cannot contain a line break');
      if (/\{[A-Za-z_][A-Za-z0-9_]*\}/.test(v)) problems.warn([...where, 'headers', name], 'header values are not templates: the braces are sent as they are');
      headers[lower] = v;
    } else {
      const s = readSecret(v, [...where, 'headers', name], problems, ctx.resolvePath, ctx.env);
      if (s && /[\r\n\0]/.test(s.value)) problems.error([...where, 'headers', name], `the secret (${s.source}) contains a line break`);
      else if (s) {
        headers[lower] = s.value;
        secretHeaders.add(lower);
      }
    }
  }
  if (spec.host !== undefined && /[\r\n\0]/.test(spec.host)) problems.error([...where, 'host'], 'the host cannot contain a line break');
  if (problems.errors > before || !upstream || !path) return undefined;
  headers.host = spec.host ?? defaultHost(upstream);
  return {
    kind: 'http',
    upstream,
    method,
    path,
    query,
    body,
    headers,
    secretHeaders,
    timeoutMs: durationMs(spec.timeout, 10_000),
    maxBytes: spec.maxResponseBytes ?? 1024 * 1024,
  };
}

/** A unix socket named by the config must exist when the config is loaded: a missing one is a `check` error, not a 3 a.m. surprise. */
export function checkSocket(file: string, at: ConfigPath, ctx: PrepareEnv): void {
  try {
    const st = fs.statSync(file);
    if (!st.isSocket()) ctx.problems.error(at, `${file} is not a unix socket`);
  } catch (e) {
    ctx.problems.error(at, `socket ${file} does not exist (${(e as NodeJS.ErrnoException).code ?? 'error'}); start the upstream first`);
  }
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + sep.length)];
}

/**
 * One path segment from a param: validated already, then percent-encoded
 * whole (a "/" becomes %2F, "%" becomes %25), so a value stays one segment;
 * the values that a server would still resolve as a step up or sideways
 * (empty, "." and "..", however they might be decoded) are refused.
 */
function segment(value: unknown, name: string): string {
  const text = templateText(value, name);
  if (text === '' || text === '.' || text === '..') throw refuse(name, `cannot be ${text === '' ? 'empty' : `"${text}"`} in a path`);
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function queryValue(value: unknown, name: string): string {
  return encodeURIComponent(templateText(value, name));
}

/** Fills a {json: …} template: a string that is exactly "{param}" becomes the value (typed); other strings are filled as text. */
function fillJson(v: unknown, params: Record<string, unknown>): unknown {
  if (typeof v === 'string') {
    const t = parseTemplate(v);
    if (t.parts.length === 1 && 'param' in t.parts[0]!) return params[t.parts[0].param];
    return fillTemplate(t, params, (x, n) => templateText(x, n));
  }
  if (Array.isArray(v)) return v.map((x) => fillJson(x, params)).filter((x) => x !== undefined);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const filled = fillJson(x, params);
      if (filled !== undefined) out[k] = filled;
    }
    return out;
  }
  return v;
}

interface BuiltRequest {
  path: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
}

function buildRequest(p: PreparedHttp, params: Record<string, unknown>): BuiltRequest {
  const path = fillTemplate(p.path, params, segment);
  if (path === undefined) {
    const missing = p.path.params.find((n) => params[n] === undefined || params[n] === null)!;
    throw refuse(missing, 'is needed for the upstream path (make it required in the params schema)');
  }
  const qs: string[] = [];
  for (const [k, t] of p.query) {
    const v = fillTemplate(t, params, queryValue);
    if (v !== undefined) qs.push(`${encodeURIComponent(k)}=${v}`);
  }
  const headers = { ...p.headers };
  let body: Buffer | undefined;
  if (p.body.kind === 'params') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(params)) if (!p.body.exclude.has(k)) out[k] = v;
    body = Buffer.from(JSON.stringify(out));
    headers['content-type'] = 'application/json';
  } else if (p.body.kind === 'param') {
    const v = params[p.body.name];
    if (v !== undefined) {
      body = typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(JSON.stringify(v));
      headers['content-type'] = p.body.contentType ?? (typeof v === 'string' ? 'text/plain; charset=utf-8' : 'application/json');
    }
  } else if (p.body.kind === 'json') {
    body = Buffer.from(JSON.stringify(fillJson(p.body.template, params) ?? null));
    headers['content-type'] = 'application/json';
  }
  return { path: qs.length ? `${path}?${qs.join('&')}` : path, headers, body };
}

/** The endpoint parts of an http adaptor. */
export function httpEndpoint(id: string, p: PreparedHttp, rt: { metrics: SidecarMetrics }): Pick<CustomEndpoint, 'handler' | 'validate' | 'dryRun'> {
  return {
    validate: (params) => { buildRequest(p, params); },
    dryRun: (params) => {
      const r = buildRequest(p, params);
      const headers = Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, p.secretHeaders.has(k) ? '(secret)' : v]));
      return { would: 'send', upstream: p.upstream.label, method: p.method, path: r.path, headers, ...(r.body ? { bodyBytes: r.body.length } : {}) };
    },
    handler: async (params) => {
      const r = buildRequest(p, params);
      const answer = await rt.metrics.time(id, 'http', async () => {
        const a = await requestUpstream(p.upstream, { method: p.method, path: r.path, headers: r.headers, ...(r.body ? { body: r.body } : {}), timeoutMs: p.timeoutMs, maxBytes: p.maxBytes, what: id });
        if (a.status < 200 || a.status > 299) {
          throw upstreamError(id, `the upstream answered ${a.status}`, a.body.toString('utf8'), { upstreamStatus: a.status });
        }
        return a;
      });
      const text = answer.body.toString('utf8');
      if (isJsonType(answer.contentType) && text.trim()) {
        try {
          return JSON.parse(text) as unknown;
        } catch {
          // Not the JSON it claims to be: it goes through as text.
        }
      }
      if (!text) return null;
      return textAnswer(text);
    },
  };
}
