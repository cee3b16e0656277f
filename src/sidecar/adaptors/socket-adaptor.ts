/**
 * socket endpoints: one line-oriented command over a unix socket, the
 * answer read to EOF within a deadline and a size limit (docs/sidecar.md,
 * "socket"; HAProxy's runtime API is the model). A param goes into the
 * command line as one token: anything that could end the command or start
 * another (a newline, ";"), split it into two tokens (a space), or be
 * unescaped by the other side (a backslash, a quote) is refused.
 */
import net from 'node:net';
import type { CustomEndpoint } from '../../server/options.js';
import { textAnswer } from '../../server/plugins/text-answer.js';
import { durationMs } from '../config/problems.js';
import type { SocketAdaptorSpec } from '../config/types.js';
import type { ConfigPath } from '../config/yaml-source.js';
import type { SidecarMetrics } from '../metrics/sidecar-metrics.js';
import type { PrepareEnv } from './command.js';
import { checkSocket } from './http-adaptor.js';
import type { ParamsInfo } from './params-info.js';
import { refuse, templateText } from './param-guards.js';
import { fillTemplate, parseTemplate, type Template } from './template.js';
import { causeOf, upstreamError, upstreamTimeout, upstreamTooLarge, upstreamUnavailable } from './upstream-errors.js';

export interface PreparedSocket {
  kind: 'socket';
  path: string;
  command: Template;
  timeoutMs: number;
  maxBytes: number;
  answer: 'text' | 'json' | 'csv';
  errorPattern: RegExp | undefined;
}

// eslint-disable-next-line no-control-regex -- control characters are what it refuses
const SEPARATORS = /[\x00-\x20\x7f;\\"'`]/;

export function prepareSocket(spec: SocketAdaptorSpec, where: ConfigPath, ctx: PrepareEnv, params: ParamsInfo): PreparedSocket | undefined {
  const { problems } = ctx;
  const before = problems.errors;
  const path = ctx.resolvePath(spec.path);
  checkSocket(path, [...where, 'path'], ctx);
  let command: Template | undefined;
  if (/[\r\n]/.test(spec.command)) problems.error([...where, 'command'], 'the command must be one line');
  try {
    command = parseTemplate(spec.command);
    params.checkTemplate(command, [...where, 'command'], problems, 'a socket command');
  } catch (e) {
    problems.error([...where, 'command'], (e as Error).message);
  }
  let errorPattern: RegExp | undefined;
  if (spec.errorPattern !== undefined) {
    try {
      errorPattern = new RegExp(spec.errorPattern, 'm');
    } catch (e) {
      problems.error([...where, 'errorPattern'], `not a valid regular expression: ${(e as Error).message}`);
    }
  }
  if (problems.errors > before || !command) return undefined;
  return { kind: 'socket', path, command, timeoutMs: durationMs(spec.timeout, 5000), maxBytes: spec.maxResponseBytes ?? 1024 * 1024, answer: spec.answer ?? 'text', errorPattern };
}

function token(value: unknown, name: string): string {
  const text = templateText(value, name);
  if (text === '') throw refuse(name, 'is empty, which would shift the arguments of the socket command');
  const bad = SEPARATORS.exec(text);
  if (bad) {
    const c = bad[0];
    const shown = c === '\n' ? 'a newline' : c === '\r' ? 'a carriage return' : c === ' ' ? 'a space' : c === '\t' ? 'a tab' : c.charCodeAt(0) < 0x20 || c === '\x7f' ? 'a control character' : `"${c}"`;
    throw refuse(name, `contains ${shown}, which the socket protocol reads as a separator or an escape`);
  }
  return text;
}

export function socketCommand(p: PreparedSocket, params: Record<string, unknown>): string {
  const line = fillTemplate(p.command, params, token);
  if (line === undefined) {
    const missing = p.command.params.find((n) => params[n] === undefined || params[n] === null)!;
    throw refuse(missing, 'is needed for the socket command (make it required in the params schema)');
  }
  return line;
}

/**
 * Sends one line to a unix socket and reads the answer until the other
 * side closes, within `timeoutMs` and `maxBytes`.
 */
export function socketExchange(file: string, line: string, o: { timeoutMs: number; maxBytes: number; what: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const chunks: Buffer[] = [];
    let size = 0;
    const sock = net.connect(file);
    const finish = (e: Error | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      if (e) reject(e);
      else resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const timer = setTimeout(() => finish(upstreamTimeout(o.what, o.timeoutMs)), o.timeoutMs);
    sock.once('connect', () => sock.end(`${line}\n`));
    sock.on('data', (c: Buffer) => {
      size += c.length;
      if (size > o.maxBytes) return finish(upstreamTooLarge(o.what, o.maxBytes));
      chunks.push(c);
    });
    sock.once('end', () => finish(undefined));
    sock.once('error', (e) => finish(upstreamUnavailable(o.what, causeOf(e))));
  });
}

/** A CSV answer (header line, "# " allowed before it) as an array of objects. */
export function parseCsv(text: string): Array<Record<string, string>> {
  const rows: string[][] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (!line.trim()) continue;
    const cells: string[] = [];
    let cur = '';
    let quoted = false;
    for (let i = 0; i < line.length; i++) {
      const c = line[i]!;
      if (quoted) {
        if (c === '"' && line[i + 1] === '"') { cur += '"'; i++; } else if (c === '"') quoted = false;
        else cur += c;
      } else if (c === '"') quoted = true;
      else if (c === ',') { cells.push(cur); cur = ''; } else cur += c;
    }
    cells.push(cur);
    rows.push(cells);
  }
  const [head, ...body] = rows;
  if (!head) return [];
  const names = head.map((h, i) => (i === 0 ? h.replace(/^#\s*/, '') : h)).map((h, i) => h || `field${i + 1}`);
  // A trailing comma makes an empty last column: it is no field.
  const width = names[names.length - 1] === `field${names.length}` ? names.length - 1 : names.length;
  return body.map((cells) => Object.fromEntries(names.slice(0, width).map((n, i) => [n, cells[i] ?? ''])));
}

/** The endpoint parts of a socket adaptor. */
export function socketEndpoint(id: string, p: PreparedSocket, rt: { metrics: SidecarMetrics }): Pick<CustomEndpoint, 'handler' | 'validate' | 'dryRun'> {
  return {
    validate: (params) => { socketCommand(p, params); },
    dryRun: (params) => ({ would: 'send', socket: p.path, command: socketCommand(p, params) }),
    handler: async (params) => {
      const line = socketCommand(p, params);
      const text = await rt.metrics.time(id, 'socket', async () => {
        const t = await socketExchange(p.path, line, { timeoutMs: p.timeoutMs, maxBytes: p.maxBytes, what: id });
        if (p.errorPattern?.test(t)) throw upstreamError(id, 'the upstream answered with an error', t);
        return t;
      });
      // HAProxy ends each answer with an empty line.
      const answer = text.replace(/\n+$/, '\n');
      if (p.answer === 'json') {
        try {
          return JSON.parse(answer) as unknown;
        } catch {
          throw upstreamError(id, 'the upstream\'s answer is not JSON', answer);
        }
      }
      if (p.answer === 'csv') return { rows: parseCsv(answer) };
      // A write command that worked answers nothing (HAProxy): say so rather than null.
      return answer.trim() ? textAnswer(answer) : { ok: true, answer: '' };
    },
  };
}
